"""Dashboard sign-in sessions over HTTP (docs/security.md, "Sessions"), on
the real binary: POST /v1/session with a good, bad or wrong-role key, the
cookie's attributes, the cookie authorizing GETs as its key (scoped keys
stay scoped), cookie-authenticated writes refused without this server's
Origin, sign-out, a revoked key ending its sessions, the absolute lifetime
and the idle bound (short ones from the config: the test waits just past
them and asserts only that the session is gone), the Secure flag and the
https Origin under TLS, and a server without keys.

    python3 test_session.py --kpid build/test/cmd/kpid
"""
import datetime
import json
import os
import shutil
import signal
import ssl
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kpidtest  # noqa: E402
from kpidtest import Server, ndjson, run_kpid  # noqa: E402
from test_security import add_key, bearer, make_cert  # noqa: E402

EVENTS = [
    {"id": "e1", "type": "invoice.issued", "time": "2025-03-01", "invoice": "E-1",
     "customer": "ACME", "amount": "100.00", "terms_days": 30, "business_unit": "emea"},
    {"id": "u1", "type": "invoice.issued", "time": "2025-03-02", "invoice": "U-1",
     "customer": "BOLT", "amount": "250.00", "terms_days": 30, "business_unit": "us"},
]


def start(tmp, config, name="data"):
    return Server(os.path.join(tmp, name), ["--config", config]).start()


def write_config(path, extra):
    with open(path, "w") as f:
        json.dump(extra, f)


def parse_cookie(header):
    """'a=b; X; Y=z' -> ('a', 'b', {'x': True, 'y': 'z'}) (attribute names lower-case)."""
    parts = [p.strip() for p in header.split(";")]
    name, value = parts[0].split("=", 1)
    attrs = {}
    for p in parts[1:]:
        k, _, v = p.partition("=")
        attrs[k.lower()] = v if _ else True
    return name, value, attrs


class Sessions(unittest.TestCase):
    extra_config = {}

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-sess-")
        cls.config = os.path.join(cls.tmp, "kpid.json")
        write_config(cls.config, cls.extra_config)
        cls.keys = {
            "admin": add_key(cls.config, "ops", "admin"),
            "read": add_key(cls.config, "analyst", "read"),
            "emea": add_key(cls.config, "emea-read", "read", "emea"),
            "ingest": add_key(cls.config, "feed", "ingest"),
        }
        cls.srv = start(cls.tmp, cls.config)
        st, body, _ = cls.srv.post("/v1/events", ndjson(EVENTS), ctype="application/x-ndjson",
                                   headers=bearer(cls.keys["admin"]))
        assert st == 200 and body["accepted"] == len(EVENTS), body

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0 and "Sanitizer" not in log, log

    @property
    def origin(self):
        return "http://127.0.0.1:%d" % self.srv.port

    def sign_in(self, key):
        st, body, raw = self.srv.post("/v1/session", None, headers=bearer(self.keys[key]))
        self.assertEqual(st, 201, raw)
        name, token, attrs = parse_cookie(self.srv.last_headers["Set-Cookie"])
        self.assertEqual(name, "kpid_session")
        return token, attrs, body

    def with_cookie(self, token, headers=None):
        return dict({"Cookie": "kpid_session=" + token}, **(headers or {}))


