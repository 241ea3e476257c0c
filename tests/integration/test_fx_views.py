"""The consolidated view (every book converted into one reporting currency)
in the worklists and /metrics: docs/worklists.md ("Every book at once") and
docs/metrics.md ("Every book, converted").

The book of test_fx.py (docs/kpi.md, "Reporting currency"), base USD, as of
2025-03-31, with one more overdue USD invoice and two payments:

  INV-U1  ACME  us    USD 1,000.00  due 2025-03-31  current (not overdue)
  INV-U2  Zed   us    USD   520.00  due 2025-03-01  30 days
  INV-E1  ACME  emea  EUR   500.00  due 2025-03-03  28 days
  INV-G1  Brit  emea  GBP   200.00  due 2024-12-31  90 days
  PAY-E1  ACME  emea  EUR   100.00  received 2025-03-10, unapplied
  PAY-U1  Zed   us    USD   105.00  received 2025-03-20, unapplied

  EUR 1.0825 dated 2025-03-28, GBP 1.2931 dated 2025-03-31

Overdue in USD (currency=*), each row converted on its own:
  INV-E1 500.00 x 1.0825 = 541.25;  INV-U2 520.00;  INV-G1 200.00 x 1.2931 = 258.62
  total 1,319.87; -amount: E1, U2, G1 (by the original amounts: U2, E1, G1)
In EUR (reporting_currency=EUR):
  INV-U2 520.00 / 1.0825 = 480.3695.. -> 480.37
  INV-G1 200.00 x 1.2931 / 1.0825 = 238.9099.. -> 238.91;  INV-E1 500.00
  total 1,219.28
Unapplied in USD: PAY-E1 100.00 x 1.0825 = 108.25, PAY-U1 105.00: 213.25;
  -amount: PAY-E1 first (by the original amounts PAY-U1 would be).
"""
import csv
import io
import json
import re
import unittest
import zipfile

import kpidtest
from kpidtest import ServerTest, ndjson

BOOK = [
    {"id": "i1", "type": "invoice.issued", "time": "2025-03-01", "invoice": "INV-U1",
     "customer": "ACME", "amount": "1000.00", "terms_days": 30, "business_unit": "us"},
    {"id": "i2", "type": "invoice.issued", "time": "2025-02-01", "invoice": "INV-E1",
     "customer": "ACME", "amount": "500.00", "currency": "EUR", "terms_days": 30,
     "business_unit": "emea"},
    {"id": "i3", "type": "invoice.issued", "time": "2024-12-01", "invoice": "INV-G1",
     "customer": "Brit", "amount": "200.00", "currency": "GBP", "terms_days": 30,
     "business_unit": "emea"},
    {"id": "i4", "type": "invoice.issued", "time": "2025-01-30", "invoice": "INV-U2",
     "customer": "Zed", "amount": "520.00", "terms_days": 30, "business_unit": "us"},
    {"id": "p1", "type": "payment.received", "time": "2025-03-10", "payment": "PAY-E1",
     "customer": "ACME", "amount": "100.00", "currency": "EUR", "method": "wire",
     "business_unit": "emea"},
    {"id": "p2", "type": "payment.received", "time": "2025-03-20", "payment": "PAY-U1",
     "customer": "Zed", "amount": "105.00", "method": "eft", "business_unit": "us"},
]
RATES = [
    {"id": "r1", "type": "fx.rate", "date": "2025-03-28", "currency": "EUR", "rate": "1.0825"},
    {"id": "r2", "type": "fx.rate", "date": "2025-03-31", "currency": "GBP", "rate": "1.2931"},
]
AS_OF = "as_of=2025-03-31"


def rows(page, *fields):
    return [tuple(r[f] for f in fields) for r in page["items"]]


class Base(ServerTest):
    def post(self, events):
        st, res, _ = self.srv.post("/v1/events", ndjson(events), ctype="application/x-ndjson")
        self.assertEqual((st, res["rejected"]), (200, []), res)

    def get(self, path, status=200):
        st, res, raw = self.srv.get(path)
        self.assertEqual(st, status, (path, raw[:400]))
        return res

    def raw(self, path):
        st, _, raw = self.srv.get(path)
        self.assertEqual(st, 200, (path, raw[:400]))
        return raw


