/*
 * Option parsing, error printing and node opening shared by the subcommands (see cli.h).
 */
#include "cli.h"
#include "views.h"
#include "domain.h"
#include "report.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void cli_usage(FILE *f, const char *const *usage)
{
    for (int i = 0; usage[i]; i++)
        fprintf(f, "%s %s\n", i == 0 ? "usage:" : "   or:", usage[i]);
}

const char *cli_subcommand(int argc, char **argv, const char *const *usage, int *rc)
{
    if (argc < 2) {
        cli_usage(stderr, usage);
        *rc = RL_EXIT_USAGE;
        return NULL;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        cli_usage(stdout, usage);
        *rc = RL_EXIT_OK;
        return NULL;
    }
    return argv[1];
}

int cli_usage_error(const char *const *usage, const char *fmt, ...)
{
    va_list ap;
    fputs("relief: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (usage)
        cli_usage(stderr, usage);
    return RL_EXIT_USAGE;
}

int cli_bad_value(const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fputs("relief: ", stderr);
    cli_put_safe(stderr, msg);
    fputc('\n', stderr);
    return RL_EXIT_FAIL;
}

int cli_parse(int argc, char **argv, const struct cli_opt *opts, const char *const *usage)
{
    int npos = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            argv[1 + npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_usage(stdout, usage);
            exit(RL_EXIT_OK);
        }
        if (a[1] != '-')
            exit(cli_usage_error(usage, "unknown option '%s'", a));
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const struct cli_opt *o = NULL;
        for (int j = 0; opts && opts[j].name; j++)
            if (strlen(opts[j].name) == nl && strncmp(opts[j].name, name, nl) == 0)
                o = &opts[j];
        if (!o)
            exit(cli_usage_error(usage, "unknown option '--%.*s'", (int)nl, name));
        if (!o->has_arg) {
            if (eq)
                exit(cli_usage_error(usage, "option '--%s' takes no value", o->name));
            *o->value = "1";
        } else if (eq) {
            *o->value = eq + 1;
        } else if (i + 1 < argc) {
            *o->value = argv[++i];
        } else {
            exit(cli_usage_error(usage, "option '--%s' needs a value", o->name));
        }
    }
    argv[1 + npos] = NULL;
    return npos;
}

int cli_fail(const struct proto_err *e)
{
    if (!e->code && !e->msg[0]) {
        /* a failure that lost its reason on the way up: a bug, but never "success" */
        fputs("relief: failed for a reason that was not recorded (a bug: please report it)\n",
              stderr);
        return RL_EXIT_FAIL;
    }
    /* (a message may quote stored text) */
    fputs("relief: ", stderr);
    cli_put_safe(stderr, proto_err_text(e));
    fputc('\n', stderr);
    return e->code == PROTO_EUSAGE ? RL_EXIT_USAGE : RL_EXIT_FAIL;
}

int cli_open(struct cli *c)
{
    struct proto_err e;
    if (c->open)
        return 0;
    proto_err_clear(&e);
    if (rl_store_open(&c->store, c->data_dir, NULL, &e))
        return cli_fail(&e);
    if (c->store.format < RL_FORMAT_VERSION) {
        uint64_t n;
        /* an older relief still running (a serve across a package upgrade) would go on
         * writing the old layout into the new one: it must stop first */
        long other = rl_store_other_process(&c->store);
        if (other) {
            unsigned fmt = c->store.format;
            rl_store_close(&c->store);
            fprintf(stderr,
                    "relief: '%s' is in data format %u and this relief upgrades it to %u, but "
                    "another program (pid %ld, an older relief serve?) has it open: stop it and "
                    "run the command again\n",
                    c->data_dir, fmt, RL_FORMAT_VERSION, other);
            return RL_EXIT_FAIL;
        }
        fprintf(stderr, "relief: upgrading '%s' from data format %u to %u%s...\n", c->data_dir,
                c->store.format, RL_FORMAT_VERSION,
                c->store.format < 2 ? ": rebuilding the views from the op log" : "");
        if (rl_views_upgrade(&c->store, &n, &e)) {
            rl_store_close(&c->store);
            return cli_fail(&e);
        }
        if (n)
            fprintf(stderr, "relief: upgraded (%llu ops)\n", (unsigned long long)n);
        else
            fprintf(stderr, "relief: another relief upgraded it meanwhile\n");
    }
    c->open = 1;
    return 0;
}

