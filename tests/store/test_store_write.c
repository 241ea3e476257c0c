/*
 * test_store_write.c — store/store_write.c: every event type stored and read
 * back byte-equal; duplicates and id conflicts; document conflicts (also
 * within one batch and against a creator still pending); over-application,
 * including applications waiting for their invoice; currency mismatches;
 * events that arrive before their documents, released once in the same or a
 * later batch; strict references; atomic rollback; bad items next to good
 * ones; an item whose totals would leave int64; a tiny map that must grow;
 * and the document state after a realistic sequence, checked by hand.
 */
#include <stdint.h>

#include "store_kpi.h"
#include "store_test.h"

#define ENC_CAP 8192

static store_batch_opts_t lenient = {.atomic = false, .strict_refs = false};
static store_batch_opts_t strict = {.atomic = false, .strict_refs = true};
static store_batch_opts_t atomic = {.atomic = true, .strict_refs = false};

/* ---- reading back ---------------------------------------------------------------- */

typedef struct got {
    size_t n;
    uint64_t seq;
    int32_t day;
    uint8_t enc[ENC_CAP];
    size_t len;
} got_t;

static err_t got_row(void *ctx, const store_ev_row_t *row)
{
    got_t *g = ctx;
    g->n++;
    g->seq = row->seq;
    g->day = row->day;
    return kpi_event_encode(row->ev, g->enc, sizeof g->enc, &g->len);
}

/* The stored event with this id is byte-equal to e. */
static void check_stored(store_t *s, const kpi_event_t *e)
{
    test_current_ = e->id;
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    got_t *g = calloc(1, sizeof *g);
    REQUIRE(g != NULL);
    CHECK_ERR(ERR_OK, store_event_get(sn, e->id, got_row, g));
    CHECK_INT(1, g->n);
    uint8_t want[ENC_CAP];
    size_t len = 0;
    REQUIRE(kpi_event_encode(e, want, sizeof want, &len) == ERR_OK);
    CHECK_INT(len, g->len);
    CHECK(len == g->len && memcmp(want, g->enc, len) == 0);
    store_snap_end(sn);
    free(g);
}

/* Every type of docs/events.md with every field it can carry. */
static size_t all_types(kpi_event_t *out)
{
    size_t n = 0;
    kpi_event_t e;
    e = ev(KPI_EV_INVOICE_ISSUED, "t01", T(2025, 1, 2, 0), "I1", NULL, 125000, "ACME");
    e.flags = (e.flags & ~(uint32_t)KPI_EVF_TERMS) | KPI_EVF_DUE | KPI_EVF_BILLING_DUE |
              KPI_EVF_DATE_ONLY;
    e.date_day = D(2025, 1, 2);
    e.due_day = D(2025, 2, 1);
    e.billing_due_day = D(2025, 1, 1);
    e.business_unit = "EU";
    memcpy(e.currency, "EUR", 4);
    e.extra = "{\"po\":\"77\"}";
    out[n++] = e;
    e = ev(KPI_EV_INVOICE_REVIEWED, "t02", T(2025, 1, 3, 10), "I1", NULL, 0, NULL);
    e.result = KPI_RESULT_FAIL;
    e.text = "wrong PO";
    out[n++] = e;
    out[n++] = ev(KPI_EV_INVOICE_ADJUSTED, "t03", T(2025, 1, 4, 0), "I1", NULL, -500, NULL);
    out[n++] = ev(KPI_EV_CREDIT_NOTE_ISSUED, "t04", T(2025, 1, 5, 0), "C1", "I1", 1000, "ACME");
    out[n++] = ev(KPI_EV_PAYMENT_RECEIVED, "t05", T(2025, 1, 6, 0), "P1", NULL, 50000, "ACME");
    memcpy(out[n - 1].currency, "EUR", 4);
    out[n++] = ev(KPI_EV_PAYMENT_APPLIED, "t06", T(2025, 1, 7, 0), "P1", "I1", 40000, NULL);
    out[n++] = ev(KPI_EV_PAYMENT_REFUNDED, "t07", T(2025, 1, 8, 0), "P1", NULL, 1000, NULL);
    out[n++] = ev(KPI_EV_INVOICE_WRITTEN_OFF, "t08", T(2025, 1, 9, 0), "I1", NULL, 2000, NULL);
    out[n++] = ev(KPI_EV_DISPUTE_OPENED, "t09", T(2025, 1, 10, 0), "D1", "I1", 3000, NULL);
    out[n++] = ev(KPI_EV_DISPUTE_RESOLVED, "t10", T(2025, 1, 11, 0), "D1", "I1", 0, NULL);
    out[n++] = ev(KPI_EV_CREDIT_LIMIT_SET, "t11", T(2025, 1, 12, 0), NULL, NULL, 900000, "ACME");
    out[n++] = ev(KPI_EV_CREDIT_HOLD_SET, "t12", T(2025, 1, 13, 0), NULL, NULL, 0, "ACME");
    out[n++] = ev(KPI_EV_CREDIT_HOLD_RELEASED, "t13", T(2025, 1, 14, 0), NULL, NULL, 0, "ACME");
    out[n++] = ev(KPI_EV_INQUIRY_OPENED, "t14", T(2025, 1, 15, 0), "Q1", "I1", 0, "ACME");
    out[n++] = ev(KPI_EV_INQUIRY_RESOLVED, "t15", T(2025, 1, 16, 0), "Q1", NULL, 0, "ACME");
    out[n++] = ev(KPI_EV_BILL_RECEIVED, "t16", T(2025, 1, 17, 0), "B1", NULL, 80000, "Müller");
    out[n++] = ev(KPI_EV_BILL_REJECTED, "t17", T(2025, 1, 18, 0), "B1", NULL, 0, NULL);
    out[n++] = ev(KPI_EV_BILL_ESCALATED, "t18", T(2025, 1, 19, 0), "B1", NULL, 0, NULL);
    out[n++] = ev(KPI_EV_BILL_PROCESSED, "t19", T(2025, 1, 20, 0), "B1", NULL, 0, NULL);
    out[n++] = ev(KPI_EV_BILL_PAID, "t20", T(2025, 1, 21, 0), "B1", NULL, 80000, NULL);
    e = fx_ev("t21", D(2025, 1, 22), "EUR", 10825000000LL);
    e.text = "ECB";
    out[n++] = e;
    e = ev(KPI_EV_CUSTOMER_UPDATED, "t22", T(2025, 1, 23, 0), NULL, NULL, 0, "ACME");
    e.text = "ACME Corporation";
    e.email = "ap@acme.example";
    e.country = "US";
    e.segment = "enterprise";
    e.flags |= KPI_EVF_PROFILE;
    out[n++] = e;
    e = ev(KPI_EV_VENDOR_UPDATED, "t23", T(2025, 1, 24, 0), NULL, NULL, 0, "Müller");
    e.text = "Müller GmbH";
    out[n++] = e;
    return n;
}

