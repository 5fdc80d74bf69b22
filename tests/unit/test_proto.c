/*
 * Unit tests of the wire format (proto/): the bounds-checked msgpack reader, ops, batches,
 * version vectors and the bounded buffer. Every limit of proto/limits.h that proto enforces is
 * tried at the limit and one past it; hostile inputs (every truncation, allocation bombs, broken
 * hash chains) must give a clean error. The golden vectors of tests/data/ are checked both ways.
 */
/* cmocka.h needs these before it */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/batch.h"
#include "proto/buf.h"
#include "proto/error.h"
#include "proto/kinds.h"
#include "proto/limits.h"
#include "proto/mp.h"
#include "proto/op.h"
#include "proto/vv.h"

#include <errno.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
/*
 * Under ASan an allocation sized from a peer's claimed count would succeed lazily; this makes
 * anything over 1 GiB return NULL, so a decoder that tried would fail with -ENOMEM instead of
 * PROTO_EMALFORMED. (Without ASan the bomb test lowers RLIMIT_AS instead.)
 */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "max_allocation_size_mb=1024:allocator_may_return_null=1";
}
#endif

#define BIG (64u * 1024 * 1024)
#define H PROTO_HASH_BYTES

static const uint8_t ZERO[H];

/* ---- helpers ---- */

/* Hex text to bytes, skipping whitespace; returns the byte count. */
static size_t unhex(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    int hi = -1;
    for (; *s; s++) {
        int v = 0;
        if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')
            continue;
        if (*s >= '0' && *s <= '9')
            v = *s - '0';
        else if (*s >= 'a' && *s <= 'f')
            v = *s - 'a' + 10;
        else if (*s >= 'A' && *s <= 'F')
            v = *s - 'A' + 10;
        else
            fail_msg("bad hex character '%c'", *s);
        if (hi < 0) {
            hi = v;
        } else {
            assert_true(n < max);
            out[n++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    assert_true(hi < 0);
    return n;
}

/* An exact-size heap copy, so that ASan sees any read past the end. */
static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    assert_non_null(q);
    if (n)
        memcpy(q, p, n);
    return q;
}

static size_t find(const uint8_t *p, size_t n, const void *needle, size_t k)
{
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, needle, k) == 0)
            return i;
    fail_msg("pattern not found");
    return 0;
}

/* A msgpack-c packer over a bounded buffer. The struct must not move once initialised. */
struct w {
    struct proto_buf b;
    msgpack_packer pk;
};

static void w_init(struct w *w)
{
    proto_buf_init(&w->b, BIG);
    msgpack_packer_init(&w->pk, &w->b, proto_buf_msgpack_write);
}

static void w_raw(struct w *w, const void *p, size_t n)
{
    assert_int_equal(proto_buf_add(&w->b, p, n), 0);
}

static void w_hex(struct w *w, const char *hex)
{
    uint8_t tmp[512];
    size_t n = unhex(hex, tmp, sizeof tmp);
    w_raw(w, tmp, n);
}

static void w_free(struct w *w)
{
    proto_buf_free(&w->b);
}

/* A body {1: bin} of exactly n bytes (n >= 7), written with a bin32 header. */
static void body_of_size(struct w *w, size_t n)
{
    assert_true(n >= 7);
    size_t len = n - 7;
    uint8_t hdr[7] = {
        0x81,        0x01, 0xc6, (uint8_t)(len >> 24), (uint8_t)(len >> 16), (uint8_t)(len >> 8),
        (uint8_t)len};
    w_raw(w, hdr, sizeof hdr);
    uint8_t *fill = malloc(len ? len : 1);
    assert_non_null(fill);
    memset(fill, 'x', len);
    w_raw(w, fill, len);
    free(fill);
}

/* A body nested depth levels deep ({1: {1: ... {}}}), depth >= 1. */
static void body_of_depth(struct w *w, unsigned depth)
{
    for (unsigned i = 1; i < depth; i++)
        w_hex(w, "81 01");
    w_hex(w, "80");
}

/* Append a run's envelope (origin, first_seq, prev, last, and the ops array header). */
static void put_run_head(struct w *w, uint32_t elems, uint64_t origin, uint64_t first_seq,
                         const uint8_t *prev, size_t prev_len, const uint8_t *last, size_t last_len,
                         uint32_t nops)
{
    msgpack_pack_array(&w->pk, elems);
    msgpack_pack_uint64(&w->pk, origin);
    msgpack_pack_uint64(&w->pk, first_seq);
    msgpack_pack_bin_with_body(&w->pk, prev, prev_len);
    msgpack_pack_bin_with_body(&w->pk, last, last_len);
    msgpack_pack_array(&w->pk, nops);
    assert_int_equal(proto_buf_failed(&w->b), 0);
}

/* Add a run of n payloads to an encoder, hashing the chain; the last hash goes to last. */
static void add_run(struct proto_batch_enc *enc, uint64_t origin, uint64_t first_seq,
                    const uint8_t prev[H], const uint8_t *const *payloads, const uint32_t *lens,
                    uint32_t n, uint8_t last[H])
{
    uint8_t h[H];
    memcpy(h, prev, H);
    assert_int_equal(proto_batch_enc_run(enc, origin, first_seq, prev), 0);
    for (uint32_t i = 0; i < n; i++) {
        proto_op_hash(origin, first_seq + i, h, payloads[i], lens[i], h);
        assert_int_equal(proto_batch_enc_op(enc, payloads[i], lens[i], h), 0);
    }
    if (last)
        memcpy(last, h, H);
}

/* Add a run of n copies of one payload. */
static int add_run_same(struct proto_batch_enc *enc, uint64_t origin, uint64_t first_seq,
                        const uint8_t prev[H], const uint8_t *payload, uint32_t len, uint32_t n)
{
    uint8_t h[H];
    int rc;
    memcpy(h, prev, H);
    if ((rc = proto_batch_enc_run(enc, origin, first_seq, prev)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        proto_op_hash(origin, first_seq + i, h, payload, len, h);
        if ((rc = proto_batch_enc_op(enc, payload, len, h)))
            return rc;
    }
    return 0;
}

static void enc_finish(struct proto_batch_enc *enc, struct proto_buf *out)
{
    proto_buf_init(out, BIG);
    assert_int_equal(proto_batch_enc_finish(enc, out), 0);
    proto_batch_enc_free(enc);
}

static int decode(const uint8_t *p, size_t n, struct proto_batch *b, struct proto_err *e)
{
    proto_batch_init(b);
    proto_err_clear(e);
    return proto_batch_decode(p, n, b, e);
}

/* A refused batch leaves nothing a caller could use. */
static void assert_batch_empty(const struct proto_batch *b)
{
    assert_int_equal(b->nruns, 0);
    assert_int_equal(b->nops, 0);
    assert_null(b->runs);
    assert_null(b->ops);
}

static void assert_msg(const struct proto_err *e, const char *want)
{
    if (!strstr(e->msg, want))
        fail_msg("message '%s' does not name '%s'", e->msg, want);
}

/* The smallest valid payload: [0, "", 1, {}]. */
static const uint8_t MIN_OP[] = {0x94, 0x00, 0xa0, 0x01, 0x80};

/* A body {1: "Sendai shelter 3"} written with msgpack-c. */
static void node_body(struct w *w, const char *name)
{
    msgpack_pack_map(&w->pk, 1);
    msgpack_pack_uint32(&w->pk, PROTO_F_NODE_NAME);
    msgpack_pack_str_with_body(&w->pk, name, strlen(name));
}

/* ---- msgpack reader ---- */

static void test_proto_mp_peek_every_type(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int type;
    } t[] = {
        {"00", PROTO_MP_UINT},
        {"7f", PROTO_MP_UINT},
        {"cc ff", PROTO_MP_UINT},
        {"cd", PROTO_MP_UINT},
        {"ce", PROTO_MP_UINT},
        {"cf", PROTO_MP_UINT},
        {"d0 01", PROTO_MP_UINT},
        {"d0 80", PROTO_MP_NINT},
        {"d1 7f ff", PROTO_MP_UINT},
        {"d1 80 00", PROTO_MP_NINT},
        {"d2 80 00 00 00", PROTO_MP_NINT},
        {"d3 80 00 00 00 00 00 00 00", PROTO_MP_NINT},
        {"e0", PROTO_MP_NINT},
        {"ff", PROTO_MP_NINT},
        {"c0", PROTO_MP_NIL},
        {"c2", PROTO_MP_BOOL},
        {"c3", PROTO_MP_BOOL},
        {"ca", PROTO_MP_FLOAT},
        {"cb", PROTO_MP_FLOAT},
        {"a0", PROTO_MP_STR},
        {"bf", PROTO_MP_STR},
        {"d9", PROTO_MP_STR},
        {"da", PROTO_MP_STR},
        {"db", PROTO_MP_STR},
        {"c4", PROTO_MP_BIN},
        {"c5", PROTO_MP_BIN},
        {"c6", PROTO_MP_BIN},
        {"90", PROTO_MP_ARRAY},
        {"9f", PROTO_MP_ARRAY},
        {"dc", PROTO_MP_ARRAY},
        {"dd", PROTO_MP_ARRAY},
        {"80", PROTO_MP_MAP},
        {"8f", PROTO_MP_MAP},
        {"de", PROTO_MP_MAP},
        {"df", PROTO_MP_MAP},
        {"c7", PROTO_MP_EXT},
        {"c8", PROTO_MP_EXT},
        {"c9", PROTO_MP_EXT},
        {"d4", PROTO_MP_EXT},
        {"d5", PROTO_MP_EXT},
        {"d6", PROTO_MP_EXT},
        {"d7", PROTO_MP_EXT},
        {"d8", PROTO_MP_EXT},
        {"c1", PROTO_EMALFORMED},
        {"", PROTO_EMALFORMED},
        {"d0", PROTO_EMALFORMED},
        {"d3 00 00", PROTO_EMALFORMED},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t b[16];
        size_t n = unhex(t[i].hex, b, sizeof b);
        struct proto_mp m;
        proto_mp_init(&m, b, n);
        if (proto_mp_peek(&m) != t[i].type)
            fail_msg("peek '%s': %d, wanted %d", t[i].hex, proto_mp_peek(&m), t[i].type);
    }
    /* every first byte but 0xc1 is some type */
    for (unsigned c = 0; c < 256; c++) {
        uint8_t b[9] = {(uint8_t)c};
        struct proto_mp m;
        proto_mp_init(&m, b, sizeof b);
        int t2 = proto_mp_peek(&m);
        if (c == 0xc1)
            assert_int_equal(t2, PROTO_EMALFORMED);
        else
            assert_true(t2 >= PROTO_MP_NIL && t2 <= PROTO_MP_EXT);
    }
}

