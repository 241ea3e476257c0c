/*
 * store_docset.c — the documents of one write batch (see store_docset.h).
 *
 * Slots live in chunks that are kept from one batch to the next (a fresh
 * chunk costs page faults, and every batch needs about as many); an
 * open-addressing table (power of two, at most half full, linear probing)
 * of slot pointers finds them. The table keeps each slot's hash so that a
 * probe that does not match never touches the slot.
 */
#include "store_docset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_pack.h"
#include "store_sink.h"

#define CHUNK_BYTES ((size_t)1 << 20)
/* Chunks kept for the next batch; past this they are returned. */
#define KEEP_BYTES ((size_t)64 << 20)

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    _Alignas(max_align_t) uint8_t data[];
} chunk_t;

typedef struct tslot {
    uint64_t hash;
    docslot_t *s;
} tslot_t;

struct docset {
    MDB_txn *txn;
    MDB_dbi dbi;
    tslot_t *tab;
    size_t cap, n;
    docslot_t **all; /* every slot, in creation order */
    size_t all_cap;
    size_t n_unloaded;
    docslot_t *recent[2]; /* the last two slots found: an event asks for its
                             document and its invoice several times in a row */
    chunk_t *chunks;      /* in use, newest first */
    chunk_t *free_chunks;
    size_t kept_bytes;
};

docset_t *docset_new(void)
{
    return calloc(1, sizeof(docset_t));
}

static void chunks_recycle(docset_t *ds)
{
    while (ds->chunks != NULL) {
        chunk_t *c = ds->chunks;
        ds->chunks = c->next;
        if (c->cap == CHUNK_BYTES && ds->kept_bytes + c->cap <= KEEP_BYTES) {
            c->used = 0;
            c->next = ds->free_chunks;
            ds->free_chunks = c;
            ds->kept_bytes += c->cap;
        } else {
            free(c);
        }
    }
}

static void reset(docset_t *ds)
{
    chunks_recycle(ds);
    if (ds->tab != NULL)
        memset(ds->tab, 0, ds->cap * sizeof *ds->tab);
    ds->n = 0;
    ds->n_unloaded = 0;
    ds->recent[0] = ds->recent[1] = NULL;
}

void docset_free(docset_t *ds)
{
    if (ds == NULL)
        return;
    chunks_recycle(ds);
    while (ds->free_chunks != NULL) {
        chunk_t *c = ds->free_chunks;
        ds->free_chunks = c->next;
        free(c);
    }
    free(ds->tab);
    free(ds->all);
    free(ds);
}

void docset_begin(docset_t *ds, MDB_txn *txn, MDB_dbi docs)
{
    reset(ds);
    ds->txn = txn;
    ds->dbi = docs;
}

void docset_end(docset_t *ds)
{
    if (ds == NULL)
        return;
    reset(ds);
    /* A table grown by a big batch is dropped, so that the small batches of
       HTTP requests do not wipe megabytes each. */
    if (ds->cap > ((size_t)1 << 14)) {
        free(ds->tab);
        ds->tab = NULL;
        ds->cap = 0;
    }
    ds->txn = NULL;
}

bool docset_attached(const docset_t *ds, const MDB_txn *txn)
{
    return ds != NULL && ds->txn != NULL && ds->txn == txn;
}

