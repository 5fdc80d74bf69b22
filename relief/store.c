/*
 * LMDB environment, transactions with map growth, cursors (see store.h). The one place that
 * calls LMDB and translates its codes.
 */
#include "store.h"

#include "proto/op.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Databases marked D hold sorted duplicates of one size, ending in origin(8) seq(8) of an op
 * (20 bytes in shelfmv, 16 in the others). */
#define D (MDB_DUPSORT | MDB_DUPFIXED)
static const struct {
    const char *name;
    int digest;
    unsigned flags;
} dbs[RL_DB_COUNT] = {
    [RL_DB_META] = {"meta", 0},
    [RL_DB_OPS] = {"ops", 0},
    [RL_DB_CHAIN] = {"chain", 0},
    [RL_DB_VV] = {"vv", 0},
    [RL_DB_FORKS] = {"forks", 1},
    [RL_DB_NODES] = {"nodes", 1},
    [RL_DB_RECORDS] = {"records", 1},
    [RL_DB_FIELDS] = {"fields", 1},
    [RL_DB_SUPERSEDED] = {"superseded", 1},
    [RL_DB_CODES] = {"codes", 1},
    [RL_DB_TAGS] = {"tags", 1},
    [RL_DB_REMOVED] = {"removed", 1},
    [RL_DB_LEDGER] = {"ledger", 1},
    [RL_DB_SHELFMV] = {"shelfmv", 1, D},
    [RL_DB_BALANCE] = {"balance", 1},
    [RL_DB_LOTBAL] = {"lotbal", 1},
    [RL_DB_VOIDED] = {"voided", 1},
    [RL_DB_COUNTS] = {"counts", 1},
    [RL_DB_TRANSIT] = {"transit", 1},
    [RL_DB_ALERTS] = {"alerts", 1},
    [RL_DB_LOTS] = {"lots", 1},
    [RL_DB_NEEDFILL] = {"needfill", 1},
    [RL_DB_LOTMV] = {"lotmv", 0, D}, /* formats 2-8's, empty since */
    [RL_DB_DONMV] = {"donmv", 1, D},
    [RL_DB_TOKENS] = {"tokens", 0},
    [RL_DB_PEERS] = {"peers", 0},
    [RL_DB_F1_SITEITEM] = {"siteitem", 0},
    [RL_DB_F1_LOTUSE] = {"lotuse", 0},
    [RL_DB_F1_DONREC] = {"donrec", 0},
};
#undef D

const char *rl_db_name(enum rl_db db)
{
    return dbs[db].name;
}

int rl_db_in_digest(enum rl_db db)
{
    return dbs[db].digest;
}

int rl_mdb_err(int rc)
{
    switch (rc) {
    case MDB_SUCCESS:
        return 0;
    case MDB_NOTFOUND:
        return -ENOENT;
    case MDB_MAP_FULL:
        return PROTO_EMAPFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        return PROTO_ECORRUPT;
    case MDB_VERSION_MISMATCH:
        return PROTO_EFORMAT;
    case MDB_READERS_FULL:
        return PROTO_EBUSY;
    case MDB_KEYEXIST:
        return -EEXIST;
    case MDB_BAD_VALSIZE:
        return -EMSGSIZE;
    default:
        return rc > 0 ? -rc : -EIO;
    }
}

static char *path_join(const char *dir, const char *name);

/*
 * Whether the filesystem of dir (or the process's file-size limit) has no room left: LMDB
 * reports a write cut short by a full disk as EIO ("short write"), so an EIO is checked here
 * before it is called an input/output error.
 */
static int looks_full(const char *dir, unsigned long long *free_kib)
{
    struct statvfs sv;
    struct rlimit rl;
    *free_kib = 0;
    if (statvfs(dir, &sv) == 0) {
        *free_kib = (unsigned long long)sv.f_bavail * sv.f_frsize / 1024;
        if (*free_kib < 1024)
            return 1; /* the filesystem */
    }
    char *p = path_join(dir, "data.mdb");
    struct stat st;
    int capped = p && stat(p, &st) == 0 && getrlimit(RLIMIT_FSIZE, &rl) == 0 &&
                 rl.rlim_cur != RLIM_INFINITY &&
                 (unsigned long long)st.st_size + (1u << 20) > (unsigned long long)rl.rlim_cur;
    free(p);
    return capped ? 2 : 0; /* the process's file-size limit (ulimit -f) */
}

static int lmdb_fail(struct proto_err *e, int rc, const char *what, const char *dir)
{
    int code = rl_mdb_err(rc);
    unsigned long long kib;
    int full = code == -EIO || code == -ENOSPC || code == -EFBIG ? looks_full(dir, &kib) : 0;
    if (full)
        code = -ENOSPC;
    if (full == 1)
        return proto_errf(e, code, "%s '%s': disk full (%llu KiB free); free some space and "
                                   "try again", what, dir, kib);
    if (full == 2)
        return proto_errf(e, code, "%s '%s': the data file reached this process's file-size "
                                   "limit (ulimit -f)", what, dir);
    if (code == -ENOSPC)
        return proto_errf(e, code, "%s '%s': disk full", what, dir);
    if (code == PROTO_ECORRUPT)
        return proto_errf(e, code, "%s '%s': data file is damaged (%s)", what, dir,
                          mdb_strerror(rc));
    return proto_errf(e, code, "%s '%s': %s", what, dir, mdb_strerror(rc));
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

int rl_store_exists(const char *dir)
{
    char *p = path_join(dir, "data.mdb");
    struct stat st;
    int r = p && stat(p, &st) == 0 && S_ISREG(st.st_mode);
    free(p);
    return r;
}

static void read_machine_id(char out[64])
{
    const char *env = getenv("RELIEF_MACHINE_ID");
    const char *files[] = {"/etc/machine-id", "/var/lib/dbus/machine-id"};
    out[0] = '\0';
    if (env && *env) {
        snprintf(out, 64, "%s", env);
        return;
    }
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        FILE *f = fopen(files[i], "r");
        if (!f)
            continue;
        if (fgets(out, 64, f))
            out[strcspn(out, "\r\n")] = '\0';
        fclose(f);
        if (out[0])
            return;
    }
    snprintf(out, 64, "unknown");
}

