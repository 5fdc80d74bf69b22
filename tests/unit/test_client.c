/*
 * Unit tests of the HTTP client (sync/client.c) against a tiny HTTP server that runs in the same
 * libuv loop on 127.0.0.1. The server is written here on purpose, independent of sync/http.c:
 * it reads a request up to the blank line, then Content-Length bytes, and answers by path.
 *
 *   /hello          200 text/plain "hello world" (kept alive)
 *   /echo           200 with the request body; records the Authorization header and body
 *   /gzip?n=N       N bytes of text, gzip-compressed with zlib, Content-Encoding: gzip
 *   /big?n=N        N bytes of 'x'
 *   /hang           never answers
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "proto/buf.h"
#include "sync/client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#define SRV_MAX_REQUEST (1u << 20)
#define MAX_RESULTS 32

/* ---- the test server ---- */

struct srv;

struct conn {
    uv_tcp_t tcp;
    struct srv *s;
    uint8_t *buf;
    size_t len, cap;
    int closing;
    struct conn *prev, *next;
};

struct srv {
    uv_tcp_t listener;
    int port;
    struct conn *conns;
    unsigned requests;
    unsigned hanging;
    char auth[256];
    char accept_encoding[128];
    struct proto_buf last_body;
    void (*on_hang)(struct srv *s); /* a /hang request arrived */
    void *arg;
};

struct wreq {
    uv_write_t w;
    char *data;
    int close_after;
};

static void conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    free(c->buf);
    free(c);
}

static void conn_close(struct conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void on_written(uv_write_t *w, int status)
{
    (void)status;
    struct wreq *wr = (struct wreq *)w;
    struct conn *c = w->handle->data;
    if (wr->close_after)
        conn_close(c);
    free(wr->data);
    free(wr);
}

static void respond(struct conn *c, int status, const char *extra, const void *body, size_t n)
{
    char head[512];
    int hn = snprintf(head, sizeof head,
                      "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n",
                      status, status == 200 ? "OK" : "Error", n, extra ? extra : "");
    assert_true(hn > 0 && (size_t)hn < sizeof head);
    struct wreq *wr = calloc(1, sizeof *wr);
    wr->data = malloc((size_t)hn + n + 1);
    assert_non_null(wr->data);
    memcpy(wr->data, head, (size_t)hn);
    if (n)
        memcpy(wr->data + hn, body, n);
    uv_buf_t b = uv_buf_init(wr->data, (unsigned)((size_t)hn + n));
    assert_int_equal(uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_written), 0);
}

/* The value of header name (case-insensitive) in head, copied into out ("" when absent). */
static void header_value(const char *head, const char *name, char *out, size_t n)
{
    size_t nl = strlen(name);
    out[0] = '\0';
    for (const char *p = strstr(head, "\r\n"); p && p[2] != '\r'; p = strstr(p + 2, "\r\n")) {
        const char *line = p + 2;
        if (strncasecmp(line, name, nl) || line[nl] != ':')
            continue;
        const char *v = line + nl + 1;
        while (*v == ' ')
            v++;
        const char *end = strstr(v, "\r\n");
        size_t vn = (size_t)(end - v);
        if (vn >= n)
            vn = n - 1;
        memcpy(out, v, vn);
        out[vn] = '\0';
        return;
    }
}

static size_t query_n(const char *path)
{
    const char *q = strstr(path, "?n=");
    return q ? strtoul(q + 3, NULL, 10) : 0;
}

static void gzip_text(size_t n, uint8_t **out, size_t *out_len, uint8_t **plain)
{
    uint8_t *p = malloc(n + 1);
    assert_non_null(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)("relief supplies "[i % 16]);
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, n);
    uint8_t *g = malloc(cap);
    assert_non_null(g);
    z.next_in = p;
    z.avail_in = (uInt)n;
    z.next_out = g;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    *out = g;
    *plain = p;
}

