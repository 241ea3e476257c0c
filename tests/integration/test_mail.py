"""Reports by e-mail (docs/reports.md, "Reports by e-mail"), against a real
SMTP server on loopback: aiosmtpd (Debian's python3-aiosmtpd) in this
process.

- POST /v1/reports with mail_to: the message arrives with the PDF attached
  (the same bytes as the file kept in the reports directory) and a subject
  naming kind, unit and period; the server answering 451 once makes kpid
  retry, and /metrics counts it (sent, retries, failed, pending);
- an SMTP server down at first and up later: the delivery is retried until
  it is up;
- a server that stays down: kpid gives up after max_attempts, logs it, and
  the PDF stays; stopping kpid with a delivery pending logs it;
- a schedule with mail_to mails its report;
- every user-visible error: mail_to without an smtp block, a bad address, a
  bad type, and the config's smtp errors at start.

Nothing waits for an amount of time: each step waits for an event (a
message received, a log line), with a generous deadline. retry_s is 1 so
retries come quickly.
"""
import email
import email.policy
import json
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
import unittest

import kpidtest
from kpidtest import Server, run_kpid

try:
    from aiosmtpd.controller import Controller
except ImportError:  # pragma: no cover - ./dev test installs python3-aiosmtpd
    Controller = None

CJK = "大连贸易有限公司"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Handler:
    """Keeps every message; answers 451 to the first `fail` DATA commands."""

    def __init__(self, fail=0):
        self.fail = fail
        self.refused = 0
        self.messages = []  # (envelope rcpt_tos, mail_from, parsed message)
        self.cv = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        with self.cv:
            if self.fail > 0:
                self.fail -= 1
                self.refused += 1
                return "451 4.3.0 try again later"
            msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                           policy=email.policy.default)
            self.messages.append((list(envelope.rcpt_tos), envelope.mail_from, msg))
            self.cv.notify_all()
        return "250 OK"

    def wait(self, n, timeout=90):
        with self.cv:
            ok = self.cv.wait_for(lambda: len(self.messages) >= n, timeout=timeout)
        if not ok:
            raise AssertionError("no %d message(s) arrived (%d did)" % (n, len(self.messages)))
        return self.messages


def events():
    evs = []
    for i, (bu, cust) in enumerate([("emea", "Müller GmbH"), ("emea", CJK), ("us", "ACME")]):
        evs.append({"id": "e%d" % i, "type": "invoice.issued",
                    "time": "2025-10-%02dT09:00:00Z" % (i + 1), "invoice": "INV-%d" % i,
                    "customer": cust, "amount": "1234567.%02d" % (i + 10), "terms_days": 30,
                    "business_unit": bu})
    return evs


