/*
 * The deterministic simulator: many relief nodes in one process, driven by one seed.
 *
 * Every node is a real node -- rl_init in a temporary directory, opened with rl_store_open and
 * wrapped in rl_syncstore, the store the sync engine talks to -- and every change goes through
 * the real domain API (rl_edit_apply, rl_stock_write, rl_shift_write). Only the network and the
 * clocks are simulated: a "message" is one page that node X pulls from node Y (Y's read_after of
 * X's version vector, applied to X through the sync interface), and the simulator may lose it,
 * deliver it twice, hold it back and deliver it later (reordered and stale), deliver it to a
 * node that did not ask, or cut it (a cut batch must be refused whole). Nodes fall into
 * partitions, crash (the store is closed and reopened), are backed up and later restored from
 * the old copy (on the same machine or another one; the node must take a new id before it
 * writes), are cloned onto a new laptop, and run with skewed clocks that jump. At the end the
 * network heals: every node pulls from every other until nobody gets anything new, and then
 * every digest must be equal, and equal to the digest of the state rebuilt from one node's log.
 *
 * Determinism. The seed drives a PCG32 generator that makes every choice: node count, steps,
 * targets, values, page sizes, fates of messages. Targets are picked from the simulator's own
 * registry of what was written (by registry index), filtered by "has this node seen the op"
 * (its version vector); no choice reads an id or a value of the state. What a node has seen
 * does depend on ids, though: read_after fills a page origin by origin, in the order of the
 * origin ids. So the simulator makes the ids deterministic too: libsodium's random source is
 * replaced (randombytes_set_implementation) by a second PCG stream of the seed, so node ids,
 * site ids and the network id repeat. And clock_gettime(CLOCK_REALTIME) is interposed by the
 * definition below, so each node's HLC reads a simulated wall clock (a global simulated time
 * plus the node's skew). A seed therefore replays step for step with the same ids, timestamps
 * and digests (--verbose logs of one seed compare equal but for inode numbers). The one input
 * outside the seed is the file system: the node layer compares the data file's (device,
 * inode), and whether a copy reuses a freed inode number depends on the file system. If the
 * interposition does not take (a static libc), the simulator says so at start and runs with
 * real clocks and no skew; choices stay deterministic, values and digests do not.
 *
 * Output: "seed S: N nodes, K ops, M messages, ok", where N counts clones, K is the ops every
 * node holds at the end and M the pages that were sent (lost ones included, heal excluded).
 *
 * Build (until the Makefile knows it), from the top of the tree:
 *   make -j2 build/librelief.a build/libsync.a build/libproto.a
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -O2 -I. tools/sim/sim.c build/librelief.a \
 *      build/libsync.a build/libproto.a $(pkg-config --libs lmdb msgpack libsodium jansson \
 *      libuv libcurl zlib) -lhttp_parser -o build/sim
 *
 * Usage:
 *   sim [--seeds A..B | --seed S | --seconds T [--from S]] [--max-nodes K | --nodes N]
 *       [--verbose] [--quiet] [--keep] [--dodge-known]
 */
#include "proto/kinds.h"
#include "relief/bundle.h"
#include "relief/digest.h"
#include "relief/domain.h"
#include "relief/hlc.h"
#include "relief/init.h"
#include "relief/node.h"
#include "relief/oplog.h"
#include "relief/store.h"
#include "relief/syncstore.h"
#include "sync/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SIM_MAX_NODES 50
#define SIM_MAX_CLONES 3
#define SIM_SLOTS (SIM_MAX_NODES + SIM_MAX_CLONES)
#define SIM_PATH 512
/* 2026-03-11T00:00:00Z: where simulated time starts */
#define SIM_EPOCH_MS 1773187200000ull

/* --- PCG32 (O'Neill, XSH RR): one stream for choices, one for the bytes libsodium asks for --- */

struct rng {
    uint64_t state, inc;
};

static uint32_t rng_next(struct rng *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ull + r->inc;
    uint32_t xs = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xs >> rot) | (xs << ((32 - rot) & 31));
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
    r->state = 0;
    r->inc = (stream << 1) | 1;
    rng_next(r);
    r->state += seed;
    rng_next(r);
}

/* Uniform in [0, n) (n > 0; the bias of the multiply is below 2^-32 * n). */
static uint32_t rnd(struct rng *r, uint32_t n)
{
    return (uint32_t)(((uint64_t)rng_next(r) * n) >> 32);
}

static int chance(struct rng *r, unsigned pct)
{
    return rnd(r, 100) < pct;
}

/* --- libsodium's random bytes, from the seed --- */

static struct rng g_bytes;

static const char *sim_rb_name(void)
{
    return "relief-sim";
}

static uint32_t sim_rb_random(void)
{
    return rng_next(&g_bytes);
}

static void sim_rb_buf(void *const buf, const size_t n)
{
    uint8_t *p = buf;
    for (size_t i = 0; i < n; i += 4) {
        uint32_t v = rng_next(&g_bytes);
        for (size_t k = 0; k < 4 && i + k < n; k++)
            p[i + k] = (uint8_t)(v >> (8 * k));
    }
}

static randombytes_implementation sim_rb = {sim_rb_name, sim_rb_random, NULL,
                                            NULL,        sim_rb_buf,    NULL};

/* --- the simulated wall clock --- */

static int g_clock_sim;     /* CLOCK_REALTIME reads g_clock_ms */
static uint64_t g_clock_ms; /* the wall clock of the node being worked on */

/*
 * Interposes libc's clock_gettime for this program: relief/hlc.c reads the wall clock through
 * it, so each node's HLC sees its own skewed simulated time. Other clocks (nobody here reads
 * one) and the real time when simulation is off come from timespec_get, which glibc does not
 * route through this symbol.
 */
int clock_gettime(clockid_t id, struct timespec *ts)
{
    if (g_clock_sim && id == CLOCK_REALTIME) {
        ts->tv_sec = (time_t)(g_clock_ms / 1000);
        ts->tv_nsec = (long)(g_clock_ms % 1000) * 1000000L;
        return 0;
    }
    return timespec_get(ts, TIME_UTC) == TIME_UTC ? 0 : -1;
}

static double real_seconds(void)
{
    struct timespec ts;
    timespec_get(&ts, TIME_UTC);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* --- files --- */

static int rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st))
        return errno == ENOENT ? 0 : -errno;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *de;
        if (!d)
            return -errno;
        while ((de = readdir(d))) {
            char sub[SIM_PATH];
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            snprintf(sub, sizeof sub, "%s/%s", path, de->d_name);
            rm_tree(sub);
        }
        closedir(d);
        return rmdir(path) ? -errno : 0;
    }
    return unlink(path) ? -errno : 0;
}

/* Copy a file into a new one, or (over) over the existing one, which keeps its inode. */
static int copy_file(const char *from, const char *to, int over)
{
    char buf[1 << 16];
    int in = open(from, O_RDONLY), out = -1, rc = 0;
    if (in < 0)
        return -errno;
    out = open(to, over ? O_WRONLY | O_TRUNC : O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (out < 0) {
        rc = -errno;
        close(in);
        return rc;
    }
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        if (write(out, buf, (size_t)n) != n) {
            rc = -EIO;
            break;
        }
    }
    close(in);
    if (close(out) && !rc)
        rc = -errno;
    return rc;
}

/* Copy the regular files of a directory into a new one. */
static int copy_dir(const char *from, const char *to)
{
    DIR *d = opendir(from);
    struct dirent *de;
    int rc = 0;
    if (!d)
        return -errno;
    if (mkdir(to, 0700)) {
        closedir(d);
        return -errno;
    }
    while (!rc && (de = readdir(d))) {
        char a[SIM_PATH], b[SIM_PATH];
        struct stat st;
        snprintf(a, sizeof a, "%s/%s", from, de->d_name);
        snprintf(b, sizeof b, "%s/%s", to, de->d_name);
        if (lstat(a, &st) == 0 && S_ISREG(st.st_mode))
            rc = copy_file(a, b, 0);
    }
    closedir(d);
    return rc;
}

/* --- the world of one seed --- */

/* What the simulator wrote, so it can pick targets a node has seen. */
enum ent_kind {
    E_SITE,
    E_ITEM,
    E_NEED,
    E_SHIFT,
    E_DON,
    E_MOVE, /* receipts, distributions, adjustments: what a void may name */
    E_DISPATCH,
    E_SIGNUP,
    E_COUNT /* counts are not movements: a later count corrects one, no void */
};

static const char *const ent_names[] = {"site",     "item",     "need",   "shift", "donation",
                                        "movement", "transfer", "signup", "count"};

struct ent {
    uint8_t kind;
    int shift;            /* E_SIGNUP: the shift's entry */
    uint64_t origin, seq; /* the op that made it */
    char ref[40];         /* how the API names it: a site's id, an op reference */
    char name[24];        /* a site's code at birth, an item's code, a volunteer */
};

struct snode {
    int live, open, has_bak, restored;
    char dir[SIM_PATH], bak[SIM_PATH];
    struct rl_store s;
    struct rl_syncstore ss;
    char machine[64];
    unsigned gen; /* machines this node's data has lived on */
    int64_t skew_ms;
    int group;   /* partition */
    uint64_t id; /* the origin it last wrote as (--verbose only) */
};

struct delayed {
    int to, due;
    uint8_t *p;
    size_t n;
};

