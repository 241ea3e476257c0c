/*
 * store_write.c — writing batches: idempotency, document rules, events that
 * arrive before their documents, the map that grows, and the rebuild.
 *
 * One item goes through: duplicate/conflict test on its id (byte-compare of
 * encodings), validation against stored documents (nothing written when it
 * fails), then the write: the log entry and id, and — when every document
 * it needs exists — its effect ("apply": documents, indexes, derived KPI
 * state). An event whose documents are missing is kept in `pending` under
 * each missing one and applied exactly once, when the last arrives.
 *
 * Rebuild replays the log in time order through the same apply/pending
 * path with validation off, which is why derived state must not depend on
 * arrival order (store_derive.h).
 */
#include "store_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi_money.h"

#define ENC_MAX (KPI_ID_MAX + 5 * KPI_NAME_MAX + KPI_TEXT_MAX + KPI_EXTRA_MAX + 256)

typedef struct wctx {
    store_t *s;
    MDB_txn *txn;
    err_msg_t *msg;
    store_batch_stats_t *stats;
    bool replay;
    uint64_t seq;
    uint64_t stream_seq; /* store_batch_opts_t.stream_seq; 0 = none */
    int64_t events_delta, pending_delta;
    int64_t docs_delta[KPI_DOC_COUNT];
    /* Per item of the batch: the events key its id already has in the log
       (read in id order before the items run), when found[i]. */
    const uint8_t (*old_keys)[EVKEY_LEN];
    const uint8_t *found;
} wctx_t;

static err_t lerr(wctx_t *w, int rc, const char *what)
{
    return store_lmdb_err(w->s, rc, what, w->msg);
}

/* ---- documents ------------------------------------------------------------- */

static void doc_init(doc_rec_t *d, kpi_doc_kind_t kind)
{
    store_doc_init(d, (uint8_t)kind);
}

/* The document's slot in the batch's set (store_docset.h). */
static int doc_slot(wctx_t *w, kpi_doc_kind_t kind, const char *number, docslot_t **sl)
{
    uint8_t k[KPI_NAME_MAX + 2];
    return docset_slot(w->s->ds, k, store_doc_key(k, kind, number), sl);
}

/* MDB_NOTFOUND leaves *d initialised as an unknown document. */
static int doc_get(wctx_t *w, kpi_doc_kind_t kind, const char *number, doc_rec_t *d)
{
    docslot_t *sl;
    int rc = doc_slot(w, kind, number, &sl);
    if (rc)
        return rc;
    if (!sl->has_rec) {
        doc_init(d, kind);
        return MDB_NOTFOUND;
    }
    *d = sl->rec;
    return 0;
}

static int doc_put(wctx_t *w, const char *number, const doc_rec_t *d)
{
    docslot_t *sl;
    int rc = doc_slot(w, (kpi_doc_kind_t)d->kind, number, &sl);
    if (rc)
        return rc;
    sl->rec = *d;
    sl->has_rec = true;
    sl->dirty = true;
    return 0;
}

/* The documents an event needs before it can take effect. */
typedef struct need {
    kpi_doc_kind_t kind;
    const char *number;
    const char *field;
} need_t;

static size_t needs_of(const kpi_event_t *ev, need_t out[2])
{
    size_t n = 0;
    kpi_doc_kind_t own = kpi_ev_doc_kind(ev->type);
    if (own != KPI_DOC_NONE && !kpi_ev_creates_doc(ev->type) && ev->doc != NULL)
        out[n++] = (need_t){own, ev->doc, kpi_doc_kind_name(own)};
    bool needs_invoice = ev->type == KPI_EV_PAYMENT_APPLIED ||
                         ev->type == KPI_EV_CREDIT_NOTE_ISSUED || ev->type == KPI_EV_DISPUTE_OPENED;
    if (needs_invoice && ev->ref != NULL)
        out[n++] = (need_t){KPI_DOC_INVOICE, ev->ref, "invoice"};
    return n;
}

/* ---- applying an event ---------------------------------------------------------- */

static int intern_opt(wctx_t *w, const char *name, uint32_t *id)
{
    *id = 0;
    if (name == NULL || name[0] == '\0')
        return 0;
    return store_name_intern(w->s, w->txn, name, id);
}

static err_t index_put(wctx_t *w, logbuf_index_t which, uint32_t id, const uint8_t *evkey)
{
    if (id == 0)
        return ERR_OK;
    int rc = logbuf_index_add(w->s->lb, which, id, evkey);
    return rc ? lerr(w, rc, "write index") : ERR_OK;
}

/* An event of the log: added by this batch, or stored. */
static int log_get(wctx_t *w, const uint8_t *evkey, MDB_val *enc)
{
    if (logbuf_event_get(w->s->lb, evkey, enc))
        return 0;
    MDB_val k = {EVKEY_LEN, (void *)evkey};
    return mdb_get(w->txn, w->s->events, &k, enc);
}

static err_t release(wctx_t *w, kpi_doc_kind_t kind, const char *number);

/* *acc += v for a document total; an event that would leave int64 is the
   item's fault (put_batch rejects it and writes the rest). */
static err_t doc_add(wctx_t *w, int64_t *acc, int64_t v, const kpi_event_t *ev)
{
    if (kpi_add_i64(acc, v) != ERR_OK)
        return err_set(w->msg, ERR_OVERFLOW, "a total of %s %s would leave the int64 range",
                       kpi_doc_kind_name(kpi_ev_doc_kind(ev->type)), ev->doc);
    return ERR_OK;
}

/* The event takes effect: documents, indexes, derived state, then the
   events that waited for a document it creates. released_by is the kind of
   document whose arrival released it (KPI_DOC_NONE: it never waited). */
