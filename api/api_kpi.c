/*
 * api_kpi.c — the KPI endpoints of docs/openapi.json: /v1/aging, /v1/dso, /v1/cei,
 * /v1/dpo, /v1/rollforward, /v1/sla, /v1/ftq and /v1/customers/{id}.
 *
 * Translation only: parameters are parsed and checked here (a bad one is a
 * 400 naming it), the numbers come from the store's derived state
 * (store_kpi.h) combined by the pure KPI functions (kpi.h). Every ratio is
 * exact until printed; it is printed rounded half away from zero to two
 * decimals (docs/kpi.md). An undefined value is null with its reason.
 */
#include "api_int.h"
#include "api_params.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kpi.h"
#include "kpi_date.h"
#include "kpi_fx.h"
#include "kpi_money.h"
#include "kpi_suggest.h"
#include "store_kpi.h"
#include "store_query.h"
#include "store_query_fx.h"
#include "store_query_seg.h"

#define MAX_PERIODS STORE_Q_PERIODS_MAX
#define CSV_MAX (64u << 20)

/* ---- parameters ------------------------------------------------------------- */

typedef struct q {
    char currency[4]; /* the answer's currency: the book's, or the reporting one */
    int digits;
    /* Consolidated (currency=* or reporting_currency=): the books converted
       into `currency` (store_query_fx.h). */
    bool fx;
    store_q_fx_t fxq;
    /* SLA and FTQ: counts of documents of every currency, so no currency
       (docs/kpi.md, "Counts and currencies"). */
    bool counts;
    char only[4];           /* fxq.only's storage */
    const char *unit;       /* business_unit filter or NULL */
    const char *party;      /* customer (vendor for /v1/dpo) filter or NULL */
    const char *party_what; /* "customer" or "vendor": for messages */
    int32_t today;          /* in the reporting zone */
    bool csv;
    bool bom;        /* bom=true: the CSV starts with the UTF-8 byte order mark */
    bool by_segment; /* /v1/dso?group_by=segment */
} q_t;

static int32_t today(const api_req_t *req)
{
    return kpi_tz_day(req->srv->opts.coll.tz, (int64_t)time(NULL));
}

static err_t p_date(api_req_t *req, const char *name, int32_t def, int32_t *out, err_msg_t *m)
{
    const char *s = api_query(req, name);
    *out = def;
    return s == NULL ? ERR_OK : api_param_date(name, s, out, m);
}

/* One of a fixed list of words; *out = its index, def when absent. */
static err_t p_word(api_req_t *req, const char *name, const char *const *words, int def, int *out,
                    err_msg_t *m)
{
    const char *s = api_query(req, name);
    *out = def;
    return s == NULL ? ERR_OK : api_param_word(name, s, words, out, m);
}

err_t api_query_name(api_req_t *req, const char *name, const char **out, err_msg_t *m)
{
    const char *s = api_query(req, name);
    *out = s;
    return s == NULL ? ERR_OK : api_param_name(name, s, m);
}

/* ---- what the store knows, for messages ---------------------------------- */

typedef struct known {
    store_q_names_t ns;
    api_req_t *req;
    store_snap_t *snap;
} known_t;

static err_t known_unit(void *ctx, const char *name)
{
    known_t *k = ctx;
    return api_auth_unit_allowed(k->req, name) ? store_q_names_add(&k->ns, name) : ERR_OK;
}

/* A currency is known to a scoped key only through a unit it may see. */
static err_t known_currency(void *ctx, const char *code)
{
    known_t *k = ctx;
    if (api_auth_scoped(k->req)) {
        known_t u = {{.arena = k->req->arena}, k->req, k->snap};
        err_t e = store_business_units(k->snap, code, known_unit, &u);
        if (e || u.ns.n == 0)
            return e;
    }
    return store_q_names_add(&k->ns, code);
}

static char *hint_of(const char *asked, const store_q_names_t *ns, const char *what,
                     const char *tail, char *buf, size_t cap)
{
    char dym[KPI_NAME_MAX + 24], list[1024];
    api_did_you_mean(asked, ns->v, ns->n, dym, sizeof dym);
    kpi_suggest_list(ns->v, ns->n, 20, list, sizeof list);
    snprintf(buf, cap, "%s; %s: %s%s", dym, what, ns->n ? list : "none yet", tail);
    return buf;
}

/* The units of one more book (currency=NULL in api_units_hint: every book). */
static err_t known_units_of(void *ctx, const char *code)
{
    known_t *k = ctx;
    return store_business_units(k->snap, code, known_unit, k);
}

char *api_units_hint(api_req_t *req, const char *currency, const char *asked, char *buf, size_t cap)
{
    buf[0] = '\0';
    known_t k = {{.arena = req->arena}, req, NULL};
    if (store_snap_begin(req->srv->opts.store, &k.snap) != ERR_OK)
        return buf;
    err_t e = currency != NULL ? store_business_units(k.snap, currency, known_unit, &k)
                               : store_currencies(k.snap, known_units_of, &k);
    store_snap_end(k.snap);
    if (e)
        return buf;
    store_q_names_sort(&k.ns);
    size_t n = 0; /* a unit of several books once */
    for (size_t i = 0; i < k.ns.n; i++)
        if (n == 0 || strcmp(k.ns.v[n - 1], k.ns.v[i]) != 0)
            k.ns.v[n++] = k.ns.v[i];
    k.ns.n = n;
    char what[48];
    if (currency != NULL)
        snprintf(what, sizeof what, "known business units in %s", currency);
    else
        snprintf(what, sizeof what, "known business units");
    return hint_of(asked, &k.ns, what, " (names are case-sensitive)", buf, cap);
}

char *api_currencies_hint(api_req_t *req, const char *asked, char *buf, size_t cap)
{
    buf[0] = '\0';
    known_t k = {{.arena = req->arena}, req, NULL};
    if (store_snap_begin(req->srv->opts.store, &k.snap) != ERR_OK)
        return buf;
    err_t e = store_currencies(k.snap, known_currency, &k);
    store_snap_end(k.snap);
    if (e)
        return buf;
    return hint_of(asked, &k.ns, "currencies with data", "", buf, cap);
}

err_t api_param_currency(api_req_t *req, bool fx_ok, api_cur_t *c, err_msg_t *m)
{
    memset(c, 0, sizeof *c);
    const char *cur = api_query(req, "currency");
    const char *rep = api_query(req, "reporting_currency");
    const char *base = req->srv->opts.coll.base_currency;
    int dg;
    if (cur != NULL && strcmp(cur, "*") != 0 &&
        (strlen(cur) != 3 || kpi_currency_digits(cur, &dg) != ERR_OK)) {
        char hint[1200];
        return err_set(m, ERR_BAD_PARAM,
                       "parameter 'currency': '%s' is not an ISO 4217 code%s (or * for every "
                       "book, converted)",
                       cur, api_currencies_hint(req, cur, hint, sizeof hint));
    }
    if (rep != NULL && (strlen(rep) != 3 || kpi_currency_digits(rep, &dg) != ERR_OK)) {
        char hint[1200];
        return err_set(m, ERR_BAD_PARAM,
                       "parameter 'reporting_currency': '%s' is not an ISO 4217 code%s", rep,
                       api_currencies_hint(req, rep, hint, sizeof hint));
    }
    c->fx = rep != NULL || (cur != NULL && strcmp(cur, "*") == 0);
    if (c->fx && !fx_ok)
        return err_set(m, ERR_BAD_PARAM,
                       "parameter 'currency': every book converted (*) is available on "
                       "/v1/aging, /v1/dso, /v1/cei, /v1/dpo, /v1/rollforward, /v1/payables and "
                       "the overdue and unapplied worklists; here, ask for one book (a "
                       "currency code)");
    if (c->fx) {
        const char *target = rep != NULL ? rep : base;
        memcpy(c->fxq.target, target, 4);
        if (cur != NULL && strcmp(cur, "*") != 0) {
            memcpy(c->only, cur, 4);
            c->fxq.only = c->only;
        }
        c->fxq.stale_days = req->srv->opts.fx_stale_days;
        c->fxq.refuse_stale = req->srv->opts.fx_refuse_stale;
        cur = target;
    } else if (cur == NULL) {
        cur = base;
    }
    if (kpi_currency_digits(cur, &c->digits) != ERR_OK) /* checked above; base: at start */
        c->digits = 2;
    memcpy(c->currency, cur, 4);
    return ERR_OK;
}

