/*
 * The HTTP client (see client.h): libcurl's multi interface driven by the libuv loop.
 *
 * curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION) and when to call it back
 * (CURLMOPT_TIMERFUNCTION); we keep one uv_poll_t per socket, found again through
 * curl_multi_assign, and one uv_timer_t. Whenever libuv reports activity we hand it to
 * curl_multi_socket_action and then collect finished transfers from curl_multi_info_read,
 * so every request ends in exactly one callback, always from the loop and never from inside
 * sync_client_request. This file is the one place that sees CURLcode values.
 *
 * Lifetimes: the timer is embedded in the client, each poll handle in a small struct of its
 * own; both are freed only in their close callbacks, and the client itself once the last of
 * its handles has closed.
 *
 * Details client.h leaves open, settled here: max_response 0 means PROTO_MAX_BODY_BYTES (like
 * the timeouts, 0 is the default); a result's err and content_type are never NULL ("" when
 * there is nothing); besides the codes client.h lists, rc may be -EHOSTUNREACH (name not
 * resolved), -ENOMEM, and -ECANCELED (sync_client_free). sync_client_free may be called from a
 * request's callback, but not from the callback of a request it is itself cancelling. Only GET
 * and POST are accepted; a POST without content_type is sent without a Content-Type header
 * rather than curl's form default.
 */
#include "sync/client.h"

#include "proto/buf.h"
#include "proto/limits.h"

#include <assert.h>
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CLIENT_DEFAULT_TIMEOUT_MS 60000L
#define CLIENT_DEFAULT_CONNECT_TIMEOUT_MS 10000L
/* A bearer token or a content type longer than this is a caller bug, not a header to send. */
#define CLIENT_MAX_HEADER_VALUE 4096u

struct client_poll {
    uv_poll_t poll;
    curl_socket_t fd;
    struct sync_client *c;
    struct client_poll *prev, *next; /* open polls, so the client can close them all */
};

struct client_req {
    struct sync_client *c;
    CURL *easy;
    struct curl_slist *headers;
    struct proto_buf body; /* the response body, bounded by max_response */
    int write_rc;          /* why the write callback refused data (-EMSGSIZE, -ENOMEM) */
    sync_client_cb cb;
    void *arg;
    struct client_req *prev, *next;
    int waiting; /* not yet handed to curl: it starts at due (the loop's time) */
    uint64_t due;
    char errbuf[CURL_ERROR_SIZE];
};

