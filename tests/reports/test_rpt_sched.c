/*
 * test_rpt_sched.c — the scheduler with a fake clock (ticks at chosen
 * instants; the thread test moves a fake clock and waits for the thread's
 * tick count, never for time) and a fake renderer that records its calls
 * and writes a small file, or fails after writing half of one.
 */
#include <dirent.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coll.h"
#include "kpi_date.h"
#include "rpt_sched.h"
#include "test.h"

/* ---- helpers -------------------------------------------------------------- */

static int64_t at(const char *s)
{
    int64_t t = 0;
    REQUIRE(kpi_time_parse_rfc3339(s, strlen(s), &t) == ERR_OK);
    return t;
}

static int32_t day(const char *ymd)
{
    int32_t d = 0;
    REQUIRE(kpi_date_parse(ymd, strlen(ymd), &d) == ERR_OK);
    return d;
}

static kpi_tz_t *zone(const char *name)
{
    kpi_tz_t *tz = NULL;
    REQUIRE(coll_tz_load(name, &tz, NULL) == ERR_OK);
    return tz;
}

static void make_tmpdir(char *buf, size_t cap)
{
    snprintf(buf, cap, "/tmp/kpid-rpt-sched-XXXXXX");
    REQUIRE(mkdtemp(buf) != NULL);
}

static void rmdir_all(const char *dir)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    REQUIRE(system(cmd) == 0);
}

/* The directory's entries, sorted, joined by '\n' (dot-files left out unless asked). */
static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *listing(const char *dir, bool dotfiles)
{
    static char out[8192];
    char *names[256];
    size_t n = 0;
    DIR *d = opendir(dir);
    REQUIRE(d != NULL);
    struct dirent *de;
    while ((de = readdir(d)) != NULL && n < 256) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (de->d_name[0] == '.' && !dotfiles)
            continue;
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof names[0], cmp_str);
    out[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        used += (size_t)snprintf(out + used, sizeof out - used, "%s%s", i ? "\n" : "", names[i]);
        free(names[i]);
    }
    return out;
}

static bool has_tmp(const char *dir)
{
    return strstr(listing(dir, true), ".tmp") != NULL;
}

static void write_file(const char *dir, const char *name, const char *text)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    REQUIRE(f != NULL);
    fputs(text, f);
    fclose(f);
}

