/*
 * relief-net: the network half of relief (`relief serve`, `relief sync` run it).
 *
 *   relief-net [--data DIR] [--json] serve [--listen HOST:PORT] [--peer URL]... [--interval S]
 *   relief-net [--data DIR] [--json] sync URL [--token-file F]
 *
 * serve answers the sync endpoints (and /healthz) on one libuv loop, and syncs with its peers
 * in the background: at start, shortly after any change -- local, or received from another
 * peer, so a write travels along a chain of nodes -- and every --interval seconds, backing off
 * exponentially with jitter while a peer is away. SIGINT/SIGTERM stop it after the requests
 * in flight; every acknowledged write is already durable.
 */
#include "access.h"
#include "cli.h"
#include "hlc.h"
#include "net_node.h"
#include "node.h"
#include "oplog.h"
#include "syncstore.h"
#include "sync/client.h"
#include "sync/endpoints.h"
#include "sync/engine.h"
#include "sync/http.h"

#include <errno.h>
#include <stdarg.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_PEERS 64

static const char *const serve_usage[] = {
    "relief serve [--listen HOST:PORT] [--peer URL]... [--interval S] [--host NAME]...   "
    "(default 127.0.0.1:8080)",
    NULL,
};
static const char *const sync_usage[] = {
    "relief sync URL [--token-file F] [--cacert FILE]   (or $RELIEF_TOKEN, $RELIEF_CACERT)",
    "    --cacert: the certificates to trust for an https:// peer (a private CA's, a proxy's "
    "own); else those relief peer add kept for URL, else the system's",
    NULL};

struct peer {
    char url[512];
    struct node_srv *srv;
    int running;
    struct sync_run *run; /* while running */
    uint64_t due_ms;     /* the next sync */
    unsigned failures;   /* in a row, for back-off */
    uint64_t synced_sum; /* the VV sum at the last successful sync */
};

struct node_srv {
    struct cli *c;
    uv_loop_t *loop;
    struct rl_net_node net; /* the endpoints, the API and the dashboard */
    struct sync_client *client;
    uv_timer_t tick;
    uv_signal_t sigint, sigterm;
    struct peer peers[MAX_PEERS];
    int npeers;
    unsigned interval_s;
    uint64_t vv_sum;        /* sum of the VV's seqs: changes when any op arrives */
    uint64_t changed_at_ms; /* when vv_sum last changed */
    int stopping;
};

static void log_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void log_line(const char *fmt, ...)
{
    char when[40];
    va_list ap;
    rl_hlc_format(rl_now_ms() << 16, when, sizeof when);
    fprintf(stderr, "%s ", when);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void on_sync_log(void *ctx, const char *peer, const char *what, uint64_t in, uint64_t out,
                        size_t bytes_in, size_t bytes_out, double ms)
{
    (void)ctx;
    log_line("%s from %s: %llu op%s in, %llu op%s out, %zu bytes in, %zu bytes out, %.1f ms", what,
             peer, (unsigned long long)in, in == 1 ? "" : "s", (unsigned long long)out,
             out == 1 ? "" : "s", bytes_in, bytes_out, ms);
}

/* --- background sync with peers --- */

static int vv_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct proto_vv vv;
    proto_vv_init(&vv);
    int rc = rl_vv_load(t, &vv, e);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < vv.n; i++)
        sum += vv.e[i].seq;
    *(uint64_t *)arg = sum;
    proto_vv_free(&vv);
    return rc;
}

static uint64_t vv_sum(struct node_srv *ns)
{
    uint64_t sum = 0;
    struct proto_err e;
    rl_store_read(&ns->c->store, vv_fn, &sum, &e);
    return sum;
}

/* How a sync went, recorded in the API's group commit (off the loop). */
struct report {
    char url[512];
    int rc;
    char err[sizeof((struct sync_run_result *)0)->err];
    uint64_t lacks;
};

static int report_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct report *r = arg;
    return rl_peer_report_in(t, r->url, r->rc, r->err, r->lacks, e);
}

static void report_done(void *arg, int rc, const struct proto_err *e)
{
    struct report *r = arg;
    if (rc)
        log_line("cannot record the sync with %s: %s", r->url, e ? e->msg : "");
    free(r);
}

