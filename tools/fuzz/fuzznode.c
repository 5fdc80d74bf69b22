/* What the fuzz targets share (fuzznode.h). */
#define _GNU_SOURCE
#include "fuzznode.h"
#include "relief/demo.h"
#include "relief/init.h"
#include "relief/net_node.h"
#include "relief/node.h"
#include "relief/oplog.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <http_parser.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

/* "relief fuzz net\0" */
static const char network_hex[] = "72656c6965662066757a7a206e657400";

static char dir[256];
static struct rl_store store;
static int made;

static int rm_fn(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    if (dir[0])
        nftw(dir, rm_fn, 16, FTW_DEPTH | FTW_PHYS);
}

static void fail(const char *what, const struct proto_err *e)
{
    fprintf(stderr, "fuzz node: %s: %s\n", what, e ? e->msg : strerror(errno));
    exit(1);
}

struct rl_store *fuzz_store(void)
{
    struct proto_err e;
    uint8_t net[PROTO_NETWORK_BYTES];
    char node[300];

    if (made)
        return &store;
    const char *base = getenv("FUZZ_TMPDIR");
    if (!base)
        base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(dir, sizeof dir, "%s/relief-fuzz-XXXXXX", base);
    if (!mkdtemp(dir))
        fail("mkdtemp", NULL);
    atexit(cleanup);
    snprintf(node, sizeof node, "%s/node", dir);
    proto_err_clear(&e);
    FUZZ_CHECK(rl_network_parse(network_hex, net) == 0);
    if (rl_init(node, "fuzz", net, NULL, NULL, &e))
        fail("init", &e);
    if (rl_store_open(&store, node, NULL, &e))
        fail("open", &e);
    if (rl_demo_load(&store, &e))
        fail("demo", &e);
    made = 1;
    return &store;
}

uint64_t fuzz_txnid(void)
{
    MDB_envinfo info;
    FUZZ_CHECK(mdb_env_info(fuzz_store()->env, &info) == 0);
    return (uint64_t)info.me_last_txnid;
}

static int ops_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)e;
    return rl_oplog_count(t, arg);
}

uint64_t fuzz_ops(void)
{
    uint64_t n = 0;
    struct proto_err e;
    FUZZ_CHECK(rl_store_read(fuzz_store(), ops_fn, &n, &e) == 0);
    return n;
}

/* --- the served node --- */

static uv_loop_t loop;
static struct rl_net_node netnode;
static int port;

static void serve(void)
{
    struct proto_err e;
    struct rl_api_opts o;
    struct sync_http_limits lim;

    if (port)
        return;
    fuzz_store();
    signal(SIGPIPE, SIG_IGN);
    FUZZ_CHECK(uv_loop_init(&loop) == 0);
    memset(&o, 0, sizeof o);
    o.listen_host = "127.0.0.1";
    sync_http_limits_default(&lim);
    /* inputs are at most a few hundred KiB: keep the limits reachable by the fuzzer */
    lim.body_bytes = 256u << 10;
    proto_err_clear(&e);
    if (rl_net_node_start(&netnode, &loop, &store, "127.0.0.1", 0, &o, &lim, &e))
        fail("serve", &e);
    port = sync_http_server_port(netnode.http);
}

void fuzz_http_exchange(const void *req, size_t n, struct proto_buf *answer)
{
    const uint8_t *p = req;
    struct sockaddr_in a;
    size_t sent = 0;
    int shut = 0, eof = 0;

    serve();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    FUZZ_CHECK(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    FUZZ_CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0 || errno == EINPROGRESS);
    uint64_t start = uv_hrtime();
    for (;;) {
        int progress = uv_run(&loop, UV_RUN_NOWAIT);
        if (sent < n) {
            ssize_t w = send(fd, p + sent, n - sent, MSG_NOSIGNAL);
            if (w > 0) {
                sent += (size_t)w;
                progress = 1;
            } else if (w < 0 && errno != EAGAIN && errno != EINPROGRESS && errno != ENOTCONN) {
                sent = n; /* the server closed early (a limit): the rest is not sent */
            }
        }
        if (sent == n && !shut) {
            shutdown(fd, SHUT_WR);
            shut = 1;
        }
        while (!eof) {
            uint8_t b[65536];
            ssize_t r = recv(fd, b, sizeof b, 0);
            if (r > 0) {
                FUZZ_CHECK(proto_buf_add(answer, b, (size_t)r) == 0);
                progress = 1;
                continue;
            }
            if (r == 0 || (errno != EAGAIN && errno != ENOTCONN))
                eof = 1;
            break;
        }
        if (eof && sync_http_server_connections(netnode.http) == 0)
            break;
        if (uv_hrtime() - start > 20ull * 1000000000) {
            fprintf(stderr, "fuzz node: no answer or no close within 20 s (%zu of %zu bytes "
                            "sent, %zu received, eof %d, %u connections)\n",
                    sent, n, answer->len, eof, sync_http_server_connections(netnode.http));
            abort();
        }
        if (!progress) {
            struct pollfd pf[2] = {{fd, POLLIN, 0}, {uv_backend_fd(&loop), POLLIN, 0}};
            int t = uv_backend_timeout(&loop);
            poll(pf, 2, t < 0 || t > 1 ? 1 : t);
        }
    }
    close(fd);
}

