/*
 * test_store_kpi.c — the store end to end through its public API: events in
 * (store_put_batch, out of order), documents and derived KPI state out
 * (store_doc_get, store_kpi.h), and the store's refusals: duplicates,
 * conflicts, over-application, atomic batches, strict references, another
 * format version, a second writer, other settings; the map growing; a
 * rebuild giving identical answers.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>

#include "kpi_date.h"
#include "store.h"
#include "store_kpi.h"
#include "test.h"

static int32_t D(int y, int m, int d)
{
    return kpi_days_from_civil(y, m, d);
}

static int64_t T(int y, int m, int d, int h)
{
    return kpi_day_start_utc(D(y, m, d)) + h * 3600;
}

static kpi_tz_t *utc;

static void tmpdir(char *dir)
{
    snprintf(dir, 64, "%s", "/tmp/kpid-store-XXXXXX");
    REQUIRE(mkdtemp(dir) != NULL);
}

static void rmdir_all(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    REQUIRE(system(cmd) == 0);
}

static store_t *open_store(const char *dir, uint64_t map)
{
    store_opts_t o = {.dir = dir, .tz = utc, .base_currency = "USD", .map_size_initial = map};
    store_t *s = NULL;
    err_msg_t msg = {{0}};
    err_t e = store_open(&o, &s, &msg);
    if (e)
        fprintf(stderr, "    store_open: %s\n", msg.text);
    REQUIRE(e == ERR_OK);
    return s;
}

/* Events of the tables below. */
static kpi_event_t ev(kpi_ev_type_t t, const char *id, int64_t time, const char *doc,
                      const char *ref, int64_t amount, const char *party)
{
    kpi_event_t e = {0};
    e.type = t;
    e.id = id;
    e.time_s = time;
    e.business_unit = "";
    e.doc = doc;
    e.ref = ref;
    e.party = party;
    e.text = "why";
    if (amount) {
        e.flags |= KPI_EVF_AMOUNT;
        e.amount_minor = amount;
    }
    if (t == KPI_EV_INVOICE_ISSUED || t == KPI_EV_BILL_RECEIVED) {
        e.flags |= KPI_EVF_TERMS;
        e.terms_days = 30;
    }
    if (t == KPI_EV_INVOICE_REVIEWED)
        e.result = KPI_RESULT_PASS;
    if (t == KPI_EV_PAYMENT_RECEIVED)
        e.method = KPI_METHOD_WIRE;
    return e;
}

static store_batch_stats_t put(store_t *s, const kpi_event_t *evs, size_t n,
                               const store_batch_opts_t *o, store_item_result_t *res)
{
    store_batch_stats_t st;
    err_msg_t msg = {{0}};
    err_t e = store_put_batch(s, evs, n, o, res, &st, &msg);
    if (e)
        fprintf(stderr, "    put: %s\n", msg.text);
    CHECK_ERR(ERR_OK, e);
    return st;
}

static int64_t open_total(store_t *s, const char *party, int32_t as_of, int64_t *count)
{
    store_snap_t *sn;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    kpi_arena_t *a;
    REQUIRE(kpi_arena_new(1 << 20, &a) == ERR_OK);
    store_scope_t sc = {"USD", NULL, party};
    kpi_open_group_t *g;
    size_t n;
    int64_t sum = 0;
    *count = 0;
    CHECK_ERR(ERR_OK, store_open_groups(sn, &sc, STORE_BASIS_DUE, as_of, INT32_MIN, a, &g, &n));
    for (size_t i = 0; i < n; i++) {
        sum += g[i].amount;
        *count += g[i].count;
    }
    kpi_arena_free(a);
    store_snap_end(sn);
    return sum;
}

static err_t count_doc(void *ctx, const store_doc_t *d, const char *number)
{
    (void)d;
    (void)number;
    (*(int *)ctx)++;
    return ERR_OK;
}

