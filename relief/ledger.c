/*
 * The stock ledger (see ledger.h).
 */
#include "ledger.h"

#include "key.h"
#include "oplog.h"
#include "proto/buf.h"
#include "proto/kinds.h"
#include "proto/mp.h"
#include "proto/op.h"
#include "proto/vv.h"

#include <errno.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rl_donation_lot(uint64_t origin, uint64_t seq, char out[40])
{
    snprintf(out, 40, "don-%016llx-%llu", (unsigned long long)origin, (unsigned long long)seq);
}

/* --- movement records --- */

/*
 * A movement is read from its op; the ledger database keeps only what the movement applied,
 * and only when that differs from what a movement applies with no void, count or arrival
 * known (most never do: receipts and distributions are entered once and left alone).
 */
static void applied_default(const struct rl_mv *mv, int64_t *src, int64_t *need)
{
    *src = mv->kind == PROTO_KIND_STOCK_RECEIVE || mv->kind == PROTO_KIND_STOCK_ADJUST ? mv->qty
                                                                                        : -mv->qty;
    *need = 0;
    if (mv->need_s && mv->kind != PROTO_KIND_STOCK_DISPATCH)
        *need = mv->qty;
    if (mv->kind == PROTO_KIND_STOCK_RECEIVE && mv->don_s)
        *need = mv->qty;
}

static int applied_put(struct rl_txn *t, const struct rl_mv *mv, int fresh)
{
    uint8_t k[16], v[64];
    int64_t src, need;
    proto_put_be64(k, mv->origin);
    proto_put_be64(k + 8, mv->seq);
    applied_default(mv, &src, &need);
    if (mv->a_src == src && mv->a_dst == 0 && mv->a_lots_src == 1 && mv->a_lots_dst == 0 &&
        mv->a_need == need) {
        if (fresh)
            return 0;
        int rc = rl_del(t, RL_DB_LEDGER, k, 16);
        return rc == -ENOENT ? 0 : rc;
    }
    struct proto_buf b;
    msgpack_packer pk;
    proto_buf_init(&b, sizeof v);
    msgpack_packer_init(&pk, &b, proto_buf_msgpack_write);
    msgpack_pack_array(&pk, 5);
    msgpack_pack_int64(&pk, mv->a_src);
    msgpack_pack_int64(&pk, mv->a_dst);
    msgpack_pack_uint8(&pk, mv->a_lots_src);
    msgpack_pack_int64(&pk, mv->a_lots_dst);
    msgpack_pack_int64(&pk, mv->a_need);
    int rc = proto_buf_failed(&b);
    if (!rc)
        rc = rl_put(t, RL_DB_LEDGER, k, 16, b.data, b.len);
    proto_buf_free(&b);
    return rc;
}

static int applied_get(struct rl_txn *t, struct rl_mv *mv)
{
    uint8_t k[16];
    MDB_val v;
    struct proto_mp m;
    uint32_t n;
    uint64_t u;
    applied_default(mv, &mv->a_src, &mv->a_need);
    mv->a_dst = mv->a_lots_dst = 0;
    mv->a_lots_src = 1;
    proto_put_be64(k, mv->origin);
    proto_put_be64(k + 8, mv->seq);
    int rc = rl_get(t, RL_DB_LEDGER, k, 16, &v);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    proto_mp_init(&m, v.mv_data, v.mv_size);
    if (proto_mp_array(&m, &n) || n != 5 || proto_mp_int(&m, &mv->a_src) ||
        proto_mp_int(&m, &mv->a_dst) || proto_mp_uint(&m, &u) ||
        proto_mp_int(&m, &mv->a_lots_dst) || proto_mp_int(&m, &mv->a_need))
        return PROTO_ECORRUPT;
    mv->a_lots_src = (uint8_t)u;
    return 0;
}

static void copy_str(char *out, uint32_t *len, const struct proto_val *v)
{
    uint32_t n = v->present ? v->n : 0;
    if (n > 64)
        n = 64;
    if (n)
        memcpy(out, v->s, n);
    out[n] = '\0';
    *len = n;
}

/* A movement from its op's parsed body, before anything is applied. */
static int mv_fill(struct rl_mv *mv, const struct rl_opinfo *op, uint32_t kind,
                   const struct proto_body *b)
{
    const struct proto_val *v = b->v;
    /* every field but the large lots buffer, which lots_len bounds */
    memset(mv, 0, offsetof(struct rl_mv, lots));
    mv->kind = kind;
    mv->origin = op->origin;
    mv->seq = op->seq;
    mv->hlc = op->hlc;
    mv->site = v[PROTO_F_MV_SITE].u;
    mv->to = kind == PROTO_KIND_STOCK_DISPATCH ? v[PROTO_F_MV_TO].u : 0;
    copy_str(mv->item, &mv->item_len, &v[PROTO_F_MV_ITEM]);
    mv->qty = kind == PROTO_KIND_STOCK_ADJUST ? v[PROTO_F_MV_QTY].i : (int64_t)v[PROTO_F_MV_QTY].u;
    if (kind == PROTO_KIND_STOCK_RECEIVE || kind == PROTO_KIND_STOCK_ADJUST)
        copy_str(mv->lot, &mv->lot_len, &v[PROTO_F_MV_LOT]);
    if (kind == PROTO_KIND_STOCK_RECEIVE) {
        mv->expiry = v[PROTO_F_MV_EXPIRY].present ? (uint32_t)v[PROTO_F_MV_EXPIRY].u : 0;
        if (v[PROTO_F_MV_DONATION].present) {
            mv->don_o = v[PROTO_F_MV_DONATION].origin;
            mv->don_s = v[PROTO_F_MV_DONATION].u;
            if (!mv->lot_len) {
                char lot[40];
                rl_donation_lot(mv->don_o, mv->don_s, lot);
                mv->lot_len = (uint32_t)strlen(lot);
                memcpy(mv->lot, lot, mv->lot_len + 1);
            }
        }
    }
    /* (an adjustment's lots: those a loss naming no lot took) */
    if (v[PROTO_F_MV_LOTS].present &&
        (kind == PROTO_KIND_STOCK_DISPATCH || kind == PROTO_KIND_STOCK_DISTRIBUTE ||
         (kind == PROTO_KIND_STOCK_ADJUST && mv->qty < 0 && !mv->lot_len))) {
        if (v[PROTO_F_MV_LOTS].raw_len > sizeof mv->lots)
            return PROTO_EFIELD;
        memcpy(mv->lots, v[PROTO_F_MV_LOTS].raw, v[PROTO_F_MV_LOTS].raw_len);
        mv->lots_len = v[PROTO_F_MV_LOTS].raw_len;
    }
    if (v[PROTO_F_MV_NEED].present && (kind == PROTO_KIND_STOCK_DISPATCH ||
                                       kind == PROTO_KIND_STOCK_DISTRIBUTE)) {
        mv->need_o = v[PROTO_F_MV_NEED].origin;
        mv->need_s = v[PROTO_F_MV_NEED].u;
    }
    size_t al = op->author_len > PROTO_MAX_AUTHOR_BYTES ? PROTO_MAX_AUTHOR_BYTES : op->author_len;
    memcpy(mv->author, op->author, al);
    mv->author[al] = '\0';
    return 0;
}

static int is_movement(uint32_t kind)
{
    return kind == PROTO_KIND_STOCK_RECEIVE || kind == PROTO_KIND_STOCK_DISPATCH ||
           kind == PROTO_KIND_STOCK_DISTRIBUTE || kind == PROTO_KIND_STOCK_ADJUST;
}

