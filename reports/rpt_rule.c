/*
 * rpt_rule.c — period rules of scheduled reports, on kpi's calendar units
 * (kpi_unit_start: ISO weeks, calendar months and quarters), so a scheduled
 * report's period is the same unit the API's `interval` parameter uses.
 */
#include "rpt_rule.h"

#include <string.h>

#include "kpi.h"

static const char *const names[] = {"previous_day", "previous_week", "previous_month",
                                    "previous_quarter"};

const char *rpt_rule_name(rpt_rule_t rule)
{
    if ((unsigned)rule >= sizeof names / sizeof names[0])
        return "";
    return names[rule];
}

err_t rpt_rule_parse(const char *name, rpt_rule_t *out, err_msg_t *msg)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strcmp(name, names[i]) == 0) {
            *out = (rpt_rule_t)i;
            return ERR_OK;
        }
    }
    return err_set(msg, ERR_BAD_VALUE,
                   "'%s' is not a period (use previous_day, previous_week, previous_month or "
                   "previous_quarter)",
                   name);
}

err_t rpt_rule_period(rpt_rule_t rule, int32_t run_day, int32_t *from_day, int32_t *to_day)
{
    kpi_interval_t iv;
    switch (rule) {
    case RPT_RULE_PREVIOUS_DAY: iv = KPI_IV_DAY; break;
    case RPT_RULE_PREVIOUS_WEEK: iv = KPI_IV_WEEK; break;
    case RPT_RULE_PREVIOUS_MONTH: iv = KPI_IV_MONTH; break;
    case RPT_RULE_PREVIOUS_QUARTER: iv = KPI_IV_QUARTER; break;
    default: return ERR_BAD_PARAM;
    }
    /* The unit before the run's unit ends the day before the run's unit starts. */
    int32_t to = kpi_unit_start(iv, run_day) - 1;
    *from_day = kpi_unit_start(iv, to);
    *to_day = to;
    return ERR_OK;
}
