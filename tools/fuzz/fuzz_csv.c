/*
 * libFuzzer target for CSV import: the CSV reader (relief/csv.h) and `relief import`
 * (relief/import.h) into a real node with the demo data loaded (tools/fuzz/fuzznode.h).
 *
 * The first byte picks the kind (sites, items, movements) and the chunk size (the file's rows
 * in one transaction, or a dry run and then chunks of 1 to 3 rows); the rest is the file.
 *
 * Checks:
 *   - the reader over a buffer and over a FILE (16 KiB reads) give the same rows, fields and
 *     lines, or the same error at the same place; fields are valid UTF-8 within the limits;
 *   - an import that fails wrote nothing (no transaction committed, no op added) and names a
 *     line and column; one that succeeds wrote every row, at least one op per row.
 *
 *   make fuzz FUZZ=csv              clang -fsanitize=fuzzer over tools/fuzz/corpus/csv
 *   build/fuzz/replay_csv DIR       the same checks over saved inputs, without libFuzzer
 */
#include "fuzznode.h"
#include "relief/csv.h"
#include "relief/import.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the buffer reader and the FILE reader agree, row by row */
static void both_readers(const uint8_t *p, size_t n)
{
    struct rl_csv a, b;
    struct proto_err ea, eb;
    FILE *f = fmemopen((void *)p, n, "rb");
    if (n == 0 || !f) { /* fmemopen refuses 0 bytes on some libcs */
        if (f)
            fclose(f);
        return;
    }
    rl_csv_open_buf(&a, p, n);
    rl_csv_open_file(&b, f);
    for (uint64_t row = 0;; row++) {
        int ra = rl_csv_next(&a, &ea), rb = rl_csv_next(&b, &eb);
        FUZZ_CHECK(ra == rb);
        if (ra < 0) {
            FUZZ_CHECK(a.err_line == b.err_line && a.err_col == b.err_col);
            FUZZ_CHECK(!strcmp(ea.msg, eb.msg) && ea.msg[0]);
            break;
        }
        if (ra == 0)
            break;
        FUZZ_CHECK(rl_csv_nfields(&a) == rl_csv_nfields(&b));
        FUZZ_CHECK(rl_csv_nfields(&a) >= 1 && rl_csv_nfields(&a) <= RL_CSV_MAX_FIELDS);
        size_t total = 0;
        for (uint32_t i = 0; i < rl_csv_nfields(&a); i++) {
            size_t l = rl_csv_field_len(&a, i);
            FUZZ_CHECK(l == rl_csv_field_len(&b, i));
            FUZZ_CHECK(!memcmp(rl_csv_field(&a, i), rl_csv_field(&b, i), l));
            FUZZ_CHECK(rl_csv_field(&a, i)[l] == '\0' && strlen(rl_csv_field(&a, i)) == l);
            FUZZ_CHECK(l <= RL_CSV_MAX_FIELD_BYTES && rl_utf8_valid(rl_csv_field(&a, i), l));
            FUZZ_CHECK(rl_csv_field_line(&a, i) == rl_csv_field_line(&b, i));
            FUZZ_CHECK(i == 0 || rl_csv_field_line(&a, i) >= rl_csv_field_line(&a, i - 1));
            total += l;
        }
        FUZZ_CHECK(total <= RL_CSV_MAX_ROW_BYTES);
    }
    rl_csv_close(&a);
    rl_csv_close(&b);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum rl_import_kind kinds[3] = {RL_IMPORT_SITES, RL_IMPORT_ITEMS,
                                                 RL_IMPORT_MOVEMENTS};
    struct rl_import_opts o;
    struct rl_import_result r;
    struct proto_err e;

    if (size < 1)
        return 0;
    both_readers(data + 1, size - 1);

    memset(&o, 0, sizeof o);
    o.kind = kinds[(data[0] & 3) % 3];
    o.chunk_rows = (data[0] >> 2) & 3; /* 0: the default (one transaction) */
    o.author = "fuzz";
    uint64_t txn0 = fuzz_txnid(), ops0 = fuzz_ops();
    memset(&r, 0, sizeof r);
    proto_err_clear(&e);
    int rc = rl_import_buf(fuzz_store(), data + 1, size - 1, &o, &r, &e);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "import %s: rc %d, %llu rows: %s\n", rl_import_kind_name(o.kind), rc,
                (unsigned long long)r.rows, rc ? e.msg : "ok");
    uint64_t txn1 = fuzz_txnid(), ops1 = fuzz_ops();
    if (rc) {
        FUZZ_CHECK(r.written == 0 && txn1 == txn0 && ops1 == ops0);
        FUZZ_CHECK(e.msg[0] != '\0');
    } else {
        FUZZ_CHECK(r.written == r.rows && ops1 - ops0 >= r.rows);
        FUZZ_CHECK(r.rows == 0 || txn1 > txn0);
    }
    return 0;
}
