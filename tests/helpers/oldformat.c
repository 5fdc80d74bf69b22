/*
 * Test helper: makes a data directory look like one written in an older data format, so that
 * the upgrade (views.h: rl_views_upgrade) can be tested from the command line.
 *   oldformat DIR [1|2|...|12]   (default 1)
 * Formats 10-12 kept a movement's seq in 8 bytes in the shelf index, where format 13 keeps it in
 * 6: the helper writes every value origin(8) seq(8) ih(2) again.
 * Formats 5-9 kept the item's whole 32-bit hash in the shelf index, where format 10 keeps it
 * folded to 16 bits: the helper reads each movement's item from its op and writes the values
 * of the format asked for (format 5: the hash first; 6-9: last).
 * Formats 2-8 kept an index of each lot's movements in lotmv, where format 9 keeps it empty:
 * the helper puts an entry there (the upgrade must take it out).
 * Formats 4-7 kept each op of a block as it is (flags 0), where format 8 may keep one as a
 * delta from the op before it (flags 1): the helper writes every block again with flags 0.
 * Formats 1-11 kept every quantity of a balance as 8 bytes, where format 12 keeps it in as few
 * as it needs; formats 1-6 kept each lot's quantity in lotbal, site(8) s(item) s(lot) -> qty(8),
 * formats 7-10 every lot in the shelf's balance value after its quantity, where format 11 keeps
 * them in the value while they are few: the helper writes every balance as the format asked for
 * had it.
 * Formats 2-4 kept the shelf index by shelf, site(8) s(item) -> origin(8) seq(8): the helper reads
 * each movement's item back from its op. Format 3 also stored each op as its payload under
 * origin(8) seq(8), one entry each, where format 4 keeps blocks of them: the helper takes every op
 * out of its block. Format 2 also stored each op as hash(16) payload and had no chain table: the
 * helper computes every op's chain hash and puts it back in front of the payload. Format 1 also had
 * the databases siteitem, lotuse and donrec where format 2 has shelfmv, lotmv and donmv, and kept a
 * copy of every movement in ledger: the helper drops the new ones, writes the old ones (with an
 * entry each) and fills ledger and every other view with something that is not the state, so that
 * only a rebuild from the op log gives the right state back.
 */
#include "relief/ledger.h"
#include "relief/oplog.h"
#include "relief/store.h"

#include "proto/op.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the shelf index by shelf (formats 2-4), each movement's item read from its op */
static int shelves_back(struct rl_txn *t)
{
    static struct rl_mv mv;
    struct rl_cursor c;
    MDB_val k, v;
    size_t n = 0, cap = 0;
    struct pair {
        uint8_t key[8 + 1 + 255];
        size_t kn;
        uint8_t val[16];
    } *all = NULL;
    int rc = rl_cursor_open(t, RL_DB_SHELFMV, &c);
    for (rc = rc ? rc : rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        if (k.mv_size != 8 || v.mv_size != RL_SHELFMV_VAL)
            return PROTO_ECORRUPT;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            struct pair *na = realloc(all, cap * sizeof *all);
            if (!na)
                return -ENOMEM;
            all = na;
        }
        uint64_t o, s;
        rl_shelfmv_ref(v.mv_data, &o, &s);
        int grc = rl_ledger_get(t, o, s, &mv);
        if (grc)
            return grc;
        memcpy(all[n].key, k.mv_data, 8);
        all[n].key[8] = (uint8_t)mv.item_len;
        memcpy(all[n].key + 9, mv.item, mv.item_len);
        all[n].kn = 9 + mv.item_len;
        proto_put_be64(all[n].val, o);
        proto_put_be64(all[n].val + 8, s);
        n++;
    }
    rl_cursor_close(&c);
    if (rc != -ENOENT || (rc = rl_clear(t, RL_DB_SHELFMV)))
        return rc ? rc : -EIO;
    for (size_t i = 0; i < n && !rc; i++)
        rc = rl_put(t, RL_DB_SHELFMV, all[i].key, all[i].kn, all[i].val, 16);
    free(all);
    return rc;
}

