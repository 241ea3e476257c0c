/*
 * store_derive.h — derived KPI state, kept current inside the store's write
 * transaction so that no KPI query replays the event log. Internal to
 * store/ (it takes LMDB handles); the public face is store_kpi.h.
 *
 * The store calls derive_apply() exactly once per stored event, at the
 * moment the event takes effect: at once for an event whose documents are
 * known, or when the last missing document arrives for a pending one. Every
 * piece of derived state is a function of the SET of events applied, not of
 * their order: late and out-of-order events, and a rebuild that replays the
 * log in time order, give identical state. The rules that make this hold:
 *
 *   - Additive flows (sales, cash, credits, ...) are plain sums per day.
 *   - Anything "first"/"latest" (first review, first stop of an SLA, latest
 *     credit limit) is kept per document as a min/max under a total order
 *     (time, then event id), and its contribution to the counters is
 *     withdrawn and re-added whenever it changes.
 *   - An invoice's open amount is a step function of the day; it is kept as
 *     its own timeline of per-day deltas, and its contribution to the
 *     open-amount counters (amount, and the 0/1 "is open" count) is diffed
 *     against the old timeline on every movement.
 *
 * LMDB databases (all keys big-endian so byte order is numeric order; a day
 * is an int32 with its sign bit flipped; unit/party ids are the store's
 * interned name ids, 0 meaning "all"):
 *
 *   d_flows  cur[3] unit u32 party u32 day       -> store_flows_t, packed (below)
 *            each flow is added to 4 rows: (unit|all) x (party|all)
 *   d_open   cur[3] unit u32 party u32 basis u8 basis_day eff_day
 *                                                -> cumulative {amount, count}, packed
 *            the value at the last eff_day <= d is the open amount and count
 *            of the invoices with that basis day as of d; so aging as of any
 *            day costs one seek per distinct basis day
 *   d_tl     invoice number NUL day              -> int64 delta of open amount
 *   (docs)   kind u8 number                      -> per-document derived state, kept
 *            in the store's `docs` value beside the document's record
 *   d_sla    sla u8 unit u32 day                 -> 4 x int64 deltas (store_sla_counts_t), packed
 *   d_ftq    kind u8 unit u32 day                -> 2 x int64 deltas (store_ftq_counts_t), packed
 *            a packed day row: u16 mask of the non-zero columns (little-endian),
 *            then each such column as a zigzag LEB128 varint (format 2)
 *   d_cust   party u32                           -> credit limit and hold
 *   d_habit  party u32 cur[3]                    -> kpi_habits_acc_t
 *   d_cidx   party u32 kind u8 number            -> "" (a customer's invoices, disputes)
 *   d_copen  party u32 number                    -> "" (its invoices open now)
 *   d_fx     cur[3] day                          -> rate, int64 (store_fx.c)
 *   d_meta   "config"                            -> fingerprint of SLA defs + calendar
 *            "max_day"                           -> the latest event day applied
 *
 * A movement on an invoice takes effect on max(its day, the invoice's issue
 * day) (docs/kpi.md), which keeps aging total = AR = roll-forward closing.
 */
#ifndef KPID_STORE_DERIVE_H
#define KPID_STORE_DERIVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "err.h"
#include "kpi.h"
#include "kpi_arena.h"
#include "kpi_event.h"
#include "kpi_tz.h"
#include "store_kpi.h"
#include "store_docset.h"
#include "store_wcache.h"

enum { DERIVE_DB_COUNT = 10 };

/* Batch-scoped caches of derived state (store_derive.c); owned by the store. */
typedef struct derive_batch derive_batch_t;

