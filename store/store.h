/*
 * store.h — kpid's storage: the only module that touches LMDB.
 *
 * Owns, in one LMDB environment under a data directory:
 *   - the immutable event log, ordered by event time (then arrival);
 *   - indexes by party (customer or vendor) and by business unit;
 *   - the event-id index that makes ingest idempotent (same id and same
 *     content: duplicate; same id, other content: conflict);
 *   - interned names (parties, business units);
 *   - documents (invoices, credit notes, payments, disputes, inquiries,
 *     bills) with their current state;
 *   - events waiting for a document that has not arrived yet.
 * Key layouts are documented in store_int.h and docs/architecture.md.
 *
 * Handles are opaque. LMDB codes never leave this module: they are mapped to
 * err_t with a message naming the directory. Strings handed to callbacks are
 * borrowed from the database and valid only during the callback.
 *
 * Thread safety: one store_t may be shared by threads. Writers are
 * serialized; readers use snapshots and never block the writer. When the map
 * fills, the store grows it and retries transparently.
 */
#ifndef KPID_STORE_H
#define KPID_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kpi.h"
#include "kpi_event.h"
#include "kpi_tz.h"

/* On-disk format version. A store with another version is refused, untouched
   (`kpid upgrade` converts an older one, store_upgrade()).
   2: d_flows, d_sla, d_ftq and d_open rows packed (store_derive.h).
   3: one packed `docs` row per document, holding its derived state too (no
      d_state database).
   4: the bills' open amounts (d_ap_open, d_ap_tl: store_payables.h). */
#define STORE_FORMAT_VERSION 4

/* The older formats store_upgrade() converts, STORE_FORMAT_UPGRADABLE_MIN to
   STORE_FORMAT_UPGRADABLE: their event log (meta counters, events, ids,
   names, names_rev) is this format's; only derived state differs. */
#define STORE_FORMAT_UPGRADABLE_MIN 2
#define STORE_FORMAT_UPGRADABLE 3
#define STORE_FORMAT_CAN_UPGRADE(v)                                                                \
    ((v) >= STORE_FORMAT_UPGRADABLE_MIN && (v) <= STORE_FORMAT_UPGRADABLE)

typedef struct store store_t;

typedef struct store_opts {
    const char *dir;           /* data directory; created if missing (unless read_only) */
    const kpi_tz_t *tz;        /* reporting zone: event days; must outlive the store */
    const char *base_currency; /* ISO 4217, recorded at creation */
    bool read_only;            /* open for reading only */
    uint64_t map_size_initial; /* bytes; 0 = default (256 MiB). Grows when full. */
    /* Settings that shape the derived KPI state (store_kpi.h). A store whose
       state was computed with other ones is refused (ERR_CONFIG) unless
       `rebuild` is set, for store_rebuild() to recompute it. */
    const kpi_sla_def_t *slas; /* NULL: the built-in SLAs (docs/kpi.md) */
    size_t n_slas;
    kpi_calendar_t cal; /* weekend_mask 0: Saturday and Sunday; holidays
                           borrowed, must outlive the store */
    bool rebuild;
} store_opts_t;

/*
 * Open (and create when missing) the store in opts->dir. Refuses, with a
 * message in msg naming the directory and what to do:
 *   ERR_STORE_VERSION  another format version (file left untouched);
 *   ERR_STORE_CORRUPT  not an LMDB file / damaged;
 *   ERR_STORE_LOCKED   locked by another process in a way LMDB cannot share;
 *   ERR_READONLY       directory not writable (and read_only not set);
 *   ERR_CONFIG         created with another reporting zone or base currency.
 * On success the caller owns *out and closes it with store_close().
 */
err_t store_open(const store_opts_t *opts, store_t **out, err_msg_t *msg) KPID_MUST_USE;

/* Close and free. NULL is a no-op. No snapshot may be open. */
void store_close(store_t *s);