int rl_ledger_decode(struct rl_txn *t, uint64_t origin, uint64_t seq, const uint8_t *payload,
                     size_t n, struct rl_mv *mv)
{
    static _Thread_local struct proto_body b;
    struct proto_op op;
    struct proto_err pe;
    proto_err_clear(&pe);
    if (proto_op_parse(payload, n, &op, &pe))
        return PROTO_ECORRUPT;
    if (!is_movement(op.kind))
        return -ENOENT;
    /* a body this version rejects was kept as a no-op: not a movement */
    if (proto_body_parse(op.kind, op.body, op.body_len, origin, &b, &pe))
        return -ENOENT;
    struct rl_opinfo info = {origin, seq, op.hlc, op.author, op.author_len};
    int rc = mv_fill(mv, &info, op.kind, &b);
    return rc ? rc : applied_get(t, mv);
}

int rl_ledger_get(struct rl_txn *t, uint64_t origin, uint64_t seq, struct rl_mv *mv)
{
    const uint8_t *p;
    size_t n;
    int rc = rl_oplog_payload(t, origin, seq, &p, &n);
    return rc ? rc : rl_ledger_decode(t, origin, seq, p, n, mv);
}

int rl_ledger_voided(struct rl_txn *t, uint64_t origin, uint64_t seq)
{
    uint8_t k[16];
    MDB_val v;
    uint64_t n;
    /* voids are rare: an empty table answers without a search (mdb_stat reads the txn) */
    if (rl_count(t, RL_DB_VOIDED, &n) == 0 && n == 0)
        return 0;
    proto_put_be64(k, origin);
    proto_put_be64(k + 8, seq);
    int rc = rl_get(t, RL_DB_VOIDED, k, 16, &v);
    return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

/* --- balances --- */

static void shelf_key(struct rl_key *k, uint64_t site, const char *item, size_t n)
{
    rl_key_reset(k);
    rl_key_u64(k, site);
    rl_key_str(k, item, n);
}

static int alert_put(struct rl_txn *t, const struct rl_key *k, int on)
{
    if (on)
        return rl_put(t, RL_DB_ALERTS, k->b, k->n, "", 0);
    int rc = rl_del(t, RL_DB_ALERTS, k->b, k->n);
    return rc == -ENOENT ? 0 : rc;
}

/* A quantity in a balance value or the lots table: zigzag, then LEB128 (1 byte for -64..63). */
static size_t q_len(int64_t q)
{
    uint64_t z = (uint64_t)q << 1 ^ (uint64_t)(q >> 63);
    size_t n = 1;
    for (; z >= 0x80; z >>= 7)
        n++;
    return n;
}

size_t rl_qty_put(uint8_t *p, int64_t q)
{
    uint64_t z = (uint64_t)q << 1 ^ (uint64_t)(q >> 63);
    size_t n = 0;
    for (; z >= 0x80; z >>= 7)
        p[n++] = (uint8_t)(z | 0x80);
    p[n++] = (uint8_t)z;
    return n;
}

/* Its bytes, or 0 when it runs past n or past 10 bytes. */
static size_t q_get(const uint8_t *p, size_t n, int64_t *q)
{
    uint64_t z = 0;
    for (size_t i = 0; i < n && i < 10; i++) {
        z |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            *q = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
            return i + 1;
        }
    }
    return 0;
}

size_t rl_balance_qty(const void *v, size_t n, int64_t *qty)
{
    return q_get(v, n, qty);
}

int rl_ledger_balance(struct rl_txn *t, uint64_t site, const char *item, size_t item_len,
                      int64_t *qty)
{
    struct rl_key k;
    MDB_val v;
    shelf_key(&k, site, item, item_len);
    *qty = 0;
    int rc = rl_get(t, RL_DB_BALANCE, k.b, k.n, &v);
    if (rc)
        return rc;
    return rl_balance_qty(v.mv_data, v.mv_size, qty) ? 0 : PROTO_ECORRUPT;
}

/* The offset of the lot after the one at i in a balance value (*q its quantity), or 0 when it
 * runs past n. */
static size_t lot_next(const uint8_t *p, size_t n, size_t i, int64_t *q)
{
    if (i >= n || n - i < 2u + p[i])
        return 0;
    size_t at = i + 1 + p[i], len = q_get(p + at, n - at, q);
    return len ? at + len : 0;
}

/* A balance value whose lots are in RL_DB_LOTBAL: q(qty) 0xff size(4), h the bytes of q(qty);
 * *size the bytes the lots would take in it. */
static int spilled(const uint8_t *v, size_t n, size_t h, uint32_t *size)
{
    if (n != h + 5 || v[h] != RL_LOTS_SPILLED)
        return 0;
    *size =
        (uint32_t)v[h + 1] << 24 | (uint32_t)v[h + 2] << 16 | (uint32_t)v[h + 3] << 8 | v[h + 4];
    return 1;
}

int rl_balance_lots(struct rl_txn *t, const void *key, size_t kn, const void *v, size_t n,
                    int (*fn)(void *arg, const char *lot, size_t ln, int64_t qty), void *arg)
{
    const uint8_t *p = v;
    uint32_t size;
    int64_t q;
    size_t h = rl_balance_qty(p, n, &q);
    int rc = 0;
    if (!h)
        return PROTO_ECORRUPT;
    if (!spilled(p, n, h, &size)) {
        for (size_t i = h, next; i < n && !rc; i = next) {
            if (!(next = lot_next(p, n, i, &q)))
                return PROTO_ECORRUPT;
            rc = fn(arg, (const char *)p + i + 1, p[i], q);
        }
        return rc;
    }
    /* the shelf's entries in the lots table, key ‖ s(lot), in the same order */
    struct rl_cursor c;
    MDB_val lk, lv;
    if ((rc = rl_cursor_open(t, RL_DB_LOTBAL, &c)))
        return rc;
    for (rc = rl_cursor_seek(&c, key, kn, &lk, &lv); rc == 0; rc = rl_cursor_next(&c, &lk, &lv)) {
        const uint8_t *kp = lk.mv_data;
        if (lk.mv_size <= kn || memcmp(kp, key, kn))
            break;
        if (lk.mv_size != kn + 1 + kp[kn] || q_get(lv.mv_data, lv.mv_size, &q) != lv.mv_size) {
            rc = PROTO_ECORRUPT;
            break;
        }
        if ((rc = fn(arg, (const char *)kp + kn + 1, kp[kn], q)))
            break;
    }
    rl_cursor_close(&c);
    return rc == -ENOENT ? 0 : rc;
}

/* --- the lots a shelf holds --- */

struct held {
    char lot[65];
    uint8_t len;
    uint32_t expiry; /* 0: none */
    int64_t qty;
};

struct held_set {
    struct held *h;
    size_t n, cap;
    int64_t sum;
};

static int held_add(void *arg, const char *lot, size_t ln, int64_t qty)
{
    struct held_set *hs = arg;
    if (qty <= 0 || ln > 64)
        return 0;
    if (hs->n == hs->cap) {
        size_t cap = hs->cap ? hs->cap * 2 : 16;
        struct held *nh = realloc(hs->h, cap * sizeof *nh);
        if (!nh)
            return -ENOMEM;
        hs->h = nh;
        hs->cap = cap;
    }
    struct held *h = &hs->h[hs->n++];
    memcpy(h->lot, lot, ln);
    h->lot[ln] = '\0';
    h->len = (uint8_t)ln;
    h->expiry = 0;
    h->qty = qty;
    hs->sum += qty;
    return 0;
}

