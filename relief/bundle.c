/*
 * Bundles (see bundle.h).
 */
#include "bundle.h"

#include "node.h"

#include <errno.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char MAGIC[8] = {'R', 'L', 'F', 'B', 'N', 'D', 'L', '1'};

struct page {
    struct proto_vv have;
    struct proto_buf out;
    int more;
    uint32_t nops;
};

static int read_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct page *p = arg;
    proto_buf_reset(&p->out);
    return rl_oplog_read_after(t, &p->have, 10000, 4u << 20, &p->out, &p->more, &p->nops, e);
}

static int net_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct rl_node n;
    int rc = rl_node_load(t, &n, e);
    if (!rc)
        memcpy(arg, n.network, PROTO_NETWORK_BYTES);
    return rc;
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

int rl_bundle_create(struct rl_store *s, const char *path, const struct proto_vv *for_vv,
                     uint64_t *ops, struct proto_err *e)
{
    uint8_t net[PROTO_NETWORK_BYTES], len[4];
    char tmp[4200];
    struct page p;
    int rc;
    FILE *f;

    *ops = 0;
    if ((rc = rl_store_read(s, net_fn, net, e)))
        return rc;
    snprintf(tmp, sizeof tmp, "%s.partial", path);
    if (!(f = fopen(tmp, "wb")))
        return proto_errf(e, -errno, "cannot write '%s': %s", tmp, strerror(errno));
    proto_vv_init(&p.have);
    proto_buf_init(&p.out, PROTO_MAX_BODY_BYTES);
    if (for_vv)
        for (uint32_t i = 0; i < for_vv->n; i++)
            proto_vv_set(&p.have, for_vv->e[i].origin, for_vv->e[i].seq, for_vv->e[i].hash);
    fwrite(MAGIC, 1, sizeof MAGIC, f);
    fwrite(net, 1, sizeof net, f);
    for (;;) {
        if ((rc = rl_store_read(s, read_fn, &p, e)))
            goto fail;
        if (p.nops == 0)
            break;
        put32(len, (uint32_t)p.out.len);
        fwrite(len, 1, 4, f);
        fwrite(p.out.data, 1, p.out.len, f);
        *ops += p.nops;
        /* what this page carried, the next one starts after */
        struct proto_batch b;
        proto_batch_init(&b);
        if ((rc = proto_batch_decode_unchained(p.out.data, p.out.len, &b, e)))
            goto fail;
        for (uint32_t r = 0; r < b.nruns; r++) {
            const struct proto_run *run = &b.runs[r];
            proto_vv_set(&p.have, run->origin, run->first_seq + run->nops - 1, run->last);
        }
        proto_batch_free(&b);
    }
    put32(len, 0);
    fwrite(len, 1, 4, f);
    if (fflush(f) || ferror(f) || fsync(fileno(f))) {
        rc = proto_errf(e, -EIO, "cannot write '%s': %s", tmp, strerror(errno));
        goto fail;
    }
    fclose(f);
    f = NULL;
    if (rename(tmp, path)) {
        rc = proto_errf(e, -errno, "cannot rename to '%s': %s", path, strerror(errno));
        goto fail;
    }
    proto_vv_free(&p.have);
    proto_buf_free(&p.out);
    return 0;
fail:
    if (f)
        fclose(f);
    unlink(tmp);
    proto_vv_free(&p.have);
    proto_buf_free(&p.out);
    return rc;
}

/* Read the next batch into buf: 1 with a batch, 0 at the end marker, < 0 on damage. */
static int next_batch(FILE *f, const char *path, struct proto_buf *buf, struct proto_err *e)
{
    uint8_t len[4];
    if (fread(len, 1, 4, f) != 4)
        return proto_errf(e, PROTO_EMALFORMED, "bundle '%s' is cut short (no end marker)", path);
    uint32_t n = (uint32_t)len[0] << 24 | (uint32_t)len[1] << 16 | (uint32_t)len[2] << 8 | len[3];
    if (n == 0)
        return 0;
    if (n > PROTO_MAX_BODY_BYTES)
        return proto_errf(e, PROTO_ELIMIT, "bundle '%s' holds a batch of %u bytes (limit %u)",
                          path, n, PROTO_MAX_BODY_BYTES);
    proto_buf_reset(buf);
    if (proto_buf_reserve(buf, n))
        return proto_errf(e, -ENOMEM, "out of memory");
    if (fread(buf->data, 1, n, f) != n)
        return proto_errf(e, PROTO_EMALFORMED, "bundle '%s' is cut short", path);
    buf->len = n;
    return 1;
}

int rl_bundle_apply(struct rl_store *s, const char *path, struct rl_apply_stats *st,
                    struct rl_bundle_shape *shape, struct proto_err *e)
{
    uint8_t head[8 + PROTO_NETWORK_BYTES], net[PROTO_NETWORK_BYTES];
    struct proto_buf buf, group;
    struct rl_bytes part[RL_BUNDLE_GROUP_BATCHES];
    struct {
        uint32_t ops, bytes;
    } *sz = NULL; /* each batch's, from pass 1 */
    size_t ops_cap = 0;
    int rc;
    FILE *f;