struct stats {
    unsigned writes, refused, msgs, empty, lost, dup, delayed, cut, stray, blocked, bundles,
        crashes, backups, restores, clones, partitions, jumps, conflicts, heal_pulls;
};

struct opts {
    int min_nodes, max_nodes, verbose, quiet, keep;
    int dodge; /* steer clear of the known bugs (see usage) */
};

struct sim {
    uint64_t seed;
    const struct opts *o;
    struct rng r;
    char root[300];
    uint8_t net[PROTO_NETWORK_BYTES];
    int n; /* slots used */
    struct snode node[SIM_SLOTS];
    uint64_t now_ms;
    int step;
    struct ent *ent;
    int nent, cap;
    struct delayed *q;
    int nq, qcap;
    int part_until;
    int nsites;
    struct stats st;
    int failed;
    char why[1024];
};

static void vlog(struct sim *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line of the --verbose log; the temporary directory shows as $ROOT, so logs of one seed
 * compare equal. */
static void vlog(struct sim *m, const char *fmt, ...)
{
    va_list ap;
    char line[2048];
    size_t rn = strlen(m->root);
    if (!m->o->verbose)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    printf("  [%4d] ", m->step);
    for (const char *p = line; *p;) {
        if (rn && !strncmp(p, m->root, rn)) {
            fputs("$ROOT", stdout);
            p += rn;
        } else {
            putchar(*p++);
        }
    }
    putchar('\n');
}

static void fail(struct sim *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void fail(struct sim *m, const char *fmt, ...)
{
    va_list ap;
    if (m->failed)
        return;
    m->failed = 1;
    va_start(ap, fmt);
    int k = snprintf(m->why, sizeof m->why, "step %d: ", m->step);
    vsnprintf(m->why + k, sizeof m->why - (size_t)k, fmt, ap);
    va_end(ap);
    vlog(m, "FAIL %s", m->why);
}

/* Make node i the one the process works on: its clock and its machine. */
static struct snode *use(struct sim *m, int i)
{
    struct snode *nd = &m->node[i];
    int64_t t = (int64_t)m->now_ms + nd->skew_ms;
    g_clock_ms = t < 1000 ? 1000 : (uint64_t)t;
    setenv("RELIEF_MACHINE_ID", nd->machine, 1);
    return nd;
}

static int64_t pick_skew(struct sim *m)
{
    unsigned k = rnd(&m->r, 100);
    int64_t sign = chance(&m->r, 50) ? 1 : -1;
    if (k < 70)
        return sign * (int64_t)rnd(&m->r, 2000); /* NTP-close */
    if (k < 88)
        return sign * (int64_t)(60000 + rnd(&m->r, 30 * 60000)); /* minutes off */
    if (k < 96)
        return sign * (int64_t)(86400000ll * (1 + rnd(&m->r, 3))); /* a wrong day */
    return (int64_t)2332800000000ll; /* a laptop 74 years ahead, in 2100 */
}

static int node_id_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct rl_node n;
    int rc = rl_node_load(t, &n, e);
    if (!rc)
        *(uint64_t *)arg = n.id;
    return rc;
}

static int node_open(struct sim *m, int i)
{
    struct snode *nd = use(m, i);
    struct proto_err e;
    proto_err_clear(&e);
    if (rl_store_open(&nd->s, nd->dir, NULL, &e)) {
        fail(m, "open n%d: %s", i, e.msg);
        return -1;
    }
    if (rl_syncstore_init(&nd->ss, &nd->s, &e)) {
        rl_store_close(&nd->s);
        fail(m, "syncstore n%d: %s", i, e.msg);
        return -1;
    }
    nd->open = 1;
    if (m->o->verbose && !nd->id)
        rl_store_read(&nd->s, node_id_fn, &nd->id, &e);
    return 0;
}

static void node_close(struct sim *m, int i)
{
    if (m->node[i].open)
        rl_store_close(&m->node[i].s);
    m->node[i].open = 0;
}

static void node_slot(struct sim *m, int i)
{
    struct snode *nd = &m->node[i];
    memset(nd, 0, sizeof *nd);
    nd->live = 1;
    snprintf(nd->dir, sizeof nd->dir, "%s/n%d", m->root, i);
    snprintf(nd->bak, sizeof nd->bak, "%s/b%d", m->root, i);
    snprintf(nd->machine, sizeof nd->machine, "sim-laptop-%d-0", i);
    nd->skew_ms = pick_skew(m);
}

static int node_make(struct sim *m, int i)
{
    char name[16];
    struct proto_err e;
    node_slot(m, i);
    use(m, i);
    snprintf(name, sizeof name, "N%d", i);
    proto_err_clear(&e);
    if (rl_init(m->node[i].dir, name, m->net, NULL, NULL, &e)) {
        fail(m, "init n%d: %s", i, e.msg);
        return -1;
    }
    if (node_open(m, i))
        return -1;
    vlog(m, "n%d is made: origin %016llx, data file inode %llu, clock skew %+lld ms", i,
         (unsigned long long)m->node[i].id, (unsigned long long)m->node[i].s.file_ino,
         (long long)m->node[i].skew_ms);
    return 0;
}

static int load_vv(struct sim *m, int i, struct proto_vv *vv)
{
    struct snode *nd = use(m, i);
    struct proto_err e;
    proto_vv_init(vv);
    proto_err_clear(&e);
    if (nd->ss.iface.vv(nd->ss.iface.ctx, vv, &e)) {
        fail(m, "vv of n%d: %s", i, e.msg);
        return -1;
    }
    return 0;
}

static int vv_equal(const struct proto_vv *a, const struct proto_vv *b)
{
    if (a->n != b->n)
        return 0;
    for (uint32_t i = 0; i < a->n; i++)
        if (a->e[i].origin != b->e[i].origin || a->e[i].seq != b->e[i].seq ||
            memcmp(a->e[i].hash, b->e[i].hash, PROTO_HASH_BYTES))
            return 0;
    return 1;
}

static uint64_t vv_ops(const struct proto_vv *vv)
{
    uint64_t n = 0;
    for (uint32_t i = 0; i < vv->n; i++)
        n += vv->e[i].seq;
    return n;
}

/* --- the registry --- */

static int ent_add(struct sim *m, uint8_t kind, uint64_t origin, uint64_t seq)
{
    if (m->nent == m->cap) {
        int cap = m->cap ? 2 * m->cap : 256;
        struct ent *p = realloc(m->ent, (size_t)cap * sizeof *p);
        if (!p) {
            fail(m, "out of memory");
            return -1;
        }
        m->ent = p;
        m->cap = cap;
    }
    struct ent *x = &m->ent[m->nent];
    memset(x, 0, sizeof *x);
    x->kind = kind;
    x->origin = origin;
    x->seq = seq;
    rl_ref_format(origin, seq, x->ref);
    vlog(m, "  = %s %s", ent_names[kind], x->ref);
    return m->nent++;
}

static int seen(const struct proto_vv *vv, const struct ent *x)
{
    return proto_vv_seq(vv, x->origin) >= x->seq;
}

/* A random entry of a kind that the node has seen, other than not; -1 when there is none. */
static int pick(struct sim *m, const struct proto_vv *vv, uint8_t kind, int not )
{
    int n = 0;
    for (int i = 0; i < m->nent; i++)
        n += i != not &&m->ent[i].kind == kind && seen(vv, &m->ent[i]);
    if (!n)
        return -1;
    int k = (int)rnd(&m->r, (uint32_t)n);
    for (int i = 0; i < m->nent; i++)
        if (i != not &&m->ent[i].kind == kind && seen(vv, &m->ent[i]) && k-- == 0)
            return i;
    return -1;
}

/* A node's view: its version vector, loaded once per step. */
struct view {
    int x;
    struct proto_vv vv;
};

/* --- values --- */

static const char *const texts[] = {"石巻 倉庫", "湊小学校", "Centro São Paulo", "Kitchen 3",
                                    "Gym",       "東松島",   "north wing",       "Ana",
                                    "",          "Rua 7",    "tel 090-1234",     "infants"};
static const char *const volunteers[] = {"Ana", "Bo", "Chie", "Dai", "Emi", "Fumi", "Goro"};
static const char *const items[] = {"rice-5kg", "water-2l", "blanket", "diapers", "soap"};
static const char *const languages[] = {"pt,tl", "zh", "", "pt", "tl,zh,vi", "en,pt"};
static const char *const currencies[] = {"JPY", "USD", "EUR"};

#define NELEM(a) (sizeof(a) / sizeof *(a))
#define PICK(m, a) ((a)[rnd(&(m)->r, (uint32_t)NELEM(a))])

static int count_names(const char *const *names)
{
    int n = 0;
    while (names[n])
        n++;
    return n;
}

struct edbuf {
    struct rl_edit ed;
    char v[32][96];
};

static void eb_init(struct edbuf *b, enum rl_rtype t, int add, const char *target)
{
    memset(b, 0, sizeof *b);
    b->ed.rtype = t;
    b->ed.add = add;
    b->ed.target = target;
}

static int eb_has(const struct edbuf *b, const char *field)
{
    for (int i = 0; i < b->ed.nfields; i++)
        if (!strcmp(b->ed.fields[i].f->name, field))
            return 1;
    return 0;
}

static void eb_f(struct edbuf *b, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void eb_f(struct edbuf *b, const char *field, const char *fmt, ...)
{
    va_list ap;
    const struct rl_fieldopt *f = rl_fieldopt_find(rl_fields_of(b->ed.rtype), field);
    if (!f || b->ed.nfields >= 32 || eb_has(b, field))
        return;
    va_start(ap, fmt);
    vsnprintf(b->v[b->ed.nfields], sizeof b->v[0], fmt, ap);
    va_end(ap);
    b->ed.fields[b->ed.nfields].f = f;
    b->ed.fields[b->ed.nfields].value = b->v[b->ed.nfields];
    b->ed.nfields++;
}

/* A random value for a field, by its format; 0 when none can be made (no site seen, ...). */
static int eb_random(struct sim *m, struct view *w, struct edbuf *b, const struct rl_fieldopt *f)
{
    int k;
    switch (f->fmt) {
    case RL_FMT_TEXT:
        eb_f(b, f->name, "%s %u", PICK(m, texts), rnd(&m->r, 100));
        return 1;
    case RL_FMT_CODE: /* site codes from a small pool: two sites may well share one */
        eb_f(b, f->name, "S%u", rnd(&m->r, 12));
        return 1;
    case RL_FMT_CURRENCY:
        eb_f(b, f->name, "%s", PICK(m, currencies));
        return 1;
    case RL_FMT_UINT:
        if (!strcmp(f->name, "slots"))
            eb_f(b, f->name, "%u", 1 + rnd(&m->r, 4));
        else
            eb_f(b, f->name, "%u", 1 + rnd(&m->r, 400));
        return 1;
    case RL_FMT_DEG:
        eb_f(b, f->name, "%s%u.%04u", chance(&m->r, 20) ? "-" : "", rnd(&m->r, 90),
             rnd(&m->r, 10000));
        return 1;
    case RL_FMT_TIME:
        eb_f(b, f->name, "2026-03-%02uT%02u:%02u:00Z", 11 + rnd(&m->r, 10), rnd(&m->r, 24),
             rnd(&m->r, 60));
        return 1;
    case RL_FMT_DAY:
        eb_f(b, f->name, "2026-%02u-%02u", 3 + rnd(&m->r, 3), 1 + rnd(&m->r, 28));
        return 1;
    case RL_FMT_BOOL:
        eb_f(b, f->name, "%s", chance(&m->r, 70) ? "no" : "yes");
        return 1;
    case RL_FMT_ENUM:
        eb_f(b, f->name, "%s", f->names[rnd(&m->r, (uint32_t)count_names(f->names))]);
        return 1;
    case RL_FMT_SITE:
        if ((k = pick(m, &w->vv, E_SITE, -1)) < 0)
            return 0;
        eb_f(b, f->name, "%s", m->ent[k].ref);
        return 1;
    case RL_FMT_ITEM:
        if ((k = pick(m, &w->vv, E_ITEM, -1)) < 0)
            return 0;
        eb_f(b, f->name, "%s", m->ent[k].name);
        return 1;
    }
    return 0;
}

/* 1..3 random fields of the record type (or the one named). */
static void eb_random_fields(struct sim *m, struct view *w, struct edbuf *b, const char *only)
{
    const struct rl_fieldopt *fs = rl_fields_of(b->ed.rtype);
    int nf = 0;
    while (fs[nf].name)
        nf++;
    if (only) {
        eb_random(m, w, b, rl_fieldopt_find(fs, only));
        return;
    }
    unsigned want = 1 + rnd(&m->r, 3);
    for (unsigned i = 0; i < want; i++)
        eb_random(m, w, b, &fs[rnd(&m->r, (uint32_t)nf)]);
}

/* --- local writes --- */

/* The outcome of a write: a refusal the API may rightly give (the target was voided, the
 * volunteer cancelled already ...) is counted; anything else fails the seed. */
static int write_done(struct sim *m, int x, int rc, const struct proto_err *e, const char *what)
{
    if (!rc) {
        m->st.writes++;
        vlog(m, "n%d %s", x, what);
        if (m->o->verbose) {
            /* say when the node writes under a new id (after a restore or a clone) */
            struct proto_err e2;
            uint64_t id = 0;
            if (rl_store_read(&m->node[x].s, node_id_fn, &id, &e2) == 0 && id != m->node[x].id) {
                if (m->node[x].id)
                    vlog(m, "  n%d writes as origin %016llx, no longer %016llx", x,
                         (unsigned long long)id, (unsigned long long)m->node[x].id);
                m->node[x].id = id;
            }
        }
        return 0;
    }
    if (rc == -ENOENT || rc == PROTO_EEXIST || rc == -EINVAL) {
        m->st.refused++;
        vlog(m, "n%d %s: refused (%s)", x, what, e->msg);
        return 1;
    }
    fail(m, "n%d %s: %s (%s)", x, what, e->msg, proto_errname(rc));
    return -1;
}

static int edit(struct sim *m, int x, struct edbuf *b, struct rl_written *out, const char *what)
{
    struct proto_err e;
    char line[1400];
    int k = snprintf(line, sizeof line, "%s", what);
    for (int i = 0; i < b->ed.nfields && k < (int)sizeof line - 200; i++)
        k += snprintf(line + k, sizeof line - (size_t)k, " %s=%s", b->ed.fields[i].f->name,
                      b->ed.fields[i].value);
    if (b->ed.languages)
        snprintf(line + k, sizeof line - (size_t)k, " languages=%s", b->ed.languages);
    struct snode *nd = use(m, x);
    proto_err_clear(&e);
    memset(out, 0, sizeof *out);
    int rc = rl_edit_apply(&nd->s, &b->ed, out, &e);
    return write_done(m, x, rc, &e, line);
}

static void w_site_add(struct sim *m, struct view *w)
{
    struct edbuf b;
    struct rl_written out;
    eb_init(&b, RL_R_SITE, 1, NULL);
    eb_f(&b, "name", "%s", PICK(m, texts));
    /* now and then a short code another site has, as two laptops offline would */
    int k = chance(&m->r, 15) ? pick(m, &w->vv, E_SITE, -1) : -1;
    char code[24];
    if (k >= 0)
        snprintf(code, sizeof code, "%s", m->ent[k].name);
    else
        snprintf(code, sizeof code, "S%d", m->nsites);
    eb_f(&b, "code", "%s", code);
    eb_random_fields(m, w, &b, "kind");
    if (chance(&m->r, 50))
        eb_random_fields(m, w, &b, "capacity");
    if (chance(&m->r, 25))
        b.ed.languages = PICK(m, languages);
    m->nsites++;
    if (edit(m, w->x, &b, &out, "site add"))
        return;
    int i = ent_add(m, E_SITE, out.origin, out.seq);
    if (i >= 0) {
        snprintf(m->ent[i].ref, sizeof m->ent[i].ref, "%016llx", (unsigned long long)out.site);
        snprintf(m->ent[i].name, sizeof m->ent[i].name, "%s", code);
        vlog(m, "  site %s is %s", code, m->ent[i].ref);
    }
}

static void w_record_set(struct sim *m, struct view *w, int k, const char *field);

static void w_item_add(struct sim *m, struct view *w)
{
    struct edbuf b;
    struct rl_written out;
    const char *unknown[NELEM(items)], *code = PICK(m, items);
    int nu = 0;
    /* mostly a code this node does not know yet (another node may be adding it too); now and
     * then one it knows, which the API refuses */
    for (size_t c = 0; c < NELEM(items); c++) {
        int known = 0;
        for (int i = 0; i < m->nent && !known; i++)
            known = m->ent[i].kind == E_ITEM && !strcmp(m->ent[i].name, items[c]) &&
                    seen(&w->vv, &m->ent[i]);
        if (!known)
            unknown[nu++] = items[c];
    }
    if (chance(&m->r, 95)) {
        int k;
        if (!nu) {
            if ((k = pick(m, &w->vv, E_ITEM, -1)) >= 0)
                w_record_set(m, w, k, NULL);
            return;
        }
        code = unknown[rnd(&m->r, (uint32_t)nu)];
    }
    eb_init(&b, RL_R_ITEM, 1, code);
    eb_f(&b, "name", "%s", code);
    eb_f(&b, "unit", "%s", chance(&m->r, 50) ? "bag" : "piece");
    if (chance(&m->r, 50))
        eb_f(&b, "category", "%s", chance(&m->r, 50) ? "food" : "hygiene");
    char what[80];
    snprintf(what, sizeof what, "item add %s", code);
    if (edit(m, w->x, &b, &out, what))
        return;
    int i = ent_add(m, E_ITEM, out.origin, out.seq);
    if (i >= 0)
        snprintf(m->ent[i].name, sizeof m->ent[i].name, "%s", code);
}

static void w_record_add(struct sim *m, struct view *w, uint8_t kind)
{
    struct edbuf b;
    struct rl_written out;
    enum rl_rtype t = kind == E_NEED ? RL_R_NEED : kind == E_SHIFT ? RL_R_SHIFT : RL_R_DONATION;
    eb_init(&b, t, 1, NULL);
    if (kind == E_NEED) {
        eb_random_fields(m, w, &b, "site");
        if (chance(&m->r, 80))
            eb_random_fields(m, w, &b, "item");
        else
            eb_f(&b, "service", "interpreter %s", PICK(m, languages));
        eb_random_fields(m, w, &b, "qty");
        eb_random_fields(m, w, &b, "priority");
        if (chance(&m->r, 50))
            eb_random_fields(m, w, &b, "due");
    } else if (kind == E_SHIFT) {
        unsigned day = 12 + rnd(&m->r, 8), h = 6 + rnd(&m->r, 12);
        eb_random_fields(m, w, &b, "site");
        eb_f(&b, "start", "2026-03-%02uT%02u:00:00Z", day, h);
        eb_f(&b, "end", "2026-03-%02uT%02u:00:00Z", day, h + 3);
        eb_random_fields(m, w, &b, "slots");
        if (chance(&m->r, 50))
            eb_f(&b, "role", "%s", chance(&m->r, 50) ? "cook" : "serve");
        if (chance(&m->r, 50))
            eb_random_fields(m, w, &b, "meals");
    } else {
        eb_f(&b, "donor", "%s", chance(&m->r, 50) ? "Kobe Rotary" : "Escola 5");
        eb_random_fields(m, w, &b, "to");
        if (chance(&m->r, 70)) {
            eb_random_fields(m, w, &b, "item");
            eb_random_fields(m, w, &b, "qty");
        } else {
            eb_random_fields(m, w, &b, "amount");
            eb_random_fields(m, w, &b, "currency");
        }
    }
    char what[40];
    snprintf(what, sizeof what, "%s add", ent_names[kind]);
    if (edit(m, w->x, &b, &out, what))
        return;
    ent_add(m, kind, out.origin, out.seq);
}

/* Change a record (field NULL: 1..3 random fields); k is its entry. */
static void w_record_set(struct sim *m, struct view *w, int k, const char *field)
{
    struct edbuf b;
    struct rl_written out;
    const struct ent *x = &m->ent[k];
    char target[40], what[80];
    enum rl_rtype t = x->kind == E_SITE    ? RL_R_SITE
                      : x->kind == E_ITEM  ? RL_R_ITEM
                      : x->kind == E_NEED  ? RL_R_NEED
                      : x->kind == E_SHIFT ? RL_R_SHIFT
                                           : RL_R_DONATION;
    snprintf(target, sizeof target, "%s", x->kind == E_ITEM ? x->name : x->ref);
    eb_init(&b, t, 0, target);
    eb_random_fields(m, w, &b, field);
    if (t == RL_R_SITE && !field && chance(&m->r, 20))
        b.ed.languages = PICK(m, languages);
    if (!b.ed.nfields && !b.ed.languages)
        return;
    snprintf(what, sizeof what, "%s set %s", ent_names[x->kind], target);
    edit(m, w->x, &b, &out, what);
}

static int stock(struct sim *m, int x, struct rl_stock_req *r, struct rl_stock_result *res,
                 const char *what)
{
    struct proto_err e;
    struct snode *nd = use(m, x);
    proto_err_clear(&e);
    int rc = rl_stock_write(&nd->s, r, res, &e);
    return write_done(m, x, rc, &e, what);
}

/* A need's site (its id, as refs name sites) and item, as the writing node shows them. */
struct need_fit {
    const char *ref;
    int ok;
    char site[17], item[65];
};

static int need_fit_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct need_fit *nf = arg;
    struct rl_rid r;
    struct rl_head h;
    uint64_t o, sq, site;
    const char *item;
    uint32_t il;
    if (rl_resolve_ref(t, nf->ref, &o, &sq, e))
        return 0;
    rl_rid_ref(&r, RL_R_NEED, o, sq);
    if (rl_field_get(t, &r, PROTO_NEED_SITE, &h) || rl_head_uint(&h, &site))
        return 0;
    snprintf(nf->site, sizeof nf->site, "%016llx", (unsigned long long)site);
    if (rl_field_get(t, &r, PROTO_NEED_ITEM, &h) || rl_head_str(&h, &item, &il) || !il || il > 64)
        return 0;
    memcpy(nf->item, item, il);
    nf->item[il] = '\0';
    nf->ok = 1;
    return 0;
}

static void w_stock(struct sim *m, struct view *w, uint32_t kind)
{
    struct rl_stock_req r;
    struct rl_stock_result res;
    char qty[24], lot[16], exp[16], what[300], need_item[65];
    int s = -1, to = -1, it = -1, t = -1, d = -1, nd = -1;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    if (kind == PROTO_KIND_STOCK_ARRIVE || kind == PROTO_KIND_STOCK_VOID) {
        t = kind == PROTO_KIND_STOCK_ARRIVE || chance(&m->r, 30) ? pick(m, &w->vv, E_DISPATCH, -1)
                                                                 : pick(m, &w->vv, E_MOVE, -1);
        if (t < 0)
            return;
        r.target = m->ent[t].ref;
        if (m->o->dodge && kind == PROTO_KIND_STOCK_VOID && m->ent[t].kind == E_DISPATCH)
            return;
        if (kind == PROTO_KIND_STOCK_ARRIVE && chance(&m->r, 40) && !m->o->dodge) {
            snprintf(qty, sizeof qty, "%u", rnd(&m->r, 120));
            r.qty = qty;
        }
        /* a void without a note is refused by the schema ('reason' of 1 byte at least) */
        if (kind == PROTO_KIND_STOCK_VOID)
            r.note = chance(&m->r, 50) ? "entered twice" : "wrong site";
        snprintf(what, sizeof what, "%s %s qty=%s", proto_kind_name(kind), r.target,
                 r.qty ? r.qty : "-");
        stock(m, w->x, &r, &res, what);
        return;
    }
    if ((s = pick(m, &w->vv, E_SITE, -1)) < 0 || (it = pick(m, &w->vv, E_ITEM, -1)) < 0)
        return;
    r.site = m->ent[s].ref;
    r.item = m->ent[it].name;
    if (kind == PROTO_KIND_STOCK_DISPATCH) {
        if ((to = pick(m, &w->vv, E_SITE, s)) < 0 || !strcmp(m->ent[to].ref, r.site))
            return;
        r.to = m->ent[to].ref;
    }
    if (kind == PROTO_KIND_STOCK_ADJUST)
        snprintf(qty, sizeof qty, "%c%u", chance(&m->r, 60) ? '-' : '+', 1 + rnd(&m->r, 30));
    else if (kind == PROTO_KIND_STOCK_COUNT)
        snprintf(qty, sizeof qty, "%u", rnd(&m->r, 300));
    else
        snprintf(qty, sizeof qty, "%u", 1 + rnd(&m->r, 150));
    r.qty = qty;
    if ((kind == PROTO_KIND_STOCK_RECEIVE || kind == PROTO_KIND_STOCK_ADJUST) &&
        chance(&m->r, 50)) {
        snprintf(lot, sizeof lot, "L%u", rnd(&m->r, 5));
        r.lot = lot;
    }
    if (kind == PROTO_KIND_STOCK_RECEIVE) {
        if (chance(&m->r, 30)) {
            snprintf(exp, sizeof exp, "2026-%02u-%02u", 3 + rnd(&m->r, 9), 1 + rnd(&m->r, 28));
            r.expiry = exp;
        }
        if (chance(&m->r, 20))
            r.from_text = "Sendai depot";
        if (chance(&m->r, 30) && (d = pick(m, &w->vv, E_DON, -1)) >= 0)
            r.donation = m->ent[d].ref;
    }
    if ((kind == PROTO_KIND_STOCK_DISPATCH || kind == PROTO_KIND_STOCK_DISTRIBUTE) &&
        chance(&m->r, 30) && (nd = pick(m, &w->vv, E_NEED, -1)) >= 0) {
        /* goods count against a need at its site, of its item (else refused): mostly a
         * movement that fits, now and then one that does not */
        struct need_fit nf = {.ref = m->ent[nd].ref};
        struct proto_err ne;
        if (chance(&m->r, 85) && rl_store_read(&m->node[w->x].s, need_fit_fn, &nf, &ne) == 0 &&
            nf.ok && (kind == PROTO_KIND_STOCK_DISTRIBUTE || strcmp(nf.site, r.site))) {
            snprintf(need_item, sizeof need_item, "%s", nf.item);
            r.item = need_item;
            if (kind == PROTO_KIND_STOCK_DISTRIBUTE)
                r.site = nf.site;
            else
                r.to = nf.site;
        }
        r.need = m->ent[nd].ref;
    }
    if (kind == PROTO_KIND_STOCK_ADJUST) {
        r.reason = rl_reasons[rnd(&m->r, (uint32_t)count_names(rl_reasons))];
        if (chance(&m->r, 30))
            r.note = "wet boxes";
    }
    snprintf(what, sizeof what,
             "%s site=%s(%.8s) to=%s(%.8s) item=%s qty=%s lot=%s expiry=%s donation=%s need=%s",
             proto_kind_name(kind), m->ent[s].name, r.site, to >= 0 ? m->ent[to].name : "-",
             to >= 0 ? r.to : "-", r.item, qty, r.lot ? r.lot : "-", r.expiry ? r.expiry : "-",
             r.donation ? r.donation : "-", r.need ? r.need : "-");
    if (stock(m, w->x, &r, &res, what))
        return;
    ent_add(m,
            kind == PROTO_KIND_STOCK_DISPATCH ? E_DISPATCH
            : kind == PROTO_KIND_STOCK_COUNT  ? E_COUNT
                                              : E_MOVE,
            res.origin, res.seq);
}

static void w_shift(struct sim *m, struct view *w, uint32_t kind)
{
    struct rl_shift_req r;
    struct rl_written out;
    struct proto_err e;
    char meals[16], what[200];
    int k, sh;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    if (kind == PROTO_KIND_SHIFT_CANCEL) {
        if ((k = pick(m, &w->vv, E_SIGNUP, -1)) < 0)
            return;
        sh = m->ent[k].shift;
        r.volunteer = m->ent[k].name;
        if (!seen(&w->vv, &m->ent[sh]))
            return;
    } else {
        if ((sh = pick(m, &w->vv, E_SHIFT, -1)) < 0)
            return;
        r.volunteer = PICK(m, volunteers);
    }
    r.shift = m->ent[sh].ref;
    if (kind == PROTO_KIND_SHIFT_SIGNUP && chance(&m->r, 30))
        r.contact = "090-0000";
    if (kind == PROTO_KIND_SHIFT_SERVED) {
        snprintf(meals, sizeof meals, "%u", 1 + rnd(&m->r, 120));
        r.meals = meals;
        r.volunteer = NULL;
    }
    snprintf(what, sizeof what, "%s %s %s", proto_kind_name(kind), r.shift,
             r.volunteer ? r.volunteer : r.meals);
    struct snode *nd = use(m, w->x);
    proto_err_clear(&e);
    int rc = rl_shift_write(&nd->s, &r, &out, &e);
    if (write_done(m, w->x, rc, &e, what) || kind != PROTO_KIND_SHIFT_SIGNUP)
        return;
    if ((k = ent_add(m, E_SIGNUP, out.origin, out.seq)) >= 0) {
        m->ent[k].shift = sh;
        snprintf(m->ent[k].name, sizeof m->ent[k].name, "%s", r.volunteer);
    }
}

/* One random local write on node x: the catalogue first, then everything else. */
static void local_write(struct sim *m, int x)
{
    struct view w = {x, {0}};
    if (load_vv(m, x, &w.vv))
        return;
    int sites = pick(m, &w.vv, E_SITE, -1) >= 0, its = pick(m, &w.vv, E_ITEM, -1) >= 0;
    unsigned k = rnd(&m->r, 100);
    int t;
    if (!sites || (k < 4))
        w_site_add(m, &w);
    else if (!its || k < 8)
        w_item_add(m, &w);
    else if (k < 20)
        w_stock(m, &w, PROTO_KIND_STOCK_RECEIVE);
    else if (k < 28)
        w_stock(m, &w, PROTO_KIND_STOCK_DISPATCH);
    else if (k < 33)
        w_stock(m, &w, PROTO_KIND_STOCK_ARRIVE);
    else if (k < 39)
        w_stock(m, &w, PROTO_KIND_STOCK_DISTRIBUTE);
    else if (k < 43)
        w_stock(m, &w, PROTO_KIND_STOCK_ADJUST);
    else if (k < 47)
        w_stock(m, &w, PROTO_KIND_STOCK_COUNT);
    else if (k < 51)
        w_stock(m, &w, PROTO_KIND_STOCK_VOID);
    else if (k < 55)
        w_record_add(m, &w, E_NEED);
    else if (k < 59)
        w_record_add(m, &w, E_SHIFT);
    else if (k < 62)
        w_record_add(m, &w, E_DON);
    else if (k < 69)
        w_shift(m, &w, PROTO_KIND_SHIFT_SIGNUP);
    else if (k < 72)
        w_shift(m, &w, PROTO_KIND_SHIFT_CANCEL);
    else if (k < 76)
        w_shift(m, &w, PROTO_KIND_SHIFT_SERVED);
    else {
        /* a change to any record the node has seen */
        static const uint8_t kinds[] = {E_SITE, E_SITE, E_SITE, E_ITEM, E_NEED, E_SHIFT, E_DON};
        if ((t = pick(m, &w.vv, kinds[rnd(&m->r, (uint32_t)NELEM(kinds))], -1)) >= 0)
            w_record_set(m, &w, t, NULL);
    }
    proto_vv_free(&w.vv);
}

/*
 * Concurrent edits: two or three nodes that have seen one record change the same field (or
 * confirm the same transfer) before they hear of each other.
 */
static void conflict(struct sim *m)
{
    static const uint8_t kinds[] = {E_SITE, E_ITEM, E_NEED, E_SHIFT, E_DON, E_DISPATCH};
    static const char *const fields[][3] = {
        {"occupancy", "status", "code"}, {"name", "unit", "archived"},
        {"qty", "priority", "status"},   {"slots", "status", "meals"},
        {"qty", "status", "note"},       {NULL, NULL, NULL}};
    uint32_t kk = rnd(&m->r, (uint32_t)NELEM(kinds));
    uint8_t kind = kinds[kk];
    const char *field = fields[kk][rnd(&m->r, 3)];
    int cand[SIM_SLOTS], nc = 0, target = -1;
    /* the target: one of the kind, seen by the first node that has any */
    for (int i = 0; i < m->n && target < 0; i++) {
        struct view w = {i, {0}};
        if (!m->node[i].live || load_vv(m, i, &w.vv))
            continue;
        target = pick(m, &w.vv, kind, -1);
        proto_vv_free(&w.vv);
    }
    if (target < 0)
        return;
    for (int i = 0; i < m->n; i++) {
        struct view w = {i, {0}};
        if (!m->node[i].live || load_vv(m, i, &w.vv))
            continue;
        if (seen(&w.vv, &m->ent[target]))
            cand[nc++] = i;
        proto_vv_free(&w.vv);
    }
    if (nc < 2)
        return;
    m->st.conflicts++;
    unsigned writers = 2 + rnd(&m->r, 2);
    vlog(m, "conflict on %s %s (%s) by %u nodes", ent_names[kind], m->ent[target].ref,
         field ? field : "arrival", writers);
    for (unsigned i = 0; i < writers && nc > 0 && !m->failed; i++) {
        uint32_t j = rnd(&m->r, (uint32_t)nc);
        struct view w = {cand[j], {0}};
        cand[j] = cand[--nc];
        if (load_vv(m, w.x, &w.vv))
            return;
        if (kind == E_DISPATCH) {
            struct rl_stock_req r = {.kind = PROTO_KIND_STOCK_ARRIVE, .target = m->ent[target].ref};
            struct rl_stock_result res;
            char qty[16], what[80];
            snprintf(qty, sizeof qty, "%u", rnd(&m->r, 100));
            r.qty = m->o->dodge ? NULL : qty;
            snprintf(what, sizeof what, "stock.arrive %s qty=%s", r.target, qty);
            stock(m, w.x, &r, &res, what);
        } else {
            w_record_set(m, &w, target, field);
        }
        proto_vv_free(&w.vv);
    }
}

/* --- messages --- */

static int blocked(const struct sim *m, int x, int y)
{
    return m->part_until && m->node[x].group != m->node[y].group;
}

/* Apply an intact batch to x; returns the ops applied, or -1. */
static int64_t deliver(struct sim *m, int x, const uint8_t *p, size_t n, const char *how)
{
    struct snode *nd = use(m, x);
    struct sync_apply_stats st;
    struct proto_err e;
    memset(&st, 0, sizeof st);
    proto_err_clear(&e);
    int rc = nd->ss.iface.apply(nd->ss.iface.ctx, p, n, &st, &e);
    if (rc) {
        fail(m, "n%d refused an intact batch (%s): %s", x, how, e.msg);
        return -1;
    }
    vlog(m, "  %s to n%d: applied %llu, duplicate %llu, gap %llu, fork %llu, frozen %llu", how, x,
         (unsigned long long)st.applied, (unsigned long long)st.duplicate,
         (unsigned long long)st.gap, (unsigned long long)st.fork, (unsigned long long)st.frozen);
    if (st.fork || st.frozen) {
        fail(m, "n%d saw a fork (%llu forked, %llu frozen ops) in a batch (%s)", x,
             (unsigned long long)st.fork, (unsigned long long)st.frozen, how);
        return -1;
    }
    return (int64_t)st.applied;
}

/* Read one page of what x lacks from y; 0 with nops 0 when there is nothing. */
static int read_page(struct sim *m, int x, int y, uint32_t page, size_t bytes,
                     struct proto_vv *have, struct proto_buf *out, uint32_t *nops)
{
    struct proto_err e;
    int more = 0;
    *nops = 0;
    proto_buf_init(out, PROTO_MAX_BODY_BYTES);
    if (load_vv(m, x, have))
        return -1;
    struct snode *nd = use(m, y);
    proto_err_clear(&e);
    if (nd->ss.iface.read_after(nd->ss.iface.ctx, have, page, bytes, out, &more, nops, &e)) {
        fail(m, "read_after on n%d for n%d: %s", y, x, e.msg);
        return -1;
    }
    return 0;
}

static int live_other(struct sim *m, int not )
{
    int c[SIM_SLOTS], n = 0;
    for (int i = 0; i < m->n; i++)
        if (m->node[i].live && i != not )
            c[n++] = i;
    return n ? c[rnd(&m->r, (uint32_t)n)] : -1;
}

static void message(struct sim *m)
{
    int x = live_other(m, -1), y = live_other(m, x);
    struct proto_vv have, after;
    struct proto_buf b;
    uint32_t nops;
    if (y < 0)
        return;
    if (blocked(m, x, y)) {
        m->st.blocked++;
        vlog(m, "n%d pulls from n%d: partitioned, nothing arrives", x, y);
        return;
    }
    uint32_t page = chance(&m->r, 80) ? 1 + rnd(&m->r, 12) : 1 + rnd(&m->r, 300);
    size_t bytes = chance(&m->r, 85) ? 1u << 20 : 200 + rnd(&m->r, 4000);
    if (read_page(m, x, y, page, bytes, &have, &b, &nops))
        goto out;
    if (!nops) {
        m->st.empty++;
        vlog(m, "n%d pulls from n%d: nothing new", x, y);
        goto out;
    }
    m->st.msgs++;
    unsigned fate = rnd(&m->r, 100);
    vlog(m, "n%d pulls %u ops (%zu bytes, page %u) from n%d", x, nops, b.len, page, y);
    if (fate < 10) {
        m->st.lost++;
        vlog(m, "  lost");
    } else if (fate < 20) {
        m->st.dup++;
        int64_t a;
        if (deliver(m, x, b.data, b.len, "page") >= 0 &&
            (a = deliver(m, x, b.data, b.len, "the same page again")) != 0 && a > 0)
            fail(m, "a page delivered twice applied %lld ops the second time", (long long)a);
    } else if (fate < 35) {
        if (m->nq == m->qcap) {
            int cap = m->qcap ? 2 * m->qcap : 32;
            struct delayed *q = realloc(m->q, (size_t)cap * sizeof *q);
            if (!q) {
                fail(m, "out of memory");
                goto out;
            }
            m->q = q;
            m->qcap = cap;
        }
        struct delayed *d = &m->q[m->nq];
        d->to = x;
        d->due = m->step + 1 + (int)rnd(&m->r, 40);
        d->n = b.len;
        d->p = malloc(b.len);
        if (!d->p) {
            fail(m, "out of memory");
            goto out;
        }
        memcpy(d->p, b.data, b.len);
        m->nq++;
        m->st.delayed++;
        vlog(m, "  delayed until step %d", d->due);
    } else if (fate < 45) {
        size_t cut = rnd(&m->r, (uint32_t)b.len);
        struct sync_apply_stats st;
        struct proto_err e;
        struct snode *nd = use(m, x);
        m->st.cut++;
        proto_err_clear(&e);
        int rc = nd->ss.iface.apply(nd->ss.iface.ctx, b.data, cut, &st, &e);
        vlog(m, "  cut after %zu of %zu bytes: %s", cut, b.len, rc ? e.msg : "accepted");
        if (!rc) {
            fail(m, "n%d accepted a batch cut after %zu of %zu bytes", x, cut, b.len);
            goto out;
        }
        if (load_vv(m, x, &after))
            goto out;
        if (!vv_equal(&have, &after))
            fail(m, "n%d changed its version vector on a refused cut batch", x);
        proto_vv_free(&after);
        if (chance(&m->r, 50))
            deliver(m, x, b.data, b.len, "the page resent whole");
    } else if (fate < 50) {
        int z = live_other(m, x);
        m->st.stray++;
        if (z >= 0 && !blocked(m, z, y))
            deliver(m, z, b.data, b.len, "page gone astray");
    } else {
        deliver(m, x, b.data, b.len, "page");
    }
out:
    proto_vv_free(&have);
    proto_buf_free(&b);
}

/* A USB stick: a bundle of what x lacks (or everything) from y, applied to x; now and then
 * twice, or cut short (refused whole). */
static void bundle(struct sim *m)
{
    int x = live_other(m, -1), y = live_other(m, x);
    char path[SIM_PATH];
    struct proto_vv have, after;
    struct proto_err e;
    struct rl_apply_stats st;
    uint64_t ops = 0;
    if (y < 0 || load_vv(m, x, &have))
        return;
    snprintf(path, sizeof path, "%s/stick.bundle", m->root);
    int all = chance(&m->r, 30);
    proto_err_clear(&e);
    use(m, y);
    if (rl_bundle_create(&m->node[y].s, path, all ? NULL : &have, &ops, &e)) {
        fail(m, "bundle create on n%d: %s", y, e.msg);
        goto out;
    }
    m->st.bundles++;
    unsigned fate = rnd(&m->r, 100);
    vlog(m, "bundle of %llu ops from n%d to n%d (%s)", (unsigned long long)ops, y, x,
         all ? "everything" : "what it lacks");
    if (fate < 15) {
        struct stat sb;
        if (stat(path, &sb) == 0 && sb.st_size > 1) {
            off_t cut = (off_t)rnd(&m->r, (uint32_t)sb.st_size);
            if (truncate(path, cut) == 0) {
                use(m, x);
                int rc = rl_bundle_apply(&m->node[x].s, path, &st, NULL, &e);
                vlog(m, "  cut after %lld bytes: %s", (long long)cut, rc ? e.msg : "accepted");
                if (!rc && cut < sb.st_size)
                    fail(m, "n%d accepted a bundle cut after %lld of %lld bytes", x, (long long)cut,
                         (long long)sb.st_size);
                if (!load_vv(m, x, &after)) {
                    if (!vv_equal(&have, &after))
                        fail(m, "n%d changed its version vector on a refused bundle", x);
                    proto_vv_free(&after);
                }
            }
        }
        goto out;
    }
    for (int k = 0; k < (fate < 35 ? 2 : 1) && !m->failed; k++) {
        use(m, x);
        proto_err_clear(&e);
        if (rl_bundle_apply(&m->node[x].s, path, &st, NULL, &e)) {
            fail(m, "n%d refused an intact bundle: %s", x, e.msg);
            break;
        }
        vlog(m, "  applied %llu, duplicate %llu, gap %llu", (unsigned long long)st.applied,
             (unsigned long long)st.duplicate, (unsigned long long)st.gap);
        if (st.fork || st.frozen)
            fail(m, "n%d saw a fork in a bundle", x);
        if (k == 1 && st.applied)
            fail(m, "a bundle applied twice applied %llu ops the second time",
                 (unsigned long long)st.applied);
    }
out:
    unlink(path);
    proto_vv_free(&have);
}

static void deliver_due(struct sim *m, int all)
{
    for (int i = 0; i < m->nq && !m->failed;) {
        struct delayed d = m->q[i];
        if (!all && d.due > m->step) {
            i++;
            continue;
        }
        m->q[i] = m->q[--m->nq];
        if (all && chance(&m->r, 30))
            vlog(m, "delayed page for n%d never arrives", d.to);
        else if (m->node[d.to].live)
            deliver(m, d.to, d.p, d.n, "delayed page");
        free(d.p);
    }
}

/* --- crashes, backups, restores, clones, partitions, clocks --- */

static int any_live(struct sim *m)
{
    return live_other(m, -1);
}

static void crash(struct sim *m)
{
    int x = any_live(m);
    m->st.crashes++;
    vlog(m, "n%d crashes and restarts", x);
    node_close(m, x);
    node_open(m, x);
}

static void backup(struct sim *m)
{
    int x = any_live(m);
    struct snode *nd = use(m, x);
    struct proto_err e;
    struct proto_vv vv;
    rm_tree(nd->bak);
    proto_err_clear(&e);
    if (rl_store_backup(&nd->s, nd->bak, &e)) {
        fail(m, "backup of n%d: %s", x, e.msg);
        return;
    }
    nd->has_bak = 1;
    m->st.backups++;
    if (!load_vv(m, x, &vv)) {
        vlog(m, "n%d is backed up (%llu ops)", x, (unsigned long long)vv_ops(&vv));
        proto_vv_free(&vv);
    }
}

/*
 * Replace node x's data with the copy in from, in one of two ways people restore a file:
 * over: copy the backup's data.mdb over the live one (cp keeps the live file's inode);
 * else: copy it beside the live file, then move it into place (a new file: a new inode, unless
 * the file system hands out a number freed earlier). new_machine: on another laptop.
 */
static int restore_into(struct sim *m, int x, const char *from, int over, int new_machine)
{
    struct snode *nd = &m->node[x];
    char tmp[SIM_PATH + 8], a[SIM_PATH + 16], b[SIM_PATH + 16];
    int rc;
    if (over) {
        snprintf(a, sizeof a, "%s/data.mdb", from);
        snprintf(b, sizeof b, "%s/data.mdb", nd->dir);
        node_close(m, x);
        if ((rc = copy_file(a, b, 1))) {
            fail(m, "copy %s: %s", a, strerror(-rc));
            return -1;
        }
    } else {
        snprintf(tmp, sizeof tmp, "%s.new", nd->dir);
        rm_tree(tmp);
        if (copy_dir(from, tmp)) {
            fail(m, "copy %s: %s", from, strerror(errno));
            return -1;
        }
        node_close(m, x);
        rm_tree(nd->dir);
        if (rename(tmp, nd->dir)) {
            fail(m, "rename: %s", strerror(errno));
            return -1;
        }
    }
    if (new_machine)
        snprintf(nd->machine, sizeof nd->machine, "sim-laptop-%d-%u", x, ++nd->gen);
    if (node_open(m, x))
        return -1;
    vlog(m, "  n%d's data file is now inode %llu", x, (unsigned long long)nd->s.file_ino);
    return 0;
}

static void restore(struct sim *m)
{
    int c[SIM_SLOTS], n = 0;
    for (int i = 0; i < m->n; i++)
        if (m->node[i].live && m->node[i].has_bak)
            c[n++] = i;
    if (!n)
        return;
    int x = c[rnd(&m->r, (uint32_t)n)], other = chance(&m->r, 50), over = chance(&m->r, 30);
    if (m->o->dodge && !other && (over || m->node[x].restored)) {
        other = 1;
        over = 0;
    }
    m->node[x].restored = 1;
    m->st.restores++;
    vlog(m, "n%d is restored from its backup%s%s", x,
         over ? " copied over its data file" : " copied beside it and moved into place",
         other ? ", on another laptop" : "");
    restore_into(m, x, m->node[x].bak, over, other);
}

/* A disk image of node x cloned onto a new laptop that joins as another node. */
static void clone(struct sim *m)
{
    int c[SIM_SLOTS], n = 0;
    if (m->n >= SIM_SLOTS || m->st.clones >= SIM_MAX_CLONES)
        return;
    for (int i = 0; i < m->n; i++)
        if (m->node[i].live && m->node[i].has_bak)
            c[n++] = i;
    if (!n)
        return;
    int x = c[rnd(&m->r, (uint32_t)n)], j = m->n++;
    node_slot(m, j);
    m->node[j].group = m->node[x].group;
    m->st.clones++;
    vlog(m, "n%d's backup is cloned onto a new laptop: n%d", x, j);
    if (copy_dir(m->node[x].bak, m->node[j].dir)) {
        fail(m, "clone: %s", strerror(errno));
        return;
    }
    node_open(m, j);
}

static void partition(struct sim *m)
{
    unsigned groups = 2 + rnd(&m->r, 2);
    char line[400];
    int k = 0;
    m->part_until = m->step + 10 + (int)rnd(&m->r, 80);
    m->st.partitions++;
    for (int i = 0; i < m->n; i++) {
        m->node[i].group = (int)rnd(&m->r, groups);
        if (k < (int)sizeof line - 16)
            k += snprintf(line + k, sizeof line - (size_t)k, " n%d:%d", i, m->node[i].group);
    }
    vlog(m, "partition until step %d:%s", m->part_until, line);
}

static void clock_jump(struct sim *m)
{
    int x = any_live(m);
    m->node[x].skew_ms = pick_skew(m);
    m->st.jumps++;
    vlog(m, "n%d's clock jumps to skew %+lld ms", x, (long long)m->node[x].skew_ms);
}

/* --- the end: heal and compare --- */

/* Pull everything x lacks from y; the ops applied, or -1. */
static int64_t pull_all(struct sim *m, int x, int y)
{
    int64_t total = 0;
    while (!m->failed) {
        struct proto_vv have;
        struct proto_buf b;
        uint32_t nops = 0;
        int64_t a = 0;
        if (!read_page(m, x, y, 1 + rnd(&m->r, 400), 1u << 20, &have, &b, &nops) && nops) {
            m->st.heal_pulls++;
            vlog(m, "n%d pulls %u ops from n%d", x, nops, y);
            a = deliver(m, x, b.data, b.len, "heal page");
            /* ops offered and none taken: the pair would never agree */
            if (a == 0)
                fail(m, "heal: n%d offers n%d %u ops and none applies", y, x, nops);
        }
        proto_vv_free(&have);
        proto_buf_free(&b);
        if (!nops || a <= 0)
            break;
        total += a;
    }
    return m->failed ? -1 : total;
}

static int digest_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_digest(t, arg, e);
}

