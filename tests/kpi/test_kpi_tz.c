/*
 * test_kpi_tz.c — TZif parsing and local days, on TZif bytes built here
 * (kpi tests touch no files): a transition table like Europe/Berlin's 2025,
 * the same zone as a POSIX footer rule only, a southern-hemisphere rule, a
 * zone whose clocks jump at midnight, and damaged inputs.
 */
#include <stdlib.h>
#include <string.h>

#include "kpi_date.h"
#include "kpi_tz.h"
#include "test.h"

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

static uint8_t *header(uint8_t *p, char version, uint32_t ntimes, uint32_t ntypes)
{
    memcpy(p, "TZif", 4);
    p[4] = (uint8_t)version;
    memset(p + 5, 0, 15);
    p += 20;
    p = put32(p, 0);      /* isut */
    p = put32(p, 0);      /* isstd */
    p = put32(p, 0);      /* leap */
    p = put32(p, ntimes); /* time */
    p = put32(p, ntypes); /* type */
    return put32(p, 1);   /* chars: one NUL */
}

static uint8_t *types(uint8_t *p, const int32_t *offs, size_t ntypes)
{
    for (size_t i = 0; i < ntypes; i++) {
        p = put32(p, (uint32_t)offs[i]);
        *p++ = 0; /* isdst: unused by kpid */
        *p++ = 0; /* abbreviation index */
    }
    *p++ = 0; /* the abbreviation characters */
    return p;
}

/* A version 2 TZif file: minimal v1 block, then the 64-bit data and footer. */
static size_t build(uint8_t *buf, const int64_t *times, const uint8_t *idx, size_t n,
                    const int32_t *offs, size_t ntypes, const char *footer)
{
    uint8_t *p = header(buf, '2', 0, 1);
    p = types(p, offs, 1);
    p = header(p, '2', (uint32_t)n, (uint32_t)ntypes);
    for (size_t i = 0; i < n; i++) {
        p = put32(p, (uint32_t)((uint64_t)times[i] >> 32));
        p = put32(p, (uint32_t)times[i]);
    }
    for (size_t i = 0; i < n; i++)
        *p++ = idx[i];
    p = types(p, offs, ntypes);
    *p++ = '\n';
    memcpy(p, footer, strlen(footer));
    p += strlen(footer);
    *p++ = '\n';
    return (size_t)(p - buf);
}

static int64_t at(const char *rfc3339)
{
    int64_t t = 0;
    REQUIRE(kpi_time_parse_rfc3339(rfc3339, strlen(rfc3339), &t) == ERR_OK);
    return t;
}

static int32_t day(const char *ymd)
{
    int32_t d = 0;
    REQUIRE(kpi_date_parse(ymd, strlen(ymd), &d) == ERR_OK);
    return d;
}

static kpi_tz_t *make(const char *name, const int64_t *times, const uint8_t *idx, size_t n,
                      const int32_t *offs, size_t ntypes, const char *footer)
{
    uint8_t buf[1024];
    size_t len = build(buf, times, idx, n, offs, ntypes, footer);
    kpi_tz_t *tz = NULL;
    err_msg_t msg = {{0}};
    err_t e = kpi_tz_from_tzif(name, buf, len, &tz, &msg);
    CHECK_MSG(e == ERR_OK, "%s: %s", name, err_msg_or(&msg, e));
    REQUIRE(tz != NULL);
    return tz;
}