/* One whole request is at the front of c->buf: answer it. */
static void handle(struct conn *c, const char *head, const uint8_t *body, size_t body_len)
{
    struct srv *s = c->s;
    char path[256] = "";
    s->requests++;
    assert_int_equal(sscanf(head, "%*s %255s", path), 1);
    header_value(head, "Accept-Encoding", s->accept_encoding, sizeof s->accept_encoding);

    if (!strcmp(path, "/hello")) {
        respond(c, 200, NULL, "hello world", 11);
    } else if (!strcmp(path, "/echo")) {
        header_value(head, "Authorization", s->auth, sizeof s->auth);
        proto_buf_reset(&s->last_body);
        assert_int_equal(proto_buf_add(&s->last_body, body, body_len), 0);
        respond(c, 200, NULL, body, body_len);
    } else if (!strncmp(path, "/gzip", 5)) {
        uint8_t *g, *plain;
        size_t gn;
        gzip_text(query_n(path), &g, &gn, &plain);
        respond(c, 200, "Content-Encoding: gzip\r\n", g, gn);
        free(g);
        free(plain);
    } else if (!strncmp(path, "/big", 4)) {
        size_t n = query_n(path);
        char *b = malloc(n + 1);
        memset(b, 'x', n);
        respond(c, 200, NULL, b, n);
        free(b);
    } else if (!strcmp(path, "/hang")) {
        s->hanging++;
        if (s->on_hang)
            s->on_hang(s);
    } else {
        respond(c, 404, "Connection: close\r\n", "no such path", 12);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)h;
    b->base = malloc(suggested);
    b->len = b->base ? suggested : 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = st->data;
    if (nread < 0) {
        free(b->base);
        conn_close(c);
        return;
    }
    size_t n = (size_t)nread;
    if (c->len + n > SRV_MAX_REQUEST) {
        free(b->base);
        conn_close(c);
        return;
    }
    if (c->len + n + 1 > c->cap) {
        c->cap = c->len + n + 1;
        c->buf = realloc(c->buf, c->cap);
        assert_non_null(c->buf);
    }
    memcpy(c->buf + c->len, b->base, n);
    c->len += n;
    c->buf[c->len] = '\0';
    free(b->base);

    /* requests may arrive back to back on a kept-alive connection */
    while (!c->closing && c->len) {
        char *end = strstr((char *)c->buf, "\r\n\r\n");
        if (!end)
            return;
        size_t head_len = (size_t)(end - (char *)c->buf) + 4;
        char cl[32];
        end[2] = '\0'; /* the head, with its last line's CRLF, as a string */
        header_value((char *)c->buf, "Content-Length", cl, sizeof cl);
        size_t body_len = cl[0] ? strtoul(cl, NULL, 10) : 0;
        if (c->len < head_len + body_len) {
            end[2] = '\r';
            return;
        }
        char *head = strdup((char *)c->buf);
        uint8_t *body = malloc(body_len + 1);
        memcpy(body, c->buf + head_len, body_len);
        size_t used = head_len + body_len;
        memmove(c->buf, c->buf + used, c->len - used);
        c->len -= used;
        c->buf[c->len] = '\0';
        handle(c, head, body, body_len);
        free(head);
        free(body);
    }
}

static void on_connection(uv_stream_t *l, int status)
{
    assert_int_equal(status, 0);
    struct srv *s = l->data;
    struct conn *c = calloc(1, sizeof *c);
    assert_non_null(c);
    c->s = s;
    assert_int_equal(uv_tcp_init(l->loop, &c->tcp), 0);
    c->tcp.data = c;
    c->next = s->conns;
    if (c->next)
        c->next->prev = c;
    s->conns = c;
    assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
    assert_int_equal(uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read), 0);
}

static void srv_start(uv_loop_t *loop, struct srv *s)
{
    memset(s, 0, sizeof *s);
    proto_buf_init(&s->last_body, SRV_MAX_REQUEST);
    struct sockaddr_in a;
    assert_int_equal(uv_ip4_addr("127.0.0.1", 0, &a), 0);
    assert_int_equal(uv_tcp_init(loop, &s->listener), 0);
    s->listener.data = s;
    assert_int_equal(uv_tcp_bind(&s->listener, (const struct sockaddr *)&a, 0), 0);
    assert_int_equal(uv_listen((uv_stream_t *)&s->listener, 128, on_connection), 0);
    struct sockaddr_storage ss;
    int len = sizeof ss;
    assert_int_equal(uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len), 0);
    s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void srv_stop(struct srv *s)
{
    while (s->conns)
        conn_close(s->conns);
    uv_close((uv_handle_t *)&s->listener, NULL);
    proto_buf_free(&s->last_body);
}

