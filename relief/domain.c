/*
 * The domain's write side and lookups (see domain.h).
 */
#include "domain.h"
#include "hlc.h"

#include "key.h"
#include "ledger.h"
#include "node.h"
#include "oplog.h"
#include "proto/kinds.h"
#include "proto/limits.h"
#include "proto/mp.h"

#include <errno.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct rl_stock_op rl_stock_ops[] = {
    {"receive", PROTO_KIND_STOCK_RECEIVE},   {"dispatch", PROTO_KIND_STOCK_DISPATCH},
    {"arrive", PROTO_KIND_STOCK_ARRIVE},     {"distribute", PROTO_KIND_STOCK_DISTRIBUTE},
    {"adjust", PROTO_KIND_STOCK_ADJUST},     {"count", PROTO_KIND_STOCK_COUNT},
    {"void", PROTO_KIND_STOCK_VOID},         {NULL, 0},
};

const char *const rl_site_kinds[] = {"centre", "warehouse", "school", "kitchen", "point", NULL};
const char *const rl_statuses[] = {"open", "closed", NULL};
const char *const rl_priorities[] = {"high", "medium", "low", NULL};
const char *const rl_reasons[] = {"damaged", "expired", "lost", "found", "unrecorded", "other",
                                  NULL};

const struct rl_fieldopt rl_site_fields[] = {
    {"name", PROTO_SITE_NAME, RL_FMT_TEXT, NULL},
    {"code", PROTO_SITE_CODE, RL_FMT_CODE, NULL},
    {"kind", PROTO_SITE_KIND, RL_FMT_ENUM, rl_site_kinds},
    {"address", PROTO_SITE_ADDRESS, RL_FMT_TEXT, NULL},
    {"prefecture", PROTO_SITE_ADM1, RL_FMT_TEXT, NULL},
    {"municipality", PROTO_SITE_ADM2, RL_FMT_TEXT, NULL},
    {"lat", PROTO_SITE_LAT, RL_FMT_DEG, NULL},
    {"lon", PROTO_SITE_LON, RL_FMT_DEG, NULL},
    {"capacity", PROTO_SITE_CAPACITY, RL_FMT_UINT, NULL},
    {"occupancy", PROTO_SITE_OCCUPANCY, RL_FMT_UINT, NULL},
    {"counted-at", PROTO_SITE_OCCUPANCY_AT, RL_FMT_TIME, NULL},
    {"status", PROTO_SITE_STATUS, RL_FMT_ENUM, rl_statuses},
    {"special-needs", PROTO_SITE_NEEDS, RL_FMT_TEXT, NULL},
    {"contact", PROTO_SITE_CONTACT, RL_FMT_TEXT, NULL},
    {"priority", PROTO_SITE_PRIORITY, RL_FMT_ENUM, rl_priorities},
    {"archived", PROTO_SITE_ARCHIVED, RL_FMT_BOOL, NULL},
    {NULL, 0, 0, NULL},
};

const struct rl_fieldopt rl_item_fields[] = {
    {"name", PROTO_ITEM_NAME, RL_FMT_TEXT, NULL},
    {"unit", PROTO_ITEM_UNIT, RL_FMT_TEXT, NULL},
    {"category", PROTO_ITEM_CATEGORY, RL_FMT_TEXT, NULL},
    {"archived", PROTO_ITEM_ARCHIVED, RL_FMT_BOOL, NULL},
    {NULL, 0, 0, NULL},
};

const struct rl_fieldopt rl_need_fields[] = {
    {"site", PROTO_NEED_SITE, RL_FMT_SITE, NULL},
    {"item", PROTO_NEED_ITEM, RL_FMT_ITEM, NULL},
    {"service", PROTO_NEED_SERVICE, RL_FMT_TEXT, NULL},
    {"qty", PROTO_NEED_QTY, RL_FMT_UINT, NULL},
    {"priority", PROTO_NEED_PRIORITY, RL_FMT_ENUM, rl_priorities},
    {"due", PROTO_NEED_DUE, RL_FMT_DAY, NULL},
    {"note", PROTO_NEED_NOTE, RL_FMT_TEXT, NULL},
    {"status", PROTO_NEED_STATUS, RL_FMT_ENUM, rl_statuses},
    {NULL, 0, 0, NULL},
};

const struct rl_fieldopt rl_shift_fields[] = {
    {"site", PROTO_SHIFT_SITE, RL_FMT_SITE, NULL},
    {"start", PROTO_SHIFT_START, RL_FMT_TIME, NULL},
    {"end", PROTO_SHIFT_END, RL_FMT_TIME, NULL},
    {"slots", PROTO_SHIFT_SLOTS, RL_FMT_UINT, NULL},
    {"role", PROTO_SHIFT_ROLE, RL_FMT_TEXT, NULL},
    {"meals", PROTO_SHIFT_MEALS, RL_FMT_UINT, NULL},
    {"status", PROTO_SHIFT_STATUS, RL_FMT_ENUM, rl_statuses},
    {NULL, 0, 0, NULL},
};

const struct rl_fieldopt rl_donation_fields[] = {
    {"donor", PROTO_DON_DONOR, RL_FMT_TEXT, NULL},
    {"to", PROTO_DON_TO, RL_FMT_SITE, NULL},
    {"item", PROTO_DON_ITEM, RL_FMT_ITEM, NULL},
    {"qty", PROTO_DON_QTY, RL_FMT_UINT, NULL},
    {"amount", PROTO_DON_AMOUNT, RL_FMT_UINT, NULL},
    {"currency", PROTO_DON_CURRENCY, RL_FMT_CURRENCY, NULL},
    {"note", PROTO_DON_NOTE, RL_FMT_TEXT, NULL},
    {"status", PROTO_DON_STATUS, RL_FMT_ENUM, rl_statuses},
    {"contact", PROTO_DON_CONTACT, RL_FMT_TEXT, NULL},
    {NULL, 0, 0, NULL},
};

const struct rl_fieldopt *rl_fields_of(enum rl_rtype type)
{
    switch (type) {
    case RL_R_SITE:
        return rl_site_fields;
    case RL_R_ITEM:
        return rl_item_fields;
    case RL_R_NEED:
        return rl_need_fields;
    case RL_R_SHIFT:
        return rl_shift_fields;
    case RL_R_DONATION:
        return rl_donation_fields;
    default:
        return NULL;
    }
}

const struct rl_fieldopt *rl_fieldopt_find(const struct rl_fieldopt *fs, const char *name)
{
    for (; fs->name; fs++)
        if (strcmp(fs->name, name) == 0)
            return fs;
    return NULL;
}

/* --- parsing values --- */

/*
 * A whole number in min..max (0 refused too when nonzero): digits, with a sign only where min
 * is below 0 ("+5", "-3"). what begins each message ("quantity ", "--capacity: "), which says
 * whether the text is no number at all or which limit it passes.
 */
static int parse_whole(const char *s, const char *what, int64_t min, int64_t max, int nonzero,
                       int64_t *out, struct proto_err *e)
{
    const char *p = s;
    int neg = 0;
    if (min < 0 && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    size_t nd = strspn(p, "0123456789");
    if (nd == 0 || p[nd])
        return proto_errf(e, -EINVAL, "%s'%.80s' is not a %s", what, s,
                          min < 0   ? "whole number such as +5 or -3"
                          : min > 0 ? "positive whole number"
                                    : "whole number 0 or more");
    int64_t v = 0, lim = neg ? -min : max; /* (the limits are far from INT64_MAX / 10) */
    for (; *p; p++) {
        v = v * 10 + (*p - '0');
        if (v > lim)
            return neg ? proto_errf(e, -EINVAL, "%s'%.80s' is smaller than %lld", what, s,
                                    (long long)min)
                       : proto_errf(e, -EINVAL, "%s'%.80s' is larger than %lld", what, s,
                                    (long long)max);
    }
    if (neg)
        v = -v;
    if (v == 0 && (nonzero || min == 1))
        return proto_errf(e, -EINVAL, "%s'%.80s' must not be zero", what, s);
    if (v < min)
        return proto_errf(e, -EINVAL, "%s'%.80s' is smaller than %lld", what, s, (long long)min);
    *out = v;
    return 0;
}

int rl_parse_qty(const char *s, int allow_sign, int allow_zero, int64_t *out, struct proto_err *e)
{
    int64_t min = allow_sign ? -PROTO_MAX_QTY : allow_zero ? 0 : 1;
    return parse_whole(s, "quantity ", min, PROTO_MAX_QTY, !allow_zero, out, e);
}

/* days since 1970-01-01 of a proleptic Gregorian date */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int)(yy + (*m <= 2));
}

