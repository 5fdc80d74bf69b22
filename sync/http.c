/*
 * The HTTP/1.1 server (see http.h): libuv streams fed to http-parser, one request at a time per
 * connection, the handler called once a request is complete, responses written in order.
 *
 * Each connection owns a uv_tcp_t and one uv_timer_t (both embedded, the connection freed once
 * both close callbacks ran) and an http_parser fed from every read. The timer has one job at a
 * time: the idle deadline before a request starts, the header deadline from a request's first
 * byte (a client trickling bytes cannot push it back), the body deadline, a progress check while
 * responses wait to be written, and the linger after a final response. Reads go into one buffer
 * of the server: libuv on unix calls read_cb right after alloc_cb, so it is never shared.
 *
 * Backpressure: when the responses not yet written pass SYNC_HTTP_PENDING_BYTES or
 * SYNC_HTTP_PENDING_RESPONSES, the parser is paused right after the request it finished, the
 * unparsed rest of the read is kept (at most one read) and reading stops until writes drain.
 *
 * Closing after a final response (an error, Connection: close, HTTP/1.0) shuts down our side
 * and keeps reading and discarding for a short linger, so that data the client already sent
 * does not make the kernel reset the connection before the client read our answer.
 *
 * Settled here where http.h is silent: header_bytes counts the request target and each header's
 * name and value plus 4 bytes per header (": " and CRLF), and http-parser's own 80 KiB bound on
 * the raw header section also answers 431; header_count above SYNC_HTTP_MAX_HEADERS counts as
 * SYNC_HTTP_MAX_HEADERS (a request cannot carry more); a timeout of 0 means none; an HTTP/1.0
 * request that asks for keep-alive gets it; a 204 or 304 response carries no body and a HEAD
 * response no body bytes; a handler's header or content type containing CR or LF is dropped;
 * a response body that overflowed its buffer becomes a 500.
 */
#include "sync/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <http_parser.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <zlib.h>

/* One read; also the most the parser may leave unparsed when paused. */
#define SYNC_HTTP_READ_BYTES (64u * 1024)
/* Responses queued but not yet written that pause reading... */
#define SYNC_HTTP_PENDING_BYTES (1024u * 1024)
#define SYNC_HTTP_PENDING_RESPONSES 32u
/* A response body the handler builds. */
#define SYNC_HTTP_RESP_BODY_MAX (64u * 1024 * 1024)
/* The status line and headers of a response. */
#define SYNC_HTTP_RESP_HEAD_MAX (16u * 1024)
/* Bodies up to this size are sent as they are. */
#define SYNC_HTTP_GZIP_MIN 512u
/* After a final response: read and discard for this long, or this many bytes, then close. */
#define SYNC_HTTP_LINGER_MS 2000u
#define SYNC_HTTP_LINGER_BYTES (1024u * 1024)
/* Connections being answered 503 at once; more are closed without an answer. */
#define SYNC_HTTP_REJECTING_MAX 64u
/* A request body buffer larger than this is freed between requests rather than kept. */
#define SYNC_HTTP_KEEP_BODY_BYTES (64u * 1024)
/* What the handler sees of a client's expectation in a 417 message. */
#define SYNC_HTTP_QUOTE_MAX 64

enum conn_timer {
    T_NONE,
    T_IDLE,   /* no request in flight */
    T_HEADER, /* a request started, its headers are not complete */
    T_BODY,   /* headers complete, body not */
    T_DRAIN,  /* reading paused or closing: responses waiting to be written */
    T_LINGER, /* final response written, discarding what the client still sends */
};

enum hdr_last { H_NONE, H_URL, H_FIELD, H_VALUE };

struct sync_http_server;

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shut;
    struct sync_http_server *s;
    http_parser parser;
    struct conn *prev, *next;
    int handles;    /* handles not yet closed */
    int closing;    /* uv_close called */
    int rejecting;  /* answered 503, counted in s->nrejecting */
    int want_close; /* close once the queued responses are written */
    int no_linger;  /* ... without lingering */
    int lingering;  /* shut down, discarding input */
    int paused;     /* parser paused for backpressure; rest of the read in stash */
    int eof;        /* the client shut down its side */
    int reading;
    enum conn_timer tmode;
    size_t tqueue; /* write queue size when the drain timer was armed */
    size_t linger_bytes;
    unsigned pending_writes;
    size_t pending_bytes;
    struct proto_buf stash;
    /* the request being parsed */
    struct proto_buf hb; /* url, then names and values, each NUL-terminated */
    size_t hdr_bytes;
    size_t query_off; /* 0: no query */
    unsigned nh;
    enum hdr_last last;
    int headers_done; /* what follows are trailers: counted, not kept */
    int head_req;     /* the request being read is a HEAD (known from its URL on) */
    size_t name_off[SYNC_HTTP_MAX_HEADERS];
    size_t val_off[SYNC_HTTP_MAX_HEADERS];
    struct proto_buf body;
    char peer[64];
    struct sync_http_pending *deferred; /* the request being answered later */
    int want_keep, want_head, want_gzip;  /* ... and how to answer it */
};

