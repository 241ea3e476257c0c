/*
 * api_payables.c — GET /v1/payables/aging and /v1/payables/cash-requirements
 * (docs/kpi.md, "Payables"): the aging of open bills by business unit or
 * vendor, shaped like /v1/aging's answer, and the open bills due per week.
 * Translation only: the figures come from store_query_ap.h.
 *
 * Scope (docs/security.md): a key limited to business units asks about its
 * unit; a vendor with no bill in the unit (and currency) asked reads
 * exactly as one nobody knows. currency=* and reporting_currency= answer
 * every book (or one) converted, with `books` beside (store_query_apfx.h;
 * docs/kpi.md, "Consolidated payables").
 */
#include "api_int.h"
#include "api_params.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kpi.h"
#include "kpi_date.h"
#include "kpi_money.h"
#include "store_kpi.h"
#include "store_query.h"
#include "store_query_ap.h"
#include "store_query_apfx.h"

#define CSV_MAX (64u << 20)
#define WEEKS_DEFAULT 13

typedef struct ap_q {
    api_cur_t cur;    /* currency=, reporting_currency= (cur.fx: consolidated) */
    char currency[4]; /* the answer's: the book's, or the reporting currency */
    int digits;
    const char *unit, *vendor; /* NULL: every unit / vendor */
    int32_t as_of;
    bool csv, bom;
} ap_q_t;

/* currency (one book, or * / reporting_currency: converted), business_unit
   (a scoped key's own), vendor, as_of, format, bom: what both endpoints
   take. */
static err_t p_common(api_req_t *req, ap_q_t *q, err_msg_t *m)
{
    memset(q, 0, sizeof *q);
    const api_opts_t *o = &req->srv->opts;
    err_t ce = api_param_currency(req, true, &q->cur, m);
    if (ce)
        return ce;
    memcpy(q->currency, q->cur.currency, 4);
    q->digits = q->cur.digits;
    err_t e = api_query_name(req, "business_unit", &q->unit, m);
    if (!e)
        e = api_auth_unit(req, q->unit, &q->unit, m);
    if (!e)
        e = api_query_name(req, "vendor", &q->vendor, m);
    q->as_of = kpi_tz_day(o->coll.tz, (int64_t)time(NULL));
    const char *s = api_query(req, "as_of");
    if (!e && s != NULL)
        e = api_param_date("as_of", s, &q->as_of, m);
    if (e)
        return e;
    const char *bad = NULL;
    q->csv = api_wants_csv(req, &e, &bad);
    if (e)
        return err_set(m, ERR_BAD_PARAM, "parameter 'format': '%s' is not json, csv or xlsx", bad);
    s = api_query(req, "bom");
    return s == NULL ? ERR_OK : api_param_bool("bom", s, &q->bom, m);
}

typedef struct find {
    const char *want;
    bool found;
    size_t n;
} find_t;

static err_t find_name(void *ctx, const char *name)
{
    find_t *f = ctx;
    f->found = f->found || strcmp(name, f->want) == 0;
    f->n++;
    return ERR_OK;
}

/* A currency the store has documents in (else 400 listing them; an empty
   store answers zeros), and a unit with documents in it (else 404 listing
   the known ones), as the receivables figures check. */
static err_t book_check(api_req_t *req, store_snap_t *snap, const ap_q_t *q, err_msg_t *m)
{
    /* Consolidated: the one book asked must be there; the unit and vendor
       are the store's to find in any book (ERR_NOT_FOUND: scope_error). */
    const char *book = q->cur.fx ? q->cur.fxq.only : q->currency;
    if (book == NULL)
        return ERR_OK;
    find_t c = {.want = book};
    err_t e = store_currencies(snap, find_name, &c);
    if (e)
        return err_set(m, e, "cannot read the store");
    if (!c.found && c.n > 0) {
        char hint[1200];
        return err_set(m, ERR_BAD_PARAM,
                       "parameter 'currency': the store has no documents in %s%s (or currency=* "
                       "for every book, converted)",
                       book, api_currencies_hint(req, book, hint, sizeof hint));
    }
    if (q->unit == NULL || c.n == 0 || q->cur.fx)
        return ERR_OK;
    find_t u = {.want = q->unit};
    e = store_business_units(snap, q->currency, find_name, &u);
    if (e)
        return err_set(m, e, "cannot read the store");
    if (u.found)
        return ERR_OK;
    char hint[1200];
    return err_set(m, ERR_NOT_FOUND, "unknown business unit '%s'%s", q->unit,
                   api_units_hint(req, q->currency, q->unit, hint, sizeof hint));
}

