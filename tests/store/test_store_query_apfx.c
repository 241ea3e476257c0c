/*
 * test_store_query_apfx.c — consolidated payables (store_query_apfx.c) on
 * the worked example of docs/kpi.md, "Consolidated payables" (base USD, as
 * of Monday 2025-03-31, due-date buckets 30/60/90/120), worked by hand:
 *
 *   BU1 Acme us   USD 1,000.00 received 03-01 due 04-10     current
 *   BE1 Acme emea EUR   300.07 received 02-01 due 03-03     1-30 (28 days)
 *   BE2 Acme emea EUR   100.08 received 03-20 due 04-02     current
 *   BG1 Brit emea GBP   200.00 received 2024-12-01 due 12-31  61-90 (90 days)
 *   EUR 1.0825 and GBP 1.2931 dated 03-28, GBP 1.30 dated 04-01
 *
 *   EUR: 400.15 x 1.0825 = 433.162375 -> 433.16, shared as 300.07 ->
 *        324.825775 and 100.08 -> 108.3366: rounded down 324.82 + 108.33 =
 *        433.15, the missing cent to the larger remainder: 324.82 + 108.34
 *        (each rounded on its own, 324.83 + 108.34 = 433.17: a cent more
 *        than the book's AP converted)
 *   GBP: 200.00 x 1.2931 = 258.62
 *   USD: current 1,000.00 + 108.34 = 1,108.34; 1-30 324.82; 61-90 258.62;
 *        total 1,691.78 = 1,000.00 + 433.16 + 258.62 = DPO's AP
 */
#include "store_query_apfx.h"

#include "store_test.h"

static const int32_t EDGES[] = {30, 60, 90, 120};

static kpi_event_t bill(const char *id, int64_t time, const char *no, int64_t amount,
                        const char *vendor, const char *unit, const char *cur, int32_t due)
{
    kpi_event_t e = ev(KPI_EV_BILL_RECEIVED, id, time, no, NULL, amount, vendor);
    e.business_unit = unit;
    if (cur != NULL)
        memcpy(e.currency, cur, 4);
    e.flags |= KPI_EVF_DUE;
    e.due_day = due;
    return e;
}

static store_t *book(const char *dir, bool with_gbp_rates)
{
    store_t *s = open_store(dir, 0);
    kpi_event_t e[7];
    size_t n = 0;
    e[n++] = bill("b1", T(2025, 3, 1, 9), "BU1", 100000, "Acme", "us", NULL, D(2025, 4, 10));
    e[n++] = bill("b2", T(2025, 2, 1, 9), "BE1", 30007, "Acme", "emea", "EUR", D(2025, 3, 3));
    e[n++] = bill("b3", T(2025, 3, 20, 9), "BE2", 10008, "Acme", "emea", "EUR", D(2025, 4, 2));
    e[n++] = bill("b4", T(2024, 12, 1, 9), "BG1", 20000, "Brit", "emea", "GBP", D(2024, 12, 31));
    e[n++] = fx_ev("r1", D(2025, 3, 28), "EUR", 10825000000LL);
    if (with_gbp_rates) {
        e[n++] = fx_ev("r2", D(2025, 3, 28), "GBP", 12931000000LL);
        e[n++] = fx_ev("r3", D(2025, 4, 1), "GBP", 13000000000LL);
    }
    store_item_result_t res[7];
    store_batch_opts_t bo = {0};
    (void)put(s, e, n, &bo, res);
    return s;
}

typedef struct fix {
    char dir[64];
    store_t *s;
    store_snap_t *sn;
    kpi_arena_t *a;
} fix_t;

static void fix_book(fix_t *f, bool with_gbp_rates)
{
    tmpdir(f->dir);
    f->s = book(f->dir, with_gbp_rates);
    REQUIRE(store_snap_begin(f->s, &f->sn) == ERR_OK);
    REQUIRE(kpi_arena_new(16 << 20, &f->a) == ERR_OK);
}

static void fix_end(fix_t *f)
{
    kpi_arena_free(f->a);
    store_snap_end(f->sn);
    store_close(f->s);
    rmdir_all(f->dir);
}

static store_q_ap_aging_req_t req(int32_t as_of, store_q_ap_group_t g)
{
    store_q_ap_aging_req_t rq = {as_of, STORE_BASIS_DUE, EDGES, 4, g};
    return rq;
}

