/*
 * kpi_aging.c — aging buckets and SLA targets.
 *
 * Aging works on groups of open invoices that share a basis day (due date
 * or issue date), which is what the store keeps: the cost of an aging is
 * the number of distinct basis days, not the number of invoices.
 *
 * Bucket boundaries (docs/kpi.md): days past due = as_of - basis_day;
 * `current` holds <= 0 (not yet due, or due today), then 1..e1,
 * e1+1..e2, ..., and last+1 and beyond. Negative open amounts (over-credited
 * invoices) stay in their bucket, so the bucket total always equals AR.
 */
#include "kpi.h"

#include <stdio.h>

#include "kpi_event.h"
#include "kpi_money.h"

err_t kpi_aging_edges_check(const int32_t *edges, size_t n_edges)
{
    if (n_edges < 1 || n_edges > KPI_BUCKETS_MAX - 2)
        return ERR_BAD_PARAM;
    for (size_t i = 0; i < n_edges; i++) {
        if (edges[i] < 1 || edges[i] > 36500)
            return ERR_BAD_PARAM;
        if (i > 0 && edges[i] <= edges[i - 1])
            return ERR_BAD_PARAM;
    }
    return ERR_OK;
}

err_t kpi_aging_init(kpi_aging_t *a, const int32_t *edges, size_t n_edges)
{
    err_t e = kpi_aging_edges_check(edges, n_edges);
    if (e)
        return e;
    *a = (kpi_aging_t){0};
    a->n_buckets = n_edges + 2;
    a->buckets[0].lo = INT32_MIN;
    a->buckets[0].hi = 0;
    int32_t lo = 1;
    for (size_t i = 0; i < n_edges; i++) {
        a->buckets[i + 1].lo = lo;
        a->buckets[i + 1].hi = edges[i];
        lo = edges[i] + 1;
    }
    a->buckets[n_edges + 1].lo = lo;
    a->buckets[n_edges + 1].hi = INT32_MAX;
    return ERR_OK;
}

static size_t bucket_of(const kpi_aging_t *a, int64_t days_past_due)
{
    /* Few buckets: a linear scan beats anything clever. */
    for (size_t i = 0; i + 1 < a->n_buckets; i++)
        if (days_past_due <= a->buckets[i].hi)
            return i;
    return a->n_buckets - 1;
}

err_t kpi_aging_add(kpi_aging_t *a, int32_t as_of, const kpi_open_group_t *groups, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const kpi_open_group_t *g = &groups[i];
        kpi_bucket_t *b = &a->buckets[bucket_of(a, (int64_t)as_of - g->basis_day)];
        if (kpi_add_i64(&b->amount, g->amount) || kpi_add_i64(&b->count, g->count) ||
            kpi_add_i64(&a->total_amount, g->amount) || kpi_add_i64(&a->total_count, g->count))
            return ERR_OVERFLOW;
    }
    return ERR_OK;
}

const char *kpi_bucket_label(const kpi_bucket_t *b, char *buf, size_t cap)
{
    if (b->lo == INT32_MIN)
        snprintf(buf, cap, "current");
    else if (b->hi == INT32_MAX)
        snprintf(buf, cap, "%d+", (int)b->lo);
    else
        snprintf(buf, cap, "%d-%d", (int)b->lo, (int)b->hi);
    return buf;
}

bool kpi_sla_met(const kpi_sla_target_t *t, const kpi_calendar_t *cal, int64_t start_s,
                 int32_t start_day, int64_t stop_s, int32_t stop_day)
{
    switch (t->unit) {
    case KPI_SLA_HOURS: return stop_s - start_s <= (int64_t)t->amount * 3600;
    case KPI_SLA_BUSINESS_DAYS:
        return kpi_business_days_between(cal, start_day, stop_day) <= t->amount;
    case KPI_SLA_CALENDAR_DAYS: return (int64_t)stop_day - start_day <= t->amount;
    }
    return false;
}

int32_t kpi_sla_breach_day(const kpi_sla_target_t *t, const kpi_calendar_t *cal, int64_t start_s,
                           int32_t start_day, int32_t (*day_of)(const void *ctx, int64_t t_s),
                           const void *ctx)
{
    switch (t->unit) {
    case KPI_SLA_HOURS:
        /* Past target at the end of E iff the deadline instant falls on or before E. */
        return day_of(ctx, start_s + (int64_t)t->amount * 3600);
    case KPI_SLA_BUSINESS_DAYS:
        /* Past once one more business day than allowed has elapsed. */
        return kpi_business_day_add(cal, start_day, t->amount + 1);
    case KPI_SLA_CALENDAR_DAYS: return start_day + t->amount + 1;
    }
    return INT32_MAX;
}

size_t kpi_sla_defaults(kpi_sla_def_t *out, size_t cap)
{
    /* The built-ins of docs/kpi.md. Type numbers are kpi_ev_type_t values; kpi.h keeps
       them as int so this header need not include the event model. */
    static const kpi_sla_def_t defs[] = {
        {"ap-processing",
         KPI_SLA_POINT_EVENT,
         KPI_SLA_POINT_EVENT,
         KPI_EV_BILL_RECEIVED,
         KPI_EV_BILL_PROCESSED,
         {KPI_SLA_BUSINESS_DAYS, 3}},
        {"billing",
         KPI_SLA_POINT_BILLING_DUE,
         KPI_SLA_POINT_EVENT,
         KPI_EV_INVOICE_ISSUED,
         KPI_EV_INVOICE_ISSUED,
         {KPI_SLA_BUSINESS_DAYS, 0}},
        {"cash-application",
         KPI_SLA_POINT_EVENT,
         KPI_SLA_POINT_FULLY_APPLIED,
         KPI_EV_PAYMENT_RECEIVED,
         KPI_EV_PAYMENT_APPLIED,
         {KPI_SLA_BUSINESS_DAYS, 1}},
        {"inquiry-resolution",
         KPI_SLA_POINT_EVENT,
         KPI_SLA_POINT_EVENT,
         KPI_EV_INQUIRY_OPENED,
         KPI_EV_INQUIRY_RESOLVED,
         {KPI_SLA_BUSINESS_DAYS, 5}},
        {"dispute-resolution",
         KPI_SLA_POINT_EVENT,
         KPI_SLA_POINT_EVENT,
         KPI_EV_DISPUTE_OPENED,
         KPI_EV_DISPUTE_RESOLVED,
         {KPI_SLA_CALENDAR_DAYS, 30}},
    };
    size_t n = sizeof defs / sizeof defs[0];
    if (n > cap)
        n = cap;
    for (size_t i = 0; i < n; i++)
        out[i] = defs[i];
    return n;
}
