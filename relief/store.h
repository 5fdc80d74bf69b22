/*
 * The node's storage: one LMDB environment in the data directory, with named databases.
 *
 * Every change happens in a write transaction run through rl_store_write(): the caller's
 * function does all its work inside it and the store commits once, so ops, the version vector
 * and every derived view change together or not at all. When the map is full the store aborts,
 * doubles the map and runs the function again from the start (never resizing with a transaction
 * open), so a function must touch nothing but the transaction. Commits are durable (fsync), the
 * map is never MDB_WRITEMAP (a full disk would be SIGBUS), and MDB_NOTLS lets read transactions
 * move between threads.
 *
 * LMDB values are borrowed until the transaction ends: copy out what must live longer.
 */
#ifndef RL_STORE_H
#define RL_STORE_H

#include "proto/error.h"
#include "proto/limits.h"

#include <lmdb.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

/* Version of the on-disk layout. A node refuses a data directory of a newer one. */
#define RL_FORMAT_VERSION 15u

/* Map size a new environment starts with, and the most it may grow to. */
#define RL_MAP_INITIAL (64ull << 20)
#define RL_MAP_MAX (1ull << 40)

/*
 * The named databases. Those marked "view" in store.c are derived state: they are part of the
 * state digest and are rebuilt from the op log.
 */
enum rl_db {
    RL_DB_META,  /* node metadata: key string -> value */
    RL_DB_OPS,   /* origin(8 BE) first seq(8 BE) -> a block of payloads (oplog.h) */
    RL_DB_CHAIN, /* origin(8) seq(8) -> hash(16), every RL_CHAIN_EVERY-th seq of a chain */
    RL_DB_VV,    /* origin(8 BE) -> seq(8 BE) hash(16) */
    RL_DB_FORKS, /* origin(8) seq(8) hash(16) -> payload of the other chain's op (or empty) */
    RL_DB_NODES, /* view: origin(8) -> seq(8) name: each node's latest announced name */
    /* the domain's views (records.h, ledger.h) */
    RL_DB_RECORDS,    /* rid -> hlc(8) origin(8) seq(8): the op that created the record */
    RL_DB_FIELDS,     /* rid field(1) origin(8) seq(8) -> hlc(8) alen(1) author value: heads */
    RL_DB_SUPERSEDED, /* rid field(1) origin(8) seq(8) -> "": versions some edit saw */
    RL_DB_CODES,      /* code len(1) code site(8) -> "": sites by their current short code */
    RL_DB_TAGS,       /* rid set(1) origin(8) seq(8) -> element: add-wins set elements */
    RL_DB_REMOVED,    /* rid set(1) origin(8) seq(8) -> "": tags some remove saw */
    RL_DB_LEDGER,     /* origin(8) seq(8) -> what a movement applied, when not the default */
    RL_DB_SHELFMV,    /* site(8) -> origin(8) seq(8) ih(2) (dups): movements touching a shelf of
                       * the site, ih a hash of the item code (ledger.h: rl_item_hash) */
    RL_DB_BALANCE,    /* site(8) item -> q(qty) then each lot: s(lot) q(qty) (ledger.h) */
    RL_DB_LOTBAL,     /* site(8) item lot -> q(qty): the lots of shelves with too many for their
                       * balance value (ledger.h) */
    RL_DB_VOIDED,     /* origin(8) seq(8) of a voided movement -> the void's origin(8) seq(8) */
    RL_DB_COUNTS,     /* site(8) item -> the winning count: hlc origin seq qty vv */
    RL_DB_TRANSIT,    /* to(8) item origin(8) seq(8) -> qty(8): dispatches not yet arrived */
    RL_DB_ALERTS,     /* type(1) subject -> "" (or 'r', or a count(8)): alerts that follow from
                         the state (ledger.h: enum rl_alert_type) */
    RL_DB_LOTS,       /* item lot -> expiry day(4): the earliest expiry any receipt gave */
    RL_DB_NEEDFILL,   /* sums: need o(8) s(8) -> fulfilled; 'D' donation -> delivered;
                         'M' shift -> meals served (8 bytes, signed) */
    RL_DB_LOTMV,      /* formats 2-8: item lot -> origin(8) seq(8) (dups); kept empty since */
    RL_DB_DONMV,      /* donation origin(8) seq(8) -> receipt origin(8) seq(8) (dups) */
    /* node-local, never synced, outside the digest */
    RL_DB_TOKENS, /* BLAKE2b-256(token) -> role(1) created(8) name: tokens presented to us */
    RL_DB_PEERS,  /* url -> msgpack status: the peers this node syncs with */
    /* format 1's siteitem, lotuse and donrec, kept empty: a relief of format 1 finds every
     * database it knows and so reads the format, and refuses, instead of writing */
    RL_DB_F1_SITEITEM,
    RL_DB_F1_LOTUSE,
    RL_DB_F1_DONREC,
    RL_DB_COUNT
};

/* Name of a database, and whether it goes into the state digest. */
const char *rl_db_name(enum rl_db db);
int rl_db_in_digest(enum rl_db db);

