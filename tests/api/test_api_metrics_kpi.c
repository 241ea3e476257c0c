/*
 * test_api_metrics_kpi.c — the KPI families of /metrics
 * (api/api_metrics_kpi.c) on a small hand-computed book in a fresh store,
 * with "today" injected: aging per currency and unit (whole book without a
 * business_unit label), label escaping of a unit name, DSO in seconds, CEI
 * and SLA as ratios, undefined values left out, and an error appending
 * nothing.
 *
 * The book (USD, reporting zone UTC), today = 2025-04-20:
 *   I1  unit we"st  issued 2025-03-03  1000.00  terms 30 (due 04-02)
 *   P1  unit we"st  received 2025-04-15  300.00, applied to I1 the same day
 *   I2  unit east   issued 2025-04-10   500.00  terms 30 (due 05-10)
 * Windows: previous_month = March, month_to_date = 04-01..04-20; scraped
 * again on 04-01, previous_month is still the whole of March (the same
 * figure) and month_to_date the one day, which has no sales (DSO absent).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_int.h"
#include "api_metrics.h"
#include "kpi_date.h"
#include "store.h"
#include "test.h"

static kpi_tz_t *utc;

static int64_t T(int y, int m, int d, int h)
{
    return kpi_day_start_utc(kpi_days_from_civil(y, m, d)) + h * 3600;
}

static kpi_event_t ev(kpi_ev_type_t t, const char *id, int64_t time, const char *doc,
                      const char *ref, int64_t amount, const char *party, const char *unit)
{
    kpi_event_t e = {0};
    e.type = t;
    e.id = id;
    e.time_s = time;
    e.business_unit = unit;
    e.doc = doc;
    e.ref = ref;
    e.party = party;
    memcpy(e.currency, "USD", 4);
    e.flags = KPI_EVF_AMOUNT;
    e.amount_minor = amount;
    if (t == KPI_EV_INVOICE_ISSUED) {
        e.flags |= KPI_EVF_TERMS;
        e.terms_days = 30;
    }
    if (t == KPI_EV_PAYMENT_RECEIVED)
        e.method = KPI_METHOD_WIRE;
    return e;
}

static const int32_t edges[] = {30, 60, 90, 120};

static void test_book(void)
{
    char dir[64];
    snprintf(dir, sizeof dir, "%s", "/tmp/kpid-metrics-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    store_opts_t o = {.dir = dir, .tz = utc, .base_currency = "USD"};
    store_t *s = NULL;
    REQUIRE(store_open(&o, &s, NULL) == ERR_OK);
    const char *west = "we\"st";
    kpi_event_t evs[] = {
        ev(KPI_EV_INVOICE_ISSUED, "e1", T(2025, 3, 3, 9), "I1", NULL, 100000, "A", west),
        ev(KPI_EV_PAYMENT_RECEIVED, "e2", T(2025, 4, 15, 9), "P1", NULL, 30000, "A", west),
        ev(KPI_EV_PAYMENT_APPLIED, "e3", T(2025, 4, 15, 10), "P1", "I1", 30000, NULL, west),
        ev(KPI_EV_INVOICE_ISSUED, "e4", T(2025, 4, 10, 9), "I2", NULL, 50000, "B", "east"),
    };
    size_t n = sizeof evs / sizeof evs[0];
    store_item_result_t res[4];
    store_batch_stats_t st;
    REQUIRE(store_put_batch(s, evs, n, NULL, res, &st, NULL) == ERR_OK);
    CHECK_INT(n, st.accepted);

    api_kpi_scrape_t sc = {.store = s,
                           .today = kpi_days_from_civil(2025, 4, 20),
                           .tz_name = "UTC",
                           .edges = edges,
                           .n_edges = 4};
    kpi_arena_t *arena;
    REQUIRE(kpi_arena_new(64u << 20, &arena) == ERR_OK);
    api_buf_t b;
    api_buf_init(&b, 16u << 20);
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, api_metrics_kpi_write(&sc, arena, &b, &m));
    REQUIRE(!b.failed && b.data != NULL);

    const char *want[] = {
        "# TYPE kpid_ar_open_amount gauge\n",
        "\nkpid_kpi_info{as_of=\"2025-04-20\",time_zone=\"UTC\"} 1\n",
        /* whole book */
        "\nkpid_ar_open_amount{currency=\"USD\",bucket=\"current\"} 500.00\n",
        "\nkpid_ar_open_amount{currency=\"USD\",bucket=\"1-30\"} 700.00\n",
        "\nkpid_ar_open_amount{currency=\"USD\",bucket=\"121+\"} 0.00\n",
        "\nkpid_ar_open_invoices{currency=\"USD\",bucket=\"1-30\"} 1\n",
        /* per unit, the name escaped */
        "\nkpid_ar_open_amount{business_unit=\"we\\\"st\",currency=\"USD\",bucket=\"1-30\"} "
        "700.00\n",
        "\nkpid_ar_open_amount{business_unit=\"we\\\"st\",currency=\"USD\",bucket=\"current\"} "
        "0.00\n",
        "\nkpid_ar_open_amount{business_unit=\"east\",currency=\"USD\",bucket=\"current\"} "
        "500.00\n",
        "\nkpid_ar_unapplied_cash_amount{currency=\"USD\"} 0.00\n",
        /* March: AR 1000 / sales 1000 * 31 days = 31 days */
        "\nkpid_dso_seconds{currency=\"USD\",method=\"standard\",window=\"previous_month\"} "
        "2678400\n",
        /* April to date: AR 1200 / sales 500 * 20 days = 48 days */
        "\nkpid_dso_seconds{currency=\"USD\",method=\"standard\",window=\"month_to_date\"} "
        "4147200\n",
        "\nkpid_dso_seconds{business_unit=\"we\\\"st\",currency=\"USD\",method=\"standard\","
        "window=\"previous_month\"} 2678400\n",
        /* CEI to date: (1000 + 500 - 1200) / (1000 + 500 - 500) = 30 % */
        "\nkpid_cei_ratio{currency=\"USD\",window=\"month_to_date\"} 0.3000\n",
        /* P1 fully applied the day it arrived: 1 of 1 met */
        "\nkpid_sla_compliance_ratio{sla=\"cash-application\",window=\"month_to_date\"} 1.0000\n",
        "\nkpid_sla_met_items{sla=\"cash-application\",window=\"month_to_date\"} 1\n",
        "\nkpid_sla_completed_items{sla=\"cash-application\",window=\"month_to_date\"} 1\n",
        "\nkpid_sla_breached_open_items{sla=\"cash-application\"} 0\n",
        "\nkpid_sla_target{sla=\"ap-processing\",target_unit=\"business_days\"} 3\n",
        "\nkpid_sla_target{sla=\"dispute-resolution\",target_unit=\"days\"} 30\n",
        "\nkpid_ftq_reviewed_documents{kind=\"invoice\",window=\"previous_month\"} 0\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_MSG(strstr(b.data, want[i]) != NULL, "missing: %s", want[i]);
    /* Undefined values are left out: east had no sales in March (DSO),
       March's CEI has nothing to collect, nothing was reviewed (FTQ). */
    const char *absent[] = {
        "kpid_dso_seconds{business_unit=\"east\",currency=\"USD\",method=\"standard\","
        "window=\"previous_month\"}",
        "kpid_cei_ratio{currency=\"USD\",window=\"previous_month\"}",
        "\nkpid_ftq_ratio{",
        "NaN",
    };
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++)
        CHECK_MSG(strstr(b.data, absent[i]) == NULL, "present: %s", absent[i]);
    /* Each family is one group: its TYPE line appears once. */
    const char *p = strstr(b.data, "# TYPE kpid_dso_seconds ");
    CHECK(p != NULL && strstr(p + 1, "# TYPE kpid_dso_seconds ") == NULL);

    /* On the 1st: the complete month is unchanged, the running one is one day. */
    api_kpi_scrape_t first = sc;
    first.today = kpi_days_from_civil(2025, 4, 1);
    api_buf_t b1;
    api_buf_init(&b1, 16u << 20);
    kpi_arena_reset(arena);
    CHECK_ERR(ERR_OK, api_metrics_kpi_write(&first, arena, &b1, &m));
    REQUIRE(!b1.failed && b1.data != NULL);
    CHECK(strstr(b1.data, "\nkpid_kpi_info{as_of=\"2025-04-01\",time_zone=\"UTC\"} 1\n") != NULL);
    CHECK(strstr(b1.data, "\nkpid_dso_seconds{currency=\"USD\",method=\"standard\","
                          "window=\"previous_month\"} 2678400\n") != NULL);
    CHECK(strstr(b1.data, "kpid_dso_seconds{currency=\"USD\",method=\"standard\","
                          "window=\"month_to_date\"}") == NULL);
    api_buf_free(&b1);

    /* An error appends nothing and says why. */
    size_t before = b.len;
    api_kpi_scrape_t bad = sc;
    bad.n_edges = 0;
    kpi_arena_reset(arena);
    CHECK_ERR(ERR_BAD_PARAM, api_metrics_kpi_write(&bad, arena, &b, &m));
    CHECK_INT(before, b.len);
    CHECK_MSG(strstr(m.text, "edges") != NULL, "message: %s", m.text);

    api_buf_free(&b);
    kpi_arena_free(arena);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    REQUIRE(system(cmd) == 0);
}

