/*
 * Bundles: the ops a peer lacks, in a file for a USB stick when there is no network.
 *
 *   "RLFBNDL1"  network id (16 bytes)  { length (4 bytes BE, 1..16 MiB)  batch }  0x00000000
 *
 * Each batch is the wire format's (proto/batch.h). Applying checks the whole file first --
 * the network, every length, every batch and its hash chains, the end marker -- and applies
 * nothing if any of it is wrong; then it applies batch by batch, each one durable. Applying a
 * bundle twice, or bundles out of order, is harmless: held ops are duplicates, and ops past a
 * gap wait for the bundle that fills it.
 */
#ifndef RL_BUNDLE_H
#define RL_BUNDLE_H

#include "oplog.h"
#include "store.h"

/* Write the ops missing from for_vv (NULL: all) into path (via a temporary file, fsynced). */
int rl_bundle_create(struct rl_store *s, const char *path, const struct proto_vv *for_vv,
                     uint64_t *ops, struct proto_err *e);

/* Apply a bundle; st sums what every batch did. */
int rl_bundle_apply(struct rl_store *s, const char *path, struct rl_apply_stats *st,
                    struct proto_err *e);

/* Read a version vector from the JSON `relief --json status` prints (its version_vector). */
int rl_vv_from_status_json(const char *path, struct proto_vv *vv, struct proto_err *e);

#endif