struct rl_store {
    MDB_env *env;
    MDB_dbi dbi[RL_DB_COUNT];
    char *dir;         /* owned */
    uint64_t gen;      /* this opening's number, unique in the process */
    uint32_t format;   /* the data format found (RL_FORMAT_VERSION once upgraded) */
    size_t map_max;    /* growth stops here (-ENOSPC) */
    /* identity of this copy of the data, compared with what the last write recorded */
    char machine_id[64];
    uint64_t file_dev, file_ino;
    /* Every transaction holds this shared; changing the map size (growing it, or adopting the
     * size another process grew it to) holds it exclusive, so that no thread of the process
     * has a transaction open on the old mapping (LMDB's rule for mdb_env_set_mapsize). relief
     * serve reads in libuv's thread pool while its loop thread writes. */
    pthread_rwlock_t maplock;
};

/* Ops of kinds this version does not know, tallied per origin and kind within a transaction
 * and written once at its end (views.c). */
#define RL_UNKNOWN_TALLY 16
struct rl_unknown_tally {
    uint64_t origin;
    uint32_t kind;
    uint64_t count;
};

/*
 * A version-vector entry a write transaction holds instead of writing it to RL_DB_VV on every op
 * (oplog.c: this node's, as it appends ops one after another): written before anything else
 * touches RL_DB_VV and before the commit, dropped with a nested transaction that is undone.
 */
struct rl_vv_held {
    int held;  /* origin, seq and hash are the entry's */
    int dirty; /* not written yet */
    uint64_t origin, seq;
    uint8_t hash[PROTO_HASH_BYTES];
};

/*
 * Values appended to RL_DB_SHELFMV (rl_put_dup_append) that a top-level write transaction holds
 * and writes sorted, each key's in one run, before anything else touches the database, before a
 * nested transaction and before the commit (store.c). rl_get_dup finds them.
 */
struct rl_dup_held;
struct rl_dups_held {
    struct rl_dup_held *v;
    size_t n, cap;
    uint32_t *slot; /* open addressing: index + 1 of a value in v, 0 empty */
    size_t nslot;
};

struct rl_txn {
    struct rl_store *s;
    MDB_txn *txn;
    int write;
    void *node; /* struct rl_node * during a write (node.h) */
    struct rl_unknown_tally unknown[RL_UNKNOWN_TALLY];
    unsigned nunknown;
    /* what caches of lookups within this transaction key on (domain.c): a number no other
     * transaction of the process had, and a count of the changes that could make them wrong
     * (a short code written, a nested transaction undone) */
    uint64_t uid;
    uint32_t changes;
    /* 0, or 16 while an upgrade rebuilds the views of a format-1 directory from its op log as
     * it was: one op per entry, its payload behind its hash (oplog.h reads both) */
    uint32_t op_skip;
    /* cursors rl_get, rl_put and rl_put_reserve keep from one call to the next in the
     * transaction rl_store_write or rl_store_read began (top; NULL in others), so that LMDB
     * finds a key on the leaf page it is on without descending the tree again */
    MDB_txn *top;
    MDB_cursor *cur[RL_DB_COUNT];
    struct rl_vv_held vv;
    struct rl_dups_held dups;
};

/* Write the version-vector entry t holds, if it was not written yet (0 or an error code). */
int rl_vv_write_held(struct rl_txn *t);

/* A new rl_txn.uid. */
uint64_t rl_txn_uid(void);

struct rl_store_opts {
    size_t map_initial; /* 0: RL_MAP_INITIAL */
    size_t map_max;     /* 0: RL_MAP_MAX */
};

/* 1 when dir holds an LMDB data file, 0 otherwise. */
int rl_store_exists(const char *dir);

/*
 * Create a new environment in dir (made if missing, mode 0700) and open it. PROTO_EEXIST when
 * dir already holds one. The caller writes the metadata (node.c).
 */
int rl_store_create(struct rl_store *s, const char *dir, const struct rl_store_opts *o,
                    struct proto_err *e);

/*
 * Open an existing environment: PROTO_ENOTNODE when dir holds none, PROTO_EFORMAT for a newer
 * format version, PROTO_ECORRUPT when the file is damaged. Nothing is written.
 */
int rl_store_open(struct rl_store *s, const char *dir, const struct rl_store_opts *o,
                  struct proto_err *e);

void rl_store_close(struct rl_store *s);

typedef int (*rl_txn_fn)(struct rl_txn *t, void *arg, struct proto_err *e);

/*
 * Run fn in a write transaction and commit it durably; on a full map grow and run fn again.
 * fn returns 0 to commit or an error to abort; that error is returned, and is e->code also when
 * fn left e empty (so a message never reads "success").
 */
int rl_store_write(struct rl_store *s, rl_txn_fn fn, void *arg, struct proto_err *e);

/*
 * Inside a write transaction: run fn in a nested transaction, kept when fn returns 0 and
 * undone (with whatever it wrote) otherwise; fn's error is returned. For group commits, where
 * one request's failure must not undo the others.
 */
