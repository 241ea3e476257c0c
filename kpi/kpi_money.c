/*
 * kpi_money.c — ISO 4217 digits, checked int64 arithmetic, decimal text.
 *
 * The currency table is the ISO 4217 list of active codes whose minor unit
 * is not 2, plus the 2-digit ones, kept sorted so lookup is a binary search.
 * Funds codes (BOV, CHE, ...) are included because ERP exports do use them;
 * precious-metal and testing codes (XAU, XTS, XXX) have no minor unit and are
 * deliberately absent: they cannot be receivables.
 */
#include "kpi_money.h"

#include <string.h>

typedef struct {
    char code[4];
    unsigned char digits;
} currency_t;

/* Sorted by code (strcmp order). */
static const currency_t currencies[] = {
    {"AED", 2}, {"AFN", 2}, {"ALL", 2}, {"AMD", 2}, {"ANG", 2}, {"AOA", 2}, {"ARS", 2}, {"AUD", 2},
    {"AWG", 2}, {"AZN", 2}, {"BAM", 2}, {"BBD", 2}, {"BDT", 2}, {"BGN", 2}, {"BHD", 3}, {"BIF", 0},
    {"BMD", 2}, {"BND", 2}, {"BOB", 2}, {"BOV", 2}, {"BRL", 2}, {"BSD", 2}, {"BTN", 2}, {"BWP", 2},
    {"BYN", 2}, {"BZD", 2}, {"CAD", 2}, {"CDF", 2}, {"CHE", 2}, {"CHF", 2}, {"CHW", 2}, {"CLF", 4},
    {"CLP", 0}, {"CNY", 2}, {"COP", 2}, {"COU", 2}, {"CRC", 2}, {"CUP", 2}, {"CVE", 2}, {"CZK", 2},
    {"DJF", 0}, {"DKK", 2}, {"DOP", 2}, {"DZD", 2}, {"EGP", 2}, {"ERN", 2}, {"ETB", 2}, {"EUR", 2},
    {"FJD", 2}, {"FKP", 2}, {"GBP", 2}, {"GEL", 2}, {"GHS", 2}, {"GIP", 2}, {"GMD", 2}, {"GNF", 0},
    {"GTQ", 2}, {"GYD", 2}, {"HKD", 2}, {"HNL", 2}, {"HTG", 2}, {"HUF", 2}, {"IDR", 2}, {"ILS", 2},
    {"INR", 2}, {"IQD", 3}, {"IRR", 2}, {"ISK", 0}, {"JMD", 2}, {"JOD", 3}, {"JPY", 0}, {"KES", 2},
    {"KGS", 2}, {"KHR", 2}, {"KMF", 0}, {"KPW", 2}, {"KRW", 0}, {"KWD", 3}, {"KYD", 2}, {"KZT", 2},
    {"LAK", 2}, {"LBP", 2}, {"LKR", 2}, {"LRD", 2}, {"LSL", 2}, {"LYD", 3}, {"MAD", 2}, {"MDL", 2},
    {"MGA", 2}, {"MKD", 2}, {"MMK", 2}, {"MNT", 2}, {"MOP", 2}, {"MRU", 2}, {"MUR", 2}, {"MVR", 2},
    {"MWK", 2}, {"MXN", 2}, {"MXV", 2}, {"MYR", 2}, {"MZN", 2}, {"NAD", 2}, {"NGN", 2}, {"NIO", 2},
    {"NOK", 2}, {"NPR", 2}, {"NZD", 2}, {"OMR", 3}, {"PAB", 2}, {"PEN", 2}, {"PGK", 2}, {"PHP", 2},
    {"PKR", 2}, {"PLN", 2}, {"PYG", 0}, {"QAR", 2}, {"RON", 2}, {"RSD", 2}, {"RUB", 2}, {"RWF", 0},
    {"SAR", 2}, {"SBD", 2}, {"SCR", 2}, {"SDG", 2}, {"SEK", 2}, {"SGD", 2}, {"SHP", 2}, {"SLE", 2},
    {"SOS", 2}, {"SRD", 2}, {"SSP", 2}, {"STN", 2}, {"SVC", 2}, {"SYP", 2}, {"SZL", 2}, {"THB", 2},
    {"TJS", 2}, {"TMT", 2}, {"TND", 3}, {"TOP", 2}, {"TRY", 2}, {"TTD", 2}, {"TWD", 2}, {"TZS", 2},
    {"UAH", 2}, {"UGX", 0}, {"USD", 2}, {"USN", 2}, {"UYI", 0}, {"UYU", 2}, {"UYW", 4}, {"UZS", 2},
    {"VED", 2}, {"VES", 2}, {"VND", 0}, {"VUV", 0}, {"WST", 2}, {"XAF", 0}, {"XCD", 2}, {"XCG", 2},
    {"XOF", 0}, {"XPF", 0}, {"YER", 2}, {"ZAR", 2}, {"ZMW", 2}, {"ZWG", 2},
};

