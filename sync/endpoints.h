/*
 * The sync endpoints of PROTOCOL.md over any struct sync_store:
 *   GET  /sync/v1/info   POST /sync/v1/pull   POST /sync/v1/push
 * Bodies are msgpack (application/vnd.msgpack); errors are an error body with a status:
 * 400 malformed, 401 no token, 403 a token without the sync role or another network,
 * 405 wrong method, 413 too large (the server's limit), 415 another content type or a
 * compressed request body. Pull responses may be gzip-compressed by the server.
 */
#ifndef SYNC_ENDPOINTS_H
#define SYNC_ENDPOINTS_H

#include "http.h"
#include "store.h"

/* Roles of DESIGN.md section 6. */
enum sync_role {
    SYNC_ROLE_NONE = 0,
    SYNC_ROLE_SYNC = 1,
    SYNC_ROLE_WRITE = 2,
    SYNC_ROLE_READ = 3,
    SYNC_ROLE_DONOR = 4,
};

/*
 * Default page bounds of a pull response (and of the client's pages). Ops: a batch's most
 * (PROTO_MAX_BATCH_OPS): each page is applied in one durable transaction, whose commit writes
 * every page of the store its ops touched, so a full sync of 1M movements took 63 s in pages of
 * 2,000 ops, 38 s in 5,000 and 18 s in 16,384.
 */
#define SYNC_PULL_MAX_OPS 16384u
#define SYNC_PULL_MAX_BYTES (4u << 20)

struct sync_endpoints {
    struct sync_store *store;
    /* the role of a bearer token (SYNC_ROLE_NONE when unknown); NULL: no token needed */
    int (*token_role)(void *ctx, const char *token, size_t n);
    /* whether the node has any token now (asked on each request, so a token made or revoked
     * while it serves counts at once); NULL: it has, when token_role is set. With none, a
     * request from this machine (loopback, not through a proxy) needs no token. */
    int (*any_token)(void *ctx);
    void *auth_ctx;
    /* after each pull or push: what moved (for the server's log line and for triggers) */
    void (*on_sync)(void *ctx, const char *peer, const char *what, uint64_t ops_in,
                    uint64_t ops_out, size_t bytes_in, size_t bytes_out, double ms);
    void *log_ctx;
    /* set: each pull's page is read, encoded and gzipped in libuv's thread pool (the store's
     * read_after and vv must then be safe to call from another thread); NULL: on the loop */
    uv_loop_t *loop;
};

/* Before a request's body is read: 1 (resp filled) when a /sync/ request is refused on its
 * headers (method, token, content type, path), else 0. */
int sync_endpoints_early(struct sync_endpoints *ep, const struct sync_http_req *req,
                         struct sync_http_resp *resp);

/*
 * Answer a request under /sync/; returns 1 when the path was one of ours (resp filled), 0
 * otherwise (resp untouched).
 */
int sync_endpoints_handle(struct sync_endpoints *ep, const struct sync_http_req *req,
                          struct sync_http_resp *resp);

/* The role a request's Authorization header carries (SYNC_ROLE_NONE without a valid one). */
int sync_request_role(struct sync_endpoints *ep, const struct sync_http_req *req);

#endif