static int mkdirs(const char *dir)
{
    if (!*dir)
        return -ENOENT;
    char *p = strdup(dir);
    if (!p)
        return -ENOMEM;
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0700) && errno != EEXIST) {
            int rc = -errno;
            free(p);
            return rc;
        }
        *q = '/';
    }
    int rc = mkdir(p, 0700) && errno != EEXIST ? -errno : 0;
    free(p);
    return rc;
}

/* META "format": 4 bytes, big-endian */
static uint32_t format_of(const MDB_val *v)
{
    const uint8_t *b = v->mv_data;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int env_open(struct rl_store *s, const char *dir, const struct rl_store_opts *o, int create,
                    struct proto_err *e)
{
    int rc;
    MDB_txn *txn = NULL;

    memset(s, 0, sizeof *s);
    /* readers first: a thread holding it for reading may wait for another that takes it for
     * reading too (the needs report's second half), while a grow waits for both */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_READER_NP);
    pthread_rwlock_init(&s->maplock, &ra);
    pthread_rwlockattr_destroy(&ra);
    s->dir = strdup(dir);
    /* a number no other store opened by this process had (caches key on it, not on
     * addresses or transaction ids, which a later store may reuse) */
    static uint64_t generations;
    s->gen = __atomic_add_fetch(&generations, 1, __ATOMIC_RELAXED);
    if (!s->dir)
        return proto_errf(e, -ENOMEM, "out of memory");
    s->map_max = o && o->map_max ? o->map_max : RL_MAP_MAX;
    size_t map = o && o->map_initial ? o->map_initial : RL_MAP_INITIAL;
    if ((rc = mdb_env_create(&s->env)))
        goto lmdb;
    mdb_env_set_maxdbs(s->env, 32);
    mdb_env_set_maxreaders(s->env, 4096);
    mdb_env_set_mapsize(s->env, map);
    if ((rc = mdb_env_open(s->env, dir, MDB_NOTLS | MDB_NORDAHEAD, 0600)))
        goto lmdb;
    /* adopt a larger size recorded in the file */
    mdb_env_set_mapsize(s->env, 0);
    /* a file shorter than its pages (a copy cut short) would fault the map on first read */
    {
        MDB_envinfo info;
        MDB_stat est;
        struct stat fst;
        char *dp = path_join(dir, "data.mdb");
        int cut = dp && mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &est) == 0 &&
                  stat(dp, &fst) == 0 &&
                  (uint64_t)fst.st_size < ((uint64_t)info.me_last_pgno + 1) * est.ms_psize;
        free(dp);
        if (cut) {
            rl_store_close(s);
            return proto_errf(e, PROTO_ECORRUPT,
                              "'%s/data.mdb' is cut short (%llu bytes; its pages reach %llu): "
                              "a copy that did not finish? Start from an intact backup",
                              dir, (unsigned long long)fst.st_size,
                              (unsigned long long)((info.me_last_pgno + 1) * est.ms_psize));
        }
    }

    if ((rc = mdb_txn_begin(s->env, NULL, create ? 0 : MDB_RDONLY, &txn)))
        goto lmdb;
    const int fresh = create;
    s->format = RL_FORMAT_VERSION;
    for (int i = 0; i < RL_DB_COUNT; i++) {
        rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | (create ? MDB_CREATE : 0), &s->dbi[i]);
        if (rc == MDB_NOTFOUND && i == RL_DB_META) {
            mdb_txn_abort(txn);
            rl_store_close(s);
            return proto_errf(e, PROTO_ENOTNODE, "'%s' is not a relief data directory", dir);
        }
        if (rc == MDB_NOTFOUND) {
            /* a database this version adds: create it in a write transaction */
            mdb_txn_abort(txn);
            if ((rc = mdb_txn_begin(s->env, NULL, 0, &txn)))
                goto lmdb;
            create = 1;
            i = -1;
            continue;
        }
        if (rc)
            goto lmdb_txn;
        if (i != RL_DB_META || fresh)
            continue;
        /* the format first: a newer one is refused before anything is created in it */
        MDB_val k = {6, "format"}, v;
        rc = mdb_get(txn, s->dbi[RL_DB_META], &k, &v);
        if (rc == MDB_NOTFOUND || (rc == 0 && v.mv_size != 4)) {
            mdb_txn_abort(txn);
            rl_store_close(s);
            return proto_errf(e, PROTO_ENOTNODE, "'%s' is not a relief data directory", dir);
        }
        if (rc)
            goto lmdb_txn; /* damage, I/O: said as LMDB says it */
        uint32_t fmt = format_of(&v);
        if (fmt > RL_FORMAT_VERSION) {
            mdb_txn_abort(txn);
            rl_store_close(s);
            return proto_errf(e, PROTO_EFORMAT,
                              "'%s' has data format %u; this relief reads up to %u: upgrade relief",
                              dir, fmt, RL_FORMAT_VERSION);
        }
        s->format = fmt;
    }
    if ((rc = mdb_txn_commit(txn))) {
        txn = NULL;
        goto lmdb;
    }
    txn = NULL;

    read_machine_id(s->machine_id);
    char *path = path_join(dir, "data.mdb");
    struct stat st;
    if (!path || stat(path, &st)) {
        free(path);
        rl_store_close(s);
        return proto_errf(e, -EIO, "cannot stat the data file in '%s'", dir);
    }
    free(path);
    s->file_dev = (uint64_t)st.st_dev;
    s->file_ino = (uint64_t)st.st_ino;
    return 0;

