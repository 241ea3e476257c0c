"""Issue 17, items 3-6 end to end: CSV that is safe for spreadsheets
(a hostile customer name through every CSV endpoint comes out neutralised,
negative amounts stay numbers, the BOM on request), the wide aging CSV that
sums to AR, top N of the customer aging (equal to the first N of the full
list, and pages that join into it), error messages that suggest the right
word, and customer= / vendor= as separate filters of GET /v1/events."""
import csv
import io
import json
import unittest
from decimal import Decimal

import kpidtest
from kpidtest import ServerTest, ndjson

HOSTILE = '=HYPERLINK("http://x","a")'
AS_OF = "2025-06-30"


def rows(raw):
    text = raw.decode("utf-8")
    return list(csv.reader(io.StringIO(text)))


def inv(i, customer, amount, day, unit="emea", terms=30):
    return {"id": "i%d" % i, "type": "invoice.issued", "time": day, "invoice": "INV-%d" % i,
            "customer": customer, "amount": amount, "terms_days": terms, "business_unit": unit}


class Exports(ServerTest):
    def setUp(self):
        super().setUp()
        st, _, raw = self.srv.get("/healthz")
        self.cur = json.loads(raw)["base_currency"]
        evs = [
            inv(1, HOSTILE, "100.00", "2025-01-10"),
            inv(2, "+cmd|' /C calc'!A0", "250.00", "2025-03-01"),
            inv(3, "-2+3", "75.50", "2025-06-20"),
            inv(4, "@SUM(A1)", "40.00", "2025-05-01", unit="@unit"),
            inv(5, "Müller GmbH", "500.00", "2025-02-01"),
            inv(6, "Plain Co", "10.00", "2025-04-01"),
            # Over-credited: Plain Co's open amount is -12.50.
            {"id": "c6", "type": "credit_note.issued", "time": "2025-04-02", "credit_note": "CN-6",
             "customer": "Plain Co", "invoice": "INV-6", "amount": "22.50"},
            {"id": "a1", "type": "invoice.adjusted", "time": "2025-01-11", "invoice": "INV-1",
             "amount": "-5.00", "reason": "=1+1"},
            {"id": "b1", "type": "bill.received", "time": "2025-03-07", "bill": "B-1",
             "vendor": "Müller GmbH", "amount": "300.00", "terms_days": 30},
        ]
        st, body, _ = self.srv.post("/v1/events", ndjson(evs), "application/x-ndjson")
        self.assertEqual((st, body["accepted"]), (200, len(evs)), body)

    def get_csv(self, path):
        st, _, raw = self.srv.get(path)
        self.assertEqual(st, 200, raw)
        return raw

    # ---- item 3 ----------------------------------------------------------

    def test_hostile_names_neutralised_everywhere(self):
        hostile = [HOSTILE, "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)"]
        paths = ["/v1/aging?as_of=%s&group_by=customer&format=csv" % AS_OF,
                 "/v1/aging?as_of=%s&group_by=customer&format=csv&layout=long" % AS_OF,
                 "/v1/events?format=csv&limit=1000"]
        for p in paths:
            with self.subTest(path=p):
                cells = [c for r in rows(self.get_csv(p)) for c in r]
                for name in hostile:
                    self.assertIn("'" + name, cells)
                    self.assertNotIn(name, cells)
                # No cell at all starts a formula.
                self.assertEqual([c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")], [])
        # The raw bytes: quoted, the apostrophe inside the quotes.
        raw = self.get_csv(paths[0]).decode()
        self.assertIn('"\'=HYPERLINK(""http://x"",""a"")"', raw)
        # A hostile business unit too, and the customer profile's cells.
        cells = [c for r in rows(self.get_csv(
            "/v1/aging?as_of=%s&group_by=business_unit&format=csv" % AS_OF)) for c in r]
        self.assertIn("'@unit", cells)
        cells = [c for r in rows(self.get_csv(
            "/v1/customers/%%40SUM(A1)?as_of=%s&format=csv" % AS_OF)) for c in r]
        self.assertIn("'@unit", cells)
        # The adjustment's reason is text, its amount a number.
        ev = [r for r in rows(self.get_csv("/v1/events?format=csv&type=invoice.adjusted"))]
        head = ev[0]
        self.assertEqual(ev[1][head.index("reason")], "'=1+1")
        self.assertEqual(ev[1][head.index("amount")], "-5.00")
        raw = self.get_csv("/v1/events?format=csv&type=invoice.adjusted").decode()
        self.assertIn(",-5.00,", raw)

    def test_negative_amounts_stay_numbers(self):
        raw = self.get_csv("/v1/aging?as_of=%s&group_by=customer&format=csv" % AS_OF).decode()
        line = [l for l in raw.splitlines() if l.startswith("Plain Co,")][0]
        self.assertIn(",-12.50,", line)
        self.assertNotIn("'", line)

    def test_bom(self):
        for p in ["/v1/aging?format=csv", "/v1/events?format=csv", "/v1/dso?format=csv",
                  "/v1/cei?format=csv", "/v1/dpo?format=csv", "/v1/rollforward?format=csv",
                  "/v1/ftq?format=csv", "/v1/customers/Plain%20Co?format=csv"]:
            with self.subTest(path=p):
                self.assertTrue(self.get_csv(p + "&bom=true").startswith(b"\xef\xbb\xbf"))
                self.assertFalse(self.get_csv(p).startswith(b"\xef\xbb\xbf"))
                self.assertFalse(self.get_csv(p + "&bom=false").startswith(b"\xef\xbb\xbf"))
        # Müller reads back as UTF-8 after the BOM.
        raw = self.get_csv("/v1/aging?as_of=%s&group_by=customer&format=csv&bom=true" % AS_OF)
        self.assertIn("Müller GmbH", raw[3:].decode("utf-8"))
        st, body, _ = self.srv.get("/v1/aging?format=csv&bom=yes")
        self.assertEqual(st, 400)
        self.assertEqual(body["error"]["message"], "parameter 'bom' must be true or false")
        st, body, _ = self.srv.get("/v1/events?format=csv&bom=yes")
        self.assertEqual(st, 400)
        self.assertEqual(body["error"]["message"], "parameter 'bom' must be true or false")

    def test_wide_aging_sums_to_ar(self):
        st, ag, _ = self.srv.get("/v1/aging?as_of=%s" % AS_OF)
        self.assertEqual(st, 200)
        for group in ("customer", "business_unit"):
            with self.subTest(group_by=group):
                r = rows(self.get_csv("/v1/aging?as_of=%s&group_by=%s&format=csv" % (AS_OF, group)))
                head, data = r[0], r[1:]
                # Customers have a name column beside their id (customer.updated).
                named = ["name"] if group == "customer" else []
                self.assertEqual(head, [group] + named + [
                    "current", "1-30 days", "31-60 days", "61-90 days", "91-120 days",
                    "121+ days", "total", "count", "as_of", "currency"])
                col = lambda name: sum(Decimal(x[head.index(name)]) for x in data)
                self.assertEqual(col("total"), Decimal(ag["total"]["amount"]))
                self.assertEqual(col("count"), ag["total"]["count"])
                for i, b in enumerate(ag["buckets"]):
                    self.assertEqual(col(head[1 + len(named) + i]), Decimal(b["amount"]),
                                     b["label"])
                self.assertEqual({x[head.index("as_of")] for x in data}, {AS_OF})
                self.assertEqual({x[head.index("currency")] for x in data}, {self.cur})
        r = rows(self.get_csv("/v1/aging?as_of=%s&format=csv" % AS_OF))
        self.assertEqual(len(r), 2)
        self.assertEqual(r[1][0], "all")
        self.assertEqual(r[1][7], ag["total"]["amount"])
        st, body, _ = self.srv.get("/v1/aging?format=csv&layout=tall")
        self.assertEqual(st, 400)
        self.assertIn("'tall' is not one of: wide, long", body["error"]["message"])

    # ---- item 4 ----------------------------------------------------------

    def overdue(self, g):
        cur = [b for b in g["buckets"] if b["label"] == "current"][0]
        return Decimal(g["total"]["amount"]) - Decimal(cur["amount"])

    def test_top_n_is_the_first_n_of_the_full_list(self):
        base = "/v1/aging?as_of=%s&group_by=customer" % AS_OF
        st, full, _ = self.srv.get(base)
        self.assertEqual(st, 200)
        for sort, key in [("-overdue", self.overdue),
                          ("-total", lambda g: Decimal(g["total"]["amount"])),
                          ("-121%2B", lambda g: Decimal(g["buckets"][5]["amount"])),
                          ("-121+", lambda g: Decimal(g["buckets"][5]["amount"]))]:
            want = sorted(full["groups"], key=lambda g: (-key(g), g["key"].encode()))
            st, all_sorted, _ = self.srv.get(base + "&sort=" + sort)
            self.assertEqual(st, 200)
            self.assertEqual(all_sorted["sort"], sort.replace("%2B", "+"))
            self.assertEqual([g["key"] for g in all_sorted["groups"]], [g["key"] for g in want])
            self.assertIsNone(all_sorted["next_cursor"])
            self.assertEqual(all_sorted["total"], full["total"])
            for n in (1, 2, 3, len(want)):
                with self.subTest(sort=sort, limit=n):
                    st, top, _ = self.srv.get(base + "&sort=%s&limit=%d" % (sort, n))
                    self.assertEqual(st, 200)
                    self.assertEqual(top["groups"], want[:n])
                    self.assertEqual(top["next_cursor"] is None, n >= len(want))
            # Pages joined are the whole list, each group once.
            got, cursor = [], None
            while True:
                st, page, _ = self.srv.get(base + "&sort=%s&limit=2" % sort +
                                           ("&cursor=" + cursor if cursor else ""))
                self.assertEqual(st, 200)
                got += page["groups"]
                cursor = page["next_cursor"]
                if cursor is None:
                    break
            self.assertEqual(got, want)
        # By name (also the default order), and in CSV.
        st, byname, _ = self.srv.get(base + "&sort=customer&limit=3")
        self.assertEqual(byname["groups"], full["groups"][:3])
        r = rows(self.get_csv(base + "&sort=-overdue&limit=2&format=csv"))
        top2 = sorted(full["groups"], key=lambda g: (-self.overdue(g), g["key"].encode()))[:2]
        self.assertEqual([x[0] for x in r[1:]], [("'" if g["key"][0] in "=+-@" else "") + g["key"]
                                                  for g in top2])

    def test_top_n_errors(self):
        cases = [
            ("/v1/aging?sort=-overdue", "need group_by=customer or group_by=business_unit"),
            ("/v1/aging?group_by=customer&sort=-overdu",
             "is not one of: -overdue, -total, -current, -1-30, -31-60, -61-90, -91-120, -121+, "
             "customer (did you mean '-overdue'?)"),
            ("/v1/aging?group_by=customer&limit=0", "parameter 'limit' must be a whole number"),
            ("/v1/aging?group_by=customer&sort=-total&cursor=zz",
             "parameter 'cursor' is not a next_cursor of this server for this sort"),
        ]
        for path, msg in cases:
            with self.subTest(path=path):
                st, body, _ = self.srv.get(path)
                self.assertEqual(st, 400)
                self.assertIn(msg, body["error"]["message"])
        # A cursor of one sort does not continue another.
        st, page, _ = self.srv.get("/v1/aging?as_of=%s&group_by=customer&sort=-total&limit=1"
                                   % AS_OF)
        st, body, _ = self.srv.get("/v1/aging?group_by=customer&sort=-overdue&cursor="
                                   + page["next_cursor"])
        self.assertEqual(st, 400)

    # ---- item 5 ----------------------------------------------------------

    def test_suggestions(self):
        ev = {"id": "x1", "type": "invoice.issue", "time": "2025-01-01", "invoice": "X",
              "customer": "A", "amount": "1.00", "terms_days": 30}
        st, body, _ = self.srv.post("/v1/events", [ev])
        self.assertEqual(st, 400)
        self.assertEqual(body["rejected"][0]["error"],
                         "type: 'invoice.issue' is not an event type (did you mean "
                         "'invoice.issued'?)")
        ev["type"] = "shipment.sent"
        st, body, _ = self.srv.post("/v1/events", [ev])
        self.assertIn("(docs/events.md lists them)", body["rejected"][0]["error"])
        ev = {"id": "x2", "type": "invoice.issued", "time": "2025-01-01", "invoice": "X",
              "custmer": "A", "amount": "1.00", "terms_days": 30}
        st, body, _ = self.srv.post("/v1/events", [ev])
        self.assertEqual(body["rejected"][0]["error"],
                         "customer: required (is 'custmer' a misspelling of it?)")
        cases = [
            ("/v1/events?type=invoice.issue",
             "parameter 'type': unknown event type 'invoice.issue' (did you mean "
             "'invoice.issued'?)", 400),
            ("/v1/aging?curency=EUR", "unknown parameter 'curency' for GET /v1/aging (did you "
             "mean 'currency'?); known: as_of, basis, buckets", 400),
            ("/v1/aging?group_by=customers", "(did you mean 'customer'?)", 400),
            ("/v1/aging?business_unit=EMEA",
             "unknown business unit 'EMEA' (did you mean 'emea'?); known business units in "
             "%s: @unit, default, emea (names are case-sensitive)" % self.cur, 404),
            ("/v1/dso?business_unit=nowhere",
             "unknown business unit 'nowhere'; known business units in %s: @unit, default, "
             "emea (names are case-sensitive)" % self.cur, 404),
            ("/v1/aging?currency=%s" % self.cur.lower(),
             "parameter 'currency': '%s' is not an ISO 4217 code (did you mean '%s'?); "
             "currencies with data: %s" % (self.cur.lower(), self.cur, self.cur), 400),
            ("/v1/meta?currency=XXQ", "currencies with data: %s" % self.cur, 400),
        ]
        for path, msg, status in cases:
            with self.subTest(path=path):
                st, body, _ = self.srv.get(path)
                self.assertEqual(st, status, body)
                self.assertIn(msg, body["error"]["message"])

    def test_csv_delimiter_hint(self):
        body = ("id;type;time;invoice;customer;amount;terms_days\r\n"
                "s1;invoice.issued;2025-01-01;S-1;ACME;1250,00;30\r\n")
        st, res, _ = self.srv.post("/v1/events", body, "text/csv")
        self.assertEqual(st, 400)
        self.assertIn("the header row is one cell holding ';': kpid reads comma-separated CSV",
                      res["rejected"][0]["error"])

    # ---- item 6 ----------------------------------------------------------

    def test_vendor_and_customer_filters(self):
        name = "M%C3%BCller%20GmbH"
        st, body, _ = self.srv.get("/v1/events?vendor=" + name)
        self.assertEqual(st, 200)
        self.assertEqual([e["type"] for e in body["events"]], ["bill.received"])
        st, body, _ = self.srv.get("/v1/events?customer=" + name)
        self.assertEqual([e["type"] for e in body["events"]], ["invoice.issued"])
        st, body, _ = self.srv.get("/v1/events?vendor=Plain%20Co")
        self.assertEqual(body["events"], [])
        r = rows(self.get_csv("/v1/events?vendor=%s&format=csv" % name))
        self.assertEqual(len(r), 2)
        self.assertEqual(r[1][r[0].index("vendor")], "Müller GmbH")


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
