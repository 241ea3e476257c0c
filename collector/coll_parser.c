/*
 * coll_parser.c — incremental framing: bytes in, one item at a time out.
 *
 * JSON (one object, an array of objects, or objects one after another) is
 * cut by a small scanner that tracks strings and nesting, so each array
 * element is parsed (json_loadb) and validated as soon as its closing brace
 * arrives; an array of a million events is never held whole. NDJSON is cut
 * at newlines, CSV by coll_csv.c. An item is at most COLL_ITEM_MAX bytes.
 *
 * AUTO looks at the first non-blank byte: '[' is a JSON array; '{' is NDJSON
 * when the first object closes on its first line, else (pretty-printed)
 * JSON; anything else is CSV. A UTF-8 byte order mark is skipped.
 */
#include "coll_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct coll_parser {
    coll_opts_t opts;
    coll_format_t fmt; /* AUTO until decided */
    coll_event_fn on_event;
    coll_error_fn on_error;
    void *ctx;
    kpi_arena_t *arena;
    err_t stopped; /* a callback asked to stop */
    size_t items;
    uint64_t bytes;
    size_t line; /* current physical line, 1-based */

    uint8_t bom[3]; /* the first bytes, until we know they are no BOM */
    size_t bom_len;
    bool bom_done;

    char *pre; /* AUTO: bytes held until the format is known */
    size_t pre_len, pre_cap;

    char *item; /* the item being cut */
    size_t item_len, item_cap, item_line;
    bool item_active, item_too_big;

    /* JSON scanner */
    bool top_seen, in_array, array_closed, trailing_reported;
    bool in_str, esc;
    int depth;
    char kind; /* first byte of the current item */

    coll_csv_t *csv;
};

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

coll_format_t coll_format_from_media_type(const char *mt)
{
    if (mt == NULL)
        return COLL_FMT_AUTO;
    size_t n = strcspn(mt, "; \t");
    if ((n == 16 && strncasecmp(mt, "application/json", n) == 0))
        return COLL_FMT_JSON;
    if ((n == 20 && strncasecmp(mt, "application/x-ndjson", n) == 0) ||
        (n == 21 && strncasecmp(mt, "application/jsonlines", n) == 0) ||
        (n == 18 && strncasecmp(mt, "application/ndjson", n) == 0))
        return COLL_FMT_NDJSON;
    if (n == 8 && strncasecmp(mt, "text/csv", n) == 0)
        return COLL_FMT_CSV;
    return COLL_FMT_AUTO;
}

coll_format_t coll_format_from_path(const char *path)
{
    const char *dot = path ? strrchr(path, '.') : NULL;
    if (dot == NULL)
        return COLL_FMT_AUTO;
    if (strcasecmp(dot, ".json") == 0)
        return COLL_FMT_JSON;
    if (strcasecmp(dot, ".ndjson") == 0 || strcasecmp(dot, ".jsonl") == 0)
        return COLL_FMT_NDJSON;
    if (strcasecmp(dot, ".csv") == 0)
        return COLL_FMT_CSV;
    return COLL_FMT_AUTO;
}

/* ---- delivering items ------------------------------------------------------------- */

/* Hand an error item to the caller. Its message quotes the input (a bad
   type, a CSV cell), and it must stay one line (coll.h; kpid ingest prints
   one line per item): control bytes become spaces. */
