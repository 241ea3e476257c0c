/*
 * store_upgrade.c — a format-2 or format-3 store converted to format 4 in
 * place (store_upgrade(), `kpid upgrade`). Format 4 adds the bills' open
 * amounts (d_ap_open, d_ap_tl), which the replay fills; the text below
 * says "format 2" and "format 3" for "an older format" and "this one".
 *
 * Why in place is possible: formats 2, 3 and 4 share the event log (meta's
 * version, tz, currency, seq, names and events; the databases events, ids,
 * names, names_rev). Everything else is derived from it, and the rebuild
 * already recomputes all of it from the log. So the upgrade never rewrites
 * an event: it checks everything read-only first, then in ONE transaction
 * deletes or empties the derived databases (d_state for good: format 3
 * keeps that state in `docs`) and marks the store format 3 with "upgrading" and
 * "rebuilding"; then it replays the log with store_rebuild(), and removes
 * "upgrading" last.
 *
 * Why that is crash-safe: before the first commit the store is the
 * untouched format-2 one (LMDB commits atomically), and upgrading again
 * starts from scratch. After it, the store is format 3 with empty derived
 * state and the "rebuilding" marker: every open refuses it (store_env.c
 * names `kpid upgrade` when "upgrading" is there too) until a replay
 * finishes, and calling this again does that replay. The rebuild removes
 * "rebuilding" in its last commit; after that the derived state is whole,
 * and "upgrading" alone is harmless (open() ignores it).
 *
 * The writer lock (DATA/kpid.lock, the same flock every kpid writer of
 * either format takes) is held while checking and marking. It is let go
 * before the store is opened for the replay (an flock conflicts with a
 * second open of the same file in this process); a process that slips in
 * then finds a marked store, which only an upgrade or a rebuild accepts.
 */
#include "store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define UPGRADE_MAP_MIN (256ull << 20)

/* The log: never written by the upgrade (meta only gains and loses
   markers and the derived counters "pending" and "docs"). */
static const char *const log_dbs[] = {"meta", "events", "ids", "names", "names_rev"};
/* The store's own derived databases: deleted, and created again by
   store_open with whatever flags and layout this format gives them (a
   database keeps its flags when emptied, and format 3 may declare them
   differently: sorted duplicates, say). */
static const char *const core_dbs[] = {"by_party", "by_bu", "docs", "pending"};
/* Derived KPI state: emptied, not deleted, so that a resumed upgrade can
   still check the settings against d_meta's fingerprint (derive_open needs
   them all). */
static const char *const derived_dbs[] = {"d_flows",   "d_open",  "d_tl",    "d_sla",   "d_ftq",
                                          "d_cust",    "d_habit", "d_cidx",  "d_copen", "d_fx",
                                          "d_ap_open", "d_ap_tl", "d_party", "d_onow"};
/* Format 2 only: deleted. */
static const char *const gone_dbs[] = {"d_state"};
/* d_meta keeps its "config" fingerprint (checked against the settings at
   every step) and loses "max_day". */

typedef struct found {
    uint32_t version;
    bool upgrading, rebuilding;
    uint64_t events;
} found_t;

static MDB_val sv(const char *s)
{
    MDB_val v = {strlen(s), (void *)s};
    return v;
}

static bool in_list(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(name, list[i]) == 0)
            return true;
    return false;
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static bool known_db(const char *name)
{
    return in_list(name, log_dbs, N_OF(log_dbs)) || in_list(name, core_dbs, N_OF(core_dbs)) ||
           in_list(name, derived_dbs, N_OF(derived_dbs)) ||
           in_list(name, gone_dbs, N_OF(gone_dbs)) || strcmp(name, "d_meta") == 0;
}

/* The same lock as store_open's: a running server (of this format or the
   old one) holds it. */
