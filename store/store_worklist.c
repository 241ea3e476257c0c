/*
 * store_worklist.c — worklists (store_worklist.h): the rows are gathered
 * from the store's public reads (customers with open-amount history, each
 * one's open-invoice candidates, invoices' open amounts at a day, disputes,
 * credit standing, the event log for the last payment), sorted and paged.
 */
#include "store_worklist.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_query.h"

const char *const store_wl_sort_names[] = {"-days", "-amount", "customer", NULL};

/* ---- cursors ---------------------------------------------------------------- */

/* Token = hex of "w1|sort|as_of|days|amount|len(customer)|customer invoice". */
void store_wl_cursor_encode(const store_wl_pos_t *pos, char *buf)
{
    char raw[48 + 2 * KPI_NAME_MAX + 1];
    int n = snprintf(raw, sizeof raw, "w1|%d|%" PRId32 "|%" PRId32 "|%" PRId64 "|%zu|%s%s",
                     (int)pos->sort, pos->as_of, pos->days, pos->amount, strlen(pos->customer),
                     pos->customer, pos->invoice);
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
    int sort, used = -1;
    int32_t as_of, days;
    int64_t amount;
    size_t clen;
    if (strlen(raw) != len / 2 ||
        sscanf(raw, "w1|%d|%" SCNd32 "|%" SCNd32 "|%" SCNd64 "|%zu|%n", &sort, &as_of, &days,
               &amount, &clen, &used) != 5 ||
        used < 0 || sort < 0 || sort > STORE_WL_SORT_CUSTOMER || clen > KPI_NAME_MAX)
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': not a cursor of this list");
    const char *rest = raw + used;
    size_t rlen = strlen(rest);
    if (rlen < clen + 1 || rlen - clen > KPI_NAME_MAX)
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': not a cursor of this list");
    pos->sort = (store_wl_sort_t)sort;
    pos->as_of = as_of;
    pos->days = days;
    pos->amount = amount;
    memcpy(pos->customer, rest, clen);
    pos->customer[clen] = '\0';
    memcpy(pos->invoice, rest + clen, rlen - clen + 1);
    return ERR_OK;
}

/* ---- sort keys ----------------------------------------------------------------- */

typedef struct key {
    int32_t days;
    int64_t amount;
    const char *customer, *invoice;
} key_t_;

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
    return c != 0 ? c : strcmp(a->invoice, b->invoice);
}

static key_t_ row_key(const store_wl_overdue_row_t *r)
{
    key_t_ k = {r->days_past_due, r->open, r->customer, r->invoice};
    return k;
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
    int64_t total;
} gather_t;

