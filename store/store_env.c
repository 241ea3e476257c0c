/*
 * store_env.c — opening and closing the store: the data directory, its
 * writer lock, the format version check (before anything is written), the
 * map that grows, snapshots, statistics and interned names.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "kpi_event.h"
#include "kpi_money.h"

#define DEFAULT_MAP (256ull << 20)

/* ---- small helpers --------------------------------------------------------- */

void store_put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint32_t store_get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void store_put_u64(uint8_t *p, uint64_t v)
{
    store_put_u32(p, (uint32_t)(v >> 32));
    store_put_u32(p + 4, (uint32_t)v);
}

uint64_t store_get_u64(const uint8_t *p)
{
    return (uint64_t)store_get_u32(p) << 32 | store_get_u32(p + 4);
}

void store_evkey(uint8_t *k, int64_t time_s, uint64_t seq)
{
    store_put_u64(k, (uint64_t)time_s ^ 0x8000000000000000ull);
    store_put_u64(k + 8, seq);
}

int64_t store_evkey_time(const uint8_t *k)
{
    return (int64_t)(store_get_u64(k) ^ 0x8000000000000000ull);
}

uint64_t store_evkey_seq(const uint8_t *k)
{
    return store_get_u64(k + 8);
}

size_t store_doc_key(uint8_t *k, kpi_doc_kind_t kind, const char *number)
{
    size_t n = strlen(number);
    k[0] = (uint8_t)kind;
    memcpy(k + 1, number, n);
    return n + 1;
}

void store_doc_init(doc_rec_t *d, uint8_t kind)
{
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->due_day = INT32_MIN;
    d->closed_day = INT32_MIN;
    d->first_review_s = INT64_MAX;
}

bool store_doc_rec_read(const MDB_val *v, doc_rec_t *d, bool *has)
{
    return docv_decode(v->mv_data, v->mv_size, d, has, NULL, NULL);
}

int32_t store_ev_day(const store_t *s, const kpi_event_t *ev)
{
    if (ev->flags & KPI_EVF_DATE_ONLY)
        return ev->date_day;
    return kpi_tz_day(s->tz, ev->time_s);
}

/* LMDB turns a short write into EIO; a write falls short when the file
   system has filled up, which leaves it (nearly) without free space. */
static bool disk_is_full(const char *dir)
{
    struct statvfs vs;
    return dir != NULL && statvfs(dir, &vs) == 0 &&
           (uint64_t)vs.f_bavail * vs.f_frsize < (1u << 20);
}

err_t store_lmdb_err(const store_t *s, int rc, const char *what, err_msg_t *msg)
{
    const char *dir = s ? s->dir : "?";
    if (rc == EIO && s != NULL && disk_is_full(s->dir))
        rc = ENOSPC;
    switch (rc) {
    case MDB_MAP_FULL:
        return err_set(msg, ERR_TOO_LARGE, "store %s: map full during %s", dir, what);
    case ENOSPC:
        return err_set(msg, ERR_DISK_FULL, "store %s: no space left on device (%s)", dir, what);
    case EACCES:
    case EROFS: return err_set(msg, ERR_READONLY, "store %s: not writable (%s)", dir, what);
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID:
        return err_set(msg, ERR_STORE_CORRUPT, "store %s is damaged (%s: %s)", dir, what,
                       mdb_strerror(rc));
    case ENOMEM: return err_set(msg, ERR_NOMEM, "store %s: out of memory (%s)", dir, what);
    default: return err_set(msg, ERR_IO, "store %s: %s failed: %s", dir, what, mdb_strerror(rc));
    }
}

static MDB_val sval(const char *s)
{
    MDB_val v = {strlen(s), (void *)s};
    return v;
}

uint64_t store_meta_u64(const store_t *s, MDB_txn *txn, const char *key)
{
    MDB_val k = sval(key), v;
    uint64_t x = 0;
    if (store_tx_get(s->wc, txn, s->meta, &k, &v) == 0 && v.mv_size == sizeof x)
        memcpy(&x, v.mv_data, sizeof x);
    return x;
}

int store_meta_put_u64(const store_t *s, MDB_txn *txn, const char *key, uint64_t x)
{
    MDB_val k = sval(key), v = {sizeof x, &x};
    return store_tx_put(s->wc, txn, s->meta, &k, &v);
}

