/*
 * kpi_arena.c — bump allocator in malloc'd chunks with a hard cap.
 *
 * Layout: a singly linked list of chunks, newest first. Allocation bumps
 * `used` in the head chunk; a request that does not fit opens a new chunk of
 * max(CHUNK_MIN, request). The cap counts bytes handed out (with alignment
 * padding), not bytes malloc'd, so callers can reason about it exactly.
 * reset() keeps only the oldest chunk (the first one allocated), so a reused
 * arena usually needs no malloc at all.
 */
#include "kpi_arena.h"

#include <stdalign.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_MIN ((size_t)64 * 1024)
#define ALIGN ((size_t)alignof(max_align_t))

typedef struct chunk {
    struct chunk *next; /* older chunk */
    size_t size;        /* usable bytes in data[] */
    size_t used;        /* bytes of data[] handed out */
    alignas(max_align_t) unsigned char data[];
} chunk_t;

struct kpi_arena {
    chunk_t *head; /* newest chunk, or NULL */
    size_t cap;    /* bytes that may be handed out in total */
    size_t handed; /* bytes handed out since creation/reset (<= cap) */
};

err_t kpi_arena_new(size_t cap_bytes, kpi_arena_t **out)
{
    kpi_arena_t *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return ERR_NOMEM;
    a->cap = cap_bytes;
    *out = a;
    return ERR_OK;
}

void kpi_arena_free(kpi_arena_t *a)
{
    if (a == NULL)
        return;
    chunk_t *c = a->head;
    while (c != NULL) {
        chunk_t *next = c->next;
        free(c);
        c = next;
    }
    free(a);
}

void kpi_arena_reset(kpi_arena_t *a)
{
    chunk_t *c = a->head;
    while (c != NULL && c->next != NULL) {
        chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = c;
    if (c != NULL)
        c->used = 0;
    a->handed = 0;
}

void *kpi_arena_alloc(kpi_arena_t *a, size_t size)
{
    if (size == 0)
        size = 1;
    if (size > SIZE_MAX - ALIGN)
        return NULL;
    size_t need = (size + ALIGN - 1) & ~(ALIGN - 1);
    if (need > a->cap - a->handed)
        return NULL;
    chunk_t *c = a->head;
    if (c == NULL || c->size - c->used < need) {
        size_t sz = need > CHUNK_MIN ? need : CHUNK_MIN;
        chunk_t *n = malloc(sizeof(*n) + sz);
        if (n == NULL)
            return NULL;
        n->next = c;
        n->size = sz;
        n->used = 0;
        a->head = n;
        c = n;
    }
    void *p = c->data + c->used;
    c->used += need;
    a->handed += need;
    return p;
}

char *kpi_arena_strndup(kpi_arena_t *a, const char *s, size_t len)
{
    if (len == SIZE_MAX)
        return NULL;
    char *p = kpi_arena_alloc(a, len + 1);
    if (p == NULL)
        return NULL;
    if (len > 0)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

size_t kpi_arena_used(const kpi_arena_t *a)
{
    return a->handed;
}
