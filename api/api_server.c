/*
 * api_server.c — the libmicrohttpd daemon: lifecycle, routing, request
 * contexts, and the helpers every handler uses to answer (JSON, CSV,
 * errors). The single err_t -> HTTP status mapping lives here.
 *
 * Request protocol with libmicrohttpd: the access handler is called once
 * with the headers (we allocate the api_req_t and route), then once per body
 * chunk (we pass it to the route's on_body and mark it consumed), then once
 * with no data (we answer). The completion callback frees the request.
 */
#include "api_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api_dashboard.h"
#include "kpi_money.h"

#define REQ_ARENA_CAP (64u << 20) /* per-request scratch memory */
#define DEFAULT_MAX_BODY (256u << 20)
#define DEFAULT_MAX_BATCH 1000000u

static enum MHD_Result health_get(api_req_t *req);

static const char *const no_params[] = {NULL};

static const api_route_t routes[] = {
    {"GET", "/healthz", health_get, NULL, no_params},
    {"GET", "/v1/events", api_events_get, NULL, api_events_get_params},
    {"POST", "/v1/events", api_events_post_respond, api_events_post_body, api_events_post_params},
    {"GET", "/v1/aging", api_aging_get, NULL, api_aging_params},
    {"GET", "/v1/dso", api_dso_get, NULL, api_dso_params},
    {"GET", "/v1/cei", api_cei_get, NULL, api_series_params},
    {"GET", "/v1/dpo", api_dpo_get, NULL, api_dpo_params},
    {"GET", "/v1/rollforward", api_rollforward_get, NULL, api_series_params},
    {"GET", "/v1/sla", api_sla_get, NULL, api_sla_params},
    {"GET", "/v1/ftq", api_ftq_get, NULL, api_ftq_params},
    {"GET", "/v1/customers/", api_customer_get, NULL, api_customer_params},
    {"GET", "/v1/meta", api_meta_get, NULL, api_meta_params},
    /* The dashboard keeps its filters in the query string: any is allowed. */
    {"GET", "/", api_dashboard_index, NULL, NULL},
    {"GET", "/dashboard/", api_dashboard_asset, NULL, NULL},
    {"HEAD", "/", api_dashboard_index, NULL, NULL},
    {"HEAD", "/dashboard/", api_dashboard_asset, NULL, NULL},
    {"GET", "/metrics", api_metrics_get, NULL, no_params},
    {"POST", "/v1/reports", api_reports_post, api_reports_post_body, api_reports_post_params},
    {"GET", "/v1/reports", api_reports_list, NULL, api_reports_get_params},
    {"GET", "/v1/reports/", api_reports_get, NULL, api_reports_get_params},
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
    case ERR_NOT_FOUND: return MHD_HTTP_NOT_FOUND;
    case ERR_TOO_LARGE: return MHD_HTTP_CONTENT_TOO_LARGE;
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

/* Queue r and account for the request. Counting when the response is queued,
   not when it has been sent, means a client that has its answer always sees
   it counted by its next scrape; the duration is the time kpid took to
   answer (as Server-Timing reports), without the network transfer. */
static enum MHD_Result queue(api_req_t *req, unsigned status, struct MHD_Response *r)
{
    enum MHD_Result ret = MHD_queue_response(req->conn, status, r);
    if (ret == MHD_YES && req->status == 0) {
        req->status = status;
        account(req);
    }
    return ret;
}

enum MHD_Result api_send_body(api_req_t *req, unsigned status, const char *ctype, const char *body,
                              size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    add_headers(req, r, ctype);
    enum MHD_Result ret = queue(req, status, r);
    MHD_destroy_response(r);
    return ret;
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
    enum MHD_Result ret = MHD_queue_response(req->conn, status, r);
    MHD_destroy_response(r);
    return ret;
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
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, text, free);
    if (r == NULL) {
        free(text);
        return MHD_NO;
    }
    add_headers(req, r, "application/json");
    enum MHD_Result ret = queue(req, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_error_v(api_req_t *req, unsigned status, err_t e, const char *fmt,
                                    va_list ap)
{
    char msg[ERR_MSG_CAP];
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    if (n < 0)
        msg[0] = '\0';
    if (status >= 500)
        log_line(req, status, msg);
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
        if (strcmp(fmt, "csv") == 0)
            return true;
        if (strcmp(fmt, "json") == 0)
            return false;
        *e = ERR_BAD_PARAM;
        *bad = fmt;
        return false;
    }
    const char *accept = MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, "Accept");
    return accept != NULL && strstr(accept, "text/csv") != NULL;
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

void api_buf_csv_field(api_buf_t *b, const char *s)
{
    if (s == NULL)
        return;
    /* Excel opens RFC 4180 CSV; quote only when needed so numbers stay numbers. */
    if (strpbrk(s, ",\"\r\n") == NULL) {
        api_buf_str(b, s);
        return;
    }
    api_buf_add(b, "\"", 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            api_buf_add(b, "\"\"", 2);
        else
            api_buf_add(b, p, 1);
    }
    api_buf_add(b, "\"", 1);
}

/* ---- health ------------------------------------------------------------- */

static enum MHD_Result health_get(api_req_t *req)
{
    store_stats_t st;
    err_t e = store_stats(req->srv->opts.store, &st);
    if (e)
        return api_send_error(req, e, "store unavailable: %s", err_str(e));
    json_t *j = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s}", "status", "ok", "version", "0.1.0", "events",
                          (json_int_t)st.events, "pending", (json_int_t)st.pending, "time_zone",
                          st.tz, "base_currency", st.base_currency);
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
    kpi_arena_free(req->arena);
    __atomic_sub_fetch(&req->srv->active, 1, __ATOMIC_SEQ_CST);
    free(req);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    api_req_t *req = *con_cls;
    if (req != NULL && req->status == 0)
        account(req); /* ended without an answer: counted as unanswered */
    req_free(*con_cls);
    *con_cls = NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    api_server_t *srv = cls;
    api_req_t *req = *con_cls;

    if (req == NULL) {
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
        if (req->route == NULL) {
            /* Answer at the end of the upload (if any); remember why. */
            req->body_rejected = true;
            req->body_err = known ? ERR_BAD_PARAM : ERR_NOT_FOUND;
            snprintf(req->body_msg, sizeof req->body_msg, "%s %s", method, url);
        }
        return MHD_YES;
    }

    if (*upload_data_size != 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0; /* consumed, whatever we do with it */
        req->body_bytes += n;
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

    /* End of request: answer. */
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
        if (pc.bad != NULL)
            return api_send_error(req, ERR_BAD_PARAM, "unknown parameter '%s' for %s %s", pc.bad,
                                  req->route->method, req->route->path);
    }
    return req->route->respond(req);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    FILE *log = cls;
    if (log == NULL)
        return;
    fputs("kpid: http: ", log);
    vfprintf(log, fmt, ap);
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