struct sync_http_pending {
    struct conn *c; /* NULL once the connection closed */
};

struct sync_http_server {
    uv_loop_t *loop;
    uv_tcp_t listener;
    struct sync_http_limits lim;
    sync_http_handler handler;
    sync_http_early early; /* or NULL */
    void *arg;
    http_parser_settings settings;
    int port;
    unsigned nconns;     /* serving connections (the limit applies to these) */
    unsigned nrejecting; /* connections being answered 503 */
    struct conn *conns;
    int stopping;
    int listener_closed;
    void (*done)(void *arg);
    void *done_arg;
    char rbuf[SYNC_HTTP_READ_BYTES];
};

struct wreq {
    uv_write_t req;
    struct conn *c;
    struct proto_buf head, body;
    size_t bytes;
};

static void feed(struct conn *c, const char *data, size_t len);
static void conn_close(struct conn *c);

void sync_http_limits_default(struct sync_http_limits *l)
{
    l->header_bytes = 16 * 1024;
    l->header_count = SYNC_HTTP_MAX_HEADERS;
    l->body_bytes = 16 * 1024 * 1024;
    l->connections = 4096;
    l->header_timeout_ms = 10000;
    l->body_timeout_ms = 60000;
    l->idle_timeout_ms = 30000;
}

const char *sync_http_reason(int status)
{
    switch (status) {
    case 100:
        return "Continue";
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 202:
        return "Accepted";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 302:
        return "Found";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    case 408:
        return "Request Timeout";
    case 409:
        return "Conflict";
    case 411:
        return "Length Required";
    case 413:
        return "Payload Too Large";
    case 415:
        return "Unsupported Media Type";
    case 417:
        return "Expectation Failed";
    case 421:
        return "Misdirected Request";
    case 422:
        return "Unprocessable Entity";
    case 429:
        return "Too Many Requests";
    case 431:
        return "Request Header Fields Too Large";
    case 500:
        return "Internal Server Error";
    case 501:
        return "Not Implemented";
    case 503:
        return "Service Unavailable";
    case 507:
        return "Insufficient Storage";
    default:
        return "Unknown";
    }
}

const char *sync_http_header(const struct sync_http_req *req, const char *name)
{
    for (unsigned i = 0; i < req->nheaders; i++)
        if (!strcmp(req->header_name[i], name))
            return req->header_value[i];
    return "";
}

int sync_http_server_port(const struct sync_http_server *s)
{
    return s->port;
}

unsigned sync_http_server_connections(const struct sync_http_server *s)
{
    return s->nconns + s->nrejecting;
}

/* ---- lifetime ---- */

static void maybe_finish(struct sync_http_server *s)
{
    if (!s->stopping || !s->listener_closed || s->conns)
        return;
    void (*done)(void *) = s->done;
    void *arg = s->done_arg;
    free(s);
    if (done)
        done(arg);
}

static void conn_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    if (--c->handles > 0)
        return;
    struct sync_http_server *s = c->s;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    if (c->rejecting)
        s->nrejecting--;
    else
        s->nconns--;
    proto_buf_free(&c->stash);
    proto_buf_free(&c->hb);
    proto_buf_free(&c->body);
    free(c);
    maybe_finish(s);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->deferred) {
        c->deferred->c = NULL;
        c->deferred = NULL;
    }
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed);
}

/* ---- timer ---- */

static void on_timer(uv_timer_t *t);

static void arm(struct conn *c, enum conn_timer mode, unsigned ms)
{
    c->tmode = mode;
    c->tqueue = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    if (ms)
        uv_timer_start(&c->timer, on_timer, ms, 0);
    else
        uv_timer_stop(&c->timer);
}

static void disarm(struct conn *c)
{
    c->tmode = T_NONE;
    uv_timer_stop(&c->timer);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct conn *c = h->data;
    (void)suggested;
    buf->base = c->s->rbuf;
    buf->len = sizeof c->s->rbuf;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf);

static void read_start(struct conn *c)
{
    if (c->reading || c->closing)
        return;
    if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = 1;
    else
        conn_close(c);
}

static void read_stop(struct conn *c)
{
    if (!c->reading)
        return;
    uv_read_stop((uv_stream_t *)&c->tcp);
    c->reading = 0;
}

/* ---- writing ---- */

static void on_shutdown(uv_shutdown_t *req, int status)
{
    struct conn *c = req->data;
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    c->lingering = 1;
    read_start(c);
}

