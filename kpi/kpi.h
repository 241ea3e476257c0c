/*
 * kpi.h — the KPI math of docs/kpi.md: pure functions, structs in, numbers out.
 *
 * Nothing here does I/O, reads the clock or allocates behind the caller's
 * back. Inputs are the aggregates the store keeps (daily flows, open amounts
 * by due day, SLA and FTQ counters); outputs are exact: amounts in int64
 * minor units and every ratio as a numerator/denominator pair (kpi_ratio_t)
 * that is rounded only when printed (kpi_ratio_round).
 *
 * Days are int32 days since 1970-01-01 in the reporting zone; "as of day d"
 * means after every event of day d.
 */
#ifndef KPID_KPI_H
#define KPID_KPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* ---- exact ratios ------------------------------------------------------- */

/* Why a value is undefined. KPI_UNDEF_NONE means it is defined. */
typedef enum kpi_undef {
    KPI_UNDEF_NONE = 0,
    KPI_UNDEF_NO_SALES,           /* "no sales": DSO family with zero sales */
    KPI_UNDEF_NO_PURCHASES,       /* "no purchases": DPO with zero bills */
    KPI_UNDEF_AR_EXCEEDS_HISTORY, /* "ar exceeds sales history": countback */
    KPI_UNDEF_NOTHING_TO_COLLECT, /* "nothing to collect": CEI denominator 0 */
    KPI_UNDEF_NO_ITEMS,           /* "no items": SLA/FTQ with nothing completed/reviewed */
    KPI_UNDEF_OVERFLOW            /* "overflow": inputs too large to combine exactly */
} kpi_undef_t;

/* The stable reason text of docs/kpi.md ("no sales", ...); "" for NONE. */
const char *kpi_undef_reason(kpi_undef_t u);

/* value = num / den exactly; den > 0 when defined. */
typedef struct kpi_ratio {
    __int128 num;
    __int128 den;
    kpi_undef_t undef;
} kpi_ratio_t;

/*
 * num/den rounded half away from zero to `scale` decimals, as an integer
 * scaled by 10^scale (45.275 -> 4528 at scale 2). ERR_BAD_VALUE when the
 * ratio is undefined, ERR_OVERFLOW when the result leaves int64.
 */
err_t kpi_ratio_round(const kpi_ratio_t *r, int scale, int64_t *out) KPID_MUST_USE;

/* ---- periods ------------------------------------------------------------ */

typedef enum kpi_interval {
    KPI_IV_DAY = 0,
    KPI_IV_WEEK, /* ISO weeks, Monday to Sunday */
    KPI_IV_MONTH,
    KPI_IV_QUARTER
} kpi_interval_t;

/* "day", "week", "month", "quarter" <-> enum. */
const char *kpi_interval_name(kpi_interval_t iv);
err_t kpi_interval_parse(const char *s, kpi_interval_t *out) KPID_MUST_USE;

typedef struct kpi_period {
    int32_t start; /* first day, inclusive */
    int32_t end;   /* last day, inclusive; end >= start */
} kpi_period_t;

/* First day of the calendar unit (day/ISO week/month/quarter) containing day. */
int32_t kpi_unit_start(kpi_interval_t iv, int32_t day);
/* Last day of the calendar unit containing day. */
int32_t kpi_unit_end(kpi_interval_t iv, int32_t day);

/*
 * The calendar units of `iv` that meet [from, to], clipped to it: the first
 * period starts at `from`, the last ends at `to` (a month-to-date is a
 * period of its own). *n receives how many there are; they are written to
 * out only when they fit (n <= cap). ERR_BAD_PARAM when from > to,
 * ERR_TOO_LARGE when more than cap (found in constant time).
 */
err_t kpi_periods(int32_t from, int32_t to, kpi_interval_t iv, kpi_period_t *out, size_t cap,
                  size_t *n) KPID_MUST_USE;

/* ---- business-day calendar ---------------------------------------------- */

typedef struct kpi_calendar {
    uint8_t weekend_mask;    /* bit (iso_weekday - 1) set = not a business day;
                                0x60 = Saturday and Sunday */
    const int32_t *holidays; /* sorted ascending, no duplicates; borrowed */
    size_t n_holidays;
} kpi_calendar_t;

/* true when day is neither a weekend day nor a holiday. */
bool kpi_is_business_day(const kpi_calendar_t *cal, int32_t day);

/*
 * Business days after `start` up to and including `stop` (docs/kpi.md: a bill
 * received Friday and processed Wednesday took 3). 0 when stop <= start.
 */