static void test_out_of_order_and_rules(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    store_item_result_t res[8];

    /* Everything about invoice I1 arrives before it. */
    kpi_event_t early[] = {
        ev(KPI_EV_PAYMENT_APPLIED, "a1", T(2024, 2, 20, 11), "P1", "I1", 60000, NULL),
        ev(KPI_EV_INVOICE_REVIEWED, "a2", T(2024, 1, 11, 9), "I1", NULL, 0, NULL),
        ev(KPI_EV_DISPUTE_OPENED, "a3", T(2024, 2, 1, 9), "D1", "I1", 0, NULL),
    };
    store_batch_stats_t st = put(s, early, 3, NULL, res);
    CHECK_INT(3, st.accepted);
    CHECK_INT(3, st.pending);
    CHECK(res[0].pending && res[1].pending && res[2].pending);
    store_stats_t ss;
    CHECK_ERR(ERR_OK, store_stats(s, &ss));
    CHECK_INT(3, ss.events);
    CHECK_INT(3, ss.pending);

    /* The payment alone releases nothing (the application also needs I1). */
    kpi_event_t pay =
        ev(KPI_EV_PAYMENT_RECEIVED, "a4", T(2024, 2, 20, 10), "P1", NULL, 60000, "ACME");
    st = put(s, &pay, 1, NULL, res);
    CHECK_INT(0, st.released);
    kpi_event_t inv =
        ev(KPI_EV_INVOICE_ISSUED, "a5", T(2024, 1, 10, 9), "I1", NULL, 100000, "ACME");
    st = put(s, &inv, 1, NULL, res);
    CHECK_INT(3, st.released);
    CHECK_ERR(ERR_OK, store_stats(s, &ss));
    CHECK_INT(0, ss.pending);
    CHECK_INT(1, ss.docs[KPI_DOC_INVOICE]);
    CHECK_INT(1, ss.docs[KPI_DOC_DISPUTE]);

    store_snap_t *sn;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_doc_t d;
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_INVOICE, "I1", &d));
    CHECK(d.exists);
    CHECK_INT(100000, d.amount_minor);
    CHECK_INT(60000, d.applied_minor);
    CHECK_INT(40000, d.open_minor);
    CHECK_INT(1, d.reviews);
    CHECK_INT(D(2024, 2, 9), d.due_day);
    CHECK_STR("ACME", d.party);
    CHECK_STR("default", d.business_unit);
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_DISPUTE, "D1", &d));
    CHECK_STR("ACME", d.party); /* from its invoice */
    CHECK_STR("I1", d.ref);
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_PAYMENT, "P1", &d));
    CHECK_INT(0, d.open_minor);
    CHECK_ERR(ERR_NOT_FOUND, store_doc_get(sn, KPI_DOC_BILL, "B9", &d));
    int n = 0;
    CHECK_ERR(ERR_OK, store_customer_invoices(sn, "ACME", count_doc, &n));
    CHECK_INT(1, n);
    n = 0;
    CHECK_ERR(ERR_OK, store_customer_disputes(sn, "ACME", count_doc, &n));
    CHECK_INT(1, n);
    kpi_habits_acc_t h;
    CHECK_ERR(ERR_OK, store_customer_habits(sn, "ACME", "USD", &h));
    CHECK_INT(60000, h.amount);
    CHECK_INT(60000 * 41, (int64_t)h.amount_x_days);
    store_customer_t cu;
    CHECK_ERR(ERR_OK, store_customer_get(sn, "ACME", &cu));
    CHECK_STR("ACME", cu.name);
    CHECK(!cu.has_limit);
    CHECK_ERR(ERR_NOT_FOUND, store_customer_get(sn, "NOBODY", &cu));
    CHECK_ERR(ERR_NOT_FOUND, store_customer_get(sn, "default", &cu)); /* a unit, not a party */
    int64_t open;
    CHECK_ERR(ERR_OK, store_invoice_open_at(sn, "I1", D(2024, 2, 19), &open));
    CHECK_INT(100000, open);
    /* Open candidates: the open-now index from the latest day on. */
    n = 0;
    CHECK_ERR(ERR_OK, store_customer_open_candidates(sn, "ACME", D(2030, 1, 1), count_doc, &n));
    CHECK_INT(1, n);
    n = 0;
    CHECK_ERR(ERR_OK, store_customer_open_candidates(sn, "ACME", D(2024, 1, 1), count_doc, &n));
    CHECK_INT(1, n);
    CHECK_ERR(ERR_NOT_FOUND,
              store_customer_open_candidates(sn, "NOBODY", D(2030, 1, 1), count_doc, &n));
    store_snap_end(sn);
    int64_t cnt;
    CHECK_INT(40000, open_total(s, NULL, D(2024, 2, 25), &cnt));
    CHECK_INT(1, cnt);
    CHECK_INT(40000, open_total(s, "ACME", D(2024, 2, 25), &cnt));

    /* Duplicate, conflict, document conflict, over-application, currency. */
    kpi_event_t again[5];
    again[0] = inv;
    again[1] = inv;
    again[1].amount_minor = 100001;
    again[2] = inv;
    again[2].id = "a6";
    again[3] = ev(KPI_EV_PAYMENT_APPLIED, "a7", T(2024, 2, 21, 9), "P1", "I1", 1, NULL);
    again[4] = ev(KPI_EV_INVOICE_ADJUSTED, "a8", T(2024, 2, 21, 9), "I1", NULL, 100, NULL);
    memcpy(again[4].currency, "EUR", 4);
    st = put(s, again, 5, NULL, res);
    CHECK_INT(STORE_ITEM_DUPLICATE, res[0].status);
    CHECK_INT(STORE_ITEM_REJECTED, res[1].status);
    CHECK_ERR(ERR_CONFLICT, res[1].code);
    CHECK_STR("id", res[1].field);
    CHECK_ERR(ERR_DOC_CONFLICT, res[2].code);
    CHECK_STR("invoice", res[2].field);
    CHECK_ERR(ERR_OVER_APPLIED, res[3].code);
    CHECK_STR("amount", res[3].field);
    CHECK(strstr(res[3].message, "600.00") != NULL);
    CHECK_ERR(ERR_CURRENCY_MISMATCH, res[4].code);
    CHECK_INT(1, st.duplicates);
    CHECK_INT(4, st.rejected);
    CHECK(st.committed);

    /* Atomic: one bad item, nothing written. */
    kpi_event_t batch[2] = {
        ev(KPI_EV_INVOICE_ISSUED, "b1", T(2024, 3, 1, 9), "I2", NULL, 500, "ACME"),
        ev(KPI_EV_PAYMENT_APPLIED, "b2", T(2024, 3, 1, 9), "P1", "I1", 99999, NULL),
    };
    store_batch_opts_t atomic = {.atomic = true};
    st = put(s, batch, 2, &atomic, res);
    CHECK(!st.committed);
    CHECK_INT(STORE_ITEM_NOT_COMMITTED, res[0].status);
    CHECK_INT(STORE_ITEM_REJECTED, res[1].status);
    /* Not atomic: the good one is kept. */
    st = put(s, batch, 2, NULL, res);
    CHECK_INT(1, st.accepted);
    CHECK_INT(1, st.rejected);

    /* Strict references. */
    store_batch_opts_t strict = {.strict_refs = true};
    kpi_event_t orphan =
        ev(KPI_EV_INVOICE_WRITTEN_OFF, "c1", T(2024, 3, 1, 9), "NOPE", NULL, 5, NULL);
    st = put(s, &orphan, 1, &strict, res);
    CHECK_ERR(ERR_UNKNOWN_DOC, res[0].code);
    CHECK_STR("invoice", res[0].field);

    /* Rebuild: the same documents and KPI state. */
    /* I1: 1,000.00 - 600.00 applied; I2: 5.00. */
    CHECK_INT(40000 + 500, open_total(s, NULL, D(2024, 12, 31), &cnt));
    CHECK_INT(2, cnt);
    int64_t before = open_total(s, NULL, D(2024, 3, 5), &cnt);
    err_msg_t msg;
    CHECK_ERR(ERR_OK, store_rebuild(s, NULL, NULL, &msg));
    int64_t cnt2;
    CHECK_INT(before, open_total(s, NULL, D(2024, 3, 5), &cnt2));
    CHECK_INT(cnt, cnt2);
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    CHECK_ERR(ERR_OK, store_doc_get(sn, KPI_DOC_INVOICE, "I1", &d));
    CHECK_INT(40000, d.open_minor);
    CHECK_INT(1, d.reviews);
    store_snap_end(sn);

    /* An invoice paid off leaves the open-now index. */
    kpi_event_t pay2[2] = {
        ev(KPI_EV_PAYMENT_RECEIVED, "d1", T(2024, 3, 2, 9), "P2", NULL, 500, "ACME"),
        ev(KPI_EV_PAYMENT_APPLIED, "d2", T(2024, 3, 2, 10), "P2", "I2", 500, NULL),
    };
    st = put(s, pay2, 2, NULL, res);
    CHECK_INT(2, st.accepted);
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    n = 0;
    CHECK_ERR(ERR_OK, store_customer_open_candidates(sn, "ACME", D(2030, 1, 1), count_doc, &n));
    CHECK_INT(1, n); /* I1 only */
    store_snap_end(sn);
    before = open_total(s, NULL, D(2024, 3, 5), &cnt);

    /* Reopen: everything is still there. */
    store_close(s);
    s = open_store(dir, 0);
    CHECK_ERR(ERR_OK, store_stats(s, &ss));
    CHECK_INT(8, ss.events);
    CHECK_INT(before, open_total(s, NULL, D(2024, 3, 5), &cnt2));
    store_close(s);
    rmdir_all(dir);
}

