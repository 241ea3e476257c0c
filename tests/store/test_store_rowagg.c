/*
 * test_store_rowagg.c — a write batch's additive day rows
 * (store_rowagg.h): sums per (database, key), the flush adding them to the
 * stored rows (rows back at zero still written), the conservative overflow
 * bound (|stored| + the batch's sum of absolute deltas must fit int64),
 * refused keys and widths, damaged rows and LMDB failures.
 *
 * The codec here is plain: 8 bytes per column, little-endian; a stored
 * value of any other length is damaged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "err.h"
#include "store_rowagg.h"
#include "lmdb_test.h"
#include "test.h"

static size_t t_pack(const int64_t *vals, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t u = (uint64_t)vals[i];
        for (int b = 0; b < 8; b++)
            out[i * 8 + (size_t)b] = (uint8_t)(u >> (8 * b));
    }
    return n * 8;
}

static bool t_unpack(const MDB_val *v, size_t n, int64_t *vals)
{
    if (v->mv_size != n * 8)
        return false;
    const uint8_t *p = v->mv_data;
    for (size_t i = 0; i < n; i++) {
        uint64_t u = 0;
        for (int b = 7; b >= 0; b--)
            u = u << 8 | p[i * 8 + (size_t)b];
        vals[i] = (int64_t)u;
    }
    return true;
}

static const rowagg_codec_t codec = {t_pack, t_unpack, ROWAGG_COLS * 8};

typedef struct env {
    lmdb_dir_t ld;
    MDB_env *env;
    MDB_dbi a, b;
} env_t;

static void env_open(env_t *e)
{
    memset(e, 0, sizeof *e);
    lmdb_dir_open(&e->ld, "rowagg", 4);
    e->env = e->ld.env;
    e->a = lmdb_dir_db(&e->ld, "a", 0);
    e->b = lmdb_dir_db(&e->ld, "b", 0);
}

static void env_close(env_t *e)
{
    lmdb_dir_close(&e->ld);
}

static void store_row(MDB_txn *txn, MDB_dbi dbi, const char *key, const int64_t *vals, size_t n)
{
    uint8_t buf[ROWAGG_COLS * 8];
    MDB_val kv = {strlen(key), (void *)key}, dv = {t_pack(vals, n, buf), buf};
    REQUIRE(mdb_put(txn, dbi, &kv, &dv, 0) == 0);
}

/* The stored row: its columns, or -1 missing, -2 another width. */
static int load_row(MDB_txn *txn, MDB_dbi dbi, const char *key, int64_t *vals, size_t n)
{
    MDB_val kv = {strlen(key), (void *)key}, dv;
    if (mdb_get(txn, dbi, &kv, &dv) != 0)
        return -1;
    return t_unpack(&dv, n, vals) ? 0 : -2;
}

#define CHECK_ROW(txn, dbi, key, ...)                                                              \
    do {                                                                                           \
        const int64_t want_[] = {__VA_ARGS__};                                                     \
        size_t n_ = sizeof want_ / sizeof want_[0];                                                \
        int64_t got_[ROWAGG_COLS];                                                                 \
        int r_ = load_row((txn), (dbi), (key), got_, n_);                                          \
        CHECK_MSG(r_ == 0, "row %s: %s", (key), r_ == -1 ? "missing" : "another width");           \
        for (size_t i_ = 0; r_ == 0 && i_ < n_; i_++)                                              \
            CHECK_MSG(got_[i_] == want_[i_], "row %s column %zu: expected %lld, got %lld", (key),  \
                      i_, (long long)want_[i_], (long long)got_[i_]);                              \
    } while (0)

static err_t add(rowagg_t *ra, MDB_dbi dbi, const char *key, const int64_t *v, size_t n)
{
    return rowagg_add(ra, dbi, (const uint8_t *)key, strlen(key), v, n);
}

