/*
 * api_cache.c — the response cache (api_cache.h): a chained hash table of
 * entries threaded on a least-recently-used list, under one mutex.
 */
#include "api_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CTYPE_CAP 64

typedef struct entry {
    struct entry *chain;         /* next in the hash bucket */
    struct entry *newer, *older; /* LRU list */
    uint64_t hash, gen;
    size_t size; /* what it counts against max_bytes */
    size_t len;
    char ctype[CTYPE_CAP];
    char *body;
    char key[]; /* NUL-terminated */
} entry_t;

struct api_cache {
    pthread_mutex_t mu;
    entry_t **buckets;
    size_t n_buckets; /* a power of two */
    entry_t *newest, *oldest;
    uint64_t gen; /* the newest generation seen */
    size_t max_bytes;
    api_cache_stats_t st;
};

static uint64_t key_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    return h;
}

err_t api_cache_new(size_t max_bytes, api_cache_t **out)
{
    *out = NULL;
    if (max_bytes == 0)
        return ERR_BAD_PARAM;
    api_cache_t *c = calloc(1, sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    c->n_buckets = 256;
    c->buckets = calloc(c->n_buckets, sizeof *c->buckets);
    if (c->buckets == NULL || pthread_mutex_init(&c->mu, NULL) != 0) {
        free(c->buckets);
        free(c);
        return ERR_NOMEM;
    }
    c->max_bytes = max_bytes;
    *out = c;
    return ERR_OK;
}

static void lru_unlink(api_cache_t *c, entry_t *e)
{
    if (e->newer != NULL)
        e->newer->older = e->older;
    else
        c->newest = e->older;
    if (e->older != NULL)
        e->older->newer = e->newer;
    else
        c->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(api_cache_t *c, entry_t *e)
{
    e->older = c->newest;
    e->newer = NULL;
    if (c->newest != NULL)
        c->newest->newer = e;
    c->newest = e;
    if (c->oldest == NULL)
        c->oldest = e;
}

/* Unlink e from its bucket and the list, and free it. */
static void drop(api_cache_t *c, entry_t *e)
{
    entry_t **pp = &c->buckets[e->hash & (c->n_buckets - 1)];
    while (*pp != e)
        pp = &(*pp)->chain;
    *pp = e->chain;
    lru_unlink(c, e);
    c->st.entries--;
    c->st.bytes -= e->size;
    free(e->body);
    free(e);
}

static void drop_all(api_cache_t *c)
{
    while (c->oldest != NULL)
        drop(c, c->oldest);
}

/* A newer generation makes every entry unreachable: free them now. */
static void see_gen(api_cache_t *c, uint64_t gen)
{
    if (gen > c->gen) {
        drop_all(c);
        c->gen = gen;
    }
}

static entry_t *find(const api_cache_t *c, const char *key, uint64_t h)
{
    for (entry_t *e = c->buckets[h & (c->n_buckets - 1)]; e != NULL; e = e->chain)
        if (e->hash == h && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

/* Double the table when it holds more entries than buckets (best effort). */
static void maybe_grow(api_cache_t *c)
{
    if (c->st.entries < c->n_buckets)
        return;
    size_t n = c->n_buckets * 2;
    entry_t **b = calloc(n, sizeof *b);
    if (b == NULL)
        return;
    for (size_t i = 0; i < c->n_buckets; i++) {
        for (entry_t *e = c->buckets[i], *next; e != NULL; e = next) {
            next = e->chain;
            e->chain = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->n_buckets = n;
}

bool api_cache_get(api_cache_t *c, const char *key, uint64_t gen, char **body, size_t *len,
                   char *ctype, size_t ctype_cap)
{
    uint64_t h = key_hash(key);
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    see_gen(c, gen);
    entry_t *e = gen == c->gen ? find(c, key, h) : NULL;
    if (e != NULL && ctype_cap > strlen(e->ctype)) {
        char *copy = malloc(e->len ? e->len : 1);
        if (copy != NULL) {
            memcpy(copy, e->body, e->len);
            memcpy(ctype, e->ctype, strlen(e->ctype) + 1);
            *body = copy;
            *len = e->len;
            lru_unlink(c, e);
            lru_push(c, e);
            hit = true;
        }
    }
    if (hit)
        c->st.hits++;
    else
        c->st.misses++;
    pthread_mutex_unlock(&c->mu);
    return hit;
}

void api_cache_put(api_cache_t *c, const char *key, uint64_t gen, const char *ctype,
                   const char *body, size_t len)
{
    size_t klen = strlen(key);
    if (strlen(ctype) >= CTYPE_CAP)
        return;
    size_t size = sizeof(entry_t) + klen + 1 + len;
    if (size > c->max_bytes / 8)
        return;
    entry_t *e = malloc(sizeof *e + klen + 1);
    char *copy = malloc(len ? len : 1);
    if (e == NULL || copy == NULL) {
        free(e);
        free(copy);
        return;
    }
    memset(e, 0, sizeof *e);
    memcpy(e->key, key, klen + 1);
    memcpy(copy, body, len);
    e->body = copy;
    e->len = len;
    e->size = size;
    e->gen = gen;
    e->hash = key_hash(key);
    memcpy(e->ctype, ctype, strlen(ctype) + 1);

    pthread_mutex_lock(&c->mu);
    see_gen(c, gen);
    if (gen != c->gen) { /* computed on a snapshot that is already old */
        pthread_mutex_unlock(&c->mu);
        free(copy);
        free(e);
        return;
    }
    entry_t *old = find(c, key, e->hash);
    if (old != NULL)
        drop(c, old);
    while (c->oldest != NULL && c->st.bytes + size > c->max_bytes) {
        drop(c, c->oldest);
        c->st.evictions++;
    }
    maybe_grow(c);
    entry_t **b = &c->buckets[e->hash & (c->n_buckets - 1)];
    e->chain = *b;
    *b = e;
    lru_push(c, e);
    c->st.entries++;
    c->st.bytes += size;
    c->st.puts++;
    pthread_mutex_unlock(&c->mu);
}

void api_cache_stats(api_cache_t *c, api_cache_stats_t *out)
{
    pthread_mutex_lock(&c->mu);
    *out = c->st;
    pthread_mutex_unlock(&c->mu);
}

void api_cache_free(api_cache_t *c)
{
    if (c == NULL)
        return;
    drop_all(c);
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}
