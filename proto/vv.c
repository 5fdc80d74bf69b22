/*
 * Version vectors (see vv.h).
 */
#include "vv.h"

#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

void proto_vv_init(struct proto_vv *vv)
{
    vv->e = NULL;
    vv->n = vv->cap = 0;
}

void proto_vv_free(struct proto_vv *vv)
{
    free(vv->e);
    proto_vv_init(vv);
}

/* Index of the first entry with origin >= o. */
static uint32_t lower_bound(const struct proto_vv *vv, uint64_t o)
{
    uint32_t lo = 0, hi = vv->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (vv->e[mid].origin < o)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const struct proto_vv_entry *proto_vv_get(const struct proto_vv *vv, uint64_t origin)
{
    uint32_t i = lower_bound(vv, origin);
    return i < vv->n && vv->e[i].origin == origin ? &vv->e[i] : NULL;
}

uint64_t proto_vv_seq(const struct proto_vv *vv, uint64_t origin)
{
    const struct proto_vv_entry *x = proto_vv_get(vv, origin);
    return x ? x->seq : 0;
}

int proto_vv_set(struct proto_vv *vv, uint64_t origin, uint64_t seq,
                 const uint8_t hash[PROTO_HASH_BYTES])
{
    uint32_t i = lower_bound(vv, origin);
    if (i == vv->n || vv->e[i].origin != origin) {
        if (vv->n >= PROTO_MAX_VV_ENTRIES)
            return PROTO_ELIMIT;
        if (vv->n == vv->cap) {
            uint32_t cap = vv->cap ? vv->cap * 2 : 8;
            struct proto_vv_entry *p = realloc(vv->e, cap * sizeof *p);
            if (!p)
                return -ENOMEM;
            vv->e = p;
            vv->cap = cap;
        }
        memmove(&vv->e[i + 1], &vv->e[i], (vv->n - i) * sizeof *vv->e);
        vv->n++;
        vv->e[i].origin = origin;
    }
    vv->e[i].seq = seq;
    memcpy(vv->e[i].hash, hash, PROTO_HASH_BYTES);
    return 0;
}

int proto_vv_read(struct proto_mp *m, struct proto_vv *vv, struct proto_err *e)
{
    uint32_t n, k;
    int rc;

    if ((rc = proto_mp_array(m, &n)))
        return proto_errf(e, rc, "version vector: not an array");
    if (n > PROTO_MAX_VV_ENTRIES)
        return proto_errf(e, PROTO_ELIMIT, "version vector: %u entries exceed the limit of %u", n,
                          PROTO_MAX_VV_ENTRIES);
    for (uint32_t i = 0; i < n; i++) {
        uint64_t origin, seq;
        const uint8_t *h;
        uint32_t hl;
        if ((rc = proto_mp_array(m, &k)) || k != 3)
            return proto_errf(e, rc ? rc : PROTO_EFIELD,
                              "version vector: entry %u: not an array of 3", i);
        if ((rc = proto_mp_uint(m, &origin)))
            return proto_errf(e, rc, "version vector: entry %u: origin: not an unsigned integer",
                              i);
        if ((rc = proto_mp_uint(m, &seq)) || seq == 0)
            return proto_errf(e, rc ? rc : PROTO_EFIELD,
                              "version vector: entry %u: seq: not a positive integer", i);
        if ((rc = proto_mp_bin(m, &h, &hl, PROTO_HASH_BYTES)) || hl != PROTO_HASH_BYTES)
            return proto_errf(e, rc && rc != PROTO_ELIMIT ? rc : PROTO_EFIELD,
                              "version vector: entry %u: hash: not a bin of %u bytes", i,
                              PROTO_HASH_BYTES);
        if (vv->n && vv->e[vv->n - 1].origin >= origin)
            return proto_errf(e, PROTO_EFIELD,
                              "version vector: entry %u: origins not strictly ascending", i);
        if ((rc = proto_vv_set(vv, origin, seq, h)))
            return proto_errf(e, rc, "version vector: %s", proto_strerror(rc));
    }
    return 0;
}

int proto_vv_decode(const uint8_t *p, size_t n, struct proto_vv *vv, struct proto_err *e)
{
    struct proto_mp m;
    proto_mp_init(&m, p, n);
    int rc = proto_vv_read(&m, vv, e);
    if (!rc && m.p != m.end)
        rc = proto_errf(e, PROTO_EMALFORMED, "version vector: %zu trailing bytes",
                        proto_mp_left(&m));
    /* a refused vector leaves no entries behind */
    if (rc)
        proto_vv_free(vv);
    return rc;
}

int proto_vv_encode(const struct proto_vv *vv, struct proto_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, proto_buf_msgpack_write);
    msgpack_pack_array(&pk, vv->n);
    for (uint32_t i = 0; i < vv->n; i++) {
        msgpack_pack_array(&pk, 3);
        msgpack_pack_uint64(&pk, vv->e[i].origin);
        msgpack_pack_uint64(&pk, vv->e[i].seq);
        msgpack_pack_bin_with_body(&pk, vv->e[i].hash, PROTO_HASH_BYTES);
    }
    return proto_buf_failed(out);
}

int proto_origins_read(struct proto_mp *m, struct proto_origins *o)
{
    uint32_t n;
    uint64_t last = 0;
    int rc;
    o->n = 0;
    if ((rc = proto_mp_array(m, &n)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        uint64_t v;
        if ((rc = proto_mp_uint(m, &v)))
            return rc;
        if (i > 0 && v <= last)
            return PROTO_EFIELD;
        last = v;
        if (o->n < PROTO_MAX_FROZEN)
            o->o[o->n++] = v;
    }
    return 0;
}

int proto_origins_encode(const struct proto_origins *o, struct proto_buf *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, proto_buf_msgpack_write);
    msgpack_pack_array(&pk, o->n);
    for (uint32_t i = 0; i < o->n; i++)
        msgpack_pack_uint64(&pk, o->o[i]);
    return proto_buf_failed(out);
}

int proto_vv_mark_frozen(struct proto_vv *vv, const struct proto_origins *f, uint32_t *added)
{
    static const uint8_t zero[PROTO_HASH_BYTES];
    uint32_t n = 0;
    for (uint32_t i = 0; f && i < f->n; i++) {
        if (proto_vv_seq(vv, f->o[i]) == PROTO_SEQ_FROZEN)
            continue;
        int rc = proto_vv_set(vv, f->o[i], PROTO_SEQ_FROZEN, zero);
        if (rc)
            return rc;
        n++;
    }
    if (added)
        *added = n;
    return 0;
}
