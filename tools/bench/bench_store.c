/*
 * Store benchmarks: durable single appends, appends grouped 100 and 1,000 to a transaction,
 * applying a million remote ops in batches of 1,000, and `relief status` end to end. Each figure
 * stands beside a baseline measured in the same run -- raw LMDB puts of the same keys and values
 * in an environment of its own on the same file system, or spawning /bin/true -- because the
 * machines are shared and noisy: only the ratio travels between machines. Every figure is the
 * median of several rounds, and relief and its baseline take turns within each round so that a
 * burst of noise hits both. Prints figures, never asserts.
 *
 *   bench_store [--quick] [--rounds N] [--only FIGURE] [--relief PATH]
 *
 * --quick (or BENCH_QUICK=1) runs a tenth of the ops; BENCH_ROUNDS=N sets the rounds; --only 1..4
 * runs one figure (for a profiler). The CLI is RELIEF=PATH, else relief next to the bench/
 * directory holding this program. Temporary directories go under $TMPDIR (else /tmp) and are
 * removed at exit.
 */
#include "proto/batch.h"
#include "proto/buf.h"
#include "proto/op.h"
#include "relief/hlc.h"
#include "relief/node.h"
#include "relief/oplog.h"
#include "relief/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <msgpack.h>
#include <sodium.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "bench_store"
#include "benchlib.h"

#define MAX_ROUNDS 51
#define APPEND_KIND 200 /* a kind no view knows: the op log's own cost */
#define REMOTE_ORIGIN 0x0123456789abcdefull
#define APPLY_BATCH 1000u
#define RAW_MAP_SIZE (8ull << 30) /* no MDB_WRITEMAP, so the file only grows as written */
#define ROOT_BYTES 512            /* the temporary root, $TMPDIR included */
#define PATH_BYTES 1024

struct config {
    int rounds;
    unsigned single_ops;   /* single appends per round */
    unsigned group100_txn; /* transactions of 100 per round */
    unsigned group1k_txn;  /* transactions of 1,000 per round */
    unsigned apply_ops;    /* remote ops applied per round */
    unsigned spawns;       /* status runs (and /bin/true runs) */
    int only;              /* 0: every figure */
    const char *relief;
};

static char tmp_root[ROOT_BYTES];

/* --- temporary directories --- */

static void cleanup(void)
{
    if (tmp_root[0])
        rm_tree(tmp_root);
}

static void tmp_path(char *out, size_t n, const char *name, int round)
{
    snprintf(out, n, "%s/%s-%d", tmp_root, name, round);
}

static uint64_t file_size(const char *dir)
{
    char p[PATH_BYTES + 16];
    struct stat st;
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    return stat(p, &st) ? 0 : (uint64_t)st.st_size;
}

/* --- op bodies --- */

