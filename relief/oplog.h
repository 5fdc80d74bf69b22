/*
 * The op log: appending local ops, applying batches from peers, reading what a peer lacks.
 *
 * Ops live in RL_DB_OPS in blocks: a run of one origin's ops under origin(8) and the first op's
 * seq(8) (big-endian, so one origin's ops are one sorted range), the value a flags byte (1) and
 * then each op as LEB128(length << 1 | delta) and its exact payload bytes or, after the first,
 * its delta from the op before it (oplog.c; flags 0, formats 4-7: the length and the payload,
 * each op). A block takes ops while it
 * holds fewer than RL_BLOCK_OPS and stays within RL_BLOCK_BYTES; an op too big for that has a
 * block of its own. (The block that grows is the last of its page: when it no longer fits, LMDB
 * moves it and the one before to a new page, so the bigger the blocks, the emptier the pages
 * they leave: 256 bytes gave the fewest pages on the benchmark's log.) An op's chain hash is
 * computed when needed from the checkpoint RL_DB_CHAIN keeps every RL_CHAIN_EVERY ops
 * (rl_oplog_hash). RL_DB_VV holds, per origin, the highest contiguous seq and its hash. Every op
 * that enters the log is handed to the derived views (views.h) in the same transaction.
 */
#ifndef RL_OPLOG_H
#define RL_OPLOG_H

#include "proto/batch.h"
#include "proto/vv.h"
#include "store.h"

struct rl_op_ref {
    uint64_t origin;
    uint64_t seq;
    uint64_t hlc;
};

/*
 * Append a local op in a write transaction run by rl_node_write. Its hlc is
 * max(clock tick, min_hlc): pass min_hlc = overwritten hlc + 1 when the op overwrites a value
 * (the clock itself only ticks), 0 otherwise. author NULL means the node's name. A body that
 * does not fit its kind's schema is refused (-EINVAL, the schema's message) before anything is
 * written; one of a kind this version does not know is kept as it is.
 */
int rl_oplog_append(struct rl_txn *t, uint32_t kind, const uint8_t *body, size_t body_len,
                    uint64_t min_hlc, const char *author, struct rl_op_ref *out,
                    struct proto_err *e);

struct rl_apply_stats {
    uint64_t applied;   /* new ops entered the log */
    uint64_t duplicate; /* already held, same hash */
    uint64_t gap;       /* ops past a gap, dropped: ask again from VV + 1 */
    uint64_t fork;      /* a different op at a seq already held: kept as evidence */
    uint64_t frozen;    /* ops of an origin that forked earlier, ignored */
};

/* Add what one apply did (src) to a sum (dst). */
void rl_apply_stats_add(struct rl_apply_stats *dst, const struct rl_apply_stats *src);

/*
 * Apply a decoded batch (proto_batch_decode checked its chains) in a write transaction run by
 * rl_node_write, by the rules of DESIGN.md section 3. st is reset first.
 */
int rl_oplog_apply(struct rl_txn *t, const struct proto_batch *b, struct rl_apply_stats *st,
                   struct proto_err *e);

/* Decode a batch and apply it in one durable transaction; nothing changes when it is refused. */
int rl_oplog_apply_bytes(struct rl_store *s, const uint8_t *p, size_t n, struct rl_apply_stats *st,
                         struct proto_err *e);

/* Encoded batches: bytes and their length. */
struct rl_bytes {
    const uint8_t *p;
    size_t n;
};

/*
 * Decode batches and apply them in order in one durable transaction (fewer commits for a bundle:
 * each commit writes every page its ops touched); st sums what each did. Nothing changes when
 * one is refused.
 */
int rl_oplog_apply_group(struct rl_store *s, const struct rl_bytes *batches, size_t n,
                         struct rl_apply_stats *st, struct proto_err *e);

/* Load the version vector. */
int rl_vv_load(struct rl_txn *t, struct proto_vv *vv, struct proto_err *e);

/*
 * Encode into out a batch of the ops this node holds past have, in per-origin seq order, at
 * most max_ops ops and about max_bytes bytes (at least one op when any is missing). *more is set
 * when ops were left out by the bounds; *nops counts the ops written.
 */
int rl_oplog_read_after(struct rl_txn *t, const struct proto_vv *have, uint32_t max_ops,
                        size_t max_bytes, struct proto_buf *out, int *more, uint32_t *nops,
                        struct proto_err *e);