/* ---- a test run: a loop, the server, a client ---- */

struct res {
    struct t *t;
    unsigned calls;
    int rc;
    long status;
    uint8_t *body;
    size_t body_len;
    char content_type[128];
    char err[PROTO_ERR_MSG_MAX];
    uint64_t bytes_in, bytes_out;
    double seconds;
};

struct t {
    uv_loop_t loop;
    struct srv srv;
    struct sync_client *c;
    uv_timer_t watchdog;
    struct res res[MAX_RESULTS];
    unsigned got, want; /* callbacks seen; free the client after want of them (0: never) */
    unsigned done;      /* sync_client_free's done callback ran */
    unsigned pending_at_cancel;
    char url[256];
};

static void on_watchdog(uv_timer_t *w)
{
    (void)w;
    fail_msg("test did not finish in time");
}

static void client_done(void *arg)
{
    struct t *t = arg;
    t->done++;
    srv_stop(&t->srv);
    uv_close((uv_handle_t *)&t->watchdog, NULL);
}

static void finish(struct t *t)
{
    sync_client_free(t->c, client_done, t);
}

static void on_result(void *arg, const struct sync_client_result *r)
{
    struct res *x = arg;
    struct t *t = x->t;
    x->calls++;
    x->rc = r->rc;
    x->status = r->status;
    assert_non_null(r->err);
    assert_non_null(r->content_type);
    assert_true(r->body_len == 0 || r->body);
    x->body = malloc(r->body_len + 1);
    assert_non_null(x->body);
    if (r->body_len)
        memcpy(x->body, r->body, r->body_len);
    x->body[r->body_len] = '\0';
    x->body_len = r->body_len;
    snprintf(x->content_type, sizeof x->content_type, "%s", r->content_type);
    snprintf(x->err, sizeof x->err, "%s", r->err);
    x->bytes_in = r->bytes_in;
    x->bytes_out = r->bytes_out;
    x->seconds = r->seconds;
    t->got++;
    if (t->want && t->got == t->want)
        finish(t); /* from inside a callback, as a real caller may */
}

static void t_start(struct t *t)
{
    memset(t, 0, sizeof *t);
    assert_int_equal(uv_loop_init(&t->loop), 0);
    srv_start(&t->loop, &t->srv);
    t->srv.arg = t;
    struct proto_err e;
    assert_int_equal(sync_client_new(&t->loop, &t->c, &e), 0);
    assert_int_equal(uv_timer_init(&t->loop, &t->watchdog), 0);
    assert_int_equal(uv_timer_start(&t->watchdog, on_watchdog, 20000, 0), 0);
    for (unsigned i = 0; i < MAX_RESULTS; i++)
        t->res[i].t = t;
}

static const char *t_url(struct t *t, const char *path)
{
    snprintf(t->url, sizeof t->url, "http://127.0.0.1:%d%s", t->srv.port, path);
    return t->url;
}

static void t_request(struct t *t, unsigned i, const struct sync_client_req *req)
{
    struct proto_err e;
    proto_err_clear(&e);
    int rc = sync_client_request(t->c, req, on_result, &t->res[i], &e);
    if (rc)
        fail_msg("request %u: %s", i, e.msg);
}

/* Run until the client and server are closed; the loop must have no handle left. */
static void t_run(struct t *t)
{
    uv_run(&t->loop, UV_RUN_DEFAULT);
    assert_int_equal(t->done, 1);
    assert_int_equal(uv_loop_close(&t->loop), 0);
    for (unsigned i = 0; i < MAX_RESULTS; i++)
        assert_true(t->res[i].calls <= 1);
}

static int t_setup(void **state)
{
    *state = calloc(1, sizeof(struct t));
    return *state ? 0 : -1;
}

/* After the checks, pass or fail: the copies of the response bodies. */
static int t_teardown(void **state)
{
    struct t *t = *state;
    for (unsigned i = 0; i < MAX_RESULTS; i++)
        free(t->res[i].body);
    free(t);
    return 0;
}

static struct sync_client_req get_req(const char *url, size_t max)
{
    return (struct sync_client_req){.method = "GET", .url = url, .max_response = max};
}