/* A typical body of about 30 bytes: {1: item, 2: quantity, 3: site, 4: place}. */
static size_t make_body(uint8_t *out, size_t cap, uint32_t qty)
{
    struct proto_buf b;
    msgpack_packer pk;
    proto_buf_init(&b, cap);
    msgpack_packer_init(&pk, &b, proto_buf_msgpack_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_str_with_body(&pk, "tarp 4x6m", 9);
    msgpack_pack_uint32(&pk, 2);
    msgpack_pack_uint32(&pk, qty);
    msgpack_pack_uint32(&pk, 3);
    msgpack_pack_str_with_body(&pk, "ISH-3", 5);
    msgpack_pack_uint32(&pk, 4);
    msgpack_pack_str_with_body(&pk, "shed B", 6);
    if (proto_buf_failed(&b))
        die("cannot encode a body");
    size_t n = b.len;
    memcpy(out, b.data, n);
    proto_buf_free(&b);
    return n;
}

/* --- raw LMDB baseline: the store's env flags, its main database, no relief code --- */

struct raw {
    MDB_env *env;
    MDB_dbi dbi;
};

static void raw_open(struct raw *r, const char *dir)
{
    MDB_txn *t;
    if (mkdir(dir, 0700))
        die("cannot create '%s': %s", dir, strerror(errno));
    mdb_check(mdb_env_create(&r->env), "create");
    mdb_check(mdb_env_set_mapsize(r->env, RAW_MAP_SIZE), "mapsize");
    mdb_check(mdb_env_open(r->env, dir, MDB_NOTLS | MDB_NORDAHEAD, 0600), "open");
    mdb_check(mdb_txn_begin(r->env, NULL, 0, &t), "begin");
    mdb_check(mdb_dbi_open(t, NULL, 0, &r->dbi), "dbi");
    mdb_check(mdb_txn_commit(t), "commit");
}

static void raw_close(struct raw *r)
{
    mdb_env_close(r->env);
}

/* Put n values of vn bytes (all the same) under origin/seq keys, group to a transaction. */
static void raw_puts(struct raw *r, uint64_t *seq, unsigned n, unsigned group, const uint8_t *val,
                     size_t vn)
{
    for (unsigned done = 0; done < n;) {
        MDB_txn *t;
        mdb_check(mdb_txn_begin(r->env, NULL, 0, &t), "begin");
        for (unsigned i = 0; i < group && done < n; i++, done++) {
            uint8_t k[16];
            proto_put_be64(k, REMOTE_ORIGIN);
            proto_put_be64(k + 8, ++*seq);
            MDB_val key = {16, k}, v = {vn, (void *)val};
            mdb_check(mdb_put(t, r->dbi, &key, &v, 0), "put");
        }
        mdb_check(mdb_txn_commit(t), "commit");
    }
}

/* --- relief stores --- */

static const uint8_t bench_network[PROTO_NETWORK_BYTES] = {0xbe, 0x4c, 0x11};

static int create_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)arg;
    return rl_node_create(t, bench_network, "bench", e);
}

static void node_new(struct rl_store *s, const char *dir)
{
    struct proto_err e;
    proto_err_clear(&e);
    if (rl_store_create(s, dir, NULL, &e) || rl_store_write(s, create_fn, NULL, &e))
        die("cannot create a node in '%s': %s", dir, proto_err_text(&e));
}

struct append_arg {
    const uint8_t *body;
    size_t body_len;
    unsigned group;
};

static int append_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct append_arg *a = arg;
    struct rl_op_ref ref;
    for (unsigned i = 0; i < a->group; i++) {
        int rc = rl_oplog_append(t, APPEND_KIND, a->body, a->body_len, 0, NULL, &ref, e);
        if (rc)
            return rc;
    }
    return 0;
}

static void relief_appends(struct rl_store *s, struct append_arg *a, unsigned txns)
{
    struct proto_err e;
    proto_err_clear(&e);
    for (unsigned i = 0; i < txns; i++)
        if (rl_node_write(s, append_fn, a, &e))
            die("append: %s", proto_err_text(&e));
}

/*
 * Figures 1 and 2: appends in transactions of `group`, beside raw puts of a 16-byte key and a
 * value of the size relief stores (the payload) grouped the same way. One store and one raw
 * environment per figure, growing over the rounds as a node's log does.
 */
