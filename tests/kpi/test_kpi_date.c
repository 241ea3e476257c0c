/*
 * test_kpi_date.c — calendar arithmetic against known dates, exhaustive
 * round trips, and the date/time text formats.
 */
#include <string.h>

#include "kpi_date.h"
#include "test.h"

static void test_known_days(void)
{
    struct {
        int32_t y, m, d, day, weekday;
    } rows[] = {
        {1970, 1, 1, 0, 4},                               /* epoch, a Thursday */
        {1969, 12, 31, -1, 3},   {2000, 2, 29, 11016, 2}, /* leap day of a /400 year */
        {2000, 3, 1, 11017, 3},  {2024, 2, 29, 19782, 4},    {2025, 3, 31, 20178, 1}, /* a Monday */
        {1900, 1, 1, -25567, 1}, {9999, 12, 31, 2932896, 5},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char row[32];
        snprintf(row, sizeof(row), "%04d-%02d-%02d", rows[i].y, rows[i].m, rows[i].d);
        test_current_ = row;
        CHECK_INT(rows[i].day, kpi_days_from_civil(rows[i].y, rows[i].m, rows[i].d));
        int32_t y, m, d;
        kpi_civil_from_days(rows[i].day, &y, &m, &d);
        CHECK_INT(rows[i].y, y);
        CHECK_INT(rows[i].m, m);
        CHECK_INT(rows[i].d, d);
        CHECK_INT(rows[i].weekday, kpi_weekday(rows[i].day));
    }
}

static void test_round_trip_every_day(void)
{
    /* 1900..2100 exhaustively: consecutive days, valid dates, weekdays cycle. */
    int32_t first = kpi_days_from_civil(1900, 1, 1), last = kpi_days_from_civil(2100, 12, 31);
    int32_t py = 1899, pm = 12, pd = 31;
    int bad = 0;
    for (int32_t day = first; day <= last; day++) {
        int32_t y, m, d;
        kpi_civil_from_days(day, &y, &m, &d);
        bool next_ok = (y == py && m == pm && d == pd + 1) ||
                       (y == py && m == pm + 1 && d == 1 && pd == kpi_days_in_month(py, pm)) ||
                       (y == py + 1 && m == 1 && d == 1 && pm == 12 && pd == 31);
        if (!next_ok || kpi_days_from_civil(y, m, d) != day ||
            kpi_weekday(day) != (kpi_weekday(day - 1) % 7) + 1)
            bad++;
        py = y;
        pm = m;
        pd = d;
    }
    CHECK_INT(0, bad);
}

static void test_leap_and_month_lengths(void)
{
    CHECK(kpi_is_leap(2024));
    CHECK(kpi_is_leap(2000));
    CHECK(!kpi_is_leap(1900));
    CHECK(!kpi_is_leap(2025));
    CHECK_INT(29, kpi_days_in_month(2024, 2));
    CHECK_INT(28, kpi_days_in_month(2100, 2));
    CHECK_INT(31, kpi_days_in_month(2025, 12));
    CHECK_INT(30, kpi_days_in_month(2025, 4));
    CHECK_INT(0, kpi_days_in_month(2025, 13));
}

static void test_utc_days(void)
{
    CHECK_INT(0, kpi_utc_day(0));
    CHECK_INT(0, kpi_utc_day(86399));
    CHECK_INT(1, kpi_utc_day(86400));
    CHECK_INT(-1, kpi_utc_day(-1)); /* floor, not truncation */
    CHECK_INT(-86400, kpi_day_start_utc(-1));
}

