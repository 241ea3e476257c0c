/*
 * cmd.h — the subcommands of the kpid binary and what they share:
 * the configuration (file + flags + defaults) and opening the store with it.
 *
 * Each cmd_*_main parses its own arguments (argv[0] is the subcommand name)
 * and returns the process exit status:
 *   0 success; 1 some input was rejected (ingest); 2 usage error;
 *   3 the environment failed (store, files, network).
 */
#ifndef KPID_CMD_H
#define KPID_CMD_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "api_auth.h"
#include "coll_nats.h"
#include "err.h"
#include "kpi.h"
#include "kpi_tz.h"
#include "rpt_mail.h"
#include "rpt_sched.h"
#include "store.h"

#define CMD_EXIT_OK 0
#define CMD_EXIT_REJECTED 1
#define CMD_EXIT_USAGE 2
#define CMD_EXIT_ENV 3

#define CMD_PATH_MAX 4096
#define CMD_HOLIDAYS_MAX 2048

/* Settings from --config FILE (JSON), overridden by flags. */
typedef struct cmd_config {
    char data_dir[CMD_PATH_MAX]; /* "./kpid-data" */
    char listen[128];            /* "127.0.0.1:8080" */
    char time_zone[64];          /* IANA name, "UTC" */
    char base_currency[4];       /* "USD" */
    unsigned threads;            /* HTTP worker threads, 0 = four per CPU, at least 8 */
    uint64_t max_body_bytes;     /* POST body cap, 0 = server default */
    int32_t aging_edges[KPI_BUCKETS_MAX - 2]; /* default bucket edges, 30,60,90,120 */
    size_t n_aging_edges;
    kpi_sla_def_t slas[KPI_SLAS_MAX]; /* the built-ins, changed by "slas" */
    size_t n_slas;
    uint8_t weekend_mask;               /* bit (ISO weekday - 1): 0x60 = Saturday, Sunday */
    int32_t holidays[CMD_HOLIDAYS_MAX]; /* sorted, unique */
    size_t n_holidays;
    char reports_dir[CMD_PATH_MAX];           /* "" = DATA_DIR/reports */
    rpt_sched_job_t schedules[RPT_SCHED_MAX]; /* "schedules" (cmd_sched_config.c) */
    size_t n_schedules;
    rpt_mail_conf_t smtp; /* "smtp" (cmd_mail.c): reports by e-mail */
    bool have_smtp;
    int32_t sla_goal_bp; /* dashboard goal line for SLA compliance, basis points (9500) */
    int32_t ftq_goal_bp; /* ... for first-time quality (9500) */
    /* security and limits (docs/security.md); 0 / "" = the server's default */
    api_key_t keys[API_KEYS_MAX]; /* "api_keys": salted hashes, never key text */
    size_t n_keys;
    char tls_cert[CMD_PATH_MAX]; /* "tls": {"cert": PATH, "key": PATH}; "" = plain HTTP */
    char tls_key[CMD_PATH_MAX];
    uint64_t max_batch_events;       /* events per POST */
    unsigned max_connections;        /* open connections */
    unsigned connection_timeout_s;   /* idle connection closed after */
    unsigned request_timeout_s;      /* a request must arrive within */
    unsigned max_connections_per_ip; /* open connections from one address */
    unsigned header_timeout_s;       /* a request's headers must arrive within */
    unsigned min_body_rate;          /* body bytes/s over each rate window */
    unsigned rate_window_s;          /* the window of min_body_rate */
    unsigned ingest_queue;           /* POST /v1/events in progress at once */
    unsigned response_cache_mb;      /* KPI answers kept while the store is unchanged; 0 = off */
    unsigned writer_nice;            /* niceness added to the ingest writer thread (5) */
    int fx_stale_days;               /* a rate older than this is stale (7; -1: never) */
    bool fx_refuse_stale;            /* stale rates refused (else used and marked) */
    unsigned session_ttl_s;          /* dashboard sign-in lifetime; 0 = 8 hours */
    unsigned session_idle_s;         /* ... and its idle bound; 0 = 1 hour */
    coll_nats_conf_t nats;           /* "nats" (cmd_nats.c); --nats URL sets url */
    bool have_nats;                  /* serve ingests through NATS JetStream */
} cmd_config_t;

void cmd_config_default(cmd_config_t *cfg);

/*
 * Read a JSON config file over cfg (keys not in the file keep their value).
 * ERR_CONFIG naming the key for unknown keys, wrong types and bad values;
 * ERR_IO when the file cannot be read.
 */
err_t cmd_config_load(const char *path, cmd_config_t *cfg, err_msg_t *msg) KPID_MUST_USE;

