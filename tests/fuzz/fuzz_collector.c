/*
 * fuzz_collector.c — libFuzzer target for the event parsers (coll.h): JSON
 * object/array, NDJSON and CSV framing plus every validation rule behind
 * them (fields, decimals, dates, currencies).
 *
 * Input: byte 0 picks the format (auto, JSON, NDJSON, CSV); byte 1 seeds the
 * chunk sizes (bits 0-3), picks the base currency (bits 4-5: USD, JPY, KWD,
 * EUR: 2, 0, 3 digits) and the reporting zone (bits 6-7: UTC, Europe/Berlin
 * with its DST gaps, America/St_Johns at -3:30, Pacific/Kiritimati at +14;
 * UTC when the system has no zoneinfo); the rest is the body. Properties checked beyond "no crash,
 * no sanitizer report, no leak":
 *   - the body parsed whole and fed in pseudo-random chunks (1 byte to 4 KiB,
 *     derived from the input) gives exactly the same items: same events,
 *     errors, indexes, lines, codes, ids and fields, in the same order;
 *   - item indexes count 0, 1, 2... and messages are one line;
 *   - each delivered event encodes for storage, decodes, and re-encodes to
 *     the same bytes (the store's duplicate test relies on it).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "coll.h"
#include "fuzz_util.h"
#include "kpi_event.h"
#include "kpi_tz.h"

typedef struct outcome {
    uint64_t hash;
    size_t n_ev, n_err, next_index;
} outcome_t;

static uint8_t enc1[1 << 18], enc2[1 << 18];

static void check_index(outcome_t *o, size_t index)
{
    /* Framing errors (ERR_PARSE at the end) may repeat the last index; items never skip. */
    FUZZ_CHECK(index <= o->next_index, "index %zu after %zu items", index, o->next_index);
    if (index == o->next_index)
        o->next_index++;
}

static err_t on_event(void *ctx, size_t index, size_t line, const kpi_event_t *ev)
{
    outcome_t *o = ctx;
    check_index(o, index);
    size_t len = 0, len2 = 0;
    FUZZ_CHECK(ev->id != NULL && ev->id[0] != '\0' && strlen(ev->id) <= KPI_ID_MAX, "bad id");
    err_t e = kpi_event_encode(ev, enc1, sizeof enc1, &len);
    FUZZ_CHECK(e == ERR_OK, "encode of a valid event failed: %s", err_code(e));
    kpi_event_t back;
    e = kpi_event_decode(enc1, len, &back);
    FUZZ_CHECK(e == ERR_OK, "decode of an encoding failed: %s", err_code(e));
    e = kpi_event_encode(&back, enc2, sizeof enc2, &len2);
    FUZZ_CHECK(e == ERR_OK && len == len2 && memcmp(enc1, enc2, len) == 0,
               "encode(decode(encode(ev))) differs");
    uint8_t tag = 'E';
    fuzz_hash(&o->hash, &tag, 1);
    fuzz_hash(&o->hash, &index, sizeof index);
    fuzz_hash(&o->hash, &line, sizeof line);
    fuzz_hash(&o->hash, enc1, len);
    o->n_ev++;
    return ERR_OK;
}

static err_t on_error(void *ctx, const coll_error_t *err)
{
    outcome_t *o = ctx;
    check_index(o, err->index);
    FUZZ_CHECK(err->code != ERR_OK, "an error item with code ok");
    FUZZ_CHECK(memchr(err->message, '\0', sizeof err->message) != NULL, "message unterminated");
    FUZZ_CHECK(fuzz_one_line(err->message), "message has a newline: %s", err->message);
    uint8_t tag = 'X';
    fuzz_hash(&o->hash, &tag, 1);
    fuzz_hash(&o->hash, &err->index, sizeof err->index);
    fuzz_hash(&o->hash, &err->line, sizeof err->line);
    fuzz_hash(&o->hash, &err->code, sizeof err->code);
    fuzz_hash(&o->hash, err->id, strlen(err->id));
    fuzz_hash(&o->hash, err->field, strlen(err->field));
    o->n_err++;
    return ERR_OK;
}

static const char *const zone_names[4] = {"UTC", "Europe/Berlin", "America/St_Johns",
                                          "Pacific/Kiritimati"};
static const char *const currencies[4] = {"USD", "JPY", "KWD", "EUR"};
static kpi_tz_t *zones[4];

static void load_zones(void)
{
    if (kpi_tz_new_utc(&zones[0]) != ERR_OK)
        abort();
    for (int i = 1; i < 4; i++)
        if (coll_tz_load(zone_names[i], &zones[i], NULL) != ERR_OK)
            zones[i] = NULL; /* no zoneinfo: that slot uses UTC */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    if (zones[0] == NULL) {
        /* Jansson seeds its hash tables at random; a fixed seed keeps the
           coverage of one input the same on every run (ctest's verdict
           must not change from run to run). */
        json_object_seed(1);
        load_zones();
    }
    coll_format_t fmt = (coll_format_t)(data[0] % 4);
    uint64_t seed = data[1] & 15u;
    const kpi_tz_t *tz = zones[data[1] >> 6] ? zones[data[1] >> 6] : zones[0];
    const char *body = (const char *)data + 2;
    size_t len = size - 2;
    coll_opts_t opts = {tz, currencies[(data[1] >> 4) & 3u]};

    outcome_t whole = {0x811c9dc5u, 0, 0, 0};
    err_t ew = coll_parse_buffer(&opts, fmt, body, len, on_event, on_error, &whole);

    outcome_t chunked = {0x811c9dc5u, 0, 0, 0};
    coll_parser_t *p = NULL;
    err_t ec = coll_parser_new(&opts, fmt, on_event, on_error, &chunked, &p);
    FUZZ_CHECK(ec == ERR_OK, "parser_new: %s", err_code(ec));
    size_t off = 0;
    while (ec == ERR_OK && off < len) {
        uint64_t r = fuzz_next(&seed);
        size_t n = (r & 7) == 0 ? 1 + (size_t)(r >> 8) % 4096 : 1 + (size_t)(r >> 8) % 17;
        if (n > len - off)
            n = len - off;
        ec = coll_parser_feed(p, body + off, n);
        off += n;
    }
    if (ec == ERR_OK)
        ec = coll_parser_finish(p);
    FUZZ_CHECK(ec != ERR_OK || coll_parser_bytes(p) == len, "bytes %llu of %zu",
               (unsigned long long)coll_parser_bytes(p), len);
    coll_parser_free(p);

    FUZZ_CHECK(ew == ec, "whole: %s, chunked: %s", err_code(ew), err_code(ec));
    FUZZ_CHECK(whole.n_ev == chunked.n_ev && whole.n_err == chunked.n_err,
               "whole: %zu events %zu errors, chunked: %zu events %zu errors", whole.n_ev,
               whole.n_err, chunked.n_ev, chunked.n_err);
    FUZZ_CHECK(whole.hash == chunked.hash, "same counts, different items");
    return 0;
}
