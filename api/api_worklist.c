/*
 * api_worklist.c — GET /v1/worklists/overdue, /unapplied, /quality and /sla
 * (docs/worklists.md): the open invoices past due at a day, the payments
 * with unapplied cash, the documents that failed first-time quality, the
 * SLA items breached or completed late; one row each, sorted and paged
 * with a cursor, as JSON or CSV. Translation only: the rows and their
 * totals come from store_worklist.h, which makes them add up to the
 * overdue part of /v1/aging, its unapplied_cash, /v1/ftq's reviewed -
 * passed and /v1/sla's breached_open and completed - met.
 *
 * Scope: a key limited to business units sees the list of its unit (as for
 * every KPI); a customer with nothing in the unit reads as unknown. Credit
 * standing is the whole customer's, across units, so `on_credit_hold` is
 * null for such a key, as the customer profile withholds `credit`.
 */
#include "api_int.h"
#include "api_params.h"

#include <stdio.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "kpi.h"
#include "kpi_date.h"
#include "kpi_fx.h"
#include "kpi_money.h"
#include "store_query.h"
#include "store_worklist.h"

#define CSV_MAX (64u << 20)

/* The aging bucket label of d days past due (the aging's own labels). */
static const char *bucket_of(const kpi_aging_t *ag, int32_t d, char *buf, size_t cap)
{
    for (size_t i = 0; i < ag->n_buckets; i++)
        if (d >= ag->buckets[i].lo && d <= ag->buckets[i].hi)
            return kpi_bucket_label(&ag->buckets[i], buf, cap);
    return "";
}

typedef struct wl_q {
    char currency[4]; /* the book's, or (fx) the reporting currency */
    int digits;       /* of `currency` */
    /* Consolidated (currency=* or reporting_currency=; overdue and
       unapplied only): every book, each row converted (store_worklist.h). */
    bool fx;
    store_q_fx_t fxq;
    char only[4]; /* fxq.only's storage */
    const char *unit, *party;
    int32_t as_of;
    int sort;
    size_t limit;
    store_wl_pos_t after;
    bool has_after;
    int32_t edges[API_EDGES_MAX];
    size_t n_edges;
    kpi_aging_t ag; /* the buckets of those edges, for the labels */
    bool csv;
} wl_q_t;

/* fx_ok: the list takes currency=* and reporting_currency (api_param_currency). */
static err_t parse(api_req_t *req, bool fx_ok, wl_q_t *q, err_msg_t *m)
{
    memset(q, 0, sizeof *q);
    const api_opts_t *o = &req->srv->opts;
    api_cur_t c;
    err_t e = api_param_currency(req, fx_ok, &c, m);
    if (!e)
        api_cur_unpack(&c, q->currency, &q->digits, &q->fx, &q->fxq, q->only);
    if (!e)
        e = api_query_name(req, "business_unit", &q->unit, m);
    if (!e)
        e = api_auth_unit(req, q->unit, &q->unit, m);
    if (!e)
        e = api_query_name(req, "customer", &q->party, m);
    static const char *const sorts[] = {"-days", "-amount", "customer", NULL};
    const char *s = api_query(req, "sort");
    if (!e && s != NULL)
        e = api_param_word("sort", s, sorts, &q->sort, m);
    q->limit = STORE_WL_LIMIT_DEFAULT;
    s = api_query(req, "limit");
    if (!e && s != NULL)
        e = api_param_limit(s, &q->limit, m);
    s = api_query(req, "cursor");
    if (!e && s != NULL) {
        e = store_wl_cursor_decode(s, &q->after, m);
        q->has_after = !e;
    }
    /* as_of defaults to the cursor's day, so that paging keeps its day
       across midnight; else to today. */
    q->as_of = q->has_after ? q->after.as_of : kpi_tz_day(o->coll.tz, (int64_t)time(NULL));
    s = api_query(req, "as_of");
    if (!e && s != NULL)
        e = api_param_date("as_of", s, &q->as_of, m);
    if (!e) {
        if (o->aging_edges != NULL && o->n_aging_edges > 0 && o->n_aging_edges <= API_EDGES_MAX) {
            memcpy(q->edges, o->aging_edges, o->n_aging_edges * sizeof *q->edges);
            q->n_edges = o->n_aging_edges;
        } else {
            static const int32_t def[] = {30, 60, 90, 120};
            memcpy(q->edges, def, sizeof def);
            q->n_edges = 4;
        }
        s = api_query(req, "buckets");
        if (s != NULL)
            e = api_param_edges(s, q->edges, &q->n_edges, m);
        if (!e && kpi_aging_init(&q->ag, q->edges, q->n_edges) != ERR_OK)
            e = err_set(m, ERR_BAD_PARAM, "parameter 'buckets': bad edges");
    }
    if (e)
        return e;
    const char *bad = NULL;
    q->csv = api_wants_csv(req, &e, &bad);
    if (e)
        return err_set(m, ERR_BAD_PARAM, "parameter 'format': '%s' is not json, csv or xlsx", bad);
    return ERR_OK;
}