/* ---- tests ---- */

static void test_client_get_returns_status_and_body(void **state)
{
    struct t *t = *state;
    t_start(t);
    t->want = 2;
    struct sync_client_req req = get_req(t_url(t, "/hello"), 1024);
    t_request(t, 0, &req);
    req.url = t_url(t, "/nowhere");
    t_request(t, 1, &req);
    assert_int_equal(sync_client_pending(t->c), 2);
    assert_int_equal(t->res[0].calls, 0); /* never from inside sync_client_request */
    t_run(t);

    assert_int_equal(t->res[0].calls, 1);
    assert_int_equal(t->res[0].rc, 0);
    assert_int_equal(t->res[0].status, 200);
    assert_string_equal(t->res[0].body, "hello world");
    assert_int_equal(t->res[0].body_len, 11);
    assert_string_equal(t->res[0].content_type, "text/plain");
    assert_string_equal(t->res[0].err, "");
    assert_true(t->res[0].bytes_in > 11);
    assert_true(t->res[0].bytes_out > 0);
    assert_true(t->res[0].seconds >= 0);
    /* an HTTP error status is a response, not a transport failure */
    assert_int_equal(t->res[1].rc, 0);
    assert_int_equal(t->res[1].status, 404);
    assert_string_equal(t->res[1].body, "no such path");
}

static void test_client_post_body_and_token(void **state)
{
    struct t *t = *state;
    t_start(t);
    t->want = 1;
    /* binary, with NULs, and larger than one socket write */
    size_t n = 300000;
    uint8_t *body = malloc(n);
    for (size_t i = 0; i < n; i++)
        body[i] = (uint8_t)(i * 7);
    struct sync_client_req req = {.method = "POST",
                                  .url = t_url(t, "/echo"),
                                  .token = "tok",
                                  .content_type = "application/vnd.msgpack",
                                  .body = body,
                                  .body_len = n,
                                  .max_response = n};
    t_request(t, 0, &req);
    memset(body, 0, n); /* the client copied it */
    for (size_t i = 0; i < n; i++)
        body[i] = (uint8_t)(i * 7);
    t_run(t);

    assert_int_equal(t->res[0].rc, 0);
    assert_int_equal(t->res[0].status, 200);
    assert_string_equal(t->srv.auth, "Bearer tok");
    assert_int_equal(t->res[0].body_len, n);
    assert_memory_equal(t->res[0].body, body, n);
    assert_true(t->res[0].bytes_out >= n);
    free(body);
}

static void test_client_post_empty_body(void **state)
{
    struct t *t = *state;
    t_start(t);
    t->want = 1;
    struct sync_client_req req = {.method = "POST", .url = t_url(t, "/echo"), .max_response = 16};
    t_request(t, 0, &req);
    t_run(t);
    assert_int_equal(t->res[0].rc, 0);
    assert_int_equal(t->res[0].status, 200);
    assert_int_equal(t->res[0].body_len, 0);
    assert_string_equal(t->srv.auth, ""); /* no token, no header */
}

static void test_client_gzip_is_decoded(void **state)
{
    struct t *t = *state;
    t_start(t);
    t->want = 2;
    struct sync_client_req req = get_req(t_url(t, "/gzip?n=100000"), 100000);
    req.accept_gzip = 1;
    t_request(t, 0, &req);
    /* the limit applies to the decoded body, not to the bytes on the wire */
    req.max_response = 99999;
    t_request(t, 1, &req);
    t_run(t);

    assert_string_equal(t->srv.accept_encoding, "gzip");
    assert_int_equal(t->res[0].rc, 0);
    assert_int_equal(t->res[0].status, 200);
    assert_int_equal(t->res[0].body_len, 100000);
    for (size_t i = 0; i < 100000; i++)
        assert_int_equal(t->res[0].body[i], (uint8_t)("relief supplies "[i % 16]));
    assert_true(t->res[0].bytes_in < 10000); /* what crossed the wire, compressed */
    assert_int_equal(t->res[1].rc, -EMSGSIZE);
    assert_string_equal(t->res[1].err, "response larger than 99999 bytes");
}

