"""PDF reports end to end: `kpid report` and /v1/reports on a store loaded
with `kpid gen` data plus customers whose names need accents and CJK.

Every kind is generated through the CLI (beside a running server, read-only)
and through POST; the list, downloads, 404s and 400s are checked; and the
text of each PDF (`pdftotext -layout`) must show the same figures as the
JSON API returns for the same parameters: AR total and bucket amounts, DSO
(standard and countback by month), CEI, SLA and FTQ percentages, and the
customer names in any script. The text of each kind for a small
hand-made book is compared with golden files (tests/integration/golden/).
"""
import datetime
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import unittest

import kpidtest
from kpidtest import Server, run_kpid

PERIOD = "2025-06"
FROM, TO = "2025-06-01", "2025-06-30"
TREND_FROM = "2024-07-01"  # the 12 months ending at the period end
KINDS = ["sla", "aging", "dso", "ftq", "summary"]
NAMES = ["Müller GmbH", "Société Générale", "大连贸易有限公司"]
LONG = "Compañía Internacional de Distribución y Logística del Atlántico Norte S.A."
EMOJI = "Smile \U0001F600 Ltd"  # no installed font has U+1F600: drawn as U+FFFD
ID_RE = re.compile(r"^[a-z]+-[A-Za-z0-9._-]+-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d-\d{8}T\d{6}Z$")


def extra_events():
    """Large overdue invoices so these customers are among the most overdue."""
    evs = []
    for i, (name, unit) in enumerate(zip(NAMES, ["emea", "emea", "apac"])):
        evs.append({"id": "rx-%d" % i, "type": "invoice.issued", "time": "2025-03-0%d" % (i + 1),
                    "business_unit": unit, "invoice": "RX-%d" % i, "customer": name,
                    "amount": "%d.50" % (900000 + i * 1000), "terms_days": 30})
    for i, name in enumerate([LONG, EMOJI]):
        evs.append({"id": "ry-%d" % i, "type": "invoice.issued", "time": "2025-04-0%d" % (i + 1),
                    "business_unit": "emea", "invoice": "RY-%d" % i, "customer": name,
                    "amount": "%d.25" % (800000 + i * 1000), "terms_days": 30})
    return evs


def pdftotext(path):
    """The text of a report. poppler must have nothing to say about the file:
    no "Invalid 'begincidrange' operator in ToUnicode CMap" (libharu's map,
    which reports/rpt_pdf.c replaces), no syntax warning of any kind."""
    r = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError("pdftotext failed on %s: %s" % (path, r.stderr.decode()))
    if r.stderr:
        raise AssertionError("pdftotext warns on %s: %s" % (path, r.stderr.decode()))
    return r.stdout.decode("utf-8")


def grouped(amount):
    """An API amount ("3444184.57") as reports print it ("3,444,184.57")."""
    sign = "-" if amount.startswith("-") else ""
    whole, _, frac = amount.lstrip("-").partition(".")
    return sign + "{:,}".format(int(whole)) + ("." + frac if frac else "")


def pct(v):
    """A JSON ratio as the PDF prints it (2 decimals), or the n/a text."""
    return "%.2f" % v


def row(text, first):
    """Tokens of every line whose first token is `first`."""
    out = []
    for line in text.splitlines():
        t = line.split()
        if t and t[0] == first:
            out.append(t)
    return out


@unittest.skipIf(shutil.which("pdftotext") is None,
                 "pdftotext is missing: install poppler-utils (./dev test installs it)")
