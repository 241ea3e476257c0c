/*
 * api_metrics.c — the server's own metrics and the GET /metrics handler.
 *
 * Counters live in one api_metrics_t per server, allocated at start. Request
 * threads only ever add to them with relaxed __atomic adds (no lock, no
 * allocation on the request path); a scrape loads each counter once. A
 * histogram read while requests finish may be a few observations behind in
 * some buckets; _count is computed from the same loads as the buckets, so
 * the exposition is always self-consistent.
 *
 * The handler writes, in this order: build and process families, server
 * counters, store gauges, then the KPI families (api_metrics_kpi.c) and how
 * long they took. The KPI text is reused while the store's event count and
 * the as-of day are unchanged (api_metrics_kpi_cached says why that is
 * exact), so scrapes between ingests cost a copy. If the KPI part fails the
 * rest is still served, with kpid_kpi_scrape_error 1, so a store problem
 * does not blind the scrape.
 */
#include "api_int.h"
#include "api_writer.h"

#include <dirent.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "api_cache.h"
#include "api_metrics.h"
#include "kpi_tz.h"
#include "rpt_mail.h"

#define METRICS_BODY_MAX (64u << 20)
#define METRICS_ARENA_CAP (256u << 20)

const uint64_t api_metrics_bounds_ns[API_METRICS_BOUNDS] = {
    500000,    1000000,   2500000,   5000000,    10000000,   25000000,   50000000,
    100000000, 250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000};

/* ---- process start time ---------------------------------------------------- */

/* Field 22 of /proc/self/stat (clock ticks after boot) plus /proc/stat's
   btime; the server's own start time when /proc cannot tell. */
static int64_t process_start_s(void)
{
    int64_t now = (int64_t)time(NULL);
    FILE *f = fopen("/proc/self/stat", "r");
    if (f == NULL)
        return now;
    char line[1024];
    size_t n = fread(line, 1, sizeof line - 1, f);
    fclose(f);
    line[n] = '\0';
    /* The command name (field 2) may hold spaces: start after its ')'. */
    const char *p = strrchr(line, ')');
    if (p == NULL)
        return now;
    unsigned long long ticks = 0;
    int field = 2;
    for (const char *q = p + 1; *q && field < 22; q++)
        if (*q == ' ' && ++field == 22)
            ticks = strtoull(q + 1, NULL, 10);
    long hz = sysconf(_SC_CLK_TCK);
    f = fopen("/proc/stat", "r");
    if (f == NULL || hz <= 0 || field != 22) {
        if (f != NULL)
            fclose(f);
        return now;
    }
    long long btime = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "btime ", 6) == 0)
            btime = strtoll(line + 6, NULL, 10);
    fclose(f);
    if (btime <= 0)
        return now;
    return (int64_t)btime + (int64_t)(ticks / (unsigned long long)hz);
}

api_metrics_t *api_metrics_new(void)
{
    api_metrics_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    if (pthread_mutex_init(&m->kpi_mu, NULL) != 0) {
        free(m);
        return NULL;
    }
    m->start_time_s = process_start_s();
    return m;
}

void api_metrics_free(api_metrics_t *m)
{
    if (m == NULL)
        return;
    (void)pthread_mutex_destroy(&m->kpi_mu);
    free(m->kpi_text);
    free(m);
}

/* ---- counting (request threads) -------------------------------------------- */

