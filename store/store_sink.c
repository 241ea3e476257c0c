/*
 * store_sink.c — writing rows in key order through one cursor (see
 * store_sink.h).
 */
#include "store_sink.h"

#include <string.h>

int store_key_cmp(const void *a, size_t an, const void *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);
    return c != 0 ? c : (an > bn) - (an < bn);
}

int store_sink_open(store_sink_t *s, MDB_txn *txn, MDB_dbi dbi)
{
    s->c = NULL;
    s->appending = false;
    s->last_len = 0;
    int rc = mdb_cursor_open(txn, dbi, &s->c);
    if (rc)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(s->c, &k, &v, MDB_LAST);
    s->appending = rc == MDB_NOTFOUND; /* an empty database */
    if (rc == 0) {
        if (k.mv_size > sizeof s->last)
            return MDB_BAD_VALSIZE;
        memcpy(s->last, k.mv_data, k.mv_size);
        s->last_len = k.mv_size;
    }
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int store_sink_put(store_sink_t *s, const void *k, size_t kn, const void *v, size_t vn)
{
    /* Sorted, so once past the last key every later one is too. */
    if (!s->appending)
        s->appending = store_key_cmp(k, kn, s->last, s->last_len) > 0;
    MDB_val kv = {kn, (void *)k}, vv = {vn, (void *)v};
    return mdb_cursor_put(s->c, &kv, &vv, s->appending ? MDB_APPEND : 0);
}

int store_sink_del(store_sink_t *s, const void *k, size_t kn)
{
    MDB_val kv = {kn, (void *)k}, vv;
    int rc = mdb_cursor_get(s->c, &kv, &vv, MDB_SET);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? rc : mdb_cursor_del(s->c, 0);
}

void store_sink_close(store_sink_t *s)
{
    if (s->c != NULL)
        mdb_cursor_close(s->c);
    s->c = NULL;
}