static void test_every_type_round_trip(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    kpi_event_t evs[24];
    size_t n = all_types(evs);
    CHECK_INT(KPI_EV_COUNT - 1, n);
    store_item_result_t res[24];
    store_batch_stats_t st = put(s, evs, n, NULL, res);
    CHECK_INT(n, st.accepted);
    CHECK_INT(0, st.rejected + st.pending + st.duplicates);
    for (size_t i = 0; i < n; i++) {
        CHECK_MSG(res[i].status == STORE_ITEM_ACCEPTED, "%s: %s", evs[i].id, res[i].message);
        check_stored(s, &evs[i]);
    }
    test_current_ = "test_every_type_round_trip";
    /* Still equal after a reopen. */
    store_close(s);
    s = open_store(dir, 0);
    for (size_t i = 0; i < n; i++)
        check_stored(s, &evs[i]);
    test_current_ = "test_every_type_round_trip";
    /* A date-only event's day is its date. */
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    got_t *g = calloc(1, sizeof *g);
    REQUIRE(g != NULL);
    CHECK_ERR(ERR_OK, store_event_get(sn, "t01", got_row, g));
    CHECK_INT(D(2025, 1, 2), g->day);
    CHECK_INT(1, g->seq);
    CHECK_ERR(ERR_OK, store_event_get(sn, "t20", got_row, g));
    CHECK_INT(20, g->seq);
    free(g);
    store_snap_end(sn);
    store_stats_t ss = stats_of(s);
    CHECK_INT(23, ss.events);
    CHECK_INT(1, ss.docs[KPI_DOC_INVOICE]);
    CHECK_INT(1, ss.docs[KPI_DOC_CREDIT_NOTE]);
    CHECK_INT(1, ss.docs[KPI_DOC_PAYMENT]);
    CHECK_INT(1, ss.docs[KPI_DOC_DISPUTE]);
    CHECK_INT(1, ss.docs[KPI_DOC_INQUIRY]);
    CHECK_INT(1, ss.docs[KPI_DOC_BILL]);
    store_close(s);
    rmdir_all(dir);
}

static void test_duplicate_and_conflict(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    kpi_event_t a = ev(KPI_EV_INVOICE_ISSUED, "e1", T(2025, 1, 2, 0), "I1", NULL, 10000, "ACME");
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &a, NULL).status);
    /* The same content again, in a later batch and twice within one. */
    kpi_event_t again[3] = {
        a, a, ev(KPI_EV_INVOICE_REVIEWED, "e2", T(2025, 1, 3, 0), "I1", NULL, 0, NULL)};
    again[2].result = KPI_RESULT_PASS;
    kpi_event_t batch[4] = {again[0], again[2], again[2], again[1]};
    store_item_result_t res[4];
    store_batch_stats_t st = put(s, batch, 4, NULL, res);
    CHECK_INT(1, st.accepted);
    CHECK_INT(3, st.duplicates);
    CHECK_INT(0, st.rejected);
    CHECK_INT(STORE_ITEM_DUPLICATE, res[0].status);
    CHECK_INT(STORE_ITEM_ACCEPTED, res[1].status);
    CHECK_INT(STORE_ITEM_DUPLICATE, res[2].status);
    CHECK_INT(STORE_ITEM_DUPLICATE, res[3].status);
    CHECK_INT(2, stats_of(s).events);
    CHECK_INT(1, doc_of(s, KPI_DOC_INVOICE, "I1").reviews);

    /* Other content under a known id: every kind of difference. */
    const struct {
        const char *label;
        int what;
    } rows[] = {{"amount", 0}, {"currency named", 1}, {"unit", 2}, {"extra", 3}, {"time", 4}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        test_current_ = rows[i].label;
        kpi_event_t b = a;
        switch (rows[i].what) {
        case 0: b.amount_minor++; break;
        case 1: memcpy(b.currency, "USD", 4); break; /* the base, but not as received */
        case 2: b.business_unit = "default"; break;
        case 3: b.extra = "{\"x\":1}"; break;
        default: b.time_s++; break;
        }
        store_item_result_t r = put1(s, &b, NULL);
        CHECK_INT(STORE_ITEM_REJECTED, r.status);
        CHECK_ERR(ERR_CONFLICT, r.code);
        CHECK_STR("id", r.field);
        CHECK(strstr(r.message, "e1") != NULL);
    }
    test_current_ = "test_duplicate_and_conflict";
    CHECK_INT(2, stats_of(s).events);
    CHECK_INT(10000, doc_of(s, KPI_DOC_INVOICE, "I1").amount_minor);
    store_close(s);
    rmdir_all(dir);
}

static void test_document_conflict(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    int64_t t = T(2025, 1, 2, 0);
    /* Each creating type: a second creator of the same number under
       another id, in a later batch and within the same batch. */
    const struct {
        kpi_ev_type_t type;
        const char *field;
        const char *ref;
    } rows[] = {
        {KPI_EV_INVOICE_ISSUED, "invoice", NULL},
        {KPI_EV_PAYMENT_RECEIVED, "payment", NULL},
        {KPI_EV_CREDIT_NOTE_ISSUED, "credit_note", NULL},
        {KPI_EV_DISPUTE_OPENED, "dispute", "X1"},
        {KPI_EV_INQUIRY_OPENED, "inquiry", NULL},
        {KPI_EV_BILL_RECEIVED, "bill", NULL},
    };
    kpi_event_t x1 = ev(KPI_EV_INVOICE_ISSUED, "x1", t, "X1", NULL, 100, "ACME");
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &x1, NULL).status);
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        test_current_ = rows[i].field;
        char id[3][32];
        for (int k = 0; k < 3; k++)
            snprintf(id[k], sizeof id[k], "%s-%d", rows[i].field, k);
        kpi_event_t a = ev(rows[i].type, id[0], t, "N1", rows[i].ref, 100, "ACME");
        kpi_event_t b = ev(rows[i].type, id[1], t, "N1", rows[i].ref, 200, "ACME");
        kpi_event_t c = ev(rows[i].type, id[2], t, "N1", rows[i].ref, 100, "ACME");
        kpi_event_t batch[2] = {a, b};
        store_item_result_t res[2];
        store_batch_stats_t st = put(s, batch, 2, NULL, res);
        CHECK_INT(1, st.accepted);
        CHECK_INT(1, st.rejected);
        CHECK_INT(STORE_ITEM_REJECTED, res[1].status);
        CHECK_ERR(ERR_DOC_CONFLICT, res[1].code);
        CHECK_STR(rows[i].field, res[1].field);
        /* Same content, other id: still a second document. */
        store_item_result_t r = put1(s, &c, NULL);
        CHECK_ERR(ERR_DOC_CONFLICT, r.code);
        CHECK_STR(rows[i].field, r.field);
        /* The original again: a duplicate, not a conflict. */
        CHECK_INT(STORE_ITEM_DUPLICATE, put1(s, &a, NULL).status);
    }
    test_current_ = "test_document_conflict";
    /* A creator still waiting for its invoice has claimed its number. */
    kpi_event_t cn1 = ev(KPI_EV_CREDIT_NOTE_ISSUED, "cn1", t, "CN", "LATER", 50, "ACME");
    kpi_event_t cn2 = ev(KPI_EV_CREDIT_NOTE_ISSUED, "cn2", t, "CN", NULL, 50, "ACME");
    store_item_result_t r = put1(s, &cn1, NULL);
    CHECK_INT(STORE_ITEM_ACCEPTED, r.status);
    CHECK(r.pending);
    r = put1(s, &cn2, NULL);
    CHECK_ERR(ERR_DOC_CONFLICT, r.code);
    /* Events about a number that only has pending events do not claim it. */
    kpi_event_t rv = ev(KPI_EV_INVOICE_REVIEWED, "rv", t, "I9", NULL, 0, NULL);
    kpi_event_t i9 = ev(KPI_EV_INVOICE_ISSUED, "i9", t + 60, "I9", NULL, 100, "ACME");
    CHECK(put1(s, &rv, NULL).pending);
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &i9, NULL).status);
    store_close(s);
    rmdir_all(dir);
}

