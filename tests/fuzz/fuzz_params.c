/*
 * fuzz_params.c — libFuzzer target for the API's query-parameter parsing
 * (api_params.h), the part of every GET that reads untrusted text.
 *
 * The input is read as a query string already decoded by libmicrohttpd:
 * "name=value" pairs separated by '&'. Each value goes to the parser of its
 * name (an unknown name: to every parser), and the period parameters found
 * (from, to, interval) build the series periods. Properties:
 *   - an error is ERR_BAD_PARAM with a one-line, non-empty message;
 *   - accepted bucket edges are 1..API_EDGES_MAX strictly increasing values
 *     in 1..API_EDGE_DAYS_MAX; an accepted limit is 1..API_LIMIT_MAX and is
 *     what strtoul reads from the text;
 *   - accepted periods tile [from, to] with no gap or overlap, each inside
 *     one calendar unit, never more than the cap;
 *   - an accepted aging sort names a bucket of the shape; an accepted
 *     cursor's key is a terminated string within KPI_NAME_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api_params.h"
#include "coll.h"
#include "fuzz_util.h"
#include "kpi.h"
#include "kpi_date.h"

#define PERIODS_CAP 1000

static void check_err(err_t e, const err_msg_t *m)
{
    if (e == ERR_OK)
        return;
    FUZZ_CHECK(e == ERR_BAD_PARAM, "code %s", err_code(e));
    FUZZ_CHECK(m->text[0] != '\0' && fuzz_one_line(m->text), "message '%s'", m->text);
}

static const char *const words_interval[] = {"day", "week", "month", "quarter", NULL};
static const char *const words_basis[] = {"due_date", "invoice_date", NULL};
static const char *const words_group[] = {"none", "business_unit", "customer", NULL};
static const char *const words_format[] = {"json", "csv", NULL};
static const char *const words_kind[] = {"invoice", "bill", NULL};

static void try_edges(const char *v)
{
    int32_t edges[API_EDGES_MAX];
    size_t n = 0;
    err_msg_t m = {{0}};
    err_t e = api_param_edges(v, edges, &n, &m);
    check_err(e, &m);
    if (e != ERR_OK)
        return;
    FUZZ_CHECK(n >= 1 && n <= API_EDGES_MAX, "%zu edges", n);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(edges[i] >= 1 && edges[i] <= API_EDGE_DAYS_MAX, "edge %d", edges[i]);
        FUZZ_CHECK(i == 0 || edges[i] > edges[i - 1], "edges not increasing");
    }
    kpi_aging_t ag;
    FUZZ_CHECK(kpi_aging_init(&ag, edges, n) == ERR_OK, "accepted edges refused by kpi");
}

static void try_limit(const char *v)
{
    size_t lim = 0;
    err_msg_t m = {{0}};
    err_t e = api_param_limit(v, &lim, &m);
    check_err(e, &m);
    char *end = NULL;
    unsigned long ref = strtoul(v, &end, 10);
    int ref_ok = v[0] >= '0' && v[0] <= '9' && *end == '\0' && ref >= 1 && ref <= API_LIMIT_MAX;
    FUZZ_CHECK((e == ERR_OK) == ref_ok, "limit '%s': %s, strtoul reads %lu", v, err_code(e), ref);
    FUZZ_CHECK(e != ERR_OK || lim == ref, "limit '%s' read as %zu", v, lim);
}

static void try_sort_cursor(const char *v)
{
    static const int32_t def[] = {30, 60, 90, 120};
    kpi_aging_t shape;
    FUZZ_CHECK(kpi_aging_init(&shape, def, 4) == ERR_OK, "default edges");
    api_aging_sort_t s;
    err_msg_t m = {{0}};
    err_t e = api_param_aging_sort(v, "customer", &shape, &s, &m);
    check_err(e, &m);
    FUZZ_CHECK(e != ERR_OK || s.kind != API_SORT_BUCKET || s.bucket < shape.n_buckets, "bucket %zu",
               s.bucket);
    api_aging_cursor_t c;
    api_aging_sort_t by = {API_SORT_OVERDUE, 0};
    e = api_aging_cursor_parse(v, &by, &c, &m);
    check_err(e, &m);
    FUZZ_CHECK(e != ERR_OK || strlen(c.key) <= KPI_NAME_MAX, "cursor key too long");
}

static void try_all(const char *name, const char *v)
{
    err_msg_t m = {{0}};
    int32_t day;
    int w = -1;
    bool b;
    check_err(api_param_date(name, v, &day, &m), &m);
    err_t e = api_param_word(name, v, words_interval, &w, &m);
    check_err(e, &m);
    FUZZ_CHECK(e != ERR_OK || strcmp(words_interval[w], v) == 0, "word %d for '%s'", w, v);
    check_err(api_param_word(name, v, words_basis, &w, &m), &m);
    check_err(api_param_word(name, v, words_group, &w, &m), &m);
    check_err(api_param_word(name, v, words_format, &w, &m), &m);
    check_err(api_param_word(name, v, words_kind, &w, &m), &m);
    check_err(api_param_name(name, v, &m), &m);
    check_err(api_param_bool(name, v, &b, &m), &m);
    (void)coll_format_from_media_type(v);
    (void)coll_format_from_path(v);
    try_edges(v);
    try_limit(v);
    try_sort_cursor(v);
}

static void try_periods(const char *from, const char *to, const char *iv, int32_t today)
{
    static kpi_period_t p[PERIODS_CAP];
    api_periods_t ps;
    err_msg_t m = {{0}};
    err_t e = api_param_periods(from, to, iv, today, p, PERIODS_CAP, &ps, &m);
    check_err(e, &m);
    if (e != ERR_OK)
        return;
    FUZZ_CHECK(ps.n >= 1 && ps.n <= PERIODS_CAP, "%zu periods", ps.n);
    FUZZ_CHECK(p[0].start == ps.from && p[ps.n - 1].end == ps.to, "periods do not span from..to");
    for (size_t i = 0; i < ps.n; i++) {
        FUZZ_CHECK(p[i].start <= p[i].end, "period %zu reversed", i);
        FUZZ_CHECK(i == 0 || p[i].start == p[i - 1].end + 1, "gap or overlap at %zu", i);
        FUZZ_CHECK(kpi_unit_start(ps.iv, p[i].end) <= p[i].start, "period %zu spans units", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *q = malloc(size + 1);
    if (q == NULL)
        return 0;
    memcpy(q, data, size);
    q[size] = '\0';
    const char *from = NULL, *to = NULL, *iv = NULL;
    uint64_t h = 0x811c9dc5u;
    fuzz_hash(&h, data, size);
    /* "today" within the supported years, from the input. */
    int32_t lo = kpi_days_from_civil(KPI_YEAR_MIN, 1, 1), hi = kpi_days_from_civil(9000, 1, 1);
    int32_t today = lo + (int32_t)(h % (uint64_t)(hi - lo));
    char *save = q;
    while (save != NULL) {
        char *pair = save;
        char *amp = strchr(save, '&');
        save = amp ? amp + 1 : NULL;
        if (amp)
            *amp = '\0';
        char *eq = strchr(pair, '=');
        const char *v = eq ? eq + 1 : "";
        if (eq)
            *eq = '\0';
        err_msg_t m = {{0}};
        int32_t day;
        int w;
        bool b;
        if (strcmp(pair, "from") == 0 || strcmp(pair, "to") == 0 || strcmp(pair, "as_of") == 0) {
            check_err(api_param_date(pair, v, &day, &m), &m);
            if (pair[0] == 'f')
                from = v;
            else if (pair[0] == 't')
                to = v;
        } else if (strcmp(pair, "interval") == 0) {
            check_err(api_param_word(pair, v, words_interval, &w, &m), &m);
            iv = v;
        } else if (strcmp(pair, "basis") == 0) {
            check_err(api_param_word(pair, v, words_basis, &w, &m), &m);
        } else if (strcmp(pair, "group_by") == 0) {
            check_err(api_param_word(pair, v, words_group, &w, &m), &m);
        } else if (strcmp(pair, "business_unit") == 0 || strcmp(pair, "customer") == 0) {
            check_err(api_param_name(pair, v, &m), &m);
        } else if (strcmp(pair, "buckets") == 0) {
            try_edges(v);
        } else if (strcmp(pair, "limit") == 0) {
            try_limit(v);
        } else if (strcmp(pair, "atomic") == 0 || strcmp(pair, "strict") == 0) {
            check_err(api_param_bool(pair, v, &b, &m), &m);
        } else {
            try_all(pair, v);
        }
    }
    try_periods(from, to, iv, today);
    free(q);
    return 0;
}