static void test_client_max_response_limit(void **state)
{
    struct t *t = *state;
    t_start(t);
    t->want = 3;
    struct sync_client_req req = get_req(t_url(t, "/big?n=70000"), 70000);
    t_request(t, 0, &req); /* at the limit */
    req.url = t_url(t, "/big?n=70001");
    t_request(t, 1, &req); /* one past it */
    req.url = t_url(t, "/big?n=5000000");
    req.max_response = 1000;
    t_request(t, 2, &req); /* far past it: stopped early */
    t_run(t);

    assert_int_equal(t->res[0].rc, 0);
    assert_int_equal(t->res[0].body_len, 70000);
    assert_int_equal(t->res[1].rc, -EMSGSIZE);
    assert_string_equal(t->res[1].err, "response larger than 70000 bytes");
    assert_int_equal(t->res[1].body_len, 0);
    assert_int_equal(t->res[2].rc, -EMSGSIZE);
    assert_string_equal(t->res[2].err, "response larger than 1000 bytes");
}

static void test_client_connection_refused(void **state)
{
    struct t *t = *state;
    /* a bound socket that never listens: connecting to it is refused */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);

    t_start(t);
    t->want = 1;
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hello", ntohs(a.sin_port));
    struct sync_client_req req = get_req(url, 1024);
    t_request(t, 0, &req);
    t_run(t);
    close(fd);

    assert_int_equal(t->res[0].rc, -ECONNREFUSED);
    assert_int_equal(t->res[0].status, 0);
    assert_non_null(strstr(t->res[0].err, url));
}

static void test_client_unresolvable_host(void **state)
{
    struct t *t = *state;
    t_start(t);
    t->want = 1;
    struct sync_client_req req = get_req("http://relief-test.invalid/", 1024);
    req.timeout_ms = 5000;
    t_request(t, 0, &req);
    t_run(t);
    if (t->res[0].rc == -ETIMEDOUT)
        skip(); /* a resolver that never answers says nothing about our translation */
    assert_int_equal(t->res[0].rc, -EHOSTUNREACH);
    assert_true(strlen(t->res[0].err) > 0);
}

static void test_client_timeout(void **state)
{
    struct t *t = *state;
    t_start(t);
    t->want = 1;
    struct sync_client_req req = get_req(t_url(t, "/hang"), 1024);
    req.timeout_ms = 300;
    uint64_t t0 = uv_hrtime();
    t_request(t, 0, &req);
    t_run(t);
    double s = (double)(uv_hrtime() - t0) / 1e9;

    assert_int_equal(t->res[0].rc, -ETIMEDOUT);
    assert_true(strlen(t->res[0].err) > 0);
    assert_int_equal(t->srv.hanging, 1);
    assert_true(s >= 0.29 && s < 5);
}

static void test_client_concurrent_requests(void **state)
{
    struct t *t = *state;
    t_start(t);
    enum { N = 20 };
    t->want = N;
    char bodies[N][32];
    for (unsigned i = 0; i < N; i++) {
        snprintf(bodies[i], sizeof bodies[i], "request %u", i);
        struct sync_client_req req = {.method = "POST",
                                      .url = t_url(t, "/echo"),
                                      .content_type = "text/plain",
                                      .body = (const uint8_t *)bodies[i],
                                      .body_len = strlen(bodies[i]),
                                      .max_response = 64};
        t_request(t, i, &req);
    }
    assert_int_equal(sync_client_pending(t->c), N);
    t_run(t);

    assert_int_equal(t->got, N);
    assert_int_equal(t->srv.requests, N);
    for (unsigned i = 0; i < N; i++) {
        assert_int_equal(t->res[i].calls, 1);
        assert_int_equal(t->res[i].rc, 0);
        assert_string_equal(t->res[i].body, bodies[i]);
    }
}

/* Requests one after another on the same client reuse its kept-alive connection. */
static void on_chain(void *arg, const struct sync_client_result *r);

struct chain {
    struct t *t;
    unsigned left, ok;
};

static void chain_next(struct chain *ch)
{
    struct sync_client_req req = get_req(t_url(ch->t, "/hello"), 64);
    struct proto_err e;
    assert_int_equal(sync_client_request(ch->t->c, &req, on_chain, ch, &e), 0);
}

