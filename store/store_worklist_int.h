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

/* true when want is NULL (no filter) or equals have (NULL read as ""). */
bool wl_name_is(const char *have, const char *want);

#endif
