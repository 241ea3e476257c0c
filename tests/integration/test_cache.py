"""The response cache of kpid serve (api/api_cache.h): a repeated KPI
request is answered from memory while the store is unchanged, every write
is visible to the very next request, and answers never cross between
requests that differ (query, format, key scope).

Every answer from the cache is compared with the answer computed for the
same request, and with what the data must give.
"""
import json
import os
import shutil
import tempfile
import unittest

import kpidtest
from kpidtest import Server, ServerTest, run_kpid, ndjson

INVOICES = [
    {"id": "i1", "type": "invoice.issued", "time": "2025-01-10", "invoice": "E-1",
     "customer": "ACME", "amount": "1000.00", "terms_days": 30, "business_unit": "emea"},
    {"id": "i2", "type": "invoice.issued", "time": "2025-01-15", "invoice": "U-1",
     "customer": "ACME", "amount": "7000.00", "terms_days": 30, "business_unit": "us"},
]
AGING = "/v1/aging?as_of=2025-03-31"


def cache_state(srv):
    return srv.last_headers.get("X-Kpid-Cache")


class CacheTest(ServerTest):
    def load(self, events):
        st, body, raw = self.srv.post("/v1/events", ndjson(events), ctype="application/x-ndjson")
        self.assertEqual(st, 200, raw)
        self.assertEqual(body["accepted"], len(events), body)

    def get(self, path, headers=None):
        st, body, raw = self.srv.get(path, headers=headers)
        self.assertEqual(st, 200, (path, raw))
        return raw, cache_state(self.srv)

    def test_hit_until_the_store_changes(self):
        self.load(INVOICES)
        first, s1 = self.get(AGING)
        again, s2 = self.get(AGING)
        self.assertEqual((s1, s2), ("miss", "hit"))
        self.assertEqual(first, again)
        self.assertEqual(json.loads(again)["total"]["amount"], "8000.00")
        # A payment applied: the next request sees it, and is kept again.
        self.load([
            {"id": "p1", "type": "payment.received", "time": "2025-02-01", "payment": "P-1",
             "customer": "ACME", "amount": "1000.00", "method": "wire"},
            {"id": "p2", "type": "payment.applied", "time": "2025-02-02", "payment": "P-1",
             "invoice": "E-1", "amount": "1000.00"},
        ])
        after, s3 = self.get(AGING)
        self.assertEqual(s3, "miss")
        self.assertEqual(json.loads(after)["total"]["amount"], "7000.00")
        self.assertEqual(self.get(AGING), (after, "hit"))

    def test_requests_that_differ_get_their_own_answers(self):
        self.load(INVOICES)
        variants = [
            AGING,
            "/v1/aging?as_of=2025-01-12",
            AGING + "&business_unit=us",
            AGING + "&group_by=business_unit",
            AGING + "&format=csv",
            "/v1/aging?business_unit=us&as_of=2025-03-31",
            "/v1/customers/ACME?as_of=2025-03-31",
            "/v1/dso?from=2025-01-01&to=2025-03-31&interval=month",
            "/v1/dso?from=2025-01-01&to=2025-03-31&interval=month&method=countback",
        ]
        computed = {}
        for v in variants:
            computed[v] = self.get(v)
            self.assertEqual(computed[v][1], "miss", v)
        csv_accept, s = self.get(AGING, headers={"Accept": "text/csv"})
        self.assertEqual(s, "miss")
        self.assertTrue(csv_accept.startswith(b"bucket") or b"," in csv_accept.split(b"\n")[0])
        for v in reversed(variants):
            self.assertEqual(self.get(v), (computed[v][0], "hit"), v)
        self.assertEqual(json.loads(computed["/v1/aging?as_of=2025-01-12"][0])["total"]["amount"],
                         "1000.00")
        self.assertEqual(json.loads(computed[AGING + "&business_unit=us"][0])["total"]["amount"],
                         "7000.00")
        self.assertEqual(computed[AGING + "&business_unit=us"][0],
                         computed["/v1/aging?business_unit=us&as_of=2025-03-31"][0])
        self.assertEqual(self.get(AGING, headers={"Accept": "text/csv"}), (csv_accept, "hit"))
        self.assertEqual(csv_accept, computed[AGING + "&format=csv"][0])

    def test_errors_are_not_kept(self):
        self.load(INVOICES)
        for path, status in (("/v1/customers/NOBODY", 404), ("/v1/aging?as_of=2025-02-30", 400)):
            for _ in range(2):
                st, _, raw = self.srv.get(path)
                self.assertEqual(st, status, raw)
                self.assertEqual(cache_state(self.srv), "miss", path)

    def test_uncached_routes_say_nothing(self):
        for path in ("/healthz", "/v1/events", "/metrics"):
            st, _, _ = self.srv.get(path)
            self.assertEqual(st, 200, path)
            self.assertNotIn("X-Kpid-Cache", self.srv.last_headers, path)

    def test_metrics_count_hits_and_misses(self):
        self.load(INVOICES)
        self.get(AGING)
        self.get(AGING)
        self.get(AGING)
        st, _, raw = self.srv.get("/metrics")
        self.assertEqual(st, 200)
        values = {}
        for line in raw.decode().splitlines():
            if line.startswith("kpid_http_response_cache_"):
                name, value = line.split()
                values[name] = float(value)
        self.assertEqual(values["kpid_http_response_cache_hits_total"], 2)
        self.assertEqual(values["kpid_http_response_cache_misses_total"], 1)
        self.assertGreater(values["kpid_http_response_cache_bytes"], 0)