/* Checks common to every Berlin-like zone, 2025: CEST from 03-30 01:00Z to 10-26 01:00Z. */
static void check_berlin_2025(const kpi_tz_t *tz)
{
    CHECK_INT(3600, kpi_tz_offset_at(tz, at("2025-03-30T00:59:59Z")));
    CHECK_INT(7200, kpi_tz_offset_at(tz, at("2025-03-30T01:00:00Z")));
    CHECK_INT(7200, kpi_tz_offset_at(tz, at("2025-10-26T00:59:59Z")));
    CHECK_INT(3600, kpi_tz_offset_at(tz, at("2025-10-26T01:00:00Z")));
    /* Local days: 22:30Z on 03-30 is 00:30 CEST on 03-31. */
    CHECK_INT(day("2025-03-31"), kpi_tz_day(tz, at("2025-03-30T22:30:00Z")));
    CHECK_INT(day("2025-03-30"), kpi_tz_day(tz, at("2025-03-30T21:59:59Z")));
    /* The spring day lasts 23 hours, the autumn day 25. */
    CHECK_INT(at("2025-03-29T23:00:00Z"), kpi_tz_day_start(tz, day("2025-03-30")));
    CHECK_INT(at("2025-03-30T22:00:00Z"), kpi_tz_day_start(tz, day("2025-03-31")));
    CHECK_INT(at("2025-10-25T22:00:00Z"), kpi_tz_day_start(tz, day("2025-10-26")));
    CHECK_INT(at("2025-10-26T23:00:00Z"), kpi_tz_day_start(tz, day("2025-10-27")));
    /* 02:30 does not exist on 03-30: pushed forward to 03:30 CEST. */
    CHECK_INT(at("2025-03-30T01:30:00Z"), kpi_tz_local_to_utc(tz, day("2025-03-30"), 9000));
    /* 02:30 happens twice on 10-26: the earlier (CEST) one. */
    CHECK_INT(at("2025-10-26T00:30:00Z"), kpi_tz_local_to_utc(tz, day("2025-10-26"), 9000));
}

static void test_transition_table(void)
{
    const int32_t offs[] = {3600, 7200};
    const int64_t times[] = {at("2025-03-30T01:00:00Z"), at("2025-10-26T01:00:00Z")};
    const uint8_t idx[] = {1, 0};
    kpi_tz_t *tz = make("Test/Table", times, idx, 2, offs, 2, "");
    CHECK_STR("Test/Table", kpi_tz_name(tz));
    check_berlin_2025(tz);
    /* Before the first transition: type 0. After the last, no rule: last offset. */
    CHECK_INT(3600, kpi_tz_offset_at(tz, at("1990-07-01T00:00:00Z")));
    CHECK_INT(3600, kpi_tz_offset_at(tz, at("2030-07-01T00:00:00Z")));
    kpi_tz_free(tz);
}

static void test_footer_rule(void)
{
    const int32_t offs[] = {3600};
    kpi_tz_t *tz = make("Test/Rule", NULL, NULL, 0, offs, 1, "CET-1CEST,M3.5.0,M10.5.0/3");
    check_berlin_2025(tz);
    /* The rule keeps working long after any table: 2100-03-28 is the last Sunday. */
    CHECK_INT(3600, kpi_tz_offset_at(tz, at("2100-03-28T00:59:59Z")));
    CHECK_INT(7200, kpi_tz_offset_at(tz, at("2100-03-28T01:00:00Z")));
    kpi_tz_free(tz);

    /* Table then rule: the rule governs after the last transition. */
    const int32_t offs2[] = {3600, 7200};
    const int64_t times[] = {at("2024-03-31T01:00:00Z"), at("2024-10-27T01:00:00Z")};
    const uint8_t idx[] = {1, 0};
    tz = make("Test/Both", times, idx, 2, offs2, 2, "CET-1CEST,M3.5.0,M10.5.0/3");
    CHECK_INT(7200, kpi_tz_offset_at(tz, at("2024-07-01T00:00:00Z")));
    check_berlin_2025(tz);
    kpi_tz_free(tz);
}

