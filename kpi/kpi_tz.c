/*
 * kpi_tz.c — TZif (RFC 8536) parsing and UTC <-> local day conversion.
 *
 * Representation: the transition instants (ascending) with the UTC offset in
 * force from each one, the offset before the first one (time type 0, per the
 * RFC), and the POSIX TZ footer rule that governs instants after the last
 * transition (version 2+ files). Only offsets matter for kpid: abbreviations,
 * isstd/isut indicators and leap-second records are validated for size and
 * skipped.
 *
 * Invariants: times[] is strictly ascending (checked at parse); offsets are
 * within ±26 h; kpi_tz_offset_at is a pure function of (tz, t).
 */
#include "kpi_tz.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "kpi_date.h"

#define OFFSET_MAX (26 * 3600)

/* One end of a POSIX daylight-saving rule: a day of the year and a local time. */
typedef struct {
    char kind;      /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (month.week.weekday) */
    int32_t n;      /* J/D day */
    int32_t month;  /* M: 1..12 */
    int32_t week;   /* M: 1..5, 5 = last */
    int32_t wday;   /* M: 0 = Sunday .. 6 */
    int32_t time_s; /* local seconds after midnight; may be negative or > 24h */
} rule_end_t;

typedef struct {
    bool present;
    int32_t std_off; /* seconds east of UTC */
    bool has_dst;
    int32_t dst_off;  /* seconds east of UTC */
    rule_end_t start; /* into DST, given in standard local time */
    rule_end_t end;   /* out of DST, given in DST local time */
} posix_rule_t;

struct kpi_tz {
    char *name;
    size_t n;       /* transitions */
    int64_t *times; /* n instants, ascending */
    int32_t *offs;  /* n offsets in force from times[i] */
    int32_t off0;   /* offset before times[0] (or always, if n == 0 and no rule) */
    posix_rule_t rule;
};