static void test_proto_mp_nil_bool(void **state)
{
    (void)state;
    const uint8_t b[] = {0xc0, 0xc2, 0xc3, 0x00};
    struct proto_mp m;
    int v = -1;
    proto_mp_init(&m, b, sizeof b);
    assert_int_equal(proto_mp_bool(&m, &v), PROTO_EMALFORMED);
    assert_ptr_equal(m.p, b);
    assert_int_equal(proto_mp_nil(&m), 0);
    assert_int_equal(proto_mp_nil(&m), PROTO_EMALFORMED);
    assert_int_equal(proto_mp_bool(&m, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(proto_mp_bool(&m, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(proto_mp_bool(&m, &v), PROTO_EMALFORMED);
    assert_int_equal(proto_mp_nil(&m), PROTO_EMALFORMED);
    assert_ptr_equal(m.p, b + 3);
    proto_mp_init(&m, b, 0);
    assert_int_equal(proto_mp_nil(&m), PROTO_EMALFORMED);
    assert_int_equal(proto_mp_bool(&m, &v), PROTO_EMALFORMED);
}

/* Every shorter prefix of a complete encoding fails with PROTO_EMALFORMED and moves nothing. */
typedef int (*rd_fn)(struct proto_mp *m);

static void assert_prefixes_refused(const uint8_t *b, size_t n, rd_fn fn)
{
    for (size_t k = 0; k < n; k++) {
        uint8_t *c = dup_bytes(b, k);
        struct proto_mp m;
        proto_mp_init(&m, c, k);
        int rc = fn(&m);
        if (rc != PROTO_EMALFORMED)
            fail_msg("prefix of %zu of %zu bytes: %d", k, n, rc);
        assert_ptr_equal(m.p, c);
        free(c);
    }
}

static int rd_uint(struct proto_mp *m)
{
    uint64_t v;
    return proto_mp_uint(m, &v);
}

static int rd_int(struct proto_mp *m)
{
    int64_t v;
    return proto_mp_int(m, &v);
}

static int rd_str(struct proto_mp *m)
{
    const char *s;
    uint32_t n;
    return proto_mp_str(m, &s, &n, PROTO_MAX_STR_BYTES);
}

static int rd_bin(struct proto_mp *m)
{
    const uint8_t *s;
    uint32_t n;
    return proto_mp_bin(m, &s, &n, PROTO_MAX_STR_BYTES);
}

static int rd_array(struct proto_mp *m)
{
    uint32_t n;
    return proto_mp_array(m, &n);
}

static int rd_map(struct proto_mp *m)
{
    uint32_t n;
    return proto_mp_map(m, &n);
}

static int rd_skip(struct proto_mp *m)
{
    return proto_mp_skip(m, PROTO_MAX_DEPTH);
}

static void test_proto_mp_uint_every_encoding(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        uint64_t v;
    } t[] = {
        {"00", 0},
        {"7f", 127},
        {"cc ff", 255},
        {"cc 00", 0}, /* not minimal, still read */
        {"cd 01 00", 256},
        {"ce 00 01 00 00", 65536},
        {"cf 00 00 00 01 00 00 00 00", 1ull << 32},
        {"cf ff ff ff ff ff ff ff ff", UINT64_MAX},
        {"d0 7f", 127},
        {"d1 7f ff", 32767},
        {"d2 7f ff ff ff", 0x7fffffff},
        {"d3 7f ff ff ff ff ff ff ff", (uint64_t)INT64_MAX},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t b[16];
        size_t n = unhex(t[i].hex, b, sizeof b);
        struct proto_mp m;
        uint64_t v = 0;
        proto_mp_init(&m, b, n);
        assert_int_equal(proto_mp_uint(&m, &v), 0);
        assert_true(v == t[i].v);
        assert_ptr_equal(m.p, b + n);
        assert_prefixes_refused(b, n, rd_uint);
    }
    /* negative values and other types are refused without moving */
    static const char *bad[] = {"e0",
                                "ff",
                                "d0 80",
                                "d1 80 00",
                                "d2 80 00 00 00",
                                "d3 80 00 00 00 00 00 00 00",
                                "c0",
                                "a0",
                                "90",
                                "ca 00 00 00 00",
                                "c1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[16];
        size_t n = unhex(bad[i], b, sizeof b);
        struct proto_mp m;
        uint64_t v;
        proto_mp_init(&m, b, n);
        assert_int_equal(proto_mp_uint(&m, &v), PROTO_EMALFORMED);
        assert_ptr_equal(m.p, b);
    }
}

static void test_proto_mp_int_every_encoding(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int64_t v;
    } t[] = {
        {"e0", -32},
        {"ff", -1},
        {"05", 5},
        {"d0 80", -128},
        {"d0 ff", -1},
        {"d1 80 00", -32768},
        {"d2 80 00 00 00", INT32_MIN},
        {"d3 80 00 00 00 00 00 00 00", INT64_MIN},
        {"cd ff ff", 65535},
        {"cf 7f ff ff ff ff ff ff ff", INT64_MAX},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t b[16];
        size_t n = unhex(t[i].hex, b, sizeof b);
        struct proto_mp m;
        int64_t v = 0;
        proto_mp_init(&m, b, n);
        assert_int_equal(proto_mp_int(&m, &v), 0);
        assert_true(v == t[i].v);
        assert_ptr_equal(m.p, b + n);
        assert_prefixes_refused(b, n, rd_int);
    }
    /* INT64_MAX + 1 does not fit */
    uint8_t b[16];
    size_t n = unhex("cf 80 00 00 00 00 00 00 00", b, sizeof b);
    struct proto_mp m;
    int64_t v;
    proto_mp_init(&m, b, n);
    assert_int_equal(proto_mp_int(&m, &v), PROTO_ELIMIT);
    assert_ptr_equal(m.p, b);
    n = unhex("a1 41", b, sizeof b);
    proto_mp_init(&m, b, n);
    assert_int_equal(proto_mp_int(&m, &v), PROTO_EMALFORMED);
}

static void test_proto_mp_str_every_header(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        unsigned hdr;
    } t[] = {
        {"a3 61 62 63", 1},
        {"d9 03 61 62 63", 2},
        {"da 00 03 61 62 63", 3},
        {"db 00 00 00 03 61 62 63", 5},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t b[16];
        size_t n = unhex(t[i].hex, b, sizeof b);
        struct proto_mp m;
        const char *s;
        uint32_t len;
        proto_mp_init(&m, b, n);
        assert_int_equal(proto_mp_str(&m, &s, &len, 3), 0);
        assert_int_equal(len, 3);
        assert_ptr_equal(s, b + t[i].hdr);
        assert_memory_equal(s, "abc", 3);
        assert_ptr_equal(m.p, b + n);
        /* one byte over the caller's maximum */
        proto_mp_init(&m, b, n);
        assert_int_equal(proto_mp_str(&m, &s, &len, 2), PROTO_ELIMIT);
        assert_ptr_equal(m.p, b);
        assert_prefixes_refused(b, n, rd_str);
        assert_prefixes_refused(b, n, rd_skip);
        /* a bin is not a str */
        assert_int_equal(rd_bin(&m), PROTO_EMALFORMED);
    }
    uint8_t e[] = {0xa0};
    struct proto_mp m;
    const char *s;
    uint32_t len = 9;
    proto_mp_init(&m, e, 1);
    assert_int_equal(proto_mp_str(&m, &s, &len, 0), 0);
    assert_int_equal(len, 0);
}

static void test_proto_mp_bin_every_header(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        unsigned hdr;
    } t[] = {
        {"c4 03 01 02 03", 2},
        {"c5 00 03 01 02 03", 3},
        {"c6 00 00 00 03 01 02 03", 5},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t b[16];
        size_t n = unhex(t[i].hex, b, sizeof b);
        struct proto_mp m;
        const uint8_t *p;
        uint32_t len;
        proto_mp_init(&m, b, n);
        assert_int_equal(proto_mp_bin(&m, &p, &len, 3), 0);
        assert_int_equal(len, 3);
        assert_ptr_equal(p, b + t[i].hdr);
        assert_ptr_equal(m.p, b + n);
        proto_mp_init(&m, b, n);
        assert_int_equal(proto_mp_bin(&m, &p, &len, 2), PROTO_ELIMIT);
        assert_ptr_equal(m.p, b);
        assert_prefixes_refused(b, n, rd_bin);
        assert_prefixes_refused(b, n, rd_skip);
        assert_int_equal(rd_str(&m), PROTO_EMALFORMED);
    }
}

static void test_proto_mp_array_map_headers(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int map;
        unsigned hdr;
    } t[] = {
        {"93 01 02 03", 0, 1},
        {"dc 00 03 01 02 03", 0, 3},
        {"dd 00 00 00 03 01 02 03", 0, 5},
        {"82 01 02 03 04", 1, 1},
        {"de 00 02 01 02 03 04", 1, 3},
        {"df 00 00 00 02 01 02 03 04", 1, 5},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t b[16];
        size_t n = unhex(t[i].hex, b, sizeof b);
        struct proto_mp m;
        uint32_t cnt;
        proto_mp_init(&m, b, n);
        assert_int_equal((t[i].map ? proto_mp_map : proto_mp_array)(&m, &cnt), 0);
        assert_int_equal(cnt, t[i].map ? 2 : 3);
        assert_ptr_equal(m.p, b + t[i].hdr);
        /* the other container type is refused */
        proto_mp_init(&m, b, n);
        assert_int_equal((t[i].map ? proto_mp_array : proto_mp_map)(&m, &cnt), PROTO_EMALFORMED);
        /* counts beyond the bytes left are refused as soon as the header is read */
        for (size_t k = 0; k < n; k++)
            if (k < t[i].hdr || k - t[i].hdr < (t[i].map ? 4 : 3)) {
                uint8_t *c = dup_bytes(b, k);
                proto_mp_init(&m, c, k);
                assert_int_equal((t[i].map ? rd_map : rd_array)(&m), PROTO_EMALFORMED);
                assert_ptr_equal(m.p, c);
                free(c);
            }
        assert_prefixes_refused(b, n, rd_skip);
    }
    /* a map of n pairs needs 2n bytes */
    uint8_t b[] = {0x82, 0x01, 0x02, 0x03};
    struct proto_mp m;
    uint32_t cnt;
    proto_mp_init(&m, b, sizeof b);
    assert_int_equal(proto_mp_map(&m, &cnt), PROTO_EMALFORMED);
    uint8_t s[] = {0xa1, 0x41};
    proto_mp_init(&m, s, sizeof s);
    assert_int_equal(proto_mp_array(&m, &cnt), PROTO_EMALFORMED);
    assert_int_equal(proto_mp_map(&m, &cnt), PROTO_EMALFORMED);
}

static void test_proto_mp_skip_every_type(void **state)
{
    (void)state;
    static const char *t[] = {
        "c0",
        "c2",
        "c3",
        "00",
        "7f",
        "e0",
        "cc 01",
        "cd 01 02",
        "ce 01 02 03 04",
        "cf 01 02 03 04 05 06 07 08",
        "d0 ff",
        "d1 ff ff",
        "d2 ff ff ff ff",
        "d3 ff ff ff ff ff ff ff ff",
        "ca 3f 80 00 00",
        "cb 3f f0 00 00 00 00 00 00",
        "a2 68 69",
        "d9 02 68 69",
        "da 00 02 68 69",
        "db 00 00 00 02 68 69",
        "c4 02 01 02",
        "c5 00 02 01 02",
        "c6 00 00 00 02 01 02",
        "d4 01 aa",
        "d5 01 aa bb",
        "d6 01 aa bb cc dd",
        "d7 01 00 01 02 03 04 05 06 07",
        "d8 01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f",
        "c7 02 01 aa bb",
        "c8 00 02 01 aa bb",
        "c9 00 00 00 02 01 aa bb",
        "c7 00 05",
        "90",
        "80",
        "93 01 a1 78 c0",
        "dc 00 02 c2 c3",
        "dd 00 00 00 01 90",
        "82 01 02 a1 6b 91 c0",
        "de 00 01 01 80",
        "df 00 00 00 01 c0 c0",
        "92 92 01 92 02 03 81 01 d4 01 aa",
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t b[64];
        size_t n = unhex(t[i], b, sizeof b);
        uint8_t *c = dup_bytes(b, n);
        struct proto_mp m;
        proto_mp_init(&m, c, n);
        if (proto_mp_skip(&m, PROTO_MAX_DEPTH) != 0)
            fail_msg("skip '%s' failed", t[i]);
        assert_ptr_equal(m.p, c + n);
        assert_int_equal(proto_mp_check(c, n, PROTO_MAX_DEPTH), 0);
        free(c);
        assert_prefixes_refused(b, n, rd_skip);
        for (size_t k = 0; k < n; k++)
            assert_int_equal(proto_mp_check(b, k, PROTO_MAX_DEPTH), PROTO_EMALFORMED);
    }
    /* 0xc1 is never used, alone or inside a container */
    static const char *bad[] = {"c1", "91 c1", "81 c1 00", "81 00 c1", "92 00 c1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t b[8];
        size_t n = unhex(bad[i], b, sizeof b);
        assert_int_equal(proto_mp_check(b, n, PROTO_MAX_DEPTH), PROTO_EMALFORMED);
    }
}

static void test_proto_mp_check_one_object(void **state)
{
    (void)state;
    const uint8_t two[] = {0xc0, 0xc0};
    assert_int_equal(proto_mp_check(two, 2, PROTO_MAX_DEPTH), PROTO_EMALFORMED);
    assert_int_equal(proto_mp_check(two, 1, PROTO_MAX_DEPTH), 0);
    assert_int_equal(proto_mp_check(two, 0, PROTO_MAX_DEPTH), PROTO_EMALFORMED);
}

/* Arrays nested depth deep; the innermost is empty when empty is set, else holds a nil. */
static void nested(struct w *w, unsigned depth, int map, int empty)
{
    for (unsigned i = 1; i < depth; i++)
        w_hex(w, map ? "81 01" : "91");
    if (empty)
        w_hex(w, map ? "80" : "90");
    else
        w_hex(w, map ? "81 01 c0" : "91 c0");
}

