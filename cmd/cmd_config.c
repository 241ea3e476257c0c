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

#include "coll.h"
#include "kpi_money.h"

void cmd_config_default(cmd_config_t *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "%s", "./kpid-data");
    snprintf(cfg->listen, sizeof cfg->listen, "%s", "127.0.0.1:8080");
    snprintf(cfg->time_zone, sizeof cfg->time_zone, "%s", "UTC");
    snprintf(cfg->base_currency, sizeof cfg->base_currency, "%s", "USD");
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
                e = err_set(msg, ERR_CONFIG, "config key 'base_currency': '%s' is not an ISO 4217 code",
                            cfg->base_currency);
        } else if (strcmp(key, "threads") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > 256)
                e = err_set(msg, ERR_CONFIG, "config key 'threads' must be an integer 0..256");
            else
                cfg->threads = (unsigned)json_integer_value(v);
        } else if (strcmp(key, "max_body_bytes") == 0) {
            if (!json_is_integer(v) || json_integer_value(v) < 1024)
                e = err_set(msg, ERR_CONFIG, "config key 'max_body_bytes' must be an integer >= 1024");
            else
                cfg->max_body_bytes = (uint64_t)json_integer_value(v);
        } else {
            e = err_set(msg, ERR_CONFIG,
                        "config %s: unknown key '%s' (known: data_dir, listen, time_zone, "
                        "base_currency, threads, max_body_bytes)",
                        path, key);
        }
        if (e)
            goto out;
    }
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
    };
    e = store_open(&so, store, msg);
    if (e) {
        kpi_tz_free(*tz);
        *tz = NULL;
    }
    return e;
}
