/*
 * The op log (see oplog.h).
 */
#include "oplog.h"

#include "hlc.h"
#include "node.h"
#include "views.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t zero_hash[PROTO_HASH_BYTES];

static void op_key(uint8_t k[16], uint64_t origin, uint64_t seq)
{
    proto_put_be64(k, origin);
    proto_put_be64(k + 8, seq);
}

/* The VV entry of an origin: seq 0 and the zero hash when absent; the one the transaction
 * holds (store.h) when it is that origin's. */
static int vv_get(struct rl_txn *t, uint64_t origin, uint64_t *seq, uint8_t hash[PROTO_HASH_BYTES])
{
    uint8_t k[8];
    MDB_val v;
    if (t->vv.held && t->vv.origin == origin) {
        *seq = t->vv.seq;
        memcpy(hash, t->vv.hash, PROTO_HASH_BYTES);
        return 0;
    }
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
    if (t->vv.held && t->vv.origin == origin) {
        t->vv.seq = seq;
        memcpy(t->vv.hash, hash, PROTO_HASH_BYTES);
        t->vv.dirty = 1;
        return 0;
    }
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

/*
 * An op after the first of a block (flags 1) may be stored as a delta from the op before it:
 * a mask of (n + 7) / 8 bytes, bit i (byte i / 8, least significant bit first) set when byte i
 * of the op is byte i of the op before, then the bytes whose bit is clear, in order. Ops of a
 * kind written one after another share most bytes at the same places (array and map headers,
 * the clock's high bytes, the author, field keys, item codes' prefixes).
 */

/* Bytes of op p (n) as a delta from prev (pn), or 0 when that is not smaller than n. */
static size_t delta_size(const uint8_t *prev, size_t pn, const uint8_t *p, size_t n)
{
    size_t same = 0, m = n < pn ? n : pn;
    for (size_t i = 0; i < m; i++)
        same += p[i] == prev[i];
    size_t d = (n + 7) / 8 + n - same;
    return d < n ? d : 0;
}

static void delta_put(uint8_t *out, const uint8_t *prev, size_t pn, const uint8_t *p, size_t n)
{
    size_t mn = (n + 7) / 8;
    uint8_t *lit = out + mn;
    memset(out, 0, mn);
    for (size_t i = 0; i < n; i++) {
        if (i < pn && p[i] == prev[i])
            out[i >> 3] |= (uint8_t)(1u << (i & 7));
        else
            *lit++ = p[i];
    }
}

/* The op of n bytes from its delta at d (up to end): 0 and *used, or PROTO_ECORRUPT. */
static int delta_get(const uint8_t *d, size_t dn, const uint8_t *prev, size_t pn, uint8_t *out,
                     size_t n, size_t *used)
{
    size_t mn = (n + 7) / 8, lit = mn;
    if (dn < mn || (n % 8 && d[mn - 1] >> (n % 8)))
        return PROTO_ECORRUPT; /* short, or bits past the op */
    for (size_t i = 0; i < n; i++) {
        if (d[i >> 3] >> (i & 7) & 1) {
            if (i >= pn)
                return PROTO_ECORRUPT;
            out[i] = prev[i];
        } else {
            if (lit >= dn)
                return PROTO_ECORRUPT;
            out[i] = d[lit++];
        }
    }
    *used = lit;
    return 0;
}

/*
 * Write op p (n bytes) at out as a block of flags 1 holds it: its length and how it is stored,
 * LEB128(n << 1 | delta), then the op or its delta from prev (pn bytes; NULL for a block's
 * first op). Returns the bytes written; with out NULL, only counts them.
 */
static size_t block_put(uint8_t *out, const uint8_t *prev, size_t pn, const uint8_t *p, size_t n)
{
    size_t dn = prev ? delta_size(prev, pn, p, n) : 0;
    uint8_t head[10];
    size_t hn = varint_put(head, n << 1 | (dn != 0));
    if (out) {
        memcpy(out, head, hn);
        if (dn)
            delta_put(out + hn, prev, pn, p, n);
        else
            memcpy(out + hn, p, n);
    }
    return hn + (dn ? dn : n);
}

int rl_opiter_open(struct rl_txn *t, struct rl_opiter *it)
{
    memset(it, 0, offsetof(struct rl_opiter, blk)); /* blk is written before it is read */
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
    while (it->chunks) {
        struct rl_opchunk *c = it->chunks;
        it->chunks = c->next;
        free(c);
    }
}

/* Start reading the entry the cursor is on. */
static int entry(struct rl_opiter *it, const MDB_val *k, const MDB_val *v)
{
    if (k->mv_size != 16)
        return PROTO_ECORRUPT;
    it->origin = proto_get_be64(k->mv_data);
    it->first = it->next = proto_get_be64((const uint8_t *)k->mv_data + 8);
    it->v = *v;
    it->prev = NULL;
    it->prev_n = 0;
    it->used = 0;
    if (it->t->op_skip) { /* formats 1-2: one op behind its hash */
        it->off = 0;
        return v->mv_size > it->t->op_skip ? 0 : PROTO_ECORRUPT;
    }
    it->off = 1;
    /* flags: 0, each op as it is (formats 4-7); 1, each after the first may be a delta */
    it->flags = v->mv_size > 1 ? ((const uint8_t *)v->mv_data)[0] : 0xff;
    return it->flags <= 1 ? 0 : PROTO_ECORRUPT;
}

/* Room for an op of n bytes decoded from a delta: in the block's buffer, or, for an iterator
 * that keeps every payload it gave, in its chunks. */
static uint8_t *decoded_room(struct rl_opiter *it, size_t n)
{
    if (!it->keep)
        return n <= sizeof it->blk - it->used ? it->blk + it->used : NULL;
    struct rl_opchunk *c = it->chunks;
    if (!c || n > c->cap - c->used) {
        size_t cap = n > 65536 ? n : 65536;
        if (!(c = malloc(sizeof *c + cap)))
            return NULL;
        c->cap = cap;
        c->used = 0;
        c->next = it->chunks;
        it->chunks = c;
    }
    uint8_t *p = c->b + c->used;
    c->used += n;
    return p;
}

/* The entry's next op, or -ENOENT when it has no more. */
static int entry_op(struct rl_opiter *it, struct rl_opval *op)
{
    const uint8_t *p = it->v.mv_data;
    size_t end = it->v.mv_size, n, used;
    int delta = 0;
    if (it->off >= end)
        return -ENOENT;
    if (it->t->op_skip) {
        n = end - it->t->op_skip;
        it->off = it->t->op_skip;
    } else if (varint_get(p, end, &it->off, &n)) {
        return PROTO_ECORRUPT;
    } else if (it->flags == 1) {
        delta = n & 1;
        n >>= 1;
    }
    if (n == 0 || n > PROTO_MAX_OP_BYTES || (!delta && n > end - it->off))
        return PROTO_ECORRUPT;
    op->origin = it->origin;
    op->seq = it->next++;
    op->n = n;
    if (delta) {
        uint8_t *out = decoded_room(it, n);
        if (!out)
            return it->keep ? -ENOMEM : PROTO_ECORRUPT;
        if (!it->prev || delta_get(p + it->off, end - it->off, it->prev, it->prev_n, out, n, &used))
            return PROTO_ECORRUPT;
        if (!it->keep)
            it->used += n;
        op->p = out;
        it->off += used;
    } else {
        op->p = p + it->off;
        it->off += n;
    }
    it->prev = op->p;
    it->prev_n = n;
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
    /* decoded in the iterator, which is gone: a copy, good until the next call */
    static _Thread_local uint8_t copy[sizeof it.blk];
    if (op.p >= it.blk && op.p < it.blk + sizeof it.blk) {
        memcpy(copy, op.p, op.n);
        op.p = copy;
    }
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
    size_t last_n; /* its last op, when it fits (a delta is made from it) */
    uint8_t last[RL_BLOCK_DECODED];
} last_block;

/*
 * Put op (origin, seq) in the log: at the end of the block that holds seq - 1 while it has room,
 * else in a block of its own.
 */
static int put_op(struct rl_txn *t, uint64_t origin, uint64_t seq, const uint8_t *p, size_t n)
{
    uint8_t key[16], *out;
    size_t had = 0;
    uint64_t first = seq;
    uint32_t ops = 0;
    int rc;
    int known = last_block.uid == t->uid && last_block.changes == t->changes &&
                last_block.origin == origin && last_block.next == seq;
    if (known) {
        if (last_block.len <= RL_BLOCK_BYTES && last_block.last_n) {
            first = last_block.first;
            had = last_block.len;
            ops = last_block.ops;
        }
    } else if (seq > 1 && block_takes(0, 1, 1 + n / 8)) {
        struct rl_opiter it;
        struct rl_opval last;
        if (!(rc = rl_opiter_open(t, &it)))
            rc = rl_opiter_seek(&it, origin, seq - 1, &last);
        if (!rc && (last.origin != origin || last.seq != seq - 1 || it.off != it.v.mv_size))
            rc = PROTO_ECORRUPT; /* seq - 1, the last op held, ends its block */
        /* a block of flags 1 with room; copies: the value may sit in the page the put
         * rewrites */
        if (!rc && it.flags == 1 && it.v.mv_size <= RL_BLOCK_BYTES &&
            last.n <= sizeof last_block.last) {
            first = it.first;
            had = it.v.mv_size;
            ops = (uint32_t)(it.next - it.first);
            memcpy(last_block.data, it.v.mv_data, had);
            memcpy(last_block.last, last.p, last.n);
            last_block.last_n = last.n;
        }
        rl_opiter_close(&it);
        if (rc)
            return rc == -ENOENT ? PROTO_ECORRUPT : rc;
    }
    size_t add = had ? block_put(NULL, last_block.last, last_block.last_n, p, n) : 0;
    if (had && !block_takes(ops, had, add)) {
        had = 0;
        ops = 0;
        first = seq;
    }
    if (!had) {
        last_block.data[had++] = 1; /* a new block: its flags */
        add = block_put(NULL, NULL, 0, p, n);
    }
    last_block.uid = 0; /* until the put is done */
    op_key(key, origin, first);
    if ((rc = rl_put_reserve(t, RL_DB_OPS, key, 16, had + add, (void **)&out)))
        return rc;
    memcpy(out, last_block.data, had);
    block_put(out + had, had > 1 ? last_block.last : NULL, last_block.last_n, p, n);
    if (had + add <= RL_BLOCK_BYTES)
        memcpy(last_block.data + had, out + had, add);
    last_block.last_n = n <= sizeof last_block.last ? n : 0;
    if (last_block.last_n)
        memcpy(last_block.last, p, n);
    last_block.uid = t->uid;
    last_block.changes = t->changes;
    last_block.origin = origin;
    last_block.first = first;
    last_block.next = seq + 1;
    last_block.ops = ops + 1;
    last_block.len = had + add;
    return 0;
}

/*
 * Store an op whose origin, seq, hash and payload are set, and apply it to the views. The
 * caller moves the version vector (once per run of a batch, not once per op).
 */
/* Keep an op and apply it (body: its body parsed, or NULL). */
static int enter(struct rl_txn *t, const struct proto_op *op, const struct proto_body *body,
                 struct proto_err *e)
{
    uint8_t k[16];
    op_key(k, op->origin, op->seq);
    /* the payload only: the hash follows from the chain, kept every RL_CHAIN_EVERY ops */
    int rc = put_op(t, op->origin, op->seq, op->payload, op->payload_len);
    if (!rc && op->seq % RL_CHAIN_EVERY == 0)
        rc = rl_put(t, RL_DB_CHAIN, k, 16, op->hash, PROTO_HASH_BYTES);
    if (rc)
        return proto_errf(e, rc, "cannot store op: %s", proto_strerror(rc));
    return rl_views_apply(t, op, body, e);
}

int rl_oplog_append(struct rl_txn *t, uint32_t kind, const uint8_t *body, size_t body_len,
                    uint64_t min_hlc, const char *author, struct rl_op_ref *out,
                    struct proto_err *e)
{
    static _Thread_local struct proto_body parsed; /* large: kept off the stack */
    struct rl_node *n = rl_txn_node(t);
    struct proto_op op;
    struct proto_buf buf;
    struct proto_err pe;
    uint64_t seq;
    int rc;

    if (!n)
        return proto_errf(e, -EINVAL, "append outside rl_node_write");
    if (!author)
        author = n->name;
    /* what every node will check the body against: its kind's schema (a kind this version
     * does not know is kept as it is, as one from a peer would be) */
    proto_err_clear(&pe);
    int known = proto_kind_def(kind) != NULL;
    if (known && (rc = proto_body_parse(kind, body, body_len, n->id, &parsed, &pe)))
        return proto_errf(e, -EINVAL, "%s", pe.msg);
    if ((rc = vv_get(t, n->id, &seq, op.prev)))
        return proto_errf(e, rc, "cannot read version vector: %s", proto_strerror(rc));
    if (!t->vv.held || t->vv.origin != n->id) {
        /* this node's entry is held from its first op on, written once at the end (store.c) */
        if ((rc = rl_vv_write_held(t)))
            return proto_errf(e, rc, "cannot store version vector: %s", proto_strerror(rc));
        t->vv = (struct rl_vv_held){1, 0, n->id, seq, {0}};
        memcpy(t->vv.hash, op.prev, PROTO_HASH_BYTES);
    }
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
        rc = enter(t, &op, known ? &parsed : NULL, e);
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

int rl_oplog_frozen(struct rl_txn *t, struct proto_origins *out)
{
    struct rl_cursor c;
    MDB_val k, v;
    uint8_t key[8];
    uint64_t next = 0;
    int rc;

    out->n = 0;
    if ((rc = rl_cursor_open(t, RL_DB_FORKS, &c)))
        return rc;
    while (out->n < PROTO_MAX_FROZEN) {
        proto_put_be64(key, next);
        if ((rc = rl_cursor_seek(&c, key, 8, &k, &v)))
            break;
        if (k.mv_size < 8) {
            rc = PROTO_ECORRUPT;
            break;
        }
        uint64_t origin = proto_get_be64(k.mv_data);
        out->o[out->n++] = origin;
        if (origin == UINT64_MAX)
            break;
        next = origin + 1;
    }
    rl_cursor_close(&c);
    return rc == -ENOENT ? 0 : rc;
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
        if ((rc = enter(t, op, NULL, e)))
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

void rl_apply_stats_add(struct rl_apply_stats *dst, const struct rl_apply_stats *src)
{
    dst->applied += src->applied;
    dst->duplicate += src->duplicate;
    dst->gap += src->gap;
    dst->fork += src->fork;
    dst->frozen += src->frozen;
}

struct apply_arg {
    const struct proto_batch *b;
    size_t n;
    struct rl_apply_stats *st;
};

static int apply_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct apply_arg *a = arg;
    memset(a->st, 0, sizeof *a->st); /* (run again after the map grew) */
    for (size_t i = 0; i < a->n; i++) {
        struct rl_apply_stats one;
        int rc = rl_oplog_apply(t, &a->b[i], &one, e);
        if (rc)
            return rc;
        rl_apply_stats_add(a->st, &one);
    }
    return 0;
}

int rl_oplog_apply_group(struct rl_store *s, const struct rl_bytes *batches, size_t n,
                         struct rl_apply_stats *st, struct proto_err *e)
{
    struct proto_batch *b = calloc(n ? n : 1, sizeof *b);
    size_t decoded = 0;
    int rc = 0;
    memset(st, 0, sizeof *st);
    if (!b)
        return proto_errf(e, -ENOMEM, "out of memory");
    for (; decoded < n && !rc; decoded++) {
        proto_batch_init(&b[decoded]);
        rc = proto_batch_decode(batches[decoded].p, batches[decoded].n, &b[decoded], e);
    }
    if (!rc) {
        struct apply_arg a = {b, n, st};
        rc = rl_node_write(s, apply_fn, &a, e);
    }
    for (size_t i = 0; i < decoded; i++)
        proto_batch_free(&b[i]);
    free(b);
    return rc;
}

int rl_oplog_apply_bytes(struct rl_store *s, const uint8_t *p, size_t n, struct rl_apply_stats *st,
                         struct proto_err *e)
{
    struct rl_bytes one = {p, n};
    return rl_oplog_apply_group(s, &one, 1, st, e);
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
    it.keep = 1; /* the batch points at the payloads until it is finished */
    for (uint32_t i = 0; i < mine.n && !*more; i++) {
        const struct proto_vv_entry *me = &mine.e[i];
        uint64_t held = proto_vv_seq(have, me->origin); /* PROTO_SEQ_FROZEN: takes none */
        uint8_t prev[PROTO_HASH_BYTES];
        if (held >= me->seq)
            continue;
        uint64_t from = held + 1;
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
    const uint8_t *last;   /* its last op (in the table read, which stays as it is) */
    size_t last_n;
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
    size_t n = v->mv_size - pk->skip;
    if (pk->have && origin == pk->origin && seq != pk->next)
        return PROTO_ECORRUPT; /* a gap in a chain */
    /* formats 1-2 kept every op's hash: the chain table takes every RL_CHAIN_EVERY-th */
    if (pk->skip && seq % RL_CHAIN_EVERY == 0 &&
        (rc = rl_put(pk->t, RL_DB_CHAIN, k->mv_data, 16, v->mv_data, PROTO_HASH_BYTES)))
        return rc;
    size_t add = pk->have ? block_put(NULL, pk->last, pk->last_n, p, n) : 0;
    if (!pk->have || origin != pk->origin || !block_takes(pk->in, pk->len[pk->cur], add)) {
        if (pk->have)
            pack_emit(pk, ok, ov);
        if ((rc = pack_room(pk, 1)))
            return rc;
        memcpy(pk->key[pk->cur], k->mv_data, 16);
        pk->buf[pk->cur][0] = 1; /* flags */
        pk->len[pk->cur] = 1;
        pk->in = 0;
        pk->have = 1;
        pk->origin = origin;
        pk->last = NULL;
        add = block_put(NULL, NULL, 0, p, n);
    }
    size_t at = pk->len[pk->cur];
    if ((rc = pack_room(pk, at + add)))
        return rc;
    block_put(pk->buf[pk->cur] + at, pk->last, pk->last_n, p, n);
    pk->len[pk->cur] = at + add;
    pk->in++;
    pk->next = seq + 1;
    pk->last = p;
    pk->last_n = n;
    pk->nops++;
    return 0;
}

/* Formats 4-7: a block of flags 0 (each op as it is) written again with flags 1, the same ops. */
static int reencode_one(void *arg, const MDB_val *k, const MDB_val *v, MDB_val *ok, MDB_val *ov)
{
    struct pack *pk = arg;
    const uint8_t *p = v ? v->mv_data : NULL, *prev = NULL;
    size_t off = 1, n, prev_n = 0, len = 1;
    int rc;
    if (!k)
        return 0;
    if (k->mv_size != 16 || v->mv_size < 2 || p[0] > 1)
        return PROTO_ECORRUPT;
    *ok = *k;
    *ov = *v;
    if (p[0] == 1)
        return 0;                             /* already */
    if ((rc = pack_room(pk, 2 * v->mv_size))) /* a length may take a byte more */
        return rc;
    uint8_t *out = pk->buf[pk->cur];
    out[0] = 1;
    while (off < v->mv_size) {
        if (varint_get(p, v->mv_size, &off, &n) || n == 0 || n > v->mv_size - off)
            return PROTO_ECORRUPT;
        len += block_put(out + len, prev, prev_n, p + off, n);
        prev = p + off;
        prev_n = n;
        off += n;
        pk->nops++;
    }
    ov->mv_data = out;
    ov->mv_size = len;
    return 0;
}

int rl_oplog_reencode(struct rl_txn *t, uint64_t *nops, struct proto_err *e)
{
    struct pack pk = {.t = t};
    int rc = rl_rewrite(t, RL_DB_OPS, reencode_one, &pk);
    free(pk.buf[0]);
    free(pk.buf[1]);
    if (rc)
        return proto_errf(e, rc, "cannot rewrite the op log: %s", proto_strerror(rc));
    *nops = pk.nops;
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
