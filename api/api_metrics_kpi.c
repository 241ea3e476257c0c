/*
 * api_metrics_kpi.c — the KPI families of GET /metrics (docs/metrics.md).
 *
 * Every number comes from store_query.h inside one snapshot, with the same
 * parameters the JSON API uses for the same window, and is printed the way
 * the API prints it: money as the decimal string of its exact minor units
 * ("1250.00", in the currency's major units as Prometheus wants a float),
 * DSO/DPO as the API's 2-decimal days in seconds (the base unit for time),
 * ratios as the API's percent (2 decimals)
 * divided by 100, i.e. 4 decimals in 0..1. An undefined value (no sales, no
 * items) is left out rather than written as NaN: absent is what PromQL and
 * alert rules handle well, and the components beside it say why.
 *
 * Scopes: the whole book (no business_unit label) and each business unit
 * (business_unit="name"). Money families are per currency; SLA and FTQ
 * count documents and have no currency. With exchange rates in the store,
 * the AR families also have the consolidated series, currency="*" and
 * reporting_currency=<base>: store_q_aging_fx as of today, what
 * /v1/aging?currency=* answers. A scope whose books cannot all be
 * converted (no usable rate) has no consolidated series; the book without
 * one is kpid_fx_missing_rate{currency=...} 1.
 *
 * Windows (label `window`): "previous_month" = the last complete calendar
 * month; "month_to_date" = the first of this month to today, both in the
 * reporting zone — one store_q_series call yields both (adjacent periods).
 *
 * Families must be contiguous in the exposition, but the walk goes scope by
 * scope; so each family collects its samples in its own buffer and the
 * buffers are joined at the end.
 */
#include "api_int.h"

#include <string.h>

#include "api_metrics.h"
#include "kpi_date.h"
#include "kpi_money.h"
#include "store_kpi.h"
#include "store_query.h"
#include "store_query_fx.h"

#define FAMILY_MAX (16u << 20)
#define SCRATCH_CAP (64u << 20) /* one scope's queries (countback over a century fits) */

enum fam {
    F_INFO,
    F_AR_AMOUNT,
    F_AR_COUNT,
    F_UNAPPLIED,
    F_UNALLOCATED,
    F_DSO,
    F_CEI,
    F_DPO,
    F_SLA_RATIO,
    F_SLA_MET,
    F_SLA_COMPLETED,
    F_SLA_BREACHED,
    F_SLA_TARGET,
    F_FTQ_RATIO,
    F_FTQ_PASSED,
    F_FTQ_REVIEWED,
    F_FX_MISSING,
    F_COUNT
};

