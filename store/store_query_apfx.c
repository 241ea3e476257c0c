/*
 * store_query_apfx.c — consolidated payables (store_query_apfx.h): each
 * book's payables aging and cash requirements from store_query_ap.c,
 * converted with kpi_fx_share at the rates store_q_rate finds, so that a
 * book's buckets, its groups and its lines are each shares of the one
 * conversion of its total (the AP that consolidated DPO converts).
 */
#include "store_query_apfx.h"

#include <stdlib.h>
#include <string.h>

#include "kpi_fx.h"
#include "kpi_money.h"
#include "store_query_int.h"

/* The reporting currency: its digits and its rate for the day. */
static err_t target_of(store_snap_t *snap, const store_q_fx_t *fx, int32_t day, int *digits,
                       int64_t *rate, int32_t *rate_day, bool *stale, err_msg_t *msg)
{
    if (kpi_currency_digits(fx->target, digits) != ERR_OK)
        return err_set(msg, ERR_BAD_CURRENCY, "'%s' is not an ISO 4217 code", fx->target);
    return store_q_rate(snap, fx, fx->target, day, rate, rate_day, stale, msg);
}

/* How one book converts. */
typedef struct conv {
    const char *from, *to; /* codes, for messages */
    int from_digits, to_digits;
    int64_t rate, rate_to;
} conv_t;

/* A book with something open: its rate for the day into bk (currency set),
   and how it converts into c. */
static err_t book_conv(store_snap_t *snap, const store_q_fx_t *fx, int32_t day, int to_digits,
                       int64_t rate_to, store_q_book_t *bk, conv_t *c, err_msg_t *msg)
{
    err_t e = store_q_rate(snap, fx, bk->currency, day, &bk->rate, &bk->rate_day, &bk->stale, msg);
    if (e)
        return e;
    *c = (conv_t){bk->currency, fx->target, 2, to_digits, bk->rate, rate_to};
    if (kpi_currency_digits(bk->currency, &c->from_digits) != ERR_OK)
        return err_set(msg, ERR_STORE_CORRUPT, "the store has a book in '%s'", bk->currency);
    return ERR_OK;
}

static err_t conv_error(const conv_t *c, err_t e, err_msg_t *msg)
{
    if (e == ERR_NOMEM)
        return err_set(msg, ERR_NOMEM, "out of memory");
    return err_set(msg, e == ERR_OK ? ERR_OVERFLOW : e,
                   "the %s book converted into %s leaves int64", c->from, c->to);
}

/* n agings of one book (its buckets, or its groups' buckets) converted in
   place: every bucket a share of the conversion of their sum; each total
   the sum of its shares. */
