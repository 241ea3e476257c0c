/*
 * test_store_logbuf.c — a write batch's new log entries, ids and index rows
 * (store_logbuf.h): seqs must come consecutively, events are found by key
 * and ids by id, the flush writes the log in key order (also when the
 * events came out of time order, and around what is stored), the ids by
 * id, the index rows as DUPSORT|DUPFIXED duplicates written once, and the
 * next batch continues at the next seq.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "store_logbuf.h"
#include "lmdb_test.h"
#include "test.h"

typedef struct env {
    lmdb_dir_t ld;
    MDB_env *env;
    logbuf_dbs_t dbs;
} env_t;

static void env_open(env_t *e)
{
    memset(e, 0, sizeof *e);
    lmdb_dir_open(&e->ld, "logbuf", 8);
    e->env = e->ld.env;
    e->dbs.events = lmdb_dir_db(&e->ld, "events", 0);
    e->dbs.ids = lmdb_dir_db(&e->ld, "ids", 0);
    e->dbs.index[LOGBUF_BY_PARTY] = lmdb_dir_db(&e->ld, "by_party", MDB_DUPSORT | MDB_DUPFIXED);
    e->dbs.index[LOGBUF_BY_BU] = lmdb_dir_db(&e->ld, "by_bu", MDB_DUPSORT | MDB_DUPFIXED);
}

static void env_close(env_t *e)
{
    lmdb_dir_close(&e->ld);
}

/* An events key: time then seq, both big-endian. */
static uint8_t *ekey(uint8_t *k, uint64_t time, uint64_t seq)
{
    for (int i = 0; i < 8; i++) {
        k[i] = (uint8_t)(time >> (56 - 8 * i));
        k[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
    }
    return k;
}

static int add_ev(logbuf_t *lb, uint64_t time, uint64_t seq, const char *enc, const char *id)
{
    uint8_t k[LOGBUF_KEY_LEN];
    return logbuf_event_add(lb, ekey(k, time, seq), (const uint8_t *)enc, strlen(enc), id,
                            strlen(id));
}

/* The encoding of (time, seq) in the buffer, or NULL. */
static const char *get_ev(const logbuf_t *lb, uint64_t time, uint64_t seq, char *buf, size_t cap)
{
    uint8_t k[LOGBUF_KEY_LEN];
    MDB_val v;
    if (!logbuf_event_get(lb, ekey(k, time, seq), &v))
        return NULL;
    snprintf(buf, cap, "%.*s", (int)v.mv_size, (const char *)v.mv_data);
    return buf;
}

static bool id_is(const logbuf_t *lb, const char *id, uint64_t time, uint64_t seq)
{
    uint8_t want[LOGBUF_KEY_LEN], got[LOGBUF_KEY_LEN];
    memset(got, 0xee, sizeof got);
    return logbuf_id_get(lb, id, strlen(id), got) &&
           memcmp(got, ekey(want, time, seq), LOGBUF_KEY_LEN) == 0;
}

static bool id_absent(const logbuf_t *lb, const char *id, size_t n)
{
    uint8_t got[LOGBUF_KEY_LEN];
    return !logbuf_id_get(lb, id, n, got);
}

static size_t entries(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_stat ms;
    REQUIRE(mdb_stat(txn, dbi, &ms) == 0);
    return ms.ms_entries;
}

/* The stored value of events key (time, seq), or NULL. */
static const char *stored_ev(MDB_txn *txn, const env_t *e, uint64_t time, uint64_t seq, char *buf,
                             size_t cap)
{
    uint8_t k[LOGBUF_KEY_LEN];
    MDB_val kv = {LOGBUF_KEY_LEN, ekey(k, time, seq)}, dv;
    if (mdb_get(txn, e->dbs.events, &kv, &dv) != 0)
        return NULL;
    snprintf(buf, cap, "%.*s", (int)dv.mv_size, (const char *)dv.mv_data);
    return buf;
}

/* The ids row of id is the key (time, seq). */
static bool stored_id(MDB_txn *txn, const env_t *e, const char *id, uint64_t time, uint64_t seq)
{
    uint8_t k[LOGBUF_KEY_LEN];
    MDB_val kv = {strlen(id), (void *)id}, dv;
    return mdb_get(txn, e->dbs.ids, &kv, &dv) == 0 && dv.mv_size == LOGBUF_KEY_LEN &&
           memcmp(dv.mv_data, ekey(k, time, seq), LOGBUF_KEY_LEN) == 0;
}

static void test_seq_must_be_next(void)
{
    logbuf_t *lb = logbuf_new();
    REQUIRE(lb != NULL);
    char b[64];
    CHECK(id_absent(lb, "x", 1)); /* nothing ever added */
    logbuf_begin(lb, 100);
    CHECK_INT(EINVAL, add_ev(lb, 500, 101, "e101", "a")); /* skips 100 */
    CHECK_INT(EINVAL, add_ev(lb, 500, 99, "e99", "a"));
    CHECK_INT(EINVAL, add_ev(lb, 500, 0, "e0", "a"));
    CHECK(id_absent(lb, "a", 1)); /* a refused event is not kept */
    CHECK(get_ev(lb, 500, 101, b, sizeof b) == NULL);
    CHECK_INT(0, add_ev(lb, 500, 100, "e100", "a"));
    CHECK_INT(EINVAL, add_ev(lb, 600, 100, "again", "b")); /* the same seq again */
    CHECK_INT(EINVAL, add_ev(lb, 600, 102, "e102", "b"));
    CHECK_INT(0, add_ev(lb, 400, 101, "e101", "b")); /* earlier time: fine */
    CHECK_INT(0, add_ev(lb, 400, 102, "", "c"));     /* an empty encoding */
    CHECK_STR("e100", get_ev(lb, 500, 100, b, sizeof b));
    CHECK_STR("e101", get_ev(lb, 400, 101, b, sizeof b));
    CHECK_STR("", get_ev(lb, 400, 102, b, sizeof b));
    /* Right seq, other time; seqs before and past the batch. */
    CHECK(get_ev(lb, 501, 100, b, sizeof b) == NULL);
    CHECK(get_ev(lb, 500, 101, b, sizeof b) == NULL);
    CHECK(get_ev(lb, 400, 103, b, sizeof b) == NULL);
    CHECK(get_ev(lb, 500, 99, b, sizeof b) == NULL);
    CHECK(get_ev(lb, 500, UINT64_MAX, b, sizeof b) == NULL);
    CHECK(id_is(lb, "a", 500, 100));
    CHECK(id_is(lb, "b", 400, 101));
    CHECK(id_is(lb, "c", 400, 102));
    CHECK(id_absent(lb, "d", 1));
    CHECK(id_absent(lb, "ab", 2));
    /* An abort: everything forgotten; the next batch starts where it says. */
    logbuf_end(lb);
    logbuf_begin(lb, 100);
    CHECK(get_ev(lb, 500, 100, b, sizeof b) == NULL);
    CHECK(id_absent(lb, "a", 1));
    CHECK_INT(0, add_ev(lb, 7, 100, "new100", "z"));
    CHECK_STR("new100", get_ev(lb, 7, 100, b, sizeof b));
    logbuf_end(lb);
    logbuf_begin(lb, 5);
    CHECK_INT(EINVAL, add_ev(lb, 7, 100, "x", "z"));
    CHECK_INT(0, add_ev(lb, 7, 5, "x", "z"));
    logbuf_end(lb);
    logbuf_free(lb);
    logbuf_free(NULL);
}

/* Added out of time order, written in key order (appended into the empty
   log: any disorder would make LMDB refuse); then the next batch continues
   at the next seq. */
static void test_flush_in_key_order(void)
{
    env_t e;
    env_open(&e);
    logbuf_t *lb = logbuf_new();
    REQUIRE(lb != NULL);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    logbuf_begin(lb, 1);
    static const uint64_t times[] = {300, 100, 200, 100, 50, 400};
    static const char *const ids[] = {"inv-c", "pay-1", "inv-a", "inv-b", "zz", "a"};
    char enc[16];
    for (int i = 0; i < 6; i++) {
        snprintf(enc, sizeof enc, "e%d", i + 1);
        CHECK_INT(0, add_ev(lb, times[i], (uint64_t)i + 1, enc, ids[i]));
    }
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    /* The buffer is empty, still attached, and continues at seq 7. */
    char b[64];
    CHECK(get_ev(lb, 300, 1, b, sizeof b) == NULL);
    CHECK(id_absent(lb, "inv-c", 5));
    CHECK_INT(EINVAL, add_ev(lb, 500, 1, "x", "x"));
    CHECK_INT(EINVAL, add_ev(lb, 500, 6, "x", "x"));
    CHECK_INT(0, add_ev(lb, 10, 7, "e7", "mid"));
    CHECK_STR("e7", get_ev(lb, 10, 7, b, sizeof b));
    CHECK(id_is(lb, "mid", 10, 7));
    /* Written before the second flush: only the first batch. */
    CHECK_INT(6, entries(txn, e.dbs.events));
    CHECK_INT(6, entries(txn, e.dbs.ids));
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    CHECK_INT(0, add_ev(lb, 1000, 8, "e8", "last"));
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    logbuf_end(lb);
    REQUIRE(mdb_txn_commit(txn) == 0);

    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    static const struct {
        uint64_t time, seq;
        const char *enc;
    } want[] = {{10, 7, "e7"},  {50, 5, "e5"},  {100, 2, "e2"}, {100, 4, "e4"},
                {200, 3, "e3"}, {300, 1, "e1"}, {400, 6, "e6"}, {1000, 8, "e8"}};
    MDB_cursor *c;
    REQUIRE(mdb_cursor_open(txn, e.dbs.events, &c) == 0);
    MDB_val kv, dv;
    size_t i = 0;
    for (int rc = mdb_cursor_get(c, &kv, &dv, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(c, &kv, &dv, MDB_NEXT), i++) {
        if (i >= sizeof want / sizeof want[0])
            break;
        uint8_t k[LOGBUF_KEY_LEN];
        ekey(k, want[i].time, want[i].seq);
        CHECK_MSG(kv.mv_size == LOGBUF_KEY_LEN && memcmp(kv.mv_data, k, LOGBUF_KEY_LEN) == 0,
                  "row %zu: not (%llu, %llu)", i, (unsigned long long)want[i].time,
                  (unsigned long long)want[i].seq);
        CHECK_MSG(dv.mv_size == strlen(want[i].enc) &&
                      memcmp(dv.mv_data, want[i].enc, dv.mv_size) == 0,
                  "row %zu: value not %s", i, want[i].enc);
    }
    CHECK_INT(8, i);
    mdb_cursor_close(c);
    CHECK_INT(8, entries(txn, e.dbs.ids));
    for (int j = 0; j < 6; j++)
        CHECK_MSG(stored_id(txn, &e, ids[j], times[j], (uint64_t)j + 1), "id %s", ids[j]);
    CHECK(stored_id(txn, &e, "mid", 10, 7));
    CHECK(stored_id(txn, &e, "last", 1000, 8));
    /* Nothing was given to the indexes. */
    CHECK_INT(0, entries(txn, e.dbs.index[LOGBUF_BY_PARTY]));
    CHECK_INT(0, entries(txn, e.dbs.index[LOGBUF_BY_BU]));
    mdb_txn_abort(txn);
    logbuf_free(lb);
    env_close(&e);
}

/* A batch whose keys fall before, between and past the stored ones, and
   ids on both sides of the stored ids. */
static void test_flush_around_existing(void)
{
    env_t e;
    env_open(&e);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    uint8_t k[LOGBUF_KEY_LEN];
    MDB_val kv = {LOGBUF_KEY_LEN, ekey(k, 150, 1)}, dv = {3, "old"};
    REQUIRE(mdb_put(txn, e.dbs.events, &kv, &dv, 0) == 0);
    kv.mv_data = ekey(k, 250, 2);
    REQUIRE(mdb_put(txn, e.dbs.events, &kv, &dv, 0) == 0);
    MDB_val ik = {5, "m-old"}, iv = {LOGBUF_KEY_LEN, ekey(k, 150, 1)};
    REQUIRE(mdb_put(txn, e.dbs.ids, &ik, &iv, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);

    logbuf_t *lb = logbuf_new();
    REQUIRE(lb != NULL);
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    logbuf_begin(lb, 3);
    CHECK_INT(0, add_ev(lb, 900, 3, "past", "z-past"));
    CHECK_INT(0, add_ev(lb, 100, 4, "before", "a-before"));
    CHECK_INT(0, add_ev(lb, 200, 5, "between", "m-between"));
    CHECK_INT(0, add_ev(lb, 250, 6, "same time", "m-oldx"));
    CHECK_INT(0, add_ev(lb, 800, 7, "past2", "zz"));
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    logbuf_end(lb);
    REQUIRE(mdb_txn_commit(txn) == 0);
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    char b[64];
    CHECK_STR("old", stored_ev(txn, &e, 150, 1, b, sizeof b));
    CHECK_STR("old", stored_ev(txn, &e, 250, 2, b, sizeof b));
    CHECK_STR("before", stored_ev(txn, &e, 100, 4, b, sizeof b));
    CHECK_STR("between", stored_ev(txn, &e, 200, 5, b, sizeof b));
    CHECK_STR("same time", stored_ev(txn, &e, 250, 6, b, sizeof b));
    CHECK_STR("past2", stored_ev(txn, &e, 800, 7, b, sizeof b));
    CHECK_STR("past", stored_ev(txn, &e, 900, 3, b, sizeof b));
    CHECK_INT(7, entries(txn, e.dbs.events));
    CHECK(stored_id(txn, &e, "m-old", 150, 1));
    CHECK(stored_id(txn, &e, "a-before", 100, 4));
    CHECK(stored_id(txn, &e, "m-between", 200, 5));
    CHECK(stored_id(txn, &e, "m-oldx", 250, 6));
    CHECK(stored_id(txn, &e, "z-past", 900, 3));
    CHECK(stored_id(txn, &e, "zz", 800, 7));
    CHECK_INT(6, entries(txn, e.dbs.ids));
    mdb_txn_abort(txn);
    logbuf_free(lb);
    env_close(&e);
}

/* Many events (the id table grows), ids that are prefixes of each other
   or hold NUL bytes, in a scrambled time order, all found again and all
   written. */
static void test_many_ids(void)
{
    env_t e;
    env_open(&e);
    logbuf_t *lb = logbuf_new();
    REQUIRE(lb != NULL);
    enum { N = 6000 };
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    logbuf_begin(lb, 1000);
    char id[32], enc[32];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "id-%d", i);
        snprintf(enc, sizeof enc, "enc-%d-%.*s", i, i % 7, "xxxxxxx");
        uint64_t t = ((uint64_t)i * 7919) % N;
        CHECK_INT(0, add_ev(lb, t, 1000 + (uint64_t)i, enc, id));
    }
    /* "x", "x\0y" and "x\0" differ only past a NUL. */
    uint8_t k[LOGBUF_KEY_LEN];
    CHECK_INT(0, logbuf_event_add(lb, ekey(k, 5, 1000 + N), (const uint8_t *)"n1", 2, "x", 1));
    CHECK_INT(0, logbuf_event_add(lb, ekey(k, 5, 1001 + N), (const uint8_t *)"n2", 2, "x\0y", 3));
    CHECK_INT(0, logbuf_event_add(lb, ekey(k, 5, 1002 + N), (const uint8_t *)"n3", 2, "x\0", 2));
    int bad = 0;
    char b[64];
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "id-%d", i);
        snprintf(enc, sizeof enc, "enc-%d-%.*s", i, i % 7, "xxxxxxx");
        uint64_t t = ((uint64_t)i * 7919) % N;
        const char *got = get_ev(lb, t, 1000 + (uint64_t)i, b, sizeof b);
        if ((!id_is(lb, id, t, 1000 + (uint64_t)i) || got == NULL || strcmp(got, enc) != 0) &&
            bad++ < 3)
            CHECK_MSG(0, "event %d (%s) not found again", i, id);
    }
    CHECK_INT(0, bad);
    uint8_t got[LOGBUF_KEY_LEN];
    CHECK(logbuf_id_get(lb, "x", 1, got) && memcmp(got, ekey(k, 5, 1000 + N), 16) == 0);
    CHECK(logbuf_id_get(lb, "x\0y", 3, got) && memcmp(got, ekey(k, 5, 1001 + N), 16) == 0);
    CHECK(logbuf_id_get(lb, "x\0", 2, got) && memcmp(got, ekey(k, 5, 1002 + N), 16) == 0);
    CHECK(id_absent(lb, "x\0z", 3));
    CHECK(id_absent(lb, "id-6000", 7));
    CHECK(id_absent(lb, "id-", 3));
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    logbuf_end(lb);
    REQUIRE(mdb_txn_commit(txn) == 0);

    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    CHECK_INT(N + 3, entries(txn, e.dbs.events));
    CHECK_INT(N + 3, entries(txn, e.dbs.ids));
    bad = 0;
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "id-%d", i);
        snprintf(enc, sizeof enc, "enc-%d-%.*s", i, i % 7, "xxxxxxx");
        uint64_t t = ((uint64_t)i * 7919) % N;
        const char *s = stored_ev(txn, &e, t, 1000 + (uint64_t)i, b, sizeof b);
        if ((s == NULL || strcmp(s, enc) != 0 || !stored_id(txn, &e, id, t, 1000 + (uint64_t)i)) &&
            bad++ < 3)
            CHECK_MSG(0, "event %d (%s) not stored", i, id);
    }
    CHECK_INT(0, bad);
    MDB_val kv = {3, "x\0y"}, dv;
    CHECK(mdb_get(txn, e.dbs.ids, &kv, &dv) == 0 && dv.mv_size == 16 &&
          memcmp(dv.mv_data, ekey(k, 5, 1001 + N), 16) == 0);
    mdb_txn_abort(txn);
    logbuf_free(lb);
    env_close(&e);
}

