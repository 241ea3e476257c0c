/*
 * rpt_payables.c — the `payables` report kind: what we owe, aged like what
 * we are owed (docs/reports.md). Gathered through store_query_ap.h in the
 * report's one snapshot (the payables aging by unit and by vendor, the
 * cash requirements of RPT_AP_WEEKS weeks, all as of the report's last
 * day), drawn with rpt_pdf.c's section and table helpers (rpt_int.h), so
 * this file never sees libharu. The figures are the API's:
 * /v1/payables/aging and /v1/payables/cash-requirements.
 */
#include "rpt_int.h"

#include <stdio.h>
#include <string.h>

#include "kpi_date.h"

/* ---- gathering ------------------------------------------------------------- */

err_t rpt_payables_gather(store_snap_t *snap, const store_q_aging_req_t *arq, kpi_arena_t *arena,
                          rpt_data_t *d, err_msg_t *msg)
{
    store_scope_t sc = {.business_unit = d->unit, .party = NULL};
    memcpy(sc.currency, d->currency, 4);
    store_q_ap_aging_req_t rq = {arq->as_of, STORE_BASIS_DUE, arq->edges, arq->n_edges,
                                 STORE_Q_AP_GROUP_UNIT};
    err_t e = store_q_ap_aging(snap, &sc, &rq, arena, &d->ap, msg);
    rq.group_by = STORE_Q_AP_GROUP_VENDOR;
    if (!e)
        e = store_q_ap_aging(snap, &sc, &rq, arena, &d->ap_vendors, msg);
    if (!e) {
        size_t n = d->ap_vendors.n_groups;
        d->ap_vendor_order = kpi_arena_alloc(arena, (n ? n : 1) * sizeof *d->ap_vendor_order);
        d->ap_cash = kpi_arena_alloc(arena, sizeof *d->ap_cash);
        if (d->ap_vendor_order == NULL || d->ap_cash == NULL)
            return err_set(msg, ERR_NOMEM, "out of memory gathering payables");
        for (size_t i = 0; i < n; i++)
            d->ap_vendor_order[i] = i;
        /* Largest total first, then by name (an insertion sort: qsort has
           no context argument, and reports render on several threads). */
        for (size_t i = 1; i < n; i++)
            for (size_t j = i; j > 0; j--) {
                const kpi_aging_t *a = &d->ap_vendors.groups[d->ap_vendor_order[j - 1]];
                const kpi_aging_t *b = &d->ap_vendors.groups[d->ap_vendor_order[j]];
                bool swap = a->total_amount < b->total_amount ||
                            (a->total_amount == b->total_amount &&
                             strcmp(d->ap_vendors.keys[d->ap_vendor_order[j - 1]],
                                    d->ap_vendors.keys[d->ap_vendor_order[j]]) > 0);
                if (!swap)
                    break;
                size_t t = d->ap_vendor_order[j];
                d->ap_vendor_order[j] = d->ap_vendor_order[j - 1];
                d->ap_vendor_order[j - 1] = t;
            }
        e = store_q_ap_cashreq(snap, &sc, arq->as_of, RPT_AP_WEEKS, arena, d->ap_cash, msg);
    }
    return e;
}

/* ---- drawing --------------------------------------------------------------- */

typedef struct cellbuf {
    char b[8][RPT_NUM_BUF];
} cellbuf_t;

static const char *count_text(int64_t n, char *buf)
{
    snprintf(buf, RPT_NUM_BUF, "%lld", (long long)n);
    return buf;
}