/* the order stock leaves a shelf in: earliest expiry first, named lots without one next, the
 * unnamed lot last */
static int held_cmp(const void *x, const void *y)
{
    const struct held *a = x, *b = y;
    uint32_t ea = a->expiry ? a->expiry : UINT32_MAX, eb = b->expiry ? b->expiry : UINT32_MAX;
    if (!a->len != !b->len)
        return a->len ? -1 : 1;
    if (ea != eb)
        return ea < eb ? -1 : 1;
    return strcmp(a->lot, b->lot);
}

uint32_t rl_lot_expiry(struct rl_txn *t, const char *item, size_t il, const char *lot, size_t ln)
{
    struct rl_key k;
    MDB_val v;
    rl_key_reset(&k);
    rl_key_str(&k, item, il);
    rl_key_str(&k, lot, ln);
    if (!ln || rl_get(t, RL_DB_LOTS, k.b, k.n, &v) || v.mv_size != 4)
        return 0;
    const uint8_t *p = v.mv_data;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int rl_shelf_lots_held(struct rl_txn *t, const void *key, size_t kn, const void *v, size_t n,
                       int (*fn)(void *arg, const char *lot, size_t ln, uint32_t expiry,
                                 int64_t qty),
                       void *arg)
{
    const uint8_t *kp = key;
    struct held_set hs = {0};
    int64_t bal;
    int rc;
    if (kn < 9 || kn != 9u + kp[8])
        return PROTO_ECORRUPT;
    const char *item = (const char *)kp + 9;
    size_t il = kp[8];
    if (!rl_balance_qty(v, n, &bal))
        return PROTO_ECORRUPT;
    if ((rc = rl_balance_lots(t, key, kn, v, n, held_add, &hs)) < 0)
        goto out;
    for (size_t i = 0; i < hs.n; i++)
        hs.h[i].expiry = rl_lot_expiry(t, item, il, hs.h[i].lot, hs.h[i].len);
    if (hs.n > 1)
        qsort(hs.h, hs.n, sizeof *hs.h, held_cmp);
    /* what the lots add up to beyond the shelf (a loss adjusted or a count, naming no lot) left
     * the shelf the way stock does */
    int64_t excess = hs.sum - (bal > 0 ? bal : 0);
    rc = 0;
    for (size_t i = 0; i < hs.n && !rc; i++) {
        int64_t gone = excess > 0 ? (excess < hs.h[i].qty ? excess : hs.h[i].qty) : 0;
        excess -= gone;
        if (hs.h[i].qty > gone)
            rc = fn(arg, hs.h[i].lot, hs.h[i].len, hs.h[i].expiry, hs.h[i].qty - gone);
    }
out:
    free(hs.h);
    return rc;
}

/* Shelves in the order of their keys: the site, then the item's length, then its bytes. */
static int shelf_q_cmp(const void *x, const void *y)
{
    const struct rl_shelf_q *a = *(const struct rl_shelf_q *const *)x;
    const struct rl_shelf_q *b = *(const struct rl_shelf_q *const *)y;
    size_t an = a->item_len > 255 ? 255 : a->item_len, bn = b->item_len > 255 ? 255 : b->item_len;
    if (a->site != b->site)
        return a->site < b->site ? -1 : 1;
    if (an != bn)
        return an < bn ? -1 : 1;
    return memcmp(a->item, b->item, an);
}

/* LMDB's order of two keys (memcmp, then the shorter first) */
static int key_cmp(const MDB_val *k, const struct rl_key *w)
{
    size_t n = k->mv_size < w->n ? k->mv_size : w->n;
    int c = memcmp(k->mv_data, w->b, n);
    return c ? c : k->mv_size < w->n ? -1 : k->mv_size > w->n;
}

int rl_ledger_balances(struct rl_txn *t, struct rl_shelf_q *q, size_t n)
{
    struct rl_shelf_q **by_key = malloc((n ? n : 1) * sizeof *by_key);
    struct rl_cursor c;
    struct rl_key w;
    MDB_val k, v;
    int rc = by_key ? rl_cursor_open(t, RL_DB_BALANCE, &c) : -ENOMEM;
    if (rc) {
        free(by_key);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        by_key[i] = &q[i];
    qsort(by_key, n, sizeof *by_key, shelf_q_cmp);
    int at = 0, end = 0, cmp = 0; /* at: the cursor is on an entry (k, v) */
    for (size_t i = 0; i < n && !rc; i++) {
        struct rl_shelf_q *s = by_key[i];
        s->qty = 0;
        if (end)
            continue; /* past the last balance */
        shelf_key(&w, s->site, s->item, s->item_len);
        cmp = at ? key_cmp(&k, &w) : -1;
        /* a search each (stepping to a key some entries ahead read more pages than it saved) */
        if (cmp < 0) {
            rc = rl_cursor_seek(&c, w.b, w.n, &k, &v);
            at = rc == 0;
            end = rc == -ENOENT;
            cmp = at ? key_cmp(&k, &w) : 1;
        }
        if (rc == -ENOENT)
            rc = 0;
        if (at && cmp == 0 && !rl_balance_qty(v.mv_data, v.mv_size, &s->qty))
            rc = PROTO_ECORRUPT;
    }
    rl_cursor_close(&c);
    free(by_key);
    return rc;
}

/* The lots table's key of a shelf's lot: the shelf's key, then s(lot). */
static void lot_key(struct rl_key *lk, const struct rl_key *k, const char *lot, size_t ln)
{
    rl_key_reset(lk);
    rl_key_raw(lk, k->b, k->n);
    rl_key_str(lk, lot, ln);
}

/* Put lots (n bytes of s(lot) q(qty), a balance value's part) into the lots table. */
static int lots_spill(struct rl_txn *t, const struct rl_key *k, const uint8_t *lots, size_t n)
{
    struct rl_key lk;
    int64_t q;
    int rc = 0;
    for (size_t i = 0, next; i < n && !rc; i = next) {
        if (!(next = lot_next(lots, n, i, &q)))
            return PROTO_ECORRUPT;
        lot_key(&lk, k, (const char *)lots + i + 1, lots[i]);
        rc = rl_put(t, RL_DB_LOTBAL, lk.b, lk.n, lots + i + 1 + lots[i], next - i - 1 - lots[i]);
    }
    return rc;
}

/* Take a shelf's lots out of the lots table into out (at most RL_LOTS_INLINE bytes). */
static int lots_unspill(struct rl_txn *t, const struct rl_key *k, uint8_t *out, size_t *n)
{
    struct rl_cursor c;
    struct rl_key lk;
    MDB_val ek, ev;
    int64_t q;
    int rc = rl_cursor_open(t, RL_DB_LOTBAL, &c);
    *n = 0;
    for (rc = rc ? rc : rl_cursor_seek(&c, k->b, k->n, &ek, &ev); rc == 0;
         rc = rl_cursor_next(&c, &ek, &ev)) {
        const uint8_t *kp = ek.mv_data;
        if (ek.mv_size <= k->n || memcmp(kp, k->b, k->n))
            break;
        size_t len = ek.mv_size - k->n; /* s(lot) */
        if (len != 1u + kp[k->n] || q_get(ev.mv_data, ev.mv_size, &q) != ev.mv_size ||
            *n + len + ev.mv_size > RL_LOTS_INLINE) {
            rc = PROTO_ECORRUPT;
            break;
        }
        memcpy(out + *n, kp + k->n, len);
        memcpy(out + *n + len, ev.mv_data, ev.mv_size);
        *n += len + ev.mv_size;
    }
    rl_cursor_close(&c);
    if (rc && rc != -ENOENT)
        return rc;
    rc = 0;
    for (size_t i = 0, next; i < *n && !rc; i = next) {
        if (!(next = lot_next(out, *n, i, &q)))
            return PROTO_ECORRUPT;
        lot_key(&lk, k, (const char *)out + i + 1, out[i]);
        rc = rl_del(t, RL_DB_LOTBAL, lk.b, lk.n);
    }
    return rc;
}

/* A lot's quantity in the lots table (a shelf's lots spilled there) changed by dl; *size, the
 * bytes the shelf's lots would take in its value, follows. */
static int lot_spilled_add(struct rl_txn *t, const struct rl_key *k, const char *lot, size_t ln,
                           int64_t dl, uint32_t *size)
{
    struct rl_key lk;
    MDB_val v;
    int64_t lq = 0;
    uint8_t q[10];
    lot_key(&lk, k, lot, ln);
    int rc = rl_get(t, RL_DB_LOTBAL, lk.b, lk.n, &v);
    if (rc && rc != -ENOENT)
        return rc;
    if (rc == 0) {
        if (q_get(v.mv_data, v.mv_size, &lq) != v.mv_size)
            return PROTO_ECORRUPT;
        *size -= (uint32_t)(1 + ln + v.mv_size);
    }
    if (lq + dl == 0) {
        rc = rl_del(t, RL_DB_LOTBAL, lk.b, lk.n);
        return rc == -ENOENT ? 0 : rc;
    }
    size_t qn = rl_qty_put(q, lq + dl);
    *size += (uint32_t)(1 + ln + qn);
    return rl_put(t, RL_DB_LOTBAL, lk.b, lk.n, q, qn);
}

/* A shelf's balance value whose lots (size bytes of them) are in the lots table. */
static int put_spilled(struct rl_txn *t, const struct rl_key *k, int64_t qty, uint32_t size)
{
    uint8_t v[15];
    size_t h = rl_qty_put(v, qty);
    v[h] = RL_LOTS_SPILLED;
    v[h + 1] = (uint8_t)(size >> 24);
    v[h + 2] = (uint8_t)(size >> 16);
    v[h + 3] = (uint8_t)(size >> 8);
    v[h + 4] = (uint8_t)size;
    return rl_put(t, RL_DB_BALANCE, k->b, k->n, v, h + 5);
}

/*
 * Add dq to a shelf's quantity and dl to its lot (ln bytes; none when lot is NULL) in its
 * balance entry, which exists afterwards; a lot is held exactly while its quantity is not 0:
 * which lots a movement touched on the way can depend on the order ops arrived in (an arrival
 * superseded by a smaller one, a void known before its target), the final quantities cannot.
 * The lots are in the value while their bytes come to at most RL_LOTS_INLINE, else in the lots
 * table (a function of the lots alone, so every node holding the same ops keeps them alike).
 * *old and *now: the shelf's quantity before and after.
 */
static int shelf_add(struct rl_txn *t, const struct rl_key *k, int64_t dq, const char *lot,
                     size_t ln, int64_t dl, int64_t *old, int64_t *now)
{
    static _Thread_local uint8_t *buf; /* the value as it was: the put may move it */
    static _Thread_local size_t cap;
    uint8_t lots[RL_LOTS_INLINE], qb[10], *p;
    MDB_val v;
    size_t n = 0, h = 0, drop = 0, add = 0, ln_ = 0;
    int64_t lq = 0, q;
    uint32_t size;
    if (lot && ln > 64)
        return -EINVAL;
    int rc = rl_get(t, RL_DB_BALANCE, k->b, k->n, &v);
    if (rc && rc != -ENOENT)
        return rc;
    int had = rc == 0;
    *old = 0;
    if (had && !(h = rl_balance_qty(v.mv_data, v.mv_size, old)))
        return PROTO_ECORRUPT;
    if (had && dq == 0 && (!lot || dl == 0)) {
        *now = *old;
        return 0;
    }
    if (had)
        n = v.mv_size;
    if (n > cap) {
        uint8_t *nb = realloc(buf, n);
        if (!nb)
            return -ENOMEM;
        buf = nb;
        cap = n;
    }
    if (had)
        memcpy(buf, v.mv_data, n);
    *now = *old + dq;
    size_t qn = rl_qty_put(qb, *now);
    if (had && spilled(buf, n, h, &size)) {
        if (lot && dl && (rc = lot_spilled_add(t, k, lot, ln, dl, &size)))
            return rc;
        if (size <= RL_LOTS_INLINE) { /* few enough again: back into the value */
            if ((rc = lots_unspill(t, k, lots, &ln_)) ||
                (rc = rl_put_reserve(t, RL_DB_BALANCE, k->b, k->n, qn + ln_, (void **)&p)))
                return rc;
            memcpy(p, qb, qn);
            memcpy(p + qn, lots, ln_);
            return 0;
        }
        return put_spilled(t, k, *now, size);
    }
    size_t at = h; /* the lots: buf[h, n) */
    if (lot && dl) {
        /* where the lot is, or goes: the lots sort by s(lot), its length byte first */
        for (size_t next; at < n; at = next) {
            if (!(next = lot_next(buf, n, at, &q)))
                return PROTO_ECORRUPT;
            int c = buf[at] != ln ? (buf[at] < ln ? -1 : 1) : memcmp(buf + at + 1, lot, ln);
            if (c == 0) {
                lq = q;
                drop = next - at;
            }
            if (c >= 0)
                break;
        }
        add = lq + dl ? 1 + ln + q_len(lq + dl) : 0;
    }
    size_t lots_n = n - h - drop + add; /* the new value: qb, then lots_n bytes of lots */
    uint8_t *out = lots_n <= RL_LOTS_INLINE ? NULL : malloc(qn + lots_n);
    if (lots_n <= RL_LOTS_INLINE) {
        if ((rc = rl_put_reserve(t, RL_DB_BALANCE, k->b, k->n, qn + lots_n, (void **)&p)))
            return rc;
    } else if (!(p = out)) {
        return -ENOMEM;
    }
    memcpy(p, qb, qn);
    uint8_t *w = p + qn + (at - h);
    if (at > h) /* (buf is NULL until a value was read) */
        memcpy(p + qn, buf + h, at - h);
    if (add) {
        w[0] = (uint8_t)ln;
        memcpy(w + 1, lot, ln);
        rl_qty_put(w + 1 + ln, lq + dl);
    }
    if (n > at + drop)
        memcpy(w + add, buf + at + drop, n - at - drop);
    if (!out)
        return 0;
    /* too many to keep in the value: into the lots table */
    if (!(rc = lots_spill(t, k, out + qn, lots_n)))
        rc = put_spilled(t, k, *now, (uint32_t)lots_n);
    free(out);
    return rc;
}

/*
 * Add dq to a shelf's balance and dl to one of its lots (none when lot is NULL or dl is 0), in
 * one write. The negative-stock alert exists exactly while the balance is below zero (only this
 * sets it).
 */
static int shelf_move(struct rl_txn *t, uint64_t site, const char *item, size_t n, int64_t dq,
                      const char *lot, size_t ln, int64_t dl)
{
    struct rl_key k, a;
    int64_t old, q;
    shelf_key(&k, site, item, n);
    int rc = shelf_add(t, &k, dq, dl ? lot : NULL, ln, dl, &old, &q);
    if (rc)
        return rc;
    if ((old < 0) == (q < 0))
        return 0;
    rl_key_reset(&a);
    rl_key_u8(&a, RL_ALERT_NEGATIVE);
    rl_key_raw(&a, k.b, k.n);
    return alert_put(t, &a, q < 0);
}

static int bal_add(struct rl_txn *t, uint64_t site, const char *item, size_t n, int64_t delta)
{
    return shelf_move(t, site, item, n, delta, NULL, 0, 0);
}

/*
 * Apply sign * the lots drawn (the remainder of qty to the unnamed lot), and dq to the
 * balance with the first of them; with touch, the shelf is written even when nothing changes
 * (so that its entry exists in any arrival order).
 */
static int lots_apply(struct rl_txn *t, uint64_t site, const struct rl_mv *mv, int64_t qty,
                      int sign, int64_t dq, int touch)
{
    struct proto_mp m;
    uint32_t n;
    int64_t left = qty;
    int rc;
    proto_mp_init(&m, mv->lots, mv->lots_len);
    if (mv->lots_len && proto_mp_array(&m, &n) == 0) {
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k, ln;
            const char *lot;
            uint64_t q;
            if (proto_mp_array(&m, &k) || proto_mp_str(&m, &lot, &ln, 64) ||
                proto_mp_uint(&m, &q))
                return PROTO_ECORRUPT;
            int64_t take = (int64_t)q < left ? (int64_t)q : left;
            if (take < 0)
                take = 0;
            left -= take;
            if (!take && !dq)
                continue;
            if ((rc = shelf_move(t, site, mv->item, mv->item_len, dq, lot, ln, sign * take)))
                return rc;
            dq = touch = 0;
        }
    }
    int64_t rest = left > 0 || !mv->lots_len ? sign * left : 0;
    if (rest || dq || touch)
        return shelf_move(t, site, mv->item, mv->item_len, dq, "", 0, rest);
    return 0;
}

/* Add to a sum: prefix 0 for what was handed out against a need, 'A' for what arrived against
 * it, 'D' for a donation's delivered quantity. */
static int need_add(struct rl_txn *t, uint8_t prefix, uint64_t o, uint64_t s, int64_t delta)
{
    uint8_t k[17], v[8];
    MDB_val old;
    int64_t q = 0;
    size_t kn = prefix ? 17 : 16;
    k[0] = prefix;
    proto_put_be64(k + kn - 16, o);
    proto_put_be64(k + kn - 8, s);
    int rc = rl_get(t, RL_DB_NEEDFILL, k, kn, &old);
    if (rc == 0 && old.mv_size == 8)
        q = (int64_t)proto_get_be64(old.mv_data);
    else if (rc && rc != -ENOENT)
        return rc;
    if (rc == 0 && delta == 0)
        return 0;
    proto_put_be64(v, (uint64_t)(q + delta));
    return rl_put(t, RL_DB_NEEDFILL, k, kn, v, 8);
}

/* --- counts --- */

struct count {
    int present;
    uint64_t hlc, origin, seq;
    int64_t qty;
    struct proto_vv vv;
    const uint8_t *lots; /* the lots it found short (msgpack LOTS; borrowed), or NULL */
    size_t lots_len;
};

static int count_get(struct rl_txn *t, uint64_t site, const char *item, size_t n,
                     struct count *c)
{
    struct rl_key k;
    MDB_val v;
    uint64_t nc;
    memset(c, 0, sizeof *c);
    proto_vv_init(&c->vv);
    if (rl_count(t, RL_DB_COUNTS, &nc) == 0 && nc == 0)
        return 0; /* no shelf was ever counted */
    shelf_key(&k, site, item, n);
    int rc = rl_get(t, RL_DB_COUNTS, k.b, k.n, &v);
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size < 32)
        return PROTO_ECORRUPT;
    const uint8_t *p = v.mv_data;
    c->present = 1;
    c->hlc = proto_get_be64(p);
    c->origin = proto_get_be64(p + 8);
    c->seq = proto_get_be64(p + 16);
    c->qty = (int64_t)proto_get_be64(p + 24);
    /* the vv as the op gave it: [[origin, seq], ...] */
    struct proto_mp m;
    uint32_t cnt;
    proto_mp_init(&m, p + 32, v.mv_size - 32);
    if (proto_mp_array(&m, &cnt))
        return PROTO_ECORRUPT;
    static const uint8_t zero[PROTO_HASH_BYTES];
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t k2;
        uint64_t o, s;
        if (proto_mp_array(&m, &k2) || proto_mp_uint(&m, &o) || proto_mp_uint(&m, &s) ||
            proto_vv_set(&c->vv, o, s, zero))
            return PROTO_ECORRUPT;
    }
    if (m.p < m.end) {
        c->lots = m.p;
        c->lots_len = (size_t)(m.end - m.p);
    }
    return 0;
}

