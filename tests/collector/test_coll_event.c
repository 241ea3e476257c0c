/*
 * test_coll_event.c — the field rules of every event type (coll_event.c),
 * driven through coll_parse_buffer with one JSON object per case.
 */
#include "coll_test.h"
#include "kpi_date.h"

static void test_every_type(void)
{
    static const struct {
        const char *json;
        kpi_ev_type_t type;
        const char *doc, *ref, *party, *text;
        int64_t amount;
    } cases[] = {
        {"{\"id\":\"e1\",\"type\":\"invoice.issued\",\"time\":\"2025-03-01T10:00:00Z\","
         "\"invoice\":\"I1\",\"customer\":\"ACME\",\"amount\":\"1000.00\",\"terms_days\":30}",
         KPI_EV_INVOICE_ISSUED, "I1", NULL, "ACME", NULL, 100000},
        {"{\"id\":\"e2\",\"type\":\"invoice.reviewed\",\"time\":\"2025-03-01\",\"invoice\":\"I1\","
         "\"result\":\"fail\",\"reason\":\"PO\"}",
         KPI_EV_INVOICE_REVIEWED, "I1", NULL, NULL, "PO", 0},
        {"{\"id\":\"e3\",\"type\":\"invoice.adjusted\",\"time\":\"2025-03-01\",\"invoice\":\"I1\","
         "\"amount\":\"-50\",\"reason\":\"price\"}",
         KPI_EV_INVOICE_ADJUSTED, "I1", NULL, NULL, "price", -5000},
        {"{\"id\":\"e4\",\"type\":\"credit_note.issued\",\"time\":\"2025-03-01\","
         "\"credit_note\":\"C1\",\"customer\":\"ACME\",\"amount\":100,\"invoice\":\"I1\"}",
         KPI_EV_CREDIT_NOTE_ISSUED, "C1", "I1", "ACME", NULL, 10000},
        {"{\"id\":\"e5\",\"type\":\"payment.received\",\"time\":\"2025-03-01\",\"payment\":\"P1\","
         "\"customer\":\"ACME\",\"amount\":\"9.5\",\"method\":\"eft\"}",
         KPI_EV_PAYMENT_RECEIVED, "P1", NULL, "ACME", NULL, 950},
        {"{\"id\":\"e6\",\"type\":\"payment.applied\",\"time\":\"2025-03-01\",\"payment\":\"P1\","
         "\"invoice\":\"I1\",\"amount\":\"9.50\"}",
         KPI_EV_PAYMENT_APPLIED, "P1", "I1", NULL, NULL, 950},
        {"{\"id\":\"e7\",\"type\":\"payment.refunded\",\"time\":\"2025-03-01\",\"payment\":\"P1\","
         "\"amount\":\"1\"}",
         KPI_EV_PAYMENT_REFUNDED, "P1", NULL, NULL, NULL, 100},
        {"{\"id\":\"e8\",\"type\":\"invoice.written_off\",\"time\":\"2025-03-01\","
         "\"invoice\":\"I1\",\"amount\":\"2\",\"reason\":\"bad debt\"}",
         KPI_EV_INVOICE_WRITTEN_OFF, "I1", NULL, NULL, "bad debt", 200},
        {"{\"id\":\"e9\",\"type\":\"dispute.opened\",\"time\":\"2025-03-01\",\"dispute\":\"D1\","
         "\"invoice\":\"I1\",\"reason\":\"damaged\"}",
         KPI_EV_DISPUTE_OPENED, "D1", "I1", NULL, "damaged", 0},
        {"{\"id\":\"e10\",\"type\":\"dispute.resolved\",\"time\":\"2025-03-01\",\"dispute\":\"D1\","
         "\"invoice\":\"I1\",\"resolution\":\"credit\"}",
         KPI_EV_DISPUTE_RESOLVED, "D1", "I1", NULL, "credit", 0},
        {"{\"id\":\"e11\",\"type\":\"credit.limit_set\",\"time\":\"2025-03-01\","
         "\"customer\":\"ACME\",\"amount\":\"0\"}",
         KPI_EV_CREDIT_LIMIT_SET, NULL, NULL, "ACME", NULL, 0},
        {"{\"id\":\"e12\",\"type\":\"credit.hold_set\",\"time\":\"2025-03-01\","
         "\"customer\":\"ACME\",\"reason\":\"late\"}",
         KPI_EV_CREDIT_HOLD_SET, NULL, NULL, "ACME", "late", 0},
        {"{\"id\":\"e13\",\"type\":\"credit.hold_released\",\"time\":\"2025-03-01\","
         "\"customer\":\"ACME\",\"reason\":\"paid\"}",
         KPI_EV_CREDIT_HOLD_RELEASED, NULL, NULL, "ACME", "paid", 0},
        {"{\"id\":\"e14\",\"type\":\"inquiry.opened\",\"time\":\"2025-03-01\",\"inquiry\":\"Q1\","
         "\"customer\":\"ACME\",\"invoice\":\"I1\"}",
         KPI_EV_INQUIRY_OPENED, "Q1", "I1", "ACME", NULL, 0},
        {"{\"id\":\"e15\",\"type\":\"inquiry.resolved\",\"time\":\"2025-03-01\",\"inquiry\":\"Q1\","
         "\"customer\":\"ACME\"}",
         KPI_EV_INQUIRY_RESOLVED, "Q1", NULL, "ACME", NULL, 0},
        {"{\"id\":\"e16\",\"type\":\"bill.received\",\"time\":\"2025-03-01\",\"bill\":\"B1\","
         "\"vendor\":\"M\\u00fcller\",\"amount\":\"300\",\"due_date\":\"2025-04-01\"}",
         KPI_EV_BILL_RECEIVED, "B1", NULL, "M\xc3\xbcller", NULL, 30000},
        {"{\"id\":\"e17\",\"type\":\"bill.rejected\",\"time\":\"2025-03-01\",\"bill\":\"B1\","
         "\"reason\":\"no PO\"}",
         KPI_EV_BILL_REJECTED, "B1", NULL, NULL, "no PO", 0},
        {"{\"id\":\"e18\",\"type\":\"bill.escalated\",\"time\":\"2025-03-01\",\"bill\":\"B1\","
         "\"reason\":\"approval\"}",
         KPI_EV_BILL_ESCALATED, "B1", NULL, NULL, "approval", 0},
        {"{\"id\":\"e19\",\"type\":\"bill.processed\",\"time\":\"2025-03-01\",\"bill\":\"B1\"}",
         KPI_EV_BILL_PROCESSED, "B1", NULL, NULL, NULL, 0},
        {"{\"id\":\"e20\",\"type\":\"bill.paid\",\"time\":\"2025-03-01\",\"bill\":\"B1\","
         "\"amount\":\"300.00\"}",
         KPI_EV_BILL_PAID, "B1", NULL, NULL, NULL, 30000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_current_ = cases[i].json;
        sink_t s;
        sink_init(&s);
        CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON, cases[i].json));
        CHECK_INT(1, s.n_ev);
        CHECK_INT(0, s.n_err);
        if (s.n_err)
            fprintf(stderr, "    %s: %s\n", s.err[0].field, s.err[0].message);
        if (s.n_ev == 1) {
            const kpi_event_t *e = &s.ev[0];
            CHECK_INT(cases[i].type, e->type);
            CHECK_STR(cases[i].doc, e->doc);
            CHECK_STR(cases[i].ref, e->ref);
            CHECK_STR(cases[i].party, e->party);
            CHECK_STR(cases[i].text, e->text);
            CHECK_INT(cases[i].amount, e->amount_minor);
            CHECK(e->extra == NULL);
        }
        sink_free(&s);
    }
}

