/*
 * Domain benchmark at the scale of the 2011 Tohoku response: a generator builds a node with
 * 2,600 sites, 1,000 items, 5,000,000 stock movements (receipts, distributions, dispatches with
 * their arrivals, adjustments), 20,000 needs and 10,000 shifts through the domain's write API,
 * then times what a coordinator does with it through the real CLI. Each figure stands beside a
 * baseline measured in the same run, taking turns with it so that a burst of noise on a shared
 * machine hits both: raw LMDB random-key puts of as many ~100-byte values, committed in the same
 * chunks, in an environment of its own in the same directory; `relief status`; spawning
 * /bin/true; one raw durable LMDB commit. Figures are medians. Then every op of the node goes to
 * new laptops: by relief bundle, by relief sync from relief serve, and by relief sync pushing
 * into relief serve while a probe times GET /healthz on it (its 99th percentile beside the idle
 * server's). Prints figures, never asserts.
 *
 *   bench_domain [--scale F] [--quick] [--rounds N] [--relief PATH] [--keep]
 *
 * (--only N, bench_store's, is accepted and ignored, since run.sh passes its arguments to every
 * program.)
 *
 * --scale scales the movements only (0.1: 500,000); sites, items, needs and shifts stay at full
 * size, since they are what the reports walk. --quick (or BENCH_QUICK=1) is scale 0.02, whatever
 * --scale says, with fewer CLI runs.
 * --rounds N splits the import into N segments (the import's "rounds", default 5). The CLI is
 * RELIEF=PATH, else relief next to the bench/ directory holding this program. Temporary
 * directories go under $TMPDIR (else /tmp) and are removed at exit unless --keep.
 */
#include "proto/kinds.h"
#include "relief/domain.h"
#include "relief/import.h"
#include "relief/init.h"
#include "relief/node.h"
#include "relief/oplog.h"
#include "relief/store.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NAME "bench_domain"
#include "benchlib.h"

/* the data set at scale 1 */
#define N_SITES 2600u
#define N_ITEMS 1000u
#define N_MOVEMENTS 5000000u
#define N_NEEDS 20000u
#define N_SHIFTS 10000u
#define N_WAREHOUSES 60u /* the first sites: most receipts and dispatches start there */
#define N_KITCHENS 200u  /* the next ones: shifts happen there */

#define RECORD_CHUNK 5000u        /* sites, items, needs, shifts per transaction */
#define RAW_VALUE_BYTES 100       /* about what a movement's op weighs in the log */
#define RAW_MAP_SIZE (8ull << 30) /* no MDB_WRITEMAP, so the file only grows as written */
#define RING 8192u                /* shelves recently stocked: where goods leave from */
#define PENDING 4096u             /* dispatches not yet arrived */
#define MAX_SAMPLES 101
#define ROOT_BYTES 512
#define PATH_BYTES 1024

struct config {
    double scale;
    int quick;
    int segments;    /* import rounds */
    unsigned chunk;  /* movements (and raw puts) per transaction: the import's, RL_IMPORT_CHUNK_ROWS
                      * (fewer when a round holds fewer) */
    int report_runs; /* relief report needs (and status) */
    int stock_runs;  /* relief stock --site (and /bin/true) */
    int write_runs;  /* relief stock receive (and /bin/true, raw commit) */
    int keep;
    const char *relief;
};

static char tmp_root[ROOT_BYTES];
static int keep_tmp;

/* --- a small, fast, reproducible generator (splitmix64) --- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* 0..n-1, uniform */
static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)((rng_next(s) >> 32) * n >> 32);
}

/* 0..n-1, the low ones far more often (a few items and sites carry most of the traffic) */
static uint32_t rng_skewed(uint64_t *s, uint32_t n)
{
    double u = (double)(rng_next(s) >> 11) / 9007199254740992.0;
    uint32_t v = (uint32_t)(u * u * u * n);
    return v < n ? v : n - 1;
}

/* --- files --- */

static void cleanup(void)
{
    if (tmp_root[0] && !keep_tmp)
        rm_tree(tmp_root);
}

static uint64_t file_size(const char *dir)
{
    char p[PATH_BYTES + 16];
    struct stat st;
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    return stat(p, &st) ? 0 : (uint64_t)st.st_size;
}

/* --- raw LMDB baseline: the store's env flags, its main database, no relief code --- */

struct raw {
    MDB_env *env;
    MDB_dbi dbi;
    uint64_t rng;
    uint8_t val[RAW_VALUE_BYTES];
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
    r->rng = 0x5eed;
    randombytes_buf(r->val, sizeof r->val);
}

/* n puts of random 16-byte keys in one durable transaction */
static void raw_chunk(struct raw *r, unsigned n)
{
    MDB_txn *t;
    mdb_check(mdb_txn_begin(r->env, NULL, 0, &t), "begin");
    for (unsigned i = 0; i < n; i++) {
        uint64_t k[2] = {rng_next(&r->rng), rng_next(&r->rng)};
        memcpy(r->val, k, 8); /* values differ too */
        MDB_val key = {sizeof k, k}, v = {sizeof r->val, r->val};
        mdb_check(mdb_put(t, r->dbi, &key, &v, 0), "put");
    }
    mdb_check(mdb_txn_commit(t), "commit");
}

/* --- the data set --- */

static char site_code[N_SITES][16];
static char item_code[N_ITEMS][16];

static const char *const prefectures[][3] = {
    {"MYG", "宮城県", "石巻市"}, {"IWT", "岩手県", "陸前高田市"}, {"FKS", "福島県", "いわき市"},
    {"AOM", "青森県", "八戸市"}, {"IBR", "茨城県", "北茨城市"},
};
static const char *const categories[] = {"food",    "water",    "bedding",   "hygiene",
                                         "medical", "clothing", "education", "fuel"};
