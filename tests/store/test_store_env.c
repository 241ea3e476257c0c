/*
 * test_store_env.c — store/store_env.c: creating and reopening a store,
 * what it refuses (another format version, leaving the file byte-identical;
 * a file that is not a store; a second writer; other settings; read-only
 * misuse), snapshots and statistics, a read-only process following a map
 * that another process grew, and readers racing a writer that grows the map.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lmdb.h>

#include "store_test.h"

/* Three events of a small book, used to check that data survives. */
static void put_book(store_t *s)
{
    kpi_event_t evs[] = {
        ev(KPI_EV_INVOICE_ISSUED, "i1", T(2025, 1, 2, 9), "INV-1", NULL, 10000, "ACME"),
        ev(KPI_EV_PAYMENT_RECEIVED, "p1", T(2025, 1, 20, 9), "PAY-1", NULL, 4000, "ACME"),
        ev(KPI_EV_PAYMENT_APPLIED, "a1", T(2025, 1, 21, 9), "PAY-1", "INV-1", 4000, NULL),
    };
    store_item_result_t res[3];
    store_batch_stats_t st = put(s, evs, 3, NULL, res);
    CHECK_INT(3, st.accepted);
    CHECK(st.committed);
}

static err_t count_row(void *ctx, const store_ev_row_t *row)
{
    (void)row;
    (*(size_t *)ctx)++;
    return ERR_OK;
}

static size_t count_events(store_t *s)
{
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_ev_filter_t all = {0};
    char next[STORE_CURSOR_BUF];
    size_t n = 0;
    CHECK_ERR(ERR_OK, store_events_list(sn, &all, NULL, 1000000, count_row, &n, next));
    CHECK_STR("", next);
    store_snap_end(sn);
    return n;
}

static void test_create_and_reopen(void)
{
    char base[64], dir[96];
    tmpdir(base);
    /* A missing data directory is created. */
    snprintf(dir, sizeof dir, "%s/data", base);
    store_t *s = open_store(dir, 0);
    CHECK_STR(dir, store_dir(s));
    store_stats_t ss = stats_of(s);
    CHECK_INT(0, ss.events);
    CHECK_STR("UTC", ss.tz);
    CHECK_STR("USD", ss.base_currency);
    CHECK_INT(256ull << 20, ss.map_size);
    CHECK(ss.map_used > 0 && ss.map_used <= ss.map_size);
    put_book(s);
    store_close(s);

    s = open_store(dir, 0);
    ss = stats_of(s);
    CHECK_INT(3, ss.events);
    CHECK_INT(1, ss.docs[KPI_DOC_INVOICE]);
    CHECK_INT(1, ss.docs[KPI_DOC_PAYMENT]);
    CHECK_INT(0, ss.docs[KPI_DOC_BILL]);
    CHECK_INT(0, ss.pending);
    CHECK_INT(3, count_events(s));
    store_doc_t d = doc_of(s, KPI_DOC_INVOICE, "INV-1");
    CHECK_INT(6000, d.open_minor);
    kpi_event_t e = ev(KPI_EV_CREDIT_LIMIT_SET, "l1", T(2025, 2, 1, 0), NULL, NULL, 500, "ACME");
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &e, NULL).status);
    CHECK_INT(4, stats_of(s).events);
    store_close(s);
    store_close(NULL); /* a no-op */
    rmdir_all(base);
}

/* Rewrite meta "version" directly, as another release would have. */
static void set_version(const char *dir, uint32_t v)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_maxdbs(env, 32) == 0);
    REQUIRE(mdb_env_open(env, dir, 0, 0644) == 0);
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
    MDB_val k = {7, (void *)"version"}, val = {4, &v};
    REQUIRE(mdb_put(txn, meta, &k, &val, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
}

/* Checksum of a file (cksum's output line). */
static void file_sum(const char *path, char *out, size_t cap)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cksum < '%s'", path);
    FILE *p = popen(cmd, "r");
    REQUIRE(p != NULL);
    out[0] = '\0';
    CHECK(fgets(out, (int)cap, p) != NULL);
    CHECK_INT(0, pclose(p));
}

