/*
 * test_store_party.c — customers' and vendors' profiles (store_party.c) and
 * the segment groupings built on them (store_query_seg.c): the latest
 * profile by (time, id) stands whatever the arrival order; an event
 * replaces the whole profile; a customer and a vendor of one name keep two;
 * a rebuild gives the same; the segments of a book add up to the book, for
 * aging and for DSO, with a hand-checked example.
 */
#include "store_kpi.h"
#include "store_query_seg.h"

#include "store_test.h"

static kpi_event_t prof(kpi_ev_type_t t, const char *id, int64_t time, const char *party,
                        const char *name, const char *segment)
{
    kpi_event_t e = ev(t, id, time, NULL, NULL, 0, party);
    e.text = name;
    e.segment = segment;
    if (segment != NULL)
        e.flags |= KPI_EVF_PROFILE;
    return e;
}

static const char *name_of(store_t *s, bool vendor, const char *party, const char **segment)
{
    static char buf[2][128];
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    store_profile_t p;
    err_t e = store_party_profile(sn, vendor, party, &p);
    const char *r = NULL;
    buf[1][0] = '\0';
    if (e == ERR_OK) {
        snprintf(buf[0], sizeof buf[0], "%s", p.name);
        snprintf(buf[1], sizeof buf[1], "%s", p.segment ? p.segment : "-");
        r = buf[0];
    }
    if (segment != NULL)
        *segment = buf[1];
    store_snap_end(sn);
    return r;
}

static void test_latest_stands(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    store_batch_opts_t bo = {0};
    /* The newer profile arrives first; the older one changes nothing. */
    kpi_event_t a =
        prof(KPI_EV_CUSTOMER_UPDATED, "p2", T(2025, 3, 2, 0), "ACME", "ACME Corp", "enterprise");
    kpi_event_t b = prof(KPI_EV_CUSTOMER_UPDATED, "p1", T(2025, 3, 1, 0), "ACME", "Acme Inc", NULL);
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &a, &bo).status);
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &b, &bo).status);
    const char *seg;
    CHECK_STR("ACME Corp", name_of(s, false, "ACME", &seg));
    CHECK_STR("enterprise", seg);
    /* Same time: the greater id stands. A newer event replaces every field. */
    kpi_event_t c = prof(KPI_EV_CUSTOMER_UPDATED, "p3", T(2025, 3, 2, 0), "ACME", "ACME Ltd", NULL);
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &c, &bo).status);
    CHECK_STR("ACME Ltd", name_of(s, false, "ACME", &seg));
    CHECK_STR("-", seg);
    /* A vendor of the same name has its own profile; a party never
       profiled has none. */
    kpi_event_t v =
        prof(KPI_EV_VENDOR_UPDATED, "v1", T(2025, 1, 1, 0), "ACME", "ACME Supplies", "strategic");
    CHECK_INT(STORE_ITEM_ACCEPTED, put1(s, &v, &bo).status);
    CHECK_STR("ACME Supplies", name_of(s, true, "ACME", &seg));
    CHECK_STR("ACME Ltd", name_of(s, false, "ACME", NULL));
    CHECK(name_of(s, false, "NOBODY", NULL) == NULL);
    /* A rebuild replays to the same profiles. */
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_OK, store_rebuild(s, NULL, NULL, &msg));
    CHECK_STR("ACME Ltd", name_of(s, false, "ACME", NULL));
    CHECK_STR("ACME Supplies", name_of(s, true, "ACME", NULL));
    store_close(s);
    rmdir_all(dir);
}

/* Three customers: two "big" ones and one without a profile. As of 03-31:
   A owes 100.00 (current), B 50.00 (due 03-01, 30 days late), C 20.00
   (due 02-15). Segments: big = A + B = 150.00, (no segment) = C = 20.00;
   the sum is the book's 170.00. */