/* Move sign * each of a count's lots (msgpack LOTS) on a shelf; its quantity stays. */
static int count_lots(struct rl_txn *t, uint64_t site, const char *item, size_t il,
                      const uint8_t *lots, size_t n, int sign)
{
    struct proto_mp m;
    uint32_t cnt;
    proto_mp_init(&m, lots, n);
    if (!n)
        return 0;
    if (proto_mp_array(&m, &cnt))
        return PROTO_ECORRUPT;
    for (uint32_t i = 0; i < cnt; i++) {
        uint32_t k;
        const char *lot;
        uint32_t ln;
        uint64_t q;
        int rc;
        if (proto_mp_array(&m, &k) || proto_mp_str(&m, &lot, &ln, 64) || proto_mp_uint(&m, &q))
            return PROTO_ECORRUPT;
        if ((rc = shelf_move(t, site, item, il, 0, lot, ln, sign * (int64_t)q)))
            return rc;
    }
    return 0;
}

static int covered(const struct count *c, uint64_t origin, uint64_t seq)
{
    return c->present && seq <= proto_vv_seq(&c->vv, origin);
}

/* --- recompute one movement --- */

static int transfer_arrival(struct rl_txn *t, const struct rl_mv *mv, int *has, int64_t *qty)
{
    struct rl_rid r;
    struct rl_head h;
    uint64_t q;
    rl_rid_ref(&r, RL_R_TRANSFER, mv->origin, mv->seq);
    int rc = rl_field_get(t, &r, RL_TRANSFER_ARRIVED, &h);
    *has = 0;
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    if (rl_head_uint(&h, &q))
        return 0;
    *has = 1;
    *qty = (int64_t)q;
    return 0;
}

