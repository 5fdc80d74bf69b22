/*
 * Unit tests of the CSV reader (relief/csv.h) -- every accepted form and every malformed one,
 * each limit at the limit and one past it, buffer and FILE input alike -- and of the import
 * library on a real store: all or nothing, errors naming line and column, chunked writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "relief/csv.h"
#include "relief/domain.h"
#include "relief/import.h"
#include "relief/query.h"
#include "testlib.h"

#include <errno.h>

/* Read all of s (as a buffer, or through a FILE when file is set) into "a|b;c|d;" form. */
#define NOT_UTF8_HINT                                                                              \
    " (save the file as UTF-8, or name its encoding: Excel's Japanese CSV is cp932, --encoding "   \
    "cp932 on the command line, charset=cp932 in the API)"

static int read_all(const char *s, size_t n, int file, char *out, size_t outn, struct proto_err *e)
{
    struct rl_csv c;
    FILE *f = NULL;
    int rc;
    if (file) {
        f = tmpfile();
        assert_non_null(f);
        assert_int_equal(fwrite(s, 1, n, f), n);
        rewind(f);
        rl_csv_open_file(&c, f);
    } else {
        rl_csv_open_buf(&c, s, n);
    }
    proto_err_clear(e);
    out[0] = '\0';
    while ((rc = rl_csv_next(&c, e)) == 1) {
        for (uint32_t i = 0; i < rl_csv_nfields(&c); i++)
            snprintf(out + strlen(out), outn - strlen(out), "%s%s", i ? "|" : "",
                     rl_csv_field(&c, i));
        snprintf(out + strlen(out), outn - strlen(out), ";");
    }
    rl_csv_close(&c);
    if (f)
        fclose(f);
    return rc;
}

/* Both inputs give the same rows (or the same error). */
static int parse(const char *s, char *out, size_t outn, struct proto_err *e)
{
    char out2[1024];
    struct proto_err e2;
    size_t n = strlen(s);
    int rc = read_all(s, n, 0, out, outn, e);
    int rc2 = read_all(s, n, 1, out2, sizeof out2, &e2);
    assert_int_equal(rc, rc2);
    if (rc == 0)
        assert_string_equal(out, out2);
    else
        assert_string_equal(e->msg, e2.msg);
    return rc;
}

static void ok(const char *in, const char *want)
{
    char out[1024];
    struct proto_err e;
    if (parse(in, out, sizeof out, &e))
        fail_msg("'%s': %s", in, e.msg);
    assert_string_equal(out, want);
}

static void bad(const char *in, int code, const char *msg)
{
    char out[1024];
    struct proto_err e;
    int rc = parse(in, out, sizeof out, &e);
    assert_int_equal(rc, code);
    assert_string_equal(e.msg, msg);
}

static void test_csv_accepts_rfc4180(void **state)
{
    (void)state;
    ok("a,b\n1,2\n", "a|b;1|2;");
    ok("a,b\r\n1,2\r\n", "a|b;1|2;");                      /* CRLF */
    ok("a,b\r1,2\r", "a|b;1|2;");                          /* a lone CR */
    ok("a,b\n1,2", "a|b;1|2;");                            /* no line end at the end */
    ok("\xEF\xBB\xBFname,kind\n", "name|kind;");           /* the BOM is skipped */
    ok("a,,c,\n", "a||c|;");                               /* empty fields */
    ok("\"a,b\",\"say \"\"hi\"\"\"\n", "a,b|say \"hi\";"); /* quotes */
    ok("\"\"\n", ";");                                     /* one empty quoted field */
    ok("\"two\nlines\",x\n", "two\nlines|x;");
    ok("\"crlf\r\ninside\"\r\n", "crlf\r\ninside;");
    ok("\n\r\na\n\n\nb\n\n", "a;b;"); /* lines with nothing on them */
    ok("石巻市,渡波小学校\n", "石巻市|渡波小学校;");
    ok("", "");
}

