/*
 * test_store_payables.c — the bills' open amounts (store/store_payables.c),
 * read through store_query_ap.h: received, partly and wholly paid, rejected
 * (still owed), a payment arriving before its bill, as_of before and after
 * each movement; any arrival order and a rebuild give the same answers; no
 * bill ever shows in a receivables answer, even under an invoice's number;
 * the total is DPO's AP (purchases - bills paid).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi_arena.h"
#include "store_kpi.h"
#include "store_query.h"
#include "store_query_ap.h"
#include "store_test.h"

enum { NEV = 9 };

/* Bills B1 (V1, emea, 1,000.00 due 03-31; paid 400 on 04-05 and 600 on
   04-20), B2 (V2, apac, 500.00 due 04-09; 200 paid on 03-05, before it was
   received on 03-10: the payment counts from 03-10), B3 (V1, emea, 200.00
   due 04-14, rejected then processed, never paid), and an invoice named B1. */
static void book(kpi_event_t *e)
{
    int i = 0;
    e[i] = ev(KPI_EV_BILL_RECEIVED, "b1", T(2024, 3, 1, 9), "B1", NULL, 100000, "V1");
    e[i++].business_unit = "emea";
    e[i++] = ev(KPI_EV_BILL_PAID, "b2", T(2024, 4, 5, 9), "B1", NULL, 40000, NULL);
    e[i++] = ev(KPI_EV_BILL_PAID, "b3", T(2024, 4, 20, 9), "B1", NULL, 60000, NULL);
    e[i++] = ev(KPI_EV_BILL_PAID, "b4", T(2024, 3, 5, 9), "B2", NULL, 20000, NULL);
    e[i] = ev(KPI_EV_BILL_RECEIVED, "b5", T(2024, 3, 10, 9), "B2", NULL, 50000, "V2");
    e[i++].business_unit = "apac";
    e[i] = ev(KPI_EV_BILL_RECEIVED, "b6", T(2024, 3, 15, 9), "B3", NULL, 20000, "V1");
    e[i++].business_unit = "emea";
    e[i++] = ev(KPI_EV_BILL_REJECTED, "b7", T(2024, 3, 16, 9), "B3", NULL, 0, NULL);
    e[i++] = ev(KPI_EV_BILL_PROCESSED, "b8", T(2024, 3, 20, 9), "B3", NULL, 0, NULL);
    e[i] = ev(KPI_EV_INVOICE_ISSUED, "i1", T(2024, 3, 1, 9), "B1", NULL, 7777, "C1");
    e[i++].business_unit = "emea";
    REQUIRE(i == NEV);
}

static const int32_t edges[] = {30, 60, 90, 120};

/* The book ingested in order, in one batch (main). */
static store_t *g_store;

static store_q_ap_aging_t ap_aging(store_snap_t *sn, kpi_arena_t *ar, const char *unit,
                                   const char *vendor, int32_t as_of, store_q_ap_group_t g,
                                   err_t *e)
{
    store_scope_t sc = {"USD", unit, vendor};
    store_q_ap_aging_req_t rq = {as_of, STORE_BASIS_DUE, edges, 4, g};
    store_q_ap_aging_t a;
    err_msg_t msg = {{0}};
    *e = store_q_ap_aging(sn, &sc, &rq, ar, &a, &msg);
    return a;
}