/* The duplicates of id (4 bytes big-endian) in an index, as keys. */
static size_t dups_of(MDB_txn *txn, MDB_dbi dbi, uint32_t id, uint8_t (*out)[LOGBUF_KEY_LEN],
                      size_t cap)
{
    uint8_t kb[4] = {(uint8_t)(id >> 24), (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    MDB_cursor *c;
    REQUIRE(mdb_cursor_open(txn, dbi, &c) == 0);
    MDB_val kv = {4, kb}, dv;
    size_t n = 0;
    for (int rc = mdb_cursor_get(c, &kv, &dv, MDB_SET_KEY); rc == 0;
         rc = mdb_cursor_get(c, &kv, &dv, MDB_NEXT_DUP)) {
        CHECK_INT(LOGBUF_KEY_LEN, dv.mv_size);
        if (n < cap && dv.mv_size == LOGBUF_KEY_LEN)
            memcpy(out[n], dv.mv_data, LOGBUF_KEY_LEN);
        n++;
    }
    mdb_cursor_close(c);
    return n;
}

static void test_index_rows(void)
{
    env_t e;
    env_open(&e);
    uint8_t k0[16], k1[16], k2[16], k3[16], k4[16];
    ekey(k0, 10, 1);
    ekey(k1, 20, 2);
    ekey(k2, 20, 3);
    ekey(k3, 30, 4);
    ekey(k4, 5, 5);
    MDB_dbi party = e.dbs.index[LOGBUF_BY_PARTY], bu = e.dbs.index[LOGBUF_BY_BU];
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    /* Stored before: party 7 -> k0 and k2. */
    uint8_t p7[4] = {0, 0, 0, 7};
    MDB_val kv = {4, p7}, dv = {16, k0};
    REQUIRE(mdb_put(txn, party, &kv, &dv, 0) == 0);
    dv.mv_data = k2;
    REQUIRE(mdb_put(txn, party, &kv, &dv, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);

    logbuf_t *lb = logbuf_new();
    REQUIRE(lb != NULL);
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    logbuf_begin(lb, 1);
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 7, k3));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 7, k1));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 7, k1)); /* the same row twice */
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 7, k2)); /* already stored */
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 3, k1));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 0x01020304u, k3));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 0x01020304u, k4));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 3, k1));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_BU, 5, k2));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_BU, 5, k2));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_BU, 2, k1));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_BU, UINT32_MAX, k0));
    /* Not written before the flush. */
    CHECK_INT(2, entries(txn, party));
    CHECK_INT(0, entries(txn, bu));
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    CHECK_INT(0, entries(txn, e.dbs.events));
    /* Flushed rows are gone from the buffer: flushing again adds nothing
       (and a second round of the same rows is refused quietly). */
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_BU, 5, k2));
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    logbuf_end(lb);
    REQUIRE(mdb_txn_commit(txn) == 0);

    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    uint8_t got[8][LOGBUF_KEY_LEN];
    CHECK_INT(4, dups_of(txn, party, 7, got, 8));
    CHECK(memcmp(got[0], k0, 16) == 0 && memcmp(got[1], k1, 16) == 0 &&
          memcmp(got[2], k2, 16) == 0 && memcmp(got[3], k3, 16) == 0);
    CHECK_INT(1, dups_of(txn, party, 3, got, 8));
    CHECK(memcmp(got[0], k1, 16) == 0);
    CHECK_INT(2, dups_of(txn, party, 0x01020304u, got, 8));
    CHECK(memcmp(got[0], k4, 16) == 0 && memcmp(got[1], k3, 16) == 0);
    CHECK_INT(0, dups_of(txn, party, 0x04030201u, got, 8)); /* big-endian, not little */
    CHECK_INT(0, dups_of(txn, party, 5, got, 8));
    CHECK_INT(7, entries(txn, party));
    CHECK_INT(1, dups_of(txn, bu, 5, got, 8));
    CHECK(memcmp(got[0], k2, 16) == 0);
    CHECK_INT(1, dups_of(txn, bu, 2, got, 8));
    CHECK(memcmp(got[0], k1, 16) == 0);
    CHECK_INT(1, dups_of(txn, bu, UINT32_MAX, got, 8));
    CHECK_INT(3, entries(txn, bu));
    /* Keys in id order: 3, 7, 0x01020304. */
    MDB_cursor *c;
    REQUIRE(mdb_cursor_open(txn, party, &c) == 0);
    static const uint8_t order[3][4] = {{0, 0, 0, 3}, {0, 0, 0, 7}, {1, 2, 3, 4}};
    int i = 0;
    for (int rc = mdb_cursor_get(c, &kv, &dv, MDB_FIRST); rc == 0 && i < 3;
         rc = mdb_cursor_get(c, &kv, &dv, MDB_NEXT_NODUP), i++)
        CHECK(kv.mv_size == 4 && memcmp(kv.mv_data, order[i], 4) == 0);
    CHECK_INT(3, i);
    mdb_cursor_close(c);
    mdb_txn_abort(txn);
    logbuf_free(lb);
    env_close(&e);
}