typedef struct list_ctx {
    int n;
    char ids[64][16];
} list_ctx_t;

static err_t collect(void *ctx, const store_ev_row_t *row)
{
    list_ctx_t *l = ctx;
    if (l->n < 64)
        snprintf(l->ids[l->n], sizeof l->ids[0], "%s", row->ev->id);
    l->n++;
    return ERR_OK;
}

static int list_all(store_t *s, const store_ev_filter_t *f, size_t limit, list_ctx_t *l)
{
    store_snap_t *sn;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    char cur[STORE_CURSOR_BUF] = "", next[STORE_CURSOR_BUF];
    int pages = 0;
    memset(l, 0, sizeof *l);
    do {
        CHECK_ERR(ERR_OK, store_events_list(sn, f, cur, limit, collect, l, next));
        memcpy(cur, next, sizeof cur);
        pages++;
    } while (cur[0] != '\0' && pages < 100);
    store_snap_end(sn);
    return pages;
}

static void test_listing(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    kpi_event_t evs[6] = {
        ev(KPI_EV_INVOICE_ISSUED, "l1", T(2024, 1, 3, 9), "I1", NULL, 100, "A"),
        ev(KPI_EV_INVOICE_ISSUED, "l2", T(2024, 1, 1, 9), "I2", NULL, 100, "B"),
        ev(KPI_EV_INVOICE_ISSUED, "l3", T(2024, 1, 2, 9), "I3", NULL, 100, "A"),
        ev(KPI_EV_INVOICE_REVIEWED, "l4", T(2024, 1, 4, 9), "I1", NULL, 0, NULL),
        ev(KPI_EV_CREDIT_LIMIT_SET, "l5", T(2024, 1, 5, 9), NULL, NULL, 1000, "A"),
        ev(KPI_EV_INVOICE_ISSUED, "l6", T(2024, 1, 6, 9), "I6", NULL, 100, "B"),
    };
    evs[5].business_unit = "west";
    store_item_result_t res[6];
    put(s, evs, 6, NULL, res);
    store_ev_filter_t all = {0};
    list_ctx_t l;
    CHECK_INT(3, list_all(s, &all, 2, &l));
    CHECK_INT(6, l.n);
    CHECK_STR("l2", l.ids[0]); /* time order, not arrival */
    CHECK_STR("l3", l.ids[1]);
    CHECK_STR("l6", l.ids[5]);
    store_ev_filter_t fa = {.party = "A"};
    list_all(s, &fa, 10, &l);
    CHECK_INT(4, l.n); /* l3, l1, l4 (via its invoice), l5 */
    store_ev_filter_t ft = {.party = "A", .type = KPI_EV_INVOICE_ISSUED};
    list_all(s, &ft, 1, &l);
    CHECK_INT(2, l.n);
    store_ev_filter_t fd = {
        .has_from = true, .from_day = D(2024, 1, 2), .has_to = true, .to_day = D(2024, 1, 4)};
    list_all(s, &fd, 10, &l);
    CHECK_INT(3, l.n);
    store_ev_filter_t fb = {.business_unit = "west"};
    list_all(s, &fb, 10, &l);
    CHECK_INT(1, l.n);
    store_ev_filter_t fab = {.party = "B", .business_unit = "default"};
    list_all(s, &fab, 10, &l);
    CHECK_INT(1, l.n);
    store_ev_filter_t fx = {.party = "NOBODY"};
    list_all(s, &fx, 10, &l);
    CHECK_INT(0, l.n);
    store_snap_t *sn;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    char next[STORE_CURSOR_BUF];
    CHECK_ERR(ERR_BAD_PARAM, store_events_list(sn, &all, "zz", 10, collect, &l, next));
    memset(&l, 0, sizeof l);
    CHECK_ERR(ERR_OK, store_event_get(sn, "l4", collect, &l));
    CHECK_INT(1, l.n);
    CHECK_ERR(ERR_NOT_FOUND, store_event_get(sn, "nope", collect, &l));
    store_snap_end(sn);
    store_close(s);
    rmdir_all(dir);
}

