/*
 * rpt_rule.h — the period a scheduled report covers, relative to its run.
 *
 * A scheduled report runs at a due instant; its period is fixed by a rule
 * applied to the run's local date in the reporting zone (so a run at
 * 00:30 Berlin on 1 April reports on March even though it is still 31 March
 * in UTC). Pure: days in, days out.
 */
#ifndef KPID_RPT_RULE_H
#define KPID_RPT_RULE_H

#include <stdint.h>

#include "err.h"

typedef enum rpt_rule {
    RPT_RULE_PREVIOUS_DAY = 0,     /* the day before the run day */
    RPT_RULE_PREVIOUS_WEEK = 1,    /* the ISO week (Monday-Sunday) before the run's week */
    RPT_RULE_PREVIOUS_MONTH = 2,   /* the calendar month before the run's month */
    RPT_RULE_PREVIOUS_QUARTER = 3, /* the calendar quarter before the run's quarter */
} rpt_rule_t;

/* "previous_day", "previous_week", "previous_month", "previous_quarter"; "" for others. */
const char *rpt_rule_name(rpt_rule_t rule);

/* The rule named `name`. ERR_BAD_VALUE naming the accepted names otherwise. */
err_t rpt_rule_parse(const char *name, rpt_rule_t *out, err_msg_t *msg) KPID_MUST_USE;

/*
 * The period [*from_day, *to_day] (inclusive local days) of `rule` for a run
 * on local day `run_day`. ERR_BAD_PARAM for a value outside rpt_rule_t;
 * the out-parameters are written only on success.
 */
err_t rpt_rule_period(rpt_rule_t rule, int32_t run_day, int32_t *from_day,
                      int32_t *to_day) KPID_MUST_USE;

#endif
