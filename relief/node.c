/*
 * Node metadata, identity and clock (see node.h).
 */
#include "node.h"

#include "hlc.h"
#include "oplog.h"
#include "proto/kinds.h"
#include "proto/op.h"
#include "views.h"

#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define K(s) s, sizeof(s) - 1

static int get_u64(struct rl_txn *t, const char *k, size_t kn, uint64_t *v)
{
    MDB_val val;
    int rc = rl_get(t, RL_DB_META, k, kn, &val);
    if (rc)
        return rc;
    if (val.mv_size != 8)
        return PROTO_ECORRUPT;
    *v = proto_get_be64(val.mv_data);
    return 0;
}

static int put_u64(struct rl_txn *t, const char *k, size_t kn, uint64_t v)
{
    uint8_t b[8];
    proto_put_be64(b, v);
    return rl_put(t, RL_DB_META, k, kn, b, 8);
}

static void identity(struct rl_store *s, uint8_t out[16])
{
    proto_put_be64(out, s->file_dev);
    proto_put_be64(out + 8, s->file_ino);
}

static int record_identity(struct rl_txn *t)
{
    uint8_t id[16];
    int rc;
    identity(t->s, id);
    if ((rc = rl_put(t, RL_DB_META, K("file"), id, 16)))
        return rc;
    return rl_put(t, RL_DB_META, K("machine"), t->s->machine_id, strlen(t->s->machine_id));
}

/* A random id that no origin in the version vector has ever used (and not 0). */
static int fresh_id(struct rl_txn *t, uint64_t *out)
{
    for (;;) {
        uint64_t id;
        uint8_t k[8];
        MDB_val v;
        randombytes_buf(&id, sizeof id);
        if (id == 0)
            continue;
        proto_put_be64(k, id);
        int rc = rl_get(t, RL_DB_VV, k, 8, &v);
        if (rc == -ENOENT) {
            *out = id;
            return 0;
        }
        if (rc)
            return rc;
    }
}

int rl_node_create(struct rl_txn *t, const uint8_t network[PROTO_NETWORK_BYTES], const char *name,
                   struct proto_err *e)
{
    uint8_t fmt[4];
    uint64_t id;
    int rc;
    size_t nl = strlen(name);

    if (nl == 0 || nl > PROTO_MAX_AUTHOR_BYTES)
        return proto_errf(e, -EINVAL, "node name must be 1 to %u bytes", PROTO_MAX_AUTHOR_BYTES);
    rl_format_put_bytes(fmt, RL_FORMAT_VERSION);
    if ((rc = fresh_id(t, &id)) || (rc = rl_put(t, RL_DB_META, K("format"), fmt, 4)) ||
        (rc = rl_put(t, RL_DB_META, K("network"), network, PROTO_NETWORK_BYTES)) ||
        (rc = put_u64(t, K("node"), id)) || (rc = rl_put(t, RL_DB_META, K("name"), name, nl)) ||
        (rc = put_u64(t, K("clock"), 0)) || (rc = put_u64(t, K("created"), rl_now_ms())) ||
        (rc = record_identity(t)))
        return proto_errf(e, rc, "cannot write node metadata: %s", proto_strerror(rc));
    return 0;
}

int rl_node_load(struct rl_txn *t, struct rl_node *n, struct proto_err *e)
{
    MDB_val v;
    int rc;

    memset(n, 0, sizeof *n);
    if ((rc = rl_get(t, RL_DB_META, K("network"), &v)) || v.mv_size != PROTO_NETWORK_BYTES)
        goto bad;
    memcpy(n->network, v.mv_data, PROTO_NETWORK_BYTES);
    if ((rc = get_u64(t, K("node"), &n->id)) || (rc = get_u64(t, K("clock"), &n->clock)))
        goto bad;
    if (get_u64(t, K("created"), &n->created_ms))
        n->created_ms = 0;
    if ((rc = rl_get(t, RL_DB_META, K("name"), &v)) || v.mv_size > PROTO_MAX_AUTHOR_BYTES)
        goto bad;
    memcpy(n->name, v.mv_data, v.mv_size);
    n->name[v.mv_size] = '\0';
    return 0;
bad:
    return proto_errf(e, PROTO_ECORRUPT, "node metadata in '%s' is damaged", t->s->dir);
}

/*
 * The sidecar DATA/node.state holds "NODE-ID LAST-SEQ" of the last write, written after each
 * commit that added ops of this node. A data file put back from an older copy (cp over the
 * live file keeps its inode; a freed inode can be reused) holds fewer of this node's ops than
 * the sidecar remembers: that is a restore, and the node must not write under its id again.
 * The sidecar is not fsynced: after a power cut it can only lag, which is harmless.
 */
static void sidecar_path(struct rl_store *s, char *out, size_t n)
{
    snprintf(out, n, "%s/node.state", s->dir);
}

