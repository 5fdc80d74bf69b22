/*
 * Test helper: appends ops to a node, one durable transaction each, forever (or N times), and
 * prints "ack ORIGIN SEQ" after each commit returns. The kill -9 test kills it at random and
 * checks that every acknowledged op is still there.
 *   appender DIR [N]
 */
#include "proto/buf.h"
#include "relief/node.h"
#include "relief/oplog.h"

#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int append_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    static const uint8_t body[] = {0x81, 0x01, 0xa4, 't', 'e', 's', 't'}; /* {1: "test"} */
    return rl_oplog_append(t, 200, body, sizeof body, 0, "appender", arg, e);
}

int main(int argc, char **argv)
{
    struct rl_store s;
    struct proto_err e;
    long n = argc > 2 ? atol(argv[2]) : -1;

    if (argc < 2 || sodium_init() < 0) {
        fprintf(stderr, "usage: appender DIR [N]\n");
        return 2;
    }
    proto_err_clear(&e);
    if (rl_store_open(&s, argv[1], NULL, &e)) {
        fprintf(stderr, "appender: %s\n", e.msg);
        return 1;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    for (long i = 0; n < 0 || i < n; i++) {
        struct rl_op_ref r;
        if (rl_node_write(&s, append_fn, &r, &e)) {
            fprintf(stderr, "appender: %s\n", e.msg);
            return 1;
        }
        printf("ack %016llx %llu\n", (unsigned long long)r.origin, (unsigned long long)r.seq);
    }
    rl_store_close(&s);
    return 0;
}
