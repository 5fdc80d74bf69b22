/*
 * What the fuzz targets share: a real node (an LMDB data directory with the demo data, made
 * once per process in a temporary directory and removed at exit) and, for the targets that
 * speak HTTP, that node served as `relief serve` serves it (relief/net_node.h) on 127.0.0.1,
 * reached over a real TCP connection.
 *
 * The node's network id is fixed, so that saved bundles (corpus/bundle) stay applicable.
 */
#ifndef FUZZ_NODE_H
#define FUZZ_NODE_H
#include "proto/buf.h"
#include "relief/store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>


#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);               \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The node's store (made on the first call). */
struct rl_store *fuzz_store(void);

/* The id of LMDB's last committed transaction: unchanged means nothing was written. */
uint64_t fuzz_txnid(void);

/* Ops in the node's log. */
uint64_t fuzz_ops(void);

/*
 * Send n bytes to the served node over a new connection, half-close it, and collect what the
 * server answers until it closes (aborting after 20 s: a server that never answers or never
 * closes is a finding). The loop runs until the server holds no connection again.
 */
void fuzz_http_exchange(const void *req, size_t n, struct proto_buf *answer);

/*
 * Split an answer into responses (http-parser in response mode). For each: its status,
 * Content-Type and body, through fn. is_head (may be NULL) says whether the i-th request
 * (from 0, 100 Continue not counted) was a HEAD, whose answer has no body. Aborts when the
 * bytes are not a sequence of well-formed responses. Returns the number of responses (100
 * Continue not counted).
 */
typedef void (*fuzz_resp_fn)(void *arg, int status, const char *content_type, const uint8_t *body,
                             size_t n);
unsigned fuzz_http_responses(const struct proto_buf *answer, int (*is_head)(void *, unsigned),
                             void *head_arg, fuzz_resp_fn fn, void *arg);

#endif
