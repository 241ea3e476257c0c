/*
 * cmd_ingest.c — `kpid ingest`: bulk load files (or stdin) straight into the
 * store, using both cores: the calling thread reads and parses, a writer
 * thread commits. Two batches alternate between them, so parsing of batch
 * k+1 overlaps the commit (and fsync) of batch k, and memory stays bounded
 * at two batches.
 *
 * Every batch is one store transaction. If ingest stops half-way (Ctrl-C,
 * crash), the batches committed so far are durable and running the same
 * command again is safe: those events come back as duplicates.
 *
 * Rejected items are printed to `errs` as "FILE:LINE: item N id=... field:
 * code: message", one per line, as soon as they are known.
 */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coll.h"
#include "kpi_arena.h"

/* Events per transaction (CMD_INGEST_BATCH_DEFAULT, cmd.h). Large: every
   batch rewrites (copy-on-write) the pages it touches and leaves the old
   ones on LMDB's free list, so fewer, bigger batches mean less work and a
   smaller file; hot derived rows (a day's flows, a due day's open amounts)
   are written once per batch. Two batches are in memory at a time (about
   300 bytes per event each). */
#define BATCH_ARENA_CAP ((size_t)256 << 20)
#define READ_CHUNK ((size_t)1 << 20)

typedef struct batch {
    kpi_arena_t *arena;
    kpi_event_t *evs;
    size_t *index;
    size_t *line;
    size_t n;
} batch_t;

typedef struct ingest {
    store_t *store;
    const char *name;
    FILE *errs;
    bool progress;
    uint64_t size_hint;

    /* hand-off between the parser and the writer */
    size_t batch_events; /* events per transaction */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    batch_t slots[2];
    batch_t *filling; /* parser side */
    batch_t *ready;   /* handed to the writer, NULL when the slot is free */
    batch_t *spare;   /* returned by the writer, NULL while it commits */
    bool eof;         /* parser is done; writer exits after `ready` */
    err_t writer_err; /* first store failure: stops everything */
    err_msg_t writer_msg;

    /* totals; the writer's are read by the progress line under mu */
    cmd_ingest_totals_t t;
    err_t parse_err; /* a callback failure (memory) */
    struct timespec t0, last_progress;
} ingest_t;

static double elapsed_s(const struct timespec *a)
{
    struct timespec b;
    (void)clock_gettime(CLOCK_MONOTONIC, &b);
    return (double)(b.tv_sec - a->tv_sec) + (double)(b.tv_nsec - a->tv_nsec) / 1e9;
}

static err_t batch_init(batch_t *b, size_t cap)
{
    memset(b, 0, sizeof *b);
    if (kpi_arena_new(BATCH_ARENA_CAP, &b->arena) != ERR_OK)
        return ERR_NOMEM;
    b->evs = calloc(cap, sizeof *b->evs);
    b->index = calloc(cap, sizeof *b->index);
    b->line = calloc(cap, sizeof *b->line);
    if (b->evs == NULL || b->index == NULL || b->line == NULL)
        return ERR_NOMEM;
    return ERR_OK;
}

static void batch_free(batch_t *b)
{
    kpi_arena_free(b->arena);
    free(b->evs);
    free(b->index);
    free(b->line);
    memset(b, 0, sizeof *b);
}

/* Text from the input, kept on one line: control bytes are written as
   \xNN (ids, so the item can still be found) or as spaces (messages). */
static void put_clean(FILE *f, const char *s, bool escape)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != 0x7f)
            fputc(c, f);
        else if (escape)
            fprintf(f, "\\x%02x", c);
        else
            fputc(' ', f);
    }
}

static void print_rejected(FILE *errs, const char *name, size_t line, size_t index, const char *id,
                           const char *field, err_t code, const char *message)
{
    if (errs == NULL)
        return;
    fprintf(errs, "%s:%zu: item %zu", name, line, index);
    if (id[0]) {
        fputs(" id=", errs);
        put_clean(errs, id, true);
    }
    fprintf(errs, "%s%s: %s: ", field[0] ? " field=" : "", field, err_code(code));
    put_clean(errs, message, false);
    fputc('\n', errs);
}

/* ---- writer thread ------------------------------------------------------ */

