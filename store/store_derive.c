/*
 * store_derive.c — derived KPI state (see store_derive.h for the databases
 * and the order-independence rules every function here must keep).
 */
#include "store_derive.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kpi_money.h"
#include "store_pack.h"
#include "store_payables.h"
#include "store_rowagg.h"

#define DAY_NONE INT32_MIN
#define T_NONE INT64_MAX

/* ---- keys ------------------------------------------------------------------ */

typedef struct key {
    uint8_t b[512];
    size_t n;
} key_t_;

static void k_reset(key_t_ *k)
{
    k->n = 0;
}

static void k_u8(key_t_ *k, uint8_t v)
{
    k->b[k->n++] = v;
}

static void k_u32(key_t_ *k, uint32_t v)
{
    k->b[k->n++] = (uint8_t)(v >> 24);
    k->b[k->n++] = (uint8_t)(v >> 16);
    k->b[k->n++] = (uint8_t)(v >> 8);
    k->b[k->n++] = (uint8_t)v;
}

/* Days sort as unsigned bytes once the sign bit is flipped. */
static void k_day(key_t_ *k, int32_t day)
{
    k_u32(k, (uint32_t)day ^ 0x80000000u);
}

static void k_bytes(key_t_ *k, const void *p, size_t n)
{
    memcpy(k->b + k->n, p, n);
    k->n += n;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static int32_t get_day(const uint8_t *p)
{
    return (int32_t)(get_u32(p) ^ 0x80000000u);
}

static MDB_val k_val(key_t_ *k)
{
    MDB_val v = {k->n, k->b};
    return v;
}

static err_t db_err(int rc, err_msg_t *msg, const char *what)
{
    if (rc == MDB_MAP_FULL)
        return err_set(msg, ERR_TOO_LARGE, "derived state: map full");
    if (rc == ENOSPC)
        return err_set(msg, ERR_DISK_FULL, "derived state: no space left on device");
    if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID)
        return err_set(msg, ERR_STORE_CORRUPT, "the store is damaged (derived state, %s: %s)", what,
                       mdb_strerror(rc));
    return err_set(msg, ERR_IO, "derived state, %s: %s", what, mdb_strerror(rc));
}

static bool add_ok(int64_t *acc, int64_t v)
{
    return !__builtin_add_overflow(*acc, v, acc);
}

/* ---- event helpers ----------------------------------------------------------- */

static int32_t ev_day(const derive_t *d, const kpi_event_t *ev)
{
    if (ev->flags & KPI_EVF_DATE_ONLY)
        return ev->date_day;
    return kpi_tz_day(d->tz, ev->time_s);
}

static int32_t tz_day_of(const void *ctx, int64_t t_s)
{
    return kpi_tz_day((const kpi_tz_t *)ctx, t_s);
}

/* Total order on (time, id) used for every "first"/"latest" choice. */
static int cmp_time_id(int64_t ta, const char *ia, int64_t tb, const char *ib)
{
    if (ta != tb)
        return ta < tb ? -1 : 1;
    return strcmp(ia, ib);
}

/* ---- per-document state ------------------------------------------------------- */

typedef struct slot {
    uint8_t sla;
    int64_t start_s;
    int32_t start_day;
    int64_t stop_s;
    int32_t stop_day;
} slot_t;

typedef struct dstate {
    uint8_t kind;
    char cur[4];
    uint32_t unit, party;
    int64_t t0;            /* creating instant */
    int32_t day0;          /* creating day: issue / receipt day */
    int32_t due_day;       /* invoices and bills */
    int64_t amount;        /* payments: received */
    int64_t done;          /* payments: applied + refunded */
    int64_t done_max_s;    /* payments: latest application or refund */
    uint32_t corrections;  /* invoices */
    uint8_t review_result; /* invoices: of the first review */
    int64_t review_s;      /* invoices: first review, T_NONE when none */
    int32_t review_day;
    char review_id[KPI_ID_MAX + 1];
    int64_t proc_s; /* bills: first bill.processed */
    int32_t proc_day;
    int64_t rej_s; /* bills: first rejection or escalation */
    uint8_t n_slots;
    slot_t slots[KPI_SLAS_MAX];
} dstate_t;

/*
 * The per-document state is packed (format 3): a varint mask of the fields
 * that differ from a new document's, each such field a zigzag varint. Times
 * are stored as the difference from the creating instant t0 and days from
 * the creating day, so most fit in one to three bytes; the difference is
 * taken modulo 2^64, which maps every int64 back exactly. Then the currency
 * (3 bytes) and the first review's id (length + bytes) when present, and
 * each SLA slot as a mask byte and its present fields.
 */
typedef struct wbuf {
    uint8_t b[64 + 20 * PACK_VARINT_MAX + KPI_ID_MAX + KPI_SLAS_MAX * (2 + 4 * PACK_VARINT_MAX)];
    size_t n;
} wbuf_t;

enum {
    S_KIND,
    S_UNIT,
    S_PARTY,
    S_T0,
    S_DAY0,
    S_DUE,
    S_AMOUNT,
    S_DONE,
    S_DONE_MAX,
    S_CORR,
    S_RESULT,
    S_REVIEW_S,
    S_REVIEW_DAY,
    S_PROC_S,
    S_PROC_DAY,
    S_REJ_S,
    S_SLOTS,
    S_N
};
#define S_CUR_BIT (1u << S_N)
#define S_ID_BIT (2u << S_N)

static int64_t rel(int64_t v, int64_t base)
{
    return (int64_t)((uint64_t)v - (uint64_t)base);
}

static int64_t unrel(int64_t d, int64_t base)
{
    return (int64_t)((uint64_t)base + (uint64_t)d);
}

/* The fields in packing order, times and days relative; *dflt gets a new
   document's (relative to the same t0 and day0). */
static void st_fields(const dstate_t *s, int64_t *f)
{
    f[S_KIND] = s->kind;
    f[S_UNIT] = s->unit;
    f[S_PARTY] = s->party;
    f[S_T0] = s->t0;
    f[S_DAY0] = s->day0;
    f[S_DUE] = rel(s->due_day, s->day0);
    f[S_AMOUNT] = s->amount;
    f[S_DONE] = s->done;
    f[S_DONE_MAX] = rel(s->done_max_s, s->t0);
    f[S_CORR] = s->corrections;
    f[S_RESULT] = s->review_result;
    f[S_REVIEW_S] = rel(s->review_s, s->t0);
    f[S_REVIEW_DAY] = rel(s->review_day, s->day0);
    f[S_PROC_S] = rel(s->proc_s, s->t0);
    f[S_PROC_DAY] = rel(s->proc_day, s->day0);
    f[S_REJ_S] = rel(s->rej_s, s->t0);
    f[S_SLOTS] = s->n_slots;
}

static void st_blank(dstate_t *s, int64_t t0, int32_t day0)
{
    memset(s, 0, sizeof *s);
    s->t0 = t0;
    s->day0 = day0;
    s->due_day = DAY_NONE;
    s->done_max_s = INT64_MIN;
    s->review_s = T_NONE;
    s->review_day = DAY_NONE;
    s->proc_s = T_NONE;
    s->proc_day = DAY_NONE;
    s->rej_s = T_NONE;
}

static void st_encode(const dstate_t *s, wbuf_t *w)
{
    int64_t f[S_N], z[S_N];
    dstate_t blank;
    st_blank(&blank, s->t0, s->day0);
    st_fields(s, f);
    st_fields(&blank, z);
    z[S_T0] = z[S_DAY0] = 0;
    uint64_t mask = 0;
    for (int i = 0; i < S_N; i++)
        if (f[i] != z[i])
            mask |= (uint64_t)1 << i;
    if (s->cur[0] != '\0')
        mask |= S_CUR_BIT;
    size_t idlen = strlen(s->review_id);
    if (idlen > 0)
        mask |= S_ID_BIT;
    w->n = pack_uvarint(w->b, mask);
    for (int i = 0; i < S_N; i++)
        if (mask & ((uint64_t)1 << i))
            w->n += pack_svarint(w->b + w->n, f[i]);
    if (mask & S_CUR_BIT) {
        memcpy(w->b + w->n, s->cur, 3);
        w->n += 3;
    }
    if (mask & S_ID_BIT) {
        w->b[w->n++] = (uint8_t)idlen;
        memcpy(w->b + w->n, s->review_id, idlen);
        w->n += idlen;
    }
    for (size_t i = 0; i < s->n_slots; i++) {
        const slot_t *sl = &s->slots[i];
        uint8_t m = (uint8_t)((sl->start_s != T_NONE) | (sl->start_day != DAY_NONE) << 1 |
                              (sl->stop_s != T_NONE) << 2 | (sl->stop_day != DAY_NONE) << 3);
        w->b[w->n++] = sl->sla;
        w->b[w->n++] = m;
        if (m & 1)
            w->n += pack_svarint(w->b + w->n, rel(sl->start_s, s->t0));
        if (m & 2)
            w->n += pack_svarint(w->b + w->n, rel(sl->start_day, s->day0));
        if (m & 4)
            w->n += pack_svarint(w->b + w->n, rel(sl->stop_s, s->t0));
        if (m & 8)
            w->n += pack_svarint(w->b + w->n, rel(sl->stop_day, s->day0));
    }
}

static bool day_of(int64_t v, int32_t *out)
{
    if (v < INT32_MIN || v > INT32_MAX)
        return false;
    *out = (int32_t)v;
    return true;
}

static bool st_decode(const MDB_val *v, dstate_t *s)
{
    const uint8_t *p = v->mv_data;
    size_t n = v->mv_size, off = 0;
    uint64_t mask;
    if (!unpack_uvarint(p, n, &off, &mask) || mask >= (uint64_t)S_ID_BIT << 1)
        return false;
    int64_t f[S_N] = {0};
    for (int i = 0; i < S_N; i++)
        if ((mask & ((uint64_t)1 << i)) && !unpack_svarint(p, n, &off, &f[i]))
            return false;
    if (!(mask & (1u << S_DAY0)))
        f[S_DAY0] = 0;
    int32_t day0;
    if (!day_of(f[S_DAY0], &day0))
        return false;
    int64_t t0 = f[S_T0];
    st_blank(s, t0, day0);
    /* Absent relative fields are a new document's. */
    int64_t z[S_N];
    st_fields(s, z);
    for (int i = 0; i < S_N; i++)
        if (!(mask & ((uint64_t)1 << i)) && i != S_T0 && i != S_DAY0)
            f[i] = z[i];
    if (f[S_KIND] < 0 || f[S_KIND] > 255 || f[S_RESULT] < 0 || f[S_RESULT] > 255 ||
        f[S_SLOTS] < 0 || f[S_SLOTS] > KPI_SLAS_MAX || f[S_UNIT] < 0 || f[S_UNIT] > UINT32_MAX ||
        f[S_PARTY] < 0 || f[S_PARTY] > UINT32_MAX || f[S_CORR] < 0 || f[S_CORR] > UINT32_MAX)
        return false;
    s->kind = (uint8_t)f[S_KIND];
    s->unit = (uint32_t)f[S_UNIT];
    s->party = (uint32_t)f[S_PARTY];
    s->amount = f[S_AMOUNT];
    s->done = f[S_DONE];
    s->done_max_s = unrel(f[S_DONE_MAX], t0);
    s->corrections = (uint32_t)f[S_CORR];
    s->review_result = (uint8_t)f[S_RESULT];
    s->review_s = unrel(f[S_REVIEW_S], t0);
    s->proc_s = unrel(f[S_PROC_S], t0);
    s->rej_s = unrel(f[S_REJ_S], t0);
    if (!day_of(unrel(f[S_DUE], day0), &s->due_day) ||
        !day_of(unrel(f[S_REVIEW_DAY], day0), &s->review_day) ||
        !day_of(unrel(f[S_PROC_DAY], day0), &s->proc_day))
        return false;
    s->n_slots = (uint8_t)f[S_SLOTS];
    if (mask & S_CUR_BIT) {
        if (n - off < 3)
            return false;
        memcpy(s->cur, p + off, 3);
        s->cur[3] = '\0';
        off += 3;
    }
    if (mask & S_ID_BIT) {
        if (off >= n || p[off] > KPI_ID_MAX || n - off - 1 < p[off])
            return false;
        size_t idlen = p[off++];
        memcpy(s->review_id, p + off, idlen);
        s->review_id[idlen] = '\0';
        off += idlen;
    }
    for (size_t i = 0; i < s->n_slots; i++) {
        slot_t *sl = &s->slots[i];
        if (n - off < 2 || (p[off + 1] & ~15u) != 0)
            return false;
        sl->sla = p[off];
        uint8_t m = p[off + 1];
        off += 2;
        int64_t x[4] = {rel(T_NONE, t0), rel(DAY_NONE, day0), rel(T_NONE, t0), rel(DAY_NONE, day0)};
        for (int j = 0; j < 4; j++)
            if ((m & (1u << j)) && !unpack_svarint(p, n, &off, &x[j]))
                return false;
        sl->start_s = unrel(x[0], t0);
        sl->stop_s = unrel(x[2], t0);
        if (!day_of(unrel(x[1], day0), &sl->start_day) || !day_of(unrel(x[3], day0), &sl->stop_day))
            return false;
    }
    return off == n;
}

