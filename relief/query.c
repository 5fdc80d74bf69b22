/*
 * The read side (see query.h).
 */
#include "query.h"

#include "hlc.h"
#include "key.h"
#include "ledger.h"
#include "mpjson.h"
#include "node.h"
#include "oplog.h"
#include "proto/kinds.h"
#include "proto/mp.h"
#include "records.h"
#include "report.h"
#include "views.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

json_t *rl_q_value(const struct rl_fieldopt *f, const uint8_t *val, size_t n)
{
    struct proto_mp m;
    uint64_t u;
    int64_t i;
    char buf[40];
    proto_mp_init(&m, val, n);
    switch (f ? f->fmt : 0) {
    case RL_FMT_ENUM:
        if (!proto_mp_uint(&m, &u)) {
            for (uint64_t k = 0; f->names[k]; k++)
                if (k + 1 == u)
                    return json_string(f->names[k]);
        }
        break;
    case RL_FMT_DEG:
        if (!proto_mp_int(&m, &i))
            return json_real((double)i / 1e6);
        break;
    case RL_FMT_TIME:
        if (!proto_mp_uint(&m, &u)) {
            rl_format_time(u, buf, sizeof buf);
            return json_string(buf);
        }
        break;
    case RL_FMT_DAY:
        if (!proto_mp_uint(&m, &u)) {
            rl_format_day((uint32_t)u, buf, sizeof buf);
            return json_string(buf);
        }
        break;
    case RL_FMT_SITE:
        if (!proto_mp_uint(&m, &u)) {
            snprintf(buf, sizeof buf, "%016llx", (unsigned long long)u);
            return json_string(buf);
        }
        break;
    default:
        break;
    }
    json_t *j = rl_mp_to_json(val, n);
    return j ? j : json_null();
}

struct fields_arg {
    const struct rl_fieldopt *table;
    json_t *o, *conf;
};

static int field_json(void *arg, uint8_t key, const struct rl_head *h, int conflict)
{
    struct fields_arg *a = arg;
    for (const struct rl_fieldopt *f = a->table; f->name; f++) {
        if (f->key != key)
            continue;
        json_object_set_new(a->o, f->name, rl_q_value(f, h->val, h->val_len));
        if (conflict)
            json_array_append_new(a->conf, json_string(f->name));
    }
    return 0;
}

/* Every field of a record that has a value, and the names of those in conflict. */
static void record_fields(struct rl_txn *t, const struct rl_rid *r,
                          const struct rl_fieldopt *table, json_t *o)
{
    struct fields_arg a = {table, o, json_array()};
    rl_record_fields(t, r, field_json, &a);
    json_object_set_new(o, "conflicts", a.conf);
}

static json_t *site_json(struct rl_txn *t, uint64_t id, int full)
{
    struct rl_rid r;
    char hex[17];
    json_t *o = json_object();
    rl_rid_site(&r, id);
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)id);
    json_object_set_new(o, "id", json_string(hex));
    record_fields(t, &r, rl_site_fields, o);
    (void)full;
    return o;
}