void api_cur_unpack(const api_cur_t *c, char currency[4], int *digits, bool *fx, store_q_fx_t *fxq,
                    char only[4])
{
    memcpy(currency, c->currency, 4);
    *digits = c->digits;
    *fx = c->fx;
    *fxq = c->fxq;
    memcpy(only, c->only, 4);
    fxq->only = c->fxq.only != NULL ? only : NULL;
}

/* currency, business_unit, customer (or `party_param`), format; with fx_ok,
   currency=* and reporting_currency (every book, converted). */
static err_t p_common(api_req_t *req, const char *party_param, bool fx_ok, q_t *q, err_msg_t *m)
{
    memset(q, 0, sizeof *q);
    q->today = today(req);
    api_cur_t c;
    err_t ce = api_param_currency(req, fx_ok, &c, m);
    if (ce)
        return ce;
    api_cur_unpack(&c, q->currency, &q->digits, &q->fx, &q->fxq, q->only);
    err_t e = api_query_name(req, "business_unit", &q->unit, m);
    /* A key limited to business units only ever queries one of them. */
    if (!e)
        e = api_auth_unit(req, q->unit, &q->unit, m);
    q->party_what = party_param;
    if (!e && party_param != NULL)
        e = api_query_name(req, party_param, &q->party, m);
    if (e)
        return e;
    const char *bad = NULL;
    q->csv = api_wants_csv(req, &e, &bad);
    if (e)
        return err_set(m, ERR_BAD_PARAM, "parameter 'format': '%s' is not json, csv or xlsx", bad);
    const char *bom = api_query(req, "bom");
    return bom == NULL ? ERR_OK : api_param_bool("bom", bom, &q->bom, m);
}

static store_scope_t scope_of(const q_t *q)
{
    store_scope_t sc;
    memcpy(sc.currency, q->currency, 4);
    sc.business_unit = q->unit;
    sc.party = q->party;
    return sc;
}

/* Period parameters: from, to, interval (default: the 12 months to today). */
typedef struct periods {
    kpi_interval_t iv;
    int32_t from, to;
    kpi_period_t *p;
    size_t n;
} periods_t;