/*
 * Every quantity of a balance as 8 bytes, where format 12 has q(qty) (ledger.h); every lot of
 * every shelf apart from its balance, in lotbal (formats 1-6), or in its balance value however
 * many (formats 7-10), or (format 11) in the value while they come to at most RL_LOTS_INLINE
 * bytes there and in lotbal past that, the value being qty(8) RL_LOTS_SPILLED size(4).
 */
struct shelf_lots {
    uint8_t key[8 + 1 + 255];
    int64_t qty;
    size_t kn;
    uint8_t *lots; /* s(lot) qty(8) each */
    size_t n;
};

static int lot_collect(void *arg, const char *lot, size_t ln, int64_t qty)
{
    struct shelf_lots *sl = arg;
    uint8_t *nl = realloc(sl->lots, sl->n + 1 + ln + 8);
    if (!nl)
        return -ENOMEM;
    sl->lots = nl;
    nl[sl->n] = (uint8_t)ln;
    memcpy(nl + sl->n + 1, lot, ln);
    proto_put_be64(nl + sl->n + 1 + ln, (uint64_t)qty);
    sl->n += 1 + ln + 8;
    return 0;
}

static int lots_move(struct rl_txn *t, int format)
{
    struct rl_cursor c;
    MDB_val k, v;
    size_t n = 0, cap = 0;
    struct shelf_lots *all = NULL;
    int rc = rl_cursor_open(t, RL_DB_BALANCE, &c);
    for (rc = rc ? rc : rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        if (k.mv_size > sizeof all->key)
            return PROTO_ECORRUPT;
        if (n == cap) {
            cap = cap ? 2 * cap : 256;
            struct shelf_lots *na = realloc(all, cap * sizeof *all);
            if (!na)
                return -ENOMEM;
            all = na;
        }
        struct shelf_lots *sl = &all[n++];
        memset(sl, 0, sizeof *sl);
        memcpy(sl->key, k.mv_data, k.mv_size);
        sl->kn = k.mv_size;
        if (!rl_balance_qty(v.mv_data, v.mv_size, &sl->qty))
            return PROTO_ECORRUPT;
        if ((rc = rl_balance_lots(t, k.mv_data, k.mv_size, v.mv_data, v.mv_size, lot_collect, sl)))
            return rc;
    }
    rl_cursor_close(&c);
    if (rc != -ENOENT || (rc = rl_clear(t, RL_DB_LOTBAL)))
        return rc ? rc : -EIO;
    for (size_t i = 0; i < n && !rc; i++) {
        struct shelf_lots *sl = &all[i];
        uint8_t key[8 + 1 + 255 + 1 + 64], *val = malloc(13 + sl->n);
        int apart = format < 7 || (format == 11 && sl->n > RL_LOTS_INLINE);
        if (!val)
            return -ENOMEM;
        proto_put_be64(val, (uint64_t)sl->qty);
        size_t vn = 8;
        if (!apart && sl->n) {
            memcpy(val + 8, sl->lots, sl->n);
            vn += sl->n;
        } else if (format == 11) {
            uint8_t sz[5] = {RL_LOTS_SPILLED, (uint8_t)(sl->n >> 24), (uint8_t)(sl->n >> 16),
                             (uint8_t)(sl->n >> 8), (uint8_t)sl->n};
            memcpy(val + 8, sz, 5);
            vn += 5;
        }
        rc = rl_put(t, RL_DB_BALANCE, sl->key, sl->kn, val, vn);
        for (size_t j = 0; apart && !rc && j < sl->n; j += 1 + sl->lots[j] + 8) {
            memcpy(key, sl->key, sl->kn);
            memcpy(key + sl->kn, sl->lots + j, 1 + sl->lots[j]);
            rc = rl_put(t, RL_DB_LOTBAL, key, sl->kn + 1 + sl->lots[j],
                        sl->lots + j + 1 + sl->lots[j], 8);
        }
        free(val);
        free(sl->lots);
    }
    free(all);
    return rc;
}

/*
 * The shelf index with each value (origin o, seq s, the item's hash h) written as format has it:
 * the whole 32-bit hash first (5: h(4) origin(8) seq(8)) or last (6-9: origin(8) seq(8) h(4)),
 * or folded (10-12: origin(8) seq(8) ih(2)). Its size.
 */
