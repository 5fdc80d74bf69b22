/*
 * Unit tests of the op kinds' body schemas (proto/kinds.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/buf.h"
#include "proto/kinds.h"
#include "proto/limits.h"

#include <errno.h>
#include <msgpack.h>
#include <string.h>

struct pk {
    struct proto_buf b;
    msgpack_packer p;
};

static void pk_init(struct pk *k)
{
    if (k->b.data)
        proto_buf_free(&k->b);
    proto_buf_init(&k->b, 1 << 20);
    msgpack_packer_init(&k->p, &k->b, proto_buf_msgpack_write);
}

static void str(struct pk *k, const char *s)
{
    msgpack_pack_str_with_body(&k->p, s, strlen(s));
}

static int parse(uint32_t kind, struct pk *k, struct proto_body *b, struct proto_err *e)
{
    proto_err_clear(e);
    return proto_body_parse(kind, k->b.data, k->b.len, 0xabc, b, e);
}

/* receive {site, item, qty [, extra]} */
static void receive(struct pk *k, uint64_t site, const char *item, int64_t qty, int extra)
{
    pk_init(k);
    msgpack_pack_map(&k->p, 3 + (extra ? 1 : 0));
    msgpack_pack_uint8(&k->p, PROTO_F_MV_SITE);
    msgpack_pack_uint64(&k->p, site);
    msgpack_pack_uint8(&k->p, PROTO_F_MV_ITEM);
    str(k, item);
    msgpack_pack_uint8(&k->p, PROTO_F_MV_QTY);
    msgpack_pack_int64(&k->p, qty);
    if (extra) {
        msgpack_pack_uint8(&k->p, 29); /* a field of a newer version */
        msgpack_pack_array(&k->p, 2);
        str(k, "future");
        msgpack_pack_nil(&k->p);
    }
}

static void test_kinds_receive_valid(void **state)
{
    (void)state;
    struct pk k = {0};
    struct proto_body b;
    struct proto_err e;
    receive(&k, 0x1122334455667788ull, "rice-5kg", 40, 1);
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), 0);
    assert_int_equal(b.v[PROTO_F_MV_SITE].u, 0x1122334455667788ull);
    assert_int_equal(b.v[PROTO_F_MV_QTY].u, 40);
    assert_int_equal(b.v[PROTO_F_MV_ITEM].n, 8);
    assert_memory_equal(b.v[PROTO_F_MV_ITEM].s, "rice-5kg", 8);
    assert_false(b.v[29].present);
    proto_buf_free(&k.b);
}

static void test_kinds_quantity_limits(void **state)
{
    (void)state;
    struct pk k = {0};
    struct proto_body b;
    struct proto_err e;
    receive(&k, 1, "water", PROTO_MAX_QTY, 0);
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), 0);
    receive(&k, 1, "water", PROTO_MAX_QTY + 1, 0);
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), PROTO_EFIELD);
    assert_non_null(strstr(e.msg, "'qty'"));
    assert_non_null(strstr(e.msg, "1000000001"));
    receive(&k, 1, "water", 0, 0);
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), PROTO_EFIELD);
    receive(&k, 1, "water", -5, 0);
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), PROTO_EFIELD);
    proto_buf_free(&k.b);
}

static void test_kinds_item_code_rules(void **state)
{
    (void)state;
    struct pk k = {0};
    struct proto_body b;
    struct proto_err e;
    receive(&k, 1, "rice 5kg", 1, 0);
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), PROTO_EFIELD);
    assert_non_null(strstr(e.msg, "'item'"));
    char code[66];
    memset(code, 'a', 64);
    code[64] = '\0';
    receive(&k, 1, code, 1, 0);
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), 0);
    code[64] = 'a';
    code[65] = '\0';
    receive(&k, 1, code, 1, 0);
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), PROTO_EFIELD);
    receive(&k, 0, "water", 1, 0); /* site id 0 */
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), PROTO_EFIELD);
    assert_non_null(strstr(e.msg, "'site'"));
    proto_buf_free(&k.b);
}

static void test_kinds_missing_and_duplicate_fields(void **state)
{
    (void)state;
    struct pk k = {0};
    struct proto_body b;
    struct proto_err e;
    pk_init(&k);
    msgpack_pack_map(&k.p, 2);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_SITE);
    msgpack_pack_uint64(&k.p, 7);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_ITEM);
    str(&k, "water");
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), PROTO_EFIELD);
    assert_non_null(strstr(e.msg, "'qty' (3) is missing"));

    pk_init(&k);
    msgpack_pack_map(&k.p, 4);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_SITE);
    msgpack_pack_uint64(&k.p, 7);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_ITEM);
    str(&k, "water");
    msgpack_pack_uint8(&k.p, PROTO_F_MV_QTY);
    msgpack_pack_uint8(&k.p, 1);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_QTY);
    msgpack_pack_uint8(&k.p, 2);
    assert_int_equal(parse(PROTO_KIND_STOCK_RECEIVE, &k, &b, &e), PROTO_EFIELD);
    assert_non_null(strstr(e.msg, "twice"));
    proto_buf_free(&k.b);
}