class SignInTest(Sessions):
    def test_good_key_gives_a_cookie(self):
        before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
        token, attrs, body = self.sign_in("read")
        self.assertRegex(token, r"^[A-Za-z0-9_-]{43}$")  # 256 random bits, base64url
        self.assertTrue(attrs["httponly"])
        self.assertEqual(attrs["samesite"], "Strict")
        self.assertEqual(attrs["path"], "/")
        self.assertEqual(attrs["max-age"], "28800")  # the default, 8 hours
        self.assertNotIn("secure", attrs)  # plain HTTP here; TLS adds Secure
        self.assertEqual(body["via"], "session")
        self.assertTrue(body["keys_required"])
        self.assertEqual(body["key"], {"name": "analyst", "role": "read", "business_units": []})
        exp = datetime.datetime.fromisoformat(body["expires"].replace("Z", "+00:00"))
        idle = datetime.datetime.fromisoformat(body["idle_expires"].replace("Z", "+00:00"))
        self.assertGreaterEqual(exp - before, datetime.timedelta(hours=8))
        self.assertLessEqual(exp - before, datetime.timedelta(hours=8, minutes=5))
        self.assertGreaterEqual(idle - before, datetime.timedelta(hours=1))
        self.assertLess(idle, exp)
        # Two sign-ins: two sessions, two tokens.
        self.assertNotEqual(self.sign_in("read")[0], token)

    def test_bad_keys_get_no_session(self):
        for headers, status in [({}, 401),
                                (bearer("kpid_" + "A" * 43), 401),
                                ({"Authorization": "Basic " + self.keys["read"]}, 401),
                                (bearer(self.keys["ingest"]), 403)]:
            with self.subTest(headers=headers):
                st, body, raw = self.srv.post("/v1/session", None, headers=headers)
                self.assertEqual(st, status, raw)
                self.assertNotIn("Set-Cookie", self.srv.last_headers)
        st, body, _ = self.srv.post("/v1/session", None, headers={})
        self.assertIn("sign in (POST /v1/session)", body["error"]["message"])

    def test_cookie_authorizes_gets_as_its_key(self):
        token, _, _ = self.sign_in("read")
        st, via_cookie, raw = self.srv.get("/v1/aging?as_of=2025-03-31",
                                           headers=self.with_cookie(token))
        self.assertEqual(st, 200, raw)
        st, via_key, raw = self.srv.get("/v1/aging?as_of=2025-03-31",
                                        headers=bearer(self.keys["read"]))
        self.assertEqual(via_cookie, via_key)
        self.assertEqual(via_cookie["total"]["amount"], "350.00")
        st, who, raw = self.srv.get("/v1/session", headers=self.with_cookie(token))
        self.assertEqual(st, 200, raw)
        self.assertEqual((who["via"], who["key"]["name"]), ("session", "analyst"))
        # The same request with the key in the header says so.
        st, who, raw = self.srv.get("/v1/session", headers=bearer(self.keys["emea"]))
        self.assertEqual((who["via"], who["key"]["name"], who["expires"]),
                         ("bearer", "emea-read", None))
        # An unknown token, and no cookie at all.
        st, body, raw = self.srv.get("/v1/aging", headers=self.with_cookie("x" * 43))
        self.assertEqual(st, 401, raw)
        self.assertIn("expired or was signed out", body["error"]["message"])
        self.assertEqual(self.srv.get("/v1/session")[0], 401)
        # A role the key lacks stays refused through its session.
        st, body, raw = self.srv.post("/v1/reports", {"kind": "aging"},
                                      headers=self.with_cookie(token, {"Origin": self.origin}))
        self.assertEqual(st, 403, raw)
        self.assertIn("key 'analyst' has role read", body["error"]["message"])

    def test_scoped_key_session_sees_only_its_unit(self):
        token, _, who = self.sign_in("emea")
        self.assertEqual(who["key"]["business_units"], ["emea"])
        c = self.with_cookie(token)
        st, aging, raw = self.srv.get("/v1/aging?as_of=2025-03-31", headers=c)
        self.assertEqual(st, 200, raw)
        self.assertEqual(aging["total"]["amount"], "100.00")
        st, body, raw = self.srv.get("/v1/aging?as_of=2025-03-31&business_unit=us", headers=c)
        self.assertEqual(st, 403, raw)
        self.assertEqual(body["error"]["message"], "key 'emea-read' may not see business unit 'us'")
        st, meta, raw = self.srv.get("/v1/meta", headers=c)
        self.assertEqual(meta["business_units"], ["emea"])

    def test_cookie_writes_need_this_servers_origin(self):
        token, _, _ = self.sign_in("admin")
        ev = lambda i: ndjson([{"id": "w-%s-%d" % (i, time.monotonic_ns()),
                                "type": "credit.hold_set", "time": "2025-03-05",
                                "customer": "ACME", "reason": "test", "business_unit": "emea"}])
        for origin in (None, "http://evil.example", "null", "https://127.0.0.1:%d" % self.srv.port,
                       self.origin + ".evil.example"):
            with self.subTest(origin=origin):
                h = self.with_cookie(token, {"Origin": origin} if origin else {})
                st, body, raw = self.srv.post("/v1/events", ev("bad"),
                                              ctype="application/x-ndjson", headers=h)
                self.assertEqual(st, 403, raw)
                self.assertEqual(body["error"]["code"], "forbidden")
                self.assertIn("must come from this server's own page", body["error"]["message"])
        st, body, raw = self.srv.post("/v1/events", ev("ok"), ctype="application/x-ndjson",
                                      headers=self.with_cookie(token, {"Origin": self.origin}))
        self.assertEqual(st, 200, raw)
        self.assertEqual(body["accepted"], 1)
        # Scripts with the key in the header need no Origin.
        st, body, raw = self.srv.post("/v1/events", ev("key"), ctype="application/x-ndjson",
                                      headers=bearer(self.keys["admin"]))
        self.assertEqual(st, 200, raw)
        # A session does not start another.
        st, body, raw = self.srv.post("/v1/session", None,
                                      headers=self.with_cookie(token, {"Origin": self.origin}))
        self.assertEqual(st, 400, raw)
        self.assertIn("a session cannot start another", body["error"]["message"])

    def test_sign_out(self):
        token, _, _ = self.sign_in("read")
        other, _, _ = self.sign_in("read")
        # Without this server's Origin the cookie is not ended.
        st, body, raw = self.srv.request("DELETE", "/v1/session", headers=self.with_cookie(token))
        self.assertEqual(st, 403, raw)
        self.assertEqual(self.srv.get("/v1/session", headers=self.with_cookie(token))[0], 200)
        st, body, raw = self.srv.request("DELETE", "/v1/session",
                                         headers=self.with_cookie(token, {"Origin": self.origin}))
        self.assertEqual((st, raw), (204, b""))
        name, value, attrs = parse_cookie(self.srv.last_headers["Set-Cookie"])
        self.assertEqual((name, value, attrs["max-age"]), ("kpid_session", "", "0"))
        st, body, raw = self.srv.get("/v1/aging", headers=self.with_cookie(token))
        self.assertEqual(st, 401, raw)
        self.assertIn("expired or was signed out", body["error"]["message"])
        self.assertEqual(self.srv.last_headers.get("WWW-Authenticate"), 'Bearer realm="kpid"')
        # The other sign-in is not affected; signing out twice is fine.
        self.assertEqual(self.srv.get("/v1/session", headers=self.with_cookie(other))[0], 200)
        st, _, raw = self.srv.request("DELETE", "/v1/session",
                                      headers=self.with_cookie(token, {"Origin": self.origin}))
        self.assertEqual(st, 204, raw)
        self.assertEqual(self.srv.request("DELETE", "/v1/session")[0], 204)


