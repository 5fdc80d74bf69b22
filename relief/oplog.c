/*
 * The op log (see oplog.h).
 */
#include "oplog.h"

#include "hlc.h"
#include "node.h"
#include "views.h"

#include <errno.h>
#include <string.h>

static const uint8_t zero_hash[PROTO_HASH_BYTES];

static void op_key(uint8_t k[16], uint64_t origin, uint64_t seq)
{
    proto_put_be64(k, origin);
    proto_put_be64(k + 8, seq);
}

/* The VV entry of an origin: seq 0 and the zero hash when absent. */
static int vv_get(struct rl_txn *t, uint64_t origin, uint64_t *seq, uint8_t hash[PROTO_HASH_BYTES])
{
    uint8_t k[8];
    MDB_val v;
    proto_put_be64(k, origin);
    int rc = rl_get(t, RL_DB_VV, k, 8, &v);
    if (rc == -ENOENT) {
        *seq = 0;
        memcpy(hash, zero_hash, PROTO_HASH_BYTES);
        return 0;
    }
    if (rc)
        return rc;
    if (v.mv_size != 8 + PROTO_HASH_BYTES)
        return PROTO_ECORRUPT;
    *seq = proto_get_be64(v.mv_data);
    memcpy(hash, (const uint8_t *)v.mv_data + 8, PROTO_HASH_BYTES);
    return 0;
}

static int vv_put(struct rl_txn *t, uint64_t origin, uint64_t seq,
                  const uint8_t hash[PROTO_HASH_BYTES])
{
    uint8_t k[8], v[8 + PROTO_HASH_BYTES];
    proto_put_be64(k, origin);
    proto_put_be64(v, seq);
    memcpy(v + 8, hash, PROTO_HASH_BYTES);
    return rl_put(t, RL_DB_VV, k, 8, v, sizeof v);
}

/*
 * Store an op whose origin, seq, hash and payload are set, and apply it to the views. The
 * caller moves the version vector (once per run of a batch, not once per op).
 */
static int enter(struct rl_txn *t, const struct proto_op *op, struct proto_err *e)
{
    uint8_t k[16];
    op_key(k, op->origin, op->seq);
    /* the payload only: the hash follows from the chain, kept every RL_CHAIN_EVERY ops */
    int rc = rl_put(t, RL_DB_OPS, k, 16, op->payload, op->payload_len);
    if (!rc && op->seq % RL_CHAIN_EVERY == 0)
        rc = rl_put(t, RL_DB_CHAIN, k, 16, op->hash, PROTO_HASH_BYTES);
    if (rc)
        return proto_errf(e, rc, "cannot store op: %s", proto_strerror(rc));
    return rl_views_apply(t, op, e);
}

int rl_oplog_append(struct rl_txn *t, uint32_t kind, const uint8_t *body, size_t body_len,
                    uint64_t min_hlc, const char *author, struct rl_op_ref *out,
                    struct proto_err *e)
{
    struct rl_node *n = rl_txn_node(t);
    struct proto_op op;
    struct proto_buf buf;
    uint64_t seq;
    int rc;

    if (!n)
        return proto_errf(e, -EINVAL, "append outside rl_node_write");
    if (!author)
        author = n->name;
    if ((rc = vv_get(t, n->id, &seq, op.prev)))
        return proto_errf(e, rc, "cannot read version vector: %s", proto_strerror(rc));
    n->clock = rl_hlc_tick(n->clock, rl_now_ms());
    n->clock_dirty = 1;
    uint64_t hlc = n->clock > min_hlc ? n->clock : min_hlc;

    proto_buf_init(&buf, PROTO_MAX_OP_BYTES);
    rc = proto_op_pack(&buf, hlc, author, strlen(author), kind, body, body_len);
    if (rc) {
        proto_buf_free(&buf);
        if (rc == -EMSGSIZE)
            return proto_errf(e, rc, "op of kind %u is larger than %u bytes", kind,
                              PROTO_MAX_OP_BYTES);
        return proto_errf(e, rc, "cannot encode op of kind %u (author of %zu bytes)", kind,
                          strlen(author));
    }
    rc = proto_op_parse(buf.data, buf.len, &op, e);
    if (!rc) {
        op.origin = n->id;
        op.seq = seq + 1;
        proto_op_hash(op.origin, op.seq, op.prev, op.payload, op.payload_len, op.hash);
        rc = enter(t, &op, e);
    }
    if (!rc && (rc = vv_put(t, op.origin, op.seq, op.hash)))
        proto_errf(e, rc, "cannot store version vector: %s", proto_strerror(rc));
    if (!rc && out) {
        out->origin = op.origin;
        out->seq = op.seq;
        out->hlc = hlc;
    }
    proto_buf_free(&buf);
    return rc;
}