static int days_in_month(int y, unsigned m)
{
    static const int dm[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return dm[m - 1];
}

/* n decimal digits at p (no sign, no space): 0, or -1 */
static int digits(const char *p, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    *out = v;
    return 0;
}

static int parse_date(const char *s, int *y, unsigned *m, unsigned *d, const char **rest)
{
    unsigned yy;
    const int n = 10; /* YYYY-MM-DD */
    if (digits(s, 4, &yy) || s[4] != '-' || digits(s + 5, 2, m) || s[7] != '-' ||
        digits(s + 8, 2, d))
        return -1;
    *y = (int)yy;
    if (*y < 1970 || *y > 2200 || *m < 1 || *m > 12 || *d < 1 ||
        (int)*d > days_in_month(*y, *m))
        return -1;
    *rest = s + n;
    return 0;
}

int rl_parse_day(const char *s, uint32_t *days, struct proto_err *e)
{
    int y;
    unsigned m, d;
    const char *rest;
    if (parse_date(s, &y, &m, &d, &rest) || *rest)
        return proto_errf(e, -EINVAL, "date '%s' is not a date like 2011-03-20", s);
    *days = (uint32_t)days_from_civil(y, m, d);
    return 0;
}

int rl_parse_time(const char *s, uint64_t *secs, struct proto_err *e)
{
    int y;
    unsigned mo, d, hh = 0, mi = 0, ss = 0;
    const char *p;
    if (parse_date(s, &y, &mo, &d, &p))
        goto bad;
    if (*p == 'T' || *p == ' ') {
        p++;
        if (digits(p, 2, &hh) || p[2] != ':' || digits(p + 3, 2, &mi))
            goto bad;
        p += 5;
        if (*p == ':') {
            if (digits(p + 1, 2, &ss))
                goto bad;
            p += 3;
        }
        if (hh > 23 || mi > 59 || ss > 60)
            goto bad;
    }
    int64_t t = days_from_civil(y, mo, d) * 86400 + hh * 3600 + mi * 60 + ss;
    if (*p == 'Z' && p[1] == '\0') {
        *secs = (uint64_t)t;
        return 0;
    }
    if ((*p == '+' || *p == '-') && strlen(p) == 6 && p[3] == ':') {
        unsigned oh, om;
        if (digits(p + 1, 2, &oh) || digits(p + 4, 2, &om) || oh > 14 || om > 59)
            goto bad;
        int64_t off = (int64_t)(oh * 3600 + om * 60);
        t = *p == '+' ? t - off : t + off;
        if (t < 0)
            goto early;
        *secs = (uint64_t)t;
        return 0;
    }
    if (*p)
        goto bad;
    /* no offset: the node's local time */
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = (int)mo - 1;
    tm.tm_mday = (int)d;
    tm.tm_hour = (int)hh;
    tm.tm_min = (int)mi;
    tm.tm_sec = (int)ss;
    tm.tm_isdst = -1;
    time_t lt = mktime(&tm);
    if (lt < 0)
        goto early; /* (mktime cannot fail otherwise for the years parse_date takes) */
    if (ss < 60 && (tm.tm_hour != (int)hh || tm.tm_min != (int)mi))
        return proto_errf(e, -EINVAL,
                          "time '%s' does not exist in this node's time zone (the clocks were "
                          "put forward over it): give it with its offset, as in "
                          "2011-03-20T18:00+09:00",
                          s);
    *secs = (uint64_t)lt;
    return 0;
early:
    return proto_errf(e, -EINVAL, "time '%s' is before 1970-01-01T00:00Z", s);
bad:
    return proto_errf(
        e, -EINVAL,
        "time '%s' is not like 2011-03-20T18:00, 2011-03-20T09:00Z or 2011-03-20T18:00+09:00", s);
}

void rl_format_day(uint32_t days, char *out, size_t n)
{
    int y;
    unsigned m, d;
    civil_from_days(days, &y, &m, &d);
    if (y < 0 || y > 9999 || n < 11) {
        snprintf(out, n, "%04d-%02u-%02u", y, m, d);
        return;
    }
    /* the common case without printf: reports format one per row */
    const unsigned v[3] = {(unsigned)y, m, d};
    char *p = out;
    for (int i = 0; i < 3; i++) {
        if (i) {
            *p++ = '-';
        } else {
            *p++ = (char)('0' + v[0] / 1000);
            *p++ = (char)('0' + v[0] / 100 % 10);
        }
        *p++ = (char)('0' + v[i] / 10 % 10);
        *p++ = (char)('0' + v[i] % 10);
    }
    *p = '\0';
}

void rl_format_time(uint64_t secs, char *out, size_t n)
{
    int y;
    unsigned m, d;
    civil_from_days((int64_t)(secs / 86400), &y, &m, &d);
    unsigned r = (unsigned)(secs % 86400);
    snprintf(out, n, "%04d-%02u-%02uT%02u:%02u:%02uZ", y, m, d, r / 3600, r / 60 % 60, r % 60);
}

int rl_parse_deg(const char *s, const char *name, int max, int64_t *micro, struct proto_err *e)
{
    const char *p = s;
    int neg = 0;
    if (*p == '+' || *p == '-')
        neg = *p++ == '-';
    size_t ni = strspn(p, "0123456789"), nf = 0;
    if (ni && p[ni] == '.')
        nf = strspn(p + ni + 1, "0123456789");
    if (ni == 0 || (p[ni] == '.' && nf == 0) || p[ni + (nf ? nf + 1 : 0)])
        return proto_errf(e, -EINVAL, "--%s: '%.80s' is not decimal degrees such as 38.4345", name,
                          s);
    int64_t v = 0;
    for (size_t i = 0; i < ni && v <= 1000; i++)
        v = v * 10 + (p[i] - '0');
    /* six decimals kept, the seventh rounds */
    for (size_t i = 0; i < 6; i++)
        v = v * 10 + (i < nf ? p[ni + 1 + i] - '0' : 0);
    if (nf > 6 && p[ni + 7] >= '5')
        v++;
    if (v > (int64_t)max * 1000000)
        return proto_errf(e, -EINVAL, "--%s: '%.80s' is out of range -%d..%d", name, s, max, max);
    *micro = neg ? -v : v;
    return 0;
}

/* --- lookups --- */

static int is_hex(const char *s, size_t min, size_t max)
{
    size_t n = strlen(s);
    if (n < min || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/*
 * Site codes and item codes found within a transaction, so that an import or a bench of many
 * movements looks each up once: per thread, valid for one rl_txn (its uid) until anything
 * that could change an answer (its changes count). Only what was found is kept: a site code
 * used by one site (a second one only ever comes with a change), an item that exists (items
 * are never removed).
 */
#define FOUND_SLOTS 8192u /* a Tohoku-sized 2,600 sites and 1,000 items fit */
#define FOUND_WAYS 4u     /* slots a code may take, from the one its hash names on */
struct found {
    uint64_t gen; /* found_gen when it was kept; other values: empty */
    uint64_t id;  /* a site's id; 1 for an item */
    char kind;    /* 's' or 'i' */
    uint8_t len;
    char code[64];
};
static _Thread_local struct found *found_v;
static _Thread_local uint64_t found_uid, found_gen;
static _Thread_local uint32_t found_changes;

/* The first of the FOUND_WAYS slots a code may take (NULL: none, the code is too long). */
static struct found *found_slot(struct rl_txn *t, char kind, const char *code, size_t n)
{
    if (n > 64)
        return NULL;
    if (!found_v && !(found_v = calloc(FOUND_SLOTS + FOUND_WAYS, sizeof *found_v)))
        return NULL;
    if (found_uid != t->uid || found_changes != t->changes || !found_gen) {
        found_gen++; /* everything kept before is gone */
        found_uid = t->uid;
        found_changes = t->changes;
    }
    uint32_t h = 2166136261u ^ (uint8_t)kind;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)code[i]) * 16777619u;
    return &found_v[h % FOUND_SLOTS];
}

static int found_is(const struct found *f, char kind, const char *code, size_t n)
{
    return f->gen == found_gen && f->kind == kind && f->len == n && !memcmp(f->code, code, n);
}

static int found_get(struct rl_txn *t, char kind, const char *code, uint64_t *id)
{
    size_t n = strlen(code);
    struct found *f = found_slot(t, kind, code, n);
    for (unsigned i = 0; f && i < FOUND_WAYS; i++)
        if (found_is(&f[i], kind, code, n)) {
            *id = f[i].id;
            return 1;
        }
    return 0;
}

static void found_put(struct rl_txn *t, char kind, const char *code, uint64_t id)
{
    static _Thread_local unsigned turn; /* which slot goes when all are taken */
    size_t n = strlen(code);
    struct found *f = found_slot(t, kind, code, n);
    if (!f)
        return;
    unsigned i = 0;
    while (i < FOUND_WAYS && f[i].gen == found_gen && !found_is(&f[i], kind, code, n))
        i++;
    f += i < FOUND_WAYS ? i : turn++ % FOUND_WAYS;
    f->gen = found_gen;
    f->kind = kind;
    f->len = (uint8_t)n;
    memcpy(f->code, code, n);
    f->id = id;
}

int rl_resolve_site(struct rl_txn *t, const char *s, uint64_t *id, struct proto_err *e)
{
    struct rl_key pre;
    struct rl_cursor c;
    MDB_val k, v;
    uint64_t found[3];
    int n = 0, rc;

    if (!*s || strlen(s) > 64)
        return proto_errf(e, -ENOENT, "unknown site '%.64s'", s);
    if (found_get(t, 's', s, id))
        return 0;
    /* a short code */
    rl_key_reset(&pre);
    rl_key_str(&pre, s, strlen(s));
    if ((rc = rl_cursor_open(t, RL_DB_CODES, &c)))
        return proto_errf(e, rc, "cannot read sites: %s", proto_strerror(rc));
    for (rc = rl_cursor_seek(&c, pre.b, pre.n, &k, &v); rc == 0 && n < 3;
         rc = rl_cursor_next(&c, &k, &v)) {
        if (!rl_key_has_prefix(k.mv_data, k.mv_size, &pre) || k.mv_size != pre.n + 8)
            break;
        found[n++] = proto_get_be64((const uint8_t *)k.mv_data + pre.n);
    }
    rl_cursor_close(&c);
    if (n == 1) {
        *id = found[0];
        found_put(t, 's', s, *id);
        return 0;
    }
    if (n > 1)
        return proto_errf(e, -EINVAL,
                          "short code '%s' is used by more than one site (%016llx, %016llx%s); "
                          "name the site by its id",
                          s, (unsigned long long)found[0], (unsigned long long)found[1],
                          n > 2 ? ", ..." : "");
    /* an id or a unique prefix of one */
    if (is_hex(s, 4, 16)) {
        uint8_t start[1] = {RL_R_SITE};
        char hex[17];
        if ((rc = rl_cursor_open(t, RL_DB_RECORDS, &c)))
            return proto_errf(e, rc, "cannot read sites: %s", proto_strerror(rc));
        for (rc = rl_cursor_seek(&c, start, 1, &k, &v); rc == 0 && n < 2;
             rc = rl_cursor_next(&c, &k, &v)) {
            const uint8_t *kp = k.mv_data;
            if (k.mv_size != 9 || kp[0] != RL_R_SITE)
                break;
            snprintf(hex, sizeof hex, "%016llx", (unsigned long long)proto_get_be64(kp + 1));
            if (strncmp(hex, s, strlen(s)) == 0)
                found[n++] = proto_get_be64(kp + 1);
        }
        rl_cursor_close(&c);
        if (n == 1) {
            *id = found[0];
            return 0;
        }
        if (n > 1)
            return proto_errf(e, -EINVAL, "site id prefix '%s' is ambiguous", s);
    }
    return proto_errf(e, -ENOENT, "unknown site '%s'", s);
}

/* Item codes: 1..64 of a-z 0-9 . _ - (lower case, so 'Rice' and 'rice' cannot be two items). */
static int code_chars_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

int rl_resolve_item(struct rl_txn *t, const char *code, struct proto_err *e)
{
    struct rl_rid r;
    if (!code_chars_ok(code))
        return proto_errf(e, -EINVAL,
                          "item code '%.80s' may hold only lower-case letters, digits, '.', '_' and '-' "
                          "(1 to 64 of them)",
                          code);
    uint64_t known;
    if (found_get(t, 'i', code, &known))
        return 0;
    rl_rid_item(&r, code, strlen(code));
    int rc = rl_record_get(t, &r, NULL);
    if (rc == 0)
        found_put(t, 'i', code, 1);
    if (rc == -ENOENT)
        return proto_errf(e, rc, "unknown item '%s' (add it with 'relief item add')", code);
    return rc ? proto_errf(e, rc, "cannot read items: %s", proto_strerror(rc)) : 0;
}

void rl_ref_format(uint64_t origin, uint64_t seq, char out[40])
{
    /* "%08llx-%llu" of (origin >> 32, seq), without printf: reports format one per row */
    static const char hex[] = "0123456789abcdef";
    char digits[24];
    int n = 0;
    for (int i = 0; i < 8; i++)
        out[i] = hex[(origin >> (60 - 4 * i)) & 15];
    out[8] = '-';
    do {
        digits[n++] = (char)('0' + seq % 10);
        seq /= 10;
    } while (seq);
    char *p = out + 9;
    while (n)
        *p++ = digits[--n];
    *p = '\0';
}

int rl_resolve_ref(struct rl_txn *t, const char *s, uint64_t *origin, uint64_t *seq,
                   struct proto_err *e)
{
    /* (relief log prints origin:seq) */
    const char *dash = strrchr(s, '-') ? strrchr(s, '-') : strrchr(s, ':');
    char prefix[17];
    struct proto_vv vv;
    if (!dash || dash - s < 4 || dash - s > 16)
        goto bad;
    memcpy(prefix, s, (size_t)(dash - s));
    prefix[dash - s] = '\0';
    if (!is_hex(prefix, 4, 16))
        goto bad;
    /* the seq: decimal digits alone (strtoull would take a sign or spaces, and wrap) */
    const char *d = dash + 1;
    size_t nd = strspn(d, "0123456789");
    uint64_t sq = 0;
    if (nd == 0 || d[nd])
        goto bad;
    for (size_t i = 0; i < nd; i++) {
        unsigned dig = (unsigned)(d[i] - '0');
        if (sq > (UINT64_MAX - dig) / 10)
            goto bad;
        sq = sq * 10 + dig;
    }
    if (sq == 0)
        goto bad;
    proto_vv_init(&vv);
    int rc = rl_vv_load(t, &vv, e);
    if (rc)
        return rc;
    int n = 0;
    for (uint32_t i = 0; i < vv.n; i++) {
        char hex[17];
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)vv.e[i].origin);
        if (strncmp(hex, prefix, strlen(prefix)) == 0) {
            *origin = vv.e[i].origin;
            n++;
        }
    }
    proto_vv_free(&vv);
    if (n > 1)
        return proto_errf(e, -EINVAL, "'%s' is ambiguous: give more digits before the '-'", s);
    if (n == 0)
        return proto_errf(e, -ENOENT, "no record '%s' on this node", s);
    *seq = sq;
    return 0;
