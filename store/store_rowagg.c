/*
 * store_rowagg.c — the additive day rows of one write batch (see
 * store_rowagg.h).
 *
 * Entries live in one array (in creation order); an open-addressing table
 * (power of two, at most half full, linear probing) of {hash, index} finds
 * them, so a probe that does not match reads 16 bytes and not the entry.
 *
 * Overflow: rather than each column's running extremes, an entry keeps each
 * column's sum of absolute deltas (saturating). When |stored| + that bound
 * fits int64, no running sum can leave it, whatever
 * the order; otherwise the flush answers ERR_OVERFLOW and the store runs
 * the batch per event, where the check is exact. Only rows within one
 * batch's movements of 2^63 take that path.
 */
#include "store_rowagg.h"
#include "store_sink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct ent {
    uint8_t key[ROWAGG_KEY_MAX];
    MDB_dbi dbi;
    uint8_t klen, ncols;
    uint64_t abs[ROWAGG_COLS]; /* sum of |delta| per column (saturating) */
    int64_t sum[ROWAGG_COLS];
} ent_t;

typedef struct tslot {
    uint64_t hash; /* 0: empty */
    size_t idx;
} tslot_t;

struct rowagg {
    rowagg_codec_t codec;
    tslot_t *tab;
    size_t cap;
    ent_t *ents;
    size_t n, ents_cap;
    MDB_dbi drop[ROWAGG_DROP_MAX]; /* databases whose zero rows are deleted */
    size_t n_drop;
};

bool rowagg_drop_zero(rowagg_t *ra, MDB_dbi dbi)
{
    for (size_t i = 0; i < ra->n_drop; i++)
        if (ra->drop[i] == dbi)
            return true;
    if (ra->n_drop == ROWAGG_DROP_MAX)
        return false;
    ra->drop[ra->n_drop++] = dbi;
    return true;
}

static bool drops(const rowagg_t *ra, MDB_dbi dbi)
{
    for (size_t i = 0; i < ra->n_drop; i++)
        if (ra->drop[i] == dbi)
            return true;
    return false;
}

rowagg_t *rowagg_new(const rowagg_codec_t *codec)
{
    rowagg_t *ra = calloc(1, sizeof *ra);
    if (ra != NULL)
        ra->codec = *codec;
    return ra;
}

void rowagg_free(rowagg_t *ra)
{
    if (ra == NULL)
        return;
    free(ra->tab);
    free(ra->ents);
    free(ra);
}

void rowagg_clear(rowagg_t *ra)
{
    if (ra == NULL)
        return;
    if (ra->cap > ((size_t)1 << 14)) {
        free(ra->tab);
        free(ra->ents);
        ra->tab = NULL;
        ra->ents = NULL;
        ra->cap = ra->ents_cap = 0;
    } else if (ra->tab != NULL) {
        memset(ra->tab, 0, ra->cap * sizeof *ra->tab);
    }
    ra->n = 0;
}

size_t rowagg_count(const rowagg_t *ra)
{
    return ra->n;
}

static uint64_t hash_of(MDB_dbi dbi, const uint8_t *k, size_t n)
{
    uint8_t b[ROWAGG_KEY_MAX] = {0};
    memcpy(b, k, n);
    uint64_t w0, w1;
    memcpy(&w0, b, 8);
    memcpy(&w1, b + 8, 8);
    uint64_t h = (w0 ^ ((uint64_t)dbi << 56) ^ n) * 0x9e3779b97f4a7c15ull;
    h = (h ^ (h >> 29) ^ w1) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 32;
    return h | 1; /* never 0, which marks an empty slot */
}

static bool grow(rowagg_t *ra)
{
    size_t cap = ra->cap ? ra->cap * 2 : 1024;
    tslot_t *nt = calloc(cap, sizeof *nt);
    ent_t *ne = realloc(ra->ents, cap / 2 * sizeof *ne);
    if (ne != NULL)
        ra->ents = ne;
    if (nt == NULL || ne == NULL) {
        free(nt);
        return false;
    }
    ra->ents_cap = cap / 2;
    for (size_t i = 0; i < ra->cap; i++) {
        if (ra->tab[i].hash == 0)
            continue;
        size_t j = (size_t)ra->tab[i].hash & (cap - 1);
        while (nt[j].hash != 0)
            j = (j + 1) & (cap - 1);
        nt[j] = ra->tab[i];
    }
    free(ra->tab);
    ra->tab = nt;
    ra->cap = cap;
    return true;
}

