/*
 * rpt_sched.c — the report scheduler: due times, runs, state files, the
 * thread. See rpt_sched.h for the rules and the files it keeps.
 *
 * Per schedule it holds: the job (a copy), the last due time handled
 * (`last_s`, from the state file or, for a new schedule, the first tick's
 * now), the next due time (`next_s`, cron_next(last_s)) and the files of
 * its kept runs. A tick runs every schedule whose next_s <= now at the
 * latest due time <= now (cron_prev), so any number of missed due times
 * collapse into one run; then last_s = that due time and the state file is
 * replaced. The invariant next_s > now after a tick keeps the thread from
 * spinning.
 *
 * Threading: the thread is the only caller of tick once started; the mutex
 * guards only the stop/wake flags and the tick counter, never a run, so
 * rpt_sched_stop() waits at most for the report being rendered.
 */
#include "rpt_sched.h"

#include "rpt_id.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kpi_date.h"

#define FILE_NAME_MAX 320 /* a report's file name, sanitized */
#define FULL_PATH_MAX (RPT_SCHED_PATH_MAX + FILE_NAME_MAX + 8)
#define STATE_MAGIC "kpid-schedule-state 1"
#define STATE_FILES_MAX 100000 /* a state file listing more is not ours */

typedef struct kept_file {
    int64_t due_s;            /* the run that wrote it */
    char name[FILE_NAME_MAX]; /* in the job's output dir */
} kept_file_t;

typedef struct job_state {
    rpt_sched_job_t job;
    bool have_last;
    int64_t last_s;     /* the last due time handled (or when first seen) */
    int64_t next_s;     /* the next due time; INT64_MIN until computed, INT64_MAX never */
    bool announce;      /* log next_s at the end of this tick */
    kept_file_t *files; /* kept runs' files, oldest first (only when keep > 0) */
    size_t n_files, cap_files;
    char state_path[FULL_PATH_MAX];
} job_state_t;

struct rpt_sched {
    rpt_sched_opts_t opts;
    job_state_t *jobs; /* n_jobs */
    size_t n_jobs;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on CLOCK_MONOTONIC: wakes the thread; signals tick completion */
    bool running, stop, wake;
    uint64_t ticks;
    pthread_t thread;
};

static void logf_(rpt_sched_t *s, const job_state_t *j, const char *fmt, ...) KPID_PRINTF(3, 4);

static void logf_(rpt_sched_t *s, const job_state_t *j, const char *fmt, ...)
{
    if (s->opts.log == NULL)
        return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(s->opts.log, "kpid: schedule '%s': %s\n", j->job.name, line);
    fflush(s->opts.log);
}

/* ---- names and paths ------------------------------------------------------ */

err_t rpt_sched_file_name(const char *kind, const char *business_unit, int32_t from_day,
                          int32_t to_day, int64_t due_s, char *buf, size_t cap)
{
    char id[RPT_ID_MAX];
    rpt_id_format(kind, business_unit, from_day, to_day, due_s, id);
    int n = snprintf(buf, cap, "%s%s", id, rpt_id_ext(kind));
    return n < 0 || (size_t)n >= cap ? ERR_TOO_LARGE : ERR_OK;
}

static err_t join_path(char *buf, size_t cap, const char *dir, const char *name, const char *ext)
{
    int n = snprintf(buf, cap, "%s/%s%s", dir, name, ext);
    return n < 0 || (size_t)n >= cap ? ERR_TOO_LARGE : ERR_OK;
}

/* mkdir -p */
static err_t make_dirs(const char *dir, err_msg_t *msg)
{
    char p[RPT_SCHED_PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p)
        return err_set(msg, ERR_BAD_PARAM, "output directory '%s' is empty or too long", dir);
    memcpy(p, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            return err_set(msg, ERR_IO, "cannot create report directory %s: %s", p,
                           strerror(errno));
        p[i] = saved;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(msg, ERR_IO, "report directory %s is not a directory", dir);
    if (access(dir, W_OK | X_OK) != 0)
        return err_set(msg, ERR_IO, "report directory %s is not writable: %s", dir,
                       strerror(errno));
    return ERR_OK;
}

/* Make renames in dir durable. */
static void sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return;
    (void)fsync(fd); /* best effort: the files themselves are complete either way */
    close(fd);
}

