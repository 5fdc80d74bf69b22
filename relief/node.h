/*
 * The node: its network, its id, its name and its clock, kept in the meta database.
 *
 * A node remembers the machine id and the data file's identity (device, inode) of its last
 * write. When either changed -- a restored backup, a disk image cloned onto several laptops --
 * it takes a new random node id before writing again, so two copies never write under one id
 * (a reused id forks; a new one costs one more version-vector entry). Ids are never reused.
 */
#ifndef RL_NODE_H
#define RL_NODE_H

#include "proto/limits.h"
#include "store.h"

#include <stdint.h>

struct rl_node {
    uint8_t network[PROTO_NETWORK_BYTES];
    uint64_t id;
    char name[PROTO_MAX_AUTHOR_BYTES + 1];
    uint64_t clock; /* the highest hlc issued or accepted */
    uint64_t created_ms;
    int clock_dirty;
    int renewed; /* the id changed in this transaction */
    uint64_t old_id;
};

/* Write the metadata of a new node into a freshly created store. */
int rl_node_create(struct rl_txn *t, const uint8_t network[PROTO_NETWORK_BYTES], const char *name,
                   struct proto_err *e);

/* Read the node's metadata. */
int rl_node_load(struct rl_txn *t, struct rl_node *n, struct proto_err *e);

/*
 * Run fn in a write transaction with the node loaded (t->node), its identity checked (a new id
 * when the machine or the data file changed) and its clock saved at the end.
 */
int rl_node_write(struct rl_store *s, rl_txn_fn fn, void *arg, struct proto_err *e);

/* Record the node's name under its id (a node op), as init does and a renewed id does. */
int rl_node_announce(struct rl_txn *t, const char *author, struct proto_err *e);

/* The node of a write transaction run by rl_node_write. */
static inline struct rl_node *rl_txn_node(struct rl_txn *t)
{
    return t->node;
}

/* Parse 32 hex digits into a network id. 0 or -EINVAL. */
int rl_network_parse(const char *hex, uint8_t out[PROTO_NETWORK_BYTES]);

/* Format bytes as lower-case hex into out (2n+1 bytes). */
void rl_hex(const uint8_t *p, size_t n, char *out);

#endif
