/*
 * test_rpt_stmt_data.c — a customer's statement (reports/rpt_stmt_data.c)
 * gathered from a small book whose every figure is worked out by hand
 * below, and the errors a user can reach.
 *
 * The book (base USD, as of 2025-06-30, terms 30 days):
 *   emea "Müller"   EUR  M-1 7000.00 issued 04-01 (due 05-01: 60 days), 1500.00 paid 06-05
 *                   EUR  credit note MC-2 250.00 on account 06-07 (unallocated)
 *                   USD  M-2 2500.00 issued 05-15 (due 06-14: 16 days)
 *                   USD  M-3  400.00 issued 06-20 (due 07-20: not due)
 *                   USD  payment MP-2 900.00 on 05-20, 600.00 applied to M-2, 300.00 unapplied
 *                   EUR  M-4  100.00 issued 07-02: after as_of, not on the statement
 *   apac "大连贸易有限公司" USD C-1 1000.00 issued 06-01, credit note CC-1 100.00 against it 06-03
 *   us   "Empty"    USD  E-1 50.00 issued 2024-01-01, paid 2024-01-10: nothing open
 * EUR: open 5500.00 (60 days), unapplied 0, unallocated 250.00: due 5250.00;
 * June lists the payment MP-1 and the credit note MC-2.
 * USD: open 1900.00 + 400.00 = 2300.00, unapplied 300.00: due 2000.00; June
 * lists nothing (MP-2 was received in May).
 */
#include "rpt_int.h"
#include "rpt_test.h"

static char dir[64];
static store_t *st;

static kpi_event_t cur(kpi_event_t e, const char *unit, const char *code)
{
    e.business_unit = unit;
    memcpy(e.currency, code, 4);
    return e;
}

static void book(void)
{
    const char *m = "M\xC3\xBCller";
    kpi_event_t evs[] = {
        cur(ev(KPI_EV_INVOICE_ISSUED, "s1", T(2025, 4, 1, 9), "M-1", NULL, 700000, m), "emea",
            "EUR"),
        cur(ev(KPI_EV_PAYMENT_RECEIVED, "s2", T(2025, 6, 5, 9), "MP-1", NULL, 150000, m), "emea",
            "EUR"),
        ev(KPI_EV_PAYMENT_APPLIED, "s3", T(2025, 6, 5, 10), "MP-1", "M-1", 150000, NULL),
        cur(ev(KPI_EV_CREDIT_NOTE_ISSUED, "s4", T(2025, 6, 7, 9), "MC-2", NULL, 25000, m), "emea",
            "EUR"),
        cur(ev(KPI_EV_INVOICE_ISSUED, "s5", T(2025, 5, 15, 9), "M-2", NULL, 250000, m), "emea",
            "USD"),
        cur(ev(KPI_EV_INVOICE_ISSUED, "s6", T(2025, 6, 20, 9), "M-3", NULL, 40000, m), "emea",
            "USD"),
        cur(ev(KPI_EV_PAYMENT_RECEIVED, "s7", T(2025, 5, 20, 9), "MP-2", NULL, 90000, m), "emea",
            "USD"),
        ev(KPI_EV_PAYMENT_APPLIED, "s8", T(2025, 5, 21, 9), "MP-2", "M-2", 60000, NULL),
        cur(ev(KPI_EV_INVOICE_ISSUED, "s9", T(2025, 7, 2, 9), "M-4", NULL, 10000, m), "emea",
            "EUR"),
        cur(ev(KPI_EV_INVOICE_ISSUED, "s10", T(2025, 6, 1, 9), "C-1", NULL, 100000, CJK_NAME),
            "apac", "USD"),
        cur(ev(KPI_EV_CREDIT_NOTE_ISSUED, "s11", T(2025, 6, 3, 9), "CC-1", "C-1", 10000, CJK_NAME),
            "apac", "USD"),
        cur(ev(KPI_EV_INVOICE_ISSUED, "s12", T(2024, 1, 1, 9), "E-1", NULL, 5000, "Empty"), "us",
            "USD"),
        cur(ev(KPI_EV_PAYMENT_RECEIVED, "s13", T(2024, 1, 10, 9), "EP-1", NULL, 5000, "Empty"),
            "us", "USD"),
        ev(KPI_EV_PAYMENT_APPLIED, "s14", T(2024, 1, 10, 10), "EP-1", "E-1", 5000, NULL),
    };
    size_t n = sizeof evs / sizeof evs[0];
    store_item_result_t res[16];
    store_batch_stats_t s = put(st, evs, n, NULL, res);
    CHECK_INT(n, s.accepted);
    for (size_t i = 0; i < n; i++)
        if (res[i].status != STORE_ITEM_ACCEPTED)
            fprintf(stderr, "    event %zu: %s\n", i, res[i].message);
}