static err_t deliver_error(coll_parser_t *p, coll_error_t *err)
{
    for (char *c = err->message; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            *c = ' ';
    return p->on_error ? p->on_error(p->ctx, err) : ERR_OK;
}

static err_t report(coll_parser_t *p, size_t index, size_t line, err_t code, const char *id,
                    const char *field, const char *message)
{
    coll_error_t err;
    memset(&err, 0, sizeof err);
    err.index = index;
    err.line = line;
    err.code = code;
    snprintf(err.id, sizeof err.id, "%s", id ? id : "");
    snprintf(err.field, sizeof err.field, "%s", field ? field : "");
    snprintf(err.message, sizeof err.message, "%s", message);
    err_t e = deliver_error(p, &err);
    if (e)
        p->stopped = e;
    return e;
}

/* One parsed object (borrowed) as item `index`. */
static err_t take_object(coll_parser_t *p, json_t *obj, size_t index, size_t line)
{
    kpi_arena_reset(p->arena);
    kpi_event_t ev;
    coll_error_t err;
    err_t code = coll_event_from_json(&p->opts, obj, p->arena, &ev, &err);
    err_t e;
    if (code) {
        err.index = index;
        err.line = line;
        e = deliver_error(p, &err);
    } else {
        e = p->on_event ? p->on_event(p->ctx, index, line, &ev) : ERR_OK;
    }
    if (e)
        p->stopped = e;
    return e;
}

/*
 * A raw NUL byte inside a JSON string is a syntax error to Jansson, while
 * an escaped one (\u0000) reaches the field rules, which refuse it naming
 * the field. One rule for every format (CSV cells keep their NULs too):
 * raw NULs inside strings are rewritten as \u0000 before parsing, so they
 * get the same error. A new buffer (at most 6x the item), or NULL.
 */
static char *escape_raw_nuls(const char *data, size_t len, size_t *out_len)
{
    size_t nuls = 0;
    for (size_t i = 0; i < len; i++)
        nuls += data[i] == '\0';
    char *out = malloc(len + 5 * nuls + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    bool in_str = false, esc = false;
    for (size_t i = 0; i < len; i++) {
        char c = data[i];
        if (c == '\0' && in_str) {
            memcpy(out + o, "\\u0000", 6);
            o += 6;
            esc = false;
            continue;
        }
        out[o++] = c;
        if (esc)
            esc = false;
        else if (in_str && c == '\\')
            esc = true;
        else if (c == '"')
            in_str = !in_str;
    }
    *out_len = o;
    return out;
}

/* End of the JSON string token whose opening quote is at p (valid JSON). */
static const char *string_end(const char *p, const char *end)
{
    for (p++; p < end; p++) {
        if (*p == '\\')
            p++;
        else if (*p == '"')
            return p + 1;
    }
    return end;
}

/* Past the JSON value at p: a string, a nested object/array, or a scalar. */
static const char *value_end(const char *p, const char *end)
{
    if (p < end && *p == '"')
        return string_end(p, end);
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p = string_end(p, end);
            continue;
        }
        if (c == '{' || c == '[')
            depth++;
        else if (c == '}' || c == ']') {
            if (depth == 0)
                return p;
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && (c == ',' || is_ws(c)))
            return p;
        p++;
    }
    return p;
}

static bool key_is_amount(const char *k, const char *kend)
{
    if (memchr(k, '\\', (size_t)(kend - k)) == NULL)
        return kend - k == 8 && memcmp(k, "\"amount\"", 8) == 0;
    /* An escaped key ("\u0061mount"): let Jansson decode it. */
    json_t *s = json_loadb(k, (size_t)(kend - k), JSON_DECODE_ANY, NULL);
    bool is = json_is_string(s) && strcmp(json_string_value(s), "amount") == 0;
    json_decref(s);
    return is;
}

/*
 * docs/events.md: an amount has no exponent. Jansson reads 1e2 as the real
 * 100.0 and keeps no trace of how it was written, so when the top-level
 * "amount" of an object Jansson accepted is a real, its text is looked at.
 */
static bool amount_has_exponent(const char *p, size_t len)
{
    const char *end = p + len;
    while (p < end && *p != '{')
        p++;
    p++;
    while (p < end) {
        while (p < end && (is_ws(*p) || *p == ','))
            p++;
        if (p >= end || *p != '"')
            return false;
        const char *k = p;
        p = string_end(p, end);
        bool amount = key_is_amount(k, p);
        while (p < end && (is_ws(*p) || *p == ':'))
            p++;
        const char *v = p;
        p = value_end(p, end);
        if (amount)
            return memchr(v, 'e', (size_t)(p - v)) != NULL || memchr(v, 'E', (size_t)(p - v));
    }
    return false;
}