static void test_other_version_untouched(void)
{
    char dir[64], path[128], before[128], after[128];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    put_book(s);
    store_close(s);
    set_version(dir, STORE_FORMAT_VERSION + 1);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    file_sum(path, before, sizeof before);

    const struct {
        const char *label;
        bool read_only;
    } rows[] = {{"writable", false}, {"read-only", true}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        test_current_ = rows[i].label;
        store_opts_t o = opts_of(dir, test_utc, 0);
        o.read_only = rows[i].read_only;
        store_t *s2 = NULL;
        err_msg_t msg = {{0}};
        CHECK_ERR(ERR_STORE_VERSION, store_open(&o, &s2, &msg));
        CHECK(s2 == NULL);
        char want[32];
        snprintf(want, sizeof want, "version %d", STORE_FORMAT_VERSION + 1);
        CHECK_MSG(strstr(msg.text, dir) != NULL, "%s", msg.text);
        CHECK_MSG(strstr(msg.text, want) != NULL, "%s", msg.text);
        snprintf(want, sizeof want, "version %d", STORE_FORMAT_VERSION);
        CHECK_MSG(strstr(msg.text, want) != NULL, "%s", msg.text);
        CHECK_MSG(strstr(msg.text, "untouched") != NULL, "%s", msg.text);
        file_sum(path, after, sizeof after);
        CHECK_STR(before, after);
    }
    test_current_ = "test_other_version_untouched";

    /* Put the version back: everything is still there. */
    set_version(dir, STORE_FORMAT_VERSION);
    s = open_store(dir, 0);
    CHECK_INT(3, stats_of(s).events);
    store_close(s);
    rmdir_all(dir);
}

static void test_not_a_store(void)
{
    char dir[64], path[128];
    err_msg_t msg = {{0}};
    store_t *s = NULL;

    /* Text where data.mdb should be. */
    tmpdir(dir);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < 200; i++)
        fputs("this is not an LMDB file\n", f);
    fclose(f);
    store_opts_t o = opts_of(dir, test_utc, 0);
    CHECK_ERR(ERR_STORE_CORRUPT, store_open(&o, &s, &msg));
    CHECK(strstr(msg.text, dir) != NULL);
    CHECK(strstr(msg.text, "not a kpid store") != NULL);
    o.read_only = true;
    CHECK_ERR(ERR_STORE_CORRUPT, store_open(&o, &s, &msg));
    rmdir_all(dir);

    /* An LMDB environment of some other program (no "meta"). */
    tmpdir(dir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_open(env, dir, 0, 0644) == 0);
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, NULL, 0, &dbi) == 0);
    MDB_val k = {3, (void *)"key"}, v = {5, (void *)"value"};
    REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    o = opts_of(dir, test_utc, 0);
    CHECK_ERR(ERR_STORE_CORRUPT, store_open(&o, &s, &msg));
    CHECK(strstr(msg.text, "not a kpid store") != NULL);
    rmdir_all(dir);
}

/* A data.mdb cut short (a failed copy, a full disk) is refused at open,
   before any read could fault on a page past the end; an empty one too. */
