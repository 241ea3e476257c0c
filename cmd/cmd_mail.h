/*
 * cmd_mail.h — reports by e-mail in `kpid serve`: the "smtp" config block,
 * each schedule's "mail_to" (cmd_sched_setup.c parses it), and the delivery
 * queue (reports/rpt_mail.h) that the scheduler and POST /v1/reports feed.
 */
#ifndef KPID_CMD_MAIL_H
#define KPID_CMD_MAIL_H

#include <stdio.h>

#include "cmd.h"
#include "rpt_mail.h"
#include "rpt_sched.h"

struct json_t; /* jansson's, kept out of this header */

/*
 * Parse the "smtp" block over cfg->smtp (cfg->have_smtp = true):
 *   {"url": "smtp://host:port" | "smtps://host:port", "from": ADDRESS,
 *    "user": NAME, "password_file": PATH (read now; one line, the password),
 *    "starttls": "try" | "require" | "off", "timeout_s", "retry_s",
 *    "retry_max_s", "max_attempts"}
 * ERR_CONFIG naming the key (ERR_IO for an unreadable password file).
 */
err_t cmd_smtp_config(struct json_t *v, cmd_config_t *cfg, err_msg_t *msg) KPID_MUST_USE;

/* The config's checks across keys: a schedule with "mail_to" needs the
   "smtp" block. ERR_CONFIG naming the schedule. */
err_t cmd_mail_check(const cmd_config_t *cfg, err_msg_t *msg) KPID_MUST_USE;

/* Start the delivery queue and its thread for cfg->smtp (no smtp block:
 *out = NULL, ERR_OK). Logs to `log`. Free with rpt_mailq_free. */
err_t cmd_mail_start(const cmd_config_t *cfg, FILE *log, rpt_mailq_t **out,
                     err_msg_t *msg) KPID_MUST_USE;

/* The rpt_sched_written_fn of `kpid serve` (ctx: a cmd_sched_ctx_t): queue
   the report for the schedule's mail_to, if any (a refusal is logged). */
void cmd_mail_written(void *ctx, const rpt_sched_job_t *job, const char *kind,
                      const char *business_unit, int32_t from_day, int32_t to_day, int64_t due_s,
                      const char *path);

#endif
