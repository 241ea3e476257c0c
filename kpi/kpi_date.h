/*
 * kpi_date.h — calendar arithmetic and date/time text.
 *
 * A date is an int32_t count of days since 1970-01-01 (proleptic Gregorian,
 * negative before 1970). An instant is an int64_t count of UTC seconds since
 * the epoch. Broken-down forms exist only at the edges (parsing, printing).
 * Nothing here reads the clock or the TZ environment.
 */
#ifndef KPID_KPI_DATE_H
#define KPID_KPI_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Supported range: years 1900..9999. Outside it parsers return ERR_BAD_DATE. */
#define KPI_YEAR_MIN 1900
#define KPI_YEAR_MAX 9999

/* Days since epoch of a civil date; month 1..12, day 1..31 (caller checks validity). */
int32_t kpi_days_from_civil(int32_t y, int32_t m, int32_t d);
/* Civil date of a day number. Any out-pointer may be NULL. */
void kpi_civil_from_days(int32_t day, int32_t *y, int32_t *m, int32_t *d);
/* 1 for leap years. */
bool kpi_is_leap(int32_t y);
/* Days in month m (1..12) of year y. */
int32_t kpi_days_in_month(int32_t y, int32_t m);
/* ISO weekday of a day number: 1 = Monday .. 7 = Sunday. */
int32_t kpi_weekday(int32_t day);
/* The day as UTC seconds at 00:00:00 UTC. */
int64_t kpi_day_start_utc(int32_t day);
/* floor(t / 86400): the UTC day of an instant. */
int32_t kpi_utc_day(int64_t t_s);

/*
 * Parse "YYYY-MM-DD" exactly (10 bytes, real calendar date: 2025-02-29 fails).
 * ERR_BAD_DATE otherwise.
 */
err_t kpi_date_parse(const char *s, size_t len, int32_t *day_out) KPID_MUST_USE;

/*
 * Parse an RFC 3339 date-time: "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)".
 * 't'/'T'/' ' separate date and time; 'z' equals 'Z'; fractional seconds are
 * accepted and truncated; a leap second ":60" is taken as ":59". An offset
 * is required (a time without one is ambiguous: ERR_BAD_DATE). The UTC
 * instant must fall in the supported years too ("1900-01-01T00:00:00+01:00"
 * is 1899 in UTC: ERR_BAD_DATE), so every accepted time prints back as a UTC
 * time that parses. Result: UTC seconds.
 */
err_t kpi_time_parse_rfc3339(const char *s, size_t len, int64_t *t_out) KPID_MUST_USE;

/* "YYYY-MM-DD" into buf (at least KPI_DATE_BUF bytes). Returns buf. */
#define KPI_DATE_BUF 16
char *kpi_date_format(int32_t day, char *buf);

/* "YYYY-MM-DDTHH:MM:SSZ" into buf (at least KPI_TIME_BUF bytes). Returns buf. */
#define KPI_TIME_BUF 32
char *kpi_time_format_utc(int64_t t_s, char *buf);

/* Add n months, clamping the day to the month's end (Jan 31 + 1 = Feb 28/29). */
int32_t kpi_add_months(int32_t day, int32_t n);

#endif
