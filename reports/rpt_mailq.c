/*
 * rpt_mailq.c — the delivery queue of reports by e-mail (see rpt_mail.h).
 *
 * Each pending delivery holds the report's path and what the message says;
 * the message is built from the file at each attempt, so the queue holds no
 * PDF in memory and a report is never lost by the mail: it stays in its
 * reports directory, sent or not. A failed attempt is logged with the
 * server's reason and retried after rpt_mailq_backoff(); after
 * max_attempts attempts, or at once for a 5xx refusal (the server will not
 * take it later either) or a PDF that is gone, the delivery is given up and
 * logged with the path of the PDF.
 *
 * Threading: the mutex guards the list and the counters; an attempt runs
 * without it (the item is marked busy), so submit never waits for a send.
 */
#include "rpt_mail.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "kpi_date.h"

#define PATH_MAX_ 4096
#define PDF_MAX (256u << 20)

typedef struct item {
    char path[PATH_MAX_];
    char kind[16];
    char unit[256]; /* "" = the whole book */
    int32_t from_day, to_day;
    int64_t generated_s;
    char to[RPT_MAIL_TO_MAX][RPT_MAIL_ADDR_MAX];
    size_t n_to;
    uint64_t seq;        /* submission number, for the Message-ID */
    uint32_t attempts;   /* made so far */
    int64_t next_s;      /* the next attempt */
    bool busy;           /* an attempt runs */
    struct item *next_i; /* list link */
} item_t;

struct rpt_mailq {
    rpt_mail_conf_t conf;
    rpt_mailq_opts_t opts;
    char host[256];
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_MONOTONIC */
    item_t *head;
    uint64_t seq;
    rpt_mailq_stats_t st;
    bool running, stop, wake;
    pthread_t thread;
};

static void logf_(rpt_mailq_t *q, const char *fmt, ...) KPID_PRINTF(2, 3);

static void logf_(rpt_mailq_t *q, const char *fmt, ...)
{
    if (q->opts.log == NULL)
        return;
    char line[1200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(q->opts.log, "kpid: mail: %s\n", line);
    fflush(q->opts.log);
}

static int64_t wall_clock(void *ctx)
{
    (void)ctx;
    return (int64_t)time(NULL);
}

static err_t default_send(void *ctx, const rpt_mail_conf_t *c, const char *from,
                          const char *const *to, size_t n_to, const char *data, size_t len,
                          int *smtp_code, err_msg_t *msg)
{
    (void)ctx;
    return rpt_smtp_send(c, from, to, n_to, data, len, smtp_code, msg);
}

int64_t rpt_mailq_backoff(const rpt_mail_conf_t *c, uint32_t failed)
{
    int64_t base = c->retry_s ? c->retry_s : 60, cap = c->retry_max_s ? c->retry_max_s : 3600;
    int64_t d = base;
    for (uint32_t i = 1; i < failed && d < cap; i++)
        d *= 2;
    return d < cap ? d : cap;
}

err_t rpt_mailq_new(const rpt_mailq_opts_t *opts, rpt_mailq_t **out, err_msg_t *msg)
{
    *out = NULL;
    if (opts->conf == NULL || opts->conf->url[0] == '\0')
        return err_set(msg, ERR_BAD_PARAM, "mail: no SMTP url");
    if (!rpt_mail_addr_ok(opts->conf->from))
        return err_set(msg, ERR_BAD_PARAM, "mail: sender '%.80s' is not an e-mail address",
                       opts->conf->from);
    rpt_mailq_t *q = calloc(1, sizeof *q);
    if (q == NULL)
        return ERR_NOMEM;
    q->conf = *opts->conf;
    if (q->conf.max_attempts == 0)
        q->conf.max_attempts = 8;
    if (q->conf.timeout_s == 0)
        q->conf.timeout_s = 60;
    q->opts = *opts;
    q->opts.conf = &q->conf;
    if (q->opts.send == NULL)
        q->opts.send = default_send;
    if (q->opts.now_s == NULL)
        q->opts.now_s = wall_clock;
    if (opts->host != NULL)
        snprintf(q->host, sizeof q->host, "%s", opts->host);
    else if (gethostname(q->host, sizeof q->host - 1) != 0 || q->host[0] == '\0')
        snprintf(q->host, sizeof q->host, "localhost");
    /* The Message-ID's right part must be a plain token. */
    for (char *p = q->host; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '-'))
            *p = '-';
    q->opts.host = q->host;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->cv, &ca);
    pthread_condattr_destroy(&ca);
    *out = q;
    return ERR_OK;
}

