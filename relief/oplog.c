/*
 * The op log (see oplog.h).
 */
#include "oplog.h"

#include "hlc.h"
#include "node.h"
#include "views.h"

#include <errno.h>
#include <stdlib.h>
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

/* --- blocks --- */

static size_t varint_put(uint8_t *p, size_t n)
{
    size_t i = 0;
    for (; n >= 0x80; n >>= 7)
        p[i++] = (uint8_t)(n | 0x80);
    p[i++] = (uint8_t)n;
    return i;
}

/* An op's length at p[*off], end: 0 and *off past it, or PROTO_ECORRUPT. */
static int varint_get(const uint8_t *p, size_t end, size_t *off, size_t *n)
{
    size_t v = 0;
    for (unsigned shift = 0; *off < end && shift < 35; shift += 7) {
        uint8_t b = p[(*off)++];
        v |= (size_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *n = v;
            return 0;
        }
    }
    return PROTO_ECORRUPT;
}

int rl_opiter_open(struct rl_txn *t, struct rl_opiter *it)
{
    memset(it, 0, sizeof *it);
    it->t = t;
    int rc = rl_cursor_open(t, RL_DB_OPS, &it->c);
    it->open = rc == 0;
    return rc;
}

void rl_opiter_close(struct rl_opiter *it)
{
    if (it->open)
        rl_cursor_close(&it->c);
    it->open = 0;
}

/* Start reading the entry the cursor is on. */
static int entry(struct rl_opiter *it, const MDB_val *k, const MDB_val *v)
{
    if (k->mv_size != 16)
        return PROTO_ECORRUPT;
    it->origin = proto_get_be64(k->mv_data);
    it->first = it->next = proto_get_be64((const uint8_t *)k->mv_data + 8);
    it->v = *v;
    if (it->t->op_skip) { /* formats 1-2: one op behind its hash */
        it->off = 0;
        return v->mv_size > it->t->op_skip ? 0 : PROTO_ECORRUPT;
    }
    it->off = 1;
    /* flags: 0 is the only layout so far (a later one may compress) */
    return v->mv_size > 1 && ((const uint8_t *)v->mv_data)[0] == 0 ? 0 : PROTO_ECORRUPT;
}

/* The entry's next op, or -ENOENT when it has no more. */
static int entry_op(struct rl_opiter *it, struct rl_opval *op)
{
    const uint8_t *p = it->v.mv_data;
    size_t end = it->v.mv_size, n;
    if (it->off >= end)
        return -ENOENT;
    if (it->t->op_skip) {
        n = end - it->t->op_skip;
        it->off = it->t->op_skip;
    } else if (varint_get(p, end, &it->off, &n) || n == 0 || n > PROTO_MAX_OP_BYTES ||
               n > end - it->off) {
        return PROTO_ECORRUPT;
    }
    op->origin = it->origin;
    op->seq = it->next++;
    op->p = p + it->off;
    op->n = n;
    it->off += n;
    return 0;
}

int rl_opiter_next(struct rl_opiter *it, struct rl_opval *op)
{
    MDB_val k, v;
    int rc = entry_op(it, op);
    while (rc == -ENOENT) {
        if ((rc = rl_cursor_next(&it->c, &k, &v)) || (rc = entry(it, &k, &v)))
            return rc;
        rc = entry_op(it, op);
    }
    return rc;
}

int rl_opiter_first(struct rl_opiter *it, struct rl_opval *op)
{
    MDB_val k, v;
    int rc = rl_cursor_first(&it->c, &k, &v);
    if (rc || (rc = entry(it, &k, &v)))
        return rc;
    return rl_opiter_next(it, op);
}

