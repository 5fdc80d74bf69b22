/*
 * The sync endpoints (see endpoints.h).
 */
#include "endpoints.h"

#include "proto/msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void fail(struct sync_http_resp *resp, int status, const char *code, const char *msg)
{
    resp->status = status;
    resp->content_type = "application/vnd.msgpack";
    proto_buf_reset(&resp->body);
    proto_msg_error(&resp->body, code, msg);
}

int sync_request_role(struct sync_endpoints *ep, const struct sync_http_req *req)
{
    const char *a = req->authorization;
    /* a node with no tokens listens on loopback alone: its local clients need none, but a
     * request a proxy on this machine passed on from elsewhere is not local */
    if (!ep->token_role)
        return req->proxied ? SYNC_ROLE_NONE : SYNC_ROLE_SYNC;
    if (ep->any_token && !ep->any_token(ep->auth_ctx))
        return req->loopback && !req->proxied ? SYNC_ROLE_SYNC : SYNC_ROLE_NONE;
    /* the scheme is case-insensitive (RFC 9110) */
    if (strncasecmp(a, "Bearer ", 7) != 0 || !a[7])
        return SYNC_ROLE_NONE;
    return ep->token_role(ep->auth_ctx, a + 7, strlen(a + 7));
}

/* 0 when the request may go on; otherwise resp holds the refusal. */
static int check(struct sync_endpoints *ep, const struct sync_http_req *req,
                 struct sync_http_resp *resp, const char *method, int body)
{
    if (strcmp(req->method, method) != 0) {
        fail(resp, 405, "method", method[0] == 'G' ? "use GET" : "use POST");
        resp->header_name[resp->nheaders] = "Allow";
        resp->header_value[resp->nheaders++] = method;
        return -1;
    }
    int role = sync_request_role(ep, req);
    if (role == SYNC_ROLE_NONE) {
        fail(resp, 401, "unauthorized", "a sync token is needed: Authorization: Bearer TOKEN");
        resp->header_name[resp->nheaders] = "WWW-Authenticate";
        resp->header_value[resp->nheaders++] = "Bearer";
        return -1;
    }
    if (role != SYNC_ROLE_SYNC) {
        fail(resp, 403, "forbidden", "only a token with the sync role may pull or push");
        return -1;
    }
    if (body) {
        /* parameters after ';' are allowed, the media type is not */
        size_t tl = strcspn(req->content_type, "; ");
        if (tl != 23 || strncasecmp(req->content_type, "application/vnd.msgpack", 23) != 0) {
            fail(resp, 415, "content-type", "the body must be application/vnd.msgpack");
            return -1;
        }
        if (req->content_encoding[0] && strcmp(req->content_encoding, "identity") != 0) {
            fail(resp, 415, "content-encoding", "compressed request bodies are not accepted");
            return -1;
        }
    }
    return 0;
}

static int network_ok(struct sync_endpoints *ep, const struct proto_msg *m,
                      struct sync_http_resp *resp)
{
    uint8_t mine[PROTO_NETWORK_BYTES];
    struct proto_err e;
    proto_err_clear(&e);
    ep->store->network(ep->store->ctx, mine);
    if (proto_msg_check_network(m, mine, &e)) {
        fail(resp, 403, "PROTO_ENETWORK", e.msg);
        return 0;
    }
    return 1;
}

/* The origins this node takes no ops of, for a peer to leave out (none when the store cannot
 * say: the peer then sends them and this node counts them frozen, as before). */
static void frozen_of(struct sync_endpoints *ep, struct proto_origins *f)
{
    struct proto_err e;
    f->n = 0;
    if (ep->store->frozen && ep->store->frozen(ep->store->ctx, f, &e))
        f->n = 0;
}

static void info(struct sync_endpoints *ep, struct sync_http_resp *resp)
{
    struct proto_origins f;
    struct proto_vv vv;
    struct proto_err e;
    uint8_t net[PROTO_NETWORK_BYTES];
    char name[PROTO_MAX_AUTHOR_BYTES + 1] = "";
    proto_vv_init(&vv);
    proto_err_clear(&e);
    if (ep->store->vv(ep->store->ctx, &vv, &e)) {
        fail(resp, 500, proto_errname(e.code), e.msg);
    } else {
        ep->store->network(ep->store->ctx, net);
        uint64_t node = ep->store->node(ep->store->ctx, name, sizeof name);
        resp->content_type = "application/vnd.msgpack";
        frozen_of(ep, &f);
        proto_msg_info(&resp->body, net, node, name, &vv, &f);
    }
    proto_vv_free(&vv);
}

/*
 * A pull's answer to a decoded request m: the page of ops past m's vv, with this node's vv;
 * gzipped here when gzip is set (in the thread pool, the compression too stays off the loop).
 */
