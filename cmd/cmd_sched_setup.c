/*
 * cmd_sched_setup.c — the "schedules" config key and the scheduler's
 * lifecycle in `kpid serve` (see cmd_sched.h).
 *
 * Config errors name the schedule and the key, so a user with ten
 * schedules sees which one is wrong: "config schedule 'monthly-sla': key
 * 'cron': field 2 (hour): 24 is out of range 0-23".
 */
#include "cmd_sched.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cmd_mail.h"
#include "kpi_money.h"
#include "store_kpi.h"

const char *const cmd_sched_kinds[CMD_SCHED_N_KINDS] = {"sla",     "aging",    "dso", "ftq",
                                                        "summary", "payables", "xlsx"};

#define KINDS_LIST "sla, aging, dso, ftq, summary, payables, xlsx"
#define KEYS_LIST "name, cron, kinds, business_units, period, currency, output_dir, keep, mail_to"
#define KEEP_MAX 100000

int cmd_sched_kind_index(const char *kind)
{
    for (int i = 0; i < CMD_SCHED_N_KINDS; i++)
        if (strcmp(kind, cmd_sched_kinds[i]) == 0)
            return i;
    return -1;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n >= RPT_SCHED_NAME_MAX)
        return false;
    for (const char *p = s; *p; p++) {
        char c = *p;
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return false;
    }
    return s[0] != '.';
}

static err_t get_kinds(const char *who, json_t *v, rpt_sched_job_t *j, err_msg_t *msg)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (n == 0)
        return err_set(
            msg, ERR_CONFIG,
            "config %s: key 'kinds' must be a non-empty array of report kinds (" KINDS_LIST ")",
            who);
    if (n > RPT_SCHED_KINDS_MAX)
        return err_set(msg, ERR_CONFIG, "config %s: key 'kinds' lists more than %d kinds", who,
                       RPT_SCHED_KINDS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *k = json_array_get(v, i);
        if (!json_is_string(k))
            return err_set(msg, ERR_CONFIG,
                           "config %s: key 'kinds': item %zu is not a string (" KINDS_LIST ")", who,
                           i);
        if (cmd_sched_kind_index(json_string_value(k)) < 0)
            return err_set(msg, ERR_CONFIG,
                           "config %s: key 'kinds': '%.40s' is not a report kind (" KINDS_LIST ")",
                           who, json_string_value(k));
        for (size_t p = 0; p < i; p++)
            if (strcmp(j->kinds[p], json_string_value(k)) == 0)
                return err_set(msg, ERR_CONFIG, "config %s: key 'kinds': '%s' is listed twice", who,
                               j->kinds[p]);
        snprintf(j->kinds[i], sizeof j->kinds[i], "%s", json_string_value(k));
    }
    j->n_kinds = n;
    return ERR_OK;
}

static err_t get_units(const char *who, json_t *v, rpt_sched_job_t *j, err_msg_t *msg)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (n == 0 || n > RPT_SCHED_UNITS_MAX)
        return err_set(msg, ERR_CONFIG,
                       "config %s: key 'business_units' must be an array of 1 to %d unit names, "
                       "or [\"*\"] for every unit separately (omit it for the whole book)",
                       who, RPT_SCHED_UNITS_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *u = json_array_get(v, i);
        const char *s = json_is_string(u) ? json_string_value(u) : "";
        if (s[0] == '\0' || strlen(s) >= RPT_SCHED_UNIT_MAX)
            return err_set(msg, ERR_CONFIG,
                           "config %s: key 'business_units': item %zu must be a name of 1 to %d "
                           "bytes",
                           who, i, RPT_SCHED_UNIT_MAX - 1);
        if (strcmp(s, "*") == 0 && n > 1)
            return err_set(msg, ERR_CONFIG,
                           "config %s: key 'business_units': \"*\" (every unit separately) "
                           "cannot be combined with named units",
                           who);
        for (size_t p = 0; p < i; p++)
            if (strcmp(j->units[p], s) == 0)
                return err_set(msg, ERR_CONFIG,
                               "config %s: key 'business_units': '%s' is listed twice", who, s);
        snprintf(j->units[i], sizeof j->units[i], "%s", s);
    }
    j->n_units = n;
    return ERR_OK;
}

/* "mail_to": 1..16 addresses, each e-mailed every report of the schedule. */
static err_t get_mail_to(const char *who, json_t *v, rpt_sched_job_t *j, err_msg_t *msg)
{
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (n == 0 || n > RPT_SCHED_MAIL_MAX)
        return err_set(msg, ERR_CONFIG,
                       "config %s: key 'mail_to' must be an array of 1 to %d e-mail addresses", who,
                       RPT_SCHED_MAIL_MAX);
    for (size_t i = 0; i < n; i++) {
        json_t *a = json_array_get(v, i);
        const char *s = json_is_string(a) ? json_string_value(a) : "";
        if (!rpt_mail_addr_ok(s))
            return err_set(msg, ERR_CONFIG,
                           "config %s: key 'mail_to': item %zu ('%.80s') is not an e-mail address "
                           "(local@domain)",
                           who, i, s);
        snprintf(j->mail_to[i], sizeof j->mail_to[i], "%s", s);
    }
    j->n_mail_to = n;
    return ERR_OK;
}