err_t api_server_start(const api_opts_t *opts, api_server_t **out, err_msg_t *msg)
{
    *out = NULL;
    api_server_t *srv = calloc(1, sizeof *srv);
    if (srv == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    srv->opts = *opts;
    if (srv->opts.max_body_bytes == 0)
        srv->opts.max_body_bytes = DEFAULT_MAX_BODY;
    if (srv->opts.max_batch_events == 0)
        srv->opts.max_batch_events = DEFAULT_MAX_BATCH;
    unsigned threads = srv->opts.threads;
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (unsigned)n : 1u;
    }
    srv->metrics = api_metrics_new();
    if (srv->metrics == NULL) {
        free(srv);
        return err_set(msg, ERR_NOMEM, "out of memory");
    }
    err_t e = kpi_currency_digits(opts->coll.base_currency, &srv->coll_digits_base);
    if (e) {
        api_metrics_free(srv->metrics);
        free(srv);
        return err_set(msg, e, "base currency '%s' is not an ISO 4217 code",
                       opts->coll.base_currency);
    }

    struct sockaddr_storage ss;
    socklen_t sslen;
    bool v6;
    e = parse_addr(opts->host, opts->port, &ss, &sslen, &v6, msg);
    if (e) {
        api_metrics_free(srv->metrics);
        free(srv);
        return e;
    }
    (void)sslen;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_USE_ITC;
    if (v6)
        flags |= MHD_USE_IPv6;
    srv->daemon = MHD_start_daemon(
        flags, opts->port, NULL, NULL, on_request, srv,
        /* first, so that MHD's own messages go through it too */
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, (void *)opts->log, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256u << 10), MHD_OPTION_END);
    if (srv->daemon == NULL) {
        int en = errno;
        api_metrics_free(srv->metrics);
        free(srv);
        return err_set(msg, ERR_IO, "cannot listen on %s:%u: %s", opts->host, opts->port,
                       en ? strerror(en) : "address unavailable");
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : opts->port;
    *out = srv;
    return ERR_OK;
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
    MHD_stop_daemon(srv->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    api_metrics_free(srv->metrics);
    free(srv);
}
