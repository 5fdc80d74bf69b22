/*
 * The state digest example of proto/PROTOCOL.md: a node without ops of its own applies a batch
 * (hex on stdin; the example is the "batch_a1" line of tools/protocol/examples.c: origin A's
 * node op, tests/data/op_node.hex, as seq 1) and prints its apply counters and state digest.
 * tools/protocol/xcheck.py --digest computes the same digest from the bytes alone.
 *
 *   make -j2 build/libproto.a build/librelief.a
 *   cc -std=c11 -D_POSIX_C_SOURCE=200809L -I. tools/protocol/digest_example.c build/librelief.a \
 *      build/libproto.a -llmdb -lmsgpackc -lsodium -ljansson -o build/protocol_digest
 *   ./build/protocol_examples | sed -n 's/^batch_a1 //p' | ./build/protocol_digest
 */
#include "relief/digest.h"
#include "relief/node.h"
#include "relief/oplog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const uint8_t NET[16] = {0x6c, 0x1f, 0x0e, 0x5a, 0x93, 0x42, 0x4b, 0x27,
                                0x8d, 0x10, 0xc4, 0x7e, 0x2b, 0x55, 0x01, 0xa9};

static int create_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    (void)arg;
    return rl_node_create(t, NET, "example", e);
}

static int digest_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_digest(t, arg, e);
}

int main(void)
{
    static char hex[1 << 20];
    static uint8_t bin[1 << 19];
    char dir[] = "/tmp/relief-digest-example-XXXXXX";
    struct rl_store s;
    struct proto_err e;
    struct rl_apply_stats st;
    uint8_t d[RL_DIGEST_BYTES];
    size_t n = 0;
    int rc;

    if (!fgets(hex, sizeof hex, stdin))
        return 1;
    for (char *p = hex; p[0] && p[1] && p[0] != '\n'; p += 2)
        sscanf(p, "%2hhx", &bin[n++]);
    if (!mkdtemp(dir))
        return 1;
    proto_err_clear(&e);
    if ((rc = rl_store_create(&s, dir, NULL, &e)) || (rc = rl_store_write(&s, create_fn, NULL, &e)) ||
        (rc = rl_oplog_apply_bytes(&s, bin, n, &st, &e)) ||
        (rc = rl_store_read(&s, digest_fn, d, &e))) {
        fprintf(stderr, "digest_example: %s\n", proto_err_text(&e));
        return 1;
    }
    printf("applied %llu duplicate %llu gap %llu fork %llu frozen %llu\ndigest ",
           (unsigned long long)st.applied, (unsigned long long)st.duplicate,
           (unsigned long long)st.gap, (unsigned long long)st.fork, (unsigned long long)st.frozen);
    for (int i = 0; i < RL_DIGEST_BYTES; i++)
        printf("%02x", d[i]);
    printf("\n");
    rl_store_close(&s);
    char p[128];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
    rmdir(dir);
    return 0;
}