static const struct {
    const char *name, *help;
} fams[F_COUNT] = {
    [F_INFO] = {"kpid_kpi_info", "Always 1; as_of is the day (reporting zone) the KPI families "
                                 "are computed for, time_zone the reporting zone."},
    [F_AR_AMOUNT] = {"kpid_ar_open_amount",
                     "Open receivables at the end of as_of by aging bucket (due-date basis), in "
                     "major units of the currency; no business_unit label = whole book."},
    [F_AR_COUNT] = {"kpid_ar_open_invoices", "Open invoices at the end of as_of by aging bucket."},
    [F_UNAPPLIED] = {"kpid_ar_unapplied_cash_amount",
                     "Cash received and not applied or refunded by the end of as_of, in major "
                     "units."},
    [F_UNALLOCATED] = {"kpid_ar_unallocated_credits_amount",
                       "Credit notes not against an invoice, by the end of as_of, in major units."},
    [F_DSO] = {"kpid_dso_seconds",
               "Days sales outstanding in seconds (days * 86400) by method (standard, countback, "
               "best_possible, add) for the window; absent when undefined (no sales)."},
    [F_CEI] = {"kpid_cei_ratio", "Collection effectiveness index for the window, as a ratio (the "
                                 "API's percent / 100); absent when undefined."},
    [F_DPO] = {"kpid_dpo_seconds", "Days payable outstanding in seconds (days * 86400) for the "
                                   "window; absent when undefined (no purchases)."},
    [F_SLA_RATIO] = {"kpid_sla_compliance_ratio",
                     "Items of the SLA met / completed in the window, as a ratio; absent when "
                     "nothing completed."},
    [F_SLA_MET] = {"kpid_sla_met_items", "Items of the SLA completed within target in the window."},
    [F_SLA_COMPLETED] = {"kpid_sla_completed_items", "Items of the SLA completed in the window."},
    [F_SLA_BREACHED] = {"kpid_sla_breached_open_items",
                        "Items of the SLA started, not stopped and already past target at the "
                        "end of as_of."},
    [F_SLA_TARGET] = {"kpid_sla_target",
                      "The SLA's per-item target, in the unit named by target_unit (hours, "
                      "business_days or days)."},
    [F_FTQ_RATIO] = {"kpid_ftq_ratio", "First-time quality for the window, as a ratio; absent "
                                       "when nothing was reviewed (processed, for bills)."},
    [F_FTQ_PASSED] = {"kpid_ftq_passed_documents",
                      "Documents of the window that passed first time and were never corrected."},
    [F_FTQ_REVIEWED] = {"kpid_ftq_reviewed_documents",
                        "Invoices first reviewed / bills processed in the window."},
    [F_FX_MISSING] = {"kpid_fx_missing_rate",
                      "1 when the book of this currency has something open as of as_of and no "
                      "usable exchange rate for it, so the consolidated series (currency label *) "
                      "that need it are left out; 0 when it converts. Written only with exchange "
                      "rates in the store."},
};

static const char *const win_names[2] = {"previous_month", "month_to_date"};

typedef struct kw {
    const api_kpi_scrape_t *sc;
    store_snap_t *snap;
    kpi_arena_t *arena;   /* names, for the whole call */
    kpi_arena_t *scratch; /* query results of one scope, reset before each */
    err_msg_t *msg;
    api_buf_t fb[F_COUNT];
    kpi_period_t win[2]; /* previous month, month to date */
    const char **units;  /* every unit seen in any currency (arena), for SLA and FTQ */
    size_t n_units, cap_units;
} kw_t;

/* ---- values ------------------------------------------------------------------ */

/* Days as seconds (Prometheus' base unit for time, which promtool insists
   on): the API's 2-decimal days times 86400, an exact integer because
   0.01 day is 864 s. NULL when undefined. */
static const char *v_days_s(const kpi_ratio_t *r, char *buf)
{
    int64_t v;
    if (r->undef != KPI_UNDEF_NONE || kpi_ratio_round(r, 2, &v) != ERR_OK ||
        kpi_mul_i64(&v, 864) != ERR_OK)
        return NULL;
    return kpi_amount_format(v, 0, buf);
}

/* A percent as the API rounds it (2 decimals), written as a ratio: 95.27 %
   is 9527 at scale 2, printed at scale 4 as 0.9527. NULL when undefined. */
static const char *v_ratio(const kpi_ratio_t *r, char *buf)
{
    int64_t v;
    if (r->undef != KPI_UNDEF_NONE || kpi_ratio_round(r, 2, &v) != ERR_OK)
        return NULL;
    return kpi_amount_format(v, 4, buf);
}

static void sample(kw_t *w, enum fam f, const api_prom_label_t *l, size_t n, const char *value)
{
    if (value != NULL)
        api_prom_sample(&w->fb[f], fams[f].name, l, n, value);
}

static void sample_i64(kw_t *w, enum fam f, const api_prom_label_t *l, size_t n, int64_t v)
{
    char buf[KPI_AMOUNT_BUF];
    sample(w, f, l, n, kpi_amount_format(v, 0, buf));
}

/* A count component of a point (0 if the series lacks it: it never does). */
static int64_t comp_v(const store_q_point_t *p, const char *name)
{
    const store_q_comp_t *c = store_q_comp(p, name);
    return c != NULL ? c->v : 0;
}

