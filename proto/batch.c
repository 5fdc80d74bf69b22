/*
 * Batch encoding and the validating batch decoder (see batch.h).
 */
#include "batch.h"

#include "mp.h"

#include <errno.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

void proto_batch_init(struct proto_batch *b)
{
    memset(b, 0, sizeof *b);
}

void proto_batch_free(struct proto_batch *b)
{
    free(b->runs);
    free(b->ops);
    proto_batch_init(b);
}

/* Grow an array by what was actually parsed, never by a count the peer claims. */
static int grow(void **p, uint32_t *cap, uint32_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    uint32_t c = *cap ? *cap * 2 : 16;
    while (c < need)
        c *= 2;
    void *q = realloc(*p, (size_t)c * size);
    if (!q)
        return -ENOMEM;
    *p = q;
    *cap = c;
    return 0;
}

static int read_hash(struct proto_mp *m, uint8_t out[PROTO_HASH_BYTES])
{
    const uint8_t *h;
    uint32_t n;
    int rc = proto_mp_bin(m, &h, &n, PROTO_HASH_BYTES);
    if (rc)
        return rc == PROTO_ELIMIT ? PROTO_EFIELD : rc;
    if (n != PROTO_HASH_BYTES)
        return PROTO_EFIELD;
    memcpy(out, h, PROTO_HASH_BYTES);
    return 0;
}

static const uint8_t zero_hash[PROTO_HASH_BYTES];

static int decode(const uint8_t *p, size_t n, struct proto_batch *b, int chain,
                  struct proto_err *e)
{
    struct proto_mp m;
    uint32_t nruns, k, nops;
    int rc;

    if (n > PROTO_MAX_BODY_BYTES)
        return proto_errf(e, PROTO_ELIMIT, "batch of %zu bytes exceeds the limit of %u", n,
                          PROTO_MAX_BODY_BYTES);
    proto_mp_init(&m, p, n);
    if ((rc = proto_mp_array(&m, &nruns)))
        return proto_errf(e, rc, "batch: not an array");
    if (nruns > PROTO_MAX_BATCH_RUNS)
        return proto_errf(e, PROTO_ELIMIT, "batch: %u runs exceed the limit of %u", nruns,
                          PROTO_MAX_BATCH_RUNS);
    for (uint32_t r = 0; r < nruns; r++) {
        struct proto_run run;
        if ((rc = proto_mp_array(&m, &k)) || k < 5)
            return proto_errf(e, rc ? rc : PROTO_EFIELD, "run %u: not an array of 5", r);
        if ((rc = proto_mp_uint(&m, &run.origin)) || run.origin == 0)
            return proto_errf(e, rc ? rc : PROTO_EFIELD,
                              "run %u: origin: not a non-zero unsigned integer (a node id)", r);
        if ((rc = proto_mp_uint(&m, &run.first_seq)) || run.first_seq == 0)
            return proto_errf(e, rc ? rc : PROTO_EFIELD,
                              "run %u: first seq: not a positive integer", r);
        if ((rc = read_hash(&m, run.prev)))
            return proto_errf(e, rc, "run %u: prev: not a bin of %u bytes", r, PROTO_HASH_BYTES);
        if (run.first_seq == 1 && memcmp(run.prev, zero_hash, PROTO_HASH_BYTES) != 0)
            return proto_errf(e, PROTO_EFIELD, "run %u: prev: not zero before seq 1", r);
        if ((rc = read_hash(&m, run.last)))
            return proto_errf(e, rc, "run %u: last: not a bin of %u bytes", r, PROTO_HASH_BYTES);
        if ((rc = proto_mp_array(&m, &nops)))
            return proto_errf(e, rc, "run %u: ops: not an array", r);
        if (nops == 0)
            return proto_errf(e, PROTO_EFIELD, "run %u: no ops", r);
        if (nops > PROTO_MAX_BATCH_OPS - b->nops)
            return proto_errf(e, PROTO_ELIMIT, "batch: more than %u ops", PROTO_MAX_BATCH_OPS);
        if (run.first_seq > UINT64_MAX - nops)
            return proto_errf(e, PROTO_EFIELD, "run %u: seq overflows", r);
        run.first_op = b->nops;
        run.nops = nops;
        if (grow((void **)&b->runs, &b->cap_runs, b->nruns + 1, sizeof *b->runs))
            return proto_errf(e, -ENOMEM, "out of memory");
        b->runs[b->nruns++] = run;

        /* a copy: growing b->ops may move the previous op's hash */
        uint8_t prev[PROTO_HASH_BYTES];
        memcpy(prev, run.prev, PROTO_HASH_BYTES);
        for (uint32_t i = 0; i < nops; i++) {
            if (grow((void **)&b->ops, &b->cap_ops, b->nops + 1, sizeof *b->ops))
                return proto_errf(e, -ENOMEM, "out of memory");
            struct proto_op *op = &b->ops[b->nops];
            op->origin = run.origin;
            op->seq = run.first_seq + i;
            /* one walk: the op reader checks every length and the depth as it parses */
            struct proto_err oe;
            proto_err_clear(&oe);
            if ((rc = proto_op_read(&m, op, &oe)))
                return proto_errf(e, rc, "run %u op %u (origin %016llx seq %llu): %s", r, i,
                                  (unsigned long long)op->origin, (unsigned long long)op->seq,
                                  oe.msg);
            if (chain) {
                memcpy(op->prev, prev, PROTO_HASH_BYTES);
                proto_op_hash(op->origin, op->seq, op->prev, op->payload, op->payload_len,
                              op->hash);
                memcpy(prev, op->hash, PROTO_HASH_BYTES);
            }
            b->nops++;
        }
        if (chain && memcmp(prev, run.last, PROTO_HASH_BYTES) != 0)
            return proto_errf(e, PROTO_ECHAIN,
                              "run %u (origin %016llx seqs %llu..%llu): hash chain does not end "
                              "at the run's last hash",
                              r, (unsigned long long)run.origin, (unsigned long long)run.first_seq,
                              (unsigned long long)(run.first_seq + nops - 1));
        /* elements a newer version adds to a run (a batch stays PROTO_MAX_DEPTH - 1 deep, so
         * it fits in a sync message) */
        for (uint32_t i = 5; i < k; i++)
            if ((rc = proto_mp_skip(&m, PROTO_MAX_DEPTH - 3)))
                return proto_errf(e, rc, "run %u: element %u: %s", r, i,
                                  rc == PROTO_ELIMIT ? "exceeds a limit" : "malformed");
    }
    if (m.p != m.end)
        return proto_errf(e, PROTO_EMALFORMED, "batch: %zu trailing bytes", proto_mp_left(&m));
    return 0;
}

