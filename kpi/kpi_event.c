/*
 * kpi_event.c — event type vocabulary and the binary event encoding.
 *
 * Encoding (version 1), all integers little-endian base-128 varints, signed
 * ones zigzag-mapped:
 *
 *   u8   1 (encoding version)
 *   u8   type
 *   u8   flags (KPI_EVF_* bits; unknown bits are dropped)
 *   u8   result, u8 method
 *   3    currency code bytes, zero-filled when not given
 *   sv   time_s
 *   sv   date_day          only with KPI_EVF_DATE_ONLY
 *   sv   amount_minor      only with KPI_EVF_AMOUNT
 *   sv   due_day           only with KPI_EVF_DUE
 *   sv   terms_days        only with KPI_EVF_TERMS
 *   sv   billing_due_day   only with KPI_EVF_BILLING_DUE
 *   7 strings in the order id, business_unit, party, doc, ref, text, extra:
 *        uv 0 for NULL, else len + 1, then len bytes, then a NUL byte
 *   3 strings email, country, segment   only with KPI_EVF_PROFILE
 *
 * KPI_EVF_PROFILE came with customer.updated and vendor.updated: an event
 * logged before them never has it, so its bytes decode as they always did.
 *
 * What must stay true: the encoding is a pure function of the event's
 * content (fields a flag says are absent are never written), so the store
 * can test "same content" by comparing bytes; and each string is followed by
 * a NUL inside the buffer, so decode can hand out pointers into it.
 */
#include "kpi_event.h"

#include <string.h>

static const char *const type_names[KPI_EV_COUNT] = {
    [KPI_EV_NONE] = "",
    [KPI_EV_INVOICE_ISSUED] = "invoice.issued",
    [KPI_EV_INVOICE_REVIEWED] = "invoice.reviewed",
    [KPI_EV_INVOICE_ADJUSTED] = "invoice.adjusted",
    [KPI_EV_CREDIT_NOTE_ISSUED] = "credit_note.issued",
    [KPI_EV_PAYMENT_RECEIVED] = "payment.received",
    [KPI_EV_PAYMENT_APPLIED] = "payment.applied",
    [KPI_EV_PAYMENT_REFUNDED] = "payment.refunded",
    [KPI_EV_INVOICE_WRITTEN_OFF] = "invoice.written_off",
    [KPI_EV_DISPUTE_OPENED] = "dispute.opened",
    [KPI_EV_DISPUTE_RESOLVED] = "dispute.resolved",
    [KPI_EV_CREDIT_LIMIT_SET] = "credit.limit_set",
    [KPI_EV_CREDIT_HOLD_SET] = "credit.hold_set",
    [KPI_EV_CREDIT_HOLD_RELEASED] = "credit.hold_released",
    [KPI_EV_INQUIRY_OPENED] = "inquiry.opened",
    [KPI_EV_INQUIRY_RESOLVED] = "inquiry.resolved",
    [KPI_EV_BILL_RECEIVED] = "bill.received",
    [KPI_EV_BILL_REJECTED] = "bill.rejected",
    [KPI_EV_BILL_ESCALATED] = "bill.escalated",
    [KPI_EV_BILL_PROCESSED] = "bill.processed",
    [KPI_EV_BILL_PAID] = "bill.paid",
    [KPI_EV_FX_RATE] = "fx.rate",
    [KPI_EV_CUSTOMER_UPDATED] = "customer.updated",
    [KPI_EV_VENDOR_UPDATED] = "vendor.updated",
};

const char *kpi_ev_type_name(kpi_ev_type_t t)
{
    if ((int)t < 0 || t >= KPI_EV_COUNT)
        return "";
    return type_names[t];
}

bool kpi_ev_is_payable(kpi_ev_type_t t)
{
    return (t >= KPI_EV_BILL_RECEIVED && t <= KPI_EV_BILL_PAID) || t == KPI_EV_VENDOR_UPDATED;
}

bool kpi_ev_is_profile(kpi_ev_type_t t)
{
    return t == KPI_EV_CUSTOMER_UPDATED || t == KPI_EV_VENDOR_UPDATED;
}

