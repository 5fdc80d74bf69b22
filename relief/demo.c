/*
 * The demo data set (see demo.h).
 */
#include "demo.h"

#include "domain.h"
#include "key.h"
#include "node.h"
#include "proto/kinds.h"
#include "proto/op.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

struct demo {
    struct rl_txn *t;
    struct proto_err *e;
    int rc;
};

/* Add a record from name/value pairs; its id (for ref records) into out. */
static void rec(struct demo *d, enum rl_rtype type, const char *author, const char *target,
                const char *const *kv, char *out)
{
    struct rl_edit ed;
    struct rl_written w;
    if (d->rc)
        return;
    memset(&ed, 0, sizeof ed);
    ed.rtype = type;
    ed.add = 1;
    ed.target = target;
    ed.author = author;
    for (int i = 0; kv[i] && ed.nfields < 32; i += 2) {
        ed.fields[ed.nfields].f = rl_fieldopt_find(rl_fields_of(type), kv[i]);
        ed.fields[ed.nfields].value = kv[i + 1];
        if (!ed.fields[ed.nfields].f) {
            d->rc = proto_errf(d->e, -EINVAL, "demo: no field '%s'", kv[i]);
            return;
        }
        ed.nfields++;
    }
    d->rc = rl_edit_in(d->t, &ed, &w, d->e);
    if (!d->rc && out)
        rl_ref_format(w.origin, w.seq, out);
}

static void mv(struct demo *d, const struct rl_stock_req *r, char *out)
{
    struct rl_stock_result res;
    if (d->rc)
        return;
    d->rc = rl_stock_in(d->t, r, &res, d->e);
    if (!d->rc && out)
        rl_ref_format(res.origin, res.seq, out);
}

static void shift_op(struct demo *d, uint32_t kind, const char *shift, const char *vol,
                     const char *contact, const char *meals, const char *author)
{
    struct rl_shift_req r = {kind, shift, vol, contact, meals, author};
    struct rl_written w;
    if (!d->rc)
        d->rc = rl_shift_in(d->t, &r, &w, d->e);
}

/* A local date-time or date n hours / days from now. */
static void when(char *out, size_t n, int hours)
{
    time_t t = time(NULL) + hours * 3600;
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%dT%H:00", &tm);
}

static void day(char *out, size_t n, int days)
{
    time_t t = time(NULL) + days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, n, "%Y-%m-%d", &tm);
}

static int has_sites(struct rl_txn *t)
{
    struct rl_cursor c;
    MDB_val k, v;
    uint8_t start = RL_R_SITE;
    int found = 0;
    if (rl_cursor_open(t, RL_DB_RECORDS, &c))
        return 0;
    if (rl_cursor_seek(&c, &start, 1, &k, &v) == 0 && k.mv_size == 9 &&
        ((const uint8_t *)k.mv_data)[0] == RL_R_SITE)
        found = 1;
    rl_cursor_close(&c);
    return found;
}

/* Whether the node is alone in its network: it did not join one (init --network), holds no
 * other node's ops and has no peers. */
static int in_own_network(struct rl_txn *t)
{
    MDB_val v;
    struct rl_cursor c;
    MDB_val k;
    uint64_t self = rl_txn_node(t)->id;
    int alone = rl_get(t, RL_DB_META, "joined", 6, &v) == -ENOENT;
    if (alone && rl_cursor_open(t, RL_DB_VV, &c) == 0) {
        for (int rc = rl_cursor_first(&c, &k, &v); alone && rc == 0;
             rc = rl_cursor_next(&c, &k, &v))
            if (k.mv_size == 8 && proto_get_be64(k.mv_data) != self)
                alone = 0;
        rl_cursor_close(&c);
    }
    if (alone && rl_cursor_open(t, RL_DB_PEERS, &c) == 0) {
        if (rl_cursor_first(&c, &k, &v) == 0)
            alone = 0;
        rl_cursor_close(&c);
    }
    return alone;
}

