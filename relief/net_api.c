/*
 * The JSON API and the dashboard's files (net_api.h, relief/API.md).
 *
 * A request goes: Host check (by the caller, net_main.c), then here: the role (a bearer
 * token, or the local laptop's trust), the route, the method, the role's right to it. Reads
 * answer at once from one read transaction. Writes are parsed into a job that holds the
 * parsed body (the values point into it), queued, and answered after the group commit.
 *
 * The group commit runs in libuv's thread pool, one group at a time: while a group is being
 * written and synced (a sync push of 16,384 movements takes a few hundred milliseconds, a
 * fdatasync a few), the loop goes on reading requests and answering reads, and every write
 * that arrives meanwhile joins the next group. A job is handed to the pool whole and the loop
 * touches it again only in commit_done, after the commit.
 */
#include "net_api.h"

#include "access.h"
#include "csv.h"
#include "domain.h"
#include "hlc.h"
#include "import.h"
#include "ledger.h"
#include "node.h"
#include "oplog.h"
#include "proto/batch.h"
#include "proto/kinds.h"
#include "proto/op.h"
#include "query.h"
#include "report.h"
#include "web.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define API_BODY_MAX (1u << 20)
#define API_PAGE_DEFAULT 100
#define API_PAGE_MAX 1000
#define API_OFFSET_MAX 1000000000L /* more than any list holds; keeps offset + limit in range */
#define API_MAX_PARAMS 16
#define API_MAX_SEGS 6
#define API_NUMS 40
#define API_MAX_FILES 128

/* The security headers of every response, and the dashboard's Content-Security-Policy. */
#define API_CSP                                                                                   \
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "           \
    "connect-src 'self'; font-src 'self'; object-src 'none'; frame-ancestors 'none'; "         \
    "base-uri 'none'; form-action 'self'"

enum job_kind { J_EDIT, J_STOCK, J_SHIFT, J_APPLY, J_FN };

struct job {
    struct job *next;
    struct sync_http_pending *pend;
    enum job_kind kind;
    int created; /* answer 201 */
    json_t *body; /* the parsed body: the request's strings point into it */
    struct rl_edit ed;
    struct rl_stock_req st;
    struct rl_shift_req sh;
    char target[256];
    char nums[API_NUMS][48]; /* numbers and booleans of the body as text */
    int nnums;
    char *langs;
    /* J_APPLY: a sync push's batch (owned), and whom to tell */
    uint8_t *batch;
    size_t batch_len;
    void (*done)(void *arg, int rc, const struct sync_apply_stats *st, const struct proto_err *e);
    void *done_arg;
    struct rl_apply_stats ast;
    /* J_FN: a transaction function of the node's own (rl_api_write_later) */
    rl_txn_fn fn;
    void *fn_arg;
    void (*fn_done)(void *arg, int rc, const struct proto_err *e);
    /* the outcome */
    int rc;
    struct proto_err e;
    struct rl_written w;
    struct rl_stock_result sr;
};

/*
 * Whole lists kept for the pages that follow: a client paging through 20,000 needs asks for
 * the same list twenty times, and each asks the node to compute it from every need. A list is
 * kept for one snapshot of the store (any write makes a new one: the next page computes it
 * afresh, as it would have), for what was asked (the path, its parameters but the page's, the
 * role) and for API_LIST_MS at most (alerts and overdue needs depend on the time too).
 */
#define API_LISTS 4
#define API_LIST_MS 10000
struct list_slot {
    uint64_t gen, snap; /* the store's generation and snapshot; snap 0: empty */
    uint64_t at_ms;     /* when it was computed (monotonic) */
    char *key;
    json_t *arr;
};

struct rl_api {
    uv_loop_t *loop;
    struct rl_store *store;
    struct rl_api_opts o;
    uv_check_t check;
    int check_on, closed, check_closed;
    unsigned reads; /* reads (and an import) in the thread pool: a is freed when none is left */
    int importing;  /* an import is running: one at a time, as the CLI's (import.h) */
    struct job *head, **tail; /* queued for the next group */
    struct job *committing;   /* the group the pool is writing (NULL: none) */
    uv_work_t commit_work;
    int commit_rc;
    struct proto_err commit_e;
    void (*drained)(void *arg); /* once closed with nothing queued or committing */
    void *drained_arg;
    uint64_t writes;
    char etag[API_MAX_FILES][40]; /* of each embedded file */
    struct list_slot lists[API_LISTS];
    pthread_mutex_t lists_lock;
};

/* ---- responses ---- */

static void add_header(struct sync_http_resp *r, const char *n, const char *v)
{
    if (r->nheaders < SYNC_HTTP_RESP_HEADERS) {
        r->header_name[r->nheaders] = n;
        r->header_value[r->nheaders++] = v;
    }
}

/* A report's download name: relief-needs.csv, relief-needs-hxl.csv ... (static strings: the
 * response keeps the pointer) */
static const char *report_disposition(const char *name, int hxl)
{
#define RD(n)                                                                                      \
    {                                                                                              \
        n, "attachment; filename=\"relief-" n ".csv\"",                                            \
            "attachment; filename=\"relief-" n "-hxl.csv\""                                        \
    }
    static const char *const t[][3] = {RD("needs"), RD("stock"), RD("shifts"), RD("donations")};
#undef RD
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        if (!strcmp(t[i][0], name))
            return t[i][hxl ? 2 : 1];
    return hxl ? "attachment; filename=\"relief-report-hxl.csv\""
               : "attachment; filename=\"relief-report.csv\"";
}

static void common_headers(struct sync_http_resp *r)
{
    add_header(r, "X-Content-Type-Options", "nosniff");
    add_header(r, "Referrer-Policy", "no-referrer");
    add_header(r, "X-Frame-Options", "DENY");
}

/*
 * Compact JSON text of a value, appended to b: the same text as json_dumpb(JSON_COMPACT), a few
 * times faster (no callback per token), for the API's hot read paths. Strings in jansson are
 * valid UTF-8 already: only quotes, backslashes and control characters are escaped.
 */
static void dump_str(struct proto_buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    proto_buf_add(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        proto_buf_add(b, s + run, i - run);
        run = i + 1;
        char esc[8] = {'\\', 0};
        size_t en = 2;
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            en = 6;
        }
        proto_buf_add(b, esc, en);
    }
    proto_buf_add(b, s + run, n - run);
    proto_buf_add(b, "\"", 1);
}

static void dump_json(struct proto_buf *b, json_t *v)
{
    char num[40];
    size_t i;
    const char *k;
    json_t *x;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        proto_buf_add(b, "{", 1);
        i = 0;
        json_object_foreach(v, k, x)
        {
            if (i++)
                proto_buf_add(b, ",", 1);
            dump_str(b, k, strlen(k));
            proto_buf_add(b, ":", 1);
            dump_json(b, x);
        }
        proto_buf_add(b, "}", 1);
        break;
    case JSON_ARRAY:
        proto_buf_add(b, "[", 1);
        json_array_foreach(v, i, x)
        {
            if (i)
                proto_buf_add(b, ",", 1);
            dump_json(b, x);
        }
        proto_buf_add(b, "]", 1);
        break;
    case JSON_STRING:
        dump_str(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        proto_buf_add(b, num, (size_t)snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT,
                                                json_integer_value(v)));
        break;
    case JSON_REAL: {
        /* the shortest of 15 and 17 digits that reads back as the same double: 38.4262, not
         * 38.426200000000001 */
        double d = json_real_value(v);
        int n = snprintf(num, sizeof num, "%.15g", d);
        if (strtod(num, NULL) != d)
            n = snprintf(num, sizeof num, "%.17g", d);
        if (!strpbrk(num, ".eE"))
            n += snprintf(num + n, sizeof num - (size_t)n, ".0");
        proto_buf_add(b, num, (size_t)n);
        break;
    }
    case JSON_TRUE:
        proto_buf_add(b, "true", 4);
        break;
    case JSON_FALSE:
        proto_buf_add(b, "false", 5);
        break;
    default:
        proto_buf_add(b, "null", 4);
    }
}

/* Take o and send it as the JSON body. */
static void send_json(struct sync_http_resp *r, int status, json_t *o)
{
    r->status = status;
    r->content_type = "application/json; charset=utf-8";
    r->gzip_ok = 1;
    add_header(r, "Cache-Control", "no-store");
    common_headers(r);
    if (!o) {
        r->status = 500;
        proto_buf_printf(&r->body, "{\"error\":\"out of memory\",\"code\":\"internal\"}");
        return;
    }
    dump_json(&r->body, o);
    proto_buf_add(&r->body, "\n", 1);
    json_decref(o);
}

/* The machine-readable code of an error, when its call gives none: by its status. */
static const char *status_code(int status)
{
    switch (status) {
    case 401:
        return "unauthorized";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 413:
        return "too_large";
    case 409:
        return "busy";
    case 415:
        return "unsupported_media_type";
    case 503:
        return "unavailable";
    case 507:
        return "disk_full";
    default:
        return status >= 500 ? "internal" : "invalid";
    }
}

/*
 * An error answer: {"error": a sentence for people, "code": what went wrong for programs (the
 * dashboard words it in the reader's language), "field": the field or parameter at fault}.
 * code NULL: the status's (status_code).
 */
static void send_error(struct sync_http_resp *r, int status, const char *code, const char *field,
                       const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void send_error(struct sync_http_resp *r, int status, const char *code, const char *field,
                       const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    rl_utf8_fix(msg); /* it may quote the request, or be cut inside a character */
    json_t *o = json_pack("{s:s, s:s}", "error", msg, "code", code ? code : status_code(status));
    if (o && field)
        json_object_set_new(o, "field", json_string(field));
    send_json(r, status, o);
}

/* ---- query strings ---- */

struct params {
    int n;
    char *k[API_MAX_PARAMS], *v[API_MAX_PARAMS];
    char buf[2048];
};

static int unhex(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                        : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Percent-decode in place; -1 on a bad escape or a NUL. */
static int pct_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '+') {
            *o++ = ' ';
        } else if (*s == '%') {
            int h = unhex(s[1]), l = h < 0 ? -1 : unhex(s[2]);
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return -1;
            *o++ = (char)(h * 16 + l);
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
    return 0;
}

static int parse_params(const char *q, struct params *p, char *why, size_t wn)
{
    p->n = 0;
    if (strlen(q) >= sizeof p->buf) {
        snprintf(why, wn, "query string too long");
        return -1;
    }
    strcpy(p->buf, q);
    char *save = NULL;
    for (char *tok = strtok_r(p->buf, "&", &save); tok; tok = strtok_r(NULL, "&", &save)) {
        if (p->n == API_MAX_PARAMS) {
            snprintf(why, wn, "too many query parameters");
            return -1;
        }
        char *eq = strchr(tok, '=');
        if (eq)
            *eq++ = '\0';
        if (pct_decode(tok) || (eq && pct_decode(eq))) {
            snprintf(why, wn, "bad escape in the query string");
            return -1;
        }
        p->k[p->n] = tok;
        p->v[p->n++] = eq ? eq : "";
    }
    return 0;
}

static const char *param(const struct params *p, const char *k)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->k[i], k))
            return p->v[i];
    return NULL;
}

/*
 * The first parameter not in allowed (a NULL-terminated list), or NULL; lists also take limit
 * and offset.
 */
static const char *unknown_param(const struct params *p, const char *const *allowed, int lists)
{
    for (int i = 0; i < p->n; i++) {
        int ok = lists && (!strcmp(p->k[i], "limit") || !strcmp(p->k[i], "offset"));
        for (const char *const *a = allowed; !ok && a && *a; a++)
            ok = !strcmp(p->k[i], *a);
        if (!ok)
            return p->k[i];
    }
    return NULL;
}

