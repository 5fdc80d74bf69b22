/*
 * Derived views (see views.h): every op that enters the log is parsed against its kind's schema
 * and handed to the records (records.h) or the ledger (ledger.h). An op whose body this version
 * rejects, or whose kind it does not know, stays in the log as a no-op with an alert.
 */
#include "views.h"

#include "key.h"
#include "ledger.h"
#include "oplog.h"
#include "proto/kinds.h"
#include "proto/mp.h"
#include "records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* node: origin -> seq(8) name, keeping the highest seq (one origin's ops are ordered) */
static int apply_node(struct rl_txn *t, const struct proto_op *op, const struct proto_body *b)
{
    const struct proto_val *name = &b->v[PROTO_F_NODE_NAME];
    uint8_t k[8], v[8 + PROTO_MAX_AUTHOR_BYTES];
    MDB_val old;
    proto_put_be64(k, op->origin);
    int rc = rl_get(t, RL_DB_NODES, k, 8, &old);
    if (rc == 0 && old.mv_size >= 8 && proto_get_be64(old.mv_data) > op->seq)
        return 0;
    if (rc && rc != -ENOENT)
        return rc;
    proto_put_be64(v, op->seq);
    memcpy(v + 8, name->s, name->n);
    return rl_put(t, RL_DB_NODES, k, 8, v, 8 + name->n);
}

/*
 * The alert stores only a stable reason ('r': a body this version rejects), not the message:
 * the digest must not depend on the wording of one version's messages. The message is made
 * again from the op when the alert is read.
 */
static int noop_alert(struct rl_txn *t, const struct proto_op *op, char reason)
{
    struct rl_key k;
    rl_key_reset(&k);
    rl_key_u8(&k, RL_ALERT_NOOP);
    rl_key_u64(&k, op->origin);
    rl_key_u64(&k, op->seq);
    return rl_put(t, RL_DB_ALERTS, k.b, k.n, &reason, 1);
}

/*
 * Ops of a kind this version does not know (a newer node's) are stored and forwarded, and
 * counted per origin and kind: one alert says "N ops of kind K from node X". The count is a
 * function of the ops held. It is tallied in memory and written once per transaction, so a
 * batch of thousands costs one write.
 */
static int unknown_add(struct rl_txn *t, uint64_t origin, uint32_t kind, uint64_t n)
{
    struct rl_key k;
    MDB_val old;
    uint8_t v[8];
    uint64_t count = 0;
    rl_key_reset(&k);
    rl_key_u8(&k, RL_ALERT_UNKNOWN);
    rl_key_u64(&k, origin);
    rl_key_u8(&k, (uint8_t)(kind >> 24));
    rl_key_u8(&k, (uint8_t)(kind >> 16));
    rl_key_u8(&k, (uint8_t)(kind >> 8));
    rl_key_u8(&k, (uint8_t)kind);
    int rc = rl_get(t, RL_DB_ALERTS, k.b, k.n, &old);
    if (rc == 0 && old.mv_size == 8)
        count = proto_get_be64(old.mv_data);
    else if (rc && rc != -ENOENT)
        return rc;
    proto_put_be64(v, count + n);
    return rl_put(t, RL_DB_ALERTS, k.b, k.n, v, 8);
}

static int tally_unknown(struct rl_txn *t, const struct proto_op *op)
{
    for (unsigned i = 0; i < t->nunknown; i++) {
        if (t->unknown[i].origin == op->origin && t->unknown[i].kind == op->kind) {
            t->unknown[i].count++;
            return 0;
        }
    }
    if (t->nunknown == RL_UNKNOWN_TALLY)
        return unknown_add(t, op->origin, op->kind, 1); /* a full tally: write through */
    t->unknown[t->nunknown].origin = op->origin;
    t->unknown[t->nunknown].kind = op->kind;
    t->unknown[t->nunknown].count = 1;
    t->nunknown++;
    return 0;
}

int rl_views_flush(struct rl_txn *t, struct proto_err *e)
{
    for (unsigned i = 0; i < t->nunknown; i++) {
        int rc = unknown_add(t, t->unknown[i].origin, t->unknown[i].kind, t->unknown[i].count);
        if (rc)
            return proto_errf(e, rc, "cannot count ops of unknown kinds: %s",
                              proto_strerror(rc));
    }
    t->nunknown = 0;
    return 0;
}

