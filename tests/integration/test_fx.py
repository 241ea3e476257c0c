"""Exchange rates and the reporting currency, end to end (issue 16).

The worked example of docs/kpi.md ("Reporting currency"), base USD, as of
2025-03-31, buckets 30/60/90/120 by due date:

  INV-U1  ACME  us    USD 1,000.00  due 2025-03-31   current
  INV-E1  ACME  emea  EUR   500.00  due 2025-03-03   1-30   (28 days)
  INV-G1  Brit  emea  GBP   200.00  due 2024-12-31   61-90  (90 days)

  EUR 1.0825 dated 2025-03-28, GBP 1.2931 dated 2025-03-31 (and GBP 1.30
  dated 2025-04-01, which an answer as of 03-31 must not use)

  in USD: 1,000.00 + 500.00 x 1.0825 + 200.00 x 1.2931
        = 1,000.00 + 541.25 + 258.62 = 1,799.87
  in EUR: 1,000.00 / 1.0825 = 923.787.. -> 923.79; 500.00;
          200.00 x 1.2931 / 1.0825 = 238.909.. -> 238.91;  total 1,662.70
"""
import json
import os
import shutil
import tempfile
import unittest

import kpidtest
from kpidtest import Server, ServerTest, ndjson, run_kpid

BOOK = [
    {"id": "i1", "type": "invoice.issued", "time": "2025-03-01", "invoice": "INV-U1",
     "customer": "ACME", "amount": "1000.00", "terms_days": 30, "business_unit": "us"},
    {"id": "i2", "type": "invoice.issued", "time": "2025-02-01", "invoice": "INV-E1",
     "customer": "ACME", "amount": "500.00", "currency": "EUR", "terms_days": 30,
     "business_unit": "emea"},
    {"id": "i3", "type": "invoice.issued", "time": "2024-12-01", "invoice": "INV-G1",
     "customer": "Brit", "amount": "200.00", "currency": "GBP", "terms_days": 30,
     "business_unit": "emea"},
]
RATES = [
    {"id": "r1", "type": "fx.rate", "date": "2025-03-28", "currency": "EUR", "rate": "1.0825",
     "source": "ECB"},
    {"id": "r2", "type": "fx.rate", "date": "2025-03-31", "currency": "GBP", "rate": "1.2931"},
    {"id": "r3", "type": "fx.rate", "date": "2025-04-01", "currency": "GBP", "rate": "1.30"},
]


def buckets(answer):
    return [(b["label"], b["amount"], b["count"]) for b in answer["buckets"]]


