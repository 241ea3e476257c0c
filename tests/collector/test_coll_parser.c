/*
 * test_coll_parser.c — framing (coll_parser.c): arrays, concatenated
 * objects, NDJSON, format detection, BOM, chunking at every byte, the item
 * size cap, broken framing, stopping from a callback, media types.
 */
#include <stdlib.h>

#include "coll_test.h"

#define EV(id)                                                                                     \
    "{\"id\":\"" id "\",\"type\":\"bill.processed\",\"time\":\"2025-01-01\",\"bill\":\"B\"}"

/* Feed text in chunks of `step` bytes. */
static err_t parse_chunked(sink_t *s, coll_format_t fmt, const char *text, size_t step)
{
    coll_opts_t o = test_opts();
    coll_parser_t *p;
    err_t e = coll_parser_new(&o, fmt, sink_event, sink_error, s, &p);
    if (e)
        return e;
    size_t n = strlen(text);
    for (size_t i = 0; i < n && !e; i += step)
        e = coll_parser_feed(p, text + i, n - i < step ? n - i : step);
    if (!e)
        e = coll_parser_finish(p);
    if (!e) {
        CHECK_INT(n, coll_parser_bytes(p));
        CHECK_INT(s->n_ev + s->n_err, coll_parser_items(p));
    }
    coll_parser_free(p);
    return e;
}

static void test_array_with_a_bad_item_any_chunking(void)
{
    const char *text = "[\n " EV("a") ",\n {\"id\":\"b\",\"type\":\"nope\",\"time\":\"x\"},\n"
                                      " " EV("c") " ]\n";
    for (size_t step = 1; step <= 7; step++) {
        sink_t s;
        sink_init(&s);
        CHECK_ERR(ERR_OK, parse_chunked(&s, COLL_FMT_AUTO, text, step));
        CHECK_INT(2, s.n_ev);
        CHECK_INT(1, s.n_err);
        CHECK_STR("a", s.ev[0].id);
        CHECK_STR("c", s.ev[1].id);
        CHECK_INT(2, s.ev_index[1]);
        CHECK_INT(4, s.ev_line[1]);
        CHECK_INT(1, s.err[0].index);
        CHECK_INT(3, s.err[0].line);
        CHECK_STR("b", s.err[0].id);
        CHECK_ERR(ERR_UNKNOWN_TYPE, s.err[0].code);
        sink_free(&s);
    }
}

static void test_ndjson_and_detection(void)
{
    sink_t s;
    sink_init(&s);
    /* One object per line (AUTO sees the first close on line 1), a blank
       line, a broken line in the middle, no final newline. */
    CHECK_ERR(ERR_OK, parse_chunked(&s, COLL_FMT_AUTO,
                                    EV("a") "\n\n{\"id\": \"b\", \"type\": \n" EV("c"), 3));
    CHECK_INT(2, s.n_ev);
    REQUIRE(s.n_err == 1);
    CHECK_ERR(ERR_PARSE, s.err[0].code);
    CHECK_INT(1, s.err[0].index); /* blank lines are not items */
    CHECK_INT(3, s.err[0].line);
    CHECK_INT(2, s.ev_index[1]);
    sink_free(&s);

    /* A pretty-printed object spanning lines is JSON, not NDJSON. */
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_AUTO,
                                 "{\n \"id\": \"p\",\n \"type\": \"bill.processed\",\n"
                                 " \"time\": \"2025-01-01\", \"bill\": \"B\"\n}\n" EV("q")));
    CHECK_INT(2, s.n_ev);
    sink_free(&s);

    /* Anything else is CSV. */
    sink_init(&s);
    CHECK_ERR(ERR_OK,
              sink_parse(&s, COLL_FMT_AUTO, "id,type,time,bill\nx1,bill.processed,2025-01-01,B\n"));
    CHECK_INT(1, s.n_ev);
    sink_free(&s);

    /* A byte order mark, split across chunks. */
    sink_init(&s);
    CHECK_ERR(ERR_OK, parse_chunked(&s, COLL_FMT_AUTO, "\xEF\xBB\xBF[" EV("m") "]", 1));
    CHECK_INT(1, s.n_ev);
    CHECK_INT(0, s.n_err);
    sink_free(&s);
}

