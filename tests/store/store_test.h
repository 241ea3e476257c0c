/*
 * store_test.h — what the store tests share: a fresh temporary directory per
 * test (removed afterwards), zones built from TZif bytes in memory, event
 * builders, and a batch writer that prints the store's message on failure.
 */
#ifndef KPID_STORE_TEST_H
#define KPID_STORE_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kpi_date.h"
#include "store.h"
#include "test.h"

static kpi_tz_t *test_utc;

static inline int32_t D(int y, int m, int d)
{
    return kpi_days_from_civil(y, m, d);
}

/* UTC instant of y-m-d at hour h. */
static inline int64_t T(int y, int m, int d, int h)
{
    return kpi_day_start_utc(D(y, m, d)) + h * 3600;
}

/* buf: at least 64 bytes. */
static inline void tmpdir(char *buf)
{
    snprintf(buf, 64, "%s", "/tmp/kpid-store-XXXXXX");
    REQUIRE(mkdtemp(buf) != NULL);
}

static inline void rmdir_all(const char *dir)
{
    char cmd[160];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    REQUIRE(system(cmd) == 0);
}

static inline uint8_t *tz_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* One TZif v2 block header with no transitions and one type. */
static inline uint8_t *tz_block(uint8_t *p, int32_t off)
{
    memcpy(p, "TZif2", 5);
    memset(p + 5, 0, 15);
    p += 20;
    for (int i = 0; i < 4; i++)
        p = tz_put32(p, 0); /* isut, isstd, leap, time counts */
    p = tz_put32(p, 1);     /* one type */
    p = tz_put32(p, 1);     /* one abbreviation byte */
    p = tz_put32(p, (uint32_t)off);
    *p++ = 0; /* isdst */
    *p++ = 0; /* abbreviation index */
    *p++ = 0; /* the abbreviation: "" */
    return p;
}

/* A fixed-offset zone (seconds east of UTC); footer is its POSIX TZ rule. */
static inline kpi_tz_t *fixed_zone(const char *name, int32_t off, const char *footer)
{
    uint8_t buf[256];
    uint8_t *p = tz_block(buf, off);
    p = tz_block(p, off);
    *p++ = '\n';
    memcpy(p, footer, strlen(footer));
    p += strlen(footer);
    *p++ = '\n';
    kpi_tz_t *tz = NULL;
    err_msg_t msg = {{0}};
    err_t e = kpi_tz_from_tzif(name, buf, (size_t)(p - buf), &tz, &msg);
    CHECK_MSG(e == ERR_OK, "%s: %s", name, err_msg_or(&msg, e));
    REQUIRE(tz != NULL);
    return tz;
}

static inline store_opts_t opts_of(const char *dir, const kpi_tz_t *tz, uint64_t map)
{
    store_opts_t o = {.dir = dir, .tz = tz, .base_currency = "USD", .map_size_initial = map};
    return o;
}

static inline store_t *open_store(const char *dir, uint64_t map)
{
    store_opts_t o = opts_of(dir, test_utc, map);
    store_t *s = NULL;
    err_msg_t msg = {{0}};
    err_t e = store_open(&o, &s, &msg);
    if (e)
        fprintf(stderr, "    store_open: %s\n", msg.text);
    REQUIRE(e == ERR_OK);
    return s;
}

/* An event of type t with what most types need; amount 0 = none. */
static inline kpi_event_t ev(kpi_ev_type_t t, const char *id, int64_t time, const char *doc,
                             const char *ref, int64_t amount, const char *party)
{
    kpi_event_t e = {0};
    e.type = t;
    e.id = id;
    e.time_s = time;
    e.business_unit = "";
    e.doc = doc;
    e.ref = ref;
    e.party = party;
    if (amount) {
        e.flags |= KPI_EVF_AMOUNT;
        e.amount_minor = amount;
    }
    switch (t) {
    case KPI_EV_INVOICE_ISSUED:
    case KPI_EV_BILL_RECEIVED:
        e.flags |= KPI_EVF_TERMS;
        e.terms_days = 30;
        break;
    case KPI_EV_INVOICE_REVIEWED: e.result = KPI_RESULT_PASS; break;
    case KPI_EV_PAYMENT_RECEIVED: e.method = KPI_METHOD_WIRE; break;
    case KPI_EV_INVOICE_ADJUSTED:
    case KPI_EV_INVOICE_WRITTEN_OFF:
    case KPI_EV_BILL_REJECTED:
    case KPI_EV_BILL_ESCALATED:
    case KPI_EV_CREDIT_HOLD_SET:
    case KPI_EV_CREDIT_HOLD_RELEASED:
    case KPI_EV_DISPUTE_OPENED:
    case KPI_EV_DISPUTE_RESOLVED: e.text = "why"; break;
    default: break;
    }
    return e;
}

/* An fx.rate for day: `rate` in kpi_fx.h's units (10^-10). */
static inline kpi_event_t fx_ev(const char *id, int32_t day, const char *cur, int64_t rate)
{
    kpi_event_t e = {0};
    e.type = KPI_EV_FX_RATE;
    e.id = id;
    e.flags = KPI_EVF_DATE_ONLY | KPI_EVF_AMOUNT;
    e.date_day = day;
    e.time_s = kpi_day_start_utc(day);
    e.business_unit = "";
    memcpy(e.currency, cur, 4);
    e.amount_minor = rate;
    return e;
}

/* Write a batch that must succeed as a whole; returns its statistics. */
static inline store_batch_stats_t put(store_t *s, const kpi_event_t *evs, size_t n,
                                      const store_batch_opts_t *o, store_item_result_t *res)
{
    store_batch_stats_t st;
    memset(&st, 0, sizeof st);
    err_msg_t msg = {{0}};
    err_t e = store_put_batch(s, evs, n, o, res, &st, &msg);
    if (e)
        fprintf(stderr, "    put: %s\n", msg.text);
    CHECK_ERR(ERR_OK, e);
    return st;
}

/* Write one event; returns its result. */
static inline store_item_result_t put1(store_t *s, const kpi_event_t *e,
                                       const store_batch_opts_t *o)
{
    store_item_result_t r;
    (void)put(s, e, 1, o, &r);
    return r;
}

static inline store_doc_t doc_of(store_t *s, kpi_doc_kind_t kind, const char *number)
{
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_doc_t d;
    memset(&d, 0, sizeof d);
    err_t e = store_doc_get(sn, kind, number, &d);
    CHECK_MSG(e == ERR_OK, "%s %s: %s", kpi_doc_kind_name(kind), number, err_code(e));
    /* Borrowed strings die with the snapshot. */
    d.party = d.business_unit = d.ref = NULL;
    store_snap_end(sn);
    return d;
}

static inline store_stats_t stats_of(store_t *s)
{
    store_stats_t ss;
    memset(&ss, 0, sizeof ss);
    CHECK_ERR(ERR_OK, store_stats(s, &ss));
    return ss;
}

#endif
