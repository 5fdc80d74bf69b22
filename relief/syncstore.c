/*
 * The node's store behind the sync interface (see syncstore.h).
 */
#include "syncstore.h"

#include "node.h"
#include "oplog.h"

#include <stdio.h>
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
    ss->iface.read_after = read_after;
    ss->iface.apply = apply;
    return rl_store_read(s, meta_fn, ss, e);
}