static err_t share_agings(const conv_t *c, kpi_aging_t *ag, size_t n, err_msg_t *msg)
{
    if (n == 0)
        return ERR_OK;
    size_t nb = ag[0].n_buckets, cells = n * nb;
    int64_t *in = malloc((cells ? cells : 1) * 2 * sizeof *in), *out = in + (cells ? cells : 1);
    if (in == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    for (size_t g = 0; g < n; g++)
        for (size_t b = 0; b < nb; b++)
            in[g * nb + b] = ag[g].buckets[b].amount;
    int64_t t;
    err_t e = kpi_fx_share(in, cells, c->from_digits, c->rate, c->to_digits, c->rate_to, out, &t);
    for (size_t g = 0; !e && g < n; g++) {
        ag[g].total_amount = 0;
        for (size_t b = 0; !e && b < nb; b++) {
            ag[g].buckets[b].amount = out[g * nb + b];
            e = kpi_add_i64(&ag[g].total_amount, out[g * nb + b]);
        }
    }
    free(in);
    return e ? conv_error(c, e, msg) : ERR_OK;
}

err_t store_q_ap_aging_fx(store_snap_t *snap, const store_scope_t *scope,
                          const store_q_ap_aging_req_t *rq, const store_q_fx_t *fx,
                          kpi_arena_t *arena, store_q_ap_aging_fx_t *out, err_msg_t *msg)
{
    memset(out, 0, sizeof *out);
    int to_digits;
    err_t e = target_of(snap, fx, rq->as_of, &to_digits, &out->target_rate, &out->target_rate_day,
                        &out->target_stale, msg);
    if (e)
        return e;
    if (kpi_aging_init(&out->conv.all, rq->edges, rq->n_edges) != ERR_OK)
        return err_set(msg, ERR_BAD_PARAM, "aging bucket edges must be 1 to %d increasing days",
                       KPI_BUCKETS_MAX - 2);
    store_q_codes_t *cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    e = store_q_fx_codes(snap, fx, cs, msg);
    out->books = e ? NULL : kpi_arena_alloc(arena, (cs->n ? cs->n : 1) * sizeof *out->books);
    if (!e && out->books == NULL)
        e = err_set(msg, ERR_NOMEM, "out of memory");
    store_q_keyed_t *groups = NULL;
    size_t n_groups = 0;
    bool seen = false;
    for (size_t i = 0; !e && i < cs->n; i++) {
        store_scope_t sc = *scope;
        memcpy(sc.currency, cs->v[i], 4);
        store_q_ap_aging_t a;
        e = store_q_ap_aging(snap, &sc, rq, arena, &a, msg);
        if (e == ERR_NOT_FOUND) { /* the unit or vendor has no bill in this book */
            e = ERR_OK;
            continue;
        }
        if (e)
            break;
        seen = true;
        if (a.all.total_amount == 0 && a.all.total_count == 0)
            continue; /* nothing open: no rate needed */
        store_q_book_t *bk = &out->books[out->n_books];
        memset(bk, 0, sizeof *bk);
        memcpy(bk->currency, cs->v[i], 4);
        bk->aging = a.all;
        conv_t c;
        e = book_conv(snap, fx, rq->as_of, to_digits, out->target_rate, bk, &c, msg);
        if (e)
            break;
        out->n_books++;
        kpi_aging_t all = a.all;
        e = share_agings(&c, &all, 1, msg);
        if (!e && store_q_aging_sum(&out->conv.all, &all) != ERR_OK)
            e = conv_error(&c, ERR_OVERFLOW, msg);
        if (!e)
            e = share_agings(&c, a.groups, a.n_groups, msg);
        if (!e && a.n_groups > 0) {
            store_q_keyed_t *ng = realloc(groups, (n_groups + a.n_groups) * sizeof *ng);
            if (ng == NULL)
                e = err_set(msg, ERR_NOMEM, "out of memory");
            else
                groups = ng;
        }
        for (size_t g = 0; !e && g < a.n_groups; g++)
            groups[n_groups++] = (store_q_keyed_t){a.keys[g], a.groups[g]};
    }
    if (!e && !seen && cs->n > 0)
        e = err_set(msg, ERR_NOT_FOUND, "nothing in the store matches this scope");
    /* A vendor (or unit) with bills in several books: one group. */
    if (!e)
        e = store_q_keyed_merge(groups, n_groups, arena, &out->conv.keys, &out->conv.groups,
                                &out->conv.n_groups, msg);
    free(groups);
    free(cs);
    return e;
}

/* The lines of cash requirements in order: overdue, the weeks, later. */
static store_q_ap_line_t *line_at(store_q_ap_cashreq_t *c, size_t i)
{
    return i == 0 ? &c->overdue : i <= c->n_weeks ? &c->weeks[i - 1] : &c->later;
}

err_t store_q_ap_cashreq_fx(store_snap_t *snap, const store_scope_t *scope, int32_t as_of,
                            size_t weeks, const store_q_fx_t *fx, kpi_arena_t *arena,
                            store_q_ap_cashreq_fx_t *out, err_msg_t *msg)
{
    memset(out, 0, sizeof *out);
    int32_t monday;
    err_t e = store_q_ap_cashreq_frame(as_of, weeks, &out->conv, &monday, msg);
    int to_digits = 2;
    if (!e)
        e = target_of(snap, fx, as_of, &to_digits, &out->target_rate, &out->target_rate_day,
                      &out->target_stale, msg);
    if (e)
        return e;
    store_q_codes_t *cs = calloc(1, sizeof *cs);
    if (cs == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    e = store_q_fx_codes(snap, fx, cs, msg);
    size_t nb = cs->n ? cs->n : 1;
    out->books = e ? NULL : kpi_arena_alloc(arena, nb * sizeof *out->books);
    out->own = e ? NULL : kpi_arena_alloc(arena, nb * sizeof *out->own);
    if (!e && (out->books == NULL || out->own == NULL))
        e = err_set(msg, ERR_NOMEM, "out of memory");
    bool seen = false;
    size_t n_lines = weeks + 2;
    for (size_t i = 0; !e && i < cs->n; i++) {
        store_scope_t sc = *scope;
        memcpy(sc.currency, cs->v[i], 4);
        store_q_ap_cashreq_t *own = &out->own[out->n_books];
        e = store_q_ap_cashreq(snap, &sc, as_of, weeks, arena, own, msg);
        if (e == ERR_NOT_FOUND) {
            e = ERR_OK;
            continue;
        }
        if (e)
            break;
        seen = true;
        if (own->total_amount == 0 && own->total_count == 0)
            continue;
        store_q_book_t *bk = &out->books[out->n_books];
        memset(bk, 0, sizeof *bk);
        memcpy(bk->currency, cs->v[i], 4);
        conv_t c;
        e = book_conv(snap, fx, as_of, to_digits, out->target_rate, bk, &c, msg);
        if (e)
            break;
        out->n_books++;
        int64_t in[STORE_Q_AP_WEEKS_MAX + 2], sh[STORE_Q_AP_WEEKS_MAX + 2], t;
        for (size_t k = 0; k < n_lines; k++)
            in[k] = line_at(own, k)->amount;
        e = kpi_fx_share(in, n_lines, c.from_digits, c.rate, c.to_digits, c.rate_to, sh, &t);
        for (size_t k = 0; !e && k < n_lines; k++) {
            store_q_ap_line_t *l = line_at(&out->conv, k);
            e = kpi_add_i64(&l->amount, sh[k]);
            if (!e)
                e = kpi_add_i64(&l->count, line_at(own, k)->count);
        }
        if (!e)
            e = kpi_add_i64(&out->conv.total_amount, t);
        if (!e)
            e = kpi_add_i64(&out->conv.total_count, own->total_count);
        if (e)
            e = conv_error(&c, e, msg);
    }
    if (!e && !seen && cs->n > 0)
        e = err_set(msg, ERR_NOT_FOUND, "nothing in the store matches this scope");
    free(cs);
    return e;
}
