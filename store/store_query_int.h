/*
 * store_query_int.h — what store_query.c shares with store_query_fx.c
 * (internal to store/): the daily cumulative flows a series is computed
 * from, and the computation itself, so that a consolidated series is the
 * same formulas over converted flows; and what store_query_fx.c shares with
 * store_query_apfx.c (the books of a consolidated answer, and merging the
 * same key's groups of several books).
 */
#ifndef KPID_STORE_QUERY_INT_H
#define KPID_STORE_QUERY_INT_H

#include "store_query.h"
#include "store_query_ap.h"
#include "store_query_fx.h"

/*
 * Cumulative flows for every day lo-1 .. hi (f[day - (lo - 1)]). For one
 * book the balances (AR, AP, unapplied cash) follow from the flows and ar,
 * ap, unapplied are NULL. A consolidated cum (store_query_fx.c) holds the
 * flows converted day by day at each day's rate, and beside them the
 * balances converted at each day's own rate, which the flows do not add up
 * to (the exchange difference); its open_amount, open_count, current_ar
 * and unallocated_credits fields are such balances too.
 */
typedef struct store_q_cum {
    int32_t lo, hi;
    store_flows_t *f;
    int64_t *ar, *ap, *unapplied; /* NULL: derived from f */
} store_q_cum_t;

/* One book's cumulative flows over lo-1 .. hi, in arena. */
err_t store_q_cum_load(store_snap_t *snap, const store_scope_t *sc, int32_t lo, int32_t hi,
                       kpi_arena_t *arena, store_q_cum_t *c, err_msg_t *m) KPID_MUST_USE;

/* The points of a DSO, CEI, DPO or roll-forward series from c (c->lo is
   the first day countback may reach). */
err_t store_q_points(const store_q_series_req_t *rq, const store_q_cum_t *c, kpi_arena_t *arena,
                     store_q_point_t *out, err_msg_t *m) KPID_MUST_USE;

/*
 * The groups of a grouped aging: one slice of sc per name of ns (a unit's
 * when by_unit, a party's otherwise), aged by `of` (ERR_NOT_FOUND: nothing
 * in that slice, left out), slices with nothing open left out too, in the
 * order of ns. With sc limited to a unit, grouped by unit, that unit is the
 * only group. sum (may be NULL) gets each group added to it. *groups and
 * *keys are in arena (keys are ns's names).
 */
typedef err_t (*store_q_slice_fn)(store_snap_t *snap, const store_scope_t *slice, const void *rq,
                                  kpi_arena_t *arena, kpi_aging_t *out);
err_t store_q_grouped(store_snap_t *snap, const store_scope_t *sc, bool by_unit,
                      const store_q_names_t *ns, store_q_slice_fn of, const void *rq,
                      kpi_arena_t *arena, kpi_aging_t **groups, const char ***keys, size_t *n,
                      kpi_aging_t *sum, err_msg_t *m) KPID_MUST_USE;

/* A book's balances from its cumulative flows. */
int64_t store_q_ar_of(const store_flows_t *f);
int64_t store_q_ap_of(const store_flows_t *f);
int64_t store_q_unapplied_of(const store_flows_t *f);

/* The books a consolidated answer reads: fx->only, or every currency of
   the store, by code. */
#define STORE_Q_CODES_MAX 64
typedef struct store_q_codes {
    char v[STORE_Q_CODES_MAX][4];
    size_t n;
} store_q_codes_t;
err_t store_q_fx_codes(store_snap_t *snap, const store_q_fx_t *fx, store_q_codes_t *cs,
                       err_msg_t *msg) KPID_MUST_USE;

/* *into += g, bucket by bucket and in total (amounts and counts);
   ERR_OVERFLOW when a sum leaves int64. */
err_t store_q_aging_sum(kpi_aging_t *into, const kpi_aging_t *g) KPID_MUST_USE;

/* One book's converted group. */
typedef struct store_q_keyed {
    const char *key;
    kpi_aging_t aging;
} store_q_keyed_t;

/* The groups of several books (groups is sorted in place): one per key, in
   key order, the same key's agings summed; *keys and *out in arena. */
err_t store_q_keyed_merge(store_q_keyed_t *groups, size_t n, kpi_arena_t *arena, const char ***keys,
                          kpi_aging_t **out, size_t *n_out, err_msg_t *msg) KPID_MUST_USE;

/* The lines of cash requirements as of as_of over `weeks` weeks, amounts
   0 (ERR_BAD_PARAM for weeks outside 1..STORE_Q_AP_WEEKS_MAX or a day too
   near the ends of int32); the Monday of as_of's week in *monday. */
err_t store_q_ap_cashreq_frame(int32_t as_of, size_t weeks, store_q_ap_cashreq_t *out,
                               int32_t *monday, err_msg_t *m) KPID_MUST_USE;

#endif
