/*
 * The CSV reader (csv.h): a byte-at-a-time state machine over a small input window, writing
 * unquoted field bytes into one bounded row buffer. Every byte is checked against the field and
 * row limits before it is stored, so a huge field costs no more than the limit.
 */
#include "csv.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>

#define EOFB (-1)

static void reset_input(struct rl_csv *c)
{
    c->cur = c->end = c->buf;
    c->offset = 0;
    c->line = 1;
    c->started = 0;
    c->read_err = 0;
    c->nfields = 0;
    c->err_line = 0;
    c->err_col = 0;
    c->err_what[0] = '\0';
}

void rl_csv_open_file(struct rl_csv *c, FILE *f)
{
    c->f = f;
    c->mem = NULL;
    c->mem_len = 0;
    proto_buf_init(&c->row, RL_CSV_MAX_ROW_BYTES + RL_CSV_MAX_FIELDS);
    reset_input(c);
}

void rl_csv_open_buf(struct rl_csv *c, const void *p, size_t n)
{
    c->f = NULL;
    c->mem = p;
    c->mem_len = n;
    proto_buf_init(&c->row, RL_CSV_MAX_ROW_BYTES + RL_CSV_MAX_FIELDS);
    reset_input(c);
    c->cur = c->mem;
    c->end = c->mem + n;
}

void rl_csv_close(struct rl_csv *c)
{
    proto_buf_free(&c->row);
    c->nfields = 0;
}

void rl_csv_tell(const struct rl_csv *c, struct rl_csv_pos *pos)
{
    pos->offset = c->offset;
    pos->line = c->line;
}

int rl_csv_seek(struct rl_csv *c, const struct rl_csv_pos *pos)
{
    if (c->f) {
        if (fseeko(c->f, (off_t)pos->offset, SEEK_SET))
            return -errno;
        clearerr(c->f);
        c->cur = c->end = c->buf;
    } else {
        if (pos->offset > c->mem_len)
            return -EINVAL;
        c->cur = c->mem + pos->offset;
        c->end = c->mem + c->mem_len;
    }
    c->offset = pos->offset;
    c->line = pos->line;
    c->started = pos->offset > 0;
    c->read_err = 0;
    c->nfields = 0;
    return 0;
}

/* Make at least want bytes (at most the window) available; fewer only at the end. */
static void fill(struct rl_csv *c, size_t want)
{
    size_t have = (size_t)(c->end - c->cur);
    if (!c->f || have >= want || c->read_err)
        return;
    memmove(c->buf, c->cur, have);
    c->cur = c->buf;
    c->end = c->buf + have;
    while ((size_t)(c->end - c->cur) < want) {
        size_t got = fread((uint8_t *)c->end, 1, sizeof c->buf - have, c->f);
        c->end += got;
        have += got;
        if (got == 0) {
            if (ferror(c->f))
                c->read_err = errno ? errno : EIO;
            break;
        }
    }
}

static int peekb(struct rl_csv *c)
{
    if (c->cur == c->end)
        fill(c, 1);
    return c->cur < c->end ? *c->cur : EOFB;
}

static int getb(struct rl_csv *c)
{
    int ch = peekb(c);
    if (ch != EOFB) {
        c->cur++;
        c->offset++;
    }
    return ch;
}

static int fail(struct rl_csv *c, struct proto_err *e, int code, uint64_t line, uint32_t col,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));

static int fail(struct rl_csv *c, struct proto_err *e, int code, uint64_t line, uint32_t col,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err_what, sizeof c->err_what, fmt, ap);
    va_end(ap);
    c->err_line = line;
    c->err_col = col;
    c->nfields = 0;
    return proto_errf(e, code, "line %llu, column %u: %s", (unsigned long long)line, col,
                      c->err_what);
}

/* The start of a field as '...' for a message: at most 32 bytes, cut at a character. */
static void excerpt(const uint8_t *p, size_t n, char *out, size_t outn)
{
    size_t k = n < 32 ? n : 32;
    while (k > 0 && k < n && (p[k] & 0xC0) == 0x80)
        k--;
    if (k + 4 > outn)
        k = outn - 4;
    size_t j = 0;
    for (size_t i = 0; i < k; i++)
        out[j++] = p[i] < 0x20 ? ' ' : (char)p[i];
    if (k < n) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
}

