/*
 * Op kinds and the schema of their bodies.
 *
 * A body is a msgpack map from small integer keys (1..PROTO_MAX_FIELD_KEY) to values. Each kind
 * lists its fields with a type and a range; proto_body_parse() checks a body against them in one
 * pass and hands back the values. A field a kind does not list is carried and ignored (a newer
 * node may add it); a kind this version does not know is stored and forwarded unapplied.
 * PROTOCOL.md ("Op kinds") is the reference for other implementations.
 *
 * Conventions:
 *   SITE   a site's id: a random 64-bit unsigned integer chosen when the site is added
 *   ITEM   an item's code: 1..64 bytes of a-z 0-9 . _ - (lower case, no spaces)
 *   REF    another op, by id: a uint seq of the same origin as this op, or [origin, seq]
 *   DAY    a date: days since 1970-01-01 (UTC)
 *   TIME   an instant: seconds since 1970-01-01T00:00:00Z
 *   QTY    an integer quantity in the item's unit, 1..10^9 (signed for adjustments)
 */
#ifndef PROTO_KINDS_H
#define PROTO_KINDS_H

#include "error.h"
#include "mp.h"

#include <stdint.h>

/* kind name, number, text */
#define PROTO_KINDS(X)                                                                             \
    X(PROTO_KIND_NODE, 1, "node")                                                                  \
    X(PROTO_KIND_SITE_ADD, 10, "site.add")                                                         \
    X(PROTO_KIND_SITE_SET, 11, "site.set")                                                         \
    X(PROTO_KIND_SITE_LANG_ADD, 12, "site.lang.add")                                               \
    X(PROTO_KIND_SITE_LANG_REMOVE, 13, "site.lang.remove")                                         \
    X(PROTO_KIND_ITEM_ADD, 20, "item.add")                                                         \
    X(PROTO_KIND_ITEM_SET, 21, "item.set")                                                         \
    X(PROTO_KIND_STOCK_RECEIVE, 30, "stock.receive")                                               \
    X(PROTO_KIND_STOCK_DISPATCH, 31, "stock.dispatch")                                             \
    X(PROTO_KIND_STOCK_ARRIVE, 32, "stock.arrive")                                                 \
    X(PROTO_KIND_STOCK_DISTRIBUTE, 33, "stock.distribute")                                         \
    X(PROTO_KIND_STOCK_ADJUST, 34, "stock.adjust")                                                 \
    X(PROTO_KIND_STOCK_COUNT, 35, "stock.count")                                                   \
    X(PROTO_KIND_STOCK_VOID, 36, "stock.void")                                                     \
    X(PROTO_KIND_NEED_ADD, 40, "need.add")                                                         \
    X(PROTO_KIND_NEED_SET, 41, "need.set")                                                         \
    X(PROTO_KIND_SHIFT_ADD, 50, "shift.add")                                                       \
    X(PROTO_KIND_SHIFT_SET, 51, "shift.set")                                                       \
    X(PROTO_KIND_SHIFT_SIGNUP, 52, "shift.signup")                                                 \
    X(PROTO_KIND_SHIFT_CANCEL, 53, "shift.cancel")                                                 \
    X(PROTO_KIND_SHIFT_SERVED, 54, "shift.served")                                                 \
    X(PROTO_KIND_DONATION_PLEDGE, 60, "donation.pledge")                                           \
    X(PROTO_KIND_DONATION_SET, 61, "donation.set")

enum proto_kind {
#define PROTO_X_KIND(name, num, text) name = num,
    PROTO_KINDS(PROTO_X_KIND)
#undef PROTO_X_KIND
};

