/*
 * test_store_derive.c — derived KPI state on hand-checked ledgers, and its
 * order independence (the same events in another order give the same
 * state, which is what makes late events and `kpid rebuild` safe).
 *
 * Calendar facts used below (checked on a 2024 calendar):
 *   2024-01-10 Wed; terms 30 -> due 2024-02-09 Fri.
 *   2024-02-20 Tue: 41 days after issue, 11 days after due.
 *   2024-02-29 exists (leap year).
 *   2024-03-01 Fri; 2024-03-06 Wed is its 3rd business day after; the 4th
 *   is Thu 2024-03-07.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "kpi_date.h"
#include "kpi_tz.h"
#include "store_derive.h"
#include "lmdb_test.h"
#include "test.h"

static int32_t D(int y, int m, int d)
{
    return kpi_days_from_civil(y, m, d);
}

static int64_t T(int y, int m, int d, int h)
{
    return kpi_day_start_utc(D(y, m, d)) + h * 3600;
}

typedef struct env {
    lmdb_dir_t ld;
    MDB_env *env;
    derive_t d;
    kpi_tz_t *tz;
    MDB_dbi docs; /* the store's documents, which hold the derived state */
    docset_t *ds;
} env_t;

static void env_open(env_t *e)
{
    memset(e, 0, sizeof *e);
    lmdb_dir_open(&e->ld, "derive", 16);
    e->env = e->ld.env;
    REQUIRE(kpi_tz_new_utc(&e->tz) == ERR_OK);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e->env, NULL, 0, &txn) == 0);
    derive_config_t cfg = {.tz = e->tz};
    err_msg_t msg;
    REQUIRE(derive_open(&e->d, txn, &cfg, true, false, &msg) == ERR_OK);
    REQUIRE(mdb_dbi_open(txn, "docs", MDB_CREATE, &e->docs) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    e->ds = docset_new();
    REQUIRE(e->ds != NULL);
    e->d.ds = e->ds;
}

static void env_close(env_t *e)
{
    docset_free(e->ds);
    lmdb_dir_close(&e->ld);
    kpi_tz_free(e->tz);
}

/* A compact event description for the tables below. */
typedef struct ev {
    kpi_ev_type_t type;
    const char *id;
    int64_t t;
    const char *doc, *ref;
    int64_t amount;
    uint32_t unit, party;
    int32_t terms; /* invoices/bills: terms_days; -1 none */
    uint8_t result;
} ev_t;

static kpi_event_t build_ev(const ev_t *x)
{
    kpi_event_t ev = {0};
    ev.type = x->type;
    ev.id = x->id;
    ev.time_s = x->t;
    ev.business_unit = "";
    ev.doc = x->doc;
    ev.ref = x->ref;
    ev.result = x->result;
    ev.text = "reason";
    if (x->amount != 0) {
        ev.flags |= KPI_EVF_AMOUNT;
        ev.amount_minor = x->amount;
    }
    if (x->terms >= 0 && (x->type == KPI_EV_INVOICE_ISSUED || x->type == KPI_EV_BILL_RECEIVED)) {
        ev.flags |= KPI_EVF_TERMS;
        ev.terms_days = x->terms;
    }
    return ev;
}

static err_t apply(env_t *e, const ev_t *x)
{
    kpi_event_t ev = build_ev(x);
    derive_ctx_t cx = {x->unit, x->party, "USD"};
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e->env, NULL, 0, &txn) == 0);
    docset_begin(e->ds, txn, e->docs);
    err_msg_t msg = {{0}};
    err_t r = derive_apply(&e->d, txn, &ev, &cx, &msg);
    if (r) {
        fprintf(stderr, "    apply %s: %s\n", x->id, msg.text);
        docset_end(e->ds);
        mdb_txn_abort(txn);
    } else {
        REQUIRE(docset_flush(e->ds) == 0);
        docset_end(e->ds);
        REQUIRE(mdb_txn_commit(txn) == 0);
    }
    return r;
}

static MDB_txn *rd(env_t *e)
{
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(e->env, NULL, MDB_RDONLY, &txn) == 0);
    return txn;
}

enum { U = 1, C = 2, V = 3 };

/* Invoice 1000.00, paid 600.00 late, credited 150.00, 250.00 written off. */
static const ev_t ledger[] = {
    {KPI_EV_INVOICE_ISSUED, "e1", 0, "I1", NULL, 100000, U, C, 30, 0},
    {KPI_EV_PAYMENT_RECEIVED, "e2", 0, "P1", NULL, 60000, U, C, -1, 0},
    {KPI_EV_PAYMENT_APPLIED, "e3", 0, "P1", "I1", 60000, U, C, -1, 0},
    {KPI_EV_CREDIT_NOTE_ISSUED, "e4", 0, "CN1", "I1", 15000, U, C, -1, 0},
    {KPI_EV_INVOICE_WRITTEN_OFF, "e5", 0, "I1", NULL, 25000, U, C, -1, 0},
};

