/*
 * libFuzzer target for HTTP request handling: the input is sent as it is over a real TCP
 * connection to a node served as `relief serve` serves it (sync/http.c, the sync endpoints,
 * the JSON API, the dashboard; tools/fuzz/fuzznode.h), with the demo data loaded.
 *
 * Besides the server not crashing (and, under the sanitizers, not reading or writing out of
 * bounds or leaking per connection):
 *   - what comes back is a sequence of well-formed HTTP/1.1 responses, at most one per
 *     request (plus 100 Continue), and the server closes the connection after a half-close;
 *   - no 500: every request is answered by a decision, not an internal failure;
 *   - a JSON answer is valid JSON;
 *   - the server still answers /healthz afterwards.
 *
 *   make fuzz                     clang -fsanitize=fuzzer over tools/fuzz/corpus/http
 *   build/fuzz/replay_http DIR    the same checks over saved inputs, without libFuzzer
 */
#include "fuzznode.h"

#include <http_parser.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_REQS 8192

/* the requests as http-parser reads them, in order: whether each is a HEAD (known once its
 * URL is read: the server answers a HEAD without a body, even when it refuses it) */
struct reqs {
    unsigned n;
    unsigned char head[MAX_REQS];
};

static int q_url(http_parser *hp, const char *at, size_t len)
{
    struct reqs *q = hp->data;
    (void)at, (void)len;
    if (q->n < MAX_REQS)
        q->head[q->n] = hp->method == HTTP_HEAD;
    return 0;
}

static int q_complete(http_parser *hp)
{
    struct reqs *q = hp->data;
    q->n++;
    return 0;
}

static void one_response(void *arg, int status, const char *ct, const uint8_t *body, size_t n)
{
    (void)arg;
    if (status == 500)
        fprintf(stderr, "500: %.*s\n", (int)(n < 500 ? n : 500), (const char *)body);
    FUZZ_CHECK(status != 500);
    if (!strncmp(ct, "application/json", 16) && n) {
        json_error_t je;
        json_t *j = json_loadb((const char *)body, n, JSON_DECODE_ANY, &je);
        if (!j)
            fprintf(stderr, "not JSON (%s): %.*s\n", je.text, (int)(n < 500 ? n : 500),
                    (const char *)body);
        FUZZ_CHECK(j != NULL);
        json_decref(j);
    }
}

static int is_head(void *arg, unsigned i)
{
    const struct reqs *q = arg;
    /* (i == q->n: a request not read to its end, which the server may refuse) */
    if (i >= MAX_REQS)
        abort(); /* more pipelined requests than this check follows: raise MAX_REQS */
    return i <= q->n && q->head[i];
}

static void healthz(void)
{
    static const char req[] = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    struct proto_buf a;
    proto_buf_init(&a, 1u << 20);
    fuzz_http_exchange(req, sizeof req - 1, &a);
    FUZZ_CHECK(a.len >= 15 && !memcmp(a.data, "HTTP/1.1 200 OK", 15));
    proto_buf_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static unsigned runs;
    struct reqs q = {0};
    http_parser hp;
    http_parser_settings st;
    struct proto_buf answer;

    /* which requests are HEADs (their answers have no body) */
    memset(&st, 0, sizeof st);
    st.on_url = q_url;
    st.on_message_complete = q_complete;
    http_parser_init(&hp, HTTP_REQUEST);
    hp.data = &q;
    http_parser_execute(&hp, &st, (const char *)data, size);

    proto_buf_init(&answer, 64u << 20);
    fuzz_http_exchange(data, size, &answer);
    if (getenv("FUZZ_VERBOSE"))
        fprintf(stderr, "--- %zu bytes in, %zu out:\n%.*s\n", size, answer.len,
                (int)(answer.len < 6000 ? answer.len : 6000), (const char *)answer.data);
    unsigned n = fuzz_http_responses(&answer, is_head, &q, one_response, NULL);
    /* one answer per request the parser saw, and at most one more for what it refused */
    FUZZ_CHECK(n <= q.n + 1);
    proto_buf_free(&answer);
    if (++runs % 16 == 0)
        healthz();
    return 0;
}