static void test_truncated_or_empty(void)
{
    char dir[64], path[128];
    err_msg_t msg = {{0}};
    store_t *s = NULL;
    tmpdir(dir);
    s = open_store(dir, 0);
    enum { B = 300 };
    static kpi_event_t evs[B];
    static char ids[B][16];
    static store_item_result_t res[B];
    for (int i = 0; i < B; i++) {
        snprintf(ids[i], sizeof ids[i], "t%d", i);
        evs[i] =
            ev(KPI_EV_INVOICE_ISSUED, ids[i], T(2024, 1, 1 + i % 28, 9), ids[i], NULL, 100, "A");
    }
    store_batch_stats_t st;
    REQUIRE(store_put_batch(s, evs, B, NULL, res, &st, &msg) == ERR_OK);
    store_close(s);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    struct stat sb;
    REQUIRE(stat(path, &sb) == 0 && sb.st_size > 3 * 4096);
    REQUIRE(truncate(path, 2 * 4096) == 0); /* the two meta pages survive */
    store_opts_t o = opts_of(dir, test_utc, 0);
    for (int ro = 0; ro < 2; ro++) {
        o.read_only = ro;
        s = NULL;
        CHECK_ERR(ERR_STORE_CORRUPT, store_open(&o, &s, &msg));
        CHECK(s == NULL);
        CHECK_MSG(strstr(msg.text, "is truncated (8192 bytes") != NULL, "%s", msg.text);
        CHECK(strstr(msg.text, "restore it from a backup") != NULL);
    }
    REQUIRE(truncate(path, 0) == 0);
    o.read_only = false;
    CHECK_ERR(ERR_STORE_CORRUPT, store_open(&o, &s, &msg));
    CHECK_MSG(strstr(msg.text, "is empty (0 bytes)") != NULL, "%s", msg.text);
    REQUIRE(stat(path, &sb) == 0 && sb.st_size == 0); /* left as it was */
    rmdir_all(dir);
}

/* A data file with LMDB's meta pages and no commit (the creating process was
   killed before its first one): a writer starts a store on it, a reader
   finds no store; neither calls it damaged. */
static void test_never_committed(void)
{
    char dir[64];
    tmpdir(dir);
    MDB_env *env;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_open(env, dir, 0, 0644) == 0);
    mdb_env_close(env);
    char path[128];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    struct stat sb;
    REQUIRE(stat(path, &sb) == 0 && sb.st_size > 0);
    err_msg_t msg = {{0}};
    store_opts_t o = opts_of(dir, test_utc, 0);
    o.read_only = true;
    store_t *s = NULL;
    CHECK_ERR(ERR_NOT_FOUND, store_open(&o, &s, &msg));
    CHECK_MSG(strstr(msg.text, "no kpid store") != NULL, "%s", msg.text);
    s = open_store(dir, 0);
    kpi_event_t e = ev(KPI_EV_INVOICE_ISSUED, "n1", T(2024, 1, 2, 9), "N1", NULL, 100, "A");
    store_item_result_t r;
    store_batch_stats_t st;
    CHECK_ERR(ERR_OK, store_put_batch(s, &e, 1, NULL, &r, &st, &msg));
    CHECK_INT(1, st.accepted);
    store_close(s);
    rmdir_all(dir);
}

