/*
 * test_store_worklist.c — the overdue worklist of store_worklist.h on a
 * small book checked by hand: rows as of today and as of a past day (an
 * invoice paid since is listed), the sums against the aging, the sorts,
 * filters, paging with cursors (also while events arrive), the facts beside
 * each row (dispute, credit hold, last payment), and the refusals.
 *
 * The book (USD, UTC; cents):
 *   INV-1 north/A 2025-01-10 1000.00, due 02-09; PAY-1 A 600.00 applied 02-15
 *   INV-2 south/B 2025-01-20  500.00, due 02-19; dispute DSP-1 opened 02-20
 *   INV-3 north/A 2025-02-05  300.00, due 03-07
 *   INV-4 north/C 2025-01-01  200.00, due 01-31; PAY-3 C 200.00 applied 03-10
 *   DSP-2 on INV-1 opened 02-01, resolved 02-10; B on credit hold 02-21
 */
#include "store_worklist.h"

#include "store_query.h"
#include "store_test.h"

static store_t *book(const char *dir)
{
    store_t *s = open_store(dir, 0);
    kpi_event_t e[16];
    size_t n = 0;
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "e1", T(2025, 1, 10, 9), "INV-1", NULL, 100000, "A");
    e[n++].business_unit = "north";
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "e2", T(2025, 1, 20, 9), "INV-2", NULL, 50000, "B");
    e[n++].business_unit = "south";
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "e3", T(2025, 2, 5, 9), "INV-3", NULL, 30000, "A");
    e[n++].business_unit = "north";
    e[n] = ev(KPI_EV_INVOICE_ISSUED, "e4", T(2025, 1, 1, 9), "INV-4", NULL, 20000, "C");
    e[n++].business_unit = "north";
    e[n++] = ev(KPI_EV_PAYMENT_RECEIVED, "e5", T(2025, 2, 15, 9), "PAY-1", NULL, 60000, "A");
    e[n++] = ev(KPI_EV_PAYMENT_APPLIED, "e6", T(2025, 2, 15, 10), "PAY-1", "INV-1", 60000, NULL);
    e[n++] = ev(KPI_EV_PAYMENT_RECEIVED, "e7", T(2025, 3, 10, 9), "PAY-3", NULL, 20000, "C");
    e[n++] = ev(KPI_EV_PAYMENT_APPLIED, "e8", T(2025, 3, 10, 10), "PAY-3", "INV-4", 20000, NULL);
    e[n++] = ev(KPI_EV_DISPUTE_OPENED, "e9", T(2025, 2, 20, 9), "DSP-1", "INV-2", 0, "B");
    e[n++] = ev(KPI_EV_DISPUTE_OPENED, "e10", T(2025, 2, 1, 9), "DSP-2", "INV-1", 0, "A");
    e[n++] = ev(KPI_EV_DISPUTE_RESOLVED, "e11", T(2025, 2, 10, 9), "DSP-2", NULL, 0, NULL);
    e[n++] = ev(KPI_EV_CREDIT_HOLD_SET, "e12", T(2025, 2, 21, 9), NULL, NULL, 0, "B");
    store_item_result_t res[16];
    store_batch_opts_t bo = {0};
    store_batch_stats_t st = put(s, e, n, &bo, res);
    CHECK_INT(n, st.accepted);
    return s;
}

static store_scope_t usd(const char *unit, const char *party)
{
    store_scope_t sc = {.currency = "USD", .business_unit = unit, .party = party};
    return sc;
}

static store_wl_req_t req_of(int32_t as_of, store_wl_sort_t sort, size_t limit)
{
    store_wl_req_t rq = {.as_of = as_of, .sort = sort, .limit = limit, .base_currency = "USD"};
    return rq;
}

/* The overdue part of the aging: every bucket but `current`. */
static void aging_overdue(store_snap_t *sn, const store_scope_t *sc, int32_t as_of, kpi_arena_t *ar,
                          int64_t *amount, int64_t *count)
{
    static const int32_t edges[] = {30, 60, 90, 120};
    store_q_aging_req_t rq = {.as_of = as_of, .edges = edges, .n_edges = 4};
    store_q_aging_t ag;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, store_q_aging(sn, sc, &rq, ar, &ag, &m));
    *amount = ag.all.total_amount - ag.all.buckets[0].amount;
    *count = ag.all.total_count - ag.all.buckets[0].count;
}

/* The invoice numbers of a page, comma-separated. */
static const char *invoices(const store_wl_overdue_t *w, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < w->n; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? "," : "", w->rows[i].invoice);
    return buf;
}

