/*
 * cmd_upgrade.c — `kpid upgrade`: convert a store of the previous format
 * (STORE_FORMAT_UPGRADABLE_MIN .. STORE_FORMAT_UPGRADABLE) to this build's, in place
 * (store_upgrade()). It says what it is about to do before writing anything, shows the replay's
 * progress on a terminal like `kpid rebuild`, and can be run again after an interruption (it
 * finishes the job).
 */
#include "cmd.h"

#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "coll.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kpid upgrade [--data DIR] [--config FILE] [--quiet]\n"
            "  Convert a format-%d or -%d store to format %d in place. The event log is kept as\n"
            "  it is; documents and derived KPI state are recomputed from it (like\n"
            "  `kpid rebuild`). Stop the server first and back the store up. Give it\n"
            "  the --config the store is served with. Interrupted, it leaves a store\n"
            "  that every command refuses until `kpid upgrade` is run again.\n",
            STORE_FORMAT_UPGRADABLE_MIN, STORE_FORMAT_UPGRADABLE, STORE_FORMAT_VERSION);
}

typedef struct prog {
    const char *dir;
    bool quiet;
    cmd_progress_t bar;
} prog_t;

static void on_step(void *ctx, store_upgrade_step_t st, const store_upgrade_info_t *info)
{
    prog_t *p = ctx;
    if (p->quiet || st != STORE_UPGRADE_PLAN)
        return;
    if (info->resumed && !info->replay)
        fprintf(stderr,
                "kpid upgrade: store %s: finishing an interrupted upgrade to format %d: its "
                "replay was complete; removing the marker\n",
                p->dir, STORE_FORMAT_VERSION);
    else if (info->resumed)
        fprintf(stderr,
                "kpid upgrade: store %s: finishing an interrupted upgrade to format %d: "
                "recomputing documents and derived KPI state from the event log (%llu events)\n",
                p->dir, STORE_FORMAT_VERSION, (unsigned long long)info->events);
    else
        fprintf(stderr,
                "kpid upgrade: store %s: format %u -> %d in place: the event log (%llu events) "
                "is kept as it is; documents and derived KPI state are recomputed from it\n",
                p->dir, info->from_version, STORE_FORMAT_VERSION, (unsigned long long)info->events);
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    prog_t *p = ctx;
    cmd_progress_update(&p->bar, done, total);
}

int cmd_upgrade_main(int argc, char **argv)
{
    cmd_config_t cfg;
    cmd_config_default(&cfg);
    const char *data, *config;
    bool quiet;
    int rc = cmd_replay_args(argc, argv, "upgrade", usage, &data, &config, &quiet);
    if (rc >= 0)
        return rc;
    if (!cmd_config_resolve(&cfg, "upgrade", config, data))
        return CMD_EXIT_USAGE;
    err_msg_t msg = {{0}};
    kpi_tz_t *tz = NULL;
    err_t e = coll_tz_load(cfg.time_zone, &tz, &msg);
    if (e) {
        fprintf(stderr, "kpid upgrade: %s\n", err_msg_or(&msg, e));
        return CMD_EXIT_ENV;
    }
    /* The same settings as every other command opens the store with. */
    store_opts_t so = {
        .dir = cfg.data_dir,
        .tz = tz,
        .base_currency = cfg.base_currency,
        .slas = cfg.slas,
        .n_slas = cfg.n_slas,
        .cal = {cfg.weekend_mask, cfg.holidays, cfg.n_holidays},
    };
    prog_t p = {.dir = cfg.data_dir, .quiet = quiet};
    cmd_progress_start(&p.bar, "upgrade", isatty(STDERR_FILENO) && !quiet ? stderr : NULL);
    store_upgrade_cb_t cb = {.step = on_step, .progress = on_progress, .ctx = &p};
    store_upgrade_info_t info;
    e = store_upgrade(&so, &cb, &info, &msg);
    double took = cmd_progress_elapsed(&p.bar);
    kpi_tz_free(tz);
    if (e) {
        fprintf(stderr, "kpid upgrade: %s\n", err_msg_or(&msg, e));
        return CMD_EXIT_ENV;
    }
    if (quiet)
        return CMD_EXIT_OK;
    if (info.nothing_to_do)
        fprintf(stderr, "kpid upgrade: store %s is format %d already; nothing to do\n",
                cfg.data_dir, STORE_FORMAT_VERSION);
    else if (!info.replay)
        fprintf(stderr, "kpid upgrade: store %s is format %d\n", cfg.data_dir,
                STORE_FORMAT_VERSION);
    else
        fprintf(stderr, "kpid upgrade: store %s is format %d: %llu events replayed in %.1f s\n",
                cfg.data_dir, STORE_FORMAT_VERSION, (unsigned long long)info.events, took);
    return CMD_EXIT_OK;
}