static const char *const units[] = {"bag", "bottle", "piece", "pack", "box", "case", "kit", "can"};

struct edit_batch {
    enum rl_rtype type;
    unsigned first, n;
    uint64_t rng;
    char *refs; /* out: 40 bytes per record (shifts), or NULL */
};

static void field(struct rl_edit *ed, const char *name, const char *value)
{
    const struct rl_fieldopt *f = rl_fieldopt_find(rl_fields_of(ed->rtype), name);
    if (!f)
        die("no field '%s'", name);
    ed->fields[ed->nfields].f = f;
    ed->fields[ed->nfields].value = value;
    ed->nfields++;
}

/* A local date-time d days and h hours after 2011-03-12 (the data set's first day). */
static void when(char *out, size_t n, unsigned d, unsigned h)
{
    snprintf(out, n, "2011-%02u-%02uT%02u:00", 3 + d / 28, 1 + d % 28, h % 24);
}

static int records_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct edit_batch *b = arg;
    uint64_t rng = b->rng; /* a local copy: a rerun after the map grew sees the same records */
    char v[8][64];
    for (unsigned i = b->first; i < b->first + b->n; i++) {
        struct rl_edit ed;
        struct rl_written w;
        memset(&ed, 0, sizeof ed);
        ed.rtype = b->type;
        ed.add = 1;
        if (b->type == RL_R_SITE) {
            const char *const *p = prefectures[i % 5];
            snprintf(v[0], sizeof v[0], "%s 避難所 %u", p[2], i);
            snprintf(v[1], sizeof v[1], "%.8d", (int)(38000000 + rng_below(&rng, 2000000)));
            snprintf(v[2], sizeof v[2], "%d.%06u", 140 + (int)rng_below(&rng, 2),
                     rng_below(&rng, 1000000));
            snprintf(v[3], sizeof v[3], "%u", 50 + rng_below(&rng, 1000));
            snprintf(v[4], sizeof v[4], "%c%c.%.6s", v[1][0], v[1][1], v[1] + 2);
            field(&ed, "name", v[0]);
            field(&ed, "code", site_code[i]);
            field(&ed, "kind",
                  i < N_WAREHOUSES                ? "warehouse"
                  : i < N_WAREHOUSES + N_KITCHENS ? "kitchen"
                  : i % 7 == 0                    ? "school"
                                                  : "centre");
            field(&ed, "prefecture", p[1]);
            field(&ed, "municipality", p[2]);
            field(&ed, "lat", v[4]);
            field(&ed, "lon", v[2]);
            if (i >= N_WAREHOUSES + N_KITCHENS) {
                field(&ed, "capacity", v[3]);
                field(&ed, "status", "open");
            }
        } else if (b->type == RL_R_ITEM) {
            ed.target = item_code[i];
            snprintf(v[0], sizeof v[0], "Relief item %u", i);
            field(&ed, "name", v[0]);
            field(&ed, "unit", units[i % 8]);
            field(&ed, "category", categories[i % 8]);
        } else if (b->type == RL_R_NEED) {
            uint32_t site = N_WAREHOUSES + rng_below(&rng, N_SITES - N_WAREHOUSES);
            static const char *const prio[] = {"high", "medium", "low"};
            snprintf(v[0], sizeof v[0], "%u", 10 + rng_below(&rng, 500));
            snprintf(v[1], sizeof v[1], "2011-%02u-%02u", 3 + i % 3, 1 + i % 28);
            field(&ed, "site", site_code[site]);
            if (i % 10 == 9) {
                field(&ed, "service", "interpreter: Portuguese");
            } else {
                field(&ed, "item", item_code[rng_skewed(&rng, N_ITEMS)]);
            }
            field(&ed, "qty", v[0]);
            field(&ed, "priority", prio[i % 3]);
            field(&ed, "due", v[1]);
        } else {
            uint32_t site = N_WAREHOUSES + rng_below(&rng, N_KITCHENS);
            unsigned d = i % 90, h = 6 + i % 3 * 5;
            when(v[0], sizeof v[0], d, h);
            when(v[1], sizeof v[1], d, h + 4);
            snprintf(v[2], sizeof v[2], "%u", 2 + rng_below(&rng, 6));
            snprintf(v[3], sizeof v[3], "%u", 100 + rng_below(&rng, 400));
            field(&ed, "site", site_code[site]);
            field(&ed, "start", v[0]);
            field(&ed, "end", v[1]);
            field(&ed, "slots", v[2]);
            field(&ed, "role", i % 2 ? "cook" : "serving");
            field(&ed, "meals", v[3]);
        }
        int rc = rl_edit_in(t, &ed, &w, e);
        if (rc)
            return rc;
        if (b->refs)
            rl_ref_format(w.origin, w.seq, b->refs + (size_t)(i - b->first) * 40);
    }
    return 0;
}

struct signup_batch {
    const char *refs;
    unsigned n;
};

