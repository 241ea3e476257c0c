/*
 * rpt_sched.h — scheduled reports: when each schedule is due, which files a
 * run writes, catch-up after downtime, keep-N pruning, and the thread that
 * drives it inside `kpid serve`.
 *
 * The scheduler does not render: it calls a render callback for each
 * (kind, business unit) of a due run with a temporary path, and renames the
 * result into place, so a half-written report is never visible under its
 * final name. It does not read the clock either: `now_s` is injected, and
 * rpt_sched_tick() runs whatever is due at a given instant, so tests drive
 * it with a fake clock and never sleep. rpt_sched_start() adds the thread
 * that calls tick with the injected clock and waits for the next due time.
 *
 * Files in each schedule's output directory:
 *   <kind>-<unit or all>-<from>-<to>-<YYYYMMDDTHHMMSSZ>.pdf   a report (.xlsx for the kind xlsx);
 *       from/to are YYYY-MM-DD, the stamp is the due instant in UTC, and
 *       bytes outside [A-Za-z0-9._-] are replaced by '_' (the rule the HTTP
 *       listing shares);
 *   the same name + ".tmp"          while the renderer writes it;
 *   .schedule-<name>.state          the schedule's last due time handled and
 *                                   the files of its kept runs (text,
 *                                   replaced atomically: write, fsync, rename).
 *
 * Rules:
 *   - a due run is handled once: success or failure, the schedule's "last"
 *     moves to that due time (unless a stop request cut the run short: then
 *     it repeats, whole, at the next start); a failed report is logged (schedule name,
 *     kind, unit, reason) and the next attempt is the next due time;
 *   - when due times were missed (the server was down, the machine slept),
 *     only the latest missed one runs, once; a schedule seen for the first
 *     time starts counting from that moment (nothing is back-filled);
 *   - keep N: after a run, the files of all but the newest N runs that
 *     wrote something are deleted (only files this schedule wrote and
 *     recorded in its state; nothing else in the directory is touched).
 */
#ifndef KPID_RPT_SCHED_H
#define KPID_RPT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "kpi_tz.h"
#include "rpt_cron.h"
#include "rpt_rule.h"

#define RPT_SCHED_MAX 16         /* schedules per server */
#define RPT_SCHED_NAME_MAX 64    /* name buffer, [A-Za-z0-9._-]+ */
#define RPT_SCHED_KINDS_MAX 8    /* report kinds per schedule */
#define RPT_SCHED_KIND_MAX 16    /* kind name buffer ("sla", "aging", ...) */
#define RPT_SCHED_UNITS_MAX 16   /* business units listed per schedule */
#define RPT_SCHED_UNIT_MAX 128   /* business unit name buffer */
#define RPT_SCHED_PATH_MAX 4096  /* output directory buffer */
#define RPT_SCHED_ALL_UNITS 1024 /* units a "*" schedule reports on at most */
#define RPT_SCHED_MAIL_MAX 16    /* "mail_to" addresses per schedule */
#define RPT_SCHED_ADDR_MAX 256   /* an address buffer */

/* One schedule, as configured. Plain data: copied by rpt_sched_new(). */
typedef struct rpt_sched_job {
    char name[RPT_SCHED_NAME_MAX];
    char cron_expr[RPT_CRON_EXPR_MAX + 1]; /* as written, for messages */
    rpt_cron_t cron;
    char kinds[RPT_SCHED_KINDS_MAX][RPT_SCHED_KIND_MAX]; /* rendered in this order */
    size_t n_kinds;                                      /* >= 1 */
    char units[RPT_SCHED_UNITS_MAX][RPT_SCHED_UNIT_MAX]; /* see n_units */
    size_t n_units; /* 0: one report on the whole book; units[0] == "*": one per unit */
    rpt_rule_t period;
    char currency[4];                    /* ISO 4217, or "" for the base currency */
    char output_dir[RPT_SCHED_PATH_MAX]; /* must be set ("" only before cmd resolves it) */
    uint32_t keep;                       /* runs whose files are kept; 0 = keep all */
    char mail_to[RPT_SCHED_MAIL_MAX][RPT_SCHED_ADDR_MAX]; /* e-mail each report to these */
    size_t n_mail_to;                                     /* 0 = no e-mail */
} rpt_sched_job_t;

/*
 * Render one report into `tmp_path` (create or truncate it). `business_unit`
 * is NULL for the whole book. The period is [from_day, to_day] in local
 * days; `due_s` is the run's due instant. Return ERR_OK only when the file
 * is complete; on error set msg (it is logged) — the scheduler removes the
 * temporary file. Called on the scheduler's thread.
 */
typedef err_t (*rpt_sched_render_fn)(void *ctx, const rpt_sched_job_t *job, const char *kind,
                                     const char *business_unit, int32_t from_day, int32_t to_day,
                                     int64_t due_s, const char *tmp_path, err_msg_t *msg);