/* ---- writing ---------------------------------------------------------- */

typedef enum store_item_status {
    STORE_ITEM_ACCEPTED = 0, /* written */
    STORE_ITEM_DUPLICATE,    /* same id and content already stored: ignored */
    STORE_ITEM_REJECTED,     /* not written; see code/field/message */
    STORE_ITEM_NOT_COMMITTED /* valid, but an atomic batch was rolled back */
} store_item_status_t;

typedef struct store_item_result {
    uint8_t status;    /* store_item_status_t */
    bool pending;      /* accepted, but waits for a document not yet seen */
    err_t code;        /* REJECTED: ERR_CONFLICT, ERR_DOC_CONFLICT, ... */
    const char *field; /* static string: the field at fault, "" if none */
    char message[224]; /* REJECTED: one line for people */
} store_item_result_t;

typedef struct store_batch_opts {
    bool atomic;      /* all or nothing: any rejection rolls the batch back */
    bool strict_refs; /* reject (ERR_UNKNOWN_DOC) instead of holding events
                         that reference unknown documents */
    /* > 0: the sequence number, in a replicated stream (kpid serve --nats,
       docs/operations.md), of the last message this batch holds. It is
       recorded in the batch's own transaction (meta "stream_seq"), so a
       node that dies between its commit and its acknowledgement to the
       stream knows, on restart, exactly which messages it has applied.
       Never lowered; not recorded when an atomic batch rolls back. */
    uint64_t stream_seq;
} store_batch_opts_t;

typedef struct store_batch_stats {
    size_t accepted;
    size_t duplicates;
    size_t rejected;
    size_t pending;  /* accepted and waiting for their document */
    size_t released; /* earlier pending events that took effect now */
    bool committed;  /* false: nothing was written (atomic rollback) */
} store_batch_stats_t;

/*
 * Write a batch in one transaction, in the given order. res (n entries,
 * caller-owned) receives each item's outcome. An item that is rejected
 * writes nothing; the others are written (unless opts->atomic and any item
 * was rejected: then nothing is, and valid items are NOT_COMMITTED).
 *
 * Returns ERR_OK once the transaction is durably committed (or rolled back
 * by atomic). Any other code means nothing of the batch was written:
 * ERR_DISK_FULL, ERR_IO, ERR_READONLY, ERR_NOMEM... with detail in msg.
 * opts may be NULL (defaults: not atomic, lenient references).
 */
err_t store_put_batch(store_t *s, const kpi_event_t *evs, size_t n, const store_batch_opts_t *opts,
                      store_item_result_t *res, store_batch_stats_t *stats,
                      err_msg_t *msg) KPID_MUST_USE;

/* ---- reading ---------------------------------------------------------- */

/* A consistent read snapshot. Cheap; never blocks writers. */
typedef struct store_snap store_snap_t;

err_t store_snap_begin(store_t *s, store_snap_t **out) KPID_MUST_USE;
/* NULL is a no-op. */
void store_snap_end(store_snap_t *snap);

/*
 * The store's generation: the id of the last committed write, exactly as a
 * snapshot begun now sees it. It grows with every commit (of this process
 * or another), so two equal readings bracket a stretch in which every new
 * snapshot saw the same data (the API's response cache relies on it).
 */
err_t store_generation(store_t *s, uint64_t *gen) KPID_MUST_USE;

/* Which side of the book a party filter means: a name may be both a
   customer and a vendor. */
typedef enum store_ev_side {
    STORE_EV_ANY = 0,
    STORE_EV_RECEIVABLE, /* customer: every event but bill.* */
    STORE_EV_PAYABLE,    /* vendor: bill.* */
} store_ev_side_t;

