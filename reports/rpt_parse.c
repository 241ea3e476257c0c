/*
 * rpt_parse.c — report kinds and PERIOD text (rpt.h).
 *
 * A period is always a closed range of reporting-zone days. ISO weeks run
 * Monday to Sunday; week 1 is the week holding 4 January, so it may start in
 * December of the year before, and a year has 53 weeks exactly when its
 * 28 December falls in week 53.
 */
#include "rpt.h"

#include <string.h>

#include "kpi_date.h"

static const char *const kind_names[RPT_KIND_COUNT] = {"sla",     "aging",    "dso",  "ftq",
                                                       "summary", "payables", "xlsx", "statement"};
static const char *const kind_titles[RPT_KIND_COUNT] = {
    "SLA compliance",     "Receivables aging",   "Days sales outstanding",
    "First-time quality", "KPI summary",         "Payables aging and cash requirements",
    "KPI workbook",       "Statement of account"};

err_t rpt_kind_parse(const char *s, rpt_kind_t *out)
{
    for (int k = 0; s != NULL && k < RPT_KIND_COUNT; k++) {
        if (strcmp(s, kind_names[k]) == 0) {
            *out = (rpt_kind_t)k;
            return ERR_OK;
        }
    }
    return ERR_BAD_PARAM;
}

const char *rpt_kind_name(rpt_kind_t k)
{
    return (int)k >= 0 && (int)k < RPT_KIND_COUNT ? kind_names[k] : "";
}

const char *rpt_kind_title(rpt_kind_t k)
{
    return (int)k >= 0 && (int)k < RPT_KIND_COUNT ? kind_titles[k] : "";
}

/* n decimal digits at s into *v; false when any is not a digit. */
static int digits(const char *s, size_t n, int32_t *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        *v = *v * 10 + (s[i] - '0');
    }
    return 1;
}

/* Monday of ISO week 1 of year y. */
static int32_t iso_week1(int32_t y)
{
    int32_t jan4 = kpi_days_from_civil(y, 1, 4);
    return jan4 - (kpi_weekday(jan4) - 1);
}

#define PERIOD_FORMS "use YYYY-MM, YYYY-Qn, YYYY-Wnn, YYYY or YYYY-MM-DD..YYYY-MM-DD"

err_t rpt_period_parse(const char *s, int32_t *from_day, int32_t *to_day, err_msg_t *msg)
{
    if (s == NULL || s[0] == '\0')
        return err_set(msg, ERR_BAD_PARAM, "period is empty: " PERIOD_FORMS);
    size_t len = strlen(s);
    const char *dots = strstr(s, "..");
    if (dots != NULL) {
        int32_t a, b;
        size_t la = (size_t)(dots - s), lb = len - la - 2;
        if (kpi_date_parse(s, la, &a) != ERR_OK || kpi_date_parse(dots + 2, lb, &b) != ERR_OK)
            return err_set(msg, ERR_BAD_PARAM,
                           "period '%s': a range needs two dates YYYY-MM-DD..YYYY-MM-DD", s);
        if (a > b)
            return err_set(msg, ERR_BAD_PARAM, "period '%s': the first day is after the last", s);
        *from_day = a;
        *to_day = b;
        return ERR_OK;
    }
    int32_t y;
    if (len < 4 || !digits(s, 4, &y) || (len > 4 && s[4] != '-'))
        return err_set(msg, ERR_BAD_PARAM, "period '%s' is not a period: " PERIOD_FORMS, s);
    if (y < KPI_YEAR_MIN || y > KPI_YEAR_MAX)
        return err_set(msg, ERR_BAD_PARAM, "period '%s': year must be %d to %d", s, KPI_YEAR_MIN,
                       KPI_YEAR_MAX);
    int32_t n;
    if (len == 4) {
        *from_day = kpi_days_from_civil(y, 1, 1);
        *to_day = kpi_days_from_civil(y, 12, 31);
        return ERR_OK;
    }
    if (len == 7 && s[5] == 'Q' && digits(s + 6, 1, &n)) {
        if (n < 1 || n > 4)
            return err_set(msg, ERR_BAD_PARAM, "period '%s': quarter must be Q1 to Q4", s);
        *from_day = kpi_days_from_civil(y, 3 * n - 2, 1);
        *to_day = kpi_days_from_civil(y, 3 * n, kpi_days_in_month(y, 3 * n));
        return ERR_OK;
    }
    if (len == 8 && s[5] == 'W' && digits(s + 6, 2, &n)) {
        int32_t weeks = (iso_week1(y + 1) - iso_week1(y)) / 7;
        if (n < 1 || n > weeks)
            return err_set(msg, ERR_BAD_PARAM, "period '%s': ISO year %d has weeks W01 to W%02d", s,
                           (int)y, (int)weeks);
        *from_day = iso_week1(y) + 7 * (n - 1);
        *to_day = *from_day + 6;
        return ERR_OK;
    }
    if (len == 7 && digits(s + 5, 2, &n)) {
        if (n < 1 || n > 12)
            return err_set(msg, ERR_BAD_PARAM, "period '%s': month must be 01 to 12", s);
        *from_day = kpi_days_from_civil(y, n, 1);
        *to_day = kpi_days_from_civil(y, n, kpi_days_in_month(y, n));
        return ERR_OK;
    }
    return err_set(msg, ERR_BAD_PARAM, "period '%s' is not a period: " PERIOD_FORMS, s);
}

err_t rpt_statement_days(const rpt_days_t *asked, int32_t today, rpt_request_t *rq, err_msg_t *msg)
{
    char a[KPI_DATE_BUF], b[KPI_DATE_BUF];
    int32_t as_of = asked->has_as_of    ? asked->as_of
                    : asked->has_period ? (asked->to_day < today ? asked->to_day : today)
                                        : today;
    if (as_of > today)
        return err_set(msg, ERR_BAD_PARAM,
                       "as_of %s is after today (%s): a statement shows what has happened",
                       kpi_date_format(as_of, a), kpi_date_format(today, b));
    int32_t from = asked->has_period ? asked->from_day : kpi_unit_start(KPI_IV_MONTH, as_of);
    int32_t to = asked->has_period && asked->to_day < as_of ? asked->to_day : as_of;
    if (from > as_of)
        return err_set(msg, ERR_BAD_PARAM, "the period starts on %s, after as_of %s",
                       kpi_date_format(from, a), kpi_date_format(as_of, b));
    rq->from_day = from;
    rq->to_day = to;
    rq->as_of_day = as_of;
    return ERR_OK;
}
