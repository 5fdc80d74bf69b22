/*
 * The node's store behind the sync interface (see syncstore.h).
 */
#include "syncstore.h"

#include "node.h"
#include "oplog.h"

#include "proto/batch.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void network(void *ctx, uint8_t out[PROTO_NETWORK_BYTES])
{
    struct rl_syncstore *ss = ctx;
    memcpy(out, ss->network, PROTO_NETWORK_BYTES);
}

static uint64_t node(void *ctx, char *name, size_t n)
{
    struct rl_syncstore *ss = ctx;
    snprintf(name, n, "%s", ss->name);
    return ss->node;
}

static int vv_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_vv_load(t, arg, e);
}

static int vv(void *ctx, struct proto_vv *out, struct proto_err *e)
{
    struct rl_syncstore *ss = ctx;
    return rl_store_read(ss->s, vv_fn, out, e);
}

static int frozen_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    int rc = rl_oplog_frozen(t, arg);
    return rc ? proto_errf(e, rc, "cannot read forks: %s", proto_strerror(rc)) : 0;
}

static int frozen(void *ctx, struct proto_origins *out, struct proto_err *e)
{
    struct rl_syncstore *ss = ctx;
    return rl_store_read(ss->s, frozen_fn, out, e);
}

struct read_arg {
    const struct proto_vv *have;
    uint32_t max_ops;
    size_t max_bytes;
    struct proto_buf *out;
    int *more;
    uint32_t *nops;
};

static int read_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct read_arg *a = arg;
    return rl_oplog_read_after(t, a->have, a->max_ops, a->max_bytes, a->out, a->more, a->nops,
                               e);
}

static int read_after(void *ctx, const struct proto_vv *have, uint32_t max_ops, size_t max_bytes,
                      struct proto_buf *out, int *more, uint32_t *nops, struct proto_err *e)
{
    struct rl_syncstore *ss = ctx;
    struct read_arg a = {have, max_ops, max_bytes, out, more, nops};
    return rl_store_read(ss->s, read_fn, &a, e);
}

static int apply(void *ctx, const uint8_t *batch, size_t n, struct sync_apply_stats *st,
                 struct proto_err *e)
{
    struct rl_syncstore *ss = ctx;
    struct rl_apply_stats a;
    memset(&a, 0, sizeof a);
    int rc = rl_oplog_apply_bytes(ss->s, batch, n, &a, e);
    st->applied = a.applied;
    st->duplicate = a.duplicate;
    st->gap = a.gap;
    st->fork = a.fork;
    st->frozen = a.frozen;
    ss->applied += a.applied;
    return rc;
}

/* A batch applied in the thread pool. */
struct pooled {
    uv_work_t work;
    struct rl_syncstore *ss;
    uint8_t *batch;
    size_t n;
    int rc;
    struct sync_apply_stats st;
    struct proto_err e;
    void (*done)(void *arg, int rc, const struct sync_apply_stats *st, const struct proto_err *e);
    void *arg;
};

static void pooled_work(uv_work_t *w)
{
    struct pooled *p = w->data;
    proto_err_clear(&p->e);
    p->rc = apply(p->ss, p->batch, p->n, &p->st, &p->e);
}

static void pooled_done(uv_work_t *w, int status)
{
    struct pooled *p = w->data;
    (void)status;
    p->done(p->arg, p->rc, &p->st, &p->e);
    free(p->batch);
    free(p);
}

static int apply_pooled(void *later_ctx, const uint8_t *batch, size_t n,
                        void (*done)(void *arg, int rc, const struct sync_apply_stats *st,
                                     const struct proto_err *e),
                        void *arg)
{
    struct rl_syncstore *ss = later_ctx;
    if (n < RL_SYNCSTORE_POOL_MIN)
        return -EAGAIN; /* the caller applies it at once: a thread would cost more than it saves */
    struct pooled *p = calloc(1, sizeof *p);
    if (!p || !(p->batch = malloc(n ? n : 1))) {
        free(p);
        return -ENOMEM;
    }
    memcpy(p->batch, batch, n);
    p->n = n;
    p->ss = ss;
    p->done = done;
    p->arg = arg;
    p->work.data = p;
    if (uv_queue_work(ss->loop, &p->work, pooled_work, pooled_done)) {
        free(p->batch);
        free(p);
        return -EAGAIN;
    }
    return 0;
}

