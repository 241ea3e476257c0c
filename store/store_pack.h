/*
 * store_pack.h — LEB128 varints for packed values. Internal to store/.
 *
 * Unsigned values are LEB128 (7 bits a byte, low first, high bit = more);
 * signed ones are zigzag-mapped first (0, -1, 1, -2 ... -> 0, 1, 2, 3 ...)
 * so that small magnitudes of either sign take one byte. A decoder never
 * reads past the end it is given and refuses more than 64 bits.
 */
#ifndef KPID_STORE_PACK_H
#define KPID_STORE_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACK_VARINT_MAX 10

static inline size_t pack_uvarint(uint8_t *out, uint64_t z)
{
    size_t o = 0;
    while (z >= 0x80) {
        out[o++] = (uint8_t)(z | 0x80);
        z >>= 7;
    }
    out[o++] = (uint8_t)z;
    return o;
}

static inline size_t pack_svarint(uint8_t *out, int64_t v)
{
    return pack_uvarint(out, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* Read one varint at *off (advanced past it); false at the end or past 64 bits. */
static inline bool unpack_uvarint(const uint8_t *p, size_t len, size_t *off, uint64_t *out)
{
    uint64_t z = 0;
    size_t o = *off;
    for (unsigned shift = 0;; shift += 7) {
        if (o >= len || shift > 63)
            return false;
        uint8_t b = p[o++];
        if (shift == 63 && b > 1) /* the tenth byte holds bit 63 only */
            return false;
        z |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
    }
    *off = o;
    *out = z;
    return true;
}

static inline bool unpack_svarint(const uint8_t *p, size_t len, size_t *off, int64_t *out)
{
    uint64_t z;
    if (!unpack_uvarint(p, len, off, &z))
        return false;
    *out = (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
    return true;
}

#endif
