"""Scheduled reports in `kpid serve`: every bad "schedules" value is refused
at start with a message naming the schedule and the key (exit 2), an
output directory that cannot be created is an environment error (exit 3),
and a run missed while the server was down is caught up once at start.

The catch-up test does not wait for a cron time to come: it writes the
schedule's state file (docs/reports.md, "Schedules") saying the last run
was long ago, so the first tick at start is due. The server logs
"next run at" for a schedule after its first tick; the test waits for that
line, which is an event, not an amount of time.
"""
import datetime
import json
import os
import shutil
import tempfile
import time
import unittest

import kpidtest
from kpidtest import Server, run_kpid

GOOD = {"name": "daily", "cron": "0 0 * * *", "kinds": ["sla"], "period": "previous_day"}


def with_(**kw):
    s = dict(GOOD)
    for k, v in kw.items():
        if v is None:
            s.pop(k, None)
        else:
            s[k] = v
    return s


# (schedules value, expected message fragment)
BAD = [
    ({"name": "x"}, "config key 'schedules' must be an array of schedules"),
    (["x"], "config schedules[0] must be an object with keys name, cron, kinds, "
            "business_units, period, currency, output_dir, keep, mail_to"),
    ([with_(name=None)], "config schedules[0]: key 'name' is required"),
    ([GOOD, with_(name="a b")], "config schedules[1]: key 'name' must be 1 to 63 letters, "
                                "digits, '.', '_' or '-' (not starting with '.')"),
    ([GOOD, GOOD], "config schedule 'daily': the name is used by two schedules"),
    ([with_(cron=None)], "config schedule 'daily': key 'cron' is required"),
    ([with_(cron=5)], "config schedule 'daily': key 'cron' must be a string of 1 to 127 bytes"),
    ([with_(cron="0 24 * * *")],
     "config schedule 'daily': key 'cron': field 2 (hour): 24 is out of range 0-23"),
    ([with_(cron="0 0 30 2 *")],
     "config schedule 'daily': key 'cron': cron expression '0 0 30 2 *' never matches: none of "
     "its days of the month occurs in february"),
    ([with_(cron="30 2 *")], "config schedule 'daily': key 'cron': cron expression '30 2 *' has "
                             "3 fields; expected 5"),
    ([with_(kinds=None)], "config schedule 'daily': key 'kinds' is required (an array of sla, "
                          "aging, dso, ftq, summary, payables, xlsx)"),
    ([with_(kinds=[])], "config schedule 'daily': key 'kinds' must be a non-empty array of "
                        "report kinds (sla, aging, dso, ftq, summary, payables, xlsx)"),
    ([with_(kinds=["sla", "pie"])], "config schedule 'daily': key 'kinds': 'pie' is not a "
                                    "report kind (sla, aging, dso, ftq, summary, payables, xlsx)"),
    ([with_(kinds=["sla", "sla"])], "config schedule 'daily': key 'kinds': 'sla' is listed twice"),
    ([with_(business_units="EU")], "config schedule 'daily': key 'business_units' must be an "
                                   "array of 1 to 16 unit names"),
    ([with_(business_units=["*", "EU"])],
     "config schedule 'daily': key 'business_units': \"*\" (every unit separately) cannot be "
     "combined with named units"),
    ([with_(business_units=["EU", ""])],
     "config schedule 'daily': key 'business_units': item 1 must be a name of 1 to 127 bytes"),
    ([with_(period=None)], "config schedule 'daily': key 'period' is required"),
    ([with_(period="last_month")],
     "config schedule 'daily': key 'period': 'last_month' is not a period (use previous_day, "
     "previous_week, previous_month or previous_quarter)"),
    ([with_(currency="EURO")],
     "config schedule 'daily': key 'currency' must be a string of 1 to 3 bytes"),
    ([with_(currency="XYZ")],
     "config schedule 'daily': key 'currency': 'XYZ' is not an ISO 4217 code"),
    ([with_(output_dir=7)],
     "config schedule 'daily': key 'output_dir' must be a string of 1 to 4095 bytes"),
    ([with_(keep=0)], "config schedule 'daily': key 'keep' must be an integer 1..100000"),
    ([with_(keep="3")], "config schedule 'daily': key 'keep' must be an integer 1..100000"),
    ([with_(every="day")], "config schedule 'daily': unknown key 'every' (known: name, cron, "
                           "kinds, business_units, period, currency, output_dir, keep, "
                           "mail_to)"),
]


