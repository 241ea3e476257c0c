/*
 * store_wcache.c — the write transaction's cache (see store_wcache.h).
 *
 * Layout: entries live in a chunked arena (each a header, the key, then
 * room for the value); an open-addressing table of entry pointers (power of
 * two, at most half full, linear probing) finds them by (database, key).
 * An entry is PRESENT (value known) or ABSENT (known missing, or deleted in
 * this batch); `dirty` marks what the flush must write. Nothing is removed
 * from the table before the cache is emptied.
 */
#include "store_wcache.h"
#include "store_sink.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES ((size_t)1 << 20)
/* Past this much entry memory the cache is flushed into the transaction. */
#define WCACHE_CAP_BYTES ((size_t)192 << 20)
/* Table slots kept from one batch to the next. */
#define TAB_KEEP ((size_t)1 << 14)

typedef struct ent {
    uint64_t hash;
    MDB_dbi dbi;
    uint32_t klen;
    uint32_t vlen, vcap;
    uint8_t *val;
    bool present;
    bool dirty;
    uint8_t key[]; /* klen bytes, then vcap bytes when the value is inline */
} ent_t;

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(max_align_t) uint8_t data[];
} chunk_t;

/* A table slot keeps the hash, so a probe that does not match never
   touches the entry (a cache miss each, in a table of millions). */
typedef struct slot {
    uint64_t hash;
    ent_t *e;
} slot_t;

struct wcache {
    /* The attached write transaction, or NULL. Atomic because snapshots on
       other threads compare their own transaction with it. */
    _Atomic(MDB_txn *) txn;
    slot_t *tab;
    size_t tab_cap; /* power of two; 0 before the first entry */
    size_t n;
    ent_t **all; /* every entry, in creation order (the flush walks this) */
    size_t all_cap;
    ent_t *last; /* the entry found last: a read-modify-write finds it again */
    chunk_t *chunks;
    size_t bytes; /* arena bytes handed out */
};

wcache_t *wcache_new(void)
{
    return calloc(1, sizeof(wcache_t));
}

static void clear(wcache_t *wc)
{
    chunk_t *c = wc->chunks;
    /* Keep the first chunk for the next batch. */
    while (c != NULL && c->next != NULL) {
        chunk_t *next = c->next;
        free(c);
        c = next;
    }
    if (c != NULL)
        c->used = 0;
    wc->chunks = c;
    /* A table grown by a big batch is dropped rather than wiped, so that
       small batches (one per HTTP request) do not pay for it. */
    if (wc->tab_cap > TAB_KEEP) {
        free(wc->tab);
        wc->tab = NULL;
        wc->tab_cap = 0;
    } else if (wc->tab != NULL) {
        memset(wc->tab, 0, wc->tab_cap * sizeof *wc->tab);
    }
    wc->n = 0;
    wc->bytes = 0;
    wc->last = NULL;
}

void wcache_free(wcache_t *wc)
{
    if (wc == NULL)
        return;
    clear(wc);
    free(wc->chunks);
    free(wc->tab);
    free(wc->all);
    free(wc);
}

void wcache_begin(wcache_t *wc, MDB_txn *txn)
{
    clear(wc);
    atomic_store_explicit(&wc->txn, txn, memory_order_relaxed);
}

void wcache_end(wcache_t *wc)
{
    if (wc == NULL)
        return;
    clear(wc);
    atomic_store_explicit(&wc->txn, NULL, memory_order_relaxed);
}

static void *arena_alloc(wcache_t *wc, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    chunk_t *c = wc->chunks;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES;
        chunk_t *nc = malloc(sizeof *nc + cap);
        if (nc == NULL)
            return NULL;
        nc->used = 0;
        nc->cap = cap;
        /* A fresh chunk goes first; a partly used one behind it is simply
           not filled further (waste is at most one entry per chunk). */
        nc->next = c;
        wc->chunks = nc;
        c = nc;
    }
    void *p = c->data + c->used;
    c->used += n;
    wc->bytes += n;
    return p;
}

static uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

/* Word-wise, each word fully mixed (the table uses the low bits). */
static uint64_t hash_of(MDB_dbi dbi, const uint8_t *p, size_t n)
{
    uint64_t h = fmix64(((uint64_t)dbi << 32) ^ n);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = fmix64(h ^ w) + 0x9e3779b97f4a7c15ull;
        p += 8;
        n -= 8;
    }
    uint64_t w = 0;
    memcpy(&w, p, n);
    return fmix64(h ^ w);
}