static void inc(uint64_t *c, uint64_t by)
{
    (void)__atomic_fetch_add(c, by, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *c)
{
    return __atomic_load_n(c, __ATOMIC_RELAXED);
}

void api_metrics_request(api_metrics_t *m, size_t route, unsigned status, uint64_t dur_ns)
{
    if (status == 0) {
        inc(&m->no_response, 1);
        return;
    }
    api_route_metrics_t *r =
        &m->route[route < API_METRICS_ROUTES_MAX ? route : API_METRICS_ROUTES_MAX];
    if (status >= 100 && status < 100 + API_METRICS_CODES)
        inc(&r->by_code[status - 100], 1);
    size_t b = 0;
    while (b < API_METRICS_BOUNDS && dur_ns > api_metrics_bounds_ns[b])
        b++;
    inc(&r->bucket[b], 1);
    inc(&r->sum_ns, dur_ns);
}

void api_metrics_events(api_metrics_t *m, uint64_t accepted, uint64_t duplicates, uint64_t rejected,
                        uint64_t not_committed)
{
    inc(&m->events[API_EV_ACCEPTED], accepted);
    inc(&m->events[API_EV_DUPLICATE], duplicates);
    inc(&m->events[API_EV_REJECTED], rejected);
    inc(&m->events[API_EV_NOT_COMMITTED], not_committed);
}

/* ---- writing ------------------------------------------------------------------ */

const char *api_metrics_route_label(const api_route_t *r, char *buf, size_t cap)
{
    /* "/" itself is a page, not a prefix of ids. */
    size_t len = strlen(r->path);
    bool prefix = len > 1 && r->path[len - 1] == '/';
    snprintf(buf, cap, "%s%s", r->path, prefix ? "{id}" : "");
    return buf;
}

void api_metrics_write_http(const api_metrics_t *m, const api_route_t *routes, size_t n_routes,
                            api_buf_t *b)
{
    if (n_routes > API_METRICS_ROUTES_MAX)
        n_routes = API_METRICS_ROUTES_MAX;
    char label[128], code[8];
    api_prom_family(b, "kpid_http_requests_total", "counter",
                    "HTTP requests answered, by route pattern, method and status code.");
    for (size_t i = 0; i <= n_routes; i++) {
        size_t slot = i < n_routes ? i : API_METRICS_ROUTES_MAX;
        api_prom_label_t l[3] = {
            {"route",
             i < n_routes ? api_metrics_route_label(&routes[i], label, sizeof label) : "unmatched"},
            {"method", i < n_routes ? routes[i].method : "other"},
            {"code", code}};
        for (unsigned c = 0; c < API_METRICS_CODES; c++) {
            uint64_t v = load(&m->route[slot].by_code[c]);
            if (v == 0)
                continue;
            snprintf(code, sizeof code, "%u", c + 100);
            api_prom_sample_u64(b, "kpid_http_requests_total", l, 3, v);
        }
    }
    api_prom_family(
        b, "kpid_http_request_duration_seconds", "histogram",
        "Time from the request's headers until its response was queued (parsing, store, "
        "KPI math, rendering; not the network transfer), by route pattern and method.");
    for (size_t i = 0; i <= n_routes; i++) {
        size_t slot = i < n_routes ? i : API_METRICS_ROUTES_MAX;
        uint64_t counts[API_METRICS_BOUNDS + 1];
        for (size_t k = 0; k <= API_METRICS_BOUNDS; k++)
            counts[k] = load(&m->route[slot].bucket[k]);
        api_prom_label_t l[2] = {
            {"route",
             i < n_routes ? api_metrics_route_label(&routes[i], label, sizeof label) : "unmatched"},
            {"method", i < n_routes ? routes[i].method : "other"}};
        api_prom_histogram(b, "kpid_http_request_duration_seconds", l, 2, api_metrics_bounds_ns,
                           API_METRICS_BOUNDS, counts, load(&m->route[slot].sum_ns));
    }
    api_prom_family(b, "kpid_http_requests_unanswered_total", "counter",
                    "Requests whose connection ended before a response was queued.");
    api_prom_sample_u64(b, "kpid_http_requests_unanswered_total", NULL, 0, load(&m->no_response));

    static const char *const results[API_EV_RESULTS] = {"accepted", "duplicate", "rejected",
                                                        "not_committed"};
    api_prom_family(b, "kpid_events_ingested_total", "counter",
                    "Events received by POST /v1/events since the server started, by result "
                    "(not_committed: valid, but its atomic batch was rolled back).");
    for (size_t i = 0; i < API_EV_RESULTS; i++) {
        api_prom_label_t l = {"result", results[i]};
        api_prom_sample_u64(b, "kpid_events_ingested_total", &l, 1, load(&m->events[i]));
    }
}

/* ---- process and store gauges ------------------------------------------------------ */

/* Anonymous resident memory (RssAnon in /proc/self/status): the heap and
   stacks without the store's file-backed map, whatever the allocator. */
static bool anon_resident(uint64_t *bytes)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return false;
    char line[256];
    unsigned long long kb = 0;
    bool found = false;
    while (!found && fgets(line, sizeof line, f) != NULL)
        found = sscanf(line, "RssAnon: %llu kB", &kb) == 1;
    fclose(f);
    *bytes = (uint64_t)kb * 1024u;
    return found;
}

/* What the allocator holds (issue 18: memory kept after large batches
   must be visible): in use, and freed but not yet given back. */
