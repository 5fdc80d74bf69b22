/*
 * The node's store behind the sync engine's interface (sync/store.h).
 */
#ifndef RL_SYNCSTORE_H
#define RL_SYNCSTORE_H

#include "store.h"
#include "sync/store.h"

#include <uv.h>

struct rl_syncstore {
    struct rl_store *s;
    struct sync_store iface;
    uint8_t network[PROTO_NETWORK_BYTES];
    uint64_t node;
    char name[PROTO_MAX_AUTHOR_BYTES + 1];
    uint64_t applied; /* ops applied through this interface (for triggers) */
    uv_loop_t *loop;  /* rl_syncstore_pool's */
};

/* Bind ss to an open store (reads the node's metadata). */
int rl_syncstore_init(struct rl_syncstore *ss, struct rl_store *s, struct proto_err *e);

/*
 * Apply batches of RL_SYNCSTORE_POOL_MIN bytes or more in libuv's thread pool
 * (iface.apply_later), so that the sync engine asks for the next page while one is written
 * (relief sync); smaller ones (a round with little new: one page) are applied at once by the
 * engine, without a thread. The engine has at most one batch applying at a time, which keeps
 * them in order. The pages it pushes are read in the pool too (iface.read_later), the next
 * one while the peer takes one.
 */
#define RL_SYNCSTORE_POOL_MIN (256u << 10)
void rl_syncstore_pool(struct rl_syncstore *ss, uv_loop_t *loop);

#endif