#define ADD(ra, dbi, key, ...)                                                                     \
    do {                                                                                           \
        const int64_t v_[] = {__VA_ARGS__};                                                        \
        CHECK_ERR(ERR_OK, add((ra), (dbi), (key), v_, sizeof v_ / sizeof v_[0]));                  \
    } while (0)

static err_t flush(rowagg_t *ra, MDB_txn *txn, int *lrc)
{
    *lrc = -12345;
    return rowagg_flush(ra, txn, lrc);
}

static size_t entries(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_stat ms;
    REQUIRE(mdb_stat(txn, dbi, &ms) == 0);
    return ms.ms_entries;
}

/* Several adds to one key sum up; the same key in another database and
   keys that are prefixes of each other are other rows. */
static void test_sums_per_key(void)
{
    env_t e;
    env_open(&e);
    rowagg_t *ra = rowagg_new(&codec);
    REQUIRE(ra != NULL);
    CHECK_INT(0, rowagg_count(ra));
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    ADD(ra, e.a, "k1", 1, 2, 3);
    ADD(ra, e.a, "k1", 10, -20, 0);
    ADD(ra, e.a, "k1", 100, 0, -3);
    ADD(ra, e.b, "k1", 5, 6, 7); /* another database */
    ADD(ra, e.a, "k", 4, 4);     /* a prefix of k1: another row */
    ADD(ra, e.a, "k10", -1, -1, -1, -1);
    ADD(ra, e.b, "k1", -5, 0, 1);
    CHECK_INT(4, rowagg_count(ra));
    /* Nothing is written before the flush. */
    CHECK_INT(0, entries(txn, e.a));
    int lrc;
    CHECK_ERR(ERR_OK, flush(ra, txn, &lrc));
    CHECK_INT(0, lrc);
    CHECK_INT(0, rowagg_count(ra));
    CHECK_ROW(txn, e.a, "k1", 111, -18, 0);
    CHECK_ROW(txn, e.a, "k", 4, 4);
    CHECK_ROW(txn, e.a, "k10", -1, -1, -1, -1);
    CHECK_ROW(txn, e.b, "k1", 0, 6, 8);
    CHECK_INT(3, entries(txn, e.a));
    CHECK_INT(1, entries(txn, e.b));
    /* An empty set flushes nothing. */
    CHECK_ERR(ERR_OK, flush(ra, txn, &lrc));
    CHECK_INT(0, lrc);
    CHECK_ROW(txn, e.a, "k1", 111, -18, 0);
    /* The set empties: the next adds start from zero again and add to what
       the first flush wrote. */
    ADD(ra, e.a, "k1", 1, 1, 1);
    CHECK_INT(1, rowagg_count(ra));
    CHECK_ERR(ERR_OK, flush(ra, txn, &lrc));
    CHECK_ROW(txn, e.a, "k1", 112, -17, 1);
    REQUIRE(mdb_txn_commit(txn) == 0);
    rowagg_free(ra);
    rowagg_free(NULL);
    env_close(&e);
}

