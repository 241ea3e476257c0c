/*
 * store_query.c — KPI answers composed from derived state (store_query.h).
 *
 * Series read cumulative daily flows once for the whole day range (one
 * pass over the scope's daily rows) and difference them per period; SLA
 * and FTQ read their cumulative counters at each period boundary. Aging
 * reads open amounts grouped by basis day: one seek per distinct day.
 * Everything is exact integer arithmetic; kpi/ owns every ratio.
 */
#include "store_query.h"

#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_query_int.h"

const char *const store_q_dso_method_names[] = {"standard", "countback", "best_possible", "add",
                                                NULL};

const store_q_comp_t *store_q_comp(const store_q_point_t *p, const char *name)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->c[i].name, name) == 0)
            return &p->c[i];
    return NULL;
}

static void comp(store_q_point_t *p, const char *name, store_q_comp_kind_t k, int64_t v)
{
    if (p->n < STORE_Q_COMPS_MAX)
        p->c[p->n++] = (store_q_comp_t){name, k, v};
}

/* ---- daily cumulative flows ------------------------------------------------ */

err_t store_q_cum_load(store_snap_t *snap, const store_scope_t *sc, int32_t lo, int32_t hi,
                       kpi_arena_t *arena, store_q_cum_t *c, err_msg_t *m)
{
    if ((int64_t)hi - lo + 2 > STORE_Q_HISTORY_DAYS_MAX)
        return err_set(m, ERR_BAD_PARAM, "the date range spans more than %d days",
                       STORE_Q_HISTORY_DAYS_MAX);
    size_t n = (size_t)(hi - lo + 2);
    int32_t *days = kpi_arena_alloc(arena, n * sizeof *days);
    c->f = kpi_arena_alloc(arena, n * sizeof *c->f);
    if (days == NULL || c->f == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        days[i] = lo - 1 + (int32_t)i;
    c->lo = lo;
    c->hi = hi;
    c->ar = c->ap = c->unapplied = NULL;
    return store_flows_cumulative(snap, sc, days, n, c->f);
}

static const store_flows_t *at(const store_q_cum_t *c, int32_t day)
{
    return &c->f[day - (c->lo - 1)];
}

int64_t store_q_ar_of(const store_flows_t *f)
{
    /* Wraps only beyond int64 totals, which the store refuses to build. */
    return f->sales + f->adjustments - f->cash_applied - f->credit_notes - f->write_offs;
}

int64_t store_q_ap_of(const store_flows_t *f)
{
    return f->purchases - f->bills_paid;
}

int64_t store_q_unapplied_of(const store_flows_t *f)
{
    return f->cash_received - f->cash_applied_out - f->refunds;
}

/* Balances as of a day: derived from the flows of one book, or (a
   consolidated cum) the books' balances converted at that day's rates. */
static int64_t ar_at(const store_q_cum_t *c, int32_t day)
{
    return c->ar != NULL ? c->ar[day - (c->lo - 1)] : store_q_ar_of(at(c, day));
}

static int64_t ap_at(const store_q_cum_t *c, int32_t day)
{
    return c->ap != NULL ? c->ap[day - (c->lo - 1)] : store_q_ap_of(at(c, day));
}

static int64_t unapplied_at(const store_q_cum_t *c, int32_t day)
{
    return c->unapplied != NULL ? c->unapplied[day - (c->lo - 1)]
                                : store_q_unapplied_of(at(c, day));
}

err_t store_q_open_total(store_snap_t *snap, const store_scope_t *sc, int32_t e, kpi_arena_t *arena,
                         int64_t *amount, int64_t *count)
{
    kpi_open_group_t *g;
    size_t n;
    err_t r = store_open_groups(snap, sc, STORE_BASIS_DUE, e, INT32_MIN, arena, &g, &n);
    *amount = 0;
    *count = 0;
    for (size_t i = 0; !r && i < n; i++) {
        *amount += g[i].amount;
        *count += g[i].count;
    }
    return r;
}

/* ---- DSO, CEI, DPO, roll-forward ------------------------------------------- */

/* The countback units ending at `end`, walking back to `lo`, newest first. */
static size_t countback_units(const store_q_cum_t *c, kpi_interval_t iv, int32_t lo, int32_t end,
                              kpi_unit_sales_t *units, size_t max_units)
{
    size_t nu = 0;
    for (int32_t ue = end; ue >= lo && nu < max_units;) {
        int32_t us = kpi_unit_start(iv, ue);
        if (us < lo)
            us = lo;
        units[nu].days = ue - us + 1;
        units[nu].sales = at(c, ue)->sales - at(c, us - 1)->sales;
        nu++;
        ue = us - 1;
    }
    return nu;
}

static err_t flows_point(const store_q_series_req_t *rq, const store_q_cum_t *c, int32_t lo,
                         kpi_unit_sales_t *units, size_t max_units, store_q_point_t *p)
{
    err_t e = ERR_OK;
    int32_t s = p->start, en = p->end;
    const store_flows_t *f0 = at(c, s - 1), *f1 = at(c, en);
    int32_t days = en - s + 1;
    int64_t sales = f1->sales - f0->sales;
    int64_t ar_end = ar_at(c, en);
    switch (rq->what) {
    case STORE_Q_DSO: {
        int64_t cur = 0;
        bool needs_current =
            rq->method == STORE_Q_DSO_BEST_POSSIBLE || rq->method == STORE_Q_DSO_ADD;
        if (needs_current)
            cur = f1->current_ar;
        switch (rq->method) {
        case STORE_Q_DSO_STANDARD: p->value = kpi_dso_standard(ar_end, sales, days); break;
        case STORE_Q_DSO_COUNTBACK:
            p->value = kpi_dso_countback(ar_end, units,
                                         countback_units(c, rq->iv, lo, en, units, max_units));
            break;
        case STORE_Q_DSO_BEST_POSSIBLE: p->value = kpi_dso_best_possible(cur, sales, days); break;
        case STORE_Q_DSO_ADD: p->value = kpi_dso_add(ar_end, cur, sales, days); break;
        }
        comp(p, "ar", STORE_Q_MONEY, ar_end);
        comp(p, "sales", STORE_Q_MONEY, sales);
        comp(p, "days", STORE_Q_INT, days);
        if (needs_current)
            comp(p, "current_ar", STORE_Q_MONEY, cur);
        break;
    }
    case STORE_Q_CEI: {
        int64_t cur = f1->current_ar;
        int64_t ar_start = ar_at(c, s - 1);
        p->value = kpi_cei(ar_start, sales, ar_end, cur);
        comp(p, "ar_start", STORE_Q_MONEY, ar_start);
        comp(p, "sales", STORE_Q_MONEY, sales);
        comp(p, "ar", STORE_Q_MONEY, ar_end);
        comp(p, "current_ar", STORE_Q_MONEY, cur);
        break;
    }
    case STORE_Q_DPO: {
        int64_t purchases = f1->purchases - f0->purchases;
        p->value = kpi_dpo(ap_at(c, en), purchases, days);
        comp(p, "ap", STORE_Q_MONEY, ap_at(c, en));
        comp(p, "purchases", STORE_Q_MONEY, purchases);
        comp(p, "days", STORE_Q_INT, days);
        break;
    }
    case STORE_Q_ROLLFORWARD: {
        kpi_rollforward_t rf = {
            .opening = ar_at(c, s - 1),
            .sales = sales,
            .adjustments = f1->adjustments - f0->adjustments,
            .cash_applied = f1->cash_applied - f0->cash_applied,
            .credit_notes = f1->credit_notes - f0->credit_notes,
            .write_offs = f1->write_offs - f0->write_offs,
        };
        e = kpi_rollforward_close(&rf);
        /* Consolidated: the movements at each day's rate do not add up to
           the closing balance at the closing day's rate; the rest is the
           exchange difference, its own line, so the roll-forward still
           reconciles (docs/kpi.md, "Reporting currency"). */
        bool fx = c->ar != NULL;
        int64_t fx_diff = fx ? ar_at(c, en) - rf.closing : 0;
        if (fx)
            rf.closing = ar_at(c, en);
        /* The open items by the invoices' timelines, a path apart from the
           flows that give the closing balance. */
        int64_t open_amt = f1->open_amount, open_cnt = f1->open_count;
        p->money_value = true;
        p->money = rf.closing;
        comp(p, "opening", STORE_Q_MONEY, rf.opening);
        comp(p, "sales", STORE_Q_MONEY, rf.sales);
        comp(p, "adjustments", STORE_Q_MONEY, rf.adjustments);
        comp(p, "cash_applied", STORE_Q_MONEY, rf.cash_applied);
        comp(p, "credit_notes", STORE_Q_MONEY, rf.credit_notes);
        comp(p, "write_offs", STORE_Q_MONEY, rf.write_offs);
        if (fx)
            comp(p, "fx_difference", STORE_Q_MONEY, fx_diff);
        comp(p, "closing", STORE_Q_MONEY, rf.closing);
        comp(p, "open_items", STORE_Q_MONEY, open_amt);
        comp(p, "open_invoices", STORE_Q_INT, open_cnt);
        comp(p, "difference", STORE_Q_MONEY, rf.closing - open_amt);
        comp(p, "unapplied_cash", STORE_Q_MONEY, unapplied_at(c, en));
        comp(p, "unallocated_credits", STORE_Q_MONEY, f1->unallocated_credits);
        break;
    }
    case STORE_Q_SLA:
    case STORE_Q_FTQ: e = ERR_INTERNAL; break;
    }
    return e;
}

static err_t flows_series(store_snap_t *snap, const store_scope_t *sc,
                          const store_q_series_req_t *rq, kpi_arena_t *arena, store_q_point_t *out,
                          err_msg_t *m)
{
    int32_t lo = rq->periods[0].start, hi = rq->periods[rq->n_periods - 1].end;
    bool countback = rq->what == STORE_Q_DSO && rq->method == STORE_Q_DSO_COUNTBACK;
    err_t e = ERR_OK;
    if (countback) {
        /* Countback walks back through the whole sales history. */
        int32_t first;
        e = store_flows_first_day(snap, sc, &first);
        if (e == ERR_OK && first < lo)
            lo = kpi_unit_start(rq->iv, first);
        else if (e == ERR_NOT_FOUND)
            e = ERR_OK;
    }
    store_q_cum_t c = {0};
    if (!e)
        e = store_q_cum_load(snap, sc, lo, hi, arena, &c, m);
    return e ? e : store_q_points(rq, &c, arena, out, m);
}

err_t store_q_points(const store_q_series_req_t *rq, const store_q_cum_t *c, kpi_arena_t *arena,
                     store_q_point_t *out, err_msg_t *m)
{
    bool countback = rq->what == STORE_Q_DSO && rq->method == STORE_Q_DSO_COUNTBACK;
    kpi_unit_sales_t *units = NULL;
    size_t max_units = (size_t)(c->hi - c->lo) + 2;
    err_t e = ERR_OK;
    if (countback) {
        units = kpi_arena_alloc(arena, max_units * sizeof *units);
        if (units == NULL)
            e = err_set(m, ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; !e && k < rq->n_periods; k++)
        e = flows_point(rq, c, c->lo, units, max_units, &out[k]);
    return e;
}

/* ---- SLA and FTQ ----------------------------------------------------------- */

/* Days for cumulative counters: the day before the first period, then each
   period's end. */
static int32_t *boundary_days(kpi_arena_t *arena, const store_q_series_req_t *rq)
{
    int32_t *d = kpi_arena_alloc(arena, (rq->n_periods + 1) * sizeof *d);
    if (d == NULL)
        return NULL;
    d[0] = rq->periods[0].start - 1;
    for (size_t k = 0; k < rq->n_periods; k++)
        d[k + 1] = rq->periods[k].end;
    return d;
}

static err_t sla_series(store_snap_t *snap, const store_scope_t *sc, const store_q_series_req_t *rq,
                        kpi_arena_t *arena, store_q_point_t *out, err_msg_t *m)
{
    const kpi_sla_def_t *defs;
    if (rq->sla >= store_sla_defs(snap->s, &defs))
        return err_set(m, ERR_BAD_PARAM, "no SLA number %zu", rq->sla);
    int32_t *days = boundary_days(arena, rq);
    store_sla_counts_t *cnt = kpi_arena_alloc(arena, (rq->n_periods + 1) * sizeof *cnt);
    if (days == NULL || cnt == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    err_t e = store_sla_cumulative(snap, rq->sla, sc, days, rq->n_periods + 1, cnt);
    for (size_t k = 0; !e && k < rq->n_periods; k++) {
        store_q_point_t *p = &out[k];
        int64_t completed = cnt[k + 1].completed - cnt[k].completed;
        int64_t met = cnt[k + 1].met - cnt[k].met;
        p->value = kpi_percent(met, completed);
        comp(p, "met", STORE_Q_INT, met);
        comp(p, "completed", STORE_Q_INT, completed);
        comp(p, "breached_open", STORE_Q_INT, cnt[k + 1].breach_from - cnt[k + 1].breach_to);
    }
    return e;
}

static err_t ftq_series(store_snap_t *snap, const store_scope_t *sc, const store_q_series_req_t *rq,
                        kpi_arena_t *arena, store_q_point_t *out, err_msg_t *m)
{
    int32_t *days = boundary_days(arena, rq);
    store_ftq_counts_t *cnt = kpi_arena_alloc(arena, (rq->n_periods + 1) * sizeof *cnt);
    if (days == NULL || cnt == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    err_t e = store_ftq_cumulative(snap, rq->ftq_kind, sc, days, rq->n_periods + 1, cnt);
    for (size_t k = 0; !e && k < rq->n_periods; k++) {
        store_q_point_t *p = &out[k];
        int64_t reviewed = cnt[k + 1].reviewed - cnt[k].reviewed;
        int64_t passed = cnt[k + 1].passed - cnt[k].passed;
        p->value = kpi_percent(passed, reviewed);
        comp(p, "passed", STORE_Q_INT, passed);
        comp(p, "reviewed", STORE_Q_INT, reviewed);
    }
    return e;
}

err_t store_q_series(store_snap_t *snap, const store_scope_t *scope, const store_q_series_req_t *rq,
                     kpi_arena_t *arena, store_q_point_t *out, err_msg_t *msg)
{
    if (rq->n_periods == 0 || rq->n_periods > STORE_Q_PERIODS_MAX)
        return err_set(msg, ERR_BAD_PARAM, "%zu periods, 1 to %d per series", rq->n_periods,
                       STORE_Q_PERIODS_MAX);
    for (size_t k = 0; k < rq->n_periods; k++) {
        memset(&out[k], 0, sizeof out[k]);
        out[k].start = rq->periods[k].start;
        out[k].end = rq->periods[k].end;
    }
    switch (rq->what) {
    case STORE_Q_DSO:
    case STORE_Q_CEI:
    case STORE_Q_DPO:
    case STORE_Q_ROLLFORWARD: return flows_series(snap, scope, rq, arena, out, msg);
    case STORE_Q_SLA: return sla_series(snap, scope, rq, arena, out, msg);
    case STORE_Q_FTQ: return ftq_series(snap, scope, rq, arena, out, msg);
    }
    return err_set(msg, ERR_BAD_PARAM, "unknown series %d", (int)rq->what);
}

/* ---- aging ----------------------------------------------------------------- */

static err_t aging_of(store_snap_t *snap, const store_scope_t *sc, const store_q_aging_req_t *rq,
                      kpi_arena_t *arena, kpi_aging_t *out)
{
    kpi_open_group_t *g;
    size_t n;
    err_t e = kpi_aging_init(out, rq->edges, rq->n_edges);
    if (!e)
        e = store_open_groups(snap, sc, rq->basis, rq->as_of, INT32_MIN, arena, &g, &n);
    if (!e)
        e = kpi_aging_add(out, rq->as_of, g, n);
    return e;
}

static err_t slice_aging(store_snap_t *snap, const store_scope_t *slice, const void *rq,
                         kpi_arena_t *arena, kpi_aging_t *out)
{
    return aging_of(snap, slice, rq, arena, out);
}

err_t store_q_names_add(void *ctx, const char *name)
{
    store_q_names_t *ns = ctx;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 64;
        if (ns->n >= STORE_Q_NAMES_MAX)
            return ERR_TOO_LARGE;
        if (cap > STORE_Q_NAMES_MAX)
            cap = STORE_Q_NAMES_MAX;
        const char **nv = kpi_arena_alloc(ns->arena, cap * sizeof *nv);
        if (nv == NULL)
            return ERR_NOMEM;
        if (ns->n)
            memcpy(nv, ns->v, ns->n * sizeof *nv);
        ns->v = nv;
        ns->cap = cap;
    }
    ns->v[ns->n] = kpi_arena_strndup(ns->arena, name, strlen(name));
    if (ns->v[ns->n] == NULL)
        return ERR_NOMEM;
    ns->n++;
    return ERR_OK;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void store_q_names_sort(store_q_names_t *ns)
{
    if (ns->n > 1)
        qsort(ns->v, ns->n, sizeof *ns->v, name_cmp);
}

static void aging_sum(kpi_aging_t *into, const kpi_aging_t *g)
{
    for (size_t b = 0; b < into->n_buckets; b++) {
        into->buckets[b].amount += g->buckets[b].amount;
        into->buckets[b].count += g->buckets[b].count;
    }
    into->total_amount += g->total_amount;
    into->total_count += g->total_count;
}

err_t store_q_grouped(store_snap_t *snap, const store_scope_t *sc, bool by_unit,
                      const store_q_names_t *ns, store_q_slice_fn of, const void *rq,
                      kpi_arena_t *arena, kpi_aging_t **groups, const char ***keys, size_t *n,
                      kpi_aging_t *sum, err_msg_t *m)
{
    *groups = NULL;
    *keys = ns->v;
    *n = 0;
    if (ns->n == 0)
        return ERR_OK;
    kpi_aging_t *g = kpi_arena_alloc(arena, ns->n * sizeof *g);
    if (g == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    *groups = g;
    err_t e = ERR_OK;
    for (size_t i = 0; !e && i < ns->n; i++) {
        store_scope_t s = *sc;
        /* A scope limited to one unit has that unit as its only group. */
        if (by_unit && sc->business_unit != NULL && strcmp(ns->v[i], sc->business_unit) != 0)
            continue;
        if (by_unit)
            s.business_unit = ns->v[i];
        else
            s.party = ns->v[i];
        kpi_aging_t *ga = &g[*n];
        e = of(snap, &s, rq, arena, ga);
        if (e == ERR_NOT_FOUND) { /* nothing in this slice */
            e = ERR_OK;
            continue;
        }
        if (e)
            break;
        if (sum != NULL)
            aging_sum(sum, ga);
        if (ga->total_count != 0 || ga->total_amount != 0)
            ns->v[(*n)++] = ns->v[i];
    }
    return e;
}

/* ---- every customer's aging from the invoices open now ------------------------------ */

typedef struct now_ctx {
    const store_q_aging_req_t *rq;
    kpi_arena_t *arena;
    store_q_aging_t *out;
    size_t cap;             /* of out->groups and out->keys */
    const char *party;      /* the customer whose rows are gathered */
    kpi_open_group_t *rows; /* its open due days */
    size_t n_rows, rows_cap;
    err_t e;
} now_ctx_t;

static err_t now_close(now_ctx_t *c)
{
    if (c->party == NULL)
        return ERR_OK;
    store_q_aging_t *out = c->out;
    if (out->n_groups == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        kpi_aging_t *g = kpi_arena_alloc(c->arena, cap * sizeof *g);
        const char **k = kpi_arena_alloc(c->arena, cap * sizeof *k);
        if (g == NULL || k == NULL)
            return ERR_NOMEM;
        if (out->n_groups) {
            memcpy(g, out->groups, out->n_groups * sizeof *g);
            memcpy(k, out->keys, out->n_groups * sizeof *k);
        }
        out->groups = g;
        out->keys = k;
        c->cap = cap;
    }
    kpi_aging_t *g = &out->groups[out->n_groups];
    const char *key = kpi_arena_strndup(c->arena, c->party, strlen(c->party));
    if (key == NULL)
        return ERR_NOMEM;
    err_t e = kpi_aging_init(g, c->rq->edges, c->rq->n_edges);
    if (!e)
        e = kpi_aging_add(g, c->rq->as_of, c->rows, c->n_rows);
    if (e)
        return e;
    out->keys[out->n_groups++] = key;
    c->n_rows = 0;
    return ERR_OK;
}

static err_t now_row(void *ctx, const char *customer, int32_t due_day, int64_t amount,
                     int64_t count)
{
    now_ctx_t *c = ctx;
    /* store_open_now_each hands one pointer per customer, in a run. */
    if (c->party != customer) {
        err_t e = now_close(c);
        if (e)
            return e;
        c->party = customer;
    }
    if (c->n_rows == c->rows_cap) {
        size_t cap = c->rows_cap ? c->rows_cap * 2 : 1024;
        kpi_open_group_t *v = kpi_arena_alloc(c->arena, cap * sizeof *v);
        if (v == NULL)
            return ERR_NOMEM;
        if (c->n_rows)
            memcpy(v, c->rows, c->n_rows * sizeof *v);
        c->rows = v;
        c->rows_cap = cap;
    }
    c->rows[c->n_rows++] = (kpi_open_group_t){due_day, amount, count};
    return ERR_OK;
}

static int key_cmp(const void *a, const void *b)
{
    return strcmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

/* group_by=customer by due date as of the latest event day or later: the
   open amounts are the current ones, one pass over d_onow ages every
   customer (store_onow.c). *done false: not that case, or a store whose
   derived state predates d_onow; store_q_aging then walks d_open. */
static err_t aging_now(store_snap_t *snap, const store_scope_t *sc, const store_q_aging_req_t *rq,
                       kpi_arena_t *arena, store_q_aging_t *out, bool *done, err_msg_t *m)
{
    *done = false;
    int32_t latest;
    err_t e = store_latest_day(snap, &latest);
    if (e == ERR_NOT_FOUND || (!e && rq->as_of < latest))
        return ERR_OK;
    now_ctx_t c = {.rq = rq, .arena = arena, .out = out};
    bool available = false;
    if (!e)
        e = store_open_now_each(snap, sc->currency, sc->business_unit, &available, now_row, &c);
    if (!e && available)
        e = now_close(&c);
    if (e == ERR_NOT_FOUND)
        return e; /* an unknown unit, as the walk says */
    if (e)
        return err_set(m, e, "cannot read the open invoices");
    if (!available)
        return ERR_OK;
    /* By name, as the walk lists them, and the scope as their sum (each
       invoice has exactly one customer). */
    size_t n = out->n_groups;
    /* Pointers into keys, sorted by what they point at: the groups are
       copied once, in order. */
    const char ***ord = kpi_arena_alloc(arena, (n ? n : 1) * sizeof *ord);
    kpi_aging_t *g = kpi_arena_alloc(arena, (n ? n : 1) * sizeof *g);
    const char **k = kpi_arena_alloc(arena, (n ? n : 1) * sizeof *k);
    if (ord == NULL || g == NULL || k == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        ord[i] = &out->keys[i];
    qsort(ord, n, sizeof *ord, key_cmp);
    e = kpi_aging_init(&out->all, rq->edges, rq->n_edges);
    for (size_t i = 0; !e && i < n; i++) {
        size_t from = (size_t)(ord[i] - out->keys);
        k[i] = out->keys[from];
        g[i] = out->groups[from];
        aging_sum(&out->all, &g[i]);
    }
    out->groups = g;
    out->keys = k;
    if (e)
        return err_set(m, e, "aging bucket edges");
    *done = true;
    return ERR_OK;
}

/* The aging of the scope and its groups, walking d_open. */
static err_t aging_walk(store_snap_t *snap, const store_scope_t *sc, const store_q_aging_req_t *rq,
                        kpi_arena_t *arena, store_q_aging_t *out, err_msg_t *m)
{
    /* Grouped by unit over the whole book, the total is the sum of the
       groups (each invoice has exactly one unit): no second walk. */
    bool total_from_groups =
        rq->group_by == STORE_Q_GROUP_UNIT && sc->business_unit == NULL && sc->party == NULL;
    err_t e = total_from_groups ? kpi_aging_init(&out->all, rq->edges, rq->n_edges)
                                : aging_of(snap, sc, rq, arena, &out->all);
    store_q_names_t ns = {.arena = arena};
    if (!e && rq->group_by == STORE_Q_GROUP_UNIT)
        e = store_business_units(snap, sc->currency, store_q_names_add, &ns);
    else if (!e && rq->group_by == STORE_Q_GROUP_CUSTOMER)
        e = store_parties(snap, sc->currency, sc->business_unit, store_q_names_add, &ns);
    /* Groups by name, not by first appearance (issue 18). */
    if (!e)
        store_q_names_sort(&ns);
    if (!e)
        e = store_q_grouped(snap, sc, rq->group_by == STORE_Q_GROUP_UNIT, &ns, slice_aging, rq,
                            arena, &out->groups, &out->keys, &out->n_groups,
                            total_from_groups ? &out->all : NULL, m);
    return e;
}

err_t store_q_aging(store_snap_t *snap, const store_scope_t *sc, const store_q_aging_req_t *rq,
                    kpi_arena_t *arena, store_q_aging_t *out, err_msg_t *m)
{
    memset(out, 0, sizeof *out);
    if (kpi_aging_edges_check(rq->edges, rq->n_edges) != ERR_OK)
        return err_set(m, ERR_BAD_PARAM, "aging bucket edges must be 1 to %d increasing days",
                       KPI_BUCKETS_MAX - 2);
    bool done = false;
    err_t e = ERR_OK;
    if (rq->group_by == STORE_Q_GROUP_CUSTOMER && sc->party == NULL &&
        rq->basis == STORE_BASIS_DUE) {
        e = aging_now(snap, sc, rq, arena, out, &done, m);
        if (!e && !done)
            memset(out, 0, sizeof *out);
    }
    if (!e && !done)
        e = aging_walk(snap, sc, rq, arena, out, m);
    store_flows_t f;
    if (!e)
        e = store_flows_cumulative(snap, sc, &rq->as_of, 1, &f);
    if (!e) {
        out->unapplied_cash = f.cash_received - f.cash_applied_out - f.refunds;
        out->unallocated_credits = f.unallocated_credits;
    }
    return e;
}
