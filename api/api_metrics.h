/*
 * api_metrics.h — GET /metrics: the Prometheus text exposition (format
 * 0.0.4) of kpid's current KPIs and of the server itself. Internal to api/.
 *
 * Three parts, one file each:
 *   api_prom.c         the exposition writer: HELP/TYPE lines, samples with
 *                      escaped label values, cumulative histograms; exact
 *                      decimal output (no float formatting of money).
 *   api_metrics.c      the server's own counters (requests by route, method
 *                      and status; latency histograms by route; events
 *                      ingested by result), kept with lock-free atomic adds,
 *                      plus process and store gauges, and the handler.
 *   api_metrics_kpi.c  the KPI families, computed from the store's derived
 *                      state through store_query.h, so every number equals
 *                      what the JSON API answers for the same window
 *                      (docs/metrics.md lists names, labels, windows); reused
 *                      by api_metrics.c while the store and the day have not
 *                      changed.
 *
 * Cardinality is bounded by construction: routes are the route table's
 * patterns (never the raw path), status codes are 100..599, and the KPI
 * labels are the store's business units, currencies, SLAs and buckets.
 */
#ifndef KPID_API_METRICS_H
#define KPID_API_METRICS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kpi_arena.h"
#include "store.h"

typedef struct api_buf api_buf_t;
typedef struct api_route api_route_t;

/* ---- exposition writer (api_prom.c) --------------------------------------- */

/* One label; a NULL value leaves the label out of the sample (the whole-book
   series of a KPI carries no business_unit label, docs/metrics.md). */
typedef struct api_prom_label {
    const char *name;  /* a valid label name (static) */
    const char *value; /* any UTF-8 text, escaped on output; NULL = omitted */
} api_prom_label_t;

/* "# HELP name help\n# TYPE name type\n"; help is escaped (\\ and \n). */
void api_prom_family(api_buf_t *b, const char *name, const char *type, const char *help);

/* One sample line: name{labels} value. `value` is printed as given (a
   Prometheus float literal such as "1250.00", "12", "+Inf"). */
void api_prom_sample(api_buf_t *b, const char *name, const api_prom_label_t *labels, size_t n,
                     const char *value);
void api_prom_sample_u64(api_buf_t *b, const char *name, const api_prom_label_t *labels, size_t n,
                         uint64_t value);

/* A label value with \, " and newline escaped as the format requires. */
void api_prom_label_value(api_buf_t *b, const char *value);

/* Nanoseconds as decimal seconds, exact and without trailing zeros
   (500000 -> "0.0005", 10000000000 -> "10"). buf >= API_PROM_SECONDS_BUF. */
#define API_PROM_SECONDS_BUF 32
const char *api_prom_seconds(uint64_t ns, char *buf);

/*
 * A histogram in seconds: name_bucket{labels,le="bound"} with CUMULATIVE
 * counts for each of the n_bounds ascending bounds and le="+Inf", then
 * name_sum (seconds) and name_count. counts[i] (n_bounds + 1 entries) are
 * per-bucket, NOT cumulative: counts[i] = observations <= bounds_ns[i] and
 * > bounds_ns[i-1]; counts[n_bounds] = those above the last bound. _count
 * and the +Inf bucket are both the sum of counts, so they always agree.
 */
void api_prom_histogram(api_buf_t *b, const char *name, const api_prom_label_t *labels, size_t n,
                        const uint64_t *bounds_ns, size_t n_bounds, const uint64_t *counts,
                        uint64_t sum_ns);

/* ---- server counters (api_metrics.c) -------------------------------------- */

#define API_METRICS_ROUTES_MAX 32 /* route table entries that get their own series */
#define API_METRICS_CODES 500     /* HTTP status 100..599 */
#define API_METRICS_BOUNDS 14     /* latency histogram bounds, 0.5 ms .. 10 s */

/* The latency bucket bounds in nanoseconds, ascending. */
extern const uint64_t api_metrics_bounds_ns[API_METRICS_BOUNDS];

typedef enum api_ev_result {
    API_EV_ACCEPTED = 0,
    API_EV_DUPLICATE,
    API_EV_REJECTED,
    API_EV_NOT_COMMITTED, /* valid, but its atomic batch was rolled back */
    API_EV_RESULTS
} api_ev_result_t;

/* Per-route counters; every field is only touched with __atomic builtins. */
typedef struct api_route_metrics {
    uint64_t by_code[API_METRICS_CODES];     /* responses by status - 100 */
    uint64_t bucket[API_METRICS_BOUNDS + 1]; /* latency, per bucket (not cumulative) */
    uint64_t sum_ns;                         /* total latency */
} api_route_metrics_t;