int cli_read(struct cli *c, rl_txn_fn fn, void *arg)
{
    struct proto_err e;
    int rc;
    if ((rc = cli_open(c)))
        return rc;
    proto_err_clear(&e);
    if (rl_store_read(&c->store, fn, arg, &e))
        return cli_fail(&e);
    return 0;
}

void cli_json_print(json_t *v)
{
    char *s =
        json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII * 0 | RL_JSON_REALS);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(v);
}

void cli_id(uint64_t id, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)id);
}

void cli_size(uint64_t b, char *out, size_t n)
{
    if (b < 1024)
        snprintf(out, n, "%llu B", (unsigned long long)b);
    else if (b < 1024 * 1024)
        snprintf(out, n, "%.1f KiB", (double)b / 1024);
    else if (b < 1024ull * 1024 * 1024)
        snprintf(out, n, "%.1f MiB", (double)b / (1024 * 1024));
    else
        snprintf(out, n, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
}

/* East Asian wide and fullwidth ranges: two columns in a terminal. */
static int wide(uint32_t cp)
{
    return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0x303e) ||
           (cp >= 0x3041 && cp <= 0x33ff) || (cp >= 0x3400 && cp <= 0x4dbf) ||
           (cp >= 0x4e00 && cp <= 0x9fff) || (cp >= 0xa000 && cp <= 0xa4cf) ||
           (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
           (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
           (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1f64f) ||
           (cp >= 0x20000 && cp <= 0x3fffd);
}

size_t cli_width(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t w = 0;
    while (*s) {
        uint32_t cp;
        int len;
        while (*s >= 0x20 && *s < 0x7f) { /* printable ASCII: one column each */
            s++;
            w++;
        }
        if (!*s)
            break;
        if (*s < 0x80) {
            cp = *s;
            len = 1;
        } else if ((*s & 0xe0) == 0xc0) {
            cp = *s & 0x1f;
            len = 2;
        } else if ((*s & 0xf0) == 0xe0) {
            cp = *s & 0x0f;
            len = 3;
        } else {
            cp = *s & 0x07;
            len = 4;
        }
        for (int i = 1; i < len; i++) {
            if ((s[i] & 0xc0) != 0x80) {
                len = i;
                break;
            }
            cp = cp << 6 | (s[i] & 0x3f);
        }
        s += len;
        if ((cp >= 0x300 && cp <= 0x36f) || cp == 0x200b || (cp >= 0xfe00 && cp <= 0xfe0f))
            continue; /* combining marks, zero width */
        w += wide(cp) ? 2 : 1;
    }
    return w;
}

void cli_table_init(struct cli_table *t, int ncols, const char *const *head, const int *right)
{
    memset(t, 0, sizeof *t);
    t->ncols = ncols;
    t->no_head = head == NULL;
    for (int i = 0; i < ncols; i++) {
        t->head[i] = head ? head[i] : "";
        t->right[i] = right ? right[i] : 0;
    }
}

void cli_table_row(struct cli_table *t, const char *const *cells)
{
    size_t need = 0, nc = (size_t)t->ncols;
    if (t->oom)
        return;
    for (size_t i = 0; i < nc; i++)
        need += strlen(cells[i] ? cells[i] : "") + 1;
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        size_t *at = realloc(t->at, cap * nc * sizeof *at);
        if (at)
            t->at = at;
        size_t *w = at ? realloc(t->width, cap * nc * sizeof *w) : NULL;
        if (!w) {
            t->oom = 1;
            return;
        }
        t->width = w;
        t->cap = cap;
    }
    if (t->len + need > t->text_cap) {
        size_t cap = t->text_cap ? t->text_cap : 4096;
        while (cap < t->len + need)
            cap *= 2;
        char *p = realloc(t->text, cap);
        if (!p) {
            t->oom = 1;
            return;
        }
        t->text = p;
        t->text_cap = cap;
    }
    for (size_t i = 0; i < nc; i++) {
        const char *c = cells[i] ? cells[i] : "";
        size_t n = strlen(c) + 1, k = t->nrows * nc + i;
        memcpy(t->text + t->len, c, n);
        t->at[k] = t->len;
        t->width[k] = cli_width(c);
        t->len += n;
    }
    t->nrows++;
}

/* A line of the table being printed. */
struct line {
    char *p;
    size_t n, cap;
};

static int line_room(struct line *l, size_t n)
{
    if (l->n + n <= l->cap)
        return 1;
    size_t cap = l->cap ? l->cap * 2 : 256;
    while (cap < l->n + n)
        cap *= 2;
    char *p = realloc(l->p, cap);
    if (!p)
        return 0;
    l->p = p;
    l->cap = cap;
    return 1;
}

static void pad(struct line *l, size_t n)
{
    if (n && line_room(l, n)) { /* (nothing to pad: the line may have no buffer yet) */
        memset(l->p + l->n, ' ', n);
        l->n += n;
    }
}

/* Control characters from the data are shown as '?', so a name cannot move the cursor. */
static char safe_char(char ch)
{
    unsigned char u = (unsigned char)ch;
    return u < 0x20 || u == 0x7f ? '?' : ch;
}

/*
 * The bytes of a character at s that a terminal acts on or that rearranges what is shown, or 0:
 * a C1 control (U+0080..U+009F, CSI among them), a line or paragraph separator (U+2028,
 * U+2029: a second line), a bidirectional mark, embedding, override or isolate (U+061C,
 * U+200E, U+200F, U+202A..U+202E, U+2066..U+2069: a name shown backwards, or text after it
 * moved). Each is shown as one '?' (cli_width counts it as one column).
 */
static size_t c1_at(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    if (s[0] == 0xc2 && s[1] >= 0x80 && s[1] <= 0x9f)
        return 2;
    if (s[0] == 0xd8 && s[1] == 0x9c)
        return 2;
    if (s[0] == 0xe2 && s[1] == 0x80 &&
        (s[2] == 0x8e || s[2] == 0x8f || s[2] == 0xa8 || s[2] == 0xa9 ||
         (s[2] >= 0xaa && s[2] <= 0xae)))
        return 3;
    if (s[0] == 0xe2 && s[1] == 0x81 && s[2] >= 0xa6 && s[2] <= 0xa9)
        return 3;
    return 0;
}

static void put_safe(struct line *l, const char *s)
{
    size_t n = strlen(s);
    if (!line_room(l, n))
        return;
    for (size_t i = 0; i < n; i++) {
        size_t k = c1_at(s + i);
        if (k) {
            l->p[l->n++] = '?';
            i += k - 1;
            continue;
        }
        l->p[l->n++] = safe_char(s[i]);
    }
}

void cli_put_safe(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        size_t k = c1_at(s);
        if (k) {
            putc('?', f);
            s += k - 1;
            continue;
        }
        putc(safe_char(*s), f);
    }
}

