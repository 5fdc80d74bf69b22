/*
 * A growable byte buffer that cannot exist without a maximum size.
 *
 * Growing past the maximum is an error (-EMSGSIZE), never a crash, so a buffer filled from
 * input sized by a peer stays bounded. Once an append failed the buffer is marked failed and
 * keeps failing: callers may append many pieces and check once (proto_buf_failed).
 */
#ifndef PROTO_BUF_H
#define PROTO_BUF_H

#include <stddef.h>
#include <stdint.h>

struct proto_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
    size_t max;
    int err; /* 0, or the first error of an append */
};

/* An empty buffer that may grow to max bytes. Allocates nothing yet. */
void proto_buf_init(struct proto_buf *b, size_t max);

/* Free the memory; the buffer is empty and usable again with the same maximum. */
void proto_buf_free(struct proto_buf *b);

/* Forget the contents and the error, keep the memory. */
void proto_buf_reset(struct proto_buf *b);

/* Append n bytes. 0, -EMSGSIZE past the maximum, -ENOMEM. */
int proto_buf_add(struct proto_buf *b, const void *p, size_t n);

/* Make room for n more bytes. 0, -EMSGSIZE, -ENOMEM. */
int proto_buf_reserve(struct proto_buf *b, size_t n);

/* Append formatted text (without the terminating NUL; data stays NUL-terminated after it). */
int proto_buf_printf(struct proto_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The first error of any append, or 0. */
static inline int proto_buf_failed(const struct proto_buf *b)
{
    return b->err;
}

/* msgpack-c packer write callback over a struct proto_buf (data = the buffer). */
int proto_buf_msgpack_write(void *data, const char *buf, size_t len);

#endif