class Schedules(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-sched-")
        self.data = os.path.join(self.tmp, "data")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def config(self, obj):
        path = os.path.join(self.tmp, "config.json")
        with open(path, "w") as f:
            json.dump(obj, f)
        return path

    def test_bad_schedules_are_refused_at_start(self):
        for value, want in BAD:
            with self.subTest(want=want):
                cfg = self.config({"schedules": value})
                r = run_kpid("serve", "--data", self.data, "--listen", "127.0.0.1:0",
                             "--config", cfg, timeout=60)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(("kpid serve: " + want).encode(), r.stderr)
                self.assertFalse(os.path.exists(os.path.join(self.data, "reports")))
        cfg = self.config({"reports_dir": ""})
        r = run_kpid("serve", "--data", self.data, "--listen", "127.0.0.1:0", "--config", cfg)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"config key 'reports_dir' must be 1 to 4095 characters", r.stderr)

    def test_output_dir_that_cannot_be_created(self):
        blocker = os.path.join(self.tmp, "file")
        with open(blocker, "w") as f:
            f.write("x")
        cfg = self.config({"schedules": [with_(output_dir=os.path.join(blocker, "r"))]})
        r = run_kpid("serve", "--data", self.data, "--listen", "127.0.0.1:0", "--config", cfg,
                     timeout=60)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(("kpid serve: schedule 'daily': cannot create report directory %s/r: "
                       "Not a directory" % blocker).encode(), r.stderr)

    def wait_log(self, srv, text, count):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            log = srv.log()
            if log.count(text) >= count:
                return log
            time.sleep(0.05)
        self.fail("no %d x %r in the log:\n%s" % (count, text, srv.log()))

    def test_catch_up_once_and_file_naming(self):
        reports = os.path.join(self.tmp, "reports")
        cfg = self.config({"reports_dir": reports,
                           "schedules": [with_(kinds=["sla", "aging", "payables"], keep=5)]})
        os.makedirs(reports)
        # The last run "was" in 2020: today's 00:00 UTC run was missed.
        with open(os.path.join(reports, ".schedule-daily.state"), "w") as f:
            f.write("kpid-schedule-state 1\nlast 1577836800\n")
        with open(os.path.join(reports, "sla-all-x.pdf.tmp"), "w") as f:
            f.write("left by a crash")
        srv = Server(self.data, ["--config", cfg]).start()
        try:
            log = self.wait_log(srv, "kpid: schedule 'daily': next run at ", 1)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        now = datetime.datetime.now(datetime.timezone.utc)
        due = now.replace(hour=0, minute=0, second=0, microsecond=0)
        day = (due - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        stamp = due.strftime("%Y%m%dT%H%M%SZ")
        want = sorted("%s-all-%s-%s-%s.pdf" % (k, day, day, stamp)
                      for k in ("sla", "aging", "payables"))
        self.assertEqual(want, sorted(n for n in os.listdir(reports) if not n.startswith(".")),
                         log)
        self.assertIn("missed due times from 2020-01-02T00:00:00Z; running once for %s" %
                      due.strftime("%Y-%m-%dT%H:%M:%SZ"), log)
        self.assertIn("removed sla-all-x.pdf.tmp left by an interrupted run", log)
        for name in want:
            with open(os.path.join(reports, name), "rb") as f:
                self.assertEqual(f.read(5), b"%PDF-")
        with open(os.path.join(reports, ".schedule-daily.state")) as f:
            state = f.read()
        self.assertIn("last %d\n" % int(due.timestamp()), state)
        self.assertNotIn(".tmp", " ".join(os.listdir(reports)))

        # Restarted: the catch-up is not repeated.
        srv = Server(self.data, ["--config", cfg]).start()
        try:
            log = self.wait_log(srv, "kpid: schedule 'daily': next run at ", 2)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        self.assertEqual(want, sorted(n for n in os.listdir(reports) if not n.startswith(".")))
        self.assertEqual(1, log.count("wrote sla-all-"), log)
        self.assertNotIn("Sanitizer", log)

    def test_xlsx_kind_scheduled(self):
        # The workbook kind runs on a schedule like the PDFs: <id>.xlsx
        # beside them, its interrupted temporary file cleaned up likewise.
        reports = os.path.join(self.tmp, "reports")
        cfg = self.config({"reports_dir": reports,
                           "schedules": [with_(kinds=["xlsx", "sla"], keep=5)]})
        os.makedirs(reports)
        with open(os.path.join(reports, ".schedule-daily.state"), "w") as f:
            f.write("kpid-schedule-state 1\nlast 1577836800\n")
        with open(os.path.join(reports, "xlsx-all-x.xlsx.tmp"), "w") as f:
            f.write("left by a crash")
        srv = Server(self.data, ["--config", cfg]).start()
        try:
            log = self.wait_log(srv, "kpid: schedule 'daily': next run at ", 1)
            st, lst, _ = srv.get("/v1/reports")
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        now = datetime.datetime.now(datetime.timezone.utc)
        due = now.replace(hour=0, minute=0, second=0, microsecond=0)
        day = (due - datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        stamp = due.strftime("%Y%m%dT%H%M%SZ")
        want = sorted(["xlsx-all-%s-%s-%s.xlsx" % (day, day, stamp),
                       "sla-all-%s-%s-%s.pdf" % (day, day, stamp)])
        self.assertEqual(want, sorted(n for n in os.listdir(reports) if not n.startswith(".")),
                         log)
        self.assertIn("removed xlsx-all-x.xlsx.tmp left by an interrupted run", log)
        with open(os.path.join(reports, want[1]), "rb") as f:
            self.assertEqual(f.read(4), b"PK\x03\x04")
        self.assertEqual(st, 200)
        self.assertEqual(sorted(r["kind"] for r in lst["reports"]), ["sla", "xlsx"])

    def test_every_unit_from_the_store(self):
        units = ["north", "south/east", "north"]
        events = [{"id": "e%d" % i, "type": "invoice.issued",
                   "time": "2025-03-0%dT10:00:00Z" % (i + 1), "invoice": "I-%d" % i,
                   "customer": "C", "amount": "10.00", "terms_days": 30, "business_unit": bu}
                  for i, bu in enumerate(units)]
        r = run_kpid("ingest", "--data", self.data, "-", input=kpidtest.ndjson(events).encode())
        self.assertEqual(r.returncode, 0, r.stderr)
        cfg = self.config({"schedules": [with_(business_units=["*"], kinds=["dso"])]})
        reports = os.path.join(self.data, "reports")
        os.makedirs(reports)
        with open(os.path.join(reports, ".schedule-daily.state"), "w") as f:
            f.write("kpid-schedule-state 1\nlast 1577836800\n")
        srv = Server(self.data, ["--config", cfg]).start()
        try:
            log = self.wait_log(srv, "kpid: schedule 'daily': next run at ", 1)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        names = sorted(n for n in os.listdir(reports) if not n.startswith("."))
        self.assertEqual(2, len(names), log)
        self.assertTrue(names[0].startswith("dso-north-"), names)
        self.assertTrue(names[1].startswith("dso-south_east-"), names)

    def test_default_reports_dir_is_under_data(self):
        cfg = self.config({"schedules": [GOOD]})
        srv = Server(self.data, ["--config", cfg]).start()
        try:
            self.wait_log(srv, "kpid: schedule 'daily': next run at ", 1)
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        # First sight: registered, nothing back-filled.
        self.assertEqual([".schedule-daily.state"], os.listdir(os.path.join(self.data, "reports")))


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main(verbosity=2)