/* The last response is written: close now, or shut down and linger. */
static void finish(struct conn *c)
{
    if (c->closing)
        return;
    if (c->no_linger || c->s->stopping || c->eof) {
        conn_close(c);
        return;
    }
    read_stop(c);
    arm(c, T_LINGER, SYNC_HTTP_LINGER_MS);
    c->shut.data = c;
    if (uv_shutdown(&c->shut, (uv_stream_t *)&c->tcp, on_shutdown))
        conn_close(c);
}

static int below_low_water(const struct conn *c)
{
    return c->pending_bytes <= SYNC_HTTP_PENDING_BYTES / 2 &&
           c->pending_writes <= SYNC_HTTP_PENDING_RESPONSES / 2;
}

static void eof_reached(struct conn *c)
{
    read_stop(c);
    if (c->pending_writes) {
        c->want_close = 1;
        c->no_linger = 1;
        arm(c, T_DRAIN, c->s->lim.idle_timeout_ms);
    } else {
        conn_close(c);
    }
}

/* Writes drained far enough: parse what was left of the last read, then read again. */
static void resume(struct conn *c)
{
    c->paused = 0;
    http_parser_pause(&c->parser, 0);
    /* paused only between requests: a stashed request's deadline starts when it is parsed */
    arm(c, T_IDLE, c->s->lim.idle_timeout_ms);
    if (c->stash.len) {
        size_t n = c->stash.len;
        feed(c, (const char *)c->stash.data, n);
        if (c->closing)
            return;
        if (!c->paused)
            c->stash.len = 0;
    }
    if (c->paused || c->want_close)
        return;
    if (c->eof)
        eof_reached(c);
    else
        read_start(c);
}

static void on_write(uv_write_t *req, int status)
{
    struct wreq *w = (struct wreq *)req;
    struct conn *c = w->c;
    c->pending_writes--;
    c->pending_bytes -= w->bytes;
    proto_buf_free(&w->head);
    proto_buf_free(&w->body);
    free(w);
    if (c->closing)
        return;
    if (status < 0) {
        conn_close(c);
        return;
    }
    if (c->want_close) {
        if (!c->pending_writes)
            finish(c);
        return;
    }
    if (c->paused && !c->deferred && below_low_water(c))
        resume(c);
}

/* Queue head (and body) for writing; takes their memory. */
static void queue(struct conn *c, struct proto_buf *head, struct proto_buf *body)
{
    struct wreq *w = malloc(sizeof *w);
    if (!w) {
        proto_buf_free(head);
        if (body)
            proto_buf_free(body);
        conn_close(c);
        return;
    }
    w->c = c;
    w->head = *head;
    proto_buf_init(head, head->max);
    proto_buf_init(&w->body, 0);
    if (body) {
        w->body = *body;
        proto_buf_init(body, body->max);
    }
    uv_buf_t bufs[2] = {uv_buf_init((char *)w->head.data, (unsigned)w->head.len),
                        uv_buf_init((char *)w->body.data, (unsigned)w->body.len)};
    unsigned n = w->body.len ? 2 : 1;
    w->bytes = w->head.len + w->body.len;
    if (uv_write(&w->req, (uv_stream_t *)&c->tcp, bufs, n, on_write)) {
        proto_buf_free(&w->head);
        proto_buf_free(&w->body);
        free(w);
        conn_close(c);
        return;
    }
    c->pending_writes++;
    c->pending_bytes += w->bytes;
}

/* The Date header's value, formatted once a second (the loop thread alone calls this). */
static const char *http_date(void)
{
    static time_t last = -1;
    static char text[64];
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    return text;
}

static void add_str(struct proto_buf *h, const char *s)
{
    proto_buf_add(h, s, strlen(s));
}

static int has_crlf(const char *s)
{
    return strpbrk(s, "\r\n") != NULL;
}

/* Format the status line and the fixed headers; extra lines follow, then "\r\n". */
static void head_start(struct proto_buf *h, int status, const char *type, size_t len, int body,
                       int keep)
{
    char num[32];
    if (status == 200) {
        add_str(h, "HTTP/1.1 200 OK\r\n");
    } else {
        snprintf(num, sizeof num, "HTTP/1.1 %d ", status);
        add_str(h, num);
        add_str(h, sync_http_reason(status));
        add_str(h, "\r\n");
    }
    if (body) {
        add_str(h, "Content-Type: ");
        add_str(h, type);
        snprintf(num, sizeof num, "\r\nContent-Length: %zu\r\n", len);
        add_str(h, num);
    }
    add_str(h, keep ? "Connection: keep-alive\r\nDate: " : "Connection: close\r\nDate: ");
    add_str(h, http_date());
    add_str(h, "\r\n");
}

/*
 * Answer with a short text and close after it: the limits and errors the server decides itself.
 * Stops the parser (callbacks return -1 once want_close is set) and reading.
 */