/* Field types. */
enum proto_ftype {
    PF_UINT = 1, /* unsigned integer in [min, max] */
    PF_INT,      /* signed integer in [min, max], 0 excluded when min < 0 < max (adjustments) */
    PF_TEXT,     /* UTF-8 string of 0..max bytes (max <= PROTO_MAX_TEXT_BYTES) */
    PF_CODE,     /* ITEM code or short code: 1..max bytes of a-z A-Z 0-9 . _ - */
    PF_ID,       /* SITE id: unsigned 64-bit, not 0 */
    PF_REF,      /* REF */
    PF_REFS,     /* array of 0..max REF */
    PF_LOTS,     /* array of 0..max [lot TEXT(<=64), QTY] drawn at write time */
    PF_FIELDS,   /* map of record fields (the kind's record schema) */
    PF_SEEN,     /* map field key -> array of REF: the versions of each field the writer saw */
    PF_VV,       /* array of [origin, seq]: the version vector a count was made against */
    PF_BOOL,
    PF_ICODE,    /* ITEM code: 1..max bytes of a-z 0-9 . _ - */
};

#define PROTO_MAX_FIELD_KEY 31u

struct proto_field {
    uint8_t key;
    uint8_t type;     /* enum proto_ftype */
    uint8_t required;
    const char *name; /* for messages and JSON */
    int64_t min, max; /* range for PF_UINT/PF_INT; max length/count for the others */
};

struct proto_kind_def {
    uint32_t num;
    const char *name;
    const struct proto_field *fields; /* terminated by key 0 */
    const struct proto_field *record; /* schema of PF_FIELDS (and of PF_SEEN keys), or NULL */
};

/* One parsed field. Scalars are decoded; containers are left as raw bytes (see readers below). */
struct proto_val {
    uint8_t present;
    uint64_t u;         /* PF_UINT, PF_ID, PF_BOOL; seq of PF_REF */
    int64_t i;          /* PF_INT */
    uint64_t origin;    /* PF_REF (the op's own origin when given as a bare seq) */
    const char *s;      /* PF_TEXT, PF_CODE (not NUL-terminated) */
    uint32_t n;         /* bytes of s; elements of PF_REFS/PF_LOTS/PF_VV/PF_FIELDS/PF_SEEN */
    const uint8_t *raw; /* the value's msgpack bytes */
    uint32_t raw_len;
};

struct proto_body {
    const struct proto_kind_def *def;
    struct proto_val v[PROTO_MAX_FIELD_KEY + 1];
};

/* The definition of a kind, or NULL for a kind this version does not know. */
const struct proto_kind_def *proto_kind_def(uint32_t kind);

/* Name of a kind ("stock.receive"), or NULL. */
const char *proto_kind_name(uint32_t kind);

/* The kind called name, or 0. */
uint32_t proto_kind_by_name(const char *name);

/*
 * Check an op's body against its kind's schema and decode it into out. origin is the op's
 * origin (for bare-seq REFs). 0; -ENOENT for an unknown kind; PROTO_EFIELD (or
 * PROTO_EMALFORMED / PROTO_ELIMIT) with a message naming the field and the value.
 */
int proto_body_parse(uint32_t kind, const uint8_t *body, size_t len, uint64_t origin,
                     struct proto_body *out, struct proto_err *e);

/* Read a REF at m (bare seq -> origin = self). */
int proto_ref_read(struct proto_mp *m, uint64_t self, uint64_t *origin, uint64_t *seq);

/* Whether s[0..n) holds only the characters of a PF_CODE (lower: of a PF_ICODE); not its length. */
int proto_code_ok(const char *s, size_t n, int lower);

/* The field of a record schema with this key, or NULL. */
const struct proto_field *proto_record_field(const struct proto_kind_def *def, uint32_t key);

/* Check one value at m against a field definition; fills v. */
int proto_field_read(struct proto_mp *m, const struct proto_field *f, uint64_t self,
                     struct proto_val *v, struct proto_err *e);

