/*
 * Node creation (see init.h).
 */
#include "init.h"

#include "oplog.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct init_arg {
    const uint8_t *network;
    const char *name;
    const char *author;
    struct rl_node *out;
    int joined; /* the network is another node's (init --network) */
};

static int create_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct init_arg *a = arg;
    int rc = rl_node_create(t, a->network, a->name, e);
    /* remembered so that relief demo never puts made-up data into a real network */
    if (!rc && a->joined && (rc = rl_put(t, RL_DB_META, "joined", 6, "1", 1)))
        return proto_errf(e, rc, "cannot write node metadata: %s", proto_strerror(rc));
    return rc;
}

static int announce_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct init_arg *a = arg;
    int rc = rl_node_announce(t, a->author, e);
    if (!rc && a->out)
        *a->out = *rl_txn_node(t);
    return rc;
}

static void remove_env(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/data.mdb", dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", dir);
    unlink(p);
}

static int init(const char *dir, const char *name, const uint8_t *network, const char *author,
                int joined, struct rl_node *out, struct proto_err *e)
{
    struct rl_store s;
    uint8_t net[PROTO_NETWORK_BYTES];
    size_t nl = strlen(name);
    int rc;

    if (nl == 0 || nl > PROTO_MAX_AUTHOR_BYTES)
        return proto_errf(e, -EINVAL, "node name must be 1 to %u bytes", PROTO_MAX_AUTHOR_BYTES);
    if (author && strlen(author) > PROTO_MAX_AUTHOR_BYTES)
        return proto_errf(e, -EINVAL, "author name must be at most %u bytes",
                          PROTO_MAX_AUTHOR_BYTES);
    if (network)
        memcpy(net, network, sizeof net);
    else
        randombytes_buf(net, sizeof net);
    if ((rc = rl_store_create(&s, dir, NULL, e)))
        return rc;
    struct init_arg a = {net, name, author ? author : name, out, joined};
    rc = rl_store_write(&s, create_fn, &a, e);
    if (!rc)
        rc = rl_node_write(&s, announce_fn, &a, e);
    rl_store_close(&s);
    if (rc)
        remove_env(dir);
    return rc;
}

int rl_init(const char *dir, const char *name, const uint8_t *network, const char *author,
            struct rl_node *out, struct proto_err *e)
{
    return init(dir, name, network, author, 0, out, e);
}

int rl_init_joining(const char *dir, const char *name, const uint8_t *network, const char *author,
                    struct rl_node *out, struct proto_err *e)
{
    return init(dir, name, network, author, 1, out, e);
}
