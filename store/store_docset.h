/*
 * store_docset.h — the documents of one write batch. Internal to store/.
 *
 * Every document a batch touches (its own invoices, payments, bills... and
 * the invoices its events refer to) is read from `docs` once, in key order,
 * kept in a slot while the batch's events change it, and written back once,
 * in key order, before the commit. A slot holds both views of a document:
 * the store's record (doc_rec_t: existence, amounts, claims by pending
 * creators) and the derived KPI state that store_derive.c keeps per
 * document (opaque bytes here). Format 3 stores both in one `docs` value,
 * so a document costs one row and one lookup instead of two.
 *
 * Why a dedicated set rather than the generic write cache: a batch of 250k
 * events touches ~100k documents five times each. Loading them in sorted
 * order walks the B-tree once, left to right, instead of descending it at
 * random per key; a slot is found by a probe into a table sized for the
 * batch (not for every row the batch writes); and the write-back is already
 * in key order.
 *
 * What must stay true:
 *   - A set is attached to exactly one write transaction (docset_begin) and
 *     `docs` is read and written only through it inside that transaction.
 *   - docset_flush writes every dirty slot before the commit; an abort
 *     forgets everything with docset_end. Slots never move while attached,
 *     so a pointer from docset_slot stays valid until docset_end.
 *
 * The value of a `docs` row (format 3): a flags byte (DOCV_REC, DOCV_STATE),
 * then the record packed (a varint mask of the fields that differ from an
 * unknown document, each such field a zigzag LEB128 varint; the currency as
 * 3 bytes), then, to the end of the value, the derived state bytes.
 */
#ifndef KPID_STORE_DOCSET_H
#define KPID_STORE_DOCSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "store_doc.h"

typedef struct docslot {
    doc_rec_t rec; /* valid when has_rec; else an unknown document */
    uint8_t *st;   /* derived state bytes (st_len, 0: none) */
    uint32_t st_len, st_cap;
    bool has_rec; /* a record exists (stored, or written in this batch) */
    bool loaded;  /* read from LMDB (or known absent) */
    bool dirty;   /* changed in this batch: docset_flush writes it */
    uint16_t klen;
    uint64_t hash;
    uint8_t key[]; /* klen bytes: store_doc_key() */
} docslot_t;

typedef struct docset docset_t;

docset_t *docset_new(void);
void docset_free(docset_t *ds);

void docset_begin(docset_t *ds, MDB_txn *txn, MDB_dbi docs);
void docset_end(docset_t *ds);
/* true when txn is the attached transaction. */
bool docset_attached(const docset_t *ds, const MDB_txn *txn);

/* Note a key the batch will touch; docset_load reads all noted keys in key
   order. Returns 0 or ENOMEM. */
int docset_want(docset_t *ds, const uint8_t *key, size_t klen);
/* Read every noted, not yet loaded slot. Returns an LMDB code. */
int docset_load(docset_t *ds);
/* The slot of key, read from LMDB now when it was not loaded. Returns 0 or
   an LMDB code (ENOMEM, MDB_CORRUPTED for an unreadable value). */
int docset_slot(docset_t *ds, const uint8_t *key, size_t klen, docslot_t **out);
/* Replace the slot's derived state bytes and mark it dirty. 0 or ENOMEM. */
int docset_set_state(docset_t *ds, docslot_t *sl, const uint8_t *p, size_t n);
/* Write every dirty slot in key order. Returns an LMDB code. */
int docset_flush(docset_t *ds);

/* The `docs` value codec (also for readers outside a batch). */
#define DOCV_REC 1u
#define DOCV_STATE 2u
/* Bytes an encoded value may take: flags, the packed record, the state. */
size_t docv_size_max(size_t st_len);
size_t docv_encode(const doc_rec_t *rec, const uint8_t *st, size_t st_len, uint8_t *out);
/* false when the value is damaged. *rec is an unknown document of kind 0
   when the value holds no record (*has_rec false); st may be NULL. */
bool docv_decode(const void *p, size_t n, doc_rec_t *rec, bool *has_rec, const uint8_t **st,
                 size_t *st_len);

#endif