static void check_rejected(store_item_result_t r, err_t code, const char *field)
{
    CHECK_INT(STORE_ITEM_REJECTED, r.status);
    CHECK_ERR(code, r.code);
    CHECK_STR(field, r.field);
    CHECK(r.message[0] != '\0');
}

static void test_over_application(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    int64_t t = T(2025, 2, 1, 0);
    kpi_event_t setup[] = {
        ev(KPI_EV_INVOICE_ISSUED, "i1", t, "I1", NULL, 100000, "ACME"),
        ev(KPI_EV_INVOICE_ISSUED, "i2", t, "I2", NULL, 100000, "ACME"),
        ev(KPI_EV_PAYMENT_RECEIVED, "p1", t, "P1", NULL, 10000, "ACME"),
    };
    store_item_result_t res[8];
    CHECK_INT(3, put(s, setup, 3, NULL, res).accepted);
    kpi_event_t a1 = ev(KPI_EV_PAYMENT_APPLIED, "a1", t + 1, "P1", "I1", 6000, NULL);
    kpi_event_t a2 = ev(KPI_EV_PAYMENT_APPLIED, "a2", t + 2, "P1", "I2", 5000, NULL);
    kpi_event_t a3 = ev(KPI_EV_PAYMENT_APPLIED, "a3", t + 3, "P1", "I2", 3000, NULL);
    kpi_event_t r1 = ev(KPI_EV_PAYMENT_REFUNDED, "r1", t + 4, "P1", NULL, 1001, NULL);
    kpi_event_t r2 = ev(KPI_EV_PAYMENT_REFUNDED, "r2", t + 5, "P1", NULL, 1000, NULL);
    kpi_event_t a4 = ev(KPI_EV_PAYMENT_APPLIED, "a4", t + 6, "P1", "I2", 1, NULL);
    kpi_event_t b[] = {a1, a2, a3, r1, r2, a4};
    store_batch_stats_t st = put(s, b, 6, NULL, res);
    CHECK_INT(STORE_ITEM_ACCEPTED, res[0].status);
    check_rejected(res[1], ERR_OVER_APPLIED, "amount");
    CHECK(strstr(res[1].message, "P1") != NULL && strstr(res[1].message, "100.00") != NULL);
    CHECK_INT(STORE_ITEM_ACCEPTED, res[2].status);
    check_rejected(res[3], ERR_OVER_APPLIED, "amount");
    CHECK_INT(STORE_ITEM_ACCEPTED, res[4].status); /* exactly what is left */
    check_rejected(res[5], ERR_OVER_APPLIED, "amount");
    CHECK_INT(3, st.accepted);
    CHECK_INT(3, st.rejected);
    store_doc_t p = doc_of(s, KPI_DOC_PAYMENT, "P1");
    CHECK_INT(9000, p.applied_minor);
    CHECK_INT(1000, p.refunded_minor);
    CHECK_INT(0, p.open_minor);
    CHECK_INT(3000, doc_of(s, KPI_DOC_INVOICE, "I2").applied_minor);

    /* The payment is known, its invoices are not yet: applications wait,
       and already count against the payment. */
    kpi_event_t q[] = {
        ev(KPI_EV_PAYMENT_RECEIVED, "p2", t, "P2", NULL, 10000, "ACME"),
        ev(KPI_EV_PAYMENT_APPLIED, "q1", t + 1, "P2", "LATE-1", 7000, NULL),
        ev(KPI_EV_PAYMENT_APPLIED, "q2", t + 2, "P2", "LATE-2", 4000, NULL),
        ev(KPI_EV_PAYMENT_APPLIED, "q3", t + 3, "P2", "LATE-2", 3000, NULL),
        ev(KPI_EV_PAYMENT_REFUNDED, "q4", t + 4, "P2", NULL, 1, NULL),
    };
    st = put(s, q, 5, NULL, res);
    CHECK_INT(3, st.accepted);
    CHECK_INT(2, st.pending);
    CHECK(res[1].pending);
    check_rejected(res[2], ERR_OVER_APPLIED, "amount");
    CHECK(res[3].pending);
    check_rejected(res[4], ERR_OVER_APPLIED, "amount");
    p = doc_of(s, KPI_DOC_PAYMENT, "P2");
    CHECK_INT(0, p.applied_minor); /* not in effect yet */
    /* The invoices arrive: the applications take effect once, and the
       payment stays exactly used up. */
    kpi_event_t late[] = {
        ev(KPI_EV_INVOICE_ISSUED, "l1", t, "LATE-1", NULL, 7000, "ACME"),
        ev(KPI_EV_INVOICE_ISSUED, "l2", t, "LATE-2", NULL, 9000, "ACME"),
    };
    st = put(s, late, 2, NULL, res);
    CHECK_INT(2, st.released);
    p = doc_of(s, KPI_DOC_PAYMENT, "P2");
    CHECK_INT(10000, p.applied_minor);
    CHECK_INT(0, p.open_minor);
    CHECK_INT(0, doc_of(s, KPI_DOC_INVOICE, "LATE-1").open_minor);
    CHECK_INT(6000, doc_of(s, KPI_DOC_INVOICE, "LATE-2").open_minor);
    kpi_event_t more = ev(KPI_EV_PAYMENT_APPLIED, "q5", t + 9, "P2", "I1", 1, NULL);
    check_rejected(put1(s, &more, NULL), ERR_OVER_APPLIED, "amount");

    /* Neither payment nor invoice known: the applications wait; once the
       payment arrives they count against it, before the invoice does. */
    kpi_event_t w[] = {
        ev(KPI_EV_PAYMENT_APPLIED, "w1", t + 1, "P3", "LATE-3", 6000, NULL),
        ev(KPI_EV_PAYMENT_RECEIVED, "w2", t, "P3", NULL, 8000, "ACME"),
        ev(KPI_EV_PAYMENT_APPLIED, "w3", t + 2, "P3", "I1", 2001, NULL),
        ev(KPI_EV_PAYMENT_APPLIED, "w4", t + 2, "P3", "I1", 2000, NULL),
    };
    st = put(s, w, 4, NULL, res);
    CHECK(res[0].pending);
    CHECK_INT(STORE_ITEM_ACCEPTED, res[1].status);
    CHECK_INT(0, st.released); /* w1 still waits for its invoice */
    check_rejected(res[2], ERR_OVER_APPLIED, "amount");
    CHECK_INT(STORE_ITEM_ACCEPTED, res[3].status);
    CHECK_INT(2000, doc_of(s, KPI_DOC_PAYMENT, "P3").applied_minor);
    kpi_event_t l3 = ev(KPI_EV_INVOICE_ISSUED, "l3", t, "LATE-3", NULL, 6000, "ACME");
    st = put(s, &l3, 1, NULL, res);
    CHECK_INT(1, st.released);
    p = doc_of(s, KPI_DOC_PAYMENT, "P3");
    CHECK_INT(8000, p.applied_minor);
    CHECK_INT(0, p.open_minor);
    CHECK_INT(0, stats_of(s).pending);

    /* A rebuild replays the log to the same documents. */
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_OK, store_rebuild(s, NULL, NULL, &msg));
    p = doc_of(s, KPI_DOC_PAYMENT, "P3");
    CHECK_INT(8000, p.applied_minor);
    CHECK_INT(10000, doc_of(s, KPI_DOC_PAYMENT, "P2").applied_minor);
    check_rejected(put1(s, &more, NULL), ERR_OVER_APPLIED, "amount");
    store_close(s);
    rmdir_all(dir);
}

