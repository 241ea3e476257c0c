/*
 * cmd_sched.c — the render callback of scheduled reports in `kpid serve`.
 *
 * This file is the seam between the scheduler (reports/rpt_sched.h, which
 * knows when and which files) and the PDF renderer (which knows what goes
 * in them). cmd_sched_render() is the only function to change when the
 * renderer is wired in: build the renderer's request from the arguments
 * (the kind's index in cmd_sched_kinds is the renderer's kind enum value;
 * currency "" means cfg.base_currency) and render into tmp_path.
 *
 * Until then it writes a one-page placeholder PDF that states the report's
 * parameters, so that schedules, file naming, catch-up and pruning work end
 * to end and a user sees what would have been rendered.
 */
#include "cmd_sched.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "kpi_date.h"

#define PDF_LINES 10
#define PDF_LINE_MAX 320

/* One line of PDF string text: ASCII only, with ( ) \ escaped. */
static void pdf_text(char *dst, size_t cap, const char *src)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)src; *p && o + 3 < cap; p++) {
        if (*p == '(' || *p == ')' || *p == '\\')
            dst[o++] = '\\';
        dst[o++] = (*p >= 0x20 && *p < 0x7f) ? (char)*p : '?';
    }
    dst[o] = '\0';
}

/* A minimal PDF 1.4: one A4 page, Helvetica, the given lines. */
static err_t write_placeholder_pdf(const char *path, char lines[][PDF_LINE_MAX], size_t n,
                                   err_msg_t *msg)
{
    char content[PDF_LINES * (2 * PDF_LINE_MAX + 32) + 64];
    size_t used = (size_t)snprintf(content, sizeof content, "BT /F1 12 Tf 72 770 Td 16 TL\n");
    for (size_t i = 0; i < n; i++) {
        char esc[2 * PDF_LINE_MAX];
        pdf_text(esc, sizeof esc, lines[i]);
        used += (size_t)snprintf(content + used, sizeof content - used, "(%s) Tj T*\n", esc);
    }
    used += (size_t)snprintf(content + used, sizeof content - used, "ET\n");
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return err_set(msg, ERR_IO, "cannot create %s: %s", path, strerror(errno));
    long off[6];
    fputs("%PDF-1.4\n", f);
    off[1] = ftell(f);
    fputs("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n", f);
    off[2] = ftell(f);
    fputs("2 0 obj\n<< /Type /Pages /Kids [3 0 R] /Count 1 >>\nendobj\n", f);
    off[3] = ftell(f);
    fputs("3 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font "
          "<< /F1 4 0 R >> >> /Contents 5 0 R >>\nendobj\n",
          f);
    off[4] = ftell(f);
    fputs("4 0 obj\n<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>\nendobj\n", f);
    off[5] = ftell(f);
    fprintf(f, "5 0 obj\n<< /Length %zu >>\nstream\n%sendstream\nendobj\n", used, content);
    long xref = ftell(f);
    fputs("xref\n0 6\n0000000000 65535 f \n", f);
    for (int i = 1; i <= 5; i++)
        fprintf(f, "%010ld 00000 n \n", off[i]);
    fprintf(f, "trailer\n<< /Size 6 /Root 1 0 R >>\nstartxref\n%ld\n%%%%EOF\n", xref);
    bool ok = !ferror(f) && fflush(f) == 0;
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (!ok)
        return err_set(msg, ERR_IO, "cannot write %s: %s", path, strerror(err));
    return ERR_OK;
}

err_t cmd_sched_render(void *ctx, const rpt_sched_job_t *job, const char *kind,
                       const char *business_unit, int32_t from_day, int32_t to_day, int64_t due_s,
                       const char *tmp_path, err_msg_t *msg)
{
    const cmd_sched_ctx_t *c = ctx;
    if (cmd_sched_kind_index(kind) < 0)
        return err_set(msg, ERR_BAD_PARAM, "unknown report kind '%s'", kind);
    const char *currency = job->currency[0] ? job->currency : c->base_currency;
    char fb[KPI_DATE_BUF], tb[KPI_DATE_BUF], due[KPI_TIME_BUF];
    char lines[PDF_LINES][PDF_LINE_MAX];
    size_t n = 0;
    snprintf(lines[n++], PDF_LINE_MAX, "kpid scheduled report (placeholder)");
    snprintf(lines[n++], PDF_LINE_MAX, "Schedule: %s (%s)", job->name, job->cron_expr);
    snprintf(lines[n++], PDF_LINE_MAX, "Kind: %s", kind);
    snprintf(lines[n++], PDF_LINE_MAX, "Business unit: %s",
             business_unit ? business_unit : "all (the whole book)");
    snprintf(lines[n++], PDF_LINE_MAX, "Period: %s to %s (%s, zone %s)",
             kpi_date_format(from_day, fb), kpi_date_format(to_day, tb), rpt_rule_name(job->period),
             kpi_tz_name(c->tz));
    snprintf(lines[n++], PDF_LINE_MAX, "Currency: %s", currency);
    snprintf(lines[n++], PDF_LINE_MAX, "Due: %s", kpi_time_format_utc(due_s, due));
    snprintf(lines[n++], PDF_LINE_MAX,
             "This build has no PDF report renderer wired in (cmd/cmd_sched.c).");
    return write_placeholder_pdf(tmp_path, lines, n, msg);
}
