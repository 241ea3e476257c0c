/*
 * store_logbuf.c — the log entries and index rows a write batch adds (see
 * store_logbuf.h).
 *
 * Encodings and ids are copied into one growing byte buffer and referred to
 * by offset, so growing it moves nothing that is kept. Ids are found through
 * an open-addressing table (power of two, at most half full) of
 * {hash, entry + 1}.
 */
#include "store_logbuf.h"
#include "store_sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct lent {
    uint8_t key[LOGBUF_KEY_LEN];
    size_t off;   /* encoding, then the id, in bytes */
    uint32_t len; /* encoding bytes */
    uint32_t id_len;
} lent_t;

typedef struct irow {
    uint8_t k[4 + LOGBUF_KEY_LEN]; /* id (big-endian) + events key */
} irow_t;

typedef struct idslot {
    uint64_t hash;
    size_t ent; /* entry index + 1; 0: empty */
} idslot_t;

typedef struct vec {
    void *p;
    size_t n, cap, size;
} vec_t;

struct logbuf {
    uint64_t first_seq;
    vec_t ents;  /* lent_t, in seq order */
    vec_t bytes; /* uint8_t */
    vec_t rows[LOGBUF_INDEXES];
    idslot_t *ids;
    size_t ids_cap;
};

static bool vec_room(vec_t *v, size_t more)
{
    if (v->n + more <= v->cap)
        return true;
    size_t cap = v->cap ? v->cap : 1024;
    while (cap < v->n + more)
        cap *= 2;
    void *p = realloc(v->p, cap * v->size);
    if (p == NULL)
        return false;
    v->p = p;
    v->cap = cap;
    return true;
}

logbuf_t *logbuf_new(void)
{
    logbuf_t *lb = calloc(1, sizeof *lb);
    if (lb == NULL)
        return NULL;
    lb->ents.size = sizeof(lent_t);
    lb->bytes.size = 1;
    for (int i = 0; i < LOGBUF_INDEXES; i++)
        lb->rows[i].size = sizeof(irow_t);
    return lb;
}

static void vec_reset(vec_t *v, size_t keep)
{
    v->n = 0;
    /* What a big batch grew is given back; HTTP batches reuse the rest. */
    if (v->cap * v->size > keep) {
        free(v->p);
        v->p = NULL;
        v->cap = 0;
    }
}

static void reset(logbuf_t *lb, bool shrink)
{
    size_t keep = shrink ? ((size_t)1 << 20) : SIZE_MAX;
    vec_reset(&lb->ents, keep);
    vec_reset(&lb->bytes, keep);
    for (int i = 0; i < LOGBUF_INDEXES; i++)
        vec_reset(&lb->rows[i], keep);
    if (lb->ids != NULL && (shrink && lb->ids_cap > ((size_t)1 << 14))) {
        free(lb->ids);
        lb->ids = NULL;
        lb->ids_cap = 0;
    } else if (lb->ids != NULL) {
        memset(lb->ids, 0, lb->ids_cap * sizeof *lb->ids);
    }
}

void logbuf_free(logbuf_t *lb)
{
    if (lb == NULL)
        return;
    free(lb->ents.p);
    free(lb->bytes.p);
    for (int i = 0; i < LOGBUF_INDEXES; i++)
        free(lb->rows[i].p);
    free(lb->ids);
    free(lb);
}

void logbuf_begin(logbuf_t *lb, uint64_t first_seq)
{
    reset(lb, false);
    lb->first_seq = first_seq;
}

void logbuf_end(logbuf_t *lb)
{
    if (lb != NULL)
        reset(lb, true);
}

static uint64_t get_seq(const uint8_t *key)
{
    uint64_t s = 0;
    for (int i = 8; i < 16; i++)
        s = s << 8 | key[i];
    return s;
}

static uint64_t hash_id(const char *id, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)id[i]) * 0x100000001b3ull;
    h ^= h >> 32;
    return h * 0x9e3779b97f4a7c15ull;
}

