/*
 * rpt_data.c — gather a report's figures (rpt_int.h) through the shared
 * query layer, store/store_query.h, in one read snapshot.
 *
 * No KPI is computed here: aging, DSO (four methods), CEI, SLA and FTQ come
 * from store_q_aging / store_q_series exactly as the JSON API gets them.
 * What is done here is selection and ordering: the report period as one
 * period, the monthly trend ending at its last day, and the customers
 * sorted by overdue amount.
 */
#include "rpt_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi_date.h"
#include "kpi_money.h"

static const int32_t default_edges[] = {30, 60, 90, 120};

int32_t rpt_generation_day(const rpt_request_t *rq)
{
    if (rq->tz != NULL)
        return kpi_tz_day(rq->tz, rq->generated_s);
    int64_t s = rq->generated_s;
    return (int32_t)(s / 86400 - (s % 86400 < 0)); /* floor: UTC day */
}

size_t rpt_trend_periods(int32_t from, int32_t to, kpi_period_t *out)
{
    int32_t start = kpi_unit_start(KPI_IV_MONTH, kpi_add_months(to, -(RPT_TREND_MIN - 1)));
    if (from < start) {
        int32_t earliest = kpi_unit_start(KPI_IV_MONTH, kpi_add_months(to, -(RPT_TREND_MAX - 1)));
        start = from > earliest ? from : earliest;
    }
    size_t n = 0;
    if (kpi_periods(start, to, KPI_IV_MONTH, out, RPT_TREND_MAX, &n) != ERR_OK)
        return 0; /* cannot happen: start <= to and at most RPT_TREND_MAX months */
    return n;
}

const char *rpt_fmt_ratio(const kpi_ratio_t *r, char buf[RPT_NUM_BUF])
{
    int64_t v;
    if (r->undef != KPI_UNDEF_NONE) {
        snprintf(buf, RPT_NUM_BUF, "n/a (%s)", kpi_undef_reason(r->undef));
        return buf;
    }
    if (kpi_ratio_round(r, 2, &v) != ERR_OK) {
        snprintf(buf, RPT_NUM_BUF, "n/a (%s)", kpi_undef_reason(KPI_UNDEF_OVERFLOW));
        return buf;
    }
    char tmp[KPI_AMOUNT_BUF];
    snprintf(buf, RPT_NUM_BUF, "%s", kpi_amount_format(v, 2, tmp));
    return buf;
}

const char *rpt_fmt_money(int64_t minor, int digits, char buf[RPT_NUM_BUF])
{
    char tmp[KPI_AMOUNT_BUF];
    const char *s = kpi_amount_format(minor, digits, tmp);
    /* The API's figure with a ',' between groups of three integer digits. */
    size_t o = 0;
    if (*s == '-')
        buf[o++] = *s++;
    size_t int_len = strcspn(s, ".");
    for (size_t i = 0; s[i] != '\0' && o < RPT_NUM_BUF - 1; i++) {
        if (i > 0 && i < int_len && (int_len - i) % 3 == 0)
            buf[o++] = ',';
        if (o < RPT_NUM_BUF - 1)
            buf[o++] = s[i];
    }
    buf[o] = '\0';
    return buf;
}

static int cmp_customer(const void *a, const void *b)
{
    const rpt_customer_t *x = a, *y = b;
    if (x->overdue != y->overdue)
        return x->overdue < y->overdue ? 1 : -1;
    return strcmp(x->name, y->name);
}

