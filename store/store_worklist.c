/*
 * store_worklist.c — worklists (store_worklist.h): the rows are gathered
 * from the store's public reads (customers with open-amount history, each
 * one's open-invoice candidates, invoices' open amounts at a day, disputes,
 * credit standing, the event log for the last payment), sorted and paged.
 */
#include "store_worklist.h"
#include "store_worklist_int.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_query.h"

const char *const store_wl_sort_names[] = {"-days", "-amount", "customer", NULL};

/* ---- cursors ---------------------------------------------------------------- */

/* Token = hex of "w1|list|sort|as_of|days|amount|len(customer)|customer number";
   list + WL_FX_LIST for a consolidated list's. */
#define WL_FX_LIST 16
void store_wl_cursor_encode(const store_wl_pos_t *pos, char *buf)
{
    char raw[48 + 2 * KPI_NAME_MAX + 1];
    int n = snprintf(raw, sizeof raw, "w1|%d|%d|%" PRId32 "|%" PRId32 "|%" PRId64 "|%zu|%s%s",
                     (int)pos->list + (pos->fx ? WL_FX_LIST : 0), (int)pos->sort, pos->as_of,
                     pos->days, pos->amount, strlen(pos->customer), pos->customer, pos->number);
    if (n < 0 || (size_t)n >= sizeof raw)
        n = 0;
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < n; i++) {
        buf[2 * i] = hex[(uint8_t)raw[i] >> 4];
        buf[2 * i + 1] = hex[(uint8_t)raw[i] & 15];
    }
    buf[2 * n] = '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

