/*
 * Version vectors: origin -> (highest contiguous seq held, hash of that op).
 *
 * On the wire a version vector is an array of [origin, seq, hash] entries, origins strictly
 * ascending, seq >= 1, hash a bin of 16 bytes. The hash lets two nodes see a fork: the same
 * (origin, seq) with different hashes.
 */
#ifndef PROTO_VV_H
#define PROTO_VV_H

#include "buf.h"
#include "error.h"
#include "limits.h"
#include "mp.h"

#include <stdint.h>

struct proto_vv_entry {
    uint64_t origin;
    uint64_t seq;
    uint8_t hash[PROTO_HASH_BYTES];
};

struct proto_vv {
    struct proto_vv_entry *e; /* sorted by origin, owned */
    uint32_t n;
    uint32_t cap;
};

void proto_vv_init(struct proto_vv *vv);
void proto_vv_free(struct proto_vv *vv);

/* The entry of an origin, or NULL. */
const struct proto_vv_entry *proto_vv_get(const struct proto_vv *vv, uint64_t origin);

/* The seq held for an origin (0 when absent). */
uint64_t proto_vv_seq(const struct proto_vv *vv, uint64_t origin);

/* Insert or replace an origin's entry. 0, -ENOMEM, PROTO_ELIMIT past PROTO_MAX_VV_ENTRIES. */
int proto_vv_set(struct proto_vv *vv, uint64_t origin, uint64_t seq,
                 const uint8_t hash[PROTO_HASH_BYTES]);

/* Read a version vector from m (appending to an empty vv). Strict: see above. */
int proto_vv_read(struct proto_mp *m, struct proto_vv *vv, struct proto_err *e);

/* Decode a whole buffer holding one version vector; on an error vv is left empty. */
int proto_vv_decode(const uint8_t *p, size_t n, struct proto_vv *vv, struct proto_err *e);

/* Append the encoding of vv to out. */
int proto_vv_encode(const struct proto_vv *vv, struct proto_buf *out);

/*
 * Origins a node takes no ops of (forked: PROTOCOL.md section 8, rule 1), as sync messages
 * carry them: strictly ascending, at most PROTO_MAX_FROZEN (a node with more sends the first).
 */
#define PROTO_MAX_FROZEN 64u

struct proto_origins {
    uint32_t n;
    uint64_t o[PROTO_MAX_FROZEN];
};

/* The seq a sender reads a peer's frozen origin at: past any, so none of its ops are read. */
#define PROTO_SEQ_FROZEN UINT64_MAX

/* Read an array of origins (strict: ascending; entries past PROTO_MAX_FROZEN are skipped). */
int proto_origins_read(struct proto_mp *m, struct proto_origins *o);

/* Append the encoding of o (an array of uint) to out. */
int proto_origins_encode(const struct proto_origins *o, struct proto_buf *out);

/*
 * Mark each of f's origins in vv as held up to PROTO_SEQ_FROZEN (a copy of a peer's version
 * vector, to read what it lacks and takes); *added (may be NULL): how many were not marked yet.
 */
int proto_vv_mark_frozen(struct proto_vv *vv, const struct proto_origins *f, uint32_t *added);

#endif