/* one or two volunteers on every fifth shift */
static int signups_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct signup_batch *b = arg;
    for (unsigned i = 0; i < b->n; i += 5) {
        char vol[32];
        for (unsigned j = 0; j < 1 + i % 2; j++) {
            snprintf(vol, sizeof vol, "volunteer %u-%u", i, j);
            struct rl_shift_req r = {PROTO_KIND_SHIFT_SIGNUP,
                                     b->refs + (size_t)i * 40,
                                     vol,
                                     "080-0000-0000",
                                     NULL,
                                     NULL};
            struct rl_written w;
            int rc = rl_shift_in(t, &r, &w, e);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static double add_records(struct rl_store *s, enum rl_rtype type, unsigned n, char *refs)
{
    struct proto_err e;
    double t0 = now_s();
    proto_err_clear(&e);
    for (unsigned first = 0; first < n; first += RECORD_CHUNK) {
        struct edit_batch b = {type, first, n - first < RECORD_CHUNK ? n - first : RECORD_CHUNK,
                               0x1000 + first, refs ? refs + (size_t)first * 40 : NULL};
        if (rl_node_write(s, records_fn, &b, &e))
            die("adding records '%c': %s", (char)type, proto_err_text(&e));
    }
    return now_s() - t0;
}

/*
 * The movement generator. It keeps every shelf's balance so that goods only leave a shelf that
 * holds them (no negative-balance alerts a real node would not see), and arrivals follow their
 * dispatches a few hundred movements later. The transaction function may run again after the
 * map grew: it starts from a copy of the state taken before the chunk and undoes its balance
 * changes, so a rerun writes the same movements.
 */
struct gen_state {
    uint64_t rng;
    uint64_t done; /* movements written */
    uint32_t ring[RING];
    uint32_t ring_n;
    struct {
        uint64_t seq;
        uint32_t shelf, qty; /* where it goes, how much */
    } pending[PENDING];
    uint32_t p_head, p_tail;
    uint64_t kinds[8];
};

struct gen {
    struct gen_state st, saved;
    int32_t *bal; /* N_SITES * N_ITEMS */
    struct {
        uint32_t shelf;
        int32_t old;
    } * undo;
    unsigned undo_n;
    unsigned chunk; /* movements in this transaction */
    int started;
    uint64_t origin; /* the node id (for arrival references) */
};

static void bal_set(struct gen *g, uint32_t shelf, int32_t v)
{
    g->undo[g->undo_n].shelf = shelf;
    g->undo[g->undo_n].old = g->bal[shelf];
    g->undo_n++;
    g->bal[shelf] = v;
}

static void ring_add(struct gen_state *st, uint32_t shelf)
{
    st->ring[st->ring_n++ % RING] = shelf;
}

enum { G_RECEIVE, G_DISTRIBUTE, G_DISPATCH, G_ARRIVE, G_ADJUST };

static int gen_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct gen *g = arg;
    struct gen_state *st = &g->st;
    if (g->started) { /* a rerun: back to the state before the chunk */
        while (g->undo_n) {
            g->undo_n--;
            g->bal[g->undo[g->undo_n].shelf] = g->undo[g->undo_n].old;
        }
        memcpy(st, &g->saved, sizeof *st);
    }
    g->started = 1;
    g->undo_n = 0;
    g->origin = rl_txn_node(t)->id;
    for (unsigned i = 0; i < g->chunk; i++) {
        struct rl_stock_req r;
        struct rl_stock_result res;
        char qty[24], lot[24], expiry[16], target[40];
        uint32_t roll = rng_below(&st->rng, 100), shelf = 0, site, item;
        int op;
        memset(&r, 0, sizeof r);
        r.ref_only = 1; /* as the import asks: the id (an arrival names it), not the balance */
        if (roll < 40) {
            op = G_RECEIVE;
        } else if (roll < 80) {
            op = G_DISTRIBUTE;
        } else if (roll < 87) {
            op = G_DISPATCH;
        } else if (roll < 94) {
            op = st->p_head != st->p_tail ? G_ARRIVE : G_RECEIVE;
        } else {
            op = G_ADJUST;
        }
        if (op == G_DISTRIBUTE || op == G_DISPATCH || op == G_ADJUST) {
            /* a shelf stocked lately; a receipt when it is empty */
            shelf = st->ring_n
                        ? st->ring[rng_below(&st->rng, st->ring_n < RING ? st->ring_n : RING)]
                        : 0;
            if (g->bal[shelf] <= 0 && op != G_ADJUST)
                op = G_RECEIVE;
            if (op == G_DISPATCH && st->p_tail - st->p_head == PENDING)
                op = G_DISTRIBUTE;
        }
        if (op == G_RECEIVE) {
            site = rng_below(&st->rng, 2) ? rng_below(&st->rng, N_WAREHOUSES)
                                          : rng_skewed(&st->rng, N_SITES);
            item = rng_skewed(&st->rng, N_ITEMS);
            shelf = site * N_ITEMS + item;
        }
        site = shelf / N_ITEMS;
        item = shelf % N_ITEMS;
        r.site = site_code[site];
        r.item = item_code[item];
        r.qty = qty;
        int32_t have = g->bal[shelf];
        switch (op) {
        case G_RECEIVE: {
            uint32_t q = 10 + rng_below(&st->rng, 500);
            r.kind = PROTO_KIND_STOCK_RECEIVE;
            snprintf(qty, sizeof qty, "%u", q);
            if (rng_below(&st->rng, 10) < 3) { /* a lot with an expiry: a new lot every 50k */
                unsigned week = (unsigned)(st->done / 50000);
                snprintf(lot, sizeof lot, "B%u", week);
                snprintf(expiry, sizeof expiry, "20%02u-%02u-15", 12 + week / 12 % 80,
                         1 + week % 12);
                r.lot = lot;
                r.expiry = expiry;
            }
            if (rng_below(&st->rng, 2))
                r.from_text = site < N_WAREHOUSES ? "Self-Defense Forces" : "JA全農みやぎ";
            bal_set(g, shelf, have + (int32_t)q);
            ring_add(st, shelf);
            break;
        }
        case G_DISTRIBUTE: {
            uint32_t q = 1 + rng_below(&st->rng, (uint32_t)(have < 60 ? have : 60));
            r.kind = PROTO_KIND_STOCK_DISTRIBUTE;
            snprintf(qty, sizeof qty, "%u", q);
            bal_set(g, shelf, have - (int32_t)q);
            break;
        }
        case G_DISPATCH: {
            uint32_t q = 1 + rng_below(&st->rng, (uint32_t)(have < 200 ? have : 200));
            uint32_t to = N_WAREHOUSES + rng_below(&st->rng, N_SITES - N_WAREHOUSES);
            if (to == site)
                to = (to + 1) % N_SITES;
            r.kind = PROTO_KIND_STOCK_DISPATCH;
            r.to = site_code[to];
            snprintf(qty, sizeof qty, "%u", q);
            bal_set(g, shelf, have - (int32_t)q);
            shelf = to * N_ITEMS + item; /* for the pending entry */
            break;
        }
        case G_ARRIVE: {
            /* the oldest transfer on the road; its shelf is found from the ledger */
            uint32_t p = st->p_head++ % PENDING, to = st->pending[p].shelf;
            rl_ref_format(g->origin, st->pending[p].seq, target);
            r.kind = PROTO_KIND_STOCK_ARRIVE;
            r.site = r.item = NULL;
            r.target = target;
            r.qty = NULL; /* in full */
            bal_set(g, to, g->bal[to] + (int32_t)st->pending[p].qty);
            ring_add(st, to);
            break;
        }
        default: { /* G_ADJUST */
            static const char *const reasons[] = {"damaged", "expired", "lost", "found"};
            uint32_t reason = rng_below(&st->rng, 4);
            uint32_t q = 1 + rng_below(&st->rng, 10);
            r.kind = PROTO_KIND_STOCK_ADJUST;
            if (reason == 3 || have < (int32_t)q) {
                reason = 3;
                snprintf(qty, sizeof qty, "+%u", q);
                bal_set(g, shelf, have + (int32_t)q);
            } else {
                snprintf(qty, sizeof qty, "-%u", q);
                bal_set(g, shelf, have - (int32_t)q);
            }
            r.reason = reasons[reason];
            break;
        }
        }
        int rc = rl_stock_in(t, &r, &res, e);
        if (rc)
            return rc;
        if (op == G_DISPATCH) {
            uint32_t p = st->p_tail++ % PENDING;
            st->pending[p].seq = res.seq;
            st->pending[p].shelf = shelf;
            st->pending[p].qty = (uint32_t)atoi(qty);
        }
        st->kinds[op]++;
        st->done++;
    }
    return 0;
}

/*
 * The import: movements in transactions of the import's size (RL_IMPORT_CHUNK_ROWS), each beside a
 * raw transaction of as many random-key puts, taking turns; one round per segment of the import, so
 * the median is over rounds of a growing store (the last segments write into the biggest one).
 */
static void bench_import(const struct config *c, struct rl_store *s, struct gen *g, struct raw *raw,
                         uint64_t total, struct row *r)
{
    struct proto_err e;
    double all_rl = 0, all_raw = 0;
    uint64_t chunk_no = 0;
    proto_err_clear(&e);
    for (int seg = 0; seg < c->segments; seg++) {
        uint64_t seg_n = total / (uint64_t)c->segments;
        double t_rl = 0, t_raw = 0;
        if (seg == c->segments - 1)
            seg_n = total - seg_n * (uint64_t)(c->segments - 1);
        for (uint64_t n = 0; n < seg_n; chunk_no++) {
            unsigned k = seg_n - n < c->chunk ? (unsigned)(seg_n - n) : c->chunk;
            for (int turn = 0; turn < 2; turn++) {
                if ((turn == 0) == (chunk_no % 2 == 0)) {
                    memcpy(&g->saved, &g->st, sizeof g->saved);
                    g->chunk = k;
                    g->started = 0;
                    double t0 = now_s();
                    if (rl_node_write(s, gen_fn, g, &e))
                        die("movement %llu: %s", (unsigned long long)g->st.done,
                            proto_err_text(&e));
                    t_rl += now_s() - t0;
                } else {
                    double t0 = now_s();
                    raw_chunk(raw, k);
                    t_raw += now_s() - t0;
                }
            }
            n += k;
        }
        r->measured[seg] = (double)seg_n / t_rl;
        r->baseline[seg] = (double)seg_n / t_raw;
        r->n = seg + 1;
        all_rl += t_rl;
        all_raw += t_raw;
        printf("  segment %d/%d: %llu movements, relief %.0f/s, raw %.0f/s\n", seg + 1, c->segments,
               (unsigned long long)seg_n, r->measured[seg], r->baseline[seg]);
    }
    snprintf(r->note, sizeof r->note,
             "%llu movements in %d segments, %u per transaction; whole import %.0f/s in %.1f s "
             "(raw %.0f/s in %.1f s); raw: 16-byte random keys, %d-byte values",
             (unsigned long long)total, c->segments, c->chunk, (double)total / all_rl, all_rl,
             (double)total / all_raw, all_raw, RAW_VALUE_BYTES);
}

/* --- the CLI, process start included --- */

/* Run argv with stdout and stderr to /dev/null; seconds taken, or -1 when it failed. */

static void spawn_ok(char *const argv[])
{
    char cmd[512] = "";
    size_t n = 0;
    if (spawn_wait(argv) >= 0)
        return;
    for (int i = 0; argv[i] && n < sizeof cmd; i++)
        n += (size_t)snprintf(cmd + n, sizeof cmd - n, "%s%s", i ? " " : "", argv[i]);
    die("'%s' failed", cmd);
}

/* measured: argv; baseline: base (alternating), in ms; warm-up runs first */
static void bench_spawns(struct row *r, char *const argv[], char *const base[], int runs, int warm)
{
    runs = runs < MAX_SAMPLES ? runs : MAX_SAMPLES;
    for (int i = 0; i < warm; i++) {
        spawn_ok(argv);
        spawn_ok(base);
    }
    for (int i = 0; i < runs; i++) {
        for (int turn = 0; turn < 2; turn++) {
            if ((turn == 0) == (i % 2 == 0))
                r->measured[i] = spawn_wait(argv) * 1e3;
            else
                r->baseline[i] = spawn_wait(base) * 1e3;
        }
        if (r->measured[i] < 0 || r->baseline[i] < 0)
            die("a spawn failed");
        r->n = i + 1;
    }
}

/* One durable CLI write per round beside /bin/true (rt) and one raw durable commit (rr). */
static void bench_cli_write(const struct config *c, struct row *rt, struct row *rr,
                            char *const argv[], struct raw *raw)
{
    char *true_argv[] = {"/bin/true", NULL};
    int runs = c->write_runs < MAX_SAMPLES ? c->write_runs : MAX_SAMPLES;
    for (int i = 0; i < 3; i++) {
        spawn_ok(argv);
        spawn_ok(true_argv);
        raw_chunk(raw, 1);
    }
    for (int i = 0; i < runs; i++) {
        for (int turn = 0; turn < 3; turn++) {
            switch ((turn + i) % 3) {
            case 0:
                rt->measured[i] = rr->measured[i] = spawn_wait(argv) * 1e3;
                break;
            case 1:
                rt->baseline[i] = spawn_wait(true_argv) * 1e3;
                break;
            default: {
                double t0 = now_s();
                raw_chunk(raw, 1);
                rr->baseline[i] = (now_s() - t0) * 1e3;
            }
            }
        }
        if (rt->measured[i] < 0 || rt->baseline[i] < 0)
            die("a spawn failed");
        rt->n = rr->n = i + 1;
    }
}

/* --- output --- */

static void machine(void)
{
    char line[256], cpu[200] = "?";
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && colon) {
            snprintf(cpu, sizeof cpu, "%s", colon + 2);
            cpu[strcspn(cpu, "\n")] = '\0';
            break;
        }
    }
    if (f)
        fclose(f);
    printf("machine: nproc %ld, cpu %s\n", sysconf(_SC_NPROCESSORS_ONLN), cpu);
}