static void st_key(key_t_ *k, kpi_doc_kind_t kind, const char *number)
{
    k_reset(k);
    k_u8(k, (uint8_t)kind);
    k_bytes(k, number, strlen(number));
}

/* The document's slot in the batch (its derived state is kept there). */
static err_t st_slot(const derive_t *d, MDB_txn *txn, kpi_doc_kind_t kind, const char *number,
                     docslot_t **out, err_msg_t *msg)
{
    if (!docset_attached(d->ds, txn))
        return err_set(msg, ERR_INTERNAL, "derived state written outside the write batch");
    key_t_ k;
    st_key(&k, kind, number);
    int rc = docset_slot(d->ds, k.b, k.n, out);
    return rc ? db_err(rc, msg, "read document state") : ERR_OK;
}

/* ERR_NOT_FOUND when the document has no derived state. */
static err_t st_get(const derive_t *d, MDB_txn *txn, kpi_doc_kind_t kind, const char *number,
                    dstate_t *s, err_msg_t *msg)
{
    docslot_t *sl;
    err_t e = st_slot(d, txn, kind, number, &sl, msg);
    if (e)
        return e;
    if (sl->st_len == 0)
        return ERR_NOT_FOUND;
    MDB_val v = {sl->st_len, sl->st};
    if (!st_decode(&v, s))
        return err_set(msg, ERR_STORE_CORRUPT, "derived state of %s %s is damaged",
                       kpi_doc_kind_name(kind), number);
    return ERR_OK;
}

static err_t st_put(const derive_t *d, MDB_txn *txn, const char *number, const dstate_t *s,
                    err_msg_t *msg)
{
    docslot_t *sl;
    err_t e = st_slot(d, txn, (kpi_doc_kind_t)s->kind, number, &sl, msg);
    if (e)
        return e;
    wbuf_t w;
    st_encode(s, &w);
    int rc = docset_set_state(d->ds, sl, w.b, w.n);
    return rc ? db_err(rc, msg, "write document state") : ERR_OK;
}

/* The document an event must find already applied (ERR_INTERNAL if not). */
static err_t st_need(const derive_t *d, MDB_txn *txn, kpi_doc_kind_t kind, const char *number,
                     dstate_t *s, err_msg_t *msg)
{
    if (number == NULL)
        return err_set(msg, ERR_INTERNAL, "derived state: event without its %s number",
                       kpi_doc_kind_name(kind));
    err_t e = st_get(d, txn, kind, number, s, msg);
    if (e == ERR_NOT_FOUND)
        return err_set(msg, ERR_INTERNAL, "derived state: %s %s applied before it exists",
                       kpi_doc_kind_name(kind), number);
    return e;
}

/* ---- additive day rows (flows, SLA, FTQ) -------------------------------------- */

/*
 * Day rows (d_flows, d_sla, d_ftq) are packed: a u16 mask of the non-zero
 * columns (little-endian), then each of those columns as a zigzag LEB128
 * varint. A flow row of 12 columns usually has one or two set, so the row
 * is a few bytes instead of 96. ROW_MAX_COLS columns at most.
 */
#define ROW_MAX_COLS 16
#define ROW_PACKED_MAX (2 + ROW_MAX_COLS * 10)

static size_t row_pack(const int64_t *vals, size_t n, uint8_t *out)
{
    uint16_t mask = 0;
    size_t o = 2;
    for (size_t i = 0; i < n; i++) {
        if (vals[i] == 0)
            continue;
        mask |= (uint16_t)(1u << i);
        o += pack_svarint(out + o, vals[i]);
    }
    out[0] = (uint8_t)mask;
    out[1] = (uint8_t)(mask >> 8);
    return o;
}

/* false when v is not a packed row of at most n columns. */
static bool row_unpack(const MDB_val *v, size_t n, int64_t *vals);

bool derive_row_unpack(const MDB_val *v, size_t n, int64_t *vals)
{
    return row_unpack(v, n, vals);
}

static bool row_unpack(const MDB_val *v, size_t n, int64_t *vals)
{
    const uint8_t *p = v->mv_data;
    size_t len = v->mv_size, o = 2;
    memset(vals, 0, n * sizeof *vals);
    if (len < 2)
        return false;
    unsigned mask = (unsigned)p[0] | (unsigned)p[1] << 8;
    if (n < ROW_MAX_COLS && (mask >> n) != 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((mask & (1u << i)) && !unpack_svarint(p, len, &o, &vals[i]))
            return false;
    return o == len;
}

/*
 * Add the packed row's columns into acc[0..n): row_unpack and a column-wise
 * add in one pass that touches only the columns the mask has set. This is
 * the inner loop of every series query (one call per stored day), so it
 * must not clear or walk the absent columns. ERR_STORE_CORRUPT when v is
 * not a packed row of at most n columns; ERR_OVERFLOW when a sum leaves
 * int64 (acc is then partly updated: the caller discards it).
 */
static err_t row_accum(const MDB_val *v, size_t n, int64_t *acc)
{
    const uint8_t *p = v->mv_data;
    size_t len = v->mv_size, o = 2;
    if (len < 2)
        return ERR_STORE_CORRUPT;
    unsigned mask = (unsigned)p[0] | (unsigned)p[1] << 8;
    if (n < ROW_MAX_COLS && (mask >> n) != 0)
        return ERR_STORE_CORRUPT;
    while (mask != 0) {
        unsigned i = (unsigned)__builtin_ctz(mask);
        mask &= mask - 1;
        int64_t x;
        if (!unpack_svarint(p, len, &o, &x))
            return ERR_STORE_CORRUPT;
        if (!add_ok(&acc[i], x))
            return ERR_OVERFLOW;
    }
    return o == len ? ERR_OK : ERR_STORE_CORRUPT;
}

/* Sums the add into the batch's row set (store_rowagg.h) when txn is the
   batch's and it is not applied per event: true when it did. */
static bool batch_row_add(const derive_t *d, MDB_txn *txn, MDB_dbi dbi, const key_t_ *k,
                          const int64_t *add, size_t n, err_t *e);

/* Add n int64s into the row at key (created as zeros), overflow-checked. */
static err_t row_add(const derive_t *d, MDB_txn *txn, MDB_dbi dbi, key_t_ *k, const int64_t *add,
                     size_t n, err_msg_t *msg)
{
    err_t be;
    if (batch_row_add(d, txn, dbi, k, add, n, &be))
        return be == ERR_NOMEM ? err_set(msg, ERR_NOMEM, "out of memory")
               : be            ? err_set(msg, be, "derived state: a day row of an unknown width")
                               : ERR_OK;
    wcache_t *wc = d->wc;
    int64_t vals[ROW_MAX_COLS] = {0};
    MDB_val kv = k_val(k), v;
    int rc = store_tx_get(wc, txn, dbi, &kv, &v);
    if (rc == 0) {
        if (!row_unpack(&v, n, vals))
            return err_set(msg, ERR_STORE_CORRUPT, "derived state: damaged row");
    } else if (rc != MDB_NOTFOUND) {
        return db_err(rc, msg, "read row");
    }
    bool zero = true;
    for (size_t i = 0; i < n; i++) {
        if (!add_ok(&vals[i], add[i]))
            return err_set(msg, ERR_OVERFLOW, "derived state: a total leaves int64");
        zero = zero && vals[i] == 0;
    }
    /* d_onow holds only due days with something open (the batch's flush
       drops such rows too: rowagg_drop_zero). */
    if (zero && d->has_onow && dbi == d->onow) {
        rc = store_tx_del(wc, txn, dbi, &kv);
        return rc && rc != MDB_NOTFOUND ? db_err(rc, msg, "write row") : ERR_OK;
    }
    uint8_t packed[ROW_PACKED_MAX];
    v.mv_size = row_pack(vals, n, packed);
    v.mv_data = packed;
    rc = store_tx_put(wc, txn, dbi, &kv, &v);
    return rc ? db_err(rc, msg, "write row") : ERR_OK;
}

enum {
    F_SALES,
    F_INVOICES,
    F_ADJ,
    F_APPLIED,
    F_CREDITS,
    F_WRITE_OFFS,
    F_RECEIVED,
    F_APPLIED_OUT,
    F_REFUNDS,
    F_UNALLOCATED,
    F_PURCHASES,
    F_BILLS_PAID,
    F_OPEN_AMOUNT,
    F_OPEN_COUNT,
    F_CURRENT_AR,
    F_COUNT
};
_Static_assert(sizeof(store_flows_t) == F_COUNT * sizeof(int64_t), "store_flows_t layout");
_Static_assert(F_COUNT <= ROW_MAX_COLS, "a flow row fits the packed mask");

/* Add a flow row's columns under (unit|all) x (party|all). */
static err_t flow_row_add(const derive_t *d, MDB_txn *txn, const char cur[4], uint32_t unit,
                          uint32_t party, int32_t day, const int64_t *add, err_msg_t *msg)
{
    uint32_t units[2] = {unit, 0}, parties[2] = {party, 0};
    for (int u = 0; u < 2; u++) {
        for (int p = 0; p < 2; p++) {
            if ((u == 0 && unit == 0) || (p == 0 && party == 0))
                continue;
            key_t_ k;
            k_reset(&k);
            k_bytes(&k, cur, 3);
            k_u32(&k, units[u]);
            k_u32(&k, parties[p]);
            k_day(&k, day);
            err_t e = row_add(d, txn, d->flows, &k, add, F_COUNT, msg);
            if (e)
                return e;
        }
    }
    return ERR_OK;
}

static err_t flow_add(const derive_t *d, MDB_txn *txn, const char cur[4], uint32_t unit,
                      uint32_t party, int32_t day, int field, int64_t amount, int64_t count_field,
                      err_msg_t *msg)
{
    int64_t add[F_COUNT] = {0};
    add[field] = amount;
    if (count_field >= 0)
        add[count_field] = 1;
    return flow_row_add(d, txn, cur, unit, party, day, add, msg);
}

static err_t unit_row_add(const derive_t *d, MDB_txn *txn, MDB_dbi dbi, uint8_t tag, uint32_t unit,
                          int32_t day, const int64_t *add, size_t n, err_msg_t *msg)
{
    uint32_t units[2] = {unit, 0};
    for (int u = 0; u < 2; u++) {
        if (u == 0 && unit == 0)
            continue;
        key_t_ k;
        k_reset(&k);
        k_u8(&k, tag);
        k_u32(&k, units[u]);
        k_day(&k, day);
        err_t e = row_add(d, txn, dbi, &k, add, n, msg);
        if (e)
            return e;
    }
    return ERR_OK;
}

/* ---- SLA items ----------------------------------------------------------------- */

static kpi_doc_kind_t sla_kind(const kpi_sla_def_t *def)
{
    if (def->start_point == KPI_SLA_POINT_BILLING_DUE)
        return KPI_DOC_INVOICE;
    return kpi_ev_doc_kind((kpi_ev_type_t)def->start_type);
}

/* Add (sign +1) or withdraw (-1) one item's counts. */
static err_t sla_contrib(const derive_t *d, MDB_txn *txn, uint32_t unit, const slot_t *s, int sign,
                         err_msg_t *msg)
{
    if (s->start_s == T_NONE)
        return ERR_OK;
    const kpi_sla_def_t *def = &d->slas[s->sla];
    int32_t b =
        kpi_sla_breach_day(&def->target, &d->cal, s->start_s, s->start_day, tz_day_of, d->tz);
    int64_t add[4] = {0, 0, sign, 0};
    err_t e = unit_row_add(d, txn, d->sla, s->sla, unit, b, add, 4, msg);
    if (e || s->stop_s == T_NONE)
        return e;
    bool met = kpi_sla_met(&def->target, &d->cal, s->start_s, s->start_day, s->stop_s, s->stop_day);
    int64_t done[4] = {sign, met ? sign : 0, 0, 0};
    e = unit_row_add(d, txn, d->sla, s->sla, unit, s->stop_day, done, 4, msg);
    if (e)
        return e;
    int64_t closed[4] = {0, 0, 0, sign};
    return unit_row_add(d, txn, d->sla, s->sla, unit, b > s->stop_day ? b : s->stop_day, closed, 4,
                        msg);
}

static slot_t *slot_find(dstate_t *st, uint8_t sla)
{
    for (size_t i = 0; i < st->n_slots; i++)
        if (st->slots[i].sla == sla)
            return &st->slots[i];
    return NULL;
}

/*
 * Move each SLA item of this document to its new start/stop after `ev`
 * (ev NULL: only re-check the fully-applied stop of a payment).
 */
static err_t sla_update(const derive_t *d, MDB_txn *txn, dstate_t *st, const kpi_event_t *ev,
                        int32_t day, err_msg_t *msg)
{
    for (size_t i = 0; i < d->n_slas; i++) {
        const kpi_sla_def_t *def = &d->slas[i];
        if (sla_kind(def) != st->kind)
            continue;
        slot_t cand = {(uint8_t)i, T_NONE, DAY_NONE, T_NONE, DAY_NONE};
        slot_t *cur = slot_find(st, (uint8_t)i);
        if (cur != NULL)
            cand = *cur;
        if (ev != NULL && def->start_point == KPI_SLA_POINT_EVENT &&
            ev->type == (kpi_ev_type_t)def->start_type && ev->time_s < cand.start_s) {
            cand.start_s = ev->time_s;
            cand.start_day = day;
        }
        if (ev != NULL && def->start_point == KPI_SLA_POINT_BILLING_DUE &&
            ev->type == KPI_EV_INVOICE_ISSUED && (ev->flags & KPI_EVF_BILLING_DUE) &&
            cand.start_s == T_NONE) {
            cand.start_day = ev->billing_due_day;
            cand.start_s = kpi_tz_day_start(d->tz, ev->billing_due_day);
        }
        if (ev != NULL && def->stop_point == KPI_SLA_POINT_EVENT &&
            ev->type == (kpi_ev_type_t)def->stop_type && ev->time_s < cand.stop_s) {
            cand.stop_s = ev->time_s;
            cand.stop_day = day;
        }
        if (def->stop_point == KPI_SLA_POINT_FULLY_APPLIED && st->kind == KPI_DOC_PAYMENT &&
            st->amount > 0 && st->done >= st->amount) {
            /* Applications never exceed the payment, so the one that completes
               it is the latest in time, whatever the arrival order. */
            cand.stop_s = st->done_max_s;
            cand.stop_day = kpi_tz_day(d->tz, st->done_max_s);
        }
        if (cur != NULL && memcmp(cur, &cand, sizeof cand) == 0)
            continue;
        if (cur == NULL && cand.start_s == T_NONE && cand.stop_s == T_NONE)
            continue;
        if (cur != NULL) {
            err_t e = sla_contrib(d, txn, st->unit, cur, -1, msg);
            if (e)
                return e;
            *cur = cand;
        } else {
            if (st->n_slots >= KPI_SLAS_MAX)
                return err_set(msg, ERR_INTERNAL, "derived state: too many SLA items");
            cur = &st->slots[st->n_slots++];
            *cur = cand;
        }
        err_t e = sla_contrib(d, txn, st->unit, cur, +1, msg);
        if (e)
            return e;
    }
    return ERR_OK;
}

/* ---- first-time quality ------------------------------------------------------------ */

static err_t ftq_contrib(const derive_t *d, MDB_txn *txn, const dstate_t *st, int sign,
                         err_msg_t *msg)
{
    int64_t add[2] = {sign, 0};
    if (st->kind == KPI_DOC_INVOICE) {
        if (st->review_s == T_NONE)
            return ERR_OK;
        if (st->review_result == KPI_RESULT_PASS && st->corrections == 0)
            add[1] = sign;
        return unit_row_add(d, txn, d->ftq, STORE_FTQ_INVOICE, st->unit, st->review_day, add, 2,
                            msg);
    }
    if (st->kind == KPI_DOC_BILL) {
        if (st->proc_s == T_NONE)
            return ERR_OK;
        if (st->rej_s == T_NONE || st->rej_s >= st->proc_s)
            add[1] = sign;
        return unit_row_add(d, txn, d->ftq, STORE_FTQ_BILL, st->unit, st->proc_day, add, 2, msg);
    }
    return ERR_OK;
}

/* ---- open amounts --------------------------------------------------------------------- */

typedef struct tl_ent {
    int32_t day;
    int64_t delta;
} tl_ent_t;

typedef struct tl {
    tl_ent_t *v;
    size_t n, cap;
} tl_t;

static bool tl_push(tl_t *t, int32_t day, int64_t delta)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 8;
        tl_ent_t *nv = realloc(t->v, cap * sizeof *nv);
        if (nv == NULL)
            return false;
        t->v = nv;
        t->cap = cap;
    }
    t->v[t->n].day = day;
    t->v[t->n].delta = delta;
    t->n++;
    return true;
}

