/*
 * relief stock receive|dispatch|arrive|distribute|adjust|count|void, relief stock
 * [--site S] [--item I] (balances and what is in transit) and relief stock transit (the
 * transfers on their way).
 */
#include "cli.h"
#include "domain.h"
#include "proto/kinds.h"
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const usage[] = {
    "relief stock receive --site S --item I --qty N [--donation D] [--lot L] [--expiry DATE] "
    "[--from TEXT]",
    "relief stock dispatch --from S --to S --item I --qty N [--need NEED]   (prints the transfer)",
    "relief stock arrive TRANSFER [--qty N]",
    "relief stock distribute --site S --item I --qty N [--need NEED] [--note TEXT]",
    "relief stock adjust --site S --item I --qty +N|-N "
    "--reason damaged|expired|lost|found|unrecorded|other [--note TEXT] [--lot L]",
    "relief stock count --site S --item I --qty N",
    "relief stock void MOVEMENT --reason TEXT",
    "relief stock [--site S] [--item I]",
    "relief stock transit [--site S] [--item I]   (transfers on their way, with their ids)",
    NULL,
};

struct show_arg {
    const char *site, *item;
    int json;
    json_t *out;          /* --json */
    struct cli_table *tb; /* else */
};

static int table_row(void *arg, const struct rl_stock_row *r)
{
    struct cli_table *tb = arg;
    char bal[24], tr[24];
    snprintf(bal, sizeof bal, "%lld", (long long)r->balance);
    snprintf(tr, sizeof tr, "%lld", (long long)r->in_transit);
    const char *row[] = {*r->site_code ? r->site_code : r->site_hex, r->site_name, r->item, bal,
                         tr, r->unit};
    cli_table_row(tb, row);
    return 0;
}

/* --site and --item, when given, named as the node knows them (site: its id, else 0) */
static int filters(struct rl_txn *t, const char *site, const char *item, uint64_t *id,
                   struct proto_err *e)
{
    int rc;
    *id = 0;
    if (site && (rc = rl_resolve_site(t, site, id, e)))
        return rc;
    return item ? rl_resolve_item(t, item, e) : 0;
}

static int show_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct show_arg *a = arg;
    uint64_t site;
    int rc;
    if ((rc = filters(t, a->site, a->item, &site, e)))
        return rc;
    if (!a->json)
        return rl_q_stock_rows(t, site, a->item, table_row, a->tb, e);
    a->out = rl_q_stock(t, site, a->item, e);
    return a->out ? 0 : -EIO;
}

static int show(struct cli *c, const char *site, const char *item)
{
    static const char *const head[] = {"site", "name", "item", "balance", "in transit", "unit"};
    static const int right[] = {0, 0, 0, 1, 1, 0};
    struct cli_table tb;
    struct show_arg a = {site, item, c->json, NULL, &tb};
    int rc;
    cli_table_init(&tb, 6, head, right);
    if ((rc = cli_read(c, show_fn, &a))) {
        cli_table_free(&tb);
        return rc;
    }
    if (c->json) {
        cli_json_print(a.out); /* (takes it) */
    } else {
        cli_table_sort(&tb, 0, 2); /* each site's rows together, by code, then item */
        cli_table_print(&tb);
    }
    cli_table_free(&tb);
    return RL_EXIT_OK;
}

struct transit_arg {
    const char *site, *item;
    json_t *out;
};

static int transit_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct transit_arg *a = arg;
    uint64_t site;
    int rc;
    if ((rc = filters(t, a->site, a->item, &site, e)))
        return rc;
    a->out = rl_q_transit(t, site, a->item, e);
    return a->out ? 0 : -EIO;
}

