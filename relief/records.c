/*
 * Multi-value registers and add-wins sets over LMDB (see records.h).
 */
#include "records.h"

#include "key.h"
#include "proto/kinds.h"
#include "proto/limits.h"
#include "proto/mp.h"

#include <errno.h>
#include <string.h>

void rl_rid_site(struct rl_rid *r, uint64_t id)
{
    r->b[0] = RL_R_SITE;
    proto_put_be64(r->b + 1, id);
    r->n = 9;
}

void rl_rid_item(struct rl_rid *r, const char *code, size_t n)
{
    if (n > 64)
        n = 64;
    r->b[0] = RL_R_ITEM;
    r->b[1] = (uint8_t)n;
    memcpy(r->b + 2, code, n);
    r->n = (uint8_t)(2 + n);
}

void rl_rid_ref(struct rl_rid *r, enum rl_rtype type, uint64_t origin, uint64_t seq)
{
    r->b[0] = (uint8_t)type;
    proto_put_be64(r->b + 1, origin);
    proto_put_be64(r->b + 9, seq);
    r->n = 17;
}

static int op_less(uint64_t h1, uint64_t o1, uint64_t s1, uint64_t h2, uint64_t o2, uint64_t s2)
{
    if (h1 != h2)
        return h1 < h2;
    if (o1 != o2)
        return o1 < o2;
    return s1 < s2;
}

int rl_record_create(struct rl_txn *t, const struct rl_rid *r, const struct rl_opinfo *op)
{
    MDB_val v;
    uint8_t val[24];
    int rc = rl_get(t, RL_DB_RECORDS, r->b, r->n, &v);
    if (rc == 0 && v.mv_size == 24) {
        const uint8_t *p = v.mv_data;
        if (!op_less(op->hlc, op->origin, op->seq, proto_get_be64(p), proto_get_be64(p + 8),
                     proto_get_be64(p + 16)))
            return 0;
    } else if (rc && rc != -ENOENT) {
        return rc;
    }
    proto_put_be64(val, op->hlc);
    proto_put_be64(val + 8, op->origin);
    proto_put_be64(val + 16, op->seq);
    return rl_put(t, RL_DB_RECORDS, r->b, r->n, val, sizeof val);
}

int rl_record_get(struct rl_txn *t, const struct rl_rid *r, struct rl_opinfo *created)
{
    MDB_val v;
    int rc = rl_get(t, RL_DB_RECORDS, r->b, r->n, &v);
    if (rc)
        return rc;
    if (v.mv_size != 24)
        return PROTO_ECORRUPT;
    if (created) {
        const uint8_t *p = v.mv_data;
        memset(created, 0, sizeof *created);
        created->hlc = proto_get_be64(p);
        created->origin = proto_get_be64(p + 8);
        created->seq = proto_get_be64(p + 16);
    }
    return 0;
}

static void field_key(struct rl_key *k, const struct rl_rid *r, uint8_t field)
{
    rl_key_reset(k);
    rl_key_raw(k, r->b, r->n);
    rl_key_u8(k, field);
}

static int decode_head(const MDB_val *k, const MDB_val *v, struct rl_head *h)
{
    const uint8_t *kp = k->mv_data, *vp = v->mv_data;
    if (k->mv_size < 16 || v->mv_size < 9)
        return PROTO_ECORRUPT;
    h->origin = proto_get_be64(kp + k->mv_size - 16);
    h->seq = proto_get_be64(kp + k->mv_size - 8);
    h->hlc = proto_get_be64(vp);
    h->author_len = vp[8];
    if (v->mv_size < 9u + h->author_len)
        return PROTO_ECORRUPT;
    h->author = (const char *)vp + 9;
    h->val = vp + 9 + h->author_len;
    h->val_len = (uint32_t)(v->mv_size - 9 - h->author_len);
    return 0;
}

