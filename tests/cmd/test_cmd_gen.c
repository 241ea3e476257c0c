/*
 * test_cmd_gen.c — the synthetic event generator: determinism, every line a
 * valid docs/events.md event in time order, a consistent ledger, the statistics it
 * reports, the window, progress output, and write and parameter errors.
 *
 * Each line is parsed with Jansson and checked independently of the
 * generator's code: required fields by type, amounts at exactly the
 * currency's digits, references to documents already issued, and per
 * document ledgers (an invoice never reduced below zero, a payment never
 * applied or refunded beyond what it received, a bill never overpaid).
 */
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_gen.h"
#include "kpi_date.h"
#include "kpi_fx.h"
#include "kpi_event.h"
#include "kpi_money.h"
#include "test.h"

/* The output of one run, held in memory. */
typedef struct run {
    char *buf;
    size_t len;
    cmd_gen_stats_t st;
    err_t e;
} run_t;

static run_t gen(uint64_t invoices, uint64_t seed, int32_t start_day, int32_t days)
{
    run_t r = {0};
    cmd_gen_opts_t o;
    cmd_gen_opts_default(&o);
    o.invoices = invoices;
    o.seed = seed;
    if (days > 0) {
        o.start_day = start_day;
        o.days = days;
    }
    FILE *f = open_memstream(&r.buf, &r.len);
    REQUIRE(f != NULL);
    err_msg_t msg = {{0}};
    r.e = cmd_gen_run(&o, f, NULL, &r.st, &msg);
    REQUIRE(fclose(f) == 0);
    if (r.e)
        fprintf(stderr, "    cmd_gen_run: %s\n", err_msg_or(&msg, r.e));
    return r;
}

static void run_free(run_t *r)
{
    free(r->buf);
    r->buf = NULL;
}

static void test_defaults(void)
{
    cmd_gen_opts_t o;
    cmd_gen_opts_default(&o);
    CHECK_INT(1000, o.invoices);
    CHECK_INT(1, o.seed);
    CHECK_INT(kpi_days_from_civil(2024, 1, 1), o.start_day);
    CHECK_INT(730, o.days);
    CHECK(!o.progress);
}

static void test_deterministic(void)
{
    run_t a = gen(1000, 7, 0, 0), b = gen(1000, 7, 0, 0), c = gen(1000, 8, 0, 0);
    CHECK_ERR(ERR_OK, a.e);
    CHECK(a.len > 0);
    CHECK_INT(a.len, b.len);
    CHECK(a.len == b.len && memcmp(a.buf, b.buf, a.len) == 0);
    CHECK(a.len != c.len || memcmp(a.buf, c.buf, a.len) != 0);
    CHECK(memcmp(&a.st, &b.st, sizeof a.st) == 0);
    run_free(&a);
    run_free(&b);
    run_free(&c);
}

/* ---- one line against docs/events.md --------------------------------------------- */

/* Per-document state, indexed by the number after "<PREFIX><seed>-". */
typedef struct inv_state {
    bool issued;
    char cur[4];
    int64_t gross;   /* amount + adjustments */
    int64_t reduced; /* applied + credited + written off */
} inv_state_t;

typedef struct pay_state {
    bool received;
    char cur[4];
    int64_t amount;
    int64_t used; /* applied + refunded */
} pay_state_t;

typedef struct bill_state {
    bool received, processed;
    int64_t amount, paid;
} bill_state_t;

typedef struct book {
    uint64_t seed;
    const char *label; /* which run, for failure messages */
    size_t cap;        /* entries of each array */
    inv_state_t *inv;
    pay_state_t *pay;
    bill_state_t *bill;
    uint64_t by_type[KPI_EV_COUNT];
    uint64_t rates; /* fx.rate lines */
    uint64_t lines, bytes;
    int64_t last_t;
    int32_t first_day, end_day; /* window: every event's UTC day is in [first, end) */
    uint64_t multi_apply;       /* payments applied to more than one invoice */
    uint64_t *pay_apps;         /* applications per payment */
    uint64_t failures;          /* lines with at least one failed check */
    bool inv_issued_any;        /* an invoice.issued was seen */
} book_t;