static err_t gather_invoice(void *ctx, const store_doc_t *d, const char *number)
{
    gather_t *g = ctx;
    if (!d->exists || d->kind != KPI_DOC_INVOICE || d->created_day > g->as_of ||
        d->due_day == INT32_MIN || (int64_t)g->as_of - d->due_day < 1 ||
        strcmp(d->currency, g->scope->currency) != 0)
        return ERR_OK;
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
    r->issue_day = d->created_day;
    r->due_day = d->due_day;
    r->days_past_due = g->as_of - d->due_day;
    r->amount = d->amount_minor;
    r->open = open;
    r->last_payment_day = INT32_MIN;
    if (__builtin_add_overflow(g->total, open, &g->total))
        return ERR_OVERFLOW;
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
    pay_ctx_t pc = {scope->currency, rq->base_currency, INT32_MIN, 0};
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

static int by_customer(const void *a, const void *b)
{
    const store_wl_overdue_row_t *x = *(store_wl_overdue_row_t *const *)a;
    const store_wl_overdue_row_t *y = *(store_wl_overdue_row_t *const *)b;
    return strcmp(x->customer, y->customer);
}

/* qsort has no context argument (and a global would be shared by the
   HTTP workers): one comparator per sort. */
#define BY_KEY(name, sort)                                                                         \
    static int name(const void *a, const void *b)                                                  \
    {                                                                                              \
        key_t_ x = row_key(a), y = row_key(b);                                                     \
        return key_cmp(sort, &x, &y);                                                              \
    }
BY_KEY(by_days, STORE_WL_SORT_DAYS)
BY_KEY(by_amount, STORE_WL_SORT_AMOUNT)
BY_KEY(by_customer_key, STORE_WL_SORT_CUSTOMER)

/* Fill disputed, on_hold and the last payment of the page's rows: one pass
   per distinct customer, rows grouped by customer in a scratch copy. */
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
        while (j < n && strcmp(p[j]->customer, p[i]->customer) == 0) {
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

err_t store_wl_overdue(store_snap_t *snap, const store_scope_t *scope, const store_wl_req_t *rq,
                       kpi_arena_t *arena, store_wl_overdue_t *out, err_msg_t *m)
{
    memset(out, 0, sizeof *out);
    if (rq->limit < 1 || rq->limit > STORE_WL_LIMIT_MAX)
        return err_set(m, ERR_BAD_PARAM, "parameter 'limit': must be 1 to %d", STORE_WL_LIMIT_MAX);
    if (rq->sort > STORE_WL_SORT_CUSTOMER || (rq->after != NULL && rq->after->sort != rq->sort))
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': made for another sort");
    if (rq->after != NULL && rq->after->as_of != rq->as_of)
        return err_set(m, ERR_BAD_PARAM, "parameter 'cursor': made for another as_of");
    gather_t g = {.snap = snap, .scope = scope, .as_of = rq->as_of, .arena = arena};
    int32_t latest;
    err_t e = store_latest_day(snap, &latest);
    if (e == ERR_NOT_FOUND) {
        /* Nothing stored yet: a unit or customer named is unknown. */
        return scope->business_unit != NULL || scope->party != NULL ? ERR_NOT_FOUND : ERR_OK;
    }
    if (e)
        return e;
    g.current = rq->as_of >= latest;
    store_q_names_t ns = {.arena = arena};
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
        g.customer = ns.v[i];
        e = store_customer_open_candidates(snap, ns.v[i], rq->as_of, gather_invoice, &g);
    }
    if (e) {
        free(g.v);
        return e == ERR_NOMEM ? err_set(m, e, "out of memory") : e;
    }
    int (*const cmps[])(const void *, const void *) = {by_days, by_amount, by_customer_key};
    if (g.n > 1)
        qsort(g.v, g.n, sizeof *g.v, cmps[rq->sort]);
    size_t start = 0;
    if (rq->after != NULL) {
        key_t_ after = {rq->after->days, rq->after->amount, rq->after->customer,
                        rq->after->invoice};
        size_t lo = 0, hi = g.n; /* the first row whose key is > after */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            key_t_ k = row_key(&g.v[mid]);
            if (key_cmp(rq->sort, &k, &after) <= 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        start = lo;
    }
    size_t n = g.n - start < rq->limit ? g.n - start : rq->limit;
    out->total_count = (int64_t)g.n;
    out->total_amount = g.total;
    out->rows = n ? kpi_arena_alloc(arena, n * sizeof *out->rows) : NULL;
    if (n && out->rows == NULL) {
        free(g.v);
        return err_set(m, ERR_NOMEM, "out of memory");
    }
    if (n)
        memcpy(out->rows, g.v + start, n * sizeof *out->rows);
    out->n = n;
    free(g.v);
    out->more = start + n < (size_t)out->total_count;
    if (out->more) {
        const store_wl_overdue_row_t *last = &out->rows[n - 1];
        store_wl_pos_t pos = {.sort = rq->sort,
                              .as_of = rq->as_of,
                              .days = last->days_past_due,
                              .amount = last->open};
        snprintf(pos.customer, sizeof pos.customer, "%s", last->customer);
        snprintf(pos.invoice, sizeof pos.invoice, "%s", last->invoice);
        store_wl_cursor_encode(&pos, out->next);
    }
    e = page_facts(snap, scope, rq, out->rows, n);
    return e == ERR_NOMEM ? err_set(m, e, "out of memory") : e;
}
