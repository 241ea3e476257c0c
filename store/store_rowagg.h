/*
 * store_rowagg.h — the additive day rows of one write batch. Internal to
 * store/.
 *
 * The daily flow, SLA and FTQ rows (d_flows, d_sla, d_ftq: store_derive.h)
 * are sums. A batch adds to the same row many times (every invoice of a
 * unit on a day adds to that day's row), so the batch only sums its deltas
 * in memory, per (database, key), and the flush adds each row's deltas to
 * the stored row once, in key order through one cursor per database.
 *
 * Overflow: the flush answers ERR_OVERFLOW (without naming the event)
 * whenever adding the deltas one event at a time might leave int64 (the
 * stored value plus the batch's sum of absolute deltas does not fit); the
 * store then runs the batch again adding per event (`direct`), which
 * decides exactly and names the event. A batch that passes here is one
 * that passes per event, with the same result.
 *
 * Keys are at most ROWAGG_KEY_MAX bytes; values at most ROWAGG_COLS
 * columns, packed on disk by the caller's pack function.
 */
#ifndef KPID_STORE_ROWAGG_H
#define KPID_STORE_ROWAGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "err.h"

#define ROWAGG_KEY_MAX 16
#define ROWAGG_COLS 16

typedef struct rowagg rowagg_t;

/* pack: the row's columns to bytes (returns the length, at most out_cap);
   unpack: false when a stored value is damaged. */
typedef struct rowagg_codec {
    size_t (*pack)(const int64_t *vals, size_t n, uint8_t *out);
    bool (*unpack)(const MDB_val *v, size_t n, int64_t *vals);
    size_t out_cap;
} rowagg_codec_t;

rowagg_t *rowagg_new(const rowagg_codec_t *codec);
void rowagg_free(rowagg_t *ra);
/* Forget every delta (after a flush or an abort). */
void rowagg_clear(rowagg_t *ra);

/* Rows of dbi whose sums come back to all zero are deleted at the flush
   instead of kept (for a database that holds only what is non-zero, as
   d_onow). Up to ROWAGG_DROP_MAX databases; kept across clears. false
   when that many are registered already. */
#define ROWAGG_DROP_MAX 4
bool rowagg_drop_zero(rowagg_t *ra, MDB_dbi dbi);

/* Add add[0..ncols) to the row (dbi, key). ERR_OVERFLOW when the batch's
   own deltas leave int64; ERR_NOMEM. */
err_t rowagg_add(rowagg_t *ra, MDB_dbi dbi, const uint8_t *key, size_t klen, const int64_t *add,
                 size_t ncols) KPID_MUST_USE;

/* Add every row's deltas to the stored rows of txn and empty the set.
   ERR_OVERFLOW when a row would leave int64 at some event (nothing useful
   is left in txn: abort it), ERR_STORE_CORRUPT for a damaged row, else an
   LMDB failure in *lmdb_rc with ERR_IO. */
err_t rowagg_flush(rowagg_t *ra, MDB_txn *txn, int *lmdb_rc) KPID_MUST_USE;

/* Rows held (for tests). */
size_t rowagg_count(const rowagg_t *ra);

#endif
