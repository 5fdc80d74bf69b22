/*
 * relief need add|set|list, relief shift add|set|list|signup|cancel|served,
 * relief donation pledge|set|list, relief trace DONATION.
 * Needs, shifts and donations are named by the op that made them ("71c0735a-42").
 */
#include "cli.h"
#include "domain.h"
#include "hlc.h"
#include "proto/kinds.h"
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const need_usage[] = {
    "relief need add --site S (--item I | --service TEXT) --qty N [--priority high|medium|low] "
    "[--due DATE] [--note TEXT]",
    "relief need set NEED [--qty N] [--priority P] [--due DATE] [--status open|closed] ...",
    "relief need list",
    NULL,
};

static const char *const shift_usage[] = {
    "relief shift add --site S --start TIME --end TIME --slots N [--role R] [--meals N]",
    "relief shift set SHIFT [--start TIME] [--end TIME] [--slots N] [--role R] [--status S]",
    "relief shift signup SHIFT --volunteer NAME [--contact C]",
    "relief shift cancel SHIFT --volunteer NAME",
    "relief shift served SHIFT --meals N",
    "relief shift list | show SHIFT   (show: the roster, confirmed and wait-listed)",
    NULL,
};

static const char *const donation_usage[] = {
    "relief donation pledge --donor NAME --to SITE (--item I --qty N | --amount N --currency CUR) "
    "[--note TEXT] [--contact C]",
    "relief donation set DONATION [--qty N] [--amount N] [--status open|closed] ...",
    "relief donation list",
    NULL,
};

static const char *const trace_usage[] = {"relief trace DONATION", NULL};

enum listing { L_NEEDS, L_SHIFTS, L_DONATIONS, L_TRACE };

struct list_arg {
    enum listing what;
    const char *id;
    json_t *out;
};

static int list_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct list_arg *a = arg;
    uint64_t o, s;
    int rc;
    switch (a->what) {
    case L_NEEDS:
        a->out = rl_q_needs(t, e);
        break;
    case L_SHIFTS:
        a->out = rl_q_shifts(t, e);
        break;
    case L_DONATIONS:
        a->out = rl_q_donations(t, e);
        break;
    case L_TRACE:
        if ((rc = rl_resolve_ref(t, a->id, &o, &s, e)))
            return rc;
        a->out = rl_q_trace(t, o, s, e);
        break;
    }
    return a->out ? 0 : (e->code ? e->code : -EIO);
}

