/*
 * kpi_arena.h — a bump allocator with a hard cap.
 *
 * Used for per-request and per-batch memory: many small allocations, freed
 * together once. Every arena has a cap (bytes); an allocation that would
 * exceed it fails with NULL and the arena stays usable for smaller ones.
 * Memory comes from malloc in chunks; nothing is freed before
 * kpi_arena_free() or kpi_arena_reset().
 */
#ifndef KPID_KPI_ARENA_H
#define KPID_KPI_ARENA_H

#include <stddef.h>

#include "err.h"

typedef struct kpi_arena kpi_arena_t;

/* New arena that will hand out at most cap_bytes in total. Free with kpi_arena_free(). */
err_t kpi_arena_new(size_t cap_bytes, kpi_arena_t **out) KPID_MUST_USE;
/* Release all memory. NULL is a no-op. */
void kpi_arena_free(kpi_arena_t *a);
/* Forget all allocations but keep the first chunk for reuse. */
void kpi_arena_reset(kpi_arena_t *a);
/* size bytes aligned for any type, or NULL (cap reached or malloc failed). Owned by the arena. */
void *kpi_arena_alloc(kpi_arena_t *a, size_t size);
/* NUL-terminated copy of len bytes of s, or NULL. Owned by the arena. */
char *kpi_arena_strndup(kpi_arena_t *a, const char *s, size_t len);
/* Bytes handed out so far (for caps and progress). */
size_t kpi_arena_used(const kpi_arena_t *a);

#endif
