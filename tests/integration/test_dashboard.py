"""The dashboard (GET /, /dashboard/*) and GET /v1/meta, on the real binary.

AssetTest and MetaTest talk HTTP only. BrowserTest opens the page in
headless Chromium (Debian's /usr/bin/chromium, driven by playwright-core
from the build's npm install: dashboard_driver.mjs) against a server loaded
with `kpid gen` data, and checks that what the page shows is what the JSON
API answers for the same parameters: every tile, the change against the
previous period, the charts painted, a business-unit filter, the URL that
reproduces the view, the customer drill-down and the CSV download.

    python3 test_dashboard.py --kpid build/test/cmd/kpid \
        --node-modules build/test/dashboard-npm/node_modules [--screenshots docs/images]

Without Chromium the browser test is skipped with a message (exit code 77
when nothing else ran, which ctest reports as skipped).
"""
import csv
import datetime
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from decimal import Decimal

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kpidtest  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = os.environ.get("KPID_CHROMIUM", "/usr/bin/chromium")
NODE_MODULES = None
SCREENSHOTS = None


def take_arg(name):
    if name in sys.argv:
        i = sys.argv.index(name)
        v = os.path.abspath(sys.argv[i + 1])
        del sys.argv[i:i + 2]
        return v
    return None


def load_store(tmp, invoices=2000, seed=7, rates=True):
    """A data directory filled from `kpid gen` (deterministic); rates=False
    leaves its fx.rate events out."""
    events = os.path.join(tmp, "events.ndjson")
    data = os.path.join(tmp, "data")
    r = kpidtest.run_kpid("gen", "--invoices", str(invoices), "--seed", str(seed), "--out", events)
    assert r.returncode == 0, r.stderr.decode()
    if not rates:
        with open(events) as f:
            kept = [l for l in f if json.loads(l)["type"] != "fx.rate"]
        with open(events, "w") as f:
            f.writelines(kept)
    r = kpidtest.run_kpid("ingest", "--data", data, events)
    assert r.returncode == 0, r.stderr.decode()
    return data


