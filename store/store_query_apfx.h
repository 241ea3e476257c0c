/*
 * store_query_apfx.h — consolidated payables: the aging of open bills and
 * the cash requirements over several books (currencies), converted into one
 * reporting currency at the rates of the as-of day (store_query_fx.h for
 * the rates, the staleness rule and the `books` beside the answer).
 *
 * What must stay true (docs/kpi.md, "Consolidated payables"):
 *   - each book's open bills are converted as one total, once, half away
 *     from zero (kpi_fx_cross): the amount consolidated DPO converts as
 *     that book's AP of the day, so the aging's total is DPO's `ap`;
 *   - that converted total is shared among the book's buckets, and again
 *     among its cash-requirement lines, by largest remainder
 *     (kpi_fx_share), so that buckets and lines both add up to it; a group
 *     (unit, vendor) is its share of the book's total, its buckets adding
 *     up to it; a consolidated figure is the sum of the books' shares;
 *   - a book with anything open and no usable rate fails the whole answer
 *     (ERR_NO_RATE, naming the currency and the day); a book with nothing
 *     open needs no rate;
 *   - counts are never converted; the books' own figures are returned
 *     beside the converted ones.
 */
#ifndef KPID_STORE_QUERY_APFX_H
#define KPID_STORE_QUERY_APFX_H

#include "store_query_ap.h"
#include "store_query_fx.h"

typedef struct store_q_ap_aging_fx {
    store_q_ap_aging_t conv; /* every amount in fx.target */
    int64_t target_rate;     /* the reporting currency's rate (10^10 for the base) */
    int32_t target_rate_day;
    bool target_stale;
    /* arena; the books with a bill open, by code: rate and own aging
       (unapplied_cash and unallocated_credits are 0 on this side) */
    store_q_book_t *books;
    size_t n_books;
} store_q_ap_aging_fx_t;

/*
 * store_q_ap_aging over the books of fx (scope->currency is ignored), each
 * converted at its rate for rq->as_of; a key (unit, vendor) in several
 * books is one group, summed after conversion, in key order. ERR_NO_RATE;
 * ERR_OVERFLOW; ERR_NOT_FOUND when no book knows the scope's unit or vendor;
 * ERR_BAD_PARAM for bad edges.
 */
err_t store_q_ap_aging_fx(store_snap_t *snap, const store_scope_t *scope,
                          const store_q_ap_aging_req_t *rq, const store_q_fx_t *fx,
                          kpi_arena_t *arena, store_q_ap_aging_fx_t *out,
                          err_msg_t *msg) KPID_MUST_USE;

typedef struct store_q_ap_cashreq_fx {
    store_q_ap_cashreq_t conv; /* the lines in fx.target; total = the aging's */
    int64_t target_rate;
    int32_t target_rate_day;
    bool target_stale;
    /* arena, n_books each; the books with a bill open, by code: books[i]
       its rate (aging unused), own[i] its lines in its own currency */
    store_q_book_t *books;
    store_q_ap_cashreq_t *own;
    size_t n_books;
} store_q_ap_cashreq_fx_t;

/*
 * store_q_ap_cashreq over the books of fx, each book's lines converted at
 * its rate for as_of (shares of its converted total). Errors as
 * store_q_ap_aging_fx; ERR_BAD_PARAM for weeks out of range.
 */
err_t store_q_ap_cashreq_fx(store_snap_t *snap, const store_scope_t *scope, int32_t as_of,
                            size_t weeks, const store_q_fx_t *fx, kpi_arena_t *arena,
                            store_q_ap_cashreq_fx_t *out, err_msg_t *msg) KPID_MUST_USE;

#endif
