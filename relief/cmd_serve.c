/*
 * relief serve ... and relief sync ...: the network commands live in relief-net, next to this
 * binary, so that every other command starts without libuv, libcurl and their ~30 shared
 * libraries (git keeps libcurl out of its main binary for the same reason).
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

static int exec_net(struct cli *c, int argc, char **argv)
{
    char self[PATH_MAX], path[PATH_MAX + 16];
    const char *env = getenv("RELIEF_NET");
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (env && *env) {
        snprintf(path, sizeof path, "%s", env);
    } else if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash)
            *slash = '\0';
        snprintf(path, sizeof path, "%s/relief-net", self);
    } else {
        snprintf(path, sizeof path, "relief-net");
    }
    /* relief-net takes the same global options */
    char **args = calloc((size_t)argc + 8, sizeof *args);
    int k = 0;
    if (!args)
        return RL_EXIT_FAIL;
    args[k++] = path;
    args[k++] = "--data";
    args[k++] = (char *)c->data_dir;
    if (c->json)
        args[k++] = "--json";
    if (c->by) {
        args[k++] = "--by";
        args[k++] = (char *)c->by;
    }
    for (int i = 0; i < argc; i++)
        args[k++] = argv[i];
    args[k] = NULL;
    fflush(stdout);
    execv(path, args);
    fprintf(stderr, "relief: cannot run '%s': %s (it is installed next to relief)\n", path,
            strerror(errno));
    free(args);
    return RL_EXIT_FAIL;
}

int cmd_serve(struct cli *c, int argc, char **argv)
{
    return exec_net(c, argc, argv);
}