json_t *rl_q_sites(struct rl_txn *t, struct proto_err *e)
{
    struct rl_cursor c;
    MDB_val k, v;
    uint8_t start = RL_R_SITE;
    json_t *arr = json_array();
    int rc = rl_cursor_open(t, RL_DB_RECORDS, &c);
    if (rc) {
        json_decref(arr);
        proto_errf(e, rc, "cannot read sites: %s", proto_strerror(rc));
        return NULL;
    }
    for (rc = rl_cursor_seek(&c, &start, 1, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        const uint8_t *kp = k.mv_data;
        if (k.mv_size != 9 || kp[0] != RL_R_SITE)
            break;
        json_array_append_new(arr, site_json(t, proto_get_be64(kp + 1), 0));
    }
    rl_cursor_close(&c);
    return arr;
}

struct heads_json {
    json_t *arr;
    const struct rl_fieldopt *f;
};

static int head_json(void *arg, const struct rl_head *h)
{
    struct heads_json *a = arg;
    char when[40], ref[40];
    rl_hlc_format(h->hlc, when, sizeof when);
    rl_ref_format(h->origin, h->seq, ref);
    json_t *author = json_stringn(h->author, h->author_len);
    json_array_append_new(a->arr, json_pack("{s:o, s:o, s:s, s:s}", "value",
                                            rl_q_value(a->f, h->val, h->val_len), "author",
                                            author ? author : json_string("?"), "time", when,
                                            "op", ref));
    return 0;
}

static int lang_json(void *arg, uint64_t o, uint64_t s, const uint8_t *elem, size_t n)
{
    (void)o;
    (void)s;
    json_t *l = json_stringn((const char *)elem, n);
    if (l)
        json_array_append_new(arg, l);
    return 0;
}

json_t *rl_q_site(struct rl_txn *t, uint64_t id, struct proto_err *e)
{
    struct rl_rid r;
    rl_rid_site(&r, id);
    if (rl_record_get(t, &r, NULL)) {
        proto_errf(e, -ENOENT, "unknown site %016llx", (unsigned long long)id);
        return NULL;
    }
    json_t *o = site_json(t, id, 1);
    json_t *langs = json_array();
    rl_set_each(t, &r, 1, lang_json, langs);
    json_object_set_new(o, "languages", langs);
    /* conflicting fields with every value and its author */
    json_t *det = json_object();
    for (const struct rl_fieldopt *f = rl_site_fields; f->name; f++) {
        if (rl_field_conflict(t, &r, f->key) <= 0)
            continue;
        struct heads_json a = {json_array(), f};
        rl_field_heads(t, &r, f->key, head_json, &a);
        json_object_set_new(det, f->name, a.arr);
    }
    json_object_set_new(o, "conflict_values", det);
    json_object_set_new(o, "stock", rl_q_stock(t, id, NULL, e));
    return o;
}

json_t *rl_q_items(struct rl_txn *t, struct proto_err *e)
{
    struct rl_cursor c;
    MDB_val k, v;
    uint8_t start = RL_R_ITEM;
    json_t *arr = json_array();
    int rc = rl_cursor_open(t, RL_DB_RECORDS, &c);
    if (rc) {
        json_decref(arr);
        proto_errf(e, rc, "cannot read items: %s", proto_strerror(rc));
        return NULL;
    }
    for (rc = rl_cursor_seek(&c, &start, 1, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        const uint8_t *kp = k.mv_data;
        if (k.mv_size < 2 || kp[0] != RL_R_ITEM || k.mv_size != 2u + kp[1])
            break;
        struct rl_rid r;
        r.n = (uint8_t)k.mv_size;
        memcpy(r.b, kp, k.mv_size);
        json_t *o = json_object(), *conf = json_array();
        json_object_set_new(o, "code", json_stringn((const char *)kp + 2, kp[1]));
        for (const struct rl_fieldopt *f = rl_item_fields; f->name; f++) {
            struct rl_head h;
            if (rl_field_get(t, &r, f->key, &h))
                continue;
            json_object_set_new(o, f->name, rl_q_value(f, h.val, h.val_len));
            if (rl_field_conflict(t, &r, f->key) > 0)
                json_array_append_new(conf, json_string(f->name));
        }
        json_object_set_new(o, "conflicts", conf);
        json_array_append_new(arr, o);
    }
    rl_cursor_close(&c);
    return arr;
}

/*
 * Site labels are looked up for every row of a list (thousands of shelves, needs): a small
 * cache, valid for one read snapshot (LMDB's transaction id), saves most of the cost.
 */
/* n bytes at p into out (of on bytes), cut to fit, NUL-terminated */
static void copy_str(char *out, size_t on, const char *p, size_t n)
{
    if (!on)
        return;
    if (n >= on)
        n = on - 1;
    memcpy(out, p, n);
    out[n] = '\0';
}

/*
 * Site labels (code, name) of one snapshot of one opened store, cached: reports and listings name the
 * same sites over and over. One cache for the process, under a mutex (the server reads in its
 * thread pool); allocated on first use, so that a command that never reads a site does not
 * pay for it; big enough for a prefecture's sites (2,600), 4-way so that they rarely collide.
 */
#define LABELS 8192
static struct label {
    uint64_t gen; /* the store's (rl_store.gen) */
    size_t snapshot; /* 0: empty */
    uint64_t id;
    char code[40];
    char name[200];
} *labels;
static pthread_mutex_t labels_lock = PTHREAD_MUTEX_INITIALIZER;

#define LABEL_WAYS 4 /* a site's label may sit in any of the 4 slots of its set */

static int label_live(const struct label *l, const struct rl_txn *t, size_t snap)
{
    return l->snapshot == snap && l->gen == t->s->gen;
}

static void site_label(struct rl_txn *t, uint64_t id, char *code, size_t cn, char *name,
                       size_t nn)
{
    struct rl_rid r;
    size_t snap = t->write ? 0 : mdb_txn_id(t->txn) + 1;
    size_t set = (size_t)((id ^ (id >> 29)) % (LABELS / LABEL_WAYS)) * LABEL_WAYS;
    if (snap) {
        pthread_mutex_lock(&labels_lock);
        if (!labels)
            labels = calloc(LABELS, sizeof *labels);
        for (int w = 0; labels && w < LABEL_WAYS; w++) {
            struct label *l = &labels[set + (size_t)w];
            if (l->id == id && label_live(l, t, snap)) {
                copy_str(code, cn, l->code, strlen(l->code));
                copy_str(name, nn, l->name, strlen(l->name));
                pthread_mutex_unlock(&labels_lock);
                return;
            }
        }
        pthread_mutex_unlock(&labels_lock);
    }
    rl_rid_site(&r, id);
    rl_field_str(t, &r, PROTO_SITE_CODE, code, cn);
    rl_field_str(t, &r, PROTO_SITE_NAME, name, nn);
    /* only labels that fit are cached; a longer one is read again next time */
    size_t cl = strlen(code), nl = strlen(name);
    if (snap && cl < sizeof labels->code && nl < sizeof labels->name) {
        pthread_mutex_lock(&labels_lock);
        if (labels) {
            /* a slot not holding a label of this snapshot, else one picked by the id */
            struct label *l = &labels[set + (size_t)(id % LABEL_WAYS)];
            for (int w = 0; w < LABEL_WAYS; w++)
                if (!label_live(&labels[set + (size_t)w], t, snap)) {
                    l = &labels[set + (size_t)w];
                    break;
                }
            l->gen = t->s->gen;
            l->snapshot = snap;
            l->id = id;
            memcpy(l->code, code, cl + 1);
            memcpy(l->name, name, nl + 1);
        }
        pthread_mutex_unlock(&labels_lock);
    }
}

/* what is in transit to one shelf (c: an open cursor on RL_DB_TRANSIT) */
static int64_t transit_sum(struct rl_cursor *c, uint64_t site, const char *item, size_t il)
{
    struct rl_key pre;
    MDB_val k, v;
    int64_t sum = 0;
    rl_key_reset(&pre);
    rl_key_u64(&pre, site);
    rl_key_str(&pre, item, il);
    int rc;
    for (rc = rl_cursor_seek(c, pre.b, pre.n, &k, &v); rc == 0; rc = rl_cursor_next(c, &k, &v)) {
        if (!rl_key_has_prefix(k.mv_data, k.mv_size, &pre) || k.mv_size != pre.n + 16 ||
            v.mv_size != 8)
            break;
        sum += (int64_t)proto_get_be64(v.mv_data);
    }
    return sum;
}

/* the same, with a cursor of its own */
static int64_t transit_to(struct rl_txn *t, uint64_t site, const char *item, size_t il)
{
    struct rl_cursor c;
    if (rl_cursor_open(t, RL_DB_TRANSIT, &c))
        return 0;
    int64_t sum = transit_sum(&c, site, item, il);
    rl_cursor_close(&c);
    return sum;
}

struct stock_walk {
    struct rl_txn *t;
    struct rl_cursor transit, fields;
    rl_stock_row_fn fn;
    void *arg;
    struct rl_stock_row row;
    char hex[17], code[80], name[600], item[256], unit[40];
    uint64_t last_site; /* the label in code/name is this site's */
    int any;
};

static int stock_emit(struct stock_walk *w, uint64_t site, const char *item, size_t il,
                      int64_t bal)
{
    struct rl_rid r;
    if (!w->any || site != w->last_site) {
        snprintf(w->hex, sizeof w->hex, "%016llx", (unsigned long long)site);
        site_label(w->t, site, w->code, sizeof w->code, w->name, sizeof w->name);
        w->last_site = site;
    }
    w->any = 1;
    if (il >= sizeof w->item)
        il = sizeof w->item - 1;
    memcpy(w->item, item, il);
    w->item[il] = '\0';
    rl_rid_item(&r, item, il);
    rl_field_str_at(&w->fields, &r, PROTO_ITEM_UNIT, w->unit, sizeof w->unit);
    w->row = (struct rl_stock_row){site, w->hex, w->code, w->name, w->item, il, w->unit, bal,
                                   transit_sum(&w->transit, site, item, il)};
    return w->fn(w->arg, &w->row);
}

int rl_q_stock_rows(struct rl_txn *t, uint64_t site, const char *item, rl_stock_row_fn fn,
                    void *arg, struct proto_err *e)
{
    struct rl_key pre;
    struct rl_cursor c;
    MDB_val k, v;
    size_t il = item ? strlen(item) : 0;
    int rc, stop = 0;
    struct stock_walk *w = calloc(1, sizeof *w);

    if (!w)
        return proto_errf(e, -ENOMEM, "out of memory");
    w->t = t;
    w->fn = fn;
    w->arg = arg;
    rl_key_reset(&pre);
    if (site) {
        rl_key_u64(&pre, site);
        if (item)
            rl_key_str(&pre, item, il);
    }
    if ((rc = rl_cursor_open(t, RL_DB_TRANSIT, &w->transit))) {
        free(w);
        return proto_errf(e, rc, "cannot read stock: %s", proto_strerror(rc));
    }
    if ((rc = rl_cursor_open(t, RL_DB_FIELDS, &w->fields)) ||
        (rc = rl_cursor_open(t, RL_DB_BALANCE, &c))) {
        rl_cursor_close(&w->fields);
        rl_cursor_close(&w->transit);
        free(w);
        return proto_errf(e, rc, "cannot read stock: %s", proto_strerror(rc));
    }
    for (rc = pre.n ? rl_cursor_seek(&c, pre.b, pre.n, &k, &v) : rl_cursor_first(&c, &k, &v);
         rc == 0 && !stop; rc = rl_cursor_next(&c, &k, &v)) {
        if (!rl_key_has_prefix(k.mv_data, k.mv_size, &pre))
            break;
        const uint8_t *kp = k.mv_data;
        int64_t qty;
        if (k.mv_size < 9 || k.mv_size != 9u + kp[8] || !rl_balance_qty(v.mv_data, v.mv_size, &qty))
            continue;
        if (item && (kp[8] != il || memcmp(kp + 9, item, il)))
            continue;
        stop = stock_emit(w, proto_get_be64(kp), (const char *)kp + 9, kp[8], qty);
    }
    rl_cursor_close(&c);
    /* shelves with goods on the way but nothing yet, once per shelf */
    uint64_t last_site = 0;
    char last_item[256];
    size_t last_il = (size_t)-1;
    if (!stop && (rc = rl_cursor_open(t, RL_DB_TRANSIT, &c)) == 0) {
        for (rc = pre.n ? rl_cursor_seek(&c, pre.b, pre.n, &k, &v) : rl_cursor_first(&c, &k, &v);
             rc == 0 && !stop; rc = rl_cursor_next(&c, &k, &v)) {
            if (!rl_key_has_prefix(k.mv_data, k.mv_size, &pre))
                break;
            const uint8_t *kp = k.mv_data;
            if (k.mv_size != 9u + kp[8] + 16)
                continue;
            if (item && (kp[8] != il || memcmp(kp + 9, item, il)))
                continue;
            uint64_t s = proto_get_be64(kp);
            if (s == last_site && kp[8] == last_il && !memcmp(last_item, kp + 9, kp[8]))
                continue; /* the shelf's further transfers */
            last_site = s;
            last_il = kp[8];
            memcpy(last_item, kp + 9, kp[8]);
            int64_t b;
            if (rl_ledger_balance(t, s, (const char *)kp + 9, kp[8], &b) == -ENOENT)
                stop = stock_emit(w, s, (const char *)kp + 9, kp[8], 0);
        }
        rl_cursor_close(&c);
    }
    rl_cursor_close(&w->fields);
    rl_cursor_close(&w->transit);
    free(w);
    return stop < 0 ? proto_errf(e, stop, "cannot list stock: %s", proto_strerror(stop)) : 0;
}

static int stock_json_row(void *arg, const struct rl_stock_row *r)
{
    json_t *o = json_pack("{s:s, s:s, s:s, s:s%, s:s, s:I, s:I}", "site", r->site_hex,
                          "site_code", r->site_code, "site_name", r->site_name, "item", r->item,
                          r->item_len, "unit", r->unit, "balance", (json_int_t)r->balance,
                          "in_transit", (json_int_t)r->in_transit);
    return o && json_array_append_new(arg, o) == 0 ? 0 : -ENOMEM;
}

json_t *rl_q_stock(struct rl_txn *t, uint64_t site, const char *item, struct proto_err *e)
{
    json_t *arr = json_array();
    if (!arr || rl_q_stock_rows(t, site, item, stock_json_row, arr, e)) {
        json_decref(arr);
        return NULL;
    }
    return arr;
}

json_t *rl_q_shifts(struct rl_txn *t, struct proto_err *e);
json_t *rl_q_donations(struct rl_txn *t, struct proto_err *e);

/* An alert: its type, severity, an English message, and its details (params, taken) for a
 * dashboard to word in the user's language and to link to the site or record. */
static json_t *alert(const char *type, const char *severity, const char *msg, json_t *params)
{
    json_t *a = json_pack("{s:s, s:s, s:s}", "type", type, "severity", severity, "message", msg);
    json_object_set_new(a, "params", params ? params : json_object());
    return a;
}

/* o with the keys of more set on it (more taken). */
static json_t *with_set(json_t *o, json_t *more)
{
    json_object_update(o, more);
    json_decref(more);
    return o;
}

static json_t *unknown_params(uint64_t count, uint32_t kind, uint64_t node, const char *name)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)node);
    return json_pack("{s:I, s:I, s:s, s:s}", "count", (json_int_t)count, "kind", (json_int_t)kind,
                     "node", hex, "node_name", name);
}

static json_t *site_params(uint64_t site, const char *code, const char *name)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)site);
    return json_pack("{s:s, s:s, s:s}", "site", hex, "site_code", code, "site_name", name);
}

/* How far back an origin's ops are read to find one stamped by its own clock. */
#define RL_CLOCK_LOOKBACK 64

/* Kinds whose stamp may be an overwritten value's plus one, not the author's clock. */
static int stamped_past_overwritten(uint32_t kind)
{
    return kind == PROTO_KIND_SITE_SET || kind == PROTO_KIND_ITEM_SET ||
           kind == PROTO_KIND_NEED_SET || kind == PROTO_KIND_SHIFT_SET ||
           kind == PROTO_KIND_DONATION_SET || kind == PROTO_KIND_STOCK_ARRIVE;
}

/* A shelf's lot with stock whose expiry is at most 7 days from today (or past): an alert. */
struct expiring {
    struct rl_txn *t;
    json_t *arr;
    uint32_t today;
    uint64_t site;
    const char *item;
    size_t il;
};

