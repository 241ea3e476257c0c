/*
 * test_api_params.c — api/api_params.c: every query-parameter parser, its
 * accepted forms, its limits and the message a 400 carries.
 */
#include <string.h>

#include "api_params.h"
#include "kpi_date.h"
#include "kpi_event.h"
#include "test.h"

static int32_t day(int32_t y, int32_t m, int32_t d)
{
    return kpi_days_from_civil(y, m, d);
}

static void test_date(void)
{
    err_msg_t m = {{0}};
    int32_t d = -1;
    CHECK_ERR(ERR_OK, api_param_date("as_of", "2025-03-31", &d, &m));
    CHECK_INT(day(2025, 3, 31), d);
    static const char *const bad[] = {"", "2025-3-31", "2025-02-29", "2025-03-31T00:00:00Z",
                                      "31.03.2025"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_current_ = bad[i];
        CHECK_ERR(ERR_BAD_PARAM, api_param_date("to", bad[i], &d, &m));
    }
    CHECK_STR("parameter 'to': '31.03.2025' is not a date (YYYY-MM-DD)", m.text);
}

static void test_word(void)
{
    static const char *const w[] = {"due_date", "invoice_date", NULL};
    err_msg_t m = {{0}};
    int out = 7;
    CHECK_ERR(ERR_OK, api_param_word("basis", "invoice_date", w, &out, &m));
    CHECK_INT(1, out);
    out = 7;
    CHECK_ERR(ERR_BAD_PARAM, api_param_word("basis", "Due_Date", w, &out, &m));
    CHECK_INT(7, out);
    CHECK_STR("parameter 'basis': 'Due_Date' is not one of: due_date, invoice_date (did you mean "
              "'due_date'?)",
              m.text);
    CHECK_ERR(ERR_BAD_PARAM, api_param_word("basis", "", w, &out, &m));
}