static err_t apply(wctx_t *w, const kpi_event_t *ev, uint64_t seq, const uint8_t *evkey,
                   kpi_doc_kind_t released_by)
{
    int32_t day = store_ev_day(w->s, ev);
    kpi_doc_kind_t own_kind = kpi_ev_doc_kind(ev->type);
    bool creates = kpi_ev_creates_doc(ev->type);
    doc_rec_t own, inv;
    doc_init(&own, own_kind);
    doc_init(&inv, KPI_DOC_INVOICE);
    int rc = 0;
    if (own_kind != KPI_DOC_NONE && ev->doc != NULL) {
        rc = doc_get(w, own_kind, ev->doc, &own);
        if (rc && rc != MDB_NOTFOUND)
            return lerr(w, rc, "read document");
    }
    bool have_inv = false;
    if (ev->ref != NULL && own_kind != KPI_DOC_INVOICE) {
        rc = doc_get(w, KPI_DOC_INVOICE, ev->ref, &inv);
        if (rc && rc != MDB_NOTFOUND)
            return lerr(w, rc, "read invoice");
        have_inv = rc == 0 && inv.exists;
    }

    /* What the event files under: its own party/unit/currency, else its
       document's (for disputes and credit notes, the invoice's). */
    derive_ctx_t cx = {0, 0, ""};
    const doc_rec_t *from = NULL;
    if (!creates && own.exists)
        from = &own;
    else if (creates && have_inv)
        from = &inv;
    rc = intern_opt(w, ev->party, &cx.party);
    if (!rc && cx.party == 0 && from != NULL)
        cx.party = from->party;
    if (!rc)
        rc = intern_opt(w, ev->business_unit, &cx.unit);
    if (!rc && cx.unit == 0 && from != NULL)
        cx.unit = from->unit;
    if (!rc && cx.unit == 0)
        rc = store_name_intern(w->s, w->txn, "default", &cx.unit);
    if (rc)
        return lerr(w, rc, "intern names");
    if (ev->currency[0] != '\0')
        memcpy(cx.currency, ev->currency, 4);
    else if (from != NULL)
        memcpy(cx.currency, from->currency, 4);
    else
        memcpy(cx.currency, w->s->base_currency, 4);

    int64_t amt = (ev->flags & KPI_EVF_AMOUNT) ? ev->amount_minor : 0;
    bool own_dirty = own_kind != KPI_DOC_NONE, inv_dirty = false;
    if (creates) {
        own.exists = 1;
        own.created_seq = seq;
        memcpy(own.currency, cx.currency, 4);
        own.party = cx.party;
        own.unit = cx.unit;
        own.created_day = day;
        own.amount = amt;
        if (ev->ref != NULL && (rc = store_name_intern(w->s, w->txn, ev->ref, &own.ref)) != 0)
            return lerr(w, rc, "intern names");
        if (ev->flags & KPI_EVF_DUE)
            own.due_day = ev->due_day;
        else if (ev->flags & KPI_EVF_TERMS)
            own.due_day = day + ev->terms_days;
        w->docs_delta[own_kind]++;
    }
    err_t e = ERR_OK;
    switch (ev->type) {
    case KPI_EV_INVOICE_REVIEWED:
        own.reviews++;
        if (ev->time_s < own.first_review_s) {
            own.first_review_s = ev->time_s;
            own.first_review = ev->result;
        }
        break;
    case KPI_EV_INVOICE_ADJUSTED:
        e = doc_add(w, &own.adjusted, amt, ev);
        own.corrections++;
        break;
    case KPI_EV_INVOICE_WRITTEN_OFF: e = doc_add(w, &own.written_off, amt, ev); break;
    case KPI_EV_CREDIT_NOTE_ISSUED:
        if (have_inv) {
            e = doc_add(w, &inv.credited, amt, ev);
            inv.corrections++;
            inv_dirty = true;
        }
        break;
    case KPI_EV_PAYMENT_APPLIED:
        e = doc_add(w, &own.applied, amt, ev);
        /* Released by its invoice: it was counted in the payment's held
           amount since the payment existed (see hold() and release()). */
        if (!e && released_by == KPI_DOC_INVOICE)
            own.held = own.held > amt ? own.held - amt : 0;
        if (!e && have_inv) {
            e = doc_add(w, &inv.applied, amt, ev);
            inv_dirty = true;
        }
        break;
    case KPI_EV_PAYMENT_REFUNDED: e = doc_add(w, &own.refunded, amt, ev); break;
    case KPI_EV_DISPUTE_RESOLVED:
    case KPI_EV_INQUIRY_RESOLVED:
    case KPI_EV_BILL_PROCESSED:
        if (own.closed_day == INT32_MIN || day < own.closed_day)
            own.closed_day = day;
        break;
    case KPI_EV_BILL_REJECTED: own.rejections++; break;
    case KPI_EV_BILL_ESCALATED: own.escalations++; break;
    case KPI_EV_BILL_PAID: e = doc_add(w, &own.paid, amt, ev); break;
    default: break;
    }
    if (e)
        return e;
    if (own_dirty && ev->doc != NULL && (rc = doc_put(w, ev->doc, &own)) != 0)
        return lerr(w, rc, "write document");
    if (inv_dirty && (rc = doc_put(w, ev->ref, &inv)) != 0)
        return lerr(w, rc, "write document");
    e = index_put(w, LOGBUF_BY_PARTY, cx.party, evkey);
    if (!e)
        e = index_put(w, LOGBUF_BY_BU, cx.unit, evkey);
    if (!e)
        e = derive_apply(&w->s->derive, w->txn, ev, &cx, w->msg);
    if (!e && creates)
        e = release(w, own_kind, ev->doc);
    return e;
}

static bool needs_met(wctx_t *w, const need_t *nd, size_t n, int *rc)
{
    *rc = 0;
    for (size_t i = 0; i < n; i++) {
        doc_rec_t d;
        int r = doc_get(w, nd[i].kind, nd[i].number, &d);
        if (r && r != MDB_NOTFOUND) {
            *rc = r;
            return false;
        }
        if (!d.exists)
            return false;
    }
    return true;
}

static size_t pending_key(uint8_t *k, kpi_doc_kind_t kind, const char *number, const uint8_t *evkey)
{
    size_t n = store_doc_key(k, kind, number);
    k[n++] = 0;
    if (evkey != NULL) {
        memcpy(k + n, evkey, EVKEY_LEN);
        n += EVKEY_LEN;
    }
    return n;
}

/* A payment.applied waits for its invoice while its payment exists: add it
   to the payment's held amount. */
