/*
 * Wire-format benchmark: a batch of 10,000 typical stock movements (receipts, distributions,
 * dispatches, adjustments at Tohoku-scale site and item pools) is encoded and decoded, beside a
 * plain msgpack-c unpack of the same bytes in the same run. Prints bytes per op (plain and
 * gzip) for the batch and for one op of every kind. Figures are medians of several rounds.
 *   bench_proto [--quick]
 */
#define BENCH_NAME "bench_proto"
#include "benchlib.h"
#include "proto/batch.h"
#include "proto/kinds.h"
#include "proto/op.h"

#include <msgpack.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define NOPS 10000
#define ROUNDS 9

static uint64_t rnd_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static uint64_t sites[2600];
static char items[1000][24];
static const char *authors[] = {"tanaka", "sato", "maria", "suzuki", "nguyen"};

/* The body of a typical movement, chosen by r. */
static uint32_t movement(msgpack_packer *pk, uint64_t r)
{
    uint64_t site = sites[r % 2600], to = sites[(r >> 12) % 2600];
    const char *item = items[(r >> 24) % 1000];
    uint32_t qty = (uint32_t)(1 + (r >> 40) % 500);
    unsigned pick = (unsigned)((r >> 50) % 20);
    uint32_t kind;
    if (pick < 10) {
        kind = PROTO_KIND_STOCK_RECEIVE;
        msgpack_pack_map(pk, 3);
    } else if (pick < 15) {
        kind = PROTO_KIND_STOCK_DISTRIBUTE;
        msgpack_pack_map(pk, 3);
    } else if (pick < 19) {
        kind = PROTO_KIND_STOCK_DISPATCH;
        msgpack_pack_map(pk, 4);
        msgpack_pack_uint8(pk, PROTO_F_MV_TO);
        msgpack_pack_uint64(pk, to);
    } else {
        kind = PROTO_KIND_STOCK_ADJUST;
        msgpack_pack_map(pk, 4);
        msgpack_pack_uint8(pk, PROTO_F_MV_REASON);
        msgpack_pack_uint8(pk, PROTO_REASON_DAMAGED);
    }
    msgpack_pack_uint8(pk, PROTO_F_MV_SITE);
    msgpack_pack_uint64(pk, site);
    msgpack_pack_uint8(pk, PROTO_F_MV_ITEM);
    msgpack_pack_str_with_body(pk, item, strlen(item));
    msgpack_pack_uint8(pk, PROTO_F_MV_QTY);
    if (kind == PROTO_KIND_STOCK_ADJUST)
        msgpack_pack_int32(pk, -(int32_t)qty);
    else
        msgpack_pack_uint32(pk, qty);
    return kind;
}

struct encoded {
    struct proto_buf payloads; /* all payloads back to back */
    uint32_t off[NOPS + 1];
};

/* Pack NOPS payloads (author, hlc, body) and then the batch; returns seconds. */
static double encode(struct encoded *enc, struct proto_buf *batch, uint64_t origin)
{
    struct proto_buf body;
    msgpack_packer pk;
    struct proto_batch_enc w;
    uint8_t h[PROTO_HASH_BYTES] = {0};
    uint64_t hlc = 1790000000000ull << 16;
    double t0 = now_s();

    rnd_state = 88172645463325252ull;
    proto_buf_reset(&enc->payloads);
    proto_buf_init(&body, 4096);
    for (int i = 0; i < NOPS; i++) {
        proto_buf_reset(&body);
        msgpack_packer_init(&pk, &body, proto_buf_msgpack_write);
        uint64_t r = rnd();
        uint32_t kind = movement(&pk, r);
        const char *a = authors[r % 5];
        hlc += (r % 4000) << 16;
        enc->off[i] = (uint32_t)enc->payloads.len;
        proto_op_pack(&enc->payloads, hlc, a, strlen(a), kind, body.data, body.len);
    }
    enc->off[NOPS] = (uint32_t)enc->payloads.len;
    proto_batch_enc_init(&w);
    proto_batch_enc_run(&w, origin, 1, h);
    for (int i = 0; i < NOPS; i++) {
        const uint8_t *p = enc->payloads.data + enc->off[i];
        uint32_t n = enc->off[i + 1] - enc->off[i];
        proto_op_hash(origin, (uint64_t)i + 1, h, p, n, h);
        proto_batch_enc_op(&w, p, n, h);
    }
    proto_buf_reset(batch);
    proto_batch_enc_finish(&w, batch);
    double t = now_s() - t0;
    proto_batch_enc_free(&w);
    proto_buf_free(&body);
    return t;
}