static int expiring_lot(void *arg, const char *lot, size_t ln, uint32_t exp, int64_t qty)
{
    struct expiring *x = arg;
    char code[80], name[600], msg[1024], day[16];
    if (qty <= 0 || !ln || !exp)
        return 0;
    if (exp > x->today + 7)
        return 0;
    rl_format_day(exp, day, sizeof day);
    site_label(x->t, x->site, code, sizeof code, name, sizeof name);
    snprintf(msg, sizeof msg, "lot %.*s of %.*s at %s %s (%lld) %s on %s", (int)ln, lot, (int)x->il,
             x->item, code[0] ? code : "?", name, (long long)qty,
             exp < x->today ? "expired" : "expires", day);
    json_array_append_new(x->arr,
                          alert("expiring_lot", exp < x->today ? "high" : "medium", msg,
                                with_set(site_params(x->site, code, name),
                                         json_pack("{s:s%, s:s%, s:I, s:s, s:b}", "lot", lot, ln,
                                                   "item", x->item, x->il, "qty", (json_int_t)qty,
                                                   "expiry", day, "expired", exp < x->today))));
    return 0;
}

struct transit_ref {
    uint64_t hlc, o, s;
};

static int transit_cmp(const void *x, const void *y)
{
    const struct transit_ref *a = x, *b = y;
    if (a->hlc != b->hlc)
        return a->hlc < b->hlc ? -1 : 1;
    if (a->o != b->o)
        return a->o < b->o ? -1 : 1;
    return a->s < b->s ? -1 : a->s > b->s;
}

json_t *rl_q_transit(struct rl_txn *t, uint64_t site, const char *item, struct proto_err *e)
{
    static _Thread_local struct rl_mv mv;
    struct rl_cursor c;
    MDB_val k, v;
    struct transit_ref *refs = NULL;
    size_t n = 0, cap = 0, il = item ? strlen(item) : 0;
    int rc = rl_cursor_open(t, RL_DB_TRANSIT, &c);
    if (rc) {
        proto_errf(e, rc, "cannot read what is in transit: %s", proto_strerror(rc));
        return NULL;
    }
    /* to(8) s(item) origin(8) seq(8) -> qty: just the transfers still open */
    for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        const uint8_t *kb = k.mv_data;
        if (k.mv_size < 25 || k.mv_size != 25u + kb[8])
            continue;
        if (item && (kb[8] != il || memcmp(kb + 9, item, il)))
            continue;
        uint64_t o = proto_get_be64(kb + k.mv_size - 16), s = proto_get_be64(kb + k.mv_size - 8);
        if (rl_ledger_get(t, o, s, &mv) || (site && mv.site != site && mv.to != site))
            continue;
        if (n == cap) {
            struct transit_ref *nr = realloc(refs, (cap = cap ? cap * 2 : 64) * sizeof *nr);
            if (!nr) {
                rc = -ENOMEM;
                break;
            }
            refs = nr;
        }
        refs[n++] = (struct transit_ref){mv.hlc, o, s};
    }
    rl_cursor_close(&c);
    if (rc && rc != -ENOENT) {
        free(refs);
        proto_errf(e, rc, "cannot read what is in transit: %s", proto_strerror(rc));
        return NULL;
    }
    if (n)
        qsort(refs, n, sizeof *refs, transit_cmp);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char ref[40], when[40], from[17], to[17], fcode[80], fname[600], tcode[80], tname[600];
        if (rl_ledger_get(t, refs[i].o, refs[i].s, &mv))
            continue;
        rl_ref_format(mv.origin, mv.seq, ref);
        rl_hlc_format(mv.hlc, when, sizeof when);
        snprintf(from, sizeof from, "%016llx", (unsigned long long)mv.site);
        snprintf(to, sizeof to, "%016llx", (unsigned long long)mv.to);
        site_label(t, mv.site, fcode, sizeof fcode, fname, sizeof fname);
        site_label(t, mv.to, tcode, sizeof tcode, tname, sizeof tname);
        json_array_append_new(
            arr, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s%, s:I, s:s}", "transfer",
                           ref, "time", when, "from", from, "from_code", fcode, "from_name", fname,
                           "to", to, "to_code", tcode, "to_name", tname, "item", mv.item,
                           (size_t)mv.item_len, "qty", (json_int_t)mv.qty, "author", mv.author));
    }
    free(refs);
    return arr;
}

