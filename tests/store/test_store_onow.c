/*
 * test_store_onow.c — the invoices-open-now rows (store_onow.c) and the
 * aging of every customer they answer (store_q_aging, group_by=customer,
 * as of the latest event day or later): on random books sent in shuffled
 * batches (movements before their invoices, partial payments, credit
 * notes beyond the open amount, write-offs, adjustments both ways), the
 * fast answer equals the walk of d_open customer by customer, per unit
 * and for the whole book; a store whose derived state has no d_onow marker
 * walks d_open and answers the same; a rebuild brings the marker back.
 */
#include "store_kpi.h"
#include "store_query.h"

#include <lmdb.h>

#include "store_test.h"

static uint64_t rng_state;

static uint64_t rnd(uint64_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state % n;
}

enum { N_INV = 80, N_EV_MAX = 6 * N_INV };

static const char *const customers[] = {"A", "B", "C", "Dora", "Émile", "F"};
static const char *const units[] = {"north", "south"};

typedef struct book {
    kpi_event_t ev[N_EV_MAX];
    char ids[N_EV_MAX][16], docs[N_EV_MAX][16];
    size_t n;
    int32_t last_day;
} book_t;

static kpi_event_t *add(book_t *b, kpi_ev_type_t t, int32_t day, const char *doc, const char *ref,
                        int64_t amount, const char *party)
{
    size_t i = b->n++;
    snprintf(b->ids[i], sizeof b->ids[i], "e%zu", i);
    b->ev[i] = ev(t, b->ids[i], kpi_day_start_utc(day) + 3600, doc, ref, amount, party);
    if (day > b->last_day)
        b->last_day = day;
    return &b->ev[i];
}

static void make_book(book_t *b, uint64_t seed)
{
    memset(b, 0, sizeof *b);
    rng_state = seed * 2654435761u + 1;
    int32_t d0 = D(2025, 1, 1);
    for (size_t i = 0; i < N_INV; i++) {
        char *inv = b->docs[b->n];
        snprintf(inv, 16, "I%zu", i);
        const char *cust = customers[rnd(6)];
        int32_t day = d0 + (int32_t)rnd(120);
        int64_t amt = 1000 + (int64_t)rnd(100000);
        kpi_event_t *e = add(b, KPI_EV_INVOICE_ISSUED, day, inv, NULL, amt, cust);
        e->business_unit = units[rnd(2)];
        e->terms_days = (int32_t)(rnd(3) * 15);
        switch (rnd(6)) {
        case 0: { /* paid in part, or in full, by its own payment */
            char *pay = b->docs[b->n];
            snprintf(pay, 16, "P%zu", i);
            int64_t part = rnd(2) ? amt : amt / 2;
            add(b, KPI_EV_PAYMENT_RECEIVED, day + 10, pay, NULL, part, cust);
            add(b, KPI_EV_PAYMENT_APPLIED, day + 11 + (int32_t)rnd(40), pay, inv, part, NULL);
            break;
        }
        case 1: { /* credited beyond its open amount: negative open */
            char *cn = b->docs[b->n];
            snprintf(cn, 16, "C%zu", i);
            add(b, KPI_EV_CREDIT_NOTE_ISSUED, day + (int32_t)rnd(30), cn, inv, amt + 500, cust);
            break;
        }
        case 2: /* written off */
            add(b, KPI_EV_INVOICE_WRITTEN_OFF, day + 60, inv, NULL, amt, NULL)->text = "bad debt";
            break;
        case 3: /* adjusted up, then down to nothing */
            add(b, KPI_EV_INVOICE_ADJUSTED, day + 3, inv, NULL, 700, NULL);
            add(b, KPI_EV_INVOICE_ADJUSTED, day + 5, inv, NULL, -(amt + 700), NULL);
            break;
        default: break; /* stays open */
        }
    }
    /* Shuffle: movements may now come before their invoices. */
    for (size_t i = b->n; i > 1; i--) {
        size_t j = rnd(i);
        kpi_event_t t = b->ev[i - 1];
        b->ev[i - 1] = b->ev[j];
        b->ev[j] = t;
    }
}

static void load(store_t *s, const book_t *b)
{
    store_batch_opts_t bo = {0};
    store_item_result_t res[N_EV_MAX];
    for (size_t at = 0; at < b->n;) {
        size_t n = 1 + rnd(60);
        if (n > b->n - at)
            n = b->n - at;
        store_batch_stats_t st = put(s, b->ev + at, n, &bo, res);
        CHECK_INT(n, st.accepted + st.duplicates);
        at += n;
    }
}

static bool same_aging(const kpi_aging_t *x, const kpi_aging_t *y)
{
    if (x->n_buckets != y->n_buckets || x->total_amount != y->total_amount ||
        x->total_count != y->total_count)
        return false;
    for (size_t i = 0; i < x->n_buckets; i++)
        if (x->buckets[i].amount != y->buckets[i].amount ||
            x->buckets[i].count != y->buckets[i].count)
            return false;
    return true;
}

static const int32_t edges[] = {15, 30, 60};

/* Every customer's aging by the fast path against the walk, one customer
   at a time (a party in the scope never takes the fast path). */