static void bench_appends(const struct config *c, struct row *r, unsigned group, unsigned txns,
                          const char *name)
{
    uint8_t body[64], val[PROTO_HASH_BYTES + 128];
    size_t body_len = make_body(body, sizeof body, 40);
    struct proto_buf pb;
    char dir[PATH_BYTES], rawdir[PATH_BYTES];
    struct rl_store s;
    struct raw raw;
    uint64_t raw_seq = 0;

    /* the payload relief will write: same hlc width (a current clock), author "bench" */
    proto_buf_init(&pb, PROTO_MAX_OP_BYTES);
    if (proto_op_pack(&pb, rl_now_ms() << 16, "bench", 5, APPEND_KIND, body, body_len))
        die("cannot pack an op");
    size_t vn = pb.len;
    randombytes_buf(val, vn);
    proto_buf_free(&pb);

    tmp_path(dir, sizeof dir, name, 0);
    tmp_path(rawdir, sizeof rawdir, name, 1);
    node_new(&s, dir);
    raw_open(&raw, rawdir);
    struct append_arg a = {body, body_len, group};
    unsigned ops = group * txns;

    /* one warm-up transaction each: the first commit also creates databases */
    relief_appends(&s, &a, 1);
    raw_puts(&raw, &raw_seq, group, group, val, vn);
    for (int i = 0; i < c->rounds; i++) {
        for (int turn = 0; turn < 2; turn++) {
            double t0 = now_s();
            if ((turn == 0) == (i % 2 == 0)) {
                relief_appends(&s, &a, txns);
                r->measured[i] = ops / (now_s() - t0);
            } else {
                raw_puts(&raw, &raw_seq, ops, group, val, vn);
                r->baseline[i] = ops / (now_s() - t0);
            }
        }
        r->n = i + 1;
    }
    snprintf(r->note, sizeof r->note, "%u ops/round; body %zu B, stored value %zu B", ops, body_len,
             vn);
    rl_store_close(&s);
    raw_close(&raw);
    rm_tree(dir);
    rm_tree(rawdir);
}

/* --- figure 3: applying remote ops --- */

struct remote {
    uint8_t *arena; /* per op: hash(16) payload */
    uint32_t *off;  /* nops + 1 offsets into arena */
    unsigned nops;
    uint8_t **batch; /* encoded batches of APPLY_BATCH ops */
    size_t *batch_len;
    unsigned nbatch;
};

static void remote_build(struct remote *rm, unsigned nops)
{
    uint8_t body[64], prev[PROTO_HASH_BYTES] = {0};
    struct proto_buf pb;
    size_t cap = (size_t)nops * 96, used = 0;
    uint64_t base_ms = rl_now_ms() - 10 * 60 * 1000;

    memset(rm, 0, sizeof *rm);
    rm->nops = nops;
    rm->arena = malloc(cap);
    rm->off = malloc(((size_t)nops + 1) * sizeof *rm->off);
    rm->nbatch = (nops + APPLY_BATCH - 1) / APPLY_BATCH;
    rm->batch = calloc(rm->nbatch, sizeof *rm->batch);
    rm->batch_len = calloc(rm->nbatch, sizeof *rm->batch_len);
    if (!rm->arena || !rm->off || !rm->batch || !rm->batch_len)
        die("out of memory");
    proto_buf_init(&pb, PROTO_MAX_OP_BYTES);
    for (unsigned i = 0; i < nops; i++) {
        size_t bl = make_body(body, sizeof body, i % 100000);
        uint64_t hlc = (base_ms + i / 1000) << 16 | (i % 1000);
        proto_buf_reset(&pb);
        if (proto_op_pack(&pb, hlc, "peer-ish3", 9, APPEND_KIND, body, bl))
            die("cannot pack an op");
        if (used + PROTO_HASH_BYTES + pb.len > cap)
            die("op arena too small");
        rm->off[i] = (uint32_t)used;
        uint8_t *h = rm->arena + used;
        proto_op_hash(REMOTE_ORIGIN, (uint64_t)i + 1, prev, pb.data, pb.len, h);
        memcpy(h + PROTO_HASH_BYTES, pb.data, pb.len);
        memcpy(prev, h, PROTO_HASH_BYTES);
        used += PROTO_HASH_BYTES + pb.len;
    }
    rm->off[nops] = (uint32_t)used;
    proto_buf_free(&pb);

    for (unsigned b = 0; b < rm->nbatch; b++) {
        struct proto_batch_enc w;
        struct proto_buf out;
        unsigned first = b * APPLY_BATCH, end = first + APPLY_BATCH;
        uint8_t zero[PROTO_HASH_BYTES] = {0};
        if (end > nops)
            end = nops;
        proto_batch_enc_init(&w);
        proto_buf_init(&out, PROTO_MAX_BODY_BYTES);
        int rc = proto_batch_enc_run(&w, REMOTE_ORIGIN, (uint64_t)first + 1,
                                     first ? rm->arena + rm->off[first - 1] : zero);
        for (unsigned i = first; i < end && !rc; i++) {
            const uint8_t *h = rm->arena + rm->off[i];
            rc = proto_batch_enc_op(&w, h + PROTO_HASH_BYTES,
                                    rm->off[i + 1] - rm->off[i] - PROTO_HASH_BYTES, h);
        }
        if (rc || (rc = proto_batch_enc_finish(&w, &out)))
            die("cannot encode batch %u: %s", b, proto_strerror(rc));
        proto_batch_enc_free(&w);
        rm->batch[b] = out.data; /* kept: freed in remote_free */
        rm->batch_len[b] = out.len;
    }
}