/* The first parameter given twice, or NULL: which one counts would be a guess. */
static const char *twice_param(const struct params *p)
{
    for (int i = 0; i < p->n; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(p->k[i], p->k[j]))
                return p->k[i];
    return NULL;
}

/*
 * A whole number from min to max in decimal digits only (no sign, space, point or exponent):
 * 0, or -1 for anything else, a number past max included (never clamped).
 */
static int parse_count(const char *s, long min, long max, long *out)
{
    long v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (max - (*s - '0')) / 10)
            return -1;
        v = v * 10 + (*s - '0');
    }
    if (v < min)
        return -1;
    *out = v;
    return 0;
}

/* A boolean query parameter: "1" or "0", nothing else (API.md). */
static int parse_flag(const char *s, int *out)
{
    if ((s[0] != '0' && s[0] != '1') || s[1])
        return -1;
    *out = s[0] == '1';
    return 0;
}

static int in_list(const char *s, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(s, *names))
            return 1;
    return 0;
}

/* ---- roles ---- */

enum { ROLE_LOCAL = 100 };

struct role_arg {
    const char *token;
    size_t n;
    int role;
    uint64_t api_tokens;
};

static int role_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)e;
    struct role_arg *a = arg;
    if (a->token) {
        a->role = rl_token_role(t, a->token, a->n);
        return 0;
    }
    struct rl_cursor c;
    MDB_val k, v;
    if (rl_cursor_open(t, RL_DB_TOKENS, &c))
        return 0;
    for (int rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        const uint8_t *p = v.mv_data;
        if (v.mv_size >= 1 && p[0] != RL_ROLE_SYNC)
            a->api_tokens++;
    }
    rl_cursor_close(&c);
    return 0;
}

/*
 * Roles looked up since the last write to the store (any write: a token made or revoked by the
 * CLI is one), so a stream of reads with one token hashes and looks it up once. Loop thread
 * only.
 */
#define ROLE_CACHE 8
static struct role_cache {
    size_t txnid; /* 0: empty */
    char token[257];
    int role;
} role_cache[ROLE_CACHE];
static size_t local_txnid; /* the no-token count was taken at this txnid... */
static uint64_t local_api_tokens;

static size_t last_txnid(struct rl_store *s)
{
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    return info.me_last_txnid + 1; /* never 0 */
}

/*
 * The request's role: its bearer token's, or write for the local laptop (loopback, no proxy
 * header, no API token made); RL_ROLE_NONE (401) otherwise. *why says what was wrong.
 */
static int request_role(struct rl_api *a, const struct sync_http_req *req, const char **why)
{
    struct proto_err e;
    const char *h = req->authorization;
    if (*h) {
        if (strncasecmp(h, "Bearer ", 7)) {
            *why = "the Authorization header must be 'Bearer TOKEN'";
            return RL_ROLE_NONE;
        }
        h += 7;
        while (*h == ' ')
            h++;
        struct role_arg ra = {h, strlen(h), RL_ROLE_NONE, 0};
        size_t txn = last_txnid(a->store);
        struct role_cache *rc = &role_cache[(ra.n + (unsigned char)h[ra.n ? ra.n - 1 : 0]) % ROLE_CACHE];
        if (ra.n && ra.n <= 256 && rc->txnid == txn && !strcmp(rc->token, h)) {
            ra.role = rc->role;
        } else if (ra.n && ra.n <= 256 && rl_store_read(a->store, role_fn, &ra, &e) == 0) {
            rc->txnid = txn;
            memcpy(rc->token, h, ra.n + 1);
            rc->role = ra.role;
        }
        if (ra.role == RL_ROLE_NONE) {
            *why = "unknown token";
            return RL_ROLE_NONE;
        }
        return ra.role;
    }
    if (req->loopback && !req->proxied) {
        size_t txn = last_txnid(a->store);
        if (local_txnid != txn) {
            struct role_arg ra = {NULL, 0, RL_ROLE_NONE, 0};
            if (rl_store_read(a->store, role_fn, &ra, &e) == 0) {
                local_txnid = txn;
                local_api_tokens = ra.api_tokens;
            }
        }
        if (local_txnid == txn && local_api_tokens == 0)
            return ROLE_LOCAL;
    }
    *why = "this node needs a token: Authorization: Bearer TOKEN (relief token add --role "
           "write|read|donor)";
    return RL_ROLE_NONE;
}

static const char *role_label(int role)
{
    return role == ROLE_LOCAL ? "write" : rl_role_name(role);
}

/* ---- hosts ---- */

static int is_ip_literal(const char *h, size_t n)
{
    if (n >= 2 && h[0] == '[' && h[n - 1] == ']')
        return 1; /* IPv6 */
    int dots = 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i] == '.')
            dots++;
        else if (h[i] < '0' || h[i] > '9')
            return 0;
    }
    return dots == 3;
}

int rl_api_host_ok(const struct rl_api *a, const char *host)
{
    if (!*host)
        return 1; /* HTTP/1.0 without Host: no browser sends that */
    size_t n = strlen(host);
    const char *colon = strrchr(host, ':');
    if (colon && !strchr(colon, ']'))
        n = (size_t)(colon - host);
    if (is_ip_literal(host, n))
        return 1;
    if (n == 9 && !strncasecmp(host, "localhost", 9))
        return 1;
    if (a->o.listen_host && strlen(a->o.listen_host) == n &&
        !strncasecmp(host, a->o.listen_host, n))
        return 1;
    for (int i = 0; i < a->o.nhosts; i++)
        if (strlen(a->o.hosts[i]) == n && !strncasecmp(host, a->o.hosts[i], n))
            return 1;
    return 0;
}

/* ---- lists ---- */

/* Keep the elements of arr for which keep() says 1. */
static void filter(json_t *arr, int (*keep)(json_t *o, const void *arg), const void *arg)
{
    size_t i = 0;
    while (i < json_array_size(arr)) {
        if (keep(json_array_get(arr, i), arg))
            i++;
        else
            json_array_remove(arr, i);
    }
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n))
            return 1;
    return n == 0;
}

/* Remove personal contacts (every "contact" key, at any depth), for donors. */
/* What a donor is not shown: contacts, free-text notes (which hold phone numbers as often as
 * not) and the names of the volunteers who recorded each step. */
static void strip_contacts(json_t *v)
{
    if (json_is_object(v)) {
        json_object_del(v, "contact");
        json_object_del(v, "note");
        json_object_del(v, "author");
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) strip_contacts(x);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) strip_contacts(x);
    }
}

/* Page arr per limit/offset (checked) into {"items", "total", "offset", "limit"}; takes arr. */
static json_t *page(json_t *arr, long limit, long offset)
{
    size_t total = json_array_size(arr);
    json_t *items = json_array();
    for (size_t i = (size_t)offset; i < total && i < (size_t)offset + (size_t)limit; i++)
        json_array_append(items, json_array_get(arr, i));
    json_decref(arr);
    return json_pack("{s:o, s:I, s:I, s:I}", "items", items, "total", (json_int_t)total, "offset",
                     (json_int_t)offset, "limit", (json_int_t)limit);
}

/* ---- reads ---- */

enum read_what {
    R_STATUS, R_SITES, R_SITE, R_SHIFT, R_ITEMS, R_STOCK, R_TOTALS, R_MOVEMENTS, R_NEEDS, R_SHIFTS,
    R_DONATIONS, R_TRACE, R_ALERTS, R_CONFLICTS, R_PEERS, R_REPORT
};

/* Whether a read answers a list, paged by limit and offset (the rest do not take them). */
static int paged(enum read_what w)
{
    return w != R_STATUS && w != R_SITE && w != R_SHIFT && w != R_TRACE && w != R_REPORT;
}

/* The kinds a movement can be (mv_kind), for movements?kind=. */
static const char *const mv_kinds[] = {"receive", "dispatch", "distribute", "adjust", NULL};

/* A read's query parameter values, checked and parsed before the store is read. */
struct read_query {
    long limit, offset;
    int open, short_; /* open=1, short=1 */
    int has_from, has_to;
    uint64_t from, to; /* seconds since the epoch */
};

/*
 * Check every parameter's value in p for a read of what and parse it into *rq. A value that
 * is not one the parameter takes (an unknown kind, a flag not 1 or 0, a number that does not
 * parse or is past its range, a time that does not parse) is answered 400 invalid naming the
 * parameter, and -1 returned: a filter read some other way would answer the wrong records
 * with a 200. site and item are resolved in the read; q and format are checked by their users.
 */
static int check_query(enum read_what what, const struct params *p, struct read_query *rq,
                       struct sync_http_resp *resp)
{
    struct proto_err e;
    memset(rq, 0, sizeof *rq);
    rq->limit = API_PAGE_DEFAULT;
    for (int i = 0; i < p->n; i++) {
        const char *k = p->k[i], *v = p->v[i];
        if (!strcmp(k, "limit")) {
            if (parse_count(v, 1, API_PAGE_MAX, &rq->limit)) {
                send_error(resp, 400, NULL, k, "limit '%s' is not a whole number from 1 to %d", v,
                           API_PAGE_MAX);
                return -1;
            }
        } else if (!strcmp(k, "offset")) {
            if (parse_count(v, 0, API_OFFSET_MAX, &rq->offset)) {
                send_error(resp, 400, NULL, k, "offset '%s' is not a whole number from 0 to %ld", v,
                           API_OFFSET_MAX);
                return -1;
            }
        } else if (!strcmp(k, "open") || !strcmp(k, "short")) {
            if (parse_flag(v, !strcmp(k, "open") ? &rq->open : &rq->short_)) {
                send_error(resp, 400, NULL, k, "%s '%s' is not 1 or 0", k, v);
                return -1;
            }
        } else if (!strcmp(k, "kind")) {
            const char *const *names = what == R_SITES ? rl_site_kinds : mv_kinds;
            if (!in_list(v, names)) {
                char list[200] = "";
                for (int j = 0; names[j]; j++)
                    snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s", j ? ", " : "",
                             names[j]);
                send_error(resp, 400, NULL, k, "kind '%s' is not one of %s", v, list);
                return -1;
            }
        } else if (!strcmp(k, "from") || !strcmp(k, "to")) {
            int from = k[0] == 'f';
            proto_err_clear(&e);
            if (rl_parse_time(v, from ? &rq->from : &rq->to, &e)) {
                /* an offset's + sent as it is arrives as a space */
                send_error(resp, 400, NULL, k, "%s: %s%s", k, e.msg,
                           strchr(v, ' ') ? " (write + as %2B in a query string)" : "");
                return -1;
            }
            *(from ? &rq->has_from : &rq->has_to) = 1;
        }
    }
    if (rq->has_from && rq->has_to && rq->to < rq->from) {
        send_error(resp, 400, NULL, "to", "to '%s' is before from '%s'", param(p, "to"),
                   param(p, "from"));
        return -1;
    }
    return 0;
}

struct read_arg {
    struct rl_api *a;
    enum read_what what;
    const char *id;
    const struct params *p;
    int role;
    json_t *out;
    int status; /* on an error: 400 or 404 */
    const char *field;
    int want_cells; /* a report as CSV or HXL: cells, not JSON rows */
    struct rl_cells cells;
    const struct read_query *rq;
};

static int keep_site(json_t *o, const void *arg)
{
    const struct params *p = arg;
    const char *kind = param(p, "kind"), *q = param(p, "q");
    if (kind && strcmp(jstr(o, "kind"), kind))
        return 0;
    return !q || contains_ci(jstr(o, "name"), q) || contains_ci(jstr(o, "code"), q);
}