/*
 * The business units a "*" schedule reports on, for `currency` ("" = base):
 * write up to `cap` NUL-terminated names into out[] and their number into
 * *n. A name too long for RPT_SCHED_UNIT_MAX is the callback's error.
 */
typedef err_t (*rpt_sched_units_fn)(void *ctx, const char *currency,
                                    char (*out)[RPT_SCHED_UNIT_MAX], size_t cap, size_t *n,
                                    err_msg_t *msg);

typedef int64_t (*rpt_sched_clock_fn)(void *ctx);

/*
 * Told of each report once it is in place under its final name (`path`,
 * in the job's output directory), on the scheduler's thread: how a
 * schedule's reports are e-mailed. Reports that failed are not reported.
 */
typedef void (*rpt_sched_written_fn)(void *ctx, const rpt_sched_job_t *job, const char *kind,
                                     const char *business_unit, int32_t from_day, int32_t to_day,
                                     int64_t due_s, const char *path);

typedef struct rpt_sched_opts {
    const rpt_sched_job_t *jobs; /* copied */
    size_t n_jobs;               /* <= RPT_SCHED_MAX */
    const kpi_tz_t *tz;          /* the reporting zone; borrowed, must outlive the scheduler */
    rpt_sched_render_fn render;
    rpt_sched_units_fn units;     /* may be NULL when no job lists "*" */
    rpt_sched_written_fn written; /* may be NULL */
    void *ctx;                    /* for render, units and written */
    rpt_sched_clock_fn now_s;     /* UTC seconds; used only by the thread (rpt_sched_start) */
    void *clock_ctx;
    FILE *log; /* one line per report written, per error; borrowed; may be NULL */
} rpt_sched_opts_t;

typedef struct rpt_sched rpt_sched_t;

/*
 * A scheduler for opts->jobs: creates each output directory (with parents)
 * and reads each schedule's state file; removes reports' ".tmp" files left
 * by a crash (names starting with one of the schedule's kinds). Runs
 * nothing yet. ERR_IO when an output directory cannot be created;
 * ERR_BAD_PARAM for bad options, or a job name that is empty, repeated,
 * starts with '.' or holds bytes outside [A-Za-z0-9._-]. An unreadable state file is logged and
 * the schedule starts fresh. Free with rpt_sched_free().
 */
err_t rpt_sched_new(const rpt_sched_opts_t *opts, rpt_sched_t **out, err_msg_t *msg) KPID_MUST_USE;

/* Stops the thread if running (rpt_sched_stop), then frees. NULL is a no-op. */
void rpt_sched_free(rpt_sched_t *s);

/*
 * Run everything due at `now_s` (see the rules above), on the calling
 * thread, and return in *next_due_s the earliest due time still ahead
 * (INT64_MAX when no schedule can run again). Never fails: every problem is
 * logged. Must not be called while the thread runs.
 */
void rpt_sched_tick(rpt_sched_t *s, int64_t now_s, int64_t *next_due_s);

/*
 * Start the scheduler's thread: it ticks at once (catch-up), then sleeps
 * until the next due time by opts->now_s — waking at least every
 * RPT_SCHED_RECHECK_S seconds so a clock step is noticed — or until
 * rpt_sched_wake()/rpt_sched_stop(). ERR_INTERNAL if the thread cannot be
 * created or already runs.
 */
#define RPT_SCHED_RECHECK_S 60
err_t rpt_sched_start(rpt_sched_t *s, err_msg_t *msg) KPID_MUST_USE;

/* Make the thread read the clock and tick now (e.g. after a fake clock moved). */
void rpt_sched_wake(rpt_sched_t *s);

/* Ticks the thread has completed so far. */
uint64_t rpt_sched_ticks(rpt_sched_t *s);

/* Block until the thread has completed at least n ticks (or is stopped):
   how a caller knows that a wake, or the catch-up at start, took effect. */
void rpt_sched_wait_ticks(rpt_sched_t *s, uint64_t n);

/* Ask the thread to stop, wake it and join it. Returns once it has exited:
   the report being rendered is finished, the rest of its run is left for
   the next start (the run is not marked handled). No-op when not running. */
void rpt_sched_stop(rpt_sched_t *s);

/* Set the stop request without joining (callable from a render callback):
   a tick in progress ends after the current report; later ticks run
   nothing. rpt_sched_start() clears it. */
void rpt_sched_request_stop(rpt_sched_t *s);

/* The next due time of job i (after the last tick), INT64_MIN before the first tick. */
int64_t rpt_sched_next_due(const rpt_sched_t *s, size_t i);

/*
 * The file name of one report (see the naming rule above) into buf of cap
 * bytes. `business_unit` NULL means the whole book ("all"). ERR_TOO_LARGE
 * when it does not fit.
 */
err_t rpt_sched_file_name(const char *kind, const char *business_unit, int32_t from_day,
                          int32_t to_day, int64_t due_s, char *buf, size_t cap) KPID_MUST_USE;

#endif