/*
 * Read one op: fills origin, seq and everything proto_op_parse gives (borrowed), not its hash
 * (the log keeps payloads only: rl_oplog_hash).
 */
int rl_oplog_get(struct rl_txn *t, uint64_t origin, uint64_t seq, struct proto_op *op,
                 struct proto_err *e);

/*
 * The chain hash of op (origin, seq) held here (the zero hash for seq 0): from the checkpoint
 * kept every RL_CHAIN_EVERY ops (or the version vector's, at the head), hashing forward.
 */
#define RL_CHAIN_EVERY 64u
int rl_oplog_hash(struct rl_txn *t, uint64_t origin, uint64_t seq,
                  uint8_t hash[PROTO_HASH_BYTES], struct proto_err *e);

#define RL_BLOCK_OPS 64u
#define RL_BLOCK_BYTES 256u
/* The most bytes the ops stored as deltas in one block come to (a delta takes at least an
 * eighth of its op's size). */
#define RL_BLOCK_DECODED (8u * RL_BLOCK_BYTES)

/*
 * The ops of the log in key order (origin, seq), read from their blocks (or, while an upgrade
 * reads a format 1-2 log, rl_txn.op_skip set, one entry each). Payloads are borrowed: good until
 * the next write in the transaction and, for an op stored as a delta, until the walk leaves its
 * block (or, with keep set before the first read, until the iterator is closed).
 */
struct rl_opval {
    uint64_t origin, seq;
    const uint8_t *p;
    size_t n;
};
struct rl_opchunk {
    struct rl_opchunk *next;
    size_t cap, used;
    uint8_t b[];
};
struct rl_opiter {
    struct rl_txn *t;
    struct rl_cursor c;
    MDB_val v;       /* the entry being read */
    size_t off;      /* where its next op starts */
    uint64_t origin; /* the entry's */
    uint64_t first;  /* seq of its first op */
    uint64_t next;   /* seq of its next op */
    int open;
    int keep;            /* keep every op decoded until closed (in chunks) */
    uint8_t flags;       /* the entry's layout */
    const uint8_t *prev; /* the op before in the entry, for a delta */
    size_t prev_n;
    size_t used;               /* bytes of blk holding the entry's decoded ops */
    struct rl_opchunk *chunks; /* keep: the decoded ops */
    uint8_t blk[RL_BLOCK_DECODED];
};
int rl_opiter_open(struct rl_txn *t, struct rl_opiter *it);
/* The first op at or past (origin, seq): 0, -ENOENT past the end, or an error. */
int rl_opiter_seek(struct rl_opiter *it, uint64_t origin, uint64_t seq, struct rl_opval *op);
int rl_opiter_first(struct rl_opiter *it, struct rl_opval *op);
int rl_opiter_next(struct rl_opiter *it, struct rl_opval *op);
void rl_opiter_close(struct rl_opiter *it);

/* The payload of op (origin, seq): 0, -ENOENT, or an error; borrowed as above (an op stored as
 * a delta: until the next call in this thread). */
int rl_oplog_payload(struct rl_txn *t, uint64_t origin, uint64_t seq, const uint8_t **p, size_t *n);

/*
 * Upgrade: the log of a format-1/2 (each op hash(16) payload) or format-3 (each op its payload)
 * directory written again in blocks, in key order; skip is 16 or 0. For formats 1-2, the hash
 * of every RL_CHAIN_EVERY-th op goes to the chain table. *nops counts the ops.
 */
int rl_oplog_pack(struct rl_txn *t, uint32_t skip, uint64_t *nops, struct proto_err *e);

/* Upgrade from formats 4-7: every block written again in the layout of flags 1 (the same ops in
 * each). *nops counts the ops. */
int rl_oplog_reencode(struct rl_txn *t, uint64_t *nops, struct proto_err *e);

/* Ops held: the sum of the version vector's seqs (each origin's log is contiguous from 1). */
int rl_oplog_count(struct rl_txn *t, uint64_t *n);

/* Whether an origin is frozen after a fork (its first fork seq in *seq). */
int rl_oplog_forked(struct rl_txn *t, uint64_t origin, uint64_t *seq);

/* The origins with fork evidence (frozen), ascending, at most PROTO_MAX_FROZEN. */
int rl_oplog_frozen(struct rl_txn *t, struct proto_origins *out);

#endif