int32_t kpi_business_days_between(const kpi_calendar_t *cal, int32_t start, int32_t stop);

/* The n-th business day after `start` (n >= 0; n = 0 returns start). */
int32_t kpi_business_day_add(const kpi_calendar_t *cal, int32_t start, int32_t n);

/* ---- aging -------------------------------------------------------------- */

/* Open amount of invoices sharing one basis day (due day or issue day). */
typedef struct kpi_open_group {
    int32_t basis_day; /* due_date or issue date of these invoices */
    int64_t amount;    /* minor units, may be negative (over-credited) */
    int64_t count;     /* open invoices */
} kpi_open_group_t;

#define KPI_BUCKETS_MAX 16

typedef struct kpi_bucket {
    int32_t lo, hi; /* days past due covered, inclusive; lo = INT32_MIN for
                       `current`, hi = INT32_MAX for the last bucket */
    int64_t amount;
    int64_t count;
} kpi_bucket_t;

typedef struct kpi_aging {
    size_t n_buckets; /* n_edges + 2: current, the edge buckets, the open-ended */
    kpi_bucket_t buckets[KPI_BUCKETS_MAX];
    int64_t total_amount;
    int64_t total_count;
} kpi_aging_t;

/*
 * Check bucket edges: 1..KPI_BUCKETS_MAX-2 strictly increasing positive
 * day counts (default 30,60,90,120). ERR_BAD_PARAM otherwise.
 */
err_t kpi_aging_edges_check(const int32_t *edges, size_t n_edges) KPID_MUST_USE;

/* Start an aging with the given edges (checked) and zero totals. */
err_t kpi_aging_init(kpi_aging_t *a, const int32_t *edges, size_t n_edges) KPID_MUST_USE;

/*
 * Add open groups as of day `as_of`: days past due = as_of - basis_day;
 * `current` is <= 0 days, then 1..e1, e1+1..e2, ..., and > last edge.
 * ERR_OVERFLOW (a leaves unchanged only partly: treat as failed) on overflow.
 */
err_t kpi_aging_add(kpi_aging_t *a, int32_t as_of, const kpi_open_group_t *groups,
                    size_t n) KPID_MUST_USE;

/* The label of bucket i: "current", "1-30", ..., "121+". buf >= 32 bytes. */
const char *kpi_bucket_label(const kpi_bucket_t *b, char *buf, size_t cap);

/* ---- DSO family, CEI, DPO ------------------------------------------------ */

/* Standard DSO = ar / sales * days. Undefined (no sales) when sales == 0. */
kpi_ratio_t kpi_dso_standard(int64_t ar_end, int64_t sales, int32_t days);

/* Best possible DSO = current (not yet due) AR / sales * days. */
kpi_ratio_t kpi_dso_best_possible(int64_t current_ar_end, int64_t sales, int32_t days);

/* Average days delinquent = standard - best possible = overdue AR / sales * days. */
kpi_ratio_t kpi_dso_add(int64_t ar_end, int64_t current_ar_end, int64_t sales, int32_t days);

/* One calendar unit of sales history for countback, latest first. */
typedef struct kpi_unit_sales {
    int32_t days;  /* days in the unit (a partial unit at the period end counts its days) */
    int64_t sales; /* sales in the unit */
} kpi_unit_sales_t;

/*
 * Countback DSO (docs/kpi.md): starting from ar_end, walk units[0..n) (latest
 * first), subtracting each unit's sales and adding its days while the AR
 * left exceeds the unit's sales; then add left / sales * days of that unit.
 * Zero-sales units add their full days. AR <= 0 gives 0 days. Undefined
 * (ar exceeds sales history) when the units run out first.
 */
kpi_ratio_t kpi_dso_countback(int64_t ar_end, const kpi_unit_sales_t *units, size_t n);

/* CEI = (ar_start + sales - ar_end) / (ar_start + sales - current_ar_end) * 100. */
kpi_ratio_t kpi_cei(int64_t ar_start, int64_t sales, int64_t ar_end, int64_t current_ar_end);

/* DPO = ap_end / purchases * days (purchases = bills received in the period). */
kpi_ratio_t kpi_dpo(int64_t ap_end, int64_t purchases, int32_t days);

/* ---- roll-forward -------------------------------------------------------- */