static err_t lock_dir(const char *dir, int *fd_out, err_msg_t *msg)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/kpid.lock", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(msg, errno == EACCES || errno == EROFS ? ERR_READONLY : ERR_IO,
                       "cannot create %s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        char buf[32] = "";
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        buf[n > 0 ? n : 0] = '\0';
        buf[strcspn(buf, "\n")] = '\0';
        close(fd);
        return err_set(msg, ERR_STORE_LOCKED,
                       "store %s is in use by another kpid process (pid %s); stop it first, "
                       "then upgrade",
                       dir, buf[0] ? buf : "unknown");
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) != 0 || pwrite(fd, pid, (size_t)n, 0) != n) {
        err_t e = err_set(msg, ERR_IO, "cannot write %s: %s", path, strerror(errno));
        close(fd);
        return e;
    }
    *fd_out = fd;
    return ERR_OK;
}

static err_t lmdb_fail(const char *dir, int rc, const char *what, err_msg_t *msg)
{
    if (rc == ENOSPC)
        return err_set(msg, ERR_DISK_FULL, "store %s: no space left on device (%s)", dir, what);
    if (rc == EACCES || rc == EROFS)
        return err_set(msg, ERR_READONLY, "store %s: not writable (%s)", dir, what);
    if (rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_INVALID)
        return err_set(msg, ERR_STORE_CORRUPT, "store %s is damaged (%s: %s)", dir, what,
                       mdb_strerror(rc));
    return err_set(msg, ERR_IO, "store %s: %s failed: %s", dir, what, mdb_strerror(rc));
}

/* Checks that need the store's contents, inside a read transaction. */
static err_t inspect_txn(const store_opts_t *o, MDB_txn *txn, found_t *f, err_msg_t *msg)
{
    const char *dir = o->dir;
    MDB_dbi meta;
    MDB_val k = sv("version"), v;
    int rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc == 0)
        rc = mdb_get(txn, meta, &k, &v);
    if (rc || v.mv_size != sizeof f->version)
        return err_set(msg, ERR_STORE_CORRUPT,
                       "%s/data.mdb is an LMDB file but not a kpid store (damaged, or another "
                       "program's); it was left untouched",
                       dir);
    memcpy(&f->version, v.mv_data, sizeof f->version);
    k = sv("upgrading");
    f->upgrading = mdb_get(txn, meta, &k, &v) == 0;
    k = sv("rebuilding");
    f->rebuilding = mdb_get(txn, meta, &k, &v) == 0;
    k = sv("events");
    if (mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == sizeof f->events)
        memcpy(&f->events, v.mv_data, sizeof f->events);
    if (!STORE_FORMAT_CAN_UPGRADE(f->version) && f->version != STORE_FORMAT_VERSION)
        return err_set(msg, ERR_STORE_VERSION,
                       "store %s has format version %u; this kpid reads version %d and upgrades "
                       "versions %d to %d only; it was left untouched (use the kpid release that "
                       "wrote it)",
                       dir, f->version, STORE_FORMAT_VERSION, STORE_FORMAT_UPGRADABLE_MIN,
                       STORE_FORMAT_UPGRADABLE);
    if (f->version == STORE_FORMAT_VERSION && !f->upgrading) {
        if (f->rebuilding)
            return err_set(msg, ERR_CONFIG,
                           "store %s is format %d already, but a `kpid rebuild` was "
                           "interrupted; run `kpid rebuild --data %s`",
                           dir, STORE_FORMAT_VERSION, dir);
        return ERR_OK; /* nothing to do */
    }
    /* The zone and base currency are baked into the log's days: the same
       refusals as store_open's, before anything is written. */
    k = sv("tz");
    const char *want = kpi_tz_name(o->tz);
    if (mdb_get(txn, meta, &k, &v) == 0 &&
        (v.mv_size != strlen(want) || memcmp(v.mv_data, want, v.mv_size) != 0))
        return err_set(msg, ERR_CONFIG,
                       "store %s was created with time zone %.*s, not %s: every day boundary "
                       "would shift; use time_zone \"%.*s\"; it was left untouched",
                       dir, (int)v.mv_size, (const char *)v.mv_data, want, (int)v.mv_size,
                       (const char *)v.mv_data);
    k = sv("currency");
    if (mdb_get(txn, meta, &k, &v) == 0 &&
        (v.mv_size != 3 || memcmp(v.mv_data, o->base_currency, 3) != 0))
        return err_set(msg, ERR_CONFIG,
                       "store %s was created with base currency %.*s, not %s; use "
                       "base_currency \"%.*s\"; it was left untouched",
                       dir, (int)v.mv_size, (const char *)v.mv_data, o->base_currency,
                       (int)v.mv_size, (const char *)v.mv_data);
    /* Every database must be one this conversion knows: anything else
       would be dropped or kept without knowing what it is. */
    MDB_dbi main_db;
    MDB_cursor *cur;
    rc = mdb_dbi_open(txn, NULL, 0, &main_db);
    if (rc == 0)
        rc = mdb_cursor_open(txn, main_db, &cur);
    if (rc)
        return lmdb_fail(dir, rc, "read", msg);
    err_t e = ERR_OK;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && !e;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int)k.mv_size, (const char *)k.mv_data);
        if (k.mv_size >= sizeof name || !known_db(name))
            e = err_set(msg, ERR_STORE_VERSION,
                        "store %s holds a database '%s' that format %u does not have; it was "
                        "left untouched",
                        dir, name, f->version);
    }
    mdb_cursor_close(cur);
    if (e)
        return e;
    if (rc != MDB_NOTFOUND)
        return lmdb_fail(dir, rc, "read", msg);
    for (size_t i = 0; i < N_OF(log_dbs); i++) {
        MDB_dbi d;
        if (mdb_dbi_open(txn, log_dbs[i], 0, &d) != 0)
            return err_set(msg, ERR_STORE_CORRUPT,
                           "%s is not a kpid store (no '%s' database); it was left untouched", dir,
                           log_dbs[i]);
    }
    /* The replay computes with these settings: refuse others than the
       store's KPIs were computed with, as serve would (the fingerprint is
       the same in both formats). */
    derive_t d;
    derive_config_t dc = {.tz = o->tz, .slas = o->slas, .n_slas = o->n_slas, .cal = o->cal};
    e = derive_open(&d, txn, &dc, false, false, msg);
    if (e == ERR_CONFIG)
        return err_set(msg, ERR_CONFIG,
                       "store %s: its KPIs were computed with other SLA definitions, weekend or "
                       "holidays than this configuration's; upgrade with the --config it is "
                       "served with (then `kpid rebuild` to change them); it was left untouched",
                       dir);
    if (e) {
        char why[ERR_MSG_CAP];
        snprintf(why, sizeof why, "%s", msg != NULL ? msg->text : err_str(e));
        return err_set(msg, e,
                       "store %s is not a kpid store of format %u (%s); it was left "
                       "untouched",
                       dir, f->version, why);
    }
    return ERR_OK;
}

