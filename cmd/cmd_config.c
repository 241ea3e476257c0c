/*
 * cmd_config.c — the configuration file and the pieces every subcommand
 * shares (listen address parsing, opening the store in the right zone).
 *
 * The file is JSON. Unknown keys are refused rather than ignored: a typo
 * ("time_zon") must not silently fall back to a default that changes every
 * KPI's day boundaries.
 */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd_mail.h"
#include "cmd_nats.h"
#include "cmd_sched.h"
#include "coll.h"
#include "kpi_date.h"
#include "kpi_event.h"
#include "kpi_money.h"

void cmd_config_default(cmd_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", "./kpid-data");
    snprintf(cfg->listen, sizeof cfg->listen, "%s", "127.0.0.1:8080");
    snprintf(cfg->time_zone, sizeof cfg->time_zone, "%s", "UTC");
    snprintf(cfg->base_currency, sizeof cfg->base_currency, "%s", "USD");
    static const int32_t edges[] = {30, 60, 90, 120};
    memcpy(cfg->aging_edges, edges, sizeof edges);
    cfg->n_aging_edges = 4;
    cfg->n_slas = kpi_sla_defaults(cfg->slas, KPI_SLAS_MAX);
    cfg->weekend_mask = 0x60;
    cfg->sla_goal_bp = 9500;
    cfg->ftq_goal_bp = 9500;
    cfg->response_cache_mb = 64;
    cfg->writer_nice = 5;
    cfg->fx_stale_days = 7;
    coll_nats_conf_default(&cfg->nats);
}

/* A percentage 0 < p <= 100 with at most two decimals, as basis points. */
static err_t get_goal(json_t *v, const char *name, int32_t *bp, err_msg_t *msg)
{
    double p = json_is_number(v) ? json_number_value(v) : -1.0;
    double hundredths = p * 100.0;
    long long r = (long long)(hundredths + 0.5);
    if (!(p > 0.0 && p <= 100.0) || (double)r - hundredths > 1e-6 || hundredths - (double)r > 1e-6)
        return err_set(msg, ERR_CONFIG,
                       "config key 'dashboard_goals': '%s' must be a percentage above 0 and at "
                       "most 100, with at most two decimals (e.g. 95 or 97.5)",
                       name);
    *bp = (int32_t)r;
    return ERR_OK;
}

static err_t get_goals(json_t *v, cmd_config_t *cfg, err_msg_t *msg)
{
    if (!json_is_object(v))
        return err_set(msg, ERR_CONFIG,
                       "config key 'dashboard_goals' must be an object, e.g. "
                       "{\"sla\": 95, \"ftq\": 97.5}");
    const char *k;
    json_t *g;
    json_object_foreach(v, k, g)
    {
        err_t e;
        if (strcmp(k, "sla") == 0)
            e = get_goal(g, k, &cfg->sla_goal_bp, msg);
        else if (strcmp(k, "ftq") == 0)
            e = get_goal(g, k, &cfg->ftq_goal_bp, msg);
        else
            e = err_set(msg, ERR_CONFIG,
                        "config key 'dashboard_goals': unknown key '%s' (known: sla, ftq)", k);
        if (e)
            return e;
    }
    return ERR_OK;
}

static err_t get_edges(json_t *v, cmd_config_t *cfg, err_msg_t *msg)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (n == 0 || n > KPI_BUCKETS_MAX - 2)
        return err_set(msg, ERR_CONFIG,
                       "config key 'aging_buckets' must be an array of 1 to %d day counts, "
                       "e.g. [30, 60, 90, 120]",
                       KPI_BUCKETS_MAX - 2);
    int32_t edges[KPI_BUCKETS_MAX];
    for (size_t i = 0; i < n; i++) {
        json_t *x = json_array_get(v, i);
        if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 100000)
            return err_set(msg, ERR_CONFIG,
                           "config key 'aging_buckets': item %zu must be a day count 1..100000", i);
        edges[i] = (int32_t)json_integer_value(x);
    }
    if (kpi_aging_edges_check(edges, n) != ERR_OK)
        return err_set(msg, ERR_CONFIG, "config key 'aging_buckets' must be strictly increasing");
    memcpy(cfg->aging_edges, edges, n * sizeof *edges);
    cfg->n_aging_edges = n;
    return ERR_OK;
}