static void peer_report(struct node_srv *ns, struct peer *p, const struct sync_run_result *res)
{
    struct proto_err e;
    struct report *r = calloc(1, sizeof *r);
    if (r) {
        snprintf(r->url, sizeof r->url, "%s", p->url);
        r->rc = res->rc;
        snprintf(r->err, sizeof r->err, "%s", res->err);
        r->lacks = res->peer_lacks;
        if (rl_api_write_later(ns->net.api, report_fn, r, report_done) == 0)
            return;
        free(r);
    }
    proto_err_clear(&e); /* stopping: written here */
    rl_peer_report(&ns->c->store, p->url, res->rc, res->err, res->peer_lacks, &e);
}

static void peer_done(void *arg, const struct sync_run_result *r)
{
    struct peer *p = arg;
    struct node_srv *ns = p->srv;
    uint64_t now = rl_now_ms();
    p->running = 0;
    p->run = NULL;
    if (r->rc == 0) {
        p->failures = 0;
        p->synced_sum = vv_sum(ns);
        p->due_ms = now + (uint64_t)ns->interval_s * 1000;
        if (r->pulled || r->pushed)
            log_line("sync with %s: %llu op%s in, %llu op%s out, %llu bytes in, %llu bytes out, "
                     "%.0f ms",
                     p->url, (unsigned long long)r->pulled, r->pulled == 1 ? "" : "s",
                     (unsigned long long)r->pushed, r->pushed == 1 ? "" : "s",
                     (unsigned long long)r->bytes_in, (unsigned long long)r->bytes_out,
                     r->seconds * 1000);
    } else {
        /* capped exponential back-off with jitter: 1 s, 2 s, 4 s ... 5 min */
        unsigned f = p->failures < 9 ? p->failures : 9;
        uint64_t wait = 1000ull << f;
        if (wait > 300000)
            wait = 300000;
        wait = wait / 2 + randombytes_uniform((uint32_t)(wait / 2) + 1);
        p->failures++;
        p->due_ms = now + wait;
        log_line("sync with %s failed: %s (next try in %.1f s)", p->url, r->err, wait / 1000.0);
    }
    peer_report(ns, p, r);
}

static void peer_start(struct node_srv *ns, struct peer *p)
{
    char token[512] = "", cacert[4400];
    struct sync_run_opts o = {.url = p->url};
    struct proto_err e;
    rl_peer_token(&ns->c->store, p->url, token, sizeof token);
    if (!token[0] && getenv("RELIEF_TOKEN"))
        snprintf(token, sizeof token, "%s", getenv("RELIEF_TOKEN"));
    o.token = token[0] ? token : NULL;
    /* the certificates peer add kept for it, else $RELIEF_CACERT, else the system's */
    rl_peer_cacert(&ns->c->store, p->url, cacert, sizeof cacert);
    o.cainfo = cacert[0] ? cacert : getenv("RELIEF_CACERT");
    if (o.cainfo && !o.cainfo[0])
        o.cainfo = NULL;
    p->running = 1;
    proto_err_clear(&e);
    if (sync_run_start(ns->client, &ns->net.ss.iface, &o, peer_done, NULL, p, &p->run, &e)) {
        p->run = NULL;
        struct sync_run_result r = {.rc = e.code};
        snprintf(r.err, sizeof r.err, "%s", e.msg);
        peer_done(p, &r);
    }
}

static void on_tick(uv_timer_t *t)
{
    struct node_srv *ns = t->data;
    uint64_t now = rl_now_ms(), sum = vv_sum(ns);
    if (ns->stopping)
        return;
    if (sum != ns->vv_sum) {
        ns->vv_sum = sum;
        ns->changed_at_ms = now;
    }
    for (int i = 0; i < ns->npeers; i++) {
        struct peer *p = &ns->peers[i];
        if (p->running)
            continue;
        /* a change waits 300 ms for more to gather (debounce), unless a retry is pending */
        int changed = p->synced_sum != sum && now >= ns->changed_at_ms + 300 &&
                      p->failures == 0;
        if (now >= p->due_ms || changed)
            peer_start(ns, p);
    }
}

static void closed(void *arg)
{
    (void)arg;
}

