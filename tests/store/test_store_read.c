/*
 * test_store_read.c — store/store_read.c: listing the log with every filter
 * (party, business unit, both, type, from/to days in a zone that is not UTC,
 * times before 1970, same-second ties), paging through every row with the
 * cursor at several page sizes and never ending on an empty page, malformed
 * cursors, a callback that stops the walk, events waiting for a document,
 * single events by id and documents with their borrowed names.
 *
 * The expected rows are computed by brute force from the generated book.
 */
#include "store_test.h"

#define MAX_EVS 400

/* The generated book, and what each event files under. */
typedef struct book {
    size_t n;
    kpi_event_t ev[MAX_EVS];
    char id[MAX_EVS][16];
    const char *party[MAX_EVS]; /* own, else its document's */
    const char *unit[MAX_EVS];  /* own, else its document's, else "default" */
    int32_t day[MAX_EVS];
} book_t;

static const char *const parties[] = {"ACME", "Globex", "Initech", "Umbrella", "Smith, Jones & Co"};
static const char *const units[] = {"EU", "NA", "APAC"};

static kpi_tz_t *plus2; /* UTC+2 all year: days start at 22:00Z */

static kpi_event_t *add(book_t *b, kpi_ev_type_t t, int64_t time, const char *doc, const char *ref,
                        int64_t amount, const char *party, const char *unit,
                        const char *files_party, const char *files_unit)
{
    REQUIRE(b->n < MAX_EVS);
    size_t i = b->n++;
    snprintf(b->id[i], sizeof b->id[i], "ev%03zu", i);
    b->ev[i] = ev(t, b->id[i], time, doc, ref, amount, party);
    b->ev[i].business_unit = unit;
    b->party[i] = files_party;
    b->unit[i] = files_unit;
    b->day[i] = kpi_tz_day(plus2, time);
    return &b->ev[i];
}

/* 40 invoices, each issued, reviewed, paid in part; a bill per 4 invoices;
   times spread over 1969-2025, some on the same second, some date-only. */
static void make_book(book_t *b, char (*docs)[3][16])
{
    memset(b, 0, sizeof *b);
    for (int i = 0; i < 40; i++) {
        const char *p = parties[i % 5], *u = units[i % 3];
        snprintf(docs[i][0], 16, "INV-%d", i);
        snprintf(docs[i][1], 16, "PAY-%d", i);
        snprintf(docs[i][2], 16, "BILL-%d", i);
        /* Every 7th invoice lies before 1970. */
        int64_t t = i % 7 == 0 ? T(1969, 12, 1 + i % 28, 23) : T(2025, 1 + i % 12, 1 + i % 28, 21);
        kpi_event_t *e = add(b, KPI_EV_INVOICE_ISSUED, t, docs[i][0], NULL, 10000 + i, p, u, p, u);
        if (i % 4 == 1) {
            /* A plain date: 00:00 in the reporting zone. */
            int32_t day = kpi_tz_day(plus2, t) + 1;
            e->flags |= KPI_EVF_DATE_ONLY;
            e->date_day = day;
            e->time_s = kpi_tz_day_start(plus2, day);
            b->day[b->n - 1] = day;
        }
        /* Review: the same second as the issue when i is even. */
        int64_t tr = (i % 2 ? t + 7200 : b->ev[b->n - 1].time_s);
        add(b, KPI_EV_INVOICE_REVIEWED, tr, docs[i][0], NULL, 0, NULL, "", p, u);
        add(b, KPI_EV_PAYMENT_RECEIVED, t + 86400 * 3, docs[i][1], NULL, 5000, p, "", p, "default");
        add(b, KPI_EV_PAYMENT_APPLIED, t + 86400 * 4, docs[i][1], docs[i][0], 5000, NULL, "", p,
            "default");
        /* An adjustment files under its invoice's unit, named or not (naming
           another is refused: unit_mismatch, test_store_write.c). */
        if (i % 5 == 2)
            add(b, KPI_EV_INVOICE_ADJUSTED, t + 86400 * 5, docs[i][0], NULL, -100, NULL,
                i % 2 ? u : "", p, u);
        if (i % 4 == 0) {
            add(b, KPI_EV_BILL_RECEIVED, t - 3600, docs[i][2], NULL, 7000, "Vendor", "EU", "Vendor",
                "EU");
            add(b, KPI_EV_BILL_PROCESSED, t + 3600, docs[i][2], NULL, 0, NULL, "", "Vendor", "EU");
        }
    }
    add(b, KPI_EV_CREDIT_LIMIT_SET, T(2025, 6, 30, 22), NULL, NULL, 100000, "ACME", "", "ACME",
        "default");
    /* Just after local midnight: March in UTC+2, February / March in UTC.
       A store that bounded days in UTC would misplace both. */
    add(b, KPI_EV_CREDIT_HOLD_SET, T(2025, 2, 28, 22) + 1800, NULL, NULL, 0, "Globex", "", "Globex",
        "default");
    add(b, KPI_EV_CREDIT_HOLD_RELEASED, T(2025, 3, 31, 22) + 1800, NULL, NULL, 0, "Globex", "",
        "Globex", "default");
}