static rpt_request_t req(const char *customer)
{
    rpt_request_t rq = {.kind = RPT_STATEMENT,
                        .customer = customer,
                        .from_day = D(2025, 6, 1),
                        .to_day = D(2025, 6, 30),
                        .as_of_day = D(2025, 6, 30),
                        .generated_s = T(2025, 7, 10, 6)};
    return rq;
}

static void test_two_currencies(void)
{
    kpi_arena_t *arena = NULL;
    REQUIRE(kpi_arena_new(RPT_ARENA_CAP, &arena) == ERR_OK);
    rpt_request_t rq = req("M\xC3\xBCller");
    rpt_data_t d;
    err_msg_t m = {{0}};
    err_t e = rpt_data_gather(st, &rq, arena, &d, &m); /* the kind's own gathering */
    CHECK_MSG(e == ERR_OK, "%s", m.text);
    REQUIRE(e == ERR_OK);
    const rpt_stmt_t *s = &d.stmt;
    CHECK_INT(RPT_STATEMENT, d.kind);
    CHECK_STR("M\xC3\xBCller", s->customer);
    CHECK_INT(D(2025, 6, 30), s->as_of);
    REQUIRE(s->n_curs == 2);
    CHECK_STR("EUR, USD", s->currencies);

    const rpt_stmt_cur_t *eur = &s->curs[0], *usd = &s->curs[1];
    CHECK_STR("EUR", eur->currency);
    REQUIRE(eur->n_items == 1); /* M-4 is issued after as_of */
    CHECK_STR("M-1", eur->items[0].invoice);
    CHECK_INT(60, eur->items[0].days_overdue);
    CHECK_INT(700000, eur->items[0].amount);
    CHECK_INT(550000, eur->items[0].open);
    CHECK_INT(550000, eur->aging.all.total_amount);
    CHECK_INT(550000, eur->overdue);
    CHECK_INT(25000, eur->aging.unallocated_credits);
    CHECK_INT(0, eur->aging.unapplied_cash);
    CHECK_INT(525000, eur->total_due);
    REQUIRE(eur->n_moves == 2); /* in time order: the payment, then the credit note */
    CHECK_STR("MP-1", eur->moves[0].doc);
    CHECK(!eur->moves[0].credit);
    CHECK_INT(D(2025, 6, 5), eur->moves[0].day);
    CHECK_STR("MC-2", eur->moves[1].doc);
    CHECK(eur->moves[1].credit && eur->moves[1].invoice == NULL);
    CHECK_INT(150000, eur->paid);
    CHECK_INT(25000, eur->credited);

    CHECK_STR("USD", usd->currency);
    REQUIRE(usd->n_items == 2); /* by due day */
    CHECK_STR("M-2", usd->items[0].invoice);
    CHECK_INT(16, usd->items[0].days_overdue);
    CHECK_INT(190000, usd->items[0].open);
    CHECK_STR("M-3", usd->items[1].invoice);
    CHECK_INT(0, usd->items[1].days_overdue);
    int64_t sum = usd->items[0].open + usd->items[1].open;
    CHECK_INT(usd->aging.all.total_amount, sum); /* the items add up to the aging */
    CHECK_INT(230000, sum);
    CHECK_INT(190000, usd->overdue);
    REQUIRE(usd->n_unapplied == 1);
    CHECK_STR("MP-2", usd->unapplied[0].payment);
    CHECK_INT(30000, usd->unapplied[0].unapplied);
    CHECK_INT(30000, usd->aging.unapplied_cash);
    CHECK_INT(200000, usd->total_due);
    CHECK_INT(0, usd->n_moves); /* MP-2 was received in May */

    /* May: MP-2 is listed; a currency asked for gives that section alone */
    rq.from_day = D(2025, 5, 1);
    rq.to_day = D(2025, 5, 31);
    memcpy(rq.currency, "USD", 4);
    e = rpt_data_gather(st, &rq, arena, &d, &m);
    CHECK_MSG(e == ERR_OK, "%s", m.text);
    REQUIRE(d.stmt.n_curs == 1);
    REQUIRE(d.stmt.curs[0].n_moves == 1);
    CHECK_STR("MP-2", d.stmt.curs[0].moves[0].doc);
    CHECK_INT(90000, d.stmt.curs[0].paid);

    /* the unit the customer is in: the same figures; another: unknown */
    rq = req("M\xC3\xBCller");
    rq.business_unit = "emea";
    e = rpt_data_gather(st, &rq, arena, &d, &m);
    CHECK_MSG(e == ERR_OK, "%s", m.text);
    CHECK_INT(2, d.stmt.n_curs);
    rq.business_unit = "apac";
    CHECK_ERR(ERR_NOT_FOUND, rpt_data_gather(st, &rq, arena, &d, &m));
    CHECK_STR("unknown customer 'M\xC3\xBCller' in business unit 'apac'", m.text);
    kpi_arena_free(arena);
}

