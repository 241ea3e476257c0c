/*
 * rpt_cron.h — 5-field cron expressions evaluated in the reporting time zone.
 *
 * Owns the parsed form of an expression ("minute hour day-of-month month
 * day-of-week") and the search for its next / previous matching instant.
 * Pure: no clock, no files, no allocation; a zone comes in as a kpi_tz_t.
 *
 * Syntax of each field: `*`, a number, a name (jan-dec in the month field,
 * sun-sat in the day-of-week field, any case), a range `a-b`, a step over
 * `*` or a range (`*` + `/n`, `a-b/n`), and comma lists of those. In the
 * day-of-week field 0 and 7 are both Sunday. Ranges do not wrap (`fri-mon`
 * is refused; write `fri-sun,mon`).
 *
 * Day rule (classic Vixie cron): when both day-of-month and day-of-week are
 * restricted, a day matching either one matches. A field counts as
 * unrestricted when it begins with `*` (so `*` + `/2` in day-of-month still
 * ANDs with the day of week, as in Vixie cron and cronie).
 *
 * Local time rules (the expression is wall-clock time in the zone):
 *   - a local time that does not exist (clocks spring forward over it) runs
 *     at the first instant after the gap, i.e. at the transition itself
 *     (02:30 on a day New York jumps 02:00 -> 03:00 runs at 03:00 EDT);
 *     several skipped times collapse into that one run;
 *   - a local time that occurs twice (clocks fall back) runs once, at its
 *     first occurrence; the repeated hour does not run again;
 *   - day 31 matches only months with 31 days, Feb 29 only leap years.
 */
#ifndef KPID_RPT_CRON_H
#define KPID_RPT_CRON_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "kpi_tz.h"

/* Longest expression accepted, in bytes. */
#define RPT_CRON_EXPR_MAX 127

typedef struct rpt_cron {
    uint64_t minutes; /* bit m: minute m (0..59) matches */
    uint32_t hours;   /* bit h: hour h (0..23) */
    uint32_t mdays;   /* bit d: day of month d (1..31) */
    uint16_t months;  /* bit m: month m (1..12) */
    uint8_t wdays;    /* bit w: weekday w, 0 = Sunday .. 6 (7 folded into 0) */
    bool mday_star;   /* the day-of-month field began with '*' */
    bool wday_star;   /* the day-of-week field began with '*' */
} rpt_cron_t;

/*
 * Parse `expr` into *out. ERR_BAD_VALUE with a message naming the field and
 * the problem ("field 2 (hour): 24 is out of range 0-23"), also when the
 * expression can never match ("0 0 30 2 *": February has no 30th).
 * *out is written only on success.
 */
err_t rpt_cron_parse(const char *expr, rpt_cron_t *out, err_msg_t *msg) KPID_MUST_USE;

/* True when local day `day` (days since 1970-01-01) matches the day rule. */
bool rpt_cron_day_matches(const rpt_cron_t *c, int32_t day);

/*
 * The first instant strictly after `after_s` whose local wall time in `tz`
 * matches (with the gap and repeat rules above). ERR_NOT_FOUND when none
 * lies within RPT_CRON_SEARCH_DAYS days (cannot happen for an expression
 * rpt_cron_parse accepted; a safety bound, not a feature).
 */
#define RPT_CRON_SEARCH_DAYS (366 * 30)
err_t rpt_cron_next(const rpt_cron_t *c, const kpi_tz_t *tz, int64_t after_s,
                    int64_t *next_s) KPID_MUST_USE;

/*
 * The latest matching instant at or before `at_s` (the instants
 * rpt_cron_next produces, searched backwards): the due time a scheduler
 * that was not running at `at_s` has missed most recently. ERR_NOT_FOUND as
 * above.
 */
err_t rpt_cron_prev(const rpt_cron_t *c, const kpi_tz_t *tz, int64_t at_s,
                    int64_t *prev_s) KPID_MUST_USE;

#endif