lmdb_txn:
    mdb_txn_abort(txn);
lmdb:
    rc = lmdb_fail(e, rc, "cannot open", dir);
    rl_store_close(s);
    return rc;
}

int rl_store_create(struct rl_store *s, const char *dir, const struct rl_store_opts *o,
                    struct proto_err *e)
{
    int rc;
    if (rl_store_exists(dir))
        return proto_errf(e, PROTO_EEXIST, "'%s' already holds a relief node", dir);
    if ((rc = mkdirs(dir)))
        return proto_errf(e, rc, "cannot create '%s': %s", dir, strerror(-rc));
    return env_open(s, dir, o, 1, e);
}

int rl_store_open(struct rl_store *s, const char *dir, const struct rl_store_opts *o,
                  struct proto_err *e)
{
    struct stat st;
    if (stat(dir, &st) || !S_ISDIR(st.st_mode))
        return proto_errf(e, PROTO_ENOTNODE,
                          "no relief node in '%s' (create one with 'relief init')", dir);
    if (!rl_store_exists(dir))
        return proto_errf(e, PROTO_ENOTNODE,
                          "'%s' is not a relief data directory (create one with 'relief init')",
                          dir);
    return env_open(s, dir, o, 0, e);
}

void rl_store_close(struct rl_store *s)
{
    if (s->env)
        mdb_env_close(s->env);
    free(s->dir);
    pthread_rwlock_destroy(&s->maplock);
    memset(s, 0, sizeof *s);
}

size_t rl_store_mapsize(struct rl_store *s)
{
    MDB_envinfo info;
    mdb_env_info(s->env, &info);
    return info.me_mapsize;
}

static int grow(struct rl_store *s, struct proto_err *e)
{
    size_t cur = rl_store_mapsize(s);
    if (cur >= s->map_max)
        return proto_errf(e, -ENOSPC, "data file reached its maximum size of %zu MiB",
                          s->map_max >> 20);
    size_t next = cur * 2 > s->map_max ? s->map_max : cur * 2;
    pthread_rwlock_wrlock(&s->maplock);
    int rc = mdb_env_set_mapsize(s->env, next);
    pthread_rwlock_unlock(&s->maplock);
    if (rc)
        return lmdb_fail(e, rc, "cannot grow the map of", s->dir);
    return 0;
}

/* Another process grew the map: adopt its size, with no transaction of ours open. */
static void adopt_mapsize(struct rl_store *s)
{
    pthread_rwlock_wrlock(&s->maplock);
    mdb_env_set_mapsize(s->env, 0);
    pthread_rwlock_unlock(&s->maplock);
}

int rl_txn_format(struct rl_txn *t, uint32_t *fmt)
{
    MDB_val v;
    int rc = rl_get(t, RL_DB_META, "format", 6, &v);
    if (rc)
        return rc;
    if (v.mv_size != 4)
        return PROTO_ECORRUPT;
    *fmt = format_of(&v);
    return 0;
}

void rl_format_put_bytes(uint8_t out[4], uint32_t fmt)
{
    out[0] = (uint8_t)(fmt >> 24);
    out[1] = (uint8_t)(fmt >> 16);
    out[2] = (uint8_t)(fmt >> 8);
    out[3] = (uint8_t)fmt;
}

/*
 * A newer relief may upgrade the directory while this one runs (a relief serve left running
 * across a package upgrade, and the new CLI's first command): this one then stops reading and
 * writing it rather than read the new layout wrongly or write the old one into it.
 */
static int upgraded_under_us(struct rl_txn *t, struct proto_err *e)
{
    uint32_t fmt;
    if (rl_txn_format(t, &fmt) == 0 && fmt > RL_FORMAT_VERSION)
        return proto_errf(e, PROTO_EFORMAT,
                          "'%s' was upgraded to data format %u by a newer relief while this one "
                          "(format %u) ran: run the newer relief",
                          t->s->dir, fmt, RL_FORMAT_VERSION);
    return 0;
}

uint64_t rl_txn_uid(void)
{
    static uint64_t uids;
    return __atomic_add_fetch(&uids, 1, __ATOMIC_RELAXED);
}

/*
 * The transaction's cursor on db, opened on first use; NULL in a nested transaction, or one
 * that is not the top one rl_store_write or rl_store_read began (those use mdb_get and
 * mdb_put). LMDB keeps a write transaction's cursors right through every change any cursor of
 * it makes, closes them when it ends, and lends them to a nested one and back.
 */
static MDB_cursor *txn_cursor(struct rl_txn *t, enum rl_db db)
{
    if (!t->top || t->txn != t->top)
        return NULL;
    if (!t->cur[db] && mdb_cursor_open(t->txn, t->s->dbi[db], &t->cur[db]))
        t->cur[db] = NULL;
    return t->cur[db];
}

/* Close the cursors of a read-only transaction (those of a write one close with it). */
static void txn_cursors_close(struct rl_txn *t)
{
    for (int i = 0; i < RL_DB_COUNT; i++)
        if (t->cur[i]) {
            mdb_cursor_close(t->cur[i]);
            t->cur[i] = NULL;
        }
}

