/*
 * test_store_upgrade.c — store_upgrade(): a format-2 store, built here with
 * raw LMDB calls exactly as format 2 laid it out, converted in place.
 * Checks that the log (events, ids, names, names_rev, meta counters) stays
 * byte-identical, that the format-2-only database goes, that every KPI
 * answer equals a fresh ingest of the same events, the refusals (each
 * leaving the file untouched), and that a process killed at each step of
 * the upgrade leaves a store that is either still format 2 or is refused
 * until the upgrade is run again, which then finishes it.
 *
 * The hand-built log is also compared with the log a fresh ingest writes:
 * the two formats share it, so the builder below is checked against the
 * real write path rather than against its own idea of format 2.
 */
#include <signal.h>
#include <stdarg.h>
#include <sys/file.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <lmdb.h>

#include "kpi_arena.h"
#include "kpi_event.h"
#include "store_kpi.h"
#include "store_query.h"
#include "store_query_ap.h"
#include "store_test.h"

/* ---- a small book ------------------------------------------------------------ */

enum { NEV = 20 };

/* In arrival order. P2's application arrives before its payment (it waits,
   pending, in a fresh ingest); everything names its unit so that format 2
   interned exactly party, unit and (for creators) the referenced invoice. */
static void book(kpi_event_t *e)
{
    int i = 0;
    e[i] = ev(KPI_EV_INVOICE_ISSUED, "e01", T(2024, 1, 5, 9), "I1", NULL, 100000, "ACME");
    e[i++].business_unit = "emea";
    e[i++] = ev(KPI_EV_INVOICE_REVIEWED, "e02", T(2024, 1, 6, 9), "I1", NULL, 0, NULL);
    e[i] = ev(KPI_EV_INVOICE_ISSUED, "e03", T(2024, 1, 10, 9), "I2", NULL, 50000, "BETA");
    e[i++].business_unit = "apac";
    e[i] = ev(KPI_EV_INVOICE_REVIEWED, "e04", T(2024, 1, 11, 9), "I2", NULL, 0, NULL);
    e[i++].result = KPI_RESULT_FAIL;
    e[i] = ev(KPI_EV_PAYMENT_RECEIVED, "e05", T(2024, 2, 1, 9), "P1", NULL, 60000, "ACME");
    e[i++].business_unit = "emea";
    e[i++] = ev(KPI_EV_PAYMENT_APPLIED, "e06", T(2024, 2, 2, 9), "P1", "I1", 60000, NULL);
    e[i] = ev(KPI_EV_CREDIT_NOTE_ISSUED, "e07", T(2024, 2, 10, 9), "C1", "I2", 5000, "BETA");
    e[i++].business_unit = "apac";
    e[i++] = ev(KPI_EV_INVOICE_ADJUSTED, "e08", T(2024, 2, 12, 9), "I2", NULL, 2000, NULL);
    e[i] = ev(KPI_EV_DISPUTE_OPENED, "e09", T(2024, 2, 15, 9), "D1", "I2", 0, "BETA");
    e[i++].business_unit = "apac";
    e[i] = ev(KPI_EV_BILL_RECEIVED, "e10", T(2024, 2, 20, 9), "B1", NULL, 30000, "V1");
    e[i++].business_unit = "emea";
    e[i++] = ev(KPI_EV_BILL_PROCESSED, "e11", T(2024, 2, 23, 9), "B1", NULL, 0, NULL);
    e[i++] = ev(KPI_EV_BILL_PAID, "e12", T(2024, 3, 15, 9), "B1", NULL, 30000, NULL);
    e[i++] = ev(KPI_EV_INVOICE_WRITTEN_OFF, "e13", T(2024, 3, 20, 9), "I2", NULL, 1000, NULL);
    e[i++] = ev(KPI_EV_PAYMENT_APPLIED, "e14", T(2024, 3, 2, 9), "P2", "I1", 30000, NULL);
    e[i] = ev(KPI_EV_PAYMENT_RECEIVED, "e15", T(2024, 3, 1, 9), "P2", NULL, 30000, "ACME");
    e[i++].business_unit = "emea";
    e[i++] = ev(KPI_EV_DISPUTE_RESOLVED, "e16", T(2024, 3, 25, 9), "D1", NULL, 0, NULL);
    e[i] = ev(KPI_EV_CREDIT_LIMIT_SET, "e17", T(2024, 1, 2, 9), NULL, NULL, 500000, "ACME");
    e[i++].business_unit = "emea";
    e[i] = ev(KPI_EV_INVOICE_ISSUED, "e18", T(2024, 4, 1, 9), "I3", NULL, 70000, "BETA");
    e[i++].business_unit = "apac";
    e[i] = ev(KPI_EV_INQUIRY_OPENED, "e19", T(2024, 4, 2, 9), "Q1", "I3", 0, "BETA");
    e[i++].business_unit = "apac";
    e[i++] = ev(KPI_EV_INQUIRY_RESOLVED, "e20", T(2024, 4, 9, 9), "Q1", NULL, 0, NULL);
    REQUIRE(i == NEV);
}

/* A fresh format-3 store of the book, through the real write path. */
static void fresh(const char *dir)
{
    kpi_event_t e[NEV];
    book(e);
    store_t *s = open_store(dir, 0);
    store_item_result_t res[NEV];
    store_batch_stats_t st = put(s, e, NEV, NULL, res);
    for (int i = 0; i < NEV; i++)
        CHECK_MSG(res[i].status == STORE_ITEM_ACCEPTED, "%s: %s", e[i].id, res[i].message);
    CHECK_INT(1, st.pending); /* e14 waits for P2 */
    store_close(s);
}

/* ---- raw LMDB ------------------------------------------------------------------ */

