"""Customers and vendors by name (issue 16, item 6), end to end.

customer.updated and vendor.updated give a party its name (any script),
e-mail, country and segment. The latest by time (then id) stands, in any
arrival order; names show beside ids in the aging, the customer profile,
the worklists and their CSV; group_by=segment folds customers by segment on
/v1/aging and /v1/dso, and the segments add up to the book. A key limited
to business units may name only parties of its own units.
"""
import csv
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

AS_OF = "2025-12-31"



class Names(unittest.TestCase):
    """A generated book (kpid gen names every party on its first day)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-names-")
        cls.data = os.path.join(cls.tmp, "data")
        gen = os.path.join(cls.tmp, "g.ndjson")
        r = run_kpid("gen", "--invoices", "800", "--seed", "5", "--out", gen)
        assert r.returncode == 0, r.stderr
        r = run_kpid("ingest", "--data", cls.data, "--quiet", gen)
        assert r.returncode == 0, r.stderr
        with open(gen) as f:
            cls.events = [json.loads(line) for line in f if line.strip()]
        cls.profiles = {(e["type"], e.get("customer") or e.get("vendor")): e
                        for e in cls.events if e["type"].endswith(".updated")}
        cls.config = os.path.join(cls.tmp, "kpid.json")
        with open(cls.config, "w") as f:
            json.dump({}, f)
        cls.keys = {"admin": add_key(cls.config, "root", "admin"),
                    "emea-feed": add_key(cls.config, "emea-feed", "ingest", "emea")}
        cls.srv = Server(cls.data, ["--config", cls.config]).start()
        cls.unit_of = {}
        for e in cls.events:
            if e["type"] == "invoice.issued":
                cls.unit_of.setdefault(e["customer"], set()).add(e["business_unit"])

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, log
        assert "Sanitizer" not in log, log

    def get(self, path, status=200, key="admin"):
        st, js, raw = self.srv.get(path, headers={"Authorization": "Bearer " + self.keys[key]})
        self.assertEqual(st, status, (path, raw))
        return js if js is not None else raw

    def post(self, events, key="admin"):
        st, js, raw = self.srv.post("/v1/events", ndjson(events), ctype="application/x-ndjson",
                                    headers={"Authorization": "Bearer " + self.keys[key]})
        self.assertEqual(st, 200, raw)
        return js

    def name(self, customer):
        return self.profiles[("customer.updated", customer)]["name"]

    def test_names_beside_ids(self):
        ag = self.get("/v1/aging?as_of=%s&group_by=customer" % AS_OF)
        self.assertTrue(ag["groups"])
        for g in ag["groups"]:
            self.assertEqual(g["name"], self.name(g["key"]))
        # Names in other scripts than Latin come through as they were sent.
        jp = self.get("/v1/aging?as_of=%s&group_by=customer&currency=JPY" % AS_OF)
        self.assertTrue(any(ord(c) > 0x3000 for g in jp["groups"] for c in g["name"]), jp)
        # The CSV has a name column beside the id.
        raw = self.get("/v1/aging?as_of=%s&group_by=customer&format=csv" % AS_OF)
        rows = list(csv.reader(io.StringIO(raw.decode())))
        self.assertEqual(rows[0][:2], ["customer", "name"])
        self.assertEqual({r[0]: r[1] for r in rows[1:]},
                         {g["key"]: g["name"] for g in ag["groups"]})
        # The profile, with the rest of it.
        c = ag["groups"][0]["key"]
        p = self.profiles[("customer.updated", c)]
        prof = self.get("/v1/customers/%s?as_of=%s" % (c, AS_OF))
        self.assertEqual(prof["name"], p["name"])
        self.assertEqual(prof["profile"], {"email": p["email"], "country": p["country"],
                                           "segment": p["segment"]})
        # Worklists name the customer of every row.
        wl = self.get("/v1/worklists/overdue?as_of=%s&limit=50" % AS_OF)
        self.assertTrue(wl["items"])
        for r in wl["items"]:
            self.assertEqual(r["customer_name"], self.name(r["customer"]))
        q = self.get("/v1/worklists/quality?kind=bill&from=2024-01-01&to=%s&limit=20" % AS_OF)
        for r in q["items"]:
            self.assertEqual(r["party_name"],
                             self.profiles[("vendor.updated", r["party"])]["name"])

    def test_segments_add_up(self):
        ag = self.get("/v1/aging?as_of=%s&group_by=segment" % AS_OF)
        keys = [g["key"] for g in ag["groups"]]
        self.assertEqual(keys, sorted(keys))
        self.assertTrue({"enterprise", "mid-market", "small business"} >= set(keys), keys)
        total = sum(Decimal(g["total"]["amount"]) for g in ag["groups"])
        self.assertEqual(total, Decimal(ag["total"]["amount"]))
        for i, b in enumerate(ag["buckets"]):
            self.assertEqual(sum(Decimal(g["buckets"][i]["amount"]) for g in ag["groups"]),
                             Decimal(b["amount"]), b["label"])
        # The segment of a group is its customers': enterprise by hand.
        by_c = self.get("/v1/aging?as_of=%s&group_by=customer" % AS_OF)["groups"]
        ent = sum(Decimal(g["total"]["amount"]) for g in by_c
                  if self.profiles[("customer.updated", g["key"])]["segment"] == "enterprise")
        self.assertEqual(ent, Decimal([g for g in ag["groups"]
                                       if g["key"] == "enterprise"][0]["total"]["amount"]))
        # DSO by segment: each segment's AR and sales add up to the book's.
        d = self.get("/v1/dso?from=2025-01-01&to=%s&interval=quarter&group_by=segment" % AS_OF)
        self.assertEqual(d["group_by"], "segment")
        for k, p in enumerate(d["points"]):
            for comp in ("ar", "sales"):
                self.assertEqual(sum(Decimal(g["points"][k][comp]) for g in d["groups"]),
                                 Decimal(p[comp]), (k, comp))
        raw = self.get("/v1/dso?from=2025-01-01&to=%s&interval=quarter&group_by=segment"
                       "&format=csv" % AS_OF)
        rows = list(csv.reader(io.StringIO(raw.decode())))
        self.assertEqual(rows[0][:3], ["segment", "start", "end"])
        self.assertEqual(len(rows), 1 + 4 * (1 + len(d["groups"])))
        # What segments cannot do, each with a clear 400.
        for bad, what in (("/v1/aging?group_by=segment&currency=*", "one currency"),
                          ("/v1/dso?group_by=segment&customer=CUST-00001", "no customer"),
                          ("/v1/dso?group_by=customer", "group_by")):
            st, body, _ = self.srv.get(bad, headers={"Authorization": "Bearer " +
                                                     self.keys["admin"]})
            self.assertEqual(st, 400, bad)
            self.assertIn(what, body["error"]["message"])

    @unittest.skipIf(shutil.which("pdftotext") is None,
                     "pdftotext is missing: install poppler-utils (./dev test installs it)")
    def test_names_in_pdf(self):
        """The aging report's top overdue customers by name and id, in any
        script: read back with pdftotext."""
        for cur in ("USD", "JPY"):
            out = os.path.join(self.tmp, "aging-%s.pdf" % cur)
            r = run_kpid("report", "--data", self.data, "--kind", "aging", "--period", "2025-12",
                         "--currency", cur, "--out", out)
            self.assertEqual(r.returncode, 0, r.stderr)
            t = subprocess.run(["pdftotext", "-layout", out, "-"], capture_output=True,
                               timeout=120)
            self.assertEqual((t.returncode, t.stderr), (0, b""))
            text = t.stdout.decode()
            top = self.get("/v1/aging?as_of=%s&group_by=customer&currency=%s&sort=-overdue"
                           "&limit=3" % (AS_OF, cur))["groups"]
            # The report lists the customers with something overdue.
            top = [g for g in top if Decimal(g["total"]["amount"]) >
                   sum(Decimal(b["amount"]) for b in g["buckets"] if b["label"] == "current")]
            self.assertTrue(top)
            rows = [" ".join(l.split()) for l in text.splitlines()]
            for g in top:
                self.assertTrue(any(g["name"] in r and g["key"] in r for r in rows),
                                (g["name"], g["key"], text))

    @unittest.skipIf(shutil.which("pdftotext") is None,
                     "pdftotext is missing: install poppler-utils (./dev test installs it)")
    def test_name_on_statement(self):
        """A statement is addressed to the customer by name, its id beside."""
        top = self.get("/v1/aging?as_of=%s&group_by=customer&currency=JPY&sort=-total&limit=1"
                       % AS_OF)["groups"][0]
        out = os.path.join(self.tmp, "statement.pdf")
        r = run_kpid("report", "--data", self.data, "--kind", "statement", "--customer",
                     top["key"], "--as-of", AS_OF, "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        t = subprocess.run(["pdftotext", "-layout", out, "-"], capture_output=True, timeout=120)
        self.assertEqual((t.returncode, t.stderr), (0, b""))
        self.assertIn("%s (%s)" % (top["name"], top["key"]), " ".join(t.stdout.decode().split()))

    def test_latest_profile_stands_and_scope(self):
        c = "CUST-00001"
        old = self.name(c)
        # An older update, arriving late, changes nothing; a newer one renames.
        self.post([{"id": "n-old", "type": "customer.updated", "time": "2023-06-01",
                    "customer": c, "name": "Stale Name"}])
        self.assertEqual(self.get("/v1/customers/%s?as_of=%s" % (c, AS_OF))["name"], old)
        self.post([{"id": "n-new", "type": "customer.updated", "time": "2026-01-05T09:00:00Z",
                    "customer": c, "name": "Renamed Ltd", "segment": "key accounts"}])
        prof = self.get("/v1/customers/%s?as_of=%s" % (c, AS_OF))
        self.assertEqual((prof["name"], prof["profile"]["segment"], prof["profile"]["email"]),
                         ("Renamed Ltd", "key accounts", None))
        self.post([dict(self.profiles[("customer.updated", c)], id="n-back",
                        time="2026-01-06T09:00:00Z")])
        self.assertEqual(self.get("/v1/customers/%s?as_of=%s" % (c, AS_OF))["name"], old)
        # The emea feed may name an emea-only customer, not another unit's.
        emea = sorted(k for k, u in self.unit_of.items() if u == {"emea"})[0]
        other = sorted(k for k, u in self.unit_of.items() if "emea" not in u)[0]
        r = self.post([{"id": "s1", "type": "customer.updated", "time": "2026-01-07",
                        "customer": emea, "name": "Ours GmbH", "business_unit": "emea"},
                       {"id": "s2", "type": "customer.updated", "time": "2026-01-07",
                        "customer": other, "name": "Not ours", "business_unit": "emea"}],
                      key="emea-feed")
        self.assertEqual(r["accepted"], 1, r)
        self.assertEqual([(x["index"], x["code"]) for x in r["rejected"]], [(1, "forbidden")])
        self.assertEqual(self.get("/v1/customers/%s?as_of=%s" % (other, AS_OF))["name"],
                         self.name(other))
        # A bad profile says what is wrong, where (a batch of bad items only: 400).
        st, r, _ = self.srv.post("/v1/events", ndjson([
            {"id": "b1", "type": "customer.updated", "time": "2026-01-07", "customer": "X",
             "name": "X", "country": "Germany"}]), ctype="application/x-ndjson",
            headers={"Authorization": "Bearer " + self.keys["admin"]})
        self.assertEqual(st, 400)
        self.assertEqual([(x["field"], x["code"]) for x in r["rejected"]], [("country", "bad_value")])
        self.assertIn("two capital letters", r["rejected"][0]["error"])


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
