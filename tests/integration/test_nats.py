"""Scale-out through NATS JetStream (docs/operations.md, "Many nodes"): a real
nats-server with JetStream on a free loopback port and its own store
directory per test, and kpid nodes started with a "nats" config block.

- Two nodes: events posted to node A (and to B) appear in both, with
  identical answers; duplicates and id conflicts are answered as on one node.
- kill -9 of a node and of nats-server while a client keeps posting: every
  event the client saw acknowledged is on both nodes afterwards, and none is
  counted twice (the event counts equal the acknowledged ids, and a resend of
  everything is all duplicates).
- A node started late on an empty directory has caught up when it starts
  serving, and answers like the others.
- Bad events published straight to the stream (not through kpid) are
  rejected by every node the same way and do not stall the consumer.
- NATS down: ingest answers 503 (busy), queries keep working; the lag shows
  on /healthz, /metrics and as X-Kpid-Lag, and past max_lag KPI requests 503.

Readiness is always polled (a port that accepts, a node's applied sequence),
never slept for. Skipped, and noted, without nats-server (./dev test installs
it: Debian package nats-server).
"""
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

import kpidtest
from kpidtest import Server, run_kpid

NATS_SERVER = shutil.which("nats-server")
WAIT_S = 60  # the longest any poll waits before the test fails


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Nats:
    """nats-server -js on loopback, restartable on the same port and store;
    with `cluster` (route port) and `routes`, one server of a cluster."""

    def __init__(self, root, name="n1", cluster=None, routes=()):
        self.name = name
        self.port = free_port()
        self.http = free_port()
        self.cluster = cluster
        self.routes = list(routes)
        self.store = os.path.join(root, "js-" + name)
        self.log = os.path.join(root, "nats-%s.log" % name)
        self.proc = None

    @property
    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def start(self, wait=True):
        args = [NATS_SERVER, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-m", str(self.http),
                "-sd", self.store, "--server_name", self.name]
        if self.cluster is not None:
            args += ["--cluster_name", "kpid", "--cluster", "nats://127.0.0.1:%d" % self.cluster,
                     "--routes", ",".join("nats://127.0.0.1:%d" % r for r in self.routes)]
        self.logf = open(self.log, "ab")
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=self.logf)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self):
        """Poll the monitoring /healthz: ok once JetStream is ready (in a
        cluster: once it has a meta leader)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % self.http,
                                            timeout=2) as r:
                    if json.load(r).get("status") == "ok":
                        return self
            except (OSError, ValueError):
                pass
            time.sleep(0.05)  # poll: not ready yet
        raise RuntimeError("nats-server %s did not become ready" % self.name)

    def stop(self, kill=False):
        if self.proc is None:
            return
        if kill:
            self.proc.kill()
        else:
            self.proc.terminate()
        self.proc.wait(timeout=30)
        self.proc = None
        self.logf.close()


class RawPublisher:
    """The NATS protocol by hand: publish to JetStream as a foreign producer
    (an ERP) would, without kpid's validation, and get the stream's ack."""

    def __init__(self, port):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.line()  # INFO
        self.s.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\n'
                       b"SUB _INBOX.kpidtest 1\r\nPING\r\n")
        while self.line() != b"PONG":
            pass

    def line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.s.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def publish(self, subject, payload, msg_id):
        hdr = b"NATS/1.0\r\nNats-Msg-Id: " + msg_id.encode() + b"\r\n\r\n"
        self.s.sendall(b"HPUB %s _INBOX.kpidtest %d %d\r\n%s%s\r\n" % (
            subject.encode(), len(hdr), len(hdr) + len(payload), hdr, payload))
        while True:
            line = self.line()
            if line.startswith(b"MSG "):
                n = int(line.split()[-1])
                while len(self.buf) < n + 2:
                    self.buf += self.s.recv(65536)
                body, self.buf = self.buf[:n], self.buf[n + 2:]
                return json.loads(body)
            if line == b"PING":
                self.s.sendall(b"PONG\r\n")

    def request(self, subject, payload=b""):
        """A core NATS request (the JetStream API is one), its JSON answer."""
        self.s.sendall(b"PUB %s _INBOX.kpidtest %d\r\n%s\r\n" % (subject.encode(), len(payload),
                                                                payload))
        while True:
            line = self.line()
            if line.startswith(b"MSG "):
                n = int(line.split()[-1])
                while len(self.buf) < n + 2:
                    self.buf += self.s.recv(65536)
                body, self.buf = self.buf[:n], self.buf[n + 2:]
                return json.loads(body)
            if line == b"PING":
                self.s.sendall(b"PONG\r\n")

    def close(self):
        self.s.close()


def metric(srv, name):
    """The value of an unlabelled sample of srv's /metrics, as text."""
    status, _, raw = srv.get("/metrics")
    assert status == 200, raw
    for line in raw.decode().splitlines():
        if line.startswith(name + " "):
            return line.split(" ", 1)[1]
    return None