/* ---- money families, per currency and scope ------------------------------------------ */

/* Today's aging of scope sc, in the scratch arena. */
static err_t today_aging(kw_t *w, const store_scope_t *sc, store_q_aging_t *ag)
{
    store_q_aging_req_t rq = {.as_of = w->sc->today,
                              .basis = STORE_BASIS_DUE,
                              .edges = w->sc->edges,
                              .n_edges = w->sc->n_edges};
    kpi_arena_reset(w->scratch);
    return store_q_aging(w->snap, sc, &rq, w->scratch, ag, w->msg);
}

static err_t money_scope(kw_t *w, const char *cur, int digits, const char *unit)
{
    store_scope_t sc = {.business_unit = unit};
    memcpy(sc.currency, cur, 4);
    store_q_aging_t ag;
    err_t e = today_aging(w, &sc, &ag);
    if (e)
        return e;
    char buf[KPI_AMOUNT_BUF], lab[32];
    api_prom_label_t l[4] = {{"business_unit", unit}, {"currency", cur}, {"bucket", lab}};
    for (size_t i = 0; i < ag.all.n_buckets; i++) {
        (void)kpi_bucket_label(&ag.all.buckets[i], lab, sizeof lab);
        sample(w, F_AR_AMOUNT, l, 3, kpi_amount_format(ag.all.buckets[i].amount, digits, buf));
        sample_i64(w, F_AR_COUNT, l, 3, ag.all.buckets[i].count);
    }
    sample(w, F_UNAPPLIED, l, 2, kpi_amount_format(ag.unapplied_cash, digits, buf));
    sample(w, F_UNALLOCATED, l, 2, kpi_amount_format(ag.unallocated_credits, digits, buf));

    /* DSO by method, CEI, DPO: both windows per call. */
    store_q_point_t pts[2];
    store_q_series_req_t sr = {.iv = KPI_IV_MONTH, .periods = w->win, .n_periods = 2};
    l[2] = (api_prom_label_t){"method", NULL};
    l[3] = (api_prom_label_t){"window", NULL};
    for (int m = 0; m < 4; m++) {
        sr.what = STORE_Q_DSO;
        sr.method = (store_q_dso_method_t)m;
        e = store_q_series(w->snap, &sc, &sr, w->scratch, pts, w->msg);
        if (e)
            return e;
        l[2].value = store_q_dso_method_names[m];
        for (int k = 0; k < 2; k++) {
            l[3].value = win_names[k];
            sample(w, F_DSO, l, 4, v_days_s(&pts[k].value, buf));
        }
    }
    l[2] = (api_prom_label_t){"window", NULL};
    static const store_q_series_t flows[2] = {STORE_Q_CEI, STORE_Q_DPO};
    for (int f = 0; f < 2; f++) {
        sr.what = flows[f];
        e = store_q_series(w->snap, &sc, &sr, w->scratch, pts, w->msg);
        if (e)
            return e;
        for (int k = 0; k < 2; k++) {
            l[2].value = win_names[k];
            if (f == 0)
                sample(w, F_CEI, l, 3, v_ratio(&pts[k].value, buf));
            else
                sample(w, F_DPO, l, 3, v_days_s(&pts[k].value, buf));
        }
    }
    return ERR_OK;
}

