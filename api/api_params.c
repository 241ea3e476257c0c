/*
 * api_params.c — query-parameter values to plain values (see api_params.h).
 *
 * Pure: no libmicrohttpd, store or clock. The messages are the ones the API
 * answers with, so a change here is a change of the HTTP contract.
 */
#include "api_params.h"

#include <stdio.h>
#include <string.h>

#include <stdlib.h>

#include "kpi_date.h"
#include "kpi_event.h"
#include "kpi_money.h"
#include "kpi_suggest.h"

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
    size_t len = 0, n = 0;
    for (int i = 0; words[i] != NULL; i++, n++) {
        if (strcmp(s, words[i]) == 0) {
            *out = i;
            return ERR_OK;
        }
        int w = snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", words[i]);
        if (w > 0 && (size_t)w < sizeof list - len)
            len += (size_t)w;
    }
    char hint[KPI_NAME_MAX + 24] = "";
    api_did_you_mean(s, words, n, hint, sizeof hint);
    return err_set(m, ERR_BAD_PARAM, "parameter '%s': '%s' is not one of: %s%s", name, s, list,
                   hint);
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

char *api_did_you_mean(const char *s, const char *const *words, size_t n, char *buf, size_t cap)
{
    const char *w = kpi_suggest(s, words, n);
    if (cap > 0)
        buf[0] = '\0';
    if (w != NULL && cap > 0)
        snprintf(buf, cap, " (did you mean '%s'?)", w);
    return buf;
}

/* ---- aging: sort, order, cursor ---------------------------------------- */

err_t api_param_aging_sort(const char *s, const char *group, const kpi_aging_t *shape,
                           api_aging_sort_t *out, err_msg_t *m)
{
    /* In a query string '+' decodes to a space: "-121+" arrives as "-121 "
       unless written %2B. Both mean the open-ended bucket. */
    char v[40];
    size_t n = strlen(s);
    if (n >= sizeof v)
        n = sizeof v - 1;
    memcpy(v, s, n);
    v[n] = '\0';
    if (n > 0 && v[n - 1] == ' ')
        v[n - 1] = '+';
    /* The accepted words: -overdue, -total, -<bucket label>..., the group. */
    char labels[KPI_BUCKETS_MAX][40];
    const char *words[KPI_BUCKETS_MAX + 3];
    size_t nw = 0;
    words[nw++] = "-overdue";
    words[nw++] = "-total";
    for (size_t i = 0; i < shape->n_buckets && i < KPI_BUCKETS_MAX; i++) {
        char lab[32];
        snprintf(labels[i], sizeof labels[i], "-%s",
                 kpi_bucket_label(&shape->buckets[i], lab, sizeof lab));
        words[nw++] = labels[i];
    }
    words[nw++] = group;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < nw; i++) {
        if (strcmp(v, words[i]) != 0)
            continue;
        out->kind = i == 0        ? API_SORT_OVERDUE
                    : i == 1      ? API_SORT_TOTAL
                    : i == nw - 1 ? API_SORT_KEY
                                  : API_SORT_BUCKET;
        out->bucket = out->kind == API_SORT_BUCKET ? i - 2 : 0;
        return ERR_OK;
    }
    char list[KPI_BUCKETS_MAX * 12 + 64], hint[64];
    kpi_suggest_list(words, nw, nw, list, sizeof list);
    api_did_you_mean(v, words, nw, hint, sizeof hint);
    return err_set(m, ERR_BAD_PARAM,
                   "parameter 'sort': '%s' is not one of: %s%s (largest first for the '-' "
                   "ones; write '+' as %%2B in a URL)",
                   s, list, hint);
}

int64_t api_aging_sort_value(const kpi_aging_t *a, const api_aging_sort_t *s)
{
    switch (s->kind) {
    case API_SORT_OVERDUE:
        /* Everything past due: the total less the `current` bucket. */
        return a->total_amount - (a->n_buckets > 0 ? a->buckets[0].amount : 0);
    case API_SORT_TOTAL: return a->total_amount;
    case API_SORT_BUCKET: return s->bucket < a->n_buckets ? a->buckets[s->bucket].amount : 0;
    case API_SORT_NONE:
    case API_SORT_KEY: break;
    }
    return 0;
}

typedef struct rank {
    int64_t v;
    const char *key;
    size_t i;
} rank_t;

static int rank_cmp(const void *pa, const void *pb)
{
    const rank_t *a = pa, *b = pb;
    if (a->v != b->v)
        return a->v > b->v ? -1 : 1; /* largest first */
    return strcmp(a->key, b->key);
}

/* Does (v, key) come strictly after the cursor's (cv, ckey)? */
static bool after(const api_aging_sort_t *s, int64_t v, const char *key, int64_t cv,
                  const char *ckey)
{
    if (s->kind != API_SORT_KEY && v != cv)
        return v < cv;
    return strcmp(key, ckey) > 0;
}