struct sync_client {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    uv_timer_t delay;        /* the next waiting request's start */
    struct client_req *reqs; /* in flight */
    struct client_poll *polls;
    unsigned pending;
    unsigned handles; /* uv handles not yet through their close callback */
    int closing;
    void (*done)(void *arg);
    void *done_arg;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static const uint8_t empty_body[1];

/* ---- lifetime ---- */

static void client_handle_closed(struct sync_client *c)
{
    assert(c->handles > 0);
    if (--c->handles || !c->closing)
        return;
    void (*done)(void *) = c->done;
    void *arg = c->done_arg;
    free(c);
    if (done)
        done(arg);
}

static void on_timer_closed(uv_handle_t *h)
{
    client_handle_closed(h->data);
}

static void on_poll_closed(uv_handle_t *h)
{
    struct client_poll *p = h->data;
    struct sync_client *c = p->c;
    free(p);
    client_handle_closed(c);
}

static void poll_close(struct client_poll *p)
{
    struct sync_client *c = p->c;
    if (p->prev)
        p->prev->next = p->next;
    else
        c->polls = p->next;
    if (p->next)
        p->next->prev = p->prev;
    uv_poll_stop(&p->poll);
    uv_close((uv_handle_t *)&p->poll, on_poll_closed);
}

static void req_unlink(struct client_req *r)
{
    struct sync_client *c = r->c;
    if (r->prev)
        r->prev->next = r->next;
    else
        c->reqs = r->next;
    if (r->next)
        r->next->prev = r->prev;
    c->pending--;
}

static void req_free(struct client_req *r)
{
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    proto_buf_free(&r->body);
    free(r);
}

/* ---- finishing a request ---- */

static int translate(CURLcode code, const struct client_req *r)
{
    switch (code) {
    case CURLE_OK:
        return 0;
    case CURLE_COULDNT_CONNECT:
        return -ECONNREFUSED;
    case CURLE_OPERATION_TIMEDOUT:
        return -ETIMEDOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
        return -EHOSTUNREACH;
    case CURLE_OUT_OF_MEMORY:
        return -ENOMEM;
    case CURLE_WRITE_ERROR:
        return r->write_rc ? r->write_rc : -EIO;
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CERTPROBLEM:
        return -EKEYREJECTED;
    default:
        return -EIO;
    }
}

/* Unlinked from the client and from the multi handle already: report and free. */
static void req_finish(struct client_req *r, CURLcode code, int cancelled)
{
    struct sync_client_result res = {0};
    struct proto_err e;
    proto_err_clear(&e);

    char *url = NULL;
    curl_easy_getinfo(r->easy, CURLINFO_EFFECTIVE_URL, &url);
    if (cancelled) {
        res.rc = proto_errf(&e, -ECANCELED, "request cancelled");
    } else {
        res.rc = translate(code, r);
        if (res.rc == -EMSGSIZE)
            proto_errf(&e, res.rc, "response larger than %zu bytes", r->body.max);
        else if (res.rc)
            proto_errf(&e, res.rc, "request to '%s' failed: %s", url ? url : "",
                       r->errbuf[0] ? r->errbuf : curl_easy_strerror(code));
    }

    long status = 0;
    char *ct = NULL;
    curl_off_t down = 0, up = 0, total_us = 0;
    long header_in = 0, header_out = 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct);
    curl_easy_getinfo(r->easy, CURLINFO_SIZE_DOWNLOAD_T, &down);
    curl_easy_getinfo(r->easy, CURLINFO_SIZE_UPLOAD_T, &up);
    curl_easy_getinfo(r->easy, CURLINFO_HEADER_SIZE, &header_in);
    curl_easy_getinfo(r->easy, CURLINFO_REQUEST_SIZE, &header_out);
    curl_easy_getinfo(r->easy, CURLINFO_TOTAL_TIME_T, &total_us);

    /*
     * A response whose connection broke in its headers can come back from libcurl (7.88) as
     * CURLE_OK with a status and no body. Every answer relief needs states its length: one
     * that did not arrive whole is a failed request.
     */
    curl_off_t declared = -1;
    curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &declared);
    if (res.rc == 0 && !cancelled && status >= 200 && status != 204 && status != 304 &&
        (declared < 0 ? down == 0 : down != declared))
        res.rc = proto_errf(&e, -EIO, "request to '%s' failed: the response was cut short",
                            url ? url : "");

    res.status = status;
    res.content_type = ct ? ct : "";
    res.err = res.rc ? e.msg : "";
    if (res.rc == 0 && r->body.len) {
        res.body = r->body.data;
        res.body_len = r->body.len;
    } else {
        res.body = empty_body;
        res.body_len = 0;
    }
    res.bytes_in = (uint64_t)(down > 0 ? down : 0) + (uint64_t)(header_in > 0 ? header_in : 0);
    res.bytes_out = (uint64_t)(up > 0 ? up : 0) + (uint64_t)(header_out > 0 ? header_out : 0);
    res.seconds = (double)total_us / 1e6;

    r->cb(r->arg, &res);
    req_free(r);
}