static void test_name(void)
{
    err_msg_t m = {{0}};
    char big[KPI_NAME_MAX + 2];
    memset(big, 'n', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    CHECK_ERR(ERR_BAD_PARAM, api_param_name("customer", big, &m));
    CHECK_STR("parameter 'customer' must be 1 to 256 bytes", m.text);
    big[KPI_NAME_MAX] = '\0';
    CHECK_ERR(ERR_OK, api_param_name("customer", big, &m));
    CHECK_ERR(ERR_BAD_PARAM, api_param_name("business_unit", "", &m));
}

static void test_edges(void)
{
    static const struct {
        const char *s;
        err_t e;
        size_t n;
        int32_t last;
    } rows[] = {
        {"30,60,90,120", ERR_OK, 4, 120},
        {"7", ERR_OK, 1, 7},
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14", ERR_OK, 14, 14},
        {"1,2,3,4,5,6,7,8,9,10,11,12,13,14,15", ERR_BAD_PARAM, 0, 0},
        {"36500", ERR_OK, 1, 36500},
        {"36501", ERR_BAD_PARAM, 0, 0},
        {"100001", ERR_BAD_PARAM, 0, 0},
        {"99999999999999999999999", ERR_BAD_PARAM, 0, 0},
        {"0", ERR_BAD_PARAM, 0, 0},
        {"60,30", ERR_BAD_PARAM, 0, 0},
        {"30,30", ERR_BAD_PARAM, 0, 0},
        {"30,,60", ERR_BAD_PARAM, 0, 0},
        {"30,", ERR_BAD_PARAM, 0, 0},
        {"", ERR_BAD_PARAM, 0, 0},
        {"-5", ERR_BAD_PARAM, 0, 0},
        {" 30", ERR_BAD_PARAM, 0, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        int32_t edges[API_EDGES_MAX];
        size_t n = 99;
        err_msg_t m = {{0}};
        test_current_ = rows[i].s;
        CHECK_ERR(rows[i].e, api_param_edges(rows[i].s, edges, &n, &m));
        if (rows[i].e == ERR_OK) {
            CHECK_INT(rows[i].n, n);
            CHECK_INT(rows[i].last, edges[n - 1]);
        } else {
            CHECK(strstr(m.text, "parameter 'buckets'") != NULL);
        }
    }
    int32_t edges[API_EDGES_MAX];
    size_t n;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_BAD_PARAM, api_param_edges("60,30", edges, &n, &m));
    CHECK_STR("parameter 'buckets': '60,30' must be strictly increasing day counts from 1 to 36500",
              m.text);
    CHECK_ERR(ERR_BAD_PARAM, api_param_edges("a", edges, &n, &m));
    CHECK_STR("parameter 'buckets': 'a' must be up to 14 increasing day counts separated by "
              "commas, e.g. 30,60,90,120",
              m.text);
}

static void test_limit(void)
{
    static const struct {
        const char *s;
        err_t e;
        size_t v;
    } rows[] = {
        {"1", ERR_OK, 1},
        {"10000", ERR_OK, 10000},
        {"00042", ERR_OK, 42},
        {"0", ERR_BAD_PARAM, 0},
        {"10001", ERR_BAD_PARAM, 0},
        {"", ERR_BAD_PARAM, 0},
        {"+5", ERR_BAD_PARAM, 0},
        {" 5", ERR_BAD_PARAM, 0},
        {"5x", ERR_BAD_PARAM, 0},
        {"18446744073709551617", ERR_BAD_PARAM, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        size_t v = 7;
        err_msg_t m = {{0}};
        test_current_ = rows[i].s;
        CHECK_ERR(rows[i].e, api_param_limit(rows[i].s, &v, &m));
        if (rows[i].e == ERR_OK)
            CHECK_INT(rows[i].v, v);
        else
            CHECK_STR("parameter 'limit' must be a whole number from 1 to 10000", m.text);
    }
}

static void test_bool(void)
{
    err_msg_t m = {{0}};
    bool b = false;
    CHECK_ERR(ERR_OK, api_param_bool("atomic", "true", &b, &m));
    CHECK(b);
    CHECK_ERR(ERR_OK, api_param_bool("atomic", "0", &b, &m));
    CHECK(!b);
    CHECK_ERR(ERR_OK, api_param_bool("atomic", "1", &b, &m));
    CHECK(b);
    CHECK_ERR(ERR_OK, api_param_bool("atomic", "false", &b, &m));
    CHECK(!b);
    CHECK_ERR(ERR_BAD_PARAM, api_param_bool("strict", "yes", &b, &m));
    CHECK_STR("parameter 'strict' must be true or false", m.text);
}

static void test_periods(void)
{
    kpi_period_t p[40];
    api_periods_t ps;
    err_msg_t m = {{0}};
    int32_t today = day(2025, 3, 15);
    /* Defaults: month interval, the 12 months up to today, month to date last. */
    CHECK_ERR(ERR_OK, api_param_periods(NULL, NULL, NULL, today, p, 40, &ps, &m));
    CHECK_INT(KPI_IV_MONTH, ps.iv);
    CHECK_INT(day(2024, 4, 1), ps.from);
    CHECK_INT(today, ps.to);
    CHECK_INT(12, ps.n);
    CHECK_INT(day(2025, 3, 1), p[11].start);
    CHECK_INT(today, p[11].end);
    CHECK_ERR(ERR_OK,
              api_param_periods("2025-01-01", "2025-03-31", "quarter", today, p, 40, &ps, &m));
    CHECK_INT(1, ps.n);
    CHECK_ERR(ERR_OK, api_param_periods("2025-01-01", NULL, "week", today, p, 40, &ps, &m));
    CHECK_INT(KPI_IV_WEEK, ps.iv);
    CHECK_INT(today, ps.to);
    CHECK_ERR(ERR_BAD_PARAM, api_param_periods(NULL, NULL, "year", today, p, 40, &ps, &m));
    CHECK_STR("parameter 'interval': 'year' is not one of: day, week, month, quarter", m.text);
    CHECK_ERR(ERR_BAD_PARAM,
              api_param_periods("2025-04-01", "2025-03-31", NULL, today, p, 40, &ps, &m));
    CHECK_STR("parameter 'from' must not be after 'to'", m.text);
    CHECK_ERR(ERR_BAD_PARAM, api_param_periods("2025-01-01", "x", NULL, today, p, 40, &ps, &m));
    CHECK_STR("parameter 'to': 'x' is not a date (YYYY-MM-DD)", m.text);
    CHECK_ERR(ERR_BAD_PARAM, api_param_periods("x", NULL, NULL, today, p, 40, &ps, &m));
    CHECK_STR("parameter 'from': 'x' is not a date (YYYY-MM-DD)", m.text);
    CHECK_ERR(ERR_BAD_PARAM,
              api_param_periods("2025-01-01", "2025-03-15", "day", today, p, 40, &ps, &m));
    CHECK_STR("parameters 'from'/'to'/'interval': 74 periods, at most 40 per request", m.text);
}

static void test_did_you_mean(void)
{
    static const char *const w[] = {"customer", "vendor"};
    char buf[64];
    CHECK_STR(" (did you mean 'customer'?)", api_did_you_mean("custmer", w, 2, buf, sizeof buf));
    CHECK_STR("", api_did_you_mean("zzz", w, 2, buf, sizeof buf));
}

static kpi_aging_t shape(void)
{
    static const int32_t e[] = {30, 60, 90, 120};
    kpi_aging_t a;
    REQUIRE(kpi_aging_init(&a, e, 4) == ERR_OK);
    return a;
}

static void test_aging_sort(void)
{
    kpi_aging_t sh = shape();
    api_aging_sort_t s;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, api_param_aging_sort("-overdue", "customer", &sh, &s, &m));
    CHECK_INT(API_SORT_OVERDUE, s.kind);
    CHECK_ERR(ERR_OK, api_param_aging_sort("-total", "customer", &sh, &s, &m));
    CHECK_INT(API_SORT_TOTAL, s.kind);
    CHECK_ERR(ERR_OK, api_param_aging_sort("customer", "customer", &sh, &s, &m));
    CHECK_INT(API_SORT_KEY, s.kind);
    CHECK_ERR(ERR_OK, api_param_aging_sort("-121+", "customer", &sh, &s, &m));
    CHECK_INT(API_SORT_BUCKET, s.kind);
    CHECK_INT(5, s.bucket);
    /* An unescaped '+' arrives as a space. */
    CHECK_ERR(ERR_OK, api_param_aging_sort("-121 ", "customer", &sh, &s, &m));
    CHECK_INT(5, s.bucket);
    CHECK_ERR(ERR_OK, api_param_aging_sort("-1-30", "customer", &sh, &s, &m));
    CHECK_INT(1, s.bucket);
    CHECK_ERR(ERR_BAD_PARAM, api_param_aging_sort("customer", "business_unit", &sh, &s, &m));
    CHECK_ERR(ERR_BAD_PARAM, api_param_aging_sort("-overdu", "customer", &sh, &s, &m));
    CHECK_STR("parameter 'sort': '-overdu' is not one of: -overdue, -total, -current, -1-30, "
              "-31-60, -61-90, -91-120, -121+, customer (did you mean '-overdue'?) (largest "
              "first for the '-' ones; write '+' as %2B in a URL)",
              m.text);
}

static kpi_aging_t grp(int64_t current, int64_t late, int64_t oldest)
{
    kpi_aging_t a = shape();
    a.buckets[0].amount = current;
    a.buckets[1].amount = late;
    a.buckets[5].amount = oldest;
    a.total_amount = current + late + oldest;
    return a;
}

static void test_aging_order_and_cursor(void)
{
    const kpi_aging_t g[] = {grp(100, 50, 0), grp(0, 300, 0), grp(500, 0, 10), grp(0, 50, 0),
                             grp(-20, -5, 0)};
    const char *const keys[] = {"A", "B", "C", "D", "E"};
    api_aging_sort_t s = {API_SORT_OVERDUE, 0};
    CHECK_INT(50, api_aging_sort_value(&g[0], &s));
    CHECK_INT(-5, api_aging_sort_value(&g[4], &s));
    size_t idx[5], n = 0;
    CHECK_ERR(ERR_OK, api_aging_order(g, keys, 5, &s, NULL, idx, &n));
    /* B 300, A 50 and D 50 by name, C 10, E -5. */
    CHECK_INT(5, n);
    const size_t want[] = {1, 0, 3, 2, 4};
    for (size_t i = 0; i < 5; i++)
        CHECK_INT(want[i], idx[i]);
    /* Pages: the cursor after each group gives exactly the rest. */
    for (size_t p = 0; p < 5; p++) {
        char c[API_AGING_CURSOR_BUF];
        api_aging_cursor_make(&s, &g[want[p]], keys[want[p]], c, sizeof c);
        api_aging_cursor_t from;
        err_msg_t m = {{0}};
        CHECK_ERR(ERR_OK, api_aging_cursor_parse(c, &s, &from, &m));
        CHECK_STR(keys[want[p]], from.key);
        size_t rest[5], nr = 0;
        CHECK_ERR(ERR_OK, api_aging_order(g, keys, 5, &s, &from, rest, &nr));
        CHECK_INT(4 - p, nr);
        for (size_t i = 0; i < nr; i++)
            CHECK_INT(want[p + 1 + i], rest[i]);
    }
    /* By total, by a bucket, by name. */
    s = (api_aging_sort_t){API_SORT_TOTAL, 0};
    CHECK_ERR(ERR_OK, api_aging_order(g, keys, 5, &s, NULL, idx, &n));
    CHECK_INT(2, idx[0]);
    s = (api_aging_sort_t){API_SORT_BUCKET, 5};
    CHECK_INT(10, api_aging_sort_value(&g[2], &s));
    CHECK_ERR(ERR_OK, api_aging_order(g, keys, 5, &s, NULL, idx, &n));
    CHECK_INT(2, idx[0]);
    CHECK_INT(0, idx[1]); /* the rest tie at 0: by name */
    s = (api_aging_sort_t){API_SORT_KEY, 0};
    CHECK_ERR(ERR_OK, api_aging_order(g, keys, 5, &s, NULL, idx, &n));
    for (size_t i = 0; i < 5; i++)
        CHECK_INT(i, idx[i]);
    CHECK_ERR(ERR_OK, api_aging_order(g, keys, 0, &s, NULL, idx, &n));
    CHECK_INT(0, n);
    /* A cursor of another sort, or not a cursor, is refused. */
    char c[API_AGING_CURSOR_BUF];
    api_aging_cursor_make(&s, &g[0], "A", c, sizeof c);
    api_aging_sort_t other = {API_SORT_OVERDUE, 0};
    api_aging_cursor_t from;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_BAD_PARAM, api_aging_cursor_parse(c, &other, &from, &m));
    CHECK_STR("parameter 'cursor' is not a next_cursor of this server for this sort", m.text);
    static const char *const bad[] = {"", "zz", "abc", "00", "3a3a"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK_ERR(ERR_BAD_PARAM, api_aging_cursor_parse(bad[i], &s, &from, &m));
}

int main(void)
{
    RUN(test_did_you_mean);
    RUN(test_aging_sort);
    RUN(test_aging_order_and_cursor);
    RUN(test_date);
    RUN(test_word);
    RUN(test_name);
    RUN(test_edges);
    RUN(test_limit);
    RUN(test_bool);
    RUN(test_periods);
    return test_summary();
}
