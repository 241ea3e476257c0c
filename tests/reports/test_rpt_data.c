/*
 * test_rpt_data.c — gathering a report's figures (reports/rpt_data.c) from
 * the hand-made book of rpt_test.h, whose every figure is worked out by
 * hand there; the trend periods; number formatting; bad requests.
 */
#include "rpt_int.h"
#include "rpt_test.h"

static char dir[64];
static store_t *st;

static rpt_request_t req(rpt_kind_t k, int32_t from, int32_t to)
{
    rpt_request_t rq = {
        .kind = k, .from_day = from, .to_day = to, .generated_s = T(2025, 12, 1, 6)};
    return rq;
}

static void test_gather_book(void)
{
    kpi_arena_t *arena = NULL;
    REQUIRE(kpi_arena_new(RPT_ARENA_CAP, &arena) == ERR_OK);
    rpt_request_t rq = req(RPT_SUMMARY, D(2025, 11, 1), D(2025, 11, 30));
    rpt_data_t d;
    err_msg_t m = {{0}};
    err_t e = rpt_data_gather(st, &rq, arena, &d, &m);
    CHECK_MSG(e == ERR_OK, "%s", m.text);
    CHECK_STR("USD", d.currency);
    CHECK_INT(2, d.digits);
    CHECK_STR("UTC", d.tz);
    CHECK_INT(9500, d.sla_goal_bp);
    CHECK(d.unit == NULL);
    /* aging as of 2025-11-30 */
    const kpi_aging_t *ag = &d.aging.all;
    CHECK_INT(6, ag->n_buckets);
    CHECK_INT(415000, ag->total_amount);
    CHECK_INT(4, ag->total_count);
    static const int64_t want[6] = {50000, 15000, 100000, 0, 0, 250000};
    for (int i = 0; i < 6; i++)
        CHECK_MSG(ag->buckets[i].amount == want[i], "bucket %d: expected %lld, got %lld", i,
                  (long long)want[i], (long long)ag->buckets[i].amount);
    CHECK_INT(4000, d.aging.unapplied_cash);
    /* customers by overdue amount; Société Générale has nothing overdue */
    CHECK_INT(2, d.n_customers);
    if (d.n_customers == 2) {
        CHECK_STR(CJK_NAME, d.customers[0].name);
        CHECK_INT(265000, d.customers[0].overdue);
        CHECK_STR("M\xC3\xBCller GmbH", d.customers[1].name);
        CHECK_INT(100000, d.customers[1].overdue);
    }
    CHECK_INT(365000, d.overdue_total);
    /* by unit: us has nothing open */
    CHECK_INT(2, d.by_unit.n_groups);
    /* DSO of November: 4150.00 / 500.00 x 30 days */
    char b[RPT_NUM_BUF];
    CHECK_STR("249.00", rpt_fmt_ratio(&d.dso[STORE_Q_DSO_STANDARD].value, b));
    /* FTQ: nothing first reviewed in November; September 1/1, October 0/1 */
    CHECK_STR("n/a (no items)", rpt_fmt_ratio(&d.ftq[0].value, b));
    CHECK_INT(12, d.n_trend);
    CHECK_INT(D(2024, 12, 1), d.trend[0].start);
    CHECK_INT(D(2025, 11, 30), d.trend[11].end);
    CHECK_STR("100.00", rpt_fmt_ratio(&d.t_ftq[0][9].value, b));
    CHECK_STR("0.00", rpt_fmt_ratio(&d.t_ftq[0][10].value, b));
    /* bills: B-1 processed clean in November */
    CHECK_STR("100.00", rpt_fmt_ratio(&d.ftq[1].value, b));
    /* SLAs: the five built-ins; ap-processing met once in November */
    CHECK_INT(5, d.n_slas);
    if (d.n_slas == 5) {
        CHECK_STR("ap-processing", d.slas[0].def->name);
        CHECK_STR("100.00", rpt_fmt_ratio(&d.slas[0].period.value, b));
        CHECK_INT(1, store_q_comp(&d.slas[0].period, "completed")->v);
    }
    kpi_arena_free(arena);
}

