/*
 * cmd_check.c — `kpid check`: open a store read-only and read every event
 * back, to verify a backup (docs/operations.md) or a store after a crash.
 *
 * Read-only: it takes no lock and writes nothing to the data file, so it can
 * run beside a live `kpid serve` on the same directory, or on a copy made by
 * mdb_copy. It checks what the store checks at open (format version, zone,
 * base currency, a file not cut short), decodes every event of the log in
 * order and compares their number with the store's own count, then reads
 * every entry of every database (store_verify). LMDB pages carry no
 * checksums: damage that still parses is not seen, and a page garbled badly
 * enough can crash LMDB while it reads (restore from a backup then).
 */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kpi_date.h"

#define CHECK_PAGE 10000

static void usage(FILE *f)
{
    fputs("usage: kpid check [--data DIR] [--config FILE]\n"
          "  Open the store read-only (beside a running server, or a backup copy), read\n"
          "  every event back and print what it holds. Exit 0 when it is readable and\n"
          "  consistent, 3 when it is not (with the reason).\n",
          f);
}

typedef struct walk {
    uint64_t n;
    int64_t first_s, last_s;
} walk_t;

static err_t count_row(void *ctx, const store_ev_row_t *row)
{
    walk_t *w = ctx;
    if (w->n == 0 || row->ev->time_s < w->first_s)
        w->first_s = row->ev->time_s;
    if (w->n == 0 || row->ev->time_s > w->last_s)
        w->last_s = row->ev->time_s;
    w->n++;
    return ERR_OK;
}

/* Every event of one snapshot, page by page; *w counts them. */
static err_t walk_log(store_t *store, walk_t *w, err_msg_t *msg)
{
    store_snap_t *snap = NULL;
    err_t e = store_snap_begin(store, &snap);
    if (e)
        return err_set(msg, e, "cannot read the store: %s", err_str(e));
    store_ev_filter_t f = {0};
    char cursor[STORE_CURSOR_BUF] = "", next[STORE_CURSOR_BUF];
    do {
        e = store_events_list(snap, &f, cursor, CHECK_PAGE, count_row, w, next);
        memcpy(cursor, next, sizeof cursor);
    } while (!e && cursor[0] != '\0');
    store_snap_end(snap);
    if (e)
        return err_set(msg, e, "reading event %llu of the log failed: %s",
                       (unsigned long long)w->n + 1, err_str(e));
    return ERR_OK;
}

/* Open, walk and verify; prints the outcome. The process exit status. */
static int check_store(const cmd_config_t *cfg)
{
    err_msg_t msg = {{0}};
    kpi_tz_t *tz = NULL;
    store_t *store = NULL;
    err_t e = cmd_open_store(cfg, true, &tz, &store, &msg);
    if (e) {
        fprintf(stderr, "kpid check: %s\n", err_msg_or(&msg, e));
        kpi_tz_free(tz);
        return CMD_EXIT_ENV;
    }
    /* The count first, then the walk: a live writer only adds events. */
    store_stats_t st;
    walk_t w = {0};
    e = store_stats(store, &st);
    if (e)
        e = err_set(&msg, e, "cannot read the store's statistics: %s", err_str(e));
    else
        e = walk_log(store, &w, &msg);
    if (!e && w.n < st.events)
        e = err_set(&msg, ERR_STORE_CORRUPT,
                    "the store is damaged: the log holds %llu readable events but the store "
                    "counts %llu",
                    (unsigned long long)w.n, (unsigned long long)st.events);
    uint64_t entries = 0;
    if (!e)
        e = store_verify(store, &entries, &msg);
    store_close(store);
    kpi_tz_free(tz);
    if (e) {
        fprintf(stderr, "kpid check: %s: %s\n", cfg->data_dir, err_msg_or(&msg, e));
        return CMD_EXIT_ENV;
    }
    char first[KPI_TIME_BUF] = "-", last[KPI_TIME_BUF] = "-";
    if (w.n > 0) {
        kpi_time_format_utc(w.first_s, first);
        kpi_time_format_utc(w.last_s, last);
    }
    uint64_t docs = 0;
    for (int k = 0; k < KPI_DOC_COUNT; k++)
        docs += st.docs[k];
    printf("kpid check: %s: ok: %llu events (%s .. %s), %llu documents, %llu pending, "
           "%llu entries in all; time zone %s, base currency %s; %.1f of %.1f MiB of the map "
           "in use\n",
           cfg->data_dir, (unsigned long long)w.n, first, last, (unsigned long long)docs,
           (unsigned long long)st.pending, (unsigned long long)entries, st.tz, st.base_currency,
           (double)st.map_used / (1 << 20), (double)st.map_size / (1 << 20));
    return CMD_EXIT_OK;
}

int cmd_check_main(int argc, char **argv)
{
    cmd_config_t cfg;
    cmd_config_default(&cfg);
    const char *data = NULL, *config = NULL;
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'c': config = optarg; break;
        case 'h': usage(stdout); return CMD_EXIT_OK;
        default: usage(stderr); return CMD_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kpid check: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    if (!cmd_config_resolve(&cfg, "check", config, data))
        return CMD_EXIT_USAGE;
    /* LMDB trusts its pages: a page garbled badly enough makes it fault or
       abort while reading. The check runs in a child process so that even
       then the answer is a message and exit status 3. */
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = check_store(&cfg);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    if (pid < 0)
        return check_store(&cfg);
    int ws = 0;
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(ws) && (WEXITSTATUS(ws) == CMD_EXIT_OK || WEXITSTATUS(ws) == CMD_EXIT_ENV))
        return WEXITSTATUS(ws);
    if (WIFSIGNALED(ws))
        fprintf(stderr,
                "kpid check: %s: the store is damaged: reading it crashed (signal %d); restore "
                "it from a backup\n",
                cfg.data_dir, WTERMSIG(ws));
    else
        fprintf(stderr,
                "kpid check: %s: the store is damaged: reading it failed (status %d); restore "
                "it from a backup\n",
                cfg.data_dir, WIFEXITED(ws) ? WEXITSTATUS(ws) : -1);
    return CMD_EXIT_ENV;
}