class RevokeTest(Sessions):
    def test_revoked_key_ends_its_sessions(self):
        token, _, _ = self.sign_in("emea")
        kept, _, _ = self.sign_in("read")
        r = run_kpid("key", "revoke", "--config", self.config, "--name", "emea-read")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.srv.proc.send_signal(signal.SIGHUP)
        # The reload is asynchronous: wait for the bearer key to stop working.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.srv.get("/v1/session", headers=bearer(self.keys["emea"]))[0] == 401:
                break
            time.sleep(0.05)
        st, body, raw = self.srv.get("/v1/aging", headers=self.with_cookie(token))
        self.assertEqual(st, 401, raw)
        self.assertIn("no longer valid", body["error"]["message"])
        self.assertEqual(self.srv.get("/v1/aging", headers=self.with_cookie(kept))[0], 200)


class ExpiryTest(Sessions):
    """Lifetimes of a second or two from the config; the test waits past them."""

    extra_config = {"session_ttl_s": 2, "session_idle_s": 100}

    def test_absolute_lifetime(self):
        token, attrs, body = self.sign_in("read")
        self.assertEqual(attrs["max-age"], "2")
        self.assertEqual(self.srv.get("/v1/aging", headers=self.with_cookie(token))[0], 200)
        time.sleep(3.1)
        st, body, raw = self.srv.get("/v1/aging", headers=self.with_cookie(token))
        self.assertEqual(st, 401, raw)
        self.assertIn("expired", body["error"]["message"])


