/*
 * api_prom.c — the Prometheus text exposition writer (format 0.0.4).
 *
 * What must stay true of the output (Prometheus and promtool rely on it):
 *   - every family is one contiguous group: HELP, TYPE, then its samples;
 *   - label values escape backslash, double quote and newline (\\ \" \n);
 *     HELP text escapes backslash and newline;
 *   - histogram buckets are cumulative, end with le="+Inf", and _count
 *     equals the +Inf bucket.
 * Numbers are written from integers (counts, nanoseconds) or from decimal
 * strings made from exact minor units, so nothing is rounded here.
 */
#include "api_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api_metrics.h"

static void add_escaped(api_buf_t *b, const char *s, bool quote)
{
    const char *run = s;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        if (*p == '\\')
            rep = "\\\\";
        else if (*p == '\n')
            rep = "\\n";
        else if (quote && *p == '"')
            rep = "\\\"";
        if (rep == NULL)
            continue;
        api_buf_add(b, run, (size_t)(p - run));
        api_buf_str(b, rep);
        run = p + 1;
    }
    api_buf_str(b, run);
}

void api_prom_label_value(api_buf_t *b, const char *value)
{
    add_escaped(b, value, true);
}

void api_prom_family(api_buf_t *b, const char *name, const char *type, const char *help)
{
    api_buf_str(b, "# HELP ");
    api_buf_str(b, name);
    api_buf_str(b, " ");
    add_escaped(b, help, false);
    api_buf_str(b, "\n# TYPE ");
    api_buf_str(b, name);
    api_buf_str(b, " ");
    api_buf_str(b, type);
    api_buf_str(b, "\n");
}

/* name{labels[,extra="v"]} — extra may be NULL. */
static void series(api_buf_t *b, const char *name, const char *suffix,
                   const api_prom_label_t *labels, size_t n, const char *extra_name,
                   const char *extra_value)
{
    api_buf_str(b, name);
    api_buf_str(b, suffix);
    bool open = false;
    for (size_t i = 0; i <= n; i++) {
        const char *ln = i < n ? labels[i].name : extra_name;
        const char *lv = i < n ? labels[i].value : extra_value;
        if (ln == NULL || lv == NULL)
            continue;
        api_buf_str(b, open ? "," : "{");
        open = true;
        api_buf_str(b, ln);
        api_buf_str(b, "=\"");
        api_prom_label_value(b, lv);
        api_buf_str(b, "\"");
    }
    if (open)
        api_buf_str(b, "}");
}

void api_prom_sample(api_buf_t *b, const char *name, const api_prom_label_t *labels, size_t n,
                     const char *value)
{
    series(b, name, "", labels, n, NULL, NULL);
    api_buf_str(b, " ");
    api_buf_str(b, value);
    api_buf_str(b, "\n");
}

void api_prom_sample_u64(api_buf_t *b, const char *name, const api_prom_label_t *labels, size_t n,
                         uint64_t value)
{
    char v[24];
    snprintf(v, sizeof v, "%" PRIu64, value);
    api_prom_sample(b, name, labels, n, v);
}

const char *api_prom_seconds(uint64_t ns, char *buf)
{
    int len = snprintf(buf, API_PROM_SECONDS_BUF, "%" PRIu64 ".%09" PRIu64, ns / 1000000000u,
                       ns % 1000000000u);
    /* Trim the fraction's trailing zeros, and the point when nothing is left. */
    while (len > 0 && buf[len - 1] == '0')
        buf[--len] = '\0';
    if (len > 0 && buf[len - 1] == '.')
        buf[--len] = '\0';
    return buf;
}

void api_prom_histogram(api_buf_t *b, const char *name, const api_prom_label_t *labels, size_t n,
                        const uint64_t *bounds_ns, size_t n_bounds, const uint64_t *counts,
                        uint64_t sum_ns)
{
    char le[API_PROM_SECONDS_BUF], v[24];
    uint64_t cum = 0;
    for (size_t i = 0; i <= n_bounds; i++) {
        cum += counts[i];
        const char *bound = i < n_bounds ? api_prom_seconds(bounds_ns[i], le) : "+Inf";
        series(b, name, "_bucket", labels, n, "le", bound);
        snprintf(v, sizeof v, " %" PRIu64 "\n", cum);
        api_buf_str(b, v);
    }
    series(b, name, "_sum", labels, n, NULL, NULL);
    api_buf_str(b, " ");
    api_buf_str(b, api_prom_seconds(sum_ns, le));
    api_buf_str(b, "\n");
    series(b, name, "_count", labels, n, NULL, NULL);
    snprintf(v, sizeof v, " %" PRIu64 "\n", cum);
    api_buf_str(b, v);
}
