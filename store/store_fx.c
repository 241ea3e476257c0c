/*
 * store_fx.c — exchange rates: the `d_fx` database, kept from fx.rate
 * events (derive_apply hands them here), and the lookups of store_kpi.h.
 *
 *   d_fx  cur[3] day (int32, sign bit flipped, big-endian) -> rate, int64 LE
 *
 * One row per (currency, day): an fx.rate for a day that already has one
 * replaces it (a correction), so the rate of a day is the last one the
 * store received for it, in log order, which a rebuild replays the same.
 * The rate for a day D is the row of the latest day <= D: a query as of D
 * uses only rates dated on or before D, whenever they arrived.
 *
 * A store created before fx.rate existed has no d_fx (derive_open creates
 * it on a writable open); read-only it simply has no rates.
 */
#include <string.h>

#include "store_derive.h"
#include "store_int.h"
#include "store_kpi.h"

#define FX_KEY 7

static void fx_key(uint8_t k[FX_KEY], const char *cur, int32_t day)
{
    memcpy(k, cur, 3);
    uint32_t u = (uint32_t)day ^ 0x80000000u;
    k[3] = (uint8_t)(u >> 24);
    k[4] = (uint8_t)(u >> 16);
    k[5] = (uint8_t)(u >> 8);
    k[6] = (uint8_t)u;
}

static int32_t fx_key_day(const uint8_t *k)
{
    uint32_t u = (uint32_t)k[3] << 24 | (uint32_t)k[4] << 16 | (uint32_t)k[5] << 8 | k[6];
    return (int32_t)(u ^ 0x80000000u);
}

err_t derive_fx_apply(const derive_t *d, MDB_txn *txn, const kpi_event_t *ev, int32_t day,
                      err_msg_t *msg)
{
    if (!d->has_fx)
        return err_set(msg, ERR_INTERNAL, "derived state: no d_fx database");
    if (!(ev->flags & KPI_EVF_AMOUNT) || ev->amount_minor <= 0 || strlen(ev->currency) != 3)
        return err_set(msg, ERR_INTERNAL, "derived state: fx.rate without a currency and rate");
    uint8_t k[FX_KEY];
    fx_key(k, ev->currency, day);
    int64_t rate = ev->amount_minor;
    MDB_val kv = {FX_KEY, k}, vv = {sizeof rate, &rate};
    int rc = store_tx_put(d->wc, txn, d->fx, &kv, &vv);
    if (rc)
        return err_set(msg, rc == MDB_MAP_FULL ? ERR_TOO_LARGE : ERR_IO,
                       "derived state: write rate: %s", mdb_strerror(rc));
    return ERR_OK;
}

static err_t read_err(int rc, err_msg_t *msg)
{
    return err_set(msg, rc == MDB_CORRUPTED ? ERR_STORE_CORRUPT : ERR_IO,
                   "the store: read rates: %s", mdb_strerror(rc));
}

err_t store_fx_rate(store_snap_t *snap, const char *currency, int32_t day, int64_t *rate,
                    int32_t *rate_day)
{
    const derive_t *d = store_snap_derive(snap);
    if (!d->has_fx || strlen(currency) != 3)
        return ERR_NOT_FOUND;
    MDB_cursor *c;
    if (mdb_cursor_open(store_snap_txn(snap), d->fx, &c) != 0)
        return ERR_IO;
    /* The row of day D itself, else the one before the first row after D. */
    uint8_t k[FX_KEY];
    fx_key(k, currency, day);
    err_t e = ERR_NOT_FOUND;
    MDB_val kv = {FX_KEY, k}, vv;
    int rc = mdb_cursor_get(c, &kv, &vv, MDB_SET_RANGE);
    if (rc == 0 && !(kv.mv_size == FX_KEY && memcmp(kv.mv_data, k, FX_KEY) == 0))
        rc = mdb_cursor_get(c, &kv, &vv, MDB_PREV);
    else if (rc == MDB_NOTFOUND)
        rc = mdb_cursor_get(c, &kv, &vv, MDB_LAST);
    if (rc == 0 && kv.mv_size == FX_KEY && memcmp(kv.mv_data, currency, 3) == 0 &&
        vv.mv_size == sizeof *rate) {
        memcpy(rate, vv.mv_data, sizeof *rate);
        *rate_day = fx_key_day(kv.mv_data);
        e = ERR_OK;
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        e = ERR_IO;
    }
    mdb_cursor_close(c);
    return e;
}

