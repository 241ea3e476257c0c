/*
 * test_store_docset.c — a write batch's documents (store_docset.h): the
 * `docs` value codec (one value's bytes worked out by hand, random records
 * with extreme values round-tripped, damaged values refused), loading the
 * noted keys, reading an unnoted key on demand, the flush writing exactly
 * the dirty slots (and deleting a document left with nothing), slot
 * pointers that survive table growth, and a set reused batch after batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "store_docset.h"
#include "store_pack.h"
#include "lmdb_test.h"
#include "test.h"

typedef struct env {
    lmdb_dir_t ld;
    MDB_env *env;
    MDB_dbi docs;
} env_t;

static void env_open(env_t *e)
{
    memset(e, 0, sizeof *e);
    lmdb_dir_open(&e->ld, "docset", 4);
    e->env = e->ld.env;
    e->docs = lmdb_dir_db(&e->ld, "docs", 0);
}

static void env_close(env_t *e)
{
    lmdb_dir_close(&e->ld);
}

/* A docs key: the kind byte, then the number (as store_doc_key lays it out). */
static size_t mkkey(uint8_t *k, uint8_t kind, const char *number)
{
    size_t n = strlen(number);
    k[0] = kind;
    memcpy(k + 1, number, n);
    return 1 + n;
}

static doc_rec_t unknown_of(uint8_t kind)
{
    doc_rec_t d;
    store_doc_init(&d, kind);
    return d;
}

/* Field-by-field equality, naming the first field that differs. */
static const char *rec_diff(const doc_rec_t *a, const doc_rec_t *b)
{
#define F_(f)                                                                                      \
    if (a->f != b->f)                                                                              \
        return #f;
    F_(kind) F_(exists) F_(first_review) F_(party) F_(unit) F_(ref) F_(reviews) F_(corrections);
    F_(rejections) F_(escalations) F_(pending_events) F_(created_seq) F_(first_review_s);
    F_(created_day) F_(due_day) F_(closed_day) F_(amount) F_(adjusted) F_(applied);
    F_(credited) F_(written_off) F_(refunded) F_(paid) F_(held);
#undef F_
    if (memcmp(a->currency, b->currency, sizeof a->currency) != 0)
        return "currency";
    if (memcmp(a, b, sizeof *a) != 0)
        return "(padding)";
    return NULL;
}

#define CHECK_REC(want, got)                                                                       \
    do {                                                                                           \
        const char *d_ = rec_diff((want), (got));                                                  \
        CHECK_MSG(d_ == NULL, "records differ in %s", d_ ? d_ : "");                               \
    } while (0)

/* Put an encoded value straight into LMDB. */
static void put_value(MDB_txn *txn, MDB_dbi dbi, const uint8_t *k, size_t kn, const doc_rec_t *rec,
                      const char *st)
{
    uint8_t buf[512];
    size_t sl = st ? strlen(st) : 0;
    REQUIRE(docv_size_max(sl) <= sizeof buf);
    MDB_val kv = {kn, (void *)k}, dv = {docv_encode(rec, (const uint8_t *)st, sl, buf), buf};
    REQUIRE(mdb_put(txn, dbi, &kv, &dv, 0) == 0);
}

static void put_raw(MDB_txn *txn, MDB_dbi dbi, const uint8_t *k, size_t kn, const void *v,
                    size_t vn)
{
    MDB_val kv = {kn, (void *)k}, dv = {vn, (void *)v};
    REQUIRE(mdb_put(txn, dbi, &kv, &dv, 0) == 0);
}

/* The stored value of k decoded: 0, MDB_NOTFOUND, or -1 when damaged. */
static int get_decoded(MDB_txn *txn, MDB_dbi dbi, const uint8_t *k, size_t kn, doc_rec_t *rec,
                       bool *has, char *st, size_t st_cap)
{
    MDB_val kv = {kn, (void *)k}, dv;
    int rc = mdb_get(txn, dbi, &kv, &dv);
    if (rc)
        return rc;
    const uint8_t *sp;
    size_t sn;
    if (!docv_decode(dv.mv_data, dv.mv_size, rec, has, &sp, &sn))
        return -1;
    snprintf(st, st_cap, "%.*s", (int)sn, sp ? (const char *)sp : "");
    return 0;
}

/* ---- the codec ----------------------------------------------------------------- */

