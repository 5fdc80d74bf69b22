/*
 * relief report needs|stock|shifts|donations [--format table|json|csv|hxl] [--bom]
 */
#include "cli.h"
#include "query.h"
#include "report.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const usage[] = {
    "relief report needs|stock|shifts|donations [--format table|json|csv|hxl] [--bom]",
    "    --bom: csv and hxl start with a UTF-8 byte order mark, for Excel (which reads a CSV "
    "without one in the system's code page: Shift_JIS in Japan)",
    NULL,
};

struct rep_arg {
    const char *name;
    int json;
    json_t *rows;         /* --format json */
    struct rl_cells cells; /* the others */
};

static int rep_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct rep_arg *a = arg;
    if (!a->json)
        return rl_report_cells(t, a->name, &a->cells, e);
    a->rows = rl_report_rows(t, a->name, e);
    return a->rows ? 0 : (e->code ? e->code : -EIO);
}

int cmd_report(struct cli *c, int argc, char **argv)
{
    const char *format = NULL, *bom = NULL;
    const struct cli_opt opts[] = {{"format", 1, &format}, {"bom", 0, &bom}, {NULL, 0, NULL}};
    enum rl_report_fmt fmt = c->json ? RL_REPORT_JSON : RL_REPORT_TABLE;
    int rc;

    if (cli_parse(argc, argv, opts, usage) != 1)
        return cli_usage_error(usage, "report needs one of needs, stock, shifts, donations");
    const struct rl_report_col *cols = rl_report_cols(argv[1]);
    if (!cols)
        return cli_usage_error(usage, "unknown report '%s'", argv[1]);
    if (format) {
        if (!strcmp(format, "table"))
            fmt = RL_REPORT_TABLE;
        else if (!strcmp(format, "json"))
            fmt = RL_REPORT_JSON;
        else if (!strcmp(format, "csv"))
            fmt = RL_REPORT_CSV;
        else if (!strcmp(format, "hxl"))
            fmt = RL_REPORT_HXL;
        else
            return cli_bad_value("--format: '%.100s' is not one of table|json|csv|hxl", format);
    }
    if (bom && fmt != RL_REPORT_CSV && fmt != RL_REPORT_HXL)
        return cli_bad_value("--bom is for --format csv and hxl");
    struct rep_arg a = {argv[1], fmt == RL_REPORT_JSON, NULL, {0, 0, NULL, NULL}};
    if ((rc = cli_read(c, rep_fn, &a)))
        return rc;
    if (fmt == RL_REPORT_TABLE) {
        const char *head[16];
        int right[16], n = 0;
        for (const struct rl_report_col *col = cols; col->key && n < 16; col++, n++) {
            head[n] = col->header;
            right[n] = col->numeric;
        }
        struct cli_table tb;
        const char *ptrs[16];
        cli_table_init(&tb, n, head, right);
        for (size_t i = 0; i < a.cells.nrows; i++) {
            for (int k = 0; k < n; k++)
                ptrs[k] = (size_t)k < a.cells.ncols ? a.cells.v[i * a.cells.ncols + k] : "";
            cli_table_row(&tb, ptrs);
        }
        cli_table_print(&tb);
        cli_table_free(&tb);
    } else {
        struct proto_buf out;
        struct proto_err e;
        proto_buf_init(&out, 1u << 30);
        if (fmt == RL_REPORT_JSON) {
            if ((rc = rl_report_write(cols, a.rows, fmt, &out)))
                proto_errf(&e, rc, "report too large");
            else
                fwrite(out.data, 1, out.len, stdout);
        } else if ((bom && fputs("\xef\xbb\xbf", stdout) < 0 && (rc = -errno)) ||
                   (rc = rl_report_write_cells(cols, &a.cells, fmt, &out, stdout))) {
            /* as main says it when stdout fails at the end */
            proto_errf(&e, rc, "stdout: %s", strerror(-rc));
        }
        proto_buf_free(&out);
        if (rc) {
            json_decref(a.rows);
            rl_cells_free(&a.cells);
            return cli_fail(&e);
        }
    }
    rl_cells_free(&a.cells);
    json_decref(a.rows);
    return RL_EXIT_OK;
}
