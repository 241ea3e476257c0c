/*
 * test_api_cache.c — the response cache: an answer only for its own
 * generation, never one filed late under an older generation, bounded
 * memory with least-recently-used eviction, and safe under threads.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_cache.h"
#include "test.h"

/* Get key at gen; the body as a NUL-terminated string in out (or "" on a
   miss). Returns whether it hit. */
static bool get(api_cache_t *c, const char *key, uint64_t gen, char *out, size_t cap, char *ctype)
{
    char *body = NULL;
    size_t len = 0;
    out[0] = '\0';
    if (!api_cache_get(c, key, gen, &body, &len, ctype, 64))
        return false;
    snprintf(out, cap, "%.*s", (int)len, body);
    free(body);
    return true;
}

static void test_generations(void)
{
    api_cache_t *c = NULL;
    REQUIRE(api_cache_new(1 << 20, &c) == ERR_OK);
    char b[64], ct[64];
    CHECK(!get(c, "k", 5, b, sizeof b, ct));
    api_cache_put(c, "k", 5, "application/json", "{\"a\":1}", 7);
    CHECK(get(c, "k", 5, b, sizeof b, ct));
    CHECK_STR("{\"a\":1}", b);
    CHECK_STR("application/json", ct);
    /* Another key, another answer; same key replaced. */
    api_cache_put(c, "k2", 5, "text/csv; charset=utf-8", "a,b\r\n", 5);
    api_cache_put(c, "k", 5, "application/json", "{\"a\":2}", 7);
    CHECK(get(c, "k", 5, b, sizeof b, ct));
    CHECK_STR("{\"a\":2}", b);
    CHECK(get(c, "k2", 5, b, sizeof b, ct));
    CHECK_STR("a,b\r\n", b);
    CHECK_STR("text/csv; charset=utf-8", ct);
    /* The store moved: nothing of generation 5 is ever returned again, and
       its entries are freed. */
    CHECK(!get(c, "k", 6, b, sizeof b, ct));
    api_cache_stats_t st;
    api_cache_stats(c, &st);
    CHECK_INT(0, st.entries);
    CHECK_INT(0, st.bytes);
    /* An answer computed on generation 5 that arrives after 6 was seen is
       dropped (its snapshot is old). */
    api_cache_put(c, "k", 5, "application/json", "old", 3);
    CHECK(!get(c, "k", 6, b, sizeof b, ct));
    CHECK(!get(c, "k", 5, b, sizeof b, ct));
    api_cache_put(c, "k", 6, "application/json", "new", 3);
    CHECK(get(c, "k", 6, b, sizeof b, ct));
    CHECK_STR("new", b);
    /* An empty body is an answer too. */
    api_cache_put(c, "empty", 6, "text/csv", "", 0);
    CHECK(get(c, "empty", 6, b, sizeof b, ct));
    CHECK_STR("", b);
    /* A content type too long to keep, or a cap too small to copy it out:
       not cached / a miss. */
    char longtype[100];
    memset(longtype, 't', sizeof longtype - 1);
    longtype[sizeof longtype - 1] = '\0';
    api_cache_put(c, "lt", 6, longtype, "x", 1);
    CHECK(!get(c, "lt", 6, b, sizeof b, ct));
    char *body = NULL;
    size_t len;
    char tiny[4];
    CHECK(!api_cache_get(c, "k", 6, &body, &len, tiny, sizeof tiny));
    api_cache_stats(c, &st);
    CHECK_INT(2, st.entries); /* k and empty */
    CHECK_INT(5, st.hits);
    CHECK_INT(6, st.misses);
    api_cache_free(c);
    api_cache_free(NULL);
    CHECK_ERR(ERR_BAD_PARAM, api_cache_new(0, &c));
    CHECK(c == NULL);
}

static void test_bounded(void)
{
    /* 64 KiB: an answer over 8 KiB is not kept; about sixty 1 KiB answers
       fit, the least recently used go first. */
    api_cache_t *c = NULL;
    REQUIRE(api_cache_new(64 << 10, &c) == ERR_OK);
    char big[9000];
    memset(big, 'x', sizeof big);
    api_cache_put(c, "big", 1, "text/plain", big, sizeof big);
    char b[2048], ct[64];
    CHECK(!get(c, "big", 1, b, sizeof b, ct));
    char kb[1024];
    memset(kb, 'y', sizeof kb);
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        api_cache_put(c, key, 1, "text/plain", kb, sizeof kb);
        /* key-0 is used all along: it must survive every eviction. */
        CHECK_MSG(get(c, "key-0", 1, b, sizeof b, ct), "key-0 evicted at %d", i);
    }
    api_cache_stats_t st;
    api_cache_stats(c, &st);
    CHECK(st.bytes <= 64 << 10);
    CHECK(st.entries >= 40 && st.entries <= 64);
    CHECK(st.evictions >= 130);
    CHECK(get(c, "key-199", 1, b, sizeof b, ct));
    CHECK(!get(c, "key-1", 1, b, sizeof b, ct));
    CHECK(!get(c, "key-100", 1, b, sizeof b, ct));
    api_cache_free(c);
}

/* Many entries: the table grows and every one is still found. */
static void test_many(void)
{
    api_cache_t *c = NULL;
    REQUIRE(api_cache_new(64 << 20, &c) == ERR_OK);
    char key[32], val[32], b[64], ct[64];
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "q%d", i);
        snprintf(val, sizeof val, "v%d", i * 7);
        api_cache_put(c, key, 9, "application/json", val, strlen(val));
    }
    int found = 0;
    for (int i = 0; i < 5000; i++) {
        snprintf(key, sizeof key, "q%d", i);
        snprintf(val, sizeof val, "v%d", i * 7);
        found += get(c, key, 9, b, sizeof b, ct) && strcmp(b, val) == 0;
    }
    CHECK_INT(5000, found);
    api_cache_free(c);
}

typedef struct worker {
    api_cache_t *c;
    int id;
    int wrong; /* answers that were not the one put under that key */
} worker_t;

static void *hammer(void *arg)
{
    worker_t *w = arg;
    char key[32], want[48], b[64], ct[64];
    for (int i = 0; i < 20000; i++) {
        uint64_t gen = (uint64_t)(i / 1000) + 1;
        int k = (i * 31 + w->id) % 50;
        snprintf(key, sizeof key, "k%d", k);
        snprintf(want, sizeof want, "g%llu-k%d", (unsigned long long)gen, k);
        if (get(w->c, key, gen, b, sizeof b, ct)) {
            if (strcmp(b, want) != 0)
                w->wrong++;
        } else {
            api_cache_put(w->c, key, gen, "text/plain", want, strlen(want));
        }
    }
    return NULL;
}

/* Four threads reading and writing through generations: a hit is always
   the answer of its own key and generation (ASan/TSan-clean). */
static void test_threads(void)
{
    api_cache_t *c = NULL;
    REQUIRE(api_cache_new(16 << 10, &c) == ERR_OK);
    pthread_t t[4];
    worker_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){c, i, 0};
        REQUIRE(pthread_create(&t[i], NULL, hammer, &w[i]) == 0);
    }
    int wrong = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        wrong += w[i].wrong;
    }
    CHECK_INT(0, wrong);
    api_cache_stats_t st;
    api_cache_stats(c, &st);
    CHECK(st.hits > 0 && st.bytes <= 16 << 10);
    api_cache_free(c);
}

int main(void)
{
    RUN(test_generations);
    RUN(test_bounded);
    RUN(test_many);
    RUN(test_threads);
    return test_summary();
}
