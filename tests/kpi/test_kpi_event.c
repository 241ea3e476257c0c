/*
 * test_kpi_event.c — type vocabulary, document kinds, and the binary
 * encoding: round trips, determinism, "same content" equality, sizing and
 * corrupt input.
 */
#include <string.h>

#include "kpi_event.h"
#include "test.h"

static void test_type_names(void)
{
    int seen = 0;
    for (int t = KPI_EV_NONE + 1; t < KPI_EV_COUNT; t++) {
        const char *n = kpi_ev_type_name((kpi_ev_type_t)t);
        test_current_ = n;
        kpi_ev_type_t back = KPI_EV_NONE;
        CHECK_ERR(ERR_OK, kpi_ev_type_parse(n, strlen(n), &back));
        CHECK_INT(t, back);
        CHECK(kpi_ev_doc_kind((kpi_ev_type_t)t) != KPI_DOC_NONE || strncmp(n, "credit.", 7) == 0 ||
              t == KPI_EV_FX_RATE || kpi_ev_is_profile((kpi_ev_type_t)t));
        seen++;
    }
    CHECK_INT(23, seen);
    /* The log stores types by number: the old ones keep theirs. */
    CHECK_INT(21, KPI_EV_FX_RATE);
    CHECK_INT(22, KPI_EV_CUSTOMER_UPDATED);
    CHECK_INT(23, KPI_EV_VENDOR_UPDATED);
    CHECK_STR("fx.rate", kpi_ev_type_name(KPI_EV_FX_RATE));
    kpi_ev_type_t x;
    CHECK_ERR(ERR_UNKNOWN_TYPE, kpi_ev_type_parse("invoice.paid", 12, &x));
    CHECK_ERR(ERR_UNKNOWN_TYPE, kpi_ev_type_parse("invoice.issue", 13, &x));
    CHECK_ERR(ERR_UNKNOWN_TYPE, kpi_ev_type_parse("", 0, &x));
    /* len bounds the comparison. */
    CHECK_ERR(ERR_OK, kpi_ev_type_parse("bill.paidXYZ", 9, &x));
    CHECK_INT(KPI_EV_BILL_PAID, x);
    CHECK_STR("", kpi_ev_type_name(KPI_EV_NONE));
    CHECK_STR("", kpi_ev_type_name(KPI_EV_COUNT));
}

static void test_doc_kinds(void)
{
    CHECK_INT(KPI_DOC_PAYMENT, kpi_ev_doc_kind(KPI_EV_PAYMENT_APPLIED));
    CHECK_INT(KPI_DOC_CREDIT_NOTE, kpi_ev_doc_kind(KPI_EV_CREDIT_NOTE_ISSUED));
    CHECK_INT(KPI_DOC_BILL, kpi_ev_doc_kind(KPI_EV_BILL_ESCALATED));
    CHECK_INT(KPI_DOC_NONE, kpi_ev_doc_kind(KPI_EV_CREDIT_HOLD_SET));
    int creators = 0;
    for (int t = 1; t < KPI_EV_COUNT; t++)
        creators += kpi_ev_creates_doc((kpi_ev_type_t)t);
    CHECK_INT(6, creators);
    CHECK(kpi_ev_creates_doc(KPI_EV_BILL_RECEIVED));
    CHECK(!kpi_ev_creates_doc(KPI_EV_BILL_PAID));
    CHECK_STR("credit_note", kpi_doc_kind_name(KPI_DOC_CREDIT_NOTE));
    CHECK_STR("inquiry", kpi_doc_kind_name(KPI_DOC_INQUIRY));
    CHECK_STR("", kpi_doc_kind_name(KPI_DOC_NONE));
    CHECK_STR("fail", kpi_result_name(KPI_RESULT_FAIL));
    CHECK_STR("wire", kpi_method_name(KPI_METHOD_WIRE));
    CHECK_STR("", kpi_method_name(KPI_METHOD_NONE));
}