int rl_field_heads_at(struct rl_cursor *c, const struct rl_rid *r, uint8_t field,
                      int (*fn)(void *arg, const struct rl_head *h), void *arg)
{
    struct rl_key k;
    MDB_val fk, fv;
    int rc, count = 0;

    field_key(&k, r, field);
    for (rc = rl_cursor_seek(c, k.b, k.n, &fk, &fv); rc == 0; rc = rl_cursor_next(c, &fk, &fv)) {
        if (!rl_key_has_prefix(fk.mv_data, fk.mv_size, &k) || fk.mv_size != k.n + 16)
            break;
        struct rl_head h;
        if ((rc = decode_head(&fk, &fv, &h)))
            break;
        count++;
        if (fn && fn(arg, &h))
            break;
    }
    if (rc && rc != -ENOENT)
        return rc;
    return count;
}

int rl_field_versions(struct rl_txn *t, const struct rl_rid *r, uint8_t field,
                      int (*fn)(void *arg, uint64_t origin, uint64_t seq), void *arg)
{
    const enum rl_db dbs[2] = {RL_DB_FIELDS, RL_DB_SUPERSEDED};
    struct rl_key k;
    MDB_val fk, fv;
    int rc = 0, hit = 0;
    field_key(&k, r, field);
    for (int i = 0; i < 2 && !hit; i++) {
        struct rl_cursor c;
        if ((rc = rl_cursor_open(t, dbs[i], &c)))
            return rc;
        for (rc = rl_cursor_seek(&c, k.b, k.n, &fk, &fv); rc == 0;
             rc = rl_cursor_next(&c, &fk, &fv)) {
            if (!rl_key_has_prefix(fk.mv_data, fk.mv_size, &k) || fk.mv_size != k.n + 16)
                break;
            const uint8_t *kp = (const uint8_t *)fk.mv_data + k.n;
            if ((hit = fn(arg, proto_get_be64(kp), proto_get_be64(kp + 8))))
                break;
        }
        rl_cursor_close(&c);
        if (rc && rc != -ENOENT)
            return rc;
    }
    return hit ? 1 : 0;
}

int rl_field_heads(struct rl_txn *t, const struct rl_rid *r, uint8_t field,
                   int (*fn)(void *arg, const struct rl_head *h), void *arg)
{
    struct rl_cursor c;
    int rc = rl_cursor_open(t, RL_DB_FIELDS, &c);
    if (rc)
        return rc;
    rc = rl_field_heads_at(&c, r, field, fn, arg);
    rl_cursor_close(&c);
    return rc;
}

static int pick_max(void *arg, const struct rl_head *h)
{
    struct rl_head *best = arg;
    if (!best->seq || op_less(best->hlc, best->origin, best->seq, h->hlc, h->origin, h->seq))
        *best = *h;
    return 0;
}

int rl_field_get(struct rl_txn *t, const struct rl_rid *r, uint8_t field, struct rl_head *h)
{
    memset(h, 0, sizeof *h);
    int rc = rl_field_heads(t, r, field, pick_max, h);
    if (rc < 0)
        return rc;
    return rc == 0 ? -ENOENT : 0;
}

struct distinct {
    const uint8_t *first;
    uint32_t first_len;
    int differ;
};

static int cmp_values(void *arg, const struct rl_head *h)
{
    struct distinct *d = arg;
    if (!d->first) {
        d->first = h->val;
        d->first_len = h->val_len;
        return 0;
    }
    if (h->val_len != d->first_len || memcmp(h->val, d->first, h->val_len)) {
        d->differ = 1;
        return 1;
    }
    return 0;
}

int rl_field_conflict(struct rl_txn *t, const struct rl_rid *r, uint8_t field)
{
    struct distinct d = {0};
    int rc = rl_field_heads(t, r, field, cmp_values, &d);
    return rc < 0 ? rc : d.differ;
}

int rl_record_fields_at(struct rl_cursor *c, const struct rl_rid *r,
                        int (*fn)(void *arg, uint8_t field, const struct rl_head *shown,
                                  int conflict),
                        void *arg)
{
    struct rl_key k;
    MDB_val fk, fv;
    struct rl_head best, first;
    int field = -1, conflict = 0, rc, stop = 0;

    rl_key_reset(&k);
    rl_key_raw(&k, r->b, r->n);
    for (rc = rl_cursor_seek(c, k.b, k.n, &fk, &fv); rc == 0 && !stop;
         rc = rl_cursor_next(c, &fk, &fv)) {
        if (!rl_key_has_prefix(fk.mv_data, fk.mv_size, &k) || fk.mv_size != k.n + 17)
            break;
        struct rl_head h;
        if ((rc = decode_head(&fk, &fv, &h)))
            break;
        int f = ((const uint8_t *)fk.mv_data)[k.n];
        if (f != field) {
            if (field >= 0)
                stop = fn(arg, (uint8_t)field, &best, conflict);
            field = f;
            best = first = h;
            conflict = 0;
            continue;
        }
        if (h.val_len != first.val_len || memcmp(h.val, first.val, h.val_len))
            conflict = 1;
        if (op_less(best.hlc, best.origin, best.seq, h.hlc, h.origin, h.seq))
            best = h;
    }
    if (rc && rc != -ENOENT)
        return rc;
    if (field >= 0 && !stop)
        fn(arg, (uint8_t)field, &best, conflict);
    return 0;
}

