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

#endif