static void test_segments(void)
{
    char dir[64];
    tmpdir(dir);
    store_t *s = open_store(dir, 0);
    kpi_event_t e[] = {
        prof(KPI_EV_CUSTOMER_UPDATED, "pa", T(2025, 1, 1, 0), "A", "Alpha", "big"),
        prof(KPI_EV_CUSTOMER_UPDATED, "pb", T(2025, 1, 1, 0), "B", "Beta", "big"),
        ev(KPI_EV_INVOICE_ISSUED, "ia", T(2025, 3, 20, 0), "IA", NULL, 10000, "A"),
        ev(KPI_EV_INVOICE_ISSUED, "ib", T(2025, 1, 30, 0), "IB", NULL, 5000, "B"),
        ev(KPI_EV_INVOICE_ISSUED, "ic", T(2025, 1, 16, 0), "IC", NULL, 2000, "C"),
    };
    store_batch_opts_t bo = {0};
    store_item_result_t res[5];
    CHECK_INT(5, (int)put(s, e, 5, &bo, res).accepted);
    store_snap_t *sn = NULL;
    REQUIRE(store_snap_begin(s, &sn) == ERR_OK);
    kpi_arena_t *a = NULL;
    REQUIRE(kpi_arena_new(1 << 22, &a) == ERR_OK);
    store_scope_t sc = {.currency = "USD"};
    err_msg_t m = {{0}};
    store_q_segments_t segs;
    CHECK_ERR(ERR_OK, store_q_segments(sn, &sc, a, &segs, &m));
    REQUIRE(segs.n == 2);
    CHECK_STR("big", segs.names[0]);
    CHECK_STR(STORE_Q_NO_SEGMENT, segs.names[1]);
    CHECK_INT(2, (int)segs.customers[0].n);
    CHECK_STR("A", segs.customers[0].v[0]);
    CHECK_STR("C", segs.customers[1].v[0]);

    int32_t edges[] = {30, 60, 90, 120};
    store_q_aging_req_t rq = {.as_of = D(2025, 3, 31), .edges = edges, .n_edges = 4};
    store_q_aging_t ag;
    CHECK_ERR(ERR_OK, store_q_aging_by_segment(sn, &sc, &rq, a, &ag, &m));
    REQUIRE(ag.n_groups == 2);
    CHECK_INT(17000, ag.all.total_amount);
    CHECK_STR("big", ag.keys[0]); /* by name, the customers without one last */
    CHECK_INT(15000, ag.groups[0].total_amount);
    CHECK_INT(10000, ag.groups[0].buckets[0].amount); /* A: current */
    CHECK_INT(5000, ag.groups[0].buckets[1].amount);  /* B: 1-30 */
    CHECK_STR(STORE_Q_NO_SEGMENT, ag.keys[1]);
    CHECK_INT(2000, ag.groups[1].total_amount);

    /* DSO of March for the "big" segment: AR 150.00, sales 150.00 in
       March's 31 days counting only A's 100.00 (B's invoice is January's):
       standard DSO = 150 / 100 * 31 = 46.5 days. */
    kpi_period_t per = {D(2025, 3, 1), D(2025, 3, 31)};
    store_q_series_req_t sr = {
        .what = STORE_Q_DSO, .iv = KPI_IV_MONTH, .periods = &per, .n_periods = 1};
    store_q_point_t pt;
    CHECK_ERR(ERR_OK, store_q_series_of(sn, &sc, &segs.customers[0], &sr, a, &pt, &m));
    int64_t dso = 0;
    CHECK_ERR(ERR_OK, kpi_ratio_round(&pt.value, 2, &dso));
    CHECK_INT(4650, dso);
    /* The segments' ARs add up to the book's. */
    store_q_point_t book, none;
    CHECK_ERR(ERR_OK, store_q_series(sn, &sc, &sr, a, &book, &m));
    CHECK_ERR(ERR_OK, store_q_series_of(sn, &sc, &segs.customers[1], &sr, a, &none, &m));
    CHECK_INT(store_q_comp(&book, "ar")->v,
              store_q_comp(&pt, "ar")->v + store_q_comp(&none, "ar")->v);
    /* Only flow series have segments. */
    sr.what = STORE_Q_SLA;
    CHECK_ERR(ERR_BAD_PARAM, store_q_series_of(sn, &sc, &segs.customers[0], &sr, a, &pt, &m));
    kpi_arena_free(a);
    store_snap_end(sn);
    store_close(s);
    rmdir_all(dir);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    RUN(test_latest_stands);
    RUN(test_segments);
    kpi_tz_free(test_utc);
    return test_summary();
}
