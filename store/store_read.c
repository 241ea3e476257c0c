/*
 * store_read.c — reading the log (filtered, paged by cursor) and documents.
 *
 * A listing walks the most selective index: a party's events (by_party),
 * else a unit's (by_bu), else the whole log; the time range becomes key
 * bounds on that walk, so a customer's month costs that customer's month.
 */
#include "store_int.h"

#include <stdio.h>
#include <string.h>

static void hex(char *out, const uint8_t *b, size_t n)
{
    static const char d[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[b[i] >> 4];
        out[2 * i + 1] = d[b[i] & 15];
    }
    out[2 * n] = '\0';
}

static int unhex1(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

static bool unhex(const char *s, uint8_t *b, size_t n)
{
    if (strlen(s) != 2 * n)
        return false;
    for (size_t i = 0; i < n; i++) {
        int hi = unhex1(s[2 * i]), lo = unhex1(s[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        b[i] = (uint8_t)(hi << 4 | lo);
    }
    return true;
}

/* Decode the event under evkey; its strings borrow from the snapshot. */
static err_t row_load(store_snap_t *sn, const uint8_t *evkey, kpi_event_t *ev)
{
    MDB_val k = {EVKEY_LEN, (void *)evkey}, v;
    int rc = mdb_get(sn->txn, sn->s->events, &k, &v);
    if (rc)
        return store_lmdb_err(sn->s, rc, "read event", NULL);
    return kpi_event_decode(v.mv_data, v.mv_size, ev);
}

static err_t row_out(store_snap_t *sn, const uint8_t *evkey, const kpi_event_t *ev, store_ev_fn fn,
                     void *ctx)
{
    store_ev_row_t row = {store_evkey_seq(evkey), store_ev_day(sn->s, ev), ev};
    return fn(ctx, &row);
}

static bool in_unit(MDB_cursor *bu, uint32_t unit, const uint8_t *evkey)
{
    uint8_t k[4];
    store_put_u32(k, unit);
    MDB_val kv = {sizeof k, k}, v = {EVKEY_LEN, (void *)evkey};
    return mdb_cursor_get(bu, &kv, &v, MDB_GET_BOTH) == 0;
}

err_t store_events_list(store_snap_t *sn, const store_ev_filter_t *f, const char *cursor,
                        size_t limit, store_ev_fn fn, void *ctx, char *next_cursor)
{
    store_t *s = sn->s;
    next_cursor[0] = '\0';
    if (limit == 0)
        return ERR_BAD_PARAM;
    uint8_t after[EVKEY_LEN];
    bool has_after = cursor != NULL && cursor[0] != '\0';
    if (has_after && !unhex(cursor, after, EVKEY_LEN))
        return ERR_BAD_PARAM;

    uint32_t party = 0, unit = 0;
    if (f->party != NULL && store_name_get(s, sn->txn, f->party, &party) != 0)
        return ERR_OK; /* never seen: nothing matches */
    if (f->business_unit != NULL && store_name_get(s, sn->txn, f->business_unit, &unit) != 0)
        return ERR_OK;

    /* Walk the party's events (by_party), else the unit's (by_bu), else the
       log; the index keeps them as sorted duplicates under the id. */
    MDB_dbi dbi = s->events;
    uint8_t prefix[4];
    bool indexed = party != 0 || unit != 0;
    if (party != 0) {
        dbi = s->by_party;
        store_put_u32(prefix, party);
    } else if (unit != 0) {
        dbi = s->by_bu;
        store_put_u32(prefix, unit);
    }
    uint8_t lo[EVKEY_LEN], hi[EVKEY_LEN];
    store_evkey(lo, f->has_from ? kpi_tz_day_start(s->tz, f->from_day) : INT64_MIN, 0);
    bool has_hi = f->has_to;
    if (has_hi)
        store_evkey(hi, kpi_tz_day_start(s->tz, f->to_day + 1), 0);
    if (has_after && memcmp(after, lo, EVKEY_LEN) >= 0)
        memcpy(lo, after, EVKEY_LEN);

    MDB_cursor *c = NULL, *bu = NULL;
    int rc = mdb_cursor_open(sn->txn, dbi, &c);
    if (!rc && party != 0 && unit != 0)
        rc = mdb_cursor_open(sn->txn, s->by_bu, &bu);
    if (rc) {
        if (c != NULL)
            mdb_cursor_close(c);
        return store_lmdb_err(s, rc, "read log", NULL);
    }
    MDB_val kv, v;
    if (indexed) {
        kv = (MDB_val){sizeof prefix, prefix};
        v = (MDB_val){EVKEY_LEN, lo};
        rc = mdb_cursor_get(c, &kv, &v, MDB_GET_BOTH_RANGE);
    } else {
        kv = (MDB_val){EVKEY_LEN, lo};
        rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
    }
    size_t n = 0;
    err_t e = ERR_OK;
    uint8_t last[EVKEY_LEN];
    bool more = false;
    for (; rc == 0; rc = mdb_cursor_get(c, &kv, &v, indexed ? MDB_NEXT_DUP : MDB_NEXT)) {
        const MDB_val *ek = indexed ? &v : &kv;
        if (ek->mv_size != EVKEY_LEN) {
            e = ERR_STORE_CORRUPT;
            break;
        }
        const uint8_t *evkey = ek->mv_data;
        if (has_after && memcmp(evkey, after, EVKEY_LEN) <= 0)
            continue;
        if (has_hi && memcmp(evkey, hi, EVKEY_LEN) >= 0)
            break;
        if (bu != NULL && !in_unit(bu, unit, evkey))
            continue;
        uint8_t key[EVKEY_LEN];
        memcpy(key, evkey, EVKEY_LEN);
        kpi_event_t ev;
        bool sided = f->side != STORE_EV_ANY;
        if (f->type != KPI_EV_NONE || sided || n < limit) {
            e = row_load(sn, key, &ev);
            if (e)
                break;
            if (f->type != KPI_EV_NONE && ev.type != f->type)
                continue;
            if (sided && kpi_ev_is_payable(ev.type) != (f->side == STORE_EV_PAYABLE))
                continue;
        }
        /* A further matching row exists: only then is there a next page. */
        if (n == limit) {
            more = true;
            break;
        }
        e = row_out(sn, key, &ev, fn, ctx);
        if (e)
            break;
        n++;
        memcpy(last, key, EVKEY_LEN);
    }
    if (!e && rc != 0 && rc != MDB_NOTFOUND)
        e = store_lmdb_err(s, rc, "read log", NULL);
    mdb_cursor_close(c);
    if (bu != NULL)
        mdb_cursor_close(bu);
    if (!e && more)
        hex(next_cursor, last, EVKEY_LEN);
    return e;
}

err_t store_event_get(store_snap_t *sn, const char *id, store_ev_fn fn, void *ctx)
{
    MDB_val k = {strlen(id), (void *)id}, v;
    int rc = mdb_get(sn->txn, sn->s->ids, &k, &v);
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    if (rc)
        return store_lmdb_err(sn->s, rc, "read ids", NULL);
    if (v.mv_size != EVKEY_LEN)
        return ERR_STORE_CORRUPT;
    uint8_t key[EVKEY_LEN];
    memcpy(key, v.mv_data, EVKEY_LEN);
    kpi_event_t ev;
    err_t e = row_load(sn, key, &ev);
    return e ? e : row_out(sn, key, &ev, fn, ctx);
}

err_t store_doc_get(store_snap_t *sn, kpi_doc_kind_t kind, const char *number, store_doc_t *out)
{
    uint8_t k[KPI_NAME_MAX + 2];
    if (strlen(number) > KPI_NAME_MAX)
        return ERR_NOT_FOUND;
    MDB_val kv = {store_doc_key(k, kind, number), k}, v;
    int rc = mdb_get(sn->txn, sn->s->docs, &kv, &v);
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    if (rc)
        return store_lmdb_err(sn->s, rc, "read document", NULL);
    doc_rec_t d;
    bool has;
    if (!store_doc_rec_read(&v, &d, &has))
        return ERR_STORE_CORRUPT;
    if (!has)
        return ERR_NOT_FOUND;
    memset(out, 0, sizeof *out);
    out->kind = kind;
    out->exists = d.exists;
    out->created_seq = d.created_seq;
    out->created_day = d.created_day;
    out->due_day = d.due_day;
    memcpy(out->currency, d.currency, 4);
    const char *name;
    if (d.party && store_name_str(sn->s, sn->txn, d.party, &name) == 0)
        out->party = name;
    if (d.unit && store_name_str(sn->s, sn->txn, d.unit, &name) == 0)
        out->business_unit = name;
    if (d.ref && store_name_str(sn->s, sn->txn, d.ref, &name) == 0)
        out->ref = name;
    out->amount_minor = d.amount;
    out->adjusted_minor = d.adjusted;
    out->applied_minor = d.applied;
    out->credited_minor = d.credited;
    out->written_off_minor = d.written_off;
    out->refunded_minor = d.refunded;
    out->paid_minor = d.paid;
    switch (kind) {
    case KPI_DOC_INVOICE:
        out->open_minor = d.amount + d.adjusted - d.applied - d.credited - d.written_off;
        break;
    case KPI_DOC_PAYMENT: out->open_minor = d.amount - d.applied - d.refunded; break;
    case KPI_DOC_BILL: out->open_minor = d.amount - d.paid; break;
    default: out->open_minor = 0; break;
    }
    out->reviews = d.reviews;
    out->first_review = d.first_review;
    out->corrections = d.corrections;
    out->rejections = d.rejections;
    out->escalations = d.escalations;
    out->closed_day = d.closed_day;
    out->pending_events = d.pending_events;
    return ERR_OK;
}
