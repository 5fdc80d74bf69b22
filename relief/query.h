/*
 * The read side: sites, items, balances, alerts and conflicts as JSON values (jansson), for
 * the CLI's tables and --json, and for the HTTP API. Each function runs inside a read
 * transaction and returns a new reference, or NULL with e set.
 */
#ifndef RL_QUERY_H
#define RL_QUERY_H

#include "domain.h"
#include "store.h"

#include <jansson.h>

json_t *rl_q_sites(struct rl_txn *t, struct proto_err *e);
json_t *rl_q_site(struct rl_txn *t, uint64_t id, struct proto_err *e);
json_t *rl_q_items(struct rl_txn *t, struct proto_err *e);
/* Balances (and what is in transit to each shelf); site 0 = every site, item NULL = all. */
json_t *rl_q_stock(struct rl_txn *t, uint64_t site, const char *item, struct proto_err *e);

/*
 * Transfers in transit (dispatched, neither arrived nor voided), oldest first: a site (0: any)
 * at either end, an item (NULL: any). Each: transfer (the id `relief stock arrive` takes),
 * time, from, from_code, from_name, to, to_code, to_name, item, qty, author.
 */
json_t *rl_q_transit(struct rl_txn *t, uint64_t site, const char *item, struct proto_err *e);

/* One shelf of rl_q_stock: the strings are borrowed until the callback returns. */
struct rl_stock_row {
    uint64_t site;
    const char *site_hex, *site_code, *site_name;
    const char *item; /* NUL-terminated */
    size_t item_len;
    const char *unit;
    int64_t balance, in_transit;
};
/* A row; non-zero stops the walk (a negative errno is returned as the error). */
typedef int (*rl_stock_row_fn)(void *arg, const struct rl_stock_row *r);
/* The rows of rl_q_stock in the same order, without building JSON. */
int rl_q_stock_rows(struct rl_txn *t, uint64_t site, const char *item, rl_stock_row_fn fn,
                    void *arg, struct proto_err *e);
/* Alerts; now_ms for those that depend on the time (expiring lots, clocks far ahead). */
json_t *rl_q_alerts(struct rl_txn *t, uint64_t now_ms, struct proto_err *e);
json_t *rl_q_conflicts(struct rl_txn *t, struct proto_err *e);
/* Needs with needed, fulfilled, gap, in stock and in transit at the site; gaps first. */
json_t *rl_q_needs(struct rl_txn *t, struct proto_err *e);
/* Shifts by start, each with its roster: sign-ups by (hlc, origin, seq), the first `slots`
 * confirmed, the rest wait-listed. */
json_t *rl_q_shifts(struct rl_txn *t, struct proto_err *e);
/* One shift with its roster; NULL (-ENOENT) when there is no such shift. */
json_t *rl_q_shift(struct rl_txn *t, uint64_t origin, uint64_t seq, struct proto_err *e);
json_t *rl_q_donations(struct rl_txn *t, struct proto_err *e);
/* A donation from pledge to receipt, dispatch, arrival and distribution, by time. */
json_t *rl_q_trace(struct rl_txn *t, uint64_t origin, uint64_t seq, struct proto_err *e);

/*
 * Rows of text cells, for reports that skip JSON: v[row * ncols + col], "" where there is no
 * value. rl_cells_free frees them.
 */
struct rl_cells {
    size_t nrows, ncols;
    char **v;    /* nrows * ncols cells */
    char *arena; /* when set, every cell points into it (one allocation); else each is its own */
};
void rl_cells_free(struct rl_cells *c);

/*
 * The needs report's rows as text cells, in the columns of rl_report_cols("needs") and the
 * order of rl_q_needs (gaps first): the same text as the JSON rows give, built without them.
 */
int rl_q_needs_cells(struct rl_txn *t, struct rl_cells *out, struct proto_err *e);

/* A field's shown value as JSON, per its format (enum names, dates, degrees). */
json_t *rl_q_value(const struct rl_fieldopt *f, const uint8_t *val, size_t n);

#endif