class LoadedServer(unittest.TestCase):
    """One server with generated data for the whole class (read-only tests)."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-dash-")
        cls.srv = kpidtest.Server(load_store(cls.tmp)).start()

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0 and "Sanitizer" not in log, "kpid serve exited %r:\n%s" % (rc, log)

    def get_json(self, path):
        st, j, raw = self.srv.get(path)
        self.assertEqual(st, 200, raw)
        return j


class AssetTest(LoadedServer):
    def fetch(self, path, headers=None):
        import http.client
        conn = http.client.HTTPConnection("127.0.0.1", self.srv.port, timeout=30)
        try:
            conn.request("GET", path, headers=headers or {})
            r = conn.getresponse()
            return r.status, dict((k.lower(), v) for k, v in r.getheaders()), r.read()
        finally:
            conn.close()

    def test_page_and_assets_have_types_and_etags(self):
        cases = [("/", "text/html; charset=utf-8"),
                 ("/?business_unit=apac&as_of=2025-01-31", "text/html; charset=utf-8"),
                 ("/dashboard/app.js", "text/javascript; charset=utf-8"),
                 ("/dashboard/drill.js", "text/javascript; charset=utf-8"),
                 ("/dashboard/app.css", "text/css; charset=utf-8"),
                 ("/dashboard/chart.umd.min.js", "text/javascript; charset=utf-8")]
        for path, ctype in cases:
            with self.subTest(path=path):
                st, h, body = self.fetch(path)
                self.assertEqual(st, 200, body[:200])
                self.assertEqual(h["content-type"], ctype)
                self.assertEqual(h["cache-control"], "no-cache")
                self.assertRegex(h["etag"], r'^"[0-9a-f]{20}"$')
                self.assertGreater(len(body), 100)
                # Revalidation: the same ETag gives a 304 with no body.
                st2, h2, body2 = self.fetch(path, {"If-None-Match": h["etag"]})
                self.assertEqual((st2, body2), (304, b""))
                self.assertEqual(h2["etag"], h["etag"])
                st3, _, body3 = self.fetch(path, {"If-None-Match": '"0000", W/"1111"'})
                self.assertEqual((st3, body3), (200, body))

    def test_page_is_the_source_file_and_locked_to_this_server(self):
        st, h, body = self.fetch("/")
        with open(os.path.join(HERE, "..", "..", "api", "dashboard", "index.html"), "rb") as f:
            self.assertEqual(body, f.read())
        csp = h["content-security-policy"]
        self.assertIn("default-src 'none'", csp)
        self.assertIn("script-src 'self'", csp)
        self.assertIn("connect-src 'self'", csp)
        # No reference to another host in any file of the page.
        for name in ("/", "/dashboard/app.js", "/dashboard/drill.js", "/dashboard/app.css"):
            _, _, b = self.fetch(name)
            self.assertIsNone(re.search(rb'(src|href)\s*=\s*["\']?(https?:)?//', b), name)
            self.assertNotIn(b"http://", b, name)
            self.assertNotIn(b"https://", b, name)

    def test_unknown_asset_is_404(self):
        for path in ("/dashboard/nope.js", "/dashboard/", "/dashboard/../api.h", "/index.htm"):
            with self.subTest(path=path):
                st, h, body = self.fetch(path)
                self.assertEqual(st, 404, body)
                err = json.loads(body)["error"]
                self.assertEqual(err["code"], "not_found")
        st, _, body = self.fetch("/dashboard/nope.js")
        self.assertEqual(json.loads(body)["error"]["message"],
                         "no such dashboard file: /dashboard/nope.js")

    def test_head(self):
        for path in ("/", "/dashboard/app.js"):
            st, _, body = self.srv.request("HEAD", path)
            self.assertEqual((st, body), (200, b""), path)

    def test_post_to_page_is_405(self):
        st, j, raw = self.srv.post("/", "x", ctype="text/plain")
        self.assertEqual(st, 405, raw)


class MetaTest(LoadedServer):
    def test_meta_lists_units_slas_and_days(self):
        m = self.get_json("/v1/meta")
        self.assertEqual(m["base_currency"], "USD")
        self.assertEqual(m["currency"], "USD")
        self.assertEqual(m["time_zone"], "UTC")
        # Units: exactly those with data (each answers /v1/dso), none twice.
        self.assertGreater(len(m["business_units"]), 1)
        self.assertEqual(len(set(m["business_units"])), len(m["business_units"]))
        for u in m["business_units"]:
            st, _, raw = self.srv.get("/v1/aging?business_unit=" + u)
            self.assertEqual(st, 200, raw)
        names = [s["name"] for s in m["slas"]]
        self.assertEqual(names, ["ap-processing", "billing", "cash-application",
                                 "inquiry-resolution", "dispute-resolution"])
        self.assertEqual(m["slas"][0], {"name": "ap-processing", "start": "bill.received",
                                        "stop": "bill.processed",
                                        "target": {"amount": 3, "unit": "business_days"}})
        self.assertEqual(m["slas"][2]["stop"], "fully_applied")
        self.assertEqual(m["slas"][1]["start"], "billing_due")
        self.assertEqual(m["slas"][4]["target"], {"amount": 30, "unit": "days"})
        for s in m["slas"]:  # every SLA named here is one /v1/sla knows
            st, _, raw = self.srv.get("/v1/sla?sla=" + s["name"])
            self.assertEqual(st, 200, raw)
        self.assertEqual(m["aging_buckets"], [30, 60, 90, 120])
        self.assertEqual(m["goals"], {"sla": 95, "ftq": 95})
        self.assertEqual(m["events"], self.get_json("/healthz")["events"])
        # Latest event day: the newest event's day in the log; currencies:
        # those of the money events (the base one when not given).
        days, curs = [], set()
        with open(os.path.join(self.tmp, "events.ndjson")) as f:
            for line in f:
                e = json.loads(line)
                days.append(e["time"][:10])
                if e["type"] in ("invoice.issued", "payment.received", "bill.received",
                                 "credit_note.issued"):
                    curs.add(e.get("currency", "USD"))
        self.assertEqual(m["latest_event_day"], max(days))
        self.assertEqual(m["currencies"], sorted(curs))
        self.assertIn("USD", m["currencies"])
        datetime.date.fromisoformat(m["today"])

    def test_meta_currency_and_errors(self):
        m = self.get_json("/v1/meta?currency=JPY")
        self.assertEqual(m["currency"], "JPY")
        self.assertEqual(m["base_currency"], "USD")
        known = "; currencies with data: EUR, GBP, JPY, KWD, USD"
        for q, msg in [("currency=XX", "parameter 'currency': 'XX' is not an ISO 4217 code" + known),
                       ("currency=ZZZ", "parameter 'currency': 'ZZZ' is not an ISO 4217 code" + known),
                       ("currency=usd", "parameter 'currency': 'usd' is not an ISO 4217 code "
                                        "(did you mean 'USD'?)" + known),
                       ("unit=x", "unknown parameter 'unit' for GET /v1/meta; known: currency")]:
            with self.subTest(q=q):
                st, j, raw = self.srv.get("/v1/meta?" + q)
                self.assertEqual(st, 400, raw)
                self.assertEqual(j["error"]["message"], msg)


class GoalsConfigTest(unittest.TestCase):
    """The config key dashboard_goals: served by /v1/meta, refused when bad."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-goals-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def config(self, goals):
        path = os.path.join(self.tmp, "kpid.json")
        with open(path, "w") as f:
            json.dump({"dashboard_goals": goals}, f)
        return path

    def test_goals_served(self):
        srv = kpidtest.Server(os.path.join(self.tmp, "data"),
                              ["--config", self.config({"sla": 97.5, "ftq": 90})]).start()
        try:
            st, m, raw = srv.get("/v1/meta")
            self.assertEqual(st, 200, raw)
            self.assertEqual(m["goals"], {"sla": 97.5, "ftq": 90})
        finally:
            self.assertEqual(srv.stop(), 0, srv.log())

    def test_bad_goals_refused(self):
        pct = ("config key 'dashboard_goals': '%s' must be a percentage above 0 and at most "
               "100, with at most two decimals (e.g. 95 or 97.5)")
        for goals, msg in [([95], "config key 'dashboard_goals' must be an object, e.g. "
                                  "{\"sla\": 95, \"ftq\": 97.5}"),
                           ({"sla": 0}, pct % "sla"), ({"ftq": 100.5}, pct % "ftq"),
                           ({"sla": 95.123}, pct % "sla"), ({"sla": "95"}, pct % "sla"),
                           ({"speed": 1}, "config key 'dashboard_goals': unknown key 'speed' "
                                          "(known: sla, ftq)")]:
            with self.subTest(goals=goals):
                r = kpidtest.run_kpid("serve", "--data", os.path.join(self.tmp, "d"),
                                      "--listen", "127.0.0.1:0", "--config", self.config(goals))
                self.assertNotEqual(r.returncode, 0)
                self.assertIn(msg, r.stderr.decode())


class EmptyMetaTest(kpidtest.ServerTest):
    def test_empty_store(self):
        st, m, raw = self.srv.get("/v1/meta")
        self.assertEqual(st, 200, raw)
        self.assertEqual(m["business_units"], [])
        self.assertEqual(m["currencies"], [])
        self.assertIsNone(m["latest_event_day"])
        self.assertEqual(m["events"], 0)


# ---- the browser -------------------------------------------------------------

def month_start(day, back):
    y, m = day.year, day.month - back
    while m < 1:
        m += 12
        y -= 1
    while m > 12:  # back < 0: months ahead
        m -= 12
        y += 1
    return datetime.date(y, m, 1)


def fmt2(v):
    return "%.2f" % v


def money_delta(a, b):
    d = Decimal(a) - Decimal(b)
    s = str(d.quantize(Decimal(a)))
    return ("+" + s) if d > 0 else s


def group(s, loc="en"):
    """An API decimal string (or Decimal) with its digits grouped as the page
    shows it: en-US 2,333,448.32 or de-DE 2.333.448,32, decimals kept."""
    t = "{:,}".format(Decimal(s))
    if t.startswith("+"):
        t = t[1:]
    sign = "+" if isinstance(s, str) and s.startswith("+") else ""
    if loc == "de":
        t = t.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return sign + t


