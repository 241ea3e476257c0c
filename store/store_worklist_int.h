/*
 * store_worklist_int.h — what the worklist sources share (internal to
 * store/): a row's sort key, the entries pages are cut from, and the
 * request check, the page cut and the name filter of store_worklist.c.
 */
#ifndef KPID_STORE_WORKLIST_INT_H
#define KPID_STORE_WORKLIST_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kpi_arena.h"
#include "store.h"
#include "store_worklist.h"

/* A row's sort key: its days, amount, customer and document number. */
typedef struct key {
    int32_t days;
    int64_t amount;
    const char *customer, *number;
} key_t_;

/* A row's key and its index in the gathered rows: pages are cut from
   these, sorted, whatever the list. */
typedef struct ent {
    key_t_ k;
    size_t idx;
} ent_t;

/* ERR_BAD_PARAM (with a message) for a limit out of range, an unknown sort,
   or a cursor of another list, sort or as_of day. */
err_t wl_req_check(store_wl_list_t list, const store_wl_req_t *rq, err_msg_t *m) KPID_MUST_USE;

/* Sort the entries; *start = the first after the cursor, *n = the page's
   length; next (STORE_WL_CURSOR_BUF) = the cursor after the page when
   *more rows follow, else "". */
void wl_page_cut(store_wl_list_t list, const store_wl_req_t *rq, ent_t *ents, size_t n_all,
                 size_t *start, size_t *n, bool *more, char *next);

/* wl_page_cut, then the page's rows (row_size bytes each, rows[ents[i].idx])
   copied into arena: *page (NULL when empty) and *n. ERR_NOMEM. */
err_t wl_page(store_wl_list_t list, const store_wl_req_t *rq, ent_t *ents, size_t n_all,
              const void *rows, size_t row_size, kpi_arena_t *arena, void **page, size_t *n,
              bool *more, char *next) KPID_MUST_USE;

/* Every event the filter selects, in the log's order, to fn (the log read
   a page at a time). */
err_t wl_walk(store_snap_t *snap, const store_ev_filter_t *f, store_ev_fn fn,
              void *ctx) KPID_MUST_USE;

/* true when want is NULL (no filter) or equals have (NULL read as ""). */
bool wl_name_is(const char *have, const char *want);

/* ---- consolidated lists (rq->fx; store_wl_fx.c) ---- */

#define WL_BOOKS_MAX 64

typedef struct wl_codes {
    char v[WL_BOOKS_MAX][4];
    size_t n;
} wl_codes_t;

/* The books a consolidated list walks: fx->only, or every currency of the
   store (ascending). ERR_TOO_LARGE past WL_BOOKS_MAX; messages set. */
err_t wl_codes(store_snap_t *snap, const store_q_fx_t *fx, wl_codes_t *out,
               err_msg_t *m) KPID_MUST_USE;

/* Is a document in `currency` on the list: scope->currency's book, or with
   rq->fx one of its books? */
bool wl_in_books(const store_wl_req_t *rq, const store_scope_t *scope, const char *currency);

/*
 * For each of the n rows (stride bytes apart): the int64 at rep_off = the
 * int64 at val_off, converted with rq->fx (when set) from the row's
 * currency (char[4] at cur_off) into fx->target at the book's rate for
 * rq->as_of (store_q_rate, kpi_fx_cross); *total = the sum of those. With
 * fx, *books (arena, by code) = each book with rows: its rate, count and
 * own amount. ERR_NO_RATE (naming the currency and the day), ERR_OVERFLOW,
 * ERR_NOMEM, with messages.
 */
err_t wl_convert_rows(store_snap_t *snap, const store_wl_req_t *rq, void *rows, size_t n,
                      size_t stride, size_t cur_off, size_t val_off, size_t rep_off,
                      kpi_arena_t *arena, int64_t *total, store_wl_book_t **books, size_t *n_books,
                      err_msg_t *m) KPID_MUST_USE;

#endif