static int keep_item(json_t *o, const void *arg)
{
    const char *q = param(arg, "q");
    return !q || contains_ci(jstr(o, "name"), q) || contains_ci(jstr(o, "code"), q);
}

struct site_item_filter {
    const char *site; /* id in hex */
    const char *item;
    int open, short_;
    int has_from, has_to;
    uint64_t from, to; /* seconds */
};

/* A shift's start or end in seconds: 0, or -1 when it has none that reads as a time. */
static int shift_time(json_t *o, const char *k, uint64_t *secs)
{
    struct proto_err e;
    json_t *v = json_object_get(o, k);
    return json_is_string(v) && rl_parse_time(json_string_value(v), secs, &e) == 0 ? 0 : -1;
}

static int keep_site_item(json_t *o, const void *arg)
{
    const struct site_item_filter *f = arg;
    if (f->site && strcmp(jstr(o, "site"), f->site) && strcmp(jstr(o, "to"), f->site))
        return 0;
    if (f->item && strcmp(jstr(o, "item"), f->item))
        return 0;
    if (f->open && (json_integer_value(json_object_get(o, "gap")) <= 0 ||
                    !strcmp(jstr(o, "status"), "closed")))
        return 0;
    if (f->short_ && json_integer_value(json_object_get(o, "confirmed")) >=
                         json_integer_value(json_object_get(o, "slots")))
        return 0;
    /* a shift in the window: it ends at from or later, and starts before to */
    uint64_t at;
    if (f->has_from && (shift_time(o, "end", &at) || at < f->from))
        return 0;
    if (f->has_to && (shift_time(o, "start", &at) || at >= f->to))
        return 0;
    return 1;
}

static int status_json(struct rl_txn *t, struct read_arg *r, struct proto_err *e)
{
    struct rl_node n;
    int rc;
    if ((rc = rl_node_load(t, &n, e)))
        return rc;
    char net[2 * PROTO_NETWORK_BYTES + 1], id[17], now[40];
    rl_hex(n.network, PROTO_NETWORK_BYTES, net);
    snprintf(id, sizeof id, "%016llx", (unsigned long long)n.id);
    uint64_t ops = 0;
    rl_oplog_count(t, &ops);
    rl_hlc_format(rl_now_ms() << 16, now, sizeof now);
    r->out = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "network", net, "node", id, "name",
                       n.name, "ops", (json_int_t)ops, "role", role_label(r->role), "now", now);
    if (r->out && r->role != RL_ROLE_DONOR)
        json_object_set_new(r->out, "peers", rl_peer_list(t));
    return 0;
}

static const char *mv_kind(uint32_t k)
{
    switch (k) {
    case PROTO_KIND_STOCK_RECEIVE:
        return "receive";
    case PROTO_KIND_STOCK_DISPATCH:
        return "dispatch";
    case PROTO_KIND_STOCK_DISTRIBUTE:
        return "distribute";
    case PROTO_KIND_STOCK_ADJUST:
        return "adjust";
    default:
        return "other";
    }
}

struct mvref {
    uint64_t hlc, o, s;
};

static int mvref_cmp(const void *x, const void *y)
{
    const struct mvref *a = x, *b = y;
    if (a->hlc != b->hlc)
        return a->hlc < b->hlc ? 1 : -1;
    if (a->o != b->o)
        return a->o < b->o ? 1 : -1;
    return a->s < b->s ? 1 : a->s > b->s ? -1 : 0;
}

static void site_code_of(json_t *sites, uint64_t id, const char **code, const char **name)
{
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)id);
    json_t *s = json_object_get(sites, hex);
    *code = jstr(s, "code");
    *name = jstr(s, "name");
}

/* Movements, newest first, filtered by site (either end) and item. */
/* Whether a dispatch has arrived (an arrival recorded for its transfer), or was voided. */
static int settled(struct rl_txn *t, const struct rl_mv *mv)
{
    struct rl_rid tr;
    uint64_t arrived;
    rl_rid_ref(&tr, RL_R_TRANSFER, mv->origin, mv->seq);
    return rl_field_uint(t, &tr, RL_TRANSFER_ARRIVED, &arrived) == 0 ||
           rl_ledger_voided(t, mv->origin, mv->seq) == 1;
}

static int movements_json(struct rl_txn *t, struct read_arg *r, uint64_t site, const char *item,
                          struct proto_err *e)
{
    const char *kind = param(r->p, "kind");
    int open_only = r->rq->open;
    struct rl_cursor c;
    MDB_val k = {0}, v = {0};
    size_t n = 0, cap = 256;
    struct mvref *refs = malloc(cap * sizeof *refs);
    struct rl_mv *mv = malloc(sizeof *mv);
    /*
     * by site: the shelf index, site(8) -> origin(8) seq(8) ih(2); transfers still open: the
     * transit table, to(8) s(item) origin(8) seq(8) -> qty, which holds just those; else every op
     */
    int in_transit = !site && open_only && (!kind || !strcmp(kind, "dispatch"));
    int whole_log = !site && !in_transit;
    struct rl_opiter it;
    struct rl_opval ov;
    int rc = !refs || !mv ? -ENOMEM
             : whole_log  ? rl_opiter_open(t, &it)
                          : rl_cursor_open(t, site ? RL_DB_SHELFMV : RL_DB_TRANSIT, &c);
    if (rc) {
        free(refs);
        free(mv);
        return proto_errf(e, rc, "cannot read movements: %s", proto_strerror(rc));
    }
    uint8_t prefix[8], ih[RL_SHELFMV_VAL];
    size_t il = item ? strlen(item) : 0;
    proto_put_be64(prefix, site);
    rl_shelfmv_val(ih, item ? item : "", il, 0, 0);
    rc = whole_log ? rl_opiter_first(&it, &ov)
         : site    ? rl_cursor_seek(&c, prefix, 8, &k, &v)
                   : rl_cursor_first(&c, &k, &v);
    for (; rc == 0; rc = whole_log ? rl_opiter_next(&it, &ov) : rl_cursor_next(&c, &k, &v)) {
        const uint8_t *kb = k.mv_data;
        uint64_t o, s;
        if (in_transit) {
            if (k.mv_size < 25 || k.mv_size != 25u + kb[8])
                continue;
            if (item && (kb[8] != il || memcmp(kb + 9, item, il)))
                continue;
            o = proto_get_be64(kb + k.mv_size - 16);
            s = proto_get_be64(kb + k.mv_size - 8);
            if (rl_ledger_get(t, o, s, mv))
                continue;
        } else if (site) {
            if (k.mv_size != 8 || memcmp(kb, prefix, 8))
                break;
            if (v.mv_size != RL_SHELFMV_VAL)
                continue;
            if (item && memcmp((const uint8_t *)v.mv_data + RL_SHELFMV_IH, ih + RL_SHELFMV_IH, 2))
                continue; /* another item's */
            rl_shelfmv_ref(v.mv_data, &o, &s);
            if (rl_ledger_get(t, o, s, mv))
                continue;
        } else {
            o = ov.origin;
            s = ov.seq;
            if (rl_ledger_decode(t, o, s, ov.p, ov.n, mv))
                continue;
        }
        if (item && (mv->item_len != il || memcmp(mv->item, item, il)))
            continue;
        if (kind && strcmp(mv_kind(mv->kind), kind))
            continue;
        if (open_only && (mv->kind != PROTO_KIND_STOCK_DISPATCH || settled(t, mv)))
            continue;
        if (n == cap) {
            struct mvref *nr = realloc(refs, (cap *= 2) * sizeof *refs);
            if (!nr) {
                rc = -ENOMEM;
                break;
            }
            refs = nr;
        }
        refs[n++] = (struct mvref){mv->hlc, o, s};
    }
    if (whole_log)
        rl_opiter_close(&it);
    else
        rl_cursor_close(&c);
    if (rc && rc != -ENOENT) {
        free(refs);
        free(mv);
        return proto_errf(e, rc, "cannot read movements: %s", proto_strerror(rc));
    }
    qsort(refs, n, sizeof *refs, mvref_cmp);
    /* the same movement twice (a dispatch is under both its ends) */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!m || refs[m - 1].o != refs[i].o || refs[m - 1].s != refs[i].s)
            refs[m++] = refs[i];
    n = m;

    json_t *sites = json_object(), *arr = json_array();
    json_t *sl = rl_q_sites(t, e);
    size_t i;
    json_t *so;
    json_array_foreach(sl, i, so) json_object_set(sites, jstr(so, "id"), so);
    json_decref(sl);

    long limit = r->rq->limit, offset = r->rq->offset;
    for (size_t j = (size_t)offset; j < n && j < (size_t)offset + (size_t)limit; j++) {
        if (rl_ledger_get(t, refs[j].o, refs[j].s, mv))
            continue;
        char ref[40], when[40], sid[17], tid[17];
        rl_ref_format(mv->origin, mv->seq, ref);
        rl_hlc_format(mv->hlc, when, sizeof when);
        snprintf(sid, sizeof sid, "%016llx", (unsigned long long)mv->site);
        const char *code, *name;
        site_code_of(sites, mv->site, &code, &name);
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s%, s:I, s:s, s:b}", "op", ref, "kind",
                              mv_kind(mv->kind), "time", when, "site", sid, "site_code", code,
                              "item", mv->item, (size_t)mv->item_len, "qty", (json_int_t)mv->qty,
                              "author", mv->author, "voided",
                              rl_ledger_voided(t, mv->origin, mv->seq) == 1);
        if (!o)
            continue;
        json_object_set_new(o, "site_name", json_string(name));
        if (mv->kind == PROTO_KIND_STOCK_DISPATCH) {
            /* the transfer is named by its dispatch; arrived: null until an arrival */
            struct rl_rid tr;
            uint64_t arrived = 0;
            rl_rid_ref(&tr, RL_R_TRANSFER, mv->origin, mv->seq);
            json_object_set_new(o, "transfer", json_string(ref));
            json_object_set_new(o, "arrived",
                                rl_field_uint(t, &tr, RL_TRANSFER_ARRIVED, &arrived) == 0
                                    ? json_integer((json_int_t)arrived)
                                    : json_null());
            snprintf(tid, sizeof tid, "%016llx", (unsigned long long)mv->to);
            site_code_of(sites, mv->to, &code, &name);
            json_object_set_new(o, "to", json_string(tid));
            json_object_set_new(o, "to_code", json_string(code));
            json_object_set_new(o, "to_name", json_string(name));
        }
        if (mv->lot_len)
            json_object_set_new(o, "lot", json_stringn(mv->lot, mv->lot_len));
        if (mv->expiry) {
            char day[16];
            rl_format_day(mv->expiry, day, sizeof day);
            json_object_set_new(o, "expiry", json_string(day));
        }
        json_array_append_new(arr, o);
    }
    json_decref(sites);
    free(refs);
    free(mv);
    r->out = json_pack("{s:o, s:I, s:I, s:I}", "items", arr, "total", (json_int_t)n, "offset",
                       (json_int_t)offset, "limit", (json_int_t)limit);
    return 0;
}