static void test_broken_framing(void)
{
    sink_t s;
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON, "[" EV("a") ", {\"id\":\"b\""));
    CHECK_INT(1, s.n_ev);
    REQUIRE(s.n_err >= 1);
    CHECK_ERR(ERR_PARSE, s.err[0].code);
    CHECK(strstr(s.err[0].message, "ends inside") != NULL);
    sink_free(&s);
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON, "[" EV("a")));
    REQUIRE(s.n_err == 1);
    CHECK(strstr(s.err[0].message, "not closed") != NULL);
    sink_free(&s);
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON, "[" EV("a") "] trailing"));
    CHECK_INT(1, s.n_ev);
    CHECK_INT(1, s.n_err);
    sink_free(&s);
    /* Objects one after another, with a string holding braces. */
    sink_init(&s);
    CHECK_ERR(ERR_OK,
              sink_parse(&s, COLL_FMT_JSON,
                         "{\"id\":\"x}{\",\"type\":\"bill.processed\",\"time\":\"2025-01-01\","
                         "\"bill\":\"B\\\"}\"}" EV("y")));
    CHECK_INT(2, s.n_ev);
    CHECK_STR("x}{", s.ev[0].id);
    CHECK_STR("B\"}", s.ev[0].doc);
    sink_free(&s);
}

static void test_item_cap(void)
{
    size_t big = (1u << 20) + 100;
    char *text = malloc(big + 200);
    REQUIRE(text != NULL);
    const char *head = "{\"id\":\"big\",\"pad\":\"";
    size_t n = strlen(head);
    memcpy(text, head, n);
    memset(text + n, 'x', big);
    n += big;
    const char *tail = "\"}\n" EV("after") "\n";
    memcpy(text + n, tail, strlen(tail) + 1);
    sink_t s;
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_NDJSON, text));
    REQUIRE(s.n_err == 1);
    CHECK_ERR(ERR_TOO_LARGE, s.err[0].code);
    CHECK_INT(1, s.n_ev);
    CHECK_STR("after", s.ev[0].id);
    sink_free(&s);
    free(text);
}

/* Found by fuzz_collector: a message that quotes the input (a CSV cell, a
   JSON string with an escaped newline) stays one line. */
static void test_messages_are_one_line(void)
{
    static const struct {
        coll_format_t fmt;
        const char *text;
    } rows[] = {
        {COLL_FMT_CSV, "id,type,time\nx,\"bad\ntype\",2025-01-01\n"},
        {COLL_FMT_NDJSON, "{\"id\":\"y\",\"type\":\"a\\nb\\r\\u0001\",\"time\":\"2025-01-01\"}\n"},
        {COLL_FMT_NDJSON,
         "{\"id\":\"z\",\"type\":\"bill.processed\",\"time\":\"1\\n2\",\"bill\":\"B\"}\n"},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        sink_t s;
        sink_init(&s);
        test_current_ = rows[i].text;
        CHECK_ERR(ERR_OK, sink_parse(&s, rows[i].fmt, rows[i].text));
        REQUIRE(s.n_err == 1);
        CHECK(s.err[0].message[0] != '\0');
        for (const char *c = s.err[0].message; *c; c++)
            CHECK_MSG((unsigned char)*c >= 0x20, "control byte in '%s'", s.err[0].message);
        sink_free(&s);
    }
}

static void test_callback_stops(void)
{
    sink_t s;
    sink_init(&s);
    s.stop_with = ERR_BUSY;
    CHECK_ERR(ERR_BUSY, sink_parse(&s, COLL_FMT_NDJSON, EV("a") "\n" EV("b") "\n"));
    sink_free(&s);
}

static void test_media_types_and_paths(void)
{
    CHECK_INT(COLL_FMT_JSON, coll_format_from_media_type("application/json; charset=utf-8"));
    CHECK_INT(COLL_FMT_NDJSON, coll_format_from_media_type("application/x-ndjson"));
    CHECK_INT(COLL_FMT_CSV, coll_format_from_media_type("text/csv;header=present"));
    CHECK_INT(COLL_FMT_AUTO, coll_format_from_media_type("application/xml"));
    CHECK_INT(COLL_FMT_AUTO, coll_format_from_media_type(NULL));
    CHECK_INT(COLL_FMT_JSON, coll_format_from_path("a/b.json"));
    CHECK_INT(COLL_FMT_NDJSON, coll_format_from_path("x.jsonl"));
    CHECK_INT(COLL_FMT_NDJSON, coll_format_from_path("x.NDJSON"));
    CHECK_INT(COLL_FMT_CSV, coll_format_from_path("export.csv"));
    CHECK_INT(COLL_FMT_AUTO, coll_format_from_path("-"));
}

