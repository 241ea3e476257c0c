/*
 * test_store_wcache.c — the write transaction's cache: reads see the
 * batch's own writes, LMDB sees them only at flush, other transactions and
 * a detached cache go straight to LMDB, and an end without flush writes
 * nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "store_wcache.h"
#include "lmdb_test.h"
#include "test.h"

typedef struct env {
    lmdb_dir_t ld;
    MDB_env *env;
    MDB_dbi a, b;
} env_t;

static void env_open(env_t *e)
{
    memset(e, 0, sizeof *e);
    lmdb_dir_open(&e->ld, "wcache", 4);
    e->env = e->ld.env;
    e->a = lmdb_dir_db(&e->ld, "a", 0);
    e->b = lmdb_dir_db(&e->ld, "b", 0);
}

static void env_close(env_t *e)
{
    lmdb_dir_close(&e->ld);
}

static MDB_val sv(const char *s)
{
    MDB_val v = {strlen(s), (void *)s};
    return v;
}

/* The value of key in LMDB itself ("" placeholder "-" when missing). */
static const char *direct(MDB_txn *txn, MDB_dbi dbi, const char *key, char *buf, size_t cap)
{
    MDB_val k = sv(key), v;
    if (mdb_get(txn, dbi, &k, &v) != 0)
        return "-";
    snprintf(buf, cap, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
    return buf;
}

static const char *cached(wcache_t *wc, MDB_txn *txn, MDB_dbi dbi, const char *key, char *buf,
                          size_t cap)
{
    MDB_val k = sv(key), v;
    int rc = store_tx_get(wc, txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND)
        return "-";
    if (rc != 0)
        return "error";
    snprintf(buf, cap, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
    return buf;
}

static void put_s(wcache_t *wc, MDB_txn *txn, MDB_dbi dbi, const char *key, const char *val)
{
    MDB_val k = sv(key), v = sv(val);
    CHECK_INT(0, store_tx_put(wc, txn, dbi, &k, &v));
}

static void test_batch_sees_its_writes(void)
{
    env_t e;
    env_open(&e);
    wcache_t *wc = wcache_new();
    REQUIRE(wc != NULL);
    char b1[64];
    MDB_txn *txn;
    /* A value already in LMDB. */
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    MDB_val k = sv("old"), v = sv("1");
    REQUIRE(mdb_put(txn, e.a, &k, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);

    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    wcache_begin(wc, txn);
    CHECK_STR("1", cached(wc, txn, e.a, "old", b1, sizeof b1));
    CHECK_STR("-", cached(wc, txn, e.a, "new", b1, sizeof b1));
    put_s(wc, txn, e.a, "new", "x");
    put_s(wc, txn, e.a, "old", "a much longer value than before");
    put_s(wc, txn, e.b, "new", "in b"); /* same key, other database */
    CHECK_STR("x", cached(wc, txn, e.a, "new", b1, sizeof b1));
    CHECK_STR("a much longer value than before", cached(wc, txn, e.a, "old", b1, sizeof b1));
    CHECK_STR("in b", cached(wc, txn, e.b, "new", b1, sizeof b1));
    /* LMDB has not seen any of it yet. */
    CHECK_STR("-", direct(txn, e.a, "new", b1, sizeof b1));
    CHECK_STR("1", direct(txn, e.a, "old", b1, sizeof b1));
    /* Deleting: known, just written, missing. */
    MDB_val dk = sv("old");
    CHECK_INT(0, store_tx_del(wc, txn, e.a, &dk));
    CHECK_STR("-", cached(wc, txn, e.a, "old", b1, sizeof b1));
    CHECK_INT(MDB_NOTFOUND, store_tx_del(wc, txn, e.a, &dk));
    MDB_val nk = sv("never");
    CHECK_INT(MDB_NOTFOUND, store_tx_del(wc, txn, e.a, &nk));
    /* An empty value is a value. */
    put_s(wc, txn, e.b, "empty", "");
    CHECK_STR("", cached(wc, txn, e.b, "empty", b1, sizeof b1));
    CHECK_INT(0, wcache_flush(wc));
    CHECK_STR("x", direct(txn, e.a, "new", b1, sizeof b1));
    CHECK_STR("-", direct(txn, e.a, "old", b1, sizeof b1));
    CHECK_STR("in b", direct(txn, e.b, "new", b1, sizeof b1));
    CHECK_STR("", direct(txn, e.b, "empty", b1, sizeof b1));
    /* Still attached after a flush: more writes, flushed again. */
    put_s(wc, txn, e.a, "late", "y");
    CHECK_STR("-", direct(txn, e.a, "late", b1, sizeof b1));
    CHECK_INT(0, wcache_flush(wc));
    wcache_end(wc);
    REQUIRE(mdb_txn_commit(txn) == 0);
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    CHECK_STR("y", direct(txn, e.a, "late", b1, sizeof b1));
    CHECK_STR("x", direct(txn, e.a, "new", b1, sizeof b1));
    mdb_txn_abort(txn);
    wcache_free(wc);
    env_close(&e);
}

/* A snapshot's transaction and a detached cache read and write LMDB. */
static void test_other_transactions_go_direct(void)
{
    env_t e;
    env_open(&e);
    wcache_t *wc = wcache_new();
    REQUIRE(wc != NULL);
    char b1[64];
    MDB_txn *txn;
    /* Detached: straight through. */
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    put_s(wc, txn, e.a, "k", "v");
    CHECK_STR("v", direct(txn, e.a, "k", b1, sizeof b1));
    MDB_val k = sv("k");
    CHECK_INT(0, store_tx_del(wc, txn, e.a, &k));
    CHECK_STR("-", direct(txn, e.a, "k", b1, sizeof b1));
    put_s(NULL, txn, e.a, "k", "w"); /* no cache at all */
    CHECK_STR("w", cached(NULL, txn, e.a, "k", b1, sizeof b1));
    CHECK_INT(0, wcache_flush(wc)); /* nothing attached: a no-op */
    REQUIRE(mdb_txn_commit(txn) == 0);
    /* Attached to a write txn; a read txn sees only committed LMDB. */
    MDB_txn *w, *r;
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &r) == 0);
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &w) == 0);
    wcache_begin(wc, w);
    put_s(wc, w, e.a, "k", "batch");
    CHECK_STR("batch", cached(wc, w, e.a, "k", b1, sizeof b1));
    CHECK_STR("w", cached(wc, r, e.a, "k", b1, sizeof b1));
    /* End without flush: nothing reaches LMDB. */
    wcache_end(wc);
    CHECK_STR("w", direct(w, e.a, "k", b1, sizeof b1));
    mdb_txn_abort(w);
    mdb_txn_abort(r);
    wcache_free(wc);
    wcache_free(NULL);
    env_close(&e);
}

