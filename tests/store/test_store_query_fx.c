/*
 * test_store_query_fx.c — consolidated aging (store_query_fx.c) on the
 * worked example of docs/kpi.md, "Reporting currency" (base USD, as of
 * 2025-03-31, due-date buckets 30/60/90/120):
 *
 *   INV-U1 ACME us   USD 1,000.00 issued 03-01 due 03-31   current
 *   INV-E1 ACME emea EUR   500.00 issued 02-01 due 03-03   1-30
 *   INV-G1 Brit emea GBP   200.00 issued 12-01 due 12-31   61-90
 *   EUR 1.0825 (03-28), GBP 1.2931 (03-31)
 *   -> USD 1,000.00 + 541.25 + 258.62 = 1,799.87
 */
#include "store_query_fx.h"

#include "store_test.h"

static const int32_t EDGES[] = {30, 60, 90, 120};

static store_t *book(const char *dir, bool with_gbp_rate)
{
    store_t *s = open_store(dir, 0);
    kpi_event_t e[6];
    size_t n = 0;
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "i1", T(2025, 3, 1, 9), "INV-U1", NULL, 100000, "ACME");
    e[n++].business_unit = "us";
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "i2", T(2025, 2, 1, 9), "INV-E1", NULL, 50000, "ACME");
    memcpy(e[n].currency, "EUR", 4);
    e[n++].business_unit = "emea";
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "i3", T(2024, 12, 1, 9), "INV-G1", NULL, 20000, "Brit");
    memcpy(e[n].currency, "GBP", 4);
    e[n++].business_unit = "emea";
    e[n++] = fx_ev("r1", D(2025, 3, 28), "EUR", 10825000000LL);
    if (with_gbp_rate)
        e[n++] = fx_ev("r2", D(2025, 3, 31), "GBP", 12931000000LL);
    store_item_result_t res[6];
    store_batch_opts_t bo = {0};
    (void)put(s, e, n, &bo, res);
    return s;
}

static store_q_aging_req_t req(int32_t as_of, store_q_group_t g)
{
    store_q_aging_req_t rq = {
        .as_of = as_of, .basis = STORE_BASIS_DUE, .edges = EDGES, .n_edges = 4, .group_by = g};
    return rq;
}

/* A store being read: its directory, a snapshot and an arena. */
typedef struct fix {
    char dir[64];
    store_t *s;
    store_snap_t *sn;
    kpi_arena_t *a;
} fix_t;

static void fix_read(fix_t *f)
{
    REQUIRE(store_snap_begin(f->s, &f->sn) == ERR_OK);
    REQUIRE(kpi_arena_new(16 << 20, &f->a) == ERR_OK);
}

static void fix_book(fix_t *f, bool with_gbp_rate)
{
    tmpdir(f->dir);
    f->s = book(f->dir, with_gbp_rate);
    fix_read(f);
}

static void fix_end(fix_t *f)
{
    kpi_arena_free(f->a);
    store_snap_end(f->sn);
    store_close(f->s);
    rmdir_all(f->dir);
}

