/* test_cmd_report.c — kpid report's --period: the fixed periods and the
   schedules' previous_* rules relative to today, and the messages. */
#include <string.h>

#include "cmd.h"
#include "kpi_date.h"
#include "test.h"

static int32_t D(int32_t y, int32_t m, int32_t d)
{
    return kpi_days_from_civil(y, m, d);
}

static void test_rules(void)
{
    const int32_t today = D(2025, 4, 16); /* a Wednesday */
    int32_t from = 0, to = 0;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, cmd_report_period("previous_month", today, &from, &to, &m));
    CHECK_INT(D(2025, 3, 1), from);
    CHECK_INT(D(2025, 3, 31), to);
    CHECK_ERR(ERR_OK, cmd_report_period("previous_quarter", today, &from, &to, &m));
    CHECK_INT(D(2025, 1, 1), from);
    CHECK_INT(D(2025, 3, 31), to);
    CHECK_ERR(ERR_OK, cmd_report_period("previous_week", today, &from, &to, &m));
    CHECK_INT(D(2025, 4, 7), from);
    CHECK_INT(D(2025, 4, 13), to);
    CHECK_ERR(ERR_OK, cmd_report_period("previous_day", today, &from, &to, &m));
    CHECK_INT(D(2025, 4, 15), from);
    CHECK_INT(D(2025, 4, 15), to);
    CHECK_ERR(ERR_BAD_VALUE, cmd_report_period("previous_year", today, &from, &to, &m));
    CHECK(strstr(m.text, "previous_month") != NULL);
}

static void test_fixed(void)
{
    int32_t from = 0, to = 0;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, cmd_report_period("2025-11", 0, &from, &to, &m));
    CHECK_INT(D(2025, 11, 1), from);
    CHECK_INT(D(2025, 11, 30), to);
    CHECK_ERR(ERR_BAD_PARAM, cmd_report_period("last_month", 0, &from, &to, &m));
    /* The fixed forms' message, and the rules as the other choice. */
    CHECK(strstr(m.text, "last_month") != NULL);
    CHECK(strstr(m.text, "or previous_day, previous_week, previous_month, previous_quarter") !=
          NULL);
}

int main(void)
{
    RUN(test_rules);
    RUN(test_fixed);
    return test_summary();
}