typedef struct codes {
    char list[64];
    int calls, stop_after; /* stop_after > 0: answer ERR_BUSY on that call */
} codes_t;

static err_t add_code(void *ctx, const char *code)
{
    codes_t *c = ctx;
    if (++c->calls == c->stop_after)
        return ERR_BUSY;
    size_t n = strlen(c->list);
    snprintf(c->list + n, sizeof c->list - n, "%s%s", n ? "," : "", code);
    return ERR_OK;
}

static void test_currencies(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    store_snap_t *sn;
    codes_t c = {0};
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    CHECK_ERR(ERR_OK, store_currencies(sn, add_code, &c));
    CHECK_STR("", c.list); /* an empty store has none */
    store_snap_end(sn);

    kpi_event_t evs[5] = {
        ev(KPI_EV_INVOICE_ISSUED, "c1", T(2024, 1, 3, 9), "I1", NULL, 100, "A"),
        ev(KPI_EV_INVOICE_ISSUED, "c2", T(2024, 1, 4, 9), "I2", NULL, 100, "A"),
        ev(KPI_EV_PAYMENT_RECEIVED, "c3", T(2024, 1, 5, 9), "P1", NULL, 100, "B"),
        ev(KPI_EV_BILL_RECEIVED, "c4", T(2024, 1, 6, 9), "B1", NULL, 100, "V"),
        ev(KPI_EV_INVOICE_ISSUED, "c5", T(2024, 1, 7, 9), "I3", NULL, 100, "A"),
    };
    memcpy(evs[1].currency, "JPY", 4);
    memcpy(evs[2].currency, "EUR", 4);
    memcpy(evs[3].currency, "KWD", 4);
    memcpy(evs[4].currency, "JPY", 4); /* twice: listed once */
    store_item_result_t res[5];
    put(s, evs, 5, NULL, res);
    for (int i = 0; i < 5; i++)
        CHECK_INT(STORE_ITEM_ACCEPTED, res[i].status);
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    memset(&c, 0, sizeof c);
    CHECK_ERR(ERR_OK, store_currencies(sn, add_code, &c));
    CHECK_STR("EUR,JPY,KWD,USD", c.list); /* base currency from the default */
    memset(&c, 0, sizeof c);
    c.stop_after = 2; /* a callback's error stops the listing with it */
    CHECK_ERR(ERR_BUSY, store_currencies(sn, add_code, &c));
    CHECK_STR("EUR", c.list);
    store_snap_end(sn);
    store_close(s);
    rmdir_all(dir);
}

