/*
 * kpi_event.h — the event model shared by every module.
 *
 * A kpi_event_t is one validated business event of docs/events.md in normalized
 * form. The collector builds it from JSON/CSV, the store keeps its binary
 * encoding (kpi_event_encode) in the event log, and the API renders it back.
 *
 * Field mapping by type (doc = the event's own document, ref = the invoice it
 * points at):
 *
 *   type                 doc            ref       party     amount         other
 *   invoice.issued       invoice        -         customer  > 0            due_day|terms_days,
 * billing_due_day invoice.reviewed     invoice        -         -         -              result
 *   invoice.adjusted     invoice        -         -         signed, != 0   text = reason
 *   credit_note.issued   credit_note    [invoice] customer  > 0
 *   payment.received     payment        -         customer  > 0            method
 *   payment.applied      payment        invoice   -         > 0
 *   payment.refunded     payment        -         -         > 0
 *   invoice.written_off  invoice        -         -         > 0            text = reason
 *   dispute.opened       dispute        invoice   -         [>= 0]         text = reason
 *   dispute.resolved     dispute        invoice   -         [>= 0]         text = resolution
 *   credit.limit_set     -              -         customer  >= 0
 *   credit.hold_set      -              -         customer  -              text = reason
 *   credit.hold_released -              -         customer  -              text = reason
 *   inquiry.opened       inquiry        [invoice] customer  -
 *   inquiry.resolved     inquiry        [invoice] customer  -
 *   bill.received        bill           -         vendor    > 0            due_day|terms_days
 *   bill.rejected        bill           -         -         -              text = reason
 *   bill.escalated       bill           -         -         -              text = reason
 *   bill.processed       bill           -         -         -
 *   bill.paid            bill           -         -         > 0
 *   fx.rate              -              -         -         rate > 0       currency, text = source
 *   customer.updated     -              -         customer  -              text = name, profile
 *   vendor.updated       -              -         vendor    -              text = name, profile
 *
 * An fx.rate carries its rate (kpi_fx.h: units of 10^-10 of the base
 * currency per unit of `currency`) in amount_minor, with KPI_EVF_AMOUNT;
 * its `time` is the date the rate is for (date-only).
 *
 * A party's profile (customer.updated, vendor.updated) carries its display
 * name in `text` and the optional email, country (ISO 3166 alpha-2) and
 * segment, with KPI_EVF_PROFILE when any of those three is set.
 *
 * A party given on an event where it is optional is kept (party may be set
 * on any type), but KPIs file movements under their document's party and
 * business unit (docs/kpi.md conventions).
 *
 * Strings are NUL-terminated UTF-8 without embedded NULs. Who owns them
 * depends on who filled the struct (documented at each producer).
 */
#ifndef KPID_KPI_EVENT_H
#define KPID_KPI_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "kpi_arena.h"

typedef enum kpi_ev_type {
    KPI_EV_NONE = 0,
    KPI_EV_INVOICE_ISSUED,
    KPI_EV_INVOICE_REVIEWED,
    KPI_EV_INVOICE_ADJUSTED,
    KPI_EV_CREDIT_NOTE_ISSUED,
    KPI_EV_PAYMENT_RECEIVED,
    KPI_EV_PAYMENT_APPLIED,
    KPI_EV_PAYMENT_REFUNDED,
    KPI_EV_INVOICE_WRITTEN_OFF,
    KPI_EV_DISPUTE_OPENED,
    KPI_EV_DISPUTE_RESOLVED,
    KPI_EV_CREDIT_LIMIT_SET,
    KPI_EV_CREDIT_HOLD_SET,
    KPI_EV_CREDIT_HOLD_RELEASED,
    KPI_EV_INQUIRY_OPENED,
    KPI_EV_INQUIRY_RESOLVED,
    KPI_EV_BILL_RECEIVED,
    KPI_EV_BILL_REJECTED,
    KPI_EV_BILL_ESCALATED,
    KPI_EV_BILL_PROCESSED,
    KPI_EV_BILL_PAID,
    KPI_EV_FX_RATE,
    /* The log stores the type as its number: new types go last. */
    KPI_EV_CUSTOMER_UPDATED,
    KPI_EV_VENDOR_UPDATED,
    KPI_EV_COUNT
} kpi_ev_type_t;

/* Kinds of documents an event can be about. */
typedef enum kpi_doc_kind {
    KPI_DOC_NONE = 0,
    KPI_DOC_INVOICE,
    KPI_DOC_CREDIT_NOTE,
    KPI_DOC_PAYMENT,
    KPI_DOC_DISPUTE,
    KPI_DOC_INQUIRY,
    KPI_DOC_BILL,
    KPI_DOC_COUNT
} kpi_doc_kind_t;

typedef enum kpi_review_result {
    KPI_RESULT_NONE = 0,
    KPI_RESULT_PASS,
    KPI_RESULT_FAIL
} kpi_review_result_t;

typedef enum kpi_pay_method {
    KPI_METHOD_NONE = 0,
    KPI_METHOD_CHECK,
    KPI_METHOD_EFT,
    KPI_METHOD_WIRE,
    KPI_METHOD_CARD,
    KPI_METHOD_OTHER
} kpi_pay_method_t;

