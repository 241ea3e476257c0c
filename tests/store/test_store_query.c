/*
 * test_store_query.c — the KPI answers of store_query.h on a small book
 * checked by hand: aging (whole, by unit, by customer, unapplied cash and
 * unallocated credits), every series (DSO in its four methods, CEI, DPO,
 * roll-forward, SLA, FTQ), the open total, and the refusals.
 *
 * The book (USD, UTC, weekend Saturday/Sunday; every amount in cents):
 *   INV-1 north/A 2025-01-10 1000.00, 30 days -> due 2025-02-09
 *   INV-2 south/B 2025-01-20  500.00          -> due 2025-02-19
 *   INV-3 north/A 2025-02-05  300.00          -> due 2025-03-07
 *   PAY-1 A 2025-02-15 600.00, applied to INV-1 the same day
 *   PAY-2 B 2025-02-27 200.00, not applied
 *   CN-1  B 2025-02-25  50.00 against INV-2
 *   CN-2  B 2025-02-10  25.00 against no invoice
 *   reviews: INV-1 pass 01-11, INV-2 fail 01-21, INV-3 pass 02-06
 *   bills (vendor V, north): B-1 200.00 received Mon 02-03, processed Wed
 *   02-05 (2 business days: met); B-2 100.00 received Fri 02-07, processed
 *   Thu 02-13 (Mon..Thu = 4 business days: missed against 3).
 */
#include "store_query.h"

#include "store_test.h"

static store_t *book(const char *dir)
{
    store_t *s = open_store(dir, 0);
    kpi_event_t e[18];
    size_t n = 0;
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "e1", T(2025, 1, 10, 9), "INV-1", NULL, 100000, "A");
    e[n++].business_unit = "north";
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "e2", T(2025, 1, 20, 9), "INV-2", NULL, 50000, "B");
    e[n++].business_unit = "south";
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "e3", T(2025, 2, 5, 9), "INV-3", NULL, 30000, "A");
    e[n++].business_unit = "north";
    e[n++] = ev(KPI_EV_PAYMENT_RECEIVED, "e4", T(2025, 2, 15, 9), "PAY-1", NULL, 60000, "A");
    e[n++] = ev(KPI_EV_PAYMENT_APPLIED, "e5", T(2025, 2, 15, 10), "PAY-1", "INV-1", 60000, NULL);
    e[n++] = ev(KPI_EV_PAYMENT_RECEIVED, "e6", T(2025, 2, 27, 9), "PAY-2", NULL, 20000, "B");
    e[n++] = ev(KPI_EV_CREDIT_NOTE_ISSUED, "e7", T(2025, 2, 25, 9), "CN-1", "INV-2", 5000, "B");
    e[n++] = ev(KPI_EV_CREDIT_NOTE_ISSUED, "e8", T(2025, 2, 10, 9), "CN-2", NULL, 2500, "B");
    e[n++] = ev(KPI_EV_INVOICE_REVIEWED, "e9", T(2025, 1, 11, 9), "INV-1", NULL, 0, NULL);
    e[n] = ev(KPI_EV_INVOICE_REVIEWED, "e10", T(2025, 1, 21, 9), "INV-2", NULL, 0, NULL);
    e[n++].result = KPI_RESULT_FAIL;
    e[n++] = ev(KPI_EV_INVOICE_REVIEWED, "e11", T(2025, 2, 6, 9), "INV-3", NULL, 0, NULL);
    e[n] = ev(KPI_EV_BILL_RECEIVED, "e12", T(2025, 2, 3, 9), "B-1", NULL, 20000, "V");
    e[n++].business_unit = "north";
    e[n++] = ev(KPI_EV_BILL_PROCESSED, "e13", T(2025, 2, 5, 9), "B-1", NULL, 0, NULL);
    e[n] = ev(KPI_EV_BILL_RECEIVED, "e14", T(2025, 2, 7, 9), "B-2", NULL, 10000, "V");
    e[n++].business_unit = "north";
    e[n++] = ev(KPI_EV_BILL_PROCESSED, "e15", T(2025, 2, 13, 9), "B-2", NULL, 0, NULL);
    store_item_result_t res[18];
    store_batch_opts_t bo = {0};
    store_batch_stats_t st = put(s, e, n, &bo, res);
    CHECK_INT(n, st.accepted);
    return s;
}

