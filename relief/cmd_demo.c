/*
 * relief demo: load the demo data set (relief/demo.h) into this node.
 */
#include "cli.h"
#include "demo.h"

#include <stdio.h>

static const char *const usage[] = {"relief demo", NULL};

int cmd_demo(struct cli *c, int argc, char **argv)
{
    struct proto_err e;
    int rc;
    if (cli_parse(argc, argv, NULL, usage) != 0)
        return cli_usage_error(usage, "demo takes no argument");
    if ((rc = cli_open(c)))
        return rc;
    proto_err_clear(&e);
    if (rl_demo_load(&c->store, &e))
        return cli_fail(&e);
    fprintf(stderr, "demo data loaded: try relief site list, relief stock, relief need list, "
                    "relief alerts, relief shift list, relief donation list\n");
    return RL_EXIT_OK;
}
