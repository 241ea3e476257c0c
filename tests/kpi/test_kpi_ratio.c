/*
 * test_kpi_ratio.c — the KPI formulas on worked examples checked by hand.
 * Amounts are minor units (cents); each row's comment shows the arithmetic.
 */
#include "kpi.h"
#include "test.h"

/* Expect a defined ratio that rounds to `want` at `scale` decimals. */
static void check_value(const char *row, kpi_ratio_t r, int scale, int64_t want)
{
    test_current_ = row;
    int64_t got = 0;
    CHECK_INT(KPI_UNDEF_NONE, r.undef);
    CHECK_ERR(ERR_OK, kpi_ratio_round(&r, scale, &got));
    CHECK_INT(want, got);
}

static void check_undef(const char *row, kpi_ratio_t r, kpi_undef_t want, const char *reason)
{
    test_current_ = row;
    int64_t got = 0;
    CHECK_INT(want, r.undef);
    CHECK_STR(reason, kpi_undef_reason(r.undef));
    CHECK_ERR(ERR_BAD_VALUE, kpi_ratio_round(&r, 2, &got));
}

static void test_rounding_half_away_from_zero(void)
{
    struct {
        int64_t num, den;
        int scale;
        int64_t want;
    } rows[] = {
        {1, 8, 2, 13},   /* 0.125 -> 0.13 */
        {-1, 8, 2, -13}, /* -0.125 -> -0.13 */
        {1, 3, 2, 33},   /* 0.333.. -> 0.33 */
        {2, 3, 2, 67},   /* 0.666.. -> 0.67 */
        {5, 2, 0, 3},    /* 2.5 -> 3 */
        {-5, 2, 0, -3},  /* -2.5 -> -3 */
        {7, 2, 0, 4},    /* 3.5 -> 4 */
        {0, 9, 2, 0},
        {1, -8, 2, -13}, /* sign in the denominator */
        {INT64_MAX, 1, 0, INT64_MAX},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        kpi_ratio_t r = {rows[i].num, rows[i].den, KPI_UNDEF_NONE};
        if (r.den < 0) {
            r.num = -r.num;
            r.den = -r.den;
        }
        int64_t got = 0;
        CHECK_ERR(ERR_OK, kpi_ratio_round(&r, rows[i].scale, &got));
        CHECK_MSG(got == rows[i].want, "row %zu: %lld/%lld scale %d: want %lld got %lld", i,
                  (long long)rows[i].num, (long long)rows[i].den, rows[i].scale,
                  (long long)rows[i].want, (long long)got);
    }
    kpi_ratio_t big = {INT64_MAX, 1, KPI_UNDEF_NONE};
    int64_t out = 0;
    CHECK_ERR(ERR_OVERFLOW, kpi_ratio_round(&big, 2, &out));
}

static void test_dso_standard(void)
{
    /* AR 150,000.00 on sales of 300,000.00 over 90 days: 150/300*90 = 45.00 */
    check_value("quarter", kpi_dso_standard(15000000, 30000000, 90), 2, 4500);
    /* 1,000.00 / 3,000.00 * 31 = 10.3333.. -> 10.33 */
    check_value("thirds", kpi_dso_standard(100000, 300000, 31), 2, 1033);
    /* Over-credited book: AR -100.00 on 300.00 over 30 days = -10.00 */
    check_value("negative ar", kpi_dso_standard(-10000, 30000, 30), 2, -1000);
    check_undef("no sales", kpi_dso_standard(10000, 0, 30), KPI_UNDEF_NO_SALES, "no sales");
}

static void test_best_possible_and_add(void)
{
    /* AR 600, of which 400 not yet due; sales 500 over 30 days.
       standard = 600*30/500 = 36; best = 400*30/500 = 24; ADD = 36-24 = 12. */
    check_value("standard", kpi_dso_standard(60000, 50000, 30), 2, 3600);
    check_value("best", kpi_dso_best_possible(40000, 50000, 30), 2, 2400);
    check_value("add", kpi_dso_add(60000, 40000, 50000, 30), 2, 1200);
    check_undef("add no sales", kpi_dso_add(60000, 40000, 0, 30), KPI_UNDEF_NO_SALES, "no sales");
}