/* One value's bytes, worked out from the layout in store_docset.h. */
static void test_codec_known_bytes(void)
{
    doc_rec_t r = unknown_of(0);
    r.kind = 1;
    r.exists = 1;
    r.amount = 1000;
    memcpy(r.currency, "USD", 4);
    uint8_t buf[256];
    REQUIRE(docv_size_max(2) <= sizeof buf);
    size_t n = docv_encode(&r, (const uint8_t *)"xy", 2, buf);
    /* flags REC|STATE; mask = kind(0) | exists(1) | amount(16) | currency(24)
       = 0x1010003 -> 83 80 84 08; kind 1 -> zigzag 2; exists 1 -> 2;
       amount 1000 -> zigzag 2000 -> d0 0f; "USD"; "xy". */
    static const uint8_t want[] = {0x03, 0x83, 0x80, 0x84, 0x08, 0x02, 0x02,
                                   0xd0, 0x0f, 'U',  'S',  'D',  'x',  'y'};
    CHECK_INT(sizeof want, n);
    CHECK(n == sizeof want && memcmp(buf, want, n) == 0);
    doc_rec_t back;
    bool has = false;
    const uint8_t *st = NULL;
    size_t sl = 0;
    CHECK(docv_decode(buf, n, &back, &has, &st, &sl));
    CHECK(has);
    CHECK_REC(&r, &back);
    CHECK_INT(2, sl);
    CHECK(st == buf + 12);

    /* An unknown document of kind 0: an empty mask, no state. */
    doc_rec_t u = unknown_of(0);
    n = docv_encode(&u, NULL, 0, buf);
    CHECK_INT(2, n);
    CHECK_INT(DOCV_REC, buf[0]);
    CHECK_INT(0, buf[1]);
    CHECK(docv_decode(buf, n, &back, &has, &st, &sl));
    CHECK(has);
    CHECK_REC(&u, &back);
    CHECK(st == NULL);
    CHECK_INT(0, sl);
    /* The sentinels are the defaults: an unknown of kind 5 costs one field. */
    doc_rec_t u5 = unknown_of(5);
    CHECK_INT(INT32_MIN, u5.due_day);
    CHECK_INT(INT32_MIN, u5.closed_day);
    CHECK(u5.first_review_s == INT64_MAX);
    n = docv_encode(&u5, NULL, 0, buf);
    static const uint8_t want5[] = {DOCV_REC, 0x01, 0x0a};
    CHECK(n == sizeof want5 && memcmp(buf, want5, n) == 0);

    /* No record, state only: the flags byte then the state. */
    n = docv_encode(NULL, (const uint8_t *)"abc", 3, buf);
    CHECK(n == 4 && buf[0] == DOCV_STATE && memcmp(buf + 1, "abc", 3) == 0);
    r.amount = 42; /* overwritten by the decode */
    CHECK(docv_decode(buf, n, &r, &has, &st, &sl));
    CHECK(!has);
    doc_rec_t u0 = unknown_of(0);
    CHECK_REC(&u0, &r);
    CHECK(sl == 3 && st == buf + 1);
    /* Neither: one zero byte. */
    n = docv_encode(NULL, NULL, 0, buf);
    CHECK(n == 1 && buf[0] == 0);
    has = true;
    CHECK(docv_decode(buf, n, &r, &has, &st, &sl));
    CHECK(!has && st == NULL && sl == 0);
    /* st may be NULL (a reader of the record only). */
    n = docv_encode(&u5, (const uint8_t *)"s", 1, buf);
    CHECK(docv_decode(buf, n, &r, &has, NULL, NULL));
    CHECK(has);
    CHECK_REC(&u5, &r);
}

static uint64_t rnd_state = 0x243f6a8885a308d3ull;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state >> 12;
    rnd_state ^= rnd_state << 25;
    rnd_state ^= rnd_state >> 27;
    return rnd_state * 0x2545f4914f6cdd1dull;
}

/* A random int64: often an extreme, often small, else any magnitude. */
static int64_t r64(void)
{
    switch (rnd() % 8) {
    case 0: return INT64_MIN;
    case 1: return INT64_MAX;
    case 2: return 0;
    case 3: return (int64_t)(rnd() % 200) - 100;
    case 4: return INT64_MIN + (int64_t)(rnd() % 3);
    case 5: return INT64_MAX - (int64_t)(rnd() % 3);
    default: return (int64_t)(rnd() >> (rnd() % 64)) * ((rnd() & 1) ? -1 : 1);
    }
}

static int32_t r32(void)
{
    switch (rnd() % 6) {
    case 0: return INT32_MIN;
    case 1: return INT32_MAX;
    case 2: return 0;
    case 3: return INT32_MIN + 1;
    default: return (int32_t)(uint32_t)rnd();
    }
}

static uint32_t ru32(void)
{
    switch (rnd() % 4) {
    case 0: return UINT32_MAX;
    case 1: return 0;
    default: return (uint32_t)rnd();
    }
}

static doc_rec_t random_rec(void)
{
    doc_rec_t d = unknown_of((uint8_t)rnd());
    /* Each field either stays at its unknown value or takes a random one. */
    if (rnd() & 1)
        d.exists = 1;
    if (rnd() & 1)
        d.first_review = (uint8_t)rnd();
    if (rnd() % 3) {
        static const char *const cur[] = {"USD", "EUR", "JPY", "KWD"};
        memcpy(d.currency, cur[rnd() % 4], 4);
    }
#define U_(f)                                                                                      \
    if (rnd() & 1)                                                                                 \
        d.f = ru32();
    U_(party) U_(unit) U_(ref) U_(reviews) U_(corrections) U_(rejections) U_(escalations);
    U_(pending_events);
#undef U_
    if (rnd() & 1)
        d.created_seq = (rnd() & 1) ? UINT64_MAX : rnd();
    if (rnd() & 1)
        d.first_review_s = r64();
    if (rnd() & 1)
        d.created_day = r32();
    if (rnd() & 1)
        d.due_day = r32();
    if (rnd() & 1)
        d.closed_day = r32();
#define S_(f)                                                                                      \
    if (rnd() & 1)                                                                                 \
        d.f = r64();
    S_(amount) S_(adjusted) S_(applied) S_(credited) S_(written_off) S_(refunded) S_(paid);
    S_(held);
#undef S_
    return d;
}