static int digest_vv_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_vv_load(t, arg, e);
}

static void hex8(const uint8_t *d, char *out)
{
    rl_hex(d, 8, out);
}

/* --- when digests differ: which databases --- */

struct dbsums {
    uint8_t h[RL_DB_COUNT][16];
};

static int in_scope(int db)
{
    return db == RL_DB_VV || rl_db_in_digest((enum rl_db)db);
}

static int dbsums_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct dbsums *d = arg;
    (void)e;
    for (int db = 0; db < RL_DB_COUNT; db++) {
        crypto_generichash_state st;
        struct rl_cursor c;
        MDB_val k, v;
        int rc;
        memset(d->h[db], 0, sizeof d->h[db]);
        if (!in_scope(db))
            continue;
        crypto_generichash_init(&st, NULL, 0, sizeof d->h[db]);
        if ((rc = rl_cursor_open(t, (enum rl_db)db, &c)))
            return rc;
        for (rc = rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
            uint8_t len[16];
            proto_put_be64(len, k.mv_size);
            proto_put_be64(len + 8, v.mv_size);
            crypto_generichash_update(&st, len, sizeof len);
            crypto_generichash_update(&st, k.mv_data, k.mv_size);
            crypto_generichash_update(&st, v.mv_data, v.mv_size);
        }
        rl_cursor_close(&c);
        if (rc != -ENOENT)
            return rc;
        crypto_generichash_final(&st, d->h[db], sizeof d->h[db]);
    }
    return 0;
}