static const int32_t edges[] = {30, 60, 90, 120};

/* Bucket amounts and counts: current, 1-30, 31-60, 61-90, 91-120, 121+. */
static void check_aging(const kpi_aging_t *a, const int64_t amt[6], const int64_t cnt[6],
                        const char *what)
{
    CHECK_INT(6, a->n_buckets);
    int64_t ta = 0, tc = 0;
    for (size_t i = 0; i < 6 && i < a->n_buckets; i++) {
        CHECK_MSG(a->buckets[i].amount == amt[i] && a->buckets[i].count == cnt[i],
                  "%s bucket %zu: expected %lld/%lld, got %lld/%lld", what, i, (long long)amt[i],
                  (long long)cnt[i], (long long)a->buckets[i].amount,
                  (long long)a->buckets[i].count);
        ta += amt[i];
        tc += cnt[i];
    }
    CHECK_MSG(a->total_amount == ta && a->total_count == tc, "%s total: %lld/%lld", what,
              (long long)a->total_amount, (long long)a->total_count);
}

static store_scope_t usd(const char *unit, const char *party)
{
    store_scope_t sc = {.currency = "USD", .business_unit = unit, .party = party};
    return sc;
}

static void test_aging(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = book(dir);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1 << 20, &ar) == ERR_OK);
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    err_msg_t m = {{0}};
    store_q_aging_req_t rq = {.as_of = D(2025, 2, 28), .edges = edges, .n_edges = 4};
    store_q_aging_t a;
    store_scope_t all = usd(NULL, NULL);

    /* INV-1 400.00 19 days past due, INV-2 450.00 9 days, INV-3 300.00 not due. */
    CHECK_ERR(ERR_OK, store_q_aging(sn, &all, &rq, ar, &a, &m));
    check_aging(&a.all, (int64_t[6]){30000, 85000, 0, 0, 0, 0}, (int64_t[6]){1, 2, 0, 0, 0, 0},
                "all");
    CHECK_INT(20000, a.unapplied_cash); /* PAY-2 */
    CHECK_INT(2500, a.unallocated_credits);
    CHECK_INT(0, a.n_groups);

    /* By unit: the total is the sum of the groups. */
    rq.group_by = STORE_Q_GROUP_UNIT;
    CHECK_ERR(ERR_OK, store_q_aging(sn, &all, &rq, ar, &a, &m));
    check_aging(&a.all, (int64_t[6]){30000, 85000, 0, 0, 0, 0}, (int64_t[6]){1, 2, 0, 0, 0, 0},
                "all by unit");
    REQUIRE(a.n_groups == 2);
    CHECK_STR("north", a.keys[0]);
    check_aging(&a.groups[0], (int64_t[6]){30000, 40000, 0, 0, 0, 0},
                (int64_t[6]){1, 1, 0, 0, 0, 0}, "north");
    CHECK_STR("south", a.keys[1]);
    check_aging(&a.groups[1], (int64_t[6]){0, 45000, 0, 0, 0, 0}, (int64_t[6]){0, 1, 0, 0, 0, 0},
                "south");

    /* By customer within north: only A. */
    rq.group_by = STORE_Q_GROUP_CUSTOMER;
    store_scope_t north = usd("north", NULL);
    CHECK_ERR(ERR_OK, store_q_aging(sn, &north, &rq, ar, &a, &m));
    REQUIRE(a.n_groups == 1);
    CHECK_STR("A", a.keys[0]);
    check_aging(&a.groups[0], (int64_t[6]){30000, 40000, 0, 0, 0, 0},
                (int64_t[6]){1, 1, 0, 0, 0, 0}, "north/A");

    /* Before INV-1 was paid (2025-02-14): 1000.00 5 days past due; B's
       invoice not yet due; INV-3 not due. Groups with nothing open
       disappear: as of 2025-01-05 nobody has anything open. */
    rq.as_of = D(2025, 2, 14);
    rq.group_by = STORE_Q_GROUP_NONE;
    CHECK_ERR(ERR_OK, store_q_aging(sn, &all, &rq, ar, &a, &m));
    check_aging(&a.all, (int64_t[6]){80000, 100000, 0, 0, 0, 0}, (int64_t[6]){2, 1, 0, 0, 0, 0},
                "02-14");
    CHECK_INT(0, a.unapplied_cash);
    rq.as_of = D(2025, 1, 5);
    rq.group_by = STORE_Q_GROUP_CUSTOMER;
    CHECK_ERR(ERR_OK, store_q_aging(sn, &all, &rq, ar, &a, &m));
    CHECK_INT(0, a.n_groups);
    CHECK_INT(0, a.all.total_count);

    /* Invoice-date basis as of 02-28: INV-1 49 days, INV-2 39, INV-3 23. */
    rq.as_of = D(2025, 2, 28);
    rq.basis = STORE_BASIS_ISSUE;
    rq.group_by = STORE_Q_GROUP_NONE;
    CHECK_ERR(ERR_OK, store_q_aging(sn, &all, &rq, ar, &a, &m));
    check_aging(&a.all, (int64_t[6]){0, 30000, 85000, 0, 0, 0}, (int64_t[6]){0, 1, 2, 0, 0, 0},
                "invoice basis");

    /* Refusals: an unknown unit; bad edges. */
    store_scope_t nowhere = usd("west", NULL);
    CHECK_ERR(ERR_NOT_FOUND, store_q_aging(sn, &nowhere, &rq, ar, &a, &m));
    static const int32_t bad[] = {30, 30};
    rq.edges = bad;
    rq.n_edges = 2;
    CHECK_ERR(ERR_BAD_PARAM, store_q_aging(sn, &all, &rq, ar, &a, &m));
    CHECK(strstr(m.text, "edges") != NULL);

    int64_t amt, cnt;
    CHECK_ERR(ERR_OK, store_q_open_total(sn, &all, D(2025, 2, 28), ar, &amt, &cnt));
    CHECK_INT(115000, amt);
    CHECK_INT(3, cnt);
    store_scope_t south = usd("south", NULL);
    CHECK_ERR(ERR_OK, store_q_open_total(sn, &south, D(2025, 1, 31), ar, &amt, &cnt));
    CHECK_INT(50000, amt);
    CHECK_INT(1, cnt);

    store_snap_end(sn);
    kpi_arena_free(ar);
    store_close(s);
    rmdir_all(dir);
}