void cli_put_padded(FILE *f, const char *s, size_t cols)
{
    size_t w = s ? cli_width(s) : 0;
    cli_put_safe(f, s);
    for (; w < cols; w++)
        putc(' ', f);
}

void cli_table_print(struct cli_table *t)
{
    size_t w[16], nc = (size_t)t->ncols, n = t->nrows * nc;
    struct line l = {0};
    for (size_t c = 0; c < nc; c++)
        w[c] = cli_width(t->head[c]);
    for (size_t i = 0; i < n; i++)
        if (t->width[i] > w[i % nc])
            w[i % nc] = t->width[i];
    for (size_t r = t->no_head ? 1 : 0; r <= t->nrows; r++) {
        l.n = 0;
        for (size_t c = 0; c < nc; c++) {
            size_t i = (r - 1) * nc + c;
            const char *s = r == 0 ? t->head[c] : t->text + t->at[i];
            size_t x = r == 0 ? cli_width(s) : t->width[i];
            int last = c == nc - 1;
            if (t->right[c])
                pad(&l, w[c] - x);
            put_safe(&l, s);
            if (!t->right[c] && !last)
                pad(&l, w[c] - x);
            if (!last)
                pad(&l, 2);
        }
        if (line_room(&l, 1))
            l.p[l.n++] = '\n';
        fwrite(l.p, 1, l.n, stdout);
    }
    free(l.p);
    if (t->oom)
        fputs("relief: out of memory: rows are missing from this table\n", stderr);
}

void cli_table_free(struct cli_table *t)
{
    free(t->text);
    free(t->at);
    free(t->width);
    memset(t, 0, sizeof *t);
}

/* Parse the field options of a record edit into ed; returns the positional count. */
int cli_parse_fields(int argc, char **argv, const struct rl_fieldopt *fields,
                        const char *const *usage, struct rl_edit *ed)
{
    struct cli_opt opts[40];
    const char *vals[40] = {0};
    int n = 0;
    for (const struct rl_fieldopt *f = fields; f->name && n < 39; f++, n++) {
        opts[n].name = f->name;
        opts[n].has_arg = 1;
        opts[n].value = &vals[n];
    }
    opts[n].name = NULL;
    int npos = cli_parse(argc, argv, opts, usage);
    ed->nfields = 0;
    for (int i = 0; i < n; i++) {
        if (!vals[i])
            continue;
        ed->fields[ed->nfields].f = &fields[i];
        ed->fields[ed->nfields].value = vals[i];
        ed->nfields++;
    }
    return npos;
}

