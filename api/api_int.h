/*
 * api_int.h — internals shared by the api/ source files.
 *
 * A request's life: api_server.c's access handler allocates an api_req_t on
 * the first callback, routes it to a handler, feeds upload chunks to it and
 * frees it in the completion callback. Everything a handler allocates for
 * one request comes from req->arena (capped) and dies with the request.
 */
#ifndef KPID_API_INT_H
#define KPID_API_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>
#include <microhttpd.h>

#include "api.h"
#include "api_metrics.h"
#include "api_session.h"
#include "kpi.h"
#include "kpi_arena.h"
#include "store_query_fx.h"

typedef struct api_req api_req_t;

/* A set of keys in force. Replaced whole by api_server_set_keys; a replaced
   ring is kept (on `retired`) until the server stops, because requests in
   flight may still point into it. */
typedef struct api_keyring {
    api_key_t *keys; /* owned */
    size_t n;
    struct api_keyring *retired; /* the ring this one replaced */
} api_keyring_t;

/* A handler for uploads is called once per chunk and once at the end. */
typedef struct api_route {
    const char *method; /* "GET", "POST" */
    const char *path;   /* exact path, or a prefix when it ends in '/' (the rest
                           of the path is then in req->path_rest) */
    /* Called once the whole body (if any) has been received. */
    enum MHD_Result (*respond)(api_req_t *req);
    /* Optional: called per body chunk (streaming). Return false to reject
       the rest of the body (the handler has recorded why in req). */
    bool (*on_body)(api_req_t *req, const char *data, size_t len);
    /* Optional: the allowed query parameters, NULL-terminated. */
    const char *const *params;
    /* The role a key needs (api_auth.h). Left out, it is API_ROLE_ADMIN (0):
       a new route is admin-only until it says otherwise. */
    api_role_t role;
    /* Its 200 answers depend only on the request, the key's units, the
       day and the store: kept in the response cache (api_cache.h). */
    bool cached;
    /* respond writes to the store: it runs on the writer thread while the
       connection is suspended (api_writer.h), so that a commit never holds
       an HTTP worker and the reads on its other connections. */
    bool offload;
} api_route_t;

struct api_server {
    struct MHD_Daemon *daemon;
    api_opts_t opts;
    uint16_t port;
    int coll_digits_base;           /* minor digits of the base currency */
    volatile int active;            /* requests in progress (atomic builtins) */
    api_metrics_t *metrics;         /* owned; GET /metrics (api_metrics.h) */
    struct api_cache *cache;        /* owned response cache, or NULL (api_cache.h) */
    volatile int ingest;            /* POST /v1/events holding a queue slot (atomic builtins) */
    volatile int conns;             /* open connections (atomic builtins) */
    volatile int64_t refused_log_s; /* last "connection limit" log line, monotonic s */
    char *tls_cert, *tls_key;       /* PEM text read at start (owned), or NULL */
    struct api_keyring *ring;  /* the keys in force (atomic pointer; see api_server_set_keys) */
    bool loopback;             /* bound to a loopback address */
    struct api_watch *watch;   /* request-timeout watchdog (api_server.c), or NULL */
    volatile int64_t trims;    /* heap returned after a large batch (atomic builtins) */
    struct api_writer *writer; /* runs offloaded routes (api_writer.h); owned */
    /* owned: dashboard sign-in sessions (api_session.h) */
    api_sessions_t *sessions;
};