static kpi_event_t sample(void)
{
    kpi_event_t ev = {0};
    ev.type = KPI_EV_INVOICE_ISSUED;
    ev.flags = KPI_EVF_AMOUNT | KPI_EVF_TERMS | KPI_EVF_BILLING_DUE | KPI_EVF_DATE_ONLY;
    memcpy(ev.currency, "EUR", 4);
    ev.time_s = 20178LL * 86400 - 7200;
    ev.date_day = 20178;
    ev.amount_minor = -INT64_MAX; /* extremes survive the zigzag varints */
    ev.terms_days = 30;
    ev.billing_due_day = -5;
    ev.id = "e-1";
    ev.business_unit = "";
    ev.party = "Müller GmbH";
    ev.doc = "INV-1";
    ev.text = "a \"reason\"";
    ev.extra = "{\"po\":\"77\"}";
    return ev;
}

static bool same(const kpi_event_t *a, const kpi_event_t *b)
{
#define SAME_STR(f) ((a->f == NULL) == (b->f == NULL) && (a->f == NULL || strcmp(a->f, b->f) == 0))
    return a->type == b->type && a->flags == b->flags && a->result == b->result &&
           a->method == b->method && strcmp(a->currency, b->currency) == 0 &&
           a->time_s == b->time_s && a->date_day == b->date_day &&
           a->amount_minor == b->amount_minor && a->due_day == b->due_day &&
           a->terms_days == b->terms_days && a->billing_due_day == b->billing_due_day &&
           SAME_STR(id) && SAME_STR(business_unit) && SAME_STR(party) && SAME_STR(doc) &&
           SAME_STR(ref) && SAME_STR(text) && SAME_STR(extra) && SAME_STR(email) &&
           SAME_STR(country) && SAME_STR(segment);
#undef SAME_STR
}

static void test_round_trip(void)
{
    kpi_event_t ev = sample();
    size_t need = 0;
    CHECK_ERR(ERR_TOO_LARGE, kpi_event_encode(&ev, NULL, 0, &need));
    CHECK(need > 0);
    uint8_t buf[512];
    size_t len = 0;
    CHECK_ERR(ERR_TOO_LARGE, kpi_event_encode(&ev, buf, need - 1, &len));
    CHECK_INT(need, len);
    CHECK_ERR(ERR_OK, kpi_event_encode(&ev, buf, sizeof(buf), &len));
    CHECK_INT(need, len);
    kpi_event_t back;
    CHECK_ERR(ERR_OK, kpi_event_decode(buf, len, &back));
    CHECK(same(&ev, &back));
    /* Decoded strings live inside buf. */
    CHECK((const uint8_t *)back.party > buf && (const uint8_t *)back.party < buf + len);

    /* Every type with minimal fields round-trips too. */
    for (int t = 1; t < KPI_EV_COUNT; t++) {
        kpi_event_t e = {.type = (kpi_ev_type_t)t, .id = "x", .business_unit = "bu"};
        test_current_ = kpi_ev_type_name(e.type);
        CHECK_ERR(ERR_OK, kpi_event_encode(&e, buf, sizeof(buf), &len));
        CHECK_ERR(ERR_OK, kpi_event_decode(buf, len, &back));
        CHECK(same(&e, &back));
    }
}

static void test_same_content_same_bytes(void)
{
    kpi_event_t a = sample(), b = sample();
    /* Fields whose flag is absent are not content. */
    a.flags &= ~(uint32_t)KPI_EVF_TERMS;
    b.flags &= ~(uint32_t)KPI_EVF_TERMS;
    b.terms_days = 99;
    /* Bytes after the currency code's NUL are not content. */
    memcpy(a.currency, "\0AB", 4);
    memcpy(b.currency, "\0XY", 4);
    uint8_t ba[512], bb[512];
    size_t la, lb;
    CHECK_ERR(ERR_OK, kpi_event_encode(&a, ba, sizeof(ba), &la));
    CHECK_ERR(ERR_OK, kpi_event_encode(&b, bb, sizeof(bb), &lb));
    CHECK(la == lb && memcmp(ba, bb, la) == 0);
    /* Any content difference shows: NULL vs "" text, amount, one byte of a name. */
    b = a;
    b.text = NULL;
    CHECK_ERR(ERR_OK, kpi_event_encode(&b, bb, sizeof(bb), &lb));
    CHECK(!(la == lb && memcmp(ba, bb, la) == 0));
    b = a;
    b.amount_minor++;
    CHECK_ERR(ERR_OK, kpi_event_encode(&b, bb, sizeof(bb), &lb));
    CHECK(!(la == lb && memcmp(ba, bb, la) == 0));
    b = a;
    b.party = "Müller GmbI";
    CHECK_ERR(ERR_OK, kpi_event_encode(&b, bb, sizeof(bb), &lb));
    CHECK(!(la == lb && memcmp(ba, bb, la) == 0));
}