static err_t p_periods(api_req_t *req, const q_t *q, periods_t *ps, err_msg_t *m)
{
    ps->p = kpi_arena_alloc(req->arena, MAX_PERIODS * sizeof *ps->p);
    if (ps->p == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    api_periods_t ap;
    err_t e = api_param_periods(api_query(req, "from"), api_query(req, "to"),
                                api_query(req, "interval"), q->today, ps->p, MAX_PERIODS, &ap, m);
    ps->iv = ap.iv;
    ps->from = ap.from;
    ps->to = ap.to;
    ps->n = ap.n;
    return e;
}

/* Map a store error about the scope to the answer users expect. One rule
   (docs/security.md): with a business unit (asked, or the only one of a
   scoped key), a party with no event in it answers exactly as one nobody
   knows, so a scoped key cannot tell "exists in another unit" from "does
   not exist". */
static enum MHD_Result scope_error(api_req_t *req, const q_t *q, err_t e, const err_msg_t *m)
{
    if (e == ERR_NOT_FOUND) {
        if (q->party != NULL && q->unit != NULL)
            return api_send_error(req, e, "unknown %s '%s' in business unit '%s'", q->party_what,
                                  q->party, q->unit);
        if (q->party != NULL)
            return api_send_error(req, e, "unknown %s '%s'", q->party_what, q->party);
        if (q->unit != NULL) {
            char hint[1200];
            return api_send_error(
                req, e, "unknown business unit '%s'%s", q->unit,
                api_units_hint(req, q->fx ? q->fxq.only : q->currency, q->unit, hint, sizeof hint));
        }
    }
    return api_send_error(req, e, "%s", m ? err_msg_or(m, e) : err_str(e));
}

static err_t stop_at_first(void *ctx, const store_ev_row_t *row)
{
    (void)row;
    *(bool *)ctx = true;
    return ERR_OK;
}

/* Has the customer (or vendor) any event in business unit `unit`? */
static err_t customer_in_unit(store_snap_t *snap, const char *id, const char *unit, bool *yes)
{
    store_ev_filter_t f = {.party = id, .business_unit = unit};
    char next[STORE_CURSOR_BUF];
    *yes = false;
    return store_events_list(snap, &f, NULL, 1, stop_at_first, yes, next);
}

err_t api_party_in_unit(store_snap_t *snap, const char *party, const char *unit)
{
    if (party == NULL || unit == NULL)
        return ERR_OK;
    bool yes = false;
    err_t e = customer_in_unit(snap, party, unit, &yes);
    return e ? e : yes ? ERR_OK : ERR_NOT_FOUND;
}

const char *api_party_name(api_req_t *req, store_snap_t *snap, bool vendor, const char *party)
{
    store_profile_t p;
    if (party == NULL || store_party_profile(snap, vendor, party, &p) != ERR_OK)
        return NULL;
    return kpi_arena_strndup(req->arena, p.name, strlen(p.name));
}

/* ERR_NOT_FOUND when the query names a party and a unit and the party has
   no event in that unit (scope_error then answers as for an unknown one). */
static err_t party_in_scope(store_snap_t *snap, const q_t *q)
{
    return api_party_in_unit(snap, q->party, q->unit);
}

/* ---- one book: a currency the store has, a unit with documents in it ------ */

typedef struct book_scan {
    const char *want; /* a currency code, or a unit name */
    bool found;
    char list[256]; /* the unit's currencies, ", "-separated */
    size_t n;
    store_snap_t *snap;
    const char *unit;
} book_scan_t;

static err_t find_name(void *ctx, const char *name)
{
    book_scan_t *b = ctx;
    if (strcmp(name, b->want) == 0)
        b->found = true;
    return ERR_OK;
}

/* For each currency of the store: does the unit have documents in it? */
static err_t unit_currency(void *ctx, const char *code)
{
    book_scan_t *b = ctx;
    book_scan_t u = {.want = b->unit};
    err_t e = store_business_units(b->snap, code, find_name, &u);
    if (e || !u.found)
        return e;
    int w = snprintf(b->list + b->n, sizeof b->list - b->n, "%s%s", b->n ? ", " : "", code);
    if (w > 0 && (size_t)w < sizeof b->list - b->n)
        b->n += (size_t)w;
    return ERR_OK;
}

/*
 * A book-level answer must be about a book: a currency the store holds
 * documents in (an ISO code it has none in is 400, with the ones it has),
 * and a business unit with documents in that currency (else 404 naming the
 * unit's currencies), never 200 with zeros that read as a real figure. An
 * empty store answers zeros (nothing to list yet); a unit the store never
 * saw is the store's own 404 (scope_error).
 */
static err_t count_name(void *ctx, const char *name)
{
    (void)name;
    ((book_scan_t *)ctx)->n++;
    return ERR_OK;
}

err_t api_book_check(api_req_t *req, store_snap_t *snap, const char *currency, const char *unit,
                     err_msg_t *m)
{
    book_scan_t cur = {.want = currency};
    err_t e = store_currencies(snap, find_name, &cur);
    if (e)
        return err_set(m, e, "cannot read the store");
    if (!cur.found) {
        book_scan_t all = {.want = ""};
        e = store_currencies(snap, count_name, &all);
        if (e)
            return err_set(m, e, "cannot read the store");
        if (all.n == 0)
            return ERR_OK; /* an empty store: nothing to list yet */
        char hint[1200];
        return err_set(m, ERR_BAD_PARAM,
                       "parameter 'currency': the store has no documents in %s%s (or currency=* "
                       "for every book, converted)",
                       currency, api_currencies_hint(req, currency, hint, sizeof hint));
    }
    if (unit == NULL)
        return ERR_OK;
    book_scan_t u = {.want = unit};
    e = store_business_units(snap, currency, find_name, &u);
    if (e)
        return err_set(m, e, "cannot read the store");
    if (u.found)
        return ERR_OK;
    book_scan_t b = {.snap = snap, .unit = unit};
    e = store_currencies(snap, unit_currency, &b);
    if (e)
        return err_set(m, e, "cannot read the store");
    if (b.n == 0)
        return ERR_OK; /* a unit never seen: the store's 404 says so */
    return err_set(m, ERR_NOT_FOUND,
                   "business unit '%s' has no documents in %s; its books: %s (ask currency= one "
                   "of them, or currency=* for every book, converted)",
                   unit, currency, b.list);
}

static err_t book_check(api_req_t *req, store_snap_t *snap, const q_t *q, err_msg_t *m)
{
    return api_book_check(req, snap, q->currency, q->unit, m);
}

/* ---- rendering ---------------------------------------------------------------------------- */

json_t *api_j_money(int64_t v, int digits)
{
    char buf[KPI_AMOUNT_BUF];
    return json_string(kpi_amount_format(v, digits, buf));
}

json_t *api_j_date(int32_t day)
{
    char buf[KPI_DATE_BUF];
    return json_string(kpi_date_format(day, buf));
}

/* A ratio printed to 2 decimals, or NULL (JSON null) with *reason set. */
static json_t *j_ratio(const kpi_ratio_t *r, const char **reason)
{
    int64_t v;
    *reason = NULL;
    if (r->undef != KPI_UNDEF_NONE) {
        *reason = kpi_undef_reason(r->undef);
        return json_null();
    }
    if (kpi_ratio_round(r, 2, &v) != ERR_OK) {
        *reason = kpi_undef_reason(KPI_UNDEF_OVERFLOW);
        return json_null();
    }
    /* v/100 has at most 17 significant digits only beyond 10^15 days or
       percent; api_send_json prints 15 significant digits, so 2-decimal
       values print exactly as rounded. */
    return json_real((double)v / 100.0);
}

static void csv_ratio(api_buf_t *b, const kpi_ratio_t *r)
{
    int64_t v;
    if (r->undef != KPI_UNDEF_NONE || kpi_ratio_round(r, 2, &v) != ERR_OK) {
        api_buf_str(b, ",");
        api_buf_csv_field(b, r->undef ? kpi_undef_reason(r->undef)
                                      : kpi_undef_reason(KPI_UNDEF_OVERFLOW));
        return;
    }
    char buf[KPI_AMOUNT_BUF];
    api_buf_csv_num(b, kpi_amount_format(v, 2, buf));
    api_buf_str(b, ",");
}

static json_t *j_comp(const store_q_comp_t *c, int digits)
{
    switch (c->kind) {
    case STORE_Q_MONEY: return api_j_money(c->v, digits);
    case STORE_Q_INT: return json_integer(c->v);
    case STORE_Q_DAY: return c->v == INT32_MIN ? json_null() : api_j_date((int32_t)c->v);
    }
    return json_null();
}

static void csv_comp(api_buf_t *b, const store_q_comp_t *c, int digits)
{
    char buf[KPI_AMOUNT_BUF];
    switch (c->kind) {
    case STORE_Q_MONEY: api_buf_csv_num(b, kpi_amount_format(c->v, digits, buf)); break;
    case STORE_Q_INT:
        snprintf(buf, sizeof buf, "%lld", (long long)c->v);
        api_buf_csv_num(b, buf);
        break;
    case STORE_Q_DAY:
        if (c->v != INT32_MIN)
            api_buf_csv_field(b, kpi_date_format((int32_t)c->v, buf));
        break;
    }
}

static enum MHD_Result send_csv(api_req_t *req, api_buf_t *b)
{
    if (b->failed) {
        api_buf_free(b);
        return api_send_error(req, ERR_TOO_LARGE, "CSV response too large; narrow the query");
    }
    return api_send_table(req, b, NULL, NULL); /* CSV, or XLSX made from it */
}

static json_t *j_points(const q_t *q, const periods_t *ps, const store_q_point_t *pts)
{
    json_t *arr = json_array();
    for (size_t k = 0; arr && k < ps->n; k++) {
        const store_q_point_t *p = &pts[k];
        json_t *o = json_object();
        json_object_set_new(o, "start", api_j_date(p->start));
        json_object_set_new(o, "end", api_j_date(p->end));
        if (p->money_value) {
            json_object_set_new(o, "value", api_j_money(p->money, q->digits));
        } else {
            const char *reason;
            json_object_set_new(o, "value", j_ratio(&p->value, &reason));
            if (reason != NULL)
                json_object_set_new(o, "reason", json_string(reason));
        }
        for (size_t i = 0; i < p->n; i++)
            json_object_set_new(o, p->c[i].name, j_comp(&p->c[i], q->digits));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* Series by segment (group_by=segment): each segment's points beside the
   scope's. NULL groups: none asked. */
typedef struct seg_series {
    size_t n;
    const char **keys;
    store_q_point_t **pts;
} seg_series_t;

static void csv_points(api_buf_t *b, const q_t *q, const periods_t *ps, const char *group,
                       const store_q_point_t *pts)
{
    for (size_t k = 0; k < ps->n; k++) {
        const store_q_point_t *p = &pts[k];
        char buf[KPI_AMOUNT_BUF];
        if (group != NULL) {
            api_buf_csv_field(b, group);
            api_buf_str(b, ",");
        }
        api_buf_csv_field(b, kpi_date_format(p->start, buf));
        api_buf_str(b, ",");
        api_buf_csv_field(b, kpi_date_format(p->end, buf));
        api_buf_str(b, ",");
        if (p->money_value) {
            api_buf_csv_num(b, kpi_amount_format(p->money, q->digits, buf));
            api_buf_str(b, ",");
        } else {
            csv_ratio(b, &p->value);
        }
        for (size_t i = 0; i < p->n; i++) {
            api_buf_str(b, ",");
            csv_comp(b, &p->c[i], q->digits);
        }
        api_buf_str(b, "\r\n");
    }
}

/* The period series shape of docs/openapi.json, as JSON or CSV. `extra` (may be NULL)
   is merged into the JSON object (sla name, target, kind...). */
static enum MHD_Result send_series(api_req_t *req, const q_t *q, const periods_t *ps,
                                   const store_q_point_t *pts, const seg_series_t *seg,
                                   json_t *extra)
{
    if (q->csv) {
        json_decref(extra);
        api_buf_t b;
        api_csv_start(&b, CSV_MAX, q->bom);
        /* By segment, a first column names the group: "all" for the scope. */
        api_buf_str(&b, seg != NULL ? "segment,start,end,value,reason" : "start,end,value,reason");
        for (size_t i = 0; ps->n > 0 && i < pts[0].n; i++) {
            api_buf_str(&b, ",");
            api_buf_csv_field(&b, pts[0].c[i].name);
        }
        api_buf_str(&b, "\r\n");
        csv_points(&b, q, ps, seg != NULL ? "all" : NULL, pts);
        for (size_t g = 0; seg != NULL && g < seg->n; g++)
            csv_points(&b, q, ps, seg->keys[g], seg->pts[g]);
        return send_csv(req, &b);
    }
    json_t *arr = j_points(q, ps, pts);
    json_t *root = extra ? extra : json_object();
    json_object_set_new(root, "interval", json_string(kpi_interval_name(ps->iv)));
    if (!q->counts)
        json_object_set_new(root, "currency", json_string(q->currency));
    json_object_set_new(root, "from", api_j_date(ps->from));
    json_object_set_new(root, "to", api_j_date(ps->to));
    if (q->unit)
        json_object_set_new(root, "business_unit", json_string(q->unit));
    if (q->party)
        json_object_set_new(root, "customer", json_string(q->party));
    json_object_set_new(root, "points", arr);
    if (seg != NULL) {
        json_t *groups = json_array();
        for (size_t g = 0; g < seg->n; g++)
            json_array_append_new(groups, json_pack("{s:s,s:o}", "key", seg->keys[g], "points",
                                                    j_points(q, ps, seg->pts[g])));
        json_object_set_new(root, "group_by", json_string("segment"));
        json_object_set_new(root, "groups", groups);
    }
    return api_send_json(req, MHD_HTTP_OK, root);
}

/* A book of a consolidated answer: its currency and the rate used. */
json_t *api_j_book_rate(const store_q_book_t *bk)
{
    char rb[KPI_RATE_BUF];
    json_t *o = json_object();
    json_object_set_new(o, "currency", json_string(bk->currency));
    json_object_set_new(o, "rate", json_string(kpi_rate_format(bk->rate, rb)));
    json_object_set_new(o, "rate_date",
                        bk->rate_day == INT32_MIN ? json_null() : api_j_date(bk->rate_day));
    json_object_set_new(o, "stale", json_boolean(bk->stale));
    return o;
}

/* The books behind a consolidated series: each one's rate on the last day. */
static json_t *j_rates(const store_q_series_fx_t *fx)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < fx->n_books; i++)
        json_array_append_new(arr, api_j_book_rate(&fx->books[i]));
    return arr;
}

/* SLA and FTQ count documents of every currency: `currency=` would read as
   if it narrowed them, so it is refused rather than ignored. */
static err_t p_counts(api_req_t *req, q_t *q, err_msg_t *m)
{
    q->counts = true;
    if (api_query(req, "currency") != NULL)
        return err_set(m, ERR_BAD_PARAM,
                       "parameter 'currency': SLA and first-time quality count the documents of "
                       "every currency (docs/kpi.md, \"Counts and currencies\"); leave it out");
    return ERR_OK;
}

/* ---- period series --------------------------------------------------------------------------- */

/* Compute the series `rq` (periods filled in here) and answer it. */
/* Each segment's series of the scope sc (group_by=segment). */
static err_t segment_series(api_req_t *req, store_snap_t *snap, const store_scope_t *sc,
                            const store_q_series_req_t *rq, seg_series_t *out, err_msg_t *m)
{
    store_q_segments_t segs;
    err_t e = store_q_segments(snap, sc, req->arena, &segs, m);
    if (e)
        return e;
    out->n = segs.n;
    out->keys = segs.names;
    out->pts = kpi_arena_alloc(req->arena, (segs.n ? segs.n : 1) * sizeof *out->pts);
    if (out->pts == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    for (size_t g = 0; !e && g < segs.n; g++) {
        out->pts[g] = kpi_arena_alloc(req->arena, rq->n_periods * sizeof **out->pts);
        e = out->pts[g] == NULL
                ? err_set(m, ERR_NOMEM, "out of memory")
                : store_q_series_of(snap, sc, &segs.customers[g], rq, req->arena, out->pts[g], m);
    }
    return e;
}

static enum MHD_Result series_answer(api_req_t *req, const q_t *q, const periods_t *ps,
                                     store_q_series_req_t *rq, json_t *extra)
{
    err_msg_t m = {{0}};
    rq->iv = ps->iv;
    rq->periods = ps->p;
    rq->n_periods = ps->n;
    store_q_point_t *pts = kpi_arena_alloc(req->arena, (ps->n ? ps->n : 1) * sizeof *pts);
    if (pts == NULL) {
        json_decref(extra);
        return api_send_error(req, ERR_NOMEM, "out of memory");
    }
    store_snap_t *snap = NULL;
    err_t e = store_snap_begin(req->srv->opts.store, &snap);
    if (e) {
        json_decref(extra);
        return api_send_error(req, e, "cannot read the store");
    }
    store_scope_t sc = scope_of(q);
    e = q->counts || q->fx ? ERR_OK : book_check(req, snap, q, &m);
    if (e) {
        store_snap_end(snap);
        json_decref(extra);
        return api_send_error(req, e, "%s", m.text);
    }
    store_q_series_fx_t fxi = {0};
    e = party_in_scope(snap, q);
    if (!e && q->fx)
        e = store_q_series_fx(snap, &sc, rq, &q->fxq, req->arena, pts, &fxi, &m);
    else if (!e)
        e = store_q_series(snap, &sc, rq, req->arena, pts, &m);
    seg_series_t seg = {0};
    if (!e && q->by_segment)
        e = segment_series(req, snap, &sc, rq, &seg, &m);
    store_snap_end(snap);
    if (!e && q->fx)
        json_object_set_new(extra, "books", j_rates(&fxi));
    if (e) {
        json_decref(extra);
        return scope_error(req, q, e, &m);
    }
    return send_series(req, q, ps, pts, q->by_segment ? &seg : NULL, extra);
}

static enum MHD_Result flows_series(api_req_t *req, store_q_series_t what)
{
    err_msg_t m = {{0}};
    q_t q;
    periods_t ps;
    int method = 0;
    err_t e = p_common(req, what == STORE_Q_DPO ? "vendor" : "customer", true, &q, &m);
    if (!e)
        e = p_periods(req, &q, &ps, &m);
    if (!e && what == STORE_Q_DSO)
        e = p_word(req, "method", store_q_dso_method_names, 0, &method, &m);
    if (!e && what == STORE_Q_DSO) {
        static const char *const groups[] = {"none", "segment", NULL};
        int g = 0;
        e = p_word(req, "group_by", groups, 0, &g, &m);
        q.by_segment = g == 1;
        if (!e && q.by_segment && (q.fx || q.party != NULL))
            e = err_set(&m, ERR_BAD_PARAM,
                        "parameter 'group_by': segment groups the customers of one book; ask "
                        "for one currency and no customer");
    }
    if (e)
        return api_send_error(req, e, "%s", m.text);
    store_q_series_req_t rq = {.what = what, .method = (store_q_dso_method_t)method};
    json_t *extra = json_object();
    if (what == STORE_Q_DSO)
        json_object_set_new(extra, "method", json_string(store_q_dso_method_names[method]));
    return series_answer(req, &q, &ps, &rq, extra);
}

enum MHD_Result api_dso_get(api_req_t *req)
{
    return flows_series(req, STORE_Q_DSO);
}

enum MHD_Result api_cei_get(api_req_t *req)
{
    return flows_series(req, STORE_Q_CEI);
}

enum MHD_Result api_dpo_get(api_req_t *req)
{
    return flows_series(req, STORE_Q_DPO);
}

enum MHD_Result api_rollforward_get(api_req_t *req)
{
    return flows_series(req, STORE_Q_ROLLFORWARD);
}

/* ---- SLA and FTQ --------------------------------------------------------------------------- */

static const char *sla_unit_name(kpi_sla_unit_t u)
{
    switch (u) {
    case KPI_SLA_HOURS: return "hours";
    case KPI_SLA_BUSINESS_DAYS: return "business_days";
    case KPI_SLA_CALENDAR_DAYS: return "days";
    }
    return "";
}

enum MHD_Result api_sla_get(api_req_t *req)
{
    err_msg_t m = {{0}};
    q_t q;
    periods_t ps;
    err_t e = p_common(req, NULL, false, &q, &m);
    if (!e)
        e = p_counts(req, &q, &m);
    if (!e)
        e = p_periods(req, &q, &ps, &m);
    if (e)
        return api_send_error(req, e, "%s", m.text);
    const kpi_sla_def_t *defs;
    size_t nd = store_sla_defs(req->srv->opts.store, &defs);
    const char *name = api_query(req, "sla");
    char known[KPI_SLAS_MAX * (KPI_SLA_NAME_MAX + 2)] = "";
    size_t kl = 0;
    size_t which = nd;
    for (size_t i = 0; i < nd; i++) {
        if (name != NULL && strcmp(name, defs[i].name) == 0)
            which = i;
        int w = snprintf(known + kl, sizeof known - kl, "%s%s", i ? ", " : "", defs[i].name);
        if (w > 0 && (size_t)w < sizeof known - kl)
            kl += (size_t)w;
    }
    if (name == NULL)
        return api_send_error(req, ERR_BAD_PARAM, "parameter 'sla' is required (one of: %s)",
                              known);
    if (which == nd)
        return api_send_error(req, ERR_BAD_PARAM, "parameter 'sla': '%s' is not one of: %s", name,
                              known);
    store_q_series_req_t rq = {.what = STORE_Q_SLA, .sla = which};
    json_t *extra = json_object();
    json_object_set_new(extra, "sla", json_string(defs[which].name));
    json_t *target = json_object();
    json_object_set_new(target, "amount", json_integer(defs[which].target.amount));
    json_object_set_new(target, "unit", json_string(sla_unit_name(defs[which].target.unit)));
    json_object_set_new(extra, "target", target);
    return series_answer(req, &q, &ps, &rq, extra);
}

enum MHD_Result api_ftq_get(api_req_t *req)
{
    err_msg_t m = {{0}};
    q_t q;
    periods_t ps;
    int kind;
    static const char *const kinds[] = {"invoice", "bill", NULL};
    err_t e = p_common(req, NULL, false, &q, &m);
    if (!e)
        e = p_counts(req, &q, &m);
    if (!e)
        e = p_periods(req, &q, &ps, &m);
    if (!e)
        e = p_word(req, "kind", kinds, 0, &kind, &m);
    if (e)
        return api_send_error(req, e, "%s", m.text);
    store_q_series_req_t rq = {.what = STORE_Q_FTQ, .ftq_kind = (store_ftq_kind_t)kind};
    json_t *extra = json_object();
    json_object_set_new(extra, "kind", json_string(kinds[kind]));
    return series_answer(req, &q, &ps, &rq, extra);
}

/* ---- aging ------------------------------------------------------------------------------------
 */

typedef struct aging_q {
    int32_t as_of;
    int basis;
    int32_t edges[KPI_BUCKETS_MAX];
    size_t n_edges;
    int group_by; /* 0 none, 1 business_unit, 2 customer, 3 segment (AGING_BY_SEGMENT) */
} aging_q_t;

/* group_by=segment: customers folded by their profile's segment. */
enum { AGING_BY_SEGMENT = 3 };

err_t api_aging_edges(api_req_t *req, int32_t *edges, size_t *n, err_msg_t *m)
{
    static const int32_t def[] = {30, 60, 90, 120};
    const char *s = api_query(req, "buckets");
    if (s == NULL) {
        const api_opts_t *o = &req->srv->opts;
        if (o->aging_edges != NULL && o->n_aging_edges > 0 &&
            o->n_aging_edges <= KPI_BUCKETS_MAX - 2) {
            memcpy(edges, o->aging_edges, o->n_aging_edges * sizeof *edges);
            *n = o->n_aging_edges;
        } else {
            memcpy(edges, def, sizeof def);
            *n = 4;
        }
        return ERR_OK;
    }
    return api_param_edges(s, edges, n, m);
}

static err_t p_edges(api_req_t *req, aging_q_t *a, err_msg_t *m)
{
    return api_aging_edges(req, a->edges, &a->n_edges, m);
}

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

static json_t *j_total(const kpi_aging_t *ag, int digits)
{
    json_t *o = json_object();
    json_object_set_new(o, "amount", api_j_money(ag->total_amount, digits));
    json_object_set_new(o, "count", json_integer(ag->total_count));
    return o;
}

static void csv_aging_rows(api_buf_t *b, const char *group, const kpi_aging_t *ag, int digits)
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
        snprintf(buf, sizeof buf, "%lld",
                 (long long)(total ? ag->total_count : ag->buckets[i].count));
        api_buf_csv_num(b, buf);
        api_buf_str(b, "\r\n");
    }
}

