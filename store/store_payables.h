/*
 * store_payables.h — the bills' open amounts (accounts payable), derived
 * beside the invoices' and read the same way. Internal to store/ (it takes
 * LMDB handles); the public face is store_query_ap.h.
 *
 * Two databases of their own, so that no receivables answer can ever read
 * a bill (and a bill number may equal an invoice number):
 *
 *   d_ap_open  cur[3] unit u32 party u32 basis u8 basis_day eff_day
 *                                      -> cumulative {amount, count}, packed
 *              exactly d_open's layout (store_derive.h), with basis 0 = the
 *              bill's due day and 1 = its receipt day, the party a vendor;
 *              read with derive_steps_groups, one seek per basis day
 *   d_ap_tl    bill number NUL day     -> int64 delta of the bill's open amount
 *
 * A bill's open amount is its received amount minus its payments
 * (bill.paid, partial or whole), each payment counted from
 * max(its day, the receipt day), as DPO's AP is (docs/kpi.md). A rejection
 * or escalation is a review outcome, not a cancellation: the bill is still
 * owed and stays open, so the aging's total is DPO's AP. Like the invoices',
 * a bill's contribution (amount, and the 0/1 "is open" count) is diffed
 * against its old timeline on every movement, so the rows are a function of
 * the set of events: any arrival order and a rebuild give the same rows.
 *
 * These rows are written straight to LMDB inside the batch's transaction
 * (neither database goes through the write cache): bills are a small part
 * of a book, and a movement touches 8 prefixes.
 */
#ifndef KPID_STORE_PAYABLES_H
#define KPID_STORE_PAYABLES_H

#include <stdbool.h>
#include <stdint.h>

#include <lmdb.h>

#include "err.h"
#include "store_derive.h"

/* Open (creating when `create`) d_ap_open and d_ap_tl into d. A store
   without them is format 3 (store_upgrade converts it): ERR_STORE_CORRUPT. */
err_t derive_ap_open(derive_t *d, MDB_txn *txn, bool create, err_msg_t *msg) KPID_MUST_USE;

/* Empty both (rebuild, upgrade). */
err_t derive_ap_clear(const derive_t *d, MDB_txn *txn, err_msg_t *msg) KPID_MUST_USE;

/* What a movement needs of its bill (borrowed for the call). */
typedef struct derive_bill {
    const char *number;
    const char *cur; /* 3 letters */
    uint32_t unit, party;
    int32_t due_day, recv_day;
} derive_bill_t;

/* Change the bill's open amount by x from day eff on (received: +amount on
   the receipt day; paid: -amount). ERR_OVERFLOW when a sum would leave
   int64; LMDB failures as derive_apply's. */
err_t derive_ap_move(const derive_t *d, MDB_txn *txn, const derive_bill_t *b, int32_t eff,
                     int64_t x, err_msg_t *msg) KPID_MUST_USE;

/* Vendors (ids, ascending) with bills under (currency, unit; 0 = all). */
err_t derive_ap_parties(const derive_t *d, MDB_txn *txn, const char currency[4], uint32_t unit,
                        derive_id_fn fn, void *ctx) KPID_MUST_USE;

/* Whether (currency, unit, party; 0 = all) has any bill. */
err_t derive_ap_has(const derive_t *d, MDB_txn *txn, const derive_scope_t *sc,
                    bool *has) KPID_MUST_USE;

#endif
