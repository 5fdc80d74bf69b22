/*
 * Op kinds: names, body schemas and the one-pass body checker (see kinds.h).
 */
#include "kinds.h"

#include "limits.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#define QTY PROTO_MAX_QTY
#define TXT PROTO_MAX_TEXT_BYTES
#define REQ 1
#define END {0, 0, 0, NULL, 0, 0}

static const struct proto_field f_node[] = {
    {PROTO_F_NODE_NAME, PF_TEXT, REQ, "name", 1, PROTO_MAX_AUTHOR_BYTES},
    END,
};

/* --- record schemas --- */
static const struct proto_field r_site[] = {
    {PROTO_SITE_NAME, PF_TEXT, 0, "name", 0, 512},
    {PROTO_SITE_CODE, PF_CODE, 0, "code", 1, 32},
    {PROTO_SITE_KIND, PF_UINT, 0, "kind", 1, 5},
    {PROTO_SITE_ADDRESS, PF_TEXT, 0, "address", 0, TXT},
    {PROTO_SITE_ADM1, PF_TEXT, 0, "prefecture", 0, 128},
    {PROTO_SITE_ADM2, PF_TEXT, 0, "municipality", 0, 128},
    {PROTO_SITE_LAT, PF_INT, 0, "lat", -90000000, 90000000},
    {PROTO_SITE_LON, PF_INT, 0, "lon", -180000000, 180000000},
    {PROTO_SITE_CAPACITY, PF_UINT, 0, "capacity", 0, QTY},
    {PROTO_SITE_OCCUPANCY, PF_UINT, 0, "occupancy", 0, QTY},
    {PROTO_SITE_OCCUPANCY_AT, PF_UINT, 0, "occupancy_at", 0, 1ll << 40},
    {PROTO_SITE_STATUS, PF_UINT, 0, "status", 1, 2},
    {PROTO_SITE_NEEDS, PF_TEXT, 0, "special_needs", 0, TXT},
    {PROTO_SITE_CONTACT, PF_TEXT, 0, "contact", 0, 512},
    {PROTO_SITE_PRIORITY, PF_UINT, 0, "priority", 1, 3},
    {PROTO_SITE_ARCHIVED, PF_BOOL, 0, "archived", 0, 0},
    END,
};

static const struct proto_field r_item[] = {
    {PROTO_ITEM_NAME, PF_TEXT, 0, "name", 0, 512},
    {PROTO_ITEM_UNIT, PF_TEXT, 0, "unit", 0, 32},
    {PROTO_ITEM_CATEGORY, PF_TEXT, 0, "category", 0, 64},
    {PROTO_ITEM_ARCHIVED, PF_BOOL, 0, "archived", 0, 0},
    END,
};

static const struct proto_field r_need[] = {
    {PROTO_NEED_SITE, PF_ID, 0, "site", 0, 0},
    {PROTO_NEED_ITEM, PF_ICODE, 0, "item", 1, 64},
    {PROTO_NEED_SERVICE, PF_TEXT, 0, "service", 0, 128},
    {PROTO_NEED_QTY, PF_UINT, 0, "qty", 1, QTY},
    {PROTO_NEED_PRIORITY, PF_UINT, 0, "priority", 1, 3},
    {PROTO_NEED_DUE, PF_UINT, 0, "due", 0, 200000},
    {PROTO_NEED_NOTE, PF_TEXT, 0, "note", 0, TXT},
    {PROTO_NEED_STATUS, PF_UINT, 0, "status", 1, 2},
    END,
};

static const struct proto_field r_shift[] = {
    {PROTO_SHIFT_SITE, PF_ID, 0, "site", 0, 0},
    {PROTO_SHIFT_START, PF_UINT, 0, "start", 0, 1ll << 40},
    {PROTO_SHIFT_END, PF_UINT, 0, "end", 0, 1ll << 40},
    {PROTO_SHIFT_SLOTS, PF_UINT, 0, "slots", 0, 10000},
    {PROTO_SHIFT_ROLE, PF_TEXT, 0, "role", 0, 128},
    {PROTO_SHIFT_MEALS, PF_UINT, 0, "meals_planned", 0, QTY},
    {PROTO_SHIFT_STATUS, PF_UINT, 0, "status", 1, 2},
    END,
};