int rl_record_fields(struct rl_txn *t, const struct rl_rid *r,
                     int (*fn)(void *arg, uint8_t field, const struct rl_head *shown,
                               int conflict),
                     void *arg)
{
    struct rl_cursor c;
    int rc;
    if ((rc = rl_cursor_open(t, RL_DB_FIELDS, &c)))
        return rc;
    rc = rl_record_fields_at(&c, r, fn, arg);
    rl_cursor_close(&c);
    return rc;
}

int rl_field_write(struct rl_txn *t, const struct rl_rid *r, uint8_t field,
                   const struct rl_opinfo *op, const uint8_t *val, size_t vlen,
                   const uint8_t *seen, size_t seen_len, int *changed)
{
    struct rl_key k;
    MDB_val v;
    int rc;

    if (changed)
        *changed = 0;
    /* 1. every version the edit saw is superseded, whether or not it has arrived */
    if (seen && seen_len) {
        struct proto_mp m;
        uint32_t n;
        proto_mp_init(&m, seen, seen_len);
        if (proto_mp_array(&m, &n))
            return PROTO_EFIELD;
        for (uint32_t i = 0; i < n; i++) {
            uint64_t o, s;
            if (proto_ref_read(&m, op->origin, &o, &s))
                return PROTO_EFIELD;
            field_key(&k, r, field);
            rl_key_u64(&k, o);
            rl_key_u64(&k, s);
            if ((rc = rl_put(t, RL_DB_SUPERSEDED, k.b, k.n, "", 0)))
                return rc;
            rc = rl_del(t, RL_DB_FIELDS, k.b, k.n);
            if (rc == 0 && changed)
                *changed = 1;
            else if (rc && rc != -ENOENT)
                return rc;
        }
    }
    /* 2. the edit is a head unless an edit already known saw it */
    field_key(&k, r, field);
    rl_key_u64(&k, op->origin);
    rl_key_u64(&k, op->seq);
    rc = rl_get(t, RL_DB_SUPERSEDED, k.b, k.n, &v);
    if (rc == 0)
        return 0;
    if (rc != -ENOENT)
        return rc;
    uint32_t alen = op->author_len > 255 ? 255 : op->author_len;
    uint8_t *p;
    if ((rc = rl_put_reserve(t, RL_DB_FIELDS, k.b, k.n, 9 + alen + vlen, (void **)&p)))
        return rc;
    proto_put_be64(p, op->hlc);
    p[8] = (uint8_t)alen;
    memcpy(p + 9, op->author, alen);
    memcpy(p + 9 + alen, val, vlen);
    if (changed)
        *changed = 1;
    return 0;
}

int rl_head_uint(const struct rl_head *h, uint64_t *v)
{
    struct proto_mp m;
    proto_mp_init(&m, h->val, h->val_len);
    if (proto_mp_peek(&m) == PROTO_MP_BOOL) {
        int b;
        proto_mp_bool(&m, &b);
        *v = (uint64_t)b;
        return 0;
    }
    return proto_mp_uint(&m, v) ? PROTO_EFIELD : 0;
}

int rl_head_int(const struct rl_head *h, int64_t *v)
{
    struct proto_mp m;
    proto_mp_init(&m, h->val, h->val_len);
    return proto_mp_int(&m, v) ? PROTO_EFIELD : 0;
}