static void tl_key(key_t_ *k, const char *number, int32_t day)
{
    k_reset(k);
    k_bytes(k, number, strlen(number));
    k_u8(k, 0);
    k_day(k, day);
}

static err_t tl_load(const derive_t *d, MDB_txn *txn, const char *number, tl_t *t, err_msg_t *msg)
{
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, d->tl, &c);
    if (rc)
        return db_err(rc, msg, "open cursor");
    key_t_ k;
    tl_key(&k, number, INT32_MIN);
    size_t plen = k.n - 4;
    MDB_val kv = k_val(&k), v;
    err_t e = ERR_OK;
    for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        if (kv.mv_size != plen + 4 || memcmp(kv.mv_data, k.b, plen) != 0)
            break;
        int64_t delta;
        if (v.mv_size != sizeof delta) {
            e = err_set(msg, ERR_STORE_CORRUPT, "derived state: timeline of %s damaged", number);
            break;
        }
        memcpy(&delta, v.mv_data, sizeof delta);
        if (!tl_push(t, get_day((const uint8_t *)kv.mv_data + plen), delta)) {
            e = err_set(msg, ERR_NOMEM, "out of memory");
            break;
        }
    }
    if (!e && rc != 0 && rc != MDB_NOTFOUND)
        e = db_err(rc, msg, "read timeline");
    mdb_cursor_close(c);
    return e;
}

/* One step of an open-amount change (store_derive.h). */
typedef derive_step_t step_t;

/*
 * Add the steps (ascending days) to the cumulative rows under `prefix`
 * (cur unit party basis basis_day, 16 bytes): every row at or after a step's
 * day gets it. A row is first created at each step's day, holding the value
 * in force just before, so "last row <= d" stays the value as of d.
 *
 * One merge walk: from the first step's day to the prefix's last row, the
 * existing rows and the step days are visited in day order; `base` is the
 * stored value of the latest row passed (what was in force before), `run`
 * the sum of the steps up to here. A new row gets base + run, an existing
 * one its own value + run.
 */
static err_t open_apply(MDB_txn *txn, MDB_dbi dbi, const uint8_t *prefix, const step_t *steps,
                        size_t n, err_msg_t *msg)
{
    if (n == 0)
        return ERR_OK;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return db_err(rc, msg, "open cursor");
    err_t e = ERR_OK;
    key_t_ k;
    k_reset(&k);
    k_bytes(&k, prefix, 16);
    k_day(&k, steps[0].day);
    MDB_val kv = k_val(&k), v;
    int64_t base[2] = {0, 0};
    /* The row in force before the first step. */
    rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
    rc = rc == MDB_NOTFOUND ? mdb_cursor_get(c, &kv, &v, MDB_LAST)
                            : mdb_cursor_get(c, &kv, &v, MDB_PREV);
    if (rc == 0 && kv.mv_size == 20 && memcmp(kv.mv_data, prefix, 16) == 0) {
        if (!row_unpack(&v, 2, base))
            e = err_set(msg, ERR_STORE_CORRUPT, "derived state: open amount row damaged");
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        e = db_err(rc, msg, "read open amounts");
    }
    kv = k_val(&k);
    rc = e ? 0 : mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
    int64_t run[2] = {0, 0};
    size_t si = 0;
    while (!e) {
        if (rc != 0 && rc != MDB_NOTFOUND) {
            e = db_err(rc, msg, "read open amounts");
            break;
        }
        bool have = rc == 0 && kv.mv_size == 20 && memcmp(kv.mv_data, prefix, 16) == 0;
        int32_t rday = have ? get_day((const uint8_t *)kv.mv_data + 16) : 0;
        bool fresh = si < n && (!have || steps[si].day < rday);
        if (!fresh && !have)
            break;
        int32_t day = fresh ? steps[si].day : rday;
        for (; si < n && steps[si].day == day; si++)
            if (!add_ok(&run[0], steps[si].amount) || !add_ok(&run[1], steps[si].count)) {
                e = err_set(msg, ERR_OVERFLOW, "derived state: open amount leaves int64");
                break;
            }
        if (e)
            break;
        if (!fresh) {
            if (!row_unpack(&v, 2, base)) {
                e = err_set(msg, ERR_STORE_CORRUPT, "derived state: open amount row damaged");
                break;
            }
        }
        int64_t val[2] = {base[0], base[1]};
        if (!add_ok(&val[0], run[0]) || !add_ok(&val[1], run[1])) {
            e = err_set(msg, ERR_OVERFLOW, "derived state: open amount leaves int64");
            break;
        }
        uint8_t packed[ROW_PACKED_MAX];
        MDB_val nv = {row_pack(val, 2, packed), packed};
        if (fresh) {
            k_reset(&k);
            k_bytes(&k, prefix, 16);
            k_day(&k, day);
            kv = k_val(&k);
            rc = mdb_cursor_put(c, &kv, &nv, 0); /* the cursor is at the new row */
        } else {
            /* kv points into the page being rewritten: a row whose packed
               size changes is moved, so LMDB must be given a copy. */
            k_reset(&k);
            k_bytes(&k, kv.mv_data, kv.mv_size);
            kv = k_val(&k);
            rc = mdb_cursor_put(c, &kv, &nv, MDB_CURRENT);
        }
        if (rc) {
            e = db_err(rc, msg, "write open amounts");
            break;
        }
        rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT);
    }
    mdb_cursor_close(c);
    return e;
}

err_t derive_steps_apply(MDB_txn *txn, MDB_dbi dbi, const uint8_t *prefix,
                         const derive_step_t *steps, size_t n, err_msg_t *msg)
{
    return open_apply(txn, dbi, prefix, steps, n, msg);
}

static int64_t ind(int64_t open)
{
    return open != 0;
}

/* ---- batch caches: timelines and open-amount steps ----------------------------------- */

/*
 * While a batch is written (derive_batch_begin .. derive_batch_end, one write
 * transaction), an invoice's timeline is read from d_tl once and then kept
 * here, and the open-amount steps are gathered per d_open prefix and applied
 * once per prefix at derive_batch_flush: a busy prefix (a due day of the
 * whole book) is walked once per batch instead of once per movement.
 * Applying the gathered steps at once gives the same rows as applying them
 * one by one: a row is created at each step's day holding the value before
 * it, and each row then adds the steps at or before its day.
 */

