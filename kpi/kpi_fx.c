/*
 * kpi_fx.c — rates and conversion (kpi_fx.h).
 */
#include "kpi_fx.h"

#include <string.h>

#include "kpi_money.h"

err_t kpi_rate_parse(const char *s, size_t len, int64_t *rate_out)
{
    if (len > 0 && (s[0] == '-' || s[0] == '+'))
        return ERR_BAD_VALUE;
    int64_t r = 0;
    err_t e = kpi_amount_parse(s, len, KPI_RATE_DIGITS, &r);
    if (e)
        return e;
    if (r <= 0)
        return ERR_BAD_VALUE;
    *rate_out = r;
    return ERR_OK;
}

char *kpi_rate_format(int64_t rate, char *buf)
{
    char tmp[KPI_AMOUNT_BUF];
    kpi_amount_format(rate, KPI_RATE_DIGITS, tmp);
    size_t n = strlen(tmp);
    while (n > 0 && tmp[n - 1] == '0')
        n--;
    if (n > 0 && tmp[n - 1] == '.')
        n--;
    if (n >= KPI_RATE_BUF)
        n = KPI_RATE_BUF - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
    return buf;
}

static __int128 pow10_128(int n)
{
    __int128 p = 1;
    while (n-- > 0)
        p *= 10;
    return p;
}

err_t kpi_fx_convert(int64_t minor, int from_digits, int64_t rate, int to_digits, int64_t *out)
{
    return kpi_fx_cross(minor, from_digits, rate, to_digits, 10000000000LL, out);
}

err_t kpi_fx_cross(int64_t minor, int from_digits, int64_t rate, int to_digits, int64_t rate_to,
                   int64_t *out)
{
    if (rate <= 0 || rate_to <= 0 || from_digits < 0 || from_digits > 4 || to_digits < 0 ||
        to_digits > 4)
        return ERR_BAD_VALUE;
    /* |minor| * rate < 2^126 always fits. Past 2^127 / 10^4 the result
       is at least that over 10^14, far beyond int64: overflow either way. */
    __int128 num = (__int128)minor * rate;
    __int128 lim = (((__int128)1 << 126) - 1) / 5000; /* < 2^127 / 10^4 */
    if (num > lim || num < -lim)
        return ERR_OVERFLOW;
    num *= pow10_128(to_digits);
    /* rate_to < 2^63 and 10^4: under 2^77. */
    __int128 den = (__int128)rate_to * pow10_128(from_digits);
    __int128 mag = num < 0 ? -num : num;
    __int128 q = mag / den, rem = mag % den;
    if (rem * 2 >= den)
        q++;
    if (num < 0)
        q = -q;
    if (q > INT64_MAX || q < INT64_MIN)
        return ERR_OVERFLOW;
    *out = (int64_t)q;
    return ERR_OK;
}
