/*
 * relief alerts  and  relief conflicts
 */
#include "cli.h"
#include "hlc.h"
#include "query.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const alerts_usage[] = {"relief alerts", NULL};
static const char *const conflicts_usage[] = {"relief conflicts", NULL};

struct q_arg {
    int conflicts;
    json_t *out;
};

static int q_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct q_arg *a = arg;
    a->out = a->conflicts ? rl_q_conflicts(t, e) : rl_q_alerts(t, rl_now_ms(), e);
    return a->out ? 0 : -EIO;
}

static int run(struct cli *c, struct q_arg *a)
{
    int rc;
    if ((rc = cli_read(c, q_fn, a)))
        return rc;
    if (c->json) {
        cli_json_print(a->out);
        return RL_EXIT_OK;
    }
    size_t i;
    json_t *o;
    if (!a->conflicts) {
        json_array_foreach(a->out, i, o)
        {
            /* a message names sites and items: one line whatever their names hold */
            printf("%-6s ", json_string_value(json_object_get(o, "severity")));
            cli_put_safe(stdout, json_string_value(json_object_get(o, "message")));
            putchar('\n');
        }
        if (json_array_size(a->out) == 0)
            fprintf(stderr, "no alerts\n");
    } else {
        json_array_foreach(a->out, i, o)
        {
            const char *name = json_string_value(json_object_get(o, "name"));
            printf("%s ", json_string_value(json_object_get(o, "type")));
            cli_put_safe(stdout, json_string_value(json_object_get(o, "id")));
            if (name && *name) {
                fputs(" (", stdout);
                cli_put_safe(stdout, name);
                putchar(')');
            }
            printf(": %s\n", json_string_value(json_object_get(o, "field")));
            size_t j;
            json_t *x;
            json_array_foreach(json_object_get(o, "values"), j, x)
            {
                char *v = json_dumps(json_object_get(x, "value"), JSON_ENCODE_ANY);
                printf("  %s  by ", v ? v : "?"); /* (JSON: its control characters escaped) */
                cli_put_safe(stdout, json_string_value(json_object_get(x, "author")));
                char when[40];
                printf(" at %s (%s)\n",
                       cli_local_time(json_string_value(json_object_get(x, "time")), when,
                                      sizeof when, 1),
                       json_string_value(json_object_get(x, "op")));
                free(v);
            }
        }
        if (json_array_size(a->out) == 0)
            fprintf(stderr, "no conflicts\n");
    }
    json_decref(a->out);
    return RL_EXIT_OK;
}

int cmd_alerts(struct cli *c, int argc, char **argv)
{
    struct q_arg a = {0, NULL};
    if (cli_parse(argc, argv, NULL, alerts_usage) != 0)
        return cli_usage_error(alerts_usage, "unexpected argument '%s'", argv[1]);
    return run(c, &a);
}

int cmd_conflicts(struct cli *c, int argc, char **argv)
{
    struct q_arg a = {1, NULL};
    if (cli_parse(argc, argv, NULL, conflicts_usage) != 0)
        return cli_usage_error(conflicts_usage, "unexpected argument '%s'", argv[1]);
    return run(c, &a);
}
