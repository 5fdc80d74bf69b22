/*
 * The op: the unit of change, of storage and of replication.
 *
 * An op is (origin, seq, prev, hlc, author, kind, body). Its payload -- the msgpack array
 * [hlc, author, kind, body, ...] -- is stored and forwarded as its exact bytes, so fields that a
 * newer version appends after the body (the signature slot first) pass through untouched.
 * origin, seq and prev are not in the payload: the receiver knows them from the batch's run
 * (origin, first seq, prev hash of the first op) and recomputes the chain
 *
 *     hash(op) = BLAKE2b-128(origin as 8 bytes BE || seq as 8 bytes BE || prev || payload)
 *
 * with prev of seq 1 being 16 zero bytes. PROTOCOL.md gives the bytes; see also batch.h.
 */
#ifndef PROTO_OP_H
#define PROTO_OP_H

#include "buf.h"
#include "error.h"
#include "limits.h"

#include <stddef.h>
#include <stdint.h>

struct proto_op {
    uint64_t origin;
    uint64_t seq;
    uint64_t hlc;
    uint32_t kind;
    uint32_t author_len;
    const char *author;  /* borrowed from the payload, not NUL-terminated */
    const uint8_t *body; /* the body map's bytes, borrowed */
    uint32_t body_len;
    const uint8_t *payload; /* the exact payload bytes, borrowed */
    uint32_t payload_len;
    uint8_t prev[PROTO_HASH_BYTES];
    uint8_t hash[PROTO_HASH_BYTES];
};

/*
 * Parse a payload (exactly len bytes) into op's hlc, author, kind, body and payload fields;
 * origin, seq, prev and hash are left alone. The body must be a map; its contents and any
 * elements after it are only checked for being well formed (an older node carries what it does
 * not know) and for nesting at most PROTO_MAX_OP_DEPTH deep, the payload array included.
 * 0, or PROTO_EMALFORMED / PROTO_ELIMIT / PROTO_EFIELD with a message in e.
 */
int proto_op_parse(const uint8_t *payload, size_t len, struct proto_op *op, struct proto_err *e);

struct proto_mp;
/* The same for the payload at a cursor (inside a batch), which is left after it. */
int proto_op_read(struct proto_mp *m, struct proto_op *op, struct proto_err *e);

/*
 * Append the payload [hlc, author, kind, body] to out; body must be the bytes of one msgpack
 * map. 0, -EINVAL for a bad argument (kind 0 or over PROTO_MAX_KIND, author too long, body not
 * one well-formed map or nested too deep), -EMSGSIZE when the payload would exceed
 * PROTO_MAX_OP_BYTES or out its maximum.
 */
int proto_op_pack(struct proto_buf *out, uint64_t hlc, const char *author, size_t author_len,
                  uint32_t kind, const uint8_t *body, size_t body_len);

/* The op hash of the chain (see above). */
void proto_op_hash(uint64_t origin, uint64_t seq, const uint8_t prev[PROTO_HASH_BYTES],
                   const uint8_t *payload, size_t len, uint8_t out[PROTO_HASH_BYTES]);

/* Big-endian helpers used for keys and hashes. */
static inline void proto_put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

static inline uint64_t proto_get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

#endif