err_t rowagg_add(rowagg_t *ra, MDB_dbi dbi, const uint8_t *key, size_t klen, const int64_t *add,
                 size_t ncols)
{
    if (klen > ROWAGG_KEY_MAX || ncols > ROWAGG_COLS)
        return ERR_INTERNAL;
    if ((ra->n + 1) * 2 > ra->cap && !grow(ra))
        return ERR_NOMEM;
    uint64_t h = hash_of(dbi, key, klen);
    size_t mask = ra->cap - 1, i = (size_t)h & mask;
    ent_t *e;
    for (;; i = (i + 1) & mask) {
        tslot_t *t = &ra->tab[i];
        if (t->hash == 0) {
            t->hash = h;
            t->idx = ra->n; /* ents_cap = cap / 2 > n */
            e = &ra->ents[ra->n++];
            memset(e, 0, sizeof *e);
            e->dbi = dbi;
            e->klen = (uint8_t)klen;
            e->ncols = (uint8_t)ncols;
            memcpy(e->key, key, klen);
            break;
        }
        e = &ra->ents[t->idx];
        if (t->hash == h && e->dbi == dbi && e->klen == klen && memcmp(e->key, key, klen) == 0)
            break;
    }
    if (e->ncols != ncols)
        return ERR_INTERNAL;
    for (size_t c = 0; c < ncols; c++) {
        if (add[c] == 0)
            continue;
        if (__builtin_add_overflow(e->sum[c], add[c], &e->sum[c]))
            return ERR_OVERFLOW;
        uint64_t a = add[c] < 0 ? (uint64_t)0 - (uint64_t)add[c] : (uint64_t)add[c];
        if (__builtin_add_overflow(e->abs[c], a, &e->abs[c]))
            e->abs[c] = UINT64_MAX;
    }
    return ERR_OK;
}

static int ent_cmp(const void *a, const void *b)
{
    const ent_t *x = *(ent_t *const *)a, *y = *(ent_t *const *)b;
    if (x->dbi != y->dbi)
        return x->dbi < y->dbi ? -1 : 1;
    return store_key_cmp(x->key, x->klen, y->key, y->klen);
}

err_t rowagg_flush(rowagg_t *ra, MDB_txn *txn, int *lmdb_rc)
{
    *lmdb_rc = 0;
    if (ra->n == 0)
        return ERR_OK;
    ent_t **v = malloc(ra->n * sizeof *v);
    uint8_t *buf = malloc(ra->codec.out_cap);
    if (v == NULL || buf == NULL) {
        free(v);
        free(buf);
        return ERR_NOMEM;
    }
    size_t m = ra->n;
    for (size_t i = 0; i < m; i++)
        v[i] = &ra->ents[i];
    qsort(v, m, sizeof *v, ent_cmp);
    err_t e = ERR_OK;
    int rc = 0;
    MDB_cursor *c = NULL;
    MDB_dbi open_dbi = 0;
    for (size_t i = 0; i < m && !e; i++) {
        const ent_t *x = v[i];
        if (c == NULL || open_dbi != x->dbi) {
            if (c != NULL)
                mdb_cursor_close(c);
            c = NULL;
            if ((rc = mdb_cursor_open(txn, x->dbi, &c)) != 0)
                break;
            open_dbi = x->dbi;
        }
        int64_t vals[ROWAGG_COLS] = {0};
        MDB_val kv = {x->klen, (void *)x->key}, dv;
        rc = mdb_cursor_get(c, &kv, &dv, MDB_SET_KEY);
        if (rc == 0 && !ra->codec.unpack(&dv, x->ncols, vals)) {
            e = ERR_STORE_CORRUPT;
            break;
        }
        if (rc && rc != MDB_NOTFOUND)
            break;
        bool found = rc == 0;
        rc = 0;
        for (size_t j = 0; j < x->ncols; j++) {
            if (x->abs[j] == 0)
                continue;
            uint64_t mag = vals[j] < 0 ? (uint64_t)0 - (uint64_t)vals[j] : (uint64_t)vals[j];
            if (x->abs[j] > (uint64_t)INT64_MAX || mag > (uint64_t)INT64_MAX - x->abs[j]) {
                e = ERR_OVERFLOW;
                break;
            }
            vals[j] += x->sum[j];
        }
        if (e)
            break;
        /* A row whose sums are back to zero stays, as when the events are
           added one by one; in a database of non-zero rows it goes. */
        bool zero = true;
        for (size_t j = 0; j < x->ncols; j++)
            zero = zero && vals[j] == 0;
        if (zero && drops(ra, x->dbi)) {
            if (found && (rc = mdb_cursor_del(c, 0)) != 0)
                break;
            continue;
        }
        kv = (MDB_val){x->klen, (void *)x->key};
        dv = (MDB_val){ra->codec.pack(vals, x->ncols, buf), buf};
        if ((rc = mdb_cursor_put(c, &kv, &dv, found ? MDB_CURRENT : 0)) != 0)
            break;
    }
    if (c != NULL)
        mdb_cursor_close(c);
    free(v);
    free(buf);
    if (!e && rc) {
        *lmdb_rc = rc;
        e = ERR_IO;
    }
    if (!e)
        rowagg_clear(ra);
    return e;
}
