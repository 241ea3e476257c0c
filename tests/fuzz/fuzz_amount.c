/*
 * fuzz_amount.c — libFuzzer target for decimal amounts (kpi_amount_parse,
 * kpi_amount_format in kpi_money.h).
 *
 * Input: byte 0 picks the currency digits (-1..19, so the refused values
 * are tried too), the rest is the text. Properties:
 *   - kpi_amount_parse agrees with an independent reference written here
 *     (128-bit, saturating, the grammar of kpi_money.h read literally) on
 *     the result code and, when it succeeds, on the value;
 *   - a value formatted with kpi_amount_format parses back to itself, and
 *     the text it gives has exactly `digits` fraction digits.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "kpi_money.h"

#define SAT ((unsigned __int128)1 << 70) /* beyond any int64 magnitude */

static unsigned __int128 sat_mul_add(unsigned __int128 acc, unsigned m, unsigned add)
{
    if (acc >= SAT)
        return SAT;
    acc = acc * m + add;
    return acc >= SAT ? SAT : acc;
}

/* The grammar: '-'? DIGIT+ ( '.' DIGIT+ )?, no other byte. */
static err_t reference(const char *s, size_t len, int digits, int64_t *out)
{
    if (digits < 0 || digits > 18)
        return ERR_BAD_AMOUNT;
    size_t i = 0;
    bool neg = false;
    if (i < len && s[i] == '-')
        neg = s[i++] == '-';
    size_t int_start = i;
    unsigned __int128 mag = 0;
    while (i < len && s[i] >= '0' && s[i] <= '9')
        mag = sat_mul_add(mag, 10, (unsigned)(s[i++] - '0'));
    if (i == int_start)
        return ERR_BAD_AMOUNT;
    int frac = 0;
    if (i < len && s[i] == '.') {
        size_t frac_start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            if (frac < digits)
                mag = sat_mul_add(mag, 10, (unsigned)(s[i] - '0'));
            frac++;
            i++;
        }
        if (i == frac_start)
            return ERR_BAD_AMOUNT;
    }
    if (i != len)
        return ERR_BAD_AMOUNT;
    if (frac > digits)
        return ERR_TOO_MANY_DECIMALS;
    for (; frac < digits; frac++)
        mag = sat_mul_add(mag, 10, 0);
    unsigned __int128 lim = neg ? (unsigned __int128)INT64_MAX + 1 : (unsigned __int128)INT64_MAX;
    if (mag > lim)
        return ERR_OVERFLOW;
    *out = neg ? (int64_t)(0 - (uint64_t)mag) : (int64_t)mag;
    return ERR_OK;
}

static void check_format(int64_t v, int digits)
{
    char buf[KPI_AMOUNT_BUF];
    char *t = kpi_amount_format(v, digits, buf);
    size_t tl = strlen(t);
    FUZZ_CHECK(tl < KPI_AMOUNT_BUF, "format too long");
    const char *dot = strchr(t, '.');
    if (digits == 0)
        FUZZ_CHECK(dot == NULL, "'%s' has a point with 0 digits", t);
    else
        FUZZ_CHECK(dot != NULL && (int)(t + tl - dot - 1) == digits, "'%s' has not %d digits", t,
                   digits);
    int64_t back = 0;
    err_t e = kpi_amount_parse(t, tl, digits, &back);
    FUZZ_CHECK(e == ERR_OK && back == v, "'%s' (digits %d) parses to %s %lld, not %lld", t, digits,
               err_code(e), (long long)back, (long long)v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int digits = (int)(data[0] % 21) - 1;
    const char *s = (const char *)data + 1;
    size_t len = size - 1;
    int64_t got = 0x5a5a, want = 0x5a5a;
    err_t eg = kpi_amount_parse(s, len, digits, &got);
    err_t ew = reference(s, len, digits, &want);
    FUZZ_CHECK(eg == ew, "'%.*s' digits %d: got %s, reference %s", (int)len, s, digits,
               err_code(eg), err_code(ew));
    if (eg == ERR_OK) {
        FUZZ_CHECK(got == want, "'%.*s' digits %d: got %lld, reference %lld", (int)len, s, digits,
                   (long long)got, (long long)want);
        check_format(got, digits);
    }
    /* Formatting any int64 the bytes spell, at every valid digit count. */
    if (len >= 8) {
        int64_t v;
        memcpy(&v, s, sizeof v);
        check_format(v, digits < 0 || digits > 18 ? 2 : digits);
    }
    return 0;
}