int proto_batch_decode(const uint8_t *p, size_t n, struct proto_batch *b, struct proto_err *e)
{
    int rc = decode(p, n, b, 1, e);
    /* a refused batch leaves nothing behind that a caller could apply by mistake */
    if (rc)
        proto_batch_free(b);
    return rc;
}

int proto_batch_decode_unchained(const uint8_t *p, size_t n, struct proto_batch *b,
                                 struct proto_err *e)
{
    int rc = decode(p, n, b, 0, e);
    /* a refused batch leaves nothing behind that a caller could apply by mistake */
    if (rc)
        proto_batch_free(b);
    return rc;
}

int proto_batch_advance_vv(struct proto_vv *vv, const uint8_t *p, size_t n)
{
    struct proto_batch b;
    struct proto_err e;
    proto_batch_init(&b);
    int rc = proto_batch_decode_unchained(p, n, &b, &e);
    for (uint32_t i = 0; !rc && i < b.nruns; i++) {
        const struct proto_run *r = &b.runs[i];
        uint64_t last = r->first_seq + r->nops - 1;
        if (r->nops && last > proto_vv_seq(vv, r->origin))
            rc = proto_vv_set(vv, r->origin, last, r->last);
    }
    proto_batch_free(&b);
    return rc;
}

void proto_batch_enc_init(struct proto_batch_enc *w)
{
    memset(w, 0, sizeof *w);
    w->bytes = 5;
}

void proto_batch_enc_free(struct proto_batch_enc *w)
{
    free(w->runs);
    free(w->ops);
    proto_batch_enc_init(w);
}

int proto_batch_enc_run(struct proto_batch_enc *w, uint64_t origin, uint64_t first_seq,
                        const uint8_t prev[PROTO_HASH_BYTES])
{
    if (w->err)
        return w->err;
    if (w->nruns >= PROTO_MAX_BATCH_RUNS)
        return w->err = PROTO_ELIMIT;
    if (grow((void **)&w->runs, &w->cap_runs, w->nruns + 1, sizeof *w->runs))
        return w->err = -ENOMEM;
    struct proto_run *r = &w->runs[w->nruns++];
    r->origin = origin;
    r->first_seq = first_seq;
    memcpy(r->prev, prev, PROTO_HASH_BYTES);
    memcpy(r->last, prev, PROTO_HASH_BYTES);
    r->first_op = w->nops;
    r->nops = 0;
    w->bytes += 1 + 9 + 9 + 2 * (2 + PROTO_HASH_BYTES) + 5;
    return 0;
}

int proto_batch_enc_op(struct proto_batch_enc *w, const uint8_t *payload, uint32_t len,
                       const uint8_t hash[PROTO_HASH_BYTES])
{
    if (w->err)
        return w->err;
    if (w->nruns == 0)
        return w->err = -EINVAL;
    if (w->nops >= PROTO_MAX_BATCH_OPS)
        return w->err = PROTO_ELIMIT;
    if (grow((void **)&w->ops, &w->cap_ops, w->nops + 1, sizeof *w->ops))
        return w->err = -ENOMEM;
    w->ops[w->nops].payload = payload;
    w->ops[w->nops].len = len;
    w->nops++;
    struct proto_run *r = &w->runs[w->nruns - 1];
    r->nops++;
    memcpy(r->last, hash, PROTO_HASH_BYTES);
    w->bytes += len;
    return 0;
}

int proto_batch_enc_finish(struct proto_batch_enc *w, struct proto_buf *out)
{
    msgpack_packer pk;
    uint32_t nonempty = 0;

    if (w->err)
        return w->err;
    for (uint32_t r = 0; r < w->nruns; r++)
        nonempty += w->runs[r].nops > 0;
    if (proto_buf_reserve(out, w->bytes))
        return proto_buf_failed(out);
    msgpack_packer_init(&pk, out, proto_buf_msgpack_write);
    msgpack_pack_array(&pk, nonempty);
    for (uint32_t r = 0; r < w->nruns; r++) {
        const struct proto_run *run = &w->runs[r];
        if (!run->nops)
            continue;
        msgpack_pack_array(&pk, 5);
        msgpack_pack_uint64(&pk, run->origin);
        msgpack_pack_uint64(&pk, run->first_seq);
        msgpack_pack_bin_with_body(&pk, run->prev, PROTO_HASH_BYTES);
        msgpack_pack_bin_with_body(&pk, run->last, PROTO_HASH_BYTES);
        msgpack_pack_array(&pk, run->nops);
        for (uint32_t i = 0; i < run->nops; i++) {
            const struct proto_batch_slice *s = &w->ops[run->first_op + i];
            proto_buf_add(out, s->payload, s->len);
        }
    }
    return proto_buf_failed(out);
}