/* The store's ERR_NOT_FOUND: the unit was checked first, so it is the vendor. */
static enum MHD_Result scope_error(api_req_t *req, const ap_q_t *q, err_t e, const err_msg_t *m)
{
    /* Consolidated: the books read are every one, or the one asked. */
    const char *books = !q->cur.fx                ? q->currency
                        : q->cur.fxq.only != NULL ? q->cur.fxq.only
                                                  : "any currency";
    if (e == ERR_NOT_FOUND && q->vendor != NULL && q->unit != NULL)
        return api_send_error(req, e, "unknown vendor '%s' in business unit '%s' (no bills in %s)",
                              q->vendor, q->unit, books);
    if (e == ERR_NOT_FOUND && q->vendor != NULL)
        return api_send_error(req, e, "unknown vendor '%s' (no bills in %s)", q->vendor, books);
    if (e == ERR_NOT_FOUND && q->unit != NULL) {
        char hint[1200];
        return api_send_error(req, e, "unknown business unit '%s'%s", q->unit,
                              api_units_hint(req, q->currency, q->unit, hint, sizeof hint));
    }
    return api_send_error(req, e, "%s", err_msg_or(m, e));
}

/* CSV, or XLSX made from it (format=xlsx): sheets named "payables-aging"
   and "cash-requirements". */
static enum MHD_Result send_csv(api_req_t *req, api_buf_t *b, const char *sheet)
{
    return api_send_table(req, b, sheet, NULL);
}

/* A snapshot with the book checked; *snap NULL when the store cannot be read. */
static err_t begin(api_req_t *req, const ap_q_t *q, store_snap_t **snap, err_msg_t *m)
{
    *snap = NULL;
    err_t e = store_snap_begin(req->srv->opts.store, snap);
    if (e) {
        *snap = NULL;
        return err_set(m, e, "cannot read the store");
    }
    return book_check(req, *snap, q, m);
}

/* ---- aging ------------------------------------------------------------------ */

static json_t *j_buckets(const kpi_aging_t *ag, int digits)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < ag->n_buckets; i++) {
        char lab[32];
        json_t *o = json_object();
        json_object_set_new(o, "label",
                            json_string(kpi_bucket_label(&ag->buckets[i], lab, sizeof lab)));
        json_object_set_new(o, "amount", api_j_money(ag->buckets[i].amount, digits));
        json_object_set_new(o, "count", json_integer(ag->buckets[i].count));
        json_array_append_new(arr, o);
    }
    return arr;
}

static json_t *j_total(int64_t amount, int64_t count, int digits)
{
    json_t *o = json_object();
    json_object_set_new(o, "amount", api_j_money(amount, digits));
    json_object_set_new(o, "count", json_integer(count));
    return o;
}

static void csv_count(api_buf_t *b, int64_t n)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", (long long)n);
    api_buf_csv_num(b, buf);
}

/* layout=long: one row per group and bucket, then its total. */
static void csv_long_rows(api_buf_t *b, const char *group, const kpi_aging_t *ag, int digits)
{
    char buf[KPI_AMOUNT_BUF], lab[32];
    for (size_t i = 0; i <= ag->n_buckets; i++) {
        bool total = i == ag->n_buckets;
        api_buf_csv_field(b, group);
        api_buf_str(b, ",");
        api_buf_csv_field(b, total ? "total" : kpi_bucket_label(&ag->buckets[i], lab, sizeof lab));
        api_buf_str(b, ",");
        api_buf_csv_num(
            b, kpi_amount_format(total ? ag->total_amount : ag->buckets[i].amount, digits, buf));
        api_buf_str(b, ",");
        csv_count(b, total ? ag->total_count : ag->buckets[i].count);
        api_buf_str(b, "\r\n");
    }
}