static void test_csv_line_and_column_of_fields(void **state)
{
    (void)state;
    const char *s = "h1,h2\n\"multi\nline\",x\n\ny,\"z\"\r\n";
    struct rl_csv c;
    struct proto_err e;
    struct rl_csv_pos pos;
    rl_csv_open_buf(&c, s, strlen(s));
    assert_int_equal(rl_csv_next(&c, &e), 1);
    assert_int_equal(rl_csv_field_line(&c, 0), 1);
    rl_csv_tell(&c, &pos);
    assert_int_equal(rl_csv_next(&c, &e), 1);
    assert_int_equal(rl_csv_field_line(&c, 0), 2);
    assert_int_equal(rl_csv_field_line(&c, 1), 3); /* after the line break inside quotes */
    assert_int_equal(rl_csv_next(&c, &e), 1);
    assert_int_equal(rl_csv_field_line(&c, 0), 5);
    assert_string_equal(rl_csv_field(&c, 1), "z");
    assert_int_equal(rl_csv_field_len(&c, 1), 1);
    assert_int_equal(rl_csv_next(&c, &e), 0);
    /* read again from the second row */
    assert_int_equal(rl_csv_seek(&c, &pos), 0);
    assert_int_equal(rl_csv_next(&c, &e), 1);
    assert_string_equal(rl_csv_field(&c, 0), "multi\nline");
    assert_int_equal(rl_csv_field_line(&c, 0), 2);
    rl_csv_close(&c);
}

static void test_csv_refuses_malformed(void **state)
{
    (void)state;
    bad("a,b\n1,\"open\n2,3\n", -EINVAL,
        "line 2, column 2: the quote that opens this field is never closed");
    bad("a,b\n1,x\"y\n", -EINVAL,
        "line 2, column 2: a quote inside an unquoted field (quote the whole field and write "
        "the quote twice: \"\")");
    bad("a,b\n\"x\"y,1\n", -EINVAL,
        "line 2, column 1: text after the closing quote (a quote inside a quoted field is "
        "written twice: \"\")");
    bad("a, \"b\"\n", -EINVAL,
        "line 1, column 2: a quote inside an unquoted field (quote the whole field and write "
        "the quote twice: \"\")");
    bad("\xFF\xFEn\0a\0", -EILSEQ, "line 1, column 1: the file is UTF-16: save it as UTF-8");
}

static void test_csv_refuses_invalid_utf8(void **state)
{
    (void)state;
    static const char *const forms[] = {
        "a,\xC3\n",             /* truncated */
        "a,\xC0\x80\n",         /* overlong NUL */
        "a,\xE0\x80\xAF\n",     /* overlong '/' */
        "a,\xED\xA0\x80\n",     /* a surrogate */
        "a,\xF4\x90\x80\x80\n", /* past U+10FFFF */
        "a,\x80\n",             /* a continuation byte alone */
        "a,\xFE\n",
        "a,caf\xE9\n", /* Latin-1 */
    };
    for (size_t i = 0; i < sizeof forms / sizeof *forms; i++)
        bad(forms[i], -EILSEQ, "line 1, column 2: not valid UTF-8" NOT_UTF8_HINT);
    /* a NUL byte would cut the value short */
    char out[256];
    struct proto_err e;
    assert_int_equal(read_all("a,b\0c\n", 6, 0, out, sizeof out, &e), -EILSEQ);
    assert_string_equal(e.msg, "line 1, column 2: a NUL byte in the field");
    assert_int_equal(rl_utf8_valid("\xF0\x9F\x8D\x99", 4), 1); /* 4 bytes: U+1F359 */
}

/* Messages that quote input are made valid UTF-8 byte for byte; valid text is left alone. */
static void test_utf8_fix(void **state)
{
    (void)state;
    char a[] = "stoc\xDFk/\xE6\xB9\x8A\xF0\x9F\x8D\x99", b[] = "\xC0\x80\xED\xA0\x80 \xE6\xB9";
    rl_utf8_fix(a);
    assert_string_equal(a, "stoc?k/\xE6\xB9\x8A\xF0\x9F\x8D\x99");
    rl_utf8_fix(b); /* overlong, surrogate, and a character cut short at the end */
    assert_string_equal(b, "????? ??");
}