static err_t take_text(coll_parser_t *p, const char *data, size_t len, size_t line, bool too_big)
{
    size_t index = p->items++;
    if (too_big)
        return report(p, index, line, ERR_TOO_LARGE, NULL, "",
                      "item larger than 1 MiB; events are small, is this one event?");
    char *escaped = NULL;
    if (len > 0 && memchr(data, '\0', len) != NULL) { /* data is NULL for an empty item */
        escaped = escape_raw_nuls(data, len, &len);
        if (escaped == NULL)
            return ERR_NOMEM;
        data = escaped;
    }
    json_error_t je;
    /* The common flat object is read by the fast reader; everything else,
       and every error, by Jansson. */
    json_t *j = coll_fast_object(data, len);
    if (j == NULL)
        j = json_loadb(data, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
    err_t e;
    if (j == NULL) {
        char msg[200];
        snprintf(msg, sizeof msg, "not valid JSON: %s (column %d)", je.text, je.column);
        e = report(p, index, line, ERR_PARSE, NULL, "", msg);
    } else if (json_is_real(json_object_get(j, "amount")) && amount_has_exponent(data, len)) {
        const char *id = json_string_value(json_object_get(j, "id"));
        char msg[200];
        snprintf(msg, sizeof msg,
                 "amount: %.17g is written with an exponent; an amount is a decimal "
                 "without one (docs/events.md)",
                 json_real_value(json_object_get(j, "amount")));
        e = report(p, index, line, ERR_BAD_AMOUNT, id, "amount", msg);
    } else {
        e = take_object(p, j, index, line);
    }
    json_decref(j);
    free(escaped);
    return e;
}

static bool item_add(coll_parser_t *p, char c)
{
    if (p->item_len >= COLL_ITEM_MAX) {
        p->item_too_big = true;
        return true;
    }
    if (p->item_len == p->item_cap) {
        size_t cap = p->item_cap ? p->item_cap * 2 : 4096;
        char *n = realloc(p->item, cap);
        if (n == NULL)
            return false;
        p->item = n;
        p->item_cap = cap;
    }
    p->item[p->item_len++] = c;
    return true;
}

/* item_add for n bytes at once. */
static bool item_add_n(coll_parser_t *p, const char *b, size_t n)
{
    if (p->item_too_big)
        return true;
    if (n > COLL_ITEM_MAX - p->item_len) {
        p->item_too_big = true;
        return true;
    }
    if (p->item_len + n > p->item_cap) {
        size_t cap = p->item_cap ? p->item_cap : 4096;
        while (cap < p->item_len + n)
            cap *= 2;
        char *nb = realloc(p->item, cap);
        if (nb == NULL)
            return false;
        p->item = nb;
        p->item_cap = cap;
    }
    memcpy(p->item + p->item_len, b, n);
    p->item_len += n;
    return true;
}

static void item_start(coll_parser_t *p, char kind)
{
    p->item_active = true;
    p->item_too_big = false;
    p->item_len = 0;
    p->item_line = p->line;
    p->kind = kind;
    p->depth = 0;
    p->in_str = p->esc = false;
}

static err_t item_end(coll_parser_t *p)
{
    p->item_active = false;
    return take_text(p, p->item, p->item_len, p->item_line, p->item_too_big);
}

/* ---- JSON ---------------------------------------------------------------------------- */

static err_t json_byte(coll_parser_t *p, char c)
{
    if (!p->top_seen) {
        if (is_ws(c))
            return ERR_OK;
        p->top_seen = true;
        if (c == '[') {
            p->in_array = true;
            return ERR_OK;
        }
    }
    if (p->array_closed) {
        if (is_ws(c) || p->trailing_reported)
            return ERR_OK;
        p->trailing_reported = true;
        return report(p, p->items++, p->line, ERR_PARSE, NULL, "",
                      "data after the closing ']' of the array");
    }
    if (!p->item_active) {
        if (is_ws(c) || (p->in_array && c == ','))
            return ERR_OK;
        if (p->in_array && c == ']') {
            p->array_closed = true;
            return ERR_OK;
        }
        item_start(p, c);
    }
    bool structured = p->kind == '{' || p->kind == '[' || p->kind == '"';
    if (!structured && (is_ws(c) || c == ',' || c == ']')) {
        /* The end of a bare scalar element (it will be reported as not an
           object by the validation). */
        err_t e = item_end(p);
        if (c == ']')
            p->array_closed = p->in_array;
        return e;
    }
    if (!item_add(p, c))
        return ERR_NOMEM;
    if (p->in_str) {
        if (p->esc)
            p->esc = false;
        else if (c == '\\')
            p->esc = true;
        else if (c == '"') {
            p->in_str = false;
            if (p->depth == 0) /* a bare string element */
                return item_end(p);
        }
        return ERR_OK;
    }
    switch (c) {
    case '"': p->in_str = true; break;
    case '{':
    case '[': p->depth++; break;
    case '}':
    case ']':
        if (--p->depth <= 0)
            return item_end(p);
        break;
    default: break;
    }
    return ERR_OK;
}

static err_t json_finish(coll_parser_t *p)
{
    err_t e = ERR_OK;
    if (p->item_active) {
        bool structured = p->kind == '{' || p->kind == '[' || p->kind == '"';
        if (structured) {
            p->item_active = false;
            e = report(p, p->items++, p->item_line, ERR_PARSE, NULL, "",
                       "the input ends inside this item (unterminated object or string)");
        } else {
            e = item_end(p);
        }
    }
    if (!e && p->in_array && !p->array_closed)
        e = report(p, p->items++, p->line, ERR_PARSE, NULL, "",
                   "the JSON array is not closed with ']'");
    return e;
}

/* ---- NDJSON --------------------------------------------------------------------------- */

static err_t ndjson_line_end(coll_parser_t *p)
{
    size_t n = p->item_len;
    while (n > 0 && is_ws(p->item[n - 1]))
        n--;
    size_t s = 0;
    while (s < n && is_ws(p->item[s]))
        s++;
    bool blank = s == n && !p->item_too_big;
    p->item_active = false;
    if (blank)
        return ERR_OK;
    return take_text(p, p->item + s, n - s, p->item_line, p->item_too_big);
}

/* A whole line (without its newline) seen in one buffer: no copy. */
static err_t ndjson_line(coll_parser_t *p, const char *b, size_t n)
{
    bool too_big = n > COLL_ITEM_MAX;
    while (n > 0 && is_ws(b[n - 1]))
        n--;
    size_t s = 0;
    while (s < n && is_ws(b[s]))
        s++;
    if (s == n && !too_big)
        return ERR_OK;
    return take_text(p, b + s, n - s, p->line, too_big);
}

/* NDJSON a line at a time: lines found whole in buf are taken in place;
   a line split across buffers is gathered in p->item. */
static err_t ndjson_feed(coll_parser_t *p, const char *buf, size_t len)
{
    size_t i = 0;
    while (i < len && !p->stopped) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (buf + i)) : len - i;
        err_t e;
        if (!p->item_active && nl != NULL) {
            e = ndjson_line(p, buf + i, n);
        } else {
            if (!p->item_active)
                item_start(p, buf[i]);
            if (!item_add_n(p, buf + i, n))
                return ERR_NOMEM;
            e = nl ? ndjson_line_end(p) : ERR_OK;
        }
        if (nl == NULL)
            break;
        p->line++;
        i += n + 1;
        if (e)
            return e;
    }
    return p->stopped;
}