static const char *str_field(json_t *ev, const char *key)
{
    json_t *v = json_object_get(ev, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The number of a document "<prefix><seed>-<n>", 0 if it has another shape. */
static size_t doc_no(const book_t *bk, const char *s, const char *prefix)
{
    char want[64];
    snprintf(want, sizeof want, "%s%llu-", prefix, (unsigned long long)bk->seed);
    size_t n = strlen(want);
    if (s == NULL || strncmp(s, want, n) != 0 || s[n] < '0' || s[n] > '9')
        return 0;
    char *end = NULL;
    errno = 0;
    unsigned long long v = strtoull(s + n, &end, 10);
    if (*end != '\0' || errno != 0 || v >= bk->cap)
        return 0;
    return (size_t)v;
}

/*
 * The amount of ev: a string with exactly the currency's digits (as kpid
 * prints it), in range of sign. Returns false and says why otherwise.
 */
static bool amount_of(json_t *ev, const char *cur, bool may_be_negative, bool may_be_zero,
                      int64_t *out, const char **why)
{
    const char *s = str_field(ev, "amount");
    int digits = -1;
    if (s == NULL) {
        *why = "amount missing or not a string";
        return false;
    }
    if (cur == NULL || kpi_currency_digits(cur, &digits) != ERR_OK) {
        *why = "amount without a known currency";
        return false;
    }
    if (kpi_amount_parse(s, strlen(s), digits, out) != ERR_OK) {
        *why = "amount does not parse";
        return false;
    }
    char canon[KPI_AMOUNT_BUF];
    if (strcmp(kpi_amount_format(*out, digits, canon), s) != 0) {
        *why = "amount not written with exactly the currency's digits";
        return false;
    }
    if ((*out < 0 && !may_be_negative) || (*out == 0 && !may_be_zero)) {
        *why = "amount sign not allowed";
        return false;
    }
    return true;
}

/* Check one event; returns NULL when valid, else what is wrong. */
static const char *check_event(book_t *bk, json_t *ev, kpi_ev_type_t *type_out)
{
    static const char *const reasons[] = {"invoice.adjusted", "invoice.written_off",
                                          "credit.hold_set",  "credit.hold_released",
                                          "bill.rejected",    "bill.escalated"};
    if (!json_is_object(ev))
        return "not a JSON object";
    const char *id = str_field(ev, "id"), *ty = str_field(ev, "type"), *tm = str_field(ev, "time");
    bool is_rate = ty != NULL && strcmp(ty, "fx.rate") == 0;
    if (is_rate && str_field(ev, "date") != NULL)
        tm = str_field(ev, "date"); /* a rate is for a day */
    if (id == NULL || ty == NULL || tm == NULL)
        return "id, type or time missing";
    /* Ids are "g<seed>-<line number>": unique and stable by construction, checked here. */
    char want[64];
    snprintf(want, sizeof want, "g%llu-%llu", (unsigned long long)bk->seed,
             (unsigned long long)bk->lines);
    if (strcmp(id, want) != 0)
        return "id is not g<seed>-<line number>";
    kpi_ev_type_t t;
    if (kpi_ev_type_parse(ty, strlen(ty), &t) != ERR_OK)
        return "unknown type";
    *type_out = t;
    int64_t ts;
    int32_t rate_day;
    if (is_rate) {
        if (kpi_date_parse(tm, strlen(tm), &rate_day) != ERR_OK)
            return "date is not a date";
        ts = kpi_day_start_utc(rate_day); /* the demo's zone is UTC */
    } else if (kpi_time_parse_rfc3339(tm, strlen(tm), &ts) != ERR_OK) {
        return "time is not RFC 3339 with an offset";
    }
    if (ts < bk->last_t)
        return "time goes backwards";
    bk->last_t = ts;
    int32_t day = kpi_utc_day(ts);
    if (day < bk->first_day || day >= bk->end_day)
        return "time outside the window";
    if (is_rate) {
        const char *cur = str_field(ev, "currency"), *rate = str_field(ev, "rate");
        int64_t r;
        int dg;
        if (cur == NULL || strcmp(cur, "USD") == 0 || kpi_currency_digits(cur, &dg) != ERR_OK)
            return "a rate of no currency, or of the base currency";
        if (rate == NULL || kpi_rate_parse(rate, strlen(rate), &r) != ERR_OK)
            return "a rate that is not a decimal > 0";
        bk->rates++;
        return NULL;
    }
    if (str_field(ev, "business_unit") == NULL)
        return "business_unit missing";
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (strcmp(ty, reasons[i]) == 0 && str_field(ev, "reason") == NULL)
            return "reason missing";

    const char *cur = str_field(ev, "currency");
    const char *why = NULL;
    int64_t amt = 0;
    bool ar_party = t == KPI_EV_INVOICE_ISSUED || t == KPI_EV_CREDIT_NOTE_ISSUED ||
                    t == KPI_EV_PAYMENT_RECEIVED || t == KPI_EV_CREDIT_LIMIT_SET ||
                    t == KPI_EV_CREDIT_HOLD_SET || t == KPI_EV_CREDIT_HOLD_RELEASED ||
                    t == KPI_EV_INQUIRY_OPENED || t == KPI_EV_INQUIRY_RESOLVED ||
                    t == KPI_EV_CUSTOMER_UPDATED;
    if (ar_party && str_field(ev, "customer") == NULL)
        return "customer missing";
    if (kpi_ev_is_payable(t) && str_field(ev, "vendor") == NULL)
        return "vendor missing";

    size_t in = 0, pn = 0, bn = 0;
    const char *inv_s = str_field(ev, "invoice");
    if (inv_s != NULL) {
        in = doc_no(bk, inv_s, "INV");
        if (in == 0)
            return "invoice number of an unexpected shape";
        if (t != KPI_EV_INVOICE_ISSUED && !bk->inv[in].issued)
            return "refers to an invoice not issued before";
        if (t != KPI_EV_INVOICE_ISSUED && cur != NULL && strcmp(cur, bk->inv[in].cur) != 0)
            return "movement in another currency than its invoice";
    }
    const char *pay_s = str_field(ev, "payment");
    if (pay_s != NULL) {
        pn = doc_no(bk, pay_s, "PAY");
        if (pn == 0)
            return "payment number of an unexpected shape";
        if (t != KPI_EV_PAYMENT_RECEIVED && !bk->pay[pn].received)
            return "refers to a payment not received before";
    }
    if (t >= KPI_EV_BILL_RECEIVED && t <= KPI_EV_BILL_PAID) {
        bn = doc_no(bk, str_field(ev, "bill"), "BILL");
        if (bn == 0)
            return "bill missing or of an unexpected shape";
        if (t != KPI_EV_BILL_RECEIVED && !bk->bill[bn].received)
            return "refers to a bill not received before";
    }

    switch (t) {
    case KPI_EV_INVOICE_ISSUED: {
        inv_state_t *s = &bk->inv[in];
        if (s->issued)
            return "invoice issued twice";
        if (!amount_of(ev, cur, false, false, &amt, &why))
            return why;
        json_t *terms = json_object_get(ev, "terms_days");
        const char *due = str_field(ev, "due_date"), *bd = str_field(ev, "billing_due");
        int32_t d;
        if (terms != NULL ? !json_is_integer(terms) || json_integer_value(terms) < 0
                          : due == NULL || kpi_date_parse(due, strlen(due), &d) != ERR_OK)
            return "neither terms_days nor a due_date";
        if (bd != NULL && kpi_date_parse(bd, strlen(bd), &d) != ERR_OK)
            return "billing_due is not a date";
        s->issued = true;
        bk->inv_issued_any = true;
        memcpy(s->cur, cur, 4);
        s->gross = amt;
        break;
    }
    case KPI_EV_INVOICE_REVIEWED: {
        const char *res = str_field(ev, "result");
        if (in == 0 || res == NULL || (strcmp(res, "pass") != 0 && strcmp(res, "fail") != 0))
            return "review without invoice or pass/fail result";
        break;
    }
    case KPI_EV_INVOICE_ADJUSTED:
        if (in == 0 || !amount_of(ev, cur, true, false, &amt, &why))
            return in == 0 ? "invoice missing" : why;
        /* A debit after a reduction could let an application exceed the open amount. */
        if (amt > 0 && bk->inv[in].reduced > 0)
            return "debit adjustment after a reduction";
        bk->inv[in].gross += amt;
        if (bk->inv[in].gross <= 0)
            return "adjusted below zero";
        break;
    case KPI_EV_CREDIT_NOTE_ISSUED:
    case KPI_EV_INVOICE_WRITTEN_OFF:
    case KPI_EV_PAYMENT_APPLIED:
        if (str_field(ev, t == KPI_EV_CREDIT_NOTE_ISSUED ? "credit_note" : "invoice") == NULL)
            return "document missing";
        if (!amount_of(ev, cur, false, false, &amt, &why))
            return why;
        if (t == KPI_EV_PAYMENT_APPLIED) {
            pay_state_t *p = &bk->pay[pn];
            if (pn == 0)
                return "payment missing";
            p->used += amt;
            if (p->used > p->amount)
                return "payment applied/refunded beyond what was received";
            if (++bk->pay_apps[pn] == 2)
                bk->multi_apply++;
        }
        if (in != 0) {
            bk->inv[in].reduced += amt;
            if (bk->inv[in].reduced > bk->inv[in].gross)
                return "invoice reduced below zero";
        }
        break;
    case KPI_EV_PAYMENT_RECEIVED: {
        static const char *const methods[] = {"check", "eft", "wire", "card", "other"};
        const char *m = str_field(ev, "method");
        bool ok = false;
        for (size_t i = 0; m != NULL && i < 5; i++)
            ok = ok || strcmp(m, methods[i]) == 0;
        if (!ok)
            return "method missing or unknown";
        if (pn == 0 || bk->pay[pn].received)
            return "payment missing or received twice";
        if (!amount_of(ev, cur, false, false, &amt, &why))
            return why;
        bk->pay[pn].received = true;
        memcpy(bk->pay[pn].cur, cur, 4);
        bk->pay[pn].amount = amt;
        break;
    }
    case KPI_EV_PAYMENT_REFUNDED:
        if (pn == 0 || !amount_of(ev, cur, false, false, &amt, &why))
            return pn == 0 ? "payment missing" : why;
        bk->pay[pn].used += amt;
        if (bk->pay[pn].used > bk->pay[pn].amount)
            return "refund beyond unapplied cash";
        break;
    case KPI_EV_DISPUTE_OPENED:
    case KPI_EV_DISPUTE_RESOLVED:
        if (in == 0 || str_field(ev, "dispute") == NULL)
            return "dispute or invoice missing";
        if (str_field(ev, t == KPI_EV_DISPUTE_OPENED ? "reason" : "resolution") == NULL)
            return "reason/resolution missing";
        if (json_object_get(ev, "amount") != NULL && !amount_of(ev, cur, false, true, &amt, &why))
            return why;
        break;
    case KPI_EV_CREDIT_LIMIT_SET:
        if (!amount_of(ev, cur, false, true, &amt, &why))
            return why;
        break;
    case KPI_EV_CREDIT_HOLD_SET:
    case KPI_EV_CREDIT_HOLD_RELEASED: break;
    case KPI_EV_FX_RATE: return "a rate checked as a document event"; /* returned above */
    case KPI_EV_CUSTOMER_UPDATED:
    case KPI_EV_VENDOR_UPDATED: {
        /* Master data: a name, a country code, a segment; before any document. */
        const char *nm = str_field(ev, "name"), *cc = str_field(ev, "country");
        if (nm == NULL || nm[0] == '\0' || strchr(nm, '"') != NULL)
            return "a profile without a name";
        if (cc == NULL || strlen(cc) != 2 || str_field(ev, "segment") == NULL)
            return "a profile without a country or segment";
        if (bk->inv_issued_any)
            return "a profile after the first invoice";
        break;
    }
    case KPI_EV_INQUIRY_OPENED:
    case KPI_EV_INQUIRY_RESOLVED:
        if (str_field(ev, "inquiry") == NULL)
            return "inquiry missing";
        break;
    case KPI_EV_BILL_RECEIVED: {
        bill_state_t *b = &bk->bill[bn];
        json_t *terms = json_object_get(ev, "terms_days");
        if (b->received)
            return "bill received twice";
        if (terms == NULL && str_field(ev, "due_date") == NULL)
            return "neither terms_days nor a due_date";
        if (!amount_of(ev, cur, false, false, &amt, &why))
            return why;
        b->received = true;
        b->amount = amt;
        break;
    }
    case KPI_EV_BILL_PROCESSED: bk->bill[bn].processed = true; break;
    case KPI_EV_BILL_PAID:
        if (!amount_of(ev, cur, false, false, &amt, &why))
            return why;
        if (!bk->bill[bn].processed)
            return "bill paid before it was processed";
        bk->bill[bn].paid += amt;
        if (bk->bill[bn].paid > bk->bill[bn].amount)
            return "bill paid beyond its amount";
        break;
    case KPI_EV_BILL_REJECTED:
    case KPI_EV_BILL_ESCALATED: break;
    case KPI_EV_NONE:
    case KPI_EV_COUNT: return "impossible type";
    }
    return NULL;
}

/* Parse and check every line of r; fills bk. */
static void check_run(const run_t *r, uint64_t seed, uint64_t invoices, int32_t first_day,
                      int32_t days, const char *label, book_t *bk)
{
    memset(bk, 0, sizeof *bk);
    bk->seed = seed;
    bk->label = label;
    bk->cap = (size_t)(r->st.events + invoices + 2);
    bk->inv = calloc(bk->cap, sizeof *bk->inv);
    bk->pay = calloc(bk->cap, sizeof *bk->pay);
    bk->bill = calloc(bk->cap, sizeof *bk->bill);
    bk->pay_apps = calloc(bk->cap, sizeof *bk->pay_apps);
    REQUIRE(bk->inv && bk->pay && bk->bill && bk->pay_apps);
    bk->last_t = INT64_MIN;
    bk->first_day = first_day;
    bk->end_day = first_day + days;
    size_t pos = 0;
    while (pos < r->len) {
        const char *nl = memchr(r->buf + pos, '\n', r->len - pos);
        if (nl == NULL) {
            CHECK_MSG(nl != NULL, "%s: output does not end with a newline", label);
            break;
        }
        size_t n = (size_t)(nl - (r->buf + pos));
        bk->lines++;
        bk->bytes += n + 1;
        json_error_t jerr;
        json_t *ev = json_loadb(r->buf + pos, n, 0, &jerr);
        kpi_ev_type_t t = KPI_EV_NONE;
        const char *why = ev == NULL ? jerr.text : check_event(bk, ev, &t);
        if (why != NULL && bk->failures++ < 5)
            CHECK_MSG(why == NULL, "%s line %llu: %s: %.*s", label, (unsigned long long)bk->lines,
                      why, (int)n, r->buf + pos);
        bk->by_type[t]++;
        json_decref(ev);
        pos += n + 1;
    }
    CHECK_MSG(bk->failures == 0, "%s: %llu invalid lines", label, (unsigned long long)bk->failures);
    /* The statistics describe exactly what was written. */
    CHECK_INT(bk->lines, r->st.events);
    CHECK_INT(bk->bytes, r->st.bytes);
    CHECK_INT(r->len, r->st.bytes);
    for (int t = 0; t < KPI_EV_COUNT; t++)
        CHECK_MSG(bk->by_type[t] == r->st.by_type[t], "%s %s: counted %llu, stats %llu", label,
                  kpi_ev_type_name((kpi_ev_type_t)t), (unsigned long long)bk->by_type[t],
                  (unsigned long long)r->st.by_type[t]);
    CHECK_INT(invoices, r->st.invoices);
    CHECK_INT(invoices, bk->by_type[KPI_EV_INVOICE_ISSUED]);
    CHECK_INT(bk->by_type[KPI_EV_BILL_RECEIVED], r->st.bills);
}

static void book_free(book_t *bk)
{
    free(bk->inv);
    free(bk->pay);
    free(bk->bill);
    free(bk->pay_apps);
}

static void test_valid_events_and_ledger(void)
{
    const int32_t y2024 = kpi_days_from_civil(2024, 1, 1);
    /* Days before 1970 are negative: the time and weekday arithmetic must not care. */
    const int32_t y1969 = kpi_days_from_civil(1969, 6, 1);
    const struct {
        uint64_t invoices, seed;
        int32_t start, days;
    } rows[] = {{1000, 1, y2024, 730},  {1000, 2, y2024, 730},     {1000, 99, y2024, 730},
                {5000, 42, y2024, 730}, {3000, 5, y2024, 120},     {1000, 0, y2024, 365},
                {1000, 6, y1969, 730},  {200, 123456789, y2024, 3}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const int32_t start = rows[i].start;
        char label[96];
        snprintf(label, sizeof label, "N=%llu seed=%llu days=%d",
                 (unsigned long long)rows[i].invoices, (unsigned long long)rows[i].seed,
                 (int)rows[i].days);
        test_current_ = label;
        run_t r = gen(rows[i].invoices, rows[i].seed, start, rows[i].days);
        CHECK_ERR(ERR_OK, r.e);
        book_t bk;
        check_run(&r, rows[i].seed, rows[i].invoices, start, rows[i].days, label, &bk);
        /* A full two-year book shows every event type and the shapes KPIs need. */
        if (rows[i].days == 730) {
            for (int t = KPI_EV_NONE + 1; t < KPI_EV_COUNT; t++)
                CHECK_MSG(bk.by_type[t] > 0, "%s: no %s", label,
                          kpi_ev_type_name((kpi_ev_type_t)t));
            CHECK_MSG(bk.multi_apply > 0, "%s: no payment covers several invoices", label);
            /* Four currencies besides USD, on the first day and each weekday. */
            CHECK_MSG(bk.rates == bk.by_type[KPI_EV_FX_RATE] && bk.rates >= 4 * 520 &&
                          bk.rates <= 4 * 524,
                      "%s: %llu rates", label, (unsigned long long)bk.rates);
            uint64_t bills = bk.by_type[KPI_EV_BILL_RECEIVED];
            CHECK_MSG(bills >= rows[i].invoices / 4 && bills <= rows[i].invoices / 3,
                      "%s: %llu bills", label, (unsigned long long)bills);
        }
        book_free(&bk);
        run_free(&r);
    }
}

/* Some invoices stay open at the end of the window: a live book, not a closed one. */
static void test_live_book(void)
{
    run_t r = gen(2000, 3, 0, 0);
    CHECK_ERR(ERR_OK, r.e);
    book_t bk;
    check_run(&r, 3, 2000, kpi_days_from_civil(2024, 1, 1), 730, "live", &bk);
    size_t open = 0, settled = 0;
    for (size_t i = 1; i < bk.cap; i++) {
        if (!bk.inv[i].issued)
            continue;
        if (bk.inv[i].reduced < bk.inv[i].gross)
            open++;
        else
            settled++;
    }
    CHECK_MSG(open > 20 && settled > open * 5, "open %zu settled %zu", open, settled);
    book_free(&bk);
    run_free(&r);
}

static void test_progress_line(void)
{
    cmd_gen_opts_t o;
    cmd_gen_opts_default(&o);
    o.invoices = 1500;
    o.progress = true;
    char *pbuf = NULL, *obuf = NULL;
    size_t plen = 0, olen = 0;
    FILE *pf = open_memstream(&pbuf, &plen), *of = open_memstream(&obuf, &olen);
    REQUIRE(pf != NULL && of != NULL);
    CHECK_ERR(ERR_OK, cmd_gen_run(&o, of, pf, NULL, NULL));
    REQUIRE(fclose(pf) == 0 && fclose(of) == 0);
    CHECK(plen > 0 && pbuf[0] == '\r');
    const char *tail = "1500/1500 invoices (100%)\n";
    CHECK(plen >= strlen(tail) && strcmp(pbuf + plen - strlen(tail), tail) == 0);
    /* The progress line never leaks into the events, and does not change them. */
    run_t plain = gen(1500, 1, 0, 0);
    CHECK(plain.len == olen && memcmp(plain.buf, obuf, olen) == 0);
    run_free(&plain);
    free(pbuf);
    free(obuf);
}

static void test_write_error(void)
{
    /* /dev/full: every write fails with ENOSPC, as on a full disk. */
    FILE *f = fopen("/dev/full", "w");
    if (f == NULL) {
        test_skip("/dev/full not available: the write-error path is not exercised");
        return;
    }
    cmd_gen_opts_t o;
    cmd_gen_opts_default(&o);
    err_msg_t msg = {{0}};
    CHECK_ERR(ERR_IO, cmd_gen_run(&o, f, NULL, NULL, &msg));
    CHECK(strstr(msg.text, "writing events") != NULL);
    (void)fclose(f); /* fails too, for the same reason; already reported above */
}

static void test_bad_options(void)
{
    static const struct {
        uint64_t invoices;
        int32_t start_day, days;
    } rows[] = {
        {0, 19723, 730}, {10, 19723, 0}, {10, 19723, 40000}, {10, -30000, 730}, {10, 2932800, 730}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cmd_gen_opts_t o;
        cmd_gen_opts_default(&o);
        o.invoices = rows[i].invoices;
        o.start_day = rows[i].start_day;
        o.days = rows[i].days;
        char *buf = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&buf, &len);
        REQUIRE(f != NULL);
        err_msg_t msg = {{0}};
        err_t e = cmd_gen_run(&o, f, NULL, NULL, &msg);
        REQUIRE(fclose(f) == 0);
        CHECK_MSG(e == ERR_BAD_PARAM, "row %zu: got %s", i, err_code(e));
        CHECK_MSG(len == 0, "row %zu wrote %zu bytes", i, len);
        CHECK(msg.text[0] != '\0');
        free(buf);
    }
}

int main(void)
{
    RUN(test_defaults);
    RUN(test_deterministic);
    RUN(test_valid_events_and_ledger);
    RUN(test_live_book);
    RUN(test_progress_line);
    RUN(test_write_error);
    RUN(test_bad_options);
    return test_summary();
}