static err_t hold_amount(wctx_t *w, const kpi_event_t *ev)
{
    doc_rec_t pay;
    int rc = doc_get(w, KPI_DOC_PAYMENT, ev->doc, &pay);
    if (rc == MDB_NOTFOUND || (rc == 0 && !pay.exists))
        return ERR_OK;
    if (rc)
        return lerr(w, rc, "read document");
    err_t e = doc_add(w, &pay.held, (ev->flags & KPI_EVF_AMOUNT) ? ev->amount_minor : 0, ev);
    if (!e && (rc = doc_put(w, ev->doc, &pay)) != 0)
        e = lerr(w, rc, "write document");
    return e;
}

/* The pending events of a document that has just been created take effect
   now, each once: those still missing another document stay pending under
   that one. */
static err_t release(wctx_t *w, kpi_doc_kind_t kind, const char *number)
{
    uint8_t prefix[KPI_NAME_MAX + 2 + EVKEY_LEN];
    size_t plen = pending_key(prefix, kind, number, NULL);
    uint8_t(*keys)[EVKEY_LEN] = NULL;
    size_t n = 0, cap = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(w->txn, w->s->pending, &c);
    if (rc)
        return lerr(w, rc, "read pending");
    MDB_val kv = {plen, prefix}, v;
    err_t e = ERR_OK;
    for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        if (kv.mv_size != plen + EVKEY_LEN || memcmp(kv.mv_data, prefix, plen) != 0)
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            void *nk = realloc(keys, cap * EVKEY_LEN);
            if (nk == NULL) {
                e = err_set(w->msg, ERR_NOMEM, "out of memory");
                break;
            }
            keys = nk;
        }
        memcpy(keys[n++], (const uint8_t *)kv.mv_data + plen, EVKEY_LEN);
    }
    mdb_cursor_close(c);
    if (!e && rc && rc != MDB_NOTFOUND)
        e = lerr(w, rc, "read pending");
    uint8_t *buf = NULL;
    for (size_t i = 0; !e && i < n; i++) {
        uint8_t pk[KPI_NAME_MAX + 2 + EVKEY_LEN];
        MDB_val pkv = {pending_key(pk, kind, number, keys[i]), pk};
        rc = mdb_del(w->txn, w->s->pending, &pkv, NULL);
        MDB_val ev_v;
        if (!rc)
            rc = log_get(w, keys[i], &ev_v);
        if (rc) {
            e = lerr(w, rc, "read pending event");
            break;
        }
        /* Copy: later writes in this transaction may move the page. */
        free(buf);
        buf = malloc(ev_v.mv_size ? ev_v.mv_size : 1);
        if (buf == NULL) {
            e = err_set(w->msg, ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(buf, ev_v.mv_data, ev_v.mv_size);
        kpi_event_t ev;
        e = kpi_event_decode(buf, ev_v.mv_size, &ev);
        if (e) {
            err_set(w->msg, e, "store %s: a pending event is damaged", w->s->dir);
            break;
        }
        need_t nd[2];
        size_t nn = needs_of(&ev, nd);
        if (!needs_met(w, nd, nn, &rc)) {
            /* Still waiting for its invoice, but its payment exists from
               now on: the application counts against it. */
            if (rc)
                e = lerr(w, rc, "read document");
            else if (kind == KPI_DOC_PAYMENT && ev.type == KPI_EV_PAYMENT_APPLIED)
                e = hold_amount(w, &ev);
            continue;
        }
        e = apply(w, &ev, store_evkey_seq(keys[i]), keys[i], kind);
        w->pending_delta--;
        if (w->stats != NULL)
            w->stats->released++;
    }
    free(buf);
    free(keys);
    if (e || n == 0)
        return e;
    doc_rec_t d;
    rc = doc_get(w, kind, number, &d);
    if (rc == 0) {
        d.pending_events = 0;
        rc = doc_put(w, number, &d);
    }
    return rc ? lerr(w, rc, "write document") : ERR_OK;
}

/* Store the event (already in the log) as waiting for each missing doc.
   It is listed under the party and unit it names itself at once (apply()
   adds the ones it inherits from its document later). */
static err_t hold(wctx_t *w, const kpi_event_t *ev, const need_t *nd, size_t n,
                  const uint8_t *evkey)
{
    uint32_t party, unit;
    int rc = intern_opt(w, ev->party, &party);
    if (!rc)
        rc = intern_opt(w, ev->business_unit, &unit);
    if (rc)
        return lerr(w, rc, "intern names");
    err_t e = index_put(w, LOGBUF_BY_PARTY, party, evkey);
    if (!e)
        e = index_put(w, LOGBUF_BY_BU, unit, evkey);
    if (!e && ev->type == KPI_EV_PAYMENT_APPLIED)
        e = hold_amount(w, ev);
    if (e)
        return e;
    for (size_t i = 0; i < n; i++) {
        doc_rec_t d;
        rc = doc_get(w, nd[i].kind, nd[i].number, &d);
        if (rc && rc != MDB_NOTFOUND)
            return lerr(w, rc, "read document");
        if (d.exists)
            continue;
        uint8_t pk[KPI_NAME_MAX + 2 + EVKEY_LEN];
        MDB_val kv = {pending_key(pk, nd[i].kind, nd[i].number, evkey), pk}, v = {0, (void *)""};
        rc = mdb_put(w->txn, w->s->pending, &kv, &v, 0);
        d.pending_events++;
        if (!rc)
            rc = doc_put(w, nd[i].number, &d);
        if (rc)
            return lerr(w, rc, "write pending");
    }
    w->pending_delta++;
    return ERR_OK;
}

/* Take effect now, or wait for the missing documents. */
static err_t settle(wctx_t *w, const kpi_event_t *ev, uint64_t seq, const uint8_t *evkey,
                    bool *pending)
{
    need_t nd[2];
    size_t nn = needs_of(ev, nd);
    int rc;
    *pending = false;
    if (kpi_ev_creates_doc(ev->type)) {
        /* Claim the number now, so a second creator is a conflict even
           while this one waits for its invoice. */
        doc_rec_t d;
        rc = doc_get(w, kpi_ev_doc_kind(ev->type), ev->doc, &d);
        if (rc && rc != MDB_NOTFOUND)
            return lerr(w, rc, "read document");
        if (d.created_seq == 0) {
            d.created_seq = seq;
            if ((rc = doc_put(w, ev->doc, &d)) != 0)
                return lerr(w, rc, "write document");
        }
    }
    if (needs_met(w, nd, nn, &rc))
        return apply(w, ev, seq, evkey, KPI_DOC_NONE);
    if (rc)
        return lerr(w, rc, "read document");
    *pending = true;
    return hold(w, ev, nd, nn, evkey);
}

/* ---- validation ------------------------------------------------------------------- */

typedef struct verdict {
    err_t code;
    const char *field;
    char message[224];
} verdict_t;

static bool reject(verdict_t *v, err_t code, const char *field, const char *fmt, ...)
    KPID_PRINTF(4, 5);

static bool reject(verdict_t *v, err_t code, const char *field, const char *fmt, ...)
{
    v->code = code;
    v->field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->message, sizeof v->message, fmt, ap);
    va_end(ap);
    return false;
}