static MDB_val V(const void *p, size_t n)
{
    MDB_val v = {n, (void *)p};
    return v;
}

static MDB_val S(const char *s)
{
    return V(s, strlen(s));
}

static MDB_env *raw_env(const char *dir, bool rdonly)
{
    MDB_env *env;
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 32);
    mdb_env_set_mapsize(env, 64u << 20);
    REQUIRE(mdb_env_open(env, dir, MDB_NOTLS | (rdonly ? MDB_RDONLY : 0), 0644) == 0);
    return env;
}

static void be32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void be64(uint8_t *p, uint64_t v)
{
    be32(p, (uint32_t)(v >> 32));
    be32(p + 4, (uint32_t)v);
}

/* names / names_rev as format 2 interned them: ids from 1 in order of
   first use. */
typedef struct names {
    const char *v[64];
    uint32_t n;
} names_t;

static void intern(names_t *nm, MDB_txn *txn, MDB_dbi names, MDB_dbi rev, const char *name)
{
    if (name == NULL || name[0] == '\0')
        return;
    for (uint32_t i = 0; i < nm->n; i++)
        if (strcmp(nm->v[i], name) == 0)
            return;
    REQUIRE(nm->n < 64);
    nm->v[nm->n++] = name;
    uint8_t id[4];
    be32(id, nm->n);
    MDB_val k = S(name), v = V(id, 4), rk = V(id, 4), rv = V(name, strlen(name) + 1);
    REQUIRE(mdb_put(txn, names, &k, &v, 0) == 0);
    REQUIRE(mdb_put(txn, rev, &rk, &rv, 0) == 0);
}

typedef struct v2opts {
    uint32_t version;
    const char *tz;
    const char *currency;
    const void *fingerprint; /* d_meta "config", 8 bytes; NULL: none */
    const char *extra_db;    /* a database format 2 did not have, or NULL */
} v2opts_t;

/* The d_meta "config" of a store opened with the default settings: the
   same fingerprint function in both formats, taken from the real one. */
static void default_fingerprint(uint8_t fp[8])
{
    char dir[64];
    tmpdir(dir);
    store_close(open_store(dir, 0));
    MDB_env *env = raw_env(dir, true);
    MDB_txn *txn;
    MDB_dbi dm;
    REQUIRE(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "d_meta", 0, &dm) == 0);
    MDB_val k = S("config"), v;
    REQUIRE(mdb_get(txn, dm, &k, &v) == 0 && v.mv_size == 8);
    memcpy(fp, v.mv_data, 8);
    mdb_txn_abort(txn);
    mdb_env_close(env);
    rmdir_all(dir);
}

static uint8_t g_fp[8];

/* A format-2 store of the book, laid out as format 2 did: the log, its meta
   keys, and derived databases holding junk (a format-2 `docs` record, a
   d_state row...) that must not survive. */
static void build_v2(const char *dir, const v2opts_t *o)
{
    kpi_event_t e[NEV];
    book(e);
    MDB_env *env = raw_env(dir, false);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    static const char *const all[] = {"meta",     "events",  "ids",     "names",   "names_rev",
                                      "by_party", "by_bu",   "docs",    "pending", "d_flows",
                                      "d_open",   "d_tl",    "d_state", "d_sla",   "d_ftq",
                                      "d_cust",   "d_habit", "d_cidx",  "d_copen", "d_meta"};
    enum { NDB = sizeof all / sizeof all[0] };
    MDB_dbi db[NDB];
    for (size_t i = 0; i < NDB; i++)
        REQUIRE(mdb_dbi_open(txn, all[i], MDB_CREATE, &db[i]) == 0);
    MDB_dbi meta = db[0], events = db[1], ids = db[2], names = db[3], rev = db[4];
    names_t nm = {.n = 0};
    for (int i = 0; i < NEV; i++) {
        uint8_t key[16], enc[1024];
        be64(key, (uint64_t)e[i].time_s ^ 0x8000000000000000ull);
        be64(key + 8, (uint64_t)i + 1);
        size_t n;
        REQUIRE(kpi_event_encode(&e[i], enc, sizeof enc, &n) == ERR_OK);
        MDB_val k = V(key, 16), v = V(enc, n), ik = S(e[i].id);
        REQUIRE(mdb_put(txn, events, &k, &v, 0) == 0);
        REQUIRE(mdb_put(txn, ids, &ik, &k, 0) == 0);
        intern(&nm, txn, names, rev, e[i].party);
        intern(&nm, txn, names, rev, e[i].business_unit);
        if (kpi_ev_creates_doc(e[i].type))
            intern(&nm, txn, names, rev, e[i].ref);
    }
    uint32_t ver = o->version;
    uint64_t seq = NEV, nnames = nm.n, nevents = NEV, pending = 3, docs[KPI_DOC_COUNT] = {9, 9};
    struct {
        const char *k;
        MDB_val v;
    } mk[] = {{"version", V(&ver, 4)},      {"tz", S(o->tz)},
              {"currency", S(o->currency)}, {"seq", V(&seq, 8)},
              {"names", V(&nnames, 8)},     {"events", V(&nevents, 8)},
              {"pending", V(&pending, 8)},  {"docs", V(docs, sizeof docs)}};
    for (size_t i = 0; i < sizeof mk / sizeof mk[0]; i++) {
        MDB_val k = S(mk[i].k);
        REQUIRE(mdb_put(txn, meta, &k, &mk[i].v, 0) == 0);
    }
    /* Junk derived rows: a format-2 docs record is a fixed 136-byte
       doc_rec_t, which format 3 cannot read. */
    uint8_t junk[136] = {KPI_DOC_INVOICE, 1};
    uint8_t dk[3] = {KPI_DOC_INVOICE, 'I', '1'};
    MDB_val k = V(dk, 3), v = V(junk, sizeof junk);
    for (size_t i = 5; i < NDB - 1; i++)
        REQUIRE(mdb_put(txn, db[i], &k, &v, 0) == 0);
    if (o->fingerprint != NULL) {
        MDB_val ck = S("config"), cv = V(o->fingerprint, 8);
        REQUIRE(mdb_put(txn, db[NDB - 1], &ck, &cv, 0) == 0);
    }
    int32_t max_day = D(2030, 1, 1);
    MDB_val mdk = S("max_day"), mdv = V(&max_day, 4);
    REQUIRE(mdb_put(txn, db[NDB - 1], &mdk, &mdv, 0) == 0);
    if (o->extra_db != NULL) {
        MDB_dbi x;
        REQUIRE(mdb_dbi_open(txn, o->extra_db, MDB_CREATE, &x) == 0);
    }
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
}

