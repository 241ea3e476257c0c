/*
 * test_rpt_parse.c — report kinds and PERIOD text (reports/rpt_parse.c):
 * every form, ISO weeks across year ends (week 1 starting in December,
 * week 53 only in long years), quarters, leap years, and every bad input
 * with its message.
 */
#include <string.h>

#include "kpi_date.h"
#include "rpt.h"
#include "test.h"

static int32_t D(int y, int m, int d)
{
    return kpi_days_from_civil(y, m, d);
}

static void test_kinds(void)
{
    static const char *const names[] = {"sla",     "aging",    "dso",  "ftq",
                                        "summary", "payables", "xlsx", "statement"};
    for (int k = 0; k < RPT_KIND_COUNT; k++) {
        rpt_kind_t out = (rpt_kind_t)-1;
        CHECK_ERR(ERR_OK, rpt_kind_parse(names[k], &out));
        CHECK_INT(k, out);
        CHECK_STR(names[k], rpt_kind_name((rpt_kind_t)k));
        CHECK(rpt_kind_title((rpt_kind_t)k)[0] != '\0');
    }
    CHECK_INT(RPT_SLA, 0);
    CHECK_INT(RPT_SUMMARY, 4);
    CHECK_INT(RPT_PAYABLES, 5);
    CHECK_INT(RPT_XLSX, 6);
    CHECK_INT(RPT_STATEMENT, 7);
    CHECK_STR("KPI workbook", rpt_kind_title(RPT_XLSX));
    CHECK_STR("Statement of account", rpt_kind_title(RPT_STATEMENT));
    static const char *const bad[] = {"", "SLA", "aging ", "dso2", "summar", "all", "payable"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rpt_kind_t out;
        CHECK_MSG(rpt_kind_parse(bad[i], &out) == ERR_BAD_PARAM, "'%s'", bad[i]);
    }
    rpt_kind_t out;
    CHECK_ERR(ERR_BAD_PARAM, rpt_kind_parse(NULL, &out));
    CHECK_STR("", rpt_kind_name((rpt_kind_t)RPT_KIND_COUNT));
    CHECK_STR("", rpt_kind_name((rpt_kind_t)-1));
    CHECK_STR("", rpt_kind_title((rpt_kind_t)9));
}

typedef struct good {
    const char *s;
    int y0, m0, d0, y1, m1, d1;
} good_t;