/* The names of the databases where a and b differ, into out. */
static void dbs_differ(struct rl_store *a, struct rl_store *b, char *out, size_t n)
{
    struct dbsums da, db;
    struct proto_err e;
    size_t k = 0;
    out[0] = '\0';
    if (rl_store_read(a, dbsums_fn, &da, &e) || rl_store_read(b, dbsums_fn, &db, &e)) {
        snprintf(out, n, "?");
        return;
    }
    for (int i = 0; i < RL_DB_COUNT && k + 24 < n; i++)
        if (in_scope(i) && memcmp(da.h[i], db.h[i], sizeof da.h[i]))
            k += (size_t)snprintf(out + k, n - k, "%s%s", k ? "," : "", rl_db_name((enum rl_db)i));
}

static int rebuild_create_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_node_create(t, arg, "rebuild", e);
}

/*
 * Rebuild node k's state from its log into a fresh store (as rl_digest_rebuilt does, but kept
 * open so its databases can be compared); out is closed by the caller.
 */
static int rebuild(struct sim *m, int k, struct rl_store *out)
{
    char dir[SIM_PATH];
    struct proto_err e;
    struct rl_apply_stats st;
    snprintf(dir, sizeof dir, "%s/rebuild", m->root);
    rm_tree(dir);
    proto_err_clear(&e);
    if (rl_store_create(out, dir, NULL, &e))
        return -1;
    if (rl_store_write(out, rebuild_create_fn, m->net, &e)) {
        rl_store_close(out);
        return -1;
    }
    for (;;) {
        struct proto_vv have;
        struct proto_buf b;
        int more = 0, rc;
        uint32_t nops = 0;
        proto_vv_init(&have);
        proto_buf_init(&b, PROTO_MAX_BODY_BYTES);
        struct snode *nd = use(m, k);
        rc = rl_store_read(out, digest_vv_fn, &have, &e) ||
             nd->ss.iface.read_after(nd->ss.iface.ctx, &have, 1000, 1u << 20, &b, &more, &nops,
                                     &e) ||
             (nops && rl_oplog_apply_bytes(out, b.data, b.len, &st, &e));
        proto_vv_free(&have);
        proto_buf_free(&b);
        if (rc || !nops) {
            if (rc)
                rl_store_close(out);
            return rc ? -1 : 0;
        }
    }
}

