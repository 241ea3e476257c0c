/*
 * fuzz_util.h — what the libFuzzer targets share: a failed property aborts
 * with the reason (libFuzzer then saves the input as a crash artifact), and
 * a small deterministic PRNG that derives chunk sizes from the input itself
 * so every crash replays exactly.
 */
#ifndef KPID_FUZZ_UTIL_H
#define KPID_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond, ...)                                                                      \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz property failed at %s:%d: %s: ", __FILE__, __LINE__, #cond);     \
            fprintf(stderr, __VA_ARGS__);                                                          \
            fputc('\n', stderr);                                                                   \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* splitmix64: a full-period generator; the state is the seed. */
static inline uint64_t fuzz_next(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* FNV-1a over len bytes, folded into *h. */
static inline void fuzz_hash(uint64_t *h, const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++) {
        *h ^= b[i];
        *h *= 0x100000001b3ull;
    }
}

/* One NUL-free line of a message: err_msg_t promises no newline. */
static inline int fuzz_one_line(const char *s)
{
    for (; *s; s++)
        if (*s == '\n' || *s == '\r')
            return 0;
    return 1;
}

#endif
