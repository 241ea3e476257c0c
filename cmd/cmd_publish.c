/*
 * cmd_publish.c — `kpid publish --nats URL FILE...`: bulk-load events into
 * the JetStream stream that every `kpid serve --nats` node applies
 * (docs/operations.md, "Many nodes").
 *
 * Files are parsed and validated exactly as `kpid ingest` does (a bad item
 * is printed with its reason and never published); each valid event is one
 * message, its JSON as GET /v1/events renders it, with the de-duplication
 * id of coll_nats_msg_id. Messages go out asynchronously in chunks of
 * --batch, each chunk waited for before the next: when the command says an
 * event is published, the stream has acknowledged it. Publishing again
 * after a failure is safe (inside the stream's window the acknowledged
 * events are dropped as duplicates, past it every node's id index does).
 */
#include "cmd_nats.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coll.h"
#include "kpi_money.h"

#define CHUNK_DEFAULT 1000
#define CHUNK_MAX 100000

static void usage(FILE *f)
{
    fputs("usage: kpid publish [--nats URL] [--config FILE] [--batch N] [--quiet] FILE...\n"
          "  Validate event files (JSON, NDJSON, CSV; '-' is stdin) and publish each event\n"
          "  to the NATS JetStream stream the kpid serve --nats nodes apply. URL (or the\n"
          "  config's \"nats\" block) names the servers; the config gives the zone, base\n"
          "  currency, stream and subject. --batch N: events per acknowledgement wait\n"
          "  (default 1000). Exit 1 when an item was rejected, 3 when NATS failed.\n",
          f);
}

typedef struct pub {
    coll_nats_t *nats;
    int base_digits;
    size_t chunk;
    coll_nats_item_t *items;
    char **texts;
    char (*ids)[COLL_NATS_MSG_ID_MAX];
    size_t n;
    uint64_t published, stored, duplicates, rejected;
    const char *name;
    err_t failed; /* NATS did not acknowledge: stop */
    err_msg_t fail_msg;
    cmd_progress_t pr;
    FILE *progress;
    uint64_t size, bytes;
    struct timespec last;
} pub_t;

static void show(pub_t *p, bool final)
{
    if (p->progress == NULL)
        return;
    struct timespec now;
    (void)clock_gettime(CLOCK_MONOTONIC, &now);
    double since =
        (double)(now.tv_sec - p->last.tv_sec) + (double)(now.tv_nsec - p->last.tv_nsec) / 1e9;
    if (!final && since < 0.25)
        return;
    p->last = now;
    double el = cmd_progress_elapsed(&p->pr);
    fprintf(p->progress, "\rkpid publish: %s: %llu events published", p->name,
            (unsigned long long)p->published);
    if (p->size > 0)
        fprintf(p->progress, " (%llu%% of the file)",
                (unsigned long long)(p->bytes * 100 / p->size));
    fprintf(p->progress, ", %.0f events/s   %s", el > 0 ? (double)p->published / el : 0.0,
            final ? "\n" : "");
    fflush(p->progress);
}

static void flush_chunk(pub_t *p)
{
    if (p->n == 0 || p->failed)
        return;
    coll_nats_pub_stats_t st;
    err_t e = coll_nats_publish(p->nats, p->items, p->n, 30000, &st, &p->fail_msg);
    p->stored += st.stored;
    p->duplicates += st.duplicates;
    p->published += st.stored + st.duplicates;
    if (e)
        p->failed = e;
    for (size_t i = 0; i < p->n; i++) {
        free(p->texts[i]);
        p->texts[i] = NULL;
    }
    p->n = 0;
    show(p, false);
}

static err_t on_event(void *ctx, size_t index, size_t line, const kpi_event_t *ev)
{
    (void)index;
    (void)line;
    pub_t *p = ctx;
    if (p->failed)
        return p->failed;
    char *text = api_event_text(ev, p->base_digits);
    if (text == NULL || coll_nats_msg_id(ev, p->ids[p->n]) != ERR_OK) {
        free(text);
        return ERR_NOMEM;
    }
    p->texts[p->n] = text;
    p->items[p->n] = (coll_nats_item_t){p->ids[p->n], text, strlen(text)};
    if (++p->n == p->chunk)
        flush_chunk(p);
    return p->failed;
}

static err_t on_error(void *ctx, const coll_error_t *err)
{
    pub_t *p = ctx;
    p->rejected++;
    fprintf(stderr, "kpid publish: %s:%zu: item %zu%s%s%s rejected: %s: %s\n", p->name, err->line,
            err->index, err->id[0] ? " (id '" : "", err->id, err->id[0] ? "')" : "",
            err_code(err->code), err->message);
    return ERR_OK;
}

static err_t publish_fd(pub_t *p, const coll_opts_t *co, int fd, err_msg_t *msg)
{
    coll_parser_t *parser = NULL;
    coll_format_t fmt = coll_format_from_path(p->name);
    err_t e = coll_parser_new(co, fmt, on_event, on_error, p, &parser);
    if (e)
        return err_set(msg, e, "out of memory");
    static char buf[1 << 16];
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            e = err_set(msg, ERR_IO, "reading %s: %s", p->name, strerror(errno));
            break;
        }
        if (r == 0) {
            e = coll_parser_finish(parser);
            break;
        }
        p->bytes += (uint64_t)r;
        e = coll_parser_feed(parser, buf, (size_t)r);
        if (e)
            break;
    }
    if (!e)
        flush_chunk(p);
    coll_parser_free(parser);
    if (p->failed)
        return err_set(msg, p->failed, "%s", err_msg_or(&p->fail_msg, p->failed));
    if (e == ERR_PARSE)
        return ERR_OK; /* broken framing was reported through on_error */
    if (e && msg->text[0] == '\0')
        err_set(msg, e, "%s: %s", p->name, err_str(e));
    return e;
}