/* A movement counts under its document's unit: naming another is refused
   (issue 18: it was listed in one unit's log and counted in the other's
   KPIs); a payment applied across units is not a mismatch. */
static void test_unit_mismatch(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    int64_t t = T(2025, 3, 1, 0);
    kpi_event_t setup[] = {
        ev(KPI_EV_INVOICE_ISSUED, "ua", t, "IA", NULL, 10000, "ACME"),
        ev(KPI_EV_PAYMENT_RECEIVED, "pb", t, "PB", NULL, 10000, "ACME"),
    };
    setup[0].business_unit = "north";
    setup[1].business_unit = "south";
    store_item_result_t res[2];
    CHECK_INT(2, put(s, setup, 2, NULL, res).accepted);
    const struct {
        const char *label;
        kpi_ev_type_t type;
        const char *doc, *ref, *unit;
        err_t want;
    } rows[] = {
        {"adjustment naming another unit", KPI_EV_INVOICE_ADJUSTED, "IA", NULL, "south",
         ERR_UNIT_MISMATCH},
        {"adjustment naming a unit never seen", KPI_EV_INVOICE_ADJUSTED, "IA", NULL, "mars",
         ERR_UNIT_MISMATCH},
        {"adjustment naming its unit", KPI_EV_INVOICE_ADJUSTED, "IA", NULL, "north", ERR_OK},
        {"adjustment naming none", KPI_EV_INVOICE_ADJUSTED, "IA", NULL, "", ERR_OK},
        {"credit note naming another unit than its invoice", KPI_EV_CREDIT_NOTE_ISSUED, "CN1", "IA",
         "south", ERR_UNIT_MISMATCH},
        {"credit note in its invoice's unit", KPI_EV_CREDIT_NOTE_ISSUED, "CN2", "IA", "north",
         ERR_OK},
        {"payment of south applied to a north invoice", KPI_EV_PAYMENT_APPLIED, "PB", "IA", "south",
         ERR_OK},
        {"payment application naming the invoice's unit", KPI_EV_PAYMENT_APPLIED, "PB", "IA",
         "north", ERR_UNIT_MISMATCH},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        test_current_ = rows[i].label;
        char id[8];
        snprintf(id, sizeof id, "x%zu", i);
        kpi_event_t e = ev(rows[i].type, id, t + 60, rows[i].doc, rows[i].ref, 100,
                           rows[i].type == KPI_EV_CREDIT_NOTE_ISSUED ? "ACME" : NULL);
        e.business_unit = rows[i].unit;
        store_item_result_t r = put1(s, &e, NULL);
        if (rows[i].want == ERR_OK) {
            CHECK_MSG(r.status == STORE_ITEM_ACCEPTED, "%s", r.message);
        } else {
            check_rejected(r, rows[i].want, "business_unit");
            CHECK_MSG(strstr(r.message, "is in business unit 'north'") != NULL ||
                          strstr(r.message, "is in business unit 'south'") != NULL,
                      "%s", r.message);
        }
    }
    test_current_ = "test_unit_mismatch";
    store_close(s);
    rmdir_all(dir);
}

static void test_currency_mismatch(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0); /* base USD */
    int64_t t = T(2025, 3, 1, 0);
    kpi_event_t setup[] = {
        ev(KPI_EV_INVOICE_ISSUED, "ie", t, "IE", NULL, 10000, "ACME"),
        ev(KPI_EV_INVOICE_ISSUED, "ij", t, "IJ", NULL, 10000, "ACME"),
        ev(KPI_EV_PAYMENT_RECEIVED, "pu", t, "PU", NULL, 10000, "ACME"),
        ev(KPI_EV_PAYMENT_RECEIVED, "pe", t, "PE", NULL, 10000, "ACME"),
    };
    memcpy(setup[0].currency, "EUR", 4);
    memcpy(setup[1].currency, "JPY", 4);
    memcpy(setup[3].currency, "EUR", 4);
    store_item_result_t res[4];
    CHECK_INT(4, put(s, setup, 4, NULL, res).accepted);

    const struct {
        const char *label;
        kpi_ev_type_t type;
        const char *doc, *ref, *cur;
        err_t want;
    } rows[] = {
        {"USD payment to EUR invoice", KPI_EV_PAYMENT_APPLIED, "PU", "IE", "",
         ERR_CURRENCY_MISMATCH},
        {"named USD on EUR payment", KPI_EV_PAYMENT_APPLIED, "PE", "IE", "USD",
         ERR_CURRENCY_MISMATCH},
        {"EUR payment to EUR invoice", KPI_EV_PAYMENT_APPLIED, "PE", "IE", "", ERR_OK},
        {"EUR adjustment, unnamed", KPI_EV_INVOICE_ADJUSTED, "IE", NULL, "", ERR_OK},
        {"JPY adjustment, unnamed", KPI_EV_INVOICE_ADJUSTED, "IJ", NULL, "", ERR_CURRENCY_MISMATCH},
        {"JPY adjustment, named", KPI_EV_INVOICE_ADJUSTED, "IJ", NULL, "JPY", ERR_OK},
        {"GBP write-off", KPI_EV_INVOICE_WRITTEN_OFF, "IE", NULL, "GBP", ERR_CURRENCY_MISMATCH},
        {"USD credit note on EUR", KPI_EV_CREDIT_NOTE_ISSUED, "CN1", "IE", "USD",
         ERR_CURRENCY_MISMATCH},
        {"EUR credit note on EUR", KPI_EV_CREDIT_NOTE_ISSUED, "CN2", "IE", "EUR", ERR_OK},
        {"EUR refund of USD payment", KPI_EV_PAYMENT_REFUNDED, "PU", NULL, "EUR",
         ERR_CURRENCY_MISMATCH},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        test_current_ = rows[i].label;
        char id[8];
        snprintf(id, sizeof id, "m%zu", i);
        kpi_event_t e = ev(rows[i].type, id, t + 60, rows[i].doc, rows[i].ref, 100,
                           rows[i].type == KPI_EV_CREDIT_NOTE_ISSUED ? "ACME" : NULL);
        memcpy(e.currency, rows[i].cur, strlen(rows[i].cur) + 1);
        store_item_result_t r = put1(s, &e, NULL);
        if (rows[i].want == ERR_OK) {
            CHECK_MSG(r.status == STORE_ITEM_ACCEPTED, "%s", r.message);
        } else {
            check_rejected(r, rows[i].want, "currency");
        }
    }
    test_current_ = "test_currency_mismatch";
    store_doc_t d = doc_of(s, KPI_DOC_INVOICE, "IE");
    CHECK_STR("EUR", d.currency);
    CHECK_INT(100, d.applied_minor);
    CHECK_INT(100, d.adjusted_minor);
    CHECK_INT(100, d.credited_minor);
    CHECK_STR("EUR", doc_of(s, KPI_DOC_CREDIT_NOTE, "CN2").currency);
    store_close(s);
    rmdir_all(dir);
}

