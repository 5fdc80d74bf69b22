/*
 * Unit tests of the domain's merge rules on real stores: three laptops record a small relief
 * scenario partly offline (concurrent arrivals, counts, edits, voids), then their ops are
 * applied to fresh nodes in many random orders -- with duplicates, and with references
 * arriving before their targets -- and every order gives the same digest. The merged state is
 * checked against what the people on the ground would expect.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/kinds.h"
#include "relief/domain.h"
#include "relief/hlc.h"
#include "relief/ledger.h"
#include "relief/node.h"
#include "relief/query.h"
#include "testlib.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

struct world {
    char root[256], dir[4][300];
    struct rl_store n[3]; /* laptops A, B, C */
    uint64_t wh, centre, centre5;
};

static struct world W;

static void edit_site(struct rl_store *s, int add, const char *target, const char *const *kv,
                      uint64_t *id)
{
    struct rl_edit ed;
    struct rl_written w;
    struct proto_err e;
    memset(&ed, 0, sizeof ed);
    ed.rtype = RL_R_SITE;
    ed.add = add;
    ed.target = target;
    for (int i = 0; kv[i]; i += 2) {
        ed.fields[ed.nfields].f = rl_fieldopt_find(rl_site_fields, kv[i]);
        assert_non_null(ed.fields[ed.nfields].f);
        ed.fields[ed.nfields].value = kv[i + 1];
        ed.nfields++;
    }
    proto_err_clear(&e);
    if (rl_edit_apply(s, &ed, &w, &e))
        fail_msg("site edit: %s", e.msg);
    if (id)
        *id = w.site;
}

static void add_item(struct rl_store *s, const char *code)
{
    struct rl_edit ed;
    struct rl_written w;
    struct proto_err e;
    memset(&ed, 0, sizeof ed);
    ed.rtype = RL_R_ITEM;
    ed.add = 1;
    ed.target = code;
    ed.fields[0].f = rl_fieldopt_find(rl_item_fields, "name");
    ed.fields[0].value = code;
    ed.fields[1].f = rl_fieldopt_find(rl_item_fields, "unit");
    ed.fields[1].value = "bag";
    ed.nfields = 2;
    if (rl_edit_apply(s, &ed, &w, &e))
        fail_msg("item add: %s", e.msg);
}

/* A stock op; returns its id as text in out (may be NULL). */
static void stock(struct rl_store *s, uint32_t kind, const char *site, const char *to,
                  const char *qty, const char *target, const char *extra, char *out)
{
    struct rl_stock_req r;
    struct rl_stock_result res;
    struct proto_err e;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.site = site;
    r.to = to;
    r.item = "rice-5kg";
    r.qty = qty;
    r.target = target;
    r.reason = extra;
    r.note = extra;
    r.lot = kind == PROTO_KIND_STOCK_RECEIVE ? extra : NULL;
    proto_err_clear(&e);
    if (rl_stock_write(s, &r, &res, &e))
        fail_msg("stock op %u: %s", kind, e.msg);
    if (out)
        rl_ref_format(res.origin, res.seq, out);
}

static void record(struct rl_store *s, enum rl_rtype type, const char *const *kv, char *out)
{
    struct rl_edit ed;
    struct rl_written w;
    struct proto_err e;
    memset(&ed, 0, sizeof ed);
    ed.rtype = type;
    ed.add = 1;
    for (int i = 0; kv[i]; i += 2) {
        ed.fields[ed.nfields].f = rl_fieldopt_find(rl_fields_of(type), kv[i]);
        assert_non_null(ed.fields[ed.nfields].f);
        ed.fields[ed.nfields].value = kv[i + 1];
        ed.nfields++;
    }
    proto_err_clear(&e);
    if (rl_edit_apply(s, &ed, &w, &e))
        fail_msg("record: %s", e.msg);
    rl_ref_format(w.origin, w.seq, out);
}

static void shift_op(struct rl_store *s, uint32_t kind, const char *shift, const char *vol,
                     const char *meals)
{
    struct rl_shift_req r = {.kind = kind, .shift = shift, .volunteer = vol, .meals = meals};
    struct rl_written w;
    struct proto_err e;
    proto_err_clear(&e);
    if (rl_shift_write(s, &r, &w, &e))
        fail_msg("shift op: %s", e.msg);
}

struct bal_arg {
    uint64_t site;
    int64_t q;
};

static int bal_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)e;
    struct bal_arg *a = arg;
    int rc = rl_ledger_balance(t, a->site, "rice-5kg", 8, &a->q);
    return rc == -ENOENT ? 0 : rc;
}

static int64_t balance(struct rl_store *s, uint64_t site)
{
    struct bal_arg a = {site, 0};
    struct proto_err e;
    assert_int_equal(rl_store_read(s, bal_fn, &a, &e), 0);
    return a.q;
}

struct json_arg {
    int what;
    json_t *out;
};

static int json_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct json_arg *a = arg;
    a->out = a->what == 0 ? rl_q_alerts(t, rl_now_ms(), e) : rl_q_conflicts(t, e);
    return a->out ? 0 : -EIO;
}

static json_t *query(struct rl_store *s, int what)
{
    struct json_arg a = {what, NULL};
    struct proto_err e;
    assert_int_equal(rl_store_read(s, json_fn, &a, &e), 0);
    return a.out;
}

static int has_alert(json_t *alerts, const char *type)
{
    size_t i;
    json_t *o;
    json_array_foreach(alerts, i, o) if (!strcmp(json_string_value(json_object_get(o, "type")),
                                                 type)) return 1;
    return 0;
}

