/*
 * libFuzzer target for the decoders a peer's bytes reach first: proto_batch_decode,
 * proto_vv_decode and proto_mp_check.
 *
 * Besides not crashing, a batch that decodes must survive a round trip: re-encoded with
 * proto_batch_enc_* it decodes to the same runs and ops, and encoding that again gives the same
 * bytes (the encoder's output is canonical even when the input's headers were not minimal).
 * A version vector likewise. Any difference aborts, so libFuzzer keeps the input.
 *
 *   make fuzz                      clang -fsanitize=fuzzer over tools/fuzz/corpus/batch
 *   build/fuzz/replay_batch DIR    the same checks over saved inputs, without libFuzzer
 */
#include "fuzznode.h"
#include "proto/batch.h"
#include "proto/limits.h"
#include "proto/mp.h"
#include "proto/vv.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK FUZZ_CHECK

static void encode(const struct proto_batch *b, struct proto_buf *out)
{
    struct proto_batch_enc w;
    proto_batch_enc_init(&w);
    for (uint32_t r = 0; r < b->nruns; r++) {
        const struct proto_run *run = &b->runs[r];
        CHECK(proto_batch_enc_run(&w, run->origin, run->first_seq, run->prev) == 0);
        for (uint32_t i = 0; i < run->nops; i++) {
            const struct proto_op *op = &b->ops[run->first_op + i];
            CHECK(proto_batch_enc_op(&w, op->payload, op->payload_len, op->hash) == 0);
        }
    }
    /* the encoder's bound is at most a few bytes per run above the real size */
    proto_buf_init(out, PROTO_MAX_BODY_BYTES + 64u * PROTO_MAX_BATCH_RUNS);
    CHECK(proto_batch_enc_finish(&w, out) == 0);
    proto_batch_enc_free(&w);
}

static void same_batch(const struct proto_batch *a, const struct proto_batch *b)
{
    CHECK(a->nruns == b->nruns && a->nops == b->nops);
    for (uint32_t r = 0; r < a->nruns; r++) {
        const struct proto_run *x = &a->runs[r], *y = &b->runs[r];
        CHECK(x->origin == y->origin && x->first_seq == y->first_seq);
        CHECK(x->first_op == y->first_op && x->nops == y->nops);
        CHECK(memcmp(x->prev, y->prev, PROTO_HASH_BYTES) == 0);
        CHECK(memcmp(x->last, y->last, PROTO_HASH_BYTES) == 0);
    }
    for (uint32_t i = 0; i < a->nops; i++) {
        const struct proto_op *x = &a->ops[i], *y = &b->ops[i];
        CHECK(x->origin == y->origin && x->seq == y->seq && x->hlc == y->hlc);
        CHECK(x->kind == y->kind && x->author_len == y->author_len);
        CHECK(memcmp(x->author, y->author, x->author_len) == 0);
        CHECK(x->body_len == y->body_len && memcmp(x->body, y->body, x->body_len) == 0);
        CHECK(x->payload_len == y->payload_len);
        CHECK(memcmp(x->payload, y->payload, x->payload_len) == 0);
        CHECK(memcmp(x->prev, y->prev, PROTO_HASH_BYTES) == 0);
        CHECK(memcmp(x->hash, y->hash, PROTO_HASH_BYTES) == 0);
    }
}

static void fuzz_batch(const uint8_t *data, size_t size)
{
    struct proto_batch b, b2, b3;
    struct proto_buf out, out2;
    struct proto_err e;

    proto_batch_init(&b);
    if (proto_batch_decode(data, size, &b, &e) != 0) {
        /* a refused batch leaves nothing behind */
        CHECK(b.nruns == 0 && b.nops == 0 && b.runs == NULL && b.ops == NULL);
        CHECK(e.code != 0 && e.msg[0] != '\0');
        return;
    }
    /* a batch within the limits is msgpack within the depth limit */
    CHECK(proto_mp_check(data, size, PROTO_MAX_DEPTH) == 0);
    CHECK(b.nruns <= PROTO_MAX_BATCH_RUNS && b.nops <= PROTO_MAX_BATCH_OPS);

    encode(&b, &out);
    proto_batch_init(&b2);
    if (proto_batch_decode(out.data, out.len, &b2, &e) != 0) {
        fprintf(stderr, "re-encoded batch refused: %s\n", e.msg);
        abort();
    }
    same_batch(&b, &b2);
    CHECK(out.len <= size);

    /* canonical: encoding the re-decoded batch gives the same bytes */
    encode(&b2, &out2);
    CHECK(out2.len == out.len && memcmp(out2.data, out.data, out.len) == 0);
    proto_batch_init(&b3);
    CHECK(proto_batch_decode(out2.data, out2.len, &b3, &e) == 0);
    same_batch(&b, &b3);

    proto_batch_free(&b3);
    proto_buf_free(&out2);
    proto_batch_free(&b2);
    proto_buf_free(&out);
    proto_batch_free(&b);
}

static void fuzz_vv(const uint8_t *data, size_t size)
{
    struct proto_vv vv, vv2;
    struct proto_buf out;
    struct proto_err e;

    proto_vv_init(&vv);
    if (proto_vv_decode(data, size, &vv, &e) != 0) {
        CHECK(vv.n == 0 && vv.e == NULL);
        return;
    }
    CHECK(vv.n <= PROTO_MAX_VV_ENTRIES);
    for (uint32_t i = 1; i < vv.n; i++)
        CHECK(vv.e[i - 1].origin < vv.e[i].origin);
    proto_buf_init(&out, size + 16);
    CHECK(proto_vv_encode(&vv, &out) == 0);
    CHECK(out.len <= size);
    proto_vv_init(&vv2);
    CHECK(proto_vv_decode(out.data, out.len, &vv2, &e) == 0);
    CHECK(vv2.n == vv.n);
    CHECK(vv.n == 0 || memcmp(vv.e, vv2.e, vv.n * sizeof *vv.e) == 0);
    proto_vv_free(&vv2);
    proto_buf_free(&out);
    proto_vv_free(&vv);
}

static void fuzz_mp(const uint8_t *data, size_t size)
{
    /* a smaller depth can only refuse more, and skip agrees with check */
    int full = proto_mp_check(data, size, PROTO_MAX_DEPTH);
    int shallow = proto_mp_check(data, size, 2);
    CHECK(full == 0 || full == PROTO_EMALFORMED || full == PROTO_ELIMIT);
    if (full != 0)
        CHECK(shallow != 0);
    struct proto_mp m;
    proto_mp_init(&m, data, size);
    int rc = proto_mp_skip(&m, PROTO_MAX_DEPTH);
    if (rc)
        CHECK(m.p == data);
    else
        CHECK(m.p > data && m.p <= data + size && (full == 0) == (m.p == data + size));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_batch(data, size);
    fuzz_vv(data, size);
    fuzz_mp(data, size);
    return 0;
}
