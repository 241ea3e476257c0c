/*
 * store_wl_fx.c — consolidated worklists (store_worklist.h, rq->fx): the
 * books a list walks, and each row's amount converted into the reporting
 * currency at its book's rate for as_of. The rate and the staleness rule
 * are store_q_rate's, the conversion kpi_fx_cross's: the same as the
 * consolidated aging (docs/kpi.md, "Reporting currency"), applied to one
 * row at a time.
 */
#include "store_worklist_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi_fx.h"
#include "kpi_money.h"

static err_t code_add(void *ctx, const char *code)
{
    wl_codes_t *c = ctx;
    if (c->n == WL_BOOKS_MAX)
        return ERR_TOO_LARGE;
    snprintf(c->v[c->n++], 4, "%s", code);
    return ERR_OK;
}

err_t wl_codes(store_snap_t *snap, const store_q_fx_t *fx, wl_codes_t *out, err_msg_t *m)
{
    out->n = 0;
    err_t e = fx->only != NULL ? code_add(out, fx->only) : store_currencies(snap, code_add, out);
    if (e == ERR_TOO_LARGE)
        return err_set(m, e, "more than %d currencies in the store", WL_BOOKS_MAX);
    return e ? err_set(m, e, "cannot list the currencies") : ERR_OK;
}

bool wl_in_books(const store_wl_req_t *rq, const store_scope_t *scope, const char *currency)
{
    if (rq->fx == NULL)
        return strcmp(currency, scope->currency) == 0;
    return rq->fx->only == NULL || strcmp(currency, rq->fx->only) == 0;
}

static int book_cmp(const void *a, const void *b)
{
    return strcmp(((const store_wl_book_t *)a)->currency, ((const store_wl_book_t *)b)->currency);
}

/* The book of `currency` among bs[0..*n), added with its rate when new. */
static err_t book_of(store_snap_t *snap, const store_q_fx_t *fx, int32_t as_of,
                     const char *currency, store_wl_book_t *bs, size_t *n, store_wl_book_t **out,
                     int *digits, err_msg_t *m)
{
    if (kpi_currency_digits(currency, digits) != ERR_OK)
        return err_set(m, ERR_STORE_CORRUPT, "the store has a book in '%s'", currency);
    for (size_t i = 0; i < *n; i++)
        if (strcmp(bs[i].currency, currency) == 0) {
            *out = &bs[i];
            return ERR_OK;
        }
    if (*n == WL_BOOKS_MAX)
        return err_set(m, ERR_TOO_LARGE, "more than %d currencies in the store", WL_BOOKS_MAX);
    store_wl_book_t *bk = &bs[*n];
    memset(bk, 0, sizeof *bk);
    snprintf(bk->currency, sizeof bk->currency, "%s", currency);
    err_t e = store_q_rate(snap, fx, currency, as_of, &bk->rate, &bk->rate_day, &bk->stale, m);
    if (e)
        return e;
    (*n)++;
    *out = bk;
    return ERR_OK;
}

err_t wl_convert_rows(store_snap_t *snap, const store_wl_req_t *rq, void *rows, size_t n,
                      size_t stride, size_t cur_off, size_t val_off, size_t rep_off,
                      kpi_arena_t *arena, int64_t *total, store_wl_book_t **books, size_t *n_books,
                      err_msg_t *m)
{
    *total = 0;
    *books = NULL;
    *n_books = 0;
    const store_q_fx_t *fx = rq->fx;
    int to_digits = 2;
    int64_t rate_to = 0;
    int32_t rate_to_day;
    bool to_stale;
    if (fx != NULL) {
        if (kpi_currency_digits(fx->target, &to_digits) != ERR_OK)
            return err_set(m, ERR_BAD_CURRENCY, "'%s' is not an ISO 4217 code", fx->target);
        err_t e =
            store_q_rate(snap, fx, fx->target, rq->as_of, &rate_to, &rate_to_day, &to_stale, m);
        if (e)
            return e;
    }
    store_wl_book_t bs[WL_BOOKS_MAX];
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        char *row = (char *)rows + i * stride;
        int64_t v, x;
        memcpy(&v, row + val_off, sizeof v);
        x = v;
        if (fx != NULL) {
            store_wl_book_t *bk;
            int from_digits;
            err_t e = book_of(snap, fx, rq->as_of, row + cur_off, bs, &nb, &bk, &from_digits, m);
            if (e)
                return e;
            if (kpi_fx_cross(v, from_digits, bk->rate, to_digits, rate_to, &x) != ERR_OK ||
                __builtin_add_overflow(bk->amount, v, &bk->amount))
                return err_set(m, ERR_OVERFLOW, "the %s book converted into %s leaves int64",
                               bk->currency, fx->target);
            bk->count++;
        }
        memcpy(row + rep_off, &x, sizeof x);
        if (__builtin_add_overflow(*total, x, total))
            return err_set(m, ERR_OVERFLOW, "the list's total leaves int64");
    }
    if (fx == NULL || nb == 0)
        return ERR_OK;
    qsort(bs, nb, sizeof *bs, book_cmp);
    *books = kpi_arena_alloc(arena, nb * sizeof **books);
    if (*books == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    memcpy(*books, bs, nb * sizeof *bs);
    *n_books = nb;
    return ERR_OK;
}