static const lent_t *ent_at(const logbuf_t *lb, size_t i)
{
    return (const lent_t *)lb->ents.p + i;
}

static bool ids_grow(logbuf_t *lb)
{
    size_t cap = lb->ids_cap ? lb->ids_cap * 2 : 1024;
    idslot_t *nt = calloc(cap, sizeof *nt);
    if (nt == NULL)
        return false;
    for (size_t i = 0; i < lb->ids_cap; i++) {
        if (lb->ids[i].ent == 0)
            continue;
        size_t j = (size_t)lb->ids[i].hash & (cap - 1);
        while (nt[j].ent != 0)
            j = (j + 1) & (cap - 1);
        nt[j] = lb->ids[i];
    }
    free(lb->ids);
    lb->ids = nt;
    lb->ids_cap = cap;
    return true;
}

int logbuf_event_add(logbuf_t *lb, const uint8_t key[LOGBUF_KEY_LEN], const uint8_t *enc,
                     size_t len, const char *id, size_t id_len)
{
    if (get_seq(key) != lb->first_seq + lb->ents.n || len > UINT32_MAX || id_len > UINT32_MAX)
        return EINVAL;
    if ((lb->ents.n + 1) * 2 > lb->ids_cap && !ids_grow(lb))
        return ENOMEM;
    if (!vec_room(&lb->ents, 1) || !vec_room(&lb->bytes, len + id_len))
        return ENOMEM;
    lent_t *e = (lent_t *)lb->ents.p + lb->ents.n;
    memcpy(e->key, key, LOGBUF_KEY_LEN);
    e->off = lb->bytes.n;
    e->len = (uint32_t)len;
    e->id_len = (uint32_t)id_len;
    uint8_t *b = (uint8_t *)lb->bytes.p + lb->bytes.n;
    memcpy(b, enc, len);
    memcpy(b + len, id, id_len);
    lb->bytes.n += len + id_len;
    uint64_t h = hash_id(id, id_len);
    size_t j = (size_t)h & (lb->ids_cap - 1);
    while (lb->ids[j].ent != 0)
        j = (j + 1) & (lb->ids_cap - 1);
    lb->ids[j] = (idslot_t){h, lb->ents.n + 1};
    lb->ents.n++;
    return 0;
}

bool logbuf_event_get(const logbuf_t *lb, const uint8_t key[LOGBUF_KEY_LEN], MDB_val *enc)
{
    uint64_t seq = get_seq(key);
    if (seq < lb->first_seq || seq - lb->first_seq >= lb->ents.n)
        return false;
    const lent_t *e = ent_at(lb, seq - lb->first_seq);
    if (memcmp(e->key, key, LOGBUF_KEY_LEN) != 0)
        return false;
    enc->mv_size = e->len;
    enc->mv_data = (uint8_t *)lb->bytes.p + e->off;
    return true;
}

bool logbuf_id_get(const logbuf_t *lb, const char *id, size_t id_len, uint8_t key[LOGBUF_KEY_LEN])
{
    if (lb->ids_cap == 0)
        return false;
    uint64_t h = hash_id(id, id_len);
    for (size_t j = (size_t)h & (lb->ids_cap - 1); lb->ids[j].ent != 0;
         j = (j + 1) & (lb->ids_cap - 1)) {
        if (lb->ids[j].hash != h)
            continue;
        const lent_t *e = ent_at(lb, lb->ids[j].ent - 1);
        if (e->id_len == id_len &&
            memcmp((const uint8_t *)lb->bytes.p + e->off + e->len, id, id_len) == 0) {
            memcpy(key, e->key, LOGBUF_KEY_LEN);
            return true;
        }
    }
    return false;
}

