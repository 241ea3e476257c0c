/*
 * test_store_fx.c — exchange rates in the store (store_fx.c): the rate of a
 * day is the latest dated on or before it, whatever the arrival order; a
 * second rate for a day replaces the first; a rebuild gives the same rates;
 * rates are not an event day of the book; a read-only store from before
 * rates existed answers "none", a writable open adds them.
 */
#include "store_kpi.h"

#include <lmdb.h>

#include "store_test.h"

typedef struct {
    char line[16][48];
    int n;
} rows_t;

static err_t row(void *ctx, const char *cur, int32_t day, int64_t rate)
{
    rows_t *r = ctx;
    char d[KPI_DATE_BUF];
    if (r->n < 16)
        snprintf(r->line[r->n++], 48, "%s %s %lld", cur, kpi_date_format(day, d), (long long)rate);
    return ERR_OK;
}

static int64_t rate_at(store_t *s, const char *cur, int32_t day, int32_t *rate_day, err_t *e)
{
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    int64_t r = -1;
    *e = store_fx_rate(sn, cur, day, &r, rate_day);
    store_snap_end(sn);
    return r;
}

static void test_rates(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    /* Out of order: 03-31 arrives before 03-28. */
    kpi_event_t e[] = {
        fx_ev("r2", D(2025, 3, 31), "EUR", 10900000000LL),
        fx_ev("r1", D(2025, 3, 28), "EUR", 10825000000LL),
        fx_ev("g1", D(2025, 3, 30), "GBP", 12931000000LL),
    };
    store_batch_opts_t bo = {0};
    store_item_result_t res[3];
    store_batch_stats_t st = put(s, e, 3, &bo, res);
    CHECK_INT(3, (int)st.accepted);
    int32_t rd = 0;
    err_t err;
    CHECK(rate_at(s, "EUR", D(2025, 3, 28), &rd, &err) == 10825000000LL);
    CHECK(err == ERR_OK && rd == D(2025, 3, 28));
    CHECK(rate_at(s, "EUR", D(2025, 3, 30), &rd, &err) == 10825000000LL);
    CHECK(rd == D(2025, 3, 28));
    CHECK(rate_at(s, "EUR", D(2025, 3, 31), &rd, &err) == 10900000000LL);
    CHECK(rate_at(s, "EUR", D(2026, 1, 1), &rd, &err) == 10900000000LL);
    CHECK(rd == D(2025, 3, 31));
    (void)rate_at(s, "EUR", D(2025, 3, 27), &rd, &err);
    CHECK_ERR(ERR_NOT_FOUND, err);
    /* Another currency's rows are never taken: GBP before its first day,
       and a currency with none at all (between EUR and GBP, and after). */
    (void)rate_at(s, "GBP", D(2025, 3, 29), &rd, &err);
    CHECK_ERR(ERR_NOT_FOUND, err);
    (void)rate_at(s, "FJD", D(2025, 4, 1), &rd, &err);
    CHECK_ERR(ERR_NOT_FOUND, err);
    (void)rate_at(s, "ZAR", D(2025, 4, 1), &rd, &err);
    CHECK_ERR(ERR_NOT_FOUND, err);
    (void)rate_at(s, "AAA", D(2025, 4, 1), &rd, &err);
    CHECK_ERR(ERR_NOT_FOUND, err);

    /* A second rate for 03-28 replaces the first. */
    kpi_event_t fix = fx_ev("r1b", D(2025, 3, 28), "EUR", 10800000000LL);
    (void)put1(s, &fix, &bo);
    CHECK(rate_at(s, "EUR", D(2025, 3, 29), &rd, &err) == 10800000000LL);

    /* Rates change no document: not an event day of the book. */
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    int32_t latest;
    CHECK_ERR(ERR_NOT_FOUND, store_latest_day(sn, &latest));
    CHECK_STR("USD", store_snap_base_currency(sn));
    rows_t r = {0};
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_OK, store_fx_each(sn, row, &r, &msg));
    store_snap_end(sn);
    REQUIRE(r.n == 3);
    CHECK_STR("EUR 2025-03-28 10800000000", r.line[0]);
    CHECK_STR("EUR 2025-03-31 10900000000", r.line[1]);
    CHECK_STR("GBP 2025-03-30 12931000000", r.line[2]);

    /* The replay in log order gives the same rates. */
    CHECK_ERR(ERR_OK, store_rebuild(s, NULL, NULL, &msg));
    CHECK(rate_at(s, "EUR", D(2025, 3, 29), &rd, &err) == 10800000000LL);
    CHECK(rate_at(s, "GBP", D(2025, 5, 1), &rd, &err) == 12931000000LL);
    store_close(s);
    rmdir_all(dir);
}

/* A store from before d_fx existed: read-only it has no rates; a writable
   open adds the database and takes rates. */
static void test_store_without_rates(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    store_close(s);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_maxdbs(env, 32) == 0);
    REQUIRE(mdb_env_open(env, dir, 0, 0600) == 0);
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "d_fx", 0, &dbi) == 0);
    REQUIRE(mdb_drop(txn, dbi, 1) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);

    store_opts_t o = opts_of(dir, test_utc, 0);
    o.read_only = true;
    err_msg_t msg = {{0}};
    REQUIRE(store_open(&o, &s, &msg) == ERR_OK);
    int32_t rd;
    err_t err;
    (void)rate_at(s, "EUR", D(2025, 1, 1), &rd, &err);
    CHECK_ERR(ERR_NOT_FOUND, err);
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    rows_t r = {0};
    CHECK_ERR(ERR_OK, store_fx_each(sn, row, &r, &msg));
    CHECK_INT(0, r.n);
    store_snap_end(sn);
    store_close(s);

    s = open_store(dir, 0);
    kpi_event_t e = fx_ev("r1", D(2025, 1, 1), "EUR", 10825000000LL);
    store_batch_opts_t bo = {0};
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &e, &bo).status);
    CHECK(rate_at(s, "EUR", D(2025, 1, 2), &rd, &err) == 10825000000LL);
    store_close(s);
    rmdir_all(dir);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    RUN(test_rates);
    RUN(test_store_without_rates);
    kpi_tz_free(test_utc);
    return test_summary();
}
