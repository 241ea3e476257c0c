/*
 * api_server.c — the libmicrohttpd daemon: lifecycle, routing, request
 * contexts, and the helpers every handler uses to answer (JSON, CSV,
 * errors). The single err_t -> HTTP status mapping lives here.
 *
 * Request protocol with libmicrohttpd: the access handler is called once
 * with the headers (we allocate the api_req_t and route), then once per body
 * chunk (we pass it to the route's on_body and mark it consumed), then once
 * with no data (we answer). The completion callback frees the request.
 *
 * On the first call, before any body byte is read, the request is admitted
 * or refused (route_admit): its key must have the route's role (401/403,
 * api_auth.c) and an ingest request must get an ingest-queue slot (503).
 * Also here: the limits of docs/security.md (connection count at accept,
 * the request-timeout watchdog) and TLS setup.
 */
#include "api_int.h"
#include "api_writer.h"
#include "api_xlsx.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_cache.h"
#include "api_dashboard.h"
#include "api_params.h"
#include "kpi_suggest.h"
#include <sodium.h>

#include "kpi_money.h"
#include "kpi_tz.h"

#define REQ_ARENA_CAP (64u << 20) /* per-request scratch memory */
#define CONN_MEMORY (256u << 10)  /* libmicrohttpd's pool per connection: headers, arguments */
/* What a request line may hold. libmicrohttpd 0.9.75 stores each query
   argument in the connection's pool and ignores a failure there: past
   ~3,000 arguments it logged 431 and left the client waiting. These bounds
   keep every line it accepts within the pool; kpid's endpoints take a
   dozen arguments. */
#define URI_MAX (32u << 10)
#define QUERY_PARAMS_MAX 1000u
#define DEFAULT_MAX_BODY (256u << 20)
#define DEFAULT_MAX_BATCH 1000000u

static enum MHD_Result health_get(api_req_t *req);
static void watch_request_received(struct MHD_Connection *conn, bool busy);
static void watch_request_done(struct MHD_Connection *conn);

static const char *const no_params[] = {NULL};

/* The role column is enforced by api_auth_check before a handler runs
   (docs/security.md has the table); scoped keys are narrowed to their
   business units inside the handlers. */
static const api_route_t routes[] = {
    {"GET", "/healthz", health_get, NULL, no_params, API_ROLE_OPEN, false, false},
    {"GET", "/v1/events", api_events_get, NULL, api_events_get_params, API_ROLE_READ, false, false},
    {"POST", "/v1/events", api_events_post_respond, api_events_post_body, api_events_post_params,
     API_ROLE_INGEST, false, true},
    {"GET", "/v1/aging", api_aging_get, NULL, api_aging_params, API_ROLE_READ, true, false},
    {"GET", "/v1/dso", api_dso_get, NULL, api_dso_params, API_ROLE_READ, true, false},
    {"GET", "/v1/cei", api_cei_get, NULL, api_series_params, API_ROLE_READ, true, false},
    {"GET", "/v1/dpo", api_dpo_get, NULL, api_dpo_params, API_ROLE_READ, true, false},
    {"GET", "/v1/rollforward", api_rollforward_get, NULL, api_series_params, API_ROLE_READ, true,
     false},
    {"GET", "/v1/sla", api_sla_get, NULL, api_sla_params, API_ROLE_READ, true, false},
    {"GET", "/v1/ftq", api_ftq_get, NULL, api_ftq_params, API_ROLE_READ, true, false},
    {"GET", "/v1/customers/", api_customer_get, NULL, api_customer_params, API_ROLE_READ, true,
     false},
    {"GET", "/v1/payables/aging", api_payables_aging_get, NULL, api_payables_aging_params,
     API_ROLE_READ, true, false},
    {"GET", "/v1/payables/cash-requirements", api_payables_cashreq_get, NULL,
     api_payables_cashreq_params, API_ROLE_READ, true, false},
    {"GET", "/v1/worklists/overdue", api_worklist_overdue_get, NULL, api_worklist_overdue_params,
     API_ROLE_READ, true, false},
    {"GET", "/v1/worklists/unapplied", api_worklist_unapplied_get, NULL,
     api_worklist_unapplied_params, API_ROLE_READ, true, false},
    {"GET", "/v1/worklists/quality", api_worklist_quality_get, NULL, api_worklist_quality_params,
     API_ROLE_READ, true, false},
    {"GET", "/v1/worklists/sla", api_worklist_sla_get, NULL, api_worklist_sla_params, API_ROLE_READ,
     true, false},
    {"GET", "/v1/meta", api_meta_get, NULL, api_meta_params, API_ROLE_READ, true, false},
    /* Dashboard sign-in (api_session.c): POST takes the key from the
       Authorization header; DELETE is open so that an ended session can
       still clear its cookie. */
    {"POST", "/v1/session", api_session_post, NULL, no_params, API_ROLE_READ, false, false},
    {"GET", "/v1/session", api_session_get, NULL, no_params, API_ROLE_READ, false, false},
    {"DELETE", "/v1/session", api_session_delete, NULL, no_params, API_ROLE_OPEN, false, false},
    /* Open: the same static document for every caller, no data in it, and a
       client needs it before it has a key. */
    {"GET", "/v1/openapi.json", api_openapi_get, NULL, no_params, API_ROLE_OPEN, false, false},
    /* The dashboard page is static and open; the data calls it makes are
       authorized like any other. It keeps its filters in the query string:
       any parameter is allowed. */
    {"GET", "/", api_dashboard_index, NULL, NULL, API_ROLE_OPEN, false, false},
    {"GET", "/dashboard/", api_dashboard_asset, NULL, NULL, API_ROLE_OPEN, false, false},
    {"HEAD", "/", api_dashboard_index, NULL, NULL, API_ROLE_OPEN, false, false},
    {"HEAD", "/dashboard/", api_dashboard_asset, NULL, NULL, API_ROLE_OPEN, false, false},
    {"GET", "/metrics", api_metrics_get, NULL, no_params, API_ROLE_READ, false, false},
    {"POST", "/v1/reports", api_reports_post, api_reports_post_body, api_reports_post_params,
     API_ROLE_ADMIN, false, false},
    {"GET", "/v1/reports", api_reports_list, NULL, api_reports_get_params, API_ROLE_READ, false,
     false},
    {"GET", "/v1/reports/", api_reports_get, NULL, api_reports_get_params, API_ROLE_READ, false,
     false},
};
_Static_assert(sizeof routes / sizeof routes[0] <= API_METRICS_ROUTES_MAX,
               "every route gets its own request metrics");

const api_route_t *api_routes(size_t *n)
{
    *n = sizeof routes / sizeof routes[0];
    return routes;
}

