/*
 * test_cmd_mail.c — the "smtp" config block and "mail_to" of schedules as
 * cmd_config_load reads them (every key, the defaults, the password file,
 * and each kind of error; the integration test tests/integration/
 * test_mail.py covers the messages through `kpid serve`), the delivery
 * queue's start, and the scheduler's written callback (what it queues).
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_mail.h"
#include "cmd_sched.h"
#include "kpi_date.h"
#include "test.h"

static char dir[] = "/tmp/kpid-cmd-mail-XXXXXX";

static err_t load(const char *json, cmd_config_t *cfg, err_msg_t *m)
{
    char path[128];
    snprintf(path, sizeof path, "%s/config.json", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs(json, f);
    fclose(f);
    cmd_config_default(cfg);
    return cmd_config_load(path, cfg, m);
}

static void test_smtp_block(void)
{
    static cmd_config_t cfg;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, load("{\"smtp\": {\"url\": \"smtp://mail.example.com:587\", \"from\": "
                           "\"kpid@example.com\"}}",
                           &cfg, &m));
    CHECK(cfg.have_smtp);
    CHECK_STR("smtp://mail.example.com:587", cfg.smtp.url);
    CHECK_STR("kpid@example.com", cfg.smtp.from);
    CHECK_STR("", cfg.smtp.user);
    CHECK_INT(RPT_MAIL_TLS_TRY, cfg.smtp.starttls); /* no password to protect */
    CHECK_INT(60, cfg.smtp.timeout_s);
    CHECK_INT(60, cfg.smtp.retry_s);
    CHECK_INT(3600, cfg.smtp.retry_max_s);
    CHECK_INT(8, cfg.smtp.max_attempts);

    char pw[128];
    snprintf(pw, sizeof pw, "%s/pw", dir);
    FILE *f = fopen(pw, "w");
    REQUIRE(f != NULL);
    fputs("s3cret pass\nsecond line ignored\n", f);
    fclose(f);
    char json[512];
    snprintf(json, sizeof json,
             "{\"smtp\": {\"url\": \"smtps://mail.example.com\", \"from\": \"kpid@example.com\", "
             "\"user\": \"kpid\", \"password_file\": \"%s\", \"timeout_s\": 5, \"retry_s\": 2, "
             "\"retry_max_s\": 30, \"max_attempts\": 4}}",
             pw);
    CHECK_ERR(ERR_OK, load(json, &cfg, &m));
    CHECK_STR("kpid", cfg.smtp.user);
    CHECK_STR("s3cret pass", cfg.smtp.password);
    CHECK_INT(RPT_MAIL_TLS_REQUIRE, cfg.smtp.starttls); /* a password: TLS or nothing */
    CHECK_INT(5, cfg.smtp.timeout_s);
    CHECK_INT(2, cfg.smtp.retry_s);
    CHECK_INT(30, cfg.smtp.retry_max_s);
    CHECK_INT(4, cfg.smtp.max_attempts);

    static const struct {
        const char *tls;
        rpt_mail_tls_t want;
    } tls[] = {
        {"try", RPT_MAIL_TLS_TRY}, {"require", RPT_MAIL_TLS_REQUIRE}, {"off", RPT_MAIL_TLS_OFF}};
    for (size_t i = 0; i < sizeof tls / sizeof tls[0]; i++) {
        snprintf(json, sizeof json,
                 "{\"smtp\": {\"url\": \"smtp://h:25\", \"from\": \"a@b.c\", \"starttls\": "
                 "\"%s\"}}",
                 tls[i].tls);
        CHECK_ERR(ERR_OK, load(json, &cfg, &m));
        CHECK_INT(tls[i].want, cfg.smtp.starttls);
    }
    /* no smtp block */
    CHECK_ERR(ERR_OK, load("{}", &cfg, &m));
    CHECK(!cfg.have_smtp);
    unlink(pw);
}

