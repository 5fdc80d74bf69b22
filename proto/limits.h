/*
 * Every limit of the wire format, in one place.
 *
 * Input from a peer, a bundle or an imported file is hostile: each declared length is checked
 * against the bytes left and against one of these before it is used, and nothing is allocated
 * from a count a peer claims. Each limit has a test at the limit and one past it
 * (tests/unit/test_proto.c). PROTOCOL.md lists them for other implementations.
 */
#ifndef PROTO_LIMITS_H
#define PROTO_LIMITS_H

/* Bytes of one decoded body: a batch, a pull or push request or response, a bundle chunk. */
#define PROTO_MAX_BODY_BYTES (16u * 1024 * 1024)

/* Ops in one batch. */
#define PROTO_MAX_BATCH_OPS 16384u

/* Runs (origins) in one batch. */
#define PROTO_MAX_BATCH_RUNS 4096u

/* Bytes of one op payload (hlc, author, kind, body and what a newer version adds). */
#define PROTO_MAX_OP_BYTES (64u * 1024)

/* Nesting depth of msgpack containers anywhere in an input (the outermost counts as 1). */
#define PROTO_MAX_DEPTH 12u

/*
 * Nesting depth of an op payload (its array counts as 1). A sync message puts four levels around
 * a payload (the message map, the batch, the run, the run's op array), so every op that parses
 * also fits in a batch inside a pull response or a push request.
 */
#define PROTO_MAX_OP_DEPTH (PROTO_MAX_DEPTH - 4)

/* Bytes of one msgpack str or bin. */
#define PROTO_MAX_STR_BYTES (64u * 1024)

/* Bytes of an author name. */
#define PROTO_MAX_AUTHOR_BYTES 256u

/* Bytes of a record name, address, note or other free text inside an op body. */
#define PROTO_MAX_TEXT_BYTES 4096u

/* Entries in a version vector. */
#define PROTO_MAX_VV_ENTRIES 65536u

/* Absolute value of a quantity; keeps every sum of up to 2^33 of them inside int64. */
#define PROTO_MAX_QTY 1000000000LL

/* Kinds are numbered 1..PROTO_MAX_KIND. */
#define PROTO_MAX_KIND 65535u

/* Bytes of an op hash (BLAKE2b with a 16-byte output). */
#define PROTO_HASH_BYTES 16u

/* Bytes of a network id. */
#define PROTO_NETWORK_BYTES 16u

#endif