/* ERR_NOT_FOUND when a customer is named with a unit and has no event in
   it: it then reads exactly as an unknown one (docs/security.md). */
static err_t party_in_unit(store_snap_t *snap, const wl_q_t *q)
{
    return api_party_in_unit(snap, q->party, q->unit);
}

/* The store's view of q: its scope (with q's currency, or every currency),
   the list request (as of q->as_of; consolidated with q->fx), and a
   snapshot in which a customer named with a unit has been checked
   (party_in_unit) and, with `book`, q's one book (api_book_check: a
   currency the store has no documents in is refused, message in m).
   *snap is NULL when the store cannot be read; else the caller ends it. */
static err_t wl_begin(api_req_t *req, const wl_q_t *q, bool currency, bool book,
                      store_snap_t **snap, store_scope_t *sc, store_wl_req_t *rq, err_msg_t *m)
{
    *sc = (store_scope_t){.business_unit = q->unit, .party = q->party};
    if (currency)
        memcpy(sc->currency, q->currency, 4);
    *rq = (store_wl_req_t){.as_of = q->as_of,
                           .sort = (store_wl_sort_t)q->sort,
                           .after = q->has_after ? &q->after : NULL,
                           .limit = q->limit,
                           .base_currency = req->srv->opts.coll.base_currency,
                           .fx = q->fx ? &q->fxq : NULL};
    *snap = NULL;
    err_t e = store_snap_begin(req->srv->opts.store, snap);
    if (e) {
        *snap = NULL;
        return e;
    }
    /* A currency the store has no documents in is refused as the KPIs
       refuse it; a known unit with nothing in the book has an empty list
       (a key limited to it keeps its drill-downs in every book). */
    if (book && !q->fx)
        e = api_book_check(req, *snap, q->currency, NULL, m);
    return e ? e : party_in_unit(*snap, q);
}

/* units_of: the book whose units an unknown unit's message lists (NULL:
   every book's). A 404 with a message (api_book_check's) keeps it. */
static enum MHD_Result scope_error(api_req_t *req, const wl_q_t *q, err_t e, const err_msg_t *m,
                                   const char *units_of)
{
    if (e == ERR_NOT_FOUND && m->text[0] == '\0') {
        if (q->party != NULL && q->unit != NULL)
            return api_send_error(req, e, "unknown customer '%s' in business unit '%s'", q->party,
                                  q->unit);
        if (q->party != NULL)
            return api_send_error(req, e, "unknown customer '%s'", q->party);
        if (q->unit != NULL) {
            char hint[1200];
            return api_send_error(req, e, "unknown business unit '%s'%s", q->unit,
                                  api_units_hint(req, units_of, q->unit, hint, sizeof hint));
        }
    }
    return api_send_error(req, e, "%s", err_msg_or(m, e));
}

static int doc_digits(const char *currency, int fallback)
{
    int dg;
    return kpi_currency_digits(currency, &dg) == ERR_OK ? dg : fallback;
}

/* ",amount" in the row's currency. */
static void csv_money(api_buf_t *b, int64_t v, int digits)
{
    char buf[KPI_AMOUNT_BUF];
    api_buf_str(b, ",");
    api_buf_str(b, kpi_amount_format(v, digits, buf));
}

/* A consolidated row's ",converted,reporting_currency". */
static void csv_reporting(api_buf_t *b, const wl_q_t *q, int64_t v)
{
    if (!q->fx)
        return;
    csv_money(b, v, q->digits);
    api_buf_str(b, ",");
    api_buf_str(b, q->currency);
}

