/*
 * store_int.h — internals shared by the store/ sources. Nothing outside store/
 * includes this file.
 *
 * LMDB databases of the core (derived KPI state: store_derive.h):
 *
 *   meta       "version" u32 | "tz" | "currency" | "seq" u64 (last arrival
 *              number) | "names" u64 (last interned id) | "events" u64 |
 *              "pending" u64 | "docs" u64[KPI_DOC_COUNT] | "rebuilding" u8 |
 *              "upgrading" u8 (a `kpid upgrade` not finished: store_upgrade.c)
 *              (numbers in native order, like doc_rec_t)
 *   events     time key (8 bytes: UTC seconds, big-endian, sign bit flipped)
 *              + seq (8 bytes, big-endian)   -> kpi_event_encode() of the
 *              event exactly as received (so a resend compares byte-equal)
 *   ids        event id                     -> events key
 *   names      name                         -> u32 id (>= 1), interned
 *   names_rev  u32 id (big-endian)          -> name
 *   by_party   party id (4)                 -> events keys, sorted duplicates
 *              (MDB_DUPSORT | MDB_DUPFIXED): a customer's or vendor's events
 *   by_bu      unit id (4)                  -> events keys, likewise
 *   docs       kind u8 + document number    -> the document's record and its
 *              derived KPI state in one value (store_docset.h)
 *   pending    kind u8 + number + NUL + events key -> "" : an event waiting
 *              for that document to be created
 *
 * Every key is big-endian so that LMDB's byte order is numeric order and a
 * cursor walks time (or a party's events in time) directly.
 */
#ifndef KPID_STORE_INT_H
#define KPID_STORE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "store.h"
#include "store_derive.h"
#include "store_doc.h"
#include "store_docset.h"
#include "store_logbuf.h"

#define EVKEY_LEN 16

/* Decode the record of a docs value (store_docset.h). false when the value
   is damaged; *has false when it holds derived state only. */
bool store_doc_rec_read(const MDB_val *v, doc_rec_t *d, bool *has);

struct store {
    MDB_env *env;
    MDB_dbi meta, events, ids, names, names_rev, by_party, by_bu, docs, pending;
    derive_t derive;
    char *dir;
    int lock_fd;
    bool read_only;
    const kpi_tz_t *tz;
    char base_currency[4];
    int base_digits;
    int32_t *holidays; /* owned copy of the calendar's holidays */
    uint64_t map_size;
    wcache_t *wc;              /* the write transaction's cache; NULL when read-only */
    docset_t *ds;              /* the write batch's documents; NULL when read-only */
    logbuf_t *lb;              /* the write batch's new log and index rows; NULL when
                                  read-only */
    pthread_mutex_t write_mu;  /* one writer at a time */
    pthread_rwlock_t map_lock; /* shared by open snapshots; exclusive to grow the map */
};

struct store_snap {
    store_t *s;
    MDB_txn *txn;
};

/* LMDB return code to err_t, with a message naming the directory. */
err_t store_lmdb_err(const store_t *s, int rc, const char *what, err_msg_t *msg);

/* Take the map size another process of this store has set (after
   MDB_MAP_RESIZED). No transaction of this process may be open: it takes
   map_lock exclusively. Returns an LMDB code. */
int store_map_adopt(store_t *s);

/* Big-endian helpers. */
void store_put_u32(uint8_t *p, uint32_t v);
uint32_t store_get_u32(const uint8_t *p);
void store_put_u64(uint8_t *p, uint64_t v);
uint64_t store_get_u64(const uint8_t *p);
void store_evkey(uint8_t *k, int64_t time_s, uint64_t seq);
int64_t store_evkey_time(const uint8_t *k);
uint64_t store_evkey_seq(const uint8_t *k);

/* Meta counters (u64) read/write inside a transaction. */
uint64_t store_meta_u64(const store_t *s, MDB_txn *txn, const char *key);
int store_meta_put_u64(const store_t *s, MDB_txn *txn, const char *key, uint64_t v);

/* Interned names. lookup: MDB_NOTFOUND when unknown. */
int store_name_get(const store_t *s, MDB_txn *txn, const char *name, uint32_t *id);
int store_name_intern(const store_t *s, MDB_txn *txn, const char *name, uint32_t *id);
int store_name_str(const store_t *s, MDB_txn *txn, uint32_t id, const char **name);

/* docs key: kind + number. Returns its length. */
size_t store_doc_key(uint8_t *k, kpi_doc_kind_t kind, const char *number);

/* The reporting-zone day of an event. */
int32_t store_ev_day(const store_t *s, const kpi_event_t *ev);

/* Shared by writing and rebuild (store_write.c). */
err_t store_rebuild_impl(store_t *s, void (*progress)(void *, uint64_t, uint64_t), void *ctx,
                         err_msg_t *msg);

#endif