static void test_pending_released_once(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    int64_t t = T(2025, 4, 1, 0);
    store_item_result_t res[8];

    /* Same batch: applied before its invoice, then the invoice. */
    kpi_event_t same[] = {
        ev(KPI_EV_PAYMENT_RECEIVED, "s1", t, "P1", NULL, 5000, "ACME"),
        ev(KPI_EV_PAYMENT_APPLIED, "s2", t + 2, "P1", "I1", 4000, NULL),
        ev(KPI_EV_INVOICE_ISSUED, "s3", t + 1, "I1", NULL, 4000, "ACME"),
    };
    store_batch_stats_t st = put(s, same, 3, NULL, res);
    CHECK_INT(3, st.accepted);
    CHECK_INT(1, st.pending);
    CHECK_INT(1, st.released);
    CHECK(res[1].pending && !res[0].pending && !res[2].pending);
    CHECK_INT(0, doc_of(s, KPI_DOC_INVOICE, "I1").open_minor);
    CHECK_INT(0, stats_of(s).pending);

    /* Later batch; several waiting events of several types, and a resend
       of a waiting event (a duplicate, not a second application). */
    kpi_event_t wait[] = {
        ev(KPI_EV_INVOICE_REVIEWED, "w1", t + 30, "I2", NULL, 0, NULL),
        ev(KPI_EV_INVOICE_ADJUSTED, "w2", t + 20, "I2", NULL, 500, NULL),
        ev(KPI_EV_INVOICE_WRITTEN_OFF, "w3", t + 40, "I2", NULL, 300, NULL),
        ev(KPI_EV_INVOICE_REVIEWED, "w4", t + 10, "I2", NULL, 0, NULL),
        ev(KPI_EV_BILL_PAID, "w5", t + 10, "B1", NULL, 700, NULL),
        ev(KPI_EV_BILL_PROCESSED, "w6", t + 5, "B1", NULL, 0, NULL),
    };
    wait[3].result = KPI_RESULT_FAIL; /* the earliest review, arriving last */
    st = put(s, wait, 6, NULL, res);
    CHECK_INT(6, st.accepted);
    CHECK_INT(6, st.pending);
    CHECK_INT(6, stats_of(s).pending);
    store_doc_t d = doc_of(s, KPI_DOC_INVOICE, "I2");
    CHECK(!d.exists);
    CHECK_INT(4, d.pending_events);
    CHECK_INT(0, d.adjusted_minor);
    CHECK_INT(2, doc_of(s, KPI_DOC_BILL, "B1").pending_events);
    CHECK_INT(6, put(s, wait, 6, NULL, res).duplicates);
    CHECK_INT(0, stats_of(s).docs[KPI_DOC_BILL]);

    kpi_event_t docs[] = {
        ev(KPI_EV_INVOICE_ISSUED, "d1", t, "I2", NULL, 10000, "ACME"),
        ev(KPI_EV_BILL_RECEIVED, "d2", t, "B1", NULL, 700, "Vendor"),
    };
    st = put(s, docs, 2, NULL, res);
    CHECK_INT(2, st.accepted);
    CHECK_INT(6, st.released);
    CHECK_INT(0, st.pending);
    d = doc_of(s, KPI_DOC_INVOICE, "I2");
    CHECK(d.exists);
    CHECK_INT(0, d.pending_events);
    CHECK_INT(500, d.adjusted_minor);
    CHECK_INT(300, d.written_off_minor);
    CHECK_INT(10000 + 500 - 300, d.open_minor);
    CHECK_INT(2, d.reviews);
    CHECK_INT(KPI_RESULT_FAIL, d.first_review);
    CHECK_INT(1, d.corrections);
    store_doc_t b = doc_of(s, KPI_DOC_BILL, "B1");
    CHECK_INT(700, b.paid_minor);
    CHECK_INT(0, b.open_minor);
    CHECK_INT(D(2025, 4, 1), b.closed_day);
    store_stats_t ss = stats_of(s);
    CHECK_INT(0, ss.pending);
    CHECK_INT(2, ss.docs[KPI_DOC_INVOICE]);
    CHECK_INT(1, ss.docs[KPI_DOC_BILL]);
    CHECK_INT(11, ss.events);

    /* Another invoice.issued cannot release them a second time. */
    kpi_event_t again = ev(KPI_EV_INVOICE_ISSUED, "d3", t, "I2", NULL, 10000, "ACME");
    check_rejected(put1(s, &again, NULL), ERR_DOC_CONFLICT, "invoice");
    CHECK_INT(500, doc_of(s, KPI_DOC_INVOICE, "I2").adjusted_minor);

    /* A chain: resolved before opened, opened before its invoice. */
    kpi_event_t chain[] = {
        ev(KPI_EV_DISPUTE_RESOLVED, "c1", t + 9, "D1", "I3", 0, NULL),
        ev(KPI_EV_DISPUTE_OPENED, "c2", t + 8, "D1", "I3", 0, NULL),
        ev(KPI_EV_CREDIT_NOTE_ISSUED, "c3", t + 7, "CN", "I3", 250, "ACME"),
    };
    st = put(s, chain, 3, NULL, res);
    CHECK_INT(3, st.pending);
    CHECK_INT(0, st.released);
    kpi_event_t i3 = ev(KPI_EV_INVOICE_ISSUED, "c4", t, "I3", NULL, 1000, "ACME");
    st = put(s, &i3, 1, NULL, res);
    CHECK_INT(3, st.released);
    d = doc_of(s, KPI_DOC_INVOICE, "I3");
    CHECK_INT(250, d.credited_minor);
    CHECK_INT(750, d.open_minor);
    store_doc_t dd = doc_of(s, KPI_DOC_DISPUTE, "D1");
    CHECK(dd.exists);
    CHECK_INT(D(2025, 4, 1), dd.closed_day);
    CHECK(doc_of(s, KPI_DOC_CREDIT_NOTE, "CN").exists);
    CHECK_INT(0, stats_of(s).pending);
    store_close(s);
    rmdir_all(dir);
}

static void test_strict_refs(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    int64_t t = T(2025, 5, 1, 0);
    kpi_event_t p = ev(KPI_EV_PAYMENT_RECEIVED, "p", t, "P1", NULL, 1000, "ACME");
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &p, &strict).status);
    const struct {
        kpi_ev_type_t type;
        const char *doc, *ref, *field;
    } rows[] = {
        {KPI_EV_INVOICE_REVIEWED, "NOPE", NULL, "invoice"},
        {KPI_EV_PAYMENT_APPLIED, "P1", "NOPE", "invoice"},
        {KPI_EV_PAYMENT_APPLIED, "P9", "NOPE", "payment"},
        {KPI_EV_PAYMENT_REFUNDED, "P9", NULL, "payment"},
        {KPI_EV_CREDIT_NOTE_ISSUED, "CN", "NOPE", "invoice"},
        {KPI_EV_DISPUTE_OPENED, "D1", "NOPE", "invoice"},
        {KPI_EV_DISPUTE_RESOLVED, "D9", "NOPE", "dispute"},
        {KPI_EV_INQUIRY_RESOLVED, "Q9", NULL, "inquiry"},
        {KPI_EV_BILL_PAID, "B9", NULL, "bill"},
        {KPI_EV_BILL_PROCESSED, "B9", NULL, "bill"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        test_current_ = kpi_ev_type_name(rows[i].type);
        char id[8];
        snprintf(id, sizeof id, "r%zu", i);
        kpi_event_t e = ev(rows[i].type, id, t, rows[i].doc, rows[i].ref, 100, "ACME");
        check_rejected(put1(s, &e, &strict), ERR_UNKNOWN_DOC, rows[i].field);
        /* Lenient: accepted and waiting. */
        store_item_result_t r = put1(s, &e, &lenient);
        CHECK_INT(STORE_ITEM_ACCEPTED, r.status);
        CHECK(r.pending);
    }
    test_current_ = "test_strict_refs";
    /* A reference that is optional and absent is no unknown document. */
    kpi_event_t q = ev(KPI_EV_INQUIRY_OPENED, "q", t, "Q1", NULL, 0, "ACME");
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &q, &strict).status);
    store_close(s);
    rmdir_all(dir);
}

