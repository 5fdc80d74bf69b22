/*
 * The domain's write side and lookups: what the CLI (and later the HTTP API) calls to record
 * sites, items and stock movements. Each call is one durable transaction that validates its
 * input, builds the op, checks the op against its kind's schema and appends it; nothing is
 * written when anything is wrong, and the error names the value.
 */
#ifndef RL_DOMAIN_H
#define RL_DOMAIN_H

#include "records.h"
#include "store.h"

#include <stdint.h>

/* How a field's text (from the command line, CSV or JSON) becomes its value. */
enum rl_fmt {
    RL_FMT_TEXT = 1, /* any UTF-8 */
    RL_FMT_CODE,     /* a short code or item code */
    RL_FMT_UINT,     /* 0, 1, 2, ... */
    RL_FMT_DEG,      /* decimal degrees, stored as microdegrees */
    RL_FMT_TIME,     /* ISO 8601 date-time (local time without an offset), stored as seconds */
    RL_FMT_DAY,      /* YYYY-MM-DD, stored as days since 1970-01-01 */
    RL_FMT_BOOL,     /* yes/no, true/false */
    RL_FMT_ENUM,     /* one of names[], stored as its 1-based index */
    RL_FMT_SITE,     /* a site's short code or id, stored as the id */
    RL_FMT_ITEM,     /* an existing item's code */
    RL_FMT_CURRENCY, /* three capital letters, the form of ISO 4217 codes: JPY, USD */
};

struct rl_fieldopt {
    const char *name; /* the CLI option and JSON key */
    uint8_t key;      /* the record field key (proto/kinds.h) */
    uint8_t fmt;      /* enum rl_fmt */
    const char *const *names; /* RL_FMT_ENUM: the names, NULL-terminated */
};

/* The editable fields of each record type, NULL-name terminated. */
extern const struct rl_fieldopt rl_site_fields[];
extern const struct rl_fieldopt rl_item_fields[];
extern const struct rl_fieldopt rl_need_fields[];
extern const struct rl_fieldopt rl_shift_fields[];
extern const struct rl_fieldopt rl_donation_fields[];

/* The field table of a record type, or NULL. */
const struct rl_fieldopt *rl_fields_of(enum rl_rtype type);
extern const char *const rl_site_kinds[];
extern const char *const rl_statuses[];
extern const char *const rl_priorities[];
extern const char *const rl_reasons[];

/* The field option called name, or NULL. */
const struct rl_fieldopt *rl_fieldopt_find(const struct rl_fieldopt *fs, const char *name);

/*
 * Parse a value's text into *out: integers for the numeric formats. 0 or -EINVAL + message.
 * A quantity is digits (a sign only with allow_sign) within +-PROTO_MAX_QTY; the message says
 * whether the text is no number or which limit it passes. A time is 1970 or later.
 */
int rl_parse_qty(const char *s, int allow_sign, int allow_zero, int64_t *out, struct proto_err *e);
int rl_parse_day(const char *s, uint32_t *days, struct proto_err *e);
int rl_parse_time(const char *s, uint64_t *secs, struct proto_err *e);
/* Decimal degrees ("38.4262", "-0.5": no exponent, no hex, no spaces) within -max..max, as
 * microdegrees (rounded to the nearest); name is the option named in messages ("lat"). */
int rl_parse_deg(const char *s, const char *name, int max, int64_t *micro, struct proto_err *e);
/* Format days / seconds back: "2026-11-27", "2026-11-27T09:00:00Z". */
void rl_format_day(uint32_t days, char *out, size_t n);
void rl_format_time(uint64_t secs, char *out, size_t n);

/* Lookups, inside a transaction. Errors say "unknown site 'X'" and the like. */
int rl_resolve_site(struct rl_txn *t, const char *s, uint64_t *id, struct proto_err *e);
int rl_resolve_item(struct rl_txn *t, const char *code, struct proto_err *e);
/*
 * An op reference as printed by rl_ref_format: "71c0735a-42", 4 to 16 lower-case hex digits of
 * the origin (more when 8 are ambiguous), '-', the seq in decimal digits (no sign, no space,
 * 1 to 2^64-1). Anything else is refused, not read as a near id.
 */
