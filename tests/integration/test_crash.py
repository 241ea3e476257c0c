"""Crash safety: `kill -9` of kpid serve during ingest loses no acknowledged
event, once (KillNine) or again and again under concurrent clients, after
which the derived KPIs equal a rebuild from the log (RepeatedKill). A client sends batches and records which were acknowledged; the
server is killed at an arbitrary moment, restarted, and every acknowledged
batch sent again must come back entirely as duplicates. The batch that was
in flight when the server died is either wholly in or wholly out (one
transaction per request), never half: sent again, it has no conflicts."""
import json
import os
import random
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import kpidtest
from kpidtest import Server, run_kpid

BATCH = 250
ROUNDS = 3


class KillNine(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-crash-")
        self.data = os.path.join(self.tmp, "data")
        gen = run_kpid("gen", "--invoices", "1500", "--seed", "11")
        self.assertEqual(gen.returncode, 0, gen.stderr)
        lines = gen.stdout.decode().splitlines(keepends=True)
        self.batches = ["".join(lines[i:i + BATCH]) for i in range(0, len(lines), BATCH)]
        self.total = len(lines)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def send_until_killed(self, srv, start, acked, state):
        for i in range(start, len(self.batches)):
            state["in_flight"] = i
            try:
                status, body, raw = srv.post("/v1/events", self.batches[i],
                                             "application/x-ndjson", timeout=30)
            except OSError:
                return  # the server died under us
            if status != 200:
                state["error"] = "batch %d: %d %r" % (i, status, raw[:300])
                return
            acked.append(i)
            state["in_flight"] = None
        state["done"] = True

    def test_no_acknowledged_event_is_lost(self):
        rng = random.Random(20261122)
        acked, state, next_batch = [], {}, 0
        for rnd in range(ROUNDS):
            srv = Server(self.data).start()
            t = threading.Thread(target=self.send_until_killed,
                                 args=(srv, next_batch, acked, state))
            t.start()
            # Kill after a random number of acknowledged batches in this round.
            target = len(acked) + rng.randint(1, 3)
            while t.is_alive() and len(acked) < target:
                t.join(0.005)
            srv.kill9()
            t.join()
            self.assertNotIn("error", state, state.get("error"))
            if state.get("done"):
                break
            next_batch = (acked[-1] + 1) if acked else 0
            # Restart: every acknowledged batch is still there.
            srv = Server(self.data).start()
            for i in acked:
                status, body, raw = srv.post("/v1/events", self.batches[i],
                                             "application/x-ndjson")
                self.assertEqual(status, 200, raw)
                self.assertEqual(body["accepted"], 0, "round %d batch %d lost events: %s"
                                 % (rnd, i, raw[:300]))
                self.assertEqual(body["rejected"], [])
            # The batch in flight: all or nothing, so resending never conflicts.
            inflight = state.get("in_flight")
            if inflight is not None:
                status, body, raw = srv.post("/v1/events", self.batches[inflight],
                                             "application/x-ndjson")
                self.assertEqual(body["rejected"], [], raw[:300])
                n = self.batches[inflight].count("\n")
                self.assertIn(body["accepted"], (0, n), "half a batch was committed")
                acked.append(inflight)
                next_batch = inflight + 1
            self.assertEqual(srv.stop(), 0, srv.log())
        # Finish the load and check the total.
        srv = Server(self.data).start()
        for i in range(next_batch, len(self.batches)):
            if i not in acked:
                status, body, raw = srv.post("/v1/events", self.batches[i],
                                             "application/x-ndjson")
                self.assertEqual(status, 200, raw)
        self.assertEqual(srv.get("/healthz")[1]["events"], self.total)
        self.assertEqual(srv.stop(), 0, srv.log())


def kpi_queries(customers, vendors):
    """Every KPI endpoint with fixed dates (never "today"), several filters,
    JSON and CSV: the answers a rebuilt store must reproduce byte for byte."""
    q = []
    for cur in ("USD", "EUR"):
        q += ["/v1/aging?as_of=2025-06-30&currency=%s" % cur,
              "/v1/aging?as_of=2025-12-31&group_by=customer&currency=%s" % cur,
              "/v1/aging?as_of=2024-12-31&basis=invoice_date&group_by=business_unit"
              "&buckets=15,45&currency=%s" % cur]
        for m in ("standard", "countback", "best_possible", "add"):
            q.append("/v1/dso?from=2024-01-01&to=2025-12-31&interval=month&method=%s"
                     "&currency=%s" % (m, cur))
        for ep in ("cei", "rollforward"):
            q.append("/v1/%s?from=2024-01-01&to=2025-12-31&interval=quarter&currency=%s"
                     % (ep, cur))
        q.append("/v1/dpo?from=2024-01-01&to=2025-12-31&interval=month&currency=%s" % cur)
    for sla in ("ap-processing", "billing", "cash-application", "inquiry-resolution",
                "dispute-resolution"):
        q.append("/v1/sla?sla=%s&from=2024-01-01&to=2025-12-31&interval=month" % sla)
    for kind in ("invoice", "bill"):
        q.append("/v1/ftq?kind=%s&from=2024-01-01&to=2025-12-31&interval=week" % kind)
    q.append("/v1/rollforward?from=2024-01-01&to=2025-12-31&interval=month&format=csv")
    q.append("/v1/aging?as_of=2025-12-31&group_by=customer&format=csv")
    for c in customers:
        q.append("/v1/customers/%s?as_of=2025-12-31" % c)
        q.append("/v1/customers/%s?as_of=2024-09-30" % c)
        q.append("/v1/dso?from=2024-01-01&to=2025-12-31&customer=%s" % c)
        q.append("/v1/events?customer=%s&limit=10000" % c)
    for v in vendors:
        q.append("/v1/dpo?from=2024-01-01&to=2025-12-31&vendor=%s" % v)
    q.append("/v1/events?business_unit=emea&limit=10000&format=csv")
    return q


class RepeatedKill(unittest.TestCase):
    """Several clients ingest at once; the server is killed (SIGKILL) at
    random points again and again. Afterwards every acknowledged batch is
    there, and every KPI answer equals the one from a store rebuilt with
    `kpid rebuild` from the same event log: incremental state survived the
    kills exactly."""

    KILLS = 7
    LANES = 3
    BATCH = 60

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-kills-")
        self.data = os.path.join(self.tmp, "data")
        gen = run_kpid("gen", "--invoices", "700", "--seed", "23")
        self.assertEqual(gen.returncode, 0, gen.stderr)
        lines = gen.stdout.decode().splitlines(keepends=True)
        self.total = len(lines)
        batches = ["".join(lines[i:i + self.BATCH]) for i in range(0, len(lines), self.BATCH)]
        # Lane k sends batches k, k+LANES, ... in order: batches of one lane
        # arrive in order, lanes interleave (out-of-order arrival included).
        self.lanes = [batches[k::self.LANES] for k in range(self.LANES)]
        evs = [json.loads(x) for x in lines]
        count = {}
        for e in evs:
            if "customer" in e:
                count[e["customer"]] = count.get(e["customer"], 0) + 1
        self.customers = sorted(count, key=lambda c: (-count[c], c))[:3]
        self.vendors = sorted({e["vendor"] for e in evs if "vendor" in e})[:2]

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def lane(self, srv, k, st):
        """Send lane k's batches from st['next'][k] on, until done or the server dies."""
        batches = self.lanes[k]
        while st["next"][k] < len(batches):
            i = st["next"][k]
            st["in_flight"][k] = i
            try:
                status, body, raw = srv.post("/v1/events", batches[i], "application/x-ndjson",
                                             timeout=60)
            except OSError:
                return  # killed under us: batch i is all in or all out
            if status != 200 or body["rejected"]:
                st["errors"].append("lane %d batch %d: %d %r" % (k, i, status, raw[:300]))
                return
            with st["lock"]:
                st["acked"].append((k, i))
            st["in_flight"][k] = None
            st["next"][k] = i + 1

    def test_kills_lose_no_acknowledged_event_and_state_equals_a_rebuild(self):
        rng = random.Random(20261201)
        st = {"next": [0] * self.LANES, "in_flight": [None] * self.LANES, "acked": [],
              "errors": [], "lock": threading.Lock()}
        kills = 0
        while kills < self.KILLS and any(st["next"][k] < len(self.lanes[k])
                                         for k in range(self.LANES)):
            srv = Server(self.data).start()
            threads = [threading.Thread(target=self.lane, args=(srv, k, st))
                       for k in range(self.LANES)]
            for t in threads:
                t.start()
            # Kill once a random number (1..5) of further batches is acknowledged.
            target = len(st["acked"]) + rng.randint(1, 5)
            while any(t.is_alive() for t in threads) and len(st["acked"]) < target:
                threads[0].join(0.002)
            srv.kill9()
            kills += 1
            for t in threads:
                t.join()
            self.assertEqual(st["errors"], [])
            # A batch in flight at the kill is sent again by its lane: it must
            # come back whole (all new or all duplicates), never half.
            for k in range(self.LANES):
                i = st["in_flight"][k]
                if i is None:
                    continue
                srv = Server(self.data).start()
                status, body, raw = srv.post("/v1/events", self.lanes[k][i],
                                             "application/x-ndjson")
                self.assertEqual(srv.stop(), 0, srv.log())
                self.assertEqual((status, body["rejected"]), (200, []), raw[:300])
                n = self.lanes[k][i].count("\n")
                self.assertIn(body["accepted"] + body["duplicates"], (n,), raw[:300])
                self.assertIn(body["duplicates"], (0, n), "kill %d: half a batch committed" % kills)
                st["acked"].append((k, i))
                st["in_flight"][k] = None
                st["next"][k] = i + 1
        self.assertGreaterEqual(kills, 5, "the load finished before enough kills")

        srv = Server(self.data).start()
        try:
            # Every acknowledged batch is entirely there: sent again, all duplicates.
            for k, i in st["acked"]:
                status, body, raw = srv.post("/v1/events", self.lanes[k][i],
                                             "application/x-ndjson")
                self.assertEqual(status, 200, raw[:300])
                self.assertEqual(body["accepted"], 0, "lane %d batch %d lost events" % (k, i))
                self.assertEqual(body["rejected"], [])
            # The rest of the load, then the total.
            for k in range(self.LANES):
                for i in range(st["next"][k], len(self.lanes[k])):
                    status, body, raw = srv.post("/v1/events", self.lanes[k][i],
                                                 "application/x-ndjson")
                    self.assertEqual((status, body["rejected"]), (200, []), raw[:300])
            health = srv.get("/healthz")[1]
            self.assertEqual(health["events"], self.total)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())

        # The same log rebuilt from scratch must answer every KPI identically.
        copy = os.path.join(self.tmp, "rebuilt")
        shutil.copytree(self.data, copy)
        r = run_kpid("rebuild", "--data", copy, "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        live, rebuilt = Server(self.data).start(), Server(copy).start()
        try:
            queries = kpi_queries(self.customers, self.vendors)
            for q in queries:
                a, b = live.get(q), rebuilt.get(q)
                self.assertEqual(a[0], 200, "%s: %r" % (q, a[2][:300]))
                self.assertEqual(a[2], b[2], "%s differs after rebuild" % q)
        finally:
            self.assertEqual(live.stop(), 0, live.log())
            self.assertEqual(rebuilt.stop(), 0, rebuilt.log())


class GracefulStop(unittest.TestCase):
    def test_sigterm_and_sigint_exit_cleanly(self):
        tmp = tempfile.mkdtemp(prefix="kpid-stop-")
        try:
            import signal
            for sig in (signal.SIGTERM, signal.SIGINT):
                srv = Server(os.path.join(tmp, "data")).start()
                self.assertEqual(srv.get("/healthz")[0], 200)
                rc = srv.stop(sig)
                self.assertEqual(rc, 0, srv.log())
                self.assertIn("stopped", srv.log())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class BulkKill(unittest.TestCase):
    """`kill -9` of `kpid ingest` (the bulk path: parser and writer threads,
    one transaction per --batch events) at arbitrary points: what was
    committed stays, no batch is ever half there, the derived state equals a
    rebuild from the log, and running the same command again completes the
    load to the answers of a clean one."""

    BATCH = 300
    KILLS = 3

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-bulkkill-")
        self.data = os.path.join(self.tmp, "data")
        self.book = os.path.join(self.tmp, "book.ndjson")
        gen = run_kpid("gen", "--invoices", "3000", "--seed", "31", "--out", self.book)
        self.assertEqual(gen.returncode, 0, gen.stderr)
        with open(self.book, encoding="utf-8") as fh:
            lines = fh.readlines()
        self.total = len(lines)
        evs = [json.loads(x) for x in lines]
        count = {}
        for e in evs:
            if "customer" in e:
                count[e["customer"]] = count.get(e["customer"], 0) + 1
        self.customers = sorted(count, key=lambda c: (-count[c], c))[:3]
        self.vendors = sorted({e["vendor"] for e in evs if "vendor" in e})[:2]

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def ingest(self, data, source=None):
        return [kpidtest.KPID, "ingest", "--data", data, "--quiet", "--batch", str(self.BATCH),
                source or self.book]

    def events_in(self, data, strict=True):
        """Events committed, as `kpid check` reads them beside a writer (-1
        when not strict and there is no store yet)."""
        r = run_kpid("check", "--data", data)
        if not strict and r.returncode != 0:
            return -1
        self.assertEqual(r.returncode, 0, r.stderr)
        m = re.search(rb"ok: (\d+) events", r.stdout + r.stderr)
        self.assertIsNotNone(m, r.stdout + r.stderr)
        return int(m.group(1))

    def test_kill_nine_mid_load_then_resume(self):
        rng = random.Random(20261203)
        with open(self.book, encoding="utf-8") as fh:
            lines = fh.readlines()
        counts = [0]
        for _ in range(self.KILLS):
            # The book through a pipe we hold: whole batches, wait until they
            # are committed, then part of the next one, and kill -9 while
            # that one is being parsed (or written).
            p = subprocess.Popen(self.ingest(self.data, "-"), stdin=subprocess.PIPE,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            done = counts[-1]
            batches = rng.randint(1, 3)
            upto = min(done + batches * self.BATCH, self.total)
            p.stdin.write("".join(lines[:upto]).encode())
            p.stdin.write("".join(lines[upto:upto + rng.randint(1, self.BATCH - 1)]).encode())
            p.stdin.flush()
            deadline = time.monotonic() + 120
            while self.events_in(self.data, False) < upto and time.monotonic() < deadline:
                time.sleep(0.05)
            p.send_signal(signal.SIGKILL)
            p.wait()
            p.stdin.close()
            n = self.events_in(self.data)
            # Whole batches only (the book has no rejects or duplicates):
            # what was committed is there, the batch in flight is not half.
            self.assertGreaterEqual(n, upto, "committed batches vanished")
            self.assertTrue(n == self.total or n % self.BATCH == 0,
                            "%d events: half a batch committed" % n)
            counts.append(n)
        self.assertGreater(counts[-1], 0)
        self.assertLess(counts[-1], self.total, "the kills came after the whole load")
        # The same command again takes the rest; what was there is duplicates.
        r = subprocess.run(self.ingest(self.data), capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.events_in(self.data), self.total)

        clean = os.path.join(self.tmp, "clean")
        r = subprocess.run(self.ingest(clean), capture_output=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        rebuilt = os.path.join(self.tmp, "rebuilt")
        shutil.copytree(self.data, rebuilt)
        r = run_kpid("rebuild", "--data", rebuilt, "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        servers = [Server(d).start() for d in (self.data, clean, rebuilt)]
        try:
            for q in kpi_queries(self.customers, self.vendors):
                a, b, c = (srv.get(q) for srv in servers)
                self.assertEqual(a[0], 200, "%s: %r" % (q, a[2][:300]))
                self.assertEqual(a[2], b[2], "%s: the resumed load differs from a clean one" % q)
                self.assertEqual(a[2], c[2], "%s differs after rebuild" % q)
        finally:
            for srv in servers:
                self.assertEqual(srv.stop(), 0, srv.log())


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main(verbosity=2)
