/*
 * kpi_period.c — reporting periods and the business-day calendar.
 *
 * Periods are calendar units (day, ISO week, month, quarter) clipped to the
 * requested [from, to], so a series asked "to today" ends with a
 * month-to-date period whose day count is the days elapsed, not the month's.
 */
#include "kpi.h"

#include <string.h>

#include "kpi_date.h"

const char *kpi_interval_name(kpi_interval_t iv)
{
    switch (iv) {
    case KPI_IV_DAY: return "day";
    case KPI_IV_WEEK: return "week";
    case KPI_IV_MONTH: return "month";
    case KPI_IV_QUARTER: return "quarter";
    }
    return "";
}

err_t kpi_interval_parse(const char *s, kpi_interval_t *out)
{
    static const kpi_interval_t all[] = {KPI_IV_DAY, KPI_IV_WEEK, KPI_IV_MONTH, KPI_IV_QUARTER};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (strcmp(s, kpi_interval_name(all[i])) == 0) {
            *out = all[i];
            return ERR_OK;
        }
    }
    return ERR_BAD_PARAM;
}

int32_t kpi_unit_start(kpi_interval_t iv, int32_t day)
{
    int32_t y, m, d;
    switch (iv) {
    case KPI_IV_DAY: return day;
    case KPI_IV_WEEK: return day - (kpi_weekday(day) - 1);
    case KPI_IV_MONTH: kpi_civil_from_days(day, &y, &m, &d); return kpi_days_from_civil(y, m, 1);
    case KPI_IV_QUARTER:
        kpi_civil_from_days(day, &y, &m, &d);
        return kpi_days_from_civil(y, ((m - 1) / 3) * 3 + 1, 1);
    }
    return day;
}

int32_t kpi_unit_end(kpi_interval_t iv, int32_t day)
{
    int32_t start = kpi_unit_start(iv, day);
    switch (iv) {
    case KPI_IV_DAY: return day;
    case KPI_IV_WEEK: return start + 6;
    case KPI_IV_MONTH: return kpi_add_months(start, 1) - 1;
    case KPI_IV_QUARTER: return kpi_add_months(start, 3) - 1;
    }
    return day;
}

/* How many units of iv meet [from, to] (from <= to), counted without walking
   them: a request for 1900..9999 by day is refused at once, not after
   visiting three million days. */
static int64_t unit_count(kpi_interval_t iv, int32_t from, int32_t to)
{
    int32_t y0, m0, y1, m1, d;
    switch (iv) {
    case KPI_IV_DAY: return (int64_t)to - from + 1;
    case KPI_IV_WEEK: return ((int64_t)kpi_unit_start(iv, to) - kpi_unit_start(iv, from)) / 7 + 1;
    case KPI_IV_MONTH:
    case KPI_IV_QUARTER:
        kpi_civil_from_days(from, &y0, &m0, &d);
        kpi_civil_from_days(to, &y1, &m1, &d);
        if (iv == KPI_IV_MONTH)
            return ((int64_t)y1 * 12 + m1) - ((int64_t)y0 * 12 + m0) + 1;
        return ((int64_t)y1 * 4 + (m1 - 1) / 3) - ((int64_t)y0 * 4 + (m0 - 1) / 3) + 1;
    }
    return 0;
}

err_t kpi_periods(int32_t from, int32_t to, kpi_interval_t iv, kpi_period_t *out, size_t cap,
                  size_t *n)
{
    *n = 0;
    if (from > to)
        return ERR_BAD_PARAM;
    size_t count = (size_t)unit_count(iv, from, to);
    *n = count;
    if (count > cap)
        return ERR_TOO_LARGE;
    size_t k = 0;
    for (int32_t s = from; s <= to && k < count;) {
        int32_t e = kpi_unit_end(iv, s);
        if (e > to)
            e = to;
        out[k].start = s;
        out[k].end = e;
        k++;
        s = e + 1;
    }
    return k == count ? ERR_OK : ERR_INTERNAL;
}

bool kpi_is_business_day(const kpi_calendar_t *cal, int32_t day)
{
    int32_t wd = kpi_weekday(day);
    if (cal->weekend_mask & (1u << (wd - 1)))
        return false;
    /* Binary search: holiday lists are short but queried per SLA item. */
    size_t lo = 0, hi = cal->n_holidays;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cal->holidays[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return !(lo < cal->n_holidays && cal->holidays[lo] == day);
}

int32_t kpi_business_days_between(const kpi_calendar_t *cal, int32_t start, int32_t stop)
{
    int32_t n = 0;
    /* SLA spans are days to weeks; a plain walk is clear and fast enough. */
    for (int32_t d = start + 1; d <= stop; d++)
        if (kpi_is_business_day(cal, d))
            n++;
    return n;
}

int32_t kpi_business_day_add(const kpi_calendar_t *cal, int32_t start, int32_t n)
{
    int32_t d = start;
    /* A calendar with every weekday masked would never advance: cap the walk. */
    for (int32_t guard = 0; n > 0 && guard < 3660; guard++) {
        d++;
        if (kpi_is_business_day(cal, d))
            n--;
    }
    return d;
}
