/*
 * test_cmd_sched_setup.c — the "schedules" config key as cmd_config_load
 * reads it (every field, defaults, and the first error of each kind; the
 * integration test covers every message through `kpid serve`), and
 * starting/stopping the scheduler of `kpid serve`.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd_sched.h"
#include "coll.h"
#include "test.h"

static char dir[] = "/tmp/kpid-cmd-sched-setup-XXXXXX";

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

static void test_parse(void)
{
    static cmd_config_t cfg;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, load("{\"reports_dir\": \"/srv/reports\", \"schedules\": ["
                           "{\"name\": \"monthly-sla\", \"cron\": \"0 6 1 * *\", \"kinds\": "
                           "[\"sla\", \"summary\", \"payables\"], \"period\": \"previous_month\"},"
                           "{\"name\": \"w.1\", \"cron\": \"30 7 * * mon\", \"kinds\": [\"dso\"],"
                           " \"business_units\": [\"EU\", \"US\"], \"period\": \"previous_week\","
                           " \"currency\": \"USD\", \"output_dir\": \"/tmp/w\", \"keep\": 4},"
                           "{\"name\": \"each\", \"cron\": \"0 1 * * *\", \"kinds\": [\"ftq\"],"
                           " \"business_units\": [\"*\"], \"period\": \"previous_day\"}]}",
                           &cfg, &m));
    CHECK_STR("", m.text);
    CHECK_STR("/srv/reports", cfg.reports_dir);
    CHECK_INT(3, cfg.n_schedules);
    const rpt_sched_job_t *a = &cfg.schedules[0], *b = &cfg.schedules[1], *c = &cfg.schedules[2];
    CHECK_STR("monthly-sla", a->name);
    CHECK_STR("0 6 1 * *", a->cron_expr);
    CHECK(a->cron.hours == 1u << 6 && a->cron.mdays == 1u << 1);
    CHECK_INT(3, a->n_kinds);
    CHECK_STR("summary", a->kinds[1]);
    CHECK_STR("payables", a->kinds[2]);
    CHECK_INT(0, a->n_units);
    CHECK_INT(RPT_RULE_PREVIOUS_MONTH, a->period);
    CHECK_STR("", a->currency);
    CHECK_STR("", a->output_dir);
    CHECK_INT(0, a->keep);
    CHECK_INT(2, b->n_units);
    CHECK_STR("US", b->units[1]);
    CHECK_STR("USD", b->currency);
    CHECK_STR("/tmp/w", b->output_dir);
    CHECK_INT(4, b->keep);
    CHECK_INT(RPT_RULE_PREVIOUS_WEEK, b->period);
    CHECK_INT(1, c->n_units);
    CHECK_STR("*", c->units[0]);

    static const struct {
        const char *json, *msg;
    } bad[] = {
        {"{\"schedules\": {}}", "config key 'schedules' must be an array of schedules"},
        {"{\"schedules\": [{\"name\": \"x\", \"cron\": \"0 0 * * 8\", \"kinds\": [\"sla\"], "
         "\"period\": \"previous_day\"}]}",
         "config schedule 'x': key 'cron': field 5 (day-of-week): 8 is out of range 0-7"},
        {"{\"schedules\": [{\"name\": \".x\"}]}",
         "config schedules[0]: key 'name' must be 1 to 63 letters, digits, '.', '_' or '-' (not "
         "starting with '.')"},
        {"{\"schedules\": [{\"name\": \"x\", \"cron\": \"0 0 * * *\", \"kinds\": [1], "
         "\"period\": \"previous_day\"}]}",
         "config schedule 'x': key 'kinds': item 0 is not a string (sla, aging, dso, ftq, "
         "summary, payables, xlsx)"},
        {"{\"schedules\": [{\"name\": \"x\", \"cron\": \"0 0 * * *\", \"kinds\": [\"sla\"], "
         "\"period\": \"previous_day\", \"business_units\": [\"EU\", \"EU\"]}]}",
         "config schedule 'x': key 'business_units': 'EU' is listed twice"},
        {"{\"schedules\": [{\"name\": \"x\", \"cron\": \"0 0 * * *\", \"kinds\": [\"sla\"], "
         "\"period\": \"previous_day\", \"keep\": 100001}]}",
         "config schedule 'x': key 'keep' must be an integer 1..100000 (runs whose reports are "
         "kept; omit it to keep them all)"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_ERR(ERR_CONFIG, load(bad[i].json, &cfg, &m));
        CHECK_STR(bad[i].msg, m.text);
    }
    char many[8192] = "{\"schedules\": [";
    for (int i = 0; i <= RPT_SCHED_MAX; i++) {
        size_t n = strlen(many);
        snprintf(many + n, sizeof many - n, "%s{}", i ? "," : "");
    }
    strncat(many, "]}", sizeof many - strlen(many) - 1);
    CHECK_ERR(ERR_CONFIG, load(many, &cfg, &m));
    CHECK_STR("config key 'schedules': at most 16 schedules", m.text);
}

static void test_start_stop(void)
{
    static cmd_config_t cfg;
    err_msg_t m = {{0}};
    kpi_tz_t *tz = NULL;
    REQUIRE(coll_tz_load("UTC", &tz, NULL) == ERR_OK);
    cmd_sched_t *cs = (cmd_sched_t *)&cfg; /* must be reset to NULL */
    cmd_config_default(&cfg);
    CHECK_ERR(ERR_OK, cmd_sched_start(&cfg, NULL, tz, NULL, NULL, &cs, &m));
    CHECK(cs == NULL);
    cmd_sched_stop(NULL);

    CHECK_ERR(ERR_OK, load("{\"schedules\": [{\"name\": \"d\", \"cron\": \"0 0 1 1 *\", "
                           "\"kinds\": [\"sla\"], \"period\": \"previous_day\"}]}",
                           &cfg, &m));
    snprintf(cfg.data_dir, sizeof cfg.data_dir, "%s/data", dir);
    FILE *log = tmpfile();
    REQUIRE(log != NULL);
    CHECK_ERR(ERR_OK, cmd_sched_start(&cfg, NULL, tz, NULL, log, &cs, &m));
    CHECK(cs != NULL);
    cmd_sched_stop(cs); /* joins */
    char state[256];
    snprintf(state, sizeof state, "%s/data/reports", dir);
    struct stat st;
    CHECK(stat(state, &st) == 0 && S_ISDIR(st.st_mode));

    /* reports_dir replaces DATA_DIR/reports; output_dir wins over both. */
    snprintf(cfg.reports_dir, sizeof cfg.reports_dir, "%s/elsewhere", dir);
    CHECK_ERR(ERR_OK, cmd_sched_start(&cfg, NULL, tz, NULL, log, &cs, &m));
    cmd_sched_stop(cs);
    CHECK(stat(cfg.reports_dir, &st) == 0 && S_ISDIR(st.st_mode));
    snprintf(cfg.schedules[0].output_dir, sizeof cfg.schedules[0].output_dir, "%s/config.json/x",
             dir);
    CHECK_ERR(ERR_IO, cmd_sched_start(&cfg, NULL, tz, NULL, log, &cs, &m));
    CHECK(cs == NULL);
    char want[300];
    snprintf(want, sizeof want,
             "schedule 'd': cannot create report directory %s/config.json/x: Not a directory", dir);
    CHECK_STR(want, m.text);
    fclose(log);
    kpi_tz_free(tz);
}

int main(void)
{
    REQUIRE(mkdtemp(dir) != NULL);
    RUN(test_parse);
    RUN(test_start_stop);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    REQUIRE(system(cmd) == 0);
    return test_summary();
}