static void fail(struct conn *c, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void fail(struct conn *c, int status, const char *fmt, ...)
{
    if (c->want_close || c->closing)
        return;
    struct proto_buf body, head;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    proto_buf_init(&body, sizeof msg + 2);
    proto_buf_printf(&body, "%s\n", msg);
    proto_buf_init(&head, SYNC_HTTP_RESP_HEAD_MAX);
    head_start(&head, status, "text/plain; charset=utf-8", body.len, 1, 0);
    proto_buf_add(&head, "\r\n", 2);
    /* the answer to a HEAD has no body, an error's neither (the client reads none) */
    if (c->head_req)
        proto_buf_free(&body);
    c->want_close = 1;
    read_stop(c);
    arm(c, T_DRAIN, c->s->lim.idle_timeout_ms);
    queue(c, &head, &body);
}

/* ---- gzip ---- */

int sync_http_gzip(struct proto_buf *b)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    struct proto_buf out;
    uLong bound = deflateBound(&z, (uLong)b->len);
    proto_buf_init(&out, bound);
    int rc = proto_buf_reserve(&out, bound);
    if (rc == 0) {
        z.next_in = b->data;
        z.avail_in = (uInt)b->len;
        z.next_out = out.data;
        z.avail_out = (uInt)bound;
        if (deflate(&z, Z_FINISH) == Z_STREAM_END)
            out.len = z.total_out;
        else
            rc = -EPROTO;
    }
    deflateEnd(&z);
    if (rc) {
        proto_buf_free(&out);
        return rc;
    }
    proto_buf_free(b);
    *b = out;
    return 0;
}

/* Accept-Encoding lists gzip (or x-gzip, or *) without q=0. */
static int accepts_gzip(const char *v)
{
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *tok = v;
        while (*v && *v != ',' && *v != ';' && *v != ' ' && *v != '\t')
            v++;
        size_t n = (size_t)(v - tok);
        int match = (n == 4 && !strncasecmp(tok, "gzip", 4)) ||
                    (n == 6 && !strncasecmp(tok, "x-gzip", 6)) || (n == 1 && *tok == '*');
        int q0 = 0;
        while (*v && *v != ',') {
            if (*v == ';') {
                v++;
                while (*v == ' ' || *v == '\t')
                    v++;
                if ((*v == 'q' || *v == 'Q') && v[1] == '=') {
                    const char *q = v + 2;
                    if (*q == '0') {
                        q0 = 1;
                        q++;
                        if (*q == '.')
                            for (q++; *q >= '0' && *q <= '9'; q++)
                                if (*q != '0')
                                    q0 = 0;
                    }
                }
                continue;
            }
            v++;
        }
        if (match && !q0)
            return 1;
    }
    return 0;
}

/* ---- requests ---- */

static void request_reset(struct conn *c)
{
    proto_buf_reset(&c->hb);
    if (c->body.cap > SYNC_HTTP_KEEP_BODY_BYTES)
        proto_buf_free(&c->body);
    else
        proto_buf_reset(&c->body);
    c->hdr_bytes = 0;
    c->nh = 0;
    c->last = H_NONE;
    c->headers_done = 0;
    c->head_req = 0;
}

static const char *hb_str(const struct conn *c, size_t off)
{
    return (const char *)c->hb.data + off;
}

static int count_header_bytes(struct conn *c, size_t n)
{
    const struct sync_http_limits *l = &c->s->lim;
    if (n > l->header_bytes || c->hdr_bytes > l->header_bytes - n) {
        fail(c, 431, "request headers larger than %zu bytes", l->header_bytes);
        return -1;
    }
    c->hdr_bytes += n;
    return 0;
}

static int hb_add(struct conn *c, const void *p, size_t n)
{
    if (proto_buf_add(&c->hb, p, n)) {
        fail(c, 500, "out of memory for request headers");
        return -1;
    }
    return 0;
}

static unsigned header_limit(const struct sync_http_server *s)
{
    return s->lim.header_count < SYNC_HTTP_MAX_HEADERS ? s->lim.header_count
                                                       : SYNC_HTTP_MAX_HEADERS;
}

static int on_message_begin(http_parser *p)
{
    struct conn *c = p->data;
    request_reset(c);
    arm(c, T_HEADER, c->s->lim.header_timeout_ms);
    return 0;
}

static int on_url(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    c->head_req = p->method == HTTP_HEAD;
    if (count_header_bytes(c, n) || hb_add(c, at, n))
        return -1;
    c->last = H_URL;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    if (c->headers_done)
        return count_header_bytes(c, n);
    if (c->last != H_FIELD) {
        if (c->nh >= header_limit(c->s)) {
            fail(c, 431, "more than %u request header fields", header_limit(c->s));
            return -1;
        }
        if (count_header_bytes(c, 4) || hb_add(c, "", 1))
            return -1;
        c->name_off[c->nh] = c->hb.len;
        c->val_off[c->nh] = 0;
        c->nh++;
        c->last = H_FIELD;
    }
    if (count_header_bytes(c, n) || hb_add(c, at, n))
        return -1;
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    if (c->headers_done)
        return count_header_bytes(c, n);
    if (c->last != H_VALUE) {
        if (c->last != H_FIELD)
            return -1;
        /* RFC 9112 5.1: no whitespace between a field name and its colon (a proxy and this
         * server could each read "X-Forwarded-For :" as a different header) */
        size_t end = c->hb.len;
        if (end > c->name_off[c->nh - 1] &&
            (c->hb.data[end - 1] == ' ' || c->hb.data[end - 1] == '\t')) {
            fail(c, 400, "whitespace between a header field's name and its colon");
            return -1;
        }
        if (hb_add(c, "", 1))
            return -1;
        c->val_off[c->nh - 1] = c->hb.len;
        c->last = H_VALUE;
    }
    if (count_header_bytes(c, n) || hb_add(c, at, n))
        return -1;
    return 0;
}

