/*
 * test_api_xlsx.c — XLSX answers from CSV bodies: the kind of each cell
 * (text, number with its decimals, date, date-time, empty), name columns
 * that stay text, the formula neutralisation shared with CSV, and the
 * workbook file: written, read back, its temporary file gone on every
 * path, and each refusal with its message. What the sheet holds is read
 * back cell by cell by tests/integration/test_xlsx.py.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api_int.h"
#include "api_xlsx.h"
#include "test.h"

typedef struct cell_row {
    const char *s;
    bool quoted, text_col;
    api_xlsx_kind_t kind;
    double num;
    int decimals;
    bool neutralise;
} cell_row_t;

static void test_cells(void)
{
    /* 2025-03-31 is day 20178 since 1970: Excel serial 45747. */
    static const cell_row_t rows[] = {
        {"1250.00", false, false, API_XLSX_NUMBER, 1250.0, 2, false},
        {"-12.50", false, false, API_XLSX_NUMBER, -12.5, 2, false}, /* stays a number */
        {"950", false, false, API_XLSX_NUMBER, 950.0, 0, false},    /* JPY */
        {"1.250", false, false, API_XLSX_NUMBER, 1.25, 3, false},   /* KWD */
        {"0", false, false, API_XLSX_NUMBER, 0.0, 0, false},
        {"1.0834512345", false, false, API_XLSX_NUMBER, 1.0834512345, 10, false}, /* a rate */
        {"0.12345678901234567", false, false, API_XLSX_NUMBER, 0.12345678901234567, 15, false},
        {"2025-03-31", false, false, API_XLSX_DATE, 45747.0, 0, false},
        {"1900-03-01", false, false, API_XLSX_DATE, 61.0, 0, false},
        {"1900-02-28", false, false, API_XLSX_TEXT, 0, 0, false}, /* Excel's 1900 bug */
        {"2025-02-29", false, false, API_XLSX_TEXT, 0, 0, false}, /* not a day */
        {"2025-03-31T12:00:00Z", false, false, API_XLSX_DATETIME, 45747.5, 0, false},
        {"2025-03-31T12:00:00+01:00", false, false, API_XLSX_TEXT, 0, 0, false},
        {"", false, false, API_XLSX_EMPTY, 0, 0, false},
        {"", true, false, API_XLSX_EMPTY, 0, 0, false},
        {"n/a (no_sales)", false, false, API_XLSX_TEXT, 0, 0, false},
        {"true", false, false, API_XLSX_TEXT, 0, 0, false},
        /* Quoted or in a name column: text, whatever it looks like. */
        {"1250", true, false, API_XLSX_TEXT, 0, 0, false},
        {"12345", false, true, API_XLSX_TEXT, 0, 0, false},
        {"2025-03-31", false, true, API_XLSX_TEXT, 0, 0, false},
        /* Neutralised by the CSV writer already: its apostrophe is kept. */
        {"'=HYPERLINK(\"http://x\",\"a\")", true, true, API_XLSX_TEXT, 0, 0, false},
        {"'-2", true, true, API_XLSX_TEXT, 0, 0, false},
        /* Reached the CSV unneutralised: neutralised here, by the same test. */
        {"=1+2", false, false, API_XLSX_TEXT, 0, 0, true},
        {"+1", false, true, API_XLSX_TEXT, 0, 0, true},
        {"-2", false, true, API_XLSX_TEXT, 0, 0, true}, /* a name column: not a number */
        {"@x", false, false, API_XLSX_TEXT, 0, 0, true},
        {"\tx", true, false, API_XLSX_TEXT, 0, 0, true},
        {"\rx", true, false, API_XLSX_TEXT, 0, 0, true},
        {"-", false, false, API_XLSX_TEXT, 0, 0, true},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const cell_row_t *r = &rows[i];
        api_xlsx_cell_t c = api_xlsx_cell(r->s, strlen(r->s), r->quoted, r->text_col);
        CHECK_MSG(c.kind == r->kind, "row %zu '%s': kind %d, want %d", i, r->s, (int)c.kind,
                  (int)r->kind);
        if (r->kind == API_XLSX_NUMBER || r->kind == API_XLSX_DATE || r->kind == API_XLSX_DATETIME)
            CHECK_MSG(fabs(c.num - r->num) < 1e-9, "row %zu '%s': %.10f, want %.10f", i, r->s,
                      c.num, r->num);
        if (r->kind == API_XLSX_NUMBER)
            CHECK_MSG(c.decimals == r->decimals, "row %zu '%s': %d decimals, want %d", i, r->s,
                      c.decimals, r->decimals);
        if (r->kind == API_XLSX_TEXT)
            CHECK_MSG(c.neutralise == r->neutralise, "row %zu: neutralise %d, want %d", i,
                      (int)c.neutralise, (int)r->neutralise);
    }
}