/* The scenario; leaves A, B and C with every op. */
static int setup(void **state)
{
    (void)state;
    char t1[40], dist[40];
    memset(&W, 0, sizeof W);
    tl_tmpdir(W.root, sizeof W.root);
    for (int i = 0; i < 4; i++)
        snprintf(W.dir[i], sizeof W.dir[i], "%s/n%d", W.root, i);
    tl_node(&W.n[0], W.dir[0], "A");
    tl_node(&W.n[1], W.dir[1], "B");
    tl_node(&W.n[2], W.dir[2], "C");
    struct rl_store *A = &W.n[0], *B = &W.n[1], *C = &W.n[2];

    const char *wh[] = {"kind", "warehouse", "name", "石巻 倉庫", "code", "WH-1", NULL};
    const char *ce[] = {"kind", "centre", "name", "湊小学校", "code", "ISH-3", "capacity", "100", NULL};
    edit_site(A, 1, NULL, wh, &W.wh);
    edit_site(A, 1, NULL, ce, &W.centre);
    add_item(A, "rice-5kg");
    stock(A, PROTO_KIND_STOCK_RECEIVE, "WH-1", NULL, "100", NULL, "L1", NULL);
    stock(A, PROTO_KIND_STOCK_DISPATCH, "WH-1", "ISH-3", "60", NULL, NULL, t1);
    /* a donation received at the warehouse, a need at the centre, a shift with sign-ups */
    char don[40], need[40], shift[40];
    record(A, RL_R_DONATION, (const char *const[]){"donor", "Kobe", "to", "ISH-3", "item",
                                                   "rice-5kg", "qty", "30", NULL},
           don);
    record(A, RL_R_NEED, (const char *const[]){"site", "ISH-3", "item", "rice-5kg", "qty", "80",
                                               NULL},
           need);
    record(A, RL_R_SHIFT, (const char *const[]){"site", "ISH-3", "start", "2011-03-20T17:00Z",
                                                "end", "2011-03-20T20:00Z", "slots", "2", NULL},
           shift);
    struct rl_stock_req rq = {.kind = PROTO_KIND_STOCK_RECEIVE, .site = "WH-1", .item = "rice-5kg",
                              .qty = "30", .donation = don};
    struct rl_stock_result res;
    struct proto_err e;
    if (rl_stock_write(A, &rq, &res, &e))
        fail_msg("receive: %s", e.msg);
    struct rl_stock_req dq = {.kind = PROTO_KIND_STOCK_DISPATCH, .site = "WH-1", .to = "ISH-3",
                              .item = "rice-5kg", .qty = "35", .need = need};
    char t2[40];
    if (rl_stock_write(A, &dq, &res, &e))
        fail_msg("dispatch: %s", e.msg);
    rl_ref_format(res.origin, res.seq, t2);
    tl_sync(A, B, 3);
    tl_sync(A, C, 1000);
    /* sign-ups on all three, one cancelled; meals counted on two */
    shift_op(B, PROTO_KIND_SHIFT_SIGNUP, shift, "Ana", NULL);
    shift_op(C, PROTO_KIND_SHIFT_SIGNUP, shift, "Bo", NULL);
    shift_op(A, PROTO_KIND_SHIFT_SIGNUP, shift, "Chie", NULL);
    shift_op(C, PROTO_KIND_SHIFT_CANCEL, shift, "Bo", NULL);
    shift_op(B, PROTO_KIND_SHIFT_SERVED, shift, NULL, "100");
    shift_op(C, PROTO_KIND_SHIFT_SERVED, shift, NULL, "50");
    stock(C, PROTO_KIND_STOCK_ARRIVE, NULL, NULL, "35", t2, NULL, NULL);

    /* offline: B and C both confirm the arrival, count the warehouse, edit the centre */
    stock(B, PROTO_KIND_STOCK_ARRIVE, NULL, NULL, "55", t1, NULL, NULL);
    stock(C, PROTO_KIND_STOCK_ARRIVE, NULL, NULL, "60", t1, NULL, NULL);
    stock(B, PROTO_KIND_STOCK_COUNT, "WH-1", NULL, "40", NULL, NULL, NULL);
    stock(C, PROTO_KIND_STOCK_COUNT, "WH-1", NULL, "40", NULL, NULL, NULL);
    const char *occ_b[] = {"occupancy", "120", NULL};
    const char *occ_c[] = {"occupancy", "90", NULL};
    edit_site(B, 0, "ISH-3", occ_b, NULL);
    edit_site(C, 0, "ISH-3", occ_c, NULL);
    stock(B, PROTO_KIND_STOCK_DISTRIBUTE, "ISH-3", NULL, "20", NULL, NULL, dist);
    /* B's distribution, voided on C and on A after they see it */
    tl_sync(B, C, 1000);
    tl_sync(B, A, 1000);
    stock(C, PROTO_KIND_STOCK_VOID, NULL, NULL, NULL, dist, "entered twice", NULL);
    stock(A, PROTO_KIND_STOCK_VOID, NULL, NULL, NULL, dist, "entered twice", NULL);
    /* lots at a second warehouse from two laptops: more than a balance value keeps once both
     * are known (they go to lotbal), fewer again after a distribution (back into the value) */
    const char *wh2[] = {"kind", "warehouse", "name", "倉庫 2", "code", "WH-2", NULL};
    edit_site(A, 1, NULL, wh2, NULL);
    const char *ce5[] = {"kind", "centre", "name", "渡波 公民館", "code", "ISH-5", NULL};
    edit_site(A, 1, NULL, ce5, &W.centre5);
    tl_sync(A, B, 1000);
    tl_sync(A, C, 1000);
    for (int i = 0; i < 20; i++) {
        char lot[32];
        snprintf(lot, sizeof lot, "LOT-B-%06d", i);
        stock(B, PROTO_KIND_STOCK_RECEIVE, "WH-2", NULL, "3", NULL, lot, NULL);
        snprintf(lot, sizeof lot, "LOT-C-%06d", i);
        stock(C, PROTO_KIND_STOCK_RECEIVE, "WH-2", NULL, "3", NULL, lot, NULL);
    }
    tl_sync(B, C, 1000);
    stock(C, PROTO_KIND_STOCK_DISTRIBUTE, "WH-2", NULL, "100", NULL, NULL, NULL);
    /* a transfer to a third centre, confirmed on two laptops at once; B counts the shelf once
     * the goods are there, and after that C corrects its confirmation (not knowing the count) */
    char t3[40];
    stock(B, PROTO_KIND_STOCK_DISPATCH, "WH-2", "ISH-5", "10", NULL, NULL, t3);
    tl_sync(B, C, 1000);
    stock(B, PROTO_KIND_STOCK_ARRIVE, NULL, NULL, "10", t3, NULL, NULL);
    stock(C, PROTO_KIND_STOCK_ARRIVE, NULL, NULL, "10", t3, NULL, NULL);
    stock(B, PROTO_KIND_STOCK_COUNT, "ISH-5", NULL, "10", NULL, NULL, NULL);
    stock(C, PROTO_KIND_STOCK_ARRIVE, NULL, NULL, "9", t3, NULL, NULL);
    /* everyone meets */
    for (int r = 0; r < 2; r++)
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
                if (i != j)
                    tl_sync(&W.n[i], &W.n[j], 7);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++)
        rl_store_close(&W.n[i]);
    tl_rmdir(W.root);
    return 0;
}

