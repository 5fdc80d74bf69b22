/*
 * Who may talk to this node and whom it talks to: bearer tokens with roles (sync, write, read,
 * donor) presented to the node, stored only as BLAKE2b-256 hashes; and peers, each with the
 * token this node presents to it, kept in DATA/peers/ readable by the node's user alone. Both
 * are node-local: never synced, outside the digest.
 */
#ifndef RL_ACCESS_H
#define RL_ACCESS_H

#include "store.h"

#include <jansson.h>

enum rl_role { RL_ROLE_NONE = 0, RL_ROLE_SYNC = 1, RL_ROLE_WRITE, RL_ROLE_READ, RL_ROLE_DONOR };

/* "sync" -> RL_ROLE_SYNC, 0 for an unknown name; and back. */
int rl_role_parse(const char *s);
const char *rl_role_name(int role);

#define RL_TOKEN_CHARS 48 /* "rlt_" and 43 base64url characters */

/* Make a token; its text (shown once) into token, its id into id. */
int rl_token_add(struct rl_store *s, int role, const char *name, char token[RL_TOKEN_CHARS + 1],
                 char id[17], struct proto_err *e);
/* Revoke the token whose id starts with prefix (at least 4 hex digits, unambiguous). */
int rl_token_revoke(struct rl_store *s, const char *prefix, struct proto_err *e);
/* The role of a token (RL_ROLE_NONE when unknown), compared through its hash. */
int rl_token_role(struct rl_txn *t, const char *token, size_t n);
json_t *rl_token_list(struct rl_txn *t);
uint64_t rl_token_count(struct rl_txn *t);

#define RL_PEER_URL_MAX 400

/*
 * A peer's URL checked (http:// or https://, a host, a port from 1 to 65535, no spaces) and
 * written the one way it is kept (without trailing slashes) into out.
 */
int rl_peer_url(const char *in, char *out, size_t n, struct proto_err *e);

/* Forget a peer: its entry, its token and its certificate. */
int rl_peer_remove(struct rl_store *s, const char *url, struct proto_err *e);

/*
 * Add (or update the token of) a peer. token NULL: none. cacert (may be NULL): a PEM file of the
 * certificates to trust for an https peer, copied into the data directory (peers/).
 */
int rl_peer_add(struct rl_store *s, const char *url, const char *token, const char *cacert,
                struct proto_err *e);
/* The token this node presents to url, copied into out ("" when none). */
int rl_peer_token(struct rl_store *s, const char *url, char *out, size_t n);
/* The certificates to trust for url: the path of the copy peer add kept, or "" when none. */
void rl_peer_cacert(struct rl_store *s, const char *url, char *out, size_t n);
/* Copy the peers' tokens and certificates (DATA/peers) into dir/peers, for a backup. */
int rl_peer_copy(struct rl_store *s, const char *dir, struct proto_err *e);
/* Check that path is a readable file holding a PEM certificate (at most 1 MiB). */
int rl_cacert_check(const char *path, struct proto_err *e);
/* Record how a sync with url went: rc 0 with the ops it lacked after, or an error. */
int rl_peer_report(struct rl_store *s, const char *url, int rc, const char *err,
                   uint64_t lacks, struct proto_err *e);
/* The same inside a write transaction (relief serve: in its group commit). */
int rl_peer_report_in(struct rl_txn *t, const char *url, int rc, const char *err, uint64_t lacks,
                      struct proto_err *e);
json_t *rl_peer_list(struct rl_txn *t);

/* Read a token from a file (first line, trimmed); -EACCES when others may read the file. */
int rl_token_read_file(const char *path, char *out, size_t n, struct proto_err *e);

#endif