static void test_credit_and_empty(void)
{
    kpi_arena_t *arena = NULL;
    REQUIRE(kpi_arena_new(RPT_ARENA_CAP, &arena) == ERR_OK);
    rpt_request_t rq = req(CJK_NAME);
    rpt_data_t d;
    err_msg_t m = {{0}};
    err_t e = rpt_data_gather(st, &rq, arena, &d, &m);
    CHECK_MSG(e == ERR_OK, "%s", m.text);
    REQUIRE(d.stmt.n_curs == 1);
    const rpt_stmt_cur_t *c = &d.stmt.curs[0];
    REQUIRE(c->n_items == 1 && c->n_moves == 1);
    CHECK_INT(90000, c->items[0].open);
    CHECK_INT(0, c->items[0].days_overdue);
    CHECK_STR("C-1", c->moves[0].invoice);
    CHECK_INT(10000, c->credited);
    CHECK_INT(90000, c->total_due);

    /* everything paid long ago: one empty section, in the base currency */
    rq = req("Empty");
    e = rpt_data_gather(st, &rq, arena, &d, &m);
    CHECK_MSG(e == ERR_OK, "%s", m.text);
    REQUIRE(d.stmt.n_curs == 1);
    CHECK_STR("USD", d.stmt.curs[0].currency);
    CHECK_INT(0, d.stmt.curs[0].n_items);
    CHECK_INT(0, d.stmt.curs[0].total_due);
    /* as of January 2024 it was open: the past is read, not today's state */
    rq.from_day = D(2024, 1, 1);
    rq.to_day = rq.as_of_day = D(2024, 1, 5);
    e = rpt_data_gather(st, &rq, arena, &d, &m);
    CHECK_MSG(e == ERR_OK, "%s", m.text);
    REQUIRE(d.stmt.curs[0].n_items == 1);
    CHECK_INT(5000, d.stmt.curs[0].total_due);
    kpi_arena_free(arena);
}

static void test_bad(void)
{
    kpi_arena_t *arena = NULL;
    REQUIRE(kpi_arena_new(RPT_ARENA_CAP, &arena) == ERR_OK);
    typedef struct row {
        rpt_request_t rq;
        err_t want;
        const char *msg;
    } row_t;
    row_t rows[8];
    size_t n = 0;
    rows[n++] = (row_t){req(NULL), ERR_BAD_PARAM, "a statement needs a customer (1 to 256 bytes)"};
    rows[n++] = (row_t){req("Nobody"), ERR_NOT_FOUND, "unknown customer 'Nobody'"};
    rows[n] =
        (row_t){req("Nobody"), ERR_NOT_FOUND, "unknown customer 'Nobody' in business unit 'emea'"};
    rows[n++].rq.business_unit = "emea";
    rows[n] = (row_t){req("Empty"), ERR_BAD_PARAM,
                      "the statement's period ends on 2025-06-30, after its as_of 2025-06-29"};
    rows[n++].rq.as_of_day = D(2025, 6, 29);
    rows[n] = (row_t){req("Empty"), ERR_BAD_PARAM,
                      "as_of 2025-07-11 is after today (2025-07-10): a statement shows what has "
                      "happened"};
    rows[n++].rq.as_of_day = D(2025, 7, 11);
    rows[n] = (row_t){req("Empty"), ERR_BAD_PARAM, "currency 'XYZ' is not an ISO 4217 code"};
    memcpy(rows[n++].rq.currency, "XYZ", 4);
    for (size_t i = 0; i < n; i++) {
        rpt_data_t d;
        err_msg_t m = {{0}};
        err_t e = rpt_data_gather(st, &rows[i].rq, arena, &d, &m);
        CHECK_MSG(e == rows[i].want, "row %zu: %s, expected %s", i, err_str(e),
                  err_str(rows[i].want));
        CHECK_STR(rows[i].msg, m.text);
    }
    kpi_arena_free(arena);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    tmpdir(dir);
    st = open_store(dir, 0);
    book();
    RUN(test_two_currencies);
    RUN(test_credit_and_empty);
    RUN(test_bad);
    store_close(st);
    rmdir_all(dir);
    kpi_tz_free(test_utc);
    return test_summary();
}