/* Report every transfer curl has finished. The callbacks may start requests or free the client. */
static void drain_done(struct sync_client *c)
{
    CURLMsg *msg;
    int left;
    while (!c->closing && (msg = curl_multi_info_read(c->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result; /* msg dies with remove_handle */
        char *priv = NULL;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
        struct client_req *r = (struct client_req *)priv;
        assert(r && r->easy == easy);
        curl_multi_remove_handle(c->multi, easy);
        req_unlink(r);
        req_finish(r, code, 0);
    }
}

/* ---- curl -> libuv ---- */

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct client_poll *p = h->data;
    struct sync_client *c = p->c;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    /* p may be closed (not freed) by the socket callback inside this call: use only c after. */
    curl_multi_socket_action(c->multi, p->fd, flags, &running);
    drain_done(c);
}

static void on_timer(uv_timer_t *t)
{
    struct sync_client *c = t->data;
    int running;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain_done(c);
}

static int socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)easy;
    struct sync_client *c = userp;
    struct client_poll *p = socketp;

    if (what == CURL_POLL_REMOVE) {
        if (p) {
            curl_multi_assign(c->multi, fd, NULL);
            poll_close(p);
        }
        return 0;
    }
    if (!p) {
        if (c->closing)
            return 0; /* curl only tears down now; nothing new to watch */
        p = calloc(1, sizeof *p);
        if (!p)
            return -1;
        if (uv_poll_init_socket(c->loop, &p->poll, fd) < 0) {
            free(p);
            return -1;
        }
        p->poll.data = p;
        p->fd = fd;
        p->c = c;
        p->next = c->polls;
        if (p->next)
            p->next->prev = p;
        c->polls = p;
        c->handles++;
        curl_multi_assign(c->multi, fd, p);
    }
    int events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
        events |= UV_READABLE;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
        events |= UV_WRITABLE;
    return uv_poll_start(&p->poll, events, on_poll) < 0 ? -1 : 0;
}

static int timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct sync_client *c = userp;
    if (c->closing)
        return 0;
    if (timeout_ms < 0)
        return uv_timer_stop(&c->timer) < 0 ? -1 : 0;
    /* even 0 goes through the loop: curl forbids calling socket_action from this callback */
    return uv_timer_start(&c->timer, on_timer, (uint64_t)timeout_ms, 0) < 0 ? -1 : 0;
}

/* ---- the response body ---- */

static size_t write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
    struct client_req *r = userp;
    size_t n = size * nmemb;
    int rc = proto_buf_add(&r->body, data, n);
    if (rc) {
        r->write_rc = rc;
        return 0; /* curl stops the transfer with CURLE_WRITE_ERROR */
    }
    return n;
}

/* ---- public ---- */

int sync_client_new(uv_loop_t *loop, struct sync_client **out, struct proto_err *e)
{
    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return proto_errf(e, -EIO, "cannot initialise libcurl: %s", curl_easy_strerror(global_rc));

    struct sync_client *c = calloc(1, sizeof *c);
    if (!c)
        return proto_errf(e, -ENOMEM, "out of memory");
    c->loop = loop;
    c->multi = curl_multi_init();
    if (!c->multi) {
        free(c);
        return proto_errf(e, -ENOMEM, "cannot create a curl multi handle");
    }
    /* (uv_timer_init cannot fail on a loop that runs: it only fills the handle in) */
    int rc = uv_timer_init(loop, &c->timer);
    if (rc == 0)
        rc = uv_timer_init(loop, &c->delay);
    if (rc < 0) {
        curl_multi_cleanup(c->multi);
        free(c);
        return proto_errf(e, rc, "cannot create a timer: %s", uv_strerror(rc));
    }
    c->timer.data = c;
    c->delay.data = c;
    c->handles = 2;

    CURLMcode mc = CURLM_OK;
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
    if (mc == CURLM_OK)
        mc = curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    if (mc != CURLM_OK) {
        proto_errf(e, -EIO, "cannot set up curl: %s", curl_multi_strerror(mc));
        sync_client_free(c, NULL, NULL);
        return -EIO;
    }
    *out = c;
    return 0;
}

/* A header value must not smuggle in another header line. */
static int check_header_value(const char *what, const char *v, struct proto_err *e)
{
    size_t n = strnlen(v, CLIENT_MAX_HEADER_VALUE + 1);
    if (n > CLIENT_MAX_HEADER_VALUE)
        return proto_errf(e, -EINVAL, "%s longer than %u bytes", what, CLIENT_MAX_HEADER_VALUE);
    if (strpbrk(v, "\r\n"))
        return proto_errf(e, -EINVAL, "%s contains a line break", what);
    return 0;
}