class FxTest(ServerTest):
    def post(self, events):
        st, res, _ = self.srv.post("/v1/events", ndjson(events), ctype="application/x-ndjson")
        self.assertEqual(st, 200, res)
        return res

    def aging(self, query, status=200):
        st, res, _ = self.srv.get("/v1/aging?" + query)
        self.assertEqual(st, status, res)
        return res

    def test_worked_example(self):
        self.post(BOOK + RATES)
        a = self.aging("as_of=2025-03-31&currency=*")
        self.assertEqual(a["currency"], "USD")
        self.assertEqual(buckets(a), [("current", "1000.00", 1), ("1-30", "541.25", 1),
                                      ("31-60", "0.00", 0), ("61-90", "258.62", 1),
                                      ("91-120", "0.00", 0), ("121+", "0.00", 0)])
        self.assertEqual(a["total"], {"amount": "1799.87", "count": 3})
        # Each book is there with its rate and its own amounts, unconverted.
        books = {b["currency"]: b for b in a["books"]}
        self.assertEqual(sorted(books), ["EUR", "GBP", "USD"])
        self.assertEqual((books["EUR"]["rate"], books["EUR"]["rate_date"]), ("1.0825", "2025-03-28"))
        self.assertEqual((books["GBP"]["rate"], books["GBP"]["rate_date"]), ("1.2931", "2025-03-31"))
        self.assertEqual((books["USD"]["rate"], books["USD"]["rate_date"]), ("1", None))
        self.assertEqual(books["EUR"]["total"], {"amount": "500.00", "count": 1})
        self.assertEqual(books["GBP"]["total"], {"amount": "200.00", "count": 1})
        # The book answers themselves are unchanged.
        self.assertEqual(self.aging("as_of=2025-03-31&currency=EUR")["total"]["amount"], "500.00")
        self.assertEqual(self.aging("as_of=2025-03-31")["total"]["amount"], "1000.00")

        # Into EUR: one rounding per book, the total is the sum.
        e = self.aging("as_of=2025-03-31&reporting_currency=EUR")
        self.assertEqual(e["currency"], "EUR")
        self.assertEqual(e["total"], {"amount": "1662.70", "count": 3})
        amounts = [b[1] for b in buckets(e)]
        self.assertEqual(amounts, ["923.79", "500.00", "0.00", "238.91", "0.00", "0.00"])
        # One book converted: reporting_currency with currency=GBP.
        g = self.aging("as_of=2025-03-31&currency=GBP&reporting_currency=USD")
        self.assertEqual(g["total"]["amount"], "258.62")
        self.assertEqual([b["currency"] for b in g["books"]], ["GBP"])

    def test_groups_merge_after_conversion(self):
        self.post(BOOK + RATES)
        a = self.aging("as_of=2025-03-31&currency=*&group_by=customer")
        self.assertEqual([(g["key"], g["total"]) for g in a["groups"]],
                         [("ACME", {"amount": "1541.25", "count": 2}),
                          ("Brit", {"amount": "258.62", "count": 1})])
        u = self.aging("as_of=2025-03-31&currency=*&group_by=business_unit")
        self.assertEqual([(g["key"], g["total"]["amount"]) for g in u["groups"]],
                         [("emea", "799.87"), ("us", "1000.00")])
        # The groups add up to the total.
        total = sum(int(g["total"]["amount"].replace(".", "")) for g in u["groups"])
        self.assertEqual(total, 179987)
        # A unit alone: only emea's books.
        emea = self.aging("as_of=2025-03-31&currency=*&business_unit=emea")
        self.assertEqual(emea["total"]["amount"], "799.87")
        self.assertEqual(sorted(b["currency"] for b in emea["books"]), ["EUR", "GBP"])

    def test_a_rate_counts_from_its_own_day(self):
        # The GBP rate of 04-01 arrived before the question; as of 03-31 the
        # 03-31 rate is used, as of 04-01 the new one.
        self.post(BOOK + RATES)
        self.assertEqual(self.aging("as_of=2025-04-01&currency=*")["total"]["amount"],
                         "1801.25")  # 1000 + 541.25 + 200 x 1.30 = 260.00
        # A rate for 03-31 sent later corrects that day only (the later one
        # stands); an answer as of 03-30 still has no GBP rate.
        self.post([{"id": "r4", "type": "fx.rate", "date": "2025-03-31", "currency": "GBP",
                    "rate": "1.25"}])
        self.assertEqual(self.aging("as_of=2025-03-31&currency=*")["total"]["amount"],
                         "1791.25")  # 1000 + 541.25 + 250.00
        self.assertEqual(self.aging("as_of=2025-04-01&currency=*")["total"]["amount"],
                         "1801.25")
        err = self.aging("as_of=2025-03-30&currency=*", 422)
        self.assertEqual(err["error"]["code"], "no_rate")
        self.assertIn("no exchange rate for GBP on or before 2025-03-30", err["error"]["message"])

    def test_missing_rate(self):
        self.post(BOOK + RATES[:1])  # EUR only
        err = self.aging("as_of=2025-03-31&currency=*", 422)
        self.assertEqual(err["error"]["code"], "no_rate")
        self.assertIn("GBP", err["error"]["message"])
        self.assertIn("2025-03-31", err["error"]["message"])
        # A book with nothing open as of the day needs no rate: before the
        # GBP invoice existed, EUR and USD are enough... but INV-G1 is from
        # 2024-12-01, so ask before any invoice: nothing to convert at all.
        a = self.aging("as_of=2024-11-30&currency=*")
        self.assertEqual((a["total"]["amount"], a["books"]), ("0.00", []))
        # Into a currency with no rate.
        err = self.aging("as_of=2025-03-31&currency=EUR&reporting_currency=CHF", 422)
        self.assertIn("no exchange rate for CHF", err["error"]["message"])

    def test_stale_rate_is_marked(self):
        # fx_stale_days is 7 by default: EUR's rate of 03-28 is 9 days old as
        # of 04-06 (used, and marked), GBP's of 04-01 is 5 days old.
        self.post(BOOK + RATES)
        a = self.aging("as_of=2025-04-06&currency=*")
        books = {b["currency"]: b for b in a["books"]}
        self.assertEqual((books["EUR"]["stale"], books["EUR"]["rate_date"]),
                         (True, "2025-03-28"))
        self.assertEqual((books["GBP"]["stale"], books["GBP"]["rate_date"]),
                         (False, "2025-04-01"))
        self.assertFalse(books["USD"]["stale"])

    def test_a_book_that_is_not_there(self):
        # An empty store answers zeros: nothing to list yet.
        self.assertEqual(self.aging("as_of=2025-03-31&currency=CHF")["total"]["amount"], "0.00")
        self.post(BOOK + RATES)
        # A currency the store has no documents in: 400 with the ones it has.
        err = self.aging("as_of=2025-03-31&currency=CHF", 400)
        self.assertIn("the store has no documents in CHF", err["error"]["message"])
        self.assertIn("currencies with data: EUR, GBP, USD", err["error"]["message"])
        # A unit with nothing in the currency asked: 404 naming its books,
        # on aging and on the series alike; not 200 with zeros.
        err = self.aging("as_of=2025-03-31&business_unit=emea", 404)
        self.assertIn("business unit 'emea' has no documents in USD; its books: EUR, GBP",
                      err["error"]["message"])
        st, err, _ = self.srv.get("/v1/dso?business_unit=us&currency=EUR")
        self.assertEqual(st, 404)
        self.assertIn("its books: USD", err["error"]["message"])
        self.assertEqual(self.aging("as_of=2025-03-31&business_unit=emea&currency=EUR")
                         ["total"]["amount"], "500.00")

    def test_bad_parameters(self):
        self.post(BOOK + RATES)
        for q, needle in [
            ("currency=EURO", "parameter 'currency': 'EURO' is not an ISO 4217 code"),
            ("currency=**", "parameter 'currency'"),
            ("reporting_currency=XYZ", "parameter 'reporting_currency': 'XYZ'"),
        ]:
            err = self.aging(q, 400)
            self.assertIn(needle, err["error"]["message"], q)
        # Counts are not converted: SLA and FTQ refuse a currency.
        st, err, _ = self.srv.get("/v1/ftq?currency=*")
        self.assertEqual(st, 400)
        st, err, _ = self.srv.get("/v1/sla?sla=billing&reporting_currency=EUR")
        self.assertEqual(st, 400)

    def test_rate_events(self):
        res = self.post(RATES + [
            {"id": "b1", "type": "fx.rate", "date": "2025-04-01", "currency": "USD", "rate": "1"},
            {"id": "b2", "type": "fx.rate", "date": "2025-04-01", "currency": "EUR", "rate": "0"},
            {"id": "b3", "type": "fx.rate", "date": "2025-04-01", "currency": "EUR",
             "rate": "1.12345678901"},
            {"id": "b4", "type": "fx.rate", "date": "2025-04-01", "currency": "EUR", "rate": 1.1},
            {"id": "b5", "type": "fx.rate", "date": "2025-04-01", "rate": "1.1"},
            {"id": "b6", "type": "fx.rate", "currency": "EUR", "rate": "1.1"},
            {"id": "b7", "type": "fx.rate", "time": "2025-04-01T10:00:00Z", "currency": "EUR",
             "rate": "1.1"},
            {"id": "b8", "type": "fx.rate", "date": "2025-04-01", "currency": "EUR", "rate": "-1"},
        ])
        self.assertEqual(res["accepted"], 3)
        codes = {r["id"]: (r["field"], r["code"]) for r in res["rejected"]}
        self.assertEqual(codes, {
            "b1": ("currency", "bad_currency"), "b2": ("rate", "bad_amount"),
            "b3": ("rate", "too_many_decimals"), "b4": ("rate", "bad_type"),
            "b5": ("currency", "missing_field"), "b6": ("date", "missing_field"),
            "b7": ("time", "bad_date"), "b8": ("rate", "bad_amount")})
        # Kept in the log with its own field names; sent back, a duplicate.
        st, page, _ = self.srv.get("/v1/events?type=fx.rate")
        self.assertEqual(page["events"][0], {"id": "r1", "type": "fx.rate", "currency": "EUR",
                                             "date": "2025-03-28", "rate": "1.0825",
                                             "source": "ECB"})
        again = self.post(page["events"])
        self.assertEqual((again["accepted"], again["duplicates"]), (0, 3))

    def test_rates_csv_file(self):
        # The layout central banks publish: date, currency, rate.
        path = os.path.join(self.tmp, "rates.csv")
        with open(path, "w") as f:
            f.write("date,currency,rate,source\n2025-03-28,EUR,1.0825,ECB\n"
                    "2025-03-31,GBP,1.2931,ECB\n")
        self.srv.stop()
        r = run_kpid("ingest", "--data", self.data, path)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"2 accepted", r.stderr + r.stdout)
        r = run_kpid("ingest", "--data", self.data, path)
        self.assertIn(b"2 duplicates", r.stderr + r.stdout)
        self.srv = Server(self.data, self.server_args).start()
        self.post(BOOK)
        self.assertEqual(self.aging("as_of=2025-03-31&currency=*")["total"]["amount"],
                         "1799.87")