typedef struct store_ev_filter {
    const char *party;         /* customer or vendor name, or NULL */
    const char *business_unit; /* or NULL */
    kpi_ev_type_t type;        /* KPI_EV_NONE = every type */
    store_ev_side_t side;      /* with party: only its customer or its vendor events */
    bool has_from;             /* from_day is set */
    bool has_to;               /* to_day is set */
    int32_t from_day;          /* first day, inclusive, reporting zone */
    int32_t to_day;            /* last day, inclusive, reporting zone */
} store_ev_filter_t;

typedef struct store_ev_row {
    uint64_t seq;          /* arrival number, unique, starts at 1 */
    int32_t day;           /* the event's day in the reporting zone */
    const kpi_event_t *ev; /* borrowed, valid during the callback */
} store_ev_row_t;

typedef err_t (*store_ev_fn)(void *ctx, const store_ev_row_t *row);

#define STORE_CURSOR_BUF 64

/*
 * Events matching f in (time, arrival) order, after `cursor` ("" or NULL:
 * from the start), at most `limit` (>= 1). next_cursor (STORE_CURSOR_BUF
 * bytes) receives the cursor to continue with, or "" when nothing is left.
 * A cursor is an opaque printable token. ERR_BAD_PARAM for a malformed
 * cursor. An unknown party or business unit simply matches nothing.
 * A callback returning non-OK stops the listing with that code.
 */
err_t store_events_list(store_snap_t *snap, const store_ev_filter_t *f, const char *cursor,
                        size_t limit, store_ev_fn fn, void *ctx, char *next_cursor) KPID_MUST_USE;

/* The event with this id: fn is called once. ERR_NOT_FOUND if none. */
err_t store_event_get(store_snap_t *snap, const char *id, store_ev_fn fn, void *ctx) KPID_MUST_USE;

/* Current state of a document. */
typedef struct store_doc {
    kpi_doc_kind_t kind;
    bool exists;          /* its creating event has arrived */
    uint64_t created_seq; /* seq of the creating event */
    int32_t created_day;  /* day of the creating event (issue/receipt day) */
    int32_t due_day;      /* invoices and bills; INT32_MIN when none */
    char currency[4];
    const char *party;         /* borrowed; customer/vendor, NULL if none */
    const char *business_unit; /* borrowed */
    const char *ref;           /* borrowed; credit notes, disputes, inquiries: the invoice */
    int64_t amount_minor;      /* issued / received / credit amount */
    int64_t adjusted_minor;    /* invoices: sum of signed adjustments */
    int64_t applied_minor;     /* invoices: cash applied to it; payments: applied from it */
    int64_t credited_minor;    /* invoices: credit notes against it */
    int64_t written_off_minor; /* invoices */
    int64_t refunded_minor;    /* payments */
    int64_t paid_minor;        /* bills */
    int64_t open_minor;        /* invoices: amount + adjusted - applied - credited -
                                  written_off; payments: amount - applied - refunded;
                                  bills: amount - paid; others 0 */
    uint32_t reviews;          /* invoices: reviews seen */
    uint8_t first_review;      /* kpi_review_result_t of the earliest review */
    uint32_t corrections;      /* invoices: adjustments + credit notes against it */
    uint32_t rejections;       /* bills */
    uint32_t escalations;      /* bills */
    int32_t closed_day;        /* processed (bills), resolved (disputes,
                                  inquiries); INT32_MIN while open */
    uint32_t pending_events;   /* events waiting for this document */
} store_doc_t;

/*
 * Look up document `number` of `kind`. ERR_NOT_FOUND if nothing at all is
 * known about it. Borrowed strings are valid until store_snap_end().
 */
err_t store_doc_get(store_snap_t *snap, kpi_doc_kind_t kind, const char *number,
                    store_doc_t *out) KPID_MUST_USE;

