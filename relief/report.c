/*
 * Reports (see report.h). The HXL tags follow the HXL standard's core hashtags
 * (#loc, #adm1, #adm2, #geo, #item, #indicator, #org, #date, #status, #severity) with
 * attributes naming what each number is; relief/REPORTS.md lists them per report.
 */
#include "report.h"

#include "domain.h"
#include "proto/kinds.h"
#include "query.h"
#include "records.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct rl_report_col needs_cols[] = {
    {"id", "need", "#activity+id", 0},
    {"site_code", "site code", "#loc+code", 0},
    {"site_name", "site", "#loc+name", 0},
    {"prefecture", "prefecture", "#adm1+name", 0},
    {"municipality", "municipality", "#adm2+name", 0},
    {"item", "item", "#item+code", 0},
    {"service", "service", "#service+name", 0},
    {"qty", "needed", "#indicator+num+requested", 1},
    {"fulfilled", "fulfilled", "#indicator+num+fulfilled", 1},
    {"gap", "gap", "#indicator+num+gap", 1},
    {"in_stock", "in stock", "#indicator+num+stock", 1},
    {"in_transit", "in transit", "#indicator+num+transit", 1},
    {"priority", "priority", "#severity", 0},
    {"due", "due", "#date+due", 0},
    {"status", "status", "#status+name", 0},
    {NULL, NULL, NULL, 0},
};

static const struct rl_report_col stock_cols[] = {
    {"site_code", "site code", "#loc+code", 0},
    {"site_name", "site", "#loc+name", 0},
    {"prefecture", "prefecture", "#adm1+name", 0},
    {"municipality", "municipality", "#adm2+name", 0},
    {"lat", "lat", "#geo+lat", 1},
    {"lon", "lon", "#geo+lon", 1},
    {"item", "item", "#item+code", 0},
    {"item_name", "item name", "#item+name", 0},
    {"unit", "unit", "#item+unit", 0},
    {"balance", "in stock", "#indicator+num+stock", 1},
    {"in_transit", "in transit", "#indicator+num+transit", 1},
    {NULL, NULL, NULL, 0},
};

static const struct rl_report_col shifts_cols[] = {
    {"id", "shift", "#activity+id", 0},
    {"site_code", "site code", "#loc+code", 0},
    {"site_name", "site", "#loc+name", 0},
    {"start", "start", "#date+start", 0},
    {"end", "end", "#date+end", 0},
    {"role", "role", "#activity+role", 0},
    {"slots", "slots", "#capacity+num", 1},
    {"confirmed", "confirmed", "#indicator+num+confirmed", 1},
    {"waitlisted", "wait-listed", "#indicator+num+waitlisted", 1},
    {"meals", "meals planned", "#indicator+num+meals+planned", 1},
    {"meals_served", "meals served", "#indicator+num+meals+served", 1},
    {NULL, NULL, NULL, 0},
};

static const struct rl_report_col donations_cols[] = {
    {"id", "donation", "#activity+id", 0},
    {"donor", "donor", "#org+funder", 0},
    {"to_code", "to site code", "#loc+code", 0},
    {"to_name", "to site", "#loc+name", 0},
    {"item", "item", "#item+code", 0},
    {"qty", "pledged", "#indicator+num+pledged", 1},
    {"delivered", "delivered", "#indicator+num+delivered", 1},
    {"amount", "amount", "#value+amount", 1},
    {"currency", "currency", "#currency", 0},
    {"status", "status", "#status+name", 0},
    {"created", "pledged on", "#date+reported", 0},
    {NULL, NULL, NULL, 0},
};

const struct rl_report_col *rl_report_cols(const char *name)
{
    if (!strcmp(name, "needs"))
        return needs_cols;
    if (!strcmp(name, "stock"))
        return stock_cols;
    if (!strcmp(name, "shifts"))
        return shifts_cols;
    if (!strcmp(name, "donations"))
        return donations_cols;
    return NULL;
}

struct area_arg {
    json_t *o;
};

static int area_field(void *arg, uint8_t key, const struct rl_head *h, int conflict)
{
    struct area_arg *a = arg;
    (void)conflict;
    const char *name = key == PROTO_SITE_ADM1   ? "prefecture"
                       : key == PROTO_SITE_ADM2 ? "municipality"
                       : key == PROTO_SITE_LAT  ? "lat"
                       : key == PROTO_SITE_LON  ? "lon"
                                                : NULL;
    if (name)
        json_object_set_new(a->o, name,
                            rl_q_value(rl_fieldopt_find(rl_site_fields, name), h->val, h->val_len));
    return 0;
}

/*
 * Site details a report adds: area and position. Read once per site (one walk over its
 * fields) and kept in cache for the report's other rows.
 */
