/*
 * Test helper: copy every op one node holds that another lacks, through the same encoded
 * batches sync uses. Lets CLI tests make two laptops meet before `relief sync` exists.
 *   mergedirs FROM_DIR TO_DIR
 */
#include "relief/node.h"
#include "relief/oplog.h"

#include <sodium.h>
#include <stdio.h>

struct rd {
    struct proto_vv have;
    struct proto_buf out;
    int more;
    uint32_t nops;
};

static int vv_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_vv_load(t, arg, e);
}

static int read_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct rd *a = arg;
    return rl_oplog_read_after(t, &a->have, 1000, 1u << 20, &a->out, &a->more, &a->nops, e);
}

int main(int argc, char **argv)
{
    struct rl_store from, to;
    struct proto_err e;
    uint64_t total = 0;
    if (argc != 3 || sodium_init() < 0) {
        fprintf(stderr, "usage: mergedirs FROM TO\n");
        return 2;
    }
    proto_err_clear(&e);
    if (rl_store_open(&from, argv[1], NULL, &e) || rl_store_open(&to, argv[2], NULL, &e)) {
        fprintf(stderr, "mergedirs: %s\n", e.msg);
        return 1;
    }
    for (;;) {
        struct rd a;
        struct rl_apply_stats st;
        proto_vv_init(&a.have);
        proto_buf_init(&a.out, PROTO_MAX_BODY_BYTES);
        if (rl_store_read(&to, vv_fn, &a.have, &e) || rl_store_read(&from, read_fn, &a, &e) ||
            (a.nops && rl_oplog_apply_bytes(&to, a.out.data, a.out.len, &st, &e))) {
            fprintf(stderr, "mergedirs: %s\n", e.msg);
            return 1;
        }
        total += a.nops;
        proto_vv_free(&a.have);
        proto_buf_free(&a.out);
        if (!a.nops)
            break;
    }
    printf("%llu ops\n", (unsigned long long)total);
    rl_store_close(&from);
    rl_store_close(&to);
    return 0;
}