static const char *read_file(const char *dir, const char *name)
{
    static char buf[4096];
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    buf[0] = '\0';
    FILE *f = fopen(p, "r");
    if (f == NULL)
        return NULL;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- fakes ---------------------------------------------------------------- */

typedef struct call {
    char kind[16], unit[64];
    int32_t from, to;
    int64_t due;
} call_t;

typedef struct fake {
    call_t calls[64];
    size_t n_calls;
    bool fail;            /* write half a file, then fail */
    bool fail_units;      /* the units callback fails */
    const char *units[4]; /* what "*" expands to */
    size_t n_units;
    pthread_mutex_t mu;           /* the thread test reads calls from another thread */
    rpt_sched_t *stop_at_call_of; /* request a stop from inside call number stop_call */
    size_t stop_call;
    char written[8][512]; /* paths given to the written callback */
    bool written_existed; /* every one was a complete file when told */
    size_t n_written;
} fake_t;

static err_t fake_render(void *ctx, const rpt_sched_job_t *job, const char *kind, const char *unit,
                         int32_t from, int32_t to, int64_t due_s, const char *tmp_path,
                         err_msg_t *msg)
{
    fake_t *fk = ctx;
    (void)job;
    pthread_mutex_lock(&fk->mu);
    call_t *c = &fk->calls[fk->n_calls < 64 ? fk->n_calls++ : 63];
    snprintf(c->kind, sizeof c->kind, "%s", kind);
    snprintf(c->unit, sizeof c->unit, "%s", unit ? unit : "(book)");
    c->from = from;
    c->to = to;
    c->due = due_s;
    bool fail = fk->fail;
    if (fk->stop_at_call_of != NULL && fk->n_calls == fk->stop_call)
        rpt_sched_request_stop(fk->stop_at_call_of);
    pthread_mutex_unlock(&fk->mu);
    FILE *f = fopen(tmp_path, "w");
    if (f == NULL)
        return err_set(msg, ERR_IO, "cannot open %s", tmp_path);
    fputs("%PDF-1.4 half", f);
    if (fail) {
        fclose(f);
        return err_set(msg, ERR_IO, "disk on fire");
    }
    fputs(" and the rest\n%%EOF\n", f);
    fclose(f);
    return ERR_OK;
}

static void fake_written(void *ctx, const rpt_sched_job_t *job, const char *kind, const char *unit,
                         int32_t from, int32_t to, int64_t due_s, const char *path)
{
    fake_t *fk = ctx;
    (void)job;
    (void)kind;
    (void)unit;
    (void)from;
    (void)to;
    (void)due_s;
    pthread_mutex_lock(&fk->mu);
    struct stat st;
    bool ok = stat(path, &st) == 0 && st.st_size == 33; /* the whole fake PDF */
    fk->written_existed = (fk->n_written == 0 || fk->written_existed) && ok;
    if (fk->n_written < 8)
        snprintf(fk->written[fk->n_written], sizeof fk->written[0], "%s", path);
    fk->n_written++;
    pthread_mutex_unlock(&fk->mu);
}

static err_t fake_units(void *ctx, const char *currency, char (*out)[RPT_SCHED_UNIT_MAX],
                        size_t cap, size_t *n, err_msg_t *msg)
{
    fake_t *fk = ctx;
    (void)currency;
    if (fk->fail_units)
        return err_set(msg, ERR_IO, "store unreadable");
    *n = 0;
    for (size_t i = 0; i < fk->n_units && i < cap; i++)
        snprintf(out[(*n)++], RPT_SCHED_UNIT_MAX, "%s", fk->units[i]);
    return ERR_OK;
}

typedef struct fake_clock {
    pthread_mutex_t mu;
    int64_t now;
} fake_clock_t;

static int64_t fake_now(void *ctx)
{
    fake_clock_t *c = ctx;
    pthread_mutex_lock(&c->mu);
    int64_t t = c->now;
    pthread_mutex_unlock(&c->mu);
    return t;
}

/* A fixture: one scheduler over `job` with fakes and a captured log. */
typedef struct fix {
    char dir[64];
    kpi_tz_t *tz;
    fake_t fk;
    fake_clock_t clock;
    char *logbuf;
    size_t loglen;
    FILE *log;
    rpt_sched_t *s;
} fix_t;

static void job_init(rpt_sched_job_t *j, const char *dir, const char *name, const char *cron,
                     rpt_rule_t period, uint32_t keep)
{
    memset(j, 0, sizeof *j);
    snprintf(j->name, sizeof j->name, "%s", name);
    snprintf(j->cron_expr, sizeof j->cron_expr, "%s", cron);
    REQUIRE(rpt_cron_parse(cron, &j->cron, NULL) == ERR_OK);
    snprintf(j->kinds[0], sizeof j->kinds[0], "sla");
    j->n_kinds = 1;
    j->period = period;
    j->keep = keep;
    snprintf(j->output_dir, sizeof j->output_dir, "%s", dir);
}

static void fix_open(fix_t *f, const char *zone_name)
{
    memset(f, 0, sizeof *f);
    make_tmpdir(f->dir, sizeof f->dir);
    f->tz = zone(zone_name);
    pthread_mutex_init(&f->fk.mu, NULL);
    pthread_mutex_init(&f->clock.mu, NULL);
    f->log = open_memstream(&f->logbuf, &f->loglen);
    REQUIRE(f->log != NULL);
}

static err_t fix_start(fix_t *f, const rpt_sched_job_t *jobs, size_t n, err_msg_t *msg)
{
    rpt_sched_opts_t o = {
        .jobs = jobs,
        .n_jobs = n,
        .tz = f->tz,
        .render = fake_render,
        .units = fake_units,
        .written = fake_written,
        .ctx = &f->fk,
        .now_s = fake_now,
        .clock_ctx = &f->clock,
        .log = f->log,
    };
    return rpt_sched_new(&o, &f->s, msg);
}

/* A "restart": a new scheduler instance on the same directory and state. */
static void fix_restart(fix_t *f, const rpt_sched_job_t *jobs, size_t n)
{
    rpt_sched_free(f->s);
    f->s = NULL;
    REQUIRE(fix_start(f, jobs, n, NULL) == ERR_OK);
}

static const char *fix_log(fix_t *f)
{
    fflush(f->log);
    return f->logbuf ? f->logbuf : "";
}

static void fix_close(fix_t *f)
{
    rpt_sched_free(f->s);
    fclose(f->log);
    free(f->logbuf);
    kpi_tz_free(f->tz);
    pthread_mutex_destroy(&f->fk.mu);
    pthread_mutex_destroy(&f->clock.mu);
    rmdir_all(f->dir);
}

static int64_t tick(fix_t *f, const char *now)
{
    int64_t next = 0;
    rpt_sched_tick(f->s, at(now), &next);
    return next;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_file_name(void)
{
    char b[256];
    CHECK_ERR(ERR_OK, rpt_sched_file_name("sla", NULL, day("2026-03-01"), day("2026-03-31"),
                                          at("2026-04-01T06:00:00Z"), b, sizeof b));
    CHECK_STR("sla-all-2026-03-01-2026-03-31-20260401T060000Z.pdf", b);
    CHECK_ERR(ERR_OK,
              rpt_sched_file_name("aging", "EU/Nord \xc3\xbc", day("2025-12-29"), day("2026-01-04"),
                                  at("2026-01-05T23:59:59Z"), b, sizeof b));
    CHECK_STR("aging-EU_Nord___-2025-12-29-2026-01-04-20260105T235959Z.pdf", b);
    CHECK_ERR(ERR_TOO_LARGE, rpt_sched_file_name("sla", NULL, 0, 0, 0, b, 20));
}

/* A report appears once its due time has passed, and not before. */
static void test_due_and_listing(void)
{
    fix_t f;
    fix_open(&f, "UTC");
    rpt_sched_job_t j;
    job_init(&j, f.dir, "monthly", "0 6 1 * *", RPT_RULE_PREVIOUS_MONTH, 0);
    snprintf(j.kinds[1], sizeof j.kinds[1], "aging");
    j.n_kinds = 2;
    REQUIRE(fix_start(&f, &j, 1, NULL) == ERR_OK);
    CHECK_INT(INT64_MIN, rpt_sched_next_due(f.s, 0));

    CHECK_INT(at("2026-04-01T06:00:00Z"), tick(&f, "2026-03-15T00:00:00Z"));
    CHECK_STR("", listing(f.dir, false));
    CHECK_INT(at("2026-04-01T06:00:00Z"), tick(&f, "2026-04-01T05:59:59Z"));
    CHECK_STR("", listing(f.dir, false));
    CHECK_INT(0, f.fk.n_calls);

    CHECK_INT(at("2026-05-01T06:00:00Z"), tick(&f, "2026-04-01T06:00:00Z"));
    CHECK_STR("aging-all-2026-03-01-2026-03-31-20260401T060000Z.pdf\n"
              "sla-all-2026-03-01-2026-03-31-20260401T060000Z.pdf",
              listing(f.dir, false));
    CHECK_INT(2, f.fk.n_calls);
    CHECK_STR("sla", f.fk.calls[0].kind);
    CHECK_STR("aging", f.fk.calls[1].kind);
    CHECK_STR("(book)", f.fk.calls[0].unit);
    CHECK_INT(day("2026-03-01"), f.fk.calls[0].from);
    CHECK_INT(day("2026-03-31"), f.fk.calls[0].to);
    CHECK_INT(at("2026-04-01T06:00:00Z"), f.fk.calls[0].due);
    CHECK_STR("%PDF-1.4 half and the rest\n%%EOF\n",
              read_file(f.dir, "sla-all-2026-03-01-2026-03-31-20260401T060000Z.pdf"));
    CHECK(!has_tmp(f.dir));

    /* The same instant again, and later the same day: nothing new. */
    tick(&f, "2026-04-01T06:00:00Z");
    tick(&f, "2026-04-01T23:00:00Z");
    CHECK_INT(2, f.fk.n_calls);
    CHECK_INT(at("2026-05-01T06:00:00Z"), rpt_sched_next_due(f.s, 0));
    CHECK(strstr(fix_log(&f), "kpid: schedule 'monthly': wrote "
                              "sla-all-2026-03-01-2026-03-31-20260401T060000Z.pdf\n") != NULL);
    CHECK(strstr(fix_log(&f), "kpid: schedule 'monthly': next run at 2026-05-01T06:00:00Z\n") !=
          NULL);
    char want[128];
    snprintf(want, sizeof want, "kpid-schedule-state 1\nlast %lld\n",
             (long long)at("2026-04-01T06:00:00Z"));
    CHECK_STR(want, read_file(f.dir, ".schedule-monthly.state"));
    fix_close(&f);
}

/* Missed runs are caught up once, for the latest missed due time, by a new
   scheduler instance on the same directory; a third instance does nothing. */
static void test_catch_up_after_restart(void)
{
    fix_t f;
    fix_open(&f, "UTC");
    rpt_sched_job_t j;
    job_init(&j, f.dir, "monthly", "0 6 1 * *", RPT_RULE_PREVIOUS_MONTH, 0);
    REQUIRE(fix_start(&f, &j, 1, NULL) == ERR_OK);
    tick(&f, "2026-01-10T00:00:00Z"); /* first sight: registered, nothing due */
    CHECK_INT(0, f.fk.n_calls);

    /* Down from Jan 10 to Apr 20: Feb 1, Mar 1 and Apr 1 were missed. */
    fix_restart(&f, &j, 1);
    CHECK_INT(at("2026-05-01T06:00:00Z"), tick(&f, "2026-04-20T00:00:00Z"));
    CHECK_INT(1, f.fk.n_calls);
    CHECK_INT(at("2026-04-01T06:00:00Z"), f.fk.calls[0].due);
    CHECK_INT(day("2026-03-01"), f.fk.calls[0].from);
    CHECK_STR("sla-all-2026-03-01-2026-03-31-20260401T060000Z.pdf", listing(f.dir, false));
    CHECK(strstr(fix_log(&f),
                 "kpid: schedule 'monthly': missed due times from "
                 "2026-02-01T06:00:00Z; running once for 2026-04-01T06:00:00Z\n") != NULL);

    /* Restarted again at once: the catch-up is not repeated. */
    fix_restart(&f, &j, 1);
    tick(&f, "2026-04-20T00:00:01Z");
    CHECK_INT(1, f.fk.n_calls);
    tick(&f, "2026-05-01T06:00:00Z");
    CHECK_INT(2, f.fk.n_calls);
    CHECK_INT(at("2026-05-01T06:00:00Z"), f.fk.calls[1].due);

    /* A schedule first seen after a due time does not back-fill. */
    rpt_sched_job_t j2;
    job_init(&j2, f.dir, "new", "0 6 1 * *", RPT_RULE_PREVIOUS_MONTH, 0);
    fix_restart(&f, &j2, 1);
    tick(&f, "2026-05-20T00:00:00Z");
    CHECK_INT(2, f.fk.n_calls);
    fix_close(&f);
}

/* keep N: only the newest N runs' files stay; other files are untouched;
   the kept list survives a restart. */
static void test_keep(void)
{
    fix_t f;
    fix_open(&f, "UTC");
    rpt_sched_job_t j;
    job_init(&j, f.dir, "daily", "0 1 * * *", RPT_RULE_PREVIOUS_DAY, 2);
    snprintf(j.units[0], sizeof j.units[0], "EU");
    snprintf(j.units[1], sizeof j.units[1], "US");
    j.n_units = 2;
    REQUIRE(fix_start(&f, &j, 1, NULL) == ERR_OK);
    write_file(f.dir, "sla-EU-2025-01-01-2025-01-01-20250102T010000Z.pdf", "on demand");
    write_file(f.dir, "notes.txt", "mine");
    tick(&f, "2026-01-01T00:00:00Z");
    tick(&f, "2026-01-01T01:00:00Z");
    tick(&f, "2026-01-02T01:00:00Z");
    tick(&f, "2026-01-03T01:00:00Z");
    CHECK_INT(6, f.fk.n_calls);
    CHECK_STR("notes.txt\n"
              "sla-EU-2025-01-01-2025-01-01-20250102T010000Z.pdf\n"
              "sla-EU-2026-01-01-2026-01-01-20260102T010000Z.pdf\n"
              "sla-EU-2026-01-02-2026-01-02-20260103T010000Z.pdf\n"
              "sla-US-2026-01-01-2026-01-01-20260102T010000Z.pdf\n"
              "sla-US-2026-01-02-2026-01-02-20260103T010000Z.pdf",
              listing(f.dir, false));
    CHECK(strstr(fix_log(&f),
                 "kpid: schedule 'daily': deleted "
                 "sla-EU-2025-12-31-2025-12-31-20260101T010000Z.pdf (keep 2)\n") != NULL);
    fix_restart(&f, &j, 1);
    tick(&f, "2026-01-04T01:00:00Z");
    CHECK_STR("notes.txt\n"
              "sla-EU-2025-01-01-2025-01-01-20250102T010000Z.pdf\n"
              "sla-EU-2026-01-02-2026-01-02-20260103T010000Z.pdf\n"
              "sla-EU-2026-01-03-2026-01-03-20260104T010000Z.pdf\n"
              "sla-US-2026-01-02-2026-01-02-20260103T010000Z.pdf\n"
              "sla-US-2026-01-03-2026-01-03-20260104T010000Z.pdf",
              listing(f.dir, false));
    /* A file deleted by hand is no error. */
    char p[200];
    snprintf(p, sizeof p, "%s/sla-EU-2026-01-02-2026-01-02-20260103T010000Z.pdf", f.dir);
    REQUIRE(unlink(p) == 0);
    tick(&f, "2026-01-05T01:00:00Z");
    CHECK(strstr(fix_log(&f), "cannot delete") == NULL);
    CHECK(strstr(listing(f.dir, false), "20260103T") == NULL);
    fix_close(&f);
}

/* A failing renderer is logged with the schedule's name, leaves no .tmp and
   no report, and the next attempt is the next due time. */
static void test_render_failure(void)
{
    fix_t f;
    fix_open(&f, "UTC");
    rpt_sched_job_t j;
    job_init(&j, f.dir, "daily", "0 1 * * *", RPT_RULE_PREVIOUS_DAY, 0);
    REQUIRE(fix_start(&f, &j, 1, NULL) == ERR_OK);
    tick(&f, "2026-01-01T00:00:00Z");
    f.fk.fail = true;
    CHECK_INT(at("2026-01-03T01:00:00Z"), tick(&f, "2026-01-02T01:00:00Z"));
    CHECK_INT(1, f.fk.n_calls);
    CHECK_STR("", listing(f.dir, false));
    CHECK(!has_tmp(f.dir));
    CHECK_INT(0, f.fk.n_written); /* a failed report is not handed on (no e-mail) */
    CHECK(strstr(fix_log(&f), "kpid: schedule 'daily': sla report for the whole book, "
                              "2026-01-01 to 2026-01-01, failed: disk on fire (next attempt at "
                              "the next due time)\n") != NULL);
    tick(&f, "2026-01-02T12:00:00Z"); /* not retried before the next due time */
    CHECK_INT(1, f.fk.n_calls);
    f.fk.fail = false;
    tick(&f, "2026-01-03T01:00:00Z");
    CHECK_INT(2, f.fk.n_calls);
    CHECK_STR("sla-all-2026-01-02-2026-01-02-20260103T010000Z.pdf", listing(f.dir, false));
    /* the written callback gets the final path of the complete file */
    CHECK_INT(1, f.fk.n_written);
    CHECK(f.fk.written_existed);
    char want[512];
    snprintf(want, sizeof want, "%s/sla-all-2026-01-02-2026-01-02-20260103T010000Z.pdf", f.dir);
    CHECK_STR(want, f.fk.written[0]);
    fix_close(&f);
}

/* "*" reports on every unit separately; a failing unit listing is logged. */
static void test_every_unit(void)
{
    fix_t f;
    fix_open(&f, "UTC");
    rpt_sched_job_t j;
    job_init(&j, f.dir, "weekly", "0 7 * * mon", RPT_RULE_PREVIOUS_WEEK, 0);
    snprintf(j.units[0], sizeof j.units[0], "*");
    j.n_units = 1;
    f.fk.units[0] = "EU";
    f.fk.units[1] = "US/East";
    f.fk.n_units = 2;
    REQUIRE(fix_start(&f, &j, 1, NULL) == ERR_OK);
    tick(&f, "2026-01-01T00:00:00Z");
    tick(&f, "2026-01-05T07:00:00Z"); /* Monday: the week Dec 29 - Jan 4 */
    CHECK_STR("sla-EU-2025-12-29-2026-01-04-20260105T070000Z.pdf\n"
              "sla-US_East-2025-12-29-2026-01-04-20260105T070000Z.pdf",
              listing(f.dir, false));
    CHECK_STR("US/East", f.fk.calls[1].unit);
    f.fk.fail_units = true;
    tick(&f, "2026-01-12T07:00:00Z");
    CHECK_INT(2, f.fk.n_calls);
    CHECK(strstr(fix_log(&f),
                 "kpid: schedule 'weekly': cannot list business units: store unreadable\n") !=
          NULL);
    f.fk.fail_units = false;
    f.fk.n_units = 0;
    tick(&f, "2026-01-19T07:00:00Z");
    CHECK(strstr(fix_log(&f), "no business units in the store yet") != NULL);
    fix_close(&f);
}

/* The period follows the run's local date: 00:30 Berlin on Apr 1 is still
   Mar 31 in UTC, and reports on March. Two schedules in one directory keep
   their own state. */
static void test_local_date_and_two_jobs(void)
{
    fix_t f;
    fix_open(&f, "Europe/Berlin");
    rpt_sched_job_t j[2];
    job_init(&j[0], f.dir, "berlin", "30 0 1 * *", RPT_RULE_PREVIOUS_MONTH, 0);
    job_init(&j[1], f.dir, "quarterly", "0 8 1 1,4,7,10 *", RPT_RULE_PREVIOUS_QUARTER, 0);
    REQUIRE(fix_start(&f, j, 2, NULL) == ERR_OK);
    /* Next due overall: Apr 1 00:30 CEST = Mar 31 22:30Z. */
    CHECK_INT(at("2026-03-31T22:30:00Z"), tick(&f, "2026-03-15T00:00:00Z"));
    CHECK_INT(at("2026-04-01T06:00:00Z"), rpt_sched_next_due(f.s, 1));
    CHECK_INT(at("2026-04-01T06:00:00Z"), tick(&f, "2026-03-31T22:30:00Z"));
    CHECK_INT(1, f.fk.n_calls);
    CHECK_INT(day("2026-03-01"), f.fk.calls[0].from);
    CHECK_INT(day("2026-03-31"), f.fk.calls[0].to);
    tick(&f, "2026-04-01T06:00:00Z");
    CHECK_INT(2, f.fk.n_calls);
    CHECK_INT(day("2026-01-01"), f.fk.calls[1].from);
    CHECK_INT(day("2026-03-31"), f.fk.calls[1].to);
    CHECK_STR(".schedule-berlin.state\n.schedule-quarterly.state\n"
              "sla-all-2026-01-01-2026-03-31-20260401T060000Z.pdf\n"
              "sla-all-2026-03-01-2026-03-31-20260331T223000Z.pdf",
              listing(f.dir, true));
    fix_close(&f);
}

/* The thread: ticks at start, sleeps until woken (no real time passes in
   this test), runs what the moved fake clock makes due, stops and joins. */
static void test_thread(void)
{
    fix_t f;
    fix_open(&f, "UTC");
    rpt_sched_job_t j;
    job_init(&j, f.dir, "daily", "0 1 * * *", RPT_RULE_PREVIOUS_DAY, 0);
    f.clock.now = at("2026-01-01T00:00:00Z");
    REQUIRE(fix_start(&f, &j, 1, NULL) == ERR_OK);
    rpt_sched_stop(f.s); /* not running: no-op */
    err_msg_t m = {{0}};
    REQUIRE(rpt_sched_start(f.s, &m) == ERR_OK);
    CHECK_ERR(ERR_INTERNAL, rpt_sched_start(f.s, &m));
    CHECK_STR("scheduler already runs", m.text);
    rpt_sched_wait_ticks(f.s, 1);
    CHECK_STR("", listing(f.dir, false));

    pthread_mutex_lock(&f.clock.mu);
    f.clock.now = at("2026-01-02T01:00:00Z");
    pthread_mutex_unlock(&f.clock.mu);
    uint64_t n = rpt_sched_ticks(f.s);
    rpt_sched_wake(f.s);
    rpt_sched_wait_ticks(f.s, n + 1);
    CHECK_STR("sla-all-2026-01-01-2026-01-01-20260102T010000Z.pdf", listing(f.dir, false));
    rpt_sched_stop(f.s);
    rpt_sched_stop(f.s);
    /* Restart on the same instance, as after a stop. */
    REQUIRE(rpt_sched_start(f.s, &m) == ERR_OK);
    rpt_sched_wait_ticks(f.s, rpt_sched_ticks(f.s) + 1);
    pthread_mutex_lock(&f.fk.mu);
    CHECK_INT(1, f.fk.n_calls);
    pthread_mutex_unlock(&f.fk.mu);
    fix_close(&f); /* free stops and joins */
}

/* A stop request during a run: the current report completes, the rest is
   not rendered, the run is not marked handled, and the next start repeats
   it whole, once; the kept-files list holds no duplicates. */
static void test_stop_mid_run(void)
{
    fix_t f;
    fix_open(&f, "UTC");
    rpt_sched_job_t j;
    job_init(&j, f.dir, "daily", "0 1 * * *", RPT_RULE_PREVIOUS_DAY, 1);
    snprintf(j.kinds[1], sizeof j.kinds[1], "aging");
    j.n_kinds = 2;
    snprintf(j.units[0], sizeof j.units[0], "EU");
    snprintf(j.units[1], sizeof j.units[1], "US");
    j.n_units = 2;
    REQUIRE(fix_start(&f, &j, 1, NULL) == ERR_OK);
    tick(&f, "2026-01-01T00:00:00Z");
    f.fk.stop_at_call_of = f.s;
    f.fk.stop_call = 2;
    CHECK_INT(INT64_MAX, tick(&f, "2026-01-02T01:00:00Z"));
    CHECK_INT(2, f.fk.n_calls);
    CHECK_STR("sla-EU-2026-01-01-2026-01-01-20260102T010000Z.pdf\n"
              "sla-US-2026-01-01-2026-01-01-20260102T010000Z.pdf",
              listing(f.dir, false));
    CHECK(strstr(fix_log(&f), "kpid: schedule 'daily': stopping: 2 of 4 reports of the run for "
                              "2026-01-02T01:00:00Z not rendered; the run repeats at the next "
                              "start\n") != NULL);
    tick(&f, "2026-01-02T01:00:01Z"); /* still stopping: nothing more */
    CHECK_INT(2, f.fk.n_calls);
    CHECK(!has_tmp(f.dir));
    f.fk.stop_at_call_of = NULL;

    fix_restart(&f, &j, 1);
    tick(&f, "2026-01-02T02:00:00Z");
    CHECK_INT(6, f.fk.n_calls);
    CHECK_INT(at("2026-01-02T01:00:00Z"), f.fk.calls[2].due);
    CHECK_STR("aging-EU-2026-01-01-2026-01-01-20260102T010000Z.pdf\n"
              "aging-US-2026-01-01-2026-01-01-20260102T010000Z.pdf\n"
              "sla-EU-2026-01-01-2026-01-01-20260102T010000Z.pdf\n"
              "sla-US-2026-01-01-2026-01-01-20260102T010000Z.pdf",
              listing(f.dir, false));
    tick(&f, "2026-01-02T03:00:00Z");
    CHECK_INT(6, f.fk.n_calls);
    /* keep 1: the next run replaces all four; no file is listed twice. */
    tick(&f, "2026-01-03T01:00:00Z");
    CHECK_INT(10, f.fk.n_calls);
    CHECK(strstr(listing(f.dir, false), "20260102T") == NULL);
    const char *st = read_file(f.dir, ".schedule-daily.state");
    CHECK(st != NULL && strstr(st, "sla-EU-2026-01-02") != NULL &&
          strstr(strstr(st, "sla-EU-2026-01-02") + 1, "sla-EU-2026-01-02") == NULL);
    fix_close(&f);
}

/* Unreadable state, stale temporary files, bad directories and options. */
static void test_start_conditions(void)
{
    fix_t f;
    fix_open(&f, "UTC");
    rpt_sched_job_t j;
    job_init(&j, f.dir, "daily", "0 1 * * *", RPT_RULE_PREVIOUS_DAY, 0);
    write_file(f.dir, ".schedule-daily.state", "garbage\n");
    write_file(f.dir, "sla-all-2026-01-01-2026-01-01-20260102T010000Z.pdf.tmp", "half");
    write_file(f.dir, "other-report.pdf.tmp", "not ours");
    REQUIRE(fix_start(&f, &j, 1, NULL) == ERR_OK);
    CHECK(strstr(fix_log(&f), "kpid: schedule 'daily': removed "
                              "sla-all-2026-01-01-2026-01-01-20260102T010000Z.pdf.tmp left by "
                              "an interrupted run\n") != NULL);
    char want[300];
    snprintf(want, sizeof want,
             "kpid: schedule 'daily': %s/.schedule-daily.state is not a schedule state file; "
             "starting fresh (files of earlier runs will not be pruned)\n",
             f.dir);
    CHECK_MSG(strstr(fix_log(&f), want) != NULL, "log: %s", fix_log(&f));
    CHECK_STR("other-report.pdf.tmp", listing(f.dir, false));
    tick(&f, "2026-01-01T00:00:00Z");
    tick(&f, "2026-01-02T01:00:00Z");
    CHECK_INT(1, f.fk.n_calls);
    rpt_sched_free(f.s);
    f.s = NULL;

    /* A state line that is not understood. */
    write_file(f.dir, ".schedule-daily.state", "kpid-schedule-state 1\nlast 12x\n");
    REQUIRE(fix_start(&f, &j, 1, NULL) == ERR_OK);
    snprintf(want, sizeof want, "%s/.schedule-daily.state line 2 is not understood: 'last 12x'",
             f.dir);
    CHECK_MSG(strstr(fix_log(&f), want) != NULL, "log: %s", fix_log(&f));
    rpt_sched_free(f.s);
    f.s = NULL;

    /* An output directory that cannot be created. */
    write_file(f.dir, "plainfile", "x");
    snprintf(j.output_dir, sizeof j.output_dir, "%s/plainfile/reports", f.dir);
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_IO, fix_start(&f, &j, 1, &m));
    CHECK(f.s == NULL);
    snprintf(want, sizeof want,
             "schedule 'daily': cannot create report directory %s/plainfile/reports: Not a "
             "directory",
             f.dir);
    CHECK_STR(want, m.text);
    /* Nested directories are created. */
    snprintf(j.output_dir, sizeof j.output_dir, "%s/a/b/c", f.dir);
    CHECK_ERR(ERR_OK, fix_start(&f, &j, 1, &m));
    rpt_sched_free(f.s);
    f.s = NULL;
    rpt_sched_opts_t bad = {.n_jobs = 1, .tz = f.tz, .render = fake_render};
    rpt_sched_t *s = NULL;
    CHECK_ERR(ERR_BAD_PARAM, rpt_sched_new(&bad, &s, &m));
    CHECK_STR("scheduler: bad options", m.text);
    bad.jobs = &j;
    bad.render = NULL;
    CHECK_ERR(ERR_BAD_PARAM, rpt_sched_new(&bad, &s, &m));
    /* No clock: the thread cannot start. */
    bad.render = fake_render;
    CHECK_ERR(ERR_OK, rpt_sched_new(&bad, &s, &m));
    CHECK_ERR(ERR_INTERNAL, rpt_sched_start(s, &m));
    CHECK_STR("scheduler: no clock", m.text);
    rpt_sched_free(s);
    rpt_sched_free(NULL);
    /* Names become file names. */
    static const char *const bad_names[] = {"", "../x", "a/b", ".hidden", "sp ace"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        rpt_sched_job_t bj = j;
        snprintf(bj.name, sizeof bj.name, "%s", bad_names[i]);
        bad.jobs = &bj;
        CHECK_ERR(ERR_BAD_PARAM, rpt_sched_new(&bad, &s, &m));
        snprintf(want, sizeof want, "schedule name '%s' is empty, repeated, or not [A-Za-z0-9._-]",
                 bad_names[i]);
        CHECK_STR(want, m.text);
    }
    rpt_sched_job_t two[2] = {j, j};
    bad.jobs = two;
    bad.n_jobs = 2;
    CHECK_ERR(ERR_BAD_PARAM, rpt_sched_new(&bad, &s, &m));
    CHECK_STR("schedule name 'daily' is empty, repeated, or not [A-Za-z0-9._-]", m.text);
    fix_close(&f);
}

int main(void)
{
    RUN(test_file_name);
    RUN(test_due_and_listing);
    RUN(test_catch_up_after_restart);
    RUN(test_keep);
    RUN(test_render_failure);
    RUN(test_every_unit);
    RUN(test_local_date_and_two_jobs);
    RUN(test_thread);
    RUN(test_stop_mid_run);
    RUN(test_start_conditions);
    return test_summary();
}