unsigned api_err_status(err_t e)
{
    switch (e) {
    case ERR_OK: return MHD_HTTP_OK;
    case ERR_PARSE:
    case ERR_MISSING_FIELD:
    case ERR_BAD_TYPE:
    case ERR_UNKNOWN_TYPE:
    case ERR_BAD_VALUE:
    case ERR_BAD_DATE:
    case ERR_BAD_AMOUNT:
    case ERR_TOO_MANY_DECIMALS:
    case ERR_BAD_CURRENCY:
    case ERR_OVERFLOW:
    case ERR_BAD_PARAM: return MHD_HTTP_BAD_REQUEST;
    case ERR_CONFLICT:
    case ERR_DOC_CONFLICT: return MHD_HTTP_CONFLICT;
    case ERR_OVER_APPLIED:
    case ERR_UNKNOWN_DOC:
    case ERR_CURRENCY_MISMATCH: return MHD_HTTP_UNPROCESSABLE_CONTENT;
    case ERR_UNIT_MISMATCH: return MHD_HTTP_UNPROCESSABLE_CONTENT;
    case ERR_NO_RATE: return MHD_HTTP_UNPROCESSABLE_CONTENT;
    case ERR_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
    case ERR_TOO_LARGE: return MHD_HTTP_CONTENT_TOO_LARGE;
    case ERR_UNAUTHORIZED: return MHD_HTTP_UNAUTHORIZED;
    case ERR_FORBIDDEN: return MHD_HTTP_FORBIDDEN;
    case ERR_BUSY: return MHD_HTTP_SERVICE_UNAVAILABLE;
    case ERR_DISK_FULL: return MHD_HTTP_INSUFFICIENT_STORAGE;
    case ERR_NOMEM:
    case ERR_IO:
    case ERR_STORE_VERSION:
    case ERR_STORE_CORRUPT:
    case ERR_STORE_LOCKED:
    case ERR_READONLY:
    case ERR_TZ:
    case ERR_CONFIG:
    case ERR_INTERNAL: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
    return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

/* ---- responses ---------------------------------------------------------- */

static void log_line(api_req_t *req, unsigned status, const char *what)
{
    FILE *log = req->srv->opts.log;
    if (log == NULL)
        return;
    const char *method = req->route ? req->route->method : "-";
    const char *path = req->route ? req->route->path : "-";
    fprintf(log, "kpid: %s %s -> %u %s\n", method, path, status, what);
    fflush(log);
}

/* Common headers; Server-Timing gives the time spent in kpid for the
   request (parsing, store, KPI math, rendering), which bench/ reads. */
static void add_headers(api_req_t *req, struct MHD_Response *r, const char *ctype)
{
    (void)MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    (void)MHD_add_response_header(r, "Cache-Control", "no-store");
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    long long us =
        (long long)(now.tv_sec - req->t0.tv_sec) * 1000000 + (now.tv_nsec - req->t0.tv_nsec) / 1000;
    char st[64];
    snprintf(st, sizeof st, "app;dur=%lld.%03lld", us / 1000, us % 1000);
    (void)MHD_add_response_header(r, "Server-Timing", st);
    api_stream_headers(req, r);
}

/* Request accounting, once per request: by route-table index (never the
   raw path), status (0: none was queued) and time since its headers. */
static void account(const api_req_t *req)
{
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ns =
        (int64_t)(now.tv_sec - req->t0.tv_sec) * 1000000000 + (now.tv_nsec - req->t0.tv_nsec);
    size_t route = req->route != NULL ? (size_t)(req->route - routes) : SIZE_MAX;
    api_metrics_request(req->srv->metrics, route, req->status, ns > 0 ? (uint64_t)ns : 0);
}

/* Queue r (and free it) with the headers its status calls for — a 401
   names the scheme (RFC 6750), a 503 says when to come back — and account
   for the request. Counting when the response is queued, not when it has
   been sent, means a client that has its answer always sees it counted by
   its next scrape; the duration is the time kpid took to answer (as
   Server-Timing reports), without the network transfer. */
enum MHD_Result api_queue(api_req_t *req, unsigned status, struct MHD_Response *r)
{
    if (status == MHD_HTTP_UNAUTHORIZED)
        (void)MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"kpid\"");
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE)
        (void)MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    if (req->on_writer) { /* queued by on_request once the connection resumes */
        if (req->held != NULL)
            MHD_destroy_response(req->held); /* only the last answer counts */
        req->held = r;
        req->held_status = status;
        return MHD_YES;
    }
    enum MHD_Result ret = MHD_queue_response(req->conn, status, r);
    MHD_destroy_response(r);
    if (ret == MHD_YES && req->status == 0) {
        req->status = status;
        account(req);
    }
    return ret;
}

/* After a cache miss: keep a 200 answer if the store did not move while it
   was computed (then the handler's snapshot saw exactly cache_gen). */
static void cache_keep(api_req_t *req, unsigned status, const char *ctype, const char *body,
                       size_t len)
{
    uint64_t now;
    if (req->cache_key == NULL || status != MHD_HTTP_OK ||
        store_generation(req->srv->opts.store, &now) != ERR_OK || now != req->cache_gen)
        return;
    api_cache_put(req->srv->cache, req->cache_key, req->cache_gen, ctype, body, len);
}

static void cache_header(const api_req_t *req, struct MHD_Response *r, bool hit)
{
    if (req->route != NULL && req->route->cached && req->srv->cache != NULL)
        (void)MHD_add_response_header(r, "X-Kpid-Cache", hit ? "hit" : "miss");
}

enum MHD_Result api_send_body(api_req_t *req, unsigned status, const char *ctype, const char *body,
                              size_t len)
{
    cache_keep(req, status, ctype, body, len);
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    add_headers(req, r, ctype);
    cache_header(req, r, false);
    return api_queue(req, status, r);
}

enum MHD_Result api_send_body_h(api_req_t *req, unsigned status, const char *ctype,
                                const char *body, size_t len, const char *const *headers)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    add_headers(req, r, ctype);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i += 2)
        (void)MHD_add_response_header(r, headers[i], headers[i + 1]);
    return api_queue(req, status, r);
}

enum MHD_Result api_send_json(api_req_t *req, unsigned status, json_t *j)
{
    if (j == NULL)
        return api_send_error(req, ERR_NOMEM, "out of memory building the response");
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(15));
    json_decref(j);
    if (text == NULL)
        return api_send_error(req, ERR_NOMEM, "out of memory building the response");
    size_t len = strlen(text);
    cache_keep(req, status, "application/json", text, len);
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, text, free);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    add_headers(req, r, "application/json");
    cache_header(req, r, false);
    return api_queue(req, status, r);
}

static enum MHD_Result send_error_v(api_req_t *req, unsigned status, err_t e, const char *fmt,
                                    va_list ap)
{
    char msg[ERR_MSG_CAP];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        msg[0] = '\0';
    if (status >= 500 || status == MHD_HTTP_UNAUTHORIZED || status == MHD_HTTP_FORBIDDEN)
        log_line(req, status, msg); /* failures and refused access, never a key */
    json_t *j = json_pack("{s:{s:s,s:s}}", "error", "code", err_code(e), "message", msg);
    if (j == NULL)
        return MHD_NO;
    return api_send_json(req, status, j);
}

enum MHD_Result api_send_error(api_req_t *req, err_t e, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result r = send_error_v(req, api_err_status(e), e, fmt, ap);
    va_end(ap);
    return r;
}