class WorklistFxTest(Base):
    def setUp(self):
        super().setUp()
        self.post(BOOK + RATES)

    def test_overdue_rows_are_converted(self):
        w = self.get("/v1/worklists/overdue?%s&currency=*" % AS_OF)
        self.assertEqual(w["currency"], "USD")
        self.assertEqual(rows(w, "invoice", "currency", "open", "open_reporting", "days_past_due"),
                         [("INV-G1", "GBP", "200.00", "258.62", 90),
                          ("INV-U2", "USD", "520.00", "520.00", 30),
                          ("INV-E1", "EUR", "500.00", "541.25", 28)])
        self.assertEqual(w["total"], {"amount": "1319.87", "count": 3})
        self.assertEqual([(b["currency"], b["rate"], b["rate_date"], b["total"]) for b in w["books"]],
                         [("EUR", "1.0825", "2025-03-28", {"amount": "500.00", "count": 1}),
                          ("GBP", "1.2931", "2025-03-31", {"amount": "200.00", "count": 1}),
                          ("USD", "1", None, {"amount": "520.00", "count": 1})])
        # The same total as the consolidated aging's overdue part here (one
        # invoice per book and bucket: the same roundings).
        ag = self.get("/v1/aging?%s&currency=*" % AS_OF)
        overdue = sum(int(b["amount"].replace(".", "")) for b in ag["buckets"]
                      if b["label"] != "current")
        self.assertEqual(overdue, 131987)
        # Into EUR: one rounding per row.
        e = self.get("/v1/worklists/overdue?%s&reporting_currency=EUR" % AS_OF)
        self.assertEqual(e["currency"], "EUR")
        self.assertEqual(rows(e, "invoice", "open_reporting"),
                         [("INV-G1", "238.91"), ("INV-U2", "480.37"), ("INV-E1", "500.00")])
        self.assertEqual(e["total"]["amount"], "1219.28")
        # One book converted.
        g = self.get("/v1/worklists/overdue?%s&currency=GBP&reporting_currency=USD" % AS_OF)
        self.assertEqual(rows(g, "invoice", "open_reporting"), [("INV-G1", "258.62")])
        # The book view is unchanged: no converted field, no books.
        b = self.get("/v1/worklists/overdue?%s&currency=EUR" % AS_OF)
        self.assertEqual(rows(b, "invoice", "currency", "open"), [("INV-E1", "EUR", "500.00")])
        self.assertNotIn("open_reporting", b["items"][0])
        self.assertNotIn("books", b)

    def test_sort_by_converted_amount(self):
        w = self.get("/v1/worklists/overdue?%s&currency=*&sort=-amount" % AS_OF)
        self.assertEqual([r["invoice"] for r in w["items"]], ["INV-E1", "INV-U2", "INV-G1"])
        # Paging follows the same order, one row a page.
        seen, cur = [], None
        while True:
            q = "/v1/worklists/overdue?%s&currency=*&sort=-amount&limit=1" % AS_OF
            page = self.get(q + ("&cursor=" + cur if cur else ""))
            seen += [r["invoice"] for r in page["items"]]
            cur = page["next_cursor"]
            if cur is None:
                break
        self.assertEqual(seen, ["INV-E1", "INV-U2", "INV-G1"])
        # A cursor of the converted list is not one of a book's (its amounts
        # are converted), nor the other way round.
        first = self.get("/v1/worklists/overdue?%s&currency=*&sort=-amount&limit=1" % AS_OF)
        err = self.get("/v1/worklists/overdue?%s&sort=-amount&cursor=%s"
                       % (AS_OF, first["next_cursor"]), 400)
        self.assertIn("made for every book converted", err["error"]["message"])
        book = self.get("/v1/worklists/overdue?as_of=2025-04-30&currency=USD&limit=1")
        err = self.get("/v1/worklists/overdue?as_of=2025-04-30&currency=*&cursor=%s"
                       % book["next_cursor"], 400)
        self.assertIn("made for one book", err["error"]["message"])
        u = self.get("/v1/worklists/unapplied?%s&currency=*&sort=-amount" % AS_OF)
        self.assertEqual(rows(u, "payment", "currency", "unapplied", "unapplied_reporting"),
                         [("PAY-E1", "EUR", "100.00", "108.25"),
                          ("PAY-U1", "USD", "105.00", "105.00")])
        self.assertEqual(u["total"], {"amount": "213.25", "count": 2})
        # It equals the consolidated aging's unapplied cash.
        ag = self.get("/v1/aging?%s&currency=*" % AS_OF)
        self.assertEqual(ag["unapplied_cash"], "213.25")

    def test_csv_and_xlsx_have_the_converted_column(self):
        raw = self.raw("/v1/worklists/overdue?%s&currency=*&sort=-amount&format=csv" % AS_OF)
        lines = list(csv.reader(io.StringIO(raw.decode())))
        head = lines[0]
        self.assertEqual(head[:5], ["invoice", "customer", "customer_name", "business_unit",
                                    "currency"])
        self.assertIn("open_reporting", head)
        self.assertEqual(head[head.index("open_reporting") + 1], "reporting_currency")
        col = {h: i for i, h in enumerate(head)}
        self.assertEqual([(l[col["invoice"]], l[col["currency"]], l[col["open"]],
                           l[col["open_reporting"]], l[col["reporting_currency"]])
                          for l in lines[1:]],
                         [("INV-E1", "EUR", "500.00", "541.25", "USD"),
                          ("INV-U2", "USD", "520.00", "520.00", "USD"),
                          ("INV-G1", "GBP", "200.00", "258.62", "USD")])
        raw = self.raw("/v1/worklists/unapplied?%s&currency=*&format=csv" % AS_OF)
        lines = list(csv.reader(io.StringIO(raw.decode())))
        self.assertEqual(lines[0][-3:], ["unapplied", "unapplied_reporting", "reporting_currency"])
        self.assertEqual(sorted((l[0], l[-2]) for l in lines[1:]),
                         [("PAY-E1", "108.25"), ("PAY-U1", "105.00")])
        # The book's CSV keeps its columns.
        raw = self.raw("/v1/worklists/overdue?%s&currency=EUR&format=csv" % AS_OF)
        self.assertNotIn(b"open_reporting", raw.split(b"\r\n")[0])
        st, _, raw = self.srv.get("/v1/worklists/overdue?%s&currency=*&format=xlsx" % AS_OF)
        self.assertEqual(st, 200)
        sheet = zipfile.ZipFile(io.BytesIO(raw)).read("xl/worksheets/sheet1.xml")
        self.assertIn(b"open_reporting", sheet)
        self.assertIn(b"541.25", sheet)  # typed as a number: <v>541.25</v>

    def test_no_rate(self):
        # As of 03-30 there is no GBP rate, and INV-G1 is open: 422.
        err = self.get("/v1/worklists/overdue?as_of=2025-03-30&currency=*", 422)
        self.assertEqual(err["error"]["code"], "no_rate")
        self.assertIn("GBP", err["error"]["message"])
        self.assertIn("2025-03-30", err["error"]["message"])
        # A book with no rows needs no rate: no GBP payment is unapplied.
        u = self.get("/v1/worklists/unapplied?as_of=2025-03-30&currency=*")
        self.assertEqual(u["total"], {"amount": "213.25", "count": 2})
        # Nor does a list that leaves the book out (emea's GBP is not us').
        self.get("/v1/worklists/overdue?as_of=2025-03-30&currency=*&business_unit=us")
        # A reporting currency without a rate.
        err = self.get("/v1/worklists/overdue?%s&reporting_currency=CHF" % AS_OF, 422)
        self.assertEqual(err["error"]["code"], "no_rate")

    def test_scope(self):
        w = self.get("/v1/worklists/overdue?%s&currency=*&business_unit=emea" % AS_OF)
        self.assertEqual(rows(w, "invoice", "open_reporting"),
                         [("INV-G1", "258.62"), ("INV-E1", "541.25")])
        self.assertEqual(w["total"]["amount"], "799.87")
        c = self.get("/v1/worklists/overdue?%s&currency=*&customer=ACME" % AS_OF)
        self.assertEqual(rows(c, "invoice"), [("INV-E1",)])
        self.assertEqual(c["items"][0]["last_payment"], {"date": "2025-03-10", "amount": "100.00"})
        # An unknown unit lists the units of every book.
        err = self.get("/v1/worklists/overdue?%s&currency=*&business_unit=emae" % AS_OF, 404)
        self.assertEqual(err["error"]["message"],
                         "unknown business unit 'emae' (did you mean 'emea'?); known business "
                         "units: emea, us (names are case-sensitive)")
        err = self.get("/v1/worklists/unapplied?%s&currency=*&business_unit=nowhere" % AS_OF, 404)
        self.assertIn("known business units: emea, us", err["error"]["message"])
        # A currency that is not one, or not in the store.
        err = self.get("/v1/worklists/overdue?currency=EURO", 400)
        self.assertIn("currencies with data: EUR, GBP, USD", err["error"]["message"])
        err = self.get("/v1/worklists/unapplied?currency=CHF", 400)
        self.assertIn("the store has no documents in CHF", err["error"]["message"])
        # The counting lists have no consolidated view.
        err = self.get("/v1/worklists/quality?currency=*", 400)
        self.assertIn("every book converted", err["error"]["message"])


