/*
 * store_party.c — the profiles of customers and vendors: the `d_party`
 * database, kept from customer.updated and vendor.updated events
 * (derive_apply hands them here), and the lookups of store_kpi.h.
 *
 *   d_party  kind ('C' customer | 'V' vendor) party u32 (big-endian)
 *            -> sv time_s, then the strings event id, name, email, country,
 *               segment (each: uv 0 for none, else len + 1, the bytes, a NUL)
 *
 * One row per party and kind. The profile that stands is the one of the
 * latest event by (time, id), whatever the arrival order, so a rebuild and
 * any interleaving of batches give the same row; each event replaces the
 * whole profile (a field it leaves out is gone). Customers and vendors are
 * kept apart: one name may be both, with two profiles.
 *
 * A store created before these events existed has no d_party (derive_open
 * creates it on a writable open); read-only it simply has no profiles.
 */
#include <string.h>

#include "store_derive.h"
#include "store_int.h"
#include "store_kpi.h"
#include "store_pack.h"

#define PARTY_KEY 5
/* time, five strings of at most KPI_NAME_MAX (the id: KPI_ID_MAX; the
   e-mail: KPI_EMAIL_MAX), their lengths and NULs */
#define PARTY_VAL_MAX (PACK_VARINT_MAX + 5 * (PACK_VARINT_MAX + KPI_NAME_MAX + 1))

static void party_key(uint8_t k[PARTY_KEY], bool vendor, uint32_t id)
{
    k[0] = vendor ? 'V' : 'C';
    k[1] = (uint8_t)(id >> 24);
    k[2] = (uint8_t)(id >> 16);
    k[3] = (uint8_t)(id >> 8);
    k[4] = (uint8_t)id;
}

static size_t put_str(uint8_t *out, const char *s)
{
    if (s == NULL)
        return pack_uvarint(out, 0);
    size_t n = strlen(s);
    size_t o = pack_uvarint(out, (uint64_t)n + 1);
    memcpy(out + o, s, n);
    out[o + n] = 0;
    return o + n + 1;
}

static bool get_str(const uint8_t *p, size_t len, size_t *off, const char **out)
{
    uint64_t n1;
    if (!unpack_uvarint(p, len, off, &n1))
        return false;
    if (n1 == 0) {
        *out = NULL;
        return true;
    }
    uint64_t n = n1 - 1;
    if (n >= len - *off || p[*off + n] != 0 || memchr(p + *off, 0, n) != NULL)
        return false;
    *out = (const char *)p + *off;
    *off += n + 1;
    return true;
}

/* Decode a row; the strings point into it. */
static bool party_decode(const MDB_val *v, store_profile_t *out)
{
    const uint8_t *p = v->mv_data;
    size_t off = 0;
    memset(out, 0, sizeof *out);
    return unpack_svarint(p, v->mv_size, &off, &out->time_s) &&
           get_str(p, v->mv_size, &off, &out->event_id) &&
           get_str(p, v->mv_size, &off, &out->name) && get_str(p, v->mv_size, &off, &out->email) &&
           get_str(p, v->mv_size, &off, &out->country) &&
           get_str(p, v->mv_size, &off, &out->segment) && off == v->mv_size &&
           out->event_id != NULL && out->name != NULL;
}

static err_t db_err(int rc, err_msg_t *msg, const char *what)
{
    return err_set(msg,
                   rc == MDB_MAP_FULL    ? ERR_TOO_LARGE
                   : rc == MDB_CORRUPTED ? ERR_STORE_CORRUPT
                                         : ERR_IO,
                   "derived state: %s: %s", what, mdb_strerror(rc));
}

err_t derive_party_apply(const derive_t *d, MDB_txn *txn, const kpi_event_t *ev, uint32_t party,
                         err_msg_t *msg)
{
    if (!d->has_party)
        return err_set(msg, ERR_INTERNAL, "derived state: no d_party database");
    if (party == 0 || ev->text == NULL)
        return err_set(msg, ERR_INTERNAL, "derived state: a profile without a party or name");
    uint8_t k[PARTY_KEY];
    party_key(k, kpi_ev_is_payable(ev->type), party);
    MDB_val kv = {PARTY_KEY, k}, have;
    int rc = store_tx_get(d->wc, txn, d->party, &kv, &have);
    if (rc == 0) {
        store_profile_t old;
        if (!party_decode(&have, &old))
            return err_set(msg, ERR_STORE_CORRUPT, "derived state: a damaged profile row");
        /* The latest by (time, id) stands: an older event changes nothing. */
        if (ev->time_s < old.time_s ||
            (ev->time_s == old.time_s && strcmp(ev->id, old.event_id) <= 0))
            return ERR_OK;
    } else if (rc != MDB_NOTFOUND) {
        return db_err(rc, msg, "read profile");
    }
    uint8_t buf[PARTY_VAL_MAX];
    size_t n = pack_svarint(buf, ev->time_s);
    n += put_str(buf + n, ev->id);
    n += put_str(buf + n, ev->text);
    n += put_str(buf + n, ev->email);
    n += put_str(buf + n, ev->country);
    n += put_str(buf + n, ev->segment);
    MDB_val vv = {n, buf};
    rc = store_tx_put(d->wc, txn, d->party, &kv, &vv);
    return rc ? db_err(rc, msg, "write profile") : ERR_OK;
}

err_t store_party_profile(store_snap_t *snap, bool vendor, const char *party, store_profile_t *out)
{
    memset(out, 0, sizeof *out);
    const derive_t *d = store_snap_derive(snap);
    uint32_t id;
    if (!d->has_party || party == NULL)
        return ERR_NOT_FOUND;
    err_t e = store_name_lookup(snap, party, &id);
    if (e)
        return e;
    uint8_t k[PARTY_KEY];
    party_key(k, vendor, id);
    MDB_val kv = {PARTY_KEY, k}, v;
    int rc = mdb_get(store_snap_txn(snap), d->party, &kv, &v);
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    if (rc)
        return rc == MDB_CORRUPTED ? ERR_STORE_CORRUPT : ERR_IO;
    return party_decode(&v, out) ? ERR_OK : ERR_STORE_CORRUPT;
}

err_t store_party_each(store_snap_t *snap, bool vendor, store_profile_fn fn, void *ctx)
{
    const derive_t *d = store_snap_derive(snap);
    if (!d->has_party)
        return ERR_OK;
    MDB_cursor *c;
    if (mdb_cursor_open(store_snap_txn(snap), d->party, &c) != 0)
        return ERR_IO;
    uint8_t k[PARTY_KEY];
    party_key(k, vendor, 0);
    MDB_val kv = {PARTY_KEY, k}, v;
    err_t e = ERR_OK;
    int rc;
    for (rc = mdb_cursor_get(c, &kv, &v, MDB_SET_RANGE); rc == 0 && !e;
         rc = mdb_cursor_get(c, &kv, &v, MDB_NEXT)) {
        const uint8_t *kb = kv.mv_data;
        if (kv.mv_size != PARTY_KEY || kb[0] != k[0])
            break;
        uint32_t id = (uint32_t)kb[1] << 24 | (uint32_t)kb[2] << 16 | (uint32_t)kb[3] << 8 | kb[4];
        store_profile_t p;
        const char *name;
        if (!party_decode(&v, &p) || store_name_of(snap, id, &name) != ERR_OK) {
            e = ERR_STORE_CORRUPT;
            break;
        }
        e = fn(ctx, name, &p);
    }
    if (!e && rc != 0 && rc != MDB_NOTFOUND)
        e = ERR_IO;
    mdb_cursor_close(c);
    return e;
}