static err_t money_currency(kw_t *w, const char *cur)
{
    int digits;
    if (kpi_currency_digits(cur, &digits) != ERR_OK)
        return err_set(w->msg, ERR_STORE_CORRUPT, "the store holds flows in '%s', not a currency",
                       cur);
    store_q_names_t units = {.arena = w->arena};
    err_t e = store_business_units(w->snap, cur, store_q_names_add, &units);
    if (e)
        return err_set(w->msg, e, "listing business units in %s: %s", cur, err_str(e));
    store_q_names_sort(&units); /* series in the same order for the same events */
    e = money_scope(w, cur, digits, NULL);
    for (size_t i = 0; !e && i < units.n; i++)
        e = money_scope(w, cur, digits, units.v[i]);
    /* Remember the units for SLA and FTQ (which have no currency). */
    for (size_t i = 0; !e && i < units.n; i++) {
        bool seen = false;
        for (size_t j = 0; !seen && j < w->n_units; j++)
            seen = strcmp(w->units[j], units.v[i]) == 0;
        if (!seen) {
            store_q_names_t all = {w->units, w->n_units, w->cap_units, w->arena};
            e = store_q_names_add(&all, units.v[i]);
            w->units = all.v;
            w->n_units = all.n;
            w->cap_units = all.cap;
        }
    }
    return e;
}

typedef struct cur_walk {
    kw_t *w;
    err_t e; /* the first error of money_currency (stops the walk) */
} cur_walk_t;

static err_t currency_cb(void *ctx, const char *cur)
{
    cur_walk_t *cw = ctx;
    cw->e = money_currency(cw->w, cur);
    return cw->e;
}

/* ---- the consolidated AR families (currency="*") ----------------------------------------- */

static err_t stop_at_first_rate(void *ctx, const char *currency, int32_t day, int64_t rate)
{
    (void)currency;
    (void)day;
    (void)rate;
    *(bool *)ctx = true;
    return ERR_TOO_LARGE; /* stops the walk: one rate is enough to know */
}

/* One scope's consolidated aging; a scope that cannot be converted (no
   rate) or has nothing in any book is left out. */
static err_t fx_scope(kw_t *w, const store_q_fx_t *fx, int digits, const char *unit)
{
    store_scope_t sc = {.business_unit = unit};
    store_q_aging_req_t rq = {.as_of = w->sc->today,
                              .basis = STORE_BASIS_DUE,
                              .edges = w->sc->edges,
                              .n_edges = w->sc->n_edges};
    store_q_aging_fx_t ag;
    err_msg_t m = {{0}};
    kpi_arena_reset(w->scratch);
    err_t e = store_q_aging_fx(w->snap, &sc, &rq, fx, w->scratch, &ag, &m);
    if (e == ERR_NO_RATE || e == ERR_NOT_FOUND)
        return ERR_OK;
    if (e)
        return err_set(w->msg, e, "consolidated aging: %s", err_msg_or(&m, e));
    char buf[KPI_AMOUNT_BUF], lab[32];
    api_prom_label_t l[4] = {{"business_unit", unit},
                             {"currency", "*"},
                             {"reporting_currency", fx->target},
                             {"bucket", lab}};
    for (size_t i = 0; i < ag.conv.all.n_buckets; i++) {
        (void)kpi_bucket_label(&ag.conv.all.buckets[i], lab, sizeof lab);
        sample(w, F_AR_AMOUNT, l, 4, kpi_amount_format(ag.conv.all.buckets[i].amount, digits, buf));
        sample_i64(w, F_AR_COUNT, l, 4, ag.conv.all.buckets[i].count);
    }
    sample(w, F_UNAPPLIED, l, 3, kpi_amount_format(ag.conv.unapplied_cash, digits, buf));
    sample(w, F_UNALLOCATED, l, 3, kpi_amount_format(ag.conv.unallocated_credits, digits, buf));
    return ERR_OK;
}

/* Has the book of `cur` anything to convert as of today? */
static err_t book_open(kw_t *w, const char *cur, bool *open)
{
    store_scope_t sc = {0};
    memcpy(sc.currency, cur, 4);
    store_q_aging_t ag;
    err_t e = today_aging(w, &sc, &ag);
    *open = !e && (ag.all.total_amount != 0 || ag.all.total_count != 0 || ag.unapplied_cash != 0 ||
                   ag.unallocated_credits != 0);
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}

/* With rates in the store: kpid_fx_missing_rate for each other book, then
   the consolidated AR series of the whole book and of each unit. */