static void on_signal(uv_signal_t *s, int sig)
{
    struct node_srv *ns = s->data;
    (void)sig;
    if (ns->stopping)
        return;
    ns->stopping = 1;
    log_line("stopping");
    uv_timer_stop(&ns->tick);
    uv_close((uv_handle_t *)&ns->tick, NULL);
    uv_close((uv_handle_t *)&ns->sigint, NULL);
    uv_close((uv_handle_t *)&ns->sigterm, NULL);
    for (int i = 0; i < ns->npeers; i++)
        sync_run_cancel(ns->peers[i].run); /* one may be waiting for a page's commit */
    rl_net_node_stop(&ns->net, closed, NULL);
    sync_client_free(ns->client, closed, NULL);
}

static int is_loopback(const char *host)
{
    return !strcmp(host, "127.0.0.1") || !strcmp(host, "localhost") || !strcmp(host, "::1") ||
           !strncmp(host, "127.", 4);
}

static int count_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)e;
    *(uint64_t *)arg = rl_token_count(t);
    return 0;
}

static int peers_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)e;
    struct node_srv *ns = arg;
    json_t *list = rl_peer_list(t);
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        const char *url = json_string_value(json_object_get(o, "url"));
        int dup = 0;
        /* one sync with each peer: one given with --peer too is not synced twice at once */
        for (int j = 0; j < ns->npeers && !dup; j++)
            dup = !strcmp(ns->peers[j].url, url);
        if (ns->npeers >= MAX_PEERS)
            break;
        if (!dup)
            snprintf(ns->peers[ns->npeers++].url, sizeof ns->peers[0].url, "%s", url);
    }
    json_decref(list);
    return 0;
}

static int cmd_serve_net(struct cli *c, int argc, char **argv)
{
    const char *listen = "127.0.0.1:8080", *interval = NULL;
    const char *peer_args[MAX_PEERS];
    int npeer_args = 0;
    struct rl_api_opts api_opts;
    memset(&api_opts, 0, sizeof api_opts);
    struct proto_err e;
    int rc;

    /* --peer may repeat: take those first */
    int k = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--peer") && i + 1 < argc && npeer_args < MAX_PEERS) {
            peer_args[npeer_args++] = argv[++i];
            continue;
        }
        if (!strcmp(argv[i], "--host") && i + 1 < argc && api_opts.nhosts < RL_API_MAX_HOSTS) {
            api_opts.hosts[api_opts.nhosts++] = argv[++i];
            continue;
        }
        argv[k++] = argv[i];
    }
    argc = k;
    const struct cli_opt opts[] = {
        {"listen", 1, &listen},
        {"interval", 1, &interval},
        {NULL, 0, NULL},
    };
    if (cli_parse(argc, argv, opts, serve_usage) != 0)
        return cli_usage_error(serve_usage, "unexpected argument '%s'", argv[1]);
    char host[256];
    const char *colon = strrchr(listen, ':');
    size_t digits = colon ? strspn(colon + 1, "0123456789") : 0;
    long port = digits && digits <= 5 && !colon[1 + digits] ? strtol(colon + 1, NULL, 10) : -1;
    if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host || port < 0 ||
        port > 65535)
        return cli_bad_value("--listen: '%.100s' is not HOST:PORT (a port from 0 to 65535; 0: "
                             "one the system picks)",
                             listen);
    memcpy(host, listen, (size_t)(colon - listen));
    host[colon - listen] = '\0';
    if (!strcmp(host, "localhost"))
        strcpy(host, "127.0.0.1"); /* (the name the laptop knows itself by) */
    if (interval && (strspn(interval, "0123456789") != strlen(interval) || strlen(interval) > 5 ||
                     atol(interval) < 1 || atol(interval) > 86400))
        return cli_bad_value("--interval: '%.100s' is not a number of seconds from 1 to 86400",
                             interval);
    if (host[0] == '[' && host[strlen(host) - 1] == ']') {
        memmove(host, host + 1, strlen(host));
        host[strlen(host) - 1] = '\0';
    }
    if ((rc = cli_open(c)))
        return rc;

    static struct node_srv ns;
    memset(&ns, 0, sizeof ns);
    ns.c = c;
    ns.interval_s = interval ? (unsigned)strtoul(interval, NULL, 10) : 60;
    if (ns.interval_s == 0)
        ns.interval_s = 60;
    proto_err_clear(&e);
    uint64_t ntokens = 0;
    rl_store_read(&c->store, count_fn, &ntokens, &e);
    if (!is_loopback(host) && ntokens == 0) {
        fprintf(stderr, "relief: refusing to listen on '%s' with no token: anyone on the "
                        "network could read and write; make one with relief token add "
                        "--role sync\n",
                host);
        return RL_EXIT_FAIL;
    }
    /* thousands of connections: raise the file limit as far as allowed */
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    signal(SIGPIPE, SIG_IGN);
    ns.loop = uv_default_loop();
    api_opts.listen_host = host;
    if (rl_net_node_start(&ns.net, ns.loop, &c->store, host, (int)port, &api_opts, NULL, &e))
        return cli_fail(&e);
    ns.net.ep.on_sync = on_sync_log;
    if (sync_client_new(ns.loop, &ns.client, &e))
        return cli_fail(&e);
    for (int i = 0; i < npeer_args; i++) {
        char url[RL_PEER_URL_MAX + 1];
        if (rl_peer_url(peer_args[i], url, sizeof url, &e))
            return cli_fail(&e);
        snprintf(ns.peers[ns.npeers++].url, sizeof ns.peers[0].url, "%s", url);
    }
    rl_store_read(&c->store, peers_fn, &ns, &e);
    for (int i = 0; i < ns.npeers; i++)
        ns.peers[i].srv = &ns;
    ns.vv_sum = vv_sum(&ns);
    uv_timer_init(ns.loop, &ns.tick);
    ns.tick.data = &ns;
    uv_timer_start(&ns.tick, on_tick, 0, 250);
    uv_signal_init(ns.loop, &ns.sigint);
    uv_signal_init(ns.loop, &ns.sigterm);
    ns.sigint.data = ns.sigterm.data = &ns;
    uv_signal_start(&ns.sigint, on_signal, SIGINT);
    uv_signal_start(&ns.sigterm, on_signal, SIGTERM);
    printf("listening on http://%s%s%s:%d\n", strchr(host, ':') ? "[" : "", host,
           strchr(host, ':') ? "]" : "", sync_http_server_port(ns.net.http));
    fflush(stdout);
    log_line("node %016llx '%s' serving; %s; %d peer%s", (unsigned long long)ns.net.ss.node,
             ns.net.ss.name, ntokens ? "tokens required" : "no tokens (loopback only)", ns.npeers,
             ns.npeers == 1 ? "" : "s");
    uv_run(ns.loop, UV_RUN_DEFAULT);
    uv_loop_close(ns.loop);
    return RL_EXIT_OK;
}