struct api_req {
    api_server_t *srv;
    struct MHD_Connection *conn;
    const api_route_t *route;
    kpi_arena_t *arena;  /* per-request memory, capped */
    uint64_t body_bytes; /* bytes received so far */
    bool body_rejected;  /* on_body returned false: drain the rest */
    err_t body_err;      /* why, when body_rejected */
    char body_msg[ERR_MSG_CAP];
    const char *path_rest; /* prefix routes: the path after the prefix */
    void *state;           /* handler-owned state (freed by free_state) */
    void (*free_state)(void *state);
    struct timespec t0;
    const api_key_t *key;  /* the authenticated key (borrowed from opts); NULL
                              when no keys are configured or the route is open */
    bool ingest_slot;      /* holds one of srv->opts.ingest_queue slots */
    bool answered;         /* refused at admission; the answer is already queued */
    unsigned status;       /* HTTP status queued, 0 until a response is (request metrics) */
    const char *cache_key; /* a cached route's key (in the arena) after a miss, else NULL */
    uint64_t cache_gen;    /* the store generation read before the handler ran */
    /* An offloaded route (api_route_t.offload): respond ran on the writer
       thread, which keeps its answer here (api_queue) until libmicrohttpd
       calls back on the resumed connection to queue it. */
    bool submitted;            /* handed to the writer; the connection is suspended */
    bool on_writer;            /* respond is running there: api_queue holds the answer */
    struct MHD_Response *held; /* that answer, or NULL */
    unsigned held_status;
    /* true when key came from a session cookie (then session_info is that
       session), not from an Authorization header */
    bool session;
    api_session_t session_info;
    /* With a stream (api_stream.c): how far behind the node was when the
       request was admitted; its X-Kpid-Lag says the same. */
    bool stream_lag_set;
    uint64_t stream_lag;
};

/* ---- authorization (api_auth.c) ----------------------------------------- */
/*
 * Authenticate the request (Authorization: Bearer KEY) and check that its
 * key has role `need`; sets req->key. ERR_UNAUTHORIZED (401) without a valid
 * key, ERR_FORBIDDEN (403) for a key of another role; with a message. Called
 * once per request by the router, before the body is read.
 */
err_t api_auth_check(api_req_t *req, api_role_t need, err_msg_t *msg) KPID_MUST_USE;
/*
 * For a request authenticated by a session cookie that is not a GET or
 * HEAD (a write): its Origin header must name this server (scheme and
 * Host), or ERR_FORBIDDEN with a message. A browser sends Origin with every
 * such request; another site's page cannot make it name this server. With
 * SameSite=Strict on the cookie this is the CSRF defence (docs/security.md).
 */
err_t api_auth_same_origin(api_req_t *req, err_msg_t *msg) KPID_MUST_USE;
/* true when the request's key is limited to business units. */
bool api_auth_scoped(const api_req_t *req);
/* ERR_FORBIDDEN (with a message) for a key limited to business units: for
   endpoints whose answer spans every unit and cannot be narrowed. */
err_t api_auth_unscoped(const api_req_t *req, err_msg_t *msg) KPID_MUST_USE;
/* true when the request may see business unit `unit` (always when unscoped). */
bool api_auth_unit_allowed(const api_req_t *req, const char *unit);
/*
 * The business unit a query runs on, given the business_unit= it asked for
 * (`asked`, may be NULL): unscoped keys get `asked` back; a scoped key gets
 * `asked` when it is one of its units, its only unit when `asked` is NULL,
 * and ERR_FORBIDDEN (with a message) for another unit, or for no unit when
 * it has several. *unit is borrowed from `asked` or from the key.
 */
err_t api_auth_unit(api_req_t *req, const char *asked, const char **unit,
                    err_msg_t *msg) KPID_MUST_USE;

/*
 * The end of a message refusing a business unit or a currency (api_kpi.c):
 * " (did you mean 'emea'?); known business units: amer, emea (names are
 * case-sensitive)" — the units with data in `currency` that the request's
 * key may see (currency NULL: in any book), or the currencies with data it
 * may see. The suggestion is
 * the closest known name (kpi_suggest). Writes "" when the store cannot be
 * read. Returns buf.
 */
char *api_units_hint(api_req_t *req, const char *currency, const char *asked, char *buf,
                     size_t cap);
char *api_currencies_hint(api_req_t *req, const char *asked, char *buf, size_t cap);