/* Once the headers are complete: cut the query off the path, lower-case the names. */
static void finish_headers(struct conn *c)
{
    char *url = (char *)c->hb.data;
    char *q = strchr(url, '?');
    c->query_off = 0;
    if (q) {
        *q = '\0';
        c->query_off = (size_t)(q + 1 - url);
    }
    for (unsigned i = 0; i < c->nh; i++)
        for (char *k = (char *)c->hb.data + c->name_off[i]; *k; k++)
            if (*k >= 'A' && *k <= 'Z')
                *k = (char)(*k - 'A' + 'a');
}

/* The request the handler sees; pointers into c->hb and c->body. */
static void build_request(const struct conn *c, struct sync_http_req *r)
{
    memset(r, 0, sizeof *r);
    r->method = http_method_str((enum http_method)c->parser.method);
    r->path = hb_str(c, 0);
    r->query = c->query_off ? hb_str(c, c->query_off) : "";
    r->nheaders = c->nh;
    for (unsigned i = 0; i < c->nh; i++) {
        r->header_name[i] = hb_str(c, c->name_off[i]);
        r->header_value[i] = hb_str(c, c->val_off[i]);
    }
    r->host = sync_http_header(r, "host");
    static const char *const proxy_headers[] = {"forwarded", "x-forwarded-for", "x-real-ip",
                                                "x-forwarded-host", "via"};
    for (unsigned i = 0; i < c->nh; i++) {
        r->nhost += !strcmp(r->header_name[i], "host");
        r->nauth += !strcmp(r->header_name[i], "authorization");
        for (size_t j = 0; j < sizeof proxy_headers / sizeof *proxy_headers; j++)
            r->proxied |= !strcmp(r->header_name[i], proxy_headers[j]);
    }
    r->http_minor = c->parser.http_minor;
    r->content_type = sync_http_header(r, "content-type");
    r->content_encoding = sync_http_header(r, "content-encoding");
    r->authorization = sync_http_header(r, "authorization");
    r->accept_gzip = accepts_gzip(sync_http_header(r, "accept-encoding"));
    r->body = c->body.data ? c->body.data : (const uint8_t *)"";
    r->body_len = c->body.len;
    r->peer = c->peer;
    r->loopback = !strncmp(c->peer, "127.", 4) || !strncmp(c->peer, "[::1]", 5) ||
                  !strncmp(c->peer, "[::ffff:127.", 12);
    r->conn_ = (void *)c;
}

static void respond(struct conn *c, const struct sync_http_req *r, struct sync_http_resp *resp,
                    int keep);

static int on_headers_complete(http_parser *p)
{
    struct conn *c = p->data;
    const struct sync_http_limits *l = &c->s->lim;
    /* close the last string; a header without a value callback gets "" */
    if (hb_add(c, "", 1))
        return -1;
    if (c->last == H_FIELD) {
        c->val_off[c->nh - 1] = c->hb.len - 1;
    } else if (c->last == H_NONE) {
        fail(c, 400, "malformed request: no request target");
        return -1;
    }
    c->last = H_VALUE;
    c->headers_done = 1;
    finish_headers(c);
    /* the headers that decide about the body, looked up before it is read */
    struct sync_http_req r;
    build_request(c, &r);
    int chunked = (p->flags & F_CHUNKED) != 0;
    int has_len = !chunked && p->content_length != ULLONG_MAX;
    int has_body = chunked || (has_len && p->content_length > 0);
    if (has_len && p->content_length > l->body_bytes) {
        fail(c, 413, "request body larger than %zu bytes", l->body_bytes);
        return -1;
    }
    if (has_body && c->s->early) {
        struct sync_http_resp resp;
        sync_http_resp_init(&resp);
        r.body = (const uint8_t *)"";
        r.body_len = 0;
        if (c->s->early(c->s->arg, &r, &resp)) {
            /* refused on its headers: answered, then closed, the body never read */
            respond(c, &r, &resp, 0);
            proto_buf_free(&resp.body);
            if (!c->closing) {
                c->want_close = 1;
                read_stop(c);
                arm(c, T_DRAIN, l->idle_timeout_ms);
            }
            return -1;
        }
        proto_buf_free(&resp.body);
    }
    const char *expect = sync_http_header(&r, "expect");
    if (*expect) {
        if (strcasecmp(expect, "100-continue") != 0) {
            fail(c, 417, "unsupported expectation '%.*s'", SYNC_HTTP_QUOTE_MAX, expect);
            return -1;
        }
        if (has_body && p->http_major == 1 && p->http_minor >= 1) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            struct proto_buf h;
            proto_buf_init(&h, sizeof cont);
            if (proto_buf_add(&h, cont, sizeof cont - 1)) {
                fail(c, 500, "out of memory");
                return -1;
            }
            queue(c, &h, NULL);
            if (c->closing)
                return -1;
        }
    }
    if (has_body)
        arm(c, T_BODY, l->body_timeout_ms);
    return 0;
}