/* Position of each event in (time, arrival) order. */
static bool before(const book_t *b, size_t x, size_t y)
{
    return b->ev[x].time_s < b->ev[y].time_s || (b->ev[x].time_s == b->ev[y].time_s && x < y);
}

static size_t expected(const book_t *b, const store_ev_filter_t *f, size_t *out)
{
    size_t n = 0;
    for (size_t i = 0; i < b->n; i++) {
        if (f->party != NULL && (b->party[i] == NULL || strcmp(f->party, b->party[i]) != 0))
            continue;
        if (f->business_unit != NULL && strcmp(f->business_unit, b->unit[i]) != 0)
            continue;
        if (f->type != KPI_EV_NONE && f->type != b->ev[i].type)
            continue;
        if (f->side != STORE_EV_ANY &&
            kpi_ev_is_payable(b->ev[i].type) != (f->side == STORE_EV_PAYABLE))
            continue;
        if ((f->has_from && b->day[i] < f->from_day) || (f->has_to && b->day[i] > f->to_day))
            continue;
        size_t j = n++;
        for (; j > 0 && before(b, i, out[j - 1]); j--)
            out[j] = out[j - 1];
        out[j] = i;
    }
    return n;
}

typedef struct seen {
    const book_t *b;
    size_t n;
    size_t idx[MAX_EVS];
    size_t stop_after; /* 0: never stop */
    int bad_rows;
} seen_t;

static err_t collect(void *ctx, const store_ev_row_t *row)
{
    seen_t *s = ctx;
    if (s->stop_after != 0 && s->n == s->stop_after)
        return ERR_TOO_LARGE;
    size_t i = 0;
    while (i < s->b->n && strcmp(s->b->id[i], row->ev->id) != 0)
        i++;
    /* Every event was accepted on its own, in order: seq is index + 1. */
    if (i == s->b->n || row->seq != i + 1 || row->day != s->b->day[i])
        s->bad_rows++;
    if (s->n < MAX_EVS)
        s->idx[s->n] = i;
    s->n++;
    return ERR_OK;
}

static void list_all(store_t *s, const book_t *b, const store_ev_filter_t *f, size_t limit,
                     seen_t *seen, size_t *pages)
{
    memset(seen, 0, sizeof *seen);
    seen->b = b;
    char cursor[STORE_CURSOR_BUF] = "", next[STORE_CURSOR_BUF];
    *pages = 0;
    for (;;) {
        store_snap_t *sn = NULL;
        REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
        size_t before_n = seen->n;
        CHECK_ERR(ERR_OK, store_events_list(sn, f, cursor, limit, collect, seen, next));
        store_snap_end(sn);
        (*pages)++;
        CHECK(seen->n - before_n <= limit);
        /* Only the last page may be short, only an empty result is empty. */
        if (next[0] != '\0')
            CHECK_INT(limit, seen->n - before_n);
        if (next[0] == '\0' || *pages > MAX_EVS + 1)
            break;
        CHECK(strlen(next) < STORE_CURSOR_BUF);
        memcpy(cursor, next, sizeof cursor);
    }
}

