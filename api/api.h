/*
 * api.h — kpid's HTTP server (libmicrohttpd + Jansson). Translation only:
 * it parses requests, calls the collector, the store and the KPI core, and
 * maps their results (and err_t codes) to JSON or CSV and HTTP statuses.
 * No business rules live here.
 *
 * Threads: libmicrohttpd's internal thread pool. Handlers may block on a
 * store commit; each connection stays on one worker thread. One more thread
 * enforces the request timeout.
 *
 * Security (docs/security.md): API keys with roles and business-unit scopes
 * (api_auth.h), optional TLS, and limits on bodies, batches, connections,
 * slow clients and concurrent ingest. Without keys the server binds only
 * loopback addresses.
 */
#ifndef KPID_API_H
#define KPID_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "api_auth.h"
#include "coll.h"
#include "err.h"
#include "store.h"

typedef struct api_server api_server_t;
struct rpt_mailq; /* reports/rpt_mail.h */

/*
 * Ingest through a replicated stream instead of the local store (kpid
 * serve --nats, docs/operations.md "Many nodes"). The functions are cmd's
 * glue to the NATS client (collector/coll_nats.h), so that api/ never links
 * libnats; a test may plug in its own.
 */
typedef struct api_stream_msg {
    const char *msg_id; /* the stream's de-duplication id */
    const char *data;   /* the event as JSON; borrowed */
    size_t len;
} api_stream_msg_t;

typedef struct api_stream_pos {
    bool connected;          /* to the stream right now */
    uint64_t stream_seq;     /* the stream's last sequence, as last seen */
    uint64_t applied_seq;    /* the last sequence this node committed */
    uint64_t lag;            /* stream_seq - applied_seq, 0 when not behind */
    uint64_t messages;       /* messages applied since start */
    uint64_t skipped;        /* redelivered messages skipped (already applied) */
    uint64_t rejected;       /* events the collector or the store refused */
    uint64_t publish_failed; /* messages whose publication was not acknowledged */
} api_stream_pos_t;

typedef struct api_stream {
    /* Publish n messages; answer once the stream acknowledged them.
       *stored and *duplicates count the acknowledgements. ERR_BUSY (with
       msg) when the stream is unreachable or did not acknowledge them all. */
    err_t (*publish)(void *ctx, const api_stream_msg_t *msgs, size_t n, size_t *stored,
                     size_t *duplicates, err_msg_t *msg);
    void (*position)(void *ctx, api_stream_pos_t *out);
    void *ctx;
    uint64_t max_lag; /* KPI requests answer 503 when lag exceeds it; 0 = never */
} api_stream_t;