/* Raw LMDB put into one of the store's databases, behind its back. */
static void raw_put(const char *dir, const char *db, const void *k, size_t kl, const void *v,
                    size_t vl)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 64);
    REQUIRE(mdb_env_open(env, dir, 0, 0644) == 0);
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, db, 0, &dbi) == 0);
    MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
    REQUIRE(mdb_put(txn, dbi, &key, &val, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
}

/* store_verify reads every database whole: a good store passes with all
   its entries counted; a record that does not decode, or an id pointing at
   no event, is named as damage. */
static void test_verify(void)
{
    char dir[64];
    err_msg_t msg = {{0}};
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    kpi_event_t evs[3] = {
        ev(KPI_EV_INVOICE_ISSUED, "v1", T(2024, 1, 2, 9), "INV-V", NULL, 1000, "A"),
        ev(KPI_EV_CREDIT_LIMIT_SET, "v2", T(2024, 1, 3, 9), NULL, NULL, 5000, "A"),
        ev(KPI_EV_CREDIT_LIMIT_SET, "v3", T(2024, 1, 4, 9), NULL, NULL, 6000, "B"),
    };
    store_item_result_t res[3];
    store_batch_stats_t st;
    REQUIRE(store_put_batch(s, evs, 3, NULL, res, &st, &msg) == ERR_OK);
    uint64_t entries = 0;
    CHECK_ERR(ERR_OK, store_verify(s, &entries, &msg));
    CHECK(entries > 3 * 3); /* log, ids, indexes, names, docs, derived state */
    store_close(s);

    /* A document record of no known size. */
    raw_put(dir, "docs", "\x01INV-BAD", 8, "xyz", 3);
    store_opts_t o = opts_of(dir, test_utc, 0);
    o.read_only = true;
    REQUIRE(store_open(&o, &s, &msg) == ERR_OK);
    CHECK_ERR(ERR_STORE_CORRUPT, store_verify(s, &entries, &msg));
    CHECK_MSG(strstr(msg.text, "of database 'docs' is unreadable") != NULL, "%s", msg.text);
    store_close(s);
    rmdir_all(dir);

    /* An id that points at no event. */
    tmpdir(dir);
    s = open_store(dir, 0);
    REQUIRE(store_put_batch(s, evs, 1, NULL, res, &st, &msg) == ERR_OK);
    store_close(s);
    static const unsigned char nowhere[16] = {0x80, 1, 2, 3, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 9};
    raw_put(dir, "ids", "ghost", 5, nowhere, sizeof nowhere);
    REQUIRE(store_open(&o, &s, &msg) == ERR_OK);
    CHECK_ERR(ERR_STORE_CORRUPT, store_verify(s, NULL, &msg));
    CHECK_MSG(strstr(msg.text, "of database 'ids' is unreadable") != NULL, "%s", msg.text);
    store_close(s);
    rmdir_all(dir);
}

static void test_second_writer_locked(void)
{
    char dir[64], pid[32];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    put_book(s);
    /* flock is per open file, so this holds even within one process. */
    store_opts_t o = opts_of(dir, test_utc, 0);
    store_t *s2 = NULL;
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_STORE_LOCKED, store_open(&o, &s2, &msg));
    CHECK(s2 == NULL);
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    CHECK_MSG(strstr(msg.text, pid) != NULL, "%s", msg.text);
    CHECK_MSG(strstr(msg.text, dir) != NULL, "%s", msg.text);

    /* A reader in another process needs no lock and sees committed data. */
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        o.read_only = true;
        int rc = store_open(&o, &s2, &msg) == ERR_OK && stats_of(s2).events == 3 ? 0 : 1;
        store_close(s2);
        _exit(rc);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    /* Closing releases the lock. */
    store_close(s);
    CHECK_ERR(ERR_OK, store_open(&o, &s2, &msg));
    store_close(s2);
    rmdir_all(dir);
}

static void test_other_settings(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    put_book(s);
    store_close(s);
    store_t *s2 = NULL;
    err_msg_t msg = {{0}};

    kpi_tz_t *plus2 = fixed_zone("Etc/GMT-2", 7200, "<+02>-2");
    store_opts_t o = opts_of(dir, plus2, 0);
    CHECK_ERR(ERR_CONFIG, store_open(&o, &s2, &msg));
    CHECK_MSG(strstr(msg.text, "UTC") != NULL && strstr(msg.text, "Etc/GMT-2") != NULL, "%s",
              msg.text);
    o = opts_of(dir, test_utc, 0);
    o.base_currency = "EUR";
    CHECK_ERR(ERR_CONFIG, store_open(&o, &s2, &msg));
    CHECK_MSG(strstr(msg.text, "USD") != NULL && strstr(msg.text, "EUR") != NULL, "%s", msg.text);
    o.base_currency = "XX";
    CHECK_ERR(ERR_CONFIG, store_open(&o, &s2, &msg));
    o.base_currency = NULL;
    CHECK_ERR(ERR_BAD_PARAM, store_open(&o, &s2, &msg));
    rmdir_all(dir);

    /* A store created in another zone keeps it, and reports it. */
    tmpdir(dir);
    o = opts_of(dir, plus2, 0);
    CHECK_ERR(ERR_OK, store_open(&o, &s2, &msg));
    CHECK_STR("Etc/GMT-2", stats_of(s2).tz);
    store_close(s2);
    CHECK_ERR(ERR_OK, store_open(&o, &s2, &msg));
    store_close(s2);
    kpi_tz_free(plus2);
    rmdir_all(dir);
}