static v2opts_t v2_default(void)
{
    v2opts_t o = {.version = 2, .tz = "UTC", .currency = "USD", .fingerprint = g_fp};
    return o;
}

/* Every entry of a database, or meta's log keys, as one byte string:
   (klen, key, vlen, value)... ; NULL when the database does not exist. */
typedef struct blob {
    uint8_t *p;
    size_t n, cap;
} blob_t;

static void blob_add(blob_t *b, const void *p, size_t n)
{
    if (b->n + n + 4 > b->cap) {
        b->cap = (b->n + n + 4) * 2;
        b->p = realloc(b->p, b->cap);
        REQUIRE(b->p != NULL);
    }
    uint8_t len[4];
    be32(len, (uint32_t)n);
    memcpy(b->p + b->n, len, 4);
    memcpy(b->p + b->n + 4, p, n);
    b->n += n + 4;
}

static const char *const meta_log_keys[] = {"tz", "currency", "seq", "names", "events"};

static blob_t dump(const char *dir, const char *db)
{
    blob_t b = {NULL, 0, 0};
    MDB_env *env = raw_env(dir, true);
    MDB_txn *txn;
    MDB_dbi dbi;
    REQUIRE(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    if (mdb_dbi_open(txn, db, 0, &dbi) == 0) {
        blob_add(&b, "", 0); /* exists */
        MDB_val k, v;
        if (strcmp(db, "meta") == 0) {
            for (size_t i = 0; i < sizeof meta_log_keys / sizeof meta_log_keys[0]; i++) {
                k = S(meta_log_keys[i]);
                REQUIRE(mdb_get(txn, dbi, &k, &v) == 0);
                blob_add(&b, k.mv_data, k.mv_size);
                blob_add(&b, v.mv_data, v.mv_size);
            }
        } else {
            MDB_cursor *c;
            REQUIRE(mdb_cursor_open(txn, dbi, &c) == 0);
            for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
                 rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
                blob_add(&b, k.mv_data, k.mv_size);
                blob_add(&b, v.mv_data, v.mv_size);
            }
            mdb_cursor_close(c);
        }
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return b;
}

static bool blob_eq(const blob_t *a, const blob_t *b)
{
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

static const char *const log_dbs[] = {"meta", "events", "ids", "names", "names_rev"};
enum { NLOG = sizeof log_dbs / sizeof log_dbs[0] };

typedef struct logdump {
    blob_t b[NLOG];
} logdump_t;

static logdump_t dump_log(const char *dir)
{
    logdump_t d;
    for (size_t i = 0; i < NLOG; i++)
        d.b[i] = dump(dir, log_dbs[i]);
    return d;
}

static void check_log_eq(const logdump_t *a, const logdump_t *b, const char *what)
{
    for (size_t i = 0; i < NLOG; i++)
        CHECK_MSG(blob_eq(&a->b[i], &b->b[i]), "%s: database %s differs", what, log_dbs[i]);
}

static void free_log(logdump_t *d)
{
    for (size_t i = 0; i < NLOG; i++)
        free(d->b[i].p);
}

/* meta `key` exists (raw read). */
static bool meta_has(const char *dir, const char *key)
{
    MDB_env *env = raw_env(dir, true);
    MDB_txn *txn;
    MDB_dbi meta;
    REQUIRE(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
    MDB_val k = S(key), v;
    bool has = mdb_get(txn, meta, &k, &v) == 0;
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return has;
}

static bool db_exists(const char *dir, const char *db)
{
    blob_t b = dump(dir, db);
    free(b.p);
    return b.n > 0;
}

/* A checksum of data.mdb, to show a refusal left it untouched. */
static void cksum(const char *dir, const char *out)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cksum < '%s/data.mdb' > '%s'", dir, out);
    REQUIRE(system(cmd) == 0);
}

static bool cksum_same(const char *dir, const char *saved)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cksum < '%s/data.mdb' | cmp -s - '%s'", dir, saved);
    return system(cmd) == 0;
}

/* ---- KPI answers as text ----------------------------------------------------- */

typedef struct text {
    char *p;
    size_t n, cap;
} text_t;

static void say(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(text_t *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char line[1024];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    REQUIRE(n >= 0 && (size_t)n < sizeof line);
    if (t->n + (size_t)n + 2 > t->cap) {
        t->cap = (t->n + (size_t)n + 2) * 2;
        t->p = realloc(t->p, t->cap);
        REQUIRE(t->p != NULL);
    }
    memcpy(t->p + t->n, line, (size_t)n);
    t->n += (size_t)n;
    t->p[t->n++] = '\n';
    t->p[t->n] = '\0';
}

static void say_aging(text_t *t, const char *what, const kpi_aging_t *a)
{
    char buf[512];
    size_t o = 0;
    for (size_t i = 0; i < a->n_buckets; i++)
        o += (size_t)snprintf(buf + o, sizeof buf - o, " %lld/%lld",
                              (long long)a->buckets[i].amount, (long long)a->buckets[i].count);
    say(t, "%s total %lld/%lld%s", what, (long long)a->total_amount, (long long)a->total_count,
        buf);
}

static void say_doc(text_t *t, const store_doc_t *d, const char *number)
{
    say(t,
        "doc %d %s exists %d seq %llu day %d due %d %s %s/%s/%s amt %lld adj %lld app %lld cr "
        "%lld wo %lld ref %lld paid %lld open %lld rev %u first %u corr %u rej %u esc %u closed "
        "%d pending %u",
        (int)d->kind, number, d->exists, (unsigned long long)d->created_seq, d->created_day,
        d->due_day, d->currency, d->party ? d->party : "-",
        d->business_unit ? d->business_unit : "-", d->ref ? d->ref : "-",
        (long long)d->amount_minor, (long long)d->adjusted_minor, (long long)d->applied_minor,
        (long long)d->credited_minor, (long long)d->written_off_minor, (long long)d->refunded_minor,
        (long long)d->paid_minor, (long long)d->open_minor, d->reviews, d->first_review,
        d->corrections, d->rejections, d->escalations, d->closed_day, d->pending_events);
}

static err_t say_doc_cb(void *ctx, const store_doc_t *d, const char *number)
{
    say(ctx, "  of customer:");
    say_doc(ctx, d, number);
    return ERR_OK;
}

static err_t count_ev(void *ctx, const store_ev_row_t *row)
{
    text_t *t = ctx;
    say(t, "event %llu day %d %s", (unsigned long long)row->seq, row->day, row->ev->id);
    return ERR_OK;
}

static void say_series(text_t *t, store_snap_t *sn, const store_scope_t *sc,
                       store_q_series_req_t *rq, kpi_arena_t *ar, const char *what)
{
    store_q_point_t pts[12];
    err_msg_t msg = {{0}};
    err_t e = store_q_series(sn, sc, rq, ar, pts, &msg);
    say(t, "%s -> %s", what, err_code(e));
    if (e)
        return;
    for (size_t i = 0; i < rq->n_periods; i++) {
        const store_q_point_t *p = &pts[i];
        char buf[700];
        size_t o = 0;
        for (size_t j = 0; j < p->n; j++)
            o += (size_t)snprintf(buf + o, sizeof buf - o, " %s=%lld", p->c[j].name,
                                  (long long)p->c[j].v);
        say(t, "  %d..%d money %lld %lld/%lld undef %d%s", p->start, p->end, (long long)p->money,
            (long long)p->value.num, (long long)p->value.den, (int)p->value.undef, buf);
    }
}

/* Every answer the store gives about the book, one line each. */
static text_t answers(const char *dir)
{
    text_t t = {NULL, 0, 0};
    store_t *s = open_store(dir, 0);
    store_stats_t ss = stats_of(s);
    say(&t, "events %llu pending %llu", (unsigned long long)ss.events,
        (unsigned long long)ss.pending);
    for (int k = 0; k < KPI_DOC_COUNT; k++)
        say(&t, "docs[%d] %llu", k, (unsigned long long)ss.docs[k]);
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    static const struct {
        kpi_doc_kind_t kind;
        const char *n;
    } docs[] = {{KPI_DOC_INVOICE, "I1"}, {KPI_DOC_INVOICE, "I2"}, {KPI_DOC_INVOICE, "I3"},
                {KPI_DOC_PAYMENT, "P1"}, {KPI_DOC_PAYMENT, "P2"}, {KPI_DOC_CREDIT_NOTE, "C1"},
                {KPI_DOC_DISPUTE, "D1"}, {KPI_DOC_BILL, "B1"},    {KPI_DOC_INQUIRY, "Q1"},
                {KPI_DOC_INVOICE, "NO"}};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        store_doc_t d;
        err_t e = store_doc_get(sn, docs[i].kind, docs[i].n, &d);
        if (e)
            say(&t, "doc %s -> %s", docs[i].n, err_code(e));
        else
            say_doc(&t, &d, docs[i].n);
    }
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(16u << 20, &ar) == ERR_OK);
    static const int32_t edges[] = {30, 60, 90, 120};
    static const char *const units[] = {NULL, "emea", "apac"};
    static const char *const parties[] = {NULL, "ACME", "BETA"};
    int32_t days[] = {D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31), D(2024, 5, 1)};
    for (size_t u = 0; u < 3; u++)
        for (size_t p = 0; p < 3; p++) {
            store_scope_t sc = {"USD", units[u], parties[p]};
            for (size_t di = 0; di < sizeof days / sizeof days[0]; di++)
                for (int basis = 0; basis < 2; basis++)
                    for (int g = 0; g < 3; g++) {
                        store_q_aging_req_t rq = {days[di], (store_basis_t)basis, edges, 4,
                                                  (store_q_group_t)g};
                        store_q_aging_t a;
                        err_msg_t msg = {{0}};
                        err_t e = store_q_aging(sn, &sc, &rq, ar, &a, &msg);
                        say(&t,
                            "aging %s/%s day %d basis %d group %d -> %s unapplied %lld "
                            "unalloc %lld groups %zu",
                            units[u] ? units[u] : "*", parties[p] ? parties[p] : "*", days[di],
                            basis, g, err_code(e), e ? 0 : (long long)a.unapplied_cash,
                            e ? 0 : (long long)a.unallocated_credits, e ? 0 : a.n_groups);
                        if (e)
                            continue;
                        say_aging(&t, "  all", &a.all);
                        for (size_t i = 0; i < a.n_groups; i++)
                            say_aging(&t, a.keys[i], &a.groups[i]);
                    }
        }
    /* The bills' aging (format 4's rows), whole book and by vendor. */
    for (size_t di = 0; di < sizeof days / sizeof days[0]; di++)
        for (int g = 0; g < 3; g++) {
            store_scope_t sc = {"USD", NULL, NULL};
            store_q_ap_aging_req_t rq = {days[di], STORE_BASIS_DUE, edges, 4,
                                         (store_q_ap_group_t)g};
            store_q_ap_aging_t a;
            err_msg_t msg = {{0}};
            err_t e = store_q_ap_aging(sn, &sc, &rq, ar, &a, &msg);
            say(&t, "ap aging day %d group %d -> %s groups %zu", days[di], g, err_code(e),
                e ? 0 : a.n_groups);
            if (e)
                continue;
            say_aging(&t, "  all", &a.all);
            for (size_t i = 0; i < a.n_groups; i++)
                say_aging(&t, a.keys[i], &a.groups[i]);
        }
    kpi_period_t per[12];
    size_t np = 0;
    REQUIRE(kpi_periods(D(2024, 1, 1), D(2024, 5, 31), KPI_IV_MONTH, per, 12, &np) == ERR_OK);
    const kpi_sla_def_t *defs;
    size_t nsla = store_sla_defs(s, &defs);
    for (size_t u = 0; u < 3; u++) {
        for (size_t p = 0; p < 3; p++) {
            store_scope_t sc = {"USD", units[u], parties[p]};
            char what[128];
            for (int m = 0; m < 4; m++) {
                store_q_series_req_t rq = {.what = STORE_Q_DSO,
                                           .method = m,
                                           .iv = KPI_IV_MONTH,
                                           .periods = per,
                                           .n_periods = np};
                snprintf(what, sizeof what, "dso %d %zu %zu", m, u, p);
                say_series(&t, sn, &sc, &rq, ar, what);
            }
            store_q_series_t kinds[] = {STORE_Q_CEI, STORE_Q_ROLLFORWARD};
            for (int k = 0; k < 2; k++) {
                store_q_series_req_t rq = {
                    .what = kinds[k], .iv = KPI_IV_MONTH, .periods = per, .n_periods = np};
                snprintf(what, sizeof what, "series %d %zu %zu", (int)kinds[k], u, p);
                say_series(&t, sn, &sc, &rq, ar, what);
            }
        }
        store_scope_t sc = {"USD", units[u], NULL};
        store_scope_t vs = {"USD", units[u], "V1"};
        char what[128];
        store_q_series_req_t rq = {
            .what = STORE_Q_DPO, .iv = KPI_IV_MONTH, .periods = per, .n_periods = np};
        snprintf(what, sizeof what, "dpo %zu", u);
        say_series(&t, sn, &sc, &rq, ar, what);
        say_series(&t, sn, &vs, &rq, ar, what);
        for (size_t i = 0; i < nsla; i++) {
            rq.what = STORE_Q_SLA;
            rq.sla = i;
            snprintf(what, sizeof what, "sla %zu %zu", i, u);
            say_series(&t, sn, &sc, &rq, ar, what);
        }
        for (int k = 0; k < 2; k++) {
            rq.what = STORE_Q_FTQ;
            rq.ftq_kind = (store_ftq_kind_t)k;
            snprintf(what, sizeof what, "ftq %d %zu", k, u);
            say_series(&t, sn, &sc, &rq, ar, what);
        }
    }
    for (size_t p = 1; p < 3; p++) {
        store_customer_t cu;
        err_t e = store_customer_get(sn, parties[p], &cu);
        say(&t, "customer %s -> %s limit %d %lld %s hold %d %s %d", parties[p], err_code(e),
            cu.has_limit, (long long)cu.credit_limit, cu.limit_currency, cu.on_hold, cu.hold_reason,
            cu.on_hold ? cu.hold_since : 0);
        kpi_habits_acc_t h;
        REQUIRE(store_customer_habits(sn, parties[p], "USD", &h) == ERR_OK);
        say(&t, "  habits %lld %lld %lld", (long long)h.amount, (long long)h.amount_x_days,
            (long long)h.amount_x_late);
        REQUIRE(store_customer_invoices(sn, parties[p], say_doc_cb, &t) == ERR_OK);
        REQUIRE(store_customer_disputes(sn, parties[p], say_doc_cb, &t) == ERR_OK);
        REQUIRE(store_customer_open_candidates(sn, parties[p], D(2030, 1, 1), say_doc_cb, &t) ==
                ERR_OK);
    }
    int32_t latest = 0;
    say(&t, "latest %s %d", err_code(store_latest_day(sn, &latest)), latest);
    char next[STORE_CURSOR_BUF];
    store_ev_filter_t f = {0};
    REQUIRE(store_events_list(sn, &f, NULL, 1000, count_ev, &t, next) == ERR_OK);
    f.party = "ACME";
    REQUIRE(store_events_list(sn, &f, NULL, 1000, count_ev, &t, next) == ERR_OK);
    f.party = NULL;
    f.business_unit = "apac";
    REQUIRE(store_events_list(sn, &f, NULL, 1000, count_ev, &t, next) == ERR_OK);
    kpi_arena_free(ar);
    store_snap_end(sn);
    uint64_t entries = 0;
    err_msg_t msg = {{0}};
    err_t e = store_verify(s, &entries, &msg);
    CHECK_MSG(e == ERR_OK, "verify: %s", msg.text);
    store_close(s);
    return t;
}

