/*
 * cmd_progress.c — what the commands that replay a whole store (`kpid
 * rebuild`, `kpid upgrade`) share: their options, and the progress line
 * ("rebuild: 1200/5000 events (24%), 81000 events/s") redrawn in place at
 * most five times a second and once at the end.
 */
#include "cmd.h"

#include <getopt.h>
#include <stdio.h>

int cmd_replay_args(int argc, char **argv, const char *command, void (*usage)(FILE *),
                    const char **data, const char **config, bool *quiet)
{
    static const struct option longopts[] = {{"data", required_argument, NULL, 'd'},
                                             {"config", required_argument, NULL, 'c'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    *data = *config = NULL;
    *quiet = false;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "d:c:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': *data = optarg; break;
        case 'c': *config = optarg; break;
        case 'q': *quiet = true; break;
        case 'h': usage(stdout); return CMD_EXIT_OK;
        default: usage(stderr); return CMD_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "kpid %s: unexpected argument '%s'\n", command, argv[optind]);
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    return -1;
}

static double secs(const struct timespec *a, const struct timespec *b)
{
    return (double)(b->tv_sec - a->tv_sec) + (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

void cmd_progress_start(cmd_progress_t *p, const char *what, FILE *out)
{
    p->what = what;
    p->out = out;
    (void)clock_gettime(CLOCK_MONOTONIC, &p->t0);
    p->last = p->t0;
    p->drawn = false;
}

void cmd_progress_update(void *ctx, uint64_t done, uint64_t total)
{
    cmd_progress_t *p = ctx;
    if (p->out == NULL)
        return;
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    if (done != total && p->drawn && secs(&p->last, &now) < 0.2)
        return;
    p->last = now;
    p->drawn = true;
    double el = secs(&p->t0, &now);
    double rate = el > 0 ? (double)done / el : 0;
    unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
    fprintf(p->out, "\r%s: %llu/%llu events (%u%%), %.0f events/s   ", p->what,
            (unsigned long long)done, (unsigned long long)total, pct, rate);
    if (done == total)
        fputc('\n', p->out);
    fflush(p->out);
}

double cmd_progress_elapsed(const cmd_progress_t *p)
{
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    return secs(&p->t0, &now);
}