static store_t *open_book(const char *dir, book_t *b)
{
    store_opts_t o = opts_of(dir, plus2, 0);
    store_t *s = NULL;
    err_msg_t msg = {{0}};
    REQUIRE(store_open(&o, &s, &msg) == ERR_OK);
    /* One event per batch, so that arrival number = index + 1. */
    for (size_t i = 0; i < b->n; i++) {
        store_item_result_t r = put1(s, &b->ev[i], NULL);
        CHECK_MSG(r.status == STORE_ITEM_ACCEPTED && !r.pending, "%s: %s", b->id[i], r.message);
    }
    return s;
}

static void test_filters_and_paging(void)
{
    char dir[64];
    tmpdir(dir);
    static book_t b;
    static char docs[40][3][16];
    make_book(&b, docs);
    store_t *s = open_book(dir, &b);
    const int32_t mar1 = D(2025, 3, 1), mar31 = D(2025, 3, 31);
    const struct {
        const char *label;
        store_ev_filter_t f;
    } rows[] = {
        {"all", {0}},
        {"party", {.party = "ACME"}},
        {"party with punctuation", {.party = "Smith, Jones & Co"}},
        {"vendor", {.party = "Vendor"}},
        {"unit", {.business_unit = "NA"}},
        {"default unit", {.business_unit = "default"}},
        {"party and unit", {.party = "Globex", .business_unit = "NA"}},
        {"party and other unit", {.party = "ACME", .business_unit = "APAC"}},
        {"type", {.type = KPI_EV_INVOICE_ISSUED}},
        {"rare type", {.type = KPI_EV_CREDIT_LIMIT_SET}},
        {"type and party", {.party = "Initech", .type = KPI_EV_PAYMENT_APPLIED}},
        {"from", {.has_from = true, .from_day = mar1}},
        {"to", {.has_to = true, .to_day = mar31}},
        {"before 1970", {.has_to = true, .to_day = D(1969, 12, 31)}},
        {"from and to", {.has_from = true, .has_to = true, .from_day = mar1, .to_day = mar31}},
        {"one day",
         {.has_from = true, .has_to = true, .from_day = D(2025, 3, 3), .to_day = D(2025, 3, 3)}},
        {"everything at once",
         {.party = "Initech",
          .business_unit = "NA",
          .type = KPI_EV_INVOICE_ADJUSTED,
          .has_from = true,
          .from_day = D(2025, 1, 1),
          .has_to = true,
          .to_day = D(2025, 12, 31)}},
        {"from after to", {.has_from = true, .has_to = true, .from_day = mar31, .to_day = mar1}},
        {"unknown party", {.party = "Nobody"}},
        /* A name as customer or as vendor (GET /v1/events customer= / vendor=). */
        {"vendor as vendor", {.party = "Vendor", .side = STORE_EV_PAYABLE}},
        {"vendor as customer", {.party = "Vendor", .side = STORE_EV_RECEIVABLE}},
        {"customer as customer", {.party = "ACME", .side = STORE_EV_RECEIVABLE}},
        {"customer as vendor", {.party = "ACME", .side = STORE_EV_PAYABLE}},
        {"unknown unit", {.business_unit = "MARS"}},
    };
    static size_t want[MAX_EVS];
    static seen_t got;
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        size_t n = expected(&b, &rows[r].f, want);
        const size_t limits[] = {1, 7, 1000};
        for (size_t l = 0; l < 3; l++) {
            char label[96];
            snprintf(label, sizeof label, "%s, limit %zu", rows[r].label, limits[l]);
            test_current_ = label;
            size_t pages = 0;
            list_all(s, &b, &rows[r].f, limits[l], &got, &pages);
            CHECK_INT(n, got.n);
            CHECK_INT(0, got.bad_rows);
            for (size_t i = 0; i < n && i < got.n; i++)
                CHECK_MSG(want[i] == got.idx[i], "row %zu: expected %s, got %s", i, b.id[want[i]],
                          b.id[got.idx[i]]);
            CHECK_INT(n == 0 ? 1 : (n + limits[l] - 1) / limits[l], pages);
        }
    }
    /* The book spans what the rows above need. */
    test_current_ = "test_filters_and_paging";
    CHECK(expected(&b, &rows[13].f, want) > 0);
    CHECK(expected(&b, &rows[15].f, want) > 1);
    CHECK(expected(&b, &rows[16].f, want) > 0);
    CHECK(expected(&b, &rows[6].f, want) > 0);
    CHECK(expected(&b, &rows[19].f, want) > 0);
    CHECK_INT(0, expected(&b, &rows[20].f, want));
    CHECK(expected(&b, &rows[21].f, want) > 0);
    CHECK_INT(D(2025, 3, 1), b.day[b.n - 2]);
    CHECK_INT(D(2025, 4, 1), b.day[b.n - 1]);
    store_close(s);
    rmdir_all(dir);
}

