/*
 * Unit tests of the sync message bodies (proto/msg.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/msg.h"

#include <string.h>

static const uint8_t NET[16] = {0xaa, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t OTHER[16] = {0xbb};
/* an empty batch: [] */
static const uint8_t EMPTY_BATCH[] = {0x90};

static void vv2(struct proto_vv *vv)
{
    uint8_t h[16];
    memset(h, 7, sizeof h);
    proto_vv_init(vv);
    proto_vv_set(vv, 5, 10, h);
    proto_vv_set(vv, 3, 2, h);
}

static void test_msg_round_trips(void **state)
{
    (void)state;
    struct proto_buf b;
    struct proto_msg m;
    struct proto_err e;
    struct proto_vv vv;
    uint64_t stats[5] = {1, 2, 3, 4, 5};
    vv2(&vv);

    proto_buf_init(&b, 1 << 20);
    assert_int_equal(proto_msg_info(&b, NET, 0x1234, "石巻", &vv, NULL), 0);
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_INFO, b.data, b.len, &m, &e), 0);
    assert_int_equal(m.version, PROTO_VERSION);
    assert_int_equal(m.node, 0x1234);
    assert_int_equal(m.name_len, strlen("石巻"));
    assert_int_equal(m.vv.n, 2);
    assert_int_equal(m.vv.e[0].origin, 3);
    assert_int_equal(m.max_bytes, PROTO_MAX_BODY_BYTES);
    assert_int_equal(m.max_ops, PROTO_MAX_BATCH_OPS);
    assert_int_equal(m.frozen.n, 0);
    assert_int_equal(proto_msg_check_network(&m, NET, &e), 0);
    proto_msg_free(&m);

    /* the origins a node takes none of ride in info (8), pull requests (5), push responses (4) */
    struct proto_origins f = {.n = 2, .o = {7, UINT64_MAX}};
    proto_buf_reset(&b);
    assert_int_equal(proto_msg_info(&b, NET, 0x1234, "x", &vv, &f), 0);
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_INFO, b.data, b.len, &m, &e), 0);
    assert_int_equal(m.frozen.n, 2);
    assert_true(m.frozen.o[0] == 7 && m.frozen.o[1] == UINT64_MAX);
    proto_msg_free(&m);
    proto_buf_reset(&b);
    assert_int_equal(proto_msg_pull_req(&b, NET, &vv, 0, 0, &f), 0);
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_PULL_REQ, b.data, b.len, &m, &e), 0);
    assert_int_equal(m.frozen.n, 2);
    /* marked in a copy of the vv: read past any seq, the other entries as they were */
    uint32_t added = 9;
    assert_int_equal(proto_vv_mark_frozen(&m.vv, &m.frozen, &added), 0);
    assert_int_equal(added, 2);
    assert_true(proto_vv_seq(&m.vv, 7) == PROTO_SEQ_FROZEN);
    assert_int_equal(proto_vv_seq(&m.vv, 5), 10);
    assert_int_equal(proto_vv_mark_frozen(&m.vv, &m.frozen, &added), 0);
    assert_int_equal(added, 0);
    proto_msg_free(&m);
    proto_buf_reset(&b);
    assert_int_equal(proto_msg_push_resp(&b, NET, &vv, stats, &f), 0);
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_PUSH_RESP, b.data, b.len, &m, &e), 0);
    assert_int_equal(m.frozen.n, 2);
    proto_msg_free(&m);
    /* not ascending: refused */
    static const uint8_t twice[] = {0x83, 0x01, 0xc4, 0x10, 0xaa, 0x01, 0x02, 0x03, 0,
                                    0,    0,    0,    0,    0,    0,    0,    0,    0,
                                    0,    0,    0x02, 0x90, 0x05, 0x92, 0x07, 0x07};
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_PULL_REQ, twice, sizeof twice, &m, &e),
                     PROTO_EFIELD);
    proto_msg_free(&m);

    proto_buf_reset(&b);
    assert_int_equal(proto_msg_pull_req(&b, NET, &vv, 500, 65536, NULL), 0);
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_PULL_REQ, b.data, b.len, &m, &e), 0);
    assert_int_equal(m.max_ops, 500);
    assert_int_equal(m.max_bytes, 65536);
    assert_int_equal(proto_vv_seq(&m.vv, 5), 10);
    proto_msg_free(&m);

    proto_buf_reset(&b);
    assert_int_equal(proto_msg_pull_resp(&b, NET, EMPTY_BATCH, 1, 1, &vv), 0);
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_PULL_RESP, b.data, b.len, &m, &e), 0);
    assert_int_equal(m.more, 1);
    assert_int_equal(m.batch_len, 1);
    assert_int_equal(m.batch[0], 0x90);
    proto_msg_free(&m);

    proto_buf_reset(&b);
    assert_int_equal(proto_msg_push_req(&b, NET, EMPTY_BATCH, 1), 0);
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_PUSH_REQ, b.data, b.len, &m, &e), 0);
    proto_msg_free(&m);

    proto_buf_reset(&b);
    assert_int_equal(proto_msg_push_resp(&b, NET, &vv, stats, NULL), 0);
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_PUSH_RESP, b.data, b.len, &m, &e), 0);
    assert_int_equal(m.stats[4], 5);
    proto_msg_free(&m);

    proto_buf_reset(&b);
    assert_int_equal(proto_msg_error(&b, "wrong-network", "go away"), 0);
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_ERROR, b.data, b.len, &m, &e), 0);
    assert_int_equal(m.code_len, 13);
    assert_memory_equal(m.code, "wrong-network", 13);
    proto_msg_free(&m);

    proto_vv_free(&vv);
    proto_buf_free(&b);
}

static void test_msg_network_checked(void **state)
{
    (void)state;
    struct proto_buf b;
    struct proto_msg m;
    struct proto_err e;
    struct proto_vv vv;
    vv2(&vv);
    proto_buf_init(&b, 1 << 20);
    proto_msg_pull_req(&b, OTHER, &vv, 0, 0, NULL);
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_PULL_REQ, b.data, b.len, &m, &e), 0);
    proto_err_clear(&e);
    assert_int_equal(proto_msg_check_network(&m, NET, &e), PROTO_ENETWORK);
    assert_non_null(strstr(e.msg, "bb000000"));
    assert_non_null(strstr(e.msg, "aa010203"));
    proto_msg_free(&m);
    /* a body without a network id is refused */
    static const uint8_t no_net[] = {0x81, 0x02, 0x90};
    proto_msg_init(&m);
    assert_int_equal(proto_msg_decode(PROTO_MSG_PULL_REQ, no_net, sizeof no_net, &m, &e),
                     PROTO_EFIELD);
    proto_msg_free(&m);
    proto_vv_free(&vv);
    proto_buf_free(&b);
}

static void test_msg_truncated_everywhere(void **state)
{
    (void)state;
    struct proto_buf b;
    struct proto_msg m;
    struct proto_err e;
    struct proto_vv vv;
    vv2(&vv);
    proto_buf_init(&b, 1 << 20);
    proto_msg_pull_resp(&b, NET, EMPTY_BATCH, 1, 0, &vv);
    for (size_t cut = 0; cut < b.len; cut++) {
        proto_msg_init(&m);
        assert_true(proto_msg_decode(PROTO_MSG_PULL_RESP, b.data, cut, &m, &e) < 0);
        proto_msg_free(&m);
    }
    proto_vv_free(&vv);
    proto_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_msg_round_trips),
        cmocka_unit_test(test_msg_network_checked),
        cmocka_unit_test(test_msg_truncated_everywhere),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
