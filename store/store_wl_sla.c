/*
 * store_wl_sla.c — the SLA worklist (store_worklist.h): the items of one
 * SLA breached and still open at a day, and those completed late in a
 * period, read from each document's derived SLA item, the same item the
 * SLA counters are made of.
 */
#include <stdlib.h>
#include <string.h>

#include "store_derive.h"
#include "store_int.h"
#include "store_worklist.h"
#include "store_worklist_int.h"

typedef struct names {
    char **v;
    size_t n, cap;
} names_t;

typedef struct walk {
    int type; /* the SLA's start event type */
    names_t *ns;
} walk_t;

static err_t take_start(void *ctx, const store_ev_row_t *row)
{
    walk_t *w = ctx;
    if ((int)row->ev->type != w->type || row->ev->doc == NULL)
        return ERR_OK;
    names_t *ns = w->ns;
    if (ns->n == ns->cap) {
        size_t cap = ns->cap ? ns->cap * 2 : 256;
        char **nv = realloc(ns->v, cap * sizeof *nv);
        if (nv == NULL)
            return ERR_NOMEM;
        ns->v = nv;
        ns->cap = cap;
    }
    ns->v[ns->n] = strdup(row->ev->doc);
    if (ns->v[ns->n] == NULL)
        return ERR_NOMEM;
    ns->n++;
    return ERR_OK;
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_free(names_t *ns)
{
    for (size_t i = 0; i < ns->n; i++)
        free(ns->v[i]);
    free(ns->v);
}

typedef struct rows {
    store_wl_sla_row_t *v;
    size_t n, cap;
} rows_t;

/* The item of document `number`: a row when it is late as the counters see it. */
static err_t sla_doc(store_snap_t *snap, const store_scope_t *scope, size_t sla, int32_t from,
                     int32_t to, kpi_arena_t *arena, const char *number, rows_t *rows,
                     store_wl_sla_t *out)
{
    const derive_t *d = store_snap_derive(snap);
    kpi_doc_kind_t kind = derive_sla_kind(d, sla);
    uint8_t k[KPI_NAME_MAX + 2];
    if (strlen(number) > KPI_NAME_MAX)
        return ERR_OK;
    MDB_val kv = {store_doc_key(k, kind, number), k}, v;
    int rc = mdb_get(store_snap_txn(snap), snap->s->docs, &kv, &v);
    if (rc == MDB_NOTFOUND)
        return ERR_OK;
    if (rc)
        return store_lmdb_err(snap->s, rc, "read document", NULL);
    doc_rec_t rec;
    bool has;
    const uint8_t *st;
    size_t st_len;
    if (!docv_decode(v.mv_data, v.mv_size, &rec, &has, &st, &st_len))
        return ERR_STORE_CORRUPT;
    derive_sla_item_t it;
    err_t e = derive_state_sla(d, st, st_len, sla, &it);
    if (e == ERR_NOT_FOUND)
        return ERR_OK;
    if (e)
        return e;
    /* Breached-open at `to`: past target by then, not stopped by then.
       Completed late: stopped in [from, to], target missed. */
    bool open = it.breach_day <= to && (!it.stopped || it.stop_day > to);
    bool late = it.stopped && !it.met && it.stop_day >= from && it.stop_day <= to;
    if (!open && !late)
        return ERR_OK;
    store_doc_t doc;
    e = store_doc_get(snap, kind, number, &doc);
    if (e == ERR_NOT_FOUND)
        return ERR_OK;
    if (e || !wl_name_is(doc.business_unit, scope->business_unit) ||
        !wl_name_is(doc.party, scope->party))
        return e;
    if (rows->n == rows->cap) {
        size_t cap = rows->cap ? rows->cap * 2 : 256;
        store_wl_sla_row_t *nv = realloc(rows->v, cap * sizeof *nv);
        if (nv == NULL)
            return ERR_NOMEM;
        rows->v = nv;
        rows->cap = cap;
    }
    store_wl_sla_row_t *r = &rows->v[rows->n];
    const char *pa = doc.party ? doc.party : "", *bu = doc.business_unit ? doc.business_unit : "";
    r->number = kpi_arena_strndup(arena, number, strlen(number));
    r->party = kpi_arena_strndup(arena, pa, strlen(pa));
    r->business_unit = kpi_arena_strndup(arena, bu, strlen(bu));
    if (r->number == NULL || r->party == NULL || r->business_unit == NULL)
        return ERR_NOMEM;
    r->open = open;
    r->start_day = it.start_day;
    r->target_day = it.breach_day - 1;
    r->stop_day = open ? INT32_MIN : it.stop_day;
    int32_t end = open ? to : it.stop_day;
    int32_t late_days =
        end > r->target_day ? kpi_business_days_between(&d->cal, r->target_day, end) : 0;
    r->days_late = late_days > 0 ? late_days : 0;
    if (open)
        out->breached_open++;
    else
        out->completed_late++;
    rows->n++;
    return ERR_OK;
}

err_t store_wl_sla(store_snap_t *snap, const store_scope_t *scope, size_t sla, int32_t from,
                   const store_wl_req_t *rq, kpi_arena_t *arena, store_wl_sla_t *out, err_msg_t *m)
{
    memset(out, 0, sizeof *out);
    err_t e = wl_req_check(STORE_WL_SLA, rq, m);
    if (e)
        return e;
    const derive_t *d = store_snap_derive(snap);
    if (sla >= d->n_slas)
        return err_set(m, ERR_BAD_PARAM, "parameter 'sla': no SLA %zu", sla);
    int32_t latest;
    e = store_latest_day(snap, &latest);
    if (e == ERR_NOT_FOUND)
        return scope->business_unit != NULL || scope->party != NULL ? ERR_NOT_FOUND : ERR_OK;
    if (e)
        return e;
    store_customer_t cu;
    if (scope->party != NULL)
        e = store_customer_get(snap, scope->party, &cu);
    /* An unknown unit is refused as /v1/sla refuses it. */
    store_sla_counts_t sc;
    if (!e && scope->business_unit != NULL)
        e = store_sla_cumulative(snap, sla, scope, &from, 1, &sc);
    if (e)
        return e;
    /* Every document with a start: its start events, at any day (a billing
       start may come before the invoice.issued that carries it). */
    const kpi_sla_def_t *def = &d->slas[sla];
    names_t ns = {0};
    walk_t w = {def->start_point == KPI_SLA_POINT_BILLING_DUE ? KPI_EV_INVOICE_ISSUED
                                                              : def->start_type,
                &ns};
    store_ev_filter_t f = {.party = scope->party,
                           .business_unit = scope->business_unit,
                           .type = (kpi_ev_type_t)w.type};
    e = wl_walk(snap, &f, take_start, &w);
    if (!e && ns.n > 1)
        qsort(ns.v, ns.n, sizeof *ns.v, str_cmp);
    rows_t rows = {0};
    for (size_t i = 0; !e && i < ns.n; i++)
        if (i == 0 || strcmp(ns.v[i], ns.v[i - 1]) != 0)
            e = sla_doc(snap, scope, sla, from, rq->as_of, arena, ns.v[i], &rows, out);
    names_free(&ns);
    ent_t *ents = !e && rows.n ? malloc(rows.n * sizeof *ents) : NULL;
    if (!e && rows.n && ents == NULL)
        e = ERR_NOMEM;
    if (e) {
        free(rows.v);
        return e == ERR_NOMEM ? err_set(m, e, "out of memory") : e;
    }
    for (size_t i = 0; i < rows.n; i++) {
        const store_wl_sla_row_t *r = &rows.v[i];
        ents[i] = (ent_t){{r->days_late, r->days_late, r->party, r->number}, i};
    }
    size_t n;
    void *page;
    e = wl_page(STORE_WL_SLA, rq, ents, rows.n, rows.v, sizeof *rows.v, arena, &page, &n,
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