enum MHD_Result api_send_error_status(api_req_t *req, unsigned status, err_t e, const char *fmt,
                                      ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result r = send_error_v(req, status, e, fmt, ap);
    va_end(ap);
    return r;
}

const char *api_query(api_req_t *req, const char *name)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool api_wants_csv(api_req_t *req, err_t *e, const char **bad)
{
    *e = ERR_OK;
    const char *fmt = api_query(req, "format");
    if (fmt != NULL) {
        if (strcmp(fmt, "csv") == 0 || strcmp(fmt, "xlsx") == 0)
            return true;
        if (strcmp(fmt, "json") == 0)
            return false;
        *e = ERR_BAD_PARAM;
        *bad = fmt;
        return false;
    }
    const char *accept = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Accept");
    return accept != NULL &&
           (strstr(accept, "text/csv") != NULL || strstr(accept, API_XLSX_TYPE) != NULL);
}

bool api_wants_xlsx(api_req_t *req)
{
    const char *fmt = api_query(req, "format");
    if (fmt != NULL)
        return strcmp(fmt, "xlsx") == 0;
    const char *accept = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Accept");
    return accept != NULL && strstr(accept, API_XLSX_TYPE) != NULL;
}

/* ---- text buffer -------------------------------------------------------- */

void api_buf_init(api_buf_t *b, size_t max)
{
    memset(b, 0, sizeof *b);
    b->max = max;
}

void api_buf_free(api_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void api_buf_add(api_buf_t *b, const char *s, size_t len)
{
    if (b->failed)
        return;
    if (len > b->max - b->len) {
        b->failed = true;
        return;
    }
    if (b->len + len + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 4096;
        while (ncap < b->len + len + 1)
            ncap *= 2;
        char *n = realloc(b->data, ncap);
        if (n == NULL) {
            b->failed = true;
            return;
        }
        b->data = n;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, s, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void api_buf_str(api_buf_t *b, const char *s)
{
    api_buf_add(b, s, strlen(s));
}

/* ---- health ------------------------------------------------------------- */

/* Open, so that probes need no key; but the counts span every unit. With
   keys configured they go only to a valid unscoped key that may read: a
   request without one gets the status alone (issue 18). */
static enum MHD_Result health_get(api_req_t *req)
{
    store_stats_t st;
    err_t e = store_stats(req->srv->opts.store, &st);
    if (e)
        return api_send_error(req, e, "store unavailable: %s", err_str(e));
    const api_keyring_t *ring = __atomic_load_n(&req->srv->ring, __ATOMIC_ACQUIRE);
    err_msg_t am = {{0}};
    if (ring->n > 0 &&
        (api_auth_check(req, API_ROLE_READ, &am) != ERR_OK || api_auth_scoped(req))) {
        req->key = NULL;
        return api_send_json(req, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
    }
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}", "status", "ok", "version", "0.1.0", "events",
                          (json_int_t)st.events, "pending", (json_int_t)st.pending, "time_zone",
                          st.tz, "base_currency", st.base_currency);
    json_t *nats = api_stream_health(req->srv);
    if (j != NULL && nats != NULL)
        json_object_set_new(j, "nats", nats);
    return api_send_json(req, MHD_HTTP_OK, j);
}

/* ---- routing and request lifecycle -------------------------------------- */

typedef struct param_check {
    const char *const *allowed;
    const char *bad;
} param_check_t;

static enum MHD_Result check_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    (void)kind;
    (void)value;
    param_check_t *pc = cls;
    for (const char *const *a = pc->allowed; *a; a++)
        if (strcmp(*a, key) == 0)
            return MHD_YES;
    pc->bad = key;
    return MHD_NO;
}

static const api_route_t *route_find(const char *method, const char *url, bool *path_known,
                                     const char **rest)
{
    *path_known = false;
    *rest = NULL;
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        size_t plen = strlen(routes[i].path);
        if (plen > 1 && routes[i].path[plen - 1] == '/') {
            /* A prefix route takes exactly one more path segment ("/" is exact). */
            if (strncmp(routes[i].path, url, plen) != 0 || url[plen] == '\0' ||
                strchr(url + plen, '/') != NULL)
                continue;
            *rest = url + plen;
        } else if (strcmp(routes[i].path, url) != 0) {
            continue;
        }
        *path_known = true;
        if (strcmp(routes[i].method, method) == 0)
            return &routes[i];
    }
    return NULL;
}

static void req_free(api_req_t *req)
{
    if (req == NULL)
        return;
    if (req->free_state != NULL)
        req->free_state(req->state);
    if (req->held != NULL)
        MHD_destroy_response(req->held);
    kpi_arena_free(req->arena);
    if (req->ingest_slot)
        __atomic_sub_fetch(&req->srv->ingest, 1, __ATOMIC_SEQ_CST);
    __atomic_sub_fetch(&req->srv->active, 1, __ATOMIC_SEQ_CST);
    free(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)toe;
    api_req_t *req = *con_cls;
    if (req != NULL && req->status == 0)
        account(req); /* ended without an answer: counted as unanswered */
    watch_request_done(conn);
    req_free(*con_cls);
    *con_cls = NULL;
}

/* ---- request timeout ----------------------------------------------------
 *
 * libmicrohttpd's connection timeout is an idle timeout: a client sending one
 * header byte per second never trips it. The watchdog bounds the whole
 * reception of a request instead: every connection is tracked from accept
 * (or from the end of its previous request) until its request is fully
 * received; past request_timeout_s the watchdog shuts its socket down and
 * libmicrohttpd closes it. Requests being handled (a long query, a commit)
 * and answers being sent are exempt: the idle timeout covers the client
 * side of those.
 *
 * Invariant: a watch_conn_t is in the list exactly between libmicrohttpd's
 * STARTED and CLOSED notifications, so its fd is still open whenever the
 * watchdog (holding mu) shuts it down; shutdown() never closes or reuses it.
 */
typedef struct watch_conn {
    struct watch_conn *prev, *next;
    struct api_watch *w;
    int fd;
    struct timespec since;  /* when the request now being received began */
    bool busy;              /* fully received: handled or answered now */
    bool cut;               /* already shut down by the watchdog */
    bool headers_in;        /* the request's headers have arrived: its body is due */
    uint64_t body;          /* body bytes received so far */
    uint64_t window_body;   /* ... when the current rate window began */
    struct timespec window; /* start of the current rate window */
    bool refused;           /* answered by uri_check: the request is not handled */
    unsigned served;        /* requests completed on this connection */
} watch_conn_t;

struct api_watch {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    watch_conn_t head; /* sentinel of the circular list */
    bool stop;
    pthread_t thread;
    unsigned timeout_s;        /* request_timeout_s: headers and body */
    unsigned header_timeout_s; /* headers alone */
    unsigned min_rate;         /* body bytes per second, over each window */
    unsigned window_s;
    FILE *log;
};

static double since_s(const struct timespec *t, const struct timespec *now)
{
    return (double)(now->tv_sec - t->tv_sec) + (double)(now->tv_nsec - t->tv_nsec) / 1e9;
}