static const struct proto_field r_donation[] = {
    {PROTO_DON_DONOR, PF_TEXT, 0, "donor", 0, 256},
    {PROTO_DON_TO, PF_ID, 0, "to", 0, 0},
    {PROTO_DON_ITEM, PF_ICODE, 0, "item", 1, 64},
    {PROTO_DON_QTY, PF_UINT, 0, "qty", 1, QTY},
    {PROTO_DON_AMOUNT, PF_UINT, 0, "amount", 1, 1000000000000000ll},
    {PROTO_DON_CURRENCY, PF_CODE, 0, "currency", 3, 3},
    {PROTO_DON_NOTE, PF_TEXT, 0, "note", 0, TXT},
    {PROTO_DON_STATUS, PF_UINT, 0, "status", 1, 2},
    {PROTO_DON_CONTACT, PF_TEXT, 0, "contact", 0, 512},
    END,
};

/* --- kinds --- */
static const struct proto_field f_site_add[] = {
    {PROTO_F_SITE_ID, PF_ID, REQ, "id", 0, 0},
    {PROTO_F_SITE_FIELDS, PF_FIELDS, REQ, "fields", 0, 0},
    END,
};
static const struct proto_field f_site_set[] = {
    {PROTO_F_SITE_ID, PF_ID, REQ, "id", 0, 0},
    {PROTO_F_SITE_FIELDS, PF_FIELDS, REQ, "fields", 0, 0},
    {PROTO_F_SITE_SEEN, PF_SEEN, 0, "seen", 0, 64},
    END,
};
static const struct proto_field f_site_lang_add[] = {
    {PROTO_F_SITE_ID, PF_ID, REQ, "id", 0, 0},
    {PROTO_F_SITE_LANG, PF_CODE, REQ, "lang", 1, 35},
    END,
};
static const struct proto_field f_site_lang_remove[] = {
    {PROTO_F_SITE_ID, PF_ID, REQ, "id", 0, 0},
    {PROTO_F_SITE_TAGS, PF_REFS, REQ, "tags", 1, 1024},
    END,
};
static const struct proto_field f_item_add[] = {
    {PROTO_F_ITEM_CODE, PF_ICODE, REQ, "code", 1, 64},
    {PROTO_F_ITEM_FIELDS, PF_FIELDS, REQ, "fields", 0, 0},
    END,
};
static const struct proto_field f_item_set[] = {
    {PROTO_F_ITEM_CODE, PF_ICODE, REQ, "code", 1, 64},
    {PROTO_F_ITEM_FIELDS, PF_FIELDS, REQ, "fields", 0, 0},
    {PROTO_F_ITEM_SEEN, PF_SEEN, 0, "seen", 0, 64},
    END,
};
static const struct proto_field f_receive[] = {
    {PROTO_F_MV_SITE, PF_ID, REQ, "site", 0, 0},
    {PROTO_F_MV_ITEM, PF_ICODE, REQ, "item", 1, 64},
    {PROTO_F_MV_QTY, PF_UINT, REQ, "qty", 1, QTY},
    {PROTO_F_MV_LOT, PF_TEXT, 0, "lot", 0, 64},
    {PROTO_F_MV_EXPIRY, PF_UINT, 0, "expiry", 0, 200000},
    {PROTO_F_MV_FROM_TEXT, PF_TEXT, 0, "from", 0, 512},
    {PROTO_F_MV_DONATION, PF_REF, 0, "donation", 0, 0},
    END,
};
static const struct proto_field f_dispatch[] = {
    {PROTO_F_MV_SITE, PF_ID, REQ, "from", 0, 0},
    {PROTO_F_MV_TO, PF_ID, REQ, "to", 0, 0},
    {PROTO_F_MV_ITEM, PF_ICODE, REQ, "item", 1, 64},
    {PROTO_F_MV_QTY, PF_UINT, REQ, "qty", 1, QTY},
    {PROTO_F_MV_LOTS, PF_LOTS, 0, "lots", 0, 256},
    {PROTO_F_MV_NEED, PF_REF, 0, "need", 0, 0},
    END,
};
static const struct proto_field f_arrive[] = {
    {PROTO_F_MV_TARGET, PF_REF, REQ, "transfer", 0, 0},
    {PROTO_F_MV_QTY, PF_UINT, REQ, "qty", 0, QTY},
    {PROTO_F_MV_SEEN, PF_REFS, 0, "seen", 0, 64},
    END,
};
static const struct proto_field f_distribute[] = {
    {PROTO_F_MV_SITE, PF_ID, REQ, "site", 0, 0},
    {PROTO_F_MV_ITEM, PF_ICODE, REQ, "item", 1, 64},
    {PROTO_F_MV_QTY, PF_UINT, REQ, "qty", 1, QTY},
    {PROTO_F_MV_LOTS, PF_LOTS, 0, "lots", 0, 256},
    {PROTO_F_MV_NEED, PF_REF, 0, "need", 0, 0},
    {PROTO_F_MV_NOTE, PF_TEXT, 0, "note", 0, TXT},
    END,
};
static const struct proto_field f_adjust[] = {
    {PROTO_F_MV_SITE, PF_ID, REQ, "site", 0, 0},
    {PROTO_F_MV_ITEM, PF_ICODE, REQ, "item", 1, 64},
    {PROTO_F_MV_QTY, PF_INT, REQ, "qty", -QTY, QTY},
    {PROTO_F_MV_REASON, PF_UINT, REQ, "reason", 1, 6},
    {PROTO_F_MV_LOT, PF_TEXT, 0, "lot", 0, 64},
    {PROTO_F_MV_LOTS, PF_LOTS, 0, "lots", 0, 256},
    {PROTO_F_MV_NOTE, PF_TEXT, 0, "note", 0, TXT},
    END,
};
static const struct proto_field f_count[] = {
    {PROTO_F_MV_SITE, PF_ID, REQ, "site", 0, 0},
    {PROTO_F_MV_ITEM, PF_ICODE, REQ, "item", 1, 64},
    {PROTO_F_MV_QTY, PF_UINT, REQ, "qty", 0, QTY},
    {PROTO_F_MV_VV, PF_VV, REQ, "vv", 0, PROTO_MAX_VV_ENTRIES},
    {PROTO_F_MV_LOTS, PF_LOTS, 0, "lots", 0, 256},
    END,
};
static const struct proto_field f_void[] = {
    {PROTO_F_MV_TARGET, PF_REF, REQ, "movement", 0, 0},
    {PROTO_F_MV_NOTE, PF_TEXT, REQ, "reason", 1, TXT},
    END,
};
static const struct proto_field f_rec_add[] = {
    {PROTO_F_REC_FIELDS, PF_FIELDS, REQ, "fields", 0, 0},
    END,
};
static const struct proto_field f_rec_set[] = {
    {PROTO_F_REC_TARGET, PF_REF, REQ, "id", 0, 0},
    {PROTO_F_REC_FIELDS, PF_FIELDS, REQ, "fields", 0, 0},
    {PROTO_F_REC_SEEN, PF_SEEN, 0, "seen", 0, 64},
    END,
};
static const struct proto_field f_signup[] = {
    {PROTO_F_REC_TARGET, PF_REF, REQ, "shift", 0, 0},
    {PROTO_F_SIGNUP_VOLUNTEER, PF_TEXT, REQ, "volunteer", 1, 256},
    {PROTO_F_SIGNUP_CONTACT, PF_TEXT, 0, "contact", 0, 256},
    END,
};
static const struct proto_field f_cancel[] = {
    {PROTO_F_REC_TARGET, PF_REF, REQ, "shift", 0, 0},
    {PROTO_F_SIGNUP_VOLUNTEER, PF_TEXT, 0, "volunteer", 0, 256},
    {PROTO_F_CANCEL_TAGS, PF_REFS, REQ, "tags", 1, 1024},
    END,
};
static const struct proto_field f_served[] = {
    {PROTO_F_REC_TARGET, PF_REF, REQ, "shift", 0, 0},
    {PROTO_F_SERVED_MEALS, PF_UINT, REQ, "meals", 1, QTY},
    END,
};