/* --- site hooks: the short-code index and the capacity alert --- */

static int code_alert(struct rl_txn *t, const char *code, size_t n)
{
    struct rl_key pre, a;
    struct rl_cursor c;
    MDB_val k, v;
    int rc, count = 0;
    rl_key_reset(&pre);
    rl_key_str(&pre, code, n);
    if ((rc = rl_cursor_open(t, RL_DB_CODES, &c)))
        return rc;
    for (rc = rl_cursor_seek(&c, pre.b, pre.n, &k, &v); rc == 0 && count < 2;
         rc = rl_cursor_next(&c, &k, &v)) {
        if (!rl_key_has_prefix(k.mv_data, k.mv_size, &pre) || k.mv_size != pre.n + 8)
            break;
        count++;
    }
    rl_cursor_close(&c);
    if (rc && rc != -ENOENT)
        return rc;
    rl_key_reset(&a);
    rl_key_u8(&a, RL_ALERT_CODE);
    rl_key_raw(&a, pre.b, pre.n);
    if (count > 1)
        return rl_put(t, RL_DB_ALERTS, a.b, a.n, "", 0);
    rc = rl_del(t, RL_DB_ALERTS, a.b, a.n);
    return rc == -ENOENT ? 0 : rc;
}

static int code_index(struct rl_txn *t, uint64_t site, const char *code, size_t n, int add)
{
    struct rl_key k;
    int rc;
    if (!n)
        return 0;
    rl_key_reset(&k);
    rl_key_str(&k, code, n);
    rl_key_u64(&k, site);
    t->changes++; /* site lookups by code cached in this transaction are stale */
    if (add)
        rc = rl_put(t, RL_DB_CODES, k.b, k.n, "", 0);
    else if ((rc = rl_del(t, RL_DB_CODES, k.b, k.n)) == -ENOENT)
        rc = 0;
    return rc ? rc : code_alert(t, code, n);
}

static int capacity_alert(struct rl_txn *t, const struct rl_rid *r, uint64_t site)
{
    uint64_t cap, occ;
    struct rl_key a;
    int over = rl_field_uint(t, r, PROTO_SITE_CAPACITY, &cap) == 0 &&
               rl_field_uint(t, r, PROTO_SITE_OCCUPANCY, &occ) == 0 && cap > 0 && occ > cap;
    rl_key_reset(&a);
    rl_key_u8(&a, RL_ALERT_CAPACITY);
    rl_key_u64(&a, site);
    if (over)
        return rl_put(t, RL_DB_ALERTS, a.b, a.n, "", 0);
    int rc = rl_del(t, RL_DB_ALERTS, a.b, a.n);
    return rc == -ENOENT ? 0 : rc;
}

/* Write every field of a FIELDS map, each superseding what the SEEN map lists for it. */
static int write_fields(struct rl_txn *t, const struct rl_rid *r, const struct rl_opinfo *op,
                        const struct proto_val *fields, const struct proto_val *seen)
{
    struct proto_mp m;
    uint32_t n;
    int rc;
    proto_mp_init(&m, fields->raw, fields->raw_len);
    if (proto_mp_map(&m, &n))
        return PROTO_EFIELD;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        const uint8_t *val;
        if (proto_mp_uint(&m, &key))
            return PROTO_EFIELD;
        val = m.p;
        if (proto_mp_skip(&m, PROTO_MAX_DEPTH))
            return PROTO_EFIELD;
        size_t vlen = (size_t)(m.p - val);
        /* the refs this edit saw for the field */
        const uint8_t *refs = NULL;
        size_t refs_len = 0;
        if (seen && seen->present) {
            struct proto_mp sm;
            uint32_t sn;
            proto_mp_init(&sm, seen->raw, seen->raw_len);
            if (proto_mp_map(&sm, &sn))
                return PROTO_EFIELD;
            for (uint32_t j = 0; j < sn; j++) {
                uint64_t sk;
                if (proto_mp_uint(&sm, &sk))
                    return PROTO_EFIELD;
                const uint8_t *start = sm.p;
                if (proto_mp_skip(&sm, PROTO_MAX_DEPTH))
                    return PROTO_EFIELD;
                if (sk == key) {
                    refs = start;
                    refs_len = (size_t)(sm.p - start);
                }
            }
        }
        if ((rc = rl_field_write(t, r, (uint8_t)key, op, val, vlen, refs, refs_len, NULL)))
            return rc;
    }
    return 0;
}

