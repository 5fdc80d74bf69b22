/*
 * State digest (see digest.h):
 *
 *   BLAKE2b-256( "relief-digest-10" 0x00
 *                || for each VV entry by origin: origin(8 BE) seq(8 BE) hash(16)
 *                || 0xff
 *                || for each digest database, in the order of enum rl_db:
 *                     name 0x00 || for each entry by key: klen(4 BE) key vlen(4 BE) value
 *                     || 0xff 0xff 0xff 0xff )
 *
 * View values are canonical by construction: every view stores a deterministic function of
 * the ops it holds.
 */
#include "digest.h"

#include "node.h"
#include "oplog.h"
#include "proto/op.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void put_len(crypto_generichash_state *st, size_t n)
{
    uint8_t b[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n};
    crypto_generichash_update(st, b, 4);
}

static int hash_db(struct rl_txn *t, enum rl_db db, crypto_generichash_state *st)
{
    struct rl_cursor c;
    MDB_val k, v;
    const char *name = rl_db_name(db);
    int rc = rl_cursor_open(t, db, &c);
    if (rc)
        return rc;
    crypto_generichash_update(st, (const uint8_t *)name, strlen(name) + 1);
    for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        put_len(st, k.mv_size);
        crypto_generichash_update(st, k.mv_data, k.mv_size);
        put_len(st, v.mv_size);
        crypto_generichash_update(st, v.mv_data, v.mv_size);
    }
    rl_cursor_close(&c);
    static const uint8_t end[4] = {0xff, 0xff, 0xff, 0xff};
    crypto_generichash_update(st, end, 4);
    return rc == -ENOENT ? 0 : rc;
}

int rl_digest(struct rl_txn *t, uint8_t out[RL_DIGEST_BYTES], struct proto_err *e)
{
    crypto_generichash_state st;
    struct rl_cursor c;
    MDB_val k, v;
    int rc;

    crypto_generichash_init(&st, NULL, 0, RL_DIGEST_BYTES);
    crypto_generichash_update(&st, (const uint8_t *)"relief-digest-10", 17);
    if ((rc = rl_cursor_open(t, RL_DB_VV, &c)))
        return proto_errf(e, rc, "digest: %s", proto_strerror(rc));
    for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        crypto_generichash_update(&st, k.mv_data, k.mv_size);
        crypto_generichash_update(&st, v.mv_data, v.mv_size);
    }
    rl_cursor_close(&c);
    if (rc != -ENOENT)
        return proto_errf(e, rc, "digest: %s", proto_strerror(rc));
    static const uint8_t sep = 0xff;
    crypto_generichash_update(&st, &sep, 1);
    for (int db = 0; db < RL_DB_COUNT; db++) {
        if (!rl_db_in_digest((enum rl_db)db))
            continue;
        if ((rc = hash_db(t, (enum rl_db)db, &st)))
            return proto_errf(e, rc, "digest: %s", proto_strerror(rc));
    }
    crypto_generichash_final(&st, out, RL_DIGEST_BYTES);
    return 0;
}

struct copy_arg {
    struct proto_vv have; /* what the rebuilt store holds so far */
    struct proto_buf batch;
    int more;
    uint32_t nops;
};

static int read_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct copy_arg *a = arg;
    proto_buf_reset(&a->batch);
    return rl_oplog_read_after(t, &a->have, PROTO_MAX_BATCH_OPS, 4u << 20, &a->batch, &a->more,
                               &a->nops, e);
}

static int vv_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct copy_arg *a = arg;
    proto_vv_free(&a->have);
    return rl_vv_load(t, &a->have, e);
}

static int digest_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_digest(t, arg, e);
}

static int meta_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct rl_node n;
    int rc = rl_node_load(t, &n, e);
    if (!rc)
        memcpy(arg, n.network, PROTO_NETWORK_BYTES);
    return rc;
}

static int create_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_node_create(t, arg, "rebuild", e);
}

/* The fork evidence of src (ops of other chains, which the op log does not hold), into t. */
struct forks_arg {
    struct rl_txn *to;
};

static int forks_read_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct forks_arg *a = arg;
    struct rl_cursor c;
    MDB_val k, v;
    int rc = rl_cursor_open(t, RL_DB_FORKS, &c);
    for (rc = rc ? rc : rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v))
        if ((rc = rl_put(a->to, RL_DB_FORKS, k.mv_data, k.mv_size, v.mv_data, v.mv_size)))
            break;
    rl_cursor_close(&c);
    return rc == -ENOENT ? 0 : proto_errf(e, rc, "cannot copy the fork evidence");
}

static int forks_write_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct forks_arg a = {t};
    return rl_store_read(arg, forks_read_fn, &a, e);
}

static void rmtree(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
}

int rl_digest_rebuilt(struct rl_store *s, uint8_t out[RL_DIGEST_BYTES], struct proto_err *e)
{
    struct rl_store tmp;
    struct copy_arg a;
    uint8_t network[PROTO_NETWORK_BYTES];
    char dir[4096];
    const char *base = getenv("TMPDIR");
    int rc;

    snprintf(dir, sizeof dir, "%s/relief-rebuild-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return proto_errf(e, -errno, "cannot make a temporary directory: %s", strerror(errno));
    if ((rc = rl_store_read(s, meta_fn, network, e)))
        goto out_dir;
    if ((rc = rl_store_create(&tmp, dir, NULL, e)))
        goto out_dir;
    if ((rc = rl_store_write(&tmp, create_fn, network, e)))
        goto out_store;
    proto_vv_init(&a.have);
    proto_buf_init(&a.batch, PROTO_MAX_BODY_BYTES);
    do {
        struct rl_apply_stats st;
        if ((rc = rl_store_read(s, read_fn, &a, e)))
            break;
        if (a.nops == 0)
            break;
        if ((rc = rl_oplog_apply_bytes(&tmp, a.batch.data, a.batch.len, &st, e)))
            break;
        if ((rc = rl_store_read(&tmp, vv_fn, &a, e)))
            break;
    } while (1);
    /* the forks last: copied first they would freeze their origins' ops before the fork */
    if (!rc)
        rc = rl_store_write(&tmp, forks_write_fn, s, e);
    if (!rc)
        rc = rl_store_read(&tmp, digest_fn, out, e);
    proto_vv_free(&a.have);
    proto_buf_free(&a.batch);
out_store:
    rl_store_close(&tmp);
out_dir:
    /* RELIEF_KEEP_REBUILD=1 keeps the rebuilt store for a look with mdb_dump */
    if (getenv("RELIEF_KEEP_REBUILD"))
        fprintf(stderr, "rebuilt store kept in %s\n", dir);
    else
        rmtree(dir);
    return rc;
}
