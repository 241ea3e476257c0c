"""Worklists end to end (docs/worklists.md): GET /v1/worklists/overdue and
/v1/worklists/unapplied.

  - on a generated book (`kpid gen`, `kpid ingest`), for every currency,
    several as-of days (past ones too) and every business unit and a few
    customers: the rows of every page add up to the overdue part of
    /v1/aging for the same parameters, count and amount, and to the list's
    `total`; each row is past due by as_of - due_date days, in its bucket;
  - the sorts order the rows; JSON and CSV pages agree, CSV carries the
    cursor in X-Next-Cursor;
  - a key limited to a business unit sees only its unit's rows, the same
    as an unscoped key asking for that unit, never another unit's customer;
  - paging stays exact while events arrive between pages: no row twice,
    every row that was on the list before and after is listed once;
  - every bad parameter is a 400 naming it; unknown unit or customer 404.
"""
import csv
import datetime
import io
import json
import os
import shutil
import tempfile
import unittest
from decimal import Decimal

import kpidtest
from kpidtest import add_key, Server, ndjson, run_kpid

DIGITS = {"JPY": 0, "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3}
EPOCH = datetime.date(1970, 1, 1)


def minor(amount, currency):
    return int(Decimal(amount) * (10 ** DIGITS.get(currency, 2)))


def day(s):
    return (datetime.date.fromisoformat(s[:10]) - EPOCH).days


def iso(d):
    return (EPOCH + datetime.timedelta(days=d)).isoformat()



class Book(unittest.TestCase):
    """One generated book behind a server with keys: unscoped and emea-only."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-wl-")
        cls.data = os.path.join(cls.tmp, "data")
        gen = os.path.join(cls.tmp, "g.ndjson")
        r = run_kpid("gen", "--invoices", "700", "--seed", "12", "--out", gen)
        assert r.returncode == 0, r.stderr
        r = run_kpid("ingest", "--data", cls.data, "--quiet", gen)
        assert r.returncode == 0, r.stderr
        with open(gen) as f:
            cls.events = [json.loads(line) for line in f if line.strip()]
        cls.config = os.path.join(cls.tmp, "kpid.json")
        with open(cls.config, "w") as f:
            json.dump({}, f)
        cls.keys = {"read": add_key(cls.config, "all", "read"),
                    "emea": add_key(cls.config, "emea", "read", "emea"),
                    "ingest": add_key(cls.config, "feed", "ingest")}
        cls.srv = Server(cls.data, ["--config", cls.config]).start()
        cls.srv.headers = {"Authorization": "Bearer " + cls.keys["read"]}
        invs = [e for e in cls.events if e["type"] == "invoice.issued"]
        cls.currencies = sorted({e.get("currency", "USD") for e in invs})
        cls.units = sorted({e["business_unit"] for e in invs})
        cls.first = min(day(e["time"]) for e in invs)
        cls.last = max(day(e["time"]) for e in cls.events)
        cls.unit_of = {e["customer"]: set() for e in invs}
        for e in invs:
            cls.unit_of[e["customer"]].add(e["business_unit"])

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, log
        assert "Sanitizer" not in log, log

    def get(self, path, key="read"):
        st, js, raw = self.srv.get(path, headers={"Authorization": "Bearer " + self.keys[key]})
        self.assertEqual(st, 200, (path, raw))
        return js

    def pages(self, query, limit, key="read", wl="overdue"):
        """Every row of the list, following next_cursor; and the first page."""
        rows, first, cursor = [], None, None
        while True:
            q = "/v1/worklists/%s?%s&limit=%d" % (wl, query, limit)
            if cursor:
                q += "&cursor=" + cursor
            page = self.get(q, key)
            first = first or page
            self.assertLessEqual(len(page["items"]), limit)
            rows += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                return rows, first
            self.assertEqual(len(page["items"]), limit)

    def overdue_of_aging(self, query, key="read"):
        ag = self.get("/v1/aging?" + query, key)
        cur = ag["currency"]
        over = [b for b in ag["buckets"] if b["label"] != "current"]
        return sum(minor(b["amount"], cur) for b in over), sum(b["count"] for b in over)

    def check_list(self, query, cur, as_of, limit=97):
        rows, first = self.pages(query, limit)
        want_amount, want_count = self.overdue_of_aging(query)
        got = sum(minor(r["open"], cur) for r in rows)
        self.assertEqual((got, len(rows)), (want_amount, want_count), query)
        self.assertEqual(minor(first["total"]["amount"], cur), want_amount, query)
        self.assertEqual(first["total"]["count"], want_count, query)
        self.assertEqual(len({r["invoice"] for r in rows}), len(rows), query)
        keys = [(-r["days_past_due"], r["invoice"]) for r in rows]
        self.assertEqual(keys, sorted(keys), query)
        for r in rows:
            self.assertEqual(r["days_past_due"], as_of - day(r["due_date"]))
            self.assertGreaterEqual(r["days_past_due"], 1)
            self.assertNotEqual(r["bucket"], "current")
            self.assertNotEqual(minor(r["open"], cur), 0)
        return rows

    def test_sums_equal_the_aging(self):
        days = [self.first + 100, (self.first + self.last) // 2, self.last - 3, self.last,
                self.last + 45]
        seen = 0
        for cur in self.currencies:
            for d in days:
                base = "as_of=%s&currency=%s" % (iso(d), cur)
                rows = self.check_list(base, cur, d)
                seen += len(rows)
                by_unit = 0
                for u in self.units:
                    if u not in self.book_units(cur):
                        # No documents of the unit in this book: the aging
                        # says 404 (docs/kpi.md), the list is empty.
                        self.assertEqual(self.pages(base + "&business_unit=" + u, 50)[0], [])
                        continue
                    ur = self.check_list(base + "&business_unit=" + u, cur, d)
                    self.assertTrue(all(r["business_unit"] == u for r in ur))
                    by_unit += len(ur)
                self.assertEqual(by_unit, len(rows))
                for c in sorted({r["customer"] for r in rows})[:3]:
                    cr = self.check_list(base + "&customer=" + c, cur, d, limit=5)
                    self.assertTrue(all(r["customer"] == c for r in cr))
        self.assertGreater(seen, 100)  # the book has overdue items to check

    def book_units(self, cur):
        """The units with documents in the book of cur (GET /v1/meta)."""
        return self.get("/v1/meta?currency=" + cur, "read")["business_units"]

    def check_unapplied(self, query, cur, as_of, limit=41, key="read"):
        rows, first = self.pages(query, limit, key=key, wl="unapplied")
        want = minor(self.get("/v1/aging?" + query, key)["unapplied_cash"], cur)
        self.assertEqual(sum(minor(r["unapplied"], cur) for r in rows), want, query)
        self.assertEqual(minor(first["total"]["amount"], cur), want, query)
        self.assertEqual(first["total"]["count"], len(rows), query)
        self.assertEqual(len({r["payment"] for r in rows}), len(rows), query)
        keys = [(-r["age_days"], r["payment"]) for r in rows]
        self.assertEqual(keys, sorted(keys), query)
        for r in rows:
            self.assertEqual(r["age_days"], as_of - day(r["received_date"]))
            self.assertNotEqual(minor(r["unapplied"], cur), 0)
        return rows

    def test_unapplied_sums_equal_the_aging(self):
        days = [self.first + 60, (self.first + self.last) // 2, self.last, self.last + 10]
        seen = 0
        for cur in self.currencies:
            for d in days:
                base = "as_of=%s&currency=%s" % (iso(d), cur)
                rows = self.check_unapplied(base, cur, d)
                seen += len(rows)
                for u in self.units:
                    if u not in self.book_units(cur):
                        self.assertEqual(self.pages(base + "&business_unit=" + u, 50,
                                                    wl="unapplied")[0], [])
                        continue
                    ur = self.check_unapplied(base + "&business_unit=" + u, cur, d)
                    self.assertTrue(all(r["business_unit"] == u for r in ur))
                for c in sorted({r["customer"] for r in rows})[:2]:
                    self.check_unapplied(base + "&customer=" + c, cur, d, limit=3)
        self.assertGreater(seen, 10)
        # A unit-limited key: its unit's list, equal to the unscoped one's.
        q = "as_of=%s&currency=EUR" % iso(self.last)
        mine = self.check_unapplied(q, "EUR", self.last, key="emea")
        ref = self.check_unapplied(q + "&business_unit=emea", "EUR", self.last)
        self.assertEqual(mine, ref)
        self.assertEqual(self.pages(q.replace("EUR", "USD"), 1000, key="emea",
                                    wl="unapplied")[0], [])
        # Sorts, CSV, and the refusals of this list.
        q = "as_of=%s&currency=USD" % iso(self.last)
        rows, _ = self.pages(q + "&sort=-amount", 1000, wl="unapplied")
        keys = [(-minor(r["unapplied"], "USD"), r["payment"]) for r in rows]
        self.assertEqual(keys, sorted(keys))
        st, _, raw = self.srv.get("/v1/worklists/unapplied?%s&format=csv&limit=10000" % q)
        self.assertEqual(st, 200)
        lines = list(csv.reader(io.StringIO(raw.decode())))
        self.assertEqual(lines[0], ["payment", "customer", "customer_name", "business_unit",
                                    "received_date", "age_days", "amount", "unapplied"])
        self.assertEqual(sorted(l[0] for l in lines[1:]), sorted(r["payment"] for r in rows))
        ov = self.get("/v1/worklists/overdue?%s&limit=1" % q)["next_cursor"]
        for bad, what in (("&cursor=" + ov, "another worklist"), ("&buckets=30", "buckets"),
                          ("&sort=age", "sort"), ("&business_unit=nowhere", None)):
            st, body, raw = self.srv.get("/v1/worklists/unapplied?" + q + bad)
            self.assertEqual(st, 404 if what is None else 400, (bad, raw))
            if what:
                self.assertIn(what, body["error"]["message"])

    def test_quality_counts_equal_the_ftq(self):
        months = sorted({iso(day(e["time"]))[:7] for e in self.events})
        periods = [(months[0] + "-01", iso(self.last)), (months[3] + "-01", months[5] + "-28"),
                   (months[len(months) // 2] + "-01", months[len(months) // 2] + "-28")]
        seen = {"invoice": 0, "bill": 0}
        for kind, reasons in (("invoice", ["failed_first_review", "corrected"]),
                              ("bill", ["rejected", "escalated"])):
            for f, t in periods:
                for unit in [None] + self.units:
                    q = "kind=%s&from=%s&to=%s" % (kind, f, t)
                    if unit:
                        q += "&business_unit=" + unit
                    ftq = self.get("/v1/ftq?%s&interval=month" % q)
                    reviewed = sum(p["reviewed"] for p in ftq["points"])
                    passed = sum(p["passed"] for p in ftq["points"])
                    rows, first = self.pages(q, 23, wl="quality")
                    self.assertEqual(len(rows), reviewed - passed, q)
                    self.assertEqual(first["total"]["count"], reviewed - passed, q)
                    self.assertEqual(first["reviewed"], reviewed, q)
                    self.assertEqual(sorted(first["by_reason"]), sorted(reasons))
                    for r in reasons:
                        self.assertEqual(first["by_reason"][r],
                                         sum(r in x["reasons"] for x in rows), q)
                    self.assertEqual(len({r["document"] for r in rows}), len(rows))
                    for r in rows:
                        self.assertTrue(f <= r["date"] <= t)
                        self.assertTrue(set(r["reasons"]) <= set(reasons))
                        if unit:
                            self.assertEqual(r["business_unit"], unit)
                    keys = [(-day(r["date"]), r["document"]) for r in rows]
                    self.assertEqual(keys, sorted(keys))
                    seen[kind] += len(rows)
        self.assertGreater(seen["invoice"], 0)
        self.assertGreater(seen["bill"], 0)
        q = "kind=invoice&from=%s-01&to=%s" % (months[0], iso(self.last))
        # A unit-limited key: its unit's rows only, as the unscoped key's.
        mine, _ = self.pages(q, 1000, key="emea", wl="quality")
        ref, _ = self.pages(q + "&business_unit=emea", 1000, wl="quality")
        self.assertEqual(mine, ref)
        self.assertTrue(mine)
        # CSV, and the refusals.
        st, _, raw = self.srv.get("/v1/worklists/quality?%s&format=csv&limit=10000" % q)
        lines = list(csv.reader(io.StringIO(raw.decode())))
        self.assertEqual(lines[0][:2], ["invoice", "customer"])
        allrows, _ = self.pages(q, 10000, wl="quality")
        self.assertEqual([l[0] for l in lines[1:]], [r["document"] for r in allrows])
        for bad, what in (("&kind=po", "kind"), ("&vendor=V", "vendor"),
                          ("&kind=bill&customer=C", "customer"), ("&from=2025-13-01", "from"),
                          ("&as_of=2025-01-01", "as_of")):
            st, body, raw = self.srv.get("/v1/worklists/quality?to=%s%s" % (iso(self.last), bad))
            self.assertEqual(st, 400, (bad, raw))
            self.assertIn(what, body["error"]["message"])
        st, body, _ = self.srv.get("/v1/worklists/quality?kind=bill&vendor=NOBODY")
        self.assertEqual((st, body["error"]["message"]), (404, "unknown vendor 'NOBODY'"))

    def test_sla_counts_equal_the_sla(self):
        slas = [x["name"] for x in self.get("/v1/meta")["slas"]]
        self.assertIn("ap-processing", slas)
        months = sorted({iso(day(e["time"]))[:7] for e in self.events})
        periods = [(months[0] + "-01", iso(self.last)), (months[4] + "-01", months[6] + "-28"),
                   (months[-3] + "-01", months[-2] + "-28")]
        seen = 0
        for name in slas:
            for f, t in periods:
                for unit in [None] + self.units:
                    q = "sla=%s&from=%s&to=%s" % (name, f, t)
                    if unit:
                        q += "&business_unit=" + unit
                    pts = self.get("/v1/sla?%s&interval=month" % q)["points"]
                    late = sum(p["completed"] - p["met"] for p in pts)
                    rows, first = self.pages(q, 29, wl="sla")
                    self.assertEqual(first["breached_open"], pts[-1]["breached_open"], q)
                    self.assertEqual(first["completed_late"], late, q)
                    self.assertEqual(sum(r["status"] == "breached_open" for r in rows),
                                     pts[-1]["breached_open"], q)
                    self.assertEqual(sum(r["status"] == "completed_late" for r in rows), late, q)
                    self.assertEqual(first["total"]["count"], len(rows))
                    self.assertEqual(len({r["document"] for r in rows}), len(rows))
                    for r in rows:
                        self.assertLess(r["target_date"], r["stop_date"] or t)
                        if r["status"] == "completed_late":
                            self.assertTrue(f <= r["stop_date"] <= t)
                        if unit:
                            self.assertEqual(r["business_unit"], unit)
                    keys = [(-r["business_days_late"], r["document"]) for r in rows]
                    self.assertEqual(keys, sorted(keys))
                    seen += len(rows)
        self.assertGreater(seen, 0)
        q = "sla=ap-processing&from=%s-01&to=%s" % (months[0], iso(self.last))
        mine, _ = self.pages(q, 1000, key="emea", wl="sla")
        ref, _ = self.pages(q + "&business_unit=emea", 1000, wl="sla")
        self.assertEqual(mine, ref)
        st, _, raw = self.srv.get("/v1/worklists/sla?%s&format=csv&limit=10000" % q)
        lines = list(csv.reader(io.StringIO(raw.decode())))
        self.assertEqual(lines[0][0], "document")
        allrows, _ = self.pages(q, 10000, wl="sla")
        self.assertEqual([l[0] for l in lines[1:]], [r["document"] for r in allrows])
        for bad, what in (("", "sla"), ("&sla=nope", "sla"), ("&sla=billing&sort=-amount", "sort"),
                          ("&sla=billing&as_of=2025-01-01", "as_of")):
            st, body, raw = self.srv.get("/v1/worklists/sla?to=%s%s" % (iso(self.last), bad))
            self.assertEqual(st, 400, (bad, raw))
            self.assertIn(what, body["error"]["message"])

    def test_a_past_day_lists_what_was_open_then(self):
        # Some invoice overdue at an earlier day is paid by the latest day.
        d = (self.first + self.last) // 2
        then, _ = self.pages("as_of=%s&currency=USD" % iso(d), 1000)
        now, _ = self.pages("as_of=%s&currency=USD" % iso(self.last), 1000)
        self.assertTrue({r["invoice"] for r in then} - {r["invoice"] for r in now})

    def test_sorts(self):
        q = "as_of=%s&currency=USD" % iso(self.last)
        rows, first = self.pages(q + "&sort=-amount", 50)
        self.assertEqual(first["sort"], "-amount")
        keys = [(-minor(r["open"], "USD"), r["invoice"]) for r in rows]
        self.assertEqual(keys, sorted(keys))
        rows2, _ = self.pages(q + "&sort=customer", 50)
        keys = [(r["customer"].encode(), -r["days_past_due"], r["invoice"]) for r in rows2]
        self.assertEqual(keys, sorted(keys))
        self.assertEqual(sorted(r["invoice"] for r in rows), sorted(r["invoice"] for r in rows2))
        rows3, first = self.pages(q, 50)
        self.assertEqual(first["sort"], "-days")
        rows4, _ = self.pages(q + "&sort=-days", 50)
        self.assertEqual(rows3, rows4)

    def test_row_facts(self):
        rows, _ = self.pages("as_of=%s&currency=USD" % iso(self.last), 1000)
        # last_payment: the customer's latest payment received by as_of.
        pays = {}
        for e in self.events:
            if e["type"] == "payment.received" and e.get("currency", "USD") == "USD" \
                    and day(e["time"]) <= self.last:
                pays[e["customer"]] = e
        for r in rows:
            p = pays.get(r["customer"])
            if p is None:
                self.assertIsNone(r["last_payment"])
            else:
                self.assertEqual(day(r["last_payment"]["date"]), day(p["time"]))
            self.assertIsInstance(r["on_credit_hold"], bool)
            self.assertIsInstance(r["disputed"], bool)

    def test_csv_pages_match_json(self):
        q = "/v1/worklists/overdue?as_of=%s&currency=USD&limit=7" % iso(self.last)
        js = self.get(q)
        st, _, raw = self.srv.get(q + "&format=csv")
        self.assertEqual(st, 200)
        cursor = self.srv.last_headers.get("X-Next-Cursor")
        lines = list(csv.reader(io.StringIO(raw.decode())))
        self.assertEqual(lines[0][:4], ["invoice", "customer", "customer_name", "business_unit"])
        self.assertEqual([l[0] for l in lines[1:]], [r["invoice"] for r in js["items"]])
        self.assertEqual([l[2] for l in lines[1:]], [r["customer_name"] for r in js["items"]])
        self.assertEqual([l[9] for l in lines[1:]], [r["open"] for r in js["items"]])
        self.assertEqual(cursor, js["next_cursor"])
        st, _, raw2 = self.srv.get(q + "&format=csv&cursor=" + cursor)
        js2 = self.get(q + "&cursor=" + cursor)
        lines = list(csv.reader(io.StringIO(raw2.decode())))
        self.assertEqual([l[0] for l in lines[1:]], [r["invoice"] for r in js2["items"]])
        # The last page has no cursor header.
        st, _, _ = self.srv.get(q.replace("limit=7", "limit=10000") + "&format=csv")
        self.assertIsNone(self.srv.last_headers.get("X-Next-Cursor"))

    def test_scoped_key_sees_its_unit_only(self):
        # A mid-history day, when emea (EUR) has overdue items.
        q = "as_of=%s&currency=EUR" % iso((self.first + self.last) // 2)
        mine, first = self.pages(q, 40, key="emea")
        self.assertEqual(first["business_unit"], "emea")
        self.assertTrue(mine)
        self.assertTrue(all(r["business_unit"] == "emea" for r in mine))
        ref, _ = self.pages(q + "&business_unit=emea", 40)
        strip = lambda rs: [dict(r, on_credit_hold=None) for r in rs]
        self.assertEqual(mine, strip(ref))
        self.assertTrue(all(r["on_credit_hold"] is None for r in mine))
        amount, count = self.overdue_of_aging(q, key="emea")
        self.assertEqual((sum(minor(r["open"], "EUR") for r in mine), len(mine)), (amount, count))
        # emea has no USD invoices: other units' USD rows never show.
        usd = q.replace("EUR", "USD")
        self.assertTrue(self.pages(usd, 1000)[0])
        self.assertEqual(self.pages(usd, 1000, key="emea")[0], [])
        # Another unit: 403; a customer only in another unit reads as unknown.
        st, body, _ = self.srv.get("/v1/worklists/overdue?%s&business_unit=apac" % q,
                                   headers={"Authorization": "Bearer " + self.keys["emea"]})
        self.assertEqual(st, 403)
        self.assertIn("may not see business unit 'apac'", body["error"]["message"])
        other = sorted(c for c, us in self.unit_of.items() if "emea" not in us)[0]
        st, body, _ = self.srv.get("/v1/worklists/overdue?%s&customer=%s" % (q, other),
                                   headers={"Authorization": "Bearer " + self.keys["emea"]})
        self.assertEqual(st, 404)
        self.assertEqual(body["error"]["message"],
                         "unknown customer '%s' in business unit 'emea'" % other)
        st, body, _ = self.srv.get("/v1/worklists/overdue?%s&customer=NOBODY" % q,
                                   headers={"Authorization": "Bearer " + self.keys["emea"]})
        self.assertEqual(st, 404)
        self.assertEqual(body["error"]["message"],
                         "unknown customer 'NOBODY' in business unit 'emea'")

    def test_bad_parameters(self):
        base = "/v1/worklists/overdue?as_of=%s" % iso(self.last)
        page = self.get(base + "&limit=1")
        cur = page["next_cursor"]
        self.assertIsNotNone(cur)
        st, body, _ = self.srv.get("/v1/worklists/overdue?as_of=2025-02-30")
        self.assertEqual(st, 400)
        self.assertIn("as_of", body["error"]["message"])
        for q, what in (("&sort=days", "sort"), ("&limit=0", "limit"), ("&limit=10001", "limit"),
                        ("&limit=x", "limit"), ("&cursor=zz", "cursor"),
                        ("&cursor=6869", "cursor"), ("&sort=-amount&cursor=" + cur, "cursor"),
                        ("&buckets=30,20", "buckets"),
                        ("&currency=XXX", "currency"), ("&format=xml", "format"),
                        ("&unknown=1", "unknown")):
            st, body, raw = self.srv.get(base + q)
            self.assertEqual(st, 400, (q, raw))
            self.assertIn(what, body["error"]["message"], q)
        # A cursor of another day, asked with that other day.
        st, body, _ = self.srv.get("/v1/worklists/overdue?as_of=%s&cursor=%s"
                                   % (iso(self.last - 1), cur))
        self.assertEqual(st, 400)
        self.assertIn("another as_of", body["error"]["message"])
        # Without as_of, the cursor's day is used.
        self.assertEqual(self.get("/v1/worklists/overdue?limit=1&cursor=" + cur)["as_of"],
                         iso(self.last))
        # An unknown unit is answered with the known ones (as the KPIs).
        units = ", ".join(self.book_units("USD"))
        for q, msg in (("&business_unit=nowhere", "unknown business unit 'nowhere'; known "
                        "business units in USD: %s (names are case-sensitive)" % units),
                       ("&customer=NOBODY", "unknown customer 'NOBODY'")):
            st, body, _ = self.srv.get(base + q)
            self.assertEqual(st, 404, q)
            self.assertEqual(body["error"]["message"], msg)
        # A currency the store has no documents in: 400 naming those it has.
        for path in ("overdue", "unapplied"):
            st, body, _ = self.srv.get("/v1/worklists/%s?currency=CHF" % path)
            self.assertEqual(st, 400, path)
            self.assertIn("the store has no documents in CHF", body["error"]["message"])
            self.assertIn("currencies with data: %s" % ", ".join(self.currencies),
                          body["error"]["message"])


class PagingUnderIngest(unittest.TestCase):
    """Events arrive between the pages of one listing: new overdue invoices
    (before and after the cursor) and payments that clear listed ones."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-wlp-")
        self.data = os.path.join(self.tmp, "data")
        gen = os.path.join(self.tmp, "g.ndjson")
        r = run_kpid("gen", "--invoices", "400", "--seed", "21", "--out", gen)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_kpid("ingest", "--data", self.data, "--quiet", gen)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(gen) as f:
            self.last = max(day(json.loads(l)["time"]) for l in f if l.strip())
        self.srv = Server(self.data).start()

    def tearDown(self):
        rc = self.srv.stop()
        log = self.srv.log()
        shutil.rmtree(self.tmp, ignore_errors=True)
        self.assertEqual(rc, 0, log)
        self.assertNotIn("Sanitizer", log)

    def listing(self, q):
        st, js, raw = self.srv.get(q + "&limit=10000")
        self.assertEqual(st, 200, raw)
        self.assertIsNone(js["next_cursor"])
        return js["items"]

    def test_paging_is_stable_while_events_arrive(self):
        as_of = self.last + 20
        q = "/v1/worklists/overdue?as_of=%s&currency=USD" % iso(as_of)
        before = self.listing(q)
        self.assertGreater(len(before), 8)
        key = lambda r: (-r["days_past_due"], r["invoice"])
        seen, cursor, batch, cleared = [], None, 0, set()
        while True:
            st, page, raw = self.srv.get(q + "&limit=3" + ("&cursor=" + cursor if cursor else ""))
            self.assertEqual(st, 200, raw)
            seen += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
            # Between two pages: an invoice far past due (before the cursor),
            # one barely past due (after it), and a payment clearing a row
            # further down the list.
            batch += 1
            evs = []
            for n, days in (("A", 400 + batch), ("B", 1)):
                evs.append({"id": "wl-%s%d" % (n, batch), "type": "invoice.issued",
                            "time": iso(as_of - days - 30), "invoice": "WL-%s%d" % (n, batch),
                            "customer": "WL-CUST", "amount": "100.00", "terms_days": 30,
                            "business_unit": "americas", "currency": "USD"})
            later = [r for r in before if key(r) > key(page["items"][-1])
                     and not r["open"].startswith("-") and r["invoice"] not in cleared]
            victim = later[len(later) // 2] if later else None
            if victim is not None:
                cleared.add(victim["invoice"])
                evs.append({"id": "wl-p%d" % batch, "type": "payment.received",
                            "time": iso(self.last), "payment": "WL-P%d" % batch,
                            "customer": victim["customer"], "currency": "USD",
                            "amount": victim["open"], "method": "wire",
                            "business_unit": victim["business_unit"] or "americas"})
                evs.append({"id": "wl-q%d" % batch, "type": "payment.applied",
                            "time": iso(self.last), "payment": "WL-P%d" % batch,
                            "invoice": victim["invoice"], "currency": "USD",
                            "amount": victim["open"]})
            st, body, raw = self.srv.post("/v1/events", ndjson(evs),
                                          ctype="application/x-ndjson")
            self.assertEqual((st, body["accepted"]), (200, len(evs)), raw)
        self.assertGreater(batch, 2)
        after = self.listing(q)
        names = [r["invoice"] for r in seen]
        self.assertEqual(len(names), len(set(names)), "a row listed twice")
        self.assertEqual([key(r) for r in seen], sorted(key(r) for r in seen))
        stayed = {r["invoice"] for r in before} & {r["invoice"] for r in after}
        self.assertTrue(stayed <= set(names), stayed - set(names))
        # Cleared rows left, and the new rows after the cursor were seen.
        self.assertTrue(cleared)
        self.assertFalse(cleared & {r["invoice"] for r in after})
        self.assertLess(len(stayed), len(before))
        self.assertTrue(any(n.startswith("WL-B") for n in names))
        self.assertFalse(any(n.startswith("WL-A") for n in names))


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