/* The length of the valid UTF-8 sequence (not NUL) at p, of at most n bytes; 0 if invalid. */
static size_t utf8_seq(const uint8_t *p, size_t n)
{
    uint8_t b = *p;
    size_t k;
    uint32_t cp, min;
    if (b == 0)
        return 0;
    if (b < 0x80)
        return 1;
    if ((b & 0xE0) == 0xC0) {
        k = 1, cp = b & 0x1F, min = 0x80;
    } else if ((b & 0xF0) == 0xE0) {
        k = 2, cp = b & 0x0F, min = 0x800;
    } else if ((b & 0xF8) == 0xF0) {
        k = 3, cp = b & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n <= k)
        return 0;
    for (size_t i = 1; i <= k; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return k + 1;
}

int rl_utf8_valid(const char *s, size_t n)
{
    const uint8_t *p = (const uint8_t *)s, *end = p + n;
    while (p < end) {
        size_t k = utf8_seq(p, (size_t)(end - p));
        if (!k)
            return 0;
        p += k;
    }
    return 1;
}

void rl_utf8_fix(char *s)
{
    uint8_t *p = (uint8_t *)s;
    size_t n = strlen(s);
    while (n) {
        size_t k = utf8_seq(p, n);
        if (!k) {
            *p = '?';
            k = 1;
        }
        p += k;
        n -= k;
    }
}

/* Store one byte of field i, within the limits. */
static int put(struct rl_csv *c, struct proto_err *e, uint32_t i, int ch)
{
    uint32_t col = i + 1;
    if (c->len[i] >= RL_CSV_MAX_FIELD_BYTES) {
        char ex[48];
        excerpt(c->row.data + c->off[i], c->len[i], ex, sizeof ex);
        return fail(c, e, PROTO_ELIMIT, c->fline[i], col, "field is longer than %u bytes: '%s'",
                    RL_CSV_MAX_FIELD_BYTES, ex);
    }
    if (c->row.len - i >= RL_CSV_MAX_ROW_BYTES)
        return fail(c, e, PROTO_ELIMIT, c->fline[i], col,
                    "row is longer than %u bytes (its fields together)", RL_CSV_MAX_ROW_BYTES);
    if (ch == 0)
        return fail(c, e, -EILSEQ, c->fline[i], col, "a NUL byte in the field");
    if (c->row.len + 1 >= c->row.cap) {
        int rc = proto_buf_reserve(&c->row, 1);
        if (rc)
            return fail(c, e, rc, c->fline[i], col, "out of memory");
    }
    c->row.data[c->row.len++] = (uint8_t)ch;
    c->len[i]++;
    return 0;
}

/* End field i: its NUL, and the encoding check. */
static int end_field(struct rl_csv *c, struct proto_err *e, uint32_t i)
{
    if (c->row.len + 1 >= c->row.cap) {
        int rc = proto_buf_reserve(&c->row, 1);
        if (rc)
            return fail(c, e, rc, c->fline[i], i + 1, "out of memory");
    }
    c->row.data[c->row.len++] = '\0';
    if (!rl_utf8_valid(rl_csv_field(c, i), c->len[i]))
        return fail(
            c, e, -EILSEQ, c->fline[i], i + 1,
            "not valid UTF-8 (save the file as UTF-8, or name its encoding: Excel's Japanese "
            "CSV is cp932, --encoding cp932 on the command line, charset=cp932 in the API)");
    return 0;
}

static int start(struct rl_csv *c, struct proto_err *e)
{
    c->started = 1;
    fill(c, 3);
    size_t have = (size_t)(c->end - c->cur);
    if (have >= 3 && !memcmp(c->cur, "\xEF\xBB\xBF", 3)) {
        c->cur += 3;
        c->offset += 3;
    } else if (have >= 2 && (!memcmp(c->cur, "\xFF\xFE", 2) || !memcmp(c->cur, "\xFE\xFF", 2))) {
        return fail(c, e, -EILSEQ, 1, 1, "the file is UTF-16: save it as UTF-8");
    }
    return 0;
}

int rl_csv_next(struct rl_csv *c, struct proto_err *e)
{
    int ch, rc;
    c->nfields = 0;
    proto_buf_reset(&c->row);
    if (!c->started && (rc = start(c, e)))
        return rc;
    /* lines with nothing on them */
    for (;;) {
        ch = peekb(c);
        if (ch == '\n' || ch == '\r') {
            getb(c);
            if (ch == '\r' && peekb(c) == '\n')
                getb(c);
            c->line++;
            continue;
        }
        break;
    }
    if (ch == EOFB)
        goto at_end;
    for (uint32_t i = 0;; i++) {
        if (i == RL_CSV_MAX_FIELDS)
            return fail(c, e, PROTO_ELIMIT, c->line, i + 1, "a row has more than %u fields",
                        RL_CSV_MAX_FIELDS);
        c->off[i] = (uint32_t)c->row.len;
        c->len[i] = 0;
        c->fline[i] = c->line;
        c->nfields = i + 1;
        if (peekb(c) == '"') {
            getb(c);
            for (;;) {
                ch = getb(c);
                if (ch == EOFB) {
                    if (c->read_err)
                        goto read_error;
                    return fail(c, e, -EINVAL, c->fline[i], i + 1,
                                "the quote that opens this field is never closed");
                }
                if (ch == '"') {
                    if (peekb(c) != '"')
                        break;
                    getb(c);
                } else if (ch == '\n' || (ch == '\r' && peekb(c) != '\n')) {
                    c->line++;
                }
                if ((rc = put(c, e, i, ch)))
                    return rc;
            }
            ch = peekb(c);
            if (ch != ',' && ch != '\n' && ch != '\r' && ch != EOFB)
                return fail(c, e, -EINVAL, c->line, i + 1,
                            "text after the closing quote (a quote inside a quoted field is "
                            "written twice: \"\")");
        } else {
            for (;;) {
                ch = peekb(c);
                if (ch == ',' || ch == '\n' || ch == '\r' || ch == EOFB)
                    break;
                if (ch == '"')
                    return fail(c, e, -EINVAL, c->line, i + 1,
                                "a quote inside an unquoted field (quote the whole field and "
                                "write the quote twice: \"\")");
                getb(c);
                if ((rc = put(c, e, i, ch)))
                    return rc;
            }
        }
        if ((rc = end_field(c, e, i)))
            return rc;
        ch = getb(c);
        if (ch == ',')
            continue;
        if (ch == '\r' && peekb(c) == '\n')
            getb(c);
        if (ch == EOFB && c->read_err)
            goto read_error;
        if (ch != EOFB)
            c->line++;
        return 1;
    }
at_end:
    if (c->read_err)
        goto read_error;
    return 0;
read_error:
    return fail(c, e, -EIO, c->line, c->nfields ? c->nfields : 1, "cannot read the file: %s",
                strerror(c->read_err));
}