/* Keep the other chain's op at (origin, seq) as evidence; the origin is frozen from now on. */
static int record_fork(struct rl_txn *t, uint64_t origin, uint64_t seq,
                       const uint8_t hash[PROTO_HASH_BYTES], const uint8_t *payload, size_t len)
{
    uint8_t k[16 + PROTO_HASH_BYTES];
    op_key(k, origin, seq);
    memcpy(k + 16, hash, PROTO_HASH_BYTES);
    return rl_put(t, RL_DB_FORKS, k, sizeof k, payload, len);
}

int rl_oplog_forked(struct rl_txn *t, uint64_t origin, uint64_t *seq)
{
    struct rl_cursor c;
    MDB_val k, v;
    uint8_t key[8];
    int rc;

    proto_put_be64(key, origin);
    if ((rc = rl_cursor_open(t, RL_DB_FORKS, &c)))
        return rc;
    rc = rl_cursor_seek(&c, key, 8, &k, &v);
    int forked = rc == 0 && k.mv_size >= 16 && memcmp(k.mv_data, key, 8) == 0;
    if (forked && seq)
        *seq = proto_get_be64((const uint8_t *)k.mv_data + 8);
    rl_cursor_close(&c);
    if (rc && rc != -ENOENT)
        return rc;
    return forked;
}

static int apply_ops(struct rl_txn *t, const struct proto_batch *b, const struct proto_run *run,
                     uint64_t *have, uint8_t have_hash[PROTO_HASH_BYTES],
                     struct rl_apply_stats *st, struct proto_err *e);

static int apply_run(struct rl_txn *t, const struct proto_batch *b, const struct proto_run *run,
                     struct rl_apply_stats *st, struct proto_err *e)
{
    uint64_t have, before;
    uint8_t have_hash[PROTO_HASH_BYTES];
    int rc = rl_oplog_forked(t, run->origin, NULL);

    if (rc < 0)
        return proto_errf(e, rc, "cannot read forks: %s", proto_strerror(rc));
    if (rc) {
        st->frozen += run->nops;
        return 0;
    }
    if ((rc = vv_get(t, run->origin, &have, have_hash)))
        return proto_errf(e, rc, "cannot read version vector: %s", proto_strerror(rc));
    before = have;
    rc = apply_ops(t, b, run, &have, have_hash, st, e);
    if (!rc && have != before && (rc = vv_put(t, run->origin, have, have_hash)))
        return proto_errf(e, rc, "cannot store version vector: %s", proto_strerror(rc));
    return rc;
}

/* The ops of one run, by the rules of DESIGN.md section 3; *have moves as ops are applied. */
static int apply_ops(struct rl_txn *t, const struct proto_batch *b, const struct proto_run *run,
                     uint64_t *have_p, uint8_t have_hash[PROTO_HASH_BYTES],
                     struct rl_apply_stats *st, struct proto_err *e)
{
    struct rl_node *n = rl_txn_node(t);
    uint64_t have = *have_p;
    int rc;
    uint64_t now = rl_now_ms();
    uint64_t mine_seq = 0; /* the op whose hash mine_hash is, when a duplicate of this run */
    uint8_t mine_hash[PROTO_HASH_BYTES];
    for (uint32_t i = 0; i < run->nops; i++) {
        const struct proto_op *op = &b->ops[run->first_op + i];
        if (op->seq <= have) {
            /* ours at this seq: from the one before when that was a duplicate, else the chain */
            if (mine_seq && mine_seq + 1 == op->seq) {
                uint8_t k[16];
                MDB_val v;
                op_key(k, op->origin, op->seq);
                if ((rc = rl_get(t, RL_DB_OPS, k, 16, &v)))
                    return proto_errf(e, rc, "cannot read op: %s", proto_strerror(rc));
                proto_op_hash(op->origin, op->seq, mine_hash, v.mv_data, v.mv_size, mine_hash);
            } else if ((rc = rl_oplog_hash(t, op->origin, op->seq, mine_hash, e))) {
                return rc;
            }
            mine_seq = op->seq;
            if (memcmp(mine_hash, op->hash, PROTO_HASH_BYTES) == 0) {
                st->duplicate++;
                continue;
            }
            if ((rc = record_fork(t, op->origin, op->seq, op->hash, op->payload, op->payload_len)))
                return proto_errf(e, rc, "cannot record fork: %s", proto_strerror(rc));
            st->fork++;
            st->frozen += run->nops - i - 1;
            return 0;
        }
        if (op->seq > have + 1) {
            st->gap += run->nops - i;
            return 0;
        }
        if (memcmp(op->prev, have_hash, PROTO_HASH_BYTES) != 0) {
            /* the peer's chain differs from ours at seq - 1 */
            if ((rc = record_fork(t, op->origin, op->seq - 1, op->prev, NULL, 0)))
                return proto_errf(e, rc, "cannot record fork: %s", proto_strerror(rc));
            st->fork++;
            st->frozen += run->nops - i;
            return 0;
        }
        if ((rc = enter(t, op, e)))
            return rc;
        have = *have_p = op->seq;
        memcpy(have_hash, op->hash, PROTO_HASH_BYTES);
        if (n) {
            n->clock = rl_hlc_recv(n->clock, op->hlc, now);
            n->clock_dirty = 1;
        }
        st->applied++;
    }
    return 0;
}