json_t *rl_q_alerts(struct rl_txn *t, uint64_t now_ms, struct proto_err *e)
{
    struct rl_cursor c;
    MDB_val k, v;
    json_t *arr = json_array();
    char msg[1024], code[80], name[600], ref[40], noop_reason[512] = "";
    int rc = rl_cursor_open(t, RL_DB_ALERTS, &c);
    if (rc) {
        json_decref(arr);
        proto_errf(e, rc, "cannot read alerts: %s", proto_strerror(rc));
        return NULL;
    }
    for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        const uint8_t *kp = k.mv_data;
        size_t n = k.mv_size;
        if (n < 1)
            continue;
        switch (kp[0]) {
        case RL_ALERT_NEGATIVE: {
            if (n < 10 || n != 10u + kp[9])
                continue;
            int64_t b = 0;
            uint64_t site = proto_get_be64(kp + 1);
            rl_ledger_balance(t, site, (const char *)kp + 10, kp[9], &b);
            site_label(t, site, code, sizeof code, name, sizeof name);
            snprintf(msg, sizeof msg, "negative stock: %.*s at %s %s is %lld", kp[9], kp + 10,
                     code[0] ? code : "?", name, (long long)b);
            json_array_append_new(arr, alert("negative_stock", "high", msg, with_set(site_params(site, code, name), json_pack("{s:s%, s:I}", "item", (const char *)kp + 10, (size_t)kp[9], "qty", (json_int_t)b))));
            break;
        }
        case RL_ALERT_ARRIVAL: {
            static _Thread_local struct rl_mv mv;
            if (n != 17)
                continue;
            uint64_t o = proto_get_be64(kp + 1), s = proto_get_be64(kp + 9);
            if (rl_ledger_get(t, o, s, &mv))
                continue;
            struct rl_rid r;
            uint64_t arrived = 0;
            rl_rid_ref(&r, RL_R_TRANSFER, o, s);
            rl_field_uint(t, &r, RL_TRANSFER_ARRIVED, &arrived);
            rl_ref_format(o, s, ref);
            site_label(t, mv.to, code, sizeof code, name, sizeof name);
            snprintf(msg, sizeof msg,
                     "transfer %s of %s to %s %s: dispatched %lld, arrived %llu", ref, mv.item,
                     code[0] ? code : "?", name, (long long)mv.qty, (unsigned long long)arrived);
            json_array_append_new(arr, alert("arrival_mismatch", "medium", msg, with_set(site_params(mv.to, code, name), json_pack("{s:s, s:s, s:I, s:I}", "transfer", ref, "item", mv.item, "dispatched", (json_int_t)mv.qty, "arrived", (json_int_t)arrived))));
            break;
        }
        case RL_ALERT_CAPACITY: {
            if (n != 9)
                continue;
            uint64_t site = proto_get_be64(kp + 1), cap = 0, occ = 0;
            struct rl_rid r;
            rl_rid_site(&r, site);
            rl_field_uint(t, &r, PROTO_SITE_CAPACITY, &cap);
            rl_field_uint(t, &r, PROTO_SITE_OCCUPANCY, &occ);
            site_label(t, site, code, sizeof code, name, sizeof name);
            snprintf(msg, sizeof msg, "over capacity: %s %s holds %llu people, capacity %llu",
                     code[0] ? code : "?", name, (unsigned long long)occ,
                     (unsigned long long)cap);
            json_array_append_new(arr, alert("over_capacity", "high", msg, with_set(site_params(site, code, name), json_pack("{s:I, s:I}", "occupancy", (json_int_t)occ, "capacity", (json_int_t)cap))));
            break;
        }
        case RL_ALERT_CODE:
            if (n < 2 || n != 2u + kp[1])
                continue;
            snprintf(msg, sizeof msg,
                     "short code '%.*s' is used by more than one site: name them by id", kp[1],
                     kp + 2);
            json_array_append_new(arr, alert("duplicate_code", "medium", msg, json_pack("{s:s%}", "code", (const char *)kp + 2, (size_t)kp[1])));
            break;
        case RL_ALERT_UNKNOWN: {
            if (n != 13 || v.mv_size != 8)
                continue;
            char node[PROTO_MAX_AUTHOR_BYTES + 1];
            uint64_t o = proto_get_be64(kp + 1);
            uint32_t kind = (uint32_t)kp[9] << 24 | (uint32_t)kp[10] << 16 |
                            (uint32_t)kp[11] << 8 | kp[12];
            rl_views_node_name(t, o, node, sizeof node);
            snprintf(msg, sizeof msg,
                     "%llu ops of kind %u from node %016llx %s kept unapplied: this relief does "
                     "not know the kind (a newer version?); they are stored and forwarded",
                     (unsigned long long)proto_get_be64(v.mv_data), kind, (unsigned long long)o,
                     node);
            json_array_append_new(arr, alert("unknown_kind", "low", msg, unknown_params(proto_get_be64(v.mv_data), kind, o, node)));
            break;
        }
        case RL_ALERT_NOOP:
            if (n != 17)
                continue;
        {
            struct proto_op op;
            struct proto_err pe;
            static _Thread_local struct proto_body body;
            uint64_t o = proto_get_be64(kp + 1), s = proto_get_be64(kp + 9);
            rl_ref_format(o, s, ref);
            proto_err_clear(&pe);
            if (rl_oplog_get(t, o, s, &op, &pe) == 0 &&
                proto_body_parse(op.kind, op.body, op.body_len, o, &body, &pe) == -ENOENT)
                snprintf(pe.msg, sizeof pe.msg,
                         "unknown kind %u, stored and forwarded (from a newer relief?)", op.kind);
            snprintf(msg, sizeof msg, "op %s kept as a no-op: %s", ref, pe.msg);
            snprintf(noop_reason, sizeof noop_reason, "%s", pe.msg);
        }
            json_array_append_new(arr, alert("noop", "low", msg, json_pack("{s:s, s:s}", "op", ref, "reason", noop_reason)));
            break;
        default:
            break;
        }
    }
    rl_cursor_close(&c);

    /* shifts with more sign-ups than slots; donations delivered beyond the pledge */
    {
        struct proto_err qe;
        json_t *shifts = rl_q_shifts(t, &qe), *dons = rl_q_donations(t, &qe);
        size_t i;
        json_t *o;
        json_array_foreach(shifts, i, o)
        {
            json_int_t w = json_integer_value(json_object_get(o, "waitlisted"));
            if (w <= 0)
                continue;
            const char *sc = json_string_value(json_object_get(o, "site_code"));
            snprintf(msg, sizeof msg, "shift %s at %s (%s) is overbooked: %lld wait-listed",
                     json_string_value(json_object_get(o, "id")), sc && *sc ? sc : "?",
                     json_string_value(json_object_get(o, "start")) ? json_string_value(
                                                                         json_object_get(o, "start"))
                                                                    : "?",
                     (long long)w);
            json_array_append_new(arr, alert("overbooked_shift", "medium", msg, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?, s:I}", "shift", json_object_get(o, "id"), "site", json_object_get(o, "site"), "site_code", json_object_get(o, "site_code"), "site_name", json_object_get(o, "site_name"), "start", json_object_get(o, "start"), "waitlisted", (json_int_t)w)));
        }
        json_array_foreach(dons, i, o)
        {
            json_t *q = json_object_get(o, "qty");
            json_int_t d = json_integer_value(json_object_get(o, "delivered"));
            if (!json_is_integer(q) || d <= json_integer_value(q))
                continue;
            snprintf(msg, sizeof msg, "donation %s: delivered %lld, more than the %lld pledged",
                     json_string_value(json_object_get(o, "id")), (long long)d,
                     (long long)json_integer_value(q));
            json_array_append_new(arr, alert("over_delivered", "low", msg, json_pack("{s:O?, s:I, s:I}", "donation", json_object_get(o, "id"), "delivered", (json_int_t)d, "pledged", json_integer_value(q))));
        }
        json_decref(shifts);
        json_decref(dons);
    }

    /*
     * Computed when read, outside the digest: clocks, then lots expiring. Each origin's clock is
     * judged by its latest op that took its stamp from its author's clock: an edit that
     * overwrote a value is stamped just past that value (the overwrite rule), so after a 2099
     * value it says 2099 whatever its author's clock says, and is passed over (as far back as
     * RL_CLOCK_LOOKBACK ops).
     */
    struct proto_vv vv;
    struct rl_node self;
    struct proto_err ne;
    uint64_t *stamp = NULL, *stamp_seq = NULL; /* per VV entry: ms and seq of that op, or 0 */
    proto_vv_init(&vv);
    if (rl_vv_load(t, &vv, e) == 0 && vv.n) {
        stamp = calloc(vv.n, sizeof *stamp);
        stamp_seq = calloc(vv.n, sizeof *stamp_seq);
    }
    for (uint32_t i = 0; stamp && stamp_seq && i < vv.n; i++) {
        uint64_t first = vv.e[i].seq > RL_CLOCK_LOOKBACK ? vv.e[i].seq - RL_CLOCK_LOOKBACK : 0;
        for (uint64_t sq = vv.e[i].seq; sq > first; sq--) {
            struct proto_op op;
            struct proto_err ge;
            if (rl_oplog_get(t, vv.e[i].origin, sq, &op, &ge))
                break;
            if (stamped_past_overwritten(op.kind))
                continue;
            stamp[i] = rl_hlc_ms(op.hlc);
            stamp_seq[i] = sq;
            break;
        }
    }
    /*
     * This node's own clock, set back (a laptop whose clock battery ran down in a power cut
     * starts in its firmware's year): it says a time well before this node's own last stamp,
     * and most other nodes' clocks say a later time too. Alone, the node cannot tell a clock set
     * back from one that ran ahead before and was set right; the other nodes' word tells them
     * apart (a majority of them, so that one node far ahead does not).
     * While it lasts, lots are judged by the node's last stamp, and no other node is called
     * ahead (judged by a clock known to be wrong, every one would be).
     */
    uint64_t ref_ms = now_ms;
    int behind = 0;
    if (rl_node_load(t, &self, &ne) == 0 &&
        rl_hlc_ms(self.clock) > now_ms + 2 * RL_HLC_MAX_DRIFT_MS) {
        uint32_t others = 0, later = 0; /* more than half of the others must say a later time */
        for (uint32_t i = 0; stamp && i < vv.n; i++) {
            if (vv.e[i].origin == self.id || !stamp[i])
                continue;
            others++;
            later += stamp[i] > now_ms + RL_HLC_MAX_DRIFT_MS;
        }
        behind = 2 * later > others;
    }
    if (behind) {
        char nid[17], said[40], last[40];
        snprintf(nid, sizeof nid, "%016llx", (unsigned long long)self.id);
        rl_hlc_format(now_ms << 16, said, sizeof said);
        rl_hlc_format(self.clock, last, sizeof last);
        snprintf(msg, sizeof msg,
                 "the clock of this node %s %s says %s, before its own last change (%s) and "
                 "other nodes' changes: set the date and time",
                 nid, self.name, said, last);
        json_array_append_new(arr, alert("clock_behind", "high", msg,
                                         json_pack("{s:s, s:s, s:s, s:s}", "node", nid, "node_name",
                                                   self.name, "time", said, "last", last)));
        ref_ms = rl_hlc_ms(self.clock);
    }
    /* lots expiring within 7 days */
    struct expiring x = {.t = t, .arr = arr, .today = (uint32_t)(ref_ms / 86400000)};
    if (rl_cursor_open(t, RL_DB_BALANCE, &c) == 0) {
        for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
            const uint8_t *kp = k.mv_data;
            if (k.mv_size < 9 || k.mv_size != 9u + kp[8])
                continue;
            x.site = proto_get_be64(kp);
            x.item = (const char *)kp + 9;
            x.il = kp[8];
            /* (what the shelf still holds of each: a lot lost or counted away is not) */
            rl_shelf_lots_held(t, k.mv_data, k.mv_size, v.mv_data, v.mv_size, expiring_lot, &x);
        }
        rl_cursor_close(&c);
    }
    /* origins whose clocks run far ahead of this node's */
    for (uint32_t i = 0; !behind && stamp && stamp_seq && i < vv.n; i++) {
        if (stamp[i] <= now_ms + RL_HLC_MAX_DRIFT_MS)
            continue; /* its clock looks right (or no op of it said) */
        char node[PROTO_MAX_AUTHOR_BYTES + 1], when[40], nid[17];
        rl_views_node_name(t, vv.e[i].origin, node, sizeof node);
        rl_hlc_format(stamp[i] << 16, when, sizeof when);
        snprintf(msg, sizeof msg, "clock of node %016llx %s is far ahead: its op %llu says %s",
                 (unsigned long long)vv.e[i].origin, node, (unsigned long long)stamp_seq[i], when);
        snprintf(nid, sizeof nid, "%016llx", (unsigned long long)vv.e[i].origin);
        json_array_append_new(
            arr, alert("clock_ahead", "medium", msg,
                       json_pack("{s:s, s:s, s:s}", "node", nid, "node_name", node, "time", when)));
    }
    free(stamp);
    free(stamp_seq);
    proto_vv_free(&vv);
    return arr;
}

json_t *rl_q_conflicts(struct rl_txn *t, struct proto_err *e)
{
    struct rl_cursor c;
    MDB_val k, v;
    json_t *arr = json_array();
    uint8_t last[80];
    size_t last_n = 0;
    int rc = rl_cursor_open(t, RL_DB_FIELDS, &c);
    if (rc) {
        json_decref(arr);
        proto_errf(e, rc, "cannot read fields: %s", proto_strerror(rc));
        return NULL;
    }
    for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        if (k.mv_size < 18 || k.mv_size - 16 > sizeof last)
            continue;
        size_t pn = k.mv_size - 16; /* rid + field */
        if (pn == last_n && memcmp(last, k.mv_data, pn) == 0)
            continue; /* this field was looked at already */
        memcpy(last, k.mv_data, pn);
        last_n = pn;
        struct rl_rid r;
        r.n = (uint8_t)(pn - 1);
        memcpy(r.b, k.mv_data, r.n);
        uint8_t field = last[pn - 1];
        if (rl_field_conflict(t, &r, field) <= 0)
            continue;
        const struct rl_fieldopt *fs = rl_fields_of((enum rl_rtype)r.b[0]);
        const struct rl_fieldopt *f = NULL;
        for (const struct rl_fieldopt *x = fs; x && x->name; x++)
            if (x->key == field)
                f = x;
        char id[96], label[600] = "";
        const char *type = "record";
        if (r.b[0] == RL_R_SITE) {
            type = "site";
            snprintf(id, sizeof id, "%016llx", (unsigned long long)proto_get_be64(r.b + 1));
            char code[80];
            site_label(t, proto_get_be64(r.b + 1), code, sizeof code, label, sizeof label);
            if (code[0])
                snprintf(id, sizeof id, "%s", code);
        } else if (r.b[0] == RL_R_ITEM) {
            type = "item";
            snprintf(id, sizeof id, "%.*s", r.b[1], r.b + 2);
        } else if (r.n == 17) {
            type = r.b[0] == RL_R_TRANSFER ? "transfer"
                   : r.b[0] == RL_R_NEED   ? "need"
                   : r.b[0] == RL_R_SHIFT  ? "shift"
                                           : "donation";
            rl_ref_format(proto_get_be64(r.b + 1), proto_get_be64(r.b + 9), id);
        } else {
            continue;
        }
        char fname[16];
        snprintf(fname, sizeof fname, "%u", field);
        struct heads_json a = {json_array(), f};
        rl_field_heads(t, &r, field, head_json, &a);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:o}", "type", type, "id", id,
                                             "name", label, "field",
                                             f ? f->name
                                               : (r.b[0] == RL_R_TRANSFER ? "arrived" : fname),
                                             "values", a.arr));
    }
    rl_cursor_close(&c);
    return arr;
}

