/*
 * relief bundle create FILE [--for VV-FILE]  |  relief bundle apply FILE
 */
#include "bundle.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

static const char *const usage[] = {
    "relief bundle create FILE [--for VV-FILE]   (VV-FILE: the other laptop's "
    "`relief --json status`)",
    "relief bundle apply FILE",
    NULL,
};

int cmd_bundle(struct cli *c, int argc, char **argv)
{
    const char *for_file = NULL;
    const struct cli_opt opts[] = {{"for", 1, &for_file}, {NULL, 0, NULL}};
    struct proto_err e;
    int rc;

    int sub_rc;
    const char *sub = cli_subcommand(argc, argv, usage, &sub_rc);
    if (!sub)
        return sub_rc;
    int npos = cli_parse(argc - 1, argv + 1, opts, usage);
    if (strcmp(sub, "create") && strcmp(sub, "apply"))
        return cli_usage_error(usage, "unknown bundle command '%s'", sub);
    if (npos != 1)
        return cli_usage_error(usage, "bundle %s needs one FILE", sub);
    if (for_file && strcmp(sub, "create"))
        return cli_usage_error(usage, "--for belongs to bundle create");
    if ((rc = cli_open(c)))
        return rc;
    proto_err_clear(&e);
    if (!strcmp(sub, "create")) {
        struct proto_vv vv;
        uint64_t ops = 0;
        proto_vv_init(&vv);
        if (for_file && rl_vv_from_status_json(for_file, &vv, &e)) {
            proto_vv_free(&vv);
            return cli_fail(&e);
        }
        rc = rl_bundle_create(&c->store, argv[2], for_file ? &vv : NULL, &ops, &e);
        proto_vv_free(&vv);
        if (rc)
            return cli_fail(&e);
        if (c->json)
            cli_json_print(json_pack("{s:s, s:I}", "bundle", argv[2], "ops", (json_int_t)ops));
        else
            fprintf(stderr, "wrote %llu op%s to %s\n", (unsigned long long)ops, ops == 1 ? "" : "s",
                    argv[2]);
        return RL_EXIT_OK;
    }
    struct rl_apply_stats st;
    struct rl_bundle_shape sh;
    if (rl_bundle_apply(&c->store, argv[2], &st, &sh, &e))
        return cli_fail(&e);
    if (c->json)
        cli_json_print(json_pack(
            "{s:I, s:I, s:I, s:I, s:I, s:I}", "applied", (json_int_t)st.applied, "duplicate",
            (json_int_t)st.duplicate, "gap", (json_int_t)st.gap, "fork", (json_int_t)st.fork,
            "batches", (json_int_t)sh.batches, "transactions", (json_int_t)sh.transactions));
    else
        fprintf(stderr, "applied %llu op%s (%llu already held%s%s)\n",
                (unsigned long long)st.applied, st.applied == 1 ? "" : "s",
                (unsigned long long)st.duplicate, st.gap ? "; some wait for an earlier bundle" : "",
                st.fork ? "; FORK found: see relief status" : "");
    return RL_EXIT_OK;
}