/*
 * A one-book answer must be about a book (docs/kpi.md, "A book that is not
 * there"): ERR_BAD_PARAM for a currency the store has no documents in
 * (listing those it has), ERR_NOT_FOUND for a unit with no documents in it
 * (naming the unit's books). An empty store passes. Messages set.
 */
struct store_snap;
err_t api_book_check(api_req_t *req, struct store_snap *snap, const char *currency,
                     const char *unit, err_msg_t *m) KPID_MUST_USE;

/* Look up a query parameter; NULL when absent. */
const char *api_query(api_req_t *req, const char *name);

/* Queue a JSON response (steals j: it is decref'd). */
enum MHD_Result api_send_json(api_req_t *req, unsigned status, json_t *j);
/* Queue a response with an arbitrary body (copied) and content type. */
/* Queue a response built by the caller (which gives it up: it is freed
   here), with the headers its status needs, and count the request in the
   metrics. Every answer goes through here or through the api_send_* below. */
enum MHD_Result api_queue(api_req_t *req, unsigned status, struct MHD_Response *r);
enum MHD_Result api_send_body(api_req_t *req, unsigned status, const char *ctype, const char *body,
                              size_t len);
/* The same with extra headers: name, value pairs ending with NULL (may be NULL). */
enum MHD_Result api_send_body_h(api_req_t *req, unsigned status, const char *ctype,
                                const char *body, size_t len, const char *const *headers);
/* Queue {"error":{"code","message"}} with api_err_status(e). */
enum MHD_Result api_send_error(api_req_t *req, err_t e, const char *fmt, ...) KPID_PRINTF(3, 4);
/* As api_send_error with an explicit status (404 for routes, 405, 415...). */
enum MHD_Result api_send_error_status(api_req_t *req, unsigned status, err_t e, const char *fmt,
                                      ...) KPID_PRINTF(4, 5);

/* true when the client asked for a table: format=csv or format=xlsx, or
   Accept: text/csv or the XLSX media type (api_xlsx.h). An unknown format
   sets *e = ERR_BAD_PARAM and *bad to it. */
bool api_wants_csv(api_req_t *req, err_t *e, const char **bad);
/* true when that table is to be XLSX (format=xlsx, or the XLSX media type
   in Accept without format=). */
bool api_wants_xlsx(api_req_t *req);

/* ---- growable text buffer with a cap (CSV bodies) ----------------------- */
typedef struct api_buf {
    char *data;
    size_t len, cap, max; /* max: hard cap in bytes */
    bool failed;          /* an append hit the cap or malloc failed */
} api_buf_t;
void api_buf_init(api_buf_t *b, size_t max);
void api_buf_free(api_buf_t *b);
void api_buf_add(api_buf_t *b, const char *s, size_t len);
void api_buf_str(api_buf_t *b, const char *s);

/* ---- CSV cells (api_csv.c): the one writer of every CSV answer ---------- */
/* The aging's wide layout, one row per group (/v1/aging, /v1/payables/aging):
   a header of the group column (and `name` when named), a column per bucket
   ("1-30 days": a bare "1-30" opens in a spreadsheet as a date), total,
   count, as_of, currency; then a row per group. */
void api_csv_aging_header(api_buf_t *b, const char *group, bool named, const kpi_aging_t *shape);
void api_csv_aging_row(api_buf_t *b, const char *group, bool named, const char *name,
                       const kpi_aging_t *ag, int digits, int32_t as_of, const char *currency);
/*
 * A text cell (names, numbers of documents, labels, reasons; NULL writes
 * nothing). A cell beginning with =, +, -, @, tab or carriage return would
 * run as a formula in a spreadsheet (OWASP "CSV injection"): it is written
 * with a leading apostrophe, quoted, so it reads as the text it is. Any
 * cell holding a comma, quote, CR or LF is quoted (RFC 4180), quotes
 * doubled.
 */
