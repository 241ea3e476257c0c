/*
 * rpt_int.h — what rpt_data.c gathers and rpt_pdf.c draws.
 *
 * rpt_data_t holds every figure a report prints, exact (int64 minor units,
 * kpi_ratio_t), computed through store/store_query.h inside one snapshot,
 * so a report is consistent with itself and with the JSON API at that
 * moment. The renderer only formats and draws; it never reads the store.
 * Everything is allocated in the arena given to rpt_data_gather and dies
 * with it.
 */
#ifndef KPID_RPT_INT_H
#define KPID_RPT_INT_H

#include <stdbool.h>

#include "kpi.h"
#include "kpi_arena.h"
#include "rpt.h"
#include "store_query.h"
#include "store_query_ap.h"
#include "store_worklist.h"

#define RPT_TREND_MIN 12 /* months shown in trends at least */
#define RPT_TREND_MAX 36 /* months shown in trends at most (the latest) */
#define RPT_TOP_CUSTOMERS 10

/* One customer's aging line in "top overdue customers". */
typedef struct rpt_customer {
    const char *name;  /* the customer's id, arena */
    const char *label; /* its customer.updated name, else the id; arena */
    kpi_aging_t aging;
    int64_t overdue; /* total minus the `current` bucket, minor units */
} rpt_customer_t;

typedef struct rpt_sla {
    const kpi_sla_def_t *def; /* borrowed from the store */
    store_q_point_t period;   /* the whole report period */
    store_q_point_t *trend;   /* n_trend points */
} rpt_sla_t;

/* ---- a customer's statement of account (rpt_stmt_data.c) ---------------- */

/* One open invoice of the statement, as of its as-of day. */
typedef struct rpt_stmt_item {
    const char *invoice; /* arena */
    int32_t issue_day;
    int32_t due_day;      /* INT32_MIN when the invoice has none */
    int32_t days_overdue; /* as_of - due day when past due, else 0 */
    int64_t amount;       /* issued, minor units */
    int64_t open;         /* open at the end of the as-of day (never 0) */
} rpt_stmt_item_t;

/* A payment received or a credit note issued in the statement's period. */
typedef struct rpt_stmt_move {
    int32_t day;
    bool credit;         /* a credit note; else a payment received */
    const char *doc;     /* arena: payment or credit note number */
    const char *invoice; /* arena: the credit note's invoice, NULL for none */
    int64_t amount;      /* minor units, as the document carries it */
} rpt_stmt_move_t;

#define RPT_STMT_ROWS_MAX 100000 /* rows of one list (items, moves, payments) */

/* The account in one currency: what one section of the statement prints. */
typedef struct rpt_stmt_cur {
    char currency[4];
    int digits;
    store_q_aging_t aging;  /* the customer's aging in this currency (no groups) */
    rpt_stmt_item_t *items; /* open invoices by due day, then number (arena) */
    size_t n_items;         /* sum of open = aging.all.total_amount */
    rpt_stmt_move_t *moves; /* in the period, by day (arena) */
    size_t n_moves;
    int64_t paid, credited;              /* sums of the moves of each sort */
    store_wl_unapplied_row_t *unapplied; /* payments with cash unapplied, oldest first */
    size_t n_unapplied;                  /* sum of unapplied = aging.unapplied_cash */
    int64_t overdue;                     /* open amount at least one day past due */
    int64_t total_due; /* open invoices - unapplied cash - unallocated credit notes */
} rpt_stmt_cur_t;

#define RPT_STMT_CURRENCIES_MAX 32

typedef struct rpt_stmt {
    const char *customer; /* arena */
    const char *name;     /* its customer.updated name (arena), or NULL */
    int32_t as_of;
    rpt_stmt_cur_t *curs; /* one per currency with anything to show, by code */
    size_t n_curs;        /* >= 1: a customer with nothing has one empty section */
    char currencies[RPT_STMT_CURRENCIES_MAX * 5]; /* "EUR, USD" for the header */
} rpt_stmt_t;