typedef struct bent {
    uint64_t hash;
    uint32_t klen;
    tl_t tl;       /* tls: the invoice's timeline, ascending days */
    step_t *steps; /* opens: the batch's steps under the prefix */
    size_t n, cap; /* of steps */
    uint8_t key[];
} bent_t;

typedef struct bmap {
    bent_t **tab;
    size_t cap, n; /* cap: power of two, at most half full */
} bmap_t;

struct derive_batch {
    /* The write transaction the caches belong to. Atomic because readers
       on other threads compare their transaction with it. */
    _Atomic(MDB_txn *) txn;
    bool direct;     /* apply open steps and day rows at once (a retry after a
                        flush overflow) */
    bool overflowed; /* a day row's deltas left int64: the flush says so */
    int32_t max_day; /* the latest event day applied in the batch */
    bmap_t tls;      /* invoice number -> timeline */
    bmap_t opens;    /* d_open prefix (16 bytes) -> steps */
    rowagg_t *rows;  /* d_flows, d_sla, d_ftq deltas (store_rowagg.h) */
};

static uint64_t bhash(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    return h ^ (h >> 31);
}

static void bmap_clear(bmap_t *m)
{
    for (size_t i = 0; i < m->cap && m->n > 0; i++) {
        bent_t *e = m->tab[i];
        if (e == NULL)
            continue;
        free(e->tl.v);
        free(e->steps);
        free(e);
        m->tab[i] = NULL;
        m->n--;
    }
    /* A table grown by a big batch is dropped (small batches stay cheap). */
    if (m->cap > 4096) {
        free(m->tab);
        m->tab = NULL;
        m->cap = 0;
    }
}

static bool bmap_grow(bmap_t *m)
{
    size_t cap = m->cap ? m->cap * 2 : 256;
    bent_t **nt = calloc(cap, sizeof *nt);
    if (nt == NULL)
        return false;
    for (size_t i = 0; i < m->cap; i++) {
        bent_t *e = m->tab[i];
        if (e == NULL)
            continue;
        size_t j = (size_t)e->hash & (cap - 1);
        while (nt[j] != NULL)
            j = (j + 1) & (cap - 1);
        nt[j] = e;
    }
    free(m->tab);
    m->tab = nt;
    m->cap = cap;
    return true;
}

/* The entry for key, created empty when missing (*created); NULL: no memory. */
static bent_t *bmap_get(bmap_t *m, const uint8_t *key, size_t klen, bool *created)
{
    *created = false;
    if ((m->n + 1) * 2 > m->cap && !bmap_grow(m))
        return NULL;
    uint64_t h = bhash(key, klen);
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    for (; m->tab[i] != NULL; i = (i + 1) & mask) {
        bent_t *e = m->tab[i];
        if (e->hash == h && e->klen == klen && memcmp(e->key, key, klen) == 0)
            return e;
    }
    bent_t *e = calloc(1, sizeof *e + klen);
    if (e == NULL)
        return NULL;
    e->hash = h;
    e->klen = (uint32_t)klen;
    memcpy(e->key, key, klen);
    m->tab[i] = e;
    m->n++;
    *created = true;
    return e;
}

derive_batch_t *derive_batch_new(void)
{
    derive_batch_t *b = calloc(1, sizeof *b);
    static const rowagg_codec_t codec = {row_pack, row_unpack, ROW_PACKED_MAX};
    if (b != NULL && (b->rows = rowagg_new(&codec)) == NULL) {
        free(b);
        b = NULL;
    }
    return b;
}

void derive_batch_free(derive_batch_t *b)
{
    if (b == NULL)
        return;
    bmap_clear(&b->tls);
    bmap_clear(&b->opens);
    free(b->tls.tab);
    free(b->opens.tab);
    rowagg_free(b->rows);
    free(b);
}

void derive_batch_begin(const derive_t *d, MDB_txn *txn, bool direct)
{
    derive_batch_t *b = d->batch;
    if (b == NULL)
        return;
    /* One database at most is registered: cannot fail. */
    if (d->has_onow)
        (void)rowagg_drop_zero(b->rows, d->onow);
    bmap_clear(&b->tls);
    bmap_clear(&b->opens);
    rowagg_clear(b->rows);
    b->direct = direct;
    b->overflowed = false;
    b->max_day = INT32_MIN;
    atomic_store_explicit(&b->txn, txn, memory_order_relaxed);
}

void derive_batch_end(const derive_t *d)
{
    derive_batch_t *b = d->batch;
    if (b == NULL)
        return;
    bmap_clear(&b->tls);
    bmap_clear(&b->opens);
    rowagg_clear(b->rows);
    atomic_store_explicit(&b->txn, NULL, memory_order_relaxed);
}

/* The batch caches when txn is the batch's transaction, else NULL. */
static derive_batch_t *batch_of(const derive_t *d, MDB_txn *txn)
{
    derive_batch_t *b = d->batch;
    if (b == NULL || atomic_load_explicit(&b->txn, memory_order_relaxed) != txn)
        return NULL;
    return b;
}

static bool batch_row_add(const derive_t *d, MDB_txn *txn, MDB_dbi dbi, const key_t_ *k,
                          const int64_t *add, size_t n, err_t *e)
{
    derive_batch_t *b = batch_of(d, txn);
    if (b == NULL || b->direct)
        return false;
    *e = b->overflowed ? ERR_OK : rowagg_add(b->rows, dbi, k->b, k->n, add, n);
    if (*e == ERR_OVERFLOW) {
        /* Not this event's fault as far as anyone knows yet: the flush
           reports it and the batch runs again per event. */
        b->overflowed = true;
        *e = ERR_OK;
    }
    return true;
}

static int bent_key_cmp(const void *a, const void *b)
{
    const bent_t *x = *(bent_t *const *)a, *y = *(bent_t *const *)b;
    return memcmp(x->key, y->key, 16);
}

static int step_cmp(const void *a, const void *b)
{
    const step_t *x = a, *y = b;
    return x->day < y->day ? -1 : x->day > y->day;
}

