/*
 * cmd_nats.c — the "nats" config block and `kpid serve --nats`: connect,
 * start the consumer that applies the stream to this node's store, catch
 * up, and hand the HTTP server its publish/position hooks (api.h
 * api_stream_t) wired to the NATS client (collector/coll_nats.h).
 *
 * Config (docs/operations.md, "Many nodes"):
 *   "nats": {"url": "nats://a:4222,nats://b:4222", "stream": "KPID",
 *            "subject": "kpid.events", "durable": "kpid-node-a",
 *            "credentials": "/etc/kpid/nats.creds",
 *            "tls": {"ca": PEM, "cert": PEM, "key": PEM},
 *            "max_lag": 10000, "replicas": 3, "duplicate_window_s": 120}
 * Every key but url is optional; unknown keys are refused, like the rest
 * of the file.
 */
#include "cmd_nats.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#define NATS_KEYS                                                                                  \
    "url, stream, subject, durable, credentials, tls, max_lag, replicas, duplicate_window_s"

static err_t nats_str(json_t *o, const char *key, char *dst, size_t cap, err_msg_t *msg)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return ERR_OK;
    const char *s = json_string_value(v);
    if (s == NULL || s[0] == '\0' || strlen(s) >= cap)
        return err_set(msg, ERR_CONFIG,
                       "config 'nats': key '%s' must be a string of 1 to %zu bytes", key, cap - 1);
    snprintf(dst, cap, "%s", s);
    return ERR_OK;
}

static err_t nats_uint(json_t *o, const char *key, uint64_t lo, uint64_t hi, uint64_t *dst,
                       err_msg_t *msg)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return ERR_OK;
    if (!json_is_integer(v) || json_integer_value(v) < (json_int_t)lo ||
        (uint64_t)json_integer_value(v) > hi)
        return err_set(msg, ERR_CONFIG, "config 'nats': key '%s' must be an integer %llu..%llu",
                       key, (unsigned long long)lo, (unsigned long long)hi);
    *dst = (uint64_t)json_integer_value(v);
    return ERR_OK;
}

static err_t nats_tls(json_t *v, coll_nats_conf_t *c, err_msg_t *msg)
{
    if (v == NULL)
        return ERR_OK;
    if (!json_is_object(v))
        return err_set(msg, ERR_CONFIG,
                       "config 'nats': key 'tls' must be {\"ca\": PEM_FILE[, \"cert\": PEM_FILE, "
                       "\"key\": PEM_FILE]}");
    const char *k;
    json_t *x;
    json_object_foreach(v, k, x)
    {
        if (strcmp(k, "ca") != 0 && strcmp(k, "cert") != 0 && strcmp(k, "key") != 0)
            return err_set(msg, ERR_CONFIG,
                           "config 'nats.tls': unknown key '%s' (known: ca, cert, key)", k);
    }
    err_t e = nats_str(v, "ca", c->tls_ca, sizeof c->tls_ca, msg);
    if (!e)
        e = nats_str(v, "cert", c->tls_cert, sizeof c->tls_cert, msg);
    if (!e)
        e = nats_str(v, "key", c->tls_key, sizeof c->tls_key, msg);
    if (!e && c->tls_ca[0] == '\0')
        e = err_set(msg, ERR_CONFIG, "config 'nats.tls' needs \"ca\" (the servers' CA bundle)");
    if (!e && (c->tls_cert[0] != '\0') != (c->tls_key[0] != '\0'))
        e = err_set(msg, ERR_CONFIG, "config 'nats.tls': 'cert' and 'key' go together");
    return e;
}

err_t cmd_nats_check_url(const char *url, err_msg_t *msg)
{
    /* Each comma-separated server: nats:// or tls://, then something. */
    const char *p = url;
    if (url[0] == '\0')
        return err_set(msg, ERR_CONFIG, "the NATS url is empty (nats://HOST:PORT)");
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        bool ok =
            (n > 7 && strncmp(p, "nats://", 7) == 0) || (n > 6 && strncmp(p, "tls://", 6) == 0);
        for (size_t i = 0; ok && i < n; i++)
            ok = p[i] > ' ' && p[i] < 0x7f;
        if (!ok)
            return err_set(msg, ERR_CONFIG,
                           "NATS url '%.200s': each server must be nats://HOST:PORT or "
                           "tls://HOST:PORT, comma-separated",
                           url);
        p += n;
        if (*p != ',')
            continue;
        p++;
        if (*p == '\0') /* "a," names an empty server */
            return err_set(msg, ERR_CONFIG, "NATS url '%.200s' ends with a comma", url);
    }
    return ERR_OK;
}

