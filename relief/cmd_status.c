/*
 * relief status | relief log [-n N] | relief digest [--rebuild]
 */
#include "access.h"
#include "cli.h"
#include "digest.h"
#include "hlc.h"
#include "import.h"
#include "mpjson.h"
#include "node.h"
#include "oplog.h"
#include "proto/kinds.h"
#include "views.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const status_usage[] = {"relief status", NULL};
static const char *const log_usage[] = {"relief log [-n N | --count N] [--origin ID]", NULL};
static const char *const digest_usage[] = {"relief digest [--rebuild]", NULL};

struct status {
    struct rl_node node;
    struct proto_vv vv;
    uint64_t ops, forks;
    json_t *origins;
    json_t *peers;
    json_t *cuts; /* imports cut short */
};

static int cut_fn(void *arg, const struct rl_import_cut *c)
{
    char hash[33];
    rl_hex(c->hash, sizeof c->hash, hash);
    json_array_append_new(arg, json_pack("{s:s, s:s, s:s, s:I, s:I, s:I}", "file", c->name, "kind",
                                         rl_import_kind_name(c->kind), "hash", hash, "rows",
                                         (json_int_t)c->rows, "written", (json_int_t)c->written,
                                         "next_line", (json_int_t)c->next_line));
    return 0;
}

static int status_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct status *s = arg;
    int rc;
    if ((rc = rl_node_load(t, &s->node, e)) || (rc = rl_vv_load(t, &s->vv, e)))
        return rc;
    if ((rc = rl_oplog_count(t, &s->ops)) || (rc = rl_count(t, RL_DB_FORKS, &s->forks)))
        return proto_errf(e, rc, "cannot count ops: %s", proto_strerror(rc));
    s->origins = json_array();
    s->peers = rl_peer_list(t);
    s->cuts = json_array();
    if ((rc = rl_import_cuts(t, cut_fn, s->cuts)))
        return proto_errf(e, rc, "cannot read the imports cut short: %s", proto_strerror(rc));
    for (uint32_t i = 0; i < s->vv.n; i++) {
        char id[17], name[PROTO_MAX_AUTHOR_BYTES + 1], hash[2 * PROTO_HASH_BYTES + 1];
        uint64_t fseq = 0;
        cli_id(s->vv.e[i].origin, id);
        rl_views_node_name(t, s->vv.e[i].origin, name, sizeof name);
        rl_hex(s->vv.e[i].hash, PROTO_HASH_BYTES, hash);
        json_t *o = json_pack("{s:s, s:s, s:I, s:s}", "origin", id, "name", name, "seq",
                              (json_int_t)s->vv.e[i].seq, "hash", hash);
        if (rl_oplog_forked(t, s->vv.e[i].origin, &fseq) > 0)
            json_object_set_new(o, "forked_at", json_integer((json_int_t)fseq));
        json_array_append_new(s->origins, o);
    }
    return 0;
}

