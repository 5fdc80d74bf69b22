/*
 * What `relief serve` answers, assembled: the sync endpoints, the JSON API with the dashboard,
 * and /healthz, on one HTTP server (sync/http.h) on a libuv loop, over one store. relief-net
 * adds its peers, timers and signals around it; the fuzz targets (tools/fuzz) drive the same
 * thing over real connections.
 */
#ifndef RL_NET_NODE_H
#define RL_NET_NODE_H
#include "net_api.h"
#include "syncstore.h"
#include "sync/endpoints.h"
#include "sync/http.h"

struct rl_net_node {
    struct rl_store *store;
    struct rl_syncstore ss;
    struct sync_endpoints ep; /* set ep.on_sync for a log line per pull and push */
    struct rl_api *api;
    struct sync_http_server *http;
    void (*stop_done)(void *arg); /* rl_net_node_stop's */
    void *stop_arg;
};

/*
 * Serve store on host:port (0: any free port, sync_http_server_port(n->http) tells which).
 * Sync requests need a token of the node's while it has any (looked up on each request);
 * with none, a request from this machine that no proxy passed on needs none. lim NULL: the
 * defaults.
 */
int rl_net_node_start(struct rl_net_node *n, uv_loop_t *loop, struct rl_store *store,
                      const char *host, int port, const struct rl_api_opts *o,
                      const struct sync_http_limits *lim, struct proto_err *e);

/*
 * Commit and answer the queued writes (new ones are refused meanwhile), then stop listening and
 * close every connection; done once closed.
 */
void rl_net_node_stop(struct rl_net_node *n, void (*done)(void *arg), void *arg);

#endif