static int demo_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    struct demo d = {t, e, 0};
    char t1[40], t2[40], t3[40], don[40], need1[40], need2[40], sh1[40], sh2[40], s[5][32];
    (void)arg;
    if (has_sites(t))
        return proto_errf(e, PROTO_EEXIST, "this node has sites already: the demo goes into a "
                                           "new node (relief --data DIR init, then demo)");
    if (!in_own_network(t))
        return proto_errf(e, PROTO_EEXIST,
                          "this node is part of a network with other nodes (it joined one, "
                          "holds their ops or has peers): the demo's made-up centres and "
                          "supplies would reach all of them; load it into a node of its own "
                          "(relief --data DIR init, then demo)");
    /* sites */
    rec(&d, RL_R_SITE, "佐藤 (coordinator)", NULL,
        (const char *const[]){"kind", "warehouse", "name", "石巻市総合体育館 物資倉庫", "code",
                              "WH-ISH", "prefecture", "宮城県", "municipality", "石巻市", "lat",
                              "38.4420", "lon", "141.2890", "contact", "0225-00-0000", NULL},
        NULL);
    rec(&d, RL_R_SITE, "佐藤 (coordinator)", NULL,
        (const char *const[]){"kind", "centre", "name", "湊小学校 避難所", "code", "ISH-MINATO",
                              "prefecture", "宮城県", "municipality", "石巻市", "lat", "38.4262",
                              "lon", "141.3154", "capacity", "600", "occupancy", "640",
                              "special-needs", "infants 23, elderly 110, dialysis 2", "status",
                              "open", "priority", "high", NULL},
        NULL);
    rec(&d, RL_R_SITE, "佐藤 (coordinator)", NULL,
        (const char *const[]){"kind", "centre", "name", "渡波小学校 避難所", "code", "ISH-WATANOHA",
                              "prefecture", "宮城県", "municipality", "石巻市", "lat", "38.4143",
                              "lon", "141.3634", "capacity", "800", "occupancy", "712", "status",
                              "open", "priority", "medium", NULL},
        NULL);
    rec(&d, RL_R_SITE, "Maria (network)", NULL,
        (const char *const[]){"kind", "school", "name", "Escola Sol Nascente (ブラジル人学校)",
                              "code", "SCH-SOL", "prefecture", "宮城県", "municipality", "仙台市",
                              "lat", "38.2682", "lon", "140.8694", "capacity", "120", "contact",
                              "escola@example.org", NULL},
        NULL);
    rec(&d, RL_R_SITE, "Maria (network)", NULL,
        (const char *const[]){"kind", "kitchen", "name", "湊 炊き出し拠点", "code", "KIT-MINATO",
                              "prefecture", "宮城県", "municipality", "石巻市", "lat", "38.4270",
                              "lon", "141.3160", NULL},
        NULL);
    /* languages spoken at the crowded centre */
    /* items */
    static const char *const items[][4] = {
        {"rice-5kg", "Rice 5 kg / 米 5kg", "bag", "food"},
        {"water-2l", "Water 2 L / 水 2L", "bottle", "water"},
        {"blanket", "Blanket / 毛布", "piece", "bedding"},
        {"diaper-s", "Diapers S / おむつ S", "pack", "hygiene"},
        {"milk-powder", "Infant formula / 粉ミルク", "can", "food"},
        {"noodle-cup", "Cup noodles / カップ麺", "case", "food"},
        {"school-kit", "School kit / 学用品セット", "kit", "education"},
    };
    for (size_t i = 0; i < sizeof items / sizeof *items; i++)
        rec(&d, RL_R_ITEM, "佐藤 (coordinator)", items[i][0],
            (const char *const[]){"name", items[i][1], "unit", items[i][2], "category",
                                  items[i][3], NULL},
            NULL);
    day(s[0], sizeof s[0], 5);   /* expires soon: an alert */
    day(s[1], sizeof s[1], 240); /* later */
    day(s[2], sizeof s[2], 3);
    /* receipts at the warehouse */
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_RECEIVE, .site = "WH-ISH",
                                  .item = "rice-5kg", .qty = "400", .lot = "JA-0311",
                                  .expiry = s[1], .from_text = "JA全農みやぎ",
                                  .author = "田中 (warehouse)"},
       NULL);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_RECEIVE, .site = "WH-ISH",
                                  .item = "water-2l", .qty = "1200", .lot = "W-A",
                                  .expiry = s[1], .from_text = "Self-Defense Forces",
                                  .author = "田中 (warehouse)"},
       NULL);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_RECEIVE, .site = "WH-ISH",
                                  .item = "milk-powder", .qty = "60", .lot = "MP-7",
                                  .expiry = s[0], .from_text = "Sendai Red Cross",
                                  .author = "田中 (warehouse)"},
       NULL);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_RECEIVE, .site = "WH-ISH",
                                  .item = "blanket", .qty = "300", .author = "田中 (warehouse)"},
       NULL);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_RECEIVE, .site = "WH-ISH",
                                  .item = "diaper-s", .qty = "80", .author = "田中 (warehouse)"},
       NULL);
    /* needs at the centres */
    rec(&d, RL_R_NEED, "鈴木 (Minato)", NULL,
        (const char *const[]){"site", "ISH-MINATO", "item", "rice-5kg", "qty", "250",
                              "priority", "high", "due", s[2], NULL},
        need1);
    rec(&d, RL_R_NEED, "鈴木 (Minato)", NULL,
        (const char *const[]){"site", "ISH-MINATO", "item", "milk-powder", "qty", "40",
                              "priority", "high", NULL},
        need2);
    rec(&d, RL_R_NEED, "鈴木 (Minato)", NULL,
        (const char *const[]){"site", "ISH-MINATO", "service", "interpreter: Portuguese", "qty",
                              "2", "priority", "medium", NULL},
        NULL);
    rec(&d, RL_R_NEED, "Nguyen (Watanoha)", NULL,
        (const char *const[]){"site", "ISH-WATANOHA", "item", "blanket", "qty", "200",
                              "priority", "medium", NULL},
        NULL);
    /* transfers: rice arrives in full, blankets arrive short, milk still on the road */
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_DISPATCH, .site = "WH-ISH",
                                  .to = "ISH-MINATO", .item = "rice-5kg", .qty = "150",
                                  .need = need1, .author = "田中 (warehouse)"},
       t1);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_ARRIVE, .target = t1,
                                  .author = "鈴木 (Minato)"},
       NULL);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_DISPATCH, .site = "WH-ISH",
                                  .to = "ISH-WATANOHA", .item = "blanket", .qty = "120",
                                  .author = "田中 (warehouse)"},
       t2);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_ARRIVE, .target = t2, .qty = "110",
                                  .author = "Nguyen (Watanoha)"},
       NULL);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_DISPATCH, .site = "WH-ISH",
                                  .to = "ISH-MINATO", .item = "milk-powder", .qty = "30",
                                  .need = need2, .author = "田中 (warehouse)"},
       NULL);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_DISTRIBUTE, .site = "ISH-MINATO",
                                  .item = "rice-5kg", .qty = "90", .author = "鈴木 (Minato)"},
       NULL);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_ADJUST, .site = "WH-ISH",
                                  .item = "water-2l", .qty = "-24", .reason = "damaged",
                                  .note = "crushed in the truck", .author = "田中 (warehouse)"},
       NULL);
    /* a donation of school kits, pledged, received, sent to the school and handed out */
    rec(&d, RL_R_DONATION, "Maria (network)", NULL,
        (const char *const[]){"donor", "Kobe Rotary Club", "to", "SCH-SOL", "item", "school-kit",
                              "qty", "80", "contact", "rotary@example.org", NULL},
        don);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_RECEIVE, .site = "WH-ISH",
                                  .item = "school-kit", .qty = "80", .donation = don,
                                  .from_text = "Kobe Rotary Club", .author = "田中 (warehouse)"},
       NULL);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_DISPATCH, .site = "WH-ISH",
                                  .to = "SCH-SOL", .item = "school-kit", .qty = "80",
                                  .author = "田中 (warehouse)"},
       t3);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_ARRIVE, .target = t3,
                                  .author = "Maria (network)"},
       NULL);
    mv(&d, &(struct rl_stock_req){.kind = PROTO_KIND_STOCK_DISTRIBUTE, .site = "SCH-SOL",
                                  .item = "school-kit", .qty = "64",
                                  .note = "handed to the children", .author = "Maria (network)"},
       NULL);
    /* soup-kitchen shifts in the next day: one short of volunteers, one overbooked */
    when(s[3], sizeof s[3], 18);
    when(s[4], sizeof s[4], 21);
    rec(&d, RL_R_SHIFT, "Maria (network)", NULL,
        (const char *const[]){"site", "KIT-MINATO", "start", s[3], "end", s[4], "slots", "4",
                              "role", "cook", "meals", "400", NULL},
        sh1);
    when(s[3], sizeof s[3], 8);
    when(s[4], sizeof s[4], 11);
    rec(&d, RL_R_SHIFT, "Maria (network)", NULL,
        (const char *const[]){"site", "KIT-MINATO", "start", s[3], "end", s[4], "slots", "2",
                              "role", "serving", "meals", "300", NULL},
        sh2);
    shift_op(&d, PROTO_KIND_SHIFT_SIGNUP, sh1, "Ana Souza", "ana@example.org", NULL, NULL);
    shift_op(&d, PROTO_KIND_SHIFT_SIGNUP, sh1, "高橋 健", "080-0000-0001", NULL, NULL);
    shift_op(&d, PROTO_KIND_SHIFT_SIGNUP, sh2, "Jose Reyes", "jose@example.org", NULL, NULL);
    shift_op(&d, PROTO_KIND_SHIFT_SIGNUP, sh2, "李 明", NULL, NULL, NULL);
    shift_op(&d, PROTO_KIND_SHIFT_SIGNUP, sh2, "渡辺 花子", "080-0000-0002", NULL, NULL);
    shift_op(&d, PROTO_KIND_SHIFT_SERVED, sh2, NULL, NULL, "280", "Maria (network)");
    return d.rc;
}

int rl_demo_load(struct rl_store *s, struct proto_err *e)
{
    return rl_node_write(s, demo_fn, NULL, e);
}
