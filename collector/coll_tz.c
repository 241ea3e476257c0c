/*
 * coll_tz.c — the reporting zone from the system's zoneinfo files. The
 * parsing itself is kpi_tz_from_tzif (pure); this file only finds and reads
 * the bytes, refusing names that could escape the zoneinfo directory.
 */
#include "coll.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TZIF_MAX (1u << 20)

static bool name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > 128 || name[0] == '/' || strstr(name, "..") != NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return false;
    }
    return true;
}

err_t coll_tz_load(const char *name, kpi_tz_t **out, err_msg_t *msg)
{
    *out = NULL;
    if (name == NULL || !name_ok(name))
        return err_set(msg, ERR_TZ,
                       "time zone '%s' is not a valid IANA name (like \"Europe/Berlin\" or "
                       "\"UTC\")",
                       name ? name : "");
    const char *dir = getenv("TZDIR");
    if (dir == NULL || dir[0] == '\0')
        dir = "/usr/share/zoneinfo";
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        bool utc = strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0;
        if (utc) /* no tzdata installed: UTC needs no file */
            return kpi_tz_new_utc(out);
        return err_set(msg, ERR_TZ, "unknown time zone '%s' (%s: %s)", name, path, strerror(errno));
    }
    uint8_t *buf = malloc(TZIF_MAX);
    if (buf == NULL) {
        fclose(f);
        return err_set(msg, ERR_NOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, TZIF_MAX, f);
    bool bad = ferror(f) != 0;
    fclose(f);
    err_t e;
    if (bad)
        e = err_set(msg, ERR_TZ, "cannot read time zone file %s", path);
    else
        e = kpi_tz_from_tzif(name, buf, n, out, msg);
    free(buf);
    return e;
}