static void test_corrupt(void)
{
    kpi_event_t ev = sample(), out;
    uint8_t buf[512];
    size_t len;
    CHECK_ERR(ERR_OK, kpi_event_encode(&ev, buf, sizeof(buf), &len));
    /* Every truncation is refused, never read past. */
    for (size_t n = 0; n < len; n++) {
        if (kpi_event_decode(buf, n, &out) != ERR_STORE_CORRUPT)
            TEST_FAIL_("truncation to %zu bytes accepted", n);
    }
    uint8_t copy[512];
    memcpy(copy, buf, len);
    copy[0] = 9; /* encoding version */
    CHECK_ERR(ERR_STORE_CORRUPT, kpi_event_decode(copy, len, &out));
    memcpy(copy, buf, len);
    copy[1] = KPI_EV_COUNT; /* type */
    CHECK_ERR(ERR_STORE_CORRUPT, kpi_event_decode(copy, len, &out));
    memcpy(copy, buf, len);
    copy[len - 1] = 'x'; /* last string's terminator */
    CHECK_ERR(ERR_STORE_CORRUPT, kpi_event_decode(copy, len, &out));
    memcpy(copy, buf, len);
    copy[len] = 0; /* trailing garbage */
    CHECK_ERR(ERR_STORE_CORRUPT, kpi_event_decode(copy, len + 1, &out));
}

/* Found by fuzz_event_decode: records the encoder never writes (an empty or
   too long id, a NUL inside a string) are damage, not events. */
static void test_corrupt_strings(void)
{
    static const char long_id[KPI_ID_MAX + 2] =
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    const char *ids[] = {"", long_id, long_id + 1};
    err_t want[] = {ERR_STORE_CORRUPT, ERR_STORE_CORRUPT, ERR_OK};
    for (size_t i = 0; i < 3; i++) {
        kpi_event_t ev = sample(), out;
        ev.id = ids[i];
        uint8_t buf[1024];
        size_t len;
        test_current_ = ids[i];
        CHECK_ERR(ERR_OK, kpi_event_encode(&ev, buf, sizeof(buf), &len));
        CHECK_ERR(want[i], kpi_event_decode(buf, len, &out));
    }
    kpi_event_t ev = sample(), out;
    ev.party = "AB";
    uint8_t buf[512];
    size_t len;
    CHECK_ERR(ERR_OK, kpi_event_encode(&ev, buf, sizeof(buf), &len));
    uint8_t *ab = NULL;
    for (size_t i = 0; ab == NULL && i + 3 <= len; i++)
        if (memcmp(buf + i, "AB", 3) == 0)
            ab = buf + i;
    REQUIRE(ab != NULL);
    ab[0] = 0; /* "\0B": the length still matches, a NUL inside */
    CHECK_ERR(ERR_STORE_CORRUPT, kpi_event_decode(buf, len, &out));
}

static void test_copy(void)
{
    kpi_arena_t *a = NULL;
    REQUIRE(kpi_arena_new(1 << 20, &a) == ERR_OK);
    kpi_event_t ev = sample(), c;
    char party[] = "Temp";
    ev.party = party;
    CHECK_ERR(ERR_OK, kpi_event_copy(a, &ev, &c));
    party[0] = 'X'; /* the copy does not share the caller's strings */
    CHECK_STR("Temp", c.party);
    CHECK_STR("e-1", c.id);
    CHECK(c.ref == NULL);
    kpi_arena_free(a);
    /* A full arena: ERR_NOMEM. */
    REQUIRE(kpi_arena_new(8, &a) == ERR_OK);
    CHECK_ERR(ERR_NOMEM, kpi_event_copy(a, &ev, &c));
    kpi_arena_free(a);
}

