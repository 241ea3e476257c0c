/*
 * test_api_metrics.c — the server's request and ingest counters
 * (api/api_metrics.c): bucket placement at the bounds, status codes,
 * unmatched routes and unanswered requests, route labels, the written
 * families, exact totals under concurrent lock-free updates, and the KPI
 * text reused only while the store and the day are unchanged.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "api_int.h"
#include "api_metrics.h"
#include "kpi_date.h"
#include "store.h"
#include "test.h"

static const api_route_t routes[] = {
    {"GET", "/v1/aging", NULL, NULL, NULL, API_ROLE_READ, false, false},
    {"POST", "/v1/events", NULL, NULL, NULL, API_ROLE_INGEST, false, false},
    {"GET", "/v1/customers/", NULL, NULL, NULL, API_ROLE_READ, false, false},
};

static uint64_t bucket_total(const api_route_metrics_t *r)
{
    uint64_t n = 0;
    for (size_t i = 0; i <= API_METRICS_BOUNDS; i++)
        n += r->bucket[i];
    return n;
}

static void test_bounds_ascending(void)
{
    CHECK_INT(500000, api_metrics_bounds_ns[0]);
    CHECK_INT(10000000000LL, api_metrics_bounds_ns[API_METRICS_BOUNDS - 1]);
    for (size_t i = 1; i < API_METRICS_BOUNDS; i++)
        CHECK_MSG(api_metrics_bounds_ns[i] > api_metrics_bounds_ns[i - 1], "bound %zu", i);
}

/* A duration equal to a bound is in that bucket (le means <=). */
static void test_bucket_placement(void)
{
    static const struct {
        uint64_t ns;
        size_t bucket;
    } rows[] = {
        {0, 0},
        {500000, 0},
        {500001, 1},
        {1000000, 1},
        {9999999999u, 13},
        {10000000000u, 13},
        {10000000001u, 14},
        {UINT64_MAX / 2, 14},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        api_metrics_t *m = api_metrics_new();
        REQUIRE(m != NULL);
        api_metrics_request(m, 0, 200, rows[i].ns);
        CHECK_MSG(m->route[0].bucket[rows[i].bucket] == 1, "row %zu: %llu ns not in bucket %zu", i,
                  (unsigned long long)rows[i].ns, rows[i].bucket);
        CHECK_INT(1, bucket_total(&m->route[0]));
        CHECK_INT(rows[i].ns, m->route[0].sum_ns);
        api_metrics_free(m);
    }
}

static void test_codes_and_slots(void)
{
    api_metrics_t *m = api_metrics_new();
    REQUIRE(m != NULL);
    api_metrics_request(m, 1, 200, 1000);
    api_metrics_request(m, 1, 422, 1000);
    api_metrics_request(m, 1, 422, 1000);
    api_metrics_request(m, SIZE_MAX, 404, 1000);             /* matched no route */
    api_metrics_request(m, API_METRICS_ROUTES_MAX, 405, 10); /* same slot */
    api_metrics_request(m, 0, 0, 1000);                      /* nothing was queued */
    CHECK_INT(1, m->route[1].by_code[200 - 100]);
    CHECK_INT(2, m->route[1].by_code[422 - 100]);
    CHECK_INT(3, bucket_total(&m->route[1]));
    CHECK_INT(1, m->route[API_METRICS_ROUTES_MAX].by_code[404 - 100]);
    CHECK_INT(1, m->route[API_METRICS_ROUTES_MAX].by_code[405 - 100]);
    CHECK_INT(1, m->no_response);
    CHECK_INT(0, bucket_total(&m->route[0])); /* unanswered: not timed */
    api_metrics_free(m);
    api_metrics_free(NULL);
}

static void test_route_label(void)
{
    char buf[128];
    CHECK_STR("/v1/aging", api_metrics_route_label(&routes[0], buf, sizeof buf));
    CHECK_STR("/v1/customers/{id}", api_metrics_route_label(&routes[2], buf, sizeof buf));
    api_route_t root = {"GET", "/", NULL, NULL, NULL, API_ROLE_OPEN, false, false};
    CHECK_STR("/", api_metrics_route_label(&root, buf, sizeof buf));
}

