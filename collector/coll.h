/*
 * coll.h — the collector: bytes in, validated kpi_event_t out.
 *
 * Owns the event parsers (one JSON object, a JSON array, NDJSON, CSV) and
 * every stateless validation rule of docs/events.md: required fields per type, field
 * types, dates, amounts to minor units by the currency's digits. It does not
 * look at stored state (duplicates, unknown documents, over-application: the
 * store decides those) and it does not write anything.
 *
 * Parsing is incremental: feed the body in chunks as it arrives (HTTP upload,
 * file read) and each complete item is delivered at once, so a large body is
 * never held whole. Each item is either an event (on_event) or an error
 * (on_error) naming its index, id and field; a bad item never stops the
 * items after it, except when the framing itself is broken (an unterminated
 * JSON array or CSV quote), which is reported once as ERR_PARSE.
 *
 * Item index: counts from 0 over the batch's items: array elements for JSON;
 * non-blank lines for NDJSON; data rows (after the header) for CSV. `line` is
 * the 1-based physical line where the item starts, for people.
 */
#ifndef KPID_COLL_H
#define KPID_COLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kpi_event.h"
#include "kpi_tz.h"

typedef struct coll_opts {
    const kpi_tz_t *tz;        /* reporting zone: gives date-only times their instant */
    const char *base_currency; /* ISO 4217 code: its digits read amounts of
                                  events that name no currency */
} coll_opts_t;

/*
 * Load the reporting zone NAME ("UTC", "Europe/Berlin") from the system's
 * zoneinfo ($TZDIR or /usr/share/zoneinfo). ERR_TZ with a message naming the
 * zone when it is unknown, unreadable or not a valid name (no "..", no
 * leading '/'). The caller frees *out with kpi_tz_free().
 */
err_t coll_tz_load(const char *name, kpi_tz_t **out, err_msg_t *msg) KPID_MUST_USE;

typedef enum coll_format {
    COLL_FMT_AUTO = 0, /* decided by the first non-blank byte: '[' JSON array,
                          '{' NDJSON (one object, or one per line), else CSV */
    COLL_FMT_JSON,     /* one object or an array of objects */
    COLL_FMT_NDJSON,
    COLL_FMT_CSV
} coll_format_t;

/* Maps a media type ("application/json", "application/x-ndjson",
   "text/csv", with or without parameters) or a file name extension
   (".json", ".ndjson", ".jsonl", ".csv") to a format; COLL_FMT_AUTO if neither matches. */
coll_format_t coll_format_from_media_type(const char *media_type);
coll_format_t coll_format_from_path(const char *path);

/* One rejected item. Strings are NUL-terminated and may be empty. */
typedef struct coll_error {
    size_t index;            /* item index, see above */
    size_t line;             /* 1-based line where the item starts; 0 if unknown */
    err_t code;              /* ERR_PARSE, ERR_MISSING_FIELD, ... */
    char id[KPI_ID_MAX + 1]; /* the item's id when it had a readable one */
    char field[64];          /* the offending field, "" when not about one field */
    char message[256];       /* one line, for people: "amount: 3 decimals, USD has 2" */
} coll_error_t;

/*
 * Callbacks. `ev` and `err` are borrowed: valid only during the call (copy
 * what you keep, e.g. with kpi_event_copy). Return ERR_OK to go on; any
 * other value stops the parser and is returned by coll_parser_feed/finish.
 */
typedef err_t (*coll_event_fn)(void *ctx, size_t index, size_t line, const kpi_event_t *ev);
typedef err_t (*coll_error_fn)(void *ctx, const coll_error_t *err);

typedef struct coll_parser coll_parser_t;

/*
 * New incremental parser. opts is copied (tz and base_currency must outlive
 * the parser). Free with coll_parser_free().
 */
err_t coll_parser_new(const coll_opts_t *opts, coll_format_t fmt, coll_event_fn on_event,
                      coll_error_fn on_error, void *ctx, coll_parser_t **out) KPID_MUST_USE;

/* Feed the next len bytes. Items completed by them are delivered before return. */
err_t coll_parser_feed(coll_parser_t *p, const char *buf, size_t len) KPID_MUST_USE;

/* End of input: delivers the last item (a final line without newline) and
   reports broken framing (unterminated array/quote) through on_error. */
err_t coll_parser_finish(coll_parser_t *p) KPID_MUST_USE;

/* Items seen so far (events + errors) and bytes consumed. */
size_t coll_parser_items(const coll_parser_t *p);
uint64_t coll_parser_bytes(const coll_parser_t *p);

/* NULL is a no-op. */
void coll_parser_free(coll_parser_t *p);

/*
 * Convenience for a whole buffer held in memory: parse it all. Same callbacks.
 */
err_t coll_parse_buffer(const coll_opts_t *opts, coll_format_t fmt, const char *buf, size_t len,
                        coll_event_fn on_event, coll_error_fn on_error, void *ctx) KPID_MUST_USE;

#endif