int rl_opiter_seek(struct rl_opiter *it, uint64_t origin, uint64_t seq, struct rl_opval *op)
{
    uint8_t key[16];
    MDB_val k, v;
    op_key(key, origin, seq);
    /* the last entry at or before the op (its block may hold it), else the first one */
    int rc = rl_cursor_seek(&it->c, key, 16, &k, &v);
    if (rc == 0 && (k.mv_size != 16 || memcmp(k.mv_data, key, 16) != 0)) {
        rc = rl_cursor_prev(&it->c, &k, &v);
        if (rc == -ENOENT)
            rc = rl_cursor_first(&it->c, &k, &v);
    } else if (rc == -ENOENT) {
        rc = rl_cursor_last(&it->c, &k, &v);
    }
    if (rc || (rc = entry(it, &k, &v)))
        return rc;
    while ((rc = rl_opiter_next(it, op)) == 0 &&
           (op->origin < origin || (op->origin == origin && op->seq < seq)))
        ;
    return rc;
}

int rl_oplog_payload(struct rl_txn *t, uint64_t origin, uint64_t seq, const uint8_t **p, size_t *n)
{
    struct rl_opiter it;
    struct rl_opval op;
    int rc = rl_opiter_open(t, &it);
    if (!rc)
        rc = rl_opiter_seek(&it, origin, seq, &op);
    rl_opiter_close(&it);
    if (rc)
        return rc;
    if (op.origin != origin || op.seq != seq)
        return -ENOENT;
    *p = op.p;
    *n = op.n;
    return 0;
}

/* Whether a block of ops ops and len bytes takes one more op of add bytes (length included). */
static int block_takes(uint64_t ops, size_t len, size_t add)
{
    return ops < RL_BLOCK_OPS && len + add <= RL_BLOCK_BYTES;
}

/*
 * The block the last op went to, in this thread's last write transaction: the next op of its
 * origin goes on from it without a search. Good while the transaction (uid) is the same and no
 * nested transaction was undone since (changes).
 */
static _Thread_local struct {
    uint64_t uid;
    uint32_t changes;
    uint64_t origin, first, next; /* the block's key, and the seq it takes next */
    uint32_t ops;
    size_t len; /* its bytes: data holds them when they fit */
    uint8_t data[RL_BLOCK_BYTES];
} last_block;

/*
 * Put op (origin, seq) in the log: at the end of the block that holds seq - 1 while it has room,
 * else in a block of its own.
 */