static const char *js(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static void print_table(enum listing what, json_t *arr)
{
    struct cli_table tb;
    size_t i;
    json_t *o;
    if (what == L_NEEDS) {
        static const char *const head[] = {"id", "site", "item/service", "needed", "fulfilled",
                                           "gap", "in stock", "in transit", "priority", "due",
                                           "status"};
        static const int right[] = {0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0};
        cli_table_init(&tb, 11, head, right);
        json_array_foreach(arr, i, o)
        {
            char c[8][64];
            const char *keys[] = {"qty", "fulfilled", "gap", "in_stock", "in_transit",
                                  "priority", "due", "status"};
            for (int k = 0; k < 8; k++)
                cli_jfmt(o, keys[k], c[k], sizeof c[k]);
            const char *what_ = *js(o, "item") ? js(o, "item") : js(o, "service");
            const char *row[] = {js(o, "id"), *js(o, "site_code") ? js(o, "site_code")
                                                                   : js(o, "site_name"),
                                 what_, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
            cli_table_row(&tb, row);
        }
    } else if (what == L_SHIFTS) {
        static const char *const head[] = {"id", "site", "start", "end", "role", "slots",
                                           "confirmed", "waitlisted", "meals served"};
        static const int right[] = {0, 0, 0, 0, 0, 1, 1, 1, 1};
        cli_table_init(&tb, 9, head, right);
        json_array_foreach(arr, i, o)
        {
            char c[4][32];
            const char *keys[] = {"slots", "confirmed", "waitlisted", "meals_served"};
            for (int k = 0; k < 4; k++)
                cli_jfmt(o, keys[k], c[k], sizeof c[k]);
            char st[40], en[40];
            const char *row[] = {js(o, "id"),
                                 js(o, "site_code"),
                                 cli_local_time(js(o, "start"), st, sizeof st, 0),
                                 cli_local_time(js(o, "end"), en, sizeof en, 0),
                                 js(o, "role"),
                                 c[0],
                                 c[1],
                                 c[2],
                                 c[3]};
            cli_table_row(&tb, row);
        }
    } else {
        static const char *const head[] = {"id", "donor", "to", "item", "pledged", "delivered",
                                           "amount", "status"};
        static const int right[] = {0, 0, 0, 0, 1, 1, 1, 0};
        cli_table_init(&tb, 8, head, right);
        json_array_foreach(arr, i, o)
        {
            char q[32], d[32], a[48], cur[8];
            cli_jfmt(o, "qty", q, sizeof q);
            cli_jfmt(o, "delivered", d, sizeof d);
            cli_jfmt(o, "amount", a, sizeof a);
            cli_jfmt(o, "currency", cur, sizeof cur);
            if (a[0] && cur[0])
                snprintf(a + strlen(a), sizeof a - strlen(a), " %s", cur);
            if (a[0])
                d[0] = '\0'; /* money: nothing is delivered through the stock ledger */
            const char *row[] = {js(o, "id"),   js(o, "donor"), js(o, "to_code"),
                                 js(o, "item"), q,              d,
                                 a,             js(o, "status")};
            cli_table_row(&tb, row);
        }
    }
    cli_table_print(&tb);
    cli_table_free(&tb);
}

static void print_trace(json_t *d)
{
    char q[32], money[48] = "";
    cli_jfmt(d, "qty", q, sizeof q);
    char line[2048];
    if (json_is_integer(json_object_get(d, "amount"))) {
        /* money: the amount, and its status (it is not delivered through the stock ledger) */
        cli_jfmt(d, "amount", money, sizeof money);
        snprintf(money + strlen(money), sizeof money - strlen(money), " %s", js(d, "currency"));
        snprintf(line, sizeof line, "donation %s from %s to %s %s: %s, %s", js(d, "id"),
                 js(d, "donor"), js(d, "to_code"), js(d, "to_name"), money,
                 *js(d, "status") ? js(d, "status") : "open");
    } else
        snprintf(line, sizeof line, "donation %s from %s to %s %s: %s %s, delivered %lld",
                 js(d, "id"), js(d, "donor"), js(d, "to_code"), js(d, "to_name"), q, js(d, "item"),
                 (long long)json_integer_value(json_object_get(d, "delivered")));
    cli_put_safe(stdout, line); /* the donor and the site as they were typed: one line */
    putchar('\n');
    static const char *const head[] = {"time", "stage", "qty", "site", "to", "by", "op"};
    static const int right[] = {0, 0, 1, 0, 0, 0, 0};
    struct cli_table tb;
    size_t i;
    json_t *o;
    cli_table_init(&tb, 7, head, right);
    json_array_foreach(json_object_get(d, "events"), i, o)
    {
        char qty[32], site[700], to[700];
        cli_jfmt(o, "qty", qty, sizeof qty);
        if (money[0] && !strcmp(js(o, "stage"), "pledged"))
            snprintf(qty, sizeof qty, "%s", money);
        snprintf(site, sizeof site, "%s %s", js(o, "site_code"), js(o, "site_name"));
        snprintf(to, sizeof to, "%s %s", js(o, "to_code"), js(o, "to_name"));
        char when[40];
        const char *row[] = {cli_local_time(js(o, "time"), when, sizeof when, 0),
                             js(o, "stage"),
                             qty,
                             site,
                             to,
                             js(o, "author"),
                             js(o, "op")};
        cli_table_row(&tb, row);
    }
    cli_table_print(&tb);
    cli_table_free(&tb);
}

static int run_list(struct cli *c, struct list_arg *a)
{
    int rc;
    if ((rc = cli_read(c, list_fn, a)))
        return rc;
    if (c->json)
        cli_json_print(a->out);
    else {
        if (a->what == L_TRACE)
            print_trace(a->out);
        else
            print_table(a->what, a->out);
        json_decref(a->out);
    }
    return RL_EXIT_OK;
}

/* add/set/list for one record type; sub names the add verb ("add" or "pledge"). */
static int record_cmd(struct cli *c, int argc, char **argv, enum rl_rtype type,
                      const char *add_verb, const char *const *usage, enum listing listing)
{
    struct rl_edit ed;
    const char *what = type == RL_R_NEED ? "need" : type == RL_R_SHIFT ? "shift" : "donation";
    memset(&ed, 0, sizeof ed);
    ed.rtype = type;
    int sub_rc;
    const char *sub = cli_subcommand(argc, argv, usage, &sub_rc);
    if (!sub)
        return sub_rc;
    if (!strcmp(sub, add_verb) || !strcmp(sub, "set")) {
        ed.add = strcmp(sub, "set") != 0;
        int npos = cli_parse_fields(argc - 1, argv + 1, rl_fields_of(type), usage, &ed);
        if (ed.add && npos != 0)
            return cli_usage_error(usage, "unexpected argument '%s'", argv[2]);
        if (!ed.add && npos != 1)
            return cli_usage_error(usage, "%s set needs one id", what);
        if (!ed.add)
            ed.target = argv[2];
        if (!ed.add && ed.nfields == 0)
            return cli_usage_error(usage, "%s set needs a field to change", what);
        /* options that exclude each other (the domain refuses them too, for the API) */
        if (type == RL_R_NEED && cli_has_field(&ed, "item") && cli_has_field(&ed, "service"))
            return cli_usage_error(usage, "--item and --service exclude each other: a need is "
                                          "for an item or a service");
        if (type == RL_R_DONATION && (cli_has_field(&ed, "item") || cli_has_field(&ed, "qty")) &&
            (cli_has_field(&ed, "amount") || cli_has_field(&ed, "currency")))
            return cli_usage_error(usage, "--item/--qty and --amount/--currency exclude each "
                                          "other: a donation is of goods or of money");
        if (ed.add && type == RL_R_NEED &&
            (!cli_has_field(&ed, "site") || !cli_has_field(&ed, "qty") ||
             (!cli_has_field(&ed, "item") && !cli_has_field(&ed, "service"))))
            return cli_usage_error(usage, "need add needs --site, --qty and --item or --service");
        if (ed.add && type == RL_R_SHIFT &&
            (!cli_has_field(&ed, "site") || !cli_has_field(&ed, "start") ||
             !cli_has_field(&ed, "end") || !cli_has_field(&ed, "slots")))
            return cli_usage_error(usage, "shift add needs --site, --start, --end and --slots");
        if (ed.add && type == RL_R_DONATION) {
            int goods = cli_has_field(&ed, "item") && cli_has_field(&ed, "qty");
            int money = cli_has_field(&ed, "amount") && cli_has_field(&ed, "currency");
            if (!cli_has_field(&ed, "donor") || !cli_has_field(&ed, "to") || goods == money)
                return cli_usage_error(usage, "donation pledge needs --donor, --to and either "
                                              "--item with --qty or --amount with --currency");
        }
        return cli_write_edit(c, &ed, what);
    }
    if (!strcmp(sub, "list")) {
        struct list_arg a = {listing, NULL, NULL};
        if (cli_parse(argc - 1, argv + 1, NULL, usage) != 0)
            return cli_usage_error(usage, "%s list takes no argument", what);
        return run_list(c, &a);
    }
    return RL_EXIT_USAGE + 100; /* not handled here */
}

int cmd_need(struct cli *c, int argc, char **argv)
{
    int rc = record_cmd(c, argc, argv, RL_R_NEED, "add", need_usage, L_NEEDS);
    return rc == RL_EXIT_USAGE + 100 ? cli_usage_error(need_usage, "unknown need command '%s'",
                                                       argv[1])
                                     : rc;
}

int cmd_donation(struct cli *c, int argc, char **argv)
{
    int rc = record_cmd(c, argc, argv, RL_R_DONATION, "pledge", donation_usage, L_DONATIONS);
    return rc == RL_EXIT_USAGE + 100
               ? cli_usage_error(donation_usage, "unknown donation command '%s'", argv[1])
               : rc;
}

struct shift_arg {
    const char *id;
    json_t *out;
};

static int shift_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct shift_arg *a = arg;
    uint64_t o, s;
    int rc = rl_resolve_ref(t, a->id, &o, &s, e);
    if (rc)
        return rc;
    if (!(a->out = rl_q_shift(t, o, s, e)))
        return proto_errf(e, -ENOENT, "no shift '%s'", a->id);
    return 0;
}

/* The shift id names, as the API gives it (with its sign-ups), or NULL (a message printed). */
static json_t *shift_read(struct cli *c, const char *id)
{
    struct shift_arg a = {id, NULL};
    if (cli_read(c, shift_fn, &a))
        return NULL;
    return a.out;
}

/* relief shift show SHIFT: the shift, then its roster in order, confirmed first */
static int shift_show(struct cli *c, const char *id)
{
    json_t *sh = shift_read(c, id);
    if (!sh)
        return RL_EXIT_FAIL;
    if (c->json) {
        cli_json_print(sh); /* (takes it) */
        return RL_EXIT_OK;
    }
    char st[40], en[40], slots[24], line[1400];
    cli_jfmt(sh, "slots", slots, sizeof slots);
    snprintf(line, sizeof line, "shift %s at %s %s, %s to %s%s%s, %s slot%s", js(sh, "id"),
             js(sh, "site_code"), js(sh, "site_name"),
             cli_local_time(js(sh, "start"), st, sizeof st, 0),
             cli_local_time(js(sh, "end"), en, sizeof en, 0), *js(sh, "role") ? ", " : "",
             js(sh, "role"), slots, strcmp(slots, "1") ? "s" : "");
    cli_put_safe(stdout, line);
    putchar('\n');
    static const char *const head[] = {"#", "volunteer", "contact", "status", "signed up", "op"};
    static const int right[] = {1, 0, 0, 0, 0, 0};
    struct cli_table tb;
    size_t i;
    json_t *o;
    int waiting = 0;
    cli_table_init(&tb, 6, head, right);
    json_array_foreach(json_object_get(sh, "signups"), i, o)
    {
        char n[24], when[40], status[40];
        snprintf(n, sizeof n, "%zu", i + 1);
        if (!strcmp(js(o, "status"), "waitlisted"))
            snprintf(status, sizeof status, "wait-listed %d", ++waiting);
        else
            snprintf(status, sizeof status, "%s", js(o, "status"));
        const char *row[] = {n,
                             js(o, "volunteer"),
                             js(o, "contact"),
                             status,
                             cli_local_time(js(o, "time"), when, sizeof when, 0),
                             js(o, "op")};
        cli_table_row(&tb, row);
    }
    if (json_array_size(json_object_get(sh, "signups")))
        cli_table_print(&tb);
    else
        fprintf(stderr, "no sign-ups yet\n");
    cli_table_free(&tb);
    json_decref(sh);
    return RL_EXIT_OK;
}

/* The status of the sign-up op ref made (confirmed, waitlisted), and its place on the wait list. */
static const char *signup_status(json_t *sh, const char *ref, int *place)
{
    size_t i;
    json_t *o;
    *place = 0;
    json_array_foreach(json_object_get(sh, "signups"), i, o)
    {
        int waiting = !strcmp(js(o, "status"), "waitlisted");
        *place += waiting;
        if (!strcmp(js(o, "op"), ref))
            return js(o, "status");
    }
    return NULL;
}

int cmd_shift(struct cli *c, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "show")) {
        if (cli_parse(argc - 1, argv + 1, NULL, shift_usage) != 1)
            return cli_usage_error(shift_usage, "shift show needs one SHIFT");
        return shift_show(c, argv[2]);
    }
    int rc = record_cmd(c, argc, argv, RL_R_SHIFT, "add", shift_usage, L_SHIFTS);
    if (rc != RL_EXIT_USAGE + 100)
        return rc;
    const char *sub = argv[1];
    struct rl_shift_req r;
    memset(&r, 0, sizeof r);
    const struct cli_opt opts[] = {
        {"volunteer", 1, &r.volunteer},
        {"contact", 1, &r.contact},
        {"meals", 1, &r.meals},
        {NULL, 0, NULL},
    };
    if (!strcmp(sub, "signup"))
        r.kind = PROTO_KIND_SHIFT_SIGNUP;
    else if (!strcmp(sub, "cancel"))
        r.kind = PROTO_KIND_SHIFT_CANCEL;
    else if (!strcmp(sub, "served"))
        r.kind = PROTO_KIND_SHIFT_SERVED;
    else
        return cli_usage_error(shift_usage, "unknown shift command '%s'", sub);
    if (cli_parse(argc - 1, argv + 1, opts, shift_usage) != 1)
        return cli_usage_error(shift_usage, "shift %s needs one SHIFT", sub);
    r.shift = argv[2];
    if (r.kind != PROTO_KIND_SHIFT_SERVED && !r.volunteer)
        return cli_usage_error(shift_usage, "shift %s needs --volunteer", sub);
    if (r.kind == PROTO_KIND_SHIFT_SERVED && !r.meals)
        return cli_usage_error(shift_usage, "shift served needs --meals");
    if (r.kind == PROTO_KIND_SHIFT_SERVED && (r.volunteer || r.contact))
        return cli_usage_error(shift_usage, "shift served takes --meals only");
    if (r.kind != PROTO_KIND_SHIFT_SERVED && r.meals)
        return cli_usage_error(shift_usage, "shift %s does not take --meals", sub);
    if (r.kind == PROTO_KIND_SHIFT_CANCEL && r.contact)
        return cli_usage_error(shift_usage, "shift cancel does not take --contact");
    r.author = c->by;
    struct rl_written w;
    struct proto_err e;
    char ref[40];
    if ((rc = cli_open(c)))
        return rc;
    /* a cancellation says who moves up from the wait list: the roster before, and after */
    json_t *before = r.kind == PROTO_KIND_SHIFT_CANCEL ? shift_read(c, r.shift) : NULL;
    if (r.kind == PROTO_KIND_SHIFT_CANCEL && !before)
        return RL_EXIT_FAIL;
    proto_err_clear(&e);
    if (rl_shift_write(&c->store, &r, &w, &e)) {
        json_decref(before);
        return cli_fail(&e);
    }
    rl_ref_format(w.origin, w.seq, ref);
    json_t *after = r.kind != PROTO_KIND_SHIFT_SERVED ? shift_read(c, r.shift) : NULL;
    json_t *out = json_pack("{s:s}", "op", ref), *up = json_array();
    int place = 0;
    const char *status =
        after && r.kind == PROTO_KIND_SHIFT_SIGNUP ? signup_status(after, ref, &place) : NULL;
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(after, "signups"), i, o)
    {
        int was;
        const char *prev = before ? signup_status(before, js(o, "op"), &was) : NULL;
        if (prev && !strcmp(prev, "waitlisted") && !strcmp(js(o, "status"), "confirmed"))
            json_array_append_new(up, json_string(js(o, "volunteer")));
    }
    if (status)
        json_object_set_new(out, "status", json_string(status));
    if (before)
        json_object_set(out, "moved_up", up);
    if (c->json) {
        cli_json_print(out); /* (takes it) */
    } else {
        printf("%s\n", ref);
        if (status && !strcmp(status, "waitlisted")) {
            cli_put_safe(stderr, r.volunteer);
            fprintf(stderr, " is wait-listed, number %d in line: every slot is taken\n", place);
        } else if (status) {
            cli_put_safe(stderr, r.volunteer);
            fprintf(stderr, " is confirmed\n");
        }
        json_array_foreach(up, i, o)
        {
            cli_put_safe(stderr, json_string_value(o));
            fprintf(stderr, " moves up from the wait list: confirmed\n");
        }
        json_decref(out);
    }
    json_decref(up);
    json_decref(before);
    json_decref(after);
    return RL_EXIT_OK;
}

int cmd_trace(struct cli *c, int argc, char **argv)
{
    struct list_arg a = {L_TRACE, NULL, NULL};
    if (cli_parse(argc, argv, NULL, trace_usage) != 1)
        return cli_usage_error(trace_usage, "trace needs one DONATION");
    a.id = argv[1];
    return run_list(c, &a);
}