static const struct proto_kind_def kinds[] = {
    {PROTO_KIND_NODE, "node", f_node, NULL},
    {PROTO_KIND_SITE_ADD, "site.add", f_site_add, r_site},
    {PROTO_KIND_SITE_SET, "site.set", f_site_set, r_site},
    {PROTO_KIND_SITE_LANG_ADD, "site.lang.add", f_site_lang_add, NULL},
    {PROTO_KIND_SITE_LANG_REMOVE, "site.lang.remove", f_site_lang_remove, NULL},
    {PROTO_KIND_ITEM_ADD, "item.add", f_item_add, r_item},
    {PROTO_KIND_ITEM_SET, "item.set", f_item_set, r_item},
    {PROTO_KIND_STOCK_RECEIVE, "stock.receive", f_receive, NULL},
    {PROTO_KIND_STOCK_DISPATCH, "stock.dispatch", f_dispatch, NULL},
    {PROTO_KIND_STOCK_ARRIVE, "stock.arrive", f_arrive, NULL},
    {PROTO_KIND_STOCK_DISTRIBUTE, "stock.distribute", f_distribute, NULL},
    {PROTO_KIND_STOCK_ADJUST, "stock.adjust", f_adjust, NULL},
    {PROTO_KIND_STOCK_COUNT, "stock.count", f_count, NULL},
    {PROTO_KIND_STOCK_VOID, "stock.void", f_void, NULL},
    {PROTO_KIND_NEED_ADD, "need.add", f_rec_add, r_need},
    {PROTO_KIND_NEED_SET, "need.set", f_rec_set, r_need},
    {PROTO_KIND_SHIFT_ADD, "shift.add", f_rec_add, r_shift},
    {PROTO_KIND_SHIFT_SET, "shift.set", f_rec_set, r_shift},
    {PROTO_KIND_SHIFT_SIGNUP, "shift.signup", f_signup, NULL},
    {PROTO_KIND_SHIFT_CANCEL, "shift.cancel", f_cancel, NULL},
    {PROTO_KIND_SHIFT_SERVED, "shift.served", f_served, NULL},
    {PROTO_KIND_DONATION_PLEDGE, "donation.pledge", f_rec_add, r_donation},
    {PROTO_KIND_DONATION_SET, "donation.set", f_rec_set, r_donation},
};

