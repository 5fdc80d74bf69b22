/*
 * One sync with one peer, on the loop: info (the network id checked first), then pull until
 * the peer has nothing more, then push until the peer holds everything this node has. Pages
 * are bounded; after a failed request the next page is smaller (down to one op), so a link
 * that breaks every few kilobytes still makes progress, and every batch that got through is
 * applied durably, so an interrupted sync resumes exactly where the version vectors say.
 */
#ifndef SYNC_ENGINE_H
#define SYNC_ENGINE_H

#include "client.h"
#include "store.h"

struct sync_run_opts {
    const char *url;      /* the peer's base URL: "http://10.0.0.2:8080" */
    const char *token;    /* bearer token, or NULL */
    uint32_t page_ops;    /* ops per page at most (0: SYNC_PULL_MAX_OPS, 16384) */
    uint32_t page_bytes;  /* bytes per page at most (0: SYNC_PULL_MAX_BYTES, 4 MiB) */
    unsigned max_failures; /* failed requests in a row before giving up (0: 12) */
    const char *cainfo;    /* https: the certificates to trust (sync_client_req), or NULL */
};

struct sync_run_result {
    int rc;             /* 0 when each side holds the other's ops */
    char err[600];      /* what went wrong */
    uint64_t pulled;    /* ops applied here */
    uint64_t pushed;    /* ops the peer applied */
    uint64_t bytes_in, bytes_out;
    unsigned requests, failures;
    double seconds;
    uint64_t peer_lacks; /* ops the peer still lacked at the end (0 on success) */
    /* origins left out after a fork: those the peer said it takes none of, and this node's */
    uint32_t peer_frozen, frozen;
};

struct sync_run;

typedef void (*sync_run_cb)(void *arg, const struct sync_run_result *r);
/* progress after each page: what moved so far */
typedef void (*sync_progress_cb)(void *arg, const struct sync_run_result *so_far,
                                 const char *phase);

/*
 * Start a sync; done is called once, on the loop, and the run is freed after it (*out, when
 * given, is valid until then). Pulled pages are applied with the store's apply_later when it
 * has one (off the loop), else with apply.
 */
int sync_run_start(struct sync_client *client, struct sync_store *store,
                   const struct sync_run_opts *opts, sync_run_cb done, sync_progress_cb progress,
                   void *arg, struct sync_run **out, struct proto_err *e);

/*
 * Stop a run before it sends another request (done is called with -ECANCELED then): for a
 * server stopping, whose client is about to be freed while a pulled page is still being
 * applied. A request in flight is cancelled by sync_client_free.
 */
void sync_run_cancel(struct sync_run *s);

#endif