static void csv_row(api_buf_t *b, const wl_q_t *q, const store_wl_overdue_row_t *r,
                    const char *name, bool scoped)
{
    char buf[KPI_AMOUNT_BUF], lab[32];
    int dg = doc_digits(r->currency, q->digits);
    api_buf_csv_field(b, r->invoice);
    api_buf_str(b, ",");
    api_buf_csv_field(b, r->customer);
    api_buf_str(b, ",");
    api_buf_csv_field(b, name);
    api_buf_str(b, ",");
    api_buf_csv_field(b, r->business_unit);
    if (q->fx) {
        api_buf_str(b, ",");
        api_buf_str(b, r->currency);
    }
    api_buf_str(b, ",");
    api_buf_str(b, kpi_date_format(r->issue_day, buf));
    api_buf_str(b, ",");
    api_buf_str(b, kpi_date_format(r->due_day, buf));
    api_buf_str(b, ",");
    snprintf(buf, sizeof buf, "%d", (int)r->days_past_due);
    api_buf_str(b, buf);
    api_buf_str(b, ",");
    api_buf_str(b, bucket_of(&q->ag, r->days_past_due, lab, sizeof lab));
    csv_money(b, r->amount, dg);
    csv_money(b, r->open, dg);
    csv_reporting(b, q, r->open_reporting);
    api_buf_str(b, ",");
    api_buf_str(b, r->disputed ? "true" : "false");
    api_buf_str(b, ",");
    api_buf_str(b, scoped ? "" : r->on_hold ? "true" : "false");
    api_buf_str(b, ",");
    if (r->last_payment_day != INT32_MIN)
        api_buf_str(b, kpi_date_format(r->last_payment_day, buf));
    if (r->last_payment_day != INT32_MIN)
        csv_money(b, r->last_payment_amount, dg);
    else
        api_buf_str(b, ",");
    api_buf_str(b, "\r\n");
}

static json_t *j_row(const wl_q_t *q, const store_wl_overdue_row_t *r, const char *name,
                     bool scoped)
{
    char lab[32];
    int dg = doc_digits(r->currency, q->digits);
    json_t *o = json_object();
    json_object_set_new(o, "invoice", json_string(r->invoice));
    json_object_set_new(o, "customer", json_string(r->customer));
    json_object_set_new(o, "customer_name", name ? json_string(name) : json_null());
    json_object_set_new(o, "business_unit", json_string(r->business_unit));
    json_object_set_new(o, "currency", json_string(r->currency));
    json_object_set_new(o, "issue_date", api_j_date(r->issue_day));
    json_object_set_new(o, "due_date", api_j_date(r->due_day));
    json_object_set_new(o, "days_past_due", json_integer(r->days_past_due));
    json_object_set_new(o, "bucket",
                        json_string(bucket_of(&q->ag, r->days_past_due, lab, sizeof lab)));
    json_object_set_new(o, "amount", api_j_money(r->amount, dg));
    json_object_set_new(o, "open", api_j_money(r->open, dg));
    if (q->fx)
        json_object_set_new(o, "open_reporting", api_j_money(r->open_reporting, q->digits));
    json_object_set_new(o, "disputed", json_boolean(r->disputed));
    json_object_set_new(o, "on_credit_hold", scoped ? json_null() : json_boolean(r->on_hold));
    json_t *lp = json_null();
    if (r->last_payment_day != INT32_MIN) {
        lp = json_object();
        json_object_set_new(lp, "date", api_j_date(r->last_payment_day));
        json_object_set_new(lp, "amount", api_j_money(r->last_payment_amount, dg));
    }
    json_object_set_new(o, "last_payment", lp);
    return o;
}

/* The books of a consolidated list: each one's rate for as_of and its
   rows' count and amount in its own currency. */
static json_t *j_books(const store_wl_book_t *bs, size_t n)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        char rb[KPI_RATE_BUF];
        json_t *o = json_object(), *t = json_object();
        json_object_set_new(o, "currency", json_string(bs[i].currency));
        json_object_set_new(o, "rate", json_string(kpi_rate_format(bs[i].rate, rb)));
        json_object_set_new(o, "rate_date",
                            bs[i].rate_day == INT32_MIN ? json_null() : api_j_date(bs[i].rate_day));
        json_object_set_new(o, "stale", json_boolean(bs[i].stale));
        json_object_set_new(t, "amount", api_j_money(bs[i].amount, doc_digits(bs[i].currency, 2)));
        json_object_set_new(t, "count", json_integer(bs[i].count));
        json_object_set_new(o, "total", t);
        json_array_append_new(arr, o);
    }
    return arr;
}

/* Names of the rows' parties (customer.updated / vendor.updated), looked up
   while the snapshot is open: parties[i] is row i's, stride bytes apart. */
static const char **row_names(api_req_t *req, store_snap_t *snap, bool vendor, const void *rows,
                              size_t stride, size_t off, size_t n)
{
    const char **v = kpi_arena_alloc(req->arena, (n ? n : 1) * sizeof *v);
    for (size_t i = 0; v != NULL && i < n; i++) {
        const char *party;
        memcpy(&party, (const char *)rows + i * stride + off, sizeof party);
        v[i] = api_party_name(req, snap, vendor, party);
    }
    return v;
}