err_t store_fx_rates(store_snap_t *snap, const char *currency, int32_t lo, size_t n, int64_t *rate,
                     int32_t *rate_day)
{
    int64_t cur = 0;
    int32_t cur_day = INT32_MIN;
    err_t e = store_fx_rate(snap, currency, lo, &cur, &cur_day);
    if (e == ERR_NOT_FOUND) {
        cur = 0;
        e = ERR_OK;
    }
    if (e)
        return e;
    const derive_t *d = store_snap_derive(snap);
    MDB_cursor *c = NULL;
    int rc = MDB_NOTFOUND;
    MDB_val kv, vv;
    uint8_t k[FX_KEY];
    if (d->has_fx && n > 1) {
        if (mdb_cursor_open(store_snap_txn(snap), d->fx, &c) != 0)
            return ERR_IO;
        fx_key(k, currency, lo + 1);
        kv = (MDB_val){FX_KEY, k};
        rc = mdb_cursor_get(c, &kv, &vv, MDB_SET_RANGE);
    }
    /* Walk the currency's rows after lo once, filling each day with the
       latest row on or before it. */
    for (size_t i = 0; i < n; i++) {
        int32_t day = lo + (int32_t)i;
        while (rc == 0 && kv.mv_size == FX_KEY && memcmp(kv.mv_data, currency, 3) == 0 &&
               vv.mv_size == sizeof cur && fx_key_day(kv.mv_data) <= day) {
            memcpy(&cur, vv.mv_data, sizeof cur);
            cur_day = fx_key_day(kv.mv_data);
            rc = mdb_cursor_get(c, &kv, &vv, MDB_NEXT);
        }
        rate[i] = cur;
        rate_day[i] = cur != 0 ? cur_day : INT32_MIN;
    }
    if (c != NULL)
        mdb_cursor_close(c);
    return rc == 0 || rc == MDB_NOTFOUND ? ERR_OK : ERR_IO;
}

const char *store_snap_base_currency(store_snap_t *snap)
{
    return snap->s->base_currency;
}

err_t store_fx_each(store_snap_t *snap, store_fx_fn fn, void *ctx, err_msg_t *msg)
{
    const derive_t *d = store_snap_derive(snap);
    if (!d->has_fx)
        return ERR_OK;
    MDB_cursor *c;
    int rc = mdb_cursor_open(store_snap_txn(snap), d->fx, &c);
    if (rc)
        return read_err(rc, msg);
    MDB_val kv, vv;
    err_t e = ERR_OK;
    for (rc = mdb_cursor_get(c, &kv, &vv, MDB_FIRST); rc == 0 && !e;
         rc = mdb_cursor_get(c, &kv, &vv, MDB_NEXT)) {
        if (kv.mv_size != FX_KEY || vv.mv_size != sizeof(int64_t)) {
            e = err_set(msg, ERR_STORE_CORRUPT, "the store: a damaged rate row");
            break;
        }
        char cur[4];
        memcpy(cur, kv.mv_data, 3);
        cur[3] = '\0';
        int64_t rate;
        memcpy(&rate, vv.mv_data, sizeof rate);
        e = fn(ctx, cur, fx_key_day(kv.mv_data), rate);
    }
    mdb_cursor_close(c);
    if (!e && rc != MDB_NOTFOUND)
        e = read_err(rc, msg);
    return e;
}