static void ledger_times(ev_t *v)
{
    memcpy(v, ledger, sizeof ledger);
    v[0].t = T(2024, 1, 10, 9);
    v[1].t = T(2024, 2, 20, 10);
    v[2].t = T(2024, 2, 20, 11);
    v[3].t = T(2024, 3, 1, 12);
    v[4].t = T(2024, 3, 15, 12);
}

static void open_at(env_t *e, uint32_t unit, uint32_t party, store_basis_t basis, int32_t as_of,
                    int64_t *amount, int64_t *count, size_t *groups)
{
    kpi_arena_t *a;
    REQUIRE(kpi_arena_new(1 << 20, &a) == ERR_OK);
    MDB_txn *txn = rd(e);
    derive_scope_t sc = {"USD", unit, party};
    kpi_open_group_t *g;
    size_t n;
    CHECK_ERR(ERR_OK, derive_open_groups(&e->d, txn, &sc, basis, as_of, INT32_MIN, a, &g, &n));
    *amount = 0;
    *count = 0;
    for (size_t i = 0; i < n; i++) {
        *amount += g[i].amount;
        *count += g[i].count;
    }
    *groups = n;
    mdb_txn_abort(txn);
    kpi_arena_free(a);
}

static err_t count_doc(void *ctx, const char *number)
{
    (void)number;
    (*(int *)ctx)++;
    return ERR_OK;
}