/* A row of n fields of len bytes each (filled with 'x'), quoted or not, and a line end. */
static char *row_of(uint32_t n, size_t len, int quoted)
{
    size_t total = n * (len + 3) + 2;
    char *s = malloc(total), *p = s;
    assert_non_null(s);
    for (uint32_t i = 0; i < n; i++) {
        if (i)
            *p++ = ',';
        if (quoted)
            *p++ = '"';
        memset(p, 'x', len);
        p += len;
        if (quoted)
            *p++ = '"';
    }
    *p++ = '\n';
    *p = '\0';
    return s;
}

static int count_rows(const char *s, struct proto_err *e, uint32_t *nfields)
{
    struct rl_csv c;
    int rc, rows = 0;
    rl_csv_open_buf(&c, s, strlen(s));
    proto_err_clear(e);
    while ((rc = rl_csv_next(&c, e)) == 1) {
        rows++;
        *nfields = rl_csv_nfields(&c);
    }
    rl_csv_close(&c);
    return rc < 0 ? rc : rows;
}

static void test_csv_limits(void **state)
{
    (void)state;
    struct proto_err e;
    uint32_t nf = 0;
    char *s;
    /* a field at the limit, and one byte past it (quoted or not) */
    for (int q = 0; q < 2; q++) {
        s = row_of(1, RL_CSV_MAX_FIELD_BYTES, q);
        assert_int_equal(count_rows(s, &e, &nf), 1);
        free(s);
        s = row_of(1, RL_CSV_MAX_FIELD_BYTES + 1, q);
        assert_int_equal(count_rows(s, &e, &nf), PROTO_ELIMIT);
        assert_non_null(strstr(e.msg, "line 1, column 1: field is longer than 65536 bytes: 'xxx"));
        free(s);
    }
    /* fields in a row */
    s = row_of(RL_CSV_MAX_FIELDS, 1, 0);
    assert_int_equal(count_rows(s, &e, &nf), 1);
    assert_int_equal(nf, RL_CSV_MAX_FIELDS);
    free(s);
    s = row_of(RL_CSV_MAX_FIELDS + 1, 1, 0);
    assert_int_equal(count_rows(s, &e, &nf), PROTO_ELIMIT);
    assert_string_equal(e.msg, "line 1, column 65: a row has more than 64 fields");
    free(s);
    /* bytes of a row: four full fields, then one more byte in a fifth */
    uint32_t k = RL_CSV_MAX_ROW_BYTES / RL_CSV_MAX_FIELD_BYTES;
    s = row_of(k, RL_CSV_MAX_FIELD_BYTES, 0);
    assert_int_equal(count_rows(s, &e, &nf), 1);
    free(s);
    s = row_of(k + 1, 1, 0);
    char *big = malloc(strlen(s) + (size_t)k * RL_CSV_MAX_FIELD_BYTES + 8);
    assert_non_null(big);
    free(s);
    s = row_of(k, RL_CSV_MAX_FIELD_BYTES, 0);
    strcpy(big, s);
    strcpy(big + strlen(s) - 1, ",y\n");
    assert_int_equal(count_rows(big, &e, &nf), PROTO_ELIMIT);
    assert_string_equal(e.msg, "line 1, column 5: row is longer than 262144 bytes (its fields "
                               "together)");
    free(s);
    free(big);
}

