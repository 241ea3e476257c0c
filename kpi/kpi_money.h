/*
 * kpi_money.h — exact money: int64 minor units, ISO 4217 digits, checked
 * arithmetic, decimal text in and out, and the one rounding rule.
 *
 * Invariants:
 *   - An amount is an int64_t count of the currency's minor units (cents for
 *     USD, yen for JPY, fils/1000 for KWD). No float ever holds money.
 *   - Checked operations return ERR_OVERFLOW and leave *acc unchanged.
 *   - Ratios are carried as exact numerator/denominator pairs until printed;
 *     kpi_round_div() is the only place a quotient is rounded.
 */
#ifndef KPID_KPI_MONEY_H
#define KPID_KPI_MONEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * Minor-unit digits of an ISO 4217 code ("USD" -> 2, "JPY" -> 0, "KWD" -> 3).
 * code must be exactly three upper-case letters. ERR_BAD_CURRENCY when the
 * code is not in the built-in table.
 */
err_t kpi_currency_digits(const char *code, int *digits_out) KPID_MUST_USE;

/* *acc += v, or ERR_OVERFLOW with *acc unchanged. */
err_t kpi_add_i64(int64_t *acc, int64_t v) KPID_MUST_USE;
/* *acc -= v, or ERR_OVERFLOW with *acc unchanged. */
err_t kpi_sub_i64(int64_t *acc, int64_t v) KPID_MUST_USE;
/* *acc *= v, or ERR_OVERFLOW with *acc unchanged. */
err_t kpi_mul_i64(int64_t *acc, int64_t v) KPID_MUST_USE;

/*
 * Parse a decimal amount ("1250.00", "-3.5", "+7", "0.125") into minor units
 * for a currency with `digits` fraction digits. Rules:
 *   - optional '-' (no '+'), at least one integer digit, optional '.' followed by at
 *     least one digit; no exponent, no thousands separators, no spaces;
 *   - fewer fraction digits than `digits` are padded ("3.5" USD = 350);
 *   - more fraction digits -> ERR_TOO_MANY_DECIMALS, even if they are zeros
 *     ("1.000" USD is refused: the sender claims a precision USD lacks);
 *   - out of int64 range -> ERR_OVERFLOW; anything else -> ERR_BAD_AMOUNT.
 * `len` bytes of `s` are read; s need not be NUL-terminated.
 */
err_t kpi_amount_parse(const char *s, size_t len, int digits, int64_t *minor_out) KPID_MUST_USE;

/*
 * Format minor units as a decimal string with exactly `digits` fraction
 * digits ("1250.00", "-0.05", "100" for JPY). buf must hold at least
 * KPI_AMOUNT_BUF bytes. Returns buf.
 */
#define KPI_AMOUNT_BUF 32
char *kpi_amount_format(int64_t minor, int digits, char *buf);

/*
 * The one rounding rule of kpid: num/den rounded half away from zero to
 * `scale` decimal places, returned as an integer scaled by 10^scale
 * (kpi_round_div(1, 3, 2) = 33 meaning 0.33; (5, 2, 0) = 3; (-5, 2, 0) = -3).
 * Exact: computed with 128-bit intermediates, no float.
 * ERR_BAD_VALUE when den == 0; ERR_OVERFLOW when the result leaves int64.
 */
err_t kpi_round_div(int64_t num, int64_t den, int scale, int64_t *out) KPID_MUST_USE;

#endif