static void test_codec_random_round_trip(void)
{
    enum { N = 20000 };
    uint8_t st[300], buf[1024];
    REQUIRE(docv_size_max(sizeof st) <= sizeof buf);
    int bad = 0;
    for (int i = 0; i < N && bad < 5; i++) {
        doc_rec_t d = random_rec();
        if (i == 0) { /* every field at an extreme at once: the longest record */
            d = unknown_of(255);
            d.exists = 1;
            d.first_review = 255;
            memcpy(d.currency, "XXX", 4);
            d.party = d.unit = d.ref = d.reviews = d.corrections = d.rejections = d.escalations =
                d.pending_events = UINT32_MAX;
            d.created_seq = UINT64_MAX;
            d.first_review_s = INT64_MIN;
            d.created_day = INT32_MAX;
            d.due_day = INT32_MAX;
            d.closed_day = INT32_MIN + 1;
            d.amount = d.adjusted = d.applied = d.credited = INT64_MIN;
            d.written_off = d.refunded = d.paid = d.held = INT64_MAX;
        }
        bool with_rec = i == 0 || rnd() % 5 != 0;
        size_t sl = i == 0 ? sizeof st : (rnd() & 1) ? 0 : 1 + rnd() % sizeof st;
        for (size_t j = 0; j < sl; j++)
            st[j] = (uint8_t)rnd();
        size_t n = docv_encode(with_rec ? &d : NULL, st, sl, buf);
        if (n > docv_size_max(sl)) {
            CHECK_MSG(0, "record %d: %zu bytes, more than docv_size_max %zu", i, n,
                      docv_size_max(sl));
            bad++;
            continue;
        }
        doc_rec_t back;
        memset(&back, 0x5a, sizeof back);
        bool has = !with_rec;
        const uint8_t *sp = (const uint8_t *)"junk";
        size_t sn = 12345;
        if (!docv_decode(buf, n, &back, &has, &sp, &sn)) {
            CHECK_MSG(0, "record %d (rec %d, state %zu bytes): refused", i, with_rec, sl);
            bad++;
            continue;
        }
        doc_rec_t want = with_rec ? d : unknown_of(0);
        const char *diff = rec_diff(&want, &back);
        if (diff != NULL || has != with_rec || sn != sl ||
            (sl > 0 ? (sp != buf + n - sl || memcmp(sp, st, sl) != 0) : sp != NULL)) {
            CHECK_MSG(0, "record %d: differs (%s, has %d, state %zu bytes)", i, diff ? diff : "-",
                      has, sn);
            bad++;
        }
        /* Cut anywhere before the state (or right at its start, when it
           has one: the flag then promises bytes that are not there), the
           value is refused. A cut inside the state is a shorter state. */
        size_t head = n - sl;
        for (size_t cut = 0; cut < head + (sl > 0); cut++)
            if (docv_decode(buf, cut, &back, &has, &sp, &sn)) {
                CHECK_MSG(0, "record %d cut to %zu of %zu bytes: accepted", i, cut, n);
                bad++;
                break;
            }
    }
    CHECK_INT(0, bad);
}

