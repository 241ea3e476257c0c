/*
 * rpt_xlsx.c — the xlsx report kind: the period's KPIs as one Excel
 * workbook (rpt_int.h rpt_xlsx_write), for people who take the figures
 * further than a PDF lets them.
 *
 * Sheets, in order: Report (what, when, which book), Aging (by business
 * unit and the whole scope, as of the period's last day), Customers (every
 * customer with an overdue amount, most overdue first), DSO (the four
 * methods), CEI, DPO, Roll-forward, SLA (every SLA), FTQ (invoices and
 * bills). A series sheet has one row for the report period ("period") and
 * one per month of the trend ("month"), with the inputs of each figure
 * beside it under the names docs/kpi.md uses.
 *
 * Cells are typed: amounts are numbers of the currency's unit with a number
 * format of its minor digits (USD "#,##0.00", JPY "#,##0", KWD
 * "#,##0.000"), computed from int64 minor units in one division (the
 * nearest double to the decimal the API prints); ratios are the API's
 * figure rounded to 2 decimals (kpi_ratio_round) or the text "n/a
 * (reason)"; days are Excel dates. Names are text, neutralised by the rule
 * every export shares (kpi_text.h). libxlsxwriter stays inside this file.
 */
#include "rpt_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <xlsxwriter.h>

#include "kpi_date.h"
#include "kpi_money.h"
#include "kpi_text.h"

#define EXCEL_EPOCH_OFFSET 25569 /* Excel serial of 1970-01-01 (1900 date system) */
#define COLS_MAX (5 + STORE_Q_COMPS_MAX)

typedef struct wb {
    lxw_workbook *wb;
    const rpt_data_t *d;
    lxw_format *head, *date, *money, *count, *ratio, *text, *when;
    unsigned sheets;
    lxw_error err; /* the first libxlsxwriter error; later calls are skipped */
} wb_t;

static void note(wb_t *w, lxw_error e)
{
    if (w->err == LXW_NO_ERROR)
        w->err = e;
}

static void put_text(wb_t *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const char *s)
{
    if (s == NULL || s[0] == '\0')
        return;
    if (!kpi_text_formula_start(s[0])) {
        note(w, worksheet_write_string(ws, r, c, s, w->text));
        return;
    }
    /* As every CSV cell: a leading apostrophe, so it reads as text. */
    size_t n = strlen(s);
    char *q = malloc(n + 2);
    if (q == NULL) {
        note(w, LXW_ERROR_MEMORY_MALLOC_FAILED);
        return;
    }
    q[0] = '\'';
    memcpy(q + 1, s, n + 1);
    note(w, worksheet_write_string(ws, r, c, q, w->text));
    free(q);
}

static double pow10_of(int digits)
{
    double p = 1;
    for (int i = 0; i < digits; i++)
        p *= 10;
    return p;
}

static void put_money(wb_t *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int64_t minor)
{
    note(w, worksheet_write_number(ws, r, c, (double)minor / pow10_of(w->d->digits), w->money));
}

static void put_int(wb_t *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int64_t v)
{
    note(w, worksheet_write_number(ws, r, c, (double)v, w->count));
}

static void put_day(wb_t *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, int32_t day)
{
    /* Before 1900-03-01 Excel's serials are off by a day (its 1900-02-29). */
    if (day < kpi_days_from_civil(1900, 3, 1)) {
        char b[KPI_DATE_BUF];
        put_text(w, ws, r, c, kpi_date_format(day, b));
        return;
    }
    note(w, worksheet_write_number(ws, r, c, (double)day + EXCEL_EPOCH_OFFSET, w->date));
}

static void put_ratio(wb_t *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const kpi_ratio_t *v)
{
    int64_t x;
    if (v->undef == KPI_UNDEF_NONE && kpi_ratio_round(v, 2, &x) == ERR_OK) {
        note(w, worksheet_write_number(ws, r, c, (double)x / 100.0, w->ratio));
        return;
    }
    char b[RPT_NUM_BUF];
    put_text(w, ws, r, c, rpt_fmt_ratio(v, b)); /* "n/a (no_sales)" */
}

static void put_comp(wb_t *w, lxw_worksheet *ws, lxw_row_t r, lxw_col_t c, const store_q_comp_t *k)
{
    switch (k->kind) {
    case STORE_Q_MONEY: put_money(w, ws, r, c, k->v); break;
    case STORE_Q_INT: put_int(w, ws, r, c, k->v); break;
    case STORE_Q_DAY:
        if (k->v != INT32_MIN)
            put_day(w, ws, r, c, (int32_t)k->v);
        break;
    }
}