/* The answers of dir equal those of a fresh ingest of the book. */
static void check_answers_fresh(const char *dir)
{
    char fdir[64];
    tmpdir(fdir);
    fresh(fdir);
    text_t want = answers(fdir), got = answers(dir);
    CHECK(want.n > 2000); /* the comparison covers something */
    if (!(got.n == want.n && memcmp(got.p, want.p, got.n) == 0)) {
        /* Name the first line that differs. */
        size_t i = 0, line = 0;
        while (i < got.n && i < want.n && got.p[i] == want.p[i])
            if (got.p[i++] == '\n')
                line = i;
        CHECK_MSG(false, "answers differ at:\n    fresh:    %.200s\n    upgraded: %.200s",
                  want.p + line, got.p + line);
    }
    /* The hand-built log is the one the real write path writes. */
    logdump_t a = dump_log(fdir), b = dump_log(dir);
    check_log_eq(&a, &b, "upgraded vs fresh");
    free_log(&a);
    free_log(&b);
    free(want.p);
    free(got.p);
    rmdir_all(fdir);
}

/* ---- the upgrade's callbacks --------------------------------------------------- */

typedef struct seen {
    int steps[8];
    int n_steps;
    uint64_t last_done, last_total;
    int kill_at; /* a step to die at (SIGKILL), -1 none */
} seen_t;

