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
} rpt_data_t;

/*
 * Gather everything for rq from one snapshot of store. ERR_BAD_PARAM and
 * ERR_NOT_FOUND carry a message for the user (bad currency, from > to,
 * unknown business unit).
 */
err_t rpt_data_gather(store_t *store, const rpt_request_t *rq, kpi_arena_t *arena, rpt_data_t *out,
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

/* ---- formatting shared by renderer and tests -------------------------- */

#define RPT_NUM_BUF 64

/* A ratio as the API prints it, 2 decimals ("45.50"), or "n/a (reason)". */
const char *rpt_fmt_ratio(const kpi_ratio_t *r, char buf[RPT_NUM_BUF]);
/* An amount with the currency's digits and thousands separators
   ("3,444,184.57", "-1,250.00", "950"): the API's figure, grouped for print. */
const char *rpt_fmt_money(int64_t minor, int digits, char buf[RPT_NUM_BUF]);

#endif
