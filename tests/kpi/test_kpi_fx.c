/*
 * test_kpi_fx.c — rates parsed and printed exactly, conversion rounded once
 * half away from zero; each expected value below is worked by hand.
 */
#include <stdint.h>
#include <string.h>

#include "kpi_fx.h"
#include "test.h"

static err_t parse(const char *s, int64_t *r)
{
    return kpi_rate_parse(s, strlen(s), r);
}

static void test_parse(void)
{
    int64_t r = 0;
    CHECK_ERR(ERR_OK, parse("1.0825", &r));
    CHECK(r == 10825000000LL); /* 1.0825 * 10^10 */
    CHECK_ERR(ERR_OK, parse("150", &r));
    CHECK(r == 1500000000000LL);
    CHECK_ERR(ERR_OK, parse("0.0000000001", &r));
    CHECK(r == 1);
    CHECK_ERR(ERR_OK, parse("922337203.6854775807", &r));
    CHECK(r == INT64_MAX);
    CHECK_ERR(ERR_OVERFLOW, parse("922337203.6854775808", &r));
    CHECK_ERR(ERR_TOO_MANY_DECIMALS, parse("1.12345678901", &r));
    CHECK_ERR(ERR_BAD_VALUE, parse("0", &r));
    CHECK_ERR(ERR_BAD_VALUE, parse("0.0000", &r));
    CHECK_ERR(ERR_BAD_VALUE, parse("-1.2", &r));
    CHECK_ERR(ERR_BAD_VALUE, parse("+1.2", &r));
    CHECK_ERR(ERR_BAD_AMOUNT, parse("1e3", &r));
    CHECK_ERR(ERR_BAD_AMOUNT, parse("1,5", &r));
    CHECK_ERR(ERR_BAD_AMOUNT, parse("", &r));
    CHECK_ERR(ERR_BAD_AMOUNT, parse(" 1", &r));
}

static void test_format(void)
{
    char b[KPI_RATE_BUF];
    CHECK_STR("1.0825", kpi_rate_format(10825000000LL, b));
    CHECK_STR("150", kpi_rate_format(1500000000000LL, b));
    CHECK_STR("0.0001", kpi_rate_format(1000000LL, b));
    CHECK_STR("0.0000000001", kpi_rate_format(1, b));
    CHECK_STR("922337203.6854775807", kpi_rate_format(INT64_MAX, b));
    /* Round trip of what was parsed. */
    int64_t r = 0;
    CHECK_ERR(ERR_OK, parse("0.00672", &r));
    CHECK_STR("0.00672", kpi_rate_format(r, b));
}

static int64_t conv(int64_t minor, int from, const char *rate, int to)
{
    int64_t r = 0, out = INT64_MIN;
    REQUIRE(parse(rate, &r) == ERR_OK);
    CHECK_ERR(ERR_OK, kpi_fx_convert(minor, from, r, to, &out));
    return out;
}

static void test_convert(void)
{
    /* 1,000.00 EUR at 1.0825 = 1,082.50 USD. */
    CHECK(conv(100000, 2, "1.0825", 2) == 108250);
    /* 12,345 JPY at 0.0067 = 82.7115 USD: 82.71. */
    CHECK(conv(12345, 0, "0.0067", 2) == 8271);
    /* 1.000 KWD (3 digits) at 3.26 = 3.26 USD. */
    CHECK(conv(1000, 3, "3.26", 2) == 326);
    /* Into a base without minor units: 100.00 USD at 150.25 JPY = 15,025 JPY. */
    CHECK(conv(10000, 2, "150.25", 0) == 15025);
    /* Halves go away from zero: 0.01 EUR at 0.5 = 0.005 USD -> 0.01; and
       -0.01 -> -0.01. Just under a half goes down. */
    CHECK(conv(1, 2, "0.5", 2) == 1);
    CHECK(conv(-1, 2, "0.5", 2) == -1);
    CHECK(conv(1, 2, "0.4999999999", 2) == 0);
    CHECK(conv(-1, 2, "0.4999999999", 2) == 0);
    /* 2.50 GBP at 1.27 = 3.175 USD -> 3.18; negative: -3.18. */
    CHECK(conv(250, 2, "1.27", 2) == 318);
    CHECK(conv(-250, 2, "1.27", 2) == -318);
    /* A rate of 1 changes nothing; digits are rescaled: 1.23 USD as KWD-like 3 digits. */
    CHECK(conv(123, 2, "1", 2) == 123);
    CHECK(conv(123, 2, "1", 3) == 1230);
    CHECK(conv(0, 2, "1.0825", 2) == 0);
}

static void test_convert_errors(void)
{
    int64_t out = 42;
    CHECK_ERR(ERR_BAD_VALUE, kpi_fx_convert(100, 2, 0, 2, &out));
    CHECK_ERR(ERR_BAD_VALUE, kpi_fx_convert(100, 2, -5, 2, &out));
    CHECK_ERR(ERR_BAD_VALUE, kpi_fx_convert(100, 5, 1, 2, &out));
    CHECK_ERR(ERR_BAD_VALUE, kpi_fx_convert(100, 2, 1, -1, &out));
    /* INT64_MAX minor units at 2: twice int64. And at the largest rate. */
    CHECK_ERR(ERR_OVERFLOW, kpi_fx_convert(INT64_MAX, 2, 20000000000LL, 2, &out));
    CHECK_ERR(ERR_OVERFLOW, kpi_fx_convert(INT64_MIN, 0, INT64_MAX, 4, &out));
    CHECK(out == 42); /* unchanged */
    /* The largest that fits: INT64_MAX at exactly 1. */
    CHECK_ERR(ERR_OK, kpi_fx_convert(INT64_MAX, 2, 10000000000LL, 2, &out));
    CHECK(out == INT64_MAX);
}