err_t derive_batch_flush(const derive_t *d, MDB_txn *txn, err_msg_t *msg)
{
    derive_batch_t *b = batch_of(d, txn);
    if (b == NULL)
        return ERR_OK;
    if (b->overflowed)
        return err_set(msg, ERR_OVERFLOW, "derived state: a day row leaves int64");
    if (b->max_day != INT32_MIN) {
        MDB_val mk = {7, (void *)"max_day"}, mv;
        int32_t have = INT32_MIN;
        int rc = store_tx_get(d->wc, txn, d->meta, &mk, &mv);
        if (rc == 0 && mv.mv_size == sizeof have)
            memcpy(&have, mv.mv_data, sizeof have);
        else if (rc && rc != MDB_NOTFOUND)
            return db_err(rc, msg, "read max day");
        if (b->max_day > have) {
            mv.mv_size = sizeof b->max_day;
            mv.mv_data = &b->max_day;
            if ((rc = store_tx_put(d->wc, txn, d->meta, &mk, &mv)) != 0)
                return db_err(rc, msg, "write max day");
        }
        b->max_day = INT32_MIN;
    }
    int lrc;
    err_t re = rowagg_flush(b->rows, txn, &lrc);
    if (re == ERR_IO)
        return db_err(lrc, msg, "write day rows");
    if (re)
        return err_set(msg, re, "derived state: %s",
                       re == ERR_OVERFLOW ? "a day row leaves int64" : "damaged day row");
    if (b->opens.n == 0)
        return ERR_OK;
    bent_t **v = malloc(b->opens.n * sizeof *v);
    if (v == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    size_t n = 0;
    for (size_t i = 0; i < b->opens.cap; i++)
        if (b->opens.tab[i] != NULL)
            v[n++] = b->opens.tab[i];
    qsort(v, n, sizeof *v, bent_key_cmp);
    err_t e = ERR_OK;
    for (size_t i = 0; i < n && !e; i++) {
        qsort(v[i]->steps, v[i]->n, sizeof *v[i]->steps, step_cmp);
        e = open_apply(txn, d->open, v[i]->key, v[i]->steps, v[i]->n, msg);
    }
    free(v);
    if (!e)
        bmap_clear(&b->opens);
    return e;
}

/* Gather steps under a d_open prefix (16 bytes) for the flush. */
static err_t batch_steps(derive_batch_t *b, const uint8_t *prefix, const step_t *steps, size_t n,
                         err_msg_t *msg)
{
    bool created;
    bent_t *e = bmap_get(&b->opens, prefix, 16, &created);
    if (e == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    if (e->n + n > e->cap) {
        size_t cap = e->cap ? e->cap * 2 : 4;
        while (cap < e->n + n)
            cap *= 2;
        step_t *nv = realloc(e->steps, cap * sizeof *nv);
        if (nv == NULL)
            return err_set(msg, ERR_NOMEM, "out of memory");
        e->steps = nv;
        e->cap = cap;
    }
    memcpy(e->steps + e->n, steps, n * sizeof *steps);
    e->n += n;
    return ERR_OK;
}

/* The invoice's timeline kept for the batch (loaded on first use). */
static err_t batch_tl(const derive_t *d, derive_batch_t *b, MDB_txn *txn, const char *number,
                      tl_t **out, err_msg_t *msg)
{
    bool created;
    bent_t *e = bmap_get(&b->tls, (const uint8_t *)number, strlen(number), &created);
    if (e == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    if (created) {
        /* Nothing of this invoice's timeline was written in this batch yet,
           so LMDB's rows are its timeline. */
        err_t r = tl_load(d, txn, number, &e->tl, msg);
        if (r) {
            free(e->tl.v);
            e->tl = (tl_t){0};
            /* Drop nothing else: the batch is aborted on any error. */
            return r;
        }
    }
    *out = &e->tl;
    return ERR_OK;
}

/* Set the delta at `day` in a kept timeline (0 removes it). */
static bool tl_set(tl_t *t, int32_t day, int64_t delta)
{
    size_t i = 0;
    while (i < t->n && t->v[i].day < day)
        i++;
    if (i < t->n && t->v[i].day == day) {
        if (delta != 0) {
            t->v[i].delta = delta;
        } else {
            memmove(t->v + i, t->v + i + 1, (t->n - i - 1) * sizeof *t->v);
            t->n--;
        }
        return true;
    }
    if (delta == 0)
        return true;
    if (!tl_push(t, day, delta))
        return false;
    memmove(t->v + i + 1, t->v + i, (t->n - 1 - i) * sizeof *t->v);
    t->v[i].day = day;
    t->v[i].delta = delta;
    return true;
}

/*
 * Change invoice `number` (state st) by x on day eff: update its timeline and
 * the open-amount rows of both bases, for (unit|all) x (party|all).
 */
static err_t inv_move(const derive_t *d, MDB_txn *txn, const dstate_t *st, const char *number,
                      int32_t eff, int64_t x, err_msg_t *msg)
{
    tl_t own = {0}, *tp = &own;
    derive_batch_t *b = batch_of(d, txn);
    err_t e =
        b != NULL ? batch_tl(d, b, txn, number, &tp, msg) : tl_load(d, txn, number, &own, msg);
    const tl_t t = *tp; /* read below; the kept copy is updated at the end */
    step_t *steps = NULL;
    if (e)
        goto out;
    /* Change points: eff and every later timeline day. */
    steps = malloc((t.n + 1) * sizeof *steps);
    if (steps == NULL) {
        e = err_set(msg, ERR_NOMEM, "out of memory");
        goto out;
    }
    int64_t old_open = 0;
    size_t i = 0;
    for (; i < t.n && t.v[i].day < eff; i++)
        if (!add_ok(&old_open, t.v[i].delta)) {
            e = err_set(msg, ERR_OVERFLOW, "invoice %s: open amount leaves int64", number);
            goto out;
        }
    size_t ns = 0;
    int64_t prev_dc = 0; /* count difference (new - old) in force before this point */
    int64_t old_at = old_open;
    bool first = true;
    int32_t day = eff;
    int64_t saved_delta = 0;
    for (;;) {
        if (i < t.n && t.v[i].day == day) {
            saved_delta = t.v[i].delta;
            i++;
        } else {
            saved_delta = 0;
        }
        int64_t new_at;
        if (!add_ok(&old_at, saved_delta) || __builtin_add_overflow(old_at, x, &new_at)) {
            e = err_set(msg, ERR_OVERFLOW, "invoice %s: open amount leaves int64", number);
            goto out;
        }
        int64_t dc = ind(new_at) - ind(old_at);
        step_t s = {day, first ? x : 0, dc - prev_dc};
        if (s.amount != 0 || s.count != 0)
            steps[ns++] = s;
        prev_dc = dc;
        first = false;
        if (i >= t.n)
            break;
        day = t.v[i].day;
    }
    /* The invoice's total after x, summed in this order (x first) so that
       an intermediate overflow is refused the same way in every mode. */
    int64_t total = x;
    for (size_t j = 0; st->party != 0 && j < t.n; j++)
        if (!add_ok(&total, t.v[j].delta)) {
            e = err_set(msg, ERR_OVERFLOW, "invoice %s: open amount leaves int64", number);
            goto out;
        }
    /* Timeline row at eff. */
    {
        int64_t cur = 0;
        for (size_t j = 0; j < t.n; j++)
            if (t.v[j].day == eff)
                cur = t.v[j].delta;
        if (!add_ok(&cur, x)) {
            e = err_set(msg, ERR_OVERFLOW, "invoice %s: open amount leaves int64", number);
            goto out;
        }
        key_t_ k;
        tl_key(&k, number, eff);
        MDB_val kv = k_val(&k), v = {sizeof cur, &cur};
        int rc = cur == 0 ? store_tx_del(d->wc, txn, d->tl, &kv)
                          : store_tx_put(d->wc, txn, d->tl, &kv, &v);
        if (rc && rc != MDB_NOTFOUND) {
            e = db_err(rc, msg, "write timeline");
            goto out;
        }
        /* t is not read after this point: the kept timeline may move. */
        if (b != NULL && !tl_set(tp, eff, cur)) {
            e = err_set(msg, ERR_NOMEM, "out of memory");
            goto out;
        }
    }
    /* The customer's open-now index follows the invoice's total. */
    if (st->party != 0) {
        key_t_ k;
        k_reset(&k);
        k_u32(&k, st->party);
        k_bytes(&k, number, strlen(number));
        MDB_val kv = k_val(&k), v = {0, (void *)""};
        int rc = total != 0 ? store_tx_put(d->wc, txn, d->copen, &kv, &v)
                            : store_tx_del(d->wc, txn, d->copen, &kv);
        if (rc && rc != MDB_NOTFOUND) {
            e = db_err(rc, msg, "write open index");
            goto out;
        }
    }
    /* The open-now rows follow the invoice's total too: its amount and, when
       it opens or closes, its count, under its due day. */
    if (st->party != 0 && x != 0) {
        int64_t before;
        int64_t opened = __builtin_sub_overflow(total, x, &before) ? 1 : ind(before);
        int64_t add[2] = {x, ind(total) - opened};
        uint32_t ounits[2] = {st->unit, 0};
        for (int u = 0; u < 2 && !e; u++) {
            if (u == 0 && st->unit == 0)
                continue;
            key_t_ k;
            k_reset(&k);
            k_bytes(&k, st->cur, 3);
            k_u32(&k, ounits[u]);
            k_u32(&k, st->party);
            k_day(&k, st->due_day);
            e = row_add(d, txn, d->onow, &k, add, 2, msg);
        }
        if (e)
            goto out;
    }
    /* The same steps, summed over every basis day, as day flows. */
    for (size_t j = 0; j < ns && !e; j++) {
        int64_t add[F_COUNT] = {0};
        add[F_OPEN_AMOUNT] = steps[j].amount;
        add[F_OPEN_COUNT] = steps[j].count;
        e = flow_row_add(d, txn, st->cur, st->unit, st->party, steps[j].day, add, msg);
    }
    /* Not yet due from eff to the due day (store_flows_t.current_ar). */
    if (!e && x != 0 && eff <= st->due_day) {
        int64_t add[F_COUNT] = {0};
        add[F_CURRENT_AR] = x;
        e = flow_row_add(d, txn, st->cur, st->unit, st->party, eff, add, msg);
        add[F_CURRENT_AR] = -x;
        if (!e && st->due_day < INT32_MAX)
            e = flow_row_add(d, txn, st->cur, st->unit, st->party, st->due_day + 1, add, msg);
    }
    uint32_t units[2] = {st->unit, 0}, parties[2] = {st->party, 0};
    int32_t basis_days[2] = {st->due_day, st->day0};
    for (int bs = 0; bs < 2 && !e; bs++)
        for (int u = 0; u < 2 && !e; u++)
            for (int p = 0; p < 2 && !e; p++) {
                if ((u == 0 && st->unit == 0) || (p == 0 && st->party == 0))
                    continue;
                key_t_ k;
                k_reset(&k);
                k_bytes(&k, st->cur, 3);
                k_u32(&k, units[u]);
                k_u32(&k, parties[p]);
                k_u8(&k, (uint8_t)bs);
                k_day(&k, basis_days[bs]);
                if (ns == 0)
                    continue;
                e = b != NULL && !b->direct ? batch_steps(b, k.b, steps, ns, msg)
                                            : open_apply(txn, d->open, k.b, steps, ns, msg);
            }
out:
    free(steps);
    free(own.v);
    return e;
}

/* ---- customers ------------------------------------------------------------------------ */

typedef struct rbuf {
    const uint8_t *p;
    size_t n, off;
    bool bad;
} rbuf_t;

static void r_raw(rbuf_t *r, void *p, size_t n)
{
    if (r->bad || r->n - r->off < n) {
        r->bad = true;
        memset(p, 0, n);
        return;
    }
    memcpy(p, r->p + r->off, n);
    r->off += n;
}

typedef struct cust {
    int64_t limit_s; /* T_NONE: no limit set */
    char limit_id[KPI_ID_MAX + 1];
    int64_t limit;
    char limit_cur[4];
    int64_t hold_s; /* T_NONE: never held */
    char hold_id[KPI_ID_MAX + 1];
    uint8_t on_hold;
    int32_t hold_day;
    char reason[KPI_TEXT_MAX + 1];
} cust_t;

static err_t cust_get(const derive_t *d, MDB_txn *txn, uint32_t party, cust_t *c, err_msg_t *msg)
{
    memset(c, 0, sizeof *c);
    c->limit_s = T_NONE;
    c->hold_s = T_NONE;
    key_t_ k;
    k_reset(&k);
    k_u32(&k, party);
    MDB_val kv = k_val(&k), v;
    int rc = store_tx_get(d->wc, txn, d->cust, &kv, &v);
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    if (rc)
        return db_err(rc, msg, "read customer");
    rbuf_t r = {v.mv_data, v.mv_size, 0, false};
    uint8_t l1 = 0, l2 = 0;
    uint16_t l3 = 0;
    r_raw(&r, &c->limit_s, 8);
    r_raw(&r, &c->limit, 8);
    r_raw(&r, c->limit_cur, 4);
    r_raw(&r, &c->hold_s, 8);
    r_raw(&r, &c->on_hold, 1);
    r_raw(&r, &c->hold_day, 4);
    r_raw(&r, &l1, 1);
    r_raw(&r, &l2, 1);
    r_raw(&r, &l3, 2);
    if (l1 > KPI_ID_MAX || l2 > KPI_ID_MAX || l3 > KPI_TEXT_MAX)
        r.bad = true;
    else {
        r_raw(&r, c->limit_id, l1);
        r_raw(&r, c->hold_id, l2);
        r_raw(&r, c->reason, l3);
    }
    c->limit_cur[3] = '\0';
    if (r.bad || r.off != r.n)
        return err_set(msg, ERR_STORE_CORRUPT, "derived state: customer record damaged");
    return ERR_OK;
}

static err_t cust_put(const derive_t *d, MDB_txn *txn, uint32_t party, const cust_t *c,
                      err_msg_t *msg)
{
    uint8_t buf[64 + 2 * KPI_ID_MAX + KPI_TEXT_MAX];
    size_t n = 0;
    uint8_t l1 = (uint8_t)strlen(c->limit_id), l2 = (uint8_t)strlen(c->hold_id);
    uint16_t l3 = (uint16_t)strlen(c->reason);
#define PUT(p, len)                                                                                \
    do {                                                                                           \
        memcpy(buf + n, (p), (len));                                                               \
        n += (len);                                                                                \
    } while (0)
    PUT(&c->limit_s, 8);
    PUT(&c->limit, 8);
    PUT(c->limit_cur, 4);
    PUT(&c->hold_s, 8);
    PUT(&c->on_hold, 1);
    PUT(&c->hold_day, 4);
    PUT(&l1, 1);
    PUT(&l2, 1);
    PUT(&l3, 2);
    PUT(c->limit_id, l1);
    PUT(c->hold_id, l2);
    PUT(c->reason, l3);
#undef PUT
    key_t_ k;
    k_reset(&k);
    k_u32(&k, party);
    MDB_val kv = k_val(&k), v = {n, buf};
    int rc = store_tx_put(d->wc, txn, d->cust, &kv, &v);
    return rc ? db_err(rc, msg, "write customer") : ERR_OK;
}

static err_t apply_credit(const derive_t *d, MDB_txn *txn, const kpi_event_t *ev,
                          const derive_ctx_t *cx, int32_t day, err_msg_t *msg)
{
    if (cx->party == 0)
        return err_set(msg, ERR_INTERNAL, "derived state: credit event without a customer");
    cust_t *c = malloc(sizeof *c);
    if (c == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    err_t e = cust_get(d, txn, cx->party, c, msg);
    if (e == ERR_NOT_FOUND)
        e = ERR_OK;
    bool changed = false;
    if (!e && ev->type == KPI_EV_CREDIT_LIMIT_SET) {
        /* The latest limit by (time, id) stands, whatever the arrival order. */
        if (c->limit_s == T_NONE || cmp_time_id(ev->time_s, ev->id, c->limit_s, c->limit_id) > 0) {
            c->limit_s = ev->time_s;
            snprintf(c->limit_id, sizeof c->limit_id, "%s", ev->id);
            c->limit = ev->amount_minor;
            memcpy(c->limit_cur, cx->currency, 4);
            changed = true;
        }
    } else if (!e) {
        if (c->hold_s == T_NONE || cmp_time_id(ev->time_s, ev->id, c->hold_s, c->hold_id) > 0) {
            c->hold_s = ev->time_s;
            snprintf(c->hold_id, sizeof c->hold_id, "%s", ev->id);
            c->on_hold = ev->type == KPI_EV_CREDIT_HOLD_SET;
            c->hold_day = day;
            snprintf(c->reason, sizeof c->reason, "%s", ev->text ? ev->text : "");
            changed = true;
        }
    }
    if (!e && changed)
        e = cust_put(d, txn, cx->party, c, msg);
    free(c);
    return e;
}

static err_t habits_add(const derive_t *d, MDB_txn *txn, const dstate_t *inv, int64_t amount,
                        int32_t app_day, err_msg_t *msg)
{
    if (inv->party == 0)
        return ERR_OK;
    key_t_ k;
    k_reset(&k);
    k_u32(&k, inv->party);
    k_bytes(&k, inv->cur, 3);
    MDB_val kv = k_val(&k), v;
    kpi_habits_acc_t acc = {0};
    int rc = store_tx_get(d->wc, txn, d->habit, &kv, &v);
    if (rc == 0 && v.mv_size == sizeof acc)
        memcpy(&acc, v.mv_data, sizeof acc);
    else if (rc != MDB_NOTFOUND)
        return rc ? db_err(rc, msg, "read habits")
                  : err_set(msg, ERR_STORE_CORRUPT, "derived state: habits damaged");
    kpi_habits_add(&acc, amount, app_day, inv->day0, inv->due_day);
    v.mv_size = sizeof acc;
    v.mv_data = &acc;
    rc = store_tx_put(d->wc, txn, d->habit, &kv, &v);
    return rc ? db_err(rc, msg, "write habits") : ERR_OK;
}

static err_t cidx_add(const derive_t *d, MDB_txn *txn, uint32_t party, kpi_doc_kind_t kind,
                      const char *number, err_msg_t *msg)
{
    if (party == 0)
        return ERR_OK;
    key_t_ k;
    k_reset(&k);
    k_u32(&k, party);
    k_u8(&k, (uint8_t)kind);
    k_bytes(&k, number, strlen(number));
    MDB_val kv = k_val(&k), v = {0, (void *)""};
    int rc = store_tx_put(d->wc, txn, d->cidx, &kv, &v);
    return rc ? db_err(rc, msg, "write customer index") : ERR_OK;
}

/* ---- applying events --------------------------------------------------------------------- */

static void st_new(dstate_t *s, kpi_doc_kind_t kind, const kpi_event_t *ev, const derive_ctx_t *cx,
                   int32_t day)
{
    st_blank(s, ev->time_s, day);
    s->kind = (uint8_t)kind;
    memcpy(s->cur, cx->currency, 4);
    s->unit = cx->unit;
    s->party = cx->party;
    if (ev->flags & KPI_EVF_DUE)
        s->due_day = ev->due_day;
    else if (ev->flags & KPI_EVF_TERMS)
        s->due_day = day + ev->terms_days;
    else
        s->due_day = day;
    if (ev->flags & KPI_EVF_AMOUNT)
        s->amount = ev->amount_minor;
}

/* A movement on an invoice: effective from max(its day, issue day). */
static err_t inv_movement(const derive_t *d, MDB_txn *txn, dstate_t *inv, const char *number,
                          int32_t day, int field, int64_t flow_amount, int64_t open_delta,
                          err_msg_t *msg)
{
    int32_t eff = day > inv->day0 ? day : inv->day0;
    err_t e = flow_add(d, txn, inv->cur, inv->unit, inv->party, eff, field, flow_amount, -1, msg);
    return e ? e : inv_move(d, txn, inv, number, eff, open_delta, msg);
}

static err_t inv_correct(const derive_t *d, MDB_txn *txn, dstate_t *inv, const char *number,
                         err_msg_t *msg)
{
    err_t e = ftq_contrib(d, txn, inv, -1, msg);
    if (e)
        return e;
    inv->corrections++;
    e = ftq_contrib(d, txn, inv, +1, msg);
    return e ? e : st_put(d, txn, number, inv, msg);
}

err_t derive_apply(const derive_t *d, MDB_txn *txn, const kpi_event_t *ev, const derive_ctx_t *cx,
                   err_msg_t *msg)
{
    int32_t day = ev_day(d, ev);
    /* A rate changes no document: not an event day of the book (max_day). */
    if (ev->type == KPI_EV_FX_RATE)
        return derive_fx_apply(d, txn, ev, day, msg);
    /* Nor does a name. */
    if (kpi_ev_is_profile(ev->type))
        return derive_party_apply(d, txn, ev, cx->party, msg);
    int64_t amt = (ev->flags & KPI_EVF_AMOUNT) ? ev->amount_minor : 0;
    derive_batch_t *batch = batch_of(d, txn);
    if (batch != NULL) {
        /* Written once, at the flush. */
        if (day > batch->max_day)
            batch->max_day = day;
    } else {
        MDB_val mk = {7, (void *)"max_day"}, mv;
        int32_t have = INT32_MIN;
        int rc = store_tx_get(d->wc, txn, d->meta, &mk, &mv);
        if (rc == 0 && mv.mv_size == sizeof have)
            memcpy(&have, mv.mv_data, sizeof have);
        else if (rc && rc != MDB_NOTFOUND)
            return db_err(rc, msg, "read max day");
        if (day > have) {
            mv.mv_size = sizeof day;
            mv.mv_data = &day;
            if ((rc = store_tx_put(d->wc, txn, d->meta, &mk, &mv)) != 0)
                return db_err(rc, msg, "write max day");
        }
    }
    dstate_t *st = malloc(2 * sizeof *st);
    if (st == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    dstate_t *inv = st + 1;
    err_t e = ERR_OK;
    kpi_doc_kind_t kind = kpi_ev_doc_kind(ev->type);

    if (kpi_ev_creates_doc(ev->type)) {
        e = st_get(d, txn, kind, ev->doc, st, msg);
        if (e == ERR_OK) {
            e = err_set(msg, ERR_INTERNAL, "derived state: %s %s created twice",
                        kpi_doc_kind_name(kind), ev->doc);
            goto out;
        }
        if (e != ERR_NOT_FOUND)
            goto out;
        e = ERR_OK;
        st_new(st, kind, ev, cx, day);
    } else if (kind != KPI_DOC_NONE) {
        e = st_need(d, txn, kind, ev->doc, st, msg);
        if (e)
            goto out;
    }

    switch (ev->type) {
    case KPI_EV_INVOICE_ISSUED:
        e = flow_add(d, txn, st->cur, st->unit, st->party, day, F_SALES, amt, F_INVOICES, msg);
        if (!e)
            e = cidx_add(d, txn, st->party, KPI_DOC_INVOICE, ev->doc, msg);
        if (!e)
            e = inv_move(d, txn, st, ev->doc, day, amt, msg);
        break;
    case KPI_EV_INVOICE_REVIEWED:
        if (st->review_s == T_NONE ||
            cmp_time_id(ev->time_s, ev->id, st->review_s, st->review_id) < 0) {
            e = ftq_contrib(d, txn, st, -1, msg);
            st->review_s = ev->time_s;
            st->review_day = day;
            st->review_result = ev->result;
            snprintf(st->review_id, sizeof st->review_id, "%s", ev->id);
            if (!e)
                e = ftq_contrib(d, txn, st, +1, msg);
        }
        break;
    case KPI_EV_INVOICE_ADJUSTED:
        e = inv_movement(d, txn, st, ev->doc, day, F_ADJ, amt, amt, msg);
        if (!e) {
            e = ftq_contrib(d, txn, st, -1, msg);
            st->corrections++;
            if (!e)
                e = ftq_contrib(d, txn, st, +1, msg);
        }
        break;
    case KPI_EV_INVOICE_WRITTEN_OFF:
        e = inv_movement(d, txn, st, ev->doc, day, F_WRITE_OFFS, amt, -amt, msg);
        break;
    case KPI_EV_CREDIT_NOTE_ISSUED:
        if (ev->ref != NULL) {
            e = st_need(d, txn, KPI_DOC_INVOICE, ev->ref, inv, msg);
            if (!e)
                e = inv_movement(d, txn, inv, ev->ref, day, F_CREDITS, amt, -amt, msg);
            if (!e)
                e = inv_correct(d, txn, inv, ev->ref, msg);
        } else {
            e = flow_add(d, txn, st->cur, st->unit, st->party, day, F_UNALLOCATED, amt, -1, msg);
        }
        break;
    case KPI_EV_PAYMENT_RECEIVED:
        e = flow_add(d, txn, st->cur, st->unit, st->party, day, F_RECEIVED, amt, -1, msg);
        break;
    case KPI_EV_PAYMENT_APPLIED:
        e = st_need(d, txn, KPI_DOC_INVOICE, ev->ref, inv, msg);
        if (!e)
            e = inv_movement(d, txn, inv, ev->ref, day, F_APPLIED, amt, -amt, msg);
        if (!e)
            e = habits_add(d, txn, inv, amt, day, msg);
        /* fall through: the payment side */
        if (!e)
            e = flow_add(d, txn, st->cur, st->unit, st->party, day, F_APPLIED_OUT, amt, -1, msg);
        if (!e && (!add_ok(&st->done, amt)))
            e = err_set(msg, ERR_OVERFLOW, "payment %s: applied total leaves int64", ev->doc);
        if (ev->time_s > st->done_max_s)
            st->done_max_s = ev->time_s;
        break;
    case KPI_EV_PAYMENT_REFUNDED:
        e = flow_add(d, txn, st->cur, st->unit, st->party, day, F_REFUNDS, amt, -1, msg);
        if (!e && (!add_ok(&st->done, amt)))
            e = err_set(msg, ERR_OVERFLOW, "payment %s: refunded total leaves int64", ev->doc);
        if (ev->time_s > st->done_max_s)
            st->done_max_s = ev->time_s;
        break;
    case KPI_EV_DISPUTE_OPENED:
        e = cidx_add(d, txn, st->party, KPI_DOC_DISPUTE, ev->doc, msg);
        break;
    case KPI_EV_CREDIT_LIMIT_SET:
    case KPI_EV_CREDIT_HOLD_SET:
    case KPI_EV_CREDIT_HOLD_RELEASED: e = apply_credit(d, txn, ev, cx, day, msg); goto out;
    case KPI_EV_BILL_RECEIVED:
    case KPI_EV_BILL_PAID: {
        /* A payment counts from the bill's receipt day on, as DPO's AP does. */
        bool paid = ev->type == KPI_EV_BILL_PAID;
        int32_t eff = paid && day < st->day0 ? st->day0 : day;
        e = flow_add(d, txn, st->cur, st->unit, st->party, eff, paid ? F_BILLS_PAID : F_PURCHASES,
                     amt, -1, msg);
        derive_bill_t bill = {ev->doc, st->cur, st->unit, st->party, st->due_day, st->day0};
        if (!e)
            e = derive_ap_move(d, txn, &bill, eff, paid ? -amt : amt, msg);
        break;
    }
    case KPI_EV_BILL_REJECTED:
    case KPI_EV_BILL_ESCALATED:
    case KPI_EV_BILL_PROCESSED: {
        int64_t proc_s = st->proc_s, rej_s = st->rej_s;
        int32_t proc_day = st->proc_day;
        if (ev->type == KPI_EV_BILL_PROCESSED && ev->time_s < proc_s) {
            proc_s = ev->time_s;
            proc_day = day;
        } else if (ev->type != KPI_EV_BILL_PROCESSED && ev->time_s < rej_s) {
            rej_s = ev->time_s;
        }
        if (proc_s != st->proc_s || rej_s != st->rej_s) {
            e = ftq_contrib(d, txn, st, -1, msg);
            st->proc_s = proc_s;
            st->proc_day = proc_day;
            st->rej_s = rej_s;
            if (!e)
                e = ftq_contrib(d, txn, st, +1, msg);
        }
        break;
    }
    case KPI_EV_DISPUTE_RESOLVED:
    case KPI_EV_INQUIRY_OPENED:
    case KPI_EV_INQUIRY_RESOLVED: break;
    case KPI_EV_FX_RATE: /* handled before any document is read */
    case KPI_EV_CUSTOMER_UPDATED:
    case KPI_EV_VENDOR_UPDATED:
    case KPI_EV_NONE:
    case KPI_EV_COUNT: e = err_set(msg, ERR_INTERNAL, "derived state: event of no type"); goto out;
    }
    if (!e)
        e = sla_update(d, txn, st, ev, day, msg);
    if (!e)
        e = st_put(d, txn, ev->doc, st, msg);
out:
    free(st);
    return e;
}

/* ---- open / clear ---------------------------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t config_fingerprint(const derive_t *d)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < d->n_slas; i++) {
        const kpi_sla_def_t *s = &d->slas[i];
        h = fnv(h, s->name, strlen(s->name) + 1);
        int32_t v[6] = {s->start_point, s->stop_point,           s->start_type,
                        s->stop_type,   (int32_t)s->target.unit, s->target.amount};
        h = fnv(h, v, sizeof v);
    }
    h = fnv(h, &d->cal.weekend_mask, 1);
    for (size_t i = 0; i < d->cal.n_holidays; i++)
        h = fnv(h, &d->cal.holidays[i], sizeof(int32_t));
    return h;
}

err_t derive_open(derive_t *d, MDB_txn *txn, const derive_config_t *cfg, bool create, bool adopt,
                  err_msg_t *msg)
{
    memset(d, 0, sizeof *d);
    d->tz = cfg->tz;
    d->cal = cfg->cal;
    if (d->cal.weekend_mask == 0)
        d->cal.weekend_mask = 0x60;
    if (cfg->slas != NULL) {
        if (cfg->n_slas > KPI_SLAS_MAX)
            return err_set(msg, ERR_CONFIG, "at most %d SLAs can be defined", KPI_SLAS_MAX);
        memcpy(d->slas, cfg->slas, cfg->n_slas * sizeof *cfg->slas);
        d->n_slas = cfg->n_slas;
    } else {
        d->n_slas = kpi_sla_defaults(d->slas, KPI_SLAS_MAX);
    }
    static const char *const names[DERIVE_DB_COUNT] = {"d_flows", "d_open", "d_tl",    "d_sla",
                                                       "d_ftq",   "d_cust", "d_habit", "d_cidx",
                                                       "d_copen", "d_meta"};
    MDB_dbi *dbis[DERIVE_DB_COUNT] = {&d->flows, &d->open,  &d->tl,   &d->sla,   &d->ftq,
                                      &d->cust,  &d->habit, &d->cidx, &d->copen, &d->meta};
    for (size_t i = 0; i < DERIVE_DB_COUNT; i++) {
        int rc = mdb_dbi_open(txn, names[i], create ? MDB_CREATE : 0, dbis[i]);
        if (rc == MDB_NOTFOUND)
            return err_set(msg, ERR_STORE_CORRUPT, "the store has no %s database", names[i]);
        if (rc)
            return db_err(rc, msg, "open database");
    }
    /* Added after format 3 first shipped: created on a writable open,
       absent (no rates) on a read-only one of an older store. */
    int frc = mdb_dbi_open(txn, "d_fx", create ? MDB_CREATE : 0, &d->fx);
    if (frc && frc != MDB_NOTFOUND)
        return db_err(frc, msg, "open database");
    d->has_fx = frc == 0;
    err_t ae = derive_ap_open(d, txn, create, msg);
    if (ae)
        return ae;
    int prc = mdb_dbi_open(txn, "d_party", create ? MDB_CREATE : 0, &d->party);
    if (prc && prc != MDB_NOTFOUND)
        return db_err(prc, msg, "open database");
    d->has_party = prc == 0;
    int orc = mdb_dbi_open(txn, "d_onow", create ? MDB_CREATE : 0, &d->onow);
    if (orc && orc != MDB_NOTFOUND)
        return db_err(orc, msg, "open database");
    d->has_onow = orc == 0;
    uint64_t fp = config_fingerprint(d);
    MDB_val k = {6, (void *)"config"}, v;
    int rc = mdb_get(txn, d->meta, &k, &v);
    /* Derived state starting now (a new store) has d_onow from its first
       event; an older store's is empty until a rebuild fills it. */
    if (rc == MDB_NOTFOUND && create && d->has_onow) {
        MDB_val ok = {4, (void *)"onow"}, ov = {1, (void *)"1"};
        int wrc = mdb_put(txn, d->meta, &ok, &ov, 0);
        if (wrc)
            return db_err(wrc, msg, "write derived state marker");
    }
    if (rc == 0 && !adopt) {
        uint64_t have;
        if (v.mv_size != sizeof have)
            return err_set(msg, ERR_STORE_CORRUPT, "derived state: config fingerprint damaged");
        memcpy(&have, v.mv_data, sizeof have);
        if (have != fp)
            return err_set(msg, ERR_CONFIG,
                           "the SLA definitions or holiday calendar differ from those the "
                           "store's KPIs were computed with; run `kpid rebuild` with the new "
                           "configuration");
        return ERR_OK;
    }
    if (rc != 0 && rc != MDB_NOTFOUND)
        return db_err(rc, msg, "read derived config");
    if (!create && !adopt)
        return ERR_OK;
    v.mv_size = sizeof fp;
    v.mv_data = &fp;
    rc = mdb_put(txn, d->meta, &k, &v, 0);
    return rc ? db_err(rc, msg, "write derived config") : ERR_OK;
}

err_t derive_clear(const derive_t *d, MDB_txn *txn, err_msg_t *msg)
{
    /* Each document's derived state lives in its `docs` row, which the
       store clears itself. */
    MDB_dbi dbis[] = {d->flows, d->open,  d->tl,   d->sla,  d->ftq,
                      d->cust,  d->habit, d->cidx, d->copen};
    for (size_t i = 0; i < sizeof dbis / sizeof dbis[0]; i++) {
        int rc = mdb_drop(txn, dbis[i], 0);
        if (rc)
            return db_err(rc, msg, "clear derived state");
    }
    if (d->has_fx) {
        int rc = mdb_drop(txn, d->fx, 0);
        if (rc)
            return db_err(rc, msg, "clear derived state");
    }
    err_t ae = derive_ap_clear(d, txn, msg);
    if (ae)
        return ae;
    if (d->has_party) {
        int rc = mdb_drop(txn, d->party, 0);
        if (rc)
            return db_err(rc, msg, "clear derived state");
    }
    if (d->has_onow) {
        /* Rebuilt with everything else from here on. */
        MDB_val ok = {4, (void *)"onow"}, ov = {1, (void *)"1"};
        int rc = mdb_drop(txn, d->onow, 0);
        if (!rc)
            rc = mdb_put(txn, d->meta, &ok, &ov, 0);
        if (rc)
            return db_err(rc, msg, "clear derived state");
    }
    MDB_val mk = {7, (void *)"max_day"};
    int rc = mdb_del(txn, d->meta, &mk, NULL);
    return rc && rc != MDB_NOTFOUND ? db_err(rc, msg, "clear derived state") : ERR_OK;
}

/* ---- queries -------------------------------------------------------------------------------- */

/*
 * Walk the rows under `prefix` (plen bytes, then a day) in day order and
 * fill out[i] with the sum of rows whose day <= days[i].
 */
static err_t cumulative(MDB_txn *txn, MDB_dbi dbi, const uint8_t *prefix, size_t plen,
                        const int32_t *days, size_t n, int64_t *out, size_t width)
{
    for (size_t i = 1; i < n; i++)
        if (days[i] < days[i - 1])
            return ERR_BAD_PARAM;
    if (n == 0)
        return ERR_OK;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, dbi, &c);
    if (rc)
        return ERR_IO;
    int64_t run[ROW_MAX_COLS] = {0};
    key_t_ k;
    k_reset(&k);
    k_bytes(&k, prefix, plen);
    k_day(&k, INT32_MIN);
    MDB_val kv = k_val(&k), v;
    size_t i = 0;
    err_t e = ERR_OK;
    for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); rc == 0 && i < n;
         rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        if (kv.mv_size != plen + 4 || memcmp(kv.mv_data, prefix, plen) != 0)
            break;
        int32_t day = get_day((const uint8_t *)kv.mv_data + plen);
        while (i < n && days[i] < day) {
            memcpy(out + i * width, run, width * sizeof(int64_t));
            i++;
        }
        if (i == n) /* rows after the last day asked for are not read */
            break;
        e = width > ROW_MAX_COLS ? ERR_STORE_CORRUPT : row_accum(&v, width, run);
        if (e)
            break;
    }
    if (!e && rc != 0 && rc != MDB_NOTFOUND)
        e = ERR_IO;
    mdb_cursor_close(c);
    for (; !e && i < n; i++)
        memcpy(out + i * width, run, width * sizeof(int64_t));
    return e;
}

static size_t scope_prefix(uint8_t *p, const derive_scope_t *sc)
{
    key_t_ k;
    k_reset(&k);
    k_bytes(&k, sc->currency, 3);
    k_u32(&k, sc->unit);
    k_u32(&k, sc->party);
    memcpy(p, k.b, k.n);
    return k.n;
}

err_t derive_flows_cumulative(const derive_t *d, MDB_txn *txn, const derive_scope_t *sc,
                              const int32_t *days, size_t n, store_flows_t *out)
{
    uint8_t p[16];
    size_t plen = scope_prefix(p, sc);
    /* store_flows_t is F_COUNT int64s in column order (asserted above), as
       the SLA and FTQ counters below are. */
    return cumulative(txn, d->flows, p, plen, days, n, (int64_t *)out, F_COUNT);
}

err_t derive_flows_first_day(const derive_t *d, MDB_txn *txn, const derive_scope_t *sc,
                             int32_t *day)
{
    uint8_t p[16];
    size_t plen = scope_prefix(p, sc);
    MDB_cursor *c;
    if (mdb_cursor_open(txn, d->flows, &c))
        return ERR_IO;
    key_t_ k;
    k_reset(&k);
    k_bytes(&k, p, plen);
    k_day(&k, INT32_MIN);
    MDB_val kv = k_val(&k), v;
    int rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
    err_t e = ERR_NOT_FOUND;
    if (rc == 0 && kv.mv_size == plen + 4 && memcmp(kv.mv_data, p, plen) == 0) {
        *day = get_day((const uint8_t *)kv.mv_data + plen);
        e = ERR_OK;
    } else if (rc != 0 && rc != MDB_NOTFOUND) {
        e = ERR_IO;
    }
    mdb_cursor_close(c);
    return e;
}

err_t derive_open_groups(const derive_t *d, MDB_txn *txn, const derive_scope_t *sc,
                         store_basis_t basis, int32_t as_of, int32_t min_basis_day,
                         kpi_arena_t *arena, kpi_open_group_t **groups, size_t *n)
{
    return derive_steps_groups(txn, d->open, sc, basis, as_of, min_basis_day, arena, groups, n);
}

err_t derive_steps_groups(MDB_txn *txn, MDB_dbi dbi, const derive_scope_t *sc, store_basis_t basis,
                          int32_t as_of, int32_t min_basis_day, kpi_arena_t *arena,
                          kpi_open_group_t **groups, size_t *n)
{
    *groups = NULL;
    *n = 0;
    uint8_t p[16];
    size_t plen = scope_prefix(p, sc);
    p[plen++] = (uint8_t)basis; /* 12 bytes: cur unit party basis */
    MDB_cursor *c;
    if (mdb_cursor_open(txn, dbi, &c))
        return ERR_IO;
    kpi_open_group_t *v = NULL;
    size_t cap = 0, cnt = 0;
    err_t e = ERR_OK;
    /* One seek per basis day: the first row after (D, as_of) both ends D
       (the row before it is D's value as of as_of) and names the next basis
       day, so the walk never visits the rows in between. */
    if (as_of == INT32_MAX)
        as_of = INT32_MAX - 1;
    int32_t D = min_basis_day;
    for (;;) {
        key_t_ k;
        k_reset(&k);
        k_bytes(&k, p, plen);
        k_day(&k, D);
        k_day(&k, as_of + 1);
        MDB_val kv = k_val(&k), val;
        int rc = mdb_cursor_get(c, &kv, &val, MDB_SET_RANGE);
        if (rc && rc != MDB_NOTFOUND) {
            e = ERR_IO;
            break;
        }
        bool have_next = rc == 0 && kv.mv_size == plen + 8 && memcmp(kv.mv_data, p, plen) == 0;
        int32_t next = have_next ? get_day((const uint8_t *)kv.mv_data + plen) : 0;
        rc = rc == MDB_NOTFOUND ? mdb_cursor_get(c, &kv, &val, MDB_LAST)
                                : mdb_cursor_get(c, &kv, &val, MDB_PREV);
        if (rc && rc != MDB_NOTFOUND) {
            e = ERR_IO;
            break;
        }
        if (rc == 0 && kv.mv_size == plen + 8 && memcmp(kv.mv_data, p, plen) == 0 &&
            get_day((const uint8_t *)kv.mv_data + plen) == D) {
            int64_t cum[2];
            if (!row_unpack(&val, 2, cum)) {
                e = ERR_STORE_CORRUPT;
                break;
            }

            if (cum[0] != 0 || cum[1] != 0) {
                if (cnt == cap) {
                    size_t ncap = cap ? cap * 2 : 64;
                    kpi_open_group_t *nv = realloc(v, ncap * sizeof *nv);
                    if (nv == NULL) {
                        e = ERR_NOMEM;
                        break;
                    }
                    v = nv;
                    cap = ncap;
                }
                v[cnt].basis_day = D;
                v[cnt].amount = cum[0];
                v[cnt].count = cum[1];
                cnt++;
            }
        }
        if (!have_next)
            break;
        if (next > D)
            D = next;
        else if (D == INT32_MAX)
            break;
        else
            D++; /* D has rows after as_of: its successor is found by the next seek */
    }
    mdb_cursor_close(c);
    if (!e && cnt > 0) {
        *groups = kpi_arena_alloc(arena, cnt * sizeof **groups);
        if (*groups == NULL)
            e = ERR_NOMEM;
        else {
            memcpy(*groups, v, cnt * sizeof *v);
            *n = cnt;
        }
    }
    free(v);
    return e;
}

err_t derive_steps_parties(MDB_txn *txn, MDB_dbi dbi, const char currency[4], uint32_t unit,
                           derive_id_fn fn, void *ctx)
{
    MDB_cursor *c;
    if (mdb_cursor_open(txn, dbi, &c))
        return ERR_IO;
    err_t e = ERR_OK;
    /* One seek per party: the first row at or after (cur, unit, party)
       names the next party with rows. */
    uint32_t party = 1;
    for (;;) {
        key_t_ k;
        k_reset(&k);
        k_bytes(&k, currency, 3);
        k_u32(&k, unit);
        k_u32(&k, party);
        MDB_val kv = k_val(&k), v;
        int rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND)
            break;
        if (rc) {
            e = ERR_IO;
            break;
        }
        if (kv.mv_size != 20 || memcmp(kv.mv_data, k.b, 7) != 0)
            break;
        party = get_u32((const uint8_t *)kv.mv_data + 7);
        e = fn(ctx, party);
        if (e || party == UINT32_MAX)
            break;
        party++;
    }
    mdb_cursor_close(c);
    return e;
}