/* The flush adds to the stored rows; rows back at zero are written. */
static void test_merge_into_stored(void)
{
    env_t e;
    env_open(&e);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    store_row(txn, e.a, "d1", (const int64_t[]){100, -50, 7}, 3);
    store_row(txn, e.a, "d4", (const int64_t[]){10, 0}, 2);
    store_row(txn, e.a, "d6", (const int64_t[]){-3}, 1);
    store_row(txn, e.b, "d1", (const int64_t[]){1, 1, 1}, 3);
    REQUIRE(mdb_txn_commit(txn) == 0);

    rowagg_t *ra = rowagg_new(&codec);
    REQUIRE(ra != NULL);
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    ADD(ra, e.a, "d1", 1, 50, 0);
    ADD(ra, e.a, "d1", 2, 0, 0);
    ADD(ra, e.a, "d3", 5, -2); /* new; back to zero below */
    ADD(ra, e.a, "d3", -5, 2);
    ADD(ra, e.a, "d4", 3, 0); /* stored; its deltas cancel */
    ADD(ra, e.a, "d4", -3, 0);
    ADD(ra, e.a, "d5", 0, 0); /* only zero deltas: a zero row, as per event */
    ADD(ra, e.a, "d6", 3);    /* stored, summed to zero */
    ADD(ra, e.a, "d0", 9, 9, 9);
    CHECK_INT(6, rowagg_count(ra));
    int lrc;
    CHECK_ERR(ERR_OK, flush(ra, txn, &lrc));
    CHECK_INT(0, lrc);
    REQUIRE(mdb_txn_commit(txn) == 0);
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    CHECK_ROW(txn, e.a, "d0", 9, 9, 9);
    CHECK_ROW(txn, e.a, "d1", 103, 0, 7);
    CHECK_ROW(txn, e.a, "d3", 0, 0);
    CHECK_ROW(txn, e.a, "d4", 10, 0);
    CHECK_ROW(txn, e.a, "d5", 0, 0);
    CHECK_ROW(txn, e.a, "d6", 0);
    CHECK_ROW(txn, e.b, "d1", 1, 1, 1); /* untouched */
    CHECK_INT(6, entries(txn, e.a));
    CHECK_INT(1, entries(txn, e.b));
    mdb_txn_abort(txn);
    rowagg_free(ra);
    env_close(&e);
}

/* One stored single-column row and a batch's deltas: the flush's answer. */
static err_t one_case(env_t *e, rowagg_t *ra, const char *key, bool stored, int64_t have,
                      const int64_t *deltas, size_t nd, int64_t *after)
{
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e->env, NULL, 0, &txn) == 0);
    if (stored)
        store_row(txn, e->a, key, &have, 1);
    rowagg_clear(ra);
    for (size_t i = 0; i < nd; i++)
        CHECK_ERR(ERR_OK, add(ra, e->a, key, &deltas[i], 1));
    int lrc;
    err_t r = flush(ra, txn, &lrc);
    *after = INT64_MIN + 12345;
    if (r == ERR_OK) {
        int64_t v;
        if (load_row(txn, e->a, key, &v, 1) == 0)
            *after = v;
        CHECK_INT(0, rowagg_count(ra));
    }
    mdb_txn_abort(txn);
    return r;
}