typedef struct rpt_data {
    rpt_kind_t kind;
    const char *unit; /* NULL = the whole book */
    char currency[4];
    int digits;        /* minor digits of currency */
    int32_t from, to;  /* the figures' days: `to` is the generation day for a period not over */
    int32_t period_to; /* the requested last day (== to unless partial) */
    bool partial;      /* the period was not over when generated: figures to date, marked */
    int64_t generated_s;
    char tz[64]; /* reporting zone of the store */
    int32_t sla_goal_bp;

    /* Aging as of `to`, due-date basis, with the request's edges. */
    store_q_aging_t aging;
    store_q_aging_t by_unit;   /* groups per business unit (whole-book reports only) */
    rpt_customer_t *customers; /* customers with an overdue amount, most overdue first */
    size_t n_customers;        /* all of them (n_overdue_customers) */
    int64_t overdue_total;     /* sum of every customer's overdue amount */

    /* The report period as one period. */
    store_q_point_t dso[4]; /* by store_q_dso_method_t */
    store_q_point_t cei;
    store_q_point_t ftq[2]; /* by store_ftq_kind_t */

    /* Monthly trend ending at `to`: at least RPT_TREND_MIN months. */
    kpi_period_t *trend;
    size_t n_trend;
    store_q_point_t *t_dso[4];
    store_q_point_t *t_cei;
    store_q_point_t *t_ftq[2];

    rpt_sla_t *slas;
    size_t n_slas;

    /* Payables (RPT_PAYABLES only; rpt_payables.c), as of `to`, due-date
       basis: the whole scope by business unit, by vendor (largest first),
       and the bills due in each of RPT_AP_WEEKS weeks. */
    store_q_ap_aging_t ap;
    store_q_ap_aging_t ap_vendors;
    size_t *ap_vendor_order;       /* indices into ap_vendors, largest total first */
    store_q_ap_cashreq_t *ap_cash; /* arena */
    /* Only for the kind xlsx (the PDFs print neither): payables and the
       roll-forward of the period and of the trend months. */
    store_q_point_t dpo, roll;
    store_q_point_t *t_dpo, *t_roll;
    rpt_stmt_t stmt; /* RPT_STATEMENT only */
} rpt_data_t;

#define RPT_AP_WEEKS 13       /* weeks of cash requirements printed */
#define RPT_AP_TOP_VENDORS 20 /* vendors printed */

/* Gather rpt_data_t's payables figures (rpt_payables.c) inside the snapshot
   rpt_data_gather opened; ERR_NOT_FOUND for a unit the store never saw. */
err_t rpt_payables_gather(store_snap_t *snap, const store_q_aging_req_t *arq, kpi_arena_t *arena,
                          rpt_data_t *d, err_msg_t *msg) KPID_MUST_USE;

/*
 * Gather everything for rq from one snapshot of store. ERR_BAD_PARAM and
 * ERR_NOT_FOUND carry a message for the user (bad currency, from > to,
 * unknown business unit).
 */
err_t rpt_data_gather(store_t *store, const rpt_request_t *rq, kpi_arena_t *arena, rpt_data_t *out,
                      err_msg_t *msg) KPID_MUST_USE;

/*
 * Gather the statement of rq->customer (rq->kind == RPT_STATEMENT) into
 * d->stmt, with d's common fields (period, unit, zone, generation time),
 * from one snapshot: the customer's aging (store_q_aging), open items
 * (store_customer_open_candidates, store_invoice_open_at, as the customer
 * profile reads them), unapplied payments (store_wl_unapplied) and its
 * payments and credit notes of [from_day, to_day] (store_events_list).
 * Errors, each with a message for the user: ERR_BAD_PARAM (no customer,
 * from > to, the period ending after as_of, as_of after the generation
 * day, a bad currency or unit); ERR_NOT_FOUND "unknown customer 'X'"
 * (with a unit: "unknown customer 'X' in business unit 'U'", the same for
 * a customer with no event in the unit, so a unit-scoped caller cannot
 * tell the two apart; docs/security.md).
 */
err_t rpt_stmt_gather(store_t *store, const rpt_request_t *rq, kpi_arena_t *arena, rpt_data_t *d,
                      err_msg_t *msg) KPID_MUST_USE;

/* The day rq is generated on, in its reporting zone (rq->tz; NULL = UTC):
   a report period ending after it is reported to date (rpt_data_t.partial). */
int32_t rpt_generation_day(const rpt_request_t *rq);

/* The monthly periods of a trend ending at `to` for a report starting at
   `from` (at least RPT_TREND_MIN, at most RPT_TREND_MAX months). out holds
   RPT_TREND_MAX periods; returns how many. */
size_t rpt_trend_periods(int32_t from, int32_t to, kpi_period_t *out);

/* Memory one report may use while gathering (per request, freed at once). */
#define RPT_ARENA_CAP (64u << 20)

/*
 * Draw gathered data as a PDF at `path` (written directly). Fonts come from
 * rq's font paths (NULL = the defaults of rpt.h). info may be NULL.
 */
err_t rpt_pdf_write(const rpt_data_t *d, const rpt_request_t *rq, const char *path,
                    rpt_info_t *info, err_msg_t *msg) KPID_MUST_USE;

/*
 * Write gathered data as an XLSX workbook at `path` (written directly): a
 * sheet per KPI with the same figures as the PDFs and the API (rpt_xlsx.c).
 * info (may be NULL) receives the sheet count as pages and the size.
 * ERR_IO when path cannot be written, ERR_INTERNAL when libxlsxwriter fails.
 */
err_t rpt_xlsx_write(const rpt_data_t *d, const char *path, rpt_info_t *info,
                     err_msg_t *msg) KPID_MUST_USE;