int cmd_status(struct cli *c, int argc, char **argv)
{
    struct status s;
    struct proto_err e;
    uint64_t size = 0;
    char id[17], net[2 * PROTO_NETWORK_BYTES + 1], sz[32];
    int rc;

    if (cli_parse(argc, argv, NULL, status_usage) != 0)
        return cli_usage_error(status_usage, "unexpected argument '%s'", argv[1]);
    if ((rc = cli_open(c)))
        return rc;
    memset(&s, 0, sizeof s);
    proto_vv_init(&s.vv);
    proto_err_clear(&e);
    if (rl_store_read(&c->store, status_fn, &s, &e)) {
        proto_vv_free(&s.vv);
        json_decref(s.origins);
        json_decref(s.peers);
        json_decref(s.cuts);
        return cli_fail(&e);
    }
    rl_store_size(&c->store, &size);
    cli_id(s.node.id, id);
    rl_hex(s.node.network, PROTO_NETWORK_BYTES, net);
    cli_size(size, sz, sizeof sz);
    if (c->json) {
        cli_json_print(json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:o}", "network",
                                 net, "node", id, "name", s.node.name, "data", c->data_dir, "ops",
                                 (json_int_t)s.ops, "forks", (json_int_t)s.forks, "bytes",
                                 (json_int_t)size, "version_vector", s.origins, "peers", s.peers,
                                 "imports_cut_short", s.cuts));
    } else {
        /* names, URLs and errors come from other nodes: printed safe */
        printf("node     %s  ", id);
        cli_put_safe(stdout, s.node.name);
        putchar('\n');
        printf("network  %s\n", net);
        printf("data     %s  (%s on disk)\n", c->data_dir, sz);
        printf("ops      %llu from %u origin%s\n", (unsigned long long)s.ops, s.vv.n,
               s.vv.n == 1 ? "" : "s");
        if (s.forks)
            printf("forks    %llu (an origin wrote two different histories; see below)\n",
                   (unsigned long long)s.forks);
        printf("\n%-16s  %10s  %s\n", "origin", "seq", "name");
        size_t i;
        json_t *o;
        json_array_foreach(s.origins, i, o)
        {
            json_t *f = json_object_get(o, "forked_at");
            printf("%-16s  %10lld  ", json_string_value(json_object_get(o, "origin")),
                   (long long)json_integer_value(json_object_get(o, "seq")));
            cli_put_safe(stdout, json_string_value(json_object_get(o, "name")));
            if (!strcmp(json_string_value(json_object_get(o, "origin")), id))
                fputs(" (this node)", stdout);
            if (f)
                printf("  FORKED at seq %lld", (long long)json_integer_value(f));
            putchar('\n');
        }
        json_decref(s.origins);
        json_array_foreach(s.peers, i, o)
        {
            const char *ok = json_string_value(json_object_get(o, "last_success"));
            const char *err = json_string_value(json_object_get(o, "last_error"));
            const char *err_at = json_string_value(json_object_get(o, "last_error_at"));
            if (i == 0)
                printf("\npeers\n");
            fputs("  ", stdout);
            cli_put_safe(stdout, json_string_value(json_object_get(o, "url")));
            printf("  last success %s", ok && *ok ? ok : "never");
            if (ok && *ok)
                printf(" (it lacked %lld ops)",
                       (long long)json_integer_value(json_object_get(o, "lacks")));
            if (err && *err) {
                printf("; last error %s: ", err_at);
                cli_put_safe(stdout, err);
            }
            putchar('\n');
        }
        json_decref(s.peers);
        json_array_foreach(s.cuts, i, o)
        {
            const char *kind = json_string_value(json_object_get(o, "kind"));
            const char *file = json_string_value(json_object_get(o, "file"));
            if (!file || !*file) { /* a CSV body sent to the API, which has no file name */
                printf("%simport   %s sent to the API cut short: %lld of %lld rows written; send "
                       "the same file again (POST /api/v1/import/%s) to write the rest, from "
                       "line %lld\n",
                       i ? "" : "\n", kind,
                       (long long)json_integer_value(json_object_get(o, "written")),
                       (long long)json_integer_value(json_object_get(o, "rows")), kind,
                       (long long)json_integer_value(json_object_get(o, "next_line")));
                continue;
            }
            printf("%simport   %s from '", i ? "" : "\n", kind);
            cli_put_safe(stdout, file);
            printf("' cut short: %lld of %lld rows written; import the same file again (relief "
                   "import %s ",
                   (long long)json_integer_value(json_object_get(o, "written")),
                   (long long)json_integer_value(json_object_get(o, "rows")), kind);
            cli_put_safe(stdout, file);
            printf(") to write the rest, from line %lld\n",
                   (long long)json_integer_value(json_object_get(o, "next_line")));
        }
        json_decref(s.cuts);
    }
    proto_vv_free(&s.vv);
    return RL_EXIT_OK;
}

/* --- log --- */

struct log_entry {
    uint64_t hlc, origin, seq;
    json_t *json;
};

struct log_arg {
    uint64_t limit;
    uint64_t only_origin;
    int has_origin;
    struct log_entry *v;
    size_t n;
};

static int entry_cmp(const void *a, const void *b)
{
    const struct log_entry *x = a, *y = b;
    if (x->hlc != y->hlc)
        return x->hlc < y->hlc ? 1 : -1;
    if (x->origin != y->origin)
        return x->origin < y->origin ? 1 : -1;
    return x->seq < y->seq ? 1 : x->seq > y->seq ? -1 : 0;
}

static json_t *op_json(struct rl_txn *t, const struct proto_op *op)
{
    char id[17], when[40], name[PROTO_MAX_AUTHOR_BYTES + 1];
    const char *kind = proto_kind_name(op->kind);
    json_t *body = rl_mp_to_json(op->body, op->body_len);
    json_t *author = json_stringn(op->author, op->author_len);
    cli_id(op->origin, id);
    rl_hlc_format(op->hlc, when, sizeof when);
    rl_views_node_name(t, op->origin, name, sizeof name);
    return json_pack("{s:s, s:s, s:I, s:s, s:I, s:o, s:I, s:s?, s:o}", "time", when, "origin", id,
                     "seq", (json_int_t)op->seq, "node", name, "hlc", (json_int_t)op->hlc,
                     "author", author ? author : json_string("?"), "kind", (json_int_t)op->kind,
                     "kind_name", kind, "body", body ? body : json_null());
}

static int log_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct log_arg *a = arg;
    struct proto_vv vv;
    int rc;

    proto_vv_init(&vv);
    if ((rc = rl_vv_load(t, &vv, e)))
        return rc;
    for (uint32_t i = 0; i < vv.n && !rc; i++) {
        if (a->has_origin && vv.e[i].origin != a->only_origin)
            continue;
        /* the newest `limit` ops of each origin, merged by hlc below */
        for (uint64_t k = 0; k < a->limit && k < vv.e[i].seq; k++) {
            struct proto_op op;
            if ((rc = rl_oplog_get(t, vv.e[i].origin, vv.e[i].seq - k, &op, e)))
                break;
            struct log_entry *p = realloc(a->v, (a->n + 1) * sizeof *p);
            if (!p) {
                rc = proto_errf(e, -ENOMEM, "out of memory");
                break;
            }
            a->v = p;
            a->v[a->n].hlc = op.hlc;
            a->v[a->n].origin = op.origin;
            a->v[a->n].seq = op.seq;
            a->v[a->n].json = op_json(t, &op);
            a->n++;
        }
    }
    proto_vv_free(&vv);
    return rc;
}