void api_buf_csv_field(api_buf_t *b, const char *s);
/*
 * A numeric cell (amounts, counts, ratios, days) as kpi_amount_format or
 * printf made it: written as is, so "-12.50" stays a number. A value that
 * is not a plain decimal number (digits, one '.', a leading '-') goes
 * through api_buf_csv_field instead: the numeric path can never carry a
 * formula.
 */
void api_buf_csv_num(api_buf_t *b, const char *s);
/* true when s is a plain decimal number as api_buf_csv_num writes as is. */
bool api_csv_is_number(const char *s);
/*
 * Answer a table built as CSV in b (which is freed): as text/csv, or, when
 * the client asked for XLSX (api_wants_xlsx), as a workbook of one sheet
 * named `name` made from the same bytes (api_xlsx.h), with
 * Content-Disposition "name.xlsx". `headers` (name, value pairs ending with
 * NULL, at most two pairs; may be NULL) are added to either. A buffer that
 * hit its cap answers 413.
 */
enum MHD_Result api_send_table(api_req_t *req, api_buf_t *b, const char *name,
                               const char *const *headers);
/* The UTF-8 byte order mark that makes Excel read a CSV file as UTF-8. */
#define API_CSV_BOM "\xEF\xBB\xBF"
/* Start a CSV body of at most `max` bytes, with the BOM first when `bom`. */
void api_csv_start(api_buf_t *b, size_t max, bool bom);

/* ---- JSON rendering of events (api_json.c) ----------------------------- */
/* New JSON object for an event as docs/events.md names its fields. NULL on ENOMEM. */
json_t *api_event_json(const kpi_event_t *ev, int base_digits);

/* ---- the NATS mode (api_stream.c; api.h api_stream_t) -------------------- */
/* POST /v1/events with opts.stream: decide what the node's own view can
   (duplicates, id conflicts) into res, publish the rest, and fill stats as
   store_put_batch would (committed once the stream acknowledged). ERR_BUSY
   with msg when the stream did not. */
err_t api_stream_put(api_req_t *req, const kpi_event_t *evs, size_t n, store_item_result_t *res,
                     store_batch_stats_t *stats, err_msg_t *msg);
/* X-Kpid-Lag on the answers of KPI routes (cached ones) while behind, as
   api_stream_too_far read it. */
void api_stream_headers(api_req_t *req, struct MHD_Response *r);
/* For a KPI route: read how far behind the node is (*lag, kept for the
   header) and say whether that is more than max_lag. */
bool api_stream_too_far(api_req_t *req, uint64_t *lag);
/* /healthz's "nats" object, or NULL without a stream. */
json_t *api_stream_health(api_server_t *srv);
/* The kpid_nats_* families of /metrics (nothing without a stream). */
void api_stream_metrics(api_server_t *srv, api_buf_t *b);
/* The CSV header line and one row for an event (same columns). */
void api_event_csv_header(api_buf_t *b);
void api_event_csv_row(api_buf_t *b, const kpi_event_t *ev, int base_digits);

/* The route table (api_server.c); *n receives its length. Request metrics
   are kept per entry, by index. */
const api_route_t *api_routes(size_t *n);

/* ---- handlers ------------------------------------------------------------ */
/* GET /metrics (api_metrics.c) */
enum MHD_Result api_metrics_get(api_req_t *req);
enum MHD_Result api_events_post_respond(api_req_t *req);
bool api_events_post_body(api_req_t *req, const char *data, size_t len);
enum MHD_Result api_events_get(api_req_t *req);
extern const char *const api_events_get_params[];
extern const char *const api_events_post_params[];

/* KPI endpoints (api_kpi.c) */
/* What the KPI and worklist handlers share: a money amount and a day as
   JSON strings, a name parameter (NULL when absent), and ERR_NOT_FOUND for
   a party named with a unit it has no event in (it then reads exactly as
   an unknown one, docs/security.md). */