int rl_oplog_apply(struct rl_txn *t, const struct proto_batch *b, struct rl_apply_stats *st,
                   struct proto_err *e)
{
    memset(st, 0, sizeof *st);
    for (uint32_t r = 0; r < b->nruns; r++) {
        int rc = apply_run(t, b, &b->runs[r], st, e);
        if (rc)
            return rc;
    }
    return 0;
}

struct apply_arg {
    const struct proto_batch *b;
    struct rl_apply_stats *st;
};

static int apply_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct apply_arg *a = arg;
    return rl_oplog_apply(t, a->b, a->st, e);
}

int rl_oplog_apply_bytes(struct rl_store *s, const uint8_t *p, size_t n, struct rl_apply_stats *st,
                         struct proto_err *e)
{
    struct proto_batch b;
    proto_batch_init(&b);
    int rc = proto_batch_decode(p, n, &b, e);
    if (!rc) {
        struct apply_arg a = {&b, st};
        rc = rl_node_write(s, apply_fn, &a, e);
    }
    proto_batch_free(&b);
    return rc;
}

int rl_vv_load(struct rl_txn *t, struct proto_vv *vv, struct proto_err *e)
{
    struct rl_cursor c;
    MDB_val k, v;
    int rc = rl_cursor_open(t, RL_DB_VV, &c);
    if (rc)
        return proto_errf(e, rc, "cannot read version vector: %s", proto_strerror(rc));
    for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        if (k.mv_size != 8 || v.mv_size != 8 + PROTO_HASH_BYTES) {
            rc = PROTO_ECORRUPT;
            break;
        }
        if ((rc = proto_vv_set(vv, proto_get_be64(k.mv_data), proto_get_be64(v.mv_data),
                               (const uint8_t *)v.mv_data + 8)))
            break;
    }
    rl_cursor_close(&c);
    if (rc == -ENOENT)
        return 0;
    return proto_errf(e, rc, "cannot read version vector: %s", proto_strerror(rc));
}

int rl_oplog_get(struct rl_txn *t, uint64_t origin, uint64_t seq, struct proto_op *op,
                 struct proto_err *e)
{
    uint8_t k[16];
    MDB_val v;
    op_key(k, origin, seq);
    int rc = rl_get(t, RL_DB_OPS, k, 16, &v);
    if (rc == -ENOENT)
        return proto_errf(e, rc, "no op %016llx:%llu", (unsigned long long)origin,
                          (unsigned long long)seq);
    if (rc)
        return proto_errf(e, rc, "cannot read op: %s", proto_strerror(rc));
    if (v.mv_size <= t->op_skip ||
        (rc = proto_op_parse((const uint8_t *)v.mv_data + t->op_skip, v.mv_size - t->op_skip, op,
                             e)))
        return proto_errf(e, PROTO_ECORRUPT, "op %016llx:%llu is damaged",
                          (unsigned long long)origin, (unsigned long long)seq);
    op->origin = origin;
    op->seq = seq;
    memset(op->hash, 0, PROTO_HASH_BYTES);
    return 0;
}

int rl_oplog_hash(struct rl_txn *t, uint64_t origin, uint64_t seq,
                  uint8_t hash[PROTO_HASH_BYTES], struct proto_err *e)
{
    uint64_t head, at = seq - seq % RL_CHAIN_EVERY;
    uint8_t k[16];
    MDB_val kv, v;
    int rc;
    if ((rc = vv_get(t, origin, &head, hash)))
        return proto_errf(e, rc, "cannot read version vector: %s", proto_strerror(rc));
    if (seq == head)
        return 0;
    if (seq > head)
        return proto_errf(e, -ENOENT, "no op %016llx:%llu", (unsigned long long)origin,
                          (unsigned long long)seq);
    memcpy(hash, zero_hash, PROTO_HASH_BYTES);
    if (at) {
        op_key(k, origin, at);
        if ((rc = rl_get(t, RL_DB_CHAIN, k, 16, &v)) || v.mv_size != PROTO_HASH_BYTES)
            return proto_errf(e, rc && rc != -ENOENT ? rc : PROTO_ECORRUPT,
                              "cannot read the chain of %016llx at %llu",
                              (unsigned long long)origin, (unsigned long long)at);
        memcpy(hash, v.mv_data, PROTO_HASH_BYTES);
    }
    if (at == seq)
        return 0;
    struct rl_cursor c;
    if ((rc = rl_cursor_open(t, RL_DB_OPS, &c)))
        return proto_errf(e, rc, "cannot read ops: %s", proto_strerror(rc));
    op_key(k, origin, at + 1);
    uint64_t want = at + 1;
    for (rc = rl_cursor_seek(&c, k, 16, &kv, &v); rc == 0 && want <= seq;
         rc = rl_cursor_next(&c, &kv, &v), want++) {
        const uint8_t *kp = kv.mv_data;
        if (kv.mv_size != 16 || proto_get_be64(kp) != origin || proto_get_be64(kp + 8) != want) {
            rc = PROTO_ECORRUPT;
            break;
        }
        proto_op_hash(origin, want, hash, v.mv_data, v.mv_size, hash);
    }
    rl_cursor_close(&c);
    if (want <= seq)
        return proto_errf(e, rc && rc != -ENOENT ? rc : PROTO_ECORRUPT,
                          "op %016llx:%llu is missing from its chain", (unsigned long long)origin,
                          (unsigned long long)want);
    return 0;
}