static err_t get_weekend(json_t *v, cmd_config_t *cfg, err_msg_t *msg)
{
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    if (!json_is_array(v))
        return err_set(
            msg, ERR_CONFIG,
            "config key 'weekend' must be an array of day names, e.g. [\"sat\", \"sun\"]");
    uint8_t mask = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *d = json_string_value(json_array_get(v, i));
        size_t k = 0;
        while (k < 7 && (d == NULL || strcmp(d, days[k]) != 0))
            k++;
        if (k == 7)
            return err_set(msg, ERR_CONFIG,
                           "config key 'weekend': item %zu must be one of mon, tue, wed, thu, "
                           "fri, sat, sun",
                           i);
        mask |= (uint8_t)(1u << k);
    }
    if (mask == 0x7f)
        return err_set(msg, ERR_CONFIG, "config key 'weekend' leaves no business day");
    cfg->weekend_mask = mask;
    return ERR_OK;
}

static int cmp_day(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static err_t get_holidays(json_t *v, cmd_config_t *cfg, err_msg_t *msg)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (!json_is_array(v) || n > CMD_HOLIDAYS_MAX)
        return err_set(msg, ERR_CONFIG,
                       "config key 'holidays' must be an array of at most %d dates "
                       "(\"YYYY-MM-DD\")",
                       CMD_HOLIDAYS_MAX);
    for (size_t i = 0; i < n; i++) {
        const char *d = json_string_value(json_array_get(v, i));
        if (d == NULL || kpi_date_parse(d, strlen(d), &cfg->holidays[i]) != ERR_OK)
            return err_set(msg, ERR_CONFIG,
                           "config key 'holidays': item %zu must be a date \"YYYY-MM-DD\"", i);
    }
    qsort(cfg->holidays, n, sizeof *cfg->holidays, cmp_day);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (u == 0 || cfg->holidays[u - 1] != cfg->holidays[i])
            cfg->holidays[u++] = cfg->holidays[i];
    cfg->n_holidays = u;
    return ERR_OK;
}

/* An SLA point: an event type, or the derived points billing_due / fully_applied. */
static err_t sla_point(json_t *v, const char *name, const char *which, bool start, uint8_t *point,
                       int *type, err_msg_t *msg)
{
    const char *s = json_string_value(v);
    if (s == NULL)
        return err_set(msg, ERR_CONFIG, "config SLA '%s': '%s' must be an event type", name, which);
    kpi_ev_type_t t;
    if (start && strcmp(s, "billing_due") == 0) {
        *point = KPI_SLA_POINT_BILLING_DUE;
        *type = KPI_EV_INVOICE_ISSUED;
        return ERR_OK;
    }
    if (!start && strcmp(s, "fully_applied") == 0) {
        *point = KPI_SLA_POINT_FULLY_APPLIED;
        *type = KPI_EV_PAYMENT_APPLIED;
        return ERR_OK;
    }
    if (kpi_ev_type_parse(s, strlen(s), &t) != ERR_OK)
        return err_set(msg, ERR_CONFIG, "config SLA '%s': '%s' is '%s', not an event type%s", name,
                       which, s, start ? " or billing_due" : " or fully_applied");
    *point = KPI_SLA_POINT_EVENT;
    *type = (int)t;
    return ERR_OK;
}