def gen_lines(invoices, seed):
    gen = run_kpid("gen", "--invoices", str(invoices), "--seed", str(seed))
    assert gen.returncode == 0, gen.stderr
    return gen.stdout.decode().splitlines(keepends=True)


# What a node is asked to compare two nodes by: every KPI family, the log.
QUERIES = [
    "/v1/aging?as_of=2025-06-30&group_by=business_unit",
    "/v1/aging?as_of=2025-06-30&group_by=customer&sort=-overdue&limit=20",
    "/v1/dso?from=2025-01-01&to=2025-06-30&interval=month",
    "/v1/cei?from=2025-01-01&to=2025-06-30&interval=month",
    "/v1/rollforward?from=2025-01-01&to=2025-06-30",
    "/v1/sla?sla=ap-processing&from=2025-01-01&to=2025-06-30",
    "/v1/ftq?kind=invoice&from=2025-01-01&to=2025-06-30",
    "/v1/meta",
]


@unittest.skipIf(NATS_SERVER is None, "nats-server not installed (Debian package nats-server)")
class NatsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-nats-")
        self.nats = Nats(self.tmp).start()
        self.nodes = []

    def tearDown(self):
        for n in self.nodes:
            if n.proc is not None:
                rc = n.stop()
                log = n.log()
                self.assertEqual(rc, 0, "kpid serve exited with %r:\n%s" % (rc, log))
                self.assertNotIn("Sanitizer", log)
        self.nats.stop()
        for n in getattr(self, "cluster", []):
            n.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def node(self, name, **nats):
        conf = dict({"url": self.nats.url, "durable": "kpid-" + name}, **nats)
        path = os.path.join(self.tmp, name + ".json")
        with open(path, "w") as f:
            json.dump({"nats": conf}, f)
        srv = Server(os.path.join(self.tmp, name), ["--config", path]).start()
        self.nodes.append(srv)
        return srv

    def restart(self, srv, kill=False):
        if kill:
            srv.kill9()
        else:
            self.assertEqual(srv.stop(), 0, srv.log())
        srv.start()

    def position(self, srv):
        status, body, raw = srv.get("/healthz")
        self.assertEqual(status, 200, raw)
        return body

    def wait_applied(self, srv, seq):
        """Poll until srv has applied stream sequence seq and is not behind."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            n = self.position(srv)["nats"]
            if n["applied_sequence"] >= seq and n["lag"] == 0:
                return n
            time.sleep(0.05)
        self.fail("node did not reach stream sequence %d: %r\n%s" % (seq, n, srv.log()))

    def wait_events(self, srv, count):
        """Poll until srv holds `count` events (or WAIT_S passes)."""
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline and self.position(srv)["events"] < count:
            time.sleep(0.05)

    def stream_seq(self, srv):
        return self.position(srv)["nats"]["stream_sequence"]

    def same_answers(self, a, b):
        for q in QUERIES:
            sa, ba, ra = a.get(q)
            sb, bb, rb = b.get(q)
            self.assertEqual((sa, sb), (200, 200), (q, ra, rb))
            self.assertEqual(ba, bb, q)
        ea, eb = self.position(a), self.position(b)
        self.assertEqual(ea["events"], eb["events"])
        self.assertEqual(ea["pending"], eb["pending"])

    def post_until_acked(self, srv, body, tries=200):
        """POST a batch, again after every 503, until it is acknowledged."""
        for _ in range(tries):
            status, resp, raw = srv.post("/v1/events", body, "application/x-ndjson")
            if status == 200:
                return resp
            self.assertEqual(status, 503, raw)
            self.assertEqual(resp["error"]["code"], "busy", raw)
            time.sleep(0.05)
        self.fail("batch never acknowledged")

    # ---- the tests ---------------------------------------------------------

    def test_two_nodes_identical(self):
        a, b = self.node("a"), self.node("b")
        lines = gen_lines(120, 5)
        half = len(lines) // 2
        ra = self.post_until_acked(a, "".join(lines[:half]))
        rb = self.post_until_acked(b, "".join(lines[half:]))
        self.assertEqual(ra["accepted"] + rb["accepted"], len(lines))
        self.assertEqual((ra["rejected"], rb["rejected"]), ([], []))
        seq = len(lines)  # the stream started empty: one message per event
        for n in (a, b):
            self.wait_applied(n, seq)
        self.assertEqual(self.position(a)["events"], len(lines))
        self.same_answers(a, b)
        # A resend is all duplicates on either node (decided from its view,
        # published nowhere: the stream does not grow).
        r = self.post_until_acked(b, "".join(lines[:half]))
        self.assertEqual((r["accepted"], r["duplicates"]), (0, half))
        self.assertEqual(self.position(b)["nats"]["applied_sequence"], seq)
        # The same id with other content is a conflict, as on one node.
        ev = json.loads(lines[0])
        ev["amount"] = "1.00" if ev.get("amount") != "1.00" else "2.00"
        status, body, raw = a.post("/v1/events", ev)
        self.assertEqual(status, 409, raw)
        self.assertEqual(body["rejected"][0]["code"], "conflict")
        # One valid, one bad: the bad one is answered like on one node.
        bad = {"id": "n-bad", "type": "payment.received", "time": "2025-04-02", "payment": "NP-1",
               "customer": "ACME", "amount": "1.001", "method": "eft"}
        good = {"id": "n-good", "type": "invoice.issued", "time": "2025-04-02",
                "invoice": "N-INV-1", "customer": "ACME", "amount": "10.00", "terms_days": 30}
        status, body, raw = a.post("/v1/events", [good, bad])
        self.assertEqual(status, 200, raw)
        self.assertEqual(body["accepted"], 1)
        self.assertEqual(body["rejected"][0]["code"], "too_many_decimals")
        seq += 1
        for n in (a, b):
            self.wait_applied(n, seq)
        status, body, raw = b.get("/v1/events?customer=ACME")
        self.assertEqual([e["id"] for e in body["events"]], ["n-good"])
        # atomic/strict need one transaction: refused, with the reason.
        status, body, raw = a.post("/v1/events?atomic=true", good)
        self.assertEqual(status, 400, raw)
        self.assertIn("NATS", body["error"]["message"])
        # /metrics: the stream position, the same on both nodes.
        for n in (a, b):
            self.assertEqual(metric(n, "kpid_nats_applied_sequence"), str(seq))
            self.assertEqual(metric(n, "kpid_nats_lag_messages"), "0")
            self.assertEqual(metric(n, "kpid_nats_connected"), "1")

    def make_cluster(self):
        """Three nats-servers in one cluster instead of the single one: a
        stream of 3 replicas acknowledges a message once a majority holds it,
        so a server killed with -9 loses nothing acknowledged."""
        self.nats.stop()
        routes = [free_port() for _ in range(3)]
        self.cluster = [Nats(self.tmp, "c%d" % i, routes[i],
                             [r for j, r in enumerate(routes) if j != i]) for i in range(3)]
        for n in self.cluster:
            n.start(wait=False)
        for n in self.cluster:
            n.wait_ready()
        return ",".join(n.url for n in self.cluster)

    def test_kill9_node_and_nats_during_ingest(self):
        url = self.make_cluster()
        a = self.node("a", url=url, replicas=3)
        b = self.node("b", url=url, replicas=3)
        lines = gen_lines(200, 9)
        batches = ["".join(lines[i:i + 100]) for i in range(0, len(lines), 100)]
        acked = []
        errors = []

        def client():
            try:
                for body in batches:
                    r = self.post_until_acked(a, body)
                    acked.append((body, r))
            except Exception as e:  # reported by the main thread
                errors.append(e)

        t = threading.Thread(target=client)
        t.start()
        # Kill node B, then a nats-server, while the client posts to A.
        while len(acked) < len(batches) // 4 and t.is_alive():
            time.sleep(0.01)
        b.kill9()
        while len(acked) < len(batches) // 2 and t.is_alive():
            time.sleep(0.01)
        self.cluster[0].stop(kill=True)
        status, _, raw = a.get(QUERIES[0])  # reads keep working
        self.assertEqual(status, 200, raw)
        self.cluster[0].start()
        b.start()  # resumes from its consumer
        t.join(timeout=WAIT_S * 2)
        self.assertFalse(t.is_alive())
        self.assertEqual(errors, [])
        ids = {json.loads(l)["id"] for body, _ in acked for l in body.splitlines()}
        self.assertEqual(len(ids), len(lines))
        # One message per event; a batch answered 503 and sent again comes
        # back as window duplicates, so the stream holds each event once.
        seq = len(ids)
        for n in (a, b):
            self.wait_applied(n, seq)
        for n in (a, b):
            # A re-sent batch may have left a message past `seq` in the
            # stream (the node's view of the stream's end is refreshed every
            # 200 ms): wait for the count, then check it.
            self.wait_events(n, len(ids))
            self.assertEqual(self.position(n)["events"], len(ids), n.log())
        self.same_answers(a, b)
        # Every acknowledged event is there exactly once: sent again, all
        # duplicates, on both nodes.
        for n in (a, b):
            for body, _ in acked:
                r = self.post_until_acked(n, body)
                self.assertEqual(r["accepted"], 0)
                self.assertEqual(r["duplicates"], len(body.splitlines()))

    def test_nats_down(self):
        a, b = self.node("a"), self.node("b")
        fresh = {"id": "k-new", "type": "invoice.issued", "time": "2025-04-02",
                 "invoice": "K-INV-1", "customer": "K", "amount": "10.00", "terms_days": 30}
        self.nats.stop(kill=True)
        deadline = time.monotonic() + WAIT_S
        while self.position(a)["nats"]["connected"]:
            self.assertLess(time.monotonic(), deadline)
            time.sleep(0.02)
        # Ingest answers 503 (busy, Retry-After); reads keep working.
        status, body, raw = a.post("/v1/events", fresh)
        self.assertEqual(status, 503, raw)
        self.assertEqual(body["error"]["code"], "busy")
        self.assertIn("NATS", body["error"]["message"])
        self.assertEqual(a.last_headers.get("Retry-After"), "1")
        for q in QUERIES:
            status, _, raw = a.get(q)
            self.assertEqual(status, 200, (q, raw))
        self.assertEqual(metric(a, "kpid_nats_connected"), "0")
        self.assertEqual(metric(a, "kpid_nats_publish_failed_total"), "1")
        # Back: the node reconnects by itself, ingest works again.
        self.nats.start()
        r = self.post_until_acked(a, json.dumps(fresh))
        self.assertEqual(r["accepted"], 1)
        for n in (a, b):
            deadline = time.monotonic() + WAIT_S
            while n.get("/v1/events?customer=K")[1]["events"] == []:
                self.assertLess(time.monotonic(), deadline, n.log())
                time.sleep(0.05)
        self.assertIn("reconnected", a.log())

    def test_late_node_converges(self):
        a = self.node("a")
        path = os.path.join(self.tmp, "events.ndjson")
        lines = gen_lines(150, 3)
        with open(path, "w") as f:
            f.writelines(lines)
        pub = run_kpid("publish", "--nats", self.nats.url, path)
        self.assertEqual(pub.returncode, 0, pub.stderr)
        self.assertIn(b"events acknowledged by stream KPID", pub.stdout)
        # Once A holds the whole stream (it started empty: one message per
        # event), start C on an empty directory: by the time it serves, it
        # holds the same.
        seq = len(lines)
        self.wait_applied(a, seq)
        c = self.node("c")
        pos = self.position(c)["nats"]
        self.assertGreaterEqual(pos["applied_sequence"], seq)
        self.assertIn("caught up", c.log())
        self.same_answers(a, c)
        # A graceful restart keeps the node's consumer where it was: it does
        # not read the stream again (at most its last batch, if that ack was
        # lost on the way out).
        self.restart(a)
        good = {"id": "late-1", "type": "invoice.issued", "time": "2025-04-02",
                "invoice": "LATE-1", "customer": "L", "amount": "10.00", "terms_days": 30}
        self.post_until_acked(a, json.dumps(good))
        self.wait_applied(a, seq + 1)
        self.assertLess(int(metric(a, "kpid_nats_messages_skipped_total")), 1000)
        self.assertEqual(metric(a, "kpid_nats_messages_applied_total"), "1")
        # An operator deletes C's consumer: C creates it again, skips what
        # it had applied, and goes on.
        raw = RawPublisher(self.nats.port)
        r = raw.request("$JS.API.CONSUMER.DELETE.KPID.kpid-c")
        self.assertTrue(r.get("success"), r)
        raw.close()
        self.post_until_acked(a, json.dumps(dict(good, id="late-2", invoice="LATE-2")))
        self.wait_applied(c, seq + 2)
        self.assertIn("is gone; creating it again", c.log(),
                      (self.position(c), metric(c, "kpid_nats_messages_skipped_total"),
                       metric(c, "kpid_nats_messages_applied_total"), seq))
        self.assertEqual(int(metric(c, "kpid_nats_messages_skipped_total")), seq + 1, c.log())
        self.same_answers(a, c)
        # Publishing the same file again: every event inside the window.
        pub = run_kpid("publish", "--nats", self.nats.url, path)
        self.assertEqual(pub.returncode, 0, pub.stderr)
        self.assertIn(b"(0 new,", pub.stdout)

    def test_bad_events_published_directly(self):
        a, b = self.node("a"), self.node("b")
        raw = RawPublisher(self.nats.port)
        good = {"id": "d-1", "type": "invoice.issued", "time": "2025-05-01T10:00:00Z",
                "invoice": "D-INV-1", "customer": "ACME", "amount": "100.00", "terms_days": 30}
        over = {"id": "d-3", "type": "payment.applied", "time": "2025-05-03", "payment": "D-P-1",
                "invoice": "D-INV-1", "amount": "500.00"}
        pay = {"id": "d-2", "type": "payment.received", "time": "2025-05-02", "payment": "D-P-1",
               "customer": "ACME", "amount": "100.00", "method": "eft"}
        msgs = [
            (json.dumps(good), "m1"),
            (b"this is not an event", "m2"),                                      # collector
            (json.dumps(dict(good, id="d-9", amount="1.001")), "m3"),             # collector
            (json.dumps(pay), "m4"),
            (json.dumps(over), "m5"),                                             # store
            (json.dumps(dict(good, amount="999.00")), "m6"),                      # conflict
            (json.dumps(dict(good, id="d-4", invoice="D-INV-2")), "m7"),          # good after
        ]
        last = 0
        for body, mid in msgs:
            ack = raw.publish("kpid.events", body if isinstance(body, bytes) else body.encode(),
                              mid)
            self.assertEqual(ack.get("stream"), "KPID", ack)
            last = ack["seq"]
        raw.close()
        for n in (a, b):
            self.wait_applied(n, last)
        for n in (a, b):
            status, body, _ = n.get("/v1/events?customer=ACME")
            self.assertEqual(sorted(e["id"] for e in body["events"]), ["d-1", "d-2", "d-4"])
            self.assertEqual(metric(n, "kpid_nats_rejected_total"), "4")
        # The same rejections, with their sequence, in both logs.
        def rejections(srv):
            return sorted(l.split("kpid: nats: ", 1)[1] for l in srv.log().splitlines()
                          if "rejected" in l and "stream sequence" in l)
        self.assertEqual(len(rejections(a)), 4, a.log())
        self.assertEqual(rejections(a), rejections(b))
        self.same_answers(a, b)

    def test_lag_header_and_max_lag(self):
        a = self.node("a")
        b = self.node("b", max_lag=200)
        path = os.path.join(self.tmp, "events.ndjson")
        with open(path, "w") as f:
            f.writelines(gen_lines(1500, 4))
        pub = subprocess.Popen([kpidtest.KPID, "publish", "--quiet", "--nats", self.nats.url,
                                path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        seen = []
        while pub.poll() is None or self.position(b)["nats"]["lag"] > 0:
            status, body, _ = b.get("/v1/meta")
            seen.append((status, b.last_headers.get("X-Kpid-Lag"), body))
        out, err = pub.communicate()
        self.assertEqual(pub.returncode, 0, err)
        behind = [s for s in seen if s[0] == 503 or s[1] is not None]
        for status, lag, body in behind:
            if status == 503:
                self.assertEqual(body["error"]["code"], "busy")
                self.assertIn("behind", body["error"]["message"])
            else:
                self.assertEqual(status, 200)
                self.assertTrue(0 < int(lag) <= 200, lag)
        if not behind:
            kpidtest.skip_note("test_nats.test_lag_header_and_max_lag",
                               "node b applied the stream as fast as it was published: no "
                               "lagging answer to check")
        seq = self.stream_seq(a)
        self.wait_applied(b, seq)
        status, _, raw = b.get("/v1/meta")
        self.assertEqual(status, 200, raw)
        self.assertNotIn("X-Kpid-Lag", b.last_headers)
        self.wait_applied(a, seq)

    def test_command_errors(self):
        """What a user gets wrong on the command line is said plainly."""
        path = os.path.join(self.tmp, "events.ndjson")
        good = {"id": "c-1", "type": "invoice.issued", "time": "2025-04-02", "invoice": "C-1",
                "customer": "ACME", "amount": "10.00", "terms_days": 30}
        with open(path, "w") as f:
            f.write(json.dumps(good) + "\n" + json.dumps(dict(good, id="c-2", amount="x")) + "\n")
        r = run_kpid("publish", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"give --nats URL", r.stderr)
        r = run_kpid("publish", "--nats", "localhost:4222", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"nats://HOST:PORT", r.stderr)
        r = run_kpid("publish", "--nats", self.nats.url)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"no input files", r.stderr)
        r = run_kpid("publish", "--nats", self.nats.url, "--batch", "0", path)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--batch", r.stderr)
        r = run_kpid("publish", "--nats", self.nats.url, os.path.join(self.tmp, "missing.ndjson"))
        self.assertEqual(r.returncode, 3)
        self.assertIn(b"cannot open", r.stderr)
        # A rejected item: printed with its line and reason, exit 1; the
        # good one is published.
        r = run_kpid("publish", "--nats", self.nats.url, path)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(b"events.ndjson:2: item 1 (id 'c-2') rejected: bad_amount", r.stderr)
        self.assertIn(b"1 events acknowledged by stream KPID (1 new,", r.stdout)
        # NATS down: exit 3, saying so.
        self.nats.stop(kill=True)
        r = run_kpid("publish", "--nats", self.nats.url, path)
        self.assertEqual(r.returncode, 3, r.stderr)
        self.assertIn(b"not reachable", r.stderr)
        # serve: a bad --nats, and --demo with --nats.
        r = run_kpid("serve", "--data", os.path.join(self.tmp, "x"), "--nats", "nats:/x")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"nats://HOST:PORT", r.stderr)
        r = run_kpid("serve", "--data", os.path.join(self.tmp, "x"), "--nats", self.nats.url,
                     "--demo")
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"kpid publish", r.stderr)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
