/*
 * A reader of CSV as RFC 4180 writes it, for files people export from spreadsheets and hand to
 * `relief import`: hostile input, read row by row in bounded memory.
 *
 * Accepted: fields separated by commas; a field in double quotes may hold commas, line breaks
 * and doubled quotes (""); rows end in CRLF, LF or a lone CR; the last row may lack its line
 * end; a UTF-8 byte order mark at the very start is skipped; lines with nothing on them are
 * skipped (spreadsheets add them at the end). Refused, with the line and column of the field:
 * a quote that is never closed, a quote inside an unquoted field, text after a closing quote,
 * invalid UTF-8 or a NUL byte (and a UTF-16 file, by its byte order mark), a field, a row or a
 * row's field count past the limits below, a read error.
 *
 * Memory: one row buffer that grows to at most RL_CSV_MAX_ROW_BYTES plus a NUL per field, and
 * an input buffer of fixed size. Nothing is sized from what the input claims. A reader of a
 * 10 MB field stops at the limit and reports it without reading the rest.
 *
 * Positions: lines count from 1 (a line break inside quotes starts a new line); columns are
 * field numbers from 1, as a spreadsheet shows them (A = 1). A field's line is where it starts.
 */
#ifndef RL_CSV_H
#define RL_CSV_H

#include "proto/buf.h"
#include "proto/error.h"

#include <stdint.h>
#include <stdio.h>

/* Bytes of one field after unquoting. */
#define RL_CSV_MAX_FIELD_BYTES (64u * 1024)
/* Fields in one row. */
#define RL_CSV_MAX_FIELDS 64u
/* Bytes of one row's fields together, after unquoting. */
#define RL_CSV_MAX_ROW_BYTES (256u * 1024)
/* Bytes of the input buffer of a reader over a FILE. */
#define RL_CSV_READ_BYTES (16u * 1024)

/* Where a row starts in the input: to read from there again (rl_csv_seek). */
struct rl_csv_pos {
    uint64_t offset; /* bytes from the start of the input */
    uint64_t line;
};

struct rl_csv {
    /* the input: a FILE (read through buf) or a caller's buffer */
    FILE *f;
    const uint8_t *cur, *end;
    uint64_t offset; /* of *cur from the start of the input */
    uint64_t line;
    int started; /* the byte order mark was looked for */
    int read_err;
    uint8_t buf[RL_CSV_READ_BYTES];
    const uint8_t *mem; /* a buffer input */
    size_t mem_len;
    /* the last row */
    struct proto_buf row; /* each field followed by a NUL */
    uint32_t nfields;
    uint32_t off[RL_CSV_MAX_FIELDS], len[RL_CSV_MAX_FIELDS];
    uint64_t fline[RL_CSV_MAX_FIELDS];
    /* the last error: its position and what was wrong, without the position */
    uint64_t err_line;
    uint32_t err_col;
    char err_what[200];
};

/* A reader of f from its current position (taken as the start of the input). */
void rl_csv_open_file(struct rl_csv *c, FILE *f);

/* A reader of n bytes at p (borrowed: keep them while the reader is used). */
void rl_csv_open_buf(struct rl_csv *c, const void *p, size_t n);

/* Free the row buffer. */
void rl_csv_close(struct rl_csv *c);

/*
 * Read the next row: 1 with a row, 0 at the end of the input, or a negative code (-EINVAL for
 * the syntax, -EILSEQ for the encoding, PROTO_ELIMIT for a limit, -EIO) with c->err_line,
 * c->err_col and c->err_what set and e->msg "line L, column C: WHAT".
 */
int rl_csv_next(struct rl_csv *c, struct proto_err *e);

/* The position after the last row read (where the next one starts). */
void rl_csv_tell(const struct rl_csv *c, struct rl_csv_pos *pos);

/* Read from pos again (a position rl_csv_tell gave). 0, or -errno when f cannot seek. */
int rl_csv_seek(struct rl_csv *c, const struct rl_csv_pos *pos);

/* The fields of the last row: NUL-terminated, borrowed until the next rl_csv_next. */
static inline uint32_t rl_csv_nfields(const struct rl_csv *c)
{
    return c->nfields;
}
static inline const char *rl_csv_field(const struct rl_csv *c, uint32_t i)
{
    return (const char *)c->row.data + c->off[i];
}
static inline size_t rl_csv_field_len(const struct rl_csv *c, uint32_t i)
{
    return c->len[i];
}
/* The line field i of the last row starts on. */
static inline uint64_t rl_csv_field_line(const struct rl_csv *c, uint32_t i)
{
    return c->fline[i];
}

/* 1 when p holds n bytes of valid UTF-8 (no overlong forms, surrogates or NUL). */
int rl_utf8_valid(const char *p, size_t n);

/* Replace each byte of the NUL-terminated s that is not part of valid UTF-8 with '?' (for
 * messages that quote input, or that were cut in the middle of a character). */
void rl_utf8_fix(char *s);

#endif