typedef struct api_metrics {
    /* [0, n_routes): the route table, in order; [API_METRICS_ROUTES_MAX]:
       requests that matched no route (404/405), whatever their path. */
    api_route_metrics_t route[API_METRICS_ROUTES_MAX + 1];
    uint64_t no_response;            /* connections closed before an answer was queued */
    uint64_t events[API_EV_RESULTS]; /* POST /v1/events items by result */
    int64_t start_time_s;            /* process start, UTC seconds */
    /* The KPI families of the last computation (api_metrics_kpi_cached),
       reused while its key holds. All below is guarded by kpi_mu. */
    pthread_mutex_t kpi_mu;
    char *kpi_text; /* owned; NULL before the first computation */
    size_t kpi_len;
    uint64_t kpi_events;     /* key: the store's event count read before computing */
    int32_t kpi_today;       /* key: the as-of day */
    uint64_t kpi_compute_ns; /* how long that computation took */
    uint64_t kpi_computations, kpi_hits;
} api_metrics_t;

/* New zeroed counters (start_time_s filled in). NULL when out of memory.
   Free with api_metrics_free (NULL is a no-op). */
api_metrics_t *api_metrics_new(void);
void api_metrics_free(api_metrics_t *m);

/*
 * Count one finished request: route index into the route table (any value
 * >= API_METRICS_ROUTES_MAX, e.g. SIZE_MAX, for "matched no route"), the
 * status sent (0 = none was queued) and its duration. Lock-free.
 */
void api_metrics_request(api_metrics_t *m, size_t route, unsigned status, uint64_t dur_ns);

/* Count the outcome of one POST /v1/events batch. Lock-free. */
void api_metrics_events(api_metrics_t *m, uint64_t accepted, uint64_t duplicates, uint64_t rejected,
                        uint64_t not_committed);

/*
 * Append the server families: kpid_http_requests_total{route,method,code},
 * kpid_http_request_duration_seconds{route,method} (histogram),
 * kpid_http_requests_unanswered_total, kpid_events_ingested_total{result}.
 * routes/n_routes is the route table (names the series); series that never
 * counted anything are left out, except every route's histogram.
 */
void api_metrics_write_http(const api_metrics_t *m, const api_route_t *routes, size_t n_routes,
                            api_buf_t *b);

/* The route label of a table entry: its path, with "{id}" after a prefix
   route's trailing '/' ("/" alone stays "/"). buf >= 128 bytes. */
const char *api_metrics_route_label(const api_route_t *r, char *buf, size_t cap);

/* ---- KPI families (api_metrics_kpi.c) ------------------------------------- */

typedef struct api_kpi_scrape api_kpi_scrape_t;

/*
 * Append the KPI families (api_metrics_kpi_write) to b, reusing the text of
 * the last computation when nothing it depends on has changed: the same
 * as-of day and the same store event count. `events` must be read (store
 * stats) BEFORE this call: the computation's snapshot is then at least as
 * new as the key, and since the count only grows, a key that still matches
 * means the store has not changed since — the reused text is exact, never
 * stale. (Everything else the KPIs depend on, SLAs, calendar, zone, bucket
 * edges, is fixed while the server runs; an accepted event always raises
 * the count, releasing pending ones included.) Serialized by m->kpi_mu, so
 * concurrent scrapes compute once. Errors as api_metrics_kpi_write; an
 * error leaves the previous text cached.
 */
err_t api_metrics_kpi_cached(api_metrics_t *m, const api_kpi_scrape_t *sc, uint64_t events,
                             api_buf_t *b, err_msg_t *msg) KPID_MUST_USE;

/* What the KPI families are computed for. */
struct api_kpi_scrape {
    store_t *store;
    int32_t today;        /* as-of day, reporting zone */
    const char *tz_name;  /* the reporting zone's name (kpid_kpi_info) */
    const int32_t *edges; /* aging bucket edges (checked) */
    size_t n_edges;
    int fx_stale_days; /* the consolidated families' staleness rule (as the API's) */
    bool fx_refuse_stale;
};

/*
 * Append every KPI family as of sc->today (windows in docs/metrics.md):
 * aging, unapplied cash and unallocated credits per currency and unit;
 * DSO (4 methods), CEI and DPO for the previous month and the month to
 * date; SLA compliance, met, completed and breached-open per SLA and unit;
 * FTQ per kind and unit. Every figure comes from store_query.h; undefined
 * ratios are left out. On error nothing is appended and msg says why.
 * arena receives the business-unit names (a few bytes per unit); each
 * scope's query memory is a scratch arena of its own, reset per scope, so
 * memory stays bounded whatever the number of units.
 */
err_t api_metrics_kpi_write(const api_kpi_scrape_t *sc, kpi_arena_t *arena, api_buf_t *b,
                            err_msg_t *msg) KPID_MUST_USE;

#endif
