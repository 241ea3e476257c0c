/*
 * test_kpi_money.c — currency digits, checked arithmetic, amount text in
 * and out, and the rounding rule's halfway cases.
 */
#include <string.h>

#include "kpi_money.h"
#include "test.h"

static void test_currency_digits(void)
{
    struct {
        const char *code;
        err_t err;
        int digits;
    } rows[] = {
        {"USD", ERR_OK, 2},
        {"EUR", ERR_OK, 2},
        {"JPY", ERR_OK, 0},
        {"KWD", ERR_OK, 3},
        {"BHD", ERR_OK, 3},
        {"CLF", ERR_OK, 4},
        {"AED", ERR_OK, 2},
        {"ZWG", ERR_OK, 2},
        {"usd", ERR_BAD_CURRENCY, 0},
        {"US", ERR_BAD_CURRENCY, 0},
        {"USDX", ERR_BAD_CURRENCY, 0},
        {"XYZ", ERR_BAD_CURRENCY, 0},
        {"XAU", ERR_BAD_CURRENCY, 0},
        {"", ERR_BAD_CURRENCY, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        test_current_ = rows[i].code;
        int d = -1;
        CHECK_ERR(rows[i].err, kpi_currency_digits(rows[i].code, &d));
        if (rows[i].err == ERR_OK)
            CHECK_INT(rows[i].digits, d);
    }
    CHECK_ERR(ERR_BAD_CURRENCY, kpi_currency_digits(NULL, &(int){0}));
}

static void test_checked_arithmetic(void)
{
    int64_t a = INT64_MAX - 1;
    CHECK_ERR(ERR_OK, kpi_add_i64(&a, 1));
    CHECK_INT(INT64_MAX, a);
    CHECK_ERR(ERR_OVERFLOW, kpi_add_i64(&a, 1));
    CHECK_INT(INT64_MAX, a); /* unchanged on overflow */
    a = INT64_MIN + 1;
    CHECK_ERR(ERR_OK, kpi_sub_i64(&a, 1));
    CHECK_ERR(ERR_OVERFLOW, kpi_sub_i64(&a, 1));
    CHECK_INT(INT64_MIN, a);
    a = 3037000499; /* floor(sqrt(2^63)) */
    CHECK_ERR(ERR_OK, kpi_mul_i64(&a, 3037000499));
    int64_t b = 3037000500;
    CHECK_ERR(ERR_OVERFLOW, kpi_mul_i64(&b, 3037000500));
    CHECK_INT(3037000500, b);
    b = -7;
    CHECK_ERR(ERR_OK, kpi_mul_i64(&b, 6));
    CHECK_INT(-42, b);
}

static void test_amount_parse(void)
{
    struct {
        const char *s;
        int digits;
        err_t err;
        int64_t minor;
    } rows[] = {
        {"1250.00", 2, ERR_OK, 125000},
        {"1250", 2, ERR_OK, 125000},
        {"3.5", 2, ERR_OK, 350},
        {"-3.5", 2, ERR_OK, -350},
        {"+7", 2, ERR_BAD_AMOUNT, 0}, /* no '+' in the grammar (issue 18) */
        {"0.125", 3, ERR_OK, 125},
        {"100", 0, ERR_OK, 100},
        {"0", 2, ERR_OK, 0},
        {"007.10", 2, ERR_OK, 710},
        {"92233720368547758.07", 2, ERR_OK, INT64_MAX},
        {"-92233720368547758.08", 2, ERR_OK, INT64_MIN},
        {"92233720368547758.08", 2, ERR_OVERFLOW, 0},
        {"99999999999999999999", 0, ERR_OVERFLOW, 0},
        {"1.000", 2, ERR_TOO_MANY_DECIMALS, 0}, /* claims precision USD lacks */
        {"5.001", 2, ERR_TOO_MANY_DECIMALS, 0},
        {"1.5", 0, ERR_TOO_MANY_DECIMALS, 0},
        {"", 2, ERR_BAD_AMOUNT, 0},
        {"-", 2, ERR_BAD_AMOUNT, 0},
        {".5", 2, ERR_BAD_AMOUNT, 0},
        {"5.", 2, ERR_BAD_AMOUNT, 0},
        {"1,000.00", 2, ERR_BAD_AMOUNT, 0},
        {"1e3", 2, ERR_BAD_AMOUNT, 0},
        {" 5", 2, ERR_BAD_AMOUNT, 0},
        {"5 ", 2, ERR_BAD_AMOUNT, 0},
        {"abc", 2, ERR_BAD_AMOUNT, 0},
        {"--5", 2, ERR_BAD_AMOUNT, 0},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        test_current_ = rows[i].s;
        int64_t m = 12345;
        CHECK_ERR(rows[i].err, kpi_amount_parse(rows[i].s, strlen(rows[i].s), rows[i].digits, &m));
        if (rows[i].err == ERR_OK)
            CHECK_INT(rows[i].minor, m);
        else
            CHECK_INT(12345, m); /* untouched on error */
    }
    /* len bounds the read: no NUL needed. */
    int64_t m = 0;
    CHECK_ERR(ERR_OK, kpi_amount_parse("12.34xyz", 5, 2, &m));
    CHECK_INT(1234, m);
}

static void test_amount_format(void)
{
    struct {
        int64_t minor;
        int digits;
        const char *want;
    } rows[] = {
        {125000, 2, "1250.00"},
        {-5, 2, "-0.05"},
        {0, 2, "0.00"},
        {100, 0, "100"},
        {0, 0, "0"},
        {125, 3, "0.125"},
        {-1, 3, "-0.001"},
        {7, 4, "0.0007"},
        {INT64_MAX, 2, "92233720368547758.07"},
        {INT64_MIN, 2, "-92233720368547758.08"},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        test_current_ = rows[i].want;
        char buf[KPI_AMOUNT_BUF];
        CHECK_STR(rows[i].want, kpi_amount_format(rows[i].minor, rows[i].digits, buf));
        /* What is printed parses back to the same minor units. */
        int64_t back = 0;
        CHECK_ERR(ERR_OK, kpi_amount_parse(buf, strlen(buf), rows[i].digits, &back));
        CHECK_INT(rows[i].minor, back);
    }
}

static void test_round_div(void)
{
    struct {
        int64_t num, den;
        int scale;
        err_t err;
        int64_t want;
    } rows[] = {
        {1, 3, 2, ERR_OK, 33},
        {2, 3, 2, ERR_OK, 67},
        {5, 2, 0, ERR_OK, 3},
        {-5, 2, 0, ERR_OK, -3},
        {5, -2, 0, ERR_OK, -3},
        {-5, -2, 0, ERR_OK, 3},
        {1, 8, 2, ERR_OK, 13},
        {-1, 8, 2, ERR_OK, -13},
        {4, 2, 0, ERR_OK, 2},
        {149, 100, 0, ERR_OK, 1},
        {150, 100, 0, ERR_OK, 2},
        {0, 7, 3, ERR_OK, 0},
        {1, 0, 2, ERR_BAD_VALUE, 0},
        {INT64_MAX, 1, 1, ERR_OVERFLOW, 0},
        {INT64_MAX, 10, 1, ERR_OK, INT64_MAX},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char row[64];
        snprintf(row, sizeof(row), "%lld/%lld@%d", (long long)rows[i].num, (long long)rows[i].den,
                 rows[i].scale);
        test_current_ = row;
        int64_t got = -99;
        CHECK_ERR(rows[i].err, kpi_round_div(rows[i].num, rows[i].den, rows[i].scale, &got));
        if (rows[i].err == ERR_OK)
            CHECK_INT(rows[i].want, got);
    }
}

int main(void)
{
    RUN(test_currency_digits);
    RUN(test_checked_arithmetic);
    RUN(test_amount_parse);
    RUN(test_amount_format);
    RUN(test_round_div);
    return test_summary();
}