/* Field keys of the kinds (see kinds.c for types and ranges). */
enum {
    /* node */
    PROTO_F_NODE_NAME = 1,
    /* site.add: id, kind, then record fields */
    PROTO_F_SITE_ID = 1,
    PROTO_F_SITE_FIELDS = 2,
    PROTO_F_SITE_SEEN = 3,
    PROTO_F_SITE_LANG = 2,
    PROTO_F_SITE_TAGS = 2,
    /* item.add / item.set */
    PROTO_F_ITEM_CODE = 1,
    PROTO_F_ITEM_FIELDS = 2,
    PROTO_F_ITEM_SEEN = 3,
    /* stock movements */
    PROTO_F_MV_SITE = 1,
    PROTO_F_MV_ITEM = 2,
    PROTO_F_MV_QTY = 3,
    PROTO_F_MV_LOT = 4,
    PROTO_F_MV_EXPIRY = 5,
    PROTO_F_MV_FROM_TEXT = 6,
    PROTO_F_MV_DONATION = 7,
    PROTO_F_MV_NEED = 8,
    PROTO_F_MV_LOTS = 9,
    PROTO_F_MV_TO = 10,
    PROTO_F_MV_REASON = 11,
    PROTO_F_MV_NOTE = 12,
    PROTO_F_MV_VV = 13,
    PROTO_F_MV_TARGET = 14, /* arrive: the transfer; void: the movement */
    PROTO_F_MV_SEEN = 15,   /* arrive: earlier arrivals of the transfer seen */
    /* need.add / need.set, shift.*, donation.* */
    PROTO_F_REC_TARGET = 1, /* *.set, signup, cancel, served: the record (REF) */
    PROTO_F_REC_FIELDS = 2,
    PROTO_F_REC_SEEN = 3,
    PROTO_F_SIGNUP_VOLUNTEER = 2,
    PROTO_F_SIGNUP_CONTACT = 3,
    PROTO_F_CANCEL_TAGS = 3,
    PROTO_F_SERVED_MEALS = 2,
};

/* Record field keys (inside PF_FIELDS maps). */
enum {
    PROTO_SITE_NAME = 1, PROTO_SITE_CODE, PROTO_SITE_KIND, PROTO_SITE_ADDRESS,
    PROTO_SITE_ADM1, PROTO_SITE_ADM2, PROTO_SITE_LAT, PROTO_SITE_LON, PROTO_SITE_CAPACITY,
    PROTO_SITE_OCCUPANCY, PROTO_SITE_OCCUPANCY_AT, PROTO_SITE_STATUS, PROTO_SITE_NEEDS,
    PROTO_SITE_CONTACT, PROTO_SITE_PRIORITY, PROTO_SITE_ARCHIVED,
};
enum { PROTO_ITEM_NAME = 1, PROTO_ITEM_UNIT, PROTO_ITEM_CATEGORY, PROTO_ITEM_ARCHIVED };
enum {
    PROTO_NEED_SITE = 1, PROTO_NEED_ITEM, PROTO_NEED_SERVICE, PROTO_NEED_QTY, PROTO_NEED_PRIORITY,
    PROTO_NEED_DUE, PROTO_NEED_NOTE, PROTO_NEED_STATUS,
};
enum {
    PROTO_SHIFT_SITE = 1, PROTO_SHIFT_START, PROTO_SHIFT_END, PROTO_SHIFT_SLOTS, PROTO_SHIFT_ROLE,
    PROTO_SHIFT_MEALS, PROTO_SHIFT_STATUS,
};
enum {
    PROTO_DON_DONOR = 1, PROTO_DON_TO, PROTO_DON_ITEM, PROTO_DON_QTY, PROTO_DON_AMOUNT,
    PROTO_DON_CURRENCY, PROTO_DON_NOTE, PROTO_DON_STATUS, PROTO_DON_CONTACT,
};

/* Enumerations carried as integers. */
enum { PROTO_SITEKIND_CENTRE = 1, PROTO_SITEKIND_WAREHOUSE, PROTO_SITEKIND_SCHOOL,
       PROTO_SITEKIND_KITCHEN, PROTO_SITEKIND_POINT };
enum { PROTO_STATUS_OPEN = 1, PROTO_STATUS_CLOSED };
enum { PROTO_PRIORITY_HIGH = 1, PROTO_PRIORITY_MEDIUM, PROTO_PRIORITY_LOW };
enum { PROTO_REASON_DAMAGED = 1, PROTO_REASON_EXPIRED, PROTO_REASON_LOST, PROTO_REASON_FOUND,
       PROTO_REASON_UNRECORDED, PROTO_REASON_OTHER };

#endif