/* --- reading the answer --- */

struct rparse {
    fuzz_resp_fn fn;
    void *arg;
    int (*is_head)(void *, unsigned);
    void *head_arg;
    char field[32];
    size_t field_len;
    int in_ct; /* the header value being read is Content-Type */
    int in_ce; /* ... Content-Encoding */
    char ct[128];
    char ce[32];
    struct proto_buf body;
    unsigned count;
    int done;
};

static int r_begin(http_parser *hp)
{
    struct rparse *r = hp->data;
    r->ct[0] = r->ce[0] = '\0';
    r->body.len = 0;
    r->field_len = 0;
    return 0;
}

static int r_field(http_parser *hp, const char *at, size_t n)
{
    struct rparse *r = hp->data;
    size_t k = n < sizeof r->field - 1 - r->field_len ? n : sizeof r->field - 1 - r->field_len;
    memcpy(r->field + r->field_len, at, k);
    r->field_len += k;
    r->field[r->field_len] = '\0';
    r->in_ct = r->in_ce = 0;
    return 0;
}

static int r_value(http_parser *hp, const char *at, size_t n)
{
    struct rparse *r = hp->data;
    if (r->field_len) {
        r->in_ct = !strcasecmp(r->field, "content-type");
        r->in_ce = !strcasecmp(r->field, "content-encoding");
        r->field_len = 0;
    }
    if (r->in_ct || r->in_ce) {
        char *to = r->in_ct ? r->ct : r->ce;
        size_t cap = r->in_ct ? sizeof r->ct : sizeof r->ce;
        size_t l = strlen(to);
        size_t k = n < cap - 1 - l ? n : cap - 1 - l;
        memcpy(to + l, at, k);
        to[l + k] = '\0';
    }
    return 0;
}

static int r_headers(http_parser *hp)
{
    struct rparse *r = hp->data;
    /* 1: no body follows */
    return hp->status_code != 100 && r->is_head && r->is_head(r->head_arg, r->count);
}

static int r_body(http_parser *hp, const char *at, size_t n)
{
    struct rparse *r = hp->data;
    FUZZ_CHECK(proto_buf_add(&r->body, at, n) == 0);
    return 0;
}

static int r_complete(http_parser *hp)
{
    struct rparse *r = hp->data;
    int status = (int)hp->status_code;
    FUZZ_CHECK(status >= 100 && status <= 599);
    if (status != 100)
        r->count++;
    if (!strcmp(r->ce, "gzip") && r->body.len) { /* (a HEAD: no body) */
        /* a gzipped body must inflate, completely */
        struct proto_buf plain;
        z_stream z;
        uint8_t out[16384];
        int zrc;
        proto_buf_init(&plain, 256u << 20);
        memset(&z, 0, sizeof z);
        FUZZ_CHECK(inflateInit2(&z, 16 + MAX_WBITS) == Z_OK);
        z.next_in = r->body.data;
        z.avail_in = (uInt)r->body.len;
        do {
            z.next_out = out;
            z.avail_out = sizeof out;
            zrc = inflate(&z, Z_NO_FLUSH);
            FUZZ_CHECK(zrc == Z_OK || zrc == Z_STREAM_END);
            FUZZ_CHECK(proto_buf_add(&plain, out, sizeof out - z.avail_out) == 0);
        } while (zrc != Z_STREAM_END);
        FUZZ_CHECK(z.avail_in == 0);
        inflateEnd(&z);
        if (r->fn)
            r->fn(r->arg, status, r->ct, plain.data, plain.len);
        proto_buf_free(&plain);
        return 0;
    }
    FUZZ_CHECK(r->ce[0] == '\0' || !r->body.len);
    if (r->fn)
        r->fn(r->arg, status, r->ct, r->body.data, r->body.len);
    return 0;
}

unsigned fuzz_http_responses(const struct proto_buf *answer, int (*is_head)(void *, unsigned),
                             void *head_arg, fuzz_resp_fn fn, void *arg)
{
    http_parser hp;
    http_parser_settings st;
    struct rparse r;

    memset(&st, 0, sizeof st);
    memset(&r, 0, sizeof r);
    st.on_message_begin = r_begin;
    st.on_header_field = r_field;
    st.on_header_value = r_value;
    st.on_headers_complete = r_headers;
    st.on_body = r_body;
    st.on_message_complete = r_complete;
    r.fn = fn;
    r.arg = arg;
    r.is_head = is_head;
    r.head_arg = head_arg;
    proto_buf_init(&r.body, 64u << 20);
    http_parser_init(&hp, HTTP_RESPONSE);
    hp.data = &r;
    size_t used = http_parser_execute(&hp, &st, (const char *)answer->data, answer->len);
    if (hp.http_errno == HPE_OK && used == answer->len)
        http_parser_execute(&hp, &st, NULL, 0); /* the end of the answer */
    if (hp.http_errno != HPE_OK || used != answer->len) {
        fprintf(stderr, "fuzz node: a malformed answer at byte %zu of %zu: %s\n%.*s\n", used,
                answer->len, http_errno_description((enum http_errno)hp.http_errno),
                (int)(answer->len < 2000 ? answer->len : 2000), (const char *)answer->data);
        abort();
    }
    proto_buf_free(&r.body);
    return r.count;
}
