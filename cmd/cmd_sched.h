/*
 * cmd_sched.h — scheduled reports in `kpid serve`: the "schedules" config
 * key, starting and stopping the scheduler, and the render callback.
 *
 * cmd_sched_setup.c owns the config parsing and the scheduler's lifecycle
 * (it uses the store only to list business units for "*" schedules).
 * cmd_sched.c holds only cmd_sched_render(), the one place that turns a
 * scheduled job into a rendered report: swapping the renderer means
 * replacing that function's body and nothing else.
 */
#ifndef KPID_CMD_SCHED_H
#define KPID_CMD_SCHED_H

#include <stdio.h>

#include "cmd.h"
#include "rpt_mail.h"
#include "rpt_sched.h"

struct json_t; /* jansson's, kept out of this header */

/* Report kinds a schedule may name, in the order of the renderer's kind
   enum (sla = 0, aging, dso, ftq, summary, payables, xlsx). */
#define CMD_SCHED_N_KINDS 7
extern const char *const cmd_sched_kinds[CMD_SCHED_N_KINDS];

/* The index of `kind` in cmd_sched_kinds, or -1. */
int cmd_sched_kind_index(const char *kind);

/*
 * Parse the "schedules" array over cfg->schedules. ERR_CONFIG naming the
 * schedule (or its index when it has no usable name) and the key.
 */
err_t cmd_sched_config(struct json_t *v, cmd_config_t *cfg, err_msg_t *msg) KPID_MUST_USE;

/* What the render callback needs; borrowed, outlives the scheduler. */
typedef struct cmd_sched_ctx {
    store_t *store;
    const kpi_tz_t *tz;
    const char *base_currency;
    const int32_t *aging_edges; /* the config's bucket edges (NULL = defaults) */
    size_t n_aging_edges;
    int32_t sla_goal_bp; /* the config's SLA goal line (dashboard_goals), 0 = 95 % */
    rpt_mailq_t *mailq;  /* where schedules with "mail_to" queue their reports; may be NULL */
    FILE *log;
} cmd_sched_ctx_t;

/* The rpt_sched_render_fn of `kpid serve` (ctx: a cmd_sched_ctx_t). */
err_t cmd_sched_render(void *ctx, const rpt_sched_job_t *job, const char *kind,
                       const char *business_unit, int32_t from_day, int32_t to_day, int64_t due_s,
                       const char *tmp_path, err_msg_t *msg) KPID_MUST_USE;

typedef struct cmd_sched cmd_sched_t;

/*
 * Start the scheduler for cfg->schedules (none: *out = NULL, ERR_OK).
 * Output directories default to cfg->reports_dir, else DATA_DIR/reports.
 * Reports of schedules with "mail_to" are queued on `mailq` (borrowed; may
 * be NULL when no schedule has one). Logs to `log`. ERR_IO when an output
 * directory cannot be created. The caller stops it with cmd_sched_stop()
 * before closing the store and before freeing mailq.
 */
err_t cmd_sched_start(const cmd_config_t *cfg, store_t *store, const kpi_tz_t *tz,
                      rpt_mailq_t *mailq, FILE *log, cmd_sched_t **out,
                      err_msg_t *msg) KPID_MUST_USE;

/* Stop the thread (a report being rendered finishes first) and free. NULL is a no-op. */
void cmd_sched_stop(cmd_sched_t *cs);

#endif
