/*
 * test_kpi_period.c — periods clipped to [from, to] and the business-day
 * calendar, on dates checked against a printed calendar
 * (2025-03-01 is a Saturday; 2024 is a leap year).
 */
#include "kpi.h"
#include "kpi_date.h"
#include "test.h"

static int32_t D(int y, int m, int d)
{
    return kpi_days_from_civil(y, m, d);
}

static void check_periods(const char *row, int32_t from, int32_t to, kpi_interval_t iv,
                          const int32_t (*want)[2], size_t n_want)
{
    test_current_ = row;
    kpi_period_t p[64];
    size_t n = 0;
    CHECK_ERR(ERR_OK, kpi_periods(from, to, iv, p, 64, &n));
    CHECK_INT(n_want, n);
    for (size_t i = 0; i < n && i < n_want; i++) {
        char a[KPI_DATE_BUF], b[KPI_DATE_BUF], c[KPI_DATE_BUF], d[KPI_DATE_BUF];
        CHECK_MSG(p[i].start == want[i][0] && p[i].end == want[i][1],
                  "period %zu: want %s..%s got %s..%s", i, kpi_date_format(want[i][0], a),
                  kpi_date_format(want[i][1], b), kpi_date_format(p[i].start, c),
                  kpi_date_format(p[i].end, d));
    }
}

static void test_periods(void)
{
    const int32_t months[][2] = {{D(2025, 1, 15), D(2025, 1, 31)},
                                 {D(2025, 2, 1), D(2025, 2, 28)},
                                 {D(2025, 3, 1), D(2025, 3, 10)}};
    check_periods("months clipped", D(2025, 1, 15), D(2025, 3, 10), KPI_IV_MONTH, months, 3);
    const int32_t leap[][2] = {{D(2024, 2, 1), D(2024, 2, 29)}};
    check_periods("29 February", D(2024, 2, 1), D(2024, 2, 29), KPI_IV_MONTH, leap, 1);
    /* 2025-01-15 is a Wednesday: its ISO week ends Sunday 2025-01-19. */
    const int32_t weeks[][2] = {{D(2025, 1, 15), D(2025, 1, 19)},
                                {D(2025, 1, 20), D(2025, 1, 26)},
                                {D(2025, 1, 27), D(2025, 1, 28)}};
    check_periods("weeks", D(2025, 1, 15), D(2025, 1, 28), KPI_IV_WEEK, weeks, 3);
    const int32_t quarters[][2] = {{D(2024, 11, 20), D(2024, 12, 31)},
                                   {D(2025, 1, 1), D(2025, 2, 10)}};
    check_periods("quarters", D(2024, 11, 20), D(2025, 2, 10), KPI_IV_QUARTER, quarters, 2);
    const int32_t days[][2] = {{D(2025, 12, 31), D(2025, 12, 31)}, {D(2026, 1, 1), D(2026, 1, 1)}};
    check_periods("days over new year", D(2025, 12, 31), D(2026, 1, 1), KPI_IV_DAY, days, 2);

    test_current_ = "errors";
    kpi_period_t p[2];
    size_t n = 0;
    CHECK_ERR(ERR_BAD_PARAM, kpi_periods(D(2025, 2, 1), D(2025, 1, 1), KPI_IV_MONTH, p, 2, &n));
    CHECK_ERR(ERR_TOO_LARGE, kpi_periods(D(2025, 1, 1), D(2025, 12, 31), KPI_IV_MONTH, p, 2, &n));
    CHECK_INT(12, n); /* tells the caller how many it would take */
}

/* The count comes without walking the units (fuzz_params found a request for
   1900..9999 by day spending seconds before its 400): it must equal a walk,
   for every interval, across year ends, leap days and pre-1970 dates. */
