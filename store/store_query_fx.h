/*
 * store_query_fx.h — KPI answers over several books (currencies), converted
 * into one reporting currency with the exchange rates of the fx.rate events
 * (store_kpi.h: store_fx_rate; kpi_fx.h: the conversion rule).
 *
 * What must stay true (docs/kpi.md, "Reporting currency"):
 *   - a balance as of day D uses each book's rate for D: the latest fx.rate
 *     dated on or before D, so a rate that arrives later changes an as-of
 *     answer only from its own day on;
 *   - every amount of a book is converted and rounded once (kpi_fx_cross);
 *     a consolidated total is the sum of those rounded amounts, so the
 *     buckets always add up to the total;
 *   - a book that has something to convert and no usable rate fails the
 *     whole answer (ERR_NO_RATE, naming the currency and the day): never a
 *     total that silently leaves a book out;
 *   - the books' own amounts are returned beside the converted ones.
 */
#ifndef KPID_STORE_QUERY_FX_H
#define KPID_STORE_QUERY_FX_H

#include "store_query.h"

typedef struct store_q_fx {
    char target[4];     /* the reporting currency */
    const char *only;   /* one book (currency code), or NULL: every book */
    int32_t stale_days; /* a rate older than this many days is stale; < 0: never */
    bool refuse_stale;  /* stale: ERR_NO_RATE (else used, and marked) */
} store_q_fx_t;

/* One book's rate for the day, and its own figures. */
typedef struct store_q_book {
    char currency[4];
    int64_t rate;     /* against the base currency, 10^-10 units (kpi_fx.h) */
    int32_t rate_day; /* the day of that rate; INT32_MIN for the base currency */
    bool stale;
    kpi_aging_t aging; /* in the book's currency */
    int64_t unapplied_cash, unallocated_credits;
} store_q_book_t;

typedef struct store_q_aging_fx {
    store_q_aging_t conv; /* every figure converted into fx.target */
    int64_t target_rate;  /* the reporting currency's rate (10^10 for the base) */
    int32_t target_rate_day;
    bool target_stale;
    store_q_book_t *books; /* arena; the books with anything open or unapplied, by code */
    size_t n_books;
} store_q_aging_fx_t;

/*
 * The rate of `currency` for `day` under fx's staleness rule: 10^10 and
 * INT32_MIN for the base currency. ERR_NO_RATE (with a message naming the
 * currency and the day) when there is none, or only a stale one and fx
 * refuses those.
 */
err_t store_q_rate(store_snap_t *snap, const store_q_fx_t *fx, const char *currency, int32_t day,
                   int64_t *rate, int32_t *rate_day, bool *stale, err_msg_t *msg) KPID_MUST_USE;

/*
 * store_q_aging over the books of fx (scope->currency is ignored), each
 * converted at its rate for rq->as_of; groups of the same key in several
 * books are summed after conversion, ordered by key. ERR_NO_RATE as above;
 * ERR_OVERFLOW when a converted sum leaves int64; ERR_NOT_FOUND for a unit
 * or party the store never saw.
 */
err_t store_q_aging_fx(store_snap_t *snap, const store_scope_t *scope,
                       const store_q_aging_req_t *rq, const store_q_fx_t *fx, kpi_arena_t *arena,
                       store_q_aging_fx_t *out, err_msg_t *msg) KPID_MUST_USE;

/* The rates behind a consolidated series, per book: the rate of its last
   day (what a reader compares with the aging of that day). */
typedef struct store_q_series_fx {
    store_q_book_t *books; /* arena; only currency, rate, rate_day, stale are set */
    size_t n_books;
} store_q_series_fx_t;

/*
 * A DSO, CEI, DPO or roll-forward series over the books of fx, in fx's
 * target: the flows of each day (sales, collections, credits, purchases)
 * converted at that day's rate, the balances (AR, AP, current AR, open
 * items, unapplied cash) at the rate of the day they are of, then the same
 * formulas as one book's (store_q_series). The roll-forward gains an
 * `fx_difference` line (closing at the closing rate less the opening and
 * the movements at theirs), so that it still reconciles. A day of a book
 * with anything to convert and no rate: ERR_NO_RATE naming currency and
 * day. ERR_BAD_PARAM for SLA or FTQ (they count every currency).
 */
err_t store_q_series_fx(store_snap_t *snap, const store_scope_t *scope,
                        const store_q_series_req_t *rq, const store_q_fx_t *fx, kpi_arena_t *arena,
                        store_q_point_t *out, store_q_series_fx_t *info,
                        err_msg_t *msg) KPID_MUST_USE;

#endif