/* The arrival a count saw: of the versions of a transfer's arrived quantity inside its VV
 * (held here), the greatest by (hlc, origin, seq) -- the one shown where it was counted, since
 * an edit is later than what it saw. */
struct seen {
    struct rl_txn *t;
    const struct count *c;
    int have, rc;
    uint64_t hlc, o, s;
    int64_t qty;
};

static int version_seen(void *arg, uint64_t o, uint64_t s)
{
    static _Thread_local struct proto_body b;
    struct seen *a = arg;
    const uint8_t *p;
    size_t n;
    struct proto_op op;
    struct proto_err pe;
    if (!covered(a->c, o, s))
        return 0;
    int rc = rl_oplog_payload(a->t, o, s, &p, &n);
    if (rc == -ENOENT)
        return 0; /* not here yet: its arrival recomputes the transfer */
    if (rc) {
        a->rc = rc;
        return 1;
    }
    proto_err_clear(&pe);
    if (proto_op_parse(p, n, &op, &pe) || op.kind != PROTO_KIND_STOCK_ARRIVE ||
        proto_body_parse(op.kind, op.body, op.body_len, o, &b, &pe))
        return 0;
    if (!a->have || op.hlc > a->hlc ||
        (op.hlc == a->hlc && (o > a->o || (o == a->o && s > a->s)))) {
        a->have = 1;
        a->hlc = op.hlc;
        a->o = o;
        a->s = s;
        a->qty = (int64_t)b.v[PROTO_F_MV_QTY].u;
    }
    return 0;
}

