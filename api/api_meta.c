/*
 * api_meta.c — GET /v1/meta: what a client needs to know about this server
 * before asking for KPIs: its reporting time zone and base currency, the
 * business units with data, the SLA definitions with their targets, the
 * currencies with data, the default aging buckets, today and the latest event day (the dashboard's
 * default as-of date). Translation only: every fact comes from the store
 * and the server's options.
 */
#include "api_dashboard.h"

#include <string.h>
#include <time.h>

#include "kpi_date.h"
#include "kpi_event.h"
#include "kpi_money.h"
#include "store_kpi.h"
#include "store_query.h"

static json_t *j_day(int32_t day)
{
    char buf[KPI_DATE_BUF];
    return json_string(kpi_date_format(day, buf));
}

/* A goal in basis points as the API prints percentages (2 decimals). */
static json_t *goal(int32_t bp)
{
    return json_real((double)(bp > 0 ? bp : 9500) / 100.0);
}

static const char *target_unit(kpi_sla_unit_t u)
{
    switch (u) {
    case KPI_SLA_HOURS: return "hours";
    case KPI_SLA_BUSINESS_DAYS: return "business_days";
    case KPI_SLA_CALENDAR_DAYS: return "days";
    }
    return "";
}

static const char *point_name(uint8_t point, int type)
{
    switch ((kpi_sla_point_t)point) {
    case KPI_SLA_POINT_EVENT: return kpi_ev_type_name((kpi_ev_type_t)type);
    case KPI_SLA_POINT_BILLING_DUE: return "billing_due";
    case KPI_SLA_POINT_FULLY_APPLIED: return "fully_applied";
    }
    return "";
}

static err_t add_name(void *ctx, const char *name)
{
    return json_array_append_new(ctx, json_string(name)) ? ERR_NOMEM : ERR_OK;
}

typedef struct unit_list {
    store_q_names_t ns;
    api_req_t *req;
} unit_list_t;

/* Business units the request's key may see (all of them when unscoped). */
static err_t add_unit(void *ctx, const char *name)
{
    unit_list_t *u = ctx;
    return api_auth_unit_allowed(u->req, name) ? store_q_names_add(&u->ns, name) : ERR_OK;
}

typedef struct cur_ctx {
    api_req_t *req;
    store_snap_t *snap;
    json_t *arr;
} cur_ctx_t;

/* A currency is listed when the key may see a unit with flows in it: a
   scoped key does not learn which currencies only other units use. */
static err_t add_currency(void *ctx, const char *code)
{
    cur_ctx_t *c = ctx;
    if (api_auth_scoped(c->req)) {
        unit_list_t u = {{.arena = c->req->arena}, c->req};
        err_t e = store_business_units(c->snap, code, add_unit, &u);
        if (e || u.ns.n == 0)
            return e;
    }
    return add_name(c->arr, code);
}

/* currency=*: the units of every book, once each. */
typedef struct all_units {
    unit_list_t *ul;
    store_snap_t *snap;
} all_units_t;

static err_t add_unit_once(void *ctx, const char *name)
{
    unit_list_t *u = ctx;
    for (size_t i = 0; i < u->ns.n; i++)
        if (strcmp(u->ns.v[i], name) == 0)
            return ERR_OK;
    return add_unit(ctx, name);
}

static err_t units_of_currency(void *ctx, const char *code)
{
    all_units_t *a = ctx;
    return store_business_units(a->snap, code, add_unit_once, a->ul);
}

/* The currencies with exchange rates, each with the day of its latest. */
typedef struct rate_list {
    json_t *arr;
    char last[4];
    int32_t last_day;
} rate_list_t;

static void rate_flush(rate_list_t *r)
{
    if (r->last[0] == '\0')
        return;
    char d[KPI_DATE_BUF];
    json_array_append_new(r->arr, json_pack("{s:s,s:s}", "currency", r->last, "latest",
                                            kpi_date_format(r->last_day, d)));
}

static err_t add_rate(void *ctx, const char *code, int32_t day, int64_t rate)
{
    (void)rate;
    rate_list_t *r = ctx;
    if (strcmp(r->last, code) != 0) {
        rate_flush(r);
        snprintf(r->last, sizeof r->last, "%s", code);
    }
    r->last_day = day;
    return ERR_OK;
}