static int digits_of(const char *cur, int fallback)
{
    int d;
    return kpi_currency_digits(cur, &d) == ERR_OK ? d : fallback;
}

/* Currency agreement between an event and a document it moves. */
static bool currency_ok(wctx_t *w, const kpi_event_t *ev, const doc_rec_t *d, const char *what,
                        const char *number, verdict_t *v)
{
    if (!d->exists)
        return true;
    if (ev->currency[0] != '\0' && strcmp(ev->currency, d->currency) != 0)
        return reject(v, ERR_CURRENCY_MISMATCH, "currency", "%s %s is in %s, the event in %s", what,
                      number, d->currency, ev->currency);
    if (ev->currency[0] == '\0' && (ev->flags & KPI_EVF_AMOUNT) &&
        digits_of(d->currency, 2) != w->s->base_digits)
        return reject(v, ERR_CURRENCY_MISMATCH, "currency",
                      "%s %s is in %s; name the currency so the amount is read with its "
                      "digits",
                      what, number, d->currency);
    return true;
}

/* A movement counts under its document's business unit (for a credit note
   or dispute against an invoice, the invoice's): one naming another unit
   would be listed in one unit's log and counted in the other's KPIs, so it
   is refused. A payment applied to an invoice of another unit is not a
   mismatch: cash applied counts on each side under that side's unit. */
static bool unit_ok(wctx_t *w, const kpi_event_t *ev, const doc_rec_t *d, const char *what,
                    const char *number, verdict_t *v, int *rc)
{
    if (!d->exists || ev->business_unit == NULL || ev->business_unit[0] == '\0')
        return true;
    uint32_t id = 0;
    *rc = store_name_get(w->s, w->txn, ev->business_unit, &id);
    if (*rc == MDB_NOTFOUND)
        *rc = 0;
    if (*rc)
        return false;
    if (id == d->unit)
        return true;
    const char *name = "";
    if (d->unit != 0 && store_name_str(w->s, w->txn, d->unit, &name) != 0)
        name = "";
    return reject(v, ERR_UNIT_MISMATCH, "business_unit",
                  "%s %.100s is in business unit '%.100s', the event names '%.100s'; a "
                  "movement counts under its document's unit",
                  what, number, name, ev->business_unit);
}

/* Rules that need stored state. false (and *v) when the event is refused. */
static bool validate(wctx_t *w, const kpi_event_t *ev, const store_batch_opts_t *o, verdict_t *v,
                     int *rc)
{
    *rc = 0;
    kpi_doc_kind_t kind = kpi_ev_doc_kind(ev->type);
    doc_rec_t own, inv;
    doc_init(&own, kind);
    doc_init(&inv, KPI_DOC_INVOICE);
    if (kind != KPI_DOC_NONE && ev->doc != NULL) {
        *rc = doc_get(w, kind, ev->doc, &own);
        if (*rc == MDB_NOTFOUND)
            *rc = 0;
        if (*rc)
            return false;
    }
    if (ev->ref != NULL) {
        *rc = doc_get(w, KPI_DOC_INVOICE, ev->ref, &inv);
        if (*rc == MDB_NOTFOUND)
            *rc = 0;
        if (*rc)
            return false;
    }
    const char *kname = kpi_doc_kind_name(kind);
    if (kpi_ev_creates_doc(ev->type) && own.created_seq != 0)
        return reject(v, ERR_DOC_CONFLICT, kname,
                      "%s %s already exists (created by another event); a correction is a "
                      "new event",
                      kname, ev->doc);
    if (!kpi_ev_creates_doc(ev->type) && !currency_ok(w, ev, &own, kname, ev->doc, v))
        return false;
    if (!kpi_ev_creates_doc(ev->type) && !unit_ok(w, ev, &own, kname, ev->doc, v, rc))
        return false;
    if (kpi_ev_creates_doc(ev->type) && ev->ref != NULL &&
        !unit_ok(w, ev, &inv, "invoice", ev->ref, v, rc))
        return false;
    if ((ev->type == KPI_EV_PAYMENT_APPLIED || ev->type == KPI_EV_CREDIT_NOTE_ISSUED) &&
        ev->ref != NULL) {
        if (!currency_ok(w, ev, &inv, "invoice", ev->ref, v))
            return false;
        if (ev->type == KPI_EV_PAYMENT_APPLIED && own.exists && inv.exists &&
            strcmp(own.currency, inv.currency) != 0)
            return reject(v, ERR_CURRENCY_MISMATCH, "currency",
                          "payment %s is in %s, invoice %s in %s", ev->doc, own.currency, ev->ref,
                          inv.currency);
    }
    if ((ev->type == KPI_EV_PAYMENT_APPLIED || ev->type == KPI_EV_PAYMENT_REFUNDED) && own.exists) {
        /* Applications still waiting for their invoice count too. */
        int64_t used = own.applied;
        bool over =
            kpi_add_i64(&used, own.refunded) != ERR_OK || kpi_add_i64(&used, own.held) != ERR_OK;
        int64_t total = used;
        over = over || kpi_add_i64(&total, ev->amount_minor) != ERR_OK || total > own.amount;
        if (over) {
            int d = digits_of(own.currency, w->s->base_digits);
            char a[KPI_AMOUNT_BUF], b[KPI_AMOUNT_BUF], c[KPI_AMOUNT_BUF];
            return reject(v, ERR_OVER_APPLIED, "amount",
                          "payment %s received %s, %s already applied or refunded; %s more "
                          "exceeds it",
                          ev->doc, kpi_amount_format(own.amount, d, a),
                          kpi_amount_format(used, d, b), kpi_amount_format(ev->amount_minor, d, c));
        }
    }
    if (o != NULL && o->strict_refs) {
        need_t nd[2];
        size_t nn = needs_of(ev, nd);
        for (size_t i = 0; i < nn; i++) {
            doc_rec_t d;
            *rc = doc_get(w, nd[i].kind, nd[i].number, &d);
            if (*rc && *rc != MDB_NOTFOUND)
                return false;
            *rc = 0;
            if (!d.exists)
                return reject(v, ERR_UNKNOWN_DOC, nd[i].field, "unknown %s %s",
                              kpi_doc_kind_name(nd[i].kind), nd[i].number);
        }
    }
    return true;
}