/* May the request see group `key`? Customer groups are already within the
   query's unit. The store keeps a unit-scoped query to its unit; this is a
   second line of defence for keys limited to business units. */
static bool group_visible(api_req_t *req, const aging_q_t *a, const char *key)
{
    return a->group_by != STORE_Q_GROUP_UNIT || api_auth_unit_allowed(req, key);
}

/* The books behind a consolidated answer: each one's rate and its own
   figures, unconverted (docs/kpi.md, "Reporting currency"). */
static json_t *j_books(const store_q_aging_fx_t *fx)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < fx->n_books; i++) {
        const store_q_book_t *bk = &fx->books[i];
        int dg;
        if (kpi_currency_digits(bk->currency, &dg) != ERR_OK)
            dg = 2; /* the store only keeps books in known codes */
        json_t *o = api_j_book_rate(bk);
        json_object_set_new(o, "buckets", j_buckets(&bk->aging, dg));
        json_object_set_new(o, "total", j_total(&bk->aging, dg));
        json_object_set_new(o, "unapplied_cash", api_j_money(bk->unapplied_cash, dg));
        json_object_set_new(o, "unallocated_credits", api_j_money(bk->unallocated_credits, dg));
        json_array_append_new(arr, o);
    }
    return arr;
}

/* sort, limit and cursor of a grouped aging (all absent: every group by name). */
static err_t p_page(api_req_t *req, const aging_q_t *a, const char *group, api_aging_page_t *pg,
                    err_msg_t *m)
{
    return api_param_aging_page(
        api_query(req, "sort"), api_query(req, "limit"), api_query(req, "cursor"),
        a->group_by == STORE_Q_GROUP_NONE ? NULL : group,
        "group_by=customer or group_by=business_unit", a->edges, a->n_edges, pg, m);
}

