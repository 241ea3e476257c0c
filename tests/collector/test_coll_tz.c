/*
 * test_coll_tz.c — loading the reporting zone (coll_tz.c): real zones from
 * zoneinfo, names that could escape it, unknown zones, UTC without tzdata.
 */
#include <stdlib.h>

#include "coll.h"
#include "kpi_date.h"
#include "test.h"

static void test_load(void)
{
    kpi_tz_t *tz = NULL;
    err_msg_t msg;
    CHECK_ERR(ERR_OK, coll_tz_load("UTC", &tz, &msg));
    kpi_tz_free(tz);
    if (coll_tz_load("Europe/Berlin", &tz, &msg) == ERR_OK) {
        /* 2025-07-01 12:00 UTC is 14:00 CEST. */
        int64_t t = kpi_day_start_utc(kpi_days_from_civil(2025, 7, 1)) + 12 * 3600;
        CHECK_INT(7200, kpi_tz_offset_at(tz, t));
        CHECK_STR("Europe/Berlin", kpi_tz_name(tz));
        kpi_tz_free(tz);
    } else {
        fprintf(stderr, "    no tzdata for Europe/Berlin: %s\n", msg.text);
    }
}

static void test_bad_names(void)
{
    static const char *const bad[] = {"",
                                      "../../etc/passwd",
                                      "/etc/localtime",
                                      "Europe/../UTC",
                                      "Europe/Ber lin",
                                      "Mars/Olympus_Mons"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_current_ = bad[i];
        kpi_tz_t *tz = NULL;
        err_msg_t msg = {{0}};
        CHECK_ERR(ERR_TZ, coll_tz_load(bad[i], &tz, &msg));
        CHECK(tz == NULL);
        CHECK(msg.text[0] != '\0');
    }
}

static void test_utc_without_tzdata(void)
{
    setenv("TZDIR", "/nonexistent-zoneinfo", 1);
    kpi_tz_t *tz = NULL;
    err_msg_t msg;
    CHECK_ERR(ERR_OK, coll_tz_load("UTC", &tz, &msg));
    CHECK_INT(0, kpi_tz_offset_at(tz, 0));
    kpi_tz_free(tz);
    CHECK_ERR(ERR_TZ, coll_tz_load("Europe/Berlin", &tz, &msg));
    unsetenv("TZDIR");
}

int main(void)
{
    RUN(test_load);
    RUN(test_bad_names);
    RUN(test_utc_without_tzdata);
    return test_summary();
}
