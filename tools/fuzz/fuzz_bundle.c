/*
 * libFuzzer target for bundles (relief/bundle.h): the input is written to a file and applied
 * to a real node with the demo data loaded (tools/fuzz/fuzznode.h), whose network is fixed so
 * that the saved bundles of corpus/bundle (made by seed_bundle.sh) belong to it.
 *
 * Checks: a bundle that is refused wrote nothing (no transaction committed, no op added) and
 * says why; one that is applied accounts for its ops (applied, duplicates, gaps, forks); the
 * node's derived state still equals the state rebuilt from its op log (checked every 64 inputs
 * and at exit; rebuilding costs more than applying).
 *
 *   make fuzz FUZZ=bundle           clang -fsanitize=fuzzer over tools/fuzz/corpus/bundle
 *   build/fuzz/replay_bundle DIR    the same checks over saved inputs, without libFuzzer
 */
#include "fuzznode.h"
#include "relief/bundle.h"
#include "relief/digest.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int digest_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    return rl_digest(t, arg, e);
}

static void same_as_rebuilt(void)
{
    uint8_t live[RL_DIGEST_BYTES], rebuilt[RL_DIGEST_BYTES];
    struct proto_err e;
    FUZZ_CHECK(rl_store_read(fuzz_store(), digest_fn, live, &e) == 0);
    FUZZ_CHECK(rl_digest_rebuilt(fuzz_store(), rebuilt, &e) == 0);
    FUZZ_CHECK(!memcmp(live, rebuilt, sizeof live));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[512];
    static unsigned runs;
    struct rl_apply_stats st;
    struct proto_err e;

    struct rl_store *s = fuzz_store();
    if (!path[0]) {
        atexit(same_as_rebuilt);
        snprintf(path, sizeof path, "%s/../input.bundle", s->dir);
    }
    FILE *f = fopen(path, "wb");
    FUZZ_CHECK(f && fwrite(data, 1, size, f) == size && fclose(f) == 0);

    uint64_t txn0 = fuzz_txnid(), ops0 = fuzz_ops();
    memset(&st, 0, sizeof st);
    proto_err_clear(&e);
    int rc = rl_bundle_apply(s, path, &st, NULL, &e);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "bundle: rc %d, %llu applied, %llu held: %s\n", rc,
                (unsigned long long)st.applied, (unsigned long long)st.duplicate,
                rc ? e.msg : "ok");
    uint64_t txn1 = fuzz_txnid(), ops1 = fuzz_ops();
    if (rc) {
        FUZZ_CHECK(txn1 == txn0 && ops1 == ops0);
        FUZZ_CHECK(e.msg[0] != '\0');
    } else {
        FUZZ_CHECK(ops1 - ops0 == st.applied);
    }
    if (++runs % 64 == 0)
        same_as_rebuilt();
    return 0;
}