typedef struct store_stats {
    uint64_t events;              /* events in the log */
    uint64_t docs[KPI_DOC_COUNT]; /* documents that exist, by kind */
    uint64_t pending;             /* events waiting for a document */
    uint64_t map_size;            /* bytes of the LMDB map */
    uint64_t map_used;            /* bytes in use (pages * page size) */
    uint64_t stream_seq;          /* the last stream sequence applied
                                     (store_batch_opts_t.stream_seq); 0: none */
    char tz[64];                  /* reporting zone of the store */
    char base_currency[4];
} store_stats_t;

err_t store_stats(store_t *s, store_stats_t *out) KPID_MUST_USE;

/*
 * Read every entry of every database of one snapshot (the whole B-tree of
 * each, not just the event log) and check what can be checked without the
 * KPI logic: each database yields as many entries as its header records,
 * every event and document record decodes, every id points at its event,
 * and the event count kept in meta matches the log. ERR_STORE_CORRUPT with
 * the database and entry at fault otherwise. *entries (may be NULL) receives
 * the number of entries read. For `kpid check`; runs beside a live writer.
 * LMDB pages carry no checksums, so damage that still parses is not seen,
 * and a page garbled badly enough can crash LMDB itself.
 */
err_t store_verify(store_t *s, uint64_t *entries, err_msg_t *msg) KPID_MUST_USE;

/* ---- upgrading ------------------------------------------------------------ */

/* Where store_upgrade() is; the step callback hears each one as it is reached. */
typedef enum store_upgrade_step {
    STORE_UPGRADE_PLAN = 0, /* every check passed; nothing was written yet */
    STORE_UPGRADE_MARKED,   /* committed: format 3, derived state emptied, marked
                               "upgrading" (open() refuses it); the replay is next */
    STORE_UPGRADE_REPLAYED  /* the replay is committed; the marker goes next */
} store_upgrade_step_t;

typedef struct store_upgrade_info {
    uint32_t from_version; /* the version found (STORE_FORMAT_VERSION once marked) */
    bool nothing_to_do;    /* already this format: nothing was written */
    bool resumed;          /* an interrupted upgrade was taken up again */
    bool replay;           /* the log is replayed (false: only a resumed
                              upgrade's marker was left to remove) */
    uint64_t events;       /* events in the log */
} store_upgrade_info_t;

typedef struct store_upgrade_cb {
    void (*step)(void *ctx, store_upgrade_step_t step, const store_upgrade_info_t *info);
    void (*progress)(void *ctx, uint64_t done, uint64_t total); /* as store_rebuild's */
    void *ctx;
} store_upgrade_cb_t;

/*
 * Convert the STORE_FORMAT_UPGRADABLE store in opts->dir (never created
 * here; read_only and rebuild are ignored) to STORE_FORMAT_VERSION in
 * place: the event log is kept byte for byte, every derived database is
 * emptied (d_state, which format 3 folds into docs, is deleted) and
 * recomputed by the replay of store_rebuild(). Crash-safe: until the first
 * write commits the store is the old one, untouched; from then on it is
 * marked, every open() refuses it asking for `kpid upgrade`, and calling
 * this again finishes the job. cb (may be NULL) hears the steps and the
 * replay's progress; *info (may be NULL) what was found and done.
 *
 * ERR_OK also when there was nothing to do (info->nothing_to_do). Refusals,
 * each leaving the store untouched: ERR_NOT_FOUND no store in dir;
 * ERR_STORE_CORRUPT not a kpid store; ERR_STORE_VERSION a version it
 * cannot convert; ERR_STORE_LOCKED another kpid process holds the store;
 * ERR_READONLY dir not writable; ERR_CONFIG another zone, base currency,
 * SLA definitions or calendar than the store's, or an interrupted
 * `kpid rebuild` of a format-3 store. LMDB failures as store_open's.
 */
err_t store_upgrade(const store_opts_t *opts, const store_upgrade_cb_t *cb,
                    store_upgrade_info_t *info, err_msg_t *msg) KPID_MUST_USE;

/* The data directory's path (owned by the store). */
const char *store_dir(const store_t *s);

#endif
