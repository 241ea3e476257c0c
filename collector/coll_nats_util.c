/*
 * coll_nats_util.c — the pure part of the NATS mode (coll_nats.h): config
 * defaults, stream/consumer/subject names, message ids and lag. No libnats
 * here, so the collector library (and its tests and fuzz target) stay free
 * of it.
 */
#include "coll_nats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void coll_nats_conf_default(coll_nats_conf_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->stream, sizeof c->stream, "%s", "KPID");
    snprintf(c->subject, sizeof c->subject, "%s", "kpid.events");
    c->replicas = 1;
    c->duplicate_window_s = 120;
}

static bool name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '_';
}

bool coll_nats_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= COLL_NATS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!name_char(name[i]))
            return false;
    return true;
}

bool coll_nats_subject_ok(const char *subject)
{
    size_t n = strlen(subject);
    if (n == 0 || n > 127 || subject[0] == '.' || subject[n - 1] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)subject[i];
        if (ch <= ' ' || ch >= 0x7f || ch == '*' || ch == '>')
            return false;
        if (ch == '.' && subject[i + 1] == '.')
            return false; /* an empty token */
    }
    return true;
}

/* 64-bit FNV-1a: a stable, dependency-free content hash (not a MAC: the
   message id only has to tell resends from different content). */
static uint64_t fnv1a(const uint8_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

#define FNV_BASIS 14695981039346656037ull

void coll_nats_durable_default(const char *host, const char *data_dir, char *out)
{
    /* "kpid-" + host (<= 40) + "-" + 8 hex = at most 54 bytes < 64. */
    char h[41];
    size_t n = 0;
    for (size_t i = 0; host != NULL && host[i] != '\0' && n < sizeof h - 1; i++)
        h[n++] = name_char(host[i]) ? host[i] : '_';
    h[n] = '\0';
    uint64_t x = fnv1a((const uint8_t *)data_dir, strlen(data_dir), FNV_BASIS);
    snprintf(out, COLL_NATS_NAME_MAX, "kpid-%s%s%08x", h, n > 0 ? "-" : "",
             (unsigned)(x ^ (x >> 32)));
}

err_t coll_nats_msg_id(const kpi_event_t *ev, char *out)
{
    /* Most events encode in a few hundred bytes; unknown fields may take
       up to KPI_EXTRA_MAX, so ask for the size when the stack is short. */
    uint8_t small[1024], *buf = small;
    size_t len = 0;
    err_t e = kpi_event_encode(ev, buf, sizeof small, &len);
    if (e == ERR_TOO_LARGE && len > sizeof small) {
        buf = malloc(len);
        e = buf == NULL ? ERR_NOMEM : kpi_event_encode(ev, buf, len, &len);
    }
    uint64_t h = e ? 0 : fnv1a(buf, len, FNV_BASIS);
    if (buf != small)
        free(buf);
    if (e)
        return e;
    snprintf(out, COLL_NATS_MSG_ID_MAX, "%.*s.%016llx", KPI_ID_MAX, ev->id, (unsigned long long)h);
    return ERR_OK;
}

uint64_t coll_nats_lag(uint64_t stream_seq, uint64_t applied_seq)
{
    return stream_seq > applied_seq ? stream_seq - applied_seq : 0;
}