err_t cmd_nats_config(json_t *v, coll_nats_conf_t *c, err_msg_t *msg)
{
    if (!json_is_object(v))
        return err_set(msg, ERR_CONFIG, "config key 'nats' must be an object with keys " NATS_KEYS);
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x)
    {
        char pat[80];
        int n = snprintf(pat, sizeof pat, ", %s,", key);
        if (n < 0 || (size_t)n >= sizeof pat || strstr(", " NATS_KEYS ",", pat) == NULL)
            return err_set(msg, ERR_CONFIG,
                           "config 'nats': unknown key '%s' (known: " NATS_KEYS ")", key);
    }
    coll_nats_conf_t t = *c;
    err_t e = nats_str(v, "url", t.url, sizeof t.url, msg);
    if (!e && t.url[0] == '\0')
        e = err_set(msg, ERR_CONFIG, "config 'nats': key 'url' is required (nats://HOST:PORT)");
    if (!e)
        e = cmd_nats_check_url(t.url, msg);
    if (!e)
        e = nats_str(v, "stream", t.stream, sizeof t.stream, msg);
    if (!e && !coll_nats_name_ok(t.stream))
        e = err_set(msg, ERR_CONFIG,
                    "config 'nats': 'stream' must be 1 to 63 letters, digits, '-' or '_', not "
                    "'%s'",
                    t.stream);
    if (!e)
        e = nats_str(v, "subject", t.subject, sizeof t.subject, msg);
    if (!e && !coll_nats_subject_ok(t.subject))
        e = err_set(msg, ERR_CONFIG,
                    "config 'nats': 'subject' must be dot-separated tokens without spaces or "
                    "wildcards, e.g. kpid.events, not '%s'",
                    t.subject);
    if (!e)
        e = nats_str(v, "durable", t.durable, sizeof t.durable, msg);
    if (!e && t.durable[0] != '\0' && !coll_nats_name_ok(t.durable))
        e = err_set(msg, ERR_CONFIG,
                    "config 'nats': 'durable' must be 1 to 63 letters, digits, '-' or '_', not "
                    "'%s'",
                    t.durable);
    if (!e)
        e = nats_str(v, "credentials", t.creds, sizeof t.creds, msg);
    if (!e)
        e = nats_tls(json_object_get(v, "tls"), &t, msg);
    uint64_t lag = t.max_lag, rep = t.replicas, win = t.duplicate_window_s;
    if (!e)
        e = nats_uint(v, "max_lag", 0, UINT64_C(1) << 40, &lag, msg);
    if (!e)
        e = nats_uint(v, "replicas", 1, 5, &rep, msg);
    if (!e)
        e = nats_uint(v, "duplicate_window_s", 1, 7 * 86400, &win, msg);
    if (e)
        return e;
    t.max_lag = lag;
    t.replicas = (unsigned)rep;
    t.duplicate_window_s = (unsigned)win;
    *c = t;
    return ERR_OK;
}

/* ---- serve ------------------------------------------------------------------ */

static err_t hook_publish(void *ctx, const api_stream_msg_t *msgs, size_t n, size_t *stored,
                          size_t *duplicates, err_msg_t *msg)
{
    /* api_stream_msg_t and coll_nats_item_t are the same three fields. */
    coll_nats_item_t *items = malloc((n ? n : 1) * sizeof *items);
    if (items == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        items[i] = (coll_nats_item_t){msgs[i].msg_id, msgs[i].data, msgs[i].len};
    coll_nats_pub_stats_t st;
    err_t e = coll_nats_publish(ctx, items, n, 10000, &st, msg);
    free(items);
    *stored = st.stored;
    *duplicates = st.duplicates;
    return e;
}

static void hook_position(void *ctx, api_stream_pos_t *out)
{
    coll_nats_status_t s;
    coll_nats_get_status(ctx, &s);
    *out = (api_stream_pos_t){.connected = s.connected,
                              .stream_seq = s.stream_seq,
                              .applied_seq = s.applied_seq,
                              .lag = s.lag,
                              .messages = s.messages,
                              .skipped = s.skipped,
                              .rejected = s.rejected,
                              .publish_failed = s.publish_failed};
}

void cmd_nats_durable(cmd_config_t *cfg)
{
    if (cfg->nats.durable[0] != '\0')
        return;
    char host[256] = "";
    if (gethostname(host, sizeof host) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    char real[PATH_MAX];
    const char *dir = realpath(cfg->data_dir, real) != NULL ? real : cfg->data_dir;
    coll_nats_durable_default(host, dir, cfg->nats.durable);
}

err_t cmd_nats_start(cmd_config_t *cfg, store_t *store, const coll_opts_t *parse, FILE *log,
                     coll_nats_t **out, api_stream_t *hooks, err_msg_t *msg)
{
    *out = NULL;
    cmd_nats_durable(cfg);
    coll_nats_t *n = NULL;
    err_t e = coll_nats_open(&cfg->nats, log, &n, msg);
    if (!e)
        e = coll_nats_consume_start(n, store, parse, msg);
    if (e) {
        coll_nats_close(n);
        return e;
    }
    /* Catch up before serving: a new node on an empty directory answers
       only once it holds what the stream held when it started. */
    cmd_progress_t pr;
    cmd_progress_start(&pr, "kpid: catching up with the stream", isatty(2) ? stderr : NULL);
    err_msg_t cm = {{0}};
    err_t ce = coll_nats_catch_up(n, 24u * 3600 * 1000, cmd_progress_update, &pr, &cm);
    coll_nats_status_t st;
    coll_nats_get_status(n, &st);
    if (ce)
        fprintf(log, "kpid: nats: %s\n", err_msg_or(&cm, ce));
    else
        fprintf(log, "kpid: nats: caught up: stream sequence %llu applied (consumer %s)\n",
                (unsigned long long)st.applied_seq, cfg->nats.durable);
    fflush(log);
    *hooks = (api_stream_t){
        .publish = hook_publish, .position = hook_position, .ctx = n, .max_lag = cfg->nats.max_lag};
    *out = n;
    return ERR_OK;
}
