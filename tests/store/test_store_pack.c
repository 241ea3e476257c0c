/*
 * test_store_pack.c — LEB128 and zigzag varints (store_pack.h): the bytes
 * of the boundary values worked out by hand, lengths at every 7-bit step,
 * round trips, several varints read one after another, and refusal of
 * truncated input and of varints longer than 64 bits (without moving the
 * offset).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "store_pack.h"
#include "test.h"

/* Compare n encoded bytes against the expected ones, naming the label. */
static void check_bytes(const char *label, const uint8_t *want, size_t want_n, const uint8_t *got,
                        size_t got_n)
{
    CHECK_MSG(want_n == got_n, "%s: length %zu, expected %zu", label, got_n, want_n);
    if (want_n == got_n)
        for (size_t i = 0; i < want_n; i++)
            CHECK_MSG(want[i] == got[i], "%s: byte %zu is 0x%02x, expected 0x%02x", label, i,
                      got[i], want[i]);
}

static void test_uvarint_boundaries(void)
{
    static const struct {
        uint64_t v;
        size_t n;
        uint8_t b[PACK_VARINT_MAX];
    } rows[] = {
        {0, 1, {0x00}},
        {1, 1, {0x01}},
        {127, 1, {0x7f}},
        {128, 2, {0x80, 0x01}},
        {129, 2, {0x81, 0x01}},
        {300, 2, {0xac, 0x02}},
        {16383, 2, {0xff, 0x7f}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {(uint64_t)1 << 63, 10, {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}},
        {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "uvarint %llu", (unsigned long long)rows[i].v);
        uint8_t out[PACK_VARINT_MAX + 4];
        memset(out, 0xee, sizeof out);
        size_t n = pack_uvarint(out, rows[i].v);
        check_bytes(label, rows[i].b, rows[i].n, out, n);
        CHECK_MSG(out[n] == 0xee, "%s: wrote past its length", label);
        size_t off = 0;
        uint64_t back = 12345;
        CHECK_MSG(unpack_uvarint(out, n, &off, &back), "%s: not read back", label);
        CHECK_MSG(back == rows[i].v, "%s: read back %llu", label, (unsigned long long)back);
        CHECK_MSG(off == n, "%s: offset %zu, expected %zu", label, off, n);
    }
}

static void test_svarint_boundaries(void)
{
    static const struct {
        int64_t v;
        size_t n;
        uint8_t b[PACK_VARINT_MAX];
    } rows[] = {
        /* zigzag: 0 -> 0, -1 -> 1, 1 -> 2, -2 -> 3, 63 -> 126, -64 -> 127, 64 -> 128 */
        {0, 1, {0x00}},
        {-1, 1, {0x01}},
        {1, 1, {0x02}},
        {-2, 1, {0x03}},
        {63, 1, {0x7e}},
        {-64, 1, {0x7f}},
        {64, 2, {0x80, 0x01}},
        {-65, 2, {0x81, 0x01}},
        {1000, 2, {0xd0, 0x0f}},
        /* INT64_MAX -> 2^64 - 2, INT64_MIN -> 2^64 - 1 */
        {INT64_MAX, 10, {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
        {INT64_MIN, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
        {INT64_MIN + 1, 10, {0xfd, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        char label[64];
        snprintf(label, sizeof label, "svarint %lld", (long long)rows[i].v);
        uint8_t out[PACK_VARINT_MAX + 4];
        memset(out, 0xee, sizeof out);
        size_t n = pack_svarint(out, rows[i].v);
        check_bytes(label, rows[i].b, rows[i].n, out, n);
        CHECK_MSG(out[n] == 0xee, "%s: wrote past its length", label);
        size_t off = 0;
        int64_t back = 12345;
        CHECK_MSG(unpack_svarint(out, n, &off, &back), "%s: not read back", label);
        CHECK_MSG(back == rows[i].v, "%s: read back %lld", label, (long long)back);
        CHECK_MSG(off == n, "%s: offset %zu, expected %zu", label, off, n);
    }
}

/* A value of b significant bits takes ceil(b / 7) bytes (at least one). */
static void test_lengths_at_every_step(void)
{
    for (unsigned bits = 0; bits <= 64; bits++) {
        uint64_t lo = bits == 0 ? 0 : (uint64_t)1 << (bits - 1);
        uint64_t hi = bits == 0 ? 0 : bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
        size_t want = bits == 0 ? 1 : (bits + 6) / 7;
        uint64_t vs[2] = {lo, hi};
        for (int k = 0; k < 2; k++) {
            uint8_t out[PACK_VARINT_MAX];
            size_t n = pack_uvarint(out, vs[k]);
            CHECK_MSG(n == want, "%llu: %zu bytes, expected %zu", (unsigned long long)vs[k], n,
                      want);
            size_t off = 0;
            uint64_t back = 0;
            CHECK(unpack_uvarint(out, n, &off, &back) && back == vs[k] && off == n);
            /* The last byte alone has the high bit clear. */
            for (size_t j = 0; j + 1 < n; j++)
                CHECK(out[j] & 0x80);
            CHECK((out[n - 1] & 0x80) == 0);
        }
    }
}

/* xorshift64*: deterministic pseudo-random values. */
static uint64_t rnd_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 0x2545f4914f6cdd1dull;
}

/* Many values in one buffer, read back one after another. */
static void test_sequence_round_trip(void)
{
    enum { N = 4000 };
    static uint8_t buf[N * PACK_VARINT_MAX];
    static int64_t vals[N];
    size_t n = 0;
    for (int i = 0; i < N; i++) {
        /* Mix magnitudes: shift a random word right by 0..63 bits, random sign. */
        uint64_t r = rnd();
        int64_t v = (int64_t)(r >> (rnd() % 64));
        if (i % 3 == 0)
            v = -v;
        if (i == 10)
            v = INT64_MIN;
        if (i == 11)
            v = INT64_MAX;
        vals[i] = v;
        n += pack_svarint(buf + n, v);
    }
    size_t off = 0;
    int bad = 0;
    for (int i = 0; i < N; i++) {
        int64_t v;
        if (!unpack_svarint(buf, n, &off, &v) || v != vals[i]) {
            if (bad++ < 5)
                CHECK_MSG(0, "value %d: expected %lld", i, (long long)vals[i]);
            break;
        }
    }
    CHECK_INT(0, bad);
    CHECK_INT(n, off);
    /* At the end: nothing more to read, offset unchanged. */
    int64_t v = 7;
    CHECK(!unpack_svarint(buf, n, &off, &v));
    CHECK_INT(n, off);
    CHECK_INT(7, v);
}

/* Every proper prefix of an encoding is refused and the offset stays. */
static void test_truncated_refused(void)
{
    static const uint64_t vs[] = {128, 16384, (uint64_t)1 << 35, UINT64_MAX};
    for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++) {
        uint8_t out[PACK_VARINT_MAX + 1];
        out[0] = 0x05; /* a one-byte varint before it */
        size_t n = 1 + pack_uvarint(out + 1, vs[i]);
        for (size_t len = 1; len < n; len++) {
            size_t off = 1;
            uint64_t z = 99;
            CHECK_MSG(!unpack_uvarint(out, len, &off, &z), "%llu cut to %zu bytes: accepted",
                      (unsigned long long)vs[i], len - 1);
            CHECK_INT(1, off);
            CHECK_INT(99, z);
            int64_t s = 99;
            off = 1;
            CHECK(!unpack_svarint(out, len, &off, &s));
            CHECK_INT(1, off);
            CHECK_INT(99, s);
        }
        /* The byte before it reads fine on its own. */
        size_t off = 0;
        uint64_t z;
        CHECK(unpack_uvarint(out, 1, &off, &z) && z == 5 && off == 1);
    }
    /* Empty input; offset already at the end. */
    uint8_t one = 0;
    size_t off = 0;
    uint64_t z;
    CHECK(!unpack_uvarint(&one, 0, &off, &z));
    off = 1;
    CHECK(!unpack_uvarint(&one, 1, &off, &z));
    CHECK_INT(1, off);
}

/* More than 64 bits: an 11th byte, or a 10th byte with more than the top bit. */
static void test_past_64_bits_refused(void)
{
    uint8_t b[12];
    /* Ten continuation bytes then a terminator: 77 bits. */
    memset(b, 0x80, 10);
    b[10] = 0x00;
    size_t off = 0;
    uint64_t z = 99;
    CHECK(!unpack_uvarint(b, 11, &off, &z));
    CHECK_INT(0, off);
    /* Eleven bytes of 0xff, then 0x01. */
    memset(b, 0xff, 11);
    b[11] = 0x01;
    off = 0;
    CHECK(!unpack_uvarint(b, 12, &off, &z));
    CHECK_INT(0, off);
    /* The longest legal one: nine 0xff then 0x01 = UINT64_MAX. */
    memset(b, 0xff, 9);
    b[9] = 0x01;
    off = 0;
    CHECK(unpack_uvarint(b, 10, &off, &z) && z == UINT64_MAX && off == 10);
    /* A 10th byte of 0x02..0x7f holds bits 64..69: more than 64 bits. */
    int accepted = 0;
    for (unsigned last = 0x02; last <= 0x7f; last++) {
        b[9] = (uint8_t)last;
        off = 0;
        z = 99;
        if (unpack_uvarint(b, 10, &off, &z) && accepted++ == 0)
            CHECK_MSG(0, "ff x9 then 0x%02x (a %u-bit value) accepted as %llu, offset %zu", last,
                      64 + (unsigned)(31 - __builtin_clz(last)), (unsigned long long)z, off);
    }
    CHECK_INT(0, accepted);
}

int main(void)
{
    RUN(test_uvarint_boundaries);
    RUN(test_svarint_boundaries);
    RUN(test_lengths_at_every_step);
    RUN(test_sequence_round_trip);
    RUN(test_truncated_refused);
    RUN(test_past_64_bits_refused);
    return test_summary();
}
