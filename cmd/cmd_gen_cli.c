/*
 * cmd_gen_cli.c — argument parsing of `kpid gen`; the generator itself is
 * cmd_gen.c.
 */
#include "cmd.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_gen.h"
#include "kpi_date.h"

static void usage(FILE *f)
{
    fputs("usage: kpid gen --invoices N [--seed S] [--start YYYY-MM-DD] [--days D] [--out FILE]\n"
          "  Write deterministic synthetic events (NDJSON) for N invoices, with their\n"
          "  payments, reviews, credit notes, disputes, inquiries and a share of bills.\n"
          "  The same options always give the same bytes. Default: stdout.\n",
          f);
}

static bool parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (s[0] < '0' || s[0] > '9' || *end != '\0' || errno != 0 || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int cmd_gen_main(int argc, char **argv)
{
    cmd_gen_opts_t o;
    cmd_gen_opts_default(&o);
    const char *out = NULL;
    bool have_n = false;
    static const struct option longopts[] = {{"invoices", required_argument, NULL, 'n'},
                                             {"seed", required_argument, NULL, 's'},
                                             {"start", required_argument, NULL, 'S'},
                                             {"days", required_argument, NULL, 'D'},
                                             {"out", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    uint64_t v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:s:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (!parse_u64(optarg, 1, 100000000ull, &o.invoices)) {
                fprintf(stderr, "kpid gen: --invoices must be a number from 1 to 100000000\n");
                return CMD_EXIT_USAGE;
            }
            have_n = true;
            break;
        case 's':
            if (!parse_u64(optarg, 0, UINT64_MAX, &o.seed)) {
                fprintf(stderr, "kpid gen: --seed must be a non-negative integer\n");
                return CMD_EXIT_USAGE;
            }
            break;
        case 'S':
            if (kpi_date_parse(optarg, strlen(optarg), &o.start_day) != ERR_OK) {
                fprintf(stderr, "kpid gen: --start must be a date YYYY-MM-DD\n");
                return CMD_EXIT_USAGE;
            }
            break;
        case 'D':
            if (!parse_u64(optarg, 1, 36500, &v)) {
                fprintf(stderr, "kpid gen: --days must be a number from 1 to 36500\n");
                return CMD_EXIT_USAGE;
            }
            o.days = (int32_t)v;
            break;
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return CMD_EXIT_OK;
        default: usage(stderr); return CMD_EXIT_USAGE;
        }
    }
    if (!have_n || optind < argc) {
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    FILE *f = stdout;
    if (out != NULL && strcmp(out, "-") != 0) {
        f = fopen(out, "w");
        if (f == NULL) {
            fprintf(stderr, "kpid gen: cannot create %s: %s\n", out, strerror(errno));
            return CMD_EXIT_ENV;
        }
    }
    o.progress = isatty(STDERR_FILENO) != 0;
    cmd_gen_stats_t st;
    err_msg_t msg = {{0}};
    err_t e = cmd_gen_run(&o, f, stderr, &st, &msg);
    if (f != stdout) {
        if (fclose(f) != 0 && !e)
            e = err_set(&msg, ERR_IO, "writing %s: %s", out, strerror(errno));
    } else if (fflush(f) != 0 && !e) {
        e = err_set(&msg, ERR_IO, "writing stdout: %s", strerror(errno));
    }
    if (e) {
        fprintf(stderr, "kpid gen: %s\n", err_msg_or(&msg, e));
        return CMD_EXIT_ENV;
    }
    return CMD_EXIT_OK;
}