static json_t *stock_totals(json_t *stock, const char *item)
{
    json_t *by = json_object(), *arr = json_array();
    size_t i;
    json_t *o;
    json_array_foreach(stock, i, o)
    {
        const char *it = jstr(o, "item");
        if (item && strcmp(it, item))
            continue;
        json_t *t = json_object_get(by, it);
        if (!t) {
            t = json_pack("{s:s, s:s, s:I, s:I, s:I}", "item", it, "unit", jstr(o, "unit"),
                          "balance", (json_int_t)0, "in_transit", (json_int_t)0, "sites",
                          (json_int_t)0);
            json_object_set_new(by, it, t);
            json_array_append(arr, t);
        }
        const char *ks[] = {"balance", "in_transit"};
        for (int j = 0; j < 2; j++)
            json_object_set_new(t, ks[j],
                                json_integer(json_integer_value(json_object_get(t, ks[j])) +
                                             json_integer_value(json_object_get(o, ks[j]))));
        if (json_integer_value(json_object_get(o, "balance")) > 0)
            json_object_set_new(
                t, "sites", json_integer(json_integer_value(json_object_get(t, "sites")) + 1));
    }
    json_decref(by);
    json_decref(stock);
    return arr;
}

static int read_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct read_arg *r = arg;
    const struct params *p = r->p;
    uint64_t site = 0, o, s;
    int rc;
    char sid[17];
    struct site_item_filter f = {0};
    const char *sp = param(p, "site"), *ip = param(p, "item");
    if (sp) {
        if ((rc = rl_resolve_site(t, sp, &site, e))) {
            r->status = 400;
            r->field = "site";
            return rc;
        }
        snprintf(sid, sizeof sid, "%016llx", (unsigned long long)site);
        f.site = sid;
    }
    if (ip) {
        if ((rc = rl_resolve_item(t, ip, e))) {
            r->status = 400;
            r->field = "item";
            return rc;
        }
        f.item = ip;
    }
    switch (r->what) {
    case R_STATUS:
        return status_json(t, r, e);
    case R_SITES:
        r->out = rl_q_sites(t, e);
        if (r->out)
            filter(r->out, keep_site, p);
        break;
    case R_SITE:
        if ((rc = rl_resolve_site(t, r->id, &site, e))) {
            r->status = 404;
            return rc;
        }
        r->out = rl_q_site(t, site, e);
        if (r->out) {
            snprintf(sid, sizeof sid, "%016llx", (unsigned long long)site);
            f.site = sid;
            json_t *needs = rl_q_needs(t, e), *shifts = rl_q_shifts(t, e);
            if (needs)
                filter(needs, keep_site_item, &f);
            if (shifts)
                filter(shifts, keep_site_item, &f);
            json_object_set_new(r->out, "needs", needs ? needs : json_array());
            json_object_set_new(r->out, "shifts", shifts ? shifts : json_array());
        }
        break;
    case R_SHIFT:
        if ((rc = rl_resolve_ref(t, r->id, &o, &s, e))) {
            r->status = 404;
            return rc;
        }
        r->out = rl_q_shift(t, o, s, e);
        if (!r->out)
            r->status = 404;
        break;
    case R_ITEMS:
        r->out = rl_q_items(t, e);
        if (r->out)
            filter(r->out, keep_item, p);
        break;
    case R_STOCK:
        r->out = rl_q_stock(t, site, ip, e);
        break;
    case R_TOTALS:
        r->out = rl_q_stock(t, 0, ip, e);
        if (r->out)
            r->out = stock_totals(r->out, ip);
        break;
    case R_MOVEMENTS:
        return movements_json(t, r, site, ip, e);
    case R_NEEDS:
        f.open = r->rq->open;
        r->out = rl_q_needs(t, e);
        if (r->out)
            filter(r->out, keep_site_item, &f);
        break;
    case R_SHIFTS:
        f.short_ = r->rq->short_;
        f.has_from = r->rq->has_from;
        f.has_to = r->rq->has_to;
        f.from = r->rq->from;
        f.to = r->rq->to;
        r->out = rl_q_shifts(t, e);
        if (r->out)
            filter(r->out, keep_site_item, &f);
        break;
    case R_DONATIONS:
        r->out = rl_q_donations(t, e);
        if (r->out)
            filter(r->out, keep_site_item, &f);
        break;
    case R_TRACE:
        if ((rc = rl_resolve_ref(t, r->id, &o, &s, e))) {
            r->status = 404;
            return rc;
        }
        r->out = rl_q_trace(t, o, s, e);
        if (!r->out)
            r->status = 404;
        break;
    case R_ALERTS:
        r->out = rl_q_alerts(t, rl_now_ms(), e);
        break;
    case R_CONFLICTS:
        r->out = rl_q_conflicts(t, e);
        break;
    case R_PEERS:
        r->out = rl_peer_list(t);
        break;
    case R_REPORT:
        if (r->want_cells)
            return rl_report_cells(t, r->id, &r->cells, e);
        r->out = rl_report_rows(t, r->id, e);
        break;
    }
    if (!r->out)
        return e->code ? e->code : -EIO;
    return 0;
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What a list is kept by: the read, the role and the parameters but limit and offset, each with
 * its length (values may hold any byte but NUL); NULL when out of memory. */
static char *list_key(const struct read_arg *r)
{
    struct proto_buf b;
    proto_buf_init(&b, 1u << 16);
    proto_buf_printf(&b, "%d %d", (int)r->what, r->role);
    for (int i = 0; i < r->p->n; i++) {
        const char *k = r->p->k[i], *v = r->p->v[i] ? r->p->v[i] : "";
        if (strcmp(k, "limit") && strcmp(k, "offset"))
            proto_buf_printf(&b, " %zu:%zu:%s%s", strlen(k), strlen(v), k, v);
    }
    if (proto_buf_failed(&b) || !b.data) {
        proto_buf_free(&b);
        return NULL;
    }
    return (char *)b.data; /* NUL-terminated; the caller's now */
}

static void list_slot_clear(struct list_slot *l)
{
    json_decref(l->arr);
    free(l->key);
    memset(l, 0, sizeof *l);
}

/* The list kept for key in this snapshot (a reference of the caller's), or NULL. */
static json_t *list_get(struct rl_api *a, struct rl_txn *t, const char *key)
{
    uint64_t snap = mdb_txn_id(t->txn) + 1, now = mono_ms();
    json_t *arr = NULL;
    pthread_mutex_lock(&a->lists_lock);
    for (int i = 0; i < API_LISTS; i++) {
        struct list_slot *l = &a->lists[i];
        if (l->snap && (l->gen != t->s->gen || l->snap != snap || now - l->at_ms > API_LIST_MS))
            list_slot_clear(l); /* a later snapshot, or too old: never asked for again */
        else if (l->snap && !arr && !strcmp(l->key, key))
            arr = json_incref(l->arr);
    }
    pthread_mutex_unlock(&a->lists_lock);
    return arr;
}

/* Keep arr (a reference is taken) for key, in place of the oldest list; takes key. */
static void list_put(struct rl_api *a, struct rl_txn *t, char *key, json_t *arr)
{
    pthread_mutex_lock(&a->lists_lock);
    struct list_slot *l = &a->lists[0];
    for (int i = 0; i < API_LISTS; i++) {
        if (!a->lists[i].snap) {
            l = &a->lists[i];
            break;
        }
        if (a->lists[i].at_ms < l->at_ms)
            l = &a->lists[i];
    }
    list_slot_clear(l);
    *l = (struct list_slot){t->s->gen, mdb_txn_id(t->txn) + 1, mono_ms(), key, json_incref(arr)};
    pthread_mutex_unlock(&a->lists_lock);
}

/*
 * read_fn, with a donor's answer stripped of contacts, and lists kept for their next pages
 * (a list kept is never changed again: pages share its records).
 */
static int cached_read_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct read_arg *r = arg;
    char *key = paged(r->what) && r->what != R_MOVEMENTS ? list_key(r) : NULL;
    if (key && (r->out = list_get(r->a, t, key))) {
        free(key);
        return 0;
    }
    int rc = read_fn(t, arg, e);
    if (rc == 0 && r->role == RL_ROLE_DONOR)
        strip_contacts(r->out);
    if (rc == 0 && key && json_is_array(r->out))
        list_put(r->a, t, key, r->out);
    else
        free(key);
    return rc;
}

static const char *const P_SITES[] = {"kind", "q", NULL};
static const char *const P_ITEMS[] = {"q", NULL};
static const char *const P_SITE_ITEM[] = {"site", "item", NULL};
static const char *const P_MOVEMENTS[] = {"site", "item", "kind", "open", NULL};
static const char *const P_ITEM[] = {"item", NULL};
static const char *const P_NEEDS[] = {"site", "item", "open", NULL};
static const char *const P_SHIFTS[] = {"site", "from", "to", "short", NULL};
static const char *const P_SITE[] = {"site", NULL};
static const char *const P_FORMAT[] = {"format", NULL};
static const char *const P_NONE[] = {NULL};

static void do_read(struct rl_api *a, enum read_what what, const char *id, const char *query,
                    const char *const *allowed, int role, struct sync_http_resp *resp)
{
    struct params p;
    char why[128];
    if (parse_params(query, &p, why, sizeof why)) {
        send_error(resp, 400, NULL, NULL, "%s", why);
        return;
    }
    const char *bad = unknown_param(&p, allowed, paged(what));
    if (bad) {
        send_error(resp, 400, "unknown_parameter", bad, "unknown query parameter '%s'", bad);
        return;
    }
    if ((bad = twice_param(&p))) {
        send_error(resp, 400, NULL, bad, "query parameter '%s' is given twice", bad);
        return;
    }
    struct read_query rq;
    if (check_query(what, &p, &rq, resp))
        return;
    const struct rl_report_col *cols = NULL;
    enum rl_report_fmt fmt = RL_REPORT_JSON;
    if (what == R_REPORT) {
        const char *fm = param(&p, "format");
        if (!(cols = rl_report_cols(id))) {
            send_error(resp, 404, NULL, NULL, "no report '%s' (needs, stock, shifts, donations)",
                       id);
            return;
        }
        if (fm && !strcmp(fm, "csv"))
            fmt = RL_REPORT_CSV;
        else if (fm && !strcmp(fm, "hxl"))
            fmt = RL_REPORT_HXL;
        else if (fm && strcmp(fm, "json")) {
            send_error(resp, 400, NULL, "format", "format must be json, csv or hxl");
            return;
        }
    }
    struct read_arg r = {a, what, id, &p, role, NULL, 500, NULL, 0, {0, 0, NULL, NULL}, &rq};
    r.want_cells = what == R_REPORT && fmt != RL_REPORT_JSON;
    struct proto_err e;
    proto_err_clear(&e);
    if (rl_store_read(a->store, cached_read_fn, &r, &e)) {
        json_decref(r.out);
        rl_cells_free(&r.cells);
        send_error(resp, r.status, r.status < 500 && e.code == -ENOENT ? "not_found" : NULL,
                   r.field, "%s", e.msg[0] ? e.msg : "cannot read");
        return;
    }
    if (what == R_REPORT && fmt != RL_REPORT_JSON) {
        resp->content_type = "text/csv; charset=utf-8";
        resp->gzip_ok = 1;
        add_header(resp, "Cache-Control", "no-store");
        add_header(resp, "Content-Disposition", report_disposition(id, fmt == RL_REPORT_HXL));
        common_headers(resp);
        if (rl_report_write_cells(cols, &r.cells, fmt, &resp->body, NULL))
            resp->status = 500;
        rl_cells_free(&r.cells);
        return;
    }
    if (json_is_array(r.out) && paged(what))
        r.out = page(r.out, rq.limit, rq.offset);
    send_json(resp, 200, r.out);
}

/*
 * Reads that walk a whole table (every need, every shift, a report) run in libuv's thread
 * pool, so a coordinator's refresh over 20,000 needs never stalls the loop, its syncs and its
 * writes; reads of one site or one record answer on the loop at once.
 */
struct read_job {
    uv_work_t work;
    struct rl_api *a;
    enum read_what what;
    const char *const *allowed;
    int role;
    struct sync_http_pending *pend;
    struct sync_http_resp resp;
    char *id, *query;
};