/* A sheet with its header row (bold, frozen) and column widths. */
static lxw_worksheet *sheet(wb_t *w, const char *name, const char *const *cols, size_t n)
{
    lxw_worksheet *ws = workbook_add_worksheet(w->wb, name);
    if (ws == NULL) {
        note(w, LXW_ERROR_MEMORY_MALLOC_FAILED);
        return NULL;
    }
    w->sheets++;
    for (size_t i = 0; i < n; i++) {
        note(w, worksheet_write_string(ws, 0, (lxw_col_t)i, cols[i], w->head));
        size_t len = strlen(cols[i]) + 2;
        note(w, worksheet_set_column(ws, (lxw_col_t)i, (lxw_col_t)i, (double)(len < 14 ? 14 : len),
                                     NULL));
    }
    worksheet_freeze_panes(ws, 1, 0);
    return ws;
}

static void sheet_report(wb_t *w)
{
    const rpt_data_t *d = w->d;
    static const char *const cols[] = {"field", "value"};
    lxw_worksheet *ws = sheet(w, "Report", cols, 2);
    if (ws == NULL)
        return;
    (void)worksheet_set_column(ws, 1, 1, 40, NULL);
    lxw_row_t r = 1;
    put_text(w, ws, r, 0, "report");
    put_text(w, ws, r++, 1, rpt_kind_title(d->kind));
    put_text(w, ws, r, 0, "from");
    put_day(w, ws, r++, 1, d->from);
    put_text(w, ws, r, 0, "to");
    put_day(w, ws, r++, 1, d->period_to);
    put_text(w, ws, r, 0, "figures to");
    put_day(w, ws, r++, 1, d->to);
    put_text(w, ws, r, 0, "to date");
    put_text(w, ws, r++, 1, d->partial ? "yes: the period was not over when generated" : "no");
    put_text(w, ws, r, 0, "business unit");
    put_text(w, ws, r++, 1, d->unit != NULL ? d->unit : "all (the whole book)");
    put_text(w, ws, r, 0, "currency");
    put_text(w, ws, r++, 1, d->currency);
    put_text(w, ws, r, 0, "time zone");
    put_text(w, ws, r++, 1, d->tz);
    put_text(w, ws, r, 0, "generated (UTC)");
    int32_t gd = kpi_utc_day(d->generated_s);
    double serial = (double)gd + EXCEL_EPOCH_OFFSET +
                    (double)(d->generated_s - kpi_day_start_utc(gd)) / 86400.0;
    note(w, worksheet_write_number(ws, r++, 1, serial, w->when));
    put_text(w, ws, r, 0, "SLA and FTQ");
    put_text(w, ws, r++, 1, "count the documents of every currency");
}

/* The aging header: label, one column per bucket, then tail columns. */
static size_t aging_cols(const kpi_aging_t *ag, const char *label, const char *t1, const char *t2,
                         char lab[KPI_BUCKETS_MAX][32], const char **cols)
{
    size_t n = 0;
    cols[n++] = label;
    for (size_t i = 0; i < ag->n_buckets; i++)
        cols[n++] = kpi_bucket_label(&ag->buckets[i], lab[i], 32);
    cols[n++] = t1;
    cols[n++] = t2;
    return n;
}

static void aging_row(wb_t *w, lxw_worksheet *ws, lxw_row_t r, const char *name,
                      const kpi_aging_t *ag)
{
    put_text(w, ws, r, 0, name);
    for (size_t i = 0; i < ag->n_buckets; i++)
        put_money(w, ws, r, (lxw_col_t)(1 + i), ag->buckets[i].amount);
    put_money(w, ws, r, (lxw_col_t)(1 + ag->n_buckets), ag->total_amount);
}

static void sheet_aging(wb_t *w)
{
    const rpt_data_t *d = w->d;
    char lab[KPI_BUCKETS_MAX][32];
    const char *cols[KPI_BUCKETS_MAX + 3];
    size_t n = aging_cols(&d->aging.all, "business_unit", "total", "count", lab, cols);
    lxw_worksheet *ws = sheet(w, "Aging", cols, n);
    if (ws == NULL)
        return;
    lxw_row_t r = 1;
    for (size_t g = 0; d->unit == NULL && g < d->by_unit.n_groups; g++, r++) {
        aging_row(w, ws, r, d->by_unit.keys[g], &d->by_unit.groups[g]);
        put_int(w, ws, r, (lxw_col_t)(n - 1), d->by_unit.groups[g].total_count);
    }
    aging_row(w, ws, r, d->unit != NULL ? d->unit : "all", &d->aging.all);
    put_int(w, ws, r++, (lxw_col_t)(n - 1), d->aging.all.total_count);
    r++; /* a blank row, then what the aging holds beside its buckets */
    put_text(w, ws, r, 0, "unapplied cash");
    put_money(w, ws, r++, 1, d->aging.unapplied_cash);
    put_text(w, ws, r, 0, "unallocated credit notes");
    put_money(w, ws, r++, 1, d->aging.unallocated_credits);
    put_text(w, ws, r, 0, "as of");
    put_day(w, ws, r, 1, d->to);
}