err_t kpi_currency_digits(const char *code, int *digits_out)
{
    if (code == NULL)
        return ERR_BAD_CURRENCY;
    for (int i = 0; i < 3; i++)
        if (code[i] < 'A' || code[i] > 'Z')
            return ERR_BAD_CURRENCY;
    if (code[3] != '\0')
        return ERR_BAD_CURRENCY;
    size_t lo = 0, hi = sizeof(currencies) / sizeof(currencies[0]);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(code, currencies[mid].code, 3);
        if (c == 0) {
            *digits_out = currencies[mid].digits;
            return ERR_OK;
        }
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return ERR_BAD_CURRENCY;
}

err_t kpi_add_i64(int64_t *acc, int64_t v)
{
    int64_t r;
    if (__builtin_add_overflow(*acc, v, &r))
        return ERR_OVERFLOW;
    *acc = r;
    return ERR_OK;
}

err_t kpi_sub_i64(int64_t *acc, int64_t v)
{
    int64_t r;
    if (__builtin_sub_overflow(*acc, v, &r))
        return ERR_OVERFLOW;
    *acc = r;
    return ERR_OK;
}

err_t kpi_mul_i64(int64_t *acc, int64_t v)
{
    int64_t r;
    if (__builtin_mul_overflow(*acc, v, &r))
        return ERR_OVERFLOW;
    *acc = r;
    return ERR_OK;
}

err_t kpi_amount_parse(const char *s, size_t len, int digits, int64_t *minor_out)
{
    if (s == NULL || digits < 0 || digits > 18)
        return ERR_BAD_AMOUNT;
    size_t i = 0;
    bool neg = false;
    /* Only '-': docs/events.md's grammar has no '+', and a sign the
       grammar does not have must be refused, not silently dropped. */
    if (i < len && s[i] == '-') {
        neg = true;
        i++;
    }
    /* Accumulate the magnitude as a negative number so INT64_MIN parses. */
    int64_t acc = 0;
    size_t int_digits = 0;
    bool overflow = false;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++, int_digits++)
        if (__builtin_mul_overflow(acc, 10, &acc) || __builtin_sub_overflow(acc, s[i] - '0', &acc))
            overflow = true;
    if (int_digits == 0)
        return ERR_BAD_AMOUNT;
    int frac = 0;
    if (i < len && s[i] == '.') {
        i++;
        size_t start = i;
        for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            if (frac >= digits) {
                frac++;
                continue;
            }
            if (__builtin_mul_overflow(acc, 10, &acc) ||
                __builtin_sub_overflow(acc, s[i] - '0', &acc))
                overflow = true;
            frac++;
        }
        if (i == start)
            return ERR_BAD_AMOUNT;
    }
    if (i != len)
        return ERR_BAD_AMOUNT;
    if (frac > digits)
        return ERR_TOO_MANY_DECIMALS;
    for (; frac < digits; frac++)
        if (__builtin_mul_overflow(acc, 10, &acc))
            overflow = true;
    if (overflow)
        return ERR_OVERFLOW;
    if (!neg) {
        if (acc == INT64_MIN)
            return ERR_OVERFLOW;
        acc = -acc;
    }
    *minor_out = acc;
    return ERR_OK;
}

char *kpi_amount_format(int64_t minor, int digits, char *buf)
{
    if (digits < 0 || digits > 18)
        digits = 0;
    /* Magnitude as unsigned so INT64_MIN has one. Digits are produced right
       to left into tmp, then copied with the sign. */
    uint64_t mag = minor < 0 ? (uint64_t)0 - (uint64_t)minor : (uint64_t)minor;
    char tmp[KPI_AMOUNT_BUF];
    size_t n = 0;
    int k = 0;
    do {
        if (k == digits && digits > 0)
            tmp[n++] = '.';
        tmp[n++] = (char)('0' + (int)(mag % 10));
        mag /= 10;
        k++;
    } while (mag > 0 || k <= digits);
    size_t o = 0;
    if (minor < 0)
        buf[o++] = '-';
    while (n > 0)
        buf[o++] = tmp[--n];
    buf[o] = '\0';
    return buf;
}

err_t kpi_round_div(int64_t num, int64_t den, int scale, int64_t *out)
{
    if (den == 0 || scale < 0 || scale > 18)
        return den == 0 ? ERR_BAD_VALUE : ERR_OVERFLOW;
    __int128 n = num, d = den;
    for (int i = 0; i < scale; i++)
        n *= 10;
    if (d < 0) {
        n = -n;
        d = -d;
    }
    __int128 q = n / d, r = n % d;
    if (r < 0)
        r = -r;
    if (2 * r >= d)
        q += n < 0 ? -1 : 1;
    if (q > INT64_MAX || q < INT64_MIN)
        return ERR_OVERFLOW;
    *out = (int64_t)q;
    return ERR_OK;
}