static int heavy(enum read_what what, const char *query)
{
    switch (what) {
    case R_STATUS:
    case R_SITE:
    case R_SHIFT:
    case R_TRACE:
    case R_PEERS:
        return 0;
    case R_STOCK:
        return strstr(query, "site=") == NULL; /* one site's shelves are few */
    default:
        return 1;
    }
}

static void maybe_free(struct rl_api *a)
{
    if (a->check_closed && a->reads == 0 && !a->committing && !a->head) {
        for (int i = 0; i < API_LISTS; i++)
            list_slot_clear(&a->lists[i]);
        pthread_mutex_destroy(&a->lists_lock);
        free(a);
    }
}

static void read_work(uv_work_t *w)
{
    struct read_job *rj = w->data;
    do_read(rj->a, rj->what, rj->id, rj->query, rj->allowed, rj->role, &rj->resp);
}

static void read_done(uv_work_t *w, int status)
{
    struct read_job *rj = w->data;
    if (status) {
        proto_buf_reset(&rj->resp.body);
        rj->resp.nheaders = 0;
        send_error(&rj->resp, 503, NULL, NULL, "the node is stopping");
    }
    sync_http_complete(rj->pend, &rj->resp);
    struct rl_api *a = rj->a;
    free(rj->id);
    free(rj->query);
    free(rj);
    a->reads--;
    maybe_free(a);
}

/* A read: in the pool when it may be long, else here. */
static void read_maybe_pooled(struct rl_api *a, enum read_what what, const char *id,
                              const struct sync_http_req *req, const char *const *allowed,
                              int role, struct sync_http_resp *resp)
{
    if (heavy(what, req->query) && !a->closed) {
        struct read_job *rj = calloc(1, sizeof *rj);
        if (rj && (rj->query = strdup(req->query)) && (!id || (rj->id = strdup(id)))) {
            rj->a = a;
            rj->what = what;
            rj->allowed = allowed;
            rj->role = role;
            rj->work.data = rj;
            sync_http_resp_init(&rj->resp);
            if ((rj->pend = sync_http_defer(req))) {
                if (uv_queue_work(a->loop, &rj->work, read_work, read_done) == 0) {
                    a->reads++;
                    return;
                }
                sync_http_undefer(rj->pend);
            }
            proto_buf_free(&rj->resp.body);
        }
        if (rj) {
            free(rj->id);
            free(rj->query);
            free(rj);
        }
    }
    do_read(a, what, id, req->query, allowed, role, resp);
}

/* ---- writes ---- */

static void job_free(struct job *j)
{
    json_decref(j->body);
    free(j->batch);
    free(j->langs);
    free(j);
}

/*
 * A JSON number with a point or an exponent as text that stays one: 1e3 or 5.0 is not the whole
 * number a quantity takes (the CLI refuses them too), 38.0 is still degrees.
 */
static void real_text(double d, char *out, size_t n)
{
    int k = snprintf(out, n, "%.15g", d);
    if (k > 0 && (size_t)k + 2 < n && !strpbrk(out, ".eEni"))
        strcat(out, ".0");
}

/* A body value as the text the CLI would have been given; NULL on a wrong type. */
static const char *value_text(struct job *j, json_t *v)
{
    if (json_is_string(v))
        return json_string_value(v);
    if (j->nnums == API_NUMS)
        return NULL;
    char *out = j->nums[j->nnums];
    if (json_is_integer(v))
        snprintf(out, sizeof j->nums[0], "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v))
        real_text(json_real_value(v), out, sizeof j->nums[0]);
    else if (json_is_boolean(v))
        snprintf(out, sizeof j->nums[0], "%s", json_is_true(v) ? "true" : "false");
    else
        return NULL;
    j->nnums++;
    return out;
}

/* Languages: ["pt", "tl"] or "pt,tl". */
static int languages_text(struct job *j, json_t *v)
{
    if (json_is_string(v)) {
        j->langs = strdup(json_string_value(v));
        return j->langs ? 0 : -1;
    }
    if (!json_is_array(v) || json_array_size(v) > 64)
        return -1;
    size_t i, n = 1;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        if (!json_is_string(x))
            return -1;
        n += json_string_length(x) + 1;
    }
    j->langs = calloc(1, n);
    if (!j->langs)
        return -1;
    json_array_foreach(v, i, x)
    {
        if (i)
            strcat(j->langs, ",");
        strcat(j->langs, json_string_value(x));
    }
    return 0;
}

/* What a write request is. */
enum wop { W_ADD, W_SET, W_STOCK, W_SHIFT_ACT };

struct wroute {
    enum wop op;
    enum rl_rtype rtype;
    uint32_t kind; /* W_STOCK and W_SHIFT_ACT */
};

static const char *const STOCK_KEYS[][12] = {
    /* receive */ {"site", "item", "qty", "donation", "lot", "expiry", "from", "note", NULL},
    /* dispatch */ {"from", "to", "item", "qty", "need", "note", NULL},
    /* arrive */ {"transfer", "qty", NULL},
    /* distribute */ {"site", "item", "qty", "need", "note", NULL},
    /* adjust */ {"site", "item", "qty", "reason", "note", "lot", NULL},
    /* count */ {"site", "item", "qty", NULL},
    /* void */ {"movement", "reason", NULL},
};

static int listed(const char *const *list, const char *k)
{
    for (; *list; list++)
        if (!strcmp(*list, k))
            return 1;
    return 0;
}

/* Build the job of a write; 0, or an error sent into resp. */
static int build_job(struct job *j, const struct wroute *w, const char *target,
                     struct sync_http_resp *resp)
{
    const char *k;
    json_t *v;
    const char *by = NULL;
    if (json_is_string(json_object_get(j->body, "by")))
        by = json_string_value(json_object_get(j->body, "by"));
    else if (json_object_get(j->body, "by")) {
        send_error(resp, 400, NULL, "by", "'by' must be a string");
        return -1;
    }
    if (target)
        snprintf(j->target, sizeof j->target, "%s", target);

    if (w->op == W_ADD || w->op == W_SET) {
        struct rl_edit *ed = &j->ed;
        const struct rl_fieldopt *fs = rl_fields_of(w->rtype);
        j->kind = J_EDIT;
        ed->rtype = w->rtype;
        ed->add = w->op == W_ADD;
        ed->author = by;
        ed->target = target ? j->target : NULL;
        json_object_foreach(j->body, k, v)
        {
            if (!strcmp(k, "by"))
                continue;
            if (w->rtype == RL_R_SITE && !strcmp(k, "languages")) {
                if (languages_text(j, v)) {
                    send_error(resp, 400, NULL, k, "'languages' must be a list of language codes");
                    return -1;
                }
                ed->languages = j->langs;
                continue;
            }
            if (w->rtype == RL_R_ITEM && ed->add && !strcmp(k, "code")) {
                if (!json_is_string(v)) {
                    send_error(resp, 400, NULL, k, "'code' must be a string");
                    return -1;
                }
                snprintf(j->target, sizeof j->target, "%s", json_string_value(v));
                ed->target = j->target;
                continue;
            }
            const struct rl_fieldopt *f = rl_fieldopt_find(fs, k);
            if (!f) {
                send_error(resp, 400, "unknown_field", k, "unknown field '%s'", k);
                return -1;
            }
            const char *text = value_text(j, v);
            if (!text) {
                send_error(resp, 400, NULL, k, "'%s' must be a string, a number or a boolean", k);
                return -1;
            }
            if (ed->nfields == (int)(sizeof ed->fields / sizeof *ed->fields)) {
                send_error(resp, 400, NULL, k, "too many fields");
                return -1;
            }
            ed->fields[ed->nfields].f = f;
            ed->fields[ed->nfields++].value = text;
        }
        const char *missing = NULL;
#define HAS(n) (json_object_get(j->body, n) != NULL)
        if (ed->add) {
            switch (w->rtype) {
            case RL_R_SITE:
                missing = !HAS("kind") ? "kind" : !HAS("name") ? "name" : NULL;
                break;
            case RL_R_ITEM:
                missing = !HAS("code") ? "code" : !HAS("name") ? "name" : !HAS("unit") ? "unit" : NULL;
                break;
            case RL_R_NEED:
                missing = !HAS("site") ? "site" : !HAS("qty") ? "qty"
                          : (!HAS("item") && !HAS("service")) ? "item" : NULL;
                break;
            case RL_R_SHIFT:
                missing = !HAS("site")    ? "site"
                          : !HAS("start") ? "start"
                          : !HAS("end")   ? "end"
                          : !HAS("slots") ? "slots"
                                          : NULL;
                break;
            case RL_R_DONATION: {
                int goods = HAS("item") && HAS("qty"), money = HAS("amount") && HAS("currency");
                missing = !HAS("donor") ? "donor" : !HAS("to") ? "to" : NULL;
                if (!missing && goods == money) {
                    send_error(resp, 400, "required", HAS("item") ? "qty" : "item",
                               "a donation needs either item with qty or amount with currency");
                    return -1;
                }
                break;
            }
            default:
                break;
            }
        } else if (ed->nfields == 0 && !ed->languages) {
            send_error(resp, 400, "nothing_to_change", NULL,
                       "nothing to change: give at least one field");
            return -1;
        }
        if (missing) {
            send_error(resp, 400, "required", missing, "'%s' is required", missing);
            return -1;
        }
        return 0;
    }

    if (w->op == W_SHIFT_ACT) {
        struct rl_shift_req *sh = &j->sh;
        j->kind = J_SHIFT;
        sh->kind = w->kind;
        sh->shift = j->target;
        sh->author = by;
        json_object_foreach(j->body, k, v)
        {
            if (!strcmp(k, "by"))
                continue;
            const char **slot = NULL;
            if (w->kind != PROTO_KIND_SHIFT_SERVED && !strcmp(k, "volunteer"))
                slot = &sh->volunteer;
            else if (w->kind == PROTO_KIND_SHIFT_SIGNUP && !strcmp(k, "contact"))
                slot = &sh->contact;
            else if (w->kind == PROTO_KIND_SHIFT_SERVED && !strcmp(k, "meals"))
                slot = &sh->meals;
            if (!slot) {
                send_error(resp, 400, "unknown_field", k, "unknown field '%s'", k);
                return -1;
            }
            if (!(*slot = value_text(j, v))) {
                send_error(resp, 400, NULL, k, "'%s' must be a string or a number", k);
                return -1;
            }
        }
        const char *missing = w->kind == PROTO_KIND_SHIFT_SERVED ? (!sh->meals ? "meals" : NULL)
                                                                 : (!sh->volunteer ? "volunteer" : NULL);
        if (missing) {
            send_error(resp, 400, "required", missing, "'%s' is required", missing);
            return -1;
        }
        return 0;
    }

