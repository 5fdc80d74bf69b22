/*
 * Sync message bodies: info, pull, push and errors (PROTOCOL.md, "Sync messages").
 *
 *   info response  {1: network, 2: version, 3: node, 4: name, 5: vv, 6: max body bytes,
 *                   7: max batch ops, 8: frozen}
 *   pull request   {1: network, 2: vv, 3: max ops, 4: max bytes, 5: frozen}   (3-5 optional)
 *   pull response  {1: network, 2: batch, 3: more, 4: vv}
 *   push request   {1: network, 2: batch}
 *   push response  {1: network, 2: vv, 3: [applied, duplicate, gap, fork, frozen], 4: frozen}
 *
 * frozen: the origins the sender of the message takes no ops of (vv.h, struct proto_origins);
 * optional, absent when none.
 *   error          {1: code, 2: message}
 *
 * network is a bin of 16 bytes and is checked before anything else; vv and batch are as in
 * vv.h and batch.h. Keys a receiver does not know are ignored.
 */
#ifndef PROTO_MSG_H
#define PROTO_MSG_H

#include "buf.h"
#include "error.h"
#include "limits.h"
#include "vv.h"

#include <stdint.h>

#define PROTO_VERSION 1u

enum proto_msg_type {
    PROTO_MSG_INFO = 1,
    PROTO_MSG_PULL_REQ,
    PROTO_MSG_PULL_RESP,
    PROTO_MSG_PUSH_REQ,
    PROTO_MSG_PUSH_RESP,
    PROTO_MSG_ERROR,
};

struct proto_msg {
    int has_network;
    uint8_t network[PROTO_NETWORK_BYTES];
    uint64_t version, node;
    const char *name; /* borrowed; name_len bytes */
    uint32_t name_len;
    struct proto_vv vv; /* owned: proto_msg_free */
    int has_vv;
    const uint8_t *batch; /* the batch's bytes, borrowed; decode with proto_batch_decode */
    uint32_t batch_len;
    int more;
    uint64_t max_ops, max_bytes; /* pull request: 0 when absent; info: the server's limits */
    uint64_t stats[5];           /* applied, duplicate, gap, fork, frozen */
    struct proto_origins frozen; /* info, pull request, push response: n = 0 when absent */
    const char *code, *message;  /* error: borrowed */
    uint32_t code_len, message_len;
};

void proto_msg_init(struct proto_msg *m);
void proto_msg_free(struct proto_msg *m);

/* Decode a body of the given type; the fields the type requires must be present. */
int proto_msg_decode(enum proto_msg_type type, const uint8_t *p, size_t n, struct proto_msg *m,
                     struct proto_err *e);

/* PROTO_ENETWORK with a message naming both networks when m's network is not mine. */
int proto_msg_check_network(const struct proto_msg *m, const uint8_t mine[PROTO_NETWORK_BYTES],
                            struct proto_err *e);

/* (frozen may be NULL: none) */
int proto_msg_info(struct proto_buf *out, const uint8_t network[PROTO_NETWORK_BYTES], uint64_t node,
                   const char *name, const struct proto_vv *vv, const struct proto_origins *frozen);
int proto_msg_pull_req(struct proto_buf *out, const uint8_t network[PROTO_NETWORK_BYTES],
                       const struct proto_vv *vv, uint64_t max_ops, uint64_t max_bytes,
                       const struct proto_origins *frozen);
int proto_msg_pull_resp(struct proto_buf *out, const uint8_t network[PROTO_NETWORK_BYTES],
                        const uint8_t *batch, size_t batch_len, int more,
                        const struct proto_vv *vv);
int proto_msg_push_req(struct proto_buf *out, const uint8_t network[PROTO_NETWORK_BYTES],
                       const uint8_t *batch, size_t batch_len);
int proto_msg_push_resp(struct proto_buf *out, const uint8_t network[PROTO_NETWORK_BYTES],
                        const struct proto_vv *vv, const uint64_t stats[5],
                        const struct proto_origins *frozen);
int proto_msg_error(struct proto_buf *out, const char *code, const char *message);

#endif