static void test_proto_mp_depth_limit(void **state)
{
    (void)state;
    for (int map = 0; map < 2; map++)
        for (int empty = 0; empty < 2; empty++) {
            struct w a, b;
            w_init(&a);
            w_init(&b);
            nested(&a, PROTO_MAX_DEPTH, map, empty);
            nested(&b, PROTO_MAX_DEPTH + 1, map, empty);
            assert_int_equal(proto_mp_check(a.b.data, a.b.len, PROTO_MAX_DEPTH), 0);
            assert_int_equal(proto_mp_check(b.b.data, b.b.len, PROTO_MAX_DEPTH), PROTO_ELIMIT);
            /* a larger max_depth is clamped to PROTO_MAX_DEPTH */
            assert_int_equal(proto_mp_check(b.b.data, b.b.len, 1000), PROTO_ELIMIT);
            /* a smaller one is honoured */
            assert_int_equal(proto_mp_check(a.b.data, a.b.len, PROTO_MAX_DEPTH - 1), PROTO_ELIMIT);
            struct proto_mp m;
            proto_mp_init(&m, b.b.data, b.b.len);
            assert_int_equal(proto_mp_skip(&m, PROTO_MAX_DEPTH), PROTO_ELIMIT);
            assert_ptr_equal(m.p, b.b.data);
            w_free(&a);
            w_free(&b);
        }
    /* a scalar has depth 0, an empty array depth 1 */
    const uint8_t nil = 0xc0, arr = 0x90;
    assert_int_equal(proto_mp_check(&nil, 1, 0), 0);
    assert_int_equal(proto_mp_check(&arr, 1, 0), PROTO_ELIMIT);
    assert_int_equal(proto_mp_check(&arr, 1, 1), 0);
}

