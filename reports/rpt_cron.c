/*
 * rpt_cron.c — cron expression parsing and next/previous run search.
 *
 * A parsed expression is five bit sets (see rpt_cron.h). The search walks
 * local days, then the matching hours and minutes of a matching day, and
 * maps each local time to an instant with local_instant(). That mapping is
 * monotone (non-decreasing) in local time: existing times take their first
 * occurrence and times inside a gap take the instant the gap ends. So the
 * first candidate in local order that lies after `after_s` is the earliest
 * one, and the search can stop there (backwards likewise).
 */
#include "rpt_cron.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "kpi_date.h"

typedef struct field_def {
    const char *name;  /* "minute", for messages */
    int lo, hi;        /* accepted values (day of week: 0..7) */
    const char *names; /* three-letter names of lo.., or NULL */
    int names_lo;      /* value of the first name */
} field_def_t;

static const field_def_t fields[5] = {
    {"minute", 0, 59, NULL, 0},
    {"hour", 0, 23, NULL, 0},
    {"day-of-month", 1, 31, NULL, 0},
    {"month", 1, 12, "janfebmaraprmayjunjulaugsepoctnovdec", 1},
    {"day-of-week", 0, 7, "sunmontuewedthufrisat", 0},
};

static const char *const month_names[12] = {"january",   "february", "march",    "april",
                                            "may",       "june",     "july",     "august",
                                            "september", "october",  "november", "december"};

/* A number or (where the field has names) a name, from s[0..len). */
static err_t parse_value(int f, const char *s, size_t len, int *out, err_msg_t *msg)
{
    const field_def_t *fd = &fields[f];
    if (len == 0)
        return err_set(msg, ERR_BAD_VALUE, "field %d (%s): a value is missing", f + 1, fd->name);
    if (isdigit((unsigned char)s[0])) {
        long v = 0;
        for (size_t i = 0; i < len; i++) {
            if (!isdigit((unsigned char)s[i]))
                return err_set(msg, ERR_BAD_VALUE, "field %d (%s): '%.*s' is not a number", f + 1,
                               fd->name, (int)len, s);
            if (v < 1000)
                v = v * 10 + (s[i] - '0');
        }
        if (v < fd->lo || v > fd->hi)
            return err_set(msg, ERR_BAD_VALUE, "field %d (%s): %.*s is out of range %d-%d", f + 1,
                           fd->name, (int)len, s, fd->lo, fd->hi);
        *out = (int)v;
        return ERR_OK;
    }
    if (fd->names != NULL && len == 3) {
        size_t n = strlen(fd->names) / 3;
        for (size_t i = 0; i < n; i++) {
            const char *nm = fd->names + 3 * i;
            if (tolower((unsigned char)s[0]) == nm[0] && tolower((unsigned char)s[1]) == nm[1] &&
                tolower((unsigned char)s[2]) == nm[2]) {
                *out = fd->names_lo + (int)i;
                return ERR_OK;
            }
        }
    }
    if (fd->names != NULL)
        return err_set(msg, ERR_BAD_VALUE, "field %d (%s): '%.*s' is not a number or a name (%s)",
                       f + 1, fd->name, (int)len, s, f == 3 ? "jan-dec" : "sun-sat");
    return err_set(msg, ERR_BAD_VALUE, "field %d (%s): '%.*s' is not a number", f + 1, fd->name,
                   (int)len, s);
}

