/*
 * cmd_progress.c — the progress line of a long replay (`kpid rebuild`,
 * `kpid upgrade`): "rebuild: 1200/5000 events (24%), 81000 events/s",
 * redrawn in place at most five times a second and once at the end.
 */
#include "cmd.h"

#include <stdio.h>

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
