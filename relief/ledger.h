/*
 * The stock ledger: movements (receive, dispatch, arrive, distribute, adjust, count, void) and
 * the balances that follow from them, per site and item and per lot.
 *
 * Balances are sums of contributions. Each movement's contribution is a function of the merged
 * state alone -- 0 once voided, 0 when the winning count of its shelf already covers it, for a
 * dispatch's destination the transfer's arrived quantity -- and the ledger keeps the value it
 * applied, so whenever a void, an arrival or a count arrives, in whatever order, the movements
 * it touches are recomputed and the difference applied. The result is the same on every node
 * that holds the same ops.
 */
#ifndef RL_LEDGER_H
#define RL_LEDGER_H

#include "proto/kinds.h"
#include "proto/limits.h"
#include "records.h"

/* Enter a movement op (stock.receive, dispatch, distribute, adjust) with its parsed body. */
int rl_ledger_movement(struct rl_txn *t, const struct rl_opinfo *op, uint32_t kind,
                       const struct proto_body *b);

/* stock.arrive: an edit of the transfer's arrived quantity. */
int rl_ledger_arrive(struct rl_txn *t, const struct rl_opinfo *op, const struct proto_body *b);

/* stock.void of a movement (which may not have arrived yet). */
int rl_ledger_void(struct rl_txn *t, const struct rl_opinfo *op, const struct proto_body *b);

/* stock.count: the shelf's quantity against a version vector. */
int rl_ledger_count(struct rl_txn *t, const struct rl_opinfo *op, const struct proto_body *b);

/* Balance of a shelf (0 with -ENOENT when nothing ever touched it). */
int rl_ledger_balance(struct rl_txn *t, uint64_t site, const char *item, size_t item_len,
                      int64_t *qty);

/*
 * A shelf's entry in RL_DB_BALANCE, key site(8) s(item): its quantity, q(qty), then each of its
 * lots whose quantity is not 0, in the order of s(lot): s(lot) q(qty) (the unnamed lot "" holds
 * what no named lot covers), while those come to at most RL_LOTS_INLINE bytes; past that,
 * RL_LOTS_SPILLED and those bytes (4, big-endian), the lots being in RL_DB_LOTBAL under the
 * shelf's key ‖ s(lot) -> q(qty) (a shelf with many open lots -- every donation received
 * without a lot number has one -- would otherwise rewrite them all with each movement). q(x) is
 * a signed quantity zigzag-encoded then LEB128 (1 byte for -64..63, 2 up to ±8191).
 * rl_balance_lots calls fn for each lot of the entry (key, value v of n bytes) in that order
 * and stops the walk when fn returns non-zero, which is returned; PROTO_ECORRUPT when the value
 * does not parse. rl_balance_qty reads the quantity: its bytes, or 0 when it does not parse.
 */
#define RL_LOTS_INLINE 512u
#define RL_LOTS_SPILLED 0xffu
int rl_balance_lots(struct rl_txn *t, const void *key, size_t kn, const void *v, size_t n,
                    int (*fn)(void *arg, const char *lot, size_t ln, int64_t qty), void *arg);
size_t rl_balance_qty(const void *v, size_t n, int64_t *qty);

/*
 * The lots a shelf holds (its balance entry: key, value v of n bytes), in the order stock
 * leaves it -- earliest expiry first, named lots without an expiry next, the unnamed lot last --
 * each with its expiry (0: none) and what it still holds: when the lots add up to more than
 * the shelf's balance (a loss adjusted or a count lower than the records, naming no lot), the
 * difference is taken from the first ones, as if it had left like stock does. Lots holding
 * nothing are left out. fn returns non-zero to stop (returned).
 */
int rl_shelf_lots_held(struct rl_txn *t, const void *key, size_t kn, const void *v, size_t n,
                       int (*fn)(void *arg, const char *lot, size_t ln, uint32_t expiry,
                                 int64_t qty),
                       void *arg);
/*
 * What a count of qty on a shelf finds short of the records, lot by lot, as stock leaves: from
 * the lots the movements alone give the shelf (the winning count's shortfall taken back),
 * earliest expiry first; fn gets each named lot short and how many (non-zero stops). A count
 * records them (stock.count's lots), and the winning count's are taken from the shelf's lots.
 */
int rl_ledger_count_short(struct rl_txn *t, uint64_t site, const char *item, size_t il, int64_t qty,
                          int (*fn)(void *arg, const char *lot, size_t ln, int64_t q), void *arg);
/* The hlc of a shelf's winning count (0: none): a count made after seeing it is stamped later,
 * so that it wins even when that one came from a clock running ahead. */
