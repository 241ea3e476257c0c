/*
 * rpt_test.h — what the report tests share: a small hand-made store (three
 * business units, customers whose names need Latin accents and CJK, open
 * and overdue invoices, reviews, bills, an inquiry) and PDF file checks.
 *
 * The book, all in USD, as of 2025-11-30 (terms 30 days unless noted):
 *   emea  "Müller GmbH"       INV-1  1000.00 issued 2025-09-01, due 10-01 -> 60 days past due
 *   emea  "Société Générale"  INV-2   500.00 issued 2025-11-10, due 12-10 -> current
 *   apac  "大连贸易有限公司"   INV-3  2500.00 issued 2025-07-01, due 07-31 -> 122 days (121+)
 *   apac  "大连贸易有限公司"   INV-4   300.00 issued 2025-10-20, due 11-19 -> 11 days, half paid
 *   us    "ACME"              INV-5   800.00 issued 2025-10-01, paid in full 2025-10-25
 * plus reviews of INV-1 (pass) and INV-5 (fail), bill B-1 received and
 * processed, and payment P-2 of 150.00 on INV-4 (and 40.00 left unapplied).
 */
#ifndef KPID_RPT_TEST_H
#define KPID_RPT_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_test.h"

#define CJK_NAME                                                                                   \
    "\xE5\xA4\xA7\xE8\xBF\x9E\xE8\xB4\xB8\xE6\x98\x93\xE6\x9C\x89\xE9\x99\x90\xE5\x85\xAC\xE5\x8F" \
    "\xB8"

static inline kpi_event_t bu(kpi_event_t e, const char *unit)
{
    e.business_unit = unit;
    return e;
}

/* Fill a fresh store with the book above. cjk = false leaves INV-3/4 out
   (a book that needs no CJK font). */
static inline void rpt_test_book(store_t *s, bool cjk)
{
    kpi_event_t evs[16];
    size_t n = 0;
    evs[n++] = bu(ev(KPI_EV_INVOICE_ISSUED, "e1", T(2025, 9, 1, 9), "INV-1", NULL, 100000,
                     "M\xC3\xBCller GmbH"),
                  "emea");
    evs[n++] = bu(ev(KPI_EV_INVOICE_ISSUED, "e2", T(2025, 11, 10, 9), "INV-2", NULL, 50000,
                     "Soci\xC3\xA9t\xC3\xA9 G\xC3\xA9n\xC3\xA9rale"),
                  "emea");
    if (cjk) {
        evs[n++] =
            bu(ev(KPI_EV_INVOICE_ISSUED, "e3", T(2025, 7, 1, 9), "INV-3", NULL, 250000, CJK_NAME),
               "apac");
        evs[n++] =
            bu(ev(KPI_EV_INVOICE_ISSUED, "e4", T(2025, 10, 20, 9), "INV-4", NULL, 30000, CJK_NAME),
               "apac");
        evs[n++] =
            ev(KPI_EV_PAYMENT_RECEIVED, "e9", T(2025, 11, 5, 9), "P-2", NULL, 19000, CJK_NAME);
        evs[n++] =
            ev(KPI_EV_PAYMENT_APPLIED, "e10", T(2025, 11, 6, 9), "P-2", "INV-4", 15000, NULL);
    }
    evs[n++] =
        bu(ev(KPI_EV_INVOICE_ISSUED, "e5", T(2025, 10, 1, 9), "INV-5", NULL, 80000, "ACME"), "us");
    evs[n++] = ev(KPI_EV_INVOICE_REVIEWED, "e6", T(2025, 9, 2, 9), "INV-1", NULL, 0, NULL);
    kpi_event_t fail = ev(KPI_EV_INVOICE_REVIEWED, "e7", T(2025, 10, 2, 9), "INV-5", NULL, 0, NULL);
    fail.result = KPI_RESULT_FAIL;
    evs[n++] = fail;
    evs[n++] = ev(KPI_EV_PAYMENT_RECEIVED, "e8", T(2025, 10, 25, 9), "P-1", NULL, 80000, "ACME");
    evs[n++] = ev(KPI_EV_PAYMENT_APPLIED, "e11", T(2025, 10, 25, 10), "P-1", "INV-5", 80000, NULL);
    evs[n++] =
        bu(ev(KPI_EV_BILL_RECEIVED, "e12", T(2025, 11, 3, 9), "B-1", NULL, 12000, "Vendor"), "us");
    evs[n++] = ev(KPI_EV_BILL_PROCESSED, "e13", T(2025, 11, 4, 9), "B-1", NULL, 0, NULL);
    store_item_result_t res[16];
    store_batch_stats_t st = put(s, evs, n, NULL, res);
    CHECK_INT(n, st.accepted);
    for (size_t i = 0; i < n; i++)
        if (res[i].status != STORE_ITEM_ACCEPTED)
            fprintf(stderr, "    event %zu: %s\n", i, res[i].message);
}

/* The whole file at path (malloc'd, NUL-terminated), or NULL. */
static inline char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap + 1);
    while (b != NULL) {
        size_t r = fread(b + n, 1, cap - n, f);
        if (r == 0)
            break;
        n += r;
        if (n == cap) {
            char *nb = realloc(b, cap * 2 + 1);
            if (nb == NULL) {
                free(b);
                b = NULL;
                break;
            }
            b = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (b != NULL)
        b[n] = '\0';
    *len = n;
    return b;
}

/* Page objects in a PDF: "/Type /Page" not followed by 's' (the tree). */
static inline unsigned pdf_pages(const char *data, size_t len)
{
    unsigned n = 0;
    const char *k = "/Type /Page";
    size_t kl = strlen(k);
    for (size_t i = 0; i + kl < len; i++)
        if (memcmp(data + i, k, kl) == 0 && data[i + kl] != 's')
            n++;
    return n;
}

/* A well-formed PDF start and end. */
static inline bool pdf_looks_ok(const char *data, size_t len)
{
    if (len < 64 || memcmp(data, "%PDF-1.", 7) != 0)
        return false;
    size_t i = len;
    while (i > 0 && (data[i - 1] == '\n' || data[i - 1] == '\r'))
        i--;
    return i >= 5 && memcmp(data + i - 5, "%%EOF", 5) == 0;
}

#endif
