/*
 * rpt_id.c — report file ids (rpt_id.h). Pure string work.
 */
#include "rpt_id.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "kpi_date.h"

static int id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

void rpt_id_customer(const char *customer, char buf[RPT_ID_CUSTOMER_MAX])
{
    uint32_t h = 2166136261u; /* FNV-1a, 32 bits */
    size_t n = 0;
    for (const unsigned char *s = (const unsigned char *)customer; *s; s++) {
        h = (h ^ *s) * 16777619u;
        if (n < 40)
            buf[n++] = id_char(*s) && *s != '.' && *s != '-' ? (char)*s : '_';
    }
    snprintf(buf + n, RPT_ID_CUSTOMER_MAX - n, ".%08x", (unsigned)h);
}

void rpt_id_unit(const char *business_unit, char unit[RPT_ID_UNIT_MAX])
{
    snprintf(unit, RPT_ID_UNIT_MAX, "%s", "all");
    bool whole = business_unit == NULL || business_unit[0] == '\0';
    if (!whole) {
        size_t n = 0;
        for (const char *s = business_unit; *s && n < RPT_ID_UNIT_MAX - 1; s++)
            unit[n++] = id_char((unsigned char)*s) ? *s : '_';
        unit[n] = '\0';
        if (unit[0] == '.')
            unit[0] = '_';
    }
    /* ".." cannot survive: every '.' pair in the unit becomes "._". */
    for (char *d = strstr(unit, ".."); d != NULL; d = strstr(unit, ".."))
        d[1] = '_';
    /* A unit called "all" must not read as the whole book. */
    if (!whole && strcmp(unit, "all") == 0)
        snprintf(unit, RPT_ID_UNIT_MAX, "%s", "_all");
}

void rpt_id_format(const char *kind, const char *business_unit, int32_t from_day, int32_t to_day,
                   int64_t created_s, char buf[RPT_ID_MAX])
{
    char unit[RPT_ID_UNIT_MAX];
    rpt_id_unit(business_unit, unit);
    char from[KPI_DATE_BUF], to[KPI_DATE_BUF];
    int32_t day = kpi_utc_day(created_s), y, m, d;
    kpi_civil_from_days(day, &y, &m, &d);
    int64_t sod = created_s - (int64_t)day * 86400;
    snprintf(buf, RPT_ID_MAX, "%s-%s-%s-%s-%04d%02d%02dT%02d%02d%02dZ", kind, unit,
             kpi_date_format(from_day, from), kpi_date_format(to_day, to), (int)y, (int)m, (int)d,
             (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
}

int rpt_id_valid(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n >= RPT_ID_MAX || id[0] == '.' || strstr(id, "..") != NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!id_char((unsigned char)id[i]))
            return 0;
    return 1;
}

const char *rpt_id_ext(const char *kind_or_id)
{
    /* The kind is the id's first part, up to its first '-'. */
    if (kind_or_id != NULL && strncmp(kind_or_id, "xlsx", 4) == 0 &&
        (kind_or_id[4] == '\0' || kind_or_id[4] == '-'))
        return ".xlsx";
    return ".pdf";
}