int cmd_publish_main(int argc, char **argv)
{
    const char *url = NULL, *config = NULL;
    unsigned long long chunk = CHUNK_DEFAULT;
    bool quiet = false;
    static const struct option longopts[] = {
        {"nats", required_argument, NULL, 'n'},  {"config", required_argument, NULL, 'c'},
        {"batch", required_argument, NULL, 'b'}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},        {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "n:c:b:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'n': url = optarg; break;
        case 'c': config = optarg; break;
        case 'b': {
            char *end = NULL;
            chunk = strtoull(optarg, &end, 10);
            if (optarg[0] < '0' || optarg[0] > '9' || *end != '\0' || chunk < 1 ||
                chunk > CHUNK_MAX) {
                fprintf(stderr, "kpid publish: --batch takes a number of events 1..%d\n",
                        CHUNK_MAX);
                return CMD_EXIT_USAGE;
            }
            break;
        }
        case 'q': quiet = true; break;
        case 'h': usage(stdout); return CMD_EXIT_OK;
        default: usage(stderr); return CMD_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "kpid publish: no input files (use - for stdin)\n");
        usage(stderr);
        return CMD_EXIT_USAGE;
    }
    cmd_config_t *cfg = malloc(sizeof *cfg);
    if (cfg == NULL) {
        fprintf(stderr, "kpid publish: out of memory\n");
        return CMD_EXIT_ENV;
    }
    cmd_config_default(cfg);
    int status = CMD_EXIT_OK;
    err_msg_t msg = {{0}};
    if (!cmd_config_resolve(cfg, "publish", config, NULL)) {
        free(cfg);
        return CMD_EXIT_USAGE;
    }
    if (url != NULL) {
        snprintf(cfg->nats.url, sizeof cfg->nats.url, "%s", url);
        cfg->have_nats = true;
    }
    if (!cfg->have_nats || cmd_nats_check_url(cfg->nats.url, &msg) != ERR_OK) {
        fprintf(stderr, "kpid publish: %s\n",
                cfg->have_nats ? msg.text : "give --nats URL or a \"nats\" block in --config");
        free(cfg);
        return CMD_EXIT_USAGE;
    }
    kpi_tz_t *tz = NULL;
    pub_t p = {.chunk = (size_t)chunk};
    err_t e = coll_tz_load(cfg->time_zone, &tz, &msg);
    if (!e && kpi_currency_digits(cfg->base_currency, &p.base_digits) != ERR_OK)
        e = err_set(&msg, ERR_CONFIG, "base currency %s is not ISO 4217", cfg->base_currency);
    p.items = calloc(p.chunk, sizeof *p.items);
    p.texts = calloc(p.chunk, sizeof *p.texts);
    p.ids = calloc(p.chunk, sizeof *p.ids);
    if (!e && (p.items == NULL || p.texts == NULL || p.ids == NULL))
        e = err_set(&msg, ERR_NOMEM, "out of memory");
    if (!e)
        e = coll_nats_open(&cfg->nats, quiet ? NULL : stderr, &p.nats, &msg);
    if (e) {
        fprintf(stderr, "kpid publish: %s\n", err_msg_or(&msg, e));
        status = e == ERR_CONFIG ? CMD_EXIT_USAGE : CMD_EXIT_ENV;
        goto out;
    }
    coll_opts_t co = {.tz = tz, .base_currency = cfg->base_currency};
    p.progress = !quiet && isatty(2) ? stderr : NULL;
    cmd_progress_start(&p.pr, "publish", NULL);
    for (int i = optind; i < argc && status == CMD_EXIT_OK; i++) {
        p.name = argv[i];
        int fd = strcmp(argv[i], "-") == 0 ? 0 : open(argv[i], O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "kpid publish: cannot open %s: %s\n", argv[i], strerror(errno));
            status = CMD_EXIT_ENV;
            break;
        }
        struct stat sb;
        p.size = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) ? (uint64_t)sb.st_size : 0;
        p.bytes = 0;
        e = publish_fd(&p, &co, fd, &msg);
        if (fd != 0)
            close(fd);
        show(&p, true);
        if (e) {
            fprintf(stderr, "kpid publish: %s\n", err_msg_or(&msg, e));
            status = CMD_EXIT_ENV;
        }
    }
    double el = cmd_progress_elapsed(&p.pr);
    printf("kpid publish: %llu events acknowledged by stream %s (%llu new, %llu duplicates "
           "inside its window), %llu rejected, in %.2f s (%.0f events/s)\n",
           (unsigned long long)p.published, cfg->nats.stream, (unsigned long long)p.stored,
           (unsigned long long)p.duplicates, (unsigned long long)p.rejected, el,
           el > 0 ? (double)p.published / el : 0.0);
    fflush(stdout);
    if (status == CMD_EXIT_OK && p.rejected > 0)
        status = CMD_EXIT_REJECTED;
out:
    coll_nats_close(p.nats);
    for (size_t i = 0; p.texts != NULL && i < p.chunk; i++)
        free(p.texts[i]);
    free(p.texts);
    free(p.items);
    free(p.ids);
    kpi_tz_free(tz);
    free(cfg);
    return status;
}
