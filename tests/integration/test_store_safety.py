"""A store kpid cannot use safely is refused, through the CLI, with a clear
message and exit status 3 (the environment failed), and left as it was:
a read-only data directory, a store held by another kpid process, a damaged
data.mdb (truncated, empty, garbage). A disk that fills up during HTTP ingest
answers 507 with a clear error, and the store stays readable and consistent.
`kpid check` verifies a store read-only, beside a running server or on a
backup made with `mdb_copy -c` during ingest (docs/operations.md).

Mounting (a read-only bind mount, a tiny tmpfs) needs root where mounting is
allowed (a container run as root); elsewhere the read-only case falls back to
chmod and the disk-full case is skipped."""
import hashlib
import os
import shutil
import subprocess
import tempfile
import unittest

import kpidtest
from kpidtest import Server, run_kpid


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def mount(*args):
    return subprocess.run(["mount"] + list(args), capture_output=True).returncode == 0


class Base(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-safety-")
        self.data = os.path.join(self.tmp, "data")
        self.mounts = []
        gen = run_kpid("gen", "--invoices", "40", "--seed", "5")
        self.assertEqual(gen.returncode, 0, gen.stderr)
        self.events = gen.stdout
        r = run_kpid("ingest", "--data", self.data, "-", input=self.events)
        self.assertEqual(r.returncode, 0, r.stderr)

    def tearDown(self):
        for m in reversed(self.mounts):
            subprocess.run(["umount", m], capture_output=True)
        os.chmod(self.tmp, 0o700)
        for root, dirs, _ in os.walk(self.tmp):
            for d in dirs:
                os.chmod(os.path.join(root, d), 0o700)
        shutil.rmtree(self.tmp, ignore_errors=True)

    def refused(self, data, *texts, check=True):
        """serve, ingest, rebuild (and check) on `data` all exit 3 naming the problem."""
        runs = {
            "serve": run_kpid("serve", "--data", data, "--listen", "127.0.0.1:0", timeout=60),
            "ingest": run_kpid("ingest", "--data", data, "-", input=b"", timeout=60),
            "rebuild": run_kpid("rebuild", "--data", data, "--quiet", timeout=60),
        }
        if check:
            runs["check"] = run_kpid("check", "--data", data, timeout=60)
        for cmd, r in runs.items():
            err = r.stderr.decode(errors="replace")
            self.assertEqual(r.returncode, 3, "%s: %s" % (cmd, err))
            for t in texts:
                self.assertIn(t, err, cmd)
            self.assertNotIn("Sanitizer", err, cmd)
        return runs


class Refusals(Base):
    def test_read_only_directory(self):
        before = sha(os.path.join(self.data, "data.mdb"))
        if os.geteuid() == 0:
            # root ignores permission bits: make it a read-only file system.
            if not (mount("--bind", self.data, self.data) and
                    (self.mounts.append(self.data) or True) and
                    mount("-o", "remount,bind,ro", self.data, self.data)):
                self.skipTest("cannot bind-mount read-only here")
        else:
            os.chmod(self.data, 0o555)
        self.refused(self.data, "data directory %s is not writable" % self.data,
                     "check its permissions and mount", check=False)
        self.assertEqual(sha(os.path.join(self.data, "data.mdb")), before)
        # Reading needs no write access: `kpid check` verifies it.
        r = run_kpid("check", "--data", self.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b": ok: ", r.stdout)

    def test_store_held_by_another_process(self):
        srv = Server(self.data).start()
        try:
            runs = self.refused(self.data, "in use by another kpid process",
                                "(pid %d)" % srv.proc.pid, check=False)
            self.assertIn("stop it first", runs["serve"].stderr.decode())
            # A read-only check takes no lock: it runs beside the server.
            r = run_kpid("check", "--data", self.data)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b": ok: %d events" % srv.get("/healthz")[1]["events"], r.stdout)
            # The running server is unaffected.
            self.assertEqual(srv.get("/healthz")[0], 200)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())

    def damaged(self, how):
        path = os.path.join(self.data, "data.mdb")
        if how == "truncated":
            with open(path, "r+b") as f:
                f.truncate(3 * 4096)
        elif how == "empty":
            open(path, "wb").close()
        else:
            size = os.path.getsize(path)
            with open(path, "wb") as f:
                f.write(bytes((i * 131 + 7) % 256 for i in range(size)))
        return path, sha(path)

    def test_truncated_data_file(self):
        path, before = self.damaged("truncated")
        self.refused(self.data, path, "is truncated (12288 bytes", "restore it from a backup")
        self.assertEqual(sha(path), before)

    def test_empty_data_file(self):
        path, before = self.damaged("empty")
        self.refused(self.data, path, "is empty (0 bytes)", "remove the file")
        self.assertEqual(os.path.getsize(path), 0)

    def test_garbage_data_file(self):
        path, before = self.damaged("garbage")
        self.refused(self.data, path, "is not a kpid store", "left untouched")
        self.assertEqual(sha(path), before)