/* The books behind a consolidated aging: each one's rate and its own
   buckets and total, unconverted. */
static json_t *j_aging_books(const store_q_ap_aging_fx_t *fx)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < fx->n_books; i++) {
        const store_q_book_t *bk = &fx->books[i];
        int dg;
        if (kpi_currency_digits(bk->currency, &dg) != ERR_OK)
            dg = 2; /* the store only keeps books in known codes */
        json_t *o = api_j_book_rate(bk);
        json_object_set_new(o, "buckets", j_buckets(&bk->aging, dg));
        json_object_set_new(o, "total", j_total(bk->aging.total_amount, bk->aging.total_count, dg));
        json_array_append_new(arr, o);
    }
    return arr;
}

typedef struct ap_aging_p {
    int basis, group_by, layout;
    int32_t edges[API_EDGES_MAX];
    size_t n_edges;
    api_aging_page_t pg; /* sort, limit, cursor */
} ap_aging_p_t;

static const char *const groups[] = {"none", "business_unit", "vendor", NULL};

static err_t p_page(api_req_t *req, ap_aging_p_t *a, err_msg_t *m)
{
    return api_param_aging_page(
        api_query(req, "sort"), api_query(req, "limit"), api_query(req, "cursor"),
        a->group_by == STORE_Q_AP_GROUP_NONE ? NULL : groups[a->group_by],
        "group_by=vendor or group_by=business_unit", a->edges, a->n_edges, &a->pg, m);
}

static err_t p_aging(api_req_t *req, ap_aging_p_t *a, err_msg_t *m)
{
    memset(a, 0, sizeof *a);
    static const char *const bases[] = {"due_date", "bill_date", NULL};
    static const char *const layouts[] = {"wide", "long", NULL};
    const char *s = api_query(req, "basis");
    err_t e = s == NULL ? ERR_OK : api_param_word("basis", s, bases, &a->basis, m);
    s = api_query(req, "group_by");
    if (!e && s != NULL)
        e = api_param_word("group_by", s, groups, &a->group_by, m);
    s = api_query(req, "layout");
    if (!e && s != NULL)
        e = api_param_word("layout", s, layouts, &a->layout, m);
    if (!e)
        e = api_aging_edges(req, a->edges, &a->n_edges, m);
    return e ? e : p_page(req, a, m);
}

