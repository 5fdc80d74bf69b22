/*
 * What the CLI's subcommand files share: the global options, option parsing, opening the node,
 * printing errors and JSON. Only the CLI (main.c, cmd_*.c) prints or exits.
 */
#ifndef RL_CLI_H
#define RL_CLI_H

#include "proto/error.h"
#include "store.h"

#include <jansson.h>
#include <stdint.h>

/* Exit statuses of DESIGN.md section 7. */
#define RL_EXIT_OK 0
#define RL_EXIT_FAIL 1
#define RL_EXIT_USAGE 2

struct cli {
    const char *data_dir; /* --data, $RELIEF_DATA, $XDG_DATA_HOME/relief, ~/.local/share/relief */
    int json;             /* --json */
    const char *by;       /* --by, $RELIEF_USER, else NULL (the node's name) */
    struct rl_store store;
    int open;
    char data_buf[4096];
};

/* A long option of a subcommand. */
struct cli_opt {
    const char *name; /* without the dashes */
    int has_arg;
    const char **value; /* set to the argument, or to "1" for a flag */
};

/*
 * Parse argv[1..argc) against opts; the remaining positional arguments are moved to the front
 * of argv (after argv[0]) and their count returned. -h / --help prints usage and exits 0; an
 * unknown option or a missing argument prints the usage to stderr and exits 2.
 */
int cli_parse(int argc, char **argv, const struct cli_opt *opts, const char *const *usage);

/* Print the usage lines to f. */
void cli_usage(FILE *f, const char *const *usage);

/*
 * The subcommand (argv[1]) of a command that has them. NULL when there is none (the usage on
 * stderr, *rc = RL_EXIT_USAGE) or when it is -h / --help (the usage on stdout, *rc = 0).
 */
const char *cli_subcommand(int argc, char **argv, const char *const *usage, int *rc);

/* Usage error: message and usage on stderr, returns RL_EXIT_USAGE. */
int cli_usage_error(const char *const *usage, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * A bad value given to an option or as an argument (a usage error is a missing or unknown one):
 * one line "relief: MESSAGE" on stderr (the value made safe for a terminal by the caller's
 * format: quote it), returns RL_EXIT_FAIL.
 */
int cli_bad_value(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "relief: MESSAGE" on stderr; returns the exit status for the error (1, or 2). */
int cli_fail(const struct proto_err *e);

/* Open the node in cli->data_dir (once). 0 or an exit status after printing the error. */
int cli_open(struct cli *c);

/* Open the node and run fn in a read transaction: 0, or an exit status after printing the
 * error. */
int cli_read(struct cli *c, rl_txn_fn fn, void *arg);

/* Print a JSON value on stdout (and free it). */
void cli_json_print(json_t *v);

/* 64-bit id as 16 hex digits. */
void cli_id(uint64_t id, char out[17]);

/* Human size: "1.5 MiB". */
void cli_size(uint64_t bytes, char *out, size_t n);

/* Subcommands. */
int cmd_init(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_log(struct cli *c, int argc, char **argv);
int cmd_digest(struct cli *c, int argc, char **argv);
int cmd_backup(struct cli *c, int argc, char **argv);

#endif

/* A table for the terminal: columns line up by display width (CJK text counts double). */
struct cli_table {
    int ncols;
    const char *head[16];
    int right[16]; /* right-align (numbers) */
    char *text;    /* the cells' strings, one after another, each ended by a NUL */
    size_t len, text_cap;
    size_t *at;    /* nrows * ncols: where each cell's string starts in text */
    size_t *width; /* nrows * ncols: each cell's display width */
    size_t nrows, cap;
    int oom;     /* a row was dropped for want of memory */
    int no_head; /* print the rows alone (head NULL in cli_table_init) */
};

void cli_table_init(struct cli_table *t, int ncols, const char *const *head, const int *right);
void cli_table_row(struct cli_table *t, const char *const *cells);
/* Order the rows by column c1, then c2 (-1: none), byte order; rows alike keep their order. */
void cli_table_sort(struct cli_table *t, int c1, int c2);
void cli_table_print(struct cli_table *t);
void cli_table_free(struct cli_table *t);

/* Columns a UTF-8 string takes in a terminal. */
size_t cli_width(const char *s);

/*
 * Stored text for a person, outside a table: control characters are shown as '?' (as tables
 * show them), so a name can neither move the cursor nor split a line. s may be NULL.
 */
void cli_put_safe(FILE *f, const char *s);
/* The same, then spaces up to cols display columns (CJK text counts double). */
void cli_put_padded(FILE *f, const char *s, size_t cols);

struct rl_edit;
struct rl_fieldopt;
/* Parse the field options of a record edit (one --NAME VALUE per field of the table) into ed;
 * returns the count of positional arguments. */
int cli_parse_fields(int argc, char **argv, const struct rl_fieldopt *fields,
                     const char *const *usage, struct rl_edit *ed);
int cli_has_field(const struct rl_edit *ed, const char *name);
/* Apply an edit and print the record's id; what names it in messages. */
int cli_write_edit(struct cli *c, struct rl_edit *ed, const char *what);
/* A JSON value as text for a table cell (strings as they are, numbers, yes/no). */
void cli_jfmt(json_t *o, const char *key, char *out, size_t n);
/*
 * A time the node keeps in UTC (2026-11-29T20:25:00.000Z, as JSON gives it) as a person reads
 * and types it: local time without an offset, to the minute (to the second with secs). Text
 * that is not such a time comes back as it is. Returns out.
 */
const char *cli_local_time(const char *iso, char *out, size_t n, int secs);

int cmd_site(struct cli *c, int argc, char **argv);
int cmd_need(struct cli *c, int argc, char **argv);
int cmd_shift(struct cli *c, int argc, char **argv);
int cmd_donation(struct cli *c, int argc, char **argv);
int cmd_trace(struct cli *c, int argc, char **argv);
int cmd_report(struct cli *c, int argc, char **argv);
int cmd_demo(struct cli *c, int argc, char **argv);
int cmd_bundle(struct cli *c, int argc, char **argv);
int cmd_token(struct cli *c, int argc, char **argv);
int cmd_peer(struct cli *c, int argc, char **argv);
int cmd_serve(struct cli *c, int argc, char **argv);
int cmd_item(struct cli *c, int argc, char **argv);
int cmd_stock(struct cli *c, int argc, char **argv);
int cmd_alerts(struct cli *c, int argc, char **argv);
int cmd_conflicts(struct cli *c, int argc, char **argv);
int cmd_import(struct cli *c, int argc, char **argv);