/* Read-only look, as store_open's check: no lock file, nothing written. */
static err_t inspect(const store_opts_t *o, found_t *f, err_msg_t *msg)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", o->dir);
    struct stat sb;
    if (stat(path, &sb) != 0 || sb.st_size == 0)
        return err_set(msg, ERR_STORE_CORRUPT,
                       "%s is empty (0 bytes): the store is damaged; restore it from a backup",
                       path);
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc)
        return lmdb_fail(o->dir, rc, "open", msg);
    mdb_env_set_maxdbs(env, 32);
    rc = mdb_env_open(env, o->dir, MDB_RDONLY | MDB_NOTLS | MDB_NOLOCK, 0644);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
        mdb_env_close(env);
        return err_set(msg, ERR_STORE_CORRUPT, "%s is not a kpid store (%s); it was left untouched",
                       path, mdb_strerror(rc));
    }
    if (rc) {
        mdb_env_close(env);
        return lmdb_fail(o->dir, rc, "open", msg);
    }
    /* A file shorter than its last page would fault on the first read. */
    MDB_envinfo info;
    MDB_stat st;
    if (mdb_env_info(env, &info) == 0 && mdb_env_stat(env, &st) == 0 && stat(path, &sb) == 0 &&
        ((uint64_t)info.me_last_pgno + 1) * st.ms_psize > (uint64_t)sb.st_size) {
        mdb_env_close(env);
        return err_set(msg, ERR_STORE_CORRUPT,
                       "%s is truncated: the store is damaged; restore it from a backup", path);
    }
    /* LMDB's meta pages and no commit: its creator stopped before writing
       anything, so there is no book here (store_open starts it afresh). */
    if (mdb_env_info(env, &info) == 0 && info.me_last_txnid == 0) {
        mdb_env_close(env);
        return err_set(msg, ERR_NOT_FOUND,
                       "no kpid store in %s (its data file was never written): nothing to "
                       "upgrade",
                       o->dir);
    }
    MDB_txn *txn;
    rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    err_t e = rc ? lmdb_fail(o->dir, rc, "read", msg) : inspect_txn(o, txn, f, msg);
    if (!rc)
        mdb_txn_abort(txn);
    mdb_env_close(env);
    return e;
}

