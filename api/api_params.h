/*
 * api_params.h — the pure parsing of HTTP query-parameter values.
 *
 * The handlers (api_kpi.c, api_events.c) look a parameter up and hand its
 * value here; these functions only read the text and fill plain values, with
 * no libmicrohttpd, store or clock involved, so that the unit tests and the
 * fuzz target (tests/fuzz/fuzz_params.c) can drive them with any bytes.
 * Every value is a NUL-terminated string as libmicrohttpd decoded it.
 * Messages name the parameter and the value, one line, for the 400 answer.
 */
#ifndef KPID_API_PARAMS_H
#define KPID_API_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kpi.h"
#include "kpi_event.h"

/* Most aging bucket edges a request may give (the buckets are one more,
   plus `current`). */
#define API_EDGES_MAX (KPI_BUCKETS_MAX - 2)
/* Largest edge the syntax reads (kpi_aging_edges_check then allows 36500). */
#define API_EDGE_DAYS_MAX 100000
/* Range of GET /v1/events `limit`. */
#define API_LIMIT_MAX 10000

/* A date YYYY-MM-DD for parameter `name`. ERR_BAD_PARAM otherwise. */
err_t api_param_date(const char *name, const char *s, int32_t *day_out, err_msg_t *m) KPID_MUST_USE;

/* One of the NULL-terminated `words` (exact, case-sensitive): *out = its
   index. ERR_BAD_PARAM listing the words otherwise (*out unchanged). */
err_t api_param_word(const char *name, const char *s, const char *const *words, int *out,
                     err_msg_t *m) KPID_MUST_USE;

/* A name filter (business unit, party): 1 to KPI_NAME_MAX bytes. */
err_t api_param_name(const char *name, const char *s, err_msg_t *m) KPID_MUST_USE;

/*
 * Aging bucket edges "30,60,90,120": 1 to API_EDGES_MAX day counts, each
 * 1..API_EDGE_DAYS_MAX, strictly increasing, separated by single commas.
 * edges must hold API_EDGES_MAX values; *n receives how many were read.
 * ERR_BAD_PARAM otherwise (edges and *n then hold no meaning).
 */
err_t api_param_edges(const char *s, int32_t *edges, size_t *n, err_msg_t *m) KPID_MUST_USE;

/* GET /v1/events `limit`: a whole number 1..API_LIMIT_MAX, digits only. */
err_t api_param_limit(const char *s, size_t *out, err_msg_t *m) KPID_MUST_USE;

/* `atomic`, `strict`: true/1 or false/0. */
err_t api_param_bool(const char *name, const char *s, bool *out, err_msg_t *m) KPID_MUST_USE;

/*
 * The period parameters of the KPI series: `from`, `to` (dates, either may
 * be NULL: `to` defaults to `today`, `from` to the first day of the month
 * eleven months before `to`) and `interval` (NULL: month). The periods are
 * written to out (cap entries, caller-owned), *n their count. ERR_BAD_PARAM
 * naming the parameter when one is bad, `from` is after `to`, or there would
 * be more than cap periods.
 */
typedef struct api_periods {
    kpi_interval_t iv;
    int32_t from, to;
    size_t n;
} api_periods_t;

err_t api_param_periods(const char *from, const char *to, const char *interval, int32_t today,
                        kpi_period_t *out, size_t cap, api_periods_t *ps,
                        err_msg_t *m) KPID_MUST_USE;

/*
 * " (did you mean 'WORD'?)" into buf (cap bytes) when one of words[0..n)
 * is close to s (kpi_suggest), else "". Returns buf. Every refusal of a
 * name in the API appends it.
 */
char *api_did_you_mean(const char *s, const char *const *words, size_t n, char *buf, size_t cap);

/* ---- GET /v1/aging with group_by: sort, limit, cursor ------------------- */

typedef enum api_sort_kind {
    API_SORT_NONE = 0, /* no sort asked: the groups' name order */
    API_SORT_KEY,      /* by name (customer / business_unit) */
    API_SORT_OVERDUE,  /* -overdue: total less current, largest first */
    API_SORT_TOTAL,    /* -total: largest first */
    API_SORT_BUCKET,   /* -<label>: that bucket's amount, largest first */
} api_sort_kind_t;

typedef struct api_aging_sort {
    api_sort_kind_t kind;
    size_t bucket; /* API_SORT_BUCKET: index into the buckets */
} api_aging_sort_t;

/*
 * `sort`: -overdue, -total, -LABEL for each bucket of `shape` (-current,
 * -1-30, ..., -121+; a trailing space stands for '+', as a URL decodes an
 * unescaped '+') or `group` ("customer", "business_unit"). ERR_BAD_PARAM
 * listing them, with the closest one, otherwise.
 */
err_t api_param_aging_sort(const char *s, const char *group, const kpi_aging_t *shape,
                           api_aging_sort_t *out, err_msg_t *m) KPID_MUST_USE;

/* The value group `a` is sorted on (0 for API_SORT_KEY / NONE). */
int64_t api_aging_sort_value(const kpi_aging_t *a, const api_aging_sort_t *s);

/* Room for a cursor (hex of the sort, the value and a key). */
#define API_AGING_CURSOR_BUF (2 * (KPI_NAME_MAX + 64))

/* Where a page continues: after the group of this value and key. */
typedef struct api_aging_cursor {
    int64_t value;
    char key[KPI_NAME_MAX + 1];
} api_aging_cursor_t;

/*
 * idx (n entries, caller's) receives the indices of groups[0..n) (named
 * keys[]) in the order of s — the value largest first, then the key in
 * byte order; by key alone for API_SORT_KEY and API_SORT_NONE — leaving
 * out those up to `from` (NULL: none left out); *n_out their count.
 * The order is total (keys are distinct), so pages never skip or repeat a
 * group of an unchanged store. ERR_NOMEM.
 */
err_t api_aging_order(const kpi_aging_t *groups, const char *const *keys, size_t n,
                      const api_aging_sort_t *s, const api_aging_cursor_t *from, size_t *idx,
                      size_t *n_out) KPID_MUST_USE;

/* The opaque next_cursor after group g named key (lower-case hex). */
char *api_aging_cursor_make(const api_aging_sort_t *s, const kpi_aging_t *g, const char *key,
                            char *buf, size_t cap);

/* A cursor of api_aging_cursor_make for the same sort; ERR_BAD_PARAM otherwise. */
err_t api_aging_cursor_parse(const char *c, const api_aging_sort_t *s, api_aging_cursor_t *out,
                             err_msg_t *m) KPID_MUST_USE;

/* sort, limit and cursor of a grouped aging (/v1/aging, /v1/payables/aging). */
typedef struct api_aging_page {
    bool paged; /* any of the three was given */
    api_aging_sort_t sort;
    const char *sort_name; /* canonical: "-overdue", "-121+", or the group's name */
    char label[40];        /* sort_name of a bucket sort */
    size_t limit;          /* 0: no limit */
    bool has_from;
    api_aging_cursor_t from;
} api_aging_page_t;

/*
 * Parse the three parameters (each NULL when absent) of an aging grouped
 * by `group` ("customer", "vendor", "business_unit"; NULL when not grouped,
 * which any of them refuses, naming `groups_hint`, "group_by=customer or
 * group_by=business_unit") with buckets of `edges`. Without any, the
 * groups come by name. ERR_BAD_PARAM with a message otherwise.
 */
err_t api_param_aging_page(const char *sort, const char *limit, const char *cursor,
                           const char *group, const char *groups_hint, const int32_t *edges,
                           size_t n_edges, api_aging_page_t *pg, err_msg_t *m) KPID_MUST_USE;

#endif