/* ---- byte reading --------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int64_t be64s(const uint8_t *p)
{
    uint64_t v = (uint64_t)be32(p) << 32 | be32(p + 4);
    return (int64_t)v;
}

typedef struct {
    uint32_t isut, isstd, leap, time, type, chars;
} counts_t;

static bool read_header(const uint8_t *p, size_t avail, char *version, counts_t *c)
{
    if (avail < 44 || memcmp(p, "TZif", 4) != 0)
        return false;
    *version = (char)p[4];
    c->isut = be32(p + 20);
    c->isstd = be32(p + 24);
    c->leap = be32(p + 28);
    c->time = be32(p + 32);
    c->type = be32(p + 36);
    c->chars = be32(p + 40);
    return true;
}

/* Size of the data block after a header; 0 on absurd counts. */
static size_t block_size(const counts_t *c, size_t tsize)
{
    if (c->time > 1000000 || c->type > 256 || c->chars > 65536 || c->leap > 100000 ||
        c->isut > 256 || c->isstd > 256)
        return 0;
    return (size_t)c->time * tsize + c->time + (size_t)c->type * 6 + c->chars +
           (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

/* ---- POSIX TZ strings ------------------------------------------------ */

static bool parse_name(const char **sp)
{
    const char *s = *sp;
    if (*s == '<') {
        const char *e = strchr(s, '>');
        if (e == NULL || e - s < 4)
            return false;
        *sp = e + 1;
        return true;
    }
    const char *b = s;
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
        s++;
    if (s - b < 3)
        return false;
    *sp = s;
    return true;
}

static bool parse_num(const char **sp, int32_t lo, int32_t hi, int32_t *out)
{
    const char *s = *sp;
    int32_t v = 0;
    int nd = 0;
    while (*s >= '0' && *s <= '9' && nd < 4) {
        v = v * 10 + (*s - '0');
        s++;
        nd++;
    }
    if (nd == 0 || v < lo || v > hi)
        return false;
    *sp = s;
    *out = v;
    return true;
}

/* [+-]hh[:mm[:ss]] as seconds; hours up to max_h. */
static bool parse_hms(const char **sp, int32_t max_h, int32_t *out)
{
    const char *s = *sp;
    int32_t sign = 1, h, m = 0, sec = 0;
    if (*s == '+' || *s == '-') {
        sign = *s == '-' ? -1 : 1;
        s++;
    }
    if (!parse_num(&s, 0, max_h, &h))
        return false;
    if (*s == ':') {
        s++;
        if (!parse_num(&s, 0, 59, &m))
            return false;
        if (*s == ':') {
            s++;
            if (!parse_num(&s, 0, 59, &sec))
                return false;
        }
    }
    *sp = s;
    *out = sign * (h * 3600 + m * 60 + sec);
    return true;
}

static bool parse_rule_end(const char **sp, rule_end_t *r)
{
    const char *s = *sp;
    memset(r, 0, sizeof(*r));
    if (*s == 'J') {
        s++;
        r->kind = 'J';
        if (!parse_num(&s, 1, 365, &r->n))
            return false;
    } else if (*s == 'M') {
        s++;
        r->kind = 'M';
        if (!parse_num(&s, 1, 12, &r->month) || *s++ != '.' || !parse_num(&s, 1, 5, &r->week) ||
            *s++ != '.' || !parse_num(&s, 0, 6, &r->wday))
            return false;
    } else {
        r->kind = 'D';
        if (!parse_num(&s, 0, 365, &r->n))
            return false;
    }
    r->time_s = 2 * 3600;
    if (*s == '/') {
        s++;
        if (!parse_hms(&s, 167, &r->time_s))
            return false;
    }
    *sp = s;
    return true;
}

static bool parse_posix(const char *s, posix_rule_t *r)
{
    memset(r, 0, sizeof(*r));
    int32_t off;
    if (!parse_name(&s) || !parse_hms(&s, 24, &off))
        return false;
    r->std_off = -off; /* POSIX offsets count west */
    r->present = true;
    if (*s == '\0')
        return true;
    if (!parse_name(&s))
        return false;
    r->has_dst = true;
    r->dst_off = r->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (!parse_hms(&s, 24, &off))
            return false;
        r->dst_off = -off;
    }
    if (*s == '\0') {
        /* No rule given: POSIX leaves it to the implementation; use the
           current US rule like glibc does. */
        const char *dflt = "M3.2.0,M11.1.0";
        return parse_rule_end(&dflt, &r->start) && *dflt++ == ',' && parse_rule_end(&dflt, &r->end);
    }
    if (*s++ != ',' || !parse_rule_end(&s, &r->start) || *s++ != ',' ||
        !parse_rule_end(&s, &r->end))
        return false;
    return *s == '\0';
}

/* The day number on which a rule end falls in year y. */
static int32_t rule_day(const rule_end_t *r, int32_t y)
{
    int32_t jan1 = kpi_days_from_civil(y, 1, 1);
    switch (r->kind) {
    case 'J': return jan1 + r->n - 1 + (kpi_is_leap(y) && r->n >= 60 ? 1 : 0);
    case 'D': return jan1 + r->n;
    default: {
        int32_t first = kpi_days_from_civil(y, r->month, 1);
        int32_t wd = kpi_weekday(first) % 7; /* 0 = Sunday */
        int32_t d = first + (r->wday - wd + 7) % 7 + (r->week - 1) * 7;
        int32_t last = first + kpi_days_in_month(y, r->month) - 1;
        while (d > last)
            d -= 7;
        return d;
    }
    }
}

static int32_t rule_offset_at(const posix_rule_t *r, int64_t t)
{
    if (!r->has_dst)
        return r->std_off;
    int32_t y;
    kpi_civil_from_days(kpi_utc_day(t + r->std_off), &y, NULL, NULL);
    int64_t start = kpi_day_start_utc(rule_day(&r->start, y)) + r->start.time_s - r->std_off;
    int64_t end = kpi_day_start_utc(rule_day(&r->end, y)) + r->end.time_s - r->dst_off;
    bool dst = start < end ? (t >= start && t < end) : (t < end || t >= start);
    return dst ? r->dst_off : r->std_off;
}

/* ---- public ---------------------------------------------------------- */

static err_t tz_alloc(const char *name, kpi_tz_t **out)
{
    kpi_tz_t *tz = calloc(1, sizeof(*tz));
    if (tz == NULL)
        return ERR_NOMEM;
    size_t len = strlen(name);
    tz->name = malloc(len + 1);
    if (tz->name == NULL) {
        free(tz);
        return ERR_NOMEM;
    }
    memcpy(tz->name, name, len + 1);
    *out = tz;
    return ERR_OK;
}

err_t kpi_tz_new_utc(kpi_tz_t **out)
{
    return tz_alloc("UTC", out);
}

void kpi_tz_free(kpi_tz_t *tz)
{
    if (tz == NULL)
        return;
    free(tz->name);
    free(tz->times);
    free(tz->offs);
    free(tz);
}

err_t kpi_tz_from_tzif(const char *name, const uint8_t *data, size_t len, kpi_tz_t **out,
                       err_msg_t *msg)
{
    char version;
    counts_t c;
    if (data == NULL || !read_header(data, len, &version, &c))
        return err_set(msg, ERR_TZ, "zone %s: not a TZif file", name);
    size_t tsize = 4;
    const uint8_t *p = data + 44;
    size_t avail = len - 44;
    size_t bs = block_size(&c, 4);
    if ((bs == 0 && (c.time || c.type)) || bs > avail)
        return err_set(msg, ERR_TZ, "zone %s: truncated or damaged TZif data", name);
    if (version >= '2') {
        /* Skip the 32-bit block; the 64-bit one follows with its own header. */
        p += bs;
        avail -= bs;
        if (!read_header(p, avail, &version, &c))
            return err_set(msg, ERR_TZ, "zone %s: damaged TZif v2+ header", name);
        p += 44;
        avail -= 44;
        tsize = 8;
        bs = block_size(&c, 8);
        if ((bs == 0 && (c.time || c.type)) || bs > avail)
            return err_set(msg, ERR_TZ, "zone %s: truncated TZif v2+ data", name);
    }
    if (c.type == 0)
        return err_set(msg, ERR_TZ, "zone %s: TZif data without local time types", name);

    kpi_tz_t *tz = NULL;
    if (tz_alloc(name, &tz) != ERR_OK)
        return err_set(msg, ERR_NOMEM, "zone %s: out of memory", name);
    const uint8_t *times = p;
    const uint8_t *idx = times + (size_t)c.time * tsize;
    const uint8_t *types = idx + c.time;
    for (uint32_t i = 0; i < c.type; i++) {
        int32_t off = (int32_t)be32(types + 6 * i);
        if (off < -OFFSET_MAX || off > OFFSET_MAX)
            goto damaged;
    }
    tz->off0 = (int32_t)be32(types);
    if (c.time > 0) {
        tz->times = malloc(sizeof(int64_t) * c.time);
        tz->offs = malloc(sizeof(int32_t) * c.time);
        if (tz->times == NULL || tz->offs == NULL) {
            kpi_tz_free(tz);
            return err_set(msg, ERR_NOMEM, "zone %s: out of memory", name);
        }
    }
    for (uint32_t i = 0; i < c.time; i++) {
        int64_t t = tsize == 8 ? be64s(times + 8 * (size_t)i)
                               : (int64_t)(int32_t)be32(times + 4 * (size_t)i);
        if (idx[i] >= c.type || (i > 0 && t <= tz->times[i - 1]))
            goto damaged;
        tz->times[i] = t;
        tz->offs[i] = (int32_t)be32(types + 6 * (size_t)idx[i]);
    }
    tz->n = c.time;
    if (tsize == 8) {
        /* Footer: "\n<POSIX TZ>\n". An empty string means "no rule". */
        const uint8_t *f = p + bs;
        size_t flen = avail - bs;
        if (flen >= 2 && f[0] == '\n') {
            const uint8_t *nl = memchr(f + 1, '\n', flen - 1);
            size_t sl = nl != NULL ? (size_t)(nl - f - 1) : 0;
            if (nl != NULL && sl > 0 && sl < 128) {
                char rule[128];
                memcpy(rule, f + 1, sl);
                rule[sl] = '\0';
                if (!parse_posix(rule, &tz->rule)) {
                    kpi_tz_free(tz);
                    return err_set(msg, ERR_TZ, "zone %s: unsupported TZ rule \"%s\"", name, rule);
                }
            }
        }
    }
    *out = tz;
    return ERR_OK;
damaged:
    kpi_tz_free(tz);
    return err_set(msg, ERR_TZ, "zone %s: damaged TZif data", name);
}

const char *kpi_tz_name(const kpi_tz_t *tz)
{
    return tz->name;
}

int32_t kpi_tz_offset_at(const kpi_tz_t *tz, int64_t t_s)
{
    if (tz->n == 0)
        return tz->rule.present ? rule_offset_at(&tz->rule, t_s) : tz->off0;
    if (t_s < tz->times[0])
        return tz->off0;
    if (t_s >= tz->times[tz->n - 1] && tz->rule.present)
        return rule_offset_at(&tz->rule, t_s);
    /* Last transition at or before t. */
    size_t lo = 0, hi = tz->n;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->times[mid] <= t_s)
            lo = mid;
        else
            hi = mid;
    }
    return tz->offs[lo];
}

int32_t kpi_tz_day(const kpi_tz_t *tz, int64_t t_s)
{
    return kpi_utc_day(t_s + kpi_tz_offset_at(tz, t_s));
}

int64_t kpi_tz_local_to_utc(const kpi_tz_t *tz, int32_t day, int32_t sec)
{
    int64_t local = kpi_day_start_utc(day) + sec;
    /* Offsets in force well before and well after: one transition at most
       lies between (zones change offset at most a few times a year). */
    int32_t before = kpi_tz_offset_at(tz, local - 86400);
    int32_t after = kpi_tz_offset_at(tz, local + 86400);
    int64_t best = INT64_MAX;
    int32_t cand[2] = {before, after};
    for (int i = 0; i < 2; i++) {
        int64_t t = local - cand[i];
        if (kpi_tz_offset_at(tz, t) == cand[i] && t < best)
            best = t; /* an overlap has two valid instants: take the earlier */
    }
    if (best != INT64_MAX)
        return best;
    /* In a gap: the old offset maps the missing local time past the jump. */
    return local - before;
}

int64_t kpi_tz_day_start(const kpi_tz_t *tz, int32_t day)
{
    return kpi_tz_local_to_utc(tz, day, 0);
}
