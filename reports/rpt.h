/*
 * rpt.h — kpid's PDF KPI reports (issue 4): what a report is, how a period
 * is written, how a report is rendered, named and listed.
 *
 * Owns:
 *   - the report kinds (sla, aging, dso, ftq, summary, payables as PDFs;
 *     xlsx, the same figures as one Excel workbook, rpt_xlsx.c) and the
 *     PERIOD text
 *     ("2025-11", "2025-Q4", "2025-W47", "2025", "2025-01-01..2025-03-31");
 *   - rendering: every figure is gathered through store/store_query.h in one
 *     snapshot (rpt_data.c), then drawn with libharu (rpt_pdf.c), which no
 *     other module sees;
 *   - report files: ids, the temp-then-rename write, listing a directory
 *     (rpt_store.c: plain file I/O, shared by the HTTP API, the CLI and the
 *     scheduler).
 *
 * Nothing here reads the clock: the generation time is part of the request.
 * Numbers are printed as the JSON API prints them (amounts with the
 * currency's digits, ratios rounded by kpi_ratio_round to 2 decimals,
 * undefined values as "n/a (reason)").
 */
#ifndef KPID_RPT_H
#define KPID_RPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "rpt_id.h"
#include "store.h"

typedef enum rpt_kind {
    RPT_SLA = 0,
    RPT_AGING = 1,
    RPT_DSO = 2,
    RPT_FTQ = 3,
    RPT_SUMMARY = 4,
    RPT_PAYABLES = 5, /* what we owe: aging of bills, cash requirements (rpt_payables.c) */
    RPT_XLSX = 6,     /* not a PDF: one workbook of the period's KPIs (rpt_xlsx.c) */
    RPT_STATEMENT = 7 /* one customer's statement of account (rpt_statement.c) */
} rpt_kind_t;

#define RPT_KIND_COUNT 8

/* "sla", "aging", "dso", "ftq", "summary", "payables", "xlsx", "statement"
   -> kind. ERR_BAD_PARAM otherwise. */
err_t rpt_kind_parse(const char *s, rpt_kind_t *out) KPID_MUST_USE;
/* The name of a kind ("sla", ...), a static string; "" for a value out of range. */
const char *rpt_kind_name(rpt_kind_t k);
/* The title printed on a report of that kind ("SLA compliance", ...), static. */
const char *rpt_kind_title(rpt_kind_t k);

/*
 * PERIOD text -> inclusive days: "2025-11" (a month), "2025-Q4" (a
 * quarter), "2025-W47" (an ISO week, Monday to Sunday; W53 only in years
 * that have one), "2025" (a year), "2025-01-01..2025-03-31" (a range,
 * from <= to). Years KPI_YEAR_MIN..KPI_YEAR_MAX. ERR_BAD_PARAM with a
 * message naming the text and what is wrong.
 */
err_t rpt_period_parse(const char *s, int32_t *from_day, int32_t *to_day,
                       err_msg_t *msg) KPID_MUST_USE;

typedef struct rpt_request {
    rpt_kind_t kind;
    const char *business_unit; /* NULL = the whole book; borrowed for the call */
    char currency[4];          /* "" = the store's base currency */
    int32_t from_day, to_day;  /* inclusive, reporting-zone days */
    int64_t generated_s;       /* generation time printed in the header (UTC seconds; injected,
                                  not read from the clock inside reports/) */
    /* Optional (zero = default): */
    const kpi_tz_t *tz;         /* reporting zone, to know the generation day; NULL = UTC */
    const int32_t *aging_edges; /* bucket edges; NULL = 30,60,90,120 */
    size_t n_aging_edges;
    int32_t sla_goal_bp;    /* compliance goal line of SLA charts, basis points; 0 = 9500 */
    const char *font_latin; /* NULL = /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf */
    const char *font_bold;  /* NULL = .../DejaVuSans-Bold.ttf */
    const char *font_cjk;   /* NULL = /usr/share/fonts/truetype/wqy/wqy-microhei.ttc */
    /* RPT_STATEMENT only: the customer (required; borrowed for the call)
       and the day its open items and aging are taken at (required too).
       [from_day, to_day] is then the period whose payments and credit
       notes are listed: from_day <= to_day <= as_of_day. */
    const char *customer;
    int32_t as_of_day;
} rpt_request_t;

/* What was asked of a statement: the parsed period and as_of, each optional. */
typedef struct rpt_days {
    bool has_period;
    int32_t from_day, to_day; /* with has_period */
    bool has_as_of;
    int32_t as_of; /* with has_as_of */
} rpt_days_t;

/*
 * A statement's days into rq (from_day, to_day, as_of_day), one rule for
 * the CLI and the API (docs/reports.md): as_of defaults to the period's
 * last day when a period is given (today while it runs), else today; the
 * period defaults to the month up to as_of (its first day to as_of); a
 * period ending after as_of is cut at as_of. ERR_BAD_PARAM, with a message,
 * for an as_of after today or a period starting after as_of.
 */