/* Customers with something overdue, most overdue first (ties by name). */
static err_t gather_customers(store_snap_t *snap, const store_scope_t *sc,
                              const store_q_aging_req_t *base, kpi_arena_t *arena, rpt_data_t *d,
                              err_msg_t *msg)
{
    store_q_aging_req_t rq = *base;
    rq.group_by = STORE_Q_GROUP_CUSTOMER;
    store_q_aging_t g;
    err_t e = store_q_aging(snap, sc, &rq, arena, &g, msg);
    if (e)
        return e;
    d->customers = kpi_arena_alloc(arena, (g.n_groups ? g.n_groups : 1) * sizeof *d->customers);
    if (d->customers == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory gathering customers");
    for (size_t i = 0; i < g.n_groups; i++) {
        int64_t overdue = g.groups[i].total_amount - g.groups[i].buckets[0].amount;
        if (overdue <= 0)
            continue;
        rpt_customer_t *c = &d->customers[d->n_customers++];
        c->name = g.keys[i];
        /* People know a customer by its name; the id beside it is what
           they search the ERP for. */
        store_profile_t pf;
        c->label = c->name;
        if (store_party_profile(snap, false, c->name, &pf) == ERR_OK) {
            c->label = kpi_arena_strndup(arena, pf.name, strlen(pf.name));
            if (c->label == NULL)
                return err_set(msg, ERR_NOMEM, "out of memory gathering customers");
        }
        c->aging = g.groups[i];
        c->overdue = overdue;
        if (kpi_add_i64(&d->overdue_total, overdue) != ERR_OK)
            return err_set(msg, ERR_OVERFLOW, "overdue total leaves the int64 range");
    }
    qsort(d->customers, d->n_customers, sizeof *d->customers, cmp_customer);
    return ERR_OK;
}

/* One series over `periods` into a fresh arena array. */
static err_t series(store_snap_t *snap, const store_scope_t *sc, store_q_series_req_t rq,
                    const kpi_period_t *periods, size_t n, kpi_arena_t *arena,
                    store_q_point_t **out, err_msg_t *msg)
{
    rq.iv = KPI_IV_MONTH;
    rq.periods = periods;
    rq.n_periods = n;
    *out = kpi_arena_alloc(arena, n * sizeof **out);
    if (*out == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory gathering a series");
    return store_q_series(snap, sc, &rq, arena, *out, msg);
}

/* The same series over the report period (one point) and the trend. */
static err_t both(store_snap_t *snap, const store_scope_t *sc, store_q_series_req_t rq,
                  rpt_data_t *d, kpi_arena_t *arena, store_q_point_t *period,
                  store_q_point_t **trend, err_msg_t *msg)
{
    kpi_period_t whole = {d->from, d->to};
    store_q_point_t *one = NULL;
    err_t e = series(snap, sc, rq, &whole, 1, arena, &one, msg);
    if (!e) {
        *period = *one;
        e = series(snap, sc, rq, d->trend, d->n_trend, arena, trend, msg);
    }
    return e;
}

static err_t gather(store_t *store, store_snap_t *snap, const store_q_aging_req_t *arq,
                    kpi_arena_t *arena, rpt_data_t *d, err_msg_t *msg)
{
    store_scope_t sc = {.business_unit = d->unit};
    memcpy(sc.currency, d->currency, 4);
    err_t e = store_q_aging(snap, &sc, arq, arena, &d->aging, msg);
    if (!e)
        e = gather_customers(snap, &sc, arq, arena, d, msg);
    if (!e && d->unit == NULL) {
        store_q_aging_req_t u = *arq;
        u.group_by = STORE_Q_GROUP_UNIT;
        e = store_q_aging(snap, &sc, &u, arena, &d->by_unit, msg);
    }
    for (int m = 0; !e && m < 4; m++) {
        store_q_series_req_t rq = {.what = STORE_Q_DSO, .method = (store_q_dso_method_t)m};
        e = both(snap, &sc, rq, d, arena, &d->dso[m], &d->t_dso[m], msg);
    }
    if (!e) {
        store_q_series_req_t rq = {.what = STORE_Q_CEI};
        e = both(snap, &sc, rq, d, arena, &d->cei, &d->t_cei, msg);
    }
    for (int k = 0; !e && k < 2; k++) {
        store_q_series_req_t rq = {.what = STORE_Q_FTQ, .ftq_kind = (store_ftq_kind_t)k};
        e = both(snap, &sc, rq, d, arena, &d->ftq[k], &d->t_ftq[k], msg);
    }
    if (!e && d->kind == RPT_XLSX) {
        store_q_series_req_t rq = {.what = STORE_Q_DPO};
        e = both(snap, &sc, rq, d, arena, &d->dpo, &d->t_dpo, msg);
        store_q_series_req_t rf = {.what = STORE_Q_ROLLFORWARD};
        if (!e)
            e = both(snap, &sc, rf, d, arena, &d->roll, &d->t_roll, msg);
    }
    const kpi_sla_def_t *defs = NULL;
    d->n_slas = store_sla_defs(store, &defs);
    if (!e && d->n_slas > 0) {
        d->slas = kpi_arena_alloc(arena, d->n_slas * sizeof *d->slas);
        if (d->slas == NULL)
            e = err_set(msg, ERR_NOMEM, "out of memory gathering SLAs");
    }
    for (size_t i = 0; !e && i < d->n_slas; i++) {
        d->slas[i].def = &defs[i];
        store_q_series_req_t rq = {.what = STORE_Q_SLA, .sla = i};
        e = both(snap, &sc, rq, d, arena, &d->slas[i].period, &d->slas[i].trend, msg);
    }
    return e;
}

err_t rpt_data_gather(store_t *store, const rpt_request_t *rq, kpi_arena_t *arena, rpt_data_t *d,
                      err_msg_t *msg)
{
    if (rq->kind == RPT_STATEMENT) /* one customer, not the book: its own gathering */
        return rpt_stmt_gather(store, rq, arena, d, msg);
    memset(d, 0, sizeof *d);
    if (rpt_kind_name(rq->kind)[0] == '\0')
        return err_set(msg, ERR_BAD_PARAM, "unknown report kind %d", (int)rq->kind);
    if (rq->from_day > rq->to_day)
        return err_set(msg, ERR_BAD_PARAM, "the report period starts after it ends");
    if (rq->business_unit != NULL &&
        (rq->business_unit[0] == '\0' || strlen(rq->business_unit) > KPI_NAME_MAX))
        return err_set(msg, ERR_BAD_PARAM, "business unit must be 1 to %d bytes", KPI_NAME_MAX);
    store_stats_t st;
    err_t e = store_stats(store, &st);
    if (e)
        return err_set(msg, e, "cannot read the store: %s", err_str(e));
    d->kind = rq->kind;
    d->from = rq->from_day;
    d->to = rq->to_day;
    d->period_to = rq->to_day;
    d->generated_s = rq->generated_s;
    /* A period not over when the report is generated is reported to date
       and marked (docs/reports.md): its figures run to the generation day,
       never past it, so a month that started yesterday is not printed as if
       it were a whole month (DSO over a day of sales, CEI of a day). One
       that has not started has nothing to report. */
    int32_t gen_day = rpt_generation_day(rq);
    if (gen_day < rq->from_day) {
        char f[KPI_DATE_BUF], g[KPI_DATE_BUF];
        return err_set(msg, ERR_BAD_PARAM, "the period starts on %s, after today (%s)",
                       kpi_date_format(rq->from_day, f), kpi_date_format(gen_day, g));
    }
    if (gen_day < rq->to_day) {
        d->to = gen_day;
        d->partial = true;
    }
    d->sla_goal_bp = rq->sla_goal_bp > 0 && rq->sla_goal_bp <= 10000 ? rq->sla_goal_bp : 9500;
    snprintf(d->tz, sizeof d->tz, "%s", st.tz);
    if (rq->currency[0] == '\0') {
        memcpy(d->currency, st.base_currency, 4);
    } else {
        memcpy(d->currency, rq->currency, 3);
        d->currency[3] = '\0';
    }
    if (strlen(d->currency) != 3 || kpi_currency_digits(d->currency, &d->digits) != ERR_OK)
        return err_set(msg, ERR_BAD_PARAM, "currency '%s' is not an ISO 4217 code", d->currency);
    if (rq->business_unit != NULL) {
        d->unit = kpi_arena_strndup(arena, rq->business_unit, strlen(rq->business_unit));
        if (d->unit == NULL)
            return err_set(msg, ERR_NOMEM, "out of memory");
    }
    d->trend = kpi_arena_alloc(arena, RPT_TREND_MAX * sizeof *d->trend);
    if (d->trend == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    d->n_trend = rpt_trend_periods(d->from, d->to, d->trend);

    store_q_aging_req_t arq = {.as_of = d->to, .basis = STORE_BASIS_DUE};
    arq.edges = rq->aging_edges != NULL && rq->n_aging_edges > 0 ? rq->aging_edges : default_edges;
    arq.n_edges = rq->aging_edges != NULL && rq->n_aging_edges > 0 ? rq->n_aging_edges : 4;

    store_snap_t *snap = NULL;
    e = store_snap_begin(store, &snap);
    if (e)
        return err_set(msg, e, "cannot read the store: %s", err_str(e));
    e = rq->kind == RPT_PAYABLES ? rpt_payables_gather(snap, &arq, arena, d, msg)
                                 : gather(store, snap, &arq, arena, d, msg);
    store_snap_end(snap);
    const char *what = rq->kind == RPT_PAYABLES ? "bills" : "receivables";
    if (e == ERR_NOT_FOUND && d->unit != NULL)
        return err_set(msg, e, "unknown business unit '%s' (no %s in %s)", d->unit, what,
                       d->currency);
    if (e == ERR_NOT_FOUND)
        return err_set(msg, e, "no %s in %s in this store", what, d->currency);
    return e;
}
