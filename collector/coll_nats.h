/*
 * coll_nats.h — events through NATS JetStream: the scale-out mode of
 * `kpid serve --nats` and `kpid publish` (docs/operations.md, "Many nodes").
 *
 * The stream is the log every node agrees on; each kpid node is a
 * materialized view of it with its own LMDB store. A message is one event
 * as JSON (the vocabulary of docs/events.md, so an ERP may publish to the
 * stream directly), its JetStream message id the event id plus a hash of
 * its content (coll_nats_msg_id), so that the stream's de-duplication
 * window drops exact resends and nothing else.
 *
 * Two halves:
 *   - pure bookkeeping (coll_nats_util.c, in the collector library): names,
 *     message ids, lag. No libnats, unit tested alone;
 *   - the client (coll_nats.c, its own library `collnats`, the only user of
 *     libnats): connection, stream set-up, publishing with the stream's
 *     acknowledgement, and the consumer thread that applies the stream to
 *     the store. Libraries that do not need NATS (kpi, store, collector,
 *     api, the fuzz targets) never link libnats.
 *
 * Exactness: the consumer is a durable pull consumer; a fetched batch is
 * committed in ONE store transaction that also records the last stream
 * sequence it holds (store_batch_opts_t.stream_seq), and only then is the
 * batch acknowledged. A node killed between its commit and its ack gets
 * those messages again and skips every one at or below the recorded
 * sequence: nothing is lost (unacked messages are redelivered) and nothing
 * counts twice (the sequence, and behind it the store's id index).
 */
#ifndef KPID_COLL_NATS_H
#define KPID_COLL_NATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "coll.h"
#include "err.h"
#include "kpi_event.h"

#define COLL_NATS_PATH_MAX 4096
#define COLL_NATS_NAME_MAX 64 /* stream and consumer names */
#define COLL_NATS_MSG_ID_MAX (KPI_ID_MAX + 18)

/* The "nats" config block (cmd/cmd_nats.c parses it; docs/operations.md). */
typedef struct coll_nats_conf {
    char url[1024];                    /* "nats://host:4222", comma-separated for a cluster */
    char stream[COLL_NATS_NAME_MAX];   /* "KPID" */
    char subject[128];                 /* "kpid.events" */
    char durable[COLL_NATS_NAME_MAX];  /* this node's consumer; "" = derived
                                          (coll_nats_durable_default) */
    char creds[COLL_NATS_PATH_MAX];    /* NATS credentials file (.creds); "" = none */
    char tls_ca[COLL_NATS_PATH_MAX];   /* PEM CA bundle: connect with TLS; "" = plain */
    char tls_cert[COLL_NATS_PATH_MAX]; /* client certificate and key (mutual TLS), or "" */
    char tls_key[COLL_NATS_PATH_MAX];
    uint64_t max_lag;  /* messages; a node further behind answers KPI requests 503; 0 = never */
    unsigned replicas; /* replicas of the stream when kpid creates it (1..5) */
    unsigned duplicate_window_s; /* the stream's de-duplication window when kpid creates it */
} coll_nats_conf_t;

/* Defaults: stream KPID, subject kpid.events, 1 replica, 120 s window. */
void coll_nats_conf_default(coll_nats_conf_t *c);

/* ---- pure bookkeeping (coll_nats_util.c) -------------------------------- */

/* A stream or consumer name JetStream accepts: 1..63 bytes of letters,
   digits, '-' and '_' (no '.', '*', '>' or space: they are subject tokens). */
bool coll_nats_name_ok(const char *name);

/* A subject to publish to: dot-separated non-empty tokens of printable
   ASCII without spaces or wildcards ('*', '>'), at most 127 bytes. */
bool coll_nats_subject_ok(const char *subject);

/*
 * This node's consumer name when the config names none: "kpid-" + the host
 * name (characters outside coll_nats_name_ok's set become '_', cut to fit)
 * + "-" + 8 hex digits of a hash of the data directory. Stable across
 * restarts of one node, different for two nodes on one host. out holds
 * COLL_NATS_NAME_MAX bytes.
 */
void coll_nats_durable_default(const char *host, const char *data_dir, char *out);

/*
 * The JetStream message id of an event: its id, '.', and 16 hex digits of
 * a 64-bit FNV-1a hash of its binary encoding. An exact resend gets the
 * same id (the stream drops it inside its window; past it the store's id
 * index calls it a duplicate), while an event reusing an id with other
 * content gets another one and reaches every node, which rejects it as a
 * conflict. out holds COLL_NATS_MSG_ID_MAX bytes. ERR_TOO_LARGE when the
 * event does not encode.
 */
