/*
 * The sync state machine (see engine.h).
 */
#include "engine.h"
#include "endpoints.h"

#include "proto/batch.h"
#include "proto/msg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum phase { PH_INFO, PH_PULL, PH_PUSH };

struct sync_run {
    struct sync_client *client;
    struct sync_store *store;
    struct sync_run_opts o;
    char url[512], token[512], cainfo[4400];
    sync_run_cb done;
    sync_progress_cb progress;
    void *arg;
    enum phase phase;
    uint32_t page, page_max;
    unsigned fails;
    struct proto_vv peer_vv; /* its origins in peer_frozen held past any seq (none read) */
    int have_peer_vv;
    struct proto_origins peer_frozen; /* what the peer last said it takes none of */
    uint64_t last_pushed; /* ops in the push in flight */
    /*
     * Pulled pages are applied with the store's apply_later when it has one, and while one is
     * being applied the next one is asked for (one page ahead): its request names the version
     * vector this node will hold once the page is in (ahead).
     */
    int applying;  /* a page is being applied */
    int page_more; /* ... and its response said more */
    int inflight;  /* a request is out */
    int discard;   /* its answer is to be dropped: it was asked past a page not all taken */
    struct proto_vv ahead;
    int have_ahead;
    uint8_t *stash; /* a pull response that came while a page was being applied */
    size_t stash_len;
    /*
     * Pushed pages are read with the store's read_later when it has one, and while the peer
     * takes one the next is read (one page ahead): read after the version vector the peer
     * holds once it has taken the page (next.reach of the page before), and sent only if the
     * peer's answer says it holds just that.
     */
    int reading;   /* a page is being read */
    int want_push; /* ... and is to be sent once read */
    int have_next; /* a page read, next */
    struct sync_page next;
    struct proto_vv next_after; /* what next was read after */
    int stop;                   /* finishing: once nothing is applying, being read or in flight */
    int cancelled;        /* sync_run_cancel: finish at the next step */
    /* answers in a row that moved nothing (a pull page of ops held already that says there
     * are more; a push after which the peer holds no more than before): a peer that never
     * moves forward is left, not asked for ever */
    unsigned stalled;
    long delay_ms; /* the next request waits this long (a retry's pause), then 0 again */
    struct sync_run_result r;
    double t0;
    struct proto_buf body;
};

#define SYNC_STALLED_MAX 3
#define SYNC_RETRY_MAX_MS 1000L

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void finish(struct sync_run *s, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The run's outcome (the first one given wins); done once no page applies and no request is
 * out, since both call back with s. */
static void finish(struct sync_run *s, int rc, const char *fmt, ...)
{
    if (!s->stop) {
        s->stop = 1;
        s->r.rc = rc;
        if (fmt) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(s->r.err, sizeof s->r.err, fmt, ap);
            va_end(ap);
        }
    }
    if (s->applying || s->inflight || s->reading)
        return;
    s->r.seconds = now_s() - s->t0;
    s->done(s->arg, &s->r);
    proto_vv_free(&s->peer_vv);
    proto_vv_free(&s->ahead);
    proto_buf_free(&s->next.batch);
    proto_vv_free(&s->next.reach);
    proto_vv_free(&s->next_after);
    proto_buf_free(&s->body);
    free(s->stash);
    free(s);
}

static void step(struct sync_run *s);

/* After a page was applied or read in the background: whether the run ends here (finishing, or
 * cancelled, or the work failed with rc) -- then finish is called, and s may be gone. */
static int ended(struct sync_run *s, int rc, const struct proto_err *e)
{
    if (s->stop)
        finish(s, s->r.rc, NULL);
    else if (s->cancelled)
        finish(s, -ECANCELED, "cancelled");
    else if (rc)
        finish(s, rc, "%s", e && e->msg[0] ? e->msg : proto_strerror(rc));
    else
        return 0;
    return 1;
}

/*
 * The peer's version vector, from a response of its (m's is taken), with the origins it takes
 * none of (info and push responses say which) marked past any seq, so that no page holds them.
 * How many origins the peer froze since it last said: 0 or more, or an error (-ENOMEM).
 */