/* relief stock transit: the transfers still on their way, each with the id an arrival takes */
static int transit(struct cli *c, const char *site, const char *item)
{
    static const char *const head[] = {"transfer", "sent", "from", "to", "item", "qty", "by"};
    static const int right[] = {0, 0, 0, 0, 0, 1, 0};
    struct transit_arg a = {site, item, NULL};
    int rc;
    if ((rc = cli_read(c, transit_fn, &a)))
        return rc;
    if (c->json) {
        cli_json_print(a.out); /* (takes it) */
        return RL_EXIT_OK;
    }
    struct cli_table tb;
    size_t i;
    json_t *o;
    cli_table_init(&tb, 7, head, right);
    json_array_foreach(a.out, i, o)
    {
        char qty[24], when[40];
        const char *fc = json_string_value(json_object_get(o, "from_code"));
        const char *tc = json_string_value(json_object_get(o, "to_code"));
        snprintf(qty, sizeof qty, "%lld", (long long)json_integer_value(json_object_get(o, "qty")));
        cli_local_time(json_string_value(json_object_get(o, "time")), when, sizeof when, 0);
        const char *row[] = {json_string_value(json_object_get(o, "transfer")),
                             when,
                             *fc ? fc : json_string_value(json_object_get(o, "from")),
                             *tc ? tc : json_string_value(json_object_get(o, "to")),
                             json_string_value(json_object_get(o, "item")),
                             qty,
                             json_string_value(json_object_get(o, "author"))};
        cli_table_row(&tb, row);
    }
    if (json_array_size(a.out))
        cli_table_print(&tb);
    else
        fprintf(stderr, "nothing in transit\n");
    cli_table_free(&tb);
    json_decref(a.out);
    return RL_EXIT_OK;
}

/* The options each stock command takes, as its usage lists them (" a b "). */
static const char *stock_takes(int kind)
{
    switch (kind) {
    case PROTO_KIND_STOCK_RECEIVE:
        return " site item qty donation lot expiry from ";
    case PROTO_KIND_STOCK_DISPATCH:
        return " from to item qty need ";
    case PROTO_KIND_STOCK_ARRIVE:
        return " qty ";
    case PROTO_KIND_STOCK_DISTRIBUTE:
        return " site item qty need note ";
    case PROTO_KIND_STOCK_ADJUST:
        return " site item qty reason note lot ";
    case PROTO_KIND_STOCK_COUNT:
        return " site item qty ";
    case PROTO_KIND_STOCK_VOID:
        return " reason ";
    }
    return " ";
}