/* The one transaction that turns the format-2 store into a marked,
   empty-derived format-3 one. */
static int mark_txn(MDB_txn *txn)
{
    MDB_dbi dbi, meta;
    int rc = mdb_dbi_open(txn, "meta", 0, &meta);
    MDB_val k = sv("version"), v;
    uint32_t ver = 0;
    if (!rc)
        rc = mdb_get(txn, meta, &k, &v);
    if (!rc && v.mv_size == sizeof ver)
        memcpy(&ver, v.mv_data, sizeof ver);
    if (!rc && !STORE_FORMAT_CAN_UPGRADE(ver))
        rc = MDB_INCOMPATIBLE; /* changed since the check: cannot happen under the lock */
    for (size_t i = 0; !rc && i < N_OF(derived_dbs); i++) {
        rc = mdb_dbi_open(txn, derived_dbs[i], 0, &dbi);
        if (rc == MDB_NOTFOUND) { /* store_open creates it */
            rc = 0;
            continue;
        }
        if (!rc)
            rc = mdb_drop(txn, dbi, 0);
    }
    for (size_t i = 0; !rc && i < N_OF(core_dbs) + N_OF(gone_dbs); i++) {
        const char *name = i < N_OF(core_dbs) ? core_dbs[i] : gone_dbs[i - N_OF(core_dbs)];
        rc = mdb_dbi_open(txn, name, 0, &dbi);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (!rc)
            rc = mdb_drop(txn, dbi, 1);
    }
    if (!rc)
        rc = mdb_dbi_open(txn, "d_meta", 0, &dbi);
    if (!rc) {
        k = sv("max_day");
        rc = mdb_del(txn, dbi, &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    uint32_t from = ver, to = STORE_FORMAT_VERSION;
    uint8_t one = 1;
    uint64_t zero = 0, docs[KPI_DOC_COUNT] = {0};
    struct {
        const char *key;
        MDB_val val;
    } w[] = {{"upgrading", {sizeof from, &from}},
             {"rebuilding", {1, &one}},
             {"pending", {sizeof zero, &zero}},
             {"docs", {sizeof docs, docs}},
             {"version", {sizeof to, &to}}};
    for (size_t i = 0; !rc && i < N_OF(w); i++) {
        k = sv(w[i].key);
        rc = mdb_put(txn, meta, &k, &w[i].val, 0);
    }
    return rc;
}

static err_t mark(const char *dir, err_msg_t *msg)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    struct stat sb;
    uint64_t map = UPGRADE_MAP_MIN;
    if (stat(path, &sb) == 0 && (uint64_t)sb.st_size * 2 > map)
        map = (uint64_t)sb.st_size * 2;
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc)
        return lmdb_fail(dir, rc, "open", msg);
    mdb_env_set_maxdbs(env, 32);
    rc = mdb_env_set_mapsize(env, map);
    if (!rc)
        rc = mdb_env_open(env, dir, MDB_NOTLS, 0644);
    for (int tries = 0; !rc; tries++) {
        MDB_txn *txn;
        rc = mdb_txn_begin(env, NULL, 0, &txn);
        if (rc)
            break;
        rc = mark_txn(txn);
        if (rc) {
            mdb_txn_abort(txn);
        } else {
            rc = mdb_txn_commit(txn);
        }
        /* Dropping big databases writes pages too. */
        if (rc != MDB_MAP_FULL || tries == 8)
            break;
        map *= 2;
        rc = mdb_env_set_mapsize(env, map);
    }
    mdb_env_close(env);
    return rc ? lmdb_fail(dir, rc, "mark the upgrade", msg) : ERR_OK;
}