/* --- needs, shifts, donations --- */

static int64_t sum_of(struct rl_txn *t, uint8_t prefix, uint64_t o, uint64_t s)
{
    uint8_t k[17];
    MDB_val v;
    size_t kn = prefix ? 17 : 16;
    k[0] = prefix;
    proto_put_be64(k + kn - 16, o);
    proto_put_be64(k + kn - 8, s);
    if (rl_get(t, RL_DB_NEEDFILL, k, kn, &v) || v.mv_size != 8)
        return 0;
    return (int64_t)proto_get_be64(v.mv_data);
}

/* A need's fulfilment: what arrived against it or what was handed out against it, whichever is
 * more (goods sent to a centre against a need and handed out there against it count once). */
static int64_t fulfilled_of(struct rl_txn *t, uint64_t o, uint64_t s)
{
    int64_t out = sum_of(t, 0, o, s), in = sum_of(t, 'A', o, s);
    return in > out ? in : out;
}

/* Walk the records of one type: fn(t, origin, seq, arg). */
static int each_record(struct rl_txn *t, enum rl_rtype type,
                       int (*fn)(struct rl_txn *t, uint64_t o, uint64_t s, void *arg), void *arg)
{
    struct rl_cursor c;
    MDB_val k, v;
    uint8_t start = (uint8_t)type;
    int rc = rl_cursor_open(t, RL_DB_RECORDS, &c);
    if (rc)
        return rc;
    /* collect first: fn may read other databases through other cursors (fine) */
    for (rc = rl_cursor_seek(&c, &start, 1, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        const uint8_t *kp = k.mv_data;
        if (k.mv_size != 17 || kp[0] != type)
            break;
        if ((rc = fn(t, proto_get_be64(kp + 1), proto_get_be64(kp + 9), arg)))
            break;
    }
    rl_cursor_close(&c);
    return rc == -ENOENT ? 0 : rc;
}

static void add_site_label(struct rl_txn *t, json_t *o, const char *key)
{
    json_t *id = json_object_get(o, key);
    if (!json_is_string(id))
        return;
    uint64_t site = strtoull(json_string_value(id), NULL, 16);
    char code[80], name[600], k2[64];
    site_label(t, site, code, sizeof code, name, sizeof name);
    snprintf(k2, sizeof k2, "%s_code", key);
    json_object_set_new(o, k2, json_string(code));
    snprintf(k2, sizeof k2, "%s_name", key);
    json_object_set_new(o, k2, json_string(name));
}

static json_t *ref_record(struct rl_txn *t, enum rl_rtype type, uint64_t o, uint64_t s,
                          const struct rl_fieldopt *table)
{
    struct rl_rid r;
    struct rl_opinfo created;
    char ref[40], when[40];
    json_t *j = json_object();
    rl_rid_ref(&r, type, o, s);
    rl_ref_format(o, s, ref);
    json_object_set_new(j, "id", json_string(ref));
    if (rl_record_get(t, &r, &created) == 0) {
        rl_hlc_format(created.hlc, when, sizeof when);
        json_object_set_new(j, "created", json_string(when));
    }
    record_fields(t, &r, table, j);
    return j;
}

static int need_row(struct rl_txn *t, uint64_t o, uint64_t s, void *arg)
{
    json_t *j = ref_record(t, RL_R_NEED, o, s, rl_need_fields);
    int64_t needed = json_integer_value(json_object_get(j, "qty"));
    int64_t fulfilled = fulfilled_of(t, o, s);
    int64_t gap = needed - fulfilled;
    json_object_set_new(j, "fulfilled", json_integer((json_int_t)fulfilled));
    json_object_set_new(j, "gap", json_integer((json_int_t)(gap > 0 ? gap : 0)));
    if (!json_object_get(j, "status"))
        json_object_set_new(j, "status", json_string("open"));
    add_site_label(t, j, "site");
    const char *item = json_string_value(json_object_get(j, "item"));
    const char *site = json_string_value(json_object_get(j, "site"));
    int64_t stock = 0, transit = 0;
    if (item && site) {
        uint64_t sid = strtoull(site, NULL, 16);
        rl_ledger_balance(t, sid, item, strlen(item), &stock);
        transit = transit_to(t, sid, item, strlen(item));
    }
    json_object_set_new(j, "in_stock", json_integer((json_int_t)stock));
    json_object_set_new(j, "in_transit", json_integer((json_int_t)transit));
    json_array_append_new(arg, j);
    return 0;
}

static int gap_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *sx = json_string_value(json_object_get(x, "status"));
    const char *sy = json_string_value(json_object_get(y, "status"));
    int cx = sx && !strcmp(sx, "closed"), cy = sy && !strcmp(sy, "closed");
    if (cx != cy) /* closed needs after the open ones */
        return cx ? 1 : -1;
    json_int_t gx = json_integer_value(json_object_get(x, "gap"));
    json_int_t gy = json_integer_value(json_object_get(y, "gap"));
    if (gx != gy)
        return gx < gy ? 1 : -1;
    return strcmp(json_string_value(json_object_get(x, "id")),
                  json_string_value(json_object_get(y, "id")));
}

/* Sort a JSON array in place. */
static void sort_array(json_t *arr, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(arr);
    json_t **v = malloc((n ? n : 1) * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        v[i] = json_incref(json_array_get(arr, i));
    qsort(v, n, sizeof *v, cmp);
    json_array_clear(arr);
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, v[i]);
    free(v);
}

json_t *rl_q_needs(struct rl_txn *t, struct proto_err *e)
{
    json_t *arr = json_array();
    int rc = each_record(t, RL_R_NEED, need_row, arr);
    if (rc) {
        json_decref(arr);
        proto_errf(e, rc, "cannot read needs: %s", proto_strerror(rc));
        return NULL;
    }
    sort_array(arr, gap_cmp);
    return arr;
}

/* --- the needs report without JSON --- */

void rl_cells_free(struct rl_cells *c)
{
    for (size_t i = 0; !c->arena && c->v && i < c->nrows * c->ncols; i++)
        free(c->v[i]);
    free(c->arena);
    free(c->v);
    memset(c, 0, sizeof *c);
}

/* The text rl_json_text would give for rl_q_value(f, val, n). */
static void value_text(const struct rl_fieldopt *f, const uint8_t *val, size_t n, char *out,
                       size_t on)
{
    struct proto_mp m;
    uint64_t u;
    const char *p;
    uint32_t len;
    proto_mp_init(&m, val, n);
    /* the common shapes without JSON: an enum's name, a day, a time */
    if ((f->fmt == RL_FMT_ENUM || f->fmt == RL_FMT_DAY || f->fmt == RL_FMT_TIME) &&
        proto_mp_uint(&m, &u) == 0) {
        if (f->fmt == RL_FMT_DAY && u <= UINT32_MAX) {
            rl_format_day((uint32_t)u, out, on);
            return;
        }
        if (f->fmt == RL_FMT_TIME) {
            rl_format_time(u, out, on);
            return;
        }
        for (uint64_t k = 0; f->fmt == RL_FMT_ENUM && f->names[k]; k++)
            if (k + 1 == u) {
                copy_str(out, on, f->names[k], strlen(f->names[k]));
                return;
            }
    }
    proto_mp_init(&m, val, n);
    if (f->fmt != RL_FMT_ENUM && f->fmt != RL_FMT_DEG && f->fmt != RL_FMT_TIME &&
        f->fmt != RL_FMT_DAY && f->fmt != RL_FMT_SITE) {
        if (proto_mp_str(&m, &p, &len, UINT32_MAX) == 0) {
            copy_str(out, on, p, len);
            return;
        }
        proto_mp_init(&m, val, n);
        if (proto_mp_uint(&m, &u) == 0) {
            char num[24], *q = num + sizeof num;
            *--q = '\0';
            do
                *--q = (char)('0' + u % 10);
            while (u /= 10);
            copy_str(out, on, q, (size_t)(num + sizeof num - 1 - q));
            return;
        }
    }
    json_t *j = rl_q_value(f, val, n);
    rl_json_text(j, out, on);
    json_decref(j);
}

/* Needs columns (report.c's needs_cols) */
enum {
    NC_ID, NC_SITE_CODE, NC_SITE_NAME, NC_ADM1, NC_ADM2, NC_ITEM, NC_SERVICE, NC_QTY,
    NC_FULFILLED, NC_GAP, NC_STOCK, NC_TRANSIT, NC_PRIORITY, NC_DUE, NC_STATUS, NC_COUNT
};

struct need_line {
    int64_t gap;
    int closed;    /* listed after the open ones */
    uint64_t site; /* with has_site: its stock is read after the walk */
    int has_site;
    char id[40];
    size_t cell[NC_COUNT]; /* offsets of the cells' text in the arena */
};

/* A site as the needs report shows it, read once per report. */
struct area {
    uint64_t id;
    char *code, *name, *adm1, *adm2;
};

struct needs_cells_arg {
    struct need_line *v;
    size_t n, cap;
    struct proto_buf arena;   /* every cell's text, NUL-terminated */
    struct rl_cursor transit; /* on RL_DB_TRANSIT */
    struct rl_cursor fields;  /* on RL_DB_FIELDS, for the needs */
    struct rl_cursor sites;   /* on RL_DB_FIELDS, for their sites */
    struct area *areas; /* open addressing by site id */
    struct area spill;  /* the site read when areas is full */
    size_t nareas;
    /* the need being read */
    uint64_t site;
    int has_site;
    char text[NC_COUNT][600];
    int has_qty;
    int64_t qty;
};

