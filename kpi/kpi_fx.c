/*
 * kpi_fx.c — rates and conversion (kpi_fx.h).
 */
#include "kpi_fx.h"

#include <stdlib.h>
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

typedef struct share_rem {
    __int128 rem; /* in [0, den) */
    size_t i;
} share_rem_t;

static int rem_cmp(const void *a, const void *b)
{
    const share_rem_t *x = a, *y = b;
    if (x->rem != y->rem)
        return x->rem > y->rem ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

err_t kpi_fx_share(const int64_t *minor, size_t n, int from_digits, int64_t rate, int to_digits,
                   int64_t rate_to, int64_t *out, int64_t *total)
{
    int64_t sum = 0, t = 0;
    for (size_t i = 0; i < n; i++)
        if (__builtin_add_overflow(sum, minor[i], &sum))
            return ERR_OVERFLOW;
    err_t e = kpi_fx_cross(sum, from_digits, rate, to_digits, rate_to, &t);
    if (e)
        return e;
    share_rem_t *r = n > 0 ? malloc(n * sizeof *r) : NULL;
    if (n > 0 && r == NULL)
        return ERR_NOMEM;
    /* Each amount's exact value is num / den; every |num| is at most the
       sum's bound kpi_fx_cross checked for one amount (checked again here). */
    __int128 den = (__int128)rate_to * pow10_128(from_digits);
    __int128 lim = (((__int128)1 << 126) - 1) / 5000, floors = 0;
    for (size_t i = 0; i < n && !e; i++) {
        __int128 num = (__int128)minor[i] * rate;
        if (num > lim || num < -lim) {
            e = ERR_OVERFLOW;
            break;
        }
        num *= pow10_128(to_digits);
        __int128 q = num / den, rem = num % den;
        if (rem < 0) { /* floor, not truncation */
            q--;
            rem += den;
        }
        if (q > INT64_MAX || q < INT64_MIN)
            e = ERR_OVERFLOW;
        out[i] = (int64_t)q;
        floors += q;
        r[i] = (share_rem_t){rem, i};
    }
    /* floor(sum) >= the floors' sum > exact sum - n, and t is floor or ceil
       of the exact sum: 0 <= k <= n. */
    __int128 k = (__int128)t - floors;
    if (!e && (k < 0 || k > (__int128)n))
        e = ERR_BAD_VALUE; /* cannot happen */
    if (!e && k > 0) {
        qsort(r, n, sizeof *r, rem_cmp);
        for (size_t j = 0; j < (size_t)k && !e; j++)
            if (__builtin_add_overflow(out[r[j].i], 1, &out[r[j].i]))
                e = ERR_OVERFLOW;
    }
    free(r);
    if (!e)
        *total = t;
    return e;
}
