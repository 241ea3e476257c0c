/*
 * test_rpt_cron.c — cron parsing (every syntax, every error with its
 * message) and next/previous run search in UTC, America/New_York and
 * Europe/Berlin, loaded from the system zoneinfo. Expected instants are
 * worked out by hand in the comments (2026: Jan 1 is a Thursday; New York
 * springs forward Sun Mar 8 at 02:00 EST = 07:00Z and falls back Sun Nov 1
 * at 02:00 EDT = 06:00Z; Berlin springs forward Sun Mar 29 at 01:00Z and
 * falls back Sun Oct 25 at 01:00Z).
 */
#include <string.h>

#include "coll.h"
#include "kpi_date.h"
#include "rpt_cron.h"
#include "test.h"

#define ALL_MIN 0x0FFFFFFFFFFFFFFFull
#define ALL_HOUR 0xFFFFFFu
#define ALL_MDAY 0xFFFFFFFEu
#define ALL_MON 0x1FFEu
#define ALL_WDAY 0x7Fu
#define B(n) (1ull << (n))

static int64_t at(const char *s)
{
    int64_t t = 0;
    REQUIRE(kpi_time_parse_rfc3339(s, strlen(s), &t) == ERR_OK);
    return t;
}

static kpi_tz_t *zone(const char *name)
{
    kpi_tz_t *tz = NULL;
    err_msg_t m = {{0}};
    if (coll_tz_load(name, &tz, &m) != ERR_OK) {
        fprintf(stderr, "cannot load zone %s: %s\n", name, m.text);
        exit(1);
    }
    return tz;
}