/* A figure measured once: ops in dt seconds, beside the raw puts' rate. */
static void one_rate(struct row *r, uint64_t ops, double dt, double raw_rate)
{
    r->measured[0] = (double)ops / dt;
    r->baseline[0] = raw_rate;
    r->n = 1;
}

/* Whether something listens on 127.0.0.1:port. */
static int listening(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* A free port on 127.0.0.1. */
static int free_port(void)
{
    for (int i = 0; i < 50; i++) {
        int p = 20000 + (int)(randombytes_uniform(20000));
        if (!listening(p))
            return p;
    }
    die("no free port on 127.0.0.1");
}

/* relief serve of dir on 127.0.0.1:port in the background, its output to log; once listening */
static pid_t serve_start(const struct config *c, const char *dir, int port, const char *log)
{
    char listen[32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    char *serve_argv[] = {(char *)c->relief, "--data", (char *)dir, "serve",
                          "--listen",        listen,   NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    int rc = posix_spawn(&pid, serve_argv[0], &fa, NULL, serve_argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc)
        die("cannot start relief serve: %s", strerror(rc));
    for (int i = 0; i < 200 && !listening(port); i++)
        nanosleep(&(struct timespec){0, 50000000}, NULL);
    if (!listening(port)) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        die("relief serve did not start (see %s)", log);
    }
    return pid;
}

static void serve_stop(pid_t pid)
{
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

/* --- how long relief serve takes to answer GET /healthz --- */

struct probe {
    int fd;
    double *ms; /* one latency per request */
    size_t n, cap;
};

static void probe_open(struct probe *p, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    memset(p, 0, sizeof *p);
    p->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (p->fd < 0 || connect(p->fd, (struct sockaddr *)&a, sizeof a))
        die("cannot connect to 127.0.0.1:%d: %s", port, strerror(errno));
}

/* One GET /healthz on the kept-alive connection, its answer read whole; its time kept. */
static void probe_once(struct probe *p)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    char buf[4096];
    size_t got = 0;
    double t0 = now_s();
    if (write(p->fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
        die("GET /healthz: cannot send: %s", strerror(errno));
    for (;;) {
        ssize_t k = read(p->fd, buf + got, sizeof buf - 1 - got);
        if (k <= 0)
            die("GET /healthz: the connection closed");
        got += (size_t)k;
        buf[got] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        const char *cl = strstr(buf, "Content-Length: ");
        if (!end || !cl)
            continue;
        if (strncmp(buf, "HTTP/1.1 200", 12))
            die("GET /healthz: %.40s", buf);
        if (got >= (size_t)(end + 4 - buf) + strtoul(cl + 16, NULL, 10))
            break;
    }
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 4096;
        if (!(p->ms = realloc(p->ms, p->cap * sizeof *p->ms)))
            die("out of memory");
    }
    p->ms[p->n++] = (now_s() - t0) * 1e3;
}

/* The q-quantile of the probe's times (sorts them). */
static double probe_quantile(struct probe *p, double q)
{
    qsort(p->ms, p->n, sizeof *p->ms, cmp_double);
    size_t i = (size_t)(q * (double)(p->n - 1) + 0.5);
    return p->ms[i < p->n ? i : p->n - 1];
}

/*
 * argv (a relief sync with the relief serve on port) run while a probe asks serve for
 * GET /healthz every 2 ms over one connection, after the same probe for a second against the
 * idle serve. r_lat: the 99th percentile during the run beside the idle one's. Seconds argv took.
 */
static double run_probed(int port, char *const argv[], struct row *r_lat, const char *log)
{
    const struct timespec gap = {0, 2000000};
    struct probe idle, busy;
    probe_open(&idle, port);
    for (double t0 = now_s(); now_s() - t0 < 1.0;) {
        probe_once(&idle);
        nanosleep(&gap, NULL);
    }
    probe_open(&busy, port);
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int status = 0;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    double t0 = now_s();
    if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ))
        die("cannot start %s", argv[0]);
    posix_spawn_file_actions_destroy(&fa);
    while (waitpid(pid, &status, WNOHANG) == 0) {
        probe_once(&busy);
        nanosleep(&gap, NULL);
    }
    double dt = now_s() - t0;
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        die("relief sync with relief serve failed (see %s)", log);
    r_lat->measured[0] = probe_quantile(&busy, 0.99);
    r_lat->baseline[0] = probe_quantile(&idle, 0.99);
    r_lat->n = 1;
    snprintf(r_lat->note, sizeof r_lat->note,
             "%zu GETs over one connection, one every 2 ms: median %.2f ms, max %.1f ms; "
             "baseline: %zu GETs before, serve idle (median %.2f ms)",
             busy.n, probe_quantile(&busy, 0.5), busy.ms[busy.n - 1], idle.n,
             probe_quantile(&idle, 0.5));
    close(idle.fd);
    close(busy.fd);
    free(idle.ms);
    free(busy.ms);
    return dt;
}

/*
 * Every op of dir to a new node of its network through relief sync and relief serve on
 * 127.0.0.1 (CLI end to end, both processes real), each with a /healthz probe on the serve:
 * pulled from serve at dir by the new node (r, r_lat), then pushed by dir into serve at
 * another new node (r_push, r_plat). Rates beside the raw puts' rate.
 */
static void bench_sync_new(const struct config *c, const char *dir, const char *net, uint64_t ops,
                           struct row *const r[4], double raw_rate)
{
    for (int push = 0; push < 2; push++) {
        char to[PATH_BYTES], url[64], log[PATH_BYTES];
        int port = free_port();
        snprintf(to, sizeof to, "%s/laptop%d", tmp_root, 2 + push);
        snprintf(url, sizeof url, "http://127.0.0.1:%d", port);
        snprintf(log, sizeof log, "%s/serve%d.log", tmp_root, 2 + push);
        char *init_argv[] = {(char *)c->relief, "--data",    to,  "init",
                             "--network",       (char *)net, NULL};
        char *sync_argv[] = {
            (char *)c->relief, "--data", push ? (char *)dir : to, "sync", url, NULL};
        if (spawn_wait(init_argv) < 0)
            die("relief init failed");
        pid_t pid = serve_start(c, push ? to : dir, port, log);
        double dt = run_probed(port, sync_argv, r[2 * push + 1], log);
        serve_stop(pid);
        one_rate(r[2 * push], ops, dt, raw_rate);
        snprintf(r[2 * push]->note, sizeof r[2 * push]->note,
                 push ? "%llu ops pushed by relief sync at the node into relief serve at a new "
                        "one in %.1f s; baseline: the raw puts' median rate above"
                      : "%llu ops pulled from relief serve on 127.0.0.1 in %.1f s (the whole "
                        "relief sync process); baseline: the raw puts' median rate above",
                 (unsigned long long)ops, dt);
    }
}

static int node_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_node_load(t, arg, e);
}

