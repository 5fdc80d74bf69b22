/*
 * relief site add|set|list|show  and  relief item add|set|list
 * Sites and items share the record machinery: the options are the fields of domain.c's tables.
 */
#include "cli.h"
#include "domain.h"
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const site_usage[] = {
    "relief site add --kind centre|warehouse|school|kitchen|point --name NAME [--code CODE]\n"
    "           [--address A] [--prefecture P] [--municipality M] [--lat DEG] [--lon DEG]\n"
    "           [--capacity N] [--occupancy N] [--counted-at TIME] [--status open|closed]\n"
    "           [--special-needs TEXT] [--contact C] [--priority high|medium|low]",
    "relief site set SITE [any field of add] [--archived yes|no]",
    "           [--languages pt,tl,zh]   (on add and set: the languages spoken at the site)",
    "relief site list",
    "relief site show SITE",
    NULL,
};

static const char *const item_usage[] = {
    "relief item add CODE --name NAME --unit UNIT [--category CAT]",
    "relief item set CODE [--name NAME] [--unit UNIT] [--category CAT] [--archived yes|no]",
    "relief item list",
    NULL,
};

struct list_arg {
    int what; /* 0 sites, 1 items, 2 show site */
    uint64_t id;
    const char *name;
    json_t *out;
};

static int list_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct list_arg *a = arg;
    int rc = 0;
    if (a->what == 2 && (rc = rl_resolve_site(t, a->name, &a->id, e)))
        return rc;
    a->out = a->what == 0   ? rl_q_sites(t, e)
             : a->what == 1 ? rl_q_items(t, e)
                            : rl_q_site(t, a->id, e);
    return a->out ? 0 : (e->code ? e->code : -EIO);
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : "";
}

static int run_list(struct cli *c, struct list_arg *a)
{
    int rc;
    if ((rc = cli_read(c, list_fn, a)))
        return rc;
    if (c->json) {
        cli_json_print(a->out);
        return RL_EXIT_OK;
    }
    size_t i;
    json_t *o;
    if (a->what == 0) {
        static const char *const head[] = {"id", "code", "kind", "name", "people", "status",
                                           "municipality"};
        static const int right[] = {0, 0, 0, 0, 1, 0, 0};
        struct cli_table tb;
        cli_table_init(&tb, 7, head, right);
        json_array_foreach(a->out, i, o)
        {
            char people[64], occ[24], cap[24], name[700];
            cli_jfmt(o, "occupancy", occ, sizeof occ);
            cli_jfmt(o, "capacity", cap, sizeof cap);
            snprintf(people, sizeof people, "%s%s%s", occ, cap[0] ? "/" : "", cap);
            snprintf(name, sizeof name, "%s%s", jstr(o, "name"),
                     json_array_size(json_object_get(o, "conflicts")) ? " (conflict)" : "");
            const char *row[] = {jstr(o, "id"),   jstr(o, "code"),   jstr(o, "kind"),
                                 name,            people,            jstr(o, "status"),
                                 jstr(o, "municipality")};
            cli_table_row(&tb, row);
        }
        cli_table_sort(&tb, 1, 3); /* by short code, then name (those without a code first) */
        cli_table_print(&tb);
        cli_table_free(&tb);
    } else if (a->what == 1) {
        static const char *const head[] = {"code", "name", "unit", "category"};
        struct cli_table tb;
        cli_table_init(&tb, 4, head, NULL);
        json_array_foreach(a->out, i, o)
        {
            const char *row[] = {jstr(o, "code"), jstr(o, "name"), jstr(o, "unit"),
                                 jstr(o, "category")};
            cli_table_row(&tb, row);
        }
        cli_table_print(&tb);
        cli_table_free(&tb);
    } else {
        /* every value as one line, whatever control characters it holds */
        char v[700];
        printf("%-14s %s\n", "id", jstr(a->out, "id"));
        for (const struct rl_fieldopt *f = rl_site_fields; f->name; f++) {
            cli_jfmt(a->out, f->name, v, sizeof v);
            if (!strcmp(f->name, "counted-at") || !strcmp(f->name, "counted_at")) {
                char lt[40];
                snprintf(v, sizeof v, "%s", cli_local_time(v, lt, sizeof lt, 0));
            }
            if (!v[0])
                continue;
            printf("%-14s ", f->name);
            cli_put_safe(stdout, v);
            putchar('\n');
        }
        json_t *langs = json_object_get(a->out, "languages");
        if (json_array_size(langs)) {
            printf("%-14s", "languages");
            json_array_foreach(langs, i, o)
            {
                putchar(' ');
                cli_put_safe(stdout, json_string_value(o));
            }
            putchar('\n');
        }
        const char *k;
        json_t *vals;
        json_object_foreach(json_object_get(a->out, "conflict_values"), k, vals)
        {
            printf("CONFLICT %s:\n", k);
            size_t j;
            json_t *x;
            json_array_foreach(vals, j, x)
            {
                char *val = json_dumps(json_object_get(x, "value"), JSON_ENCODE_ANY);
                printf("  %s  by ", val ? val : "?"); /* (JSON: control characters escaped) */
                cli_put_safe(stdout, jstr(x, "author"));
                char when[40];
                printf(" at %s (%s)\n", cli_local_time(jstr(x, "time"), when, sizeof when, 1),
                       jstr(x, "op"));
                free(val);
            }
        }
        json_t *stock = json_object_get(a->out, "stock");
        if (json_array_size(stock)) {
            printf("\n");
            static const char *const head[] = {"item", "balance", "in transit", "unit"};
            static const int right[] = {0, 1, 1, 0};
            struct cli_table tb;
            cli_table_init(&tb, 4, head, right);
            json_array_foreach(stock, i, o)
            {
                char bal[24], tr[24];
                cli_jfmt(o, "balance", bal, sizeof bal);
                cli_jfmt(o, "in_transit", tr, sizeof tr);
                const char *row[] = {jstr(o, "item"), bal, tr, jstr(o, "unit")};
                cli_table_row(&tb, row);
            }
            cli_table_print(&tb);
            cli_table_free(&tb);
        }
    }
    json_decref(a->out);
    return RL_EXIT_OK;
}

