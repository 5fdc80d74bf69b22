/*
 * Making a node: a data directory, its LMDB environment, the node's metadata and the op that
 * announces its name to the network.
 */
#ifndef RL_INIT_H
#define RL_INIT_H

#include "node.h"

/*
 * Create a node in dir named name, in the network given (NULL: a new random network). Refuses
 * a directory that already holds a node (PROTO_EEXIST) and leaves nothing behind on failure.
 * out (may be NULL) receives the new node's metadata. author NULL means name.
 */
int rl_init(const char *dir, const char *name, const uint8_t *network, const char *author,
            struct rl_node *out, struct proto_err *e);

/* The same for a node joining another node's network (relief init --network): it remembers
 * that it joined one, so that relief demo never writes made-up data into it. */
int rl_init_joining(const char *dir, const char *name, const uint8_t *network, const char *author,
                    struct rl_node *out, struct proto_err *e);

#endif