static int need_field(void *arg, uint8_t key, const struct rl_head *h, int conflict)
{
    struct needs_cells_arg *a = arg;
    (void)conflict;
    const struct rl_fieldopt *f = NULL;
    for (const struct rl_fieldopt *x = rl_need_fields; x->name; x++)
        if (x->key == key)
            f = x;
    if (!f)
        return 0;
    int col = key == PROTO_NEED_ITEM       ? NC_ITEM
              : key == PROTO_NEED_SERVICE  ? NC_SERVICE
              : key == PROTO_NEED_QTY      ? NC_QTY
              : key == PROTO_NEED_PRIORITY ? NC_PRIORITY
              : key == PROTO_NEED_DUE      ? NC_DUE
              : key == PROTO_NEED_STATUS   ? NC_STATUS
                                           : -1;
    if (key == PROTO_NEED_SITE) {
        struct proto_mp m;
        uint64_t u;
        proto_mp_init(&m, h->val, h->val_len);
        if (proto_mp_uint(&m, &u) == 0) {
            a->site = u;
            a->has_site = 1;
        }
        return 0;
    }
    if (col < 0)
        return 0;
    value_text(f, h->val, h->val_len, a->text[col], sizeof a->text[col]);
    if (col == NC_QTY) {
        struct proto_mp m;
        int64_t i;
        proto_mp_init(&m, h->val, h->val_len);
        a->has_qty = proto_mp_int(&m, &i) == 0;
        a->qty = a->has_qty ? i : 0;
    }
    return 0;
}

static int site_area_field(void *arg, uint8_t key, const struct rl_head *h, int conflict)
{
    struct area *ar = arg;
    char buf[600];
    const char *p;
    uint32_t len;
    char **slot;
    (void)conflict;
    switch (key) {
    case PROTO_SITE_CODE: /* as site_label shows them */
    case PROTO_SITE_NAME:
        if (rl_head_str(h, &p, &len))
            return 0;
        copy_str(buf, key == PROTO_SITE_CODE ? 80 : sizeof buf, p, len);
        slot = key == PROTO_SITE_CODE ? &ar->code : &ar->name;
        break;
    case PROTO_SITE_ADM1:
    case PROTO_SITE_ADM2:
        value_text(rl_fieldopt_find(rl_site_fields, key == PROTO_SITE_ADM1 ? "prefecture"
                                                                             : "municipality"),
                   h->val, h->val_len, buf, sizeof buf);
        slot = key == PROTO_SITE_ADM1 ? &ar->adm1 : &ar->adm2;
        break;
    default:
        return 0;
    }
    free(*slot);
    *slot = strdup(buf);
    return 0;
}

#define AREAS 8192u /* more sites than a response has; past it, read again */

static void area_free(struct area *ar)
{
    free(ar->code);
    free(ar->name);
    free(ar->adm1);
    free(ar->adm2);
    memset(ar, 0, sizeof *ar);
}

static const struct area *site_area(struct needs_cells_arg *a, uint64_t id)
{
    struct rl_rid r;
    struct area *ar = NULL;
    if (!a->areas)
        a->areas = calloc(AREAS, sizeof *a->areas);
    for (size_t i = 0, h = (size_t)((id ^ (id >> 31)) % AREAS); a->areas && i < AREAS;
         i++, h = (h + 1) % AREAS) {
        if (a->areas[h].id == id)
            return &a->areas[h];
        if (a->areas[h].id == 0) {
            if (a->nareas + 1 < AREAS) {
                ar = &a->areas[h];
                a->nareas++;
            }
            break;
        }
    }
    if (!ar) { /* no room: read it again each time */
        ar = &a->spill;
        area_free(ar);
    }
    ar->id = id;
    rl_rid_site(&r, id);
    rl_record_fields_at(&a->sites, &r, site_area_field, ar);
    return ar;
}

/* v in decimal into buf (24 bytes); returns buf */
static const char *fmt_num(char *buf, int64_t v)
{
    char tmp[24];
    int n = 0, neg = v < 0;
    uint64_t u = neg ? 0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    char *p = buf;
    if (neg)
        *p++ = '-';
    while (n)
        *p++ = tmp[--n];
    *p = '\0';
    return buf;
}

static int need_cells_row(struct rl_txn *t, uint64_t o, uint64_t s, void *arg)
{
    struct needs_cells_arg *a = arg;
    struct rl_rid r;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 1024;
        struct need_line *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    for (int c = 0; c < NC_COUNT; c++)
        a->text[c][0] = '\0';
    a->has_site = a->has_qty = 0;
    a->qty = 0;
    rl_rid_ref(&r, RL_R_NEED, o, s);
    rl_record_fields_at(&a->fields, &r, need_field, a);
    struct need_line *l = &a->v[a->n];
    rl_ref_format(o, s, l->id);
    int64_t fulfilled = fulfilled_of(t, o, s), gap = a->qty - fulfilled;
    l->gap = gap > 0 ? gap : 0;
    l->closed = !strcmp(a->text[NC_STATUS], "closed");
    int64_t transit = 0;
    const struct area *ar = NULL;
    l->site = a->site;
    l->has_site = a->has_site && a->text[NC_ITEM][0];
    if (a->has_site) {
        ar = site_area(a, a->site);
        if (a->text[NC_ITEM][0])
            transit = transit_sum(&a->transit, a->site, a->text[NC_ITEM],
                                  strlen(a->text[NC_ITEM]));
    }
    for (int c = 0; c < NC_COUNT; c++) {
        char num[24];
        const char *v;
        switch (c) {
        case NC_ID: v = l->id; break;
        case NC_SITE_CODE: v = ar && ar->code ? ar->code : ""; break;
        case NC_SITE_NAME: v = ar && ar->name ? ar->name : ""; break;
        case NC_ADM1: v = ar && ar->adm1 ? ar->adm1 : ""; break;
        case NC_ADM2: v = ar && ar->adm2 ? ar->adm2 : ""; break;
        case NC_FULFILLED: v = fmt_num(num, fulfilled); break;
        case NC_GAP: v = fmt_num(num, l->gap); break;
        case NC_STOCK: v = "0"; break; /* see need_stock */
        case NC_TRANSIT: v = fmt_num(num, transit); break;
        case NC_STATUS:
            v = a->text[c][0] ? a->text[c] : "open";
            break;
        default: v = a->text[c]; break;
        }
        l->cell[c] = a->arena.len;
        proto_buf_add(&a->arena, v, strlen(v) + 1);
    }
    if (proto_buf_failed(&a->arena))
        return -ENOMEM;
    a->n++;
    return 0;
}

/* The stock cells, all balances read in one pass in key order after the walk. */
static int need_stock(struct rl_txn *t, struct needs_cells_arg *a)
{
    struct rl_shelf_q *q = malloc((a->n ? a->n : 1) * sizeof *q);
    size_t n = 0;
    int rc = q ? 0 : -ENOMEM;
    for (size_t i = 0; q && i < a->n; i++) {
        const struct need_line *l = &a->v[i];
        if (!l->has_site)
            continue;
        const char *item = (const char *)a->arena.data + l->cell[NC_ITEM];
        q[n++] = (struct rl_shelf_q){l->site, item, strlen(item), 0};
    }
    if (!rc)
        rc = rl_ledger_balances(t, q, n);
    for (size_t i = 0, j = 0; !rc && i < a->n; i++) {
        char num[24];
        if (!a->v[i].has_site || q[j++].qty == 0)
            continue;
        fmt_num(num, q[j - 1].qty);
        a->v[i].cell[NC_STOCK] = a->arena.len;
        proto_buf_add(&a->arena, num, strlen(num) + 1);
    }
    free(q);
    return rc ? rc : proto_buf_failed(&a->arena) ? -ENOMEM : 0;
}

static int need_line_cmp(const void *x, const void *y)
{
    const struct need_line *a = x, *b = y;
    if (a->closed != b->closed)
        return a->closed ? 1 : -1;
    if (a->gap != b->gap)
        return a->gap < b->gap ? 1 : -1;
    return strcmp(a->id, b->id);
}

/* A report's reading state: cursors in t, an arena, the lines. */
static int needs_open(struct rl_txn *t, struct needs_cells_arg *a)
{
    int rc;
    proto_buf_init(&a->arena, (size_t)1 << 40);
    if ((rc = rl_cursor_open(t, RL_DB_TRANSIT, &a->transit)))
        return rc;
    if ((rc = rl_cursor_open(t, RL_DB_FIELDS, &a->fields))) {
        rl_cursor_close(&a->transit);
        return rc;
    }
    if ((rc = rl_cursor_open(t, RL_DB_FIELDS, &a->sites))) {
        rl_cursor_close(&a->transit);
        rl_cursor_close(&a->fields);
    }
    return rc;
}

static void needs_close(struct needs_cells_arg *a)
{
    rl_cursor_close(&a->transit);
    rl_cursor_close(&a->fields);
    rl_cursor_close(&a->sites);
}

static void needs_free(struct needs_cells_arg *a)
{
    if (!a)
        return;
    for (size_t i = 0; a->areas && i < AREAS; i++)
        area_free(&a->areas[i]);
    area_free(&a->spill);
    free(a->areas);
    free(a->v);
    free(a->arena.data);
    free(a);
}

/* The lines of n needs (refs: origin, seq each), then their stock. */
static int needs_rows(struct rl_txn *t, struct needs_cells_arg *a, const uint64_t *refs, size_t n)
{
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++)
        rc = need_cells_row(t, refs[2 * i], refs[2 * i + 1], a);
    return rc ? rc : need_stock(t, a);
}

struct need_refs {
    uint64_t *v;
    size_t n, cap;
};

static int need_ref(struct rl_txn *t, uint64_t o, uint64_t s, void *arg)
{
    struct need_refs *r = arg;
    (void)t;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 1024;
        uint64_t *nv = realloc(r->v, 2 * cap * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        r->v = nv;
        r->cap = cap;
    }
    r->v[2 * r->n] = o;
    r->v[2 * r->n + 1] = s;
    r->n++;
    return 0;
}

/*
 * The second half of the needs, read by a thread of its own in a read transaction of its own
 * (MDB_NOTLS) when that sees the snapshot the first half is read in: two cores read the
 * report in about the time of one half. A transaction on another snapshot (a write committed
 * between the two began) reads nothing; the caller then reads the half in its own.
 */