static void test_cross(void)
{
    int64_t eur = 0, gbp = 0, jpy = 0, out = 0;
    REQUIRE(parse("1.0825", &eur) == ERR_OK); /* USD per EUR */
    REQUIRE(parse("1.27", &gbp) == ERR_OK);   /* USD per GBP */
    REQUIRE(parse("0.0067", &jpy) == ERR_OK); /* USD per JPY */
    /* 100.00 GBP in EUR: 100 * 1.27 / 1.0825 = 117.3210161... -> 117.32 EUR. */
    CHECK_ERR(ERR_OK, kpi_fx_cross(10000, 2, gbp, 2, eur, &out));
    CHECK(out == 11732);
    /* 1,000.00 EUR in JPY: 1000 * 1.0825 / 0.0067 = 161567.164... -> 161,567 JPY. */
    CHECK_ERR(ERR_OK, kpi_fx_cross(100000, 2, eur, 0, jpy, &out));
    CHECK(out == 161567);
    /* Into the base, cross is convert. */
    int64_t a = 0, b = 0;
    CHECK_ERR(ERR_OK, kpi_fx_cross(12345, 0, jpy, 2, 10000000000LL, &a));
    CHECK_ERR(ERR_OK, kpi_fx_convert(12345, 0, jpy, 2, &b));
    CHECK(a == b && a == 8271);
    CHECK_ERR(ERR_BAD_VALUE, kpi_fx_cross(1, 2, eur, 2, 0, &out));
}

/* Shares of one converted total (docs/kpi.md, "Consolidated payables"). */
static void test_share(void)
{
    const int64_t eur = 10825000000LL; /* 1.0825 */
    int64_t out[3] = {0}, t = 0;
    /* EUR 300.07 and 100.08: exactly 324.825775 and 108.3366, together
       400.15 x 1.0825 = 433.162375 -> 433.16. Each rounded on its own:
       324.83 + 108.34 = 433.17, a cent too many; rounded down, 324.82 +
       108.33 = 433.15, and the missing cent goes to the larger remainder
       (0.66 of a cent against 0.5775): 324.82 + 108.34. */
    const int64_t a[2] = {30007, 10008};
    CHECK_ERR(ERR_OK, kpi_fx_share(a, 2, 2, eur, 2, 10000000000LL, out, &t));
    CHECK(t == 43316 && out[0] == 32482 && out[1] == 10834);
    /* The same amounts owed back: the mirror image. */
    const int64_t na[2] = {-30007, -10008};
    CHECK_ERR(ERR_OK, kpi_fx_share(na, 2, 2, eur, 2, 10000000000LL, out, &t));
    CHECK(t == -43316 && out[0] == -32482 && out[1] == -10834);
    /* When each rounding adds up, it is kept: 300.00 + 200.00 = 324.75 + 216.50. */
    const int64_t b[3] = {30000, 0, 20000};
    CHECK_ERR(ERR_OK, kpi_fx_share(b, 3, 2, eur, 2, 10000000000LL, out, &t));
    CHECK(t == 54125 && out[0] == 32475 && out[1] == 0 && out[2] == 21650);
    /* 10.00 twice: 10.825 each, 21.65 together; equal remainders, the
       first one gets the cent; an empty amount never does. */
    const int64_t c[3] = {1000, 0, 1000};
    CHECK_ERR(ERR_OK, kpi_fx_share(c, 3, 2, eur, 2, 10000000000LL, out, &t));
    CHECK(t == 2165 && out[0] == 1083 && out[1] == 0 && out[2] == 1082);
    /* Into another currency than the base, across digits: JPY 1,000 and
       JPY 1,001 at 0.0067 USD each into EUR at 1.0825: 6.1893.. and
       6.1955.. EUR; 2,001 x 0.0067 / 1.0825 = 12.3848.. -> 12.38; floors
       6.18 + 6.19, the cent to the larger remainder (0.94 of a cent against
       0.56; each rounded on its own, 6.19 + 6.20 = 12.39). */
    const int64_t d[2] = {1000, 1001};
    CHECK_ERR(ERR_OK, kpi_fx_share(d, 2, 0, 67000000LL, 2, eur, out, &t));
    CHECK(t == 1238 && out[0] == 619 && out[1] == 619);
    /* Nothing to share; a sum that leaves int64; a bad rate. */
    CHECK_ERR(ERR_OK, kpi_fx_share(NULL, 0, 2, eur, 2, 10000000000LL, out, &t));
    CHECK(t == 0);
    const int64_t big[2] = {INT64_MAX, 1};
    CHECK_ERR(ERR_OVERFLOW, kpi_fx_share(big, 2, 2, eur, 2, 10000000000LL, out, &t));
    CHECK_ERR(ERR_BAD_VALUE, kpi_fx_share(a, 2, 2, 0, 2, 10000000000LL, out, &t));
}

int main(void)
{
    RUN(test_parse);
    RUN(test_format);
    RUN(test_convert);
    RUN(test_convert_errors);
    RUN(test_cross);
    RUN(test_share);
    return test_summary();
}