err_t coll_nats_msg_id(const kpi_event_t *ev, char *out) KPID_MUST_USE;

/* How far a node is behind: stream_seq - applied_seq, 0 when not behind. */
uint64_t coll_nats_lag(uint64_t stream_seq, uint64_t applied_seq);

/* ---- the client (coll_nats.c, library collnats) -------------------------- */

typedef struct coll_nats coll_nats_t;
struct store;

/*
 * Connect to conf->url (retrying in the background while the servers are
 * unreachable: a node starts and serves without NATS) and, once connected,
 * make sure the stream exists (created with conf's subject, replicas and
 * window when missing). log (may be NULL) gets one line per state change.
 * ERR_CONFIG for unusable options (a credentials or TLS file that does not
 * load, a bad URL), ERR_NOMEM. The caller frees *out with coll_nats_close.
 */
err_t coll_nats_open(const coll_nats_conf_t *conf, FILE *log, coll_nats_t **out,
                     err_msg_t *msg) KPID_MUST_USE;

/* Stop the consumer (if started), drain and close. NULL is a no-op. */
void coll_nats_close(coll_nats_t *n);

/* One message to publish: its id and its bytes (borrowed). */
typedef struct coll_nats_item {
    const char *msg_id;
    const char *data;
    size_t len;
} coll_nats_item_t;

typedef struct coll_nats_pub_stats {
    size_t stored;     /* acknowledged and new in the stream */
    size_t duplicates; /* acknowledged as a duplicate inside the window */
    size_t failed;     /* not acknowledged (NATS down, timeout, refused) */
    uint64_t last_seq; /* highest stream sequence acknowledged */
} coll_nats_pub_stats_t;

/*
 * Publish n items to the subject and wait (at most timeout_ms) for every
 * acknowledgement: acknowledged means stored, and replicated as the stream
 * is configured. Safe to call from several threads at once. ERR_OK when
 * every item was acknowledged; ERR_BUSY (with the first failure in
 * msg) when some were not: the caller sends them again (the acknowledged
 * ones are then duplicates). *st (may be NULL) has the counts either way.
 */
err_t coll_nats_publish(coll_nats_t *n, const coll_nats_item_t *items, size_t n_items,
                        unsigned timeout_ms, coll_nats_pub_stats_t *st,
                        err_msg_t *msg) KPID_MUST_USE;

/* Where a node is (all counters since start, but the sequences). */
typedef struct coll_nats_status {
    bool connected;          /* to a NATS server right now */
    bool consuming;          /* the consumer thread runs */
    uint64_t stream_seq;     /* the stream's last sequence, as last seen */
    uint64_t applied_seq;    /* the last sequence committed to the store */
    uint64_t lag;            /* coll_nats_lag(stream_seq, applied_seq) */
    uint64_t messages;       /* messages applied */
    uint64_t skipped;        /* redelivered messages at or below applied_seq, acked unapplied */
    uint64_t rejected;       /* events (or messages) refused by validation or the store */
    uint64_t publish_failed; /* messages whose publication was not acknowledged */
} coll_nats_status_t;

void coll_nats_get_status(coll_nats_t *n, coll_nats_status_t *out);

/*
 * Start the consumer thread: fetch from this node's durable consumer,
 * parse each message with the collector (opts: zone, base currency), write
 * each fetched batch in one store transaction recording its last sequence,
 * then acknowledge it. A message at or below the store's applied sequence
 * is acknowledged and skipped. A message whose event the collector or the
 * store refuses is acknowledged too (it must not stall the stream) and is
 * logged with its sequence, the same on every node. A store failure (disk
 * full) retries the same batch, unacknowledged. store and opts must outlive
 * the consumer. ERR_NOMEM / ERR_INTERNAL when the thread cannot start.
 */
err_t coll_nats_consume_start(coll_nats_t *n, struct store *store, const coll_opts_t *opts,
                              err_msg_t *msg) KPID_MUST_USE;

/*
 * Wait (at most timeout_ms) until the node has applied everything the
 * stream held when this is called. ERR_OK when caught up; ERR_BUSY, with
 * msg saying which, when the stream cannot be reached (the node then
 * serves what it has) or the node is still behind at the timeout.
 * progress (may be NULL) hears (applied - start, target - start) now and
 * then.
 */
err_t coll_nats_catch_up(coll_nats_t *n, unsigned timeout_ms,
                         void (*progress)(void *ctx, uint64_t done, uint64_t total), void *ctx,
                         err_msg_t *msg) KPID_MUST_USE;

#endif