static int sidecar_read(struct rl_store *s, uint64_t *node, uint64_t *seq)
{
    char path[4200], buf[64];
    sidecar_path(s, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -ENOENT;
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    close(fd);
    unsigned long long a, b;
    if (n <= 0)
        return -EINVAL;
    buf[n] = '\0';
    if (sscanf(buf, "%16llx %llu", &a, &b) != 2)
        return -EINVAL;
    *node = a;
    *seq = b;
    return 0;
}

/*
 * Overwritten in place, one fixed-width line (no temporary file and rename: this runs after
 * every commit); a torn line after a power cut reads as no sidecar, which is harmless too.
 */
static void sidecar_write(struct rl_store *s, uint64_t node, uint64_t seq)
{
    char path[4200], line[64];
    sidecar_path(s, path, sizeof path);
    int n = snprintf(line, sizeof line, "%016llx %020llu\n", (unsigned long long)node,
                     (unsigned long long)seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return;
    if (pwrite(fd, line, (size_t)n, 0) != n)
        (void)ftruncate(fd, 0); /* half a line: better none */
    close(fd);
}

static int own_seq(struct rl_txn *t, uint64_t node, uint64_t *seq)
{
    uint8_t k[8];
    MDB_val v;
    proto_put_be64(k, node);
    int rc = rl_get(t, RL_DB_VV, k, 8, &v);
    *seq = 0;
    if (rc == -ENOENT)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size < 8)
        return PROTO_ECORRUPT;
    *seq = proto_get_be64(v.mv_data);
    return 0;
}

/*
 * A new id when this copy of the data is not the one that wrote last, or when another copy has
 * written under this id (fork evidence for it is held: peers that saw it take none of its ops
 * past the fork, so this node's next writes go under an id of its own).
 */
static int check_identity(struct rl_txn *t, struct rl_node *n)
{
    uint8_t id[16];
    MDB_val v;
    int same = 1, rc;
    uint64_t side_node, side_seq, held;

    if (sidecar_read(t->s, &side_node, &side_seq) == 0 && side_node == n->id) {
        if ((rc = own_seq(t, n->id, &held)))
            return rc;
        if (side_seq > held)
            same = 0; /* an older copy of this node's data */
    }

    identity(t->s, id);
    rc = rl_get(t, RL_DB_META, K("file"), &v);
    if (rc && rc != -ENOENT)
        return rc;
    if (rc || v.mv_size != 16 || memcmp(v.mv_data, id, 16))
        same = 0;
    rc = rl_get(t, RL_DB_META, K("machine"), &v);
    if (rc && rc != -ENOENT)
        return rc;
    size_t ml = strlen(t->s->machine_id);
    if (rc || v.mv_size != ml || memcmp(v.mv_data, t->s->machine_id, ml))
        same = 0;
    if (same && (rc = rl_oplog_forked(t, n->id, NULL)) != 0) {
        if (rc < 0)
            return rc;
        same = 0; /* another copy wrote under this id: its ops and ours are a fork */
    }
    if (same)
        return 0;
    n->old_id = n->id;
    if ((rc = fresh_id(t, &n->id)) || (rc = put_u64(t, K("node"), n->id)))
        return rc;
    n->renewed = 1;
    return record_identity(t);
}

int rl_node_announce(struct rl_txn *t, const char *author, struct proto_err *e)
{
    struct proto_buf body;
    msgpack_packer pk;
    const char *name = rl_txn_node(t)->name;
    proto_buf_init(&body, PROTO_MAX_OP_BYTES);
    msgpack_packer_init(&pk, &body, proto_buf_msgpack_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_uint32(&pk, PROTO_F_NODE_NAME);
    msgpack_pack_str_with_body(&pk, name, strlen(name));
    int rc = proto_buf_failed(&body);
    if (rc)
        rc = proto_errf(e, rc, "cannot encode the node's name");
    else
        rc = rl_oplog_append(t, PROTO_KIND_NODE, body.data, body.len, 0, author, NULL, e);
    proto_buf_free(&body);
    return rc;
}

struct wrap {
    rl_txn_fn fn;
    void *arg;
    struct rl_node node;
    uint64_t seq_after; /* this node's highest seq after fn */
    int wrote;          /* fn added ops of this node */
};

static int wrapped(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct wrap *w = arg;
    int rc;

    if ((rc = rl_node_load(t, &w->node, e)))
        return rc;
    if ((rc = check_identity(t, &w->node)))
        return proto_errf(e, rc, "cannot renew the node id: %s", proto_strerror(rc));
    t->node = &w->node;
    /* a new id says whose it is first, as a new node does (peers list origins by name) */
    if (w->node.renewed && (rc = rl_node_announce(t, w->node.name, e)))
        return rc;
    uint64_t before = 0;
    if ((rc = own_seq(t, w->node.id, &before)))
        return proto_errf(e, rc, "cannot read the version vector");
    if ((rc = w->fn(t, w->arg, e)) || (rc = rl_views_flush(t, e)))
        return rc;
    if (w->node.clock_dirty && (rc = put_u64(t, K("clock"), w->node.clock)))
        return proto_errf(e, rc, "cannot save the clock: %s", proto_strerror(rc));
    if ((rc = own_seq(t, w->node.id, &w->seq_after)))
        return proto_errf(e, rc, "cannot read the version vector");
    w->wrote = w->seq_after != before;
    return 0;
}

int rl_node_write(struct rl_store *s, rl_txn_fn fn, void *arg, struct proto_err *e)
{
    struct wrap w = {.fn = fn, .arg = arg};
    int rc = rl_store_write(s, wrapped, &w, e);
    if (!rc && w.wrote)
        sidecar_write(s, w.node.id, w.seq_after);
    return rc;
}

int rl_network_parse(const char *hex, uint8_t out[PROTO_NETWORK_BYTES])
{
    if (strlen(hex) != 2 * PROTO_NETWORK_BYTES)
        return -EINVAL;
    for (unsigned i = 0; i < PROTO_NETWORK_BYTES; i++) {
        unsigned v = 0;
        for (int j = 0; j < 2; j++) {
            char c = hex[2 * i + j];
            v <<= 4;
            if (c >= '0' && c <= '9')
                v |= (unsigned)(c - '0');
            else if (c >= 'a' && c <= 'f')
                v |= (unsigned)(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                v |= (unsigned)(c - 'A' + 10);
            else
                return -EINVAL;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

void rl_hex(const uint8_t *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}