static void test_details(void)
{
    sink_t s;
    sink_init(&s);
    CHECK_ERR(
        ERR_OK,
        sink_parse(
            &s, COLL_FMT_JSON,
            "[{\"id\":\"a\",\"type\":\"invoice.issued\",\"time\":\"2025-03-20T00:30:00+01:00\","
            "\"invoice\":\"I\",\"customer\":\"C\",\"amount\":\"7\",\"currency\":\"JPY\","
            "\"due_date\":\"2025-04-30\",\"terms_days\":\"45\",\"billing_due\":"
            "\"2025-03-19\",\"zeta\":1,\"alpha\":{\"b\":2,\"a\":1},\"business_unit\":\"emea\"},"
            "{\"id\":\"b\",\"type\":\"payment.received\",\"time\":\"2025-03-20\","
            "\"payment\":\"P\",\"customer\":\"C\",\"amount\":12.5,\"method\":\"card\","
            "\"currency\":\"KWD\"},"
            "{\"id\":\"c\",\"type\":\"bill.paid\",\"time\":\"2025-03-20\",\"bill\":\"B\","
            "\"amount\":\"1.5\",\"customer\":\"not a vendor field\"}]"));
    REQUIRE(s.n_ev == 3);
    const kpi_event_t *a = &s.ev[0];
    CHECK_STR("JPY", a->currency);
    CHECK_INT(7, a->amount_minor); /* JPY has no minor digits */
    CHECK_INT(kpi_day_start_utc(kpi_days_from_civil(2025, 3, 19)) + 23 * 3600 + 1800, a->time_s);
    CHECK(a->flags & KPI_EVF_DUE);
    CHECK(a->flags & KPI_EVF_TERMS);
    CHECK_INT(45, a->terms_days);
    CHECK_INT(kpi_days_from_civil(2025, 4, 30), a->due_day);
    CHECK_INT(kpi_days_from_civil(2025, 3, 19), a->billing_due_day);
    CHECK_STR("emea", a->business_unit);
    CHECK_STR("{\"alpha\":{\"a\":1,\"b\":2},\"zeta\":1}", a->extra); /* canonical */
    const kpi_event_t *b = &s.ev[1];
    CHECK(b->flags & KPI_EVF_DATE_ONLY);
    CHECK_INT(kpi_days_from_civil(2025, 3, 20), b->date_day);
    CHECK_INT(12500, b->amount_minor); /* KWD: 3 digits, exact real */
    CHECK_INT(KPI_METHOD_CARD, b->method);
    CHECK_STR("", b->business_unit);
    CHECK_STR("{\"customer\":\"not a vendor field\"}", s.ev[2].extra);
    sink_free(&s);
}