/* Values that are not a docs value. */
static void test_codec_refuses_damage(void)
{
    doc_rec_t r = unknown_of(1);
    r.exists = 1;
    r.amount = -5;
    memcpy(r.currency, "EUR", 4);
    uint8_t good[128];
    size_t n = docv_encode(&r, (const uint8_t *)"st", 2, good);
    doc_rec_t out;
    bool has;
    const uint8_t *st;
    size_t sl;
    REQUIRE(docv_decode(good, n, &out, &has, &st, &sl));

    uint8_t b[160];
    /* Empty. */
    CHECK(!docv_decode(b, 0, &out, &has, &st, &sl));
    /* Unknown flag bits. */
    for (unsigned f = 4; f < 256; f <<= 1) {
        memcpy(b, good, n);
        b[0] = (uint8_t)(b[0] | f);
        CHECK_MSG(!docv_decode(b, n, &out, &has, &st, &sl), "flag 0x%02x accepted", f);
    }
    /* The state flag with no state bytes. */
    n = docv_encode(&r, NULL, 0, b);
    b[0] |= DOCV_STATE;
    CHECK(!docv_decode(b, n, &out, &has, &st, &sl));
    b[0] = DOCV_STATE;
    CHECK(!docv_decode(b, 1, &out, &has, &st, &sl));
    /* Trailing bytes without the state flag. */
    n = docv_encode(&r, NULL, 0, b);
    b[n] = 0;
    CHECK(docv_decode(b, n, &out, &has, &st, &sl));
    CHECK(!docv_decode(b, n + 1, &out, &has, &st, &sl));
    b[0] = 0;
    b[1] = 'x';
    CHECK(!docv_decode(b, 2, &out, &has, &st, &sl)); /* no record, no state flag, a byte */
    /* The record flag with nothing after it. */
    b[0] = DOCV_REC;
    CHECK(!docv_decode(b, 1, &out, &has, &st, &sl));
    /* A mask with a bit past the currency's (bit 24): bit 25 alone. */
    uint8_t m25[] = {DOCV_REC, 0x80, 0x80, 0x80, 0x10};
    CHECK(!docv_decode(m25, sizeof m25, &out, &has, &st, &sl));
    /* The highest legal mask (every field and the currency, 25 bits), each
       field 0: accepted, and read as exactly that. */
    size_t o = 0;
    uint8_t mx[64];
    mx[o++] = DOCV_REC;
    o += pack_uvarint(mx + o, ((uint64_t)1 << 25) - 1);
    for (int i = 0; i < 24; i++)
        mx[o++] = 0;
    memcpy(mx + o, "GBP", 3);
    o += 3;
    CHECK(docv_decode(mx, o, &out, &has, &st, &sl));
    doc_rec_t z;
    memset(&z, 0, sizeof z);
    memcpy(z.currency, "GBP", 4);
    CHECK(has);
    CHECK_REC(&z, &out);
    /* ... one byte short of its currency, or cut inside the fields. */
    CHECK(!docv_decode(mx, o - 1, &out, &has, &st, &sl));
    CHECK(!docv_decode(mx, o - 3, &out, &has, &st, &sl));
    CHECK(!docv_decode(mx, o - 4, &out, &has, &st, &sl));
    /* A mask varint that ends early. */
    CHECK(!docv_decode(mx, 3, &out, &has, &st, &sl));

    /* One field each, set to a value its type cannot hold: refused; to the
       type's limit: accepted. Bits: kind 0, exists 1, first_review 2,
       party 3 ... pending 10, created_day 13, due_day 14, closed_day 15. */
    static const struct {
        int bit;
        int64_t bad, good;
    } fld[] = {
        {0, 256, 255},
        {0, -1, 0},
        {1, 2, 1},
        {1, -1, 0},
        {2, 256, 255},
        {3, (int64_t)UINT32_MAX + 1, UINT32_MAX},
        {3, -1, 0},
        {5, (int64_t)UINT32_MAX + 1, UINT32_MAX},
        {10, (int64_t)UINT32_MAX + 1, UINT32_MAX},
        {10, INT64_MIN, 1},
        {13, (int64_t)INT32_MAX + 1, INT32_MAX},
        {14, (int64_t)INT32_MIN - 1, INT32_MIN},
        {15, INT64_MAX, INT32_MIN},
    };
    for (size_t i = 0; i < sizeof fld / sizeof fld[0]; i++) {
        for (int k = 0; k < 2; k++) {
            o = 0;
            b[o++] = DOCV_REC;
            o += pack_uvarint(b + o, (uint64_t)1 << fld[i].bit);
            o += pack_svarint(b + o, k ? fld[i].good : fld[i].bad);
            bool ok = docv_decode(b, o, &out, &has, &st, &sl);
            CHECK_MSG(ok == (k == 1), "field bit %d = %lld: %s", fld[i].bit,
                      (long long)(k ? fld[i].good : fld[i].bad), ok ? "accepted" : "refused");
        }
    }
    /* A field varint past 64 bits (a tenth byte above 1) is damage. */
    o = 0;
    b[o++] = DOCV_REC;
    o += pack_uvarint(b + o, (uint64_t)1 << 16); /* amount */
    memset(b + o, 0xff, 9);
    o += 9;
    b[o++] = 0x01; /* zigzag 2^64 - 1: INT64_MIN */
    CHECK(docv_decode(b, o, &out, &has, &st, &sl));
    CHECK(out.amount == INT64_MIN);
    b[o - 1] = 0x02;
    CHECK(!docv_decode(b, o, &out, &has, &st, &sl));
    /* A good limit lands in its field. */
    o = 0;
    b[o++] = DOCV_REC;
    o += pack_uvarint(b + o, ((uint64_t)1 << 3) | ((uint64_t)1 << 14) | ((uint64_t)1 << 11));
    o += pack_svarint(b + o, UINT32_MAX);
    o += pack_svarint(b + o, -1); /* created_seq: stored as int64, read as uint64 */
    o += pack_svarint(b + o, INT32_MIN);
    CHECK(docv_decode(b, o, &out, &has, &st, &sl));
    CHECK_INT(UINT32_MAX, out.party);
    CHECK(out.created_seq == UINT64_MAX);
    CHECK_INT(INT32_MIN, out.due_day);
    CHECK_INT(INT32_MIN, out.closed_day); /* untouched: the unknown's */
    CHECK(out.first_review_s == INT64_MAX);
}

/* ---- the set in a transaction ---------------------------------------------------- */

static void slot_ok(docset_t *ds, const uint8_t *k, size_t kn, docslot_t **sl)
{
    *sl = NULL;
    CHECK_INT(0, docset_slot(ds, k, kn, sl));
    REQUIRE(*sl != NULL);
}

static bool st_is(const docslot_t *sl, const char *s)
{
    size_t n = strlen(s);
    return sl->st_len == n && (n == 0 || memcmp(sl->st, s, n) == 0);
}