static void test_date_parse(void)
{
    struct {
        const char *s;
        err_t err;
        int32_t day;
    } rows[] = {
        {"2025-03-31", ERR_OK, 20178},   {"2024-02-29", ERR_OK, 19782},
        {"2025-02-29", ERR_BAD_DATE, 0}, {"2025-04-31", ERR_BAD_DATE, 0},
        {"2025-13-01", ERR_BAD_DATE, 0}, {"2025-00-10", ERR_BAD_DATE, 0},
        {"2025-3-31", ERR_BAD_DATE, 0},  {"2025/03/31", ERR_BAD_DATE, 0},
        {"1899-12-31", ERR_BAD_DATE, 0}, {"2025-03-31T00:00:00Z", ERR_BAD_DATE, 0},
        {"", ERR_BAD_DATE, 0},           {"2025-03-3x", ERR_BAD_DATE, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        test_current_ = rows[i].s;
        int32_t day = -7;
        CHECK_ERR(rows[i].err, kpi_date_parse(rows[i].s, strlen(rows[i].s), &day));
        if (rows[i].err == ERR_OK)
            CHECK_INT(rows[i].day, day);
    }
}

static void test_time_parse(void)
{
    const int64_t d = 20178LL * 86400; /* 2025-03-31T00:00:00Z */
    struct {
        const char *s;
        err_t err;
        int64_t t;
    } rows[] = {
        {"2025-03-31T14:05:00Z", ERR_OK, d + 14 * 3600 + 5 * 60},
        {"2025-03-31t14:05:00z", ERR_OK, d + 14 * 3600 + 5 * 60},
        {"2025-03-31 14:05:00Z", ERR_OK, d + 14 * 3600 + 5 * 60},
        {"2025-03-31T14:05:00.999Z", ERR_OK, d + 14 * 3600 + 5 * 60},
        {"2025-03-31T14:05:00+02:00", ERR_OK, d + 12 * 3600 + 5 * 60},
        {"2025-03-31T00:30:00+05:30", ERR_OK, d - 5 * 3600},
        {"2025-03-30T23:30:00-01:00", ERR_OK, d + 30 * 60},
        {"2016-12-31T23:59:60Z", ERR_OK, 17166LL * 86400 + 86399}, /* leap second */
        {"2025-03-31T14:05:00", ERR_BAD_DATE, 0},                  /* no offset */
        {"2025-03-31T24:00:00Z", ERR_BAD_DATE, 0},
        {"2025-03-31T14:60:00Z", ERR_BAD_DATE, 0},
        {"2025-03-31T14:05:00.Z", ERR_BAD_DATE, 0},
        {"2025-03-31T14:05:00+2:00", ERR_BAD_DATE, 0},
        {"2025-03-31T14:05:00+02:00x", ERR_BAD_DATE, 0},
        {"2025-02-30T14:05:00Z", ERR_BAD_DATE, 0},
        {"2025-03-31", ERR_BAD_DATE, 0},
        /* The instant must be in 1900..9999 too (found by fuzz_date): an
           offset may not carry it out of the range its UTC text can name. */
        {"1900-01-01T00:00:00Z", ERR_OK, -2208988800LL},
        {"1900-01-01T00:00:00-01:00", ERR_OK, -2208988800LL + 3600},
        {"1900-01-01T00:00:00+14:00", ERR_BAD_DATE, 0},
        {"1900-01-01T00:59:59+01:00", ERR_BAD_DATE, 0},
        {"9999-12-31T23:59:59Z", ERR_OK, 253402300799LL},
        {"9999-12-31T23:59:59+01:00", ERR_OK, 253402300799LL - 3600},
        {"9999-12-31T23:00:00-01:00", ERR_BAD_DATE, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        test_current_ = rows[i].s;
        int64_t t = -7;
        CHECK_ERR(rows[i].err, kpi_time_parse_rfc3339(rows[i].s, strlen(rows[i].s), &t));
        if (rows[i].err == ERR_OK)
            CHECK_INT(rows[i].t, t);
    }
}

static void test_format(void)
{
    char b[KPI_TIME_BUF];
    CHECK_STR("2025-03-31", kpi_date_format(20178, b));
    CHECK_STR("1969-12-31", kpi_date_format(-1, b));
    CHECK_STR("2025-03-31T14:05:09Z", kpi_time_format_utc(20178LL * 86400 + 50709, b));
    CHECK_STR("1969-12-31T23:59:59Z", kpi_time_format_utc(-1, b));
}

static void test_add_months(void)
{
    struct {
        const char *from;
        int32_t n;
        const char *want;
    } rows[] = {
        {"2025-01-31", 1, "2025-02-28"},   {"2024-01-31", 1, "2024-02-29"},
        {"2025-03-31", -1, "2025-02-28"},  {"2025-12-15", 1, "2026-01-15"},
        {"2025-01-15", -1, "2024-12-15"},  {"2024-02-29", 12, "2025-02-28"},
        {"2025-05-31", -25, "2023-04-30"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        test_current_ = rows[i].from;
        int32_t day;
        REQUIRE(kpi_date_parse(rows[i].from, 10, &day) == ERR_OK);
        char b[KPI_DATE_BUF];
        CHECK_STR(rows[i].want, kpi_date_format(kpi_add_months(day, rows[i].n), b));
    }
}

int main(void)
{
    RUN(test_known_days);
    RUN(test_round_trip_every_day);
    RUN(test_leap_and_month_lengths);
    RUN(test_utc_days);
    RUN(test_date_parse);
    RUN(test_time_parse);
    RUN(test_format);
    RUN(test_add_months);
    return test_summary();
}
