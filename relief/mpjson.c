/*
 * msgpack to JSON (see mpjson.h). The input is checked by proto_mp_skip first, so the
 * recursive walk below is bounded by PROTO_MAX_DEPTH.
 */
#include "mpjson.h"

#include "node.h"
#include "proto/limits.h"
#include "proto/mp.h"
#include "proto/op.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *walk(struct proto_mp *m)
{
    int t = proto_mp_peek(m);
    switch (t) {
    case PROTO_MP_NIL:
        proto_mp_nil(m);
        return json_null();
    case PROTO_MP_BOOL: {
        int b;
        proto_mp_bool(m, &b);
        return json_boolean(b);
    }
    case PROTO_MP_UINT: {
        uint64_t u;
        if (proto_mp_uint(m, &u))
            return NULL;
        if (u > INT64_MAX) {
            char s[32];
            snprintf(s, sizeof s, "%llu", (unsigned long long)u);
            return json_string(s);
        }
        return json_integer((json_int_t)u);
    }
    case PROTO_MP_NINT: {
        int64_t i;
        if (proto_mp_int(m, &i))
            return NULL;
        return json_integer((json_int_t)i);
    }
    case PROTO_MP_STR: {
        const char *s;
        uint32_t n;
        if (proto_mp_str(m, &s, &n, PROTO_MAX_STR_BYTES))
            return NULL;
        json_t *v = json_stringn(s, n); /* NULL for invalid UTF-8 */
        return v ? v : json_pack("{s:b}", "invalid_utf8", 1);
    }
    case PROTO_MP_BIN: {
        const uint8_t *b;
        uint32_t n;
        if (proto_mp_bin(m, &b, &n, PROTO_MAX_STR_BYTES))
            return NULL;
        char *hex = malloc(2 * (size_t)n + 1);
        if (!hex)
            return NULL;
        rl_hex(b, n, hex);
        json_t *v = json_pack("{s:s}", "hex", hex);
        free(hex);
        return v;
    }
    case PROTO_MP_ARRAY: {
        uint32_t n;
        if (proto_mp_array(m, &n))
            return NULL;
        json_t *a = json_array();
        for (uint32_t i = 0; i < n; i++) {
            json_t *x = walk(m);
            if (!x) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, x);
        }
        return a;
    }
    case PROTO_MP_MAP: {
        uint32_t n;
        if (proto_mp_map(m, &n))
            return NULL;
        json_t *o = json_object();
        for (uint32_t i = 0; i < n; i++) {
            char key[64];
            const char *s;
            uint32_t sl;
            uint64_t u;
            int64_t si;
            if (proto_mp_peek(m) == PROTO_MP_UINT && !proto_mp_uint(m, &u))
                snprintf(key, sizeof key, "%llu", (unsigned long long)u);
            else if (proto_mp_peek(m) == PROTO_MP_NINT && !proto_mp_int(m, &si))
                snprintf(key, sizeof key, "%lld", (long long)si);
            else if (proto_mp_peek(m) == PROTO_MP_STR && !proto_mp_str(m, &s, &sl, 63))
                snprintf(key, sizeof key, "%.*s", (int)sl, s);
            else {
                json_decref(o);
                return NULL;
            }
            json_t *x = walk(m);
            if (!x) {
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, key, x);
        }
        return o;
    }
    case PROTO_MP_FLOAT:
    case PROTO_MP_EXT: {
        const uint8_t *start = m->p;
        if (proto_mp_skip(m, 1))
            return NULL;
        if (t == PROTO_MP_FLOAT) {
            double d;
            if (start[0] == 0xca) {
                uint32_t u = (uint32_t)start[1] << 24 | (uint32_t)start[2] << 16 |
                             (uint32_t)start[3] << 8 | start[4];
                float f;
                memcpy(&f, &u, 4);
                d = f;
            } else {
                uint64_t u = proto_get_be64(start + 1);
                memcpy(&d, &u, 8);
            }
            return json_real(d);
        }
        return json_pack("{s:i}", "ext", (int)(m->p - start));
    }
    default:
        return NULL;
    }
}

json_t *rl_mp_to_json(const uint8_t *p, size_t n)
{
    struct proto_mp m;
    if (proto_mp_check(p, n, PROTO_MAX_DEPTH))
        return NULL;
    proto_mp_init(&m, p, n);
    return walk(&m);
}