static void test_load_and_on_demand(void)
{
    env_t e;
    env_open(&e);
    uint8_t kA[16], kAB[16], kB[16], kC[16], kD[16], kE[16], kF[16];
    size_t nA = mkkey(kA, 1, "A"), nAB = mkkey(kAB, 1, "AB"), nB = mkkey(kB, 1, "B"),
           nC = mkkey(kC, 3, "C"), nD = mkkey(kD, 2, "D"), nE = mkkey(kE, 1, "E"),
           nF = mkkey(kF, 1, "F");
    doc_rec_t rA = unknown_of(1), rAB = unknown_of(1), rC = unknown_of(3), rE = unknown_of(1);
    rA.exists = 1;
    rA.amount = 100;
    memcpy(rA.currency, "USD", 4);
    rAB.amount = -7;
    rC.paid = INT64_MAX;
    rC.due_day = 19000;
    rE.held = 9;
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    put_value(txn, e.docs, kA, nA, &rA, "sa");
    put_value(txn, e.docs, kAB, nAB, &rAB, NULL);
    put_value(txn, e.docs, kB, nB, NULL, "sb");
    put_value(txn, e.docs, kC, nC, &rC, NULL);
    put_raw(txn, e.docs, kF, nF, "\x09zz", 3); /* unknown flag bit 8 */
    REQUIRE(mdb_txn_commit(txn) == 0);

    docset_t *ds = docset_new();
    REQUIRE(ds != NULL);
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    CHECK(!docset_attached(ds, txn));
    docset_begin(ds, txn, e.docs);
    CHECK(docset_attached(ds, txn));
    CHECK(!docset_attached(NULL, txn));
    CHECK_INT(0, docset_want(ds, kD, nD));
    CHECK_INT(0, docset_want(ds, kB, nB));
    CHECK_INT(0, docset_want(ds, kA, nA));
    CHECK_INT(0, docset_want(ds, kA, nA)); /* twice: one slot */
    CHECK_INT(0, docset_load(ds));
    CHECK_INT(0, docset_load(ds)); /* nothing left to load */
    /* Changed in LMDB after the load: the set keeps what it loaded; E was
       never noted, so it is read when asked for. */
    doc_rec_t other = unknown_of(1);
    other.amount = 999;
    put_value(txn, e.docs, kA, nA, &other, "zz");
    put_value(txn, e.docs, kE, nE, &rE, "se");

    docslot_t *a, *ab, *b, *c, *d, *x, *y;
    slot_ok(ds, kA, nA, &a);
    CHECK(a->loaded && a->has_rec && !a->dirty);
    CHECK_REC(&rA, &a->rec);
    CHECK(st_is(a, "sa"));
    CHECK(a->klen == nA && memcmp(a->key, kA, nA) == 0);
    slot_ok(ds, kB, nB, &b);
    CHECK(b->loaded && !b->has_rec && !b->dirty);
    doc_rec_t u1 = unknown_of(1);
    CHECK_REC(&u1, &b->rec); /* an unknown document of the key's kind */
    CHECK(st_is(b, "sb"));
    slot_ok(ds, kD, nD, &d);
    CHECK(d->loaded && !d->has_rec && d->st_len == 0);
    doc_rec_t u2 = unknown_of(2);
    CHECK_REC(&u2, &d->rec);
    slot_ok(ds, kE, nE, &x);
    CHECK(x->loaded && x->has_rec);
    CHECK_REC(&rE, &x->rec);
    CHECK(st_is(x, "se"));
    slot_ok(ds, kC, nC, &c); /* stored before, never noted */
    CHECK(c->has_rec);
    CHECK_REC(&rC, &c->rec);
    CHECK(st_is(c, ""));

    /* The two most recent and the rest: always the same slot per key, also
       for a key that is a prefix of another. */
    slot_ok(ds, kA, nA, &x);
    slot_ok(ds, kAB, nAB, &ab);
    CHECK(ab != a);
    CHECK(ab->has_rec);
    CHECK_REC(&rAB, &ab->rec);
    for (int i = 0; i < 6; i++) {
        slot_ok(ds, kA, nA, &x);
        CHECK(x == a);
        slot_ok(ds, kAB, nAB, &y);
        CHECK(y == ab);
        if (i % 2) {
            slot_ok(ds, kC, nC, &y);
            CHECK(y == c);
            slot_ok(ds, kB, nB, &y);
            CHECK(y == b);
        }
    }
    slot_ok(ds, kD, nD, &x);
    CHECK(x == d);

    /* A damaged value. */
    x = NULL;
    CHECK_INT(MDB_CORRUPTED, docset_slot(ds, kF, nF, &x));
    docset_end(ds);
    CHECK(!docset_attached(ds, txn));
    mdb_txn_abort(txn);

    /* ... also when loading. */
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    docset_begin(ds, txn, e.docs);
    CHECK_INT(0, docset_want(ds, kA, nA));
    CHECK_INT(0, docset_want(ds, kF, nF));
    CHECK_INT(MDB_CORRUPTED, docset_load(ds));
    docset_end(ds);
    mdb_txn_abort(txn);
    docset_free(ds);
    docset_free(NULL);
    env_close(&e);
}