static err_t money_fx(kw_t *w)
{
    bool any = false;
    err_msg_t m = {{0}};
    err_t e = store_fx_each(w->snap, stop_at_first_rate, &any, &m);
    if (e && !any)
        return err_set(w->msg, e, "reading the exchange rates: %s", err_msg_or(&m, e));
    if (!any)
        return ERR_OK;
    const char *base = store_snap_base_currency(w->snap);
    store_q_fx_t fx = {.stale_days = w->sc->fx_stale_days, .refuse_stale = w->sc->fx_refuse_stale};
    memcpy(fx.target, base, 4);
    int digits;
    if (kpi_currency_digits(base, &digits) != ERR_OK)
        return err_set(w->msg, ERR_STORE_CORRUPT, "the base currency '%s' is not ISO 4217", base);
    store_q_names_t codes = {.arena = w->arena};
    e = store_currencies(w->snap, store_q_names_add, &codes);
    if (e)
        return err_set(w->msg, e, "listing currencies: %s", err_str(e));
    for (size_t i = 0; i < codes.n; i++) {
        if (strcmp(codes.v[i], base) == 0)
            continue;
        int64_t rate;
        int32_t rate_day;
        bool stale, open = false;
        e = store_q_rate(w->snap, &fx, codes.v[i], w->sc->today, &rate, &rate_day, &stale, &m);
        if (e == ERR_NO_RATE)
            e = book_open(w, codes.v[i], &open);
        else if (e)
            return err_set(w->msg, e, "exchange rate of %s: %s", codes.v[i], err_msg_or(&m, e));
        if (e)
            return e;
        api_prom_label_t l = {"currency", codes.v[i]};
        sample(w, F_FX_MISSING, &l, 1, open ? "1" : "0");
    }
    e = fx_scope(w, &fx, digits, NULL);
    for (size_t i = 0; !e && i < w->n_units; i++)
        e = fx_scope(w, &fx, digits, w->units[i]);
    return e;
}

/* ---- SLA and FTQ ----------------------------------------------------------------------- */

static const char *sla_unit_name(kpi_sla_unit_t u)
{
    switch (u) {
    case KPI_SLA_HOURS: return "hours";
    case KPI_SLA_BUSINESS_DAYS: return "business_days";
    case KPI_SLA_CALENDAR_DAYS: return "days";
    }
    return "";
}

static err_t counts_scope(kw_t *w, const char *unit)
{
    kpi_arena_reset(w->scratch);
    store_scope_t sc = {.business_unit = unit};
    store_q_point_t pts[2];
    store_q_series_req_t sr = {
        .what = STORE_Q_SLA, .iv = KPI_IV_MONTH, .periods = w->win, .n_periods = 2};
    const kpi_sla_def_t *defs;
    size_t nd = store_sla_defs(w->sc->store, &defs);
    char buf[KPI_AMOUNT_BUF];
    api_prom_label_t l[3] = {{"sla", NULL}, {"business_unit", unit}, {"window", NULL}};
    for (size_t i = 0; i < nd; i++) {
        sr.sla = i;
        err_t e = store_q_series(w->snap, &sc, &sr, w->scratch, pts, w->msg);
        if (e)
            return e;
        l[0].value = defs[i].name;
        for (int k = 0; k < 2; k++) {
            l[2].value = win_names[k];
            sample(w, F_SLA_RATIO, l, 3, v_ratio(&pts[k].value, buf));
            sample_i64(w, F_SLA_MET, l, 3, comp_v(&pts[k], "met"));
            sample_i64(w, F_SLA_COMPLETED, l, 3, comp_v(&pts[k], "completed"));
        }
        /* Breached-open at the end of the month to date, i.e. of today. */
        sample_i64(w, F_SLA_BREACHED, l, 2, comp_v(&pts[1], "breached_open"));
    }
    static const char *const kinds[2] = {"invoice", "bill"};
    l[0].name = "kind";
    sr.what = STORE_Q_FTQ;
    for (int k = 0; k < 2; k++) {
        sr.ftq_kind = (store_ftq_kind_t)k;
        err_t e = store_q_series(w->snap, &sc, &sr, w->scratch, pts, w->msg);
        if (e)
            return e;
        l[0].value = kinds[k];
        for (int p = 0; p < 2; p++) {
            l[2].value = win_names[p];
            sample(w, F_FTQ_RATIO, l, 3, v_ratio(&pts[p].value, buf));
            sample_i64(w, F_FTQ_PASSED, l, 3, comp_v(&pts[p], "passed"));
            sample_i64(w, F_FTQ_REVIEWED, l, 3, comp_v(&pts[p], "reviewed"));
        }
    }
    return ERR_OK;
}

