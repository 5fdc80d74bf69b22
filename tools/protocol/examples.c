/*
 * Prints the worked examples of proto/PROTOCOL.md as hex, made by relief's own encoders, and
 * checks that relief's decoders read each one back. tools/protocol/xcheck.py rebuilds the same
 * bytes with python3-msgpack and hashlib and compares them with this program's output.
 *
 *   make -j2 build/libproto.a
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -I. tools/protocol/examples.c build/libproto.a \
 *      -lmsgpackc -lsodium -o build/protocol_examples
 *   ./build/protocol_examples | /usr/bin/python3 tools/protocol/xcheck.py
 *
 * The inputs are those of tests/data/gen_golden.py, so the op, batch and version vector
 * examples are the golden vectors tests/data/op_node.hex, batch_two_runs.hex and vv_two.hex.
 * Output: one "name hex" line per example.
 */
#include "proto/batch.h"
#include "proto/kinds.h"
#include "proto/msg.h"
#include "proto/op.h"
#include "proto/vv.h"

#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HLC_A ((1790000000000ull << 16) | 3)
#define HLC_B (1790000000500ull << 16)
#define ORIGIN_A 0x1111222233334444ull
#define ORIGIN_B 0x9a3f00c0ffee0001ull
#define SITE 0x5e1da1c0ffee0007ull