static void test_bad_inputs(void)
{
    static const struct {
        const char *json;
        err_t code;
        const char *field;
    } cases[] = {
        {"{\"type\":\"bill.processed\",\"time\":\"2025-01-01\",\"bill\":\"B\"}", ERR_MISSING_FIELD,
         "id"},
        {"{\"id\":\"\",\"type\":\"bill.processed\",\"time\":\"2025-01-01\",\"bill\":\"B\"}",
         ERR_MISSING_FIELD, "id"},
        {"{\"id\":7,\"type\":\"bill.processed\",\"time\":\"2025-01-01\",\"bill\":\"B\"}",
         ERR_BAD_TYPE, "id"},
        {"{\"id\":\"x\",\"time\":\"2025-01-01\"}", ERR_MISSING_FIELD, "type"},
        {"{\"id\":\"x\",\"type\":\"invoice.paid\",\"time\":\"2025-01-01\"}", ERR_UNKNOWN_TYPE,
         "type"},
        {"{\"id\":\"x\",\"type\":\"bill.processed\",\"bill\":\"B\"}", ERR_MISSING_FIELD, "time"},
        {"{\"id\":\"x\",\"type\":\"bill.processed\",\"time\":\"2025-02-30\",\"bill\":\"B\"}",
         ERR_BAD_DATE, "time"},
        {"{\"id\":\"x\",\"type\":\"bill.processed\",\"time\":\"2025-02-03T10:00:00\",\"bill\":"
         "\"B\"}",
         ERR_BAD_DATE, "time"},
        {"{\"id\":\"x\",\"type\":\"bill.processed\",\"time\":\"2025-01-01\"}", ERR_MISSING_FIELD,
         "bill"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"amount\":\"5\",\"terms_days\":30}",
         ERR_MISSING_FIELD, "customer"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"customer\":\"C\",\"amount\":true,\"terms_days\":30}",
         ERR_BAD_TYPE, "amount"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"customer\":\"C\",\"amount\":\"5.001\",\"terms_days\":30}",
         ERR_TOO_MANY_DECIMALS, "amount"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"customer\":\"C\",\"amount\":0.30000000000000004,\"terms_days\":30}",
         ERR_TOO_MANY_DECIMALS, "amount"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"customer\":\"C\",\"amount\":\"-5\",\"terms_days\":30}",
         ERR_BAD_AMOUNT, "amount"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"customer\":\"C\",\"amount\":\"1e3\",\"terms_days\":30}",
         ERR_BAD_AMOUNT, "amount"},
        {"{\"id\":\"x\",\"type\":\"invoice.adjusted\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"amount\":\"0\",\"reason\":\"r\"}",
         ERR_BAD_AMOUNT, "amount"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"customer\":\"C\",\"amount\":\"5\",\"terms_days\":30,\"currency\":\"XYZ\"}",
         ERR_BAD_CURRENCY, "currency"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"customer\":\"C\",\"amount\":\"5\"}",
         ERR_MISSING_FIELD, "due_date"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"customer\":\"C\",\"amount\":\"5\",\"terms_days\":-1}",
         ERR_BAD_VALUE, "terms_days"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"customer\":\"C\",\"amount\":\"5\",\"due_date\":\"soon\"}",
         ERR_BAD_DATE, "due_date"},
        {"{\"id\":\"x\",\"type\":\"invoice.reviewed\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"result\":\"ok\"}",
         ERR_BAD_VALUE, "result"},
        {"{\"id\":\"x\",\"type\":\"payment.received\",\"time\":\"2025-01-01\",\"payment\":\"P\","
         "\"customer\":\"C\",\"amount\":\"5\",\"method\":\"cash\"}",
         ERR_BAD_VALUE, "method"},
        {"{\"id\":\"x\",\"type\":\"invoice.adjusted\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"amount\":\"5\"}",
         ERR_MISSING_FIELD, "reason"},
        {"{\"id\":\"x\",\"type\":\"payment.applied\",\"time\":\"2025-01-01\",\"payment\":\"P\","
         "\"amount\":\"5\"}",
         ERR_MISSING_FIELD, "invoice"},
        {"{\"id\":\"x\",\"type\":\"bill.processed\",\"time\":\"2025-01-01\",\"bill\":"
         "\"a\\u0000b\"}",
         ERR_BAD_VALUE, "bill"},
        {"[1]", ERR_BAD_TYPE, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_current_ = cases[i].json;
        sink_t s;
        sink_init(&s);
        CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON, cases[i].json));
        CHECK_INT(0, s.n_ev);
        REQUIRE(s.n_err == 1);
        CHECK_ERR(cases[i].code, s.err[0].code);
        CHECK_STR(cases[i].field, s.err[0].field);
        CHECK(s.err[0].message[0] != '\0');
        CHECK_INT(0, s.err[0].index);
        sink_free(&s);
    }
    /* The id is named in later errors, and limits hold. */
    sink_t s;
    sink_init(&s);
    char big[300];
    memset(big, 'x', 200);
    big[200] = '\0';
    char json[600];
    snprintf(json, sizeof json,
             "{\"id\":\"%s\",\"type\":\"bill.processed\",\"time\":\"2025-01-01\",\"bill\":\"B\"}",
             big);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON, json));
    CHECK_ERR(ERR_TOO_LARGE, s.err[0].code);
    CHECK_STR("id", s.err[0].field);
    memset(&s.err[0], 0, sizeof s.err[0]);
    s.n_err = 0;
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON,
                                 "{\"id\":\"named\",\"type\":\"bill.processed\",\"time\":\"x\","
                                 "\"bill\":\"B\"}"));
    CHECK_STR("named", s.err[0].id);
    sink_free(&s);
}