static err_t clear_marker(store_t *s, err_msg_t *msg)
{
    pthread_mutex_lock(&s->write_mu);
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (!rc) {
        MDB_val k = sv("upgrading");
        rc = mdb_del(txn, s->meta, &k, NULL);
        if (rc == MDB_NOTFOUND)
            rc = 0;
        if (rc)
            mdb_txn_abort(txn);
        else
            rc = mdb_txn_commit(txn);
    }
    pthread_mutex_unlock(&s->write_mu);
    return rc ? store_lmdb_err(s, rc, "finish the upgrade", msg) : ERR_OK;
}

static void step(const store_upgrade_cb_t *cb, store_upgrade_step_t st,
                 const store_upgrade_info_t *info)
{
    if (cb != NULL && cb->step != NULL)
        cb->step(cb->ctx, st, info);
}

err_t store_upgrade(const store_opts_t *o, const store_upgrade_cb_t *cb,
                    store_upgrade_info_t *info_out, err_msg_t *msg)
{
    store_upgrade_info_t info = {0};
    if (info_out != NULL)
        *info_out = info;
    if (o->dir == NULL || o->tz == NULL || o->base_currency == NULL)
        return err_set(msg, ERR_BAD_PARAM, "store_upgrade: dir, tz and base_currency are required");
    /* Never create anything where there is no store. */
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", o->dir);
    struct stat sb;
    if (stat(o->dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return err_set(msg, ERR_NOT_FOUND, "no kpid store in %s (no such directory)", o->dir);
    if (stat(path, &sb) != 0)
        return err_set(msg, ERR_NOT_FOUND, "no kpid store in %s (no data.mdb): nothing to upgrade",
                       o->dir);
    if (access(o->dir, W_OK) != 0)
        return err_set(msg, ERR_READONLY,
                       "data directory %s is not writable: the upgrade rewrites the store in "
                       "place; check its permissions and mount",
                       o->dir);
    int fd = -1;
    err_t e = lock_dir(o->dir, &fd, msg);
    if (e)
        return e;
    found_t f = {0};
    e = inspect(o, &f, msg);
    info.from_version = f.version;
    info.events = f.events;
    info.resumed = f.version == STORE_FORMAT_VERSION && f.upgrading;
    info.nothing_to_do = !e && f.version == STORE_FORMAT_VERSION && !f.upgrading;
    if (e || info.nothing_to_do) {
        close(fd);
        if (info_out != NULL)
            *info_out = info;
        return e;
    }
    bool replay = f.rebuilding || !info.resumed;
    info.replay = replay;
    step(cb, STORE_UPGRADE_PLAN, &info);
    if (!info.resumed) {
        e = mark(o->dir, msg);
        if (!e)
            step(cb, STORE_UPGRADE_MARKED, &info);
    }
    close(fd); /* store_open takes the lock itself */
    if (e) {
        if (info_out != NULL)
            *info_out = info;
        return e;
    }
    store_opts_t so = *o;
    so.read_only = false;
    /* Only a replay may adopt the settings (it recomputes with them);
       merely removing the marker must not. */
    so.rebuild = replay;
    store_t *s = NULL;
    e = store_open(&so, &s, msg);
    if (!e && replay)
        e = store_rebuild(s, cb ? cb->progress : NULL, cb ? cb->ctx : NULL, msg);
    if (!e) {
        step(cb, STORE_UPGRADE_REPLAYED, &info);
        e = clear_marker(s, msg);
    }
    store_close(s);
    if (info_out != NULL)
        *info_out = info;
    return e;
}
