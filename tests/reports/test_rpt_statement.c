/*
 * test_rpt_statement.c — the statement's layout (reports/rpt_statement.c)
 * drawn from the hand-made book of rpt_test.h (and a EUR invoice of Müller,
 * for a second account): a complete PDF with the page count the layout
 * gives (each currency's account from a new page), the CJK font embedded only for the customer
 * whose name needs it, the same request giving the same bytes, and a customer nobody knows refused
 * before any file is written.
 */
#include <unistd.h>

#include "rpt_int.h"
#include "rpt_test.h"

static char dir[64], odir[64];
static store_t *st;

static rpt_request_t req(const char *customer)
{
    rpt_request_t rq = {.kind = RPT_STATEMENT,
                        .customer = customer,
                        .from_day = D(2025, 11, 1),
                        .to_day = D(2025, 11, 30),
                        .as_of_day = D(2025, 11, 30),
                        .generated_s = T(2025, 12, 1, 6)};
    return rq;
}

static char *render(const rpt_request_t *rq, const char *name, rpt_info_t *info, size_t *len)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", odir, name);
    err_msg_t m = {{0}};
    err_t e = rpt_render_file_ex(st, rq, path, info, &m);
    CHECK_MSG(e == ERR_OK, "%s: %s", name, m.text);
    char *data = slurp(path, len);
    REQUIRE(data != NULL);
    CHECK_MSG(pdf_looks_ok(data, *len), "%s is not a complete PDF", name);
    CHECK_INT(info->pages, pdf_pages(data, *len));
    CHECK_INT(*len, info->bytes);
    return data;
}

static void test_layout(void)
{
    /* Müller has a USD and (added in main) a EUR account: a page each. */
    static const struct {
        const char *customer;
        unsigned pages;
        int cjk;
    } rows[] = {{"M\xC3\xBCller GmbH", 2, 0}, {CJK_NAME, 1, 1}, {"ACME", 1, 0}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        rpt_request_t rq = req(rows[i].customer);
        rpt_info_t info = {0};
        size_t len;
        char name[32];
        snprintf(name, sizeof name, "s%zu.pdf", i);
        free(render(&rq, name, &info, &len));
        CHECK_MSG(info.pages == rows[i].pages, "%s: %u pages, expected %u", rows[i].customer,
                  info.pages, rows[i].pages);
        CHECK_MSG(info.cjk_used == rows[i].cjk, "%s: CJK font %d", rows[i].customer, info.cjk_used);
    }
    /* the same request, the same bytes (the generation time is injected) */
    rpt_request_t rq = req(CJK_NAME);
    rpt_info_t a = {0}, b = {0};
    size_t la, lb;
    char *da = render(&rq, "a.pdf", &a, &la), *db = render(&rq, "b.pdf", &b, &lb);
    CHECK_MSG(la == lb && memcmp(da, db, la) == 0, "the same statement gave different bytes");
    free(da);
    free(db);
}

static void test_refused(void)
{
    rpt_request_t rq = req("Nobody");
    char path[160];
    snprintf(path, sizeof path, "%s/nobody.pdf", odir);
    err_msg_t m = {{0}};
    CHECK_ERR(ERR_NOT_FOUND, rpt_render_file(st, &rq, path, &m));
    CHECK_STR("unknown customer 'Nobody'", m.text);
    CHECK(access(path, F_OK) != 0);
}

int main(void)
{
    REQUIRE(kpi_tz_new_utc(&test_utc) == ERR_OK);
    tmpdir(dir);
    tmpdir(odir);
    st = open_store(dir, 0);
    rpt_test_book(st, true);
    kpi_event_t eur = bu(ev(KPI_EV_INVOICE_ISSUED, "x1", T(2025, 10, 1, 9), "INV-E1", NULL, 70000,
                            "M\xC3\xBCller GmbH"),
                         "emea");
    memcpy(eur.currency, "EUR", 4);
    store_item_result_t res[1];
    CHECK_INT(1, put(st, &eur, 1, NULL, res).accepted);
    RUN(test_layout);
    RUN(test_refused);
    store_close(st);
    rmdir_all(dir);
    kpi_tz_free(test_utc);
    rmdir_all(odir);
    return test_summary();
}
