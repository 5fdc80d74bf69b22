/*
 * Bounds-checked msgpack reader (see mp.h). The format is the msgpack specification; the
 * numbers below are its type bytes.
 */
#include "mp.h"

#include "error.h"
#include "limits.h"

#include <string.h>

static inline uint64_t rd_be(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int proto_mp_peek(const struct proto_mp *m)
{
    if (m->p >= m->end)
        return PROTO_EMALFORMED;
    uint8_t c = *m->p;
    if (c <= 0x7f || (c >= 0xcc && c <= 0xcf))
        return PROTO_MP_UINT;
    if (c >= 0xe0)
        return PROTO_MP_NINT;
    if (c >= 0xd0 && c <= 0xd3) {
        /* signed encodings: the sign decides */
        unsigned n = 1u << (c - 0xd0);
        if (proto_mp_left(m) < 1 + n)
            return PROTO_EMALFORMED;
        return (m->p[1] & 0x80) ? PROTO_MP_NINT : PROTO_MP_UINT;
    }
    if ((c >= 0x80 && c <= 0x8f) || c == 0xde || c == 0xdf)
        return PROTO_MP_MAP;
    if ((c >= 0x90 && c <= 0x9f) || c == 0xdc || c == 0xdd)
        return PROTO_MP_ARRAY;
    if ((c >= 0xa0 && c <= 0xbf) || (c >= 0xd9 && c <= 0xdb))
        return PROTO_MP_STR;
    if (c >= 0xc4 && c <= 0xc6)
        return PROTO_MP_BIN;
    if (c == 0xc0)
        return PROTO_MP_NIL;
    if (c == 0xc2 || c == 0xc3)
        return PROTO_MP_BOOL;
    if (c == 0xca || c == 0xcb)
        return PROTO_MP_FLOAT;
    if ((c >= 0xc7 && c <= 0xc9) || (c >= 0xd4 && c <= 0xd8))
        return PROTO_MP_EXT;
    return PROTO_EMALFORMED; /* 0xc1 */
}

int proto_mp_nil(struct proto_mp *m)
{
    if (m->p >= m->end || *m->p != 0xc0)
        return PROTO_EMALFORMED;
    m->p++;
    return 0;
}

int proto_mp_bool(struct proto_mp *m, int *v)
{
    if (m->p >= m->end || (*m->p != 0xc2 && *m->p != 0xc3))
        return PROTO_EMALFORMED;
    *v = *m->p == 0xc3;
    m->p++;
    return 0;
}

/* Reads any integer as a sign flag and a magnitude-free 64-bit pattern. */
static int rd_int(struct proto_mp *m, uint64_t *u, int *neg)
{
    if (m->p >= m->end)
        return PROTO_EMALFORMED;
    uint8_t c = *m->p;
    size_t left = proto_mp_left(m);
    if (c <= 0x7f) {
        *u = c;
        *neg = 0;
        m->p++;
        return 0;
    }
    if (c >= 0xe0) {
        *u = (uint64_t)(int64_t)(int8_t)c;
        *neg = 1;
        m->p++;
        return 0;
    }
    if (c >= 0xcc && c <= 0xcf) {
        unsigned n = 1u << (c - 0xcc);
        if (left < 1 + n)
            return PROTO_EMALFORMED;
        *u = rd_be(m->p + 1, n);
        *neg = 0;
        m->p += 1 + n;
        return 0;
    }
    if (c >= 0xd0 && c <= 0xd3) {
        unsigned n = 1u << (c - 0xd0);
        if (left < 1 + n)
            return PROTO_EMALFORMED;
        uint64_t v = rd_be(m->p + 1, n);
        /* sign-extend */
        if (n < 8 && (v >> (n * 8 - 1)) & 1)
            v |= ~(uint64_t)0 << (n * 8);
        *u = v;
        *neg = (int64_t)v < 0;
        m->p += 1 + n;
        return 0;
    }
    return PROTO_EMALFORMED;
}

int proto_mp_uint(struct proto_mp *m, uint64_t *v)
{
    const uint8_t *save = m->p;
    int neg, rc = rd_int(m, v, &neg);
    if (rc)
        return rc;
    if (neg) {
        m->p = save;
        return PROTO_EMALFORMED;
    }
    return 0;
}

int proto_mp_int(struct proto_mp *m, int64_t *v)
{
    const uint8_t *save = m->p;
    uint64_t u;
    int neg, rc = rd_int(m, &u, &neg);
    if (rc)
        return rc;
    if (!neg && u > INT64_MAX) {
        m->p = save;
        return PROTO_ELIMIT;
    }
    *v = (int64_t)u;
    return 0;
}

/* Header of a str/bin/ext payload: its length and where its bytes start. */
static int rd_len(struct proto_mp *m, unsigned hdr, uint32_t len, uint32_t max, const uint8_t **b,
                  uint32_t *n)
{
    size_t left = proto_mp_left(m);
    if (left < hdr)
        return PROTO_EMALFORMED;
    if (len > left - hdr)
        return PROTO_EMALFORMED;
    if (len > max)
        return PROTO_ELIMIT;
    *b = m->p + hdr;
    *n = len;
    m->p += hdr + len;
    return 0;
}

int proto_mp_str(struct proto_mp *m, const char **s, uint32_t *n, uint32_t max)
{
    if (m->p >= m->end)
        return PROTO_EMALFORMED;
    uint8_t c = *m->p;
    size_t left = proto_mp_left(m);
    const uint8_t *b;
    int rc;
    if (c >= 0xa0 && c <= 0xbf)
        rc = rd_len(m, 1, c & 0x1f, max, &b, n);
    else if (c == 0xd9)
        rc = left < 2 ? PROTO_EMALFORMED : rd_len(m, 2, m->p[1], max, &b, n);
    else if (c == 0xda)
        rc = left < 3 ? PROTO_EMALFORMED : rd_len(m, 3, (uint32_t)rd_be(m->p + 1, 2), max, &b, n);
    else if (c == 0xdb)
        rc = left < 5 ? PROTO_EMALFORMED : rd_len(m, 5, (uint32_t)rd_be(m->p + 1, 4), max, &b, n);
    else
        return PROTO_EMALFORMED;
    if (rc == 0)
        *s = (const char *)b;
    return rc;
}

int proto_mp_bin(struct proto_mp *m, const uint8_t **b, uint32_t *n, uint32_t max)
{
    if (m->p >= m->end)
        return PROTO_EMALFORMED;
    uint8_t c = *m->p;
    size_t left = proto_mp_left(m);
    if (c == 0xc4)
        return left < 2 ? PROTO_EMALFORMED : rd_len(m, 2, m->p[1], max, b, n);
    if (c == 0xc5)
        return left < 3 ? PROTO_EMALFORMED : rd_len(m, 3, (uint32_t)rd_be(m->p + 1, 2), max, b, n);
    if (c == 0xc6)
        return left < 5 ? PROTO_EMALFORMED : rd_len(m, 5, (uint32_t)rd_be(m->p + 1, 4), max, b, n);
    return PROTO_EMALFORMED;
}

/* A container header: its count and the header's size. 1 = array, 2 = map, 0 = neither. */
static int rd_container(const struct proto_mp *m, uint32_t *count, unsigned *hdr)
{
    uint8_t c = *m->p;
    size_t left = proto_mp_left(m);
    if (c >= 0x90 && c <= 0x9f) {
        *count = c & 0x0f;
        *hdr = 1;
        return 1;
    }
    if (c >= 0x80 && c <= 0x8f) {
        *count = c & 0x0f;
        *hdr = 1;
        return 2;
    }
    if (c == 0xdc || c == 0xde) {
        if (left < 3)
            return PROTO_EMALFORMED;
        *count = (uint32_t)rd_be(m->p + 1, 2);
        *hdr = 3;
        return c == 0xdc ? 1 : 2;
    }
    if (c == 0xdd || c == 0xdf) {
        if (left < 5)
            return PROTO_EMALFORMED;
        *count = (uint32_t)rd_be(m->p + 1, 4);
        *hdr = 5;
        return c == 0xdd ? 1 : 2;
    }
    return 0;
}

static int rd_header(struct proto_mp *m, int want, uint32_t *n)
{
    if (m->p >= m->end)
        return PROTO_EMALFORMED;
    uint32_t count;
    unsigned hdr;
    int kind = rd_container(m, &count, &hdr);
    if (kind < 0)
        return kind;
    if (kind != want)
        return PROTO_EMALFORMED;
    /* every element takes at least one byte: a count beyond the bytes left is a lie */
    uint64_t need = (uint64_t)count * (unsigned)want;
    if (need > proto_mp_left(m) - hdr)
        return PROTO_EMALFORMED;
    m->p += hdr;
    *n = count;
    return 0;
}

int proto_mp_array(struct proto_mp *m, uint32_t *n)
{
    return rd_header(m, 1, n);
}

int proto_mp_map(struct proto_mp *m, uint32_t *n)
{
    return rd_header(m, 2, n);
}

int proto_mp_skip(struct proto_mp *m, unsigned max_depth)
{
    uint64_t stack[PROTO_MAX_DEPTH + 1];
    unsigned depth = 0;
    uint64_t left = 1;
    const uint8_t *save = m->p;
    int rc = 0;

    if (max_depth > PROTO_MAX_DEPTH)
        max_depth = PROTO_MAX_DEPTH;
    while (left) {
        left--;
        if (m->p >= m->end) {
            rc = PROTO_EMALFORMED;
            goto fail;
        }
        uint8_t c = *m->p;
        size_t avail = proto_mp_left(m);
        uint32_t count;
        unsigned hdr;
        int kind = rd_container(m, &count, &hdr);
        if (kind < 0) {
            rc = kind;
            goto fail;
        }
        if (kind > 0) {
            uint64_t items = (uint64_t)count * (unsigned)kind;
            if (items > avail - hdr) {
                rc = PROTO_EMALFORMED;
                goto fail;
            }
            if (depth >= max_depth) {
                rc = PROTO_ELIMIT;
                goto fail;
            }
            m->p += hdr;
            if (items) {
                stack[depth++] = left;
                left = items;
            }
        } else if (c <= 0x7f || c >= 0xe0 || c == 0xc0 || c == 0xc2 || c == 0xc3) {
            m->p++;
        } else if (c >= 0xa0 && c <= 0xbf) {
            unsigned n = c & 0x1f;
            if (avail < 1 + n) {
                rc = PROTO_EMALFORMED;
                goto fail;
            }
            m->p += 1 + n;
        } else if ((c >= 0xcc && c <= 0xd3) || c == 0xca || c == 0xcb) {
            unsigned n = c == 0xca ? 4 : c == 0xcb ? 8 : 1u << ((c - 0xcc) & 3);
            if (avail < 1 + n) {
                rc = PROTO_EMALFORMED;
                goto fail;
            }
            m->p += 1 + n;
        } else if (c >= 0xd4 && c <= 0xd8) {
            unsigned n = 1 + (1u << (c - 0xd4)); /* type byte + data */
            if (avail < 1 + n) {
                rc = PROTO_EMALFORMED;
                goto fail;
            }
            m->p += 1 + n;
        } else {
            /* str8/16/32, bin8/16/32, ext8/16/32 */
            unsigned lenbytes, extra = 0;
            switch (c) {
            case 0xd9: case 0xc4: case 0xc7: lenbytes = 1; break;
            case 0xda: case 0xc5: case 0xc8: lenbytes = 2; break;
            case 0xdb: case 0xc6: case 0xc9: lenbytes = 4; break;
            default:
                rc = PROTO_EMALFORMED;
                goto fail;
            }
            if (c >= 0xc7 && c <= 0xc9)
                extra = 1; /* ext type byte */
            if (avail < 1 + lenbytes + extra) {
                rc = PROTO_EMALFORMED;
                goto fail;
            }
            uint64_t n = rd_be(m->p + 1, lenbytes);
            if (n > avail - 1 - lenbytes - extra) {
                rc = PROTO_EMALFORMED;
                goto fail;
            }
            if (n > PROTO_MAX_STR_BYTES) {
                rc = PROTO_ELIMIT;
                goto fail;
            }
            m->p += 1 + lenbytes + extra + n;
        }
        while (left == 0 && depth > 0)
            left = stack[--depth];
    }
    return 0;
fail:
    m->p = save;
    return rc;
}

int proto_mp_check(const void *p, size_t n, unsigned max_depth)
{
    struct proto_mp m;
    proto_mp_init(&m, p, n);
    int rc = proto_mp_skip(&m, max_depth);
    if (rc)
        return rc;
    return m.p == m.end ? 0 : PROTO_EMALFORMED;
}