/* A party belongs to the units it has documents in, whatever the currency;
   an unknown party to none. */
static void test_party_units(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    kpi_event_t evs[6] = {
        ev(KPI_EV_INVOICE_ISSUED, "u1", T(2024, 1, 3, 9), "I1", NULL, 100, "A"),
        ev(KPI_EV_INVOICE_ISSUED, "u2", T(2024, 1, 4, 9), "I2", NULL, 100, "A"),
        ev(KPI_EV_PAYMENT_RECEIVED, "u3", T(2024, 1, 5, 9), "P1", NULL, 100, "A"),
        ev(KPI_EV_INVOICE_ISSUED, "u4", T(2024, 1, 6, 9), "I3", NULL, 100, "B"),
        ev(KPI_EV_BILL_RECEIVED, "u5", T(2024, 1, 7, 9), "B1", NULL, 100, "V"),
        /* a credit standing alone puts no party in a unit */
        ev(KPI_EV_CREDIT_LIMIT_SET, "u6", T(2024, 1, 8, 9), NULL, NULL, 100, "C"),
    };
    evs[0].business_unit = "north";
    evs[1].business_unit = "south";
    memcpy(evs[1].currency, "EUR", 4);
    evs[2].business_unit = "west";
    evs[3].business_unit = "south";
    evs[4].business_unit = "north";
    evs[5].business_unit = "east";
    store_item_result_t res[6];
    store_batch_stats_t st;
    err_msg_t msg;
    REQUIRE(store_put_batch(s, evs, 6, NULL, res, &st, &msg) == ERR_OK);
    CHECK_INT(6, st.accepted);
    store_snap_t *sn;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    /* ascending by interned id: north, south, west in order of arrival */
    codes_t c = {0};
    CHECK_ERR(ERR_OK, store_party_units(sn, "A", add_code, &c));
    CHECK_STR("north,south,west", c.list);
    memset(&c, 0, sizeof c);
    CHECK_ERR(ERR_OK, store_party_units(sn, "B", add_code, &c));
    CHECK_STR("south", c.list);
    memset(&c, 0, sizeof c);
    CHECK_ERR(ERR_OK, store_party_units(sn, "V", add_code, &c));
    CHECK_STR("north", c.list);
    memset(&c, 0, sizeof c);
    CHECK_ERR(ERR_OK, store_party_units(sn, "C", add_code, &c));
    CHECK_STR("", c.list);
    CHECK_ERR(ERR_OK, store_party_units(sn, "NOBODY", add_code, &c));
    CHECK_STR("", c.list);
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    CHECK_ERR(ERR_BUSY, store_party_units(sn, "A", add_code, &c));
    CHECK_STR("north", c.list);
    store_snap_end(sn);
    store_close(s);
    rmdir_all(dir);
}