json_t *api_j_money(int64_t v, int digits);
json_t *api_j_date(int32_t day);
err_t api_query_name(api_req_t *req, const char *name, const char **out, err_msg_t *m);
struct store_snap;
err_t api_party_in_unit(struct store_snap *snap, const char *party, const char *unit);
/* A customer's (vendor false) or vendor's name from its latest profile
   event, copied into the request's arena; NULL when it has none. */
const char *api_party_name(api_req_t *req, struct store_snap *snap, bool vendor, const char *party);
/*
 * currency= and reporting_currency= (docs/kpi.md, "Reporting currency"):
 * one book (default the base currency), or with currency=* or
 * reporting_currency= the books converted into one currency (fx; refused
 * with 400 unless fx_ok). A bad code is 400 listing the currencies with
 * data. c->fxq.only points into c->only: use c where it was filled.
 */
typedef struct api_cur {
    char currency[4]; /* the answer's currency: the book's, or the reporting one */
    int digits;
    bool fx;
    store_q_fx_t fxq;
    char only[4]; /* fxq.only's storage */
} api_cur_t;
err_t api_param_currency(api_req_t *req, bool fx_ok, api_cur_t *c, err_msg_t *m) KPID_MUST_USE;
/* c's fields into a request's own (fxq->only then points at `only`). */
void api_cur_unpack(const api_cur_t *c, char currency[4], int *digits, bool *fx, store_q_fx_t *fxq,
                    char only[4]);
/* A book of a consolidated answer: its currency, rate, rate_date, stale. */
json_t *api_j_book_rate(const store_q_book_t *bk);
/* Aging bucket edges: `buckets=`, else the config's aging_buckets, else
   30,60,90,120 (edges holds API_EDGES_MAX). */
err_t api_aging_edges(api_req_t *req, int32_t *edges, size_t *n, err_msg_t *m);
enum MHD_Result api_aging_get(api_req_t *req);
enum MHD_Result api_dso_get(api_req_t *req);
enum MHD_Result api_cei_get(api_req_t *req);
enum MHD_Result api_dpo_get(api_req_t *req);
enum MHD_Result api_rollforward_get(api_req_t *req);
enum MHD_Result api_sla_get(api_req_t *req);
enum MHD_Result api_ftq_get(api_req_t *req);
enum MHD_Result api_customer_get(api_req_t *req);
/* Worklists (api_worklist.c) */
enum MHD_Result api_worklist_overdue_get(api_req_t *req);
extern const char *const api_worklist_overdue_params[];
enum MHD_Result api_worklist_unapplied_get(api_req_t *req);
extern const char *const api_worklist_unapplied_params[];
enum MHD_Result api_worklist_quality_get(api_req_t *req);
extern const char *const api_worklist_quality_params[];
enum MHD_Result api_worklist_sla_get(api_req_t *req);
extern const char *const api_worklist_sla_params[];
extern const char *const api_aging_params[];
extern const char *const api_series_params[];
extern const char *const api_dso_params[];
extern const char *const api_dpo_params[];
extern const char *const api_sla_params[];
extern const char *const api_ftq_params[];
extern const char *const api_customer_params[];

/* Payables (api_payables.c) */
enum MHD_Result api_payables_aging_get(api_req_t *req);
enum MHD_Result api_payables_cashreq_get(api_req_t *req);
extern const char *const api_payables_aging_params[];
extern const char *const api_payables_cashreq_params[];

/* Sign-in sessions (api_session.c) */
enum MHD_Result api_session_post(api_req_t *req);
enum MHD_Result api_session_get(api_req_t *req);
enum MHD_Result api_session_delete(api_req_t *req);

/* PDF reports (api_reports.c) */
enum MHD_Result api_reports_post(api_req_t *req);
bool api_reports_post_body(api_req_t *req, const char *data, size_t len);
enum MHD_Result api_reports_list(api_req_t *req);
enum MHD_Result api_reports_get(api_req_t *req);
extern const char *const api_reports_post_params[];
extern const char *const api_reports_get_params[];

#endif