static int apply_site(struct rl_txn *t, const struct rl_opinfo *op, uint32_t kind,
                      const struct proto_body *b)
{
    struct rl_rid r;
    uint64_t id = b->v[PROTO_F_SITE_ID].u;
    char before[80], after[80];
    int rc;
    rl_rid_site(&r, id);
    if (kind == PROTO_KIND_SITE_ADD && (rc = rl_record_create(t, &r, op)))
        return rc;
    rl_field_str(t, &r, PROTO_SITE_CODE, before, sizeof before);
    if ((rc = write_fields(t, &r, op, &b->v[PROTO_F_SITE_FIELDS],
                           kind == PROTO_KIND_SITE_SET ? &b->v[PROTO_F_SITE_SEEN] : NULL)))
        return rc;
    rl_field_str(t, &r, PROTO_SITE_CODE, after, sizeof after);
    if (strcmp(before, after) != 0) {
        if ((rc = code_index(t, id, before, strlen(before), 0)) ||
            (rc = code_index(t, id, after, strlen(after), 1)))
            return rc;
    }
    return capacity_alert(t, &r, id);
}

static int apply_record(struct rl_txn *t, const struct rl_opinfo *op, enum rl_rtype type, int add,
                        const struct proto_body *b)
{
    struct rl_rid r;
    int rc;
    if (add) {
        rl_rid_ref(&r, type, op->origin, op->seq);
        if ((rc = rl_record_create(t, &r, op)))
            return rc;
        return write_fields(t, &r, op, &b->v[PROTO_F_REC_FIELDS], NULL);
    }
    rl_rid_ref(&r, type, b->v[PROTO_F_REC_TARGET].origin, b->v[PROTO_F_REC_TARGET].u);
    return write_fields(t, &r, op, &b->v[PROTO_F_REC_FIELDS], &b->v[PROTO_F_REC_SEEN]);
}

static int remove_tags(struct rl_txn *t, const struct rl_rid *r, uint8_t set, uint64_t self,
                       const struct proto_val *tags)
{
    struct proto_mp m;
    uint32_t n;
    int rc;
    proto_mp_init(&m, tags->raw, tags->raw_len);
    if (proto_mp_array(&m, &n))
        return PROTO_EFIELD;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t o, s;
        if (proto_ref_read(&m, self, &o, &s))
            return PROTO_EFIELD;
        if ((rc = rl_set_remove(t, r, set, o, s)))
            return rc;
    }
    return 0;
}

/* shift sign-ups: set 1 of the shift; element = hlc(8) volunteer-len(1) volunteer contact */
static int apply_signup(struct rl_txn *t, const struct rl_opinfo *op, const struct proto_body *b)
{
    struct rl_rid r;
    uint8_t elem[8 + 1 + 256 + 256];
    const struct proto_val *vol = &b->v[PROTO_F_SIGNUP_VOLUNTEER];
    const struct proto_val *con = &b->v[PROTO_F_SIGNUP_CONTACT];
    size_t n = 0;
    rl_rid_ref(&r, RL_R_SHIFT, b->v[PROTO_F_REC_TARGET].origin, b->v[PROTO_F_REC_TARGET].u);
    proto_put_be64(elem, op->hlc);
    elem[8] = (uint8_t)vol->n;
    memcpy(elem + 9, vol->s, vol->n);
    n = 9 + vol->n;
    if (con->present) {
        memcpy(elem + n, con->s, con->n);
        n += con->n;
    }
    return rl_set_add(t, &r, 1, op->origin, op->seq, elem, n);
}