static void test_southern_rule(void)
{
    const int32_t offs[] = {36000};
    kpi_tz_t *tz = make("Test/Sydney", NULL, NULL, 0, offs, 1, "AEST-10AEDT,M10.1.0,M4.1.0/3");
    CHECK_INT(39600, kpi_tz_offset_at(tz, at("2025-01-15T00:00:00Z")));
    CHECK_INT(36000, kpi_tz_offset_at(tz, at("2025-07-15T00:00:00Z")));
    CHECK_INT(39600, kpi_tz_offset_at(tz, at("2025-12-15T00:00:00Z")));
    /* DST ends 2025-04-06 03:00 AEDT = 04-05 16:00Z. */
    CHECK_INT(39600, kpi_tz_offset_at(tz, at("2025-04-05T15:59:59Z")));
    CHECK_INT(36000, kpi_tz_offset_at(tz, at("2025-04-05T16:00:00Z")));
    CHECK_INT(day("2025-01-16"), kpi_tz_day(tz, at("2025-01-15T13:00:00Z")));
    kpi_tz_free(tz);
}

static void test_gap_at_midnight(void)
{
    /* Clocks jump from 00:00 to 01:00 on the last Sunday of March: that day
       starts at 01:00 local, the instant of the jump. */
    const int32_t offs[] = {7200};
    kpi_tz_t *tz = make("Test/Midnight", NULL, NULL, 0, offs, 1, "XST-2XDT,M3.5.0/0,M10.5.0/0");
    int64_t start = kpi_tz_day_start(tz, day("2025-03-30"));
    CHECK_INT(at("2025-03-29T22:00:00Z"), start);
    CHECK_INT(day("2025-03-30"), kpi_tz_day(tz, start));
    CHECK_INT(day("2025-03-29"), kpi_tz_day(tz, start - 1));
    kpi_tz_free(tz);
}

static void test_utc_and_damaged(void)
{
    kpi_tz_t *tz = NULL;
    CHECK_ERR(ERR_OK, kpi_tz_new_utc(&tz));
    CHECK_STR("UTC", kpi_tz_name(tz));
    CHECK_INT(0, kpi_tz_offset_at(tz, at("2025-06-01T12:00:00Z")));
    CHECK_INT(day("2025-06-01"), kpi_tz_day(tz, at("2025-06-01T23:59:59Z")));
    CHECK_INT(at("2025-06-01T00:00:00Z"), kpi_tz_day_start(tz, day("2025-06-01")));
    kpi_tz_free(tz);
    kpi_tz_free(NULL);

    uint8_t buf[1024];
    const int32_t offs[] = {3600, 7200};
    const int64_t times[] = {at("2025-03-30T01:00:00Z"), at("2025-10-26T01:00:00Z")};
    const uint8_t idx[] = {1, 0};
    size_t len = build(buf, times, idx, 2, offs, 2, "CET-1CEST,M3.5.0,M10.5.0/3");
    struct {
        const char *row;
        size_t len;
        int poke_at;
        uint8_t poke;
    } rows[] = {
        {"empty", 0, -1, 0},
        {"not TZif", len, 0, 'X'},
        {"truncated header", 30, -1, 0},
        {"truncated data", len - 40, -1, 0},
        {"type index out of range", len, 44 + 6 + 1 + 44 + 16, 9},
        {"bad footer rule", len, (int)len - 3, '!'},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        test_current_ = rows[i].row;
        uint8_t copy[1024];
        memcpy(copy, buf, len);
        if (rows[i].poke_at >= 0)
            copy[rows[i].poke_at] = rows[i].poke;
        err_msg_t msg = {{0}};
        tz = NULL;
        CHECK_ERR(ERR_TZ, kpi_tz_from_tzif("Bad/Zone", copy, rows[i].len, &tz, &msg));
        CHECK(tz == NULL);
        CHECK_MSG(strstr(msg.text, "Bad/Zone") != NULL, "message: %s", msg.text);
    }
}

int main(void)
{
    RUN(test_transition_table);
    RUN(test_footer_rule);
    RUN(test_southern_rule);
    RUN(test_gap_at_midnight);
    RUN(test_utc_and_damaged);
    return test_summary();
}
