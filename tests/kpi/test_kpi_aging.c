/*
 * test_kpi_aging.c — aging buckets and SLA targets on hand-checked dates.
 * Days past due as of 2025-03-31 were counted on a calendar:
 * 2025-02-28 -> 31, 2025-01-15 -> 75, 2024-12-01 -> 120, 2024-11-30 -> 121.
 */
#include "kpi.h"
#include "kpi_date.h"
#include "test.h"

static int32_t D(int y, int m, int d)
{
    return kpi_days_from_civil(y, m, d);
}

static const int32_t default_edges[] = {30, 60, 90, 120};

static void test_default_buckets(void)
{
    int32_t as_of = D(2025, 3, 31);
    kpi_open_group_t g[] = {
        {D(2025, 3, 31), 10000, 1}, /* due today: current */
        {D(2025, 4, 10), 5000, 1},  /* due in 10 days: current */
        {D(2025, 3, 30), 1000, 1},  /* 1 day: 1-30 */
        {D(2025, 3, 1), 2000, 1},   /* 30 days: 1-30 */
        {D(2025, 2, 28), 500, 1},   /* 31 days: 31-60 */
        {D(2025, 1, 15), -400, 1},  /* 75 days, over-credited: 61-90, negative */
        {D(2024, 12, 1), 700, 1},   /* 120 days: 91-120 */
        {D(2024, 11, 30), 300, 2},  /* 121 days: 121+ */
    };
    kpi_aging_t a;
    CHECK_ERR(ERR_OK, kpi_aging_init(&a, default_edges, 4));
    CHECK_ERR(ERR_OK, kpi_aging_add(&a, as_of, g, sizeof g / sizeof g[0]));
    struct {
        const char *label;
        int64_t amount, count;
    } want[] = {{"current", 15000, 2}, {"1-30", 3000, 2},  {"31-60", 500, 1},
                {"61-90", -400, 1},    {"91-120", 700, 1}, {"121+", 300, 2}};
    CHECK_INT(6, a.n_buckets);
    for (size_t i = 0; i < 6; i++) {
        char buf[32];
        CHECK_STR(want[i].label, kpi_bucket_label(&a.buckets[i], buf, sizeof buf));
        CHECK_MSG(a.buckets[i].amount == want[i].amount && a.buckets[i].count == want[i].count,
                  "bucket %s: want %lld/%lld got %lld/%lld", want[i].label,
                  (long long)want[i].amount, (long long)want[i].count,
                  (long long)a.buckets[i].amount, (long long)a.buckets[i].count);
    }
    /* The buckets always add up to AR, negative items included. */
    CHECK_INT(19100, a.total_amount);
    CHECK_INT(9, a.total_count); /* 1+1+1+1+1+1+1+2 */
}

/* 29 February: as of 2024-03-01 an invoice due 2024-01-31 is 30 days past
   due (29 days of February 2024 plus one), still in 1-30; one due
   2024-01-30 is 31 days past due. */
static void test_leap_day(void)
{
    kpi_open_group_t g[] = {{D(2024, 1, 31), 100, 1}, {D(2024, 1, 30), 200, 1}};
    kpi_aging_t a;
    CHECK_ERR(ERR_OK, kpi_aging_init(&a, default_edges, 4));
    CHECK_ERR(ERR_OK, kpi_aging_add(&a, D(2024, 3, 1), g, 2));
    CHECK_INT(100, a.buckets[1].amount);
    CHECK_INT(200, a.buckets[2].amount);
    CHECK_INT(300, a.total_amount);
}

static void test_custom_edges_and_errors(void)
{
    const int32_t edges[] = {15, 45};
    kpi_aging_t a;
    CHECK_ERR(ERR_OK, kpi_aging_init(&a, edges, 2));
    kpi_open_group_t g[] = {{D(2025, 3, 16), 100, 1},
                            {D(2025, 3, 15), 200, 1},
                            {D(2025, 2, 14), 300, 1},
                            {D(2025, 2, 13), 400, 1}};
    /* As of 03-31: 15 days (1-15), 16 (16-45), 45 (16-45), 46 (46+). */
    CHECK_ERR(ERR_OK, kpi_aging_add(&a, D(2025, 3, 31), g, 4));
    char buf[32];
    CHECK_STR("1-15", kpi_bucket_label(&a.buckets[1], buf, sizeof buf));
    CHECK_STR("46+", kpi_bucket_label(&a.buckets[3], buf, sizeof buf));
    CHECK_INT(0, a.buckets[0].amount);
    CHECK_INT(100, a.buckets[1].amount);
    CHECK_INT(500, a.buckets[2].amount);
    CHECK_INT(400, a.buckets[3].amount);

    const int32_t dup[] = {30, 30}, zero[] = {0, 30}, down[] = {60, 30};
    int32_t many[KPI_BUCKETS_MAX];
    for (int i = 0; i < KPI_BUCKETS_MAX; i++)
        many[i] = (i + 1) * 10;
    CHECK_ERR(ERR_BAD_PARAM, kpi_aging_init(&a, dup, 2));
    CHECK_ERR(ERR_BAD_PARAM, kpi_aging_init(&a, zero, 2));
    CHECK_ERR(ERR_BAD_PARAM, kpi_aging_init(&a, down, 2));
    CHECK_ERR(ERR_BAD_PARAM, kpi_aging_init(&a, many, 0));
    CHECK_ERR(ERR_BAD_PARAM, kpi_aging_init(&a, many, KPI_BUCKETS_MAX - 1));
    CHECK_ERR(ERR_OK, kpi_aging_init(&a, many, KPI_BUCKETS_MAX - 2));
}