    /* stock */
    struct rl_stock_req *st = &j->st;
    size_t oi = 0;
    while (rl_stock_ops[oi].name && rl_stock_ops[oi].kind != w->kind)
        oi++;
    j->kind = J_STOCK;
    st->kind = w->kind;
    st->author = by;
    json_object_foreach(j->body, k, v)
    {
        if (!strcmp(k, "by"))
            continue;
        if (!listed(STOCK_KEYS[oi], k)) {
            send_error(resp, 400, "unknown_field", k, "unknown field '%s' for stock %s", k,
                       rl_stock_ops[oi].name);
            return -1;
        }
        const char *text = value_text(j, v);
        if (!text) {
            send_error(resp, 400, NULL, k, "'%s' must be a string or a number", k);
            return -1;
        }
        if (!strcmp(k, "site"))
            st->site = text;
        else if (!strcmp(k, "from"))
            *(w->kind == PROTO_KIND_STOCK_DISPATCH ? &st->site : &st->from_text) = text;
        else if (!strcmp(k, "to"))
            st->to = text;
        else if (!strcmp(k, "item"))
            st->item = text;
        else if (!strcmp(k, "qty"))
            st->qty = text;
        else if (!strcmp(k, "donation"))
            st->donation = text;
        else if (!strcmp(k, "lot"))
            st->lot = text;
        else if (!strcmp(k, "expiry"))
            st->expiry = text;
        else if (!strcmp(k, "need"))
            st->need = text;
        else if (!strcmp(k, "reason"))
            st->reason = text;
        else if (!strcmp(k, "note"))
            st->note = text;
        else if (!strcmp(k, "transfer") || !strcmp(k, "movement"))
            st->target = text;
    }
    const char *missing = NULL;
    switch (w->kind) {
    case PROTO_KIND_STOCK_DISPATCH:
        missing = !st->site ? "from" : !st->to ? "to" : !st->item ? "item" : !st->qty ? "qty" : NULL;
        break;
    case PROTO_KIND_STOCK_ARRIVE:
        missing = !st->target ? "transfer" : NULL;
        break;
    case PROTO_KIND_STOCK_VOID:
        missing = !st->target ? "movement" : !st->reason ? "reason" : NULL;
        if (!missing)
            st->note = st->reason;
        break;
    default:
        missing = !st->site ? "site" : !st->item ? "item" : !st->qty ? "qty" : NULL;
        if (!missing && w->kind == PROTO_KIND_STOCK_ADJUST && !st->reason)
            missing = "reason";
    }
    if (missing) {
        send_error(resp, 400, "required", missing, "'%s' is required", missing);
        return -1;
    }
    return 0;
}

static int job_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct job *j = arg;
    switch (j->kind) {
    case J_EDIT:
        return rl_edit_in(t, &j->ed, &j->w, e);
    case J_STOCK:
        return rl_stock_in(t, &j->st, &j->sr, e);
    case J_SHIFT:
        return rl_shift_in(t, &j->sh, &j->w, e);
    case J_APPLY: {
        struct proto_batch b;
        proto_batch_init(&b);
        int rc = proto_batch_decode(j->batch, j->batch_len, &b, e);
        if (!rc)
            rc = rl_oplog_apply(t, &b, &j->ast, e);
        proto_batch_free(&b);
        return rc;
    }
    case J_FN:
        return j->fn(t, j->fn_arg, e);
    }
    return -EINVAL;
}

/*
 * A batch runs first with every job straight in the one transaction (nested transactions copy
 * each page they touch); when a job is refused, that attempt is abandoned and the batch runs
 * again with each job in a nested transaction of its own, so that the refused job undoes only
 * itself.
 */
struct batch {
    struct job *list;
    int nested; /* this attempt nests */
    int redo;   /* a job failed in a flat attempt: run again nested */
};

static int batch_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct batch *b = arg;
    for (struct job *j = b->list; j; j = j->next) {
        proto_err_clear(&j->e);
        memset(&j->w, 0, sizeof j->w);
        memset(&j->sr, 0, sizeof j->sr);
        memset(&j->ast, 0, sizeof j->ast);
        j->rc = b->nested ? rl_txn_nested(t, job_fn, j, &j->e) : job_fn(t, j, &j->e);
        if (j->rc == PROTO_EMAPFULL)
            return j->rc; /* grow the map and run the whole batch again */
        if (j->rc && !b->nested) {
            b->redo = 1;
            return proto_errf(e, j->rc, "%s", j->e.msg);
        }
    }
    return 0;
}

/* Commit a batch durably: flat, or nested after a refusal. */
static int commit_batch(struct rl_store *store, struct job *list, struct proto_err *e)
{
    struct batch b = {list, 0, 0};
    int rc = rl_node_write(store, batch_fn, &b, e);
    if (rc && b.redo && list && !list->next)
        return 0; /* one job alone: its refusal undid everything; it answers its own error */
    if (rc && b.redo) {
        b.nested = 1;
        b.redo = 0;
        proto_err_clear(e);
        rc = rl_node_write(store, batch_fn, &b, e);
    }
    return rc;
}

/* Which field of the request a domain error names (its value quoted in the message). */
static const char *error_field(const struct job *j)
{
    const char *k;
    json_t *v;
    json_object_foreach(j->body, k, v)
    {
        char q[300];
        if (json_is_string(v))
            snprintf(q, sizeof q, "'%s'", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(q, sizeof q, "'%lld'", (long long)json_integer_value(v));
        else if (json_is_real(v)) {
            char r[64];
            real_text(json_real_value(v), r, sizeof r);
            snprintf(q, sizeof q, "'%s'", r);
        } else if (json_is_boolean(v))
            snprintf(q, sizeof q, "'%s'", json_is_true(v) ? "true" : "false");
        else
            continue;
        if (strstr(j->e.msg, q))
            return k;
    }
    const char *msg = j->e.msg;
    json_object_foreach(j->body, k, v)
    {
        /* "qty ..." or the CLI's option: "--name must not be empty", "--lot: '...' is longer" */
        const char *m = strncmp(msg, "--", 2) ? msg : msg + 2;
        size_t n = strlen(k);
        if (!strncmp(m, k, n) && (m[n] == ' ' || m[n] == ':'))
            return k;
    }
    return NULL;
}

static int error_status(int rc)
{
    if (rc == -ENOSPC || rc == PROTO_EMAPFULL)
        return 507;
    if (rc == PROTO_EFORMAT) /* a newer relief upgraded the directory under this one */
        return 503;
    if (rc == -EIO || rc == -ENOMEM || rc == PROTO_ECORRUPT)
        return 500;
    return 400;
}

struct signup_arg {
    const struct job *j;
    const char *ref;
    json_t *shift;
};

static int signup_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct signup_arg *a = arg;
    uint64_t o, s;
    int rc = rl_resolve_ref(t, a->j->sh.shift, &o, &s, e);
    if (!rc && !(a->shift = rl_q_shift(t, o, s, e)))
        rc = -ENOENT;
    return rc;
}

/* A sign-up's answer says where it landed: confirmed, or wait-listed behind the slots. */
static void signup_status(struct rl_store *store, const struct job *j, const char *ref, json_t *o)
{
    struct signup_arg a = {j, ref, NULL};
    struct proto_err e;
    if (rl_store_read(store, signup_fn, &a, &e))
        return;
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(a.shift, "signups"), i, x)
    {
        if (!strcmp(jstr(x, "op"), ref))
            json_object_set(o, "status", json_object_get(x, "status"));
    }
    json_decref(a.shift);
}

static void answer_job(struct rl_store *store, struct job *j, int commit_rc,
                       const struct proto_err *ce)
{
    if (j->kind == J_APPLY) {
        struct sync_apply_stats st = {j->ast.applied, j->ast.duplicate, j->ast.gap, j->ast.fork,
                                      j->ast.frozen};
        if (commit_rc)
            j->done(j->done_arg, commit_rc, &st, ce);
        else
            j->done(j->done_arg, j->rc, &st, &j->e);
        return;
    }
    if (j->kind == J_FN) {
        if (j->fn_done)
            j->fn_done(j->fn_arg, commit_rc ? commit_rc : j->rc, commit_rc ? ce : &j->e);
        return;
    }
    struct sync_http_resp resp;
    sync_http_resp_init(&resp);
    if (commit_rc) {
        send_error(&resp, error_status(commit_rc), NULL, NULL, "not written: %s",
                   ce->msg[0] ? ce->msg : proto_strerror(commit_rc));
    } else if (j->rc) {
        const char *field = error_field(j);
        int status = error_status(j->rc);
        char quoted[300];
        snprintf(quoted, sizeof quoted, "'%s'", j->target);
        if (status == 400 && j->target[0] && !field && strstr(j->e.msg, quoted) &&
            !(j->kind == J_EDIT && j->ed.add))
            status = 404; /* the record the path names */
        /* a site, item or record the write names that does not exist: not_found, even as 400 */
        send_error(&resp, status, j->rc == -ENOENT ? "not_found" : NULL, field, "%s",
                   /* the domain names the CLI's options: "--lat: ..." reads "lat: ..." here */
                   j->e.msg[0] ? j->e.msg + (strncmp(j->e.msg, "--", 2) ? 0 : 2)
                               : proto_strerror(j->rc));
    } else {
        char ref[40];
        json_t *o;
        if (j->kind == J_STOCK) {
            rl_ref_format(j->sr.origin, j->sr.seq, ref);
            o = json_pack("{s:s}", "op", ref);
            if (j->st.kind == PROTO_KIND_STOCK_DISPATCH)
                json_object_set_new(o, "transfer", json_string(ref));
            if (j->sr.has_balance)
                json_object_set_new(o, "balance", json_integer((json_int_t)j->sr.balance));
            if (j->sr.arrival) {
                json_object_set_new(o, "dispatched", json_integer((json_int_t)j->sr.dispatched));
                json_object_set_new(o, "arrived", json_integer((json_int_t)j->sr.arrived));
            }
        } else {
            rl_ref_format(j->w.origin, j->w.seq, ref);
            /* (no op: languages given as the site held them already) */
            o = j->w.origin ? json_pack("{s:s}", "op", ref) : json_pack("{s:n}", "op");
            if (j->kind == J_EDIT && j->ed.rtype == RL_R_SITE) {
                char id[17];
                snprintf(id, sizeof id, "%016llx", (unsigned long long)j->w.site);
                json_object_set_new(o, "id", json_string(id));
            } else if (j->kind == J_EDIT && j->ed.rtype == RL_R_ITEM) {
                json_object_set_new(o, "code", json_string(j->target));
            } else if (j->kind == J_EDIT) {
                json_object_set_new(o, "id", json_string(j->ed.add ? ref : j->target));
            } else if (j->kind == J_SHIFT && j->sh.kind == PROTO_KIND_SHIFT_SIGNUP) {
                signup_status(store, j, ref, o);
            }
        }
        send_json(&resp, j->created ? 201 : 200, o);
    }
    sync_http_complete(j->pend, &resp);
}

static void commit_work(uv_work_t *w)
{
    struct rl_api *a = w->data;
    proto_err_clear(&a->commit_e);
    a->commit_rc = commit_batch(a->store, a->committing, &a->commit_e);
}

static void on_check(uv_check_t *h);

static void arm_check(struct rl_api *a)
{
    if (!a->check_on && !a->closed) {
        uv_check_start(&a->check, on_check);
        a->check_on = 1;
    }
}

static void commit_start(struct rl_api *a);

/* On the loop: answer the group the pool wrote, then start the next one. */
static void commit_done(uv_work_t *w, int status)
{
    struct rl_api *a = w->data;
    struct job *list = a->committing;
    (void)status; /* the work always ran: nothing cancels it */
    a->committing = NULL;
    for (struct job *j = list, *next; j; j = next) {
        next = j->next;
        if (!a->commit_rc && !j->rc && j->kind != J_FN)
            a->writes++;
        answer_job(a->store, j, a->commit_rc, &a->commit_e);
        job_free(j);
    }
    if (a->head && a->closed)
        commit_start(a);
    else if (a->head)
        arm_check(a); /* after this turn's requests are read: they join the group */
    if (!a->head && !a->committing && a->closed && a->drained) {
        void (*drained)(void *) = a->drained;
        a->drained = NULL;
        drained(a->drained_arg);
    }
    maybe_free(a);
}