static void *watch_main(void *arg)
{
    struct api_watch *w = arg;
    pthread_mutex_lock(&w->mu);
    while (!w->stop) {
        struct timespec until;
        (void)clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        (void)pthread_cond_timedwait(&w->cv, &w->mu, &until);
        struct timespec now;
        (void)clock_gettime(CLOCK_MONOTONIC, &now);
        for (watch_conn_t *c = w->head.next; c != &w->head; c = c->next) {
            if (c->busy || c->cut)
                continue;
            char why[160] = "";
            double age = since_s(&c->since, &now);
            if (age >= (double)w->timeout_s) {
                snprintf(why, sizeof why,
                         "took more than %us to send its request "
                         "(request_timeout_s)",
                         w->timeout_s);
            } else if (!c->headers_in && age >= (double)w->header_timeout_s) {
                /* Idle keep-alive connections land here too (a client that
                   sends nothing for this long is not sending a request);
                   closing those is routine, so only a connection that never
                   completed a request is logged. */
                if (c->served == 0)
                    snprintf(why, sizeof why,
                             "took more than %us to send its headers "
                             "(header_timeout_s)",
                             w->header_timeout_s);
                else
                    snprintf(why, sizeof why, "-");
            } else if (c->headers_in && since_s(&c->window, &now) >= (double)w->window_s) {
                /* Each window must bring min_rate bytes a second of body:
                   a trickle (a small chunk every few seconds) holding a
                   worker and an ingest slot is cut within one window. */
                double span = since_s(&c->window, &now);
                uint64_t got = c->body - c->window_body;
                if ((double)got < (double)w->min_rate * span)
                    snprintf(why, sizeof why,
                             "sent its body at %.0f bytes/s over %.0fs, "
                             "less than min_body_rate %u",
                             (double)got / span, span, w->min_rate);
                c->window = now;
                c->window_body = c->body;
            }
            if (why[0] == '\0')
                continue;
            /* Log first: once the client sees the close, the line is there. */
            if (w->log != NULL && strcmp(why, "-") != 0) {
                fprintf(w->log, "kpid: closed a connection that %s\n", why);
                fflush(w->log);
            }
            (void)shutdown(c->fd, SHUT_RDWR);
            c->cut = true;
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- connection limit ----------------------------------------------------
 *
 * libmicrohttpd's own limit splits max_connections across its workers and,
 * once reached, stops accepting: clients then hang in the kernel's listen
 * queue. kpid counts open connections itself and refuses (closes at once)
 * any connection beyond max_connections, so an overloaded server says so
 * immediately. Two workers accepting at the same instant may both pass the
 * check: the count can exceed the limit by at most threads - 1.
 */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
    (void)addr;
    (void)addrlen;
    api_server_t *srv = cls;
    unsigned open_now = (unsigned)__atomic_load_n(&srv->conns, __ATOMIC_SEQ_CST);
    if (open_now < srv->opts.max_connections)
        return MHD_YES;
    /* One log line per second at most: a flood must not flood the log. */
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t last = __atomic_load_n(&srv->refused_log_s, __ATOMIC_SEQ_CST);
    if (srv->opts.log != NULL && (int64_t)now.tv_sec != last &&
        __atomic_compare_exchange_n(&srv->refused_log_s, &last, (int64_t)now.tv_sec, false,
                                    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
        fprintf(srv->opts.log,
                "kpid: connection limit reached (%u open, max_connections %u): refusing new "
                "connections\n",
                open_now, srv->opts.max_connections);
        fflush(srv->opts.log);
    }
    return MHD_NO;
}

/*
 * Called by libmicrohttpd with the request line's URI before it parses the
 * query arguments. A line beyond URI_MAX / QUERY_PARAMS_MAX is answered
 * here, directly on the socket, because libmicrohttpd would not answer it
 * (above): 414 or 431 with kpid's JSON error, then the sending side is shut
 * so the client sees the end; libmicrohttpd closes the connection when it
 * next reads or writes. Over TLS no plain answer can be written: the
 * connection is shut at once (the client sees a close, not a 60 s wait).
 * Returns NULL: the request context is created in on_request as usual.
 */
static watch_conn_t *watch_of(struct MHD_Connection *conn);

static void *uri_check(void *cls, const char *uri, struct MHD_Connection *conn)
{
    api_server_t *srv = cls;
    size_t len = uri != NULL ? strlen(uri) : 0;
    const char *q = uri != NULL ? strchr(uri, '?') : NULL;
    size_t params = 0;
    for (const char *p = q; p != NULL && *p != '\0'; p++)
        params += *p == '?' || *p == '&';
    if (len <= URI_MAX && params <= QUERY_PARAMS_MAX)
        return NULL;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (ci == NULL)
        return NULL;
    /* libmicrohttpd parses the arguments right after this call, from the
       same (writable) line buffer uri points into; an argument list that
       does not fit its pool leaves the connection in a broken state (seen
       to crash it at shutdown). The request is refused anyway, so its
       query is cut to nothing first: only an empty list is parsed. */
    if (q != NULL)
        ((char *)q)[1] = '\0';
    watch_conn_t *wc = watch_of(conn);
    if (wc != NULL) {
        pthread_mutex_lock(&wc->w->mu);
        wc->refused = true;
        pthread_mutex_unlock(&wc->w->mu);
    }
    if (srv->tls_cert == NULL) {
        char msg[160], body[320], head[512];
        unsigned status =
            len > URI_MAX ? MHD_HTTP_URI_TOO_LONG : MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE;
        if (len > URI_MAX)
            snprintf(msg, sizeof msg, "the request URI has %zu bytes, at most %u", len, URI_MAX);
        else
            snprintf(msg, sizeof msg, "the request has %zu query parameters, at most %u", params,
                     QUERY_PARAMS_MAX);
        int bl = snprintf(body, sizeof body, "{\"error\":{\"code\":\"%s\",\"message\":\"%s\"}}",
                          err_code(ERR_TOO_LARGE), msg);
        int hl = snprintf(
            head, sizeof head,
            "HTTP/1.1 %u %s\r\nConnection: close\r\nContent-Type: application/json"
            "\r\nContent-Length: %d\r\n\r\n%s",
            status, len > URI_MAX ? "URI Too Long" : "Request Header Fields Too Large", bl, body);
        if (hl > 0 && (size_t)hl < sizeof head)
            (void)send(ci->connect_fd, head, (size_t)hl, MSG_NOSIGNAL | MSG_DONTWAIT);
        (void)shutdown(ci->connect_fd, SHUT_WR);
    } else {
        (void)shutdown(ci->connect_fd, SHUT_RDWR);
    }
    return NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    api_server_t *srv = cls;
    struct api_watch *w = srv->watch;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED)
        __atomic_add_fetch(&srv->conns, 1, __ATOMIC_SEQ_CST);
    else
        __atomic_sub_fetch(&srv->conns, 1, __ATOMIC_SEQ_CST);
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        watch_conn_t *c = calloc(1, sizeof *c);
        *socket_context = c;
        if (c == NULL || ci == NULL) {
            /* Not tracked: only the idle timeout applies to it. */
            free(c);
            *socket_context = NULL;
            return;
        }
        c->w = w;
        c->fd = ci->connect_fd;
        (void)clock_gettime(CLOCK_MONOTONIC, &c->since);
        pthread_mutex_lock(&w->mu);
        c->next = w->head.next;
        c->prev = &w->head;
        w->head.next->prev = c;
        w->head.next = c;
        pthread_mutex_unlock(&w->mu);
        return;
    }
    watch_conn_t *c = *socket_context;
    if (c == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    c->prev->next = c->next;
    c->next->prev = c->prev;
    pthread_mutex_unlock(&w->mu);
    free(c);
    *socket_context = NULL;
}

static watch_conn_t *watch_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

/* The request on conn has been fully received (busy = true). */
static void watch_request_received(struct MHD_Connection *conn, bool busy)
{
    watch_conn_t *c = watch_of(conn);
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->w->mu);
    c->busy = busy;
    pthread_mutex_unlock(&c->w->mu);
}

/* The request on conn is finished: the next one's clock starts now. */
static void watch_request_done(struct MHD_Connection *conn)
{
    watch_conn_t *c = watch_of(conn);
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->w->mu);
    c->busy = false;
    c->headers_in = false;
    c->refused = false;
    c->served++;
    c->body = c->window_body = 0;
    (void)clock_gettime(CLOCK_MONOTONIC, &c->since);
    pthread_mutex_unlock(&c->w->mu);
}

