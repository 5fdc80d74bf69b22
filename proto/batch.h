/*
 * Batches: runs of consecutive ops from one origin, the unit of sync and of bundles.
 *
 *     batch = [run, ...]
 *     run   = [origin, first_seq, prev, last, [payload, ...]]
 *
 * prev is the hash of op first_seq - 1 (16 zero bytes when first_seq is 1) and last the hash of
 * the run's last op; neither origin, seq nor prev is repeated per op. The receiver recomputes
 * the chain from prev through every payload and refuses the whole batch when it does not end at
 * last. Payloads are embedded as msgpack objects, byte for byte as their origin wrote them.
 */
#ifndef PROTO_BATCH_H
#define PROTO_BATCH_H

#include "buf.h"
#include "error.h"
#include "op.h"
#include "vv.h"

#include <stdint.h>

struct proto_run {
    uint64_t origin;
    uint64_t first_seq;
    uint8_t prev[PROTO_HASH_BYTES];
    uint8_t last[PROTO_HASH_BYTES];
    uint32_t first_op; /* index into proto_batch.ops */
    uint32_t nops;
};

struct proto_batch {
    struct proto_run *runs; /* owned */
    uint32_t nruns;
    struct proto_op *ops; /* owned; their pointers borrow the decoded input */
    uint32_t nops;
    uint32_t cap_runs, cap_ops;
};

void proto_batch_init(struct proto_batch *b);
void proto_batch_free(struct proto_batch *b);

/*
 * Decode a batch of n bytes into b (which must be freshly initialised). Checks every length,
 * limit and field of the envelope, parses each payload (proto_op_parse), and recomputes each
 * run's hash chain, filling op->origin, seq, prev and hash. Any error refuses the whole batch:
 * PROTO_EMALFORMED, PROTO_ELIMIT, PROTO_EFIELD or PROTO_ECHAIN, with a message naming the run,
 * the op and the field; b is then empty (as after proto_batch_free). A run starting at seq 1
 * must have a zero prev. Payloads may nest PROTO_MAX_OP_DEPTH deep, so the whole batch stays
 * within PROTO_MAX_DEPTH. b's ops borrow p: keep p alive while b is used.
 */
int proto_batch_decode(const uint8_t *p, size_t n, struct proto_batch *b, struct proto_err *e);

/*
 * The same checks of structure, limits and fields, without the hash chain: op->prev and
 * op->hash are not set and nothing vouches for the ops' integrity. For tools that only read
 * a batch (and for measuring the decoder alone); a node applies only fully decoded batches.
 */
int proto_batch_decode_unchained(const uint8_t *p, size_t n, struct proto_batch *b,
                                 struct proto_err *e);

/*
 * vv advanced past the last op of each run of a batch: what a node that held vv holds once
 * the batch is in (the entries take the runs' last hashes). Unchained: for the sync engine's
 * pages read or asked for ahead, whose receiver checks the chain itself.
 */
int proto_batch_advance_vv(struct proto_vv *vv, const uint8_t *p, size_t n);

/*
 * Encoder. Ops are added run by run and written at the end, so array headers are minimal.
 * Slices are borrowed until proto_batch_enc_finish: from LMDB, finish inside the transaction.
 */
struct proto_batch_slice {
    const uint8_t *payload;
    uint32_t len;
};

struct proto_batch_enc {
    struct proto_run *runs;
    uint32_t nruns, cap_runs;
    struct proto_batch_slice *ops;
    uint32_t nops, cap_ops;
    size_t bytes; /* an upper bound of the encoded size so far */
    int err;
};

void proto_batch_enc_init(struct proto_batch_enc *w);
void proto_batch_enc_free(struct proto_batch_enc *w);

/* Start a run; prev as above. */
int proto_batch_enc_run(struct proto_batch_enc *w, uint64_t origin, uint64_t first_seq,
                        const uint8_t prev[PROTO_HASH_BYTES]);

/* Add the next op of the current run with its hash (which becomes the run's last). */
int proto_batch_enc_op(struct proto_batch_enc *w, const uint8_t *payload, uint32_t len,
                       const uint8_t hash[PROTO_HASH_BYTES]);

/* Upper bound of the bytes the batch will take. */
static inline size_t proto_batch_enc_size(const struct proto_batch_enc *w)
{
    return w->bytes;
}

/* Write the batch to out. Runs without ops are left out. */
int proto_batch_enc_finish(struct proto_batch_enc *w, struct proto_buf *out);

#endif