static void test_period_counts(void)
{
    static kpi_period_t p[3000];
    const int32_t starts[] = {D(1900, 1, 1), D(1969, 12, 29), D(2024, 2, 29), D(2025, 3, 31),
                              D(2025, 12, 28)};
    const int32_t lengths[] = {0, 1, 6, 7, 8, 30, 31, 90, 365, 366, 1000, 2999};
    for (int iv = KPI_IV_DAY; iv <= KPI_IV_QUARTER; iv++) {
        for (size_t i = 0; i < sizeof starts / sizeof starts[0]; i++) {
            for (size_t j = 0; j < sizeof lengths / sizeof lengths[0]; j++) {
                int32_t from = starts[i], to = from + lengths[j];
                size_t walked = 0;
                for (int32_t s = from; s <= to; s = kpi_unit_end((kpi_interval_t)iv, s) + 1)
                    walked++;
                size_t n = 0;
                test_current_ = kpi_interval_name((kpi_interval_t)iv);
                CHECK_ERR(ERR_OK, kpi_periods(from, to, (kpi_interval_t)iv, p, 3000, &n));
                CHECK_INT(walked, n);
                CHECK_INT(to, p[n - 1].end);
                n = 0;
                if (walked > 1) {
                    CHECK_ERR(ERR_TOO_LARGE,
                              kpi_periods(from, to, (kpi_interval_t)iv, p, walked - 1, &n));
                    CHECK_INT(walked, n);
                }
            }
        }
    }
    size_t n = 0;
    test_current_ = "1900..9999";
    int32_t first = D(1900, 1, 1), last = D(9999, 12, 31);
    CHECK_ERR(ERR_TOO_LARGE, kpi_periods(first, last, KPI_IV_DAY, p, 1000, &n));
    CHECK_INT((size_t)(last - first + 1), n);
    CHECK_ERR(ERR_TOO_LARGE, kpi_periods(first, last, KPI_IV_MONTH, p, 1000, &n));
    CHECK_INT((size_t)(8100 * 12), n);
    CHECK_ERR(ERR_TOO_LARGE, kpi_periods(first, last, KPI_IV_QUARTER, p, 1000, &n));
    CHECK_INT((size_t)(8100 * 4), n);
}

static void test_units_and_names(void)
{
    CHECK_INT(D(2025, 3, 3), kpi_unit_start(KPI_IV_WEEK, D(2025, 3, 9))); /* Sun -> Mon */
    CHECK_INT(D(2025, 3, 9), kpi_unit_end(KPI_IV_WEEK, D(2025, 3, 3)));
    CHECK_INT(D(2024, 2, 29), kpi_unit_end(KPI_IV_MONTH, D(2024, 2, 10)));
    CHECK_INT(D(2025, 10, 1), kpi_unit_start(KPI_IV_QUARTER, D(2025, 11, 30)));
    CHECK_INT(D(2025, 12, 31), kpi_unit_end(KPI_IV_QUARTER, D(2025, 10, 1)));
    const char *names[] = {"day", "week", "month", "quarter"};
    for (int i = 0; i < 4; i++) {
        kpi_interval_t iv;
        CHECK_ERR(ERR_OK, kpi_interval_parse(names[i], &iv));
        CHECK_STR(names[i], kpi_interval_name(iv));
    }
    kpi_interval_t iv;
    CHECK_ERR(ERR_BAD_PARAM, kpi_interval_parse("year", &iv));
    CHECK_ERR(ERR_BAD_PARAM, kpi_interval_parse("", &iv));
}

static void test_business_days(void)
{
    kpi_calendar_t cal = {.weekend_mask = 0x60};
    int32_t fri = D(2025, 3, 7), wed = D(2025, 3, 12);
    /* docs/kpi.md: received Friday, processed Wednesday: Mon, Tue, Wed = 3. */
    CHECK_INT(3, kpi_business_days_between(&cal, fri, wed));
    CHECK_INT(0, kpi_business_days_between(&cal, fri, D(2025, 3, 9))); /* weekend only */
    CHECK_INT(0, kpi_business_days_between(&cal, fri, fri));
    CHECK_INT(0, kpi_business_days_between(&cal, wed, fri)); /* stop before start */
    CHECK_INT(wed, kpi_business_day_add(&cal, fri, 3));
    CHECK_INT(fri, kpi_business_day_add(&cal, fri, 0));
    CHECK(!kpi_is_business_day(&cal, D(2025, 3, 8)));
    CHECK(kpi_is_business_day(&cal, D(2025, 3, 10)));

    const int32_t hol[] = {D(2025, 1, 1), D(2025, 3, 10)};
    kpi_calendar_t with = {.weekend_mask = 0x60, .holidays = hol, .n_holidays = 2};
    CHECK(!kpi_is_business_day(&with, D(2025, 3, 10)));
    CHECK_INT(2, kpi_business_days_between(&with, fri, wed));
    CHECK_INT(D(2025, 3, 13), kpi_business_day_add(&with, fri, 3));

    /* A Friday-Saturday weekend (bits 5 and 6): Sunday is a business day. */
    kpi_calendar_t gulf = {.weekend_mask = 0x30};
    CHECK(kpi_is_business_day(&gulf, D(2025, 3, 9)));
    CHECK(!kpi_is_business_day(&gulf, D(2025, 3, 7)));
}

int main(void)
{
    RUN(test_periods);
    RUN(test_period_counts);
    RUN(test_units_and_names);
    RUN(test_business_days);
    return test_summary();
}
