/*
 * test_kpi_suggest.c — the edit distance, the choice of a suggestion and
 * the list of known words used in error messages.
 */
#include <string.h>

#include "kpi_suggest.h"
#include "test.h"

static void test_distance(void)
{
    CHECK_INT(0, kpi_suggest_distance("abc", "abc", 3));
    CHECK_INT(1, kpi_suggest_distance("invoice.issue", "invoice.issued", 3));
    CHECK_INT(1, kpi_suggest_distance("custmoer", "customer", 3)); /* one transposition */
    CHECK_INT(3, kpi_suggest_distance("kitten", "sitting", 3));
    CHECK_INT(1, kpi_suggest_distance("EMEA", "emea", 3)); /* case alone costs one */
    CHECK_INT(1, kpi_suggest_distance("", "a", 3));
    CHECK_INT(0, kpi_suggest_distance("", "", 0));
    /* Bounded: beyond the bound everything reads as bound + 1. */
    CHECK_INT(2, kpi_suggest_distance("abcdef", "uvwxyz", 1));
    CHECK_INT(2, kpi_suggest_distance("a", "abcdefgh", 1));
    char longw[KPI_SUGGEST_LEN_MAX + 2];
    memset(longw, 'x', sizeof longw - 1);
    longw[sizeof longw - 1] = '\0';
    CHECK_INT(4, kpi_suggest_distance(longw, longw, 3));
}

static void test_suggest(void)
{
    static const char *const types[] = {"invoice.issued", "invoice.reviewed", "payment.received",
                                        "bill.paid"};
    CHECK_STR("invoice.issued", kpi_suggest("invoice.issue", types, 4));
    CHECK_STR("invoice.issued", kpi_suggest("Invoice.Issued", types, 4));
    CHECK_STR("payment.received", kpi_suggest("payment.recieved", types, 4));
    CHECK_STR("bill.paid", kpi_suggest("bill.pad", types, 4));
    CHECK_STR(NULL, kpi_suggest("invoice.issued", types, 4)); /* equal: nothing to suggest */
    CHECK_STR(NULL, kpi_suggest("shipment.sent", types, 4));
    CHECK_STR(NULL, kpi_suggest("x", types, 0));
    static const char *const units[] = {"emea", "amer", NULL, "apac"};
    CHECK_STR("emea", kpi_suggest("EMEA", units, 4));
    CHECK_STR("apac", kpi_suggest("apc", units, 4));
    CHECK_STR(NULL, kpi_suggest("zz", units, 4));
    /* Short words: one edit at most. */
    static const char *const cur[] = {"EUR", "USD", "JPY"};
    CHECK_STR("EUR", kpi_suggest("EUT", cur, 3));
    CHECK_STR("USD", kpi_suggest("usd", cur, 3));
    CHECK_STR(NULL, kpi_suggest("GBP", cur, 3));
    /* A prefix a few bytes short. */
    static const char *const params[] = {"business_unit", "currency", "group_by"};
    CHECK_STR(NULL, kpi_suggest("business", params, 3)); /* five bytes short: too far */
    CHECK_STR("group_by", kpi_suggest("group", params, 3));
    CHECK_STR("currency", kpi_suggest("curency", params, 3));
    /* Ties go to the earlier word. */
    static const char *const tie[] = {"ab", "ba"};
    CHECK_STR("ab", kpi_suggest("aa", tie, 2));
}

static void test_list(void)
{
    char buf[64];
    static const char *const w[] = {"emea", NULL, "amer", "apac"};
    CHECK_STR("emea, amer, apac", kpi_suggest_list(w, 4, 10, buf, sizeof buf));
    CHECK_STR("emea, amer, ... (1 more)", kpi_suggest_list(w, 4, 2, buf, sizeof buf));
    CHECK_STR("... (3 more)", kpi_suggest_list(w, 4, 0, buf, sizeof buf));
    CHECK_STR("", kpi_suggest_list(w, 0, 10, buf, sizeof buf));
    char small[12];
    CHECK_STR("emea, amer", kpi_suggest_list(w, 4, 10, small, sizeof small));
    CHECK(strlen(small) < sizeof small);
}

int main(void)
{
    RUN(test_distance);
    RUN(test_suggest);
    RUN(test_list);
    return test_summary();
}