static void remote_free(struct remote *rm)
{
    for (unsigned b = 0; b < rm->nbatch; b++)
        free(rm->batch[b]);
    free(rm->batch);
    free(rm->batch_len);
    free(rm->off);
    free(rm->arena);
}

/* Apply every batch to a new node in dir; ops/s; the store is left on disk. */
static double relief_apply(const struct remote *rm, const char *dir, uint64_t *bytes)
{
    struct rl_store s;
    struct proto_err e;
    uint64_t applied = 0;

    node_new(&s, dir);
    proto_err_clear(&e);
    double t0 = now_s();
    for (unsigned b = 0; b < rm->nbatch; b++) {
        struct rl_apply_stats st;
        if (rl_oplog_apply_bytes(&s, rm->batch[b], rm->batch_len[b], &st, &e))
            die("apply batch %u: %s", b, proto_err_text(&e));
        applied += st.applied;
    }
    double dt = now_s() - t0;
    if (applied != rm->nops)
        die("applied %llu of %u ops", (unsigned long long)applied, rm->nops);
    rl_store_close(&s);
    *bytes = file_size(dir);
    return rm->nops / dt;
}

static double raw_apply(const struct remote *rm, const char *dir, uint64_t *bytes)
{
    struct raw raw;
    raw_open(&raw, dir);
    double t0 = now_s();
    for (unsigned done = 0; done < rm->nops;) {
        MDB_txn *t;
        mdb_check(mdb_txn_begin(raw.env, NULL, 0, &t), "begin");
        for (unsigned i = 0; i < APPLY_BATCH && done < rm->nops; i++, done++) {
            uint8_t k[16];
            proto_put_be64(k, REMOTE_ORIGIN);
            proto_put_be64(k + 8, (uint64_t)done + 1);
            /* what relief stores: the payload (its hash follows from the chain) */
            MDB_val key = {16, k}, v = {rm->off[done + 1] - rm->off[done] - PROTO_HASH_BYTES,
                                        rm->arena + rm->off[done] + PROTO_HASH_BYTES};
            mdb_check(mdb_put(t, raw.dbi, &key, &v, 0), "put");
        }
        mdb_check(mdb_txn_commit(t), "commit");
    }
    double dt = now_s() - t0;
    raw_close(&raw);
    *bytes = file_size(dir);
    return rm->nops / dt;
}