static void commit_batch(ingest_t *in, batch_t *b)
{
    store_item_result_t *res = calloc(b->n ? b->n : 1, sizeof *res);
    store_batch_stats_t st = {0};
    err_msg_t msg = {{0}};
    err_t e = res ? store_put_batch(in->store, b->evs, b->n, NULL, res, &st, &msg) : ERR_NOMEM;
    pthread_mutex_lock(&in->mu);
    if (e) {
        if (!in->writer_err) {
            in->writer_err = e;
            in->writer_msg = msg;
        }
    } else {
        in->t.accepted += st.accepted;
        in->t.duplicates += st.duplicates;
        in->t.rejected += st.rejected;
        in->t.pending += st.pending;
        in->t.released += st.released;
    }
    pthread_mutex_unlock(&in->mu);
    if (!e) {
        for (size_t i = 0; i < b->n; i++)
            if (res[i].status == STORE_ITEM_REJECTED)
                print_rejected(in->errs, in->name, b->line[i], b->index[i], b->evs[i].id,
                               res[i].field, res[i].code, res[i].message);
    }
    free(res);
}

static void *writer_main(void *arg)
{
    ingest_t *in = arg;
    for (;;) {
        pthread_mutex_lock(&in->mu);
        while (in->ready == NULL && !in->eof)
            pthread_cond_wait(&in->cv, &in->mu);
        batch_t *b = in->ready;
        in->ready = NULL;
        pthread_mutex_unlock(&in->mu);
        if (b == NULL)
            return NULL; /* eof and nothing left */
        if (b->n > 0 && !in->writer_err)
            commit_batch(in, b);
        b->n = 0;
        kpi_arena_reset(b->arena);
        pthread_mutex_lock(&in->mu);
        in->spare = b;
        pthread_cond_broadcast(&in->cv);
        pthread_mutex_unlock(&in->mu);
    }
}

/* ---- parser side -------------------------------------------------------- */

/* Hand the filling batch to the writer and take the spare one. */
static err_t hand_off(ingest_t *in)
{
    pthread_mutex_lock(&in->mu);
    while ((in->ready != NULL || in->spare == NULL) && !in->writer_err)
        pthread_cond_wait(&in->cv, &in->mu);
    err_t e = in->writer_err;
    if (!e) {
        in->ready = in->filling;
        in->filling = in->spare;
        in->spare = NULL;
        pthread_cond_broadcast(&in->cv);
    }
    pthread_mutex_unlock(&in->mu);
    return e;
}

static err_t on_event(void *ctx, size_t index, size_t line, const kpi_event_t *ev)
{
    ingest_t *in = ctx;
    in->t.items++;
    batch_t *b = in->filling;
    err_t e = kpi_event_copy(b->arena, ev, &b->evs[b->n]);
    if (e == ERR_NOMEM && b->n > 0) {
        /* The arena is full before the event count: commit what we have. */
        e = hand_off(in);
        if (e)
            return e;
        b = in->filling;
        e = kpi_event_copy(b->arena, ev, &b->evs[b->n]);
    }
    if (e)
        return in->parse_err = e;
    b->index[b->n] = index;
    b->line[b->n] = line;
    if (++b->n == in->batch_events)
        return hand_off(in);
    return ERR_OK;
}

static err_t on_error(void *ctx, const coll_error_t *err)
{
    ingest_t *in = ctx;
    in->t.items++;
    pthread_mutex_lock(&in->mu);
    in->t.rejected++;
    pthread_mutex_unlock(&in->mu);
    print_rejected(in->errs, in->name, err->line, err->index, err->id, err->field, err->code,
                   err->message);
    return ERR_OK;
}

static void human_bytes(uint64_t b, char *buf, size_t cap)
{
    if (b >= (uint64_t)1 << 30)
        snprintf(buf, cap, "%.2f GB", (double)b / (double)(1u << 30));
    else
        snprintf(buf, cap, "%.1f MB", (double)b / (double)(1u << 20));
}

static void show_progress(ingest_t *in, bool final)
{
    if (!in->progress)
        return;
    double s = elapsed_s(&in->t0);
    if (!final && elapsed_s(&in->last_progress) < 0.25)
        return;
    (void)clock_gettime(CLOCK_MONOTONIC, &in->last_progress);
    pthread_mutex_lock(&in->mu);
    uint64_t done = in->t.accepted + in->t.duplicates + in->t.rejected;
    pthread_mutex_unlock(&in->mu);
    char bytes[32], total[32], eta[32] = "";
    human_bytes(in->t.bytes, bytes, sizeof bytes);
    double rate = s > 0 ? (double)in->t.items / s : 0;
    if (in->size_hint > 0) {
        human_bytes(in->size_hint, total, sizeof total);
        double frac = (double)in->t.bytes / (double)in->size_hint;
        if (frac > 0.001 && !final) {
            double left = s / frac - s;
            snprintf(eta, sizeof eta, "  ETA %d:%02d", (int)left / 60, (int)left % 60);
        }
        int width = 24, fill = (int)(frac * width);
        char bar[32];
        for (int i = 0; i < width; i++)
            bar[i] = i < fill ? '#' : '.';
        bar[width] = '\0';
        fprintf(stderr,
                "\r\033[K%s [%s] %s / %s  %" PRIu64 " events (%" PRIu64 " committed)  %.0f ev/s%s",
                in->name, bar, bytes, total, in->t.items, done, rate, eta);
    } else {
        fprintf(stderr, "\r\033[K%s %s  %" PRIu64 " events (%" PRIu64 " committed)  %.0f ev/s",
                in->name, bytes, in->t.items, done, rate);
    }
    if (final)
        fputc('\n', stderr);
    fflush(stderr);
}