/* A str32, bin32 or ext32 of n bytes. */
static void long_blob(struct w *w, uint8_t type, size_t n)
{
    uint8_t hdr[6] = {type, (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n,
                      0x07};
    w_raw(w, hdr, type == 0xc9 ? 6 : 5);
    uint8_t *fill = calloc(1, n);
    assert_non_null(fill);
    w_raw(w, fill, n);
    free(fill);
}

static void test_proto_mp_str_bytes_limit(void **state)
{
    (void)state;
    const uint8_t types[] = {0xdb, 0xc6, 0xc9};
    for (size_t i = 0; i < sizeof types; i++) {
        struct w a, b;
        w_init(&a);
        w_init(&b);
        long_blob(&a, types[i], PROTO_MAX_STR_BYTES);
        long_blob(&b, types[i], PROTO_MAX_STR_BYTES + 1);
        assert_int_equal(proto_mp_check(a.b.data, a.b.len, PROTO_MAX_DEPTH), 0);
        assert_int_equal(proto_mp_check(b.b.data, b.b.len, PROTO_MAX_DEPTH), PROTO_ELIMIT);
        if (types[i] != 0xc9) {
            struct proto_mp m;
            const uint8_t *p;
            uint32_t n;
            rd_fn fn = types[i] == 0xdb ? rd_str : rd_bin;
            proto_mp_init(&m, a.b.data, a.b.len);
            assert_int_equal(fn(&m), 0);
            proto_mp_init(&m, b.b.data, b.b.len);
            assert_int_equal(fn(&m), PROTO_ELIMIT);
            assert_ptr_equal(m.p, b.b.data);
            if (types[i] == 0xc6) {
                proto_mp_init(&m, a.b.data, a.b.len);
                assert_int_equal(proto_mp_bin(&m, &p, &n, PROTO_MAX_STR_BYTES), 0);
                assert_int_equal(n, PROTO_MAX_STR_BYTES);
            }
        }
        /* inside a container too */
        struct w c;
        w_init(&c);
        w_hex(&c, "92 c0");
        w_raw(&c, b.b.data, b.b.len);
        assert_int_equal(proto_mp_check(c.b.data, c.b.len, PROTO_MAX_DEPTH), PROTO_ELIMIT);
        w_free(&a);
        w_free(&b);
        w_free(&c);
    }
}

/*
 * Allocation bombs: headers that claim far more than the input holds. Without RLIMIT_AS (or,
 * under ASan, max_allocation_size_mb) a decoder that allocated from the claim would succeed or
 * fail with -ENOMEM; the reader must refuse them as malformed before anything is allocated.
 */
static struct rlimit old_as;
static int as_limited;

static void limit_address_space(void)
{
#ifndef UNDER_ASAN
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (!f)
        return;
    if (fscanf(f, "%lu", &pages) != 1)
        pages = 0;
    fclose(f);
    if (!pages || getrlimit(RLIMIT_AS, &old_as) != 0)
        return;
    struct rlimit r = old_as;
    r.rlim_cur = (rlim_t)pages * 4096 + (rlim_t)512 * 1024 * 1024;
    if (old_as.rlim_cur != RLIM_INFINITY && r.rlim_cur > old_as.rlim_cur)
        return;
    as_limited = setrlimit(RLIMIT_AS, &r) == 0;
#endif
}

static int limit_setup(void **state)
{
    (void)state;
    limit_address_space();
    return 0;
}

/* A teardown runs even when the test failed, so later tests get their address space back. */
static int limit_teardown(void **state)
{
    (void)state;
    int rc = as_limited ? setrlimit(RLIMIT_AS, &old_as) : 0;
    as_limited = 0;
    return rc;
}

static void test_proto_mp_alloc_bomb(void **state)
{
    (void)state;
    static const char *bombs[] = {
        "dd 0f ff ff ff 01", /* array32 of 268 million */
        "df 0f ff ff ff 01", /* map32 */
        "dd ff ff ff ff 01",
        "df ff ff ff ff 01 01",
        "db ff ff ff ff 01",    /* str32 of 4 GiB */
        "c6 ff ff ff ff 01",    /* bin32 */
        "c9 ff ff ff ff 01 01", /* ext32 */
        "dc ff ff 01",
        "de ff ff 01",
        "da ff ff 01",
        "c5 ff ff 01",
        "c8 ff ff 01 01",
        "d9 ff 01",
        "c4 ff 01",
        "c7 ff 01 01",
        "9f 01",
        "8f 01",
    };
    /* the same, nested where each decoder looks for its fields */
    static const char *wraps[] = {
        "",
        "91", /* a batch's run / a vector's entry */
        "91 95 01 01 c4 10 00000000000000000000000000000000 c4 10 "
        "00000000000000000000000000000000", /* a run's ops */
        "91 95 01 01 c4 10 00000000000000000000000000000000 c4 10 "
        "00000000000000000000000000000000 91 94 00 a0 01", /* an op's body */
        "91 93 01 01",                                     /* a vector entry's hash */
        "94 00",                                           /* an op's author */
        "94 00 a0 01",                                     /* an op's body */
    };
    for (size_t i = 0; i < sizeof bombs / sizeof bombs[0]; i++)
        for (size_t j = 0; j < sizeof wraps / sizeof wraps[0]; j++) {
            struct w x;
            w_init(&x);
            w_hex(&x, wraps[j]);
            w_hex(&x, bombs[i]);
            uint8_t *p = dup_bytes(x.b.data, x.b.len);
            size_t n = x.b.len;
            w_free(&x);
            struct proto_err e;
            struct proto_batch b;
            struct proto_vv vv;
            struct proto_op op;
            int rc;

            assert_int_equal(proto_mp_check(p, n, PROTO_MAX_DEPTH), PROTO_EMALFORMED);
            rc = decode(p, n, &b, &e);
            /* a bomb where a field of another type belongs is a wrong field, also fine */
            if (rc != PROTO_EMALFORMED && rc != PROTO_EFIELD)
                fail_msg("batch: bomb %zu wrap %zu: %d %s", i, j, rc, e.msg);
            /* (in an op's body a bomb that is not a map is refused as a wrong body first) */
            if (j == 0 || j == 2)
                assert_int_equal(rc, PROTO_EMALFORMED);
            assert_batch_empty(&b);
            proto_vv_init(&vv);
            rc = proto_vv_decode(p, n, &vv, &e);
            if (rc != PROTO_EMALFORMED && rc != PROTO_EFIELD)
                fail_msg("vv: bomb %zu wrap %zu: %d %s", i, j, rc, e.msg);
            if (j == 0 || j == 4)
                assert_int_equal(rc, PROTO_EMALFORMED);
            assert_int_equal(vv.n, 0);
            proto_vv_free(&vv);
            rc = proto_op_parse(p, n, &op, &e);
            if (rc != PROTO_EMALFORMED && rc != PROTO_EFIELD)
                fail_msg("op: bomb %zu wrap %zu: %d %s", i, j, rc, e.msg);
            if (j == 0 || j == 5)
                assert_int_equal(rc, PROTO_EMALFORMED);
            free(p);
        }
    /* the first one, to the letter of the style guide */
    const uint8_t dd[] = {0xdd, 0x0f, 0xff, 0xff, 0xff, 0x01};
    struct proto_err e;
    struct proto_batch b;
    struct proto_vv vv;
    struct proto_op op;
    proto_vv_init(&vv);
    assert_int_equal(decode(dd, sizeof dd, &b, &e), PROTO_EMALFORMED);
    assert_msg(&e, "batch");
    assert_int_equal(proto_vv_decode(dd, sizeof dd, &vv, &e), PROTO_EMALFORMED);
    assert_msg(&e, "version vector");
    assert_int_equal(proto_op_parse(dd, sizeof dd, &op, &e), PROTO_EMALFORMED);
    assert_msg(&e, "op");
    assert_int_equal(proto_mp_check(dd, sizeof dd, PROTO_MAX_DEPTH), PROTO_EMALFORMED);
}

/* ---- ops ---- */

static void test_proto_op_pack_parse_round_trip(void **state)
{
    (void)state;
    struct w body;
    struct proto_buf out;
    struct proto_op op;
    struct proto_err e;
    const uint64_t hlc = (1790000000000ull << 16) | 3;

    w_init(&body);
    node_body(&body, "Sendai shelter 3");
    proto_buf_init(&out, PROTO_MAX_OP_BYTES);
    assert_int_equal(proto_op_pack(&out, hlc, "aiko", 4, PROTO_KIND_NODE, body.b.data, body.b.len),
                     0);
    memset(&op, 0, sizeof op);
    assert_int_equal(proto_op_parse(out.data, out.len, &op, &e), 0);
    assert_true(op.hlc == hlc);
    assert_int_equal(op.author_len, 4);
    assert_memory_equal(op.author, "aiko", 4);
    assert_int_equal(op.kind, PROTO_KIND_NODE);
    assert_string_equal(proto_kind_name(op.kind), "node");
    assert_int_equal(op.body_len, body.b.len);
    assert_memory_equal(op.body, body.b.data, body.b.len);
    assert_ptr_equal(op.payload, out.data);
    assert_int_equal(op.payload_len, out.len);
    /* hlc of every width */
    const uint64_t hlcs[] = {0, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, UINT64_MAX};
    for (size_t i = 0; i < sizeof hlcs / sizeof hlcs[0]; i++) {
        proto_buf_reset(&out);
        assert_int_equal(proto_op_pack(&out, hlcs[i], "", 0, 7, body.b.data, body.b.len), 0);
        assert_int_equal(proto_op_parse(out.data, out.len, &op, &e), 0);
        assert_true(op.hlc == hlcs[i]);
        assert_int_equal(op.author_len, 0);
        assert_int_equal(op.kind, 7);
    }
    proto_buf_free(&out);
    w_free(&body);
}

/* [hlc, "ken", 4242, {1: 7, 9: [1, -2, "x"]}, nil, bin 01 02] as the golden vector has it */
static const char OP_UNKNOWN_HEX[] =
    "96cf01a0c4506df40009a36b656ecd1092820107099301fea178c0c4020102";

static void test_proto_op_unknown_kind_and_elements_carried(void **state)
{
    (void)state;
    uint8_t p[64];
    size_t n = unhex(OP_UNKNOWN_HEX, p, sizeof p);
    struct proto_op op;
    struct proto_err e;
    assert_int_equal(proto_op_parse(p, n, &op, &e), 0);
    assert_int_equal(op.kind, 4242);
    assert_null(proto_kind_name(op.kind));
    assert_int_equal(op.payload_len, n);
    const uint8_t body[] = {0x82, 0x01, 0x07, 0x09, 0x93, 0x01, 0xfe, 0xa1, 0x78};
    assert_int_equal(op.body_len, sizeof body);
    assert_memory_equal(op.body, body, sizeof body);

    /* through a batch and back, byte for byte */
    struct proto_batch_enc enc;
    struct proto_buf out;
    struct proto_batch b;
    const uint8_t *pl[] = {p, MIN_OP, p};
    const uint32_t lens[] = {(uint32_t)n, sizeof MIN_OP, (uint32_t)n};
    proto_batch_enc_init(&enc);
    add_run(&enc, 77, 1, ZERO, pl, lens, 3, NULL);
    enc_finish(&enc, &out);
    assert_int_equal(decode(out.data, out.len, &b, &e), 0);
    assert_int_equal(b.nops, 3);
    assert_int_equal(b.ops[0].payload_len, n);
    assert_memory_equal(b.ops[0].payload, p, n);
    assert_memory_equal(b.ops[2].payload, p, n);
    assert_int_equal(b.ops[2].kind, 4242);
    proto_batch_free(&b);
    proto_buf_free(&out);
}

static void test_proto_op_parse_names_the_field(void **state)
{
    (void)state;
    static const struct {
        const char *hex;
        int rc;
        const char *field;
    } t[] = {
        {"", PROTO_EMALFORMED, "not an array"},
        {"c0", PROTO_EMALFORMED, "not an array"},
        {"93 00 a0 01", PROTO_EFIELD, "3 elements"},
        {"94 ff a0 01 80", PROTO_EMALFORMED, "hlc"},
        {"94 a0 a0 01 80", PROTO_EMALFORMED, "hlc"},
        {"94 00 01 01 80", PROTO_EMALFORMED, "author"},
        {"94 00 c4 00 01 80", PROTO_EMALFORMED, "author"},
        {"94 00 a0 00 80", PROTO_EFIELD, "kind"},
        {"94 00 a0 a0 80", PROTO_EMALFORMED, "kind"},
        {"94 00 a0 ff 80", PROTO_EMALFORMED, "kind"},
        {"94 00 a0 01 90", PROTO_EFIELD, "body"},
        {"94 00 a0 01 c0", PROTO_EFIELD, "body"},
        {"94 00 a0 01 82 01 02", PROTO_EMALFORMED, "body"},
        {"94 00 a0 01 81 c1 00", PROTO_EMALFORMED, "body"},
        {"94 00 a0 01 80 c0", PROTO_EMALFORMED, "trailing"},
        {"95 00 a0 01 80 c1", PROTO_EMALFORMED, "element 4"},
        {"96 00 a0 01 80 c0 c1", PROTO_EMALFORMED, "element 5"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        uint8_t b[32];
        size_t n = unhex(t[i].hex, b, sizeof b);
        uint8_t *c = dup_bytes(b, n);
        struct proto_op op;
        struct proto_err e;
        proto_err_clear(&e);
        int rc = proto_op_parse(c, n, &op, &e);
        if (rc != t[i].rc)
            fail_msg("'%s': %d (%s), wanted %d", t[i].hex, rc, e.msg, t[i].rc);
        assert_int_equal(e.code, rc);
        assert_msg(&e, "op");
        assert_msg(&e, t[i].field);
        free(c);
    }
}

static void test_proto_op_pack_refuses_bad_arguments(void **state)
{
    (void)state;
    struct proto_buf out;
    const uint8_t map[] = {0x80};
    proto_buf_init(&out, PROTO_MAX_OP_BYTES);
    assert_int_equal(proto_op_pack(&out, 1, "a", 1, 0, map, 1), -EINVAL);
    static const char *bodies[] = {"90", "c0", "81 01", "80 80", "81 c1 00", "a1 41"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        uint8_t b[8];
        size_t n = unhex(bodies[i], b, sizeof b);
        assert_int_equal(proto_op_pack(&out, 1, "a", 1, 1, b, n), -EINVAL);
    }
    assert_int_equal(proto_op_pack(&out, 1, "a", 1, 1, map, 0), -EINVAL);
    assert_int_equal(out.len, 0);
    /* the output buffer's own maximum */
    struct proto_buf small;
    proto_buf_init(&small, 4);
    assert_int_equal(proto_op_pack(&small, 1, "abc", 3, 1, map, 1), -EMSGSIZE);
    proto_buf_free(&small);
    proto_buf_free(&out);
}

static void test_proto_op_author_limit(void **state)
{
    (void)state;
    char author[PROTO_MAX_AUTHOR_BYTES + 1];
    const uint8_t map[] = {0x80};
    struct proto_buf out;
    struct proto_op op;
    struct proto_err e;
    memset(author, 'n', sizeof author);
    proto_buf_init(&out, PROTO_MAX_OP_BYTES);
    assert_int_equal(proto_op_pack(&out, 1, author, PROTO_MAX_AUTHOR_BYTES, 1, map, 1), 0);
    assert_int_equal(proto_op_parse(out.data, out.len, &op, &e), 0);
    assert_int_equal(op.author_len, PROTO_MAX_AUTHOR_BYTES);
    proto_buf_reset(&out);
    assert_int_equal(proto_op_pack(&out, 1, author, PROTO_MAX_AUTHOR_BYTES + 1, 1, map, 1),
                     -EINVAL);
    /* by hand: [1, str16 of 257, 1, {}] */
    struct w x;
    w_init(&x);
    w_hex(&x, "94 01");
    msgpack_pack_str_with_body(&x.pk, author, PROTO_MAX_AUTHOR_BYTES + 1);
    w_hex(&x, "01 80");
    assert_int_equal(proto_op_parse(x.b.data, x.b.len, &op, &e), PROTO_ELIMIT);
    assert_msg(&e, "author");
    w_free(&x);
    proto_buf_free(&out);
}

static void test_proto_op_kind_limit(void **state)
{
    (void)state;
    const uint8_t map[] = {0x80};
    struct proto_buf out;
    struct proto_op op;
    struct proto_err e;
    proto_buf_init(&out, PROTO_MAX_OP_BYTES);
    assert_int_equal(proto_op_pack(&out, 1, "a", 1, PROTO_MAX_KIND, map, 1), 0);
    assert_int_equal(proto_op_parse(out.data, out.len, &op, &e), 0);
    assert_int_equal(op.kind, PROTO_MAX_KIND);
    assert_int_equal(proto_op_pack(&out, 1, "a", 1, PROTO_MAX_KIND + 1, map, 1), -EINVAL);
    uint8_t p[16];
    size_t n = unhex("94 01 a1 61 ce 00 01 00 00 80", p, sizeof p); /* kind 65536 */
    assert_int_equal(proto_op_parse(p, n, &op, &e), PROTO_EFIELD);
    assert_msg(&e, "kind");
    assert_msg(&e, "65536");
    n = unhex("94 01 a1 61 cf ff ff ff ff ff ff ff ff 80", p, sizeof p);
    assert_int_equal(proto_op_parse(p, n, &op, &e), PROTO_EFIELD);
    proto_buf_free(&out);
}

static void test_proto_op_bytes_limit(void **state)
{
    (void)state;
    /* [0, "a", 1, body] takes 5 bytes around the body */
    struct w body, over, hand;
    struct proto_buf out;
    struct proto_op op;
    struct proto_err e;
    w_init(&body);
    w_init(&over);
    body_of_size(&body, PROTO_MAX_OP_BYTES - 5);
    body_of_size(&over, PROTO_MAX_OP_BYTES - 4);
    proto_buf_init(&out, BIG);
    assert_int_equal(proto_op_pack(&out, 0, "a", 1, 1, body.b.data, body.b.len), 0);
    assert_int_equal(out.len, PROTO_MAX_OP_BYTES);
    assert_int_equal(proto_op_parse(out.data, out.len, &op, &e), 0);
    assert_int_equal(op.body_len, body.b.len);
    proto_buf_reset(&out);
    assert_int_equal(proto_op_pack(&out, 0, "a", 1, 1, over.b.data, over.b.len), -EMSGSIZE);
    /* a wider hlc takes the room of the body */
    assert_int_equal(proto_op_pack(&out, 128, "a", 1, 1, body.b.data, body.b.len), -EMSGSIZE);
    w_init(&hand);
    w_hex(&hand, "94 00 a1 61 01");
    w_raw(&hand, over.b.data, over.b.len);
    assert_int_equal(hand.b.len, PROTO_MAX_OP_BYTES + 1);
    assert_int_equal(proto_op_parse(hand.b.data, hand.b.len, &op, &e), PROTO_ELIMIT);
    assert_msg(&e, "65537");

    /* the same inside a batch: the message names the run and the op */
    struct proto_batch_enc enc;
    struct proto_buf bat;
    struct proto_batch b;
    const uint8_t *pl[] = {MIN_OP, hand.b.data};
    uint32_t lens[] = {sizeof MIN_OP, (uint32_t)hand.b.len};
    proto_batch_enc_init(&enc);
    add_run(&enc, 5, 1, ZERO, pl, lens, 2, NULL);
    enc_finish(&enc, &bat);
    assert_int_equal(decode(bat.data, bat.len, &b, &e), PROTO_ELIMIT);
    assert_msg(&e, "run 0 op 1");
    assert_batch_empty(&b);
    proto_buf_free(&bat);
    proto_buf_reset(&out);
    assert_int_equal(proto_op_pack(&out, 0, "a", 1, 1, body.b.data, body.b.len), 0);
    pl[1] = out.data;
    lens[1] = (uint32_t)out.len;
    proto_batch_enc_init(&enc);
    add_run(&enc, 5, 1, ZERO, pl, lens, 2, NULL);
    enc_finish(&enc, &bat);
    assert_int_equal(decode(bat.data, bat.len, &b, &e), 0);
    assert_int_equal(b.ops[1].payload_len, PROTO_MAX_OP_BYTES);
    proto_batch_free(&b);
    proto_buf_free(&bat);
    w_free(&body);
    w_free(&over);
    w_free(&hand);
    proto_buf_free(&out);
}

static void test_proto_op_depth_limit(void **state)
{
    (void)state;
    /* the payload array is depth 1, so the body may nest PROTO_MAX_OP_DEPTH - 1 deep */
    struct w ok, deep;
    struct proto_buf out;
    struct proto_op op;
    struct proto_err e;
    w_init(&ok);
    w_init(&deep);
    body_of_depth(&ok, PROTO_MAX_OP_DEPTH - 1);
    body_of_depth(&deep, PROTO_MAX_OP_DEPTH);
    proto_buf_init(&out, PROTO_MAX_OP_BYTES);
    assert_int_equal(proto_op_pack(&out, 1, "a", 1, 1, ok.b.data, ok.b.len), 0);
    assert_int_equal(proto_op_parse(out.data, out.len, &op, &e), 0);
    assert_int_equal(proto_mp_check(out.data, out.len, PROTO_MAX_OP_DEPTH), 0);
    proto_buf_reset(&out);
    assert_int_equal(proto_op_pack(&out, 1, "a", 1, 1, deep.b.data, deep.b.len), -EINVAL);
    struct w hand;
    w_init(&hand);
    w_hex(&hand, "94 00 a0 01");
    w_raw(&hand, deep.b.data, deep.b.len);
    assert_int_equal(proto_op_parse(hand.b.data, hand.b.len, &op, &e), PROTO_ELIMIT);
    assert_msg(&e, "body");
    w_free(&hand);
    /* the same for an element after the body */
    w_init(&hand);
    w_hex(&hand, "95 00 a0 01 80");
    w_raw(&hand, ok.b.data, ok.b.len);
    assert_int_equal(proto_op_parse(hand.b.data, hand.b.len, &op, &e), 0);
    w_free(&hand);
    w_init(&hand);
    w_hex(&hand, "95 00 a0 01 80");
    w_raw(&hand, deep.b.data, deep.b.len);
    assert_int_equal(proto_op_parse(hand.b.data, hand.b.len, &op, &e), PROTO_ELIMIT);
    assert_msg(&e, "element 4");
    w_free(&hand);
    w_free(&ok);
    w_free(&deep);
    proto_buf_free(&out);
}

/* ---- batches ---- */

struct three_runs {
    struct proto_buf payload[6];
    uint8_t last[3][H];
    struct proto_buf out;
};

static const uint8_t PREV_B[H] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
#define ORIGIN_A 0x1111222233334444ull
#define ORIGIN_B 0x9a3f00c0ffee0001ull
#define ORIGIN_C 3ull

/* Runs A 1..3 (prev zero), B 10..11 (prev PREV_B), an empty run, C 1; hlc 1000 + i. */
static void make_three_runs(struct three_runs *t)
{
    const char *names[6] = {"Sendai shelter 3", "Ishinomaki depot", "rice 10kg",
                            "water 2l",         "blankets",         "Kesennuma school"};
    struct proto_batch_enc enc;
    const uint8_t *pl[6];
    uint32_t lens[6];
    for (int i = 0; i < 6; i++) {
        struct w body;
        w_init(&body);
        node_body(&body, names[i]);
        proto_buf_init(&t->payload[i], PROTO_MAX_OP_BYTES);
        assert_int_equal(proto_op_pack(&t->payload[i], 1000 + (uint64_t)i, "aiko", 4,
                                       (uint32_t)(1 + i * 100), body.b.data, body.b.len),
                         0);
        pl[i] = t->payload[i].data;
        lens[i] = (uint32_t)t->payload[i].len;
        w_free(&body);
    }
    proto_batch_enc_init(&enc);
    add_run(&enc, ORIGIN_A, 1, ZERO, pl, lens, 3, t->last[0]);
    add_run(&enc, ORIGIN_B, 10, PREV_B, pl + 3, lens + 3, 2, t->last[1]);
    assert_int_equal(proto_batch_enc_run(&enc, 99, 1, ZERO), 0); /* left out */
    add_run(&enc, ORIGIN_C, 1, ZERO, pl + 5, lens + 5, 1, t->last[2]);
    enc_finish(&enc, &t->out);
}

static void free_three_runs(struct three_runs *t)
{
    for (int i = 0; i < 6; i++)
        proto_buf_free(&t->payload[i]);
    proto_buf_free(&t->out);
}

static void test_proto_batch_round_trip_several_runs(void **state)
{
    (void)state;
    struct three_runs t;
    struct proto_batch b;
    struct proto_err e;
    make_three_runs(&t);
    assert_int_equal(decode(t.out.data, t.out.len, &b, &e), 0);
    assert_int_equal(b.nruns, 3);
    assert_int_equal(b.nops, 6);
    const uint64_t origins[] = {ORIGIN_A, ORIGIN_B, ORIGIN_C};
    const uint64_t seqs[] = {1, 10, 1};
    const uint32_t nops[] = {3, 2, 1};
    const uint8_t *prevs[] = {ZERO, PREV_B, ZERO};
    uint32_t k = 0;
    for (uint32_t r = 0; r < 3; r++) {
        const struct proto_run *run = &b.runs[r];
        assert_true(run->origin == origins[r]);
        assert_true(run->first_seq == seqs[r]);
        assert_int_equal(run->nops, nops[r]);
        assert_int_equal(run->first_op, k);
        assert_memory_equal(run->prev, prevs[r], H);
        assert_memory_equal(run->last, t.last[r], H);
        for (uint32_t i = 0; i < run->nops; i++, k++) {
            const struct proto_op *op = &b.ops[k];
            assert_true(op->origin == origins[r]);
            assert_true(op->seq == seqs[r] + i);
            assert_memory_equal(op->prev, i ? b.ops[k - 1].hash : prevs[r], H);
            uint8_t h[H];
            proto_op_hash(op->origin, op->seq, op->prev, op->payload, op->payload_len, h);
            assert_memory_equal(op->hash, h, H);
            assert_int_equal(op->payload_len, t.payload[k].len);
            assert_memory_equal(op->payload, t.payload[k].data, op->payload_len);
            assert_true(op->hlc == 1000 + k);
            assert_int_equal(op->kind, 1 + k * 100);
        }
        assert_memory_equal(b.ops[k - 1].hash, run->last, H);
    }
    /* re-encoding what was decoded gives the same bytes */
    struct proto_batch_enc enc;
    struct proto_buf again;
    proto_batch_enc_init(&enc);
    for (uint32_t r = 0; r < b.nruns; r++) {
        assert_int_equal(
            proto_batch_enc_run(&enc, b.runs[r].origin, b.runs[r].first_seq, b.runs[r].prev), 0);
        for (uint32_t i = 0; i < b.runs[r].nops; i++) {
            const struct proto_op *op = &b.ops[b.runs[r].first_op + i];
            assert_int_equal(proto_batch_enc_op(&enc, op->payload, op->payload_len, op->hash), 0);
        }
    }
    assert_true(proto_batch_enc_size(&enc) >= t.out.len);
    enc_finish(&enc, &again);
    assert_int_equal(again.len, t.out.len);
    assert_memory_equal(again.data, t.out.data, t.out.len);
    proto_buf_free(&again);
    proto_batch_free(&b);
    free_three_runs(&t);
}

static void test_proto_batch_empty(void **state)
{
    (void)state;
    struct proto_batch_enc enc;
    struct proto_buf out;
    struct proto_batch b;
    struct proto_err e;
    proto_batch_enc_init(&enc);
    enc_finish(&enc, &out);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.data[0], 0x90);
    assert_int_equal(decode(out.data, out.len, &b, &e), 0);
    assert_int_equal(b.nruns, 0);
    assert_int_equal(b.nops, 0);
    proto_batch_free(&b);
    proto_buf_free(&out);
    /* an op without a run is a caller's bug */
    proto_batch_enc_init(&enc);
    assert_int_equal(proto_batch_enc_op(&enc, MIN_OP, sizeof MIN_OP, ZERO), -EINVAL);
    proto_buf_init(&out, 1024);
    assert_int_equal(proto_batch_enc_finish(&enc, &out), -EINVAL);
    proto_batch_enc_free(&enc);
    proto_buf_free(&out);
}

static void test_proto_batch_chain_mismatch(void **state)
{
    (void)state;
    struct three_runs t;
    struct proto_batch b;
    struct proto_err e;
    make_three_runs(&t);
    uint8_t *p = t.out.data;
    size_t n = t.out.len;

    /* a payload byte of run 1 (origin B), still well formed: "blankets" -> "Blankets" */
    size_t at = find(p, n, "blankets", 8);
    p[at] = 'B';
    assert_int_equal(decode(p, n, &b, &e), PROTO_ECHAIN);
    assert_int_equal(e.code, PROTO_ECHAIN);
    assert_msg(&e, "run 1");
    assert_msg(&e, "9a3f00c0ffee0001");
    assert_msg(&e, "10..11");
    assert_batch_empty(&b);
    p[at] = 'b';
    assert_int_equal(decode(p, n, &b, &e), 0);
    proto_batch_free(&b);

    /* run 2's last hash */
    at = find(p, n, t.last[2], H);
    p[at + H - 1] ^= 1;
    assert_int_equal(decode(p, n, &b, &e), PROTO_ECHAIN);
    assert_msg(&e, "run 2");
    assert_batch_empty(&b);
    p[at + H - 1] ^= 1;

    /* run 1's prev */
    at = find(p, n, PREV_B, H);
    p[at] ^= 0x80;
    assert_int_equal(decode(p, n, &b, &e), PROTO_ECHAIN);
    assert_msg(&e, "run 1");
    assert_batch_empty(&b);
    p[at] ^= 0x80;

    /* a run's origin or first seq is part of every hash too */
    at = find(p, n, "\x0a\xc4\x10", 3); /* run 1's first seq 10, before its prev */
    p[at] = 0x0b;
    assert_int_equal(decode(p, n, &b, &e), PROTO_ECHAIN);
    assert_msg(&e, "run 1");
    p[at] = 0x0a;
    assert_int_equal(decode(p, n, &b, &e), 0);
    proto_batch_free(&b);
    free_three_runs(&t);
}

static void test_proto_batch_prev_zero_at_seq_1(void **state)
{
    (void)state;
    struct proto_batch_enc enc;
    struct proto_buf out;
    struct proto_batch b;
    struct proto_err e;
    const uint8_t *pl[] = {MIN_OP};
    const uint32_t lens[] = {sizeof MIN_OP};
    proto_batch_enc_init(&enc);
    add_run(&enc, 1, 1, PREV_B, pl, lens, 1, NULL); /* a consistent chain, a wrong start */
    enc_finish(&enc, &out);
    assert_int_equal(decode(out.data, out.len, &b, &e), PROTO_EFIELD);
    assert_msg(&e, "run 0: prev");
    assert_batch_empty(&b);
    proto_buf_free(&out);
}

static void test_proto_batch_truncated_every_offset(void **state)
{
    (void)state;
    struct three_runs t;
    make_three_runs(&t);
    for (size_t k = 0; k < t.out.len; k++) {
        uint8_t *c = dup_bytes(t.out.data, k);
        struct proto_batch b;
        struct proto_err e;
        int rc = decode(c, k, &b, &e);
        if (rc != PROTO_EMALFORMED && rc != PROTO_EFIELD)
            fail_msg("truncated at %zu of %zu: %d", k, t.out.len, rc);
        assert_true(e.msg[0] != '\0');
        assert_batch_empty(&b);
        free(c);
    }
    free_three_runs(&t);
}

static void test_proto_batch_every_byte_changed(void **state)
{
    (void)state;
    struct three_runs t;
    make_three_runs(&t);
    const uint8_t masks[] = {0x01, 0x80, 0xff};
    for (size_t k = 0; k < t.out.len; k++)
        for (size_t j = 0; j < sizeof masks; j++) {
            uint8_t *c = dup_bytes(t.out.data, t.out.len);
            struct proto_batch b;
            struct proto_err e;
            c[k] ^= masks[j];
            int rc = decode(c, t.out.len, &b, &e);
            if (rc)
                assert_batch_empty(&b);
            else
                assert_int_equal(b.nops, 6); /* a changed hlc is a broken chain: not here */
            proto_batch_free(&b);
            free(c);
        }
    free_three_runs(&t);
}

static void test_proto_batch_names_run_op_field(void **state)
{
    (void)state;
    /* run 0 is valid; the case is run 0 alone or run 1 after it */
    struct proto_batch_enc enc;
    struct proto_buf good;
    uint8_t h[H];
    const uint8_t *pl[] = {MIN_OP};
    const uint32_t lens[] = {sizeof MIN_OP};
    proto_batch_enc_init(&enc);
    add_run(&enc, 1, 1, ZERO, pl, lens, 1, h);
    enc_finish(&enc, &good);
    uint8_t h15[15] = {0}, h17[17] = {0};

    for (int second = 0; second < 2; second++)
        for (int c = 0; c < 14; c++) {
            struct w x;
            const char *want;
            int rc = PROTO_EFIELD;
            w_init(&x);
            w_hex(&x, second ? "92" : "91");
            if (second)
                w_raw(&x, good.data + 1, good.len - 1);
            switch (c) {
            case 0:
                w_hex(&x, "c0");
                rc = PROTO_EMALFORMED;
                want = "not an array";
                break;
            case 1:
                w_hex(&x, "94 01 01 c0 c0");
                want = "not an array of 5";
                break;
            case 2:
                put_run_head(&x, 5, 1, 1, ZERO, H, h, H, 1);
                w_raw(&x, MIN_OP, sizeof MIN_OP);
                x.b.data[second ? good.len + 1 : 2] = 0xff; /* origin -1 */
                rc = PROTO_EMALFORMED;
                want = "origin";
                break;
            case 3:
                put_run_head(&x, 5, 1, 0, ZERO, H, h, H, 1);
                w_raw(&x, MIN_OP, sizeof MIN_OP);
                want = "first seq";
                break;
            case 4:
                put_run_head(&x, 5, 1, 2, h15, 15, h, H, 1);
                w_raw(&x, MIN_OP, sizeof MIN_OP);
                want = "prev";
                break;
            case 5:
                put_run_head(&x, 5, 1, 2, h17, 17, h, H, 1);
                w_raw(&x, MIN_OP, sizeof MIN_OP);
                want = "prev";
                break;
            case 6:
                put_run_head(&x, 5, 1, 1, ZERO, H, h, 0, 1);
                w_raw(&x, MIN_OP, sizeof MIN_OP);
                want = "last";
                break;
            case 7:
                put_run_head(&x, 5, 1, 1, ZERO, H, h, H, 0);
                want = "no ops";
                break;
            case 8:
                put_run_head(&x, 5, 1, 1, ZERO, H, h, H, 2);
                w_raw(&x, MIN_OP, sizeof MIN_OP);
                w_hex(&x, "94 00 a0 00 80"); /* kind 0 */
                want = "op 1";
                break;
            case 9:
                put_run_head(&x, 5, 1, 1, ZERO, H, h, H, 2);
                w_raw(&x, MIN_OP, sizeof MIN_OP);
                w_hex(&x, "92 c1 00");
                rc = PROTO_EFIELD; /* an op of two elements, refused before its bytes */
                want = "op 1";
                break;
            case 10:
                put_run_head(&x, 5, 1, UINT64_MAX, ZERO, H, h, H, 1);
                w_raw(&x, MIN_OP, sizeof MIN_OP);
                want = "seq overflows";
                break;
            case 11:
                put_run_head(&x, 6, 1, 1, ZERO, H, h, H, 1);
                w_raw(&x, MIN_OP, sizeof MIN_OP);
                w_hex(&x, "c1");
                rc = PROTO_EMALFORMED;
                want = "element 5";
                break;
            case 12:
                put_run_head(&x, 5, 0, 1, ZERO, H, h, H, 1); /* origin 0: no node's id */
                w_raw(&x, MIN_OP, sizeof MIN_OP);
                want = "origin";
                break;
            default:
                w_raw(&x, good.data + 1, good.len - 1);
                w_hex(&x, "c0");
                rc = PROTO_EMALFORMED;
                want = "trailing";
                break;
            }
            uint8_t *p = dup_bytes(x.b.data, x.b.len);
            struct proto_batch b;
            struct proto_err e;
            int got = decode(p, x.b.len, &b, &e);
            if (got != rc)
                fail_msg("case %d/%d: %d (%s), wanted %d", second, c, got, e.msg, rc);
            assert_msg(&e, want);
            if (c != 13) {
                char run[16];
                snprintf(run, sizeof run, "run %d", second);
                assert_msg(&e, run);
            }
            if (c == 8)
                assert_msg(&e, "kind");
            assert_batch_empty(&b);
            free(p);
            w_free(&x);
        }
    proto_buf_free(&good);
}

static void test_proto_batch_run_extra_elements(void **state)
{
    (void)state;
    /* a newer version may add elements to a run: skipped, within the depth limit */
    uint8_t h[H];
    proto_op_hash(1, 1, ZERO, MIN_OP, sizeof MIN_OP, h);
    for (int deep = 0; deep < 2; deep++) {
        struct w x, extra;
        w_init(&x);
        w_init(&extra);
        nested(&extra, PROTO_MAX_DEPTH - 3 + (unsigned)deep, 1, 0);
        w_hex(&x, "91");
        put_run_head(&x, 7, 1, 1, ZERO, H, h, H, 1);
        w_raw(&x, MIN_OP, sizeof MIN_OP);
        w_hex(&x, "c0");
        w_raw(&x, extra.b.data, extra.b.len);
        struct proto_batch b;
        struct proto_err e;
        assert_int_equal(decode(x.b.data, x.b.len, &b, &e), deep ? PROTO_ELIMIT : 0);
        assert_int_equal(proto_mp_check(x.b.data, x.b.len, PROTO_MAX_DEPTH - 1),
                         deep ? PROTO_ELIMIT : 0);
        if (deep)
            assert_msg(&e, "run 0: element 6");
        else
            assert_int_equal(b.nops, 1);
        proto_batch_free(&b);
        w_free(&x);
        w_free(&extra);
    }
}

static void test_proto_batch_depth_limit(void **state)
{
    (void)state;
    /* batch, run, ops array, payload: the body may nest PROTO_MAX_OP_DEPTH - 1 deep, so the
     * batch fits in a sync message (PROTO_MAX_DEPTH - 1 levels below the message map) */
    for (int deep = 0; deep < 2; deep++) {
        struct w payload;
        w_init(&payload);
        w_hex(&payload, "94 00 a0 01");
        body_of_depth(&payload, PROTO_MAX_OP_DEPTH - 1 + (unsigned)deep);
        struct proto_batch_enc enc;
        struct proto_buf out;
        const uint8_t *pl[] = {MIN_OP, payload.b.data};
        const uint32_t lens[] = {sizeof MIN_OP, (uint32_t)payload.b.len};
        proto_batch_enc_init(&enc);
        add_run(&enc, 8, 1, ZERO, pl, lens, 2, NULL);
        enc_finish(&enc, &out);
        struct proto_batch b;
        struct proto_err e;
        int want = deep ? PROTO_ELIMIT : 0;
        assert_int_equal(proto_mp_check(out.data, out.len, PROTO_MAX_DEPTH - 1), want);
        assert_int_equal(decode(out.data, out.len, &b, &e), want);
        if (deep) {
            assert_msg(&e, "run 0 op 1");
            assert_batch_empty(&b);
        }
        proto_batch_free(&b);
        proto_buf_free(&out);
        w_free(&payload);
    }
}

static void test_proto_batch_ops_limit(void **state)
{
    (void)state;
    struct proto_batch_enc enc;
    struct proto_buf out;
    struct proto_batch b;
    struct proto_err e;

    /* at the limit, over two runs */
    proto_batch_enc_init(&enc);
    assert_int_equal(add_run_same(&enc, 1, 1, ZERO, MIN_OP, sizeof MIN_OP, 10000), 0);
    assert_int_equal(
        add_run_same(&enc, 2, 1, ZERO, MIN_OP, sizeof MIN_OP, PROTO_MAX_BATCH_OPS - 10000), 0);
    /* one more is refused by the encoder, and the error sticks */
    assert_int_equal(proto_batch_enc_op(&enc, MIN_OP, sizeof MIN_OP, ZERO), PROTO_ELIMIT);
    proto_buf_init(&out, BIG);
    assert_int_equal(proto_batch_enc_finish(&enc, &out), PROTO_ELIMIT);
    proto_buf_free(&out);
    proto_batch_enc_free(&enc);

    proto_batch_enc_init(&enc);
    assert_int_equal(add_run_same(&enc, 1, 1, ZERO, MIN_OP, sizeof MIN_OP, 10000), 0);
    assert_int_equal(
        add_run_same(&enc, 2, 1, ZERO, MIN_OP, sizeof MIN_OP, PROTO_MAX_BATCH_OPS - 10000), 0);
    enc_finish(&enc, &out);
    assert_int_equal(decode(out.data, out.len, &b, &e), 0);
    assert_int_equal(b.nops, PROTO_MAX_BATCH_OPS);
    proto_batch_free(&b);

    /* one over: the second run's ops array says one more (the chain never gets checked) */
    struct w x;
    w_init(&x);
    w_raw(&x, out.data, out.len);
    size_t at = find(x.b.data, x.b.len, "\xdc\x18\xf0", 3); /* 6384 ops */
    x.b.data[at + 2] = 0xf1;
    w_raw(&x, MIN_OP, sizeof MIN_OP);
    assert_int_equal(decode(x.b.data, x.b.len, &b, &e), PROTO_ELIMIT);
    assert_msg(&e, "16384 ops");
    assert_batch_empty(&b);
    w_free(&x);
    proto_buf_free(&out);

    /* one run over the limit alone */
    w_init(&x);
    w_hex(&x, "91");
    put_run_head(&x, 5, 1, 1, ZERO, H, ZERO, H, PROTO_MAX_BATCH_OPS + 1);
    for (uint32_t i = 0; i <= PROTO_MAX_BATCH_OPS; i++)
        w_raw(&x, MIN_OP, sizeof MIN_OP);
    assert_int_equal(decode(x.b.data, x.b.len, &b, &e), PROTO_ELIMIT);
    w_free(&x);
}

static void test_proto_batch_runs_limit(void **state)
{
    (void)state;
    struct proto_batch_enc enc;
    struct proto_buf out;
    struct proto_batch b;
    struct proto_err e;

    proto_batch_enc_init(&enc);
    for (uint32_t r = 0; r < PROTO_MAX_BATCH_RUNS; r++)
        assert_int_equal(add_run_same(&enc, r + 1, 1, ZERO, MIN_OP, sizeof MIN_OP, 1), 0);
    assert_int_equal(proto_batch_enc_run(&enc, 1u << 20, 1, ZERO), PROTO_ELIMIT);
    proto_batch_enc_free(&enc);

    proto_batch_enc_init(&enc);
    for (uint32_t r = 0; r < PROTO_MAX_BATCH_RUNS; r++)
        assert_int_equal(add_run_same(&enc, r + 1, 1, ZERO, MIN_OP, sizeof MIN_OP, 1), 0);
    enc_finish(&enc, &out);
    assert_int_equal(decode(out.data, out.len, &b, &e), 0);
    assert_int_equal(b.nruns, PROTO_MAX_BATCH_RUNS);
    assert_int_equal(b.nops, PROTO_MAX_BATCH_RUNS);
    assert_true(b.runs[PROTO_MAX_BATCH_RUNS - 1].origin == PROTO_MAX_BATCH_RUNS);
    proto_batch_free(&b);

    /* 4097 runs: header dc 10 01 and a copy of the first run */
    struct w x;
    w_init(&x);
    assert_int_equal(out.data[0], 0xdc);
    w_hex(&x, "dc");
    w_raw(&x, "\x10\x01", 2);
    w_raw(&x, out.data + 3, out.len - 3);
    const size_t run_len = 1 + 1 + 1 + 2 * (2 + H) + 1 + sizeof MIN_OP; /* origin 1, one op */
    assert_int_equal(out.data[3], 0x95);
    assert_int_equal(out.data[3 + run_len], 0x95);
    w_raw(&x, out.data + 3, run_len);
    assert_int_equal(decode(x.b.data, x.b.len, &b, &e), PROTO_ELIMIT);
    assert_msg(&e, "4097 runs");
    assert_batch_empty(&b);
    w_free(&x);
    proto_buf_free(&out);
}

/* A batch of one run whose encoding is exactly total bytes (payloads [0, "", 1, {1: bin}]). */
static void batch_of_size(struct proto_buf *out, size_t total, struct w *small, struct w *large)
{
    const uint32_t k = 257; /* dc header: 43 bytes of envelope */
    size_t sum = total - 43;
    size_t base = sum / k, rem = sum % k;
    assert_true(base + 1 <= PROTO_MAX_OP_BYTES);
    w_init(small);
    w_init(large);
    w_hex(small, "94 00 a0 01");
    body_of_size(small, base - 4);
    w_hex(large, "94 00 a0 01");
    body_of_size(large, base + 1 - 4);
    struct proto_batch_enc enc;
    uint8_t h[H];
    memcpy(h, ZERO, H);
    proto_batch_enc_init(&enc);
    assert_int_equal(proto_batch_enc_run(&enc, 1, 1, ZERO), 0);
    for (uint32_t i = 0; i < k; i++) {
        const struct w *p = i < rem ? large : small;
        proto_op_hash(1, 1 + i, h, p->b.data, p->b.len, h);
        assert_int_equal(proto_batch_enc_op(&enc, p->b.data, (uint32_t)p->b.len, h), 0);
    }
    enc_finish(&enc, out);
    assert_int_equal(out->len, total);
}

static void test_proto_batch_body_bytes_limit(void **state)
{
    (void)state;
    struct proto_buf out;
    struct proto_batch b;
    struct proto_err e;
    struct w s, l;

    batch_of_size(&out, PROTO_MAX_BODY_BYTES, &s, &l);
    assert_int_equal(decode(out.data, out.len, &b, &e), 0);
    assert_int_equal(b.nops, 257);
    proto_batch_free(&b);
    proto_buf_free(&out);
    w_free(&s);
    w_free(&l);

    batch_of_size(&out, PROTO_MAX_BODY_BYTES + 1, &s, &l);
    assert_int_equal(decode(out.data, out.len, &b, &e), PROTO_ELIMIT);
    assert_msg(&e, "16777217");
    assert_batch_empty(&b);
    proto_buf_free(&out);
    w_free(&s);
    w_free(&l);
}

/* ---- version vectors ---- */

static void hash_of(uint8_t h[H], unsigned seed)
{
    for (unsigned i = 0; i < H; i++)
        h[i] = (uint8_t)(seed * 31 + i);
}

static void test_proto_vv_round_trip(void **state)
{
    (void)state;
    struct proto_vv vv, back;
    struct proto_buf out;
    struct proto_err e;
    uint8_t h[3][H];
    const uint64_t origins[] = {UINT64_MAX, 5, 0x9a3f00c0ffee0001ull};
    const uint64_t seqs[] = {1, 1ull << 40, 77};
    proto_vv_init(&vv);
    for (int i = 0; i < 3; i++) {
        hash_of(h[i], (unsigned)i);
        assert_int_equal(proto_vv_set(&vv, origins[i], seqs[i], h[i]), 0);
    }
    /* replacing keeps one entry */
    assert_int_equal(proto_vv_set(&vv, 5, 2, h[0]), 0);
    assert_int_equal(proto_vv_set(&vv, 5, seqs[1], h[1]), 0);
    assert_int_equal(vv.n, 3);
    assert_true(vv.e[0].origin == 5 && vv.e[2].origin == UINT64_MAX);
    proto_buf_init(&out, 4096);
    assert_int_equal(proto_vv_encode(&vv, &out), 0);
    proto_vv_init(&back);
    assert_int_equal(proto_vv_decode(out.data, out.len, &back, &e), 0);
    assert_int_equal(back.n, 3);
    for (int i = 0; i < 3; i++) {
        const struct proto_vv_entry *x = proto_vv_get(&back, origins[i]);
        assert_non_null(x);
        assert_true(x->seq == seqs[i]);
        assert_memory_equal(x->hash, h[i], H);
        assert_true(proto_vv_seq(&back, origins[i]) == seqs[i]);
    }
    assert_null(proto_vv_get(&back, 6));
    assert_int_equal(proto_vv_seq(&back, 6), 0);
    /* the empty vector */
    struct proto_vv empty;
    proto_vv_init(&empty);
    proto_buf_reset(&out);
    assert_int_equal(proto_vv_encode(&empty, &out), 0);
    assert_int_equal(out.len, 1);
    assert_int_equal(proto_vv_decode(out.data, out.len, &empty, &e), 0);
    assert_int_equal(empty.n, 0);
    proto_vv_free(&vv);
    proto_vv_free(&back);
    proto_buf_free(&out);
}

/* A vector of the given entries written by hand. */
static void vv_hand(struct w *x, const uint64_t *origins, const uint64_t *seqs,
                    const uint32_t *hash_lens, int n)
{
    uint8_t h[32] = {0};
    msgpack_pack_array(&x->pk, (uint32_t)n);
    for (int i = 0; i < n; i++) {
        msgpack_pack_array(&x->pk, 3);
        msgpack_pack_uint64(&x->pk, origins[i]);
        msgpack_pack_uint64(&x->pk, seqs[i]);
        msgpack_pack_bin_with_body(&x->pk, h, hash_lens[i]);
    }
}

static void expect_vv(const struct w *x, int rc, const char *what)
{
    struct proto_vv vv;
    struct proto_err e;
    uint8_t *p = dup_bytes(x->b.data, x->b.len);
    proto_vv_init(&vv);
    proto_err_clear(&e);
    int got = proto_vv_decode(p, x->b.len, &vv, &e);
    if (got != rc)
        fail_msg("%s: %d (%s), wanted %d", what, got, e.msg, rc);
    if (rc) {
        assert_msg(&e, "version vector");
        assert_msg(&e, what);
        assert_int_equal(vv.n, 0);
        assert_null(vv.e);
    }
    proto_vv_free(&vv);
    free(p);
}

static void test_proto_vv_refuses_bad_entries(void **state)
{
    (void)state;
    const uint32_t l16[] = {H, H, H};
    struct w x;
    {
        const uint64_t o[] = {1, 2, 2}, s[] = {1, 1, 1};
        w_init(&x);
        vv_hand(&x, o, s, l16, 3);
        expect_vv(&x, PROTO_EFIELD, "entry 2: origins not strictly ascending");
        w_free(&x);
    }
    {
        const uint64_t o[] = {1, 9, 3}, s[] = {1, 1, 1};
        w_init(&x);
        vv_hand(&x, o, s, l16, 3);
        expect_vv(&x, PROTO_EFIELD, "entry 2: origins not strictly ascending");
        w_free(&x);
    }
    {
        const uint64_t o[] = {1, 2}, s[] = {1, 0};
        w_init(&x);
        vv_hand(&x, o, s, l16, 2);
        expect_vv(&x, PROTO_EFIELD, "entry 1: seq");
        w_free(&x);
    }
    const uint32_t bad_lens[] = {0, 15, 17, 32};
    for (size_t i = 0; i < sizeof bad_lens / sizeof bad_lens[0]; i++) {
        const uint64_t o[] = {1, 2}, s[] = {1, 1};
        const uint32_t l[] = {H, bad_lens[i]};
        w_init(&x);
        vv_hand(&x, o, s, l, 2);
        expect_vv(&x, PROTO_EFIELD, "entry 1: hash");
        w_free(&x);
    }
    static const struct {
        const char *hex;
        int rc;
        const char *what;
    } t[] = {
        {"c0", PROTO_EMALFORMED, "not an array"},
        {"91 c0", PROTO_EMALFORMED, "entry 0: not an array of 3"},
        {"91 92 01 01", PROTO_EFIELD, "entry 0: not an array of 3"},
        {"91 94 01 01 c4 00 c0", PROTO_EFIELD, "entry 0: not an array of 3"},
        {"91 93 ff 01 c4 00", PROTO_EMALFORMED, "entry 0: origin"},
        {"91 93 01 a0 c4 00", PROTO_EMALFORMED, "entry 0: seq"},
        {"91 93 01 01 b0 00000000000000000000000000000000", PROTO_EMALFORMED, "entry 0: hash"},
        {"90 c0", PROTO_EMALFORMED, "trailing"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        w_init(&x);
        w_hex(&x, t[i].hex);
        expect_vv(&x, t[i].rc, t[i].what);
        w_free(&x);
    }
}

static void test_proto_vv_truncated_every_offset(void **state)
{
    (void)state;
    const uint64_t o[] = {1, 300, UINT64_MAX}, s[] = {1, 70000, 5};
    const uint32_t l[] = {H, H, H};
    struct w x;
    w_init(&x);
    vv_hand(&x, o, s, l, 3);
    for (size_t k = 0; k < x.b.len; k++) {
        uint8_t *c = dup_bytes(x.b.data, k);
        struct proto_vv vv;
        struct proto_err e;
        proto_vv_init(&vv);
        int rc = proto_vv_decode(c, k, &vv, &e);
        if (rc != PROTO_EMALFORMED)
            fail_msg("truncated at %zu: %d (%s)", k, rc, e.msg);
        assert_int_equal(vv.n, 0);
        proto_vv_free(&vv);
        free(c);
    }
    w_free(&x);
}

static void test_proto_vv_entries_limit(void **state)
{
    (void)state;
    struct proto_vv vv, back;
    struct proto_buf out;
    struct proto_err e;
    uint8_t h[H];
    hash_of(h, 1);
    proto_vv_init(&vv);
    for (uint32_t i = 0; i < PROTO_MAX_VV_ENTRIES; i++)
        assert_int_equal(proto_vv_set(&vv, (uint64_t)i * 7, 1, h), 0);
    /* replacing is still fine at the limit, a new origin is not */
    assert_int_equal(proto_vv_set(&vv, 0, 2, h), 0);
    assert_int_equal(proto_vv_set(&vv, 1, 1, h), PROTO_ELIMIT);
    assert_int_equal(vv.n, PROTO_MAX_VV_ENTRIES);
    proto_buf_init(&out, BIG);
    assert_int_equal(proto_vv_encode(&vv, &out), 0);
    proto_vv_init(&back);
    assert_int_equal(proto_vv_decode(out.data, out.len, &back, &e), 0);
    assert_int_equal(back.n, PROTO_MAX_VV_ENTRIES);
    proto_vv_free(&back);

    /* one more entry: the header says 65537 and the bytes are there */
    struct w x;
    w_init(&x);
    assert_int_equal(out.data[0], 0xdd);
    w_hex(&x, "dd 00 01 00 01");
    w_raw(&x, out.data + 5, out.len - 5);
    w_hex(&x, "93 cf 7f 00 00 00 00 00 00 00 01 c4 10");
    w_raw(&x, h, H);
    assert_int_equal(proto_vv_decode(x.b.data, x.b.len, &back, &e), PROTO_ELIMIT);
    assert_msg(&e, "65537 entries");
    assert_int_equal(back.n, 0);
    proto_vv_free(&back);
    w_free(&x);
    proto_vv_free(&vv);
    proto_buf_free(&out);
}

/* ---- bounded buffer ---- */

static void test_proto_buf_max_and_one_more(void **state)
{
    (void)state;
    struct proto_buf b;
    const char sixteen[] = "0123456789abcdef";
    proto_buf_init(&b, 16);
    assert_null(b.data);
    assert_int_equal(proto_buf_add(&b, sixteen, 10), 0);
    assert_int_equal(proto_buf_add(&b, sixteen + 10, 6), 0);
    assert_int_equal(b.len, 16);
    assert_memory_equal(b.data, sixteen, 16);
    assert_int_equal(b.data[16], '\0');
    assert_int_equal(proto_buf_failed(&b), 0);
    /* one byte more */
    assert_int_equal(proto_buf_add(&b, "x", 1), -EMSGSIZE);
    assert_int_equal(b.len, 16);
    assert_int_equal(proto_buf_failed(&b), -EMSGSIZE);
    /* the error sticks, even for nothing */
    assert_int_equal(proto_buf_add(&b, "", 0), -EMSGSIZE);
    assert_int_equal(proto_buf_reserve(&b, 0), -EMSGSIZE);
    /* reset forgets it */
    proto_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(proto_buf_failed(&b), 0);
    assert_int_equal(proto_buf_reserve(&b, 16), 0);
    assert_int_equal(proto_buf_reserve(&b, 17), -EMSGSIZE);
    proto_buf_reset(&b);
    assert_int_equal(proto_buf_add(&b, sixteen, 17), -EMSGSIZE);
    assert_int_equal(b.len, 0);
    proto_buf_reset(&b);
    assert_int_equal(proto_buf_add(&b, sixteen, 16), 0);
    proto_buf_free(&b);
    assert_null(b.data);
    assert_int_equal(b.max, 16);

    /* text at the maximum and one past it */
    proto_buf_init(&b, 5);
    assert_int_equal(proto_buf_printf(&b, "%d", 12345), 0);
    assert_string_equal((const char *)b.data, "12345");
    proto_buf_reset(&b);
    assert_int_equal(proto_buf_printf(&b, "%d", 123456), -EMSGSIZE);
    proto_buf_free(&b);

    /* a buffer of at most nothing */
    proto_buf_init(&b, 0);
    assert_int_equal(proto_buf_add(&b, "", 0), 0);
    assert_int_equal(proto_buf_add(&b, "x", 1), -EMSGSIZE);
    proto_buf_free(&b);

    /* the msgpack-c callback reports a full buffer to the packer */
    proto_buf_init(&b, 2);
    assert_int_equal(proto_buf_msgpack_write(&b, "ab", 2), 0);
    assert_int_equal(proto_buf_msgpack_write(&b, "c", 1), -1);
    proto_buf_free(&b);

    /* a large maximum allocates only what is used */
    proto_buf_init(&b, (size_t)1 << 40);
    assert_int_equal(proto_buf_add(&b, "x", 1), 0);
    assert_true(b.cap < 4096);
    proto_buf_free(&b);
}

static void test_proto_error_names(void **state)
{
    (void)state;
    struct proto_err e;
    assert_string_equal(proto_errname(PROTO_ELIMIT), "PROTO_ELIMIT");
    assert_string_equal(proto_errname(PROTO_ECHAIN), "PROTO_ECHAIN");
    assert_string_equal(proto_errname(-EMSGSIZE), "EMSGSIZE");
    assert_string_equal(proto_strerror(PROTO_EMALFORMED), "malformed msgpack");
    proto_err_clear(&e);
    assert_int_equal(proto_errf(&e, PROTO_EFIELD, "bad '%s'", "x"), PROTO_EFIELD);
    assert_string_equal(proto_err_text(&e), "bad 'x'");
    proto_err_clear(&e);
    e.code = PROTO_ECHAIN;
    assert_string_equal(proto_err_text(&e), "op hash chain does not match");
    assert_int_equal(proto_errf(NULL, -EINVAL, "nobody listens"), -EINVAL);
}

/* ---- golden vectors (tests/data, written by tests/data/gen_golden.py) ---- */

#define HLC_A ((1790000000000ull << 16) | 3)
#define HLC_B (1790000000500ull << 16)

/* Read tests/data/name (under $RELIEF_SRC when set) as hex. */
static size_t load_golden(const char *name, uint8_t *out, size_t max)
{
    char path[1024];
    const char *root = getenv("RELIEF_SRC");
    snprintf(path, sizeof path, "%s%stests/data/%s", root ? root : "", root ? "/" : "", name);
    FILE *f = fopen(path, "r");
    if (!f)
        fail_msg("cannot open '%s' (run from the repository root or set RELIEF_SRC)", path);
    char text[8192];
    size_t n = fread(text, 1, sizeof text - 1, f);
    assert_true(feof(f));
    fclose(f);
    text[n] = '\0';
    return unhex(text, out, max);
}

static void pack_op(struct proto_buf *out, uint64_t hlc, const char *author, uint32_t kind,
                    const char *name, int64_t num)
{
    struct w body;
    w_init(&body);
    msgpack_pack_map(&body.pk, 1);
    msgpack_pack_uint32(&body.pk, 1);
    if (name)
        msgpack_pack_str_with_body(&body.pk, name, strlen(name));
    else
        msgpack_pack_int64(&body.pk, num);
    proto_buf_init(out, PROTO_MAX_OP_BYTES);
    assert_int_equal(proto_op_pack(out, hlc, author, strlen(author), kind, body.b.data, body.b.len),
                     0);
    w_free(&body);
}

static void assert_op(const struct proto_op *op, uint64_t hlc, const char *author, uint32_t kind,
                      const struct proto_buf *payload)
{
    assert_true(op->hlc == hlc);
    assert_int_equal(op->author_len, strlen(author));
    assert_memory_equal(op->author, author, op->author_len);
    assert_int_equal(op->kind, kind);
    assert_int_equal(op->payload_len, payload->len);
    assert_memory_equal(op->payload, payload->data, payload->len);
}

static void test_proto_golden_op_node(void **state)
{
    (void)state;
    uint8_t g[256];
    size_t n = load_golden("op_node.hex", g, sizeof g);
    struct proto_buf p;
    pack_op(&p, HLC_A, "aiko", PROTO_KIND_NODE, "Sendai shelter 3", 0);
    assert_int_equal(p.len, n);
    assert_memory_equal(p.data, g, n);
    struct proto_op op;
    struct proto_err e;
    assert_int_equal(proto_op_parse(g, n, &op, &e), 0);
    assert_op(&op, HLC_A, "aiko", PROTO_KIND_NODE, &p);
    const uint8_t body[] = "\x81\x01\xb0Sendai shelter 3";
    assert_int_equal(op.body_len, sizeof body - 1);
    assert_memory_equal(op.body, body, op.body_len);
    proto_buf_free(&p);
}

static void test_proto_golden_op_unknown_kind(void **state)
{
    (void)state;
    uint8_t g[256], want[64];
    size_t n = load_golden("op_unknown_kind.hex", g, sizeof g);
    size_t wn = unhex(OP_UNKNOWN_HEX, want, sizeof want);
    assert_int_equal(n, wn);
    assert_memory_equal(g, want, n);
    /* encode: op_pack's four elements, two more appended by hand */
    struct w body;
    struct proto_buf p;
    w_init(&body);
    msgpack_pack_map(&body.pk, 2);
    msgpack_pack_uint32(&body.pk, 1);
    msgpack_pack_uint32(&body.pk, 7);
    msgpack_pack_uint32(&body.pk, 9);
    msgpack_pack_array(&body.pk, 3);
    msgpack_pack_int(&body.pk, 1);
    msgpack_pack_int(&body.pk, -2);
    msgpack_pack_str_with_body(&body.pk, "x", 1);
    proto_buf_init(&p, PROTO_MAX_OP_BYTES);
    assert_int_equal(proto_op_pack(&p, HLC_B + 9, "ken", 3, 4242, body.b.data, body.b.len), 0);
    assert_int_equal(p.data[0], 0x94);
    p.data[0] = 0x96;
    assert_int_equal(proto_buf_add(&p, "\xc0\xc4\x02\x01\x02", 5), 0);
    assert_int_equal(p.len, n);
    assert_memory_equal(p.data, g, n);
    /* decode */
    struct proto_op op;
    struct proto_err e;
    assert_int_equal(proto_op_parse(g, n, &op, &e), 0);
    assert_op(&op, HLC_B + 9, "ken", 4242, &p);
    assert_int_equal(op.body_len, body.b.len);
    assert_memory_equal(op.body, body.b.data, body.b.len);
    w_free(&body);
    proto_buf_free(&p);
}

/* The golden batch's ops and last hashes, made by the C encoder from the fixed inputs. */
struct golden_batch {
    struct proto_buf a1, a2, b5, out;
    uint8_t last_a[H], last_b[H];
};

static void make_golden_batch(struct golden_batch *g)
{
    pack_op(&g->a1, HLC_A, "aiko", 1, "Sendai shelter 3", 0);
    pack_op(&g->a2, HLC_A + 1, "aiko", 4242, NULL, 7);
    pack_op(&g->b5, HLC_B, "ken", 1, "Ishinomaki depot", 0);
    const uint8_t *pa[] = {g->a1.data, g->a2.data}, *pb[] = {g->b5.data};
    const uint32_t la[] = {(uint32_t)g->a1.len, (uint32_t)g->a2.len}, lb[] = {(uint32_t)g->b5.len};
    struct proto_batch_enc enc;
    proto_batch_enc_init(&enc);
    add_run(&enc, ORIGIN_A, 1, ZERO, pa, la, 2, g->last_a);
    add_run(&enc, ORIGIN_B, 5, PREV_B, pb, lb, 1, g->last_b);
    enc_finish(&enc, &g->out);
}

static void free_golden_batch(struct golden_batch *g)
{
    proto_buf_free(&g->a1);
    proto_buf_free(&g->a2);
    proto_buf_free(&g->b5);
    proto_buf_free(&g->out);
}

static void test_proto_golden_batch_two_runs(void **state)
{
    (void)state;
    uint8_t g[1024];
    size_t n = load_golden("batch_two_runs.hex", g, sizeof g);
    struct golden_batch gb;
    make_golden_batch(&gb);
    assert_int_equal(gb.out.len, n);
    assert_memory_equal(gb.out.data, g, n);

    struct proto_batch b;
    struct proto_err e;
    assert_int_equal(decode(g, n, &b, &e), 0);
    assert_int_equal(b.nruns, 2);
    assert_int_equal(b.nops, 3);
    assert_true(b.runs[0].origin == ORIGIN_A);
    assert_true(b.runs[0].first_seq == 1);
    assert_memory_equal(b.runs[0].prev, ZERO, H);
    assert_memory_equal(b.runs[0].last, gb.last_a, H);
    assert_int_equal(b.runs[0].nops, 2);
    assert_true(b.runs[1].origin == ORIGIN_B);
    assert_true(b.runs[1].first_seq == 5);
    assert_memory_equal(b.runs[1].prev, PREV_B, H);
    assert_memory_equal(b.runs[1].last, gb.last_b, H);
    assert_int_equal(b.runs[1].nops, 1);
    assert_op(&b.ops[0], HLC_A, "aiko", 1, &gb.a1);
    assert_op(&b.ops[1], HLC_A + 1, "aiko", 4242, &gb.a2);
    assert_op(&b.ops[2], HLC_B, "ken", 1, &gb.b5);
    assert_true(b.ops[1].seq == 2 && b.ops[2].seq == 5);
    /* the hash of the first op, independent of the chain code: BLAKE2b-128 of its input */
    uint8_t in[8 + 8 + H + 256], h[H];
    proto_put_be64(in, ORIGIN_A);
    proto_put_be64(in + 8, 1);
    memset(in + 16, 0, H);
    memcpy(in + 16 + H, gb.a1.data, gb.a1.len);
    assert_int_equal(crypto_generichash(h, H, in, 16 + H + gb.a1.len, NULL, 0), 0);
    assert_memory_equal(b.ops[0].hash, h, H);
    proto_batch_free(&b);
    free_golden_batch(&gb);
}

static void test_proto_golden_vv_two(void **state)
{
    (void)state;
    uint8_t g[256];
    size_t n = load_golden("vv_two.hex", g, sizeof g);
    struct golden_batch gb;
    make_golden_batch(&gb);
    struct proto_vv vv;
    struct proto_buf out;
    struct proto_err e;
    proto_vv_init(&vv);
    assert_int_equal(proto_vv_set(&vv, ORIGIN_B, 5, gb.last_b), 0);
    assert_int_equal(proto_vv_set(&vv, ORIGIN_A, 2, gb.last_a), 0);
    proto_buf_init(&out, 1024);
    assert_int_equal(proto_vv_encode(&vv, &out), 0);
    assert_int_equal(out.len, n);
    assert_memory_equal(out.data, g, n);
    proto_vv_free(&vv);
    assert_int_equal(proto_vv_decode(g, n, &vv, &e), 0);
    assert_int_equal(vv.n, 2);
    assert_true(vv.e[0].origin == ORIGIN_A && vv.e[0].seq == 2);
    assert_memory_equal(vv.e[0].hash, gb.last_a, H);
    assert_true(vv.e[1].origin == ORIGIN_B && vv.e[1].seq == 5);
    assert_memory_equal(vv.e[1].hash, gb.last_b, H);
    proto_vv_free(&vv);
    proto_buf_free(&out);
    free_golden_batch(&gb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_proto_mp_peek_every_type),
        cmocka_unit_test(test_proto_mp_nil_bool),
        cmocka_unit_test(test_proto_mp_uint_every_encoding),
        cmocka_unit_test(test_proto_mp_int_every_encoding),
        cmocka_unit_test(test_proto_mp_str_every_header),
        cmocka_unit_test(test_proto_mp_bin_every_header),
        cmocka_unit_test(test_proto_mp_array_map_headers),
        cmocka_unit_test(test_proto_mp_skip_every_type),
        cmocka_unit_test(test_proto_mp_check_one_object),
        cmocka_unit_test(test_proto_mp_depth_limit),
        cmocka_unit_test(test_proto_mp_str_bytes_limit),
        cmocka_unit_test_setup_teardown(test_proto_mp_alloc_bomb, limit_setup, limit_teardown),
        cmocka_unit_test(test_proto_op_pack_parse_round_trip),
        cmocka_unit_test(test_proto_op_unknown_kind_and_elements_carried),
        cmocka_unit_test(test_proto_op_parse_names_the_field),
        cmocka_unit_test(test_proto_op_pack_refuses_bad_arguments),
        cmocka_unit_test(test_proto_op_author_limit),
        cmocka_unit_test(test_proto_op_kind_limit),
        cmocka_unit_test(test_proto_op_bytes_limit),
        cmocka_unit_test(test_proto_op_depth_limit),
        cmocka_unit_test(test_proto_batch_round_trip_several_runs),
        cmocka_unit_test(test_proto_batch_empty),
        cmocka_unit_test(test_proto_batch_chain_mismatch),
        cmocka_unit_test(test_proto_batch_prev_zero_at_seq_1),
        cmocka_unit_test(test_proto_batch_truncated_every_offset),
        cmocka_unit_test(test_proto_batch_every_byte_changed),
        cmocka_unit_test(test_proto_batch_names_run_op_field),
        cmocka_unit_test(test_proto_batch_run_extra_elements),
        cmocka_unit_test(test_proto_batch_depth_limit),
        cmocka_unit_test(test_proto_batch_ops_limit),
        cmocka_unit_test(test_proto_batch_runs_limit),
        cmocka_unit_test(test_proto_batch_body_bytes_limit),
        cmocka_unit_test(test_proto_vv_round_trip),
        cmocka_unit_test(test_proto_vv_refuses_bad_entries),
        cmocka_unit_test(test_proto_vv_truncated_every_offset),
        cmocka_unit_test(test_proto_vv_entries_limit),
        cmocka_unit_test(test_proto_buf_max_and_one_more),
        cmocka_unit_test(test_proto_error_names),
        cmocka_unit_test(test_proto_golden_op_node),
        cmocka_unit_test(test_proto_golden_op_unknown_kind),
        cmocka_unit_test(test_proto_golden_batch_two_runs),
        cmocka_unit_test(test_proto_golden_vv_two),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