int rl_resolve_ref(struct rl_txn *t, const char *s, uint64_t *origin, uint64_t *seq,
                   struct proto_err *e);
void rl_ref_format(uint64_t origin, uint64_t seq, char out[40]);

/* --- record edits --- */

struct rl_edit_field {
    const struct rl_fieldopt *f;
    const char *value;
};

struct rl_edit {
    enum rl_rtype rtype; /* RL_R_SITE, ITEM, NEED, SHIFT or DONATION */
    int add;             /* add a record, else change one */
    const char *target;  /* set: the site (code or id), the item code or the record's id
                            ("71c0735a-42"); item add: the code */
    struct rl_edit_field fields[32];
    int nfields;
    const char *languages; /* sites: the languages spoken, "pt,tl,zh" ("" for none); NULL:
                              unchanged. Languages are an add-wins set. */
    const char *author;    /* NULL: the node's name */
};

struct rl_written {
    uint64_t origin, seq; /* the op */
    uint64_t site;        /* a site added or changed */
};

int rl_edit_apply(struct rl_store *s, const struct rl_edit *ed, struct rl_written *out,
                  struct proto_err *e);

/*
 * The same inside a write transaction run by rl_node_write, for callers that record many
 * changes at once (imports, the demo): nothing is committed until the transaction is.
 */
int rl_edit_in(struct rl_txn *t, const struct rl_edit *ed, struct rl_written *out,
               struct proto_err *e);

/* --- shifts --- */

struct rl_shift_req {
    uint32_t kind;     /* PROTO_KIND_SHIFT_SIGNUP, _CANCEL or _SERVED */
    const char *shift; /* its id */
    const char *volunteer, *contact, *meals;
    const char *author;
};

int rl_shift_write(struct rl_store *s, const struct rl_shift_req *r, struct rl_written *out,
                   struct proto_err *e);
int rl_shift_in(struct rl_txn *t, const struct rl_shift_req *r, struct rl_written *out,
                struct proto_err *e);

/* --- stock --- */

struct rl_stock_req {
    uint32_t kind;           /* PROTO_KIND_STOCK_* */
    const char *site, *to;   /* receive/distribute/adjust/count: site; dispatch: site = from */
    const char *item;
    const char *qty;         /* as typed: "40", "-3", "+2" */
    const char *lot, *expiry, *from_text, *donation, *need, *reason, *note;
    const char *target;      /* arrive: the transfer; void: the movement */
    const char *author;
    /* set by a caller that resolved site, to and item in this same transaction (the import,
     * which checks each column itself): not resolved again. 0: resolve them. */
    uint64_t site_id, to_id;
    int item_known;
    /* 1: check the movement as a write would -- every value, what it names, the op's body
     * against its kind's schema -- and write nothing (an import's check of a long file) */
    int check_only;
    /* 1: out gets the op's id only, not the shelf's balance (one read less per movement) */
    int ref_only;
};

/* The stock commands by name ("receive", ...), with their op kinds; ends with a NULL name. */
struct rl_stock_op {
    const char *name;
    uint32_t kind;
};
extern const struct rl_stock_op rl_stock_ops[];

struct rl_stock_result {
    uint64_t origin, seq;
    int64_t balance; /* the shelf's balance after the write (source shelf; an arrival's: the
                      * destination's) */
    int has_balance;
    /* an arrival: what its transfer dispatched and what it says arrived, of item */
    int arrival;
    int64_t dispatched, arrived;
    char item[65];
};

int rl_stock_write(struct rl_store *s, const struct rl_stock_req *r, struct rl_stock_result *out,
                   struct proto_err *e);
/* The same inside the caller's write transaction; out may be NULL (neither id nor balance). */
int rl_stock_in(struct rl_txn *t, const struct rl_stock_req *r, struct rl_stock_result *out,
                struct proto_err *e);

#endif