static void test_sides_and_names(void)
{
    CHECK(kpi_ev_is_payable(KPI_EV_BILL_RECEIVED));
    CHECK(kpi_ev_is_payable(KPI_EV_BILL_PAID));
    CHECK(!kpi_ev_is_payable(KPI_EV_INVOICE_ISSUED));
    CHECK(!kpi_ev_is_payable(KPI_EV_INQUIRY_RESOLVED));
    CHECK(!kpi_ev_is_payable(KPI_EV_NONE));
    size_t n = 0;
    const char *const *names = kpi_ev_type_names(&n);
    CHECK_INT(KPI_EV_COUNT - 1, n);
    CHECK_STR("invoice.issued", names[0]);
    CHECK_STR("vendor.updated", names[n - 1]);
    CHECK(!kpi_ev_is_payable(KPI_EV_FX_RATE));
    CHECK(kpi_ev_is_payable(KPI_EV_VENDOR_UPDATED));
    CHECK(!kpi_ev_is_payable(KPI_EV_CUSTOMER_UPDATED));
    CHECK(kpi_ev_is_profile(KPI_EV_CUSTOMER_UPDATED) && kpi_ev_is_profile(KPI_EV_VENDOR_UPDATED));
    CHECK(!kpi_ev_is_profile(KPI_EV_CREDIT_LIMIT_SET));
}

/* A profile's three optional strings are encoded only with KPI_EVF_PROFILE:
   an event logged before they existed decodes unchanged, and a profile
   round-trips with any of them absent. */
static void test_profile_encoding(void)
{
    kpi_event_t ev = {.type = KPI_EV_CUSTOMER_UPDATED,
                      .id = "p-1",
                      .business_unit = "emea",
                      .party = "CUST-1",
                      .text = "Müller GmbH",
                      .email = "ap@mueller.example",
                      .segment = "enterprise",
                      .flags = KPI_EVF_PROFILE};
    uint8_t buf[512], plain[512];
    size_t len = 0, plen = 0;
    CHECK_ERR(ERR_OK, kpi_event_encode(&ev, buf, sizeof buf, &len));
    kpi_event_t back;
    CHECK_ERR(ERR_OK, kpi_event_decode(buf, len, &back));
    CHECK(same(&ev, &back));
    CHECK(back.country == NULL);
    CHECK_STR("ap@mueller.example", back.email);
    /* Without the flag the strings are not written, whatever the fields hold. */
    kpi_event_t bare = ev;
    bare.flags = 0;
    CHECK_ERR(ERR_OK, kpi_event_encode(&bare, plain, sizeof plain, &plen));
    CHECK(plen < len);
    CHECK_ERR(ERR_OK, kpi_event_decode(plain, plen, &back));
    CHECK(back.email == NULL && back.segment == NULL);
    CHECK_STR("Müller GmbH", back.text);
    /* The flag promises three strings: cut short, or absent, is damage. */
    CHECK_ERR(ERR_STORE_CORRUPT, kpi_event_decode(buf, len - 1, &back));
    plain[2] |= KPI_EVF_PROFILE;
    CHECK_ERR(ERR_STORE_CORRUPT, kpi_event_decode(plain, plen, &back));
    /* A copy keeps them. */
    kpi_arena_t *a = NULL;
    REQUIRE(kpi_arena_new(1 << 16, &a) == ERR_OK);
    kpi_event_t c;
    CHECK_ERR(ERR_OK, kpi_event_copy(a, &ev, &c));
    CHECK(same(&ev, &c) && c.email != ev.email);
    kpi_arena_free(a);
}

int main(void)
{
    RUN(test_sides_and_names);
    RUN(test_type_names);
    RUN(test_doc_kinds);
    RUN(test_round_trip);
    RUN(test_same_content_same_bytes);
    RUN(test_corrupt);
    RUN(test_corrupt_strings);
    RUN(test_copy);
    RUN(test_profile_encoding);
    return test_summary();
}
