/*
 * test_rpt_rule.c — period rules at year, quarter, month and ISO-week
 * boundaries (2026-01-01 is a Thursday; 2020 has an ISO week 53 running
 * Mon 2020-12-28 to Sun 2021-01-03), and rule name parsing.
 */
#include <string.h>

#include "kpi_date.h"
#include "rpt_rule.h"
#include "test.h"

static int32_t day(const char *ymd)
{
    int32_t d = 0;
    REQUIRE(kpi_date_parse(ymd, strlen(ymd), &d) == ERR_OK);
    return d;
}

static void test_periods(void)
{
    static const struct {
        rpt_rule_t rule;
        const char *run, *from, *to;
    } rows[] = {
        {RPT_RULE_PREVIOUS_DAY, "2026-01-01", "2025-12-31", "2025-12-31"},
        {RPT_RULE_PREVIOUS_DAY, "2024-03-01", "2024-02-29", "2024-02-29"},
        {RPT_RULE_PREVIOUS_DAY, "2026-03-01", "2026-02-28", "2026-02-28"},
        {RPT_RULE_PREVIOUS_DAY, "2026-06-16", "2026-06-15", "2026-06-15"},
        /* ISO weeks, Monday to Sunday. */
        {RPT_RULE_PREVIOUS_WEEK, "2026-01-01", "2025-12-22", "2025-12-28"}, /* Thursday */
        {RPT_RULE_PREVIOUS_WEEK, "2026-01-04", "2025-12-22", "2025-12-28"}, /* Sunday */
        {RPT_RULE_PREVIOUS_WEEK, "2026-01-05", "2025-12-29", "2026-01-04"}, /* across the year */
        {RPT_RULE_PREVIOUS_WEEK, "2021-01-03", "2020-12-21", "2020-12-27"}, /* in W53 */
        {RPT_RULE_PREVIOUS_WEEK, "2021-01-04", "2020-12-28", "2021-01-03"}, /* W53 itself */
        {RPT_RULE_PREVIOUS_WEEK, "2024-03-04", "2024-02-26", "2024-03-03"}, /* over Feb 29 */
        /* Calendar months. */
        {RPT_RULE_PREVIOUS_MONTH, "2026-01-15", "2025-12-01", "2025-12-31"},
        {RPT_RULE_PREVIOUS_MONTH, "2026-01-01", "2025-12-01", "2025-12-31"},
        {RPT_RULE_PREVIOUS_MONTH, "2024-03-01", "2024-02-01", "2024-02-29"},
        {RPT_RULE_PREVIOUS_MONTH, "2026-03-31", "2026-02-01", "2026-02-28"},
        {RPT_RULE_PREVIOUS_MONTH, "2026-05-01", "2026-04-01", "2026-04-30"},
        {RPT_RULE_PREVIOUS_MONTH, "2026-12-31", "2026-11-01", "2026-11-30"},
        /* Calendar quarters. */
        {RPT_RULE_PREVIOUS_QUARTER, "2026-01-01", "2025-10-01", "2025-12-31"},
        {RPT_RULE_PREVIOUS_QUARTER, "2026-03-31", "2025-10-01", "2025-12-31"},
        {RPT_RULE_PREVIOUS_QUARTER, "2026-04-01", "2026-01-01", "2026-03-31"},
        {RPT_RULE_PREVIOUS_QUARTER, "2026-07-15", "2026-04-01", "2026-06-30"},
        {RPT_RULE_PREVIOUS_QUARTER, "2026-10-01", "2026-07-01", "2026-09-30"},
        {RPT_RULE_PREVIOUS_QUARTER, "2026-12-31", "2026-07-01", "2026-09-30"},
        {RPT_RULE_PREVIOUS_QUARTER, "2024-04-30", "2024-01-01", "2024-03-31"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int32_t from = 0, to = 0;
        err_t e = rpt_rule_period(rows[i].rule, day(rows[i].run), &from, &to);
        char fb[KPI_DATE_BUF], tb[KPI_DATE_BUF];
        CHECK_MSG(e == ERR_OK && from == day(rows[i].from) && to == day(rows[i].to),
                  "row %zu %s run %s: expected %s..%s, got %s..%s", i, rpt_rule_name(rows[i].rule),
                  rows[i].run, rows[i].from, rows[i].to, kpi_date_format(from, fb),
                  kpi_date_format(to, tb));
    }
    int32_t from = 7, to = 7;
    CHECK_ERR(ERR_BAD_PARAM, rpt_rule_period((rpt_rule_t)9, day("2026-01-01"), &from, &to));
    CHECK_INT(7, from);
    CHECK_INT(7, to);
}

static void test_names(void)
{
    static const char *const names[] = {"previous_day", "previous_week", "previous_month",
                                        "previous_quarter"};
    for (int i = 0; i < 4; i++) {
        rpt_rule_t r = (rpt_rule_t)99;
        err_msg_t m = {{0}};
        CHECK_ERR(ERR_OK, rpt_rule_parse(names[i], &r, &m));
        CHECK_INT(i, r);
        CHECK_STR(names[i], rpt_rule_name(r));
    }
    CHECK_STR("", rpt_rule_name((rpt_rule_t)4));
    static const char *const bad[] = {
        "previous-month", "", "Previous_Month", "last_month", "previous_year", "previous_day "};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rpt_rule_t r = RPT_RULE_PREVIOUS_WEEK;
        err_msg_t m = {{0}};
        CHECK_ERR(ERR_BAD_VALUE, rpt_rule_parse(bad[i], &r, &m));
        CHECK_INT(RPT_RULE_PREVIOUS_WEEK, r);
        char want[200];
        snprintf(want, sizeof want,
                 "'%s' is not a period (use previous_day, previous_week, previous_month or "
                 "previous_quarter)",
                 bad[i]);
        CHECK_STR(want, m.text);
    }
}

int main(void)
{
    RUN(test_periods);
    RUN(test_names);
    return test_summary();
}