static void test_domain_nodes_converge(void **state)
{
    (void)state;
    uint8_t d[3][RL_DIGEST_BYTES];
    struct proto_err e;
    for (int i = 0; i < 3; i++)
        tl_digest(&W.n[i], d[i]);
    assert_memory_equal(d[0], d[1], RL_DIGEST_BYTES);
    assert_memory_equal(d[0], d[2], RL_DIGEST_BYTES);
    uint8_t rb[RL_DIGEST_BYTES];
    assert_int_equal(rl_digest_rebuilt(&W.n[1], rb, &e), 0);
    assert_memory_equal(d[0], rb, RL_DIGEST_BYTES);
}

static void test_domain_two_arrivals_do_not_double(void **state)
{
    (void)state;
    /* 55 and 60 were confirmed concurrently: one of them counts, never 115 */
    int64_t c = balance(&W.n[0], W.centre) - 35;
    assert_true(c == 55 || c == 60);
    json_t *conf = query(&W.n[0], 1);
    int found = 0;
    size_t i;
    json_t *o;
    json_array_foreach(conf, i, o) found += !strcmp(json_string_value(json_object_get(o, "type")),
                                                    "transfer");
    assert_int_equal(found, 2); /* this transfer's 55/60, and the third centre's 10/9 */
    json_decref(conf);
}

static void test_domain_concurrent_counts_agree_with_shelf(void **state)
{
    (void)state;
    /* both laptops counted 40 on the shelf: the balance is 40, not 80 */
    for (int i = 0; i < 3; i++)
        assert_int_equal(balance(&W.n[i], W.wh), 40);
}

static void test_domain_count_after_arrival_counts_it_once(void **state)
{
    (void)state;
    /* B counted 10 on the shelf after the goods arrived: C's confirmation adds nothing, its
     * later correction (9 arrived) what it changed (was 19: the count and C's arrival) */
    for (int i = 0; i < 3; i++)
        assert_int_equal(balance(&W.n[i], W.centre5), 9);
}

static void test_domain_void_counts_once(void **state)
{
    (void)state;
    /* the distribution of 20 was voided twice: the centre holds what arrived */
    int64_t c = balance(&W.n[2], W.centre) - 35;
    assert_true(c == 55 || c == 60);
}

static void test_domain_conflict_and_resolution(void **state)
{
    (void)state;
    json_t *conf = query(&W.n[1], 1);
    int site_conf = 0;
    size_t i;
    json_t *o;
    json_array_foreach(conf, i, o)
    {
        if (!strcmp(json_string_value(json_object_get(o, "type")), "site")) {
            site_conf++;
            assert_string_equal(json_string_value(json_object_get(o, "field")), "occupancy");
            assert_int_equal(json_array_size(json_object_get(o, "values")), 2);
        }
    }
    assert_int_equal(site_conf, 1);
    json_decref(conf);
    json_t *alerts = query(&W.n[1], 0);
    assert_true(has_alert(alerts, "arrival_mismatch") || balance(&W.n[1], W.centre) == 95);
    json_decref(alerts);

    /* an edit that saw both values resolves the conflict everywhere */
    const char *occ[] = {"occupancy", "101", NULL};
    edit_site(&W.n[0], 0, "ISH-3", occ, NULL);
    for (int i2 = 1; i2 < 3; i2++)
        tl_sync(&W.n[0], &W.n[i2], 100);
    conf = query(&W.n[2], 1);
    json_array_foreach(conf, i, o) assert_string_not_equal(
        json_string_value(json_object_get(o, "type")), "site");
    json_decref(conf);
    alerts = query(&W.n[2], 0);
    assert_true(has_alert(alerts, "over_capacity")); /* 101 > 100 */
    json_decref(alerts);
}

struct records_arg {
    json_t *needs, *shifts, *donations;
};

static int ledger_n_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)e;
    return rl_count(t, RL_DB_LEDGER, arg);
}

struct mv_arg {
    const char *ref; /* resolved into o, s when not NULL */
    uint64_t o, s;
    struct rl_mv mv;
};

static int mv_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct mv_arg *a = arg;
    int rc = a->ref ? rl_resolve_ref(t, a->ref, &a->o, &a->s, e) : 0;
    return rc ? rc : rl_ledger_get(t, a->o, a->s, &a->mv);
}

/*
 * The ledger keeps only what a movement applied beyond the default (a movement is read from its
 * op): receipts and distributions nobody voided or counted leave nothing there; a void does.
 */
