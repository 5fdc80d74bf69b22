/*
 * relief import sites|items|movements FILE
 * CSV with a header row, all or nothing (import.h; the columns are in relief/IMPORT.md).
 */
#include "cli.h"
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const usage[] = {
    "relief import sites FILE       (a header row naming columns such as name, kind, code)",
    "relief import items FILE       (columns code, name, unit, category)",
    "relief import movements FILE   (columns type, site, to, item, qty, lot, expiry, from, "
    "reason, note)",
    "    --encoding ENC: the file's encoding when it is not UTF-8: cp932 (Excel's Japanese "
    "CSV, Shift_JIS), latin1, ...",
    NULL,
};

int cmd_import(struct cli *c, int argc, char **argv)
{
    enum rl_import_kind kind;
    struct rl_import_opts o;
    struct rl_import_result r;
    struct proto_err e;
    struct stat st;
    int rc;

    const char *encoding = NULL;
    const struct cli_opt opts[] = {{"encoding", 1, &encoding}, {NULL, 0, NULL}};
    int npos = cli_parse(argc, argv, opts, usage);
    if (npos != 2)
        return cli_usage_error(
            usage, npos < 2 ? "import needs what to import and a FILE" : "unexpected argument '%s'",
            npos < 2 ? "" : argv[3]);
    if (rl_import_kind_parse(argv[1], &kind))
        return cli_usage_error(usage, "cannot import '%s': sites, items or movements", argv[1]);
    const char *path = argv[2];
    if (encoding && rl_import_encoding_ok(encoding) == 0)
        return cli_bad_value("--encoding: '%.60s' is not an encoding this system knows "
                             "(cp932, latin1, utf-16 ...)",
                             encoding);
    /* O_NONBLOCK: opening a FIFO with no writer (or a device) would wait for ever; what is not
     * a regular file is refused before anything reads it, and a regular file reads as always */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        fprintf(stderr, "relief: cannot open '%s': %s\n", path, strerror(errno));
        return RL_EXIT_FAIL;
    }
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
        fprintf(stderr,
                "relief: '%s' is not a regular file (it is read twice): copy it to a file first\n",
                path);
        close(fd);
        return RL_EXIT_FAIL;
    }
    FILE *f = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) ? NULL : fdopen(fd, "rb");
    if (!f) {
        fprintf(stderr, "relief: cannot open '%s': %s\n", path, strerror(errno));
        close(fd);
        return RL_EXIT_FAIL;
    }
    /* one import of a file at a time: two would both resume from the same note (import.h) */
    if (flock(fileno(f), LOCK_EX | LOCK_NB) && errno == EWOULDBLOCK) {
        fprintf(stderr, "relief: '%s' is being imported by another relief: wait for it\n", path);
        fclose(f);
        return RL_EXIT_FAIL;
    }
    FILE *locked = NULL; /* the file itself, held locked while its conversion is imported */
    if (encoding && rl_import_encoding_ok(encoding) == 2) {
        FILE *u = NULL;
        proto_err_clear(&e);
        if (rl_import_utf8(f, encoding, &u, &e)) {
            fprintf(stderr, "relief: %s: %s\nrelief: nothing was imported\n", path,
                    proto_err_text(&e));
            fclose(f);
            return RL_EXIT_FAIL;
        }
        locked = f;
        f = u;
    }
    if ((rc = cli_open(c))) {
        fclose(f);
        if (locked)
            fclose(locked);
        return rc;
    }
    memset(&o, 0, sizeof o);
    o.kind = kind;
    o.author = c->by;
    o.name = path;
    proto_err_clear(&e);
    rc = rl_import_file(&c->store, f, &o, &r, &e);
    fclose(f);
    if (locked)
        fclose(locked);
    if (rc) {
        fprintf(stderr, "relief: %s: %s\n", path, proto_err_text(&e));
        if (!r.written)
            fprintf(stderr, "relief: nothing was imported\n");
        return RL_EXIT_FAIL;
    }
    if (c->json)
        cli_json_print(json_pack("{s:s, s:I, s:I, s:i, s:I}", "kind", rl_import_kind_name(kind),
                                 "rows", (json_int_t)r.rows, "written", (json_int_t)r.written,
                                 "transactions", (int)r.transactions, "resumed",
                                 (json_int_t)r.resumed));
    uint64_t now = r.written - r.resumed;
    fprintf(stderr, "imported %llu %s", (unsigned long long)now,
            now == 1 ? (kind == RL_IMPORT_SITES   ? "site"
                        : kind == RL_IMPORT_ITEMS ? "item"
                                                  : "movement")
                     : rl_import_kind_name(kind));
    if (r.resumed)
        fprintf(stderr,
                ", from line %llu on: the rest of an import of this file cut short after "
                "%llu of %llu rows",
                (unsigned long long)r.resumed_line, (unsigned long long)r.resumed,
                (unsigned long long)r.rows);
    fputc('\n', stderr);
    return RL_EXIT_OK;
}
