/*
 * Derived views: state computed from the op log, updated in the transaction that adds an op.
 *
 * Each view lives in a database marked for the digest (store.c). A view must be a function of
 * the set of ops held, whatever order they arrived in; it holds nothing node-local.
 */
#ifndef RL_VIEWS_H
#define RL_VIEWS_H

#include "proto/op.h"
#include "store.h"

/* Apply one op that just entered the log. Kinds this version does not know change nothing. */
int rl_views_apply(struct rl_txn *t, const struct proto_op *op, struct proto_err *e);

/* Write what rl_views_apply tallied in memory (ops of unknown kinds); call before commit. */
int rl_views_flush(struct rl_txn *t, struct proto_err *e);

/*
 * Empty every view and apply the whole op log again, in one transaction, and mark the data
 * with this version's format: how a data directory of an older format is upgraded. *nops (may
 * be NULL): the ops applied.
 */
int rl_views_rebuild(struct rl_store *s, uint64_t *nops, struct proto_err *e);

/* The name a node announced, copied into out (empty when unknown). */
int rl_views_node_name(struct rl_txn *t, uint64_t origin, char *out, size_t n);

#endif