typedef struct api_opts {
    const char *host;           /* numeric IPv4/IPv6 address to bind, e.g. "127.0.0.1" */
    uint16_t port;              /* 0 = any free port (see api_server_port) */
    store_t *store;             /* borrowed; must outlive the server */
    coll_opts_t coll;           /* zone and base currency for parsing events */
    unsigned threads;           /* worker threads; 0 = four per CPU, at least 8 */
    size_t max_body_bytes;      /* POST body cap; 0 = 256 MiB */
    size_t max_batch_events;    /* events per POST; 0 = 1,000,000 */
    FILE *log;                  /* one line per failed request and per start/stop; NULL = silent */
    const int32_t *aging_edges; /* default aging bucket edges; NULL = 30,60,90,120 */
    size_t n_aging_edges;
    int32_t sla_goal_bp; /* dashboard goal lines (GET /v1/meta), basis points; 0 = 95 % */
    int32_t ftq_goal_bp;
    const char *reports_dir; /* PDF reports (POST/GET /v1/reports); NULL = reports disabled */
    struct rpt_mailq *mailq; /* POST /v1/reports "mail_to" queues here; NULL = no e-mail */
    /* Security and limits (docs/security.md). Zero values are the defaults. */
    const api_key_t *keys;         /* copied at start; n_keys == 0: loopback only, no auth */
    size_t n_keys;                 /* <= API_KEYS_MAX */
    const char *tls_cert_path;     /* PEM certificate (chain); NULL = plain HTTP */
    const char *tls_key_path;      /* PEM private key; set together with tls_cert_path */
    unsigned max_connections;      /* open connections; 0 = 256; more are refused at accept */
    unsigned connection_timeout_s; /* idle connection closed after; 0 = 60 */
    unsigned request_timeout_s;    /* one request's headers and body must arrive within; 0 = 300 */
    unsigned max_connections_per_ip; /* open connections from one address; 0 = 64 */
    unsigned header_timeout_s;       /* a request's headers must arrive within; 0 = 10 */
    unsigned min_body_rate;          /* body bytes/s over each rate window; 0 = 1024 */
    unsigned rate_window_s;          /* the window of min_body_rate; 0 = 10 */
    unsigned ingest_queue;           /* POST /v1/events at once; 0 = min(8, threads/2); more: 503 */
    /* KPI answers kept while the store is unchanged (api_cache.h); bytes,
       0 = no response cache. kpid serve's default is 64 MiB. */
    size_t response_cache_bytes;
    /* Niceness added to the thread that runs ingest batches (api_writer.h):
       queries get the CPU first when both want it. 0 = none; kpid serve's
       default is 5. */
    int writer_nice;
    /* Exchange rates (docs/kpi.md, "Reporting currency"): a rate older than
       fx_stale_days (< 0: never) is stale; refused when fx_refuse_stale,
       else used and marked. kpid serve's default: 7 days, used. */
    int fx_stale_days;
    bool fx_refuse_stale;
    /* Dashboard sign-in sessions (api_session.h), in memory: absolute
       lifetime and idle bound in seconds; 0 = 8 hours and 1 hour. */
    unsigned session_ttl_s;
    unsigned session_idle_s;
    /* POST /v1/events publishes to this stream, which the node applies
       (api_stream_t); NULL = events are written to the store directly. */
    const api_stream_t *stream;
} api_opts_t;

/*
 * Bind and start serving. On success *out is running and owned by the
 * caller (stop it with api_server_stop). ERR_IO with a message when the
 * address cannot be bound (in use, not local, bad address), ERR_BAD_PARAM
 * for an unparsable host or a non-loopback host with no API keys,
 * ERR_CONFIG for an unusable TLS certificate or key (named in the message).
 */
err_t api_server_start(const api_opts_t *opts, api_server_t **out, err_msg_t *msg) KPID_MUST_USE;

/* The port actually bound (useful with port 0). */
uint16_t api_server_port(const api_server_t *srv);

/* true when the server speaks HTTPS. */
bool api_server_tls(const api_server_t *srv);

/*
 * Replace the API keys in force (keys are copied; `kpid serve` calls it on
 * SIGHUP). Requests already authenticated finish under the old keys; every
 * later request uses the new ones. ERR_BAD_PARAM (nothing changes) for no
 * keys on a server not bound to loopback, or for more than API_KEYS_MAX.
 */
err_t api_server_set_keys(api_server_t *srv, const api_key_t *keys, size_t n,
                          err_msg_t *msg) KPID_MUST_USE;

/*
 * Stop accepting connections, let requests in progress finish (at most
 * drain_ms milliseconds; a batch being committed always completes), then
 * stop and free. NULL is a no-op.
 */
void api_server_stop(api_server_t *srv, unsigned drain_ms);

/*
 * The event as one line of compact JSON with sorted keys, exactly as GET
 * /v1/events renders it (so the collector reads it back to the same
 * encoding): the message body of the NATS mode. base_digits: minor digits
 * of the base currency. Caller frees; NULL when out of memory.
 */
char *api_event_text(const kpi_event_t *ev, int base_digits);

/* Maps an error to its HTTP status (400, 404, 409, 413, 422, 500, 503, 507...). */
unsigned api_err_status(err_t e);

#endif