static void on_step(void *ctx, store_upgrade_step_t st, const store_upgrade_info_t *info)
{
    seen_t *s = ctx;
    (void)info;
    if ((int)st == s->kill_at)
        raise(SIGKILL); /* what kill -9 does: no cleanup at all */
    if (s->n_steps < 8)
        s->steps[s->n_steps++] = (int)st;
}

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    seen_t *s = ctx;
    s->last_done = done;
    s->last_total = total;
}

static err_t upgrade(const char *dir, seen_t *seen, store_upgrade_info_t *info, err_msg_t *msg)
{
    store_opts_t o = opts_of(dir, test_utc, 0);
    store_upgrade_cb_t cb = {on_step, on_progress, seen};
    return store_upgrade(&o, &cb, info, msg);
}

/* ---- tests ------------------------------------------------------------------------ */

/* A format-2 store, or (from 3) a format-3 one: the same log, no bills'
   open amounts (d_ap_open, d_ap_tl: format 4), which the replay fills. */
static void upgrade_from(uint32_t from)
{
    char dir[64];
    tmpdir(dir);
    v2opts_t vo = v2_default();
    vo.version = from;
    build_v2(dir, &vo);
    logdump_t before = dump_log(dir);

    /* Every other way of opening it is refused, naming the command. */
    store_opts_t o = opts_of(dir, test_utc, 0);
    store_t *s = NULL;
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_STORE_VERSION, store_open(&o, &s, &msg));
    char want[256];
    snprintf(want, sizeof want, "run `kpid upgrade --data %s`", dir);
    CHECK_MSG(strstr(msg.text, want) != NULL, "%s", msg.text);
    o.read_only = true;
    CHECK_ERR(ERR_STORE_VERSION, store_open(&o, &s, &msg));
    o.read_only = false;
    o.rebuild = true;
    CHECK_ERR(ERR_STORE_VERSION, store_open(&o, &s, &msg));

    seen_t seen = {.kill_at = -1};
    store_upgrade_info_t info;
    err_t e = upgrade(dir, &seen, &info, &msg);
    CHECK_MSG(e == ERR_OK, "%s", msg.text);
    CHECK_INT(from, info.from_version);
    CHECK_INT(NEV, info.events);
    CHECK(!info.nothing_to_do && !info.resumed && info.replay);
    CHECK_INT(3, seen.n_steps);
    CHECK_INT(STORE_UPGRADE_PLAN, seen.steps[0]);
    CHECK_INT(STORE_UPGRADE_MARKED, seen.steps[1]);
    CHECK_INT(STORE_UPGRADE_REPLAYED, seen.steps[2]);
    CHECK_INT(NEV, seen.last_done);
    CHECK_INT(NEV, seen.last_total);

    /* The log byte for byte; d_state gone; no marker left. */
    logdump_t after = dump_log(dir);
    check_log_eq(&before, &after, "before vs after the upgrade");
    free_log(&before);
    free_log(&after);
    CHECK(!db_exists(dir, "d_state"));
    CHECK(db_exists(dir, "docs"));
    CHECK(db_exists(dir, "d_ap_open") && db_exists(dir, "d_ap_tl"));
    CHECK(!meta_has(dir, "upgrading"));
    CHECK(!meta_has(dir, "rebuilding"));
    check_answers_fresh(dir);

    /* Again: nothing to do, nothing written. */
    char sum[128];
    snprintf(sum, sizeof sum, "%s.sum", dir);
    cksum(dir, sum);
    seen_t again = {.kill_at = -1};
    CHECK_ERR(ERR_OK, upgrade(dir, &again, &info, &msg));
    CHECK(info.nothing_to_do);
    CHECK_INT(STORE_FORMAT_VERSION, info.from_version);
    CHECK_INT(0, again.n_steps);
    CHECK(cksum_same(dir, sum));
    remove(sum);
    rmdir_all(dir);
}

