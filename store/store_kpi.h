/*
 * store_kpi.h — the derived KPI state the store keeps current at ingest, so
 * that no KPI query replays the event log.
 *
 * What is kept (all in minor units of one currency, never mixed):
 *   - daily flows per (currency, business unit | all, customer | all, day):
 *     sales, adjustments, cash applied, credit notes, write-offs (on the
 *     invoice's effective day, under the invoice's unit and customer),
 *     cash received / applied out / refunded and unallocated credits (under
 *     the payment's or credit note's own unit and customer), purchases and
 *     bills paid (under the bill's unit and vendor);
 *   - open amounts by basis day (due day, and issue day) and effective day,
 *     as cumulative values, so aging as of any past day costs one lookup per
 *     distinct basis day;
 *   - SLA counters per (SLA, unit | all, day) and FTQ counters per (kind,
 *     unit | all, day);
 *   - per customer: credit limit, hold, payment-habit accumulators.
 *
 * The effective day of a movement on an invoice is max(movement day, issue
 * day) (docs/kpi.md: a movement dated before its invoice takes effect on the
 * issue date), which keeps aging total = AR = roll-forward closing.
 *
 * Configuration that shapes derived state (business-day calendar, SLA
 * definitions) is fingerprinted in the store; opening with other settings
 * answers ERR_CONFIG asking for `kpid rebuild`.
 */
#ifndef KPID_STORE_KPI_H
#define KPID_STORE_KPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kpi.h"
#include "kpi_arena.h"
#include "store.h"

/* Which slice of the book: one currency, optionally one unit and/or party.
   A unit or party name the store has never seen gives ERR_NOT_FOUND. */
typedef struct store_scope {
    char currency[4];          /* required, ISO 4217 */
    const char *business_unit; /* NULL = every unit */
    const char *party;         /* NULL = every customer (vendor for AP figures) */
} store_scope_t;

/* Totals of a day range. AR(d) = sales + adjustments - cash_applied -
   credit_notes - write_offs, summed over every day <= d. */
typedef struct store_flows {
    int64_t sales;               /* invoice.issued amounts, issue day */
    int64_t invoices;            /* invoices issued (count) */
    int64_t adjustments;         /* invoice.adjusted, signed */
    int64_t cash_applied;        /* payment.applied, invoice side */
    int64_t credit_notes;        /* credit notes against invoices */
    int64_t write_offs;          /* invoice.written_off */
    int64_t cash_received;       /* payment.received, payment side */
    int64_t cash_applied_out;    /* payment.applied on its own day, payment side */
    int64_t refunds;             /* payment.refunded */
    int64_t unallocated_credits; /* credit notes not against an invoice */
    int64_t purchases;           /* bill.received amounts */
    int64_t bills_paid;          /* bill.paid amounts */
    /* Invoices' open amounts as their timelines step (amount, and the count
       of invoices whose open amount is not zero), on the step's day: their
       running sum is the open total and the number of open invoices as of
       any day. Kept apart from the flows above, which sum to the same
       amount by another path (the roll-forward's difference checks it). */
    int64_t open_amount;
    int64_t open_count;
    /* The open amount of invoices not yet due, as steps: a movement of x
       effective on day E of an invoice due on day D (E <= D) adds x on E
       and takes it back on D + 1, so the running sum at day e is the open
       amount of the invoices with due day >= e: the "current" AR. */
    int64_t current_ar;
} store_flows_t;

/*
 * out[i] = flows summed over every day <= days[i], for i < n; days must be
 * ascending (ERR_BAD_PARAM otherwise). One pass over the scope's daily rows:
 * the cost grows with the days of history, not with the number of events.
 */
err_t store_flows_cumulative(store_snap_t *snap, const store_scope_t *scope, const int32_t *days,
                             size_t n, store_flows_t *out) KPID_MUST_USE;

/* First day with any flow in the scope (the start of sales history).
   ERR_NOT_FOUND when the scope has none. */
err_t store_flows_first_day(store_snap_t *snap, const store_scope_t *scope,
                            int32_t *day) KPID_MUST_USE;

typedef enum store_basis {
    STORE_BASIS_DUE = 0,  /* group open amounts by due day */
    STORE_BASIS_ISSUE = 1 /* group open amounts by issue day */
} store_basis_t;

