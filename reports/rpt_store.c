/*
 * rpt_store.c — report files: ids, paths, the temp-then-rename write and
 * directory listings (rpt.h). Plain file I/O; the HTTP API, `kpid report`
 * and the scheduler share it.
 *
 * A report directory holds "<id>.pdf" files ("<id>.xlsx" for the kind
 * xlsx) and, while one is being written, "<id>.pdf.XXXXXX.tmp". Ids use only [A-Za-z0-9._-] and
 * never start with '.' or contain "..", so an id can never name a path outside the directory.
 */
#include "rpt.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kpi_date.h"

#define STMT_PREFIX "statement_"

void rpt_report_id(const rpt_request_t *rq, char buf[RPT_ID_MAX])
{
    if (rq->kind == RPT_STATEMENT) {
        char kind[sizeof STMT_PREFIX + RPT_ID_CUSTOMER_MAX], cust[RPT_ID_CUSTOMER_MAX];
        rpt_id_customer(rq->customer ? rq->customer : "", cust);
        snprintf(kind, sizeof kind, STMT_PREFIX "%s", cust);
        rpt_id_format(kind, rq->business_unit, rq->from_day, rq->as_of_day, rq->generated_s, buf);
        return;
    }
    rpt_id_format(rpt_kind_name(rq->kind), rq->business_unit, rq->from_day, rq->to_day,
                  rq->generated_s, buf);
}

err_t rpt_id_parse(const char *id, rpt_id_parts_t *out)
{
    memset(out, 0, sizeof *out);
    if (!rpt_id_valid(id))
        return ERR_BAD_PARAM;
    size_t n = strlen(id);
    /* kind "-" unit "-" YYYY-MM-DD "-" YYYY-MM-DD "-" YYYYMMDDTHHMMSSZ */
    const size_t tail = 1 + 10 + 1 + 10 + 1 + 16;
    const char *dash = strchr(id, '-');
    if (dash == NULL || n < tail + 2)
        return ERR_BAD_PARAM;
    size_t kl = (size_t)(dash - id);
    const size_t pl = sizeof STMT_PREFIX - 1;
    if (kl > pl && strncmp(id, STMT_PREFIX, pl) == 0) { /* statement_<customer> */
        if (kl - pl >= sizeof out->customer)
            return ERR_BAD_PARAM;
        memcpy(out->customer, id + pl, kl - pl);
        kl = pl - 1;
    }
    if (kl >= sizeof out->kind)
        return ERR_BAD_PARAM;
    memcpy(out->kind, id, kl);
    rpt_kind_t k;
    if (rpt_kind_parse(out->kind, &k) != ERR_OK)
        return ERR_BAD_PARAM;
    if ((k == RPT_STATEMENT) != (out->customer[0] != '\0'))
        return ERR_BAD_PARAM; /* a statement names its customer; nothing else does */
    const char *t = id + n - tail;
    if (t <= dash + 1 || t[0] != '-' || t[11] != '-' || t[22] != '-')
        return ERR_BAD_PARAM;
    size_t ul = (size_t)(t - dash - 1);
    if (ul >= sizeof out->unit)
        return ERR_BAD_PARAM;
    memcpy(out->unit, dash + 1, ul);
    if (kpi_date_parse(t + 1, 10, &out->from_day) != ERR_OK ||
        kpi_date_parse(t + 12, 10, &out->to_day) != ERR_OK)
        return ERR_BAD_PARAM;
    const char *s = t + 23;
    int v[6];
    static const int w[6] = {4, 2, 2, 2, 2, 2};
    const char *q = s;
    for (int i = 0; i < 6; i++) {
        if (i == 3) {
            if (*q != 'T')
                return ERR_BAD_PARAM;
            q++;
        }
        v[i] = 0;
        for (int j = 0; j < w[i]; j++, q++) {
            if (*q < '0' || *q > '9')
                return ERR_BAD_PARAM;
            v[i] = v[i] * 10 + (*q - '0');
        }
    }
    if (*q != 'Z' || v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > kpi_days_in_month(v[0], v[1]) ||
        v[3] > 23 || v[4] > 59 || v[5] > 59)
        return ERR_BAD_PARAM;
    out->created_s =
        kpi_day_start_utc(kpi_days_from_civil(v[0], v[1], v[2])) + v[3] * 3600 + v[4] * 60 + v[5];
    return ERR_OK;
}