/*
 * What the destination's winning count saw of a transfer: the arrived quantity it counted
 * (*qty; 1), or nothing (0: no version of the arrival inside its VV). A count made once the
 * goods were there counted them, so the shelf gets only what the arrived quantity changed
 * after it: a confirmation again adds nothing, the rest of a partial delivery its rest.
 */
static int arrival_seen(struct rl_txn *t, const struct rl_mv *mv, const struct count *c,
                        int64_t *qty)
{
    struct rl_rid r;
    struct seen a = {.t = t, .c = c};
    if (!c->present)
        return 0;
    rl_rid_ref(&r, RL_R_TRANSFER, mv->origin, mv->seq);
    int rc = rl_field_versions(t, &r, RL_TRANSFER_ARRIVED, version_seen, &a);
    if (rc < 0 || a.rc)
        return rc < 0 ? rc : a.rc;
    *qty = a.qty;
    return a.have;
}

static int recompute(struct rl_txn *t, struct rl_mv *mv, int fresh)
{
    struct count csrc, cdst;
    int rc, voided, has_arr = 0;
    int64_t arrived = 0;

    if ((voided = rl_ledger_voided(t, mv->origin, mv->seq)) < 0)
        return voided;
    if ((rc = count_get(t, mv->site, mv->item, mv->item_len, &csrc)))
        return rc;
    proto_vv_init(&cdst.vv);
    cdst.present = 0;
    if (mv->kind == PROTO_KIND_STOCK_DISPATCH) {
        if ((rc = transfer_arrival(t, mv, &has_arr, &arrived)) ||
            (rc = count_get(t, mv->to, mv->item, mv->item_len, &cdst)))
            goto out;
    }

    int64_t effect = mv->kind == PROTO_KIND_STOCK_RECEIVE  ? mv->qty
                     : mv->kind == PROTO_KIND_STOCK_ADJUST ? mv->qty
                                                           : -mv->qty;
    int64_t n_src = voided || covered(&csrc, mv->origin, mv->seq) ? 0 : effect;
    uint8_t n_lots_src = !voided;
    int counted = 0;
    int64_t seen = 0;
    if (has_arr && !voided && (counted = arrival_seen(t, mv, &cdst, &seen)) < 0) {
        rc = counted;
        goto out;
    }
    int64_t n_dst = voided || !has_arr ? 0 : counted ? arrived - seen : arrived;
    int64_t n_lots_dst = voided || !has_arr ? 0 : arrived;
    /* a need's fulfilment, or (for a receipt) a donation's delivered quantity */
    int64_t n_need = 0;
    if (!voided && mv->need_s)
        n_need = mv->kind == PROTO_KIND_STOCK_DISPATCH ? n_lots_dst : mv->qty;
    if (!voided && mv->kind == PROTO_KIND_STOCK_RECEIVE && mv->don_s)
        n_need = mv->qty;

    /* source shelf, balance and lots in one write (always written, so that the entry exists
     * in any arrival order) */
    if (mv->kind == PROTO_KIND_STOCK_RECEIVE ||
        (mv->kind == PROTO_KIND_STOCK_ADJUST && !mv->lots_len)) {
        int64_t d = (int64_t)(n_lots_src - mv->a_lots_src) * effect;
        rc = shelf_move(t, mv->site, mv->item, mv->item_len, n_src - mv->a_src, mv->lot,
                        mv->lot_len, d);
    } else if (n_lots_src != mv->a_lots_src) {
        rc = lots_apply(t, mv->site, mv, mv->qty < 0 ? -mv->qty : mv->qty, n_lots_src ? -1 : 1,
                        n_src - mv->a_src, 1);
    } else {
        rc = bal_add(t, mv->site, mv->item, mv->item_len, n_src - mv->a_src);
    }
    if (rc)
        goto out;
    /* destination shelf of a transfer, once an arrival is known */
    if (mv->kind == PROTO_KIND_STOCK_DISPATCH) {
        struct rl_key k, a;
        if (has_arr && (rc = bal_add(t, mv->to, mv->item, mv->item_len, n_dst - mv->a_dst)))
            goto out;
        if (n_lots_dst != mv->a_lots_dst) {
            if ((mv->a_lots_dst && (rc = lots_apply(t, mv->to, mv, mv->a_lots_dst, -1, 0, 0))) ||
                (n_lots_dst && (rc = lots_apply(t, mv->to, mv, n_lots_dst, 1, 0, 0))))
                goto out;
        }
        shelf_key(&k, mv->to, mv->item, mv->item_len);
        rl_key_u64(&k, mv->origin);
        rl_key_u64(&k, mv->seq);
        if (!voided && !has_arr) {
            uint8_t q[8];
            proto_put_be64(q, (uint64_t)mv->qty);
            rc = rl_put(t, RL_DB_TRANSIT, k.b, k.n, q, 8);
        } else {
            rc = rl_del(t, RL_DB_TRANSIT, k.b, k.n);
            rc = rc == -ENOENT ? 0 : rc;
        }
        if (rc)
            goto out;
        rl_key_reset(&a);
        rl_key_u8(&a, RL_ALERT_ARRIVAL);
        rl_key_u64(&a, mv->origin);
        rl_key_u64(&a, mv->seq);
        int is_short = !voided && has_arr && arrived != mv->qty;
        /* (a movement entered now has no alert yet) */
        if ((is_short || !fresh) && (rc = alert_put(t, &a, is_short)))
            goto out;
    }
    /* what arrived against a need and what was handed out against it apart: the need's
     * fulfilment is the larger (goods sent to a centre against it and handed out there
     * against it count once) */
    if (mv->need_s && (rc = need_add(t, mv->kind == PROTO_KIND_STOCK_DISPATCH ? 'A' : 0, mv->need_o,
                                     mv->need_s, n_need - mv->a_need)))
        goto out;
    if (mv->kind == PROTO_KIND_STOCK_RECEIVE && mv->don_s &&
        (rc = need_add(t, 'D', mv->don_o, mv->don_s, n_need - mv->a_need)))
        goto out;
    mv->a_src = n_src;
    mv->a_dst = has_arr ? n_dst : 0;
    mv->a_lots_src = n_lots_src;
    mv->a_lots_dst = n_lots_dst;
    mv->a_need = n_need;
    rc = applied_put(t, mv, fresh);
out:
    proto_vv_free(&csrc.vv);
    proto_vv_free(&cdst.vv);
    return rc;
}

static int entered(struct rl_txn *t, const struct rl_mv *mv);

/* Recompute a movement; with item set, only one of that item (the shelf index may hold
 * another item whose code hashes alike). */