const char *const *kpi_ev_type_names(size_t *n)
{
    *n = KPI_EV_COUNT - 1;
    return type_names + 1;
}

err_t kpi_ev_type_parse(const char *s, size_t len, kpi_ev_type_t *out)
{
    for (int t = KPI_EV_NONE + 1; t < KPI_EV_COUNT; t++) {
        const char *n = type_names[t];
        if (strlen(n) == len && memcmp(n, s, len) == 0) {
            *out = (kpi_ev_type_t)t;
            return ERR_OK;
        }
    }
    return ERR_UNKNOWN_TYPE;
}

kpi_doc_kind_t kpi_ev_doc_kind(kpi_ev_type_t t)
{
    switch (t) {
    case KPI_EV_INVOICE_ISSUED:
    case KPI_EV_INVOICE_REVIEWED:
    case KPI_EV_INVOICE_ADJUSTED:
    case KPI_EV_INVOICE_WRITTEN_OFF: return KPI_DOC_INVOICE;
    case KPI_EV_CREDIT_NOTE_ISSUED: return KPI_DOC_CREDIT_NOTE;
    case KPI_EV_PAYMENT_RECEIVED:
    case KPI_EV_PAYMENT_APPLIED:
    case KPI_EV_PAYMENT_REFUNDED: return KPI_DOC_PAYMENT;
    case KPI_EV_DISPUTE_OPENED:
    case KPI_EV_DISPUTE_RESOLVED: return KPI_DOC_DISPUTE;
    case KPI_EV_INQUIRY_OPENED:
    case KPI_EV_INQUIRY_RESOLVED: return KPI_DOC_INQUIRY;
    case KPI_EV_BILL_RECEIVED:
    case KPI_EV_BILL_REJECTED:
    case KPI_EV_BILL_ESCALATED:
    case KPI_EV_BILL_PROCESSED:
    case KPI_EV_BILL_PAID: return KPI_DOC_BILL;
    case KPI_EV_CREDIT_LIMIT_SET:
    case KPI_EV_CREDIT_HOLD_SET:
    case KPI_EV_CREDIT_HOLD_RELEASED:
    case KPI_EV_FX_RATE:
    case KPI_EV_CUSTOMER_UPDATED:
    case KPI_EV_VENDOR_UPDATED:
    case KPI_EV_NONE:
    case KPI_EV_COUNT: return KPI_DOC_NONE;
    }
    return KPI_DOC_NONE;
}

bool kpi_ev_creates_doc(kpi_ev_type_t t)
{
    return t == KPI_EV_INVOICE_ISSUED || t == KPI_EV_CREDIT_NOTE_ISSUED ||
           t == KPI_EV_PAYMENT_RECEIVED || t == KPI_EV_DISPUTE_OPENED ||
           t == KPI_EV_INQUIRY_OPENED || t == KPI_EV_BILL_RECEIVED;
}

const char *kpi_doc_kind_name(kpi_doc_kind_t k)
{
    switch (k) {
    case KPI_DOC_INVOICE: return "invoice";
    case KPI_DOC_CREDIT_NOTE: return "credit_note";
    case KPI_DOC_PAYMENT: return "payment";
    case KPI_DOC_DISPUTE: return "dispute";
    case KPI_DOC_INQUIRY: return "inquiry";
    case KPI_DOC_BILL: return "bill";
    case KPI_DOC_NONE:
    case KPI_DOC_COUNT: return "";
    }
    return "";
}

const char *kpi_result_name(kpi_review_result_t r)
{
    switch (r) {
    case KPI_RESULT_PASS: return "pass";
    case KPI_RESULT_FAIL: return "fail";
    case KPI_RESULT_NONE: return "";
    }
    return "";
}

const char *kpi_method_name(kpi_pay_method_t m)
{
    switch (m) {
    case KPI_METHOD_CHECK: return "check";
    case KPI_METHOD_EFT: return "eft";
    case KPI_METHOD_WIRE: return "wire";
    case KPI_METHOD_CARD: return "card";
    case KPI_METHOD_OTHER: return "other";
    case KPI_METHOD_NONE: return "";
    }
    return "";
}