err_t rpt_path(const char *dir, const char *id, char *buf, size_t cap)
{
    if (!rpt_id_valid(id))
        return ERR_BAD_PARAM;
    int n = snprintf(buf, cap, "%s/%s%s", dir, id, rpt_id_ext(id));
    return n < 0 || (size_t)n >= cap ? ERR_TOO_LARGE : ERR_OK;
}

err_t rpt_dir_ensure(const char *dir, err_msg_t *msg)
{
    char buf[4096];
    int n = snprintf(buf, sizeof buf, "%s", dir);
    if (n <= 0 || (size_t)n >= sizeof buf)
        return err_set(msg, ERR_BAD_PARAM, "reports directory path is empty or too long");
    for (char *s = buf + 1;; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return err_set(msg, ERR_IO, "cannot create reports directory %s: %s", buf,
                           strerror(errno));
        *s = c;
        if (c == '\0')
            break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return err_set(msg, ERR_IO, "reports directory %s is not a directory", dir);
    return ERR_OK;
}

err_t rpt_render_atomic(store_t *store, const rpt_request_t *rq, const char *path, rpt_info_t *info,
                        err_msg_t *msg)
{
    char tmp[4096 + 16];
    int n = snprintf(tmp, sizeof tmp, "%s.XXXXXX.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return err_set(msg, ERR_BAD_PARAM, "output path too long: %s", path);
    int fd = mkstemps(tmp, 4);
    if (fd < 0)
        return err_set(msg, ERR_IO, "cannot write %s: %s", path, strerror(errno));
    /* mkstemps creates 0600; a report is a document to share like any file. */
    (void)fchmod(fd, 0644); /* best effort: the report is still written */
    close(fd);
    err_t e = rpt_render_file_ex(store, rq, tmp, info, msg);
    if (!e && rename(tmp, path) != 0)
        e = err_set(msg, ERR_IO, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (e)
        (void)unlink(tmp); /* best effort: the error above is what matters */
    return e;
}

typedef struct entry {
    char id[RPT_ID_MAX];
    int64_t size, mtime_s, created_s;
} entry_t;

static int cmp_entry(const void *a, const void *b)
{
    const entry_t *x = a, *y = b;
    if (x->created_s != y->created_s)
        return x->created_s < y->created_s ? 1 : -1;
    return -strcmp(x->id, y->id);
}

err_t rpt_list(const char *dir, rpt_list_fn fn, void *ctx, err_msg_t *msg)
{
    DIR *dh = opendir(dir);
    if (dh == NULL) {
        if (errno == ENOENT)
            return ERR_OK;
        return err_set(msg, ERR_IO, "cannot read reports directory %s: %s", dir, strerror(errno));
    }
    entry_t *v = NULL;
    size_t n = 0, cap = 0;
    err_t e = ERR_OK;
    for (;;) {
        struct dirent *de = readdir(dh);
        if (de == NULL)
            break;
        const char *dot = strrchr(de->d_name, '.');
        size_t idn = dot != NULL ? (size_t)(dot - de->d_name) : 0;
        if (idn == 0 || idn >= RPT_ID_MAX ||
            (strcmp(dot, ".pdf") != 0 && strcmp(dot, ".xlsx") != 0))
            continue;
        char id[RPT_ID_MAX];
        memcpy(id, de->d_name, idn);
        id[idn] = '\0';
        /* "sla-....xlsx" or "xlsx-....pdf" is no file of ours */
        if (!rpt_id_valid(id) || strcmp(dot, rpt_id_ext(id)) != 0)
            continue;
        char path[4096 + RPT_ID_MAX + 8];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (n == RPT_LIST_MAX)
            break;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            entry_t *nv = realloc(v, nc * sizeof *nv);
            if (nv == NULL) {
                e = err_set(msg, ERR_NOMEM, "out of memory listing %s", dir);
                goto out;
            }
            v = nv;
            cap = nc;
        }
        memcpy(v[n].id, id, idn + 1);
        v[n].size = (int64_t)st.st_size;
        v[n].mtime_s = (int64_t)st.st_mtime;
        /* Newest = generated last: a report that took longer to render
           must not overtake one requested after it. */
        rpt_id_parts_t parts;
        v[n].created_s = rpt_id_parse(id, &parts) == ERR_OK ? parts.created_s : v[n].mtime_s;
        n++;
    }
    if (n > 1)
        qsort(v, n, sizeof *v, cmp_entry);
    for (size_t i = 0; i < n && !e; i++) {
        rpt_file_t f = {v[i].id, v[i].size, v[i].mtime_s, v[i].created_s};
        e = fn(ctx, &f);
    }
out:
    closedir(dh);
    free(v);
    return e;
}
