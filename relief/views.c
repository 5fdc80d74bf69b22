/*
 * Derived views (see views.h). Only the node-name view exists so far; the domain's views hang
 * off the same dispatch.
 */
#include "views.h"

#include "proto/kinds.h"
#include "proto/mp.h"

#include <errno.h>
#include <string.h>

/* node: origin -> seq(8) name, keeping the highest seq (one origin's ops are ordered) */
static int apply_node(struct rl_txn *t, const struct proto_op *op, struct proto_err *e)
{
    struct proto_mp m;
    uint32_t n;
    const char *name = NULL;
    uint32_t name_len = 0;

    proto_mp_init(&m, op->body, op->body_len);
    if (proto_mp_map(&m, &n))
        return 0;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        if (proto_mp_uint(&m, &key))
            return 0;
        if (key == PROTO_F_NODE_NAME) {
            if (proto_mp_str(&m, &name, &name_len, PROTO_MAX_AUTHOR_BYTES))
                return 0;
        } else if (proto_mp_skip(&m, PROTO_MAX_DEPTH)) {
            return 0;
        }
    }
    if (!name)
        return 0;

    uint8_t k[8], v[8 + PROTO_MAX_AUTHOR_BYTES];
    MDB_val old;
    proto_put_be64(k, op->origin);
    int rc = rl_get(t, RL_DB_NODES, k, 8, &old);
    if (rc == 0 && old.mv_size >= 8 && proto_get_be64(old.mv_data) > op->seq)
        return 0;
    if (rc && rc != -ENOENT)
        return proto_errf(e, rc, "node view: %s", proto_strerror(rc));
    proto_put_be64(v, op->seq);
    memcpy(v + 8, name, name_len);
    if ((rc = rl_put(t, RL_DB_NODES, k, 8, v, 8 + name_len)))
        return proto_errf(e, rc, "node view: %s", proto_strerror(rc));
    return 0;
}

int rl_views_apply(struct rl_txn *t, const struct proto_op *op, struct proto_err *e)
{
    switch (op->kind) {
    case PROTO_KIND_NODE:
        return apply_node(t, op, e);
    default:
        return 0; /* stored and forwarded, not applied */
    }
}

int rl_views_node_name(struct rl_txn *t, uint64_t origin, char *out, size_t n)
{
    uint8_t k[8];
    MDB_val v;
    proto_put_be64(k, origin);
    out[0] = '\0';
    int rc = rl_get(t, RL_DB_NODES, k, 8, &v);
    if (rc)
        return rc;
    if (v.mv_size < 8)
        return PROTO_ECORRUPT;
    size_t len = v.mv_size - 8 < n - 1 ? v.mv_size - 8 : n - 1;
    memcpy(out, (const uint8_t *)v.mv_data + 8, len);
    out[len] = '\0';
    return 0;
}
