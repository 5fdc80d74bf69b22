/*
 * Option parsing, error printing and node opening shared by the subcommands (see cli.h).
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_usage(FILE *f, const char *const *usage)
{
    for (int i = 0; usage[i]; i++)
        fprintf(f, "%s %s\n", i == 0 ? "usage:" : "   or:", usage[i]);
}

int cli_usage_error(const char *const *usage, const char *fmt, ...)
{
    va_list ap;
    fputs("relief: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    if (usage)
        cli_usage(stderr, usage);
    return RL_EXIT_USAGE;
}

int cli_parse(int argc, char **argv, const struct cli_opt *opts, const char *const *usage)
{
    int npos = 0, only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            argv[1 + npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_usage(stdout, usage);
            exit(RL_EXIT_OK);
        }
        if (a[1] != '-')
            exit(cli_usage_error(usage, "unknown option '%s'", a));
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nl = eq ? (size_t)(eq - name) : strlen(name);
        const struct cli_opt *o = NULL;
        for (int j = 0; opts && opts[j].name; j++)
            if (strlen(opts[j].name) == nl && strncmp(opts[j].name, name, nl) == 0)
                o = &opts[j];
        if (!o)
            exit(cli_usage_error(usage, "unknown option '--%.*s'", (int)nl, name));
        if (!o->has_arg) {
            if (eq)
                exit(cli_usage_error(usage, "option '--%s' takes no value", o->name));
            *o->value = "1";
        } else if (eq) {
            *o->value = eq + 1;
        } else if (i + 1 < argc) {
            *o->value = argv[++i];
        } else {
            exit(cli_usage_error(usage, "option '--%s' needs a value", o->name));
        }
    }
    argv[1 + npos] = NULL;
    return npos;
}

int cli_fail(const struct proto_err *e)
{
    fprintf(stderr, "relief: %s\n", proto_err_text(e));
    return e->code == PROTO_EUSAGE ? RL_EXIT_USAGE : RL_EXIT_FAIL;
}

int cli_open(struct cli *c)
{
    struct proto_err e;
    if (c->open)
        return 0;
    proto_err_clear(&e);
    if (rl_store_open(&c->store, c->data_dir, NULL, &e))
        return cli_fail(&e);
    c->open = 1;
    return 0;
}

void cli_json_print(json_t *v)
{
    char *s = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII * 0);
    if (s) {
        puts(s);
        free(s);
    }
    json_decref(v);
}

void cli_id(uint64_t id, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)id);
}

void cli_size(uint64_t b, char *out, size_t n)
{
    if (b < 1024)
        snprintf(out, n, "%llu B", (unsigned long long)b);
    else if (b < 1024 * 1024)
        snprintf(out, n, "%.1f KiB", (double)b / 1024);
    else if (b < 1024ull * 1024 * 1024)
        snprintf(out, n, "%.1f MiB", (double)b / (1024 * 1024));
    else
        snprintf(out, n, "%.2f GiB", (double)b / (1024.0 * 1024 * 1024));
}