/*
 * Open invoice amounts at the end of day `as_of`, grouped by basis day, for
 * basis days >= min_basis_day (INT32_MIN for all), ascending. Groups with
 * zero amount and zero count are left out. *groups is allocated in `arena`.
 * Costs one seek per distinct basis day of the scope.
 */
err_t store_open_groups(store_snap_t *snap, const store_scope_t *scope, store_basis_t basis,
                        int32_t as_of, int32_t min_basis_day, kpi_arena_t *arena,
                        kpi_open_group_t **groups, size_t *n) KPID_MUST_USE;

/*
 * The invoices open now, per customer and due day, of (currency, unit;
 * NULL: every unit), customers in interned-id order and each one's due
 * days ascending, only days with something open (d_onow, store_onow.c).
 * These are the open amounts as of the latest event day and any later
 * day. *available is false (and fn never called) for a store whose
 * derived state predates them: use store_open_groups. ERR_NOT_FOUND for
 * a unit the store never saw.
 */
typedef err_t (*store_open_now_fn)(void *ctx, const char *customer, int32_t due_day, int64_t amount,
                                   int64_t count);
err_t store_open_now_each(store_snap_t *snap, const char *currency, const char *business_unit,
                          bool *available, store_open_now_fn fn, void *ctx) KPID_MUST_USE;

/* Names, ascending by first appearance: business units with flows in the
   currency; parties with invoices in the currency (and unit, when given). */
typedef err_t (*store_name_fn)(void *ctx, const char *name);
err_t store_business_units(store_snap_t *snap, const char *currency, store_name_fn fn,
                           void *ctx) KPID_MUST_USE;
err_t store_parties(store_snap_t *snap, const char *currency, const char *business_unit,
                    store_name_fn fn, void *ctx) KPID_MUST_USE;

/* The business units a party belongs to: those it has any flow in (an
   invoice, payment, credit note or bill of it has taken effect there), each
   once, ascending by interned id. None for a party the store never saw. */
err_t store_party_units(store_snap_t *snap, const char *party, store_name_fn fn,
                        void *ctx) KPID_MUST_USE;

/* Currencies (ISO 4217 codes, ascending) in which the store has any flow:
   sales, cash, credits or purchases. fn gets a NUL-terminated code. */
err_t store_currencies(store_snap_t *snap, store_name_fn fn, void *ctx) KPID_MUST_USE;

/* ---- exchange rates (fx.rate events; kpi_fx.h) ---------------------------- */

/* The rate of `currency` for `day`: the latest fx.rate dated on or before
   the day (*rate_day says which day that was). ERR_NOT_FOUND when there is
   none; ERR_IO when the store cannot be read. */
err_t store_fx_rate(store_snap_t *snap, const char *currency, int32_t day, int64_t *rate,
                    int32_t *rate_day) KPID_MUST_USE;

/* The rate of `currency` for each of the n days from lo (rate[i] for day
   lo + i, with the day it is from in rate_day[i]): 0 and INT32_MIN where
   there is none yet. One walk over the currency's rows. */
err_t store_fx_rates(store_snap_t *snap, const char *currency, int32_t lo, size_t n, int64_t *rate,
                     int32_t *rate_day) KPID_MUST_USE;

/* The store's base currency: rates convert into it (a 4-byte code). */
const char *store_snap_base_currency(store_snap_t *snap);

/* Every stored rate, ascending by (currency, day). fn's error stops the walk. */
typedef err_t (*store_fx_fn)(void *ctx, const char *currency, int32_t day, int64_t rate);
err_t store_fx_each(store_snap_t *snap, store_fx_fn fn, void *ctx, err_msg_t *msg) KPID_MUST_USE;

/* SLA counters, cumulative to a day (see kpi.h for how they combine):
   completed/met count items by stop day; breached_open(E) =
   breach_from(E) - breach_to(E). */
typedef struct store_sla_counts {
    int64_t completed;
    int64_t met;
    int64_t breach_from; /* items whose breach day <= E */
    int64_t breach_to;   /* stopped items whose max(breach day, stop day) <= E */
} store_sla_counts_t;

/* The SLA definitions the store was opened with (index = position). */
size_t store_sla_defs(const store_t *s, const kpi_sla_def_t **defs);

/* The business-day calendar the store was opened with. */
const kpi_calendar_t *store_calendar(const store_t *s);

/* out[i] = counters summed over days <= days[i] (ascending) for SLA `sla`
   and the scope's business_unit (NULL = all; currency and party unused). */