err_t api_aging_order(const kpi_aging_t *groups, const char *const *keys, size_t n,
                      const api_aging_sort_t *s, const api_aging_cursor_t *from, size_t *idx,
                      size_t *n_out)
{
    *n_out = 0;
    rank_t *r = malloc((n ? n : 1) * sizeof *r);
    if (r == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < n; i++) {
        r[i].v = s->kind == API_SORT_KEY || s->kind == API_SORT_NONE
                     ? 0
                     : api_aging_sort_value(&groups[i], s);
        r[i].key = keys[i];
        r[i].i = i;
    }
    if (n > 1)
        qsort(r, n, sizeof *r, rank_cmp);
    for (size_t i = 0; i < n; i++)
        if (from == NULL || after(s, r[i].v, r[i].key, from->value, from->key))
            idx[(*n_out)++] = r[i].i;
    free(r);
    return ERR_OK;
}

static const char hexd[] = "0123456789abcdef";

char *api_aging_cursor_make(const api_aging_sort_t *s, const kpi_aging_t *g, const char *key,
                            char *buf, size_t cap)
{
    char plain[API_AGING_CURSOR_BUF / 2];
    int n = snprintf(plain, sizeof plain, "%d:%zu:%lld:%s", (int)s->kind, s->bucket,
                     (long long)api_aging_sort_value(g, s), key);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof plain ? (size_t)n : sizeof plain - 1;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 2 < cap; i++) {
        buf[o++] = hexd[(unsigned char)plain[i] >> 4];
        buf[o++] = hexd[(unsigned char)plain[i] & 15];
    }
    if (cap > 0)
        buf[o] = '\0';
    return buf;
}

static int unhex1(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

err_t api_aging_cursor_parse(const char *c, const api_aging_sort_t *s, api_aging_cursor_t *out,
                             err_msg_t *m)
{
    size_t n = strlen(c);
    char plain[API_AGING_CURSOR_BUF / 2];
    bool ok = n > 0 && n % 2 == 0 && n / 2 < sizeof plain;
    for (size_t i = 0; ok && i < n / 2; i++) {
        int hi = unhex1(c[2 * i]), lo = unhex1(c[2 * i + 1]);
        ok = hi >= 0 && lo >= 0 && (hi || lo);
        plain[i] = (char)(hi * 16 + lo);
    }
    int kind = -1, used = 0;
    size_t bucket = 0;
    long long v = 0;
    if (ok) {
        plain[n / 2] = '\0';
        ok = sscanf(plain, "%d:%zu:%lld:%n", &kind, &bucket, &v, &used) == 3 && used > 0;
    }
    if (!ok || kind != (int)s->kind || bucket != s->bucket)
        return err_set(m, ERR_BAD_PARAM,
                       "parameter 'cursor' is not a next_cursor of this server for this sort");
    out->value = (int64_t)v;
    snprintf(out->key, sizeof out->key, "%s", plain + used);
    return ERR_OK;
}

err_t api_param_aging_page(const char *sort, const char *limit, const char *cursor,
                           const char *group, const char *groups_hint, const int32_t *edges,
                           size_t n_edges, api_aging_page_t *pg, err_msg_t *m)
{
    memset(pg, 0, sizeof *pg);
    pg->paged = sort != NULL || limit != NULL || cursor != NULL;
    pg->sort.kind = API_SORT_KEY;
    pg->sort_name = group;
    if (!pg->paged)
        return ERR_OK;
    if (group == NULL)
        return err_set(m, ERR_BAD_PARAM, "parameters 'sort', 'limit' and 'cursor' need %s",
                       groups_hint);
    kpi_aging_t shape;
    err_t e = kpi_aging_init(&shape, edges, n_edges);
    if (!e && sort != NULL)
        e = api_param_aging_sort(sort, group, &shape, &pg->sort, m);
    if (!e && sort != NULL) {
        /* The canonical name ("-121+" even when '+' arrived as a space). */
        char lab[32];
        switch (pg->sort.kind) {
        case API_SORT_OVERDUE: pg->sort_name = "-overdue"; break;
        case API_SORT_TOTAL: pg->sort_name = "-total"; break;
        case API_SORT_BUCKET:
            snprintf(pg->label, sizeof pg->label, "-%s",
                     kpi_bucket_label(&shape.buckets[pg->sort.bucket], lab, sizeof lab));
            pg->sort_name = pg->label;
            break;
        case API_SORT_NONE:
        case API_SORT_KEY: break;
        }
    }
    if (!e && limit != NULL)
        e = api_param_limit(limit, &pg->limit, m);
    if (!e && cursor != NULL && cursor[0] != '\0') {
        e = api_aging_cursor_parse(cursor, &pg->sort, &pg->from, m);
        pg->has_from = !e;
    }
    return e;
}