/* The page's header fields, shared by the lists. */
static json_t *j_head(const wl_q_t *q)
{
    json_t *root = json_object();
    json_object_set_new(root, "as_of", api_j_date(q->as_of));
    json_object_set_new(root, "currency", json_string(q->currency));
    if (q->unit)
        json_object_set_new(root, "business_unit", json_string(q->unit));
    if (q->party)
        json_object_set_new(root, "customer", json_string(q->party));
    json_object_set_new(root, "sort", json_string(store_wl_sort_names[q->sort]));
    return root;
}

static json_t *j_totals(int64_t amount, int64_t count, int digits)
{
    json_t *total = json_object();
    json_object_set_new(total, "amount", api_j_money(amount, digits));
    json_object_set_new(total, "count", json_integer(count));
    return total;
}

static enum MHD_Result send_csv_page(api_req_t *req, api_buf_t *b, bool more, const char *next)
{
    if (b->failed) {
        api_buf_free(b);
        return api_send_error(req, ERR_TOO_LARGE, "CSV page too large; lower 'limit'");
    }
    /* The cursor of the next page travels in a header. */
    const char *h[] = {"X-Next-Cursor", next, NULL};
    return api_send_table(req, b, NULL, more ? h : NULL); /* CSV, or XLSX made from it */
}

enum MHD_Result api_worklist_overdue_get(api_req_t *req)
{
    err_msg_t m = {{0}};
    wl_q_t q;
    err_t e = parse(req, true, &q, &m);
    if (e)
        return api_send_error(req, e, "%s", m.text);
    store_snap_t *snap;
    store_scope_t sc;
    store_wl_req_t rq;
    store_wl_overdue_t w;
    e = wl_begin(req, &q, true, true, &snap, &sc, &rq, &m);
    if (snap == NULL)
        return api_send_error(req, e, "cannot read the store");
    if (!e)
        e = store_wl_overdue(snap, &sc, &rq, req->arena, &w, &m);
    const char **names = e ? NULL
                           : row_names(req, snap, false, w.rows, sizeof *w.rows,
                                       offsetof(store_wl_overdue_row_t, customer), w.n);
    store_snap_end(snap);
    if (!e && names == NULL)
        e = err_set(&m, ERR_NOMEM, "out of memory");
    if (e)
        return scope_error(req, &q, e, &m, q.fx ? q.fxq.only : q.currency);
    bool scoped = api_auth_scoped(req);
    if (q.csv) {
        api_buf_t b;
        api_buf_init(&b, CSV_MAX);
        api_buf_str(&b, "invoice,customer,customer_name,business_unit,");
        api_buf_str(&b, q.fx ? "currency," : "");
        api_buf_str(&b, "issue_date,due_date,days_past_due,bucket,amount,open,");
        api_buf_str(&b, q.fx ? "open_reporting,reporting_currency," : "");
        api_buf_str(&b, "disputed,on_credit_hold,last_payment_date,last_payment_amount\r\n");
        for (size_t i = 0; i < w.n; i++)
            csv_row(&b, &q, &w.rows[i], names[i], scoped);
        return send_csv_page(req, &b, w.more, w.next);
    }
    json_t *root = j_head(&q), *items = json_array();
    for (size_t i = 0; i < w.n; i++)
        json_array_append_new(items, j_row(&q, &w.rows[i], names[i], scoped));
    json_object_set_new(root, "items", items);
    json_object_set_new(root, "total", j_totals(w.total_amount, w.total_count, q.digits));
    if (q.fx)
        json_object_set_new(root, "books", j_books(w.books, w.n_books));
    json_object_set_new(root, "next_cursor", w.more ? json_string(w.next) : json_null());
    return api_send_json(req, MHD_HTTP_OK, root);
}