/* Hand-computed: the open bills' total, count and 1-30 days bucket. */
static void test_aging_by_day(void)
{
    store_t *s = g_store;
    const struct {
        int32_t day;
        int64_t total, count, b1_30;
    } rows[] = {
        {D(2024, 2, 29), 0, 0, 0},          /* before any bill */
        {D(2024, 3, 9), 100000, 1, 0},      /* B2's early payment not yet in force */
        {D(2024, 3, 12), 130000, 2, 0},     /* B1 + B2 less 200 */
        {D(2024, 4, 3), 150000, 3, 100000}, /* B3 rejected: still owed; B1 3 days late */
        {D(2024, 4, 10), 110000, 3, 90000}, /* B1 partly paid; B2 1 day late */
        {D(2024, 4, 25), 50000, 2, 50000},  /* B1 paid off: no longer counted */
    };
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1u << 20, &ar) == ERR_OK);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        err_t e;
        store_q_ap_aging_t a = ap_aging(sn, ar, NULL, NULL, rows[i].day, STORE_Q_AP_GROUP_NONE, &e);
        CHECK_ERR(ERR_OK, e);
        CHECK_MSG(a.all.total_amount == rows[i].total && a.all.total_count == rows[i].count &&
                      a.all.buckets[1].amount == rows[i].b1_30,
                  "row %zu: want %lld/%lld/%lld, got %lld/%lld/%lld", i, (long long)rows[i].total,
                  (long long)rows[i].count, (long long)rows[i].b1_30, (long long)a.all.total_amount,
                  (long long)a.all.total_count, (long long)a.all.buckets[1].amount);
        /* DPO's AP at the same day: purchases - bills paid. */
        store_scope_t sc = {"USD", NULL, NULL};
        store_flows_t f;
        CHECK_ERR(ERR_OK, store_flows_cumulative(sn, &sc, &rows[i].day, 1, &f));
        CHECK_INT(rows[i].total, f.purchases - f.bills_paid);
        /* The invoice named B1 alone in receivables. */
        store_q_aging_req_t rq = {rows[i].day, STORE_BASIS_DUE, edges, 4, STORE_Q_GROUP_NONE};
        store_q_aging_t r;
        err_msg_t msg = {{0}};
        CHECK_ERR(ERR_OK, store_q_aging(sn, &sc, &rq, ar, &r, &msg));
        CHECK_INT(rows[i].day >= D(2024, 3, 1) ? 7777 : 0, r.all.total_amount);
        kpi_arena_reset(ar);
    }
    kpi_arena_free(ar);
    store_snap_end(sn);
}

static void test_groups_and_scope(void)
{
    store_t *s = g_store;
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1u << 20, &ar) == ERR_OK);
    err_t e;
    int32_t day = D(2024, 4, 10);
    store_q_ap_aging_t a = ap_aging(sn, ar, NULL, NULL, day, STORE_Q_AP_GROUP_VENDOR, &e);
    CHECK_ERR(ERR_OK, e);
    REQUIRE(a.n_groups == 2);
    CHECK_STR("V1", a.keys[0]);
    CHECK_INT(80000, a.groups[0].total_amount);
    CHECK_INT(2, a.groups[0].total_count);
    CHECK_STR("V2", a.keys[1]);
    CHECK_INT(30000, a.groups[1].total_amount);
    a = ap_aging(sn, ar, NULL, NULL, day, STORE_Q_AP_GROUP_UNIT, &e);
    CHECK_ERR(ERR_OK, e);
    REQUIRE(a.n_groups == 2);
    CHECK_STR("apac", a.keys[0]);
    CHECK_INT(30000, a.groups[0].total_amount);
    CHECK_STR("emea", a.keys[1]);
    CHECK_INT(80000, a.groups[1].total_amount);
    /* A unit's vendors only. */
    a = ap_aging(sn, ar, "emea", NULL, day, STORE_Q_AP_GROUP_VENDOR, &e);
    CHECK_ERR(ERR_OK, e);
    CHECK_INT(1, a.n_groups);
    a = ap_aging(sn, ar, "emea", "V1", day, STORE_Q_AP_GROUP_NONE, &e);
    CHECK_ERR(ERR_OK, e);
    CHECK_INT(80000, a.all.total_amount);
    /* The vendors with bills, whole book and per unit (never a customer). */
    store_q_names_t ns = {.arena = ar};
    CHECK_ERR(ERR_OK, store_ap_vendors(sn, "USD", NULL, store_q_names_add, &ns));
    store_q_names_sort(&ns);
    REQUIRE(ns.n == 2);
    CHECK_STR("V1", ns.v[0]);
    CHECK_STR("V2", ns.v[1]);
    store_q_names_t apac = {.arena = ar};
    CHECK_ERR(ERR_OK, store_ap_vendors(sn, "USD", "apac", store_q_names_add, &apac));
    REQUIRE(apac.n == 1);
    CHECK_STR("V2", apac.v[0]);
    store_q_names_t eur = {.arena = ar};
    CHECK_ERR(ERR_OK, store_ap_vendors(sn, "EUR", NULL, store_q_names_add, &eur));
    CHECK_INT(0, eur.n);
    CHECK_ERR(ERR_NOT_FOUND, store_ap_vendors(sn, "USD", "mars", store_q_names_add, &eur));
    /* Refusals: one answer for "elsewhere" and "nowhere". */
    static const struct {
        const char *unit, *vendor;
    } bad[] = {{NULL, "NOBODY"}, {NULL, "C1"}, {"apac", "V1"}, {"mars", NULL}, {"mars", "V1"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        (void)ap_aging(sn, ar, bad[i].unit, bad[i].vendor, day, STORE_Q_AP_GROUP_NONE, &e);
        CHECK_MSG(e == ERR_NOT_FOUND, "bad %zu: %s", i, err_code(e));
    }
    store_scope_t sc = {"USD", NULL, NULL};
    store_q_ap_aging_req_t rq = {day, STORE_BASIS_DUE, NULL, 0, STORE_Q_AP_GROUP_NONE};
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_BAD_PARAM, store_q_ap_aging(sn, &sc, &rq, ar, &a, &msg));
    kpi_arena_free(ar);
    store_snap_end(sn);
}