err_t store_sla_cumulative(store_snap_t *snap, size_t sla, const store_scope_t *scope,
                           const int32_t *days, size_t n, store_sla_counts_t *out) KPID_MUST_USE;

typedef enum store_ftq_kind {
    STORE_FTQ_INVOICE = 0, /* by first-review day: reviewed, passed and never corrected */
    STORE_FTQ_BILL = 1     /* by processed day: processed, clean (no rejection/escalation before) */
} store_ftq_kind_t;

typedef struct store_ftq_counts {
    int64_t reviewed; /* invoices first reviewed / bills processed */
    int64_t passed;   /* ... passed first time and never corrected / clean */
} store_ftq_counts_t;

err_t store_ftq_cumulative(store_snap_t *snap, store_ftq_kind_t kind, const store_scope_t *scope,
                           const int32_t *days, size_t n, store_ftq_counts_t *out) KPID_MUST_USE;

/* A customer's credit standing. `name` is borrowed until store_snap_end(). */
typedef struct store_customer {
    const char *name;
    bool has_limit;
    int64_t credit_limit; /* minor units of limit_currency */
    char limit_currency[4];
    bool on_hold;
    char hold_reason[KPI_TEXT_MAX + 1]; /* "" when not on hold */
    int32_t hold_since;                 /* day; valid when on_hold */
} store_customer_t;

/* ERR_NOT_FOUND when no event ever named this customer. */
err_t store_customer_get(store_snap_t *snap, const char *party,
                         store_customer_t *out) KPID_MUST_USE;

/*
 * A customer's or vendor's profile, from its latest customer.updated or
 * vendor.updated event by (time, id). Strings are borrowed until the
 * snapshot ends; email, country and segment are NULL when the profile
 * does not give them.
 */
typedef struct store_profile {
    const char *name;
    const char *email;
    const char *country;
    const char *segment;
    int64_t time_s;       /* of the event that stands */
    const char *event_id; /* that event's id */
} store_profile_t;

/* The profile of a customer (vendor false) or vendor (true); ERR_NOT_FOUND
   when none was ever sent. */
err_t store_party_profile(store_snap_t *snap, bool vendor, const char *party,
                          store_profile_t *out) KPID_MUST_USE;
/* Every customer's (or vendor's) profile, ascending by interned id. */
typedef err_t (*store_profile_fn)(void *ctx, const char *party, const store_profile_t *p);
err_t store_party_each(store_snap_t *snap, bool vendor, store_profile_fn fn,
                       void *ctx) KPID_MUST_USE;

/* Payment-habit accumulators of the customer's invoices in `currency`
   (zeros when none was paid). */
err_t store_customer_habits(store_snap_t *snap, const char *party, const char *currency,
                            kpi_habits_acc_t *out) KPID_MUST_USE;

/* Every invoice of the customer (open or not), or its disputes, by number. */
typedef err_t (*store_doc_fn)(void *ctx, const store_doc_t *doc, const char *number);
err_t store_customer_invoices(store_snap_t *snap, const char *party, store_doc_fn fn,
                              void *ctx) KPID_MUST_USE;
err_t store_customer_disputes(store_snap_t *snap, const char *party, store_doc_fn fn,
                              void *ctx) KPID_MUST_USE;

/* The customer's invoices that may be open at the end of day as_of: when
   as_of is on or after the latest event day, only those open now (an
   index kept at ingest); before it, every invoice of the customer. The
   caller checks each with store_invoice_open_at. */
err_t store_customer_open_candidates(store_snap_t *snap, const char *party, int32_t as_of,
                                     store_doc_fn fn, void *ctx) KPID_MUST_USE;

/* The latest event day applied (ERR_NOT_FOUND in an empty store): from
   that day on, a document's current state is its state as of the day. */
err_t store_latest_day(store_snap_t *snap, int32_t *day) KPID_MUST_USE;

/* An invoice's open amount at the end of day as_of (0 before it was issued). */
err_t store_invoice_open_at(store_snap_t *snap, const char *number, int32_t as_of,
                            int64_t *open) KPID_MUST_USE;

/*
 * Recompute every document and all derived state from the event log
 * (`kpid rebuild`), in one transaction, with the store's current
 * configuration. progress (may be NULL) is called now and then with events
 * done and total.
 */
err_t store_rebuild(store_t *s, void (*progress)(void *ctx, uint64_t done, uint64_t total),
                    void *ctx, err_msg_t *msg) KPID_MUST_USE;

#endif