static const uint8_t ZERO[16];
static const uint8_t PREV_B[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
static const uint8_t NET[16] = {0x6c, 0x1f, 0x0e, 0x5a, 0x93, 0x42, 0x4b, 0x27,
                                0x8d, 0x10, 0xc4, 0x7e, 0x2b, 0x55, 0x01, 0xa9};

static void die(const char *what, int rc, const struct proto_err *e)
{
    fprintf(stderr, "examples: %s: %d %s\n", what, rc, e ? e->msg : "");
    exit(1);
}

static void put(const char *name, const uint8_t *p, size_t n)
{
    printf("%s ", name);
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    printf("\n");
}

static void hex_line(const char *name, const uint8_t *p, size_t n)
{
    put(name, p, n);
}

/* A payload [hlc, author, kind, {1: text}] or [hlc, author, kind, {1: uint}]. */
static void op_text(struct proto_buf *out, uint64_t hlc, const char *author, uint32_t kind,
                    const char *text, uint64_t num)
{
    struct proto_buf body;
    msgpack_packer pk;
    proto_buf_init(&body, 4096);
    msgpack_packer_init(&pk, &body, proto_buf_msgpack_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_uint8(&pk, 1);
    if (text)
        msgpack_pack_str_with_body(&pk, text, strlen(text));
    else
        msgpack_pack_uint64(&pk, num);
    int rc = proto_op_pack(out, hlc, author, strlen(author), kind, body.data, body.len);
    if (rc)
        die("pack", rc, NULL);
    proto_buf_free(&body);
}

/*
 * A payload [HLC_A, "aiko", 4242, body] whose body nests `levels` containers deep, packed by
 * hand (proto_op_pack refuses a body deeper than PROTO_MAX_OP_DEPTH - 1).
 */
static void op_nested(struct proto_buf *out, int levels)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, proto_buf_msgpack_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint64(&pk, HLC_A);
    msgpack_pack_str_with_body(&pk, "aiko", 4);
    msgpack_pack_uint32(&pk, 4242);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_uint8(&pk, 1);
    for (int i = 1; i < levels; i++)
        msgpack_pack_array(&pk, 1);
    msgpack_pack_uint8(&pk, 0);
    if (proto_buf_failed(out))
        die("pack nested", -1, NULL);
}

/*
 * Section 3's depth rules: a payload nested PROTO_MAX_OP_DEPTH (8) deep parses and travels in
 * a batch inside a push request; one level more is refused by the op parser. A run element
 * after index 4 may nest PROTO_MAX_DEPTH - 3 (9), and such a batch still fits in a message.
 */
static void depth_checks(void)
{
    struct proto_buf op, b, msg;
    struct proto_op o;
    struct proto_batch pb;
    struct proto_msg m;
    struct proto_err e;
    uint8_t h[16];
    int rc;

    proto_buf_init(&op, PROTO_MAX_OP_BYTES);
    proto_buf_init(&b, PROTO_MAX_BODY_BYTES);
    proto_buf_init(&msg, PROTO_MAX_BODY_BYTES);
    op_nested(&op, PROTO_MAX_OP_DEPTH - 1);
    if (PROTO_MAX_OP_DEPTH != 8 || (rc = proto_op_parse(op.data, op.len, &o, &e)))
        die("op of depth 8", rc, &e);
    proto_op_hash(ORIGIN_A, 1, ZERO, op.data, op.len, h);
    struct proto_batch_enc w;
    proto_batch_enc_init(&w);
    proto_batch_enc_run(&w, ORIGIN_A, 1, ZERO);
    proto_batch_enc_op(&w, op.data, (uint32_t)op.len, h);
    proto_batch_enc_finish(&w, &b);
    proto_batch_enc_free(&w);
    proto_msg_push_req(&msg, NET, b.data, b.len);
    proto_msg_init(&m);
    proto_batch_init(&pb);
    if ((rc = proto_msg_decode(PROTO_MSG_PUSH_REQ, msg.data, msg.len, &m, &e)) ||
        (rc = proto_batch_decode(m.batch, m.batch_len, &pb, &e)))
        die("op of depth 8 in a push request", rc, &e);
    proto_batch_free(&pb);
    proto_msg_free(&m);

    proto_buf_reset(&op);
    op_nested(&op, PROTO_MAX_OP_DEPTH);
    if (proto_op_parse(op.data, op.len, &o, &e) != PROTO_ELIMIT)
        die("op of depth 9 accepted", 0, NULL);

    /* [[A, 1, zero, h, [op], extra]] with extra nested `d` deep */
    for (int d = 9; d <= 10; d++) {
        proto_buf_reset(&op);
        op_nested(&op, 1);
        proto_op_hash(ORIGIN_A, 1, ZERO, op.data, op.len, h);
        proto_buf_reset(&b);
        msgpack_packer pk;
        msgpack_packer_init(&pk, &b, proto_buf_msgpack_write);
        msgpack_pack_array(&pk, 1);
        msgpack_pack_array(&pk, 6);
        msgpack_pack_uint64(&pk, ORIGIN_A);
        msgpack_pack_uint8(&pk, 1);
        msgpack_pack_bin_with_body(&pk, ZERO, 16);
        msgpack_pack_bin_with_body(&pk, h, 16);
        msgpack_pack_array(&pk, 1);
        proto_buf_add(&b, op.data, op.len);
        for (int i = 0; i < d; i++)
            msgpack_pack_array(&pk, 1);
        msgpack_pack_nil(&pk);
        rc = proto_batch_decode(b.data, b.len, &pb, &e);
        proto_batch_free(&pb);
        if (d == 10 && rc != PROTO_ELIMIT)
            die("run element of depth 10 accepted", rc, NULL);
        if (d == 10)
            break;
        if (rc)
            die("run element of depth 9", rc, &e);
        proto_buf_reset(&msg);
        proto_msg_pull_resp(&msg, NET, b.data, b.len, 0, &(struct proto_vv){0});
        proto_msg_init(&m);
        if ((rc = proto_msg_decode(PROTO_MSG_PULL_RESP, msg.data, msg.len, &m, &e)))
            die("batch of depth 11 in a pull response", rc, &e);
        proto_msg_free(&m);
    }
    proto_buf_free(&op);
    proto_buf_free(&b);
    proto_buf_free(&msg);
}

/* Section 10's codes: item codes are lower case only; site short codes and languages are not. */
static void code_checks(void)
{
    static const struct {
        uint32_t kind;
        uint8_t key;
        const char *val;
        int ok;
    } cases[] = {
        {PROTO_KIND_ITEM_ADD, PROTO_F_ITEM_CODE, "rice-5kg", 1},
        {PROTO_KIND_ITEM_ADD, PROTO_F_ITEM_CODE, "Rice-5kg", 0},
        {PROTO_KIND_ITEM_ADD, PROTO_F_ITEM_CODE, "rice 5kg", 0},
        {PROTO_KIND_SITE_LANG_ADD, PROTO_F_SITE_LANG, "zh-Hant", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        struct proto_buf body;
        msgpack_packer pk;
        struct proto_body pb;
        struct proto_err e;
        proto_buf_init(&body, 4096);
        msgpack_packer_init(&pk, &body, proto_buf_msgpack_write);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_uint8(&pk, cases[i].key);
        msgpack_pack_str_with_body(&pk, cases[i].val, strlen(cases[i].val));
        if (cases[i].kind == PROTO_KIND_ITEM_ADD) {
            msgpack_pack_uint8(&pk, PROTO_F_ITEM_FIELDS);
            msgpack_pack_map(&pk, 0);
        } else {
            msgpack_pack_uint8(&pk, PROTO_F_SITE_ID);
            msgpack_pack_uint64(&pk, SITE);
        }
        int rc = proto_body_parse(cases[i].kind, body.data, body.len, ORIGIN_A, &pb, &e);
        if ((rc == 0) != cases[i].ok)
            die(cases[i].val, rc, &e);
        proto_buf_free(&body);
    }
    /* a site's short code may hold capitals */
    {
        struct proto_buf body;
        msgpack_packer pk;
        struct proto_body pb;
        struct proto_err e;
        proto_buf_init(&body, 4096);
        msgpack_packer_init(&pk, &body, proto_buf_msgpack_write);
        msgpack_pack_map(&pk, 2);
        msgpack_pack_uint8(&pk, PROTO_F_SITE_ID);
        msgpack_pack_uint64(&pk, SITE);
        msgpack_pack_uint8(&pk, PROTO_F_SITE_FIELDS);
        msgpack_pack_map(&pk, 1);
        msgpack_pack_uint8(&pk, PROTO_SITE_CODE);
        msgpack_pack_str_with_body(&pk, "SND-3", 5);
        int rc = proto_body_parse(PROTO_KIND_SITE_ADD, body.data, body.len, ORIGIN_A, &pb, &e);
        if (rc)
            die("site code SND-3", rc, &e);
        proto_buf_free(&body);
    }
}

int main(void)
{
    struct proto_buf a1, a2, b5, rcv, batch, vvb, msg, body;
    struct proto_err e;
    struct proto_op op;
    uint8_t h_a1[16], h_a2[16], h_b5[16], h_rcv[16];
    int rc;

    proto_buf_init(&a1, PROTO_MAX_OP_BYTES);
    proto_buf_init(&a2, PROTO_MAX_OP_BYTES);
    proto_buf_init(&b5, PROTO_MAX_OP_BYTES);
    proto_buf_init(&rcv, PROTO_MAX_OP_BYTES);
    proto_buf_init(&batch, PROTO_MAX_BODY_BYTES);
    proto_buf_init(&vvb, PROTO_MAX_BODY_BYTES);
    proto_buf_init(&msg, PROTO_MAX_BODY_BYTES);
    proto_buf_init(&body, 4096);

    /* ops: the golden inputs */
    op_text(&a1, HLC_A, "aiko", PROTO_KIND_NODE, "Sendai shelter 3", 0);
    op_text(&a2, HLC_A + 1, "aiko", 4242, NULL, 7);
    op_text(&b5, HLC_B, "ken", PROTO_KIND_NODE, "Ishinomaki depot", 0);
    proto_op_hash(ORIGIN_A, 1, ZERO, a1.data, a1.len, h_a1);
    proto_op_hash(ORIGIN_A, 2, h_a1, a2.data, a2.len, h_a2);
    proto_op_hash(ORIGIN_B, 5, PREV_B, b5.data, b5.len, h_b5);
    hex_line("op_a1", a1.data, a1.len);
    hex_line("hash_a1", h_a1, 16);
    hex_line("op_a2", a2.data, a2.len);
    hex_line("hash_a2", h_a2, 16);
    hex_line("op_b5", b5.data, b5.len);
    hex_line("hash_b5", h_b5, 16);

    /* a stock.receive as origin A's op 3: site, item, qty, lot, expiry, donation [B, 9] */
    {
        msgpack_packer pk;
        msgpack_packer_init(&pk, &body, proto_buf_msgpack_write);
        msgpack_pack_map(&pk, 6);
        msgpack_pack_uint8(&pk, PROTO_F_MV_SITE);
        msgpack_pack_uint64(&pk, SITE);
        msgpack_pack_uint8(&pk, PROTO_F_MV_ITEM);
        msgpack_pack_str_with_body(&pk, "rice-5kg", 8);
        msgpack_pack_uint8(&pk, PROTO_F_MV_QTY);
        msgpack_pack_uint32(&pk, 120);
        msgpack_pack_uint8(&pk, PROTO_F_MV_LOT);
        msgpack_pack_str_with_body(&pk, "L-0311", 6);
        msgpack_pack_uint8(&pk, PROTO_F_MV_EXPIRY);
        msgpack_pack_uint32(&pk, 20742); /* 2026-10-16 in days since 1970-01-01 */
        msgpack_pack_uint8(&pk, PROTO_F_MV_DONATION);
        msgpack_pack_array(&pk, 2);
        msgpack_pack_uint64(&pk, ORIGIN_B);
        msgpack_pack_uint64(&pk, 9);
        if ((rc = proto_op_pack(&rcv, HLC_A + 2, "aiko", 4, PROTO_KIND_STOCK_RECEIVE, body.data,
                                body.len)))
            die("pack receive", rc, NULL);
        proto_op_hash(ORIGIN_A, 3, h_a2, rcv.data, rcv.len, h_rcv);
        hex_line("op_receive", rcv.data, rcv.len);
        hex_line("hash_receive", h_rcv, 16);
        if ((rc = proto_op_parse(rcv.data, rcv.len, &op, &e)))
            die("parse receive", rc, &e);
        struct proto_body pb;
        if ((rc = proto_body_parse(op.kind, op.body, op.body_len, ORIGIN_A, &pb, &e)))
            die("body receive", rc, &e);
        if (pb.v[PROTO_F_MV_DONATION].origin != ORIGIN_B || pb.v[PROTO_F_MV_DONATION].u != 9 ||
            pb.v[PROTO_F_MV_QTY].u != 120)
            die("body receive values", 0, NULL);
    }

    /* the batch of two runs: A 1..2 from the zero hash, B 5 after PREV_B */
    struct proto_batch_enc w;
    proto_batch_enc_init(&w);
    proto_batch_enc_run(&w, ORIGIN_A, 1, ZERO);
    proto_batch_enc_op(&w, a1.data, (uint32_t)a1.len, h_a1);
    proto_batch_enc_op(&w, a2.data, (uint32_t)a2.len, h_a2);
    proto_batch_enc_run(&w, ORIGIN_B, 5, PREV_B);
    proto_batch_enc_op(&w, b5.data, (uint32_t)b5.len, h_b5);
    if ((rc = proto_batch_enc_finish(&w, &batch)))
        die("batch", rc, NULL);
    proto_batch_enc_free(&w);
    hex_line("batch", batch.data, batch.len);
    {
        struct proto_batch b;
        proto_batch_init(&b);
        if ((rc = proto_batch_decode(batch.data, batch.len, &b, &e)))
            die("batch decode", rc, &e);
        if (b.nruns != 2 || b.nops != 3 || memcmp(b.ops[2].hash, h_b5, 16))
            die("batch decode values", 0, NULL);
        proto_batch_free(&b);
    }

    /* the batch of the state digest example: origin A's op 1 alone */
    {
        struct proto_buf one;
        proto_buf_init(&one, PROTO_MAX_BODY_BYTES);
        proto_batch_enc_init(&w);
        proto_batch_enc_run(&w, ORIGIN_A, 1, ZERO);
        proto_batch_enc_op(&w, a1.data, (uint32_t)a1.len, h_a1);
        if ((rc = proto_batch_enc_finish(&w, &one)))
            die("batch a1", rc, NULL);
        proto_batch_enc_free(&w);
        hex_line("batch_a1", one.data, one.len);
        /* the second digest example: A 1..3 (node, an unknown kind, the stock.receive) */
        proto_buf_reset(&one);
        proto_batch_enc_init(&w);
        proto_batch_enc_run(&w, ORIGIN_A, 1, ZERO);
        proto_batch_enc_op(&w, a1.data, (uint32_t)a1.len, h_a1);
        proto_batch_enc_op(&w, a2.data, (uint32_t)a2.len, h_a2);
        proto_batch_enc_op(&w, rcv.data, (uint32_t)rcv.len, h_rcv);
        if ((rc = proto_batch_enc_finish(&w, &one)))
            die("batch a123", rc, NULL);
        proto_batch_enc_free(&w);
        hex_line("batch_a123", one.data, one.len);
        proto_buf_free(&one);
    }

    /* the decoder without the chain reads the same ops; a wrong last hash only it accepts */
    {
        struct proto_batch b;
        proto_batch_init(&b);
        if ((rc = proto_batch_decode_unchained(batch.data, batch.len, &b, &e)))
            die("unchained decode", rc, &e);
        if (b.nruns != 2 || b.nops != 3 || b.ops[2].payload_len != b5.len)
            die("unchained decode values", 0, NULL);
        proto_batch_free(&b);
        struct proto_buf bad;
        proto_buf_init(&bad, PROTO_MAX_BODY_BYTES);
        proto_buf_add(&bad, batch.data, batch.len);
        bad.data[0x86 + 2] ^= 1; /* run 1's last hash */
        if (proto_batch_decode(bad.data, bad.len, &b, &e) != PROTO_ECHAIN)
            die("broken chain accepted", 0, NULL);
        if ((rc = proto_batch_decode_unchained(bad.data, bad.len, &b, &e)))
            die("unchained decode of a broken chain", rc, &e);
        proto_batch_free(&b);
        proto_buf_free(&bad);
    }

    depth_checks();
    code_checks();

    /* the version vector after that batch */
    struct proto_vv vv;
    proto_vv_init(&vv);
    proto_vv_set(&vv, ORIGIN_B, 5, h_b5);
    proto_vv_set(&vv, ORIGIN_A, 2, h_a2);
    proto_vv_encode(&vv, &vvb);
    hex_line("vv", vvb.data, vvb.len);
    {
        struct proto_vv back;
        proto_vv_init(&back);
        if ((rc = proto_vv_decode(vvb.data, vvb.len, &back, &e)))
            die("vv decode", rc, &e);
        proto_vv_free(&back);
    }

    /* a pull request from a node holding A up to 1, with page bounds */
    struct proto_vv have;
    proto_vv_init(&have);
    proto_vv_set(&have, ORIGIN_A, 1, h_a1);
    proto_msg_pull_req(&msg, NET, &have, 500, 65536, NULL);
    hex_line("pull_req", msg.data, msg.len);
    {
        struct proto_msg m;
        proto_msg_init(&m);
        if ((rc = proto_msg_decode(PROTO_MSG_PULL_REQ, msg.data, msg.len, &m, &e)) ||
            (rc = proto_msg_check_network(&m, NET, &e)))
            die("pull req decode", rc, &e);
        proto_msg_free(&m);
    }

    /* its answer: the one op it lacks (A 2), more = false, the server's vector */
    struct proto_buf resp_batch;
    proto_buf_init(&resp_batch, PROTO_MAX_BODY_BYTES);
    proto_batch_enc_init(&w);
    proto_batch_enc_run(&w, ORIGIN_A, 2, h_a1);
    proto_batch_enc_op(&w, a2.data, (uint32_t)a2.len, h_a2);
    proto_batch_enc_finish(&w, &resp_batch);
    proto_batch_enc_free(&w);
    struct proto_vv server;
    proto_vv_init(&server);
    proto_vv_set(&server, ORIGIN_A, 2, h_a2);
    proto_buf_reset(&msg);
    proto_msg_pull_resp(&msg, NET, resp_batch.data, resp_batch.len, 0, &server);
    hex_line("pull_resp", msg.data, msg.len);
    {
        struct proto_msg m;
        struct proto_batch b;
        proto_msg_init(&m);
        proto_batch_init(&b);
        if ((rc = proto_msg_decode(PROTO_MSG_PULL_RESP, msg.data, msg.len, &m, &e)) ||
            (rc = proto_batch_decode(m.batch, m.batch_len, &b, &e)))
            die("pull resp decode", rc, &e);
        if (m.more || b.nops != 1)
            die("pull resp values", 0, NULL);
        proto_batch_free(&b);
        proto_msg_free(&m);
    }

    /* push: the same page the other way, and the answer's counters */
    proto_buf_reset(&msg);
    proto_msg_push_req(&msg, NET, resp_batch.data, resp_batch.len);
    hex_line("push_req", msg.data, msg.len);
    {
        uint64_t st[5] = {1, 0, 0, 0, 0};
        proto_buf_reset(&msg);
        proto_msg_push_resp(&msg, NET, &server, st, NULL);
        hex_line("push_resp", msg.data, msg.len);
        struct proto_msg m;
        proto_msg_init(&m);
        if ((rc = proto_msg_decode(PROTO_MSG_PUSH_RESP, msg.data, msg.len, &m, &e)))
            die("push resp decode", rc, &e);
        proto_msg_free(&m);
    }

    /* info */
    proto_buf_reset(&msg);
    proto_msg_info(&msg, NET, ORIGIN_A, "sendai-3", &server, NULL);
    hex_line("info", msg.data, msg.len);
    {
        struct proto_msg m;
        proto_msg_init(&m);
        if ((rc = proto_msg_decode(PROTO_MSG_INFO, msg.data, msg.len, &m, &e)))
            die("info decode", rc, &e);
        if (m.max_bytes != PROTO_MAX_BODY_BYTES || m.max_ops != PROTO_MAX_BATCH_OPS)
            die("info keys 6 and 7", 0, NULL);
        proto_msg_free(&m);
    }

    /* the error a node answers to a peer of another network */
    {
        static const uint8_t other[16] = {0xbb};
        struct proto_msg m;
        proto_msg_init(&m);
        memcpy(m.network, other, 16);
        m.has_network = 1;
        proto_err_clear(&e);
        rc = proto_msg_check_network(&m, NET, &e);
        proto_buf_reset(&msg);
        proto_msg_error(&msg, proto_errname(rc), e.msg);
        hex_line("error", msg.data, msg.len);
        proto_msg_init(&m);
        if ((rc = proto_msg_decode(PROTO_MSG_ERROR, msg.data, msg.len, &m, &e)))
            die("error decode", rc, &e);
        proto_msg_free(&m);
    }

    proto_vv_free(&vv);
    proto_vv_free(&have);
    proto_vv_free(&server);
    proto_buf_free(&a1);
    proto_buf_free(&a2);
    proto_buf_free(&b5);
    proto_buf_free(&rcv);
    proto_buf_free(&batch);
    proto_buf_free(&resp_batch);
    proto_buf_free(&vvb);
    proto_buf_free(&msg);
    proto_buf_free(&body);
    return 0;
}
