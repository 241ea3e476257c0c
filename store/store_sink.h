/*
 * store_sink.h — writing rows in key order through one cursor. Internal to
 * store/.
 *
 * Every batch flush (the write cache, the document set, the log buffer)
 * hands LMDB its rows sorted by key. Once the keys run past the database's
 * last key they are appended (MDB_APPEND): LMDB then fills pages instead of
 * splitting them in half, so a log written in time order packs densely.
 * Keys must be given in ascending LMDB order (bytes, shorter first).
 */
#ifndef KPID_STORE_SINK_H
#define KPID_STORE_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

typedef struct store_sink {
    MDB_cursor *c;
    bool appending;
    uint8_t last[512]; /* a copy of the last key: later writes may move LMDB's page */
    size_t last_len;
} store_sink_t;

/* LMDB's default key order: bytes, then the shorter key first (<0, 0, >0). */
int store_key_cmp(const void *a, size_t an, const void *b, size_t bn);

/* Open a cursor on dbi and note its last key. Returns an LMDB code. */
int store_sink_open(store_sink_t *s, MDB_txn *txn, MDB_dbi dbi);
/* Put (k, v); keys ascending from call to call. Returns an LMDB code. */
int store_sink_put(store_sink_t *s, const void *k, size_t kn, const void *v, size_t vn);
/* Delete k if it is there. Returns an LMDB code (0 when it was not). */
int store_sink_del(store_sink_t *s, const void *k, size_t kn);
/* NULL cursor is a no-op. */
void store_sink_close(store_sink_t *s);

#endif