static err_t get_str(const char *who, json_t *obj, const char *key, bool required, char *dst,
                     size_t cap, err_msg_t *msg)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL) {
        if (required)
            return err_set(msg, ERR_CONFIG, "config %s: key '%s' is required", who, key);
        return ERR_OK;
    }
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
        return err_set(msg, ERR_CONFIG, "config %s: key '%s' must be a string of 1 to %zu bytes",
                       who, key, cap - 1);
    snprintf(dst, cap, "%s", json_string_value(v));
    return ERR_OK;
}

static err_t get_schedule(size_t idx, json_t *o, const cmd_config_t *cfg, rpt_sched_job_t *j,
                          err_msg_t *msg)
{
    char who[RPT_SCHED_NAME_MAX + 32];
    snprintf(who, sizeof who, "schedules[%zu]", idx);
    if (!json_is_object(o))
        return err_set(msg, ERR_CONFIG, "config %s must be an object with keys " KEYS_LIST, who);
    memset(j, 0, sizeof *j);
    json_t *name = json_object_get(o, "name");
    if (name == NULL)
        return err_set(msg, ERR_CONFIG, "config %s: key 'name' is required", who);
    if (!json_is_string(name) || !name_ok(json_string_value(name)))
        return err_set(msg, ERR_CONFIG,
                       "config %s: key 'name' must be 1 to %d letters, digits, '.', '_' or '-' "
                       "(not starting with '.')",
                       who, RPT_SCHED_NAME_MAX - 1);
    snprintf(j->name, sizeof j->name, "%s", json_string_value(name));
    snprintf(who, sizeof who, "schedule '%s'", j->name);
    for (size_t i = 0; i < cfg->n_schedules; i++)
        if (strcmp(cfg->schedules[i].name, j->name) == 0)
            return err_set(msg, ERR_CONFIG, "config %s: the name is used by two schedules", who);

    const char *key;
    json_t *v;
    json_object_foreach(o, key, v)
    {
        static const char *const known[] = {"name",           "cron",   "kinds",
                                            "business_units", "period", "currency",
                                            "output_dir",     "keep",   "mail_to"};
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof known[0]; k++)
            ok = ok || strcmp(key, known[k]) == 0;
        if (!ok)
            return err_set(msg, ERR_CONFIG, "config %s: unknown key '%s' (known: " KEYS_LIST ")",
                           who, key);
    }

    err_msg_t m = {{0}};
    err_t e = get_str(who, o, "cron", true, j->cron_expr, sizeof j->cron_expr, msg);
    if (e)
        return e;
    if (rpt_cron_parse(j->cron_expr, &j->cron, &m) != ERR_OK)
        return err_set(msg, ERR_CONFIG, "config %s: key 'cron': %s", who, m.text);

    v = json_object_get(o, "kinds");
    if (v == NULL)
        return err_set(msg, ERR_CONFIG,
                       "config %s: key 'kinds' is required (an array of " KINDS_LIST ")", who);
    e = get_kinds(who, v, j, msg);
    if (e)
        return e;

    v = json_object_get(o, "business_units");
    if (v != NULL) {
        e = get_units(who, v, j, msg);
        if (e)
            return e;
    }

    char period[32] = "";
    e = get_str(who, o, "period", true, period, sizeof period, msg);
    if (e)
        return e;
    if (rpt_rule_parse(period, &j->period, &m) != ERR_OK)
        return err_set(msg, ERR_CONFIG, "config %s: key 'period': %s", who, m.text);

    e = get_str(who, o, "currency", false, j->currency, sizeof j->currency, msg);
    int digits;
    if (!e && j->currency[0] != '\0' && kpi_currency_digits(j->currency, &digits) != ERR_OK)
        e = err_set(msg, ERR_CONFIG, "config %s: key 'currency': '%s' is not an ISO 4217 code", who,
                    j->currency);
    if (e)
        return e;
    e = get_str(who, o, "output_dir", false, j->output_dir, sizeof j->output_dir, msg);
    if (e)
        return e;

    v = json_object_get(o, "keep");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > KEEP_MAX)
            return err_set(msg, ERR_CONFIG,
                           "config %s: key 'keep' must be an integer 1..%d (runs whose reports "
                           "are kept; omit it to keep them all)",
                           who, KEEP_MAX);
        j->keep = (uint32_t)json_integer_value(v);
    }
    v = json_object_get(o, "mail_to");
    if (v != NULL)
        return get_mail_to(who, v, j, msg);
    return ERR_OK;
}

