/*
 * Importing sites, items and stock movements from CSV (the columns are in relief/IMPORT.md).
 *
 * All or nothing: every row is parsed, converted and checked against the node -- by the same
 * domain calls the CLI makes (rl_edit_in, rl_stock_in) -- before anything is kept, and the
 * first bad value is reported as "line L, column C (HEADER): what is wrong".
 *
 * A file of at most RL_IMPORT_CHUNK_ROWS rows is imported in one transaction. A longer one
 * would outgrow what one LMDB transaction may dirty, so it is first checked in full in a write
 * transaction that is then aborted (a dry run: the first RL_IMPORT_CHUNK_ROWS rows applied as
 * a write would, the movements after them checked without being applied), and then written in
 * transactions of RL_IMPORT_CHUNK_ROWS rows. A failure after the dry run -- a full disk, or a
 * change that arrived by sync in between and makes a row invalid -- leaves the earlier chunks
 * written: the result says how many rows, and the error names the first row not written;
 * importing the same file again writes the rest (struct rl_import_cut).
 */
#ifndef RL_IMPORT_H
#define RL_IMPORT_H

#include "csv.h"
#include "store.h"

#include <stdint.h>
#include <stdio.h>

/* Rows written in one transaction (and the most a file may have to be written in one). */
#define RL_IMPORT_CHUNK_ROWS 20000u

enum rl_import_kind {
    RL_IMPORT_SITES = 1,
    RL_IMPORT_ITEMS,
    RL_IMPORT_MOVEMENTS,
};

/* "sites", "items", "movements" to the kind: 0 or -EINVAL. */
int rl_import_kind_parse(const char *s, enum rl_import_kind *out);
const char *rl_import_kind_name(enum rl_import_kind k);

struct rl_import_opts {
    enum rl_import_kind kind;
    const char *author;  /* NULL: the node's name */
    uint32_t chunk_rows; /* 0: RL_IMPORT_CHUNK_ROWS (tests use small ones) */
    const char *name;    /* the file's name, kept with an import cut short (NULL: none) */
};

struct rl_import_result {
    uint64_t rows;         /* data rows in the file (once it was read to the end) */
    uint64_t written;      /* rows committed: all of them, or (after a late failure) a prefix */
    uint32_t transactions; /* write transactions committed */
    uint64_t resumed;      /* rows an earlier import of the same file had written (included in
                            * rows and written): this one wrote the rest */
    uint64_t resumed_line; /* the line it began at then */
};

/*
 * An import written in more than one transaction keeps, in each of them, where it has got to:
 * under the file's hash (BLAKE2b-128 of its bytes) in the node's metadata, removed by its last
 * transaction. An import cut short -- the process killed, the power lost, a late failure --
 * leaves it there: `relief status` shows it, and importing the same file again writes the rows
 * from there on (the rows before are not checked or written again).
 */
struct rl_import_cut {
    uint8_t hash[16];
    enum rl_import_kind kind;
    uint64_t rows, written;          /* rows in the file; rows written */
    uint64_t next_offset, next_line; /* the first row not written */
    char name[256];
};

/* Each import cut short, to fn (which returns non-zero to stop). */
int rl_import_cuts(struct rl_txn *t, int (*fn)(void *arg, const struct rl_import_cut *c),
                   void *arg);

/*
 * Import the CSV read from f (from its current position, which must be seekable: it is read
 * more than once) or from n bytes at p. 0 when every row was written; otherwise the error,
 * with r->written rows kept (0 unless the failure came after the dry run). Errors about the
 * data are -EINVAL, -ENOENT, -EILSEQ, PROTO_ELIMIT ...; never PROTO_EUSAGE.
 */
int rl_import_file(struct rl_store *s, FILE *f, const struct rl_import_opts *o,
                   struct rl_import_result *r, struct proto_err *e);
int rl_import_buf(struct rl_store *s, const void *p, size_t n, const struct rl_import_opts *o,
                  struct rl_import_result *r, struct proto_err *e);

/* Whether the system can read an encoding: 0 no, 1 it is UTF-8, 2 yes (by rl_import_utf8).
 * cp932, shift_jis, sjis, windows-31j all name Windows-31J, what Japanese Excel saves. */
int rl_import_encoding_ok(const char *enc);

/* The rest of in, in enc, as UTF-8 in a temporary file (*out, at its start): for
 * rl_import_file. A byte sequence that is not enc: PROTO error naming its line. */
int rl_import_utf8(FILE *in, const char *enc, FILE **out, struct proto_err *e);

#endif