def group2(v, loc="en"):
    """A two-decimal ratio grouped (1,234.50)."""
    return group("%.2f" % v, loc)


NO_CHROMIUM = ("Chromium not found at %s (Debian: apt-get install chromium; ./dev test "
               "installs it): the dashboard browser test is skipped" % CHROMIUM)


class PageChecks:
    """Driving the page and comparing what it shows with the API."""

    def drive(self, url, bu=None, currency=None, mode=None, extra=()):
        if NODE_MODULES is None or not os.path.isdir(os.path.join(NODE_MODULES, "playwright-core")):
            self.fail("playwright-core not installed in %r: the build's npm ci installs it "
                      "(pass --node-modules DIR)" % NODE_MODULES)
        node = shutil.which("node") or shutil.which("nodejs")
        self.assertIsNotNone(node, "node not found (Debian: apt-get install nodejs)")
        cmd = [node, os.path.join(HERE, "dashboard_driver.mjs"), "--url", url,
               "--node-modules", NODE_MODULES, "--chromium", CHROMIUM]
        if bu:
            cmd += ["--bu", bu]
        if currency:
            cmd += ["--currency", currency]
        if mode:
            cmd += ["--mode", mode]
        cmd += list(extra)
        if SCREENSHOTS:
            os.makedirs(SCREENSHOTS, exist_ok=True)
            cmd += ["--screenshots", SCREENSHOTS]
        r = subprocess.run(cmd, capture_output=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stderr.decode(errors="replace"))
        return json.loads(r.stdout)

    def expected_tiles(self, as_of, bu, currency=None, interval="month"):
        """What each tile must show: the API's answers for the page's parameters."""
        day = datetime.date.fromisoformat(as_of)
        if interval == "month":
            start, frm = month_start(day, 0), month_start(day, 11)
        elif interval == "quarter":
            start = datetime.date(day.year, day.month - (day.month - 1) % 3, 1)
            frm = month_start(start, 33)
        else:
            start = day - datetime.timedelta(days=day.weekday())
            frm = start - datetime.timedelta(days=7 * 11)
        prev_end = (start - datetime.timedelta(days=1)).isoformat()
        f = ("&business_unit=" + bu if bu else "") + ("&currency=" + currency if currency else "")
        series = "from=%s&to=%s&interval=%s%s" % (frm.isoformat(), as_of, interval, f)
        aging = self.get_json("/v1/aging?as_of=%s%s" % (as_of, f))
        prev = self.get_json("/v1/aging?as_of=%s%s" % (prev_end, f))
        exp = {
            "ar": ("money", aging["total"]["amount"], prev["total"]["amount"], "neutral"),
            "unapplied": ("money", aging["unapplied_cash"], prev["unapplied_cash"], "lower"),
        }
        paths = {"dso": ("/v1/dso?method=standard&", "lower"), "add": ("/v1/dso?method=add&", "lower"),
                 "cei": ("/v1/cei?", "higher"), "ftq-invoice": ("/v1/ftq?kind=invoice&", "higher"),
                 "ftq-bill": ("/v1/ftq?kind=bill&", "higher")}
        for s in self.get_json("/v1/meta")["slas"]:
            paths["sla-" + s["name"]] = ("/v1/sla?sla=%s&" % s["name"], "higher")
        # SLA and FTQ count every currency's documents: no currency= there.
        counts = "from=%s&to=%s&interval=%s%s" % (frm.isoformat(), as_of, interval,
                                                  "&business_unit=" + bu if bu else "")
        for k, (p, better) in paths.items():
            q = counts if k.startswith(("sla-", "ftq-")) else series
            pts = self.get_json(p + q)["points"]
            self.assertEqual(len(pts), 12)
            exp[k] = ("ratio", pts[-1], pts[-2], better)
        return exp

    def check_tiles(self, shown, exp, what, loc="en"):
        """Every tile against the API: the figure with grouped digits, the
        change (money in the currency, days in days, percentages in
        percentage points, "pp"), the previous value, arrow and colour."""
        self.assertEqual(sorted(shown), sorted(exp), what)
        for k, (kind, cur, prev, better) in exp.items():
            t = shown[k]
            with self.subTest(view=what, tile=k):
                if kind == "money":
                    self.assertEqual(t["num"], group(cur, loc))
                    delta = money_delta(cur, prev)
                    self.assertIn(" %s %s" % (group(delta, loc), t["unit"]), t["change"])
                    self.assertTrue(t["change"].endswith(": " + group(prev, loc)), t["change"])
                    d = Decimal(cur) - Decimal(prev)
                else:
                    if cur["value"] is None:
                        self.assertEqual(t["num"], "n/a")
                        self.assertEqual(t["reason"], cur["reason"])
                        continue
                    self.assertEqual(t["num"], group2(cur["value"], loc))
                    self.assertEqual(t["unit"], "days" if k in ("dso", "add") else "%")
                    if prev["value"] is None:
                        self.assertIn("n/a", t["change"])
                        continue
                    d = Decimal(fmt2(cur["value"])) - Decimal(fmt2(prev["value"]))
                    unit = "days" if k in ("dso", "add") else "pp"
                    self.assertIn(" %s%s %s" % ("+" if d > 0 else "", group(d, loc), unit),
                                  t["change"])
                    self.assertNotIn("%", t["change"])  # a change of a percentage is in pp
                    self.assertTrue(t["change"].endswith(": " + group2(prev["value"], loc)),
                                    t["change"])
                self.assertEqual(t["arrow"], "▲" if d > 0 else "▼" if d < 0 else "■")
                if d == 0 or better == "neutral":
                    self.assertEqual(t["verdict"], "neutral")
                else:
                    self.assertEqual(t["verdict"], "better" if (d < 0) == (better == "lower") else "worse")

    def check_charts(self, snap, what):
        for cid in ("chart-aging", "chart-dso", "chart-cei", "chart-sla", "chart-ftq"):
            c = snap["canvases"][cid]
            with self.subTest(view=what, chart=cid):
                self.assertGreater(c["width"], 100)
                # Painted: well beyond a frame (axes, bars, lines).
                self.assertGreater(c["painted"], c["width"] * 10, c)