err_t derive_open_parties(const derive_t *d, MDB_txn *txn, const char currency[4], uint32_t unit,
                          derive_id_fn fn, void *ctx)
{
    return derive_steps_parties(txn, d->open, currency, unit, fn, ctx);
}

err_t derive_flow_has(const derive_t *d, MDB_txn *txn, const derive_scope_t *sc, bool *has)
{
    uint8_t p[16];
    size_t plen = scope_prefix(p, sc);
    MDB_cursor *c;
    if (mdb_cursor_open(txn, d->flows, &c))
        return ERR_IO;
    MDB_val kv = {plen, p}, v;
    int rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
    *has = rc == 0 && kv.mv_size == plen + 4 && memcmp(kv.mv_data, p, plen) == 0;
    mdb_cursor_close(c);
    return rc == 0 || rc == MDB_NOTFOUND ? ERR_OK : ERR_IO;
}

err_t derive_flow_units(const derive_t *d, MDB_txn *txn, const char currency[4], derive_id_fn fn,
                        void *ctx)
{
    MDB_cursor *c;
    if (mdb_cursor_open(txn, d->flows, &c))
        return ERR_IO;
    err_t e = ERR_OK;
    uint32_t unit = 1;
    for (;;) {
        key_t_ k;
        k_reset(&k);
        k_bytes(&k, currency, 3);
        k_u32(&k, unit);
        MDB_val kv = k_val(&k), v;
        int rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND)
            break;
        if (rc) {
            e = ERR_IO;
            break;
        }
        if (kv.mv_size != 15 || memcmp(kv.mv_data, currency, 3) != 0)
            break;
        unit = get_u32((const uint8_t *)kv.mv_data + 3);
        e = fn(ctx, unit);
        if (e || unit == UINT32_MAX)
            break;
        unit++;
    }
    mdb_cursor_close(c);
    return e;
}