#define NEEDS_HALF_MIN 2000 /* fewer needs: one thread */
struct needs_half {
    struct rl_store *s;
    uint64_t snapshot;
    const uint64_t *refs;
    size_t n;
    struct needs_cells_arg *a;
    int rc, read;
};

static int needs_half_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct needs_half *h = arg;
    (void)e;
    if (mdb_txn_id(t->txn) != h->snapshot)
        return 0;
    int rc = needs_open(t, h->a);
    if (rc)
        return rc;
    rc = needs_rows(t, h->a, h->refs, h->n);
    needs_close(h->a);
    h->read = rc == 0;
    return rc;
}

static void *needs_half_main(void *arg)
{
    struct needs_half *h = arg;
    struct proto_err e;
    proto_err_clear(&e);
    h->rc = rl_store_read(h->s, needs_half_fn, h, &e);
    return NULL;
}

/* b's lines after a's, their cells' text after a's */
static int needs_merge(struct needs_cells_arg *a, const struct needs_cells_arg *b)
{
    if (a->n + b->n > a->cap) {
        struct need_line *v = realloc(a->v, (a->n + b->n) * sizeof *v);
        if (!v)
            return -ENOMEM;
        a->v = v;
        a->cap = a->n + b->n;
    }
    size_t base = a->arena.len;
    proto_buf_add(&a->arena, b->arena.data, b->arena.len);
    if (proto_buf_failed(&a->arena))
        return -ENOMEM;
    for (size_t i = 0; i < b->n; i++) {
        a->v[a->n] = b->v[i];
        for (int c = 0; c < NC_COUNT; c++)
            a->v[a->n].cell[c] += base;
        a->n++;
    }
    return 0;
}

int rl_q_needs_cells(struct rl_txn *t, struct rl_cells *out, struct proto_err *e)
{
    struct needs_cells_arg *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b);
    struct need_refs refs = {0};
    struct needs_half h = {0};
    pthread_t th;
    int rc = a && b ? 0 : -ENOMEM, threaded = 0;
    memset(out, 0, sizeof *out);
    if (!rc)
        rc = each_record(t, RL_R_NEED, need_ref, &refs);
    size_t first = refs.n >= NEEDS_HALF_MIN ? refs.n / 2 : refs.n;
    if (!rc && first < refs.n) {
        h = (struct needs_half){t->s, mdb_txn_id(t->txn), refs.v + 2 * first, refs.n - first, b, 0,
                                0};
        threaded = pthread_create(&th, NULL, needs_half_main, &h) == 0;
    }
    if (!rc && !(rc = needs_open(t, a))) {
        rc = needs_rows(t, a, refs.v, first);
        needs_close(a);
    }
    if (threaded)
        pthread_join(th, NULL);
    if (!rc && threaded && h.rc)
        rc = h.rc;
    if (!rc && first < refs.n && !h.read) { /* no thread, or another snapshot: here */
        needs_free(b);
        if (!(b = calloc(1, sizeof *b)))
            rc = -ENOMEM;
        else if (!(rc = needs_open(t, b))) {
            rc = needs_rows(t, b, refs.v + 2 * first, refs.n - first);
            needs_close(b);
        }
    }
    if (!rc && b->n)
        rc = needs_merge(a, b);
    free(refs.v);
    needs_free(b);
    if (!rc && a->n)
        qsort(a->v, a->n, sizeof *a->v, need_line_cmp);
    if (!rc && !(out->v = malloc((a->n ? a->n : 1) * NC_COUNT * sizeof *out->v)))
        rc = -ENOMEM;
    if (!rc) {
        char *base = (char *)a->arena.data;
        for (size_t i = 0; i < a->n; i++)
            for (int c = 0; c < NC_COUNT; c++)
                out->v[i * NC_COUNT + c] = base + a->v[i].cell[c];
        out->arena = base; /* taken */
        a->arena.data = NULL;
        out->nrows = a->n;
        out->ncols = NC_COUNT;
    }
    needs_free(a);
    if (rc) {
        rl_cells_free(out);
        return proto_errf(e, rc, "cannot read needs: %s", proto_strerror(rc));
    }
    return 0;
}

struct roster {
    struct signup {
        uint64_t hlc, origin, seq;
        char volunteer[257], contact[257];
    } *v;
    size_t n, cap;
};

static int roster_add(void *arg, uint64_t o, uint64_t s, const uint8_t *elem, size_t n)
{
    struct roster *r = arg;
    if (n < 9 || n < 9u + elem[8])
        return 0;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        struct signup *p = realloc(r->v, cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        r->v = p;
        r->cap = cap;
    }
    struct signup *x = &r->v[r->n++];
    x->hlc = proto_get_be64(elem);
    x->origin = o;
    x->seq = s;
    memcpy(x->volunteer, elem + 9, elem[8]);
    x->volunteer[elem[8]] = '\0';
    size_t cl = n - 9 - elem[8];
    if (cl > 256)
        cl = 256;
    memcpy(x->contact, elem + 9 + elem[8], cl);
    x->contact[cl] = '\0';
    return 0;
}

static int signup_cmp(const void *a, const void *b)
{
    const struct signup *x = a, *y = b;
    if (x->hlc != y->hlc)
        return x->hlc < y->hlc ? -1 : 1;
    if (x->origin != y->origin)
        return x->origin < y->origin ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int shift_row(struct rl_txn *t, uint64_t o, uint64_t s, void *arg)
{
    json_t *j = ref_record(t, RL_R_SHIFT, o, s, rl_shift_fields);
    struct rl_rid r;
    struct roster ro = {0};
    rl_rid_ref(&r, RL_R_SHIFT, o, s);
    int rc = rl_set_each(t, &r, 1, roster_add, &ro);
    if (rc) {
        free(ro.v);
        json_decref(j);
        return rc;
    }
    if (ro.n)
        qsort(ro.v, ro.n, sizeof *ro.v, signup_cmp);
    json_int_t slots = json_integer_value(json_object_get(j, "slots"));
    json_t *list = json_array();
    size_t confirmed = 0;
    for (size_t i = 0; i < ro.n; i++) {
        char when[40], ref[40];
        int ok = (json_int_t)i < slots;
        confirmed += ok;
        rl_hlc_format(ro.v[i].hlc, when, sizeof when);
        rl_ref_format(ro.v[i].origin, ro.v[i].seq, ref);
        json_t *v = json_stringn(ro.v[i].volunteer, strlen(ro.v[i].volunteer));
        json_t *c = json_stringn(ro.v[i].contact, strlen(ro.v[i].contact));
        json_array_append_new(list, json_pack("{s:o, s:o, s:s, s:s, s:s}", "volunteer",
                                              v ? v : json_string("?"), "contact",
                                              c ? c : json_string(""), "status",
                                              ok ? "confirmed" : "waitlisted", "time", when,
                                              "op", ref));
    }
    free(ro.v);
    json_object_set_new(j, "signups", list);
    json_object_set_new(j, "confirmed", json_integer((json_int_t)confirmed));
    json_object_set_new(j, "waitlisted", json_integer((json_int_t)(ro.n - confirmed)));
    json_object_set_new(j, "open_slots",
                        json_integer(slots > (json_int_t)confirmed ? slots - (json_int_t)confirmed
                                                                   : 0));
    json_object_set_new(j, "meals_served", json_integer((json_int_t)sum_of(t, 'M', o, s)));
    add_site_label(t, j, "site");
    json_array_append_new(arg, j);
    return 0;
}

static int start_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *sx = json_string_value(json_object_get(x, "start"));
    const char *sy = json_string_value(json_object_get(y, "start"));
    int c = strcmp(sx ? sx : "", sy ? sy : "");
    return c ? c
             : strcmp(json_string_value(json_object_get(x, "id")),
                      json_string_value(json_object_get(y, "id")));
}

json_t *rl_q_shifts(struct rl_txn *t, struct proto_err *e)
{
    json_t *arr = json_array();
    int rc = each_record(t, RL_R_SHIFT, shift_row, arr);
    if (rc) {
        json_decref(arr);
        proto_errf(e, rc, "cannot read shifts: %s", proto_strerror(rc));
        return NULL;
    }
    sort_array(arr, start_cmp);
    return arr;
}

json_t *rl_q_shift(struct rl_txn *t, uint64_t o, uint64_t s, struct proto_err *e)
{
    struct rl_rid r;
    struct rl_opinfo created;
    char ref[40];
    rl_rid_ref(&r, RL_R_SHIFT, o, s);
    if (rl_record_get(t, &r, &created)) {
        rl_ref_format(o, s, ref);
        proto_errf(e, -ENOENT, "no shift '%s' on this node", ref);
        return NULL;
    }
    json_t *arr = json_array();
    int rc = shift_row(t, o, s, arr);
    json_t *one = rc ? NULL : json_incref(json_array_get(arr, 0));
    json_decref(arr);
    if (!one)
        proto_errf(e, rc ? rc : -EIO, "cannot read the shift: %s", proto_strerror(rc ? rc : -EIO));
    return one;
}

static int donation_row(struct rl_txn *t, uint64_t o, uint64_t s, void *arg)
{
    json_t *j = ref_record(t, RL_R_DONATION, o, s, rl_donation_fields);
    json_object_set_new(j, "delivered", json_integer((json_int_t)sum_of(t, 'D', o, s)));
    if (!json_object_get(j, "status"))
        json_object_set_new(j, "status", json_string("open")); /* as a need's */
    add_site_label(t, j, "to");
    json_array_append_new(arg, j);
    return 0;
}

json_t *rl_q_donations(struct rl_txn *t, struct proto_err *e)
{
    json_t *arr = json_array();
    int rc = each_record(t, RL_R_DONATION, donation_row, arr);
    if (rc) {
        json_decref(arr);
        proto_errf(e, rc, "cannot read donations: %s", proto_strerror(rc));
        return NULL;
    }
    return arr;
}

/* --- a donation's trace --- */

