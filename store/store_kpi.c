/*
 * store_kpi.c — the public face of the derived KPI state (store_kpi.h):
 * names become interned ids, then store_derive.c answers from its
 * databases inside the caller's snapshot.
 */
#include "store_kpi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_derive.h"

/* Scope names to ids; ERR_NOT_FOUND when the store never saw a name. */
static err_t scope_ids(store_snap_t *snap, const store_scope_t *sc, derive_scope_t *out)
{
    memset(out, 0, sizeof *out);
    memcpy(out->currency, sc->currency, 3);
    err_t e = ERR_OK;
    if (sc->business_unit != NULL)
        e = store_name_lookup(snap, sc->business_unit, &out->unit);
    if (!e && sc->party != NULL) {
        e = store_name_lookup(snap, sc->party, &out->party);
        if (!e && !store_party_known(snap, out->party))
            e = ERR_NOT_FOUND;
    }
    return e;
}

err_t store_flows_cumulative(store_snap_t *snap, const store_scope_t *scope, const int32_t *days,
                             size_t n, store_flows_t *out)
{
    derive_scope_t sc;
    err_t e = scope_ids(snap, scope, &sc);
    return e ? e
             : derive_flows_cumulative(store_snap_derive(snap), store_snap_txn(snap), &sc, days, n,
                                       out);
}

err_t store_flows_first_day(store_snap_t *snap, const store_scope_t *scope, int32_t *day)
{
    derive_scope_t sc;
    err_t e = scope_ids(snap, scope, &sc);
    return e ? e : derive_flows_first_day(store_snap_derive(snap), store_snap_txn(snap), &sc, day);
}

err_t store_open_groups(store_snap_t *snap, const store_scope_t *scope, store_basis_t basis,
                        int32_t as_of, int32_t min_basis_day, kpi_arena_t *arena,
                        kpi_open_group_t **groups, size_t *n)
{
    derive_scope_t sc;
    *groups = NULL;
    *n = 0;
    err_t e = scope_ids(snap, scope, &sc);
    return e ? e
             : derive_open_groups(store_snap_derive(snap), store_snap_txn(snap), &sc, basis, as_of,
                                  min_basis_day, arena, groups, n);
}

typedef struct names_ctx {
    store_snap_t *snap;
    store_name_fn fn;
    void *ctx;
} names_ctx_t;

static err_t id_to_name(void *ctx, uint32_t id)
{
    names_ctx_t *c = ctx;
    const char *name;
    err_t e = store_name_of(c->snap, id, &name);
    return e ? e : c->fn(c->ctx, name);
}

err_t store_business_units(store_snap_t *snap, const char *currency, store_name_fn fn, void *ctx)
{
    names_ctx_t c = {snap, fn, ctx};
    char cur[4] = {0};
    memcpy(cur, currency, 3);
    return derive_flow_units(store_snap_derive(snap), store_snap_txn(snap), cur, id_to_name, &c);
}

err_t store_currencies(store_snap_t *snap, store_name_fn fn, void *ctx)
{
    return derive_flow_currencies(store_snap_derive(snap), store_snap_txn(snap), fn, ctx);
}

/* Business units a store may hold for this walk; more is ERR_TOO_LARGE. */
#define UNITS_MAX 1024

typedef struct ids {
    uint32_t v[UNITS_MAX];
    size_t n;
    bool more; /* more than fit: the caller is told ERR_TOO_LARGE */
} ids_t;

static err_t id_add(void *ctx, uint32_t id)
{
    ids_t *x = ctx;
    if (x->n == sizeof x->v / sizeof x->v[0]) {
        x->more = true;
        return ERR_OK;
    }
    x->v[x->n++] = id;
    return ERR_OK;
}

typedef struct codes {
    char v[64][4];
    size_t n;
    bool more;
} codes_t;