int cmd_stock(struct cli *c, int argc, char **argv)
{
    struct rl_stock_req r;
    const char *from = NULL;
    memset(&r, 0, sizeof r);
    const struct cli_opt opts[] = {
        {"site", 1, &r.site},       {"from", 1, &from},         {"to", 1, &r.to},
        {"item", 1, &r.item},       {"qty", 1, &r.qty},         {"lot", 1, &r.lot},
        {"expiry", 1, &r.expiry},   {"donation", 1, &r.donation}, {"need", 1, &r.need},
        {"reason", 1, &r.reason},   {"note", 1, &r.note},       {NULL, 0, NULL},
    };

    if (argc < 2 || argv[1][0] == '-') {
        /* relief stock [--site S] [--item I] */
        if (cli_parse(argc, argv, opts, usage) != 0)
            return cli_usage_error(usage, "unexpected argument '%s'", argv[1]);
        if (r.to || r.qty || r.lot || r.expiry || r.donation || r.need || r.reason || r.note ||
            from)
            return cli_usage_error(usage, "stock takes --site and --item only");
        return show(c, r.site, r.item);
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "transit")) {
        if (cli_parse(argc - 1, argv + 1, opts, usage) != 0)
            return cli_usage_error(usage, "stock transit takes no argument");
        if (r.to || r.qty || r.lot || r.expiry || r.donation || r.need || r.reason || r.note ||
            from)
            return cli_usage_error(usage, "stock transit takes --site and --item only");
        return transit(c, r.site, r.item);
    }
    for (const struct rl_stock_op *op = rl_stock_ops; op->name; op++) {
        if (strcmp(op->name, sub))
            continue;
        r.kind = op->kind;
        int npos = cli_parse(argc - 1, argv + 1, opts, usage);
        int want_pos = r.kind == PROTO_KIND_STOCK_ARRIVE || r.kind == PROTO_KIND_STOCK_VOID;
        if (npos != want_pos)
            return cli_usage_error(usage, want_pos ? "stock %s needs one id" : "stock %s takes no "
                                                                                "argument",
                                   sub);
        /* an option the command does not take is refused, never ignored: a count given --lot
         * would count the whole shelf, a distribution given --lot draw another lot */
        const char *takes = stock_takes(r.kind);
        for (const struct cli_opt *o = opts; o->name; o++) {
            char word[24];
            snprintf(word, sizeof word, " %s ", o->name);
            if (*o->value && !strstr(takes, word))
                return cli_usage_error(usage, "stock %s does not take --%s", sub, o->name);
        }
        if (want_pos)
            r.target = argv[2];
        if (r.kind == PROTO_KIND_STOCK_DISPATCH) {
            r.site = from;
            if (!r.site || !r.to || !r.item || !r.qty)
                return cli_usage_error(usage, "stock dispatch needs --from, --to, --item, --qty");
        } else if (r.kind == PROTO_KIND_STOCK_VOID) {
            if (!r.reason)
                return cli_usage_error(usage, "stock void needs --reason");
            r.note = r.reason;
        } else if (r.kind != PROTO_KIND_STOCK_ARRIVE) {
            if (from && r.kind == PROTO_KIND_STOCK_RECEIVE)
                r.from_text = from;
            else if (from)
                return cli_usage_error(usage, "--from belongs to dispatch and receive");
            if (!r.site || !r.item || !r.qty)
                return cli_usage_error(usage, "stock %s needs --site, --item and --qty", sub);
            if (r.kind == PROTO_KIND_STOCK_ADJUST && !r.reason)
                return cli_usage_error(usage, "stock adjust needs --reason");
        }
        r.author = c->by;
        struct rl_stock_result res;
        struct proto_err e;
        char ref[40];
        int rc;
        if ((rc = cli_open(c)))
            return rc;
        proto_err_clear(&e);
        if (rl_stock_write(&c->store, &r, &res, &e))
            return cli_fail(&e);
        rl_ref_format(res.origin, res.seq, ref);
        if (c->json) {
            json_t *o = json_pack("{s:s}", "id", ref);
            if (res.has_balance)
                json_object_set_new(o, "balance", json_integer((json_int_t)res.balance));
            if (res.arrival) {
                json_object_set_new(o, "dispatched", json_integer((json_int_t)res.dispatched));
                json_object_set_new(o, "arrived", json_integer((json_int_t)res.arrived));
            }
            cli_json_print(o);
        } else if (res.arrival) {
            printf("%s\n", ref);
            /* more than was sent is taken as said (a miscount at the dispatch), but not quietly */
            fprintf(stderr, "%lld of %lld %s arrived%s", (long long)res.arrived,
                    (long long)res.dispatched, res.item,
                    res.arrived > res.dispatched ? ": MORE than was dispatched (see relief alerts)"
                    : res.arrived < res.dispatched
                        ? ": fewer than were dispatched (see relief alerts)"
                        : "");
            if (res.has_balance)
                fprintf(stderr, "; balance there %lld", (long long)res.balance);
            fputc('\n', stderr);
        } else {
            printf("%s\n", ref);
            if (res.has_balance)
                fprintf(stderr, "%s at %s: balance %lld%s\n", r.item, r.site,
                        (long long)res.balance, res.balance < 0 ? " (below zero: see relief alerts)" : "");
        }
        return RL_EXIT_OK;
    }
    return cli_usage_error(usage, "unknown stock command '%s'", sub);
}
