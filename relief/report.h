/*
 * Reports for spreadsheets and the authorities: needs, stock, shifts and donations as rows
 * with fixed columns, written as JSON, CSV (RFC 4180, with cells that a spreadsheet would run
 * as formulas made inert) or HXL (CSV with a row of Humanitarian Exchange Language hashtags
 * under the header). The CLI prints the same rows as a table.
 */
#ifndef RL_REPORT_H
#define RL_REPORT_H

#include "proto/buf.h"
#include "store.h"

#include <jansson.h>
#include <stdio.h>

struct rl_report_col {
    const char *key;    /* the row object's key (and the JSON name) */
    const char *header; /* the CSV header */
    const char *hxl;    /* the HXL hashtag */
    int numeric;
};

enum rl_report_fmt { RL_REPORT_TABLE = 1, RL_REPORT_JSON, RL_REPORT_CSV, RL_REPORT_HXL };

/* The columns of a report (NULL-key terminated), or NULL for an unknown name. */
const struct rl_report_col *rl_report_cols(const char *name);

/* The rows of a report: a JSON array of objects with the columns' keys. */
json_t *rl_report_rows(struct rl_txn *t, const char *name, struct proto_err *e);

struct rl_cells;

/*
 * The rows of a report as text cells in its columns' order: what the CSV, HXL and table
 * formats print. The needs report is built without JSON (thousands of needs: fast enough for
 * a coordinator's spreadsheet export); the others go through rl_report_rows.
 */
int rl_report_cells(struct rl_txn *t, const char *name, struct rl_cells *out,
                    struct proto_err *e);

/* Write cells as CSV or HXL into out; with to, out is written to it and emptied every
 * RL_REPORT_FLUSH bytes or so and at the end (a big report is never held whole): -errno when
 * that write fails. */
#define RL_REPORT_FLUSH (64u << 10)
int rl_report_write_cells(const struct rl_report_col *cols, const struct rl_cells *cells,
                          enum rl_report_fmt fmt, struct proto_buf *out, FILE *to);

/* Write rows as CSV or HXL (header row, then for HXL the hashtag row) or JSON into out. */
int rl_report_write(const struct rl_report_col *cols, json_t *rows, enum rl_report_fmt fmt,
                    struct proto_buf *out);

/* A JSON value as text for a cell: strings as they are, numbers in decimal (a real, which is a
 * latitude or longitude, with at most 6 decimals and no trailing zeros: 38.4262), yes/no, ""
 * when missing. */
void rl_json_text(json_t *v, char *out, size_t n);

/*
 * The flag for json_dumps that prints reals as relief stores them: the only reals are
 * degrees, microdegrees / 1e6, which 15 significant digits give exactly as typed (38.4262)
 * where jansson's default 17 show the binary's 38.426200000000001.
 */
#define RL_JSON_REALS JSON_REAL_PRECISION(15)

/* One cell as text (numbers in decimal, missing values empty). */
void rl_report_cell(json_t *row, const struct rl_report_col *col, char *out, size_t n);

#endif