/* Issue 17: a refused name comes with the closest right one. */
static void test_suggestions(void)
{
    static const struct {
        const char *json, *message;
    } cases[] = {
        {"{\"id\":\"x\",\"type\":\"invoice.issue\",\"time\":\"2025-01-01\"}",
         "type: 'invoice.issue' is not an event type (did you mean 'invoice.issued'?)"},
        {"{\"id\":\"x\",\"type\":\"Bill.Paid\",\"time\":\"2025-01-01\"}",
         "type: 'Bill.Paid' is not an event type (did you mean 'bill.paid'?)"},
        {"{\"id\":\"x\",\"type\":\"shipment.sent\",\"time\":\"2025-01-01\"}",
         "type: 'shipment.sent' is not an event type (docs/events.md lists them)"},
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"custmer\":\"C\",\"amount\":\"5\",\"terms_days\":30}",
         "customer: required (is 'custmer' a misspelling of it?)"},
        {"{\"id\":\"x\",\"type\":\"bill.processed\",\"tim\":\"2025-01-01\",\"bill\":\"B\"}",
         "time: required (is 'tim' a misspelling of it?)"},
        {"{\"id\":\"x\",\"typ\":\"bill.processed\",\"time\":\"2025-01-01\"}",
         "type: required (is 'typ' a misspelling of it?)"},
        {"{\"id\":\"x\",\"type\":\"bill.paid\",\"time\":\"2025-01-01\",\"bill\":\"B\","
         "\"amout\":\"5\"}",
         "amount: required (is 'amout' a misspelling of it?)"},
        /* Nothing alike: the plain message. */
        {"{\"id\":\"x\",\"type\":\"invoice.issued\",\"time\":\"2025-01-01\",\"invoice\":\"I\","
         "\"amount\":\"5\",\"terms_days\":30}",
         "customer: required"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        test_current_ = cases[i].json;
        sink_t s;
        sink_init(&s);
        CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON, cases[i].json));
        REQUIRE(s.n_err == 1);
        CHECK_STR(cases[i].message, s.err[0].message);
        sink_free(&s);
    }
}

