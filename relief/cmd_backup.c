/*
 * relief backup DIR: a consistent, compacted copy of the data while the node runs, and of the
 * tokens and certificates it presents to its peers. A node started from the copy takes a new
 * node id before it writes (node.h).
 */
#include "access.h"
#include "cli.h"

#include <stdio.h>

static const char *const usage[] = {"relief backup DIR", NULL};

int cmd_backup(struct cli *c, int argc, char **argv)
{
    struct proto_err e;
    uint64_t size = 0;
    int rc;

    if (cli_parse(argc, argv, NULL, usage) != 1)
        return cli_usage_error(usage, "backup needs one directory");
    if ((rc = cli_open(c)))
        return rc;
    proto_err_clear(&e);
    if (rl_store_backup(&c->store, argv[1], &e) || rl_peer_copy(&c->store, argv[1], &e))
        return cli_fail(&e);
    struct rl_store copy;
    if (rl_store_open(&copy, argv[1], NULL, &e) == 0) {
        rl_store_size(&copy, &size);
        rl_store_close(&copy);
    } else {
        return cli_fail(&e);
    }
    if (c->json) {
        cli_json_print(json_pack("{s:s, s:I}", "backup", argv[1], "bytes", (json_int_t)size));
    } else {
        char sz[32];
        cli_size(size, sz, sizeof sz);
        printf("backed up to %s (%s); a node started from it takes a new node id\n", argv[1], sz);
    }
    return RL_EXIT_OK;
}