/* Write the version-vector entry the transaction holds, if not written yet. An LMDB code. */
static int vv_write(struct rl_txn *t)
{
    uint8_t k[8], v[8 + PROTO_HASH_BYTES];
    if (!t->vv.dirty)
        return 0;
    proto_put_be64(k, t->vv.origin);
    proto_put_be64(v, t->vv.seq);
    memcpy(v + 8, t->vv.hash, PROTO_HASH_BYTES);
    MDB_val key = {8, k}, val = {sizeof v, v};
    int rc = mdb_put(t->txn, t->s->dbi[RL_DB_VV], &key, &val, 0);
    if (!rc)
        t->vv.dirty = 0;
    return rc;
}

int rl_vv_write_held(struct rl_txn *t)
{
    return rl_mdb_err(vv_write(t));
}

/* --- shelf index values held until the end (store.h) --- */

#define DUP_KEY 8u              /* RL_DB_SHELFMV's key and value sizes, the only ones held */
#define DUP_VAL 16u             /* (ledger.h: RL_SHELFMV_VAL) */
#define DUP_HELD_MAX (1u << 18) /* values held at most: 7 MB, and 4 MB of slots */

struct rl_dup_held {
    uint8_t k[DUP_KEY], v[DUP_VAL];
};

static uint32_t dup_hash(const uint8_t *k, const uint8_t *v)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (unsigned i = 0; i < DUP_KEY; i++)
        h = (h ^ k[i]) * 16777619u;
    for (unsigned i = 0; i < DUP_VAL; i++)
        h = (h ^ v[i]) * 16777619u;
    return h;
}

/* The held value's slot (empty when it is not held). */
static uint32_t *dup_slot(const struct rl_dups_held *d, const uint8_t *k, const uint8_t *v)
{
    size_t i = dup_hash(k, v) & (d->nslot - 1);
    for (;; i = (i + 1) & (d->nslot - 1)) {
        uint32_t *s = &d->slot[i];
        if (!*s || (!memcmp(d->v[*s - 1].k, k, DUP_KEY) && !memcmp(d->v[*s - 1].v, v, DUP_VAL)))
            return s;
    }
}

static int dup_hold(struct rl_dups_held *d, const uint8_t *k, const uint8_t *v)
{
    if (d->n + 1 > d->nslot / 2) { /* a larger table, every value placed again */
        size_t ns = d->nslot ? d->nslot * 2 : 4096;
        uint32_t *sl = calloc(ns, sizeof *sl);
        if (!sl)
            return ENOMEM;
        free(d->slot);
        d->slot = sl;
        d->nslot = ns;
        for (size_t i = 0; i < d->n; i++)
            *dup_slot(d, d->v[i].k, d->v[i].v) = (uint32_t)(i + 1);
    }
    uint32_t *s = dup_slot(d, k, v);
    if (*s)
        return 0; /* held already */
    if (d->n == d->cap) {
        size_t nc = d->cap ? d->cap * 2 : 1024;
        struct rl_dup_held *nv = realloc(d->v, nc * sizeof *nv);
        if (!nv)
            return ENOMEM;
        d->v = nv;
        d->cap = nc;
    }
    memcpy(d->v[d->n].k, k, DUP_KEY);
    memcpy(d->v[d->n].v, v, DUP_VAL);
    *s = (uint32_t)++d->n;
    return 0;
}

static int dup_cmp(const void *a, const void *b)
{
    return memcmp(a, b, sizeof(struct rl_dup_held)); /* key, then value: the database's order */
}

static void dups_clear(struct rl_dups_held *d)
{
    if (d->n)
        memset(d->slot, 0, d->nslot * sizeof *d->slot);
    d->n = 0;
}

static void dups_free(struct rl_dups_held *d)
{
    free(d->v);
    free(d->slot);
    memset(d, 0, sizeof *d);
}

/*
 * Write the held values, sorted: after a key's first one, each follows the one before at the
 * end of the key's values when that one went there. An LMDB code.
 */
static int dups_write(struct rl_txn *t)
{
    struct rl_dups_held *d = &t->dups;
    MDB_cursor *c;
    int rc = 0, at_end = 0;
    if (!d->n)
        return 0;
    qsort(d->v, d->n, sizeof *d->v, dup_cmp);
    if ((rc = mdb_cursor_open(t->txn, t->s->dbi[RL_DB_SHELFMV], &c)))
        return rc;
    for (size_t i = 0; i < d->n && !rc; i++) {
        MDB_val key = {DUP_KEY, d->v[i].k}, val = {DUP_VAL, d->v[i].v}, last = val;
        unsigned flags = 0;
        if (i && at_end && !memcmp(d->v[i].k, d->v[i - 1].k, DUP_KEY)) {
            flags = MDB_APPENDDUP;
        } else if ((rc = mdb_cursor_get(c, &key, &last, MDB_GET_BOTH_RANGE)) == MDB_NOTFOUND) {
            flags = MDB_APPENDDUP; /* after the key's last value (see rl_put_dup_append) */
        } else if (rc) {
            break;
        }
        key.mv_size = DUP_KEY;
        key.mv_data = d->v[i].k;
        at_end = flags != 0;
        rc = mdb_cursor_put(c, &key, &val, flags);
    }
    mdb_cursor_close(c);
    if (!rc)
        dups_clear(d);
    return rc;
}

/* Before db is read or written another way: what the transaction holds for it written (an
 * LMDB code). */
static int before(struct rl_txn *t, enum rl_db db)
{
    return db == RL_DB_VV ? vv_write(t) : db == RL_DB_SHELFMV ? dups_write(t) : 0;
}

/*
 * A transaction's function that failed without saying why (an error code passed up from a
 * buffer or a lookup) still leaves its code in e, so no caller reports a failure as "success".
 */