static void test_countback(void)
{
    kpi_unit_sales_t q1[] = {{31, 30000}, {28, 20000}, {31, 40000}}; /* Mar, Feb, Jan */
    /* AR 500: Mar takes 300 (31 d), Feb's 200 covers the 200 left: 31 + 28 = 59.00 */
    check_value("two months exactly", kpi_dso_countback(50000, q1, 3), 2, 5900);
    /* AR 600: 31 + 28 + 100/400*31 = 59 + 7.75 = 66.75 */
    check_value("into january", kpi_dso_countback(60000, q1, 3), 2, 6675);
    /* AR equal to the last month's sales: 300/300*31 = 31.00 */
    check_value("equal to march", kpi_dso_countback(30000, q1, 3), 2, 3100);
    /* AR 0 and a negative AR: 0 days */
    check_value("nothing owed", kpi_dso_countback(0, q1, 3), 2, 0);
    check_value("credit balance", kpi_dso_countback(-500, q1, 3), 2, 0);
    /* A month with no sales adds its full 30 days: 30 + 100/200*31 = 45.50 */
    kpi_unit_sales_t gap[] = {{30, 0}, {31, 20000}};
    check_value("zero-sales month", kpi_dso_countback(10000, gap, 2), 2, 4550);
    /* AR 1,000 but only 500 of history */
    check_undef("history runs out", kpi_dso_countback(100000, q1, 2), KPI_UNDEF_AR_EXCEEDS_HISTORY,
                "ar exceeds sales history");
    check_undef("no history", kpi_dso_countback(100, NULL, 0), KPI_UNDEF_AR_EXCEEDS_HISTORY,
                "ar exceeds sales history");
}

static void test_cei_and_dpo(void)
{
    /* start 1,000 + sales 500 - end 600 = 900 collected, of 1,500 - current 400 = 1,100
       collectible: 81.8181.. -> 81.82 */
    check_value("cei", kpi_cei(100000, 50000, 60000, 40000), 2, 8182);
    /* Everything collected: (1000+0-0)/(1000+0-0) = 100.00 */
    check_value("cei all", kpi_cei(100000, 0, 0, 0), 2, 10000);
    check_undef("cei empty", kpi_cei(0, 0, 0, 0), KPI_UNDEF_NOTHING_TO_COLLECT,
                "nothing to collect");
    /* AP 20,000 on purchases 60,000 over 30 days = 10.00 */
    check_value("dpo", kpi_dpo(2000000, 6000000, 30), 2, 1000);
    check_undef("dpo none", kpi_dpo(10, 0, 30), KPI_UNDEF_NO_PURCHASES, "no purchases");
}

static void test_percent_and_rollforward(void)
{
    check_value("sla 2 of 3", kpi_percent(2, 3), 2, 6667); /* 66.666.. -> 66.67 */
    check_value("all met", kpi_percent(5, 5), 1, 1000);
    check_undef("none", kpi_percent(0, 0), KPI_UNDEF_NO_ITEMS, "no items");
    /* 1000 + 500 - 20 - 300 - 50 - 30 = 1100 */
    kpi_rollforward_t rf = {.opening = 1000,
                            .sales = 500,
                            .adjustments = -20,
                            .cash_applied = 300,
                            .credit_notes = 50,
                            .write_offs = 30};
    CHECK_ERR(ERR_OK, kpi_rollforward_close(&rf));
    CHECK_INT(1100, rf.closing);
    kpi_rollforward_t big = {.opening = INT64_MAX, .sales = 1};
    CHECK_ERR(ERR_OVERFLOW, kpi_rollforward_close(&big));
}

static void test_payment_habits(void)
{
    /* Issued day 0, due day 30. 100.00 applied day 35, 300.00 applied day 20:
       days to pay (100*35 + 300*20)/400 = 23.75;
       beyond terms (100*5 + 300*-10)/400 = -6.25 (early, on average). */
    kpi_habits_acc_t acc = {0};
    kpi_habits_add(&acc, 10000, 35, 0, 30);
    kpi_habits_add(&acc, 30000, 20, 0, 30);
    check_value("days to pay", kpi_habits_days_to_pay(&acc), 2, 2375);
    check_value("beyond terms", kpi_habits_days_beyond_terms(&acc), 2, -625);
    kpi_habits_acc_t none = {0};
    check_undef("no payments", kpi_habits_days_to_pay(&none), KPI_UNDEF_NO_ITEMS, "no items");
}

int main(void)
{
    RUN(test_rounding_half_away_from_zero);
    RUN(test_dso_standard);
    RUN(test_best_possible_and_add);
    RUN(test_countback);
    RUN(test_cei_and_dpo);
    RUN(test_percent_and_rollforward);
    RUN(test_payment_habits);
    return test_summary();
}
