/*
 * CSV import (import.h): the header row names the columns; each data row becomes one domain
 * call -- rl_edit_in for a site or an item, rl_stock_in for a movement -- inside write
 * transactions run by rl_node_write, so an import checks exactly what the CLI checks.
 *
 * The domain's messages name the bad value but not always the field it came from, so the
 * values a message cannot be traced from (sites and items a movement names, quantities, dates,
 * reasons, codes already taken) are checked here first, column by column in the file's order;
 * any other refusal is traced to its column by the field or the quoted value it names.
 */
#include "import.h"

#include "domain.h"
#include "node.h"
#include "proto/kinds.h"
#include "proto/op.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Columns that are not a record field. */
enum {
    COL_FIELD = 0, /* a field of rl_site_fields / rl_item_fields */
    COL_ITEM_CODE, /* items: the code (the edit's target) */
    COL_LANGUAGES, /* sites: the languages spoken, "pt,tl,zh" */
    COL_MV_TYPE,   /* movements ... */
    COL_MV_SITE,
    COL_MV_TO,
    COL_MV_ITEM,
    COL_MV_QTY,
    COL_MV_LOT,
    COL_MV_EXPIRY,
    COL_MV_FROM,
    COL_MV_REASON,
    COL_MV_NOTE,
    COL_COUNT
};

static const char *const mv_names[COL_COUNT] = {
    [COL_MV_TYPE] = "type",     [COL_MV_SITE] = "site", [COL_MV_TO] = "to",
    [COL_MV_ITEM] = "item",     [COL_MV_QTY] = "qty",   [COL_MV_LOT] = "lot",
    [COL_MV_EXPIRY] = "expiry", [COL_MV_FROM] = "from", [COL_MV_REASON] = "reason",
    [COL_MV_NOTE] = "note",
};

/* Movement types, and the columns each takes (bit COL_MV_*) and needs. */
static const struct {
    const char *name;
    uint32_t kind;
    uint32_t takes, needs;
} mv_types[] = {
#define B(c) (1u << (c))
#define BASE (B(COL_MV_TYPE) | B(COL_MV_SITE) | B(COL_MV_ITEM) | B(COL_MV_QTY))
    {"receive", PROTO_KIND_STOCK_RECEIVE, BASE | B(COL_MV_LOT) | B(COL_MV_EXPIRY) | B(COL_MV_FROM),
     BASE},
    {"distribute", PROTO_KIND_STOCK_DISTRIBUTE, BASE | B(COL_MV_NOTE), BASE},
    {"adjust", PROTO_KIND_STOCK_ADJUST, BASE | B(COL_MV_REASON) | B(COL_MV_LOT) | B(COL_MV_NOTE),
     BASE | B(COL_MV_REASON)},
    {"dispatch", PROTO_KIND_STOCK_DISPATCH, BASE | B(COL_MV_TO), BASE | B(COL_MV_TO)},
    {"count", PROTO_KIND_STOCK_COUNT, BASE, BASE},
};
#define NTYPES (sizeof mv_types / sizeof *mv_types)

struct col {
    char name[24]; /* the column's name as documented */
    int what;      /* COL_* */
    const struct rl_fieldopt *f;
};

struct imp {
    const struct rl_import_opts *o;
    struct rl_csv csv;
    uint32_t ncols;
    struct col cols[RL_CSV_MAX_FIELDS];
    int at[COL_COUNT];      /* movements: the column of each COL_MV_*, or -1 */
    struct rl_csv_pos data; /* where the first data row starts */
    /* one pass over the rows: in */
    struct rl_csv_pos from;
    uint64_t max_rows;
    int dry;
    int check; /* the row is only checked: a movement past max_rows in a dry run */
    /* out */
    struct rl_csv_pos next;
    uint64_t done;
    int reached_end, cancelled;
    /* where an import written in several transactions has got to (struct rl_import_cut) */
    struct rl_import_cut cut;
    int cut_found;      /* a note of an import of this file cut short: this one resumes it */
    uint64_t rows_left; /* rows from the start position to the end (after the check) */
    uint64_t before;    /* of them, rows written by this import's earlier transactions */
};

int rl_import_kind_parse(const char *s, enum rl_import_kind *out)
{
    for (int k = RL_IMPORT_SITES; k <= RL_IMPORT_MOVEMENTS; k++)
        if (!strcmp(s, rl_import_kind_name((enum rl_import_kind)k))) {
            *out = (enum rl_import_kind)k;
            return 0;
        }
    return -EINVAL;
}