/* The ops a version vector counts (its frozen origins' not) */
static uint64_t vv_total(const struct proto_vv *v)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < v->n; i++)
        if (v->e[i].seq != PROTO_SEQ_FROZEN)
            n += v->e[i].seq;
    return n;
}

static int keep_peer_vv(struct sync_run *s, struct proto_msg *m, int says_frozen)
{
    uint32_t added = 0;
    proto_vv_free(&s->peer_vv);
    s->peer_vv = m->vv;
    proto_vv_init(&m->vv);
    if (says_frozen) {
        s->peer_frozen = m->frozen;
        s->r.peer_frozen = m->frozen.n;
    }
    int rc = proto_vv_mark_frozen(&s->peer_vv, &s->peer_frozen, &added);
    return rc ? rc : (int)added;
}

static void on_response(void *arg, const struct sync_client_result *res);

/* 0 when sent; otherwise the run is finished (and s may be gone) */
static int send_req(struct sync_run *s, const char *path, const char *method)
{
    char url[600];
    struct proto_err e;
    snprintf(url, sizeof url, "%s%s", s->url, path);
    struct sync_client_req req = {
        .method = method,
        .url = url,
        .token = s->token[0] ? s->token : NULL,
        .cainfo = s->cainfo[0] ? s->cainfo : NULL,
        .content_type = method[0] == 'P' ? "application/vnd.msgpack" : NULL,
        .body = s->body.data,
        .body_len = method[0] == 'P' ? s->body.len : 0,
        .accept_gzip = 1,
        .max_response = PROTO_MAX_BODY_BYTES + 4096,
        .delay_ms = s->delay_ms,
    };
    s->delay_ms = 0;
    proto_err_clear(&e);
    s->r.requests++;
    if (sync_client_request(s->client, &req, on_response, s, &e)) {
        finish(s, e.code ? e.code : -EIO, "%s", e.msg);
        return -1;
    }
    s->inflight = 1;
    return 0;
}

/* A refusal from the peer: its error body's message, or the status. */
static void peer_error(struct sync_run *s, const struct sync_client_result *res)
{
    struct proto_msg m;
    struct proto_err e;
    proto_msg_init(&m);
    int rc = res->status == 403 ? PROTO_ENETWORK : -EPROTO;
    if (proto_msg_decode(PROTO_MSG_ERROR, res->body, res->body_len, &m, &e) == 0 && m.message) {
        if (!(m.code_len == 14 && !memcmp(m.code, "PROTO_ENETWORK", 14)) && res->status == 403)
            rc = -EACCES;
        finish(s, res->status == 401 ? -EACCES : rc, "peer refused (HTTP %ld): %.*s",
               res->status, (int)m.message_len, m.message);
    } else {
        finish(s, -EPROTO, "peer answered HTTP %ld", res->status);
    }
    proto_msg_free(&m);
}