enum MHD_Result api_payables_aging_get(api_req_t *req)
{
    err_msg_t m = {{0}};
    ap_q_t q;
    ap_aging_p_t a;
    err_t e = p_common(req, &q, &m);
    if (!e)
        e = p_aging(req, &a, &m);
    if (e)
        return api_send_error(req, e, "%s", m.text);
    store_snap_t *snap;
    e = begin(req, &q, &snap, &m);
    store_scope_t sc = {.business_unit = q.unit, .party = q.vendor};
    memcpy(sc.currency, q.currency, 4);
    store_q_ap_aging_req_t rq = {q.as_of, (store_basis_t)a.basis, a.edges, a.n_edges,
                                 (store_q_ap_group_t)a.group_by};
    store_q_ap_aging_t ag;
    store_q_ap_aging_fx_t fx = {0};
    if (!e && q.cur.fx) {
        e = store_q_ap_aging_fx(snap, &sc, &rq, &q.cur.fxq, req->arena, &fx, &m);
        ag = fx.conv;
        if (e == ERR_NOT_FOUND) /* no book knows the unit or vendor */
            m.text[0] = '\0';
    } else if (!e) {
        e = store_q_ap_aging(snap, &sc, &rq, req->arena, &ag, &m);
    }
    size_t *idx = NULL;
    size_t shown = 0;
    if (!e) {
        idx = kpi_arena_alloc(req->arena, (ag.n_groups ? ag.n_groups : 1) * sizeof *idx);
        if (idx == NULL ||
            api_aging_order(ag.groups, ag.keys, ag.n_groups, &a.pg.sort,
                            a.pg.has_from ? &a.pg.from : NULL, idx, &shown) != ERR_OK)
            e = err_set(&m, ERR_NOMEM, "out of memory");
    }
    /* Vendors' names (vendor.updated), looked up before the snapshot ends. */
    bool named = !e && a.group_by == STORE_Q_AP_GROUP_VENDOR;
    const char **names =
        named ? kpi_arena_alloc(req->arena, (shown ? shown : 1) * sizeof *names) : NULL;
    if (named && names == NULL)
        e = err_set(&m, ERR_NOMEM, "out of memory");
    for (size_t i = 0; names != NULL && i < shown; i++)
        names[i] = api_party_name(req, snap, true, ag.keys[idx[i]]);
    if (snap != NULL)
        store_snap_end(snap);
    if (e && m.text[0] != '\0') /* book_check's, or bad edges */
        return api_send_error(req, e, "%s", m.text);
    if (e)
        return scope_error(req, &q, e, &m);

    /* A second line of defence: a scoped key's store query is its unit's. */
    size_t vis = 0;
    for (size_t i = 0; i < shown; i++)
        if (a.group_by != STORE_Q_AP_GROUP_UNIT || api_auth_unit_allowed(req, ag.keys[idx[i]])) {
            if (names != NULL)
                names[vis] = names[i];
            idx[vis++] = idx[i];
        }
    shown = vis;
    char next[API_AGING_CURSOR_BUF] = "";
    if (a.pg.limit > 0 && shown > a.pg.limit) {
        shown = a.pg.limit;
        size_t last = idx[shown - 1];
        api_aging_cursor_make(&a.pg.sort, &ag.groups[last], ag.keys[last], next, sizeof next);
    }
    if (q.csv) {
        api_buf_t b;
        api_csv_start(&b, CSV_MAX, q.bom);
        if (a.layout == 1) {
            api_buf_str(&b, "group,bucket,amount,count\r\n");
            csv_long_rows(&b, "all", &ag.all, q.digits);
            for (size_t i = 0; i < shown; i++)
                csv_long_rows(&b, ag.keys[idx[i]], &ag.groups[idx[i]], q.digits);
        } else {
            api_csv_aging_header(&b, a.group_by == 0 ? "group" : groups[a.group_by], named,
                                 &ag.all);
            if (a.group_by == 0)
                api_csv_aging_row(&b, "all", false, NULL, &ag.all, q.digits, q.as_of, q.currency);
            for (size_t i = 0; i < shown; i++)
                api_csv_aging_row(&b, ag.keys[idx[i]], named, names ? names[i] : NULL,
                                  &ag.groups[idx[i]], q.digits, q.as_of, q.currency);
        }
        return send_csv(req, &b, "payables-aging");
    }
    static const char *const bases[] = {"due_date", "bill_date"};
    json_t *root = json_object();
    json_object_set_new(root, "as_of", api_j_date(q.as_of));
    json_object_set_new(root, "basis", json_string(bases[a.basis]));
    json_object_set_new(root, "currency", json_string(q.currency));
    if (q.unit)
        json_object_set_new(root, "business_unit", json_string(q.unit));
    if (q.vendor)
        json_object_set_new(root, "vendor", json_string(q.vendor));
    json_object_set_new(root, "buckets", j_buckets(&ag.all, q.digits));
    json_object_set_new(root, "total", j_total(ag.all.total_amount, ag.all.total_count, q.digits));
    if (q.cur.fx)
        json_object_set_new(root, "books", j_aging_books(&fx));
    if (a.group_by != 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < shown; i++) {
            const kpi_aging_t *g = &ag.groups[idx[i]];
            json_t *o = json_object();
            json_object_set_new(o, "key", json_string(ag.keys[idx[i]]));
            if (named)
                json_object_set_new(o, "name", names[i] ? json_string(names[i]) : json_null());
            json_object_set_new(o, "buckets", j_buckets(g, q.digits));
            json_object_set_new(o, "total", j_total(g->total_amount, g->total_count, q.digits));
            json_array_append_new(arr, o);
        }
        json_object_set_new(root, "group_by", json_string(groups[a.group_by]));
        json_object_set_new(root, "groups", arr);
        if (a.pg.paged) {
            json_object_set_new(root, "sort", json_string(a.pg.sort_name));
            json_object_set_new(root, "next_cursor", next[0] ? json_string(next) : json_null());
        }
    }
    return api_send_json(req, MHD_HTTP_OK, root);
}