static err_t ndjson_byte(coll_parser_t *p, char c)
{
    if (!p->item_active)
        item_start(p, c);
    if (c == '\n')
        return ndjson_line_end(p);
    return item_add(p, c) ? ERR_OK : ERR_NOMEM;
}

/* ---- CSV ------------------------------------------------------------------------------- */

static err_t csv_row(void *ctx, size_t line, json_t *row, const char *problem)
{
    coll_parser_t *p = ctx;
    size_t index = p->items++;
    if (row == NULL)
        return report(p, index, line, ERR_PARSE, NULL, "", problem);
    return take_object(p, row, index, line);
}

/* ---- format detection and the byte pump -------------------------------------------------- */

static err_t pump(coll_parser_t *p, const char *buf, size_t len)
{
    if (p->fmt == COLL_FMT_CSV) {
        err_t e = coll_csv_feed(p->csv, buf, len);
        return e ? e : p->stopped;
    }
    if (p->fmt == COLL_FMT_NDJSON)
        return ndjson_feed(p, buf, len);
    for (size_t i = 0; i < len && !p->stopped; i++) {
        char c = buf[i];
        err_t e = p->fmt == COLL_FMT_NDJSON ? ndjson_byte(p, c) : json_byte(p, c);
        if (c == '\n')
            p->line++;
        if (e)
            return e;
    }
    return p->stopped;
}

static err_t choose(coll_parser_t *p, coll_format_t fmt)
{
    p->fmt = fmt;
    if (fmt == COLL_FMT_CSV) {
        err_t e = coll_csv_new(csv_row, p, &p->csv);
        if (e)
            return e;
    }
    return ERR_OK;
}

/*
 * AUTO: can we tell from the held bytes? Returns AUTO while undecided;
 * at_end decides with what there is.
 */
static coll_format_t sniff(const char *b, size_t n, bool at_end)
{
    size_t i = 0;
    while (i < n && is_ws(b[i]))
        i++;
    /* Only blanks so far: held, but no more than an item's worth (a body of
       endless blanks must not be buffered whole); then it is JSON, as an
       all-blank body is. */
    if (i == n)
        return at_end || n > COLL_ITEM_MAX ? COLL_FMT_JSON : COLL_FMT_AUTO;
    if (i > COLL_ITEM_MAX) /* the same, however the blanks were chunked */
        return COLL_FMT_JSON;
    if (b[i] == '[')
        return COLL_FMT_JSON;
    if (b[i] != '{')
        return COLL_FMT_CSV;
    int depth = 0;
    bool in_str = false, esc = false;
    for (; i < n; i++) {
        char c = b[i];
        if (in_str) {
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
            continue;
        }
        if (c == '\n')
            return COLL_FMT_JSON; /* the first object spans lines */
        if (c == '"')
            in_str = true;
        else if (c == '{' || c == '[')
            depth++;
        else if ((c == '}' || c == ']') && --depth == 0)
            return COLL_FMT_NDJSON;
    }
    if (n > COLL_ITEM_MAX || at_end)
        return COLL_FMT_JSON;
    return COLL_FMT_AUTO;
}