err_t store_wl_cursor_decode(const char *token, store_wl_pos_t *pos, err_msg_t *m)
{
    char raw[48 + 2 * KPI_NAME_MAX + 1];
    size_t len = strlen(token);
    memset(pos, 0, sizeof *pos);
    if (len == 0 || len % 2 != 0 || len / 2 >= sizeof raw)
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': not a cursor of this list");
    for (size_t i = 0; i < len / 2; i++) {
        int hi = hexval(token[2 * i]), lo = hexval(token[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': not a cursor of this list");
        raw[i] = (char)(hi << 4 | lo);
    }
    raw[len / 2] = '\0';
    int list, sort, used = -1;
    int32_t as_of, days;
    int64_t amount;
    size_t clen;
    if (strlen(raw) != len / 2 || sscanf(raw, "w1|%d|%d|%" SCNd32 "|%" SCNd32 "|%" SCNd64 "|%zu|%n",
                                         &list, &sort, &as_of, &days, &amount, &clen, &used) != 6)
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': not a cursor of this list");
    pos->fx = list >= WL_FX_LIST;
    if (pos->fx)
        list -= WL_FX_LIST;
    if (used < 0 || list < 0 || list > STORE_WL_SLA || sort < 0 || sort > STORE_WL_SORT_CUSTOMER ||
        clen > KPI_NAME_MAX)
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': not a cursor of this list");
    const char *rest = raw + used;
    size_t rlen = strlen(rest);
    if (rlen < clen + 1 || rlen - clen > KPI_NAME_MAX)
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': not a cursor of this list");
    pos->list = (store_wl_list_t)list;
    pos->sort = (store_wl_sort_t)sort;
    pos->as_of = as_of;
    pos->days = days;
    pos->amount = amount;
    memcpy(pos->customer, rest, clen);
    pos->customer[clen] = '\0';
    memcpy(pos->number, rest + clen, rlen - clen + 1);
    return ERR_OK;
}

/* ---- sort keys ----------------------------------------------------------------- */

static int cmp_desc_i64(int64_t a, int64_t b)
{
    return a > b ? -1 : a < b ? 1 : 0;
}

static int key_cmp(store_wl_sort_t sort, const key_t_ *a, const key_t_ *b)
{
    int c = 0;
    switch (sort) {
    case STORE_WL_SORT_DAYS: c = cmp_desc_i64(a->days, b->days); break;
    case STORE_WL_SORT_AMOUNT: c = cmp_desc_i64(a->amount, b->amount); break;
    case STORE_WL_SORT_CUSTOMER:
        c = strcmp(a->customer, b->customer);
        if (c == 0)
            c = cmp_desc_i64(a->days, b->days);
        break;
    }
    return c != 0 ? c : strcmp(a->number, b->number);
}

/* qsort has no context argument (and a global would be shared by the
   HTTP workers): one comparator per sort. */
#define BY_KEY(name, sort)                                                                         \
    static int name(const void *a, const void *b)                                                  \
    {                                                                                              \
        return key_cmp(sort, &((const ent_t *)a)->k, &((const ent_t *)b)->k);                      \
    }
BY_KEY(by_days, STORE_WL_SORT_DAYS)
BY_KEY(by_amount, STORE_WL_SORT_AMOUNT)
BY_KEY(by_customer_key, STORE_WL_SORT_CUSTOMER)

err_t wl_req_check(store_wl_list_t list, const store_wl_req_t *rq, err_msg_t *m)
{
    if (rq->limit < 1 || rq->limit > STORE_WL_LIMIT_MAX)
        return err_set(m, ERR_BAD_PARAM, "parameter 'limit': must be 1 to %d", STORE_WL_LIMIT_MAX);
    if (rq->sort > STORE_WL_SORT_CUSTOMER)
        return err_set(m, ERR_BAD_PARAM, "parameter 'sort': unknown sort");
    if (rq->after != NULL && rq->after->list != list)
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': made for another worklist");
    if (rq->after != NULL && rq->after->sort != rq->sort)
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': made for another sort");
    if (rq->after != NULL && rq->after->as_of != rq->as_of)
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': made for another as_of");
    if (rq->after != NULL && rq->after->fx != (rq->fx != NULL))
        return err_set(m, ERR_BAD_PARAM,
                       "parameter 'cursor': made for %s; page with the same currency",
                       rq->after->fx ? "every book converted" : "one book");
    return ERR_OK;
}

err_t wl_page(store_wl_list_t list, const store_wl_req_t *rq, ent_t *ents, size_t n_all,
              const void *rows, size_t row_size, kpi_arena_t *arena, void **page, size_t *n,
              bool *more, char *next)
{
    size_t start;
    wl_page_cut(list, rq, ents, n_all, &start, n, more, next);
    *page = *n ? kpi_arena_alloc(arena, *n * row_size) : NULL;
    if (*n && *page == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < *n; i++)
        memcpy((char *)*page + i * row_size, (const char *)rows + ents[start + i].idx * row_size,
               row_size);
    return ERR_OK;
}

err_t wl_walk(store_snap_t *snap, const store_ev_filter_t *f, store_ev_fn fn, void *ctx)
{
    char cur[STORE_CURSOR_BUF] = "", next[STORE_CURSOR_BUF];
    err_t e;
    do {
        e = store_events_list(snap, f, cur, 10000, fn, ctx, next);
        memcpy(cur, next, sizeof cur);
    } while (!e && cur[0] != '\0');
    return e;
}

/* Sort the entries; *start = the first after the cursor, *n = the page's
   length; next = the cursor after the page when more follow. */
void wl_page_cut(store_wl_list_t list, const store_wl_req_t *rq, ent_t *ents, size_t n_all,
                 size_t *start, size_t *n, bool *more, char *next)
{
    int (*const cmps[])(const void *, const void *) = {by_days, by_amount, by_customer_key};
    if (n_all > 1)
        qsort(ents, n_all, sizeof *ents, cmps[rq->sort]);
    size_t lo = 0, hi = n_all; /* the first entry whose key is > the cursor's */
    if (rq->after != NULL) {
        key_t_ after = {rq->after->days, rq->after->amount, rq->after->customer, rq->after->number};
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (key_cmp(rq->sort, &ents[mid].k, &after) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    *start = lo;
    *n = n_all - lo < rq->limit ? n_all - lo : rq->limit;
    *more = lo + *n < n_all;
    next[0] = '\0';
    if (*more) {
        const key_t_ *k = &ents[lo + *n - 1].k;
        store_wl_pos_t pos = {.list = list,
                              .fx = rq->fx != NULL,
                              .sort = rq->sort,
                              .as_of = rq->as_of,
                              .days = k->days,
                              .amount = k->amount};
        snprintf(pos.customer, sizeof pos.customer, "%s", k->customer);
        snprintf(pos.number, sizeof pos.number, "%s", k->number);
        store_wl_cursor_encode(&pos, next);
    }
}

/* ---- gathering the overdue rows --------------------------------------------------- */

typedef struct gather {
    store_snap_t *snap;
    const store_scope_t *scope;
    int32_t as_of;
    bool current; /* as_of on or after the latest event day */
    kpi_arena_t *arena;
    const char *customer; /* the customer being walked (arena) */
    store_wl_overdue_row_t *v;
    size_t n, cap;
} gather_t;

static err_t gather_invoice(void *ctx, const store_doc_t *d, const char *number)
{
    gather_t *g = ctx;
    if (!d->exists || d->kind != KPI_DOC_INVOICE || d->created_day > g->as_of ||
        d->due_day == INT32_MIN || (int64_t)g->as_of - d->due_day < 1 ||
        strcmp(d->currency, g->scope->currency) != 0)
        return ERR_OK; /* consolidated: each book is gathered on its own */
    const char *unit = d->business_unit ? d->business_unit : "";
    if (g->scope->business_unit != NULL && strcmp(unit, g->scope->business_unit) != 0)
        return ERR_OK;
    int64_t open = d->open_minor;
    err_t e = g->current ? ERR_OK : store_invoice_open_at(g->snap, number, g->as_of, &open);
    if (e || open == 0)
        return e;
    if (g->n == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 256;
        store_wl_overdue_row_t *nv = realloc(g->v, cap * sizeof *nv);
        if (nv == NULL)
            return ERR_NOMEM;
        g->v = nv;
        g->cap = cap;
    }
    store_wl_overdue_row_t *r = &g->v[g->n];
    memset(r, 0, sizeof *r);
    r->invoice = kpi_arena_strndup(g->arena, number, strlen(number));
    r->business_unit = kpi_arena_strndup(g->arena, unit, strlen(unit));
    if (r->invoice == NULL || r->business_unit == NULL)
        return ERR_NOMEM;
    r->customer = g->customer;
    memcpy(r->currency, d->currency, sizeof r->currency);
    r->issue_day = d->created_day;
    r->due_day = d->due_day;
    r->days_past_due = g->as_of - d->due_day;
    r->amount = d->amount_minor;
    r->open = open;
    r->last_payment_day = INT32_MIN;
    g->n++;
    return ERR_OK;
}

/* ---- what a page's rows show beside their amounts ---------------------------------- */

typedef struct disp_ctx {
    int32_t as_of;
    store_wl_overdue_row_t *rows; /* the page's rows of one customer */
    size_t n;
} disp_ctx_t;

static err_t mark_dispute(void *ctx, const store_doc_t *d, const char *number)
{
    (void)number;
    disp_ctx_t *c = ctx;
    if (!d->exists || d->ref == NULL || d->created_day > c->as_of ||
        (d->closed_day != INT32_MIN && d->closed_day <= c->as_of))
        return ERR_OK;
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->rows[i].invoice, d->ref) == 0)
            c->rows[i].disputed = true;
    return ERR_OK;
}

typedef struct pay_ctx {
    const char *currency, *base_currency;
    int32_t day;
    int64_t amount;
} pay_ctx_t;

static err_t last_payment(void *ctx, const store_ev_row_t *row)
{
    pay_ctx_t *c = ctx;
    const char *cur = row->ev->currency[0] != '\0' ? row->ev->currency : c->base_currency;
    if (cur == NULL || strcmp(cur, c->currency) != 0)
        return ERR_OK;
    /* The log is in time order: the last one seen is the latest. */
    c->day = row->day;
    c->amount = row->ev->amount_minor;
    return ERR_OK;
}

static err_t customer_facts(store_snap_t *snap, const store_scope_t *scope,
                            const store_wl_req_t *rq, store_wl_overdue_row_t *rows, size_t n)
{
    store_customer_t cu;
    err_t e = store_customer_get(snap, rows[0].customer, &cu);
    if (e)
        return e;
    disp_ctx_t dc = {rq->as_of, rows, n};
    e = store_customer_disputes(snap, rows[0].customer, mark_dispute, &dc);
    if (e)
        return e;
    pay_ctx_t pc = {rows[0].currency, rq->base_currency, INT32_MIN, 0};
    store_ev_filter_t f = {.party = rows[0].customer,
                           .business_unit = scope->business_unit,
                           .type = KPI_EV_PAYMENT_RECEIVED,
                           .has_to = true,
                           .to_day = rq->as_of};
    char cur[STORE_CURSOR_BUF] = "", next[STORE_CURSOR_BUF];
    do {
        e = store_events_list(snap, &f, cur, 1000, last_payment, &pc, next);
        memcpy(cur, next, sizeof cur);
    } while (!e && cur[0] != '\0');
    if (e == ERR_NOT_FOUND)
        e = ERR_OK;
    for (size_t i = 0; !e && i < n; i++) {
        rows[i].on_hold = cu.on_hold;
        rows[i].last_payment_day = pc.day;
        rows[i].last_payment_amount = pc.amount;
    }
    return e;
}

/* The page's rows of one customer and one book sort together. */
static int same_customer(const store_wl_overdue_row_t *x, const store_wl_overdue_row_t *y)
{
    int c = strcmp(x->customer, y->customer);
    return c != 0 ? c : strcmp(x->currency, y->currency);
}

static int by_customer(const void *a, const void *b)
{
    return same_customer(*(store_wl_overdue_row_t *const *)a, *(store_wl_overdue_row_t *const *)b);
}

/* Fill disputed, on_hold and the last payment of the page's rows: one pass
   per distinct customer and book (the last payment is in the row's book),
   rows grouped in a scratch copy. */
static err_t page_facts(store_snap_t *snap, const store_scope_t *scope, const store_wl_req_t *rq,
                        store_wl_overdue_row_t *rows, size_t n)
{
    if (n == 0)
        return ERR_OK;
    store_wl_overdue_row_t **p = malloc(n * sizeof *p);
    store_wl_overdue_row_t *tmp = malloc(n * sizeof *tmp);
    err_t e = p == NULL || tmp == NULL ? ERR_NOMEM : ERR_OK;
    for (size_t i = 0; !e && i < n; i++)
        p[i] = &rows[i];
    if (!e)
        qsort(p, n, sizeof *p, by_customer);
    for (size_t i = 0; !e && i < n;) {
        size_t j = i;
        while (j < n && same_customer(p[j], p[i]) == 0) {
            tmp[j - i] = *p[j];
            j++;
        }
        e = customer_facts(snap, scope, rq, tmp, j - i);
        for (size_t k = i; !e && k < j; k++)
            *p[k] = tmp[k - i];
        i = j;
    }
    free(p);
    free(tmp);
    return e;
}

/* The rows of one book (scope->currency) into g. ERR_NOT_FOUND for a unit
   with nothing in the book, or a customer the store never saw. */
static err_t gather_book(store_snap_t *snap, const store_scope_t *scope, const store_wl_req_t *rq,
                         kpi_arena_t *arena, gather_t *g)
{
    g->scope = scope;
    store_q_names_t ns = {.arena = arena};
    err_t e;
    if (scope->party != NULL) {
        e = store_q_names_add(&ns, scope->party);
        /* The unit must be known, as for the aging (ERR_NOT_FOUND). */
        store_q_names_t units = {.arena = arena};
        if (!e && scope->business_unit != NULL)
            e = store_parties(snap, scope->currency, scope->business_unit, store_q_names_add,
                              &units);
    } else {
        e = store_parties(snap, scope->currency, scope->business_unit, store_q_names_add, &ns);
    }
    for (size_t i = 0; !e && i < ns.n; i++) {
        g->customer = ns.v[i];
        e = store_customer_open_candidates(snap, ns.v[i], rq->as_of, gather_invoice, g);
    }
    return e;
}

/* gather_book for each book of rq->fx; ERR_NOT_FOUND only when no book
   knows the unit (or customer). */
static err_t gather_books(store_snap_t *snap, const store_scope_t *scope, const store_wl_req_t *rq,
                          kpi_arena_t *arena, gather_t *g, err_msg_t *m)
{
    wl_codes_t cs;
    err_t e = wl_codes(snap, rq->fx, &cs, m);
    bool seen = cs.n == 0;
    for (size_t i = 0; !e && i < cs.n; i++) {
        store_scope_t sc = *scope;
        memcpy(sc.currency, cs.v[i], sizeof sc.currency);
        e = gather_book(snap, &sc, rq, arena, g);
        if (e == ERR_NOT_FOUND) {
            e = ERR_OK; /* the unit has nothing in this book */
            continue;
        }
        seen = seen || !e;
    }
    return e ? e : seen ? ERR_OK : ERR_NOT_FOUND;
}

err_t store_wl_overdue(store_snap_t *snap, const store_scope_t *scope, const store_wl_req_t *rq,
                       kpi_arena_t *arena, store_wl_overdue_t *out, err_msg_t *m)
{
    memset(out, 0, sizeof *out);
    err_t e = wl_req_check(STORE_WL_OVERDUE, rq, m);
    if (e)
        return e;
    gather_t g = {.snap = snap, .as_of = rq->as_of, .arena = arena};
    int32_t latest;
    e = store_latest_day(snap, &latest);
    if (e == ERR_NOT_FOUND) {
        /* Nothing stored yet: a unit or customer named is unknown. */
        return scope->business_unit != NULL || scope->party != NULL ? ERR_NOT_FOUND : ERR_OK;
    }
    if (e)
        return e;
    g.current = rq->as_of >= latest;
    e = rq->fx != NULL ? gather_books(snap, scope, rq, arena, &g, m)
                       : gather_book(snap, scope, rq, arena, &g);
    int64_t total = 0;
    if (!e)
        e = wl_convert_rows(snap, rq, g.v, g.n, sizeof *g.v,
                            offsetof(store_wl_overdue_row_t, currency),
                            offsetof(store_wl_overdue_row_t, open),
                            offsetof(store_wl_overdue_row_t, open_reporting), arena, &total,
                            &out->books, &out->n_books, m);
    if (e) {
        free(g.v);
        return e == ERR_NOMEM ? err_set(m, e, "out of memory") : e;
    }
    ent_t *ents = g.n ? malloc(g.n * sizeof *ents) : NULL;
    if (g.n && ents == NULL) {
        free(g.v);
        return err_set(m, ERR_NOMEM, "out of memory");
    }
    /* -amount: the converted amount in a consolidated list. */
    for (size_t i = 0; i < g.n; i++) {
        const store_wl_overdue_row_t *r = &g.v[i];
        ents[i] = (ent_t){{r->days_past_due, r->open_reporting, r->customer, r->invoice}, i};
    }
    size_t n;
    void *page;
    e = wl_page(STORE_WL_OVERDUE, rq, ents, g.n, g.v, sizeof *g.v, arena, &page, &n, &out->more,
                out->next);
    out->rows = page;
    out->total_count = (int64_t)g.n;
    out->total_amount = total;
    free(ents);
    free(g.v);
    if (e)
        return err_set(m, ERR_NOMEM, "out of memory");
    out->n = n;
    e = page_facts(snap, scope, rq, out->rows, n);
    return e == ERR_NOMEM ? err_set(m, e, "out of memory") : e;
}

/* ---- unapplied cash ------------------------------------------------------------------ */

/* One movement of a payment's cash, from the log. */
typedef struct mv {
    size_t name; /* offset of the payment number in the names buffer */
    int64_t delta;
} mv_t;

typedef struct ucollect {
    store_snap_t *snap;
    mv_t *v;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
} ucollect_t;

static err_t uc_add(ucollect_t *c, const char *number, int64_t delta)
{
    size_t len = strlen(number) + 1;
    if (c->names_len + len > c->names_cap) {
        size_t cap = c->names_cap ? c->names_cap * 2 : 4096;
        while (cap < c->names_len + len)
            cap *= 2;
        char *nb = realloc(c->names, cap);
        if (nb == NULL)
            return ERR_NOMEM;
        c->names = nb;
        c->names_cap = cap;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        mv_t *nv = realloc(c->v, cap * sizeof *nv);
        if (nv == NULL)
            return ERR_NOMEM;
        c->v = nv;
        c->cap = cap;
    }
    memcpy(c->names + c->names_len, number, len);
    c->v[c->n].name = c->names_len;
    c->v[c->n].delta = delta;
    c->names_len += len;
    c->n++;
    return ERR_OK;
}

static err_t uc_event(void *ctx, const store_ev_row_t *row)
{
    ucollect_t *c = ctx;
    const kpi_event_t *ev = row->ev;
    if (ev->doc == NULL)
        return ERR_OK;
    switch (ev->type) {
    case KPI_EV_PAYMENT_RECEIVED: return uc_add(c, ev->doc, ev->amount_minor);
    case KPI_EV_PAYMENT_REFUNDED: return uc_add(c, ev->doc, -ev->amount_minor);
    case KPI_EV_PAYMENT_APPLIED: {
        /* It counts once it took effect: when its invoice has arrived (an
           application waiting for its invoice is in the log already). */
        store_doc_t inv;
        err_t e = ev->ref ? store_doc_get(c->snap, KPI_DOC_INVOICE, ev->ref, &inv) : ERR_NOT_FOUND;
        if (e == ERR_NOT_FOUND || (!e && !inv.exists))
            return ERR_OK;
        return e ? e : uc_add(c, ev->doc, -ev->amount_minor);
    }
    default: return ERR_OK;
    }
}

/* A movement with its payment number resolved, once the buffer is final. */
typedef struct pmv {
    const char *name;
    int64_t delta;
} pmv_t;

static int pmv_cmp(const void *a, const void *b)
{
    return strcmp(((const pmv_t *)a)->name, ((const pmv_t *)b)->name);
}

bool wl_name_is(const char *have, const char *want)
{
    return want == NULL || strcmp(have ? have : "", want) == 0;
}

/* The payment `number` with movements summing to `sum`: a row when it is in
   the scope and some cash is unapplied. */
static err_t u_row(store_snap_t *snap, const store_scope_t *scope, const store_wl_req_t *rq,
                   kpi_arena_t *arena, const char *number, int64_t sum,
                   store_wl_unapplied_row_t **v, size_t *n, size_t *cap)
{
    store_doc_t d;
    err_t e = store_doc_get(snap, KPI_DOC_PAYMENT, number, &d);
    if (e == ERR_NOT_FOUND || (!e && (!d.exists || d.created_day > rq->as_of)))
        return ERR_OK; /* applications or refunds of a payment not received (yet) */
    if (e || sum == 0 || !wl_in_books(rq, scope, d.currency) ||
        !wl_name_is(d.business_unit, scope->business_unit) || !wl_name_is(d.party, scope->party))
        return e;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        store_wl_unapplied_row_t *nv = realloc(*v, nc * sizeof *nv);
        if (nv == NULL)
            return ERR_NOMEM;
        *v = nv;
        *cap = nc;
    }
    store_wl_unapplied_row_t *r = &(*v)[*n];
    const char *cu = d.party ? d.party : "", *bu = d.business_unit ? d.business_unit : "";
    r->payment = kpi_arena_strndup(arena, number, strlen(number));
    r->customer = kpi_arena_strndup(arena, cu, strlen(cu));
    r->business_unit = kpi_arena_strndup(arena, bu, strlen(bu));
    if (r->payment == NULL || r->customer == NULL || r->business_unit == NULL)
        return ERR_NOMEM;
    r->received_day = d.created_day;
    r->age_days = rq->as_of - d.created_day;
    memcpy(r->currency, d.currency, sizeof r->currency);
    r->amount = d.amount_minor;
    r->unapplied = sum;
    (*n)++;
    return ERR_OK;
}

/* A unit the list names must be known, as for the aging: in the book, or
   (consolidated) in one of the books. ERR_NOT_FOUND. */
static err_t unit_known(store_snap_t *snap, const store_scope_t *scope, const store_wl_req_t *rq,
                        kpi_arena_t *arena, err_msg_t *m)
{
    store_q_names_t units = {.arena = arena};
    if (rq->fx == NULL)
        return store_parties(snap, scope->currency, scope->business_unit, store_q_names_add,
                             &units);
    wl_codes_t cs;
    err_t e = wl_codes(snap, rq->fx, &cs, m);
    for (size_t i = 0; !e && i < cs.n; i++) {
        e = store_parties(snap, cs.v[i], scope->business_unit, store_q_names_add, &units);
        if (e == ERR_NOT_FOUND)
            e = ERR_OK;
        else if (!e)
            return ERR_OK;
    }
    return e ? e : ERR_NOT_FOUND;
}

err_t store_wl_unapplied(store_snap_t *snap, const store_scope_t *scope, const store_wl_req_t *rq,
                         kpi_arena_t *arena, store_wl_unapplied_t *out, err_msg_t *m)
{
    memset(out, 0, sizeof *out);
    err_t e = wl_req_check(STORE_WL_UNAPPLIED, rq, m);
    if (e)
        return e;
    int32_t latest;
    e = store_latest_day(snap, &latest);
    if (e == ERR_NOT_FOUND)
        return scope->business_unit != NULL || scope->party != NULL ? ERR_NOT_FOUND : ERR_OK;
    if (e)
        return e;
    /* Unknown names are refused, as for the aging. */
    store_customer_t cu;
    if (scope->party != NULL)
        e = store_customer_get(snap, scope->party, &cu);
    if (!e && scope->business_unit != NULL)
        e = unit_known(snap, scope, rq, arena, m);
    if (e)
        return e;
    /* The scope's movements of payment cash up to as_of, from the log (the
       unit's and customer's indexes narrow the walk; each payment is then
       checked against the scope through its document). */
    ucollect_t c = {.snap = snap};
    store_ev_filter_t f = {.party = scope->party,
                           .business_unit = scope->business_unit,
                           .has_to = true,
                           .to_day = rq->as_of};
    e = wl_walk(snap, &f, uc_event, &c);
    pmv_t *pv = !e && c.n ? malloc(c.n * sizeof *pv) : NULL;
    if (!e && c.n && pv == NULL)
        e = ERR_NOMEM;
    for (size_t i = 0; !e && i < c.n; i++)
        pv[i] = (pmv_t){c.names + c.v[i].name, c.v[i].delta};
    if (!e && c.n > 1)
        qsort(pv, c.n, sizeof *pv, pmv_cmp);
    store_wl_unapplied_row_t *v = NULL;
    size_t nv = 0, cap = 0;
    int64_t total = 0;
    for (size_t i = 0; !e && i < c.n;) {
        size_t j = i;
        int64_t sum = 0;
        for (; !e && j < c.n && strcmp(pv[j].name, pv[i].name) == 0; j++)
            if (__builtin_add_overflow(sum, pv[j].delta, &sum))
                e = ERR_OVERFLOW;
        if (!e)
            e = u_row(snap, scope, rq, arena, pv[i].name, sum, &v, &nv, &cap);
        i = j;
    }
    free(pv);
    free(c.v);
    free(c.names);
    if (!e)
        e = wl_convert_rows(snap, rq, v, nv, sizeof *v,
                            offsetof(store_wl_unapplied_row_t, currency),
                            offsetof(store_wl_unapplied_row_t, unapplied),
                            offsetof(store_wl_unapplied_row_t, unapplied_reporting), arena, &total,
                            &out->books, &out->n_books, m);
    ent_t *ents = !e && nv ? malloc(nv * sizeof *ents) : NULL;
    if (!e && nv && ents == NULL)
        e = ERR_NOMEM;
    if (e) {
        free(v);
        return e == ERR_NOMEM ? err_set(m, e, "out of memory") : e;
    }
    for (size_t i = 0; i < nv; i++)
        ents[i] =
            (ent_t){{v[i].age_days, v[i].unapplied_reporting, v[i].customer, v[i].payment}, i};
    size_t n;
    void *page;
    e = wl_page(STORE_WL_UNAPPLIED, rq, ents, nv, v, sizeof *v, arena, &page, &n, &out->more,
                out->next);
    out->rows = page;
    out->total_count = (int64_t)nv;
    out->total_amount = total;
    free(ents);
    free(v);
    if (e)
        return err_set(m, ERR_NOMEM, "out of memory");
    out->n = n;
    return ERR_OK;
}

/* ---- quality ------------------------------------------------------------------------- */

const char *const store_wl_reason_names[4] = {"failed_first_review", "corrected", "rejected",
                                              "escalated"};

/* One review, processing, rejection or escalation, from the log. */
typedef struct qev {
    size_t name, id; /* offsets in the names buffer */
    int64_t time_s;
    int32_t day;
    uint8_t type, result;
} qev_t;

typedef struct qcollect {
    store_ftq_kind_t kind;
    qev_t *v;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
} qcollect_t;

static err_t q_str(qcollect_t *c, const char *str, size_t *off)
{
    size_t len = strlen(str) + 1;
    if (c->names_len + len > c->names_cap) {
        size_t cap = c->names_cap ? c->names_cap * 2 : 4096;
        while (cap < c->names_len + len)
            cap *= 2;
        char *nb = realloc(c->names, cap);
        if (nb == NULL)
            return ERR_NOMEM;
        c->names = nb;
        c->names_cap = cap;
    }
    memcpy(c->names + c->names_len, str, len);
    *off = c->names_len;
    c->names_len += len;
    return ERR_OK;
}

static err_t q_event(void *ctx, const store_ev_row_t *row)
{
    qcollect_t *c = ctx;
    const kpi_event_t *ev = row->ev;
    bool want = c->kind == STORE_FTQ_INVOICE
                    ? ev->type == KPI_EV_INVOICE_REVIEWED
                    : ev->type == KPI_EV_BILL_PROCESSED || ev->type == KPI_EV_BILL_REJECTED ||
                          ev->type == KPI_EV_BILL_ESCALATED;
    if (!want || ev->doc == NULL)
        return ERR_OK;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        qev_t *nv = realloc(c->v, cap * sizeof *nv);
        if (nv == NULL)
            return ERR_NOMEM;
        c->v = nv;
        c->cap = cap;
    }
    qev_t *q = &c->v[c->n];
    err_t e = q_str(c, ev->doc, &q->name);
    if (!e)
        e = q_str(c, ev->id ? ev->id : "", &q->id);
    if (e)
        return e;
    q->time_s = ev->time_s;
    q->day = row->day;
    q->type = (uint8_t)ev->type;
    q->result = ev->result;
    c->n++;
    return ERR_OK;
}

