/*
 * kpi_tz.h — the reporting time zone: UTC instants <-> local calendar days.
 *
 * Built from the bytes of a TZif file (RFC 8536, versions 1-4) so that kpi/
 * stays free of I/O: the caller reads /usr/share/zoneinfo/NAME and passes the
 * bytes. The transition table is used for instants it covers; beyond its last
 * transition the POSIX TZ footer rule (e.g. "CET-1CEST,M3.5.0,M10.5.0/3")
 * is evaluated, so dates after 2037 are right too.
 *
 * A kpi_tz_t is immutable after creation and safe to share between threads.
 */
#ifndef KPID_KPI_TZ_H
#define KPID_KPI_TZ_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct kpi_tz kpi_tz_t;

/*
 * Parse TZif bytes. `name` (e.g. "Europe/Berlin") is copied and kept for
 * kpi_tz_name(). ERR_TZ with detail in msg when the bytes are not a valid
 * TZif file. The caller frees *out with kpi_tz_free().
 */
err_t kpi_tz_from_tzif(const char *name, const uint8_t *data, size_t len, kpi_tz_t **out,
                       err_msg_t *msg) KPID_MUST_USE;

/* A new UTC zone (name "UTC"). Free with kpi_tz_free(). */
err_t kpi_tz_new_utc(kpi_tz_t **out) KPID_MUST_USE;

/* NULL is a no-op. */
void kpi_tz_free(kpi_tz_t *tz);

/* The name given at creation. Owned by tz. */
const char *kpi_tz_name(const kpi_tz_t *tz);

/* UTC offset in seconds (east positive) in force at instant t. */
int32_t kpi_tz_offset_at(const kpi_tz_t *tz, int64_t t_s);

/* The local calendar day of instant t. */
int32_t kpi_tz_day(const kpi_tz_t *tz, int64_t t_s);

/*
 * The first instant of local day `day`: 00:00 local, or, where 00:00 does not
 * exist (a DST gap at midnight), the first local time that does.
 */
int64_t kpi_tz_day_start(const kpi_tz_t *tz, int32_t day);

/* Instant of local date `day` at seconds-since-midnight `sec` (gap: pushed forward). */
int64_t kpi_tz_local_to_utc(const kpi_tz_t *tz, int32_t day, int32_t sec);

#endif