static void test_overdue_rows(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = book(dir);
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1u << 20, &ar) == ERR_OK);
    err_msg_t m = {{0}};
    char buf[256];
    store_scope_t all = usd(NULL, NULL);

    /* As of 03-31 (after the latest event day): the open-now index. */
    store_wl_req_t rq = req_of(D(2025, 3, 31), STORE_WL_SORT_DAYS, 100);
    store_wl_overdue_t w;
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("INV-1,INV-2,INV-3", invoices(&w, buf, sizeof buf));
    REQUIRE(w.n == 3);
    CHECK_INT(50, w.rows[0].days_past_due);
    CHECK_INT(40000, w.rows[0].open);
    CHECK_INT(100000, w.rows[0].amount);
    CHECK_STR("A", w.rows[0].customer);
    CHECK_STR("north", w.rows[0].business_unit);
    CHECK_INT(D(2025, 2, 9), w.rows[0].due_day);
    CHECK_INT(D(2025, 1, 10), w.rows[0].issue_day);
    CHECK(!w.rows[0].disputed);
    CHECK(!w.rows[0].on_hold);
    CHECK_INT(D(2025, 2, 15), w.rows[0].last_payment_day);
    CHECK_INT(60000, w.rows[0].last_payment_amount);
    CHECK_INT(40, w.rows[1].days_past_due);
    CHECK(w.rows[1].disputed);
    CHECK(w.rows[1].on_hold);
    CHECK_INT(INT32_MIN, w.rows[1].last_payment_day);
    CHECK_INT(24, w.rows[2].days_past_due);
    CHECK_INT(3, w.total_count);
    CHECK_INT(120000, w.total_amount);
    CHECK(!w.more);
    CHECK_STR("", w.next);
    int64_t amt, cnt;
    aging_overdue(sn, &all, D(2025, 3, 31), ar, &amt, &cnt);
    CHECK_INT(amt, w.total_amount);
    CHECK_INT(cnt, w.total_count);

    /* As of 02-28 (before the latest day): INV-4, paid on 03-10, is listed;
       INV-3 is not due yet; DSP-2 was resolved; C had paid nothing yet. */
    rq = req_of(D(2025, 2, 28), STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("INV-4,INV-1,INV-2", invoices(&w, buf, sizeof buf));
    REQUIRE(w.n == 3);
    CHECK_INT(28, w.rows[0].days_past_due);
    CHECK_INT(20000, w.rows[0].open);
    CHECK_INT(INT32_MIN, w.rows[0].last_payment_day);
    CHECK(!w.rows[1].disputed);
    CHECK(w.rows[2].disputed);
    CHECK_INT(110000, w.total_amount);
    aging_overdue(sn, &all, D(2025, 2, 28), ar, &amt, &cnt);
    CHECK_INT(amt, w.total_amount);
    CHECK_INT(cnt, w.total_count);
    /* Before PAY-1 was received, A had no payment; before DSP-1, INV-2 is
       undisputed (and not due before 02-20). */
    rq = req_of(D(2025, 2, 14), STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("INV-4,INV-1", invoices(&w, buf, sizeof buf));
    CHECK_INT(INT32_MIN, w.rows[1].last_payment_day);
    CHECK_INT(120000, w.total_amount);

    /* Sorts. */
    rq = req_of(D(2025, 3, 31), STORE_WL_SORT_AMOUNT, 100);
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("INV-2,INV-1,INV-3", invoices(&w, buf, sizeof buf));
    rq = req_of(D(2025, 3, 31), STORE_WL_SORT_CUSTOMER, 100);
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("INV-1,INV-3,INV-2", invoices(&w, buf, sizeof buf));

    /* Filters, each summing to its own aging. */
    const char *scopes[][2] = {{"north", NULL}, {"south", NULL}, {NULL, "A"}, {"north", "A"}};
    const char *expect[] = {"INV-1,INV-3", "INV-2", "INV-1,INV-3", "INV-1,INV-3"};
    for (size_t i = 0; i < 4; i++) {
        store_scope_t sc = usd(scopes[i][0], scopes[i][1]);
        rq = req_of(D(2025, 3, 31), STORE_WL_SORT_DAYS, 100);
        CHECK_ERR(ERR_OK, store_wl_overdue(sn, &sc, &rq, ar, &w, &m));
        CHECK_STR(expect[i], invoices(&w, buf, sizeof buf));
        aging_overdue(sn, &sc, D(2025, 3, 31), ar, &amt, &cnt);
        CHECK_INT(amt, w.total_amount);
        CHECK_INT(cnt, w.total_count);
    }
    /* B has nothing in north; another currency has nothing. */
    store_scope_t sc = usd("north", "B");
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &sc, &rq, ar, &w, &m));
    CHECK_INT(0, w.total_count);
    store_scope_t eur = {.currency = "EUR"};
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &eur, &rq, ar, &w, &m));
    CHECK_INT(0, w.total_count);

    /* Unknown names. */
    sc = usd("nowhere", NULL);
    CHECK_ERR(ERR_NOT_FOUND, store_wl_overdue(sn, &sc, &rq, ar, &w, &m));
    sc = usd(NULL, "nobody");
    CHECK_ERR(ERR_NOT_FOUND, store_wl_overdue(sn, &sc, &rq, ar, &w, &m));
    sc = usd("nowhere", "A");
    CHECK_ERR(ERR_NOT_FOUND, store_wl_overdue(sn, &sc, &rq, ar, &w, &m));

    /* Limits. */
    rq.limit = 0;
    CHECK_ERR(ERR_BAD_PARAM, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    rq.limit = STORE_WL_LIMIT_MAX + 1;
    CHECK_ERR(ERR_BAD_PARAM, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    rq.limit = STORE_WL_LIMIT_MAX;
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    CHECK_INT(3, w.n);

    store_snap_end(sn);
    kpi_arena_free(ar);
    store_close(s);
    rmdir_all(dir);
}

/* Page through with limit 1 and check the cursor chain; each sort. */
static void test_overdue_paging(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = book(dir);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1u << 20, &ar) == ERR_OK);
    err_msg_t m = {{0}};
    store_scope_t all = usd(NULL, NULL);
    static const char *const order[3][3] = {
        {"INV-1", "INV-2", "INV-3"}, {"INV-2", "INV-1", "INV-3"}, {"INV-1", "INV-3", "INV-2"}};
    for (int sort = 0; sort < 3; sort++) {
        store_snap_t *sn = NULL;
        REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
        store_wl_pos_t pos;
        bool have = false;
        for (int page = 0; page < 3; page++) {
            store_wl_req_t rq = req_of(D(2025, 3, 31), (store_wl_sort_t)sort, 1);
            rq.after = have ? &pos : NULL;
            store_wl_overdue_t w;
            CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
            REQUIRE(w.n == 1);
            CHECK_STR(order[sort][page], w.rows[0].invoice);
            CHECK_INT(3, w.total_count);
            CHECK(w.more == (page < 2));
            if (w.more) {
                CHECK_ERR(ERR_OK, store_wl_cursor_decode(w.next, &pos, &m));
                have = true;
            }
        }
        store_snap_end(sn);
    }

    /* Events arrive between two pages: INV-5 (90 days past due) sorts
       before the cursor and INV-6 (10 days) after it; INV-2 is paid. The
       next pages list what is after the cursor, once: INV-3, INV-6. */
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_wl_req_t rq = req_of(D(2025, 3, 31), STORE_WL_SORT_DAYS, 1);
    store_wl_overdue_t w;
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("INV-1", w.rows[0].invoice);
    store_wl_pos_t pos;
    CHECK_ERR(ERR_OK, store_wl_cursor_decode(w.next, &pos, &m));
    store_snap_end(sn);
    kpi_event_t e[4];
    e[0] = ev(KPI_EV_INVOICE_ISSUED, "n1", T(2024, 12, 1, 9), "INV-5", NULL, 7000, "D");
    e[1] = ev(KPI_EV_INVOICE_ISSUED, "n2", T(2025, 2, 19, 9), "INV-6", NULL, 8000, "D");
    e[2] = ev(KPI_EV_PAYMENT_RECEIVED, "n3", T(2025, 3, 11, 9), "PAY-5", NULL, 50000, "B");
    e[3] = ev(KPI_EV_PAYMENT_APPLIED, "n4", T(2025, 3, 11, 10), "PAY-5", "INV-2", 50000, NULL);
    store_item_result_t res[4];
    store_batch_opts_t bo = {0};
    CHECK_INT(4, put(s, e, 4, &bo, res).accepted);
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    rq = req_of(D(2025, 3, 31), STORE_WL_SORT_DAYS, 10);
    rq.after = &pos;
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    char buf[128];
    CHECK_STR("INV-3,INV-6", invoices(&w, buf, sizeof buf));
    CHECK_INT(4, w.total_count); /* INV-5, INV-1, INV-3, INV-6 */
    CHECK(!w.more);

    /* A cursor of another sort or day is refused. */
    rq.sort = STORE_WL_SORT_AMOUNT;
    CHECK_ERR(ERR_BAD_PARAM, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    rq.sort = STORE_WL_SORT_DAYS;
    rq.as_of = D(2025, 3, 30);
    CHECK_ERR(ERR_BAD_PARAM, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    store_snap_end(sn);
    kpi_arena_free(ar);
    store_close(s);
    rmdir_all(dir);
}

static void test_cursor_codec(void)
{
    store_wl_pos_t p = {.sort = STORE_WL_SORT_CUSTOMER,
                        .as_of = D(2025, 3, 31),
                        .days = -7,
                        .amount = -123456789012LL};
    snprintf(p.customer, sizeof p.customer, "%s", "Acme|Co 12");
    snprintf(p.number, sizeof p.number, "%s", "INV|9");
    char buf[STORE_WL_CURSOR_BUF];
    store_wl_cursor_encode(&p, buf);
    for (const char *c = buf; *c; c++)
        CHECK((*c >= '0' && *c <= '9') || (*c >= 'a' && *c <= 'f'));
    store_wl_pos_t q;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, store_wl_cursor_decode(buf, &q, &m));
    CHECK_INT(p.sort, q.sort);
    CHECK_INT(p.as_of, q.as_of);
    CHECK_INT(p.days, q.days);
    CHECK_INT(p.amount, q.amount);
    CHECK_STR(p.customer, q.customer);
    CHECK_STR(p.number, q.number);
    /* Longest names fit. */
    memset(p.customer, 'c', KPI_NAME_MAX);
    p.customer[KPI_NAME_MAX] = '\0';
    memset(p.number, 'i', KPI_NAME_MAX);
    p.number[KPI_NAME_MAX] = '\0';
    store_wl_cursor_encode(&p, buf);
    CHECK_ERR(ERR_OK, store_wl_cursor_decode(buf, &q, &m));
    CHECK_STR(p.number, q.number);

    /* Not cursors: empty, odd length, not hex, hex of something else, a
       list or sort out of range, a customer length past the end, no
       number, a field short. */
    static const char *const bad[] = {"",
                                      "abc",
                                      "zz",
                                      "6869",
                                      "77317c307c397c307c307c307c307c41", /* w1|0|9|0|0|0|0|A */
                                      "77317c357c307c307c307c307c307c41", /* w1|5|0|0|0|0|0|A */
                                      "77317c307c307c307c307c307c397c41", /* w1|0|0|0|0|0|9|A */
                                      "77317c307c307c307c307c307c317c41", /* w1|0|0|0|0|0|1|A */
                                      "77317c307c307c307c307c307c41",     /* w1|0|0|0|0|0|A */
                                      "4142"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK_MSG(store_wl_cursor_decode(bad[i], &q, &m) == ERR_BAD_PARAM, "%s", bad[i]);
        CHECK(strstr(m.text, "cursor") != NULL);
    }
    /* Upper-case hex is not what encode makes. */
    char up[STORE_WL_CURSOR_BUF];
    p = (store_wl_pos_t){.sort = STORE_WL_SORT_DAYS};
    snprintf(p.number, sizeof p.number, "%s", "I");
    store_wl_cursor_encode(&p, up);
    CHECK_ERR(ERR_OK, store_wl_cursor_decode(up, &q, &m));
    for (char *c = up; *c; c++)
        if (*c >= 'a' && *c <= 'f')
            *c = (char)(*c - 'a' + 'A');
    CHECK_ERR(ERR_BAD_PARAM, store_wl_cursor_decode(up, &q, &m));
}

