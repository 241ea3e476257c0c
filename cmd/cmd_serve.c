/*
 * cmd_serve.c — `kpid serve`: open the store, optionally load demo data,
 * serve HTTP until SIGINT/SIGTERM, then shut down gracefully.
 *
 * Signals are blocked before any thread starts (every thread inherits the
 * mask) and taken synchronously with sigwait() on the main thread, so no
 * handler runs in the middle of a store commit. On a signal the server
 * stops accepting, lets requests in flight finish (a batch being committed
 * always completes; its client gets the answer), then closes the store.
 */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api.h"
#include "cmd_gen.h"
#include "cmd_mail.h"
#include "cmd_nats.h"
#include "cmd_sched.h"
#include "kpi_date.h"

#define DRAIN_MS 10000u

static void usage(FILE *f)
{
    fputs("usage: kpid serve [--data DIR] [--listen HOST:PORT] [--config FILE] [--demo[=N]]\n"
          "                  [--nats URL]\n"
          "  Serve the HTTP API (defaults: ./kpid-data, 127.0.0.1:8080).\n"
          "  --demo[=N]  when the store is empty, first load N generated invoices\n"
          "              (default 2000) issued from 2024-01-01 to 2025-12-31.\n"
          "  --nats URL  one node of many: POST /v1/events publishes to NATS JetStream and\n"
          "              the node applies the stream (config block \"nats\"; see\n"
          "              docs/operations.md, \"Many nodes\").\n"
          "  Prints 'kpid: listening on http://HOST:PORT' once ready (port 0 picks a free one).\n"
          "  Without API keys in --config it serves loopback only, unauthenticated.\n"
          "  SIGHUP puts the config's API keys in force again (docs/security.md).\n",
          f);
}

/* Generate demo events into a temporary file and ingest them. */
static err_t load_demo(store_t *store, const kpi_tz_t *tz, const char *base, uint64_t invoices,
                       err_msg_t *msg)
{
    FILE *tmp = tmpfile();
    if (tmp == NULL)
        return err_set(msg, ERR_IO, "cannot create a temporary file: %s", strerror(errno));
    cmd_gen_opts_t go;
    cmd_gen_opts_default(&go);
    go.invoices = invoices;
    go.seed = 1;
    /* A fixed window, 2024-01-01 to 2025-12-31 (cmd_gen_opts_default): the
       README's examples use its dates and tests/integration/test_readme.py
       runs them against it. The dashboard starts from the latest event day. */
    cmd_gen_stats_t gs;
    fprintf(stderr, "kpid: generating demo data (%" PRIu64 " invoices)...\n", invoices);
    err_t e = cmd_gen_run(&go, tmp, NULL, &gs, msg);
    if (!e && fflush(tmp) != 0)
        e = err_set(msg, ERR_IO, "writing demo data: %s", strerror(errno));
    if (!e) {
        rewind(tmp);
        cmd_ingest_totals_t tot = {0};
        e = cmd_ingest_fd(store, tz, base, fileno(tmp), "demo.ndjson", 0, 0, false, stderr, NULL,
                          &tot, msg);
        if (!e)
            fprintf(stderr, "kpid: demo data loaded: %" PRIu64 " events\n", tot.accepted);
    }
    fclose(tmp);
    return e;
}

/* SIGHUP: read the config again and put its "api_keys" in force (revoked
   keys stop working at once). Other settings need a restart. A config that
   does not load leaves the keys as they are. */
static void reload_keys(api_server_t *srv, const char *config)
{
    if (config == NULL) {
        fprintf(stderr, "kpid: SIGHUP: no --config file, no keys to reload\n");
        return;
    }
    cmd_config_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL) {
        fprintf(stderr, "kpid: SIGHUP: out of memory; keeping the current API keys\n");
        return;
    }
    cmd_config_default(cfg);
    err_msg_t msg = {{0}};
    err_t e = cmd_config_load(config, cfg, &msg);
    if (!e)
        e = api_server_set_keys(srv, cfg->keys, cfg->n_keys, &msg);
    if (e)
        fprintf(stderr, "kpid: SIGHUP: %s; keeping the current API keys\n", err_msg_or(&msg, e));
    else
        fprintf(stderr, "kpid: SIGHUP: %zu API key(s) from %s in force\n", cfg->n_keys, config);
    free(cfg);
}