int cli_has_field(const struct rl_edit *ed, const char *name)
{
    for (int i = 0; i < ed->nfields; i++)
        if (!strcmp(ed->fields[i].f->name, name))
            return 1;
    return 0;
}

int cli_write_edit(struct cli *c, struct rl_edit *ed, const char *what)
{
    struct proto_err e;
    struct rl_written w;
    char ref[40];
    int rc;
    ed->author = c->by;
    if ((rc = cli_open(c)))
        return rc;
    proto_err_clear(&e);
    if (rl_edit_apply(&c->store, ed, &w, &e))
        return cli_fail(&e);
    rl_ref_format(w.origin, w.seq, ref);
    if (ed->rtype == RL_R_SITE) {
        char id[17];
        cli_id(w.site, id);
        if (c->json)
            cli_json_print(json_pack("{s:s, s:s}", "id", id, "op", ref));
        else
            printf("%s\n", id);
        if (!c->json)
            fprintf(stderr, "site %s %s\n", id, ed->add ? "added" : "changed");
    } else if (ed->rtype == RL_R_ITEM) {
        if (c->json)
            cli_json_print(json_pack("{s:s, s:s}", "code", ed->target, "op", ref));
        else
            fprintf(stderr, "item %s %s\n", ed->target, ed->add ? "added" : "changed");
    } else {
        /* needs, shifts and donations are named by the op that made them */
        const char *id = ed->add ? ref : ed->target;
        if (c->json)
            cli_json_print(json_pack("{s:s, s:s}", "id", id, "op", ref));
        else if (ed->add)
            printf("%s\n", id);
        else
            fprintf(stderr, "%s %s changed\n", what, id);
    }
    return RL_EXIT_OK;
}


void cli_jfmt(json_t *o, const char *k, char *out, size_t n)
{
    rl_json_text(json_object_get(o, k), out, n);
}

const char *cli_local_time(const char *iso, char *out, size_t n, int secs)
{
    char b[24];
    size_t l = iso ? strlen(iso) : 0;
    uint64_t t;
    struct proto_err e;
    struct tm tm;
    /* 2026-11-29T20:25:00Z, maybe with a fraction of a second before the Z */
    if (l >= 20 && l < 32 && iso[l - 1] == 'Z' && iso[10] == 'T' &&
        (iso[19] == 'Z' || iso[19] == '.')) {
        memcpy(b, iso, 19);
        b[19] = 'Z';
        b[20] = '\0';
        time_t tt;
        if (rl_parse_time(b, &t, &e) == 0 && (tt = (time_t)t, localtime_r(&tt, &tm)) &&
            strftime(out, n, secs ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%dT%H:%M", &tm))
            return out;
    }
    snprintf(out, n, "%s", iso ? iso : "");
    return out;
}

static const struct cli_table *sort_t;
static int sort_c1, sort_c2;

static int row_cmp(const void *a, const void *b)
{
    size_t ra = *(const size_t *)a, rb = *(const size_t *)b, nc = (size_t)sort_t->ncols;
    const char *t = sort_t->text;
    int c = strcmp(t + sort_t->at[ra * nc + (size_t)sort_c1],
                   t + sort_t->at[rb * nc + (size_t)sort_c1]);
    if (!c && sort_c2 >= 0)
        c = strcmp(t + sort_t->at[ra * nc + (size_t)sort_c2],
                   t + sort_t->at[rb * nc + (size_t)sort_c2]);
    return c ? c : (ra > rb) - (ra < rb); /* (stable) */
}

void cli_table_sort(struct cli_table *t, int c1, int c2)
{
    size_t n = t->nrows, nc = (size_t)t->ncols;
    size_t *order = malloc(n * sizeof *order), *at = malloc(n * nc * sizeof *at),
           *w = malloc(n * nc * sizeof *w);
    if (n > 1 && order && at && w) {
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        sort_t = t;
        sort_c1 = c1;
        sort_c2 = c2;
        qsort(order, n, sizeof *order, row_cmp);
        for (size_t i = 0; i < n; i++) {
            memcpy(at + i * nc, t->at + order[i] * nc, nc * sizeof *at);
            memcpy(w + i * nc, t->width + order[i] * nc, nc * sizeof *w);
        }
        memcpy(t->at, at, n * nc * sizeof *at);
        memcpy(t->width, w, n * nc * sizeof *w);
    }
    free(order);
    free(at);
    free(w);
}