/* Bits of kpi_event_t.flags */
enum {
    KPI_EVF_DATE_ONLY = 1u << 0,   /* `time` was a plain date: see date_day */
    KPI_EVF_AMOUNT = 1u << 1,      /* amount_minor is set */
    KPI_EVF_DUE = 1u << 2,         /* due_day is set */
    KPI_EVF_TERMS = 1u << 3,       /* terms_days is set */
    KPI_EVF_BILLING_DUE = 1u << 4, /* billing_due_day is set */
    KPI_EVF_PROFILE = 1u << 5,     /* email, country, segment are encoded */
};

typedef struct kpi_event {
    kpi_ev_type_t type;
    uint32_t flags;            /* KPI_EVF_* */
    uint8_t result;            /* kpi_review_result_t, invoice.reviewed only */
    uint8_t method;            /* kpi_pay_method_t, payment.received only */
    char currency[4];          /* ISO 4217 code as given, NUL-terminated; ""
                                  when the event named none. The store resolves
                                  "": the document's currency for events about
                                  an existing document, else the base currency */
    int64_t time_s;            /* UTC instant it happened. For a date-only time:
                                  00:00 of date_day in the reporting zone at
                                  ingest */
    int32_t date_day;          /* days since epoch; valid with KPI_EVF_DATE_ONLY */
    int64_t amount_minor;      /* minor units of `currency`; KPI_EVF_AMOUNT */
    int32_t due_day;           /* days since epoch; KPI_EVF_DUE */
    int32_t terms_days;        /* calendar days from issue day; KPI_EVF_TERMS, >= 0 */
    int32_t billing_due_day;   /* days since epoch; KPI_EVF_BILLING_DUE */
    const char *id;            /* event id, 1..128 bytes; never NULL */
    const char *business_unit; /* never NULL; "" when not given. The store
                                  resolves "": the document's unit for events
                                  about an existing document, else "default" */
    const char *party;         /* customer or vendor, or NULL */
    const char *doc;           /* the event's own document number, or NULL */
    const char *ref;           /* referenced invoice number, or NULL */
    const char *text;          /* reason / resolution, or NULL */
    const char *extra;         /* compact JSON object of unknown fields, or NULL */
    const char *email;         /* *.updated: the party's e-mail, or NULL */
    const char *country;       /* *.updated: ISO 3166 alpha-2 code, or NULL */
    const char *segment;       /* *.updated: a grouping of parties, or NULL */
} kpi_event_t;

#define KPI_ID_MAX 128      /* bytes of an event id */
#define KPI_NAME_MAX 256    /* bytes of a business unit, party or document number */
#define KPI_TEXT_MAX 4096   /* bytes of a reason / resolution */
#define KPI_EXTRA_MAX 65536 /* bytes of the unknown-fields JSON */
#define KPI_EMAIL_MAX 254   /* bytes of a party's e-mail address */

/* "invoice.issued" etc.; "" for KPI_EV_NONE or out-of-range values. */
const char *kpi_ev_type_name(kpi_ev_type_t t);
/* Exact match of len bytes against the type names; ERR_UNKNOWN_TYPE otherwise. */
err_t kpi_ev_type_parse(const char *s, size_t len, kpi_ev_type_t *out) KPID_MUST_USE;

/* true for the payables events (bill.*, vendor.updated: their party is a
   vendor); false for the receivables ones (their party is a customer). */
bool kpi_ev_is_payable(kpi_ev_type_t t);
/* The type names, kpi_ev_type_name(1 .. KPI_EV_COUNT-1), for suggestions. */
const char *const *kpi_ev_type_names(size_t *n);

/* true for customer.updated and vendor.updated (a party's profile). */
bool kpi_ev_is_profile(kpi_ev_type_t t);

/* The kind of the event's own document (`doc`), KPI_DOC_NONE for credit.*. */
kpi_doc_kind_t kpi_ev_doc_kind(kpi_ev_type_t t);
/* true for the events that create their document (invoice.issued,
   credit_note.issued, payment.received, dispute.opened, inquiry.opened,
   bill.received). */
bool kpi_ev_creates_doc(kpi_ev_type_t t);
/* "invoice", "credit_note", ... (the JSON field name of that document). */
const char *kpi_doc_kind_name(kpi_doc_kind_t k);

/* "pass"/"fail" and "check"/"eft"/"wire"/"card"/"other"; "" for NONE. */
const char *kpi_result_name(kpi_review_result_t r);
const char *kpi_method_name(kpi_pay_method_t m);

/*
 * Binary encoding for storage. The encoding is a pure function of the
 * event's content: two events are "the same content" exactly when their
 * encodings are equal (the store's duplicate test relies on this).
 *
 * kpi_event_encode writes at most `cap` bytes into buf and the length into
 * *len_out; with buf == NULL or a too small cap it returns ERR_TOO_LARGE and
 * still sets *len_out to the size needed.
 *
 * kpi_event_decode fills *out with strings pointing INTO buf (borrowed: valid
 * as long as buf is). ERR_STORE_CORRUPT when buf is not a valid encoding.
 */
err_t kpi_event_encode(const kpi_event_t *ev, uint8_t *buf, size_t cap,
                       size_t *len_out) KPID_MUST_USE;
err_t kpi_event_decode(const uint8_t *buf, size_t len, kpi_event_t *out) KPID_MUST_USE;

/*
 * Deep copy of ev whose strings are allocated in arena; the copy lives as
 * long as the arena. ERR_NOMEM when the arena's cap is reached.
 */
err_t kpi_event_copy(kpi_arena_t *arena, const kpi_event_t *ev, kpi_event_t *out) KPID_MUST_USE;

#endif