static void test_cash_requirements(void)
{
    store_t *s = g_store;
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1u << 20, &ar) == ERR_OK);
    store_scope_t sc = {"USD", NULL, NULL};
    store_q_ap_cashreq_t *c = malloc(sizeof *c);
    REQUIRE(c != NULL);
    err_msg_t msg = {{0}};
    /* Wednesday 2024-04-03: its week runs from Monday 04-01. */
    CHECK_ERR(ERR_OK, store_q_ap_cashreq(sn, &sc, D(2024, 4, 3), 2, ar, c, &msg));
    CHECK_INT(100000, c->overdue.amount); /* B1, due 03-31 */
    CHECK_INT(1, c->overdue.count);
    CHECK_INT(2, c->n_weeks);
    CHECK_INT(D(2024, 4, 3), c->weeks[0].start);
    CHECK_INT(D(2024, 4, 7), c->weeks[0].end);
    CHECK_INT(0, c->weeks[0].amount);
    CHECK_INT(D(2024, 4, 8), c->weeks[1].start);
    CHECK_INT(D(2024, 4, 14), c->weeks[1].end);
    CHECK_INT(50000, c->weeks[1].amount); /* B2 04-09 (300.00) + B3 04-14 (200.00) */
    CHECK_INT(2, c->weeks[1].count);
    CHECK_INT(0, c->later.amount);
    CHECK_INT(150000, c->total_amount);
    /* One week: B2 and B3 fall after it. */
    CHECK_ERR(ERR_OK, store_q_ap_cashreq(sn, &sc, D(2024, 4, 3), 1, ar, c, &msg));
    CHECK_INT(50000, c->later.amount);
    CHECK_INT(D(2024, 4, 8), c->later.start);
    /* A Monday starts a whole week; a Sunday's week is that day alone. */
    CHECK_ERR(ERR_OK, store_q_ap_cashreq(sn, &sc, D(2024, 4, 8), 1, ar, c, &msg));
    CHECK_INT(D(2024, 4, 8), c->weeks[0].start);
    CHECK_INT(50000, c->weeks[0].amount);
    CHECK_INT(60000, c->overdue.amount); /* B1 less 400.00 */
    CHECK_ERR(ERR_OK, store_q_ap_cashreq(sn, &sc, D(2024, 4, 7), 1, ar, c, &msg));
    CHECK_INT(D(2024, 4, 7), c->weeks[0].end);
    /* Scoped to a vendor; refusals. */
    store_scope_t v2 = {"USD", NULL, "V2"};
    CHECK_ERR(ERR_OK, store_q_ap_cashreq(sn, &v2, D(2024, 4, 3), 13, ar, c, &msg));
    CHECK_INT(30000, c->total_amount);
    CHECK_INT(30000, c->weeks[1].amount);
    CHECK_ERR(ERR_BAD_PARAM, store_q_ap_cashreq(sn, &sc, D(2024, 4, 3), 0, ar, c, &msg));
    CHECK_ERR(ERR_BAD_PARAM, store_q_ap_cashreq(sn, &sc, D(2024, 4, 3), 105, ar, c, &msg));
    store_scope_t nobody = {"USD", NULL, "C1"};
    CHECK_ERR(ERR_NOT_FOUND, store_q_ap_cashreq(sn, &nobody, D(2024, 4, 3), 13, ar, c, &msg));
    free(c);
    kpi_arena_free(ar);
    store_snap_end(sn);
}

