/*
 * store_query_ap.h — payables answers: the aging of open bills by unit or
 * vendor, and the cash requirements (open bills due per week), from the
 * bills' open-amount rows (store_payables.h) combined by the same pure
 * aging as receivables (kpi.h). Definitions: docs/kpi.md, "Payables".
 *
 * Like store_query.h: every function reads inside the caller's snapshot,
 * allocates only in the caller's arena (results valid until it is reset or
 * freed), and formats nothing (amounts are int64 minor units of the
 * scope's currency). The scope's party is a vendor.
 */
#ifndef KPID_STORE_QUERY_AP_H
#define KPID_STORE_QUERY_AP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kpi.h"
#include "kpi_arena.h"
#include "store.h"
#include "store_kpi.h"

typedef enum store_q_ap_group {
    STORE_Q_AP_GROUP_NONE = 0,
    STORE_Q_AP_GROUP_UNIT = 1,
    STORE_Q_AP_GROUP_VENDOR = 2
} store_q_ap_group_t;

typedef struct store_q_ap_aging_req {
    int32_t as_of;        /* end of this day in the reporting zone */
    store_basis_t basis;  /* STORE_BASIS_DUE: due day; STORE_BASIS_ISSUE: receipt day */
    const int32_t *edges; /* bucket edges, checked by kpi_aging_edges_check */
    size_t n_edges;
    store_q_ap_group_t group_by;
} store_q_ap_aging_req_t;

typedef struct store_q_ap_aging {
    kpi_aging_t all;     /* the whole scope; total = DPO's AP at as_of */
    size_t n_groups;     /* groups with an open amount or an open bill */
    const char **keys;   /* unit or vendor names (arena), by name */
    kpi_aging_t *groups; /* the aging of each key (arena) */
} store_q_ap_aging_t;

/*
 * The aging of the scope's open bills as of rq->as_of, and of each unit or
 * vendor in it when grouped (groups with nothing open left out).
 * ERR_NOT_FOUND for a unit the store never saw, or a vendor with no bill
 * in the scope's currency and unit (one answer for both, so that a scoped
 * key cannot tell "elsewhere" from "nowhere"); ERR_BAD_PARAM for bad edges;
 * ERR_NOMEM when the arena is full.
 */
err_t store_q_ap_aging(store_snap_t *snap, const store_scope_t *scope,
                       const store_q_ap_aging_req_t *rq, kpi_arena_t *arena,
                       store_q_ap_aging_t *out, err_msg_t *msg) KPID_MUST_USE;

#define STORE_Q_AP_WEEKS_MAX 104

typedef struct store_q_ap_line {
    int32_t start, end; /* days covered, inclusive (a week: Monday..Sunday) */
    int64_t amount;     /* minor units */
    int64_t count;      /* open bills */
} store_q_ap_line_t;

typedef struct store_q_ap_cashreq {
    int32_t as_of;
    store_q_ap_line_t overdue; /* due before as_of (start INT32_MIN, end as_of - 1) */
    size_t n_weeks;
    /* weeks[0] is as_of's ISO week, from as_of (what was due earlier in it is
       overdue) to its Sunday; then whole weeks */
    store_q_ap_line_t weeks[STORE_Q_AP_WEEKS_MAX];
    store_q_ap_line_t later; /* due after the last week (end INT32_MAX) */
    int64_t total_amount;    /* overdue + weeks + later = the aging's total */
    int64_t total_count;
} store_q_ap_cashreq_t;

/*
 * The scope's bills open at the end of as_of, by due day: overdue, each of
 * `weeks` weeks (1..STORE_Q_AP_WEEKS_MAX, else ERR_BAD_PARAM) and later.
 * Errors as store_q_ap_aging.
 */
err_t store_q_ap_cashreq(store_snap_t *snap, const store_scope_t *scope, int32_t as_of,
                         size_t weeks, kpi_arena_t *arena, store_q_ap_cashreq_t *out,
                         err_msg_t *msg) KPID_MUST_USE;

/* Vendors with bills in (currency, unit; NULL = every unit), in store
   order (ERR_NOT_FOUND for a unit never seen). */
err_t store_ap_vendors(store_snap_t *snap, const char *currency, const char *business_unit,
                       store_name_fn fn, void *ctx) KPID_MUST_USE;

#endif
