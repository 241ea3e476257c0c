/*
 * kpi_date.c — civil calendar arithmetic (proleptic Gregorian) and the
 * date/time text formats of the API.
 *
 * days_from_civil/civil_from_days use the era decomposition (400-year
 * cycles of 146097 days, years starting in March so the leap day is last),
 * which is exact for every int32 day without tables or floating point.
 */
#include "kpi_date.h"

#include <string.h>

static int32_t floor_div(int64_t a, int64_t b, int64_t *rem)
{
    int64_t q = a / b, r = a % b;
    if (r < 0) {
        q--;
        r += b;
    }
    if (rem != NULL)
        *rem = r;
    return (int32_t)q;
}

int32_t kpi_days_from_civil(int32_t y, int32_t m, int32_t d)
{
    int64_t yy = (int64_t)y - (m <= 2);
    int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
    int64_t yoe = yy - era * 400;                        /* [0, 399] */
    int64_t mp = (m + 9) % 12;                           /* March = 0 */
    int64_t doy = (153 * mp + 2) / 5 + d - 1;            /* [0, 365] */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; /* [0, 146096] */
    return (int32_t)(era * 146097 + doe - 719468);
}

void kpi_civil_from_days(int32_t day, int32_t *y, int32_t *m, int32_t *d)
{
    int64_t z = (int64_t)day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t dd = doy - (153 * mp + 2) / 5 + 1;
    int64_t mm = mp < 10 ? mp + 3 : mp - 9;
    int64_t yy = yoe + era * 400 + (mm <= 2);
    if (y != NULL)
        *y = (int32_t)yy;
    if (m != NULL)
        *m = (int32_t)mm;
    if (d != NULL)
        *d = (int32_t)dd;
}

bool kpi_is_leap(int32_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int32_t kpi_days_in_month(int32_t y, int32_t m)
{
    static const int8_t dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && kpi_is_leap(y) ? 29 : dim[m - 1];
}

int32_t kpi_weekday(int32_t day)
{
    /* 1970-01-01 was a Thursday (4). */
    int64_t r;
    (void)floor_div((int64_t)day + 3, 7, &r);
    return (int32_t)r + 1;
}

int64_t kpi_day_start_utc(int32_t day)
{
    return (int64_t)day * 86400;
}

int32_t kpi_utc_day(int64_t t_s)
{
    return floor_div(t_s, 86400, NULL);
}

/* n decimal digits at s into *out; false if any is not a digit. */
static bool digits(const char *s, int n, int32_t *out)
{
    int32_t v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static bool parse_ymd(const char *s, int32_t *day_out)
{
    int32_t y, m, d;
    if (!digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) || s[7] != '-' ||
        !digits(s + 8, 2, &d))
        return false;
    if (y < KPI_YEAR_MIN || y > KPI_YEAR_MAX || m < 1 || m > 12 || d < 1 ||
        d > kpi_days_in_month(y, m))
        return false;
    *day_out = kpi_days_from_civil(y, m, d);
    return true;
}

err_t kpi_date_parse(const char *s, size_t len, int32_t *day_out)
{
    if (s == NULL || len != 10 || !parse_ymd(s, day_out))
        return ERR_BAD_DATE;
    return ERR_OK;
}

err_t kpi_time_parse_rfc3339(const char *s, size_t len, int64_t *t_out)
{
    int32_t day, hh, mi, ss;
    if (s == NULL || len < 20 || !parse_ymd(s, &day))
        return ERR_BAD_DATE;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return ERR_BAD_DATE;
    if (!digits(s + 11, 2, &hh) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &ss))
        return ERR_BAD_DATE;
    if (hh > 23 || mi > 59 || ss > 60)
        return ERR_BAD_DATE;
    if (ss == 60)
        ss = 59; /* leap second: the instant before is close enough for days */
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return ERR_BAD_DATE;
    }
    int32_t off = 0;
    if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < len && (s[i] == '+' || s[i] == '-')) {
        int32_t oh, om;
        if (len - i < 6 || !digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
            !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return ERR_BAD_DATE;
        off = (oh * 60 + om) * 60;
        if (s[i] == '-')
            off = -off;
        i += 6;
    } else {
        return ERR_BAD_DATE; /* no offset: ambiguous */
    }
    if (i != len)
        return ERR_BAD_DATE;
    int64_t t = kpi_day_start_utc(day) + hh * 3600 + mi * 60 + ss - off;
    /* The instant itself must lie in the supported years: an offset can move
       1900-01-01 into 1899 (or 9999-12-31 into 10000), which kpid would then
       print as a UTC time that it refuses to read back. */
    if (t < kpi_day_start_utc(kpi_days_from_civil(KPI_YEAR_MIN, 1, 1)) ||
        t >= kpi_day_start_utc(kpi_days_from_civil(KPI_YEAR_MAX + 1, 1, 1)))
        return ERR_BAD_DATE;
    *t_out = t;
    return ERR_OK;
}

/* Write v as exactly n digits (v >= 0 and < 10^n). */
static char *put_digits(char *p, int32_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

char *kpi_date_format(int32_t day, char *buf)
{
    int32_t y, m, d;
    kpi_civil_from_days(day, &y, &m, &d);
    char *p = buf;
    if (y < 0 || y > 9999) {
        /* Outside what the parsers accept; still print something unambiguous. */
        if (y < 0) {
            *p++ = '-';
            y = -y;
        }
        int n = 1;
        for (int32_t t = y; t >= 10; t /= 10)
            n++;
        p = put_digits(p, y, n < 4 ? 4 : n);
    } else {
        p = put_digits(p, y, 4);
    }
    *p++ = '-';
    p = put_digits(p, m, 2);
    *p++ = '-';
    p = put_digits(p, d, 2);
    *p = '\0';
    return buf;
}

char *kpi_time_format_utc(int64_t t_s, char *buf)
{
    int64_t sod;
    int32_t day = floor_div(t_s, 86400, &sod);
    kpi_date_format(day, buf);
    char *p = buf + strlen(buf);
    int32_t s = (int32_t)sod;
    *p++ = 'T';
    p = put_digits(p, s / 3600, 2);
    *p++ = ':';
    p = put_digits(p, s / 60 % 60, 2);
    *p++ = ':';
    p = put_digits(p, s % 60, 2);
    *p++ = 'Z';
    *p = '\0';
    return buf;
}

int32_t kpi_add_months(int32_t day, int32_t n)
{
    int32_t y, m, d;
    kpi_civil_from_days(day, &y, &m, &d);
    int64_t mi = (int64_t)y * 12 + (m - 1) + n;
    int64_t r;
    int32_t ny = floor_div(mi, 12, &r);
    int32_t nm = (int32_t)r + 1;
    int32_t dim = kpi_days_in_month(ny, nm);
    return kpi_days_from_civil(ny, nm, d > dim ? dim : d);
}