static err_t get_sla(const char *name, json_t *v, kpi_sla_def_t *d, err_msg_t *msg)
{
    if (strlen(name) == 0 || strlen(name) >= KPI_SLA_NAME_MAX)
        return err_set(msg, ERR_CONFIG, "config 'slas': a name must be 1 to %d bytes",
                       KPI_SLA_NAME_MAX - 1);
    if (!json_is_object(v))
        return err_set(msg, ERR_CONFIG,
                       "config SLA '%s' must be an object {\"start\", \"stop\", \"target\"} "
                       "or null to remove it",
                       name);
    memset(d, 0, sizeof *d);
    snprintf(d->name, sizeof d->name, "%s", name);
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x)
    {
        if (strcmp(key, "start") != 0 && strcmp(key, "stop") != 0 && strcmp(key, "target") != 0)
            return err_set(msg, ERR_CONFIG,
                           "config SLA '%s': unknown key '%s' (known: start, stop, target)", name,
                           key);
    }
    err_t e = sla_point(json_object_get(v, "start"), name, "start", true, &d->start_point,
                        &d->start_type, msg);
    if (!e)
        e = sla_point(json_object_get(v, "stop"), name, "stop", false, &d->stop_point,
                      &d->stop_type, msg);
    if (e)
        return e;
    kpi_doc_kind_t k1 = d->start_point == KPI_SLA_POINT_BILLING_DUE
                            ? KPI_DOC_INVOICE
                            : kpi_ev_doc_kind((kpi_ev_type_t)d->start_type);
    kpi_doc_kind_t k2 = d->stop_point == KPI_SLA_POINT_FULLY_APPLIED
                            ? KPI_DOC_PAYMENT
                            : kpi_ev_doc_kind((kpi_ev_type_t)d->stop_type);
    if (k1 == KPI_DOC_NONE || k1 != k2)
        return err_set(msg, ERR_CONFIG,
                       "config SLA '%s': start and stop must be events on the same document", name);
    json_t *t = json_object_get(v, "target");
    static const char *const units[] = {"hours", "business_days", "days"};
    if (!json_is_object(t) || json_object_size(t) != 1)
        return err_set(msg, ERR_CONFIG,
                       "config SLA '%s': 'target' must be one of {\"hours\": N}, "
                       "{\"business_days\": N}, {\"days\": N}",
                       name);
    for (int u = 0; u < 3; u++) {
        json_t *n = json_object_get(t, units[u]);
        if (n == NULL)
            continue;
        if (!json_is_integer(n) || json_integer_value(n) < 0 || json_integer_value(n) > 100000)
            return err_set(msg, ERR_CONFIG, "config SLA '%s': target %s must be 0..100000", name,
                           units[u]);
        d->target.unit = (kpi_sla_unit_t)u;
        d->target.amount = (int32_t)json_integer_value(n);
        return ERR_OK;
    }
    return err_set(msg, ERR_CONFIG,
                   "config SLA '%s': 'target' must be one of hours, business_days, days", name);
}

/* "slas": entries replace the built-in of the same name, add new ones, or
   (null) remove a built-in. */
static err_t get_slas(json_t *v, cmd_config_t *cfg, err_msg_t *msg)
{
    if (!json_is_object(v))
        return err_set(msg, ERR_CONFIG, "config key 'slas' must be an object of named SLAs");
    const char *name;
    json_t *x;
    json_object_foreach(v, name, x)
    {
        size_t at = cfg->n_slas;
        for (size_t i = 0; i < cfg->n_slas; i++)
            if (strcmp(cfg->slas[i].name, name) == 0)
                at = i;
        if (json_is_null(x)) {
            if (at == cfg->n_slas)
                return err_set(msg, ERR_CONFIG, "config 'slas': no SLA '%s' to remove", name);
            memmove(&cfg->slas[at], &cfg->slas[at + 1],
                    (cfg->n_slas - at - 1) * sizeof cfg->slas[0]);
            cfg->n_slas--;
            continue;
        }
        if (at == cfg->n_slas && cfg->n_slas == KPI_SLAS_MAX)
            return err_set(msg, ERR_CONFIG, "config 'slas': at most %d SLAs", KPI_SLAS_MAX);
        kpi_sla_def_t d;
        err_t e = get_sla(name, x, &d, msg);
        if (e)
            return e;
        cfg->slas[at] = d;
        if (at == cfg->n_slas)
            cfg->n_slas++;
    }
    return ERR_OK;
}

static err_t get_string(json_t *v, const char *key, char *dst, size_t cap, err_msg_t *msg)
{
    if (!json_is_string(v))
        return err_set(msg, ERR_CONFIG, "config key '%s' must be a string", key);
    const char *s = json_string_value(v);
    if (strlen(s) >= cap || s[0] == '\0')
        return err_set(msg, ERR_CONFIG, "config key '%s' must be 1 to %zu characters", key,
                       cap - 1);
    snprintf(dst, cap, "%s", s);
    return ERR_OK;
}