err_t derive_flow_currencies(const derive_t *d, MDB_txn *txn, derive_code_fn fn, void *ctx)
{
    MDB_cursor *c;
    if (mdb_cursor_open(txn, d->flows, &c))
        return ERR_IO;
    err_t e = ERR_OK;
    /* Flow keys start with the 3-byte code: seek to the first key of each
       code, then past its last (the code's last byte plus one), so the cost
       is one seek per currency, not one per row. */
    uint8_t seek[3] = {0, 0, 0};
    for (;;) {
        MDB_val kv = {sizeof seek, seek}, v;
        int rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
        if (rc == MDB_NOTFOUND)
            break;
        if (rc || kv.mv_size < 3) {
            e = ERR_IO;
            break;
        }
        char code[4] = {0};
        memcpy(code, kv.mv_data, 3);
        e = fn(ctx, code);
        if (e)
            break;
        memcpy(seek, code, 3);
        int i = 2;
        while (i >= 0 && seek[i] == 0xFF)
            seek[i--] = 0;
        if (i < 0)
            break;
        seek[i]++;
    }
    mdb_cursor_close(c);
    return e;
}

err_t derive_sla_cumulative(const derive_t *d, MDB_txn *txn, size_t sla, uint32_t unit,
                            const int32_t *days, size_t n, store_sla_counts_t *out)
{
    if (sla >= d->n_slas)
        return ERR_NOT_FOUND;
    uint8_t p[5];
    p[0] = (uint8_t)sla;
    p[1] = (uint8_t)(unit >> 24);
    p[2] = (uint8_t)(unit >> 16);
    p[3] = (uint8_t)(unit >> 8);
    p[4] = (uint8_t)unit;
    _Static_assert(sizeof(store_sla_counts_t) == 4 * sizeof(int64_t), "layout");
    return cumulative(txn, d->sla, p, 5, days, n, (int64_t *)out, 4);
}