bad:
    return proto_errf(e, -EINVAL, "'%.80s' is not a record id like 71c0735a-42", s);
}

/* --- building ops --- */

struct body {
    struct proto_buf b;
    msgpack_packer pk;
};

static void body_init(struct body *b)
{
    proto_buf_init(&b->b, PROTO_MAX_OP_BYTES);
    msgpack_packer_init(&b->pk, &b->b, proto_buf_msgpack_write);
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

static void pack_ref(msgpack_packer *pk, uint64_t self, uint64_t o, uint64_t s)
{
    if (o == self) {
        msgpack_pack_uint64(pk, s);
        return;
    }
    msgpack_pack_array(pk, 2);
    msgpack_pack_uint64(pk, o);
    msgpack_pack_uint64(pk, s);
}

/* The limits on a built body and its author that the op log does not check itself. */
static int body_limits(const struct body *b, const char *author, struct proto_err *e)
{
    int rc = proto_buf_failed(&b->b);
    if (rc)
        return proto_errf(e, rc, "the change is too large (more than %u bytes)",
                          PROTO_MAX_OP_BYTES);
    if (author && strlen(author) > PROTO_MAX_AUTHOR_BYTES)
        return proto_errf(e, -EINVAL, "author name is longer than %u bytes",
                          PROTO_MAX_AUTHOR_BYTES);
    return 0;
}

/* Append the built body (rl_oplog_append checks it against its kind's schema). */
static int append_checked(struct rl_txn *t, uint32_t kind, struct body *b, uint64_t min_hlc,
                          const char *author, struct rl_op_ref *ref, struct proto_err *e)
{
    int rc = body_limits(b, author, e);
    return rc ? rc : rl_oplog_append(t, kind, b->b.data, b->b.len, min_hlc, author, ref, e);
}

/* What append_checked would refuse of the built body, without appending it. */
static int check_only(struct rl_txn *t, uint32_t kind, const struct body *b, const char *author,
                      struct proto_err *e)
{
    static _Thread_local struct proto_body parsed;
    struct proto_err pe;
    int rc = body_limits(b, author, e);
    if (rc)
        return rc;
    proto_err_clear(&pe);
    if (proto_body_parse(kind, b->b.data, b->b.len, rl_txn_node(t)->id, &parsed, &pe))
        return proto_errf(e, -EINVAL, "%s", pe.msg);
    return 0;
}

/* Currencies in the form of ISO 4217 codes (the list itself changes; it is not kept here). */
static int currency_ok(const char *s)
{
    return strlen(s) == 3 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
           s[2] >= 'A' && s[2] <= 'Z';
}

/* Pack the value of field f of an op of kind, read from its text s. */
static int pack_value(struct rl_txn *t, uint32_t kind, msgpack_packer *pk,
                      const struct rl_fieldopt *f, const char *s, struct proto_err *e)
{
    int64_t q = 0;
    uint32_t day;
    uint64_t secs, id;
    char opt[40];
    int rc;
    switch (f->fmt) {
    case RL_FMT_TEXT:
    case RL_FMT_CODE: {
        /* a text longer than its field takes is named here, before it outgrows the op */
        const struct proto_kind_def *def = proto_kind_def(kind);
        const struct proto_field *pf = def ? proto_record_field(def, f->key) : NULL;
        size_t n = strlen(s);
        if (pf && (pf->type == PF_TEXT || pf->type == PF_CODE) && n > (size_t)pf->max)
            return proto_errf(e, PROTO_ELIMIT, "--%s: '%.40s...' is longer than %lld bytes",
                              f->name, s, (long long)pf->max);
        if (pf && pf->type == PF_CODE && (n < (size_t)pf->min || !proto_code_ok(s, n, 0)))
            return proto_errf(e, -EINVAL,
                              "--%s: '%s' may hold only letters, digits, '.', '_' and '-' (%lld "
                              "to %lld of them)",
                              f->name, s, (long long)pf->min, (long long)pf->max);
        pack_str(pk, s);
        return 0;
    }
    case RL_FMT_CURRENCY:
        if (!currency_ok(s))
            return proto_errf(e, -EINVAL,
                              "--%s: '%.80s' is not a currency code: three capital letters, as "
                              "in ISO 4217 (JPY, USD, EUR)",
                              f->name, s);
        pack_str(pk, s);
        return 0;
    case RL_FMT_UINT: {
        /* each field within the range its kind's schema gives it */
        const struct proto_kind_def *def = proto_kind_def(kind);
        const struct proto_field *pf = def ? proto_record_field(def, f->key) : NULL;
        snprintf(opt, sizeof opt, "--%s: ", f->name);
        if ((rc = parse_whole(s, opt, pf ? pf->min : 0, pf ? pf->max : PROTO_MAX_QTY, 0, &q, e)))
            return rc;
        msgpack_pack_uint64(pk, (uint64_t)q);
        return 0;
    }
    case RL_FMT_DEG:
        if ((rc = rl_parse_deg(s, f->name, f->key == PROTO_SITE_LAT ? 90 : 180, &q, e)))
            return rc;
        msgpack_pack_int64(pk, q);
        return 0;
    case RL_FMT_TIME:
        if ((rc = rl_parse_time(s, &secs, e)))
            return rc;
        msgpack_pack_uint64(pk, secs);
        return 0;
    case RL_FMT_DAY:
        if ((rc = rl_parse_day(s, &day, e)))
            return rc;
        msgpack_pack_uint32(pk, day);
        return 0;
    case RL_FMT_BOOL:
        if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "1"))
            msgpack_pack_true(pk);
        else if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "0"))
            msgpack_pack_false(pk);
        else
            return proto_errf(e, -EINVAL, "--%s: '%s' is not yes or no", f->name, s);
        return 0;
    case RL_FMT_ENUM:
        for (int i = 0; f->names[i]; i++)
            if (!strcmp(f->names[i], s)) {
                msgpack_pack_uint32(pk, (uint32_t)i + 1);
                return 0;
            }
        {
            char list[200] = "";
            for (int i = 0; f->names[i]; i++)
                snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", i ? "|" : "",
                         f->names[i]);
            return proto_errf(e, -EINVAL, "--%s: '%s' is not one of %s", f->name, s, list);
        }
    case RL_FMT_SITE:
        if ((rc = rl_resolve_site(t, s, &id, e)))
            return rc;
        msgpack_pack_uint64(pk, id);
        return 0;
    case RL_FMT_ITEM:
        if ((rc = rl_resolve_item(t, s, e)))
            return rc;
        pack_str(pk, s);
        return 0;
    }
    return proto_errf(e, -EINVAL, "--%s: unsupported field", f->name);
}