static void pull_page(struct sync_endpoints *ep, const struct proto_msg *m, int gzip,
                      struct sync_http_resp *resp, uint32_t *nops)
{
    struct proto_err e;
    struct proto_vv mine;
    struct proto_buf batch;
    uint8_t net[PROTO_NETWORK_BYTES];
    int more = 0;
    proto_vv_init(&mine);
    proto_buf_init(&batch, PROTO_MAX_BODY_BYTES);
    proto_err_clear(&e);
    *nops = 0;
    uint64_t max_ops =
        m->max_ops && m->max_ops < SYNC_PULL_MAX_OPS ? m->max_ops : SYNC_PULL_MAX_OPS;
    uint64_t max_bytes =
        m->max_bytes && m->max_bytes < SYNC_PULL_MAX_BYTES ? m->max_bytes : SYNC_PULL_MAX_BYTES;
    if (ep->store->read_after(ep->store->ctx, &m->vv, (uint32_t)max_ops, (size_t)max_bytes, &batch,
                              &more, nops, &e) ||
        ep->store->vv(ep->store->ctx, &mine, &e)) {
        fail(resp, 500, proto_errname(e.code), e.msg);
        goto out;
    }
    ep->store->network(ep->store->ctx, net);
    resp->content_type = "application/vnd.msgpack";
    resp->gzip_ok = 1;
    if (proto_msg_pull_resp(&resp->body, net, batch.data, batch.len, more, &mine)) {
        fail(resp, 500, "EMSGSIZE", "response too large");
        goto out;
    }
    if (gzip && sync_http_gzip(&resp->body) == 0)
        resp->gzipped = 1;
out:
    proto_buf_free(&batch);
    proto_vv_free(&mine);
}

/* A pull read and encoded in the thread pool. */
struct pooled_pull {
    uv_work_t work;
    struct sync_endpoints *ep;
    struct sync_http_pending *pend;
    struct proto_msg m;
    struct sync_http_resp resp;
    int gzip;
    uint32_t nops;
    double t0;
    size_t body_len;
    char peer[64];
};

static void pull_work(uv_work_t *w)
{
    struct pooled_pull *pp = w->data;
    pull_page(pp->ep, &pp->m, pp->gzip, &pp->resp, &pp->nops);
}

static void pull_done(uv_work_t *w, int status)
{
    struct pooled_pull *pp = w->data;
    (void)status;
    if (pp->ep->on_sync && pp->resp.status == 200)
        pp->ep->on_sync(pp->ep->log_ctx, pp->peer, "pull", 0, pp->nops, pp->body_len,
                        pp->resp.body.len, now_ms() - pp->t0);
    sync_http_complete(pp->pend, &pp->resp);
    proto_msg_free(&pp->m);
    free(pp);
}

static void pull(struct sync_endpoints *ep, const struct sync_http_req *req,
                 struct sync_http_resp *resp)
{
    struct proto_msg m;
    struct proto_err e;
    uint32_t nops = 0;
    double t0 = now_ms();
    proto_msg_init(&m);
    proto_err_clear(&e);
    if (proto_msg_decode(PROTO_MSG_PULL_REQ, req->body, req->body_len, &m, &e)) {
        fail(resp, 400, proto_errname(e.code), e.msg);
        goto out;
    }
    if (!network_ok(ep, &m, resp))
        goto out;
    /* the origins the client takes none of are read as held past any seq: none is sent */
    if (proto_vv_mark_frozen(&m.vv, &m.frozen, NULL)) {
        fail(resp, 400, "PROTO_ELIMIT", "pull request: too many origins");
        goto out;
    }
    struct pooled_pull *pp = ep->loop ? calloc(1, sizeof *pp) : NULL;
    if (pp && (pp->pend = sync_http_defer(req))) {
        pp->ep = ep;
        pp->m = m; /* its vv is owned by pp now */
        pp->gzip = req->accept_gzip;
        pp->t0 = t0;
        pp->body_len = req->body_len;
        snprintf(pp->peer, sizeof pp->peer, "%s", req->peer);
        sync_http_resp_init(&pp->resp);
        pp->work.data = pp;
        if (uv_queue_work(ep->loop, &pp->work, pull_work, pull_done) == 0)
            return; /* answered by pull_done */
        proto_buf_free(&pp->resp.body);
        sync_http_undefer(pp->pend);
    }
    free(pp);
    pull_page(ep, &m, 0, resp, &nops);
    if (ep->on_sync && resp->status == 200)
        ep->on_sync(ep->log_ctx, req->peer, "pull", 0, nops, req->body_len, resp->body.len,
                    now_ms() - t0);
out:
    proto_msg_free(&m);
}