err_t derive_ftq_cumulative(const derive_t *d, MDB_txn *txn, store_ftq_kind_t kind, uint32_t unit,
                            const int32_t *days, size_t n, store_ftq_counts_t *out)
{
    uint8_t p[5];
    p[0] = (uint8_t)kind;
    p[1] = (uint8_t)(unit >> 24);
    p[2] = (uint8_t)(unit >> 16);
    p[3] = (uint8_t)(unit >> 8);
    p[4] = (uint8_t)unit;
    _Static_assert(sizeof(store_ftq_counts_t) == 2 * sizeof(int64_t), "layout");
    return cumulative(txn, d->ftq, p, 5, days, n, (int64_t *)out, 2);
}

err_t derive_customer(const derive_t *d, MDB_txn *txn, uint32_t party, derive_cust_t *out)
{
    cust_t *c = malloc(sizeof *c);
    if (c == NULL)
        return ERR_NOMEM;
    err_t e = cust_get(d, txn, party, c, NULL);
    if (!e) {
        memset(out, 0, sizeof *out);
        out->has_limit = c->limit_s != T_NONE;
        out->credit_limit = c->limit;
        memcpy(out->limit_currency, c->limit_cur, 4);
        out->on_hold = c->on_hold;
        out->hold_day = c->hold_day;
        snprintf(out->hold_reason, sizeof out->hold_reason, "%s", c->reason);
    }
    free(c);
    return e;
}

err_t derive_habits(const derive_t *d, MDB_txn *txn, uint32_t party, const char currency[4],
                    kpi_habits_acc_t *out)
{
    key_t_ k;
    k_reset(&k);
    k_u32(&k, party);
    k_bytes(&k, currency, 3);
    MDB_val kv = k_val(&k), v;
    memset(out, 0, sizeof *out);
    int rc = store_tx_get(d->wc, txn, d->habit, &kv, &v);
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    if (rc)
        return ERR_IO;
    if (v.mv_size != sizeof *out)
        return ERR_STORE_CORRUPT;
    memcpy(out, v.mv_data, sizeof *out);
    return ERR_OK;
}

err_t derive_customer_docs(const derive_t *d, MDB_txn *txn, uint32_t party, kpi_doc_kind_t kind,
                           derive_doc_fn fn, void *ctx)
{
    MDB_cursor *c;
    if (mdb_cursor_open(txn, d->cidx, &c))
        return ERR_IO;
    key_t_ k;
    k_reset(&k);
    k_u32(&k, party);
    k_u8(&k, (uint8_t)kind);
    MDB_val kv = k_val(&k), v;
    err_t e = ERR_OK;
    char number[KPI_NAME_MAX + 1];
    int rc;
    for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        if (kv.mv_size <= 5 || memcmp(kv.mv_data, k.b, 5) != 0)
            break;
        size_t len = kv.mv_size - 5;
        if (len > KPI_NAME_MAX) {
            e = ERR_STORE_CORRUPT;
            break;
        }
        memcpy(number, (const uint8_t *)kv.mv_data + 5, len);
        number[len] = '\0';
        e = fn(ctx, number);
        if (e)
            break;
    }
    if (!e && rc != 0 && rc != MDB_NOTFOUND)
        e = ERR_IO;
    mdb_cursor_close(c);
    return e;
}

err_t derive_invoice_open_at(const derive_t *d, MDB_txn *txn, const char *number, int32_t as_of,
                             int64_t *open)
{
    tl_t t = {0};
    err_t e = tl_load(d, txn, number, &t, NULL);
    *open = 0;
    for (size_t i = 0; !e && i < t.n && t.v[i].day <= as_of; i++)
        if (!add_ok(open, t.v[i].delta))
            e = ERR_OVERFLOW;
    free(t.v);
    return e;
}

err_t derive_customer_open_now(const derive_t *d, MDB_txn *txn, uint32_t party, derive_doc_fn fn,
                               void *ctx)
{
    MDB_cursor *c;
    if (mdb_cursor_open(txn, d->copen, &c))
        return ERR_IO;
    key_t_ k;
    k_reset(&k);
    k_u32(&k, party);
    MDB_val kv = k_val(&k), v;
    err_t e = ERR_OK;
    char number[KPI_NAME_MAX + 1];
    int rc;
    for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        if (kv.mv_size <= 4 || memcmp(kv.mv_data, k.b, 4) != 0)
            break;
        size_t len = kv.mv_size - 4;
        if (len > KPI_NAME_MAX) {
            e = ERR_STORE_CORRUPT;
            break;
        }
        memcpy(number, (const uint8_t *)kv.mv_data + 4, len);
        number[len] = '\0';
        e = fn(ctx, number);
        if (e)
            break;
    }
    if (!e && rc != 0 && rc != MDB_NOTFOUND)
        e = ERR_IO;
    mdb_cursor_close(c);
    return e;
}

err_t derive_max_day(const derive_t *d, MDB_txn *txn, int32_t *day)
{
    MDB_val mk = {7, (void *)"max_day"}, mv;
    int rc = mdb_get(txn, d->meta, &mk, &mv);
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    if (rc || mv.mv_size != sizeof *day)
        return ERR_IO;
    memcpy(day, mv.mv_data, sizeof *day);
    return ERR_OK;
}

kpi_doc_kind_t derive_sla_kind(const derive_t *d, size_t sla)
{
    return sla < d->n_slas ? sla_kind(&d->slas[sla]) : KPI_DOC_INVOICE;
}

err_t derive_state_sla(const derive_t *d, const uint8_t *st, size_t n, size_t sla,
                       derive_sla_item_t *out)
{
    memset(out, 0, sizeof *out);
    if (sla >= d->n_slas || st == NULL || n == 0)
        return ERR_NOT_FOUND;
    dstate_t *s = malloc(sizeof *s);
    if (s == NULL)
        return ERR_NOMEM;
    MDB_val v = {n, (void *)st};
    err_t e = st_decode(&v, s) ? ERR_OK : ERR_STORE_CORRUPT;
    const slot_t *sl = e ? NULL : slot_find(s, (uint8_t)sla);
    if (!e && (sl == NULL || sl->start_s == T_NONE))
        e = ERR_NOT_FOUND; /* no item: it counts nowhere (sla_contrib) */
    if (!e) {
        const kpi_sla_def_t *def = &d->slas[sla];
        out->start_s = sl->start_s;
        out->start_day = sl->start_day;
        out->breach_day =
            kpi_sla_breach_day(&def->target, &d->cal, sl->start_s, sl->start_day, tz_day_of, d->tz);
        out->stopped = sl->stop_s != T_NONE;
        out->stop_s = sl->stop_s;
        out->stop_day = out->stopped ? sl->stop_day : INT32_MIN;
        out->met = out->stopped && kpi_sla_met(&def->target, &d->cal, sl->start_s, sl->start_day,
                                               sl->stop_s, sl->stop_day);
    }
    free(s);
    return e;
}