static void test_read_only(void)
{
    char dir[64], missing[96];
    tmpdir(dir);
    store_t *s = NULL;
    err_msg_t msg = {{0}};

    /* Read-only never creates anything. */
    snprintf(missing, sizeof missing, "%s/none", dir);
    store_opts_t o = opts_of(missing, test_utc, 0);
    o.read_only = true;
    CHECK(store_open(&o, &s, &msg) != ERR_OK);
    struct stat sb;
    CHECK(stat(missing, &sb) != 0);
    o.dir = dir;
    CHECK_ERR(ERR_NOT_FOUND, store_open(&o, &s, &msg));

    s = open_store(dir, 0);
    put_book(s);
    store_close(s);
    CHECK_ERR(ERR_OK, store_open(&o, &s, &msg));
    CHECK_INT(3, stats_of(s).events);
    kpi_event_t e = ev(KPI_EV_CREDIT_LIMIT_SET, "l1", T(2025, 2, 1, 0), NULL, NULL, 500, "ACME");
    store_item_result_t r;
    store_batch_stats_t st;
    CHECK_ERR(ERR_READONLY, store_put_batch(s, &e, 1, NULL, &r, &st, &msg));
    store_close(s);

    /* A directory this process may not write (meaningless for root). */
    if (geteuid() != 0) {
        REQUIRE(chmod(dir, 0555) == 0);
        o.read_only = false;
        CHECK_ERR(ERR_READONLY, store_open(&o, &s, &msg));
        REQUIRE(chmod(dir, 0755) == 0);
    }
    rmdir_all(dir);
}

static void test_snapshot_isolation(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    put_book(s);
    store_snap_t *old = NULL;
    REQUIRE(store_snap_begin(s, &old) == ERR_OK);
    kpi_event_t e =
        ev(KPI_EV_INVOICE_WRITTEN_OFF, "w1", T(2025, 3, 1, 0), "INV-1", NULL, 1000, NULL);
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &e, NULL).status);
    /* The old snapshot still sees the invoice as it was. */
    store_doc_t d;
    CHECK_ERR(ERR_OK, store_doc_get(old, KPI_DOC_INVOICE, "INV-1", &d));
    CHECK_INT(6000, d.open_minor);
    CHECK_STR("ACME", d.party);
    CHECK_ERR(ERR_NOT_FOUND, store_event_get(old, "w1", count_row, &(size_t){0}));
    store_snap_end(old);
    CHECK_INT(5000, doc_of(s, KPI_DOC_INVOICE, "INV-1").open_minor);
    store_snap_end(NULL); /* a no-op */
    store_close(s);
    rmdir_all(dir);
}

/* The generation moves with every commit, also one made by another
   process, and stands still otherwise. */
