/*
 * cmd_mail.c — the "smtp" config block and the delivery queue in `kpid
 * serve` (see cmd_mail.h). Config errors name the key, like the rest of the
 * config: "config 'smtp': key 'url' must start with smtp:// or smtps://".
 */
#include "cmd_mail.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cmd_sched.h"

#define SMTP_KEYS                                                                                  \
    "url, from, user, password_file, starttls, timeout_s, retry_s, retry_max_s, max_attempts"

static err_t smtp_str(json_t *o, const char *key, char *dst, size_t cap, err_msg_t *msg)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return ERR_OK;
    if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) >= cap)
        return err_set(msg, ERR_CONFIG,
                       "config 'smtp': key '%s' must be a string of 1 to %zu bytes", key, cap - 1);
    snprintf(dst, cap, "%s", json_string_value(v));
    return ERR_OK;
}

static err_t smtp_uint(json_t *o, const char *key, uint32_t lo, uint32_t hi, uint32_t *dst,
                       err_msg_t *msg)
{
    json_t *v = json_object_get(o, key);
    if (v == NULL)
        return ERR_OK;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return err_set(msg, ERR_CONFIG, "config 'smtp': key '%s' must be an integer %u..%u", key,
                       (unsigned)lo, (unsigned)hi);
    *dst = (uint32_t)json_integer_value(v);
    return ERR_OK;
}

/* The password: the file's first line (without its line end). */
static err_t read_password(const char *path, char *dst, size_t cap, err_msg_t *msg)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return err_set(msg, ERR_IO, "config 'smtp': cannot read password_file %s: %s", path,
                       strerror(errno));
    char line[RPT_MAIL_SECRET_MAX + 2];
    bool ok = fgets(line, sizeof line, f) != NULL;
    fclose(f);
    size_t n = ok ? strcspn(line, "\r\n") : 0;
    if (!ok || n == 0 || n >= cap || (line[n] == '\0' && strlen(line) >= sizeof line - 1))
        return err_set(msg, ERR_CONFIG,
                       "config 'smtp': password_file %s must hold the password (1 to %zu bytes) "
                       "on its first line",
                       path, cap - 1);
    line[n] = '\0';
    snprintf(dst, cap, "%s", line);
    return ERR_OK;
}

