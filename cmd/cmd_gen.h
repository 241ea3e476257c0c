/*
 * cmd_gen.h — the deterministic synthetic event generator behind `kpid gen`
 * and `kpid serve --demo`.
 *
 * cmd_gen_run writes NDJSON (one docs/events.md event per line) describing a book of
 * `invoices` customer invoices issued over `days` days from `start_day`, with
 * everything that follows them in order-to-cash (reviews, adjustments,
 * payments and their application, refunds, credit notes, disputes, write-offs,
 * inquiries, credit limits and holds) plus a share of vendor bills and their
 * procure-to-pay events, and an exchange rate (fx.rate) of each currency
 * against USD for the first day and every weekday. Every line is a valid event; lines come in
 * nondecreasing event time; the same options give the same bytes on every
 * machine (integer-only PRNG, no floating point, no clock, no locale).
 *
 * Memory follows the invoices per day, not their total: follow-up events
 * wait in a ring of per-day buckets spanning the scheduling horizon, so it
 * holds what is pending over that horizon (about 20 MB for a million
 * invoices over two years, 130 MB for ten million).
 */
#ifndef KPID_CMD_GEN_H
#define KPID_CMD_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "kpi_event.h"

typedef struct cmd_gen_opts {
    uint64_t invoices; /* customer invoices to issue, >= 1 */
    uint64_t seed;     /* any value; ids carry it ("g<seed>-<n>") */
    int32_t start_day; /* first issue day, days since 1970-01-01 */
    int32_t days;      /* invoices are spread over [start_day, start_day + days), >= 1 */
    bool progress;     /* show a progress line on cmd_gen_run's progress_to */
} cmd_gen_opts_t;

/* 1000 invoices, seed 1, from 2024-01-01, over 730 days, no progress line. */
void cmd_gen_opts_default(cmd_gen_opts_t *o);

/* What one run wrote. */
typedef struct cmd_gen_stats {
    uint64_t events;                /* lines written */
    uint64_t bytes;                 /* bytes written, newlines included */
    uint64_t by_type[KPI_EV_COUNT]; /* lines per kpi_ev_type_t */
    uint64_t invoices;              /* invoice.issued lines (== opts.invoices) */
    uint64_t bills;                 /* bill.received lines */
} cmd_gen_stats_t;

/*
 * Write the events of *o to `out` and fill *st (may be NULL). When
 * o->progress and progress_to is non-NULL, a "\r"-updated progress line goes
 * to progress_to and is ended with a newline at the end.
 * Returns ERR_BAD_PARAM for options out of range, ERR_NOMEM, or ERR_IO when
 * writing to `out` fails (disk full, broken pipe); *msg (may be NULL) says
 * why. On error part of the output may have been written. The caller owns
 * and closes both streams.
 */
err_t cmd_gen_run(const cmd_gen_opts_t *o, FILE *out, FILE *progress_to, cmd_gen_stats_t *st,
                  err_msg_t *msg) KPID_MUST_USE;

#endif