static int fn_failed(struct proto_err *e, int rc)
{
    if (rc && e && !e->code)
        e->code = rc;
    return rc;
}

int rl_store_write(struct rl_store *s, rl_txn_fn fn, void *arg, struct proto_err *e)
{
    for (;;) {
        struct rl_txn t = {.s = s, .write = 1, .uid = rl_txn_uid()};
        pthread_rwlock_rdlock(&s->maplock);
        int rc = mdb_txn_begin(s->env, NULL, 0, &t.txn);
        if (rc == MDB_MAP_RESIZED) {
            pthread_rwlock_unlock(&s->maplock);
            adopt_mapsize(s);
            continue;
        }
        if (rc) {
            pthread_rwlock_unlock(&s->maplock);
            return lmdb_fail(e, rc, "cannot write to", s->dir);
        }
        t.top = t.txn;
        rc = upgraded_under_us(&t, e);
        if (!rc)
            rc = fn_failed(e, fn(&t, arg, e));
        if (!rc && ((rc = dups_write(&t)) || (rc = vv_write(&t))))
            rc = rc == MDB_MAP_FULL ? PROTO_EMAPFULL : lmdb_fail(e, rc, "cannot write to", s->dir);
        dups_free(&t.dups);
        if (rc) {
            mdb_txn_abort(t.txn);
        } else {
            rc = mdb_txn_commit(t.txn);
            if (rc == MDB_MAP_FULL) {
                rc = PROTO_EMAPFULL;
            } else if (rc) {
                pthread_rwlock_unlock(&s->maplock);
                return lmdb_fail(e, rc, "cannot commit to", s->dir);
            }
        }
        pthread_rwlock_unlock(&s->maplock);
        if (rc != PROTO_EMAPFULL)
            return rc;
        proto_err_clear(e);
        if ((rc = grow(s, e)))
            return rc;
    }
}

int rl_txn_nested(struct rl_txn *t, rl_txn_fn fn, void *arg, struct proto_err *e)
{
    MDB_txn *parent = t->txn, *child;
    /* (values appended inside are written at once: the held ones belong to the parent) */
    int rc = dups_write(t);
    if (rc)
        return rc == MDB_MAP_FULL ? PROTO_EMAPFULL : lmdb_fail(e, rc, "cannot write to", t->s->dir);
    rc = mdb_txn_begin(t->s->env, parent, 0, &child);
    if (rc)
        return lmdb_fail(e, rc, "cannot write to", t->s->dir);
    struct rl_unknown_tally saved[RL_UNKNOWN_TALLY];
    unsigned nsaved = t->nunknown;
    struct rl_vv_held vv = t->vv;
    memcpy(saved, t->unknown, sizeof saved);
    t->txn = child;
    rc = fn_failed(e, fn(t, arg, e));
    t->txn = parent;
    if (rc) {
        mdb_txn_abort(child);
        memcpy(t->unknown, saved, sizeof saved);
        t->nunknown = nsaved;
        t->vv = vv;
        t->changes++; /* what it wrote is gone */
        return rc;
    }
    if ((rc = mdb_txn_commit(child)))
        return rc == MDB_MAP_FULL ? PROTO_EMAPFULL : lmdb_fail(e, rc, "cannot write to", t->s->dir);
    return 0;
}

int rl_store_read(struct rl_store *s, rl_txn_fn fn, void *arg, struct proto_err *e)
{
    struct rl_txn t = {.s = s, .write = 0, .uid = rl_txn_uid()};
    pthread_rwlock_rdlock(&s->maplock);
    int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t.txn);
    if (rc == MDB_MAP_RESIZED) {
        pthread_rwlock_unlock(&s->maplock);
        adopt_mapsize(s);
        pthread_rwlock_rdlock(&s->maplock);
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &t.txn);
    }
    if (rc) {
        pthread_rwlock_unlock(&s->maplock);
        return lmdb_fail(e, rc, "cannot read", s->dir);
    }
    t.top = t.txn;
    rc = upgraded_under_us(&t, e);
    if (!rc)
        rc = fn_failed(e, fn(&t, arg, e));
    txn_cursors_close(&t);
    mdb_txn_abort(t.txn);
    pthread_rwlock_unlock(&s->maplock);
    return rc;
}

static int forget_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)arg;
    int rc = rl_del(t, RL_DB_META, "file", 4);
    if (rc == 0 || rc == -ENOENT)
        rc = rl_del(t, RL_DB_META, "machine", 7);
    if (rc && rc != -ENOENT)
        return proto_errf(e, rc, "cannot mark the backup as a copy");
    return 0;
}

/* Remove a backup's work directory and what is in it (files only: it holds no others). */
static void remove_work(const char *work)
{
    DIR *d = opendir(work);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *p = path_join(work, de->d_name);
        if (p)
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(work);
}

/* The work directories of earlier backups to dir that were cut short (kill -9, a pulled plug);
 * the caller holds dir's lock, so no backup is writing in one. */
static void remove_stale_work(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    while (d && (de = readdir(d))) {
        if (strncmp(de->d_name, ".relief-backup-", 15) != 0)
            continue;
        char *p = path_join(dir, de->d_name);
        if (p)
            remove_work(p);
        free(p);
    }
    if (d)
        closedir(d);
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) ? -errno : 0;
    close(fd);
    return rc;
}

/*
 * The copy is made in a work directory of its own inside dir (mode 700) and moved into place by
 * a rename once it is whole and durable: a copy cut short (a full disk, kill -9) never looks
 * like a node, and the next backup to dir is not refused because of it.
 */