/* customer.updated / vendor.updated: the name in text, the profile's three
   optional fields, their checks (docs/events.md). */
static void test_profiles(void)
{
    sink_t s;
    sink_init(&s);
    CHECK_ERR(ERR_OK,
              sink_parse(&s, COLL_FMT_JSON,
                         "{\"id\":\"p1\",\"type\":\"customer.updated\",\"time\":\"2025-01-01\","
                         "\"customer\":\"C1\",\"name\":\"株式会社さくら\",\"email\":"
                         "\"ap@sakura.example\",\"country\":\"JP\",\"segment\":\"enterprise\","
                         "\"crm_id\":\"77\"}"));
    REQUIRE(s.n_ev == 1);
    const kpi_event_t *e = &s.ev[0];
    CHECK_INT(KPI_EV_CUSTOMER_UPDATED, e->type);
    CHECK_STR("C1", e->party);
    CHECK_STR("株式会社さくら", e->text);
    CHECK_STR("ap@sakura.example", e->email);
    CHECK_STR("JP", e->country);
    CHECK_STR("enterprise", e->segment);
    CHECK(e->flags & KPI_EVF_PROFILE);
    CHECK_STR("{\"crm_id\":\"77\"}", e->extra); /* unknown fields are kept */
    sink_free(&s);
    /* A vendor with a name only: no profile flag, nothing else encoded. */
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON,
                                 "{\"id\":\"p2\",\"type\":\"vendor.updated\",\"time\":"
                                 "\"2025-01-01\",\"vendor\":\"V1\",\"name\":\"Müller GmbH\"}"));
    REQUIRE(s.n_ev == 1);
    CHECK_STR("V1", s.ev[0].party);
    CHECK(!(s.ev[0].flags & KPI_EVF_PROFILE) && s.ev[0].email == NULL);
    sink_free(&s);
    static const struct {
        const char *json;
        err_t code;
        const char *field;
    } bad[] = {
        {"{\"id\":\"x\",\"type\":\"customer.updated\",\"time\":\"2025-01-01\",\"customer\":"
         "\"C\"}",
         ERR_MISSING_FIELD, "name"},
        {"{\"id\":\"x\",\"type\":\"customer.updated\",\"time\":\"2025-01-01\",\"name\":"
         "\"N\"}",
         ERR_MISSING_FIELD, "customer"},
        {"{\"id\":\"x\",\"type\":\"vendor.updated\",\"time\":\"2025-01-01\",\"customer\":"
         "\"C\",\"name\":\"N\"}",
         ERR_MISSING_FIELD, "vendor"},
        {"{\"id\":\"x\",\"type\":\"customer.updated\",\"time\":\"2025-01-01\",\"customer\":"
         "\"C\",\"name\":\"N\",\"email\":\"no-at-sign\"}",
         ERR_BAD_VALUE, "email"},
        {"{\"id\":\"x\",\"type\":\"customer.updated\",\"time\":\"2025-01-01\",\"customer\":"
         "\"C\",\"name\":\"N\",\"email\":\"a b@c.example\"}",
         ERR_BAD_VALUE, "email"},
        {"{\"id\":\"x\",\"type\":\"customer.updated\",\"time\":\"2025-01-01\",\"customer\":"
         "\"C\",\"name\":\"N\",\"country\":\"Germany\"}",
         ERR_BAD_VALUE, "country"},
        {"{\"id\":\"x\",\"type\":\"customer.updated\",\"time\":\"2025-01-01\",\"customer\":"
         "\"C\",\"name\":\"N\",\"country\":\"de\"}",
         ERR_BAD_VALUE, "country"},
        {"{\"id\":\"x\",\"type\":\"customer.updated\",\"time\":\"2025-01-01\",\"customer\":"
         "\"C\",\"name\":7}",
         ERR_BAD_TYPE, "name"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sink_init(&s);
        test_current_ = bad[i].json;
        CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON, bad[i].json));
        CHECK_INT(0, s.n_ev);
        REQUIRE(s.n_err == 1);
        CHECK_INT(bad[i].code, s.err[0].code);
        CHECK_STR(bad[i].field, s.err[0].field);
        sink_free(&s);
    }
    test_current_ = NULL;
}

int main(void)
{
    RUN(test_suggestions);
    RUN(test_every_type);
    RUN(test_details);
    RUN(test_bad_inputs);
    RUN(test_profiles);
    kpi_tz_free(test_utc);
    return test_summary();
}