struct heads_arg {
    msgpack_packer *pk; /* NULL: count only */
    uint64_t self;
    uint64_t max_hlc;
    uint32_t n;
};

static int head_ref(void *arg, const struct rl_head *h)
{
    struct heads_arg *a = arg;
    if (a->pk)
        pack_ref(a->pk, a->self, h->origin, h->seq);
    if (h->hlc > a->max_hlc)
        a->max_hlc = h->hlc;
    a->n++;
    return 0;
}

/* --- a site's languages: an add-wins set, changed to match a list --- */

struct lang_find {
    const char *lang;
    size_t n;
    uint64_t o[64], s[64];
    int count;
};

static int lang_match(void *arg, uint64_t o, uint64_t s, const uint8_t *elem, size_t n)
{
    struct lang_find *f = arg;
    if (n == f->n && !memcmp(elem, f->lang, n) && f->count < 64) {
        f->o[f->count] = o;
        f->s[f->count++] = s;
    }
    return 0;
}

struct lang_list {
    char v[32][36];
    int n;
};

static int lang_collect(void *arg, uint64_t o, uint64_t s, const uint8_t *elem, size_t n)
{
    struct lang_list *l = arg;
    (void)o;
    (void)s;
    if (l->n < 32 && n < 36) {
        for (int i = 0; i < l->n; i++)
            if (strlen(l->v[i]) == n && !memcmp(l->v[i], elem, n))
                return 0;
        memcpy(l->v[l->n], elem, n);
        l->v[l->n++][n] = '\0';
    }
    return 0;
}

/* The site's languages made the list's: adds and removes; *last: the last op written (origin 0
 * when none: the list was the site's already). */
static int set_languages(struct rl_txn *t, const struct rl_rid *rid, uint64_t site,
                         const char *list, const char *author, struct rl_op_ref *last,
                         struct proto_err *e)
{
    struct lang_list want = {0}, have = {0};
    const char *p = list;
    uint64_t self = rl_txn_node(t)->id;
    int rc;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *next = p + n;
        while (n && p[0] == ' ') {
            p++;
            n--;
        }
        while (n && p[n - 1] == ' ')
            n--;
        if (n) {
            /* named by the option and the list, not by the site.lang.add op it would become */
            if (n > 35 || !proto_code_ok(p, n, 0))
                return proto_errf(e, -EINVAL,
                                  "--languages: '%.200s' is not a list of language tags like "
                                  "pt,tl: '%.*s' may hold only letters, digits, '.', '_' and '-' "
                                  "(1 to 35 of them)",
                                  list, (int)(n > 40 ? 40 : n), p);
            if (want.n >= 32)
                return proto_errf(e, -EINVAL, "--languages: '%.200s' holds more than 32 languages",
                                  list);
            memcpy(want.v[want.n], p, n);
            want.v[want.n++][n] = '\0';
        }
        p = *next == ',' ? next + 1 : next;
    }
    if ((rc = rl_set_each(t, rid, 1, lang_collect, &have)))
        return rc;
    for (int i = 0; i < want.n; i++) {
        int held = 0;
        for (int j = 0; j < have.n; j++)
            held |= !strcmp(want.v[i], have.v[j]);
        if (held)
            continue;
        struct body b;
        struct rl_op_ref ref;
        body_init(&b);
        msgpack_pack_map(&b.pk, 2);
        msgpack_pack_uint8(&b.pk, PROTO_F_SITE_ID);
        msgpack_pack_uint64(&b.pk, site);
        msgpack_pack_uint8(&b.pk, PROTO_F_SITE_LANG);
        pack_str(&b.pk, want.v[i]);
        rc = append_checked(t, PROTO_KIND_SITE_LANG_ADD, &b, 0, author, &ref, e);
        proto_buf_free(&b.b);
        if (rc)
            return rc;
        *last = ref;
    }
    for (int j = 0; j < have.n; j++) {
        int wanted = 0;
        for (int i = 0; i < want.n; i++)
            wanted |= !strcmp(want.v[i], have.v[j]);
        if (wanted)
            continue;
        struct lang_find f = {have.v[j], strlen(have.v[j]), {0}, {0}, 0};
        struct body b;
        struct rl_op_ref ref;
        if ((rc = rl_set_each(t, rid, 1, lang_match, &f)))
            return rc;
        body_init(&b);
        msgpack_pack_map(&b.pk, 2);
        msgpack_pack_uint8(&b.pk, PROTO_F_SITE_ID);
        msgpack_pack_uint64(&b.pk, site);
        msgpack_pack_uint8(&b.pk, PROTO_F_SITE_TAGS);
        msgpack_pack_array(&b.pk, (uint32_t)f.count);
        for (int k = 0; k < f.count; k++)
            pack_ref(&b.pk, self, f.o[k], f.s[k]);
        rc = append_checked(t, PROTO_KIND_SITE_LANG_REMOVE, &b, 0, author, &ref, e);
        proto_buf_free(&b.b);
        if (rc)
            return rc;
        *last = ref;
    }
    return 0;
}

/* --- rules across the fields of a need, a shift or a donation --- */

/* The field of an edit with the record field key, or NULL. */
static const struct rl_edit_field *edit_field(const struct rl_edit *ed, uint8_t key)
{
    for (int i = 0; i < ed->nfields; i++)
        if (ed->fields[i].f->key == key)
            return &ed->fields[i];
    return NULL;
}

static const char *edit_value(const struct rl_edit *ed, uint8_t key)
{
    const struct rl_edit_field *f = edit_field(ed, key);
    return f ? f->value : NULL;
}

/* Whether a record's field has a value (an empty text counts as none). */
static int record_has(struct rl_txn *t, const struct rl_rid *rid, uint8_t key)
{
    struct rl_head h;
    const char *str;
    uint32_t n;
    if (rl_field_get(t, rid, key, &h))
        return 0;
    return !(rl_head_str(&h, &str, &n) == 0 && n == 0);
}

/* A shift ends after it starts: the times the edit gives, else the shift's own. */
static int check_shift(struct rl_txn *t, const struct rl_edit *ed, const struct rl_rid *rid,
                       struct proto_err *e)
{
    const char *ss = edit_value(ed, PROTO_SHIFT_START), *es = edit_value(ed, PROTO_SHIFT_END);
    uint64_t start = 0, end = 0;
    char at[40];
    int rc;
    if ((ss && (rc = rl_parse_time(ss, &start, e))) || (es && (rc = rl_parse_time(es, &end, e))))
        return rc;
    if ((!ss && (ed->add || rl_field_uint(t, rid, PROTO_SHIFT_START, &start))) ||
        (!es && (ed->add || rl_field_uint(t, rid, PROTO_SHIFT_END, &end))))
        return 0; /* nothing to compare */
    if (end > start)
        return 0;
    if (ss && es)
        return proto_errf(e, -EINVAL,
                          "--end: '%s' is not after --start %s: a shift ends after it starts", es,
                          ss);
    rl_format_time(ss ? end : start, at, sizeof at);
    if (ss)
        return proto_errf(e, -EINVAL, "--start: '%s' is not before the shift's end, %s", ss, at);
    return proto_errf(e, -EINVAL, "--end: '%s' is not after the shift's start, %s", es, at);
}