static bool ctl_free(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return false;
    return true;
}

err_t rpt_mailq_submit(rpt_mailq_t *q, const rpt_mail_item_t *it, err_msg_t *msg)
{
    if (it->n_to == 0 || it->n_to > RPT_MAIL_TO_MAX)
        return err_set(msg, ERR_BAD_PARAM, "mail_to must list 1 to %d addresses", RPT_MAIL_TO_MAX);
    for (size_t i = 0; i < it->n_to; i++)
        if (!rpt_mail_addr_ok(it->to[i]))
            return err_set(msg, ERR_BAD_PARAM, "mail_to: '%.80s' is not an e-mail address",
                           it->to[i]);
    const char *unit = it->unit ? it->unit : "";
    if (it->pdf_path == NULL || strlen(it->pdf_path) >= PATH_MAX_ || it->kind == NULL ||
        strlen(it->kind) >= sizeof((item_t *)0)->kind || strlen(unit) >= sizeof((item_t *)0)->unit)
        return err_set(msg, ERR_BAD_PARAM, "mail: report path, kind or unit too long");
    if (!ctl_free(it->kind) || !ctl_free(unit))
        return err_set(msg, ERR_BAD_PARAM, "mail: a control character in the kind or unit");
    item_t *n = calloc(1, sizeof *n);
    if (n == NULL)
        return ERR_NOMEM;
    snprintf(n->path, sizeof n->path, "%s", it->pdf_path);
    snprintf(n->kind, sizeof n->kind, "%s", it->kind);
    snprintf(n->unit, sizeof n->unit, "%s", unit);
    n->from_day = it->from_day;
    n->to_day = it->to_day;
    n->generated_s = it->generated_s;
    for (size_t i = 0; i < it->n_to; i++)
        snprintf(n->to[i], sizeof n->to[i], "%s", it->to[i]);
    n->n_to = it->n_to;
    n->next_s = INT64_MIN; /* due at once */
    pthread_mutex_lock(&q->mu);
    if (q->st.pending >= RPT_MAIL_QUEUE_MAX) {
        pthread_mutex_unlock(&q->mu);
        free(n);
        return err_set(msg, ERR_BUSY, "mail: %d deliveries are pending already",
                       RPT_MAIL_QUEUE_MAX);
    }
    n->seq = ++q->seq;
    item_t **tail = &q->head;
    while (*tail)
        tail = &(*tail)->next_i;
    *tail = n;
    q->st.pending++;
    q->wake = true;
    pthread_cond_broadcast(&q->cv);
    pthread_mutex_unlock(&q->mu);
    return ERR_OK;
}

static err_t read_pdf(const char *path, unsigned char **data, size_t *len, err_msg_t *msg)
{
    *data = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return err_set(msg, errno == ENOENT ? ERR_NOT_FOUND : ERR_IO, "cannot read %s: %s", path,
                       strerror(errno));
    struct stat st;
    err_t e = ERR_OK;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > PDF_MAX)
        e = err_set(msg, ERR_IO, "%s is not a regular file of at most %u bytes", path, PDF_MAX);
    else if ((*data = malloc((size_t)st.st_size + 1)) == NULL)
        e = ERR_NOMEM;
    else if (fread(*data, 1, (size_t)st.st_size, f) != (size_t)st.st_size)
        e = err_set(msg, ERR_IO, "cannot read %s", path);
    else
        *len = (size_t)st.st_size;
    fclose(f);
    if (e) {
        free(*data);
        *data = NULL;
    }
    return e;
}

