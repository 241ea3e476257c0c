"""The kpid command line: gen, ingest (files, stdin, errors, exit codes),
config and store errors a user can hit."""
import json
import os
import shutil
import tempfile
import unittest

import kpidtest
from kpidtest import Server, run_kpid


class Cli(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-cli-")
        self.data = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def test_usage(self):
        r = run_kpid()
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"usage: kpid", r.stderr)
        r = run_kpid("frobnicate")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"unknown command 'frobnicate'", r.stderr)
        self.assertEqual(run_kpid("version").returncode, 0)

    def test_gen_is_deterministic(self):
        a = run_kpid("gen", "--invoices", "300", "--seed", "5")
        b = run_kpid("gen", "--invoices", "300", "--seed", "5")
        c = run_kpid("gen", "--invoices", "300", "--seed", "6")
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(a.stdout, b.stdout)
        self.assertNotEqual(a.stdout, c.stdout)
        out = self.path("g.ndjson")
        self.assertEqual(run_kpid("gen", "--invoices", "300", "--seed", "5", "--out",
                                  out).returncode, 0)
        with open(out, "rb") as f:
            self.assertEqual(f.read(), a.stdout)
        self.assertEqual(run_kpid("gen", "--invoices", "0").returncode, 2)
        self.assertEqual(run_kpid("gen").returncode, 2)

    def test_ingest_file_stdin_and_again(self):
        gen = run_kpid("gen", "--invoices", "400", "--seed", "9")
        n = gen.stdout.count(b"\n")
        f = self.path("ev.ndjson")
        with open(f, "wb") as fh:
            fh.write(gen.stdout)
        r = run_kpid("ingest", "--data", self.data, f)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"%d accepted, 0 duplicates, 0 rejected" % n, r.stderr)
        r = run_kpid("ingest", "--data", self.data, "-", input=gen.stdout)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"0 accepted, %d duplicates, 0 rejected" % n, r.stderr)

    def test_ingest_reports_each_rejected_line(self):
        f = self.path("bad.ndjson")
        with open(f, "w") as fh:
            fh.write('{"id":"a","type":"credit.hold_set","time":"2025-01-01","customer":"X",'
                     '"reason":"r"}\n')
            fh.write('{"id":"b","type":"invoice.issued","time":"2025-01-01","invoice":"I",'
                     '"customer":"X","amount":"1.234","terms_days":30}\n')
            fh.write('not json\n')
        r = run_kpid("ingest", "--data", self.data, f)
        self.assertEqual(r.returncode, 1, r.stderr)
        err = r.stderr.decode()
        self.assertIn("bad.ndjson:2: item 1 id=b field=amount: too_many_decimals", err)
        self.assertIn("bad.ndjson:3: item 2", err)
        self.assertIn("parse_error", err)
        self.assertIn("1 accepted, 0 duplicates, 2 rejected", err)

    def test_rejected_lines_stay_one_line_each(self):
        # Ids, types and document numbers may hold control characters; the
        # report keeps one line per item (found by fuzz_collector).
        body = (b'{"id":"x\\ny","type":"no\\nsuch","time":"2025-01-01"}\n'
                b'{"id":"c1","type":"invoice.issued","time":"2025-01-01","invoice":"I\\n1",'
                b'"customer":"C","amount":"1","terms_days":1}\n'
                b'{"id":"c2","type":"invoice.issued","time":"2025-01-02","invoice":"I\\n1",'
                b'"customer":"C","amount":"2","terms_days":1}\n')
        r = run_kpid("ingest", "--data", self.data, "-", input=body)
        self.assertEqual(r.returncode, 1, r.stderr)
        lines = r.stderr.decode().splitlines()
        self.assertIn("<stdin>:1: item 0 id=x\\x0ay field=type: unknown_type: "
                      "type: 'no such' is not an event type (docs/events.md lists them)", lines)
        self.assertIn("<stdin>:3: item 2 id=c2 field=invoice: document_conflict: "
                      "invoice I 1 already exists (created by another event); "
                      "a correction is a new event", lines)

    def test_ingest_errors_a_user_can_hit(self):
        r = run_kpid("ingest", "--data", self.data, self.path("missing.ndjson"))
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"cannot open", r.stderr)
        r = run_kpid("ingest", "--data", self.data)
        self.assertEqual(r.returncode, 2)
        for bad in ("0", "-5", "12x", "", "1000001"):
            r = run_kpid("ingest", "--data", self.data, "--batch", bad, "-", input=b"")
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn(b"--batch takes a whole number of events from 1 to 1000000", r.stderr)
        cfg = self.path("c.json")
        with open(cfg, "w") as fh:
            json.dump({"time_zon": "UTC"}, fh)
        r = run_kpid("ingest", "--config", cfg, "--data", self.data, "-", input=b"")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"unknown key 'time_zon'", r.stderr)
        with open(cfg, "w") as fh:
            json.dump({"time_zone": "Mars/Olympus"}, fh)
        r = run_kpid("ingest", "--config", cfg, "--data", self.data, "-", input=b"")
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"Mars/Olympus", r.stderr)

    def test_store_settings_are_fixed_at_creation(self):
        self.assertEqual(run_kpid("ingest", "--data", self.data, "-", input=b"").returncode, 0)
        cfg = self.path("c.json")
        with open(cfg, "w") as fh:
            json.dump({"time_zone": "Europe/Berlin"}, fh)
        r = run_kpid("ingest", "--config", cfg, "--data", self.data, "-", input=b"")
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"Europe/Berlin", r.stderr)

    def test_store_in_use_by_server_is_refused(self):
        srv = Server(self.data).start()
        try:
            r = run_kpid("ingest", "--data", self.data, "-", input=b"")
            self.assertEqual(r.returncode, 3)
            self.assertIn(b"in use", r.stderr)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())

    def test_serve_demo_loads_an_empty_store_once(self):
        srv = Server(self.data, ["--demo=50"]).start(timeout=120)
        try:
            events = srv.get("/healthz")[1]["events"]
            self.assertGreater(events, 100)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        srv = Server(self.data, ["--demo=50"]).start(timeout=120)
        try:
            self.assertEqual(srv.get("/healthz")[1]["events"], events)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())

    def test_serve_bad_listen_and_port_in_use(self):
        r = run_kpid("serve", "--data", self.data, "--listen", "nohost")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"HOST:PORT", r.stderr)
        srv = Server(self.data).start()
        try:
            other = os.path.join(self.tmp, "other")
            r = run_kpid("serve", "--data", other, "--listen", "127.0.0.1:%d" % srv.port,
                         timeout=30)
            self.assertEqual(r.returncode, 3)
            self.assertIn(b"cannot listen", r.stderr)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main(verbosity=2)