enum MHD_Result api_aging_get(api_req_t *req)
{
    err_msg_t m = {{0}};
    q_t q;
    aging_q_t a;
    api_aging_page_t pg;
    int layout = 0;
    static const char *const bases[] = {"due_date", "invoice_date", NULL};
    static const char *const groups[] = {"none", "business_unit", "customer", "segment", NULL};
    static const char *const layouts[] = {"wide", "long", NULL};
    err_t e = p_common(req, "customer", true, &q, &m);
    if (!e)
        e = p_date(req, "as_of", q.today, &a.as_of, &m);
    if (!e)
        e = p_word(req, "basis", bases, 0, &a.basis, &m);
    if (!e)
        e = p_edges(req, &a, &m);
    if (!e)
        e = p_word(req, "group_by", groups, 0, &a.group_by, &m);
    if (!e)
        e = p_word(req, "layout", layouts, 0, &layout, &m);
    if (!e)
        e = p_page(req, &a, groups[a.group_by], &pg, &m);
    bool by_segment = !e && a.group_by == AGING_BY_SEGMENT;
    if (by_segment && q.fx)
        e = err_set(&m, ERR_BAD_PARAM,
                    "parameter 'group_by': segment groups one book; ask for one currency");
    if (e)
        return api_send_error(req, e, "%s", m.text);