/* --- relief sync URL --- */

struct one {
    struct sync_run_result r;
    int tty;
    struct sync_client *client;
};

static void one_progress(void *arg, const struct sync_run_result *r, const char *phase)
{
    struct one *o = arg;
    if (o->tty)
        fprintf(stderr, "\r%s: %llu ops in, %llu ops out, %.1f KiB   ", phase,
                (unsigned long long)r->pulled, (unsigned long long)r->pushed,
                (double)(r->bytes_in + r->bytes_out) / 1024);
}

static void one_done(void *arg, const struct sync_run_result *r)
{
    struct one *o = arg;
    o->r = *r;
    sync_client_free(o->client, NULL, NULL);
}

static int cmd_sync_net(struct cli *c, int argc, char **argv)
{
    const char *token_file = NULL, *cacert = NULL;
    const struct cli_opt opts[] = {
        {"token-file", 1, &token_file}, {"cacert", 1, &cacert}, {NULL, 0, NULL}};
    char token[512] = "", kept[4400];
    struct proto_err e;
    struct rl_syncstore ss;
    int rc;

    if (cli_parse(argc, argv, opts, sync_usage) != 1)
        return cli_usage_error(sync_usage, "sync needs one URL");
    char url[RL_PEER_URL_MAX + 1];
    proto_err_clear(&e);
    if (rl_peer_url(argv[1], url, sizeof url, &e))
        return cli_fail(&e);
    if (token_file && rl_token_read_file(token_file, token, sizeof token, &e))
        return cli_fail(&e);
    if ((rc = cli_open(c)))
        return rc;
    if (!token[0] && getenv("RELIEF_TOKEN"))
        snprintf(token, sizeof token, "%s", getenv("RELIEF_TOKEN"));
    if (!token[0])
        rl_peer_token(&c->store, url, token, sizeof token);
    if (!cacert) {
        rl_peer_cacert(&c->store, url, kept, sizeof kept);
        cacert = kept[0] ? kept : getenv("RELIEF_CACERT");
    }
    if (cacert && (!cacert[0] || rl_cacert_check(cacert, &e)))
        return cacert[0] ? cli_fail(&e) : cli_bad_value("--cacert: an empty file name");
    if (rl_syncstore_init(&ss, &c->store, &e))
        return cli_fail(&e);
    signal(SIGPIPE, SIG_IGN);
    uv_loop_t *loop = uv_default_loop();
    struct one o = {.tty = isatty(2)};
    struct sync_run_opts so = {.url = url, .token = token[0] ? token : NULL, .cainfo = cacert};
    if (sync_client_new(loop, &o.client, &e))
        return cli_fail(&e);
    rl_syncstore_pool(&ss, loop); /* a page is written while the next one comes */
    if (sync_run_start(o.client, &ss.iface, &so, one_done, one_progress, &o, NULL, &e))
        return cli_fail(&e);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    if (o.tty)
        fputc('\n', stderr);
    rl_peer_report(&c->store, url, o.r.rc, o.r.err, o.r.peer_lacks, &e);
    if (c->json)
        cli_json_print(json_pack(
            "{s:b, s:s, s:I, s:I, s:I, s:I, s:I, s:f, s:i, s:i}", "ok", o.r.rc == 0, "error",
            o.r.err, "pulled", (json_int_t)o.r.pulled, "pushed", (json_int_t)o.r.pushed, "bytes_in",
            (json_int_t)o.r.bytes_in, "bytes_out", (json_int_t)o.r.bytes_out, "requests",
            (json_int_t)o.r.requests, "seconds", o.r.seconds, "forked_here", (int)o.r.frozen,
            "forked_on_peer", (int)o.r.peer_frozen));
    if (o.r.rc) {
        fprintf(stderr, "relief: sync with %s failed: %s\n", url, o.r.err);
        return RL_EXIT_FAIL;
    }
    fprintf(stderr,
            "synced with %s: %llu op%s in, %llu op%s out, %llu bytes in, %llu bytes out, "
            "%.2f s\n",
            url, (unsigned long long)o.r.pulled, o.r.pulled == 1 ? "" : "s",
            (unsigned long long)o.r.pushed, o.r.pushed == 1 ? "" : "s",
            (unsigned long long)o.r.bytes_in, (unsigned long long)o.r.bytes_out, o.r.seconds);
    if (o.r.frozen || o.r.peer_frozen)
        fprintf(stderr,
                "relief: left out: the ops of %u origin(s) forked on this node and %u on the "
                "peer (two copies of a node wrote under one id): see relief status and relief "
                "alerts\n",
                o.r.frozen, o.r.peer_frozen);
    return RL_EXIT_OK;
}

int main(int argc, char **argv)
{
    struct cli c;
    memset(&c, 0, sizeof c);
    /* the same global options as relief */
    int n = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            c.data_dir = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            c.json = 1;
        else if (!strcmp(argv[i], "--by") && i + 1 < argc)
            c.by = argv[++i];
        else
            argv[n++] = argv[i];
    }
    argc = n;
    argv[argc] = NULL;
    if (!c.data_dir) {
        const char *d = getenv("RELIEF_DATA");
        c.data_dir = d && *d ? d : ".";
    }
    if (argc < 2) {
        fputs("usage: relief-net [--data DIR] serve|sync ... (run through relief)\n", stderr);
        return RL_EXIT_USAGE;
    }
    if (sodium_init() < 0)
        return RL_EXIT_FAIL;
    int rc;
    if (!strcmp(argv[1], "serve"))
        rc = cmd_serve_net(&c, argc - 1, argv + 1);
    else if (!strcmp(argv[1], "sync"))
        rc = cmd_sync_net(&c, argc - 1, argv + 1);
    else {
        fprintf(stderr, "relief-net: unknown command '%s'\n", argv[1]);
        rc = RL_EXIT_USAGE;
    }
    if (c.open)
        rl_store_close(&c.store);
    return rc;
}