enum MHD_Result api_meta_get(api_req_t *req)
{
    const api_opts_t *o = &req->srv->opts;
    const char *cur = api_query(req, "currency");
    int digits;
    if (cur == NULL)
        cur = o->coll.base_currency;
    bool every = strcmp(cur, "*") == 0;
    if (!every && (strlen(cur) != 3 || kpi_currency_digits(cur, &digits) != ERR_OK)) {
        char hint[1200];
        return api_send_error(req, ERR_BAD_PARAM,
                              "parameter 'currency': '%s' is not an ISO 4217 code%s", cur,
                              api_currencies_hint(req, cur, hint, sizeof hint));
    }
    store_stats_t st;
    err_t e = store_stats(o->store, &st);
    if (e)
        return api_send_error(req, e, "store unavailable: %s", err_str(e));

    store_snap_t *snap = NULL;
    e = store_snap_begin(o->store, &snap);
    if (e)
        return api_send_error(req, e, "cannot read the store");
    json_t *units = json_array(), *curs = json_array();
    unit_list_t ul = {{.arena = req->arena}, req};
    all_units_t au = {&ul, snap};
    e = !units || !curs ? ERR_NOMEM
        : every         ? store_currencies(snap, units_of_currency, &au)
                        : store_business_units(snap, cur, add_unit, &ul);
    /* By name, not by first appearance: the same events give the same list. */
    store_q_names_sort(&ul.ns);
    for (size_t i = 0; !e && i < ul.ns.n; i++)
        e = add_name(units, ul.ns.v[i]);
    cur_ctx_t cc = {req, snap, curs};
    if (!e)
        e = store_currencies(snap, add_currency, &cc);
    rate_list_t rl = {json_array(), "", 0};
    err_msg_t rm = {{0}};
    if (!e)
        e = rl.arr == NULL ? ERR_NOMEM : store_fx_each(snap, add_rate, &rl, &rm);
    if (!e)
        rate_flush(&rl);
    int32_t latest = 0;
    err_t le = e ? ERR_OK : store_latest_day(snap, &latest);
    store_snap_end(snap);
    if (!e && le != ERR_OK && le != ERR_NOT_FOUND)
        e = le;
    if (e) {
        json_decref(units);
        json_decref(curs);
        json_decref(rl.arr);
        return api_send_error(req, e, "cannot list business units: %s", err_str(e));
    }

    json_t *slas = json_array();
    const kpi_sla_def_t *defs;
    size_t nd = store_sla_defs(o->store, &defs);
    for (size_t i = 0; slas != NULL && i < nd; i++) {
        json_t *s = json_pack("{s:s,s:s,s:s,s:{s:i,s:s}}", "name", defs[i].name, "start",
                              point_name(defs[i].start_point, defs[i].start_type), "stop",
                              point_name(defs[i].stop_point, defs[i].stop_type), "target", "amount",
                              (int)defs[i].target.amount, "unit", target_unit(defs[i].target.unit));
        json_array_append_new(slas, s);
    }
    json_t *edges = json_array();
    static const int32_t def_edges[] = {30, 60, 90, 120};
    const int32_t *ed = o->aging_edges ? o->aging_edges : def_edges;
    size_t ne = o->aging_edges ? o->n_aging_edges : 4;
    for (size_t i = 0; edges != NULL && i < ne; i++)
        json_array_append_new(edges, json_integer(ed[i]));

    json_t *root = json_object();
    json_object_set_new(root, "version", json_string("0.1.0"));
    json_object_set_new(root, "time_zone", json_string(st.tz));
    json_object_set_new(root, "base_currency", json_string(st.base_currency));
    json_object_set_new(root, "currency", json_string(cur));
    json_object_set_new(root, "today", j_day(kpi_tz_day(o->coll.tz, (int64_t)time(NULL))));
    json_object_set_new(root, "latest_event_day", le == ERR_OK ? j_day(latest) : json_null());
    /* The event count spans every unit: withheld from a key limited to units. */
    json_object_set_new(root, "events",
                        api_auth_scoped(req) ? json_null() : json_integer((json_int_t)st.events));
    json_object_set_new(root, "currencies", curs);
    json_object_set_new(root, "rates", rl.arr);
    json_object_set_new(root, "business_units", units);
    json_object_set_new(root, "slas", slas);
    json_object_set_new(root, "aging_buckets", edges);
    json_t *goals = json_object();
    json_object_set_new(goals, "sla", goal(o->sla_goal_bp));
    json_object_set_new(goals, "ftq", goal(o->ftq_goal_bp));
    json_object_set_new(root, "goals", goals);
    json_object_set_new(root, "intervals",
                        json_pack("[s,s,s,s]", "day", "week", "month", "quarter"));
    return api_send_json(req, MHD_HTTP_OK, root);
}

const char *const api_meta_params[] = {"currency", NULL};