static void test_bad_cursor_and_stop(void)
{
    char dir[64];
    tmpdir(dir);
    static book_t b;
    static char docs[40][3][16];
    make_book(&b, docs);
    store_t *s = open_book(dir, &b);
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_ev_filter_t all = {0};
    static seen_t got;
    char next[STORE_CURSOR_BUF];
    const char *bad[] = {
        "zz",
        "00",
        "0123456789abcdef0123456789abcde",   /* 31 digits */
        "0123456789abcdef0123456789abcdef0", /* 33 */
        "0123456789ABCDEF0123456789ABCDEF",  /* not how the store writes them */
        "0123456789abcdef0123456789abcdeg",
        "0123456789abcdef 123456789abcdef",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        test_current_ = bad[i];
        memset(&got, 0, sizeof got);
        got.b = &b;
        memcpy(next, "x", 2);
        CHECK_ERR(ERR_BAD_PARAM, store_events_list(sn, &all, bad[i], 10, collect, &got, next));
        CHECK_INT(0, got.n);
        CHECK_STR("", next);
    }
    test_current_ = "test_bad_cursor_and_stop";
    memset(&got, 0, sizeof got);
    got.b = &b;
    CHECK_ERR(ERR_BAD_PARAM, store_events_list(sn, &all, NULL, 0, collect, &got, next));

    /* A cursor from another listing is a position: the rest of the log. */
    CHECK_ERR(ERR_OK, store_events_list(sn, &all, "", 3, collect, &got, next));
    CHECK(next[0] != '\0');
    char cur[STORE_CURSOR_BUF];
    memcpy(cur, next, sizeof cur);
    store_ev_filter_t acme = {.party = "ACME"};
    memset(&got, 0, sizeof got);
    got.b = &b;
    CHECK_ERR(ERR_OK, store_events_list(sn, &acme, cur, 1000, collect, &got, next));
    static size_t want[MAX_EVS];
    size_t n_acme = expected(&b, &acme, want), skipped = 0;
    static size_t all_order[MAX_EVS];
    (void)expected(&b, &all, all_order);
    for (size_t i = 0; i < n_acme; i++)
        for (size_t j = 0; j < 3; j++)
            skipped += want[i] == all_order[j];
    CHECK_INT(n_acme - skipped, got.n);

    /* A callback's error stops the walk and is returned. */
    memset(&got, 0, sizeof got);
    got.b = &b;
    got.stop_after = 5;
    CHECK_ERR(ERR_TOO_LARGE, store_events_list(sn, &all, NULL, 100, collect, &got, next));
    CHECK_INT(5, got.n);

    /* One event by id. */
    memset(&got, 0, sizeof got);
    got.b = &b;
    CHECK_ERR(ERR_OK, store_event_get(sn, "ev010", collect, &got));
    CHECK_INT(1, got.n);
    CHECK_INT(10, got.idx[0]);
    CHECK_INT(0, got.bad_rows);
    CHECK_ERR(ERR_NOT_FOUND, store_event_get(sn, "nope", collect, &got));
    CHECK_INT(1, got.n);
    store_snap_end(sn);
    store_close(s);
    rmdir_all(dir);
}

