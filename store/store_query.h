/*
 * store_query.h — KPI answers: the store's derived state (store_kpi.h)
 * combined by the pure KPI core (kpi.h) into the figures docs/kpi.md defines.
 *
 * This is the one place the HTTP API, the PDF reports and the Prometheus
 * metrics take their numbers from, so the three always agree. Nothing here
 * formats: amounts stay int64 minor units of the scope's currency, ratios
 * stay exact (kpi_ratio_t) until a renderer rounds them (docs/kpi.md).
 *
 * Every function reads inside the caller's snapshot and allocates only in
 * the caller's arena; results stay valid until the arena is reset or freed
 * (names borrowed from the snapshot are copied into the arena).
 */
#ifndef KPID_STORE_QUERY_H
#define KPID_STORE_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kpi.h"
#include "kpi_arena.h"
#include "store.h"
#include "store_kpi.h"

/* Longest series one call computes, and the widest day range it reads
   (a century and some of daily cumulative rows). */
#define STORE_Q_PERIODS_MAX 1000
#define STORE_Q_HISTORY_DAYS_MAX 40000

/* ---- name lists ---------------------------------------------------------- */

#define STORE_Q_NAMES_MAX 1000000 /* names one list holds (units, customers) */

/* A list of names copied into an arena; start it as {.arena = A}. */
typedef struct store_q_names {
    const char **v; /* arena; n used of cap */
    size_t n, cap;
    kpi_arena_t *arena;
} store_q_names_t;

/* Append a copy of `name` to the list `ctx` (a store_q_names_t): a
   store_name_fn for store_business_units / store_parties. ERR_NOMEM when the
   arena is full, ERR_TOO_LARGE past STORE_Q_NAMES_MAX names. */
err_t store_q_names_add(void *ctx, const char *name) KPID_MUST_USE;

/* Sort the names by their bytes (strcmp). The store lists names in order
   of first appearance, which differs between a store and a re-ingest of
   the same events; every list shown to users is put in this order. */
void store_q_names_sort(store_q_names_t *ns);

/* ---- period series: DSO, CEI, DPO, roll-forward, SLA, FTQ ---------------- */

typedef enum store_q_series {
    STORE_Q_DSO = 0,
    STORE_Q_CEI = 1,
    STORE_Q_DPO = 2,         /* scope.party is a vendor */
    STORE_Q_ROLLFORWARD = 3, /* value is money: point.money */
    STORE_Q_SLA = 4,
    STORE_Q_FTQ = 5
} store_q_series_t;

typedef enum store_q_dso_method {
    STORE_Q_DSO_STANDARD = 0,
    STORE_Q_DSO_COUNTBACK = 1,
    STORE_Q_DSO_BEST_POSSIBLE = 2,
    STORE_Q_DSO_ADD = 3
} store_q_dso_method_t;

/* The names of the methods (docs/kpi.md) ("standard", ...), indexed by method. */
extern const char *const store_q_dso_method_names[];

typedef enum store_q_comp_kind {
    STORE_Q_MONEY = 0, /* minor units of the scope's currency */
    STORE_Q_INT = 1,   /* a count or a number of days */
    STORE_Q_DAY = 2    /* a day; INT32_MIN = none */
} store_q_comp_kind_t;

/* One named input of a point ("ar", "sales", "met", ...: the names docs/kpi.md uses). */
typedef struct store_q_comp {
    const char *name; /* static string */
    store_q_comp_kind_t kind;
    int64_t v;
} store_q_comp_t;

#define STORE_Q_COMPS_MAX 14

typedef struct store_q_point {
    int32_t start, end; /* the period's first and last day */
    bool money_value;   /* the value is an amount (roll-forward closing) */
    int64_t money;      /* valid when money_value */
    kpi_ratio_t value;  /* days (DSO, DPO) or percent (CEI, SLA, FTQ), exact */
    store_q_comp_t c[STORE_Q_COMPS_MAX];
    size_t n; /* components used; every point of a series has the same names */
} store_q_point_t;

/* The component called `name` of p, or NULL. */
const store_q_comp_t *store_q_comp(const store_q_point_t *p, const char *name);

typedef struct store_q_series_req {
    store_q_series_t what;
    store_q_dso_method_t method; /* STORE_Q_DSO only */
    size_t sla;                  /* STORE_Q_SLA: index into store_sla_defs() */
    store_ftq_kind_t ftq_kind;   /* STORE_Q_FTQ only */
    kpi_interval_t iv;           /* the periods' unit (countback walks by it) */
    const kpi_period_t *periods; /* ascending and adjacent, as kpi_periods() makes them */
    size_t n_periods;            /* 1 .. STORE_Q_PERIODS_MAX */
} store_q_series_req_t;

/*
 * out[k] = the point of periods[k], for every k < n_periods (out is the
 * caller's). ERR_NOT_FOUND when the scope names a unit or party the store
 * has never seen; ERR_BAD_PARAM (with a message) for an SLA index out of
 * range or a day range over STORE_Q_HISTORY_DAYS_MAX; ERR_NOMEM when the
 * arena is full.
 */
err_t store_q_series(store_snap_t *snap, const store_scope_t *scope, const store_q_series_req_t *rq,
                     kpi_arena_t *arena, store_q_point_t *out, err_msg_t *msg) KPID_MUST_USE;

/* ---- aging ---------------------------------------------------------------- */

typedef enum store_q_group {
    STORE_Q_GROUP_NONE = 0,
    STORE_Q_GROUP_UNIT = 1,
    STORE_Q_GROUP_CUSTOMER = 2
} store_q_group_t;

typedef struct store_q_aging_req {
    int32_t as_of; /* end of this day in the reporting zone */
    store_basis_t basis;
    const int32_t *edges; /* bucket edges, checked by kpi_aging_edges_check */
    size_t n_edges;
    store_q_group_t group_by;
} store_q_aging_req_t;

typedef struct store_q_aging {
    kpi_aging_t all;             /* the whole scope */
    int64_t unapplied_cash;      /* received - applied - refunded, by as_of */
    int64_t unallocated_credits; /* credit notes not against an invoice, by as_of */
    size_t n_groups;             /* groups with an open amount or an open invoice */
    const char **keys;           /* unit or customer names (arena), in store order */
    kpi_aging_t *groups;         /* the aging of each key (arena) */
} store_q_aging_t;

/*
 * The aging of the scope as of rq->as_of, and of each business unit or
 * customer in it when grouped. Groups with nothing open are left out.
 * ERR_NOT_FOUND for a unit or party never seen; ERR_BAD_PARAM for bad edges.
 */
err_t store_q_aging(store_snap_t *snap, const store_scope_t *scope, const store_q_aging_req_t *rq,
                    kpi_arena_t *arena, store_q_aging_t *out, err_msg_t *msg) KPID_MUST_USE;

/* Sum and count of the scope's open invoices at the end of day `as_of`. */
err_t store_q_open_total(store_snap_t *snap, const store_scope_t *scope, int32_t as_of,
                         kpi_arena_t *arena, int64_t *amount, int64_t *count) KPID_MUST_USE;

#endif
