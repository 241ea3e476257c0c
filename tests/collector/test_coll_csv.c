/*
 * test_coll_csv.c — RFC 4180 CSV (coll_csv.c): quoting, line breaks in
 * quotes, CRLF, empty cells, unknown columns, broken rows.
 */
#include "coll_test.h"

static void test_quoting_and_cells(void)
{
    sink_t s;
    sink_init(&s);
    CHECK_ERR(
        ERR_OK,
        sink_parse(&s, COLL_FMT_CSV,
                   "id,type,time,invoice,customer,amount,terms_days,currency,po\r\n"
                   "c1,invoice.issued,2025-05-01,INV-1,\"Smith, Jones & Co\",10.50,30,,PO-1\r\n"
                   "c2,invoice.issued,2025-05-01,INV-2,\"He said \"\"hi\"\"\",7,45,JPY,\r\n"
                   "\r\n"
                   "c3,invoice.issued,2025-05-01,INV-3,\"two\nlines\",1,0,USD,\r\n"
                   "c4,invoice.issued,2025-05-01,INV-4,Beta,abc,30,USD,\r\n"
                   "c5,invoice.issued,2025-05-01,INV-5,Beta\r\n"
                   "c6,invoice.issued,2025-05-01,INV-6,Gamma,2,30,USD,"));
    REQUIRE(s.n_ev == 4);
    CHECK_STR("Smith, Jones & Co", s.ev[0].party);
    CHECK_INT(1050, s.ev[0].amount_minor);
    CHECK_STR("", s.ev[0].currency); /* empty cell: absent */
    CHECK_STR("{\"po\":\"PO-1\"}", s.ev[0].extra);
    CHECK_STR("He said \"hi\"", s.ev[1].party);
    CHECK_INT(7, s.ev[1].amount_minor);
    CHECK_INT(45, s.ev[1].terms_days);
    CHECK_STR("two\nlines", s.ev[2].party);
    CHECK_STR("c6", s.ev[3].id); /* last row without a newline */
    CHECK_INT(5, s.ev_index[3]); /* data rows c1..c6; the blank line is none */
    REQUIRE(s.n_err == 2);
    CHECK_ERR(ERR_BAD_AMOUNT, s.err[0].code);
    CHECK_STR("amount", s.err[0].field);
    CHECK_STR("c4", s.err[0].id);
    CHECK_INT(3, s.err[0].index);
    CHECK_INT(7, s.err[0].line);
    CHECK_ERR(ERR_PARSE, s.err[1].code);
    CHECK(strstr(s.err[1].message, "cells") != NULL);
    CHECK_INT(4, s.err[1].index);
    sink_free(&s);
}

/* The layout central banks publish: date, currency, rate (and source), no
   id or type column: fx.rate events with an id made of what each row says. */
static void test_rates_file(void)
{
    sink_t s;
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_CSV,
                                 "date,currency,rate,source\r\n"
                                 "2025-03-28,EUR,1.0825,ECB\r\n"
                                 "2025-03-28,JPY,0.0067,\r\n"
                                 "2025-03-28,GBP,,ECB\r\n"
                                 "2025-03-28,GBP,1.2.3,ECB\r\n"));
    REQUIRE(s.n_ev == 2);
    CHECK_INT(KPI_EV_FX_RATE, s.ev[0].type);
    CHECK_STR("fx:EUR:2025-03-28:1.0825", s.ev[0].id);
    CHECK_STR("EUR", s.ev[0].currency);
    CHECK(s.ev[0].amount_minor == 10825000000LL);
    CHECK_STR("ECB", s.ev[0].text);
    CHECK(s.ev[0].flags & KPI_EVF_DATE_ONLY);
    CHECK_STR("fx:JPY:2025-03-28:0.0067", s.ev[1].id);
    CHECK(s.ev[1].text == NULL);
    REQUIRE(s.n_err == 2);
    CHECK_ERR(ERR_MISSING_FIELD, s.err[0].code); /* no rate: no id either; id is named first */
    CHECK_ERR(ERR_BAD_AMOUNT, s.err[1].code);
    CHECK_STR("rate", s.err[1].field);
    sink_free(&s);

    /* With an id or type column it is an ordinary event file. */
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_CSV,
                                 "id,date,currency,rate\r\nx1,2025-03-28,EUR,1.0825\r\n"));
    CHECK_INT(0, s.n_ev);
    REQUIRE(s.n_err == 1);
    CHECK_STR("type", s.err[0].field);
    sink_free(&s);
}