int rl_store_backup(struct rl_store *s, const char *dir, struct proto_err *e)
{
    int rc;
    if ((rc = mkdirs(dir)))
        return proto_errf(e, rc, "cannot create '%s': %s", dir, strerror(-rc));
    /* one backup at a time into dir (closing the descriptor lets go) */
    int lock = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock < 0)
        return proto_errf(e, -errno, "cannot open '%s': %s", dir, strerror(errno));
    if (flock(lock, LOCK_EX | LOCK_NB)) {
        rc = -errno;
        close(lock);
        if (rc == -EWOULDBLOCK)
            return proto_errf(e, rc, "another backup into '%s' is running", dir);
        return proto_errf(e, rc, "cannot lock '%s': %s", dir, strerror(-rc));
    }
    if (rl_store_exists(dir)) {
        close(lock);
        return proto_errf(e, PROTO_EEXIST, "'%s' already holds a relief node", dir);
    }
    remove_stale_work(dir);
    char *tmpl = path_join(dir, ".relief-backup-XXXXXX");
    char *work = tmpl ? mkdtemp(tmpl) : NULL;
    if (!work) {
        rc = tmpl ? -errno : -ENOMEM;
        free(tmpl);
        close(lock);
        return proto_errf(e, rc, "cannot create a work directory in '%s': %s", dir, strerror(-rc));
    }
    char *from = path_join(work, "data.mdb"), *to = path_join(dir, "data.mdb");
    if (!from || !to) {
        rc = proto_errf(e, -ENOMEM, "out of memory");
        goto out;
    }
    pthread_rwlock_rdlock(&s->maplock); /* the copy reads through a transaction of its own */
    rc = mdb_env_copy2(s->env, work, MDB_CP_COMPACT);
    pthread_rwlock_unlock(&s->maplock);
    if (rc) {
        rc = lmdb_fail(e, rc, "cannot back up to", dir);
        goto out;
    }
    /* the node's data is its users' contacts: readable by this user alone, as the node's is */
    if (chmod(from, 0600)) {
        rc = proto_errf(e, -errno, "cannot protect '%s': %s", from, strerror(errno));
        goto out;
    }
    /*
     * The copy forgets which file and machine wrote it last, so a node started from it --
     * wherever it is copied to, whatever inode it gets -- takes a new node id (node.c). Its
     * commit makes the whole file durable.
     */
    struct rl_store copy;
    if ((rc = rl_store_open(&copy, work, NULL, e)))
        goto out;
    rc = rl_store_write(&copy, forget_fn, NULL, e);
    rl_store_close(&copy);
    if (rc)
        goto out;
    if (rename(from, to)) {
        rc = proto_errf(e, -errno, "cannot move the copy into '%s': %s", dir, strerror(errno));
        goto out;
    }
    if ((rc = fsync_dir(dir)))
        rc = proto_errf(e, rc, "cannot sync '%s': %s", dir, strerror(-rc));
out:
    remove_work(work);
    close(lock);
    free(from);
    free(to);
    free(tmpl);
    return rc;
}

int rl_store_size(struct rl_store *s, uint64_t *bytes)
{
    char *p = path_join(s->dir, "data.mdb");
    struct stat st;
    int rc = p && stat(p, &st) == 0 ? 0 : -EIO;
    free(p);
    if (!rc)
        *bytes = (uint64_t)st.st_size;
    return rc;
}

int rl_get(struct rl_txn *t, enum rl_db db, const void *k, size_t kn, MDB_val *v)
{
    MDB_val key = {kn, (void *)k};
    int rc = before(t, db);
    if (rc)
        return rl_mdb_err(rc);
    MDB_cursor *c = txn_cursor(t, db);
    if (c)
        return rl_mdb_err(mdb_cursor_get(c, &key, v, MDB_SET));
    return rl_mdb_err(mdb_get(t->txn, t->s->dbi[db], &key, v));
}

static int put(struct rl_txn *t, enum rl_db db, MDB_val *key, MDB_val *val, unsigned flags)
{
    int rc = before(t, db);
    if (rc)
        return rl_mdb_err(rc);
    MDB_cursor *c = txn_cursor(t, db);
    if (c)
        return rl_mdb_err(mdb_cursor_put(c, key, val, flags));
    return rl_mdb_err(mdb_put(t->txn, t->s->dbi[db], key, val, flags));
}

int rl_put(struct rl_txn *t, enum rl_db db, const void *k, size_t kn, const void *v, size_t vn)
{
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    return put(t, db, &key, &val, 0);
}

int rl_put_reserve(struct rl_txn *t, enum rl_db db, const void *k, size_t kn, size_t vn,
                   void **out)
{
    MDB_val key = {kn, (void *)k}, val = {vn, NULL};
    int rc = put(t, db, &key, &val, MDB_RESERVE);
    if (!rc)
        *out = val.mv_data;
    return rc;
}

int rl_del(struct rl_txn *t, enum rl_db db, const void *k, size_t kn)
{
    MDB_val key = {kn, (void *)k}, v;
    int rc = before(t, db);
    MDB_cursor *c = dbs[db].flags & MDB_DUPSORT ? NULL : txn_cursor(t, db);
    if (!rc && c && !(rc = mdb_cursor_get(c, &key, &v, MDB_SET)))
        rc = mdb_cursor_del(c, 0);
    else if (!rc && !c)
        rc = mdb_del(t->txn, t->s->dbi[db], &key, NULL);
    return rl_mdb_err(rc);
}

int rl_clear(struct rl_txn *t, enum rl_db db)
{
    int rc = before(t, db);
    return rl_mdb_err(rc ? rc : mdb_drop(t->txn, t->s->dbi[db], 0));
}