int store_name_get(const store_t *s, MDB_txn *txn, const char *name, uint32_t *id)
{
    MDB_val k = sval(name), v;
    int rc = store_tx_get(s->wc, txn, s->names, &k, &v);
    if (rc == 0) {
        if (v.mv_size != 4)
            return MDB_CORRUPTED;
        *id = store_get_u32(v.mv_data);
    }
    return rc;
}

int store_name_intern(const store_t *s, MDB_txn *txn, const char *name, uint32_t *id)
{
    int rc = store_name_get(s, txn, name, id);
    if (rc != MDB_NOTFOUND)
        return rc;
    uint64_t last = store_meta_u64(s, txn, "names");
    if (last >= UINT32_MAX - 1)
        return MDB_MAP_FULL;
    *id = (uint32_t)(last + 1);
    uint8_t idb[4];
    store_put_u32(idb, *id);
    MDB_val k = sval(name), v = {4, idb};
    rc = store_tx_put(s->wc, txn, s->names, &k, &v); /* just found missing */
    if (!rc) {
        /* With its NUL, so readers can borrow the bytes as a C string. */
        MDB_val rk = {4, idb}, nv = {strlen(name) + 1, (void *)name};
        rc = store_tx_put(s->wc, txn, s->names_rev, &rk, &nv);
    }
    if (!rc)
        rc = store_meta_put_u64(s, txn, "names", *id);
    return rc;
}

int store_name_str(const store_t *s, MDB_txn *txn, uint32_t id, const char **name)
{
    uint8_t idb[4];
    store_put_u32(idb, id);
    MDB_val k = {4, idb}, v;
    int rc = store_tx_get(s->wc, txn, s->names_rev, &k, &v);
    if (rc == 0)
        *name = v.mv_data;
    return rc;
}

/* ---- opening ------------------------------------------------------------------ */

static const char *const db_names[] = {"meta",     "events", "ids",  "names",  "names_rev",
                                       "by_party", "by_bu",  "docs", "pending"};

static err_t open_dbs(store_t *s, MDB_txn *txn, bool create, err_msg_t *msg)
{
    MDB_dbi *dbis[] = {&s->meta,     &s->events, &s->ids,  &s->names,  &s->names_rev,
                       &s->by_party, &s->by_bu,  &s->docs, &s->pending};
    for (size_t i = 0; i < sizeof dbis / sizeof dbis[0]; i++) {
        /* The indexes keep each party's (unit's) events keys as sorted
           fixed-size duplicates of one key: 16 bytes a row, no node each. */
        unsigned flags =
            dbis[i] == &s->by_party || dbis[i] == &s->by_bu ? MDB_DUPSORT | MDB_DUPFIXED : 0;
        int rc = mdb_dbi_open(txn, db_names[i], (create ? MDB_CREATE : 0) | flags, dbis[i]);
        if (rc == MDB_NOTFOUND)
            return err_set(msg, ERR_STORE_CORRUPT, "%s is not a kpid store (no '%s' database)",
                           s->dir, db_names[i]);
        if (rc)
            return store_lmdb_err(s, rc, "open database", msg);
    }
    return ERR_OK;
}

static err_t take_lock(store_t *s, err_msg_t *msg)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/kpid.lock", s->dir);
    s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (s->lock_fd < 0)
        return err_set(msg, errno == EACCES || errno == EROFS ? ERR_READONLY : ERR_IO,
                       "cannot create %s: %s", path, strerror(errno));
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = "";
        ssize_t n = pread(s->lock_fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        close(s->lock_fd);
        s->lock_fd = -1;
        return err_set(msg, ERR_STORE_LOCKED,
                       "store %s is in use by another kpid process (pid %s); stop it first, "
                       "or point this one at another --data directory",
                       s->dir, buf[0] ? buf : "unknown");
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(s->lock_fd, 0) != 0 || pwrite(s->lock_fd, pid, (size_t)n, 0) != n)
        return err_set(msg, ERR_IO, "cannot write %s: %s", path, strerror(errno));
    return ERR_OK;
}

/* Read-only look at an existing store: version, zone, currency. Nothing
   is written, so a store of another version is left exactly as it was. */