/* ---- state files ---------------------------------------------------------- */

static err_t keep_file(job_state_t *j, int64_t due_s, const char *name)
{
    for (size_t i = 0; i < j->n_files; i++)
        if (strcmp(j->files[i].name, name) == 0)
            return ERR_OK; /* rewritten by a run repeated after an interrupted one */
    if (j->n_files == j->cap_files) {
        size_t cap = j->cap_files ? 2 * j->cap_files : 16;
        kept_file_t *f = realloc(j->files, cap * sizeof *f);
        if (f == NULL)
            return ERR_NOMEM;
        j->files = f;
        j->cap_files = cap;
    }
    kept_file_t *k = &j->files[j->n_files++];
    k->due_s = due_s;
    snprintf(k->name, sizeof k->name, "%s", name);
    return ERR_OK;
}

static bool file_name_ok(const char *name)
{
    return strlen(name) < FILE_NAME_MAX && rpt_id_valid(name);
}

/* Read the state file; a missing one is a new schedule. */
static err_t load_state(job_state_t *j, err_msg_t *msg)
{
    FILE *f = fopen(j->state_path, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return ERR_OK;
        return err_set(msg, ERR_IO, "cannot read %s: %s", j->state_path, strerror(errno));
    }
    err_t e = ERR_OK;
    char line[FILE_NAME_MAX + 64];
    unsigned lineno = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        lineno++;
        size_t len = strlen(line);
        if (len == 0 || line[len - 1] != '\n') {
            e = err_set(msg, ERR_STORE_CORRUPT, "%s line %u is cut or too long", j->state_path,
                        lineno);
            break;
        }
        line[len - 1] = '\0';
        char name[FILE_NAME_MAX];
        long long v;
        int used = 0;
        if (lineno == 1) {
            if (strcmp(line, STATE_MAGIC) != 0) {
                e = err_set(msg, ERR_STORE_CORRUPT, "%s is not a schedule state file",
                            j->state_path);
                break;
            }
        } else if (sscanf(line, "last %lld%n", &v, &used) == 1 && line[used] == '\0') {
            j->have_last = true;
            j->last_s = (int64_t)v;
        } else if (sscanf(line, "file %lld %319s%n", &v, name, &used) == 2 && line[used] == '\0' &&
                   file_name_ok(name) && j->n_files < STATE_FILES_MAX) {
            e = keep_file(j, (int64_t)v, name);
            if (e)
                break;
        } else {
            e = err_set(msg, ERR_STORE_CORRUPT, "%s line %u is not understood: '%.80s'",
                        j->state_path, lineno, line);
            break;
        }
    }
    if (!e && ferror(f))
        e = err_set(msg, ERR_IO, "cannot read %s: %s", j->state_path, strerror(errno));
    fclose(f);
    if (e) {
        j->have_last = false;
        j->n_files = 0;
    }
    return e;
}