static void add_site(struct rl_txn *t, json_t *row, const char *idkey, json_t *cache)
{
    const char *id = json_string_value(json_object_get(row, idkey));
    if (!id)
        return;
    json_t *area = json_object_get(cache, id);
    if (!area) {
        struct rl_rid r;
        struct area_arg a = {json_object()};
        rl_rid_site(&r, strtoull(id, NULL, 16));
        rl_record_fields(t, &r, area_field, &a);
        json_object_set_new(cache, id, a.o);
        area = a.o;
    }
    json_object_update(row, area);
}

static const char *str_of(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* stock rows: by site code (then id, for two sites given one code offline), then item */
static int stock_row_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(str_of(x, "site_code"), str_of(y, "site_code"));
    if (!c)
        c = strcmp(str_of(x, "site"), str_of(y, "site"));
    return c ? c : strcmp(str_of(x, "item"), str_of(y, "item"));
}

/* rows sorted by cmp (a new array; takes rows), or rows as they were when out of memory */
static json_t *sorted_rows(json_t *rows, int (*cmp)(const void *, const void *))
{
    size_t n = json_array_size(rows);
    json_t **v = n ? malloc(n * sizeof *v) : NULL;
    json_t *out = json_array();
    if ((n && !v) || !out) {
        free(v);
        json_decref(out);
        return rows;
    }
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(rows, i);
    qsort(v, n, sizeof *v, cmp);
    for (size_t i = 0; i < n; i++)
        json_array_append(out, v[i]);
    free(v);
    json_decref(rows);
    return out;
}

json_t *rl_report_rows(struct rl_txn *t, const char *name, struct proto_err *e)
{
    json_t *rows;
    json_t *cache = json_object();
    size_t i;
    json_t *o;
    if (!strcmp(name, "needs")) {
        if (!(rows = rl_q_needs(t, e)))
            goto fail;
        json_array_foreach(rows, i, o) add_site(t, o, "site", cache);
    } else if (!strcmp(name, "stock")) {
        if (!(rows = rl_q_stock(t, 0, NULL, e)))
            goto fail;
        json_array_foreach(rows, i, o)
        {
            add_site(t, o, "site", cache);
            const char *item = json_string_value(json_object_get(o, "item"));
            char buf[600];
            struct rl_rid r;
            if (item) {
                rl_rid_item(&r, item, strlen(item));
                if (rl_field_str(t, &r, PROTO_ITEM_NAME, buf, sizeof buf) == 0)
                    json_object_set_new(o, "item_name", json_string(buf));
            }
        }
        rows = sorted_rows(rows, stock_row_cmp);
    } else if (!strcmp(name, "shifts")) {
        if (!(rows = rl_q_shifts(t, e)))
            goto fail;
        /* rosters hold personal contacts: a report leaves them out */
        json_array_foreach(rows, i, o) json_object_del(o, "signups");
    } else if (!strcmp(name, "donations")) {
        if (!(rows = rl_q_donations(t, e)))
            goto fail;
        json_array_foreach(rows, i, o) json_object_del(o, "contact");
    } else {
        proto_errf(e, PROTO_EUSAGE, "unknown report '%s' (needs, stock, shifts, donations)",
                   name);
        rows = NULL;
    }
    json_decref(cache);
    return rows;
fail:
    json_decref(cache);
    return NULL;
}

void rl_report_cell(json_t *row, const struct rl_report_col *col, char *out, size_t n)
{
    rl_json_text(json_object_get(row, col->key), out, n);
}

void rl_json_text(json_t *v, char *out, size_t n)
{
    if (json_is_string(v))
        snprintf(out, n, "%s", json_string_value(v));
    else if (json_is_integer(v))
        snprintf(out, n, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) {
        /* 6 decimals (microdegrees), without the zeros that end them */
        int k = snprintf(out, n, "%.6f", json_real_value(v));
        if (k > 0 && (size_t)k < n && strchr(out, '.')) {
            while (out[k - 1] == '0')
                out[--k] = '\0';
            if (out[k - 1] == '.')
                out[--k] = '\0';
        }
    } else if (json_is_boolean(v))
        snprintf(out, n, "%s", json_is_true(v) ? "yes" : "no");
    else
        out[0] = '\0';
}

/* RFC 4180, and a text cell that a spreadsheet would take for a formula gets a leading '. */
/* the bytes that make a CSV cell quoted (RFC 4180) */
static const uint8_t csv_special[256] = {[','] = 1, ['"'] = 1, ['\r'] = 1, ['\n'] = 1};

static void csv_cell(struct proto_buf *out, const char *s, int text)
{
    int inert = text && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                         s[0] == '\t' || s[0] == '\r');
    uint8_t quote = (uint8_t)inert;
    size_t n = 0;
    for (; s[n]; n++)
        quote |= csv_special[(uint8_t)s[n]];
    if (!quote) {
        proto_buf_add(out, s, n);
        return;
    }
    proto_buf_add(out, inert ? "\"'" : "\"", inert ? 2 : 1);
    for (const char *q; (q = memchr(s, '"', n)) != NULL;) {
        size_t run = (size_t)(q + 1 - s);
        proto_buf_add(out, s, run);
        proto_buf_add(out, "\"", 1); /* a quote is doubled */
        s += run;
        n -= run;
    }
    proto_buf_add(out, s, n);
    proto_buf_add(out, "\"", 1);
}