static int on_body(http_parser *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    int rc = proto_buf_add(&c->body, at, n);
    if (rc == -EMSGSIZE) {
        fail(c, 413, "request body larger than %zu bytes", c->s->lim.body_bytes);
        return -1;
    }
    if (rc) {
        fail(c, 500, "out of memory for the request body");
        return -1;
    }
    return 0;
}

static int is_bodyless(int status)
{
    return status == 204 || status == 304 || (status >= 100 && status < 200);
}

static void respond(struct conn *c, const struct sync_http_req *r, struct sync_http_resp *resp,
                    int keep)
{
    struct proto_buf head;
    proto_buf_init(&head, SYNC_HTTP_RESP_HEAD_MAX);
    int status = resp->status;
    if (status < 100 || status > 999 || proto_buf_failed(&resp->body)) {
        status = 500;
        resp->gzip_ok = resp->gzipped = 0;
        resp->nheaders = 0;
        resp->content_type = "text/plain; charset=utf-8";
        proto_buf_free(&resp->body);
        proto_buf_printf(&resp->body, "the response could not be built\n");
    }
    const char *type = resp->content_type;
    if (!type || !*type || has_crlf(type))
        type = "application/octet-stream";
    int body = !is_bodyless(status);
    int gz = 0, vary = 0;
    if (body && resp->gzipped) {
        vary = gz = 1;
    } else if (body && resp->gzip_ok && resp->body.len > SYNC_HTTP_GZIP_MIN) {
        vary = 1;
        if (r->accept_gzip && sync_http_gzip(&resp->body) == 0)
            gz = 1;
    }
    if (!body)
        proto_buf_free(&resp->body);
    head_start(&head, status, type, resp->body.len, body, keep);
    if (gz)
        proto_buf_printf(&head, "Content-Encoding: gzip\r\n");
    if (vary)
        proto_buf_printf(&head, "Vary: Accept-Encoding\r\n");
    unsigned nh = resp->nheaders < SYNC_HTTP_RESP_HEADERS ? resp->nheaders : SYNC_HTTP_RESP_HEADERS;
    for (unsigned i = 0; i < nh; i++) {
        const char *n = resp->header_name[i], *v = resp->header_value[i];
        if (!n || !v || !*n || has_crlf(n) || has_crlf(v) || strchr(n, ':'))
            continue;
        add_str(&head, n);
        add_str(&head, ": ");
        add_str(&head, v);
        add_str(&head, "\r\n");
    }
    proto_buf_add(&head, "\r\n", 2);
    if (proto_buf_failed(&head)) {
        proto_buf_reset(&head);
        proto_buf_free(&resp->body);
        head_start(&head, 500, "text/plain; charset=utf-8", 0, 1, keep);
        proto_buf_add(&head, "\r\n", 2);
    }
    if (!strcmp(r->method, "HEAD"))
        proto_buf_free(&resp->body);
    queue(c, &head, &resp->body);
}

/* After a response is queued: keep reading, pause for backpressure, or close. */
static int after_response(struct conn *c, int keep)
{
    struct sync_http_server *s = c->s;
    request_reset(c);
    if (c->closing)
        return -1;
    if (!keep) {
        c->want_close = 1;
        read_stop(c);
        arm(c, T_DRAIN, s->lim.idle_timeout_ms);
        return -1;
    }
    if (c->pending_bytes >= SYNC_HTTP_PENDING_BYTES ||
        c->pending_writes >= SYNC_HTTP_PENDING_RESPONSES) {
        c->paused = 1;
        arm(c, T_DRAIN, s->lim.idle_timeout_ms);
        http_parser_pause(&c->parser, 1);
        return 0;
    }
    arm(c, T_IDLE, s->lim.idle_timeout_ms);
    return 0;
}

void sync_http_resp_init(struct sync_http_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    resp->status = 200;
    proto_buf_init(&resp->body, SYNC_HTTP_RESP_BODY_MAX);
}