int cmd_serve_main(int argc, char **argv)
{
    cmd_config_t cfg;
    cmd_config_default(&cfg);
    const char *data = NULL, *listen = NULL, *config = NULL, *nats_url = NULL;
    uint64_t demo = 0;
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"listen", required_argument, NULL, 'l'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"demo", optional_argument, NULL, 'D'},
                                             {"nats", required_argument, NULL, 'N'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:l:c:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': data = optarg; break;
        case 'l': listen = optarg; break;
        case 'c': config = optarg; break;
        case 'N': nats_url = optarg; break;
        case 'D': {
            demo = 2000;
            if (optarg != NULL) {
                char *end = NULL;
                unsigned long long v = strtoull(optarg, &end, 10);
                if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || v < 1 ||
                    v > 10000000ull) {
                    fprintf(stderr, "kpid serve: --demo takes a number of invoices 1..10000000\n");
                    return CMD_EXIT_USAGE;
                }
                demo = v;
            }
            break;
        }
        case 'h': usage(stdout); return CMD_EXIT_OK;
        default: usage(stderr); return CMD_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kpid serve: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    err_msg_t msg = {{0}};
    err_t e;
    if (!cmd_config_resolve(&cfg, "serve", config, data))
        return CMD_EXIT_USAGE;
    if (listen != NULL)
        snprintf(cfg.listen, sizeof cfg.listen, "%s", listen);
    if (nats_url != NULL) {
        snprintf(cfg.nats.url, sizeof cfg.nats.url, "%s", nats_url);
        cfg.have_nats = true;
    }
    if (cfg.have_nats && cmd_nats_check_url(cfg.nats.url, &msg) != ERR_OK) {
        fprintf(stderr, "kpid serve: --nats: %s\n", msg.text);
        return CMD_EXIT_USAGE;
    }
    if (cfg.have_nats && demo > 0) {
        /* Every node is a view of the stream: data loaded into one store
           alone would make it disagree with the others. */
        fprintf(stderr, "kpid serve: --demo loads one store directly; with NATS, publish the "
                        "demo events instead (kpid gen | kpid publish --nats URL -)\n");
        return CMD_EXIT_USAGE;
    }
    char host[64];
    uint16_t port;
    e = cmd_parse_listen(cfg.listen, host, sizeof host, &port, &msg);
    if (e) {
        fprintf(stderr, "kpid serve: %s\n", err_msg_or(&msg, e));
        return CMD_EXIT_USAGE;
    }

    /* Block the stop signals in every thread; the main thread waits for them. */
    sigset_t stopset;
    sigemptyset(&stopset);
    sigaddset(&stopset, SIGINT);
    sigaddset(&stopset, SIGTERM);
    sigaddset(&stopset, SIGHUP); /* reload the API keys */
    pthread_sigmask(SIG_BLOCK, &stopset, NULL);
    signal(SIGPIPE, SIG_IGN);

    kpi_tz_t *tz = NULL;
    store_t *store = NULL;
    e = cmd_open_store(&cfg, false, &tz, &store, &msg);
    if (e) {
        fprintf(stderr, "kpid serve: %s\n", err_msg_or(&msg, e));
        return CMD_EXIT_ENV;
    }
    int status = CMD_EXIT_OK;
    api_server_t *srv = NULL;
    cmd_sched_t *sched = NULL;
    rpt_mailq_t *mailq = NULL;
    coll_nats_t *nats = NULL;
    api_stream_t stream;
    store_stats_t st;
    if (demo > 0 && store_stats(store, &st) == ERR_OK && st.events == 0) {
        e = load_demo(store, tz, cfg.base_currency, demo, &msg);
        if (e) {
            fprintf(stderr, "kpid serve: demo data: %s\n", err_msg_or(&msg, e));
            status = CMD_EXIT_ENV;
            goto out;
        }
    }
    /* Reports by e-mail: a delivery thread with its retry queue. */
    e = cmd_mail_start(&cfg, stderr, &mailq, &msg);
    if (e) {
        fprintf(stderr, "kpid serve: %s\n", err_msg_or(&msg, e));
        status = CMD_EXIT_ENV;
        goto out;
    }
    /* Scheduled reports run on their own thread, never on an HTTP worker. */
    e = cmd_sched_start(&cfg, store, tz, mailq, stderr, &sched, &msg);
    if (e) {
        fprintf(stderr, "kpid serve: %s\n", err_msg_or(&msg, e));
        status = CMD_EXIT_ENV;
        goto out;
    }
    coll_opts_t parse = {.tz = tz, .base_currency = cfg.base_currency};
    if (cfg.have_nats) {
        e = cmd_nats_start(&cfg, store, &parse, stderr, &nats, &stream, &msg);
        if (e) {
            fprintf(stderr, "kpid serve: nats: %s\n", err_msg_or(&msg, e));
            status = e == ERR_CONFIG ? CMD_EXIT_USAGE : CMD_EXIT_ENV;
            goto out;
        }
    }
    char reports_dir[CMD_PATH_MAX + 16];
    if (cfg.reports_dir[0] != '\0')
        snprintf(reports_dir, sizeof reports_dir, "%s", cfg.reports_dir);
    else
        snprintf(reports_dir, sizeof reports_dir, "%s/reports", cfg.data_dir);
    api_opts_t ao = {
        .host = host,
        .port = port,
        .store = store,
        .coll = {.tz = tz, .base_currency = cfg.base_currency},
        .threads = cfg.threads,
        .max_body_bytes = (size_t)cfg.max_body_bytes,
        .log = stderr,
        .aging_edges = cfg.aging_edges,
        .n_aging_edges = cfg.n_aging_edges,
        .sla_goal_bp = cfg.sla_goal_bp,
        .ftq_goal_bp = cfg.ftq_goal_bp,
        .reports_dir = reports_dir, /* created on the first report */
        .mailq = mailq,
        .keys = cfg.keys,
        .n_keys = cfg.n_keys,
        .tls_cert_path = cfg.tls_cert[0] ? cfg.tls_cert : NULL,
        .tls_key_path = cfg.tls_key[0] ? cfg.tls_key : NULL,
        .max_batch_events = (size_t)cfg.max_batch_events,
        .max_connections = cfg.max_connections,
        .connection_timeout_s = cfg.connection_timeout_s,
        .request_timeout_s = cfg.request_timeout_s,
        .max_connections_per_ip = cfg.max_connections_per_ip,
        .header_timeout_s = cfg.header_timeout_s,
        .min_body_rate = cfg.min_body_rate,
        .rate_window_s = cfg.rate_window_s,
        .ingest_queue = cfg.ingest_queue,
        .response_cache_bytes = (size_t)cfg.response_cache_mb << 20,
        .writer_nice = (int)cfg.writer_nice,
        .fx_stale_days = cfg.fx_stale_days,
        .fx_refuse_stale = cfg.fx_refuse_stale,
        .session_ttl_s = cfg.session_ttl_s,
        .session_idle_s = cfg.session_idle_s,
        .stream = nats != NULL ? &stream : NULL,
    };
    e = api_server_start(&ao, &srv, &msg);
    if (e) {
        fprintf(stderr, "kpid serve: %s\n", err_msg_or(&msg, e));
        status = CMD_EXIT_ENV;
        goto out;
    }
    bool v6 = strchr(host, ':') != NULL;
    printf("kpid: listening on %s://%s%s%s:%u (data %s, zone %s, base currency %s)\n",
           api_server_tls(srv) ? "https" : "http", v6 ? "[" : "", host, v6 ? "]" : "",
           api_server_port(srv), cfg.data_dir, cfg.time_zone, cfg.base_currency);
    fflush(stdout);

    int sig = 0;
    for (;;) {
        if (sigwait(&stopset, &sig) != 0)
            continue;
        if (sig != SIGHUP)
            break;
        reload_keys(srv, config);
    }
    fprintf(stderr, "kpid: %s received, finishing requests in flight\n",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    api_server_stop(srv, DRAIN_MS);
    coll_nats_close(nats); /* after the server: no request publishes any more */
    nats = NULL;
    cmd_sched_stop(sched);
    sched = NULL;
    rpt_mailq_free(mailq); /* after its feeders; logs what is still pending */
    mailq = NULL;
    fprintf(stderr, "kpid: stopped\n");
out:
    coll_nats_close(nats);
    cmd_sched_stop(sched); /* joins the thread: a report being rendered finishes */
    rpt_mailq_free(mailq);
    store_close(store);
    kpi_tz_free(tz);
    return status;
}