static void *alloc(docset_t *ds, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    chunk_t *c = ds->chunks;
    if (c == NULL || c->cap - c->used < n) {
        if (n <= CHUNK_BYTES && ds->free_chunks != NULL) {
            c = ds->free_chunks;
            ds->free_chunks = c->next;
            ds->kept_bytes -= c->cap;
        } else {
            size_t cap = n > CHUNK_BYTES ? n : CHUNK_BYTES;
            c = malloc(sizeof *c + cap);
            if (c == NULL)
                return NULL;
            c->cap = cap;
        }
        c->used = 0;
        c->next = ds->chunks;
        ds->chunks = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

static uint64_t hash_key(const uint8_t *p, size_t n)
{
    /* FNV-1a, then a final mix: keys are short document numbers that differ
       in their last digits, and the table uses the low bits. */
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

static bool grow(docset_t *ds)
{
    size_t cap = ds->cap ? ds->cap * 2 : 1024;
    tslot_t *nt = calloc(cap, sizeof *nt);
    docslot_t **na = realloc(ds->all, cap / 2 * sizeof *na);
    if (na != NULL)
        ds->all = na;
    if (nt == NULL || na == NULL) {
        free(nt);
        return false;
    }
    ds->all_cap = cap / 2;
    for (size_t i = 0; i < ds->cap; i++) {
        if (ds->tab[i].s == NULL)
            continue;
        size_t j = (size_t)ds->tab[i].hash & (cap - 1);
        while (nt[j].s != NULL)
            j = (j + 1) & (cap - 1);
        nt[j] = ds->tab[i];
    }
    free(ds->tab);
    ds->tab = nt;
    ds->cap = cap;
    return true;
}

/* The slot of key, created unloaded when missing (*created). NULL: ENOMEM. */
static docslot_t *find(docset_t *ds, const uint8_t *key, size_t klen, bool *created)
{
    *created = false;
    if ((ds->n + 1) * 2 > ds->cap && !grow(ds))
        return NULL;
    uint64_t h = hash_key(key, klen);
    size_t mask = ds->cap - 1, i = (size_t)h & mask;
    for (;; i = (i + 1) & mask) {
        tslot_t *t = &ds->tab[i];
        if (t->s == NULL)
            break;
        if (t->hash == h && t->s->klen == klen && memcmp(t->s->key, key, klen) == 0)
            return t->s;
    }
    docslot_t *s = alloc(ds, sizeof *s + klen);
    if (s == NULL)
        return NULL;
    memset(s, 0, sizeof *s);
    store_doc_init(&s->rec, klen > 0 ? key[0] : 0);
    s->klen = (uint16_t)klen;
    s->hash = h;
    memcpy(s->key, key, klen);
    ds->tab[i] = (tslot_t){h, s};
    ds->all[ds->n++] = s; /* all_cap = cap / 2 > n */
    ds->n_unloaded++;
    *created = true;
    return s;
}

static int set_state(docset_t *ds, docslot_t *s, const uint8_t *p, size_t n)
{
    if (n > s->st_cap) {
        size_t cap = n < 64 ? 64 : n + n / 4;
        uint8_t *b = alloc(ds, cap);
        if (b == NULL)
            return ENOMEM;
        s->st = b;
        s->st_cap = (uint32_t)cap;
    }
    if (n > 0)
        memcpy(s->st, p, n);
    s->st_len = (uint32_t)n;
    return 0;
}

/* Fill a slot from its LMDB value (rc: mdb_get's result). */
static int fill(docset_t *ds, docslot_t *s, int rc, const MDB_val *v)
{
    s->loaded = true;
    ds->n_unloaded--;
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    const uint8_t *st;
    size_t st_len;
    bool has;
    if (!docv_decode(v->mv_data, v->mv_size, &s->rec, &has, &st, &st_len))
        return MDB_CORRUPTED;
    if (!has)
        store_doc_init(&s->rec, s->key[0]);
    s->has_rec = has;
    return set_state(ds, s, st, st_len);
}

int docset_want(docset_t *ds, const uint8_t *key, size_t klen)
{
    bool created;
    return find(ds, key, klen, &created) == NULL ? ENOMEM : 0;
}

static int slot_cmp(const void *a, const void *b)
{
    const docslot_t *x = *(docslot_t *const *)a, *y = *(docslot_t *const *)b;
    return store_key_cmp(x->key, x->klen, y->key, y->klen);
}

int docset_load(docset_t *ds)
{
    if (ds->n_unloaded == 0)
        return 0;
    docslot_t **v = malloc(ds->n_unloaded * sizeof *v);
    if (v == NULL)
        return ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (!ds->all[i]->loaded)
            v[m++] = ds->all[i];
    qsort(v, m, sizeof *v, slot_cmp);
    /* One cursor, keys in order: LMDB finds each next key on the leaf page
       it is already on, or close to it. */
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(ds->txn, ds->dbi, &c);
    for (size_t i = 0; !rc && i < m; i++) {
        MDB_val kv = {v[i]->klen, v[i]->key}, dv;
        int g = mdb_cursor_get(c, &kv, &dv, MDB_SET_KEY);
        rc = fill(ds, v[i], g, &dv);
    }
    if (c != NULL)
        mdb_cursor_close(c);
    free(v);
    return rc;
}

int docset_slot(docset_t *ds, const uint8_t *key, size_t klen, docslot_t **out)
{
    for (int i = 0; i < 2; i++) {
        docslot_t *r = ds->recent[i];
        if (r != NULL && r->loaded && r->klen == klen && memcmp(r->key, key, klen) == 0) {
            *out = r;
            return 0;
        }
    }
    bool created;
    docslot_t *s = find(ds, key, klen, &created);
    if (s == NULL)
        return ENOMEM;
    if (!s->loaded) {
        MDB_val kv = {klen, (void *)key}, dv;
        int rc = fill(ds, s, mdb_get(ds->txn, ds->dbi, &kv, &dv), &dv);
        if (rc)
            return rc;
    }
    ds->recent[1] = ds->recent[0];
    ds->recent[0] = s;
    *out = s;
    return 0;
}

int docset_set_state(docset_t *ds, docslot_t *sl, const uint8_t *p, size_t n)
{
    int rc = set_state(ds, sl, p, n);
    if (!rc)
        sl->dirty = true;
    return rc;
}

int docset_flush(docset_t *ds)
{
    if (ds == NULL || ds->txn == NULL || ds->n == 0)
        return 0;
    docslot_t **v = malloc(ds->n * sizeof *v);
    if (v == NULL)
        return ENOMEM;
    size_t m = 0;
    size_t st_max = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->all[i]->dirty) {
            v[m++] = ds->all[i];
            if (ds->all[i]->st_len > st_max)
                st_max = ds->all[i]->st_len;
        }
    qsort(v, m, sizeof *v, slot_cmp);
    uint8_t *buf = malloc(docv_size_max(st_max));
    store_sink_t sk = {0};
    int rc = buf == NULL ? ENOMEM : store_sink_open(&sk, ds->txn, ds->dbi);
    for (size_t i = 0; !rc && i < m; i++) {
        docslot_t *s = v[i];
        if (!s->has_rec && s->st_len == 0)
            rc = store_sink_del(&sk, s->key, s->klen);
        else
            rc = store_sink_put(&sk, s->key, s->klen, buf,
                                docv_encode(s->has_rec ? &s->rec : NULL, s->st, s->st_len, buf));
    }
    store_sink_close(&sk);
    free(buf);
    free(v);
    if (!rc)
        for (size_t i = 0; i < ds->n; i++)
            ds->all[i]->dirty = false;
    return rc;
}

/* ---- the value codec ---------------------------------------------------------- */

/* The record's fields in packing order; a field is written when it differs
   from an unknown document's. */
enum {
    F_KIND,
    F_EXISTS,
    F_FIRST_REVIEW,
    F_PARTY,
    F_UNIT,
    F_REF,
    F_REVIEWS,
    F_CORRECTIONS,
    F_REJECTIONS,
    F_ESCALATIONS,
    F_PENDING,
    F_CREATED_SEQ,
    F_FIRST_REVIEW_S,
    F_CREATED_DAY,
    F_DUE_DAY,
    F_CLOSED_DAY,
    F_AMOUNT,
    F_ADJUSTED,
    F_APPLIED,
    F_CREDITED,
    F_WRITTEN_OFF,
    F_REFUNDED,
    F_PAID,
    F_HELD,
    F_N
};
#define F_CURRENCY_BIT (1u << F_N)

static void rec_fields(const doc_rec_t *d, int64_t *f)
{
    f[F_KIND] = d->kind;
    f[F_EXISTS] = d->exists;
    f[F_FIRST_REVIEW] = d->first_review;
    f[F_PARTY] = d->party;
    f[F_UNIT] = d->unit;
    f[F_REF] = d->ref;
    f[F_REVIEWS] = d->reviews;
    f[F_CORRECTIONS] = d->corrections;
    f[F_REJECTIONS] = d->rejections;
    f[F_ESCALATIONS] = d->escalations;
    f[F_PENDING] = d->pending_events;
    f[F_CREATED_SEQ] = (int64_t)d->created_seq;
    f[F_FIRST_REVIEW_S] = d->first_review_s;
    f[F_CREATED_DAY] = d->created_day;
    f[F_DUE_DAY] = d->due_day;
    f[F_CLOSED_DAY] = d->closed_day;
    f[F_AMOUNT] = d->amount;
    f[F_ADJUSTED] = d->adjusted;
    f[F_APPLIED] = d->applied;
    f[F_CREDITED] = d->credited;
    f[F_WRITTEN_OFF] = d->written_off;
    f[F_REFUNDED] = d->refunded;
    f[F_PAID] = d->paid;
    f[F_HELD] = d->held;
}

size_t docv_size_max(size_t st_len)
{
    return 1 + PACK_VARINT_MAX + F_N * PACK_VARINT_MAX + 3 + st_len;
}

size_t docv_encode(const doc_rec_t *rec, const uint8_t *st, size_t st_len, uint8_t *out)
{
    size_t n = 1;
    out[0] = (uint8_t)((rec != NULL ? DOCV_REC : 0) | (st_len > 0 ? DOCV_STATE : 0));
    if (rec != NULL) {
        int64_t f[F_N], z[F_N];
        doc_rec_t unknown;
        store_doc_init(&unknown, 0);
        rec_fields(rec, f);
        rec_fields(&unknown, z);
        uint64_t mask = 0;
        for (int i = 0; i < F_N; i++)
            if (f[i] != z[i])
                mask |= (uint64_t)1 << i;
        if (rec->currency[0] != '\0')
            mask |= F_CURRENCY_BIT;
        n += pack_uvarint(out + n, mask);
        for (int i = 0; i < F_N; i++)
            if (mask & ((uint64_t)1 << i))
                n += pack_svarint(out + n, f[i]);
        if (mask & F_CURRENCY_BIT) {
            memcpy(out + n, rec->currency, 3);
            n += 3;
        }
    }
    if (st_len > 0) {
        memcpy(out + n, st, st_len);
        n += st_len;
    }
    return n;
}

bool docv_decode(const void *p, size_t n, doc_rec_t *rec, bool *has_rec, const uint8_t **st,
                 size_t *st_len)
{
    const uint8_t *b = p;
    size_t off = 1;
    store_doc_init(rec, 0);
    *has_rec = false;
    if (n < 1 || (b[0] & ~(DOCV_REC | DOCV_STATE)) != 0)
        return false;
    if (b[0] & DOCV_REC) {
        uint64_t mask;
        if (!unpack_uvarint(b, n, &off, &mask) || mask >= (uint64_t)F_CURRENCY_BIT << 1)
            return false;
        int64_t f[F_N];
        rec_fields(rec, f);
        for (int i = 0; i < F_N; i++)
            if ((mask & ((uint64_t)1 << i)) && !unpack_svarint(b, n, &off, &f[i]))
                return false;
        if (mask & F_CURRENCY_BIT) {
            if (n - off < 3)
                return false;
            memcpy(rec->currency, b + off, 3);
            rec->currency[3] = '\0';
            off += 3;
        }
        /* Every field back into its type; a value that does not fit is
           damage, not something to truncate. */
        if (f[F_KIND] < 0 || f[F_KIND] > 255 || f[F_EXISTS] < 0 || f[F_EXISTS] > 1 ||
            f[F_FIRST_REVIEW] < 0 || f[F_FIRST_REVIEW] > 255)
            return false;
        for (int i = F_PARTY; i <= F_PENDING; i++)
            if (f[i] < 0 || f[i] > UINT32_MAX)
                return false;
        for (int i = F_CREATED_DAY; i <= F_CLOSED_DAY; i++)
            if (f[i] < INT32_MIN || f[i] > INT32_MAX)
                return false;
        rec->kind = (uint8_t)f[F_KIND];
        rec->exists = (uint8_t)f[F_EXISTS];
        rec->first_review = (uint8_t)f[F_FIRST_REVIEW];
        rec->party = (uint32_t)f[F_PARTY];
        rec->unit = (uint32_t)f[F_UNIT];
        rec->ref = (uint32_t)f[F_REF];
        rec->reviews = (uint32_t)f[F_REVIEWS];
        rec->corrections = (uint32_t)f[F_CORRECTIONS];
        rec->rejections = (uint32_t)f[F_REJECTIONS];
        rec->escalations = (uint32_t)f[F_ESCALATIONS];
        rec->pending_events = (uint32_t)f[F_PENDING];
        rec->created_seq = (uint64_t)f[F_CREATED_SEQ];
        rec->first_review_s = f[F_FIRST_REVIEW_S];
        rec->created_day = (int32_t)f[F_CREATED_DAY];
        rec->due_day = (int32_t)f[F_DUE_DAY];
        rec->closed_day = (int32_t)f[F_CLOSED_DAY];
        rec->amount = f[F_AMOUNT];
        rec->adjusted = f[F_ADJUSTED];
        rec->applied = f[F_APPLIED];
        rec->credited = f[F_CREDITED];
        rec->written_off = f[F_WRITTEN_OFF];
        rec->refunded = f[F_REFUNDED];
        rec->paid = f[F_PAID];
        rec->held = f[F_HELD];
        *has_rec = true;
    }
    bool has_st = (b[0] & DOCV_STATE) != 0;
    if (has_st != (off < n))
        return false;
    if (st != NULL) {
        *st = has_st ? b + off : NULL;
        *st_len = has_st ? n - off : 0;
    }
    return true;
}