static void on_chain(void *arg, const struct sync_client_result *r)
{
    struct chain *ch = arg;
    if (r->rc == 0 && r->status == 200 && r->body_len == 11)
        ch->ok++;
    if (--ch->left)
        chain_next(ch); /* a new request from inside a callback */
    else
        finish(ch->t);
}

static void test_client_sequential_requests_from_callbacks(void **state)
{
    struct t *t = *state;
    t_start(t);
    struct chain ch = {.t = t, .left = 10};
    chain_next(&ch);
    t_run(t);
    assert_int_equal(ch.ok, 10);
    assert_int_equal(t->srv.requests, 10);
}

static void free_when_all_hang(struct srv *s)
{
    struct t *t = s->arg;
    if (s->hanging < 5)
        return;
    t->pending_at_cancel = sync_client_pending(t->c);
    finish(t);
}

static void test_client_free_cancels_in_flight(void **state)
{
    struct t *t = *state;
    t_start(t);
    t->srv.on_hang = free_when_all_hang;
    for (unsigned i = 0; i < 5; i++) {
        struct sync_client_req req = get_req(t_url(t, "/hang"), 64);
        t_request(t, i, &req);
    }
    /* one more that is refused before it gets anywhere */
    struct sync_client_req bad = get_req(t_url(t, "/hello"), 64);
    bad.method = "PUT";
    struct proto_err e;
    assert_int_equal(sync_client_request(t->c, &bad, on_result, &t->res[5], &e), -EINVAL);
    assert_string_equal(e.msg, "unsupported method 'PUT'");
    t_run(t);

    assert_int_equal(t->pending_at_cancel, 5);
    assert_int_equal(t->got, 5);
    for (unsigned i = 0; i < 5; i++) {
        assert_int_equal(t->res[i].calls, 1);
        assert_int_equal(t->res[i].rc, -ECANCELED);
        assert_string_equal(t->res[i].err, "request cancelled");
    }
    assert_int_equal(t->res[5].calls, 0);
}

static void test_client_free_idle(void **state)
{
    struct t *t = *state;
    t_start(t);
    finish(t);
    assert_int_equal(t->done, 0); /* done comes from the loop */
    t_run(t);
}

static void test_client_rejects_bad_requests(void **state)
{
    struct t *t = *state;
    t_start(t);
    struct proto_err e;
    struct sync_client_req req = get_req(t_url(t, "/hello"), 64);
    req.token = "tok\r\nX-Evil: 1";
    assert_int_equal(sync_client_request(t->c, &req, on_result, &t->res[0], &e), -EINVAL);
    assert_string_equal(e.msg, "token contains a line break");
    req.token = NULL;
    req.content_type = "text/plain\nX-Evil: 1";
    assert_int_equal(sync_client_request(t->c, &req, on_result, &t->res[0], &e), -EINVAL);
    req.content_type = NULL;
    req.body = (const uint8_t *)"x";
    req.body_len = 1;
    assert_int_equal(sync_client_request(t->c, &req, on_result, &t->res[0], &e), -EINVAL);
    assert_int_equal(sync_client_pending(t->c), 0);
    finish(t);
    t_run(t);
    assert_int_equal(t->res[0].calls, 0);
}

int main(void)
{
    /* the server is on 127.0.0.1; a proxy from the environment must not get in between */
    static const char *const proxies[] = {"http_proxy",  "HTTP_PROXY", "https_proxy",
                                          "HTTPS_PROXY", "all_proxy",  "ALL_PROXY"};
    for (size_t i = 0; i < sizeof proxies / sizeof proxies[0]; i++)
        unsetenv(proxies[i]);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_client_get_returns_status_and_body, t_setup,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_client_post_body_and_token, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_client_post_empty_body, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_client_gzip_is_decoded, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_client_max_response_limit, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_client_connection_refused, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_client_unresolvable_host, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_client_timeout, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_client_concurrent_requests, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_client_sequential_requests_from_callbacks, t_setup,
                                        t_teardown),
        cmocka_unit_test_setup_teardown(test_client_free_cancels_in_flight, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_client_free_idle, t_setup, t_teardown),
        cmocka_unit_test_setup_teardown(test_client_rejects_bad_requests, t_setup, t_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