    memset(st, 0, sizeof *st);
    if (shape)
        memset(shape, 0, sizeof *shape);
    if ((rc = rl_store_read(s, net_fn, net, e)))
        return rc;
    if (!(f = fopen(path, "rb")))
        return proto_errf(e, -errno, "cannot read '%s': %s", path, strerror(errno));
    proto_buf_init(&buf, PROTO_MAX_BODY_BYTES);
    proto_buf_init(&group, PROTO_MAX_BODY_BYTES);
    if (fread(head, 1, sizeof head, f) != sizeof head || memcmp(head, MAGIC, sizeof MAGIC)) {
        rc = proto_errf(e, PROTO_EMALFORMED, "'%s' is not a relief bundle", path);
        goto out;
    }
    if (memcmp(head + 8, net, PROTO_NETWORK_BYTES)) {
        char a[33], b[33];
        rl_hex(head + 8, PROTO_NETWORK_BYTES, a);
        rl_hex(net, PROTO_NETWORK_BYTES, b);
        rc = proto_errf(e, PROTO_ENETWORK,
                        "bundle '%s' belongs to relief network %s, this node to %s: refused",
                        path, a, b);
        goto out;
    }
    /* pass 1: everything must be sound before anything is applied */
    long start = ftell(f);
    unsigned nb = 0;
    while ((rc = next_batch(f, path, &buf, e)) == 1) {
        struct proto_batch b;
        struct proto_err be;
        proto_batch_init(&b);
        proto_err_clear(&be);
        if ((rc = proto_batch_decode(buf.data, buf.len, &b, &be))) {
            proto_errf(e, rc, "bundle '%s', batch %u: %s", path, nb + 1, be.msg);
            goto out;
        }
        if (nb == ops_cap) {
            size_t cap = ops_cap ? ops_cap * 2 : 64;
            void *p = realloc(sz, cap * sizeof *sz);
            if (!p) {
                proto_batch_free(&b);
                rc = proto_errf(e, -ENOMEM, "out of memory");
                goto out;
            }
            sz = p;
            ops_cap = cap;
        }
        sz[nb].ops = b.nops;
        sz[nb++].bytes = (uint32_t)buf.len;
        proto_batch_free(&b);
    }
    if (rc < 0)
        goto out;
    if (fgetc(f) != EOF) {
        rc = proto_errf(e, PROTO_EMALFORMED, "bundle '%s' has bytes after its end marker", path);
        goto out;
    }
    /* pass 2: apply, a few batches to a transaction */
    fseek(f, start, SEEK_SET);
    for (unsigned i = 0; i < nb;) {
        struct rl_apply_stats one;
        size_t n = 0, nops = 0, at[RL_BUNDLE_GROUP_BATCHES];
        proto_buf_reset(&group);
        while (i < nb &&
               (n == 0 || (n < RL_BUNDLE_GROUP_BATCHES && nops + sz[i].ops <= RL_BUNDLE_GROUP_OPS &&
                           group.len + sz[i].bytes <= PROTO_MAX_BODY_BYTES))) {
            at[n] = group.len;
            if ((rc = next_batch(f, path, &buf, e)) != 1) {
                rc = rc == 0 ? proto_errf(e, -EIO, "bundle '%s' changed while applied", path) : rc;
                goto out;
            }
            if (proto_buf_add(&group, buf.data, buf.len)) {
                rc = proto_errf(e, -ENOMEM, "out of memory");
                goto out;
            }
            part[n++].n = buf.len;
            nops += sz[i++].ops;
        }
        for (size_t j = 0; j < n; j++) /* (group may have moved as it grew) */
            part[j].p = group.data + at[j];
        if ((rc = rl_oplog_apply_group(s, part, n, &one, e)))
            goto out;
        if (shape) {
            shape->batches += (unsigned)n;
            shape->transactions++;
        }
        rl_apply_stats_add(st, &one);
    }
out:
    fclose(f);
    free(sz);
    proto_buf_free(&buf);
    proto_buf_free(&group);
    return rc < 0 ? rc : 0;
}

int rl_vv_from_status_json(const char *path, struct proto_vv *vv, struct proto_err *e)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    size_t i;
    json_t *o;
    if (!root && je.line < 0) /* (jansson: the file could not be opened or read) */
        return proto_errf(e, -ENOENT, "--for: cannot read '%s': %s", path,
                          access(path, R_OK) ? strerror(errno) : je.text);
    if (!root)
        return proto_errf(e, -EINVAL, "'%s' is not JSON (line %d: %s)", path, je.line, je.text);
    json_t *arr = json_object_get(root, "version_vector");
    if (!json_is_array(arr)) {
        json_decref(root);
        return proto_errf(e, -EINVAL,
                          "'%s' has no version_vector: make it with relief --json status", path);
    }
    json_array_foreach(arr, i, o)
    {
        const char *origin = json_string_value(json_object_get(o, "origin"));
        const char *hash = json_string_value(json_object_get(o, "hash"));
        json_t *seq = json_object_get(o, "seq");
        uint8_t h[PROTO_HASH_BYTES], ob[8];
        size_t hl = 0, ol = 0;
        if (!origin || !hash || !json_is_integer(seq) || json_integer_value(seq) < 1 ||
            sodium_hex2bin(h, sizeof h, hash, strlen(hash), NULL, &hl, NULL) ||
            hl != PROTO_HASH_BYTES) {
            json_decref(root);
            return proto_errf(e, -EINVAL, "'%s': version_vector entry %zu is malformed", path,
                              i);
        }
        /* 16 hex digits, all of them (strtoull would stop at the first other and read 0) */
        if (strlen(origin) != 16 || sodium_hex2bin(ob, sizeof ob, origin, 16, NULL, &ol, NULL) ||
            ol != 8) {
            int rc = proto_errf(e, -EINVAL,
                                "'%s': version_vector entry %zu: origin '%.40s' is not 16 hex "
                                "digits",
                                path, i, origin);
            json_decref(root);
            return rc;
        }
        uint64_t id = 0;
        for (size_t k = 0; k < sizeof ob; k++)
            id = id << 8 | ob[k];
        proto_vv_set(vv, id, (uint64_t)json_integer_value(seq), h);
    }
    json_decref(root);
    return 0;
}