/* Every figure of the book as text, to compare stores. */
static void answers(store_t *s, char *out, size_t cap)
{
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1u << 20, &ar) == ERR_OK);
    size_t n = 0;
    out[0] = '\0';
    for (int32_t day = D(2024, 2, 28); day <= D(2024, 4, 30); day++)
        for (int g = 0; g < 3; g++) {
            err_t e;
            store_q_ap_aging_t a = ap_aging(sn, ar, NULL, NULL, day, (store_q_ap_group_t)g, &e);
            CHECK_ERR(ERR_OK, e);
            int w =
                snprintf(out + n, cap - n, "%d %d %lld %lld %zu;", day, g,
                         (long long)a.all.total_amount, (long long)a.all.total_count, a.n_groups);
            for (size_t i = 0; w > 0 && i < a.n_groups; i++)
                w += snprintf(out + n + (size_t)w, cap - n - (size_t)w, "%s=%lld/%lld,", a.keys[i],
                              (long long)a.groups[i].total_amount,
                              (long long)a.groups[i].total_count);
            REQUIRE(w > 0 && (size_t)w < cap - n);
            n += (size_t)w;
            kpi_arena_reset(ar);
        }
    kpi_arena_free(ar);
    store_snap_end(sn);
}

static void test_order_and_rebuild(const kpi_event_t *e, const char *want)
{
    enum { CAP = 1 << 18 };
    char *got = malloc(CAP);
    REQUIRE(got != NULL);
    /* Reversed, one event per batch: every payment waits for its bill. */
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    for (int i = NEV - 1; i >= 0; i--)
        (void)put1(s, &e[i], NULL);
    answers(s, got, CAP);
    CHECK_MSG(strcmp(want, got) == 0, "reversed arrival differs");
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_OK, store_rebuild(s, NULL, NULL, &msg));
    answers(s, got, CAP);
    CHECK_MSG(strcmp(want, got) == 0, "rebuild differs");
    store_close(s);
    rmdir_all(dir);
    free(got);
}

int main(void)
{
    test_utc = fixed_zone("UTC", 0, "UTC0");
    kpi_event_t e[NEV];
    book(e);
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    store_item_result_t res[NEV];
    (void)put(s, e, NEV, NULL, res);
    g_store = s;
    RUN(test_aging_by_day);
    RUN(test_groups_and_scope);
    RUN(test_cash_requirements);
    enum { CAP = 1 << 18 };
    char *want = malloc(CAP);
    REQUIRE(want != NULL);
    answers(s, want, CAP);
    test_order_and_rebuild(e, want);
    fprintf(stderr, "%s test_order_and_rebuild\n", test_failures_ ? "FAIL" : "ok  ");
    free(want);
    store_close(s);
    rmdir_all(dir);
    kpi_tz_free(test_utc);
    return test_summary();
}
