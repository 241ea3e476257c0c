"""Shared helpers for kpid's integration tests: run the real kpid binary.

A test gets a fresh data directory, starts `kpid serve` on 127.0.0.1 port 0
(the server picks a free port and prints it), talks HTTP to it with the
standard library only, and stops it. Nothing here sleeps for a fixed time to
"let things settle": the server is ready once it prints its address.
"""
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

KPID = os.environ.get("KPID_BIN", "kpid")


def parse_args():
    """Take --kpid PATH off sys.argv (ctest passes it) before unittest sees it."""
    global KPID
    if "--kpid" in sys.argv:
        i = sys.argv.index("--kpid")
        KPID = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]


class Server:
    def __init__(self, data_dir, extra_args=(), env=None):
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.env = env
        self.proc = None
        self.port = None
        self.ssl_context = None  # set for a TLS server: requests use HTTPS
        self.headers = {}        # sent with every request (Authorization)
        self.stderr_path = os.path.join(data_dir + ".log")

    def start(self, timeout=30):
        self.stderr_file = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [KPID, "serve", "--data", self.data_dir, "--listen", "127.0.0.1:0"] + self.extra_args,
            stdout=subprocess.PIPE, stderr=self.stderr_file, env=self.env)
        deadline = time.monotonic() + timeout
        line = b""
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if b"listening on http://" in line or b"listening on https://" in line:
                addr = line.split(b"://")[1].split()[0].decode()
                self.port = int(addr.rsplit(":", 1)[1])
                return self
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("kpid serve did not start: %r\n%s" % (line, self.log()))

    def log(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc.stdout.close()
        self.stderr_file.close()
        self.proc = None
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def request(self, method, path, body=None, headers=None, timeout=60):
        if self.ssl_context is not None:
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=self.ssl_context)
        else:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        headers = dict(self.headers, **(headers or {}))
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                headers.setdefault("Content-Type", "application/json")
            if isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            self.last_headers = dict(resp.getheaders())
            ctype = resp.getheader("Content-Type", "")
            parsed = None
            if ctype.startswith("application/json"):
                parsed = json.loads(data)
            return resp.status, parsed, data
        finally:
            conn.close()

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, ctype=None, headers=None, **kw):
        headers = dict(headers or {})
        if ctype:
            headers["Content-Type"] = ctype
        return self.request("POST", path, body=body, headers=headers, **kw)


class ServerTest(unittest.TestCase):
    """Each test method gets a fresh data directory and a running server."""

    server_args = ()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-it-")
        self.data = os.path.join(self.tmp, "data")
        self.srv = Server(self.data, self.server_args).start()

    def tearDown(self):
        rc = self.srv.stop()
        log = self.srv.log()
        shutil.rmtree(self.tmp, ignore_errors=True)
        # A sanitizer report or a crash on shutdown fails the test.
        self.assertEqual(rc, 0, "kpid serve exited with %r:\n%s" % (rc, log))
        self.assertNotIn("Sanitizer", log)

    def restart(self):
        rc = self.srv.stop()
        self.assertEqual(rc, 0, self.srv.log())
        self.srv = Server(self.data, self.server_args).start()


def run_kpid(*args, input=None, timeout=300):
    """Run `kpid ARGS`; returns CompletedProcess with text stdout/stderr."""
    return subprocess.run([KPID] + list(args), input=input, capture_output=True,
                          timeout=timeout)


def ndjson(events):
    return "".join(json.dumps(e) + "\n" for e in events)