static err_t feed_body(coll_parser_t *p, const char *buf, size_t len, bool at_end)
{
    if (p->fmt != COLL_FMT_AUTO)
        return len ? pump(p, buf, len) : ERR_OK;
    if (len > 0) {
        if (p->pre_len + len > p->pre_cap) {
            size_t cap = p->pre_cap ? p->pre_cap : 4096;
            while (cap < p->pre_len + len)
                cap *= 2;
            char *n = realloc(p->pre, cap);
            if (n == NULL)
                return ERR_NOMEM;
            p->pre = n;
            p->pre_cap = cap;
        }
        memcpy(p->pre + p->pre_len, buf, len);
        p->pre_len += len;
    }
    coll_format_t f = sniff(p->pre, p->pre_len, at_end);
    if (f == COLL_FMT_AUTO)
        return ERR_OK;
    err_t e = choose(p, f);
    if (!e && p->pre_len)
        e = pump(p, p->pre, p->pre_len);
    free(p->pre);
    p->pre = NULL;
    p->pre_len = p->pre_cap = 0;
    return e;
}

/* Strip a leading UTF-8 BOM, even when it arrives split across chunks. */
static err_t feed_raw(coll_parser_t *p, const char *buf, size_t len, bool at_end)
{
    static const uint8_t bom[3] = {0xEF, 0xBB, 0xBF};
    if (!p->bom_done) {
        size_t i = 0;
        while (i < len && p->bom_len < 3)
            p->bom[p->bom_len++] = (uint8_t)buf[i++];
        if (p->bom_len < 3 && !at_end)
            return ERR_OK;
        p->bom_done = true;
        bool is_bom = p->bom_len == 3 && memcmp(p->bom, bom, 3) == 0;
        if (!is_bom) {
            err_t e = feed_body(p, (const char *)p->bom, p->bom_len, false);
            if (e)
                return e;
        }
        buf += i;
        len -= i;
    }
    return feed_body(p, buf, len, at_end);
}

err_t coll_parser_new(const coll_opts_t *opts, coll_format_t fmt, coll_event_fn on_event,
                      coll_error_fn on_error, void *ctx, coll_parser_t **out)
{
    *out = NULL;
    coll_parser_t *p = calloc(1, sizeof *p);
    if (p == NULL)
        return ERR_NOMEM;
    p->opts = *opts;
    p->on_event = on_event;
    p->on_error = on_error;
    p->ctx = ctx;
    p->line = 1;
    err_t e = kpi_arena_new(4u * COLL_ITEM_MAX, &p->arena);
    if (!e && fmt != COLL_FMT_AUTO)
        e = choose(p, fmt);
    if (e) {
        coll_parser_free(p);
        return e;
    }
    *out = p;
    return ERR_OK;
}

err_t coll_parser_feed(coll_parser_t *p, const char *buf, size_t len)
{
    if (p->stopped)
        return p->stopped;
    p->bytes += len;
    return feed_raw(p, buf, len, false);
}

err_t coll_parser_finish(coll_parser_t *p)
{
    if (p->stopped)
        return p->stopped;
    err_t e = feed_raw(p, "", 0, true);
    if (e)
        return e;
    switch (p->fmt) {
    case COLL_FMT_CSV: e = coll_csv_finish(p->csv); break;
    case COLL_FMT_NDJSON: e = p->item_active ? ndjson_line_end(p) : ERR_OK; break;
    case COLL_FMT_JSON:
    case COLL_FMT_AUTO: e = json_finish(p); break;
    }
    return e ? e : p->stopped;
}

size_t coll_parser_items(const coll_parser_t *p)
{
    return p->items;
}

uint64_t coll_parser_bytes(const coll_parser_t *p)
{
    return p->bytes;
}

void coll_parser_free(coll_parser_t *p)
{
    if (p == NULL)
        return;
    coll_csv_free(p->csv);
    kpi_arena_free(p->arena);
    free(p->item);
    free(p->pre);
    free(p);
}

err_t coll_parse_buffer(const coll_opts_t *opts, coll_format_t fmt, const char *buf, size_t len,
                        coll_event_fn on_event, coll_error_fn on_error, void *ctx)
{
    coll_parser_t *p;
    err_t e = coll_parser_new(opts, fmt, on_event, on_error, ctx, &p);
    if (e)
        return e;
    e = coll_parser_feed(p, buf, len);
    if (!e)
        e = coll_parser_finish(p);
    coll_parser_free(p);
    return e;
}
