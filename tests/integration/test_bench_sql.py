"""kpid's KPI answers equal the SQL baseline's (bench/sqlbaseline.py).

A seeded generated book (100,000 invoices by default, about 500,000
events) is loaded with `kpid ingest` and, independently, into SQLite with
the baseline's schema and indexes; for several as-of dates and currencies
every benchmarked query (aging by unit, payables aging and cash
requirements, DSO, CEI, DPO, roll-forward, SLA,
FTQ series over 24 months, a customer profile) must give identical answers,
field by field. The comparison must be able to fail: after changing one
event in the SQLite copy, the affected answers differ.

No timing is measured or asserted here: timings live in bench/run.
--invoices N (or KPID_BENCH_SQL_INVOICES) changes the size.
"""
import os
import shutil
import sys
import tempfile
import time
import unittest

import kpidtest
from kpidtest import Server, run_kpid

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench"))
import sqlbaseline as sb  # noqa: E402

INVOICES = int(os.environ.get("KPID_BENCH_SQL_INVOICES", "100000"))
CURRENCIES = ("USD", "EUR", "JPY", "KWD")
# The questions that depend on as_of: asked at several days (the others once).
AS_OF_QUERIES = ("aging-bu", "aging-all", "top-overdue-100", "customer", "ap-aging-bu",
                 "ap-cashreq-13w")