/* Hand the queue to the pool as one group (the caller checked nothing is committing). */
static void commit_start(struct rl_api *a)
{
    a->committing = a->head;
    a->head = NULL;
    a->tail = &a->head;
    a->commit_work.data = a;
    if (uv_queue_work(a->loop, &a->commit_work, commit_work, commit_done) != 0) {
        commit_work(&a->commit_work); /* cannot happen with a live loop; still, answer */
        commit_done(&a->commit_work, 0);
    }
}

void rl_api_flush(struct rl_api *a)
{
    if (a->check_on) {
        uv_check_stop(&a->check);
        a->check_on = 0;
    }
    if (a->head && !a->committing)
        commit_start(a);
    /* else commit_done starts the next group */
}

static void on_check(uv_check_t *h)
{
    rl_api_flush(h->data);
}

static void enqueue(struct rl_api *a, struct job *j)
{
    j->next = NULL;
    *a->tail = j;
    a->tail = &j->next;
    if (a->closed)
        rl_api_flush(a);
    else
        arm_check(a);
}

int rl_api_apply_later(void *ctx, const uint8_t *batch, size_t n,
                       void (*done)(void *arg, int rc, const struct sync_apply_stats *st,
                                    const struct proto_err *e),
                       void *arg)
{
    struct rl_api *a = ctx;
    if (a->closed)
        return -ESHUTDOWN;
    struct job *j = calloc(1, sizeof *j);
    if (!j || !(j->batch = malloc(n ? n : 1))) {
        free(j);
        return -ENOMEM;
    }
    memcpy(j->batch, batch, n);
    j->batch_len = n;
    j->kind = J_APPLY;
    j->done = done;
    j->done_arg = arg;
    enqueue(a, j);
    return 0;
}

static void do_write(struct rl_api *a, const struct wroute *w, const char *target,
                     const struct sync_http_req *req, struct sync_http_resp *resp)
{
    if (a->closed) {
        send_error(resp, 503, NULL, NULL, "the node is stopping: not written");
        return;
    }
    if (req->body_len > API_BODY_MAX) {
        send_error(resp, 413, NULL, NULL, "the body is larger than %u bytes", API_BODY_MAX);
        return;
    }
    json_error_t jerr;
    json_t *body = json_loadb((const char *)req->body, req->body_len,
                              JSON_REJECT_DUPLICATES, &jerr);
    if (!body) {
        send_error(resp, 400, "malformed_json", NULL, "malformed JSON at line %d, column %d: %s",
                   jerr.line, jerr.column, jerr.text);
        return;
    }
    if (!json_is_object(body)) {
        json_decref(body);
        send_error(resp, 400, "malformed_json", NULL, "the body must be a JSON object");
        return;
    }
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        json_decref(body);
        send_error(resp, 500, NULL, NULL, "out of memory");
        return;
    }
    j->body = body;
    j->created = !strcmp(req->method, "POST");
    if (build_job(j, w, target, resp)) {
        job_free(j);
        return;
    }
    if (!(j->pend = sync_http_defer(req))) {
        job_free(j);
        send_error(resp, 500, NULL, NULL, "cannot queue the write");
        return;
    }
    enqueue(a, j);
}

/* ---- the dashboard's files ---- */

static const char *mime_of(const char *path)
{
    const char *dot = strrchr(path, '.');
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
    };
    for (size_t i = 0; dot && i < sizeof types / sizeof *types; i++)
        if (!strcmp(dot, types[i].ext))
            return types[i].type;
    return "application/octet-stream";
}

static int serve_file(struct rl_api *a, const struct sync_http_req *req,
                      struct sync_http_resp *resp)
{
    const char *path = !strcmp(req->path, "/") ? "/index.html" : req->path;
    size_t i;
    for (i = 0; rl_web_files[i].path; i++)
        if (!strcmp(rl_web_files[i].path, path))
            break;
    if (!rl_web_files[i].path)
        return 0;
    if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD")) {
        resp->status = 405;
        add_header(resp, "Allow", "GET, HEAD");
        resp->content_type = "text/plain; charset=utf-8";
        proto_buf_printf(&resp->body, "method not allowed\n");
        return 1;
    }
    const char *etag = i < sizeof a->etag / sizeof *a->etag ? a->etag[i] : NULL;
    common_headers(resp);
    add_header(resp, "Content-Security-Policy", API_CSP);
    add_header(resp, "Cache-Control", "no-cache");
    if (etag)
        add_header(resp, "ETag", etag);
    resp->content_type = mime_of(path);
    if (etag && !strcmp(sync_http_header(req, "if-none-match"), etag)) {
        resp->status = 304;
        return 1;
    }
    resp->gzip_ok = 1;
    proto_buf_add(&resp->body, rl_web_files[i].data, rl_web_files[i].len);
    return 1;
}

/* ---- routing ---- */

static int split(char *path, char **seg)
{
    int n = 0;
    for (char *save = NULL, *s = strtok_r(path, "/", &save); s; s = strtok_r(NULL, "/", &save)) {
        if (n == API_MAX_SEGS)
            return -1;
        if (pct_decode(s))
            return -1;
        seg[n++] = s;
    }
    return n;
}

static void method_not_allowed(struct sync_http_resp *resp, const char *allow)
{
    add_header(resp, "Allow", allow);
    send_error(resp, 405, NULL, NULL, "this path takes %s", allow);
}

static int may_write(int role)
{
    return role == RL_ROLE_WRITE || role == ROLE_LOCAL;
}

/* Cross-site write protection: a JSON body (so a browser preflights it) from our own origin. */
/* ---- imports: POST /api/v1/import/KIND with a CSV body, run in the thread pool ---- */

struct import_job {
    uv_work_t work;
    struct rl_api *a;
    struct sync_http_pending *pend;
    struct sync_http_resp resp;
    enum rl_import_kind kind;
    char *body;
    size_t len;
    char enc[64];
    char *by; /* or NULL: the node's name */
};

static void import_work(uv_work_t *w)
{
    struct import_job *ij = w->data;
    struct rl_import_opts o = {.kind = ij->kind, .author = ij->by};
    struct rl_import_result r;
    struct proto_err e;
    FILE *f = NULL;
    int rc;
    proto_err_clear(&e);
    memset(&r, 0, sizeof r);
    if (ij->enc[0] && rl_import_encoding_ok(ij->enc) == 2) {
        FILE *m = fmemopen(ij->body, ij->len ? ij->len : 1, "rb");
        rc = m ? rl_import_utf8(m, ij->enc, &f, &e) : proto_errf(&e, -ENOMEM, "out of memory");
        if (m)
            fclose(m);
        if (!rc) {
            rc = rl_import_file(ij->a->store, f, &o, &r, &e);
            fclose(f);
        }
    } else {
        rc = rl_import_buf(ij->a->store, ij->body, ij->len, &o, &r, &e);
    }
    if (rc) {
        int status = rc == -ENOSPC || rc == PROTO_EMAPFULL ? 507 : rc == -EIO ? 500 : 400;
        send_error(&ij->resp, status, NULL, NULL, "%s%s", proto_err_text(&e),
                   r.written ? "" : " (nothing was imported)");
        return;
    }
    send_json(&ij->resp, 201,
              json_pack("{s:s, s:I, s:I, s:i, s:I}", "kind", rl_import_kind_name(ij->kind), "rows",
                        (json_int_t)r.rows, "written", (json_int_t)r.written, "transactions",
                        (int)r.transactions, "resumed", (json_int_t)r.resumed));
}

static void import_done(uv_work_t *w, int status)
{
    struct import_job *ij = w->data;
    struct rl_api *a = ij->a;
    if (status) {
        proto_buf_reset(&ij->resp.body);
        ij->resp.nheaders = 0;
        send_error(&ij->resp, 503, NULL, NULL, "the node is stopping");
    }
    sync_http_complete(ij->pend, &ij->resp);
    free(ij->body);
    free(ij->by);
    free(ij);
    a->importing = 0;
    a->reads--;
    maybe_free(a);
}

/*
 * The CSV's encoding from its Content-Type (text/csv, charset optional: UTF-8 when absent):
 * 0, or -1 with resp holding the refusal.
 */
static int import_charset(const struct sync_http_req *req, char enc[64],
                          struct sync_http_resp *resp)
{
    const char *ct = req->content_type;
    enc[0] = '\0';
    if (strncasecmp(ct, "text/csv", 8) || (ct[8] && ct[8] != ';' && ct[8] != ' ')) {
        send_error(resp, 415, NULL, NULL,
                   "an import needs Content-Type: text/csv (with charset=cp932 for Excel's "
                   "Japanese CSV)");
        return -1;
    }
    const char *cs = NULL;
    for (const char *q = ct + 8; *q && !cs; q++)
        if (!strncasecmp(q, "charset=", 8))
            cs = q;
    if (cs) {
        cs += 8;
        size_t n = strcspn(cs, "; \t");
        if (*cs == '"')
            cs++, n = strcspn(cs, "\"");
        if (n == 0 || n >= 64) {
            send_error(resp, 415, NULL, NULL, "a charset of 1 to 63 characters");
            return -1;
        }
        memcpy(enc, cs, n);
        enc[n] = '\0';
        if (!rl_import_encoding_ok(enc)) {
            send_error(resp, 415, NULL, NULL, "charset '%s' is not one this node can read", enc);
            return -1;
        }
    }
    return 0;
}

static void do_import(struct rl_api *a, const char *kind_name, const char *by,
                      const struct sync_http_req *req, struct sync_http_resp *resp)
{
    enum rl_import_kind kind;
    char enc[64];
    if (rl_import_kind_parse(kind_name, &kind)) {
        send_error(resp, 404, "no_such_path", NULL, "no import of '%s': sites, items or movements",
                   kind_name);
        return;
    }
    if (import_charset(req, enc, resp))
        return;
    if (a->closed) {
        send_error(resp, 503, NULL, NULL, "the node is stopping");
        return;
    }
    if (a->importing) {
        send_error(resp, 409, NULL, NULL, "another import is running: send this one after it");
        return;
    }
    struct import_job *ij = calloc(1, sizeof *ij);
    if (!ij || !(ij->body = malloc(req->body_len ? req->body_len : 1))) {
        free(ij);
        send_error(resp, 500, NULL, NULL, "out of memory");
        return;
    }
    memcpy(ij->body, req->body, req->body_len);
    ij->len = req->body_len;
    ij->a = a;
    ij->kind = kind;
    snprintf(ij->enc, sizeof ij->enc, "%s", enc);
    if (by && !(ij->by = strdup(by))) {
        free(ij->body);
        free(ij);
        send_error(resp, 500, NULL, NULL, "out of memory");
        return;
    }
    sync_http_resp_init(&ij->resp);
    ij->work.data = ij;
    if (!(ij->pend = sync_http_defer(req))) {
        free(ij->body);
        free(ij->by);
        free(ij);
        send_error(resp, 500, NULL, NULL, "cannot queue the import");
        return;
    }
    a->reads++;
    a->importing = 1;
    if (uv_queue_work(a->loop, &ij->work, import_work, import_done)) {
        a->reads--;
        a->importing = 0;
        sync_http_undefer(ij->pend);
        proto_buf_free(&ij->resp.body);
        free(ij->body);
        free(ij->by);
        free(ij);
        send_error(resp, 500, NULL, NULL, "cannot queue the import");
    }
}

static int cross_site_guard(const struct sync_http_req *req, struct sync_http_resp *resp);

static int write_guard(const struct sync_http_req *req, struct sync_http_resp *resp)
{
    const char *ct = req->content_type;
    if (strncasecmp(ct, "application/json", 16) || (ct[16] && ct[16] != ';' && ct[16] != ' ')) {
        send_error(resp, 415, NULL, NULL, "a write needs Content-Type: application/json");
        return -1;
    }
    return cross_site_guard(req, resp);
}