static int recompute_ref(struct rl_txn *t, uint64_t origin, uint64_t seq, const char *item,
                         size_t il)
{
    static _Thread_local struct rl_mv mv; /* large: kept off the stack */
    int rc = rl_ledger_get(t, origin, seq, &mv);
    if (rc == 0 && item && (mv.item_len != il || memcmp(mv.item, item, il)))
        return 0;
    if (rc == 0 && (rc = entered(t, &mv)) == 0)
        rc = -ENOENT;
    if (rc == -ENOENT)
        return 0; /* not arrived (or not applied) yet: its own entry will compute it */
    return rc < 0 ? rc : recompute(t, &mv, 0);
}

/* An op id as the value of a database of sorted duplicates. */
static void ref_val(uint8_t v[16], uint64_t origin, uint64_t seq)
{
    proto_put_be64(v, origin);
    proto_put_be64(v + 8, seq);
}

uint32_t rl_item_hash(const char *item, size_t n)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)item[i]) * 16777619u;
    return h;
}

void rl_shelfmv_put_ref(uint8_t v[RL_SHELFMV_VAL], uint64_t origin, uint64_t seq)
{
    proto_put_be64(v, origin);
    for (int i = 0; i < 6; i++)
        v[8 + i] = (uint8_t)(seq >> (40 - 8 * i));
}

void rl_shelfmv_val(uint8_t v[RL_SHELFMV_VAL], const char *item, size_t n, uint64_t origin,
                    uint64_t seq)
{
    uint32_t h = rl_item_hash(item, n);
    uint16_t ih = (uint16_t)(h >> 16 ^ h);
    rl_shelfmv_put_ref(v, origin, seq);
    v[RL_SHELFMV_IH] = (uint8_t)(ih >> 8);
    v[RL_SHELFMV_IH + 1] = (uint8_t)ih;
}

void rl_shelfmv_ref(const void *v, uint64_t *origin, uint64_t *seq)
{
    const uint8_t *b = v;
    *origin = proto_get_be64(b);
    *seq = 0;
    for (int i = 0; i < 6; i++)
        *seq = *seq << 8 | b[8 + i];
}

static int index_shelf(struct rl_txn *t, uint64_t site, const struct rl_mv *mv)
{
    uint8_t k[8], v[RL_SHELFMV_VAL];
    proto_put_be64(k, site);
    rl_shelfmv_val(v, mv->item, mv->item_len, mv->origin, mv->seq);
    return rl_put_dup_append(t, RL_DB_SHELFMV, k, 8, v, sizeof v);
}

/*
 * Whether a movement was entered: it is under its shelf in the index. Its op alone does not
 * say so -- a rebuild (views.c) holds every op before it applies them, and a void or an
 * arrival applied before its movement must not recompute what the movement has not applied.
 */
static int entered(struct rl_txn *t, const struct rl_mv *mv)
{
    uint8_t k[8], v[RL_SHELFMV_VAL];
    proto_put_be64(k, mv->site);
    rl_shelfmv_val(v, mv->item, mv->item_len, mv->origin, mv->seq);
    int rc = rl_get_dup(t, RL_DB_SHELFMV, k, 8, v, sizeof v);
    return rc == 0 ? 1 : rc == -ENOENT ? 0 : rc;
}

static int lot_expiry(struct rl_txn *t, const struct rl_mv *mv)
{
    struct rl_key k;
    MDB_val v;
    uint8_t val[4];
    if (!mv->expiry)
        return 0;
    rl_key_reset(&k);
    rl_key_str(&k, mv->item, mv->item_len);
    rl_key_str(&k, mv->lot, mv->lot_len);
    int rc = rl_get(t, RL_DB_LOTS, k.b, k.n, &v);
    if (rc == 0 && v.mv_size == 4) {
        const uint8_t *p = v.mv_data;
        uint32_t old = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
        if (old <= mv->expiry)
            return 0;
    } else if (rc && rc != -ENOENT) {
        return rc;
    }
    val[0] = (uint8_t)(mv->expiry >> 24);
    val[1] = (uint8_t)(mv->expiry >> 16);
    val[2] = (uint8_t)(mv->expiry >> 8);
    val[3] = (uint8_t)mv->expiry;
    return rl_put(t, RL_DB_LOTS, k.b, k.n, val, 4);
}

int rl_ledger_movement(struct rl_txn *t, const struct rl_opinfo *op, uint32_t kind,
                       const struct proto_body *b)
{
    static _Thread_local struct rl_mv mv;
    int rc;

    if ((rc = mv_fill(&mv, op, kind, b)))
        return rc;
    if ((rc = index_shelf(t, mv.site, &mv)))
        return rc;
    if (mv.don_s) {
        uint8_t k[16], v[16];
        ref_val(k, mv.don_o, mv.don_s);
        ref_val(v, mv.origin, mv.seq);
        if ((rc = rl_put_dup_append(t, RL_DB_DONMV, k, 16, v, 16)))
            return rc;
    }
    if (kind == PROTO_KIND_STOCK_DISPATCH && mv.to != mv.site && (rc = index_shelf(t, mv.to, &mv)))
        return rc;
    if (kind == PROTO_KIND_STOCK_RECEIVE && (rc = lot_expiry(t, &mv)))
        return rc;
    return recompute(t, &mv, 1);
}

int rl_ledger_arrive(struct rl_txn *t, const struct rl_opinfo *op, const struct proto_body *b)
{
    const struct proto_val *tr = &b->v[PROTO_F_MV_TARGET];
    const struct proto_val *q = &b->v[PROTO_F_MV_QTY];
    const struct proto_val *seen = &b->v[PROTO_F_MV_SEEN];
    struct rl_rid r;
    int changed, rc;
    rl_rid_ref(&r, RL_R_TRANSFER, tr->origin, tr->u);
    rc = rl_field_write(t, &r, RL_TRANSFER_ARRIVED, op, q->raw, q->raw_len,
                        seen->present ? seen->raw : NULL, seen->present ? seen->raw_len : 0,
                        &changed);
    if (rc)
        return rc;
    /* (even when the shown value is the same: the versions a count may have seen changed) */
    (void)changed;
    return recompute_ref(t, tr->origin, tr->u, NULL, 0);
}

int rl_ledger_void(struct rl_txn *t, const struct rl_opinfo *op, const struct proto_body *b)
{
    const struct proto_val *m = &b->v[PROTO_F_MV_TARGET];
    uint8_t k[16], v[16];
    MDB_val old;
    proto_put_be64(k, m->origin);
    proto_put_be64(k + 8, m->u);
    int rc = rl_get(t, RL_DB_VOIDED, k, 16, &old);
    if (rc == 0) {
        /* voided already: keep the smallest void's id so every node stores the same */
        const uint8_t *p = old.mv_data;
        if (old.mv_size == 16 &&
            (proto_get_be64(p) < op->origin ||
             (proto_get_be64(p) == op->origin && proto_get_be64(p + 8) < op->seq)))
            return 0;
        proto_put_be64(v, op->origin);
        proto_put_be64(v + 8, op->seq);
        return rl_put(t, RL_DB_VOIDED, k, 16, v, 16);
    }
    if (rc != -ENOENT)
        return rc;
    proto_put_be64(v, op->origin);
    proto_put_be64(v + 8, op->seq);
    if ((rc = rl_put(t, RL_DB_VOIDED, k, 16, v, 16)))
        return rc;
    return recompute_ref(t, m->origin, m->u, NULL, 0);
}

/* Recompute every movement of a shelf (those of the site whose item hashes alike, then only
 * the item's). */