static err_t check_existing(store_t *s, const store_opts_t *o, bool *exists, err_msg_t *msg)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", s->dir);
    struct stat sb;
    *exists = stat(path, &sb) == 0;
    if (!*exists)
        return ERR_OK;
    /* LMDB writes its meta pages when it creates the file, so an empty one
       was cut short (a failed copy, a full disk): starting afresh on it
       would serve an empty book as if it were this one. */
    if (sb.st_size == 0)
        return err_set(msg, ERR_STORE_CORRUPT,
                       "%s is empty (0 bytes): the store is damaged; restore it from a backup, "
                       "or remove the file to start a new, empty store",
                       path);
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc)
        return store_lmdb_err(s, rc, "create environment", msg);
    mdb_env_set_maxdbs(env, 32);
    rc = mdb_env_open(env, s->dir, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0644);
    if (rc == MDB_INVALID) {
        mdb_env_close(env);
        return err_set(msg, ERR_STORE_CORRUPT,
                       "%s is not a kpid store (%s): damaged, or another program's file; it was "
                       "left untouched (restore it from a backup)",
                       path, mdb_strerror(rc));
    }
    if (rc == MDB_VERSION_MISMATCH) {
        mdb_env_close(env);
        return err_set(msg, ERR_STORE_VERSION,
                       "%s is not a kpid store of this version (%s); it was left untouched", path,
                       mdb_strerror(rc));
    }
    if (rc) {
        mdb_env_close(env);
        return store_lmdb_err(s, rc, "open", msg);
    }
    /* A file shorter than its last committed page (truncated by a copy or a
       full disk) would fault (SIGBUS) on the first read of a missing page.
       The size is taken after the meta page: a live writer writes its pages
       before the meta page that names them, so a growing file never looks
       short. */
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(env, &info) == 0 && mdb_env_stat(env, &st) == 0 && stat(path, &sb) == 0 &&
        ((uint64_t)info.me_last_pgno + 1) * st.ms_psize > (uint64_t)sb.st_size) {
        mdb_env_close(env);
        return err_set(msg, ERR_STORE_CORRUPT,
                       "%s is truncated (%lld bytes, its last page ends at byte %llu): the store "
                       "is damaged; restore it from a backup",
                       path, (long long)sb.st_size,
                       (unsigned long long)(((uint64_t)info.me_last_pgno + 1) * st.ms_psize));
    }
    /* LMDB's own meta pages and nothing ever committed: the process that
       created the file stopped (killed, say) before its first commit. There
       is no book here to protect; a writer starts it afresh, a reader finds
       no store. */
    if (mdb_env_info(env, &info) == 0 && info.me_last_txnid == 0) {
        mdb_env_close(env);
        *exists = false;
        return ERR_OK;
    }
    MDB_txn *txn;
    err_t e = ERR_OK;
    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc) {
        mdb_env_close(env);
        return store_lmdb_err(s, rc, "read", msg);
    }
    MDB_dbi meta;
    rc = mdb_dbi_open(txn, "meta", 0, &meta);
    MDB_val k = sval("version"), v;
    if (rc == 0)
        rc = mdb_get(txn, meta, &k, &v);
    uint32_t ver = 0;
    if (rc || v.mv_size != sizeof ver) {
        e = err_set(msg, ERR_STORE_CORRUPT,
                    "%s is an LMDB file but not a kpid store (damaged, or another program's); "
                    "it was left untouched",
                    path);
        goto out;
    }
    memcpy(&ver, v.mv_data, sizeof ver);
    if (STORE_FORMAT_CAN_UPGRADE(ver)) {
        e = err_set(msg, ERR_STORE_VERSION,
                    "store %s has format version %u, this kpid reads version %d; it was left "
                    "untouched: run `kpid upgrade --data %s`",
                    s->dir, ver, STORE_FORMAT_VERSION, s->dir);
        goto out;
    }
    if (ver != STORE_FORMAT_VERSION) {
        e = err_set(msg, ERR_STORE_VERSION,
                    "store %s has format version %u, this kpid reads version %d; it was left "
                    "untouched (use the kpid release that wrote it, or ingest into a new "
                    "--data directory)",
                    s->dir, ver, STORE_FORMAT_VERSION);
        goto out;
    }
    k = sval("tz");
    if (mdb_get(txn, meta, &k, &v) == 0) {
        const char *want = kpi_tz_name(o->tz);
        if (v.mv_size != strlen(want) || memcmp(v.mv_data, want, v.mv_size) != 0) {
            e = err_set(msg, ERR_CONFIG,
                        "store %s was created with time zone %.*s, not %s: every day boundary "
                        "would shift; use time_zone \"%.*s\" or another --data directory",
                        s->dir, (int)v.mv_size, (const char *)v.mv_data, want, (int)v.mv_size,
                        (const char *)v.mv_data);
            goto out;
        }
    }
    k = sval("currency");
    if (mdb_get(txn, meta, &k, &v) == 0 &&
        (v.mv_size != 3 || memcmp(v.mv_data, o->base_currency, 3) != 0)) {
        e = err_set(msg, ERR_CONFIG,
                    "store %s was created with base currency %.*s, not %s; use base_currency "
                    "\"%.*s\" or another --data directory",
                    s->dir, (int)v.mv_size, (const char *)v.mv_data, o->base_currency,
                    (int)v.mv_size, (const char *)v.mv_data);
        goto out;
    }
    k = sval("rebuilding");
    MDB_val uk = sval("upgrading");
    if (!o->rebuild && mdb_get(txn, meta, &k, &v) == 0 && mdb_get(txn, meta, &uk, &v) == 0)
        e = err_set(msg, ERR_CONFIG,
                    "store %s: a `kpid upgrade` was interrupted; run `kpid upgrade --data %s` "
                    "again before using the store",
                    s->dir, s->dir);
    else if (!o->rebuild && mdb_get(txn, meta, &k, &v) == 0)
        e = err_set(msg, ERR_CONFIG,
                    "store %s: a `kpid rebuild` was interrupted; run it again before using the "
                    "store",
                    s->dir);
