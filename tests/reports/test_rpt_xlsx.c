/*
 * test_rpt_xlsx.c — the xlsx report kind (reports/rpt_xlsx.c): the
 * hand-made book rendered as a workbook into a temporary directory, checked
 * as a zip holding the nine sheets (their entries are named in the zip's
 * directory without compression), the sheet count and size reported, a
 * unit's workbook, and the errors a user can hit: an unwritable output
 * path, an unknown business unit. The cells are read back by
 * tests/integration/test_xlsx.py against the API.
 */
#include <sys/stat.h>
#include <unistd.h>

#include "rpt.h"
#include "rpt_int.h"
#include "rpt_test.h"

static char dir[64];  /* store */
static char odir[64]; /* output */
static store_t *st;

static rpt_request_t req(void)
{
    rpt_request_t rq = {.kind = RPT_XLSX,
                        .from_day = D(2025, 11, 1),
                        .to_day = D(2025, 11, 30),
                        .generated_s = T(2025, 12, 1, 6)};
    return rq;
}

static bool has(const char *data, size_t len, const char *s)
{
    size_t k = strlen(s);
    for (size_t o = 0; o + k <= len; o++)
        if (memcmp(data + o, s, k) == 0)
            return true;
    return false;
}

/* How many of the zip's entries are named xl/worksheets/sheetN.xml. */
static size_t sheets_in(const char *data, size_t len)
{
    size_t n = 0;
    for (int i = 1; i <= 20; i++) {
        char name[40];
        int k = snprintf(name, sizeof name, "xl/worksheets/sheet%d.xml", i);
        n += k > 0 && has(data, len, name);
    }
    return n;
}

static void test_workbook(void)
{
    static const struct {
        const char *unit;
        unsigned sheets;
    } rows[] = {{NULL, 9}, {"emea", 9}, {"apac", 9}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rpt_request_t rq = req();
        rq.business_unit = rows[i].unit;
        char path[160];
        snprintf(path, sizeof path, "%s/r%zu.xlsx", odir, i);
        rpt_info_t info = {0};
        err_msg_t m = {{0}};
        err_t e = rpt_render_file_ex(st, &rq, path, &info, &m);
        CHECK_MSG(e == ERR_OK, "row %zu: %s", i, m.text);
        size_t len = 0;
        char *data = slurp(path, &len);
        REQUIRE(data != NULL);
        CHECK_MSG(len > 1000 && memcmp(data, "PK\x03\x04", 4) == 0, "row %zu: not a zip", i);
        CHECK_INT(len, info.bytes);
        CHECK_INT(rows[i].sheets, info.pages);
        CHECK_INT(rows[i].sheets, sheets_in(data, len));
        CHECK(has(data, len, "xl/sharedStrings.xml"));
        free(data);
    }
}

static void test_errors(void)
{
    rpt_request_t rq = req();
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_IO, rpt_render_file(st, &rq, "/nonexistent-dir/x.xlsx", &m));
    CHECK_MSG(strncmp(m.text, "cannot write /nonexistent-dir/x.xlsx: ", 38) == 0, "%s", m.text);
    char path[160];
    snprintf(path, sizeof path, "%s/err.xlsx", odir);
    rq.business_unit = "nope";
    CHECK_ERR(ERR_NOT_FOUND, rpt_render_file(st, &rq, path, &m));
    CHECK_STR("unknown business unit 'nope' (no receivables in USD)", m.text);
    CHECK(access(path, F_OK) != 0); /* nothing written for a refused request */
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    tmpdir(dir);
    tmpdir(odir);
    st = open_store(dir, 0);
    rpt_test_book(st, true);
    RUN(test_workbook);
    RUN(test_errors);
    store_close(st);
    rmdir_all(dir);
    rmdir_all(odir);
    kpi_tz_free(test_utc);
    return test_summary();
}