err_t cmd_sched_config(json_t *v, cmd_config_t *cfg, err_msg_t *msg)
{
    if (!json_is_array(v))
        return err_set(msg, ERR_CONFIG, "config key 'schedules' must be an array of schedules");
    if (json_array_size(v) > RPT_SCHED_MAX)
        return err_set(msg, ERR_CONFIG, "config key 'schedules': at most %d schedules",
                       RPT_SCHED_MAX);
    cfg->n_schedules = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        err_t e = get_schedule(i, json_array_get(v, i), cfg, &cfg->schedules[i], msg);
        if (e)
            return e;
        cfg->n_schedules++;
    }
    return ERR_OK;
}

/* ---- the scheduler in `kpid serve` ----------------------------------------- */

struct cmd_sched {
    cmd_sched_ctx_t ctx;
    rpt_sched_t *sched;
};

static int64_t wall_clock(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

typedef struct units_acc {
    char (*out)[RPT_SCHED_UNIT_MAX];
    size_t cap, n;
    err_msg_t *msg;
} units_acc_t;

static err_t add_unit(void *ctx, const char *name)
{
    units_acc_t *a = ctx;
    if (a->n == a->cap)
        return err_set(a->msg, ERR_TOO_LARGE, "more than %zu business units", a->cap);
    if (strlen(name) >= RPT_SCHED_UNIT_MAX)
        return err_set(a->msg, ERR_TOO_LARGE, "business unit name longer than %d bytes",
                       RPT_SCHED_UNIT_MAX - 1);
    snprintf(a->out[a->n++], RPT_SCHED_UNIT_MAX, "%s", name);
    return ERR_OK;
}

/* rpt_sched_units_fn: the units with flows in the currency, from a snapshot. */
static err_t list_units(void *ctx, const char *currency, char (*out)[RPT_SCHED_UNIT_MAX],
                        size_t cap, size_t *n, err_msg_t *msg)
{
    const cmd_sched_ctx_t *c = ctx;
    store_snap_t *snap = NULL;
    err_t e = store_snap_begin(c->store, &snap);
    if (e)
        return err_set(msg, e, "cannot read the store: %s", err_str(e));
    units_acc_t acc = {out, cap, 0, msg};
    e = store_business_units(snap, currency[0] ? currency : c->base_currency, add_unit, &acc);
    store_snap_end(snap);
    *n = acc.n;
    return e;
}

err_t cmd_sched_start(const cmd_config_t *cfg, store_t *store, const kpi_tz_t *tz,
                      rpt_mailq_t *mailq, FILE *log, cmd_sched_t **out, err_msg_t *msg)
{
    *out = NULL;
    if (cfg->n_schedules == 0)
        return ERR_OK;
    err_t e = ERR_OK;
    rpt_sched_job_t *jobs = calloc(cfg->n_schedules, sizeof *jobs);
    cmd_sched_t *cs = calloc(1, sizeof *cs);
    if (jobs == NULL || cs == NULL) {
        e = ERR_NOMEM;
        goto out;
    }
    char dflt[CMD_PATH_MAX];
    if (cfg->reports_dir[0] != '\0')
        snprintf(dflt, sizeof dflt, "%s", cfg->reports_dir);
    else if (snprintf(dflt, sizeof dflt, "%s/reports", cfg->data_dir) >= (int)sizeof dflt) {
        e = err_set(msg, ERR_CONFIG, "data directory path too long");
        goto out;
    }
    for (size_t i = 0; i < cfg->n_schedules; i++) {
        jobs[i] = cfg->schedules[i];
        if (jobs[i].output_dir[0] == '\0')
            snprintf(jobs[i].output_dir, sizeof jobs[i].output_dir, "%s", dflt);
    }
    cs->ctx = (cmd_sched_ctx_t){.store = store,
                                .tz = tz,
                                .base_currency = cfg->base_currency,
                                .aging_edges = cfg->aging_edges,
                                .n_aging_edges = cfg->n_aging_edges,
                                .sla_goal_bp = cfg->sla_goal_bp,
                                .mailq = mailq,
                                .log = log};
    rpt_sched_opts_t o = {
        .jobs = jobs,
        .n_jobs = cfg->n_schedules,
        .tz = tz,
        .render = cmd_sched_render,
        .units = list_units,
        .written = cmd_mail_written,
        .ctx = &cs->ctx,
        .now_s = wall_clock,
        .log = log,
    };
    e = rpt_sched_new(&o, &cs->sched, msg);
    if (!e)
        e = rpt_sched_start(cs->sched, msg);
out:
    free(jobs);
    if (e) {
        cmd_sched_stop(cs);
        return e;
    }
    *out = cs;
    return ERR_OK;
}

void cmd_sched_stop(cmd_sched_t *cs)
{
    if (cs == NULL)
        return;
    rpt_sched_free(cs->sched);
    free(cs);
}
