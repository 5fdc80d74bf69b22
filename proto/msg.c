/*
 * Sync message bodies (see msg.h).
 */
#include "msg.h"

#include "mp.h"

#include <msgpack.h>
#include <stdio.h>
#include <string.h>

void proto_msg_init(struct proto_msg *m)
{
    memset(m, 0, sizeof *m);
    proto_vv_init(&m->vv);
}

void proto_msg_free(struct proto_msg *m)
{
    proto_vv_free(&m->vv);
    proto_msg_init(m);
}

static const char *type_name(enum proto_msg_type t)
{
    switch (t) {
    case PROTO_MSG_INFO:
        return "info";
    case PROTO_MSG_PULL_REQ:
        return "pull request";
    case PROTO_MSG_PULL_RESP:
        return "pull response";
    case PROTO_MSG_PUSH_REQ:
        return "push request";
    case PROTO_MSG_PUSH_RESP:
        return "push response";
    default:
        return "error";
    }
}

int proto_msg_decode(enum proto_msg_type type, const uint8_t *p, size_t n, struct proto_msg *m,
                     struct proto_err *e)
{
    struct proto_mp mp;
    uint32_t count, seen = 0;
    const char *tn = type_name(type);
    int rc;

    if (n > PROTO_MAX_BODY_BYTES)
        return proto_errf(e, PROTO_ELIMIT, "%s of %zu bytes exceeds the limit of %u", tn, n,
                          PROTO_MAX_BODY_BYTES);
    proto_mp_init(&mp, p, n);
    if (proto_mp_map(&mp, &count))
        return proto_errf(e, PROTO_EMALFORMED, "%s: not a map", tn);
    for (uint32_t i = 0; i < count; i++) {
        uint64_t key;
        const uint8_t *b;
        uint32_t bl;
        if (proto_mp_uint(&mp, &key))
            return proto_errf(e, PROTO_EMALFORMED, "%s: keys must be unsigned integers", tn);
        if (key < 32) {
            if (seen & (1u << key))
                return proto_errf(e, PROTO_EFIELD, "%s: key %llu given twice", tn,
                                  (unsigned long long)key);
            seen |= 1u << key;
        }
        rc = 0;
        if (type == PROTO_MSG_ERROR) {
            if (key == 1)
                rc = proto_mp_str(&mp, &m->code, &m->code_len, 64);
            else if (key == 2)
                rc = proto_mp_str(&mp, &m->message, &m->message_len, 4096);
            else
                rc = proto_mp_skip(&mp, PROTO_MAX_DEPTH - 1);
        } else if (key == 1) {
            rc = proto_mp_bin(&mp, &b, &bl, PROTO_NETWORK_BYTES);
            if (!rc && bl != PROTO_NETWORK_BYTES)
                rc = PROTO_EFIELD;
            if (!rc) {
                memcpy(m->network, b, PROTO_NETWORK_BYTES);
                m->has_network = 1;
            }
        } else if (type == PROTO_MSG_INFO && key == 2) {
            rc = proto_mp_uint(&mp, &m->version);
        } else if (type == PROTO_MSG_INFO && key == 3) {
            rc = proto_mp_uint(&mp, &m->node);
        } else if (type == PROTO_MSG_INFO && (key == 6 || key == 7)) {
            rc = proto_mp_uint(&mp, key == 6 ? &m->max_bytes : &m->max_ops);
        } else if (type == PROTO_MSG_INFO && key == 4) {
            rc = proto_mp_str(&mp, &m->name, &m->name_len, PROTO_MAX_AUTHOR_BYTES);
        } else if ((type == PROTO_MSG_INFO && key == 5) ||
                   (type == PROTO_MSG_PULL_REQ && key == 2) ||
                   (type == PROTO_MSG_PULL_RESP && key == 4) ||
                   (type == PROTO_MSG_PUSH_RESP && key == 2)) {
            struct proto_err ve;
            proto_err_clear(&ve);
            if ((rc = proto_vv_read(&mp, &m->vv, &ve)))
                return proto_errf(e, rc, "%s: %s", tn, ve.msg);
            m->has_vv = 1;
        } else if ((type == PROTO_MSG_INFO && key == 8) ||
                   (type == PROTO_MSG_PULL_REQ && key == 5) ||
                   (type == PROTO_MSG_PUSH_RESP && key == 4)) {
            rc = proto_origins_read(&mp, &m->frozen);
        } else if (type == PROTO_MSG_PULL_REQ && (key == 3 || key == 4)) {
            rc = proto_mp_uint(&mp, key == 3 ? &m->max_ops : &m->max_bytes);
        } else if ((type == PROTO_MSG_PULL_RESP || type == PROTO_MSG_PUSH_REQ) && key == 2) {
            const uint8_t *start = mp.p;
            /* the batch decoder checks it fully; here only its extent */
            if ((rc = proto_mp_skip(&mp, PROTO_MAX_DEPTH - 1)) == 0) {
                m->batch = start;
                m->batch_len = (uint32_t)(mp.p - start);
            }
        } else if (type == PROTO_MSG_PULL_RESP && key == 3) {
            rc = proto_mp_bool(&mp, &m->more);
        } else if (type == PROTO_MSG_PUSH_RESP && key == 3) {
            uint32_t k;
            rc = proto_mp_array(&mp, &k);
            for (uint32_t j = 0; !rc && j < k; j++) {
                uint64_t v;
                rc = proto_mp_uint(&mp, &v);
                if (!rc && j < 5)
                    m->stats[j] = v;
            }
        } else {
            rc = proto_mp_skip(&mp, PROTO_MAX_DEPTH - 1);
        }
        if (rc)
            return proto_errf(e, rc == PROTO_ELIMIT ? PROTO_ELIMIT : PROTO_EFIELD,
                              "%s: key %llu: wrong type or size", tn, (unsigned long long)key);
    }
    if (mp.p != mp.end)
        return proto_errf(e, PROTO_EMALFORMED, "%s: trailing bytes", tn);
    if (type != PROTO_MSG_ERROR && !m->has_network)
        return proto_errf(e, PROTO_EFIELD, "%s: network id (key 1) is missing", tn);
    int need_vv = type == PROTO_MSG_INFO || type == PROTO_MSG_PULL_REQ ||
                  type == PROTO_MSG_PULL_RESP || type == PROTO_MSG_PUSH_RESP;
    if (need_vv && !m->has_vv)
        return proto_errf(e, PROTO_EFIELD, "%s: version vector is missing", tn);
    if ((type == PROTO_MSG_PULL_RESP || type == PROTO_MSG_PUSH_REQ) && !m->batch)
        return proto_errf(e, PROTO_EFIELD, "%s: batch (key 2) is missing", tn);
    return 0;
}

