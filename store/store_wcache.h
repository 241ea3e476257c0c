/*
 * store_wcache.h — the write transaction's cache: point reads and writes of
 * one batch are gathered in memory and written to LMDB once per key, in key
 * order, just before the commit. Internal to store/.
 *
 * Why: an event costs dozens of point lookups and read-modify-writes (its
 * documents, derived state, daily flow rows shared by the whole batch,
 * interned names, counters). Against LMDB each one descends the B-tree and
 * touches the transaction's dirty-page list; in memory it is one hash probe,
 * and a hot key (the day's flow row of a business unit) is written once per
 * batch instead of once per event. Sorted writes through one cursor per
 * database stay on the same leaf page while keys are close.
 *
 * What must stay true:
 *   - The cache is attached to exactly one write transaction (wcache_begin)
 *     and answers only for it: store_tx_get/put/del on any other
 *     transaction (a snapshot's) go straight to LMDB.
 *   - A database is either read and written only through these calls inside
 *     the write transaction, or never through them. Databases walked with a
 *     cursor while writing (events, pending, d_tl, d_open) are not cached.
 *   - Everything cached is written by wcache_flush() before the commit; an
 *     abort discards it with wcache_end(). A flush may also happen in the
 *     middle (memory cap): it is only an earlier write into the same
 *     transaction.
 *   - Values returned by store_tx_get are borrowed until the next put, del
 *     or flush, exactly like LMDB's own.
 */
#ifndef KPID_STORE_WCACHE_H
#define KPID_STORE_WCACHE_H

#include <stddef.h>

#include <lmdb.h>

typedef struct wcache wcache_t;

/* A new, detached cache (NULL when out of memory). Free with wcache_free. */
wcache_t *wcache_new(void);
/* NULL is a no-op. */
void wcache_free(wcache_t *wc);

/* Attach to a write transaction, empty. */
void wcache_begin(wcache_t *wc, MDB_txn *txn);
/* Forget everything and detach (after abort, or after flush + commit). */
void wcache_end(wcache_t *wc);
/* Write every changed key to the attached transaction, in (database, key)
   order, and empty the cache (it stays attached). Returns an LMDB code. */
int wcache_flush(wcache_t *wc);

/* mdb_get / mdb_put / mdb_del through the cache when txn is the attached
   one (wc may be NULL). Return LMDB codes (ENOMEM when memory runs out). */
int store_tx_get(wcache_t *wc, MDB_txn *txn, MDB_dbi dbi, const MDB_val *k, MDB_val *v);
int store_tx_put(wcache_t *wc, MDB_txn *txn, MDB_dbi dbi, const MDB_val *k, const MDB_val *v);
/* MDB_NOTFOUND when there was nothing to delete. */
int store_tx_del(wcache_t *wc, MDB_txn *txn, MDB_dbi dbi, const MDB_val *k);

#endif