typedef struct kpi_rollforward {
    int64_t opening;      /* AR at the end of the day before the period */
    int64_t sales;        /* + invoices issued */
    int64_t adjustments;  /* +/- invoice.adjusted */
    int64_t cash_applied; /* - payment.applied */
    int64_t credit_notes; /* - credit notes against invoices */
    int64_t write_offs;   /* - write-offs */
    int64_t closing;      /* opening + sales + adjustments - cash - credits - write-offs */
} kpi_rollforward_t;

/* Fill rf->closing from the movements. ERR_OVERFLOW when it leaves int64. */
err_t kpi_rollforward_close(kpi_rollforward_t *rf) KPID_MUST_USE;

/* ---- SLA and FTQ ---------------------------------------------------------- */

/* percent = part / whole * 100; undefined (no items) when whole == 0. */
kpi_ratio_t kpi_percent(int64_t part, int64_t whole);

typedef enum kpi_sla_unit {
    KPI_SLA_HOURS = 0,     /* elapsed hours between start and stop instants */
    KPI_SLA_BUSINESS_DAYS, /* business days after the start date up to the stop date */
    KPI_SLA_CALENDAR_DAYS  /* calendar days between start and stop dates */
} kpi_sla_unit_t;

typedef struct kpi_sla_target {
    kpi_sla_unit_t unit;
    int32_t amount; /* hours or days, >= 0 */
} kpi_sla_target_t;

/*
 * Was an item that started at (start_s, start_day) and stopped at
 * (stop_s, stop_day) within target? Instants in UTC seconds, days in the
 * reporting zone. Hours compare elapsed seconds with amount * 3600.
 */
bool kpi_sla_met(const kpi_sla_target_t *t, const kpi_calendar_t *cal, int64_t start_s,
                 int32_t start_day, int64_t stop_s, int32_t stop_day);

/*
 * The first day at whose end an item that started at (start_s, start_day)
 * and is still open is past target ("breached-open at E" iff this <= E).
 * `day_of` maps an instant to its reporting-zone day (hours targets).
 */
int32_t kpi_sla_breach_day(const kpi_sla_target_t *t, const kpi_calendar_t *cal, int64_t start_s,
                           int32_t start_day, int32_t (*day_of)(const void *ctx, int64_t t_s),
                           const void *ctx);

/*
 * An SLA definition: a named pair of start and stop points on the same
 * document, with a target. A point is an event type, or one of two derived
 * points: the `billing_due` date of invoice.issued (start of `billing`),
 * and the moment a payment is fully applied (stop of `cash-application`).
 */
typedef enum kpi_sla_point {
    KPI_SLA_POINT_EVENT = 0,    /* the first event of `type` on the document */
    KPI_SLA_POINT_BILLING_DUE,  /* 00:00 of invoice.issued's billing_due, reporting zone */
    KPI_SLA_POINT_FULLY_APPLIED /* the application that brings applied up to received */
} kpi_sla_point_t;

#define KPI_SLA_NAME_MAX 48
#define KPI_SLAS_MAX 16

typedef struct kpi_sla_def {
    char name[KPI_SLA_NAME_MAX]; /* "ap-processing" */
    uint8_t start_point;         /* kpi_sla_point_t */
    uint8_t stop_point;          /* kpi_sla_point_t */
    int start_type;              /* kpi_ev_type_t when start_point is EVENT */
    int stop_type;               /* kpi_ev_type_t when stop_point is EVENT */
    kpi_sla_target_t target;
} kpi_sla_def_t;

/* The five built-in SLAs of docs/kpi.md, in this order: ap-processing, billing,
   cash-application, inquiry-resolution, dispute-resolution. Returns how many
   were written (at most cap). */
size_t kpi_sla_defaults(kpi_sla_def_t *out, size_t cap);

/* ---- payment habits ------------------------------------------------------- */

typedef struct kpi_habits_acc {
    int64_t amount;         /* sum of applied amounts */
    __int128 amount_x_days; /* sum of amount * (application day - issue day) */
    __int128 amount_x_late; /* sum of amount * (application day - due day) */
} kpi_habits_acc_t;

/* Add one application of `amount` on `app_day` to an invoice issued on
   `issue_day` and due on `due_day`. */
void kpi_habits_add(kpi_habits_acc_t *acc, int64_t amount, int32_t app_day, int32_t issue_day,
                    int32_t due_day);

/* Amount-weighted average days to pay and days beyond terms. Undefined
   (no items) with no applications. */
kpi_ratio_t kpi_habits_days_to_pay(const kpi_habits_acc_t *acc);
kpi_ratio_t kpi_habits_days_beyond_terms(const kpi_habits_acc_t *acc);

#endif
