/*
 * main.c — the kpid binary: dispatch to a subcommand, like git.
 *
 * The only mutable global of kpid lives here: the stop flag that SIGINT and
 * SIGTERM set during `kpid ingest` (serve takes its signals with sigwait).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cmd.h"
#include "cmd_nats.h"

static volatile sig_atomic_t g_stop;

static void on_stop(int sig)
{
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *f)
{
    fputs("usage: kpid COMMAND [OPTIONS]\n"
          "\n"
          "commands:\n"
          "  serve    serve the HTTP API        (kpid serve --data DIR --listen HOST:PORT)\n"
          "  ingest   load event files          (kpid ingest --data DIR FILE... | -)\n"
          "  gen      generate synthetic events (kpid gen --invoices N --seed S --out FILE)\n"
          "  rebuild  recompute derived KPI state from the event log (kpid rebuild --data DIR)\n"
          "  upgrade  convert a store of the previous format in place (kpid upgrade --data DIR)\n"
          "  report   render a PDF KPI report   (kpid report --kind KIND --period PERIOD --out F)\n"
          "  key      manage API keys           (kpid key add|list|revoke --config FILE)\n"
          "  check    verify a store or a backup, read-only  (kpid check --data DIR)\n"
          "  publish  load event files into the NATS stream of the serve --nats nodes\n"
          "           (kpid publish --nats URL FILE...)\n"
          "  version  print the version\n"
          "\n"
          "'kpid COMMAND --help' describes a command. Docs: README.md and docs/.\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve_main(argc - 1, argv + 1);
    if (strcmp(cmd, "ingest") == 0) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        return cmd_ingest_main(argc - 1, argv + 1, &g_stop);
    }
    if (strcmp(cmd, "gen") == 0)
        return cmd_gen_main(argc - 1, argv + 1);
    if (strcmp(cmd, "rebuild") == 0)
        return cmd_rebuild_main(argc - 1, argv + 1);
    if (strcmp(cmd, "upgrade") == 0)
        return cmd_upgrade_main(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cmd_report_main(argc - 1, argv + 1);
    if (strcmp(cmd, "key") == 0)
        return cmd_key_main(argc - 1, argv + 1);
    if (strcmp(cmd, "check") == 0)
        return cmd_check_main(argc - 1, argv + 1);
    if (strcmp(cmd, "publish") == 0)
        return cmd_publish_main(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("kpid 0.1.0 (store format %d)\n", STORE_FORMAT_VERSION);
        return CMD_EXIT_OK;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return CMD_EXIT_OK;
    }
    fprintf(stderr, "kpid: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return CMD_EXIT_USAGE;
}