/* A write another site's page sent: refused (403). */
static int cross_site_guard(const struct sync_http_req *req, struct sync_http_resp *resp)
{
    const char *origin = sync_http_header(req, "origin");
    if (*origin) {
        const char *o = origin;
        if (!strncmp(o, "http://", 7))
            o += 7;
        else if (!strncmp(o, "https://", 8))
            o += 8;
        else
            o = NULL;
        if (!o || strcasecmp(o, req->host)) {
            send_error(resp, 403, NULL, NULL, "cross-site request refused (Origin %s)", origin);
            return -1;
        }
    }
    if (!strcmp(sync_http_header(req, "sec-fetch-site"), "cross-site")) {
        send_error(resp, 403, NULL, NULL, "cross-site request refused");
        return -1;
    }
    return 0;
}

static void route(struct rl_api *a, const struct sync_http_req *req, struct sync_http_resp *resp)
{
    char path[512];
    char *seg[API_MAX_SEGS];
    if (strlen(req->path) >= sizeof path) {
        send_error(resp, 404, "no_such_path", NULL, "no such path");
        return;
    }
    strcpy(path, req->path + 7); /* after "/api/v1" */
    int n = split(path, seg);
    if (n <= 0) {
        send_error(resp, 404, "no_such_path", NULL, "no such path: see relief/API.md");
        return;
    }
    int get = !strcmp(req->method, "GET") || !strcmp(req->method, "HEAD");
    int post = !strcmp(req->method, "POST"), patch = !strcmp(req->method, "PATCH");

    const char *why = NULL;
    int role = request_role(a, req, &why);
    if (role == RL_ROLE_NONE) {
        add_header(resp, "WWW-Authenticate", "Bearer realm=\"relief\"");
        send_error(resp, 401, NULL, NULL, "%s", why);
        return;
    }
    if (role == RL_ROLE_SYNC) {
        send_error(resp, 403, NULL, NULL, "a sync token may only sync (/sync/v1)");
        return;
    }

    /* reads */
    enum read_what what = R_STATUS;
    const char *id = NULL;
    const char *const *allowed = P_NONE;
    int readable = 1, donor_ok = 0;
    const char *r0 = seg[0];
    if (n == 1 && !strcmp(r0, "status"))
        what = R_STATUS, donor_ok = 1;
    else if (n == 1 && !strcmp(r0, "sites"))
        what = R_SITES, allowed = P_SITES;
    else if (n == 2 && !strcmp(r0, "sites"))
        what = R_SITE, id = seg[1];
    else if (n == 1 && !strcmp(r0, "items"))
        what = R_ITEMS, allowed = P_ITEMS, donor_ok = 1;
    else if (n == 1 && !strcmp(r0, "stock"))
        what = R_STOCK, allowed = P_SITE_ITEM;
    else if (n == 2 && !strcmp(r0, "stock") && !strcmp(seg[1], "totals"))
        what = R_TOTALS, allowed = P_ITEM, donor_ok = 1;
    else if (n == 1 && !strcmp(r0, "movements"))
        what = R_MOVEMENTS, allowed = P_MOVEMENTS;
    else if (n == 1 && !strcmp(r0, "needs"))
        what = R_NEEDS, allowed = P_NEEDS;
    else if (n == 1 && !strcmp(r0, "shifts"))
        what = R_SHIFTS, allowed = P_SHIFTS;
    else if (n == 2 && !strcmp(r0, "shifts"))
        what = R_SHIFT, id = seg[1];
    else if (n == 1 && !strcmp(r0, "donations"))
        what = R_DONATIONS, allowed = P_SITE, donor_ok = 1;
    else if (n == 3 && !strcmp(r0, "donations") && !strcmp(seg[2], "trace"))
        what = R_TRACE, id = seg[1], donor_ok = 1;
    else if (n == 1 && !strcmp(r0, "alerts"))
        what = R_ALERTS;
    else if (n == 1 && !strcmp(r0, "conflicts"))
        what = R_CONFLICTS;
    else if (n == 1 && !strcmp(r0, "peers"))
        what = R_PEERS;
    else if (n == 2 && !strcmp(r0, "reports"))
        what = R_REPORT, id = seg[1], allowed = P_FORMAT;
    else
        readable = 0;

    /* writes */
    struct wroute w = {0};
    int writable = 1, w_post = 0, w_patch = 0;
    const char *target = NULL;
    static const struct {
        const char *name;
        enum rl_rtype t;
    } recs[] = {{"sites", RL_R_SITE},   {"items", RL_R_ITEM},        {"needs", RL_R_NEED},
                {"shifts", RL_R_SHIFT}, {"donations", RL_R_DONATION}};
    size_t ri;
    for (ri = 0; ri < sizeof recs / sizeof *recs; ri++)
        if (!strcmp(r0, recs[ri].name))
            break;
    if (ri < sizeof recs / sizeof *recs && n == 1)
        w = (struct wroute){W_ADD, recs[ri].t, 0}, w_post = 1;
    else if (ri < sizeof recs / sizeof *recs && n == 2)
        w = (struct wroute){W_SET, recs[ri].t, 0}, w_patch = 1, target = seg[1];
    else if (n == 3 && !strcmp(r0, "shifts") &&
             (!strcmp(seg[2], "signup") || !strcmp(seg[2], "cancel") || !strcmp(seg[2], "served")))
        w = (struct wroute){W_SHIFT_ACT, RL_R_SHIFT,
                            !strcmp(seg[2], "signup")   ? PROTO_KIND_SHIFT_SIGNUP
                            : !strcmp(seg[2], "cancel") ? PROTO_KIND_SHIFT_CANCEL
                                                        : PROTO_KIND_SHIFT_SERVED},
        w_post = 1, target = seg[1];
    else if (n == 2 && !strcmp(r0, "stock")) {
        size_t k;
        for (k = 0; rl_stock_ops[k].name; k++)
            if (!strcmp(seg[1], rl_stock_ops[k].name))
                break;
        if (rl_stock_ops[k].name)
            w = (struct wroute){W_STOCK, 0, rl_stock_ops[k].kind}, w_post = 1;
        else
            writable = 0;
    } else
        writable = 0;
    if (readable && what == R_TOTALS)
        writable = 0;
    if (n == 2 && !strcmp(r0, "import")) {
        if (!post) {
            method_not_allowed(resp, "POST");
            return;
        }
        if (!may_write(role)) {
            send_error(resp, 403, NULL, NULL, "a %s token may not write", role_label(role));
            return;
        }
        struct params p;
        char qwhy[128];
        static const char *const P_BY[] = {"by", NULL};
        const char *bad;
        if (parse_params(req->query, &p, qwhy, sizeof qwhy)) {
            send_error(resp, 400, NULL, NULL, "%s", qwhy);
            return;
        }
        if ((bad = unknown_param(&p, P_BY, 0)) || (bad = twice_param(&p))) {
            send_error(resp, 400, "unknown_parameter", bad, "query parameter '%s': only by", bad);
            return;
        }
        if (cross_site_guard(req, resp))
            return;
        do_import(a, seg[1], param(&p, "by"), req, resp);
        return;
    }

    if (!readable && !writable) {
        send_error(resp, 404, "no_such_path", NULL, "no such path: %s (see relief/API.md)",
                   req->path);
        return;
    }
    if (get && readable) {
        if (role == RL_ROLE_DONOR && !donor_ok) {
            send_error(resp, 403, NULL, NULL,
                       "a donor token may read donations, their traces, items "
                       "and stock totals only");
            return;
        }
        read_maybe_pooled(a, what, id, req, allowed, role, resp);
        return;
    }
    if (writable && ((post && w_post) || (patch && w_patch))) {
        if (!may_write(role)) {
            send_error(resp, 403, NULL, NULL, "a %s token may not write", role_label(role));
            return;
        }
        if (write_guard(req, resp))
            return;
        do_write(a, &w, target, req, resp);
        return;
    }
    /* static strings: the server reads the headers after this returns */
    const char *allow = readable && writable ? (w_post ? "GET, HEAD, POST" : "GET, HEAD, PATCH")
                        : readable           ? "GET, HEAD"
                        : w_post             ? "POST"
                                             : "PATCH";
    method_not_allowed(resp, allow);
}

int rl_api_early(struct rl_api *a, const struct sync_http_req *req, struct sync_http_resp *resp)
{
    if (strncmp(req->path, "/api/v1/", 8))
        return 0;
    const char *why = NULL;
    int role = request_role(a, req, &why);
    if (role == RL_ROLE_NONE) {
        add_header(resp, "WWW-Authenticate", "Bearer realm=\"relief\"");
        send_error(resp, 401, NULL, NULL, "%s", why);
        return 1;
    }
    if (role == RL_ROLE_SYNC) {
        send_error(resp, 403, NULL, NULL, "a sync token may only sync (/sync/v1)");
        return 1;
    }
    return 0;
}

int rl_api_handle(struct rl_api *a, const struct sync_http_req *req, struct sync_http_resp *resp)
{
    if (!strncmp(req->path, "/api/", 5)) {
        if (strncmp(req->path, "/api/v1/", 8))
            send_error(resp, 404, "no_such_path", NULL,
                       "no such API version: this node speaks /api/v1");
        else
            route(a, req, resp);
        return 1;
    }
    return serve_file(a, req, resp);
}

/* ---- life ---- */

int rl_api_new(uv_loop_t *loop, struct rl_store *store, const struct rl_api_opts *o,
               struct rl_api **out, struct proto_err *e)
{
    struct rl_api *a = calloc(1, sizeof *a);
    if (!a)
        return proto_errf(e, -ENOMEM, "out of memory");
    a->loop = loop;
    a->store = store;
    a->o = *o;
    a->tail = &a->head;
    pthread_mutex_init(&a->lists_lock, NULL);
    uv_check_init(loop, &a->check);
    a->check.data = a;
    for (size_t i = 0; rl_web_files[i].path && i < sizeof a->etag / sizeof *a->etag; i++) {
        uint8_t h[8];
        char hex[17];
        crypto_generichash(h, sizeof h, rl_web_files[i].data, rl_web_files[i].len, NULL, 0);
        rl_hex(h, sizeof h, hex);
        snprintf(a->etag[i], sizeof a->etag[i], "\"%s\"", hex);
    }
    *out = a;
    return 0;
}

uint64_t rl_api_writes(const struct rl_api *a)
{
    return a->writes;
}

static void api_closed(uv_handle_t *h)
{
    struct rl_api *a = h->data;
    a->check_closed = 1;
    maybe_free(a);
}

int rl_api_write_later(struct rl_api *a, rl_txn_fn fn, void *arg,
                       void (*done)(void *arg, int rc, const struct proto_err *e))
{
    if (!a || a->closed)
        return -ESHUTDOWN;
    struct job *j = calloc(1, sizeof *j);
    if (!j)
        return -ENOMEM;
    j->kind = J_FN;
    j->fn = fn;
    j->fn_arg = arg;
    j->fn_done = done;
    enqueue(a, j);
    return 0;
}

void rl_api_close(struct rl_api *a, void (*drained)(void *arg), void *arg)
{
    if (!a || a->closed) {
        if (drained)
            drained(arg);
        return;
    }
    a->closed = 1;
    a->drained = drained;
    a->drained_arg = arg;
    rl_api_flush(a);
    uv_close((uv_handle_t *)&a->check, api_closed);
    if (!a->committing && a->drained) {
        a->drained = NULL;
        drained(arg);
    }
}
