/*
 * store_onow.c — the invoices open now, by customer and due day: the
 * `d_onow` database, and the readers of store_kpi.h.
 *
 *   d_onow  cur[3] unit u32 (0: every unit) party u32 due day (int32, sign
 *           bit flipped, big-endian) -> packed (amount, count)
 *
 * A row holds the sum of the current open amounts, and the number of open
 * invoices, of the customer's invoices due that day; a row that comes back
 * to (0, 0) is deleted, so the rows are exactly the due days with
 * something open. Kept by inv_move (store_derive.c) on every change of an
 * invoice's total, which is the same whatever order its events arrive in.
 *
 * Why: an aging of every customer as of a past day walks each customer's
 * due days in d_open (one seek each, about a thousand for a big customer);
 * as of the latest event day or later, when nothing has moved since, the
 * open amounts are the current ones and one cursor pass over these rows
 * ages every customer of a book (store_q_aging's group_by=customer).
 *
 * A store written before d_onow existed has it empty: derive_onow_built()
 * says so, and readers fall back to d_open until a `kpid rebuild`.
 */
#include <string.h>

#include "store_derive.h"
#include "store_int.h"
#include "store_kpi.h"

#define ONOW_KEY 15 /* cur 3, unit 4, party 4, day 4 */

bool derive_onow_built(const derive_t *d, MDB_txn *txn)
{
    MDB_val k = {4, (void *)"onow"}, v;
    return d->has_onow && mdb_get(txn, d->meta, &k, &v) == 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

err_t derive_onow_each(const derive_t *d, MDB_txn *txn, const char cur[3], uint32_t unit,
                       derive_onow_fn fn, void *ctx)
{
    uint8_t p[7];
    memcpy(p, cur, 3);
    p[3] = (uint8_t)(unit >> 24);
    p[4] = (uint8_t)(unit >> 16);
    p[5] = (uint8_t)(unit >> 8);
    p[6] = (uint8_t)unit;
    MDB_cursor *c;
    if (mdb_cursor_open(txn, d->onow, &c) != 0)
        return ERR_IO;
    MDB_val kv = {sizeof p, p}, v;
    err_t e = ERR_OK;
    int rc;
    for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); rc == 0 && !e;
         rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        const uint8_t *k = kv.mv_data;
        if (kv.mv_size != ONOW_KEY || memcmp(k, p, sizeof p) != 0)
            break;
        int64_t vals[2];
        if (!derive_row_unpack(&v, 2, vals)) {
            e = ERR_STORE_CORRUPT;
            break;
        }
        e = fn(ctx, be32(k + 7), (int32_t)(be32(k + 11) ^ 0x80000000u), vals[0], vals[1]);
    }
    if (!e && rc != 0 && rc != MDB_NOTFOUND)
        e = ERR_IO;
    mdb_cursor_close(c);
    return e;
}

typedef struct each_ctx {
    store_snap_t *snap;
    store_open_now_fn fn;
    void *ctx;
    uint32_t last_id;
    const char *last_name;
} each_ctx_t;

static err_t each_row(void *ctx, uint32_t party, int32_t due_day, int64_t amount, int64_t count)
{
    each_ctx_t *c = ctx;
    if (c->last_name == NULL || party != c->last_id) {
        err_t e = store_name_of(c->snap, party, &c->last_name);
        if (e)
            return e == ERR_NOT_FOUND ? ERR_STORE_CORRUPT : e;
        c->last_id = party;
    }
    return c->fn(c->ctx, c->last_name, due_day, amount, count);
}

err_t store_open_now_each(store_snap_t *snap, const char *currency, const char *business_unit,
                          bool *available, store_open_now_fn fn, void *ctx)
{
    const derive_t *d = store_snap_derive(snap);
    MDB_txn *txn = store_snap_txn(snap);
    *available = derive_onow_built(d, txn);
    if (!*available)
        return ERR_OK;
    uint32_t unit = 0;
    if (business_unit != NULL) {
        err_t e = store_name_lookup(snap, business_unit, &unit);
        if (e)
            return e;
    }
    char cur[4] = {0};
    memcpy(cur, currency, 3);
    each_ctx_t c = {snap, fn, ctx, 0, NULL};
    return derive_onow_each(d, txn, cur, unit, each_row, &c);
}