/* A page read in the thread pool. */
struct page_read {
    uv_work_t work;
    struct rl_syncstore *ss;
    uint32_t max_ops;
    size_t max_bytes;
    int rc;
    struct sync_page pg; /* reach starts as the vv it is read after */
    struct proto_err e;
    void (*done)(void *arg, int rc, struct sync_page *pg, const struct proto_err *e);
    void *arg;
};

static void read_work(uv_work_t *w)
{
    struct page_read *p = w->data;
    proto_err_clear(&p->e);
    p->rc = read_after(p->ss, &p->pg.reach, p->max_ops, p->max_bytes, &p->pg.batch, &p->pg.more,
                       &p->pg.nops, &p->e);
    if (!p->rc && p->pg.nops &&
        (p->rc = proto_batch_advance_vv(&p->pg.reach, p->pg.batch.data, p->pg.batch.len)))
        proto_errf(&p->e, p->rc, "cannot follow the page just read: %s", proto_strerror(p->rc));
}

static void read_done(uv_work_t *w, int status)
{
    struct page_read *p = w->data;
    (void)status;
    p->done(p->arg, p->rc, &p->pg, &p->e);
    proto_buf_free(&p->pg.batch);
    proto_vv_free(&p->pg.reach);
    free(p);
}

static int
read_pooled(void *read_ctx, const struct proto_vv *have, uint32_t max_ops, size_t max_bytes,
            void (*done)(void *arg, int rc, struct sync_page *pg, const struct proto_err *e),
            void *arg)
{
    struct rl_syncstore *ss = read_ctx;
    struct page_read *p = calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    proto_buf_init(&p->pg.batch, PROTO_MAX_BODY_BYTES);
    proto_vv_init(&p->pg.reach);
    for (uint32_t i = 0; i < have->n; i++)
        if (proto_vv_set(&p->pg.reach, have->e[i].origin, have->e[i].seq, have->e[i].hash)) {
            proto_vv_free(&p->pg.reach);
            free(p);
            return -ENOMEM;
        }
    p->ss = ss;
    p->max_ops = max_ops;
    p->max_bytes = max_bytes;
    p->done = done;
    p->arg = arg;
    p->work.data = p;
    if (uv_queue_work(ss->loop, &p->work, read_work, read_done)) {
        proto_vv_free(&p->pg.reach);
        free(p);
        return -EAGAIN;
    }
    return 0;
}

void rl_syncstore_pool(struct rl_syncstore *ss, uv_loop_t *loop)
{
    ss->loop = loop;
    ss->iface.apply_later = apply_pooled;
    ss->iface.later_ctx = ss;
    ss->iface.read_later = read_pooled;
    ss->iface.read_ctx = ss;
}

static int meta_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct rl_syncstore *ss = arg;
    struct rl_node n;
    int rc = rl_node_load(t, &n, e);
    if (!rc) {
        memcpy(ss->network, n.network, PROTO_NETWORK_BYTES);
        ss->node = n.id;
        snprintf(ss->name, sizeof ss->name, "%s", n.name);
    }
    return rc;
}

int rl_syncstore_init(struct rl_syncstore *ss, struct rl_store *s, struct proto_err *e)
{
    memset(ss, 0, sizeof *ss);
    ss->s = s;
    ss->iface.ctx = ss;
    ss->iface.network = network;
    ss->iface.node = node;
    ss->iface.vv = vv;
    ss->iface.frozen = frozen;
    ss->iface.read_after = read_after;
    ss->iface.apply = apply;
    return rl_store_read(s, meta_fn, ss, e);
}