static void test_refusals(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    /* A second writer (even in this process: flock is per open file). */
    store_opts_t o = {.dir = dir, .tz = utc, .base_currency = "USD"};
    store_t *s2 = NULL;
    err_msg_t msg;
    CHECK_ERR(ERR_STORE_LOCKED, store_open(&o, &s2, &msg));
    CHECK(strstr(msg.text, "pid") != NULL);
    store_close(s);

    /* Other base currency, other SLAs: refused; rebuild adopts the SLAs. */
    o.base_currency = "EUR";
    CHECK_ERR(ERR_CONFIG, store_open(&o, &s2, &msg));
    CHECK(strstr(msg.text, "USD") != NULL);
    o.base_currency = "USD";
    kpi_sla_def_t defs[KPI_SLAS_MAX];
    size_t nd = kpi_sla_defaults(defs, KPI_SLAS_MAX);
    defs[0].target.amount = 9;
    o.slas = defs;
    o.n_slas = nd;
    CHECK_ERR(ERR_CONFIG, store_open(&o, &s2, &msg));
    CHECK(strstr(msg.text, "kpid rebuild") != NULL);
    o.rebuild = true;
    CHECK_ERR(ERR_OK, store_open(&o, &s2, &msg));
    CHECK_ERR(ERR_OK, store_rebuild(s2, NULL, NULL, &msg));
    store_close(s2);
    o.rebuild = false;
    CHECK_ERR(ERR_OK, store_open(&o, &s2, &msg));
    store_close(s2);

    /* Another format version: refused, and the file is left byte-identical. */
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    REQUIRE(mdb_env_create(&env) == 0);
    mdb_env_set_maxdbs(env, 32);
    REQUIRE(mdb_env_open(env, dir, 0, 0644) == 0);
    REQUIRE(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    REQUIRE(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
    uint32_t v = STORE_FORMAT_VERSION + 1;
    MDB_val k = {7, (void *)"version"}, val = {4, &v};
    REQUIRE(mdb_put(txn, meta, &k, &val, 0) == 0);
    REQUIRE(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    char path[128], cmd[512];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    snprintf(cmd, sizeof cmd, "cksum < '%s' > '%s.sum'", path, path);
    REQUIRE(system(cmd) == 0);
    o.slas = NULL;
    o.n_slas = 0;
    CHECK_ERR(ERR_STORE_VERSION, store_open(&o, &s2, &msg));
    CHECK(strstr(msg.text, "untouched") != NULL);
    snprintf(cmd, sizeof cmd, "cksum < '%s' | cmp -s - '%s.sum'", path, path);
    CHECK(system(cmd) == 0);
    rmdir_all(dir);

    /* Not a store at all. */
    tmpdir(dir);
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    FILE *f = fopen(path, "w");
    REQUIRE(f != NULL);
    fputs("this is not an LMDB file, just some text that is long enough\n", f);
    fclose(f);
    CHECK_ERR(ERR_STORE_CORRUPT, store_open(&o, &s2, &msg));
    rmdir_all(dir);

    /* Read-only on a missing store. */
    o.dir = "/nonexistent/kpid";
    o.read_only = true;
    CHECK(store_open(&o, &s2, &msg) != ERR_OK);
}

static void test_map_grows(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 64 * 1024);
    enum { N = 3000 };
    kpi_event_t *evs = calloc(N, sizeof *evs);
    char(*ids)[16] = calloc(N, 16);
    REQUIRE(evs != NULL && ids != NULL);
    for (int i = 0; i < N; i++) {
        snprintf(ids[i], 16, "m%d", i);
        evs[i] = ev(KPI_EV_INVOICE_ISSUED, ids[i], T(2024, 1, 1 + i % 28, 9), ids[i], NULL, 100,
                    i % 2 ? "A" : "B");
    }
    store_item_result_t *res = calloc(N, sizeof *res);
    store_batch_stats_t st = put(s, evs, N, NULL, res);
    CHECK_INT(N, st.accepted);
    store_stats_t ss;
    CHECK_ERR(ERR_OK, store_stats(s, &ss));
    CHECK(ss.map_size > 64 * 1024);
    CHECK_INT(N, ss.events);
    int64_t cnt;
    CHECK_INT(N * 100, open_total(s, NULL, D(2024, 2, 1), &cnt));
    CHECK_INT(N, cnt);
    free(evs);
    free(ids);
    free(res);
    store_close(s);
    rmdir_all(dir);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&utc) == ERR_OK);
    RUN(test_out_of_order_and_rules);
    RUN(test_listing);
    RUN(test_currencies);
    RUN(test_party_units);
    RUN(test_refusals);
    RUN(test_map_grows);
    kpi_tz_free(utc);
    return test_summary();
}