err_t cmd_ingest_fd(store_t *store, const kpi_tz_t *tz, const char *base_currency, int fd,
                    const char *name, uint64_t size_hint, size_t batch_events, bool progress,
                    FILE *errs, volatile sig_atomic_t *stop, cmd_ingest_totals_t *totals,
                    err_msg_t *msg)
{
    ingest_t in;
    memset(&in, 0, sizeof in);
    in.store = store;
    in.name = name;
    in.errs = errs;
    in.progress = progress;
    in.size_hint = size_hint;
    in.batch_events = batch_events == 0                     ? CMD_INGEST_BATCH_DEFAULT
                      : batch_events > CMD_INGEST_BATCH_MAX ? CMD_INGEST_BATCH_MAX
                                                            : batch_events;
    pthread_mutex_init(&in.mu, NULL);
    pthread_cond_init(&in.cv, NULL);
    (void)clock_gettime(CLOCK_MONOTONIC, &in.t0);
    in.last_progress = in.t0;

    err_t e = ERR_OK;
    coll_parser_t *p = NULL;
    char *buf = NULL;
    bool writer_started = false;
    pthread_t writer;

    if (batch_init(&in.slots[0], in.batch_events) || batch_init(&in.slots[1], in.batch_events)) {
        e = err_set(msg, ERR_NOMEM, "out of memory for ingest batches");
        goto out;
    }
    in.filling = &in.slots[0];
    in.spare = &in.slots[1];
    buf = malloc(READ_CHUNK);
    if (buf == NULL) {
        e = err_set(msg, ERR_NOMEM, "out of memory");
        goto out;
    }
    coll_opts_t co = {.tz = tz, .base_currency = base_currency};
    e = coll_parser_new(&co, coll_format_from_path(name), on_event, on_error, &in, &p);
    if (e) {
        e = err_set(msg, e, "cannot start the parser: %s", err_str(e));
        goto out;
    }
    if (pthread_create(&writer, NULL, writer_main, &in) != 0) {
        e = err_set(msg, ERR_NOMEM, "cannot start the writer thread");
        goto out;
    }
    writer_started = true;

    for (;;) {
        if (stop != NULL && *stop)
            break;
        ssize_t n = read(fd, buf, READ_CHUNK);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            e = err_set(msg, ERR_IO, "read %s: %s", name, strerror(errno));
            goto out;
        }
        if (n == 0) {
            e = coll_parser_finish(p);
            break;
        }
        in.t.bytes += (uint64_t)n;
        e = coll_parser_feed(p, buf, (size_t)n);
        if (e)
            break;
        show_progress(&in, false);
    }
    if (e && !in.writer_err) {
        e = err_set(msg, e, "%s: %s", name, err_str(e));
        goto out;
    }
    if (!e)
        (void)hand_off(&in); /* the last, partly filled batch */

out:
    if (writer_started) {
        pthread_mutex_lock(&in.mu);
        in.eof = true;
        pthread_cond_broadcast(&in.cv);
        pthread_mutex_unlock(&in.mu);
        pthread_join(writer, NULL);
    }
    if (in.writer_err) {
        e = in.writer_err;
        if (msg != NULL)
            *msg = in.writer_msg;
    }
    show_progress(&in, true);
    totals->items += in.t.items;
    totals->accepted += in.t.accepted;
    totals->duplicates += in.t.duplicates;
    totals->rejected += in.t.rejected;
    totals->pending += in.t.pending;
    totals->released += in.t.released;
    totals->bytes += in.t.bytes;
    coll_parser_free(p);
    free(buf);
    batch_free(&in.slots[0]);
    batch_free(&in.slots[1]);
    pthread_mutex_destroy(&in.mu);
    pthread_cond_destroy(&in.cv);
    return e;
}

/* ---- the subcommand ----------------------------------------------------- */

static void usage(FILE *f)
{
    fputs("usage: kpid ingest [--data DIR] [--config FILE] [--quiet] [--batch N] FILE...\n"
          "  Load events (JSON array, NDJSON or CSV; format from the file name,\n"
          "  else from the content) straight into the store. FILE '-' is stdin.\n"
          "  Rejected items are printed to stderr, one per line.\n"
          "  --batch N  events per transaction, 1..1000000 (default 250000): each\n"
          "             batch is committed (durable) before the next; two are held\n"
          "             in memory at a time, about 300 bytes per event each.\n"
          "  Exit status: 0 all taken, 1 some rejected, 2 usage, 3 failure.\n",
          f);
}