/* A need is for an item or for a service, never both. */
static int check_need(struct rl_txn *t, const struct rl_edit *ed, const struct rl_rid *rid,
                      struct proto_err *e)
{
    const char *it = edit_value(ed, PROTO_NEED_ITEM), *sv = edit_value(ed, PROTO_NEED_SERVICE);
    if (it && sv)
        return proto_errf(e, -EINVAL,
                          "a need is for an item or a service, not both: --item '%s', "
                          "--service '%s'",
                          it, sv);
    if (ed->add)
        return 0;
    if (it && record_has(t, rid, PROTO_NEED_SERVICE))
        return proto_errf(e, -EINVAL, "need '%s' is for a service: it cannot take --item '%s'",
                          ed->target, it);
    if (sv && record_has(t, rid, PROTO_NEED_ITEM))
        return proto_errf(e, -EINVAL, "need '%s' is for an item: it cannot take --service '%s'",
                          ed->target, sv);
    return 0;
}

/* A donation is of goods (item, qty) or of money (amount, currency), never both. */
static int check_donation(struct rl_txn *t, const struct rl_edit *ed, const struct rl_rid *rid,
                          struct proto_err *e)
{
    const struct rl_edit_field *g = edit_field(ed, PROTO_DON_ITEM);
    const struct rl_edit_field *m = edit_field(ed, PROTO_DON_AMOUNT);
    if (!g)
        g = edit_field(ed, PROTO_DON_QTY);
    if (!m)
        m = edit_field(ed, PROTO_DON_CURRENCY);
    if (g && m)
        return proto_errf(e, -EINVAL,
                          "a donation is of goods (--item, --qty) or of money (--amount, "
                          "--currency), not both: --%s '%s' with --%s '%s'",
                          g->f->name, g->value, m->f->name, m->value);
    if (ed->add)
        return 0;
    if (g && (record_has(t, rid, PROTO_DON_AMOUNT) || record_has(t, rid, PROTO_DON_CURRENCY)))
        return proto_errf(e, -EINVAL, "donation '%s' is of money: it cannot take --%s '%s'",
                          ed->target, g->f->name, g->value);
    if (m && (record_has(t, rid, PROTO_DON_ITEM) || record_has(t, rid, PROTO_DON_QTY)))
        return proto_errf(e, -EINVAL, "donation '%s' is of goods: it cannot take --%s '%s'",
                          ed->target, m->f->name, m->value);
    return 0;
}

/*
 * Nothing a person can see: spaces (ASCII, tab, no-break U+00A0, ideographic U+3000 -- a
 * Japanese IME's), characters of no width (U+200B..U+200D, U+2060, U+FEFF) and combining marks
 * (U+0300..U+036F) with nothing to combine with.
 */
static int blank_text(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == ' ' || *p == '\t')
            p++;
        else if (p[0] == 0xc2 && p[1] == 0xa0)
            p += 2;
        else if (p[0] == 0xe3 && p[1] == 0x80 && p[2] == 0x80)
            p += 3;
        else if (p[0] == 0xe2 && p[1] == 0x80 && p[2] >= 0x8b && p[2] <= 0x8d)
            p += 3;
        else if (p[0] == 0xe2 && p[1] == 0x81 && p[2] == 0xa0)
            p += 3;
        else if (p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
            p += 3;
        else if ((p[0] == 0xcc && p[1] >= 0x80) || (p[0] == 0xcd && p[1] >= 0x80 && p[1] <= 0xaf))
            p += 2;
        else
            return 0;
    }
    return 1;
}

/* A control character (a line break, a tab is allowed): not in a one-line text. */
static int has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return 1;
    return 0;
}

/* A name-like text (one line, not blank): 0 or the error, named by its option. */
static int one_line_ok(const char *opt, const char *v, const char *why, struct proto_err *e)
{
    if (blank_text(v))
        return proto_errf(e, -EINVAL, "--%s must not be empty%s%s", opt, why ? ": " : "",
                          why ? why : "");
    if (has_control(v))
        return proto_errf(e, -EINVAL,
                          "--%s: '%.80s' holds a line break or another control character: it "
                          "is one line of text",
                          opt, v);
    return 0;
}

/*
 * The texts a record cannot be without, refused empty (or blank, or more than one line) on add
 * and set alike (as the import refuses them): a nameless site, an item without a unit, a need
 * for no service.
 */
static int check_required(const struct rl_edit *ed, struct proto_err *e)
{
    static const struct {
        uint8_t rtype, key;
        const char *why;
    } req[] = {
        {RL_R_SITE, PROTO_SITE_NAME, "a site needs a name"},
        {RL_R_ITEM, PROTO_ITEM_NAME, "an item needs a name"},
        {RL_R_ITEM, PROTO_ITEM_UNIT, "an item needs a unit"},
        {RL_R_NEED, PROTO_NEED_SERVICE, "a need for a service names it (or give --item)"},
        {RL_R_DONATION, PROTO_DON_DONOR, "a donation needs a donor"},
    };
    for (size_t i = 0; i < sizeof req / sizeof *req; i++) {
        const struct rl_edit_field *f =
            req[i].rtype == ed->rtype ? edit_field(ed, req[i].key) : NULL;
        int rc = f ? one_line_ok(f->f->name, f->value, req[i].why, e) : 0;
        if (rc)
            return rc;
    }
    return 0;
}

struct edit_arg {
    const struct rl_edit *ed;
    struct rl_written *out;
};

static int edit_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct edit_arg *a = arg;
    const struct rl_edit *ed = a->ed;
    uint64_t self = rl_txn_node(t)->id, id = 0;
    struct rl_rid rid;
    struct body b;
    uint32_t kind;
    uint64_t min_hlc = 0;
    struct rl_op_ref ref;
    int rc;

    if (ed->nfields == 0 && !(ed->languages && ed->rtype == RL_R_SITE && !ed->add))
        return proto_errf(e, PROTO_EUSAGE, "nothing to change: give at least one field");
    if ((rc = check_required(ed, e)))
        return rc;
    uint64_t ro = 0, rs = 0;
    const char *what = ed->rtype == RL_R_NEED    ? "need"
                       : ed->rtype == RL_R_SHIFT ? "shift"
                                                 : "donation";
    if (ed->rtype == RL_R_NEED || ed->rtype == RL_R_SHIFT || ed->rtype == RL_R_DONATION) {
        kind = ed->rtype == RL_R_NEED    ? (ed->add ? PROTO_KIND_NEED_ADD : PROTO_KIND_NEED_SET)
               : ed->rtype == RL_R_SHIFT ? (ed->add ? PROTO_KIND_SHIFT_ADD : PROTO_KIND_SHIFT_SET)
                                         : (ed->add ? PROTO_KIND_DONATION_PLEDGE
                                                    : PROTO_KIND_DONATION_SET);
        if (!ed->add) {
            if ((rc = rl_resolve_ref(t, ed->target, &ro, &rs, e)))
                return rc;
            rl_rid_ref(&rid, ed->rtype, ro, rs);
            if (rl_record_get(t, &rid, NULL))
                return proto_errf(e, -ENOENT, "no %s '%s' on this node", what, ed->target);
        }
    } else if (ed->rtype == RL_R_SITE) {
        kind = ed->add ? PROTO_KIND_SITE_ADD : PROTO_KIND_SITE_SET;
        if (ed->add) {
            do
                randombytes_buf(&id, sizeof id);
            while (id == 0);
        } else if ((rc = rl_resolve_site(t, ed->target, &id, e))) {
            return rc;
        }
        rl_rid_site(&rid, id);
    } else {
        kind = ed->add ? PROTO_KIND_ITEM_ADD : PROTO_KIND_ITEM_SET;
        if (!code_chars_ok(ed->target))
            return rl_resolve_item(t, ed->target, e);
        rl_rid_item(&rid, ed->target, strlen(ed->target));
        rc = rl_record_get(t, &rid, NULL);
        if (ed->add && rc == 0)
            return proto_errf(e, PROTO_EEXIST,
                              "item '%s' exists already; change it with 'relief item set'",
                              ed->target);
        if (!ed->add && (rc = rl_resolve_item(t, ed->target, e)))
            return rc;
    }
    rc = ed->rtype == RL_R_SHIFT      ? check_shift(t, ed, &rid, e)
         : ed->rtype == RL_R_NEED     ? check_need(t, ed, &rid, e)
         : ed->rtype == RL_R_DONATION ? check_donation(t, ed, &rid, e)
                                      : 0;
    if (rc)
        return rc;
    /* a short code names one site on this node (two made offline elsewhere get an alert) */
    if (ed->rtype == RL_R_SITE) {
        for (int i = 0; i < ed->nfields; i++) {
            uint64_t other;
            struct proto_err ignore;
            if (ed->fields[i].f->key != PROTO_SITE_CODE)
                continue;
            if (rl_resolve_site(t, ed->fields[i].value, &other, &ignore) == 0 && other != id)
                return proto_errf(e, PROTO_EEXIST,
                                  "short code '%s' is already used by site %016llx: choose "
                                  "another",
                                  ed->fields[i].value, (unsigned long long)other);
        }
    }
    body_init(&b);
    int by_ref = ed->rtype == RL_R_NEED || ed->rtype == RL_R_SHIFT || ed->rtype == RL_R_DONATION;
    if (by_ref && ed->add) {
        msgpack_pack_map(&b.pk, 1); /* the record is named by this op */
    } else {
        msgpack_pack_map(&b.pk, ed->add ? 2 : 3);
        msgpack_pack_uint8(&b.pk, 1);
        if (by_ref)
            pack_ref(&b.pk, self, ro, rs);
        else if (ed->rtype == RL_R_SITE)
            msgpack_pack_uint64(&b.pk, id);
        else
            pack_str(&b.pk, ed->target);
    }
    msgpack_pack_uint8(&b.pk, 2);
    msgpack_pack_map(&b.pk, (uint32_t)ed->nfields);
    for (int i = 0; i < ed->nfields; i++) {
        msgpack_pack_uint8(&b.pk, ed->fields[i].f->key);
        if ((rc = pack_value(t, kind, &b.pk, ed->fields[i].f, ed->fields[i].value, e)))
            goto out;
    }
    if (!ed->add) {
        /* every field lists the versions this edit saw: it supersedes them all */
        msgpack_pack_uint8(&b.pk, 3);
        msgpack_pack_map(&b.pk, (uint32_t)ed->nfields);
        for (int i = 0; i < ed->nfields; i++) {
            struct heads_arg h = {NULL, self, 0, 0};
            uint8_t key = ed->fields[i].f->key;
            if ((rc = rl_field_heads(t, &rid, key, head_ref, &h)) < 0)
                goto out;
            msgpack_pack_uint8(&b.pk, key);
            msgpack_pack_array(&b.pk, h.n);
            h.pk = &b.pk;
            h.n = 0;
            if ((rc = rl_field_heads(t, &rid, key, head_ref, &h)) < 0)
                goto out;
            min_hlc = rl_hlc_overwrite(min_hlc, h.max_hlc);
        }
    }
    if (ed->nfields) {
        rc = append_checked(t, kind, &b, min_hlc, ed->author, &ref, e);
        if (!rc) {
            a->out->origin = ref.origin;
            a->out->seq = ref.seq;
            a->out->site = id;
        }
    } else {
        rc = 0;
        a->out->site = id;
    }
    if (!rc && ed->rtype == RL_R_SITE && ed->languages) {
        struct rl_op_ref last = {0};
        rc = set_languages(t, &rid, id, ed->languages, ed->author, &last, e);
        /* the languages alone changed: the op is the last one that recorded them */
        if (!rc && ed->nfields == 0 && last.origin) {
            a->out->origin = last.origin;
            a->out->seq = last.seq;
        }
    }
