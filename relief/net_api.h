/*
 * The JSON API (/api/v1, relief/API.md) and the dashboard's files, for relief serve.
 *
 * Reads run on the loop thread inside one read transaction each (long ones in libuv's thread
 * pool) and are paged. Writes are parsed and checked on arrival, queued, and committed
 * together (group commit): the queue goes to the thread pool as one write transaction and one
 * fsync, one group at a time, each request in a nested transaction of its own only when one of
 * them is refused, so that a refused write undoes only itself. What arrives while a group is
 * being written waits for the next. Every request is answered after the commit
 * (sync_http_defer), so an acknowledged write is durable; the loop never waits for the disk.
 */
#ifndef RL_NET_API_H
#define RL_NET_API_H

#include "store.h"
#include "sync/http.h"
#include "sync/store.h"

#include <jansson.h>
#include <uv.h>

#define RL_API_MAX_HOSTS 16

struct rl_api_opts {
    const char *listen_host;               /* the --listen host */
    const char *hosts[RL_API_MAX_HOSTS];   /* --host NAME: more names the node answers to */
    int nhosts;
};

struct rl_api;

int rl_api_new(uv_loop_t *loop, struct rl_store *store, const struct rl_api_opts *o,
               struct rl_api **out, struct proto_err *e);

/* Whether a request's Host header names this node (IP literals, localhost, --listen, --host). */
int rl_api_host_ok(const struct rl_api *a, const char *host);

/* Answer /api/... and the dashboard's files: 1 when the path was ours, else 0. */
int rl_api_handle(struct rl_api *a, const struct sync_http_req *req, struct sync_http_resp *resp);
/* Before a request's body is read: 1 (resp filled) when the API refuses it for its token alone
 * (401, or 403 for a sync token), else 0. */
int rl_api_early(struct rl_api *a, const struct sync_http_req *req, struct sync_http_resp *resp);

/*
 * A sync push's batch, group-committed with the API's writes (sync_store.apply_later; ctx is
 * the struct rl_api). Copies the batch; done is called on the loop after the commit.
 */
int rl_api_apply_later(void *ctx, const uint8_t *batch, size_t n,
                       void (*done)(void *arg, int rc, const struct sync_apply_stats *st,
                                    const struct proto_err *e),
                       void *arg);

/*
 * Run fn(txn, arg) in the next group commit, a write of the node's own (a peer's sync report):
 * in the thread pool, with the API's writes, so that the loop never waits for the writer's
 * lock. done(arg, rc, e) is called on the loop once it is durable or refused. 0 when queued;
 * -ESHUTDOWN once closed (then the caller writes it itself).
 */
int rl_api_write_later(struct rl_api *a, rl_txn_fn fn, void *arg,
                       void (*done)(void *arg, int rc, const struct proto_err *e));

/* Start committing the queued writes now, rather than after this turn of the loop. */
void rl_api_flush(struct rl_api *a);

/* Writes acknowledged so far (for the log and the change trigger). */
uint64_t rl_api_writes(const struct rl_api *a);

/*
 * Stop taking writes (503), commit and answer the queued ones, close the handles; drained (may
 * be NULL) is called on the loop once every queued write is committed and answered.
 */
void rl_api_close(struct rl_api *a, void (*drained)(void *arg), void *arg);

#endif