/* A collected event with its strings resolved. */
typedef struct pq {
    const char *name, *id;
    const qev_t *q;
} pq_t;

static int pq_cmp(const void *a, const void *b)
{
    return strcmp(((const pq_t *)a)->name, ((const pq_t *)b)->name);
}

/* Earlier under (time, id): the order of "first" in the derived state. */
static bool q_before(const pq_t *a, const pq_t *b)
{
    return a->q->time_s < b->q->time_s ||
           (a->q->time_s == b->q->time_s && strcmp(a->id, b->id) < 0);
}

typedef struct qrows {
    store_wl_quality_row_t *v;
    size_t n, cap;
} qrows_t;

/* The events of one document (g[0..n)): a row when it counts in the period
   and did not pass. */
static err_t q_doc(store_snap_t *snap, const store_scope_t *scope, store_ftq_kind_t kind,
                   int32_t from, int32_t to, kpi_arena_t *arena, const pq_t *g, size_t n,
                   qrows_t *rows, store_wl_quality_t *out)
{
    const pq_t *first = NULL;
    int64_t rej_s = INT64_MAX, esc_s = INT64_MAX;
    for (size_t i = 0; i < n; i++) {
        uint8_t t = g[i].q->type;
        if (t == KPI_EV_INVOICE_REVIEWED || t == KPI_EV_BILL_PROCESSED) {
            if (first == NULL || q_before(&g[i], first))
                first = &g[i];
        } else if (t == KPI_EV_BILL_REJECTED && g[i].q->time_s < rej_s) {
            rej_s = g[i].q->time_s;
        } else if (t == KPI_EV_BILL_ESCALATED && g[i].q->time_s < esc_s) {
            esc_s = g[i].q->time_s;
        }
    }
    if (first == NULL || first->q->day < from || first->q->day > to)
        return ERR_OK;
    store_doc_t d;
    err_t e = store_doc_get(snap, kind == STORE_FTQ_INVOICE ? KPI_DOC_INVOICE : KPI_DOC_BILL,
                            g[0].name, &d);
    if (e == ERR_NOT_FOUND || (!e && !d.exists))
        return ERR_OK; /* waiting for its document: it has not taken effect */
    if (e || !wl_name_is(d.business_unit, scope->business_unit) ||
        !wl_name_is(d.party, scope->party) ||
        (scope->currency[0] != '\0' && strcmp(d.currency, scope->currency) != 0))
        return e;
    out->reviewed++;
    unsigned reasons = 0;
    if (kind == STORE_FTQ_INVOICE) {
        if (first->q->result != KPI_RESULT_PASS)
            reasons |= STORE_WL_FAILED_FIRST_REVIEW;
        if (d.corrections > 0)
            reasons |= STORE_WL_CORRECTED;
    } else {
        if (rej_s < first->q->time_s)
            reasons |= STORE_WL_REJECTED;
        if (esc_s < first->q->time_s)
            reasons |= STORE_WL_ESCALATED;
    }
    if (reasons == 0)
        return ERR_OK;
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 256;
        store_wl_quality_row_t *nv = realloc(rows->v, cap * sizeof *nv);
        if (nv == NULL)
            return ERR_NOMEM;
        rows->v = nv;
        rows->cap = cap;
    }
    store_wl_quality_row_t *r = &rows->v[rows->n];
    memset(r, 0, sizeof *r);
    const char *pa = d.party ? d.party : "", *bu = d.business_unit ? d.business_unit : "";
    r->number = kpi_arena_strndup(arena, g[0].name, strlen(g[0].name));
    r->party = kpi_arena_strndup(arena, pa, strlen(pa));
    r->business_unit = kpi_arena_strndup(arena, bu, strlen(bu));
    if (r->number == NULL || r->party == NULL || r->business_unit == NULL)
        return ERR_NOMEM;
    memcpy(r->currency, d.currency, 4);
    r->day = first->q->day;
    r->amount = d.amount_minor;
    r->reasons = reasons;
    r->first_review = kind == STORE_FTQ_INVOICE ? first->q->result : KPI_RESULT_NONE;
    r->corrections = kind == STORE_FTQ_INVOICE ? d.corrections : 0;
    for (int b = 0; b < 4; b++)
        if (reasons & (1u << b))
            out->by_reason[b]++;
    rows->n++;
    return ERR_OK;
}

