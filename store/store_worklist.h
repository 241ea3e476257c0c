/*
 * store_worklist.h — worklists: the items behind a KPI, one row each, sorted
 * and paged (docs/worklists.md).
 *
 * The overdue list is the open invoices of a scope (currency, optionally a
 * business unit and a customer) at least one day past due at the end of day
 * as_of, due-date basis: its rows add up to the overdue part of the aging of
 * the same scope and day (every bucket but `current`), the way the aging's
 * buckets add up to its total. As of the latest event day or later it reads
 * the index of invoices open now; before it, every invoice of each customer
 * is checked at as_of (an invoice open then and paid since is listed).
 *
 * Paging: every row has a unique sort key (the sort's fields, then the
 * invoice number), and a cursor names the last key of a page; the next page
 * starts after it. Events that arrive between two pages insert or remove
 * rows where their keys fall, so a row that stays on the list is listed
 * exactly once. A cursor also carries the sort and the as_of day it was made
 * for. Composed from the store's public reads; it allocates only in the
 * caller's arena (and temporary heap memory freed before returning).
 */
#ifndef KPID_STORE_WORKLIST_H
#define KPID_STORE_WORKLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kpi_arena.h"
#include "store.h"
#include "store_kpi.h"
#include "store_query_fx.h"

#define STORE_WL_LIMIT_DEFAULT 100
#define STORE_WL_LIMIT_MAX 10000
/* Bytes of a cursor token, with its NUL. */
#define STORE_WL_CURSOR_BUF (2 * (48 + 2 * KPI_NAME_MAX) + 1)

typedef enum store_wl_sort {
    STORE_WL_SORT_DAYS = 0,    /* "-days": days past due descending, then invoice */
    STORE_WL_SORT_AMOUNT = 1,  /* "-amount": open amount descending, then invoice */
    STORE_WL_SORT_CUSTOMER = 2 /* "customer": customer, days descending, invoice */
} store_wl_sort_t;

/* "-days", "-amount", "customer", then NULL: indexed by store_wl_sort_t. */
extern const char *const store_wl_sort_names[];

typedef enum store_wl_list {
    STORE_WL_OVERDUE = 0,   /* store_wl_overdue */
    STORE_WL_UNAPPLIED = 1, /* store_wl_unapplied */
    STORE_WL_QUALITY = 2,   /* store_wl_quality */
    STORE_WL_SLA = 3        /* store_wl_sla */
} store_wl_list_t;

/* Where a page starts: after the row with this key (a decoded cursor). */
typedef struct store_wl_pos {
    store_wl_list_t list;
    bool fx; /* made for a consolidated list (rq->fx): its amounts are converted */
    store_wl_sort_t sort;
    int32_t as_of;
    int32_t days;
    int64_t amount;
    char customer[KPI_NAME_MAX + 1];
    char number[KPI_NAME_MAX + 1]; /* the row's document: invoice, payment */
} store_wl_pos_t;

/* Decode a cursor token. ERR_BAD_PARAM (with a message naming `cursor`)
   when it is not one this module made. */
err_t store_wl_cursor_decode(const char *token, store_wl_pos_t *pos, err_msg_t *m) KPID_MUST_USE;
/* Encode pos as a printable token into buf (STORE_WL_CURSOR_BUF bytes). */
void store_wl_cursor_encode(const store_wl_pos_t *pos, char *buf);

typedef struct store_wl_overdue_row {
    const char *invoice;       /* arena */
    const char *customer;      /* arena */
    const char *business_unit; /* arena; "" when none */
    int32_t issue_day, due_day;
    int32_t days_past_due;    /* as_of - due day, >= 1 */
    char currency[4];         /* its book */
    int64_t amount;           /* issued amount, in its book's currency */
    int64_t open;             /* open amount at the end of as_of, in its book's currency */
    int64_t open_reporting;   /* consolidated (rq->fx): open converted into fx->target;
                                 else = open */
    bool disputed;            /* a dispute against it opened by as_of, not resolved by it */
    bool on_hold;             /* its customer is on credit hold (current standing) */
    int32_t last_payment_day; /* the customer's latest payment.received by as_of in
                                 the scope's currency (and unit); INT32_MIN: none */
    int64_t last_payment_amount;
} store_wl_overdue_row_t;

