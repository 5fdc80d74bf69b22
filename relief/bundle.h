/*
 * Bundles: the ops a peer lacks, in a file for a USB stick when there is no network.
 *
 *   "RLFBNDL1"  network id (16 bytes)  { length (4 bytes BE, 1..16 MiB)  batch }  0x00000000
 *
 * Each batch is the wire format's (proto/batch.h). Applying checks the whole file first --
 * the network, every length, every batch and its hash chains, the end marker -- and applies
 * nothing if any of it is wrong; then it applies the batches in order, a few to a durable
 * transaction (up to RL_BUNDLE_GROUP_OPS ops, RL_BUNDLE_GROUP_BATCHES batches and 16 MiB). Applying
 * a bundle twice, or bundles out of order, is harmless: held ops are duplicates, and ops past a gap
 * wait for the bundle that fills it.
 */
#ifndef RL_BUNDLE_H
#define RL_BUNDLE_H

#include "oplog.h"
#include "store.h"

/*
 * Ops applied in one transaction, as the import writes rows (import.h): each commit writes every
 * page its ops touched, so 20,000 ops to a commit apply a bundle of 1M movements in about half
 * the time of one commit per 10,000-op batch.
 */
#define RL_BUNDLE_GROUP_OPS 20000u
#define RL_BUNDLE_GROUP_BATCHES 8u

/* Write the ops missing from for_vv (NULL: all) into path (via a temporary file, fsynced). */
int rl_bundle_create(struct rl_store *s, const char *path, const struct proto_vv *for_vv,
                     uint64_t *ops, struct proto_err *e);

/* How a bundle was applied. */
struct rl_bundle_shape {
    unsigned batches, transactions;
};

/* Apply a bundle; st sums what every batch did; shape (may be NULL) says how. */
int rl_bundle_apply(struct rl_store *s, const char *path, struct rl_apply_stats *st,
                    struct rl_bundle_shape *shape, struct proto_err *e);

/* Read a version vector from the JSON `relief --json status` prints (its version_vector). */
int rl_vv_from_status_json(const char *path, struct proto_vv *vv, struct proto_err *e);

#endif
