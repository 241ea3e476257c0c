/*
 * kpi_fx.h — exchange rates as exact decimals, and the one conversion rule.
 *
 * A rate says how many units of the base currency one unit of another
 * currency is worth on a day (base USD: EUR 1.0825 means 1 EUR = 1.0825
 * USD), as an integer count of 10^-10 (KPI_RATE_DIGITS decimals: every rate
 * a central bank publishes fits exactly).
 *
 * Converting an amount multiplies it by the rate exactly (128-bit) and
 * rounds once, to the target currency's minor unit, half away from zero:
 * the same rule as every other rounding in kpid (kpi_round_div). What
 * must stay true: no float, and one rounding per converted amount; a total
 * is the sum of rounded conversions of each book's total (docs/kpi.md,
 * "Reporting currency"), never a conversion of a sum of sums rounded twice.
 */
#ifndef KPID_KPI_FX_H
#define KPID_KPI_FX_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define KPI_RATE_DIGITS 10
/* "123456789.0123456789" and its NUL, with room to spare. */
#define KPI_RATE_BUF 32

/*
 * Parse a rate: the amount grammar of kpi_amount_parse (digits, an
 * optional '.', at most KPI_RATE_DIGITS decimals, no sign, exponent or
 * separators), and greater than zero. ERR_TOO_MANY_DECIMALS, ERR_OVERFLOW
 * (past 922337203.6854775807), ERR_BAD_VALUE for zero or a sign,
 * ERR_BAD_AMOUNT otherwise.
 */
err_t kpi_rate_parse(const char *s, size_t len, int64_t *rate_out) KPID_MUST_USE;

/* The shortest decimal text of a rate ("1.0825", "150", "0.0001"). buf
   holds KPI_RATE_BUF bytes. Returns buf. */
char *kpi_rate_format(int64_t rate, char *buf);

/*
 * *out = minor (in a currency of from_digits minor digits) times rate, in
 * minor units of a currency of to_digits digits, rounded half away from
 * zero. ERR_BAD_VALUE for a rate <= 0 or digits outside 0..4; ERR_OVERFLOW
 * when the result leaves int64 (*out unchanged).
 */
err_t kpi_fx_convert(int64_t minor, int from_digits, int64_t rate, int to_digits,
                     int64_t *out) KPID_MUST_USE;

/*
 * The same into a currency that is not the base: minor * rate_from /
 * rate_to (both rates against the base), with one rounding, half away from
 * zero. kpi_fx_convert(m, f, r, t) == kpi_fx_cross(m, f, r, t, 10^10).
 * ERR_BAD_VALUE / ERR_OVERFLOW as above.
 */
err_t kpi_fx_cross(int64_t minor, int from_digits, int64_t rate_from, int to_digits,
                   int64_t rate_to, int64_t *out) KPID_MUST_USE;

/*
 * n amounts of one book converted as one sum: *total = kpi_fx_cross of
 * their sum, and out[i] each amount's share of it (largest remainder): the
 * exact conversion of minor[i] rounded down, then the units those roundings
 * left out of *total given one each to the amounts with the largest
 * remainders (ties: the first). So out[] always adds up to *total, each
 * out[i] is its exact value rounded down or up, an amount of 0 stays 0, and
 * when rounding each amount on its own already adds up to *total (nearly
 * always) out[i] is that rounding. docs/kpi.md, "Consolidated payables":
 * the buckets and the cash-requirement lines of a book are two cuts of one
 * converted total. ERR_BAD_VALUE / ERR_OVERFLOW as kpi_fx_cross (also when
 * the sum leaves int64); ERR_NOMEM.
 */
err_t kpi_fx_share(const int64_t *minor, size_t n, int from_digits, int64_t rate_from,
                   int to_digits, int64_t rate_to, int64_t *out, int64_t *total) KPID_MUST_USE;

#endif