    store_snap_t *snap = NULL;
    e = store_snap_begin(req->srv->opts.store, &snap);
    if (e)
        return api_send_error(req, e, "cannot read the store");
    store_scope_t sc = scope_of(&q);
    store_q_aging_req_t rq = {.as_of = a.as_of,
                              .basis = (store_basis_t)a.basis,
                              .edges = a.edges,
                              .n_edges = a.n_edges,
                              .group_by = by_segment ? STORE_Q_GROUP_CUSTOMER
                                                     : (store_q_group_t)a.group_by};
    store_q_aging_t ag;
    store_q_aging_fx_t fx = {0};
    e = q.fx ? ERR_OK : book_check(req, snap, &q, &m);
    if (e) {
        store_snap_end(snap);
        return api_send_error(req, e, "%s", m.text);
    }
    e = party_in_scope(snap, &q);
    if (!e && q.fx) {
        e = store_q_aging_fx(snap, &sc, &rq, &q.fxq, req->arena, &fx, &m);
        ag = fx.conv;
    } else if (!e && by_segment) {
        e = store_q_aging_by_segment(snap, &sc, &rq, req->arena, &ag, &m);
    } else if (!e) {
        e = store_q_aging(snap, &sc, &rq, req->arena, &ag, &m);
    }
    if (e) {
        store_snap_end(snap);
        return scope_error(req, &q, e, &m);
    }

    /* The groups to show, in order: all of them by name, or one page of
       the asked sort. */
    size_t *idx = kpi_arena_alloc(req->arena, (ag.n_groups ? ag.n_groups : 1) * sizeof *idx);
    const char **names =
        kpi_arena_alloc(req->arena, (ag.n_groups ? ag.n_groups : 1) * sizeof *names);
    size_t n_idx = 0;
    e = idx == NULL || names == NULL ? ERR_NOMEM
                                     : api_aging_order(ag.groups, ag.keys, ag.n_groups, &pg.sort,
                                                       pg.has_from ? &pg.from : NULL, idx, &n_idx);
    if (e) {
        store_snap_end(snap);
        return api_send_error(req, e, "out of memory");
    }
    size_t shown = 0;
    for (size_t i = 0; i < n_idx; i++)
        if (group_visible(req, &a, ag.keys[idx[i]]))
            idx[shown++] = idx[i];
    char next[API_AGING_CURSOR_BUF] = "";
    if (pg.limit > 0 && shown > pg.limit) {
        shown = pg.limit;
        size_t last = idx[shown - 1];
        api_aging_cursor_make(&pg.sort, &ag.groups[last], ag.keys[last], next, sizeof next);
    }
    /* Customers' names (customer.updated), copied before the snapshot ends. */
    bool named = a.group_by == STORE_Q_GROUP_CUSTOMER;
    for (size_t i = 0; i < shown; i++)
        names[i] = named ? api_party_name(req, snap, false, ag.keys[idx[i]]) : NULL;
    store_snap_end(snap);

    if (q.csv) {
        api_buf_t b;
        api_csv_start(&b, CSV_MAX, q.bom);
        const char *gname = a.group_by == 0 ? "group" : groups[a.group_by];
        if (layout == 1) {
            api_buf_str(&b, "group,bucket,amount,count\r\n");
            csv_aging_rows(&b, "all", &ag.all, q.digits);
            for (size_t i = 0; i < shown; i++)
                csv_aging_rows(&b, ag.keys[idx[i]], &ag.groups[idx[i]], q.digits);
        } else {
            /* One row per group, so that a column's sum is the book's;
               ungrouped, the one row of the whole scope. */
            api_csv_aging_header(&b, gname, named, &ag.all);
            if (a.group_by == 0)
                api_csv_aging_row(&b, "all", false, NULL, &ag.all, q.digits, a.as_of, q.currency);
            for (size_t i = 0; i < shown; i++)
                api_csv_aging_row(&b, ag.keys[idx[i]], named, names[i], &ag.groups[idx[i]],
                                  q.digits, a.as_of, q.currency);
        }
        return send_csv(req, &b);
    }
    json_t *root = json_object();
    json_object_set_new(root, "as_of", api_j_date(a.as_of));
    json_object_set_new(root, "basis", json_string(bases[a.basis]));
    json_object_set_new(root, "currency", json_string(q.currency));
    if (q.unit)
        json_object_set_new(root, "business_unit", json_string(q.unit));
    if (q.party)
        json_object_set_new(root, "customer", json_string(q.party));
    json_object_set_new(root, "buckets", j_buckets(&ag.all, q.digits));
    json_object_set_new(root, "total", j_total(&ag.all, q.digits));
    json_object_set_new(root, "unapplied_cash", api_j_money(ag.unapplied_cash, q.digits));
    json_object_set_new(root, "unallocated_credits", api_j_money(ag.unallocated_credits, q.digits));
    if (q.fx)
        json_object_set_new(root, "books", j_books(&fx));
    if (a.group_by != 0) {
        json_t *arr = json_array();
        for (size_t i = 0; i < shown; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "key", json_string(ag.keys[idx[i]]));
            if (named)
                json_object_set_new(o, "name", names[i] ? json_string(names[i]) : json_null());
            json_object_set_new(o, "buckets", j_buckets(&ag.groups[idx[i]], q.digits));
            json_object_set_new(o, "total", j_total(&ag.groups[idx[i]], q.digits));
            json_array_append_new(arr, o);
        }
        json_object_set_new(root, "group_by", json_string(groups[a.group_by]));
        json_object_set_new(root, "groups", arr);
        if (pg.paged) {
            json_object_set_new(root, "sort", json_string(pg.sort_name));
            json_object_set_new(root, "next_cursor", next[0] ? json_string(next) : json_null());
        }
    }
    return api_send_json(req, MHD_HTTP_OK, root);
}

