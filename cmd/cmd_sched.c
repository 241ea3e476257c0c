/*
 * cmd_sched.c — the render callback of scheduled reports in `kpid serve`:
 * the seam between the scheduler (reports/rpt_sched.h, which knows when and
 * which files) and the PDF renderer (reports/rpt.h, which knows what goes in
 * them). The kind's index in cmd_sched_kinds is the renderer's kind value;
 * a schedule without a currency reports in the base currency.
 */
#include "cmd_sched.h"

#include <string.h>

#include "rpt.h"

err_t cmd_sched_render(void *ctx, const rpt_sched_job_t *job, const char *kind,
                       const char *business_unit, int32_t from_day, int32_t to_day, int64_t due_s,
                       const char *tmp_path, err_msg_t *msg)
{
    const cmd_sched_ctx_t *c = ctx;
    int k = cmd_sched_kind_index(kind);
    if (k < 0)
        return err_set(msg, ERR_BAD_PARAM, "unknown report kind '%s'", kind);
    /* The header shows the due time: a caught-up run says which run it is. */
    rpt_request_t rq = {.kind = (rpt_kind_t)k,
                        .business_unit = business_unit,
                        .from_day = from_day,
                        .to_day = to_day,
                        .generated_s = due_s,
                        .tz = c->tz,
                        .aging_edges = c->aging_edges,
                        .n_aging_edges = c->n_aging_edges,
                        .sla_goal_bp = c->sla_goal_bp};
    snprintf(rq.currency, sizeof rq.currency, "%s",
             job->currency[0] ? job->currency : c->base_currency);
    return rpt_render_file(c->store, &rq, tmp_path, msg);
}