static void test_domain_ledger_keeps_only_exceptions(void **state)
{
    (void)state;
    struct rl_store st, *s = &st;
    uint64_t wh, n = 99;
    char r1[40], d1[40], dir[sizeof W.root + 16];
    struct proto_err e;
    snprintf(dir, sizeof dir, "%s/ledger", W.root);
    tl_node(s, dir, "D");
    const char *site[] = {"kind", "warehouse", "name", "倉庫", "code", "WH-9", NULL};
    edit_site(s, 1, NULL, site, &wh);
    add_item(s, "rice-5kg");
    stock(s, PROTO_KIND_STOCK_RECEIVE, "WH-9", NULL, "100", NULL, "L1", r1);
    stock(s, PROTO_KIND_STOCK_RECEIVE, "WH-9", NULL, "50", NULL, NULL, NULL);
    stock(s, PROTO_KIND_STOCK_DISTRIBUTE, "WH-9", NULL, "30", NULL, NULL, d1);
    assert_int_equal(balance(s, wh), 120);
    assert_int_equal(rl_store_read(s, ledger_n_fn, &n, &e), 0);
    assert_int_equal(n, 0);
    /* the movement comes back whole from its op */
    struct mv_arg *a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->ref = r1;
    assert_int_equal(rl_store_read(s, mv_fn, a, &e), 0);
    assert_int_equal(a->mv.kind, PROTO_KIND_STOCK_RECEIVE);
    assert_int_equal(a->mv.site, wh);
    assert_int_equal(a->mv.qty, 100);
    assert_string_equal(a->mv.item, "rice-5kg");
    assert_string_equal(a->mv.lot, "L1");
    assert_string_equal(a->mv.author, "D");
    assert_int_equal(a->mv.a_src, 100);
    assert_int_equal(a->mv.a_lots_src, 1);
    /* a void: one entry, all zero, and the balance without the distribution */
    stock(s, PROTO_KIND_STOCK_VOID, NULL, NULL, NULL, d1, "twice", NULL);
    assert_int_equal(balance(s, wh), 150);
    assert_int_equal(rl_store_read(s, ledger_n_fn, &n, &e), 0);
    assert_int_equal(n, 1);
    a->ref = d1;
    assert_int_equal(rl_store_read(s, mv_fn, a, &e), 0);
    assert_int_equal(a->mv.kind, PROTO_KIND_STOCK_DISTRIBUTE);
    assert_int_equal(a->mv.a_src, 0);
    assert_int_equal(a->mv.a_lots_src, 0);
    /* an op that is no movement is not one */
    a->ref = NULL;
    a->s = 1;
    assert_int_equal(rl_store_read(s, mv_fn, a, &e), -ENOENT);
    free(a);
    uint8_t d[RL_DIGEST_BYTES], rb[RL_DIGEST_BYTES];
    tl_digest(s, d);
    assert_int_equal(rl_digest_rebuilt(s, rb, &e), 0);
    assert_memory_equal(d, rb, RL_DIGEST_BYTES);
    rl_store_close(s);
}

/* Inside one transaction: resolve a code, give the site another code, resolve both again. */
struct recode_arg {
    uint64_t before, after;
    int old_rc;
};

static int recode_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct recode_arg *a = arg;
    struct rl_edit ed;
    struct rl_written w;
    struct proto_err e2;
    int rc;
    if ((rc = rl_resolve_site(t, "WH-R", &a->before, e)))
        return rc;
    memset(&ed, 0, sizeof ed);
    ed.rtype = RL_R_SITE;
    ed.target = "WH-R";
    ed.fields[0].f = rl_fieldopt_find(rl_site_fields, "code");
    ed.fields[0].value = "WH-S";
    ed.nfields = 1;
    if ((rc = rl_edit_in(t, &ed, &w, e)))
        return rc;
    proto_err_clear(&e2);
    a->old_rc = rl_resolve_site(t, "WH-R", &a->after, &e2);
    return rl_resolve_site(t, "WH-S", &a->after, e);
}

/* A site looked up by its code, then recoded in the same transaction, is not found by the old
 * code (lookups are cached within a transaction, import-style). */
static void test_domain_code_lookup_follows_a_recode(void **state)
{
    (void)state;
    struct rl_store st;
    struct recode_arg a = {0, 0, 0};
    struct proto_err e;
    char dir[sizeof W.root + 16];
    uint64_t id;
    snprintf(dir, sizeof dir, "%s/recode", W.root);
    tl_node(&st, dir, "R");
    const char *site[] = {"kind", "warehouse", "name", "倉庫", "code", "WH-R", NULL};
    edit_site(&st, 1, NULL, site, &id);
    proto_err_clear(&e);
    assert_int_equal(rl_node_write(&st, recode_fn, &a, &e), 0);
    assert_int_equal(a.before, id);
    assert_int_equal(a.old_rc, -ENOENT);
    assert_int_equal(a.after, id);
    rl_store_close(&st);
}

static int records_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct records_arg *a = arg;
    a->needs = rl_q_needs(t, e);
    a->shifts = rl_q_shifts(t, e);
    a->donations = rl_q_donations(t, e);
    return a->needs && a->shifts && a->donations ? 0 : -EIO;
}

static void test_domain_needs_shifts_donations(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        struct records_arg a = {0};
        struct proto_err e;
        assert_int_equal(rl_store_read(&W.n[i], records_fn, &a, &e), 0);
        /* the need was met by the 35 that arrived against it */
        json_t *need = json_array_get(a.needs, 0);
        assert_int_equal(json_integer_value(json_object_get(need, "fulfilled")), 35);
        assert_int_equal(json_integer_value(json_object_get(need, "gap")), 45);
        /* Bo cancelled: Ana and Chie hold the two slots; meals from two laptops add up */
        json_t *shift = json_array_get(a.shifts, 0);
        assert_int_equal(json_integer_value(json_object_get(shift, "confirmed")), 2);
        assert_int_equal(json_integer_value(json_object_get(shift, "waitlisted")), 0);
        assert_int_equal(json_integer_value(json_object_get(shift, "meals_served")), 150);
        json_t *don = json_array_get(a.donations, 0);
        assert_int_equal(json_integer_value(json_object_get(don, "delivered")), 30);
        json_decref(a.needs);
        json_decref(a.shifts);
        json_decref(a.donations);
    }
}

/* --- the same ops in many orders --- */

struct opbytes {
    uint8_t *p;
    size_t n;
};

struct collect {
    struct opbytes *ops[8];
    uint32_t nops[8];
    uint32_t norigins;
};

/* The needs report's cells read in two halves (two threads, two read transactions) against
 * the rows the JSON query builds in one; inside a write transaction, whose snapshot no other
 * transaction sees, the second half is read in it (a need it added is there). */
#define MANY_NEEDS 2600
struct many {
    struct rl_cells cells;
    json_t *rows;
    char extra[40];
};