def scrape_family(text, name):
    """{labels dict as a sorted tuple: value} of one metric of a scrape."""
    out = {}
    for line in text.splitlines():
        m = re.match(r'([a-z_]+)(\{(.*)\})? (\S+)$', line)
        if m and m.group(1) == name:
            labels = tuple(sorted(re.findall(r'([a-z_]+)="([^"]*)"', m.group(3) or "")))
            out[labels] = m.group(4)
    return out


class MetricsFxTest(Base):
    def scrape(self):
        st, _, raw = self.srv.get("/metrics")
        self.assertEqual(st, 200, raw)
        return raw.decode()

    def test_consolidated_series(self):
        # Without rates: no consolidated series, no missing-rate gauge.
        self.post(BOOK)
        text = self.scrape()
        self.assertEqual([l for l in text.splitlines()
                          if 'currency="*"' in l and not l.startswith("#")], [])
        self.assertEqual(scrape_family(text, "kpid_fx_missing_rate"), {})
        self.post(RATES)
        text = self.scrape()
        today = re.search(r'kpid_kpi_info\{as_of="([0-9-]+)"', text).group(1)
        amounts = scrape_family(text, "kpid_ar_open_amount")
        whole = {dict(k)["bucket"]: v for k, v in amounts.items()
                 if dict(k).get("currency") == "*" and "business_unit" not in dict(k)}
        ag = self.get("/v1/aging?as_of=%s&currency=*" % today)
        self.assertEqual(whole, {b["label"]: b["amount"] for b in ag["buckets"]})
        # Every invoice is long past due today: 1,000.00 + 520.00 + 541.25
        # (EUR at 1.0825) + 258.62 (GBP at 1.2931), the sum of the buckets.
        total = sum(int(v.replace(".", "")) for v in whole.values())
        self.assertEqual(total, int(ag["total"]["amount"].replace(".", "")))
        self.assertEqual(total, 231987)
        for k in amounts:
            if dict(k).get("currency") == "*":
                self.assertEqual(dict(k)["reporting_currency"], "USD")
        un = scrape_family(text, "kpid_ar_unapplied_cash_amount")
        self.assertEqual(un[(("currency", "*"), ("reporting_currency", "USD"))], "213.25")
        emea = {dict(k)["bucket"]: v for k, v in amounts.items()
                if dict(k).get("currency") == "*" and dict(k).get("business_unit") == "emea"}
        self.assertEqual(sum(int(v.replace(".", "")) for v in emea.values()), 79987)
        self.assertEqual(scrape_family(text, "kpid_fx_missing_rate"),
                         {(("currency", "EUR"),): "0", (("currency", "GBP"),): "0"})

    def test_missing_rate(self):
        # A CHF book without a rate: the whole book cannot be converted
        # (its series are left out, and the gauge says why); the units
        # without CHF still are. /metrics still answers.
        self.post(BOOK + RATES + [
            {"id": "c1", "type": "invoice.issued", "time": "2025-03-01", "invoice": "INV-C1",
             "customer": "Swiss", "amount": "300.00", "currency": "CHF", "terms_days": 30,
             "business_unit": "ch"}])
        text = self.scrape()
        self.assertEqual(scrape_family(text, "kpid_kpi_scrape_error"), {(): "0"})
        self.assertEqual(scrape_family(text, "kpid_fx_missing_rate"),
                         {(("currency", "CHF"),): "1", (("currency", "EUR"),): "0",
                          (("currency", "GBP"),): "0"})
        units = {dict(k).get("business_unit") for k in scrape_family(text, "kpid_ar_open_amount")
                 if dict(k).get("currency") == "*"}
        self.assertEqual(units, {"emea", "us"})
        # The CHF book's own series are there.
        self.assertIn((("bucket", "121+"), ("currency", "CHF")),
                      scrape_family(text, "kpid_ar_open_amount"))
        today = re.search(r'kpid_kpi_info\{as_of="([0-9-]+)"', text).group(1)
        self.assertEqual(self.get("/v1/aging?as_of=%s&currency=*" % today, 422)["error"]["code"],
                         "no_rate")
        # The rate arrives: the gauge drops to 0 and the whole book is back.
        self.post([{"id": "r9", "type": "fx.rate", "date": "2025-03-01", "currency": "CHF",
                    "rate": "1.10"}])
        text = self.scrape()
        self.assertEqual(scrape_family(text, "kpid_fx_missing_rate")[(("currency", "CHF"),)], "0")
        whole = [v for k, v in scrape_family(text, "kpid_ar_open_amount").items()
                 if dict(k).get("currency") == "*" and "business_unit" not in dict(k)]
        self.assertEqual(sum(int(v.replace(".", "")) for v in whole), 231987 + 33000)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
