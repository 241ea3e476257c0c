/*
 * cmd_report.c — `kpid report`: render one PDF KPI report from a store.
 *
 * Opens the store read-only (it may run beside `kpid serve` on the same
 * directory), renders into a temporary file next to --out and renames it,
 * so --out is never left half-written. The generation time printed in the
 * report is read from the clock here, not inside reports/.
 */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "kpi_date.h"
#include "kpi_tz.h"
#include "rpt.h"
#include "rpt_rule.h"

static void usage(FILE *f)
{
    fputs("usage: kpid report --data DIR [--config FILE] --kind KIND [--business-unit BU]\n"
          "                   --period PERIOD [--currency CUR] --out FILE\n"
          "       kpid report --data DIR [--config FILE] --kind statement --customer ID\n"
          "                   [--as-of YYYY-MM-DD] [--period PERIOD] [--business-unit BU]\n"
          "                   [--currency CUR] --out FILE\n"
          "  Render a PDF KPI report. KIND: sla, aging, dso, ftq, summary, payables,\n"
          "  statement; or xlsx, one Excel workbook of the period's KPIs (a sheet per KPI).\n"
          "  PERIOD: 2025-11 (month), 2025-Q4 (quarter), 2025-W47 (ISO week), 2025 (year)\n"
          "          or 2025-01-01..2025-03-31 (days, inclusive), or as in schedules\n"
          "          previous_day, previous_week, previous_month, previous_quarter\n"
          "          (before today in the reporting zone).\n"
          "  Without --business-unit the report covers the whole book; without --currency\n"
          "  it is in the store's base currency. Aging is as of the period's last day.\n"
          "  A statement is one customer's account: open items, aging and unapplied cash\n"
          "  as of --as-of (default today, or the period's last day), payments and credit\n"
          "  notes of --period (default the month up to --as-of), a section per currency.\n",
          f);
}

err_t cmd_report_period(const char *s, int32_t today, int32_t *from_day, int32_t *to_day,
                        err_msg_t *msg)
{
    if (strncmp(s, "previous_", 9) == 0) {
        rpt_rule_t rule;
        err_t e = rpt_rule_parse(s, &rule, msg);
        if (!e)
            e = rpt_rule_period(rule, today, from_day, to_day);
        return e;
    }
    err_msg_t m = {{0}};
    err_t e = rpt_period_parse(s, from_day, to_day, &m);
    if (e)
        return err_set(msg, e,
                       "%s; or previous_day, previous_week, previous_month, previous_quarter",
                       err_msg_or(&m, e));
    return ERR_OK;
}