static void test_smtp_errors(void)
{
    static cmd_config_t cfg;
    static const struct {
        const char *json, *want;
        err_t e;
    } bad[] = {
        {"{\"smtp\": 1}", "config key 'smtp' must be an object with keys url, from", ERR_CONFIG},
        {"{\"smtp\": {}}", "config 'smtp': key 'url' is required", ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"\", \"from\": \"a@b.c\"}}",
         "config 'smtp': key 'url' must be a string of 1 to 511 bytes", ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"imap://h\", \"from\": \"a@b.c\"}}",
         "config 'smtp': key 'url' must start with smtp:// or smtps://, not 'imap://h'",
         ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"smtp://h\", \"from\": \"a@b.c\\r\\nBcc: x@y\"}}",
         "config 'smtp': key 'from' must be an e-mail address", ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"smtp://h\"}}", "config 'smtp': key 'from' must be an e-mail",
         ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"smtp://h\", \"from\": \"a@b.c\", \"tls\": 1}}",
         "config 'smtp': unknown key 'tls' (known: url, from, user, password_file, starttls, "
         "timeout_s, retry_s, retry_max_s, max_attempts)",
         ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"smtp://h\", \"from\": \"a@b.c\", \"timeout_s\": 0}}",
         "config 'smtp': key 'timeout_s' must be an integer 1..3600", ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"smtp://h\", \"from\": \"a@b.c\", \"retry_max_s\": \"9\"}}",
         "config 'smtp': key 'retry_max_s' must be an integer 1..604800", ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"smtp://h\", \"from\": \"a@b.c\", \"password_file\": \"/x\"}}",
         "config 'smtp': 'user' and 'password_file' go together", ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"smtp://h\", \"from\": \"a@b.c\", \"user\": \"u\", "
         "\"password_file\": \"/nonexistent/pw\"}}",
         "config 'smtp': cannot read password_file /nonexistent/pw: No such file or directory",
         ERR_IO},
        {"{\"smtp\": {\"url\": \"smtp://h\", \"from\": \"a@b.c\", \"starttls\": true}}",
         "config 'smtp': key 'starttls' must be a string", ERR_CONFIG},
        {"{\"schedules\": [{\"name\": \"d\", \"cron\": \"0 0 * * *\", \"kinds\": [\"sla\"], "
         "\"period\": \"previous_day\", \"mail_to\": [\"a@b.c\"]}]}",
         "config schedule 'd': key 'mail_to' needs the 'smtp' block (url, from)", ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"smtp://h\", \"from\": \"a@b.c\"}, \"schedules\": [{\"name\": "
         "\"d\", \"cron\": \"0 0 * * *\", \"kinds\": [\"sla\"], \"period\": \"previous_day\", "
         "\"mail_to\": \"a@b.c\"}]}",
         "config schedule 'd': key 'mail_to' must be an array of 1 to 16 e-mail addresses",
         ERR_CONFIG},
        {"{\"smtp\": {\"url\": \"smtp://h\", \"from\": \"a@b.c\"}, \"schedules\": [{\"name\": "
         "\"d\", \"cron\": \"0 0 * * *\", \"kinds\": [\"sla\"], \"period\": \"previous_day\", "
         "\"mail_to\": [\"a@b.c\", 5]}]}",
         "config schedule 'd': key 'mail_to': item 1 ('') is not an e-mail address", ERR_CONFIG},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_msg_t m = {{0}};
        CHECK_ERR(bad[i].e, load(bad[i].json, &cfg, &m));
        CHECK_MSG(strstr(m.text, bad[i].want) != NULL, "%s\n    got: %s", bad[i].want, m.text);
    }
    /* a password file with nothing on its first line */
    char pw[128], json[512];
    snprintf(pw, sizeof pw, "%s/empty", dir);
    FILE *f = fopen(pw, "w");
    REQUIRE(f != NULL);
    fputs("\nlater\n", f);
    fclose(f);
    snprintf(json, sizeof json,
             "{\"smtp\": {\"url\": \"smtp://h\", \"from\": \"a@b.c\", \"user\": \"u\", "
             "\"password_file\": \"%s\"}}",
             pw);
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_CONFIG, load(json, &cfg, &m));
    CHECK(strstr(m.text, "must hold the password (1 to 255 bytes) on its first line") != NULL);
    unlink(pw);
}

static void test_schedule_mail_to(void)
{
    static cmd_config_t cfg;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, load("{\"smtp\": {\"url\": \"smtp://h:25\", \"from\": \"kpid@example.com\"},"
                           " \"schedules\": [{\"name\": \"d\", \"cron\": \"0 0 * * *\", "
                           "\"kinds\": [\"sla\"], \"period\": \"previous_day\", \"mail_to\": "
                           "[\"ops@example.com\", \"cfo@example.com\"]}, {\"name\": \"e\", "
                           "\"cron\": \"0 0 * * *\", \"kinds\": [\"sla\"], \"period\": "
                           "\"previous_day\"}]}",
                           &cfg, &m));
    CHECK_STR("", m.text);
    CHECK_INT(2, cfg.schedules[0].n_mail_to);
    CHECK_STR("ops@example.com", cfg.schedules[0].mail_to[0]);
    CHECK_STR("cfo@example.com", cfg.schedules[0].mail_to[1]);
    CHECK_INT(0, cfg.schedules[1].n_mail_to);
    CHECK_ERR(ERR_OK, cmd_mail_check(&cfg, &m));
    cfg.have_smtp = false;
    CHECK_ERR(ERR_CONFIG, cmd_mail_check(&cfg, &m));
    CHECK(strstr(m.text, "config schedule 'd': key 'mail_to' needs the 'smtp' block") != NULL);
}