static void test_flush_writes_dirty_only(void)
{
    env_t e;
    env_open(&e);
    uint8_t k[10][16];
    size_t kn[10];
    static const char *const names[10] = {"K1", "K2", "K3",  "K4", "K5",
                                          "K6", "K0", "K15", "K9", "K7"};
    for (int i = 0; i < 10; i++)
        kn[i] = mkkey(k[i], 1, names[i]);
    enum { K1, K2, K3, K4, K5, K6, N0, N15, N9, K7 };
    doc_rec_t r[6];
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    for (int i = K1; i <= K5; i++) {
        r[i] = unknown_of(1);
        r[i].exists = 1;
        r[i].amount = 1000 * (i + 1);
        char st[8];
        snprintf(st, sizeof st, "s%d", i + 1);
        put_value(txn, e.docs, k[i], kn[i], &r[i], st);
    }
    put_value(txn, e.docs, k[K6], kn[K6], NULL, "s6");
    put_value(txn, e.docs, k[K7], kn[K7], &r[K1], "s7");
    REQUIRE(mdb_txn_commit(txn) == 0);

    docset_t *ds = docset_new();
    REQUIRE(ds != NULL);
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    docset_begin(ds, txn, e.docs);
    for (int i = 9; i >= 0; i--)
        CHECK_INT(0, docset_want(ds, k[i], kn[i]));
    CHECK_INT(0, docset_load(ds));
    /* Markers written behind the set's back: a slot not dirty is not
       written, so they survive the flush. */
    doc_rec_t mark = unknown_of(1);
    mark.amount = 777;
    put_value(txn, e.docs, k[K2], kn[K2], &mark, "m");
    put_value(txn, e.docs, k[K4], kn[K4], &mark, "m");
    put_value(txn, e.docs, k[K7], kn[K7], &mark, "m");

    docslot_t *sl;
    slot_ok(ds, k[K1], kn[K1], &sl); /* the record changed, as store_write does */
    sl->rec.amount += 5;
    sl->dirty = true;
    slot_ok(ds, k[K2], kn[K2], &sl); /* asked for, not changed */
    slot_ok(ds, k[K3], kn[K3], &sl);
    CHECK_INT(0, docset_set_state(ds, sl, (const uint8_t *)"new3", 4));
    CHECK(sl->dirty && st_is(sl, "new3"));
    slot_ok(ds, k[K5], kn[K5], &sl); /* the state emptied: the record stays */
    CHECK_INT(0, docset_set_state(ds, sl, NULL, 0));
    slot_ok(ds, k[K6], kn[K6], &sl); /* no record, state emptied: deleted */
    CHECK_INT(0, docset_set_state(ds, sl, NULL, 0));
    slot_ok(ds, k[N0], kn[N0], &sl); /* new and empty: nothing to write */
    CHECK_INT(0, docset_set_state(ds, sl, NULL, 0));
    slot_ok(ds, k[N15], kn[N15], &sl); /* new, between K1 and K2 */
    CHECK(!sl->has_rec);
    sl->rec.exists = 1;
    sl->rec.amount = 15;
    sl->has_rec = true;
    sl->dirty = true;
    slot_ok(ds, k[N9], kn[N9], &sl); /* new, past the end */
    CHECK_INT(0, docset_set_state(ds, sl, (const uint8_t *)"n9", 2));
    /* A key never noted nor asked for, made dirty: also written. */
    uint8_t kz[16];
    size_t nz = mkkey(kz, 2, "Z");
    slot_ok(ds, kz, nz, &sl);
    CHECK_INT(0, docset_set_state(ds, sl, (const uint8_t *)"zst", 3));

    CHECK_INT(0, docset_flush(ds));
    slot_ok(ds, k[K1], kn[K1], &sl);
    CHECK(!sl->dirty);
    slot_ok(ds, kz, nz, &sl);
    CHECK(!sl->dirty);
    /* K1 as the flush wrote it: amount + 5, its state kept. */
    doc_rec_t got;
    bool has;
    char st[32];
    doc_rec_t w1 = r[K1];
    w1.amount += 5;
    CHECK_INT(0, get_decoded(txn, e.docs, k[K1], kn[K1], &got, &has, st, sizeof st));
    CHECK(has);
    CHECK_REC(&w1, &got);
    CHECK_STR("s1", st);
    /* A second flush has nothing to write. */
    put_value(txn, e.docs, k[K1], kn[K1], &mark, "m1");
    CHECK_INT(0, docset_flush(ds));
    docset_end(ds);
    REQUIRE(mdb_txn_commit(txn) == 0);

    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    CHECK_INT(0, get_decoded(txn, e.docs, k[K1], kn[K1], &got, &has, st, sizeof st));
    CHECK(has && got.amount == 777 && strcmp(st, "m1") == 0);
    CHECK_INT(0, get_decoded(txn, e.docs, k[K2], kn[K2], &got, &has, st, sizeof st));
    CHECK(has && got.amount == 777 && strcmp(st, "m") == 0);
    CHECK_INT(0, get_decoded(txn, e.docs, k[K3], kn[K3], &got, &has, st, sizeof st));
    CHECK(has);
    CHECK_REC(&r[K3], &got);
    CHECK_STR("new3", st);
    CHECK_INT(0, get_decoded(txn, e.docs, k[K4], kn[K4], &got, &has, st, sizeof st));
    CHECK(has && got.amount == 777 && strcmp(st, "m") == 0);
    CHECK_INT(0, get_decoded(txn, e.docs, k[K5], kn[K5], &got, &has, st, sizeof st));
    CHECK(has);
    CHECK_REC(&r[K5], &got);
    CHECK_STR("", st);
    CHECK_INT(MDB_NOTFOUND, get_decoded(txn, e.docs, k[K6], kn[K6], &got, &has, st, sizeof st));
    CHECK_INT(0, get_decoded(txn, e.docs, k[K7], kn[K7], &got, &has, st, sizeof st));
    CHECK(has && got.amount == 777 && strcmp(st, "m") == 0);
    CHECK_INT(MDB_NOTFOUND, get_decoded(txn, e.docs, k[N0], kn[N0], &got, &has, st, sizeof st));
    CHECK_INT(0, get_decoded(txn, e.docs, k[N15], kn[N15], &got, &has, st, sizeof st));
    doc_rec_t w15 = unknown_of(1);
    w15.exists = 1;
    w15.amount = 15;
    CHECK(has);
    CHECK_REC(&w15, &got);
    CHECK_STR("", st);
    CHECK_INT(0, get_decoded(txn, e.docs, k[N9], kn[N9], &got, &has, st, sizeof st));
    CHECK(!has);
    CHECK_STR("n9", st);
    CHECK_INT(0, get_decoded(txn, e.docs, kz, nz, &got, &has, st, sizeof st));
    CHECK(!has);
    CHECK_STR("zst", st);
    /* K1..K5, K7, K15, K9, Z. */
    MDB_stat ms;
    REQUIRE(mdb_stat(txn, e.docs, &ms) == 0);
    CHECK_INT(9, ms.ms_entries);
    mdb_txn_abort(txn);
    docset_free(ds);
    env_close(&e);
}