static int apply_served(struct rl_txn *t, const struct proto_body *b)
{
    struct rl_key k;
    MDB_val old;
    uint8_t v[8];
    int64_t q = 0;
    rl_key_reset(&k);
    rl_key_u8(&k, 'M');
    rl_key_u64(&k, b->v[PROTO_F_REC_TARGET].origin);
    rl_key_u64(&k, b->v[PROTO_F_REC_TARGET].u);
    int rc = rl_get(t, RL_DB_NEEDFILL, k.b, k.n, &old);
    if (rc == 0 && old.mv_size == 8)
        q = (int64_t)proto_get_be64(old.mv_data);
    else if (rc && rc != -ENOENT)
        return rc;
    proto_put_be64(v, (uint64_t)(q + (int64_t)b->v[PROTO_F_SERVED_MEALS].u));
    return rl_put(t, RL_DB_NEEDFILL, k.b, k.n, v, 8);
}

int rl_views_apply(struct rl_txn *t, const struct proto_op *op, const struct proto_body *body,
                   struct proto_err *e)
{
    static _Thread_local struct proto_body parsed;
    const struct proto_body *b = body ? body : &parsed;
    struct proto_err pe;
    struct rl_opinfo info = {op->origin, op->seq, op->hlc, op->author, op->author_len};
    struct rl_rid r;
    int rc;