err_t cmd_smtp_config(json_t *v, cmd_config_t *cfg, err_msg_t *msg)
{
    if (!json_is_object(v))
        return err_set(msg, ERR_CONFIG, "config key 'smtp' must be an object with keys " SMTP_KEYS);
    const char *key;
    json_t *x;
    json_object_foreach(v, key, x)
    {
        char pat[64];
        int n = snprintf(pat, sizeof pat, ", %s,", key);
        if (n < 0 || (size_t)n >= sizeof pat || strstr(", " SMTP_KEYS ",", pat) == NULL)
            return err_set(msg, ERR_CONFIG,
                           "config 'smtp': unknown key '%s' (known: " SMTP_KEYS ")", key);
    }
    rpt_mail_conf_t c = {0};
    err_t e = smtp_str(v, "url", c.url, sizeof c.url, msg);
    if (!e && c.url[0] == '\0')
        e = err_set(msg, ERR_CONFIG, "config 'smtp': key 'url' is required (smtp://host:port)");
    if (!e && strncmp(c.url, "smtp://", 7) != 0 && strncmp(c.url, "smtps://", 8) != 0)
        e = err_set(msg, ERR_CONFIG,
                    "config 'smtp': key 'url' must start with smtp:// or smtps://, not '%.80s'",
                    c.url);
    if (!e)
        e = smtp_str(v, "from", c.from, sizeof c.from, msg);
    if (!e && !rpt_mail_addr_ok(c.from))
        e = err_set(msg, ERR_CONFIG,
                    "config 'smtp': key 'from' must be an e-mail address (local@domain), not "
                    "'%.80s'",
                    c.from);
    if (!e)
        e = smtp_str(v, "user", c.user, sizeof c.user, msg);
    char pwfile[CMD_PATH_MAX] = "";
    if (!e)
        e = smtp_str(v, "password_file", pwfile, sizeof pwfile, msg);
    if (!e && (pwfile[0] != '\0') != (c.user[0] != '\0'))
        e = err_set(msg, ERR_CONFIG, "config 'smtp': 'user' and 'password_file' go together");
    if (!e && pwfile[0] != '\0')
        e = read_password(pwfile, c.password, sizeof c.password, msg);
    char tls[16] = "";
    if (!e)
        e = smtp_str(v, "starttls", tls, sizeof tls, msg);
    if (!e) {
        if (tls[0] == '\0')
            c.starttls = c.user[0] ? RPT_MAIL_TLS_REQUIRE : RPT_MAIL_TLS_TRY;
        else if (strcmp(tls, "try") == 0)
            c.starttls = RPT_MAIL_TLS_TRY;
        else if (strcmp(tls, "require") == 0)
            c.starttls = RPT_MAIL_TLS_REQUIRE;
        else if (strcmp(tls, "off") == 0)
            c.starttls = RPT_MAIL_TLS_OFF;
        else
            e = err_set(msg, ERR_CONFIG,
                        "config 'smtp': key 'starttls' must be \"try\", \"require\" or \"off\"");
    }
    c.timeout_s = 60;
    c.retry_s = 60;
    c.retry_max_s = 3600;
    c.max_attempts = 8;
    if (!e)
        e = smtp_uint(v, "timeout_s", 1, 3600, &c.timeout_s, msg);
    if (!e)
        e = smtp_uint(v, "retry_s", 1, 86400, &c.retry_s, msg);
    if (!e)
        e = smtp_uint(v, "retry_max_s", 1, 604800, &c.retry_max_s, msg);
    if (!e)
        e = smtp_uint(v, "max_attempts", 1, 100, &c.max_attempts, msg);
    if (!e && c.retry_max_s < c.retry_s)
        e = err_set(msg, ERR_CONFIG, "config 'smtp': 'retry_max_s' is less than 'retry_s'");
    if (e)
        return e;
    cfg->smtp = c;
    cfg->have_smtp = true;
    return ERR_OK;
}

err_t cmd_mail_check(const cmd_config_t *cfg, err_msg_t *msg)
{
    for (size_t i = 0; i < cfg->n_schedules; i++)
        if (cfg->schedules[i].n_mail_to > 0 && !cfg->have_smtp)
            return err_set(msg, ERR_CONFIG,
                           "config schedule '%s': key 'mail_to' needs the 'smtp' block (url, from)",
                           cfg->schedules[i].name);
    return ERR_OK;
}

err_t cmd_mail_start(const cmd_config_t *cfg, FILE *log, rpt_mailq_t **out, err_msg_t *msg)
{
    *out = NULL;
    if (!cfg->have_smtp)
        return ERR_OK;
    rpt_mailq_opts_t o = {.conf = &cfg->smtp, .log = log};
    rpt_mailq_t *q = NULL;
    err_t e = rpt_mailq_new(&o, &q, msg);
    if (!e)
        e = rpt_mailq_start(q, msg);
    if (e) {
        rpt_mailq_free(q);
        return e;
    }
    *out = q;
    return ERR_OK;
}

void cmd_mail_written(void *ctx, const rpt_sched_job_t *job, const char *kind,
                      const char *business_unit, int32_t from_day, int32_t to_day, int64_t due_s,
                      const char *path)
{
    const cmd_sched_ctx_t *c = ctx;
    if (job->n_mail_to == 0 || c->mailq == NULL)
        return;
    const char *to[RPT_SCHED_MAIL_MAX];
    for (size_t i = 0; i < job->n_mail_to; i++)
        to[i] = job->mail_to[i];
    rpt_mail_item_t it = {.pdf_path = path,
                          .kind = kind,
                          .unit = business_unit,
                          .from_day = from_day,
                          .to_day = to_day,
                          .generated_s = due_s,
                          .to = to,
                          .n_to = job->n_mail_to};
    err_msg_t m = {{0}};
    err_t e = rpt_mailq_submit(c->mailq, &it, &m);
    if (e && c->log != NULL) {
        fprintf(c->log, "kpid: schedule '%s': cannot queue %s for e-mail: %s (the report stays)\n",
                job->name, path, err_msg_or(&m, e));
        fflush(c->log);
    }
}
