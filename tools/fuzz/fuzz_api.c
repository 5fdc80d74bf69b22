/*
 * libFuzzer target for the JSON API's write bodies: the first byte picks one of the write
 * endpoints of relief/API.md, the rest is the body, sent as a well-framed request
 * (Content-Type: application/json, the node's own Host) over a real TCP connection to a node
 * served as `relief serve` serves it (tools/fuzz/fuzznode.h), with the demo data loaded. In the
 * body and the path, $n $s $d $t $m stand for the id of a need, shift, donation, open transfer
 * and movement of the node, so that saved inputs keep naming real records.
 *
 * Checks:
 *   - exactly one answer, well-formed, JSON, never 5xx (507, a full disk, aside);
 *   - a refused write (4xx) wrote nothing: no transaction was committed, no op was added;
 *   - an accepted one (201, or 200) added its op, acknowledged only once committed.
 *
 *   make fuzz FUZZ=api              clang -fsanitize=fuzzer over tools/fuzz/corpus/api
 *   build/fuzz/replay_api DIR       the same checks over saved inputs, without libFuzzer
 */
#include "fuzznode.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct {
    const char *method, *path;
} endpoints[] = {
    {"POST", "/api/v1/sites"},
    {"PATCH", "/api/v1/sites/ISH-MINATO"},
    {"POST", "/api/v1/items"},
    {"PATCH", "/api/v1/items/blanket"},
    {"POST", "/api/v1/stock/receive"},
    {"POST", "/api/v1/stock/dispatch"},
    {"POST", "/api/v1/stock/arrive"},
    {"POST", "/api/v1/stock/distribute"},
    {"POST", "/api/v1/stock/adjust"},
    {"POST", "/api/v1/stock/count"},
    {"POST", "/api/v1/stock/void"},
    {"POST", "/api/v1/needs"},
    {"PATCH", "/api/v1/needs/$n"},
    {"POST", "/api/v1/shifts"},
    {"PATCH", "/api/v1/shifts/$s"},
    {"POST", "/api/v1/shifts/$s/signup"},
    {"POST", "/api/v1/shifts/$s/cancel"},
    {"POST", "/api/v1/shifts/$s/served"},
    {"POST", "/api/v1/donations"},
    {"PATCH", "/api/v1/donations/$d"},
};
#define NENDPOINTS (sizeof endpoints / sizeof endpoints[0])

/* the ids $n $s $d $t $m stand for */
static char ids[5][64];
static const char id_names[] = "nsdtm";

struct got {
    int status;
    unsigned n;
    json_t *json;
};

static void take(void *arg, int status, const char *ct, const uint8_t *body, size_t n)
{
    struct got *g = arg;
    g->n++;
    g->status = status;
    if (strncmp(ct, "application/json", 16))
        fprintf(stderr, "answer %d is %s, not JSON\n", status, ct);
    FUZZ_CHECK(!strncmp(ct, "application/json", 16));
    json_error_t je;
    json_decref(g->json);
    g->json = json_loadb((const char *)body, n, 0, &je);
    if (!g->json)
        fprintf(stderr, "not JSON (%s): %.*s\n", je.text, (int)(n < 500 ? n : 500),
                (const char *)body);
    FUZZ_CHECK(g->json != NULL);
}

static void call(const char *method, const char *path, const uint8_t *body, size_t n,
                 struct got *g)
{
    struct proto_buf rq, answer;
    proto_buf_init(&rq, 64u << 20);
    proto_buf_init(&answer, 64u << 20);
    proto_buf_printf(&rq, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n", method,
                     path);
    if (body)
        proto_buf_printf(&rq, "Content-Type: application/json\r\nContent-Length: %zu\r\n", n);
    proto_buf_add(&rq, "\r\n", 2);
    if (body)
        proto_buf_add(&rq, body, n);
    FUZZ_CHECK(!proto_buf_failed(&rq));
    fuzz_http_exchange(rq.data, rq.len, &answer);
    memset(g, 0, sizeof *g);
    fuzz_http_responses(&answer, NULL, NULL, take, g);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "%s %s %.*s\n-> %.*s\n", method, path, (int)n, body ? (const char *)body : "",
                (int)answer.len, (const char *)answer.data);
    FUZZ_CHECK(g->n == 1);
    proto_buf_free(&rq);
    proto_buf_free(&answer);
}

/* the first record's "id" (or "op") of a listing */
static void first_id(const char *path, const char *key, char *out)
{
    struct got g;
    call("GET", path, NULL, 0, &g);
    FUZZ_CHECK(g.status == 200);
    json_t *first = json_array_get(json_object_get(g.json, "items"), 0);
    const char *v = json_string_value(json_object_get(first, key));
    FUZZ_CHECK(v && strlen(v) < 64);
    strcpy(out, v);
    json_decref(g.json);
}

static void find_ids(void)
{
    if (ids[0][0])
        return;
    first_id("/api/v1/needs?limit=1", "id", ids[0]);
    first_id("/api/v1/shifts?limit=1", "id", ids[1]);
    first_id("/api/v1/donations?limit=1", "id", ids[2]);
    first_id("/api/v1/movements?kind=dispatch&open=1&limit=1", "transfer", ids[3]);
    first_id("/api/v1/movements?kind=receive&limit=1", "op", ids[4]);
}

/* s with $n $s $d $t $m replaced, into out */
static void expand(const uint8_t *s, size_t n, struct proto_buf *out)
{
    for (size_t i = 0; i < n; i++) {
        const char *k;
        if (s[i] == '$' && i + 1 < n && s[i + 1] && (k = strchr(id_names, s[i + 1]))) {
            proto_buf_add(out, ids[k - id_names], strlen(ids[k - id_names]));
            i++;
            continue;
        }
        proto_buf_add(out, &s[i], 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct proto_buf path, body;
    struct got g;

    if (size < 1)
        return 0;
    fuzz_store();
    find_ids();
    unsigned which = data[0] % NENDPOINTS;
    proto_buf_init(&path, 1024);
    proto_buf_init(&body, 64u << 20);
    expand((const uint8_t *)endpoints[which].path, strlen(endpoints[which].path), &path);
    proto_buf_add(&path, "", 1);
    expand(data + 1, size - 1, &body);
    FUZZ_CHECK(!proto_buf_failed(&path) && !proto_buf_failed(&body));

    uint64_t txn0 = fuzz_txnid(), ops0 = fuzz_ops();
    call(endpoints[which].method, (const char *)path.data, body.data, body.len, &g);
    uint64_t txn1 = fuzz_txnid(), ops1 = fuzz_ops();
    if (g.status >= 500 && g.status != 507) {
        char *t = json_dumps(g.json, 0);
        fprintf(stderr, "%d: %s\n", g.status, t);
        free(t);
    }
    FUZZ_CHECK(g.status < 500 || g.status == 507);
    if (g.status >= 400) {
        /* refused: nothing written, and the error says what */
        FUZZ_CHECK(txn1 == txn0 && ops1 == ops0);
        FUZZ_CHECK(json_string_value(json_object_get(g.json, "error")));
    } else {
        FUZZ_CHECK(g.status == 200 || g.status == 201);
        FUZZ_CHECK(json_string_value(json_object_get(g.json, "op")));
        FUZZ_CHECK(ops1 > ops0 && txn1 > txn0);
    }
    json_decref(g.json);
    proto_buf_free(&path);
    proto_buf_free(&body);
    return 0;
}