int cmd_ingest_main(int argc, char **argv, volatile sig_atomic_t *stop)
{
    /* A bulk load allocates and frees the same big per-batch tables again
       and again. Served from the heap rather than fresh mmaps, they cost no
       page faults after the first batch; this process keeps the memory
       until it exits, which is what a one-shot load wants. */
    mallopt(M_MMAP_THRESHOLD, 512 << 20);
    mallopt(M_TRIM_THRESHOLD, 1024 << 20);
    cmd_config_t cfg;
    cmd_config_default(&cfg);
    const char *data = NULL, *config = NULL;
    bool quiet = false;
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'}, {"config", required_argument, NULL, 'c'},
        {"quiet", no_argument, NULL, 'q'},      {"batch", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    size_t batch = 0;
    while ((c = getopt_long(argc, argv, "d:c:qb:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': {
            char *end;
            errno = 0;
            long long v = strtoll(optarg, &end, 10);
            if (errno != 0 || end == optarg || *end != '\0' || v < 1 || v > CMD_INGEST_BATCH_MAX) {
                fprintf(stderr,
                        "kpid ingest: --batch takes a whole number of events from 1 to %d, "
                        "not '%s'\n",
                        CMD_INGEST_BATCH_MAX, optarg);
                return CMD_EXIT_USAGE;
            }
            batch = (size_t)v;
            break;
        }
        case 'd': data = optarg; break;
        case 'c': config = optarg; break;
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return CMD_EXIT_OK;
        default: usage(stderr); return CMD_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fputs("kpid ingest: no input files (use '-' for stdin)\n", stderr);
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    err_msg_t msg = {{0}};
    if (!cmd_config_resolve(&cfg, "ingest", config, data))
        return CMD_EXIT_USAGE;

    kpi_tz_t *tz = NULL;
    store_t *store = NULL;
    err_t e = cmd_open_store(&cfg, false, &tz, &store, &msg);
    if (e) {
        fprintf(stderr, "kpid ingest: %s\n", err_msg_or(&msg, e));
        return CMD_EXIT_ENV;
    }
    cmd_ingest_totals_t tot = {0};
    struct timespec t0;
    (void)clock_gettime(CLOCK_MONOTONIC, &t0);
    bool tty = isatty(STDERR_FILENO) && !quiet;
    int status = CMD_EXIT_OK;
    for (int i = optind; i < argc && !(stop && *stop); i++) {
        const char *path = argv[i];
        int fd = STDIN_FILENO;
        uint64_t size = 0;
        if (strcmp(path, "-") != 0) {
            fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                fprintf(stderr, "kpid ingest: cannot open %s: %s\n", path, strerror(errno));
                status = CMD_EXIT_ENV;
                break;
            }
            struct stat sb;
            if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode))
                size = (uint64_t)sb.st_size;
        }
        e = cmd_ingest_fd(store, tz, cfg.base_currency, fd, strcmp(path, "-") ? path : "<stdin>",
                          size, batch, tty, stderr, stop, &tot, &msg);
        if (fd != STDIN_FILENO)
            close(fd);
        if (e) {
            fprintf(stderr, "kpid ingest: %s\n", err_msg_or(&msg, e));
            status = CMD_EXIT_ENV;
            break;
        }
    }
    double s = elapsed_s(&t0);
    store_stats_t st;
    uint64_t waiting = store_stats(store, &st) == ERR_OK ? st.pending : 0;
    if (!quiet || tot.rejected > 0 || status != CMD_EXIT_OK) {
        fprintf(stderr,
                "kpid ingest: %" PRIu64 " items: %" PRIu64 " accepted, %" PRIu64
                " duplicates, %" PRIu64 " rejected; %.2f s, %.0f events/s%s\n",
                tot.items, tot.accepted, tot.duplicates, tot.rejected, s,
                s > 0 ? (double)tot.items / s : 0.0,
                (stop && *stop) ? " (interrupted: committed batches are kept; run again to "
                                  "finish, done events come back as duplicates)"
                                : "");
        if (waiting > 0)
            fprintf(stderr,
                    "kpid ingest: %" PRIu64 " events in the store wait for a document not seen "
                    "yet (they take effect when it arrives)\n",
                    waiting);
    }
    store_close(store);
    kpi_tz_free(tz);
    if (status == CMD_EXIT_OK && tot.rejected > 0)
        status = CMD_EXIT_REJECTED;
    if (status == CMD_EXIT_OK && stop && *stop)
        status = 130;
    return status;
}