static err_t get_keys(json_t *v, cmd_config_t *cfg, err_msg_t *msg)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (!json_is_array(v) || n > API_KEYS_MAX)
        return err_set(msg, ERR_CONFIG,
                       "config key 'api_keys' must be an array of at most %d keys (manage it "
                       "with 'kpid key add|list|revoke')",
                       API_KEYS_MAX);
    for (size_t i = 0; i < n; i++) {
        err_t e = api_key_from_json(json_array_get(v, i), i, &cfg->keys[i], msg);
        if (e)
            return e;
        for (size_t j = 0; j < i; j++)
            if (strcmp(cfg->keys[j].name, cfg->keys[i].name) == 0)
                return err_set(msg, ERR_CONFIG, "config 'api_keys': the name '%s' is used twice",
                               cfg->keys[i].name);
    }
    cfg->n_keys = n;
    return ERR_OK;
}

static err_t get_tls(json_t *v, cmd_config_t *cfg, err_msg_t *msg)
{
    const char *k;
    json_t *x;
    if (!json_is_object(v))
        return err_set(msg, ERR_CONFIG,
                       "config key 'tls' must be {\"cert\": PEM_FILE, \"key\": PEM_FILE}");
    json_object_foreach(v, k, x)
    {
        if (strcmp(k, "cert") != 0 && strcmp(k, "key") != 0)
            return err_set(msg, ERR_CONFIG, "config 'tls': unknown key '%s' (known: cert, key)", k);
    }
    json_t *c = json_object_get(v, "cert"), *p = json_object_get(v, "key");
    if (c == NULL || p == NULL)
        return err_set(msg, ERR_CONFIG, "config 'tls' needs both \"cert\" and \"key\"");
    err_t e = get_string(c, "tls.cert", cfg->tls_cert, sizeof cfg->tls_cert, msg);
    return e ? e : get_string(p, "tls.key", cfg->tls_key, sizeof cfg->tls_key, msg);
}

/* An integer config key in [lo, hi]. */
static err_t get_uint(json_t *v, const char *key, uint64_t lo, uint64_t hi, uint64_t *out,
                      err_msg_t *msg)
{
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
        (uint64_t)json_integer_value(v) > hi)
        return err_set(msg, ERR_CONFIG, "config key '%s' must be an integer %llu..%llu", key,
                       (unsigned long long)lo, (unsigned long long)hi);
    *out = (uint64_t)json_integer_value(v);
    return ERR_OK;
}

/* The limits of docs/security.md: name, range, where it goes. */
static err_t get_limit(const char *key, json_t *v, cmd_config_t *cfg, bool *matched, err_msg_t *msg)
{
    struct {
        const char *name;
        uint64_t lo, hi;
        unsigned *u;
        uint64_t *u64;
    } limits[] = {
        {"max_batch_events", 1, 100000000, NULL, &cfg->max_batch_events},
        {"max_connections", 1, 100000, &cfg->max_connections, NULL},
        {"connection_timeout_s", 1, 86400, &cfg->connection_timeout_s, NULL},
        {"request_timeout_s", 1, 86400, &cfg->request_timeout_s, NULL},
        {"max_connections_per_ip", 1, 100000, &cfg->max_connections_per_ip, NULL},
        {"header_timeout_s", 1, 86400, &cfg->header_timeout_s, NULL},
        {"min_body_rate", 1, 1u << 30, &cfg->min_body_rate, NULL},
        {"rate_window_s", 1, 3600, &cfg->rate_window_s, NULL},
        {"ingest_queue", 1, 1024, &cfg->ingest_queue, NULL},
        {"response_cache_mb", 0, 65536, &cfg->response_cache_mb, NULL},
        {"writer_nice", 0, 19, &cfg->writer_nice, NULL},
        {"session_ttl_s", 1, 30 * 86400, &cfg->session_ttl_s, NULL},
        {"session_idle_s", 1, 30 * 86400, &cfg->session_idle_s, NULL},
    };
    *matched = false;
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        if (strcmp(key, limits[i].name) != 0)
            continue;
        *matched = true;
        uint64_t x = 0;
        err_t e = get_uint(v, key, limits[i].lo, limits[i].hi, &x, msg);
        if (e)
            return e;
        if (limits[i].u != NULL)
            *limits[i].u = (unsigned)x;
        else
            *limits[i].u64 = x;
        return ERR_OK;
    }
    return ERR_OK;
}