static int add_header(struct client_req *r, const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);
    if (!line)
        return -ENOMEM;
    strcpy(line, name);
    strcat(line, ": ");
    strcat(line, value);
    if (!*value)
        line[strlen(name) + 1] = '\0'; /* "Name:" tells curl to send no such header */
    struct curl_slist *l = curl_slist_append(r->headers, line);
    free(line);
    if (!l)
        return -ENOMEM;
    r->headers = l;
    return 0;
}

static void on_delay(uv_timer_t *t);

/* The delay timer set for the first waiting request to start, or stopped when none waits. */
static void arm_delay(struct sync_client *c)
{
    uint64_t first = UINT64_MAX, now = uv_now(c->loop);
    for (struct client_req *r = c->reqs; r; r = r->next)
        if (r->waiting && r->due < first)
            first = r->due;
    if (first == UINT64_MAX)
        uv_timer_stop(&c->delay);
    else
        uv_timer_start(&c->delay, on_delay, first > now ? first - now : 0, 0);
}

/* Hand the requests whose time came to curl (one that cannot start ends with its callback). */
static void on_delay(uv_timer_t *t)
{
    struct sync_client *c = t->data;
    uint64_t now = uv_now(c->loop);
    struct client_req *r = c->reqs, *next;
    for (; r; r = next) {
        next = r->next;
        if (!r->waiting || r->due > now)
            continue;
        r->waiting = 0;
        if (curl_multi_add_handle(c->multi, r->easy) != CURLM_OK) {
            /* the others on the next turn: the callback may free the client's requests */
            uv_timer_start(&c->delay, on_delay, 0, 0);
            req_unlink(r);
            req_finish(r, CURLE_OUT_OF_MEMORY, 0);
            return;
        }
    }
    if (!c->closing)
        arm_delay(c);
}