/* Many keys (the table grows several times); the flush writes each. */
static void test_many_keys(void)
{
    env_t e;
    env_open(&e);
    wcache_t *wc = wcache_new();
    REQUIRE(wc != NULL);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    wcache_begin(wc, txn);
    enum { N = 50000 };
    char key[32], val[32], b1[64];
    /* Written in a scrambled order, every other one overwritten later. */
    for (int i = 0; i < N; i++) {
        int j = (int)(((long long)i * 7919) % N);
        snprintf(key, sizeof key, "key-%d", j);
        snprintf(val, sizeof val, "v%d", j);
        put_s(wc, txn, e.a, key, val);
    }
    for (int i = 0; i < N; i += 2) {
        snprintf(key, sizeof key, "key-%d", i);
        snprintf(val, sizeof val, "second-%d", i);
        put_s(wc, txn, e.a, key, val);
    }
    CHECK_INT(0, wcache_flush(wc));
    wcache_end(wc);
    REQUIRE(mdb_txn_commit(txn) == 0);
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    MDB_stat st;
    REQUIRE(mdb_stat(txn, e.a, &st) == 0);
    CHECK_INT(N, st.ms_entries);
    int bad = 0;
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        if (i % 2 == 0)
            snprintf(val, sizeof val, "second-%d", i);
        else
            snprintf(val, sizeof val, "v%d", i);
        if (strcmp(val, direct(txn, e.a, key, b1, sizeof b1)) != 0 && bad++ < 5)
            CHECK_STR(val, direct(txn, e.a, key, b1, sizeof b1));
    }
    CHECK_INT(0, bad);
    mdb_txn_abort(txn);
    wcache_free(wc);
    env_close(&e);
}

/* Keys before, between and past the existing ones in one flush (past the
   last key they are appended). */
static void test_flush_around_existing(void)
{
    env_t e;
    env_open(&e);
    wcache_t *wc = wcache_new();
    REQUIRE(wc != NULL);
    char b1[64];
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    put_s(NULL, txn, e.a, "m1", "1");
    put_s(NULL, txn, e.a, "m3", "3");
    REQUIRE(mdb_txn_commit(txn) == 0);
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    wcache_begin(wc, txn);
    static const char *const keys[] = {"z2", "a", "m2", "m3", "m4", "m3x", "z1", "m"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        put_s(wc, txn, e.a, keys[i], keys[i]);
    MDB_val dk = sv("m1");
    CHECK_INT(0, store_tx_del(wc, txn, e.a, &dk));
    CHECK_INT(0, wcache_flush(wc));
    wcache_end(wc);
    REQUIRE(mdb_txn_commit(txn) == 0);
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        CHECK_STR(keys[i], direct(txn, e.a, keys[i], b1, sizeof b1));
    CHECK_STR("-", direct(txn, e.a, "m1", b1, sizeof b1));
    MDB_stat st;
    REQUIRE(mdb_stat(txn, e.a, &st) == 0);
    CHECK_INT(8, st.ms_entries);
    mdb_txn_abort(txn);
    wcache_free(wc);
    env_close(&e);
}

int main(void)
{
    RUN(test_flush_around_existing);
    RUN(test_batch_sees_its_writes);
    RUN(test_other_transactions_go_direct);
    RUN(test_many_keys);
    return test_summary();
}