static bool name_ok(const char *name, bool required, const char *field, verdict_t *v)
{
    if (name == NULL || name[0] == '\0')
        return !required || reject(v, ERR_MISSING_FIELD, field, "%s is required", field);
    if (strlen(name) > KPI_NAME_MAX)
        return reject(v, ERR_TOO_LARGE, field, "%s is longer than %d bytes", field, KPI_NAME_MAX);
    return true;
}

/* What the store itself relies on, whoever built the event (the collector
   checks all of it and more): a known type, an id and names that fit LMDB
   keys, the document numbers that the type needs. */
static bool check_shape(const kpi_event_t *ev, verdict_t *v)
{
    if (ev->type <= KPI_EV_NONE || ev->type >= KPI_EV_COUNT)
        return reject(v, ERR_UNKNOWN_TYPE, "type", "unknown event type %d", (int)ev->type);
    if (ev->id == NULL || ev->id[0] == '\0')
        return reject(v, ERR_MISSING_FIELD, "id", "id is required");
    if (strlen(ev->id) > KPI_ID_MAX)
        return reject(v, ERR_TOO_LARGE, "id", "id is longer than %d bytes", KPI_ID_MAX);
    kpi_doc_kind_t kind = kpi_ev_doc_kind(ev->type);
    /* credit.* and *.updated are about a party, not a document */
    bool is_credit = kind == KPI_DOC_NONE && ev->type != KPI_EV_FX_RATE;
    const char *party_field = kpi_ev_is_payable(ev->type) ? "vendor" : "customer";
    return name_ok(ev->doc, kind != KPI_DOC_NONE, kpi_doc_kind_name(kind), v) &&
           name_ok(ev->ref, ev->type == KPI_EV_PAYMENT_APPLIED, "invoice", v) &&
           name_ok(ev->party, is_credit, party_field, v) &&
           name_ok(ev->business_unit, false, "business_unit", v);
}

/* ---- one item, one batch ---------------------------------------------------------------- */

static void reject_item(wctx_t *w, store_item_result_t *r, const verdict_t *v)
{
    r->status = STORE_ITEM_REJECTED;
    r->code = v->code;
    r->field = v->field;
    snprintf(r->message, sizeof r->message, "%s", v->message);
    w->stats->rejected++;
}

/* fault: set when an earlier attempt of this batch found that applying
   this item fails on its own account (a total leaving int64). */
static err_t put_item(wctx_t *w, size_t item, const kpi_event_t *ev, const store_batch_opts_t *o,
                      uint8_t *enc, const verdict_t *fault, store_item_result_t *r)
{
    memset(r, 0, sizeof *r);
    r->field = "";
    verdict_t v;
    if (fault != NULL && fault->code != ERR_OK) {
        reject_item(w, r, fault);
        return ERR_OK;
    }
    if (!check_shape(ev, &v)) {
        reject_item(w, r, &v);
        return ERR_OK;
    }
    size_t len;
    err_t e = kpi_event_encode(ev, enc, ENC_MAX, &len);
    if (e) {
        (void)reject(&v, e, "", "event too large to store");
        reject_item(w, r, &v);
        return ERR_OK;
    }
    size_t id_len = strlen(ev->id);
    uint8_t old_key[EVKEY_LEN];
    bool seen = logbuf_id_get(w->s->lb, ev->id, id_len, old_key);
    if (!seen && w->found[item]) {
        memcpy(old_key, w->old_keys[item], EVKEY_LEN);
        seen = true;
    }
    int rc;
    if (seen) {
        MDB_val old;
        if ((rc = log_get(w, old_key, &old)) != 0)
            return lerr(w, rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc, "read event");
        if (old.mv_size == len && memcmp(old.mv_data, enc, len) == 0) {
            r->status = STORE_ITEM_DUPLICATE;
            w->stats->duplicates++;
        } else {
            r->status = STORE_ITEM_REJECTED;
            r->code = ERR_CONFLICT;
            r->field = "id";
            snprintf(r->message, sizeof r->message,
                     "event id %.100s was already stored with other content; events are "
                     "immutable, send a correction under a new id",
                     ev->id);
            w->stats->rejected++;
        }
        return ERR_OK;
    }
    if (!validate(w, ev, o, &v, &rc)) {
        if (rc)
            return lerr(w, rc, "read document");
        reject_item(w, r, &v);
        return ERR_OK;
    }
    uint64_t seq = ++w->seq;
    uint8_t key[EVKEY_LEN];
    store_evkey(key, ev->time_s, seq);
    /* The key is new (its seq was never used), and so is the id. */
    if ((rc = logbuf_event_add(w->s->lb, key, enc, len, ev->id, id_len)) != 0)
        return lerr(w, rc == EINVAL ? MDB_CORRUPTED : rc, "write event");
    w->events_delta++;
    bool pending;
    e = settle(w, ev, seq, key, &pending);
    if (e)
        return e;
    r->status = STORE_ITEM_ACCEPTED;
    r->pending = pending;
    w->stats->accepted++;
    if (pending)
        w->stats->pending++;
    return ERR_OK;
}

