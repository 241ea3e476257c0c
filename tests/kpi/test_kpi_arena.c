/*
 * test_kpi_arena.c — the bump allocator: alignment, cap, reset, big blocks.
 */
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "kpi_arena.h"
#include "test.h"

static void test_alloc_and_cap(void)
{
    kpi_arena_t *a = NULL;
    REQUIRE(kpi_arena_new(1000, &a) == ERR_OK);
    CHECK_INT(0, kpi_arena_used(a));
    char *p = kpi_arena_alloc(a, 3);
    REQUIRE(p != NULL);
    memcpy(p, "ab", 3);
    void *q = kpi_arena_alloc(a, 8);
    REQUIRE(q != NULL);
    CHECK_INT(0, (uintptr_t)q % alignof(max_align_t));
    CHECK(kpi_arena_used(a) >= 11 && kpi_arena_used(a) <= 2 * alignof(max_align_t));
    /* Over the cap: NULL, and smaller requests still work. */
    CHECK(kpi_arena_alloc(a, 2000) == NULL);
    CHECK(kpi_arena_alloc(a, 16) != NULL);
    CHECK_STR("ab", p);
    kpi_arena_free(a);
    kpi_arena_free(NULL);
}

static void test_big_blocks_and_reset(void)
{
    kpi_arena_t *a = NULL;
    REQUIRE(kpi_arena_new(64u << 20, &a) == ERR_OK);
    /* Larger than a chunk; earlier memory stays valid across new chunks. */
    char *s = kpi_arena_strndup(a, "hello world", 5);
    CHECK_STR("hello", s);
    unsigned char *big = kpi_arena_alloc(a, 1u << 20);
    REQUIRE(big != NULL);
    memset(big, 0xab, 1u << 20);
    for (int i = 0; i < 1000; i++)
        REQUIRE(kpi_arena_alloc(a, 1000) != NULL);
    CHECK_STR("hello", s);
    CHECK_INT(0xab, big[(1u << 20) - 1]);
    kpi_arena_reset(a);
    CHECK_INT(0, kpi_arena_used(a));
    char *t = kpi_arena_strndup(a, "", 0);
    CHECK_STR("", t);
    kpi_arena_free(a);
}

int main(void)
{
    RUN(test_alloc_and_cap);
    RUN(test_big_blocks_and_reset);
    return test_summary();
}
