/*
 * A bounds-checked msgpack reader.
 *
 * msgpack-c's unpacker sizes allocations from declared counts (the 6 bytes dd 0f ff ff ff 01
 * make it ask for 8 GiB) and has no depth limit, so relief never hands it untrusted bytes.
 * This reader walks the input in place: every declared length of a str, bin, ext, array or map
 * is checked against the bytes left (an array of n elements needs at least n bytes, a map 2n)
 * and against a limit before it is used, and containers may nest at most a given depth. It
 * allocates nothing; strings and bins are returned as pointers into the input.
 *
 * Every function returns 0 or a negative code (PROTO_EMALFORMED: bad or truncated bytes, a
 * wrong type; PROTO_ELIMIT: a length over its limit) and advances the cursor only on success.
 */
#ifndef PROTO_MP_H
#define PROTO_MP_H

#include <stddef.h>
#include <stdint.h>

struct proto_mp {
    const uint8_t *p;
    const uint8_t *end;
};

enum proto_mp_type {
    PROTO_MP_NIL = 1,
    PROTO_MP_BOOL,
    PROTO_MP_UINT,  /* a non-negative integer, whatever its encoding */
    PROTO_MP_NINT,  /* a negative integer */
    PROTO_MP_FLOAT,
    PROTO_MP_STR,
    PROTO_MP_BIN,
    PROTO_MP_ARRAY,
    PROTO_MP_MAP,
    PROTO_MP_EXT,
};

static inline void proto_mp_init(struct proto_mp *m, const void *p, size_t n)
{
    m->p = p;
    m->end = m->p + n;
}

static inline size_t proto_mp_left(const struct proto_mp *m)
{
    return (size_t)(m->end - m->p);
}

/* Type of the next object (an enum proto_mp_type), or PROTO_EMALFORMED at the end or on 0xc1. */
int proto_mp_peek(const struct proto_mp *m);

int proto_mp_nil(struct proto_mp *m);
int proto_mp_bool(struct proto_mp *m, int *v);
/* Any integer encoding whose value is >= 0. */
int proto_mp_uint(struct proto_mp *m, uint64_t *v);
/* Any integer encoding whose value fits int64_t. */
int proto_mp_int(struct proto_mp *m, int64_t *v);
/* A str of at most max bytes (not NUL-terminated). */
int proto_mp_str(struct proto_mp *m, const char **s, uint32_t *n, uint32_t max);
/* A bin of at most max bytes. */
int proto_mp_bin(struct proto_mp *m, const uint8_t **b, uint32_t *n, uint32_t max);
/* An array header; *n is at most the bytes left. */
int proto_mp_array(struct proto_mp *m, uint32_t *n);
/* A map header; *n pairs, 2 * *n at most the bytes left. */
int proto_mp_map(struct proto_mp *m, uint32_t *n);

/*
 * Skip one whole object, checking it is well formed: every length within the input and within
 * PROTO_MAX_STR_BYTES, containers nested at most max_depth deep (an object that is not a
 * container has depth 0, an empty array 1).
 */
int proto_mp_skip(struct proto_mp *m, unsigned max_depth);

/* 0 when p[0..n) is exactly one well-formed object of at most max_depth. */
int proto_mp_check(const void *p, size_t n, unsigned max_depth);

#endif
