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

#define RATE_ONE 10000000000LL /* 1, in kpi_fx.h's units */

err_t store_q_rate(store_snap_t *snap, const store_q_fx_t *fx, const char *currency, int32_t day,
                   int64_t *rate, int32_t *rate_day, bool *stale, err_msg_t *msg)
{
    *stale = false;
    if (strcmp(currency, store_snap_base_currency(snap)) == 0) {
        *rate = RATE_ONE;
        *rate_day = INT32_MIN;
        return ERR_OK;
    }
    char d[KPI_DATE_BUF], rd[KPI_DATE_BUF];
    err_t e = store_fx_rate(snap, currency, day, rate, rate_day);
    if (e == ERR_NOT_FOUND)
        return err_set(msg, ERR_NO_RATE,
                       "no exchange rate for %s on or before %s: send an fx.rate event for it "
                       "(docs/events.md) or ask for currency=%s alone",
                       currency, kpi_date_format(day, d), currency);
    if (e)
        return err_set(msg, e, "cannot read the exchange rates");
    if (fx->stale_days >= 0 && day - *rate_day > fx->stale_days) {
        *stale = true;
        if (fx->refuse_stale)
            return err_set(msg, ERR_NO_RATE,
                           "the latest %s rate on or before %s is from %s, %d days older "
                           "(fx_stale_days is %d, fx_stale is \"refuse\")",
                           currency, kpi_date_format(day, d), kpi_date_format(*rate_day, rd),
                           (int)(day - *rate_day), (int)fx->stale_days);
    }
    return ERR_OK;
}

typedef struct codes {
    char v[64][4];
    size_t n;
} codes_t;

static err_t code_add(void *ctx, const char *code)
{
    codes_t *c = ctx;
    if (c->n == sizeof c->v / sizeof c->v[0])
        return ERR_TOO_LARGE;
    snprintf(c->v[c->n++], 4, "%s", code);
    return ERR_OK;
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

static err_t aging_add(kpi_aging_t *into, const kpi_aging_t *g)
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

typedef struct keyed {
    const char *key;
    kpi_aging_t aging;
} keyed_t;

static int keyed_cmp(const void *a, const void *b)
{
    return strcmp(((const keyed_t *)a)->key, ((const keyed_t *)b)->key);
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
    codes_t *cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    e = fx->only != NULL ? code_add(cs, fx->only) : store_currencies(snap, code_add, cs);
    if (e == ERR_TOO_LARGE)
        e = err_set(msg, ERR_TOO_LARGE, "more than 64 currencies in the store");
    else if (e)
        e = err_set(msg, e, "cannot list the currencies");
    if (!e)
        e = kpi_aging_init(&out->conv.all, rq->edges, rq->n_edges) == ERR_OK
                ? ERR_OK
                : err_set(msg, ERR_BAD_PARAM, "aging bucket edges must be 1 to %d increasing days",
                          KPI_BUCKETS_MAX - 2);
    out->books = e ? NULL : kpi_arena_alloc(arena, (cs->n ? cs->n : 1) * sizeof *out->books);
    if (!e && out->books == NULL)
        e = err_set(msg, ERR_NOMEM, "out of memory");
    keyed_t *groups = NULL;
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
            e = aging_add(&out->conv.all, &conv);
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
            keyed_t *ng = realloc(groups, (n_groups + a.n_groups) * sizeof *ng);
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
    if (!e && n_groups > 0) {
        qsort(groups, n_groups, sizeof *groups, keyed_cmp);
        out->conv.keys = kpi_arena_alloc(arena, n_groups * sizeof *out->conv.keys);
        out->conv.groups = kpi_arena_alloc(arena, n_groups * sizeof *out->conv.groups);
        if (out->conv.keys == NULL || out->conv.groups == NULL)
            e = err_set(msg, ERR_NOMEM, "out of memory");
        for (size_t g = 0; !e && g < n_groups; g++) {
            size_t k = out->conv.n_groups;
            if (k > 0 && strcmp(out->conv.keys[k - 1], groups[g].key) == 0) {
                if (aging_add(&out->conv.groups[k - 1], &groups[g].aging) != ERR_OK)
                    e = err_set(msg, ERR_OVERFLOW, "a converted group total leaves int64");
                continue;
            }
            out->conv.keys[k] = groups[g].key;
            out->conv.groups[k] = groups[g].aging;
            out->conv.n_groups++;
        }
    }
    free(groups);
    free(cs);
    return e;
}
