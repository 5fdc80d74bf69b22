/*
 * Building LMDB keys: fixed-width big-endian integers and length-prefixed strings, so that
 * byte order is the order wanted and a prefix never runs into the next field.
 */
#ifndef RL_KEY_H
#define RL_KEY_H

#include "proto/op.h"

#include <stdint.h>
#include <string.h>

#define RL_KEY_MAX 480 /* LMDB's default maximum key size is 511 */

struct rl_key {
    uint8_t b[RL_KEY_MAX];
    size_t n;
};

static inline void rl_key_reset(struct rl_key *k)
{
    k->n = 0;
}

static inline void rl_key_u8(struct rl_key *k, uint8_t v)
{
    if (k->n < RL_KEY_MAX)
        k->b[k->n++] = v;
}

static inline void rl_key_u64(struct rl_key *k, uint64_t v)
{
    if (k->n + 8 <= RL_KEY_MAX) {
        proto_put_be64(k->b + k->n, v);
        k->n += 8;
    }
}

/* A string of at most 255 bytes, prefixed by its length. */
static inline void rl_key_str(struct rl_key *k, const void *s, size_t n)
{
    if (n > 255)
        n = 255;
    if (k->n + 1 + n <= RL_KEY_MAX) {
        k->b[k->n++] = (uint8_t)n;
        memcpy(k->b + k->n, s, n);
        k->n += n;
    }
}

static inline void rl_key_raw(struct rl_key *k, const void *p, size_t n)
{
    if (k->n + n <= RL_KEY_MAX) {
        memcpy(k->b + k->n, p, n);
        k->n += n;
    }
}

/* Whether a found key starts with prefix k. */
static inline int rl_key_has_prefix(const void *found, size_t fn, const struct rl_key *k)
{
    return fn >= k->n && memcmp(found, k->b, k->n) == 0;
}

#endif