/* The answer to a push once its batch was applied (or refused). */
static void push_answer(struct sync_endpoints *ep, int rc, const struct sync_apply_stats *st,
                        const struct proto_err *ae, struct sync_http_resp *resp, const char *peer,
                        size_t body_len, double t0)
{
    struct proto_err e;
    struct proto_vv mine;
    uint8_t net[PROTO_NETWORK_BYTES];
    proto_vv_init(&mine);
    proto_err_clear(&e);
    if (rc) {
        /* a batch that does not decode is the client's fault; a full disk is ours: 507 */
        int status = rc == -ENOSPC || rc == PROTO_EMAPFULL                   ? 507
                     : rc == PROTO_EMALFORMED || rc == PROTO_ELIMIT ||
                               rc == PROTO_EFIELD || rc == PROTO_ECHAIN ? 400
                                                                        : 500;
        fail(resp, status, proto_errname(ae->code ? ae->code : rc), ae->msg);
        return;
    }
    if (ep->store->vv(ep->store->ctx, &mine, &e)) {
        fail(resp, 500, proto_errname(e.code), e.msg);
        proto_vv_free(&mine);
        return;
    }
    ep->store->network(ep->store->ctx, net);
    uint64_t stats[5] = {st->applied, st->duplicate, st->gap, st->fork, st->frozen};
    struct proto_origins f;
    frozen_of(ep, &f);
    resp->content_type = "application/vnd.msgpack";
    proto_msg_push_resp(&resp->body, net, &mine, stats, &f);
    if (ep->on_sync)
        ep->on_sync(ep->log_ctx, peer, "push", st->applied, 0, body_len, resp->body.len,
                    now_ms() - t0);
    proto_vv_free(&mine);
}

/* A push waiting for its group commit. */
struct later_push {
    struct sync_endpoints *ep;
    struct sync_http_pending *pend;
    double t0;
    size_t body_len;
    char peer[64];
};

static void push_done(void *arg, int rc, const struct sync_apply_stats *st,
                      const struct proto_err *e)
{
    struct later_push *lp = arg;
    struct sync_http_resp resp;
    sync_http_resp_init(&resp);
    push_answer(lp->ep, rc, st, e, &resp, lp->peer, lp->body_len, lp->t0);
    sync_http_complete(lp->pend, &resp);
    free(lp);
}

static void push(struct sync_endpoints *ep, const struct sync_http_req *req,
                 struct sync_http_resp *resp)
{
    struct proto_msg m;
    struct proto_err e;
    struct sync_apply_stats st = {0};
    double t0 = now_ms();

    proto_msg_init(&m);
    proto_err_clear(&e);
    if (proto_msg_decode(PROTO_MSG_PUSH_REQ, req->body, req->body_len, &m, &e)) {
        fail(resp, 400, proto_errname(e.code), e.msg);
        goto out;
    }
    if (!network_ok(ep, &m, resp))
        goto out;
    if (ep->store->apply_later) {
        struct later_push *lp = calloc(1, sizeof *lp);
        if (lp) {
            lp->ep = ep;
            lp->t0 = t0;
            lp->body_len = req->body_len;
            snprintf(lp->peer, sizeof lp->peer, "%s", req->peer);
            lp->pend = sync_http_defer(req);
            if (lp->pend && ep->store->apply_later(ep->store->later_ctx, m.batch, m.batch_len,
                                                   push_done, lp) == 0)
                goto out; /* answered by push_done */
            sync_http_undefer(lp->pend); /* not queued: applied and answered below */
            free(lp);
        }
    }
    int rc = ep->store->apply(ep->store->ctx, m.batch, m.batch_len, &st, &e);
    push_answer(ep, rc, &st, &e, resp, req->peer, req->body_len, t0);
out:
    proto_msg_free(&m);
}

int sync_endpoints_early(struct sync_endpoints *ep, const struct sync_http_req *req,
                         struct sync_http_resp *resp)
{
    if (strncmp(req->path, "/sync/", 6) != 0)
        return 0;
    int post = !strcmp(req->path, "/sync/v1/pull") || !strcmp(req->path, "/sync/v1/push");
    if (!post && strcmp(req->path, "/sync/v1/info")) {
        fail(resp, 404, "not-found", "no such sync endpoint (this node speaks /sync/v1)");
        return 1;
    }
    return check(ep, req, resp, post ? "POST" : "GET", post) ? 1 : 0;
}

int sync_endpoints_handle(struct sync_endpoints *ep, const struct sync_http_req *req,
                          struct sync_http_resp *resp)
{
    if (strncmp(req->path, "/sync/", 6) != 0)
        return 0;
    if (!strcmp(req->path, "/sync/v1/info")) {
        if (!check(ep, req, resp, "GET", 0))
            info(ep, resp);
    } else if (!strcmp(req->path, "/sync/v1/pull")) {
        if (!check(ep, req, resp, "POST", 1))
            pull(ep, req, resp);
    } else if (!strcmp(req->path, "/sync/v1/push")) {
        if (!check(ep, req, resp, "POST", 1))
            push(ep, req, resp);
    } else {
        fail(resp, 404, "not-found", "no such sync endpoint (this node speaks /sync/v1)");
    }
    return 1;
}
