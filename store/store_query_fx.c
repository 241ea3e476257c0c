/*
 * store_query_fx.c — consolidated answers (store_query_fx.h): each book's
 * figures from store_query.c, converted with kpi_fx_cross at the rates of
 * store_fx.c.
 */
#include "store_query_fx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi_date.h"
#include "kpi_fx.h"
#include "kpi_money.h"
#include "store_query_int.h"

#define RATE_ONE 10000000000LL /* 1, in kpi_fx.h's units */

static err_t no_rate(err_msg_t *msg, const char *currency, int32_t day)
{
    char d[KPI_DATE_BUF];
    return err_set(msg, ERR_NO_RATE,
                   "no exchange rate for %s on or before %s: send an fx.rate event for it "
                   "(docs/events.md) or ask for currency=%s alone",
                   currency, kpi_date_format(day, d), currency);
}

/* A rate found for day (from rate_day; INT32_MIN: the base currency's,
   never stale) under fx's staleness rule: *stale, or ERR_NO_RATE when fx
   refuses stale rates. */
static err_t rate_usable(const store_q_fx_t *fx, const char *currency, int32_t day,
                         int32_t rate_day, bool *stale, err_msg_t *msg)
{
    *stale = rate_day != INT32_MIN && fx->stale_days >= 0 && day - rate_day > fx->stale_days;
    if (!*stale || !fx->refuse_stale)
        return ERR_OK;
    char d[KPI_DATE_BUF], rd[KPI_DATE_BUF];
    return err_set(msg, ERR_NO_RATE,
                   "the latest %s rate on or before %s is from %s, %d days older "
                   "(fx_stale_days is %d, fx_stale is \"refuse\")",
                   currency, kpi_date_format(day, d), kpi_date_format(rate_day, rd),
                   (int)(day - rate_day), (int)fx->stale_days);
}

err_t store_q_rate(store_snap_t *snap, const store_q_fx_t *fx, const char *currency, int32_t day,
                   int64_t *rate, int32_t *rate_day, bool *stale, err_msg_t *msg)
{
    *stale = false;
    if (strcmp(currency, store_snap_base_currency(snap)) == 0) {
        *rate = RATE_ONE;
        *rate_day = INT32_MIN;
        return ERR_OK;
    }
    err_t e = store_fx_rate(snap, currency, day, rate, rate_day);
    if (e == ERR_NOT_FOUND)
        return no_rate(msg, currency, day);
    if (e)
        return err_set(msg, e, "cannot read the exchange rates");
    return rate_usable(fx, currency, day, *rate_day, stale, msg);
}

static err_t code_add(void *ctx, const char *code)
{
    store_q_codes_t *c = ctx;
    if (c->n == sizeof c->v / sizeof c->v[0])
        return ERR_TOO_LARGE;
    snprintf(c->v[c->n++], 4, "%s", code);
    return ERR_OK;
}

err_t store_q_fx_codes(store_snap_t *snap, const store_q_fx_t *fx, store_q_codes_t *cs,
                       err_msg_t *msg)
{
    cs->n = 0;
    err_t e = fx->only != NULL ? code_add(cs, fx->only) : store_currencies(snap, code_add, cs);
    if (e == ERR_TOO_LARGE)
        return err_set(msg, ERR_TOO_LARGE, "more than %d currencies in the store",
                       STORE_Q_CODES_MAX);
    return e ? err_set(msg, e, "cannot list the currencies") : ERR_OK;
}

/* A book's aging in the target: each bucket converted once; the total is
   their sum, so the buckets add up. */
static err_t aging_conv(const kpi_aging_t *in, int from_digits, int64_t rate, int to_digits,
                        int64_t rate_to, kpi_aging_t *out)
{
    *out = *in;
    out->total_amount = 0;
    for (size_t b = 0; b < in->n_buckets; b++) {
        err_t e = kpi_fx_cross(in->buckets[b].amount, from_digits, rate, to_digits, rate_to,
                               &out->buckets[b].amount);
        if (!e)
            e = kpi_add_i64(&out->total_amount, out->buckets[b].amount);
        if (e)
            return e;
    }
    return ERR_OK;
}