static void test_text_columns(void)
{
    static const char *const text[] = {"customer", "vendor",  "invoice", "business_unit",
                                       "id",       "payment", "bill",    "document",
                                       "party",    "currency"};
    static const char *const other[] = {"total", "amount",        "count", "as_of",   "start",
                                        "value", "days_past_due", "",      "Customer"};
    for (size_t i = 0; i < sizeof text / sizeof text[0]; i++)
        CHECK_MSG(api_xlsx_text_column(text[i]), "'%s' should be a name column", text[i]);
    for (size_t i = 0; i < sizeof other / sizeof other[0]; i++)
        CHECK_MSG(!api_xlsx_text_column(other[i]), "'%s' is not a name column", other[i]);
    CHECK(!api_xlsx_text_column(NULL));
}

static char dir_[256];

static size_t files_in(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    if (d == NULL)
        return 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static void test_workbook(void)
{
    static const char csv[] = API_CSV_BOM "customer,total,count,as_of,currency\r\n"
                                          "\"'=HYPERLINK(\"\"http://x\"\",\"\"a\"\")\",-12.50,"
                                          "2,2025-03-31,USD\r\n"
                                          "12345,1250.00,1,2025-03-31,USD\r\n";
    char *out = NULL;
    size_t n = 0;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, api_xlsx_from_csv(csv, strlen(csv), "aging", 1 << 20, &out, &n, &m));
    CHECK(out != NULL && n > 100 && memcmp(out, "PK\x03\x04", 4) == 0); /* a zip */
    free(out);
    CHECK_INT(0, (long long)files_in(dir_)); /* the temporary file is gone */

    /* An empty body is an empty sheet, a body without a final CRLF its rows. */
    CHECK_ERR(ERR_OK, api_xlsx_from_csv("", 0, "x", 1 << 20, &out, &n, &m));
    free(out);
    CHECK_ERR(ERR_OK, api_xlsx_from_csv("a,b\nc,d", 7, "", 1 << 20, &out, &n, &m));
    free(out);

    /* Bigger than the cap: 413's message, nothing left behind. */
    CHECK_ERR(ERR_TOO_LARGE, api_xlsx_from_csv(csv, strlen(csv), "aging", 100, &out, &n, &m));
    CHECK(out == NULL && n == 0);
    CHECK_MSG(strstr(m.text, "XLSX answer too large") != NULL, "%s", m.text);
    CHECK_INT(0, (long long)files_in(dir_));

    /* A quote that never ends. */
    static const char bad[] = "a,b\r\n\"x,1\r\n";
    CHECK_ERR(ERR_BAD_PARAM, api_xlsx_from_csv(bad, strlen(bad), "x", 1 << 20, &out, &n, &m));
    CHECK_STR("CSV row 2 has an unterminated quote", m.text);
}

static void test_too_many_rows(void)
{
    size_t rows = API_XLSX_ROWS_MAX + 1;
    char *csv = malloc(rows * 2);
    CHECK(csv != NULL);
    for (size_t i = 0; i < rows; i++)
        memcpy(csv + 2 * i, "1\n", 2);
    char *out = NULL;
    size_t n = 0;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_TOO_LARGE, api_xlsx_from_csv(csv, rows * 2, "x", 1u << 30, &out, &n, &m));
    CHECK_STR("more than 1048576 rows for an XLSX sheet; narrow the query", m.text);
    free(csv);
    CHECK_INT(0, (long long)files_in(dir_));
}

static void test_no_tmpdir(void)
{
    char gone[300];
    snprintf(gone, sizeof gone, "%s/missing", dir_);
    setenv("TMPDIR", gone, 1);
    char *out = NULL;
    size_t n = 0;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_IO, api_xlsx_from_csv("a\r\n", 3, "x", 1 << 20, &out, &n, &m));
    CHECK_MSG(strstr(m.text, "cannot create a temporary file in ") != NULL, "%s", m.text);
    setenv("TMPDIR", dir_, 1);
}

int main(void)
{
    snprintf(dir_, sizeof dir_, "/tmp/kpid-test-xlsx-XXXXXX");
    if (mkdtemp(dir_) == NULL)
        return 1;
    setenv("TMPDIR", dir_, 1);
    RUN(test_cells);
    RUN(test_text_columns);
    RUN(test_workbook);
    RUN(test_too_many_rows);
    RUN(test_no_tmpdir);
    (void)rmdir(dir_);
    return test_summary();
}
