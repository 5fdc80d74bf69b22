/*
 * relief: the command-line entry point. Parses the global options (--data, --json, --by, which
 * may stand anywhere on the line), picks the subcommand from the table and hands it the rest.
 * The network commands live in the same binary but only they would pull in network libraries.
 */
#include "cli.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RELIEF_VERSION "0.1.0"

static const struct command {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
    const char *help;
} commands[] = {
    {"init", cmd_init, "create a node (a new network, or join one with --network)"},
    {"status", cmd_status, "network, node, ops held, version vector, size on disk"},
    {"log", cmd_log, "recent ops with their authors"},
    {"digest", cmd_digest, "the state digest (equal on nodes holding the same state)"},
    {"backup", cmd_backup, "write a consistent copy of the data while the node runs"},
    {"site", cmd_site, "evacuation centres, warehouses, schools, kitchens, points"},
    {"item", cmd_item, "the shared catalogue of supplies"},
    {"stock", cmd_stock, "receive, dispatch, arrive, distribute, adjust, count, void; balances"},
    {"need", cmd_need, "what a site needs: needed, fulfilled, gap"},
    {"shift", cmd_shift, "soup-kitchen (or any) shifts, sign-ups, meals served"},
    {"donation", cmd_donation, "pledges of goods or money to a site"},
    {"trace", cmd_trace, "where a donation went: pledge to distribution"},
    {"demo", cmd_demo, "load a small Tohoku-like demo scenario into a new node"},
    {"report", cmd_report, "needs, stock, shifts, donations as table, json, csv or hxl"},
    {"import", cmd_import, "sites, items or movements from a CSV file, all or nothing"},
    {"token", cmd_token, "bearer tokens with roles for peers, scripts and donors"},
    {"peer", cmd_peer, "the nodes this one syncs with"},
    {"serve", cmd_serve, "serve sync and the dashboard; sync with peers in the background"},
    {"sync", cmd_serve, "pull then push with a peer until both hold the same ops"},
    {"bundle", cmd_bundle, "ops for a USB stick: create for a peer, apply from one"},
    {"alerts", cmd_alerts, "negative stock, short arrivals, over capacity, expiring lots ..."},
    {"conflicts", cmd_conflicts, "fields edited concurrently, with every value and its author"},
    {NULL, NULL, NULL},
};

static void usage(FILE *f)
{
    fputs("usage: relief [--data DIR] [--json] [--by NAME] COMMAND [ARGS]\n\ncommands:\n", f);
    for (const struct command *c = commands; c->name; c++)
        fprintf(f, "  %-10s %s\n", c->name, c->help);
    fputs("\n'relief COMMAND -h' shows a command's options. Data lives in --data DIR, else\n"
          "$RELIEF_DATA, else $XDG_DATA_HOME/relief, else ~/.local/share/relief.\n",
          f);
}

/* Remove the global options from argv wherever they stand; returns the new argc or -1. */
static int globals(struct cli *c, int argc, char **argv)
{
    int n = 1;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        const char **slot = NULL;
        const char *opt = NULL;
        if (strcmp(a, "--") == 0) {
            while (i < argc)
                argv[n++] = argv[i++];
            break;
        }
        if (strcmp(a, "--json") == 0) {
            c->json = 1;
            continue;
        }
        if (strncmp(a, "--data", 6) == 0 && (a[6] == '\0' || a[6] == '=')) {
            slot = &c->data_dir;
            opt = "data";
        } else if (strncmp(a, "--by", 4) == 0 && (a[4] == '\0' || a[4] == '=')) {
            slot = &c->by;
            opt = "by";
        }
        if (!slot) {
            argv[n++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        if (eq)
            *slot = eq + 1;
        else if (i + 1 < argc)
            *slot = argv[++i];
        else {
            fprintf(stderr, "relief: option '--%s' needs a value\n", opt);
            return -1;
        }
        if (!**slot) {
            fprintf(stderr, "relief: option '--%s' needs a value\n", opt);
            return -1;
        }
    }
    argv[n] = NULL;
    return n;
}

/* Who makes a change, as a person reads it in logs and traces: one line, not only spaces
 * (ideographic and no-break ones too), no control character (C0, DEL, C1). */
static int by_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int seen = 0;
    while (*p) {
        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F))
            return 0;
        if (*p == ' ')
            p++;
        else if (p[0] == 0xC2 && p[1] == 0xA0)
            p += 2;
        else if (p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80)
            p += 3;
        else
            seen = 1, p++;
    }
    return seen;
}

static void default_data_dir(struct cli *c)
{
    const char *v;
    if (c->data_dir)
        return;
    if ((v = getenv("RELIEF_DATA")) && *v) {
        c->data_dir = v;
    } else if ((v = getenv("XDG_DATA_HOME")) && *v) {
        snprintf(c->data_buf, sizeof c->data_buf, "%s/relief", v);
        c->data_dir = c->data_buf;
    } else {
        v = getenv("HOME");
        snprintf(c->data_buf, sizeof c->data_buf, "%s/.local/share/relief", v && *v ? v : ".");
        c->data_dir = c->data_buf;
    }
}

int main(int argc, char **argv)
{
    struct cli c;
    memset(&c, 0, sizeof c);

    argc = globals(&c, argc, argv);
    if (argc < 0)
        return RL_EXIT_USAGE;
    if (argc < 2) {
        usage(stderr);
        return RL_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help") || !strcmp(name, "help")) {
        usage(stdout);
        return RL_EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("relief %s\n", RELIEF_VERSION);
        return RL_EXIT_OK;
    }
    if (!c.by) {
        const char *u = getenv("RELIEF_USER");
        if (u && *u)
            c.by = u;
    }
    if (c.by && !by_ok(c.by)) {
        fprintf(stderr, "relief: --by (or $RELIEF_USER): who makes a change is one line of text, "
                        "not blank\n");
        return RL_EXIT_FAIL;
    }
    default_data_dir(&c);
    for (const struct command *cmd = commands; cmd->name; cmd++) {
        if (strcmp(cmd->name, name) == 0) {
            if (sodium_init() < 0) {
                fputs("relief: cannot initialise libsodium\n", stderr);
                return RL_EXIT_FAIL;
            }
            int rc = cmd->fn(&c, argc - 1, argv + 1);
            if (c.open)
                rl_store_close(&c.store);
            /* (a write that failed earlier -- a full disk under a large report -- left the
             * stream's error flag set, and fflush has nothing left to fail on) */
            errno = 0;
            int ferr = fflush(stdout) != 0 ? errno : 0;
            if ((ferr || ferror(stdout)) && rc == RL_EXIT_OK) {
                /* (the errno of a write that failed earlier is gone: say what is known) */
                fprintf(stderr, "relief: stdout: %s (the output is incomplete)\n",
                        ferr ? strerror(ferr) : "a write failed");
                rc = RL_EXIT_FAIL;
            }
            return rc;
        }
    }
    fprintf(stderr, "relief: unknown command '%s' (see 'relief --help')\n", name);
    return RL_EXIT_USAGE;
}