    proto_err_clear(&pe);
    if (!body && !proto_kind_def(op->kind))
        rc = -ENOENT; /* a kind this version does not know (a peer's newer one) */
    else
        rc =
            body ? 0 : proto_body_parse(op->kind, op->body, op->body_len, op->origin, &parsed, &pe);
    if (rc == -ENOENT) {
        rc = tally_unknown(t, op);
        goto out;
    }
    if (rc) {
        rc = noop_alert(t, op, 'r');
        goto out;
    }
    switch (op->kind) {
    case PROTO_KIND_NODE:
        rc = apply_node(t, op, b);
        break;
    case PROTO_KIND_SITE_ADD:
    case PROTO_KIND_SITE_SET:
        rc = apply_site(t, &info, op->kind, b);
        break;
    case PROTO_KIND_SITE_LANG_ADD:
        rl_rid_site(&r, b->v[PROTO_F_SITE_ID].u);
        rc = rl_set_add(t, &r, 1, op->origin, op->seq, (const uint8_t *)b->v[PROTO_F_SITE_LANG].s,
                        b->v[PROTO_F_SITE_LANG].n);
        break;
    case PROTO_KIND_SITE_LANG_REMOVE:
        rl_rid_site(&r, b->v[PROTO_F_SITE_ID].u);
        rc = remove_tags(t, &r, 1, op->origin, &b->v[PROTO_F_SITE_TAGS]);
        break;
    case PROTO_KIND_ITEM_ADD:
    case PROTO_KIND_ITEM_SET:
        rl_rid_item(&r, b->v[PROTO_F_ITEM_CODE].s, b->v[PROTO_F_ITEM_CODE].n);
        if (op->kind == PROTO_KIND_ITEM_ADD && (rc = rl_record_create(t, &r, &info)))
            break;
        rc = write_fields(t, &r, &info, &b->v[PROTO_F_ITEM_FIELDS],
                          op->kind == PROTO_KIND_ITEM_SET ? &b->v[PROTO_F_ITEM_SEEN] : NULL);
        break;
    case PROTO_KIND_STOCK_RECEIVE:
    case PROTO_KIND_STOCK_DISPATCH:
    case PROTO_KIND_STOCK_DISTRIBUTE:
    case PROTO_KIND_STOCK_ADJUST:
        rc = rl_ledger_movement(t, &info, op->kind, b);
        break;
    case PROTO_KIND_STOCK_ARRIVE:
        rc = rl_ledger_arrive(t, &info, b);
        break;
    case PROTO_KIND_STOCK_VOID:
        rc = rl_ledger_void(t, &info, b);
        break;
    case PROTO_KIND_STOCK_COUNT:
        rc = rl_ledger_count(t, &info, b);
        break;
    case PROTO_KIND_NEED_ADD:
    case PROTO_KIND_NEED_SET:
        rc = apply_record(t, &info, RL_R_NEED, op->kind == PROTO_KIND_NEED_ADD, b);
        break;
    case PROTO_KIND_SHIFT_ADD:
    case PROTO_KIND_SHIFT_SET:
        rc = apply_record(t, &info, RL_R_SHIFT, op->kind == PROTO_KIND_SHIFT_ADD, b);
        break;
    case PROTO_KIND_DONATION_PLEDGE:
    case PROTO_KIND_DONATION_SET:
        rc = apply_record(t, &info, RL_R_DONATION, op->kind == PROTO_KIND_DONATION_PLEDGE, b);
        break;
    case PROTO_KIND_SHIFT_SIGNUP:
        rc = apply_signup(t, &info, b);
        break;
    case PROTO_KIND_SHIFT_CANCEL:
        rl_rid_ref(&r, RL_R_SHIFT, b->v[PROTO_F_REC_TARGET].origin, b->v[PROTO_F_REC_TARGET].u);
        rc = remove_tags(t, &r, 1, op->origin, &b->v[PROTO_F_CANCEL_TAGS]);
        break;
    case PROTO_KIND_SHIFT_SERVED:
        rc = apply_served(t, b);
        break;
    default:
        rc = 0;
    }
out:
    if (rc)
        return proto_errf(e, rc, "applying op %016llx:%llu (%s): %s",
                          (unsigned long long)op->origin, (unsigned long long)op->seq,
                          proto_kind_name(op->kind) ? proto_kind_name(op->kind) : "?",
                          proto_strerror(rc));
    return 0;
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

/* --- upgrading the data format --- */

/*
 * The shelf index is site(8) -> origin(8) seq(6) ih(2), one key per site (ledger.h:
 * rl_shelfmv_val). Formats 2-4 had site(8) s(item) -> origin(8) seq(8), format 5
 * site(8) -> h(4) origin(8) seq(8), formats 6-9 site(8) -> origin(8) seq(8) h(4), h the item's
 * whole 32-bit hash (which folds to ih), formats 10-12 site(8) -> origin(8) seq(8) ih(2).
 */
struct reshelve {
    uint32_t fmt;
    uint8_t key[8], val[RL_SHELFMV_VAL];
};

static void fold_ih(uint8_t *out, const uint8_t h[4])
{
    out[0] = h[0] ^ h[2];
    out[1] = h[1] ^ h[3];
}

static int reshelve_one(void *arg, const MDB_val *k, const MDB_val *v, MDB_val *ok, MDB_val *ov)
{
    struct reshelve *r = arg;
    const uint8_t *kb = k->mv_data, *vb = v->mv_data;
    if (r->fmt >= 10 && k->mv_size == 8 && v->mv_size == 18) {
        rl_shelfmv_put_ref(r->val, proto_get_be64(vb), proto_get_be64(vb + 8));
        memcpy(r->val + RL_SHELFMV_IH, vb + 16, 2);
    } else if (r->fmt >= 5 && r->fmt < 10 && k->mv_size == 8 && v->mv_size == 20) {
        const uint8_t *id = vb + (r->fmt == 5 ? 4 : 0);
        rl_shelfmv_put_ref(r->val, proto_get_be64(id), proto_get_be64(id + 8));
        fold_ih(r->val + RL_SHELFMV_IH, vb + (r->fmt == 5 ? 0 : 16));
    } else if (r->fmt < 5 && k->mv_size >= 9 && k->mv_size == 9u + kb[8] && v->mv_size == 16) {
        rl_shelfmv_val(r->val, (const char *)kb + 9, kb[8], proto_get_be64(vb),
                       proto_get_be64(vb + 8));
    } else {
        return PROTO_ECORRUPT;
    }
    memcpy(r->key, kb, 8);
    ok->mv_size = 8;
    ok->mv_data = r->key;
    ov->mv_size = RL_SHELFMV_VAL;
    ov->mv_data = r->val;
    return 0;
}

/*
 * Balance values as format 12 has them (ledger.h): quantities zigzag LEB128, q(qty), and the
 * lots of each shelf in its value while they come to at most RL_LOTS_INLINE bytes, else in
 * lotbal. Formats 2-11 wrote every quantity as 8 bytes: formats 2-6 kept every lot in lotbal,
 * site(8) s(item) s(lot) -> qty(8); formats 7-10 every lot in the value, qty(8) then s(lot)
 * qty(8) each; format 11 the same while those came to at most RL_LOTS_INLINE bytes, else
 * qty(8) RL_LOTS_SPILLED size(4) with the lots in lotbal. The new values are written in key
 * order; lots that go into a value are taken out of lotbal afterwards, lots that stay there or
 * go there are written there again.
 */
struct relot {
    struct rl_txn *t;
    struct rl_cursor lots;
    uint8_t *buf;
    size_t cap;
};

#define RELOT_HEAD 10 /* room for q(qty) in front of the lots in buf */

static int relot_room(struct relot *r, size_t need)
{
    if (need <= r->cap)
        return 0;
    size_t nc = need > 2 * r->cap ? need : 2 * r->cap;
    uint8_t *nb = realloc(r->buf, nc);
    if (!nb)
        return -ENOMEM;
    r->buf = nb;
    r->cap = nc;
    return 0;
}

/* s(lot) q(qty) after the n bytes of lots in r->buf (behind RELOT_HEAD) */
static int relot_add(struct relot *r, size_t *n, const uint8_t *slot, uint64_t qty)
{
    int rc = relot_room(r, RELOT_HEAD + *n + 1 + slot[0] + 10);
    if (rc)
        return rc;
    uint8_t *p = r->buf + RELOT_HEAD + *n;
    memcpy(p, slot, 1u + slot[0]);
    *n += 1 + slot[0] + rl_qty_put(p + 1 + slot[0], (int64_t)qty);
    return 0;
}

static int relot_one(void *arg, const MDB_val *k, const MDB_val *v, MDB_val *ok, MDB_val *ov)
{
    struct relot *r = arg;
    const uint8_t *vb = v ? v->mv_data : NULL;
    MDB_val lk, lv;
    size_t n = 0; /* bytes of lots */
    if (!k)
        return 0;
    if (v->mv_size < 8 || k->mv_size > 8 + 1 + 255)
        return PROTO_ECORRUPT;
    /* the value's own lots (formats 7-11), then those in lotbal (formats 2-6, 11) */
    size_t own = v->mv_size == 13 && vb[8] == RL_LOTS_SPILLED ? 8 : v->mv_size;
    int64_t qty = (int64_t)proto_get_be64(vb);
    int rc = 0;
    for (size_t i = 8; i < own && !rc; i += 1u + vb[i] + 8) {
        if (own - i < 1u + vb[i] + 8)
            return PROTO_ECORRUPT;
        rc = relot_add(r, &n, vb + i, proto_get_be64(vb + i + 1 + vb[i]));
    }
    for (rc = rc ? rc : rl_cursor_seek(&r->lots, k->mv_data, k->mv_size, &lk, &lv); rc == 0;
         rc = rl_cursor_next(&r->lots, &lk, &lv)) {
        const uint8_t *kp = lk.mv_data;
        if (lk.mv_size <= k->mv_size || memcmp(kp, k->mv_data, k->mv_size))
            break; /* past the shelf's lots */
        size_t ln = kp[k->mv_size];
        if (lk.mv_size != k->mv_size + 1 + ln || lv.mv_size != 8 || own != 8)
            return PROTO_ECORRUPT;
        if ((rc = relot_add(r, &n, kp + k->mv_size, proto_get_be64(lv.mv_data))))
            return rc;
    }
    if (rc && rc != -ENOENT)
        return rc;
    if ((rc = relot_room(r, RELOT_HEAD + (n > 5 ? n : 5))))
        return rc;
    uint8_t q[10], *lots = r->buf + RELOT_HEAD;
    size_t h = rl_qty_put(q, qty);
    *ok = *k;
    ov->mv_data = lots - h;
    ov->mv_size = h + n;
    memcpy(lots - h, q, h);
    if (n <= RL_LOTS_INLINE)
        return 0;
    /* too many for the value: in lotbal, the value marks it */
    struct rl_key sk;
    rl_key_reset(&sk);
    rl_key_raw(&sk, k->mv_data, k->mv_size);
    int64_t lq;
    for (size_t i = 0, next; i < n && !rc; i = next) {
        struct rl_key lkey = sk;
        size_t at = i + 1 + lots[i];
        next = at + rl_balance_qty(lots + at, n - at, &lq);
        rl_key_str(&lkey, (const char *)lots + i + 1, lots[i]);
        rc = rl_put(r->t, RL_DB_LOTBAL, lkey.b, lkey.n, lots + at, next - at);
    }
    uint32_t size = (uint32_t)n;
    lots[0] = RL_LOTS_SPILLED;
    lots[1] = (uint8_t)(size >> 24);
    lots[2] = (uint8_t)(size >> 16);
    lots[3] = (uint8_t)(size >> 8);
    lots[4] = (uint8_t)size;
    ov->mv_size = h + 5;
    return rc;
}

/* A lot in lotbal whose shelf's value holds its lots (taken in): out of lotbal. */
static int relot_drop(struct rl_txn *t)
{
    struct rl_cursor c;
    MDB_val k, v, bv;
    size_t n = 0, cap = 0;
    uint8_t(*drop)[8 + 1 + 255 + 1 + 64] = NULL;
    size_t *len = NULL;
    int64_t qty;
    int rc = rl_cursor_open(t, RL_DB_LOTBAL, &c);
    for (rc = rc ? rc : rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        const uint8_t *kp = k.mv_data;
        if (k.mv_size < 10 || k.mv_size > sizeof *drop || k.mv_size < 10u + kp[8]) {
            rc = PROTO_ECORRUPT;
            break;
        }
        int brc = rl_get(t, RL_DB_BALANCE, kp, 9u + kp[8], &bv);
        if (brc && brc != -ENOENT) {
            rc = brc;
            break;
        }
        size_t h = brc ? 0 : rl_balance_qty(bv.mv_data, bv.mv_size, &qty);
        if (h && bv.mv_size == h + 5 && ((const uint8_t *)bv.mv_data)[h] == RL_LOTS_SPILLED)
            continue; /* its shelf's lots stay here */
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            void *nd = realloc(drop, cap * sizeof *drop), *nl = realloc(len, cap * sizeof *len);
            if (nd)
                drop = nd;
            if (nl)
                len = nl;
            if (!nd || !nl) {
                rc = -ENOMEM;
                break;
            }
        }
        memcpy(drop[n], kp, k.mv_size);
        len[n++] = k.mv_size;
    }
    rl_cursor_close(&c);
    rc = rc == -ENOENT ? 0 : rc;
    for (size_t i = 0; i < n && !rc; i++)
        rc = rl_del(t, RL_DB_LOTBAL, drop[i], len[i]);
    free(drop);
    free(len);
    return rc;
}