/* The value of p rounded to 2 decimals as the API prints it (x100). */
static int64_t r2(const store_q_point_t *p)
{
    int64_t v = INT64_MIN;
    CHECK_ERR(ERR_OK, kpi_ratio_round(&p->value, 2, &v));
    return v;
}

static int64_t comp_v(const store_q_point_t *p, const char *name)
{
    const store_q_comp_t *c = store_q_comp(p, name);
    CHECK_MSG(c != NULL, "no component %s", name);
    return c ? c->v : INT64_MIN;
}

typedef struct series_case {
    store_q_series_t what;
    store_q_dso_method_t method;
    int64_t jan, feb; /* value x100 */
} series_case_t;

static void test_series(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = book(dir);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(4 << 20, &ar) == ERR_OK);
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    err_msg_t m = {{0}};
    kpi_period_t per[2] = {{D(2025, 1, 1), D(2025, 1, 31)}, {D(2025, 2, 1), D(2025, 2, 28)}};
    store_q_point_t pts[2];
    store_scope_t all = usd(NULL, NULL);
    /*
     * January: AR 1500.00, sales 1500.00, 31 days; nothing is due by 01-31.
     * February: AR 1150.00, sales 300.00, 28 days; current AR (due >= 02-28)
     * is INV-3's 300.00.
     *   standard       Jan 1500/1500*31 = 31.00; Feb 1150/300*28 = 107.33
     *   countback      Jan 1500 <= Jan's sales: 1500/1500*31 = 31.00;
     *                  Feb 1150 - 300 (28 d) = 850, 850/1500*31 = 17.5667
     *                  -> 45.57
     *   best possible  Jan 1500/1500*31 = 31.00; Feb 300/300*28 = 28.00
     *   ADD            Jan 0.00; Feb 107.333 - 28 = 79.33
     *   CEI            Jan (0+1500-1500)/(0+1500-1500): no denominator;
     *                  Feb (1500+300-1150)/(1500+300-300)*100 = 43.33
     *   DPO            Jan no purchases; Feb AP 300/300*28 = 28.00
     */
    static const series_case_t cases[] = {
        {STORE_Q_DSO, STORE_Q_DSO_STANDARD, 3100, 10733},
        {STORE_Q_DSO, STORE_Q_DSO_COUNTBACK, 3100, 4557},
        {STORE_Q_DSO, STORE_Q_DSO_BEST_POSSIBLE, 3100, 2800},
        {STORE_Q_DSO, STORE_Q_DSO_ADD, 0, 7933},
        {STORE_Q_CEI, 0, INT64_MIN, 4333},
        {STORE_Q_DPO, 0, INT64_MIN, 2800},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const series_case_t *c = &cases[i];
        store_q_series_req_t rq = {.what = c->what,
                                   .method = c->method,
                                   .iv = KPI_IV_MONTH,
                                   .periods = per,
                                   .n_periods = 2};
        err_t e = store_q_series(sn, &all, &rq, ar, pts, &m);
        CHECK_MSG(e == ERR_OK, "case %zu: %s", i, err_msg_or(&m, e));
        CHECK_INT(D(2025, 2, 1), pts[1].start);
        CHECK_INT(D(2025, 2, 28), pts[1].end);
        if (c->jan == INT64_MIN)
            CHECK_MSG(pts[0].value.undef != KPI_UNDEF_NONE, "case %zu: January defined", i);
        else
            CHECK_MSG(r2(&pts[0]) == c->jan, "case %zu: January %lld, expected %lld", i,
                      (long long)r2(&pts[0]), (long long)c->jan);
        CHECK_MSG(r2(&pts[1]) == c->feb, "case %zu: February %lld, expected %lld", i,
                  (long long)r2(&pts[1]), (long long)c->feb);
    }

    /* DSO components name their inputs. */
    store_q_series_req_t rq = {.what = STORE_Q_DSO,
                               .method = STORE_Q_DSO_ADD,
                               .iv = KPI_IV_MONTH,
                               .periods = per,
                               .n_periods = 2};
    CHECK_ERR(ERR_OK, store_q_series(sn, &all, &rq, ar, pts, &m));
    CHECK_INT(115000, comp_v(&pts[1], "ar"));
    CHECK_INT(30000, comp_v(&pts[1], "sales"));
    CHECK_INT(28, comp_v(&pts[1], "days"));
    CHECK_INT(30000, comp_v(&pts[1], "current_ar"));
    CHECK(store_q_comp(&pts[1], "no_such") == NULL);

    /* Roll-forward February: 1500 + 300 - 600 - 50 = 1150 = open items. */
    rq.what = STORE_Q_ROLLFORWARD;
    CHECK_ERR(ERR_OK, store_q_series(sn, &all, &rq, ar, pts, &m));
    CHECK(pts[1].money_value);
    CHECK_INT(115000, pts[1].money);
    CHECK_INT(150000, comp_v(&pts[1], "opening"));
    CHECK_INT(30000, comp_v(&pts[1], "sales"));
    CHECK_INT(0, comp_v(&pts[1], "adjustments"));
    CHECK_INT(60000, comp_v(&pts[1], "cash_applied"));
    CHECK_INT(5000, comp_v(&pts[1], "credit_notes"));
    CHECK_INT(0, comp_v(&pts[1], "write_offs"));
    CHECK_INT(115000, comp_v(&pts[1], "open_items"));
    CHECK_INT(3, comp_v(&pts[1], "open_invoices"));
    CHECK_INT(0, comp_v(&pts[1], "difference"));
    CHECK_INT(20000, comp_v(&pts[1], "unapplied_cash"));
    CHECK_INT(2500, comp_v(&pts[1], "unallocated_credits"));
    CHECK_INT(0, comp_v(&pts[0], "opening"));
    CHECK_INT(150000, pts[0].money);

    /* FTQ: January 1 of 2 first reviews passed (50.00), February 1 of 1. */
    rq.what = STORE_Q_FTQ;
    rq.ftq_kind = STORE_FTQ_INVOICE;
    CHECK_ERR(ERR_OK, store_q_series(sn, &all, &rq, ar, pts, &m));
    CHECK_INT(5000, r2(&pts[0]));
    CHECK_INT(2, comp_v(&pts[0], "reviewed"));
    CHECK_INT(1, comp_v(&pts[0], "passed"));
    CHECK_INT(10000, r2(&pts[1]));

    /* SLA ap-processing: February 1 of 2 bills met 3 business days. */
    const kpi_sla_def_t *defs;
    size_t nd = store_sla_defs(s, &defs), ap = nd;
    for (size_t i = 0; i < nd; i++)
        if (strcmp(defs[i].name, "ap-processing") == 0)
            ap = i;
    REQUIRE(ap < nd);
    rq.what = STORE_Q_SLA;
    rq.sla = ap;
    CHECK_ERR(ERR_OK, store_q_series(sn, &all, &rq, ar, pts, &m));
    CHECK(pts[0].value.undef != KPI_UNDEF_NONE); /* nothing completed in January */
    CHECK_INT(0, comp_v(&pts[0], "completed"));
    CHECK_INT(5000, r2(&pts[1]));
    CHECK_INT(1, comp_v(&pts[1], "met"));
    CHECK_INT(2, comp_v(&pts[1], "completed"));
    CHECK_INT(0, comp_v(&pts[1], "breached_open"));

    /* A unit's slice: south has only INV-2 (Feb: AR 450, no sales). */
    store_scope_t south = usd("south", NULL);
    rq.what = STORE_Q_DSO;
    rq.method = STORE_Q_DSO_STANDARD;
    CHECK_ERR(ERR_OK, store_q_series(sn, &south, &rq, ar, pts, &m));
    CHECK_INT(45000, comp_v(&pts[1], "ar"));
    CHECK(pts[1].value.undef == KPI_UNDEF_NO_SALES);

    /* Refusals. */
    rq.sla = nd;
    rq.what = STORE_Q_SLA;
    CHECK_ERR(ERR_BAD_PARAM, store_q_series(sn, &all, &rq, ar, pts, &m));
    CHECK(strstr(m.text, "SLA") != NULL);
    rq.what = STORE_Q_DSO;
    rq.n_periods = 0;
    CHECK_ERR(ERR_BAD_PARAM, store_q_series(sn, &all, &rq, ar, pts, &m));
    rq.n_periods = 2;
    store_scope_t nobody = usd(NULL, "Nobody");
    CHECK_ERR(ERR_NOT_FOUND, store_q_series(sn, &nobody, &rq, ar, pts, &m));
    kpi_period_t wide = {D(1900, 1, 1), D(2025, 1, 31)};
    rq.periods = &wide;
    rq.n_periods = 1;
    CHECK_ERR(ERR_BAD_PARAM, store_q_series(sn, &all, &rq, ar, pts, &m));
    CHECK(strstr(m.text, "spans more than") != NULL);

    store_snap_end(sn);
    kpi_arena_free(ar);
    store_close(s);
    rmdir_all(dir);
}