enum MHD_Result api_worklist_unapplied_get(api_req_t *req)
{
    err_msg_t m = {{0}};
    wl_q_t q;
    err_t e = parse(req, true, &q, &m);
    if (e)
        return api_send_error(req, e, "%s", m.text);
    store_snap_t *snap;
    store_scope_t sc;
    store_wl_req_t rq;
    store_wl_unapplied_t w;
    e = wl_begin(req, &q, true, true, &snap, &sc, &rq, &m);
    if (snap == NULL)
        return api_send_error(req, e, "cannot read the store");
    if (!e)
        e = store_wl_unapplied(snap, &sc, &rq, req->arena, &w, &m);
    const char **names = e ? NULL
                           : row_names(req, snap, false, w.rows, sizeof *w.rows,
                                       offsetof(store_wl_unapplied_row_t, customer), w.n);
    store_snap_end(snap);
    if (!e && names == NULL)
        e = err_set(&m, ERR_NOMEM, "out of memory");
    if (e)
        return scope_error(req, &q, e, &m, q.fx ? q.fxq.only : q.currency);
    char buf[KPI_AMOUNT_BUF];
    if (q.csv) {
        api_buf_t b;
        api_buf_init(&b, CSV_MAX);
        api_buf_str(&b, "payment,customer,customer_name,business_unit,");
        api_buf_str(&b, q.fx ? "currency," : "");
        api_buf_str(&b, "received_date,age_days,amount,unapplied");
        api_buf_str(&b, q.fx ? ",unapplied_reporting,reporting_currency\r\n" : "\r\n");
        for (size_t i = 0; i < w.n; i++) {
            const store_wl_unapplied_row_t *r = &w.rows[i];
            int dg = doc_digits(r->currency, q.digits);
            api_buf_csv_field(&b, r->payment);
            api_buf_str(&b, ",");
            api_buf_csv_field(&b, r->customer);
            api_buf_str(&b, ",");
            api_buf_csv_field(&b, names[i]);
            api_buf_str(&b, ",");
            api_buf_csv_field(&b, r->business_unit);
            if (q.fx) {
                api_buf_str(&b, ",");
                api_buf_str(&b, r->currency);
            }
            api_buf_str(&b, ",");
            api_buf_str(&b, kpi_date_format(r->received_day, buf));
            api_buf_str(&b, ",");
            snprintf(buf, sizeof buf, "%d", (int)r->age_days);
            api_buf_str(&b, buf);
            csv_money(&b, r->amount, dg);
            csv_money(&b, r->unapplied, dg);
            csv_reporting(&b, &q, r->unapplied_reporting);
            api_buf_str(&b, "\r\n");
        }
        return send_csv_page(req, &b, w.more, w.next);
    }
    json_t *root = j_head(&q), *items = json_array();
    for (size_t i = 0; i < w.n; i++) {
        const store_wl_unapplied_row_t *r = &w.rows[i];
        int dg = doc_digits(r->currency, q.digits);
        json_t *o = json_object();
        json_object_set_new(o, "payment", json_string(r->payment));
        json_object_set_new(o, "customer", json_string(r->customer));
        json_object_set_new(o, "customer_name", names[i] ? json_string(names[i]) : json_null());
        json_object_set_new(o, "business_unit", json_string(r->business_unit));
        json_object_set_new(o, "currency", json_string(r->currency));
        json_object_set_new(o, "received_date", api_j_date(r->received_day));
        json_object_set_new(o, "age_days", json_integer(r->age_days));
        json_object_set_new(o, "amount", api_j_money(r->amount, dg));
        json_object_set_new(o, "unapplied", api_j_money(r->unapplied, dg));
        if (q.fx)
            json_object_set_new(o, "unapplied_reporting",
                                api_j_money(r->unapplied_reporting, q.digits));
        json_array_append_new(items, o);
    }
    json_object_set_new(root, "items", items);
    json_object_set_new(root, "total", j_totals(w.total_amount, w.total_count, q.digits));
    if (q.fx)
        json_object_set_new(root, "books", j_books(w.books, w.n_books));
    json_object_set_new(root, "next_cursor", w.more ? json_string(w.next) : json_null());
    return api_send_json(req, MHD_HTTP_OK, root);
}

const char *const api_worklist_unapplied_params[] = {
    "as_of", "business_unit", "customer", "currency", "reporting_currency",
    "sort",  "limit",         "cursor",   "format",   NULL};

const char *const api_worklist_overdue_params[] = {
    "as_of",  "business_unit", "customer", "currency", "reporting_currency", "sort", "limit",
    "cursor", "buckets",       "format",   NULL};

/* ---- quality --------------------------------------------------------------------------- */