out:
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return e;
}

static err_t init_meta(store_t *s, MDB_txn *txn, err_msg_t *msg)
{
    MDB_val k = sval("version"), v;
    if (mdb_get(txn, s->meta, &k, &v) == 0)
        return ERR_OK;
    uint32_t ver = STORE_FORMAT_VERSION;
    v.mv_size = sizeof ver;
    v.mv_data = &ver;
    int rc = mdb_put(txn, s->meta, &k, &v, 0);
    const char *tz = kpi_tz_name(s->tz);
    MDB_val tk = sval("tz"), tv = sval(tz);
    if (!rc)
        rc = mdb_put(txn, s->meta, &tk, &tv, 0);
    MDB_val ck = sval("currency"), cv = {3, s->base_currency};
    if (!rc)
        rc = mdb_put(txn, s->meta, &ck, &cv, 0);
    return rc ? store_lmdb_err(s, rc, "initialise", msg) : ERR_OK;
}

err_t store_open(const store_opts_t *o, store_t **out, err_msg_t *msg)
{
    *out = NULL;
    if (o->dir == NULL || o->tz == NULL || o->base_currency == NULL)
        return err_set(msg, ERR_BAD_PARAM, "store_open: dir, tz and base_currency are required");
    store_t *s = calloc(1, sizeof *s);
    if (s == NULL)
        return err_set(msg, ERR_NOMEM, "out of memory");
    s->lock_fd = -1;
    s->dir = strdup(o->dir);
    s->tz = o->tz;
    s->read_only = o->read_only;
    snprintf(s->base_currency, sizeof s->base_currency, "%s", o->base_currency);
    pthread_mutex_init(&s->write_mu, NULL);
    pthread_rwlock_init(&s->map_lock, NULL);
    err_t e = ERR_OK;
    if (s->dir == NULL) {
        e = err_set(msg, ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (kpi_currency_digits(s->base_currency, &s->base_digits) != ERR_OK) {
        e = err_set(msg, ERR_CONFIG, "base currency '%s' is not an ISO 4217 code",
                    o->base_currency);
        goto fail;
    }
    if (!o->read_only && mkdir(s->dir, 0755) != 0 && errno != EEXIST) {
        e = err_set(msg, errno == EACCES || errno == EROFS ? ERR_READONLY : ERR_IO,
                    "cannot create data directory %s: %s", s->dir, strerror(errno));
        goto fail;
    }
    struct stat sb;
    if (stat(s->dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        e = err_set(msg, ERR_IO, "data directory %s does not exist or is not a directory", s->dir);
        goto fail;
    }
    if (!o->read_only && access(s->dir, W_OK) != 0) {
        e = err_set(msg, ERR_READONLY,
                    "data directory %s is not writable (kpid keeps its lock and data files "
                    "there): check its permissions and mount",
                    s->dir);
        goto fail;
    }
    if (!o->read_only && (e = take_lock(s, msg)) != ERR_OK)
        goto fail;
    bool exists;
    if ((e = check_existing(s, o, &exists, msg)) != ERR_OK)
        goto fail;
    if (o->read_only && !exists) {
        e = err_set(msg, ERR_NOT_FOUND, "no kpid store in %s", s->dir);
        goto fail;
    }
    int rc = mdb_env_create(&s->env);
    if (!rc)
        rc = mdb_env_set_maxdbs(s->env, 32);
    s->map_size = o->map_size_initial ? o->map_size_initial : DEFAULT_MAP;
    if (exists) {
        /* Never shrink below what the file already holds. */
        char path[4200];
        snprintf(path, sizeof path, "%s/data.mdb", s->dir);
        /* Never shrink below what the file holds, and leave room to write:
           a map exactly as large as the file fails the first commit. */
        if (stat(path, &sb) == 0 && (uint64_t)sb.st_size + (uint64_t)sb.st_size / 2 > s->map_size)
            s->map_size = (uint64_t)sb.st_size + (uint64_t)sb.st_size / 2;
    }
    if (!rc)
        rc = mdb_env_set_mapsize(s->env, s->map_size);
    if (!rc)
        rc = mdb_env_open(s->env, s->dir, MDB_NOTLS | (o->read_only ? MDB_RDONLY : 0), 0644);
    if (rc) {
        e = store_lmdb_err(s, rc, "open", msg);
        goto fail;
    }
    MDB_envinfo info;
    if (mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->map_size)
        s->map_size = info.me_mapsize;

    /* Keep a copy of the calendar: derived state refers to it for life. */
    derive_config_t dc = {.tz = o->tz, .slas = o->slas, .n_slas = o->n_slas, .cal = o->cal};
    if (o->cal.n_holidays > 0) {
        s->holidays = malloc(o->cal.n_holidays * sizeof *s->holidays);
        if (s->holidays == NULL) {
            e = err_set(msg, ERR_NOMEM, "out of memory");
            goto fail;
        }
        memcpy(s->holidays, o->cal.holidays, o->cal.n_holidays * sizeof *s->holidays);
        dc.cal.holidays = s->holidays;
    }
    MDB_txn *txn;
    rc = mdb_txn_begin(s->env, NULL, o->read_only ? MDB_RDONLY : 0, &txn);
    if (rc) {
        e = store_lmdb_err(s, rc, "begin", msg);
        goto fail;
    }
    e = open_dbs(s, txn, !o->read_only, msg);
    if (!e)
        e = derive_open(&s->derive, txn, &dc, !o->read_only, o->rebuild, msg);
    if (!e && !o->read_only)
        e = init_meta(s, txn, msg);
    if (e) {
        mdb_txn_abort(txn);
        goto fail;
    }
    /* Commit even a read-only transaction: LMDB closes the database handles
       opened in a transaction that is aborted. */
    rc = mdb_txn_commit(txn);
    if (rc) {
        e = store_lmdb_err(s, rc, "initialise", msg);
        goto fail;
    }
    if (!o->read_only) {
        s->wc = wcache_new();
        if (s->wc == NULL) {
            e = err_set(msg, ERR_NOMEM, "out of memory");
            goto fail;
        }
        s->derive.wc = s->wc;
        s->ds = docset_new();
        if (s->ds == NULL) {
            e = err_set(msg, ERR_NOMEM, "out of memory");
            goto fail;
        }
        s->derive.ds = s->ds;
        s->lb = logbuf_new();
        if (s->lb == NULL) {
            e = err_set(msg, ERR_NOMEM, "out of memory");
            goto fail;
        }
        s->derive.batch = derive_batch_new();
        if (s->derive.batch == NULL) {
            e = err_set(msg, ERR_NOMEM, "out of memory");
            goto fail;
        }
    }
    *out = s;
    return ERR_OK;
fail:
    store_close(s);
    return e;
}

void store_close(store_t *s)
{
    if (s == NULL)
        return;
    if (s->env != NULL)
        mdb_env_close(s->env);
    if (s->lock_fd >= 0)
        close(s->lock_fd); /* releases the flock */
    pthread_mutex_destroy(&s->write_mu);
    pthread_rwlock_destroy(&s->map_lock);
    wcache_free(s->wc);
    docset_free(s->ds);
    logbuf_free(s->lb);
    derive_batch_free(s->derive.batch);
    free(s->holidays);
    free(s->dir);
    free(s);
}

const char *store_dir(const store_t *s)
{
    return s->dir;
}

/* ---- snapshots --------------------------------------------------------------------- */

int store_map_adopt(store_t *s)
{
    pthread_rwlock_wrlock(&s->map_lock);
    int rc = mdb_env_set_mapsize(s->env, 0);
    MDB_envinfo info;
    if (rc == 0 && mdb_env_info(s->env, &info) == 0 && info.me_mapsize > s->map_size)
        s->map_size = info.me_mapsize;
    pthread_rwlock_unlock(&s->map_lock);
    return rc;
}

err_t store_snap_begin(store_t *s, store_snap_t **out)
{
    store_snap_t *sn = calloc(1, sizeof *sn);
    if (sn == NULL)
        return ERR_NOMEM;
    int rc;
    for (int tries = 0;; tries++) {
        /* Held until the snapshot ends: the map is only resized when no
           transaction of this process is open (LMDB's rule). */
        pthread_rwlock_rdlock(&s->map_lock);
        rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &sn->txn);
        if (rc == 0)
            break;
        pthread_rwlock_unlock(&s->map_lock);
        /* The writer process grew the file past this process's map (a
           read-only open beside `kpid serve`): adopt its size and retry. */
        if (rc != MDB_MAP_RESIZED || tries == 3 || (rc = store_map_adopt(s)) != 0)
            break;
    }
    if (rc) {
        free(sn);
        return store_lmdb_err(s, rc, "read", NULL);
    }
    sn->s = s;
    *out = sn;
    return ERR_OK;
}

void store_snap_end(store_snap_t *sn)
{
    if (sn == NULL)
        return;
    mdb_txn_abort(sn->txn);
    pthread_rwlock_unlock(&sn->s->map_lock);
    free(sn);
}

err_t store_generation(store_t *s, uint64_t *gen)
{
    /* A snapshot's own id, not mdb_env_info's meta page: the meta page can
       show a commit a moment before new readers are given it. */
    store_snap_t *sn = NULL;
    err_t e = store_snap_begin(s, &sn);
    if (e)
        return e;
    *gen = (uint64_t)mdb_txn_id(sn->txn);
    store_snap_end(sn);
    return ERR_OK;
}

err_t store_stats(store_t *s, store_stats_t *out)
{
    memset(out, 0, sizeof *out);
    store_snap_t *sn = NULL;
    err_t e = store_snap_begin(s, &sn);
    if (e)
        return e;
    out->events = store_meta_u64(s, sn->txn, "events");
    out->pending = store_meta_u64(s, sn->txn, "pending");
    out->stream_seq = store_meta_u64(s, sn->txn, "stream_seq");
    MDB_val k = sval("docs"), v;
    if (mdb_get(sn->txn, s->meta, &k, &v) == 0 && v.mv_size == sizeof out->docs)
        memcpy(out->docs, v.mv_data, sizeof out->docs);
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(s->env, &info) == 0 && mdb_env_stat(s->env, &st) == 0) {
        out->map_size = info.me_mapsize;
        out->map_used = (uint64_t)(info.me_last_pgno + 1) * st.ms_psize;
    }
    snprintf(out->tz, sizeof out->tz, "%s", kpi_tz_name(s->tz));
    memcpy(out->base_currency, s->base_currency, 4);
    store_snap_end(sn);
    return ERR_OK;
}

/* ---- glue for store_kpi.c ----------------------------------------------------------- */

MDB_txn *store_snap_txn(store_snap_t *snap)
{
    return snap->txn;
}

const derive_t *store_snap_derive(store_snap_t *snap)
{
    return &snap->s->derive;
}

const derive_t *store_derive_of(const store_t *s)
{
    return &s->derive;
}

err_t store_name_lookup(store_snap_t *snap, const char *name, uint32_t *id)
{
    int rc = store_name_get(snap->s, snap->txn, name, id);
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    return rc ? store_lmdb_err(snap->s, rc, "read names", NULL) : ERR_OK;
}

err_t store_name_of(store_snap_t *snap, uint32_t id, const char **name)
{
    int rc = store_name_str(snap->s, snap->txn, id, name);
    if (rc == MDB_NOTFOUND)
        return ERR_NOT_FOUND;
    return rc ? store_lmdb_err(snap->s, rc, "read names", NULL) : ERR_OK;
}

bool store_party_known(store_snap_t *snap, uint32_t id)
{
    MDB_cursor *c;
    if (mdb_cursor_open(snap->txn, snap->s->by_party, &c))
        return false;
    uint8_t k[4];
    store_put_u32(k, id);
    MDB_val kv = {4, k}, v;
    bool found = mdb_cursor_get(c, &kv, &v, MDB_SET) == 0;
    mdb_cursor_close(c);
    return found;
}

/* ---- verification (kpid check) ------------------------------------------------ */

/* One named database: count its entries and check the records we can. */
static err_t verify_db(store_t *s, MDB_txn *txn, const char *name, uint64_t *n_out, err_msg_t *msg)
{
    MDB_dbi dbi;
    MDB_cursor *cur = NULL;
    MDB_stat st;
    int rc = mdb_dbi_open(txn, name, 0, &dbi);
    if (rc == 0)
        rc = mdb_stat(txn, dbi, &st);
    if (rc == 0)
        rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return store_lmdb_err(s, rc, "open a database", msg);
    bool is_events = strcmp(name, "events") == 0, is_docs = strcmp(name, "docs") == 0;
    bool is_ids = strcmp(name, "ids") == 0;
    uint64_t n = 0;
    err_t e = ERR_OK;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !e;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        n++;
        kpi_event_t ev;
        doc_rec_t d;
        bool has;
        MDB_val ek;
        if (is_events && (k.mv_size != 16 || kpi_event_decode(v.mv_data, v.mv_size, &ev)))
            e = ERR_STORE_CORRUPT;
        else if (is_docs && !store_doc_rec_read(&v, &d, &has))
            e = ERR_STORE_CORRUPT;
        else if (is_ids && (v.mv_size != 16 || mdb_get(txn, s->events, &v, &ek) != 0))
            e = ERR_STORE_CORRUPT;
    }
    mdb_cursor_close(cur);
    if (e)
        return err_set(msg, e, "store %s is damaged: entry %llu of database '%s' is unreadable",
                       s->dir, (unsigned long long)n, name);
    if (rc != MDB_NOTFOUND)
        return store_lmdb_err(s, rc, "read a database", msg);
    if (n != st.ms_entries)
        return err_set(msg, ERR_STORE_CORRUPT,
                       "store %s is damaged: database '%s' yields %llu entries, its header "
                       "records %llu",
                       s->dir, name, (unsigned long long)n, (unsigned long long)st.ms_entries);
    *n_out = n;
    return ERR_OK;
}