static void test_invoice_life(void)
{
    env_t e;
    env_open(&e);
    ev_t v[5];
    ledger_times(v);
    for (size_t i = 0; i < 5; i++)
        CHECK_ERR(ERR_OK, apply(&e, &v[i]));
    struct {
        int32_t day;
        int64_t amount, count;
    } want[] = {
        {D(2024, 1, 9), 0, 0},      {D(2024, 1, 10), 100000, 1}, {D(2024, 2, 19), 100000, 1},
        {D(2024, 2, 20), 40000, 1}, {D(2024, 2, 29), 40000, 1},  {D(2024, 3, 1), 25000, 1},
        {D(2024, 3, 14), 25000, 1}, {D(2024, 3, 15), 0, 0},      {D(2025, 1, 1), 0, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int64_t amt, cnt;
        size_t ng;
        for (int b = 0; b < 2; b++) {
            for (uint32_t unit = 0; unit <= U; unit += U) {
                for (uint32_t party = 0; party <= C; party += C) {
                    open_at(&e, unit, party, (store_basis_t)b, want[i].day, &amt, &cnt, &ng);
                    CHECK_INT(want[i].amount, amt);
                    CHECK_INT(want[i].count, cnt);
                }
            }
        }
        /* The invoice's own timeline agrees. */
        MDB_txn *txn = rd(&e);
        int64_t open;
        CHECK_ERR(ERR_OK, derive_invoice_open_at(&e.d, txn, "I1", want[i].day, &open));
        CHECK_INT(want[i].amount, open);
        mdb_txn_abort(txn);
    }
    /* Basis days: due 2024-02-09 (terms 30) and issue 2024-01-10. */
    kpi_arena_t *a;
    REQUIRE(kpi_arena_new(1 << 20, &a) == ERR_OK);
    MDB_txn *txn = rd(&e);
    derive_scope_t sc = {"USD", 0, 0};
    kpi_open_group_t *g;
    size_t n;
    CHECK_ERR(ERR_OK, derive_open_groups(&e.d, txn, &sc, STORE_BASIS_DUE, D(2024, 2, 25), INT32_MIN,
                                         a, &g, &n));
    REQUIRE(n == 1);
    CHECK_INT(D(2024, 2, 9), g[0].basis_day);
    CHECK_ERR(ERR_OK, derive_open_groups(&e.d, txn, &sc, STORE_BASIS_ISSUE, D(2024, 2, 25),
                                         INT32_MIN, a, &g, &n));
    REQUIRE(n == 1);
    CHECK_INT(D(2024, 1, 10), g[0].basis_day);
    /* min_basis_day filters: nothing due on or after 2024-02-10. */
    CHECK_ERR(ERR_OK, derive_open_groups(&e.d, txn, &sc, STORE_BASIS_DUE, D(2024, 2, 25),
                                         D(2024, 2, 10), a, &g, &n));
    CHECK_INT(0, n);

    /* Flows: AR(d) = sales + adj - applied - credits - write-offs. */
    int32_t days[] = {D(2024, 1, 9), D(2024, 2, 29), D(2024, 12, 31)};
    store_flows_t f[3];
    CHECK_ERR(ERR_OK, derive_flows_cumulative(&e.d, txn, &sc, days, 3, f));
    CHECK_INT(0, f[0].sales);
    CHECK_INT(100000, f[1].sales);
    CHECK_INT(1, f[1].invoices);
    CHECK_INT(60000, f[1].cash_applied);
    CHECK_INT(60000, f[1].cash_received);
    CHECK_INT(60000, f[1].cash_applied_out);
    CHECK_INT(0, f[1].credit_notes);
    CHECK_INT(15000, f[2].credit_notes);
    CHECK_INT(25000, f[2].write_offs);
    int32_t first;
    CHECK_ERR(ERR_OK, derive_flows_first_day(&e.d, txn, &sc, &first));
    CHECK_INT(D(2024, 1, 10), first);
    derive_scope_t other = {"EUR", 0, 0};
    CHECK_ERR(ERR_NOT_FOUND, derive_flows_first_day(&e.d, txn, &other, &first));

    /* Habits: 600.00 applied 41 days after issue, 11 beyond terms. */
    kpi_habits_acc_t h;
    CHECK_ERR(ERR_OK, derive_habits(&e.d, txn, C, "USD", &h));
    CHECK_INT(60000, h.amount);
    CHECK_INT(60000 * 41, (int64_t)h.amount_x_days);
    CHECK_INT(60000 * 11, (int64_t)h.amount_x_late);

    /* The customer's invoices. */
    int count = 0;
    CHECK_ERR(ERR_OK, derive_customer_docs(&e.d, txn, C, KPI_DOC_INVOICE, count_doc, &count));
    CHECK_INT(1, count);
    mdb_txn_abort(txn);
    kpi_arena_free(a);
    env_close(&e);
}

/* Snapshot of everything the queries can see, for comparing two stores. */
static void fingerprint(env_t *e, int64_t *out, size_t *n)
{
    *n = 0;
    MDB_txn *txn = rd(e);
    kpi_arena_t *a;
    REQUIRE(kpi_arena_new(1 << 20, &a) == ERR_OK);
    for (int32_t day = D(2024, 1, 1); day <= D(2024, 4, 30); day += 3) {
        for (int b = 0; b < 2; b++) {
            derive_scope_t sc = {"USD", 0, 0};
            kpi_open_group_t *g;
            size_t ng;
            CHECK_ERR(ERR_OK, derive_open_groups(&e->d, txn, &sc, (store_basis_t)b, day, INT32_MIN,
                                                 a, &g, &ng));
            for (size_t i = 0; i < ng; i++) {
                out[(*n)++] = g[i].basis_day;
                out[(*n)++] = g[i].amount;
                out[(*n)++] = g[i].count;
            }
        }
        derive_scope_t sc = {"USD", U, C};
        store_flows_t f;
        CHECK_ERR(ERR_OK, derive_flows_cumulative(&e->d, txn, &sc, &day, 1, &f));
        memcpy(out + *n, &f, sizeof f);
        *n += sizeof f / sizeof(int64_t);
        for (size_t s = 0; s < e->d.n_slas; s++) {
            store_sla_counts_t sl;
            CHECK_ERR(ERR_OK, derive_sla_cumulative(&e->d, txn, s, 0, &day, 1, &sl));
            memcpy(out + *n, &sl, sizeof sl);
            *n += 4;
        }
        for (int k = 0; k < 2; k++) {
            store_ftq_counts_t q;
            CHECK_ERR(ERR_OK,
                      derive_ftq_cumulative(&e->d, txn, (store_ftq_kind_t)k, U, &day, 1, &q));
            out[(*n)++] = q.reviewed;
            out[(*n)++] = q.passed;
        }
        kpi_arena_reset(a);
    }
    kpi_arena_free(a);
    mdb_txn_abort(txn);
}

/* A richer book: late movements, a movement dated before its invoice, an
   over-credit, an adjustment reversed, reviews, bills, disputes. */
static const ev_t book[] = {
    {KPI_EV_INVOICE_ISSUED, "b01", 0, "I1", NULL, 100000, U, C, 30, 0},
    {KPI_EV_INVOICE_ISSUED, "b02", 0, "I2", NULL, 50000, U, C, 60, 0},
    {KPI_EV_INVOICE_ISSUED, "b03", 0, "I3", NULL, 20000, 4, 5, 30, 0},
    {KPI_EV_PAYMENT_RECEIVED, "b04", 0, "P1", NULL, 80000, U, C, -1, 0},
    {KPI_EV_PAYMENT_APPLIED, "b05", 0, "P1", "I1", 50000, U, C, -1, 0},
    {KPI_EV_PAYMENT_APPLIED, "b06", 0, "P1", "I2", 30000, U, C, -1, 0},
    {KPI_EV_CREDIT_NOTE_ISSUED, "b07", 0, "CN1", "I3", 25000, 4, 5, -1, 0},
    {KPI_EV_INVOICE_ADJUSTED, "b08", 0, "I2", NULL, 5000, U, C, -1, 0},
    {KPI_EV_INVOICE_ADJUSTED, "b09", 0, "I2", NULL, -5000, U, C, -1, 0},
    {KPI_EV_INVOICE_REVIEWED, "b10", 0, "I1", NULL, 0, U, C, -1, KPI_RESULT_PASS},
    {KPI_EV_INVOICE_REVIEWED, "b11", 0, "I2", NULL, 0, U, C, -1, KPI_RESULT_PASS},
    {KPI_EV_INVOICE_REVIEWED, "b12", 0, "I2", NULL, 0, U, C, -1, KPI_RESULT_FAIL},
    {KPI_EV_BILL_RECEIVED, "b13", 0, "B1", NULL, 70000, U, V, 30, 0},
    {KPI_EV_BILL_REJECTED, "b14", 0, "B1", NULL, 0, U, V, -1, 0},
    {KPI_EV_BILL_PROCESSED, "b15", 0, "B1", NULL, 0, U, V, -1, 0},
    {KPI_EV_BILL_PAID, "b16", 0, "B1", NULL, 70000, U, V, -1, 0},
    {KPI_EV_DISPUTE_OPENED, "b17", 0, "D1", "I2", 0, U, C, -1, 0},
    {KPI_EV_DISPUTE_RESOLVED, "b18", 0, "D1", "I2", 0, U, C, -1, 0},
    {KPI_EV_INVOICE_WRITTEN_OFF, "b19", 0, "I1", NULL, 10000, U, C, -1, 0},
};
#define BOOK_N (sizeof book / sizeof book[0])

static void book_times(ev_t *v)
{
    memcpy(v, book, sizeof book);
    const int64_t t[] = {
        T(2024, 1, 10, 9), T(2024, 1, 15, 9), T(2024, 2, 1, 9),   T(2024, 1, 5, 9),
        T(2024, 1, 5, 10), T(2024, 3, 5, 9),  T(2024, 2, 20, 9),  T(2024, 2, 2, 9),
        T(2024, 2, 29, 9), T(2024, 1, 11, 9), T(2024, 1, 16, 12), T(2024, 1, 16, 12),
        T(2024, 3, 1, 9),  T(2024, 3, 4, 9),  T(2024, 3, 6, 9),   T(2024, 4, 1, 9),
        T(2024, 2, 10, 9), T(2024, 3, 20, 9), T(2024, 4, 15, 9)};
    _Static_assert(sizeof t / sizeof t[0] == BOOK_N, "one time per event");
    for (size_t i = 0; i < BOOK_N; i++)
        v[i].t = t[i];
}

static bool creates(kpi_ev_type_t t)
{
    return kpi_ev_creates_doc(t);
}

static void test_order_independent(void)
{
    ev_t v[BOOK_N];
    book_times(v);
    static int64_t fa[100000], fb[100000];
    size_t na, nb;

    env_t a;
    env_open(&a);
    for (size_t i = 0; i < BOOK_N; i++)
        CHECK_ERR(ERR_OK, apply(&a, &v[i]));
    fingerprint(&a, fa, &na);

    /* Creating events first (as the store's pending logic guarantees), then
       every other event in reverse order. */
    env_t b;
    env_open(&b);
    for (size_t i = 0; i < BOOK_N; i++)
        if (creates(v[i].type))
            CHECK_ERR(ERR_OK, apply(&b, &v[i]));
    for (size_t i = BOOK_N; i-- > 0;)
        if (!creates(v[i].type))
            CHECK_ERR(ERR_OK, apply(&b, &v[i]));
    fingerprint(&b, fb, &nb);
    CHECK_INT(na, nb);
    CHECK(na == nb && memcmp(fa, fb, na * sizeof fa[0]) == 0);

    /* Hand-checked figures of the book as of 2024-03-31:
       I1 1000 - 500 applied = 500 open (write-off on 04-15 not yet);
       I2 500 + 50 - 50 - 300 = 200; I3 200 - 250 credit = -50 (stays, negative).
       AR = 650.00 in 3 invoices. */
    int64_t amt, cnt;
    size_t ng;
    open_at(&a, 0, 0, STORE_BASIS_DUE, D(2024, 3, 31), &amt, &cnt, &ng);
    CHECK_INT(65000, amt);
    CHECK_INT(3, cnt);
    open_at(&a, 4, 0, STORE_BASIS_DUE, D(2024, 3, 31), &amt, &cnt, &ng);
    CHECK_INT(-5000, amt);
    CHECK_INT(1, cnt);
    /* The payment received and applied on 01-05, before I1 was issued on
       01-10, takes effect on 01-10: I1 opens at 500.00. */
    MDB_txn *txn = rd(&a);
    int64_t open;
    CHECK_ERR(ERR_OK, derive_invoice_open_at(&a.d, txn, "I1", D(2024, 1, 10), &open));
    CHECK_INT(50000, open);
    CHECK_ERR(ERR_OK, derive_invoice_open_at(&a.d, txn, "I1", D(2024, 1, 9), &open));
    CHECK_INT(0, open);

    /* FTQ invoices: I1 first review pass (01-11), never corrected: passed.
       I2: two reviews at the same instant; ties go by id, "b11" (pass) is
       first, but I2 was adjusted: not passed. */
    int32_t days[] = {D(2024, 1, 31)};
    store_ftq_counts_t q;
    CHECK_ERR(ERR_OK, derive_ftq_cumulative(&a.d, txn, STORE_FTQ_INVOICE, 0, days, 1, &q));
    CHECK_INT(2, q.reviewed);
    CHECK_INT(1, q.passed);
    /* FTQ bills: B1 rejected (03-04) before processed (03-06): not clean. */
    int32_t mar[] = {D(2024, 3, 31)};
    CHECK_ERR(ERR_OK, derive_ftq_cumulative(&a.d, txn, STORE_FTQ_BILL, U, mar, 1, &q));
    CHECK_INT(1, q.reviewed);
    CHECK_INT(0, q.passed);

    /* SLA ap-processing (index 0, 3 business days): B1 received Fri 03-01,
       processed Wed 03-06 = 3 business days: met. */
    store_sla_counts_t s;
    CHECK_ERR(ERR_OK, derive_sla_cumulative(&a.d, txn, 0, 0, mar, 1, &s));
    CHECK_INT(1, s.completed);
    CHECK_INT(1, s.met);
    CHECK_INT(0, s.breach_from - s.breach_to);
    /* cash-application (index 2, 1 business day): P1 received Fri 01-05,
       fully applied Tue 03-05 (the second application): completed, missed. */
    CHECK_ERR(ERR_OK, derive_sla_cumulative(&a.d, txn, 2, 0, mar, 1, &s));
    CHECK_INT(1, s.completed);
    CHECK_INT(0, s.met);
    /* ... and breached-open at the end of 2024-01-31: past target, not done. */
    int32_t jan[] = {D(2024, 1, 31)};
    CHECK_ERR(ERR_OK, derive_sla_cumulative(&a.d, txn, 2, 0, jan, 1, &s));
    CHECK_INT(0, s.completed);
    CHECK_INT(1, s.breach_from - s.breach_to);
    /* dispute-resolution (index 4, 30 calendar days): opened 02-10,
       resolved 03-20 = 39 days: missed. */
    CHECK_ERR(ERR_OK, derive_sla_cumulative(&a.d, txn, 4, U, mar, 1, &s));
    CHECK_INT(1, s.completed);
    CHECK_INT(0, s.met);
    mdb_txn_abort(txn);
    env_close(&a);
    env_close(&b);
}

/* Apply inside the caller's transaction. */
static err_t apply_in(env_t *e, MDB_txn *txn, const ev_t *x)
{
    kpi_event_t ev = build_ev(x);
    derive_ctx_t cx = {x->unit, x->party, "USD"};
    err_msg_t msg = {{0}};
    return derive_apply(&e->d, txn, &ev, &cx, &msg);
}

/* One transaction with the write cache and the batch caches (timelines
   kept, open-amount steps gathered and applied at the flush) gives the
   state of one transaction per event, in any order. */
static void test_batched_same_state(void)
{
    ev_t v[BOOK_N];
    book_times(v);
    static int64_t fa[100000], fb[100000];
    size_t na, nb;
    env_t a;
    env_open(&a);
    for (size_t i = 0; i < BOOK_N; i++)
        CHECK_ERR(ERR_OK, apply(&a, &v[i]));
    fingerprint(&a, fa, &na);

    for (int direct = 0; direct < 2; direct++) {
        env_t b;
        env_open(&b);
        b.d.wc = wcache_new();
        b.d.batch = derive_batch_new();
        REQUIRE(b.d.wc != NULL && b.d.batch != NULL);
        MDB_txn *txn;
        REQUIRE(mdb_txn_begin(b.env, NULL, 0, &txn) == 0);
        wcache_begin(b.d.wc, txn);
        docset_begin(b.ds, txn, b.docs);
        derive_batch_begin(&b.d, txn, direct != 0);
        for (size_t i = 0; i < BOOK_N; i++)
            if (creates(v[i].type))
                CHECK_ERR(ERR_OK, apply_in(&b, txn, &v[i]));
        for (size_t i = BOOK_N; i-- > 0;)
            if (!creates(v[i].type))
                CHECK_ERR(ERR_OK, apply_in(&b, txn, &v[i]));
        err_msg_t msg;
        CHECK_ERR(ERR_OK, derive_batch_flush(&b.d, txn, &msg));
        CHECK_INT(0, docset_flush(b.ds));
        CHECK_INT(0, wcache_flush(b.d.wc));
        derive_batch_end(&b.d);
        docset_end(b.ds);
        wcache_end(b.d.wc);
        REQUIRE(mdb_txn_commit(txn) == 0);
        fingerprint(&b, fb, &nb);
        CHECK_INT(na, nb);
        CHECK_MSG(na == nb && memcmp(fa, fb, na * sizeof fa[0]) == 0, "direct=%d", direct);
        /* Timelines went through the caches too. */
        txn = rd(&b);
        int64_t open;
        CHECK_ERR(ERR_OK, derive_invoice_open_at(&b.d, txn, "I1", D(2024, 1, 10), &open));
        CHECK_INT(50000, open);
        mdb_txn_abort(txn);
        wcache_free(b.d.wc);
        derive_batch_free(b.d.batch);
        env_close(&b);
    }
    env_close(&a);
}

/* Open amounts whose sum leaves int64: applied per event (direct) the event
   is refused at once; gathered, the flush refuses the batch (the store
   then retries it direct to find the event). */
static void test_batched_overflow(void)
{
    int64_t half = INT64_MAX / 2 + 1;
    ev_t v[] = {
        {KPI_EV_INVOICE_ISSUED, "o1", T(2024, 1, 10, 9), "O1", NULL, half, U, C, 30, 0},
        /* Issued the next day (no flow row shared), due the same day. */
        {KPI_EV_INVOICE_ISSUED, "o2", T(2024, 1, 11, 10), "O2", NULL, half, U, C, 29, 0},
    };
    for (int direct = 0; direct < 2; direct++) {
        env_t b;
        env_open(&b);
        b.d.wc = wcache_new();
        b.d.batch = derive_batch_new();
        REQUIRE(b.d.wc != NULL && b.d.batch != NULL);
        MDB_txn *txn;
        REQUIRE(mdb_txn_begin(b.env, NULL, 0, &txn) == 0);
        wcache_begin(b.d.wc, txn);
        docset_begin(b.ds, txn, b.docs);
        derive_batch_begin(&b.d, txn, direct != 0);
        CHECK_ERR(ERR_OK, apply_in(&b, txn, &v[0]));
        err_msg_t msg = {{0}};
        if (direct) {
            CHECK_ERR(ERR_OVERFLOW, apply_in(&b, txn, &v[1]));
        } else {
            CHECK_ERR(ERR_OK, apply_in(&b, txn, &v[1]));
            CHECK_ERR(ERR_OVERFLOW, derive_batch_flush(&b.d, txn, &msg));
            CHECK(strstr(msg.text, "int64") != NULL);
        }
        derive_batch_end(&b.d);
        docset_end(b.ds);
        wcache_end(b.d.wc);
        mdb_txn_abort(txn);
        wcache_free(b.d.wc);
        derive_batch_free(b.d.batch);
        env_close(&b);
    }
    /* Without a batch attached, the calls are no-ops. */
    env_t c;
    env_open(&c);
    derive_batch_begin(&c.d, NULL, false);
    MDB_txn *txn;
    REQUIRE(mdb_txn_begin(c.env, NULL, 0, &txn) == 0);
    err_msg_t msg;
    CHECK_ERR(ERR_OK, derive_batch_flush(&c.d, txn, &msg));
    derive_batch_end(&c.d);
    derive_batch_free(NULL);
    mdb_txn_abort(txn);
    env_close(&c);
}

static void test_breached_open(void)
{
    env_t e;
    env_open(&e);
    ev_t b = {KPI_EV_BILL_RECEIVED, "x1", T(2024, 3, 1, 9), "B9", NULL, 1000, U, V, 30, 0};
    CHECK_ERR(ERR_OK, apply(&e, &b));
    MDB_txn *txn = rd(&e);
    /* Received Fri 03-01, 3 business days allowed: past target at the end of
       Thu 03-07, not at the end of Wed 03-06. */
    int32_t days[] = {D(2024, 3, 6), D(2024, 3, 7)};
    store_sla_counts_t s[2];
    CHECK_ERR(ERR_OK, derive_sla_cumulative(&e.d, txn, 0, U, days, 2, s));
    CHECK_INT(0, s[0].breach_from - s[0].breach_to);
    CHECK_INT(1, s[1].breach_from - s[1].breach_to);
    mdb_txn_abort(txn);
    ev_t p = {KPI_EV_BILL_PROCESSED, "x2", T(2024, 3, 11, 9), "B9", NULL, 0, U, V, -1, 0};
    CHECK_ERR(ERR_OK, apply(&e, &p));
    txn = rd(&e);
    int32_t after[] = {D(2024, 3, 8), D(2024, 3, 11)};
    CHECK_ERR(ERR_OK, derive_sla_cumulative(&e.d, txn, 0, U, after, 2, s));
    CHECK_INT(1, s[0].breach_from - s[0].breach_to); /* still open and late on 03-08 */
    CHECK_INT(0, s[1].breach_from - s[1].breach_to); /* processed 03-11 */
    CHECK_INT(1, s[1].completed);
    CHECK_INT(0, s[1].met);
    mdb_txn_abort(txn);
    env_close(&e);
}

static void test_credit_standing(void)
{
    env_t e;
    env_open(&e);
    ev_t later = {KPI_EV_CREDIT_LIMIT_SET, "l2", T(2024, 5, 1, 9), NULL, NULL, 900000, U, C, -1, 0};
    ev_t earlier = {
        KPI_EV_CREDIT_LIMIT_SET, "l1", T(2024, 4, 1, 9), NULL, NULL, 500000, U, C, -1, 0};
    ev_t hold = {KPI_EV_CREDIT_HOLD_SET, "h1", T(2024, 5, 2, 9), NULL, NULL, 0, U, C, -1, 0};
    ev_t rel = {KPI_EV_CREDIT_HOLD_RELEASED, "h2", T(2024, 5, 3, 9), NULL, NULL, 0, U, C, -1, 0};
    /* Arrival order differs from time order: the latest by time stands. */
    CHECK_ERR(ERR_OK, apply(&e, &later));
    CHECK_ERR(ERR_OK, apply(&e, &earlier));
    CHECK_ERR(ERR_OK, apply(&e, &hold));
    MDB_txn *txn = rd(&e);
    derive_cust_t c;
    CHECK_ERR(ERR_OK, derive_customer(&e.d, txn, C, &c));
    CHECK(c.has_limit);
    CHECK_INT(900000, c.credit_limit);
    CHECK_STR("USD", c.limit_currency);
    CHECK(c.on_hold);
    CHECK_INT(D(2024, 5, 2), c.hold_day);
    CHECK_STR("reason", c.hold_reason);
    CHECK_ERR(ERR_NOT_FOUND, derive_customer(&e.d, txn, 77, &c));
    mdb_txn_abort(txn);
    CHECK_ERR(ERR_OK, apply(&e, &rel));
    txn = rd(&e);
    CHECK_ERR(ERR_OK, derive_customer(&e.d, txn, C, &c));
    CHECK(!c.on_hold);
    mdb_txn_abort(txn);
    env_close(&e);
}

/* Put a hand-packed flow row for (USD, all units, all parties, day):
   u16 column mask (little-endian), then zigzag LEB128 varints. */
static void put_flow_row(env_t *e, int32_t day, const uint8_t *row, size_t n)
{
    uint8_t k[15] = {'U', 'S', 'D'};
    uint32_t ud = (uint32_t)day ^ 0x80000000u;
    for (int i = 0; i < 4; i++)
        k[11 + i] = (uint8_t)(ud >> (24 - 8 * i));
    MDB_txn *w;
    REQUIRE(mdb_txn_begin(e->env, NULL, 0, &w) == 0);
    MDB_val kv = {sizeof k, k}, v = {n, (void *)row};
    REQUIRE(mdb_put(w, e->d.flows, &kv, &v, 0) == 0);
    REQUIRE(mdb_txn_commit(w) == 0);
}

/* Series sums: every stored day is added column by column; a sum that
   leaves int64 is refused, and so is a row that is not a packed row. */
static void test_cumulative_rows(void)
{
    env_t e;
    env_open(&e);
    /* Day 10: sales 2^62 (zigzag 2^63: nine 0x80 bytes then 0x01) and
       cash applied (column 3) -5 (zigzag 9). Day 11: sales 2^62 again. */
    static const uint8_t day10[] = {0x09, 0x00, 0x80, 0x80, 0x80, 0x80, 0x80,
                                    0x80, 0x80, 0x80, 0x80, 0x01, 0x09};
    static const uint8_t day11[] = {0x01, 0x00, 0x80, 0x80, 0x80, 0x80,
                                    0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    put_flow_row(&e, 10, day10, sizeof day10);
    derive_scope_t sc = {"USD", 0, 0};
    int32_t days[] = {9, 10, 12};
    store_flows_t f[3];
    MDB_txn *txn = rd(&e);
    CHECK_ERR(ERR_OK, derive_flows_cumulative(&e.d, txn, &sc, days, 3, f));
    CHECK_INT(0, f[0].sales);
    CHECK_INT(0, f[0].cash_applied);
    CHECK_INT((int64_t)1 << 62, f[1].sales);
    CHECK_INT(-5, f[1].cash_applied);
    CHECK_INT(0, f[1].invoices);
    CHECK_INT((int64_t)1 << 62, f[2].sales);
    mdb_txn_abort(txn);

    put_flow_row(&e, 11, day11, sizeof day11);
    txn = rd(&e);
    CHECK_ERR(ERR_OK, derive_flows_cumulative(&e.d, txn, &sc, days, 2, f));
    CHECK_ERR(ERR_OVERFLOW, derive_flows_cumulative(&e.d, txn, &sc, days, 3, f));
    mdb_txn_abort(txn);

    /* Damaged rows: a varint cut short, bytes after the last column, a
       mask naming a column past the last, an empty value. */
    static const uint8_t cut[] = {0x01, 0x00, 0x80};
    static const uint8_t extra[] = {0x01, 0x00, 0x02, 0x02};
    static const uint8_t past[] = {0x00, 0x80, 0x02};
    const struct {
        const uint8_t *row;
        size_t n;
    } bad[] = {{cut, sizeof cut}, {extra, sizeof extra}, {past, sizeof past}, {cut, 0}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        put_flow_row(&e, 11, bad[i].row, bad[i].n);
        txn = rd(&e);
        CHECK_MSG(derive_flows_cumulative(&e.d, txn, &sc, days, 3, f) == ERR_STORE_CORRUPT,
                  "damaged row %zu", i);
        /* Days before the damaged row still read. */
        CHECK_ERR(ERR_OK, derive_flows_cumulative(&e.d, txn, &sc, days, 1, f));
        mdb_txn_abort(txn);
    }
    env_close(&e);
}

static void test_errors(void)
{
    env_t e;
    env_open(&e);
    /* A movement on an invoice that was never applied is the store's bug. */
    ev_t orphan = {
        KPI_EV_INVOICE_WRITTEN_OFF, "o1", T(2024, 1, 1, 0), "NOPE", NULL, 100, U, C, -1, 0};
    CHECK_ERR(ERR_INTERNAL, apply(&e, &orphan));
    ev_t inv = {KPI_EV_INVOICE_ISSUED, "o2", T(2024, 1, 1, 0), "I7", NULL, 100, U, C, 30, 0};
    CHECK_ERR(ERR_OK, apply(&e, &inv));
    ev_t again = inv;
    again.id = "o3";
    CHECK_ERR(ERR_INTERNAL, apply(&e, &again));
    /* Cumulative queries want ascending days. */
    MDB_txn *txn = rd(&e);
    int32_t days[] = {5, 3};
    store_flows_t f[2];
    derive_scope_t sc = {"USD", 0, 0};
    CHECK_ERR(ERR_BAD_PARAM, derive_flows_cumulative(&e.d, txn, &sc, days, 2, f));
    store_sla_counts_t s;
    CHECK_ERR(ERR_NOT_FOUND, derive_sla_cumulative(&e.d, txn, 99, 0, days, 1, &s));
    mdb_txn_abort(txn);

    /* Other SLA definitions than those the state was built with: refused
       until rebuilt (adopt). */
    MDB_txn *w;
    REQUIRE(mdb_txn_begin(e.env, NULL, 0, &w) == 0);
    kpi_sla_def_t defs[5];
    size_t n = kpi_sla_defaults(defs, 5);
    defs[0].target.amount = 4;
    derive_config_t cfg = {.tz = e.tz, .slas = defs, .n_slas = n};
    derive_t d2;
    err_msg_t msg;
    CHECK_ERR(ERR_CONFIG, derive_open(&d2, w, &cfg, true, false, &msg));
    CHECK(strstr(msg.text, "kpid rebuild") != NULL);
    CHECK_ERR(ERR_OK, derive_open(&d2, w, &cfg, true, true, &msg));
    CHECK_ERR(ERR_OK, derive_clear(&d2, w, &msg));
    REQUIRE(mdb_txn_commit(w) == 0);
    txn = rd(&e);
    CHECK_ERR(ERR_OK, derive_open(&d2, txn, &cfg, false, false, &msg));
    int32_t first;
    CHECK_ERR(ERR_NOT_FOUND, derive_flows_first_day(&d2, txn, &sc, &first));
    mdb_txn_abort(txn);
    env_close(&e);
}

int main(void)
{
    RUN(test_invoice_life);
    RUN(test_order_independent);
    RUN(test_batched_same_state);
    RUN(test_batched_overflow);
    RUN(test_breached_open);
    RUN(test_credit_standing);
    RUN(test_cumulative_rows);
    RUN(test_errors);
    return test_summary();
}