/* Name lists copy into their arena, grow, and stop at the arena's cap. */
static void test_names(void)
{
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(4096, &ar) == ERR_OK);
    store_q_names_t ns = {.arena = ar};
    char name[16];
    err_t e = ERR_OK;
    size_t i = 0;
    for (; i < 200 && e == ERR_OK; i++) {
        snprintf(name, sizeof name, "unit-%zu", i);
        e = store_q_names_add(&ns, name);
    }
    /* 4 KiB holds the 64-slot array, its 128-slot successor and the names
       until the 256-slot array no longer fits. */
    CHECK_ERR(ERR_NOMEM, e);
    CHECK(ns.n >= 64 && ns.n < 200);
    CHECK_STR("unit-0", ns.v[0]);
    snprintf(name, sizeof name, "unit-%zu", ns.n - 1);
    CHECK_STR(name, ns.v[ns.n - 1]);
    CHECK(ns.v[0] != (const char *)name); /* a copy, not the caller's buffer */
    store_q_names_sort(&ns);              /* by bytes: unit-0, unit-1, unit-10, ... */
    CHECK_STR("unit-0", ns.v[0]);
    CHECK_STR("unit-1", ns.v[1]);
    CHECK_STR("unit-10", ns.v[2]);
    for (size_t k = 1; k < ns.n; k++)
        CHECK(strcmp(ns.v[k - 1], ns.v[k]) < 0);
    kpi_arena_free(ar);
}

