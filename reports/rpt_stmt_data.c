/*
 * rpt_stmt_data.c — gather a customer's statement of account (rpt_int.h,
 * rpt_stmt_t) from one read snapshot, through the store's public reads.
 *
 * Nothing here is new arithmetic: the aging and unapplied cash are
 * store_q_aging's for the scope {currency, unit, customer}, exactly what
 * GET /v1/aging?customer= and GET /v1/customers/{id} print; the open items
 * are read as the customer profile reads them (the open candidates, each
 * checked at the as-of day); the unapplied payments are the unapplied
 * worklist's rows (they add up to the aging's unapplied cash); the
 * payments and credit notes of the period are the customer's events. What
 * is done here is selection (one section per currency with anything to
 * show), ordering, and the one sum the statement adds: total due = open
 * invoices - unapplied cash - unallocated credit notes.
 *
 * Lists grow in the report's arena (doubling, so at most twice the final
 * size is used) and are capped at RPT_STMT_ROWS_MAX rows each.
 */
#include "rpt_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi_date.h"
#include "kpi_money.h"

static const int32_t default_edges[] = {30, 60, 90, 120};

/* What the callbacks of one statement share. */
typedef struct sg {
    store_snap_t *snap;
    kpi_arena_t *arena;
    err_msg_t *msg;
    rpt_stmt_t *st;
    const char *unit;     /* NULL: every unit */
    const char *currency; /* open items: the section being read */
    rpt_stmt_cur_t *cur;  /* open items: the section being filled */
    bool current;         /* as_of >= the latest event day: documents' state is as of it */
    char base[4];         /* what an event without a currency is in */
    size_t cap;           /* of the open items being grown */
    size_t move_cap[RPT_STMT_CURRENCIES_MAX]; /* of each section's moves */
} sg_t;

/* Room for one more element of size `size` in *v (n used, *cap allocated). */
static err_t grow(sg_t *g, void **v, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return ERR_OK;
    if (n >= RPT_STMT_ROWS_MAX)
        return err_set(g->msg, ERR_TOO_LARGE, "the statement would list more than %d rows",
                       RPT_STMT_ROWS_MAX);
    size_t nc = *cap ? *cap * 2 : 64;
    void *nv = kpi_arena_alloc(g->arena, nc * size);
    if (nv == NULL)
        return err_set(g->msg, ERR_NOMEM, "out of memory gathering the statement");
    if (n > 0)
        memcpy(nv, *v, n * size);
    *v = nv;
    *cap = nc;
    return ERR_OK;
}

static const char *dup(sg_t *g, const char *s)
{
    return s ? kpi_arena_strndup(g->arena, s, strlen(s)) : NULL;
}

/* ---- which customer ----------------------------------------------------- */

static err_t saw_one(void *ctx, const store_ev_row_t *row)
{
    (void)row;
    *(bool *)ctx = true;
    return ERR_OK;
}

/* ERR_NOT_FOUND, worded as the customer profile words it, for a customer
   nobody knows or (with a unit) one without an event in that unit. */
static err_t customer_check(sg_t *g, const char *customer)
{
    store_customer_t cu;
    err_t e = store_customer_get(g->snap, customer, &cu);
    bool in_unit = true;
    if (!e && g->unit != NULL) {
        store_ev_filter_t f = {.party = customer, .business_unit = g->unit};
        char next[STORE_CURSOR_BUF];
        in_unit = false;
        e = store_events_list(g->snap, &f, NULL, 1, saw_one, &in_unit, next);
    }
    if (e == ERR_NOT_FOUND || (!e && !in_unit)) {
        if (g->unit != NULL)
            return err_set(g->msg, ERR_NOT_FOUND, "unknown customer '%s' in business unit '%s'",
                           customer, g->unit);
        return err_set(g->msg, ERR_NOT_FOUND, "unknown customer '%s'", customer);
    }
    if (e)
        return err_set(g->msg, e, "cannot read customer '%s': %s", customer, err_str(e));
    return ERR_OK;
}

/* ---- the sections' currencies --------------------------------------------- */

typedef struct codes {
    char v[RPT_STMT_CURRENCIES_MAX][4];
    size_t n;
} codes_t;

static err_t add_code(void *ctx, const char *code)
{
    codes_t *c = ctx;
    if (c->n < RPT_STMT_CURRENCIES_MAX)
        snprintf(c->v[c->n++], 4, "%s", code);
    return ERR_OK; /* more books than a statement has sections: the first ones */
}

static rpt_stmt_cur_t *cur_of(rpt_stmt_t *st, const char *code)
{
    for (size_t i = 0; i < st->n_curs; i++)
        if (strcmp(st->curs[i].currency, code) == 0)
            return &st->curs[i];
    return NULL;
}

/* ---- open items --------------------------------------------------------- */