class Reports(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-rpt-")
        cls.data = os.path.join(cls.tmp, "data")
        ev = os.path.join(cls.tmp, "ev.ndjson")
        r = run_kpid("gen", "--invoices", "600", "--seed", "11", "--out", ev)
        assert r.returncode == 0, r.stderr
        with open(ev, "a", encoding="utf-8") as f:
            f.write(kpidtest.ndjson(extra_events()))
        r = run_kpid("ingest", "--data", cls.data, ev)
        assert r.returncode == 0, r.stderr
        cls.srv = Server(cls.data).start()
        cls.texts = {}

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, "kpid serve exited with %r:\n%s" % (rc, log)
        assert "Sanitizer" not in log, log

    def api(self, path):
        status, body, _ = self.srv.get(path)
        self.assertEqual(status, 200, body)
        return body

    def cli_report(self, kind, *extra):
        out = os.path.join(self.tmp, "cli-%s.pdf" % kind)
        r = run_kpid("report", "--data", self.data, "--kind", kind, "--period", PERIOD,
                     "--out", out, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"wrote", r.stderr)
        with open(out, "rb") as f:
            self.assertEqual(f.read(5), b"%PDF-")
        self.assertEqual([n for n in os.listdir(self.tmp) if n.endswith(".tmp")], [])
        return out

    def text_of(self, kind):
        if kind not in self.texts:
            self.texts[kind] = pdftotext(self.cli_report(kind))
        return self.texts[kind]

    # ---- figures: the PDF says what the JSON API says ---------------------

    def check_aging(self, text):
        ag = self.api("/v1/aging?as_of=%s" % TO)
        for b in ag["buckets"]:
            rows = [t for t in row(text, b["label"]) if grouped(b["amount"]) in t]
            self.assertTrue(rows, "bucket %s %s not in the PDF" % (b["label"], b["amount"]))
            self.assertIn(str(b["count"]), rows[0])
        total = [t for t in row(text, "Total") if grouped(ag["total"]["amount"]) in t]
        self.assertTrue(total, "AR total %s not in the PDF" % ag["total"]["amount"])
        self.assertIn(str(ag["total"]["count"]), total[0])
        self.assertIn(grouped(ag["unapplied_cash"]), text)

    def check_customers(self, text):
        for name in NAMES:
            self.assertIn(name, text)
        cust = self.api("/v1/aging?as_of=%s&group_by=customer" % TO)
        overdue = sorted(((float(g["total"]["amount"]) - float(g["buckets"][0]["amount"]),
                           g["key"], g) for g in cust["groups"]), key=lambda x: (-x[0], x[1]))
        # the most overdue customer is ranked first with its exact figures
        top = overdue[0][2]
        first = row(text, "1")
        self.assertTrue(any(grouped(top["total"]["amount"]) in t for t in first), first)

    def check_dso(self, text):
        std = self.api("/v1/dso?from=%s&to=%s&interval=month" % (TREND_FROM, TO))
        cb = self.api("/v1/dso?from=%s&to=%s&interval=month&method=countback" % (TREND_FROM, TO))
        cei = self.api("/v1/cei?from=%s&to=%s&interval=month" % (TREND_FROM, TO))
        self.assertEqual(len(std["points"]), 12)
        for p, c, e in zip(std["points"], cb["points"], cei["points"]):
            month = p["start"][:7]
            rows = [t for t in row(text, month) if grouped(p["sales"]) in t]  # the DSO table's row
            self.assertTrue(rows, "month %s with sales %s missing" % (month, p["sales"]))
            t = rows[0]
            for v in (p, c, e):
                want = pct(v["value"]) if v["value"] is not None else "n/a"
                self.assertIn(want, " ".join(t), "%s: %s" % (month, t))
            self.assertIn(grouped(p["sales"]), t)
            self.assertIn(grouped(p["ar"]), t)
        # the period's own figures
        one = self.api("/v1/dso?from=%s&to=%s&interval=month" % (FROM, TO))["points"][0]
        self.assertTrue(any(pct(one["value"]) in t for t in row(text, "Standard")))

    def check_sla(self, text):
        status, defs, _ = self.srv.get("/v1/sla?from=%s&to=%s" % (FROM, TO))
        self.assertEqual(status, 400)  # no sla: the message lists them
        names = defs["error"]["message"].split("one of: ")[1].rstrip(")").split(", ")
        self.assertEqual(len(names), 5)
        for n in names:
            p = self.api("/v1/sla?sla=%s&from=%s&to=%s&interval=month" % (n, FROM, TO))
            pt = p["points"][0]
            rows = row(text, n)
            self.assertTrue(rows, "SLA %s missing" % n)
            want = pct(pt["value"]) if pt["value"] is not None else "n/a"
            t = " ".join(rows[0])
            self.assertIn(want, t)
            self.assertIn(" %d " % pt["completed"], " %s " % t)
            self.assertIn(" %d " % pt["met"], " %s " % t)

    def check_ftq(self, text):
        for kind, first in (("invoice", "Invoices"), ("bill", "Bills")):
            pt = self.api("/v1/ftq?kind=%s&from=%s&to=%s&interval=month" % (kind, FROM, TO))[
                "points"][0]
            want = pct(pt["value"]) if pt["value"] is not None else "n/a"
            rows = [t for t in row(text, first) if "(" in " ".join(t)]
            self.assertTrue(rows, "FTQ %s missing" % kind)
            t = " ".join(rows[0])
            self.assertIn(want, t)
            self.assertIn(" %d " % pt["reviewed"], " %s " % t)

    def test_aging(self):
        text = self.text_of("aging")
        self.check_aging(text)
        self.check_customers(text)
        # a name wider than its column is cut with an ellipsis, never overlapping
        self.assertNotIn(LONG, text)
        cut = [line for line in text.splitlines() if "Compañía Internacional" in line]
        self.assertEqual(len(cut), 1, cut)
        self.assertIn("\u2026", cut[0])
        self.assertIn("Smile \ufffd Ltd", text)
        self.assertRegex(text, r"Page 1 of \d")
        self.assertIn("Definitions used in this report", text)

    def test_dso(self):
        self.check_dso(self.text_of("dso"))

    def test_sla(self):
        self.check_sla(self.text_of("sla"))

    def test_ftq(self):
        self.check_ftq(self.text_of("ftq"))

    def test_summary(self):
        text = self.text_of("summary")
        self.check_aging(text)
        self.check_dso(text)
        self.check_sla(text)
        self.check_ftq(text)
        for name in NAMES:
            self.assertIn(name, text)
        pages = re.findall(r"Page (\d+) of (\d+)", text)
        self.assertTrue(pages)
        self.assertEqual([int(p) for p, _ in pages], list(range(1, int(pages[0][1]) + 1)))

    def test_summary_of_a_period_not_over_is_to_date(self):
        """The month running today: figures up to today, and said so on the
        header and above the key figures (docs/reports.md); the DSO is the
        API's for the days elapsed, never the month's days over them."""
        today = datetime.datetime.now(datetime.timezone.utc).date()
        first = today.replace(day=1)
        nxt = (first + datetime.timedelta(days=32)).replace(day=1)
        end = nxt - datetime.timedelta(days=1)
        out = os.path.join(self.tmp, "cli-to-date.pdf")
        r = run_kpid("report", "--data", self.data, "--kind", "summary", "--period",
                     first.strftime("%Y-%m"), "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = " ".join(pdftotext(out).split())
        days = (today - first).days + 1
        self.assertIn("Period %s to %s, TO DATE (%d of %d days)" % (first, today, days, end.day),
                      text)
        self.assertIn("To date: the period runs to %s; figures up to %s, the day of this report."
                      % (end, today), text)
        dso = self.api("/v1/dso?from=%s&to=%s" % (first, today))["points"][0]
        self.assertEqual(dso["days"], days)
        # A month that has not started: nothing to report, said so.
        r = run_kpid("report", "--data", self.data, "--kind", "summary", "--period",
                     nxt.strftime("%Y-%m"), "--out", out)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"after today", r.stderr)
        # The schedules' rules read here too: previous_month is the month
        # before this one (issue 17).
        prev_end = first - datetime.timedelta(days=1)
        r = run_kpid("report", "--data", self.data, "--kind", "summary", "--period",
                     "previous_month", "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        text = " ".join(pdftotext(out).split())
        self.assertIn("Period %s to %s" % (prev_end.replace(day=1), prev_end), text)
        self.assertNotIn("TO DATE", text)
        r = run_kpid("report", "--data", self.data, "--kind", "summary", "--period",
                     "previous_year", "--out", out)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"previous_quarter", r.stderr)

    def test_grouped_amounts_and_clean_text(self):
        # pdftotext() fails on any warning (the CJK font's ToUnicode map was one)
        text = self.text_of("summary")
        self.assertEqual("3,444,184.57", grouped("3444184.57"))
        ag = self.api("/v1/aging?as_of=%s" % TO)
        self.assertGreater(float(ag["total"]["amount"]), 1e6)
        self.assertIn(grouped(ag["total"]["amount"]), text)
        self.assertRegex(text, r" \d{1,3}(,\d{3}){2}\.\d\d ")  # millions, grouped
        self.assertNotIn(ag["total"]["amount"], text)  # never ungrouped
        for name in NAMES:  # accented and CJK names come back as they are
            self.assertIn(name, text)

    def test_business_unit_and_currency(self):
        text = pdftotext(self.cli_report("aging", "--business-unit", "apac", "--currency", "USD"))
        ag = self.api("/v1/aging?as_of=%s&business_unit=apac" % TO)
        self.assertIn(grouped(ag["total"]["amount"]), text)
        self.assertIn("大连贸易有限公司", text)
        self.assertNotIn("Müller GmbH", text)

    # ---- HTTP ------------------------------------------------------------

    def test_post_list_download(self):
        made = []
        for kind in KINDS:
            status, body, _ = self.srv.request("POST", "/v1/reports",
                                               body={"kind": kind, "period": PERIOD})
            self.assertEqual(status, 201, body)
            self.assertRegex(body["id"], ID_RE)
            self.assertEqual(body["kind"], kind)
            self.assertIsNone(body["business_unit"])
            self.assertEqual((body["period"], body["from"], body["to"]), (PERIOD, FROM, TO))
            self.assertGreater(body["size"], 1000)
            made.append(body)
        # query parameters work as well as a body
        status, body, _ = self.srv.request(
            "POST", "/v1/reports?kind=aging&period=2025-Q2&business_unit=emea")
        self.assertEqual(status, 201, body)
        self.assertEqual((body["from"], body["to"], body["business_unit"]),
                         ("2025-04-01", "2025-06-30", "emea"))
        made.append(body)
        listing = self.api("/v1/reports")["reports"]
        ids = [r["id"] for r in listing]
        for m in made:
            self.assertIn(m["id"], ids)
        created = [r["created"] for r in listing]
        self.assertEqual(created, sorted(created, reverse=True))
        self.assertFalse([i for i in ids if i.endswith(".tmp")])
        for m in made:
            conn_status, _, data = self.srv.get("/v1/reports/%s" % m["id"])
            self.assertEqual(conn_status, 200)
            self.assertEqual(data[:5], b"%PDF-")
            self.assertEqual(len(data), m["size"])
            entry = [r for r in listing if r["id"] == m["id"]][0]
            self.assertEqual((entry["kind"], entry["from"], entry["to"], entry["size"]),
                             (m["kind"], m["from"], m["to"], m["size"]))
        # a temporary file in the directory is never listed
        rdir = os.path.join(self.data, "reports")
        with open(os.path.join(rdir, "x.pdf.AbCdEf.tmp"), "wb") as f:
            f.write(b"partial")
        self.assertNotIn("x.pdf.AbCdEf.tmp", [r["id"] for r in self.api("/v1/reports")["reports"]])

    def test_post_accept_pdf(self):
        status, _, data = self.srv.request("POST", "/v1/reports",
                                           body={"kind": "ftq", "period": PERIOD},
                                           headers={"Accept": "application/pdf"})
        self.assertEqual(status, 201)
        self.assertEqual(data[:5], b"%PDF-")
        path = os.path.join(self.tmp, "accept.pdf")
        with open(path, "wb") as f:
            f.write(data)
        self.check_ftq(pdftotext(path))

    def test_concurrent_posts(self):
        # Reports render on the server's worker threads at the same time.
        results = []

        def post(kind, unit):
            body = {"kind": kind, "period": PERIOD}
            if unit:
                body["business_unit"] = unit
            results.append(self.srv.request("POST", "/v1/reports", body=body))

        threads = [threading.Thread(target=post, args=(k, u))
                   for k in ("aging", "summary") for u in (None, "apac", "emea")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(len(results), 6)
        for status, body, _ in results:
            self.assertEqual(status, 201, body)
            status, _, data = self.srv.get(body["url"])
            self.assertEqual((status, len(data)), (200, body["size"]))

    def test_body_too_large(self):
        status, resp, _ = self.srv.request(
            "POST", "/v1/reports", body=json.dumps({"kind": "sla", "period": PERIOD,
                                                    "business_unit": "x" * 20000}),
            headers={"Content-Type": "application/json"})
        self.assertEqual(status, 413)
        self.assertIn("at most 16384 bytes", resp["error"]["message"])

    def test_reports_dir_config(self):
        rdir = os.path.join(self.tmp, "elsewhere", "reports")
        cfg = os.path.join(self.tmp, "cfg.json")
        with open(cfg, "w") as f:
            json.dump({"reports_dir": rdir}, f)
        data = os.path.join(self.tmp, "data2")
        srv = Server(data, ["--config", cfg]).start()
        try:
            self.assertEqual(srv.get("/v1/reports")[1], {"reports": []})  # not created yet
            status, body, _ = srv.request("POST", "/v1/reports",
                                          body={"kind": "dso", "period": PERIOD})
            self.assertEqual(status, 201, body)
            self.assertEqual(os.listdir(rdir), [body["id"] + ".pdf"])
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())
        with open(cfg, "w") as f:
            json.dump({"reports_dir": 7}, f)
        r = run_kpid("serve", "--data", data, "--config", cfg, "--listen", "127.0.0.1:0")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"config key 'reports_dir' must be a string", r.stderr)

    def test_http_errors(self):
        cases = [
            ({"period": PERIOD}, 400, "'kind' is required"),
            ({"kind": "weekly", "period": PERIOD}, 400, "'kind': 'weekly' is not one of"),
            ({"kind": "sla"}, 400, "'period' is required"),
            ({"kind": "sla", "period": "2025-13"}, 400, "month must be 01 to 12"),
            ({"kind": "sla", "period": "2025-W53"}, 400, "has weeks W01 to W52"),
            ({"kind": "sla", "period": "2025-03-01..2025-01-01"}, 400, "first day is after"),
            ({"kind": "sla", "period": PERIOD, "currency": "EURO"}, 400, "ISO 4217"),
            ({"kind": "sla", "period": PERIOD, "colour": "red"}, 400, "unknown field 'colour'"),
            ({"kind": 3, "period": PERIOD}, 400, "must be a string"),
            ({"kind": "aging", "period": PERIOD, "business_unit": "nowhere"}, 404,
             "unknown business unit 'nowhere'"),
        ]
        for body, want, msg in cases:
            status, resp, _ = self.srv.request("POST", "/v1/reports", body=body)
            self.assertEqual(status, want, (body, resp))
            self.assertIn(msg, resp["error"]["message"], body)
        status, resp, _ = self.srv.request("POST", "/v1/reports", body="not json",
                                           headers={"Content-Type": "application/json"})
        self.assertEqual(status, 400)
        self.assertIn("not JSON", resp["error"]["message"])
        status, resp, _ = self.srv.request("POST", "/v1/reports?kind=sla&period=%s&x=1" % PERIOD)
        self.assertEqual(status, 400)
        self.assertIn("unknown parameter 'x'", resp["error"]["message"])
        status, resp, _ = self.srv.get("/v1/reports/sla-all-2020-01-01-2020-01-31-20200201T000000Z")
        self.assertEqual(status, 404)
        self.assertIn("no report", resp["error"]["message"])
        for bad in ("..x", ".hidden", "a%20b"):
            status, resp, _ = self.srv.get("/v1/reports/%s" % bad)
            self.assertEqual(status, 400, bad)
        status, resp, _ = self.srv.get("/v1/reports/..%2F..%2Fdata.mdb")
        self.assertIn(status, (400, 404))
        status, _, _ = self.srv.request("DELETE", "/v1/reports")
        self.assertIn(status, (404, 405))

    # ---- CLI errors --------------------------------------------------------

    def test_cli_errors(self):
        out = os.path.join(self.tmp, "e.pdf")
        cases = [
            (["--kind", "weekly", "--period", PERIOD, "--out", out], 2, "unknown kind 'weekly'"),
            (["--kind", "sla", "--period", "2025-Q5", "--out", out], 2,
             "quarter must be Q1 to Q4"),
            (["--kind", "sla", "--out", out], 2, "--period is required"),
            (["--kind", "sla", "--period", PERIOD], 2, "--out is required"),
            (["--period", PERIOD, "--out", out], 2, "--kind is required"),
            (["--kind", "sla", "--period", PERIOD, "--out", out, "--currency", "EU"], 2,
             "not an ISO 4217 code"),
            (["--kind", "aging", "--period", PERIOD, "--out", out, "--business-unit", "nowhere"],
             2, "unknown business unit 'nowhere'"),
            (["--kind", "aging", "--period", PERIOD, "--out", "/nonexistent-dir/r.pdf"], 3,
             "cannot write /nonexistent-dir/r.pdf"),
        ]
        for args, rc, msg in cases:
            r = run_kpid("report", "--data", self.data, *args)
            self.assertEqual(r.returncode, rc, (args, r.stderr))
            self.assertIn(msg, r.stderr.decode(), args)
        self.assertFalse(os.path.exists(out))
        r = run_kpid("report", "--data", os.path.join(self.tmp, "no-store"), "--kind", "sla",
                     "--period", PERIOD, "--out", out)
        self.assertEqual(r.returncode, 3, r.stderr)
        r = run_kpid("report", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn(b"usage: kpid report", r.stdout)


GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")

# A small hand-made book (the one of tests/reports/rpt_test.h, as events).
SMALL_BOOK = [
    {"id": "e1", "type": "invoice.issued", "time": "2025-09-01T09:00:00Z", "business_unit": "emea",
     "invoice": "INV-1", "customer": "Müller GmbH", "amount": "1000.00", "terms_days": 30},
    {"id": "e2", "type": "invoice.issued", "time": "2025-11-10T09:00:00Z", "business_unit": "emea",
     "invoice": "INV-2", "customer": "Société Générale", "amount": "500.00", "terms_days": 30},
    {"id": "e3", "type": "invoice.issued", "time": "2025-07-01T09:00:00Z", "business_unit": "apac",
     "invoice": "INV-3", "customer": "大连贸易有限公司", "amount": "2500.00", "terms_days": 30},
    {"id": "e4", "type": "invoice.issued", "time": "2025-10-20T09:00:00Z", "business_unit": "apac",
     "invoice": "INV-4", "customer": "大连贸易有限公司", "amount": "300.00", "terms_days": 30},
    {"id": "e9", "type": "payment.received", "time": "2025-11-05T09:00:00Z",
     "payment": "P-2", "customer": "大连贸易有限公司", "amount": "190.00", "method": "wire"},
    {"id": "e10", "type": "payment.applied", "time": "2025-11-06T09:00:00Z", "payment": "P-2",
     "invoice": "INV-4", "amount": "150.00"},
    {"id": "e5", "type": "invoice.issued", "time": "2025-10-01T09:00:00Z", "business_unit": "us",
     "invoice": "INV-5", "customer": "ACME", "amount": "800.00", "terms_days": 30},
    {"id": "e6", "type": "invoice.reviewed", "time": "2025-09-02T09:00:00Z", "invoice": "INV-1",
     "result": "pass"},
    {"id": "e7", "type": "invoice.reviewed", "time": "2025-10-02T09:00:00Z", "invoice": "INV-5",
     "result": "fail", "reason": "wrong PO"},
    {"id": "e8", "type": "payment.received", "time": "2025-10-25T09:00:00Z", "payment": "P-1",
     "customer": "ACME", "amount": "800.00", "method": "wire"},
    {"id": "e11", "type": "payment.applied", "time": "2025-10-25T10:00:00Z", "payment": "P-1",
     "invoice": "INV-5", "amount": "800.00"},
    {"id": "e12", "type": "bill.received", "time": "2025-11-03T09:00:00Z", "business_unit": "us",
     "bill": "B-1", "vendor": "Vendor", "amount": "120.00", "terms_days": 30},
    {"id": "e13", "type": "bill.processed", "time": "2025-11-04T09:00:00Z", "bill": "B-1"},
]


@unittest.skipIf(shutil.which("pdftotext") is None,
                 "pdftotext is missing: install poppler-utils (./dev test installs it)")
class Golden(unittest.TestCase):
    """The text of each kind for a small book, against tests/integration/golden/
    (the generation time blanked). KPID_UPDATE_GOLDEN=1 rewrites the files;
    review the diff before committing it."""

    def test_golden_text(self):
        tmp = tempfile.mkdtemp(prefix="kpid-rpt-golden-")
        try:
            data = os.path.join(tmp, "data")
            ev = os.path.join(tmp, "book.ndjson")
            with open(ev, "w", encoding="utf-8") as f:
                f.write(kpidtest.ndjson(SMALL_BOOK))
            r = run_kpid("ingest", "--data", data, ev)
            self.assertEqual(r.returncode, 0, r.stderr)
            for kind in KINDS:
                out = os.path.join(tmp, kind + ".pdf")
                r = run_kpid("report", "--data", data, "--kind", kind, "--period", "2025-11",
                             "--out", out)
                self.assertEqual(r.returncode, 0, r.stderr)
                text = re.sub(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "YYYY-MM-DDTHH:MM:SSZ",
                              pdftotext(out))
                path = os.path.join(GOLDEN, "report-%s.txt" % kind)
                if os.environ.get("KPID_UPDATE_GOLDEN") == "1":
                    os.makedirs(GOLDEN, exist_ok=True)
                    with open(path, "w", encoding="utf-8") as f:
                        f.write(text)
                with open(path, encoding="utf-8") as f:
                    want = f.read()
                self.assertEqual(want, text, "%s differs from %s" % (kind, path))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