static slot_t *slot_of(wcache_t *wc, uint64_t h, MDB_dbi dbi, const uint8_t *k, size_t klen)
{
    size_t mask = wc->tab_cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        slot_t *sl = &wc->tab[i];
        if (sl->e == NULL)
            return sl;
        if (sl->hash == h && sl->e->dbi == dbi && sl->e->klen == klen &&
            memcmp(sl->e->key, k, klen) == 0)
            return sl;
    }
}

static bool grow_table(wcache_t *wc)
{
    size_t cap = wc->tab_cap ? wc->tab_cap * 2 : 1024;
    slot_t *nt = calloc(cap, sizeof *nt);
    ent_t **na = realloc(wc->all, cap / 2 * sizeof *na);
    if (na != NULL)
        wc->all = na;
    if (nt == NULL || na == NULL) {
        free(nt);
        return false;
    }
    wc->all_cap = cap / 2;
    for (size_t i = 0; i < wc->tab_cap; i++) {
        if (wc->tab[i].e == NULL)
            continue;
        size_t j = (size_t)wc->tab[i].hash & (cap - 1);
        while (nt[j].e != NULL)
            j = (j + 1) & (cap - 1);
        nt[j] = wc->tab[i];
    }
    free(wc->tab);
    wc->tab = nt;
    wc->tab_cap = cap;
    return true;
}

/* The entry for (dbi, k), created (not present, value room vcap) when
   missing; NULL when out of memory. *created tells which. */
static ent_t *lookup(wcache_t *wc, MDB_dbi dbi, const MDB_val *k, size_t vcap, bool *created)
{
    *created = false;
    ent_t *l = wc->last;
    if (l != NULL && l->dbi == dbi && l->klen == k->mv_size &&
        memcmp(l->key, k->mv_data, k->mv_size) == 0)
        return l;
    if ((wc->n + 1) * 2 > wc->tab_cap && !grow_table(wc))
        return NULL;
    uint64_t h = hash_of(dbi, k->mv_data, k->mv_size);
    slot_t *slot = slot_of(wc, h, dbi, k->mv_data, k->mv_size);
    if (slot->e != NULL)
        return wc->last = slot->e;
    ent_t *e = arena_alloc(wc, sizeof *e + k->mv_size + vcap);
    if (e == NULL)
        return NULL;
    e->hash = h;
    e->dbi = dbi;
    e->klen = (uint32_t)k->mv_size;
    e->vlen = 0;
    e->vcap = (uint32_t)vcap;
    e->val = e->key + k->mv_size;
    e->present = false;
    e->dirty = false;
    memcpy(e->key, k->mv_data, k->mv_size);
    slot->hash = h;
    slot->e = e;
    wc->all[wc->n] = e; /* all_cap = tab_cap / 2 > n */
    wc->n++;
    *created = true;
    return wc->last = e;
}

static bool set_val(wcache_t *wc, ent_t *e, const void *p, size_t n)
{
    if (n > e->vcap) {
        size_t cap = n + n / 2;
        uint8_t *nv = arena_alloc(wc, cap);
        if (nv == NULL)
            return false;
        e->val = nv;
        e->vcap = (uint32_t)cap;
    }
    if (n > 0)
        memcpy(e->val, p, n);
    e->vlen = (uint32_t)n;
    e->present = true;
    return true;
}

static bool attached(const wcache_t *wc, const MDB_txn *txn)
{
    /* Only the writer thread ever sees its own transaction here. */
    return wc != NULL && atomic_load_explicit(&wc->txn, memory_order_relaxed) == txn;
}

int store_tx_get(wcache_t *wc, MDB_txn *txn, MDB_dbi dbi, const MDB_val *k, MDB_val *v)
{
    if (!attached(wc, txn))
        return mdb_get(txn, dbi, (MDB_val *)k, v);
    bool created;
    ent_t *e = lookup(wc, dbi, k, 0, &created);
    if (e == NULL)
        return ENOMEM;
    if (created) {
        MDB_val dv;
        int rc = mdb_get(txn, dbi, (MDB_val *)k, &dv);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        if (rc == 0 && !set_val(wc, e, dv.mv_data, dv.mv_size))
            return ENOMEM;
    }
    if (!e->present)
        return MDB_NOTFOUND;
    v->mv_size = e->vlen;
    v->mv_data = e->val;
    return 0;
}

