/*
 * test_coll_nats_util.c — collector/coll_nats_util.c: the config defaults,
 * which stream/consumer names and subjects pass, the derived consumer name
 * (stable per node, different per data directory, always a valid name),
 * message ids (equal for equal content, different for other content under
 * the same id) and the lag.
 */
#include <string.h>

#include "coll_nats.h"
#include "test.h"

static void test_defaults(void)
{
    coll_nats_conf_t c;
    coll_nats_conf_default(&c);
    CHECK_STR("KPID", c.stream);
    CHECK_STR("kpid.events", c.subject);
    CHECK_STR("", c.url);
    CHECK_STR("", c.durable);
    CHECK_INT(1, c.replicas);
    CHECK_INT(120, c.duplicate_window_s);
    CHECK_INT(0, c.max_lag);
}

static void test_names(void)
{
    static const struct {
        const char *name;
        bool ok;
    } rows[] = {
        {"KPID", true},
        {"kpid-node_a1", true},
        {"", false},
        {"a.b", false},
        {"a*", false},
        {"a>", false},
        {"with space", false},
        {"ü", false},
        {"0123456789012345678901234567890123456789012345678901234567890123", false}, /* 64 */
        {"012345678901234567890123456789012345678901234567890123456789012", true},   /* 63 */
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        test_current_ = rows[i].name;
        CHECK_INT(rows[i].ok, coll_nats_name_ok(rows[i].name));
    }
    static const struct {
        const char *subject;
        bool ok;
    } subj[] = {
        {"kpid.events", true}, {"kpid", true},     {"a.b.c-d_e", true}, {"", false},
        {".kpid", false},      {"kpid.", false},   {"kpid..x", false},  {"kpid.*", false},
        {"kpid.>", false},     {"kpid ev", false}, {"kpid\tx", false},
    };
    for (size_t i = 0; i < sizeof subj / sizeof subj[0]; i++) {
        test_current_ = subj[i].subject;
        CHECK_INT(subj[i].ok, coll_nats_subject_ok(subj[i].subject));
    }
    char long_subject[140];
    memset(long_subject, 'a', sizeof long_subject - 1);
    long_subject[sizeof long_subject - 1] = '\0';
    CHECK(!coll_nats_subject_ok(long_subject));
}

static void test_durable_default(void)
{
    char a[COLL_NATS_NAME_MAX], a2[COLL_NATS_NAME_MAX], b[COLL_NATS_NAME_MAX];
    coll_nats_durable_default("db1.example.com", "/var/lib/kpid", a);
    coll_nats_durable_default("db1.example.com", "/var/lib/kpid", a2);
    coll_nats_durable_default("db1.example.com", "/var/lib/kpid2", b);
    CHECK_STR(a, a2);         /* stable across restarts */
    CHECK(strcmp(a, b) != 0); /* two nodes on one host */
    CHECK(strncmp(a, "kpid-db1_example_com-", 21) == 0);
    CHECK_INT(21 + 8, strlen(a));
    CHECK(coll_nats_name_ok(a));
    /* A long or odd host name still gives a valid name. */
    char host[300];
    memset(host, 'h', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    host[3] = '*';
    coll_nats_durable_default(host, "/d", b);
    CHECK(coll_nats_name_ok(b));
    coll_nats_durable_default("", "/d", b);
    CHECK(coll_nats_name_ok(b));
    CHECK(strncmp(b, "kpid-", 5) == 0);
}

static kpi_event_t invoice(const char *id, int64_t amount)
{
    kpi_event_t e;
    memset(&e, 0, sizeof e);
    e.id = id;
    e.type = KPI_EV_INVOICE_ISSUED;
    e.time_s = 1743429900;
    e.doc = "INV-1";
    e.party = "ACME";
    e.business_unit = "";
    e.amount_minor = amount;
    e.flags = KPI_EVF_AMOUNT | KPI_EVF_TERMS;
    e.terms_days = 30;
    return e;
}

static void test_msg_id(void)
{
    kpi_event_t a = invoice("ev-1", 125000), same = invoice("ev-1", 125000),
                other = invoice("ev-1", 125100);
    char ia[COLL_NATS_MSG_ID_MAX], is[COLL_NATS_MSG_ID_MAX], io[COLL_NATS_MSG_ID_MAX];
    CHECK_ERR(ERR_OK, coll_nats_msg_id(&a, ia));
    CHECK_ERR(ERR_OK, coll_nats_msg_id(&same, is));
    CHECK_ERR(ERR_OK, coll_nats_msg_id(&other, io));
    CHECK_STR(ia, is);
    CHECK(strcmp(ia, io) != 0);
    CHECK(strncmp(ia, "ev-1.", 5) == 0);
    CHECK_INT(5 + 16, strlen(ia));
    /* The longest id fits. */
    char long_id[KPI_ID_MAX + 1];
    memset(long_id, 'x', KPI_ID_MAX);
    long_id[KPI_ID_MAX] = '\0';
    kpi_event_t l = invoice(long_id, 1);
    char il[COLL_NATS_MSG_ID_MAX];
    CHECK_ERR(ERR_OK, coll_nats_msg_id(&l, il));
    CHECK_INT(KPI_ID_MAX + 17, strlen(il));
}

static void test_lag(void)
{
    static const struct {
        uint64_t stream, applied, lag;
    } rows[] = {{0, 0, 0}, {10, 10, 0}, {10, 3, 7}, {3, 10, 0}, {UINT64_MAX, 0, UINT64_MAX}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        CHECK_INT(rows[i].lag, coll_nats_lag(rows[i].stream, rows[i].applied));
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_names);
    RUN(test_durable_default);
    RUN(test_msg_id);
    RUN(test_lag);
    return test_summary();
}