static void write_heap(const api_server_t *srv, api_buf_t *b)
{
    struct mallinfo2 mi = mallinfo2();
    api_prom_family(b, "kpid_heap_in_use_bytes", "gauge",
                    "Bytes allocated by malloc and not freed (mallinfo2 uordblks + hblkhd).");
    api_prom_sample_u64(b, "kpid_heap_in_use_bytes", NULL, 0, (uint64_t)(mi.uordblks + mi.hblkhd));
    api_prom_family(b, "kpid_heap_free_bytes", "gauge",
                    "Bytes freed but still held by malloc (mallinfo2 fordblks).");
    api_prom_sample_u64(b, "kpid_heap_free_bytes", NULL, 0, (uint64_t)mi.fordblks);
    api_prom_family(b, "kpid_heap_trims_total", "counter",
                    "Times free heap memory was given back after a large batch.");
    api_prom_sample_u64(b, "kpid_heap_trims_total", NULL, 0,
                        (uint64_t)__atomic_load_n(&srv->trims, __ATOMIC_RELAXED));
    uint64_t anon;
    if (anon_resident(&anon)) {
        api_prom_family(
            b, "kpid_memory_anonymous_bytes", "gauge",
            "Anonymous resident memory (RssAnon): heap and stacks, not the store's map.");
        api_prom_sample_u64(b, "kpid_memory_anonymous_bytes", NULL, 0, anon);
    }
}

static void write_process(const api_server_t *srv, api_buf_t *b)
{
    char v[API_PROM_SECONDS_BUF];
    api_prom_label_t ver = {"version", KPID_VERSION_STRING};
    api_prom_family(b, "kpid_build_info", "gauge", "Always 1; the version label names the build.");
    api_prom_sample(b, "kpid_build_info", &ver, 1, "1");

    long page = sysconf(_SC_PAGESIZE);
    unsigned long long vsz = 0, rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    bool statm = f != NULL && fscanf(f, "%llu %llu", &vsz, &rss) == 2 && page > 0;
    if (f != NULL)
        fclose(f);
    if (statm) {
        api_prom_family(b, "process_resident_memory_bytes", "gauge",
                        "Resident memory size in bytes.");
        api_prom_sample_u64(b, "process_resident_memory_bytes", NULL, 0,
                            (uint64_t)rss * (uint64_t)page);
        api_prom_family(b, "process_virtual_memory_bytes", "gauge",
                        "Virtual memory size in bytes.");
        api_prom_sample_u64(b, "process_virtual_memory_bytes", NULL, 0,
                            (uint64_t)vsz * (uint64_t)page);
    }
    write_heap(srv, b);
    api_prom_family(b, "kpid_ingest_batches_writing", "gauge",
                    "Ingest batches handed to the writer thread and not yet answered.");
    api_prom_sample_u64(b, "kpid_ingest_batches_writing", NULL, 0,
                        srv->writer != NULL ? api_writer_pending(srv->writer) : 0);
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) {
        uint64_t ns = ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
                      ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
        api_prom_family(b, "process_cpu_seconds_total", "counter",
                        "Total user and system CPU time spent in seconds.");
        api_prom_sample(b, "process_cpu_seconds_total", NULL, 0, api_prom_seconds(ns, v));
    }
    DIR *d = opendir("/proc/self/fd");
    if (d != NULL) {
        uint64_t fds = 0;
        for (struct dirent *de = readdir(d); de != NULL; de = readdir(d))
            if (de->d_name[0] != '.')
                fds++;
        closedir(d);
        api_prom_family(b, "process_open_fds", "gauge", "Number of open file descriptors.");
        api_prom_sample_u64(b, "process_open_fds", NULL, 0, fds > 0 ? fds - 1 : 0);
    }
    api_prom_family(b, "process_start_time_seconds", "gauge",
                    "Start time of the process since unix epoch in seconds.");
    snprintf(v, sizeof v, "%" PRId64, srv->metrics->start_time_s);
    api_prom_sample(b, "process_start_time_seconds", NULL, 0, v);
    api_prom_family(b, "kpid_http_requests_in_flight", "gauge",
                    "Requests being served now (this scrape included).");
    api_prom_sample_u64(b, "kpid_http_requests_in_flight", NULL, 0,
                        (uint64_t)__atomic_load_n(&srv->active, __ATOMIC_RELAXED));
    if (srv->cache == NULL)
        return;
    api_cache_stats_t cs;
    api_cache_stats(srv->cache, &cs);
    api_prom_family(b, "kpid_http_response_cache_hits_total", "counter",
                    "KPI requests answered from the response cache (store unchanged).");
    api_prom_sample_u64(b, "kpid_http_response_cache_hits_total", NULL, 0, cs.hits);
    api_prom_family(b, "kpid_http_response_cache_misses_total", "counter",
                    "KPI requests computed because the cache had no answer for this store "
                    "generation.");
    api_prom_sample_u64(b, "kpid_http_response_cache_misses_total", NULL, 0, cs.misses);
    api_prom_family(b, "kpid_http_response_cache_bytes", "gauge",
                    "Memory held by the response cache.");
    api_prom_sample_u64(b, "kpid_http_response_cache_bytes", NULL, 0, cs.bytes);
}