err_t store_q_aging_sum(kpi_aging_t *into, const kpi_aging_t *g)
{
    for (size_t b = 0; b < into->n_buckets; b++) {
        err_t e = kpi_add_i64(&into->buckets[b].amount, g->buckets[b].amount);
        if (!e)
            e = kpi_add_i64(&into->buckets[b].count, g->buckets[b].count);
        if (e)
            return e;
    }
    err_t e = kpi_add_i64(&into->total_amount, g->total_amount);
    return e ? e : kpi_add_i64(&into->total_count, g->total_count);
}

static int keyed_cmp(const void *a, const void *b)
{
    return strcmp(((const store_q_keyed_t *)a)->key, ((const store_q_keyed_t *)b)->key);
}

err_t store_q_keyed_merge(store_q_keyed_t *groups, size_t n, kpi_arena_t *arena, const char ***keys,
                          kpi_aging_t **out, size_t *n_out, err_msg_t *msg)
{
    *n_out = 0;
    if (n == 0)
        return ERR_OK;
    qsort(groups, n, sizeof *groups, keyed_cmp);
    *keys = kpi_arena_alloc(arena, n * sizeof **keys);
    *out = kpi_arena_alloc(arena, n * sizeof **out);
    if (*keys == NULL || *out == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    for (size_t g = 0; g < n; g++) {
        size_t k = *n_out;
        if (k > 0 && strcmp((*keys)[k - 1], groups[g].key) == 0) {
            if (store_q_aging_sum(&(*out)[k - 1], &groups[g].aging) != ERR_OK)
                return err_set(msg, ERR_OVERFLOW, "a converted group total leaves int64");
            continue;
        }
        (*keys)[k] = groups[g].key;
        (*out)[k] = groups[g].aging;
        (*n_out)++;
    }
    return ERR_OK;
}

static bool book_empty(const store_q_aging_t *a)
{
    return a->all.total_amount == 0 && a->all.total_count == 0 && a->unapplied_cash == 0 &&
           a->unallocated_credits == 0;
}

err_t store_q_aging_fx(store_snap_t *snap, const store_scope_t *scope,
                       const store_q_aging_req_t *rq, const store_q_fx_t *fx, kpi_arena_t *arena,
                       store_q_aging_fx_t *out, err_msg_t *msg)
{
    memset(out, 0, sizeof *out);
    int to_digits;
    if (kpi_currency_digits(fx->target, &to_digits) != ERR_OK)
        return err_set(msg, ERR_BAD_CURRENCY, "'%s' is not an ISO 4217 code", fx->target);
    err_t e = store_q_rate(snap, fx, fx->target, rq->as_of, &out->target_rate,
                           &out->target_rate_day, &out->target_stale, msg);
    if (e)
        return e;
    store_q_codes_t *cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    e = store_q_fx_codes(snap, fx, cs, msg);
    if (!e)
        e = kpi_aging_init(&out->conv.all, rq->edges, rq->n_edges) == ERR_OK
                ? ERR_OK
                : err_set(msg, ERR_BAD_PARAM, "aging bucket edges must be 1 to %d increasing days",
                          KPI_BUCKETS_MAX - 2);
    out->books = e ? NULL : kpi_arena_alloc(arena, (cs->n ? cs->n : 1) * sizeof *out->books);
    if (!e && out->books == NULL)
        e = err_set(msg, ERR_NOMEM, "out of memory");
    store_q_keyed_t *groups = NULL;
    size_t n_groups = 0;
    bool any_seen = false;
    for (size_t i = 0; !e && i < cs->n; i++) {
        store_scope_t sc = *scope;
        memcpy(sc.currency, cs->v[i], 4);
        store_q_aging_t a;
        e = store_q_aging(snap, &sc, rq, arena, &a, msg);
        if (e == ERR_NOT_FOUND) { /* the unit or party has nothing in this book */
            e = ERR_OK;
            continue;
        }
        any_seen = true;
        if (e || book_empty(&a))
            continue;
        store_q_book_t *bk = &out->books[out->n_books];
        memcpy(bk->currency, cs->v[i], 4);
        bk->aging = a.all;
        bk->unapplied_cash = a.unapplied_cash;
        bk->unallocated_credits = a.unallocated_credits;
        e = store_q_rate(snap, fx, bk->currency, rq->as_of, &bk->rate, &bk->rate_day, &bk->stale,
                         msg);
        if (e)
            break;
        out->n_books++;
        int from_digits = 2;
        if (kpi_currency_digits(bk->currency, &from_digits) != ERR_OK) {
            e = err_set(msg, ERR_STORE_CORRUPT, "the store has a book in '%s'", bk->currency);
            break;
        }
        kpi_aging_t conv;
        int64_t x = 0;
        e = aging_conv(&a.all, from_digits, bk->rate, to_digits, out->target_rate, &conv);
        if (!e)
            e = store_q_aging_sum(&out->conv.all, &conv);
        if (!e)
            e = kpi_fx_cross(a.unapplied_cash, from_digits, bk->rate, to_digits, out->target_rate,
                             &x);
        if (!e)
            e = kpi_add_i64(&out->conv.unapplied_cash, x);
        if (!e)
            e = kpi_fx_cross(a.unallocated_credits, from_digits, bk->rate, to_digits,
                             out->target_rate, &x);
        if (!e)
            e = kpi_add_i64(&out->conv.unallocated_credits, x);
        if (!e && a.n_groups > 0) {
            store_q_keyed_t *ng = realloc(groups, (n_groups + a.n_groups) * sizeof *ng);
            if (ng == NULL)
                e = ERR_NOMEM;
            else
                groups = ng;
        }
        for (size_t g = 0; !e && g < a.n_groups; g++) {
            groups[n_groups].key = a.keys[g];
            e = aging_conv(&a.groups[g], from_digits, bk->rate, to_digits, out->target_rate,
                           &groups[n_groups].aging);
            n_groups++;
        }
        if (e == ERR_OVERFLOW)
            e = err_set(msg, ERR_OVERFLOW, "the %s book converted into %s leaves int64",
                        bk->currency, fx->target);
        else if (e == ERR_NOMEM)
            e = err_set(msg, ERR_NOMEM, "out of memory");
    }
    if (!e && !any_seen && cs->n > 0)
        e = err_set(msg, ERR_NOT_FOUND, "nothing in the store matches this scope");
    /* The same key in several books: one group, summed after conversion. */
    if (!e)
        e = store_q_keyed_merge(groups, n_groups, arena, &out->conv.keys, &out->conv.groups,
                                &out->conv.n_groups, msg);
    free(groups);
    free(cs);
    return e;
}

/* ---- series -------------------------------------------------------------- */

/* Fields of store_flows_t that are flows (summed day by day after
   conversion); the others, and the balances, are converted as of a day. */
#define N_FLOW_FIELDS 10
static int64_t *flow_field(store_flows_t *f, int i)
{
    int64_t *v[N_FLOW_FIELDS] = {
        &f->sales,      &f->adjustments,   &f->cash_applied,     &f->credit_notes,
        &f->write_offs, &f->cash_received, &f->cash_applied_out, &f->refunds,
        &f->purchases,  &f->bills_paid};
    return v[i];
}

typedef struct conv {
    int from_digits, to_digits;
    int64_t rate, rate_to;
    bool overflow;
} conv_t;

/* *acc += v converted; overflow is remembered, not returned. */
static void add_conv(conv_t *c, int64_t *acc, int64_t v)
{
    int64_t x = 0;
    if (v == 0)
        return;
    if (kpi_fx_cross(v, c->from_digits, c->rate, c->to_digits, c->rate_to, &x) != ERR_OK ||
        __builtin_add_overflow(*acc, x, acc))
        c->overflow = true;
}

static err_t book_series(store_snap_t *snap, const store_scope_t *scope, const store_q_fx_t *fx,
                         const char *code, int to_digits, const int64_t *rate_to, store_q_cum_t *cv,
                         kpi_arena_t *arena, store_q_book_t *bk, bool *seen, err_msg_t *msg)
{
    store_scope_t sc = *scope;
    memcpy(sc.currency, code, 4);
    store_q_cum_t nc;
    err_t e = store_q_cum_load(snap, &sc, cv->lo, cv->hi, arena, &nc, msg);
    if (e == ERR_NOT_FOUND)
        return ERR_OK;
    if (e)
        return e;
    *seen = true;
    size_t n = (size_t)(cv->hi - cv->lo + 2);
    int64_t *rate = kpi_arena_alloc(arena, n * sizeof *rate);
    int32_t *rday = kpi_arena_alloc(arena, n * sizeof *rday);
    if (rate == NULL || rday == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    bool base = strcmp(code, store_snap_base_currency(snap)) == 0;
    if (base) {
        for (size_t i = 0; i < n; i++) {
            rate[i] = RATE_ONE;
            rday[i] = INT32_MIN;
        }
    } else if ((e = store_fx_rates(snap, code, cv->lo - 1, n, rate, rday)) != ERR_OK) {
        return err_set(msg, e, "cannot read the exchange rates");
    }
    conv_t c = {.to_digits = to_digits};
    if (kpi_currency_digits(code, &c.from_digits) != ERR_OK)
        return err_set(msg, ERR_STORE_CORRUPT, "the store has a book in '%s'", code);
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        const store_flows_t *f = &nc.f[i];
        const store_flows_t *p = i > 0 ? &nc.f[i - 1] : NULL;
        int64_t ar = store_q_ar_of(f), ap = store_q_ap_of(f), un = store_q_unapplied_of(f);
        bool bal = ar != 0 || ap != 0 || un != 0 || f->open_amount != 0 || f->current_ar != 0 ||
                   f->unallocated_credits != 0 || f->open_count != 0;
        /* Day lo-1 only opens the balances; its flows are history before the range. */
        bool moved = p != NULL && memcmp(f, p, sizeof *f) != 0;
        if (!bal && !moved)
            continue;
        int32_t day = cv->lo - 1 + (int32_t)i;
        if (rate[i] == 0 || rate_to[i] == 0)
            return no_rate(msg, rate[i] == 0 ? code : fx->target, day);
        bool stale;
        e = rate_usable(fx, code, day, rday[i], &stale, msg);
        if (e)
            return e;
        c.rate = rate[i];
        c.rate_to = rate_to[i];
        store_flows_t *o = &cv->f[i];
        if (p != NULL) {
            for (int k = 0; k < N_FLOW_FIELDS; k++)
                add_conv(&c, flow_field(o, k),
                         *flow_field((store_flows_t *)f, k) - *flow_field((store_flows_t *)p, k));
            o->invoices += f->invoices - p->invoices;
        }
        add_conv(&c, &cv->ar[i], ar);
        add_conv(&c, &cv->ap[i], ap);
        add_conv(&c, &cv->unapplied[i], un);
        add_conv(&c, &o->open_amount, f->open_amount);
        add_conv(&c, &o->current_ar, f->current_ar);
        add_conv(&c, &o->unallocated_credits, f->unallocated_credits);
        o->open_count += f->open_count;
        if (c.overflow)
            return err_set(msg, ERR_OVERFLOW, "the %s book converted into %s leaves int64", code,
                           fx->target);
        any = true;
        if (i == n - 1) {
            bk->rate = rate[i];
            bk->rate_day = rday[i];
            bk->stale = stale;
        }
    }
    if (any) {
        memcpy(bk->currency, code, 4);
        if (bk->rate == 0) { /* nothing on the last day itself: its rate is still shown */
            bk->rate = rate[n - 1];
            bk->rate_day = rday[n - 1];
        }
    }
    return any ? ERR_OK : ERR_NOT_FOUND; /* NOT_FOUND: nothing to show for this book */
}

err_t store_q_series_fx(store_snap_t *snap, const store_scope_t *scope,
                        const store_q_series_req_t *rq, const store_q_fx_t *fx, kpi_arena_t *arena,
                        store_q_point_t *out, store_q_series_fx_t *info, err_msg_t *msg)
{
    memset(info, 0, sizeof *info);
    if (rq->what != STORE_Q_DSO && rq->what != STORE_Q_CEI && rq->what != STORE_Q_DPO &&
        rq->what != STORE_Q_ROLLFORWARD)
        return err_set(msg, ERR_BAD_PARAM, "SLA and FTQ count every currency: nothing to convert");
    if (rq->n_periods == 0 || rq->n_periods > STORE_Q_PERIODS_MAX)
        return err_set(msg, ERR_BAD_PARAM, "%zu periods, 1 to %d per series", rq->n_periods,
                       STORE_Q_PERIODS_MAX);
    int to_digits;
    if (kpi_currency_digits(fx->target, &to_digits) != ERR_OK)
        return err_set(msg, ERR_BAD_CURRENCY, "'%s' is not an ISO 4217 code", fx->target);
    for (size_t k = 0; k < rq->n_periods; k++) {
        memset(&out[k], 0, sizeof out[k]);
        out[k].start = rq->periods[k].start;
        out[k].end = rq->periods[k].end;
    }
    store_q_codes_t *cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    err_t e = store_q_fx_codes(snap, fx, cs, msg);
    int32_t lo = rq->periods[0].start, hi = rq->periods[rq->n_periods - 1].end;
    /* Countback walks back through the whole sales history of every book. */
    for (size_t i = 0;
         !e && i < cs->n && rq->what == STORE_Q_DSO && rq->method == STORE_Q_DSO_COUNTBACK; i++) {
        store_scope_t sc = *scope;
        memcpy(sc.currency, cs->v[i], 4);
        int32_t first;
        err_t fe = store_flows_first_day(snap, &sc, &first);
        if (fe == ERR_OK && kpi_unit_start(rq->iv, first) < lo)
            lo = kpi_unit_start(rq->iv, first);
        else if (fe != ERR_NOT_FOUND && fe != ERR_OK)
            e = err_set(msg, fe, "cannot read the store");
    }
    store_q_cum_t cv = {.lo = lo, .hi = hi};
    size_t n = (size_t)(hi - lo + 2);
    if (!e && (int64_t)hi - lo + 2 > STORE_Q_HISTORY_DAYS_MAX)
        e = err_set(msg, ERR_BAD_PARAM, "the date range spans more than %d days",
                    STORE_Q_HISTORY_DAYS_MAX);
    int64_t *rate_to = NULL;
    int32_t *rate_to_day = NULL;
    if (!e) {
        cv.f = kpi_arena_alloc(arena, n * sizeof *cv.f);
        cv.ar = kpi_arena_alloc(arena, n * sizeof *cv.ar);
        cv.ap = kpi_arena_alloc(arena, n * sizeof *cv.ap);
        cv.unapplied = kpi_arena_alloc(arena, n * sizeof *cv.unapplied);
        rate_to = kpi_arena_alloc(arena, n * sizeof *rate_to);
        rate_to_day = kpi_arena_alloc(arena, n * sizeof *rate_to_day);
        info->books = kpi_arena_alloc(arena, (cs->n ? cs->n : 1) * sizeof *info->books);
        if (!cv.f || !cv.ar || !cv.ap || !cv.unapplied || !rate_to || !rate_to_day || !info->books)
            e = err_set(msg, ERR_NOMEM, "out of memory");
    }
    if (!e) {
        memset(cv.f, 0, n * sizeof *cv.f);
        memset(cv.ar, 0, n * sizeof *cv.ar);
        memset(cv.ap, 0, n * sizeof *cv.ap);
        memset(cv.unapplied, 0, n * sizeof *cv.unapplied);
        if (strcmp(fx->target, store_snap_base_currency(snap)) == 0) {
            for (size_t i = 0; i < n; i++) {
                rate_to[i] = RATE_ONE;
                rate_to_day[i] = INT32_MIN;
            }
        } else if ((e = store_fx_rates(snap, fx->target, lo - 1, n, rate_to, rate_to_day)) !=
                   ERR_OK) {
            e = err_set(msg, e, "cannot read the exchange rates");
        }
    }
    bool seen = false;
    for (size_t i = 0; !e && i < cs->n; i++) {
        store_q_book_t *bk = &info->books[info->n_books];
        memset(bk, 0, sizeof *bk);
        e = book_series(snap, scope, fx, cs->v[i], to_digits, rate_to, &cv, arena, bk, &seen, msg);
        if (e == ERR_NOT_FOUND) {
            e = ERR_OK;
            continue;
        }
        if (!e)
            info->n_books++;
    }
    free(cs);
    if (!e && !seen)
        return err_set(msg, ERR_NOT_FOUND, "nothing in the store matches this scope");
    /* The converted daily flows, cumulated: differences give any period's. */
    for (size_t i = 1; !e && i < n; i++) {
        for (int k = 0; k < N_FLOW_FIELDS; k++)
            if (__builtin_add_overflow(*flow_field(&cv.f[i], k), *flow_field(&cv.f[i - 1], k),
                                       flow_field(&cv.f[i], k)))
                e = err_set(msg, ERR_OVERFLOW, "a converted flow total leaves int64");
        cv.f[i].invoices += cv.f[i - 1].invoices;
    }
    return e ? e : store_q_points(rq, &cv, arena, out, msg);
}