static size_t old_shelf_value(uint8_t *out, int format, uint64_t o, uint64_t s, uint32_t h,
                              const uint8_t ih[2])
{
    uint8_t hb[4] = {(uint8_t)(h >> 24), (uint8_t)(h >> 16), (uint8_t)(h >> 8), (uint8_t)h};
    proto_put_be64(out + (format == 5 ? 4 : 0), o);
    proto_put_be64(out + (format == 5 ? 12 : 8), s);
    if (format >= 10) {
        memcpy(out + 16, ih, 2);
        return 18;
    }
    memcpy(out + (format == 5 ? 0 : 16), hb, 4);
    return 20;
}

/* the shelf index as formats 5-12 had it (old_shelf_value), the items read from their ops */
static int wide_values(struct rl_txn *t, int format)
{
    static struct rl_mv mv;
    struct rl_cursor c;
    MDB_val k, v;
    size_t n = 0, cap = 0, vn = 0;
    uint8_t(*all)[8 + 20] = NULL;
    int rc = rl_cursor_open(t, RL_DB_SHELFMV, &c);
    for (rc = rc ? rc : rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        if (k.mv_size != 8 || v.mv_size != RL_SHELFMV_VAL)
            return PROTO_ECORRUPT;
        if (n == cap) {
            cap = cap ? 2 * cap : 1024;
            void *na = realloc(all, cap * sizeof *all);
            if (!na)
                return -ENOMEM;
            all = na;
        }
        uint64_t o, s;
        uint32_t h = 0;
        rl_shelfmv_ref(v.mv_data, &o, &s);
        if (format < 10) {
            int grc = rl_ledger_get(t, o, s, &mv);
            if (grc)
                return grc;
            h = rl_item_hash(mv.item, mv.item_len);
        }
        memcpy(all[n], k.mv_data, 8);
        vn = old_shelf_value(all[n] + 8, format, o, s, h,
                             (const uint8_t *)v.mv_data + RL_SHELFMV_IH);
        n++;
    }
    rl_cursor_close(&c);
    if (rc != -ENOENT || (rc = rl_clear(t, RL_DB_SHELFMV)))
        return rc ? rc : -EIO;
    for (size_t i = 0; i < n && !rc; i++)
        rc = rl_put(t, RL_DB_SHELFMV, all[i], 8, all[i] + 8, vn);
    free(all);
    return rc;
}

/*
 * The op log written again from its ops: every block with its ops as they are, flags 0 (formats
 * 4-7, the same ops in each block), or, flat, every op in an entry of its own as its payload
 * (format 3).
 */
static int ops_rewrite(struct rl_txn *t, int flat)
{
    struct rl_opiter it;
    struct rl_opval op;
    size_t n = 0, cap = 0;
    struct entry {
        uint8_t key[16];
        uint8_t *p;
        size_t n;
    } *all = NULL;
    int rc = rl_opiter_open(t, &it);
    for (rc = rc ? rc : rl_opiter_first(&it, &op); rc == 0; rc = rl_opiter_next(&it, &op)) {
        if (flat || op.seq == it.first) { /* an entry starts */
            if (n == cap) {
                cap = cap ? 2 * cap : 1024;
                struct entry *na = realloc(all, cap * sizeof *all);
                if (!na)
                    return -ENOMEM;
                all = na;
            }
            proto_put_be64(all[n].key, op.origin);
            proto_put_be64(all[n].key + 8, op.seq);
            if (!(all[n].p = malloc(1)))
                return -ENOMEM;
            all[n].p[0] = 0; /* a block's flags */
            all[n++].n = flat ? 0 : 1;
        }
        struct entry *b = &all[n - 1];
        uint8_t *np = realloc(b->p, b->n + 10 + op.n);
        if (!np)
            return -ENOMEM;
        b->p = np;
        for (size_t len = op.n; !flat; len >>= 7) { /* the op's length, LEB128 */
            b->p[b->n++] = (uint8_t)(len < 0x80 ? len : (len & 0x7f) | 0x80);
            if (len < 0x80)
                break;
        }
        memcpy(b->p + b->n, op.p, op.n);
        b->n += op.n;
    }
    rl_opiter_close(&it);
    if (rc != -ENOENT || (rc = rl_clear(t, RL_DB_OPS)))
        return rc ? rc : -EIO;
    for (size_t i = 0; i < n; i++) {
        if (!rc)
            rc = rl_put(t, RL_DB_OPS, all[i].key, 16, all[i].p, all[i].n);
        free(all[i].p);
    }
    free(all);
    return rc;
}