int sync_client_request(struct sync_client *c, const struct sync_client_req *req, sync_client_cb cb,
                        void *arg, struct proto_err *e)
{
    if (c->closing)
        return proto_errf(e, -ECANCELED, "client is closing");
    if (!req->url || !req->method || !cb)
        return proto_errf(e, -EINVAL, "a request needs a method, a url and a callback");
    int post;
    if (!strcmp(req->method, "GET"))
        post = 0;
    else if (!strcmp(req->method, "POST"))
        post = 1;
    else
        return proto_errf(e, -EINVAL, "unsupported method '%s'", req->method);
    if (!post && req->body_len)
        return proto_errf(e, -EINVAL, "a GET request has no body");
    if (req->body_len && !req->body)
        return proto_errf(e, -EINVAL, "body of %zu bytes is missing", req->body_len);
    if ((uint64_t)req->body_len > (uint64_t)INT64_MAX)
        return proto_errf(e, -EMSGSIZE, "body of %zu bytes is too large", req->body_len);
    if (req->timeout_ms < 0 || req->connect_timeout_ms < 0)
        return proto_errf(e, -EINVAL, "negative timeout");
    int rc;
    if (req->token && (rc = check_header_value("token", req->token, e)))
        return rc;
    if (req->content_type && (rc = check_header_value("content type", req->content_type, e)))
        return rc;

    struct client_req *r = calloc(1, sizeof *r);
    if (!r)
        return proto_errf(e, -ENOMEM, "out of memory");
    r->c = c;
    r->cb = cb;
    r->arg = arg;
    proto_buf_init(&r->body, req->max_response ? req->max_response : PROTO_MAX_BODY_BYTES);
    r->easy = curl_easy_init();
    if (!r->easy) {
        req_free(r);
        return proto_errf(e, -ENOMEM, "cannot create a curl easy handle");
    }

    rc = 0;
    if (req->token) {
        size_t n = strlen(req->token) + sizeof "Bearer ";
        char *v = malloc(n);
        if (!v) {
            rc = -ENOMEM;
        } else {
            strcpy(v, "Bearer ");
            strcat(v, req->token);
            rc = add_header(r, "Authorization", v);
            free(v);
        }
    }
    /* without this curl labels a POST body as a form; with no type given we send none */
    if (!rc && (req->content_type || post))
        rc = add_header(r, "Content-Type", req->content_type ? req->content_type : "");
    /* curl would otherwise wait up to a second for "100 Continue" before a large body */
    if (!rc)
        rc = add_header(r, "Expect", "");
    if (rc) {
        req_free(r);
        return proto_errf(e, rc, "out of memory");
    }

    long timeout = req->timeout_ms ? req->timeout_ms : CLIENT_DEFAULT_TIMEOUT_MS;
    long connect_timeout =
        req->connect_timeout_ms ? req->connect_timeout_ms : CLIENT_DEFAULT_CONNECT_TIMEOUT_MS;
    CURL *h = r->easy;
    CURLcode cc = CURLE_OK;
#define SET(opt, val)                                                                              \
    do {                                                                                           \
        if (cc == CURLE_OK)                                                                        \
            cc = curl_easy_setopt(h, opt, val);                                                    \
    } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_PRIVATE, (void *)r);
    SET(CURLOPT_ERRORBUFFER, r->errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    /* RELIEF_CURL_VERBOSE=1: libcurl traces every request on stderr (for diagnosing a link) */
    if (getenv("RELIEF_CURL_VERBOSE"))
        SET(CURLOPT_VERBOSE, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_TIMEOUT_MS, timeout);
    SET(CURLOPT_CONNECTTIMEOUT_MS, connect_timeout);
    SET(CURLOPT_HTTPHEADER, r->headers);
    SET(CURLOPT_WRITEFUNCTION, write_cb);
    SET(CURLOPT_WRITEDATA, (void *)r);
    if (req->accept_gzip)
        SET(CURLOPT_ACCEPT_ENCODING, "gzip");
    if (req->cainfo)
        SET(CURLOPT_CAINFO, req->cainfo);
    if (post) {
        SET(CURLOPT_POST, 1L);
        /* the size first: COPYPOSTFIELDS copies that many bytes, NULs included */
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        SET(CURLOPT_COPYPOSTFIELDS, req->body_len ? (const char *)req->body : "");
    }
#undef SET
    if (cc != CURLE_OK) {
        rc = proto_errf(e, cc == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EINVAL,
                        "cannot set up the request for '%s': %s", req->url, curl_easy_strerror(cc));
        req_free(r);
        return rc;
    }

    r->next = c->reqs;
    if (r->next)
        r->next->prev = r;
    c->reqs = r;
    c->pending++;
    if (req->delay_ms > 0) {
        r->waiting = 1;
        r->due = uv_now(c->loop) + (uint64_t)req->delay_ms;
        arm_delay(c);
        return 0;
    }
    CURLMcode mc = curl_multi_add_handle(c->multi, h);
    if (mc != CURLM_OK) {
        req_unlink(r);
        req_free(r);
        return proto_errf(e, mc == CURLM_OUT_OF_MEMORY ? -ENOMEM : -EIO,
                          "cannot start the request for '%s': %s", req->url,
                          curl_multi_strerror(mc));
    }
    return 0;
}

unsigned sync_client_pending(const struct sync_client *c)
{
    return c->pending;
}

void sync_client_free(struct sync_client *c, void (*done)(void *arg), void *arg)
{
    if (!c)
        return;
    assert(!c->closing); /* freeing twice, or from a cancelled request's callback */
    c->closing = 1;
    c->done = done;
    c->done_arg = arg;

    struct client_req *r;
    while ((r = c->reqs)) {
        curl_multi_remove_handle(c->multi, r->easy);
        req_unlink(r);
        req_finish(r, CURLE_OK, 1);
    }
    /* closes kept-alive connections; their sockets come back through socket_cb as REMOVE */
    curl_multi_cleanup(c->multi);
    c->multi = NULL;
    while (c->polls)
        poll_close(c->polls);
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    uv_close((uv_handle_t *)&c->delay, on_timer_closed);
}