static err_t on_open(void *ctx, const store_doc_t *doc, const char *number)
{
    sg_t *g = ctx;
    rpt_stmt_cur_t *c = g->cur;
    if (!doc->exists || doc->created_day > g->st->as_of || strcmp(doc->currency, g->currency) != 0)
        return ERR_OK;
    if (g->unit != NULL && (doc->business_unit == NULL || strcmp(doc->business_unit, g->unit) != 0))
        return ERR_OK;
    int64_t open = doc->open_minor;
    err_t e = g->current ? ERR_OK : store_invoice_open_at(g->snap, number, g->st->as_of, &open);
    if (e || open == 0)
        return e;
    e = grow(g, (void **)&c->items, c->n_items, &g->cap, sizeof *c->items);
    if (e)
        return e;
    rpt_stmt_item_t *it = &c->items[c->n_items];
    it->invoice = dup(g, number);
    if (it->invoice == NULL)
        return err_set(g->msg, ERR_NOMEM, "out of memory gathering the statement");
    it->issue_day = doc->created_day;
    it->due_day = doc->due_day;
    int32_t late = doc->due_day == INT32_MIN ? 0 : g->st->as_of - doc->due_day;
    it->days_overdue = late > 0 ? late : 0;
    it->amount = doc->amount_minor;
    it->open = open;
    c->n_items++;
    return ERR_OK;
}

/* Oldest due first (an invoice without a due day by its issue day), then by number. */
static int cmp_item(const void *a, const void *b)
{
    const rpt_stmt_item_t *x = a, *y = b;
    int32_t dx = x->due_day == INT32_MIN ? x->issue_day : x->due_day;
    int32_t dy = y->due_day == INT32_MIN ? y->issue_day : y->due_day;
    if (dx != dy)
        return dx < dy ? -1 : 1;
    return strcmp(x->invoice, y->invoice);
}

/* ---- unapplied payments ----------------------------------------------------- */

static err_t gather_unapplied(sg_t *g, const store_scope_t *sc, rpt_stmt_cur_t *c)
{
    store_wl_pos_t pos;
    store_wl_req_t wrq = {.as_of = g->st->as_of,
                          .sort = STORE_WL_SORT_DAYS,
                          .limit = STORE_WL_LIMIT_MAX,
                          .base_currency = g->base};
    size_t cap = 0;
    for (;;) {
        store_wl_unapplied_t page;
        err_t e = store_wl_unapplied(g->snap, sc, &wrq, g->arena, &page, g->msg);
        if (e == ERR_NOT_FOUND) /* the customer has no payment in this book */
            return ERR_OK;
        if (e)
            return e;
        for (size_t i = 0; i < page.n; i++) {
            e = grow(g, (void **)&c->unapplied, c->n_unapplied, &cap, sizeof *c->unapplied);
            if (e)
                return e;
            c->unapplied[c->n_unapplied++] = page.rows[i];
        }
        if (!page.more)
            return ERR_OK;
        e = store_wl_cursor_decode(page.next, &pos, g->msg);
        if (e)
            return e;
        wrq.after = &pos;
    }
}

/* ---- payments and credit notes of the period ---------------------------------- */

static err_t on_event(void *ctx, const store_ev_row_t *row)
{
    sg_t *g = ctx;
    const kpi_event_t *ev = row->ev;
    bool credit = ev->type == KPI_EV_CREDIT_NOTE_ISSUED;
    if ((!credit && ev->type != KPI_EV_PAYMENT_RECEIVED) || ev->doc == NULL)
        return ERR_OK;
    /* The currency the store resolved for the document (an event may name
       none: then its document's, or the base currency). */
    const char *code = ev->currency[0] ? ev->currency : g->base;
    store_doc_t doc;
    err_t e = store_doc_get(g->snap, credit ? KPI_DOC_CREDIT_NOTE : KPI_DOC_PAYMENT, ev->doc, &doc);
    if (!e && doc.exists && doc.currency[0])
        code = doc.currency;
    else if (e && e != ERR_NOT_FOUND)
        return err_set(g->msg, e, "cannot read document '%s': %s", ev->doc, err_str(e));
    rpt_stmt_cur_t *c = cur_of(g->st, code);
    if (c == NULL) /* a book the statement does not show (currency= given) */
        return ERR_OK;
    size_t *cap = &g->move_cap[c - g->st->curs];
    e = grow(g, (void **)&c->moves, c->n_moves, cap, sizeof *c->moves);
    if (e)
        return e;
    rpt_stmt_move_t *m = &c->moves[c->n_moves];
    m->day = row->day;
    m->credit = credit;
    m->doc = dup(g, ev->doc);
    m->invoice = credit && ev->ref ? dup(g, ev->ref) : NULL;
    m->amount = ev->amount_minor;
    if (m->doc == NULL || (credit && ev->ref && m->invoice == NULL))
        return err_set(g->msg, ERR_NOMEM, "out of memory gathering the statement");
    c->n_moves++;
    return kpi_add_i64(credit ? &c->credited : &c->paid, ev->amount_minor) == ERR_OK
               ? ERR_OK
               : err_set(g->msg, ERR_OVERFLOW, "the period's payments leave the int64 range");
}