/* Add a need of qty at site, of rice. */
static int need_in(struct rl_txn *t, const char *site, const char *qty, struct rl_written *w,
                   struct proto_err *e)
{
    struct rl_edit ed;
    const char *kv[] = {"site", site, "item", "rice-5kg", "qty", qty};
    memset(&ed, 0, sizeof ed);
    ed.rtype = RL_R_NEED;
    ed.add = 1;
    for (int j = 0; j < 6; j += 2) {
        ed.fields[ed.nfields].f = rl_fieldopt_find(rl_fields_of(RL_R_NEED), kv[j]);
        ed.fields[ed.nfields].value = kv[j + 1];
        ed.nfields++;
    }
    return rl_edit_in(t, &ed, w, e);
}

static int many_needs_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)arg;
    for (int i = 0; i < MANY_NEEDS; i++) {
        struct rl_written w;
        char qty[16];
        snprintf(qty, sizeof qty, "%d", 1 + i % 97); /* gaps alike: ties go by id */
        int rc = need_in(t, i % 2 ? "ISH-3" : "WH-1", qty, &w, e);
        if (rc)
            return rc;
    }
    return 0;
}

static int many_read_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct many *m = arg;
    int rc = rl_q_needs_cells(t, &m->cells, e);
    m->rows = rc ? NULL : rl_q_needs(t, e);
    return rc ? rc : m->rows ? 0 : -EIO;
}

static int many_write_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct many *m = arg;
    struct rl_written w;
    int rc = need_in(t, "ISH-3", "999999", &w, e);
    if (rc)
        return rc;
    rl_ref_format(w.origin, w.seq, m->extra);
    rc = rl_q_needs_cells(t, &m->cells, e);
    return rc ? rc : -ECANCELED; /* undone */
}

static void test_domain_needs_report_in_two_halves(void **state)
{
    struct rl_store *A = &W.n[0];
    struct proto_err e;
    struct many m;
    (void)state;
    memset(&m, 0, sizeof m);
    proto_err_clear(&e);
    if (rl_node_write(A, many_needs_fn, NULL, &e))
        fail_msg("needs: %s", e.msg);
    if (rl_store_read(A, many_read_fn, &m, &e))
        fail_msg("report: %s", e.msg);
    size_t n = json_array_size(m.rows);
    assert_true(n > MANY_NEEDS);
    assert_int_equal(m.cells.nrows, n);
    for (size_t i = 0; i < n; i++) {
        json_t *row = json_array_get(m.rows, i);
        char gap[32];
        snprintf(gap, sizeof gap, "%lld",
                 (long long)json_integer_value(json_object_get(row, "gap")));
        assert_string_equal(m.cells.v[i * m.cells.ncols],
                            json_string_value(json_object_get(row, "id")));
        assert_string_equal(m.cells.v[i * m.cells.ncols + 9], gap); /* the gap column */
    }
    json_decref(m.rows);
    rl_cells_free(&m.cells);
    /* in a write transaction, undone afterwards */
    memset(&m, 0, sizeof m);
    assert_int_equal(rl_node_write(A, many_write_fn, &m, &e), -ECANCELED);
    assert_int_equal(m.cells.nrows, n + 1);
    assert_string_equal(m.cells.v[0], m.extra); /* its gap is the largest */
    rl_cells_free(&m.cells);
}

static int collect_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct collect *c = arg;
    struct proto_vv vv;
    proto_vv_init(&vv);
    int rc = rl_vv_load(t, &vv, e);
    if (rc)
        return rc;
    c->norigins = vv.n;
    for (uint32_t i = 0; i < vv.n && i < 8; i++) {
        c->ops[i] = calloc(vv.e[i].seq, sizeof **c->ops);
        c->nops[i] = (uint32_t)vv.e[i].seq;
        uint8_t prev[PROTO_HASH_BYTES] = {0};
        for (uint64_t s = 1; s <= vv.e[i].seq; s++) {
            struct proto_op op;
            struct proto_batch_enc w;
            struct proto_buf out;
            if ((rc = rl_oplog_get(t, vv.e[i].origin, s, &op, e)))
                return rc;
            proto_batch_enc_init(&w);
            proto_buf_init(&out, PROTO_MAX_BODY_BYTES);
            uint8_t h[PROTO_HASH_BYTES]; /* the log keeps payloads: the chain gives the hash */
            proto_op_hash(vv.e[i].origin, s, prev, op.payload, op.payload_len, h);
            proto_batch_enc_run(&w, vv.e[i].origin, s, prev);
            proto_batch_enc_op(&w, op.payload, op.payload_len, h);
            proto_batch_enc_finish(&w, &out);
            c->ops[i][s - 1].p = out.data;
            c->ops[i][s - 1].n = out.len;
            memcpy(prev, h, PROTO_HASH_BYTES);
            proto_batch_enc_free(&w);
        }
    }
    proto_vv_free(&vv);
    return 0;
}

static int create_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)arg;
    return rl_node_create(t, TEST_NET, "replay", e);
}

static void bare_node(struct rl_store *s, const char *dir)
{
    struct proto_err e;
    tl_rmdir(dir);
    proto_err_clear(&e);
    assert_int_equal(rl_store_create(s, dir, NULL, &e), 0);
    assert_int_equal(rl_store_write(s, create_fn, NULL, &e), 0);
}

static void apply(struct rl_store *s, const struct opbytes *b)
{
    struct rl_apply_stats st;
    struct proto_err e;
    if (rl_oplog_apply_bytes(s, b->p, b->n, &st, &e))
        fail_msg("apply: %s", e.msg);
}