static size_t gzip_size(const uint8_t *p, size_t n)
{
    uLongf cap = compressBound(n) + 64;
    uint8_t *out = malloc(cap);
    z_stream z;
    memset(&z, 0, sizeof z);
    deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
    z.next_in = (Bytef *)p;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    size_t sz = z.total_out;
    deflateEnd(&z);
    free(out);
    return sz;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 3 : ROUNDS;
    struct encoded enc;
    struct proto_buf batch;
    double t_enc[ROUNDS], t_dec[ROUNDS], t_chain[ROUNDS], t_body[ROUNDS], t_base[ROUNDS];
    uint64_t origin = 0x5eed5eed5eed5eedull;

    if (sodium_init() < 0)
        return 1;
    for (int i = 0; i < 2600; i++)
        sites[i] = rnd() | 1;
    static const char *stems[] = {"rice", "water", "blanket", "diaper", "milk", "noodle",
                                  "soap", "mask", "battery", "towel"};
    for (int i = 0; i < 1000; i++)
        snprintf(items[i], sizeof items[i], "%s-%d", stems[i % 10], i / 10);
    proto_buf_init(&enc.payloads, 64u << 20);
    proto_buf_init(&batch, PROTO_MAX_BODY_BYTES);

    for (int r = 0; r < rounds; r++) {
        t_enc[r] = encode(&enc, &batch, origin);

        struct proto_batch b;
        struct proto_err e;
        proto_batch_init(&b);
        double t0 = now_s();
        int rc = proto_batch_decode_unchained(batch.data, batch.len, &b, &e);
        t_dec[r] = now_s() - t0;
        proto_batch_free(&b);
        proto_batch_init(&b);
        t0 = now_s();
        rc |= proto_batch_decode(batch.data, batch.len, &b, &e);
        t_chain[r] = now_s() - t0;
        if (rc || b.nops != NOPS) {
            fprintf(stderr, "decode failed: %s\n", e.msg);
            return 1;
        }
        t0 = now_s();
        for (uint32_t i = 0; i < b.nops; i++) {
            struct proto_body body;
            if (proto_body_parse(b.ops[i].kind, b.ops[i].body, b.ops[i].body_len, origin, &body,
                                 &e)) {
                fprintf(stderr, "body: %s\n", e.msg);
                return 1;
            }
        }
        t_body[r] = now_s() - t0 + t_chain[r];
        proto_batch_free(&b);

        /* baseline: msgpack-c's unpacker over the same bytes, no validation, no hashing */
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        t0 = now_s();
        if (msgpack_unpack_next(&u, (const char *)batch.data, batch.len, &off) !=
            MSGPACK_UNPACK_SUCCESS) {
            fprintf(stderr, "baseline unpack failed\n");
            return 1;
        }
        t_base[r] = now_s() - t0;
        msgpack_unpacked_destroy(&u);
    }
    double chain_s = median(t_chain, rounds);
    double enc_s = median(t_enc, rounds), dec_s = median(t_dec, rounds),
           body_s = median(t_body, rounds), base_s = median(t_base, rounds);
    double mb = (double)batch.len / 1e6;
    size_t gz = gzip_size(batch.data, batch.len);

    printf("bench_proto: a batch of %d typical stock movements (%zu bytes), median of %d rounds\n",
           NOPS, batch.len, rounds);
    printf("%-44s | %-12s | %-16s | %-16s | %s\n", "figure", "target", "measured",
           "baseline", "ratio");
    const struct {
        const char *figure, *target;
        double s;
    } rates[] = {
        {"validated decode (every length, limit, field)", ">=2M, >=50%", dec_s},
        {"validated decode + BLAKE2b hash chain", "", chain_s},
        {"decode + every body checked (kinds.c)", "", body_s},
        {"encode (payloads + chain + batch)", "", enc_s},
    };
    for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
        char m[32], b[32], ratio[16], fig[96];
        snprintf(m, sizeof m, "%.0f ops/s", NOPS / rates[i].s);
        snprintf(b, sizeof b, "%.0f ops/s", NOPS / base_s);
        snprintf(ratio, sizeof ratio, "%.2fx", rates[i].s / base_s);
        printf("%-44s | %-12s | %16s | %16s | %s\n", rates[i].figure, rates[i].target, m, b,
               ratio);
        snprintf(fig, sizeof fig, "%s (vs msgpack-c unpack)", rates[i].figure);
        bench_emit(fig, rates[i].target, m, b, ratio);
    }
    printf("%-44s | %-12s | %10.1f MB/s  | %10.1f MB/s  | %.2fx\n", "validated decode, bytes", "",
           mb / dec_s, mb / base_s, dec_s / base_s);
    char plain[32], gzipped[32];
    snprintf(plain, sizeof plain, "%.1f B/op", (double)batch.len / NOPS);
    snprintf(gzipped, sizeof gzipped, "%.1f B/op", (double)gz / NOPS);
    printf("%-44s | %-12s | %16s | %16s | \n", "bytes per op, plain", "<=48", plain,
           "~400 (JSON)");
    printf("%-44s | %-12s | %16s | %16s | \n", "bytes per op, gzip", "", gzipped, "");
    bench_emit("wire bytes per op, plain (batch of 10,000)", "<=48", plain, "-", "-");
    bench_emit("wire bytes per op, gzip", "", gzipped, "-", "-");
    printf("ratio: time per op in units of the baseline's (2.00x: twice as slow)\n");

    /* bytes of one op of each kind, as it sits in a batch */
    printf("\nbytes per op by kind (one typical op: payload incl. hlc, a 6-byte author)\n");
    for (uint32_t k = 1; k < 100; k++) {
        const char *name = proto_kind_name(k);
        if (!name)
            continue;
        struct proto_buf body, pl;
        msgpack_packer pk;
        proto_buf_init(&body, 4096);
        proto_buf_init(&pl, 8192);
        msgpack_packer_init(&pk, &body, proto_buf_msgpack_write);
        uint64_t s = sites[1], ref_origin = 0x1234567890abcdefull;
        switch (k) {
        case PROTO_KIND_NODE:
            msgpack_pack_map(&pk, 1);
            msgpack_pack_uint8(&pk, 1);
            msgpack_pack_str_with_body(&pk, "ishinomaki-1", 12);
            break;
        case PROTO_KIND_SITE_ADD:
        case PROTO_KIND_SITE_SET:
            msgpack_pack_map(&pk, 2);
            msgpack_pack_uint8(&pk, 1);
            msgpack_pack_uint64(&pk, s);
            msgpack_pack_uint8(&pk, 2);
            msgpack_pack_map(&pk, k == PROTO_KIND_SITE_ADD ? 3 : 1);
            if (k == PROTO_KIND_SITE_ADD) {
                msgpack_pack_uint8(&pk, PROTO_SITE_NAME);
                msgpack_pack_str_with_body(&pk, "石巻市立湊小学校", strlen("石巻市立湊小学校"));
                msgpack_pack_uint8(&pk, PROTO_SITE_KIND);
                msgpack_pack_uint8(&pk, 1);
            }
            msgpack_pack_uint8(&pk, PROTO_SITE_OCCUPANCY);
            msgpack_pack_uint16(&pk, 412);
            break;
        case PROTO_KIND_SITE_LANG_ADD:
            msgpack_pack_map(&pk, 2);
            msgpack_pack_uint8(&pk, 1);
            msgpack_pack_uint64(&pk, s);
            msgpack_pack_uint8(&pk, 2);
            msgpack_pack_str_with_body(&pk, "pt", 2);
            break;
        case PROTO_KIND_ITEM_ADD:
        case PROTO_KIND_ITEM_SET:
            msgpack_pack_map(&pk, 2);
            msgpack_pack_uint8(&pk, 1);
            msgpack_pack_str_with_body(&pk, "rice-5kg", 8);
            msgpack_pack_uint8(&pk, 2);
            msgpack_pack_map(&pk, 2);
            msgpack_pack_uint8(&pk, PROTO_ITEM_NAME);
            msgpack_pack_str_with_body(&pk, "Rice 5 kg", 9);
            msgpack_pack_uint8(&pk, PROTO_ITEM_UNIT);
            msgpack_pack_str_with_body(&pk, "bag", 3);
            break;
        case PROTO_KIND_STOCK_ARRIVE:
        case PROTO_KIND_STOCK_VOID:
        case PROTO_KIND_SHIFT_SERVED:
        case PROTO_KIND_SHIFT_SIGNUP:
            msgpack_pack_map(&pk, 2);
            msgpack_pack_uint8(&pk, k == PROTO_KIND_SHIFT_SERVED || k == PROTO_KIND_SHIFT_SIGNUP
                                        ? PROTO_F_REC_TARGET
                                        : PROTO_F_MV_TARGET);
            msgpack_pack_array(&pk, 2);
            msgpack_pack_uint64(&pk, ref_origin);
            msgpack_pack_uint16(&pk, 4711);
            if (k == PROTO_KIND_STOCK_ARRIVE) {
                msgpack_pack_uint8(&pk, PROTO_F_MV_QTY);
                msgpack_pack_uint16(&pk, 300);
            } else if (k == PROTO_KIND_STOCK_VOID) {
                msgpack_pack_uint8(&pk, PROTO_F_MV_NOTE);
                msgpack_pack_str_with_body(&pk, "typo", 4);
            } else if (k == PROTO_KIND_SHIFT_SERVED) {
                msgpack_pack_uint8(&pk, PROTO_F_SERVED_MEALS);
                msgpack_pack_uint16(&pk, 240);
            } else {
                msgpack_pack_uint8(&pk, PROTO_F_SIGNUP_VOLUNTEER);
                msgpack_pack_str_with_body(&pk, "Ana Souza", 9);
            }
            break;
        case PROTO_KIND_SHIFT_CANCEL:
            msgpack_pack_map(&pk, 3);
            msgpack_pack_uint8(&pk, PROTO_F_REC_TARGET);
            msgpack_pack_array(&pk, 2);
            msgpack_pack_uint64(&pk, ref_origin);
            msgpack_pack_uint16(&pk, 4711);
            msgpack_pack_uint8(&pk, PROTO_F_SIGNUP_VOLUNTEER);
            msgpack_pack_str_with_body(&pk, "Ana Souza", 9);
            msgpack_pack_uint8(&pk, PROTO_F_CANCEL_TAGS);
            msgpack_pack_array(&pk, 1);
            msgpack_pack_uint16(&pk, 4712);
            break;
        case PROTO_KIND_STOCK_COUNT:
            msgpack_pack_map(&pk, 4);
            msgpack_pack_uint8(&pk, 1);
            msgpack_pack_uint64(&pk, s);
            msgpack_pack_uint8(&pk, 2);
            msgpack_pack_str_with_body(&pk, "rice-5kg", 8);
            msgpack_pack_uint8(&pk, 3);
            msgpack_pack_uint16(&pk, 120);
            msgpack_pack_uint8(&pk, PROTO_F_MV_VV);
            msgpack_pack_array(&pk, 3);
            for (int i = 0; i < 3; i++) {
                msgpack_pack_array(&pk, 2);
                msgpack_pack_uint64(&pk, ref_origin + (uint64_t)i);
                msgpack_pack_uint16(&pk, 1000);
            }
            break;
        case PROTO_KIND_NEED_ADD:
        case PROTO_KIND_SHIFT_ADD:
        case PROTO_KIND_DONATION_PLEDGE:
            msgpack_pack_map(&pk, 1);
            msgpack_pack_uint8(&pk, PROTO_F_REC_FIELDS);
            msgpack_pack_map(&pk, 3);
            msgpack_pack_uint8(&pk, 1);
            if (k == PROTO_KIND_DONATION_PLEDGE)
                msgpack_pack_str_with_body(&pk, "Kobe Rotary", 11);
            else
                msgpack_pack_uint64(&pk, s);
            msgpack_pack_uint8(&pk, 2);
            if (k == PROTO_KIND_NEED_ADD)
                msgpack_pack_str_with_body(&pk, "rice-5kg", 8);
            else if (k == PROTO_KIND_SHIFT_ADD)
                msgpack_pack_uint32(&pk, 1790000000);
            else
                msgpack_pack_uint64(&pk, s);
            msgpack_pack_uint8(&pk, 4);
            msgpack_pack_uint16(&pk, 200);
            break;
        default: {
            /* the movement kinds and the set kinds: a movement-like or a one-field set */
            if (k >= PROTO_KIND_STOCK_RECEIVE && k <= PROTO_KIND_STOCK_ADJUST) {
                uint64_t r = rnd();
                do {
                    proto_buf_reset(&body);
                    msgpack_packer_init(&pk, &body, proto_buf_msgpack_write);
                    r = rnd();
                } while (movement(&pk, r) != k && k != PROTO_KIND_STOCK_ADJUST + 100);
            } else {
                msgpack_pack_map(&pk, 3);
                msgpack_pack_uint8(&pk, 1);
                if (k == PROTO_KIND_SITE_LANG_REMOVE) {
                    msgpack_pack_uint64(&pk, s);
                    msgpack_pack_uint8(&pk, 2);
                    msgpack_pack_array(&pk, 1);
                    msgpack_pack_uint16(&pk, 77);
                    msgpack_pack_uint8(&pk, 30);
                    msgpack_pack_nil(&pk);
                } else {
                    msgpack_pack_array(&pk, 2);
                    msgpack_pack_uint64(&pk, ref_origin);
                    msgpack_pack_uint16(&pk, 4711);
                    msgpack_pack_uint8(&pk, 2);
                    msgpack_pack_map(&pk, 1);
                    msgpack_pack_uint8(&pk, k == PROTO_KIND_SHIFT_CANCEL ? 2 : 4);
                    msgpack_pack_uint16(&pk, 150);
                    msgpack_pack_uint8(&pk, 3);
                    msgpack_pack_map(&pk, 1);
                    msgpack_pack_uint8(&pk, 4);
                    msgpack_pack_array(&pk, 1);
                    msgpack_pack_uint16(&pk, 4711);
                }
            }
        }
        }
        proto_op_pack(&pl, 1790000000000ull << 16, "tanaka", 6, k, body.data, body.len);
        struct proto_body parsed;
        struct proto_err pe;
        int valid = proto_body_parse(k, body.data, body.len, 1, &parsed, &pe) == 0;
        printf("  %-18s %4zu bytes%s%s\n", name, pl.len, valid ? "" : "  INVALID: ",
               valid ? "" : pe.msg);
        proto_buf_free(&body);
        proto_buf_free(&pl);
    }
    proto_buf_free(&enc.payloads);
    proto_buf_free(&batch);
    return 0;
}
