"""`kpid upgrade`: a format-2 or format-3 store converted to format 4 by the real binary.

The format-2 store is assembled with LMDB's own tools (mdb_dump/mdb_load,
package lmdb-utils) the way format 2 laid it out: the event log of a fresh
ingest (meta, events, ids, names, names_rev: the same bytes in both
formats) with meta's version set to 2, the derived databases holding junk
(a d_state row, a format-2 `docs` record) that must not survive, and the
derived-config fingerprint. After the upgrade, every KPI answer of the
upgraded store must equal the fresh ingest's, and the log must be byte for
byte what it was. A format-3 store is the same log with format 3's derived
databases (no d_ap_open / d_ap_tl: the bills' open amounts of format 4).
"""
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import kpidtest
import kpiset
from kpidtest import Server, run_kpid

LOG_DBS = ("meta", "events", "ids", "names", "names_rev")
JUNK_DBS = ("by_party", "by_bu", "docs", "pending", "d_flows", "d_open", "d_tl", "d_state",
            "d_sla", "d_ftq", "d_cust", "d_habit", "d_cidx", "d_copen")
VERSION_KEY = " " + b"version".hex()


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def dump(data, db):
    """The entries of a database in mdb_dump's text (the header, which
    carries the map size, is left out)."""
    text = subprocess.run(["mdb_dump", "-s", db, data], capture_output=True,
                          check=True).stdout.decode()
    return text[text.index("HEADER=END\n") + len("HEADER=END\n"):]


HEADER = "VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n"


def load(data, db, text):
    subprocess.run(["mdb_load", "-s", db, data], input=text.encode(), capture_output=True,
                   check=True)


def set_meta(text, key, value_hex):
    """A meta dump with `key` set to value_hex (added when missing)."""
    lines = text.split("\n")
    k = " " + key.encode().hex()
    if k in lines:
        lines[lines.index(k) + 1] = " " + value_hex
    else:
        end = lines.index("DATA=END")
        lines[end:end] = [k, " " + value_hex]
    return "\n".join(lines)


def junk(rows):
    body = "".join(" %s\n %s\n" % (k, v) for k, v in rows)
    return HEADER + body + "DATA=END\n"