int rl_get_dup(struct rl_txn *t, enum rl_db db, const void *k, size_t kn, const void *v,
               size_t vn)
{
    MDB_cursor *c = txn_cursor(t, db), *own = NULL;
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v};
    if (db == RL_DB_SHELFMV && t->dups.n && kn == DUP_KEY && vn == DUP_VAL &&
        *dup_slot(&t->dups, k, v))
        return 0;
    int rc = db == RL_DB_SHELFMV ? 0 : before(t, db); /* (held values are not read here) */
    if (!rc && !c)
        rc = mdb_cursor_open(t->txn, t->s->dbi[db], &own);
    if (rc)
        return rl_mdb_err(rc);
    rc = mdb_cursor_get(c ? c : own, &key, &val, MDB_GET_BOTH);
    if (own)
        mdb_cursor_close(own);
    return rl_mdb_err(rc);
}

int rl_put_dup_append(struct rl_txn *t, enum rl_db db, const void *k, size_t kn, const void *v,
                      size_t vn)
{
    MDB_cursor *c = txn_cursor(t, db), *own = NULL;
    MDB_val key = {kn, (void *)k}, val = {vn, (void *)v}, last;
    unsigned flags = 0;
    if (db == RL_DB_SHELFMV && kn == DUP_KEY && vn == DUP_VAL && t->write && c) {
        /* written at the end (dups_write), or when a rebuild holds too many */
        int rc = t->dups.n < DUP_HELD_MAX ? 0 : dups_write(t);
        return rl_mdb_err(rc ? rc : dup_hold(&t->dups, k, v));
    }
    int rc = before(t, db);
    if (!rc && !c)
        rc = mdb_cursor_open(t->txn, t->s->dbi[db], &own);
    if (rc)
        return rl_mdb_err(rc);
    if (own)
        c = own;
    /* after the key's last value (no value at or after it; a new key takes the flag too):
     * say so, and LMDB leaves the page it fills full when it splits (else it splits in the
     * middle, and appended values leave pages half empty) */
    last = val;
    if ((rc = mdb_cursor_get(c, &key, &last, MDB_GET_BOTH_RANGE)) == MDB_NOTFOUND)
        flags = MDB_APPENDDUP;
    if (rc == 0 || rc == MDB_NOTFOUND) {
        key.mv_size = kn;
        key.mv_data = (void *)k;
        rc = mdb_cursor_put(c, &key, &val, flags);
    }
    if (own)
        mdb_cursor_close(own);
    return rl_mdb_err(rc);
}

/* A copy of v in *buf (grown as needed): values LMDB returns last only until the next write. */
static int hold(MDB_val *v, uint8_t **buf, size_t *cap)
{
    if (v->mv_size > *cap) {
        uint8_t *nb = realloc(*buf, v->mv_size);
        if (!nb)
            return ENOMEM;
        *buf = nb;
        *cap = v->mv_size;
    }
    if (v->mv_size)
        memcpy(*buf, v->mv_data, v->mv_size);
    v->mv_data = *buf;
    return 0;
}

/*
 * The second half of a rewrite: the table emptied (its pages freed) and filled again from the
 * scratch one in order, each entry copied first (the scratch table's pages are dirty, and
 * writing may move them), then the scratch table deleted. An LMDB code.
 */
static int copy_back(MDB_txn *txn, MDB_dbi tmp, MDB_dbi d, unsigned append)
{
    MDB_cursor *c;
    MDB_val k, v;
    uint8_t *kb = NULL, *vb = NULL;
    size_t kc = 0, vc = 0;
    int rc = mdb_drop(txn, d, 0);
    if (!rc && !(rc = mdb_cursor_open(txn, tmp, &c))) {
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            if ((rc = hold(&k, &kb, &kc)) || (rc = hold(&v, &vb, &vc)) ||
                (rc = mdb_put(txn, d, &k, &v, append)))
                break;
        mdb_cursor_close(c);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (!rc)
        rc = mdb_drop(txn, tmp, 1);
    free(kb);
    free(vb);
    return rc;
}

/* One entry fn gives, appended to the scratch table (its value copied first). */
static int rewritten(MDB_txn *txn, MDB_dbi tmp, MDB_val *ok, MDB_val *ov, uint8_t **buf,
                     size_t *cap)
{
    int rc;
    if (!ov->mv_data)
        return 0;
    if ((rc = hold(ov, buf, cap)))
        return rc;
    return mdb_put(txn, tmp, ok, ov, MDB_APPEND);
}

int rl_rewrite(struct rl_txn *t, enum rl_db db,
               int (*fn)(void *arg, const MDB_val *k, const MDB_val *v, MDB_val *ok, MDB_val *ov),
               void *arg)
{
    MDB_dbi tmp, d = t->s->dbi[db];
    MDB_cursor *c;
    MDB_val k, v, ok, ov;
    uint8_t *buf = NULL;
    size_t cap = 0;
    int frc = 0; /* fn's */
    int rc = before(t, db);
    if (!rc)
        rc = mdb_dbi_open(t->txn, "rewrite", MDB_CREATE, &tmp);
    /* 1: every entry, rewritten, appended in key order to a scratch table (full pages) */
    if (!rc && !(rc = mdb_cursor_open(t->txn, d, &c))) {
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            ov.mv_data = NULL;
            if ((frc = fn(arg, &k, &v, &ok, &ov)) ||
                (rc = rewritten(t->txn, tmp, &ok, &ov, &buf, &cap)))
                break;
        }
        mdb_cursor_close(c);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
        ov.mv_data = NULL;
        if (!rc && !frc && !(frc = fn(arg, NULL, NULL, &ok, &ov)))
            rc = rewritten(t->txn, tmp, &ok, &ov, &buf, &cap);
    }
    if (!rc && !frc)
        rc = copy_back(t->txn, tmp, d, MDB_APPEND);
    free(buf);
    return frc ? frc : rl_mdb_err(rc);
}