/* A 10 MB field through a FILE: refused at the limit, with its line and column. */
static void test_csv_huge_field_from_file(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    struct rl_csv c;
    struct proto_err e;
    assert_non_null(f);
    fputs("name,kind\nA,centre\n", f);
    for (int i = 0; i < 10 * 1024; i++)
        for (int j = 0; j < 1024; j++)
            fputc('a', f);
    fputs(",centre\n", f);
    rewind(f);
    rl_csv_open_file(&c, f);
    assert_int_equal(rl_csv_next(&c, &e), 1);
    assert_int_equal(rl_csv_next(&c, &e), 1);
    assert_int_equal(rl_csv_next(&c, &e), PROTO_ELIMIT);
    assert_int_equal(c.err_line, 3);
    assert_int_equal(c.err_col, 1);
    assert_true(c.row.cap <= RL_CSV_MAX_ROW_BYTES + RL_CSV_MAX_FIELDS + 1);
    rl_csv_close(&c);
    fclose(f);
}

/* Rows longer than the input window, read through a FILE, equal those of a buffer. */
static void test_csv_file_window(void **state)
{
    (void)state;
    size_t n = 3 * RL_CSV_READ_BYTES + 17;
    char *s = malloc(n + 1), out[1024];
    struct proto_err e;
    assert_non_null(s);
    for (size_t i = 0; i < n; i++)
        s[i] = i % 97 == 96 ? '\n' : (i % 13 == 12 ? ',' : 'a' + (char)(i % 26));
    s[n] = '\0';
    struct rl_csv a, b;
    FILE *f = tmpfile();
    assert_non_null(f);
    fwrite(s, 1, n, f);
    rewind(f);
    rl_csv_open_buf(&a, s, n);
    rl_csv_open_file(&b, f);
    int ra, rb, rows = 0;
    while ((ra = rl_csv_next(&a, &e)) == 1) {
        rb = rl_csv_next(&b, &e);
        assert_int_equal(rb, 1);
        assert_int_equal(rl_csv_nfields(&a), rl_csv_nfields(&b));
        for (uint32_t i = 0; i < rl_csv_nfields(&a); i++)
            assert_string_equal(rl_csv_field(&a, i), rl_csv_field(&b, i));
        rows++;
    }
    assert_int_equal(ra, 0);
    assert_int_equal(rl_csv_next(&b, &e), 0);
    assert_true(rows > 400);
    rl_csv_close(&a);
    rl_csv_close(&b);
    fclose(f);
    free(s);
    (void)out;
}

/* --- the import library on a real store --- */

struct node {
    char dir[256];
    struct rl_store s;
};

static void node_up(struct node *n)
{
    tl_tmpdir(n->dir, sizeof n->dir);
    tl_node(&n->s, n->dir, "import-test");
}

static void node_down(struct node *n)
{
    rl_store_close(&n->s);
    tl_rmdir(n->dir);
}

static int import(struct node *n, enum rl_import_kind k, uint32_t chunk, const char *csv,
                  struct rl_import_result *r, struct proto_err *e)
{
    struct rl_import_opts o = {k, NULL, chunk, "test.csv"};
    proto_err_clear(e);
    return rl_import_buf(&n->s, csv, strlen(csv), &o, r, e);
}

static int count_cut(void *arg, const struct rl_import_cut *c)
{
    (void)c;
    ++*(int *)arg;
    return 0;
}

static int cuts_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)e;
    *(int *)arg = 0;
    return rl_import_cuts(t, count_cut, arg);
}

static void must_import(struct node *n, enum rl_import_kind k, uint32_t chunk, const char *csv,
                        uint64_t rows, uint32_t txns)
{
    struct rl_import_result r;
    struct proto_err e;
    int cuts = -1;
    if (import(n, k, chunk, csv, &r, &e))
        fail_msg("import: %s", e.msg);
    assert_int_equal(r.rows, rows);
    assert_int_equal(r.written, rows);
    assert_int_equal(r.transactions, txns);
    assert_int_equal(r.resumed, 0);
    /* a whole import leaves nothing to resume, however many transactions it took */
    assert_int_equal(rl_store_read(&n->s, cuts_fn, &cuts, &e), 0);
    assert_int_equal(cuts, 0);
}