typedef struct store_wl_req {
    int32_t as_of;
    store_wl_sort_t sort;
    const store_wl_pos_t *after; /* NULL: the first page; else of this list, sort and as_of */
    size_t limit;                /* 1 .. STORE_WL_LIMIT_MAX */
    const char *base_currency;   /* what an event without a currency is in */
    /* NULL: one book, scope->currency. Else consolidated (docs/worklists.md):
       the rows of every book (or of fx->only), each with its amount
       converted into fx->target at its book's rate for as_of (store_q_rate,
       kpi_fx_cross: one rounding per row); `-amount` sorts by the converted
       amount and the total is the sum of the rows' converted amounts. A
       book with rows and no usable rate: ERR_NO_RATE naming it and the day.
       Overdue and unapplied lists only. */
    const store_q_fx_t *fx;
} store_wl_req_t;

/* A book of a consolidated list: the rate its rows were converted at, and
   its rows' own figures. */
typedef struct store_wl_book {
    char currency[4];
    int64_t rate;     /* against the base currency (kpi_fx.h units) */
    int32_t rate_day; /* INT32_MIN for the base currency */
    bool stale;
    int64_t count;  /* rows of the whole list in this book */
    int64_t amount; /* their open (unapplied) amounts, in the book's currency */
} store_wl_book_t;

typedef struct store_wl_overdue {
    size_t n;                     /* rows of this page */
    store_wl_overdue_row_t *rows; /* arena */
    int64_t total_count;          /* rows of the whole list (every page) */
    int64_t total_amount;         /* their open amounts: the aging's overdue part
                                     (consolidated: the sum of open_reporting) */
    bool more;                    /* rows follow this page: next holds the cursor */
    char next[STORE_WL_CURSOR_BUF];
    store_wl_book_t *books; /* consolidated only (arena): the books with rows, by code */
    size_t n_books;
} store_wl_overdue_t;

/*
 * One page of the overdue list of `scope` (currency required; unit and
 * party optional). ERR_NOT_FOUND for a unit or customer the store has never
 * seen; ERR_BAD_PARAM (with a message) for a limit out of range or a cursor
 * of another sort; ERR_NOMEM when the arena is full. An empty store gives
 * an empty list.
 */
err_t store_wl_overdue(store_snap_t *snap, const store_scope_t *scope, const store_wl_req_t *rq,
                       kpi_arena_t *arena, store_wl_overdue_t *out, err_msg_t *m) KPID_MUST_USE;

/*
 * The unapplied-cash list: the scope's payments (their own currency, unit
 * and customer) with cash not applied at the end of day as_of = received -
 * applied (each application on its own day, once its invoice has arrived)
 * - refunded, by as_of. Its rows add up to the aging's unapplied_cash for
 * the same scope and day. The age of a row is as_of - its receipt day; the
 * sorts are by age (`-days`), unapplied amount (`-amount`) or customer then
 * age. Reads the scope's events up to as_of (the whole log up to as_of
 * without a unit or customer). Errors as store_wl_overdue's.
 */
typedef struct store_wl_unapplied_row {
    const char *payment;       /* arena */
    const char *customer;      /* arena; "" when none */
    const char *business_unit; /* arena; "" when none */
    int32_t received_day;
    int32_t age_days;            /* as_of - received_day, >= 0 */
    char currency[4];            /* its book */
    int64_t amount;              /* received */
    int64_t unapplied;           /* at the end of as_of */
    int64_t unapplied_reporting; /* consolidated: converted into fx->target; else = unapplied */
} store_wl_unapplied_row_t;

typedef struct store_wl_unapplied {
    size_t n;
    store_wl_unapplied_row_t *rows; /* arena */
    int64_t total_count;
    int64_t total_amount; /* the aging's unapplied_cash (consolidated: sum of the converted) */
    bool more;
    char next[STORE_WL_CURSOR_BUF];
    store_wl_book_t *books; /* consolidated only, as for the overdue list */
    size_t n_books;
} store_wl_unapplied_t;

err_t store_wl_unapplied(store_snap_t *snap, const store_scope_t *scope, const store_wl_req_t *rq,
                         kpi_arena_t *arena, store_wl_unapplied_t *out, err_msg_t *m) KPID_MUST_USE;