int cmd_site(struct cli *c, int argc, char **argv)
{
    struct rl_edit ed;
    memset(&ed, 0, sizeof ed);
    ed.rtype = RL_R_SITE;
    int sub_rc;
    const char *sub = cli_subcommand(argc, argv, site_usage, &sub_rc);
    if (!sub)
        return sub_rc;
    if (!strcmp(sub, "add") || !strcmp(sub, "set")) {
        ed.add = !strcmp(sub, "add");
        /* --languages pt,tl,zh: the set of languages spoken (not a field) */
        int k = 1;
        for (int i = 1; i < argc; i++) {
            if (!strcmp(argv[i], "--languages") && i + 1 < argc)
                ed.languages = argv[++i];
            else if (!strncmp(argv[i], "--languages=", 12))
                ed.languages = argv[i] + 12;
            else
                argv[k++] = argv[i];
        }
        argc = k;
        argv[argc] = NULL;
        int npos = cli_parse_fields(argc - 1, argv + 1, rl_site_fields, site_usage, &ed);
        if (ed.add) {
            if (npos != 0)
                return cli_usage_error(site_usage, "unexpected argument '%s'", argv[2]);
            if (!cli_has_field(&ed, "kind") || !cli_has_field(&ed, "name"))
                return cli_usage_error(site_usage, "site add needs --kind and --name");
        } else {
            if (npos != 1)
                return cli_usage_error(site_usage, "site set needs one SITE");
            ed.target = argv[2];
            if (ed.nfields == 0 && !ed.languages)
                return cli_usage_error(site_usage, "site set needs a field to change");
        }
        return cli_write_edit(c, &ed, ed.add ? "" : ed.target);
    }
    if (!strcmp(sub, "list")) {
        struct list_arg a = {.what = 0};
        if (cli_parse(argc - 1, argv + 1, NULL, site_usage) != 0)
            return cli_usage_error(site_usage, "site list takes no argument");
        return run_list(c, &a);
    }
    if (!strcmp(sub, "show")) {
        struct list_arg a = {.what = 2};
        if (cli_parse(argc - 1, argv + 1, NULL, site_usage) != 1)
            return cli_usage_error(site_usage, "site show needs one SITE");
        a.name = argv[2];
        return run_list(c, &a);
    }
    return cli_usage_error(site_usage, "unknown site command '%s'", sub);
}

int cmd_item(struct cli *c, int argc, char **argv)
{
    struct rl_edit ed;
    memset(&ed, 0, sizeof ed);
    ed.rtype = RL_R_ITEM;
    int sub_rc;
    const char *sub = cli_subcommand(argc, argv, item_usage, &sub_rc);
    if (!sub)
        return sub_rc;
    if (!strcmp(sub, "add") || !strcmp(sub, "set")) {
        ed.add = !strcmp(sub, "add");
        int npos = cli_parse_fields(argc - 1, argv + 1, rl_item_fields, item_usage, &ed);
        if (npos != 1)
            return cli_usage_error(item_usage, "item %s needs one CODE", sub);
        ed.target = argv[2];
        if (ed.add && (!cli_has_field(&ed, "name") || !cli_has_field(&ed, "unit")))
            return cli_usage_error(item_usage, "item add needs --name and --unit");
        if (!ed.add && ed.nfields == 0)
            return cli_usage_error(item_usage, "item set needs a field to change");
        return cli_write_edit(c, &ed, ed.target);
    }
    if (!strcmp(sub, "list")) {
        struct list_arg a = {.what = 1};
        if (cli_parse(argc - 1, argv + 1, NULL, item_usage) != 0)
            return cli_usage_error(item_usage, "item list takes no argument");
        return run_list(c, &a);
    }
    return cli_usage_error(item_usage, "unknown item command '%s'", sub);
}
