/*
 * relief init [--name NAME] [--network ID]
 */
#include "cli.h"
#include "init.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *const usage[] = {
    "relief init [--name NAME] [--network ID]",
    NULL,
};

int cmd_init(struct cli *c, int argc, char **argv)
{
    const char *name = NULL, *network = NULL;
    const struct cli_opt opts[] = {
        {"name", 1, &name},
        {"network", 1, &network},
        {NULL, 0, NULL},
    };
    uint8_t net[PROTO_NETWORK_BYTES];
    char host[256], id[17], nethex[2 * PROTO_NETWORK_BYTES + 1];
    struct rl_node node;
    struct proto_err e;

    if (cli_parse(argc, argv, opts, usage) != 0)
        return cli_usage_error(usage, "unexpected argument '%s'", argv[1]);
    if (network && rl_network_parse(network, net))
        return cli_bad_value("--network: '%.100s' is not a network id (32 hex digits)", network);
    if (!name) {
        if (gethostname(host, sizeof host) || !host[0])
            snprintf(host, sizeof host, "relief");
        host[sizeof host - 1] = '\0';
        name = host;
    }
    proto_err_clear(&e);
    if ((network ? rl_init_joining(c->data_dir, name, net, c->by, &node, &e)
                 : rl_init(c->data_dir, name, NULL, c->by, &node, &e)))
        return cli_fail(&e);
    cli_id(node.id, id);
    rl_hex(node.network, PROTO_NETWORK_BYTES, nethex);
    if (c->json) {
        cli_json_print(json_pack("{s:s, s:s, s:s, s:s}", "node", id, "name", node.name,
                                 "network", nethex, "data", c->data_dir));
    } else {
        printf("initialised node %s '%s' in %s\n", id, node.name, c->data_dir);
        printf("network %s%s\n", nethex,
               network ? "" : "  (new; other nodes join with: relief init --network <id>)");
    }
    return RL_EXIT_OK;
}