typedef struct derive {
    MDB_dbi flows, open, tl, sla, ftq, cust, habit, cidx, copen, meta;
    MDB_dbi fx;             /* valid when has_fx */
    MDB_dbi ap_open, ap_tl; /* bills' open amounts and timelines (store_payables.h) */
    bool has_ap;            /* false only while `kpid upgrade` looks at an older store */
    bool has_fx;            /* false: a read-only store from before fx.rate (no rates) */
    MDB_dbi onow;           /* valid when has_onow: open invoices now, by due day */
    bool has_onow;
    MDB_dbi party;  /* valid when has_party */
    bool has_party; /* false: a read-only store from before *.updated (no profiles) */
    const kpi_tz_t *tz;
    kpi_calendar_t cal; /* holidays borrowed from the owner */
    kpi_sla_def_t slas[KPI_SLAS_MAX];
    size_t n_slas;
    wcache_t *wc;          /* the store's write cache (store_wcache.h); NULL: none */
    docset_t *ds;          /* the batch's documents (store_docset.h), which also
                              hold each document's derived state */
    derive_batch_t *batch; /* the store's batch caches; NULL: none */
} derive_t;

/* Configuration that shapes derived state. */
typedef struct derive_config {
    const kpi_tz_t *tz;
    const kpi_sla_def_t *slas; /* NULL: the built-in defaults */
    size_t n_slas;
    kpi_calendar_t cal; /* weekend_mask 0: Saturday and Sunday */
} derive_config_t;

/*
 * Open (creating when `create`) the derived databases in txn and remember
 * the configuration. ERR_CONFIG when the store's derived state was built
 * with another SLA/calendar configuration (`kpid rebuild` fixes it) —
 * unless `adopt` is set, which records the new fingerprint (rebuild does).
 */
err_t derive_open(derive_t *d, MDB_txn *txn, const derive_config_t *cfg, bool create, bool adopt,
                  err_msg_t *msg) KPID_MUST_USE;

/* An fx.rate on its day (store_fx.c): the currency's rate from that day. */
/* A day row's columns (the packed layout of d_flows, d_sla, d_ftq and
   d_onow); false when damaged. */
bool derive_row_unpack(const MDB_val *v, size_t n, int64_t *vals);

/* d_onow (store_onow.c): true when it was built along with the rest of the
   derived state (a store written before it existed has it only after
   `kpid rebuild`). */
bool derive_onow_built(const derive_t *d, MDB_txn *txn);
/* Every row of d_onow under (currency, unit; 0 = every unit), in key order:
   party, due day, open amount and count of the invoices open now. */
typedef err_t (*derive_onow_fn)(void *ctx, uint32_t party, int32_t due_day, int64_t amount,
                                int64_t count);
err_t derive_onow_each(const derive_t *d, MDB_txn *txn, const char cur[3], uint32_t unit,
                       derive_onow_fn fn, void *ctx) KPID_MUST_USE;

/* customer.updated / vendor.updated (store_party.c): keep the profile of
   interned party `party` when the event is its latest by (time, id). */
err_t derive_party_apply(const derive_t *d, MDB_txn *txn, const kpi_event_t *ev, uint32_t party,
                         err_msg_t *msg) KPID_MUST_USE;
err_t derive_fx_apply(const derive_t *d, MDB_txn *txn, const kpi_event_t *ev, int32_t day,
                      err_msg_t *msg) KPID_MUST_USE;

/* Empty every derived database (rebuild). */
err_t derive_clear(const derive_t *d, MDB_txn *txn, err_msg_t *msg) KPID_MUST_USE;

/*
 * What the store resolved for an event: the unit and party it files under
 * (its own, else its document's), and the currency (its own, else its
 * document's, else the base currency). Ids are interned names, >= 1
 * (party 0 when the event has none).
 */
typedef struct derive_ctx {
    uint32_t unit;
    uint32_t party;
    char currency[4];
} derive_ctx_t;

/*
 * Apply one event. The documents it needs must already be applied: its own
 * document for non-creating types, and the invoice for payment.applied and
 * for credit_note.issued with `invoice` (ERR_INTERNAL otherwise: the store's
 * pending logic has a bug). ERR_OVERFLOW when a sum would leave int64;
 * LMDB failures as ERR_IO/ERR_DISK_FULL (MDB_MAP_FULL is returned as
 * ERR_TOO_LARGE so the store can grow the map and retry).
 */
err_t derive_apply(const derive_t *d, MDB_txn *txn, const kpi_event_t *ev, const derive_ctx_t *c,
                   err_msg_t *msg) KPID_MUST_USE;