static void test_upgrade(void)
{
    upgrade_from(2);
}

static void test_upgrade_from_3(void)
{
    upgrade_from(3);
}

/* Build a store with `vo`, check store_upgrade refuses it with `code` and
   `text` in the message, leaving data.mdb byte-identical. */
static void refused(const v2opts_t *vo, const store_opts_t *over, err_t code, const char *text)
{
    char dir[64], sum[128];
    tmpdir(dir);
    build_v2(dir, vo);
    snprintf(sum, sizeof sum, "%s.sum", dir);
    cksum(dir, sum);
    store_opts_t o = over ? *over : opts_of(dir, test_utc, 0);
    o.dir = dir;
    err_msg_t msg = {{0}};
    seen_t seen = {.kill_at = -1};
    store_upgrade_cb_t cb = {on_step, on_progress, &seen};
    store_upgrade_info_t info;
    CHECK_ERR(code, store_upgrade(&o, &cb, &info, &msg));
    CHECK_MSG(strstr(msg.text, text) != NULL, "want '%s' in: %s", text, msg.text);
    CHECK_INT(0, seen.n_steps); /* not even the plan */
    CHECK(cksum_same(dir, sum));
    remove(sum);
    rmdir_all(dir);
}

static void test_refusals(void)
{
    err_msg_t msg = {{0}};
    store_upgrade_info_t info;
    store_opts_t o = opts_of("/nonexistent/kpid", test_utc, 0);
    CHECK_ERR(ERR_NOT_FOUND, store_upgrade(&o, NULL, &info, &msg));
    o.tz = NULL;
    CHECK_ERR(ERR_BAD_PARAM, store_upgrade(&o, NULL, &info, &msg));

    /* An empty directory: nothing to upgrade, and nothing created there. */
    char dir[64], path[128];
    tmpdir(dir);
    o = opts_of(dir, test_utc, 0);
    CHECK_ERR(ERR_NOT_FOUND, store_upgrade(&o, NULL, &info, &msg));
    CHECK(strstr(msg.text, "no kpid store") != NULL);
    snprintf(path, sizeof path, "%s/kpid.lock", dir);
    CHECK(access(path, F_OK) != 0);

    /* Not LMDB; an empty file. */
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fclose(f);
    CHECK_ERR(ERR_STORE_CORRUPT, store_upgrade(&o, NULL, &info, &msg));
    CHECK(strstr(msg.text, "empty") != NULL);
    f = fopen(path, "w");
    REQUIRE(f != NULL);
    for (int i = 0; i < 200; i++)
        fputs("this is not an LMDB file, just text\n", f);
    fclose(f);
    char sum[128];
    snprintf(sum, sizeof sum, "%s.sum", dir);
    cksum(dir, sum);
    CHECK_ERR(ERR_STORE_CORRUPT, store_upgrade(&o, NULL, &info, &msg));
    CHECK(strstr(msg.text, "not a kpid store") != NULL);
    CHECK(cksum_same(dir, sum));
    remove(sum);
    rmdir_all(dir);

    /* An LMDB file nothing was ever committed to (its creator was killed
       first): no store. */
    tmpdir(dir);
    MDB_env *env = raw_env(dir, false);
    mdb_env_close(env);
    o = opts_of(dir, test_utc, 0);
    CHECK_ERR(ERR_NOT_FOUND, store_upgrade(&o, NULL, &info, &msg));
    CHECK(strstr(msg.text, "never written") != NULL);
    rmdir_all(dir);

    /* LMDB, but another program's (no meta). */
    tmpdir(dir);
    env = raw_env(dir, false);
    MDB_txn *txn;
    MDB_dbi x;
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "other", MDB_CREATE, &x) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    o = opts_of(dir, test_utc, 0);
    CHECK_ERR(ERR_STORE_CORRUPT, store_upgrade(&o, NULL, &info, &msg));
    CHECK(strstr(msg.text, "not a kpid store") != NULL);
    rmdir_all(dir);

    /* Unknown versions, older and newer. */
    v2opts_t vo = v2_default();
    vo.version = 1;
    refused(&vo, NULL, ERR_STORE_VERSION, "format version 1");
    vo.version = STORE_FORMAT_VERSION + 1;
    refused(&vo, NULL, ERR_STORE_VERSION, "upgrades versions 2 to 3 only");
    /* Other creation settings than the configuration's. */
    vo = v2_default();
    vo.tz = "Europe/Berlin";
    refused(&vo, NULL, ERR_CONFIG, "time zone Europe/Berlin");
    vo = v2_default();
    vo.currency = "EUR";
    refused(&vo, NULL, ERR_CONFIG, "base currency EUR");
    /* KPIs computed with other SLAs than these: the replay would change
       them behind the operator's back. */
    vo = v2_default();
    uint8_t other_fp[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    vo.fingerprint = other_fp;
    refused(&vo, NULL, ERR_CONFIG, "--config");
    /* A database format 2 never had. */
    vo = v2_default();
    vo.extra_db = "d_future";
    refused(&vo, NULL, ERR_STORE_VERSION, "'d_future'");

    /* Another process holds the writer lock. */
    tmpdir(dir);
    vo = v2_default();
    build_v2(dir, &vo);
    snprintf(path, sizeof path, "%s/kpid.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT, 0644);
    REQUIRE(fd >= 0);
    REQUIRE(write(fd, "4242\n", 5) == 5);
    /* flock is per open file: this one conflicts with the upgrade's own. */
    REQUIRE(flock(fd, LOCK_EX | LOCK_NB) == 0);
    o = opts_of(dir, test_utc, 0);
    CHECK_ERR(ERR_STORE_LOCKED, store_upgrade(&o, NULL, &info, &msg));
    CHECK_MSG(strstr(msg.text, "pid 4242") != NULL, "%s", msg.text);
    close(fd);
    CHECK(meta_has(dir, "version"));
    CHECK(db_exists(dir, "d_state")); /* untouched */
    rmdir_all(dir);

    /* Format 3 after an interrupted `kpid rebuild`: not the upgrade's to
       finish; it says which command is. */
    tmpdir(dir);
    fresh(dir);
    env = raw_env(dir, false);
    MDB_dbi meta;
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
    uint8_t one = 1;
    MDB_val k = S("rebuilding"), v = V(&one, 1);
    REQUIRE(mdb_put(txn, meta, &k, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    o = opts_of(dir, test_utc, 0);
    CHECK_ERR(ERR_CONFIG, store_upgrade(&o, NULL, &info, &msg));
    CHECK(strstr(msg.text, "kpid rebuild") != NULL);
    rmdir_all(dir);
}

/* Run the upgrade in a child that kills itself at `step`. */
static void upgrade_killed_at(const char *dir, store_upgrade_step_t step)
{
    fflush(NULL);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        seen_t seen = {.kill_at = (int)step};
        err_msg_t msg;
        store_upgrade_info_t info;
        (void)upgrade(dir, &seen, &info, &msg);
        _exit(0); /* not reached when the step came */
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

static void test_killed(void)
{
    char dir[64], sum[128];
    err_msg_t msg = {{0}};
    store_upgrade_info_t info;

    /* Killed after the checks, before the first write: still format 2,
       byte for byte, and upgradable. */
    tmpdir(dir);
    v2opts_t vo = v2_default();
    build_v2(dir, &vo);
    snprintf(sum, sizeof sum, "%s.sum", dir);
    cksum(dir, sum);
    upgrade_killed_at(dir, STORE_UPGRADE_PLAN);
    CHECK(cksum_same(dir, sum));
    remove(sum);
    seen_t seen = {.kill_at = -1};
    CHECK_ERR(ERR_OK, upgrade(dir, &seen, &info, &msg));
    CHECK(!info.resumed);
    check_answers_fresh(dir);
    rmdir_all(dir);

    /* Killed once marked, before the replay: refused by every open, naming
       the upgrade; the upgrade again finishes it. */
    tmpdir(dir);
    build_v2(dir, &vo);
    logdump_t before = dump_log(dir);
    upgrade_killed_at(dir, STORE_UPGRADE_MARKED);
    CHECK(meta_has(dir, "upgrading"));
    CHECK(meta_has(dir, "rebuilding"));
    CHECK(!db_exists(dir, "d_state"));
    /* The store's own derived databases are deleted (store_open creates
       them with this format's flags); the KPI state's are emptied. */
    CHECK(!db_exists(dir, "by_party") && !db_exists(dir, "docs"));
    CHECK(db_exists(dir, "d_flows"));
    store_opts_t o = opts_of(dir, test_utc, 0);
    store_t *s = NULL;
    CHECK_ERR(ERR_CONFIG, store_open(&o, &s, &msg));
    char want[256];
    snprintf(want, sizeof want, "a `kpid upgrade` was interrupted; run `kpid upgrade --data %s`",
             dir);
    CHECK_MSG(strstr(msg.text, want) != NULL, "%s", msg.text);
    o.read_only = true;
    CHECK_ERR(ERR_CONFIG, store_open(&o, &s, &msg));
    seen = (seen_t){.kill_at = -1};
    CHECK_ERR(ERR_OK, upgrade(dir, &seen, &info, &msg));
    CHECK(info.resumed && info.replay);
    CHECK_INT(NEV, info.events);
    CHECK_INT(2, seen.n_steps); /* the plan, the replay: marked already */
    CHECK_INT(STORE_UPGRADE_REPLAYED, seen.steps[1]);
    CHECK_INT(NEV, seen.last_done);
    CHECK(!meta_has(dir, "upgrading"));
    logdump_t after = dump_log(dir);
    check_log_eq(&before, &after, "resumed");
    free_log(&after);
    check_answers_fresh(dir);
    rmdir_all(dir);

    /* The same interruption finished by `kpid rebuild` instead: correct,
       and the leftover marker is harmless and removed by an upgrade. */
    tmpdir(dir);
    build_v2(dir, &vo);
    upgrade_killed_at(dir, STORE_UPGRADE_MARKED);
    o = opts_of(dir, test_utc, 0);
    o.rebuild = true;
    CHECK_ERR(ERR_OK, store_open(&o, &s, &msg));
    CHECK_ERR(ERR_OK, store_rebuild(s, NULL, NULL, &msg));
    store_close(s);
    check_answers_fresh(dir);
    CHECK(meta_has(dir, "upgrading"));
    seen = (seen_t){.kill_at = -1};
    CHECK_ERR(ERR_OK, upgrade(dir, &seen, &info, &msg));
    CHECK(info.resumed && !info.replay);
    CHECK_INT(0, seen.last_done); /* no second replay */
    CHECK(!meta_has(dir, "upgrading"));
    check_answers_fresh(dir);
    rmdir_all(dir);

    /* Killed after the replay, before the marker went: already correct and
       open; the upgrade removes the marker without replaying. */
    tmpdir(dir);
    build_v2(dir, &vo);
    upgrade_killed_at(dir, STORE_UPGRADE_REPLAYED);
    CHECK(meta_has(dir, "upgrading"));
    CHECK(!meta_has(dir, "rebuilding"));
    check_answers_fresh(dir);
    seen = (seen_t){.kill_at = -1};
    CHECK_ERR(ERR_OK, upgrade(dir, &seen, &info, &msg));
    CHECK(info.resumed && !info.replay);
    CHECK_INT(0, seen.last_done);
    CHECK(!meta_has(dir, "upgrading"));
    after = dump_log(dir);
    check_log_eq(&before, &after, "marker removed");
    free_log(&after);
    free_log(&before);
    rmdir_all(dir);
}

int main(void)
{
    test_utc = fixed_zone("UTC", 0, "UTC0");
    default_fingerprint(g_fp);
    RUN(test_upgrade);
    RUN(test_upgrade_from_3);
    RUN(test_refusals);
    RUN(test_killed);
    kpi_tz_free(test_utc);
    return test_summary();
}