/* Events waiting for a document: listed at once under the party and unit
   they name; under their document's once it arrives. */
static void test_pending_listed(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    int64_t t = T(2025, 5, 1, 0);
    kpi_event_t w[] = {
        ev(KPI_EV_CREDIT_NOTE_ISSUED, "w1", t + 1, "CN", "INV", 100, "Zed"),
        ev(KPI_EV_INVOICE_REVIEWED, "w2", t + 2, "INV", NULL, 0, NULL),
    };
    w[0].business_unit = "EU";
    store_item_result_t res[2];
    CHECK_INT(2, put(s, w, 2, NULL, res).pending);
    static book_t dummy;
    static seen_t got;
    char next[STORE_CURSOR_BUF];
    store_ev_filter_t zed = {.party = "Zed"}, eu = {.business_unit = "EU"}, all = {0};
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    memset(&got, 0, sizeof got);
    got.b = &dummy;
    CHECK_ERR(ERR_OK, store_events_list(sn, &zed, NULL, 10, collect, &got, next));
    CHECK_INT(1, got.n);
    got.n = 0;
    CHECK_ERR(ERR_OK, store_events_list(sn, &eu, NULL, 10, collect, &got, next));
    CHECK_INT(1, got.n);
    got.n = 0;
    CHECK_ERR(ERR_OK, store_events_list(sn, &all, NULL, 10, collect, &got, next));
    CHECK_INT(2, got.n);
    /* Only pending events are known about INV so far. */
    store_doc_t d;
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_INVOICE, "INV", &d));
    CHECK(!d.exists);
    CHECK_INT(2, d.pending_events);
    CHECK(d.party == NULL);
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_CREDIT_NOTE, "CN", &d));
    CHECK(!d.exists);
    CHECK(d.created_seq != 0); /* its number is claimed */
    store_snap_end(sn);

    kpi_event_t inv = ev(KPI_EV_INVOICE_ISSUED, "i", t, "INV", NULL, 1000, "Zed");
    inv.business_unit = "NA";
    CHECK_INT(2, put(s, &inv, 1, NULL, res).released);
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    got.n = 0;
    CHECK_ERR(ERR_OK, store_events_list(sn, &zed, NULL, 10, collect, &got, next));
    CHECK_INT(3, got.n); /* the review now files under the invoice's customer */
    store_ev_filter_t na = {.business_unit = "NA"};
    got.n = 0;
    CHECK_ERR(ERR_OK, store_events_list(sn, &na, NULL, 10, collect, &got, next));
    CHECK_INT(2, got.n); /* the invoice and its review; the credit note named EU */
    got.n = 0;
    CHECK_ERR(ERR_OK, store_events_list(sn, &eu, NULL, 10, collect, &got, next));
    CHECK_INT(1, got.n);
    /* Borrowed names live until the snapshot ends. */
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_CREDIT_NOTE, "CN", &d));
    CHECK(d.exists);
    CHECK_STR("Zed", d.party);
    CHECK_STR("EU", d.business_unit);
    CHECK_STR("INV", d.ref);
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_INVOICE, "INV", &d));
    CHECK_STR("NA", d.business_unit);
    CHECK_INT(0, d.pending_events);
    CHECK_INT(900, d.open_minor);
    store_snap_end(sn);
    store_close(s);
    rmdir_all(dir);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    plus2 = fixed_zone("Etc/GMT-2", 7200, "<+02>-2");
    RUN(test_filters_and_paging);
    RUN(test_bad_cursor_and_stop);
    RUN(test_pending_listed);
    kpi_tz_free(plus2);
    kpi_tz_free(test_utc);
    return test_summary();
}