static void hex(const uint8_t *p, char out[2 * PROTO_NETWORK_BYTES + 1])
{
    for (unsigned i = 0; i < PROTO_NETWORK_BYTES; i++)
        snprintf(out + 2 * i, 3, "%02x", p[i]);
}

int proto_msg_check_network(const struct proto_msg *m, const uint8_t mine[PROTO_NETWORK_BYTES],
                            struct proto_err *e)
{
    char a[2 * PROTO_NETWORK_BYTES + 1], b[2 * PROTO_NETWORK_BYTES + 1];
    if (m->has_network && memcmp(m->network, mine, PROTO_NETWORK_BYTES) == 0)
        return 0;
    if (!m->has_network)
        return proto_errf(e, PROTO_ENETWORK, "peer sent no network id");
    hex(m->network, a);
    hex(mine, b);
    return proto_errf(e, PROTO_ENETWORK,
                      "peer belongs to relief network %s, this node to %s: refusing to merge "
                      "two networks",
                      a, b);
}

static void start(msgpack_packer *pk, struct proto_buf *out, uint32_t n)
{
    msgpack_packer_init(pk, out, proto_buf_msgpack_write);
    msgpack_pack_map(pk, n);
}

static void net(msgpack_packer *pk, const uint8_t network[PROTO_NETWORK_BYTES])
{
    msgpack_pack_uint8(pk, 1);
    msgpack_pack_bin_with_body(pk, network, PROTO_NETWORK_BYTES);
}

static int has(const struct proto_origins *f)
{
    return f && f->n > 0;
}

/* key k: the origins, when there are any */
static void origins(msgpack_packer *pk, struct proto_buf *out, unsigned k,
                    const struct proto_origins *f)
{
    if (has(f)) {
        msgpack_pack_uint8(pk, (uint8_t)k);
        proto_origins_encode(f, out);
    }
}