/* The customer's events of the period, page by page, into the sections. */
static err_t gather_moves(sg_t *g, const char *customer, int32_t from, int32_t to)
{
    store_ev_filter_t f = {.party = customer,
                           .business_unit = g->unit,
                           .side = STORE_EV_RECEIVABLE,
                           .has_from = true,
                           .has_to = true,
                           .from_day = from,
                           .to_day = to};
    char cursor[STORE_CURSOR_BUF] = "", next[STORE_CURSOR_BUF];
    for (;;) {
        err_t e = store_events_list(g->snap, &f, cursor, 1000, on_event, g, next);
        if (e) /* on_event's own errors carry their message already */
            return g->msg != NULL && g->msg->text[0]
                       ? e
                       : err_set(g->msg, e, "cannot read the customer's events: %s", err_str(e));
        if (next[0] == '\0')
            break;
        memcpy(cursor, next, sizeof cursor);
    }
    return ERR_OK;
}

/* ---- one section ------------------------------------------------------------- */

static err_t gather_cur(sg_t *g, const char *customer, const store_q_aging_req_t *arq,
                        rpt_stmt_cur_t *c)
{
    store_scope_t sc = {.business_unit = g->unit, .party = customer};
    memcpy(sc.currency, c->currency, 4);
    err_t e = store_q_aging(g->snap, &sc, arq, g->arena, &c->aging, g->msg);
    if (e == ERR_NOT_FOUND) { /* nothing of the customer's in this book: zeros */
        memset(&c->aging, 0, sizeof c->aging);
        e = kpi_aging_init(&c->aging.all, arq->edges, arq->n_edges);
    }
    if (e)
        return e;
    g->currency = c->currency;
    g->cur = c;
    g->cap = 0;
    e = store_customer_open_candidates(g->snap, customer, g->st->as_of, on_open, g);
    if (e)
        return e;
    if (c->n_items > 1)
        qsort(c->items, c->n_items, sizeof *c->items, cmp_item);
    e = gather_unapplied(g, &sc, c);
    if (e)
        return e;
    const kpi_aging_t *ag = &c->aging.all;
    c->overdue = ag->total_amount - ag->buckets[0].amount; /* a part of a sum that fits */
    c->total_due = ag->total_amount;
    if (kpi_sub_i64(&c->total_due, c->aging.unapplied_cash) != ERR_OK ||
        kpi_sub_i64(&c->total_due, c->aging.unallocated_credits) != ERR_OK)
        return err_set(g->msg, ERR_OVERFLOW, "the total due leaves the int64 range");
    return ERR_OK;
}

static bool cur_has_anything(const rpt_stmt_cur_t *c)
{
    return c->n_items > 0 || c->n_moves > 0 || c->n_unapplied > 0 ||
           c->aging.all.total_amount != 0 || c->aging.unapplied_cash != 0 ||
           c->aging.unallocated_credits != 0;
}

static err_t gather(sg_t *g, const rpt_request_t *rq, rpt_data_t *d)
{
    rpt_stmt_t *st = &d->stmt;
    err_t e = customer_check(g, rq->customer);
    if (e)
        return e;
    codes_t codes = {.n = 0};
    if (rq->currency[0] != '\0')
        e = add_code(&codes, d->currency);
    else
        e = store_currencies(g->snap, add_code, &codes);
    if (e)
        return err_set(g->msg, e, "cannot read the store's currencies: %s", err_str(e));
    if (codes.n == 0) /* an empty store: one empty section in the base currency */
        e = add_code(&codes, g->base);
    if (e)
        return e;
    st->curs = kpi_arena_alloc(g->arena, codes.n * sizeof *st->curs);
    if (st->curs == NULL)
        return err_set(g->msg, ERR_NOMEM, "out of memory gathering the statement");
    memset(st->curs, 0, codes.n * sizeof *st->curs);
    for (size_t i = 0; i < codes.n; i++) {
        memcpy(st->curs[i].currency, codes.v[i], 4);
        if (kpi_currency_digits(codes.v[i], &st->curs[i].digits) != ERR_OK)
            st->curs[i].digits = 2; /* a code the store accepted has digits */
    }
    st->n_curs = codes.n;
    int32_t latest;
    g->current = store_latest_day(g->snap, &latest) == ERR_OK && st->as_of >= latest;
    e = gather_moves(g, rq->customer, rq->from_day, rq->to_day);
    store_q_aging_req_t arq = {.as_of = st->as_of, .basis = STORE_BASIS_DUE};
    bool own = rq->aging_edges != NULL && rq->n_aging_edges > 0;
    arq.edges = own ? rq->aging_edges : default_edges;
    arq.n_edges = own ? rq->n_aging_edges : 4;
    for (size_t i = 0; !e && i < st->n_curs; i++)
        e = gather_cur(g, rq->customer, &arq, &st->curs[i]);
    if (e)
        return e;
    /* Keep the sections with something to show (the one asked for always);
       a customer with nothing at all keeps one, the base currency's. */
    size_t kept = 0, base = 0;
    for (size_t i = 0; i < st->n_curs; i++) {
        if (strcmp(st->curs[i].currency, g->base) == 0)
            base = i;
        if (rq->currency[0] != '\0' || cur_has_anything(&st->curs[i]))
            st->curs[kept++] = st->curs[i];
    }
    if (kept == 0) {
        st->curs[0] = st->curs[base];
        kept = 1;
    }
    st->n_curs = kept;
    size_t o = 0;
    for (size_t i = 0; i < kept; i++)
        o += (size_t)snprintf(st->currencies + o, sizeof st->currencies - o, "%s%s", i ? ", " : "",
                              st->curs[i].currency);
    memcpy(d->currency, st->curs[0].currency, 4);
    d->digits = st->curs[0].digits;
    return ERR_OK;
}

