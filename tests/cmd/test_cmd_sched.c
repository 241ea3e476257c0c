/*
 * test_cmd_sched.c — the render callback of `kpid serve` (the placeholder
 * until the PDF renderer is wired): a well-formed one-page PDF whose xref
 * offsets point at its objects, naming the report's parameters with PDF
 * string escapes; unknown kinds and unwritable paths are errors.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_sched.h"
#include "coll.h"
#include "kpi_date.h"
#include "test.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    static char buf[16384];
    *len = fread(buf, 1, sizeof buf - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void test_render_placeholder(void)
{
    char dir[] = "/tmp/kpid-cmd-sched-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    kpi_tz_t *tz = NULL;
    REQUIRE(coll_tz_load("Europe/Berlin", &tz, NULL) == ERR_OK);
    cmd_sched_ctx_t ctx = {.store = NULL, .tz = tz, .base_currency = "EUR"};
    rpt_sched_job_t job;
    memset(&job, 0, sizeof job);
    snprintf(job.name, sizeof job.name, "monthly");
    snprintf(job.cron_expr, sizeof job.cron_expr, "0 6 1 * *");
    job.period = RPT_RULE_PREVIOUS_MONTH;
    char path[128];
    snprintf(path, sizeof path, "%s/r.pdf.tmp", dir);
    err_msg_t m = {{0}};
    int32_t from = kpi_days_from_civil(2026, 3, 1), to = kpi_days_from_civil(2026, 3, 31);
    CHECK_ERR(ERR_OK, cmd_sched_render(&ctx, &job, "sla", "EU (north) \\ \xc3\xbc", from, to,
                                       1775023200, path, &m));
    size_t len;
    const char *pdf = slurp(path, &len);
    CHECK(strncmp(pdf, "%PDF-1.4\n", 9) == 0);
    CHECK(strstr(pdf, "(Business unit: EU \\(north\\) \\\\ ?\?) Tj") != NULL);
    CHECK(strstr(pdf, "(Period: 2026-03-01 to 2026-03-31 \\(previous_month, zone "
                      "Europe/Berlin\\)) Tj") != NULL);
    CHECK(strstr(pdf, "(Currency: EUR) Tj") != NULL);
    CHECK(strstr(pdf, "(Due: 2026-04-01T06:00:00Z) Tj") != NULL);
    CHECK(len > 6 && strcmp(pdf + len - 6, "%%EOF\n") == 0);
    /* startxref points at the xref table, whose entries point at "N 0 obj". */
    const char *sx = strstr(pdf, "startxref\n");
    REQUIRE(sx != NULL);
    long xref = strtol(sx + 10, NULL, 10);
    REQUIRE(xref > 0 && (size_t)xref < len);
    CHECK(strncmp(pdf + xref, "xref\n0 6\n", 9) == 0);
    const char *entry = pdf + xref + 9 + 20;
    for (int i = 1; i <= 5; i++, entry += 20) {
        long off = strtol(entry, NULL, 10);
        char want[16];
        snprintf(want, sizeof want, "%d 0 obj\n", i);
        CHECK_MSG(off > 0 && (size_t)off < len && strncmp(pdf + off, want, strlen(want)) == 0,
                  "object %d at %ld", i, off);
    }
    /* The stream's /Length is its byte count. */
    const char *lp = strstr(pdf, "/Length ");
    const char *st = strstr(pdf, "stream\n");
    const char *en = strstr(pdf, "endstream");
    REQUIRE(lp && st && en);
    CHECK_INT(strtol(lp + 8, NULL, 10), en - (st + 7));

    /* The schedule's currency wins over the base currency; the whole book. */
    snprintf(job.currency, sizeof job.currency, "USD");
    CHECK_ERR(ERR_OK, cmd_sched_render(&ctx, &job, "aging", NULL, from, to, 0, path, &m));
    pdf = slurp(path, &len);
    CHECK(strstr(pdf, "(Currency: USD) Tj") != NULL);
    CHECK(strstr(pdf, "(Business unit: all \\(the whole book\\)) Tj") != NULL);

    CHECK_ERR(ERR_BAD_PARAM, cmd_sched_render(&ctx, &job, "pie", NULL, from, to, 0, path, &m));
    CHECK_STR("unknown report kind 'pie'", m.text);
    char bad[160];
    snprintf(bad, sizeof bad, "%s/missing/r.pdf.tmp", dir);
    CHECK_ERR(ERR_IO, cmd_sched_render(&ctx, &job, "sla", NULL, from, to, 0, bad, &m));
    char want[300];
    snprintf(want, sizeof want, "cannot create %s: No such file or directory", bad);
    CHECK_STR(want, m.text);
    CHECK(unlink(path) == 0);
    CHECK(rmdir(dir) == 0);
    kpi_tz_free(tz);
}

static void test_kinds(void)
{
    static const char *const kinds[] = {"sla", "aging", "dso", "ftq", "summary"};
    for (int i = 0; i < 5; i++)
        CHECK_INT(i, cmd_sched_kind_index(kinds[i]));
    CHECK_INT(-1, cmd_sched_kind_index("SLA"));
    CHECK_INT(-1, cmd_sched_kind_index(""));
}

int main(void)
{
    RUN(test_render_placeholder);
    RUN(test_kinds);
    return test_summary();
}