struct sync_http_pending *sync_http_defer(const struct sync_http_req *req)
{
    struct conn *c = req->conn_;
    if (!c || c->deferred)
        return NULL;
    struct sync_http_pending *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->c = c;
    c->want_head = !strcmp(req->method, "HEAD");
    c->want_gzip = req->accept_gzip;
    c->deferred = p;
    return p;
}

void sync_http_undefer(struct sync_http_pending *p)
{
    if (p && p->c)
        p->c->deferred = NULL;
    free(p);
}

void sync_http_complete(struct sync_http_pending *p, struct sync_http_resp *resp)
{
    struct conn *c = p ? p->c : NULL;
    free(p);
    if (!c) {
        proto_buf_free(&resp->body);
        return;
    }
    c->deferred = NULL;
    struct sync_http_req r;
    memset(&r, 0, sizeof r);
    int keep = c->s->stopping ? 0 : c->want_keep;
    r.method = c->want_head ? "HEAD" : "GET";
    r.accept_gzip = c->want_gzip;
    respond(c, &r, resp, keep);
    proto_buf_free(&resp->body);
    if (c->closing)
        return;
    int rc = after_response(c, keep);
    if (rc < 0 || c->paused)
        return;
    /* the parser was paused while the answer was pending: carry on with what was read */
    resume(c);
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = p->data;
    struct sync_http_server *s = c->s;
    disarm(c);
    struct sync_http_req r;
    build_request(c, &r);
    struct sync_http_resp resp;
    sync_http_resp_init(&resp);
    s->handler(s->arg, &r, &resp);
    if (c->closing || c->want_close) {
        proto_buf_free(&resp.body);
        return -1;
    }
    int keep = http_should_keep_alive(p) && !p->upgrade && !s->stopping;
    if (c->deferred) {
        proto_buf_free(&resp.body);
        c->want_keep = keep;
        /* read nothing more until the answer is given */
        c->paused = 1;
        http_parser_pause(p, 1);
        return 0;
    }
    respond(c, &r, &resp, keep);
    proto_buf_free(&resp.body);
    return after_response(c, keep);
}

/* Parse len bytes; on a pause keep the rest in c->stash (data may point into it). */
static void feed(struct conn *c, const char *data, size_t len)
{
    size_t n = http_parser_execute(&c->parser, &c->s->settings, data, len);
    if (c->closing)
        return;
    if (c->want_close) {
        read_stop(c);
        return;
    }
    enum http_errno err = HTTP_PARSER_ERRNO(&c->parser);
    if (err == HPE_PAUSED) {
        read_stop(c);
        if (data == (const char *)c->stash.data) {
            memmove(c->stash.data, data + n, len - n);
            c->stash.len = len - n;
        } else {
            proto_buf_reset(&c->stash);
            if (proto_buf_add(&c->stash, data + n, len - n))
                conn_close(c);
        }
        return;
    }
    if (err == HPE_HEADER_OVERFLOW) {
        fail(c, 431, "request headers larger than %zu bytes", c->s->lim.header_bytes);
        return;
    }
    if (err != HPE_OK) {
        fail(c, 400, "malformed request: %s (%s)", http_errno_name(err),
             http_errno_description(err));
        return;
    }
    if (n != len && !c->want_close) /* an upgrade: not ours to speak */
        fail(c, 400, "malformed request: protocol upgrade not supported");
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct conn *c = st->data;
    if (c->closing || nread == 0)
        return;
    if (nread < 0) {
        if (c->lingering || nread != UV_EOF) {
            conn_close(c);
            return;
        }
        c->eof = 1;
        if (c->want_close) {
            read_stop(c);
            c->no_linger = 1;
            if (!c->pending_writes)
                conn_close(c);
            return;
        }
        eof_reached(c);
        return;
    }
    if (c->lingering) {
        c->linger_bytes += (size_t)nread;
        if (c->linger_bytes > SYNC_HTTP_LINGER_BYTES)
            conn_close(c);
        return;
    }
    if (c->want_close || c->paused) /* cannot happen: reading stopped then */
        return;
    feed(c, buf->base, (size_t)nread);
}

static void on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;
    const struct sync_http_limits *l = &c->s->lim;
    if (c->closing)
        return;
    size_t q = uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
    switch (c->tmode) {
    case T_IDLE:
    case T_DRAIN:
        /* responses still going out: go on while they make progress */
        if (c->pending_writes && (q == 0 || q < c->tqueue)) {
            arm(c, c->tmode, l->idle_timeout_ms);
            return;
        }
        conn_close(c);
        return;
    case T_HEADER:
        fail(c, 408, "request headers not received within %u ms", l->header_timeout_ms);
        return;
    case T_BODY:
        fail(c, 408, "request body not received within %u ms", l->body_timeout_ms);
        return;
    case T_LINGER:
    case T_NONE:
        conn_close(c);
        return;
    }
}

/* ---- accepting ---- */