static void sla_targets(kw_t *w)
{
    const kpi_sla_def_t *defs;
    size_t nd = store_sla_defs(w->sc->store, &defs);
    for (size_t i = 0; i < nd; i++) {
        api_prom_label_t l[2] = {{"sla", defs[i].name},
                                 {"target_unit", sla_unit_name(defs[i].target.unit)}};
        sample_i64(w, F_SLA_TARGET, l, 2, defs[i].target.amount);
    }
}

/* ---- the whole ------------------------------------------------------------------------- */

err_t api_metrics_kpi_write(const api_kpi_scrape_t *sc, kpi_arena_t *arena, api_buf_t *b,
                            err_msg_t *msg)
{
    kw_t w = {.sc = sc, .arena = arena, .msg = msg};
    for (int f = 0; f < F_COUNT; f++) {
        api_buf_init(&w.fb[f], FAMILY_MAX);
        api_prom_family(&w.fb[f], fams[f].name, "gauge", fams[f].help);
    }
    int32_t mtd = kpi_unit_start(KPI_IV_MONTH, sc->today);
    w.win[0] = (kpi_period_t){kpi_unit_start(KPI_IV_MONTH, mtd - 1), mtd - 1};
    w.win[1] = (kpi_period_t){mtd, sc->today};

    char day[KPI_DATE_BUF];
    api_prom_label_t info[2] = {{"as_of", kpi_date_format(sc->today, day)},
                                {"time_zone", sc->tz_name}};
    sample(&w, F_INFO, info, 2, "1");
    sla_targets(&w);

    err_t e = kpi_arena_new(SCRATCH_CAP, &w.scratch);
    if (e) {
        (void)err_set(msg, e, "out of memory");
        goto out;
    }
    e = store_snap_begin(sc->store, &w.snap);
    if (e) {
        (void)err_set(msg, e, "cannot read the store: %s", err_str(e));
        goto out;
    }
    cur_walk_t cw = {&w, ERR_OK};
    e = store_currencies(w.snap, currency_cb, &cw);
    if (e && cw.e == ERR_OK)
        (void)err_set(msg, e, "listing currencies: %s", err_str(e));
    if (!e)
        e = money_fx(&w);
    if (!e)
        e = counts_scope(&w, NULL);
    for (size_t i = 0; !e && i < w.n_units; i++)
        e = counts_scope(&w, w.units[i]);
    if (e && msg != NULL && msg->text[0] == '\0')
        (void)err_set(msg, e, "%s", err_str(e));
    for (int f = 0; !e && f < F_COUNT; f++)
        if (w.fb[f].failed)
            e = err_set(msg, ERR_TOO_LARGE, "metric family %s exceeds %u bytes", fams[f].name,
                        FAMILY_MAX);
    for (int f = 0; !e && f < F_COUNT; f++)
        api_buf_add(b, w.fb[f].data, w.fb[f].len);
out:
    store_snap_end(w.snap);
    kpi_arena_free(w.scratch);
    for (int f = 0; f < F_COUNT; f++)
        api_buf_free(&w.fb[f]);
    return e;
}