/* A committed document changed in one field: the rest of its record and
   its state come back as they were. */
static void test_flush_keeps_unchanged_parts(void)
{
    env_t e;
    env_open(&e);
    uint8_t k[16];
    size_t kn = mkkey(k, 1, "INV-1");
    doc_rec_t r = unknown_of(1);
    r.exists = 1;
    r.amount = 1000;
    r.due_day = 20000;
    memcpy(r.currency, "JPY", 4);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    put_value(txn, e.docs, k, kn, &r, "state-bytes");
    REQUIRE(mdb_txn_commit(txn) == 0);
    docset_t *ds = docset_new();
    REQUIRE(ds != NULL);
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    docset_begin(ds, txn, e.docs);
    docslot_t *sl;
    slot_ok(ds, k, kn, &sl);
    sl->rec.applied = -3;
    sl->dirty = true;
    CHECK_INT(0, docset_flush(ds));
    docset_end(ds);
    REQUIRE(mdb_txn_commit(txn) == 0);
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    doc_rec_t got, want = r;
    want.applied = -3;
    bool has;
    char st[32];
    CHECK_INT(0, get_decoded(txn, e.docs, k, kn, &got, &has, st, sizeof st));
    CHECK(has);
    CHECK_REC(&want, &got);
    CHECK_STR("state-bytes", st);
    mdb_txn_abort(txn);
    docset_free(ds);
    env_close(&e);
}

static size_t num_key(uint8_t *k, int i)
{
    char num[16];
    snprintf(num, sizeof num, "D%06d", i);
    return mkkey(k, 1, num);
}

/* Flushes into an empty database (appended), then around and past the
   existing keys; keys noted in a scrambled order. */
static void test_flush_in_key_order(void)
{
    env_t e;
    env_open(&e);
    enum { N = 3000 };
    docset_t *ds = docset_new();
    REQUIRE(ds != NULL);
    for (int round = 0; round < 2; round++) {
        MDB_txn *txn;
        REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
        docset_begin(ds, txn, e.docs);
        /* Round 0: the even numbers; round 1: the odd ones (between the
           stored keys) and 2N..2N+100 (past them). */
        int made = 0;
        for (int i = 0; i < N + 100; i++) {
            int j = (int)(((long long)i * 7919) % (N + 100));
            int num = round == 0 ? 2 * j : j < N ? 2 * j + 1 : N + j;
            if (round == 0 && j >= N)
                continue;
            uint8_t k[16];
            size_t kn = num_key(k, num);
            CHECK_INT(0, docset_want(ds, k, kn));
        }
        CHECK_INT(0, docset_load(ds));
        for (int i = 0; i < N + 100; i++) {
            int num = round == 0 ? 2 * i : i < N ? 2 * i + 1 : N + i;
            if (round == 0 && i >= N)
                continue;
            uint8_t k[16];
            size_t kn = num_key(k, num);
            docslot_t *sl;
            slot_ok(ds, k, kn, &sl);
            CHECK(!sl->has_rec);
            char st[16];
            int sn = snprintf(st, sizeof st, "v%d", num);
            CHECK_INT(0, docset_set_state(ds, sl, (const uint8_t *)st, (size_t)sn));
            made++;
        }
        CHECK_INT(0, docset_flush(ds));
        docset_end(ds);
        REQUIRE(mdb_txn_commit(txn) == 0);
        (void)made;
    }
    /* Every key once, in order, with its value. */
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    MDB_cursor *c;
    REQUIRE(mdb_cursor_open(txn, e.docs, &c) == 0);
    MDB_val kv, dv;
    int expect = 0, bad = 0, count = 0;
    for (int rc = mdb_cursor_get(c, &kv, &dv, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &kv, &dv, MDB_NEXT)) {
        uint8_t k[16];
        size_t kn = num_key(k, expect);
        char want[16];
        int wn = snprintf(want, sizeof want, "v%d", expect);
        doc_rec_t got;
        bool has;
        const uint8_t *sp;
        size_t sn;
        if (kv.mv_size != kn || memcmp(kv.mv_data, k, kn) != 0 ||
            !docv_decode(dv.mv_data, dv.mv_size, &got, &has, &sp, &sn) || has || sn != (size_t)wn ||
            memcmp(sp, want, sn) != 0) {
            if (bad++ < 3)
                CHECK_MSG(0, "row %d: not D%06d = %s", count, expect, want);
        }
        count++;
        expect++;
    }
    CHECK_INT(0, bad);
    CHECK_INT(2 * N + 100, count);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    docset_free(ds);
    env_close(&e);
}

/* Slots never move: a pointer taken first is the slot after tens of
   thousands of later slots (the table grows many times), and so are the
   pointers taken along the way. State buffers grow, also past a chunk. */