/* Issue 18: groups came in order of first appearance, so a store and a
   re-ingest of the same events in another order listed them differently.
   Two stores, the same invoices in opposite orders: the same groups, by
   name. */
static void test_group_order_is_by_name(void)
{
    static const char *const cust[] = {"zed", "Acme", "mid", "B"};
    static const char *const unit[] = {"west", "east", "north", "east"};
    const char *keys[2][2][4];
    size_t n_keys[2][2];
    for (int order = 0; order < 2; order++) {
        char dir[64];
        tmpdir(dir);
        store_t *s = open_store(dir, 0);
        kpi_event_t e[4];
        char id[4][8], doc[4][8];
        for (size_t i = 0; i < 4; i++) {
            size_t k = order ? 3 - i : i;
            snprintf(id[i], sizeof id[i], "g%zu", k);
            snprintf(doc[i], sizeof doc[i], "INV-%zu", k);
            e[i] = ev(KPI_EV_INVOICE_ISSUED, id[i], T(2025, 1, 10, 9), doc[i], NULL, 1000, cust[k]);
            e[i].business_unit = unit[k];
        }
        store_item_result_t res[4];
        store_batch_opts_t bo = {0};
        CHECK_INT(4, put(s, e, 4, &bo, res).accepted);
        kpi_arena_t *ar = NULL;
        REQUIRE(kpi_arena_new(1 << 20, &ar) == ERR_OK);
        store_snap_t *sn = NULL;
        REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
        err_msg_t m = {{0}};
        store_scope_t all = usd(NULL, NULL);
        for (int g = 0; g < 2; g++) {
            store_q_aging_req_t rq = {.as_of = D(2025, 2, 28), .edges = edges, .n_edges = 4};
            rq.group_by = g ? STORE_Q_GROUP_UNIT : STORE_Q_GROUP_CUSTOMER;
            store_q_aging_t a;
            CHECK_ERR(ERR_OK, store_q_aging(sn, &all, &rq, ar, &a, &m));
            n_keys[order][g] = a.n_groups;
            for (size_t i = 0; i < a.n_groups && i < 4; i++)
                keys[order][g][i] = strdup(a.keys[i]);
        }
        store_snap_end(sn);
        kpi_arena_free(ar);
        store_close(s);
        rmdir_all(dir);
    }
    static const char *const by_cust[] = {"Acme", "B", "mid", "zed"}; /* bytes: upper first */
    static const char *const by_unit[] = {"east", "north", "west"};
    for (int order = 0; order < 2; order++) {
        REQUIRE(n_keys[order][0] == 4 && n_keys[order][1] == 3);
        for (size_t i = 0; i < 4; i++)
            CHECK_STR(by_cust[i], keys[order][0][i]);
        for (size_t i = 0; i < 3; i++)
            CHECK_STR(by_unit[i], keys[order][1][i]);
        for (size_t g = 0; g < 2; g++)
            for (size_t i = 0; i < n_keys[order][g]; i++)
                free((char *)keys[order][g][i]);
    }
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    RUN(test_aging);
    RUN(test_series);
    RUN(test_names);
    RUN(test_group_order_is_by_name);
    kpi_tz_free(test_utc);
    return test_summary();
}