class CacheOffTest(ServerTest):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-it-")
        self.data = os.path.join(self.tmp, "data")
        config = os.path.join(self.tmp, "kpid.json")
        with open(config, "w") as f:
            json.dump({"response_cache_mb": 0}, f)
        self.srv = Server(self.data, ["--config", config]).start()

    def test_off_computes_every_time(self):
        st, body, raw = self.srv.post("/v1/events", ndjson(INVOICES),
                                      ctype="application/x-ndjson")
        self.assertEqual(st, 200, raw)
        for _ in range(2):
            st, body, raw = self.srv.get(AGING)
            self.assertEqual(st, 200)
            self.assertNotIn("X-Kpid-Cache", self.srv.last_headers)
            self.assertEqual(body["total"]["amount"], "8000.00")
        st, _, raw = self.srv.get("/metrics")
        self.assertNotIn(b"kpid_http_response_cache_hits_total", raw)


class CacheConfigTest(unittest.TestCase):
    def test_bad_values_are_refused(self):
        tmp = tempfile.mkdtemp(prefix="kpid-it-")
        try:
            for bad in (-1, 65537, "64", 1.5):
                config = os.path.join(tmp, "kpid.json")
                with open(config, "w") as f:
                    json.dump({"response_cache_mb": bad}, f)
                r = run_kpid("serve", "--data", os.path.join(tmp, "d"), "--listen",
                             "127.0.0.1:0", "--config", config)
                self.assertNotEqual(r.returncode, 0, bad)
                self.assertIn(b"config key 'response_cache_mb' must be an integer 0..65536",
                              r.stderr, bad)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class CacheScopeTest(unittest.TestCase):
    """Two keys limited to different units ask the same URL: each gets its
    own unit's answer, whichever asked first, and an unscoped key the whole."""

    def test_scopes_never_share_answers(self):
        tmp = tempfile.mkdtemp(prefix="kpid-it-")
        config = os.path.join(tmp, "kpid.json")
        with open(config, "w") as f:
            json.dump({}, f)

        def add(name, role, units=None):
            args = ["key", "add", "--config", config, "--name", name, "--role", role]
            if units:
                args += ["--business-units", units]
            r = run_kpid(*args)
            self.assertEqual(r.returncode, 0, r.stderr)
            return {"Authorization": "Bearer " + r.stdout.decode().strip()}

        admin, emea, us = add("ops", "admin"), add("e", "read", "emea"), add("u", "read", "us")
        us2 = add("u2", "read", "us")
        srv = Server(os.path.join(tmp, "data"), ["--config", config]).start()
        try:
            st, body, raw = srv.post("/v1/events", ndjson(INVOICES),
                                     ctype="application/x-ndjson", headers=admin)
            self.assertEqual(st, 200, raw)
            for who, want in ((emea, "1000.00"), (us, "7000.00"), (admin, "8000.00"),
                              (emea, "1000.00"), (us, "7000.00"), (admin, "8000.00")):
                st, body, raw = srv.get(AGING, headers=who)
                self.assertEqual(st, 200, raw)
                self.assertEqual(body["total"]["amount"], want)
            # Another key of the same scope shares the answer.
            st, body, _ = srv.get(AGING, headers=us2)
            self.assertEqual((st, body["total"]["amount"]), (200, "7000.00"))
            self.assertEqual(cache_state(srv), "hit")
            # A refused key gets its refusal, not a kept answer.
            st, _, _ = srv.get(AGING + "&business_unit=us", headers=emea)
            self.assertEqual(st, 403)
            st, _, _ = srv.get(AGING)
            self.assertEqual(st, 401)
        finally:
            rc = srv.stop()
            log = srv.log()
            shutil.rmtree(tmp, ignore_errors=True)
        self.assertEqual(rc, 0, log)
        self.assertNotIn("Sanitizer", log)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