/* An empty store still answers: the whole-book SLA and FTQ counts (zero),
   no money families' samples, no error. */
static void test_empty(void)
{
    char dir[64];
    snprintf(dir, sizeof dir, "%s", "/tmp/kpid-metrics-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    store_opts_t o = {.dir = dir, .tz = utc, .base_currency = "USD"};
    store_t *s = NULL;
    REQUIRE(store_open(&o, &s, NULL) == ERR_OK);
    api_kpi_scrape_t sc = {
        .store = s, .today = 20000, .tz_name = "UTC", .edges = edges, .n_edges = 4};
    kpi_arena_t *arena;
    REQUIRE(kpi_arena_new(1u << 20, &arena) == ERR_OK);
    api_buf_t b;
    api_buf_init(&b, 1u << 20);
    CHECK_ERR(ERR_OK, api_metrics_kpi_write(&sc, arena, &b, NULL));
    REQUIRE(b.data != NULL);
    CHECK(strstr(b.data,
                 "\nkpid_sla_completed_items{sla=\"billing\",window=\"month_to_date\"} 0\n") !=
          NULL);
    CHECK(strstr(b.data, "\nkpid_ar_open_amount{") == NULL);
    CHECK(strstr(b.data, "# TYPE kpid_ar_open_amount gauge\n") != NULL);
    api_buf_free(&b);
    kpi_arena_free(arena);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    REQUIRE(system(cmd) == 0);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&utc) == ERR_OK);
    RUN(test_book);
    RUN(test_empty);
    kpi_tz_free(utc);
    return test_summary();
}