@unittest.skipUnless(os.path.exists(CHROMIUM), NO_CHROMIUM)
class BrowserTest(PageChecks, LoadedServer):
    def check_drill(self, rep, as_of, bu, init):
        """The drill-down: each list is the worklist endpoint's for the
        figure's parameters, and adds up to the figure it was opened from."""
        amount = lambda cell: Decimal(cell.replace(",", ""))
        # A click on the unapplied-cash tile: its payments, summing to the tile.
        drills = {k: t["drill"] for k, t in init["tiles"].items()}
        self.assertEqual({k: v for k, v in drills.items() if not k.startswith("sla-")},
                         {"ar": "overdue", "dso": None, "add": None, "cei": None,
                          "ftq-invoice": "quality:invoice", "ftq-bill": "quality:bill",
                          "unapplied": "unapplied"})
        self.assertTrue(all(v == "sla:" + k[4:] for k, v in drills.items() if k.startswith("sla-")))
        d = rep["drill_unapplied"]
        self.assertFalse(d["hidden"])
        self.assertEqual(d["title"], "Unapplied payments \u00b7 all business units")
        self.assertIn("drill=unapplied", d["url"])
        tile = init["tiles"]["unapplied"]
        wl = self.get_json("/v1/worklists/unapplied?as_of=%s&limit=10000" % as_of)
        self.assertEqual(d["amount"], wl["total"]["amount"])
        self.assertEqual(group(d["amount"]), tile["num"])  # the list's total is the tile
        self.assertEqual(d["count"], wl["total"]["count"])
        col = d["heads"].index("Unapplied (USD)")
        self.assertEqual(len(d["rows"]), min(100, wl["total"]["count"]))
        if wl["total"]["count"] <= 100:  # every row on the page: their sum is the tile
            self.assertEqual(sum(amount(r[col]) for r in d["rows"]), Decimal(wl["total"]["amount"]))
        self.assertEqual([r[0] for r in d["rows"]], [i["payment"] for i in wl["items"][:100]])
        self.assertIn("/v1/worklists/unapplied?", d["csv"])
        self.assertIn("format=csv", d["csv"])
        # The SLA tile by the keyboard: the breaches of that SLA and period,
        # as many as /v1/sla counts missed (completed - met, breached open).
        d = rep["drill_sla"]
        name = rep["drill_sla_tile"][len("sla-"):]
        self.assertEqual(d["title"], "Breaches: %s \u00b7 all business units" % name)
        self.assertEqual(d["focused"], "h-drill")
        start = month_start(datetime.date.fromisoformat(as_of), 0).isoformat()
        pt = self.get_json("/v1/sla?sla=%s&from=%s&to=%s&interval=month" % (name, start, as_of))[
            "points"][-1]
        wl = self.get_json("/v1/worklists/sla?sla=%s&from=%s&to=%s&limit=10000"
                           % (name, start, as_of))
        self.assertEqual(wl["completed_late"], pt["completed"] - pt["met"])
        self.assertEqual(wl["breached_open"], pt["breached_open"])
        self.assertEqual(d["count"], wl["total"]["count"])
        self.assertIn("%d breached and still open at the end, %d completed late"
                      % (wl["breached_open"], wl["completed_late"]), d["total"])
        self.assertEqual(len(d["rows"]), min(100, wl["total"]["count"]))
        # FTQ invoices: the invoices of the tile's period not right first time.
        d = rep["drill_ftq"]
        pt = self.get_json("/v1/ftq?kind=invoice&from=%s&to=%s&interval=month" % (start, as_of))[
            "points"][-1]
        self.assertEqual(d["count"], pt["reviewed"] - pt["passed"])
        self.assertIn("of %s invoices first reviewed" % group(pt["reviewed"]), d["total"])
        self.assertEqual(len(d["rows"]), min(100, d["count"]))
        # A unit's row of the aging table: that unit's overdue invoices, the
        # sum of its buckets past due.
        d = rep["drill_unit"]
        self.assertEqual(d["title"], "Overdue invoices \u00b7 " + bu)
        self.assertIn("drill_unit=" + bu, d["url"])
        ag = self.get_json("/v1/aging?as_of=%s&business_unit=%s" % (as_of, bu))
        over = sum(Decimal(b["amount"]) for b in ag["buckets"] if b["label"] != "current")
        self.assertEqual(Decimal(d["amount"]), over)
        self.assertEqual(d["count"], sum(b["count"] for b in ag["buckets"]
                                         if b["label"] != "current"))
        unit_col = d["heads"].index("Business unit")
        self.assertTrue(all(r[unit_col] == bu for r in d["rows"]), d["rows"][:3])
        # Each row names its customer beside the id (customer.updated).
        ov = self.get_json("/v1/worklists/overdue?as_of=%s&business_unit=%s&limit=100" % (as_of, bu))
        self.assertEqual([r[d["heads"].index("Name")] for r in d["rows"]],
                         [i["customer_name"] or "" for i in ov["items"]])
        self.assertEqual(rep["drill_reloaded"], dict(d, focused=rep["drill_reloaded"]["focused"]))
        self.assertTrue(rep["drill_closed"]["hidden"])
        self.assertNotIn("drill=", rep["drill_closed"]["url"])

    def test_every_book_converted(self):
        # With exchange rates the page opens on every book, converted into
        # the base currency (the URL names no currency): the consolidated
        # figures of the API (currency=*), every unit included.
        meta = self.get_json("/v1/meta?currency=*")
        self.assertEqual(meta["currency"], "*")
        self.assertEqual(sorted(r["currency"] for r in meta["rates"]), ["EUR", "GBP", "JPY", "KWD"])
        every_unit = set()
        for c in meta["currencies"]:
            every_unit |= set(self.get_json("/v1/meta?currency=" + c)["business_units"])
        self.assertEqual(meta["business_units"], sorted(every_unit))
        as_of = (month_start(datetime.date.fromisoformat(meta["latest_event_day"]), 0)
                 - datetime.timedelta(days=1)).isoformat()
        url = "http://127.0.0.1:%d/?as_of=%s" % (self.srv.port, as_of)
        rep = self.drive(url, meta["business_units"][0],
                         extra=["--shot-as", "dashboard-consolidated.png"])
        init = rep["initial"]
        self.assertEqual(init["state"], "ready", init["error"])
        self.assertEqual(rep["console_errors"], [])
        self.assertEqual(init["currency"], "*")
        self.assertEqual(init["currencies"][0], "*")
        self.assertNotIn("currency", init["url"])  # a default is not pinned in the URL
        self.assertIn("amounts in USD", init["context"])
        self.assertIsNone(init["books_note"])
        self.assertEqual(init["business_units"], [""] + meta["business_units"])
        self.check_tiles(init["tiles"], self.expected_tiles(as_of, None, "*"), "every book")
        # The money tiles drill down to the consolidated worklists.
        drills = {k: t["drill"] for k, t in init["tiles"].items()}
        self.assertEqual((drills["ar"], drills["unapplied"]), ("overdue", "unapplied"))
        self.assertEqual(drills["ftq-invoice"], "quality:invoice")
        d = rep["drill_unapplied"]
        self.assertFalse(d["hidden"])
        wl = self.get_json("/v1/worklists/unapplied?as_of=%s&currency=*&limit=10000" % as_of)
        self.assertEqual((d["amount"], d["count"]), (wl["total"]["amount"], wl["total"]["count"]))
        self.assertIn("every payment converted at its book's rate of " + as_of, d["total"])
        for h in ("Currency", "Unapplied", "Unapplied (USD)"):
            self.assertIn(h, d["heads"])
        self.assertEqual([r[0] for r in d["rows"]], [i["payment"] for i in wl["items"][:100]])
        self.assertIn("currency=*", d["csv"])
        u = rep["drill_unit"]
        wl = self.get_json("/v1/worklists/overdue?as_of=%s&currency=*&business_unit=%s&limit=1"
                           % (as_of, meta["business_units"][0]))
        self.assertEqual(u["amount"], wl["total"]["amount"])
        self.assertIn("Open (USD)", u["heads"])
        # The base book is a choice of its own, named in the URL.
        rep = self.drive("http://127.0.0.1:%d/?as_of=%s&currency=USD" % (self.srv.port, as_of),
                         mode="view")
        self.assertEqual(rep["initial"]["currency"], "USD")
        self.assertIn("currency=USD", rep["initial"]["url"])
        self.check_tiles(rep["initial"]["tiles"], self.expected_tiles(as_of, None), "base book")

    def test_dashboard_in_chromium(self):
        meta = self.get_json("/v1/meta")
        # The day a default view shows: the end of the last complete month
        # (docs/dashboard.md), named in the URL here so that the filtered
        # views below keep it.
        latest = datetime.date.fromisoformat(meta["latest_event_day"])
        end = month_start(latest, -1) - datetime.timedelta(days=1)
        if latest == end or datetime.date.fromisoformat(meta["today"]) > end:
            as_of = end.isoformat()
        else:
            as_of = (month_start(latest, 0) - datetime.timedelta(days=1)).isoformat()
        units = meta["business_units"]
        bu = units[1]
        other = [c for c in meta["currencies"] if c != meta["base_currency"]][0]
        # The base book, named (the default with rates is every book).
        url = "http://127.0.0.1:%d/?as_of=%s&ftq_goal=97.5&currency=USD" % (self.srv.port, as_of)
        rep = self.drive(url, bu, other)

        self.assertEqual(rep["external_requests"], [])
        self.assertEqual(rep["console_errors"], [])
        self.assertEqual(rep["page_errors"], [])

        init = rep["initial"]
        self.assertEqual(init["state"], "ready", init["error"])
        self.assertIsNone(init["who"])  # no keys: no sign-in, nobody named
        self.assertEqual(init["external_refs"], [])
        self.assertEqual(init["business_units"], [""] + units)
        self.check_tiles(init["tiles"], self.expected_tiles(as_of, None), "all units")
        self.check_charts(init, "all units")
        # A month's last day: a complete month, nothing marked.
        for k, t in init["tiles"].items():
            self.assertIsNone(t["badge"], k)
        self.assertLessEqual(init["doc_width"], 1280)
        # Goal lines: the server's (meta.goals) unless the URL names one.
        self.assertEqual(init["goals"]["sla"], {"label": "Goal 95 %", "value": 95})
        self.assertEqual(init["goals"]["ftq"], {"label": "Goal 97.5 %", "value": 97.5})

        self.check_drill(rep, as_of, bu, init)

        # Top overdue: the customers with the most past due, exactly.
        ag = self.get_json("/v1/aging?as_of=%s&group_by=customer" % as_of)
        od = []
        for g in ag["groups"]:
            cur = sum(Decimal(b["amount"]) for b in g["buckets"] if b["label"] == "current")
            over = Decimal(g["total"]["amount"]) - cur
            if over > 0:
                od.append((-over, g["key"], str(over.quantize(Decimal(g["total"]["amount"]))),
                           g["total"]["amount"], g["name"] or g["key"]))
        od.sort()
        # Columns: name (the demo's customer.updated), id, overdue, oldest, open, count.
        self.assertEqual([r[0] for r in init["overdue"]], [n for _, _, _, _, n in od[:10]])
        self.assertEqual([r[1] for r in init["overdue"]], [k for _, k, _, _, _ in od[:10]])
        self.assertEqual([r[2] for r in init["overdue"]], [group(o) for _, _, o, _, _ in od[:10]])
        self.assertEqual([r[4] for r in init["overdue"]], [group(t) for _, _, _, t, _ in od[:10]])

        # Payables: the API's aging of bills by unit and its weekly lines.
        ap = self.get_json("/v1/payables/aging?as_of=%s&group_by=business_unit" % as_of)
        self.assertEqual([r[0] for r in init["payables"]["aging"]], [g["key"] for g in ap["groups"]])
        self.assertEqual([r[-2] for r in init["payables"]["aging"]],
                         [group(g["total"]["amount"]) for g in ap["groups"]])
        due = self.get_json("/v1/payables/cash-requirements?as_of=%s&weeks=8" % as_of)
        lines = [due["overdue"]] + due["due"] + [due["later"], due["total"]]
        self.assertEqual([r[3] for r in init["payables"]["due"]], [group(x["amount"]) for x in lines])
        self.assertIn(group(ap["total"]["amount"]), init["payables"]["note"])

        # The CSV behind the tiles has the same numbers, without grouping
        # (machine-readable: the API's plain values), with the UTF-8 BOM
        # first, as Excel needs it.
        self.assertTrue(rep["kpi_csv"].startswith("\ufeff"))
        rows = list(csv.DictReader(io.StringIO(rep["kpi_csv"][1:])))
        by = {r["kpi"]: r for r in rows}
        self.assertEqual(group(by["accounts_receivable"]["value"]), init["tiles"]["ar"]["num"])
        self.assertEqual(by["accounts_receivable"]["value"],
                         self.expected_tiles(as_of, None)["ar"][1])
        self.assertNotIn(",", by["accounts_receivable"]["value"])
        self.assertEqual(group(by["dso_standard"]["value"]), init["tiles"]["dso"]["num"])
        self.assertEqual(by["unapplied_cash"]["previous_value"],
                         self.expected_tiles(as_of, None)["unapplied"][2])
        self.assertEqual(rep["kpi_csv_name"], "kpis-%s.csv" % as_of)

        # The business-unit filter: the tiles become that unit's numbers.
        flt = rep["filtered"]
        self.assertEqual(flt["state"], "ready", flt["error"])
        self.assertIn("business_unit=" + bu, flt["url"])
        self.assertIn("as_of=" + as_of, flt["url"])
        self.assertIn("ftq_goal=97.5", flt["url"])
        exp_bu = self.expected_tiles(as_of, bu)
        self.check_tiles(flt["tiles"], exp_bu, bu)
        self.assertNotEqual(flt["tiles"]["ar"]["num"], init["tiles"]["ar"]["num"])
        self.check_charts(flt, bu)
        self.assertIn(bu, flt["context"])
        day = datetime.date.fromisoformat(as_of)
        for iv in ("quarter", "week"):
            self.assertEqual(rep[iv]["state"], "ready", rep[iv]["error"])
            self.assertIn("interval=" + iv, rep[iv]["url"])
            self.check_tiles(rep[iv]["tiles"], self.expected_tiles(as_of, bu, None, iv), iv)
            self.check_charts(rep[iv], iv)
            # The chosen day kept: inside a quarter or a week, that one to
            # date, marked so (a month's end is a Sunday only sometimes).
            nxt = day + datetime.timedelta(days=1)
            inside = ((nxt.month - 1) // 3 == (day.month - 1) // 3 and nxt.year == day.year
                      if iv == "quarter" else nxt.weekday() != 0)
            self.assertEqual(rep[iv]["tiles"]["dso"]["badge"],
                             iv + " to date" if inside else None, iv)
        # The same URL opened afresh shows the same view.
        self.assertEqual(rep["reloaded"]["tiles"], flt["tiles"])

        # Drill-down into the first overdue customer of the unit.
        cust = rep["profile_customer"]
        self.assertIsNotNone(cust)
        p = rep["profile"]
        self.assertFalse(p["hidden"])
        # Its name (customer.updated of the demo book) with the id beside it.
        prof = self.get_json("/v1/customers/%s?as_of=%s" % (cust, as_of))
        self.assertEqual(p["title"], "Customer %s (%s)" % (prof["name"], cust)
                         if prof["name"] else "Customer " + cust)
        self.assertIn("customer=" + cust, p["url"])
        prof = self.get_json("/v1/customers/%s?as_of=%s" % (cust, as_of))
        self.assertEqual(p["facts"]["Open amount"], group(prof["aging"]["total"]["amount"]) + " USD")
        self.assertEqual(p["facts"]["Open invoices"], group(prof["aging"]["total"]["count"]))
        self.assertEqual(p["facts"]["Unapplied cash"], group(prof["unapplied_cash"]) + " USD")
        h = prof["payment_habits"]
        self.assertEqual(p["facts"]["Days to pay"],
                         group2(h["days_to_pay"]) + " days" if h["days_to_pay"] is not None
                         else "n/a (%s)" % h["reason"])
        self.assertEqual(sorted(r[0] for r in p["items"]),
                         sorted(i["invoice"] for i in prof["open_items"]))

        # A narrow screen: nothing wider than the viewport.
        self.assertLessEqual(rep["narrow"]["doc_width"], rep["narrow"]["viewport"])

        # Another currency: that currency's numbers, units and URL.
        cv = rep["currency_view"]
        self.assertEqual(cv["state"], "ready", cv["error"])
        self.assertIn("currency=" + other, cv["url"])
        self.assertIn("amounts in " + other, cv["context"])
        other_meta = self.get_json("/v1/meta?currency=" + other)
        self.assertEqual(cv["business_units"], [""] + other_meta["business_units"])
        self.check_tiles(cv["tiles"], self.expected_tiles(as_of, None, other), other)
        self.assertEqual(cv["tiles"]["ar"]["unit"], other)

        # A unit that does not exist: the page says what the API said (the
        # default view, every book: the units of every book).
        bad = rep["bad_unit"]
        self.assertEqual(bad["state"], "error")
        self.assertRegex(bad["error"], r"^Could not load the figures: unknown business unit "
                                       r"'no-such-unit'; known business units: [^(]+ "
                                       r"\(names are case-sensitive\) \(/v1/aging\)$")
        # A customer that does not exist: the profile says so, the rest works.
        bc = rep["bad_customer"]
        self.assertEqual(bc["state"], "ready")
        self.assertFalse(bc["hidden"])
        self.assertEqual(bc["text"], "Could not load the customer: unknown customer 'NOBODY' "
                                     "(/v1/customers/NOBODY)")
        self.assertGreater(bc["tiles"], 7)