/* One attempt. *permanent: retrying cannot help. */
static err_t attempt(rpt_mailq_t *q, const item_t *it, int64_t now_s, bool *permanent,
                     err_msg_t *msg)
{
    *permanent = false;
    unsigned char *pdf = NULL;
    size_t pdf_len = 0;
    err_t e = read_pdf(it->path, &pdf, &pdf_len, msg);
    if (e) {
        *permanent = e == ERR_NOT_FOUND;
        return e;
    }
    char period[RPT_MAIL_PERIOD_BUF], subject[512], text[2048], id[400];
    char fb[KPI_DATE_BUF], tb[KPI_DATE_BUF], gb[KPI_TIME_BUF];
    rpt_mail_period_label(it->from_day, it->to_day, period);
    const char *name = strrchr(it->path, '/');
    name = name ? name + 1 : it->path;
    if (rpt_mail_subject(it->kind, it->unit, period, subject, sizeof subject) != ERR_OK) {
        free(pdf);
        *permanent = true;
        return err_set(msg, ERR_BAD_PARAM, "cannot make a subject for %s", name);
    }
    snprintf(text, sizeof text,
             "The %s report for %s, %s to %s (%s), generated %s, is attached: %.320s.\n"
             "It is also kept on the kpid server, in its reports directory.\n",
             it->kind, it->unit[0] ? it->unit : "the whole book", kpi_date_format(it->from_day, fb),
             kpi_date_format(it->to_day, tb), period, kpi_time_format_utc(it->generated_s, gb),
             name);
    snprintf(id, sizeof id, "kpid.%" PRId64 ".%ld.%" PRIu64 ".%u@%s", now_s, (long)getpid(),
             it->seq, (unsigned)it->attempts + 1, q->host);
    const char *to[RPT_MAIL_TO_MAX];
    for (size_t i = 0; i < it->n_to; i++)
        to[i] = it->to[i];
    rpt_mail_msg_t m = {.from = q->conf.from,
                        .to = to,
                        .n_to = it->n_to,
                        .subject = subject,
                        .text = text,
                        .date_s = now_s,
                        .message_id = id,
                        .file_name = name,
                        .data = pdf,
                        .len = pdf_len};
    char *data = NULL;
    size_t len = 0;
    e = rpt_mail_build(&m, &data, &len, msg);
    free(pdf);
    if (e) {
        *permanent = true;
        return e;
    }
    int code = 0;
    e = q->opts.send(q->opts.send_ctx, &q->conf, q->conf.from, to, it->n_to, data, len, &code, msg);
    free(data);
    if (e && code >= 500 && code < 600)
        *permanent = true;
    return e;
}