err_t cmd_config_load(const char *path, cmd_config_t *cfg, err_msg_t *msg)
{
    json_error_t jerr;
    json_t *root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        if (jerr.line <= 0)
            return err_set(msg, ERR_IO, "cannot read config %s: %s", path, jerr.text);
        return err_set(msg, ERR_CONFIG, "config %s:%d:%d: %s", path, jerr.line, jerr.column,
                       jerr.text);
    }
    err_t e = ERR_OK;
    if (!json_is_object(root)) {
        e = err_set(msg, ERR_CONFIG, "config %s must hold a JSON object", path);
        goto out;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        if (strcmp(key, "data_dir") == 0) {
            e = get_string(v, key, cfg->data_dir, sizeof cfg->data_dir, msg);
        } else if (strcmp(key, "listen") == 0) {
            e = get_string(v, key, cfg->listen, sizeof cfg->listen, msg);
        } else if (strcmp(key, "time_zone") == 0) {
            e = get_string(v, key, cfg->time_zone, sizeof cfg->time_zone, msg);
        } else if (strcmp(key, "base_currency") == 0) {
            e = get_string(v, key, cfg->base_currency, sizeof cfg->base_currency, msg);
            int digits;
            if (!e && kpi_currency_digits(cfg->base_currency, &digits) != ERR_OK)
                e = err_set(msg, ERR_CONFIG,
                            "config key 'base_currency': '%s' is not an ISO 4217 code",
                            cfg->base_currency);
        } else if (strcmp(key, "threads") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 256)
                e = err_set(msg, ERR_CONFIG, "config key 'threads' must be an integer 0..256");
            else
                cfg->threads = (unsigned)json_integer_value(v);
        } else if (strcmp(key, "max_body_bytes") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1024)
                e = err_set(msg, ERR_CONFIG,
                            "config key 'max_body_bytes' must be an integer >= 1024");
            else
                cfg->max_body_bytes = (uint64_t)json_integer_value(v);
        } else if (strcmp(key, "aging_buckets") == 0) {
            e = get_edges(v, cfg, msg);
        } else if (strcmp(key, "weekend") == 0) {
            e = get_weekend(v, cfg, msg);
        } else if (strcmp(key, "holidays") == 0) {
            e = get_holidays(v, cfg, msg);
        } else if (strcmp(key, "slas") == 0) {
            e = get_slas(v, cfg, msg);
        } else if (strcmp(key, "reports_dir") == 0) {
            e = get_string(v, key, cfg->reports_dir, sizeof cfg->reports_dir, msg);
        } else if (strcmp(key, "schedules") == 0) {
            e = cmd_sched_config(v, cfg, msg);
        } else if (strcmp(key, "smtp") == 0) {
            e = cmd_smtp_config(v, cfg, msg);
        } else if (strcmp(key, "nats") == 0) {
            e = cmd_nats_config(v, &cfg->nats, msg);
            cfg->have_nats = e == ERR_OK;
        } else if (strcmp(key, "dashboard_goals") == 0) {
            e = get_goals(v, cfg, msg);
        } else if (strcmp(key, "api_keys") == 0) {
            e = get_keys(v, cfg, msg);
        } else if (strcmp(key, "tls") == 0) {
            e = get_tls(v, cfg, msg);
        } else if (strcmp(key, "fx_stale_days") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < -1 || json_integer_value(v) > 36600)
                e = err_set(msg, ERR_CONFIG,
                            "config key 'fx_stale_days' must be an integer -1..36600 (-1: a rate "
                            "never goes stale)");
            else
                cfg->fx_stale_days = (int)json_integer_value(v);
        } else if (strcmp(key, "fx_stale") == 0) {
            const char *w = json_string_value(v);
            if (w == NULL || (strcmp(w, "use") != 0 && strcmp(w, "refuse") != 0))
                e = err_set(msg, ERR_CONFIG, "config key 'fx_stale' must be \"use\" or \"refuse\"");
            else
                cfg->fx_refuse_stale = strcmp(w, "refuse") == 0;
        } else {
            bool limit = false;
            e = get_limit(key, v, cfg, &limit, msg);
            if (!e && !limit)
                e = err_set(
                    msg, ERR_CONFIG,
                    "config %s: unknown key '%s' (known: data_dir, listen, time_zone, "
                    "base_currency, threads, max_body_bytes, aging_buckets, weekend, "
                    "holidays, slas, reports_dir, schedules, smtp, nats, dashboard_goals, "
                    "api_keys, "
                    "tls, "
                    " max_batch_events, max_connections, "
                    "connection_timeout_s, request_timeout_s, max_connections_per_ip, "
                    "header_timeout_s, min_body_rate, rate_window_s, ingest_queue, "
                    "response_cache_mb, writer_nice, fx_stale_days, fx_stale, session_ttl_s, "
                    "session_idle_s)",
                    path, key);
        }
        if (e)
            goto out;
    }
    e = cmd_mail_check(cfg, msg);