static err_t meta_flush(wctx_t *w)
{
    store_t *s = w->s;
    int rc = store_meta_put_u64(s, w->txn, "seq", w->seq);
    if (!rc)
        rc = store_meta_put_u64(s, w->txn, "events",
                                store_meta_u64(s, w->txn, "events") + (uint64_t)w->events_delta);
    if (!rc)
        rc = store_meta_put_u64(s, w->txn, "pending",
                                store_meta_u64(s, w->txn, "pending") + (uint64_t)w->pending_delta);
    uint64_t docs[KPI_DOC_COUNT] = {0};
    MDB_val k = {4, (void *)"docs"}, v;
    if (!rc && store_tx_get(s->wc, w->txn, s->meta, &k, &v) == 0 && v.mv_size == sizeof docs)
        memcpy(docs, v.mv_data, sizeof docs);
    for (size_t i = 0; i < KPI_DOC_COUNT; i++)
        docs[i] += (uint64_t)w->docs_delta[i];
    v.mv_size = sizeof docs;
    v.mv_data = docs;
    if (!rc)
        rc = store_tx_put(s->wc, w->txn, s->meta, &k, &v);
    /* With the batch, in its transaction: a commit is exactly "applied up
       to here" (store.h). Never lowered: a redelivered older message that
       is re-applied must not move it back. */
    if (!rc && w->stream_seq > store_meta_u64(s, w->txn, "stream_seq"))
        rc = store_meta_put_u64(s, w->txn, "stream_seq", w->stream_seq);
    return rc ? lerr(w, rc, "write counters") : ERR_OK;
}

/* Double the map (no transaction of this process may be open). */
static err_t grow_map(store_t *s, err_msg_t *msg)
{
    pthread_rwlock_wrlock(&s->map_lock);
    uint64_t want = s->map_size * 2;
    int rc = mdb_env_set_mapsize(s->env, want);
    if (rc == 0)
        s->map_size = want;
    pthread_rwlock_unlock(&s->map_lock);
    if (rc)
        return err_set(msg, rc == ENOMEM ? ERR_NOMEM : ERR_DISK_FULL,
                       "store %s cannot grow to %llu MiB: %s", s->dir,
                       (unsigned long long)(want >> 20), mdb_strerror(rc));
    return ERR_OK;
}

/* Bytes a batch of n events may need beyond the pages in use: its own
   rows, and the copies of every page it touches (at most all of them). */
#define BATCH_EVENT_ROOM 4096

/* Grow the map before a batch that might not fit, so that a big batch is
   not written twice (MDB_MAP_FULL aborts it, and it runs again in the
   bigger map). Best effort: if growing fails now, the retry still works. */
static void make_room(store_t *s, size_t n)
{
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(s->env, &info) != 0 || mdb_env_stat(s->env, &st) != 0)
        return;
    uint64_t used = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
    uint64_t want = 2 * used + (uint64_t)n * BATCH_EVENT_ROOM;
    err_msg_t ignore;
    while (s->map_size < want && s->map_size < ((uint64_t)1 << 44))
        if (grow_map(s, &ignore) != ERR_OK)
            return;
}

static bool is_map_full(err_t e, int rc)
{
    return e == ERR_TOO_LARGE || rc == MDB_MAP_FULL;
}

static int ev_id_cmp(const void *a, const void *b)
{
    return strcmp((*(const kpi_event_t *const *)a)->id, (*(const kpi_event_t *const *)b)->id);
}

/* The batch's in-memory state (write cache, documents, derived-state
   caches) is attached to one write transaction at a time. */
static void batch_begin(store_t *s, MDB_txn *txn, bool direct, uint64_t seq)
{
    logbuf_begin(s->lb, seq + 1);
    wcache_begin(s->wc, txn);
    docset_begin(s->ds, txn, s->docs);
    derive_batch_begin(&s->derive, txn, direct);
}

static void batch_end(store_t *s)
{
    derive_batch_end(&s->derive);
    docset_end(s->ds);
    wcache_end(s->wc);
    logbuf_end(s->lb);
}

/* Write what the batch kept in memory into its transaction. An LMDB code. */
static int batch_flush(store_t *s, MDB_txn *txn)
{
    logbuf_dbs_t dbs = {s->events, s->ids, {s->by_party, s->by_bu}};
    int rc = logbuf_flush(s->lb, txn, &dbs);
    if (!rc)
        rc = docset_flush(s->ds);
    return rc ? rc : wcache_flush(s->wc);
}

/* For each item, the events key its id has in the log, looked up in id
   order through one cursor (found[i] 0 when none). An LMDB code. */
static int ids_prefetch(store_t *s, MDB_txn *txn, const kpi_event_t *evs, size_t n,
                        uint8_t (*keys)[EVKEY_LEN], uint8_t *found)
{
    const kpi_event_t **v = malloc((n ? n : 1) * sizeof *v);
    if (v == NULL)
        return ENOMEM;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        found[i] = 0;
        if (evs[i].id != NULL && evs[i].id[0] != '\0' && strlen(evs[i].id) <= KPI_ID_MAX)
            v[m++] = &evs[i];
    }
    qsort(v, m, sizeof *v, ev_id_cmp);
    MDB_cursor *c = NULL;
    int rc = mdb_cursor_open(txn, s->ids, &c);
    for (size_t j = 0; !rc && j < m; j++) {
        MDB_val k = {strlen(v[j]->id), (void *)v[j]->id}, d;
        int g = mdb_cursor_get(c, &k, &d, MDB_SET_KEY);
        if (g == MDB_NOTFOUND)
            continue;
        if (g == 0 && d.mv_size != EVKEY_LEN)
            g = MDB_CORRUPTED;
        if (g) {
            rc = g;
            break;
        }
        size_t i = (size_t)(v[j] - evs);
        memcpy(keys[i], d.mv_data, EVKEY_LEN);
        found[i] = 1;
    }
    if (c != NULL)
        mdb_cursor_close(c);
    free(v);
    return rc;
}

/* Read the documents the batch's events name, in key order, before the
   first event needs them (store_docset.h). An LMDB code. */
static int batch_prefetch(store_t *s, const kpi_event_t *evs, size_t n)
{
    uint8_t k[KPI_NAME_MAX + 2];
    for (size_t i = 0; i < n; i++) {
        const kpi_event_t *ev = &evs[i];
        kpi_doc_kind_t kind = ev->type > KPI_EV_NONE && ev->type < KPI_EV_COUNT
                                  ? kpi_ev_doc_kind(ev->type)
                                  : KPI_DOC_NONE;
        int rc = 0;
        if (kind != KPI_DOC_NONE && ev->doc != NULL && strlen(ev->doc) <= KPI_NAME_MAX)
            rc = docset_want(s->ds, k, store_doc_key(k, kind, ev->doc));
        if (!rc && ev->ref != NULL && strlen(ev->ref) <= KPI_NAME_MAX)
            rc = docset_want(s->ds, k, store_doc_key(k, KPI_DOC_INVOICE, ev->ref));
        if (rc)
            return rc;
    }
    return docset_load(s->ds);
}

