/*
 * Op payload encoding, parsing and hashing (see op.h).
 */
#include "op.h"

#include "mp.h"

#include <errno.h>
#include <msgpack.h>
#include <sodium.h>
#include <string.h>

int proto_op_read(struct proto_mp *m, struct proto_op *op, struct proto_err *e)
{
    const uint8_t *start = m->p;
    uint32_t n;
    uint64_t kind;
    int rc;

    if ((rc = proto_mp_array(m, &n)))
        return proto_errf(e, rc, "op: not an array");
    if (n < 4)
        return proto_errf(e, PROTO_EFIELD, "op: %u elements, at least 4 expected", n);
    if ((rc = proto_mp_uint(m, &op->hlc)))
        return proto_errf(e, rc, "op: hlc: not an unsigned integer");
    if ((rc = proto_mp_str(m, &op->author, &op->author_len, PROTO_MAX_AUTHOR_BYTES)))
        return proto_errf(e, rc, "op: author: %s",
                          rc == PROTO_ELIMIT ? "longer than 256 bytes" : "not a string");
    if ((rc = proto_mp_uint(m, &kind)))
        return proto_errf(e, rc, "op: kind: not an unsigned integer");
    if (kind == 0 || kind > PROTO_MAX_KIND)
        return proto_errf(e, PROTO_EFIELD, "op: kind: %llu out of range 1..%u",
                          (unsigned long long)kind, PROTO_MAX_KIND);
    op->kind = (uint32_t)kind;
    if (proto_mp_peek(m) != PROTO_MP_MAP)
        return proto_errf(e, PROTO_EFIELD, "op: body: not a map");
    op->body = m->p;
    /* the payload array is depth 1, so the body may use the rest */
    if ((rc = proto_mp_skip(m, PROTO_MAX_OP_DEPTH - 1)))
        return proto_errf(e, rc, "op: body: %s",
                          rc == PROTO_ELIMIT ? "exceeds a limit" : "malformed");
    op->body_len = (uint32_t)(m->p - op->body);
    for (uint32_t i = 4; i < n; i++)
        if ((rc = proto_mp_skip(m, PROTO_MAX_OP_DEPTH - 1)))
            return proto_errf(e, rc, "op: element %u: %s", i,
                              rc == PROTO_ELIMIT ? "exceeds a limit" : "malformed");
    size_t len = (size_t)(m->p - start);
    if (len > PROTO_MAX_OP_BYTES)
        return proto_errf(e, PROTO_ELIMIT, "op of %zu bytes exceeds the limit of %u", len,
                          PROTO_MAX_OP_BYTES);
    op->payload = start;
    op->payload_len = (uint32_t)len;
    return 0;
}

int proto_op_parse(const uint8_t *payload, size_t len, struct proto_op *op, struct proto_err *e)
{
    struct proto_mp m;
    int rc;

    if (len > PROTO_MAX_OP_BYTES)
        return proto_errf(e, PROTO_ELIMIT, "op of %zu bytes exceeds the limit of %u", len,
                          PROTO_MAX_OP_BYTES);
    proto_mp_init(&m, payload, len);
    if ((rc = proto_op_read(&m, op, e)))
        return rc;
    if (m.p != m.end)
        return proto_errf(e, PROTO_EMALFORMED, "op: %zu trailing bytes", proto_mp_left(&m));
    return 0;
}

/* Bytes msgpack-c's minimal encoding of an unsigned integer takes. */
static size_t uint_bytes(uint64_t v)
{
    return v < 0x80 ? 1 : v <= 0xff ? 2 : v <= 0xffff ? 3 : v <= 0xffffffff ? 5 : 9;
}

/* Bytes of a str header for n bytes. */
static size_t str_header_bytes(size_t n)
{
    return n < 32 ? 1 : n <= 0xff ? 2 : n <= 0xffff ? 3 : 5;
}

int proto_op_pack(struct proto_buf *out, uint64_t hlc, const char *author, size_t author_len,
                  uint32_t kind, const uint8_t *body, size_t body_len)
{
    msgpack_packer pk;

    if (kind == 0 || kind > PROTO_MAX_KIND || author_len > PROTO_MAX_AUTHOR_BYTES)
        return -EINVAL;
    if (body_len > PROTO_MAX_OP_BYTES)
        return -EMSGSIZE;
    if (body_len == 0 || proto_mp_check(body, body_len, PROTO_MAX_OP_DEPTH - 1) ||
        !((body[0] >= 0x80 && body[0] <= 0x8f) || body[0] == 0xde || body[0] == 0xdf))
        return -EINVAL;
    /* the exact size, so that every payload proto_op_parse accepts can be made here */
    if (1 + uint_bytes(hlc) + str_header_bytes(author_len) + author_len + uint_bytes(kind) +
            body_len >
        PROTO_MAX_OP_BYTES)
        return -EMSGSIZE;
    msgpack_packer_init(&pk, out, proto_buf_msgpack_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint64(&pk, hlc);
    msgpack_pack_str_with_body(&pk, author, author_len);
    msgpack_pack_uint32(&pk, kind);
    proto_buf_add(out, body, body_len);
    return proto_buf_failed(out);
}

void proto_op_hash(uint64_t origin, uint64_t seq, const uint8_t prev[PROTO_HASH_BYTES],
                   const uint8_t *payload, size_t len, uint8_t out[PROTO_HASH_BYTES])
{
    /* typical ops are small: one contiguous buffer and one call */
    uint8_t buf[512];
    if (len <= sizeof buf - 32) {
        proto_put_be64(buf, origin);
        proto_put_be64(buf + 8, seq);
        memcpy(buf + 16, prev, PROTO_HASH_BYTES);
        memcpy(buf + 32, payload, len);
        crypto_generichash(out, PROTO_HASH_BYTES, buf, 32 + len, NULL, 0);
        return;
    }
    crypto_generichash_state st;
    uint8_t head[16];

    proto_put_be64(head, origin);
    proto_put_be64(head + 8, seq);
    crypto_generichash_init(&st, NULL, 0, PROTO_HASH_BYTES);
    crypto_generichash_update(&st, head, sizeof head);
    crypto_generichash_update(&st, prev, PROTO_HASH_BYTES);
    crypto_generichash_update(&st, payload, len);
    crypto_generichash_final(&st, out, PROTO_HASH_BYTES);
}