int cmd_report_main(int argc, char **argv)
{
    cmd_config_t cfg;
    cmd_config_default(&cfg);
    const char *data = NULL, *config = NULL, *kind = NULL, *unit = NULL, *period = NULL,
               *currency = NULL, *out = NULL, *customer = NULL, *as_of = NULL;
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"kind", required_argument, NULL, 'k'},
                                             {"business-unit", required_argument, NULL, 'b'},
                                             {"period", required_argument, NULL, 'p'},
                                             {"currency", required_argument, NULL, 'C'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"customer", required_argument, NULL, 'u'},
                                             {"as-of", required_argument, NULL, 'a'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:k:b:p:C:o:u:a:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'c': config = optarg; break;
        case 'k': kind = optarg; break;
        case 'b': unit = optarg; break;
        case 'p': period = optarg; break;
        case 'C': currency = optarg; break;
        case 'o': out = optarg; break;
        case 'u': customer = optarg; break;
        case 'a': as_of = optarg; break;
        case 'h': usage(stdout); return CMD_EXIT_OK;
        default: usage(stderr); return CMD_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kpid report: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    err_msg_t msg = {{0}};
    rpt_request_t rq = {0};
    if (kind != NULL && rpt_kind_parse(kind, &rq.kind) != ERR_OK) {
        fprintf(stderr,
                "kpid report: unknown kind '%s' (one of: sla, aging, dso, ftq, summary, "
                "payables, xlsx, statement)\n",
                kind);
        return CMD_EXIT_USAGE;
    }
    bool stmt = kind != NULL && rq.kind == RPT_STATEMENT;
    const char *missing = kind == NULL               ? "--kind"
                          : stmt && customer == NULL ? "--customer (a statement is one customer's)"
                          : !stmt && period == NULL  ? "--period"
                          : out == NULL              ? "--out"
                                                     : NULL;
    if (missing != NULL) {
        fprintf(stderr, "kpid report: %s is required\n", missing);
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (!stmt && (customer != NULL || as_of != NULL)) {
        fprintf(stderr, "kpid report: %s is only for --kind statement\n",
                customer != NULL ? "--customer" : "--as-of");
        return CMD_EXIT_USAGE;
    }
    rpt_days_t days = {.has_period = period != NULL, .has_as_of = as_of != NULL};
    if (as_of != NULL && kpi_date_parse(as_of, strlen(as_of), &days.as_of) != ERR_OK) {
        fprintf(stderr, "kpid report: --as-of '%s' is not a date YYYY-MM-DD\n", as_of);
        return CMD_EXIT_USAGE;
    }
    if (customer != NULL && (customer[0] == '\0' || strlen(customer) > KPI_NAME_MAX)) {
        fprintf(stderr, "kpid report: --customer must be 1 to %d bytes\n", KPI_NAME_MAX);
        return CMD_EXIT_USAGE;
    }
    rq.customer = customer;
    /* The syntax first, so that a typo is a usage error before any store
       is opened; a rule's days follow from today, once the zone is known. */
    err_t e = period ? cmd_report_period(period, 0, &rq.from_day, &rq.to_day, &msg) : ERR_OK;
    if (e) {
        fprintf(stderr, "kpid report: %s\n", err_msg_or(&msg, e));
        return CMD_EXIT_USAGE;
    }
    if (currency != NULL) {
        if (strlen(currency) != 3) {
            fprintf(stderr, "kpid report: currency '%s' is not an ISO 4217 code\n", currency);
            return CMD_EXIT_USAGE;
        }
        memcpy(rq.currency, currency, 4);
    }
    if (unit != NULL && (unit[0] == '\0' || strlen(unit) > KPI_NAME_MAX)) {
        fprintf(stderr, "kpid report: --business-unit must be 1 to %d bytes\n", KPI_NAME_MAX);
        return CMD_EXIT_USAGE;
    }
    rq.business_unit = unit;
    if (!cmd_config_resolve(&cfg, "report", config, data))
        return CMD_EXIT_USAGE;
    rq.aging_edges = cfg.aging_edges;
    rq.n_aging_edges = cfg.n_aging_edges;
    rq.sla_goal_bp = cfg.sla_goal_bp; /* the dashboard's goal line, the same in print */
    rq.generated_s = (int64_t)time(NULL);

    kpi_tz_t *tz = NULL;
    store_t *store = NULL;
    e = cmd_open_store(&cfg, true, &tz, &store, &msg);
    if (e) {
        fprintf(stderr, "kpid report: %s\n", err_msg_or(&msg, e));
        return CMD_EXIT_ENV;
    }
    rq.tz = tz; /* "today" in the reporting zone: a period not over is reported to date */
    int32_t today = kpi_tz_day(tz, (int64_t)time(NULL));
    /* Read again with today known: the text was read above, so only a
       statement's days (an as_of after today...) can be refused here. */
    e = period ? cmd_report_period(period, today, &rq.from_day, &rq.to_day, &msg) : ERR_OK;
    if (!e && stmt) {
        days.from_day = rq.from_day;
        days.to_day = rq.to_day;
        e = rpt_statement_days(&days, today, &rq, &msg);
    }
    if (e) {
        store_close(store);
        kpi_tz_free(tz);
        fprintf(stderr, "kpid report: %s\n", err_msg_or(&msg, e));
        return CMD_EXIT_USAGE;
    }
    rpt_info_t info = {0};
    e = rpt_render_atomic(store, &rq, out, &info, &msg);
    store_close(store);
    kpi_tz_free(tz);
    if (e) {
        fprintf(stderr, "kpid report: %s\n", err_msg_or(&msg, e));
        return e == ERR_BAD_PARAM || e == ERR_NOT_FOUND ? CMD_EXIT_USAGE : CMD_EXIT_ENV;
    }
    fprintf(stderr, "kpid report: wrote %s (%u %s, %lld bytes)\n", out, info.pages,
            rq.kind == RPT_XLSX ? "sheets" : "pages", (long long)info.bytes);
    return CMD_EXIT_OK;
}