out:
    json_decref(root);
    return e;
}

err_t cmd_parse_listen(const char *s, char *host, size_t hostcap, uint16_t *port, err_msg_t *msg)
{
    const char *colon;
    const char *h = s;
    size_t hlen;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return err_set(msg, ERR_BAD_PARAM, "listen address '%s': expected [IPv6]:PORT", s);
        h = s + 1;
        hlen = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (colon == NULL)
            return err_set(msg, ERR_BAD_PARAM, "listen address '%s': expected HOST:PORT", s);
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0 || hlen >= hostcap)
        return err_set(msg, ERR_BAD_PARAM, "listen address '%s': bad host", s);
    char *end = NULL;
    errno = 0;
    unsigned long p = strtoul(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || errno != 0 || p > 65535)
        return err_set(msg, ERR_BAD_PARAM, "listen address '%s': port must be 0..65535", s);
    memcpy(host, h, hlen);
    host[hlen] = '\0';
    if (strcmp(host, "localhost") == 0)
        snprintf(host, hostcap, "%s", "127.0.0.1");
    *port = (uint16_t)p;
    return ERR_OK;
}

err_t cmd_open_store(const cmd_config_t *cfg, bool read_only, kpi_tz_t **tz, store_t **store,
                     err_msg_t *msg)
{
    return cmd_open_store_ex(cfg, read_only, false, tz, store, msg);
}

err_t cmd_open_store_ex(const cmd_config_t *cfg, bool read_only, bool rebuild, kpi_tz_t **tz,
                        store_t **store, err_msg_t *msg)
{
    *tz = NULL;
    *store = NULL;
    err_t e = coll_tz_load(cfg->time_zone, tz, msg);
    if (e)
        return e;
    store_opts_t so = {
        .dir = cfg->data_dir,
        .tz = *tz,
        .base_currency = cfg->base_currency,
        .read_only = read_only,
        .slas = cfg->slas,
        .n_slas = cfg->n_slas,
        .cal = {cfg->weekend_mask, cfg->holidays, cfg->n_holidays},
        .rebuild = rebuild,
    };
    e = store_open(&so, store, msg);
    if (e) {
        kpi_tz_free(*tz);
        *tz = NULL;
    }
    return e;
}

bool cmd_config_resolve(cmd_config_t *cfg, const char *prog, const char *config_path,
                        const char *data_dir)
{
    if (config_path != NULL) {
        err_msg_t msg = {{0}};
        err_t e = cmd_config_load(config_path, cfg, &msg);
        if (e) {
            fprintf(stderr, "kpid %s: %s\n", prog, err_msg_or(&msg, e));
            return false;
        }
    }
    if (data_dir != NULL)
        snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", data_dir);
    return true;
}
