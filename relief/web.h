/*
 * The dashboard's files (relief/web/), embedded in relief-net at build time by tools/embed.c,
 * so the node serves its dashboard with no files beside the binary and no network.
 */
#ifndef RL_WEB_H
#define RL_WEB_H

#include <stddef.h>

struct rl_web_file {
    const char *path; /* "/index.html", "/app.js", "/i18n/ja.json" */
    const unsigned char *data;
    size_t len;
};

/* Ends with a row whose path is NULL. */
extern const struct rl_web_file rl_web_files[];

#endif