/* Figure 3 and bytes per op; the last round's relief store stays in *kept for figure 4. */
static void bench_apply(const struct config *c, struct row *r, struct row *bytes_row, char *kept,
                        size_t kept_n)
{
    struct remote rm;
    double t0 = now_s();
    remote_build(&rm, c->apply_ops);
    printf("  (built %u ops in %u batches of %u, %.1f MB encoded, in %.1f s)\n", rm.nops, rm.nbatch,
           APPLY_BATCH, rm.off[rm.nops] / 1e6, now_s() - t0);
    fflush(stdout);
    for (int i = 0; i < c->rounds; i++) {
        char dir[PATH_BYTES], rawdir[PATH_BYTES];
        uint64_t rb = 0, bb = 0;
        tmp_path(dir, sizeof dir, "apply", i);
        tmp_path(rawdir, sizeof rawdir, "apply-raw", i);
        for (int turn = 0; turn < 2; turn++) {
            if ((turn == 0) == (i % 2 == 0))
                r->measured[i] = relief_apply(&rm, dir, &rb);
            else
                r->baseline[i] = raw_apply(&rm, rawdir, &bb);
        }
        bytes_row->measured[i] = (double)rb / rm.nops;
        bytes_row->baseline[i] = (double)bb / rm.nops;
        r->n = bytes_row->n = i + 1;
        rm_tree(rawdir);
        if (i == c->rounds - 1)
            snprintf(kept, kept_n, "%s", dir);
        else
            rm_tree(dir);
    }
    snprintf(r->note, sizeof r->note, "%u ops/round in batches of %u; raw: same keys and values",
             rm.nops, APPLY_BATCH);
    snprintf(bytes_row->note, sizeof bytes_row->note,
             "data.mdb / ops after the apply (raw: its own data.mdb)");
    remote_free(&rm);
}

/* --- figure 4: relief status, process start included --- */

/* Run argv with stdout and stderr to /dev/null; seconds taken, or -1 when it failed. */

static void bench_status(const struct config *c, struct row *r, const char *dir)
{
    char *st_argv[] = {(char *)c->relief, "--data", (char *)dir, "status", NULL};
    char *true_argv[] = {"/bin/true", NULL};
    int n = c->spawns < MAX_ROUNDS ? (int)c->spawns : MAX_ROUNDS;

    if (spawn_wait(st_argv) < 0) {
        r->skipped = 1;
        snprintf(r->note, sizeof r->note, "'relief --data %.100s status' failed", dir);
        return;
    }
    for (int i = 0; i < 5; i++) { /* warm the page cache and the dynamic loader */
        spawn_wait(st_argv);
        spawn_wait(true_argv);
    }
    for (int i = 0; i < n; i++) {
        for (int turn = 0; turn < 2; turn++) {
            if ((turn == 0) == (i % 2 == 0))
                r->measured[i] = spawn_wait(st_argv) * 1e3;
            else
                r->baseline[i] = spawn_wait(true_argv) * 1e3;
        }
        if (r->measured[i] < 0 || r->baseline[i] < 0)
            die("a spawn failed");
        r->n = i + 1;
    }
    snprintf(r->note, sizeof r->note, "%d runs each, alternating, after 5 warm-up runs", n);
}

static void status_fresh_node(const struct config *c, struct row *r)
{
    char dir[PATH_BYTES];
    tmp_path(dir, sizeof dir, "status", 0);
    char *init_argv[] = {(char *)c->relief, "--data", dir, "init", "--name", "bench", NULL};
    if (access(c->relief, X_OK)) {
        r->skipped = 1;
        snprintf(r->note, sizeof r->note, "no CLI at '%.100s' (make build/relief)", c->relief);
        return;
    }
    if (spawn_wait(init_argv) < 0) {
        r->skipped = 1;
        snprintf(r->note, sizeof r->note, "'relief --data DIR init --name bench' failed");
        return;
    }
    bench_status(c, r, dir);
    rm_tree(dir);
}

/* --- output --- */

static void print_table(const struct config *c)
{
    char legend[600];
    snprintf(legend, sizeof legend,
             "ratio: the cost of the figure in units of its baseline's (time per op, time per "
             "run,\nbytes per op); 1.50x means 1.5 times as slow or as big as the baseline. "
             "Baselines: raw\nLMDB puts of the same keys and values (same env flags, own env, "
             "same file system);\nspawning /bin/true. %d rounds each unless noted.",
             c->rounds);
    bench_print_table(legend);
}

static void default_relief(char *out, size_t n, const char *argv0)
{
    const char *env = getenv("RELIEF");
    const char *slash = strrchr(argv0, '/');
    if (env && *env)
        snprintf(out, n, "%s", env);
    else if (slash)
        snprintf(out, n, "%.*s/../relief", (int)(slash - argv0), argv0);
    else
        snprintf(out, n, "build/relief");
}