err_t store_wl_quality(store_snap_t *snap, const store_scope_t *scope, store_ftq_kind_t kind,
                       int32_t from, const store_wl_req_t *rq, kpi_arena_t *arena,
                       store_wl_quality_t *out, err_msg_t *m)
{
    memset(out, 0, sizeof *out);
    err_t e = wl_req_check(STORE_WL_QUALITY, rq, m);
    if (e)
        return e;
    if (kind != STORE_FTQ_INVOICE && kind != STORE_FTQ_BILL)
        return err_set(m, ERR_BAD_PARAM, "parameter 'kind': invoice or bill");
    int32_t latest;
    e = store_latest_day(snap, &latest);
    if (e == ERR_NOT_FOUND)
        return scope->business_unit != NULL || scope->party != NULL ? ERR_NOT_FOUND : ERR_OK;
    if (e)
        return e;
    store_customer_t cu;
    if (scope->party != NULL)
        e = store_customer_get(snap, scope->party, &cu);
    /* An unknown unit is refused as /v1/ftq refuses it. */
    store_ftq_counts_t fc;
    if (!e && scope->business_unit != NULL)
        e = store_ftq_cumulative(snap, kind, scope, &from, 1, &fc);
    if (e)
        return e;
    qcollect_t c = {.kind = kind};
    store_ev_filter_t f = {.party = scope->party,
                           .business_unit = scope->business_unit,
                           .has_to = true,
                           .to_day = rq->as_of};
    e = wl_walk(snap, &f, q_event, &c);
    pq_t *pv = !e && c.n ? malloc(c.n * sizeof *pv) : NULL;
    if (!e && c.n && pv == NULL)
        e = ERR_NOMEM;
    for (size_t i = 0; !e && i < c.n; i++)
        pv[i] = (pq_t){c.names + c.v[i].name, c.names + c.v[i].id, &c.v[i]};
    if (!e && c.n > 1)
        qsort(pv, c.n, sizeof *pv, pq_cmp);
    qrows_t rows = {0};
    for (size_t i = 0; !e && i < c.n;) {
        size_t j = i;
        while (j < c.n && strcmp(pv[j].name, pv[i].name) == 0)
            j++;
        e = q_doc(snap, scope, kind, from, rq->as_of, arena, pv + i, j - i, &rows, out);
        i = j;
    }
    free(pv);
    free(c.v);
    free(c.names);
    ent_t *ents = !e && rows.n ? malloc(rows.n * sizeof *ents) : NULL;
    if (!e && rows.n && ents == NULL)
        e = ERR_NOMEM;
    if (e) {
        free(rows.v);
        return e == ERR_NOMEM ? err_set(m, e, "out of memory") : e;
    }
    for (size_t i = 0; i < rows.n; i++) {
        const store_wl_quality_row_t *r = &rows.v[i];
        ents[i] = (ent_t){{r->day, r->amount, r->party, r->number}, i};
    }
    size_t n;
    void *page;
    e = wl_page(STORE_WL_QUALITY, rq, ents, rows.n, rows.v, sizeof *rows.v, arena, &page, &n,
                &out->more, out->next);
    out->rows = page;
    out->total_count = (int64_t)rows.n;
    free(ents);
    free(rows.v);
    if (e)
        return err_set(m, ERR_NOMEM, "out of memory");
    out->n = n;
    return ERR_OK;
}