static void test_consolidated(void)
{
    fix_t f;
    fix_book(&f, true);
    store_snap_t *sn = f.sn;
    kpi_arena_t *a = f.a;
    store_scope_t sc = {"", NULL, NULL};
    store_q_fx_t fx = {"USD", NULL, 7, false};
    store_q_aging_req_t rq = req(D(2025, 3, 31), STORE_Q_GROUP_CUSTOMER);
    store_q_aging_fx_t out;
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_OK, store_q_aging_fx(sn, &sc, &rq, &fx, a, &out, &msg));
    CHECK(out.conv.all.total_amount == 179987);
    CHECK(out.conv.all.total_count == 3);
    CHECK(out.conv.all.buckets[0].amount == 100000); /* current */
    CHECK(out.conv.all.buckets[1].amount == 54125);  /* 1-30: EUR 500 x 1.0825 */
    CHECK(out.conv.all.buckets[3].amount == 25862);  /* 61-90: GBP 200 x 1.2931 */
    REQUIRE(out.n_books == 3);
    CHECK_STR("EUR", out.books[0].currency);
    CHECK(out.books[0].aging.total_amount == 50000); /* the book's own amount */
    CHECK(out.books[0].rate_day == D(2025, 3, 28) && !out.books[0].stale);
    CHECK_STR("USD", out.books[2].currency);
    CHECK(out.books[2].rate == 10000000000LL && out.books[2].rate_day == INT32_MIN);
    /* ACME's USD and EUR invoices: one group, after conversion. */
    REQUIRE(out.conv.n_groups == 2);
    CHECK_STR("ACME", out.conv.keys[0]);
    CHECK(out.conv.groups[0].total_amount == 154125 && out.conv.groups[0].total_count == 2);
    CHECK_STR("Brit", out.conv.keys[1]);
    CHECK(out.conv.groups[1].total_amount == 25862);

    /* Into EUR: 923.79 + 500.00 + 238.91. */
    memcpy(fx.target, "EUR", 4);
    rq.group_by = STORE_Q_GROUP_NONE;
    CHECK_ERR(ERR_OK, store_q_aging_fx(sn, &sc, &rq, &fx, a, &out, &msg));
    CHECK(out.conv.all.total_amount == 166270);
    CHECK(out.target_rate == 10825000000LL);

    /* One book only, and a unit. */
    memcpy(fx.target, "USD", 4);
    fx.only = "GBP";
    CHECK_ERR(ERR_OK, store_q_aging_fx(sn, &sc, &rq, &fx, a, &out, &msg));
    CHECK(out.conv.all.total_amount == 25862 && out.n_books == 1);
    fx.only = NULL;
    sc.business_unit = "emea";
    CHECK_ERR(ERR_OK, store_q_aging_fx(sn, &sc, &rq, &fx, a, &out, &msg));
    CHECK(out.conv.all.total_amount == 79987 && out.n_books == 2);
    sc.business_unit = "nowhere";
    CHECK_ERR(ERR_NOT_FOUND, store_q_aging_fx(sn, &sc, &rq, &fx, a, &out, &msg));
    sc.business_unit = NULL;

    /* Stale: EUR's rate is 9 days old as of 04-06 (limit 7): marked, or
       refused. */
    rq.as_of = D(2025, 4, 6);
    CHECK_ERR(ERR_OK, store_q_aging_fx(sn, &sc, &rq, &fx, a, &out, &msg));
    CHECK(out.books[0].stale && !out.books[1].stale);
    fx.refuse_stale = true;
    CHECK_ERR(ERR_NO_RATE, store_q_aging_fx(sn, &sc, &rq, &fx, a, &out, &msg));
    CHECK(strstr(msg.text, "the latest EUR rate on or before 2025-04-06 is from 2025-03-28") !=
          NULL);
    /* store_q_rate alone. */
    int64_t r;
    int32_t rd;
    bool stale;
    CHECK_ERR(ERR_OK, store_q_rate(sn, &fx, "USD", D(2025, 4, 6), &r, &rd, &stale, &msg));
    CHECK(r == 10000000000LL && !stale);
    CHECK_ERR(ERR_NO_RATE, store_q_rate(sn, &fx, "CHF", D(2025, 4, 6), &r, &rd, &stale, &msg));
    CHECK(strstr(msg.text, "no exchange rate for CHF on or before 2025-04-06") != NULL);
    fx.stale_days = -1; /* never stale */
    CHECK_ERR(ERR_OK, store_q_rate(sn, &fx, "EUR", D(2030, 1, 1), &r, &rd, &stale, &msg));
    CHECK(!stale && rd == D(2025, 3, 28));

    fix_end(&f);
}

static void test_missing_rate(void)
{
    fix_t f;
    fix_book(&f, false);
    store_snap_t *sn = f.sn;
    kpi_arena_t *a = f.a;
    store_scope_t sc = {"", NULL, NULL};
    store_q_fx_t fx = {"USD", NULL, 7, false};
    store_q_aging_req_t rq = req(D(2025, 3, 31), STORE_Q_GROUP_UNIT);
    store_q_aging_fx_t out;
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_NO_RATE, store_q_aging_fx(sn, &sc, &rq, &fx, a, &out, &msg));
    CHECK(strstr(msg.text, "no exchange rate for GBP on or before 2025-03-31") != NULL);
    /* Before any invoice: nothing to convert, so no rate is needed. */
    rq.as_of = D(2024, 11, 30);
    CHECK_ERR(ERR_OK, store_q_aging_fx(sn, &sc, &rq, &fx, a, &out, &msg));
    CHECK(out.n_books == 0 && out.conv.all.total_amount == 0);
    fix_end(&f);
}

/* The series example of docs/kpi.md: EUR 500.00 issued 02-01 (rate 1.04 of
   01-31), 200.00 applied 03-10 (1.06), closing 03-31 at 1.0825; USD 1,000.00
   issued 03-01. March: opening 520.00 + 1,000.00 - 212.00 + fx 16.75 =
   closing 1,324.75. */
