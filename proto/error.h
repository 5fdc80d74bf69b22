/*
 * Errors shared by every layer of relief.
 *
 * Functions return 0 or a negative code: a negative errno (-EINVAL, -ENOENT, -EMSGSIZE, -EPROTO,
 * -ENOSPC, ...) or one of the project codes below. A message meant for a person travels in a
 * struct proto_err passed last; it is lower case, without a full stop, and names the value that
 * was wrong in quotes: "unknown site 'ISH-3'". The struct lives in proto/ because proto is the
 * bottom layer; sync/ and relief/ use the same one.
 */
#ifndef PROTO_ERROR_H
#define PROTO_ERROR_H

#include <stddef.h>

/* Project error codes: name, value, default message. */
#define PROTO_ERRORS(X)                                                                            \
    X(PROTO_EMALFORMED, -1001, "malformed msgpack")                                                \
    X(PROTO_ELIMIT, -1002, "a limit was exceeded")                                                 \
    X(PROTO_ECHAIN, -1003, "op hash chain does not match")                                         \
    X(PROTO_EFIELD, -1004, "invalid field")                                                        \
    X(PROTO_ENOTNODE, -1005, "not a relief data directory")                                        \
    X(PROTO_EFORMAT, -1006, "data format of a newer version")                                      \
    X(PROTO_ECORRUPT, -1007, "data file is damaged")                                               \
    X(PROTO_EEXIST, -1008, "already initialised")                                                  \
    X(PROTO_ENETWORK, -1009, "peer belongs to another relief network")                             \
    X(PROTO_EUSAGE, -1010, "usage error")                                                          \
    X(PROTO_EFORK, -1011, "origin has forked")                                                     \
    X(PROTO_EMAPFULL, -1012, "storage map is full")                                                \
    X(PROTO_EBUSY, -1013, "too many readers")

enum proto_errcode {
#define PROTO_X_ENUM(name, val, msg) name = val,
    PROTO_ERRORS(PROTO_X_ENUM)
#undef PROTO_X_ENUM
};

#define PROTO_ERR_MSG_MAX 512

struct proto_err {
    int code;
    char msg[PROTO_ERR_MSG_MAX];
};

/* Message for a code: a project code's text, or strerror(-code) for a negative errno. */
const char *proto_strerror(int code);

/* Symbolic name of a code ("PROTO_ELIMIT", "ENOENT"), for logs and JSON error bodies. */
const char *proto_errname(int code);

/*
 * Record an error: sets e->code and formats e->msg (when e is not NULL) and returns code, so
 * callers write `return proto_errf(e, -EINVAL, "bad quantity '%s'", s);`. A code of 0 is a bug.
 */
int proto_errf(struct proto_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Clear an error struct. */
void proto_err_clear(struct proto_err *e);

/* The message to show: e->msg if set, else the code's default text. */
const char *proto_err_text(const struct proto_err *e);

#endif
