/*
 * api_cache.h — answers of KPI requests kept while the store has not
 * changed, so that a dashboard wall or Grafana asking the same questions
 * every few seconds costs one KPI computation per store change, not one
 * per viewer.
 *
 * An entry is a response body and its content type under a key (the
 * router builds it from everything the answer depends on besides the
 * store: path, query, Accept, the key's business units, the reporting
 * day) and a store generation (store_generation(): the last committed
 * transaction). What must stay true:
 *   - an answer is only ever returned for the generation it was computed
 *     on, so ingest is visible to the very next request;
 *   - an entry is put only when the generation did not move while it was
 *     computed (the caller checks before and after), so an answer that
 *     may have read a newer snapshot is never filed under an older one;
 *   - memory is bounded by max_bytes (bodies, keys and bookkeeping);
 *     least recently used entries go first, and an answer bigger than an
 *     eighth of the cache is not kept.
 * When a newer generation is seen, every older entry is dropped at once:
 * it can never be returned again.
 *
 * Thread-safe: one mutex; a hit copies the body out under it.
 */
#ifndef KPID_API_CACHE_H
#define KPID_API_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct api_cache api_cache_t;

/* A cache of at most max_bytes (> 0). ERR_NOMEM. */
err_t api_cache_new(size_t max_bytes, api_cache_t **out) KPID_MUST_USE;
/* NULL is a no-op. */
void api_cache_free(api_cache_t *c);

/*
 * The answer under key for generation gen: true with a malloc'd copy of the
 * body in *body (the caller frees it), its length and its content type
 * (copied into ctype, ctype_cap bytes, NUL-terminated). false on a miss or
 * when the copy cannot be allocated.
 */
bool api_cache_get(api_cache_t *c, const char *key, uint64_t gen, char **body, size_t *len,
                   char *ctype, size_t ctype_cap);

/* Keep a copy of an answer computed on generation gen. An entry for an
   older generation than the newest seen is ignored; one for the same key
   is replaced. Best effort: out of memory or too big is not an error. */
void api_cache_put(api_cache_t *c, const char *key, uint64_t gen, const char *ctype,
                   const char *body, size_t len);

/* Counters since start (for /metrics and the tests). */
typedef struct api_cache_stats {
    uint64_t hits, misses, puts, evictions;
    size_t entries, bytes;
} api_cache_stats_t;
void api_cache_stats(api_cache_t *c, api_cache_stats_t *out);

#endif