static int put_op(struct rl_txn *t, uint64_t origin, uint64_t seq, const uint8_t *p, size_t n)
{
    uint8_t key[16], head[8], *out;
    size_t hn = varint_put(head, n), had = 0;
    uint64_t first = seq;
    uint32_t ops = 0;
    int rc;
    int known = last_block.uid == t->uid && last_block.changes == t->changes &&
                last_block.origin == origin && last_block.next == seq;
    if (known) {
        if (block_takes(last_block.ops, last_block.len, hn + n)) {
            first = last_block.first;
            had = last_block.len;
            ops = last_block.ops;
        }
    } else if (seq > 1 && block_takes(0, 1, hn + n)) {
        struct rl_opiter it;
        struct rl_opval last;
        if (!(rc = rl_opiter_open(t, &it)))
            rc = rl_opiter_seek(&it, origin, seq - 1, &last);
        if (!rc && (last.origin != origin || last.seq != seq - 1 || it.off != it.v.mv_size))
            rc = PROTO_ECORRUPT; /* seq - 1, the last op held, ends its block */
        if (!rc && block_takes(it.next - it.first, it.v.mv_size, hn + n)) {
            first = it.first;
            had = it.v.mv_size;
            ops = (uint32_t)(it.next - it.first);
            /* a copy: the value may sit in the page the put rewrites */
            memcpy(last_block.data, it.v.mv_data, had);
        }
        rl_opiter_close(&it);
        if (rc)
            return rc == -ENOENT ? PROTO_ECORRUPT : rc;
    }
    if (!had)
        last_block.data[had++] = 0; /* a new block: its flags */
    last_block.uid = 0;             /* until the put is done */
    op_key(key, origin, first);
    if ((rc = rl_put_reserve(t, RL_DB_OPS, key, 16, had + hn + n, (void **)&out)))
        return rc;
    memcpy(out, last_block.data, had);
    memcpy(out + had, head, hn);
    memcpy(out + had + hn, p, n);
    if (had + hn + n <= RL_BLOCK_BYTES) {
        memcpy(last_block.data + had, head, hn);
        memcpy(last_block.data + had + hn, p, n);
    }
    last_block.uid = t->uid;
    last_block.changes = t->changes;
    last_block.origin = origin;
    last_block.first = first;
    last_block.next = seq + 1;
    last_block.ops = ops + 1;
    last_block.len = had + hn + n;
    return 0;
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
    int rc = put_op(t, op->origin, op->seq, op->payload, op->payload_len);
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
                const uint8_t *p;
                size_t pn;
                if ((rc = rl_oplog_payload(t, op->origin, op->seq, &p, &pn)))
                    return proto_errf(e, rc == -ENOENT ? PROTO_ECORRUPT : rc, "cannot read op: %s",
                                      proto_strerror(rc));
                proto_op_hash(op->origin, op->seq, mine_hash, p, pn, mine_hash);
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
    const uint8_t *p;
    size_t n;
    int rc = rl_oplog_payload(t, origin, seq, &p, &n);
    if (rc == -ENOENT)
        return proto_errf(e, rc, "no op %016llx:%llu", (unsigned long long)origin,
                          (unsigned long long)seq);
    if (rc && rc != PROTO_ECORRUPT)
        return proto_errf(e, rc, "cannot read op: %s", proto_strerror(rc));
    if (rc || proto_op_parse(p, n, op, e))
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
    MDB_val v;
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
    struct rl_opiter it;
    struct rl_opval op;
    if ((rc = rl_opiter_open(t, &it)))
        return proto_errf(e, rc, "cannot read ops: %s", proto_strerror(rc));
    uint64_t want = at + 1;
    for (rc = rl_opiter_seek(&it, origin, want, &op); rc == 0 && want <= seq;
         rc = rl_opiter_next(&it, &op), want++) {
        if (op.origin != origin || op.seq != want) {
            rc = PROTO_ECORRUPT;
            break;
        }
        proto_op_hash(origin, want, hash, op.p, op.n, hash);
    }
    rl_opiter_close(&it);
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
    struct rl_opiter it = {0};
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
    if ((rc = rl_opiter_open(t, &it))) {
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
        struct rl_opval op;
        for (rc = rl_opiter_seek(&it, me->origin, from, &op); rc == 0;
             rc = rl_opiter_next(&it, &op)) {
            uint64_t seq = op.seq;
            if (op.origin != me->origin || seq > me->seq)
                break;
            if (w.nops >= max_ops || (w.nops > 0 && proto_batch_enc_size(&w) + op.n > max_bytes)) {
                *more = 1;
                break;
            }
            if (seq != from + (w.nops - run_first)) {
                rc = proto_errf(e, PROTO_ECORRUPT, "op %016llx:%llu is damaged",
                                (unsigned long long)me->origin, (unsigned long long)seq);
                goto out;
            }
            /* the chain, op after op: prev becomes this op's hash */
            proto_op_hash(me->origin, seq, prev, op.p, op.n, prev);
            if ((rc = proto_batch_enc_op(&w, op.p, (uint32_t)op.n, prev))) {
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
    rl_opiter_close(&it);
    proto_batch_enc_free(&w);
    proto_vv_free(&mine);
    return rc;
}

int rl_oplog_count(struct rl_txn *t, uint64_t *n)
{
    struct rl_cursor c;
    MDB_val k, v;
    int rc = rl_cursor_open(t, RL_DB_VV, &c);
    *n = 0;
    if (rc)
        return rc;
    for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        if (v.mv_size != 8 + PROTO_HASH_BYTES) {
            rc = PROTO_ECORRUPT;
            break;
        }
        *n += proto_get_be64(v.mv_data);
    }
    rl_cursor_close(&c);
    return rc == -ENOENT ? 0 : rc;
}

/* --- the upgrade to blocks --- */

struct pack {
    struct rl_txn *t;
    uint32_t skip;
    uint64_t nops;
    int have;              /* a block is being filled: buf[cur] */
    uint64_t origin, next; /* its origin, the seq it takes next */
    uint32_t in;           /* ops in it */
    uint8_t key[2][16];
    uint8_t *buf[2];
    size_t len[2], cap[2];
    int cur;
};

/* Room for need bytes in the block being filled. */
static int pack_room(struct pack *pk, size_t need)
{
    if (need <= pk->cap[pk->cur])
        return 0;
    size_t cap = need < RL_BLOCK_BYTES ? RL_BLOCK_BYTES : need;
    uint8_t *nb = realloc(pk->buf[pk->cur], cap);
    if (!nb)
        return -ENOMEM;
    pk->buf[pk->cur] = nb;
    pk->cap[pk->cur] = cap;
    return 0;
}

/* The block being filled as the entry to write. */
static void pack_emit(struct pack *pk, MDB_val *ok, MDB_val *ov)
{
    ok->mv_size = 16;
    ok->mv_data = pk->key[pk->cur];
    ov->mv_size = pk->len[pk->cur];
    ov->mv_data = pk->buf[pk->cur];
    pk->have = 0;
    pk->cur ^= 1;
}

static int pack_one(void *arg, const MDB_val *k, const MDB_val *v, MDB_val *ok, MDB_val *ov)
{
    struct pack *pk = arg;
    int rc;
    if (!k) {
        if (pk->have)
            pack_emit(pk, ok, ov);
        return 0;
    }
    if (k->mv_size != 16 || v->mv_size <= pk->skip || v->mv_size - pk->skip > PROTO_MAX_OP_BYTES)
        return PROTO_ECORRUPT;
    uint64_t origin = proto_get_be64(k->mv_data), seq = proto_get_be64((uint8_t *)k->mv_data + 8);
    const uint8_t *p = (const uint8_t *)v->mv_data + pk->skip;
    uint8_t head[8];
    size_t n = v->mv_size - pk->skip, hn = varint_put(head, n);
    if (pk->have && origin == pk->origin && seq != pk->next)
        return PROTO_ECORRUPT; /* a gap in a chain */
    /* formats 1-2 kept every op's hash: the chain table takes every RL_CHAIN_EVERY-th */
    if (pk->skip && seq % RL_CHAIN_EVERY == 0 &&
        (rc = rl_put(pk->t, RL_DB_CHAIN, k->mv_data, 16, v->mv_data, PROTO_HASH_BYTES)))
        return rc;
    if (!pk->have || origin != pk->origin || !block_takes(pk->in, pk->len[pk->cur], hn + n)) {
        if (pk->have)
            pack_emit(pk, ok, ov);
        if ((rc = pack_room(pk, 1)))
            return rc;
        memcpy(pk->key[pk->cur], k->mv_data, 16);
        pk->buf[pk->cur][0] = 0; /* flags */
        pk->len[pk->cur] = 1;
        pk->in = 0;
        pk->have = 1;
        pk->origin = origin;
    }
    size_t at = pk->len[pk->cur];
    if ((rc = pack_room(pk, at + hn + n)))
        return rc;
    memcpy(pk->buf[pk->cur] + at, head, hn);
    memcpy(pk->buf[pk->cur] + at + hn, p, n);
    pk->len[pk->cur] = at + hn + n;
    pk->in++;
    pk->next = seq + 1;
    pk->nops++;
    return 0;
}

int rl_oplog_pack(struct rl_txn *t, uint32_t skip, uint64_t *nops, struct proto_err *e)
{
    struct pack pk = {.t = t, .skip = skip};
    int rc = rl_rewrite(t, RL_DB_OPS, pack_one, &pk);
    free(pk.buf[0]);
    free(pk.buf[1]);
    if (rc)
        return proto_errf(e, rc, "cannot rewrite the op log: %s", proto_strerror(rc));
    *nops = pk.nops;
    return 0;
}