int rl_rewrite_dups(struct rl_txn *t, enum rl_db db,
                    int (*fn)(void *arg, const MDB_val *k, const MDB_val *v, MDB_val *ok,
                              MDB_val *ov),
                    void *arg)
{
    MDB_dbi tmp, d = t->s->dbi[db];
    MDB_cursor *c;
    MDB_val k, v, ok, ov;
    unsigned flags;
    int frc = 0; /* fn's */
    int rc = before(t, db);
    if (!rc)
        rc = mdb_dbi_flags(t->txn, d, &flags);
    if (!rc)
        rc = mdb_dbi_open(t->txn, "rewrite-dups",
                          MDB_CREATE | (flags & (MDB_DUPSORT | MDB_DUPFIXED)), &tmp);
    /* 1: every pair, rewritten, into a scratch table (in its order) */
    if (!rc && !(rc = mdb_cursor_open(t->txn, d, &c))) {
        for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
            if ((frc = fn(arg, &k, &v, &ok, &ov)) || (rc = mdb_put(t->txn, tmp, &ok, &ov, 0)))
                break;
        mdb_cursor_close(c);
        rc = rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (!rc && !frc)
        rc = copy_back(t->txn, tmp, d, MDB_APPENDDUP);
    return frc ? frc : rl_mdb_err(rc);
}

/* Whether process pid maps the file (dev, ino): its /proc/PID/maps, where it may be read. */
static int maps_file(long pid, dev_t dev, ino_t ino)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%ld/maps", pid);
    FILE *f = fopen(path, "re");
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        unsigned maj, min;
        unsigned long long inode;
        if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min, &inode) == 3)
            found = inode == (unsigned long long)ino && maj == major(dev) && min == minor(dev);
    }
    if (f)
        fclose(f);
    return found;
}

/* Whether process pid runs this very relief or the relief-net installed next to it. */
static int same_relief(long pid)
{
    char path[64], self[4096];
    struct stat a, b;
    snprintf(path, sizeof path, "/proc/%ld/exe", pid);
    if (stat(path, &a))
        return 0;
    if (stat("/proc/self/exe", &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
        return 1;
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 16);
    if (n <= 0)
        return 0;
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (!slash)
        return 0;
    strcpy(slash + 1, "relief-net");
    return stat(self, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

long rl_store_other_process(struct rl_store *s)
{
    char *p = path_join(s->dir, "data.mdb");
    struct stat st;
    long other = 0;
    DIR *d = p && stat(p, &st) == 0 ? opendir("/proc") : NULL;
    free(p);
    for (struct dirent *de; d && !other && (de = readdir(d));) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || pid == (long)getpid())
            continue;
        /* this version's own programs (two commands at once) upgrade it one after the other */
        if (maps_file(pid, st.st_dev, st.st_ino) && !same_relief(pid))
            other = pid;
    }
    if (d)
        closedir(d);
    return other;
}

int rl_drop_named(struct rl_txn *t, const char *name)
{
    MDB_dbi dbi;
    int rc = mdb_dbi_open(t->txn, name, 0, &dbi);
    if (rc == MDB_NOTFOUND)
        return 0;
    /* the handle is closed by the drop, or by LMDB when the transaction aborts */
    return rl_mdb_err(rc ? rc : mdb_drop(t->txn, dbi, 1));
}

int rl_count(struct rl_txn *t, enum rl_db db, uint64_t *n)
{
    MDB_stat st;
    int rc = before(t, db);
    if (!rc)
        rc = mdb_stat(t->txn, t->s->dbi[db], &st);
    if (!rc)
        *n = st.ms_entries;
    return rl_mdb_err(rc);
}

int rl_cursor_open(struct rl_txn *t, enum rl_db db, struct rl_cursor *c)
{
    int rc = before(t, db);
    return rl_mdb_err(rc ? rc : mdb_cursor_open(t->txn, t->s->dbi[db], &c->c));
}

void rl_cursor_close(struct rl_cursor *c)
{
    if (c->c)
        mdb_cursor_close(c->c);
    c->c = NULL;
}

static int cur(struct rl_cursor *c, MDB_val *k, MDB_val *v, MDB_cursor_op op)
{
    return rl_mdb_err(mdb_cursor_get(c->c, k, v, op));
}

int rl_cursor_first(struct rl_cursor *c, MDB_val *k, MDB_val *v)
{
    return cur(c, k, v, MDB_FIRST);
}

int rl_cursor_last(struct rl_cursor *c, MDB_val *k, MDB_val *v)
{
    return cur(c, k, v, MDB_LAST);
}

int rl_cursor_next(struct rl_cursor *c, MDB_val *k, MDB_val *v)
{
    return cur(c, k, v, MDB_NEXT);
}

int rl_cursor_prev(struct rl_cursor *c, MDB_val *k, MDB_val *v)
{
    return cur(c, k, v, MDB_PREV);
}

int rl_cursor_seek(struct rl_cursor *c, const void *key, size_t kn, MDB_val *k, MDB_val *v)
{
    k->mv_size = kn;
    k->mv_data = (void *)key;
    return cur(c, k, v, MDB_SET_RANGE);
}

int rl_cursor_replace(struct rl_cursor *c, const MDB_val *k, const void *v, size_t vn)
{
    MDB_val key = *k, val = {vn, (void *)v};
    return rl_mdb_err(mdb_cursor_put(c->c, &key, &val, MDB_CURRENT));
}