/*
 * Batch caches: between begin and end, derive_apply() on txn keeps invoice
 * timelines in memory and gathers open-amount changes, which
 * derive_batch_flush() writes (before wcache_flush and the commit; it may
 * return ERR_OVERFLOW without naming the event: retry the batch with
 * `direct`, which applies them per event). end forgets everything (also
 * after an abort). All are no-ops when d->batch is NULL.
 */
derive_batch_t *derive_batch_new(void);
void derive_batch_free(derive_batch_t *b);
void derive_batch_begin(const derive_t *d, MDB_txn *txn, bool direct);
err_t derive_batch_flush(const derive_t *d, MDB_txn *txn, err_msg_t *msg) KPID_MUST_USE;
void derive_batch_end(const derive_t *d);

/* One step of an open-amount change: from `day` on, add amount and count. */
typedef struct derive_step {
    int32_t day;
    int64_t amount;
    int64_t count;
} derive_step_t;

/*
 * The open-amount rows' writer and reader, on any database laid out like
 * d_open (cur[3] unit party basis basis_day eff_day -> cumulative {amount,
 * count}): store_payables.c keeps the bills' rows in one of its own.
 * derive_steps_apply adds steps (ascending days) under a 16-byte prefix;
 * derive_steps_groups is derive_open_groups on `dbi`.
 */
err_t derive_steps_apply(MDB_txn *txn, MDB_dbi dbi, const uint8_t *prefix,
                         const derive_step_t *steps, size_t n, err_msg_t *msg) KPID_MUST_USE;

/* ---- queries (read txn) --------------------------------------------------- */

/* Scope in interned ids: unit/party 0 = all. */
typedef struct derive_scope {
    char currency[4];
    uint32_t unit;
    uint32_t party;
} derive_scope_t;

err_t derive_flows_cumulative(const derive_t *d, MDB_txn *txn, const derive_scope_t *sc,
                              const int32_t *days, size_t n, store_flows_t *out) KPID_MUST_USE;
err_t derive_flows_first_day(const derive_t *d, MDB_txn *txn, const derive_scope_t *sc,
                             int32_t *day) KPID_MUST_USE;
err_t derive_open_groups(const derive_t *d, MDB_txn *txn, const derive_scope_t *sc,
                         store_basis_t basis, int32_t as_of, int32_t min_basis_day,
                         kpi_arena_t *arena, kpi_open_group_t **groups, size_t *n) KPID_MUST_USE;
err_t derive_steps_groups(MDB_txn *txn, MDB_dbi dbi, const derive_scope_t *sc, store_basis_t basis,
                          int32_t as_of, int32_t min_basis_day, kpi_arena_t *arena,
                          kpi_open_group_t **groups, size_t *n) KPID_MUST_USE;
/* Parties (ids, ascending) with open-amount history under (currency, unit). */
typedef err_t (*derive_id_fn)(void *ctx, uint32_t id);
err_t derive_open_parties(const derive_t *d, MDB_txn *txn, const char currency[4], uint32_t unit,
                          derive_id_fn fn, void *ctx) KPID_MUST_USE;
/* The same over any database of d_open's layout (cur, unit, party, basis,
   basis day, day: d_open, d_ap_open). */
err_t derive_steps_parties(MDB_txn *txn, MDB_dbi dbi, const char currency[4], uint32_t unit,
                           derive_id_fn fn, void *ctx) KPID_MUST_USE;
/* A lister of parties, as the two above (for store_parties_by). */
typedef err_t (*derive_parties_fn)(const derive_t *d, MDB_txn *txn, const char currency[4],
                                   uint32_t unit, derive_id_fn fn, void *ctx);
/* Currencies (ascending) with any daily flow; fn gets a NUL-terminated code. */
typedef err_t (*derive_code_fn)(void *ctx, const char *code);
err_t derive_flow_currencies(const derive_t *d, MDB_txn *txn, derive_code_fn fn,
                             void *ctx) KPID_MUST_USE;
/* Whether the scope (currency, unit, party) has any daily flow row. */
err_t derive_flow_has(const derive_t *d, MDB_txn *txn, const derive_scope_t *sc,
                      bool *has) KPID_MUST_USE;
/* Units (ids, ascending) with flows in the currency. */
err_t derive_flow_units(const derive_t *d, MDB_txn *txn, const char currency[4], derive_id_fn fn,
                        void *ctx) KPID_MUST_USE;