/* ---- customer profile --------------------------------------------------------------------------
 */

typedef struct prof {
    api_req_t *req;
    store_snap_t *snap;
    int32_t as_of;
    int base_digits;
    json_t *items;
    api_buf_t *csv;
    int64_t open_total; /* in the profile's currency */
    const char *currency;
    bool current;     /* as_of is on or after the latest event day: documents'
                         current state is their state as of it */
    const char *unit; /* only documents of this business unit, or NULL */
} prof_t;

/* Is document d (a dispute: and its invoice) in the profile's unit? */
static bool prof_in_unit(const prof_t *p, const store_doc_t *d)
{
    if (p->unit == NULL)
        return true;
    if (d->business_unit == NULL || strcmp(d->business_unit, p->unit) != 0)
        return false;
    if (d->kind != KPI_DOC_DISPUTE || d->ref == NULL)
        return true;
    /* A dispute of an invoice not (yet) stored has only its own unit; any
       other failure hides the dispute rather than show it. */
    store_doc_t inv;
    err_t e = store_doc_get(p->snap, KPI_DOC_INVOICE, d->ref, &inv);
    if (e == ERR_NOT_FOUND || (!e && !inv.exists))
        return true;
    return !e && inv.business_unit != NULL && strcmp(inv.business_unit, p->unit) == 0;
}

static int doc_digits(const store_doc_t *d, int fallback)
{
    int dg;
    return kpi_currency_digits(d->currency, &dg) == ERR_OK ? dg : fallback;
}

static err_t prof_invoice(void *ctx, const store_doc_t *d, const char *number)
{
    prof_t *p = ctx;
    if (!d->exists || d->created_day > p->as_of || !prof_in_unit(p, d))
        return ERR_OK;
    int64_t open = d->open_minor;
    err_t e = p->current ? ERR_OK : store_invoice_open_at(p->snap, number, p->as_of, &open);
    if (e || open == 0)
        return e;
    int dg = doc_digits(d, p->base_digits);
    int32_t dpd = d->due_day == INT32_MIN ? 0 : p->as_of - d->due_day;
    if (strcmp(d->currency, p->currency) == 0)
        p->open_total += open;
    if (p->csv) {
        char buf[KPI_AMOUNT_BUF];
        api_buf_csv_field(p->csv, number);
        api_buf_str(p->csv, ",");
        api_buf_csv_field(p->csv, d->business_unit ? d->business_unit : "");
        api_buf_str(p->csv, ",");
        api_buf_csv_field(p->csv, d->currency);
        api_buf_str(p->csv, ",");
        api_buf_csv_field(p->csv, kpi_date_format(d->created_day, buf));
        api_buf_str(p->csv, ",");
        if (d->due_day != INT32_MIN)
            api_buf_csv_field(p->csv, kpi_date_format(d->due_day, buf));
        api_buf_str(p->csv, ",");
        api_buf_csv_num(p->csv, kpi_amount_format(d->amount_minor, dg, buf));
        api_buf_str(p->csv, ",");
        api_buf_csv_num(p->csv, kpi_amount_format(open, dg, buf));
        api_buf_str(p->csv, ",");
        snprintf(buf, sizeof buf, "%d", (int)(dpd > 0 ? dpd : 0));
        api_buf_csv_num(p->csv, buf);
        api_buf_str(p->csv, "\r\n");
        return ERR_OK;
    }
    json_t *o = json_object();
    json_object_set_new(o, "invoice", json_string(number));
    json_object_set_new(o, "business_unit", json_string(d->business_unit ? d->business_unit : ""));
    json_object_set_new(o, "currency", json_string(d->currency));
    json_object_set_new(o, "issue_date", api_j_date(d->created_day));
    json_object_set_new(o, "due_date",
                        d->due_day == INT32_MIN ? json_null() : api_j_date(d->due_day));
    json_object_set_new(o, "amount", api_j_money(d->amount_minor, dg));
    json_object_set_new(o, "open", api_j_money(open, dg));
    json_object_set_new(o, "days_past_due", json_integer(dpd > 0 ? dpd : 0));
    return json_array_append_new(p->items, o) ? ERR_NOMEM : ERR_OK;
}

static err_t prof_dispute(void *ctx, const store_doc_t *d, const char *number)
{
    prof_t *p = ctx;
    if (!d->exists || d->created_day > p->as_of || !prof_in_unit(p, d))
        return ERR_OK;
    bool resolved = d->closed_day != INT32_MIN && d->closed_day <= p->as_of;
    json_t *o = json_object();
    json_object_set_new(o, "dispute", json_string(number));
    json_object_set_new(o, "invoice", d->ref ? json_string(d->ref) : json_null());
    json_object_set_new(o, "status", json_string(resolved ? "resolved" : "open"));
    json_object_set_new(o, "opened", api_j_date(d->created_day));
    json_object_set_new(o, "resolved", resolved ? api_j_date(d->closed_day) : json_null());
    json_object_set_new(o, "amount", api_j_money(d->amount_minor, doc_digits(d, p->base_digits)));
    return json_array_append_new(p->items, o) ? ERR_NOMEM : ERR_OK;
}

enum MHD_Result api_customer_get(api_req_t *req)
{
    err_msg_t m = {{0}};
    q_t q;
    aging_q_t a = {0};
    err_t e = p_common(req, NULL, false, &q, &m);
    const char *id = req->path_rest;
    if (!e && (id == NULL || id[0] == '\0' || strlen(id) > KPI_NAME_MAX))
        e = err_set(&m, ERR_BAD_PARAM, "customer id in the path must be 1 to %d bytes",
                    KPI_NAME_MAX);
    if (!e)
        e = p_date(req, "as_of", q.today, &a.as_of, &m);
    if (!e)
        e = p_edges(req, &a, &m);
    if (e)
        return api_send_error(req, e, "%s", m.text);
    q.party = id;