static void peer_name(uv_tcp_t *tcp, char *out, size_t n)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    char ip[64] = "?";
    int port = 0;
    snprintf(out, n, "?");
    if (uv_tcp_getpeername(tcp, (struct sockaddr *)&ss, &len))
        return;
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
        uv_ip4_name(a, ip, sizeof ip);
        port = ntohs(a->sin_port);
        snprintf(out, n, "%s:%d", ip, port);
    } else if (ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
        uv_ip6_name(a, ip, sizeof ip);
        port = ntohs(a->sin6_port);
        snprintf(out, n, "[%s]:%d", ip, port);
    }
}

static void on_connection(uv_stream_t *ls, int status)
{
    struct sync_http_server *s = ls->data;
    if (status < 0 || s->stopping)
        return;
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return; /* libuv retries on the next connection event */
    c->s = s;
    uv_tcp_init(s->loop, &c->tcp);
    uv_timer_init(s->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    http_parser_init(&c->parser, HTTP_REQUEST);
    c->parser.data = c;
    proto_buf_init(&c->stash, SYNC_HTTP_READ_BYTES);
    /* names and values counted in header_bytes, plus their NULs (fewer than the 4 counted) */
    size_t hb_max = s->lim.header_bytes + 4 * (SYNC_HTTP_MAX_HEADERS + 1);
    proto_buf_init(&c->hb, hb_max < s->lim.header_bytes ? SIZE_MAX : hb_max);
    proto_buf_init(&c->body, s->lim.body_bytes);
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    int over = s->nconns >= s->lim.connections;
    if (over) {
        c->rejecting = 1;
        s->nrejecting++;
    } else {
        s->nconns++;
    }
    if (uv_accept(ls, (uv_stream_t *)&c->tcp)) {
        conn_close(c);
        return;
    }
    if (over && s->nrejecting > SYNC_HTTP_REJECTING_MAX) {
        conn_close(c);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    peer_name(&c->tcp, c->peer, sizeof c->peer);
    if (over) {
        fail(c, 503, "too many connections (at most %u)", s->lim.connections);
        return;
    }
    arm(c, T_IDLE, s->lim.idle_timeout_ms);
    read_start(c);
}

static void listener_closed(uv_handle_t *h)
{
    struct sync_http_server *s = h->data;
    s->listener_closed = 1;
    maybe_finish(s);
}

int sync_http_server_start(uv_loop_t *loop, const char *host, int port,
                           const struct sync_http_limits *limits, sync_http_handler handler,
                           void *arg, struct sync_http_server **out, struct proto_err *e)
{
    struct sockaddr_storage ss;
    *out = NULL;
    if (!handler || port < 0 || port > 65535)
        return proto_errf(e, -EINVAL, "bad port '%d'", port);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss))
        return proto_errf(e, -EINVAL, "cannot listen on '%s': not an IP address", host);
    struct sync_http_server *s = calloc(1, sizeof *s);
    if (!s)
        return proto_errf(e, -ENOMEM, "out of memory");
    s->loop = loop;
    if (limits)
        s->lim = *limits;
    else
        sync_http_limits_default(&s->lim);
    s->handler = handler;
    s->arg = arg;
    http_parser_settings_init(&s->settings);
    s->settings.on_message_begin = on_message_begin;
    s->settings.on_url = on_url;
    s->settings.on_header_field = on_header_field;
    s->settings.on_header_value = on_header_value;
    s->settings.on_headers_complete = on_headers_complete;
    s->settings.on_body = on_body;
    s->settings.on_message_complete = on_message_complete;
    uv_tcp_init(loop, &s->listener);
    s->listener.data = s;
    int rc = uv_tcp_bind(&s->listener, (const struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&s->listener, 511, on_connection);
    if (rc == 0) {
        int len = sizeof ss;
        rc = uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
        if (rc == 0)
            s->port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                               : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (rc) {
        /* the listener is a handle: the server is freed from its close callback */
        proto_errf(e, rc, "cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
        s->stopping = 1;
        uv_close((uv_handle_t *)&s->listener, listener_closed);
        return rc;
    }
    *out = s;
    return 0;
}

void sync_http_server_stop(struct sync_http_server *s, void (*done)(void *arg), void *arg)
{
    if (!s || s->stopping)
        return;
    s->stopping = 1;
    s->done = done;
    s->done_arg = arg;
    uv_close((uv_handle_t *)&s->listener, listener_closed);
    for (struct conn *c = s->conns, *next; c; c = next) {
        next = c->next;
        if (c->closing)
            continue;
        read_stop(c);
        if (c->pending_writes) {
            c->want_close = 1;
            c->no_linger = 1;
            if (!c->lingering)
                arm(c, T_DRAIN, s->lim.idle_timeout_ms);
        } else {
            conn_close(c);
        }
    }
}

void sync_http_server_set_early(struct sync_http_server *s, sync_http_early early)
{
    s->early = early;
}
