/*
 * store_logbuf.h — the log entries and index rows a write batch adds.
 * Internal to store/.
 *
 * A batch's new events, their ids and their party and business-unit index
 * rows are rows that did not exist before: nothing needs to be read to
 * write them. They are kept here in arrival order and written at the flush,
 * each database sorted by key through one cursor, appended (MDB_APPEND)
 * where the keys run past the database's end — as a log loaded in time
 * order does. Nothing is hashed per row except the ids, which the batch
 * must find again (an id sent twice in one batch).
 *
 * What must stay true:
 *   - events are added in seq order with consecutive seqs from the
 *     batch's first (logbuf_begin): an event's entry is found by its seq;
 *   - `events`, `ids`, `by_party` and `by_bu` are written only through the
 *     buffer inside a write batch; their reads consult it first;
 *   - logbuf_flush writes everything before the commit; an abort forgets
 *     it with logbuf_end.
 */
#ifndef KPID_STORE_LOGBUF_H
#define KPID_STORE_LOGBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#define LOGBUF_KEY_LEN 16 /* an events key: time (8) + seq (8) */

typedef struct logbuf logbuf_t;

typedef enum logbuf_index { LOGBUF_BY_PARTY, LOGBUF_BY_BU, LOGBUF_INDEXES } logbuf_index_t;

logbuf_t *logbuf_new(void);
void logbuf_free(logbuf_t *lb);

/* Attach to a batch whose first new event will have seq first_seq. */
void logbuf_begin(logbuf_t *lb, uint64_t first_seq);
void logbuf_end(logbuf_t *lb);

/* A new event: its key (time + seq, seq the next one) and encoding, and its
   id. 0 or ENOMEM (EINVAL when the seq is not the next one). */
int logbuf_event_add(logbuf_t *lb, const uint8_t key[LOGBUF_KEY_LEN], const uint8_t *enc,
                     size_t len, const char *id, size_t id_len);
/* The encoding of an event added in this batch (false when key is not). */
bool logbuf_event_get(const logbuf_t *lb, const uint8_t key[LOGBUF_KEY_LEN], MDB_val *enc);
/* The key of the event added in this batch under id (false when none). */
bool logbuf_id_get(const logbuf_t *lb, const char *id, size_t id_len, uint8_t key[LOGBUF_KEY_LEN]);
/* An index row: party or unit id + events key. 0 or ENOMEM. */
int logbuf_index_add(logbuf_t *lb, logbuf_index_t which, uint32_t id,
                     const uint8_t key[LOGBUF_KEY_LEN]);

typedef struct logbuf_dbs {
    MDB_dbi events, ids, index[LOGBUF_INDEXES];
} logbuf_dbs_t;

/* Write everything into txn, each database in key order, and empty the
   buffer (it stays attached). Returns an LMDB code. */
int logbuf_flush(logbuf_t *lb, MDB_txn *txn, const logbuf_dbs_t *dbs);

#endif