static int relot(struct rl_txn *t)
{
    struct relot r = {.t = t};
    int rc = rl_cursor_open(t, RL_DB_LOTBAL, &r.lots);
    if (rc)
        return rc;
    rc = rl_rewrite(t, RL_DB_BALANCE, relot_one, &r);
    rl_cursor_close(&r.lots);
    free(r.buf);
    return rc ? rc : relot_drop(t);
}

/* Format 1 -> 2: every view emptied and the op log (payloads) applied again. */
static int rebuild_views(struct rl_txn *t, uint64_t *nops, struct proto_err *e)
{
    struct rl_opiter it;
    struct rl_opval ov;
    int rc;
    for (int db = 0; db < RL_DB_COUNT; db++) {
        /* forks are evidence received, not derived from the ops held */
        if (!rl_db_in_digest(db) || db == RL_DB_FORKS)
            continue;
        if ((rc = rl_clear(t, db)))
            return proto_errf(e, rc, "cannot empty %s: %s", rl_db_name(db), proto_strerror(rc));
    }
    /* older formats' databases: emptied, kept (store.h) */
    const enum rl_db f1[] = {RL_DB_F1_SITEITEM, RL_DB_F1_LOTUSE, RL_DB_F1_DONREC, RL_DB_LOTMV};
    for (size_t i = 0; i < sizeof f1 / sizeof *f1; i++)
        if ((rc = rl_clear(t, f1[i])))
            return proto_errf(e, rc, "cannot empty %s: %s", rl_db_name(f1[i]),
                              proto_strerror(rc));
    if ((rc = rl_opiter_open(t, &it)))
        return proto_errf(e, rc, "cannot read the op log: %s", proto_strerror(rc));
    /* views are a function of the set of ops, so the log's key order will do (each copied:
     * values LMDB returns are good only until the next write) */
    uint8_t *buf = malloc(PROTO_MAX_OP_BYTES);
    for (rc = buf ? rl_opiter_first(&it, &ov) : -ENOMEM; rc == 0; rc = rl_opiter_next(&it, &ov)) {
        struct proto_op op;
        if (ov.n > PROTO_MAX_OP_BYTES) {
            rc = PROTO_ECORRUPT;
            break;
        }
        memcpy(buf, ov.p, ov.n);
        if (proto_op_parse(buf, ov.n, &op, e)) {
            rc = PROTO_ECORRUPT;
            break;
        }
        op.origin = ov.origin;
        op.seq = ov.seq;
        memset(op.hash, 0, PROTO_HASH_BYTES); /* no view reads it */
        if ((rc = rl_views_apply(t, &op, NULL, e))) {
            rl_opiter_close(&it);
            free(buf);
            return rc;
        }
        ++*nops;
    }
    rl_opiter_close(&it);
    free(buf);
    if (rc != -ENOENT)
        return proto_errf(e, rc, "cannot read the op log: %s", proto_strerror(rc));
    return rl_views_flush(t, e);
}