err_t rpt_stmt_gather(store_t *store, const rpt_request_t *rq, kpi_arena_t *arena, rpt_data_t *d,
                      err_msg_t *msg)
{
    memset(d, 0, sizeof *d);
    d->kind = RPT_STATEMENT;
    char a[KPI_DATE_BUF], b[KPI_DATE_BUF];
    if (rq->customer == NULL || rq->customer[0] == '\0' || strlen(rq->customer) > KPI_NAME_MAX)
        return err_set(msg, ERR_BAD_PARAM, "a statement needs a customer (1 to %d bytes)",
                       KPI_NAME_MAX);
    if (rq->from_day > rq->to_day)
        return err_set(msg, ERR_BAD_PARAM, "the statement's period starts after it ends");
    if (rq->to_day > rq->as_of_day)
        return err_set(msg, ERR_BAD_PARAM, "the statement's period ends on %s, after its as_of %s",
                       kpi_date_format(rq->to_day, a), kpi_date_format(rq->as_of_day, b));
    int32_t gen_day = rpt_generation_day(rq);
    if (rq->as_of_day > gen_day)
        return err_set(msg, ERR_BAD_PARAM,
                       "as_of %s is after today (%s): a statement shows what has happened",
                       kpi_date_format(rq->as_of_day, a), kpi_date_format(gen_day, b));
    if (rq->business_unit != NULL &&
        (rq->business_unit[0] == '\0' || strlen(rq->business_unit) > KPI_NAME_MAX))
        return err_set(msg, ERR_BAD_PARAM, "business unit must be 1 to %d bytes", KPI_NAME_MAX);
    if (rq->currency[0] != '\0') {
        memcpy(d->currency, rq->currency, 3);
        if (strlen(d->currency) != 3 || kpi_currency_digits(d->currency, &d->digits) != ERR_OK)
            return err_set(msg, ERR_BAD_PARAM, "currency '%s' is not an ISO 4217 code",
                           d->currency);
    }
    store_stats_t sts;
    err_t e = store_stats(store, &sts);
    if (e)
        return err_set(msg, e, "cannot read the store: %s", err_str(e));
    d->from = rq->from_day;
    d->to = d->period_to = rq->to_day;
    d->generated_s = rq->generated_s;
    snprintf(d->tz, sizeof d->tz, "%s", sts.tz);
    d->stmt.as_of = rq->as_of_day;
    d->stmt.customer = kpi_arena_strndup(arena, rq->customer, strlen(rq->customer));
    if (rq->business_unit != NULL)
        d->unit = kpi_arena_strndup(arena, rq->business_unit, strlen(rq->business_unit));
    if (d->stmt.customer == NULL || (rq->business_unit != NULL && d->unit == NULL))
        return err_set(msg, ERR_NOMEM, "out of memory");
    sg_t g = {.arena = arena, .msg = msg, .st = &d->stmt, .unit = d->unit};
    memcpy(g.base, sts.base_currency, 4);
    e = store_snap_begin(store, &g.snap);
    if (e)
        return err_set(msg, e, "cannot read the store: %s", err_str(e));
    /* Addressed by the name the customer is known by, the id beside it. */
    store_profile_t pf;
    if (store_party_profile(g.snap, false, d->stmt.customer, &pf) == ERR_OK)
        d->stmt.name = kpi_arena_strndup(arena, pf.name, strlen(pf.name));
    e = gather(&g, rq, d);
    store_snap_end(g.snap);
    return e;
}
