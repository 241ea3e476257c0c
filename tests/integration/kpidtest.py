"""Shared helpers for kpid's integration tests: run the real kpid binary.

A test gets a fresh data directory, starts `kpid serve` on 127.0.0.1 port 0
(the server picks a free port and prints it), talks HTTP to it with the
standard library only, and stops it. Nothing here sleeps for a fixed time to
"let things settle": the server is ready once it prints its address.

Every answer a test gets through Server.request is checked against
docs/openapi.json (Contract below): the status must be documented for the
operation, and a JSON body must match the response's schema. A mismatch
raises ContractError, so a test fails whenever the server and its published
contract disagree. The check needs python3-jsonschema (Debian); without it
it is skipped and the skip is recorded (skip_note) for ./dev test's summary.
"""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

KPID = os.environ.get("KPID_BIN", "kpid")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OPENAPI = os.path.join(ROOT, "docs", "openapi.json")


def skip_note(what, why):
    """Record a skipped optional check in $KPID_SKIP_LOG (./dev test prints
    the file at the end), so a skip is never silent."""
    path = os.environ.get("KPID_SKIP_LOG")
    if not path:
        return
    line = "%s: %s\n" % (what, " ".join(str(why).split()))
    with open(path, "a") as f:  # one short append: atomic next to other tests
        f.write(line)


# unittest skips (a test method or class skipped for a missing tool) go to
# the same log, named by test id, without each test having to remember.
_add_skip = unittest.TestResult.addSkip


def _add_skip_logged(self, test, reason):
    skip_note(test.id(), reason)
    return _add_skip(self, test, reason)


unittest.TestResult.addSkip = _add_skip_logged


class ContractError(AssertionError):
    pass


class Contract:
    """docs/openapi.json as a checker of real answers."""

    def __init__(self, path=OPENAPI):
        with open(path, encoding="utf-8") as f:
            self.doc = json.load(f)
        try:
            import jsonschema  # Debian: python3-jsonschema
        except ImportError:
            self.jsonschema = None
        else:
            self.jsonschema = jsonschema
            self.resolver = jsonschema.RefResolver.from_schema(self.doc)
        self.routes = []
        for template, item in self.doc["paths"].items():
            rx = "^" + re.sub(r"\\{[^}/]+\\}", "[^/]+", re.escape(template)) + "$"
            self.routes.append((re.compile(rx), template, item))
        self.validators = {}

    def operation(self, method, path):
        """(template, operation) for METHOD PATH, or (None, None)."""
        path = path.split("?", 1)[0]
        for rx, template, item in self.routes:
            if rx.match(path) and method.lower() in item:
                return template, item[method.lower()]
        return None, None

    def resolve(self, obj):
        while isinstance(obj, dict) and "$ref" in obj:
            _, obj = self.resolver.resolve(obj["$ref"])
        return obj

    def response(self, op, status):
        rs = op["responses"]
        for key in (str(status), "%dXX" % (status // 100), "default"):
            if key in rs:
                return key, self.resolve(rs[key])
        return None, None

    def schema_errors(self, key, schema, body):
        v = self.validators.get(key)
        if v is None:
            v = self.jsonschema.Draft202012Validator(schema, resolver=self.resolver)
            self.validators[key] = v
        return sorted(v.iter_errors(body), key=lambda e: list(e.absolute_path))

    def check(self, method, path, status, ctype, body):
        """Raise ContractError unless the answer is what docs/openapi.json says."""
        if self.jsonschema is None:
            return
        media = (ctype or "").split(";", 1)[0].strip()
        template, op = self.operation(method, path)
        where = "%s %s -> %d" % (method, path, status)
        if op is None:
            # Not an endpoint: whatever it is, a JSON answer is an Error.
            if media == "application/json":
                self.fail_if(self.schema_errors("Error", {"$ref": "#/components/schemas/Error"},
                                                body), where, "Error")
            return
        key, resp = self.response(op, status)
        if resp is None:
            raise ContractError("%s: status %d is not documented for %s %s in docs/openapi.json"
                                % (where, status, method.upper(), template))
        content = resp.get("content")
        if not content or not media:
            return  # a body-less answer (304, HEAD) or one MHD wrote itself
        if media not in content:
            raise ContractError("%s: Content-Type %s is not documented (response %s of %s %s: %s)"
                                % (where, media, key, method.upper(), template,
                                   ", ".join(content)))
        if media == "application/json":
            schema = content[media].get("schema", {})
            self.fail_if(self.schema_errors((template, method, key), schema, body), where,
                         "%s %s response %s" % (method.upper(), template, key))

    @staticmethod
    def fail_if(errors, where, what):
        if errors:
            lines = ["%s: the answer does not match docs/openapi.json (%s):" % (where, what)]
            for e in errors[:5]:
                lines.append("  at /%s: %s" % ("/".join(str(p) for p in e.absolute_path),
                                               e.message[:300]))
            raise ContractError("\n".join(lines))


_contract = None


def contract():
    global _contract
    if _contract is None:
        _contract = Contract()
        if _contract.jsonschema is None:
            skip_note("openapi response check", "python3-jsonschema not installed (Debian "
                      "package python3-jsonschema; run the tests with /usr/bin/python3): "
                      "answers not checked against docs/openapi.json")
    return _contract


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
        # Every answer is checked against docs/openapi.json; a test that
        # sends garbage on purpose still gets answers the contract covers.
        self.check_contract = True
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
            if ctype.startswith("application/json") and data:  # a 304 has no body
                parsed = json.loads(data)
            if self.check_contract:
                contract().check(method, path, resp.status, ctype, parsed)
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


def add_key(config, name, role, units=None):
    """`kpid key add` into the config file `config`; returns the key."""
    args = ["key", "add", "--config", config, "--name", name, "--role", role]
    if units:
        args += ["--business-units", units]
    r = run_kpid(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout.decode().strip()


def ndjson(events):
    return "".join(json.dumps(e) + "\n" for e in events)
