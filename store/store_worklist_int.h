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

#endif
