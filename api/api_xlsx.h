/*
 * api_xlsx.h — XLSX answers (issue 12 item 4): a CSV body as api_csv.c
 * writes it, turned into a workbook of one sheet with libxlsxwriter.
 *
 * Every KPI, worklist and event-log endpoint builds its rows once, as CSV,
 * through the one cell writer (api_buf_csv_field / api_buf_csv_num); an
 * XLSX answer is made from those bytes, so the two formats cannot disagree
 * and a text cell is neutralised by the same function in both. What the
 * CSV does not say in its bytes — which columns are names — is decided by
 * the column's name (api_xlsx_text_column), the same for every endpoint.
 *
 * Cells (api_xlsx_cell):
 *   - a cell of a name column, a quoted cell, or any cell that is not one
 *     of the forms below: text (a leading =, +, -, @, tab or CR already
 *     carries the CSV's apostrophe; one that does not is given it here by
 *     the same rule, kpi_text_formula_start);
 *   - a plain decimal number ("-1250.00", "7"): a number whose number
 *     format has the decimals of the text ("#,##0.00"; JPY "#,##0"; KWD
 *     "#,##0.000"), so the cell shows exactly the CSV's figure;
 *   - "YYYY-MM-DD": an Excel date (serial days since 1899-12-30) shown as
 *     yyyy-mm-dd; "YYYY-MM-DDTHH:MM:SSZ": a date-time in UTC.
 * An empty cell stays empty. The first row is the header: bold, frozen, with
 * an autofilter; column widths follow the longest cell (capped).
 */
#ifndef KPID_API_XLSX_H
#define KPID_API_XLSX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* The media type of an XLSX answer (format=xlsx, or this in Accept). */
#define API_XLSX_TYPE "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

/* Excel's limits: rows per sheet (the header included) and bytes of a text
   cell kept (a longer one is cut at a UTF-8 boundary; Excel's limit is
   32,767 characters). */
#define API_XLSX_ROWS_MAX 1048576u
#define API_XLSX_TEXT_MAX 32767u

typedef enum api_xlsx_kind {
    API_XLSX_EMPTY = 0,
    API_XLSX_TEXT,     /* text: the cell's bytes (neutralised) */
    API_XLSX_NUMBER,   /* num, with `decimals` digits after the point */
    API_XLSX_DATE,     /* num = Excel serial day */
    API_XLSX_DATETIME, /* num = Excel serial day + fraction of the day, UTC */
} api_xlsx_kind_t;

typedef struct api_xlsx_cell {
    api_xlsx_kind_t kind;
    double num;      /* NUMBER, DATE, DATETIME */
    int decimals;    /* NUMBER: digits after the decimal point (0..9) */
    bool neutralise; /* TEXT: a formula start with no apostrophe: prefix one */
} api_xlsx_cell_t;

/* true for the columns that hold names and document numbers (customer,
   invoice, business_unit, id...): their cells are text even when they look
   like numbers or dates ("12345", "2025-01-01" are valid customer names). */
bool api_xlsx_text_column(const char *name);

/*
 * The kind of one CSV cell: `s` (len bytes, unquoted value), `quoted` when
 * the CSV quoted it, `text_col` when its column is a name column.
 */
api_xlsx_cell_t api_xlsx_cell(const char *s, size_t len, bool quoted, bool text_col);

/*
 * Make a workbook of one sheet named `sheet` (cut to 31 bytes) from a CSV
 * body (`csv`, len bytes; a leading UTF-8 BOM is skipped; rows end with
 * CRLF or LF). On success *out is a malloc'd buffer of *out_len bytes that
 * the caller frees. The workbook is written to a temporary file in $TMPDIR
 * (default /tmp), read back and removed on every path.
 * Errors: ERR_TOO_LARGE (more rows than Excel has, or a workbook over
 * `max` bytes), ERR_BAD_PARAM (the CSV is malformed: an unterminated
 * quote), ERR_IO (the temporary file), ERR_NOMEM, ERR_INTERNAL (libxlsxwriter
 * failed: the message says how); every one with a message.
 */
err_t api_xlsx_from_csv(const char *csv, size_t len, const char *sheet, size_t max, char **out,
                        size_t *out_len, err_msg_t *msg) KPID_MUST_USE;

#endif