static uint64_t heal_and_check(struct sim *m)
{
    uint8_t first[RL_DIGEST_BYTES], d[RL_DIGEST_BYTES], rb[RL_DIGEST_BYTES];
    struct proto_err e;
    struct proto_vv vv;
    uint64_t ops = 0;
    int ref = -1;
    m->part_until = 0;
    deliver_due(m, 1);
    vlog(m, "heal: every node pulls from every other until nothing moves");
    for (int round = 0; !m->failed; round++) {
        int64_t moved = 0, a;
        if (round > 20) {
            fail(m, "heal does not end");
            return 0;
        }
        for (int i = 0; i < m->n && !m->failed; i++)
            for (int j = 0; j < m->n && !m->failed; j++)
                if (i != j && m->node[i].live && m->node[j].live && (a = pull_all(m, i, j)) > 0)
                    moved += a;
        vlog(m, "heal round %d: %lld ops moved", round, (long long)moved);
        if (!moved)
            break;
    }
    for (int i = 0; i < m->n && !m->failed; i++) {
        char h[17], h0[17];
        if (!m->node[i].live)
            continue;
        use(m, i);
        proto_err_clear(&e);
        if (rl_store_read(&m->node[i].s, digest_fn, ref < 0 ? first : d, &e)) {
            fail(m, "digest of n%d: %s", i, e.msg);
            return ops;
        }
        if (ref < 0) {
            ref = i;
            if (!load_vv(m, ref, &vv)) {
                ops = vv_ops(&vv);
                proto_vv_free(&vv);
            }
            hex8(first, h0);
            vlog(m, "n%d digest %s", i, h0);
            continue;
        }
        hex8(d, h);
        hex8(first, h0);
        vlog(m, "n%d digest %s", i, h);
        if (memcmp(d, first, RL_DIGEST_BYTES)) {
            char dbs[400];
            dbs_differ(&m->node[i].s, &m->node[ref].s, dbs, sizeof dbs);
            fail(m, "after healing n%d's digest %s differs from n%d's %s (in %s)", i, h, ref, h0,
                 dbs);
        }
    }
    if (m->failed || ref < 0)
        return ops;
    int k = live_other(m, -1);
    use(m, k);
    proto_err_clear(&e);
    if (rl_digest_rebuilt(&m->node[k].s, rb, &e)) {
        fail(m, "rebuilt digest of n%d: %s", k, e.msg);
        return ops;
    }
    if (memcmp(rb, first, RL_DIGEST_BYTES)) {
        char h[17], h0[17], dbs[400] = "?";
        struct rl_store rs;
        hex8(rb, h);
        hex8(first, h0);
        if (rebuild(m, k, &rs) == 0) {
            dbs_differ(&m->node[k].s, &rs, dbs, sizeof dbs);
            rl_store_close(&rs);
        }
        fail(m, "n%d's state rebuilt from its log has digest %s, not %s (in %s)", k, h, h0, dbs);
    }
    return ops;
}