/*
 * What every subcommand does with --config and --data: read the file over
 * cfg (when config_path is not NULL), then let --data win (when data_dir is
 * not NULL). A bad file is printed as "kpid PROG: message" on stderr and
 * answers false (the caller exits CMD_EXIT_USAGE).
 */
bool cmd_config_resolve(cmd_config_t *cfg, const char *prog, const char *config_path,
                        const char *data_dir) KPID_MUST_USE;

/* Split "HOST:PORT" / "[v6]:PORT" into host (buf of hostcap) and port. */
err_t cmd_parse_listen(const char *s, char *host, size_t hostcap, uint16_t *port,
                       err_msg_t *msg) KPID_MUST_USE;

/* Load the zone and open the store of cfg. Caller closes both. */
err_t cmd_open_store(const cmd_config_t *cfg, bool read_only, kpi_tz_t **tz, store_t **store,
                     err_msg_t *msg) KPID_MUST_USE;
/* The same; `rebuild` opens a store whose derived state was computed with
   other SLA/calendar settings, for `kpid rebuild` to recompute. */
err_t cmd_open_store_ex(const cmd_config_t *cfg, bool read_only, bool rebuild, kpi_tz_t **tz,
                        store_t **store, err_msg_t *msg) KPID_MUST_USE;

/*
 * Ingest one input (fd, named `name` in messages) into the store, as
 * `kpid ingest` does: parsed on the calling thread, committed on a second
 * one in batches. Rejected items go to `errs` (one line each). Totals are
 * added to *totals. *stop (may be NULL) makes it stop after the current
 * batch. `progress`: show a progress line on stderr. batch_events: events per
 * transaction (0: CMD_INGEST_BATCH_DEFAULT; at most CMD_INGEST_BATCH_MAX).
 */
typedef struct cmd_ingest_totals {
    uint64_t items, accepted, duplicates, rejected, pending, released, bytes;
} cmd_ingest_totals_t;

/* Events per transaction when batch_events is 0 (kpid ingest --batch). */
#define CMD_INGEST_BATCH_DEFAULT 250000
#define CMD_INGEST_BATCH_MAX 1000000

err_t cmd_ingest_fd(store_t *store, const kpi_tz_t *tz, const char *base_currency, int fd,
                    const char *name, uint64_t size_hint, size_t batch_events, bool progress,
                    FILE *errs, volatile sig_atomic_t *stop, cmd_ingest_totals_t *totals,
                    err_msg_t *msg) KPID_MUST_USE;

/*
 * The progress line of a long replay on `out` (NULL: silent; callers pass
 * stderr only when it is a terminal): "WHAT: done/total events (pct%),
 * rate events/s", redrawn at most five times a second, and with a newline
 * when done reaches total. cmd_progress_update has store_rebuild's
 * progress-callback signature (ctx is the cmd_progress_t).
 */
typedef struct cmd_progress {
    const char *what;
    FILE *out;
    struct timespec t0, last;
    bool drawn;
} cmd_progress_t;

void cmd_progress_start(cmd_progress_t *p, const char *what, FILE *out);
void cmd_progress_update(void *ctx, uint64_t done, uint64_t total);
/* Seconds since cmd_progress_start. */
double cmd_progress_elapsed(const cmd_progress_t *p);

/*
 * The options of the commands that replay a whole store (`kpid rebuild`,
 * `kpid upgrade`): --data DIR, --config FILE, --quiet, --help; no other
 * argument. Returns -1 to go on (data and config may stay NULL), else the
 * exit status to return at once: CMD_EXIT_OK after --help (usage on
 * stdout), CMD_EXIT_USAGE for anything else (the reason and usage on
 * stderr, the message naming the command).
 */
int cmd_replay_args(int argc, char **argv, const char *command, void (*usage)(FILE *),
                    const char **data, const char **config, bool *quiet);

int cmd_ingest_main(int argc, char **argv, volatile sig_atomic_t *stop);
int cmd_serve_main(int argc, char **argv);
int cmd_gen_main(int argc, char **argv);
int cmd_rebuild_main(int argc, char **argv);
int cmd_upgrade_main(int argc, char **argv);
int cmd_report_main(int argc, char **argv);
/*
 * kpid report --period: a period rpt_period_parse reads (2025-11, 2025-Q4,
 * 2025-W47, 2025, 2025-01-01..2025-03-31), or a rule of the schedules
 * (previous_day, previous_week, previous_month, previous_quarter) applied
 * to `today` (a local day in the reporting zone). ERR_BAD_PARAM or
 * ERR_BAD_VALUE with a message otherwise.
 */
err_t cmd_report_period(const char *s, int32_t today, int32_t *from_day, int32_t *to_day,
                        err_msg_t *msg) KPID_MUST_USE;
int cmd_key_main(int argc, char **argv);
int cmd_check_main(int argc, char **argv);

#endif