static void test_parse_valid(void)
{
    static const struct {
        const char *expr;
        uint64_t min, hour, mday, mon, wday;
        int mstar, wstar;
    } rows[] = {
        {"* * * * *", ALL_MIN, ALL_HOUR, ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1},
        {"0 6 1 * *", B(0), B(6), B(1), ALL_MON, ALL_WDAY, 0, 1},
        {"  0\t12   *  *  *  ", B(0), B(12), ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1},
        {"*/15 */6 * * *", B(0) | B(15) | B(30) | B(45), B(0) | B(6) | B(12) | B(18), ALL_MDAY,
         ALL_MON, ALL_WDAY, 1, 1},
        {"5-20/5 1,3,5 * * *", B(5) | B(10) | B(15) | B(20), B(1) | B(3) | B(5), ALL_MDAY, ALL_MON,
         ALL_WDAY, 1, 1},
        {"0-4,58-59 23 * * *", B(0) | B(1) | B(2) | B(3) | B(4) | B(58) | B(59), B(23), ALL_MDAY,
         ALL_MON, ALL_WDAY, 1, 1},
        {"0 0 * jan-mar,DEC mon-fri", B(0), B(0), ALL_MDAY, B(1) | B(2) | B(3) | B(12),
         B(1) | B(2) | B(3) | B(4) | B(5), 1, 0},
        {"0 0 * * 0", B(0), B(0), ALL_MDAY, ALL_MON, B(0), 1, 0},
        {"0 0 * * 7", B(0), B(0), ALL_MDAY, ALL_MON, B(0), 1, 0},
        {"0 0 * * 5-7", B(0), B(0), ALL_MDAY, ALL_MON, B(5) | B(6) | B(0), 1, 0},
        {"0 0 * * SUN,Sat", B(0), B(0), ALL_MDAY, ALL_MON, B(0) | B(6), 1, 0},
        {"0 0 * * */2", B(0), B(0), ALL_MDAY, ALL_MON, B(0) | B(2) | B(4) | B(6), 1, 1},
        {"0 0 * * mon-fri/2", B(0), B(0), ALL_MDAY, ALL_MON, B(1) | B(3) | B(5), 1, 0},
        {"0 0 1-31/10 * *", B(0), B(0), B(1) | B(11) | B(21) | B(31), ALL_MON, ALL_WDAY, 0, 1},
        {"0 0 */10 * 1", B(0), B(0), B(1) | B(11) | B(21) | B(31), ALL_MON, B(1), 1, 0},
        {"59 23 31 12 *", B(59), B(23), B(31), B(12), ALL_WDAY, 0, 1},
        {"0 0 29 feb *", B(0), B(0), B(29), B(2), ALL_WDAY, 0, 1},
        {"0 0 30 2 mon", B(0), B(0), B(30), B(2), B(1), 0, 0}, /* OR rule: every Monday */
        {"*/60 * * * *", B(0), ALL_HOUR, ALL_MDAY, ALL_MON, ALL_WDAY, 1, 1},
        {"0 0 * */3 *", B(0), B(0), ALL_MDAY, B(1) | B(4) | B(7) | B(10), ALL_WDAY, 1, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rpt_cron_t c;
        err_msg_t m = {{0}};
        err_t e = rpt_cron_parse(rows[i].expr, &c, &m);
        CHECK_MSG(e == ERR_OK, "'%s': %s", rows[i].expr, m.text);
        if (e)
            continue;
        CHECK_MSG(c.minutes == rows[i].min, "'%s' minutes %llx", rows[i].expr,
                  (unsigned long long)c.minutes);
        CHECK_MSG(c.hours == rows[i].hour, "'%s' hours %x", rows[i].expr, c.hours);
        CHECK_MSG(c.mdays == rows[i].mday, "'%s' mdays %x", rows[i].expr, c.mdays);
        CHECK_MSG(c.months == rows[i].mon, "'%s' months %x", rows[i].expr, c.months);
        CHECK_MSG(c.wdays == rows[i].wday, "'%s' wdays %x", rows[i].expr, c.wdays);
        CHECK_MSG(c.mday_star == rows[i].mstar && c.wday_star == rows[i].wstar, "'%s' stars",
                  rows[i].expr);
    }
}

static void test_parse_invalid(void)
{
    static const struct {
        const char *expr, *msg;
    } rows[] = {
        {"", "cron expression '' has 0 fields; expected 5: minute hour day-of-month month "
             "day-of-week (e.g. '0 6 1 * *')"},
        {"30 2 *", "cron expression '30 2 *' has 3 fields; expected 5: minute hour day-of-month "
                   "month day-of-week (e.g. '0 6 1 * *')"},
        {"0 0 * * * *", "cron expression '0 0 * * * *' has 6 fields; expected 5: minute hour "
                        "day-of-month month day-of-week (e.g. '0 6 1 * *')"},
        {"60 * * * *", "field 1 (minute): 60 is out of range 0-59"},
        {"0 24 * * *", "field 2 (hour): 24 is out of range 0-23"},
        {"0 0 0 * *", "field 3 (day-of-month): 0 is out of range 1-31"},
        {"0 0 32 * *", "field 3 (day-of-month): 32 is out of range 1-31"},
        {"0 0 * 0 *", "field 4 (month): 0 is out of range 1-12"},
        {"0 0 * 13 *", "field 4 (month): 13 is out of range 1-12"},
        {"0 0 * * 8", "field 5 (day-of-week): 8 is out of range 0-7"},
        {"99999999999 * * * *", "field 1 (minute): 99999999999 is out of range 0-59"},
        {"0 0 * foo *", "field 4 (month): 'foo' is not a number or a name (jan-dec)"},
        {"0 0 * * xyz", "field 5 (day-of-week): 'xyz' is not a number or a name (sun-sat)"},
        {"0 0 * * monday", "field 5 (day-of-week): 'monday' is not a number or a name (sun-sat)"},
        {"0 0 mon * *", "field 3 (day-of-month): 'mon' is not a number"},
        {"a * * * *", "field 1 (minute): 'a' is not a number"},
        {"1x * * * *", "field 1 (minute): '1x' is not a number"},
        {"*/0 * * * *", "field 1 (minute): step 0 is out of range 1-60"},
        {"*/61 * * * *", "field 1 (minute): step 61 is out of range 1-60"},
        {"0 */25 * * *", "field 2 (hour): step 25 is out of range 1-24"},
        {"* * * * 0-7/8", "field 5 (day-of-week): step 8 is out of range 1-7"},
        {"*/ * * * *", "field 1 (minute): '*/' has no step after '/'"},
        {"*/x * * * *", "field 1 (minute): step 'x' is not a number"},
        {"5/15 * * * *", "field 1 (minute): a step needs '*' or a range before it ('5/15': "
                         "write e.g. 5-59/15)"},
        {"30-10 * * * *", "field 1 (minute): range '30-10' goes backwards (ranges do not wrap)"},
        {"0 0 * * fri-mon",
         "field 5 (day-of-week): range 'fri-mon' goes backwards (ranges do not wrap)"},
        {"1,,2 * * * *", "field 1 (minute): empty item in list '1,,2'"},
        {",1 * * * *", "field 1 (minute): empty item in list ',1'"},
        {"0 0 1, * *", "field 3 (day-of-month): empty item in list '1,'"},
        {"1- * * * *", "field 1 (minute): a value is missing"},
        {"-5 * * * *", "field 1 (minute): a value is missing"},
        {"0 0 30 2 *", "cron expression '0 0 30 2 *' never matches: none of its days of the "
                       "month occurs in february"},
        {"0 0 31 4,6,9,11 *", "cron expression '0 0 31 4,6,9,11 *' never matches: none of its "
                              "days of the month occurs in april or its other months"},
        {"0 0 30,31 feb */1", "cron expression '0 0 30,31 feb */1' never matches: none of its "
                              "days of the month occurs in february"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rpt_cron_t c;
        memset(&c, 0xAB, sizeof c);
        rpt_cron_t before = c;
        err_msg_t m = {{0}};
        CHECK_ERR(ERR_BAD_VALUE, rpt_cron_parse(rows[i].expr, &c, &m));
        CHECK_STR(rows[i].msg, m.text);
        CHECK_MSG(memcmp(&c, &before, sizeof c) == 0, "'%s' wrote *out on error", rows[i].expr);
    }
    char lng[200];
    memset(lng, '1', sizeof lng - 1);
    lng[sizeof lng - 1] = '\0';
    rpt_cron_t c;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_BAD_VALUE, rpt_cron_parse(lng, &c, &m));
    CHECK_STR("cron expression is longer than 127 bytes", m.text);
}

typedef struct {
    const char *zone, *expr, *after, *expect, *why;
} next_row_t;

static const next_row_t next_rows[] = {
    /* New York, spring forward Sun 2026-03-08: 02:00 EST jumps to 03:00 EDT (07:00Z). */
    {"America/New_York", "30 2 * * *", "2026-03-07T12:00:00Z", "2026-03-08T07:00:00Z",
     "02:30 does not exist: first instant after the gap, 03:00 EDT"},
    {"America/New_York", "30 2 * * *", "2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z",
     "the next day 02:30 EDT = 06:30Z"},
    {"America/New_York", "*/15 2 * * *", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
     "02:00..02:45 all fall in the gap: one run at 03:00 EDT"},
    {"America/New_York", "*/15 2 * * *", "2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z",
     "the collapsed runs do not repeat: next is Mar 9 02:00 EDT"},
    {"America/New_York", "0 3 * * *", "2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z",
     "03:00 EDT exists: 07:00Z"},
    {"America/New_York", "59 1 * * *", "2026-03-08T00:00:00Z", "2026-03-08T06:59:00Z",
     "01:59 EST, just before the gap"},
    /* New York, fall back Sun 2026-11-01: 02:00 EDT (06:00Z) back to 01:00 EST. */
    {"America/New_York", "30 1 * * *", "2026-11-01T04:00:00Z", "2026-11-01T05:30:00Z",
     "01:30 occurs twice: the first occurrence, 01:30 EDT"},
    {"America/New_York", "30 1 * * *", "2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z",
     "not again at 01:30 EST (06:30Z): next day 01:30 EST"},
    {"America/New_York", "0 * * * *", "2026-11-01T05:00:00Z", "2026-11-01T07:00:00Z",
     "hourly: the repeated 01:00 EST (06:00Z) is skipped, next 02:00 EST"},
    {"America/New_York", "0 2 * * *", "2026-11-01T05:30:00Z", "2026-11-01T07:00:00Z",
     "02:00 EST = 07:00Z"},
    {"America/New_York", "0 0 1 * *", "2026-06-15T00:00:00Z", "2026-07-01T04:00:00Z",
     "midnight EDT = 04:00Z"},
    /* Berlin, spring forward Sun 2026-03-29 at 01:00Z (02:00 CET -> 03:00 CEST). */
    {"Europe/Berlin", "30 2 * * *", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z",
     "02:30 does not exist: 03:00 CEST = 01:00Z"},
    {"Europe/Berlin", "30 2 * * *", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z",
     "next day 02:30 CEST = 00:30Z"},
    /* Berlin, fall back Sun 2026-10-25 at 01:00Z (03:00 CEST -> 02:00 CET). */
    {"Europe/Berlin", "30 2 * * *", "2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z",
     "02:30 CEST, first occurrence"},
    {"Europe/Berlin", "30 2 * * *", "2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z",
     "not again at 02:30 CET (01:30Z): next day 02:30 CET"},
    {"Europe/Berlin", "0 3 * * *", "2026-10-25T00:30:00Z", "2026-10-25T02:00:00Z",
     "03:00 CET = 02:00Z (after the repeat)"},
    /* Year rollover in Berlin: 2027-01-01 00:00 CET = 2026-12-31T23:00Z. */
    {"Europe/Berlin", "0 0 1 * *", "2026-12-15T00:00:00Z", "2026-12-31T23:00:00Z",
     "new year's midnight CET"},
    {"Europe/Berlin", "0 0 1 * *", "2026-12-31T23:00:00Z", "2027-01-31T23:00:00Z",
     "strictly after: Feb 1 00:00 CET"},
    {"UTC", "59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z", "a year later"},
    /* Month ends. */
    {"UTC", "0 0 31 * *", "2026-01-31T00:00:00Z", "2026-03-31T00:00:00Z", "February has no 31st"},
    {"UTC", "0 0 31 * *", "2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "April has no 31st"},
    {"UTC", "0 0 30 * *", "2026-01-30T00:00:00Z", "2026-03-30T00:00:00Z", "nor a 30th"},
    /* Feb 29: leap years only; 2100 is not one. */
    {"UTC", "0 12 29 2 *", "2026-01-01T00:00:00Z", "2028-02-29T12:00:00Z", "next leap year"},
    {"UTC", "0 12 29 2 *", "2028-02-29T12:00:00Z", "2032-02-29T12:00:00Z", "four years on"},
    {"UTC", "0 12 29 2 *", "2096-03-01T00:00:00Z", "2104-02-29T12:00:00Z", "2100 skipped"},
    /* Day of month OR day of week when both are restricted: "13th or Friday".
       April 2026: Apr 1 is a Wednesday, Fridays 3, 10, 17; the 13th a Monday. */
    {"UTC", "0 9 13 * 5", "2026-04-01T00:00:00Z", "2026-04-03T09:00:00Z", "Friday the 3rd"},
    {"UTC", "0 9 13 * 5", "2026-04-10T10:00:00Z", "2026-04-13T09:00:00Z", "Monday the 13th"},
    {"UTC", "0 9 13 * 5", "2026-04-13T09:00:00Z", "2026-04-17T09:00:00Z", "Friday the 17th"},
    /* "*" + "/10" in day-of-month is unrestricted by the Vixie rule: AND with
       Monday: days 1, 11, 21, 31 that are Mondays; first is Mon 2026-05-11
       (May 1 is a Friday). */
    {"UTC", "0 9 */10 * 1", "2026-01-01T00:00:00Z", "2026-05-11T09:00:00Z", "AND rule"},
    /* Lists, ranges, steps. Fri 2026-01-02 09:45Z -> Mon Jan 5 08:15Z. */
    {"UTC", "15,45 8-9 * * mon-fri", "2026-01-02T09:45:00Z", "2026-01-05T08:15:00Z",
     "over the weekend"},
    {"UTC", "15,45 8-9 * * mon-fri", "2026-01-05T08:15:00Z", "2026-01-05T08:45:00Z", "list"},
    {"UTC", "*/20 * * * *", "2026-01-01T00:40:00Z", "2026-01-01T01:00:00Z", "step wraps hour"},
    {"UTC", "*/20 * * * *", "2026-01-01T00:39:59Z", "2026-01-01T00:40:00Z", "seconds"},
    {"UTC", "10-50/20 * * * *", "2026-01-01T00:30:00Z", "2026-01-01T00:50:00Z", "range step"},
    {"UTC", "0 0 * * 7", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00Z", "7 is Sunday"},
    {"UTC", "0 6 1 jan,jul *", "2026-01-01T06:00:00Z", "2026-07-01T06:00:00Z", "month list"},
    {"UTC", "0 0 1 1 *", "1999-12-31T23:59:59Z", "2000-01-01T00:00:00Z", "century"},
    /* Havana springs forward at midnight: Sun 2026-03-08 00:00 CST (05:00Z)
       becomes 01:00 CDT, so local midnight does not exist that day. */
    {"America/Havana", "0 0 * * *", "2026-03-07T12:00:00Z", "2026-03-08T05:00:00Z",
     "midnight in the gap: 01:00 CDT"},
    {"America/Havana", "30 0 * * *", "2026-03-07T12:00:00Z", "2026-03-08T05:00:00Z",
     "00:30 in the gap too"},
    {"America/Havana", "0 0 * * *", "2026-03-08T05:00:00Z", "2026-03-09T04:00:00Z",
     "next midnight is CDT (UTC-4)"},
    /* Sydney (southern hemisphere): falls back Sun 2026-04-05 03:00 AEDT
       (16:00Z Apr 4) to 02:00 AEST; springs forward Sun 2026-10-04 02:00
       AEST (16:00Z Oct 3) to 03:00 AEDT. */
    {"Australia/Sydney", "30 2 * * *", "2026-04-04T12:00:00Z", "2026-04-04T15:30:00Z",
     "02:30 AEDT, first occurrence"},
    {"Australia/Sydney", "30 2 * * *", "2026-04-04T15:30:00Z", "2026-04-05T16:30:00Z",
     "not at 02:30 AEST (16:30Z Apr 4): Apr 6 02:30 AEST"},
    {"Australia/Sydney", "30 2 * * *", "2026-10-03T12:00:00Z", "2026-10-03T16:00:00Z",
     "gap: 03:00 AEDT"},
};

static void test_next(void)
{
    static const char *const names[] = {"UTC", "America/New_York", "Europe/Berlin",
                                        "America/Havana", "Australia/Sydney"};
    kpi_tz_t *zones[5];
    for (int z = 0; z < 5; z++)
        zones[z] = zone(names[z]);
    for (size_t i = 0; i < sizeof next_rows / sizeof next_rows[0]; i++) {
        const next_row_t *r = &next_rows[i];
        const kpi_tz_t *tz = NULL;
        for (int z = 0; z < 5; z++)
            if (strcmp(r->zone, names[z]) == 0)
                tz = zones[z];
        REQUIRE(tz != NULL);
        rpt_cron_t c;
        err_msg_t m = {{0}};
        REQUIRE(rpt_cron_parse(r->expr, &c, &m) == ERR_OK);
        int64_t got = 0;
        err_t e = rpt_cron_next(&c, tz, at(r->after), &got);
        char buf[KPI_TIME_BUF];
        CHECK_MSG(e == ERR_OK && got == at(r->expect),
                  "row %zu %s '%s' after %s (%s): expected %s, got %s (%s)", i, r->zone, r->expr,
                  r->after, r->why, r->expect, kpi_time_format_utc(got, buf), err_code(e));
        /* prev is the inverse: the latest run at or before `got` is `got`. */
        int64_t back = 0;
        e = rpt_cron_prev(&c, tz, got, &back);
        CHECK_MSG(e == ERR_OK && back == got, "row %zu: prev(%s) = %s", i, r->expect,
                  kpi_time_format_utc(back, buf));
        /* ... and nothing matched between after and got. */
        e = rpt_cron_prev(&c, tz, got - 1, &back);
        CHECK_MSG(e != ERR_OK || back <= at(r->after), "row %zu: prev(got - 1) = %s is after %s", i,
                  kpi_time_format_utc(back, buf), r->after);
    }
    for (int z = 0; z < 5; z++)
        kpi_tz_free(zones[z]);
}

static void test_prev(void)
{
    kpi_tz_t *ny = zone("America/New_York"), *utc = zone("UTC");
    static const struct {
        int ny;
        const char *expr, *at, *expect;
    } rows[] = {
        {0, "0 6 * * *", "2026-03-10T06:00:00Z", "2026-03-10T06:00:00Z"}, /* at counts */
        {0, "0 6 * * *", "2026-03-10T05:59:59Z", "2026-03-09T06:00:00Z"},
        {0, "0 12 29 2 *", "2031-01-01T00:00:00Z", "2028-02-29T12:00:00Z"},
        {0, "0 0 1 1 *", "2000-01-01T00:00:00Z", "2000-01-01T00:00:00Z"},
        {0, "0 0 1 1 *", "1999-12-31T23:59:59Z", "1999-01-01T00:00:00Z"},
        /* The gap run of 02:30 on 2026-03-08 is 03:00 EDT = 07:00Z. */
        {1, "30 2 * * *", "2026-03-08T08:00:00Z", "2026-03-08T07:00:00Z"},
        /* After both 01:30s of 2026-11-01: the first one, 01:30 EDT = 05:30Z. */
        {1, "30 1 * * *", "2026-11-01T07:00:00Z", "2026-11-01T05:30:00Z"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rpt_cron_t c;
        REQUIRE(rpt_cron_parse(rows[i].expr, &c, NULL) == ERR_OK);
        int64_t got = 0;
        err_t e = rpt_cron_prev(&c, rows[i].ny ? ny : utc, at(rows[i].at), &got);
        char buf[KPI_TIME_BUF];
        CHECK_MSG(e == ERR_OK && got == at(rows[i].expect),
                  "row %zu '%s' at %s: expected %s, got %s", i, rows[i].expr, rows[i].at,
                  rows[i].expect, kpi_time_format_utc(got, buf));
    }
    kpi_tz_free(ny);
    kpi_tz_free(utc);
}

/* Stepping through two years of Berlin time: next(t) > t, nothing matches in
   between (prev(next - 1) <= t), and every result is a matching local time
   or the end of a gap. */
static void test_next_prev_agree(void)
{
    kpi_tz_t *be = zone("Europe/Berlin");
    const char *exprs[] = {"*/20 1-3 * * *", "30 2 * * sun", "0 0 1,15 * *", "45 23 * * 1-5"};
    for (size_t k = 0; k < sizeof exprs / sizeof exprs[0]; k++) {
        rpt_cron_t c;
        REQUIRE(rpt_cron_parse(exprs[k], &c, NULL) == ERR_OK);
        int fails = 0;
        for (int64_t t = at("2026-01-01T00:00:00Z"); t < at("2028-01-01T00:00:00Z") && fails < 3;
             t += 7 * 3600 + 13 * 60 + 7) {
            int64_t n = 0, p = 0;
            if (rpt_cron_next(&c, be, t, &n) != ERR_OK || n <= t ||
                rpt_cron_prev(&c, be, n - 1, &p) != ERR_OK || p > t) {
                fails++;
                CHECK_MSG(0, "'%s' at %lld: next %lld prev %lld", exprs[k], (long long)t,
                          (long long)n, (long long)p);
            }
            int64_t local = n + kpi_tz_offset_at(be, n);
            int32_t day = kpi_utc_day(local);
            int64_t sec = local - kpi_day_start_utc(day);
            bool wall_ok = (c.minutes >> (sec / 60 % 60) & 1) && (c.hours >> (sec / 3600) & 1) &&
                           rpt_cron_day_matches(&c, day);
            bool gap_end = kpi_tz_offset_at(be, n - 1) != kpi_tz_offset_at(be, n);
            if (!wall_ok && !gap_end) {
                fails++;
                CHECK_MSG(0, "'%s': %lld is not a matching local time", exprs[k], (long long)n);
            }
        }
    }
    kpi_tz_free(be);
}

static void test_day_matches(void)
{
    rpt_cron_t c;
    REQUIRE(rpt_cron_parse("0 0 13 * fri", &c, NULL) == ERR_OK);
    CHECK(rpt_cron_day_matches(&c, kpi_days_from_civil(2026, 4, 13)));  /* Monday 13th */
    CHECK(rpt_cron_day_matches(&c, kpi_days_from_civil(2026, 4, 17)));  /* Friday */
    CHECK(!rpt_cron_day_matches(&c, kpi_days_from_civil(2026, 4, 14))); /* Tuesday 14th */
    REQUIRE(rpt_cron_parse("0 0 13 * *", &c, NULL) == ERR_OK);
    CHECK(!rpt_cron_day_matches(&c, kpi_days_from_civil(2026, 4, 17)));
    REQUIRE(rpt_cron_parse("0 0 * feb *", &c, NULL) == ERR_OK);
    CHECK(!rpt_cron_day_matches(&c, kpi_days_from_civil(2026, 3, 1)));
    CHECK(rpt_cron_day_matches(&c, kpi_days_from_civil(2026, 2, 28)));
}

/* An expression the parser would refuse, built by hand: next reports it. */
static void test_never(void)
{
    kpi_tz_t *utc = zone("UTC");
    rpt_cron_t c = {.minutes = 1,
                    .hours = 1,
                    .mdays = B(31),
                    .months = B(2),
                    .wdays = ALL_WDAY,
                    .mday_star = false,
                    .wday_star = true};
    int64_t t = 0;
    CHECK_ERR(ERR_NOT_FOUND, rpt_cron_next(&c, utc, 0, &t));
    CHECK_ERR(ERR_NOT_FOUND, rpt_cron_prev(&c, utc, 0, &t));
    c.minutes = 0;
    CHECK_ERR(ERR_NOT_FOUND, rpt_cron_next(&c, utc, 0, &t));
    kpi_tz_free(utc);
}

static uint32_t rnd(uint32_t *seed, uint32_t n)
{
    *seed = *seed * 1103515245u + 12345u;
    return (*seed >> 16) % n;
}

/* Random expressions built from cron's items with values around each
   field's range: the parser either refuses one with a message or accepts
   one that has a next and a previous run (so the "never matches" check is
   complete). Deterministic (fixed seed). */
static void test_random_expressions(void)
{
    kpi_tz_t *be = zone("Europe/Berlin");
    static const int hi[5] = {59, 23, 31, 12, 7};
    static const char *const names[] = {"jan", "feb", "apr", "sun", "fri", "foo"};
    uint32_t seed = 12345;
    int accepted = 0, refused = 0;
    for (int i = 0; i < 20000; i++) {
        char expr[96];
        size_t n = 0;
        for (int f = 0; f < 5; f++) {
            /* Days of month and months small and varied, so that "30 2" and
               "31 4,6" combinations come up. */
            int a = (int)rnd(&seed, (uint32_t)hi[f] + 3), b = (int)rnd(&seed, (uint32_t)hi[f] + 3);
            int st = 1 + (int)rnd(&seed, 12);
            static const int short_months[] = {2, 4, 6, 9, 11};
            if (f == 2 && rnd(&seed, 2)) { /* month ends */
                a = 28 + (int)rnd(&seed, 5);
                b = 28 + (int)rnd(&seed, 5);
            }
            if (f == 3 && rnd(&seed, 2)) {
                a = short_months[rnd(&seed, 5)];
                b = short_months[rnd(&seed, 5)];
            }
            if (f == 4 && rnd(&seed, 2)) {
                n += (size_t)snprintf(expr + n, sizeof expr - n, " *");
                continue;
            }
            const char *nm = names[rnd(&seed, 6)];
            char item[32];
            switch (rnd(&seed, 8)) {
            case 0: snprintf(item, sizeof item, "*"); break;
            case 1: snprintf(item, sizeof item, "%d", a); break;
            case 2: snprintf(item, sizeof item, "%d-%d", a, b); break;
            case 3: snprintf(item, sizeof item, "*/%d", st); break;
            case 4: snprintf(item, sizeof item, "%d,%d", a, b); break;
            case 5: snprintf(item, sizeof item, "%d-%d/%d", a, b, st); break;
            case 6: snprintf(item, sizeof item, "%s", nm); break;
            default: snprintf(item, sizeof item, "%d,%s", a, nm); break;
            }
            n += (size_t)snprintf(expr + n, sizeof expr - n, "%s%s", f ? " " : "", item);
        }
        rpt_cron_t c;
        err_msg_t m = {{0}};
        err_t e = rpt_cron_parse(expr, &c, &m);
        if (e) {
            refused++;
            CHECK_MSG(e == ERR_BAD_VALUE && m.text[0] != '\0', "'%s': %s", expr, err_code(e));
            continue;
        }
        accepted++;
        int64_t t;
        CHECK_MSG(rpt_cron_next(&c, be, 1767225600, &t) == ERR_OK, "'%s' accepted, no next", expr);
        CHECK_MSG(rpt_cron_prev(&c, be, 1767225600, &t) == ERR_OK, "'%s' accepted, no prev", expr);
    }
    CHECK_MSG(accepted > 200 && refused > 200, "accepted %d, refused %d", accepted, refused);
    kpi_tz_free(be);
}

int main(void)
{
    RUN(test_parse_valid);
    RUN(test_parse_invalid);
    RUN(test_next);
    RUN(test_prev);
    RUN(test_next_prev_agree);
    RUN(test_day_matches);
    RUN(test_never);
    RUN(test_random_expressions);
    return test_summary();
}