static void test_gather_unit(void)
{
    kpi_arena_t *arena = NULL;
    REQUIRE(kpi_arena_new(RPT_ARENA_CAP, &arena) == ERR_OK);
    rpt_request_t rq = req(RPT_AGING, D(2025, 11, 1), D(2025, 11, 30));
    rq.business_unit = "emea";
    rpt_data_t d;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, rpt_data_gather(st, &rq, arena, &d, &m));
    CHECK_STR("emea", d.unit);
    CHECK_INT(150000, d.aging.all.total_amount);
    CHECK_INT(1, d.n_customers);
    CHECK_INT(0, d.by_unit.n_groups); /* only for whole-book reports */
    kpi_arena_reset(arena);
    /* Other edges: 10 and 100 days -> current, 1-10, 11-100, 101+ */
    static const int32_t edges[] = {10, 100};
    rq.business_unit = NULL;
    rq.aging_edges = edges;
    rq.n_aging_edges = 2;
    rq.sla_goal_bp = 9000;
    CHECK_ERR(ERR_OK, rpt_data_gather(st, &rq, arena, &d, &m));
    CHECK_INT(4, d.aging.all.n_buckets);
    CHECK_INT(115000, d.aging.all.buckets[2].amount); /* 11 and 60 days */
    CHECK_INT(9000, d.sla_goal_bp);
    kpi_arena_reset(arena);
    /* A currency with no book: zeros, not an error. */
    memcpy(rq.currency, "EUR", 4);
    CHECK_ERR(ERR_OK, rpt_data_gather(st, &rq, arena, &d, &m));
    CHECK_STR("EUR", d.currency);
    CHECK_INT(0, d.aging.all.total_amount);
    kpi_arena_free(arena);
}

typedef struct bad {
    const char *label;
    rpt_request_t rq;
    err_t e;
    const char *msg;
} bad_t;

static void test_gather_bad(void)
{
    kpi_arena_t *arena = NULL;
    REQUIRE(kpi_arena_new(RPT_ARENA_CAP, &arena) == ERR_OK);
    bad_t rows[] = {
        {"unknown unit", req(RPT_AGING, D(2025, 11, 1), D(2025, 11, 30)), ERR_NOT_FOUND,
         "unknown business unit 'nope' (no receivables in USD)"},
        {"empty unit", req(RPT_AGING, D(2025, 11, 1), D(2025, 11, 30)), ERR_BAD_PARAM,
         "business unit must be 1 to 256 bytes"},
        {"from after to", req(RPT_DSO, D(2025, 11, 2), D(2025, 11, 1)), ERR_BAD_PARAM,
         "the report period starts after it ends"},
        {"bad currency", req(RPT_DSO, D(2025, 11, 1), D(2025, 11, 30)), ERR_BAD_PARAM,
         "currency 'XYZ' is not an ISO 4217 code"},
        {"bad kind", req((rpt_kind_t)RPT_KIND_COUNT, D(2025, 11, 1), D(2025, 11, 30)),
         ERR_BAD_PARAM, "unknown report kind 8"},
        {"too long", req(RPT_DSO, D(1900, 1, 1), D(2025, 11, 30)), ERR_BAD_PARAM,
         "the date range spans more than 40000 days"},
        {"not started", req(RPT_SLA, D(2026, 1, 1), D(2026, 1, 31)), ERR_BAD_PARAM,
         "the period starts on 2026-01-01, after today (2025-12-01)"},
    };
    rows[0].rq.business_unit = "nope";
    rows[1].rq.business_unit = "";
    memcpy(rows[3].rq.currency, "XYZ", 4);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rpt_data_t d;
        err_msg_t m = {{0}};
        err_t e = rpt_data_gather(st, &rows[i].rq, arena, &d, &m);
        CHECK_MSG(e == rows[i].e, "%s: expected %s, got %s", rows[i].label, err_code(rows[i].e),
                  err_code(e));
        CHECK_STR(rows[i].msg, m.text);
        kpi_arena_reset(arena);
    }
    kpi_arena_free(arena);
}

/* A period not over when generated (December, generated on 1 December):
   figures to the generation day, marked partial, the trend's last month cut
   to that day; a period that ended is never partial. */
static void test_gather_to_date(void)
{
    kpi_arena_t *arena = NULL;
    REQUIRE(kpi_arena_new(RPT_ARENA_CAP, &arena) == ERR_OK);
    rpt_request_t rq = req(RPT_SUMMARY, D(2025, 12, 1), D(2025, 12, 31));
    rpt_data_t d;
    err_msg_t m = {{0}};
    err_t e = rpt_data_gather(st, &rq, arena, &d, &m);
    CHECK_MSG(e == ERR_OK, "%s", m.text);
    CHECK(d.partial);
    CHECK_INT(D(2025, 12, 1), d.from);
    CHECK_INT(D(2025, 12, 1), d.to);
    CHECK_INT(D(2025, 12, 31), d.period_to);
    CHECK_INT(12, d.n_trend);
    CHECK_INT(D(2025, 12, 1), d.trend[11].start);
    CHECK_INT(D(2025, 12, 1), d.trend[11].end);
    /* DSO over the one day: AR at its end / its sales x 1 day, not x 31 */
    CHECK_INT(1, store_q_comp(&d.dso[STORE_Q_DSO_STANDARD], "days")->v);
    kpi_arena_reset(arena);

    rq = req(RPT_SUMMARY, D(2025, 11, 1), D(2025, 11, 30));
    e = rpt_data_gather(st, &rq, arena, &d, &m);
    CHECK_MSG(e == ERR_OK, "%s", m.text);
    CHECK(!d.partial);
    CHECK_INT(D(2025, 11, 30), d.to);
    CHECK_INT(D(2025, 11, 30), d.period_to);
    kpi_arena_free(arena);
}