out:
    proto_buf_free(&b.b);
    return rc < 0 ? rc : 0;
}

int rl_edit_in(struct rl_txn *t, const struct rl_edit *ed, struct rl_written *out,
               struct proto_err *e)
{
    struct edit_arg a = {ed, out};
    return edit_fn(t, &a, e);
}

int rl_edit_apply(struct rl_store *s, const struct rl_edit *ed, struct rl_written *out,
                  struct proto_err *e)
{
    struct edit_arg a = {ed, out};
    return rl_node_write(s, edit_fn, &a, e);
}

/* --- stock --- */

struct draw {
    int64_t left;
    char lot[256][65];
    uint8_t len[256];
    int64_t take[256];
    uint32_t n;
};

/* a lot drawn from (the first 256: a movement records at most that many) */
static int draw_lot(void *arg, const char *lot, size_t ln, uint32_t expiry, int64_t qty)
{
    struct draw *d = arg;
    (void)expiry;
    int64_t take = qty < d->left ? qty : d->left;
    d->left -= take;
    if (ln) { /* only named lots are recorded: what none covers comes from the unnamed one */
        memcpy(d->lot[d->n], lot, ln);
        d->len[d->n] = (uint8_t)ln;
        d->take[d->n++] = take;
    }
    return d->left <= 0 || d->n == 256;
}

static void pack_drawn(const struct draw *d, msgpack_packer *pk)
{
    msgpack_pack_array(pk, d->n);
    for (uint32_t i = 0; i < d->n; i++) {
        msgpack_pack_array(pk, 2);
        msgpack_pack_str_with_body(pk, d->lot[i], d->len[i]);
        msgpack_pack_uint64(pk, (uint64_t)d->take[i]);
    }
}

/* Draw qty from a shelf's lots as stock leaves it (rl_shelf_lots_held: earliest expiry first);
 * pack [[lot, qty], ...]. */
static int draw_lots(struct rl_txn *t, uint64_t site, const char *item, int64_t qty,
                     msgpack_packer *pk)
{
    struct rl_key k;
    MDB_val v;
    static _Thread_local struct draw d;
    int rc;
    rl_key_reset(&k);
    rl_key_u64(&k, site);
    rl_key_str(&k, item, strlen(item));
    d.left = qty;
    d.n = 0;
    rc = rl_get(t, RL_DB_BALANCE, k.b, k.n, &v);
    if (rc == 0 && (rc = rl_shelf_lots_held(t, k.b, k.n, v.mv_data, v.mv_size, draw_lot, &d)) == 1)
        rc = 0;
    if (rc && rc != -ENOENT)
        return rc;
    pack_drawn(&d, pk);
    return 0;
}

/* a lot a count finds short (the first 256) */
static int short_lot(void *arg, const char *lot, size_t ln, int64_t q)
{
    struct draw *d = arg;
    memcpy(d->lot[d->n], lot, ln);
    d->len[d->n] = (uint8_t)ln;
    d->take[d->n++] = q;
    return d->n == 256;
}

/* --- shifts: sign-ups, cancellations, meals served --- */

struct shift_arg {
    const struct rl_shift_req *r;
    struct rl_written *out;
};

struct signup_find {
    const char *volunteer;
    msgpack_packer *pk;
    uint64_t self;
    uint32_t n;
};

static int signup_match(void *arg, uint64_t o, uint64_t s, const uint8_t *elem, size_t n)
{
    struct signup_find *f = arg;
    size_t vl = strlen(f->volunteer);
    if (n >= 9 && elem[8] == vl && n >= 9 + vl && memcmp(elem + 9, f->volunteer, vl) == 0) {
        if (f->pk)
            pack_ref(f->pk, f->self, o, s);
        f->n++;
    }
    return 0;
}

/*
 * A text option of an op longer than its kind's field takes, named by its option before it is
 * packed: the schema would name only the op's field, and past PROTO_MAX_OP_BYTES the body
 * would not be built at all.
 */
static int op_text_ok(uint32_t kind, uint8_t key, const char *opt, const char *s,
                      struct proto_err *e)
{
    const struct proto_kind_def *def = proto_kind_def(kind);
    for (const struct proto_field *f = def && s ? def->fields : NULL; f && f->key; f++)
        if (f->key == key && f->type == PF_TEXT && strlen(s) > (size_t)f->max)
            return proto_errf(e, PROTO_ELIMIT, "--%s: '%.40s...' is longer than %lld bytes", opt, s,
                              (long long)f->max);
    return 0;
}

static int shift_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct shift_arg *a = arg;
    const struct rl_shift_req *r = a->r;
    uint64_t self = rl_txn_node(t)->id, o, s;
    struct rl_rid rid;
    struct body b;
    struct rl_op_ref ref;
    int64_t meals;
    int rc;

    if ((rc = rl_resolve_ref(t, r->shift, &o, &s, e)))
        return rc;
    rl_rid_ref(&rid, RL_R_SHIFT, o, s);
    if (rl_record_get(t, &rid, NULL))
        return proto_errf(e, -ENOENT, "no shift '%s' on this node", r->shift);
    if (r->kind == PROTO_KIND_SHIFT_SIGNUP &&
        (rc = one_line_ok("volunteer", r->volunteer ? r->volunteer : "", "who signs up?", e)))
        return rc;
    if ((rc = op_text_ok(r->kind, PROTO_F_SIGNUP_VOLUNTEER, "volunteer", r->volunteer, e)) ||
        (r->kind == PROTO_KIND_SHIFT_SIGNUP &&
         (rc = op_text_ok(r->kind, PROTO_F_SIGNUP_CONTACT, "contact", r->contact, e))))
        return rc;
    body_init(&b);
    switch (r->kind) {
    case PROTO_KIND_SHIFT_SIGNUP: {
        /* one place a volunteer: confirmed or wait-listed (two laptops may still both sign
         * someone up offline; the merge keeps both, as it must) */
        struct signup_find f = {r->volunteer ? r->volunteer : "", NULL, self, 0};
        if ((rc = rl_set_each(t, &rid, 1, signup_match, &f)))
            goto out;
        if (f.n) {
            rc = proto_errf(e, PROTO_EEXIST, "'%s' is already signed up for shift '%s'",
                            r->volunteer, r->shift);
            goto out;
        }
        msgpack_pack_map(&b.pk, r->contact ? 3 : 2);
        msgpack_pack_uint8(&b.pk, PROTO_F_REC_TARGET);
        pack_ref(&b.pk, self, o, s);
        msgpack_pack_uint8(&b.pk, PROTO_F_SIGNUP_VOLUNTEER);
        pack_str(&b.pk, r->volunteer);
        if (r->contact) {
            msgpack_pack_uint8(&b.pk, PROTO_F_SIGNUP_CONTACT);
            pack_str(&b.pk, r->contact);
        }
        break;
    }
    case PROTO_KIND_SHIFT_CANCEL: {
        struct signup_find f = {r->volunteer, NULL, self, 0};
        if ((rc = rl_set_each(t, &rid, 1, signup_match, &f)))
            goto out;
        if (f.n == 0) {
            rc = proto_errf(e, -ENOENT, "'%s' is not signed up for shift '%s'", r->volunteer,
                            r->shift);
            goto out;
        }
        msgpack_pack_map(&b.pk, 3);
        msgpack_pack_uint8(&b.pk, PROTO_F_REC_TARGET);
        pack_ref(&b.pk, self, o, s);
        msgpack_pack_uint8(&b.pk, PROTO_F_SIGNUP_VOLUNTEER);
        pack_str(&b.pk, r->volunteer);
        msgpack_pack_uint8(&b.pk, PROTO_F_CANCEL_TAGS);
        msgpack_pack_array(&b.pk, f.n);
        f.pk = &b.pk;
        if ((rc = rl_set_each(t, &rid, 1, signup_match, &f)))
            goto out;
        break;
    }
    case PROTO_KIND_SHIFT_SERVED:
        if ((rc = parse_whole(r->meals ? r->meals : "", "--meals: ", 1, PROTO_MAX_QTY, 1, &meals,
                              e)))
            goto out;
        msgpack_pack_map(&b.pk, 2);
        msgpack_pack_uint8(&b.pk, PROTO_F_REC_TARGET);
        pack_ref(&b.pk, self, o, s);
        msgpack_pack_uint8(&b.pk, PROTO_F_SERVED_MEALS);
        msgpack_pack_uint64(&b.pk, (uint64_t)meals);
        break;
    default:
        rc = proto_errf(e, -EINVAL, "not a shift operation");
        goto out;
    }
    if ((rc = append_checked(t, r->kind, &b, 0, r->author, &ref, e)))
        goto out;
    a->out->origin = ref.origin;
    a->out->seq = ref.seq;