/* Parse len bytes (they may hold NULs) into s. */
static err_t sink_parse_n(sink_t *s, coll_format_t fmt, const char *text, size_t len)
{
    coll_opts_t o = test_opts();
    return coll_parse_buffer(&o, fmt, text, len, sink_event, sink_error, s);
}

/* Issue 18: a NUL in a name was cut in CSV ("AC\0ME" stored as "AC") and a
   syntax error as a raw byte in JSON; \u0000 was refused. Now every form is
   refused with the same error, naming the field. */
static void test_nul_same_error_in_every_format(void)
{
    static const char csv[] = "id,type,time,customer\nn1,credit.hold_set,2025-01-01,AC\0ME\n";
    static const char nd_raw[] = "{\"id\":\"n1\",\"type\":\"credit.hold_set\",\"time\":\"2025-01-"
                                 "01\",\"customer\":\"AC\0ME\"}\n";
    static const char nd_esc[] =
        "{\"id\":\"n1\",\"type\":\"credit.hold_set\",\"time\":\"2025-01-01\","
        "\"customer\":\"AC\\u0000ME\"}\n";
    static const char js_raw[] = "[{\"id\":\"n1\",\"type\":\"credit.hold_set\",\"time\":\"2025-01-"
                                 "01\",\"customer\":\"AC\0ME\"}]";
    struct {
        coll_format_t fmt;
        const char *text;
        size_t len;
    } rows[] = {
        {COLL_FMT_CSV, csv, sizeof csv - 1},          {COLL_FMT_NDJSON, nd_raw, sizeof nd_raw - 1},
        {COLL_FMT_NDJSON, nd_esc, sizeof nd_esc - 1}, {COLL_FMT_JSON, js_raw, sizeof js_raw - 1},
        {COLL_FMT_AUTO, csv, sizeof csv - 1},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        sink_t s;
        sink_init(&s);
        CHECK_ERR(ERR_OK, sink_parse_n(&s, rows[i].fmt, rows[i].text, rows[i].len));
        CHECK_INT(0, s.n_ev);
        REQUIRE(s.n_err == 1);
        CHECK_ERR(ERR_BAD_VALUE, s.err[0].code);
        CHECK_STR("customer", s.err[0].field);
        CHECK_STR("customer: contains a NUL character", s.err[0].message);
        CHECK_STR("n1", s.err[0].id);
        sink_free(&s);
    }
    /* A NUL in a CSV header name refuses the rows (it names no field). */
    static const char hdr[] = "id,type,time,cust\0omer\nn1,credit.hold_set,2025-01-01,ACME\n";
    sink_t s;
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse_n(&s, COLL_FMT_CSV, hdr, sizeof hdr - 1));
    CHECK_INT(0, s.n_ev);
    REQUIRE(s.n_err == 1);
    CHECK(strstr(s.err[0].message, "NUL") != NULL);
    sink_free(&s);
    /* An empty item (a bare ']' as JSON) has no bytes to look for NULs in
       (found by fuzz_collector: memchr on NULL). */
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_JSON, "]"));
    CHECK_INT(0, s.n_ev);
    CHECK(s.n_err >= 1);
    sink_free(&s);
    /* A lone NUL is a row, not a blank line. */
    static const char lone[] = "id,type,time,customer\n\0\n";
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse_n(&s, COLL_FMT_CSV, lone, sizeof lone - 1));
    CHECK_INT(1, s.n_err);
    sink_free(&s);
}

/* Issue 18: docs/events.md's amount grammar has no exponent and no '+';
   1e2 was taken as 100.00 and "+10.00" as 10.00. Each form through the
   fast reader (a flat plain object) and through Jansson (the same object
   with an escaped name, which the fast reader leaves to Jansson). */
