/*
 * An HTTP client on libcurl's multi interface, driven by the libuv loop
 * (curl_multi_socket_action with a uv_poll_t per socket and one uv_timer_t), never a blocking
 * call on a thread. Many requests can be in flight; each ends in its callback on the loop.
 *
 * Response bodies are bounded: a response (after gzip decoding, which libcurl does when
 * accept_gzip is set) larger than max_response fails with -EMSGSIZE. Tokens go in an
 * Authorization: Bearer header, never in the URL. CURLcode values are translated here.
 */
#ifndef SYNC_CLIENT_H
#define SYNC_CLIENT_H

#include "proto/error.h"

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct sync_client;

struct sync_client_req {
    const char *method;       /* "GET" or "POST" */
    const char *url;          /* "http://127.0.0.1:8080/sync/v1/pull" */
    const char *token;        /* bearer token or NULL */
    const char *content_type; /* for a body, or NULL */
    const uint8_t *body;      /* copied by sync_client_request */
    size_t body_len;
    int accept_gzip;
    size_t max_response;      /* bytes of the decoded response body */
    long timeout_ms;          /* the whole request; 0 = 60 s */
    long connect_timeout_ms;  /* 0 = 10 s */
    const char *cainfo;       /* https: a PEM file of the certificates to trust (a private CA, a
                               * proxy's self-signed one) instead of the system's; NULL: those */
    long delay_ms;            /* start it this long from now (a retry's pause); 0: at once */
};

/*
 * The result of a request: rc 0 with the HTTP status and body (borrowed for the callback's
 * duration), or rc < 0 for a transport failure (-ECONNREFUSED, -ETIMEDOUT, -EMSGSIZE, -EIO)
 * with a message in err; -EKEYREJECTED when an https peer's certificate is not trusted (or the
 * cainfo file cannot be used): trying again cannot help. bytes_in / bytes_out count what crossed
 * the wire.
 */
struct sync_client_result {
    int rc;
    long status;
    const uint8_t *body;
    size_t body_len;
    const char *content_type;
    const char *err;
    uint64_t bytes_in, bytes_out;
    double seconds;
};

typedef void (*sync_client_cb)(void *arg, const struct sync_client_result *r);

/* A client on loop. 0 or a negative errno. */
int sync_client_new(uv_loop_t *loop, struct sync_client **out, struct proto_err *e);

/* Start a request; cb is called exactly once, later, on the loop. */
int sync_client_request(struct sync_client *c, const struct sync_client_req *req,
                        sync_client_cb cb, void *arg, struct proto_err *e);

/* Requests in flight. */
unsigned sync_client_pending(const struct sync_client *c);

/*
 * Cancel what is in flight (their callbacks run with rc -ECANCELED) and free the client once
 * its handles are closed; done (may be NULL) is then called from the loop.
 */
void sync_client_free(struct sync_client *c, void (*done)(void *arg), void *arg);

#endif