out:
    proto_buf_free(&b.b);
    return rc;
}

int rl_shift_in(struct rl_txn *t, const struct rl_shift_req *r, struct rl_written *out,
                struct proto_err *e)
{
    struct shift_arg a = {r, out};
    memset(out, 0, sizeof *out);
    return shift_fn(t, &a, e);
}

int rl_shift_write(struct rl_store *s, const struct rl_shift_req *r, struct rl_written *out,
                   struct proto_err *e)
{
    struct shift_arg a = {r, out};
    memset(out, 0, sizeof *out);
    return rl_node_write(s, shift_fn, &a, e);
}

struct stock_arg {
    const struct rl_stock_req *r;
    struct rl_stock_result *out;
};

/* Why the op o:s that an arrival or a void names is not what it takes. */
static int not_movement(struct rl_txn *t, const struct rl_stock_req *r, uint64_t o, uint64_t s,
                        struct proto_err *e)
{
    struct proto_op op;
    struct proto_err ignore;
    int arrive = r->kind == PROTO_KIND_STOCK_ARRIVE;
    if (rl_oplog_get(t, o, s, &op, &ignore))
        return proto_errf(e, -ENOENT, "no %s '%s' on this node", arrive ? "transfer" : "movement",
                          r->target);
    const char *kn = proto_kind_name(op.kind) ? proto_kind_name(op.kind) : "op of another kind";
    if (arrive)
        return proto_errf(e, -EINVAL, "'%s' is a %s, not a transfer (a stock.dispatch)", r->target,
                          kn);
    switch (op.kind) {
    case PROTO_KIND_STOCK_ARRIVE:
        return proto_errf(e, -EINVAL,
                          "'%s' is an arrival, which cannot be voided: record the quantity that "
                          "arrived again, with another arrival of its transfer",
                          r->target);
    case PROTO_KIND_STOCK_COUNT:
        return proto_errf(e, -EINVAL,
                          "'%s' is a stock count, which cannot be voided: count the shelf again",
                          r->target);
    case PROTO_KIND_STOCK_VOID:
        return proto_errf(e, -EINVAL, "'%s' is a void, which cannot be voided", r->target);
    default:
        return proto_errf(e, -EINVAL, "'%s' is a %s, not a stock movement", r->target, kn);
    }
}

/* A need or donation a movement counts against: for its item (not a service or money) and, for
 * a need, at the site given (where the goods are handed out, or where a transfer takes them). */
static int names_fit(struct rl_txn *t, const struct rl_rid *rid, const char *what, const char *ref,
                     uint8_t f_item, const char *item, uint8_t f_site, uint64_t site,
                     struct proto_err *e)
{
    struct rl_head h;
    const char *s;
    uint32_t n;
    uint64_t at;
    int rc = rl_field_get(t, rid, f_item, &h);
    if (rc && rc != -ENOENT)
        return rc;
    if (rc || rl_head_str(&h, &s, &n) || n == 0)
        return proto_errf(e, -EINVAL, "%s '%s' is not for goods: no stock counts against it", what,
                          ref);
    if (n != strlen(item) || memcmp(s, item, n))
        return proto_errf(e, -EINVAL, "%s '%s' is for item '%.*s', not '%s'", what, ref,
                          (int)(n > 64 ? 64 : n), s, item);
    if (!f_site)
        return 0;
    if ((rc = rl_field_get(t, rid, f_site, &h)) && rc != -ENOENT)
        return rc;
    if (rc == 0 && rl_head_uint(&h, &at) == 0 && at != site)
        return proto_errf(e, -EINVAL,
                          "%s '%s' is at another site: goods count against it where they are "
                          "handed out, or when a transfer to its site arrives",
                          what, ref);
    return 0;
}

