/*
 * A small HTTP/1.1 server on libuv with Debian's http-parser, for the sync endpoints and the
 * JSON API. Keep-alive and pipelining (responses in request order), Content-Length and chunked
 * request bodies, `Expect: 100-continue` answered, and named limits on everything a client
 * controls: header bytes and count, body bytes, connections, and deadlines for a request's
 * headers, for its body, and for the idle time between requests. A request that breaks a limit
 * gets 400/408/413/431/503 with a short text body saying why, and the connection is closed.
 *
 * The handler runs on the loop thread and must bound its own work (the sync handlers read at
 * most one page of ops). It fills a response; the server writes it (gzip-compressing it when
 * resp->gzip_ok is set and the client sent Accept-Encoding: gzip).
 *
 * Handles are embedded in their owners and freed in close callbacks (libuv's rules).
 */
#ifndef SYNC_HTTP_H
#define SYNC_HTTP_H

#include "proto/buf.h"
#include "proto/error.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct sync_http_limits {
    size_t header_bytes;        /* all header lines of a request together */
    unsigned header_count;      /* header fields of a request */
    size_t body_bytes;          /* a request body, decoded from chunked if need be */
    unsigned connections;       /* open connections; one more is answered 503 and closed */
    unsigned header_timeout_ms; /* from the first byte of a request to the end of its headers */
    unsigned body_timeout_ms;   /* from the end of the headers to the end of the body */
    unsigned idle_timeout_ms;   /* a kept-alive connection with no request in flight */
};

/* Defaults: 16 KiB of headers, 64 fields, 16 MiB body, 4096 connections, 10 s, 60 s, 30 s. */
void sync_http_limits_default(struct sync_http_limits *l);

#define SYNC_HTTP_MAX_HEADERS 64

struct sync_http_req {
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* without the query, e.g. "/sync/v1/pull" */
    const char *query;        /* after '?', or "" */
    const char *host;         /* the Host header, or "" */
    unsigned nhost;           /* how many Host headers it had */
    unsigned nauth;           /* how many Authorization headers it had */
    int proxied;              /* it names a client a proxy passed it on for (Forwarded,
                               * X-Forwarded-For, X-Real-IP, X-Forwarded-Host, Via) */
    unsigned http_minor;      /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    const char *content_type; /* or "" */
    const char *content_encoding; /* or "" */
    const char *authorization;    /* the whole Authorization header, or "" */
    int accept_gzip;          /* Accept-Encoding lists gzip */
    const uint8_t *body;      /* the whole body (de-chunked), borrowed */
    size_t body_len;
    unsigned nheaders;
    const char *header_name[SYNC_HTTP_MAX_HEADERS]; /* lower-cased */
    const char *header_value[SYNC_HTTP_MAX_HEADERS];
    const char *peer; /* the client's address, "127.0.0.1:53122" */
    int loopback;     /* the client's address is a loopback one (127.0.0.0/8, ::1) */
    void *conn_;      /* the server's; for sync_http_defer */
};

#define SYNC_HTTP_RESP_HEADERS 12

struct sync_http_resp {
    int status;                /* 200 by default */
    const char *content_type;  /* "application/vnd.msgpack", "application/json", ... */
    struct proto_buf body;     /* the handler appends the body here */
    int gzip_ok;               /* the server may gzip the body for a client that accepts it */
    int gzipped;               /* the body is gzip already (sync_http_gzip, done off the loop
                                  for a request whose accept_gzip was set) */
    unsigned nheaders;         /* extra response headers (static strings or owned by handler
                                  until the handler returns: the server copies them) */
    const char *header_name[SYNC_HTTP_RESP_HEADERS];
    const char *header_value[SYNC_HTTP_RESP_HEADERS];
};

/* Compress b in place as one gzip member (for resp.gzipped); 0, or an error with b untouched. */
int sync_http_gzip(struct proto_buf *b);

/* Look up a request header by lower-case name ("" when absent). */
const char *sync_http_header(const struct sync_http_req *req, const char *name);

typedef void (*sync_http_handler)(void *arg, const struct sync_http_req *req,
                                  struct sync_http_resp *resp);

struct sync_http_server;

/*
 * Asked with a request's headers, before its body is read: 0 lets the body be read (and the
 * handler answer), anything else refuses the request with resp (filled by it) and closes the
 * connection, the body unread -- so that a client without the right to send one cannot make
 * the server hold megabytes of it. req->body is empty then.
 */
typedef int (*sync_http_early)(void *arg, const struct sync_http_req *req,
                               struct sync_http_resp *resp);
void sync_http_server_set_early(struct sync_http_server *s, sync_http_early early);

/*
 * Listen on host:port (port 0 picks one; sync_http_server_port tells which) and serve with
 * handler on loop. 0 or a negative errno with a message in e ("cannot listen on
 * 127.0.0.1:8080: address already in use").
 */
int sync_http_server_start(uv_loop_t *loop, const char *host, int port,
                           const struct sync_http_limits *limits, sync_http_handler handler,
                           void *arg, struct sync_http_server **out, struct proto_err *e);

/*
 * Answer a request later, e.g. once a group commit made its write durable. Called by the
 * handler, which then leaves resp alone; the connection reads no further request until the
 * answer is given with sync_http_complete (which takes resp's body). Completing after the
 * connection closed (the client went away, the server stopped) only frees. The request's
 * pointers are not valid after the handler returns: copy what is needed.
 */
struct sync_http_pending;
struct sync_http_pending *sync_http_defer(const struct sync_http_req *req);
void sync_http_complete(struct sync_http_pending *p, struct sync_http_resp *resp);
/* The handler changed its mind before returning: it answers through resp after all. */
void sync_http_undefer(struct sync_http_pending *p);

/* A response ready to be filled and given to sync_http_complete (status 200, empty body). */
void sync_http_resp_init(struct sync_http_resp *resp);

int sync_http_server_port(const struct sync_http_server *s);

/* Connections open now (for tests and status). */
unsigned sync_http_server_connections(const struct sync_http_server *s);

/*
 * Stop listening, close every connection after the response in flight (if any) is written,
 * and free the server; done (may be NULL) is called from the loop once everything is closed.
 */
void sync_http_server_stop(struct sync_http_server *s, void (*done)(void *arg), void *arg);

/* Status text for a status code ("Not Found"). */
const char *sync_http_reason(int status);

#endif