/* Replace the state file atomically: write a temporary, fsync, rename. */
static err_t save_state(const job_state_t *j, err_msg_t *msg)
{
    char tmp[FULL_PATH_MAX + 8];
    snprintf(tmp, sizeof tmp, "%s.tmp", j->state_path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return err_set(msg, ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
    fprintf(f, "%s\nlast %" PRId64 "\n", STATE_MAGIC, j->last_s);
    for (size_t i = 0; i < j->n_files; i++)
        fprintf(f, "file %" PRId64 " %s\n", j->files[i].due_s, j->files[i].name);
    bool ok = fflush(f) == 0 && fsync(fileno(f)) == 0;
    int err = errno;
    if (fclose(f) != 0 && ok) {
        ok = false;
        err = errno;
    }
    if (ok && rename(tmp, j->state_path) != 0) {
        ok = false;
        err = errno;
    }
    if (!ok) {
        (void)unlink(tmp); /* nothing else to do with a failed temporary */
        return err_set(msg, ERR_IO, "cannot write %s: %s", j->state_path, strerror(err));
    }
    sync_dir(j->job.output_dir);
    return ERR_OK;
}

/* Remove "<kind>-....pdf.tmp" (or .xlsx.tmp) left in the output dir by a
   run that crashed. */
static void remove_stale_tmp(rpt_sched_t *s, job_state_t *j)
{
    DIR *d = opendir(j->job.output_dir);
    if (d == NULL)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if ((n < 8 || strcmp(de->d_name + n - 8, ".pdf.tmp") != 0) &&
            (n < 9 || strcmp(de->d_name + n - 9, ".xlsx.tmp") != 0))
            continue;
        for (size_t k = 0; k < j->job.n_kinds; k++) {
            size_t kl = strlen(j->job.kinds[k]);
            if (strncmp(de->d_name, j->job.kinds[k], kl) != 0 || de->d_name[kl] != '-')
                continue;
            char p[FULL_PATH_MAX];
            if (join_path(p, sizeof p, j->job.output_dir, de->d_name, "") == ERR_OK &&
                unlink(p) == 0)
                logf_(s, j, "removed %s left by an interrupted run", de->d_name);
            break;
        }
    }
    closedir(d);
}

/* ---- runs ----------------------------------------------------------------- */

/* Delete the files of all but the newest `keep` runs. */
static void prune(rpt_sched_t *s, job_state_t *j)
{
    uint32_t keep = j->job.keep;
    if (keep == 0)
        return;
    for (;;) {
        size_t runs = 0;
        int64_t oldest = INT64_MAX;
        for (size_t i = 0; i < j->n_files; i++) {
            bool seen = false;
            for (size_t k = 0; k < i && !seen; k++)
                seen = j->files[k].due_s == j->files[i].due_s;
            if (!seen)
                runs++;
            if (j->files[i].due_s < oldest)
                oldest = j->files[i].due_s;
        }
        if (runs <= keep)
            return;
        size_t w = 0;
        for (size_t i = 0; i < j->n_files; i++) {
            if (j->files[i].due_s != oldest) {
                j->files[w++] = j->files[i];
                continue;
            }
            char p[FULL_PATH_MAX];
            if (join_path(p, sizeof p, j->job.output_dir, j->files[i].name, "") != ERR_OK)
                continue;
            if (unlink(p) == 0)
                logf_(s, j, "deleted %s (keep %u)", j->files[i].name, (unsigned)keep);
            else if (errno != ENOENT)
                logf_(s, j, "cannot delete %s: %s", p, strerror(errno));
        }
        j->n_files = w;
    }
}

static void render_one(rpt_sched_t *s, job_state_t *j, const char *kind, const char *unit,
                       int32_t from, int32_t to, int64_t due_s)
{
    char name[FILE_NAME_MAX], final[FULL_PATH_MAX], tmp[FULL_PATH_MAX];
    char fb[KPI_DATE_BUF], tb[KPI_DATE_BUF];
    const char *what = unit ? unit : "the whole book";
    if (rpt_sched_file_name(kind, unit, from, to, due_s, name, sizeof name) != ERR_OK ||
        join_path(final, sizeof final, j->job.output_dir, name, "") != ERR_OK ||
        join_path(tmp, sizeof tmp, j->job.output_dir, name, ".tmp") != ERR_OK) {
        logf_(s, j, "%s report for %s: file name too long", kind, what);
        return;
    }
    err_msg_t m = {{0}};
    err_t e = s->opts.render(s->opts.ctx, &j->job, kind, unit, from, to, due_s, tmp, &m);
    if (e) {
        logf_(s, j, "%s report for %s, %s to %s, failed: %s (next attempt at the next due time)",
              kind, what, kpi_date_format(from, fb), kpi_date_format(to, tb), err_msg_or(&m, e));
        (void)unlink(tmp); /* may not exist; a leftover would be removed at next start */
        return;
    }
    if (rename(tmp, final) != 0) {
        logf_(s, j, "cannot rename %s into place: %s", tmp, strerror(errno));
        (void)unlink(tmp); /* the report is lost for this run; logged above */
        return;
    }
    logf_(s, j, "wrote %s", name);
    if (s->opts.written != NULL)
        s->opts.written(s->opts.ctx, &j->job, kind, unit, from, to, due_s, final);
    if (j->job.keep > 0 && keep_file(j, due_s, name) != ERR_OK)
        logf_(s, j, "out of memory: %s will not be pruned", name);
}

static bool stopping(rpt_sched_t *s)
{
    pthread_mutex_lock(&s->mu);
    bool stop = s->stop;
    pthread_mutex_unlock(&s->mu);
    return stop;
}

/* Render every report of the run. False when a stop request cut it short
   (the run is then not handled: it runs again, whole, at the next start). */
static bool run_job(rpt_sched_t *s, job_state_t *j, int64_t due_s)
{
    int32_t from, to;
    int32_t run_day = kpi_tz_day(s->opts.tz, due_s);
    if (rpt_rule_period(j->job.period, run_day, &from, &to) != ERR_OK) {
        logf_(s, j, "bad period rule %d", (int)j->job.period);
        return true;
    }
    const rpt_sched_job_t *job = &j->job;
    char(*all)[RPT_SCHED_UNIT_MAX] = NULL;
    const char *const *list = NULL;
    const char *whole[1] = {NULL};
    const char *listed[RPT_SCHED_UNITS_MAX];
    size_t n = 0;
    if (job->n_units == 0) {
        list = whole;
        n = 1;
    } else if (strcmp(job->units[0], "*") == 0) {
        all = calloc(RPT_SCHED_ALL_UNITS, sizeof *all);
        err_msg_t m = {{0}};
        err_t e = all == NULL ? ERR_NOMEM
                  : s->opts.units == NULL
                      ? err_set(&m, ERR_INTERNAL, "no way to list business units")
                      : s->opts.units(s->opts.ctx, job->currency, all, RPT_SCHED_ALL_UNITS, &n, &m);
        if (e) {
            logf_(s, j, "cannot list business units: %s", err_msg_or(&m, e));
            free(all);
            return true;
        }
        if (n == 0)
            logf_(s, j, "no business units in the store yet: nothing to report");
        const char **p = calloc(n ? n : 1, sizeof *p);
        if (p == NULL) {
            logf_(s, j, "out of memory");
            free(all);
            return true;
        }
        for (size_t i = 0; i < n; i++)
            p[i] = all[i];
        list = p;
    } else {
        for (size_t i = 0; i < job->n_units; i++)
            listed[i] = job->units[i];
        list = listed;
        n = job->n_units;
    }
    size_t total = job->n_kinds * n, done = 0;
    for (size_t k = 0; k < job->n_kinds && done == k * n; k++) {
        for (size_t u = 0; u < n; u++, done++) {
            if (stopping(s))
                break;
            render_one(s, j, job->kinds[k], list[u], from, to, due_s);
        }
    }
    sync_dir(job->output_dir);
    if (all != NULL) {
        free((void *)list);
        free(all);
    }
    if (done < total) {
        char a[KPI_TIME_BUF];
        logf_(s, j,
              "stopping: %zu of %zu reports of the run for %s not rendered; the run "
              "repeats at the next start",
              total - done, total, kpi_time_format_utc(due_s, a));
        return false;
    }
    return true;
}

static void compute_next(rpt_sched_t *s, job_state_t *j, int64_t after_s)
{
    if (rpt_cron_next(&j->job.cron, s->opts.tz, after_s, &j->next_s) != ERR_OK) {
        j->next_s = INT64_MAX;
        logf_(s, j, "'%s' has no due time ahead; the schedule is idle", j->job.cron_expr);
    }
    j->announce = true;
}

void rpt_sched_tick(rpt_sched_t *s, int64_t now_s, int64_t *next_due_s)
{
    int64_t earliest = INT64_MAX;
    for (size_t i = 0; i < s->n_jobs; i++) {
        job_state_t *j = &s->jobs[i];
        err_msg_t m = {{0}};
        if (!j->have_last) {
            /* First sight: count from now, and record it so that a
               downtime before the first run is caught up. */
            j->have_last = true;
            j->last_s = now_s;
            err_t e = save_state(j, &m);
            if (e)
                logf_(s, j, "%s", err_msg_or(&m, e));
        }
        if (j->next_s == INT64_MIN)
            compute_next(s, j, j->last_s);
        if (j->next_s <= now_s) {
            int64_t due = j->next_s;
            int64_t latest;
            if (rpt_cron_prev(&j->job.cron, s->opts.tz, now_s, &latest) == ERR_OK && latest > due)
                due = latest;
            if (due > j->next_s) {
                char a[KPI_TIME_BUF], b[KPI_TIME_BUF];
                kpi_time_format_utc(j->next_s, a);
                kpi_time_format_utc(due, b);
                logf_(s, j, "missed due times from %s; running once for %s", a, b);
            }
            if (!run_job(s, j, due)) {
                /* Keep last_s: the run is repeated at the next start. */
                err_t e = save_state(j, &m);
                if (e)
                    logf_(s, j, "%s", err_msg_or(&m, e));
                earliest = INT64_MAX;
                break;
            }
            j->last_s = due;
            prune(s, j);
            err_t e = save_state(j, &m);
            if (e)
                logf_(s, j, "%s", err_msg_or(&m, e));
            compute_next(s, j, due);
        }
        if (j->announce && j->next_s != INT64_MAX) {
            char a[KPI_TIME_BUF];
            kpi_time_format_utc(j->next_s, a);
            logf_(s, j, "next run at %s", a);
        }
        j->announce = false;
        if (j->next_s < earliest)
            earliest = j->next_s;
    }
    *next_due_s = earliest;
}

int64_t rpt_sched_next_due(const rpt_sched_t *s, size_t i)
{
    return i < s->n_jobs ? s->jobs[i].next_s : INT64_MAX;
}

/* ---- lifecycle ------------------------------------------------------------ */

err_t rpt_sched_new(const rpt_sched_opts_t *opts, rpt_sched_t **out, err_msg_t *msg)
{
    *out = NULL;
    if (opts->n_jobs > RPT_SCHED_MAX || (opts->n_jobs > 0 && opts->jobs == NULL) ||
        opts->tz == NULL || opts->render == NULL)
        return err_set(msg, ERR_BAD_PARAM, "scheduler: bad options");
    rpt_sched_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    err_t e = ERR_OK;
    s->opts = *opts;
    s->opts.jobs = NULL;
    s->jobs = calloc(opts->n_jobs ? opts->n_jobs : 1, sizeof *s->jobs);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (s->jobs == NULL) {
        e = ERR_NOMEM;
        goto out;
    }
    for (size_t i = 0; i < opts->n_jobs; i++) {
        /* The name becomes a file name (the state file): no '/', no '..'. */
        const char *nm = opts->jobs[i].name;
        bool ok = file_name_ok(nm) && strlen(nm) < RPT_SCHED_NAME_MAX;
        for (size_t k = 0; ok && k < i; k++)
            ok = strcmp(opts->jobs[k].name, nm) != 0;
        if (!ok) {
            e = err_set(msg, ERR_BAD_PARAM,
                        "schedule name '%.64s' is empty, repeated, or not [A-Za-z0-9._-]", nm);
            goto out;
        }
    }
    for (size_t i = 0; i < opts->n_jobs; i++) {
        job_state_t *j = &s->jobs[i];
        j->job = opts->jobs[i];
        j->next_s = INT64_MIN;
        s->n_jobs++;
        e = make_dirs(j->job.output_dir, msg);
        if (!e && join_path(j->state_path, sizeof j->state_path, j->job.output_dir, ".schedule-",
                            "") != ERR_OK)
            e = err_set(msg, ERR_BAD_PARAM, "output directory too long");
        if (e) {
            char tmp[ERR_MSG_CAP];
            snprintf(tmp, sizeof tmp, "%s", err_msg_or(msg, e));
            err_set(msg, e, "schedule '%s': %s", j->job.name, tmp);
            goto out;
        }
        size_t used = strlen(j->state_path);
        int n =
            snprintf(j->state_path + used, sizeof j->state_path - used, "%s.state", j->job.name);
        if (n < 0 || (size_t)n >= sizeof j->state_path - used) {
            e = err_set(msg, ERR_BAD_PARAM, "schedule '%s': state path too long", j->job.name);
            goto out;
        }
        err_msg_t m = {{0}};
        err_t le = load_state(j, &m);
        if (le)
            logf_(s, j, "%s; starting fresh (files of earlier runs will not be pruned)",
                  err_msg_or(&m, le));
        remove_stale_tmp(s, j);
    }
out:
    if (e) {
        rpt_sched_free(s);
        return e;
    }
    *out = s;
    return ERR_OK;
}

void rpt_sched_free(rpt_sched_t *s)
{
    if (s == NULL)
        return;
    rpt_sched_stop(s);
    for (size_t i = 0; i < s->n_jobs; i++)
        free(s->jobs[i].files);
    free(s->jobs);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void *thread_main(void *arg)
{
    rpt_sched_t *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        s->wake = false;
        pthread_mutex_unlock(&s->mu);
        int64_t now = s->opts.now_s(s->opts.clock_ctx);
        int64_t next;
        rpt_sched_tick(s, now, &next);
        pthread_mutex_lock(&s->mu);
        s->ticks++;
        pthread_cond_broadcast(&s->cv);
        /* Sleep until the next due time, re-reading the clock at least every
           RPT_SCHED_RECHECK_S so that a stepped wall clock is noticed. */
        int64_t wait_s = RPT_SCHED_RECHECK_S;
        if (next != INT64_MAX && next - now < wait_s)
            wait_s = next - now < 1 ? 1 : next - now;
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += (time_t)wait_s;
        while (!s->stop && !s->wake) {
            if (pthread_cond_timedwait(&s->cv, &s->mu, &dl) == ETIMEDOUT)
                break;
        }
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

err_t rpt_sched_start(rpt_sched_t *s, err_msg_t *msg)
{
    if (s->opts.now_s == NULL)
        return err_set(msg, ERR_INTERNAL, "scheduler: no clock");
    pthread_mutex_lock(&s->mu);
    err_t e = ERR_OK;
    if (s->running) {
        e = err_set(msg, ERR_INTERNAL, "scheduler already runs");
    } else {
        s->stop = false;
        int rc = pthread_create(&s->thread, NULL, thread_main, s);
        if (rc != 0)
            e = err_set(msg, ERR_INTERNAL, "cannot start the scheduler thread: %s", strerror(rc));
        else
            s->running = true;
    }
    pthread_mutex_unlock(&s->mu);
    return e;
}

void rpt_sched_wake(rpt_sched_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->wake = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void rpt_sched_wait_ticks(rpt_sched_t *s, uint64_t n)
{
    pthread_mutex_lock(&s->mu);
    while (s->running && s->ticks < n)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

uint64_t rpt_sched_ticks(rpt_sched_t *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t n = s->ticks;
    pthread_mutex_unlock(&s->mu);
    return n;
}

void rpt_sched_request_stop(rpt_sched_t *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

void rpt_sched_stop(rpt_sched_t *s)
{
    pthread_mutex_lock(&s->mu);
    if (!s->running) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    s->stop = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_mutex_lock(&s->mu);
    s->running = false;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}