static void test_open_quote(void)
{
    sink_t s;
    sink_init(&s);
    CHECK_ERR(ERR_OK,
              sink_parse(&s, COLL_FMT_CSV, "id,type,time,bill\nx,bill.processed,2025-01-01,\"B\n"));
    CHECK_INT(0, s.n_ev);
    REQUIRE(s.n_err == 1);
    CHECK_ERR(ERR_PARSE, s.err[0].code);
    CHECK(strstr(s.err[0].message, "quoted") != NULL);
    sink_free(&s);
}

/* Issue 17: a semicolon, tab or pipe separated export names its delimiter
   on every row, instead of "row has 2 cells, the header has 1". */
static void test_other_delimiter(void)
{
    static const struct {
        const char *text, *shown;
    } cases[] = {
        {"id;type;time;customer\r\nx;credit.hold_set;2025-01-01;A,B\r\n", "holding ';'"},
        {"id\ttype\ttime\tcustomer\nx\tcredit.hold_set\t2025-01-01\tA\n", "holding '\\t'"},
        {"id|type|time|customer\nx|credit.hold_set|2025-01-01|A\n", "holding '|'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sink_t s;
        sink_init(&s);
        CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_CSV, cases[i].text));
        CHECK_INT(0, s.n_ev);
        REQUIRE(s.n_err == 1);
        CHECK_ERR(ERR_PARSE, s.err[0].code);
        CHECK_MSG(strstr(s.err[0].message, cases[i].shown) != NULL, "message '%s'",
                  s.err[0].message);
        CHECK(strstr(s.err[0].message, "kpid reads comma-separated CSV") != NULL);
        sink_free(&s);
    }
    /* A one-column file without any of them is not taken for one. */
    sink_t s;
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_CSV, "id\nx\n"));
    REQUIRE(s.n_err == 1);
    CHECK(strstr(s.err[0].message, "comma-separated") == NULL);
    sink_free(&s);
}

/* Issue 18: a row is bounded before it is stored: past 4,096 cells or
   1 MiB it is reported, and the rows after it are read as before. */
static void test_row_limits(void)
{
    size_t n = 5000 * 2 + 256;
    char *text = malloc(n);
    REQUIRE(text != NULL);
    size_t o = (size_t)snprintf(text, n, "id,type,time,customer,reason\n");
    for (int i = 0; i < 5000; i++)
        text[o++] = ',';
    o += (size_t)snprintf(text + o, n - o, "\nok,credit.hold_set,2025-01-01,ACME,late\n");
    sink_t s;
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_CSV, text));
    REQUIRE(s.n_err == 1);
    CHECK(strstr(s.err[0].message, "more than 4096 cells") != NULL);
    CHECK_INT(1, s.n_ev);
    sink_free(&s);
    /* exactly 4,096 cells is a row like any other (here: the wrong width) */
    o = (size_t)snprintf(text, n, "id,type,time,customer,reason\n");
    for (int i = 0; i < 4095; i++)
        text[o++] = ',';
    text[o++] = '\n';
    text[o] = '\0';
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_CSV, text));
    REQUIRE(s.n_err == 1);
    CHECK(strstr(s.err[0].message, "row has 4096 cells") != NULL);
    sink_free(&s);
    /* a header too wide refuses every row */
    o = 0;
    for (int i = 0; i < 5000; i++)
        text[o++] = ',';
    o += (size_t)snprintf(text + o, n - o, "\nok,credit.hold_set,2025-01-01,ACME,late\n");
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_CSV, text));
    CHECK_INT(0, s.n_ev);
    REQUIRE(s.n_err == 1);
    CHECK(strstr(s.err[0].message, "header row") != NULL);
    sink_free(&s);
    free(text);
    /* a row over 1 MiB of commas: reported, nothing stored for it */
    size_t big = (1u << 20) + 1000;
    text = malloc(big + 128);
    REQUIRE(text != NULL);
    o = (size_t)snprintf(text, 128, "id,type,time,customer,reason\n");
    memset(text + o, ',', big);
    o += big;
    snprintf(text + o, 100, "\nok,credit.hold_set,2025-01-01,ACME,late\n");
    sink_init(&s);
    CHECK_ERR(ERR_OK, sink_parse(&s, COLL_FMT_CSV, text));
    REQUIRE(s.n_err == 1);
    CHECK(strstr(s.err[0].message, "longer than 1 MiB") != NULL);
    CHECK_INT(1, s.n_ev);
    sink_free(&s);
    free(text);
}

int main(void)
{
    RUN(test_other_delimiter);
    RUN(test_quoting_and_cells);
    RUN(test_rates_file);
    RUN(test_open_quote);
    RUN(test_row_limits);
    kpi_tz_free(test_utc);
    return test_summary();
}