int rl_ledger_count_hlc(struct rl_txn *t, uint64_t site, const char *item, size_t il,
                        uint64_t *hlc);
/* A lot's expiry (the earliest any receipt gave it), 0 when none. */
uint32_t rl_lot_expiry(struct rl_txn *t, const char *item, size_t il, const char *lot, size_t ln);
/* Write q(qty) at p (at most 10 bytes): its bytes. */
size_t rl_qty_put(uint8_t *p, int64_t qty);

/*
 * Balances of many shelves at once, for reports: qty of each is set (0 for a shelf nothing
 * touched). Reading them in key order in one pass reads each page of balances once.
 */
struct rl_shelf_q {
    uint64_t site;
    const char *item;
    size_t item_len;
    int64_t qty;
};
int rl_ledger_balances(struct rl_txn *t, struct rl_shelf_q *q, size_t n);

/* A movement as the ledger keeps it. */
struct rl_mv {
    uint32_t kind;
    uint64_t origin, seq, hlc;
    uint64_t site, to;
    char item[65];
    uint32_t item_len;
    int64_t qty;
    char lot[65];
    uint32_t lot_len;
    uint32_t expiry;
    uint64_t need_o, need_s, don_o, don_s;
    char author[PROTO_MAX_AUTHOR_BYTES + 1];
    /* what the ledger applied */
    int64_t a_src, a_dst, a_lots_dst, a_need;
    uint8_t a_lots_src;
    uint32_t lots_len;
    /* last, so that clearing everything before it is cheap */
    uint8_t lots[20480]; /* msgpack array of [lot, qty] drawn at write time */
};

/* Load a movement (read from its op, with what it applied): 0, or -ENOENT when the op is
 * missing or is no movement. */
int rl_ledger_get(struct rl_txn *t, uint64_t origin, uint64_t seq, struct rl_mv *mv);

/*
 * The shelf index (RL_DB_SHELFMV): under each site, a value per movement touching one of its
 * shelves, origin(8) seq(6) ih(2), big-endian, ih the item code's 32-bit FNV-1a hash folded to
 * 16 bits (high half xor low half); a seq takes 6 bytes (an origin's seqs run from 1 without a
 * gap: 2^48 is out of reach). In the order of the op ids, so that a node's own movements are
 * appended (full pages); one shelf's movements are those of its site with the item's hash (and
 * those of any item hashing alike, which readers skip). rl_shelfmv_ref reads a value's op id.
 */
#define RL_SHELFMV_VAL 16
#define RL_SHELFMV_IH 14 /* where ih starts */
uint32_t rl_item_hash(const char *item, size_t n);
void rl_shelfmv_val(uint8_t v[RL_SHELFMV_VAL], const char *item, size_t n, uint64_t origin,
                    uint64_t seq);
void rl_shelfmv_ref(const void *v, uint64_t *origin, uint64_t *seq);
void rl_shelfmv_put_ref(uint8_t v[RL_SHELFMV_VAL], uint64_t origin,
                        uint64_t seq); /* ih untouched */

/* The same from an op's payload (rl_opiter), for a walk over the log. */
int rl_ledger_decode(struct rl_txn *t, uint64_t origin, uint64_t seq, const uint8_t *payload,
                     size_t n, struct rl_mv *mv);

/* Whether a movement is voided. */
int rl_ledger_voided(struct rl_txn *t, uint64_t origin, uint64_t seq);

/* Alert types kept in RL_DB_ALERTS (first key byte). */
enum rl_alert_type {
    RL_ALERT_NEGATIVE = 'n', /* site(8) item: balance below zero */
    RL_ALERT_ARRIVAL = 'a',  /* origin(8) seq(8): arrived != dispatched */
    RL_ALERT_CAPACITY = 'c', /* site(8): occupancy above capacity */
    RL_ALERT_CODE = 'd',     /* code: a short code used by two sites */
    RL_ALERT_NOOP = 'x',     /* origin(8) seq(8): an op whose body this version rejects */
    RL_ALERT_UNKNOWN = 'u',  /* origin(8) kind(4) -> count(8): ops of an unknown kind */
    RL_ALERT_OVERBOOK = 'o', /* shift origin(8) seq(8): more sign-ups than slots */
    RL_ALERT_PLEDGE = 'p',   /* donation origin(8) seq(8): delivered > pledged */
};

/* The lot a receipt against a donation creates when it names none. */
void rl_donation_lot(uint64_t origin, uint64_t seq, char out[40]);

#endif