static void test_series(void)
{
    fix_t f;
    tmpdir(f.dir);
    store_t *s = f.s = open_store(f.dir, 0);
    kpi_event_t e[8];
    size_t n = 0;
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "i1", T(2025, 3, 1, 9), "INV-U1", NULL, 100000, "ACME");
    e[n++].business_unit = "us";
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "i2", T(2025, 2, 1, 9), "INV-E1", NULL, 50000, "ACME");
    memcpy(e[n].currency, "EUR", 4);
    e[n++].business_unit = "emea";
    e[n] = ev(KPI_EV_PAYMENT_RECEIVED, "p1", T(2025, 3, 10, 9), "P1", NULL, 20000, "ACME");
    memcpy(e[n].currency, "EUR", 4);
    e[n++].business_unit = "emea";
    e[n++] = ev(KPI_EV_PAYMENT_APPLIED, "p2", T(2025, 3, 10, 10), "P1", "INV-E1", 20000, NULL);
    e[n++] = fx_ev("r0", D(2025, 1, 31), "EUR", 10400000000LL);
    e[n++] = fx_ev("r1", D(2025, 3, 10), "EUR", 10600000000LL);
    e[n++] = fx_ev("r2", D(2025, 3, 28), "EUR", 10825000000LL);
    store_item_result_t res[8];
    store_batch_opts_t bo = {0};
    (void)put(s, e, n, &bo, res);
    fix_read(&f);
    store_snap_t *sn = f.sn;
    kpi_arena_t *a = f.a;
    kpi_period_t per[2] = {{D(2025, 2, 1), D(2025, 2, 28)}, {D(2025, 3, 1), D(2025, 3, 31)}};
    store_q_series_req_t rq = {
        .what = STORE_Q_ROLLFORWARD, .iv = KPI_IV_MONTH, .periods = per, .n_periods = 2};
    store_scope_t sc = {"", NULL, NULL};
    store_q_fx_t fx = {"USD", NULL, 7, false};
    store_q_point_t pts[2];
    store_q_series_fx_t info;
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_OK, store_q_series_fx(sn, &sc, &rq, &fx, a, pts, &info, &msg));
    CHECK(store_q_comp(&pts[0], "sales")->v == 52000);
    CHECK(store_q_comp(&pts[0], "closing")->v == 52000);
    CHECK(store_q_comp(&pts[1], "opening")->v == 52000);
    CHECK(store_q_comp(&pts[1], "cash_applied")->v == 21200);
    CHECK(store_q_comp(&pts[1], "fx_difference")->v == 1675);
    CHECK(store_q_comp(&pts[1], "closing")->v == 132475);
    CHECK(store_q_comp(&pts[1], "difference")->v == 0);
    REQUIRE(info.n_books == 2);
    CHECK_STR("EUR", info.books[0].currency);
    CHECK(info.books[0].rate == 10825000000LL && info.books[0].rate_day == D(2025, 3, 28));
    /* DSO of March: 1,324.75 / 1,000.00 x 31 days. */
    rq.what = STORE_Q_DSO;
    rq.method = STORE_Q_DSO_STANDARD;
    CHECK_ERR(ERR_OK, store_q_series_fx(sn, &sc, &rq, &fx, a, pts, &info, &msg));
    CHECK(store_q_comp(&pts[1], "ar")->v == 132475 && store_q_comp(&pts[1], "sales")->v == 100000);
    /* SLA and FTQ are not converted. */
    rq.what = STORE_Q_SLA;
    CHECK_ERR(ERR_BAD_PARAM, store_q_series_fx(sn, &sc, &rq, &fx, a, pts, &info, &msg));
    /* The rates day by day, as the series read them. */
    int64_t r[5];
    int32_t rd[5];
    CHECK_ERR(ERR_OK, store_fx_rates(sn, "EUR", D(2025, 1, 30), 5, r, rd));
    CHECK(r[0] == 0 && rd[0] == INT32_MIN); /* 01-30: none yet */
    CHECK(r[1] == 10400000000LL && rd[1] == D(2025, 1, 31));
    CHECK(r[4] == 10400000000LL && rd[4] == D(2025, 1, 31)); /* 02-03 */
    CHECK_ERR(ERR_OK, store_fx_rates(sn, "EUR", D(2025, 3, 9), 3, r, rd));
    CHECK(r[0] == 10400000000LL && r[1] == 10600000000LL && r[2] == 10600000000LL);
    fix_end(&f);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    RUN(test_consolidated);
    RUN(test_missing_rate);
    RUN(test_series);
    kpi_tz_free(test_utc);
    return test_summary();
}
