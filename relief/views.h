/*
 * Derived views: state computed from the op log, updated in the transaction that adds an op.
 *
 * Each view lives in a database marked for the digest (store.c). A view must be a function of
 * the set of ops held, whatever order they arrived in; it holds nothing node-local.
 */
#ifndef RL_VIEWS_H
#define RL_VIEWS_H

#include "proto/kinds.h"
#include "proto/op.h"
#include "store.h"

/* Apply one op that just entered the log; body is its body parsed (a local op's, checked before
 * it was appended), or NULL to parse it here. Kinds this version does not know change nothing. */
int rl_views_apply(struct rl_txn *t, const struct proto_op *op, const struct proto_body *body,
                   struct proto_err *e);

/* Write what rl_views_apply tallied in memory (ops of unknown kinds); call before commit. */
int rl_views_flush(struct rl_txn *t, struct proto_err *e);

/*
 * Bring a data directory of an older format to this version's, in one transaction: from
 * format 2 the op log keeps payloads only (hashes every RL_CHAIN_EVERY ops, in chain); from
 * format 1 every view is also emptied and the whole op log applied again. *nops (may be NULL):
 * the ops rewritten or applied; 0 when another process upgraded it meanwhile.
 */
int rl_views_upgrade(struct rl_store *s, uint64_t *nops, struct proto_err *e);

/* The name a node announced, copied into out (empty when unknown). */
int rl_views_node_name(struct rl_txn *t, uint64_t origin, char *out, size_t n);

#endif