static int upgrade_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    uint64_t *nops = arg, rebuilt = 0;
    uint32_t fmt;
    int rc;
    *nops = 0;
    /* another process may have upgraded it while this one waited for the write lock */
    if ((rc = rl_txn_format(t, &fmt)))
        return proto_errf(e, rc, "cannot read the data format: %s", proto_strerror(rc));
    if (fmt >= RL_FORMAT_VERSION)
        return 0;
    /* the views first, from the op log as it is (its pages clean: ops read while the views
     * are written stay where they are), then the log's new layout */
    if (fmt < 2) {
        t->op_skip = PROTO_HASH_BYTES;
        rc = rebuild_views(t, &rebuilt, e);
        t->op_skip = 0;
        if (rc)
            return rc;
    }
    /* formats 1-2: hash(16) payload per op; 3: the payload; 4-7: blocks of payloads */
    if (fmt < 4 && (rc = rl_oplog_pack(t, fmt < 3 ? PROTO_HASH_BYTES : 0, nops, e)))
        return rc;
    if (fmt >= 4 && fmt < 8 && (rc = rl_oplog_reencode(t, nops, e)))
        return rc;
    /* formats 2-12 had another shelf index (format 1's views were rebuilt above) */
    struct reshelve rs = {.fmt = fmt};
    if (fmt >= 2 && fmt < 13 && (rc = rl_rewrite_dups(t, RL_DB_SHELFMV, reshelve_one, &rs)))
        return proto_errf(e, rc, "cannot rewrite the shelf index: %s", proto_strerror(rc));
    /* formats 2-6 kept the lots' quantities apart from their shelves', 7-10 all in them */
    if (fmt >= 2 && fmt < 12 && (rc = relot(t)))
        return proto_errf(e, rc, "cannot rewrite the balances: %s", proto_strerror(rc));
    /* formats 2-8 kept an index of the movements of each lot: a trace walks the shelves */
    if (fmt >= 2 && fmt < 9 && (rc = rl_clear(t, RL_DB_LOTMV)))
        return proto_errf(e, rc, "cannot empty lotmv: %s", proto_strerror(rc));
    /* formats 13 and 14 had other rules (a count covered a transfer only through the arrival
     * shown, then through any it saw; a need's fulfilment summed what arrived and what was
     * handed out against it; a loss or a count took no lots): the views again, from the op
     * log as it now is */
    if (fmt >= 2 && fmt < 15 && (rc = rebuild_views(t, &rebuilt, e)))
        return rc;
    if (rebuilt > *nops)
        *nops = rebuilt;
    if (!*nops && (rc = rl_oplog_count(t, nops))) /* the log as it was */
        return proto_errf(e, rc, "cannot count the ops: %s", proto_strerror(rc));
    uint8_t now[4];
    rl_format_put_bytes(now, RL_FORMAT_VERSION);
    if ((rc = rl_put(t, RL_DB_META, "format", 6, now, 4)))
        return proto_errf(e, rc, "cannot write the format: %s", proto_strerror(rc));
    return 0;
}

int rl_views_upgrade(struct rl_store *s, uint64_t *nops, struct proto_err *e)
{
    uint64_t n = 0;
    int rc = rl_store_write(s, upgrade_fn, &n, e);
    if (!rc)
        s->format = RL_FORMAT_VERSION;
    if (nops)
        *nops = n;
    return rc;
}