static int ops_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct proto_vv vv;
    proto_vv_init(&vv);
    int rc = rl_vv_load(t, &vv, e);
    for (uint32_t i = 0; !rc && i < vv.n; i++)
        *(uint64_t *)arg += vv.e[i].seq;
    proto_vv_free(&vv);
    return rc;
}

/* relief bundle apply of every op of dir into a new node of its network; raw: the raw puts' rate */
static void bench_bundle(const struct config *c, const char *dir, struct row *r,
                         struct row *const r_sync[4], double raw_rate)
{
    char file[PATH_BYTES], to[PATH_BYTES], net[2 * PROTO_NETWORK_BYTES + 1];
    struct rl_store s;
    struct rl_node n;
    struct proto_err e;
    uint64_t ops = 0;
    snprintf(file, sizeof file, "%s/all.bundle", tmp_root);
    snprintf(to, sizeof to, "%s/laptop", tmp_root);
    proto_err_clear(&e);
    if (rl_store_open(&s, dir, NULL, &e) || rl_store_read(&s, node_fn, &n, &e) ||
        rl_store_read(&s, ops_fn, &ops, &e))
        die("cannot read '%s': %s", dir, proto_err_text(&e));
    rl_store_close(&s);
    rl_hex(n.network, PROTO_NETWORK_BYTES, net);
    char *create_argv[] = {(char *)c->relief, "--data", (char *)dir, "bundle",
                           "create",          file,     NULL};
    char *init_argv[] = {(char *)c->relief, "--data", to, "init", "--network", net, NULL};
    char *apply_argv[] = {(char *)c->relief, "--data", to, "bundle", "apply", file, NULL};
    double dt_create = spawn_wait(create_argv);
    if (dt_create < 0 || spawn_wait(init_argv) < 0)
        die("relief bundle create or init failed");
    double dt = spawn_wait(apply_argv);
    if (dt < 0)
        die("relief bundle apply failed");
    one_rate(r, ops, dt, raw_rate);
    snprintf(r->note, sizeof r->note,
             "%llu ops (movements, records, sign-ups) in %.1f s; relief bundle create took %.1f s; "
             "baseline: the raw puts' median rate above",
             (unsigned long long)ops, dt, dt_create);
    unlink(file);
    bench_sync_new(c, dir, net, ops, r_sync, raw_rate);
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

static void usage_exit(void)
{
    fprintf(stderr, "usage: bench_domain [--scale F] [--quick] [--rounds N] [--relief PATH] "
                    "[--keep]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    static char relief[4096];
    static struct gen g;
    struct config c = {1.0, 0, 5, 0, 5, 50, 30, 0, relief};
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_BYTES], rawdir[PATH_BYTES], bdir[PATH_BYTES], rawcopy[PATH_BYTES];
    struct proto_err e;
    struct rl_store s;
    struct raw raw;

    default_relief(relief, sizeof relief, argv[0]);
    if (getenv("BENCH_QUICK") && strcmp(getenv("BENCH_QUICK"), "0") != 0)
        c.quick = 1;
    for (int i = 1; i < argc; i++) {
        char *end;
        if (!strcmp(argv[i], "--quick")) {
            c.quick = 1;
        } else if (!strcmp(argv[i], "--keep")) {
            c.keep = 1;
        } else if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
            c.scale = strtod(argv[++i], &end);
            if (*end || !(c.scale > 0) || c.scale > 10)
                usage_exit();
        } else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) {
            c.segments = atoi(argv[++i]);
            if (c.segments < 1 || c.segments > MAX_SAMPLES)
                usage_exit();
        } else if (!strcmp(argv[i], "--only") && i + 1 < argc) {
            i++; /* bench_store's, when run.sh passes it to every program: one figure here */
        } else if (!strcmp(argv[i], "--relief") && i + 1 < argc) {
            snprintf(relief, sizeof relief, "%s", argv[++i]);
        } else {
            usage_exit();
        }
    }
    if (c.quick) {
        c.scale = 0.02;
        c.report_runs = 3;
        c.stock_runs = 20;
        c.write_runs = 10;
    }
    uint64_t total = (uint64_t)(N_MOVEMENTS * c.scale + 0.5);
    if (total < (uint64_t)c.segments)
        die("--scale %g gives %llu movements: fewer than one per round", c.scale,
            (unsigned long long)total);
    c.chunk = RL_IMPORT_CHUNK_ROWS;
    if (total / (uint64_t)c.segments < c.chunk)
        c.chunk = (unsigned)(total / (uint64_t)c.segments);
    if (access(c.relief, X_OK))
        die("no CLI at '%s' (make build/relief, or RELIEF=PATH)", c.relief);
    if (sodium_init() < 0)
        die("cannot initialise libsodium");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    if (strlen(tmp) > ROOT_BYTES - 32)
        die("TMPDIR is longer than %d bytes", ROOT_BYTES - 32);
    snprintf(tmp_root, sizeof tmp_root, "%s/bench_domain.XXXXXX", tmp);
    if (!mkdtemp(tmp_root)) {
        tmp_root[0] = '\0';
        die("cannot create a temporary directory: %s", strerror(errno));
    }
    keep_tmp = c.keep;
    atexit(cleanup);
    setvbuf(stdout, NULL, _IOLBF, 0);
    snprintf(dir, sizeof dir, "%s/node", tmp_root);
    snprintf(rawdir, sizeof rawdir, "%s/raw", tmp_root);
    snprintf(bdir, sizeof bdir, "%s/backup", tmp_root);
    snprintf(rawcopy, sizeof rawcopy, "%s/raw-copy", tmp_root);

    printf("== bench_domain: scale %g (%llu movements; %u sites, %u items, %u needs, %u shifts "
           "at full size), temp dir %s ==\n",
           c.scale, (unsigned long long)total, N_SITES, N_ITEMS, N_NEEDS, N_SHIFTS, tmp_root);
    machine();

    char f_import[64], f_bytes[64];
    snprintf(f_import, sizeof f_import, "import %.2fM movements, %u per commit", total / 1e6,
             c.chunk);
    snprintf(f_bytes, sizeof f_bytes, "bytes on disk per movement after the import");
    struct row *r_import = row_new(f_import, ">=200000/s, <=2x raw", "/s", 1);
    struct row *r_needs = row_new("relief report needs --format csv", "<= 100 ms", "ms", 0);
    struct row *r_stock = row_new("relief stock --site X (vs /bin/true)", "<= 5 ms", "ms", 0);
    struct row *r_wtrue = row_new("durable CLI write (vs /bin/true)", "<= 10 ms", "ms", 0);
    struct row *r_wraw = row_new("durable CLI write (vs raw 1-put commit)", "<= 10 ms", "ms", 0);
    struct row *r_bytes = row_new(f_bytes, "<= 100 B", "B", 0);
    struct row *r_bcomp =
        row_new("bytes per movement, relief backup (compacted)", "<= 100 B", "B", 0);
    struct row *r_bundle =
        row_new("relief bundle apply of every op, a new node", "report", "/s", 1);
    struct row *r_sync[4] = {
        row_new("relief sync of every op from relief serve, a new node", "report", "/s", 1),
        row_new("GET /healthz p99 on that relief serve meanwhile", "report", "ms", 0),
        row_new("relief sync pushing every op into relief serve, a new node", "report", "/s", 1),
        row_new("GET /healthz p99 on that relief serve meanwhile", "report", "ms", 0),
    };

    /* the node, its sites and items */
    for (unsigned i = 0; i < N_SITES; i++)
        snprintf(site_code[i], sizeof site_code[i], "%s-%04u", prefectures[i % 5][0], i);
    for (unsigned i = 0; i < N_ITEMS; i++)
        snprintf(item_code[i], sizeof item_code[i], "item-%04u", i);
    proto_err_clear(&e);
    if (rl_init(dir, "bench", NULL, NULL, NULL, &e) || rl_store_open(&s, dir, NULL, &e))
        die("cannot make a node in '%s': %s", dir, proto_err_text(&e));
    double dt_sites = add_records(&s, RL_R_SITE, N_SITES, NULL);
    double dt_items = add_records(&s, RL_R_ITEM, N_ITEMS, NULL);
    printf("  %u sites in %.2f s, %u items in %.2f s\n", N_SITES, dt_sites, N_ITEMS, dt_items);

    /* the movements, beside the raw puts */
    g.bal = calloc((size_t)N_SITES * N_ITEMS, sizeof *g.bal);
    g.undo = malloc(c.chunk * 2 * sizeof *g.undo);
    if (!g.bal || !g.undo)
        die("out of memory");
    g.st.rng = 0x70401c0ull; /* reproducible */
    raw_open(&raw, rawdir);
    printf("  importing %llu movements...\n", (unsigned long long)total);
    bench_import(&c, &s, &g, &raw, total, r_import);
    r_bytes->measured[0] = (double)file_size(dir) / (double)total;
    r_bytes->baseline[0] = (double)file_size(rawdir) / (double)total;
    r_bytes->n = 1;
    snprintf(r_bytes->note, sizeof r_bytes->note,
             "data.mdb / movements (sites and items included); raw: its data.mdb / puts");
    printf("  movements: %llu receipts, %llu distributions, %llu dispatches, %llu arrivals, "
           "%llu adjustments\n",
           (unsigned long long)g.st.kinds[G_RECEIVE], (unsigned long long)g.st.kinds[G_DISTRIBUTE],
           (unsigned long long)g.st.kinds[G_DISPATCH], (unsigned long long)g.st.kinds[G_ARRIVE],
           (unsigned long long)g.st.kinds[G_ADJUST]);

    /* needs and shifts */
    char *shift_refs = malloc((size_t)N_SHIFTS * 40);
    if (!shift_refs)
        die("out of memory");
    double dt_needs = add_records(&s, RL_R_NEED, N_NEEDS, NULL);
    double dt_shifts = add_records(&s, RL_R_SHIFT, N_SHIFTS, shift_refs);
    struct signup_batch sb = {shift_refs, N_SHIFTS};
    double t0 = now_s();
    if (rl_node_write(&s, signups_fn, &sb, &e))
        die("sign-ups: %s", proto_err_text(&e));
    printf("  %u needs in %.2f s, %u shifts in %.2f s, sign-ups in %.2f s\n", N_NEEDS, dt_needs,
           N_SHIFTS, dt_shifts, now_s() - t0);
    free(shift_refs);
    free(g.bal);
    free(g.undo);
    rl_store_close(&s);

    /* the CLI */
    char *status_argv[] = {(char *)c.relief, "--data", dir, "status", NULL};
    char *needs_argv[] = {(char *)c.relief, "--data",   dir,   "report",
                          "needs",          "--format", "csv", NULL};
    char *stock_argv[] = {(char *)c.relief, "--data", dir, "stock", "--site", site_code[0], NULL};
    char *true_argv[] = {"/bin/true", NULL};
    char *write_argv[] = {(char *)c.relief, "--data", dir,          "stock", "receive", "--site",
                          site_code[1],     "--item", item_code[0], "--qty", "1",       NULL};
    char *backup_argv[] = {(char *)c.relief, "--data", dir, "backup", bdir, NULL};
    printf("  relief report needs...\n");
    bench_spawns(r_needs, needs_argv, status_argv, c.report_runs, 1);
    snprintf(r_needs->note, sizeof r_needs->note,
             "%d runs, output to /dev/null; baseline: relief status on the same node", r_needs->n);
    printf("  relief stock --site %s...\n", site_code[0]);
    bench_spawns(r_stock, stock_argv, true_argv, c.stock_runs, 5);
    snprintf(r_stock->note, sizeof r_stock->note,
             "%d runs at the busiest warehouse (%s), table to /dev/null, after 5 warm-up runs",
             r_stock->n, site_code[0]);
    printf("  relief stock receive...\n");
    bench_cli_write(&c, r_wtrue, r_wraw, write_argv, &raw);
    snprintf(r_wtrue->note, sizeof r_wtrue->note,
             "%d runs of 'relief stock receive --site %s --item %s --qty 1', after 3 warm-up",
             r_wtrue->n, site_code[1], item_code[0]);
    snprintf(r_wraw->note, sizeof r_wraw->note,
             "same runs; baseline: one random-key put and a durable commit in the raw env");

    /* compaction */
    printf("  relief backup...\n");
    t0 = now_s();
    spawn_ok(backup_argv);
    double dt_backup = now_s() - t0;
    if (mkdir(rawcopy, 0700))
        die("cannot create '%s': %s", rawcopy, strerror(errno));
    mdb_check(mdb_env_copy2(raw.env, rawcopy, MDB_CP_COMPACT), "compacting copy");
    r_bcomp->measured[0] = (double)file_size(bdir) / (double)total;
    r_bcomp->baseline[0] = (double)file_size(rawcopy) / (double)total;
    r_bcomp->n = 1;
    snprintf(r_bcomp->note, sizeof r_bcomp->note,
             "backup took %.1f s; its data.mdb / movements (needs, shifts included); raw: "
             "mdb_env_copy2 MDB_CP_COMPACT",
             dt_backup);
    mdb_env_close(raw.env);

    /* every op to a new laptop on a USB stick: bundle create, then apply */
    printf("  relief bundle create, apply; relief sync from and into relief serve...\n");
    bench_bundle(&c, dir, r_bundle, r_sync, median(r_import->baseline, r_import->n));
    bench_print_table("ratio: the figure's cost in units of its baseline's (time per movement, time "
                      "per run,\nbytes per movement); 2.00x means twice as slow or as big as the "
                      "baseline.");
    if (c.keep)
        printf("\nkept %s\n", tmp_root);
    return 0;
}
