/*
 * Test helper: holds a node's write lock -- an LMDB write transaction, begun and left open --
 * until it gets SIGTERM or SIGINT, then abandons the transaction and exits 0. It prints "held"
 * once it has the lock. Another process that writes to the node meanwhile waits for it: the tests
 * use it to show that relief serve goes on answering while its group commit waits for the disk.
 *   writelock DIR
 */
#include "relief/store.h"

#include <signal.h>
#include <stdio.h>

static sigset_t stop_signals;

static int hold_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)t;
    (void)arg;
    (void)e;
    int sig;
    printf("held\n");
    fflush(stdout);
    sigwait(&stop_signals, &sig);
    return -1; /* abandon: nothing is written */
}

int main(int argc, char **argv)
{
    struct rl_store s;
    struct proto_err e;

    if (argc != 2) {
        fprintf(stderr, "usage: writelock DIR\n");
        return 2;
    }
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    sigprocmask(SIG_BLOCK, &stop_signals, NULL);
    proto_err_clear(&e);
    if (rl_store_open(&s, argv[1], NULL, &e)) {
        fprintf(stderr, "writelock: %s\n", e.msg);
        return 1;
    }
    rl_store_write(&s, hold_fn, NULL, &e);
    rl_store_close(&s);
    printf("released\n");
    return 0;
}
