/*
 * store_query_ap.c — payables answers (store_query_ap.h): the bills'
 * open-amount rows (store_payables.h) read per basis day, aged by the same
 * kpi_aging_add as receivables, grouped by unit or vendor; and the same
 * groups by due day cut into weeks for the cash requirements.
 */
#include "store_query_ap.h"

#include <stdlib.h>
#include <string.h>

#include "store_derive.h"
#include "store_payables.h"
#include "store_query.h"
#include "store_query_int.h"

/* Scope names to ids. A vendor counts only with a bill in the scope's
   currency and unit: anything else is ERR_NOT_FOUND, whatever the reason. */
static err_t ap_scope(store_snap_t *snap, const store_scope_t *sc, derive_scope_t *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->currency, sc->currency, 3);
    err_t e = ERR_OK;
    if (sc->business_unit != NULL)
        e = store_name_lookup(snap, sc->business_unit, &out->unit);
    if (!e && sc->party != NULL) {
        e = store_name_lookup(snap, sc->party, &out->party);
        bool has = false;
        if (!e)
            e = derive_ap_has(store_snap_derive(snap), store_snap_txn(snap), out, &has);
        if (!e && !has)
            e = ERR_NOT_FOUND;
    }
    return e;
}

static err_t ap_groups(store_snap_t *snap, const store_scope_t *sc, store_basis_t basis,
                       int32_t as_of, kpi_arena_t *arena, kpi_open_group_t **g, size_t *n)
{
    derive_scope_t ds;
    *g = NULL;
    *n = 0;
    err_t e = ap_scope(snap, sc, &ds);
    if (!e && !store_snap_derive(snap)->has_ap)
        e = ERR_STORE_CORRUPT;
    return e ? e
             : derive_steps_groups(store_snap_txn(snap), store_snap_derive(snap)->ap_open, &ds,
                                   basis, as_of, INT32_MIN, arena, g, n);
}

static err_t ap_aging_of(store_snap_t *snap, const store_scope_t *sc,
                         const store_q_ap_aging_req_t *rq, kpi_arena_t *arena, kpi_aging_t *out)
{
    kpi_open_group_t *g;
    size_t n;
    err_t e = kpi_aging_init(out, rq->edges, rq->n_edges);
    if (!e)
        e = ap_groups(snap, sc, rq->basis, rq->as_of, arena, &g, &n);
    if (!e)
        e = kpi_aging_add(out, rq->as_of, g, n);
    return e;
}

static err_t slice_aging(store_snap_t *snap, const store_scope_t *slice, const void *rq,
                         kpi_arena_t *arena, kpi_aging_t *out)
{
    return ap_aging_of(snap, slice, rq, arena, out);
}

err_t store_ap_vendors(store_snap_t *snap, const char *currency, const char *business_unit,
                       store_name_fn fn, void *ctx)
{
    return store_parties_by(snap, currency, business_unit, derive_ap_parties, fn, ctx);
}

err_t store_q_ap_aging(store_snap_t *snap, const store_scope_t *sc,
                       const store_q_ap_aging_req_t *rq, kpi_arena_t *arena,
                       store_q_ap_aging_t *out, err_msg_t *m)
{
    memset(out, 0, sizeof *out);
    if (kpi_aging_edges_check(rq->edges, rq->n_edges) != ERR_OK)
        return err_set(m, ERR_BAD_PARAM, "aging bucket edges must be 1 to %d increasing days",
                       KPI_BUCKETS_MAX - 2);
    err_t e = ap_aging_of(snap, sc, rq, arena, &out->all);
    store_q_names_t ns = {.arena = arena};
    if (!e && rq->group_by == STORE_Q_AP_GROUP_UNIT)
        e = store_business_units(snap, sc->currency, store_q_names_add, &ns);
    else if (!e && rq->group_by == STORE_Q_AP_GROUP_VENDOR)
        e = store_ap_vendors(snap, sc->currency, sc->business_unit, store_q_names_add, &ns);
    if (!e)
        store_q_names_sort(&ns);
    if (!e)
        e = store_q_grouped(snap, sc, rq->group_by == STORE_Q_AP_GROUP_UNIT, &ns, slice_aging, rq,
                            arena, &out->groups, &out->keys, &out->n_groups, NULL, m);
    return e;
}

static bool line_add(store_q_ap_line_t *l, const kpi_open_group_t *g)
{
    return !__builtin_add_overflow(l->amount, g->amount, &l->amount) &&
           !__builtin_add_overflow(l->count, g->count, &l->count);
}

err_t store_q_ap_cashreq_frame(int32_t as_of, size_t weeks, store_q_ap_cashreq_t *out,
                               int32_t *monday_out, err_msg_t *m)
{
    memset(out, 0, sizeof *out);
    if (weeks < 1 || weeks > STORE_Q_AP_WEEKS_MAX)
        return err_set(m, ERR_BAD_PARAM, "%zu weeks: 1 to %d", weeks, STORE_Q_AP_WEEKS_MAX);
    /* Far enough from the ends of int32 that every week's days exist. */
    if (as_of < INT32_MIN / 2 || as_of > INT32_MAX / 2)
        return err_set(m, ERR_BAD_PARAM, "as_of out of range");
    out->as_of = as_of;
    /* Day 0 (1970-01-01) was a Thursday: (day + 3) mod 7 is 0 on Mondays. */
    int32_t monday = as_of - (int32_t)(((int64_t)as_of + 3) % 7 + 7) % 7;
    out->overdue = (store_q_ap_line_t){INT32_MIN, as_of - 1, 0, 0};
    out->n_weeks = weeks;
    for (size_t k = 0; k < weeks; k++) {
        int32_t start = monday + 7 * (int32_t)k;
        out->weeks[k] = (store_q_ap_line_t){k == 0 ? as_of : start, start + 6, 0, 0};
    }
    out->later = (store_q_ap_line_t){out->weeks[weeks - 1].end + 1, INT32_MAX, 0, 0};
    *monday_out = monday;
    return ERR_OK;
}

err_t store_q_ap_cashreq(store_snap_t *snap, const store_scope_t *sc, int32_t as_of, size_t weeks,
                         kpi_arena_t *arena, store_q_ap_cashreq_t *out, err_msg_t *m)
{
    int32_t monday;
    err_t fe = store_q_ap_cashreq_frame(as_of, weeks, out, &monday, m);
    if (fe)
        return fe;
    kpi_open_group_t *g;
    size_t n;
    err_t e = ap_groups(snap, sc, STORE_BASIS_DUE, as_of, arena, &g, &n);
    if (e)
        return e;
    bool ok = true;
    for (size_t i = 0; i < n && ok; i++) {
        store_q_ap_line_t *l;
        if (g[i].basis_day < as_of)
            l = &out->overdue;
        else if (g[i].basis_day > out->weeks[weeks - 1].end)
            l = &out->later;
        else
            l = &out->weeks[(g[i].basis_day - monday) / 7];
        ok = line_add(l, &g[i]) &&
             !__builtin_add_overflow(out->total_amount, g[i].amount, &out->total_amount) &&
             !__builtin_add_overflow(out->total_count, g[i].count, &out->total_count);
    }
    return ok ? ERR_OK : err_set(m, ERR_OVERFLOW, "cash requirements: a sum leaves int64");
}