/* ---- cash requirements ------------------------------------------------------ */

/* `weeks`: digits only, 1..STORE_Q_AP_WEEKS_MAX. */
static err_t p_weeks(api_req_t *req, size_t *weeks, err_msg_t *m)
{
    const char *s = api_query(req, "weeks");
    *weeks = WEEKS_DEFAULT;
    if (s == NULL)
        return ERR_OK;
    size_t v = 0, i = 0;
    for (; s[i] >= '0' && s[i] <= '9' && v <= STORE_Q_AP_WEEKS_MAX; i++)
        v = v * 10 + (size_t)(s[i] - '0');
    if (i == 0 || s[i] != '\0' || v < 1 || v > STORE_Q_AP_WEEKS_MAX)
        return err_set(m, ERR_BAD_PARAM, "parameter 'weeks': '%.40s' is not a whole number 1 to %d",
                       s, STORE_Q_AP_WEEKS_MAX);
    *weeks = v;
    return ERR_OK;
}

static json_t *j_line(const store_q_ap_line_t *l, int digits)
{
    json_t *o = json_object();
    json_object_set_new(o, "from", l->start == INT32_MIN ? json_null() : api_j_date(l->start));
    json_object_set_new(o, "to", l->end == INT32_MAX ? json_null() : api_j_date(l->end));
    json_object_set_new(o, "amount", api_j_money(l->amount, digits));
    json_object_set_new(o, "count", json_integer(l->count));
    return o;
}

/* A book behind consolidated cash requirements: its rate and its own
   lines, unconverted. */
static json_t *j_cashreq_book(const store_q_book_t *bk, const store_q_ap_cashreq_t *own)
{
    int dg;
    if (kpi_currency_digits(bk->currency, &dg) != ERR_OK)
        dg = 2;
    json_t *o = api_j_book_rate(bk), *arr = json_array();
    json_object_set_new(o, "overdue", j_line(&own->overdue, dg));
    for (size_t i = 0; i < own->n_weeks; i++)
        json_array_append_new(arr, j_line(&own->weeks[i], dg));
    json_object_set_new(o, "due", arr);
    json_object_set_new(o, "later", j_line(&own->later, dg));
    json_object_set_new(o, "total", j_total(own->total_amount, own->total_count, dg));
    return o;
}

static void csv_line(api_buf_t *b, const char *what, const store_q_ap_line_t *l, const ap_q_t *q)
{
    char buf[KPI_AMOUNT_BUF];
    api_buf_csv_field(b, what);
    api_buf_str(b, ",");
    if (l->start != INT32_MIN)
        api_buf_csv_field(b, kpi_date_format(l->start, buf));
    api_buf_str(b, ",");
    if (l->end != INT32_MAX)
        api_buf_csv_field(b, kpi_date_format(l->end, buf));
    api_buf_str(b, ",");
    api_buf_csv_num(b, kpi_amount_format(l->amount, q->digits, buf));
    api_buf_str(b, ",");
    csv_count(b, l->count);
    api_buf_str(b, ",");
    api_buf_csv_field(b, q->currency);
    api_buf_str(b, "\r\n");
}