static void test_generation(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    uint64_t g0 = 0, g1 = 0, g2 = 0;
    CHECK_ERR(ERR_OK, store_generation(s, &g0));
    CHECK_ERR(ERR_OK, store_generation(s, &g1));
    CHECK_INT(g0, g1); /* reading is not writing */
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_snap_end(sn);
    CHECK_ERR(ERR_OK, store_generation(s, &g1));
    CHECK_INT(g0, g1);
    kpi_event_t e = ev(KPI_EV_INVOICE_ISSUED, "g1", T(2025, 1, 2, 9), "INV-G", NULL, 100, "ACME");
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &e, NULL).status);
    CHECK_ERR(ERR_OK, store_generation(s, &g1));
    CHECK(g1 > g0);
    store_close(s);

    /* A read-only open sees a commit made by another process. */
    store_opts_t o = opts_of(dir, test_utc, 0);
    o.read_only = true;
    store_t *r = NULL;
    err_msg_t msg = {{0}};
    REQUIRE(store_open(&o, &r, &msg) == ERR_OK);
    CHECK_ERR(ERR_OK, store_generation(r, &g2));
    CHECK_INT(g1, g2);
    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        store_opts_t wo = opts_of(dir, test_utc, 0);
        store_t *cw = NULL;
        if (store_open(&wo, &cw, &msg) != ERR_OK)
            _exit(2);
        kpi_event_t e2 =
            ev(KPI_EV_INVOICE_ISSUED, "g2", T(2025, 1, 3, 9), "INV-H", NULL, 100, "ACME");
        int rc = put1(cw, &e2, NULL).status == STORE_ITEM_ACCEPTED ? 0 : 1;
        store_close(cw);
        _exit(rc);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK_ERR(ERR_OK, store_generation(r, &g2));
    CHECK(g2 > g1);
    store_close(r);
    rmdir_all(dir);
}

static void put_many(store_t *s, int from, int n)
{
    kpi_event_t *evs = calloc((size_t)n, sizeof *evs);
    char(*ids)[24] = calloc((size_t)n, 24);
    store_item_result_t *res = calloc((size_t)n, sizeof *res);
    REQUIRE(evs != NULL && ids != NULL && res != NULL);
    for (int i = 0; i < n; i++) {
        snprintf(ids[i], 24, "m%d", from + i);
        evs[i] = ev(KPI_EV_INVOICE_ISSUED, ids[i], T(2024, 1, 1 + i % 28, 9), ids[i], NULL, 100,
                    i % 2 ? "A" : "B");
    }
    store_batch_stats_t st = put(s, evs, (size_t)n, NULL, res);
    CHECK_INT(n, st.accepted);
    free(evs);
    free(ids);
    free(res);
}

/* A read-only process opened on a small file follows the writer process
   that grew the map past it. */
static void test_reader_follows_grown_map(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *w = open_store(dir, 64 * 1024);
    put_book(w);
    store_close(w);
    store_opts_t o = opts_of(dir, test_utc, 64 * 1024);
    o.read_only = true;
    store_t *r = NULL;
    err_msg_t msg = {{0}};
    REQUIRE(store_open(&o, &r, &msg) == ERR_OK);
    uint64_t before = stats_of(r).map_size;

    pid_t child = fork();
    REQUIRE(child >= 0);
    if (child == 0) {
        store_opts_t wo = opts_of(dir, test_utc, 64 * 1024);
        store_t *cw = NULL;
        if (store_open(&wo, &cw, &msg) != ERR_OK)
            _exit(2);
        put_many(cw, 0, 3000);
        int rc = test_failures_ == 0 && stats_of(cw).map_size > before ? 0 : 1;
        store_close(cw);
        _exit(rc);
    }
    int status = 0;
    REQUIRE(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    store_stats_t ss = stats_of(r);
    CHECK_INT(3003, ss.events);
    CHECK(ss.map_size > before);
    CHECK_INT(3003, count_events(r));
    store_close(r);
    rmdir_all(dir);
}

/* Readers keep taking snapshots while the writer grows a tiny map. */
typedef struct race {
    store_t *s;
    atomic_int stop; /* set by the main thread */
    size_t snaps;
    int errors;
} race_t;

static void *reader(void *arg)
{
    race_t *r = arg;
    while (!r->stop) {
        store_snap_t *sn = NULL;
        if (store_snap_begin(r->s, &sn) != ERR_OK) {
            r->errors++;
            continue;
        }
        store_ev_filter_t all = {0};
        char next[STORE_CURSOR_BUF];
        size_t n = 0;
        if (store_events_list(sn, &all, NULL, 50, count_row, &n, next) != ERR_OK)
            r->errors++;
        store_snap_end(sn);
        r->snaps++;
    }
    return NULL;
}

static void test_readers_while_map_grows(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 64 * 1024);
    race_t rs[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        rs[i] = (race_t){.s = s};
        REQUIRE(pthread_create(&th[i], NULL, reader, &rs[i]) == 0);
    }
    for (int b = 0; b < 20; b++)
        put_many(s, b * 200, 200);
    for (int i = 0; i < 3; i++) {
        rs[i].stop = 1;
        REQUIRE(pthread_join(th[i], NULL) == 0);
        CHECK_INT(0, rs[i].errors);
    }
    store_stats_t ss = stats_of(s);
    CHECK_INT(4000, ss.events);
    CHECK(ss.map_size > 64 * 1024);
    store_close(s);
    rmdir_all(dir);
}