static void test_atomic_and_partial(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    int64_t t = T(2025, 6, 1, 0);
    kpi_event_t known = ev(KPI_EV_INVOICE_ISSUED, "k", t, "K", NULL, 100, "ACME");
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &known, NULL).status);
    char long_id[KPI_ID_MAX + 2];
    memset(long_id, 'x', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    kpi_event_t b[] = {
        ev(KPI_EV_INVOICE_ISSUED, "g1", t, "G1", NULL, 100, "ACME"),
        ev(KPI_EV_INVOICE_ISSUED, "bad1", t, "K", NULL, 100, "ACME"), /* doc conflict */
        known,                                                        /* duplicate */
        ev(KPI_EV_PAYMENT_APPLIED, "g2", t, "P", "G1", 100, NULL),    /* pending */
        ev(KPI_EV_INVOICE_ISSUED, long_id, t, "G9", NULL, 100, "ACME"),
        ev(KPI_EV_INVOICE_ISSUED, "bad3", t, NULL, NULL, 100, "ACME"),
        ev(KPI_EV_PAYMENT_APPLIED, "bad4", t, "P", NULL, 100, NULL),
        ev(KPI_EV_CREDIT_LIMIT_SET, "bad5", t, NULL, NULL, 100, NULL),
        ev(KPI_EV_NONE, "bad6", t, NULL, NULL, 100, NULL),
        ev(KPI_EV_PAYMENT_RECEIVED, "g3", t, "P", NULL, 100, "ACME"),
    };
    enum { N = sizeof b / sizeof b[0] };
    const struct {
        err_t code;
        const char *field;
    } bad[N] = {[1] = {ERR_DOC_CONFLICT, "invoice"},   [4] = {ERR_TOO_LARGE, "id"},
                [5] = {ERR_MISSING_FIELD, "invoice"},  [6] = {ERR_MISSING_FIELD, "invoice"},
                [7] = {ERR_MISSING_FIELD, "customer"}, [8] = {ERR_UNKNOWN_TYPE, "type"}};
    store_item_result_t res[N];

    /* Atomic: nothing written, valid items not committed. */
    store_batch_stats_t st = put(s, b, N, &atomic, res);
    CHECK(!st.committed);
    CHECK_INT(0, st.accepted);
    CHECK_INT(0, st.pending);
    CHECK_INT(0, st.released);
    CHECK_INT(6, st.rejected);
    CHECK_INT(1, stats_of(s).events);
    for (size_t i = 0; i < N; i++) {
        test_current_ = b[i].id;
        if (bad[i].code != ERR_OK)
            check_rejected(res[i], bad[i].code, bad[i].field);
        else if (i == 2)
            CHECK_INT(STORE_ITEM_DUPLICATE, res[i].status);
        else
            CHECK_INT(STORE_ITEM_NOT_COMMITTED, res[i].status);
        CHECK(!res[i].pending);
    }
    test_current_ = "test_atomic_and_partial";
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_doc_t d;
    CHECK_ERR(ERR_NOT_FOUND, store_doc_get(sn, KPI_DOC_INVOICE, "G1", &d));
    CHECK_ERR(ERR_NOT_FOUND, store_doc_get(sn, KPI_DOC_PAYMENT, "P", &d));
    store_snap_end(sn);

    /* Not atomic: the good ones are written, the bad ones are not. */
    st = put(s, b, N, NULL, res);
    CHECK(st.committed);
    CHECK_INT(3, st.accepted);
    CHECK_INT(1, st.duplicates);
    CHECK_INT(6, st.rejected);
    CHECK_INT(1, st.pending);
    CHECK_INT(1, st.released);
    for (size_t i = 0; i < N; i++) {
        test_current_ = b[i].id;
        if (bad[i].code != ERR_OK)
            check_rejected(res[i], bad[i].code, bad[i].field);
        else if (i != 2)
            CHECK_INT(STORE_ITEM_ACCEPTED, res[i].status);
    }
    test_current_ = "test_atomic_and_partial";
    CHECK_INT(4, stats_of(s).events);
    CHECK_INT(0, doc_of(s, KPI_DOC_INVOICE, "G1").open_minor);
    CHECK_INT(100, doc_of(s, KPI_DOC_INVOICE, "K").amount_minor);

    /* An atomic batch without rejections commits (duplicates are fine). */
    kpi_event_t ok[] = {known, ev(KPI_EV_INVOICE_ISSUED, "g4", t, "G4", NULL, 100, "ACME")};
    st = put(s, ok, 2, &atomic, res);
    CHECK(st.committed);
    CHECK_INT(1, st.accepted);
    CHECK_INT(1, st.duplicates);
    /* An empty batch is a committed no-op. */
    st = put(s, NULL, 0, NULL, NULL);
    CHECK(st.committed);
    CHECK_INT(5, stats_of(s).events);
    store_close(s);
    rmdir_all(dir);
}

/* A total that would leave int64 rejects that item only. */
static void test_overflow_rejects_item(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    int64_t t = T(2025, 7, 1, 0);
    /* Half of int64: other invoices still fit beside it in every total. */
    int64_t half = INT64_MAX / 2;
    kpi_event_t big = ev(KPI_EV_INVOICE_ISSUED, "big", t, "BIG", NULL, half, "ACME");
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &big, NULL).status);
    int64_t t2 = T(2025, 7, 2, 0);
    kpi_event_t b[] = {
        ev(KPI_EV_INVOICE_ISSUED, "g1", t2, "G1", NULL, 100, "ACME"),
        ev(KPI_EV_INVOICE_ADJUSTED, "o1", t2, "BIG", NULL, half + 100, NULL),
        ev(KPI_EV_INVOICE_ADJUSTED, "g2", t2, "BIG", NULL, -100, NULL),
        ev(KPI_EV_INVOICE_ADJUSTED, "o2", t2, "BIG", NULL, INT64_MAX, NULL),
        ev(KPI_EV_INVOICE_ISSUED, "g3", t2, "G3", NULL, 100, "ACME"),
    };
    store_item_result_t res[5];
    store_batch_stats_t st = put(s, b, 5, NULL, res);
    CHECK(st.committed);
    CHECK_INT(3, st.accepted);
    CHECK_INT(2, st.rejected);
    CHECK_INT(STORE_ITEM_ACCEPTED, res[0].status);
    check_rejected(res[1], ERR_OVERFLOW, "amount");
    CHECK_INT(STORE_ITEM_ACCEPTED, res[2].status);
    check_rejected(res[3], ERR_OVERFLOW, "amount");
    CHECK_INT(STORE_ITEM_ACCEPTED, res[4].status);
    CHECK_INT(-100, doc_of(s, KPI_DOC_INVOICE, "BIG").adjusted_minor);
    CHECK_INT(4, stats_of(s).events);
    /* Atomic: the overflow rolls the batch back like any rejection. */
    b[0].id = "g5";
    b[0].doc = "G5";
    st = put(s, b, 2, &atomic, res);
    CHECK(!st.committed);
    CHECK_INT(STORE_ITEM_NOT_COMMITTED, res[0].status);
    check_rejected(res[1], ERR_OVERFLOW, "amount");
    CHECK_INT(4, stats_of(s).events);
    store_close(s);
    rmdir_all(dir);
}