const char *rl_import_kind_name(enum rl_import_kind k)
{
    return k == RL_IMPORT_SITES ? "sites" : k == RL_IMPORT_ITEMS ? "items" : "movements";
}

/* --- messages --- */

/* Control characters (a line break inside a quoted value) would split the one-line message. */
static void one_line(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

/* "line L, column C (HEADER): what" for column i (-1: the row as a whole). */
static int row_err(struct imp *im, struct proto_err *e, int code, int i, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int row_err(struct imp *im, struct proto_err *e, int code, int i, const char *fmt, ...)
{
    char what[PROTO_ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    if (code == PROTO_EUSAGE || code >= 0)
        code = -EINVAL; /* bad data, never a usage error */
    if (i < 0 || (uint32_t)i >= rl_csv_nfields(&im->csv))
        proto_errf(e, code, "line %llu: %s", (unsigned long long)rl_csv_field_line(&im->csv, 0),
                   what);
    else
        proto_errf(e, code, "line %llu, column %d%s%s%s: %s",
                   (unsigned long long)rl_csv_field_line(&im->csv, (uint32_t)i), i + 1,
                   (uint32_t)i < im->ncols && im->cols[i].name[0] ? " (" : "",
                   (uint32_t)i < im->ncols ? im->cols[i].name : "",
                   (uint32_t)i < im->ncols && im->cols[i].name[0] ? ")" : "", what);
    one_line(e->msg);
    return code;
}

/* A reader's error, with the column's name when the header gave one. */
static int csv_err(struct imp *im, struct proto_err *e, int rc, int header)
{
    if (!header && im->csv.err_col >= 1 && im->csv.err_col <= im->ncols)
        proto_errf(e, rc, "line %llu, column %u (%s): %s", (unsigned long long)im->csv.err_line,
                   im->csv.err_col, im->cols[im->csv.err_col - 1].name, im->csv.err_what);
    one_line(e->msg);
    return rc;
}

/* The value of column i as '...' for a message: its start, cut at a character. */
static void quote_value(const char *v, char *out, size_t n)
{
    size_t len = strlen(v), k = len < 40 ? len : 40;
    while (k > 0 && k < len && ((unsigned char)v[k] & 0xC0) == 0x80)
        k--;
    snprintf(out, n, "'%.*s%s'", (int)k, v, k < len ? "..." : "");
}

/* The name the op schema (proto/kinds.c) gives the field of column c, for tracing messages. */
static void schema_name(const struct col *c, char *out, size_t n)
{
    if (!strcmp(c->name, "counted-at"))
        snprintf(out, n, "occupancy_at");
    else
        snprintf(out, n, "%s", c->name);
    for (char *p = out; *p; p++)
        if (*p == '-')
            *p = '_';
}

/*
 * A refusal of the domain for the current row, traced to the column it is about: the field it
 * names ("--capacity: ...", "field 'name' (1): ..."), else the first column whose value it
 * quotes. The prefix naming the field is dropped (the column says it) and the value added when
 * the message does not quote it.
 */
static int domain_err(struct imp *im, struct proto_err *e, int rc, const char *msg)
{
    char pat[256], sn[32];
    const char *rest = msg;
    int at = -1;
    for (uint32_t i = 0; i < im->ncols && at < 0; i++) {
        const char *p;
        snprintf(pat, sizeof pat, "--%s:", im->cols[i].name);
        if ((p = strstr(msg, pat))) {
            at = (int)i;
            rest = p + strlen(pat);
            while (*rest == ' ')
                rest++;
            break;
        }
        schema_name(&im->cols[i], sn, sizeof sn);
        snprintf(pat, sizeof pat, "field '%s' (", sn);
        if ((p = strstr(msg, pat))) {
            at = (int)i;
            const char *q = strstr(p, "): ");
            rest = q ? q + 3 : msg;
        }
    }
    for (uint32_t i = 0; i < im->ncols && at < 0; i++) {
        const char *v = rl_csv_field(&im->csv, i);
        if (!*v || strlen(v) > 200)
            continue;
        snprintf(pat, sizeof pat, "'%s'", v);
        if (strstr(msg, pat))
            at = (int)i;
    }
    if (at < 0)
        return row_err(im, e, rc, -1, "%s", msg);
    const char *v = rl_csv_field(&im->csv, (uint32_t)at);
    char q[64];
    quote_value(v, q, sizeof q);
    if (strstr(rest, q) || !*v)
        return row_err(im, e, rc, at, "%s", rest);
    /* the schema says "longer than 512 bytes", "not valid UTF-8" */
    int is =
        !strncmp(rest, "longer", 6) || !strncmp(rest, "shorter", 7) || !strncmp(rest, "not ", 4);
    return row_err(im, e, rc, at, "%s%s%s", q, is ? " is " : ": ", rest);
}

/* --- the header --- */

/* "Counted_At " -> "counted-at": the header is matched without case, spaces or '_' vs '-'. */
static void canon(const char *s, char *out, size_t n)
{
    size_t j = 0, len = strlen(s);
    while (len && s[len - 1] == ' ')
        len--;
    while (*s == ' ')
        s++, len--;
    for (size_t i = 0; i < len && j + 1 < n; i++)
        out[j++] = s[i] == '_' ? '-' : (char)tolower((unsigned char)s[i]);
    out[j] = '\0';
    if (len >= n)
        snprintf(out, n, "?"); /* too long to be a column: unknown */
}

static int known_col(enum rl_import_kind k, const char *name, struct col *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    if (k == RL_IMPORT_SITES) {
        if (!strcmp(name, "languages")) {
            c->what = COL_LANGUAGES;
            return 1;
        }
        c->f = rl_fieldopt_find(rl_site_fields, name);
    } else if (k == RL_IMPORT_ITEMS) {
        if (!strcmp(name, "code")) {
            c->what = COL_ITEM_CODE;
            return 1;
        }
        c->f = rl_fieldopt_find(rl_item_fields, name);
    } else {
        for (int i = COL_MV_TYPE; i < COL_COUNT; i++)
            if (!strcmp(mv_names[i], name)) {
                c->what = i;
                return 1;
            }
        return 0;
    }
    /* archived records are not imported */
    return c->f && strcmp(name, "archived") != 0;
}

static const char *columns_of(enum rl_import_kind k)
{
    switch (k) {
    case RL_IMPORT_SITES:
        return "name, kind, code, address, prefecture, municipality, lat, lon, capacity, "
               "occupancy, counted-at, status, special-needs, contact, priority, languages";
    case RL_IMPORT_ITEMS:
        return "code, name, unit, category";
    default:
        return "type, site, to, item, qty, lot, expiry, from, reason, note";
    }
}

static const char *const need_sites[] = {"name", "kind", NULL};
static const char *const need_items[] = {"code", "name", "unit", NULL};
static const char *const need_mv[] = {"type", "site", "item", "qty", NULL};

static const char *const *needed(enum rl_import_kind k)
{
    return k == RL_IMPORT_SITES ? need_sites : k == RL_IMPORT_ITEMS ? need_items : need_mv;
}

static int find_col(const struct imp *im, const char *name)
{
    for (uint32_t i = 0; i < im->ncols; i++)
        if (!strcmp(im->cols[i].name, name))
            return (int)i;
    return -1;
}

static int read_header(struct imp *im, struct proto_err *e)
{
    enum rl_import_kind k = im->o->kind;
    int rc = rl_csv_next(&im->csv, e);
    if (rc < 0)
        return csv_err(im, e, rc, 1);
    if (rc == 0)
        return proto_errf(e, -EINVAL,
                          "line 1: the file is empty (the first row names the "
                          "columns: %s)",
                          columns_of(k));
    im->ncols = rl_csv_nfields(&im->csv);
    for (uint32_t i = 0; i < im->ncols; i++) {
        char name[24], q[64];
        struct col c;
        int twice;
        canon(rl_csv_field(&im->csv, i), name, sizeof name);
        quote_value(rl_csv_field(&im->csv, i), q, sizeof q);
        if (!name[0])
            return row_err(im, e, -EINVAL, (int)i, "the header names no column here");
        if ((twice = find_col(im, name)) >= 0)
            return row_err(im, e, -EINVAL, (int)i, "column %s is named twice (also column %d)", q,
                           twice + 1);
        if (!known_col(k, name, &c))
            return row_err(im, e, -EINVAL, (int)i, "unknown column %s (%s take: %s)", q,
                           rl_import_kind_name(k), columns_of(k));
        im->cols[i] = c; /* from here on find_col sees it */
    }
    for (const char *const *n = needed(k); *n; n++)
        if (find_col(im, *n) < 0)
            return proto_errf(e, -EINVAL, "line 1: the header lacks the column '%s' (%s need: %s)",
                              *n, rl_import_kind_name(k),
                              k == RL_IMPORT_SITES   ? "name, kind"
                              : k == RL_IMPORT_ITEMS ? "code, name, unit"
                                                     : "type, site, item, qty");
    for (int c = 0; c < COL_COUNT; c++)
        im->at[c] = -1;
    for (uint32_t i = 0; i < im->ncols; i++)
        im->at[im->cols[i].what] = (int)i;
    rl_csv_tell(&im->csv, &im->data);
    return 0;
}

/* --- rows --- */

static int is_needed(const struct imp *im, const char *name)
{
    for (const char *const *n = needed(im->o->kind); *n; n++)
        if (!strcmp(*n, name))
            return 1;
    return 0;
}

/*
 * The code column of a new site or item: a code that already names one is refused (a site
 * under it could not be told apart; an item is its code). 0 when the code is new.
 */
static int new_code(struct rl_txn *t, struct imp *im, struct proto_err *e, uint32_t col,
                    const char *v)
{
    struct proto_err de;
    uint64_t id;
    proto_err_clear(&de);
    int rc = im->o->kind == RL_IMPORT_SITES ? rl_resolve_site(t, v, &id, &de)
                                            : rl_resolve_item(t, v, &de);
    if (rc == -ENOENT)
        return 0;
    if (rc == 0 && im->o->kind == RL_IMPORT_ITEMS)
        return row_err(im, e, -EEXIST, (int)col, "item '%s' exists already", v);
    if (rc == 0 || (rc == -EINVAL && im->o->kind == RL_IMPORT_SITES))
        return row_err(im, e, -EINVAL, (int)col, "short code '%s' already names a site%s", v,
                       rc == 0 ? "" : " (more than one)");
    return row_err(im, e, rc, (int)col, "%s", de.msg);
}

/* A row of a sites or items file: one new record. */
static int record_row(struct rl_txn *t, struct imp *im, struct proto_err *e)
{
    struct rl_edit ed;
    struct rl_written w;
    struct proto_err de;
    int sites = im->o->kind == RL_IMPORT_SITES, rc;
    memset(&ed, 0, sizeof ed);
    ed.rtype = sites ? RL_R_SITE : RL_R_ITEM;
    ed.add = 1;
    ed.author = im->o->author;
    proto_err_clear(&de);
    for (uint32_t i = 0; i < im->ncols; i++) {
        const char *v = rl_csv_field(&im->csv, i);
        const struct col *c = &im->cols[i];
        if (!*v) {
            if (is_needed(im, c->name))
                return row_err(im, e, -EINVAL, (int)i, "%s needs a %s",
                               sites ? "a site" : "an item", c->name);
            continue;
        }
        if (c->what == COL_LANGUAGES) {
            ed.languages = v;
            continue;
        }
        if ((sites && !strcmp(c->name, "code")) || c->what == COL_ITEM_CODE) {
            if ((rc = new_code(t, im, e, i, v)))
                return rc;
            if (!sites) { /* an item's code is its id, not a field */
                ed.target = v;
                continue;
            }
        }
        ed.fields[ed.nfields].f = c->f;
        ed.fields[ed.nfields++].value = v;
    }
    if ((rc = rl_edit_in(t, &ed, &w, &de)))
        return domain_err(im, e, rc, de.msg);
    return 0;
}

static const char *an(const char *word)
{
    return strchr("aeiou", word[0]) ? "an" : "a";
}

static int movement_row(struct rl_txn *t, struct imp *im, struct proto_err *e)
{
    struct rl_stock_req r;
    struct proto_err de;
    const char *v;
    uint64_t site = 0, to = 0;
    int64_t q;
    uint32_t day;
    size_t ty;
    int rc, ti = im->at[COL_MV_TYPE];

    memset(&r, 0, sizeof r);
    proto_err_clear(&de);
    r.author = im->o->author;
    v = rl_csv_field(&im->csv, (uint32_t)ti);
    for (ty = 0; ty < NTYPES; ty++)
        if (!strcmp(v, mv_types[ty].name))
            break;
    if (ty == NTYPES)
        return row_err(im, e, -EINVAL, ti,
                       *v ? "'%s' is not one of receive|distribute|adjust|dispatch|count"
                          : "a movement needs a type%s",
                       v);
    r.kind = mv_types[ty].kind;
    const char *tname = mv_types[ty].name;
    for (int c = COL_MV_TYPE; c < COL_COUNT; c++)
        if ((mv_types[ty].needs & (1u << c)) && im->at[c] < 0)
            return row_err(im, e, -EINVAL, ti, "%s %s needs a column '%s'", an(tname), tname,
                           mv_names[c]);
    for (uint32_t i = 0; i < im->ncols; i++) {
        int c = im->cols[i].what;
        v = rl_csv_field(&im->csv, i);
        if (c == COL_MV_TYPE)
            continue;
        if (!*v) {
            if (mv_types[ty].needs & (1u << c))
                return row_err(im, e, -EINVAL, (int)i, "%s %s needs a %s", an(tname), tname,
                               c == COL_MV_SITE && r.kind == PROTO_KIND_STOCK_DISPATCH
                                   ? "site (where it leaves from)"
                                   : mv_names[c]);
            continue;
        }
        if (!(mv_types[ty].takes & (1u << c)))
            return row_err(im, e, -EINVAL, (int)i, "%s %s has no %s: leave it empty%s", an(tname),
                           tname, mv_names[c],
                           c == COL_MV_LOT ? " (lots are drawn earliest expiry first)" : "");
        switch (c) {
        case COL_MV_SITE:
        case COL_MV_TO:
            if ((rc = rl_resolve_site(t, v, c == COL_MV_SITE ? &site : &to, &de)))
                return row_err(im, e, rc, (int)i, "%s", de.msg);
            if (site && to && site == to)
                return row_err(im, e, -EINVAL, (int)i,
                               "site and to both name '%s': a dispatch goes to another site", v);
            if (c == COL_MV_SITE)
                r.site = v;
            else
                r.to = v;
            break;
        case COL_MV_ITEM:
            if ((rc = rl_resolve_item(t, v, &de)))
                return row_err(im, e, rc, (int)i, "%s", de.msg);
            r.item = v;
            break;
        case COL_MV_QTY:
            if ((rc = rl_parse_qty(v, r.kind == PROTO_KIND_STOCK_ADJUST,
                                   r.kind == PROTO_KIND_STOCK_COUNT, &q, &de)))
                return row_err(im, e, rc, (int)i, "%s", de.msg);
            r.qty = v;
            break;
        case COL_MV_EXPIRY:
            if ((rc = rl_parse_day(v, &day, &de)))
                return row_err(im, e, rc, (int)i, "%s", de.msg);
            r.expiry = v;
            break;
        case COL_MV_REASON: {
            int ok = 0;
            for (int k = 0; rl_reasons[k]; k++)
                ok |= !strcmp(rl_reasons[k], v);
            if (!ok)
                return row_err(im, e, -EINVAL, (int)i,
                               "'%s' is not one of damaged|expired|lost|found|unrecorded|other", v);
            r.reason = v;
            break;
        }
        case COL_MV_LOT:
            r.lot = v;
            break;
        case COL_MV_FROM:
            r.from_text = v;
            break;
        case COL_MV_NOTE:
            r.note = v;
            break;
        }
    }
    /* resolved above, in this transaction: not again */
    r.site_id = site;
    r.to_id = to;
    r.item_known = r.item != NULL;
    r.check_only = im->check;
    if ((rc = rl_stock_in(t, &r, NULL, &de)))
        return domain_err(im, e, rc, de.msg);
    return 0;
}

static int do_row(struct rl_txn *t, struct imp *im, struct proto_err *e)
{
    uint32_t n = rl_csv_nfields(&im->csv);
    if (n != im->ncols) {
        int at = (int)(n < im->ncols ? n : im->ncols);
        if (n < im->ncols)
            return proto_errf(e, -EINVAL,
                              "line %llu, column %d (%s): the row ends after %u fields, the "
                              "header names %u",
                              (unsigned long long)rl_csv_field_line(&im->csv, n - 1), at + 1,
                              im->cols[at].name, n, im->ncols);
        return row_err(im, e, -EINVAL, at, "the row has %u fields, the header names %u", n,
                       im->ncols);
    }
    return im->o->kind == RL_IMPORT_MOVEMENTS ? movement_row(t, im, e) : record_row(t, im, e);
}

/* --- imports cut short --- */

#define CUT_PREFIX "import/"
#define CUT_PREFIX_LEN 7
#define CUT_KEY_LEN (CUT_PREFIX_LEN + 16)
#define CUT_FIXED 42 /* version(1) kind(1) rows(8) written(8) offset(8) line(8) name_len(8) */

static void cut_key(uint8_t k[CUT_KEY_LEN], const uint8_t hash[16])
{
    memcpy(k, CUT_PREFIX, CUT_PREFIX_LEN);
    memcpy(k + CUT_PREFIX_LEN, hash, 16);
}

static int cut_decode(const MDB_val *k, const MDB_val *v, struct rl_import_cut *c)
{
    const uint8_t *p = v->mv_data;
    if (k->mv_size != CUT_KEY_LEN || v->mv_size < CUT_FIXED || p[0] != 1 ||
        p[1] < RL_IMPORT_SITES || p[1] > RL_IMPORT_MOVEMENTS)
        return PROTO_ECORRUPT;
    uint64_t nl = proto_get_be64(p + 34);
    if (nl != v->mv_size - CUT_FIXED || nl >= sizeof c->name)
        return PROTO_ECORRUPT;
    memcpy(c->hash, (const uint8_t *)k->mv_data + CUT_PREFIX_LEN, 16);
    c->kind = (enum rl_import_kind)p[1];
    c->rows = proto_get_be64(p + 2);
    c->written = proto_get_be64(p + 10);
    c->next_offset = proto_get_be64(p + 18);
    c->next_line = proto_get_be64(p + 26);
    memcpy(c->name, p + CUT_FIXED, nl);
    c->name[nl] = '\0';
    return 0;
}

int rl_import_cuts(struct rl_txn *t, int (*fn)(void *arg, const struct rl_import_cut *c), void *arg)
{
    struct rl_cursor cur;
    MDB_val k, v;
    int rc = rl_cursor_open(t, RL_DB_META, &cur);
    if (rc)
        return rc;
    for (rc = rl_cursor_seek(&cur, CUT_PREFIX, CUT_PREFIX_LEN, &k, &v); rc == 0;
         rc = rl_cursor_next(&cur, &k, &v)) {
        struct rl_import_cut c;
        if (k.mv_size < CUT_PREFIX_LEN || memcmp(k.mv_data, CUT_PREFIX, CUT_PREFIX_LEN))
            break;
        if (cut_decode(&k, &v, &c) == 0 && fn(arg, &c))
            break;
    }
    rl_cursor_close(&cur);
    return rc == -ENOENT ? 0 : rc;
}

static int cut_find_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct imp *im = arg;
    uint8_t k[CUT_KEY_LEN];
    MDB_val key = {CUT_KEY_LEN, k}, v;
    (void)e;
    cut_key(k, im->cut.hash);
    int rc = rl_get(t, RL_DB_META, k, CUT_KEY_LEN, &v);
    if (rc == -ENOENT)
        return 0;
    struct rl_import_cut c;
    if (rc == 0 && cut_decode(&key, &v, &c) == 0 && c.kind == im->o->kind) {
        im->cut = c;
        im->cut_found = 1;
    }
    return rc;
}

/*
 * In each transaction of an import: where it has got to, or (its last transaction, when an
 * earlier one may have left it) nothing.
 */
static int cut_mark(struct rl_txn *t, struct imp *im)
{
    uint8_t k[CUT_KEY_LEN], v[CUT_FIXED + sizeof im->cut.name];
    cut_key(k, im->cut.hash);
    if (im->reached_end || (im->rows_left && im->before + im->done == im->rows_left)) {
        if (!im->cut_found && !im->before)
            return 0; /* written whole in this one */
        int rc = rl_del(t, RL_DB_META, k, CUT_KEY_LEN);
        return rc == -ENOENT ? 0 : rc;
    }
    if (im->dry)
        return 0;
    size_t nl = strlen(im->cut.name);
    v[0] = 1;
    v[1] = (uint8_t)im->o->kind;
    proto_put_be64(v + 2, im->cut.rows);
    proto_put_be64(v + 10, im->cut.written + im->before + im->done);
    proto_put_be64(v + 18, im->next.offset);
    proto_put_be64(v + 26, im->next.line);
    proto_put_be64(v + 34, nl);
    memcpy(v + CUT_FIXED, im->cut.name, nl);
    return rl_put(t, RL_DB_META, k, CUT_KEY_LEN, v, CUT_FIXED + nl);
}

/*
 * One pass in one write transaction: the rows from im->from, at most im->max_rows of them (a
 * dry run reads them all and asks to abort when there are more). Run again from the start when
 * the store grows the map, so it keeps no state outside *im that a second run would see.
 */
static int pass_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct imp *im = arg;
    int rc;
    im->done = 0;
    im->reached_end = im->cancelled = 0;
    if ((rc = rl_csv_seek(&im->csv, &im->from)))
        return proto_errf(e, rc, "cannot read the file again: %s", strerror(-rc));
    for (;;) {
        if (!im->dry && im->done == im->max_rows)
            break;
        rc = rl_csv_next(&im->csv, e);
        if (rc < 0)
            return csv_err(im, e, rc, 0);
        if (rc == 0) {
            im->reached_end = 1;
            break;
        }
        /* past the first transaction's rows, a dry run that cannot write them all checks each
         * movement without applying it: whether one is valid does not depend on the movements
         * before it (the sites and items it names must be the node's already), and applying
         * them all would make one transaction of the whole file (sites and items are applied:
         * a code may be taken earlier in the file) */
        im->check = im->dry && im->done >= im->max_rows && im->o->kind == RL_IMPORT_MOVEMENTS;
        if ((rc = do_row(t, im, e)))
            return rc;
        im->done++;
    }
    rl_csv_tell(&im->csv, &im->next);
    if (im->dry && im->done > im->max_rows) {
        im->cancelled = 1;
        return -ECANCELED;
    }
    if ((rc = cut_mark(t, im)))
        return proto_errf(e, rc, "cannot note how far the import got: %s", proto_strerror(rc));
    return 0;
}

static int run(struct rl_store *s, struct imp *im, struct rl_import_result *r, struct proto_err *e)
{
    int rc;
    uint64_t chunk = im->o->chunk_rows ? im->o->chunk_rows : RL_IMPORT_CHUNK_ROWS;
    memset(r, 0, sizeof *r);
    proto_err_clear(e);
    if ((rc = read_header(im, e)))
        return rc;
    if ((rc = rl_store_read(s, cut_find_fn, im, e)))
        return rc;
    if (im->cut_found && im->cut.next_offset >= im->data.offset &&
        im->cut.next_line >= im->data.line && im->cut.written < im->cut.rows) {
        /* an earlier import of this file was cut short: its rows are written, the rest are not */
        im->data.offset = im->cut.next_offset;
        im->data.line = im->cut.next_line;
        r->resumed = im->cut.written;
        r->resumed_line = im->cut.next_line;
    } else {
        /* (a note that cannot be this file's is replaced, or removed by the last transaction) */
        snprintf(im->cut.name, sizeof im->cut.name, "%s", im->o->name ? im->o->name : "");
    }
    /* check every row; a file that fits in one chunk is written by the same transaction */
    im->from = im->data;
    im->dry = 1;
    im->max_rows = chunk;
    rc = rl_node_write(s, pass_fn, im, e);
    if (rc && !(rc == -ECANCELED && im->cancelled))
        return rc;
    r->rows = r->resumed + im->done;
    if (rc == 0) {
        r->written = r->rows;
        r->transactions = 1;
        return 0;
    }
    proto_err_clear(e);
    im->dry = 0;
    im->rows_left = im->done;
    im->cut.rows = r->rows;
    im->cut.written = r->resumed;
    r->written = r->resumed;
    struct rl_csv_pos pos = im->data;
    while (r->written < r->rows) {
        im->from = pos;
        im->before = r->written - r->resumed;
        if ((rc = rl_node_write(s, pass_fn, im, e))) {
            char msg[PROTO_ERR_MSG_MAX];
            snprintf(msg, sizeof msg, "%s", e->msg);
            return proto_errf(e, rc,
                              "%s; the file was checked, but writing stopped: the first %llu of "
                              "%llu rows were written (in %u transactions), the rows from line "
                              "%llu on were not: import the same file again to write them",
                              msg, (unsigned long long)r->written, (unsigned long long)r->rows,
                              r->transactions, (unsigned long long)pos.line);
        }
        if (im->done == 0)
            return proto_errf(e, -EIO, "the file changed while it was imported");
        r->written += im->done;
        r->transactions++;
        pos = im->next;
    }
    return 0;
}

/* BLAKE2b-128 of the rest of f, which is left where it was; or of n bytes at p */
static int hash_file(FILE *f, uint8_t out[16])
{
    crypto_generichash_state st;
    static _Thread_local uint8_t buf[1 << 16];
    off_t at = ftello(f);
    size_t n;
    crypto_generichash_init(&st, NULL, 0, 16);
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        crypto_generichash_update(&st, buf, n);
    int rc = ferror(f) ? -EIO : 0;
    crypto_generichash_final(&st, out, 16);
    clearerr(f);
    if (fseeko(f, at, SEEK_SET))
        rc = -errno;
    return rc;
}

static struct imp *imp_new(const struct rl_import_opts *o)
{
    struct imp *im = calloc(1, sizeof *im);
    if (im)
        im->o = o;
    return im;
}

int rl_import_file(struct rl_store *s, FILE *f, const struct rl_import_opts *o,
                   struct rl_import_result *r, struct proto_err *e)
{
    memset(r, 0, sizeof *r);
    if (ftello(f) < 0)
        return proto_errf(e, -ESPIPE,
                          "the file cannot be read twice (a pipe?): import a regular file");
    struct imp *im = imp_new(o);
    if (!im)
        return proto_errf(e, -ENOMEM, "out of memory");
    if (hash_file(f, im->cut.hash)) {
        free(im);
        return proto_errf(e, -EIO, "cannot read the file: %s", strerror(errno));
    }
    rl_csv_open_file(&im->csv, f);
    int rc = run(s, im, r, e);
    rl_csv_close(&im->csv);
    free(im);
    return rc;
}

int rl_import_buf(struct rl_store *s, const void *p, size_t n, const struct rl_import_opts *o,
                  struct rl_import_result *r, struct proto_err *e)
{
    memset(r, 0, sizeof *r);
    struct imp *im = imp_new(o);
    if (!im)
        return proto_errf(e, -ENOMEM, "out of memory");
    crypto_generichash(im->cut.hash, 16, p, n, NULL, 0);
    rl_csv_open_buf(&im->csv, p, n);
    int rc = run(s, im, r, e);
    rl_csv_close(&im->csv);
    free(im);
    return rc;
}

/* iconv's name for what a user may call it: Excel's Japanese CSV is Windows-31J (CP932), a
 * superset of Shift_JIS that iconv's SHIFT_JIS refuses parts of (circled digits, NEC kanji) */
static const char *iconv_name(const char *enc)
{
    static const char *const sjis[] = {"shift_jis",   "shift-jis", "sjis", "cp932",
                                       "windows-31j", "ms932",     NULL};
    for (int i = 0; sjis[i]; i++)
        if (!strcasecmp(enc, sjis[i]))
            return "CP932";
    return enc;
}

int rl_import_encoding_ok(const char *enc)
{
    if (!strcasecmp(enc, "utf-8") || !strcasecmp(enc, "utf8"))
        return 1;
    iconv_t cd = iconv_open("UTF-8", iconv_name(enc));
    if (cd == (iconv_t)-1)
        return 0;
    iconv_close(cd);
    return 2;
}

int rl_import_utf8(FILE *in, const char *enc, FILE **out, struct proto_err *e)
{
    *out = NULL;
    iconv_t cd = iconv_open("UTF-8", iconv_name(enc));
    if (cd == (iconv_t)-1)
        return proto_errf(e, -EINVAL, "'%.60s' is not an encoding this system knows", enc);
    FILE *o = tmpfile();
    char *ib = malloc(1 << 16), *ob = malloc(1 << 18);
    size_t left = 0;
    unsigned long long line = 1;
    int rc = o && ib && ob ? 0 : proto_errf(e, -ENOMEM, "cannot convert: %s", strerror(errno));
    int eof = 0;
    while (!rc && !eof) {
        size_t n = fread(ib + left, 1, (1 << 16) - left, in);
        eof = n == 0;
        left += n;
        char *ip = ib;
        while (!rc && left > 0) {
            char *op = ob;
            size_t oleft = 1 << 18, before = left;
            size_t r = iconv(cd, &ip, &left, &op, &oleft);
            int why = errno;
            /* (a byte of a line break is never part of another character in these encodings) */
            for (const char *q = ip - (before - left); q < ip; q++)
                line += *q == '\n';
            if (fwrite(ob, 1, (size_t)(op - ob), o) != (size_t)(op - ob))
                rc = proto_errf(e, -EIO, "cannot convert: %s", strerror(errno));
            else if (r != (size_t)-1 || why == E2BIG)
                continue;
            else if (why == EINVAL && !eof) { /* a character cut by the buffer: read on */
                memmove(ib, ip, left);
                break;
            } else
                rc = proto_errf(
                    e, -EILSEQ, "line %llu: %s %s (is it in another encoding?)", line,
                    why == EINVAL ? "ends in the middle of a character in" : "not valid", enc);
        }
    }
    iconv_close(cd);
    free(ib);
    free(ob);
    if (!rc && (ferror(in) || fflush(o) || fseeko(o, 0, SEEK_SET)))
        rc = proto_errf(e, -EIO, "cannot convert: %s", strerror(errno));
    if (rc && o)
        fclose(o);
    else
        *out = o;
    return rc;
}