int store_tx_put(wcache_t *wc, MDB_txn *txn, MDB_dbi dbi, const MDB_val *k, const MDB_val *v)
{
    if (!attached(wc, txn))
        return mdb_put(txn, dbi, (MDB_val *)k, (MDB_val *)v, 0);
    if (wc->bytes > WCACHE_CAP_BYTES) {
        int rc = wcache_flush(wc);
        if (rc)
            return rc;
    }
    bool created;
    ent_t *e = lookup(wc, dbi, k, v->mv_size, &created);
    if (e == NULL || !set_val(wc, e, v->mv_data, v->mv_size))
        return ENOMEM;
    e->dirty = true;
    return 0;
}

int store_tx_del(wcache_t *wc, MDB_txn *txn, MDB_dbi dbi, const MDB_val *k)
{
    if (!attached(wc, txn))
        return mdb_del(txn, dbi, (MDB_val *)k, NULL);
    bool created;
    ent_t *e = lookup(wc, dbi, k, 0, &created);
    if (e == NULL)
        return ENOMEM;
    bool had;
    if (created) {
        MDB_val dv;
        int rc = mdb_get(txn, dbi, (MDB_val *)k, &dv);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        had = rc == 0;
    } else {
        had = e->present;
    }
    e->present = false;
    e->vlen = 0;
    e->dirty = true;
    return had ? 0 : MDB_NOTFOUND;
}

/* A dirty entry to sort: the first 16 key bytes (big-endian, zero-padded)
   decide most comparisons without touching the entry. */
typedef struct srec {
    MDB_dbi dbi;
    uint64_t k0, k1;
    const ent_t *e;
} srec_t;

static uint64_t be_word(const uint8_t *p, size_t n)
{
    uint64_t w = 0;
    for (size_t i = 0; i < 8; i++)
        w = w << 8 | (i < n ? p[i] : 0);
    return w;
}

/* LMDB's default order: bytes, then the shorter key first. Zero padding
   keeps the prefix order right wherever two prefixes differ. */
static int srec_cmp(const void *a, const void *b)
{
    const srec_t *x = a, *y = b;
    if (x->dbi != y->dbi)
        return x->dbi < y->dbi ? -1 : 1;
    if (x->k0 != y->k0)
        return x->k0 < y->k0 ? -1 : 1;
    if (x->k1 != y->k1)
        return x->k1 < y->k1 ? -1 : 1;
    size_t n = x->e->klen < y->e->klen ? x->e->klen : y->e->klen;
    int c = memcmp(x->e->key, y->e->key, n);
    if (c != 0)
        return c;
    return x->e->klen < y->e->klen ? -1 : x->e->klen > y->e->klen;
}

int wcache_flush(wcache_t *wc)
{
    MDB_txn *txn = wc == NULL ? NULL : atomic_load_explicit(&wc->txn, memory_order_relaxed);
    if (txn == NULL)
        return 0;
    srec_t *v = malloc((wc->n ? wc->n : 1) * sizeof *v);
    if (v == NULL)
        return ENOMEM;
    size_t nd = 0;
    for (size_t i = 0; i < wc->n; i++) {
        const ent_t *e = wc->all[i];
        if (!e->dirty)
            continue;
        v[nd].dbi = e->dbi;
        v[nd].k0 = be_word(e->key, e->klen);
        v[nd].k1 = e->klen > 8 ? be_word(e->key + 8, e->klen - 8) : 0;
        v[nd].e = e;
        nd++;
    }
    qsort(v, nd, sizeof *v, srec_cmp);
    int rc = 0;
    store_sink_t sk = {0};
    MDB_dbi open_dbi = 0;
    for (size_t i = 0; i < nd && !rc; i++) {
        const ent_t *e = v[i].e;
        if (sk.c == NULL || open_dbi != e->dbi) {
            store_sink_close(&sk);
            if ((rc = store_sink_open(&sk, txn, e->dbi)) != 0)
                break;
            open_dbi = e->dbi;
        }
        rc = e->present ? store_sink_put(&sk, e->key, e->klen, e->val, e->vlen)
                        : store_sink_del(&sk, e->key, e->klen);
    }
    store_sink_close(&sk);
    free(v);
    if (!rc)
        clear(wc);
    return rc;
}