err_t store_put_batch(store_t *s, const kpi_event_t *evs, size_t n, const store_batch_opts_t *o,
                      store_item_result_t *res, store_batch_stats_t *stats, err_msg_t *msg)
{
    store_batch_stats_t local;
    if (stats == NULL)
        stats = &local;
    err_msg_t own_msg; /* the faults below need the message text */
    if (msg == NULL)
        msg = &own_msg;
    if (s->read_only)
        return err_set(msg, ERR_READONLY, "store %s is open read-only", s->dir);
    uint8_t *enc = malloc(ENC_MAX);
    uint8_t(*old_keys)[EVKEY_LEN] = malloc((n ? n : 1) * EVKEY_LEN);
    uint8_t *found = malloc(n ? n : 1);
    if (enc == NULL || old_keys == NULL || found == NULL) {
        free(enc);
        free(old_keys);
        free(found);
        return err_set(msg, ERR_NOMEM, "out of memory");
    }
    /* Items found to fail on their own account while being applied; the
       batch is retried without them (allocated on the first such item). */
    verdict_t *faults = NULL;
    bool ids_read = false; /* old_keys/found hold for every attempt: an attempt
                              that does not commit leaves the log as it was */
    pthread_mutex_lock(&s->write_mu);
    make_room(s, n);
    err_t e;
    bool direct = false; /* derived open amounts applied per event (store_derive.h) */
    for (;;) {
        memset(stats, 0, sizeof *stats);
        wctx_t w = {.s = s,
                    .msg = msg,
                    .stats = stats,
                    .old_keys = old_keys,
                    .found = found,
                    .stream_seq = o != NULL ? o->stream_seq : 0};
        int rc = mdb_txn_begin(s->env, NULL, 0, &w.txn);
        if (rc) {
            e = store_lmdb_err(s, rc, "begin", msg);
            break;
        }
        w.seq = store_meta_u64(s, w.txn, "seq");
        batch_begin(s, w.txn, direct, w.seq);
        e = ERR_OK;
        if (!ids_read) {
            rc = ids_prefetch(s, w.txn, evs, n, old_keys, found);
            if (rc)
                e = store_lmdb_err(s, rc, "read ids", msg);
            ids_read = rc == 0;
        }
        rc = e ? 0 : batch_prefetch(s, evs, n);
        if (rc)
            e = store_lmdb_err(s, rc, "read documents", msg);
        size_t i;
        for (i = 0; i < n && !e; i++)
            e = put_item(&w, i, &evs[i], o, enc, faults ? &faults[i] : NULL, &res[i]);
        if (e == ERR_OVERFLOW) {
            /* Item i-1 cannot take effect; nothing of this attempt is kept. */
            batch_end(s);
            mdb_txn_abort(w.txn);
            if (faults == NULL && (faults = calloc(n, sizeof *faults)) == NULL) {
                e = err_set(msg, ERR_NOMEM, "out of memory");
                break;
            }
            (void)reject(&faults[i - 1], ERR_OVERFLOW, "amount", "%s", msg->text);
            msg->text[0] = '\0';
            continue;
        }
        if (!e && o != NULL && o->atomic && stats->rejected > 0) {
            batch_end(s);
            mdb_txn_abort(w.txn);
            for (size_t j = 0; j < n; j++)
                if (res[j].status == STORE_ITEM_ACCEPTED) {
                    res[j].status = STORE_ITEM_NOT_COMMITTED;
                    res[j].pending = false;
                }
            stats->accepted = stats->pending = stats->released = 0;
            stats->committed = false;
            break;
        }
        if (!e)
            e = meta_flush(&w);
        if (!e)
            e = derive_batch_flush(&s->derive, w.txn, msg);
        if (e == ERR_OVERFLOW && !direct) {
            /* Some event's open amounts leave int64, but which one shows only
               when they are applied one by one: once more that way. */
            batch_end(s);
            mdb_txn_abort(w.txn);
            direct = true;
            msg->text[0] = '\0';
            continue;
        }
        rc = 0;
        if (!e) {
            rc = batch_flush(s, w.txn);
            if (rc && rc != MDB_MAP_FULL)
                e = store_lmdb_err(s, rc, "write", msg);
        }
        batch_end(s);
        if (!e && rc) {
            mdb_txn_abort(w.txn);
        } else if (!e) {
            rc = mdb_txn_commit(w.txn);
            if (rc && rc != MDB_MAP_FULL)
                e = store_lmdb_err(s, rc, "commit", msg);
        } else {
            mdb_txn_abort(w.txn);
        }
        if (is_map_full(e, rc)) {
            e = grow_map(s, msg);
            if (e)
                break;
            continue; /* the whole batch again, in the bigger map */
        }
        stats->committed = e == ERR_OK;
        break;
    }
    pthread_mutex_unlock(&s->write_mu);
    free(faults);
    free(enc);
    free(old_keys);
    free(found);
    return e;
}

/* ---- rebuild ----------------------------------------------------------------------------- */

/* Events per rebuild transaction: large, like kpid ingest's batches (each
   transaction rewrites the pages it touches; the write cache and the batch
   caches write hot derived rows once per transaction). */
#define REBUILD_CHUNK 250000

static err_t rebuild_reset(store_t *s, err_msg_t *msg)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return store_lmdb_err(s, rc, "begin", msg);
    uint8_t one = 1;
    MDB_val k = {10, (void *)"rebuilding"}, v = {1, &one};
    rc = mdb_put(txn, s->meta, &k, &v, 0);
    MDB_dbi dbis[] = {s->docs, s->pending, s->by_party, s->by_bu};
    for (size_t i = 0; !rc && i < sizeof dbis / sizeof dbis[0]; i++)
        rc = mdb_drop(txn, dbis[i], 0);
    if (!rc)
        rc = store_meta_put_u64(s, txn, "pending", 0);
    uint64_t docs[KPI_DOC_COUNT] = {0};
    MDB_val dk = {4, (void *)"docs"}, dv = {sizeof docs, docs};
    if (!rc)
        rc = mdb_put(txn, s->meta, &dk, &dv, 0);
    err_t e = rc ? store_lmdb_err(s, rc, "reset", msg) : derive_clear(&s->derive, txn, msg);
    if (e) {
        mdb_txn_abort(txn);
        return e;
    }
    rc = mdb_txn_commit(txn);
    return rc ? store_lmdb_err(s, rc, "commit", msg) : ERR_OK;
}