static bool watch_refused(struct MHD_Connection *conn)
{
    watch_conn_t *c = watch_of(conn);
    if (c == NULL)
        return false;
    pthread_mutex_lock(&c->w->mu);
    bool r = c->refused;
    pthread_mutex_unlock(&c->w->mu);
    return r;
}

/* The headers of the request on conn are in: the body's rate is watched
   from now. */
static void watch_headers_in(struct MHD_Connection *conn)
{
    watch_conn_t *c = watch_of(conn);
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->w->mu);
    c->headers_in = true;
    c->body = c->window_body = 0;
    (void)clock_gettime(CLOCK_MONOTONIC, &c->window);
    pthread_mutex_unlock(&c->w->mu);
}

static void watch_body(struct MHD_Connection *conn, size_t n)
{
    watch_conn_t *c = watch_of(conn);
    if (c == NULL)
        return;
    pthread_mutex_lock(&c->w->mu);
    c->body += n;
    pthread_mutex_unlock(&c->w->mu);
}

static err_t watch_start(api_server_t *srv, err_msg_t *msg)
{
    struct api_watch *w = calloc(1, sizeof *w);
    if (w == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    w->head.next = w->head.prev = &w->head;
    w->timeout_s = srv->opts.request_timeout_s;
    w->header_timeout_s = srv->opts.header_timeout_s;
    w->min_rate = srv->opts.min_body_rate;
    w->window_s = srv->opts.rate_window_s;
    w->log = srv->opts.log;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int rc = pthread_create(&w->thread, NULL, watch_main, w);
    if (rc != 0) {
        pthread_cond_destroy(&w->cv);
        pthread_mutex_destroy(&w->mu);
        free(w);
        return err_set(msg, ERR_INTERNAL, "cannot start the request-timeout thread: %s",
                       strerror(rc));
    }
    srv->watch = w;
    return ERR_OK;
}

/* After MHD_stop_daemon: every connection is closed, the list is empty. */
static void watch_stop(struct api_watch *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

/* Before any body byte is read: the key must allow the route (401/403),
   and an ingest request must get a queue slot (503 + Retry-After when all
   are taken). Answering now means a refused client cannot make the server
   read, parse or buffer its body; libmicrohttpd closes the connection after
   such an early answer. */
static enum MHD_Result route_admit(api_req_t *req)
{
    err_msg_t m = {{0}};
    err_t e = api_auth_check(req, req->route->role, &m);
    if (e) {
        req->answered = true;
        return api_send_error(req, e, "%s", m.text);
    }
    /* A declared body over the limit is refused now, before a byte of it
       is read (with Expect: 100-continue, before the client sends it). */
    const char *cl =
        MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        size_t cap = req->srv->opts.max_body_bytes;
        if (end != cl && *end == '\0' && (errno == ERANGE || n > cap)) {
            req->answered = true;
            return api_send_error(req, ERR_TOO_LARGE,
                                  "request body exceeds the limit of %zu bytes; split the batch",
                                  cap);
        }
    }
    if (req->route->role == API_ROLE_INGEST) {
        unsigned cap = req->srv->opts.ingest_queue;
        int n = __atomic_add_fetch(&req->srv->ingest, 1, __ATOMIC_SEQ_CST);
        req->ingest_slot = (unsigned)n <= cap;
        req->answered = !req->ingest_slot;
        if (req->answered) {
            __atomic_sub_fetch(&req->srv->ingest, 1, __ATOMIC_SEQ_CST);
            return api_send_error(req, ERR_BUSY,
                                  "%u ingest requests are already in progress; retry shortly", cap);
        }
    }
    return MHD_YES;
}

/* ---- the response cache ---------------------------------------------------------------- */

#define CACHE_KEY_MAX 4096

typedef struct key_build {
    char *p;
    size_t n;
    bool full;
} key_build_t;

/* Each part as "<length>:<bytes>": no argument, path or header value can
   make two different requests build the same key. NULL (an argument
   without '=') is "-". */
static void kb_add(key_build_t *kb, const char *s)
{
    char len[24];
    size_t n = s != NULL ? strlen(s) : 0;
    int l = snprintf(len, sizeof len, s != NULL ? "%zu:" : "-", n);
    if (kb->full || kb->n + (size_t)l + n + 1 > CACHE_KEY_MAX) {
        kb->full = true;
        return;
    }
    memcpy(kb->p + kb->n, len, (size_t)l);
    kb->n += (size_t)l;
    if (n > 0)
        memcpy(kb->p + kb->n, s, n);
    kb->n += n;
    kb->p[kb->n] = '\0';
}

static enum MHD_Result kb_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    (void)kind;
    key_build_t *kb = cls;
    kb_add(kb, key);
    kb_add(kb, value);
    return MHD_YES;
}

/*
 * Everything a cached route's answer depends on besides the store: the
 * path, the query arguments in order, Accept (CSV or JSON), the business
 * units of the key (a scoped key sees less; a key's name does not change an
 * answer) and today in the reporting zone (the default dates). false when
 * the key would be too long: such a request is simply not cached.
 */
static bool cache_key(api_req_t *req, char *buf)
{
    key_build_t kb = {buf, 0, false};
    buf[0] = '\0';
    char day[16];
    snprintf(day, sizeof day, "%d", (int)kpi_tz_day(req->srv->opts.coll.tz, (int64_t)time(NULL)));
    kb_add(&kb, day);
    kb_add(&kb, req->route->path);
    kb_add(&kb, req->path_rest != NULL ? req->path_rest : "");
    const char *accept = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Accept");
    kb_add(&kb, accept != NULL ? accept : "");
    size_t units = req->key != NULL ? req->key->n_units : 0; /* 0: every unit */
    char nu[24];
    snprintf(nu, sizeof nu, "%zu", units);
    kb_add(&kb, nu);
    for (size_t i = 0; i < units; i++)
        kb_add(&kb, api_key_unit(req->key, i));
    (void)MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, kb_arg, &kb);
    return !kb.full;
}