/* Reports by e-mail (reports/rpt_mail.h), when the server has an smtp block. */
static void write_mail(const api_server_t *srv, api_buf_t *b)
{
    if (srv->opts.mailq == NULL)
        return;
    rpt_mailq_stats_t ms;
    rpt_mailq_stats(srv->opts.mailq, &ms);
    api_prom_family(b, "kpid_report_mail_sent_total", "counter",
                    "Report e-mails the SMTP server accepted.");
    api_prom_sample_u64(b, "kpid_report_mail_sent_total", NULL, 0, ms.sent);
    api_prom_family(b, "kpid_report_mail_failed_total", "counter",
                    "Report e-mails given up (max_attempts reached, refused with 5xx, PDF gone); "
                    "the PDF stays in the reports directory.");
    api_prom_sample_u64(b, "kpid_report_mail_failed_total", NULL, 0, ms.failed);
    api_prom_family(b, "kpid_report_mail_retries_total", "counter",
                    "Failed delivery attempts of report e-mails that were retried later.");
    api_prom_sample_u64(b, "kpid_report_mail_retries_total", NULL, 0, ms.retries);
    api_prom_family(b, "kpid_report_mail_pending", "gauge",
                    "Report e-mails waiting for their first attempt or a retry.");
    api_prom_sample_u64(b, "kpid_report_mail_pending", NULL, 0, ms.pending);
}

static void write_store(const store_stats_t *st, api_buf_t *b)
{
    api_prom_family(b, "kpid_store_events", "gauge", "Events in the store's event log.");
    api_prom_sample_u64(b, "kpid_store_events", NULL, 0, st->events);
    api_prom_family(b, "kpid_store_pending_events", "gauge",
                    "Stored events waiting for a document that has not arrived yet.");
    api_prom_sample_u64(b, "kpid_store_pending_events", NULL, 0, st->pending);
    api_prom_family(b, "kpid_store_documents", "gauge", "Documents in the store, by kind.");
    for (int k = 1; k < KPI_DOC_COUNT; k++) {
        api_prom_label_t l = {"kind", kpi_doc_kind_name((kpi_doc_kind_t)k)};
        api_prom_sample_u64(b, "kpid_store_documents", &l, 1, st->docs[k]);
    }
    api_prom_family(b, "kpid_store_map_size_bytes", "gauge",
                    "Size of the LMDB map (the store grows it when full).");
    api_prom_sample_u64(b, "kpid_store_map_size_bytes", NULL, 0, st->map_size);
    api_prom_family(b, "kpid_store_map_used_bytes", "gauge", "Bytes of the LMDB map in use.");
    api_prom_sample_u64(b, "kpid_store_map_used_bytes", NULL, 0, st->map_used);
}

/* ---- the KPI families, cached while exact ------------------------------------------------ */

