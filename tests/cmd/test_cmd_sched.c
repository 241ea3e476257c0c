/*
 * test_cmd_sched.c — the render callback of `kpid serve`: a scheduled run
 * renders the real report for its kind, unit, period and currency (the
 * schedule's currency, else the base currency) into the temporary path;
 * the kind names agree with the renderer's; unknown kinds, units and
 * unwritable paths are errors with messages.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_sched.h"
#include "coll.h"
#include "kpi_date.h"
#include "rpt.h"
#include "store.h"
#include "test.h"

static size_t file_size(const char *path, char *head, size_t cap)
{
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    size_t n = fread(head, 1, cap, f);
    REQUIRE(fseek(f, 0, SEEK_END) == 0);
    long len = ftell(f);
    fclose(f);
    REQUIRE(len >= 0);
    (void)n;
    return (size_t)len;
}

/* A store with one invoice of unit EU, in EUR, issued 2026-03-02. */
static store_t *small_store(const char *dir, const kpi_tz_t *tz)
{
    store_opts_t o = {.dir = dir, .tz = tz, .base_currency = "EUR"};
    store_t *s = NULL;
    err_msg_t m = {{0}};
    err_t e = store_open(&o, &s, &m);
    CHECK_MSG(e == ERR_OK, "store_open: %s", m.text);
    REQUIRE(e == ERR_OK);
    kpi_event_t ev = {0};
    ev.type = KPI_EV_INVOICE_ISSUED;
    ev.id = "e1";
    ev.time_s = kpi_day_start_utc(kpi_days_from_civil(2026, 3, 2)) + 9 * 3600;
    ev.business_unit = "EU";
    ev.doc = "INV-1";
    ev.party = "M\xc3\xbcller GmbH";
    ev.flags = KPI_EVF_AMOUNT | KPI_EVF_TERMS;
    ev.amount_minor = 125000;
    ev.terms_days = 30;
    store_item_result_t r;
    store_batch_opts_t bo = {0};
    store_batch_stats_t st;
    e = store_put_batch(s, &ev, 1, &bo, &r, &st, &m);
    CHECK_MSG(e == ERR_OK && st.accepted == 1, "put: %s", m.text);
    return s;
}

static void test_render(void)
{
    char dir[] = "/tmp/kpid-cmd-sched-XXXXXX";
    REQUIRE(mkdtemp(dir) != NULL);
    char sdir[96];
    snprintf(sdir, sizeof sdir, "%s/store", dir);
    kpi_tz_t *tz = NULL;
    REQUIRE(coll_tz_load("Europe/Berlin", &tz, NULL) == ERR_OK);
    store_t *store = small_store(sdir, tz);
    cmd_sched_ctx_t ctx = {.store = store, .tz = tz, .base_currency = "EUR"};
    rpt_sched_job_t job;
    memset(&job, 0, sizeof job);
    snprintf(job.name, sizeof job.name, "monthly");
    snprintf(job.cron_expr, sizeof job.cron_expr, "0 6 1 * *");
    job.period = RPT_RULE_PREVIOUS_MONTH;
    char path[128];
    snprintf(path, sizeof path, "%s/r.pdf.tmp", dir);
    err_msg_t m = {{0}};
    int32_t from = kpi_days_from_civil(2026, 3, 1), to = kpi_days_from_civil(2026, 3, 31);
    char head[16] = {0};
    for (int k = 0; k < CMD_SCHED_N_KINDS; k++) {
        err_t e =
            cmd_sched_render(&ctx, &job, cmd_sched_kinds[k], "EU", from, to, 1775023200, path, &m);
        CHECK_MSG(e == ERR_OK, "%s: %s", cmd_sched_kinds[k], err_msg_or(&m, e));
        size_t len = file_size(path, head, 8);
        /* The xlsx kind is a workbook: a zip. */
        const char *magic = strcmp(cmd_sched_kinds[k], "xlsx") == 0 ? "PK\x03\x04" : "%PDF-";
        CHECK_MSG(len > 1000 && memcmp(head, magic, strlen(magic)) == 0, "%s: %zu bytes",
                  cmd_sched_kinds[k], len);
    }

    /* Runs due after the period (1 April, as the cron says); a report is
       only rendered for a period that has started by its due day. */
    const int64_t due = 1775023200;
    /* The schedule's currency wins over the base currency: a currency the
       renderer knows renders (an empty book in USD), one it does not is
       refused by name. */
    snprintf(job.currency, sizeof job.currency, "USD");
    CHECK_ERR(ERR_OK, cmd_sched_render(&ctx, &job, "aging", NULL, from, to, due, path, &m));
    snprintf(job.currency, sizeof job.currency, "XYZ");
    CHECK(cmd_sched_render(&ctx, &job, "aging", NULL, from, to, due, path, &m) != ERR_OK);
    CHECK(strstr(m.text, "XYZ") != NULL);
    job.currency[0] = '\0';

    CHECK_ERR(ERR_BAD_PARAM, cmd_sched_render(&ctx, &job, "pie", NULL, from, to, due, path, &m));
    CHECK_STR("unknown report kind 'pie'", m.text);
    CHECK_ERR(ERR_NOT_FOUND, cmd_sched_render(&ctx, &job, "sla", "Mars", from, to, due, path, &m));
    CHECK(strstr(m.text, "Mars") != NULL);
    char bad[160];
    snprintf(bad, sizeof bad, "%s/missing/r.pdf.tmp", dir);
    CHECK_ERR(ERR_IO, cmd_sched_render(&ctx, &job, "sla", NULL, from, to, due, bad, &m));
    CHECK(strstr(m.text, bad) != NULL);

    store_close(store);
    kpi_tz_free(tz);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
}

/* The scheduler's kind names are the renderer's, in its enum order. */
static void test_kinds(void)
{
    for (int i = 0; i < CMD_SCHED_N_KINDS; i++) {
        CHECK_INT(i, cmd_sched_kind_index(cmd_sched_kinds[i]));
        CHECK_STR(rpt_kind_name((rpt_kind_t)i), cmd_sched_kinds[i]);
    }
    CHECK_INT(-1, cmd_sched_kind_index("SLA"));
    CHECK_INT(-1, cmd_sched_kind_index(""));
}

int main(void)
{
    RUN(test_render);
    RUN(test_kinds);
    return test_summary();
}
