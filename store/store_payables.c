/*
 * store_payables.c — the bills' open amounts (store_payables.h): each
 * bill's timeline in d_ap_tl, and its steps added to d_ap_open, the same
 * rows the invoices have in d_open, so the same reader ages them.
 */
#include "store_payables.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"

#define AP_PREFIX 16 /* cur unit party basis basis_day */

static err_t ap_db_err(int rc, err_msg_t *msg, const char *what)
{
    if (rc == MDB_MAP_FULL)
        return err_set(msg, ERR_TOO_LARGE, "derived state: map full");
    if (rc == ENOSPC)
        return err_set(msg, ERR_DISK_FULL, "derived state: no space left on device");
    if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID)
        return err_set(msg, ERR_STORE_CORRUPT, "the store is damaged (payables, %s: %s)", what,
                       mdb_strerror(rc));
    return err_set(msg, ERR_IO, "derived state, payables, %s: %s", what, mdb_strerror(rc));
}

/* Days sort as unsigned bytes once the sign bit is flipped. */
static void put_day(uint8_t *p, int32_t day)
{
    store_put_u32(p, (uint32_t)day ^ 0x80000000u);
}

static int32_t get_day(const uint8_t *p)
{
    return (int32_t)(store_get_u32(p) ^ 0x80000000u);
}

err_t derive_ap_open(derive_t *d, MDB_txn *txn, bool create, err_msg_t *msg)
{
    static const char *const names[2] = {"d_ap_open", "d_ap_tl"};
    MDB_dbi *dbis[2] = {&d->ap_open, &d->ap_tl};
    d->has_ap = false;
    for (size_t i = 0; i < 2; i++) {
        int rc = mdb_dbi_open(txn, names[i], create ? MDB_CREATE : 0, dbis[i]);
        /* An older format (store_upgrade checks it read-only): no bills'
           rows yet; store_open never gets here with one. */
        if (rc == MDB_NOTFOUND)
            return ERR_OK;
        if (rc)
            return ap_db_err(rc, msg, "open database");
    }
    d->has_ap = true;
    return ERR_OK;
}

err_t derive_ap_clear(const derive_t *d, MDB_txn *txn, err_msg_t *msg)
{
    if (!d->has_ap)
        return ERR_OK;
    int rc = mdb_drop(txn, d->ap_open, 0);
    if (!rc)
        rc = mdb_drop(txn, d->ap_tl, 0);
    return rc ? ap_db_err(rc, msg, "clear") : ERR_OK;
}

/* ---- a bill's timeline ------------------------------------------------------ */

typedef struct ap_ent {
    int32_t day;
    int64_t delta;
} ap_ent_t;

/* d_ap_tl key: number NUL day. Numbers are at most KPI_NAME_MAX bytes. */
static size_t tl_key(uint8_t *k, const char *number, int32_t day)
{
    size_t n = strlen(number);
    memcpy(k, number, n);
    k[n] = 0;
    put_day(k + n + 1, day);
    return n + 5;
}

/* The bill's timeline, ascending days (*v malloc'd, caller frees). */
static err_t tl_load(const derive_t *d, MDB_txn *txn, const char *number, ap_ent_t **v, size_t *n,
                     err_msg_t *msg)
{
    *v = NULL;
    *n = 0;
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, d->ap_tl, &c);
    if (rc)
        return ap_db_err(rc, msg, "open cursor");
    uint8_t k[KPI_NAME_MAX + 8];
    size_t klen = tl_key(k, number, INT32_MIN), plen = klen - 4, cap = 0;
    MDB_val kv = {klen, k}, val;
    err_t e = ERR_OK;
    for (rc = mdb_cursor_get(c, &kv, &val, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(c, &kv, &val, MDB_NEXT)) {
        if (kv.mv_size != klen || memcmp(kv.mv_data, k, plen) != 0)
            break;
        if (val.mv_size != sizeof(int64_t)) {
            e = err_set(msg, ERR_STORE_CORRUPT, "derived state: timeline of bill %s damaged",
                        number);
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            ap_ent_t *nv = realloc(*v, cap * sizeof *nv);
            if (nv == NULL) {
                e = err_set(msg, ERR_NOMEM, "out of memory");
                break;
            }
            *v = nv;
        }
        (*v)[*n].day = get_day((const uint8_t *)kv.mv_data + plen);
        memcpy(&(*v)[*n].delta, val.mv_data, sizeof(int64_t));
        (*n)++;
    }
    if (!e && rc != 0 && rc != MDB_NOTFOUND)
        e = ap_db_err(rc, msg, "read timeline");
    mdb_cursor_close(c);
    return e;
}

/*
 * The steps x on day eff makes: the amount changes by x from eff on, and
 * the count by the change of "is open" (open != 0) at eff and at each later
 * day of the timeline, relative to the change in force before it. steps
 * has room for n + 1; *ns receives how many. ERR_OVERFLOW when a running
 * sum leaves int64.
 */