static int stock_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct stock_arg *a = arg;
    const struct rl_stock_req *r = a->r;
    uint64_t self = rl_txn_node(t)->id, site = 0, to = 0, o, s;
    int64_t qty = 0;
    uint32_t nfields = 0;
    struct body b, extra;
    struct rl_op_ref ref;
    uint64_t min_hlc = 0;
    int64_t dispatched = 0; /* an arrival's transfer's */
    char item[65] = "";     /* an arrival's */
    int rc;

    body_init(&b);
    body_init(&extra); /* the fields after the map header, counted in nfields */
    if ((rc = op_text_ok(r->kind, PROTO_F_MV_LOT, "lot", r->lot, e)) ||
        (rc = op_text_ok(r->kind, PROTO_F_MV_FROM_TEXT, "from", r->from_text, e)) ||
        (rc = op_text_ok(r->kind, PROTO_F_MV_NOTE,
                         r->kind == PROTO_KIND_STOCK_VOID ? "reason" : "note", r->note, e)))
        goto out;
    if (r->lot && !*r->lot) { /* (stock without a lot is stock without --lot) */
        rc =
            proto_errf(e, -EINVAL, "--lot must not be empty: leave it out for stock without a lot");
        goto out;
    }
    switch (r->kind) {
    case PROTO_KIND_STOCK_RECEIVE:
    case PROTO_KIND_STOCK_DISPATCH:
    case PROTO_KIND_STOCK_DISTRIBUTE:
    case PROTO_KIND_STOCK_ADJUST:
    case PROTO_KIND_STOCK_COUNT:
        site = r->site_id;
        if ((!site && (rc = rl_resolve_site(t, r->site, &site, e))) ||
            (!r->item_known && (rc = rl_resolve_item(t, r->item, e))))
            goto out;
        if (r->kind == PROTO_KIND_STOCK_DISPATCH) {
            to = r->to_id;
            if (!to && (rc = rl_resolve_site(t, r->to, &to, e)))
                goto out;
            if (to == site) {
                rc = proto_errf(e, -EINVAL, "--from and --to name the same site '%s'", r->to);
                goto out;
            }
        }
        if ((rc = rl_parse_qty(r->qty, r->kind == PROTO_KIND_STOCK_ADJUST,
                               r->kind == PROTO_KIND_STOCK_COUNT, &qty, e)))
            goto out;
        msgpack_pack_uint8(&extra.pk, PROTO_F_MV_SITE);
        msgpack_pack_uint64(&extra.pk, site);
        msgpack_pack_uint8(&extra.pk, PROTO_F_MV_ITEM);
        pack_str(&extra.pk, r->item);
        msgpack_pack_uint8(&extra.pk, PROTO_F_MV_QTY);
        msgpack_pack_int64(&extra.pk, qty);
        nfields = 3;
        break;
    case PROTO_KIND_STOCK_ARRIVE:
    case PROTO_KIND_STOCK_VOID: {
        static _Thread_local struct rl_mv mv;
        if (r->kind == PROTO_KIND_STOCK_VOID && (!r->note || !*r->note)) {
            rc = proto_errf(e, -EINVAL, "--reason must not be empty: say why it is voided");
            goto out;
        }
        if ((rc = rl_resolve_ref(t, r->target, &o, &s, e)))
            goto out;
        rc = rl_ledger_get(t, o, s, &mv);
        if (rc == -ENOENT || (rc == 0 && r->kind == PROTO_KIND_STOCK_ARRIVE &&
                              mv.kind != PROTO_KIND_STOCK_DISPATCH)) {
            rc = not_movement(t, r, o, s, e);
            goto out;
        }
        if (rc) {
            rc = proto_errf(e, rc, "cannot read movement '%s': %s", r->target,
                            proto_strerror(rc));
            goto out;
        }
        site = r->kind == PROTO_KIND_STOCK_ARRIVE ? mv.to : mv.site;
        msgpack_pack_uint8(&extra.pk, PROTO_F_MV_TARGET);
        pack_ref(&extra.pk, self, o, s);
        nfields = 1;
        if (r->kind == PROTO_KIND_STOCK_ARRIVE) {
            struct rl_rid rid;
            struct heads_arg h = {NULL, self, 0, 0};
            if ((rc = rl_ledger_voided(t, o, s)) != 0) {
                if (rc > 0)
                    rc = proto_errf(e, -EINVAL,
                                    "transfer '%s' was voided: nothing of it is on its way",
                                    r->target);
                goto out;
            }
            if (r->qty) {
                if ((rc = rl_parse_qty(r->qty, 0, 1, &qty, e)))
                    goto out;
            } else {
                qty = mv.qty;
            }
            dispatched = mv.qty;
            memcpy(item, mv.item, mv.item_len < sizeof item ? mv.item_len : sizeof item - 1);
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_QTY);
            msgpack_pack_int64(&extra.pk, qty);
            rl_rid_ref(&rid, RL_R_TRANSFER, o, s);
            if ((rc = rl_field_heads(t, &rid, RL_TRANSFER_ARRIVED, head_ref, &h)) < 0)
                goto out;
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_SEEN);
            msgpack_pack_array(&extra.pk, h.n);
            h.pk = &extra.pk;
            if ((rc = rl_field_heads(t, &rid, RL_TRANSFER_ARRIVED, head_ref, &h)) < 0)
                goto out;
            min_hlc = h.max_hlc ? rl_hlc_overwrite(0, h.max_hlc) : 0;
            nfields += 2;
        } else {
            if ((rc = rl_ledger_voided(t, o, s)) != 0) {
                if (rc > 0)
                    rc = proto_errf(e, PROTO_EEXIST, "movement '%s' is voided already",
                                    r->target);
                goto out;
            }
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_NOTE);
            pack_str(&extra.pk, r->note ? r->note : "");
            nfields++;
        }
        break;
    }
    default:
        rc = proto_errf(e, -EINVAL, "not a stock operation");
        goto out;
    }
    /* optional fields */
    if (r->kind == PROTO_KIND_STOCK_RECEIVE || r->kind == PROTO_KIND_STOCK_ADJUST) {
        if (r->lot) {
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_LOT);
            pack_str(&extra.pk, r->lot);
            nfields++;
        }
    }
    if (r->kind == PROTO_KIND_STOCK_RECEIVE) {
        uint32_t day;
        if (r->expiry) {
            if ((rc = rl_parse_day(r->expiry, &day, e)))
                goto out;
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_EXPIRY);
            msgpack_pack_uint32(&extra.pk, day);
            nfields++;
        }
        if (r->from_text) {
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_FROM_TEXT);
            pack_str(&extra.pk, r->from_text);
            nfields++;
        }
        if (r->donation) {
            struct rl_rid rid;
            if ((rc = rl_resolve_ref(t, r->donation, &o, &s, e)))
                goto out;
            rl_rid_ref(&rid, RL_R_DONATION, o, s);
            if (rl_record_get(t, &rid, NULL)) {
                rc = proto_errf(e, -ENOENT, "no donation '%s' on this node", r->donation);
                goto out;
            }
            if ((rc =
                     names_fit(t, &rid, "donation", r->donation, PROTO_DON_ITEM, r->item, 0, 0, e)))
                goto out;
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_DONATION);
            pack_ref(&extra.pk, self, o, s);
            nfields++;
        }
    }
    if (r->kind == PROTO_KIND_STOCK_DISPATCH) {
        msgpack_pack_uint8(&extra.pk, PROTO_F_MV_TO);
        msgpack_pack_uint64(&extra.pk, to);
        nfields++;
    }
    if (r->kind == PROTO_KIND_STOCK_DISTRIBUTE && r->note) {
        msgpack_pack_uint8(&extra.pk, PROTO_F_MV_NOTE);
        pack_str(&extra.pk, r->note);
        nfields++;
    }
    if (r->kind == PROTO_KIND_STOCK_DISPATCH || r->kind == PROTO_KIND_STOCK_DISTRIBUTE) {
        msgpack_pack_uint8(&extra.pk, PROTO_F_MV_LOTS);
        if ((rc = draw_lots(t, site, r->item, qty, &extra.pk)))
            goto out;
        nfields++;
        if (r->need) {
            struct rl_rid rid;
            if ((rc = rl_resolve_ref(t, r->need, &o, &s, e)))
                goto out;
            rl_rid_ref(&rid, RL_R_NEED, o, s);
            if (rl_record_get(t, &rid, NULL)) {
                rc = proto_errf(e, -ENOENT, "no need '%s' on this node", r->need);
                goto out;
            }
            /* handed out where it is needed, or sent there */
            if ((rc = names_fit(t, &rid, "need", r->need, PROTO_NEED_ITEM, r->item, PROTO_NEED_SITE,
                                r->kind == PROTO_KIND_STOCK_DISPATCH ? to : site, e)))
                goto out;
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_NEED);
            pack_ref(&extra.pk, self, o, s);
            nfields++;
        }
    }
    if (r->kind == PROTO_KIND_STOCK_ADJUST) {
        int reason = 0;
        for (int i = 0; rl_reasons[i]; i++)
            if (r->reason && !strcmp(rl_reasons[i], r->reason))
                reason = i + 1;
        if (!reason) {
            rc = proto_errf(e, -EINVAL,
                            "--reason '%s' is not one of "
                            "damaged|expired|lost|found|unrecorded|other",
                            r->reason ? r->reason : "");
            goto out;
        }
        msgpack_pack_uint8(&extra.pk, PROTO_F_MV_REASON);
        msgpack_pack_uint8(&extra.pk, (uint8_t)reason);
        nfields++;
        /* a loss naming no lot takes the lots stock leaves by, and says which (a later receipt
         * without a lot would otherwise make up for it in the unnamed lot, and the lost lot
         * stay on the shelf) */
        if (qty < 0 && !(r->lot && *r->lot)) {
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_LOTS);
            if ((rc = draw_lots(t, site, r->item, -qty, &extra.pk)))
                goto out;
            nfields++;
        }
        if (r->note) {
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_NOTE);
            pack_str(&extra.pk, r->note);
            nfields++;
        }
    }
    if (r->kind == PROTO_KIND_STOCK_COUNT) {
        struct proto_vv vv;
        proto_vv_init(&vv);
        if ((rc = rl_vv_load(t, &vv, e)))
            goto out;
        msgpack_pack_uint8(&extra.pk, PROTO_F_MV_VV);
        msgpack_pack_array(&extra.pk, vv.n);
        for (uint32_t i = 0; i < vv.n; i++) {
            msgpack_pack_array(&extra.pk, 2);
            msgpack_pack_uint64(&extra.pk, vv.e[i].origin);
            msgpack_pack_uint64(&extra.pk, vv.e[i].seq);
        }
        proto_vv_free(&vv);
        nfields++;
        /* the count it saw is overwritten, whatever the other node's clock said */
        uint64_t seen_hlc = 0;
        if ((rc = rl_ledger_count_hlc(t, site, r->item, strlen(r->item), &seen_hlc)))
            goto out;
        min_hlc = seen_hlc ? rl_hlc_overwrite(0, seen_hlc) : 0;
        /* fewer than the records say: the lots the missing ones are taken from, as stock
         * leaves (so that a lot that is gone is not said to be there, nor drawn later) */
        static _Thread_local struct draw d;
        d.n = 0;
        d.left = INT64_MAX;
        if ((rc = rl_ledger_count_short(t, site, r->item, strlen(r->item), qty, short_lot, &d)) < 0)
            goto out;
        rc = 0;
        if (d.n) {
            msgpack_pack_uint8(&extra.pk, PROTO_F_MV_LOTS);
            pack_drawn(&d, &extra.pk);
            nfields++;
        }
    }
    if ((rc = proto_buf_failed(&extra.b))) {
        rc = proto_errf(e, rc, "the change is too large (more than %u bytes)", PROTO_MAX_OP_BYTES);
        goto out;
    }
    msgpack_pack_map(&b.pk, nfields);
    proto_buf_add(&b.b, extra.b.data, extra.b.len);
    if (r->check_only) {
        rc = check_only(t, r->kind, &b, r->author, e);
        goto out;
    }
    if ((rc = append_checked(t, r->kind, &b, min_hlc, r->author, &ref, e)))
        goto out;
    if (!a->out)
        goto out; /* the caller wants neither the ref nor the balance */
    a->out->origin = ref.origin;
    a->out->seq = ref.seq;
    if (r->kind != PROTO_KIND_STOCK_VOID && r->kind != PROTO_KIND_STOCK_ARRIVE && site &&
        !r->ref_only) {
        a->out->has_balance =
            rl_ledger_balance(t, site, r->item, strlen(r->item), &a->out->balance) == 0;
    }
    if (r->kind == PROTO_KIND_STOCK_ARRIVE && !r->ref_only) {
        a->out->arrival = 1;
        a->out->dispatched = dispatched;
        a->out->arrived = qty;
        memcpy(a->out->item, item, sizeof item);
        a->out->has_balance = rl_ledger_balance(t, site, item, strlen(item), &a->out->balance) == 0;
    }
out:
    proto_buf_free(&b.b);
    proto_buf_free(&extra.b);
    return rc;
}

int rl_stock_in(struct rl_txn *t, const struct rl_stock_req *r, struct rl_stock_result *out,
                struct proto_err *e)
{
    struct stock_arg a = {r, out};
    if (out)
        memset(out, 0, sizeof *out);
    return stock_fn(t, &a, e);
}

int rl_stock_write(struct rl_store *s, const struct rl_stock_req *r, struct rl_stock_result *out,
                   struct proto_err *e)
{
    struct stock_arg a = {r, out};
    memset(out, 0, sizeof *out);
    return rl_node_write(s, stock_fn, &a, e);
}