static void test_amount_grammar_both_paths(void)
{
    static const char *const bad[] = {"1e2",  "1E2",        "1.5e1",   "100e0",
                                      "-1e2", "\"+10.00\"", "\"1e2\"", "\"+0\""};
    static const char *const names[] = {"ACME", "AC\\u004dE"}; /* fast path, Jansson path */
    for (size_t n = 0; n < 2; n++) {
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            char text[256];
            snprintf(text, sizeof text,
                     "{\"id\":\"a1\",\"type\":\"credit.limit_set\",\"time\":\"2025-01-01\","
                     "\"customer\":\"%s\",\"amount\":%s}\n",
                     names[n], bad[i]);
            test_current_ = text;
            sink_t s;
            sink_init(&s);
            CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_NDJSON, text));
            CHECK_INT(0, s.n_ev);
            REQUIRE(s.n_err == 1);
            CHECK_ERR(ERR_BAD_AMOUNT, s.err[0].code);
            CHECK_STR("amount", s.err[0].field);
            CHECK_STR("a1", s.err[0].id);
            sink_free(&s);
        }
        /* What the grammar allows still reads, on both paths; an exponent
           elsewhere (an unknown field) is the sender's business. */
        static const char *const good[] = {"100", "12.5", "\"-50\"", "\"9.5\"", "-0.01"};
        static const int64_t minor[] = {10000, 1250, -5000, 950, -1};
        for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
            char text[256];
            snprintf(text, sizeof text,
                     "{\"id\":\"a1\",\"type\":\"invoice.adjusted\",\"time\":\"2025-01-01\","
                     "\"invoice\":\"%s\",\"reason\":\"r\",\"x\":1e5,\"amount\":%s}\n",
                     names[n], good[i]);
            test_current_ = text;
            sink_t s;
            sink_init(&s);
            CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_NDJSON, text));
            REQUIRE(s.n_ev == 1);
            CHECK_INT(minor[i], s.ev[0].amount_minor);
            sink_free(&s);
        }
    }
    /* CSV reads the same text rules. */
    sink_t s;
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_CSV,
                                 "id,type,time,customer,amount\n"
                                 "c1,credit.limit_set,2025-01-01,ACME,1e2\n"
                                 "c2,credit.limit_set,2025-01-01,ACME,+10.00\n"));
    CHECK_INT(0, s.n_ev);
    REQUIRE(s.n_err == 2);
    CHECK_ERR(ERR_BAD_AMOUNT, s.err[0].code);
    CHECK_ERR(ERR_BAD_AMOUNT, s.err[1].code);
    sink_free(&s);
}

/* Format detection holds at most 1 MiB of leading blanks (issue 18: a body
   of blanks was held whole); past that the body is JSON, whether the blanks
   arrive in one buffer or in many. */
static void test_blank_prefix_is_bounded(void)
{
    size_t nb = (1u << 20) + 10;
    const char tail[] = "id,type,time,customer,reason\nb1,credit.hold_set,2025-01-01,ACME,x\n";
    char *text = malloc(nb + sizeof tail);
    REQUIRE(text != NULL);
    memset(text, ' ', nb);
    memcpy(text + nb, tail, sizeof tail);
    coll_opts_t o = test_opts();
    sink_t whole, chunked;
    sink_init(&whole);
    CHECK_ERR(ERR_OK, coll_parse_buffer(&o, COLL_FMT_AUTO, text, nb + sizeof tail - 1, sink_event,
                                        sink_error, &whole));
    sink_init(&chunked);
    coll_parser_t *p;
    REQUIRE(coll_parser_new(&o, COLL_FMT_AUTO, sink_event, sink_error, &chunked, &p) == ERR_OK);
    for (size_t at = 0; at < nb + sizeof tail - 1; at += 4096) {
        size_t n = nb + sizeof tail - 1 - at < 4096 ? nb + sizeof tail - 1 - at : 4096;
        CHECK_ERR(ERR_OK, coll_parser_feed(p, text + at, n));
    }
    CHECK_ERR(ERR_OK, coll_parser_finish(p));
    coll_parser_free(p);
    CHECK_INT(0, whole.n_ev);
    CHECK_INT(0, chunked.n_ev);
    CHECK(whole.n_err > 0);
    CHECK_INT(whole.n_err, chunked.n_err);
    CHECK_ERR(ERR_PARSE, whole.err[0].code); /* read as JSON: not valid */
    CHECK_ERR(ERR_PARSE, chunked.err[0].code);
    sink_free(&whole);
    sink_free(&chunked);
    free(text);
}

int main(void)
{
    RUN(test_array_with_a_bad_item_any_chunking);
    RUN(test_ndjson_and_detection);
    RUN(test_broken_framing);
    RUN(test_item_cap);
    RUN(test_messages_are_one_line);
    RUN(test_callback_stops);
    RUN(test_media_types_and_paths);
    RUN(test_nul_same_error_in_every_format);
    RUN(test_amount_grammar_both_paths);
    RUN(test_blank_prefix_is_bounded);
    kpi_tz_free(test_utc);
    return test_summary();
}