err_t derive_sla_cumulative(const derive_t *d, MDB_txn *txn, size_t sla, uint32_t unit,
                            const int32_t *days, size_t n, store_sla_counts_t *out) KPID_MUST_USE;
err_t derive_ftq_cumulative(const derive_t *d, MDB_txn *txn, store_ftq_kind_t kind, uint32_t unit,
                            const int32_t *days, size_t n, store_ftq_counts_t *out) KPID_MUST_USE;

/* A customer's credit standing (ERR_NOT_FOUND when none was ever set). */
typedef struct derive_cust {
    bool has_limit;
    int64_t credit_limit;
    char limit_currency[4];
    bool on_hold;
    int32_t hold_day;
    char hold_reason[KPI_TEXT_MAX + 1];
} derive_cust_t;
err_t derive_customer(const derive_t *d, MDB_txn *txn, uint32_t party,
                      derive_cust_t *out) KPID_MUST_USE;
err_t derive_habits(const derive_t *d, MDB_txn *txn, uint32_t party, const char currency[4],
                    kpi_habits_acc_t *out) KPID_MUST_USE;
/* Document numbers of kind `kind` filed under the party, ascending. */
typedef err_t (*derive_doc_fn)(void *ctx, const char *number);
err_t derive_customer_docs(const derive_t *d, MDB_txn *txn, uint32_t party, kpi_doc_kind_t kind,
                           derive_doc_fn fn, void *ctx) KPID_MUST_USE;
/* Invoice numbers of the party that are open now (open amount != 0 after
   every event applied), ascending. */
err_t derive_customer_open_now(const derive_t *d, MDB_txn *txn, uint32_t party, derive_doc_fn fn,
                               void *ctx) KPID_MUST_USE;
/* The latest event day applied (ERR_NOT_FOUND before any). */
err_t derive_max_day(const derive_t *d, MDB_txn *txn, int32_t *day) KPID_MUST_USE;
/* An invoice's open amount at the end of day as_of (0 before issue). */
err_t derive_invoice_open_at(const derive_t *d, MDB_txn *txn, const char *number, int32_t as_of,
                             int64_t *open) KPID_MUST_USE;

/* The document kind an SLA's items live on (invoices for `billing`...). */
kpi_doc_kind_t derive_sla_kind(const derive_t *d, size_t sla);

/* The item of SLA `sla` in a document's derived state bytes (st, n, as
   docv_decode gives them), as the SLA counters see it: start, stop (stopped
   false while open), the breach day (kpi_sla_breach_day) and whether it
   met its target. ERR_NOT_FOUND when the document has no started item of
   that SLA; ERR_STORE_CORRUPT for damaged state; ERR_NOMEM. */
typedef struct derive_sla_item {
    int64_t start_s, stop_s;
    int32_t start_day, stop_day, breach_day;
    bool stopped, met;
} derive_sla_item_t;
err_t derive_state_sla(const derive_t *d, const uint8_t *st, size_t n, size_t sla,
                       derive_sla_item_t *out) KPID_MUST_USE;

/* ---- provided by the store core for store_kpi.c ----------------------------- */

MDB_txn *store_snap_txn(store_snap_t *snap);
const derive_t *store_snap_derive(store_snap_t *snap);
const derive_t *store_derive_of(const store_t *s);
/* Interned id of a name; ERR_NOT_FOUND when the store never saw it. */
err_t store_name_lookup(store_snap_t *snap, const char *name, uint32_t *id) KPID_MUST_USE;
/* The name of an id (borrowed until the snapshot ends). */
err_t store_name_of(store_snap_t *snap, uint32_t id, const char **name) KPID_MUST_USE;
/* The names of the parties `list` gives under (currency, unit; NULL: every
   unit): store_parties' and store_ap_vendors' one way of asking. */
err_t store_parties_by(store_snap_t *snap, const char *currency, const char *business_unit,
                       derive_parties_fn list, store_name_fn fn, void *ctx) KPID_MUST_USE;
/* true when some event was filed under party `id`. */
bool store_party_known(store_snap_t *snap, uint32_t id);

#endif