enum MHD_Result api_worklist_quality_get(api_req_t *req)
{
    err_msg_t m = {{0}};
    static const char *const kinds[] = {"invoice", "bill", NULL};
    int kind = 0;
    const char *s = api_query(req, "kind");
    err_t e = s == NULL ? ERR_OK : api_param_word("kind", s, kinds, &kind, &m);
    wl_q_t q;
    if (!e)
        e = parse(req, false, &q, &m);
    /* Documents are counted whatever their currency, as /v1/ftq counts
       them: currency= narrows the list only when given. */
    bool any_currency = api_query(req, "currency") == NULL;
    /* The party is a customer for invoices, a vendor for bills. */
    const char *vendor = NULL;
    if (!e)
        e = api_query_name(req, "vendor", &vendor, &m);
    if (!e && kind == 0 && vendor != NULL)
        e = err_set(&m, ERR_BAD_PARAM, "parameter 'vendor': for kind=bill; invoices take customer");
    if (!e && kind == 1 && q.party != NULL)
        e = err_set(&m, ERR_BAD_PARAM, "parameter 'customer': for kind=invoice; bills take vendor");
    if (!e && kind == 1)
        q.party = vendor;
    /* The period: from, to (default the 12 months to today; with a cursor,
       to defaults to the cursor's day). */
    kpi_period_t *periods = NULL;
    api_periods_t ap = {0};
    char tobuf[KPI_DATE_BUF];
    const char *to = api_query(req, "to");
    if (!e && to == NULL && q.has_after)
        to = kpi_date_format(q.after.as_of, tobuf);
    if (!e) {
        periods = kpi_arena_alloc(req->arena, STORE_Q_PERIODS_MAX * sizeof *periods);
        e = periods == NULL
                ? err_set(&m, ERR_NOMEM, "out of memory")
                : api_param_periods(api_query(req, "from"), to, NULL,
                                    kpi_tz_day(req->srv->opts.coll.tz, (int64_t)time(NULL)),
                                    periods, STORE_Q_PERIODS_MAX, &ap, &m);
    }
    if (e)
        return api_send_error(req, e, "%s", m.text);
    q.as_of = ap.to;
    store_snap_t *snap;
    store_scope_t sc;
    store_wl_req_t rq;
    store_wl_quality_t w;
    e = wl_begin(req, &q, !any_currency, !any_currency, &snap, &sc, &rq, &m);
    if (snap == NULL)
        return api_send_error(req, e, "cannot read the store");
    if (!e)
        e = store_wl_quality(snap, &sc, kind == 0 ? STORE_FTQ_INVOICE : STORE_FTQ_BILL, ap.from,
                             &rq, req->arena, &w, &m);
    const char **names = e ? NULL
                           : row_names(req, snap, kind == 1, w.rows, sizeof *w.rows,
                                       offsetof(store_wl_quality_row_t, party), w.n);
    store_snap_end(snap);
    if (!e && names == NULL)
        e = err_set(&m, ERR_NOMEM, "out of memory");
    if (e == ERR_NOT_FOUND && kind == 1 && q.party != NULL)
        return q.unit ? api_send_error(req, e, "unknown vendor '%s' in business unit '%s'", q.party,
                                       q.unit)
                      : api_send_error(req, e, "unknown vendor '%s'", q.party);
    if (e)
        return scope_error(req, &q, e, &m, any_currency ? NULL : q.currency);
    int first = kind == 0 ? 0 : 2; /* the reasons of this kind */
    char buf[KPI_AMOUNT_BUF];
    if (q.csv) {
        api_buf_t b;
        api_buf_init(&b, CSV_MAX);
        api_buf_str(&b, kind == 0 ? "invoice,customer,customer_name" : "bill,vendor,vendor_name");
        api_buf_str(&b, ",business_unit,currency,date,amount,reasons,first_review,corrections\r\n");
        for (size_t i = 0; i < w.n; i++) {
            const store_wl_quality_row_t *r = &w.rows[i];
            api_buf_csv_field(&b, r->number);
            api_buf_str(&b, ",");
            api_buf_csv_field(&b, r->party);
            api_buf_str(&b, ",");
            api_buf_csv_field(&b, names[i]);
            api_buf_str(&b, ",");
            api_buf_csv_field(&b, r->business_unit);
            api_buf_str(&b, ",");
            api_buf_str(&b, r->currency);
            api_buf_str(&b, ",");
            api_buf_str(&b, kpi_date_format(r->day, buf));
            api_buf_str(&b, ",");
            api_buf_str(&b, kpi_amount_format(r->amount, doc_digits(r->currency, q.digits), buf));
            api_buf_str(&b, ",");
            bool sep = false;
            for (int k = 0; k < 4; k++)
                if (r->reasons & (1u << k)) {
                    api_buf_str(&b, sep ? ";" : "");
                    api_buf_str(&b, store_wl_reason_names[k]);
                    sep = true;
                }
            api_buf_str(&b, ",");
            if (kind == 0) {
                api_buf_str(&b, kpi_result_name((kpi_review_result_t)r->first_review));
                snprintf(buf, sizeof buf, ",%u", (unsigned)r->corrections);
                api_buf_str(&b, buf);
            } else {
                api_buf_str(&b, ",");
            }
            api_buf_str(&b, "\r\n");
        }
        return send_csv_page(req, &b, w.more, w.next);
    }
    json_t *root = json_object(), *items = json_array(), *by = json_object();
    json_object_set_new(root, "kind", json_string(kinds[kind]));
    json_object_set_new(root, "from", api_j_date(ap.from));
    json_object_set_new(root, "to", api_j_date(ap.to));
    if (!any_currency)
        json_object_set_new(root, "currency", json_string(q.currency));
    if (q.unit)
        json_object_set_new(root, "business_unit", json_string(q.unit));
    if (q.party)
        json_object_set_new(root, kind == 0 ? "customer" : "vendor", json_string(q.party));
    json_object_set_new(root, "sort", json_string(store_wl_sort_names[q.sort]));
    for (size_t i = 0; i < w.n; i++) {
        const store_wl_quality_row_t *r = &w.rows[i];
        json_t *o = json_object(), *rs = json_array();
        json_object_set_new(o, "document", json_string(r->number));
        json_object_set_new(o, "party", json_string(r->party));
        json_object_set_new(o, "party_name", names[i] ? json_string(names[i]) : json_null());
        json_object_set_new(o, "business_unit", json_string(r->business_unit));
        json_object_set_new(o, "currency", json_string(r->currency));
        json_object_set_new(o, "date", api_j_date(r->day));
        json_object_set_new(o, "amount", api_j_money(r->amount, doc_digits(r->currency, q.digits)));
        for (int k = 0; k < 4; k++)
            if (r->reasons & (1u << k))
                json_array_append_new(rs, json_string(store_wl_reason_names[k]));
        json_object_set_new(o, "reasons", rs);
        if (kind == 0) {
            json_object_set_new(o, "first_review",
                                json_string(kpi_result_name((kpi_review_result_t)r->first_review)));
            json_object_set_new(o, "corrections", json_integer(r->corrections));
        }
        json_array_append_new(items, o);
    }
    json_object_set_new(root, "items", items);
    for (int k = first; k < first + 2; k++)
        json_object_set_new(by, store_wl_reason_names[k], json_integer(w.by_reason[k]));
    json_object_set_new(root, "by_reason", by);
    json_object_set_new(root, "reviewed", json_integer(w.reviewed));
    json_object_set_new(root, "total", json_pack("{sI}", "count", (json_int_t)w.total_count));
    json_object_set_new(root, "next_cursor", w.more ? json_string(w.next) : json_null());
    return api_send_json(req, MHD_HTTP_OK, root);
}