@unittest.skipUnless(os.path.exists(CHROMIUM), NO_CHROMIUM)
class FirstOfMonthTest(PageChecks, unittest.TestCase):
    """A book whose last event is on the 1st of this month: the month has
    one day of data. The default view must show the last complete month
    (no one-day DSO, no 0 % CEI or SLA against a whole month, no cliff at
    the end of the trends); ticking "Month to date" shows the running month,
    marked on every period tile and as a hollow last point."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-dash1-")
        # The reporting zone is UTC (the test environment pins TZ=UTC too).
        today = datetime.datetime.now(datetime.timezone.utc).date()
        cls.first = today.replace(day=1)
        start = cls.first - datetime.timedelta(days=730)
        events = os.path.join(cls.tmp, "events.ndjson")
        data = os.path.join(cls.tmp, "data")
        # Two years of history ending the day before the 1st ...
        r = kpidtest.run_kpid("gen", "--invoices", "2000", "--seed", "11", "--start",
                              start.isoformat(), "--days", "730", "--out", events)
        assert r.returncode == 0, r.stderr.decode()
        # ... and the 1st itself: one invoice and one payment.
        with open(events, "a") as f:
            f.write(kpidtest.ndjson([
                {"id": "first-1", "type": "invoice.issued", "time": cls.first.isoformat(),
                 "invoice": "FIRST-1", "customer": "CUST-00001", "amount": "1000.00",
                 "terms_days": 30, "business_unit": "americas"},
                {"id": "first-2", "type": "payment.received", "time": cls.first.isoformat(),
                 "payment": "FIRST-P", "customer": "CUST-00001", "amount": "10.00",
                 "method": "eft", "business_unit": "americas"}]))
        r = kpidtest.run_kpid("ingest", "--data", data, events)
        assert r.returncode == 0, r.stderr.decode()
        cls.srv = kpidtest.Server(data).start()

    tearDownClass = classmethod(LoadedServer.tearDownClass.__func__)
    get_json = LoadedServer.get_json

    def test_default_is_the_last_complete_month(self):
        meta = self.get_json("/v1/meta")
        self.assertEqual(meta["latest_event_day"], self.first.isoformat())
        end = (self.first - datetime.timedelta(days=1)).isoformat()
        rep = self.drive("http://127.0.0.1:%d/" % self.srv.port, mode="partial")
        self.assertEqual(rep["console_errors"], [])
        self.assertEqual(rep["page_errors"], [])

        c = rep["complete"]
        self.assertEqual(c["state"], "ready", c["error"])
        self.assertEqual(c["url"], "/")  # a default view is not pinned in the URL
        self.assertIn("As of %s (end of the last complete month; events up to %s)"
                      % (end, self.first.isoformat()), c["context"])
        # The book has exchange rates: the default is every book, converted.
        self.check_tiles(c["tiles"], self.expected_tiles(end, None, "*"), "last complete month")
        self.check_charts(c, "last complete month")
        for k, t in c["tiles"].items():
            self.assertFalse(t["partial"], k)
            self.assertIsNone(t["badge"], k)
        self.assertFalse(c["partial_box"]["checked"])
        self.assertEqual(c["partial_box"]["text"], "Month to date")
        last_label = month_label(datetime.date.fromisoformat(end))
        for cid, tr in c["trends"].items():
            self.assertEqual(len(tr["labels"]), 12, cid)
            self.assertEqual(tr["labels"][-1], last_label, cid)  # no one-day month at the end
            self.assertEqual(tr["last_fill"], tr["first_fill"], cid)  # a solid point
        # What the default avoided: the one-day month's figures differ from
        # the full month's shown (DSO over one day of sales, CEI of a day).
        one = "from=%s&to=%s&interval=month" % (self.first, self.first)
        dso1 = self.get_json("/v1/dso?" + one)["points"][0]
        self.assertNotEqual(fmt2(dso1["value"]) if dso1["value"] is not None else "n/a",
                            c["tiles"]["dso"]["num"])

        t = rep["to_date"]
        self.assertEqual(t["state"], "ready", t["error"])
        self.assertEqual(t["url"], "/?partial=1")
        self.check_tiles(t["tiles"], self.expected_tiles(self.first.isoformat(), None, "*"),
                         "month to date")
        for k, tl in t["tiles"].items():
            if k in ("ar", "unapplied"):  # balances as of a day, not period figures
                self.assertFalse(tl["partial"], k)
                continue
            self.assertTrue(tl["partial"], k)
            self.assertEqual(tl["badge"], "month to date", k)
        self.assertTrue(t["partial_box"]["checked"])
        self.assertIn("month to date", t["period_note"])
        self.assertIn("is not over", t["period_note"])
        for cid, tr in t["trends"].items():
            self.assertEqual(tr["labels"][-1], month_label(self.first) + " (to date)", cid)
            self.assertEqual(tr["last_fill"], "#ffffff", cid)  # hollow
            self.assertNotEqual(tr["first_fill"], "#ffffff", cid)

        b = rep["back"]
        self.assertEqual(b["url"], "/")
        self.assertEqual(b["tiles"], c["tiles"])


def default_as_of(meta):
    """The day a default view shows: the end of the last complete month."""
    latest = datetime.date.fromisoformat(meta["latest_event_day"])
    end = month_start(latest, -1) - datetime.timedelta(days=1)
    if latest == end or datetime.date.fromisoformat(meta["today"]) > end:
        return end.isoformat()
    return (month_start(latest, 0) - datetime.timedelta(days=1)).isoformat()


@unittest.skipUnless(os.path.exists(CHROMIUM), NO_CHROMIUM)
class NoRatesTest(PageChecks, unittest.TestCase):
    """Several books and no exchange rate: the page opens on the base book
    and says which books it leaves out."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-dashnr-")
        cls.srv = kpidtest.Server(load_store(cls.tmp, invoices=600, rates=False)).start()

    tearDownClass = classmethod(LoadedServer.tearDownClass.__func__)
    get_json = LoadedServer.get_json

    def test_base_book_and_the_note(self):
        meta = self.get_json("/v1/meta")
        self.assertEqual(meta["rates"], [])
        others = [c for c in meta["currencies"] if c != meta["base_currency"]]
        self.assertTrue(others)
        as_of = default_as_of(meta)
        rep = self.drive("http://127.0.0.1:%d/?as_of=%s" % (self.srv.port, as_of), mode="view",
                         extra=["--shot-as", "dashboard-no-rates.png"])
        self.assertEqual(rep["console_errors"], [])
        init = rep["initial"]
        self.assertEqual(init["state"], "ready", init["error"])
        self.assertEqual(init["currency"], "USD")
        self.assertNotIn("*", init["currencies"])  # nothing to convert with
        self.assertEqual(init["books_note"], "Not included: %s \u2014 no exchange rates; choose a "
                         "currency to see each book." % ", ".join(others))
        self.check_tiles(init["tiles"], self.expected_tiles(as_of, None), "base book")
        # A book chosen: no note (it is the book asked for).
        rep = self.drive("http://127.0.0.1:%d/?as_of=%s&currency=%s"
                         % (self.srv.port, as_of, others[0]), mode="view")
        self.assertEqual(rep["initial"]["currency"], others[0])
        self.assertIsNone(rep["initial"]["books_note"])