static uint64_t mono_ns(void)
{
    struct timespec t;
    (void)clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

err_t api_metrics_kpi_cached(api_metrics_t *m, const api_kpi_scrape_t *sc, uint64_t events,
                             api_buf_t *b, err_msg_t *msg)
{
    err_t e = ERR_OK;
    kpi_arena_t *arena = NULL;
    api_buf_t fresh;
    api_buf_init(&fresh, METRICS_BODY_MAX);
    (void)pthread_mutex_lock(&m->kpi_mu);
    if (m->kpi_text != NULL && m->kpi_events == events && m->kpi_today == sc->today) {
        m->kpi_hits++;
        api_buf_add(b, m->kpi_text, m->kpi_len);
        goto out;
    }
    uint64_t t0 = mono_ns();
    e = kpi_arena_new(METRICS_ARENA_CAP, &arena);
    if (e) {
        (void)err_set(msg, e, "out of memory");
        goto out;
    }
    e = api_metrics_kpi_write(sc, arena, &fresh, msg);
    if (!e && fresh.failed)
        e = err_set(msg, ERR_TOO_LARGE, "KPI families exceed %u bytes", METRICS_BODY_MAX);
    if (e)
        goto out;
    m->kpi_compute_ns = mono_ns() - t0;
    m->kpi_computations++;
    free(m->kpi_text);
    m->kpi_text = fresh.data; /* taken over: fresh is emptied, not freed */
    m->kpi_len = fresh.len;
    m->kpi_events = events;
    m->kpi_today = sc->today;
    api_buf_init(&fresh, 0);
    api_buf_add(b, m->kpi_text ? m->kpi_text : "", m->kpi_len);
out:
    (void)pthread_mutex_unlock(&m->kpi_mu);
    kpi_arena_free(arena);
    api_buf_free(&fresh);
    return e;
}

/* ---- GET /metrics ---------------------------------------------------------------------- */

enum MHD_Result api_metrics_get(api_req_t *req)
{
    api_server_t *srv = req->srv;
    /* The exposition spans every business unit and the whole server: a key
       limited to units is refused rather than shown a partial scrape. */
    err_msg_t am = {{0}};
    err_t ae = api_auth_unscoped(req, &am);
    if (ae)
        return api_send_error(req, ae, "%s", am.text);
    static const int32_t def_edges[] = {30, 60, 90, 120};
    api_kpi_scrape_t sc = {.store = srv->opts.store,
                           .today = kpi_tz_day(srv->opts.coll.tz, (int64_t)time(NULL)),
                           .tz_name = kpi_tz_name(srv->opts.coll.tz),
                           .edges = def_edges,
                           .n_edges = 4,
                           .fx_stale_days = srv->opts.fx_stale_days,
                           .fx_refuse_stale = srv->opts.fx_refuse_stale};
    /* The same default edges as /v1/aging (api_kpi.c p_edges). */
    if (srv->opts.aging_edges != NULL && srv->opts.n_aging_edges > 0 &&
        srv->opts.n_aging_edges <= KPI_BUCKETS_MAX - 2) {
        sc.edges = srv->opts.aging_edges;
        sc.n_edges = srv->opts.n_aging_edges;
    }
    api_buf_t b;
    api_buf_init(&b, METRICS_BODY_MAX);
    write_process(srv, &b);
    write_mail(srv, &b);
    size_t n_routes;
    const api_route_t *routes = api_routes(&n_routes);
    api_metrics_write_http(srv->metrics, routes, n_routes, &b);
    store_stats_t st;
    err_t e = store_stats(srv->opts.store, &st);
    if (!e)
        write_store(&st, &b);
    api_stream_metrics(srv, &b);

    err_msg_t m = {{0}};
    if (!e)
        e = api_metrics_kpi_cached(srv->metrics, &sc, st.events, &b, &m);
    if (e && srv->opts.log != NULL) {
        fprintf(srv->opts.log, "kpid: GET /metrics: KPI families left out: %s\n",
                err_msg_or(&m, e));
        fflush(srv->opts.log);
    }
    api_metrics_t *mt = srv->metrics;
    (void)pthread_mutex_lock(&mt->kpi_mu);
    uint64_t compute_ns = mt->kpi_compute_ns, computations = mt->kpi_computations,
             hits = mt->kpi_hits;
    (void)pthread_mutex_unlock(&mt->kpi_mu);
    char v[API_PROM_SECONDS_BUF];
    api_prom_family(&b, "kpid_kpi_compute_duration_seconds", "gauge",
                    "How long the last computation of the KPI families took.");
    api_prom_sample(&b, "kpid_kpi_compute_duration_seconds", NULL, 0,
                    api_prom_seconds(compute_ns, v));
    api_prom_family(&b, "kpid_kpi_computations_total", "counter",
                    "Scrapes that computed the KPI families (the store or the day had changed).");
    api_prom_sample_u64(&b, "kpid_kpi_computations_total", NULL, 0, computations);
    api_prom_family(&b, "kpid_kpi_cache_hits_total", "counter",
                    "Scrapes that reused the last KPI families: no event stored and the same "
                    "day since they were computed, so they were still exact.");
    api_prom_sample_u64(&b, "kpid_kpi_cache_hits_total", NULL, 0, hits);
    api_prom_family(&b, "kpid_kpi_scrape_error", "gauge",
                    "1 when this scrape could not compute the KPI families (see the server log).");
    api_prom_sample(&b, "kpid_kpi_scrape_error", NULL, 0, e ? "1" : "0");

    if (b.failed) {
        api_buf_free(&b);
        return api_send_error(req, ERR_TOO_LARGE, "metrics exposition exceeds %u bytes",
                              METRICS_BODY_MAX);
    }
    enum MHD_Result r = api_send_body(req, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
                                      b.data ? b.data : "", b.len);
    api_buf_free(&b);
    return r;
}
