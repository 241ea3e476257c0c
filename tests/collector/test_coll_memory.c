/*
 * test_coll_memory.c — the parsers' memory is bounded by the limits they
 * enforce (an item of 1 MiB, a CSV row of 1 MiB and 4,096 cells), not by
 * the size of the body (issue 18: a CSV line of commas cost ~9 bytes per
 * comma, so 250 MB of body took 2.2 GB before the row check ran).
 *
 * Each format is fed a body of its worst shape, BODY bytes (the server's
 * max_body_bytes would be at least that: a moderate stand-in for its 256 MiB
 * default), generated chunk by chunk so that the test itself holds no body.
 * Memory is measured, not timed: each case runs in a child process and
 * compares its peak resident size (VmHWM in /proc/self/status) after the
 * parse with the one before. The bounds are fixed amounts: they do not
 * grow with the body, and sit well below what the old code took for this
 * body (csv-commas 296 MB, csv-wide 870 MB, auto-blanks 37 MB).
 */
#include <sys/wait.h>
#include <unistd.h>

#include "coll_test.h"

/* AddressSanitizer keeps freed memory in a quarantine (256 MiB by default),
   which would make the peak follow everything ever allocated rather than
   what is live; this binary turns it off. Unused without ASan. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "quarantine_size_mb=0";
}

#define BODY ((size_t)32 << 20)
#define CHUNK ((size_t)64 << 10)
/* Peak growth allowed per case. Framing holds at most one item or row
   (1 MiB, its buffer doubled, plus cell offsets): 16 MiB. An item Jansson
   parses may cost it ~40x its bytes while it is checked: 96 MiB. */
#define PEAK_FRAMING ((long)16 << 20)
#define PEAK_JANSSON ((long)96 << 20)

/* Peak resident size of this process, in bytes (VmHWM), or -1. */
static long peak_rss(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb < 0 ? -1 : kb * 1024;
}

/* A body: head, then `fill` repeated up to BODY bytes, then tail. */
typedef struct shape {
    const char *name;
    coll_format_t fmt;
    const char *head, *fill, *tail;
    bool jansson; /* items Jansson parses whole: the larger bound */
} shape_t;

static size_t n_items;

static err_t count_event(void *ctx, size_t index, size_t line, const kpi_event_t *ev)
{
    (void)ctx;
    (void)index;
    (void)line;
    (void)ev;
    n_items++;
    return ERR_OK;
}

static err_t count_error(void *ctx, const coll_error_t *err)
{
    (void)ctx;
    (void)err;
    n_items++;
    return ERR_OK;
}

/* One NDJSON line just under the 1 MiB item limit: an array of zeros, the
   shape Jansson spends the most memory on per input byte (a value of
   ~40 bytes for every 2). */
static char *big_array_line(void)
{
    size_t n = (1u << 20) - 64;
    char *l = malloc(n + 1);
    REQUIRE(l != NULL);
    size_t o = (size_t)snprintf(l, n, "{\"id\":\"a\",\"x\":[0");
    while (o < n - 4) {
        l[o++] = ',';
        l[o++] = '0';
    }
    memcpy(l + o, "]}\n", 4);
    l[o + 3] = '\0';
    return l;
}

/* In the child: parse the shape, return its peak growth in bytes. */
static long feed_shape(const shape_t *sh)
{
    char *own = sh->fill == NULL ? big_array_line() : NULL;
    const char *fill = own != NULL ? own : sh->fill;
    size_t fl = strlen(fill);
    /* Small patterns are repeated into a chunk, whole repetitions only so
       that the pattern stays aligned; a large one is fed as it is. */
    char *chunk = malloc(CHUNK);
    REQUIRE(chunk != NULL);
    size_t step = fl;
    if (fl < CHUNK) {
        for (size_t i = 0; i < CHUNK; i++)
            chunk[i] = fill[i % fl];
        step = CHUNK - CHUNK % fl;
    }
    const char *piece = fl < CHUNK ? chunk : fill;
    coll_opts_t o = test_opts();
    coll_parser_t *p;
    REQUIRE(coll_parser_new(&o, sh->fmt, count_event, count_error, NULL, &p) == ERR_OK);
    long before = peak_rss();
    REQUIRE(before > 0);
    err_t e = coll_parser_feed(p, sh->head, strlen(sh->head));
    size_t sent = strlen(sh->head);
    while (!e && sent < BODY) {
        size_t n = BODY - sent < step ? BODY - sent : step;
        e = coll_parser_feed(p, piece, n);
        sent += n;
    }
    if (!e)
        e = coll_parser_feed(p, sh->tail, strlen(sh->tail));
    if (!e)
        e = coll_parser_finish(p);
    long after = peak_rss();
    coll_parser_free(p);
    free(chunk);
    free(own);
    if (e)
        fprintf(stderr, "%s: parser stopped: %s\n", sh->name, err_str(e));
    return e ? -1 : after - before;
}

static void test_worst_shapes_stay_bounded(void)
{
    static const shape_t shapes[] = {
        /* the attack: one endless row of empty cells */
        {"csv-commas", COLL_FMT_CSV, "id,type,time\n", ",", "\n", false},
        /* one endless quoted cell, with doubled quotes */
        {"csv-quoted", COLL_FMT_CSV, "id\n\"", "ab\"\"", "\"\n", false},
        /* rows of many one-byte cells against a header as wide as allowed */
        {"csv-wide", COLL_FMT_CSV, "a", ",a", "\n", false},
        /* the same through format detection */
        {"auto-csv-commas", COLL_FMT_AUTO, "id,type,time\n", ",", "\n", false},
        /* one endless NDJSON line */
        {"ndjson-line", COLL_FMT_NDJSON, "{\"id\":\"", "x", "\"}\n", false},
        /* many items, each as costly to parse as it may be (NULL: an array
           of zeros just under 1 MiB per line, big_array_line) */
        {"ndjson-arrays", COLL_FMT_NDJSON, "", NULL, "", true},
        /* a JSON array holding one endless string */
        {"json-string", COLL_FMT_JSON, "[\"", "y", "\"]", false},
        /* deep nesting inside one element */
        {"json-nesting", COLL_FMT_JSON, "[", "[", "]", false},
        /* an array of small objects with many keys each */
        {"json-objects", COLL_FMT_JSON, "[",
         "{\"a\":{},\"b\":{},\"c\":{},\"d\":{},\"e\":{},\"f\":{},\"g\":{},\"h\":{}},", "{}]", true},
        /* nothing but blanks: format detection must not hold them */
        {"auto-blanks", COLL_FMT_AUTO, "", " \n", "", false},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        test_current_ = shapes[i].name;
        fflush(NULL);
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            long grew = feed_shape(&shapes[i]);
            long bound = shapes[i].jansson ? PEAK_JANSSON : PEAK_FRAMING;
            fprintf(stderr, "     %-16s %zu MiB body: peak grew by %ld KiB (bound %ld KiB)\n",
                    shapes[i].name, BODY >> 20, grew / 1024, bound / 1024);
            _exit(grew >= 0 && grew <= bound ? 0 : 1);
        }
        int st = 0;
        REQUIRE(waitpid(pid, &st, 0) == pid);
        CHECK_MSG(WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: peak memory over the bound",
                  shapes[i].name);
    }
}

int main(void)
{
    RUN(test_worst_shapes_stay_bounded);
    return test_summary();
}