int rl_txn_nested(struct rl_txn *t, rl_txn_fn fn, void *arg, struct proto_err *e);

/* Run fn in a read transaction; fn's error is returned and left in e as rl_store_write does. */
int rl_store_read(struct rl_store *s, rl_txn_fn fn, void *arg, struct proto_err *e);

/* Write a consistent, compacted copy of the environment into dir (made if missing). */
int rl_store_backup(struct rl_store *s, const char *dir, struct proto_err *e);

/*
 * Another process that has this directory's data file mapped (an older relief serve, say): its
 * pid, else 0. Linux: read from /proc/PID/maps, of the processes this one may read.
 */
long rl_store_other_process(struct rl_store *s);

/* Bytes of the data file. */
int rl_store_size(struct rl_store *s, uint64_t *bytes);

/* The current map size. */
size_t rl_store_mapsize(struct rl_store *s);

/* The data format a directory is in (META "format", 4 bytes big-endian): 0, -ENOENT, error. */
int rl_txn_format(struct rl_txn *t, uint32_t *fmt);
void rl_format_put_bytes(uint8_t out[4], uint32_t fmt);

/* Key/value access: 0, -ENOENT, or a translated LMDB error. */
int rl_get(struct rl_txn *t, enum rl_db db, const void *k, size_t kn, MDB_val *v);
int rl_put(struct rl_txn *t, enum rl_db db, const void *k, size_t kn, const void *v, size_t vn);
/* Put a value of vn bytes and return where to write it in *out (valid until the next write). */
int rl_put_reserve(struct rl_txn *t, enum rl_db db, const void *k, size_t kn, size_t vn,
                   void **out);
int rl_del(struct rl_txn *t, enum rl_db db, const void *k, size_t kn);
/* Empty a database (in this transaction). */
int rl_clear(struct rl_txn *t, enum rl_db db);
/* 0 when a key with sorted duplicates holds exactly this value, else -ENOENT (or an error). */
int rl_get_dup(struct rl_txn *t, enum rl_db db, const void *k, size_t kn, const void *v,
               size_t vn);
/* Put a value under a key with sorted duplicates, as rl_put; one that sorts after every value
 * the key has is appended so that the pages it fills stay full. RL_DB_SHELFMV's values are held
 * by a top-level write transaction and written sorted (struct rl_dups_held), so that those of a
 * key go in one run whatever order they came in. */
int rl_put_dup_append(struct rl_txn *t, enum rl_db db, const void *k, size_t kn, const void *v,
                      size_t vn);
/*
 * Rewrite a database (an upgrade of its layout): fn is called with each entry in key order and
 * once more with k and v NULL at the end, and may give an entry to write in its place in *ok,
 * *ov (ov->mv_data NULL: none), keys increasing (0, or an error that stops it). The table is
 * written again in key order, so that its pages come out full whatever the new values' sizes.
 * Uses a scratch table, "rewrite".
 */
int rl_rewrite(struct rl_txn *t, enum rl_db db,
               int (*fn)(void *arg, const MDB_val *k, const MDB_val *v, MDB_val *ok, MDB_val *ov),
               void *arg);
/*
 * The same for a database of sorted duplicates: fn is called with each (key, value) pair (not
 * at the end) and gives the pair to write in its place, in any order. Uses "rewrite-dups".
 */
int rl_rewrite_dups(struct rl_txn *t, enum rl_db db,
                    int (*fn)(void *arg, const MDB_val *k, const MDB_val *v, MDB_val *ok,
                              MDB_val *ov),
                    void *arg);
/* Delete a database of an older format by its name; 0 when there is none. */
int rl_drop_named(struct rl_txn *t, const char *name);
/* Entries in a database. */
int rl_count(struct rl_txn *t, enum rl_db db, uint64_t *n);

/* Cursors: each call returns 0 with *k and *v set, -ENOENT past either end, or an error. */
struct rl_cursor {
    MDB_cursor *c;
};
int rl_cursor_open(struct rl_txn *t, enum rl_db db, struct rl_cursor *c);
void rl_cursor_close(struct rl_cursor *c);
int rl_cursor_first(struct rl_cursor *c, MDB_val *k, MDB_val *v);
int rl_cursor_last(struct rl_cursor *c, MDB_val *k, MDB_val *v);
int rl_cursor_next(struct rl_cursor *c, MDB_val *k, MDB_val *v);
int rl_cursor_prev(struct rl_cursor *c, MDB_val *k, MDB_val *v);
/* The first entry whose key is >= key. */
int rl_cursor_seek(struct rl_cursor *c, const void *key, size_t kn, MDB_val *k, MDB_val *v);
/* Replace the value of the entry the cursor is on (a write transaction). k and v must not
 * point into the database: a value of another size moves the entry's bytes. */
int rl_cursor_replace(struct rl_cursor *c, const MDB_val *k, const void *v, size_t vn);

/* Translate an LMDB return code to a relief one (0, -ENOENT, PROTO_EMAPFULL, ...). */
int rl_mdb_err(int rc);

#endif