/* One list item: "*", "*" "/n", "a", "a-b", "a-b/n". Sets bits in *bits. */
static err_t parse_item(int f, const char *s, size_t len, uint64_t *bits, err_msg_t *msg)
{
    const field_def_t *fd = &fields[f];
    const char *slash = memchr(s, '/', len);
    size_t body = slash ? (size_t)(slash - s) : len;
    int lo, hi, step = 1;
    err_t e;
    if (slash != NULL) {
        const char *st = slash + 1;
        size_t stlen = len - body - 1;
        int span = fd->hi - fd->lo + (f == 4 ? 0 : 1); /* day of week: 7 is Sunday again */
        long v = 0;
        if (stlen == 0)
            return err_set(msg, ERR_BAD_VALUE, "field %d (%s): '%.*s' has no step after '/'", f + 1,
                           fd->name, (int)len, s);
        for (size_t i = 0; i < stlen; i++) {
            if (!isdigit((unsigned char)st[i]))
                return err_set(msg, ERR_BAD_VALUE, "field %d (%s): step '%.*s' is not a number",
                               f + 1, fd->name, (int)stlen, st);
            if (v < 1000)
                v = v * 10 + (st[i] - '0');
        }
        if (v < 1 || v > span)
            return err_set(msg, ERR_BAD_VALUE, "field %d (%s): step %.*s is out of range 1-%d",
                           f + 1, fd->name, (int)stlen, st, span);
        step = (int)v;
    }
    if (body == 1 && s[0] == '*') {
        lo = fd->lo;
        hi = f == 4 ? 6 : fd->hi;
    } else {
        const char *dash = memchr(s, '-', body);
        if (dash == NULL) {
            if (slash != NULL)
                return err_set(msg, ERR_BAD_VALUE,
                               "field %d (%s): a step needs '*' or a range before it ('%.*s': "
                               "write e.g. %.*s-%d/%d)",
                               f + 1, fd->name, (int)len, s, (int)body, s, fd->hi, step);
            e = parse_value(f, s, body, &lo, msg);
            if (e)
                return e;
            hi = lo;
        } else {
            e = parse_value(f, s, (size_t)(dash - s), &lo, msg);
            if (!e)
                e = parse_value(f, dash + 1, body - (size_t)(dash - s) - 1, &hi, msg);
            if (e)
                return e;
            if (lo > hi)
                return err_set(msg, ERR_BAD_VALUE,
                               "field %d (%s): range '%.*s' goes backwards (ranges do not wrap)",
                               f + 1, fd->name, (int)body, s);
        }
    }
    for (int v = lo; v <= hi; v += step)
        *bits |= (uint64_t)1 << (f == 4 && v == 7 ? 0 : v);
    return ERR_OK;
}

static err_t parse_field(int f, const char *s, size_t len, uint64_t *bits, err_msg_t *msg)
{
    *bits = 0;
    size_t i = 0;
    for (;;) {
        size_t j = i;
        while (j < len && s[j] != ',')
            j++;
        if (j == i)
            return err_set(msg, ERR_BAD_VALUE, "field %d (%s): empty item in list '%.*s'", f + 1,
                           fields[f].name, (int)len, s);
        err_t e = parse_item(f, s + i, j - i, bits, msg);
        if (e)
            return e;
        if (j == len)
            return ERR_OK;
        i = j + 1;
    }
}

/* Whether some selected day of month occurs in some selected month. */
static bool dates_possible(const rpt_cron_t *c)
{
    for (int m = 1; m <= 12; m++) {
        if (!(c->months >> m & 1))
            continue;
        int max = m == 2 ? 29 : kpi_days_in_month(2001, m);
        for (int d = 1; d <= max; d++)
            if (c->mdays >> d & 1)
                return true;
    }
    return false;
}

err_t rpt_cron_parse(const char *expr, rpt_cron_t *out, err_msg_t *msg)
{
    size_t n = strlen(expr);
    if (n > RPT_CRON_EXPR_MAX)
        return err_set(msg, ERR_BAD_VALUE, "cron expression is longer than %d bytes",
                       RPT_CRON_EXPR_MAX);
    const char *start[6];
    size_t len[6];
    int nf = 0;
    for (size_t i = 0; i < n;) {
        while (i < n && isspace((unsigned char)expr[i]))
            i++;
        if (i == n)
            break;
        size_t j = i;
        while (j < n && !isspace((unsigned char)expr[j]))
            j++;
        if (nf < 6) {
            start[nf] = expr + i;
            len[nf] = j - i;
        }
        nf++;
        i = j;
    }
    if (nf != 5)
        return err_set(msg, ERR_BAD_VALUE,
                       "cron expression '%s' has %d field%s; expected 5: minute hour "
                       "day-of-month month day-of-week (e.g. '0 6 1 * *')",
                       expr, nf, nf == 1 ? "" : "s");
    uint64_t bits[5];
    for (int f = 0; f < 5; f++) {
        err_t e = parse_field(f, start[f], len[f], &bits[f], msg);
        if (e)
            return e;
    }
    rpt_cron_t c = {
        .minutes = bits[0],
        .hours = (uint32_t)bits[1],
        .mdays = (uint32_t)bits[2],
        .months = (uint16_t)bits[3],
        .wdays = (uint8_t)bits[4],
        .mday_star = start[2][0] == '*',
        .wday_star = start[4][0] == '*',
    };
    /* With the OR rule a restricted day of week always matches some day;
       otherwise the day of month must exist in one of the months. */
    bool or_rule = !c.mday_star && !c.wday_star;
    if (!or_rule && !dates_possible(&c)) {
        int m = 1;
        while (!(c.months >> m & 1))
            m++;
        return err_set(msg, ERR_BAD_VALUE,
                       "cron expression '%s' never matches: none of its days of the month "
                       "occurs in %s%s",
                       expr, month_names[m - 1],
                       (c.months & (c.months - 1)) ? " or its other months" : "");
    }
    *out = c;
    return ERR_OK;
}

