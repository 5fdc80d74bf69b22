/*
 * relief import sites|items|movements FILE
 * CSV with a header row, all or nothing (import.h; the columns are in relief/IMPORT.md).
 */
#include "cli.h"
#include "import.h"

#include <errno.h>
#include <fcntl.h>
#include <iconv.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
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

/* iconv's name for what a user may call it: Excel's Japanese CSV is Windows-31J (CP932), a
 * superset of Shift_JIS that iconv's SHIFT_JIS refuses parts of (circled digits, NEC kanji) */
static const char *iconv_name(const char *enc)
{
    static const char *const sjis[] = {"shift_jis",   "shift-jis", "sjis", "cp932",
                                       "windows-31j", "ms932",     NULL};
    for (int i = 0; sjis[i]; i++)
        if (!strcasecmp(enc, sjis[i]))
            return "CP932";
    return enc;
}

/*
 * The file in enc, as UTF-8 in a temporary file (read twice, like the file itself); NULL after
 * printing why (the line of a byte sequence that is not enc).
 */
static FILE *to_utf8(FILE *in, const char *path, const char *enc)
{
    iconv_t cd = iconv_open("UTF-8", iconv_name(enc)); /* (checked before) */
    if (cd == (iconv_t)-1) {
        fprintf(stderr, "relief: cannot convert from %s: %s\n", enc, strerror(errno));
        return NULL;
    }
    FILE *out = tmpfile();
    static char ib[1 << 16], ob[1 << 18];
    size_t left = 0;
    unsigned long long line = 1;
    int bad = !out, eof = 0;
    while (!bad && !eof) {
        size_t n = fread(ib + left, 1, sizeof ib - left, in);
        eof = n == 0;
        left += n;
        char *ip = ib;
        while (left > 0) {
            char *op = ob;
            size_t oleft = sizeof ob;
            size_t before = left;
            size_t r = iconv(cd, &ip, &left, &op, &oleft);
            for (const char *q = ip - (before - left); q < ip; q++)
                line += *q == '\n';
            if (fwrite(ob, 1, (size_t)(op - ob), out) != (size_t)(op - ob)) {
                bad = 1;
                fprintf(stderr, "relief: cannot convert '%s': %s\n", path, strerror(errno));
                break;
            }
            if (r != (size_t)-1 || errno == E2BIG)
                continue;
            if (errno == EINVAL && !eof) { /* a character cut by the buffer: read on */
                memmove(ib, ip, left);
                break;
            }
            bad = 1;
            fprintf(stderr, "relief: %s: line %llu: %s %s (is it in another encoding?)\n", path,
                    line, errno == EINVAL ? "ends in the middle of a character in" : "not valid",
                    enc);
            break;
        }
    }
    iconv_close(cd);
    if (!bad && (ferror(in) || fflush(out) || fseeko(out, 0, SEEK_SET))) {
        bad = 1;
        fprintf(stderr, "relief: cannot convert '%s': %s\n", path, strerror(errno));
    }
    if (bad && out) {
        fclose(out);
        out = NULL;
    }
    return out;
}

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
    if (encoding) {
        iconv_t cd = iconv_open("UTF-8", iconv_name(encoding));
        if (cd == (iconv_t)-1)
            return cli_bad_value("--encoding: '%.60s' is not an encoding this system knows "
                                 "(cp932, latin1, utf-16 ...)",
                                 encoding);
        iconv_close(cd);
    }
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
    if (encoding && strcasecmp(encoding, "utf-8") && strcasecmp(encoding, "utf8")) {
        FILE *u = to_utf8(f, path, encoding);
        if (!u) {
            fclose(f);
            fprintf(stderr, "relief: nothing was imported\n");
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