int rl_oplog_read_after(struct rl_txn *t, const struct proto_vv *have, uint32_t max_ops,
                        size_t max_bytes, struct proto_buf *out, int *more, uint32_t *nops,
                        struct proto_err *e)
{
    struct proto_vv mine;
    struct proto_batch_enc w;
    struct rl_cursor c = {0};
    int rc;

    *more = 0;
    *nops = 0;
    if (max_ops == 0 || max_ops > PROTO_MAX_BATCH_OPS)
        max_ops = PROTO_MAX_BATCH_OPS;
    if (max_bytes == 0)
        max_bytes = PROTO_MAX_BODY_BYTES;
    if (max_bytes > PROTO_MAX_BODY_BYTES)
        max_bytes = PROTO_MAX_BODY_BYTES;
    proto_vv_init(&mine);
    proto_batch_enc_init(&w);
    if ((rc = rl_vv_load(t, &mine, e)))
        goto out;
    if ((rc = rl_cursor_open(t, RL_DB_OPS, &c))) {
        proto_errf(e, rc, "cannot read ops: %s", proto_strerror(rc));
        goto out;
    }
    for (uint32_t i = 0; i < mine.n && !*more; i++) {
        const struct proto_vv_entry *me = &mine.e[i];
        uint64_t from = proto_vv_seq(have, me->origin) + 1;
        uint8_t prev[PROTO_HASH_BYTES];
        if (from > me->seq)
            continue;
        if (w.nops >= max_ops || w.nruns >= PROTO_MAX_BATCH_RUNS ||
            (w.nops > 0 && proto_batch_enc_size(&w) >= max_bytes)) {
            *more = 1;
            break;
        }
        if ((rc = rl_oplog_hash(t, me->origin, from - 1, prev, e)))
            goto out;
        proto_batch_enc_run(&w, me->origin, from, prev);
        uint32_t run_first = w.nops; /* the run's ops follow one another from seq from */
        uint8_t key[16];
        MDB_val k, v;
        op_key(key, me->origin, from);
        for (rc = rl_cursor_seek(&c, key, 16, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
            const uint8_t *kp = k.mv_data;
            if (k.mv_size != 16 || proto_get_be64(kp) != me->origin)
                break;
            uint64_t seq = proto_get_be64(kp + 8);
            if (seq > me->seq)
                break;
            if (w.nops >= max_ops ||
                (w.nops > 0 && proto_batch_enc_size(&w) + v.mv_size > max_bytes)) {
                *more = 1;
                break;
            }
            if (seq != from + (w.nops - run_first) || v.mv_size == 0 ||
                v.mv_size > PROTO_MAX_OP_BYTES) {
                rc = proto_errf(e, PROTO_ECORRUPT, "op %016llx:%llu is damaged",
                                (unsigned long long)me->origin, (unsigned long long)seq);
                goto out;
            }
            /* the chain, op after op: prev becomes this op's hash */
            proto_op_hash(me->origin, seq, prev, v.mv_data, v.mv_size, prev);
            if ((rc = proto_batch_enc_op(&w, v.mv_data, (uint32_t)v.mv_size, prev))) {
                proto_errf(e, rc, "cannot encode batch: %s", proto_strerror(rc));
                goto out;
            }
        }
        if (rc && rc != -ENOENT) {
            proto_errf(e, rc, "cannot read ops: %s", proto_strerror(rc));
            goto out;
        }
    }
    *nops = w.nops;
    if ((rc = proto_batch_enc_finish(&w, out)))
        proto_errf(e, rc, "cannot encode batch: %s", proto_strerror(rc));
out:
    rl_cursor_close(&c);
    proto_batch_enc_free(&w);
    proto_vv_free(&mine);
    return rc;
}
