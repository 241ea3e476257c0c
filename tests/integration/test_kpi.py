"""KPI endpoints end to end: hand-checked ledgers, every bad parameter, a
day boundary on a daylight-saving change, and a property test over generated
books checked against an independent Python model of docs/kpi.md:

  for many as-of dates, aging by bucket == the model's open items, aging
  total == roll-forward closing, difference == 0, groups add up to the
  total; and `kpid rebuild` gives byte-identical answers.
"""
import datetime
import json
import os
import shutil
import tempfile
import unittest
from decimal import Decimal

import kpidtest
from kpidtest import Server, ServerTest, ndjson, run_kpid

DIGITS = {"JPY": 0, "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3}
EPOCH = datetime.date(1970, 1, 1)


def minor(amount, currency):
    d = DIGITS.get(currency, 2)
    return int(Decimal(str(amount)) * (10 ** d))


def day_of(t):
    """UTC day number of an RFC 3339 time or a plain date (tests run in UTC)."""
    if len(t) == 10:
        return (datetime.date.fromisoformat(t) - EPOCH).days
    t = t.replace("Z", "+00:00")
    dt = datetime.datetime.fromisoformat(t).astimezone(datetime.timezone.utc)
    return (dt.date() - EPOCH).days


def iso(day):
    return (EPOCH + datetime.timedelta(days=day)).isoformat()


def fmt(v, currency):
    d = DIGITS.get(currency, 2)
    s = "-" if v < 0 else ""
    v = abs(v)
    if d == 0:
        return s + str(v)
    return "%s%d.%0*d" % (s, v // 10 ** d, d, v % 10 ** d)


class Book:
    """An independent model of docs/kpi.md's open items, from raw events."""

    def __init__(self, events, base="USD"):
        self.inv = {}
        self.pay = {}
        moves = []
        for e in events:
            t = e["type"]
            if t == "invoice.issued":
                cur = e.get("currency", base)
                issue = day_of(e["time"])
                if "due_date" in e:
                    due = (datetime.date.fromisoformat(e["due_date"]) - EPOCH).days
                else:
                    due = issue + int(e["terms_days"])
                self.inv[e["invoice"]] = {"cur": cur, "issue": issue, "due": due,
                                          "bu": e.get("business_unit", "default"),
                                          "moves": [(issue, minor(e["amount"], cur))]}
            elif t == "payment.received":
                cur = e.get("currency", base)
                self.pay[e["payment"]] = {"cur": cur, "moves": [(day_of(e["time"]),
                                                                  minor(e["amount"], cur))]}
            else:
                moves.append(e)
        for e in moves:
            t = e["type"]
            d = day_of(e["time"])
            if t in ("payment.applied", "payment.refunded"):
                p = self.pay[e["payment"]]
                p["moves"].append((d, -minor(e["amount"], p["cur"])))
            sign = {"invoice.adjusted": 1, "payment.applied": -1, "invoice.written_off": -1,
                    "credit_note.issued": -1}.get(t)
            ref = e.get("invoice")
            if sign is None or ref is None:
                continue
            i = self.inv[ref]
            i["moves"].append((max(d, i["issue"]), sign * minor(e["amount"], i["cur"])))

    def aging(self, as_of, currency, edges=(30, 60, 90, 120), bu=None):
        buckets = [[0, 0] for _ in range(len(edges) + 2)]
        for i in self.inv.values():
            if i["cur"] != currency or (bu is not None and i["bu"] != bu):
                continue
            open_ = sum(a for d, a in i["moves"] if d <= as_of)
            if open_ == 0:
                continue
            late = as_of - i["due"]
            k = 0
            if late > 0:
                k = 1
                while k <= len(edges) and late > edges[k - 1]:
                    k += 1
            buckets[k][0] += open_
            buckets[k][1] += 1
        return buckets

    def unapplied(self, as_of, currency):
        return sum(a for p in self.pay.values() if p["cur"] == currency
                   for d, a in p["moves"] if d <= as_of)


class Generated(unittest.TestCase):
    """The property test over a generated book."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-kpi-")
        self.data = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def queries(self, srv, days, currencies):
        out = {}
        for cur in currencies:
            for d in days:
                for q in ("/v1/aging?as_of=%s&currency=%s" % (iso(d), cur),
                          "/v1/aging?as_of=%s&currency=%s&group_by=business_unit" % (iso(d), cur),
                          "/v1/rollforward?from=%s&to=%s&interval=quarter&currency=%s"
                          % (iso(days[0]), iso(d), cur)):
                    st, js, raw = srv.get(q)
                    self.assertEqual(st, 200, raw)
                    out[q] = js
            for q in ("/v1/dso?from=%s&to=%s&method=countback&currency=%s"
                      % (iso(days[0]), iso(days[-1]), cur),
                      "/v1/cei?from=%s&to=%s&currency=%s" % (iso(days[0]), iso(days[-1]), cur),
                      "/v1/sla?sla=ap-processing&from=%s&to=%s" % (iso(days[0]), iso(days[-1])),
                      "/v1/ftq?from=%s&to=%s" % (iso(days[0]), iso(days[-1]))):
                st, js, raw = srv.get(q)
                self.assertEqual(st, 200, raw)
                out[q] = js
        return out

    def test_aging_equals_rollforward_equals_open_items(self):
        gen = os.path.join(self.tmp, "g.ndjson")
        r = run_kpid("gen", "--invoices", "1500", "--seed", "11", "--out", gen)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_kpid("ingest", "--data", self.data, "--quiet", gen)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(gen) as f:
            events = [json.loads(line) for line in f if line.strip()]
        book = Book(events)
        currencies = sorted({i["cur"] for i in book.inv.values()})
        first = min(i["issue"] for i in book.inv.values())
        last = max(day_of(e["time"]) for e in events)
        days = list(range(first, last + 40, max(1, (last - first) // 30)))
        srv = Server(self.data).start()
        try:
            for cur in currencies:
                for d in days:
                    st, ag, raw = srv.get("/v1/aging?as_of=%s&currency=%s" % (iso(d), cur))
                    self.assertEqual(st, 200, raw)
                    want = book.aging(d, cur)
                    got = [[b["amount"], b["count"]] for b in ag["buckets"]]
                    self.assertEqual(got, [[fmt(a, cur), c] for a, c in want],
                                     "aging %s as of %s" % (cur, iso(d)))
                    total = sum(a for a, _ in want)
                    self.assertEqual(ag["total"]["amount"], fmt(total, cur))
                    self.assertEqual(ag["unapplied_cash"], fmt(book.unapplied(d, cur), cur))
                    st, rf, raw = srv.get("/v1/rollforward?from=%s&to=%s&interval=month&currency=%s"
                                          % (iso(first), iso(d), cur))
                    self.assertEqual(st, 200, raw)
                    lastp = rf["points"][-1]
                    self.assertEqual(lastp["closing"], fmt(total, cur))
                    self.assertEqual(lastp["difference"], fmt(0, cur))
                    for a, b in zip(rf["points"], rf["points"][1:]):
                        self.assertEqual(a["closing"], b["opening"])
                    st, gb, raw = srv.get("/v1/aging?as_of=%s&currency=%s&group_by=business_unit"
                                          % (iso(d), cur))
                    self.assertEqual(st, 200, raw)
                    s = sum(minor(g["total"]["amount"], cur) for g in gb["groups"])
                    self.assertEqual(s, total)
                    for g in gb["groups"]:
                        want_bu = book.aging(d, cur, bu=g["key"])
                        self.assertEqual([[b["amount"], b["count"]] for b in g["buckets"]],
                                         [[fmt(a, cur), c] for a, c in want_bu])
            before = self.queries(srv, days[::5], currencies)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        r = run_kpid("rebuild", "--data", self.data, "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        srv = Server(self.data).start()
        try:
            after = self.queries(srv, days[::5], currencies)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        self.assertEqual(before.keys(), after.keys())
        for k in before:
            self.assertEqual(before[k], after[k], k)


def inv(id_, number, customer, amount, time, terms=30, bu="east", **kw):
    e = {"id": id_, "type": "invoice.issued", "invoice": number, "customer": customer,
         "amount": amount, "time": time, "terms_days": terms, "business_unit": bu}
    e.update(kw)
    return e


class HandChecked(ServerTest):
    def post(self, events):
        st, js, raw = self.srv.post("/v1/events", ndjson(events), "application/x-ndjson")
        self.assertEqual(st, 200, raw)
        self.assertEqual(js["rejected"], [], raw)

    def test_invoice_life(self):
        # docs/kpi.md's example: 1,000.00 due 2024-02-09, 600.00 paid 02-20,
        # 150.00 credited 03-01, 250.00 written off 03-15.
        self.post([
            inv("e1", "I1", "ACME", "1000.00", "2024-01-10T09:00:00Z"),
            {"id": "e2", "type": "payment.received", "payment": "P1", "customer": "ACME",
             "amount": "600.00", "method": "wire", "time": "2024-02-20T10:00:00Z"},
            {"id": "e3", "type": "payment.applied", "payment": "P1", "invoice": "I1",
             "amount": "600.00", "time": "2024-02-20T11:00:00Z"},
            {"id": "e4", "type": "credit_note.issued", "credit_note": "CN1", "customer": "ACME",
             "invoice": "I1", "amount": "150.00", "time": "2024-03-01T12:00:00Z"},
            {"id": "e5", "type": "invoice.written_off", "invoice": "I1", "amount": "250.00",
             "reason": "bankrupt", "time": "2024-03-15T12:00:00Z"},
        ])
        st, ag, raw = self.srv.get("/v1/aging?as_of=2024-02-25")
        self.assertEqual(st, 200, raw)
        self.assertEqual(ag["as_of"], "2024-02-25")
        self.assertEqual(ag["currency"], "USD")
        self.assertEqual([b["label"] for b in ag["buckets"]],
                         ["current", "1-30", "31-60", "61-90", "91-120", "121+"])
        # 16 days past due on 02-25: 1-30.
        self.assertEqual(ag["buckets"][1], {"label": "1-30", "amount": "400.00", "count": 1})
        self.assertEqual(ag["total"], {"amount": "400.00", "count": 1})
        self.assertEqual(ag["unapplied_cash"], "0.00")
        st, ag, _ = self.srv.get("/v1/aging?as_of=2024-03-20")
        self.assertEqual(ag["total"], {"amount": "0.00", "count": 0})
        # Custom edges and the invoice-date basis: 46 days old on 02-25.
        st, ag, _ = self.srv.get("/v1/aging?as_of=2024-02-25&basis=invoice_date&buckets=15,45")
        self.assertEqual([b["label"] for b in ag["buckets"]], ["current", "1-15", "16-45", "46+"])
        self.assertEqual(ag["buckets"][3]["amount"], "400.00")

        # Roll-forward, February and March 2024.
        st, rf, raw = self.srv.get("/v1/rollforward?from=2024-01-01&to=2024-03-31")
        self.assertEqual(st, 200, raw)
        jan, feb, mar = rf["points"]
        self.assertEqual((jan["opening"], jan["sales"], jan["closing"]), ("0.00", "1000.00", "1000.00"))
        self.assertEqual((feb["cash_applied"], feb["closing"]), ("600.00", "400.00"))
        self.assertEqual((mar["credit_notes"], mar["write_offs"], mar["closing"]),
                         ("150.00", "250.00", "0.00"))
        self.assertEqual(mar["difference"], "0.00")
        self.assertEqual(mar["value"], "0.00")

        # Standard DSO for January: 1,000 / 1,000 * 31 = 31.00; February has
        # no sales: null with its reason.
        st, dso, raw = self.srv.get("/v1/dso?from=2024-01-01&to=2024-02-29")
        self.assertEqual(st, 200, raw)
        self.assertEqual(dso["method"], "standard")
        self.assertEqual(dso["points"][0]["value"], 31.0)
        self.assertEqual(dso["points"][0]["ar"], "1000.00")
        self.assertEqual(dso["points"][0]["days"], 31)
        self.assertIsNone(dso["points"][1]["value"])
        self.assertEqual(dso["points"][1]["reason"], "no sales")
        # Countback at the end of February: AR 400 against January's 1,000
        # after a zero-sales February (29 days): 29 + 400/1000*31 = 41.40.
        st, cb, _ = self.srv.get("/v1/dso?from=2024-02-01&to=2024-02-29&method=countback")
        self.assertEqual(cb["points"][0]["value"], 41.4)

        # The customer profile.
        st, cu, raw = self.srv.get("/v1/customers/ACME?as_of=2024-02-25")
        self.assertEqual(st, 200, raw)
        self.assertEqual(cu["customer"], "ACME")
        self.assertEqual(cu["aging"]["total"]["amount"], "400.00")
        self.assertEqual(len(cu["open_items"]), 1)
        item = cu["open_items"][0]
        self.assertEqual((item["invoice"], item["open"], item["days_past_due"], item["due_date"]),
                         ("I1", "400.00", 16, "2024-02-09"))
        # 600.00 paid 41 days after issue, 11 beyond terms.
        self.assertEqual(cu["payment_habits"]["days_to_pay"], 41.0)
        self.assertEqual(cu["payment_habits"]["days_beyond_terms"], 11.0)
        st, _, _ = self.srv.get("/v1/customers/NOBODY")
        self.assertEqual(st, 404)

        # CSV, by parameter and by Accept header.
        st, _, raw = self.srv.get("/v1/aging?as_of=2024-02-25&format=csv")
        self.assertEqual(st, 200)
        lines = raw.decode().splitlines()
        self.assertEqual(lines, [
            "group,current,1-30 days,31-60 days,61-90 days,91-120 days,121+ days,total,count,"
            "as_of,currency",
            "all,0.00,400.00,0.00,0.00,0.00,0.00,400.00,1,2024-02-25,USD"])
        st, _, raw = self.srv.get("/v1/aging?as_of=2024-02-25&format=csv&layout=long")
        self.assertEqual(st, 200)
        lines = raw.decode().splitlines()
        self.assertEqual(lines[0], "group,bucket,amount,count")
        self.assertIn("all,1-30,400.00,1", lines)
        st, _, raw = self.srv.get("/v1/dso?from=2024-01-01&to=2024-02-29",
                                  headers={"Accept": "text/csv"})
        lines = raw.decode().splitlines()
        self.assertEqual(lines[0], "start,end,value,reason,ar,sales,days")
        self.assertEqual(lines[1], "2024-01-01,2024-01-31,31.00,,1000.00,1000.00,31")
        self.assertEqual(lines[2], "2024-02-01,2024-02-29,,no sales,400.00,0.00,29")

    def test_sla_and_ftq(self):
        self.post([
            {"id": "b1", "type": "bill.received", "bill": "B1", "vendor": "Paper Co",
             "amount": "70.00", "terms_days": 30, "time": "2024-03-01T09:00:00Z"},
            {"id": "b2", "type": "bill.processed", "bill": "B1", "time": "2024-03-06T09:00:00Z"},
            {"id": "b3", "type": "bill.received", "bill": "B2", "vendor": "Paper Co",
             "amount": "10.00", "terms_days": 30, "time": "2024-03-01T09:00:00Z"},
            inv("i1", "I1", "ACME", "100.00", "2024-03-04T09:00:00Z"),
            inv("i2", "I2", "ACME", "100.00", "2024-03-04T09:00:00Z"),
            inv("i3", "I3", "ACME", "100.00", "2024-03-04T09:00:00Z"),
            {"id": "r1", "type": "invoice.reviewed", "invoice": "I1", "result": "pass",
             "time": "2024-03-05T09:00:00Z"},
            {"id": "r2", "type": "invoice.reviewed", "invoice": "I2", "result": "pass",
             "time": "2024-03-05T09:00:00Z"},
            {"id": "r3", "type": "invoice.reviewed", "invoice": "I3", "result": "fail",
             "time": "2024-03-05T09:00:00Z"},
            {"id": "a1", "type": "invoice.adjusted", "invoice": "I2", "amount": "-5.00",
             "reason": "price", "time": "2024-03-20T09:00:00Z"},
        ])
        # B1: Friday to Wednesday = 3 business days: met. B2 never processed:
        # breached-open at the end of March.
        st, sla, raw = self.srv.get("/v1/sla?sla=ap-processing&from=2024-03-01&to=2024-03-31")
        self.assertEqual(st, 200, raw)
        p = sla["points"][0]
        self.assertEqual((p["met"], p["completed"], p["breached_open"], p["value"]), (1, 1, 1, 100.0))
        self.assertEqual(sla["target"], {"amount": 3, "unit": "business_days"})
        # FTQ: I1 passes; I2 passed but was corrected; I3 failed: 1 of 3.
        st, ftq, raw = self.srv.get("/v1/ftq?from=2024-03-01&to=2024-03-31")
        self.assertEqual(st, 200, raw)
        p = ftq["points"][0]
        self.assertEqual((p["passed"], p["reviewed"], p["value"]), (1, 3, 33.33))
        st, ftq, _ = self.srv.get("/v1/ftq?kind=bill&from=2024-03-01&to=2024-03-31")
        self.assertEqual((ftq["points"][0]["passed"], ftq["points"][0]["reviewed"]), (1, 1))
        # April: nothing completed: null, "no items".
        st, sla, _ = self.srv.get("/v1/sla?sla=ap-processing&from=2024-04-01&to=2024-04-30")
        self.assertIsNone(sla["points"][0]["value"])
        self.assertEqual(sla["points"][0]["reason"], "no items")
        # The profile as of today (after every event): I1, I2 (95.00 after its
        # adjustment) and I3 are open.
        st, cu, raw = self.srv.get("/v1/customers/ACME")
        self.assertEqual(st, 200, raw)
        self.assertEqual(sorted((i["invoice"], i["open"]) for i in cu["open_items"]),
                         [("I1", "100.00"), ("I2", "95.00"), ("I3", "100.00")])
        self.assertEqual(cu["aging"]["total"], {"amount": "295.00", "count": 3})
        # DPO for March: AP 80.00 / purchases 80.00 * 31 = 31.00.
        st, dpo, raw = self.srv.get("/v1/dpo?from=2024-03-01&to=2024-03-31")
        self.assertEqual(st, 200, raw)
        self.assertEqual(dpo["points"][0]["value"], 31.0)

    def test_bad_parameters(self):
        self.post([inv("e1", "I1", "ACME", "1000.00", "2024-01-10T09:00:00Z")])
        cases = [
            ("/v1/aging?as_of=2024-13-01", "as_of"),
            ("/v1/aging?basis=due", "basis"),
            ("/v1/aging?buckets=60,30", "buckets"),
            ("/v1/aging?buckets=abc", "buckets"),
            ("/v1/aging?group_by=region", "group_by"),
            ("/v1/aging?currency=XXX", "currency"),
            ("/v1/aging?format=xml", "format"),
            ("/v1/aging?colour=red", "colour"),
            ("/v1/dso?interval=year", "interval"),
            ("/v1/dso?method=fast", "method"),
            ("/v1/dso?from=2024-02-01&to=2024-01-01", "from"),
            ("/v1/dso?from=1900-01-01&to=2024-01-01&interval=day", "periods"),
            ("/v1/sla", "sla"),
            ("/v1/sla?sla=nope", "sla"),
            ("/v1/ftq?kind=order", "kind"),
        ]
        for path, name in cases:
            st, js, raw = self.srv.get(path)
            self.assertEqual(st, 400, path)
            self.assertEqual(js["error"]["code"], "bad_parameter", path)
            self.assertIn(name, js["error"]["message"], path)
        for path in ("/v1/aging?customer=NOBODY", "/v1/dso?business_unit=nowhere",
                     "/v1/customers/NOBODY"):
            st, js, raw = self.srv.get(path)
            self.assertEqual(st, 404, path)
            self.assertEqual(js["error"]["code"], "not_found", path)
        st, js, _ = self.srv.get("/v1/customers/a/b")
        self.assertEqual(st, 404)


class DaylightSaving(unittest.TestCase):
    """As of a day on which New York's clocks go forward (2024-03-10 is 23
    hours long): events belong to their local day."""

    def test_day_boundary(self):
        tmp = tempfile.mkdtemp(prefix="kpid-dst-")
        try:
            cfg = os.path.join(tmp, "kpid.json")
            with open(cfg, "w") as f:
                json.dump({"time_zone": "America/New_York"}, f)
            srv = Server(os.path.join(tmp, "data"), ["--config", cfg]).start()
            try:
                events = [
                    inv("d1", "I1", "ACME", "1.00", "2024-03-10T04:30:00Z"),  # 03-09 23:30 EST
                    inv("d2", "I2", "ACME", "2.00", "2024-03-10T05:30:00Z"),  # 03-10 00:30 EST
                    inv("d3", "I3", "ACME", "4.00", "2024-03-11T03:30:00Z"),  # 03-10 23:30 EDT
                    inv("d4", "I4", "ACME", "8.00", "2024-03-11T04:30:00Z"),  # 03-11 00:30 EDT
                    inv("d5", "I5", "ACME", "16.00", "2024-03-10"),           # a plain date
                ]
                st, js, raw = srv.post("/v1/events", ndjson(events), "application/x-ndjson")
                self.assertEqual(st, 200, raw)
                st, ag, raw = srv.get("/v1/aging?as_of=2024-03-10&basis=invoice_date")
                self.assertEqual(st, 200, raw)
                self.assertEqual(ag["total"], {"amount": "23.00", "count": 4})
                st, ag, raw = srv.get("/v1/aging?as_of=2024-03-09&basis=invoice_date")
                self.assertEqual(ag["total"], {"amount": "1.00", "count": 1})
                st, rf, raw = srv.get("/v1/rollforward?from=2024-03-10&to=2024-03-10&interval=day")
                self.assertEqual(rf["points"][0]["sales"], "22.00")
            finally:
                self.assertEqual(srv.stop(), 0, srv.log())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
