"""A property of the store's write path: the KPIs are a function of the SET
of events, not of how they arrived.

For a few generated books (fixed seeds, so a failure repeats), the same
events are stored three ways:
  (a) the whole file with `kpid ingest`;
  (b) its lines shuffled, sent over HTTP in batches of random size, with
      some batches sent again (duplicates) and, because of the shuffle,
      payments, reviews and credit notes before their documents (pending);
  (c) `kpid rebuild` of (b), which replays the log in time order.
Every KPI answer (kpiset.py: aging by unit and customer, DSO, CEI, DPO,
roll-forward, SLA, FTQ, customer profiles, the event count) must be
identical across the three.
"""
import os
import random
import shutil
import tempfile
import unittest

import kpidtest
import kpiset
from kpidtest import Server, run_kpid

# (invoices, seed): small books, so the test stays well under a minute
# under ASan; seeds fixed so that a failure repeats.
BOOKS = ((40, 3), (60, 17), (30, 101), (150, 7), (250, 42))


class StoreProps(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-props-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def serve_answers(self, data, paths):
        srv = Server(data).start()
        try:
            return kpiset.answers(srv, paths, arrival_order_free=True)
        finally:
            rc = srv.stop()
            self.assertEqual(rc, 0, srv.log())
            self.assertNotIn("Sanitizer", srv.log())

    def post_shuffled(self, data, lines, rng):
        """Send `lines` shuffled in random batches, some twice; returns the
        totals of the answers."""
        order = lines[:]
        rng.shuffle(order)
        batches, i = [], 0
        while i < len(order):
            n = rng.randint(1, 40)
            batches.append(order[i:i + n])
            i += n
        sent = []
        for b in batches:
            sent.append(b)
            if rng.random() < 0.25:
                sent.append(b)  # the client did not get the answer: sends again
            if sent and rng.random() < 0.1:
                sent.append(rng.choice(sent[:-1] or sent))  # an older batch, much later
        totals = {"accepted": 0, "duplicates": 0, "pending": 0, "released": 0}
        srv = Server(data).start()
        try:
            for b in sent:
                st, j, raw = srv.post("/v1/events", "".join(b), ctype="application/x-ndjson")
                self.assertEqual(st, 200, raw)
                self.assertEqual([], j["rejected"], raw)
                self.assertEqual(len(b), j["accepted"] + j["duplicates"], raw)
                for k in totals:
                    totals[k] += j[k]
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        return totals

    def test_answers_do_not_depend_on_arrival(self):
        for invoices, seed in BOOKS:
            with self.subTest(invoices=invoices, seed=seed):
                book = os.path.join(self.tmp, "book-%d.ndjson" % seed)
                r = run_kpid("gen", "--invoices", str(invoices), "--seed", str(seed),
                             "--out", book)
                self.assertEqual(r.returncode, 0, r.stderr)
                with open(book) as f:
                    lines = [l if l.endswith("\n") else l + "\n" for l in f if l.strip()]
                facts = kpiset.book_facts(lines)
                paths = kpiset.paths(facts)

                a = os.path.join(self.tmp, "a-%d" % seed)
                r = run_kpid("ingest", "--data", a, book)
                self.assertEqual(r.returncode, 0, r.stderr)
                want = self.serve_answers(a, paths)
                self.assertEqual(len(lines), want["/healthz events"][1])
                ok = sum(1 for v in want.values() if v[0] == 200)
                self.assertGreater(ok, len(paths) * 0.9, "most questions must be answerable")

                b = os.path.join(self.tmp, "b-%d" % seed)
                totals = self.post_shuffled(b, lines, random.Random(seed))
                self.assertEqual(len(lines), totals["accepted"])
                # The shuffle did exercise what the property is about.
                self.assertGreater(totals["duplicates"], 0)
                self.assertGreater(totals["pending"], 0)
                self.assertEqual(totals["pending"], totals["released"])
                got = self.serve_answers(b, paths)
                self.assertEqual([], kpiset.differences(want, got), "(b) shuffled over HTTP")

                r = run_kpid("rebuild", "--data", b, "--quiet")
                self.assertEqual(r.returncode, 0, r.stderr)
                got = self.serve_answers(b, paths)
                self.assertEqual([], kpiset.differences(want, got), "(c) rebuild of (b)")


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main(verbosity=2)