static void test_aging_overflow(void)
{
    kpi_aging_t a;
    CHECK_ERR(ERR_OK, kpi_aging_init(&a, default_edges, 4));
    kpi_open_group_t g[] = {{D(2025, 1, 1), INT64_MAX, 1}, {D(2025, 1, 1), 1, 1}};
    CHECK_ERR(ERR_OVERFLOW, kpi_aging_add(&a, D(2025, 1, 1), g, 2));
}

static int32_t utc_day(const void *ctx, int64_t t)
{
    (void)ctx;
    return kpi_utc_day(t);
}

static void test_sla_targets(void)
{
    kpi_calendar_t cal = {.weekend_mask = 0x60};
    int32_t fri = D(2025, 3, 7);
    kpi_sla_target_t bd3 = {KPI_SLA_BUSINESS_DAYS, 3};
    CHECK(kpi_sla_met(&bd3, &cal, 0, fri, 0, D(2025, 3, 12)));  /* Wed: 3 */
    CHECK(!kpi_sla_met(&bd3, &cal, 0, fri, 0, D(2025, 3, 13))); /* Thu: 4 */
    /* Still open: past target at the end of Thursday, not of Wednesday. */
    CHECK_INT(D(2025, 3, 13), kpi_sla_breach_day(&bd3, &cal, 0, fri, utc_day, NULL));

    /* billing: 0 business days late. Due Friday, issued Saturday: 0 -> met. */
    kpi_sla_target_t bd0 = {KPI_SLA_BUSINESS_DAYS, 0};
    CHECK(kpi_sla_met(&bd0, &cal, 0, fri, 0, D(2025, 3, 8)));
    CHECK(!kpi_sla_met(&bd0, &cal, 0, fri, 0, D(2025, 3, 10)));
    CHECK_INT(D(2025, 3, 10), kpi_sla_breach_day(&bd0, &cal, 0, fri, utc_day, NULL));

    /* 24 hours: 10:00Z Friday to 10:00Z Saturday is exactly 24 h: met. */
    int64_t start = kpi_day_start_utc(fri) + 10 * 3600;
    kpi_sla_target_t h24 = {KPI_SLA_HOURS, 24};
    CHECK(kpi_sla_met(&h24, &cal, start, fri, start + 24 * 3600, fri + 1));
    CHECK(!kpi_sla_met(&h24, &cal, start, fri, start + 24 * 3600 + 1, fri + 1));
    CHECK_INT(fri + 1, kpi_sla_breach_day(&h24, &cal, start, fri, utc_day, NULL));
    /* Started at midnight: the 24 h end exactly at the next midnight, so at the
       end of day 1 it is not past target yet; it is at the end of day 2. */
    int64_t midnight = kpi_day_start_utc(fri);
    CHECK_INT(fri + 1, kpi_sla_breach_day(&h24, &cal, midnight, fri, utc_day, NULL));

    kpi_sla_target_t d30 = {KPI_SLA_CALENDAR_DAYS, 30};
    CHECK(kpi_sla_met(&d30, &cal, 0, fri, 0, fri + 30));
    CHECK(!kpi_sla_met(&d30, &cal, 0, fri, 0, fri + 31));
    CHECK_INT(fri + 31, kpi_sla_breach_day(&d30, &cal, 0, fri, utc_day, NULL));
}

int main(void)
{
    RUN(test_default_buckets);
    RUN(test_leap_day);
    RUN(test_custom_edges_and_errors);
    RUN(test_aging_overflow);
    RUN(test_sla_targets);
    return test_summary();
}