/* true when the answer came from the cache (queued in *ret); otherwise the
   request is marked so that its answer is kept (cache_keep). */
static bool cache_answer(api_req_t *req, enum MHD_Result *ret)
{
    char *key = kpi_arena_alloc(req->arena, CACHE_KEY_MAX);
    uint64_t gen;
    if (key == NULL || !cache_key(req, key) ||
        store_generation(req->srv->opts.store, &gen) != ERR_OK)
        return false;
    char *body = NULL;
    size_t len = 0;
    char ctype[64];
    if (!api_cache_get(req->srv->cache, key, gen, &body, &len, ctype, sizeof ctype)) {
        req->cache_key = key;
        req->cache_gen = gen;
        return false;
    }
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, body, free);
    if (r == NULL) {
        free(body);
        *ret = MHD_NO;
        return true;
    }
    add_headers(req, r, ctype);
    cache_header(req, r, true);
    *ret = api_queue(req, MHD_HTTP_OK, r);
    return true;
}

/*
 * A large batch leaves its memory (events, strings, the store's write
 * cache, Jansson's objects) freed but kept by glibc's allocator: freed
 * chunks amid the heap, and per-thread arenas that only shrink from the top.
 * Issue 18 measured 584 MB kept after one 95 MB POST, 1.34 GB after 24.
 * After a batch of TRIM_AFTER_BYTES or more, malloc_trim(0) gives every
 * arena's free pages back (it walks the free lists, a few ms: worth it only
 * after a batch that took far longer). Other requests are small.
 */
#define TRIM_AFTER_BYTES (4u << 20)

static void heap_return(api_server_t *srv, uint64_t body_bytes)
{
    if (body_bytes < TRIM_AFTER_BYTES)
        return;
    (void)malloc_trim(0);
    __atomic_add_fetch(&srv->trims, 1, __ATOMIC_RELAXED);
}

/* On the writer thread: respond with api_queue holding the answer, then
   let libmicrohttpd call on_request again (queue_held). */
static void run_offloaded(void *arg)
{
    api_req_t *req = arg;
    req->on_writer = true;
    (void)req->route->respond(req);
    req->on_writer = false;
    MHD_resume_connection(req->conn);
}

/* Back on an HTTP worker, on the resumed connection: queue the answer the
   writer thread made. No answer (it could not build one) closes. */
static enum MHD_Result queue_held(api_req_t *req)
{
    struct MHD_Response *r = req->held;
    if (r == NULL)
        return MHD_NO;
    req->held = NULL;
    return api_queue(req, req->held_status, r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    api_server_t *srv = cls;
    api_req_t *req = *con_cls;

    if (req == NULL) {
        if (watch_refused(conn))
            return MHD_NO; /* answered by uri_check: close, do not handle */
        req = calloc(1, sizeof *req);
        if (req == NULL)
            return MHD_NO;
        req->srv = srv;
        req->conn = conn;
        __atomic_add_fetch(&srv->active, 1, __ATOMIC_SEQ_CST);
        (void)clock_gettime(CLOCK_MONOTONIC, &req->t0);
        *con_cls = req;
        if (kpi_arena_new(REQ_ARENA_CAP, &req->arena) != ERR_OK)
            return MHD_NO;
        bool known = false;
        const char *rest = NULL;
        req->route = route_find(method, url, &known, &rest);
        if (rest != NULL) {
            req->path_rest = kpi_arena_strndup(req->arena, rest, strlen(rest));
            if (req->path_rest == NULL)
                return MHD_NO;
        }
        watch_headers_in(conn);
        if (req->route == NULL) {
            /* Answer at the end of the upload (if any); remember why. */
            req->body_rejected = true;
            req->body_err = known ? ERR_BAD_PARAM : ERR_NOT_FOUND;
            snprintf(req->body_msg, sizeof req->body_msg, "%s %s", method, url);
            return MHD_YES;
        }
        return route_admit(req);
    }

    if (req->answered) { /* refused at admission: the answer is queued */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0; /* consumed, whatever we do with it */
        req->body_bytes += n;
        watch_body(conn, n);
        if (req->body_rejected)
            return MHD_YES; /* drain: the answer is already decided */
        size_t cap = srv->opts.max_body_bytes;
        if (req->body_bytes > cap) {
            req->body_rejected = true;
            req->body_err = ERR_TOO_LARGE;
            snprintf(req->body_msg, sizeof req->body_msg,
                     "request body exceeds the limit of %zu bytes; split the batch", cap);
            return MHD_YES;
        }
        if (req->route->on_body == NULL) {
            req->body_rejected = true;
            req->body_err = ERR_BAD_PARAM;
            snprintf(req->body_msg, sizeof req->body_msg, "%s %s takes no request body",
                     req->route->method, req->route->path);
            return MHD_YES;
        }
        if (!req->route->on_body(req, upload_data, n))
            req->body_rejected = true;
        return MHD_YES;
    }

    /* End of request: answer. From here the request timeout no longer
       applies (a long query or commit is not the client's fault). */
    watch_request_received(conn, true);
    if (req->route == NULL) {
        if (req->body_err == ERR_NOT_FOUND)
            return api_send_error_status(req, MHD_HTTP_NOT_FOUND, ERR_NOT_FOUND,
                                         "no such endpoint: %s", req->body_msg);
        return api_send_error_status(req, MHD_HTTP_METHOD_NOT_ALLOWED, ERR_BAD_PARAM,
                                     "method not allowed: %s", req->body_msg);
    }
    if (req->body_rejected)
        return api_send_error(req, req->body_err, "%s", req->body_msg);
    param_check_t pc = {req->route->params, NULL};
    if (pc.allowed != NULL) {
        (void)MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, check_param, &pc);
        if (pc.bad != NULL) {
            size_t n = 0;
            while (pc.allowed[n] != NULL)
                n++;
            char hint[KPI_NAME_MAX + 24], list[512];
            api_did_you_mean(pc.bad, pc.allowed, n, hint, sizeof hint);
            return api_send_error(req, ERR_BAD_PARAM,
                                  "unknown parameter '%s' for %s %s%s; known: %s", pc.bad,
                                  req->route->method, req->route->path, hint,
                                  kpi_suggest_list(pc.allowed, n, n, list, sizeof list));
        }
    }
    uint64_t lag = 0;
    if (api_stream_too_far(req, &lag))
        return api_send_error(req, ERR_BUSY,
                              "this node is %llu stream messages behind (nats.max_lag %llu); ask "
                              "another node, or again once it has caught up",
                              (unsigned long long)lag,
                              (unsigned long long)srv->opts.stream->max_lag);
    if (req->route->cached && srv->cache != NULL) {
        enum MHD_Result hit;
        if (cache_answer(req, &hit))
            return hit;
    }
    enum MHD_Result r;
    if (req->route->offload && srv->writer != NULL) {
        if (!req->submitted) {
            /* Suspend first: the writer may resume before submit returns. */
            req->submitted = true;
            MHD_suspend_connection(conn);
            if (!api_writer_submit(srv->writer, run_offloaded, req))
                run_offloaded(req); /* the server is stopping: here, then */
            return MHD_YES;
        }
        r = queue_held(req);
    } else {
        r = req->route->respond(req);
    }
    /* The answer is queued (with its own copy of the body): the batch is no
       longer needed, so free it and hand the queue slot on now rather than
       once the client has read the answer. */
    if (req->ingest_slot) {
        if (req->free_state != NULL)
            req->free_state(req->state);
        req->state = NULL;
        req->free_state = NULL;
        req->ingest_slot = false;
        __atomic_sub_fetch(&srv->ingest, 1, __ATOMIC_SEQ_CST);
        heap_return(srv, req->body_bytes);
    }
    return r;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    FILE *log = cls;
    if (log == NULL)
        return;
    char line[512];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        return;
    size_t len = strlen(line);
    /* libmicrohttpd ends some messages with a newline and some without. */
    fprintf(log, "kpid: http: %s%s", line, len > 0 && line[len - 1] == '\n' ? "" : "\n");
    fflush(log);
}