#define NKINDS (sizeof kinds / sizeof *kinds)

const struct proto_kind_def *proto_kind_def(uint32_t kind)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (kinds[i].num == kind)
            return &kinds[i];
    return NULL;
}

const char *proto_kind_name(uint32_t kind)
{
    const struct proto_kind_def *d = proto_kind_def(kind);
    return d ? d->name : NULL;
}

uint32_t proto_kind_by_name(const char *name)
{
    for (size_t i = 0; i < NKINDS; i++)
        if (strcmp(kinds[i].name, name) == 0)
            return kinds[i].num;
    return 0;
}

static const struct proto_field *find(const struct proto_field *fs, uint64_t key)
{
    for (; fs && fs->key; fs++)
        if (fs->key == key)
            return fs;
    return NULL;
}

const struct proto_field *proto_record_field(const struct proto_kind_def *def, uint32_t key)
{
    return find(def->record, key);
}

int proto_code_ok(const char *s, size_t n, int lower)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (!lower && c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

/* Well-formed UTF-8 without overlongs, surrogates or code points past U+10FFFF; no NUL. */
static int utf8_ok(const char *str, uint32_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (uint32_t i = 0; i < n;) {
        unsigned c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        unsigned len, min;
        uint32_t cp;
        if ((c & 0xe0) == 0xc0) {
            len = 2, min = 0x80, cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            len = 3, min = 0x800, cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            len = 4, min = 0x10000, cp = c & 0x07;
        } else {
            return 0;
        }
        if (n - i < len)
            return 0;
        for (unsigned k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

int proto_ref_read(struct proto_mp *m, uint64_t self, uint64_t *origin, uint64_t *seq)
{
    const uint8_t *save = m->p;
    uint32_t n;
    if (proto_mp_peek(m) == PROTO_MP_UINT) {
        if (proto_mp_uint(m, seq) || *seq == 0)
            goto bad;
        *origin = self;
        return 0;
    }
    if (proto_mp_array(m, &n) || n != 2 || proto_mp_uint(m, origin) || proto_mp_uint(m, seq) ||
        *seq == 0)
        goto bad;
    return 0;
bad:
    m->p = save;
    return PROTO_EFIELD;
}

static int fail(struct proto_err *e, const struct proto_field *f, const char *what)
{
    return proto_errf(e, PROTO_EFIELD, "field '%s' (%u): %s", f->name, f->key, what);
}

int proto_field_read(struct proto_mp *m, const struct proto_field *f, uint64_t self,
                     struct proto_val *v, struct proto_err *e)
{
    uint32_t n;
    int rc;
    char msg[128];

    memset(v, 0, sizeof *v);
    v->raw = m->p;
    switch (f->type) {
    case PF_UINT:
        if (proto_mp_uint(m, &v->u))
            return fail(e, f, "not an unsigned integer");
        if (v->u < (uint64_t)f->min || v->u > (uint64_t)f->max) {
            snprintf(msg, sizeof msg, "%llu out of range %lld..%lld", (unsigned long long)v->u,
                     (long long)f->min, (long long)f->max);
            return fail(e, f, msg);
        }
        break;
    case PF_INT:
        if (proto_mp_int(m, &v->i))
            return fail(e, f, "not an integer");
        if (v->i < f->min || v->i > f->max) {
            snprintf(msg, sizeof msg, "%lld out of range %lld..%lld", (long long)v->i,
                     (long long)f->min, (long long)f->max);
            return fail(e, f, msg);
        }
        /* a signed quantity (an adjustment) of 0 changes nothing and is refused */
        if (f->min < 0 && f->max == PROTO_MAX_QTY && v->i == 0)
            return fail(e, f, "0 is not an adjustment");
        break;
    case PF_BOOL: {
        int b;
        if (proto_mp_bool(m, &b))
            return fail(e, f, "not a boolean");
        v->u = (uint64_t)b;
        break;
    }
    case PF_ID:
        if (proto_mp_uint(m, &v->u) || v->u == 0)
            return fail(e, f, "not a site id (a non-zero 64-bit unsigned integer)");
        break;
    case PF_TEXT:
    case PF_CODE:
    case PF_ICODE:
        rc = proto_mp_str(m, &v->s, &v->n, (uint32_t)f->max);
        if (rc == PROTO_ELIMIT) {
            snprintf(msg, sizeof msg, "longer than %lld bytes", (long long)f->max);
            return fail(e, f, msg);
        }
        if (rc)
            return fail(e, f, "not a string");
        if (v->n < (uint64_t)f->min) {
            snprintf(msg, sizeof msg, "shorter than %lld bytes", (long long)f->min);
            return fail(e, f, msg);
        }
        if (f->type == PF_CODE && !proto_code_ok(v->s, v->n, 0))
            return fail(e, f, "may hold only letters, digits, '.', '_' and '-'");
        if (f->type == PF_ICODE && !proto_code_ok(v->s, v->n, 1))
            return fail(e, f, "may hold only lower-case letters, digits, '.', '_' and '-'");
        if (!utf8_ok(v->s, v->n))
            return fail(e, f, "not valid UTF-8");
        break;
    case PF_REF:
        if (proto_ref_read(m, self, &v->origin, &v->u))
            return fail(e, f, "not an op reference (seq or [origin, seq])");
        break;
    case PF_REFS:
        if (proto_mp_array(m, &n))
            return fail(e, f, "not an array of op references");
        if (n < (uint64_t)f->min || n > (uint64_t)f->max)
            return fail(e, f, "wrong number of op references");
        for (uint32_t i = 0; i < n; i++) {
            uint64_t o, s;
            if (proto_ref_read(m, self, &o, &s))
                return fail(e, f, "not an array of op references");
        }
        v->n = n;
        break;
    case PF_LOTS:
        if (proto_mp_array(m, &n) || n > (uint64_t)f->max)
            return fail(e, f, "not an array of at most 256 [lot, qty]");
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k, ln;
            const char *lot;
            uint64_t q;
            if (proto_mp_array(m, &k) || k != 2 || proto_mp_str(m, &lot, &ln, 64) ||
                !utf8_ok(lot, ln) || proto_mp_uint(m, &q) || q == 0 || q > PROTO_MAX_QTY)
                return fail(e, f, "not an array of [lot (text), qty (1..10^9)]");
        }
        v->n = n;
        break;
    case PF_VV: {
        uint64_t last = 0;
        if (proto_mp_array(m, &n) || n > (uint64_t)f->max)
            return fail(e, f, "not an array of [origin, seq]");
        for (uint32_t i = 0; i < n; i++) {
            uint32_t k;
            uint64_t o, s;
            if (proto_mp_array(m, &k) || k != 2 || proto_mp_uint(m, &o) || proto_mp_uint(m, &s) ||
                s == 0 || (i > 0 && o <= last))
                return fail(e, f, "not an array of [origin, seq] with ascending origins");
            last = o;
        }
        v->n = n;
        break;
    }
    case PF_FIELDS:
    case PF_SEEN:
        /* checked by the caller, which knows the record schema */
        if (proto_mp_peek(m) != PROTO_MP_MAP)
            return fail(e, f, "not a map");
        if ((rc = proto_mp_skip(m, PROTO_MAX_DEPTH - 2)))
            return fail(e, f, "malformed");
        break;
    default:
        return fail(e, f, "unknown field type");
    }
    v->present = 1;
    v->raw_len = (uint32_t)(m->p - v->raw);
    return 0;
}

/* A map of record fields, or (seen) of field keys to REF arrays. */
static int check_record_map(const struct proto_kind_def *def, const struct proto_field *f,
                            struct proto_val *v, uint64_t self, struct proto_err *e)
{
    struct proto_mp m;
    uint32_t n;
    uint32_t seen_keys = 0;
    proto_mp_init(&m, v->raw, v->raw_len);
    proto_mp_map(&m, &n);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        if (proto_mp_uint(&m, &key) || key == 0 || key > PROTO_MAX_FIELD_KEY)
            return fail(e, f, "keys must be integers 1..31");
        if (seen_keys & (1u << key))
            return fail(e, f, "a key is given twice");
        seen_keys |= 1u << key;
        const struct proto_field *rf = find(def->record, key);
        struct proto_val rv;
        if (f->type == PF_SEEN) {
            struct proto_field refs = {(uint8_t)key, PF_REFS, 0, "seen", 0, f->max};
            if (proto_field_read(&m, &refs, self, &rv, NULL))
                return proto_errf(e, PROTO_EFIELD,
                                  "field '%s' (%u): key %llu: not an array of op references",
                                  f->name, f->key, (unsigned long long)key);
        } else if (rf) {
            if (proto_field_read(&m, rf, self, &rv, e))
                return PROTO_EFIELD;
        } else if (proto_mp_skip(&m, PROTO_MAX_DEPTH - 3)) {
            return fail(e, f, "malformed");
        }
    }
    v->n = n;
    return 0;
}

int proto_body_parse(uint32_t kind, const uint8_t *body, size_t len, uint64_t origin,
                     struct proto_body *out, struct proto_err *e)
{
    const struct proto_kind_def *def = proto_kind_def(kind);
    struct proto_mp m;
    uint32_t n;

    memset(out, 0, sizeof *out);
    if (!def)
        return proto_errf(e, -ENOENT, "unknown kind %u", kind);
    out->def = def;
    proto_mp_init(&m, body, len);
    if (proto_mp_map(&m, &n))
        return proto_errf(e, PROTO_EFIELD, "%s: body is not a map", def->name);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t key;
        if (proto_mp_uint(&m, &key))
            return proto_errf(e, PROTO_EFIELD, "%s: body keys must be unsigned integers",
                              def->name);
        const struct proto_field *f = key <= PROTO_MAX_FIELD_KEY ? find(def->fields, key) : NULL;
        if (!f) {
            /* a field of a newer version: carried, ignored */
            if (proto_mp_skip(&m, PROTO_MAX_DEPTH - 2))
                return proto_errf(e, PROTO_EMALFORMED, "%s: field %llu: malformed", def->name,
                                  (unsigned long long)key);
            continue;
        }
        if (out->v[key].present)
            return proto_errf(e, PROTO_EFIELD, "%s: field '%s' (%u) given twice", def->name,
                              f->name, f->key);
        struct proto_err fe;
        proto_err_clear(&fe);
        if (proto_field_read(&m, f, origin, &out->v[key], &fe) ||
            ((f->type == PF_FIELDS || f->type == PF_SEEN) &&
             check_record_map(def, f, &out->v[key], origin, &fe)))
            return proto_errf(e, PROTO_EFIELD, "%s: %s", def->name, fe.msg);
    }
    if (m.p != m.end)
        return proto_errf(e, PROTO_EMALFORMED, "%s: trailing bytes after the body", def->name);
    for (const struct proto_field *f = def->fields; f->key; f++)
        if (f->required && !out->v[f->key].present)
            return proto_errf(e, PROTO_EFIELD, "%s: field '%s' (%u) is missing", def->name,
                              f->name, f->key);
    return 0;
}
