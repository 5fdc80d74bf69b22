/*
 * Error codes and messages (see error.h).
 */
#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *proto_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define PROTO_X_MSG(name, val, msg)                                                                \
    case val:                                                                                      \
        return msg;
        PROTO_ERRORS(PROTO_X_MSG)
#undef PROTO_X_MSG
    default:
        return code < 0 ? strerror(-code) : "unknown error";
    }
}

const char *proto_errname(int code)
{
    switch (code) {
    case 0:
        return "OK";
#define PROTO_X_NAME(name, val, msg)                                                               \
    case val:                                                                                      \
        return #name;
        PROTO_ERRORS(PROTO_X_NAME)
#undef PROTO_X_NAME
    case -EINVAL:
        return "EINVAL";
    case -ENOENT:
        return "ENOENT";
    case -EMSGSIZE:
        return "EMSGSIZE";
    case -EPROTO:
        return "EPROTO";
    case -ENOSPC:
        return "ENOSPC";
    case -ENOMEM:
        return "ENOMEM";
    case -EIO:
        return "EIO";
    case -EEXIST:
        return "EEXIST";
    case -EACCES:
        return "EACCES";
    default:
        return "ERROR";
    }
}

/* Bytes in the UTF-8 sequence at p (1 to 4), or 0 when none starts there (a byte that is not
 * UTF-8, or a sequence cut short). */
static size_t utf8_len(const unsigned char *p)
{
    size_t n = p[0] < 0x80                    ? 1
               : p[0] >= 0xC2 && p[0] <= 0xDF ? 2
               : (p[0] & 0xF0) == 0xE0        ? 3
               : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4
                                              : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

/*
 * A message is text for a person: a value quoted in it with a byte limit ('%.40s') or cut by the
 * buffer's size may end inside a character, and a value from a file may not be UTF-8 at all. A
 * character cut short is left out; a byte that is no character becomes '?'.
 */
static void utf8_scrub(char *msg)
{
    unsigned char *r = (unsigned char *)msg, *w = r;
    while (*r) {
        size_t n = utf8_len(r);
        if (n) {
            memmove(w, r, n);
            w += n;
            r += n;
            continue;
        }
        /* a lead byte whose sequence stops early: the character was cut */
        int cut = *r >= 0xC2 && *r <= 0xF4;
        r++;
        while (cut && (*r & 0xC0) == 0x80)
            r++;
        if (!cut)
            *w++ = '?';
    }
    *w = '\0';
}

int proto_errf(struct proto_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        utf8_scrub(e->msg);
    }
    return code;
}

void proto_err_clear(struct proto_err *e)
{
    if (e) {
        e->code = 0;
        e->msg[0] = '\0';
    }
}

const char *proto_err_text(const struct proto_err *e)
{
    if (e->msg[0])
        return e->msg;
    return proto_strerror(e->code);
}