class SqlBaseline(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-bench-sql-")
        cls.gen = os.path.join(cls.tmp, "g.ndjson")
        cls.data = os.path.join(cls.tmp, "data")
        # Progress on stderr (where the time goes; nothing asserts on it).
        t0 = time.monotonic()
        r = run_kpid("gen", "--invoices", str(INVOICES), "--seed", "5", "--out", cls.gen)
        assert r.returncode == 0, r.stderr
        t1 = time.monotonic()
        r = run_kpid("ingest", "--data", cls.data, "--quiet", cls.gen, timeout=900)
        assert r.returncode == 0, r.stderr
        t2 = time.monotonic()
        cls.db = sb.connect(os.path.join(cls.tmp, "baseline.db"))
        cls.events = sb.load(cls.db, cls.gen)
        print("%d invoices: gen %.0f s, kpid ingest %.0f s, SQLite load %.0f s"
              % (INVOICES, t1 - t0, t2 - t1, time.monotonic() - t2), file=sys.stderr)
        cls.lo, cls.hi, cls.custs = sb.book_facts(cls.db)
        cls.periods = sb.last_24_months(cls.hi)
        cls.srv = Server(cls.data).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log()
        cls.db.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0 and "Sanitizer" not in log, log

    def get(self, path):
        st, _, raw = self.srv.get(path)
        self.assertEqual(st, 200, "%s: %s" % (path, raw[:300]))
        return raw

    def queries(self, as_of, cur):
        # The customer with the most invoices in the currency (the largest
        # profile) and the median one.
        custs = [c for c, ccur, _ in self.custs if ccur == cur]
        return sb.queries(as_of, self.periods, custs[0], cur, cur,
                          median=(custs[len(custs) // 2], cur))

    def test_generated_book_is_big_enough(self):
        self.assertGreater(self.events, INVOICES * 4)
        self.assertGreaterEqual(len(self.periods), 24)

    def test_every_answer_equals_sql(self):
        span = self.hi - self.lo
        dates = [sb.iso(self.lo + span * k // 4) for k in (1, 2, 3)] + [sb.iso(self.hi)]
        checked = 0
        for cur in CURRENCIES:
            for as_of in dates if cur == "USD" else dates[-1:]:
                for q in self.queries(as_of, cur):
                    # Series do not depend on as_of: check them once per currency.
                    if (q.name not in AS_OF_QUERIES and as_of != dates[-1]):
                        continue
                    with self.subTest(query=q.name, as_of=as_of, currency=cur):
                        ok, diff = q.check(self.db, self.get(q.path))
                        self.assertTrue(ok, "%s %s: %s" % (q.path, as_of, diff))
                        checked += 1
        n = len(self.queries(dates[-1], "USD"))
        self.assertEqual(checked, n * len(CURRENCIES) + len(AS_OF_QUERIES) * 3)

    def test_answers_are_not_empty(self):
        # A comparison of two empty answers would prove nothing.
        as_of = sb.iso(self.lo + (self.hi - self.lo) // 2)
        for q in self.queries(as_of, "USD"):
            ans = q.sql(self.db)
            if "points" in ans:
                self.assertTrue(any(p["value"] not in (None, "0.00") for p in ans["points"]),
                                q.name)
            elif q.name in ("aging-bu", "ap-aging-bu"):
                self.assertGreater(ans["total"]["count"], 0)
                self.assertGreater(len(ans["groups"]), 1)
            elif q.name == "ap-cashreq-13w":
                self.assertGreater(sum(w["count"] for w in ans["due"]), 0)
                self.assertGreater(ans["overdue"]["count"] + ans["later"]["count"], 0)
            elif q.name == "top-overdue-100":
                self.assertGreater(len(ans["groups"]), 10)
            elif q.name == "customer":  # the biggest customer; the median may owe nothing
                self.assertGreater(len(ans["open_items"]), 0)
                self.assertIsNotNone(ans["payment_habits"]["days_to_pay"])

    def test_a_changed_event_is_caught(self):
        """Change one event of each kind in the SQLite copy (inside a
        transaction rolled back afterwards): the affected answers differ."""
        as_of = sb.iso(self.hi)
        cust = next(c for c, ccur, _ in self.custs if ccur == "USD")
        qs = {q.name: q for q in self.queries(as_of, "USD")}
        bodies = {n: self.get(q.path) for n, q in qs.items()}
        last_month = self.periods[-1]
        mutations = [
            # One cent more applied to one of the customer's invoices, last month.
            ("UPDATE events SET amount = amount + 1 WHERE id = (SELECT e.id FROM events e "
             "JOIN events i ON i.invoice = e.invoice AND i.type = 'invoice.issued' "
             "WHERE e.type = 'payment.applied' AND i.customer = ? AND i.currency = 'USD' "
             "AND e.day BETWEEN ? AND ? ORDER BY e.id LIMIT 1)",
             (cust, last_month[0], last_month[1]),
             ("aging-bu", "dso-24m", "cei-24m", "rollfwd-24m", "customer")),
            # One cent more paid on a USD bill last month.
            ("UPDATE events SET amount = amount + 1 WHERE id = (SELECT e.id FROM events e "
             "JOIN events b ON b.bill = e.bill AND b.type = 'bill.received' "
             "WHERE e.type = 'bill.paid' AND b.currency = 'USD' AND e.day BETWEEN ? AND ? "
             "ORDER BY e.id LIMIT 1)", last_month, ("dpo-24m", "ap-aging-bu", "ap-cashreq-13w")),
            # A bill processed last month, now never processed.
            ("DELETE FROM events WHERE id = (SELECT id FROM events "
             "WHERE type = 'bill.processed' AND day BETWEEN ? AND ? ORDER BY id LIMIT 1)",
             last_month, ("sla-ap-24m",)),
            # A first review that passed, now failed.
            ("UPDATE events SET result = 'fail' WHERE id = (SELECT id FROM events "
             "WHERE type = 'invoice.reviewed' AND result = 'pass' AND day BETWEEN ? AND ? "
             "AND invoice NOT IN (SELECT invoice FROM events WHERE type IN "
             "('invoice.adjusted', 'credit_note.issued') AND invoice IS NOT NULL) "
             "ORDER BY id LIMIT 1)", last_month, ("ftq-24m",)),
        ]
        for sql, params, affected in mutations:
            for name in affected:
                ok, _ = qs[name].check(self.db, bodies[name])
                self.assertTrue(ok, name)
            try:
                cur = self.db.execute(sql, params)
                self.assertEqual(cur.rowcount, 1, sql)
                for name in affected:
                    with self.subTest(mutation=sql[:40], query=name):
                        ok, diff = qs[name].check(self.db, bodies[name])
                        self.assertFalse(ok, "%s: a changed event went unnoticed" % name)
                        self.assertIsNotNone(diff)
            finally:
                self.db.rollback()


class Comparison(unittest.TestCase):
    """The comparison and formatting helpers themselves."""

    def test_first_difference(self):
        self.assertIsNone(sb.first_difference({"a": [1, {"b": "2"}]}, {"a": [1, {"b": "2"}]}))
        self.assertEqual(sb.first_difference({"a": [1, {"b": "2"}]}, {"a": [1, {"b": "3"}]}),
                         "$.a[1].b: kpid '2', SQL '3'")
        self.assertEqual(sb.first_difference({"a": 1}, {}), "$.a: only in kpid (1)")
        self.assertEqual(sb.first_difference({}, {"a": 1}), "$.a: only in SQL (1)")
        self.assertEqual(sb.first_difference([1], [1, 2]), "$: kpid has 1 items, SQL 2")

    def test_formatting(self):
        cases = [(123456, "USD", "1234.56"), (-5, "USD", "-0.05"), (7, "JPY", "7"),
                 (-1234, "KWD", "-1.234"), (0, "EUR", "0.00")]
        for v, cur, want in cases:
            self.assertEqual(sb.money(v, cur), want, (v, cur))
        self.assertEqual(sb.hundredths(-13), "-0.13")
        self.assertEqual(sb.canon(sb.parse_api('{"v": 100.0, "w": [45.3, null]}')),
                         {"v": "100.00", "w": ["45.30", None]})
        self.assertEqual(sb.to_minor("12.5", 2), 1250)
        self.assertEqual(sb.to_minor("-3", 3), -3000)
        self.assertEqual(sb.parse_time("2025-03-20T00:30:00+01:00"),
                         (sb.day_num("2025-03-19") * 86400 + 23.5 * 3600,
                          sb.day_num("2025-03-19")))

    def test_sql_rounding_is_half_away_from_zero(self):
        import sqlite3
        db = sqlite3.connect(":memory:")
        # (num, den, hundredths): 10.335 -> 10.34, -0.125 -> -0.13 (docs/kpi.md).
        for num, den, want in [(10335, 1000, 1034), (-125, 1000, -13), (125, -1000, -13),
                               (1, 3, 33), (2, 3, 67), (0, 5, 0), (31000, 3000, 1033)]:
            got = db.execute("SELECT " + sb.rounded("?1", "?2"), (num, den)).fetchone()[0]
            self.assertEqual(got, want, (num, den))
        self.assertIsNone(db.execute("SELECT " + sb.rounded("1", "0")).fetchone()[0])


if __name__ == "__main__":
    kpidtest.parse_args()
    if "--invoices" in sys.argv:
        i = sys.argv.index("--invoices")
        INVOICES = int(sys.argv[i + 1])
        del sys.argv[i:i + 2]
    unittest.main()
