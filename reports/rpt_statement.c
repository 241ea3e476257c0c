/*
 * rpt_statement.c — the layout of a customer's statement of account
 * (RPT_STATEMENT): what a collector sends to a customer.
 *
 * Drawn through the page, table and text helpers of rpt_pdf.c (rpt_int.h),
 * which keep the fonts (any script in names: the CJK font is loaded when a
 * name needs it), the header with the customer and the period, page breaks
 * with repeated table heads and the footers. So this file never sees
 * libharu and holds only the statement's own order of things:
 *
 *   for each currency of the account (rpt_stmt_t.curs, by code), each
 *   from the top of a page:
 *     "Account in EUR": open invoices, less unapplied cash, less unallocated
 *       credit notes, total due (bold); the overdue part beside it;
 *     aging of the account as of the as-of day (bucket, invoices, amount);
 *     open items: invoice, issued, due, days overdue, amount, open;
 *     payments and credit notes of the period, with their sums;
 *     unapplied cash: the payments not yet applied, oldest first;
 *   then a short note on how the figures are read.
 *
 * Amounts are the exact figures with the currency's digits and grouped
 * thousands (rpt_fmt_money), each section in its own currency, never
 * converted.
 */
#include "rpt_int.h"

#include <stdio.h>
#include <string.h>

#include "kpi_date.h"

#define L RPT_PDF_LEFT
#define R RPT_PDF_RIGHT

typedef struct cells {
    char b[8][RPT_NUM_BUF];
} cells_t;

static const char *money(const rpt_stmt_cur_t *c, int64_t v, char *buf)
{
    return rpt_fmt_money(v, c->digits, buf);
}

static const char *day(int32_t d, char *buf)
{
    if (d == INT32_MIN)
        return "";
    return kpi_date_format(d, buf);
}

static void summary(rpt_pdf_t *p, const rpt_stmt_cur_t *c, const char *as_of)
{
    char head[64];
    snprintf(head, sizeof head, "Amount (%s)", c->currency);
    const rpt_pdf_col_t cols[2] = {{"Balance as of the end of the day", 300, L}, {head, 150, R}};
    rpt_pdf_table_t t;
    rpt_pdf_table_begin(p, &t, cols, 2);
    cells_t b;
    char lab[4][96];
    snprintf(lab[0], sizeof lab[0], "Open invoices (%zu)", c->n_items);
    snprintf(lab[1], sizeof lab[1], "Less unapplied cash (%zu payment%s)", c->n_unapplied,
             c->n_unapplied == 1 ? "" : "s");
    snprintf(lab[2], sizeof lab[2], "Less unallocated credit notes");
    snprintf(lab[3], sizeof lab[3], "Total due as of %s", as_of);
    const char *r[3][2] = {{lab[0], money(c, c->aging.all.total_amount, b.b[0])},
                           {lab[1], money(c, c->aging.unapplied_cash, b.b[1])},
                           {lab[2], money(c, c->aging.unallocated_credits, b.b[2])}};
    for (size_t i = 0; i < 3; i++)
        rpt_pdf_table_row(p, &t, r[i], false);
    const char *tot[2] = {lab[3], money(c, c->total_due, b.b[3])};
    rpt_pdf_table_row(p, &t, tot, true);
    const char *od[2] = {"of which overdue (1 day or more past due)", money(c, c->overdue, b.b[4])};
    rpt_pdf_table_row(p, &t, od, false);
    rpt_pdf_table_end(p);
}

static void aging(rpt_pdf_t *p, const rpt_stmt_cur_t *c, const char *as_of)
{
    char title[96], head[64];
    snprintf(title, sizeof title, "Aging as of %s (%s, days past due date)", as_of, c->currency);
    rpt_pdf_section(p, title);
    snprintf(head, sizeof head, "Amount (%s)", c->currency);
    const rpt_pdf_col_t cols[3] = {{"Days past due", 150, L}, {"Invoices", 100, R}, {head, 150, R}};
    rpt_pdf_table_t t;
    rpt_pdf_table_begin(p, &t, cols, 3);
    const kpi_aging_t *ag = &c->aging.all;
    cells_t b;
    for (size_t i = 0; i <= ag->n_buckets; i++) {
        bool tot = i == ag->n_buckets;
        snprintf(b.b[1], RPT_NUM_BUF, "%lld",
                 (long long)(tot ? ag->total_count : ag->buckets[i].count));
        const char *v[3] = {tot ? "Total" : kpi_bucket_label(&ag->buckets[i], b.b[0], RPT_NUM_BUF),
                            b.b[1],
                            money(c, tot ? ag->total_amount : ag->buckets[i].amount, b.b[2])};
        rpt_pdf_table_row(p, &t, v, tot);
    }
    rpt_pdf_table_end(p);
}