# A series (docs/kpi.md, "Reporting currency", second example): flows at
# the rate of their day, balances at the rate of theirs.
SERIES_BOOK = [
    {"id": "i1", "type": "invoice.issued", "time": "2025-03-01", "invoice": "INV-U1",
     "customer": "ACME", "amount": "1000.00", "terms_days": 30, "business_unit": "us"},
    {"id": "i2", "type": "invoice.issued", "time": "2025-02-01", "invoice": "INV-E1",
     "customer": "ACME", "amount": "500.00", "currency": "EUR", "terms_days": 30,
     "business_unit": "emea"},
    {"id": "p1", "type": "payment.received", "time": "2025-03-10", "payment": "P1",
     "customer": "ACME", "amount": "200.00", "currency": "EUR", "method": "wire",
     "business_unit": "emea"},
    {"id": "p2", "type": "payment.applied", "time": "2025-03-10", "payment": "P1",
     "invoice": "INV-E1", "amount": "200.00"},
    {"id": "r0", "type": "fx.rate", "date": "2025-01-31", "currency": "EUR", "rate": "1.04"},
    {"id": "r1", "type": "fx.rate", "date": "2025-03-10", "currency": "EUR", "rate": "1.06"},
    {"id": "r2", "type": "fx.rate", "date": "2025-03-28", "currency": "EUR", "rate": "1.0825"},
]