static err_t parse_addr(const char *host, uint16_t port, struct sockaddr_storage *ss,
                        socklen_t *len, bool *v6, err_msg_t *msg)
{
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        *len = sizeof *a4;
        *v6 = false;
        return ERR_OK;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        *len = sizeof *a6;
        *v6 = true;
        return ERR_OK;
    }
    return err_set(msg, ERR_BAD_PARAM, "listen address '%s' is not a numeric IPv4 or IPv6 address",
                   host);
}

/* Loopback: 127.0.0.0/8 and ::1 (also as ::ffff:127.x.y.z). */
static bool is_loopback(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *a4 = (const struct sockaddr_in *)ss;
        return (ntohl(a4->sin_addr.s_addr) >> 24) == 127;
    }
    const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a6))
        return true;
    return IN6_IS_ADDR_V4MAPPED(a6) && a6->s6_addr[12] == 127;
}

#define PEM_MAX (1u << 20)

/* Read a whole PEM file (at most PEM_MAX bytes) into a new NUL-terminated
   string the caller frees. */
static err_t read_pem(const char *what, const char *path, char **out, err_msg_t *msg)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return err_set(msg, ERR_CONFIG, "TLS %s %s cannot be read: %s", what, path,
                       strerror(errno));
    char *buf = malloc(PEM_MAX + 1);
    size_t n = buf ? fread(buf, 1, PEM_MAX + 1, f) : 0;
    bool bad = buf == NULL || ferror(f);
    fclose(f);
    if (bad || n == 0 || n > PEM_MAX) {
        free(buf);
        return err_set(msg, ERR_CONFIG, "TLS %s %s is %s", what, path,
                       n > PEM_MAX ? "larger than 1 MiB" : "empty or unreadable");
    }
    buf[n] = '\0';
    if (strstr(buf, "-----BEGIN ") == NULL) {
        free(buf);
        return err_set(msg, ERR_CONFIG, "TLS %s %s is not PEM (no '-----BEGIN' line)", what, path);
    }
    *out = buf;
    return ERR_OK;
}

static api_keyring_t *ring_new(const api_key_t *keys, size_t n)
{
    api_keyring_t *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->keys = calloc(n ? n : 1, sizeof *r->keys);
    if (r->keys == NULL) {
        free(r);
        return NULL;
    }
    if (n > 0)
        memcpy(r->keys, keys, n * sizeof *keys);
    r->n = n;
    return r;
}

static void ring_free_all(api_keyring_t *r)
{
    while (r != NULL) {
        api_keyring_t *next = r->retired;
        free(r->keys);
        free(r);
        r = next;
    }
}