static void test_slot_pointers_survive_growth(void)
{
    env_t e;
    env_open(&e);
    docset_t *ds = docset_new();
    REQUIRE(ds != NULL);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    docset_begin(ds, txn, e.docs);
    uint8_t k0[16];
    size_t n0 = mkkey(k0, 1, "first");
    docslot_t *first;
    slot_ok(ds, k0, n0, &first);
    uint8_t pat[200];
    for (int i = 0; i < 200; i++)
        pat[i] = (uint8_t)(i * 7 + 1);
    CHECK_INT(0, docset_set_state(ds, first, pat, sizeof pat));
    first->rec.amount = 77;
    first->has_rec = true;

    enum { N = 40000, EVERY = 997 };
    docslot_t *kept[N / EVERY + 1];
    int nkept = 0;
    for (int i = 0; i < N; i++) {
        uint8_t k[16];
        size_t kn = num_key(k, i);
        if (i % 2) { /* half read on demand, half noted */
            docslot_t *sl;
            slot_ok(ds, k, kn, &sl);
            if (i % EVERY == 0)
                kept[nkept++] = sl;
        } else {
            CHECK_INT(0, docset_want(ds, k, kn));
        }
        if (i % EVERY == 0 && i % 2 == 0) {
            docslot_t *sl;
            slot_ok(ds, k, kn, &sl);
            kept[nkept++] = sl;
        }
    }
    CHECK_INT(0, docset_load(ds));
    docslot_t *again;
    slot_ok(ds, k0, n0, &again);
    CHECK(again == first);
    CHECK_INT(77, first->rec.amount);
    CHECK(first->has_rec);
    CHECK(first->st_len == sizeof pat && memcmp(first->st, pat, sizeof pat) == 0);
    CHECK(first->klen == n0 && memcmp(first->key, k0, n0) == 0);
    int moved = 0;
    for (int j = 0, i = 0; i < N; i++) {
        if (i % EVERY)
            continue;
        uint8_t k[16];
        size_t kn = num_key(k, i);
        slot_ok(ds, k, kn, &again);
        if (again != kept[j] || kept[j]->klen != kn || memcmp(kept[j]->key, k, kn) != 0)
            moved++;
        j++;
    }
    CHECK_INT(0, moved);

    /* The state grows: 10 bytes, 100, 5000, then 3 MB (more than a chunk),
       then back to 4. */
    static const size_t sizes[] = {10, 100, 5000, (size_t)3 << 20, 4};
    uint8_t *big = malloc((size_t)3 << 20);
    REQUIRE(big != NULL);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (size_t i = 0; i < sizes[s]; i++)
            big[i] = (uint8_t)(i * 31 + s);
        CHECK_INT(0, docset_set_state(ds, kept[1], big, sizes[s]));
        CHECK(kept[1]->st_len == sizes[s] && memcmp(kept[1]->st, big, sizes[s]) == 0);
        CHECK(first->st_len == sizeof pat && memcmp(first->st, pat, sizeof pat) == 0);
    }
    first->dirty = true;
    CHECK_INT(0, docset_flush(ds));
    docset_end(ds);
    REQUIRE(mdb_txn_commit(txn) == 0);

    /* The next batch (the big table given back) reads what was written. */
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    docset_begin(ds, txn, e.docs);
    slot_ok(ds, k0, n0, &again);
    CHECK(again->has_rec && again->rec.amount == 77 && !again->dirty);
    CHECK(again->st_len == sizeof pat && memcmp(again->st, pat, sizeof pat) == 0);
    uint8_t k[16];
    size_t kn = num_key(k, EVERY); /* kept[1]: 4 bytes of the last pattern */
    slot_ok(ds, k, kn, &again);
    CHECK(!again->has_rec && again->st_len == 4 && memcmp(again->st, big, 4) == 0);
    MDB_stat ms;
    REQUIRE(mdb_stat(txn, e.docs, &ms) == 0);
    CHECK_INT(2, ms.ms_entries);
    docset_end(ds);
    mdb_txn_abort(txn);
    free(big);
    docset_free(ds);
    env_close(&e);
}

/* An aborted batch leaves nothing behind in the reused set. */
static void test_reuse_after_abort(void)
{
    env_t e;
    env_open(&e);
    docset_t *ds = docset_new();
    REQUIRE(ds != NULL);
    uint8_t kx[16], ky[16];
    size_t nx = mkkey(kx, 1, "X"), ny = mkkey(ky, 1, "Y");
    doc_rec_t ry = unknown_of(1);
    ry.credited = 12;
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    put_value(txn, e.docs, ky, ny, &ry, NULL);
    REQUIRE(mdb_txn_commit(txn) == 0);
    for (int round = 0; round < 3; round++) {
        REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
        docset_begin(ds, txn, e.docs);
        docslot_t *sl;
        slot_ok(ds, kx, nx, &sl);
        CHECK(sl->loaded && !sl->has_rec && !sl->dirty && sl->st_len == 0);
        doc_rec_t u = unknown_of(1);
        CHECK_REC(&u, &sl->rec);
        sl->has_rec = true;
        sl->rec.amount = 5;
        CHECK_INT(0, docset_set_state(ds, sl, (const uint8_t *)"abc", 3));
        slot_ok(ds, ky, ny, &sl);
        CHECK(sl->has_rec && sl->rec.credited == 12 && sl->st_len == 0);
        sl->rec.credited = 99;
        sl->dirty = true;
        docset_end(ds);
        /* Detached: a flush is a no-op. */
        CHECK_INT(0, docset_flush(ds));
        mdb_txn_abort(txn);
    }
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    MDB_stat ms;
    REQUIRE(mdb_stat(txn, e.docs, &ms) == 0);
    CHECK_INT(1, ms.ms_entries);
    mdb_txn_abort(txn);
    docset_free(ds);
    env_close(&e);
}

int main(void)
{
    RUN(test_codec_known_bytes);
    RUN(test_codec_random_round_trip);
    RUN(test_codec_refuses_damage);
    RUN(test_load_and_on_demand);
    RUN(test_flush_writes_dirty_only);
    RUN(test_flush_keeps_unchanged_parts);
    RUN(test_flush_in_key_order);
    RUN(test_slot_pointers_survive_growth);
    RUN(test_reuse_after_abort);
    return test_summary();
}
