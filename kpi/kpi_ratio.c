/*
 * kpi_ratio.c — exact ratios and the formulas of docs/kpi.md that produce them
 * (DSO family, CEI, DPO, percentages, payment habits, roll-forward).
 *
 * Every formula keeps numerator and denominator as 128-bit integers: inputs
 * are int64 minor units times day counts (< 2^63 * 2^31), so products fit
 * with room to spare and nothing is rounded before kpi_ratio_round().
 */
#include "kpi.h"

#include "kpi_money.h"

const char *kpi_undef_reason(kpi_undef_t u)
{
    switch (u) {
    case KPI_UNDEF_NONE: return "";
    case KPI_UNDEF_NO_SALES: return "no sales";
    case KPI_UNDEF_NO_PURCHASES: return "no purchases";
    case KPI_UNDEF_AR_EXCEEDS_HISTORY: return "ar exceeds sales history";
    case KPI_UNDEF_NOTHING_TO_COLLECT: return "nothing to collect";
    case KPI_UNDEF_NO_ITEMS: return "no items";
    case KPI_UNDEF_OVERFLOW: return "overflow";
    }
    return "overflow";
}

static kpi_ratio_t ratio(__int128 num, __int128 den, kpi_undef_t when_zero)
{
    kpi_ratio_t r = {num, den, KPI_UNDEF_NONE};
    if (den == 0) {
        r.undef = when_zero;
        r.num = 0;
        r.den = 1;
    } else if (den < 0) {
        /* Keep den > 0 so the sign lives in num alone. */
        r.num = -num;
        r.den = -den;
    }
    return r;
}

err_t kpi_ratio_round(const kpi_ratio_t *r, int scale, int64_t *out)
{
    if (r->undef != KPI_UNDEF_NONE || r->den <= 0)
        return ERR_BAD_VALUE;
    if (scale < 0 || scale > 9)
        return ERR_BAD_VALUE;
    __int128 num = r->num;
    for (int i = 0; i < scale; i++) {
        /* 2^127 / 10 bounds the magnitude that can still be scaled. */
        const __int128 lim = ((__int128)1 << 120);
        if (num > lim || num < -lim)
            return ERR_OVERFLOW;
        num *= 10;
    }
    __int128 mag = num < 0 ? -num : num;
    __int128 q = mag / r->den;
    __int128 rem = mag % r->den;
    /* Half away from zero: round up the magnitude when rem >= den/2. */
    if (rem * 2 >= r->den)
        q++;
    if (num < 0)
        q = -q;
    if (q > INT64_MAX || q < INT64_MIN)
        return ERR_OVERFLOW;
    *out = (int64_t)q;
    return ERR_OK;
}

kpi_ratio_t kpi_dso_standard(int64_t ar_end, int64_t sales, int32_t days)
{
    return ratio((__int128)ar_end * days, sales, KPI_UNDEF_NO_SALES);
}

kpi_ratio_t kpi_dso_best_possible(int64_t current_ar_end, int64_t sales, int32_t days)
{
    return ratio((__int128)current_ar_end * days, sales, KPI_UNDEF_NO_SALES);
}

kpi_ratio_t kpi_dso_add(int64_t ar_end, int64_t current_ar_end, int64_t sales, int32_t days)
{
    /* standard - best possible over the same denominator: the overdue AR. */
    return ratio(((__int128)ar_end - current_ar_end) * days, sales, KPI_UNDEF_NO_SALES);
}

kpi_ratio_t kpi_dso_countback(int64_t ar_end, const kpi_unit_sales_t *units, size_t n)
{
    __int128 left = ar_end;
    __int128 full_days = 0;
    if (left <= 0)
        return ratio(0, 1, KPI_UNDEF_NONE);
    for (size_t i = 0; i < n; i++) {
        const kpi_unit_sales_t *u = &units[i];
        if (u->sales > 0 && left <= u->sales) {
            /* full_days + left / sales * days, over the unit's sales. */
            __int128 num = full_days * u->sales + left * u->days;
            return ratio(num, u->sales, KPI_UNDEF_NONE);
        }
        /* AR exceeds this unit's sales (or it had none): take it whole. */
        if (u->sales > 0)
            left -= u->sales;
        full_days += u->days;
    }
    kpi_ratio_t r = ratio(0, 1, KPI_UNDEF_NONE);
    r.undef = KPI_UNDEF_AR_EXCEEDS_HISTORY;
    return r;
}

kpi_ratio_t kpi_cei(int64_t ar_start, int64_t sales, int64_t ar_end, int64_t current_ar_end)
{
    __int128 base = (__int128)ar_start + sales;
    return ratio((base - ar_end) * 100, base - current_ar_end, KPI_UNDEF_NOTHING_TO_COLLECT);
}

kpi_ratio_t kpi_dpo(int64_t ap_end, int64_t purchases, int32_t days)
{
    return ratio((__int128)ap_end * days, purchases, KPI_UNDEF_NO_PURCHASES);
}

kpi_ratio_t kpi_percent(int64_t part, int64_t whole)
{
    return ratio((__int128)part * 100, whole, KPI_UNDEF_NO_ITEMS);
}

err_t kpi_rollforward_close(kpi_rollforward_t *rf)
{
    int64_t c = rf->opening;
    if (kpi_add_i64(&c, rf->sales) || kpi_add_i64(&c, rf->adjustments) ||
        kpi_sub_i64(&c, rf->cash_applied) || kpi_sub_i64(&c, rf->credit_notes) ||
        kpi_sub_i64(&c, rf->write_offs))
        return ERR_OVERFLOW;
    rf->closing = c;
    return ERR_OK;
}

void kpi_habits_add(kpi_habits_acc_t *acc, int64_t amount, int32_t app_day, int32_t issue_day,
                    int32_t due_day)
{
    acc->amount += amount;
    acc->amount_x_days += (__int128)amount * (app_day - issue_day);
    acc->amount_x_late += (__int128)amount * (app_day - due_day);
}

kpi_ratio_t kpi_habits_days_to_pay(const kpi_habits_acc_t *acc)
{
    return ratio(acc->amount_x_days, acc->amount, KPI_UNDEF_NO_ITEMS);
}

kpi_ratio_t kpi_habits_days_beyond_terms(const kpi_habits_acc_t *acc)
{
    return ratio(acc->amount_x_late, acc->amount, KPI_UNDEF_NO_ITEMS);
}
