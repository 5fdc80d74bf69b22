/*
 * The state digest: BLAKE2b-256 of the version vector and a canonical encoding of every derived
 * view. Two nodes have equal digests exactly when they hold the same ops and the same state.
 * PROTOCOL.md ("State digest") gives the algorithm byte by byte.
 */
#ifndef RL_DIGEST_H
#define RL_DIGEST_H

#include "store.h"

#define RL_DIGEST_BYTES 32

int rl_digest(struct rl_txn *t, uint8_t out[RL_DIGEST_BYTES], struct proto_err *e);

/*
 * The digest of the state rebuilt from this node's op log: every op is read back, sent
 * through the batch encoder and decoder, and applied to an empty store in a temporary
 * directory, which is then removed; the fork evidence (ops of other chains, which the log does
 * not hold) is copied in last. Equal to rl_digest unless a view went wrong.
 */
int rl_digest_rebuilt(struct rl_store *s, uint8_t out[RL_DIGEST_BYTES], struct proto_err *e);

#endif