err_t rpt_statement_days(const rpt_days_t *asked, int32_t today, rpt_request_t *rq,
                         err_msg_t *msg) KPID_MUST_USE;

/* What rendering produced (optional out-parameter of rpt_render_file_ex). */
typedef struct rpt_info {
    unsigned pages; /* pages in the document (xlsx: sheets in the workbook) */
    int64_t bytes;  /* size of the file written */
    int cjk_used;   /* 1 when the CJK fallback font was embedded */
} rpt_info_t;

/*
 * Render the report to `path` (written directly; callers that need
 * atomicity write a temp name and rename, or use rpt_render_atomic).
 * Errors: ERR_BAD_PARAM (bad kind, currency, from > to, a period longer
 * than the store reads at once: STORE_Q_HISTORY_DAYS_MAX days);
 * ERR_NOT_FOUND (a business unit the store does not know, with a message
 * naming it); ERR_CONFIG (a font file is missing: the message names the
 * Debian package to install); ERR_IO (cannot write `path`).
 */
err_t rpt_render_file(store_t *store, const rpt_request_t *rq, const char *path,
                      err_msg_t *msg) KPID_MUST_USE;
/* The same; info (may be NULL) receives the page count and size. */
err_t rpt_render_file_ex(store_t *store, const rpt_request_t *rq, const char *path,
                         rpt_info_t *info, err_msg_t *msg) KPID_MUST_USE;

/* ---- report files (rpt_store.c) ------------------------------------------ */

/*
 * The id of a report: "<kind>-<unit or all>-<from>-<to>-<YYYYMMDDTHHMMSSZ>"
 * (dates YYYY-MM-DD, time = generated_s in UTC), every byte outside
 * [A-Za-z0-9._-] replaced by '_' and the unit part cut to 64 bytes (a
 * unit named "all" becomes "_all", apart from the whole book). The
 * file of a report is "<id>.pdf" ("<id>.xlsx" for the kind xlsx:
 * rpt_id_ext). buf holds RPT_ID_MAX bytes.
 * A statement's kind part names its customer, "statement_<customer>"
 * (rpt_id_customer), its <from> is the period's first day and its <to>
 * the as-of day; its unit part is the unit the statement was limited to.
 */
void rpt_report_id(const rpt_request_t *rq, char buf[RPT_ID_MAX]);

/* The fields of an id made by rpt_report_id. ERR_BAD_PARAM when it is not one. */
typedef struct rpt_id_parts {
    char kind[16];
    char customer[RPT_ID_CUSTOMER_MAX]; /* a statement's customer part, else "" */
    char unit[72];                      /* sanitized unit, "all" for the whole book */
    int32_t from_day, to_day;
    int64_t created_s;
} rpt_id_parts_t;
err_t rpt_id_parse(const char *id, rpt_id_parts_t *out) KPID_MUST_USE;

/* "<dir>/<id>.pdf" (or .xlsx: rpt_id_ext) into buf (cap bytes). ERR_TOO_LARGE when it does not fit,
   ERR_BAD_PARAM for an invalid id. */
err_t rpt_path(const char *dir, const char *id, char *buf, size_t cap) KPID_MUST_USE;

/*
 * Render to a unique temporary name beside `path` ("<path>.XXXXXX.tmp"),
 * then rename it over `path`: readers see the old file or the new one,
 * never half of one. The temporary file is removed on failure.
 */
err_t rpt_render_atomic(store_t *store, const rpt_request_t *rq, const char *path, rpt_info_t *info,
                        err_msg_t *msg) KPID_MUST_USE;

/* Create dir (and missing parents) with mode 0755 when missing. */
err_t rpt_dir_ensure(const char *dir, err_msg_t *msg) KPID_MUST_USE;

typedef struct rpt_file {
    const char *id;    /* valid during the callback */
    int64_t size;      /* bytes */
    int64_t mtime_s;   /* last modification, UTC seconds */
    int64_t created_s; /* generation time from the id (rpt_id_parse), else mtime_s */
} rpt_file_t;

typedef err_t (*rpt_list_fn)(void *ctx, const rpt_file_t *f);

#define RPT_LIST_MAX 100000 /* files considered in one listing */

/*
 * Call fn for each "<id>.pdf" and "<id>.xlsx" in dir with a valid id whose
 * extension is its kind's (rpt_id_ext), newest first (by
 * created_s, then id descending). Temporary files (*.tmp) and
 * anything else are skipped. A missing dir lists nothing. A callback
 * returning non-OK stops the listing with that code.
 */
err_t rpt_list(const char *dir, rpt_list_fn fn, void *ctx, err_msg_t *msg) KPID_MUST_USE;

#endif