/* The import refuses csv with exactly msg, and the node's state did not change. */
static void must_refuse(struct node *n, enum rl_import_kind k, const char *csv, const char *msg)
{
    uint8_t before[RL_DIGEST_BYTES], after[RL_DIGEST_BYTES];
    struct rl_import_result r;
    struct proto_err e;
    tl_digest(&n->s, before);
    for (uint32_t chunk = 0; chunk < 3; chunk += 2) { /* in one transaction, and in chunks */
        int rc = import(n, k, chunk, csv, &r, &e);
        assert_true(rc < 0);
        assert_int_not_equal(rc, PROTO_EUSAGE);
        assert_int_equal(r.written, 0);
        assert_string_equal(e.msg, msg);
        tl_digest(&n->s, after);
        assert_memory_equal(before, after, RL_DIGEST_BYTES);
    }
}

struct stock_arg {
    const char *site, *item;
    int64_t bal;
};

static int stock_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct stock_arg *a = arg;
    uint64_t id;
    int rc = rl_resolve_site(t, a->site, &id, e);
    if (rc)
        return rc;
    json_t *v = rl_q_stock(t, id, a->item, e);
    if (!v)
        return -EIO;
    a->bal = json_integer_value(json_object_get(json_array_get(v, 0), "balance"));
    json_decref(v);
    return 0;
}

static int64_t balance(struct node *n, const char *site, const char *item)
{
    struct stock_arg a = {site, item, 0};
    struct proto_err e;
    if (rl_store_read(&n->s, stock_fn, &a, &e))
        fail_msg("stock: %s", e.msg);
    return a.bal;
}

static void test_import_all_kinds(void **state)
{
    (void)state;
    struct node n;
    node_up(&n);
    must_import(&n, RL_IMPORT_SITES, 0,
                "\xEF\xBB\xBFName,Kind,code,Special_Needs,languages\r\n"
                "石巻中学校,centre,ISH-1,乳児 3,\"pt,tl\"\r\n"
                "倉庫,warehouse,WH-1,,\r\n",
                2, 1);
    must_import(&n, RL_IMPORT_ITEMS, 0, "code,name,unit\nrice-5kg,米 5kg,bag\n", 1, 1);
    /* five movements in chunks of two: three transactions */
    must_import(&n, RL_IMPORT_MOVEMENTS, 2,
                "type,site,to,item,qty,lot,expiry,from,reason,note\n"
                "receive,WH-1,,rice-5kg,100,L1,2026-12-01,宮城県,,\n"
                "dispatch,WH-1,ISH-1,rice-5kg,40,,,,,\n"
                "receive,ISH-1,,rice-5kg,5,,,,,\n"
                "adjust,WH-1,,rice-5kg,-2,,,,damaged,濡れた\n"
                "distribute,ISH-1,,rice-5kg,3,,,,,\n",
                5, 3);
    assert_int_equal(balance(&n, "WH-1", "rice-5kg"), 58);
    assert_int_equal(balance(&n, "ISH-1", "rice-5kg"), 2);
    /* a header alone imports nothing, and that is not an error */
    must_import(&n, RL_IMPORT_ITEMS, 0, "code,name,unit\n", 0, 1);
    node_down(&n);
}

