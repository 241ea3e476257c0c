/*
 * store_doc.h — the store's record of one document (invoice, credit note,
 * payment, dispute, inquiry, bill). Internal to store/; kept in the `docs`
 * database together with the document's derived KPI state
 * (store_docset.h has the value layout).
 */
#ifndef KPID_STORE_DOC_H
#define KPID_STORE_DOC_H

#include <stdint.h>

/* The state of one document. Held decoded in memory; on disk it is packed
   (docv_encode, store_docset.h). */
typedef struct doc_rec {
    uint8_t kind;
    uint8_t exists;       /* its creating event has taken effect */
    uint8_t first_review; /* kpi_review_result_t of the earliest review */
    uint8_t pad;
    char currency[4];
    uint32_t party, unit, ref; /* interned ids; 0 = none */
    uint32_t reviews, corrections, rejections, escalations, pending_events;
    uint64_t created_seq; /* the creating event, also while it is pending */
    int64_t first_review_s;
    int32_t created_day, due_day, closed_day, pad2;
    int64_t amount, adjusted, applied, credited, written_off, refunded, paid;
    /* Payments: applications accepted while their invoice has not arrived.
       They have not taken effect (not in `applied`) but already count
       against the payment, so over-application is caught at once. */
    int64_t held;
} doc_rec_t;

/* An unknown document of this kind: nothing received, no due or closed day,
   no review. */
void store_doc_init(doc_rec_t *d, uint8_t kind);

#endif