class FxSeriesTest(ServerTest):
    def get(self, path, status=200):
        st, res, _ = self.srv.get(path)
        self.assertEqual(st, status, res)
        return res

    def test_rollforward_has_its_fx_line(self):
        st, res, _ = self.srv.post("/v1/events", ndjson(SERIES_BOOK), ctype="application/x-ndjson")
        self.assertEqual((st, res["accepted"]), (200, 7))
        rf = self.get("/v1/rollforward?from=2025-02-01&to=2025-03-31&interval=month&currency=*")
        feb, mar = rf["points"]
        # February: the EUR invoice of 02-01 at 1.04 (the rate of 01-31) = 520.00.
        self.assertEqual((feb["opening"], feb["sales"], feb["fx_difference"], feb["closing"]),
                         ("0.00", "520.00", "0.00", "520.00"))
        # March: + USD 1,000.00; - EUR 200.00 applied on 03-10 at 1.06 = 212.00;
        # closing EUR 300.00 at 1.0825 = 324.75 + 1,000.00 = 1,324.75; so the
        # exchange difference is 1,324.75 - (520.00 + 1,000.00 - 212.00) = 16.75
        # (= 300 x (1.0825 - 1.04) + 200 x (1.06 - 1.04)).
        self.assertEqual((mar["opening"], mar["sales"], mar["cash_applied"], mar["fx_difference"],
                          mar["closing"], mar["open_items"], mar["difference"]),
                         ("520.00", "1000.00", "212.00", "16.75", "1324.75", "1324.75", "0.00"))
        self.assertEqual([b["currency"] for b in rf["books"]], ["EUR", "USD"])
        # The closing balance is the consolidated aging of the same day.
        st, a, _ = self.srv.get("/v1/aging?as_of=2025-03-31&currency=*")
        self.assertEqual(a["total"]["amount"], mar["closing"])
        # One book: no exchange line, no books, unchanged.
        one = self.get("/v1/rollforward?from=2025-02-01&to=2025-03-31&interval=month"
                       "&currency=EUR")
        self.assertNotIn("fx_difference", one["points"][1])
        self.assertNotIn("books", one)
        self.assertEqual(one["points"][1]["closing"], "300.00")

    def test_dso_and_cei(self):
        self.srv.post("/v1/events", ndjson(SERIES_BOOK), ctype="application/x-ndjson")
        dso = self.get("/v1/dso?from=2025-02-01&to=2025-03-31&interval=month&currency=*")
        feb, mar = dso["points"]
        self.assertEqual((feb["ar"], feb["sales"], feb["value"]), ("520.00", "520.00", 28.0))
        # 1,324.75 / 1,000.00 x 31 days = 41.07
        self.assertEqual((mar["ar"], mar["sales"], mar["value"]), ("1324.75", "1000.00", 41.07))
        cei = self.get("/v1/cei?from=2025-03-01&to=2025-03-31&interval=month"
                       "&reporting_currency=EUR")
        self.assertEqual(cei["currency"], "EUR")
        p = cei["points"][0]
        # In EUR: AR at 02-28 = 500.00 (1.04 / 1.04); sales = 1,000.00 USD at
        # 03-01 (EUR at 1.04): 961.54; AR at 03-31 = 300.00 + 1,000 / 1.0825
        # (923.79) = 1,223.79.
        self.assertEqual((p["ar_start"], p["sales"], p["ar"]), ("500.00", "961.54", "1223.79"))

    def test_a_day_without_rate(self):
        # Without the rate of 01-31, EUR has none before 03-10: a series
        # from 02-01 has days with EUR to convert and no rate for them.
        book = [e for e in SERIES_BOOK if e["id"] != "r0"]
        self.srv.post("/v1/events", ndjson(book), ctype="application/x-ndjson")
        err = self.get("/v1/dso?from=2025-02-01&to=2025-03-31&interval=month&currency=*", 422)
        self.assertEqual(err["error"]["code"], "no_rate")
        self.assertIn("no exchange rate for EUR on or before 2025-02-01", err["error"]["message"])
        # From 03-11 on (the opening balance is of 03-10) there is a rate every day.
        err = self.get("/v1/dso?from=2025-03-10&to=2025-03-31&interval=month&currency=*", 422)
        self.assertIn("on or before 2025-03-09", err["error"]["message"])
        ok = self.get("/v1/dso?from=2025-03-11&to=2025-03-31&interval=month&currency=*")
        self.assertEqual(ok["points"][0]["ar"], "1324.75")