static void sec_ap_aging(rpt_pdf_t *p)
{
    const rpt_data_t *d = rpt_pdf_data(p);
    const kpi_aging_t *ag = &d->ap.all;
    char title[96], day[KPI_DATE_BUF], unit[32];
    snprintf(title, sizeof title, "Payables aging as of %s (days past due date)",
             kpi_date_format(d->to, day));
    rpt_pdf_section(p, title);
    snprintf(unit, sizeof unit, "Amount (%s)", d->currency);
    const rpt_col_t cols[4] = {{"Bucket (days past due)", 150, RPT_A_LEFT},
                               {"Open bills", 100, RPT_A_RIGHT},
                               {unit, 150, RPT_A_RIGHT},
                               {"Share of AP (%)", 99, RPT_A_RIGHT}};
    const char *v[(KPI_BUCKETS_MAX + 1) * 4];
    cellbuf_t b[KPI_BUCKETS_MAX + 1];
    for (size_t i = 0; i <= ag->n_buckets; i++) {
        bool tot = i == ag->n_buckets;
        int64_t amt = tot ? ag->total_amount : ag->buckets[i].amount;
        kpi_ratio_t share = kpi_percent(amt, ag->total_amount);
        v[i * 4] = tot ? "Total AP" : kpi_bucket_label(&ag->buckets[i], b[i].b[0], 32);
        v[i * 4 + 1] = count_text(tot ? ag->total_count : ag->buckets[i].count, b[i].b[1]);
        v[i * 4 + 2] = rpt_fmt_money(amt, d->digits, b[i].b[2]);
        v[i * 4 + 3] = rpt_fmt_ratio(&share, b[i].b[3]);
    }
    rpt_pdf_table(p, cols, 4, v, ag->n_buckets + 1, true);
}

/* name, open bills, current, overdue, total open: 5 cells from v. */
static void aging_row(const rpt_data_t *d, const char *name, const kpi_aging_t *g, cellbuf_t *b,
                      const char **v)
{
    v[0] = name;
    v[1] = count_text(g->total_count, b->b[1]);
    v[2] = rpt_fmt_money(g->buckets[0].amount, d->digits, b->b[2]);
    v[3] = rpt_fmt_money(g->total_amount - g->buckets[0].amount, d->digits, b->b[3]);
    v[4] = rpt_fmt_money(g->total_amount, d->digits, b->b[4]);
}

static void sec_ap_units(rpt_pdf_t *p, kpi_arena_t *arena)
{
    const rpt_data_t *d = rpt_pdf_data(p);
    size_t n = d->ap.n_groups;
    if (d->unit != NULL || n == 0)
        return;
    rpt_pdf_section(p, "Payables by business unit");
    static const rpt_col_t cols[5] = {{"Business unit", 169, RPT_A_LEFT},
                                      {"Open bills", 70, RPT_A_RIGHT},
                                      {"Current", 86, RPT_A_RIGHT},
                                      {"Overdue", 87, RPT_A_RIGHT},
                                      {"Total open", 87, RPT_A_RIGHT}};
    const char **v = kpi_arena_alloc(arena, n * 5 * sizeof *v);
    cellbuf_t *b = kpi_arena_alloc(arena, n * sizeof *b);
    if (v == NULL || b == NULL) {
        rpt_pdf_note(p, "(out of memory drawing the units)");
        return;
    }
    for (size_t i = 0; i < n; i++)
        aging_row(d, d->ap.keys[i], &d->ap.groups[i], &b[i], v + i * 5);
    rpt_pdf_table(p, cols, 5, v, n, false);
}