static err_t code_add(void *ctx, const char *code)
{
    codes_t *x = ctx;
    if (x->n == sizeof x->v / sizeof x->v[0]) {
        x->more = true;
        return ERR_OK;
    }
    snprintf(x->v[x->n++], 4, "%s", code);
    return ERR_OK;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

err_t store_party_units(store_snap_t *snap, const char *party, store_name_fn fn, void *ctx)
{
    uint32_t pid;
    err_t e = store_name_lookup(snap, party, &pid);
    if (e == ERR_NOT_FOUND)
        return ERR_OK;
    if (e)
        return e;
    const derive_t *d = store_snap_derive(snap);
    MDB_txn *txn = store_snap_txn(snap);
    codes_t curs = {0};
    e = derive_flow_currencies(d, txn, code_add, &curs);
    ids_t *units = malloc(sizeof *units);
    uint32_t *found = malloc(UNITS_MAX * sizeof *found);
    if (!e && (units == NULL || found == NULL))
        e = ERR_NOMEM;
    size_t nf = 0;
    for (size_t i = 0; !e && i < curs.n; i++) {
        units->n = 0;
        units->more = false;
        e = derive_flow_units(d, txn, curs.v[i], id_add, units);
        if (!e && units->more)
            e = ERR_TOO_LARGE;
        for (size_t j = 0; !e && j < units->n; j++) {
            derive_scope_t sc = {{0}, units->v[j], pid};
            memcpy(sc.currency, curs.v[i], 4);
            bool has = false, seen = false;
            e = derive_flow_has(d, txn, &sc, &has);
            for (size_t k = 0; k < nf; k++)
                seen = seen || found[k] == units->v[j];
            if (!e && has && !seen && nf == UNITS_MAX)
                e = ERR_TOO_LARGE;
            else if (!e && has && !seen)
                found[nf++] = units->v[j];
        }
    }
    if (!e && curs.more)
        e = ERR_TOO_LARGE;
    if (!e)
        qsort(found, nf, sizeof found[0], u32_cmp);
    names_ctx_t c = {snap, fn, ctx};
    for (size_t k = 0; !e && k < nf; k++)
        e = id_to_name(&c, found[k]);
    free(units);
    free(found);
    return e;
}

err_t store_parties_by(store_snap_t *snap, const char *currency, const char *business_unit,
                       derive_parties_fn list, store_name_fn fn, void *ctx)
{
    uint32_t unit = 0;
    if (business_unit != NULL) {
        err_t e = store_name_lookup(snap, business_unit, &unit);
        if (e)
            return e;
    }
    names_ctx_t c = {snap, fn, ctx};
    char cur[4] = {0};
    memcpy(cur, currency, 3);
    return list(store_snap_derive(snap), store_snap_txn(snap), cur, unit, id_to_name, &c);
}

err_t store_parties(store_snap_t *snap, const char *currency, const char *business_unit,
                    store_name_fn fn, void *ctx)
{
    return store_parties_by(snap, currency, business_unit, derive_open_parties, fn, ctx);
}

size_t store_sla_defs(const store_t *s, const kpi_sla_def_t **defs)
{
    const derive_t *d = store_derive_of(s);
    *defs = d->slas;
    return d->n_slas;
}

const kpi_calendar_t *store_calendar(const store_t *s)
{
    return &store_derive_of(s)->cal;
}

static err_t unit_id(store_snap_t *snap, const store_scope_t *scope, uint32_t *unit)
{
    *unit = 0;
    if (scope == NULL || scope->business_unit == NULL)
        return ERR_OK;
    return store_name_lookup(snap, scope->business_unit, unit);
}

err_t store_sla_cumulative(store_snap_t *snap, size_t sla, const store_scope_t *scope,
                           const int32_t *days, size_t n, store_sla_counts_t *out)
{
    uint32_t unit;
    err_t e = unit_id(snap, scope, &unit);
    return e ? e
             : derive_sla_cumulative(store_snap_derive(snap), store_snap_txn(snap), sla, unit, days,
                                     n, out);
}

err_t store_ftq_cumulative(store_snap_t *snap, store_ftq_kind_t kind, const store_scope_t *scope,
                           const int32_t *days, size_t n, store_ftq_counts_t *out)
{
    uint32_t unit;
    err_t e = unit_id(snap, scope, &unit);
    return e ? e
             : derive_ftq_cumulative(store_snap_derive(snap), store_snap_txn(snap), kind, unit,
                                     days, n, out);
}

static err_t party_id(store_snap_t *snap, const char *party, uint32_t *id)
{
    err_t e = store_name_lookup(snap, party, id);
    if (!e && !store_party_known(snap, *id))
        e = ERR_NOT_FOUND;
    return e;
}

err_t store_customer_get(store_snap_t *snap, const char *party, store_customer_t *out)
{
    memset(out, 0, sizeof *out);
    uint32_t id;
    err_t e = party_id(snap, party, &id);
    if (e)
        return e;
    e = store_name_of(snap, id, &out->name);
    if (e)
        return e;
    derive_cust_t *c = malloc(sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    e = derive_customer(store_snap_derive(snap), store_snap_txn(snap), id, c);
    if (e == ERR_OK) {
        out->has_limit = c->has_limit;
        out->credit_limit = c->credit_limit;
        memcpy(out->limit_currency, c->limit_currency, 4);
        out->on_hold = c->on_hold;
        out->hold_since = c->hold_day;
        if (c->on_hold)
            memcpy(out->hold_reason, c->hold_reason, sizeof out->hold_reason);
    }
    free(c);
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}

err_t store_customer_habits(store_snap_t *snap, const char *party, const char *currency,
                            kpi_habits_acc_t *out)
{
    uint32_t id;
    memset(out, 0, sizeof *out);
    err_t e = party_id(snap, party, &id);
    if (e)
        return e;
    char cur[4] = {0};
    memcpy(cur, currency, 3);
    e = derive_habits(store_snap_derive(snap), store_snap_txn(snap), id, cur, out);
    return e == ERR_NOT_FOUND ? ERR_OK : e;
}

typedef struct docs_ctx {
    store_snap_t *snap;
    kpi_doc_kind_t kind;
    store_doc_fn fn;
    void *ctx;
} docs_ctx_t;

static err_t doc_cb(void *ctx, const char *number)
{
    docs_ctx_t *c = ctx;
    store_doc_t doc;
    err_t e = store_doc_get(c->snap, c->kind, number, &doc);
    return e ? e : c->fn(c->ctx, &doc, number);
}

static err_t customer_docs(store_snap_t *snap, const char *party, kpi_doc_kind_t kind,
                           store_doc_fn fn, void *ctx)
{
    uint32_t id;
    err_t e = party_id(snap, party, &id);
    if (e)
        return e;
    docs_ctx_t c = {snap, kind, fn, ctx};
    return derive_customer_docs(store_snap_derive(snap), store_snap_txn(snap), id, kind, doc_cb,
                                &c);
}

err_t store_customer_invoices(store_snap_t *snap, const char *party, store_doc_fn fn, void *ctx)
{
    return customer_docs(snap, party, KPI_DOC_INVOICE, fn, ctx);
}

err_t store_customer_disputes(store_snap_t *snap, const char *party, store_doc_fn fn, void *ctx)
{
    return customer_docs(snap, party, KPI_DOC_DISPUTE, fn, ctx);
}

err_t store_customer_open_candidates(store_snap_t *snap, const char *party, int32_t as_of,
                                     store_doc_fn fn, void *ctx)
{
    int32_t max_day;
    err_t e = derive_max_day(store_snap_derive(snap), store_snap_txn(snap), &max_day);
    if (e == ERR_NOT_FOUND || (!e && as_of < max_day))
        return customer_docs(snap, party, KPI_DOC_INVOICE, fn, ctx);
    if (e)
        return e;
    uint32_t id;
    e = party_id(snap, party, &id);
    if (e)
        return e;
    docs_ctx_t c = {snap, KPI_DOC_INVOICE, fn, ctx};
    return derive_customer_open_now(store_snap_derive(snap), store_snap_txn(snap), id, doc_cb, &c);
}

err_t store_latest_day(store_snap_t *snap, int32_t *day)
{
    return derive_max_day(store_snap_derive(snap), store_snap_txn(snap), day);
}

err_t store_invoice_open_at(store_snap_t *snap, const char *number, int32_t as_of, int64_t *open)
{
    return derive_invoice_open_at(store_snap_derive(snap), store_snap_txn(snap), number, as_of,
                                  open);
}