static int shelf_recompute(struct rl_txn *t, uint64_t site, const char *item, uint32_t il)
{
    struct rl_cursor c;
    MDB_val fk, fv;
    uint8_t sk[8], ih[RL_SHELFMV_VAL];
    int rc;
    proto_put_be64(sk, site);
    rl_shelfmv_val(ih, item, il, 0, 0);
    if ((rc = rl_cursor_open(t, RL_DB_SHELFMV, &c)))
        return rc;
    /* collect first: recomputing writes to the database the cursor walks */
    size_t n = 0, cap = 0;
    uint64_t *refs = NULL;
    for (rc = rl_cursor_seek(&c, sk, 8, &fk, &fv); rc == 0; rc = rl_cursor_next(&c, &fk, &fv)) {
        if (fk.mv_size != 8 || memcmp(fk.mv_data, sk, 8))
            break;
        if (fv.mv_size != RL_SHELFMV_VAL ||
            memcmp((const uint8_t *)fv.mv_data + RL_SHELFMV_IH, ih + RL_SHELFMV_IH, 2))
            continue;
        if (n + 2 > cap) {
            cap = cap ? cap * 2 : 64;
            uint64_t *nr = realloc(refs, cap * sizeof *refs);
            if (!nr) {
                rc = -ENOMEM;
                break;
            }
            refs = nr;
        }
        rl_shelfmv_ref(fv.mv_data, &refs[n], &refs[n + 1]);
        n += 2;
    }
    rl_cursor_close(&c);
    if (rc == -ENOENT)
        rc = 0;
    for (size_t i = 0; !rc && i < n; i += 2)
        rc = recompute_ref(t, refs[i], refs[i + 1], item, il);
    free(refs);
    return rc;
}

static int held_add_any(void *arg, const char *lot, size_t ln, int64_t qty)
{
    struct held_set *hs = arg;
    for (size_t i = 0; i < hs->n; i++)
        if (hs->h[i].len == ln && !memcmp(hs->h[i].lot, lot, ln)) {
            hs->h[i].qty += qty;
            return 0;
        }
    if (!qty)
        return 0;
    size_t n = hs->n;
    int rc = held_add(arg, lot, ln, 1); /* (appended, then set) */
    if (rc == 0 && hs->n > n) {
        hs->h[n].qty = qty;
        hs->sum += qty - 1;
    }
    return rc;
}

int rl_ledger_count_short(struct rl_txn *t, uint64_t site, const char *item, size_t il, int64_t qty,
                          int (*fn)(void *arg, const char *lot, size_t ln, int64_t q), void *arg)
{
    struct held_set hs = {0};
    struct count c;
    struct rl_key k;
    MDB_val v;
    int rc;
    shelf_key(&k, site, item, il);
    rc = rl_get(t, RL_DB_BALANCE, k.b, k.n, &v);
    if (rc == -ENOENT)
        return 0;
    if (rc || (rc = rl_balance_lots(t, k.b, k.n, v.mv_data, v.mv_size, held_add_any, &hs)) < 0)
        goto out;
    /* the lots as the movements alone give them: the winning count's taken back */
    if ((rc = count_get(t, site, item, il, &c)) == 0 && c.lots_len) {
        struct proto_mp m;
        uint32_t cnt;
        proto_mp_init(&m, c.lots, c.lots_len);
        rc = proto_mp_array(&m, &cnt) ? PROTO_ECORRUPT : 0;
        for (uint32_t i = 0; !rc && i < cnt; i++) {
            uint32_t kk, ln;
            const char *lot;
            uint64_t q;
            if (proto_mp_array(&m, &kk) || proto_mp_str(&m, &lot, &ln, 64) || proto_mp_uint(&m, &q))
                rc = PROTO_ECORRUPT;
            else
                rc = held_add_any(&hs, lot, ln, (int64_t)q);
        }
    }
    proto_vv_free(&c.vv);
    if (rc)
        goto out;
    /* those holding stock, as it leaves */
    size_t w = 0;
    int64_t sum = 0;
    for (size_t i = 0; i < hs.n; i++)
        if (hs.h[i].qty > 0) {
            hs.h[w] = hs.h[i];
            hs.h[w].expiry = rl_lot_expiry(t, item, il, hs.h[w].lot, hs.h[w].len);
            sum += hs.h[w++].qty;
        }
    if (w > 1)
        qsort(hs.h, w, sizeof *hs.h, held_cmp);
    int64_t short_ = sum - (qty > 0 ? qty : 0);
    for (size_t i = 0; i < w && short_ > 0 && !rc; i++) {
        int64_t take = short_ < hs.h[i].qty ? short_ : hs.h[i].qty;
        short_ -= take;
        if (hs.h[i].len)
            rc = fn(arg, hs.h[i].lot, hs.h[i].len, take);
    }
out:
    free(hs.h);
    return rc;
}

int rl_ledger_count_hlc(struct rl_txn *t, uint64_t site, const char *item, size_t il, uint64_t *hlc)
{
    struct count c;
    int rc = count_get(t, site, item, il, &c);
    *hlc = rc == 0 && c.present ? c.hlc : 0;
    proto_vv_free(&c.vv);
    return rc;
}

int rl_ledger_count(struct rl_txn *t, const struct rl_opinfo *op, const struct proto_body *b)
{
    const struct proto_val *v = b->v;
    struct count old;
    struct rl_key k;
    char item[65];
    uint32_t il;
    int rc;

    copy_str(item, &il, &v[PROTO_F_MV_ITEM]);
    uint64_t site = v[PROTO_F_MV_SITE].u;
    if ((rc = count_get(t, site, item, il, &old)))
        goto out;
    if (old.present && !(old.hlc < op->hlc || (old.hlc == op->hlc && old.origin < op->origin) ||
                         (old.hlc == op->hlc && old.origin == op->origin && old.seq < op->seq)))
        goto out; /* an earlier count than the one that wins */
    /* the new winner: its lots found short taken from the shelf's, the old winner's given back
     * (the lots are the movements' less the winning count's) */
    static _Thread_local uint8_t oldlots[PROTO_MAX_OP_BYTES];
    size_t oln = old.lots_len <= sizeof oldlots ? old.lots_len : 0;
    if (oln)
        memcpy(oldlots, old.lots, oln); /* (the value moves with the put) */
    uint8_t *p;
    const struct proto_val *vv = &v[PROTO_F_MV_VV], *lots = &v[PROTO_F_MV_LOTS];
    size_t ln = lots->present ? lots->raw_len : 0;
    shelf_key(&k, site, item, il);
    if ((rc = rl_put_reserve(t, RL_DB_COUNTS, k.b, k.n, 32 + vv->raw_len + ln, (void **)&p)))
        goto out;
    proto_put_be64(p, op->hlc);
    proto_put_be64(p + 8, op->origin);
    proto_put_be64(p + 16, op->seq);
    proto_put_be64(p + 24, v[PROTO_F_MV_QTY].u);
    memcpy(p + 32, vv->raw, vv->raw_len);
    if (ln)
        memcpy(p + 32 + vv->raw_len, lots->raw, ln);
    if ((rc = bal_add(t, site, item, il, (int64_t)v[PROTO_F_MV_QTY].u - old.qty)) ||
        (rc = count_lots(t, site, item, il, oldlots, oln, 1)) ||
        (ln && (rc = count_lots(t, site, item, il, lots->raw, ln, -1))))
        goto out;
    /* every movement of the shelf: its coverage changed */
    rc = shelf_recompute(t, site, item, il);
out:
    proto_vv_free(&old.vv);
    return rc;
}