static void open_items(rpt_pdf_t *p, const rpt_stmt_cur_t *c)
{
    char title[96];
    snprintf(title, sizeof title, "Open items (%s)", c->currency);
    rpt_pdf_section(p, title);
    if (c->n_items == 0) {
        rpt_pdf_note(p, "No invoice is open.");
        return;
    }
    static const rpt_pdf_col_t cols[6] = {{"Invoice", 139, L}, {"Issued", 62, L},
                                          {"Due", 62, L},      {"Days overdue", 66, R},
                                          {"Amount", 85, R},   {"Open", 85, R}};
    rpt_pdf_table_t t;
    rpt_pdf_table_begin(p, &t, cols, 6);
    cells_t b;
    for (size_t i = 0; i < c->n_items; i++) {
        const rpt_stmt_item_t *it = &c->items[i];
        if (it->days_overdue > 0)
            snprintf(b.b[3], RPT_NUM_BUF, "%d", (int)it->days_overdue);
        else
            snprintf(b.b[3], RPT_NUM_BUF, "%s", "not due");
        const char *v[6] = {it->invoice, day(it->issue_day, b.b[1]),   day(it->due_day, b.b[2]),
                            b.b[3],      money(c, it->amount, b.b[4]), money(c, it->open, b.b[5])};
        rpt_pdf_table_row(p, &t, v, false);
    }
    const char *tot[6] = {"Total open", "", "",
                          "",           "", money(c, c->aging.all.total_amount, b.b[5])};
    rpt_pdf_table_row(p, &t, tot, true);
    rpt_pdf_table_end(p);
}

static void moves(rpt_pdf_t *p, const rpt_stmt_cur_t *c, const rpt_data_t *d)
{
    char title[128], f[KPI_DATE_BUF], to[KPI_DATE_BUF];
    snprintf(title, sizeof title, "Payments and credit notes, %s to %s (%s)",
             kpi_date_format(d->from, f), kpi_date_format(d->to, to), c->currency);
    rpt_pdf_section(p, title);
    if (c->n_moves == 0) {
        rpt_pdf_note(p, "No payment received and no credit note issued in the period.");
        return;
    }
    static const rpt_pdf_col_t cols[5] = {{"Date", 62, L},
                                          {"Document", 134, L},
                                          {"Kind", 90, L},
                                          {"Against", 124, L},
                                          {"Amount", 89, R}};
    rpt_pdf_table_t t;
    rpt_pdf_table_begin(p, &t, cols, 5);
    cells_t b;
    for (size_t i = 0; i < c->n_moves; i++) {
        const rpt_stmt_move_t *m = &c->moves[i];
        const char *v[5] = {
            day(m->day, b.b[0]), m->doc, m->credit ? "Credit note" : "Payment received",
            m->credit ? (m->invoice ? m->invoice : "on account") : "", money(c, m->amount, b.b[4])};
        rpt_pdf_table_row(p, &t, v, false);
    }
    const char *paid[5] = {"", "Payments received", "", "", money(c, c->paid, b.b[0])};
    rpt_pdf_table_row(p, &t, paid, true);
    const char *cred[5] = {"", "Credit notes", "", "", money(c, c->credited, b.b[1])};
    rpt_pdf_table_row(p, &t, cred, true);
    rpt_pdf_table_end(p);
}

static void unapplied(rpt_pdf_t *p, const rpt_stmt_cur_t *c, const char *as_of)
{
    char title[96];
    snprintf(title, sizeof title, "Unapplied cash as of %s (%s)", as_of, c->currency);
    rpt_pdf_section(p, title);
    if (c->n_unapplied == 0) {
        rpt_pdf_note(p, "No payment is waiting to be applied.");
        return;
    }
    static const rpt_pdf_col_t cols[5] = {{"Payment", 160, L},
                                          {"Received", 70, L},
                                          {"Age (days)", 70, R},
                                          {"Amount", 99, R},
                                          {"Unapplied", 100, R}};
    rpt_pdf_table_t t;
    rpt_pdf_table_begin(p, &t, cols, 5);
    cells_t b;
    for (size_t i = 0; i < c->n_unapplied; i++) {
        const store_wl_unapplied_row_t *u = &c->unapplied[i];
        snprintf(b.b[2], RPT_NUM_BUF, "%d", (int)u->age_days);
        const char *v[5] = {u->payment, day(u->received_day, b.b[1]), b.b[2],
                            money(c, u->amount, b.b[3]), money(c, u->unapplied, b.b[4])};
        rpt_pdf_table_row(p, &t, v, false);
    }
    const char *tot[5] = {"Total unapplied", "", "", "", money(c, c->aging.unapplied_cash, b.b[4])};
    rpt_pdf_table_row(p, &t, tot, true);
    rpt_pdf_table_end(p);
}

void rpt_statement_draw(rpt_pdf_t *p)
{
    const rpt_data_t *d = rpt_pdf_data(p);
    const rpt_stmt_t *st = &d->stmt;
    char as_of[KPI_DATE_BUF];
    kpi_date_format(st->as_of, as_of);
    for (size_t i = 0; i < st->n_curs; i++) {
        const rpt_stmt_cur_t *c = &st->curs[i];
        if (i > 0) /* each account from the top of a page: it can be sent alone */
            rpt_pdf_new_page(p);
        char title[64];
        snprintf(title, sizeof title, "Account in %s", c->currency);
        rpt_pdf_section(p, title);
        summary(p, c, as_of);
        aging(p, c, as_of);
        open_items(p, c);
        moves(p, c, d);
        unapplied(p, c, as_of);
    }
    rpt_pdf_section(p, "How to read this statement");
    rpt_pdf_paragraph(
        p,
        "Open invoices are the invoices not fully paid, credited or written off at the end of the "
        "as-of day, with the days since their due date. Unapplied cash is money received and not "
        "yet applied to an invoice; unallocated credit notes are credits not against an invoice. "
        "Both are deducted from the total due. Payments and credit notes are those dated in the "
        "period shown in the header. Each currency is a separate account: amounts are never "
        "converted.",
        8);
}