static void test_kinds_refs(void **state)
{
    (void)state;
    struct pk k = {0};
    struct proto_body b;
    struct proto_err e;
    /* a bare seq refers to the op's own origin */
    pk_init(&k);
    msgpack_pack_map(&k.p, 2);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_TARGET);
    msgpack_pack_uint8(&k.p, 42);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_NOTE);
    str(&k, "typo");
    assert_int_equal(parse(PROTO_KIND_STOCK_VOID, &k, &b, &e), 0);
    assert_int_equal(b.v[PROTO_F_MV_TARGET].origin, 0xabc);
    assert_int_equal(b.v[PROTO_F_MV_TARGET].u, 42);
    /* [origin, seq] */
    pk_init(&k);
    msgpack_pack_map(&k.p, 2);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_TARGET);
    msgpack_pack_array(&k.p, 2);
    msgpack_pack_uint64(&k.p, 0xdeadbeefull);
    msgpack_pack_uint8(&k.p, 9);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_NOTE);
    str(&k, "typo");
    assert_int_equal(parse(PROTO_KIND_STOCK_VOID, &k, &b, &e), 0);
    assert_int_equal(b.v[PROTO_F_MV_TARGET].origin, 0xdeadbeefull);
    assert_int_equal(b.v[PROTO_F_MV_TARGET].u, 9);
    /* seq 0 is no op */
    pk_init(&k);
    msgpack_pack_map(&k.p, 2);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_TARGET);
    msgpack_pack_uint8(&k.p, 0);
    msgpack_pack_uint8(&k.p, PROTO_F_MV_NOTE);
    str(&k, "typo");
    assert_int_equal(parse(PROTO_KIND_STOCK_VOID, &k, &b, &e), PROTO_EFIELD);
    proto_buf_free(&k.b);
}

static void test_kinds_adjust_sign_and_reason(void **state)
{
    (void)state;
    struct pk k = {0};
    struct proto_body b;
    struct proto_err e;
    for (int i = 0; i < 3; i++) {
        int64_t q = i == 0 ? -3 : i == 1 ? 0 : 5;
        pk_init(&k);
        msgpack_pack_map(&k.p, 4);
        msgpack_pack_uint8(&k.p, PROTO_F_MV_SITE);
        msgpack_pack_uint64(&k.p, 7);
        msgpack_pack_uint8(&k.p, PROTO_F_MV_ITEM);
        str(&k, "water");
        msgpack_pack_uint8(&k.p, PROTO_F_MV_QTY);
        msgpack_pack_int64(&k.p, q);
        msgpack_pack_uint8(&k.p, PROTO_F_MV_REASON);
        msgpack_pack_uint8(&k.p, PROTO_REASON_DAMAGED);
        int rc = parse(PROTO_KIND_STOCK_ADJUST, &k, &b, &e);
        assert_int_equal(rc, q == 0 ? PROTO_EFIELD : 0);
        if (!rc)
            assert_int_equal(b.v[PROTO_F_MV_QTY].i, q);
    }
    proto_buf_free(&k.b);
}

static void test_kinds_record_fields(void **state)
{
    (void)state;
    struct pk k = {0};
    struct proto_body b;
    struct proto_err e;
    for (int bad = 0; bad < 2; bad++) {
        pk_init(&k);
        msgpack_pack_map(&k.p, 2);
        msgpack_pack_uint8(&k.p, PROTO_F_SITE_ID);
        msgpack_pack_uint64(&k.p, 99);
        msgpack_pack_uint8(&k.p, PROTO_F_SITE_FIELDS);
        msgpack_pack_map(&k.p, 3);
        msgpack_pack_uint8(&k.p, PROTO_SITE_NAME);
        str(&k, "石巻市立湊小学校");
        msgpack_pack_uint8(&k.p, PROTO_SITE_LAT);
        msgpack_pack_int64(&k.p, bad ? 91000000 : 38434000);
        msgpack_pack_uint8(&k.p, 30); /* unknown record field: carried */
        str(&k, "x");
        int rc = parse(PROTO_KIND_SITE_ADD, &k, &b, &e);
        if (bad) {
            assert_int_equal(rc, PROTO_EFIELD);
            assert_non_null(strstr(e.msg, "'lat'"));
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(b.v[PROTO_F_SITE_FIELDS].n, 3);
        }
    }
    proto_buf_free(&k.b);
}

static void test_kinds_text_must_be_utf8(void **state)
{
    (void)state;
    struct pk k = {0};
    struct proto_body b;
    struct proto_err e;
    const char *bad[] = {"\xff", "\xc0\x80", "\xed\xa0\x80", "a\0b"};
    size_t lens[] = {1, 2, 3, 3};
    for (int i = 0; i < 4; i++) {
        pk_init(&k);
        msgpack_pack_map(&k.p, 1);
        msgpack_pack_uint8(&k.p, PROTO_F_NODE_NAME);
        msgpack_pack_str_with_body(&k.p, bad[i], lens[i]);
        assert_int_equal(parse(PROTO_KIND_NODE, &k, &b, &e), PROTO_EFIELD);
        assert_non_null(strstr(e.msg, "UTF-8"));
    }
    proto_buf_free(&k.b);
}

static void test_kinds_unknown_kind(void **state)
{
    (void)state;
    struct pk k = {0};
    struct proto_body b;
    struct proto_err e;
    pk_init(&k);
    msgpack_pack_map(&k.p, 0);
    assert_int_equal(parse(999, &k, &b, &e), -ENOENT);
    assert_null(proto_kind_name(999));
    assert_string_equal(proto_kind_name(PROTO_KIND_STOCK_DISPATCH), "stock.dispatch");
    assert_int_equal(proto_kind_by_name("shift.signup"), PROTO_KIND_SHIFT_SIGNUP);
    proto_buf_free(&k.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kinds_receive_valid),
        cmocka_unit_test(test_kinds_quantity_limits),
        cmocka_unit_test(test_kinds_item_code_rules),
        cmocka_unit_test(test_kinds_missing_and_duplicate_fields),
        cmocka_unit_test(test_kinds_refs),
        cmocka_unit_test(test_kinds_adjust_sign_and_reason),
        cmocka_unit_test(test_kinds_record_fields),
        cmocka_unit_test(test_kinds_text_must_be_utf8),
        cmocka_unit_test(test_kinds_unknown_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