@unittest.skipUnless(os.path.exists(CHROMIUM), NO_CHROMIUM)
class SignInTest(PageChecks, unittest.TestCase):
    """A server with API keys (docs/security.md, Sessions): the page shows a
    sign-in form; a wrong key is refused; a key limited to one unit sees
    that unit only and is named with it; signing out brings the form back
    and ends the cookie; an unscoped key sees every unit; locale= changes
    the grouping; the tiles do not wrap from 1024 to 1920 px; a session
    past its idle bound brings the form back."""

    IDLE_S = 6

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-dash-keys-")
        data = load_store(cls.tmp)
        cls.config = os.path.join(cls.tmp, "kpid.json")
        with open(cls.config, "w") as f:
            json.dump({"session_idle_s": cls.IDLE_S}, f)
        # A first server without keys names the units the keys are made for.
        probe = kpidtest.Server(data).start()
        try:
            _, meta, _ = probe.get("/v1/meta")
        finally:
            assert probe.stop() == 0
        cls.unit = meta["business_units"][1]

        def add(name, units=None):
            args = ["key", "add", "--config", cls.config, "--name", name, "--role", "read"]
            r = kpidtest.run_kpid(*(args + (["--business-units", units] if units else [])))
            assert r.returncode == 0, r.stderr
            return r.stdout.decode().strip()
        cls.keys = {"all": add("analyst"), "scoped": add("unit-read", cls.unit),
                    "bad": "kpid_" + "A" * 43}
        cls.srv = kpidtest.Server(data, ["--config", cls.config]).start()
        cls.srv.headers = {"Authorization": "Bearer " + cls.keys["all"]}

    tearDownClass = classmethod(LoadedServer.tearDownClass.__func__)
    get_json = LoadedServer.get_json

    def test_sign_in_scoped_view_sign_out_and_expiry(self):
        meta = self.get_json("/v1/meta")
        as_of = default_as_of(meta)
        url = "http://127.0.0.1:%d/?as_of=%s" % (self.srv.port, as_of)
        rep = self.drive(url, mode="signin", extra=["--keys", json.dumps(self.keys),
                                                     "--idle-s", str(self.IDLE_S)])
        self.assertEqual(rep["external_requests"], [])
        self.assertEqual(rep["console_errors"], [])
        self.assertEqual(rep["page_errors"], [])

        form = rep["form"]
        self.assertEqual((form["state"], form["form_hidden"], form["main_hidden"]),
                         ("signin", False, True))
        self.assertEqual((form["tiles"], form["message"], form["who_hidden"]), (0, "", True))
        bad = rep["bad"]
        self.assertEqual(bad["state"], "signin")
        self.assertEqual(bad["message"],
                         "Sign-in refused: the API key is not valid (unknown or revoked)")

        # The scoped key: named with its unit, only that unit to choose, and
        # the unit's numbers (equal to an unscoped key's for that unit).
        sc = rep["scoped"]
        self.assertEqual(sc["state"], "ready", sc["error"])
        self.assertTrue(sc["who"].startswith("Signed in as unit-read: %s only · until " % self.unit),
                        sc["who"])
        self.assertEqual(sc["business_units"], [self.unit])
        self.assertIn("business_unit=" + self.unit, sc["url"])
        # Every book of the unit, converted (the default with rates).
        self.check_tiles(sc["tiles"], self.expected_tiles(as_of, self.unit, "*"), "scoped")
        self.assertEqual(rep["key_field"], "")  # the key is not kept in the page
        self.assertEqual(rep["cookies"], [{"name": "kpid_session", "httpOnly": True,
                                           "sameSite": "Strict"}])
        self.assertEqual(rep["script_cookie"], "")  # HttpOnly: no script sees it

        out = rep["signed_out"]
        self.assertEqual((out["state"], out["form_hidden"], out["main_hidden"], out["message"]),
                         ("signin", False, True, "Signed out."))
        self.assertEqual(rep["signed_out_meta"], 401)
        self.assertEqual(rep["signed_out_cookies"], 0)
        self.assertNotIn("business_unit", rep["signed_out_url"])

        al = rep["all"]
        self.assertEqual(al["state"], "ready", al["error"])
        self.assertTrue(al["who"].startswith("Signed in as analyst: all business units"), al["who"])
        # Every book's units (the default view with rates is every book).
        every = self.get_json("/v1/meta?currency=*")["business_units"]
        self.assertEqual(al["business_units"], [""] + every)
        exp = self.expected_tiles(as_of, None, "*")
        self.check_tiles(al["tiles"], exp, "all units")
        self.assertIn(",", al["tiles"]["ar"]["num"])  # grouped (the book is in millions)

        de = rep["german"]
        self.assertEqual(de["state"], "ready", de["error"])
        self.assertIn("locale=de-DE", de["url"])
        self.check_tiles(de["tiles"], exp, "de-DE", loc="de")

        for w in rep["widths"]:
            with self.subTest(width=w["width"]):
                self.assertEqual(w["problems"], [])
                self.assertLessEqual(w["doc_width"], w["width"])

        ex = rep["expired"]
        self.assertEqual((ex["state"], ex["form_hidden"], ex["message"]),
                         ("signin", False, "Your session has ended: sign in again."))


def month_label(d):
    return d.strftime("%b %Y")


def main():
    global NODE_MODULES, SCREENSHOTS
    kpidtest.parse_args()
    NODE_MODULES = take_arg("--node-modules")
    SCREENSHOTS = take_arg("--screenshots")
    prog = unittest.main(exit=False)
    res = prog.result
    if not res.wasSuccessful():
        sys.exit(1)
    # Nothing ran but skips (no browser): exit 77, which ctest shows as skipped.
    sys.exit(77 if res.testsRun > 0 and len(res.skipped) == res.testsRun else 0)


if __name__ == "__main__":
    main()