static void test_periods(void)
{
    static const good_t rows[] = {
        {"2025-11", 2025, 11, 1, 2025, 11, 30},
        {"2025-12", 2025, 12, 1, 2025, 12, 31},
        {"2024-02", 2024, 2, 1, 2024, 2, 29}, /* leap year */
        {"2025-02", 2025, 2, 1, 2025, 2, 28},
        {"2025-Q1", 2025, 1, 1, 2025, 3, 31},
        {"2025-Q2", 2025, 4, 1, 2025, 6, 30},
        {"2025-Q3", 2025, 7, 1, 2025, 9, 30},
        {"2025-Q4", 2025, 10, 1, 2025, 12, 31},
        {"2025-W47", 2025, 11, 17, 2025, 11, 23},
        /* week 1 of 2025 starts on Monday 30 December 2024 */
        {"2025-W01", 2024, 12, 30, 2025, 1, 5},
        /* week 1 of 2021 starts in January: 1-3 January 2021 are 2020-W53 */
        {"2021-W01", 2021, 1, 4, 2021, 1, 10},
        {"2020-W53", 2020, 12, 28, 2021, 1, 3},
        {"2015-W53", 2015, 12, 28, 2016, 1, 3},
        {"2026-W53", 2026, 12, 28, 2027, 1, 3},
        {"2025-W52", 2025, 12, 22, 2025, 12, 28},
        {"2025", 2025, 1, 1, 2025, 12, 31},
        {"2025-01-01..2025-03-31", 2025, 1, 1, 2025, 3, 31},
        {"2025-03-05..2025-03-05", 2025, 3, 5, 2025, 3, 5},
        {"1969-12-31..1970-01-01", 1969, 12, 31, 1970, 1, 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const good_t *r = &rows[i];
        int32_t a = 0, b = 0;
        err_msg_t m = {{0}};
        err_t e = rpt_period_parse(r->s, &a, &b, &m);
        CHECK_MSG(e == ERR_OK, "%s: %s", r->s, m.text);
        char ea[KPI_DATE_BUF], eb[KPI_DATE_BUF], ga[KPI_DATE_BUF], gb[KPI_DATE_BUF];
        kpi_date_format(D(r->y0, r->m0, r->d0), ea);
        kpi_date_format(D(r->y1, r->m1, r->d1), eb);
        CHECK_MSG(a == D(r->y0, r->m0, r->d0) && b == D(r->y1, r->m1, r->d1),
                  "%s: expected %s..%s, got %s..%s", r->s, ea, eb, kpi_date_format(a, ga),
                  kpi_date_format(b, gb));
    }
    /* Every ISO week is 7 days from a Monday, and the weeks of a year tile it. */
    for (int y = 2000; y <= 2030; y++) {
        int32_t prev_end = 0;
        for (int w = 1; w <= 53; w++) {
            char s[16];
            snprintf(s, sizeof s, "%d-W%02d", y, w);
            int32_t a, b;
            err_t e = rpt_period_parse(s, &a, &b, NULL);
            if (e != ERR_OK) {
                CHECK_MSG(w == 53, "%s refused", s);
                continue;
            }
            CHECK_MSG(kpi_weekday(a) == 1 && b == a + 6, "%s", s);
            CHECK_MSG(w == 1 || a == prev_end + 1, "%s does not follow the week before", s);
            prev_end = b;
        }
    }
}

typedef struct bad {
    const char *s;
    const char *msg;
} bad_t;

#define FORMS "use YYYY-MM, YYYY-Qn, YYYY-Wnn, YYYY or YYYY-MM-DD..YYYY-MM-DD"

static void test_bad_periods(void)
{
    static const bad_t rows[] = {
        {"", "period is empty: " FORMS},
        {"2025-13", "period '2025-13': month must be 01 to 12"},
        {"2025-00", "period '2025-00': month must be 01 to 12"},
        {"2025-Q0", "period '2025-Q0': quarter must be Q1 to Q4"},
        {"2025-Q5", "period '2025-Q5': quarter must be Q1 to Q4"},
        {"2025-W00", "period '2025-W00': ISO year 2025 has weeks W01 to W52"},
        {"2025-W53", "period '2025-W53': ISO year 2025 has weeks W01 to W52"},
        {"2020-W54", "period '2020-W54': ISO year 2020 has weeks W01 to W53"},
        {"1899-01", "period '1899-01': year must be 1900 to 9999"},
        {"nov", "period 'nov' is not a period: " FORMS},
        {"2025-1", "period '2025-1' is not a period: " FORMS},
        {"2025-W1", "period '2025-W1' is not a period: " FORMS},
        {"2025-q4", "period '2025-q4' is not a period: " FORMS},
        {"2025/11", "period '2025/11' is not a period: " FORMS},
        {"2025-11-01", "period '2025-11-01' is not a period: " FORMS},
        {"20255", "period '20255' is not a period: " FORMS},
        {"2025-11 ", "period '2025-11 ' is not a period: " FORMS},
        {"2025-03-31..2025-01-01", "period '2025-03-31..2025-01-01': the first day is after the "
                                   "last"},
        {"2025-01-01..", "period '2025-01-01..': a range needs two dates YYYY-MM-DD..YYYY-MM-DD"},
        {"..2025-01-01", "period '..2025-01-01': a range needs two dates YYYY-MM-DD..YYYY-MM-DD"},
        {"2025-02-30..2025-03-01",
         "period '2025-02-30..2025-03-01': a range needs two dates YYYY-MM-DD..YYYY-MM-DD"},
        {"2025-01-01...2025-01-02",
         "period '2025-01-01...2025-01-02': a range needs two dates YYYY-MM-DD..YYYY-MM-DD"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int32_t a = 7, b = 8;
        err_msg_t m = {{0}};
        err_t e = rpt_period_parse(rows[i].s, &a, &b, &m);
        CHECK_MSG(e == ERR_BAD_PARAM, "'%s' accepted", rows[i].s);
        CHECK_STR(rows[i].msg, m.text);
        CHECK_MSG(a == 7 && b == 8, "'%s' changed the output", rows[i].s);
    }
    int32_t a, b;
    CHECK_ERR(ERR_BAD_PARAM, rpt_period_parse(NULL, &a, &b, NULL));
}

/* A statement's days: every default, the cut at as_of, and each refusal. */
static void test_statement_days(void)
{
    const int32_t today = D(2025, 7, 10);
    typedef struct row {
        const char *what;
        rpt_days_t asked;
        err_t want;
        int32_t from, to, as_of;
        const char *msg;
    } row_t;
    const row_t rows[] = {
        {"nothing: the month up to today", {0}, ERR_OK, D(2025, 7, 1), today, today, ""},
        {"as_of only: its month",
         {.has_as_of = true, .as_of = D(2025, 6, 30)},
         ERR_OK,
         D(2025, 6, 1),
         D(2025, 6, 30),
         D(2025, 6, 30),
         ""},
        {"as_of on the 1st: one day",
         {.has_as_of = true, .as_of = D(2025, 6, 1)},
         ERR_OK,
         D(2025, 6, 1),
         D(2025, 6, 1),
         D(2025, 6, 1),
         ""},
        {"a period over: as of its end",
         {true, D(2025, 4, 1), D(2025, 6, 30), false, 0},
         ERR_OK,
         D(2025, 4, 1),
         D(2025, 6, 30),
         D(2025, 6, 30),
         ""},
        {"a period running: to today",
         {true, D(2025, 7, 1), D(2025, 7, 31), false, 0},
         ERR_OK,
         D(2025, 7, 1),
         today,
         today,
         ""},
        {"a period and a later as_of",
         {true, D(2025, 5, 1), D(2025, 5, 31), true, D(2025, 6, 15)},
         ERR_OK,
         D(2025, 5, 1),
         D(2025, 5, 31),
         D(2025, 6, 15),
         ""},
        {"a period cut at as_of",
         {true, D(2025, 6, 1), D(2025, 6, 30), true, D(2025, 6, 15)},
         ERR_OK,
         D(2025, 6, 1),
         D(2025, 6, 15),
         D(2025, 6, 15),
         ""},
        {"as_of after today",
         {.has_as_of = true, .as_of = D(2025, 7, 11)},
         ERR_BAD_PARAM,
         0,
         0,
         0,
         "as_of 2025-07-11 is after today (2025-07-10): a statement shows what has happened"},
        {"a period after as_of",
         {true, D(2025, 6, 1), D(2025, 6, 30), true, D(2025, 5, 31)},
         ERR_BAD_PARAM,
         0,
         0,
         0,
         "the period starts on 2025-06-01, after as_of 2025-05-31"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const row_t *r = &rows[i];
        rpt_request_t rq = {.kind = RPT_STATEMENT};
        err_msg_t m = {{0}};
        err_t e = rpt_statement_days(&r->asked, today, &rq, &m);
        CHECK_MSG(e == r->want, "%s: got %s", r->what, err_str(e));
        if (e == ERR_OK) {
            CHECK_MSG(rq.from_day == r->from && rq.to_day == r->to && rq.as_of_day == r->as_of,
                      "%s: got %d %d %d, expected %d %d %d", r->what, (int)rq.from_day,
                      (int)rq.to_day, (int)rq.as_of_day, (int)r->from, (int)r->to, (int)r->as_of);
        } else {
            CHECK_STR(r->msg, m.text);
        }
    }
}

int main(void)
{
    RUN(test_kinds);
    RUN(test_statement_days);
    RUN(test_periods);
    RUN(test_bad_periods);
    return test_summary();
}
