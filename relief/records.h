/*
 * Records and their fields, merged as DESIGN.md section 4 says.
 *
 * A record (a site, an item, a need, a shift, a donation, a transfer's arrival) is named by a
 * rid: a type byte and its id. Each field is a multi-value register: an edit lists the versions
 * of the field it saw and supersedes them; the field's heads are the versions no known edit
 * supersedes; the value shown is the greatest head by (hlc, origin, seq); heads with different
 * values are a conflict until an edit that saw them all resolves it. Supersession is remembered
 * even before the superseded version arrives, so the result is the same in any arrival order.
 *
 * Add-wins sets (a centre's languages, a shift's sign-ups) live here too: an add is tagged by its
 * op id; a remove names the tags it saw, kept even when those adds have not arrived yet.
 */
#ifndef RL_RECORDS_H
#define RL_RECORDS_H

#include "store.h"

#include <stdint.h>

enum rl_rtype {
    RL_R_SITE = 'S',
    RL_R_ITEM = 'I',
    RL_R_NEED = 'N',
    RL_R_SHIFT = 'H',
    RL_R_DONATION = 'D',
    RL_R_TRANSFER = 'T',
};

/* Field of a transfer record: the arrived quantity. */
#define RL_TRANSFER_ARRIVED 1

struct rl_rid {
    uint8_t b[72];
    uint8_t n;
};

void rl_rid_site(struct rl_rid *r, uint64_t id);
void rl_rid_item(struct rl_rid *r, const char *code, size_t n);
void rl_rid_ref(struct rl_rid *r, enum rl_rtype type, uint64_t origin, uint64_t seq);

/* An op, as records need it. */
struct rl_opinfo {
    uint64_t origin, seq, hlc;
    const char *author;
    uint32_t author_len;
};

/* Record that the op created the record (the earliest creation by (hlc, origin, seq) counts). */
int rl_record_create(struct rl_txn *t, const struct rl_rid *r, const struct rl_opinfo *op);

/* 0 when the record exists (its creating op in *created when not NULL), -ENOENT otherwise. */
int rl_record_get(struct rl_txn *t, const struct rl_rid *r, struct rl_opinfo *created);

struct rl_head {
    uint64_t origin, seq, hlc;
    const char *author; /* borrowed until the transaction ends */
    uint32_t author_len;
    const uint8_t *val; /* the value's msgpack bytes, borrowed */
    uint32_t val_len;
};

/*
 * Apply one edit of a field: the versions in seen (an array of REFs, msgpack bytes; NULL for
 * none) are superseded, and the edit becomes a head unless an edit already known saw it.
 * *changed (may be NULL) tells whether the shown value may have changed.
 */
int rl_field_write(struct rl_txn *t, const struct rl_rid *r, uint8_t field,
                   const struct rl_opinfo *op, const uint8_t *val, size_t vlen,
                   const uint8_t *seen, size_t seen_len, int *changed);

/* The shown value: the greatest head. -ENOENT when the field has none. */
int rl_field_get(struct rl_txn *t, const struct rl_rid *r, uint8_t field, struct rl_head *h);

/*
 * Every version of a field the node knows of: its heads, and the versions an edit saw (which
 * it superseded, whether or not they have arrived) -- a function of the ops held. fn returns
 * non-zero to stop; then 1, else 0 (or an error).
 */
int rl_field_versions(struct rl_txn *t, const struct rl_rid *r, uint8_t field,
                      int (*fn)(void *arg, uint64_t origin, uint64_t seq), void *arg);

/* All heads of a field, in key order; fn returns non-zero to stop. Returns the head count. */
int rl_field_heads(struct rl_txn *t, const struct rl_rid *r, uint8_t field,
                   int (*fn)(void *arg, const struct rl_head *h), void *arg);
/* The same with the caller's cursor on RL_DB_FIELDS (a walk over many records reuses one). */
int rl_field_heads_at(struct rl_cursor *c, const struct rl_rid *r, uint8_t field,
                      int (*fn)(void *arg, const struct rl_head *h), void *arg);

/*
 * Every field of a record in one walk: fn gets the field, its shown value (the greatest head)
 * and whether its heads hold more than one distinct value. Stops when fn returns non-zero.
 */
int rl_record_fields(struct rl_txn *t, const struct rl_rid *r,
                     int (*fn)(void *arg, uint8_t field, const struct rl_head *shown,
                               int conflict),
                     void *arg);
/* The same with the caller's cursor on RL_DB_FIELDS (a walk over many records reuses one). */
int rl_record_fields_at(struct rl_cursor *c, const struct rl_rid *r,
                        int (*fn)(void *arg, uint8_t field, const struct rl_head *shown,
                                  int conflict),
                        void *arg);

/* Whether a field's heads hold more than one distinct value. */
int rl_field_conflict(struct rl_txn *t, const struct rl_rid *r, uint8_t field);

/* Add-wins sets: set is a small number naming the set within the record. */
int rl_set_add(struct rl_txn *t, const struct rl_rid *r, uint8_t set, uint64_t origin,
               uint64_t seq, const uint8_t *elem, size_t n);
int rl_set_remove(struct rl_txn *t, const struct rl_rid *r, uint8_t set, uint64_t origin,
                  uint64_t seq);

/* The live elements of a set in tag order; fn gets the tag and the element bytes. */
int rl_set_each(struct rl_txn *t, const struct rl_rid *r, uint8_t set,
                int (*fn)(void *arg, uint64_t origin, uint64_t seq, const uint8_t *elem,
                          size_t n),
                void *arg);

/* Read a head's value as an integer or a string (0, or PROTO_EFIELD for another type). */
int rl_head_uint(const struct rl_head *h, uint64_t *v);
int rl_head_int(const struct rl_head *h, int64_t *v);
int rl_head_str(const struct rl_head *h, const char **s, uint32_t *n);

/* Convenience: the shown value of a field as an integer / a string copied into out. */
int rl_field_uint(struct rl_txn *t, const struct rl_rid *r, uint8_t field, uint64_t *v);
int rl_field_int(struct rl_txn *t, const struct rl_rid *r, uint8_t field, int64_t *v);
int rl_field_str(struct rl_txn *t, const struct rl_rid *r, uint8_t field, char *out, size_t n);
int rl_field_str_at(struct rl_cursor *c, const struct rl_rid *r, uint8_t field, char *out,
                    size_t n);

#endif
