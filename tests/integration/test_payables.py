"""Payables end to end (docs/kpi.md, "Payables"): GET /v1/payables/aging and
GET /v1/payables/cash-requirements.

  - the worked example of docs/kpi.md, figure by figure: bills received,
    partly and wholly paid, one paid before it arrived, one rejected (still
    owed), an invoice with a bill's number (never in payables); as of days
    before and after each movement; by unit and by vendor; CSV wide and
    long; the weeks of the cash requirements;
  - on a generated book, for every currency and unit and several days: the
    aging equals the same figure computed here from the events, its total
    is /v1/dpo's AP, the groups add up to it, the cash requirements' lines
    add up to it and each bill falls in its week;
  - a key limited to business unit emea: only emea's bills, and a vendor of
    another unit reads exactly as one nobody knows (404, same message);
  - every bad parameter is a 400 naming it; unknown vendor or unit 404;
    currency=* is 400 (one book at a time, for now);
  - the `payables` PDF (kpid report, POST /v1/reports), read back with
    pdftotext, prints the same figures.
"""
import csv
import datetime
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest
from decimal import Decimal

import kpidtest
from kpidtest import add_key, Server, ndjson, run_kpid

DIGITS = {"JPY": 0, "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3}
EPOCH = datetime.date(1970, 1, 1)
EDGES = (30, 60, 90, 120)


def minor(amount, currency="USD"):
    return int(Decimal(amount) * (10 ** DIGITS.get(currency, 2)))


def day(s):
    return (datetime.date.fromisoformat(s[:10]) - EPOCH).days


def iso(d):
    return (EPOCH + datetime.timedelta(days=d)).isoformat()



def bucket_of(days_past_due):
    if days_past_due <= 0:
        return 0
    for i, e in enumerate(EDGES):
        if days_past_due <= e:
            return i + 1
    return len(EDGES) + 1


# The worked example of docs/kpi.md ("Payables"), in a deliberately scrambled
# arrival order: B2's payment comes before B2 itself.
EXAMPLE = [
    {"id": "p4", "type": "bill.paid", "time": "2024-03-05T09:00:00Z", "bill": "B2",
     "amount": "200.00"},
    {"id": "p1", "type": "bill.received", "time": "2024-03-01T09:00:00Z", "bill": "B1",
     "vendor": "V1", "amount": "1000.00", "due_date": "2024-03-31", "business_unit": "emea"},
    {"id": "p5", "type": "bill.received", "time": "2024-03-10T09:00:00Z", "bill": "B2",
     "vendor": "V2", "amount": "500.00", "due_date": "2024-04-09", "business_unit": "apac"},
    {"id": "p6", "type": "bill.received", "time": "2024-03-15T09:00:00Z", "bill": "B3",
     "vendor": "V1", "amount": "200.00", "due_date": "2024-04-14", "business_unit": "emea"},
    {"id": "p7", "type": "bill.rejected", "time": "2024-03-16T09:00:00Z", "bill": "B3",
     "reason": "no PO"},
    {"id": "p8", "type": "bill.processed", "time": "2024-03-20T09:00:00Z", "bill": "B3"},
    {"id": "p3", "type": "bill.paid", "time": "2024-04-20T09:00:00Z", "bill": "B1",
     "amount": "600.00"},
    {"id": "p2", "type": "bill.paid", "time": "2024-04-05T09:00:00Z", "bill": "B1",
     "amount": "400.00"},
    {"id": "i1", "type": "invoice.issued", "time": "2024-03-01T09:00:00Z", "invoice": "B1",
     "customer": "C1", "amount": "77.77", "terms_days": 30, "business_unit": "emea"},
    {"id": "i2", "type": "invoice.issued", "time": "2024-03-01T09:00:00Z", "invoice": "I2",
     "customer": "C2", "amount": "10.00", "terms_days": 30, "business_unit": "apac"},
]


class Example(unittest.TestCase):
    """The worked example behind a server with an unscoped and an emea key."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-ap-")
        cls.config = os.path.join(cls.tmp, "kpid.json")
        with open(cls.config, "w") as f:
            json.dump({}, f)
        cls.keys = {"read": add_key(cls.config, "all", "read"),
                    "emea": add_key(cls.config, "emea", "read", "emea"),
                    "feed": add_key(cls.config, "feed", "ingest"),
                    "admin": add_key(cls.config, "ops", "admin")}
        cls.data = os.path.join(cls.tmp, "data")
        cls.srv = Server(cls.data, ["--config", cls.config]).start()
        st, js, raw = cls.srv.post("/v1/events", ndjson(EXAMPLE), "application/x-ndjson",
                                   headers={"Authorization": "Bearer " + cls.keys["feed"]})
        assert st == 200 and js["accepted"] == len(EXAMPLE), raw

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, log
        assert "Sanitizer" not in log, log

    def ask(self, path, key="read"):
        return self.srv.get(path, headers={"Authorization": "Bearer " + self.keys[key]})

    def get(self, path, key="read"):
        st, js, raw = self.ask(path, key)
        self.assertEqual(st, 200, (path, raw))
        return js if js is not None else raw.decode()

    def refused(self, path, status, text, key="read"):
        st, js, raw = self.ask(path, key)
        self.assertEqual(st, status, (path, raw))
        self.assertIn(text, js["error"]["message"], path)
        return js["error"]["message"]

    def test_the_worked_example(self):
        # (as_of, total, count, [current, 1-30]) worked by hand in docs/kpi.md.
        rows = [("2024-02-29", "0.00", 0, ["0.00", "0.00"]),
                ("2024-03-09", "1000.00", 1, ["1000.00", "0.00"]),
                ("2024-03-12", "1300.00", 2, ["1300.00", "0.00"]),
                ("2024-04-03", "1500.00", 3, ["500.00", "1000.00"]),
                ("2024-04-10", "1100.00", 3, ["200.00", "900.00"]),
                ("2024-04-25", "500.00", 2, ["0.00", "500.00"])]
        for as_of, total, count, first in rows:
            ag = self.get("/v1/payables/aging?as_of=" + as_of)
            self.assertEqual((ag["total"]["amount"], ag["total"]["count"]), (total, count),
                             as_of)
            self.assertEqual([b["amount"] for b in ag["buckets"][:2]], first, as_of)
            self.assertEqual(ag["basis"], "due_date")
            # The same AP as DPO's on that day.
            dpo = self.get("/v1/dpo?from=%s&to=%s" % (as_of, as_of))
            self.assertEqual(dpo["points"][0]["ap"], total, as_of)
        # Receivables never see a bill, even one numbered like an invoice.
        ar = self.get("/v1/aging?as_of=2024-04-03")
        self.assertEqual(ar["total"]["amount"], "87.77")

    def test_groups_basis_and_csv(self):
        q = "/v1/payables/aging?as_of=2024-04-10"
        by_v = self.get(q + "&group_by=vendor")
        self.assertEqual([(g["key"], g["total"]["amount"], g["total"]["count"])
                          for g in by_v["groups"]], [("V1", "800.00", 2), ("V2", "300.00", 1)])
        by_u = self.get(q + "&group_by=business_unit")
        self.assertEqual([(g["key"], g["total"]["amount"]) for g in by_u["groups"]],
                         [("apac", "300.00"), ("emea", "800.00")])
        one = self.get(q + "&business_unit=emea&vendor=V1")
        self.assertEqual(one["total"]["amount"], "800.00")
        self.assertEqual((one["business_unit"], one["vendor"]), ("emea", "V1"))
        # By receipt day: B1 (03-01) is 40 days old, B2 (03-10) 31, B3 (03-15) 26.
        bd = self.get(q + "&basis=bill_date")
        self.assertEqual(bd["basis"], "bill_date")
        self.assertEqual([b["amount"] for b in bd["buckets"][:3]], ["0.00", "200.00", "900.00"])
        # Sorted and paged like /v1/aging's groups.
        p1 = self.get(q + "&group_by=vendor&sort=-total&limit=1")
        self.assertEqual([g["key"] for g in p1["groups"]], ["V1"])
        p2 = self.get(q + "&group_by=vendor&sort=-total&limit=1&cursor=" + p1["next_cursor"])
        self.assertEqual([g["key"] for g in p2["groups"]], ["V2"])
        self.assertIsNone(p2["next_cursor"])
        # CSV: one row per group, a column per bucket, summing to the total.
        text = self.get(q + "&group_by=vendor&format=csv")
        rows = list(csv.reader(io.StringIO(text)))
        # Beside the id, the vendor's name (vendor.updated; none sent here).
        self.assertEqual(rows[0], ["vendor", "name", "current", "1-30 days", "31-60 days",
                                   "61-90 days", "91-120 days", "121+ days", "total", "count",
                                   "as_of", "currency"])
        self.assertEqual(rows[1], ["V1", "", "200.00", "600.00", "0.00", "0.00", "0.00", "0.00",
                                   "800.00", "2", "2024-04-10", "USD"])
        self.assertEqual(len(rows), 3)
        long_rows = list(csv.reader(io.StringIO(self.get(q + "&format=csv&layout=long"))))
        self.assertEqual(long_rows[0], ["group", "bucket", "amount", "count"])
        self.assertIn(["all", "total", "1100.00", "3"], long_rows)

    def test_cash_requirements(self):
        # Wednesday 2024-04-03: week 1 is 04-03..04-07, week 2 04-08..04-14.
        c = self.get("/v1/payables/cash-requirements?as_of=2024-04-03&weeks=2")
        self.assertEqual(c["overdue"], {"from": None, "to": "2024-04-02", "amount": "1000.00",
                                        "count": 1})
        self.assertEqual([(w["from"], w["to"], w["amount"], w["count"]) for w in c["due"]],
                         [("2024-04-03", "2024-04-07", "0.00", 0),
                          ("2024-04-08", "2024-04-14", "500.00", 2)])
        self.assertEqual(c["later"]["amount"], "0.00")
        self.assertEqual(c["total"], {"amount": "1500.00", "count": 3})
        self.assertEqual(c["weeks"], 2)
        # The default is 13 weeks; a vendor's bills only.
        c = self.get("/v1/payables/cash-requirements?as_of=2024-04-03&vendor=V2")
        self.assertEqual(len(c["due"]), 13)
        self.assertEqual(c["total"]["amount"], "300.00")
        text = self.get("/v1/payables/cash-requirements?as_of=2024-04-03&weeks=1&format=csv")
        rows = list(csv.reader(io.StringIO(text)))
        self.assertEqual(rows, [["line", "from", "to", "amount", "count", "currency"],
                                ["overdue", "", "2024-04-02", "1000.00", "1", "USD"],
                                ["week 1", "2024-04-03", "2024-04-07", "0.00", "0", "USD"],
                                ["later", "2024-04-08", "", "500.00", "2", "USD"],
                                ["total", "", "", "1500.00", "3", "USD"]])

    def test_a_unit_limited_key(self):
        q = "/v1/payables/aging?as_of=2024-04-10"
        mine = self.get(q + "&group_by=business_unit", key="emea")
        self.assertEqual([g["key"] for g in mine["groups"]], ["emea"])
        self.assertEqual(mine["total"]["amount"], "800.00")
        self.assertEqual(self.get(q + "&group_by=vendor", key="emea")["groups"][0]["key"], "V1")
        self.assertEqual(len(self.get(q + "&group_by=vendor", key="emea")["groups"]), 1)
        self.refused(q + "&business_unit=apac", 403, "", key="emea")
        # V2 has bills, in apac only: it reads exactly as a vendor nobody knows.
        elsewhere = self.refused(q + "&vendor=V2", 404, "unknown vendor", key="emea")
        nowhere = self.refused(q + "&vendor=ZZ", 404, "unknown vendor", key="emea")
        self.assertEqual(elsewhere.replace("V2", "ZZ"), nowhere)
        for path in ("/v1/payables/cash-requirements?as_of=2024-04-03&vendor=V2",):
            self.refused(path, 404, "unknown vendor 'V2' in business unit 'emea'", key="emea")
        c = self.get("/v1/payables/cash-requirements?as_of=2024-04-03", key="emea")
        self.assertEqual(c["total"]["amount"], "1200.00")
        self.assertEqual(c["business_unit"], "emea")

    def test_refusals(self):
        ag, cr = "/v1/payables/aging?", "/v1/payables/cash-requirements?"
        for w in ("0", "105", "abc", "1.5", "-3", "", "013x"):
            self.refused(cr + "weeks=" + w, 400, "parameter 'weeks'")
        self.refused(ag + "vendor=NOBODY", 404, "unknown vendor 'NOBODY'")
        self.refused(ag + "vendor=C1", 404, "unknown vendor 'C1'")  # a customer
        self.refused(cr + "vendor=NOBODY", 404, "unknown vendor 'NOBODY'")
        self.refused(ag + "business_unit=emea&vendor=V2", 404,
                     "unknown vendor 'V2' in business unit 'emea'")
        msg = self.refused(ag + "business_unit=mars", 404, "unknown business unit 'mars'")
        self.assertIn("apac, emea", msg)
        self.refused(cr + "business_unit=Emea", 404, "did you mean 'emea'?")
        self.refused(ag + "currency=*", 400, "not yet available for payables")
        self.refused(cr + "currency=*", 400, "not yet available for payables")
        self.refused(ag + "currency=XYZ", 400, "not an ISO 4217 code")
        self.refused(ag + "currency=GBP", 400, "no documents in GBP")
        self.refused(ag + "group_by=customer", 400, "parameter 'group_by'")
        self.refused(ag + "basis=invoice_date", 400, "parameter 'basis'")
        self.refused(ag + "buckets=30,20", 400, "buckets")
        self.refused(ag + "sort=-total", 400, "need group_by")
        self.refused(ag + "group_by=vendor&sort=customer", 400, "sort")
        self.refused(ag + "as_of=2024-02-30", 400, "as_of")
        self.refused(ag + "layout=tall", 400, "parameter 'layout'")
        self.refused(ag + "format=xml", 400, "parameter 'format'")
        self.refused(ag + "customer=C1", 400, "customer")
        self.refused(cr + "basis=due_date", 400, "basis")


    def pdf_text(self, path):
        r = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr, b"", "pdftotext warns")
        return " ".join(r.stdout.decode().split())

    @unittest.skipIf(shutil.which("pdftotext") is None,
                     "pdftotext is missing: install poppler-utils (./dev test installs it)")
    def test_the_pdf(self):
        out = os.path.join(self.tmp, "ap.pdf")
        r = run_kpid("report", "--data", self.data, "--config", self.config, "--kind", "payables",
                     "--period", "2024-04-01..2024-04-10", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = self.pdf_text(out)
        for want in ("Payables aging and cash requirements",
                     "Payables aging as of 2024-04-10",
                     "Total AP 3 1,100.00 100.00",
                     "1-30 2 900.00 81.82",
                     "apac 1 0.00 300.00 300.00", "emea 2 200.00 600.00 800.00",
                     "1 V1 2 200.00 600.00 800.00", "2 V2 1 0.00 300.00 300.00",
                     # B1's 600.00 and B2's 300.00 are past due on 04-10.
                     "Overdue 2024-04-09 2 900.00",
                     "Week 1 2024-04-10 2024-04-14 1 200.00",
                     "Week 2 2024-04-15 2024-04-21 0 0.00",
                     "Total 3 1,100.00"):
            self.assertIn(want, text)
        # Over HTTP, for one unit: its vendors only.
        st, js, raw = self.srv.post("/v1/reports", {"kind": "payables", "period": "2024-04",
                                                    "business_unit": "emea"},
                                    headers={"Authorization": "Bearer " + self.keys["admin"]})
        self.assertIn(st, (200, 201), raw)
        self.assertEqual(js["kind"], "payables")
        st, _, pdf = self.ask(js["url"], "admin")
        self.assertEqual(st, 200)
        with open(out, "wb") as f:
            f.write(pdf)
        text = self.pdf_text(out)
        self.assertIn("Payables aging as of 2024-04-30", text)
        self.assertIn("1 V1 1 0.00 200.00 200.00", text)  # B3 only: B1 is paid off
        self.assertNotIn("V2", text)
        self.assertIn("Total AP 1 200.00", text)
        r = run_kpid("report", "--data", self.data, "--kind", "payables", "--period", "2024-04",
                     "--business-unit", "mars", "--out", out)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"unknown business unit 'mars'", r.stderr)


class Generated(unittest.TestCase):
    """A generated book: every answer equals the figure computed from the events."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-ap-gen-")
        data = os.path.join(cls.tmp, "data")
        gen = os.path.join(cls.tmp, "g.ndjson")
        r = run_kpid("gen", "--invoices", "600", "--seed", "16", "--out", gen)
        assert r.returncode == 0, r.stderr
        r = run_kpid("ingest", "--data", data, "--quiet", gen)
        assert r.returncode == 0, r.stderr
        with open(gen) as f:
            events = [json.loads(line) for line in f if line.strip()]
        cls.bills = {}
        for e in events:
            if e["type"] == "bill.received":
                cls.bills[e["bill"]] = {
                    "cur": e.get("currency", "USD"), "unit": e["business_unit"],
                    "vendor": e["vendor"], "recv": day(e["time"]),
                    "due": day(e["due_date"]) if "due_date" in e
                    else day(e["time"]) + e["terms_days"],
                    "amount": minor(e["amount"], e.get("currency", "USD")), "paid": []}
        for e in events:
            if e["type"] == "bill.paid":
                b = cls.bills[e["bill"]]
                b["paid"].append((day(e["time"]), minor(e["amount"], b["cur"])))
        cls.last = max(day(e["time"]) for e in events)
        cls.srv = Server(data).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, log
        assert "Sanitizer" not in log, log

    def get(self, path):
        st, js, raw = self.srv.get(path)
        self.assertEqual(st, 200, (path, raw))
        return js

    def open_at(self, b, as_of):
        if b["recv"] > as_of:
            return 0
        return b["amount"] - sum(a for d, a in b["paid"] if max(d, b["recv"]) <= as_of)

    def test_equal_to_the_events(self):
        self.assertGreater(len(self.bills), 50)
        curs = sorted({b["cur"] for b in self.bills.values()})
        days = [self.last - 400, self.last - 120, self.last - 17, self.last]
        checked = 0
        for cur in curs:
            units = sorted({b["unit"] for b in self.bills.values() if b["cur"] == cur})
            for unit in [None] + units:
                for as_of in days:
                    mine = [b for b in self.bills.values()
                            if b["cur"] == cur and (unit is None or b["unit"] == unit)]
                    want = [0] * (len(EDGES) + 2)
                    count = [0] * (len(EDGES) + 2)
                    for b in mine:
                        o = self.open_at(b, as_of)
                        if o:
                            want[bucket_of(as_of - b["due"])] += o
                            count[bucket_of(as_of - b["due"])] += 1
                    q = "currency=%s&as_of=%s%s" % (cur, iso(as_of),
                                                     "&business_unit=" + unit if unit else "")
                    ag = self.get("/v1/payables/aging?%s&group_by=vendor" % q)
                    self.assertEqual([minor(x["amount"], cur) for x in ag["buckets"]], want, q)
                    self.assertEqual([x["count"] for x in ag["buckets"]], count, q)
                    total = minor(ag["total"]["amount"], cur)
                    self.assertEqual(sum(minor(g["total"]["amount"], cur) for g in ag["groups"]),
                                     total, q)
                    dpo = self.get("/v1/dpo?%s&from=%s&to=%s" % (
                        q.split("&as_of")[0] + ("&business_unit=" + unit if unit else ""),
                        iso(as_of), iso(as_of)))
                    self.assertEqual(minor(dpo["points"][0]["ap"], cur), total, q)
                    cr = self.get("/v1/payables/cash-requirements?%s&weeks=6" % q)
                    lines = [cr["overdue"]] + cr["due"] + [cr["later"]]
                    self.assertEqual(sum(minor(x["amount"], cur) for x in lines), total, q)
                    self.assertEqual(minor(cr["overdue"]["amount"], cur),
                                     sum(want[1:]), q)
                    for w in cr["due"]:
                        lo, hi = day(w["from"]), day(w["to"])
                        self.assertEqual(minor(w["amount"], cur), sum(
                            self.open_at(b, as_of) for b in mine if lo <= b["due"] <= hi), q)
                    checked += 1
        self.assertGreater(checked, 8)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
