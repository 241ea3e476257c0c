"""Crash safety: `kill -9` of kpid serve during ingest loses no acknowledged
event. A client sends batches and records which were acknowledged; the
server is killed at an arbitrary moment, restarted, and every acknowledged
batch sent again must come back entirely as duplicates. The batch that was
in flight when the server died is either wholly in or wholly out (one
transaction per request), never half: sent again, it has no conflicts."""
import json
import os
import random
import shutil
import tempfile
import threading
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


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main(verbosity=2)
