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

int proto_errf(struct proto_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
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