    store_snap_t *snap = NULL;
    e = store_snap_begin(req->srv->opts.store, &snap);
    if (e)
        return api_send_error(req, e, "cannot read the store");
    store_customer_t cu;
    e = store_customer_get(snap, id, &cu);
    bool in_unit = true;
    if (!e && q.unit != NULL)
        e = customer_in_unit(snap, id, q.unit, &in_unit);
    /* Not in the unit reads exactly as unknown: a scoped key cannot learn
       which customers other units have. */
    if (!e && !in_unit) {
        store_snap_end(snap);
        return api_send_error(req, ERR_NOT_FOUND, "unknown customer '%s' in business unit '%s'", id,
                              q.unit);
    }
    if (e) {
        store_snap_end(snap);
        if (e == ERR_NOT_FOUND && q.unit != NULL)
            return api_send_error(req, e, "unknown customer '%s' in business unit '%s'", id,
                                  q.unit);
        if (e == ERR_NOT_FOUND)
            return api_send_error(req, e, "unknown customer '%s'", id);
        return api_send_error(req, e, "cannot read customer '%s'", id);
    }
    store_scope_t sc = scope_of(&q);
    store_q_aging_req_t rq = {.as_of = a.as_of, .edges = a.edges, .n_edges = a.n_edges};
    store_q_aging_t qa;
    e = store_q_aging(snap, &sc, &rq, req->arena, &qa, &m);
    if (e == ERR_NOT_FOUND) { /* a customer with no invoices in this currency */
        memset(&qa, 0, sizeof qa);
        e = kpi_aging_init(&qa.all, a.edges, a.n_edges);
    }
    const kpi_aging_t *ag = &qa.all;
    kpi_habits_acc_t h = {0};
    if (!e)
        e = store_customer_habits(snap, id, q.currency, &h);
    int64_t used = ag->total_amount;
    if (!e && cu.has_limit && strcmp(cu.limit_currency, q.currency) != 0) {
        store_scope_t lsc = sc;
        memcpy(lsc.currency, cu.limit_currency, 4);
        int64_t cnt;
        e = store_q_open_total(snap, &lsc, a.as_of, req->arena, &used, &cnt);
        if (e == ERR_NOT_FOUND) {
            used = 0;
            e = ERR_OK;
        }
    }
    prof_t p = {req, snap, a.as_of, q.digits, NULL, NULL, 0, q.currency, false, q.unit};
    int32_t latest;
    p.current = !e && store_latest_day(snap, &latest) == ERR_OK && a.as_of >= latest;
    api_buf_t b;
    if (q.csv) {
        api_csv_start(&b, CSV_MAX, q.bom);
        api_buf_str(&b, "invoice,business_unit,currency,issue_date,due_date,amount,open,"
                        "days_past_due\r\n");
        p.csv = &b;
        if (!e)
            e = store_customer_open_candidates(snap, id, a.as_of, prof_invoice, &p);
        store_snap_end(snap);
        if (e) {
            api_buf_free(&b);
            return api_send_error(req, e, "cannot read customer '%s'", id);
        }
        return send_csv(req, &b);
    }
    json_t *root = json_object();
    json_t *items = json_array(), *disputes = json_array();
    p.items = items;
    if (!e)
        e = store_customer_open_candidates(snap, id, a.as_of, prof_invoice, &p);
    p.items = disputes;
    if (!e)
        e = store_customer_disputes(snap, id, prof_dispute, &p);
    if (e) {
        store_snap_end(snap);
        json_decref(root);
        json_decref(items);
        json_decref(disputes);
        return api_send_error(req, e, "cannot read customer '%s'", id);
    }
    json_object_set_new(root, "customer", json_string(id));
    /* Who it is (customer.updated); a scoped key sees it too: a name is
       not a figure of another unit. */
    store_profile_t pf;
    bool has_pf = store_party_profile(snap, false, id, &pf) == ERR_OK;
    json_object_set_new(root, "name", has_pf ? json_string(pf.name) : json_null());
    json_object_set_new(
        root, "profile",
        has_pf ? json_pack("{s:o,s:o,s:o}", "email", pf.email ? json_string(pf.email) : json_null(),
                           "country", pf.country ? json_string(pf.country) : json_null(), "segment",
                           pf.segment ? json_string(pf.segment) : json_null())
               : json_null());
    json_object_set_new(root, "as_of", api_j_date(a.as_of));
    json_object_set_new(root, "currency", json_string(q.currency));
    json_t *credit = json_object();
    int ldg = q.digits;
    if (cu.has_limit && kpi_currency_digits(cu.limit_currency, &ldg) != ERR_OK)
        ldg = q.digits;
    json_object_set_new(credit, "limit",
                        cu.has_limit ? api_j_money(cu.credit_limit, ldg) : json_null());
    json_object_set_new(credit, "currency",
                        json_string(cu.has_limit ? cu.limit_currency : q.currency));
    json_object_set_new(credit, "used", api_j_money(used, ldg));
    json_object_set_new(credit, "available",
                        cu.has_limit ? api_j_money(cu.credit_limit - used, ldg) : json_null());
    json_object_set_new(credit, "on_hold", json_boolean(cu.on_hold));
    json_object_set_new(credit, "hold_reason",
                        cu.on_hold ? json_string(cu.hold_reason) : json_null());
    json_object_set_new(credit, "hold_since", cu.on_hold ? api_j_date(cu.hold_since) : json_null());
    /* Credit standing and payment habits are kept per customer, across
       units: a key limited to business units does not get them. */
    bool scoped = api_auth_scoped(req);
    if (scoped) {
        json_decref(credit);
        credit = json_null();
    }
    json_object_set_new(root, "credit", credit);
    if (q.unit != NULL)
        json_object_set_new(root, "business_unit", json_string(q.unit));
    json_t *aging = json_object();
    json_object_set_new(aging, "basis", json_string("due_date"));
    json_object_set_new(aging, "buckets", j_buckets(ag, q.digits));
    json_object_set_new(aging, "total", j_total(ag, q.digits));
    json_object_set_new(root, "aging", aging);
    json_object_set_new(root, "unapplied_cash", api_j_money(qa.unapplied_cash, q.digits));
    json_t *habits = json_object();
    kpi_ratio_t dtp = kpi_habits_days_to_pay(&h), dbt = kpi_habits_days_beyond_terms(&h);
    const char *reason;
    json_object_set_new(habits, "applied", api_j_money(h.amount, q.digits));
    json_object_set_new(habits, "days_to_pay", j_ratio(&dtp, &reason));
    json_object_set_new(habits, "days_beyond_terms", j_ratio(&dbt, &reason));
    if (reason != NULL)
        json_object_set_new(habits, "reason", json_string(reason));
    if (scoped) {
        json_decref(habits);
        habits = json_null();
        json_object_set_new(root, "withheld", json_pack("[ss]", "credit", "payment_habits"));
    }
    json_object_set_new(root, "payment_habits", habits);
    json_object_set_new(root, "open_items", items);
    json_object_set_new(root, "disputes", disputes);
    store_snap_end(snap);
    return api_send_json(req, MHD_HTTP_OK, root);
}

/* Allowed query parameters of each endpoint (anything else is a 400). */
const char *const api_aging_params[] = {
    "as_of", "basis",  "buckets", "business_unit", "customer", "group_by",           "sort",
    "limit", "cursor", "layout",  "bom",           "currency", "reporting_currency", "format",
    NULL};
const char *const api_series_params[] = {
    "from",   "to",  "interval", "business_unit", "customer", "currency", "reporting_currency",
    "format", "bom", NULL};
const char *const api_dso_params[] = {
    "from",     "to",       "interval",           "method", "group_by", "business_unit",
    "customer", "currency", "reporting_currency", "format", "bom",      NULL};
const char *const api_dpo_params[] = {"from",   "to",       "interval",           "business_unit",
                                      "vendor", "currency", "reporting_currency", "format",
                                      "bom",    NULL};
const char *const api_sla_params[] = {"sla",      "from",   "to",  "interval", "business_unit",
                                      "currency", "format", "bom", NULL};
const char *const api_ftq_params[] = {"kind",     "from",   "to",  "interval", "business_unit",
                                      "currency", "format", "bom", NULL};
const char *const api_customer_params[] = {"as_of",         "buckets", "currency", "format",
                                           "business_unit", "bom",     NULL};