static void to_list(const item_t *it, char *buf, size_t cap)
{
    buf[0] = '\0';
    size_t used = 0;
    for (size_t i = 0; i < it->n_to && used < cap; i++) {
        int n = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", it->to[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

void rpt_mailq_run(rpt_mailq_t *q, int64_t now_s, int64_t *next_s)
{
    for (;;) {
        pthread_mutex_lock(&q->mu);
        item_t *it = q->head;
        while (it != NULL && (it->busy || it->next_s > now_s))
            it = it->next_i;
        if (it != NULL)
            it->busy = true;
        bool stop = q->stop;
        pthread_mutex_unlock(&q->mu);
        if (it == NULL || stop)
            break;
        err_msg_t m = {{0}};
        bool permanent = false;
        err_t e = attempt(q, it, now_s, &permanent, &m);
        char who[RPT_MAIL_TO_MAX * (RPT_MAIL_ADDR_MAX + 2)];
        to_list(it, who, sizeof who);
        const char *name = strrchr(it->path, '/');
        name = name ? name + 1 : it->path;
        pthread_mutex_lock(&q->mu);
        it->busy = false;
        it->attempts++;
        bool done = false;
        if (!e) {
            q->st.sent++;
            done = true;
        } else if (permanent || it->attempts >= q->conf.max_attempts) {
            q->st.failed++;
            done = true;
        } else {
            q->st.retries++;
            it->next_s = now_s + rpt_mailq_backoff(&q->conf, it->attempts);
        }
        if (done) {
            item_t **pp = &q->head;
            while (*pp != it)
                pp = &(*pp)->next_i;
            *pp = it->next_i;
            q->st.pending--;
        }
        int64_t retry_at = it->next_s;
        uint32_t attempts = it->attempts;
        pthread_mutex_unlock(&q->mu);
        if (!e) {
            logf_(q, "sent %s to %s", name, who);
        } else if (done) {
            logf_(q, "giving up %s to %s after %u attempt%s: %s (the report stays in %s)", name,
                  who, (unsigned)attempts, attempts == 1 ? "" : "s", err_msg_or(&m, e), it->path);
        } else {
            char a[KPI_TIME_BUF];
            logf_(q, "attempt %u of %u to send %s to %s failed: %s; retrying at %s",
                  (unsigned)attempts, (unsigned)q->conf.max_attempts, name, who, err_msg_or(&m, e),
                  kpi_time_format_utc(retry_at, a));
        }
        if (done)
            free(it);
    }
    if (next_s != NULL) {
        pthread_mutex_lock(&q->mu);
        int64_t nx = INT64_MAX;
        for (item_t *it = q->head; it != NULL; it = it->next_i)
            if (!it->busy && it->next_s < nx)
                nx = it->next_s;
        pthread_mutex_unlock(&q->mu);
        *next_s = nx;
    }
}

static void *thread_main(void *arg)
{
    rpt_mailq_t *q = arg;
    pthread_mutex_lock(&q->mu);
    while (!q->stop) {
        q->wake = false;
        pthread_mutex_unlock(&q->mu);
        int64_t now = q->opts.now_s(q->opts.clock_ctx), next;
        rpt_mailq_run(q, now, &next);
        pthread_mutex_lock(&q->mu);
        /* Sleep until the next attempt (re-reading the clock at least once
           a minute) or until a submit or stop wakes us. */
        int64_t wait_s = 60;
        if (next != INT64_MAX && next - now < wait_s)
            wait_s = next - now < 1 ? 1 : next - now;
        struct timespec dl;
        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += (time_t)wait_s;
        while (!q->stop && !q->wake)
            if (pthread_cond_timedwait(&q->cv, &q->mu, &dl) == ETIMEDOUT)
                break;
    }
    pthread_mutex_unlock(&q->mu);
    return NULL;
}

err_t rpt_mailq_start(rpt_mailq_t *q, err_msg_t *msg)
{
    pthread_mutex_lock(&q->mu);
    err_t e = ERR_OK;
    if (q->running) {
        e = err_set(msg, ERR_INTERNAL, "mail: the delivery thread runs already");
    } else {
        q->stop = false;
        int rc = pthread_create(&q->thread, NULL, thread_main, q);
        if (rc != 0)
            e = err_set(msg, ERR_INTERNAL, "mail: cannot start the delivery thread: %s",
                        strerror(rc));
        else
            q->running = true;
    }
    pthread_mutex_unlock(&q->mu);
    return e;
}

void rpt_mailq_stats(rpt_mailq_t *q, rpt_mailq_stats_t *out)
{
    pthread_mutex_lock(&q->mu);
    *out = q->st;
    pthread_mutex_unlock(&q->mu);
}

void rpt_mailq_free(rpt_mailq_t *q)
{
    if (q == NULL)
        return;
    pthread_mutex_lock(&q->mu);
    q->stop = true;
    pthread_cond_broadcast(&q->cv);
    bool running = q->running;
    pthread_mutex_unlock(&q->mu);
    if (running)
        pthread_join(q->thread, NULL);
    for (item_t *it = q->head, *nx; it != NULL; it = nx) {
        nx = it->next_i;
        char who[RPT_MAIL_TO_MAX * (RPT_MAIL_ADDR_MAX + 2)];
        to_list(it, who, sizeof who);
        logf_(q, "stopping: not sent to %s after %u attempt%s; the report stays in %s", who,
              (unsigned)it->attempts, it->attempts == 1 ? "" : "s", it->path);
        free(it);
    }
    pthread_cond_destroy(&q->cv);
    pthread_mutex_destroy(&q->mu);
    free(q);
}