int rl_head_str(const struct rl_head *h, const char **s, uint32_t *n)
{
    struct proto_mp m;
    proto_mp_init(&m, h->val, h->val_len);
    return proto_mp_str(&m, s, n, PROTO_MAX_STR_BYTES) ? PROTO_EFIELD : 0;
}

int rl_field_uint(struct rl_txn *t, const struct rl_rid *r, uint8_t field, uint64_t *v)
{
    struct rl_head h;
    int rc = rl_field_get(t, r, field, &h);
    return rc ? rc : rl_head_uint(&h, v);
}

int rl_field_int(struct rl_txn *t, const struct rl_rid *r, uint8_t field, int64_t *v)
{
    struct rl_head h;
    int rc = rl_field_get(t, r, field, &h);
    return rc ? rc : rl_head_int(&h, v);
}

static int head_str(struct rl_head *h, int rc, char *out, size_t n)
{
    const char *s;
    uint32_t len;
    out[0] = '\0';
    if (rc < 0)
        return rc;
    if (rc == 0)
        return -ENOENT;
    rc = rl_head_str(h, &s, &len);
    if (rc)
        return rc;
    if (len >= n)
        len = (uint32_t)n - 1;
    memcpy(out, s, len);
    out[len] = '\0';
    return 0;
}

int rl_field_str(struct rl_txn *t, const struct rl_rid *r, uint8_t field, char *out, size_t n)
{
    struct rl_head h = {0};
    return head_str(&h, rl_field_heads(t, r, field, pick_max, &h), out, n);
}

int rl_field_str_at(struct rl_cursor *c, const struct rl_rid *r, uint8_t field, char *out, size_t n)
{
    struct rl_head h = {0};
    return head_str(&h, rl_field_heads_at(c, r, field, pick_max, &h), out, n);
}

static void set_key(struct rl_key *k, const struct rl_rid *r, uint8_t set, uint64_t origin,
                    uint64_t seq)
{
    rl_key_reset(k);
    rl_key_raw(k, r->b, r->n);
    rl_key_u8(k, set);
    rl_key_u64(k, origin);
    rl_key_u64(k, seq);
}

int rl_set_add(struct rl_txn *t, const struct rl_rid *r, uint8_t set, uint64_t origin,
               uint64_t seq, const uint8_t *elem, size_t n)
{
    struct rl_key k;
    MDB_val v;
    set_key(&k, r, set, origin, seq);
    int rc = rl_get(t, RL_DB_REMOVED, k.b, k.n, &v);
    if (rc == 0)
        return 0; /* removed before it arrived */
    if (rc != -ENOENT)
        return rc;
    return rl_put(t, RL_DB_TAGS, k.b, k.n, elem, n);
}

int rl_set_remove(struct rl_txn *t, const struct rl_rid *r, uint8_t set, uint64_t origin,
                  uint64_t seq)
{
    struct rl_key k;
    set_key(&k, r, set, origin, seq);
    int rc = rl_put(t, RL_DB_REMOVED, k.b, k.n, "", 0);
    if (rc)
        return rc;
    rc = rl_del(t, RL_DB_TAGS, k.b, k.n);
    return rc == -ENOENT ? 0 : rc;
}

int rl_set_each(struct rl_txn *t, const struct rl_rid *r, uint8_t set,
                int (*fn)(void *arg, uint64_t origin, uint64_t seq, const uint8_t *elem,
                          size_t n),
                void *arg)
{
    struct rl_key k;
    struct rl_cursor c;
    MDB_val fk, fv;
    int rc;
    rl_key_reset(&k);
    rl_key_raw(&k, r->b, r->n);
    rl_key_u8(&k, set);
    if ((rc = rl_cursor_open(t, RL_DB_TAGS, &c)))
        return rc;
    for (rc = rl_cursor_seek(&c, k.b, k.n, &fk, &fv); rc == 0; rc = rl_cursor_next(&c, &fk, &fv)) {
        if (!rl_key_has_prefix(fk.mv_data, fk.mv_size, &k) || fk.mv_size != k.n + 16)
            break;
        const uint8_t *kp = fk.mv_data;
        if (fn(arg, proto_get_be64(kp + k.n), proto_get_be64(kp + k.n + 8), fv.mv_data,
               fv.mv_size))
            break;
    }
    rl_cursor_close(&c);
    return rc == -ENOENT ? 0 : rc;
}
