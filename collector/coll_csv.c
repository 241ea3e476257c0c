/*
 * coll_csv.c — RFC 4180 CSV, incrementally: quoted fields with doubled
 * quotes, commas and line breaks inside quotes, CRLF or LF. The header row
 * names the fields (docs/events.md's names); each data row becomes a JSON object
 * of its non-empty cells, all strings, handed to the same validation as
 * JSON input. A row with another number of cells than the header is a
 * broken row; it does not stop the rows after it.
 *
 * Memory: a row is held until its end, so what one row may cost is bounded
 * by the limits checked *before* each byte or cell is stored: at most
 * COLL_ITEM_MAX bytes and COLL_CSV_CELLS_MAX cells (their offsets). Past
 * either the row is only counted (and reported as broken), never stored;
 * a body of one endless row of commas costs the same as a 1 MiB row.
 *
 * A file of exchange rates in the layout central banks publish (a header of
 * date, currency, rate, optionally source, and no id or type column) is
 * read as fx.rate events: each row's id is "fx:CUR:DATE:RATE", so loading
 * the same file again gives duplicates and a corrected rate is a new event
 * (the later one stands for its day).
 */
#include "coll_int.h"

#include "kpi_event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct cells {
    char *buf; /* cell bytes, each NUL-terminated */
    size_t len, cap;
    size_t *off; /* start of each cell in buf */
    size_t n, ncap;
    size_t cur; /* start of the cell being read */
} cells_t;

struct coll_csv {
    coll_csv_row_fn fn;
    void *ctx;
    cells_t row;
    char **header;
    size_t n_header;
    bool in_quotes;
    bool quote_seen; /* a quote just closed: a second one is a literal quote */
    bool after_cr;
    bool row_started; /* any byte of the current row seen */
    bool too_big;
    bool too_many_cells;
    const char *header_problem; /* a broken header: every row is refused */
    bool rates;                 /* a file of exchange rates (see the top) */
    char header_msg[200];       /* header_problem's text when made here */
    size_t line;                /* physical line being read, 1-based */
    size_t row_line;            /* line where the current row started */
    size_t row_bytes;
};

static bool header_has(const struct coll_csv *c, const char *name)
{
    for (size_t i = 0; i < c->n_header; i++)
        if (strcmp(c->header[i], name) == 0)
            return true;
    return false;
}

/* A row of a rates file as an fx.rate event: its type, and an id made of
   what it says (a row missing a field gets no id, and is refused for the
   missing field by the event rules). */
static err_t rate_row(json_t *obj)
{
    if (json_object_set_new(obj, "type", json_string("fx.rate")) != 0)
        return ERR_NOMEM;
    const char *cur = json_string_value(json_object_get(obj, "currency"));
    const char *date = json_string_value(json_object_get(obj, "date"));
    const char *rate = json_string_value(json_object_get(obj, "rate"));
    if (cur == NULL || date == NULL || rate == NULL)
        return ERR_OK;
    char id[KPI_ID_MAX + 1];
    int n = snprintf(id, sizeof id, "fx:%s:%s:%s", cur, date, rate);
    if (n < 0 || (size_t)n >= sizeof id)
        return ERR_OK; /* too long to be a real rate: the rules say why */
    return json_object_set_new(obj, "id", json_string(id)) == 0 ? ERR_OK : ERR_NOMEM;
}

static bool cells_add_byte(cells_t *c, char b)
{
    if (c->len + 1 >= c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        char *nb = realloc(c->buf, cap);
        if (nb == NULL)
            return false;
        c->buf = nb;
        c->cap = cap;
    }
    c->buf[c->len++] = b;
    return true;
}

static bool cells_end_cell(cells_t *c)
{
    if (c->n == COLL_CSV_CELLS_MAX)
        return true; /* the caller reports the row; nothing more is stored */
    if (!cells_add_byte(c, '\0'))
        return false;
    if (c->n == c->ncap) {
        size_t cap = c->ncap ? c->ncap * 2 : 32;
        size_t *no = realloc(c->off, cap * sizeof *no);
        if (no == NULL)
            return false;
        c->off = no;
        c->ncap = cap;
    }
    c->off[c->n++] = c->cur;
    c->cur = c->len;
    return true;
}

err_t coll_csv_new(coll_csv_row_fn fn, void *ctx, coll_csv_t **out)
{
    coll_csv_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    c->fn = fn;
    c->ctx = ctx;
    c->line = 1;
    c->row_line = 1;
    *out = c;
    return ERR_OK;
}

void coll_csv_free(coll_csv_t *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_header; i++)
        free(c->header[i]);
    free(c->header);
    free(c->row.buf);
    free(c->row.off);
    free(c);
}

static void row_reset(coll_csv_t *c)
{
    c->row.len = 0;
    c->row.n = 0;
    c->row.cur = 0;
    c->row_started = false;
    c->too_big = false;
    c->too_many_cells = false;
    c->row_bytes = 0;
    c->quote_seen = false;
}

/* Bytes of cell i: cells are stored one after another, each with its
   terminator, so a NUL inside a cell is kept and counted, not a cut. */
static size_t cell_len(const cells_t *r, size_t i)
{
    size_t end = i + 1 < r->n ? r->off[i + 1] : r->len;
    return end - r->off[i] - 1;
}

