/*
 * The read side (see query.h).
 */
#include "query.h"

#include "hlc.h"
#include "key.h"
#include "ledger.h"
#include "mpjson.h"
#include "oplog.h"
#include "proto/kinds.h"
#include "proto/mp.h"
#include "records.h"
#include "views.h"

#include <errno.h>
#include <stdio.h>
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

static json_t *site_json(struct rl_txn *t, uint64_t id, int full)
{
    struct rl_rid r;
    char hex[17];
    json_t *o = json_object(), *conf = json_array();
    rl_rid_site(&r, id);
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)id);
    json_object_set_new(o, "id", json_string(hex));
    for (const struct rl_fieldopt *f = rl_site_fields; f->name; f++) {
        struct rl_head h;
        if (rl_field_get(t, &r, f->key, &h))
            continue;
        json_object_set_new(o, f->name, rl_q_value(f, h.val, h.val_len));
        if (rl_field_conflict(t, &r, f->key) > 0)
            json_array_append_new(conf, json_string(f->name));
    }
    json_object_set_new(o, "conflicts", conf);
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

static void site_label(struct rl_txn *t, uint64_t id, char *code, size_t cn, char *name,
                       size_t nn)
{
    struct rl_rid r;
    rl_rid_site(&r, id);
    rl_field_str(t, &r, PROTO_SITE_CODE, code, cn);
    rl_field_str(t, &r, PROTO_SITE_NAME, name, nn);
}

/* what is in transit to one shelf */
static int64_t transit_to(struct rl_txn *t, uint64_t site, const char *item, size_t il)
{
    struct rl_key pre;
    struct rl_cursor c;
    MDB_val k, v;
    int64_t sum = 0;
    rl_key_reset(&pre);
    rl_key_u64(&pre, site);
    rl_key_str(&pre, item, il);
    if (rl_cursor_open(t, RL_DB_TRANSIT, &c))
        return 0;
    int rc;
    for (rc = rl_cursor_seek(&c, pre.b, pre.n, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        if (!rl_key_has_prefix(k.mv_data, k.mv_size, &pre) || k.mv_size != pre.n + 16 ||
            v.mv_size != 8)
            break;
        sum += (int64_t)proto_get_be64(v.mv_data);
    }
    rl_cursor_close(&c);
    return sum;
}

static void stock_row(struct rl_txn *t, json_t *arr, uint64_t site, const char *item, size_t il,
                      int64_t bal, int has_bal)
{
    char hex[17], code[80], name[600], unit[40];
    struct rl_rid r;
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)site);
    site_label(t, site, code, sizeof code, name, sizeof name);
    rl_rid_item(&r, item, il);
    rl_field_str(t, &r, PROTO_ITEM_UNIT, unit, sizeof unit);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s%, s:s, s:I, s:I}", "site", hex, "site_code", code,
                          "site_name", name, "item", item, il, "unit", unit, "balance",
                          (json_int_t)(has_bal ? bal : 0), "in_transit",
                          (json_int_t)transit_to(t, site, item, il));
    json_array_append_new(arr, o);
}

json_t *rl_q_stock(struct rl_txn *t, uint64_t site, const char *item, struct proto_err *e)
{
    struct rl_key pre;
    struct rl_cursor c;
    MDB_val k, v;
    json_t *arr = json_array();
    size_t il = item ? strlen(item) : 0;
    int rc;

    rl_key_reset(&pre);
    if (site) {
        rl_key_u64(&pre, site);
        if (item)
            rl_key_str(&pre, item, il);
    }
    if ((rc = rl_cursor_open(t, RL_DB_BALANCE, &c))) {
        json_decref(arr);
        proto_errf(e, rc, "cannot read stock: %s", proto_strerror(rc));
        return NULL;
    }
    for (rc = pre.n ? rl_cursor_seek(&c, pre.b, pre.n, &k, &v) : rl_cursor_first(&c, &k, &v);
         rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        if (!rl_key_has_prefix(k.mv_data, k.mv_size, &pre))
            break;
        const uint8_t *kp = k.mv_data;
        if (k.mv_size < 9 || k.mv_size != 9u + kp[8] || v.mv_size != 8)
            continue;
        if (item && (kp[8] != il || memcmp(kp + 9, item, il)))
            continue;
        stock_row(t, arr, proto_get_be64(kp), (const char *)kp + 9, kp[8],
                  (int64_t)proto_get_be64(v.mv_data), 1);
    }
    rl_cursor_close(&c);
    /* shelves with goods on the way but nothing yet */
    if ((rc = rl_cursor_open(t, RL_DB_TRANSIT, &c)) == 0) {
        for (rc = pre.n ? rl_cursor_seek(&c, pre.b, pre.n, &k, &v) : rl_cursor_first(&c, &k, &v);
             rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
            if (!rl_key_has_prefix(k.mv_data, k.mv_size, &pre))
                break;
            const uint8_t *kp = k.mv_data;
            if (k.mv_size != 9u + kp[8] + 16)
                continue;
            if (item && (kp[8] != il || memcmp(kp + 9, item, il)))
                continue;
            int64_t b;
            if (rl_ledger_balance(t, proto_get_be64(kp), (const char *)kp + 9, kp[8], &b) ==
                -ENOENT) {
                /* once per shelf: skip the shelf's further transfers */
                size_t n = json_array_size(arr);
                json_t *last = n ? json_array_get(arr, n - 1) : NULL;
                char hex[17];
                snprintf(hex, sizeof hex, "%016llx", (unsigned long long)proto_get_be64(kp));
                if (last && !strcmp(json_string_value(json_object_get(last, "site")), hex) &&
                    strlen(json_string_value(json_object_get(last, "item"))) == kp[8] &&
                    !memcmp(json_string_value(json_object_get(last, "item")), kp + 9, kp[8]))
                    continue;
                stock_row(t, arr, proto_get_be64(kp), (const char *)kp + 9, kp[8], 0, 0);
            }
        }
        rl_cursor_close(&c);
    }
    return arr;
}