static void sheet_customers(wb_t *w)
{
    const rpt_data_t *d = w->d;
    char lab[KPI_BUCKETS_MAX][32];
    const char *cols[KPI_BUCKETS_MAX + 3];
    size_t n = aging_cols(&d->aging.all, "customer", "total", "overdue", lab, cols);
    lxw_worksheet *ws = sheet(w, "Customers", cols, n);
    if (ws == NULL)
        return;
    for (size_t i = 0; i < d->n_customers && i + 1 < LXW_ROW_MAX; i++) {
        lxw_row_t r = (lxw_row_t)(i + 1);
        aging_row(w, ws, r, d->customers[i].name, &d->customers[i].aging);
        put_money(w, ws, r, (lxw_col_t)(n - 1), d->customers[i].overdue);
    }
}

/* Rows of a series: the report period first, then each trend month.
   `lead` names the first column's value (an SLA, an FTQ kind) or NULL. */
static lxw_row_t series_rows(wb_t *w, lxw_worksheet *ws, lxw_row_t r, const char *lead,
                             const store_q_point_t *period, const store_q_point_t *trend)
{
    lxw_col_t c0 = lead != NULL ? 1 : 0;
    for (size_t i = 0; i <= w->d->n_trend; i++, r++) {
        const store_q_point_t *p = i == 0 ? period : &trend[i - 1];
        if (lead != NULL)
            put_text(w, ws, r, 0, lead);
        put_text(w, ws, r, c0, i == 0 ? "period" : "month");
        put_day(w, ws, r, c0 + 1, p->start);
        put_day(w, ws, r, c0 + 2, p->end);
        if (p->money_value)
            put_money(w, ws, r, c0 + 3, p->money);
        else
            put_ratio(w, ws, r, c0 + 3, &p->value);
        for (size_t k = 0; k < p->n; k++)
            put_comp(w, ws, r, (lxw_col_t)(c0 + 4 + k), &p->c[k]);
    }
    return r;
}

/* A series sheet: [lead,] span, start, end, value, then the point's inputs. */
static lxw_worksheet *series_sheet(wb_t *w, const char *name, const char *lead, const char *value,
                                   const store_q_point_t *shape)
{
    const char *cols[COLS_MAX];
    size_t n = 0;
    if (lead != NULL)
        cols[n++] = lead;
    cols[n++] = "span";
    cols[n++] = "start";
    cols[n++] = "end";
    cols[n++] = value;
    for (size_t k = 0; k < shape->n && n < COLS_MAX; k++)
        cols[n++] = shape->c[k].name;
    return sheet(w, name, cols, n);
}

static void sheet_dso(wb_t *w)
{
    const rpt_data_t *d = w->d;
    const char *cols[3 + 4];
    size_t n = 0;
    cols[n++] = "span";
    cols[n++] = "start";
    cols[n++] = "end";
    for (int m = 0; m < 4; m++)
        cols[n++] = store_q_dso_method_names[m];
    lxw_worksheet *ws = sheet(w, "DSO", cols, n);
    if (ws == NULL)
        return;
    for (size_t i = 0; i <= d->n_trend; i++) {
        lxw_row_t r = (lxw_row_t)(i + 1);
        const store_q_point_t *p = i == 0 ? &d->dso[0] : &d->t_dso[0][i - 1];
        put_text(w, ws, r, 0, i == 0 ? "period" : "month");
        put_day(w, ws, r, 1, p->start);
        put_day(w, ws, r, 2, p->end);
        for (int m = 0; m < 4; m++)
            put_ratio(w, ws, r, (lxw_col_t)(3 + m),
                      i == 0 ? &d->dso[m].value : &d->t_dso[m][i - 1].value);
    }
}

