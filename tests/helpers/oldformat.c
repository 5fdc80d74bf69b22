/*
 * Test helper: makes a data directory look like one written in data format 1, so that the
 * upgrade (views.h: rl_views_rebuild) can be tested from the command line. Format 1 had the
 * databases siteitem, lotuse and donrec where format 2 has shelfmv, lotmv and donmv, and kept
 * a copy of every movement in ledger. The helper drops the new ones, writes the old ones (with
 * an entry each), fills ledger and every other view with something that is not the state, and
 * sets the format to 1: only a rebuild from the op log gives the right state back.
 *   oldformat DIR
 */
#include "relief/store.h"

#include <lmdb.h>
#include <stdio.h>
#include <string.h>

static int old_fn(struct rl_txn *t, void *arg, struct proto_err *e)
{
    static const char *const olds[] = {"siteitem", "lotuse", "donrec"};
    static const char *const news[] = {"shelfmv", "lotmv", "donmv"};
    static const uint8_t fmt[4] = {0, 0, 0, 1};
    (void)arg;
    (void)e;
    for (int i = 0; i < 3; i++) {
        MDB_dbi dbi;
        MDB_val k = {8, "oldentry"}, v = {0, ""};
        int rc;
        if ((rc = rl_drop_named(t, news[i])))
            return rc;
        if ((rc = mdb_dbi_open(t->txn, olds[i], MDB_CREATE, &dbi)) ||
            (rc = mdb_put(t->txn, dbi, &k, &v, 0)))
            return rl_mdb_err(rc);
    }
    for (int db = 0; db < RL_DB_COUNT; db++) {
        if (!rl_db_in_digest(db) || db == RL_DB_FORKS || db == RL_DB_SHELFMV ||
            db == RL_DB_LOTMV || db == RL_DB_DONMV)
            continue;
        int rc = rl_put(t, db, "not-the-state", 13, "x", 1);
        if (rc)
            return rc;
    }
    return rl_put(t, RL_DB_META, "format", 6, fmt, 4);
}

int main(int argc, char **argv)
{
    struct rl_store s;
    struct proto_err e;
    if (argc != 2) {
        fprintf(stderr, "usage: oldformat DIR\n");
        return 2;
    }
    proto_err_clear(&e);
    if (rl_store_open(&s, argv[1], NULL, &e) || rl_store_write(&s, old_fn, NULL, &e)) {
        fprintf(stderr, "oldformat: %s\n", proto_err_text(&e));
        return 1;
    }
    rl_store_close(&s);
    return 0;
}