static int64_t aging_unapplied(store_snap_t *sn, const store_scope_t *sc, int32_t as_of,
                               kpi_arena_t *ar)
{
    static const int32_t edges[] = {30, 60, 90, 120};
    store_q_aging_req_t rq = {.as_of = as_of, .edges = edges, .n_edges = 4};
    store_q_aging_t ag;
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_OK, store_q_aging(sn, sc, &rq, ar, &ag, &m));
    return ag.unapplied_cash;
}

static const char *payments(const store_wl_unapplied_t *w, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < w->n; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? "," : "", w->rows[i].payment);
    return buf;
}

/* The book above plus: PAY-2 B 200.00 received 02-27 (unit "default"), not applied;
   PAY-4 A north 500.00 received 03-01, 100.00 applied to INV-3 03-05, 50.00
   refunded 03-20; PAY-6 B south 300.00 received 03-02, applied 03-02 to
   INV-9, which has not arrived (so it does not count yet). */
static void test_unapplied(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = book(dir);
    kpi_event_t e[7];
    size_t k = 0;
    e[k++] = ev(KPI_EV_PAYMENT_RECEIVED, "u1", T(2025, 2, 27, 9), "PAY-2", NULL, 20000, "B");
    e[k] = ev(KPI_EV_PAYMENT_RECEIVED, "u2", T(2025, 3, 1, 9), "PAY-4", NULL, 50000, "A");
    e[k++].business_unit = "north";
    e[k++] = ev(KPI_EV_PAYMENT_APPLIED, "u3", T(2025, 3, 5, 9), "PAY-4", "INV-3", 10000, NULL);
    e[k++] = ev(KPI_EV_PAYMENT_REFUNDED, "u4", T(2025, 3, 20, 9), "PAY-4", NULL, 5000, NULL);
    e[k] = ev(KPI_EV_PAYMENT_RECEIVED, "u5", T(2025, 3, 2, 9), "PAY-6", NULL, 30000, "B");
    e[k++].business_unit = "south";
    e[k++] = ev(KPI_EV_PAYMENT_APPLIED, "u6", T(2025, 3, 2, 10), "PAY-6", "INV-9", 30000, NULL);
    store_item_result_t res[7];
    store_batch_opts_t bo = {0};
    CHECK_INT(k, put(s, e, k, &bo, res).accepted);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1u << 20, &ar) == ERR_OK);
    err_msg_t m = {{0}};
    char buf[256];
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_scope_t all = usd(NULL, NULL);
    store_wl_unapplied_t w;

    store_wl_req_t rq = req_of(D(2025, 3, 31), STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_OK, store_wl_unapplied(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("PAY-2,PAY-4,PAY-6", payments(&w, buf, sizeof buf));
    REQUIRE(w.n == 3);
    CHECK_INT(32, w.rows[0].age_days);
    CHECK_INT(20000, w.rows[0].unapplied);
    CHECK_STR("B", w.rows[0].customer);
    CHECK_STR("default", w.rows[0].business_unit); /* an event without one */
    CHECK_INT(D(2025, 2, 27), w.rows[0].received_day);
    CHECK_INT(35000, w.rows[1].unapplied);
    CHECK_INT(50000, w.rows[1].amount);
    CHECK_STR("north", w.rows[1].business_unit);
    CHECK_INT(30000, w.rows[2].unapplied);
    CHECK_INT(85000, w.total_amount);
    CHECK_INT(3, w.total_count);
    CHECK_INT(aging_unapplied(sn, &all, D(2025, 3, 31), ar), w.total_amount);

    /* Past days: before the refund; before PAY-2 (PAY-1 was applied). */
    rq = req_of(D(2025, 3, 10), STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_OK, store_wl_unapplied(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("PAY-2,PAY-4,PAY-6", payments(&w, buf, sizeof buf));
    CHECK_INT(40000, w.rows[1].unapplied);
    CHECK_INT(90000, w.total_amount);
    CHECK_INT(aging_unapplied(sn, &all, D(2025, 3, 10), ar), w.total_amount);
    rq = req_of(D(2025, 3, 3), STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_OK, store_wl_unapplied(sn, &all, &rq, ar, &w, &m));
    CHECK_INT(50000, w.rows[1].unapplied); /* before the application of 03-05 */
    CHECK_INT(aging_unapplied(sn, &all, D(2025, 3, 3), ar), w.total_amount);
    rq = req_of(D(2025, 2, 20), STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_OK, store_wl_unapplied(sn, &all, &rq, ar, &w, &m));
    CHECK_INT(0, w.total_count);
    CHECK_INT(0, aging_unapplied(sn, &all, D(2025, 2, 20), ar));

    /* Sorts and filters. */
    rq = req_of(D(2025, 3, 31), STORE_WL_SORT_AMOUNT, 100);
    CHECK_ERR(ERR_OK, store_wl_unapplied(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("PAY-4,PAY-6,PAY-2", payments(&w, buf, sizeof buf));
    rq = req_of(D(2025, 3, 31), STORE_WL_SORT_CUSTOMER, 100);
    CHECK_ERR(ERR_OK, store_wl_unapplied(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("PAY-4,PAY-2,PAY-6", payments(&w, buf, sizeof buf));
    const char *scopes[][2] = {{"north", NULL}, {"south", NULL}, {NULL, "B"}, {"south", "B"}};
    const char *expect[] = {"PAY-4", "PAY-6", "PAY-2,PAY-6", "PAY-6"};
    for (size_t i = 0; i < 4; i++) {
        store_scope_t sc = usd(scopes[i][0], scopes[i][1]);
        rq = req_of(D(2025, 3, 31), STORE_WL_SORT_DAYS, 100);
        CHECK_ERR(ERR_OK, store_wl_unapplied(sn, &sc, &rq, ar, &w, &m));
        CHECK_STR(expect[i], payments(&w, buf, sizeof buf));
        CHECK_INT(aging_unapplied(sn, &sc, D(2025, 3, 31), ar), w.total_amount);
    }
    store_scope_t sc = usd("nowhere", NULL);
    CHECK_ERR(ERR_NOT_FOUND, store_wl_unapplied(sn, &sc, &rq, ar, &w, &m));
    sc = usd(NULL, "nobody");
    CHECK_ERR(ERR_NOT_FOUND, store_wl_unapplied(sn, &sc, &rq, ar, &w, &m));
    rq.limit = 0;
    CHECK_ERR(ERR_BAD_PARAM, store_wl_unapplied(sn, &all, &rq, ar, &w, &m));

    /* Paging with limit 1; an overdue cursor is not one of this list. */
    static const char *const order[] = {"PAY-2", "PAY-4", "PAY-6"};
    store_wl_pos_t pos;
    for (int page = 0; page < 3; page++) {
        rq = req_of(D(2025, 3, 31), STORE_WL_SORT_DAYS, 1);
        rq.after = page ? &pos : NULL;
        CHECK_ERR(ERR_OK, store_wl_unapplied(sn, &all, &rq, ar, &w, &m));
        REQUIRE(w.n == 1);
        CHECK_STR(order[page], w.rows[0].payment);
        CHECK(w.more == (page < 2));
        if (w.more)
            CHECK_ERR(ERR_OK, store_wl_cursor_decode(w.next, &pos, &m));
    }
    rq = req_of(D(2025, 3, 31), STORE_WL_SORT_DAYS, 1);
    store_wl_overdue_t ow;
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &ow, &m));
    CHECK_ERR(ERR_OK, store_wl_cursor_decode(ow.next, &pos, &m));
    rq.after = &pos;
    CHECK_ERR(ERR_BAD_PARAM, store_wl_unapplied(sn, &all, &rq, ar, &w, &m));
    CHECK(strstr(m.text, "another worklist") != NULL);
    store_snap_end(sn);

    /* INV-9 arrives: PAY-6's application takes effect and it leaves. */
    kpi_event_t inv9 = ev(KPI_EV_INVOICE_ISSUED, "u7", T(2025, 3, 1, 9), "INV-9", NULL, 30000, "B");
    inv9.business_unit = "south";
    (void)put1(s, &inv9, &bo);
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    rq = req_of(D(2025, 3, 31), STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_OK, store_wl_unapplied(sn, &all, &rq, ar, &w, &m));
    CHECK_STR("PAY-2,PAY-4", payments(&w, buf, sizeof buf));
    CHECK_INT(aging_unapplied(sn, &all, D(2025, 3, 31), ar), w.total_amount);
    store_snap_end(sn);
    kpi_arena_free(ar);
    store_close(s);
    rmdir_all(dir);
}

/* FTQ reviewed - passed of [from, to] from the store's counters. */
static void ftq_of(store_snap_t *sn, store_ftq_kind_t kind, const char *unit, int32_t from,
                   int32_t to, int64_t *reviewed, int64_t *failed)
{
    store_scope_t sc = usd(unit, NULL);
    int32_t days[2] = {from - 1, to};
    store_ftq_counts_t c[2];
    CHECK_ERR(ERR_OK, store_ftq_cumulative(sn, kind, &sc, days, 2, c));
    *reviewed = c[1].reviewed - c[0].reviewed;
    *failed = *reviewed - (c[1].passed - c[0].passed);
}

static const char *numbers(const store_wl_quality_t *w, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < w->n; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? "," : "", w->rows[i].number);
    return buf;
}

/* Invoices reviewed in January 2025: Q1 passes; Q2 fails first (01-08),
   then passes; Q3 passes (01-10) but is corrected by a credit note; Q4 has
   two reviews at the same instant, the fail's id first (01-12); Q5's first
   review is in February; Q6's review waits for its invoice. Bills (vendor
   V): B1 processed clean; B2 rejected before processing; B3 escalated
   after processing (clean); B4 rejected and escalated before it. */
static void test_quality(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    kpi_event_t e[32];
    size_t k = 0;
    const char *invs[] = {"Q1", "Q2", "Q3", "Q4", "Q5"};
    const char *units[] = {"north", "north", "south", "south", "north"};
    const char *ids[] = {"i1", "i2", "i3", "i4", "i5"};
    for (size_t i = 0; i < 5; i++) {
        e[k] = ev(KPI_EV_INVOICE_ISSUED, ids[i], T(2025, 1, 5, 9), invs[i], NULL, 10000 * (i + 1),
                  i < 2 || i == 4 ? "A" : "B");
        e[k++].business_unit = units[i];
    }
    e[k++] = ev(KPI_EV_INVOICE_REVIEWED, "r1", T(2025, 1, 6, 9), "Q1", NULL, 0, NULL);
    e[k] = ev(KPI_EV_INVOICE_REVIEWED, "r2", T(2025, 1, 8, 9), "Q2", NULL, 0, NULL);
    e[k++].result = KPI_RESULT_FAIL;
    e[k++] = ev(KPI_EV_INVOICE_REVIEWED, "r3", T(2025, 1, 9, 9), "Q2", NULL, 0, NULL);
    e[k++] = ev(KPI_EV_INVOICE_REVIEWED, "r4", T(2025, 1, 10, 9), "Q3", NULL, 0, NULL);
    e[k++] = ev(KPI_EV_CREDIT_NOTE_ISSUED, "c1", T(2025, 2, 20, 9), "CN-1", "Q3", 1000, "B");
    e[k++] = ev(KPI_EV_INVOICE_REVIEWED, "r-b", T(2025, 1, 12, 9), "Q4", NULL, 0, NULL);
    e[k] = ev(KPI_EV_INVOICE_REVIEWED, "r-a", T(2025, 1, 12, 9), "Q4", NULL, 0, NULL);
    e[k++].result = KPI_RESULT_FAIL;
    e[k] = ev(KPI_EV_INVOICE_REVIEWED, "r5", T(2025, 2, 5, 9), "Q5", NULL, 0, NULL);
    e[k++].result = KPI_RESULT_FAIL;
    e[k] = ev(KPI_EV_INVOICE_REVIEWED, "r6", T(2025, 1, 11, 9), "Q6", NULL, 0, NULL);
    e[k++].result = KPI_RESULT_FAIL;
    const char *bills[] = {"B1", "B2", "B3", "B4"};
    const char *bids[] = {"b1", "b2", "b3", "b4"};
    for (size_t i = 0; i < 4; i++) {
        e[k] = ev(KPI_EV_BILL_RECEIVED, bids[i], T(2025, 1, 2, 9), bills[i], NULL, 5000, "V");
        e[k++].business_unit = "north";
    }
    e[k++] = ev(KPI_EV_BILL_PROCESSED, "p1", T(2025, 1, 6, 9), "B1", NULL, 0, NULL);
    e[k++] = ev(KPI_EV_BILL_REJECTED, "x2", T(2025, 1, 4, 9), "B2", NULL, 0, NULL);
    e[k++] = ev(KPI_EV_BILL_PROCESSED, "p2", T(2025, 1, 8, 9), "B2", NULL, 0, NULL);
    e[k++] = ev(KPI_EV_BILL_PROCESSED, "p3", T(2025, 1, 5, 9), "B3", NULL, 0, NULL);
    e[k++] = ev(KPI_EV_BILL_ESCALATED, "x3", T(2025, 1, 7, 9), "B3", NULL, 0, NULL);
    e[k++] = ev(KPI_EV_BILL_ESCALATED, "x4", T(2025, 1, 4, 9), "B4", NULL, 0, NULL);
    e[k++] = ev(KPI_EV_BILL_REJECTED, "y4", T(2025, 1, 4, 10), "B4", NULL, 0, NULL);
    e[k++] = ev(KPI_EV_BILL_PROCESSED, "p4", T(2025, 1, 9, 9), "B4", NULL, 0, NULL);
    REQUIRE(k <= 32);
    store_item_result_t res[32];
    store_batch_opts_t bo = {0};
    CHECK_INT(k, put(s, e, k, &bo, res).accepted);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1u << 20, &ar) == ERR_OK);
    err_msg_t m = {{0}};
    char buf[256];
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_scope_t any = {.currency = ""};
    int32_t from = D(2025, 1, 1), to = D(2025, 1, 31);
    store_wl_req_t rq = req_of(to, STORE_WL_SORT_DAYS, 100);
    store_wl_quality_t w;
    int64_t reviewed, failed;

    CHECK_ERR(ERR_OK, store_wl_quality(sn, &any, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    CHECK_STR("Q4,Q3,Q2", numbers(&w, buf, sizeof buf));
    REQUIRE(w.n == 3);
    CHECK_INT(STORE_WL_FAILED_FIRST_REVIEW, w.rows[0].reasons);
    CHECK_INT(KPI_RESULT_FAIL, w.rows[0].first_review);
    CHECK_INT(D(2025, 1, 12), w.rows[0].day);
    CHECK_STR("B", w.rows[0].party);
    CHECK_STR("south", w.rows[0].business_unit);
    CHECK_INT(40000, w.rows[0].amount);
    CHECK_STR("USD", w.rows[0].currency);
    CHECK_INT(STORE_WL_CORRECTED, w.rows[1].reasons);
    CHECK_INT(KPI_RESULT_PASS, w.rows[1].first_review);
    CHECK_INT(1, w.rows[1].corrections);
    CHECK_INT(STORE_WL_FAILED_FIRST_REVIEW, w.rows[2].reasons);
    CHECK_INT(4, w.reviewed);
    CHECK_INT(2, w.by_reason[0]);
    CHECK_INT(1, w.by_reason[1]);
    ftq_of(sn, STORE_FTQ_INVOICE, NULL, from, to, &reviewed, &failed);
    CHECK_INT(reviewed, w.reviewed);
    CHECK_INT(failed, w.total_count);

    /* Bills. */
    CHECK_ERR(ERR_OK, store_wl_quality(sn, &any, STORE_FTQ_BILL, from, &rq, ar, &w, &m));
    CHECK_STR("B4,B2", numbers(&w, buf, sizeof buf));
    REQUIRE(w.n == 2);
    CHECK_INT(STORE_WL_REJECTED | STORE_WL_ESCALATED, w.rows[0].reasons);
    CHECK_INT(STORE_WL_REJECTED, w.rows[1].reasons);
    CHECK_STR("V", w.rows[1].party);
    ftq_of(sn, STORE_FTQ_BILL, NULL, from, to, &reviewed, &failed);
    CHECK_INT(reviewed, w.reviewed);
    CHECK_INT(failed, w.total_count);

    /* A unit, a customer, a currency, another period; sorts; paging. */
    store_scope_t north = {.currency = "", .business_unit = "north"};
    CHECK_ERR(ERR_OK, store_wl_quality(sn, &north, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    CHECK_STR("Q2", numbers(&w, buf, sizeof buf));
    ftq_of(sn, STORE_FTQ_INVOICE, "north", from, to, &reviewed, &failed);
    CHECK_INT(reviewed, w.reviewed);
    CHECK_INT(failed, w.total_count);
    store_scope_t b = {.currency = "", .party = "B"};
    CHECK_ERR(ERR_OK, store_wl_quality(sn, &b, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    CHECK_STR("Q4,Q3", numbers(&w, buf, sizeof buf));
    store_scope_t eur = {.currency = "EUR"};
    CHECK_ERR(ERR_OK, store_wl_quality(sn, &eur, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    CHECK_INT(0, w.total_count);
    store_wl_req_t feb = req_of(D(2025, 2, 28), STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_OK,
              store_wl_quality(sn, &any, STORE_FTQ_INVOICE, D(2025, 2, 1), &feb, ar, &w, &m));
    CHECK_STR("Q5", numbers(&w, buf, sizeof buf));
    rq.sort = STORE_WL_SORT_AMOUNT;
    CHECK_ERR(ERR_OK, store_wl_quality(sn, &any, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    CHECK_STR("Q4,Q3,Q2", numbers(&w, buf, sizeof buf));
    rq.sort = STORE_WL_SORT_CUSTOMER;
    CHECK_ERR(ERR_OK, store_wl_quality(sn, &any, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    CHECK_STR("Q2,Q4,Q3", numbers(&w, buf, sizeof buf));
    rq = req_of(to, STORE_WL_SORT_DAYS, 2);
    CHECK_ERR(ERR_OK, store_wl_quality(sn, &any, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    CHECK_STR("Q4,Q3", numbers(&w, buf, sizeof buf));
    REQUIRE(w.more);
    store_wl_pos_t pos;
    CHECK_ERR(ERR_OK, store_wl_cursor_decode(w.next, &pos, &m));
    CHECK_INT(STORE_WL_QUALITY, pos.list);
    rq.after = &pos;
    CHECK_ERR(ERR_OK, store_wl_quality(sn, &any, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    CHECK_STR("Q2", numbers(&w, buf, sizeof buf));
    CHECK(!w.more);

    /* Refusals. */
    store_scope_t nowhere = {.currency = "", .business_unit = "nowhere"};
    rq = req_of(to, STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_NOT_FOUND,
              store_wl_quality(sn, &nowhere, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    store_scope_t nobody = {.currency = "", .party = "nobody"};
    CHECK_ERR(ERR_NOT_FOUND,
              store_wl_quality(sn, &nobody, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    CHECK_ERR(ERR_BAD_PARAM,
              store_wl_quality(sn, &any, (store_ftq_kind_t)7, from, &rq, ar, &w, &m));
    rq.limit = 0;
    CHECK_ERR(ERR_BAD_PARAM, store_wl_quality(sn, &any, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    store_snap_end(sn);

    /* Q6 arrives: its failed review now counts. */
    kpi_event_t q6 = ev(KPI_EV_INVOICE_ISSUED, "i6", T(2025, 1, 5, 9), "Q6", NULL, 100, "A");
    (void)put1(s, &q6, &bo);
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    rq = req_of(to, STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_OK, store_wl_quality(sn, &any, STORE_FTQ_INVOICE, from, &rq, ar, &w, &m));
    CHECK_STR("Q4,Q6,Q3,Q2", numbers(&w, buf, sizeof buf));
    ftq_of(sn, STORE_FTQ_INVOICE, NULL, from, to, &reviewed, &failed);
    CHECK_INT(reviewed, w.reviewed);
    CHECK_INT(failed, w.total_count);
    store_snap_end(sn);
    kpi_arena_free(ar);
    store_close(s);
    rmdir_all(dir);
}

static const char *sla_numbers(const store_wl_sla_t *w, char *buf, size_t cap)
{
    buf[0] = '\0';
    for (size_t i = 0; i < w->n; i++)
        snprintf(buf + strlen(buf), cap - strlen(buf), "%s%s", i ? "," : "", w->rows[i].number);
    return buf;
}

/* ap-processing (3 business days, Saturday and Sunday off), period
   2025-02-01..02-14. S1 Mon 02-03 -> Fri 02-07: 4 days, late by 1. S2 Mon
   02-03, open: breached on 02-07, 6 business days late at 02-14. S3 Wed
   02-12, open: not breached until 02-18. S4 02-03 -> 02-05: met. S5 (south)
   Mon 01-27 -> 02-10: late by 7. S6 01-06 -> 01-20: late, but before the
   period. */
static void test_sla(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    kpi_event_t e[16];
    size_t k = 0;
    struct {
        const char *bill, *id, *pid, *unit;
        int64_t rec, proc;
    } b[] = {{"S1", "s1", "t1", "north", T(2025, 2, 3, 9), T(2025, 2, 7, 9)},
             {"S2", "s2", NULL, "north", T(2025, 2, 3, 9), 0},
             {"S3", "s3", NULL, "north", T(2025, 2, 12, 9), 0},
             {"S4", "s4", "t4", "north", T(2025, 2, 3, 9), T(2025, 2, 5, 9)},
             {"S5", "s5", "t5", "south", T(2025, 1, 27, 9), T(2025, 2, 10, 9)},
             {"S6", "s6", "t6", "north", T(2025, 1, 6, 9), T(2025, 1, 20, 9)}};
    for (size_t i = 0; i < 6; i++) {
        e[k] = ev(KPI_EV_BILL_RECEIVED, b[i].id, b[i].rec, b[i].bill, NULL, 1000, "V");
        e[k++].business_unit = b[i].unit;
        if (b[i].pid)
            e[k++] = ev(KPI_EV_BILL_PROCESSED, b[i].pid, b[i].proc, b[i].bill, NULL, 0, NULL);
    }
    store_item_result_t res[16];
    store_batch_opts_t bo = {0};
    CHECK_INT(k, put(s, e, k, &bo, res).accepted);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1u << 20, &ar) == ERR_OK);
    err_msg_t m = {{0}};
    char buf[256];
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    const kpi_sla_def_t *defs;
    size_t nd = store_sla_defs(s, &defs), ap = nd;
    for (size_t i = 0; i < nd; i++)
        if (strcmp(defs[i].name, "ap-processing") == 0)
            ap = i;
    REQUIRE(ap < nd);
    int32_t from = D(2025, 2, 1), to = D(2025, 2, 14);
    store_scope_t all = {.currency = "USD"};
    store_wl_req_t rq = req_of(to, STORE_WL_SORT_DAYS, 100);
    store_wl_sla_t w;
    CHECK_ERR(ERR_OK, store_wl_sla(sn, &all, ap, from, &rq, ar, &w, &m));
    CHECK_STR("S5,S2,S1", sla_numbers(&w, buf, sizeof buf));
    REQUIRE(w.n == 3);
    CHECK(!w.rows[0].open);
    CHECK_INT(7, w.rows[0].days_late);
    CHECK_INT(D(2025, 1, 27), w.rows[0].start_day);
    CHECK_INT(D(2025, 1, 30), w.rows[0].target_day);
    CHECK_INT(D(2025, 2, 10), w.rows[0].stop_day);
    CHECK_STR("south", w.rows[0].business_unit);
    CHECK_STR("V", w.rows[0].party);
    CHECK(w.rows[1].open);
    CHECK_INT(6, w.rows[1].days_late);
    CHECK_INT(D(2025, 2, 6), w.rows[1].target_day);
    CHECK_INT(INT32_MIN, w.rows[1].stop_day);
    CHECK_INT(1, w.rows[2].days_late);
    CHECK_INT(1, w.breached_open);
    CHECK_INT(2, w.completed_late);
    /* The counters say the same. */
    int32_t days[2] = {from - 1, to};
    store_sla_counts_t c[2];
    CHECK_ERR(ERR_OK, store_sla_cumulative(sn, ap, &all, days, 2, c));
    CHECK_INT(c[1].breach_from - c[1].breach_to, w.breached_open);
    CHECK_INT((c[1].completed - c[0].completed) - (c[1].met - c[0].met), w.completed_late);

    /* A unit; a day when S3 is breached too; paging; refusals. */
    store_scope_t north = {.currency = "USD", .business_unit = "north"};
    CHECK_ERR(ERR_OK, store_wl_sla(sn, &north, ap, from, &rq, ar, &w, &m));
    CHECK_STR("S2,S1", sla_numbers(&w, buf, sizeof buf));
    store_wl_req_t later = req_of(D(2025, 2, 18), STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_OK, store_wl_sla(sn, &all, ap, from, &later, ar, &w, &m));
    CHECK_STR("S2,S5,S1,S3", sla_numbers(&w, buf, sizeof buf));
    CHECK_INT(2, w.breached_open);
    rq = req_of(to, STORE_WL_SORT_DAYS, 2);
    CHECK_ERR(ERR_OK, store_wl_sla(sn, &all, ap, from, &rq, ar, &w, &m));
    REQUIRE(w.more);
    store_wl_pos_t pos;
    CHECK_ERR(ERR_OK, store_wl_cursor_decode(w.next, &pos, &m));
    CHECK_INT(STORE_WL_SLA, pos.list);
    rq.after = &pos;
    CHECK_ERR(ERR_OK, store_wl_sla(sn, &all, ap, from, &rq, ar, &w, &m));
    CHECK_STR("S1", sla_numbers(&w, buf, sizeof buf));
    rq = req_of(to, STORE_WL_SORT_DAYS, 100);
    CHECK_ERR(ERR_BAD_PARAM, store_wl_sla(sn, &all, nd, from, &rq, ar, &w, &m));
    store_scope_t nowhere = {.currency = "USD", .business_unit = "nowhere"};
    CHECK_ERR(ERR_NOT_FOUND, store_wl_sla(sn, &nowhere, ap, from, &rq, ar, &w, &m));
    /* Another SLA with no items. */
    CHECK_ERR(ERR_OK, store_wl_sla(sn, &all, ap == 0 ? 1 : 0, from, &rq, ar, &w, &m));
    CHECK_INT(0, w.total_count);
    store_snap_end(sn);
    kpi_arena_free(ar);
    store_close(s);
    rmdir_all(dir);
}

static void test_empty_store(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    kpi_arena_t *ar = NULL;
    REQUIRE(kpi_arena_new(1u << 16, &ar) == ERR_OK);
    err_msg_t m = {{0}};
    store_scope_t all = usd(NULL, NULL), north = usd("north", NULL), a = usd(NULL, "A");
    store_wl_req_t rq = req_of(D(2025, 3, 31), STORE_WL_SORT_DAYS, 100);
    store_wl_overdue_t w;
    CHECK_ERR(ERR_OK, store_wl_overdue(sn, &all, &rq, ar, &w, &m));
    CHECK_INT(0, w.n);
    CHECK_INT(0, w.total_count);
    CHECK_ERR(ERR_NOT_FOUND, store_wl_overdue(sn, &north, &rq, ar, &w, &m));
    CHECK_ERR(ERR_NOT_FOUND, store_wl_overdue(sn, &a, &rq, ar, &w, &m));
    store_wl_unapplied_t u;
    CHECK_ERR(ERR_OK, store_wl_unapplied(sn, &all, &rq, ar, &u, &m));
    CHECK_INT(0, u.total_count);
    CHECK_ERR(ERR_NOT_FOUND, store_wl_unapplied(sn, &north, &rq, ar, &u, &m));
    store_snap_end(sn);
    kpi_arena_free(ar);
    store_close(s);
    rmdir_all(dir);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    RUN(test_overdue_rows);
    RUN(test_overdue_paging);
    RUN(test_cursor_codec);
    RUN(test_unapplied);
    RUN(test_quality);
    RUN(test_sla);
    RUN(test_empty_store);
    kpi_tz_free(test_utc);
    return test_summary();
}
