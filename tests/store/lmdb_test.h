/*
 * lmdb_test.h — a bare LMDB environment in a fresh temporary directory, for
 * the tests of store/ internals that take LMDB handles (the write cache,
 * the batch's document set, row set and log buffer, derived state).
 * No durability: MDB_NOSYNC, a 256 MiB map.
 */
#ifndef KPID_TESTS_LMDB_TEST_H
#define KPID_TESTS_LMDB_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "test.h"

typedef struct lmdb_dir {
    char dir[64];
    MDB_env *env;
} lmdb_dir_t;

/* tag names the directory (/tmp/kpid-TAG-XXXXXX). */
static inline void lmdb_dir_open(lmdb_dir_t *d, const char *tag, unsigned maxdbs)
{
    memset(d, 0, sizeof *d);
    snprintf(d->dir, sizeof d->dir, "/tmp/kpid-%s-XXXXXX", tag);
    REQUIRE(mkdtemp(d->dir) != NULL);
    REQUIRE(mdb_env_create(&d->env) == 0);
    REQUIRE(mdb_env_set_maxdbs(d->env, maxdbs) == 0);
    REQUIRE(mdb_env_set_mapsize(d->env, 256u << 20) == 0);
    REQUIRE(mdb_env_open(d->env, d->dir, MDB_NOSYNC, 0600) == 0);
}

/* A named database, created with flags in a transaction of its own. */
static inline MDB_dbi lmdb_dir_db(lmdb_dir_t *d, const char *name, unsigned flags)
{
    MDB_txn *txn;
    MDB_dbi dbi;
    REQUIRE(mdb_txn_begin(d->env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, name, MDB_CREATE | flags, &dbi) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    return dbi;
}

static inline void lmdb_dir_close(lmdb_dir_t *d)
{
    if (d->env != NULL)
        mdb_env_close(d->env);
    d->env = NULL;
    char p[96];
    snprintf(p, sizeof p, "%s/data.mdb", d->dir);
    unlink(p);
    snprintf(p, sizeof p, "%s/lock.mdb", d->dir);
    unlink(p);
    rmdir(d->dir);
}

#endif