err_t api_server_set_keys(api_server_t *srv, const api_key_t *keys, size_t n, err_msg_t *msg)
{
    if (n > API_KEYS_MAX)
        return err_set(msg, ERR_BAD_PARAM, "at most %d API keys", API_KEYS_MAX);
    if (n == 0 && !srv->loopback)
        return err_set(msg, ERR_BAD_PARAM,
                       "no API keys left, and the server listens on %s, not on loopback: keeping "
                       "the current keys",
                       srv->opts.host);
    err_t e = n > 0 ? api_auth_init(msg) : ERR_OK;
    if (e)
        return e;
    api_keyring_t *r = ring_new(keys, n);
    if (r == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    /* Only kpid serve's main thread replaces rings: no two swaps race. */
    r->retired = srv->ring;
    __atomic_store_n(&srv->ring, r, __ATOMIC_RELEASE);
    return ERR_OK;
}

static void server_free(api_server_t *srv)
{
    if (srv == NULL)
        return;
    api_writer_free(srv->writer);
    ring_free_all(srv->ring);
    api_sessions_free(srv->sessions);
    api_metrics_free(srv->metrics);
    api_cache_free(srv->cache);
    if (srv->tls_key != NULL) /* private key material: wipe before freeing */
        sodium_memzero(srv->tls_key, strlen(srv->tls_key));
    free(srv->tls_key);
    free(srv->tls_cert);
    free(srv);
}

#define DEFAULT_MAX_CONNECTIONS 256u
#define DEFAULT_CONNECTION_TIMEOUT_S 60u
#define DEFAULT_REQUEST_TIMEOUT_S 300u
#define DEFAULT_MAX_PER_IP 64u /* a quarter of max_connections: four clients cannot fill it */
#define DEFAULT_HEADER_TIMEOUT_S 10u
#define DEFAULT_MIN_BODY_RATE 1024u /* bytes/s: a modem is faster; a trickle is not */
#define DEFAULT_RATE_WINDOW_S 10u
#define DEFAULT_INGEST_QUEUE 8u /* at most; half the workers when fewer */
#define DEFAULT_MIN_THREADS 8u

err_t api_server_start(const api_opts_t *opts, api_server_t **out, err_msg_t *msg)
{
    *out = NULL;
    api_server_t *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    srv->opts = *opts;
    api_opts_t *o = &srv->opts;
    if (o->max_body_bytes == 0)
        o->max_body_bytes = DEFAULT_MAX_BODY;
    if (o->max_batch_events == 0)
        o->max_batch_events = DEFAULT_MAX_BATCH;
    if (o->max_connections == 0)
        o->max_connections = DEFAULT_MAX_CONNECTIONS;
    if (o->connection_timeout_s == 0)
        o->connection_timeout_s = DEFAULT_CONNECTION_TIMEOUT_S;
    if (o->request_timeout_s == 0)
        o->request_timeout_s = DEFAULT_REQUEST_TIMEOUT_S;
    if (o->max_connections_per_ip == 0)
        o->max_connections_per_ip = DEFAULT_MAX_PER_IP;
    if (o->header_timeout_s == 0)
        o->header_timeout_s = DEFAULT_HEADER_TIMEOUT_S;
    if (o->min_body_rate == 0)
        o->min_body_rate = DEFAULT_MIN_BODY_RATE;
    if (o->rate_window_s == 0)
        o->rate_window_s = DEFAULT_RATE_WINDOW_S;
    /* A batch commit holds its worker for its sync to disk, so a pool of
       one thread per CPU leaves queries waiting behind ingest (bench/load.py:
       query p50 200 ms with 2 workers, 1-8 ms with 8, on 2 CPUs). Workers
       mostly wait on I/O: four per CPU, at least 8. */
    unsigned threads = o->threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? 4u * (unsigned)n : 8u;
        if (threads < DEFAULT_MIN_THREADS)
            threads = DEFAULT_MIN_THREADS;
    }
    /* Ingest never takes more than half the workers unless configured:
       queries always find a free one. */
    if (o->ingest_queue == 0)
        o->ingest_queue = threads / 2 < DEFAULT_INGEST_QUEUE ? threads / 2 : DEFAULT_INGEST_QUEUE;
    srv->metrics = api_metrics_new();
    if (srv->metrics == NULL) {
        free(srv);
        return err_set(msg, ERR_NOMEM, "out of memory");
    }
    err_t e = kpi_currency_digits(opts->coll.base_currency, &srv->coll_digits_base);
    if (e) {
        err_set(msg, e, "base currency '%s' is not an ISO 4217 code", opts->coll.base_currency);
        goto fail;
    }
    if (o->response_cache_bytes > 0 && api_cache_new(o->response_cache_bytes, &srv->cache)) {
        e = err_set(msg, ERR_NOMEM, "out of memory for the response cache");
        goto fail;
    }
    if (o->n_keys > API_KEYS_MAX) {
        e = err_set(msg, ERR_BAD_PARAM, "at most %d API keys", API_KEYS_MAX);
        goto fail;
    }
    if (o->n_keys > 0) {
        e = api_auth_init(msg);
        if (e)
            goto fail;
    }
    if (api_sessions_new(o->session_ttl_s, o->session_idle_s, &srv->sessions) != ERR_OK) {
        e = err_set(msg, ERR_NOMEM, "out of memory for the session table");
        goto fail;
    }
    srv->ring = ring_new(o->keys, o->n_keys);
    o->keys = NULL; /* the ring holds them now */
    if (srv->ring == NULL) {
        e = err_set(msg, ERR_NOMEM, "out of memory");
        goto fail;
    }

    struct sockaddr_storage ss;
    socklen_t sslen;
    bool v6;
    e = parse_addr(opts->host, opts->port, &ss, &sslen, &v6, msg);
    if (e)
        goto fail;
    (void)sslen;
    srv->loopback = is_loopback(&ss);
    if (o->n_keys == 0 && !srv->loopback) {
        e = err_set(msg, ERR_BAD_PARAM,
                    "no API keys configured: refusing to serve %s unauthenticated; add one with "
                    "'kpid key add --config FILE --name NAME --role admin' and start with "
                    "--config FILE, or listen on 127.0.0.1",
                    opts->host);
        goto fail;
    }
    bool tls = o->tls_cert_path != NULL || o->tls_key_path != NULL;
    if (tls) {
        if (o->tls_cert_path == NULL || o->tls_key_path == NULL) {
            e = err_set(msg, ERR_CONFIG, "TLS needs both a certificate and a key");
            goto fail;
        }
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
            e = err_set(msg, ERR_CONFIG,
                        "this libmicrohttpd was built without TLS (GnuTLS); install Debian's "
                        "libmicrohttpd12 or remove \"tls\" from the config");
            goto fail;
        }
        e = read_pem("certificate", o->tls_cert_path, &srv->tls_cert, msg);
        if (!e)
            e = read_pem("key", o->tls_key_path, &srv->tls_key, msg);
        if (e)
            goto fail;
    }
    e = watch_start(srv, msg);
    if (e)
        goto fail;

    e = api_writer_new(o->writer_nice, &srv->writer, msg);
    if (e)
        goto fail;
    unsigned flags =
        MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC | MHD_ALLOW_SUSPEND_RESUME;
    if (v6)
        flags |= MHD_USE_IPv6;
    if (tls)
        flags |= MHD_USE_TLS;
    /* The TLS options go last so that plain HTTP passes none of them. */
    srv->daemon = MHD_start_daemon(
        flags, opts->port, on_accept, srv, on_request, srv,
        /* first, so that MHD's own messages go through it too */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)opts->log, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, srv, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, o->connection_timeout_s,
        /* a hard cap only a race of simultaneous accepts can reach (see on_accept) */
        MHD_OPTION_CONNECTION_LIMIT, o->max_connections + threads,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
        /* counted over the whole pool (libmicrohttpd keeps it in the master
           daemon): one address cannot take every connection */
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, o->max_connections_per_ip,
        /* sees the request line before libmicrohttpd parses its arguments
           (uri_check) */
        MHD_OPTION_URI_LOG_CALLBACK, uri_check, srv,
        tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, srv->tls_cert, MHD_OPTION_HTTPS_MEM_KEY,
        srv->tls_key,
        /* TLS 1.2 and 1.3 only, with GnuTLS's default ciphers for them */
        MHD_OPTION_HTTPS_PRIORITIES, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2", MHD_OPTION_END);
    if (srv->daemon == NULL) {
        int en = errno;
        watch_stop(srv->watch);
        if (tls)
            e = err_set(msg, ERR_CONFIG,
                        "cannot start HTTPS on %s:%u with certificate %s and key %s: not a valid "
                        "PEM certificate and matching private key, or the address is unavailable "
                        "(see the message above)",
                        opts->host, opts->port, o->tls_cert_path, o->tls_key_path);
        else
            e = err_set(msg, ERR_IO, "cannot listen on %s:%u: %s", opts->host, opts->port,
                        en ? strerror(en) : "address unavailable");
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : opts->port;
    if (o->log != NULL) {
        if (o->n_keys == 0)
            fprintf(o->log, "kpid: no API keys configured: serving on loopback only, "
                            "unauthenticated\n");
        else
            fprintf(o->log,
                    "kpid: %zu API key(s) configured: every endpoint but /healthz needs "
                    "'Authorization: Bearer KEY'\n",
                    o->n_keys);
        fflush(o->log);
    }
    *out = srv;
    return ERR_OK;
fail:
    server_free(srv);
    return e;
}

bool api_server_tls(const api_server_t *srv)
{
    return srv->tls_cert != NULL;
}

uint16_t api_server_port(const api_server_t *srv)
{
    return srv->port;
}

void api_server_stop(api_server_t *srv, unsigned drain_ms)
{
    if (srv == NULL)
        return;
    /* Stop accepting; requests in flight go on. A handler inside a store
       commit always finishes it: MHD only joins its threads afterwards. */
    MHD_socket fd = MHD_quiesce_daemon(srv->daemon);
    for (unsigned waited = 0; waited < drain_ms; waited += 10) {
        if (__atomic_load_n(&srv->active, __ATOMIC_SEQ_CST) == 0)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Every write handed over runs and its connection is resumed before
       libmicrohttpd closes connections (it must not stop with one
       suspended); a batch arriving later runs on its worker. */
    api_writer_stop(srv->writer);
    MHD_stop_daemon(srv->daemon);
    watch_stop(srv->watch);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    server_free(srv);
}