static void test_aging(void)
{
    fix_t f;
    fix_book(&f, true);
    store_scope_t sc = {"", NULL, NULL};
    store_q_fx_t fx = {"USD", NULL, 7, false};
    store_q_ap_aging_req_t rq = req(D(2025, 3, 31), STORE_Q_AP_GROUP_VENDOR);
    store_q_ap_aging_fx_t out;
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    const kpi_aging_t *all = &out.conv.all;
    CHECK(all->buckets[0].amount == 110834 && all->buckets[0].count == 2); /* current */
    CHECK(all->buckets[1].amount == 32482 && all->buckets[1].count == 1);  /* 1-30 */
    CHECK(all->buckets[2].amount == 0 && all->buckets[4].amount == 0 &&
          all->buckets[5].amount == 0);
    CHECK(all->buckets[3].amount == 25862 && all->buckets[3].count == 1); /* 61-90 */
    CHECK(all->total_amount == 169178 && all->total_count == 4);
    REQUIRE(out.n_books == 3);
    CHECK_STR("EUR", out.books[0].currency);
    CHECK(out.books[0].rate == 10825000000LL && out.books[0].rate_day == D(2025, 3, 28));
    CHECK(out.books[0].aging.total_amount == 40015 && out.books[0].aging.total_count == 2);
    CHECK(out.books[0].aging.buckets[1].amount == 30007); /* its own, unconverted */
    CHECK_STR("GBP", out.books[1].currency);
    CHECK(out.books[1].rate == 12931000000LL && !out.books[1].stale);
    CHECK_STR("USD", out.books[2].currency);
    CHECK(out.books[2].rate_day == INT32_MIN);
    /* Acme's USD and EUR bills: one group, 1,000.00 + 433.16. */
    REQUIRE(out.conv.n_groups == 2);
    CHECK_STR("Acme", out.conv.keys[0]);
    CHECK(out.conv.groups[0].total_amount == 143316 && out.conv.groups[0].total_count == 3);
    CHECK(out.conv.groups[0].buckets[0].amount == 110834);
    CHECK(out.conv.groups[0].buckets[1].amount == 32482);
    CHECK_STR("Brit", out.conv.keys[1]);
    CHECK(out.conv.groups[1].total_amount == 25862);

    /* By unit: emea 433.16 + 258.62, us 1,000.00. */
    rq.group_by = STORE_Q_AP_GROUP_UNIT;
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    REQUIRE(out.conv.n_groups == 2);
    CHECK_STR("emea", out.conv.keys[0]);
    CHECK(out.conv.groups[0].total_amount == 69178);
    CHECK(out.conv.groups[1].total_amount == 100000);

    /* Into EUR: 1,000.00 / 1.0825 = 923.787.. -> 923.79; 400.15; 200.00 x
       1.2931 / 1.0825 = 238.909.. -> 238.91; total 1,562.85. */
    memcpy(fx.target, "EUR", 4);
    rq.group_by = STORE_Q_AP_GROUP_NONE;
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(out.conv.all.buckets[0].amount == 102387); /* 923.79 + 100.08 */
    CHECK(out.conv.all.buckets[1].amount == 30007);
    CHECK(out.conv.all.buckets[3].amount == 23891);
    CHECK(out.conv.all.total_amount == 156285 && out.target_rate == 10825000000LL);
    memcpy(fx.target, "USD", 4);

    /* One book, converted; one vendor; one unit; nobody. */
    fx.only = "GBP";
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(out.conv.all.total_amount == 25862 && out.n_books == 1);
    fx.only = NULL;
    sc.party = "Acme";
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(out.conv.all.total_amount == 143316 && out.n_books == 2);
    sc.party = "Nobody";
    CHECK_ERR(ERR_NOT_FOUND, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    sc.party = NULL;
    sc.business_unit = "us";
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(out.conv.all.total_amount == 100000 && out.n_books == 1);
    sc.business_unit = "nowhere";
    CHECK_ERR(ERR_NOT_FOUND, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    sc.business_unit = NULL;

    /* As of 04-01, GBP's rate of that day: 200.00 x 1.30 = 260.00. */
    rq.as_of = D(2025, 4, 1);
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(out.conv.all.total_amount == 169316);
    /* As of 04-06 EUR's rate is 9 days old (limit 7): used and marked, or
       refused; GBP's is 5 days old. */
    rq.as_of = D(2025, 4, 6);
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(out.books[0].stale && !out.books[1].stale && !out.books[2].stale);
    fx.refuse_stale = true;
    CHECK_ERR(ERR_NO_RATE, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(strstr(msg.text, "the latest EUR rate on or before 2025-04-06 is from 2025-03-28") !=
          NULL);
    fix_end(&f);
}

/* Monday 2025-03-31, two weeks: overdue BE1 (EUR 300.07) and BG1 (GBP
   200.00); week 1, 03-31..04-06: BE2 (EUR 100.08); week 2, 04-07..04-13:
   BU1 (USD 1,000.00). EUR's lines share its 433.16 as its buckets do. */
static void test_cash_requirements(void)
{
    fix_t f;
    fix_book(&f, true);
    store_scope_t sc = {"", NULL, NULL};
    store_q_fx_t fx = {"USD", NULL, 7, false};
    store_q_ap_cashreq_fx_t *c = kpi_arena_alloc(f.a, sizeof *c);
    REQUIRE(c != NULL);
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_OK, store_q_ap_cashreq_fx(f.sn, &sc, D(2025, 3, 31), 2, &fx, f.a, c, &msg));
    CHECK(c->conv.overdue.amount == 58344 && c->conv.overdue.count == 2); /* 324.82 + 258.62 */
    CHECK(c->conv.overdue.end == D(2025, 3, 30));
    REQUIRE(c->conv.n_weeks == 2);
    CHECK(c->conv.weeks[0].start == D(2025, 3, 31) && c->conv.weeks[0].end == D(2025, 4, 6));
    CHECK(c->conv.weeks[0].amount == 10834 && c->conv.weeks[0].count == 1);
    CHECK(c->conv.weeks[1].start == D(2025, 4, 7) && c->conv.weeks[1].amount == 100000);
    CHECK(c->conv.later.amount == 0 && c->conv.later.start == D(2025, 4, 14));
    CHECK(c->conv.total_amount == 169178 && c->conv.total_count == 4);
    REQUIRE(c->n_books == 3);
    CHECK_STR("EUR", c->books[0].currency);
    CHECK(c->books[0].rate_day == D(2025, 3, 28));
    CHECK(c->own[0].overdue.amount == 30007 && c->own[0].weeks[0].amount == 10008);
    CHECK(c->own[0].total_amount == 40015);
    CHECK_STR("USD", c->books[2].currency);
    CHECK(c->own[2].weeks[1].amount == 100000);
    CHECK_ERR(ERR_BAD_PARAM,
              store_q_ap_cashreq_fx(f.sn, &sc, D(2025, 3, 31), 0, &fx, f.a, c, &msg));
    sc.party = "Nobody";
    CHECK_ERR(ERR_NOT_FOUND,
              store_q_ap_cashreq_fx(f.sn, &sc, D(2025, 3, 31), 2, &fx, f.a, c, &msg));
    fix_end(&f);
}

/* The aging's total is consolidated DPO's AP of the same day: 1,691.78
   (rounding EUR's buckets each on its own would give 1,691.79). */
static void test_total_is_dpo_ap(void)
{
    fix_t f;
    fix_book(&f, true);
    store_scope_t sc = {"", NULL, NULL};
    store_q_fx_t fx = {"USD", NULL, 7, false};
    kpi_period_t per[1] = {{D(2025, 3, 31), D(2025, 3, 31)}};
    store_q_series_req_t sq = {
        .what = STORE_Q_DPO, .iv = KPI_IV_DAY, .periods = per, .n_periods = 1};
    store_q_point_t pt;
    store_q_series_fx_t info;
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_OK, store_q_series_fx(f.sn, &sc, &sq, &fx, f.a, &pt, &info, &msg));
    CHECK(store_q_comp(&pt, "ap")->v == 169178);
    store_q_ap_aging_req_t rq = req(D(2025, 3, 31), STORE_Q_AP_GROUP_NONE);
    store_q_ap_aging_fx_t out;
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(out.conv.all.total_amount == store_q_comp(&pt, "ap")->v);
    fix_end(&f);
}

static void test_missing_rate(void)
{
    fix_t f;
    fix_book(&f, false);
    store_scope_t sc = {"", NULL, NULL};
    store_q_fx_t fx = {"USD", NULL, 7, false};
    store_q_ap_aging_req_t rq = req(D(2025, 3, 31), STORE_Q_AP_GROUP_NONE);
    store_q_ap_aging_fx_t out;
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_NO_RATE, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(strstr(msg.text, "no exchange rate for GBP on or before 2025-03-31") != NULL);
    store_q_ap_cashreq_fx_t *c = kpi_arena_alloc(f.a, sizeof *c);
    REQUIRE(c != NULL);
    msg.text[0] = '\0';
    CHECK_ERR(ERR_NO_RATE, store_q_ap_cashreq_fx(f.sn, &sc, D(2025, 3, 31), 2, &fx, f.a, c, &msg));
    CHECK(strstr(msg.text, "no exchange rate for GBP on or before 2025-03-31") != NULL);
    /* The EUR and USD books alone need no GBP rate; before any bill,
       nothing needs a rate at all. */
    sc.business_unit = "us";
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(out.conv.all.total_amount == 100000);
    sc.business_unit = NULL;
    rq.as_of = D(2024, 11, 30);
    CHECK_ERR(ERR_OK, store_q_ap_aging_fx(f.sn, &sc, &rq, &fx, f.a, &out, &msg));
    CHECK(out.n_books == 0 && out.conv.all.total_amount == 0);
    fix_end(&f);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    RUN(test_aging);
    RUN(test_cash_requirements);
    RUN(test_total_is_dpo_ap);
    RUN(test_missing_rate);
    kpi_tz_free(test_utc);
    return test_summary();
}
