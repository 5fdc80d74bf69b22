/*
 * Helpers shared by the unit tests that work on real stores in a temporary directory:
 * making nodes, reading digests, and syncing one store into another through encoded batches.
 */
#ifndef TESTLIB_H
#define TESTLIB_H

#include "relief/digest.h"
#include "relief/init.h"
#include "relief/node.h"
#include "relief/oplog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t TEST_NET[PROTO_NETWORK_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8,
                                                       9, 10, 11, 12, 13, 14, 15, 16};

/* A temporary directory (removed by tl_rmdir). */
static inline void tl_tmpdir(char *out, size_t n)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, n, "%s/relief-unit-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(out))
        fail_msg("mkdtemp");
}

static inline void tl_rmdir(const char *dir)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fail_msg("rm -rf %s", dir);
}

/* Make a node named name in dir (in TEST_NET) and open it into s. */
static inline void tl_node(struct rl_store *s, const char *dir, const char *name)
{
    struct proto_err e;
    proto_err_clear(&e);
    if (rl_init(dir, name, TEST_NET, NULL, NULL, &e))
        fail_msg("init %s: %s", dir, e.msg);
    if (rl_store_open(s, dir, NULL, &e))
        fail_msg("open %s: %s", dir, e.msg);
}

static inline int tl_digest_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_digest(t, arg, e);
}

static inline void tl_digest(struct rl_store *s, uint8_t d[RL_DIGEST_BYTES])
{
    struct proto_err e;
    if (rl_store_read(s, tl_digest_fn, d, &e))
        fail_msg("digest: %s", e.msg);
}

struct tl_read {
    struct proto_vv have;
    struct proto_buf out;
    uint32_t max_ops;
    int more;
    uint32_t nops;
};

static inline int tl_read_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct tl_read *a = arg;
    return rl_oplog_read_after(t, &a->have, a->max_ops, 1u << 20, &a->out, &a->more, &a->nops, e);
}

static inline int tl_vv_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_vv_load(t, arg, e);
}

/* Copy every op of src that dst lacks into dst, in batches of at most page ops. */
static inline void tl_sync(struct rl_store *src, struct rl_store *dst, uint32_t page)
{
    struct proto_err e;
    for (;;) {
        struct tl_read a = {.max_ops = page};
        struct rl_apply_stats st;
        proto_vv_init(&a.have);
        proto_buf_init(&a.out, PROTO_MAX_BODY_BYTES);
        if (rl_store_read(dst, tl_vv_fn, &a.have, &e) || rl_store_read(src, tl_read_fn, &a, &e))
            fail_msg("sync read: %s", e.msg);
        uint32_t n = a.nops;
        if (n && rl_oplog_apply_bytes(dst, a.out.data, a.out.len, &st, &e))
            fail_msg("sync apply: %s", e.msg);
        proto_vv_free(&a.have);
        proto_buf_free(&a.out);
        if (!n)
            break;
    }
}

#endif
