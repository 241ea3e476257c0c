/*
 * test_api_csv.c — the CSV cell writer: formula neutralisation of text
 * cells (OWASP CSV injection), RFC 4180 quoting, the numeric path that
 * keeps negative amounts numbers, and the BOM.
 */
#include <string.h>

#include "api_int.h"
#include "test.h"

static const char *text(api_buf_t *b, const char *s)
{
    api_buf_free(b);
    api_buf_init(b, 1 << 16);
    api_buf_csv_field(b, s);
    return b->data ? b->data : "";
}

static const char *num(api_buf_t *b, const char *s)
{
    api_buf_free(b);
    api_buf_init(b, 1 << 16);
    api_buf_csv_num(b, s);
    return b->data ? b->data : "";
}

static void test_text_neutralised(void)
{
    api_buf_t b = {0};
    CHECK_STR("\"'=HYPERLINK(\"\"http://x\"\",\"\"a\"\")\"",
              text(&b, "=HYPERLINK(\"http://x\",\"a\")"));
    CHECK_STR("\"'+1+2\"", text(&b, "+1+2"));
    CHECK_STR("\"'-12.50\"", text(&b, "-12.50")); /* a name that looks like a number is text */
    CHECK_STR("\"'@SUM(A1)\"", text(&b, "@SUM(A1)"));
    CHECK_STR("\"'\t=1\"", text(&b, "\t=1"));
    CHECK_STR("\"'\r=1\"", text(&b, "\r=1"));
    /* Only the first byte matters. */
    CHECK_STR("a=b", text(&b, "a=b"));
    CHECK_STR("Müller GmbH", text(&b, "Müller GmbH"));
    api_buf_free(&b);
}

static void test_text_quoted(void)
{
    api_buf_t b = {0};
    CHECK_STR("\"ACME, Inc.\"", text(&b, "ACME, Inc."));
    CHECK_STR("\"say \"\"hi\"\"\"", text(&b, "say \"hi\""));
    CHECK_STR("\"two\nlines\"", text(&b, "two\nlines"));
    CHECK_STR("", text(&b, ""));
    CHECK_STR("", text(&b, NULL));
    api_buf_free(&b);
}

static void test_numbers(void)
{
    api_buf_t b = {0};
    CHECK_STR("-12.50", num(&b, "-12.50"));
    CHECK_STR("0", num(&b, "0"));
    CHECK_STR("1250", num(&b, "1250"));
    /* Not a plain number: the text path, neutralised. */
    CHECK_STR("\"'-1+1\"", num(&b, "-1+1"));
    CHECK_STR("\"'=1\"", num(&b, "=1"));
    CHECK_STR("1e5", num(&b, "1e5"));
    CHECK(api_csv_is_number("-0.5"));
    CHECK(api_csv_is_number("36600"));
    CHECK(!api_csv_is_number("-"));
    CHECK(!api_csv_is_number(""));
    CHECK(!api_csv_is_number("1."));
    CHECK(!api_csv_is_number(".5"));
    CHECK(!api_csv_is_number("1.2.3"));
    CHECK(!api_csv_is_number("--1"));
    CHECK_STR("", num(&b, NULL));
    api_buf_free(&b);
}

static void test_bom(void)
{
    api_buf_t b;
    api_csv_start(&b, 1024, true);
    api_buf_str(&b, "a\r\n");
    CHECK_INT(6, b.len);
    CHECK(memcmp(b.data,
                 "\xEF\xBB\xBF"
                 "a\r\n",
                 6) == 0);
    api_buf_free(&b);
    api_csv_start(&b, 1024, false);
    CHECK_INT(0, b.len);
    api_buf_free(&b);
    /* The cap still holds. */
    api_csv_start(&b, 2, true);
    CHECK(b.failed);
    api_buf_free(&b);
}

int main(void)
{
    RUN(test_text_neutralised);
    RUN(test_text_quoted);
    RUN(test_numbers);
    RUN(test_bom);
    return test_summary();
}
