/*
 * Op kinds and their body fields. Kinds are numbered; a body is a map of small integer keys.
 * A node stores and forwards kinds and fields it does not know; PROTOCOL.md lists them all.
 */
#ifndef PROTO_KINDS_H
#define PROTO_KINDS_H

#include <stdint.h>

/* kind number, name */
#define PROTO_KINDS(X) X(PROTO_KIND_NODE, 1, "node")

enum proto_kind {
#define PROTO_X_KIND(name, num, text) name = num,
    PROTO_KINDS(PROTO_X_KIND)
#undef PROTO_X_KIND
};

/* node: a node announces its name. Body {1: name (str, <= PROTO_MAX_AUTHOR_BYTES)}. */
#define PROTO_F_NODE_NAME 1

/* Name of a kind, or NULL for a kind this version does not know. */
const char *proto_kind_name(uint32_t kind);

#endif