static void test_overflow_bound(void)
{
    env_t e;
    env_open(&e);
    rowagg_t *ra = rowagg_new(&codec);
    REQUIRE(ra != NULL);
    static const struct {
        const char *what;
        bool stored;
        int64_t have;
        int64_t d[4];
        size_t nd;
        err_t want;
        int64_t after;
    } rows[] = {
        /* Close to the limit: exactly reaching it passes, one more does not. */
        {"max-10 +10", true, INT64_MAX - 10, {10}, 1, ERR_OK, INT64_MAX},
        {"max-10 +4+6", true, INT64_MAX - 10, {4, 6}, 2, ERR_OK, INT64_MAX},
        {"max-10 +11", true, INT64_MAX - 10, {11}, 1, ERR_OVERFLOW, 0},
        {"max-10 +5+6", true, INT64_MAX - 10, {5, 6}, 2, ERR_OVERFLOW, 0},
        {"1 +max", true, 1, {INT64_MAX}, 1, ERR_OVERFLOW, 0},
        {"max +1", true, INT64_MAX, {1}, 1, ERR_OVERFLOW, 0},
        {"none +max", false, 0, {INT64_MAX}, 1, ERR_OK, INT64_MAX},
        {"max -max", true, INT64_MAX, {-INT64_MAX}, 1, ERR_OVERFLOW, 0},
        {"max-10 -1", true, INT64_MAX - 10, {-1}, 1, ERR_OK, INT64_MAX - 11},
        /* The negative side: |stored| + bound must fit as well. */
        {"-max +0", true, -INT64_MAX, {0}, 1, ERR_OK, -INT64_MAX},
        {"-max+5 -5", true, -INT64_MAX + 5, {-5}, 1, ERR_OK, -INT64_MAX},
        {"-max+5 -6", true, -INT64_MAX + 5, {-6}, 1, ERR_OVERFLOW, 0},
        /* INT64_MIN is reachable per event, but |min| does not fit int64:
           the bound refuses (conservatively). */
        {"-max -1", true, -INT64_MAX, {-1}, 1, ERR_OVERFLOW, 0},
        {"min +1", true, INT64_MIN, {1}, 1, ERR_OVERFLOW, 0},
        {"none +min", false, 0, {INT64_MIN}, 1, ERR_OVERFLOW, 0},
        /* Mixed signs: every running sum stays in range but the absolute
           bound does not fit: ERR_OVERFLOW, documented conservative. */
        {"max-10 -6+6", true, INT64_MAX - 10, {-6, 6}, 2, ERR_OVERFLOW, 0},
        {"max-10 +5-5 (bound exactly fits)",
         true,
         INT64_MAX - 10,
         {-5, 5},
         2,
         ERR_OK,
         INT64_MAX - 10},
        {"0 +max-max", true, 0, {INT64_MAX, -INT64_MAX}, 2, ERR_OVERFLOW, 0},
        {"100 +(max-200)-(max-200)",
         true,
         100,
         {INT64_MAX - 200, -(INT64_MAX - 200)},
         2,
         ERR_OVERFLOW,
         0},
        {"none +(max/2)-(max/2)+(max/2)-(max/2)",
         false,
         0,
         {INT64_MAX / 2, -(INT64_MAX / 2), INT64_MAX / 2, -(INT64_MAX / 2)},
         4,
         ERR_OVERFLOW,
         0},
        /* A bound of 2^64 must not wrap to a small one: the first +2^62
           leaves int64 per event. */
        {"max-5 +2^62-2^62+2^62-2^62",
         true,
         INT64_MAX - 5,
         {(int64_t)1 << 62, -((int64_t)1 << 62), (int64_t)1 << 62, -((int64_t)1 << 62)},
         4,
         ERR_OVERFLOW,
         0},
        {"none +(max/4)-(max/4)+(max/4)-(max/4)",
         false,
         0,
         {INT64_MAX / 4, -(INT64_MAX / 4), INT64_MAX / 4, -(INT64_MAX / 4)},
         4,
         ERR_OK,
         0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char key[8];
        snprintf(key, sizeof key, "r%zu", i);
        int64_t after;
        err_t r =
            one_case(&e, ra, key, rows[i].stored, rows[i].have, rows[i].d, rows[i].nd, &after);
        CHECK_MSG(r == rows[i].want, "%s: expected %s, got %s", rows[i].what,
                  err_code(rows[i].want), err_code(r));
        if (r == ERR_OK && rows[i].want == ERR_OK)
            CHECK_MSG(after == rows[i].after, "%s: expected %lld, got %lld", rows[i].what,
                      (long long)rows[i].after, (long long)after);
    }
    rowagg_free(ra);
    env_close(&e);
}

/* Overflow in one column of a row stops the flush; other columns and rows
   fine on their own do not hide it. Within the batch, a sum that leaves
   int64 is refused at the add. */
static void test_overflow_other_cases(void)
{
    env_t e;
    env_open(&e);
    rowagg_t *ra = rowagg_new(&codec);
    REQUIRE(ra != NULL);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    store_row(txn, e.b, "z", (const int64_t[]){0, INT64_MAX - 1, 0}, 3);
    ADD(ra, e.a, "a", 1, 1, 1);
    ADD(ra, e.b, "z", 1, 1, 1); /* column 1: max - 1 + 1 fits */
    int lrc;
    CHECK_ERR(ERR_OK, flush(ra, txn, &lrc));
    CHECK_ROW(txn, e.b, "z", 1, INT64_MAX, 1);
    ADD(ra, e.a, "a", 1, 1, 1);
    ADD(ra, e.b, "z", 5, 1, 5); /* column 1 now leaves */
    CHECK_ERR(ERR_OVERFLOW, flush(ra, txn, &lrc));
    mdb_txn_abort(txn);

    /* The batch's own sum leaving int64: at the add. */
    rowagg_clear(ra);
    CHECK_INT(0, rowagg_count(ra));
    int64_t v = INT64_MAX;
    CHECK_ERR(ERR_OK, add(ra, e.a, "s", &v, 1));
    v = 1;
    CHECK_ERR(ERR_OVERFLOW, add(ra, e.a, "s", &v, 1));
    rowagg_clear(ra);
    v = INT64_MIN;
    CHECK_ERR(ERR_OK, add(ra, e.a, "s", &v, 1));
    v = -1;
    CHECK_ERR(ERR_OVERFLOW, add(ra, e.a, "s", &v, 1));
    rowagg_clear(ra);
    /* Alternating extremes: the running sum stays small, the bound saturates. */
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    for (int i = 0; i < 10; i++) {
        int64_t d = i % 2 ? -INT64_MAX : INT64_MAX;
        CHECK_ERR(ERR_OK, add(ra, e.a, "alt", &d, 1));
    }
    CHECK_ERR(ERR_OVERFLOW, flush(ra, txn, &lrc));
    mdb_txn_abort(txn);
    rowagg_free(ra);
    env_close(&e);
}

/* Keys longer than ROWAGG_KEY_MAX, too many columns, and a row asked for
   with two widths are refused (and add no row). */
static void test_refused_adds(void)
{
    env_t e;
    env_open(&e);
    rowagg_t *ra = rowagg_new(&codec);
    REQUIRE(ra != NULL);
    uint8_t key[ROWAGG_KEY_MAX + 1];
    memset(key, 'k', sizeof key);
    int64_t v[ROWAGG_COLS + 1];
    for (int i = 0; i <= ROWAGG_COLS; i++)
        v[i] = i + 1;
    CHECK_ERR(ERR_INTERNAL, rowagg_add(ra, e.a, key, ROWAGG_KEY_MAX + 1, v, 1));
    CHECK_ERR(ERR_INTERNAL, rowagg_add(ra, e.a, key, 200, v, 1));
    CHECK_INT(0, rowagg_count(ra));
    CHECK_ERR(ERR_INTERNAL, rowagg_add(ra, e.a, key, 4, v, ROWAGG_COLS + 1));
    CHECK_INT(0, rowagg_count(ra));
    /* The limits themselves are fine. */
    CHECK_ERR(ERR_OK, rowagg_add(ra, e.a, key, ROWAGG_KEY_MAX, v, ROWAGG_COLS));
    CHECK_ERR(ERR_OK, rowagg_add(ra, e.a, key, ROWAGG_KEY_MAX, v, ROWAGG_COLS));
    CHECK_INT(1, rowagg_count(ra));
    /* The same row with another width. */
    CHECK_ERR(ERR_INTERNAL, rowagg_add(ra, e.a, key, ROWAGG_KEY_MAX, v, 3));
    CHECK_INT(1, rowagg_count(ra));
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    int lrc;
    CHECK_ERR(ERR_OK, flush(ra, txn, &lrc));
    int64_t got[ROWAGG_COLS];
    MDB_val kv = {ROWAGG_KEY_MAX, key}, dv;
    CHECK_INT(0, mdb_get(txn, e.a, &kv, &dv));
    CHECK(t_unpack(&dv, ROWAGG_COLS, got));
    for (int i = 0; i < ROWAGG_COLS; i++)
        CHECK_INT(2 * (i + 1), got[i]);
    CHECK_INT(1, entries(txn, e.a));
    mdb_txn_abort(txn);
    rowagg_free(ra);
    env_close(&e);
}

/* A stored row the codec cannot read; LMDB failures come back in lmdb_rc. */
static void test_damaged_and_lmdb_errors(void)
{
    env_t e;
    env_open(&e);
    rowagg_t *ra = rowagg_new(&codec);
    REQUIRE(ra != NULL);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    MDB_val kv = {3, "bad"}, dv = {5, "12345"};
    REQUIRE(mdb_put(txn, e.a, &kv, &dv, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    ADD(ra, e.a, "bad", 1);
    int lrc;
    CHECK_ERR(ERR_STORE_CORRUPT, flush(ra, txn, &lrc));
    mdb_txn_abort(txn);
    rowagg_clear(ra);
    CHECK_INT(0, rowagg_count(ra));

    /* A read-only transaction: the put fails. */
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    ADD(ra, e.a, "new", 1);
    CHECK_ERR(ERR_IO, flush(ra, txn, &lrc));
    CHECK_INT(EACCES, lrc);
    mdb_txn_abort(txn);
    rowagg_clear(ra);

    /* A cleared set writes nothing. */
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    ADD(ra, e.a, "gone", 1);
    rowagg_clear(ra);
    CHECK_ERR(ERR_OK, flush(ra, txn, &lrc));
    CHECK_INT(1, entries(txn, e.a));
    mdb_txn_abort(txn);
    rowagg_free(ra);
    env_close(&e);
}

/* Many rows (the table grows), in two databases, added in a scrambled
   order, some stored before; a set reused after a big batch. */
static void test_many_rows(void)
{
    env_t e;
    env_open(&e);
    rowagg_t *ra = rowagg_new(&codec);
    REQUIRE(ra != NULL);
    enum { N = 20000 };
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    for (int i = 0; i < N; i += 3) {
        char k[16];
        snprintf(k, sizeof k, "day-%d", i);
        store_row(txn, e.a, k, (const int64_t[]){1000, -1000}, 2);
    }
    REQUIRE(mdb_txn_commit(txn) == 0);
    for (int round = 0; round < 2; round++) {
        REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
        for (int pass = 0; pass < 3; pass++)
            for (int i = 0; i < N; i++) {
                int j = (int)(((long long)i * 7919 + pass) % N);
                char k[16];
                snprintf(k, sizeof k, "day-%d", j);
                int64_t d[2] = {j, -2 * (int64_t)j};
                CHECK_ERR(ERR_OK, add(ra, (j % 2) ? e.b : e.a, k, d, 2));
            }
        CHECK_INT(N, rowagg_count(ra));
        int lrc;
        CHECK_ERR(ERR_OK, flush(ra, txn, &lrc));
        CHECK_INT(0, rowagg_count(ra));
        REQUIRE(mdb_txn_commit(txn) == 0);
    }
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    int bad = 0;
    for (int j = 0; j < N; j++) {
        char k[16];
        snprintf(k, sizeof k, "day-%d", j);
        int64_t got[2], w0 = 6 * (int64_t)j, w1 = -12 * (int64_t)j;
        if (j % 2 == 0 && j % 3 == 0) {
            w0 += 1000;
            w1 -= 1000;
        }
        int r = load_row(txn, (j % 2) ? e.b : e.a, k, got, 2);
        if ((r != 0 || got[0] != w0 || got[1] != w1) && bad++ < 3)
            CHECK_MSG(0, "%s: expected %lld %lld", k, (long long)w0, (long long)w1);
    }
    CHECK_INT(0, bad);
    /* The odd days stored in a: untouched there. */
    int64_t got[2];
    CHECK_INT(0, load_row(txn, e.a, "day-3", got, 2));
    CHECK(got[0] == 1000 && got[1] == -1000);
    CHECK_INT(N / 2 + (N / 3 + 1) / 2, entries(txn, e.a));
    CHECK_INT(N / 2, entries(txn, e.b));
    mdb_txn_abort(txn);
    rowagg_free(ra);
    env_close(&e);
}

int main(void)
{
    RUN(test_sums_per_key);
    RUN(test_merge_into_stored);
    RUN(test_overflow_bound);
    RUN(test_overflow_other_cases);
    RUN(test_refused_adds);
    RUN(test_damaged_and_lmdb_errors);
    RUN(test_many_rows);
    return test_summary();
}