/* every op as hash(16) payload, its hash computed along its origin's chain */
static int hashes_back(struct rl_txn *t)
{
    struct rl_cursor c;
    MDB_val k, v;
    uint8_t prev[PROTO_HASH_BYTES] = {0}, key[16], buf[PROTO_HASH_BYTES + PROTO_MAX_OP_BYTES];
    uint64_t origin = 0, seq = 0;
    int rc = rl_cursor_open(t, RL_DB_OPS, &c);
    for (rc = rc ? rc : rl_cursor_first(&c, &k, &v); rc == 0; rc = rl_cursor_next(&c, &k, &v)) {
        memcpy(key, k.mv_data, 16);
        uint64_t o = proto_get_be64(key), s = proto_get_be64(key + 8);
        if (o != origin || s != seq + 1) {
            if (s != 1) {
                fprintf(stderr, "oldformat: a chain that does not start at 1\n");
                return -1;
            }
            memset(prev, 0, sizeof prev);
        }
        origin = o;
        seq = s;
        proto_op_hash(o, s, prev, v.mv_data, v.mv_size, prev);
        memcpy(buf, prev, PROTO_HASH_BYTES);
        memcpy(buf + PROTO_HASH_BYTES, v.mv_data, v.mv_size);
        MDB_val kk = {16, key};
        if ((rc = rl_cursor_replace(&c, &kk, buf, PROTO_HASH_BYTES + v.mv_size)))
            return rc;
    }
    rl_cursor_close(&c);
    return rc == -ENOENT ? rl_drop_named(t, "chain") : rc;
}

static int old_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    static const char *const olds[] = {"siteitem", "lotuse", "donrec"};
    static const char *const news[] = {"shelfmv", "lotmv", "donmv"};
    int format = *(int *)arg;
    uint8_t fmt[4] = {0, 0, 0, (uint8_t)format};
    (void)e;
    int rc = format < 8 && format >= 4 ? ops_rewrite(t, 0) : 0;
    if (!rc && format >= 2 && format < 9)
        rc = rl_put(t, RL_DB_LOTMV, "\x04item\x03lot", 9, "an old lot index", 16);
    if (!rc && format < 12)
        rc = lots_move(t, format);
    if (!rc && format < 13)
        rc = format >= 5 ? wide_values(t, format) : shelves_back(t);
    if (rc || (format < 4 && (rc = ops_rewrite(t, 1))) || (format < 3 && (rc = hashes_back(t))))
        return rc;
    for (int i = 0; format == 1 && i < 3; i++) {
        MDB_dbi dbi;
        MDB_val k = {8, "oldentry"}, v = {0, ""};
        if ((rc = rl_drop_named(t, news[i])))
            return rc;
        if ((rc = mdb_dbi_open(t->txn, olds[i], MDB_CREATE, &dbi)) ||
            (rc = mdb_put(t->txn, dbi, &k, &v, 0)))
            return rl_mdb_err(rc);
    }
    for (int db = 0; format == 1 && db < RL_DB_COUNT; db++) {
        if (!rl_db_in_digest(db) || db == RL_DB_FORKS || db == RL_DB_SHELFMV ||
            db == RL_DB_LOTMV || db == RL_DB_DONMV)
            continue;
        if ((rc = rl_put(t, db, "not-the-state", 13, "x", 1)))
            return rc;
    }
    return rl_put(t, RL_DB_META, "format", 6, fmt, 4);
}

int main(int argc, char **argv)
{
    struct rl_store s;
    struct proto_err e;
    int format = argc == 3 ? atoi(argv[2]) : 1;
    if (argc < 2 || argc > 3 || format < 1 || format > 12) {
        fprintf(stderr, "usage: oldformat DIR [1|2|...|12]\n");
        return 2;
    }
    proto_err_clear(&e);
    if (rl_store_open(&s, argv[1], NULL, &e) || rl_store_write(&s, old_fn, &format, &e)) {
        fprintf(stderr, "oldformat: %s\n", e.msg[0] ? proto_err_text(&e) : "cannot rewrite");
        return 1;
    }
    rl_store_close(&s);
    return 0;
}
