/*
 * bench_rpt_cron.c — cost of rpt_cron_next / rpt_cron_prev, the searches a
 * scheduler tick makes (one next per run, one prev per catch-up).
 *
 * usage: bench_rpt_cron [ITERATIONS]   (default 20000 per expression)
 * Prints calls and wall-clock nanoseconds per call for each expression in
 * Europe/Berlin, stepping `after` by 37 minutes from 2026-01-01. Wall-clock
 * figures are noisy on a shared machine; for comparisons use
 *   valgrind --tool=callgrind bench_rpt_cron 2000
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "coll.h"
#include "rpt_cron.h"

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long iters = argc > 1 ? strtol(argv[1], NULL, 10) : 20000;
    if (iters < 1) {
        fprintf(stderr, "usage: bench_rpt_cron [ITERATIONS]\n");
        return 2;
    }
    kpi_tz_t *tz = NULL;
    err_msg_t m = {{0}};
    if (coll_tz_load("Europe/Berlin", &tz, &m) != ERR_OK) {
        fprintf(stderr, "bench_rpt_cron: %s\n", m.text);
        return 3;
    }
    static const char *const exprs[] = {
        "* * * * *",    /* every minute: the first candidate hits */
        "0 6 1 * *",    /* monthly: walks up to a month of days */
        "30 2 * * *",   /* daily, in the DST gap twice a year */
        "0 12 29 2 *",  /* Feb 29: walks up to 8 years of days */
        "0 9 13 * fri", /* OR rule */
    };
    int64_t start = 1767225600; /* 2026-01-01T00:00:00Z */
    int64_t sink = 0;
    for (size_t k = 0; k < sizeof exprs / sizeof exprs[0]; k++) {
        rpt_cron_t c;
        if (rpt_cron_parse(exprs[k], &c, &m) != ERR_OK) {
            fprintf(stderr, "bench_rpt_cron: %s\n", m.text);
            return 3;
        }
        for (int dir = 0; dir < 2; dir++) {
            double t0 = now_ns();
            for (long i = 0; i < iters; i++) {
                int64_t at = start + (int64_t)i * 37 * 60, out = 0;
                err_t e =
                    dir == 0 ? rpt_cron_next(&c, tz, at, &out) : rpt_cron_prev(&c, tz, at, &out);
                if (e) {
                    fprintf(stderr, "bench_rpt_cron: '%s' failed\n", exprs[k]);
                    return 1;
                }
                sink += out;
            }
            double dt = now_ns() - t0;
            printf("%-16s %s  %ld calls  %.0f ns/call\n", exprs[k], dir ? "prev" : "next", iters,
                   dt / (double)iters);
        }
    }
    kpi_tz_free(tz);
    return sink == 42; /* keep the results alive */
}