static err_t make_steps(const ap_ent_t *t, size_t n, int32_t eff, int64_t x, derive_step_t *steps,
                        size_t *ns)
{
    int64_t old_at = 0, prev_dc = 0;
    size_t i = 0;
    *ns = 0;
    for (; i < n && t[i].day < eff; i++)
        if (__builtin_add_overflow(old_at, t[i].delta, &old_at))
            return ERR_OVERFLOW;
    int32_t day = eff;
    for (bool first = true;; first = false) {
        if (i < n && t[i].day == day && __builtin_add_overflow(old_at, t[i++].delta, &old_at))
            return ERR_OVERFLOW;
        int64_t new_at;
        if (__builtin_add_overflow(old_at, x, &new_at))
            return ERR_OVERFLOW;
        int64_t dc = (int64_t)(new_at != 0) - (int64_t)(old_at != 0);
        derive_step_t s = {day, first ? x : 0, dc - prev_dc};
        if (s.amount != 0 || s.count != 0)
            steps[(*ns)++] = s;
        prev_dc = dc;
        if (i >= n)
            break;
        day = t[i].day;
    }
    return ERR_OK;
}

err_t derive_ap_move(const derive_t *d, MDB_txn *txn, const derive_bill_t *b, int32_t eff,
                     int64_t x, err_msg_t *msg)
{
    if (!d->has_ap)
        return err_set(msg, ERR_INTERNAL, "derived state: no d_ap_open database");
    ap_ent_t *t = NULL;
    size_t n = 0, ns = 0;
    derive_step_t *steps = NULL;
    err_t e = tl_load(d, txn, b->number, &t, &n, msg);
    if (e)
        goto out;
    steps = malloc((n + 1) * sizeof *steps);
    if (steps == NULL) {
        e = err_set(msg, ERR_NOMEM, "out of memory");
        goto out;
    }
    if (make_steps(t, n, eff, x, steps, &ns) != ERR_OK) {
        e = err_set(msg, ERR_OVERFLOW, "bill %s: open amount leaves int64", b->number);
        goto out;
    }
    /* The timeline's row at eff. */
    int64_t cur = 0;
    for (size_t j = 0; j < n; j++)
        if (t[j].day == eff)
            cur = t[j].delta;
    if (__builtin_add_overflow(cur, x, &cur)) {
        e = err_set(msg, ERR_OVERFLOW, "bill %s: open amount leaves int64", b->number);
        goto out;
    }
    uint8_t k[KPI_NAME_MAX + 8];
    MDB_val kv = {tl_key(k, b->number, eff), k}, vv = {sizeof cur, &cur};
    int rc = cur == 0 ? mdb_del(txn, d->ap_tl, &kv, NULL) : mdb_put(txn, d->ap_tl, &kv, &vv, 0);
    if (rc && rc != MDB_NOTFOUND) {
        e = ap_db_err(rc, msg, "write timeline");
        goto out;
    }
    /* The steps under both bases, for (unit|all) x (vendor|all). */
    uint32_t units[2] = {b->unit, 0}, parties[2] = {b->party, 0};
    int32_t basis_days[2] = {b->due_day, b->recv_day};
    for (int bs = 0; bs < 2 && !e && ns > 0; bs++)
        for (int u = 0; u < 2 && !e; u++)
            for (int p = 0; p < 2 && !e; p++) {
                if ((u == 0 && b->unit == 0) || (p == 0 && b->party == 0))
                    continue;
                uint8_t pre[AP_PREFIX];
                memcpy(pre, b->cur, 3);
                store_put_u32(pre + 3, units[u]);
                store_put_u32(pre + 7, parties[p]);
                pre[11] = (uint8_t)bs;
                put_day(pre + 12, basis_days[bs]);
                e = derive_steps_apply(txn, d->ap_open, pre, steps, ns, msg);
            }
out:
    free(steps);
    free(t);
    return e;
}

/* ---- reading ---------------------------------------------------------------- */

err_t derive_ap_parties(const derive_t *d, MDB_txn *txn, const char currency[4], uint32_t unit,
                        derive_id_fn fn, void *ctx)
{
    return d->has_ap ? derive_steps_parties(txn, d->ap_open, currency, unit, fn, ctx)
                     : ERR_STORE_CORRUPT;
}

err_t derive_ap_has(const derive_t *d, MDB_txn *txn, const derive_scope_t *sc, bool *has)
{
    uint8_t k[11];
    memcpy(k, sc->currency, 3);
    store_put_u32(k + 3, sc->unit);
    store_put_u32(k + 7, sc->party);
    if (!d->has_ap)
        return ERR_STORE_CORRUPT;
    MDB_cursor *c;
    if (mdb_cursor_open(txn, d->ap_open, &c))
        return ERR_IO;
    MDB_val kv = {sizeof k, k}, v;
    int rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE);
    *has = rc == 0 && kv.mv_size == AP_PREFIX + 4 && memcmp(kv.mv_data, k, sizeof k) == 0;
    mdb_cursor_close(c);
    return rc == 0 || rc == MDB_NOTFOUND ? ERR_OK : ERR_IO;
}
