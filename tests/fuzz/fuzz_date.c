/*
 * fuzz_date.c — libFuzzer target for dates and RFC 3339 times (kpi_date.h).
 *
 * The whole input is tried as a date (kpi_date_parse) and as a date-time
 * (kpi_time_parse_rfc3339). Properties:
 *   - a parsed date formats back to the very same 10 bytes, and its civil
 *     fields are the digits of the text;
 *   - a parsed time formats (UTC) to a text that parses to the same instant,
 *     and lies within a day (offsets are under 24 h) of its date's midnight;
 *   - for the first 4 bytes read as a day number within the supported years:
 *     civil <-> days round-trips, the weekday is 1..7 and follows the day
 *     before, and adding months keeps the day-of-month clamped to the month.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "kpi_date.h"

static int32_t num(const char *s, int n)
{
    int32_t v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static void check_day_number(int32_t day)
{
    int32_t lo = kpi_days_from_civil(KPI_YEAR_MIN, 1, 1);
    int32_t hi = kpi_days_from_civil(KPI_YEAR_MAX, 12, 31);
    if (day < lo || day > hi)
        return;
    int32_t y, m, d;
    kpi_civil_from_days(day, &y, &m, &d);
    FUZZ_CHECK(m >= 1 && m <= 12 && d >= 1 && d <= kpi_days_in_month(y, m), "day %d: %d-%d-%d", day,
               y, m, d);
    FUZZ_CHECK(kpi_days_from_civil(y, m, d) == day, "day %d does not round-trip", day);
    int32_t wd = kpi_weekday(day);
    FUZZ_CHECK(wd >= 1 && wd <= 7, "weekday %d", wd);
    if (day > lo)
        FUZZ_CHECK(kpi_weekday(day - 1) % 7 + 1 == wd, "weekday of %d does not follow", day);
    FUZZ_CHECK(kpi_utc_day(kpi_day_start_utc(day)) == day, "day start of %d", day);
    FUZZ_CHECK(kpi_utc_day(kpi_day_start_utc(day) + 86399) == day, "day end of %d", day);
    char buf[KPI_DATE_BUF];
    int32_t back;
    FUZZ_CHECK(kpi_date_parse(kpi_date_format(day, buf), 10, &back) == ERR_OK && back == day,
               "'%s' does not parse back to %d", buf, day);
    for (int32_t n = -25; n <= 25; n += 7) {
        int32_t am = kpi_add_months(day, n);
        int32_t y2, m2, d2;
        kpi_civil_from_days(am, &y2, &m2, &d2);
        int32_t months = (y2 * 12 + m2 - 1) - (y * 12 + m - 1);
        FUZZ_CHECK(months == n, "%d + %d months lands %d months away", day, n, months);
        int32_t want = d <= kpi_days_in_month(y2, m2) ? d : kpi_days_in_month(y2, m2);
        FUZZ_CHECK(d2 == want, "%d + %d months: day %d, want %d", day, n, d2, want);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int32_t day;
    if (kpi_date_parse(s, size, &day) == ERR_OK) {
        char buf[KPI_DATE_BUF];
        FUZZ_CHECK(size == 10 && memcmp(kpi_date_format(day, buf), s, 10) == 0,
                   "'%.*s' formats as '%s'", (int)size, s, buf);
        int32_t y, m, d;
        kpi_civil_from_days(day, &y, &m, &d);
        FUZZ_CHECK(y == num(s, 4) && m == num(s + 5, 2) && d == num(s + 8, 2), "civil of '%.10s'",
                   s);
        check_day_number(day);
    }
    int64_t t;
    if (kpi_time_parse_rfc3339(s, size, &t) == ERR_OK) {
        FUZZ_CHECK(size >= 20, "a time of %zu bytes", size);
        int32_t dday;
        FUZZ_CHECK(kpi_date_parse(s, 10, &dday) == ERR_OK, "date part of '%.*s'", (int)size, s);
        int64_t mid = kpi_day_start_utc(dday);
        FUZZ_CHECK(t > mid - 86400 && t < mid + 2 * 86400, "'%.*s' is %lld, far from its date",
                   (int)size, s, (long long)t);
        char buf[KPI_TIME_BUF];
        const char *txt = kpi_time_format_utc(t, buf);
        int64_t back;
        FUZZ_CHECK(kpi_time_parse_rfc3339(txt, strlen(txt), &back) == ERR_OK && back == t,
                   "'%.*s' -> %lld -> '%s' does not parse back", (int)size, s, (long long)t, txt);
    }
    if (size >= 4) {
        int32_t v;
        memcpy(&v, data, sizeof v);
        check_day_number(v);
    }
    return 0;
}