static void compare(store_t *s, const char *unit, int32_t as_of, const char *what)
{
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    kpi_arena_t *a = NULL;
    REQUIRE(kpi_arena_new(1 << 24, &a) == ERR_OK);
    err_msg_t m = {{0}};
    store_scope_t sc = {.currency = "USD", .business_unit = unit};
    store_q_aging_req_t rq = {
        .as_of = as_of, .edges = edges, .n_edges = 3, .group_by = STORE_Q_GROUP_CUSTOMER};
    store_q_aging_t fast, whole;
    CHECK_ERR(ERR_OK, store_q_aging(sn, &sc, &rq, a, &fast, &m));
    store_q_aging_req_t none = rq;
    none.group_by = STORE_Q_GROUP_NONE;
    CHECK_ERR(ERR_OK, store_q_aging(sn, &sc, &none, a, &whole, &m));
    CHECK_MSG(same_aging(&fast.all, &whole.all), "%s: the whole scope differs", what);
    CHECK(fast.unapplied_cash == whole.unapplied_cash &&
          fast.unallocated_credits == whole.unallocated_credits);
    size_t shown = 0;
    for (size_t c = 0; c < sizeof customers / sizeof customers[0]; c++) {
        store_scope_t one = sc;
        one.party = customers[c];
        store_q_aging_t slow;
        err_t e = store_q_aging(sn, &one, &none, a, &slow, &m);
        if (e == ERR_NOT_FOUND)
            continue;
        CHECK_ERR(ERR_OK, e);
        size_t k = 0;
        while (k < fast.n_groups && strcmp(fast.keys[k], customers[c]) != 0)
            k++;
        if (slow.all.total_count == 0 && slow.all.total_amount == 0) {
            CHECK_MSG(k == fast.n_groups, "%s: %s has nothing open, yet a group", what,
                      customers[c]);
            continue;
        }
        REQUIRE(k < fast.n_groups);
        CHECK_MSG(same_aging(&fast.groups[k], &slow.all), "%s: customer %s differs", what,
                  customers[c]);
        shown++;
    }
    CHECK_INT(shown, fast.n_groups);
    for (size_t k = 1; k < fast.n_groups; k++)
        CHECK(strcmp(fast.keys[k - 1], fast.keys[k]) < 0);
    kpi_arena_free(a);
    store_snap_end(sn);
}

/* As if written by a release before d_onow: its marker gone. */
static void drop_marker(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    REQUIRE(mdb_env_create(&env) == 0);
    REQUIRE(mdb_env_set_maxdbs(env, 32) == 0);
    REQUIRE(mdb_env_open(env, dir, 0, 0644) == 0);
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "d_meta", 0, &meta) == 0);
    MDB_val k = {4, (void *)"onow"};
    REQUIRE(mdb_del(txn, meta, &k, NULL) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
}

static err_t count_row(void *ctx, const char *customer, int32_t due_day, int64_t amount,
                       int64_t count)
{
    (void)customer;
    (void)due_day;
    size_t *n = ctx;
    /* Only what is open: no row comes back to (0, 0). */
    if (amount == 0 && count == 0)
        return ERR_INTERNAL;
    (*n)++;
    return ERR_OK;
}

static bool fast_available(store_t *s)
{
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    bool avail = false;
    size_t rows = 0;
    err_t e = store_open_now_each(sn, "USD", NULL, &avail, count_row, &rows);
    store_snap_end(sn);
    return e == ERR_OK && avail;
}

static void test_random_books(void)
{
    static book_t b;
    for (uint64_t seed = 1; seed <= 6; seed++) {
        char dir[64];
        tmpdir(dir);
        store_t *s = open_store(dir, 0);
        make_book(&b, seed);
        load(s, &b);
        CHECK(fast_available(s));
        char what[64];
        for (int u = 0; u < 3; u++) {
            const char *unit = u == 2 ? NULL : units[u];
            snprintf(what, sizeof what, "seed %llu unit %s", (unsigned long long)seed,
                     unit ? unit : "all");
            compare(s, unit, b.last_day, what);
            compare(s, unit, b.last_day + 45, what);
        }
        store_snap_t *sn = NULL;
        REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
        size_t rows = 0;
        bool avail;
        CHECK_ERR(ERR_OK, store_open_now_each(sn, "USD", NULL, &avail, count_row, &rows));
        CHECK(rows > 0);
        CHECK_ERR(ERR_NOT_FOUND,
                  store_open_now_each(sn, "USD", "nowhere", &avail, count_row, &rows));
        store_snap_end(sn);
        /* Without the marker the walk answers, the same; a rebuild makes
           the rows and the marker again. */
        store_close(s);
        drop_marker(dir);
        s = open_store(dir, 0);
        CHECK(!fast_available(s));
        compare(s, NULL, b.last_day, "no marker");
        err_msg_t msg = {{0}};
        CHECK_ERR(ERR_OK, store_rebuild(s, NULL, NULL, &msg));
        CHECK(fast_available(s));
        compare(s, NULL, b.last_day, "rebuilt");
        store_close(s);
        rmdir_all(dir);
    }
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    RUN(test_random_books);
    kpi_tz_free(test_utc);
    return test_summary();
}