/* ---- encoding ---------------------------------------------------------- */

#define ENC_VERSION 1
#define FLAG_MASK                                                                                  \
    (KPI_EVF_DATE_ONLY | KPI_EVF_AMOUNT | KPI_EVF_DUE | KPI_EVF_TERMS | KPI_EVF_BILLING_DUE |      \
     KPI_EVF_PROFILE)

/* Writer that counts what it would write past cap, so one pass gives the size. */
typedef struct {
    uint8_t *buf;
    size_t cap;
    size_t len;
} wr_t;

static void put_byte(wr_t *w, uint8_t b)
{
    if (w->buf != NULL && w->len < w->cap)
        w->buf[w->len] = b;
    w->len++;
}

static void put_uv(wr_t *w, uint64_t v)
{
    while (v >= 0x80) {
        put_byte(w, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put_byte(w, (uint8_t)v);
}

static void put_sv(wr_t *w, int64_t v)
{
    put_uv(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void put_str(wr_t *w, const char *s)
{
    if (s == NULL) {
        put_uv(w, 0);
        return;
    }
    size_t n = strlen(s);
    put_uv(w, (uint64_t)n + 1);
    if (w->buf != NULL && w->len + n <= w->cap)
        memcpy(w->buf + w->len, s, n);
    w->len += n;
    put_byte(w, 0);
}

err_t kpi_event_encode(const kpi_event_t *ev, uint8_t *buf, size_t cap, size_t *len_out)
{
    wr_t w = {buf, cap, 0};
    uint32_t flags = ev->flags & FLAG_MASK;
    put_byte(&w, ENC_VERSION);
    put_byte(&w, (uint8_t)ev->type);
    put_byte(&w, (uint8_t)flags);
    put_byte(&w, ev->result);
    put_byte(&w, ev->method);
    bool cur_end = false; /* bytes after the code's NUL are not content */
    for (int i = 0; i < 3; i++) {
        if (ev->currency[i] == '\0')
            cur_end = true;
        put_byte(&w, cur_end ? 0 : (uint8_t)ev->currency[i]);
    }
    put_sv(&w, ev->time_s);
    if (flags & KPI_EVF_DATE_ONLY)
        put_sv(&w, ev->date_day);
    if (flags & KPI_EVF_AMOUNT)
        put_sv(&w, ev->amount_minor);
    if (flags & KPI_EVF_DUE)
        put_sv(&w, ev->due_day);
    if (flags & KPI_EVF_TERMS)
        put_sv(&w, ev->terms_days);
    if (flags & KPI_EVF_BILLING_DUE)
        put_sv(&w, ev->billing_due_day);
    put_str(&w, ev->id != NULL ? ev->id : "");
    put_str(&w, ev->business_unit != NULL ? ev->business_unit : "");
    put_str(&w, ev->party);
    put_str(&w, ev->doc);
    put_str(&w, ev->ref);
    put_str(&w, ev->text);
    put_str(&w, ev->extra);
    if (flags & KPI_EVF_PROFILE) {
        put_str(&w, ev->email);
        put_str(&w, ev->country);
        put_str(&w, ev->segment);
    }
    *len_out = w.len;
    return buf == NULL || w.len > cap ? ERR_TOO_LARGE : ERR_OK;
}

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
    bool bad;
} rd_t;

static uint8_t get_byte(rd_t *r)
{
    if (r->pos >= r->len) {
        r->bad = true;
        return 0;
    }
    return r->p[r->pos++];
}

static uint64_t get_uv(rd_t *r)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        uint8_t b = get_byte(r);
        v |= (uint64_t)(b & 0x7f) << shift;
        if ((b & 0x80) == 0)
            return v;
    }
    r->bad = true;
    return 0;
}

static int64_t get_sv(rd_t *r)
{
    uint64_t u = get_uv(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

static int32_t get_sv32(rd_t *r)
{
    int64_t v = get_sv(r);
    if (v < INT32_MIN || v > INT32_MAX) {
        r->bad = true;
        return 0;
    }
    return (int32_t)v;
}

static const char *get_str(rd_t *r)
{
    uint64_t n1 = get_uv(r);
    if (n1 == 0 || r->bad)
        return NULL;
    uint64_t n = n1 - 1;
    /* Exactly one NUL, the terminator: the encoder writes C strings, and a
       string with a NUL inside would not re-encode to the same bytes. */
    if (n >= r->len - r->pos || r->p[r->pos + n] != 0 || memchr(r->p + r->pos, 0, n) != NULL) {
        r->bad = true;
        return NULL;
    }
    const char *s = (const char *)r->p + r->pos;
    r->pos += (size_t)n + 1;
    return s;
}

err_t kpi_event_decode(const uint8_t *buf, size_t len, kpi_event_t *out)
{
    rd_t r = {buf, len, 0, false};
    memset(out, 0, sizeof(*out));
    if (get_byte(&r) != ENC_VERSION)
        return ERR_STORE_CORRUPT;
    uint8_t type = get_byte(&r);
    if (type == KPI_EV_NONE || type >= KPI_EV_COUNT)
        return ERR_STORE_CORRUPT;
    out->type = (kpi_ev_type_t)type;
    out->flags = get_byte(&r);
    if (out->flags & ~(uint32_t)FLAG_MASK)
        return ERR_STORE_CORRUPT;
    out->result = get_byte(&r);
    out->method = get_byte(&r);
    for (int i = 0; i < 3; i++)
        out->currency[i] = (char)get_byte(&r);
    out->currency[3] = '\0';
    out->time_s = get_sv(&r);
    if (out->flags & KPI_EVF_DATE_ONLY)
        out->date_day = get_sv32(&r);
    if (out->flags & KPI_EVF_AMOUNT)
        out->amount_minor = get_sv(&r);
    if (out->flags & KPI_EVF_DUE)
        out->due_day = get_sv32(&r);
    if (out->flags & KPI_EVF_TERMS)
        out->terms_days = get_sv32(&r);
    if (out->flags & KPI_EVF_BILLING_DUE)
        out->billing_due_day = get_sv32(&r);
    out->id = get_str(&r);
    out->business_unit = get_str(&r);
    out->party = get_str(&r);
    out->doc = get_str(&r);
    out->ref = get_str(&r);
    out->text = get_str(&r);
    out->extra = get_str(&r);
    if (out->flags & KPI_EVF_PROFILE) {
        out->email = get_str(&r);
        out->country = get_str(&r);
        out->segment = get_str(&r);
    }
    if (r.bad || r.pos != len || out->id == NULL || out->business_unit == NULL)
        return ERR_STORE_CORRUPT;
    /* What every reader relies on (kpi_event_t): an id of 1..KPI_ID_MAX bytes. */
    size_t id_len = strlen(out->id);
    if (id_len == 0 || id_len > KPI_ID_MAX)
        return ERR_STORE_CORRUPT;
    return ERR_OK;
}

static bool dup_str(kpi_arena_t *a, const char *s, const char **out)
{
    if (s == NULL) {
        *out = NULL;
        return true;
    }
    *out = kpi_arena_strndup(a, s, strlen(s));
    return *out != NULL;
}

err_t kpi_event_copy(kpi_arena_t *arena, const kpi_event_t *ev, kpi_event_t *out)
{
    kpi_event_t c = *ev;
    if (!dup_str(arena, ev->id, &c.id) || !dup_str(arena, ev->business_unit, &c.business_unit) ||
        !dup_str(arena, ev->party, &c.party) || !dup_str(arena, ev->doc, &c.doc) ||
        !dup_str(arena, ev->ref, &c.ref) || !dup_str(arena, ev->text, &c.text) ||
        !dup_str(arena, ev->extra, &c.extra) || !dup_str(arena, ev->email, &c.email) ||
        !dup_str(arena, ev->country, &c.country) || !dup_str(arena, ev->segment, &c.segment))
        return ERR_NOMEM;
    *out = c;
    return ERR_OK;
}