static void sheet_series(wb_t *w, const char *name, const char *value,
                         const store_q_point_t *period, const store_q_point_t *trend)
{
    lxw_worksheet *ws = series_sheet(w, name, NULL, value, period);
    if (ws != NULL)
        (void)series_rows(w, ws, 1, NULL, period, trend);
}

static void sheet_sla(wb_t *w)
{
    const rpt_data_t *d = w->d;
    if (d->n_slas == 0)
        return;
    lxw_worksheet *ws = series_sheet(w, "SLA", "sla", "compliance", &d->slas[0].period);
    lxw_row_t r = 1;
    for (size_t i = 0; ws != NULL && i < d->n_slas; i++)
        r = series_rows(w, ws, r, d->slas[i].def->name, &d->slas[i].period, d->slas[i].trend);
}

static void sheet_ftq(wb_t *w)
{
    const rpt_data_t *d = w->d;
    lxw_worksheet *ws = series_sheet(w, "FTQ", "kind", "ftq", &d->ftq[0]);
    static const char *const kinds[2] = {"invoice", "bill"};
    lxw_row_t r = 1;
    for (int k = 0; ws != NULL && k < 2; k++)
        r = series_rows(w, ws, r, kinds[k], &d->ftq[k], d->t_ftq[k]);
}

static void formats(wb_t *w)
{
    char code[32] = "#,##0";
    if (w->d->digits > 0) {
        size_t n = strlen(code);
        code[n++] = '.';
        for (int i = 0; i < w->d->digits && n + 1 < sizeof code; i++)
            code[n++] = '0';
        code[n] = '\0';
    }
    w->head = workbook_add_format(w->wb);
    w->date = workbook_add_format(w->wb);
    w->when = workbook_add_format(w->wb);
    w->money = workbook_add_format(w->wb);
    w->count = workbook_add_format(w->wb);
    w->ratio = workbook_add_format(w->wb);
    w->text = workbook_add_format(w->wb);
    if (w->head == NULL || w->date == NULL || w->when == NULL || w->money == NULL ||
        w->count == NULL || w->ratio == NULL || w->text == NULL) {
        note(w, LXW_ERROR_MEMORY_MALLOC_FAILED);
        return;
    }
    format_set_bold(w->head);
    format_set_num_format(w->date, "yyyy-mm-dd");
    format_set_num_format(w->when, "yyyy-mm-dd hh:mm:ss");
    format_set_num_format(w->money, code);
    format_set_num_format(w->count, "#,##0");
    format_set_num_format(w->ratio, "#,##0.00");
    format_set_num_format(w->text, "@");
}

err_t rpt_xlsx_write(const rpt_data_t *d, const char *path, rpt_info_t *info, err_msg_t *msg)
{
    wb_t w = {.d = d, .wb = workbook_new(path)};
    if (w.wb == NULL)
        return err_set(msg, ERR_NOMEM, "cannot start an XLSX workbook");
    formats(&w);
    if (w.err == LXW_NO_ERROR) {
        sheet_report(&w);
        sheet_aging(&w);
        sheet_customers(&w);
        sheet_dso(&w);
        sheet_series(&w, "CEI", "cei", &d->cei, d->t_cei);
        sheet_series(&w, "DPO", "dpo", &d->dpo, d->t_dpo);
        sheet_series(&w, "Roll-forward", "closing", &d->roll, d->t_roll);
        sheet_sla(&w);
        sheet_ftq(&w);
    }
    /* workbook_close writes the file and frees the workbook in any case. */
    errno = 0;
    lxw_error ce = workbook_close(w.wb);
    if (w.err != LXW_NO_ERROR)
        return err_set(msg, w.err == LXW_ERROR_MEMORY_MALLOC_FAILED ? ERR_NOMEM : ERR_INTERNAL,
                       "cannot write the XLSX report: %s", lxw_strerror(w.err));
    if (ce == LXW_ERROR_CREATING_XLSX_FILE || ce == LXW_ERROR_CREATING_TMPFILE)
        return err_set(msg, ERR_IO, "cannot write %s: %s", path,
                       errno != 0 ? strerror(errno) : lxw_strerror(ce));
    if (ce != LXW_NO_ERROR)
        return err_set(msg, ERR_INTERNAL, "cannot write %s: %s", path, lxw_strerror(ce));
    struct stat st;
    if (stat(path, &st) != 0)
        return err_set(msg, ERR_IO, "cannot write %s: %s", path, strerror(errno));
    if (info != NULL) {
        info->pages = w.sheets;
        info->bytes = (int64_t)st.st_size;
        info->cjk_used = 0;
    }
    return ERR_OK;
}