/* cmd_mail_start: nothing without an smtp block; a queue with its thread otherwise. */
static void test_start(void)
{
    static cmd_config_t cfg;
    cmd_config_default(&cfg);
    rpt_mailq_t *q = (rpt_mailq_t *)&cfg;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, cmd_mail_start(&cfg, NULL, &q, &m));
    CHECK(q == NULL);
    cfg.have_smtp = true;
    snprintf(cfg.smtp.url, sizeof cfg.smtp.url, "smtp://127.0.0.1:1");
    snprintf(cfg.smtp.from, sizeof cfg.smtp.from, "kpid@example.com");
    CHECK_ERR(ERR_OK, cmd_mail_start(&cfg, NULL, &q, &m));
    CHECK(q != NULL);
    rpt_mailq_stats_t st;
    rpt_mailq_stats(q, &st);
    CHECK_INT(0, st.pending);
    rpt_mailq_free(q);
    snprintf(cfg.smtp.from, sizeof cfg.smtp.from, "nobody");
    CHECK_ERR(ERR_BAD_PARAM, cmd_mail_start(&cfg, NULL, &q, &m));
    CHECK(q == NULL);
}

/* The scheduler's written callback queues the report for the job's mail_to. */
static void test_written(void)
{
    rpt_mail_conf_t c = {.url = "smtp://127.0.0.1:1", .from = "kpid@example.com"};
    rpt_mailq_opts_t o = {.conf = &c};
    rpt_mailq_t *q = NULL;
    REQUIRE(rpt_mailq_new(&o, &q, NULL) == ERR_OK); /* not started: nothing is sent */
    char *logbuf = NULL;
    size_t loglen = 0;
    FILE *log = open_memstream(&logbuf, &loglen);
    cmd_sched_ctx_t ctx = {.mailq = q, .log = log};
    rpt_sched_job_t job;
    memset(&job, 0, sizeof job);
    snprintf(job.name, sizeof job.name, "d");
    int32_t day = kpi_days_from_civil(2025, 11, 30);
    cmd_mail_written(&ctx, &job, "sla", NULL, day, day, 0, "/r/sla.pdf"); /* no mail_to */
    rpt_mailq_stats_t st;
    rpt_mailq_stats(q, &st);
    CHECK_INT(0, st.pending);
    snprintf(job.mail_to[0], sizeof job.mail_to[0], "ops@example.com");
    job.n_mail_to = 1;
    cmd_mail_written(&ctx, &job, "sla", "emea", day, day, 0, "/r/sla.pdf");
    rpt_mailq_stats(q, &st);
    CHECK_INT(1, st.pending);
    /* a refusal is logged, naming the schedule and the report */
    cmd_mail_written(&ctx, &job, "sla", "emea\nBcc: x@y", day, day, 0, "/r/sla2.pdf");
    rpt_mailq_stats(q, &st);
    CHECK_INT(1, st.pending);
    fflush(log);
    CHECK_MSG(strstr(logbuf, "kpid: schedule 'd': cannot queue /r/sla2.pdf for e-mail: mail: a "
                             "control character in the kind or unit (the report stays)") != NULL,
              "%s", logbuf);
    /* no queue (no smtp block): nothing to do */
    ctx.mailq = NULL;
    cmd_mail_written(&ctx, &job, "sla", "emea", day, day, 0, "/r/sla.pdf");
    rpt_mailq_free(q);
    fclose(log);
    free(logbuf);
}

int main(void)
{
    REQUIRE(mkdtemp(dir) != NULL);
    RUN(test_smtp_block);
    RUN(test_smtp_errors);
    RUN(test_schedule_mail_to);
    RUN(test_start);
    RUN(test_written);
    char p[128];
    snprintf(p, sizeof p, "%s/config.json", dir);
    unlink(p);
    rmdir(dir);
    return test_summary();
}