/* A failed request: a smaller page next time, until max_failures in a row. */
static void retry(struct sync_run *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void retry(struct sync_run *s, const char *fmt, ...)
{
    s->r.failures++;
    if (++s->fails > s->o.max_failures) {
        char msg[500];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        finish(s, -EIO, "%s: %s (after %u failed requests in a row)", s->url, msg, s->fails);
        return;
    }
    s->page = s->page > 4 ? s->page / 4 : 1;
    /* the next try waits a little longer each time (25 ms, 50 ms ... 1 s: about 8 s over 12
     * tries), so a peer restarting or a link coming back is waited for, not tried 12 times in
     * a tenth of a second */
    unsigned shift = s->fails - 1 < 6 ? s->fails - 1 : 6;
    s->delay_ms = (25L << shift) < SYNC_RETRY_MAX_MS ? (25L << shift) : SYNC_RETRY_MAX_MS;
    step(s);
}

/* Two version vectors holding the same seqs for every origin (hashes aside: a server reads
 * only the seqs of a push's runs). */
static int vv_same_seqs(const struct proto_vv *a, const struct proto_vv *b)
{
    uint32_t i = 0, j = 0;
    for (;;) {
        while (i < a->n && a->e[i].seq == 0)
            i++;
        while (j < b->n && b->e[j].seq == 0)
            j++;
        if (i == a->n || j == b->n)
            return i == a->n && j == b->n;
        if (a->e[i].origin != b->e[j].origin || a->e[i].seq != b->e[j].seq)
            return 0;
        i++, j++;
    }
}

/* Move a page (or a vv) into the run's own, freeing what was there. */
static void take_page(struct sync_page *to, struct sync_page *from)
{
    proto_buf_free(&to->batch);
    proto_vv_free(&to->reach);
    *to = *from;
    proto_buf_init(&from->batch, PROTO_MAX_BODY_BYTES);
    proto_vv_init(&from->reach);
}

static int copy_vv(struct proto_vv *to, const struct proto_vv *from)
{
    proto_vv_free(to);
    proto_vv_init(to);
    for (uint32_t i = 0; i < from->n; i++)
        if (proto_vv_set(to, from->e[i].origin, from->e[i].seq, from->e[i].hash))
            return -ENOMEM;
    return 0;
}

static void push_read(void *arg, int rc, struct sync_page *pg, const struct proto_err *e);

/* Read the page after have: in the background where the store can (push_read is called when
 * it is in), else at once (and push_read called now). */
static void read_page(struct sync_run *s, const struct proto_vv *have)
{
    struct proto_err e;
    struct sync_page pg;
    int rc;
    proto_err_clear(&e);
    s->have_next = 0;
    if ((rc = copy_vv(&s->next_after, have))) {
        finish(s, rc, "out of memory");
        return;
    }
    s->reading = 1;
    if (s->store->read_later &&
        s->store->read_later(s->store->read_ctx, have, s->page, s->o.page_bytes, push_read, s) == 0)
        return;
    proto_buf_init(&pg.batch, PROTO_MAX_BODY_BYTES);
    proto_vv_init(&pg.reach);
    rc = s->store->read_after(s->store->ctx, have, s->page, s->o.page_bytes, &pg.batch, &pg.more,
                              &pg.nops, &e);
    /* where: the page after it is read ahead (a store without read_later reads each when
     * it is to be sent) */
    if (!rc && s->store->read_later && pg.nops &&
        (copy_vv(&pg.reach, have) ||
         proto_batch_advance_vv(&pg.reach, pg.batch.data, pg.batch.len)))
        pg.more = 0;
    push_read(s, rc, &pg, &e);
    proto_buf_free(&pg.batch);
    proto_vv_free(&pg.reach);
}

/* A page to push is read: sent now if the run waits for it, else kept for the peer's answer. */
static void push_read(void *arg, int rc, struct sync_page *pg, const struct proto_err *e)
{
    struct sync_run *s = arg;
    s->reading = 0;
    if (ended(s, rc, e))
        return;
    take_page(&s->next, pg);
    s->have_next = 1;
    if (s->want_push) {
        s->want_push = 0;
        step(s);
    }
}

/* The push phase's next request: the page read ahead when the peer holds what it was read
 * after (and it is not larger than a page now), else the page after what the peer holds. */
static void push_step(struct sync_run *s, const uint8_t net[PROTO_NETWORK_BYTES])
{
    if (s->have_next && (!vv_same_seqs(&s->next_after, &s->peer_vv) || s->next.nops > s->page))
        s->have_next = 0;
    if (!s->have_next) {
        s->want_push = 1;
        if (!s->reading)
            read_page(s, &s->peer_vv);
        return;
    }
    s->have_next = 0;
    if (s->next.nops == 0) {
        s->r.peer_lacks = 0;
        finish(s, 0, NULL);
        return;
    }
    s->last_pushed = s->next.nops;
    proto_msg_push_req(&s->body, net, s->next.batch.data, s->next.batch.len);
    if (send_req(s, "/sync/v1/push", "POST"))
        return;
    /* the page after it is read while the peer takes it (the request out keeps s) */
    if (s->next.more && s->store->read_later)
        read_page(s, &s->next.reach);
}

static void pull_page(struct sync_run *s, const uint8_t *body, size_t len);

/* A pulled page applied (or refused): the next page (maybe already asked for), or the push. */
static void pull_applied(void *arg, int rc, const struct sync_apply_stats *st,
                         const struct proto_err *e)
{
    struct sync_run *s = arg;
    s->applying = 0;
    if (ended(s, rc, e))
        return;
    s->r.pulled += st->applied;
    if (st->gap || st->fork || st->frozen) {
        /* not all of it was taken: the page asked for after it counted ops this node lacks */
        s->have_ahead = 0;
        s->discard = s->inflight;
        free(s->stash);
        s->stash = NULL;
    }
    /* (a fork found in it freezes an origin, which the next request names: the peer leaves
     * it out then) */
    if (s->page_more && st->applied == 0 && st->duplicate == 0 && st->fork == 0) {
        finish(s, PROTO_EFORK,
               "the peer sends ops this node cannot take (a forked or gapped origin): "
               "see relief status and relief alerts");
        return;
    }
    if (s->page_more && st->applied == 0) {
        if (++s->stalled >= SYNC_STALLED_MAX) {
            finish(s, -EPROTO,
                   "the peer keeps sending ops this node holds already and says there are "
                   "more: stopped (%u pages in a row moved nothing)",
                   s->stalled);
            return;
        }
    } else {
        s->stalled = 0;
    }
    if (!s->page_more) {
        s->phase = PH_PUSH;
        s->stalled = 0;
    }
    /* pages grow back after a success */
    if (s->page < s->page_max)
        s->page = s->page * 2 < s->page_max ? s->page * 2 : s->page_max;
    if (s->progress)
        s->progress(s->arg, &s->r, s->phase == PH_PULL ? "pull" : "push");
    if (s->stash) {
        uint8_t *body = s->stash;
        s->stash = NULL;
        pull_page(s, body, s->stash_len);
        free(body);
    } else if (!s->inflight) {
        step(s);
    }
}

/* A pull response: apply its page (in the background where the store can), and ask for the
 * next one meanwhile. */
static void pull_page(struct sync_run *s, const uint8_t *body, size_t len)
{
    struct proto_msg m;
    struct proto_err e;
    struct sync_apply_stats st = {0};
    uint8_t mine[PROTO_NETWORK_BYTES];
    proto_msg_init(&m);
    proto_err_clear(&e);
    s->store->network(s->store->ctx, mine);
    if (proto_msg_decode(PROTO_MSG_PULL_RESP, body, len, &m, &e)) {
        /* a garbled answer is treated like a cut one: smaller pages, try again */
        proto_msg_free(&m);
        retry(s, "%s (a pull response of %zu bytes)", e.msg, len);
        return;
    }
    if (proto_msg_check_network(&m, mine, &e)) {
        proto_msg_free(&m);
        finish(s, e.code, "%s", e.msg);
        return;
    }
    s->fails = 0;
    if (keep_peer_vv(s, &m, 0) < 0) {
        proto_msg_free(&m);
        finish(s, -ENOMEM, "out of memory");
        return;
    }
    s->page_more = m.more;
    if (s->store->apply_later &&
        s->store->apply_later(s->store->later_ctx, m.batch, m.batch_len, pull_applied, s) == 0) {
        s->applying = 1;
        /* the next page comes while this one is written, asked for with the VV this node holds
         * once it is in (the VV read now holds it or not yet: advancing is the same) */
        if (s->page_more && !s->have_ahead) {
            proto_vv_free(&s->ahead);
            proto_vv_init(&s->ahead);
            s->have_ahead = s->store->vv(s->store->ctx, &s->ahead, &e) == 0;
        }
        if (s->have_ahead && proto_batch_advance_vv(&s->ahead, m.batch, m.batch_len))
            s->have_ahead = 0;
        proto_msg_free(&m);
        if (s->page_more && s->have_ahead)
            step(s);
        return;
    }
    s->have_ahead = 0;
    int rc = s->store->apply(s->store->ctx, m.batch, m.batch_len, &st, &e);
    proto_msg_free(&m);
    pull_applied(s, rc, &st, &e);
}

static void on_response(void *arg, const struct sync_client_result *res)
{
    struct sync_run *s = arg;
    struct proto_msg m;
    struct proto_err e;

    s->inflight = 0;
    s->r.bytes_in += res->bytes_in;
    s->r.bytes_out += res->bytes_out;
    if (s->stop) {
        finish(s, s->r.rc, NULL);
        return;
    }
    if (res->rc == -ECANCELED) {
        finish(s, -ECANCELED, "cancelled");
        return;
    }
    if (res->rc == -EKEYREJECTED) { /* an untrusted certificate stays untrusted */
        finish(s, res->rc,
               "%s (to trust a private CA's or a proxy's own certificate: --cacert FILE, or relief "
               "peer add URL --cacert FILE)",
               res->err);
        return;
    }
    /* 507: the peer's disk is full -- retrying cannot help; say so (peer_error reads its
     * error body) */
    if (res->rc || res->status == 408 ||
        (res->status >= 500 && res->status != 501 && res->status != 507)) {
        /* a cut or failed request: smaller pages, and try again */
        retry(s, "%s", res->rc ? res->err : "the peer keeps failing");
        return;
    }
    if (res->status != 200) {
        peer_error(s, res);
        return;
    }
    /* (failures in a row end with an answer that decodes: a peer that answers 200 with
     * garbage fails like one that cuts the connection) */
    proto_msg_init(&m);
    proto_err_clear(&e);
    uint8_t mine[PROTO_NETWORK_BYTES];
    s->store->network(s->store->ctx, mine);
    switch (s->phase) {
    case PH_INFO:
        if (proto_msg_decode(PROTO_MSG_INFO, res->body, res->body_len, &m, &e) ||
            proto_msg_check_network(&m, mine, &e)) {
            proto_msg_free(&m);
            finish(s, e.code, "%s", e.msg);
            return;
        }
        s->fails = 0;
        if (keep_peer_vv(s, &m, 1) < 0) {
            proto_msg_free(&m);
            finish(s, -ENOMEM, "out of memory");
            return;
        }
        s->have_peer_vv = 1;
        /* pages within what the server says it takes (info keys 6 and 7): a push larger than
         * its body limit would only be refused */
        if (m.max_ops && m.max_ops < s->page_max)
            s->page_max = (uint32_t)m.max_ops;
        if (s->page > s->page_max)
            s->page = s->page_max;
        if (m.max_bytes && m.max_bytes / 2 < s->o.page_bytes)
            s->o.page_bytes = m.max_bytes / 2 > 4096 ? (uint32_t)(m.max_bytes / 2) : 4096;
        s->phase = PH_PULL;
        break;
    case PH_PULL:
        proto_msg_free(&m);
        if (s->discard) { /* asked for past a page that was not all taken: again */
            s->discard = 0;
            step(s);
        } else if (s->applying) { /* the page before is still being written */
            free(s->stash);
            if ((s->stash = malloc(res->body_len ? res->body_len : 1))) {
                memcpy(s->stash, res->body, res->body_len);
                s->stash_len = res->body_len;
            } else {
                finish(s, -ENOMEM, "out of memory");
            }
        } else {
            pull_page(s, res->body, res->body_len);
        }
        return;
    case PH_PUSH: {
        if (proto_msg_decode(PROTO_MSG_PUSH_RESP, res->body, res->body_len, &m, &e) ||
            proto_msg_check_network(&m, mine, &e)) {
            proto_msg_free(&m);
            finish(s, e.code, "%s", e.msg);
            return;
        }
        s->fails = 0;
        s->r.pushed += m.stats[0];
        uint64_t before = vv_total(&s->peer_vv);
        int added = keep_peer_vv(s, &m, 1);
        if (added < 0) {
            proto_msg_free(&m);
            finish(s, -ENOMEM, "out of memory");
            return;
        }
        /* none taken: a fork the peer found in this page (it names the origin now, and the
         * next page leaves it out), else the peer would refuse the same page for ever */
        if (m.stats[0] == 0 && m.stats[1] == 0 && s->last_pushed > 0 && added == 0) {
            proto_msg_free(&m);
            finish(s, PROTO_EFORK,
                   "the peer takes none of this node's ops (a forked origin?): see its alerts");
            return;
        }
        if (s->last_pushed > 0 && added == 0 && vv_total(&s->peer_vv) <= before) {
            if (++s->stalled >= SYNC_STALLED_MAX) {
                proto_msg_free(&m);
                finish(s, -EPROTO,
                       "the peer says it takes this node's ops but holds no more of them "
                       "after %u pushes in a row: stopped",
                       s->stalled);
                return;
            }
        } else {
            s->stalled = 0;
        }
        if (s->page < s->page_max)
            s->page = s->page * 2 < s->page_max ? s->page * 2 : s->page_max;
        break;
    }
    }
    proto_msg_free(&m);
    if (s->progress)
        s->progress(s->arg, &s->r, s->phase == PH_PULL ? "pull" : "push");
    step(s);
}

static void step(struct sync_run *s)
{
    struct proto_err e;
    uint8_t net[PROTO_NETWORK_BYTES];
    proto_err_clear(&e);
    if (s->cancelled) {
        finish(s, -ECANCELED, "cancelled");
        return;
    }
    proto_buf_reset(&s->body);
    s->store->network(s->store->ctx, net);
    switch (s->phase) {
    case PH_INFO:
        send_req(s, "/sync/v1/info", "GET");
        return;
    case PH_PULL: {
        struct proto_vv mine;
        struct proto_origins f = {0};
        proto_vv_init(&mine);
        /* the origins this node takes none of: the peer leaves them out */
        if (s->store->frozen && s->store->frozen(s->store->ctx, &f, &e))
            f.n = 0;
        s->r.frozen = f.n;
        if (s->have_ahead) {
            for (uint32_t i = 0; i < s->ahead.n; i++)
                if (proto_vv_set(&mine, s->ahead.e[i].origin, s->ahead.e[i].seq,
                                 s->ahead.e[i].hash)) {
                    proto_vv_free(&mine);
                    finish(s, -ENOMEM, "out of memory");
                    return;
                }
        } else if (s->store->vv(s->store->ctx, &mine, &e)) {
            proto_vv_free(&mine);
            finish(s, e.code, "%s", e.msg);
            return;
        }
        proto_msg_pull_req(&s->body, net, &mine, s->page, s->o.page_bytes, &f);
        proto_vv_free(&mine);
        send_req(s, "/sync/v1/pull", "POST");
        return;
    }
    case PH_PUSH:
        push_step(s, net);
        return;
    }
}

int sync_run_start(struct sync_client *client, struct sync_store *store,
                   const struct sync_run_opts *opts, sync_run_cb done, sync_progress_cb progress,
                   void *arg, struct sync_run **out, struct proto_err *e)
{
    struct sync_run *s = calloc(1, sizeof *s);
    if (!s)
        return proto_errf(e, -ENOMEM, "out of memory");
    s->client = client;
    s->store = store;
    s->o = *opts;
    if (!s->o.page_ops)
        s->o.page_ops = SYNC_PULL_MAX_OPS;
    if (!s->o.page_bytes)
        s->o.page_bytes = SYNC_PULL_MAX_BYTES;
    if (!s->o.max_failures)
        s->o.max_failures = 12;
    size_t ul = strlen(opts->url);
    if (ul == 0 || ul >= sizeof s->url || (opts->token && strlen(opts->token) >= sizeof s->token) ||
        (opts->cainfo && strlen(opts->cainfo) >= sizeof s->cainfo)) {
        free(s);
        return proto_errf(e, -EINVAL, "peer URL or token too long");
    }
    memcpy(s->url, opts->url, ul + 1);
    while (ul > 0 && s->url[ul - 1] == '/')
        s->url[--ul] = '\0';
    if (opts->token)
        snprintf(s->token, sizeof s->token, "%s", opts->token);
    if (opts->cainfo)
        snprintf(s->cainfo, sizeof s->cainfo, "%s", opts->cainfo);
    s->o.cainfo = NULL; /* (s->cainfo is the run's copy) */
    s->o.url = s->url;
    s->done = done;
    s->progress = progress;
    s->arg = arg;
    s->page = s->page_max = s->o.page_ops;
    s->t0 = now_s();
    proto_vv_init(&s->peer_vv);
    proto_vv_init(&s->ahead);
    proto_buf_init(&s->next.batch, PROTO_MAX_BODY_BYTES);
    proto_vv_init(&s->next.reach);
    proto_vv_init(&s->next_after);
    proto_buf_init(&s->body, PROTO_MAX_BODY_BYTES + 4096);
    if (out)
        *out = s;
    step(s);
    return 0;
}

void sync_run_cancel(struct sync_run *s)
{
    if (s)
        s->cancelled = 1;
}