class IdleTest(Sessions):
    extra_config = {"session_ttl_s": 3600, "session_idle_s": 1}

    def test_idle_bound(self):
        token, _, body = self.sign_in("read")
        self.assertNotEqual(body["idle_expires"], body["expires"])
        self.assertEqual(self.srv.get("/v1/aging", headers=self.with_cookie(token))[0], 200)
        time.sleep(2.1)
        self.assertEqual(self.srv.get("/v1/aging", headers=self.with_cookie(token))[0], 401)


class TlsTest(unittest.TestCase):
    def test_cookie_is_secure_and_origin_is_https(self):
        tmp = tempfile.mkdtemp(prefix="kpid-sesstls-")
        try:
            cert, pkey = make_cert(tmp)
            config = os.path.join(tmp, "kpid.json")
            write_config(config, {"tls": {"cert": cert, "key": pkey}})
            key = add_key(config, "ops", "admin")
            srv = start(tmp, config)
            try:
                srv.ssl_context = ssl.create_default_context(cafile=cert)
                st, body, raw = srv.post("/v1/session", None, headers=bearer(key))
                self.assertEqual(st, 201, raw)
                _, token, attrs = parse_cookie(srv.last_headers["Set-Cookie"])
                self.assertTrue(attrs["secure"])
                c = {"Cookie": "kpid_session=" + token}
                ev = ndjson([{"id": "tls-1", "type": "credit.hold_set", "time": "2025-03-05",
                              "customer": "ACME", "reason": "test"}])
                # The plain-HTTP origin of the same host is another origin.
                plain = dict(c, Origin="http://127.0.0.1:%d" % srv.port)
                st, body, raw = srv.post("/v1/events", ev, ctype="application/x-ndjson",
                                         headers=plain)
                self.assertEqual(st, 403, raw)
                good = dict(c, Origin="https://127.0.0.1:%d" % srv.port)
                st, body, raw = srv.post("/v1/events", ev, ctype="application/x-ndjson",
                                         headers=good)
                self.assertEqual(st, 200, raw)
                st, _, raw = srv.request("DELETE", "/v1/session", headers=good)
                self.assertEqual(st, 204, raw)
                self.assertTrue(parse_cookie(srv.last_headers["Set-Cookie"])[2]["secure"])
            finally:
                srv.ssl_context = None
                self.assertEqual(srv.stop(), 0, srv.log())
                self.assertNotIn("Sanitizer", srv.log())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


class NoKeysTest(kpidtest.ServerTest):
    def test_no_sign_in_without_keys(self):
        st, who, raw = self.srv.get("/v1/session")
        self.assertEqual(st, 200, raw)
        self.assertEqual(who, {"keys_required": False, "via": "none", "key": None,
                               "expires": None, "idle_expires": None})
        st, body, raw = self.srv.post("/v1/session", None)
        self.assertEqual(st, 400, raw)
        self.assertIn("no API keys are configured", body["error"]["message"])
        self.assertEqual(self.srv.request("DELETE", "/v1/session")[0], 204)


class ConfigTest(unittest.TestCase):
    def test_bad_lifetimes_refused(self):
        tmp = tempfile.mkdtemp(prefix="kpid-sesscfg-")
        try:
            for k, v in (("session_ttl_s", 0), ("session_idle_s", -1), ("session_ttl_s", "8h"),
                         ("session_idle_s", 30 * 86400 + 1)):
                with self.subTest(key=k, value=v):
                    cfg = os.path.join(tmp, "kpid.json")
                    write_config(cfg, {k: v})
                    r = run_kpid("serve", "--data", os.path.join(tmp, "d"), "--listen",
                                 "127.0.0.1:0", "--config", cfg)
                    self.assertNotEqual(r.returncode, 0)
                    self.assertIn("config key '%s' must be an integer 1..2592000" % k,
                                  r.stderr.decode())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