/*
 * Add the parts of every used composite glyph of a libharu TrueType font
 * definition (an HPDF_FontDef, passed as void * so that this header stays
 * free of libharu) to the font's subset, reading the glyphs from `path`,
 * its font file. libharu 2.3.0 drops parts numbered above 32767. ERR_IO
 * when the file cannot be read.
 */
err_t rpt_pdf_mark_composites(void *fontdef, const char *path, err_msg_t *msg) KPID_MUST_USE;

/*
 * libharu 2.3.0 gives each UTF-8 TrueType font a ToUnicode stream written
 * as a CID CMap ("begincidrange", one range <0000> <FFFF>), which poppler
 * rejects ("Invalid 'begincidrange' operator in ToUnicode CMap") and which
 * maps nothing. With the UTF-8 encoder and Identity-H, a character code is
 * the character's BMP code point, so the right map is the identity:
 * rpt_pdf_tounicode() writes it as a ToUnicode CMap (bfrange, each range
 * within one high byte, at most 100 per block, surrogates left out) into
 * buf and returns its length (0 when cap is too small; RPT_PDF_TOUNICODE_MAX
 * always fits). rpt_pdf_fix_tounicode() replaces the font's stream with it.
 */
#define RPT_PDF_TOUNICODE_MAX 8192
size_t rpt_pdf_tounicode(char *buf, size_t cap);
err_t rpt_pdf_fix_tounicode(void *font, err_msg_t *msg) KPID_MUST_USE;

/* ---- drawing, for layouts kept in their own files ----------------------
 *
 * rpt_pdf.c owns the document (fonts, pages with their header and footer,
 * the cursor that content flows down); a layout in another file, such as
 * the statement's (rpt_statement.c), draws through these and never sees
 * libharu. Every call is a no-op once drawing has failed (the first error
 * is what rpt_pdf_write returns).
 */
typedef struct pdf rpt_pdf_t; /* opaque */

enum { RPT_PDF_REG = 0, RPT_PDF_BOLD = 1 };                       /* styles */
enum { RPT_PDF_LEFT = 0, RPT_PDF_RIGHT = 1, RPT_PDF_CENTER = 2 }; /* alignments */

typedef struct rpt_pdf_col {
    const char *head;
    float w; /* points */
    int align;
} rpt_pdf_col_t;

typedef struct rpt_pdf_table {
    const rpt_pdf_col_t *cols;
    size_t n;
    unsigned rows; /* rows drawn since the header (for zebra shading) */
} rpt_pdf_table_t;

/* The data being drawn. */
const rpt_data_t *rpt_pdf_data(const rpt_pdf_t *p);
/* Continue on a new page (with its header). */
void rpt_pdf_new_page(rpt_pdf_t *p);
/* A section title with a rule, kept with a few rows below it. */
void rpt_pdf_section(rpt_pdf_t *p, const char *title);
/* One muted line of small text at the cursor. */
void rpt_pdf_note(rpt_pdf_t *p, const char *s);
/* A word-wrapped paragraph of size-point text at the cursor. */
void rpt_pdf_paragraph(rpt_pdf_t *p, const char *s, float size);
/* A table: its header row now and again on each page it breaks onto; a
   `total` row is bold with a rule above. Right-aligned figures too wide
   for their column are set smaller, texts are cut with an ellipsis. */
void rpt_pdf_table_begin(rpt_pdf_t *p, rpt_pdf_table_t *t, const rpt_pdf_col_t *cols, size_t n);
void rpt_pdf_table_row(rpt_pdf_t *p, rpt_pdf_table_t *t, const char *const *v, bool total);
void rpt_pdf_table_end(rpt_pdf_t *p);

/* A whole table at once: a header row of cols, then n_rows rows of n
   cells each (v is row-major, n_rows * n; borrowed); with `total`, the
   last row is bold under a rule. */
void rpt_pdf_table(rpt_pdf_t *p, const rpt_pdf_col_t *cols, size_t n, const char *const *v,
                   size_t n_rows, bool total);
/* What the payables layout (rpt_payables.c) calls its columns. */
typedef rpt_pdf_col_t rpt_col_t;
enum { RPT_A_LEFT = RPT_PDF_LEFT, RPT_A_RIGHT = RPT_PDF_RIGHT };

/* The statement's pages (rpt_statement.c), the payables kind's sections
   (rpt_payables.c). */
void rpt_statement_draw(rpt_pdf_t *p);
void rpt_payables_render(rpt_pdf_t *p);

/* ---- formatting shared by renderer and tests -------------------------- */

#define RPT_NUM_BUF 64

/* A ratio as the API prints it, 2 decimals ("45.50"), or "n/a (reason)". */
const char *rpt_fmt_ratio(const kpi_ratio_t *r, char buf[RPT_NUM_BUF]);
/* An amount with the currency's digits and thousands separators
   ("3,444,184.57", "-1,250.00", "950"): the API's figure, grouped for print. */
const char *rpt_fmt_money(int64_t minor, int digits, char buf[RPT_NUM_BUF]);

#endif
