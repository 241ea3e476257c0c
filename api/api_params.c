/*
 * api_params.c — query-parameter values to plain values (see api_params.h).
 *
 * Pure: no libmicrohttpd, store or clock. The messages are the ones the API
 * answers with, so a change here is a change of the HTTP contract.
 */
#include "api_params.h"

#include <stdio.h>
#include <string.h>

#include "kpi_date.h"
#include "kpi_event.h"

err_t api_param_date(const char *name, const char *s, int32_t *day_out, err_msg_t *m)
{
    if (kpi_date_parse(s, strlen(s), day_out) != ERR_OK)
        return err_set(m, ERR_BAD_PARAM, "parameter '%s': '%s' is not a date (YYYY-MM-DD)", name,
                       s);
    return ERR_OK;
}

err_t api_param_word(const char *name, const char *s, const char *const *words, int *out,
                     err_msg_t *m)
{
    char list[160] = "";
    size_t len = 0;
    for (int i = 0; words[i] != NULL; i++) {
        if (strcmp(s, words[i]) == 0) {
            *out = i;
            return ERR_OK;
        }
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", words[i]);
        if (w > 0 && (size_t)w < sizeof list - len)
            len += (size_t)w;
    }
    return err_set(m, ERR_BAD_PARAM, "parameter '%s': '%s' is not one of: %s", name, s, list);
}

err_t api_param_name(const char *name, const char *s, err_msg_t *m)
{
    if (s[0] == '\0' || strlen(s) > KPI_NAME_MAX)
        return err_set(m, ERR_BAD_PARAM, "parameter '%s' must be 1 to %d bytes", name,
                       KPI_NAME_MAX);
    return ERR_OK;
}

err_t api_param_edges(const char *s, int32_t *edges, size_t *n, err_msg_t *m)
{
    *n = 0;
    const char *p = s;
    for (;;) {
        int64_t v = 0;
        const char *d = p;
        /* Stop accumulating past the cap: the value is refused anyway and
           v stays far from overflow whatever the number of digits. */
        while (*p >= '0' && *p <= '9' && v < 1000000)
            v = v * 10 + (*p++ - '0');
        if (p == d || (*p != ',' && *p != '\0') || v > API_EDGE_DAYS_MAX || *n >= API_EDGES_MAX)
            return err_set(m, ERR_BAD_PARAM,
                           "parameter 'buckets': '%s' must be up to %d increasing day counts "
                           "separated by commas, e.g. 30,60,90,120",
                           s, API_EDGES_MAX);
        edges[(*n)++] = (int32_t)v;
        if (*p == '\0')
            break;
        p++;
    }
    if (kpi_aging_edges_check(edges, *n) != ERR_OK)
        return err_set(m, ERR_BAD_PARAM,
                       "parameter 'buckets': '%s' must be strictly increasing day counts "
                       "from 1 to 36500",
                       s);
    return ERR_OK;
}

err_t api_param_limit(const char *s, size_t *out, err_msg_t *m)
{
    size_t v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9' && v <= API_LIMIT_MAX)
        v = v * 10 + (size_t)(*p++ - '0');
    if (p == s || *p != '\0' || v < 1 || v > API_LIMIT_MAX)
        return err_set(m, ERR_BAD_PARAM, "parameter 'limit' must be a whole number from 1 to %d",
                       API_LIMIT_MAX);
    *out = v;
    return ERR_OK;
}

err_t api_param_bool(const char *name, const char *s, bool *out, err_msg_t *m)
{
    if (strcmp(s, "true") == 0 || strcmp(s, "1") == 0) {
        *out = true;
        return ERR_OK;
    }
    if (strcmp(s, "false") == 0 || strcmp(s, "0") == 0) {
        *out = false;
        return ERR_OK;
    }
    return err_set(m, ERR_BAD_PARAM, "parameter '%s' must be true or false", name);
}

err_t api_param_periods(const char *from, const char *to, const char *interval, int32_t today,
                        kpi_period_t *out, size_t cap, api_periods_t *ps, err_msg_t *m)
{
    static const char *const ivs[] = {"day", "week", "month", "quarter", NULL};
    int iv = KPI_IV_MONTH;
    err_t e = interval ? api_param_word("interval", interval, ivs, &iv, m) : ERR_OK;
    if (e)
        return e;
    ps->iv = (kpi_interval_t)iv;
    ps->n = 0;
    ps->to = today;
    e = to ? api_param_date("to", to, &ps->to, m) : ERR_OK;
    if (e)
        return e;
    ps->from = kpi_unit_start(KPI_IV_MONTH, kpi_add_months(ps->to, -11));
    e = from ? api_param_date("from", from, &ps->from, m) : ERR_OK;
    if (e)
        return e;
    if (ps->from > ps->to)
        return err_set(m, ERR_BAD_PARAM, "parameter 'from' must not be after 'to'");
    e = kpi_periods(ps->from, ps->to, ps->iv, out, cap, &ps->n);
    if (e == ERR_TOO_LARGE)
        return err_set(m, ERR_BAD_PARAM,
                       "parameters 'from'/'to'/'interval': %zu periods, at most %zu per request",
                       ps->n, cap);
    return e ? err_set(m, e, "bad period") : ERR_OK;
}