/*
 * The quality list: the documents that count in /v1/ftq's `reviewed` for
 * the period [from, to] and not in its `passed` (docs/kpi.md). Invoices
 * whose first review (earliest by time, then event id) falls in the period
 * and failed, or that were ever corrected (adjusted, or a credit note
 * against them); bills whose first bill.processed falls in the period with
 * a rejection or an escalation before it. The number of rows is the FTQ's
 * reviewed - passed for the same unit and period. scope->currency "" =
 * every currency (the FTQ counts documents, whatever their currency);
 * scope->party filters by customer (vendor for bills). Rows are keyed by
 * their review (processed) day, newest first for `-days`, by amount for
 * `-amount`. Reads the scope's events up to `to`. rq->as_of is `to`.
 */
typedef enum store_wl_reason {
    STORE_WL_FAILED_FIRST_REVIEW = 1u << 0, /* invoices */
    STORE_WL_CORRECTED = 1u << 1,           /* invoices */
    STORE_WL_REJECTED = 1u << 2,            /* bills: rejected before processed */
    STORE_WL_ESCALATED = 1u << 3            /* bills: escalated before processed */
} store_wl_reason_t;

/* "failed_first_review", "corrected", "rejected", "escalated": by bit. */
extern const char *const store_wl_reason_names[4];

typedef struct store_wl_quality_row {
    const char *number;        /* arena */
    const char *party;         /* arena; customer or vendor, "" when none */
    const char *business_unit; /* arena */
    char currency[4];
    int32_t day;          /* first review / first processed */
    int64_t amount;       /* issued / received */
    unsigned reasons;     /* store_wl_reason_t bits, at least one */
    uint8_t first_review; /* invoices: kpi_review_result_t */
    uint32_t corrections; /* invoices */
} store_wl_quality_row_t;

typedef struct store_wl_quality {
    size_t n;
    store_wl_quality_row_t *rows; /* arena */
    int64_t total_count;          /* rows of the whole list */
    int64_t reviewed;             /* documents counted in the period (FTQ's reviewed) */
    int64_t by_reason[4];         /* rows with each reason (a row may have several) */
    bool more;
    char next[STORE_WL_CURSOR_BUF];
} store_wl_quality_t;

err_t store_wl_quality(store_snap_t *snap, const store_scope_t *scope, store_ftq_kind_t kind,
                       int32_t from, const store_wl_req_t *rq, kpi_arena_t *arena,
                       store_wl_quality_t *out, err_msg_t *m) KPID_MUST_USE;

/*
 * The SLA list of SLA `sla` (index into store_sla_defs()) for the period
 * [from, rq->as_of]: the items breached and still open at the end of
 * rq->as_of (the breached_open of /v1/sla's last period), and the items
 * completed in the period past their target (/v1/sla's completed - met,
 * summed over the periods), under their document's business unit (and
 * party, when scope->party is set; scope->currency is not used: SLAs count
 * documents). days_late = business days after the target date up to and
 * including the stop day (open items: as_of). `-days` sorts by days late,
 * `customer` by the document's party. Reads the SLA's start events of the
 * scope, then each document's derived SLA item.
 */
typedef struct store_wl_sla_row {
    const char *number;        /* arena: the document */
    const char *party;         /* arena; "" when none */
    const char *business_unit; /* arena */
    bool open;                 /* breached and open at as_of; else completed late */
    int32_t start_day;
    int32_t target_day; /* the last day within target (breach day - 1) */
    int32_t stop_day;   /* INT32_MIN while open */
    int32_t days_late;  /* business days, >= 0 */
} store_wl_sla_row_t;

typedef struct store_wl_sla {
    size_t n;
    store_wl_sla_row_t *rows; /* arena */
    int64_t total_count;
    int64_t breached_open;  /* rows with open */
    int64_t completed_late; /* the others */
    bool more;
    char next[STORE_WL_CURSOR_BUF];
} store_wl_sla_t;

err_t store_wl_sla(store_snap_t *snap, const store_scope_t *scope, size_t sla, int32_t from,
                   const store_wl_req_t *rq, kpi_arena_t *arena, store_wl_sla_t *out,
                   err_msg_t *m) KPID_MUST_USE;

#endif