/* --- one seed --- */

static int run_seed(uint64_t seed, const struct opts *o)
{
    struct sim *m = calloc(1, sizeof *m);
    const char *tmp = getenv("TMPDIR");
    uint64_t ops = 0;
    int rc;
    if (!m) {
        fprintf(stderr, "sim: out of memory\n");
        return 2;
    }
    m->seed = seed;
    m->o = o;
    rng_seed(&m->r, seed, 0x2011);
    rng_seed(&g_bytes, seed, 0x0311);
    m->now_ms = SIM_EPOCH_MS + (uint64_t)rnd(&m->r, 86400) * 1000;
    snprintf(m->root, sizeof m->root, "%s/relief-sim-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(m->root)) {
        fprintf(stderr, "sim: mkdtemp %s: %s\n", m->root, strerror(errno));
        free(m);
        return 2;
    }
    randombytes_buf(m->net, sizeof m->net);
    int nodes = o->min_nodes + (int)rnd(&m->r, (uint32_t)(o->max_nodes - o->min_nodes + 1));
    int steps = 120 + 20 * (nodes < 10 ? nodes : 10) + (int)rnd(&m->r, 120);
    if (o->verbose)
        printf("seed %llu: %d nodes, %d steps\n", (unsigned long long)seed, nodes, steps);
    for (int i = 0; i < nodes && !m->failed; i++)
        node_make(m, i);
    m->n = nodes;
    for (m->step = 1; m->step <= steps && !m->failed; m->step++) {
        m->now_ms += 1 + rnd(&m->r, 2000);
        if (chance(&m->r, 3))
            m->now_ms += rnd(&m->r, 3600000); /* a quiet hour */
        if (m->part_until && m->step >= m->part_until) {
            m->part_until = 0;
            vlog(m, "the partition ends");
        }
        deliver_due(m, 0);
        if (m->failed)
            break;
        unsigned k = rnd(&m->r, 1000);
        if (k < 560)
            local_write(m, any_live(m));
        else if (k < 600)
            conflict(m);
        else if (k < 860)
            message(m);
        else if (k < 885)
            bundle(m);
        else if (k < 905) {
            if (!m->part_until)
                partition(m);
        } else if (k < 925)
            crash(m);
        else if (k < 945)
            backup(m);
        else if (k < 962)
            restore(m);
        else if (k < 967)
            clone(m);
        else if (k < 980)
            clock_jump(m);
        else
            local_write(m, any_live(m));
    }
    if (!m->failed)
        ops = heal_and_check(m);
    int live = 0;
    for (int i = 0; i < m->n; i++) {
        live += m->node[i].live;
        node_close(m, i);
    }
    for (int i = 0; i < m->nq; i++)
        free(m->q[i].p);
    if (m->failed) {
        printf("seed %llu: %d nodes, %llu ops, %u messages, FAIL: %s\n", (unsigned long long)seed,
               live, (unsigned long long)ops, m->st.msgs, m->why);
        if (o->min_nodes == o->max_nodes)
            printf("  replay: sim --seed %llu --nodes %d%s --verbose\n", (unsigned long long)seed,
                   o->max_nodes, o->dodge ? " --dodge-known" : "");
        else
            printf("  replay: sim --seed %llu --max-nodes %d%s --verbose\n",
                   (unsigned long long)seed, o->max_nodes, o->dodge ? " --dodge-known" : "");
        if (o->keep)
            printf("  kept: %s\n", m->root);
    } else if (!o->quiet) {
        printf("seed %llu: %d nodes, %llu ops, %u messages, ok\n", (unsigned long long)seed, live,
               (unsigned long long)ops, m->st.msgs);
    }
    if (o->verbose)
        printf("  %u writes (%u refused), %u conflicts; messages: %u delivered or not, %u empty, "
               "%u lost, %u twice, %u delayed, %u cut, %u astray, %u blocked; %u bundles; "
               "%u partitions, %u crashes, %u backups, %u restores, %u clones, %u clock jumps; "
               "%u heal pages\n",
               m->st.writes, m->st.refused, m->st.conflicts, m->st.msgs, m->st.empty, m->st.lost,
               m->st.dup, m->st.delayed, m->st.cut, m->st.stray, m->st.blocked, m->st.bundles,
               m->st.partitions, m->st.crashes, m->st.backups, m->st.restores, m->st.clones,
               m->st.jumps, m->st.heal_pulls);
    fflush(stdout);
    if (!(m->failed && o->keep))
        rm_tree(m->root);
    rc = m->failed;
    free(m->q);
    free(m->ent);
    free(m);
    return rc;
}