int proto_msg_info(struct proto_buf *out, const uint8_t network[PROTO_NETWORK_BYTES], uint64_t node,
                   const char *name, const struct proto_vv *vv, const struct proto_origins *frozen)
{
    msgpack_packer pk;
    start(&pk, out, 7 + has(frozen));
    net(&pk, network);
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_uint32(&pk, PROTO_VERSION);
    msgpack_pack_uint8(&pk, 3);
    msgpack_pack_uint64(&pk, node);
    msgpack_pack_uint8(&pk, 4);
    msgpack_pack_str_with_body(&pk, name, strlen(name));
    msgpack_pack_uint8(&pk, 5);
    proto_vv_encode(vv, out);
    msgpack_pack_uint8(&pk, 6);
    msgpack_pack_uint32(&pk, PROTO_MAX_BODY_BYTES);
    msgpack_pack_uint8(&pk, 7);
    msgpack_pack_uint32(&pk, PROTO_MAX_BATCH_OPS);
    origins(&pk, out, 8, frozen);
    return proto_buf_failed(out);
}

int proto_msg_pull_req(struct proto_buf *out, const uint8_t network[PROTO_NETWORK_BYTES],
                       const struct proto_vv *vv, uint64_t max_ops, uint64_t max_bytes,
                       const struct proto_origins *frozen)
{
    msgpack_packer pk;
    start(&pk, out, 2 + (max_ops != 0) + (max_bytes != 0) + has(frozen));
    net(&pk, network);
    msgpack_pack_uint8(&pk, 2);
    proto_vv_encode(vv, out);
    if (max_ops) {
        msgpack_pack_uint8(&pk, 3);
        msgpack_pack_uint64(&pk, max_ops);
    }
    if (max_bytes) {
        msgpack_pack_uint8(&pk, 4);
        msgpack_pack_uint64(&pk, max_bytes);
    }
    origins(&pk, out, 5, frozen);
    return proto_buf_failed(out);
}

int proto_msg_pull_resp(struct proto_buf *out, const uint8_t network[PROTO_NETWORK_BYTES],
                        const uint8_t *batch, size_t batch_len, int more,
                        const struct proto_vv *vv)
{
    msgpack_packer pk;
    start(&pk, out, 4);
    net(&pk, network);
    msgpack_pack_uint8(&pk, 2);
    proto_buf_add(out, batch, batch_len);
    msgpack_pack_uint8(&pk, 3);
    if (more)
        msgpack_pack_true(&pk);
    else
        msgpack_pack_false(&pk);
    msgpack_pack_uint8(&pk, 4);
    proto_vv_encode(vv, out);
    return proto_buf_failed(out);
}

int proto_msg_push_req(struct proto_buf *out, const uint8_t network[PROTO_NETWORK_BYTES],
                       const uint8_t *batch, size_t batch_len)
{
    msgpack_packer pk;
    start(&pk, out, 2);
    net(&pk, network);
    msgpack_pack_uint8(&pk, 2);
    proto_buf_add(out, batch, batch_len);
    return proto_buf_failed(out);
}

int proto_msg_push_resp(struct proto_buf *out, const uint8_t network[PROTO_NETWORK_BYTES],
                        const struct proto_vv *vv, const uint64_t stats[5],
                        const struct proto_origins *frozen)
{
    msgpack_packer pk;
    start(&pk, out, 3 + has(frozen));
    net(&pk, network);
    msgpack_pack_uint8(&pk, 2);
    proto_vv_encode(vv, out);
    msgpack_pack_uint8(&pk, 3);
    msgpack_pack_array(&pk, 5);
    for (int i = 0; i < 5; i++)
        msgpack_pack_uint64(&pk, stats[i]);
    origins(&pk, out, 4, frozen);
    return proto_buf_failed(out);
}

int proto_msg_error(struct proto_buf *out, const char *code, const char *message)
{
    msgpack_packer pk;
    start(&pk, out, 2);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, code, strlen(code));
    msgpack_pack_uint8(&pk, 2);
    msgpack_pack_str_with_body(&pk, message, strlen(message));
    return proto_buf_failed(out);
}