/* The header row, and for HXL the hashtag row. */
static void write_head(const struct rl_report_col *cols, enum rl_report_fmt fmt,
                       struct proto_buf *out)
{
    for (const struct rl_report_col *c = cols; c->key; c++) {
        if (c != cols)
            proto_buf_add(out, ",", 1);
        csv_cell(out, c->header, 1);
    }
    proto_buf_add(out, "\r\n", 2);
    if (fmt == RL_REPORT_HXL) {
        for (const struct rl_report_col *c = cols; c->key; c++) {
            if (c != cols)
                proto_buf_add(out, ",", 1);
            proto_buf_add(out, c->hxl, strlen(c->hxl));
        }
        proto_buf_add(out, "\r\n", 2);
    }
}

static int flush(struct proto_buf *out, FILE *to)
{
    if (proto_buf_failed(out))
        return proto_buf_failed(out);
    errno = 0;
    if (fwrite(out->data, 1, out->len, to) != out->len)
        return errno ? -errno : -EIO;
    out->len = 0;
    return 0;
}

int rl_report_write_cells(const struct rl_report_col *cols, const struct rl_cells *cells,
                          enum rl_report_fmt fmt, struct proto_buf *out, FILE *to)
{
    write_head(cols, fmt, out);
    for (size_t i = 0; i < cells->nrows; i++) {
        for (size_t c = 0; c < cells->ncols && cols[c].key; c++) {
            if (c)
                proto_buf_add(out, ",", 1);
            csv_cell(out, cells->v[i * cells->ncols + c], !cols[c].numeric);
        }
        proto_buf_add(out, "\r\n", 2);
        int rc = to && out->len >= RL_REPORT_FLUSH ? flush(out, to) : 0;
        if (rc)
            return rc;
    }
    return to ? flush(out, to) : proto_buf_failed(out);
}

int rl_report_cells(struct rl_txn *t, const char *name, struct rl_cells *out,
                    struct proto_err *e)
{
    memset(out, 0, sizeof *out);
    if (!strcmp(name, "needs"))
        return rl_q_needs_cells(t, out, e);
    const struct rl_report_col *cols = rl_report_cols(name);
    json_t *rows = cols ? rl_report_rows(t, name, e) : NULL;
    if (!rows)
        return cols ? (e->code ? e->code : -EIO)
                    : proto_errf(e, PROTO_EUSAGE, "unknown report '%s'", name);
    size_t ncols = 0;
    while (cols[ncols].key)
        ncols++;
    size_t nrows = json_array_size(rows);
    out->v = calloc(nrows * ncols + 1, sizeof *out->v);
    int rc = out->v ? 0 : -ENOMEM;
    for (size_t i = 0; !rc && i < nrows; i++) {
        for (size_t c = 0; c < ncols; c++) {
            char cell[4200];
            rl_report_cell(json_array_get(rows, i), &cols[c], cell, sizeof cell);
            if (!(out->v[i * ncols + c] = strdup(cell))) {
                rc = -ENOMEM;
                break;
            }
        }
        out->nrows = i + 1;
    }
    out->ncols = ncols;
    json_decref(rows);
    if (rc) {
        rl_cells_free(out);
        return proto_errf(e, rc, "out of memory");
    }
    return 0;
}

int rl_report_write(const struct rl_report_col *cols, json_t *rows, enum rl_report_fmt fmt,
                    struct proto_buf *out)
{
    size_t i;
    json_t *row;
    if (fmt == RL_REPORT_JSON) {
        json_t *arr = json_array();
        json_array_foreach(rows, i, row)
        {
            json_t *o = json_object();
            for (const struct rl_report_col *c = cols; c->key; c++) {
                json_t *v = json_object_get(row, c->key);
                json_object_set(o, c->key, v ? v : json_null());
            }
            json_array_append_new(arr, o);
        }
        char *s = json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER | RL_JSON_REALS);
        json_decref(arr);
        if (!s)
            return -ENOMEM;
        proto_buf_add(out, s, strlen(s));
        proto_buf_add(out, "\n", 1);
        free(s);
        return proto_buf_failed(out);
    }
    write_head(cols, fmt, out);
    json_array_foreach(rows, i, row)
    {
        for (const struct rl_report_col *c = cols; c->key; c++) {
            char cell[4200];
            if (c != cols)
                proto_buf_add(out, ",", 1);
            rl_report_cell(row, c, cell, sizeof cell);
            csv_cell(out, cell, !c->numeric);
        }
        proto_buf_add(out, "\r\n", 2);
    }
    return proto_buf_failed(out);
}