/* --- main --- */

static const char usage[] =
    "usage: sim [--seeds A..B | --seed S | --seconds T [--from S]]\n"
    "           [--max-nodes K | --nodes N] [--verbose] [--quiet] [--keep] [--dodge-known]\n"
    "  --seeds A..B   run seeds A to B\n"
    "  --seed S       run one seed (with --verbose: every step)\n"
    "  --seconds T    run seeds from --from (default 1) until T seconds have passed\n"
    "  --max-nodes K  3..K nodes per seed (default 8, at most 50)\n"
    "  --nodes N      exactly N nodes per seed\n"
    "  --quiet        print failures and the summary only\n"
    "  --keep         keep a failing seed's directory\n"
    "  --dodge-known  steer clear of the known bugs, to look for others: no void of a\n"
    "                 transfer and every arrival of the quantity dispatched (lotbal keeps\n"
    "                 the zero entries of arrivals that were superseded or voided); restores\n"
    "                 on the same laptop only once per node and never by copying over the\n"
    "                 data file (the restored file has the inode the backup recorded, so\n"
    "                 the node keeps its old id and forks)\n";

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || *s == '-')
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    struct opts o = {3, 8, 0, 0, 0, 0};
    uint64_t from = 1, to = 1, v;
    double seconds = 0;
    int have_range = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--verbose"))
            o.verbose = 1;
        else if (!strcmp(a, "--quiet"))
            o.quiet = 1;
        else if (!strcmp(a, "--keep"))
            o.keep = 1;
        else if (!strcmp(a, "--dodge-known"))
            o.dodge = 1;
        else if (val && !strcmp(a, "--seed") && !parse_u64(val, &from)) {
            to = from;
            have_range = 1;
            i++;
        } else if (val && !strcmp(a, "--from") && !parse_u64(val, &from)) {
            i++;
        } else if (val && !strcmp(a, "--seeds")) {
            char buf[64];
            char *dots;
            snprintf(buf, sizeof buf, "%s", val);
            if (!(dots = strstr(buf, "..")))
                goto bad;
            *dots = '\0';
            if (parse_u64(buf, &from) || parse_u64(dots + 2, &to) || to < from)
                goto bad;
            have_range = 1;
            i++;
        } else if (val && !strcmp(a, "--seconds") && !parse_u64(val, &v) && v > 0) {
            seconds = (double)v;
            i++;
        } else if (val && !strcmp(a, "--max-nodes") && !parse_u64(val, &v) && v >= 3 &&
                   v <= SIM_MAX_NODES) {
            o.max_nodes = (int)v;
            i++;
        } else if (val && !strcmp(a, "--nodes") && !parse_u64(val, &v) && v >= 2 &&
                   v <= SIM_MAX_NODES) {
            o.min_nodes = o.max_nodes = (int)v;
            i++;
        } else {
            goto bad;
        }
    }
    if (o.min_nodes > o.max_nodes)
        goto bad;
    if (!have_range && seconds <= 0)
        goto bad;

    /* ids from the seed: libsodium's random source must be set before sodium_init */
    if (randombytes_set_implementation(&sim_rb) || sodium_init() < 0 ||
        strcmp(randombytes_implementation_name(), "relief-sim")) {
        fprintf(stderr, "sim: cannot seed libsodium's random bytes\n");
        return 2;
    }
    /* check that the HLC reads the simulated clock */
    g_clock_sim = 1;
    g_clock_ms = SIM_EPOCH_MS + 12345;
    if (rl_now_ms() != SIM_EPOCH_MS + 12345) {
        g_clock_sim = 0;
        fprintf(stderr, "sim: clock_gettime is not interposed here: real clocks, no skew\n");
    }
    setenv("TZ", "UTC", 1);
    tzset();

    double t0 = real_seconds();
    uint64_t runs = 0, failures = 0, first_fail = 0;
    for (uint64_t s = from;; s++) {
        if (have_range && s > to)
            break;
        if (!have_range && real_seconds() - t0 >= seconds)
            break;
        int rc = run_seed(s, &o);
        if (rc == 2)
            return 2;
        runs++;
        if (rc && !failures++)
            first_fail = s;
        if (s == UINT64_MAX)
            break;
    }
    double dt = real_seconds() - t0;
    if (runs > 1 || o.quiet) {
        printf("%llu seeds (%llu..%llu) in %.1f s, %.1f seeds/s: %llu failed",
               (unsigned long long)runs, (unsigned long long)from,
               (unsigned long long)(from + runs - 1), dt, dt > 0 ? (double)runs / dt : 0.0,
               (unsigned long long)failures);
        if (failures)
            printf(", the first is seed %llu", (unsigned long long)first_fail);
        putchar('\n');
    }
    return failures ? 1 : 0;
bad:
    fputs(usage, stderr);
    return 2;
}