/* Open amounts summed over invoices (same due day) that leave int64 show
   only when the batch's gathered changes are applied: the batch is retried
   event by event, and the event that overflows is rejected alone. */
static void test_overflow_across_invoices(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    int64_t half = INT64_MAX / 2 + 1;
    kpi_event_t b[] = {
        ev(KPI_EV_INVOICE_ISSUED, "x1", T(2025, 7, 1, 0), "X1", NULL, half, "ACME"),
        ev(KPI_EV_INVOICE_ISSUED, "x2", T(2025, 7, 2, 0), "X2", NULL, half, "ACME"),
        ev(KPI_EV_INVOICE_ISSUED, "x3", T(2025, 7, 3, 0), "X3", NULL, 100, "ACME"),
    };
    b[1].terms_days = 29; /* due the same day as X1 */
    store_item_result_t res[3];
    store_batch_stats_t st = put(s, b, 3, NULL, res);
    CHECK(st.committed);
    CHECK_INT(2, st.accepted);
    CHECK_INT(STORE_ITEM_ACCEPTED, res[0].status);
    check_rejected(res[1], ERR_OVERFLOW, "amount");
    CHECK_INT(STORE_ITEM_ACCEPTED, res[2].status);
    CHECK_INT(2, stats_of(s).events);
    CHECK_INT(half, doc_of(s, KPI_DOC_INVOICE, "X1").open_minor);
    store_close(s);
    rmdir_all(dir);
}

static void test_map_grows(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 64 * 1024);
    enum { N = 6000 };
    kpi_event_t *evs = calloc(N, sizeof *evs);
    char(*ids)[3][16] = calloc(N, sizeof *ids);
    store_item_result_t *res = calloc(N, sizeof *res);
    REQUIRE(evs != NULL && ids != NULL && res != NULL);
    /* Invoices with a payment and an application each; the applications
       come first, so half the book waits and is released. */
    for (int i = 0; i < N / 3; i++) {
        snprintf(ids[i][0], 16, "i%d", i);
        snprintf(ids[i][1], 16, "p%d", i);
        snprintf(ids[i][2], 16, "a%d", i);
        int64_t t = T(2024, 1 + i % 12, 1 + i % 28, i % 24);
        char *party = i % 3 ? "A" : "B";
        evs[3 * i] =
            ev(KPI_EV_PAYMENT_APPLIED, ids[i][2], t + 7200, ids[i][1], ids[i][0], 100, NULL);
        evs[3 * i + 1] =
            ev(KPI_EV_PAYMENT_RECEIVED, ids[i][1], t + 3600, ids[i][1], NULL, 100, party);
        evs[3 * i + 2] = ev(KPI_EV_INVOICE_ISSUED, ids[i][0], t, ids[i][0], NULL, 250, party);
    }
    size_t done = 0, step = 1;
    store_batch_stats_t total = {0};
    while (done < N) {
        size_t k = step < N - done ? step : N - done;
        store_batch_stats_t st = put(s, evs + done, k, NULL, res + done);
        total.accepted += st.accepted;
        total.released += st.released;
        done += k;
        step = step * 3 + 1;
    }
    CHECK_INT(N, total.accepted);
    CHECK_INT(N / 3, total.released);
    store_stats_t ss = stats_of(s);
    CHECK(ss.map_size > 64 * 1024);
    CHECK(ss.map_used <= ss.map_size);
    CHECK_INT(N, ss.events);
    CHECK_INT(0, ss.pending);
    CHECK_INT(N / 3, ss.docs[KPI_DOC_INVOICE]);
    CHECK_INT(150, doc_of(s, KPI_DOC_INVOICE, "i1999").open_minor);
    CHECK_INT(0, doc_of(s, KPI_DOC_PAYMENT, "p0").open_minor);
    free(evs);
    free(ids);
    free(res);
    store_close(s);
    rmdir_all(dir);
}