static err_t end_row(coll_csv_t *c)
{
    if (c->row.n == COLL_CSV_CELLS_MAX)
        c->too_many_cells = true;
    else if (!c->too_big && !cells_end_cell(&c->row))
        return ERR_NOMEM;
    else if (c->too_big && c->row.n == 0 && !cells_end_cell(&c->row))
        return ERR_NOMEM; /* one (truncated) cell, so the row is no blank line */
    cells_t *r = &c->row;
    /* A blank line is no row at all. */
    if (!c->too_big && r->n == 1 && cell_len(r, 0) == 0 && !c->quote_seen) {
        row_reset(c);
        return ERR_OK;
    }
    err_t e = ERR_OK;
    if (c->header == NULL) {
        c->header = calloc(r->n, sizeof *c->header);
        if (c->header == NULL)
            return ERR_NOMEM;
        c->n_header = r->n;
        for (size_t i = 0; i < r->n; i++) {
            c->header[i] = strdup(r->buf + r->off[i]);
            if (c->header[i] == NULL)
                return ERR_NOMEM;
            if (strlen(c->header[i]) != cell_len(r, i))
                c->header_problem = "a name in the header row contains a NUL character";
        }
        if (c->too_big || c->too_many_cells)
            c->header_problem = "the header row is longer than 1 MiB or has too many cells";
        c->rates = header_has(c, "date") && header_has(c, "currency") && header_has(c, "rate") &&
                   !header_has(c, "id") && !header_has(c, "type");
        /* A semicolon (or tab) separated export reads as one cell per row:
           name the delimiter rather than let every row fail on its own. */
        const char *other =
            r->n == 1 && c->header_problem == NULL ? strpbrk(c->header[0], ";\t|") : NULL;
        if (other != NULL) {
            snprintf(c->header_msg, sizeof c->header_msg,
                     "the header row is one cell holding '%s': kpid reads comma-separated CSV "
                     "(RFC 4180); export with ',' as the delimiter (Excel: \"CSV UTF-8 (Comma "
                     "delimited)\")",
                     *other == '\t'  ? "\\t"
                     : *other == ';' ? ";"
                                     : "|");
            c->header_problem = c->header_msg;
        }
        row_reset(c);
        return ERR_OK;
    }
    if (c->too_big) {
        e = c->fn(c->ctx, c->row_line, NULL, "row longer than 1 MiB");
    } else if (c->too_many_cells) {
        char msg[96];
        snprintf(msg, sizeof msg, "row has more than %u cells", (unsigned)COLL_CSV_CELLS_MAX);
        e = c->fn(c->ctx, c->row_line, NULL, msg);
    } else if (c->header_problem != NULL) {
        e = c->fn(c->ctx, c->row_line, NULL, c->header_problem);
    } else if (r->n != c->n_header) {
        char msg[96];
        snprintf(msg, sizeof msg, "row has %zu cells, the header has %zu", r->n, c->n_header);
        e = c->fn(c->ctx, c->row_line, NULL, msg);
    } else {
        json_t *obj = json_object();
        if (obj == NULL)
            return ERR_NOMEM;
        for (size_t i = 0; i < r->n; i++) {
            const char *cell = r->buf + r->off[i];
            size_t len = cell_len(r, i);
            if (len == 0 || c->header[i][0] == '\0')
                continue; /* empty cell: the field is absent */
            /* With its length, so that a NUL reaches the field rules and is
               refused exactly as JSON's \u0000 is, not cut off. */
            json_t *s = json_stringn(cell, len);
            if (s == NULL) { /* not UTF-8 */
                json_decref(obj);
                char msg[96];
                snprintf(msg, sizeof msg, "column '%.40s' is not valid UTF-8", c->header[i]);
                e = c->fn(c->ctx, c->row_line, NULL, msg);
                row_reset(c);
                return e;
            }
            json_object_set_new(obj, c->header[i], s);
        }
        if (c->rates && rate_row(obj) != ERR_OK) {
            json_decref(obj);
            return ERR_NOMEM;
        }
        e = c->fn(c->ctx, c->row_line, obj, NULL);
        json_decref(obj);
    }
    row_reset(c);
    return e;
}

err_t coll_csv_feed(coll_csv_t *c, const char *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char b = buf[i];
        if (!c->row_started) {
            c->row_started = true;
            c->row_line = c->line;
        }
        if (b == '\n')
            c->line++;
        if (++c->row_bytes > COLL_ITEM_MAX)
            c->too_big = true;
        if (c->in_quotes) {
            if (b == '"') {
                c->in_quotes = false;
                c->quote_seen = true;
            } else if (!c->too_big && !cells_add_byte(&c->row, b)) {
                return ERR_NOMEM;
            }
            continue;
        }
        if (b == '"') {
            /* Opening quote, or "" inside a quoted field: a literal quote. */
            if (c->quote_seen && !c->too_big && !cells_add_byte(&c->row, '"'))
                return ERR_NOMEM;
            c->in_quotes = true;
            continue;
        }
        c->quote_seen = false;
        if (b == ',') {
            /* Checked before storing: a row past its limits is only counted. */
            if (c->row.n == COLL_CSV_CELLS_MAX)
                c->too_many_cells = true;
            if (!c->too_big && !c->too_many_cells && !cells_end_cell(&c->row))
                return ERR_NOMEM;
            continue;
        }
        if (b == '\r') {
            c->after_cr = true;
            continue;
        }
        if (b == '\n') {
            c->after_cr = false;
            err_t e = end_row(c);
            if (e)
                return e;
            continue;
        }
        if (c->after_cr) { /* a lone CR inside a row: keep it */
            c->after_cr = false;
            if (!c->too_big && !cells_add_byte(&c->row, '\r'))
                return ERR_NOMEM;
        }
        if (!c->too_big && !cells_add_byte(&c->row, b))
            return ERR_NOMEM;
    }
    return ERR_OK;
}

err_t coll_csv_finish(coll_csv_t *c)
{
    if (c->in_quotes) {
        c->in_quotes = false;
        err_t e = c->fn(c->ctx, c->row_line, NULL, "a quoted field is not closed before the end");
        row_reset(c);
        return e;
    }
    if (c->row_started)
        return end_row(c);
    return ERR_OK;
}