static void sec_ap_vendors(rpt_pdf_t *p, kpi_arena_t *arena)
{
    const rpt_data_t *d = rpt_pdf_data(p);
    size_t all = d->ap_vendors.n_groups;
    size_t n = all < RPT_AP_TOP_VENDORS ? all : RPT_AP_TOP_VENDORS;
    char title[96];
    snprintf(title, sizeof title, "Top vendors by amount owed (%zu of %zu with open bills)", n,
             all);
    rpt_pdf_section(p, title);
    if (n == 0) {
        rpt_pdf_note(p, "No bill is open at the end of the period.");
        return;
    }
    static const rpt_col_t cols[6] = {
        {"#", 22, RPT_A_RIGHT},          {"Vendor", 177, RPT_A_LEFT},
        {"Open bills", 60, RPT_A_RIGHT}, {"Current", 80, RPT_A_RIGHT},
        {"Overdue", 80, RPT_A_RIGHT},    {"Total open", 80, RPT_A_RIGHT}};
    const char **v = kpi_arena_alloc(arena, n * 6 * sizeof *v);
    cellbuf_t *b = kpi_arena_alloc(arena, n * sizeof *b);
    if (v == NULL || b == NULL) {
        rpt_pdf_note(p, "(out of memory drawing the vendors)");
        return;
    }
    for (size_t i = 0; i < n; i++) {
        size_t k = d->ap_vendor_order[i];
        snprintf(b[i].b[0], RPT_NUM_BUF, "%zu", i + 1);
        v[i * 6] = b[i].b[0];
        aging_row(d, d->ap_vendors.keys[k], &d->ap_vendors.groups[k], &b[i], v + i * 6 + 1);
    }
    rpt_pdf_table(p, cols, 6, v, n, false);
}

static void sec_ap_cash(rpt_pdf_t *p)
{
    const rpt_data_t *d = rpt_pdf_data(p);
    const store_q_ap_cashreq_t *c = d->ap_cash;
    char title[96];
    snprintf(title, sizeof title, "Cash requirements: bills due in the next %zu weeks", c->n_weeks);
    rpt_pdf_section(p, title);
    char unit[32];
    snprintf(unit, sizeof unit, "Amount (%s)", d->currency);
    const rpt_col_t cols[5] = {{"Due", 130, RPT_A_LEFT},
                               {"From", 80, RPT_A_RIGHT},
                               {"To", 80, RPT_A_RIGHT},
                               {"Open bills", 79, RPT_A_RIGHT},
                               {unit, 130, RPT_A_RIGHT}};
    enum { ROWS = STORE_Q_AP_WEEKS_MAX + 3 };
    static const size_t W = 5;
    const char *v[ROWS * 5];
    cellbuf_t b[ROWS];
    char what[ROWS][32];
    size_t r = 0;
    for (size_t i = 0; i < c->n_weeks + 3; i++, r++) {
        const store_q_ap_line_t *l;
        store_q_ap_line_t all = {INT32_MIN, INT32_MAX, c->total_amount, c->total_count};
        if (i == 0) {
            l = &c->overdue;
            snprintf(what[r], sizeof what[r], "Overdue");
        } else if (i <= c->n_weeks) {
            l = &c->weeks[i - 1];
            snprintf(what[r], sizeof what[r], "Week %zu", i);
        } else if (i == c->n_weeks + 1) {
            l = &c->later;
            snprintf(what[r], sizeof what[r], "Later");
        } else {
            l = &all;
            snprintf(what[r], sizeof what[r], "Total");
        }
        v[r * W] = what[r];
        v[r * W + 1] = l->start == INT32_MIN ? "" : kpi_date_format(l->start, b[r].b[1]);
        v[r * W + 2] = l->end == INT32_MAX ? "" : kpi_date_format(l->end, b[r].b[2]);
        v[r * W + 3] = count_text(l->count, b[r].b[3]);
        v[r * W + 4] = rpt_fmt_money(l->amount, d->digits, b[r].b[4]);
    }
    rpt_pdf_table(p, cols, W, v, r, true);
    rpt_pdf_note(p, "Bills open at the end of the period by due date; weeks run Monday to "
                    "Sunday, the first from the period's last day.");
}

void rpt_payables_render(rpt_pdf_t *p)
{
    kpi_arena_t *arena = NULL;
    if (kpi_arena_new(4u << 20, &arena) != ERR_OK) {
        rpt_pdf_note(p, "(out of memory)");
        return;
    }
    sec_ap_aging(p);
    sec_ap_units(p, arena);
    sec_ap_vendors(p, arena);
    sec_ap_cash(p);
    kpi_arena_free(arena);
}