/* Replay up to REBUILD_CHUNK events after *from (all when *started is
   false) in one transaction; *done is set when the log is exhausted. */
static err_t rebuild_chunk(store_t *s, uint8_t *from, bool *started, uint64_t *count, bool *done,
                           err_msg_t *msg)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc)
        return store_lmdb_err(s, rc, "begin", msg);
    batch_begin(s, txn, false, store_meta_u64(s, txn, "seq"));
    store_batch_stats_t st = {0};
    wctx_t w = {.s = s, .txn = txn, .msg = msg, .stats = &st, .replay = true};
    MDB_cursor *c;
    rc = mdb_cursor_open(txn, s->events, &c);
    if (rc) {
        batch_end(s);
        mdb_txn_abort(txn);
        return store_lmdb_err(s, rc, "read log", msg);
    }
    MDB_val kv = {EVKEY_LEN, from}, v;
    rc = *started ? mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE)
                  : mdb_cursor_get(c, &kv, &v, MDB_FIRST);
    if (rc == 0 && *started && memcmp(kv.mv_data, from, EVKEY_LEN) == 0)
        rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT);
    err_t e = ERR_OK;
    uint64_t n = 0;
    uint8_t last[EVKEY_LEN] = {0};
    /* The chunk's events are decoded first, borrowing from the map: this
       transaction never writes the log, so its pages stay where they are.
       Then their documents are read in key order, then they take effect. */
    kpi_event_t *evs = malloc(REBUILD_CHUNK * sizeof *evs);
    uint8_t(*keys)[EVKEY_LEN] = malloc(REBUILD_CHUNK * EVKEY_LEN);
    if (evs == NULL || keys == NULL)
        e = err_set(msg, ERR_NOMEM, "out of memory");
    for (; !e && rc == 0 && n < REBUILD_CHUNK; rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        if (kv.mv_size != EVKEY_LEN) {
            e = err_set(msg, ERR_STORE_CORRUPT, "store %s: damaged log entry", s->dir);
            break;
        }
        memcpy(keys[n], kv.mv_data, EVKEY_LEN);
        e = kpi_event_decode(v.mv_data, v.mv_size, &evs[n]);
        if (e) {
            err_set(msg, e, "store %s: damaged event in the log", s->dir);
            break;
        }
        n++;
    }
    mdb_cursor_close(c);
    if (!e) {
        int prc = batch_prefetch(s, evs, (size_t)n);
        if (prc)
            e = store_lmdb_err(s, prc, "read documents", msg);
    }
    for (uint64_t i = 0; !e && i < n; i++) {
        bool pending;
        e = settle(&w, &evs[i], store_evkey_seq(keys[i]), keys[i], &pending);
    }
    if (n > 0)
        memcpy(last, keys[n - 1], EVKEY_LEN);
    free(evs);
    free(keys);
    if (!e && rc && rc != MDB_NOTFOUND)
        e = store_lmdb_err(s, rc, "read log", msg);
    *done = !e && rc == MDB_NOTFOUND;
    if (!e) {
        w.seq = store_meta_u64(s, txn, "seq");
        e = meta_flush(&w);
    }
    if (!e && *done) {
        MDB_val k = {10, (void *)"rebuilding"};
        rc = store_tx_del(s->wc, txn, s->meta, &k);
        if (rc)
            e = store_lmdb_err(s, rc, "finish", msg);
    }
    if (!e)
        e = derive_batch_flush(&s->derive, txn, msg);
    if (!e) {
        rc = batch_flush(s, txn);
        if (rc)
            e = store_lmdb_err(s, rc, "write", msg);
    }
    batch_end(s);
    if (e) {
        mdb_txn_abort(txn);
        return e;
    }
    rc = mdb_txn_commit(txn);
    if (rc)
        return store_lmdb_err(s, rc, "commit", msg);
    if (n > 0) {
        memcpy(from, last, EVKEY_LEN);
        *started = true;
    }
    *count += n;
    return ERR_OK;
}

err_t store_rebuild_impl(store_t *s, void (*progress)(void *, uint64_t, uint64_t), void *ctx,
                         err_msg_t *msg)
{
    if (s->read_only)
        return err_set(msg, ERR_READONLY, "store %s is open read-only", s->dir);
    pthread_mutex_lock(&s->write_mu);
    err_t e = rebuild_reset(s, msg);
    while (e == ERR_TOO_LARGE) { /* dropping big databases needs room too */
        e = grow_map(s, msg);
        if (!e)
            e = rebuild_reset(s, msg);
    }
    uint64_t total = 0;
    if (!e) {
        store_snap_t *sn = NULL;
        pthread_mutex_unlock(&s->write_mu);
        e = store_snap_begin(s, &sn);
        if (!e) {
            total = store_meta_u64(s, sn->txn, "events");
            store_snap_end(sn);
        }
        pthread_mutex_lock(&s->write_mu);
    }
    uint8_t from[EVKEY_LEN] = {0};
    bool started = false, done = false;
    uint64_t count = 0;
    while (!e && !done) {
        uint8_t save[EVKEY_LEN];
        memcpy(save, from, EVKEY_LEN);
        bool save_started = started;
        uint64_t save_count = count;
        e = rebuild_chunk(s, from, &started, &count, &done, msg);
        if (e == ERR_TOO_LARGE) {
            memcpy(from, save, EVKEY_LEN);
            started = save_started;
            count = save_count;
            e = grow_map(s, msg);
            continue;
        }
        if (progress != NULL)
            progress(ctx, count, total > count ? total : count);
    }
    pthread_mutex_unlock(&s->write_mu);
    return e;
}

err_t store_rebuild(store_t *s, void (*progress)(void *ctx, uint64_t done, uint64_t total),
                    void *ctx, err_msg_t *msg)
{
    return store_rebuild_impl(s, progress, ctx, msg);
}