class CountsTest(ServerTest):
    """SLA and FTQ count the documents of every currency: no currency in
    their answers, and currency= refused (docs/kpi.md, "Counts and
    currencies")."""

    def test_counts_span_every_book(self):
        reviews = [
            {"id": "v1", "type": "invoice.reviewed", "time": "2025-03-02", "invoice": "INV-U1",
             "result": "pass"},
            {"id": "v2", "type": "invoice.reviewed", "time": "2025-03-02", "invoice": "INV-E1",
             "result": "fail", "reason": "wrong PO"},
            {"id": "v3", "type": "invoice.reviewed", "time": "2025-03-02", "invoice": "INV-G1",
             "result": "pass"},
        ]
        st, res, _ = self.srv.post("/v1/events", ndjson(BOOK + reviews),
                                   ctype="application/x-ndjson")
        self.assertEqual((st, res["accepted"]), (200, 6))
        st, f, _ = self.srv.get("/v1/ftq?kind=invoice&from=2025-03-01&to=2025-03-31")
        self.assertEqual(st, 200)
        self.assertNotIn("currency", f)
        p = f["points"][0]
        self.assertEqual((p["reviewed"], p["passed"]), (3, 2))  # USD, EUR and GBP alike
        emea = self.srv.get("/v1/ftq?kind=invoice&from=2025-03-01&to=2025-03-31"
                            "&business_unit=emea")[1]["points"][0]
        self.assertEqual((emea["reviewed"], emea["passed"]), (2, 1))
        for path in ("/v1/ftq?kind=invoice&currency=EUR", "/v1/sla?sla=ap-processing&currency=USD"):
            st, err, _ = self.srv.get(path)
            self.assertEqual(st, 400, path)
            self.assertIn("count the documents of every currency", err["error"]["message"])
        st, s_, _ = self.srv.get("/v1/sla?sla=ap-processing&from=2025-03-01&to=2025-03-31")
        self.assertEqual(st, 200)
        self.assertNotIn("currency", s_)