err_t store_verify(store_t *s, uint64_t *entries, err_msg_t *msg)
{
    store_snap_t *sn = NULL;
    err_t e = store_snap_begin(s, &sn);
    if (e)
        return err_set(msg, e, "store %s: cannot read: %s", s->dir, err_str(e));
    MDB_txn *txn = sn->txn;
    MDB_dbi main_db;
    MDB_cursor *cur = NULL;
    int rc = mdb_dbi_open(txn, NULL, 0, &main_db);
    if (rc == 0)
        rc = mdb_cursor_open(txn, main_db, &cur);
    if (rc) {
        store_snap_end(sn);
        return store_lmdb_err(s, rc, "open the main database", msg);
    }
    /* The main database's keys name the databases (store_int.h and the
       derived state's): each is walked whole. */
    uint64_t total = 0, n_events = 0;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !e;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char name[64];
        if (k.mv_size == 0 || k.mv_size >= sizeof name || memchr(k.mv_data, 0, k.mv_size)) {
            e = err_set(msg, ERR_STORE_CORRUPT, "store %s is damaged: a database has no name",
                        s->dir);
            break;
        }
        memcpy(name, k.mv_data, k.mv_size);
        name[k.mv_size] = '\0';
        uint64_t n = 0;
        e = verify_db(s, txn, name, &n, msg);
        total += n;
        if (strcmp(name, "events") == 0)
            n_events = n;
    }
    mdb_cursor_close(cur);
    if (!e && rc != MDB_NOTFOUND)
        e = store_lmdb_err(s, rc, "read the main database", msg);
    uint64_t counted = store_meta_u64(s, txn, "events");
    if (!e && counted != n_events)
        e = err_set(msg, ERR_STORE_CORRUPT,
                    "store %s is damaged: the log holds %llu events, its count says %llu", s->dir,
                    (unsigned long long)n_events, (unsigned long long)counted);
    store_snap_end(sn);
    if (!e && entries != NULL)
        *entries = total;
    return e;
}