static void test_start_time(void)
{
    api_metrics_t *m = api_metrics_new();
    REQUIRE(m != NULL);
    int64_t now = (int64_t)time(NULL);
    /* This test process started before now, and (boot-time rounding aside)
       not before the machine did. */
    CHECK_MSG(m->start_time_s <= now + 1 && m->start_time_s > 0, "start %lld now %lld",
              (long long)m->start_time_s, (long long)now);
    api_metrics_free(m);
}

static void test_write_http(void)
{
    api_metrics_t *m = api_metrics_new();
    REQUIRE(m != NULL);
    api_metrics_request(m, 0, 200, 2000000); /* 2 ms */
    api_metrics_request(m, 2, 404, 300000);  /* 0.3 ms, a prefix route */
    api_metrics_request(m, SIZE_MAX, 405, 1);
    api_metrics_events(m, 3, 2, 1, 4);
    api_metrics_events(m, 1, 0, 0, 0);
    api_buf_t b;
    api_buf_init(&b, 1 << 20);
    api_metrics_write_http(m, routes, 3, &b);
    REQUIRE(!b.failed && b.data != NULL);
    const char *want[] = {
        "# TYPE kpid_http_requests_total counter\n",
        "\nkpid_http_requests_total{route=\"/v1/aging\",method=\"GET\",code=\"200\"} 1\n",
        "\nkpid_http_requests_total{route=\"/v1/customers/{id}\",method=\"GET\",code=\"404\"} 1\n",
        "\nkpid_http_requests_total{route=\"unmatched\",method=\"other\",code=\"405\"} 1\n",
        "# TYPE kpid_http_request_duration_seconds histogram\n",
        "\nkpid_http_request_duration_seconds_bucket{route=\"/v1/aging\",method=\"GET\",le=\"0."
        "001\"} 0\n",
        "\nkpid_http_request_duration_seconds_bucket{route=\"/v1/aging\",method=\"GET\",le=\"0."
        "0025\"} 1\n",
        "\nkpid_http_request_duration_seconds_bucket{route=\"/v1/aging\",method=\"GET\",le=\"+"
        "Inf\"} 1\n",
        "\nkpid_http_request_duration_seconds_sum{route=\"/v1/aging\",method=\"GET\"} 0.002\n",
        "\nkpid_http_request_duration_seconds_count{route=\"/v1/events\",method=\"POST\"} 0\n",
        "\nkpid_http_requests_unanswered_total 0\n",
        "\nkpid_events_ingested_total{result=\"accepted\"} 4\n",
        "\nkpid_events_ingested_total{result=\"duplicate\"} 2\n",
        "\nkpid_events_ingested_total{result=\"rejected\"} 1\n",
        "\nkpid_events_ingested_total{result=\"not_committed\"} 4\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        CHECK_MSG(strstr(b.data, want[i]) != NULL, "missing: %s", want[i]);
    /* Codes never seen are not written; no raw path appears. */
    CHECK(strstr(b.data, "code=\"500\"") == NULL);
    CHECK(strstr(b.data, "method=\"POST\",code=") == NULL);
    api_buf_free(&b);
    api_metrics_free(m);
}

/* Lock-free adds lose nothing under contention. */
#define THREADS 4
#define PER_THREAD 20000

static void *hammer(void *arg)
{
    api_metrics_t *m = arg;
    for (uint64_t i = 0; i < PER_THREAD; i++) {
        api_metrics_request(m, i % 2, 200, (i % 3) * 1000000);
        api_metrics_events(m, 1, 0, 1, 0);
    }
    return NULL;
}

static void test_concurrent(void)
{
    api_metrics_t *m = api_metrics_new();
    REQUIRE(m != NULL);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        REQUIRE(pthread_create(&t[i], NULL, hammer, m) == 0);
    for (int i = 0; i < THREADS; i++)
        REQUIRE(pthread_join(t[i], NULL) == 0);
    uint64_t total = (uint64_t)THREADS * PER_THREAD;
    CHECK_INT(total / 2, m->route[0].by_code[100]);
    CHECK_INT(total / 2, m->route[1].by_code[100]);
    CHECK_INT(total / 2, bucket_total(&m->route[0]));
    CHECK_INT(total, m->events[API_EV_ACCEPTED]);
    CHECK_INT(total, m->events[API_EV_REJECTED]);
    CHECK_INT(0, m->events[API_EV_DUPLICATE]);
    api_metrics_free(m);
}

/* The KPI text is reused while (event count, day) hold, recomputed when
   either moves, and an event changes what is served. */
static void test_kpi_cache(void)
{
    kpi_tz_t *utc;
    REQUIRE(kpi_tz_new_utc(&utc) == ERR_OK);
    char dir[64];
    snprintf(dir, sizeof dir, "%s", "/tmp/kpid-metrics-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
    store_opts_t o = {.dir = dir, .tz = utc, .base_currency = "USD"};
    store_t *s = NULL;
    REQUIRE(store_open(&o, &s, NULL) == ERR_OK);
    static const int32_t edges[] = {30, 60, 90, 120};
    int32_t today = kpi_days_from_civil(2025, 4, 20);
    api_kpi_scrape_t sc = {
        .store = s, .today = today, .tz_name = "UTC", .edges = edges, .n_edges = 4};
    api_metrics_t *m = api_metrics_new();
    REQUIRE(m != NULL);
    api_buf_t b1, b2, b3, b4;
    api_buf_init(&b1, 1u << 20);
    api_buf_init(&b2, 1u << 20);
    api_buf_init(&b3, 1u << 20);
    api_buf_init(&b4, 1u << 20);

    CHECK_ERR(ERR_OK, api_metrics_kpi_cached(m, &sc, 0, &b1, NULL));
    CHECK_INT(1, m->kpi_computations);
    CHECK_ERR(ERR_OK, api_metrics_kpi_cached(m, &sc, 0, &b2, NULL));
    CHECK_INT(1, m->kpi_computations);
    CHECK_INT(1, m->kpi_hits);
    REQUIRE(b1.data != NULL && b2.data != NULL);
    CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
    CHECK(strstr(b1.data, "kpid_ar_open_amount{") == NULL);

    /* An event: the count moves, the figures are computed again. */
    kpi_event_t ev = {.type = KPI_EV_INVOICE_ISSUED,
                      .flags = KPI_EVF_AMOUNT | KPI_EVF_TERMS,
                      .time_s = kpi_day_start_utc(today) + 3600,
                      .amount_minor = 12345,
                      .terms_days = 30,
                      .id = "c1",
                      .business_unit = "",
                      .party = "A",
                      .doc = "I1"};
    store_item_result_t res;
    store_batch_stats_t st;
    REQUIRE(store_put_batch(s, &ev, 1, NULL, &res, &st, NULL) == ERR_OK);
    CHECK_ERR(ERR_OK, api_metrics_kpi_cached(m, &sc, 1, &b3, NULL));
    CHECK_INT(2, m->kpi_computations);
    REQUIRE(b3.data != NULL);
    CHECK(strstr(b3.data, "\nkpid_ar_open_amount{currency=\"USD\",bucket=\"current\"} 123.45\n") !=
          NULL);

    /* The next day: computed again (aging moves with the day). */
    sc.today = today + 31;
    CHECK_ERR(ERR_OK, api_metrics_kpi_cached(m, &sc, 1, &b4, NULL));
    CHECK_INT(3, m->kpi_computations);
    CHECK_INT(1, m->kpi_hits);
    REQUIRE(b4.data != NULL);
    CHECK(strstr(b4.data, "\nkpid_ar_open_amount{currency=\"USD\",bucket=\"1-30\"} 123.45\n") !=
          NULL);

    /* A failed computation appends nothing and keeps the last text. */
    size_t before = b4.len;
    api_kpi_scrape_t bad = sc;
    bad.n_edges = 0;
    bad.today = today + 40;
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_BAD_PARAM, api_metrics_kpi_cached(m, &bad, 1, &b4, &msg));
    CHECK_INT(before, b4.len);
    CHECK_INT(3, m->kpi_computations);
    CHECK(m->kpi_text != NULL && m->kpi_today == today + 31);

    api_buf_free(&b1);
    api_buf_free(&b2);
    api_buf_free(&b3);
    api_buf_free(&b4);
    api_metrics_free(m);
    store_close(s);
    kpi_tz_free(utc);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    REQUIRE(system(cmd) == 0);
}

int main(void)
{
    RUN(test_bounds_ascending);
    RUN(test_bucket_placement);
    RUN(test_codes_and_slots);
    RUN(test_route_label);
    RUN(test_start_time);
    RUN(test_write_http);
    RUN(test_concurrent);
    RUN(test_kpi_cache);
    return test_summary();
}