int main(int argc, char **argv)
{
    static char relief[4096];
    struct config c = {5, 200, 20, 5, 1000000, 50, 0, relief};
    int quick = getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "0") != 0;
    const char *tmp = getenv("TMPDIR");
    char kept[PATH_BYTES] = "";

    default_relief(relief, sizeof relief, argv[0]);
    if (getenv("BENCH_ROUNDS"))
        c.rounds = atoi(getenv("BENCH_ROUNDS"));
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick"))
            quick = 1;
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
            c.rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            c.only = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--relief") && i + 1 < argc)
            snprintf(relief, sizeof relief, "%s", argv[++i]);
        else {
            fprintf(stderr,
                    "usage: bench_store [--quick] [--rounds N] [--only 1-4] [--relief PATH]\n");
            return 2;
        }
    }
    if (c.rounds < 1 || c.rounds > MAX_ROUNDS) {
        fprintf(stderr, "bench_store: rounds must be 1 to %d\n", MAX_ROUNDS);
        return 2;
    }
    if (quick) {
        c.single_ops = 50;
        c.group100_txn = 5;
        c.group1k_txn = 2;
        c.apply_ops = 100000;
        c.spawns = 20;
    }
    if (sodium_init() < 0)
        die("cannot initialise libsodium");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (strlen(tmp) > ROOT_BYTES - 32)
        die("TMPDIR is longer than %d bytes", ROOT_BYTES - 32);
    snprintf(tmp_root, sizeof tmp_root, "%s/bench_store.XXXXXX", tmp);
    if (!mkdtemp(tmp_root)) {
        tmp_root[0] = '\0';
        die("cannot create a temporary directory: %s", strerror(errno));
    }
    atexit(cleanup);
    setvbuf(stdout, NULL, _IOLBF, 0);

    char f3[64];
    snprintf(f3, sizeof f3, "apply %uk remote ops, batches of 1000", c.apply_ops / 1000);
    printf("== bench_store: %s run, %d rounds, temp dir %s ==\n", quick ? "quick" : "full",
           c.rounds, tmp_root);
    struct row *r1 = row_new("single durable appends (1 op/commit)", "<= 1.5x raw", "ops/s", 1);
    struct row *r2 = row_new("appends, 100 per transaction", "-", "ops/s", 1);
    struct row *r3 = row_new("appends, 1000 per transaction", "-", "ops/s", 1);
    struct row *r4 = row_new(f3, ">= 500000/s", "ops/s", 1);
    struct row *r5 = row_new("bytes on disk per op after the apply", "-", "B/op", 0);
    struct row *r6 = row_new("relief status, new node (vs /bin/true)", "<= 5 ms", "ms", 0);
    struct row *r7 = row_new("relief status, node after the apply", "-", "ms", 0);

    if (!c.only || c.only == 1) {
        printf("  figure 1: single appends...\n");
        bench_appends(&c, r1, 1, c.single_ops, "single");
    }
    if (!c.only || c.only == 2) {
        printf("  figure 2: grouped appends...\n");
        bench_appends(&c, r2, 100, c.group100_txn, "group100");
        bench_appends(&c, r3, 1000, c.group1k_txn, "group1000");
    }
    if (!c.only || c.only == 3) {
        printf("  figure 3: applying remote ops...\n");
        bench_apply(&c, r4, r5, kept, sizeof kept);
    }
    if (!c.only || c.only == 4) {
        printf("  figure 4: relief status...\n");
        status_fresh_node(&c, r6);
    }
    if (r6->skipped) {
        r7->skipped = 1;
        snprintf(r7->note, sizeof r7->note, "skipped with the row above");
    } else if (kept[0] && r6->n) {
        bench_status(&c, r7, kept);
    }
    rm_tree(kept);
    print_table(&c);
    return 0;
}
