/*
 * api_xlsx.c — a CSV body as a one-sheet workbook (api_xlsx.h).
 *
 * The CSV is read twice: once for the shape (rows, columns, the header's
 * names, each column's width), once to write the cells. libxlsxwriter runs
 * in its constant-memory mode, which streams each row to a temporary file
 * as it is written (rows must come in order: they do), so a 64 MiB CSV
 * does not become a gigabyte of cell objects; text cells are then inline
 * strings rather than a shared-string table, which every reader accepts.
 * libxlsxwriter 1.1 writes only to a named file: the workbook goes to a
 * mkstemps name in $TMPDIR, is read back and removed.
 */
#include "api_xlsx.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xlsxwriter.h>

#include "api_int.h"
#include "kpi_date.h"
#include "kpi_text.h"

#define EXCEL_EPOCH_OFFSET 25569 /* Excel serial of 1970-01-01 (1900 date system) */
#define WIDTH_MIN 6
#define WIDTH_MAX 60
/* Digits a number format shows at most: a double holds about 15 (exchange
   rates print 10). */
#define DECIMALS_MAX 15

bool api_xlsx_text_column(const char *name)
{
    /* Every name or document-number column of the KPI, worklist and event
       CSVs (docs/openapi.json); labels (bucket, status, type) are here too,
       so that a label never turns into a number or a date. */
    static const char *const names[] = {
        "id",
        "type",
        "business_unit",
        "customer",
        "vendor",
        "invoice",
        "credit_note",
        "payment",
        "bill",
        "dispute",
        "inquiry",
        "currency",
        "reporting_currency",
        "result",
        "method",
        "reason",
        "resolution",
        "source",
        "extra",
        "document",
        "party",
        "status",
        "bucket",
        "reasons",
        "first_review",
        "group",
        "name",
        "kind",
        "sla",
        "metric",
        "unit",
        "number",
        "label",
        /* parties' profiles (customer.updated, vendor.updated) */
        "customer_name",
        "vendor_name",
        "party_name",
        "email",
        "country",
        "segment",
    };
    if (name == NULL)
        return false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

/* Digits after the decimal point of a plain decimal number. */
static int decimals_of(const char *s, size_t len)
{
    const char *dot = memchr(s, '.', len);
    return dot == NULL ? 0 : (int)(len - (size_t)(dot + 1 - s));
}

api_xlsx_cell_t api_xlsx_cell(const char *s, size_t len, bool quoted, bool text_col)
{
    api_xlsx_cell_t c = {.kind = API_XLSX_EMPTY};
    if (len == 0)
        return c;
    c.kind = API_XLSX_TEXT;
    /* The CSV writer put its apostrophe in front of every text cell it was
       given; a cell that reached the CSV by another path and still starts
       a formula is neutralised here by the same test. */
    c.neutralise = kpi_text_formula_start(s[0]);
    if (quoted || text_col)
        return c;
    char tmp[40];
    if (len >= sizeof tmp)
        return c;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    if (api_csv_is_number(tmp)) {
        int d = decimals_of(tmp, len);
        c.kind = API_XLSX_NUMBER;
        /* The C locale's strtod (kpid never calls setlocale), correctly
           rounded: the nearest double to the decimal the CSV prints. */
        c.num = strtod(tmp, NULL);
        c.decimals = d > DECIMALS_MAX ? DECIMALS_MAX : d;
        c.neutralise = false; /* "-12.50" is a number, not a formula */
        return c;
    }
    int32_t day;
    if (len == 10 && kpi_date_parse(tmp, len, &day) == ERR_OK &&
        day >= kpi_days_from_civil(1900, 3, 1)) {
        /* Before 1900-03-01 Excel's serials are off by its phantom
           1900-02-29: such a day stays text. */
        c.kind = API_XLSX_DATE;
        c.num = (double)day + EXCEL_EPOCH_OFFSET;
        return c;
    }
    int64_t t;
    if (len == 20 && tmp[10] == 'T' && tmp[19] == 'Z' &&
        kpi_time_parse_rfc3339(tmp, len, &t) == ERR_OK &&
        kpi_utc_day(t) >= kpi_days_from_civil(1900, 3, 1)) {
        c.kind = API_XLSX_DATETIME;
        c.num = (double)kpi_utc_day(t) + EXCEL_EPOCH_OFFSET +
                (double)(t - kpi_day_start_utc(kpi_utc_day(t))) / 86400.0;
        return c;
    }
    return c;
}

/* ---- reading the CSV ------------------------------------------------------ */

typedef struct csv_rd {
    const char *p, *end;
    char *val; /* the current cell, unquoted, NUL-terminated (malloc'd) */
    size_t len, cap;
    bool quoted;
    bool eol; /* the current cell ended its row */
} csv_rd_t;

static bool val_put(csv_rd_t *r, char ch)
{
    if (r->len + 2 > r->cap) {
        size_t ncap = r->cap ? r->cap * 2 : 256;
        char *n = realloc(r->val, ncap);
        if (n == NULL)
            return false;
        r->val = n;
        r->cap = ncap;
    }
    r->val[r->len++] = ch;
    r->val[r->len] = '\0';
    return true;
}

/* The next cell into r->val. ERR_OK with r->p == r->end after the last
   cell; ERR_BAD_PARAM for an unterminated quote; ERR_NOMEM. */
static err_t csv_next(csv_rd_t *r)
{
    r->len = 0;
    r->quoted = false;
    r->eol = false;
    if (!val_put(r, 'x'))
        return ERR_NOMEM;
    r->len = 0;
    r->val[0] = '\0';
    if (r->p < r->end && *r->p == '"') {
        r->quoted = true;
        r->p++;
        for (;;) {
            if (r->p >= r->end)
                return ERR_BAD_PARAM;
            if (*r->p == '"') {
                if (r->p + 1 < r->end && r->p[1] == '"') {
                    r->p += 2;
                    if (!val_put(r, '"'))
                        return ERR_NOMEM;
                    continue;
                }
                r->p++;
                break;
            }
            if (!val_put(r, *r->p++))
                return ERR_NOMEM;
        }
    }
    while (r->p < r->end && *r->p != ',' && *r->p != '\r' && *r->p != '\n')
        if (!val_put(r, *r->p++))
            return ERR_NOMEM;
    if (r->p >= r->end) {
        r->eol = true;
    } else if (*r->p == ',') {
        r->p++;
    } else {
        r->eol = true;
        if (*r->p == '\r')
            r->p++;
        if (r->p < r->end && *r->p == '\n')
            r->p++;
    }
    return ERR_OK;
}

static void csv_rewind(csv_rd_t *r, const char *csv, size_t len)
{
    r->p = csv;
    r->end = csv + len;
    if (len >= 3 && memcmp(csv, API_CSV_BOM, 3) == 0)
        r->p += 3;
}

/* Display width of UTF-8 text: its code points. */
static size_t width_of(const char *s, size_t len)
{
    size_t w = 0;
    for (size_t i = 0; i < len; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80)
            w++;
    return w;
}

/* A text cell's length cut to `room` bytes at a UTF-8 boundary. */
static size_t text_cut(const char *s, size_t len, size_t room)
{
    if (len <= room)
        return len;
    len = room;
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
        len--;
    return len;
}

/* ---- the workbook --------------------------------------------------------- */

typedef struct shape {
    size_t rows, cols;
    unsigned char *width; /* cols entries */
    bool *text;           /* cols entries: api_xlsx_text_column(header) */
} shape_t;

static err_t measure(csv_rd_t *r, shape_t *sh, err_msg_t *msg)
{
    size_t col = 0, cap = 0;
    while (r->p < r->end) {
        err_t e = csv_next(r);
        if (e)
            return e == ERR_NOMEM
                       ? err_set(msg, e, "out of memory building the XLSX answer")
                       : err_set(msg, e, "CSV row %zu has an unterminated quote", sh->rows + 1);
        if (col >= LXW_COL_MAX)
            return err_set(msg, ERR_TOO_LARGE, "more than %d columns for an XLSX sheet",
                           LXW_COL_MAX);
        if (col >= cap) {
            size_t ncap = cap ? cap * 2 : 32;
            unsigned char *w = realloc(sh->width, ncap);
            if (w == NULL)
                return err_set(msg, ERR_NOMEM, "out of memory building the XLSX answer");
            sh->width = w;
            bool *t = realloc(sh->text, ncap * sizeof *t);
            if (t == NULL)
                return err_set(msg, ERR_NOMEM, "out of memory building the XLSX answer");
            sh->text = t;
            memset(sh->width + cap, WIDTH_MIN, ncap - cap);
            memset(sh->text + cap, 0, (ncap - cap) * sizeof *t);
            cap = ncap;
        }
        if (sh->rows == 0)
            sh->text[col] = api_xlsx_text_column(r->val);
        size_t w = width_of(r->val, r->len) + 2;
        if (w > sh->width[col])
            sh->width[col] = (unsigned char)(w > WIDTH_MAX ? WIDTH_MAX : w);
        col++;
        if (col > sh->cols)
            sh->cols = col;
        if (r->eol) {
            col = 0;
            if (++sh->rows > API_XLSX_ROWS_MAX)
                return err_set(msg, ERR_TOO_LARGE,
                               "more than %u rows for an XLSX sheet; narrow the query",
                               API_XLSX_ROWS_MAX);
        }
    }
    return ERR_OK;
}

typedef struct fmts {
    lxw_workbook *wb;
    lxw_format *head, *date, *datetime, *text;
    lxw_format *num[DECIMALS_MAX + 1]; /* "#,##0", "#,##0.0", ... made when first used */
} fmts_t;

static lxw_format *num_format(fmts_t *f, int decimals)
{
    if (f->num[decimals] == NULL) {
        char code[32] = "#,##0";
        if (decimals > 0) {
            size_t n = strlen(code);
            code[n++] = '.';
            for (int i = 0; i < decimals; i++)
                code[n++] = '0';
            code[n] = '\0';
        }
        f->num[decimals] = workbook_add_format(f->wb);
        format_set_num_format(f->num[decimals], code);
    }
    return f->num[decimals];
}

static lxw_error write_cell(lxw_worksheet *ws, fmts_t *f, lxw_row_t row, lxw_col_t col,
                            const csv_rd_t *r, bool text_col)
{
    if (row == 0)
        return worksheet_write_string(ws, row, col, r->val, f->head);
    api_xlsx_cell_t c = api_xlsx_cell(r->val, r->len, r->quoted, text_col);
    switch (c.kind) {
    case API_XLSX_EMPTY: return LXW_NO_ERROR;
    case API_XLSX_NUMBER:
        return worksheet_write_number(ws, row, col, c.num, num_format(f, c.decimals));
    case API_XLSX_DATE: return worksheet_write_number(ws, row, col, c.num, f->date);
    case API_XLSX_DATETIME: return worksheet_write_number(ws, row, col, c.num, f->datetime);
    case API_XLSX_TEXT: break;
    }
    /* Text is written as a string, never as a formula; the apostrophe makes
       it read as the CSV's cell does when copied or re-exported. */
    size_t lead = c.neutralise ? 1 : 0;
    size_t n = text_cut(r->val, r->len, API_XLSX_TEXT_MAX - lead);
    char *s = r->val;
    char *own = NULL;
    if (lead > 0 || n < r->len) {
        own = malloc(n + 2);
        if (own == NULL)
            return LXW_ERROR_MEMORY_MALLOC_FAILED;
        own[0] = '\'';
        memcpy(own + lead, r->val, n);
        own[lead + n] = '\0';
        s = own;
    }
    lxw_error le = worksheet_write_string(ws, row, col, s, f->text);
    free(own);
    return le;
}

static err_t write_sheet(csv_rd_t *r, const shape_t *sh, const char *path, const char *tmpdir,
                         const char *sheet, err_msg_t *msg)
{
    lxw_workbook_options o = {.constant_memory = LXW_TRUE, .tmpdir = (char *)tmpdir};
    fmts_t f = {.wb = workbook_new_opt(path, &o)};
    if (f.wb == NULL)
        return err_set(msg, ERR_IO, "cannot start an XLSX workbook at %s", path);
    char name[LXW_SHEETNAME_MAX + 1];
    snprintf(name, sizeof name, "%s", sheet != NULL && sheet[0] ? sheet : "data");
    lxw_worksheet *ws = workbook_add_worksheet(f.wb, name);
    f.head = workbook_add_format(f.wb);
    f.date = workbook_add_format(f.wb);
    f.datetime = workbook_add_format(f.wb);
    f.text = workbook_add_format(f.wb);
    lxw_error le = LXW_NO_ERROR;
    if (ws == NULL || f.head == NULL || f.date == NULL || f.datetime == NULL || f.text == NULL) {
        le = LXW_ERROR_MEMORY_MALLOC_FAILED;
        goto out;
    }
    format_set_bold(f.head);
    format_set_num_format(f.date, "yyyy-mm-dd");
    format_set_num_format(f.datetime, "yyyy-mm-dd hh:mm:ss");
    format_set_num_format(f.text, "@");
    for (size_t i = 0; i < sh->cols; i++)
        (void)worksheet_set_column(ws, (lxw_col_t)i, (lxw_col_t)i, sh->width[i], NULL);
    worksheet_freeze_panes(ws, 1, 0);
    if (sh->rows > 0 && sh->cols > 0)
        (void)worksheet_autofilter(ws, 0, 0, (lxw_row_t)(sh->rows - 1), (lxw_col_t)(sh->cols - 1));
    lxw_row_t row = 0;
    lxw_col_t col = 0;
    while (r->p < r->end && le == LXW_NO_ERROR) {
        err_t e = csv_next(r); /* measured already: only ERR_NOMEM can come now */
        if (e) {
            le = LXW_ERROR_MEMORY_MALLOC_FAILED;
            break;
        }
        le = write_cell(ws, &f, row, col, r, sh->text[col]);
        col++;
        if (r->eol) {
            row++;
            col = 0;
        }
    }
out:;
    /* workbook_close frees the workbook whatever happens. */
    lxw_error ce = workbook_close(f.wb);
    if (le == LXW_NO_ERROR)
        le = ce;
    if (le != LXW_NO_ERROR)
        return err_set(msg, le == LXW_ERROR_MEMORY_MALLOC_FAILED ? ERR_NOMEM : ERR_INTERNAL,
                       "cannot write the XLSX answer: %s", lxw_strerror(le));
    return ERR_OK;
}

static err_t read_back(const char *path, size_t max, char **out, size_t *out_len, err_msg_t *msg)
{
    err_t e = ERR_OK;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return err_set(msg, ERR_IO, "cannot read the XLSX answer back: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(fp), &st) != 0) {
        e = err_set(msg, ERR_IO, "cannot read the XLSX answer back: %s", strerror(errno));
        goto out;
    }
    if ((uint64_t)st.st_size > max) {
        e = err_set(msg, ERR_TOO_LARGE, "XLSX answer too large (%lld bytes); narrow the query",
                    (long long)st.st_size);
        goto out;
    }
    size_t n = (size_t)st.st_size;
    char *buf = malloc(n ? n : 1);
    if (buf == NULL) {
        e = err_set(msg, ERR_NOMEM, "out of memory reading the XLSX answer");
        goto out;
    }
    if (fread(buf, 1, n, fp) != n) {
        free(buf);
        e = err_set(msg, ERR_IO, "short read of the XLSX answer");
        goto out;
    }
    *out = buf;
    *out_len = n;
out:
    fclose(fp);
    return e;
}

err_t api_xlsx_from_csv(const char *csv, size_t len, const char *sheet, size_t max, char **out,
                        size_t *out_len, err_msg_t *msg)
{
    *out = NULL;
    *out_len = 0;
    csv_rd_t r = {0};
    shape_t sh = {0};
    char path[4096];
    bool made = false;
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/tmp";
    csv_rewind(&r, csv, len);
    err_t e = measure(&r, &sh, msg);
    if (e)
        goto out;
    int n = snprintf(path, sizeof path, "%s/kpid-xlsx-XXXXXX.xlsx", dir);
    if (n < 0 || (size_t)n >= sizeof path) {
        e = err_set(msg, ERR_IO, "temporary directory path too long: %s", dir);
        goto out;
    }
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        e = err_set(msg, ERR_IO, "cannot create a temporary file in %s: %s", dir, strerror(errno));
        goto out;
    }
    made = true;
    (void)close(fd); /* libxlsxwriter opens it again by name */
    csv_rewind(&r, csv, len);
    e = write_sheet(&r, &sh, path, dir, sheet, msg);
    if (!e)
        e = read_back(path, max, out, out_len, msg);
out:
    if (made && unlink(path) != 0 && !e)
        e = err_set(msg, ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    if (e) {
        free(*out);
        *out = NULL;
        *out_len = 0;
    }
    free(r.val);
    free(sh.width);
    free(sh.text);
    return e;
}