bool rpt_cron_day_matches(const rpt_cron_t *c, int32_t day)
{
    int32_t y, m, d;
    kpi_civil_from_days(day, &y, &m, &d);
    if (!(c->months >> m & 1))
        return false;
    bool dom = c->mdays >> d & 1;
    bool dow = c->wdays >> (kpi_weekday(day) % 7) & 1;
    if (c->mday_star || c->wday_star)
        return dom && dow;
    return dom || dow;
}

/*
 * The instant of local wall time (day, sec): its first occurrence, or for a
 * time inside a gap the first instant after the gap (the transition).
 */
static int64_t local_instant(const kpi_tz_t *tz, int32_t day, int32_t sec)
{
    int64_t local = kpi_day_start_utc(day) + sec;
    int64_t t = kpi_tz_local_to_utc(tz, day, sec); /* earliest occurrence, or pushed past a gap */
    if (t + kpi_tz_offset_at(tz, t) == local)
        return t;
    /* In a gap: t = local - old offset lies after the transition and
       local - new offset before it; bisect for the transition instant. */
    int64_t hi = t;
    int64_t lo = local - kpi_tz_offset_at(tz, t);
    int32_t off_lo = kpi_tz_offset_at(tz, lo);
    if (lo >= hi || off_lo == kpi_tz_offset_at(tz, hi))
        return t; /* not a simple gap: keep kpi_tz's answer */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (kpi_tz_offset_at(tz, mid) == off_lo)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

static int first_bit(uint64_t bits)
{
    return __builtin_ctzll(bits);
}

static int last_bit(uint64_t bits)
{
    return 63 - __builtin_clzll(bits);
}

err_t rpt_cron_next(const rpt_cron_t *c, const kpi_tz_t *tz, int64_t after_s, int64_t *next_s)
{
    if (c->minutes == 0 || c->hours == 0)
        return ERR_NOT_FOUND;
    int32_t day0 = kpi_tz_day(tz, after_s);
    int mlast = last_bit(c->minutes);
    for (int32_t day = day0 - 1; day <= day0 + RPT_CRON_SEARCH_DAYS; day++) {
        if (!rpt_cron_day_matches(c, day))
            continue;
        for (int h = 0; h < 24; h++) {
            if (!(c->hours >> h & 1))
                continue;
            if (local_instant(tz, day, h * 3600 + mlast * 60) <= after_s)
                continue; /* the whole hour is at or before after_s */
            for (int m = 0; m < 60; m++) {
                if (!(c->minutes >> m & 1))
                    continue;
                int64_t t = local_instant(tz, day, h * 3600 + m * 60);
                if (t > after_s) {
                    *next_s = t;
                    return ERR_OK;
                }
            }
        }
    }
    return ERR_NOT_FOUND;
}

err_t rpt_cron_prev(const rpt_cron_t *c, const kpi_tz_t *tz, int64_t at_s, int64_t *prev_s)
{
    if (c->minutes == 0 || c->hours == 0)
        return ERR_NOT_FOUND;
    int32_t day0 = kpi_tz_day(tz, at_s);
    int mfirst = first_bit(c->minutes);
    for (int32_t day = day0 + 1; day >= day0 - RPT_CRON_SEARCH_DAYS; day--) {
        if (!rpt_cron_day_matches(c, day))
            continue;
        for (int h = 23; h >= 0; h--) {
            if (!(c->hours >> h & 1))
                continue;
            if (local_instant(tz, day, h * 3600 + mfirst * 60) > at_s)
                continue; /* the whole hour is after at_s */
            for (int m = 59; m >= 0; m--) {
                if (!(c->minutes >> m & 1))
                    continue;
                int64_t t = local_instant(tz, day, h * 3600 + m * 60);
                if (t <= at_s) {
                    *prev_s = t;
                    return ERR_OK;
                }
            }
        }
    }
    return ERR_NOT_FOUND;
}
