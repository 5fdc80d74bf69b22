/*
 * relief import sites|items|movements FILE  (being written)
 */
#include "cli.h"

int cmd_import(struct cli *c, int argc, char **argv)
{
    (void)c;
    (void)argc;
    (void)argv;
    return cli_usage_error(NULL, "import is not available yet");
}