static void test_generation_day(void)
{
    rpt_request_t rq = req(RPT_SLA, D(2025, 11, 1), D(2025, 11, 30));
    CHECK_INT(D(2025, 12, 1), rpt_generation_day(&rq)); /* no zone: UTC */
    rq.tz = test_utc;
    CHECK_INT(D(2025, 12, 1), rpt_generation_day(&rq));
    rq.tz = NULL;
    rq.generated_s = -1; /* the second before 1970-01-01 is on 1969-12-31 */
    CHECK_INT(-1, rpt_generation_day(&rq));
}

static void test_trend_periods(void)
{
    kpi_period_t p[RPT_TREND_MAX];
    int32_t to = D(2025, 11, 30);
    /* a month: the 12 months ending at its end */
    CHECK_INT(12, rpt_trend_periods(D(2025, 11, 1), to, p));
    CHECK_INT(D(2024, 12, 1), p[0].start);
    /* a week ending mid-month: the last period is the month to date */
    CHECK_INT(12, rpt_trend_periods(D(2025, 11, 17), D(2025, 11, 23), p));
    CHECK_INT(D(2025, 11, 23), p[11].end);
    CHECK_INT(D(2025, 11, 1), p[11].start);
    /* two years: every month of them */
    CHECK_INT(24, rpt_trend_periods(D(2023, 12, 1), to, p));
    /* starting mid-month: the first period is clipped */
    CHECK_INT(23, rpt_trend_periods(D(2024, 1, 15), to, p));
    CHECK_INT(D(2024, 1, 15), p[0].start);
    CHECK_INT(D(2024, 1, 31), p[0].end);
    /* ten years: the latest 36 months */
    CHECK_INT(36, rpt_trend_periods(D(2015, 1, 1), to, p));
    CHECK_INT(D(2022, 12, 1), p[0].start);
    for (size_t i = 1; i < 36; i++)
        CHECK(p[i].start == p[i - 1].end + 1);
}

static void test_format(void)
{
    char b[RPT_NUM_BUF];
    kpi_ratio_t r = {45275, 1000, KPI_UNDEF_NONE}; /* 45.275 rounds half away from zero */
    CHECK_STR("45.28", rpt_fmt_ratio(&r, b));
    kpi_ratio_t neg = {-5, 1000, KPI_UNDEF_NONE};
    CHECK_STR("-0.01", rpt_fmt_ratio(&neg, b));
    kpi_ratio_t zero = {0, 7, KPI_UNDEF_NONE};
    CHECK_STR("0.00", rpt_fmt_ratio(&zero, b));
    kpi_ratio_t ns = {0, 0, KPI_UNDEF_NO_SALES};
    CHECK_STR("n/a (no sales)", rpt_fmt_ratio(&ns, b));
    kpi_ratio_t hist = {0, 0, KPI_UNDEF_AR_EXCEEDS_HISTORY};
    CHECK_STR("n/a (ar exceeds sales history)", rpt_fmt_ratio(&hist, b));
    kpi_ratio_t big = {(__int128)INT64_MAX * 1000, 1, KPI_UNDEF_NONE};
    CHECK_STR("n/a (overflow)", rpt_fmt_ratio(&big, b));
    /* amounts are grouped by thousands for print */
    CHECK_STR("1,250.00", rpt_fmt_money(125000, 2, b));
    CHECK_STR("3,444,184.57", rpt_fmt_money(344418457, 2, b));
    CHECK_STR("-3,444,184.57", rpt_fmt_money(-344418457, 2, b));
    CHECK_STR("999.99", rpt_fmt_money(99999, 2, b));
    CHECK_STR("100,000.00", rpt_fmt_money(10000000, 2, b));
    CHECK_STR("-100,000", rpt_fmt_money(-100000, 0, b));
    CHECK_STR("0.00", rpt_fmt_money(0, 2, b));
    CHECK_STR("-0.05", rpt_fmt_money(-5, 2, b));
    CHECK_STR("100", rpt_fmt_money(100, 0, b));
    CHECK_STR("1.234", rpt_fmt_money(1234, 3, b));
    CHECK_STR("1,234.567", rpt_fmt_money(1234567, 3, b));
    CHECK_STR("-92,233,720,368,547,758.08", rpt_fmt_money(INT64_MIN, 2, b));
    CHECK_STR("92,233,720,368,547,758.07", rpt_fmt_money(INT64_MAX, 2, b));
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    tmpdir(dir);
    st = open_store(dir, 0);
    rpt_test_book(st, true);
    RUN(test_gather_book);
    RUN(test_gather_unit);
    RUN(test_gather_bad);
    RUN(test_gather_to_date);
    RUN(test_generation_day);
    RUN(test_trend_periods);
    RUN(test_format);
    store_close(st);
    rmdir_all(dir);
    kpi_tz_free(test_utc);
    return test_summary();
}