class CheckAndBackup(Base):
    def test_check_reports_what_the_store_holds(self):
        r = run_kpid("check", "--data", self.data)
        self.assertEqual(r.returncode, 0, r.stderr)
        n = self.events.count(b"\n")
        out = r.stdout.decode()
        self.assertIn("%s: ok: %d events (" % (self.data, n), out)
        self.assertIn("time zone UTC, base currency USD", out)
        r = run_kpid("check", "--data", os.path.join(self.tmp, "nothing"))
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"does not exist", r.stderr)
        r = run_kpid("check", "--data", self.data, "extra")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"unexpected argument 'extra'", r.stderr)

    def test_check_finds_garbled_pages_without_crashing(self):
        # LMDB pages have no checksums and LMDB faults on some garbage; the
        # check reads every database in a child process, so each garbled
        # page is a message and exit 3 (or, for a free page, no harm: 0).
        path = os.path.join(self.data, "data.mdb")
        good = open(path, "rb").read()
        pages = len(good) // 4096
        found = 0
        for k in range(2, pages):
            page = bytes((k * 7 + i * 13) % 251 for i in range(4096))
            with open(path, "wb") as f:
                f.write(good[:k * 4096] + page + good[(k + 1) * 4096:])
            r = run_kpid("check", "--data", self.data)
            self.assertIn(r.returncode, (0, 3), "page %d: %r" % (k, r.stderr[-300:]))
            if r.returncode == 3:
                found += 1
                self.assertIn(b"damaged", r.stderr)
        self.assertGreater(found, (pages - 2) // 2, "most garbled pages go unnoticed")
        # Everything but the meta pages garbled: damaged, never "ok".
        with open(path, "wb") as f:
            f.write(good[:2 * 4096] + bytes(i % 251 for i in range(len(good) - 2 * 4096)))
        r = run_kpid("check", "--data", self.data)
        self.assertEqual(r.returncode, 3, r.stderr)

    @unittest.skipUnless(shutil.which("mdb_copy"), "mdb_copy (lmdb-utils) not installed")
    def test_backup_while_ingesting_restores_every_batch_acknowledged_before_it(self):
        import threading
        srv = Server(self.data).start()
        acked, stop = [], threading.Event()

        def load():
            for seed in range(200, 260):
                if stop.is_set():
                    return
                gen = run_kpid("gen", "--invoices", "20", "--seed", str(seed))
                status, body, raw = srv.post("/v1/events", gen.stdout, "application/x-ndjson")
                if status == 200 and not body["rejected"]:
                    acked.append(gen.stdout)

        t = threading.Thread(target=load)
        t.start()
        try:
            while len(acked) < 3 and t.is_alive():
                t.join(0.01)
            before = list(acked)
            backup = os.path.join(self.tmp, "backup")
            os.mkdir(backup)
            r = subprocess.run(["mdb_copy", "-c", self.data, backup], capture_output=True)
            self.assertEqual(r.returncode, 0, r.stderr)
        finally:
            stop.set()
            t.join()
            self.assertEqual(srv.stop(), 0, srv.log())
        r = run_kpid("check", "--data", backup)
        self.assertEqual(r.returncode, 0, r.stderr)
        # Restore: the copy is a data directory of its own.
        restored = os.path.join(self.tmp, "restored")
        os.mkdir(restored)
        shutil.copy(os.path.join(backup, "data.mdb"), restored)
        srv = Server(restored).start()
        try:
            n = srv.get("/healthz")[1]["events"]
            self.assertIn(b": ok: %d events" % n, r.stdout)
            for body in [self.events] + before:
                status, res, raw = srv.post("/v1/events", body, "application/x-ndjson")
                self.assertEqual(status, 200, raw[:300])
                self.assertEqual(res["accepted"], 0, "an acknowledged batch is not in the backup")
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())


class DiskFull(Base):
    def test_http_ingest_on_a_full_disk_answers_507_and_the_store_stays_consistent(self):
        if os.geteuid() != 0:
            self.skipTest("needs root to mount a small tmpfs")
        small = os.path.join(self.tmp, "small")
        os.mkdir(small)
        if not mount("-t", "tmpfs", "-o", "size=2m", "tmpfs", small):
            self.skipTest("cannot mount a tmpfs here")
        self.mounts.append(small)
        data = small  # the server's log goes beside it, not onto the full disk
        srv = Server(data).start()
        accepted, status, body, batch = 0, 200, None, 0
        try:
            # New books (each seed has its own ids and document numbers)
            # until the file system is full.
            while status == 200 and batch < 500:
                gen = run_kpid("gen", "--invoices", "40", "--seed", str(1000 + batch))
                self.assertEqual(gen.returncode, 0, gen.stderr)
                status, body, raw = srv.post("/v1/events", gen.stdout, "application/x-ndjson")
                if status == 200:
                    self.assertEqual(body["rejected"], [], raw[:300])
                    accepted += body["accepted"]
                batch += 1
            self.assertEqual(status, 507, raw[:300])
            self.assertEqual(body["error"]["code"], "disk_full")
            self.assertIn("no space left on device", body["error"]["message"])
            self.assertIn("batch not written", body["error"]["message"])
            self.assertGreater(accepted, 0)
            # Readable and consistent: exactly the acknowledged events, and
            # the KPIs answer.
            self.assertEqual(srv.get("/healthz")[1]["events"], accepted)
            self.assertEqual(srv.get("/v1/aging?as_of=2025-12-31")[0], 200)
            self.assertEqual(srv.get("/v1/rollforward?from=2024-01-01&to=2025-12-31")[0], 200)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        self.assertIn("no space left", srv.log())
        # After a restart, still the same events; a rebuild elsewhere agrees.
        srv = Server(data).start()
        try:
            self.assertEqual(srv.get("/healthz")[1]["events"], accepted)
            live = srv.get("/v1/aging?as_of=2025-12-31&group_by=customer")[2]
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        copy = os.path.join(self.tmp, "copy")
        shutil.copytree(data, copy)
        r = run_kpid("rebuild", "--data", copy, "--quiet")
        self.assertEqual(r.returncode, 0, r.stderr)
        srv = Server(copy).start()
        try:
            self.assertEqual(srv.get("/v1/aging?as_of=2025-12-31&group_by=customer")[2], live)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main(verbosity=2)