static json_t *alert(const char *type, const char *severity, const char *msg)
{
    return json_pack("{s:s, s:s, s:s}", "type", type, "severity", severity, "message", msg);
}

json_t *rl_q_alerts(struct rl_txn *t, uint64_t now_ms, struct proto_err *e)
{
    struct rl_cursor c;
    MDB_val k, v;
    json_t *arr = json_array();
    char msg[1024], code[80], name[600], ref[40];
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
            json_array_append_new(arr, alert("negative_stock", "high", msg));
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
            json_array_append_new(arr, alert("arrival_mismatch", "medium", msg));
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
            json_array_append_new(arr, alert("over_capacity", "high", msg));
            break;
        }
        case RL_ALERT_CODE:
            if (n < 2 || n != 2u + kp[1])
                continue;
            snprintf(msg, sizeof msg,
                     "short code '%.*s' is used by more than one site: name them by id", kp[1],
                     kp + 2);
            json_array_append_new(arr, alert("duplicate_code", "medium", msg));
            break;
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
        }
            json_array_append_new(arr, alert("noop", "low", msg));
            break;
        default:
            break;
        }
    }
    rl_cursor_close(&c);

    /* computed when read, outside the digest: lots expiring within 7 days */
    uint32_t today = (uint32_t)(now_ms / 86400000);
    if (rl_cursor_open(t, RL_DB_LOTBAL, &c) == 0) {
        for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
            const uint8_t *kp = k.mv_data;
            if (k.mv_size < 10 || v.mv_size != 8 || (int64_t)proto_get_be64(v.mv_data) <= 0)
                continue;
            uint8_t il = kp[8];
            if (k.mv_size < 10u + il || k.mv_size != 10u + il + kp[9 + il] || !kp[9 + il])
                continue;
            struct rl_key lk;
            MDB_val ev;
            rl_key_reset(&lk);
            rl_key_raw(&lk, kp + 8, k.mv_size - 8); /* item, lot */
            if (rl_get(t, RL_DB_LOTS, lk.b, lk.n, &ev) || ev.mv_size != 4)
                continue;
            const uint8_t *ep = ev.mv_data;
            uint32_t exp = (uint32_t)ep[0] << 24 | (uint32_t)ep[1] << 16 | (uint32_t)ep[2] << 8 |
                           ep[3];
            if (exp > today + 7)
                continue;
            char day[16];
            rl_format_day(exp, day, sizeof day);
            site_label(t, proto_get_be64(kp), code, sizeof code, name, sizeof name);
            snprintf(msg, sizeof msg, "lot %.*s of %.*s at %s %s (%lld) %s on %s", kp[9 + il],
                     kp + 10 + il, il, kp + 9, code[0] ? code : "?", name,
                     (long long)proto_get_be64(v.mv_data), exp < today ? "expired" : "expires",
                     day);
            json_array_append_new(arr, alert("expiring_lot", exp < today ? "high" : "medium",
                                             msg));
        }
        rl_cursor_close(&c);
    }
    /* origins whose clocks run far ahead of this node's */
    struct proto_vv vv;
    proto_vv_init(&vv);
    if (rl_vv_load(t, &vv, e) == 0) {
        for (uint32_t i = 0; i < vv.n; i++) {
            struct proto_op op;
            struct proto_err ge;
            if (rl_oplog_get(t, vv.e[i].origin, vv.e[i].seq, &op, &ge))
                continue;
            uint64_t ms = rl_hlc_ms(op.hlc);
            if (ms > now_ms + RL_HLC_MAX_DRIFT_MS) {
                char node[PROTO_MAX_AUTHOR_BYTES + 1], when[40];
                rl_views_node_name(t, vv.e[i].origin, node, sizeof node);
                rl_hlc_format(op.hlc, when, sizeof when);
                snprintf(msg, sizeof msg, "clock of node %016llx %s is far ahead: its last op says %s",
                         (unsigned long long)vv.e[i].origin, node, when);
                json_array_append_new(arr, alert("clock_ahead", "medium", msg));
            }
        }
    }
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
        const struct rl_fieldopt *fs = r.b[0] == RL_R_SITE   ? rl_site_fields
                                       : r.b[0] == RL_R_ITEM ? rl_item_fields
                                                             : NULL;
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