class Upgrade(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("mdb_dump", "mdb_load"):
            if shutil.which(tool) is None:
                raise RuntimeError("%s is missing: install lmdb-utils (./dev does)" % tool)
        cls.tmp = tempfile.mkdtemp(prefix="kpid-upgrade-")
        cls.book = os.path.join(cls.tmp, "book.ndjson")
        r = run_kpid("gen", "--invoices", "200", "--seed", "13", "--out", cls.book)
        assert r.returncode == 0, r.stderr
        cls.fresh = os.path.join(cls.tmp, "fresh")
        r = run_kpid("ingest", "--data", cls.fresh, cls.book)
        assert r.returncode == 0, r.stderr
        with open(cls.book) as f:
            cls.facts = kpiset.book_facts(f)
        cls.paths = kpiset.paths(cls.facts)
        srv = Server(cls.fresh).start()
        try:
            cls.want = kpiset.answers(srv, cls.paths)
        finally:
            srv.stop()

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="t-", dir=self.tmp)

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def v2(self, name="v2", version="02000000", marked=False):
        """A format-2 store of the book (or, marked, the state an upgrade
        killed after its first commit leaves: format 4, empty derived
        databases, no d_state, the markers)."""
        data = os.path.join(self.dir, name)
        os.mkdir(data)
        for db in LOG_DBS:
            text = dump(self.fresh, db)
            if db == "meta":
                text = set_meta(text, "version", "04000000" if marked else version)
                text = set_meta(text, "pending", "0700000000000000")
                if marked:
                    text = set_meta(text, "upgrading", "02000000")
                    text = set_meta(text, "rebuilding", "01")
            load(data, db, HEADER + text)
        load(data, "d_meta", HEADER + dump(self.fresh, "d_meta"))
        for db in JUNK_DBS:
            if db == "d_state" and version == "03000000":
                continue  # format 3 keeps that state in `docs`
            if marked:
                if db.startswith("d_") and db != "d_state":
                    load(data, db, junk([]))  # emptied; the others deleted
                continue
            # A format-2 docs record is a fixed 136-byte struct.
            load(data, db, junk([("01" + b"INV13-0000001".hex(), "01" * 136)]))
        return data

    def serve_answers(self, data):
        srv = Server(data).start()
        try:
            return kpiset.answers(srv, self.paths)
        finally:
            rc = srv.stop()
            self.assertEqual(rc, 0, srv.log())
            self.assertNotIn("Sanitizer", srv.log())

    def assert_same_as_fresh(self, data):
        got = self.serve_answers(data)
        ok = sum(1 for v in self.want.values() if v[0] == 200)
        self.assertGreater(ok, len(self.paths) * 0.9, "most questions must be answerable")
        self.assertEqual([], kpiset.differences(self.want, got))

    def test_upgrade_keeps_the_log_and_answers_like_a_fresh_ingest(self):
        data = self.v2()
        mdb = os.path.join(data, "data.mdb")
        before = {db: dump(data, db) for db in LOG_DBS[1:]}
        digest = sha(mdb)
        # Every other command refuses it, untouched, naming the way out.
        want = "run `kpid upgrade --data %s`" % data
        for args in (["serve", "--listen", "127.0.0.1:0"], ["ingest", self.book], ["rebuild"],
                     ["check"], ["report", "--kind", "aging", "--period", "2024-06",
                                 "--out", os.path.join(self.dir, "r.pdf")]):
            r = run_kpid(args[0], "--data", data, *args[1:])
            self.assertEqual(r.returncode, 3, (args, r.stderr))
            self.assertIn(want, r.stderr.decode(), args)
            self.assertIn("format version 2", r.stderr.decode())
        self.assertEqual(digest, sha(mdb))

        r = run_kpid("upgrade", "--data", data)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        # It says what it does before doing it, and what it did.
        self.assertIn("format 2 -> 4 in place: the event log (%s events) is kept"
                      % self.want["/healthz events"][1], err)
        self.assertIn("is format 4:", err)
        for db in LOG_DBS[1:]:
            self.assertEqual(before[db], dump(data, db), db)
        meta = dump(data, "meta")
        self.assertEqual(set_meta(dump(self.fresh, "meta"), "version", "04000000"), meta)
        dbs = subprocess.run(["mdb_dump", "-l", data], capture_output=True,
                             check=True).stdout.decode().split()
        self.assertNotIn("d_state", dbs)
        r = run_kpid("check", "--data", data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assert_same_as_fresh(data)

        # Again: nothing to do, nothing written.
        digest = sha(mdb)
        r = run_kpid("upgrade", "--data", data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"format 4 already; nothing to do", r.stderr)
        r = run_kpid("upgrade", "--data", data, "--quiet")
        self.assertEqual((r.returncode, r.stderr), (0, b""))
        self.assertEqual(digest, sha(mdb))

    def test_a_format_3_store_is_refused_then_upgraded_to_4(self):
        data = self.v2("v3", version="03000000")
        r = run_kpid("serve", "--data", data, "--listen", "127.0.0.1:0")
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn("format version 3", r.stderr.decode())
        self.assertIn("run `kpid upgrade --data %s`" % data, r.stderr.decode())
        r = run_kpid("upgrade", "--data", data)
        err = r.stderr.decode()
        self.assertEqual(r.returncode, 0, err)
        self.assertIn("format 3 -> 4 in place", err)
        dbs = subprocess.run(["mdb_dump", "-l", data], capture_output=True,
                             check=True).stdout.decode().split()
        self.assertIn("d_ap_open", dbs)
        self.assertIn("d_ap_tl", dbs)
        self.assert_same_as_fresh(data)

    def test_an_interrupted_upgrade_is_refused_then_finished(self):
        data = self.v2(marked=True)
        want = "a `kpid upgrade` was interrupted; run `kpid upgrade --data %s` again" % data
        for args in (["serve", "--listen", "127.0.0.1:0"], ["check"]):
            r = run_kpid(args[0], "--data", data, *args[1:])
            self.assertEqual(r.returncode, 3, r.stderr)
            self.assertIn(want, r.stderr.decode())
        r = run_kpid("upgrade", "--data", data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"finishing an interrupted upgrade", r.stderr)
        self.assertNotIn(" " + b"upgrading".hex(), dump(data, "meta").split("\n"))
        self.assert_same_as_fresh(data)

    def test_an_upgrade_killed_after_its_replay_only_removes_its_marker(self):
        data = os.path.join(self.dir, "replayed")
        shutil.copytree(self.fresh, data)
        load(data, "meta", junk([(b"upgrading".hex(), "02000000")]))
        r = run_kpid("check", "--data", data)  # whole: nothing refuses it
        self.assertEqual(r.returncode, 0, r.stderr)
        r = run_kpid("upgrade", "--data", data)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"its replay was complete; removing the marker", r.stderr)
        self.assertNotIn(b"replayed in", r.stderr)
        self.assertEqual(dump(self.fresh, "meta"), dump(data, "meta"))
        self.assert_same_as_fresh(data)

    def refused(self, data, texts, *args):
        mdb = os.path.join(data, "data.mdb")
        digest = sha(mdb) if os.path.exists(mdb) else None
        r = run_kpid("upgrade", "--data", data, *args)
        self.assertEqual(r.returncode, 3, r.stderr)
        for t in texts:
            self.assertIn(t, r.stderr.decode())
        if digest:
            self.assertEqual(digest, sha(mdb))

    def test_refusals(self):
        r = run_kpid("upgrade", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"usage: kpid upgrade", r.stdout)
        self.assertEqual(run_kpid("upgrade", "--bogus").returncode, 2)
        self.assertEqual(run_kpid("upgrade", "extra").returncode, 2)

        self.refused(os.path.join(self.dir, "missing"), ["no kpid store"])
        empty = os.path.join(self.dir, "empty")
        os.mkdir(empty)
        self.refused(empty, ["no kpid store", "nothing to upgrade"])
        self.assertEqual([], os.listdir(empty))  # not even a lock file
        garbage = os.path.join(self.dir, "garbage")
        os.mkdir(garbage)
        with open(os.path.join(garbage, "data.mdb"), "wb") as f:
            f.write(b"not an LMDB file\n" * 500)
        self.refused(garbage, ["not a kpid store", "left untouched"])

        self.refused(self.v2("future", version="09000000"),
                     ["format version 9", "upgrades versions 2 to 3 only", "left untouched"])
        self.refused(self.v2("v1", version="01000000"), ["format version 1", "left untouched"])

        cfg = os.path.join(self.dir, "berlin.json")
        with open(cfg, "w") as f:
            json.dump({"time_zone": "Europe/Berlin"}, f)
        self.refused(self.v2("tz"), ["time zone UTC, not Europe/Berlin", "left untouched"],
                     "--config", cfg)
        cfg = os.path.join(self.dir, "slas.json")
        with open(cfg, "w") as f:
            json.dump({"holidays": ["2024-12-25"]}, f)
        self.refused(self.v2("slas"), ["other SLA definitions", "--config", "left untouched"],
                     "--config", cfg)

        # A running server holds the store.
        live = os.path.join(self.dir, "live")
        srv = Server(live).start()
        try:
            self.refused(live, ["in use by another kpid process (pid %d)" % srv.proc.pid])
        finally:
            self.assertEqual(srv.stop(), 0)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main(verbosity=2)
