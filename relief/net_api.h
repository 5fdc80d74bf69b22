/*
 * The JSON API (/api/v1, relief/API.md) and the dashboard's files, for relief serve.
 *
 * Reads run on the loop thread inside one read transaction each and are paged. Writes are
 * parsed and checked on arrival, queued, and committed together once per loop iteration (a
 * uv_check handle): one write transaction, one fsync, each request in a nested transaction
 * of its own so that one refused write undoes only itself; every request is answered after
 * the commit (sync_http_defer), so an acknowledged write is durable.
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

/*
 * A sync push's batch, group-committed with the API's writes (sync_store.apply_later; ctx is
 * the struct rl_api). Copies the batch; done is called on the loop after the commit.
 */
int rl_api_apply_later(void *ctx, const uint8_t *batch, size_t n,
                       void (*done)(void *arg, int rc, const struct sync_apply_stats *st,
                                    const struct proto_err *e),
                       void *arg);

/* Commit the queued writes now (before stopping). */
void rl_api_flush(struct rl_api *a);

/* Writes acknowledged so far (for the log and the change trigger). */
uint64_t rl_api_writes(const struct rl_api *a);

/* Flush, then close the handles; done is called once closed. */
void rl_api_close(struct rl_api *a);

#endif
