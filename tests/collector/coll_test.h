/*
 * coll_test.h — what the collector tests share: a sink that records every
 * event (deep-copied) and every error the parser delivers.
 */
#ifndef KPID_COLL_TEST_H
#define KPID_COLL_TEST_H

#include <string.h>

#include "coll.h"
#include "kpi_arena.h"
#include "test.h"

#define SINK_MAX 64

typedef struct sink {
    kpi_arena_t *arena;
    size_t n_ev, n_err;
    kpi_event_t ev[SINK_MAX];
    size_t ev_index[SINK_MAX], ev_line[SINK_MAX];
    coll_error_t err[SINK_MAX];
    err_t stop_with; /* returned by on_event when set */
} sink_t;

static inline void sink_init(sink_t *s)
{
    memset(s, 0, sizeof *s);
    REQUIRE(kpi_arena_new(16u << 20, &s->arena) == ERR_OK);
}

static inline void sink_free(sink_t *s)
{
    kpi_arena_free(s->arena);
}

static inline err_t sink_event(void *ctx, size_t index, size_t line, const kpi_event_t *ev)
{
    sink_t *s = ctx;
    if (s->stop_with)
        return s->stop_with;
    if (s->n_ev < SINK_MAX) {
        REQUIRE(kpi_event_copy(s->arena, ev, &s->ev[s->n_ev]) == ERR_OK);
        s->ev_index[s->n_ev] = index;
        s->ev_line[s->n_ev] = line;
    }
    s->n_ev++;
    return ERR_OK;
}

static inline err_t sink_error(void *ctx, const coll_error_t *err)
{
    sink_t *s = ctx;
    if (s->n_err < SINK_MAX)
        s->err[s->n_err] = *err;
    s->n_err++;
    return ERR_OK;
}

static kpi_tz_t *test_utc;

static inline coll_opts_t test_opts(void)
{
    if (test_utc == NULL)
        REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    coll_opts_t o = {test_utc, "USD"};
    return o;
}

/* Parse a whole buffer into s. */
static inline err_t sink_parse(sink_t *s, coll_format_t fmt, const char *text)
{
    coll_opts_t o = test_opts();
    return coll_parse_buffer(&o, fmt, text, strlen(text), sink_event, sink_error, s);
}

#endif