enum MHD_Result api_payables_cashreq_get(api_req_t *req)
{
    err_msg_t m = {{0}};
    ap_q_t q;
    size_t weeks;
    err_t e = p_common(req, &q, &m);
    if (!e)
        e = p_weeks(req, &weeks, &m);
    if (e)
        return api_send_error(req, e, "%s", m.text);
    store_q_ap_cashreq_fx_t *fx = kpi_arena_alloc(req->arena, sizeof *fx);
    if (fx == NULL)
        return api_send_error(req, ERR_NOMEM, "out of memory");
    memset(fx, 0, sizeof *fx);
    store_q_ap_cashreq_t *c = &fx->conv;
    store_snap_t *snap;
    e = begin(req, &q, &snap, &m);
    store_scope_t sc = {.business_unit = q.unit, .party = q.vendor};
    memcpy(sc.currency, q.currency, 4);
    if (!e && q.cur.fx) {
        e = store_q_ap_cashreq_fx(snap, &sc, q.as_of, weeks, &q.cur.fxq, req->arena, fx, &m);
        if (e == ERR_NOT_FOUND) /* no book knows the unit or vendor */
            m.text[0] = '\0';
    } else if (!e) {
        e = store_q_ap_cashreq(snap, &sc, q.as_of, weeks, req->arena, c, &m);
    }
    if (snap != NULL)
        store_snap_end(snap);
    if (e && m.text[0] != '\0')
        return api_send_error(req, e, "%s", m.text);
    if (e)
        return scope_error(req, &q, e, &m);
    if (q.csv) {
        api_buf_t b;
        api_csv_start(&b, CSV_MAX, q.bom);
        api_buf_str(&b, "line,from,to,amount,count,currency\r\n");
        csv_line(&b, "overdue", &c->overdue, &q);
        for (size_t i = 0; i < c->n_weeks; i++) {
            char what[32];
            snprintf(what, sizeof what, "week %zu", i + 1);
            csv_line(&b, what, &c->weeks[i], &q);
        }
        csv_line(&b, "later", &c->later, &q);
        store_q_ap_line_t all = {INT32_MIN, INT32_MAX, c->total_amount, c->total_count};
        csv_line(&b, "total", &all, &q);
        return send_csv(req, &b, "cash-requirements");
    }
    json_t *root = json_object(), *arr = json_array();
    json_object_set_new(root, "as_of", api_j_date(q.as_of));
    json_object_set_new(root, "currency", json_string(q.currency));
    if (q.unit)
        json_object_set_new(root, "business_unit", json_string(q.unit));
    if (q.vendor)
        json_object_set_new(root, "vendor", json_string(q.vendor));
    json_object_set_new(root, "weeks", json_integer((json_int_t)c->n_weeks));
    json_object_set_new(root, "overdue", j_line(&c->overdue, q.digits));
    for (size_t i = 0; i < c->n_weeks; i++)
        json_array_append_new(arr, j_line(&c->weeks[i], q.digits));
    json_object_set_new(root, "due", arr);
    json_object_set_new(root, "later", j_line(&c->later, q.digits));
    json_object_set_new(root, "total", j_total(c->total_amount, c->total_count, q.digits));
    if (q.cur.fx) {
        json_t *books = json_array();
        for (size_t i = 0; i < fx->n_books; i++)
            json_array_append_new(books, j_cashreq_book(&fx->books[i], &fx->own[i]));
        json_object_set_new(root, "books", books);
    }
    return api_send_json(req, MHD_HTTP_OK, root);
}

const char *const api_payables_aging_params[] = {
    "as_of", "basis",  "buckets", "business_unit", "vendor",   "group_by",           "sort",
    "limit", "cursor", "layout",  "bom",           "currency", "reporting_currency", "format",
    NULL};
const char *const api_payables_cashreq_params[] = {"as_of",  "weeks",    "business_unit",
                                                   "vendor", "currency", "reporting_currency",
                                                   "format", "bom",      NULL};