static json_t *event(struct rl_txn *t, const char *stage, uint64_t hlc, uint64_t site,
                     int64_t qty, const char *author, uint64_t o, uint64_t s)
{
    char when[40], ref[40], hex[17], code[80], name[600];
    rl_hlc_format(hlc, when, sizeof when);
    rl_ref_format(o, s, ref);
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)site);
    site_label(t, site, code, sizeof code, name, sizeof name);
    json_t *a = json_string(author);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:o, s:s, s:I}", "stage", stage, "time",
                     when, "site", hex, "site_code", code, "site_name", name, "qty",
                     (json_int_t)qty, "author", a ? a : json_string("?"), "op", ref, "hlc",
                     (json_int_t)(hlc >> 16));
}

static int time_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t hx = json_integer_value(json_object_get(x, "hlc"));
    json_int_t hy = json_integer_value(json_object_get(y, "hlc"));
    return hx < hy ? -1 : hx > hy;
}

/* The quantity of lot (ln bytes) a movement drew, or -1 when it drew none of it. */
static int64_t lot_drawn(const struct rl_mv *mv, const char *lot, size_t ln)
{
    struct proto_mp m;
    uint32_t cnt;
    proto_mp_init(&m, mv->lots, mv->lots_len);
    if (!mv->lots_len || proto_mp_array(&m, &cnt))
        return -1;
    for (uint32_t j = 0; j < cnt; j++) {
        uint32_t kk, n;
        const char *l;
        uint64_t q;
        if (proto_mp_array(&m, &kk) || proto_mp_str(&m, &l, &n, 64) || proto_mp_uint(&m, &q))
            return -1;
        if (n == ln && !memcmp(l, lot, ln))
            return (int64_t)q;
    }
    return -1;
}

/* The movements of a shelf, from the shelf index (those of the site whose item hashes alike,
 * which the caller skips): op ids in refs (pairs), *n of them. */
static int shelf_refs(struct rl_txn *t, uint64_t site, const char *item, uint64_t **refs, size_t *n,
                      size_t *cap)
{
    struct rl_cursor c;
    MDB_val k, v;
    uint8_t sk[8], ih[RL_SHELFMV_VAL];
    int rc;
    *n = 0;
    proto_put_be64(sk, site);
    rl_shelfmv_val(ih, item, strlen(item), 0, 0);
    if ((rc = rl_cursor_open(t, RL_DB_SHELFMV, &c)))
        return rc;
    for (rc = rl_cursor_seek(&c, sk, 8, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        if (k.mv_size != 8 || memcmp(k.mv_data, sk, 8))
            break;
        if (v.mv_size != RL_SHELFMV_VAL ||
            memcmp((const uint8_t *)v.mv_data + RL_SHELFMV_IH, ih + RL_SHELFMV_IH, 2))
            continue;
        if (*n + 2 > *cap) {
            size_t nc = *cap ? *cap * 2 : 64;
            uint64_t *p = realloc(*refs, nc * sizeof *p);
            if (!p) {
                rc = -ENOMEM;
                break;
            }
            *refs = p;
            *cap = nc;
        }
        rl_shelfmv_ref(v.mv_data, &(*refs)[*n], &(*refs)[*n + 1]);
        *n += 2;
    }
    rl_cursor_close(&c);
    return rc == -ENOENT ? 0 : rc;
}

/*
 * Where a lot of an item went from the shelves it was received at (from, nfrom sites): the
 * movements that drew it there, dispatches (with their arrival) and distributions, then the
 * same at each shelf a dispatch of it went to, each shelf once.
 */
static int trace_lot(struct rl_txn *t, const uint64_t *from, size_t nfrom, const char *item,
                     const char *lot, json_t *events)
{
    static _Thread_local struct rl_mv mv;
    size_t il = strlen(item), ln = strlen(lot), n = 0, cap = 0, nsites = 0;
    size_t sites_cap = nfrom + 16;
    uint64_t *refs = NULL, *sites = malloc(sites_cap * sizeof *sites);
    int rc = sites ? 0 : -ENOMEM;
    for (size_t i = 0; sites && i < nfrom; i++) { /* the shelves it was received at, once each */
        size_t j = 0;
        while (j < nsites && sites[j] != from[i])
            j++;
        if (j == nsites)
            sites[nsites++] = from[i];
    }
    for (size_t at = 0; !rc && at < nsites; at++) {
        uint64_t site = sites[at];
        if ((rc = shelf_refs(t, site, item, &refs, &n, &cap)))
            break;
        for (size_t i = 0; !rc && i < n; i += 2) {
            if (rl_ledger_get(t, refs[i], refs[i + 1], &mv) || mv.site != site ||
                mv.item_len != il || memcmp(mv.item, item, il) ||
                (mv.kind != PROTO_KIND_STOCK_DISPATCH && mv.kind != PROTO_KIND_STOCK_DISTRIBUTE) ||
                rl_ledger_voided(t, mv.origin, mv.seq))
                continue; /* another shelf's, or not a draw */
            int64_t q = lot_drawn(&mv, lot, ln);
            if (q < 0)
                continue;
            if (mv.kind == PROTO_KIND_STOCK_DISTRIBUTE) {
                json_array_append_new(events, event(t, "distributed", mv.hlc, mv.site, q, mv.author,
                                                    mv.origin, mv.seq));
                continue;
            }
            json_t *ev = event(t, "dispatched", mv.hlc, mv.site, q, mv.author, mv.origin, mv.seq);
            char to[17];
            snprintf(to, sizeof to, "%016llx", (unsigned long long)mv.to);
            json_object_set_new(ev, "to", json_string(to));
            add_site_label(t, ev, "to");
            json_array_append_new(events, ev);
            struct rl_rid r;
            struct rl_head h;
            uint64_t arrived;
            rl_rid_ref(&r, RL_R_TRANSFER, mv.origin, mv.seq);
            if (rl_field_get(t, &r, RL_TRANSFER_ARRIVED, &h) == 0 && !rl_head_uint(&h, &arrived)) {
                char au[257];
                size_t al = h.author_len > 256 ? 256 : h.author_len;
                memcpy(au, h.author, al);
                au[al] = '\0';
                /* this lot's share: what arrived, up to what of the lot was sent */
                int64_t share = (int64_t)arrived < q ? (int64_t)arrived : q;
                json_array_append_new(
                    events, event(t, "arrived", h.hlc, mv.to, share, au, h.origin, h.seq));
            }
            /* the lot goes on from where it was sent (each shelf once) */
            size_t j = 0;
            while (j < nsites && sites[j] != mv.to)
                j++;
            if (j < nsites)
                continue;
            if (nsites == sites_cap) {
                uint64_t *ns = realloc(sites, (sites_cap *= 2) * sizeof *ns);
                if (!ns) {
                    rc = -ENOMEM;
                    break;
                }
                sites = ns;
            }
            sites[nsites++] = mv.to;
        }
    }
    free(refs);
    free(sites);
    return rc;
}

json_t *rl_q_trace(struct rl_txn *t, uint64_t o, uint64_t s, struct proto_err *e)
{
    struct rl_rid r;
    struct rl_opinfo created;
    static _Thread_local struct rl_mv mv;
    rl_rid_ref(&r, RL_R_DONATION, o, s);
    if (rl_record_get(t, &r, &created)) {
        char ref[40];
        rl_ref_format(o, s, ref);
        proto_errf(e, -ENOENT, "no donation '%s' on this node", ref);
        return NULL;
    }
    json_t *don = ref_record(t, RL_R_DONATION, o, s, rl_donation_fields);
    json_object_set_new(don, "delivered", json_integer((json_int_t)sum_of(t, 'D', o, s)));
    add_site_label(t, don, "to");
    json_t *events = json_array();
    /* the pledge */
    struct proto_op op;
    struct proto_err ge;
    if (rl_oplog_get(t, o, s, &op, &ge) == 0) {
        char au[257];
        size_t al = op.author_len > 256 ? 256 : op.author_len;
        memcpy(au, op.author, al);
        au[al] = '\0';
        const char *to = json_string_value(json_object_get(don, "to"));
        json_array_append_new(events,
                              event(t, "pledged", op.hlc, to ? strtoull(to, NULL, 16) : 0,
                                    json_integer_value(json_object_get(don, "qty")), au, o, s));
    }
    /* receipts against it, then where their lots went */
    uint8_t pre[16];
    struct rl_cursor c;
    MDB_val k, v;
    proto_put_be64(pre, o);
    proto_put_be64(pre + 8, s);
    char lots[64][65];
    char items[64][65];
    uint64_t at[64];
    int nlots = 0, rc;
    if (rl_cursor_open(t, RL_DB_DONMV, &c) == 0) {
        for (rc = rl_cursor_seek(&c, pre, 16, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
            const uint8_t *vp = v.mv_data;
            if (k.mv_size != 16 || memcmp(k.mv_data, pre, 16) || v.mv_size != 16)
                break;
            uint64_t ro = proto_get_be64(vp), rs = proto_get_be64(vp + 8);
            if (rl_ledger_get(t, ro, rs, &mv) || rl_ledger_voided(t, ro, rs))
                continue;
            json_array_append_new(events, event(t, "received", mv.hlc, mv.site, mv.qty,
                                                mv.author, ro, rs));
            if (nlots < 64) {
                memcpy(lots[nlots], mv.lot, mv.lot_len + 1);
                memcpy(items[nlots], mv.item, mv.item_len + 1);
                at[nlots] = mv.site;
                nlots++;
            }
        }
        rl_cursor_close(&c);
    }
    for (int i = 0; i < nlots; i++) {
        int seen = 0;
        uint64_t from[64];
        size_t nfrom = 0;
        for (int j = 0; j < nlots; j++) {
            int same = !strcmp(lots[i], lots[j]) && !strcmp(items[i], items[j]);
            seen |= j < i && same;
            if (same)
                from[nfrom++] = at[j];
        }
        if (!seen && lots[i][0])
            trace_lot(t, from, nfrom, items[i], lots[i], events);
    }
    sort_array(events, time_cmp);
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) json_object_del(ev, "hlc");
    json_object_set_new(don, "events", events);
    return don;
}