static void test_import_refusals(void **state)
{
    (void)state;
    struct node n;
    node_up(&n);
    must_import(&n, RL_IMPORT_SITES, 0, "name,kind,code\n倉庫,warehouse,WH-1\n", 1, 1);
    must_import(&n, RL_IMPORT_ITEMS, 0, "code,name,unit\nwater-2l,水,bottle\n", 1, 1);
    must_refuse(&n, RL_IMPORT_SITES, "",
                "line 1: the file is empty (the first row names the "
                "columns: name, kind, code, address, prefecture, "
                "municipality, lat, lon, capacity, occupancy, counted-at, "
                "status, special-needs, contact, priority, languages)");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind,capacity\nA,centre,1\nB,centre,2\nC,centre,x\n",
                "line 4, column 3 (capacity): 'x' is not a whole number 0 or more");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind,colour\n",
                "line 1, column 3: unknown column 'colour' (sites take: name, kind, code, "
                "address, prefecture, municipality, lat, lon, capacity, occupancy, counted-at, "
                "status, special-needs, contact, priority, languages)");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind,Name\n",
                "line 1, column 3: column 'Name' is named twice (also column 1)");
    must_refuse(&n, RL_IMPORT_SITES, "name,code\n",
                "line 1: the header lacks the column 'kind' (sites need: name, kind)");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind,lat\nA,centre,1\nB,centre\n",
                "line 3, column 3 (lat): the row ends after 2 fields, the header names 3");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind\nA,centre,x\n",
                "line 2, column 3: the row has 3 fields, the header names 2");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind\nA,\"centre\n",
                "line 2, column 2 (kind): the quote that opens this field is never closed");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind\nA,shelter\n",
                "line 2, column 2 (kind): 'shelter' is not one of "
                "centre|warehouse|school|kitchen|point");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind\n,centre\n",
                "line 2, column 1 (name): a site needs a name");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind,code\nA,centre,WH-1\n",
                "line 2, column 3 (code): short code 'WH-1' already names a site");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind,code\nA,centre,X\nB,centre,X\n",
                "line 3, column 3 (code): short code 'X' already names a site");
    must_refuse(&n, RL_IMPORT_SITES, "name,kind\nA,centre\n\xE7\x9F\xB3\xE5,centre\n",
                "line 3, column 1 (name): not valid UTF-8" NOT_UTF8_HINT);
    must_refuse(&n, RL_IMPORT_ITEMS, "code,name,unit\nwater-2l,x,y\n",
                "line 2, column 1 (code): item 'water-2l' exists already");
    must_refuse(&n, RL_IMPORT_MOVEMENTS, "type,site,item,qty\nreceive,WH-1,water-2l,0\n",
                "line 2, column 4 (qty): quantity '0' must not be zero");
    must_refuse(&n, RL_IMPORT_MOVEMENTS, "type,site,item,qty\nreceive,WH-1,rice,5\n",
                "line 2, column 3 (item): unknown item 'rice' (add it with 'relief item add')");
    must_refuse(&n, RL_IMPORT_MOVEMENTS, "type,site,item,qty\nmove,WH-1,water-2l,5\n",
                "line 2, column 1 (type): 'move' is not one of "
                "receive|distribute|adjust|dispatch|count");
    must_refuse(&n, RL_IMPORT_MOVEMENTS, "type,site,item,qty\ndispatch,WH-1,water-2l,5\n",
                "line 2, column 1 (type): a dispatch needs a column 'to'");
    must_refuse(&n, RL_IMPORT_MOVEMENTS,
                "type,site,item,qty,reason\nadjust,WH-1,water-2l,+5,broken\n",
                "line 2, column 5 (reason): 'broken' is not one of "
                "damaged|expired|lost|found|unrecorded|other");
    must_refuse(&n, RL_IMPORT_MOVEMENTS, "type,site,item,qty,to\nreceive,WH-1,water-2l,5,WH-1\n",
                "line 2, column 5 (to): a receive has no to: leave it empty");
    must_refuse(&n, RL_IMPORT_MOVEMENTS,
                "type,site,item,qty,expiry\nreceive,WH-1,water-2l,5,2026-02-30\n",
                "line 2, column 5 (expiry): date '2026-02-30' is not a date like 2011-03-20");
    node_down(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_accepts_rfc4180),
        cmocka_unit_test(test_csv_line_and_column_of_fields),
        cmocka_unit_test(test_csv_refuses_malformed),
        cmocka_unit_test(test_csv_refuses_invalid_utf8),
        cmocka_unit_test(test_utf8_fix),
        cmocka_unit_test(test_csv_limits),
        cmocka_unit_test(test_csv_huge_field_from_file),
        cmocka_unit_test(test_csv_file_window),
        cmocka_unit_test(test_import_all_kinds),
        cmocka_unit_test(test_import_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