int logbuf_index_add(logbuf_t *lb, logbuf_index_t which, uint32_t id,
                     const uint8_t key[LOGBUF_KEY_LEN])
{
    vec_t *v = &lb->rows[which];
    if (!vec_room(v, 1))
        return ENOMEM;
    irow_t *r = (irow_t *)v->p + v->n++;
    r->k[0] = (uint8_t)(id >> 24);
    r->k[1] = (uint8_t)(id >> 16);
    r->k[2] = (uint8_t)(id >> 8);
    r->k[3] = (uint8_t)id;
    memcpy(r->k + 4, key, LOGBUF_KEY_LEN);
    return 0;
}

/* ---- the flush ----------------------------------------------------------------- */

static int ent_key_cmp(const void *x, const void *y)
{
    return memcmp(((const lent_t *)x)->key, ((const lent_t *)y)->key, LOGBUF_KEY_LEN);
}

typedef struct idref {
    const uint8_t *id, *key;
    size_t len;
} idref_t;

static int idref_cmp(const void *x, const void *y)
{
    const idref_t *a = x, *b = y;
    return store_key_cmp(a->id, a->len, b->id, b->len);
}

static int irow_cmp(const void *x, const void *y)
{
    return memcmp(x, y, sizeof(irow_t));
}

int logbuf_flush(logbuf_t *lb, MDB_txn *txn, const logbuf_dbs_t *dbs)
{
    size_t n = lb->ents.n;
    lent_t *ents = lb->ents.p;
    const uint8_t *bytes = lb->bytes.p;
    int rc = 0;
    store_sink_t s = {0};
    if (n > 0) {
        /* The log: by (time, seq). Entries are in seq order, so a batch in
           time order is already sorted. */
        bool sorted = true;
        for (size_t i = 1; i < n && sorted; i++)
            sorted = memcmp(ents[i - 1].key, ents[i].key, LOGBUF_KEY_LEN) < 0;
        if (!sorted)
            qsort(ents, n, sizeof *ents, ent_key_cmp);
        rc = store_sink_open(&s, txn, dbs->events);
        for (size_t i = 0; !rc && i < n; i++)
            rc = store_sink_put(&s, ents[i].key, LOGBUF_KEY_LEN, bytes + ents[i].off, ents[i].len);
        store_sink_close(&s);
        /* The ids, by id. */
        idref_t *byid = rc ? NULL : malloc(n * sizeof *byid);
        if (!rc && byid == NULL)
            rc = ENOMEM;
        if (!rc) {
            for (size_t i = 0; i < n; i++)
                byid[i] = (idref_t){bytes + ents[i].off + ents[i].len, ents[i].key, ents[i].id_len};
            qsort(byid, n, sizeof *byid, idref_cmp);
            rc = store_sink_open(&s, txn, dbs->ids);
            for (size_t i = 0; !rc && i < n; i++)
                rc = store_sink_put(&s, byid[i].id, byid[i].len, byid[i].key, LOGBUF_KEY_LEN);
            store_sink_close(&s);
        }
        free(byid);
    }
    for (int x = 0; !rc && x < LOGBUF_INDEXES; x++) {
        vec_t *v = &lb->rows[x];
        if (v->n == 0)
            continue;
        qsort(v->p, v->n, sizeof(irow_t), irow_cmp);
        rc = store_sink_open(&s, txn, dbs->index[x]);
        const irow_t *r = v->p;
        /* Rows are id -> events key duplicates (MDB_DUPFIXED), put in
           order. An event waiting for its document is listed under the
           party it names, and again when it takes effect: one row. */
        MDB_cursor *c = s.c;
        for (size_t i = 0; !rc && i < v->n; i++) {
            if (i > 0 && memcmp(&r[i - 1], &r[i], sizeof r[i]) == 0)
                continue;
            MDB_val kv = {4, (void *)r[i].k}, dv = {LOGBUF_KEY_LEN, (void *)(r[i].k + 4)};
            rc = mdb_cursor_put(c, &kv, &dv, MDB_NODUPDATA);
            if (rc == MDB_KEYEXIST)
                rc = 0;
        }
        store_sink_close(&s);
    }
    if (!rc) {
        uint64_t next = lb->first_seq + n;
        reset(lb, false);
        lb->first_seq = next;
    }
    return rc;
}