class FxRefuseStaleTest(unittest.TestCase):
    def test_refused(self):
        tmp = tempfile.mkdtemp(prefix="kpid-fx-")
        try:
            cfg = os.path.join(tmp, "kpid.json")
            with open(cfg, "w") as f:
                json.dump({"fx_stale_days": 2, "fx_stale": "refuse"}, f)
            srv = Server(os.path.join(tmp, "data"), ["--config", cfg]).start()
            try:
                st, _, _ = srv.post("/v1/events", ndjson(BOOK + RATES),
                                    ctype="application/x-ndjson")
                self.assertEqual(st, 200)
                st, a, _ = srv.get("/v1/aging?as_of=2025-03-31&currency=*")
                self.assertEqual(st, 422)  # EUR's rate is 3 days old
                self.assertIn("the latest EUR rate on or before 2025-03-31 is from 2025-03-28",
                              a["error"]["message"])
                st, a, _ = srv.get("/v1/aging?as_of=2025-03-30&currency=EUR"
                                   "&reporting_currency=USD")
                self.assertEqual((st, a["total"]["amount"]), (200, "541.25"))
            finally:
                self.assertEqual(srv.stop(), 0, srv.log())
            for bad in [{"fx_stale": "maybe"}, {"fx_stale_days": -2}]:
                with open(cfg, "w") as f:
                    json.dump(bad, f)
                r = run_kpid("serve", "--data", os.path.join(tmp, "d2"), "--config", cfg,
                             "--listen", "127.0.0.1:0", timeout=60)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn("config key 'fx_stale", r.stderr.decode())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