/* The state of documents after a realistic sequence, computed by hand. */
static void test_document_state_by_hand(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    kpi_event_t b[] = {
        /* Invoice INV-7, 1000.00, net 30, unit NA, customer Globex. */
        ev(KPI_EV_INVOICE_ISSUED, "e01", T(2025, 1, 10, 9), "INV-7", NULL, 100000, "Globex"),
        ev(KPI_EV_INVOICE_REVIEWED, "e02", T(2025, 1, 10, 12), "INV-7", NULL, 0, NULL),
        ev(KPI_EV_INVOICE_REVIEWED, "e03", T(2025, 1, 10, 11), "INV-7", NULL, 0, NULL),
        /* Two payments, partly applied. */
        ev(KPI_EV_PAYMENT_RECEIVED, "e04", T(2025, 2, 1, 9), "PAY-1", NULL, 30000, "Globex"),
        ev(KPI_EV_PAYMENT_APPLIED, "e05", T(2025, 2, 2, 9), "PAY-1", "INV-7", 30000, NULL),
        ev(KPI_EV_PAYMENT_RECEIVED, "e06", T(2025, 2, 15, 9), "PAY-2", NULL, 50000, "Globex"),
        ev(KPI_EV_PAYMENT_APPLIED, "e07", T(2025, 2, 16, 9), "PAY-2", "INV-7", 20000, NULL),
        ev(KPI_EV_PAYMENT_REFUNDED, "e08", T(2025, 2, 20, 9), "PAY-2", NULL, 5000, NULL),
        /* A credit note against it, two adjustments, a write-off. */
        ev(KPI_EV_CREDIT_NOTE_ISSUED, "e09", T(2025, 2, 5, 9), "CN-1", "INV-7", 10000, NULL),
        ev(KPI_EV_INVOICE_ADJUSTED, "e10", T(2025, 2, 6, 9), "INV-7", NULL, 5000, NULL),
        ev(KPI_EV_INVOICE_ADJUSTED, "e11", T(2025, 2, 7, 9), "INV-7", NULL, -2500, NULL),
        ev(KPI_EV_INVOICE_WRITTEN_OFF, "e12", T(2025, 3, 31, 9), "INV-7", NULL, 12500, NULL),
        /* A dispute and an inquiry about it. */
        ev(KPI_EV_DISPUTE_OPENED, "e13", T(2025, 2, 3, 9), "DSP-1", "INV-7", 10000, NULL),
        ev(KPI_EV_DISPUTE_RESOLVED, "e14", T(2025, 2, 9, 9), "DSP-1", "INV-7", 0, NULL),
        ev(KPI_EV_INQUIRY_OPENED, "e15", T(2025, 2, 3, 9), "Q-1", "INV-7", 0, "Globex"),
        /* A bill: rejected, escalated, processed twice (the first counts), paid in part. */
        ev(KPI_EV_BILL_RECEIVED, "e16", T(2025, 1, 3, 9), "BILL-1", NULL, 80000, "Initech"),
        ev(KPI_EV_BILL_REJECTED, "e17", T(2025, 1, 4, 9), "BILL-1", NULL, 0, NULL),
        ev(KPI_EV_BILL_ESCALATED, "e18", T(2025, 1, 5, 9), "BILL-1", NULL, 0, NULL),
        ev(KPI_EV_BILL_PROCESSED, "e19", T(2025, 1, 8, 9), "BILL-1", NULL, 0, NULL),
        ev(KPI_EV_BILL_PROCESSED, "e20", T(2025, 1, 7, 9), "BILL-1", NULL, 0, NULL),
        ev(KPI_EV_BILL_PAID, "e21", T(2025, 2, 7, 9), "BILL-1", NULL, 60000, NULL),
    };
    b[0].business_unit = "NA";
    b[2].result = KPI_RESULT_FAIL; /* earlier by time, though it arrives later */
    b[15].flags = (b[15].flags & ~(uint32_t)KPI_EVF_TERMS) | KPI_EVF_DUE;
    b[15].due_day = D(2025, 2, 2);
    enum { N = sizeof b / sizeof b[0] };
    store_item_result_t res[N];
    store_batch_stats_t st = put(s, b, N, NULL, res);
    CHECK_INT(N, st.accepted);
    for (size_t i = 0; i < N; i++)
        CHECK_MSG(res[i].status == STORE_ITEM_ACCEPTED, "%s: %s", b[i].id, res[i].message);

    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_doc_t d;
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_INVOICE, "INV-7", &d));
    CHECK(d.exists);
    CHECK_INT(1, d.created_seq);
    CHECK_INT(D(2025, 1, 10), d.created_day);
    CHECK_INT(D(2025, 2, 9), d.due_day);
    CHECK_STR("USD", d.currency);
    CHECK_STR("Globex", d.party);
    CHECK_STR("NA", d.business_unit);
    CHECK(d.ref == NULL);
    CHECK_INT(100000, d.amount_minor);
    CHECK_INT(2500, d.adjusted_minor);     /* +50.00 - 25.00 */
    CHECK_INT(50000, d.applied_minor);     /* 300.00 + 200.00 */
    CHECK_INT(10000, d.credited_minor);    /* CN-1 */
    CHECK_INT(12500, d.written_off_minor); /* 125.00 */
    CHECK_INT(30000, d.open_minor);        /* 1000 + 25 - 500 - 100 - 125 = 300.00 */
    CHECK_INT(2, d.reviews);
    CHECK_INT(KPI_RESULT_FAIL, d.first_review);
    CHECK_INT(3, d.corrections); /* two adjustments, one credit note */
    CHECK_INT(INT32_MIN, d.closed_day);
    CHECK_INT(0, d.pending_events);

    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_PAYMENT, "PAY-1", &d));
    CHECK_INT(30000, d.applied_minor);
    CHECK_INT(0, d.open_minor);
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_PAYMENT, "PAY-2", &d));
    CHECK_INT(50000, d.amount_minor);
    CHECK_INT(20000, d.applied_minor);
    CHECK_INT(5000, d.refunded_minor);
    CHECK_INT(25000, d.open_minor);
    CHECK_INT(INT32_MIN, d.due_day);
    CHECK_STR("default", d.business_unit);

    /* The credit note and the dispute file under the invoice's unit and
       customer when they name none. */
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_CREDIT_NOTE, "CN-1", &d));
    CHECK_STR("INV-7", d.ref);
    CHECK_STR("Globex", d.party);
    CHECK_STR("NA", d.business_unit);
    CHECK_INT(10000, d.amount_minor);
    CHECK_INT(0, d.open_minor);
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_DISPUTE, "DSP-1", &d));
    CHECK_STR("INV-7", d.ref);
    CHECK_STR("NA", d.business_unit);
    CHECK_INT(D(2025, 2, 9), d.closed_day);
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_INQUIRY, "Q-1", &d));
    CHECK_INT(INT32_MIN, d.closed_day);
    CHECK_STR("INV-7", d.ref);

    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_BILL, "BILL-1", &d));
    CHECK_STR("Initech", d.party);
    CHECK_INT(D(2025, 2, 2), d.due_day);
    CHECK_INT(80000, d.amount_minor);
    CHECK_INT(60000, d.paid_minor);
    CHECK_INT(20000, d.open_minor);
    CHECK_INT(1, d.rejections);
    CHECK_INT(1, d.escalations);
    CHECK_INT(D(2025, 1, 7), d.closed_day);

    CHECK_ERR(ERR_NOT_FOUND, store_doc_get(sn, KPI_DOC_BILL, "INV-7", &d));
    char huge[KPI_NAME_MAX + 10];
    memset(huge, 'n', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    CHECK_ERR(ERR_NOT_FOUND, store_doc_get(sn, KPI_DOC_INVOICE, huge, &d));
    store_snap_end(sn);
    store_close(s);
    rmdir_all(dir);
}

/* The applied stream sequence (store_batch_opts_t.stream_seq) goes with the
   batch's commit: recorded when every item is a duplicate or rejected and
   for an empty batch too (a node must move past a bad message), never
   lowered by an older one, not recorded by an atomic rollback, and kept
   across a reopen. */
static void test_stream_seq(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    int64_t t = T(2025, 6, 1, 0);
    CHECK_INT(0, stats_of(s).stream_seq);
    kpi_event_t a = ev(KPI_EV_INVOICE_ISSUED, "s1", t, "S1", NULL, 100, "ACME");
    store_item_result_t res[2];
    store_batch_opts_t o = {.stream_seq = 7};
    store_batch_stats_t st = put(s, &a, 1, &o, res);
    CHECK(st.committed);
    CHECK_INT(7, stats_of(s).stream_seq);
    /* Only a duplicate: nothing new, but message 9 is applied. */
    o.stream_seq = 9;
    st = put(s, &a, 1, &o, res);
    CHECK_INT(1, st.duplicates);
    CHECK_INT(9, stats_of(s).stream_seq);
    /* A message with no valid event at all (an empty batch). */
    o.stream_seq = 10;
    st = put(s, NULL, 0, &o, NULL);
    CHECK(st.committed);
    CHECK_INT(10, stats_of(s).stream_seq);
    /* A redelivered older message does not move it back. */
    o.stream_seq = 8;
    st = put(s, &a, 1, &o, res);
    CHECK_INT(10, stats_of(s).stream_seq);
    /* Rolled back: not applied, not recorded. */
    kpi_event_t b[] = {ev(KPI_EV_INVOICE_ISSUED, "s2", t, "S2", NULL, 100, "ACME"),
                       ev(KPI_EV_INVOICE_ISSUED, "s3", t, "S1", NULL, 100, "ACME")};
    store_batch_opts_t ao = {.atomic = true, .stream_seq = 12};
    st = put(s, b, 2, &ao, res);
    CHECK(!st.committed);
    CHECK_INT(10, stats_of(s).stream_seq);
    /* A batch without a sequence leaves it alone. */
    st = put(s, b, 1, NULL, res);
    CHECK_INT(1, st.accepted);
    CHECK_INT(10, stats_of(s).stream_seq);
    store_close(s);
    s = open_store(dir, 0);
    CHECK_INT(10, stats_of(s).stream_seq);
    CHECK_INT(2, stats_of(s).events);
    store_close(s);
    rmdir_all(dir);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    RUN(test_every_type_round_trip);
    RUN(test_duplicate_and_conflict);
    RUN(test_document_conflict);
    RUN(test_over_application);
    RUN(test_currency_mismatch);
    RUN(test_unit_mismatch);
    RUN(test_pending_released_once);
    RUN(test_strict_refs);
    RUN(test_atomic_and_partial);
    RUN(test_overflow_rejects_item);
    RUN(test_overflow_across_invoices);
    RUN(test_map_grows);
    RUN(test_document_state_by_hand);
    RUN(test_stream_seq);
    kpi_tz_free(test_utc);
    return test_summary();
}
