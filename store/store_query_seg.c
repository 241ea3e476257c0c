/*
 * store_query_seg.c — see store_query_seg.h. Built on the per-customer
 * answers of store_query.c: a segment's aging is the sum of its customers'
 * groups, a segment's series the points of its customers' summed flows.
 */
#include "store_query_seg.h"

#include <stdlib.h>
#include <string.h>

#include "store_query_int.h"

static const char *segment_of(store_snap_t *snap, const char *customer)
{
    store_profile_t p;
    if (store_party_profile(snap, false, customer, &p) != ERR_OK || p.segment == NULL)
        return STORE_Q_NO_SEGMENT;
    return p.segment;
}

static int str_cmp(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    /* The group of customers without a segment comes last. */
    bool xn = strcmp(x, STORE_Q_NO_SEGMENT) == 0, yn = strcmp(y, STORE_Q_NO_SEGMENT) == 0;
    if (xn != yn)
        return xn ? 1 : -1;
    return strcmp(x, y);
}

err_t store_q_segments(store_snap_t *snap, const store_scope_t *sc, kpi_arena_t *arena,
                       store_q_segments_t *out, err_msg_t *m)
{
    memset(out, 0, sizeof *out);
    store_q_names_t all = {.arena = arena};
    err_t e = store_parties(snap, sc->currency, sc->business_unit, store_q_names_add, &all);
    if (e)
        return err_set(m, e, "cannot list the customers");
    store_q_names_sort(&all);
    /* Segment names, distinct: sorted copies of each customer's segment. */
    const char **segs = kpi_arena_alloc(arena, (all.n ? all.n : 1) * sizeof *segs);
    if (segs == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < all.n; i++) {
        const char *s = segment_of(snap, all.v[i]);
        segs[i] = kpi_arena_strndup(arena, s, strlen(s));
        if (segs[i] == NULL)
            return err_set(m, ERR_NOMEM, "out of memory");
    }
    const char **names = kpi_arena_alloc(arena, (all.n ? all.n : 1) * sizeof *names);
    if (names == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    memcpy(names, segs, all.n * sizeof *names);
    qsort(names, all.n, sizeof *names, str_cmp);
    size_t n = 0;
    for (size_t i = 0; i < all.n; i++)
        if (n == 0 || strcmp(names[n - 1], names[i]) != 0)
            names[n++] = names[i];
    out->customers = kpi_arena_alloc(arena, (n ? n : 1) * sizeof *out->customers);
    if (out->customers == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    for (size_t k = 0; k < n; k++)
        out->customers[k] = (store_q_names_t){.arena = arena};
    for (size_t i = 0; i < all.n && !e; i++) {
        const char *key = segs[i];
        const char **hit = bsearch(&key, names, n, sizeof *names, str_cmp);
        if (hit != NULL)
            e = store_q_names_add(&out->customers[hit - names], all.v[i]);
    }
    if (e)
        return err_set(m, e, "out of memory");
    out->n = n;
    out->names = names;
    return ERR_OK;
}

static void add_aging(kpi_aging_t *into, const kpi_aging_t *g)
{
    for (size_t b = 0; b < into->n_buckets; b++) {
        into->buckets[b].amount += g->buckets[b].amount;
        into->buckets[b].count += g->buckets[b].count;
    }
    into->total_amount += g->total_amount;
    into->total_count += g->total_count;
}

err_t store_q_aging_by_segment(store_snap_t *snap, const store_scope_t *sc,
                               const store_q_aging_req_t *rq, kpi_arena_t *arena,
                               store_q_aging_t *out, err_msg_t *m)
{
    store_q_aging_req_t byc = *rq;
    byc.group_by = STORE_Q_GROUP_CUSTOMER;
    store_q_aging_t cust;
    err_t e = store_q_aging(snap, sc, &byc, arena, &cust, m);
    if (e)
        return e;
    *out = cust;
    out->n_groups = 0;
    if (cust.n_groups == 0)
        return ERR_OK;
    /* Segments of the customers with something open, in segment order. */
    const char **segs = kpi_arena_alloc(arena, cust.n_groups * sizeof *segs);
    out->groups = kpi_arena_alloc(arena, cust.n_groups * sizeof *out->groups);
    out->keys = kpi_arena_alloc(arena, cust.n_groups * sizeof *out->keys);
    if (segs == NULL || out->groups == NULL || out->keys == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < cust.n_groups; i++) {
        const char *s = segment_of(snap, cust.keys[i]);
        segs[i] = kpi_arena_strndup(arena, s, strlen(s));
        if (segs[i] == NULL)
            return err_set(m, ERR_NOMEM, "out of memory");
        out->keys[i] = segs[i];
    }
    qsort(out->keys, cust.n_groups, sizeof *out->keys, str_cmp);
    size_t n = 0;
    for (size_t i = 0; i < cust.n_groups; i++)
        if (n == 0 || strcmp(out->keys[n - 1], out->keys[i]) != 0)
            out->keys[n++] = out->keys[i];
    for (size_t k = 0; k < n; k++) {
        e = kpi_aging_init(&out->groups[k], rq->edges, rq->n_edges);
        if (e)
            return err_set(m, e, "aging bucket edges");
    }
    for (size_t i = 0; i < cust.n_groups; i++) {
        const char **hit = bsearch(&segs[i], out->keys, n, sizeof *out->keys, str_cmp);
        if (hit != NULL)
            add_aging(&out->groups[hit - out->keys], &cust.groups[i]);
    }
    out->n_groups = n;
    return ERR_OK;
}

err_t store_q_series_of(store_snap_t *snap, const store_scope_t *sc,
                        const store_q_names_t *customers, const store_q_series_req_t *rq,
                        kpi_arena_t *arena, store_q_point_t *out, err_msg_t *m)
{
    if (rq->what != STORE_Q_DSO && rq->what != STORE_Q_CEI && rq->what != STORE_Q_ROLLFORWARD)
        return err_set(m, ERR_BAD_PARAM, "a series by segment is one of DSO, CEI, roll-forward");
    if (rq->n_periods == 0 || rq->n_periods > STORE_Q_PERIODS_MAX)
        return err_set(m, ERR_BAD_PARAM, "%zu periods, 1 to %d per series", rq->n_periods,
                       STORE_Q_PERIODS_MAX);
    int32_t lo = rq->periods[0].start, hi = rq->periods[rq->n_periods - 1].end;
    if (rq->what == STORE_Q_DSO && rq->method == STORE_Q_DSO_COUNTBACK) {
        /* Countback may walk back to the scope's first sale. */
        store_scope_t whole = *sc;
        whole.party = NULL;
        int32_t first;
        err_t e = store_flows_first_day(snap, &whole, &first);
        if (e == ERR_OK && first < lo)
            lo = kpi_unit_start(rq->iv, first);
        else if (e != ERR_OK && e != ERR_NOT_FOUND)
            return err_set(m, e, "cannot read the store");
    }
    /* The first customer's flows are loaded into `sum`, each next one into
       one scratch array added to it: memory for two customers, not all. */
    if ((int64_t)hi - lo + 2 > STORE_Q_HISTORY_DAYS_MAX)
        return err_set(m, ERR_BAD_PARAM, "the date range spans more than %d days",
                       STORE_Q_HISTORY_DAYS_MAX);
    size_t days_n = (size_t)(hi - lo + 2);
    store_q_cum_t sum = {.lo = lo, .hi = hi, .f = kpi_arena_alloc(arena, days_n * sizeof *sum.f)};
    if (sum.f == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    memset(sum.f, 0, days_n * sizeof *sum.f);
    err_t e;
    int32_t *days = kpi_arena_alloc(arena, days_n * sizeof *days);
    store_flows_t *tmp = kpi_arena_alloc(arena, days_n * sizeof *tmp);
    if (days == NULL || tmp == NULL)
        return err_set(m, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < days_n; i++)
        days[i] = lo - 1 + (int32_t)i;
    for (size_t i = 0; i < customers->n; i++) {
        store_scope_t one = *sc;
        one.party = customers->v[i];
        e = store_flows_cumulative(snap, &one, days, days_n, tmp);
        if (e == ERR_NOT_FOUND) /* nothing in this currency and unit */
            continue;
        if (e)
            return err_set(m, e, "cannot read the store");
        size_t n = days_n * (sizeof *tmp / sizeof(int64_t));
        int64_t *into = (int64_t *)sum.f;
        const int64_t *from = (const int64_t *)tmp;
        for (size_t k = 0; k < n; k++)
            if (__builtin_add_overflow(into[k], from[k], &into[k]))
                return err_set(m, ERR_OVERFLOW, "a segment's sum leaves int64");
    }
    for (size_t k = 0; k < rq->n_periods; k++) {
        memset(&out[k], 0, sizeof out[k]);
        out[k].start = rq->periods[k].start;
        out[k].end = rq->periods[k].end;
    }
    return store_q_points(rq, &sum, arena, out, m);
}
