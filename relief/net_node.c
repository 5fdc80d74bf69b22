/* What `relief serve` answers (net_node.h). */
#include "net_node.h"
#include "access.h"

#include <string.h>

struct role_arg {
    const char *token;
    size_t n;
    int role;
};

static int role_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)e;
    struct role_arg *a = arg;
    a->role = rl_token_role(t, a->token, a->n);
    return 0;
}

static int token_role(void *ctx, const char *token, size_t n)
{
    struct rl_net_node *nn = ctx;
    struct role_arg a = {token, n, 0};
    struct proto_err e;
    rl_store_read(nn->store, role_fn, &a, &e);
    return a.role;
}

static int count_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)e;
    *(uint64_t *)arg = rl_token_count(t);
    return 0;
}

static int any_token(void *ctx)
{
    struct rl_net_node *nn = ctx;
    uint64_t n = 1; /* (a store that cannot be read: as if it had tokens) */
    struct proto_err e;
    rl_store_read(nn->store, count_fn, &n, &e);
    return n != 0;
}

/* 1 when the request is refused for its Host or Authorization headers (resp filled). */
static int refused(struct rl_net_node *nn, const struct sync_http_req *req,
                   struct sync_http_resp *resp)
{
    /* RFC 9112 3.2: an HTTP/1.1 request names its host, once */
    if (req->nhost > 1 || (req->nhost == 0 && req->http_minor >= 1)) {
        resp->status = 400;
        proto_buf_printf(&resp->body, "%s\n",
                         req->nhost ? "more than one Host header" : "HTTP/1.1 needs a Host header");
        return 1;
    }
    /* two credentials: which one a proxy and this node would each take is not the same */
    if (req->nauth > 1) {
        resp->status = 400;
        proto_buf_printf(&resp->body, "more than one Authorization header\n");
        return 1;
    }
    /* DNS rebinding: a hostile page's own name pointed at this node is not answered */
    if (!rl_api_host_ok(nn->api, req->host)) {
        resp->status = 421;
        proto_buf_printf(&resp->body, "this node does not answer to the host name '%.200s' "
                                      "(relief serve --host NAME adds one)\n",
                         req->host);
        return 1;
    }
    return 0;
}

static void handle(void *arg, const struct sync_http_req *req, struct sync_http_resp *resp)
{
    struct rl_net_node *nn = arg;
    resp->content_type = "text/plain; charset=utf-8";
    if (!strcmp(req->path, "/healthz")) {
        if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
            resp->status = 405;
            resp->header_name[resp->nheaders] = "Allow";
            resp->header_value[resp->nheaders++] = "GET, HEAD";
            proto_buf_printf(&resp->body, "use GET\n");
            return;
        }
        proto_buf_printf(&resp->body, "ok\n");
        return;
    }
    if (refused(nn, req, resp))
        return;
    if (sync_endpoints_handle(&nn->ep, req, resp))
        return;
    if (rl_api_handle(nn->api, req, resp))
        return;
    resp->status = 404;
    proto_buf_printf(&resp->body, "not found\n");
}

/*
 * A request with a body, before the body is read: refused at once when its headers alone refuse
 * it (a path that takes no body, a host, a token), so that a client without the right to send
 * one never makes the node hold megabytes of it.
 */
static int early(void *arg, const struct sync_http_req *req, struct sync_http_resp *resp)
{
    struct rl_net_node *nn = arg;
    resp->content_type = "text/plain; charset=utf-8";
    if (strncmp(req->path, "/api/", 5) && strncmp(req->path, "/sync/", 6)) {
        resp->status = 413;
        proto_buf_printf(&resp->body, "%s takes no request body\n",
                         !strcmp(req->path, "/healthz") ? "/healthz" : "this path");
        return 1;
    }
    return refused(nn, req, resp) || sync_endpoints_early(&nn->ep, req, resp) ||
           rl_api_early(nn->api, req, resp);
}

int rl_net_node_start(struct rl_net_node *n, uv_loop_t *loop, struct rl_store *store,
                      const char *host, int port, const struct rl_api_opts *o,
                      const struct sync_http_limits *lim, struct proto_err *e)
{
    struct sync_http_limits dflt;
    memset(n, 0, sizeof *n);
    n->store = store;
    if (rl_syncstore_init(&n->ss, store, e))
        return e->code;
    n->ep.store = &n->ss.iface;
    /* tokens are looked up on each request: one made or revoked while the node serves
     * counts at once (a token made after the start left the sync endpoints open) */
    n->ep.token_role = token_role;
    n->ep.any_token = any_token;
    n->ep.auth_ctx = n;
    n->ep.loop = loop; /* pull pages are read and gzipped in the thread pool */
    if (rl_api_new(loop, store, o, &n->api, e))
        return e->code;
    rl_syncstore_pool(&n->ss, loop);              /* its background syncs read push pages there */
    n->ss.iface.apply_later = rl_api_apply_later; /* pushes share the API's group commit */
    n->ss.iface.later_ctx = n->api;
    if (!lim) {
        sync_http_limits_default(&dflt);
        lim = &dflt;
    }
    int rc = sync_http_server_start(loop, host, port, lim, handle, n, &n->http, e);
    if (!rc)
        sync_http_server_set_early(n->http, early);
    if (rc) {
        rl_api_close(n->api, NULL, NULL);
        n->api = NULL;
    }
    return rc;
}

static void api_drained(void *arg)
{
    struct rl_net_node *n = arg;
    sync_http_server_stop(n->http, n->stop_done, n->stop_arg);
}

void rl_net_node_stop(struct rl_net_node *n, void (*done)(void *arg), void *arg)
{
    n->stop_done = done;
    n->stop_arg = arg;
    /* queued writes are committed and answered first; new ones are refused meanwhile */
    rl_api_close(n->api, api_drained, n);
}
