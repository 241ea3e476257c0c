/*
 * test_api_prom.c — the Prometheus exposition writer (api/api_prom.c):
 * label-value and HELP escaping, labels left out, exact seconds, and
 * histograms (cumulative buckets, +Inf, _sum, _count).
 */
#include <stdint.h>
#include <string.h>

#include "api_int.h"
#include "api_metrics.h"
#include "test.h"

/* The buffer's text ("" when empty). */
static const char *text(const api_buf_t *b)
{
    return b->data ? b->data : "";
}

static void test_label_escaping(void)
{
    static const struct {
        const char *in, *want;
    } rows[] = {
        {"plain", "plain"},
        {"", ""},
        {"a\"b", "a\\\"b"},
        {"back\\slash", "back\\\\slash"},
        {"two\nlines", "two\\nlines"},
        {"\\\"\n", "\\\\\\\"\\n"},
        {"tab\tstays", "tab\tstays"},         /* only \ " and newline are escaped */
        {"M\xc3\xbcnchen", "M\xc3\xbcnchen"}, /* UTF-8 passes through */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        api_buf_t b;
        api_buf_init(&b, 1024);
        api_prom_label_value(&b, rows[i].in);
        CHECK_MSG(strcmp(text(&b), rows[i].want) == 0, "row %zu: want [%s] got [%s]", i,
                  rows[i].want, text(&b));
        api_buf_free(&b);
    }
}

static void test_family_and_help_escaping(void)
{
    api_buf_t b;
    api_buf_init(&b, 1024);
    api_prom_family(&b, "kpid_x_total", "counter", "a \"quoted\" back\\slash\nnext");
    /* HELP escapes backslash and newline, not quotes. */
    CHECK_STR("# HELP kpid_x_total a \"quoted\" back\\\\slash\\nnext\n"
              "# TYPE kpid_x_total counter\n",
              text(&b));
    api_buf_free(&b);
}

static void test_samples(void)
{
    api_buf_t b;
    api_buf_init(&b, 4096);
    api_prom_sample(&b, "m", NULL, 0, "1");
    api_prom_label_t one[] = {{"currency", "USD"}};
    api_prom_sample(&b, "m", one, 1, "1250.00");
    /* A NULL value leaves its label out (the whole-book series). */
    api_prom_label_t some[] = {{"business_unit", NULL}, {"currency", "EUR"}, {"bucket", "1-30"}};
    api_prom_sample(&b, "m", some, 3, "-0.05");
    api_prom_label_t none[] = {{"business_unit", NULL}};
    api_prom_sample(&b, "m", none, 1, "2");
    api_prom_label_t esc[] = {{"business_unit", "we\"st\\\n"}};
    api_prom_sample_u64(&b, "m", esc, 1, UINT64_MAX);
    CHECK_STR("m 1\n"
              "m{currency=\"USD\"} 1250.00\n"
              "m{currency=\"EUR\",bucket=\"1-30\"} -0.05\n"
              "m 2\n"
              "m{business_unit=\"we\\\"st\\\\\\n\"} 18446744073709551615\n",
              text(&b));
    api_buf_free(&b);
}

static void test_seconds(void)
{
    static const struct {
        uint64_t ns;
        const char *want;
    } rows[] = {
        {0, "0"},
        {1, "0.000000001"},
        {500000, "0.0005"},
        {2500000, "0.0025"},
        {1000000000u, "1"},
        {1500000000u, "1.5"},
        {10000000000u, "10"},
        {100000000000u, "100"},
        {1000000001u, "1.000000001"},
        {UINT64_MAX, "18446744073.709551615"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char buf[API_PROM_SECONDS_BUF];
        const char *got = api_prom_seconds(rows[i].ns, buf);
        CHECK_MSG(strcmp(got, rows[i].want) == 0, "row %zu (%llu ns): want %s got %s", i,
                  (unsigned long long)rows[i].ns, rows[i].want, got);
    }
}

static void test_histogram(void)
{
    static const uint64_t bounds[] = {1000000, 10000000, 2500000000u};
    static const uint64_t counts[] = {2, 0, 3, 4}; /* per bucket; the last is above 2.5 s */
    api_buf_t b;
    api_buf_init(&b, 4096);
    api_prom_label_t l[] = {{"route", "/v1/aging"}, {"method", NULL}};
    api_prom_histogram(&b, "h_seconds", l, 2, bounds, 3, counts, 12345678901u);
    CHECK_STR("h_seconds_bucket{route=\"/v1/aging\",le=\"0.001\"} 2\n"
              "h_seconds_bucket{route=\"/v1/aging\",le=\"0.01\"} 2\n"
              "h_seconds_bucket{route=\"/v1/aging\",le=\"2.5\"} 5\n"
              "h_seconds_bucket{route=\"/v1/aging\",le=\"+Inf\"} 9\n"
              "h_seconds_sum{route=\"/v1/aging\"} 12.345678901\n"
              "h_seconds_count{route=\"/v1/aging\"} 9\n",
              text(&b));
    api_buf_free(&b);

    /* No labels, no observations: every bucket 0, still a full histogram. */
    static const uint64_t zero[] = {0, 0};
    api_buf_init(&b, 4096);
    api_prom_histogram(&b, "h", NULL, 0, bounds, 1, zero, 0);
    CHECK_STR("h_bucket{le=\"0.001\"} 0\n"
              "h_bucket{le=\"+Inf\"} 0\n"
              "h_sum 0\n"
              "h_count 0\n",
              text(&b));
    api_buf_free(&b);
}

/* Output beyond the buffer's cap marks it failed rather than truncating silently. */
static void test_cap(void)
{
    api_buf_t b;
    api_buf_init(&b, 16);
    api_prom_family(&b, "kpid_a_long_metric_name", "gauge", "help");
    CHECK(b.failed);
    api_buf_free(&b);
}

int main(void)
{
    RUN(test_label_escaping);
    RUN(test_family_and_help_escaping);
    RUN(test_samples);
    RUN(test_seconds);
    RUN(test_histogram);
    RUN(test_cap);
    return test_summary();
}