const char *const api_worklist_quality_params[] = {
    "kind",     "from", "to",    "business_unit", "customer", "vendor",
    "currency", "sort", "limit", "cursor",        "format",   NULL};

/* ---- SLA ----------------------------------------------------------------------------- */

enum MHD_Result api_worklist_sla_get(api_req_t *req)
{
    err_msg_t m = {{0}};
    wl_q_t q;
    err_t e = parse(req, false, &q, &m);
    /* Items are late by days; there is no amount to sort by. */
    if (!e && q.sort == STORE_WL_SORT_AMOUNT)
        e = err_set(&m, ERR_BAD_PARAM, "parameter 'sort': -days or customer for the SLA list");
    if (e)
        return api_send_error(req, e, "%s", m.text);
    const kpi_sla_def_t *defs;
    size_t nd = store_sla_defs(req->srv->opts.store, &defs), which = nd;
    const char *name = api_query(req, "sla");
    for (size_t i = 0; name != NULL && i < nd; i++)
        if (strcmp(name, defs[i].name) == 0)
            which = i;
    if (name == NULL)
        return api_send_error(req, ERR_BAD_PARAM, "parameter 'sla' is required");
    if (which == nd)
        return api_send_error(req, ERR_BAD_PARAM,
                              "parameter 'sla': '%s' is not an SLA of this "
                              "server (GET /v1/meta lists them)",
                              name);
    kpi_period_t *periods = kpi_arena_alloc(req->arena, STORE_Q_PERIODS_MAX * sizeof *periods);
    api_periods_t ap = {0};
    char tobuf[KPI_DATE_BUF];
    const char *to = api_query(req, "to");
    if (to == NULL && q.has_after)
        to = kpi_date_format(q.after.as_of, tobuf);
    e = periods == NULL ? err_set(&m, ERR_NOMEM, "out of memory")
                        : api_param_periods(api_query(req, "from"), to, NULL,
                                            kpi_tz_day(req->srv->opts.coll.tz, (int64_t)time(NULL)),
                                            periods, STORE_Q_PERIODS_MAX, &ap, &m);
    if (e)
        return api_send_error(req, e, "%s", m.text);
    q.as_of = ap.to;
    store_snap_t *snap;
    store_scope_t sc;
    store_wl_req_t rq;
    store_wl_sla_t w;
    e = wl_begin(req, &q, true, false, &snap, &sc, &rq, &m);
    if (snap == NULL)
        return api_send_error(req, e, "cannot read the store");
    if (!e)
        e = store_wl_sla(snap, &sc, which, ap.from, &rq, req->arena, &w, &m);
    /* An SLA's documents are invoices or bills: the party is a customer or
       a vendor, whichever has a profile. */
    const char **names = e ? NULL
                           : row_names(req, snap, false, w.rows, sizeof *w.rows,
                                       offsetof(store_wl_sla_row_t, party), w.n);
    for (size_t i = 0; names != NULL && i < w.n; i++)
        if (names[i] == NULL)
            names[i] = api_party_name(req, snap, true, w.rows[i].party);
    store_snap_end(snap);
    if (!e && names == NULL)
        e = err_set(&m, ERR_NOMEM, "out of memory");
    if (e)
        return scope_error(req, &q, e, &m, NULL);
    char buf[KPI_DATE_BUF + 16];
    if (q.csv) {
        api_buf_t b;
        api_buf_init(&b, CSV_MAX);
        api_buf_str(&b, "document,party,party_name,business_unit,status,start_date,target_date,"
                        "stop_date,business_days_late\r\n");
        for (size_t i = 0; i < w.n; i++) {
            const store_wl_sla_row_t *r = &w.rows[i];
            api_buf_csv_field(&b, r->number);
            api_buf_str(&b, ",");
            api_buf_csv_field(&b, r->party);
            api_buf_str(&b, ",");
            api_buf_csv_field(&b, names[i]);
            api_buf_str(&b, ",");
            api_buf_csv_field(&b, r->business_unit);
            api_buf_str(&b, r->open ? ",breached_open," : ",completed_late,");
            api_buf_str(&b, kpi_date_format(r->start_day, buf));
            api_buf_str(&b, ",");
            api_buf_str(&b, kpi_date_format(r->target_day, buf));
            api_buf_str(&b, ",");
            if (!r->open)
                api_buf_str(&b, kpi_date_format(r->stop_day, buf));
            snprintf(buf, sizeof buf, ",%d\r\n", (int)r->days_late);
            api_buf_str(&b, buf);
        }
        return send_csv_page(req, &b, w.more, w.next);
    }
    json_t *root = json_object(), *items = json_array();
    json_object_set_new(root, "sla", json_string(defs[which].name));
    json_object_set_new(root, "from", api_j_date(ap.from));
    json_object_set_new(root, "to", api_j_date(ap.to));
    if (q.unit)
        json_object_set_new(root, "business_unit", json_string(q.unit));
    if (q.party)
        json_object_set_new(root, "customer", json_string(q.party));
    json_object_set_new(root, "sort", json_string(store_wl_sort_names[q.sort]));
    for (size_t i = 0; i < w.n; i++) {
        const store_wl_sla_row_t *r = &w.rows[i];
        json_t *o = json_object();
        json_object_set_new(o, "document", json_string(r->number));
        json_object_set_new(o, "party", json_string(r->party));
        json_object_set_new(o, "party_name", names[i] ? json_string(names[i]) : json_null());
        json_object_set_new(o, "business_unit", json_string(r->business_unit));
        json_object_set_new(o, "status", json_string(r->open ? "breached_open" : "completed_late"));
        json_object_set_new(o, "start_date", api_j_date(r->start_day));
        json_object_set_new(o, "target_date", api_j_date(r->target_day));
        json_object_set_new(o, "stop_date", r->open ? json_null() : api_j_date(r->stop_day));
        json_object_set_new(o, "business_days_late", json_integer(r->days_late));
        json_array_append_new(items, o);
    }
    json_object_set_new(root, "items", items);
    json_object_set_new(root, "breached_open", json_integer(w.breached_open));
    json_object_set_new(root, "completed_late", json_integer(w.completed_late));
    json_object_set_new(root, "total", json_pack("{sI}", "count", (json_int_t)w.total_count));
    json_object_set_new(root, "next_cursor", w.more ? json_string(w.next) : json_null());
    return api_send_json(req, MHD_HTTP_OK, root);
}

const char *const api_worklist_sla_params[] = {
    "sla", "from", "to", "business_unit", "customer", "sort", "limit", "cursor", "format", NULL};