int cmd_log(struct cli *c, int argc, char **argv)
{
    const char *count = NULL, *origin = NULL;
    const struct cli_opt opts[] = {
        {"count", 1, &count},
        {"origin", 1, &origin},
        {NULL, 0, NULL},
    };
    struct log_arg a = {.limit = 20};
    struct proto_err e;
    int rc;

    /* -n N as a short form of --count (a -n without N: "'--count' needs a value") */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-n") == 0) {
            argv[i] = "--count";
        }
    if (cli_parse(argc, argv, opts, log_usage) != 0)
        return cli_usage_error(log_usage, "unexpected argument '%s'", argv[1]);
    /* a bad value of an option it knows is a failure (1), as everywhere; a usage error is 2 */
    if (count) {
        uint64_t v = 0;
        size_t n = strspn(count, "0123456789");
        for (size_t i = 0; i < n && v <= 1000000; i++)
            v = v * 10 + (uint64_t)(count[i] - '0');
        if (!n || count[n] || v == 0 || v > 1000000) {
            fputs("relief: -n/--count: '", stderr);
            cli_put_safe(stderr, count);
            fputs("' is not a whole number from 1 to 1000000\n", stderr);
            return RL_EXIT_FAIL;
        }
        a.limit = v;
    }
    if (origin) {
        if (strlen(origin) != 16 || strspn(origin, "0123456789abcdefABCDEF") != 16) {
            fputs("relief: --origin: '", stderr);
            cli_put_safe(stderr, origin);
            fputs("' is not a node id of 16 hex digits\n", stderr);
            return RL_EXIT_FAIL;
        }
        a.only_origin = strtoull(origin, NULL, 16);
        a.has_origin = 1;
    }
    if ((rc = cli_open(c)))
        return rc;
    proto_err_clear(&e);
    rc = rl_store_read(&c->store, log_fn, &a, &e);
    if (!rc) {
        if (a.n)
            qsort(a.v, a.n, sizeof *a.v, entry_cmp);
        json_t *arr = c->json ? json_array() : NULL;
        /* one line an op, its columns lined up by display width (no head: a log, not a table) */
        struct cli_table tb;
        static const int right[] = {0, 0, 0, 0, 0};
        cli_table_init(&tb, 5, NULL, right);
        for (size_t i = 0; i < a.n && i < a.limit; i++) {
            json_t *j = a.v[i].json;
            if (arr) {
                json_array_append(arr, j);
                continue;
            }
            const char *kind = json_string_value(json_object_get(j, "kind_name"));
            char kbuf[32];
            if (!kind) {
                snprintf(kbuf, sizeof kbuf, "kind-%lld",
                         (long long)json_integer_value(json_object_get(j, "kind")));
                kind = kbuf;
            }
            char *body = json_dumps(json_object_get(j, "body"), JSON_COMPACT | JSON_SORT_KEYS);
            char op[48];
            snprintf(op, sizeof op, "%s:%lld", json_string_value(json_object_get(j, "origin")),
                     (long long)json_integer_value(json_object_get(j, "seq")));
            const char *row[] = {json_string_value(json_object_get(j, "time")), op,
                                 json_string_value(json_object_get(j, "author")), kind,
                                 body ? body : ""};
            cli_table_row(&tb, row);
            free(body);
        }
        if (arr)
            cli_json_print(arr);
        else
            cli_table_print(&tb);
        cli_table_free(&tb);
    }
    for (size_t i = 0; i < a.n; i++)
        json_decref(a.v[i].json);
    free(a.v);
    return rc ? cli_fail(&e) : RL_EXIT_OK;
}

/* --- digest --- */

static int digest_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_digest(t, arg, e);
}

int cmd_digest(struct cli *c, int argc, char **argv)
{
    const char *rebuild = NULL;
    const struct cli_opt opts[] = {{"rebuild", 0, &rebuild}, {NULL, 0, NULL}};
    uint8_t d[RL_DIGEST_BYTES];
    char hex[2 * RL_DIGEST_BYTES + 1];
    struct proto_err e;
    int rc;

    if (cli_parse(argc, argv, opts, digest_usage) != 0)
        return cli_usage_error(digest_usage, "unexpected argument '%s'", argv[1]);
    if ((rc = cli_open(c)))
        return rc;
    proto_err_clear(&e);
    if (rebuild)
        rc = rl_digest_rebuilt(&c->store, d, &e);
    else
        rc = rl_store_read(&c->store, digest_fn, d, &e);
    if (rc)
        return cli_fail(&e);
    rl_hex(d, sizeof d, hex);
    if (c->json)
        cli_json_print(json_pack("{s:s, s:b}", "digest", hex, "rebuilt", rebuild != NULL));
    else
        puts(hex);
    return RL_EXIT_OK;
}
