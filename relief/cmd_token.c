/*
 * relief token add --role sync|write|read|donor [--name N]  |  token list  |  token revoke ID
 * and relief peer add URL [--token-file F]  |  peer list
 */
#include "access.h"
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const token_usage[] = {
    "relief token add --role sync|write|read|donor [--name NAME]   (prints the token once)",
    "relief token list",
    "relief token revoke ID",
    NULL,
};

static const char *const peer_usage[] = {
    "relief peer add URL [--token-file F] [--cacert FILE]   (else $RELIEF_TOKEN; kept in "
    "DATA/peers, mode 600)",
    "    --cacert: the certificates to trust for an https:// peer (a private CA's, a proxy's "
    "own)",
    "relief peer list | remove URL   (remove: its token and certificate go too)",
    NULL,
};

static int list_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)e;
    json_t **out = arg;
    *out = out[1] ? rl_peer_list(t) : rl_token_list(t);
    return 0;
}

int cmd_token(struct cli *c, int argc, char **argv)
{
    const char *role = NULL, *name = NULL;
    const struct cli_opt opts[] = {{"role", 1, &role}, {"name", 1, &name}, {NULL, 0, NULL}};
    struct proto_err e;
    int rc;
    int sub_rc;
    const char *sub = cli_subcommand(argc, argv, token_usage, &sub_rc);
    if (!sub)
        return sub_rc;
    int npos = cli_parse(argc - 1, argv + 1, opts, token_usage);
    proto_err_clear(&e);
    if (!strcmp(sub, "add")) {
        char token[RL_TOKEN_CHARS + 1], id[17];
        int r = role ? rl_role_parse(role) : 0;
        if (npos || !role)
            return cli_usage_error(token_usage, "token add needs --role sync|write|read|donor");
        if (!r)
            return cli_bad_value("--role: '%.100s' is not one of sync|write|read|donor", role);
        if ((rc = cli_open(c)))
            return rc;
        if (rl_token_add(&c->store, r, name, token, id, &e))
            return cli_fail(&e);
        if (c->json)
            cli_json_print(json_pack("{s:s, s:s, s:s}", "id", id, "role", role, "token", token));
        else {
            printf("%s\n", token);
            fprintf(stderr, "token %s (%s) made: it is shown only now; give it to the %s\n", id,
                    role, r == RL_ROLE_SYNC ? "peer (relief peer add URL --token-file F)"
                                            : "person or program that needs it");
        }
        return RL_EXIT_OK;
    }
    if (!strcmp(sub, "list")) {
        json_t *out[2] = {NULL, NULL};
        if (npos)
            return cli_usage_error(token_usage, "token list takes no argument");
        if ((rc = cli_open(c)))
            return rc;
        rl_store_read(&c->store, list_fn, out, &e);
        if (c->json) {
            cli_json_print(out[0]);
            return RL_EXIT_OK;
        }
        static const char *const head[] = {"id", "role", "name", "created"};
        struct cli_table tb;
        size_t i;
        json_t *o;
        cli_table_init(&tb, 4, head, NULL);
        json_array_foreach(out[0], i, o)
        {
            const char *row[] = {json_string_value(json_object_get(o, "id")),
                                 json_string_value(json_object_get(o, "role")),
                                 json_string_value(json_object_get(o, "name")),
                                 json_string_value(json_object_get(o, "created"))};
            cli_table_row(&tb, row);
        }
        cli_table_print(&tb);
        cli_table_free(&tb);
        json_decref(out[0]);
        return RL_EXIT_OK;
    }
    if (!strcmp(sub, "revoke")) {
        if (npos != 1)
            return cli_usage_error(token_usage, "token revoke needs one ID");
        if ((rc = cli_open(c)))
            return rc;
        if (rl_token_revoke(&c->store, argv[2], &e))
            return cli_fail(&e);
        fprintf(stderr, "token %s revoked\n", argv[2]);
        return RL_EXIT_OK;
    }
    return cli_usage_error(token_usage, "unknown token command '%s'", sub);
}

int cmd_peer(struct cli *c, int argc, char **argv)
{
    const char *token_file = NULL, *cacert = NULL;
    const struct cli_opt opts[] = {
        {"token-file", 1, &token_file}, {"cacert", 1, &cacert}, {NULL, 0, NULL}};
    struct proto_err e;
    int rc;
    int sub_rc;
    const char *sub = cli_subcommand(argc, argv, peer_usage, &sub_rc);
    if (!sub)
        return sub_rc;
    int npos = cli_parse(argc - 1, argv + 1, opts, peer_usage);
    proto_err_clear(&e);
    if (!strcmp(sub, "add")) {
        char token[512] = "";
        if (npos != 1)
            return cli_usage_error(peer_usage, "peer add needs one URL");
        if (token_file && rl_token_read_file(token_file, token, sizeof token, &e))
            return cli_fail(&e);
        if (!token_file && getenv("RELIEF_TOKEN"))
            snprintf(token, sizeof token, "%s", getenv("RELIEF_TOKEN"));
        if ((rc = cli_open(c)))
            return rc;
        if (rl_peer_add(&c->store, argv[2], token[0] ? token : NULL, cacert, &e))
            return cli_fail(&e);
        fprintf(stderr, "peer %s added%s%s\n", argv[2], token[0] ? " with a token" : "",
                cacert ? (token[0] ? " and its certificates" : " with its certificates") : "");
        return RL_EXIT_OK;
    }
    if (!strcmp(sub, "remove")) {
        if (npos != 1)
            return cli_usage_error(peer_usage, "peer remove needs one URL");
        if (token_file || cacert)
            return cli_usage_error(peer_usage, "peer remove takes only the URL");
        if ((rc = cli_open(c)))
            return rc;
        if (rl_peer_remove(&c->store, argv[2], &e))
            return cli_fail(&e);
        fprintf(stderr, "peer %s removed\n", argv[2]);
        return RL_EXIT_OK;
    }
    if (!strcmp(sub, "list")) {
        json_t *out[2] = {NULL, (json_t *)1};
        if (npos)
            return cli_usage_error(peer_usage, "peer list takes no argument");
        if ((rc = cli_open(c)))
            return rc;
        rl_store_read(&c->store, list_fn, out, &e);
        if (c->json) {
            cli_json_print(out[0]);
            return RL_EXIT_OK;
        }
        static const char *const head[] = {"peer", "last success", "lacks", "last error"};
        static const int right[] = {0, 0, 1, 0};
        struct cli_table tb;
        size_t i;
        json_t *o;
        cli_table_init(&tb, 4, head, right);
        json_array_foreach(out[0], i, o)
        {
            char lacks[24], err[400], at[40], ok[40];
            snprintf(lacks, sizeof lacks, "%lld",
                     (long long)json_integer_value(json_object_get(o, "lacks")));
            snprintf(err, sizeof err, "%s %s",
                     cli_local_time(json_string_value(json_object_get(o, "last_error_at")), at,
                                    sizeof at, 1),
                     json_string_value(json_object_get(o, "last_error")));
            const char *row[] = {
                json_string_value(json_object_get(o, "url")),
                cli_local_time(json_string_value(json_object_get(o, "last_success")), ok, sizeof ok,
                               1),
                lacks, err};
            cli_table_row(&tb, row);
        }
        cli_table_print(&tb);
        cli_table_free(&tb);
        json_decref(out[0]);
        return RL_EXIT_OK;
    }
    return cli_usage_error(peer_usage, "unknown peer command '%s'", sub);
}