@unittest.skipIf(Controller is None, "python3-aiosmtpd is not installed")
class Mail(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-mail-")
        self.data = os.path.join(self.tmp, "data")
        self.reports = os.path.join(self.data, "reports")
        self.controllers = []
        self.srv = None
        r = run_kpid("ingest", "--data", self.data, "-", input=kpidtest.ndjson(events()).encode())
        self.assertEqual(r.returncode, 0, r.stderr)

    def tearDown(self):
        if self.srv is not None:
            rc = self.srv.stop()
            log = self.srv.log()
            self.assertEqual(rc, 0, log)
            self.assertNotIn("Sanitizer", log)
        for c in self.controllers:
            c.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def smtp(self, handler, port=None):
        c = Controller(handler, hostname="127.0.0.1", port=port or free_port())
        c.start()
        self.controllers.append(c)
        return c.port

    def config(self, port, **smtp):
        block = {"url": "smtp://127.0.0.1:%d" % port, "from": "kpid@example.com",
                 "retry_s": 1, "retry_max_s": 2, "max_attempts": 5, "timeout_s": 10}
        block.update(smtp)
        cfg = {"smtp": block}
        path = os.path.join(self.tmp, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        return path

    def start(self, cfg):
        self.srv = Server(self.data, ["--config", cfg]).start()
        return self.srv

    def wait_log(self, text, count=1, timeout=90):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.srv.log()
            if log.count(text) >= count:
                return log
            time.sleep(0.05)
        self.fail("no %d x %r in the log:\n%s" % (count, text, self.srv.log()))

    def metrics(self):
        st, _, body = self.srv.get("/metrics")
        self.assertEqual(st, 200)
        out = {}
        for line in body.decode().splitlines():
            if line.startswith("kpid_report_mail_"):
                k, v = line.split()
                out[k] = int(float(v))
        return out

    def test_post_mail_to_retried_after_451(self):
        h = Handler(fail=1)
        port = self.smtp(h)
        self.start(self.config(port))
        self.assertEqual({"kpid_report_mail_sent_total": 0, "kpid_report_mail_failed_total": 0,
                          "kpid_report_mail_retries_total": 0, "kpid_report_mail_pending": 0},
                         self.metrics())
        st, body, raw = self.srv.post("/v1/reports", {
            "kind": "aging", "period": "2025-Q4", "business_unit": "emea",
            "mail_to": ["ops@example.com", "cfo@example.com"]})
        self.assertEqual(st, 201, raw)
        self.assertEqual(["ops@example.com", "cfo@example.com"], body["mail_to"])
        (rcpt, sender, msg), = h.wait(1)
        self.assertEqual(1, h.refused)
        self.assertEqual(["ops@example.com", "cfo@example.com"], rcpt)
        self.assertEqual("kpid@example.com", sender)
        self.assertEqual("kpid aging report — emea — 2025-Q4", msg["subject"])
        self.assertEqual("kpid@example.com", msg["from"].addresses[0].addr_spec)
        self.assertIn("ops@example.com", msg["to"])
        self.assertTrue(msg["message-id"].startswith("<kpid."), msg["message-id"])
        self.assertIsNotNone(email.utils.parsedate_to_datetime(msg["date"]))
        self.assertEqual("multipart/mixed", msg.get_content_type())
        parts = [p for p in msg.iter_attachments()]
        self.assertEqual(1, len(parts))
        pdf = parts[0]
        self.assertEqual("application/pdf", pdf.get_content_type())
        self.assertEqual(body["id"] + ".pdf", pdf.get_filename())
        with open(os.path.join(self.reports, body["id"] + ".pdf"), "rb") as f:
            self.assertEqual(f.read(), pdf.get_content())  # the PDF stays, the same bytes
        text = msg.get_body(preferencelist=("plain",)).get_content()
        self.assertIn("The aging report for emea, 2025-10-01 to 2025-12-31 (2025-Q4)", text)
        log = self.wait_log("kpid: mail: sent %s.pdf to ops@example.com, cfo@example.com" %
                            body["id"])
        self.assertIn("kpid: mail: attempt 1 of 5 to send %s.pdf" % body["id"], log)
        self.assertIn("the server replied '451 4.3.0 try again later'; retrying at ", log)
        self.assertEqual({"kpid_report_mail_sent_total": 1, "kpid_report_mail_failed_total": 0,
                          "kpid_report_mail_retries_total": 1, "kpid_report_mail_pending": 0},
                         self.metrics())

        # mail_to in the query, with Accept: application/pdf, on the whole book
        st, _, raw = self.srv.request(
            "POST", "/v1/reports?kind=summary&period=2025-11&mail_to=ops@example.com",
            headers={"Accept": "application/pdf"})
        self.assertEqual(st, 201)
        self.assertEqual(b"%PDF-", raw[:5])
        (rcpt, _, msg) = h.wait(2)[1]
        self.assertEqual(["ops@example.com"], rcpt)
        self.assertEqual("kpid summary report — whole book — 2025-11", msg["subject"])
        self.assertEqual(raw, next(msg.iter_attachments()).get_content())

    def test_post_xlsx_mail_to(self):
        # The workbook kind travels the same path, attached as what it is.
        h = Handler()
        self.start(self.config(self.smtp(h)))
        st, body, raw = self.srv.post("/v1/reports", {"kind": "xlsx", "period": "2025-Q4",
                                                      "mail_to": ["ops@example.com"]})
        self.assertEqual(st, 201, raw)
        (rcpt, _, msg), = h.wait(1)
        self.assertEqual(["ops@example.com"], rcpt)
        self.assertEqual("kpid xlsx report — whole book — 2025-Q4", msg["subject"])
        part, = list(msg.iter_attachments())
        self.assertEqual("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         part.get_content_type())
        self.assertEqual(body["id"] + ".xlsx", part.get_filename())
        with open(os.path.join(self.reports, body["id"] + ".xlsx"), "rb") as f:
            self.assertEqual(f.read(), part.get_content())
        self.wait_log("kpid: mail: sent %s.xlsx to ops@example.com" % body["id"])

    def test_server_down_at_first_then_up(self):
        port = free_port()  # nothing listens yet
        self.start(self.config(port, retry_s=1, retry_max_s=1, max_attempts=100))
        st, body, raw = self.srv.post("/v1/reports", {"kind": "sla", "period": "2025-11",
                                                      "business_unit": "emea",
                                                      "mail_to": ["ops@example.com"]})
        self.assertEqual(st, 201, raw)
        self.wait_log("kpid: mail: attempt 2 of 100 to send %s.pdf" % body["id"])
        m = self.metrics()
        self.assertEqual(0, m["kpid_report_mail_sent_total"])
        self.assertEqual(1, m["kpid_report_mail_pending"])
        self.assertGreaterEqual(m["kpid_report_mail_retries_total"], 2)
        h = Handler()
        self.smtp(h, port)
        (_, _, msg), = h.wait(1)
        self.assertEqual("kpid sla report — emea — 2025-11", msg["subject"])
        self.wait_log("kpid: mail: sent %s.pdf" % body["id"])
        m = self.metrics()
        self.assertEqual(1, m["kpid_report_mail_sent_total"])
        self.assertEqual(0, m["kpid_report_mail_pending"])
        self.assertEqual(0, m["kpid_report_mail_failed_total"])

    def test_given_up_and_pending_at_stop(self):
        port = free_port()  # nothing ever listens
        self.start(self.config(port, max_attempts=2))
        st, body, raw = self.srv.post("/v1/reports", {"kind": "ftq", "period": "2025-11",
                                                      "mail_to": ["ops@example.com"]})
        self.assertEqual(st, 201, raw)
        pdf = os.path.join(self.reports, body["id"] + ".pdf")
        log = self.wait_log("kpid: mail: giving up %s.pdf to ops@example.com after 2 attempts"
                            % body["id"])
        self.assertIn("(the report stays in %s)" % pdf, log)
        self.assertTrue(os.path.exists(pdf))
        self.assertEqual({"kpid_report_mail_sent_total": 0, "kpid_report_mail_failed_total": 1,
                          "kpid_report_mail_retries_total": 1, "kpid_report_mail_pending": 0},
                         self.metrics())
        # Restarted with a long retry: the pending delivery is logged at stop, the PDF stays.
        self.assertEqual(0, self.srv.stop())
        self.start(self.config(port, retry_s=3600, retry_max_s=3600))
        st, body, raw = self.srv.post("/v1/reports", {"kind": "dso", "period": "2025-11",
                                                      "mail_to": ["ops@example.com"]})
        self.assertEqual(st, 201, raw)
        self.wait_log("kpid: mail: attempt 1 of 5 to send %s.pdf" % body["id"])
        self.assertEqual(0, self.srv.stop())
        log = self.srv.log()
        self.srv = None
        pdf = os.path.join(self.reports, body["id"] + ".pdf")
        self.assertIn("kpid: mail: stopping: not sent to ops@example.com after 1 attempt; the "
                      "report stays in %s" % pdf, log)
        self.assertTrue(os.path.exists(pdf))

    def test_schedule_mail_to(self):
        h = Handler()
        port = self.smtp(h)
        with open(self.config(port)) as f:
            cfg = json.load(f)
        cfg["schedules"] = [{"name": "daily", "cron": "0 0 * * *", "kinds": ["aging"],
                             "business_units": ["emea"], "period": "previous_day",
                             "mail_to": ["ar-team@example.com"]}]
        path = os.path.join(self.tmp, "config.json")
        with open(path, "w") as f:
            json.dump(cfg, f)
        os.makedirs(self.reports)
        with open(os.path.join(self.reports, ".schedule-daily.state"), "w") as f:
            f.write("kpid-schedule-state 1\nlast 1577836800\n")  # a run was missed
        self.start(path)
        (rcpt, _, msg), = h.wait(1)
        self.assertEqual(["ar-team@example.com"], rcpt)
        self.assertTrue(msg["subject"].startswith("kpid aging report — emea — 20"), msg["subject"])
        att = next(msg.iter_attachments())
        names = [n for n in os.listdir(self.reports) if n.endswith(".pdf")]
        self.assertEqual([att.get_filename()], names)
        with open(os.path.join(self.reports, names[0]), "rb") as f:
            self.assertEqual(f.read(), att.get_content())

    def test_errors(self):
        # no smtp block: mail_to is refused, nothing is rendered
        self.srv = Server(self.data).start()
        st, body, _ = self.srv.post("/v1/reports", {"kind": "sla", "period": "2025-11",
                                                    "mail_to": ["ops@example.com"]})
        self.assertEqual(st, 400)
        self.assertIn("this server sends no e-mail: 'mail_to' needs the 'smtp' block",
                      body["error"]["message"])
        self.assertFalse(os.path.exists(self.reports) and os.listdir(self.reports))
        self.assertEqual(0, self.srv.stop())
        h = Handler()
        self.start(self.config(self.smtp(h)))
        bad = [({"mail_to": ["ops@example.com\r\nBcc: evil@example.com"]},  # no header injection
                "'mail_to': 'ops@example.com  Bcc: evil@example.com' is not an e-mail address"),
               ({"mail_to": ["not-an-address"]}, "'not-an-address' is not an e-mail address"),
               ({"mail_to": []}, "'mail_to' must list 1 to 16 e-mail addresses"),
               ({"mail_to": "ops@example.com"},
                "field 'mail_to' must be an array of e-mail addresses"),
               ({"mail_to": [7]}, "field 'mail_to': item 0 is not a string"),
               ({"mail_to": ["a@b.c"] * 17}, "'mail_to' lists more than 16 addresses")]
        for extra, want in bad:
            with self.subTest(want=want):
                req = {"kind": "sla", "period": "2025-11"}
                req.update(extra)
                st, body, _ = self.srv.post("/v1/reports", req)
                self.assertEqual(st, 400)
                self.assertIn(want, body["error"]["message"])
        st, body, _ = self.srv.request("POST", "/v1/reports?kind=sla&period=2025-11&mail_to=a@b,x")
        self.assertEqual(st, 400)
        self.assertIn("'x' is not an e-mail address", body["error"]["message"])
        self.assertFalse(os.path.exists(self.reports) and os.listdir(self.reports))
        self.assertEqual([], h.messages)

    def test_config_errors_at_start(self):
        pw = os.path.join(self.tmp, "pw")
        cases = [
            ({"smtp": "smtp://x"}, "config key 'smtp' must be an object with keys url, from"),
            ({"smtp": {"from": "a@b.c"}}, "config 'smtp': key 'url' is required"),
            ({"smtp": {"url": "http://x", "from": "a@b.c"}},
             "config 'smtp': key 'url' must start with smtp:// or smtps://"),
            ({"smtp": {"url": "smtp://x:25"}}, "config 'smtp': key 'from' must be an e-mail"),
            ({"smtp": {"url": "smtp://x:25", "from": "a@b.c", "to": "x"}},
             "config 'smtp': unknown key 'to' (known: url, from, user, password_file"),
            ({"smtp": {"url": "smtp://x:25", "from": "a@b.c", "starttls": "yes"}},
             "config 'smtp': key 'starttls' must be \"try\", \"require\" or \"off\""),
            ({"smtp": {"url": "smtp://x:25", "from": "a@b.c", "retry_s": 0}},
             "config 'smtp': key 'retry_s' must be an integer 1..86400"),
            ({"smtp": {"url": "smtp://x:25", "from": "a@b.c", "max_attempts": 101}},
             "config 'smtp': key 'max_attempts' must be an integer 1..100"),
            ({"smtp": {"url": "smtp://x:25", "from": "a@b.c", "retry_s": 10, "retry_max_s": 5}},
             "config 'smtp': 'retry_max_s' is less than 'retry_s'"),
            ({"smtp": {"url": "smtp://x:25", "from": "a@b.c", "user": "u"}},
             "config 'smtp': 'user' and 'password_file' go together"),
            ({"smtp": {"url": "smtp://x:25", "from": "a@b.c", "user": "u", "password_file": pw}},
             "config 'smtp': cannot read password_file %s: No such file or directory" % pw),
            ({"schedules": [{"name": "d", "cron": "0 0 * * *", "kinds": ["sla"],
                             "period": "previous_day", "mail_to": ["a@b.c"]}]},
             "config schedule 'd': key 'mail_to' needs the 'smtp' block"),
            ({"schedules": [{"name": "d", "cron": "0 0 * * *", "kinds": ["sla"],
                             "period": "previous_day", "mail_to": ["a@b.c", "x\ny@z"]}]},
             "config schedule 'd': key 'mail_to': item 1 ('x y@z') is not an e-mail address"),
            ({"schedules": [{"name": "d", "cron": "0 0 * * *", "kinds": ["sla"],
                             "period": "previous_day", "mail_to": []}]},
             "config schedule 'd': key 'mail_to' must be an array of 1 to 16 e-mail addresses"),
        ]
        path = os.path.join(self.tmp, "bad.json")
        for cfg, want in cases:
            with self.subTest(want=want):
                with open(path, "w") as f:
                    json.dump(cfg, f)
                r = run_kpid("serve", "--data", self.data, "--listen", "127.0.0.1:0",
                             "--config", path, timeout=60)
                self.assertEqual(r.returncode, 2, r.stderr)
                self.assertIn(("kpid serve: " + want).encode(), r.stderr)
        with open(pw, "w") as f:
            f.write("\n")
        with open(path, "w") as f:
            json.dump({"smtp": {"url": "smtp://x:25", "from": "a@b.c", "user": "u",
                                "password_file": pw}}, f)
        r = run_kpid("serve", "--data", self.data, "--listen", "127.0.0.1:0", "--config", path)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn(b"must hold the password (1 to 255 bytes) on its first line", r.stderr)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main(verbosity=2)