/* A full disk: the batch fails as a whole with ERR_DISK_FULL, earlier
   batches stay, and the store keeps working. Needs a small file system, so
   it runs only where this process may mount a tmpfs (root in a container). */
static void test_disk_full(void)
{
    char dir[64], cmd[160];
    tmpdir(dir);
    snprintf(cmd, sizeof cmd, "mount -t tmpfs -o size=1m tmpfs '%s' 2>/dev/null", dir);
    if (geteuid() != 0 || system(cmd) != 0) {
        test_skip("cannot mount a small tmpfs (needs root): the disk-full path is not checked");
        rmdir_all(dir);
        return;
    }
    store_t *s = open_store(dir, 64 * 1024);
    int batches = 0;
    err_t e = ERR_OK;
    err_msg_t msg = {{0}};
    uint64_t stored = 0;
    enum { B = 200 };
    static kpi_event_t evs[B];
    static char ids[B][24];
    static store_item_result_t res[B];
    while (e == ERR_OK && batches < 1000) {
        for (int i = 0; i < B; i++) {
            snprintf(ids[i], sizeof ids[i], "f%d-%d", batches, i);
            evs[i] = ev(KPI_EV_INVOICE_ISSUED, ids[i], T(2024, 1, 1 + i % 28, 9), ids[i], NULL, 100,
                        "A");
        }
        store_batch_stats_t st;
        e = store_put_batch(s, evs, B, NULL, res, &st, &msg);
        if (e == ERR_OK)
            stored += st.accepted;
        batches++;
    }
    CHECK_ERR(ERR_DISK_FULL, e);
    CHECK_MSG(strstr(msg.text, dir) != NULL, "%s", msg.text);
    CHECK(stored > 0);
    /* Nothing of the failed batch, everything before it. */
    CHECK_INT(stored, stats_of(s).events);
    kpi_event_t one = ev(KPI_EV_CREDIT_LIMIT_SET, "after", T(2025, 1, 1, 0), NULL, NULL, 1, "A");
    store_item_result_t r;
    store_batch_stats_t st;
    e = store_put_batch(s, &one, 1, NULL, &r, &st, &msg);
    CHECK(e == ERR_OK || e == ERR_DISK_FULL);
    stored += e == ERR_OK;
    store_close(s);
    store_opts_t o = opts_of(dir, test_utc, 0);
    o.read_only = true;
    CHECK_ERR(ERR_OK, store_open(&o, &s, &msg));
    if (s != NULL)
        CHECK_INT(stored, stats_of(s).events);
    store_close(s);
    snprintf(cmd, sizeof cmd, "umount '%s'", dir);
    CHECK(system(cmd) == 0);
    rmdir_all(dir);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    RUN(test_create_and_reopen);
    RUN(test_other_version_untouched);
    RUN(test_not_a_store);
    RUN(test_truncated_or_empty);
    RUN(test_never_committed);
    RUN(test_verify);
    RUN(test_second_writer_locked);
    RUN(test_other_settings);
    RUN(test_read_only);
    RUN(test_snapshot_isolation);
    RUN(test_generation);
    RUN(test_reader_follows_grown_map);
    RUN(test_readers_while_map_grows);
    RUN(test_disk_full);
    kpi_tz_free(test_utc);
    return test_summary();
}