/* Events and their index rows in one batch, as the store writes them; a
   failed flush returns LMDB's code; an abort writes nothing. */
static void test_batch_and_failures(void)
{
    env_t e;
    env_open(&e);
    logbuf_t *lb = logbuf_new();
    REQUIRE(lb != NULL);
    uint8_t k[LOGBUF_KEY_LEN];
    /* A read-only transaction: the first put fails. */
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    logbuf_begin(lb, 1);
    CHECK_INT(0, add_ev(lb, 10, 1, "e1", "i1"));
    CHECK_INT(EACCES, logbuf_flush(lb, txn, &e.dbs));
    logbuf_end(lb);
    mdb_txn_abort(txn);

    /* An abort: nothing reaches LMDB, even through a later flush. */
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &txn) == 0);
    logbuf_begin(lb, 1);
    CHECK_INT(0, add_ev(lb, 10, 1, "e1", "i1"));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 1, ekey(k, 10, 1)));
    logbuf_end(lb);
    logbuf_begin(lb, 1);
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    CHECK_INT(0, entries(txn, e.dbs.events));
    CHECK_INT(0, entries(txn, e.dbs.ids));
    CHECK_INT(0, entries(txn, e.dbs.index[LOGBUF_BY_PARTY]));

    /* A batch: three events, two of one party, one of another unit. */
    CHECK_INT(0, add_ev(lb, 30, 1, "e1", "i1"));
    CHECK_INT(0, add_ev(lb, 20, 2, "e2", "i2"));
    CHECK_INT(0, add_ev(lb, 30, 3, "e3", "i3"));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 9, ekey(k, 30, 1)));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 9, ekey(k, 20, 2)));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_BU, 4, ekey(k, 30, 3)));
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    CHECK_INT(0, add_ev(lb, 5, 4, "e4", "i4"));
    CHECK_INT(0, logbuf_index_add(lb, LOGBUF_BY_PARTY, 9, ekey(k, 5, 4)));
    CHECK_INT(0, logbuf_flush(lb, txn, &e.dbs));
    logbuf_end(lb);
    REQUIRE(mdb_txn_commit(txn) == 0);
    REQUIRE(mdb_txn_begin(e.env, NULL, MDB_RDONLY, &txn) == 0);
    char b[32];
    CHECK_STR("e1", stored_ev(txn, &e, 30, 1, b, sizeof b));
    CHECK_STR("e2", stored_ev(txn, &e, 20, 2, b, sizeof b));
    CHECK_STR("e3", stored_ev(txn, &e, 30, 3, b, sizeof b));
    CHECK_STR("e4", stored_ev(txn, &e, 5, 4, b, sizeof b));
    CHECK(stored_id(txn, &e, "i4", 5, 4));
    uint8_t got[4][LOGBUF_KEY_LEN];
    CHECK_INT(3, dups_of(txn, e.dbs.index[LOGBUF_BY_PARTY], 9, got, 4));
    CHECK(memcmp(got[0], ekey(k, 5, 4), 16) == 0);
    CHECK(memcmp(got[1], ekey(k, 20, 2), 16) == 0);
    CHECK(memcmp(got[2], ekey(k, 30, 1), 16) == 0);
    CHECK_INT(1, dups_of(txn, e.dbs.index[LOGBUF_BY_BU], 4, got, 4));
    CHECK(memcmp(got[0], ekey(k, 30, 3), 16) == 0);
    mdb_txn_abort(txn);
    logbuf_free(lb);
    env_close(&e);
}

int main(void)
{
    RUN(test_seq_must_be_next);
    RUN(test_flush_in_key_order);
    RUN(test_flush_around_existing);
    RUN(test_many_ids);
    RUN(test_index_rows);
    RUN(test_batch_and_failures);
    return test_summary();
}