static void test_domain_order_independent(void **state)
{
    (void)state;
    struct collect c;
    struct proto_err e;
    struct rl_store s;
    uint8_t want[RL_DIGEST_BYTES], got[RL_DIGEST_BYTES];
    memset(&c, 0, sizeof c);
    assert_int_equal(rl_store_read(&W.n[0], collect_fn, &c, &e), 0);
    assert_int_equal(c.norigins, 3);

    /* the reference: origin by origin */
    bare_node(&s, W.dir[3]);
    for (uint32_t o = 0; o < c.norigins; o++)
        for (uint32_t i = 0; i < c.nops[o]; i++)
            apply(&s, &c.ops[o][i]);
    tl_digest(&s, want);
    rl_store_close(&s);

    /* every order of whole origins first (so late edits arrive before what they saw), then
     * random interleavings */
    static const uint32_t perms[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                         {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    uint64_t seed = 12345;
    for (int trial = 0; trial < 31; trial++) {
        uint32_t next[8] = {0};
        uint32_t left = 0;
        for (uint32_t o = 0; o < c.norigins; o++)
            left += c.nops[o];
        bare_node(&s, W.dir[3]);
        while (left) {
            seed = seed * 6364136223846793005ull + 1442695040888963407ull;
            uint32_t o = (uint32_t)(seed >> 33) % c.norigins;
            if (trial < 6) {
                /* the first origin of the permutation with ops left */
                for (int k = 0; k < 3; k++)
                    if (next[perms[trial][k]] < c.nops[perms[trial][k]]) {
                        o = perms[trial][k];
                        break;
                    }
            }
            if (next[o] == c.nops[o])
                continue;
            /* now and then an op too early (a gap: dropped, asked for again later) */
            if ((seed >> 20) % 7 == 0 && next[o] + 1 < c.nops[o])
                apply(&s, &c.ops[o][next[o] + 1]);
            apply(&s, &c.ops[o][next[o]]);
            /* and now and then one again (a duplicate) */
            if ((seed >> 24) % 5 == 0)
                apply(&s, &c.ops[o][(seed >> 40) % (next[o] + 1)]);
            next[o]++;
            left--;
        }
        tl_digest(&s, got);
        rl_store_close(&s);
        assert_memory_equal(want, got, RL_DIGEST_BYTES);
    }
    /* the converged laptops hold the same state as every replay */
    tl_digest(&W.n[2], got);
    for (uint32_t o = 0; o < c.norigins; o++) {
        for (uint32_t i = 0; i < c.nops[o]; i++)
            free(c.ops[o][i].p);
        free(c.ops[o]);
    }
}

/* Days (since 1970-01-01) print as gmtime says, and the days users may type read back. */
static void test_domain_days_print_as_the_calendar_says(void **state)
{
    (void)state;
    char got_day[32], cal[32];
    struct proto_err e = {0};
    uint32_t last, back;
    assert_int_equal(rl_parse_day("2200-12-31", &last, &e), 0);
    for (uint32_t d = 0; d < 4000000; d = d <= last ? d + 1 : d * 2) {
        time_t secs = (time_t)d * 86400;
        struct tm tm;
        gmtime_r(&secs, &tm);
        snprintf(cal, sizeof cal, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
        rl_format_day(d, got_day, sizeof got_day);
        assert_string_equal(got_day, cal);
        if (d <= last) {
            assert_int_equal(rl_parse_day(got_day, &back, &e), 0);
            assert_int_equal(back, d);
        }
    }
    /* a short buffer is cut, not overrun */
    rl_format_day(0, got_day, 5);
    assert_string_equal(got_day, "1970");
}

/* --- bad input: refused with the reason, the value named, nothing written --- */

/* An add (target NULL) or a change of a record of type; 0 or the error, its id in out. */
static int try_edit(struct rl_store *s, enum rl_rtype type, const char *target,
                    const char *const *kv, char *out, struct proto_err *e)
{
    struct rl_edit ed;
    struct rl_written w;
    memset(&ed, 0, sizeof ed);
    ed.rtype = type;
    ed.add = target == NULL;
    ed.target = target;
    for (int i = 0; kv[i]; i += 2) {
        ed.fields[ed.nfields].f = rl_fieldopt_find(rl_fields_of(type), kv[i]);
        assert_non_null(ed.fields[ed.nfields].f);
        ed.fields[ed.nfields].value = kv[i + 1];
        ed.nfields++;
    }
    proto_err_clear(e);
    int rc = rl_edit_apply(s, &ed, &w, e);
    if (!rc && out)
        rl_ref_format(w.origin, w.seq, out);
    return rc;
}

/* rc is a refusal whose message holds want */
static void refused_with(int rc, const struct proto_err *e, const char *want)
{
    if (rc == 0)
        fail_msg("accepted, wanted a refusal saying '%s'", want);
    if (!strstr(e->msg, want))
        fail_msg("refused with '%s', wanted '%s'", e->msg, want);
}

#define REFUSED(call, want)                                                                        \
    do {                                                                                           \
        struct proto_err e_;                                                                       \
        proto_err_clear(&e_);                                                                      \
        int rc_ = (call);                                                                          \
        refused_with(rc_, &e_, want);                                                              \
    } while (0)
#define E (&e_)

static int signup(struct rl_store *s, const char *shift, const char *vol, struct proto_err *e)
{
    struct rl_shift_req r = {.kind = PROTO_KIND_SHIFT_SIGNUP, .shift = shift, .volunteer = vol};
    struct rl_written w;
    proto_err_clear(e);
    return rl_shift_write(s, &r, &w, e);
}

static int void_op(struct rl_store *s, const char *target, const char *reason, struct proto_err *e)
{
    struct rl_stock_req r = {.kind = PROTO_KIND_STOCK_VOID, .target = target, .note = reason};
    struct rl_stock_result res;
    proto_err_clear(e);
    return rl_stock_write(s, &r, &res, e);
}

struct ref_arg {
    const char *s;
    uint64_t o, q;
};

static int ref_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct ref_arg *a = arg;
    return rl_resolve_ref(t, a->s, &a->o, &a->q, e);
}

static int resolve(struct rl_store *s, const char *ref, struct proto_err *e)
{
    struct ref_arg a = {ref, 0, 0};
    proto_err_clear(e);
    return rl_store_read(s, ref_fn, &a, e);
}

static void test_domain_refuses_bad_values_saying_why(void **state)
{
    (void)state;
    struct rl_store st;
    struct proto_err e;
    char dir[sizeof W.root + 16], id[40], money[40], goods[40], need[40], sh[40], t[40];
    uint8_t before[RL_DIGEST_BYTES], after[RL_DIGEST_BYTES];
    snprintf(dir, sizeof dir, "%s/rules", W.root);
    tl_node(&st, dir, "V");
    const char *site[] = {"kind", "centre", "name", "湊", "code", "C-1", NULL};
    edit_site(&st, 1, NULL, site, NULL);
    add_item(&st, "rice-5kg");
    /* values within their own field's range are taken, money above the 10^9 of quantities */
    assert_int_equal(try_edit(&st, RL_R_DONATION, NULL,
                              (const char *const[]){"donor", "D", "to", "C-1", "amount",
                                                    "2000000000", "currency", "JPY", NULL},
                              money, &e),
                     0);
    assert_int_equal(try_edit(&st, RL_R_DONATION, NULL,
                              (const char *const[]){"donor", "D", "to", "C-1", "item", "rice-5kg",
                                                    "qty", "3", NULL},
                              goods, &e),
                     0);
    assert_int_equal(
        try_edit(&st, RL_R_NEED, NULL,
                 (const char *const[]){"site", "C-1", "item", "rice-5kg", "qty", "3", NULL}, need,
                 &e),
        0);
    assert_int_equal(try_edit(&st, RL_R_SHIFT, NULL,
                              (const char *const[]){"site", "C-1", "start", "2026-12-01T10:00Z",
                                                    "end", "2026-12-01T17:00Z", "slots", "1", NULL},
                              sh, &e),
                     0);
    assert_int_equal(signup(&st, sh, "Taro", &e), 0);
    stock(&st, PROTO_KIND_STOCK_RECEIVE, "C-1", NULL, "10", NULL, NULL, NULL);
    stock(&st, PROTO_KIND_STOCK_COUNT, "C-1", NULL, "10", NULL, NULL, id);
    tl_digest(&st, before);

    /* 1: each field's own range, and the reason said */
    REFUSED(try_edit(&st, RL_R_SITE, "C-1", (const char *const[]){"capacity", "1000000001", NULL},
                     NULL, E),
            "--capacity: '1000000001' is larger than 1000000000");
    REFUSED(try_edit(&st, RL_R_SITE, "C-1", (const char *const[]){"capacity", "x", NULL}, NULL, E),
            "--capacity: 'x' is not a whole number 0 or more");
    REFUSED(try_edit(&st, RL_R_DONATION, money,
                     (const char *const[]){"amount", "1000000000000001", NULL}, NULL, E),
            "--amount: '1000000000000001' is larger than 1000000000000000");
    REFUSED(try_edit(&st, RL_R_SHIFT, sh, (const char *const[]){"slots", "10001", NULL}, NULL, E),
            "--slots: '10001' is larger than 10000");
    REFUSED(try_edit(&st, RL_R_NEED, need, (const char *const[]){"qty", "0", NULL}, NULL, E),
            "--qty: '0' must not be zero");
    /* 2: a shift ends after it starts, whichever end an edit moves */
    REFUSED(try_edit(&st, RL_R_SHIFT, NULL,
                     (const char *const[]){"site", "C-1", "start", "2026-12-01T20:00Z", "end",
                                           "2026-12-01T17:00Z", "slots", "3", NULL},
                     NULL, E),
            "--end: '2026-12-01T17:00Z' is not after --start 2026-12-01T20:00Z");
    REFUSED(try_edit(&st, RL_R_SHIFT, NULL,
                     (const char *const[]){"site", "C-1", "start", "2026-12-01T20:00Z", "end",
                                           "2026-12-01T20:00Z", "slots", "3", NULL},
                     NULL, E),
            "is not after --start");
    REFUSED(try_edit(&st, RL_R_SHIFT, sh, (const char *const[]){"end", "2026-12-01T09:00Z", NULL},
                     NULL, E),
            "--end: '2026-12-01T09:00Z' is not after the shift's start, 2026-12-01T10:00:00Z");
    REFUSED(try_edit(&st, RL_R_SHIFT, sh, (const char *const[]){"start", "2026-12-01T17:00Z", NULL},
                     NULL, E),
            "--start: '2026-12-01T17:00Z' is not before the shift's end, 2026-12-01T17:00:00Z");
    /* 3: one place a volunteer, confirmed or wait-listed */
    REFUSED(signup(&st, sh, "Taro", E), "'Taro' is already signed up for shift");
    /* 4: an offset before 1970 */
    uint64_t secs;
    REFUSED(rl_parse_time("1970-01-01T00:00+14:00", &secs, E),
            "time '1970-01-01T00:00+14:00' is before 1970-01-01T00:00Z");
    assert_int_equal(rl_parse_time("1970-01-01T00:00-01:00", &secs, &e), 0);
    assert_int_equal(secs, 3600);
    /* a local time the clocks skip (US rules without a zone file: POSIX TZ) is refused; the
     * hour before and after, and a time with its offset, are fine */
    const char *tz = getenv("TZ");
    char saved[128] = "";
    if (tz)
        snprintf(saved, sizeof saved, "%s", tz);
    setenv("TZ", "EST5EDT,M3.2.0,M11.1.0", 1);
    tzset();
    REFUSED(rl_parse_time("2011-03-13T02:30", &secs, E),
            "time '2011-03-13T02:30' does not exist in this node's time zone");
    assert_int_equal(rl_parse_time("2011-03-13T01:59", &secs, &e), 0);
    assert_int_equal(secs, 1299999540); /* 06:59Z */
    assert_int_equal(rl_parse_time("2011-03-13T03:00", &secs, &e), 0);
    assert_int_equal(secs, 1299999600); /* 07:00Z: EDT */
    assert_int_equal(rl_parse_time("2011-03-13T02:30-05:00", &secs, &e), 0);
    if (tz)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    /* 5: fields that exclude each other, in one edit or against the record */
    REFUSED(try_edit(&st, RL_R_DONATION, NULL,
                     (const char *const[]){"donor", "D", "to", "C-1", "amount", "5", "currency",
                                           "JPY", "qty", "3", NULL},
                     NULL, E),
            "not both: --qty '3' with --amount '5'");
    REFUSED(try_edit(&st, RL_R_DONATION, money, (const char *const[]){"qty", "3", NULL}, NULL, E),
            "is of money: it cannot take --qty '3'");
    REFUSED(try_edit(&st, RL_R_DONATION, goods, (const char *const[]){"currency", "EUR", NULL},
                     NULL, E),
            "is of goods: it cannot take --currency 'EUR'");
    REFUSED(try_edit(&st, RL_R_NEED, NULL,
                     (const char *const[]){"site", "C-1", "item", "rice-5kg", "service", "interp",
                                           "qty", "1", NULL},
                     NULL, E),
            "a need is for an item or a service, not both");
    REFUSED(
        try_edit(&st, RL_R_NEED, need, (const char *const[]){"service", "interp", NULL}, NULL, E),
        "is for an item: it cannot take --service 'interp'");
    /* 6: currencies in the form of ISO 4217 codes */
    REFUSED(try_edit(&st, RL_R_DONATION, money, (const char *const[]){"currency", "jpy", NULL},
                     NULL, E),
            "--currency: 'jpy' is not a currency code: three capital letters");
    REFUSED(try_edit(&st, RL_R_DONATION, money, (const char *const[]){"currency", "1.2", NULL},
                     NULL, E),
            "--currency: '1.2' is not a currency code");
    /* 7: plain decimal degrees, their range in degrees */
    static const char *const not_deg[] = {"0x10", " 38.4", "38.4 ", "1e1", "38.",
                                          ".5",   "",      "+-1",   "nan", "inf"};
    for (size_t i = 0; i < sizeof not_deg / sizeof *not_deg; i++)
        REFUSED(try_edit(&st, RL_R_SITE, "C-1", (const char *const[]){"lat", not_deg[i], NULL},
                         NULL, E),
                "is not decimal degrees such as 38.4345");
    REFUSED(try_edit(&st, RL_R_SITE, "C-1", (const char *const[]){"lat", "91", NULL}, NULL, E),
            "--lat: '91' is out of range -90..90");
    REFUSED(
        try_edit(&st, RL_R_SITE, "C-1", (const char *const[]){"lon", "-180.000001", NULL}, NULL, E),
        "--lon: '-180.000001' is out of range -180..180");
    int64_t micro;
    assert_int_equal(rl_parse_deg("38.4262", "lat", 90, &micro, &e), 0);
    assert_int_equal(micro, 38426200);
    assert_int_equal(rl_parse_deg("-141.30291849", "lon", 180, &micro, &e), 0);
    assert_int_equal(micro, -141302918);
    assert_int_equal(rl_parse_deg("+90.00000049", "lat", 90, &micro, &e), 0);
    assert_int_equal(micro, 90000000);
    /* 8: record ids: digits after the '-', nothing else, no wrap past 2^64 */
    snprintf(t, sizeof t, "%.8s-+%s", money, strchr(money, '-') + 1);
    REFUSED(resolve(&st, t, E), "is not a record id like 71c0735a-42");
    snprintf(t, sizeof t, "%.8s- %s", money, strchr(money, '-') + 1);
    REFUSED(resolve(&st, t, E), "is not a record id like 71c0735a-42");
    snprintf(t, sizeof t, "%.8s-18446744073709551616", money);
    REFUSED(resolve(&st, t, E), "is not a record id like 71c0735a-42");
    struct ref_arg ra = {t, 0, 0};
    snprintf(t, sizeof t, "%.8s-18446744073709551615", money);
    assert_int_equal(rl_store_read(&st, ref_fn, &ra, &e), 0);
    assert_true(ra.q == UINT64_MAX);
    assert_int_equal(resolve(&st, money, &e), 0);
    /* 9: the limit passed, an empty reason, what a void cannot void */
    int64_t q;
    REFUSED(rl_parse_qty("-1000000001", 1, 0, &q, E), "is smaller than -1000000000");
    REFUSED(rl_parse_qty("+1000000001", 1, 0, &q, E), "is larger than 1000000000");
    assert_int_equal(rl_parse_qty("-1000000000", 1, 0, &q, &e), 0);
    REFUSED(void_op(&st, id, "", E), "--reason must not be empty");
    REFUSED(void_op(&st, id, "wrong", E), "is a stock count, which cannot be voided");
    REFUSED(void_op(&st, money, "wrong", E), "is a donation.pledge, not a stock movement");
    tl_digest(&st, after);
    assert_memory_equal(before, after, RL_DIGEST_BYTES);

    /* the place a volunteer cancelled is free again; a second laptop that signed the same
     * volunteer up offline is merged, not refused */
    struct rl_shift_req c = {.kind = PROTO_KIND_SHIFT_CANCEL, .shift = sh, .volunteer = "Taro"};
    struct rl_written w;
    assert_int_equal(rl_shift_write(&st, &c, &w, &e), 0);
    struct rl_store st2;
    snprintf(dir, sizeof dir, "%s/rules2", W.root);
    tl_node(&st2, dir, "V2");
    tl_sync(&st, &st2, 1000);
    assert_int_equal(signup(&st, sh, "Taro", &e), 0);
    assert_int_equal(signup(&st2, sh, "Taro", &e), 0);
    tl_sync(&st2, &st, 1000);
    REFUSED(signup(&st, sh, "Taro", E), "already signed up");
    rl_store_close(&st2);
    rl_store_close(&st);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_domain_nodes_converge),
        cmocka_unit_test(test_domain_two_arrivals_do_not_double),
        cmocka_unit_test(test_domain_count_after_arrival_counts_it_once),
        cmocka_unit_test(test_domain_concurrent_counts_agree_with_shelf),
        cmocka_unit_test(test_domain_void_counts_once),
        cmocka_unit_test(test_domain_needs_shifts_donations),
        cmocka_unit_test(test_domain_needs_report_in_two_halves),
        cmocka_unit_test(test_domain_conflict_and_resolution),
        /* last: it replays every op the tests above made */
        cmocka_unit_test(test_domain_order_independent),
        cmocka_unit_test(test_domain_ledger_keeps_only_exceptions),
        cmocka_unit_test(test_domain_code_lookup_follows_a_recode),
        cmocka_unit_test(test_domain_days_print_as_the_calendar_says),
        cmocka_unit_test(test_domain_refuses_bad_values_saying_why),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
