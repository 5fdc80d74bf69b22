/*
 * What the sync engine needs from storage, and nothing more: the network id, the version
 * vector, the ops after a vector (one bounded page, encoded as a batch), and applying a batch
 * atomically. The node implements it over LMDB (relief/syncstore.c); the simulator can put any
 * store behind it.
 */
#ifndef SYNC_STORE_H
#define SYNC_STORE_H

#include "proto/buf.h"
#include "proto/error.h"
#include "proto/limits.h"
#include "proto/vv.h"

#include <stdint.h>

struct sync_apply_stats {
    uint64_t applied, duplicate, gap, fork, frozen;
};

/* A page of ops read ahead (read_later): the batch, whether ops were left out, how many it
 * holds, and reach -- the version vector it was read after, advanced past it. */
struct sync_page {
    struct proto_buf batch;
    int more;
    uint32_t nops;
    struct proto_vv reach;
};

struct sync_store {
    void *ctx;
    /* the network id */
    void (*network)(void *ctx, uint8_t out[PROTO_NETWORK_BYTES]);
    /* this node's id and name (for info) */
    uint64_t (*node)(void *ctx, char *name, size_t n);
    /* the version vector (appended to an empty vv) */
    int (*vv)(void *ctx, struct proto_vv *out, struct proto_err *e);
    /* optional (NULL: none): the origins this node takes no ops of (forked) */
    int (*frozen)(void *ctx, struct proto_origins *out, struct proto_err *e);
    /* one page of ops past have, as a batch; *more when ops were left out */
    int (*read_after)(void *ctx, const struct proto_vv *have, uint32_t max_ops, size_t max_bytes,
                      struct proto_buf *out, int *more, uint32_t *nops, struct proto_err *e);
    /* decode and apply a batch in one durable transaction; nothing changes when refused */
    int (*apply)(void *ctx, const uint8_t *batch, size_t n, struct sync_apply_stats *st,
                 struct proto_err *e);
    /*
     * Optional (NULL: apply is used): queue a batch (copied) to be applied together with the
     * writes that arrive with it, in one durable transaction -- group commit -- and call done
     * on the loop once it is durable or refused, with what apply would have returned. 0 when
     * queued; otherwise nothing was queued and the caller applies it itself.
     */
    int (*apply_later)(void *later_ctx, const uint8_t *batch, size_t n,
                       void (*done)(void *arg, int rc, const struct sync_apply_stats *st,
                                    const struct proto_err *e),
                       void *arg);
    void *later_ctx;
    /*
     * Optional (NULL: read_after is used on the loop): read_after in another thread -- the
     * engine reads the page it pushes next while the peer takes one, and a server's loop
     * keeps answering meanwhile. have is copied. done is called on the loop with the page
     * (which it may take apart: what it leaves is freed after it returns). 0 when queued;
     * otherwise nothing was queued and the caller reads the page itself.
     */
    int (*read_later)(void *read_ctx, const struct proto_vv *have, uint32_t max_ops,
                      size_t max_bytes,
                      void (*done)(void *arg, int rc, struct sync_page *pg,
                                   const struct proto_err *e),
                      void *arg);
    void *read_ctx;
};

#endif
