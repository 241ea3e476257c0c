/*
 * api_csv.c — the cells of every CSV answer (see api_int.h).
 *
 * Text and numbers take different paths: a text cell that a spreadsheet
 * would run as a formula is neutralised as OWASP recommends (a leading
 * apostrophe, the cell quoted); a numeric cell is checked to be a plain
 * decimal number and written as is, so negative amounts stay numbers.
 * api_send_table answers a finished CSV body as text/csv or, when XLSX was
 * asked for, as the workbook api_xlsx.c makes from those same bytes.
 */
#include "api_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_xlsx.h"
#include "kpi_date.h"
#include "kpi_money.h"
#include "kpi_text.h"

void api_buf_csv_field(api_buf_t *b, const char *s)
{
    if (s == NULL)
        return;
    bool neutralise = kpi_text_formula_start(s[0]); /* kpi_text.h */
    /* Excel opens RFC 4180 CSV; quote only when needed so that plain text
       stays plain. */
    if (!neutralise && strpbrk(s, ",\"\r\n") == NULL) {
        api_buf_str(b, s);
        return;
    }
    api_buf_add(b, neutralise ? "\"'" : "\"", neutralise ? 2 : 1);
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            api_buf_add(b, "\"\"", 2);
        else
            api_buf_add(b, p, 1);
    }
    api_buf_add(b, "\"", 1);
}

bool api_csv_is_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    size_t digits = 0, dots = 0;
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9')
            digits++;
        else if (*p == '.' && dots == 0 && digits > 0)
            dots++;
        else
            return false;
    }
    return digits > 0 && p[-1] != '.';
}

void api_buf_csv_num(api_buf_t *b, const char *s)
{
    if (s == NULL)
        return;
    if (api_csv_is_number(s))
        api_buf_str(b, s);
    else
        api_buf_csv_field(b, s);
}

void api_csv_start(api_buf_t *b, size_t max, bool bom)
{
    api_buf_init(b, max);
    if (bom)
        api_buf_str(b, API_CSV_BOM);
}

enum MHD_Result api_send_table(api_req_t *req, api_buf_t *b, const char *name,
                               const char *const *headers)
{
    enum MHD_Result r;
    if (b->failed) {
        r = api_send_error(req, ERR_TOO_LARGE, "CSV response too large; narrow the query");
        goto out;
    }
    if (!api_wants_xlsx(req)) {
        /* A plain CSV answer may be cached (api_send_body); one with
           headers (a cursor) is not. */
        r = headers == NULL ? api_send_body(req, MHD_HTTP_OK, "text/csv; charset=utf-8",
                                            b->data ? b->data : "", b->len)
                            : api_send_body_h(req, MHD_HTTP_OK, "text/csv; charset=utf-8",
                                              b->data ? b->data : "", b->len, headers);
        goto out;
    }
    /* The sheet and file are named after the endpoint: /v1/aging "aging",
       /v1/worklists/overdue "overdue", /v1/customers/X "customers". */
    char nb[64];
    if (name == NULL) {
        const char *path = req->route != NULL ? req->route->path : "/data";
        size_t n = strlen(path);
        while (n > 1 && path[n - 1] == '/')
            n--;
        size_t st = n;
        while (st > 0 && path[st - 1] != '/')
            st--;
        snprintf(nb, sizeof nb, "%.*s", (int)(n - st), path + st);
        name = nb;
    }
    char *x = NULL;
    size_t xn = 0;
    err_msg_t m = {{0}};
    err_t e = api_xlsx_from_csv(b->data ? b->data : "", b->len, name, b->max, &x, &xn, &m);
    if (e) {
        r = api_send_error(req, e, "%s", m.text);
        goto out;
    }
    /* At most two extra headers come in (X-Next-Cursor); the file name
       follows them. */
    char disp[128];
    snprintf(disp, sizeof disp, "attachment; filename=\"%s.xlsx\"", name);
    const char *h[8];
    size_t k = 0;
    for (size_t i = 0; headers != NULL && headers[i] != NULL && k + 4 < 8; i += 2) {
        h[k++] = headers[i];
        h[k++] = headers[i + 1];
    }
    h[k++] = MHD_HTTP_HEADER_CONTENT_DISPOSITION;
    h[k++] = disp;
    h[k] = NULL;
    r = api_send_body_h(req, MHD_HTTP_OK, API_XLSX_TYPE, x, xn, h);
    free(x);
out:
    api_buf_free(b);
    return r;
}

/* ---- the aging's wide layout (/v1/aging and /v1/payables/aging) ---------- */

void api_csv_aging_header(api_buf_t *b, const char *group, bool named, const kpi_aging_t *shape)
{
    char lab[32], col[48];
    api_buf_csv_field(b, group);
    if (named)
        api_buf_str(b, ",name");
    for (size_t i = 0; i < shape->n_buckets; i++) {
        const kpi_bucket_t *k = &shape->buckets[i];
        kpi_bucket_label(k, lab, sizeof lab);
        snprintf(col, sizeof col, k->lo == INT32_MIN ? "%s" : "%s days", lab);
        api_buf_str(b, ",");
        api_buf_csv_field(b, col);
    }
    api_buf_str(b, ",total,count,as_of,currency\r\n");
}

void api_csv_aging_row(api_buf_t *b, const char *group, bool named, const char *name,
                       const kpi_aging_t *ag, int digits, int32_t as_of, const char *currency)
{
    char buf[KPI_AMOUNT_BUF];
    api_buf_csv_field(b, group);
    if (named) {
        api_buf_str(b, ",");
        api_buf_csv_field(b, name);
    }
    for (size_t i = 0; i < ag->n_buckets; i++) {
        api_buf_str(b, ",");
        api_buf_csv_num(b, kpi_amount_format(ag->buckets[i].amount, digits, buf));
    }
    api_buf_str(b, ",");
    api_buf_csv_num(b, kpi_amount_format(ag->total_amount, digits, buf));
    api_buf_str(b, ",");
    snprintf(buf, sizeof buf, "%lld", (long long)ag->total_count);
    api_buf_csv_num(b, buf);
    api_buf_str(b, ",");
    api_buf_csv_field(b, kpi_date_format(as_of, buf));
    api_buf_str(b, ",");
    api_buf_csv_field(b, currency);
    api_buf_str(b, "\r\n");
}
