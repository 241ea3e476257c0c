/*
 * coll_int.h — internals shared by the collector's sources.
 *
 * Every format ends in the same place: one JSON object per item, turned
 * into a kpi_event_t by coll_event_from_json(), so JSON, NDJSON and CSV
 * obey exactly the same field rules.
 */
#ifndef KPID_COLL_INT_H
#define KPID_COLL_INT_H

#include <jansson.h>

#include "coll.h"
#include "kpi_arena.h"

#define COLL_ITEM_MAX (1u << 20) /* bytes of one item (object, line, CSV row) */
/* Cells of one CSV row: an event has about 20 fields, unknown ones are
   capped at 64 KiB in all; the cap bounds a row's cell offsets. */
#define COLL_CSV_CELLS_MAX 4096u

/*
 * Validate one object into *ev (strings allocated in `arena`). On failure
 * returns the error code and fills err's code, field, message and, when it
 * was readable, id (index and line are the caller's).
 */
err_t coll_event_from_json(const coll_opts_t *o, json_t *obj, kpi_arena_t *arena, kpi_event_t *ev,
                           coll_error_t *err);

/*
 * The fast reader of a flat event object (coll_fastjson.c): a new object
 * (the caller owns it, json_decref) equal to what json_loadb would give, or
 * NULL when the input is not of the simple shape it reads (or not valid);
 * then the caller parses it with json_loadb, which also words the errors.
 */
json_t *coll_fast_object(const char *data, size_t len);

/* Incremental CSV: header row, then one object per data row. */
typedef struct coll_csv coll_csv_t;

/* Called per data row with its object (borrowed) or, for a broken row,
   NULL and a message. Returns non-OK to stop. */
typedef err_t (*coll_csv_row_fn)(void *ctx, size_t line, json_t *row, const char *problem);

err_t coll_csv_new(coll_csv_row_fn fn, void *ctx, coll_csv_t **out);
err_t coll_csv_feed(coll_csv_t *c, const char *buf, size_t len);
/* End of input: the last row without newline; an open quote is reported
   through fn as a broken row. */
err_t coll_csv_finish(coll_csv_t *c);
void coll_csv_free(coll_csv_t *c);

#endif
