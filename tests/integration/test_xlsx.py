"""Issue 12 item 4 and the XLSX half of issue 17 item 3, end to end:
format=xlsx (and the XLSX media type in Accept) on every KPI, worklist and
event-log endpoint of a generated book, each workbook read back with
zipfile + xml.etree (inline or shared strings, numeric cells, the styles'
number formats, the date serials) and compared cell by cell with the same
endpoint's CSV; hostile customer names neutralised in every XLSX endpoint;
an unknown format refused with the three it accepts; the `xlsx` report kind
a workbook with a sheet per KPI (see also test_reports.py for PDFs)."""
import datetime
import io
import csv
import json
import os
import re
import shutil
import tempfile
import unittest
import urllib.parse
import zipfile
import xml.etree.ElementTree as ET

import kpidtest
from kpidtest import Server, ndjson, run_kpid

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
EPOCH = datetime.date(1899, 12, 30)  # Excel serial 0 (1900 date system, after 1900-03-01)
HOSTILE = ['=HYPERLINK("http://x","a")', "+1", "-2", "@x", "\tTab Co", "\rCR Co"]
FORMULA = ("=", "+", "-", "@", "\t", "\r")


def col_index(ref):
    letters = re.match(r"[A-Z]+", ref).group(0)
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def read_xlsx(raw, sheet=1):
    """A sheet (the first by default) as rows of (kind, value, number format) cells:
    kind 's' text, 'n' number, None empty."""
    z = zipfile.ZipFile(io.BytesIO(raw))
    shared = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS):
            shared.append("".join(t.text or "" for t in si.iter("{%s}t" % NS["m"])))
    styles = ET.fromstring(z.read("xl/styles.xml"))
    codes = {0: "General", 3: "#,##0", 4: "#,##0.00", 14: "yyyy-mm-dd", 49: "@"}
    for nf in styles.findall("m:numFmts/m:numFmt", NS):
        codes[int(nf.get("numFmtId"))] = nf.get("formatCode")
    xfs = [codes.get(int(x.get("numFmtId", "0")), "?")
           for x in styles.findall("m:cellXfs/m:xf", NS)]
    sheet = ET.fromstring(z.read("xl/worksheets/sheet%d.xml" % sheet))
    rows = []
    for r in sheet.findall("m:sheetData/m:row", NS):
        cells = []
        for c in r.findall("m:c", NS):
            i = col_index(c.get("r"))
            while len(cells) < i:
                cells.append((None, "", None))
            fmt = xfs[int(c.get("s", "0"))]
            t = c.get("t")
            if t == "s":
                cells.append(("s", shared[int(c.find("m:v", NS).text)], fmt))
            elif t == "inlineStr":
                cells.append(("s", "".join(x.text or "" for x in c.iter("{%s}t" % NS["m"])),
                              fmt))
            elif t == "str" or c.find("m:f", NS) is not None:
                raise AssertionError("a formula cell at %s" % c.get("r"))
            else:
                cells.append(("n", c.find("m:v", NS).text, fmt))
        rows.append(cells)
    frozen = sheet.find("m:sheetViews/m:sheetView/m:pane", NS)
    return rows, frozen, z


def unescape(s):
    """OOXML writes control characters as _xHHHH_ (ECMA-376 22.9.2.19)."""
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), s)


def as_csv_text(cell):
    """The CSV text a workbook cell stands for, from its value and format."""
    kind, v, fmt = cell
    if kind is None:
        return ""
    if kind == "s":
        return unescape(v)
    x = float(v)
    if fmt == "yyyy-mm-dd":
        assert x == int(x), v
        return (EPOCH + datetime.timedelta(days=int(x))).isoformat()
    if fmt == "yyyy-mm-dd hh:mm:ss":
        t = datetime.datetime(1899, 12, 30) + datetime.timedelta(seconds=round(x * 86400))
        return t.strftime("%Y-%m-%dT%H:%M:%SZ")
    m = re.fullmatch(r"#,##0(?:\.(0+))?", fmt)
    assert m, "number format %r" % fmt
    return "%.*f" % (len(m.group(1) or ""), x)


def api_value(pt):
    """A JSON point's value as the workbook shows it (2 decimals, or why not)."""
    v = pt.get("value")
    if isinstance(v, str):  # an amount (the roll-forward's closing)
        return v
    return "n/a (%s)" % pt.get("reason") if v is None else "%.2f" % v


def csv_rows(raw):
    text = raw.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    return list(csv.reader(io.StringIO(text, newline="")))


class XlsxBook(unittest.TestCase):
    """A generated book plus hostile customer names, behind one server."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-xlsx-")
        cls.data = os.path.join(cls.tmp, "data")
        gen = os.path.join(cls.tmp, "g.ndjson")
        r = run_kpid("gen", "--invoices", "400", "--seed", "9", "--out", gen)
        assert r.returncode == 0, r.stderr
        r = run_kpid("ingest", "--data", cls.data, "--quiet", gen)
        assert r.returncode == 0, r.stderr
        cls.srv = Server(cls.data).start()
        evs = []
        for i, name in enumerate(HOSTILE):
            evs.append({"id": "h%d" % i, "type": "invoice.issued", "time": "2025-02-0%d" % (i + 1),
                        "invoice": "H-%d" % i, "customer": name, "amount": "10%d.25" % i,
                        "terms_days": 30, "business_unit": "americas"})
            evs.append({"id": "hp%d" % i, "type": "payment.received",
                        "time": "2025-03-0%d" % (i + 1), "payment": "HP-%d" % i,
                        "customer": name, "amount": "5.00", "method": "eft",
                        "business_unit": "americas"})
        st, body, _ = cls.srv.post("/v1/events", ndjson(evs), "application/x-ndjson")
        assert st == 200 and body["accepted"] == len(evs), body
        st, cls.meta, _ = cls.srv.get("/v1/meta")
        assert st == 200

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0, log
        assert "Sanitizer" not in log, log

    def fetch(self, path, fmt, headers=None):
        sep = "&" if "?" in path else "?"
        st, _, raw = self.srv.get(path + (sep + "format=" + fmt if fmt else ""), headers=headers)
        self.assertEqual(st, 200, (path, fmt, raw[:300]))
        return raw

    def same(self, path):
        """The XLSX of path holds the CSV's cells; returns its rows."""
        c = csv_rows(self.fetch(path, "csv"))
        raw = self.fetch(path, "xlsx")
        self.assertEqual(self.srv.last_headers["Content-Type"], XLSX)
        self.assertRegex(self.srv.last_headers["Content-Disposition"],
                         r'^attachment; filename="[a-z_]+\.xlsx"$')
        rows, frozen, _ = read_xlsx(raw)
        self.assertIsNotNone(frozen, "header row frozen")
        self.assertEqual((frozen.get("ySplit"), frozen.get("state")), ("1", "frozen"))
        self.assertEqual(len(rows), len(c), path)
        for i, (xr, cr) in enumerate(zip(rows, c)):
            got = [as_csv_text(cell) for cell in xr]
            got += [""] * (len(cr) - len(got))
            self.assertEqual(got, cr, "%s row %d" % (path, i))
        # The header is text, bold (a style of its own); names stay text.
        self.assertTrue(all(cell[0] == "s" for cell in rows[0]))
        return rows

    def endpoints(self):
        sla = self.meta["slas"][0]["name"]
        q = "from=2025-01-01&to=2025-06-30"
        return [
            "/v1/aging?as_of=2025-03-31&group_by=business_unit",
            "/v1/aging?as_of=2025-03-31&group_by=customer",
            "/v1/aging?as_of=2025-03-31&group_by=customer&layout=long",
            "/v1/aging?as_of=2025-03-31&currency=JPY",
            "/v1/aging?as_of=2025-03-31&currency=KWD&layout=long",
            "/v1/dso?%s&interval=month&method=countback" % q,
            "/v1/cei?%s&interval=month" % q,
            "/v1/dpo?%s&interval=month" % q,
            "/v1/rollforward?%s&interval=month" % q,
            "/v1/rollforward?%s&interval=month&currency=KWD" % q,
            "/v1/sla?sla=%s&%s&interval=month" % (sla, q),
            "/v1/ftq?kind=invoice&%s&interval=month" % q,
            "/v1/ftq?kind=bill&%s" % q,
            "/v1/customers/CUST-00001?as_of=2025-03-31",
            "/v1/worklists/overdue?as_of=2025-03-31&limit=1000",
            "/v1/worklists/unapplied?as_of=2025-03-31&limit=1000",
            "/v1/worklists/quality?kind=invoice&%s&limit=1000" % q,
            "/v1/worklists/sla?sla=%s&%s&limit=1000" % (sla, q),
            "/v1/events?limit=1000",
            "/v1/events?type=fx.rate&from=2025-03-01&to=2025-03-31&limit=1000",
        ]

    def test_same_figures_as_csv(self):
        for p in self.endpoints():
            with self.subTest(path=p):
                rows = self.same(p)
                self.assertGreater(len(rows), 1, "%s has rows" % p)

    def test_number_formats_and_dates(self):
        # Amounts carry the currency's digits as their number format.
        for cur, fmt in (("USD", "#,##0.00"), ("JPY", "#,##0"), ("KWD", "#,##0.000")):
            with self.subTest(currency=cur):
                rows, _, _ = read_xlsx(self.fetch(
                    "/v1/aging?as_of=2025-03-31&currency=" + cur, "xlsx"))
                head = [c[1] for c in rows[0]]
                total = rows[1][head.index("total")]
                self.assertEqual((total[0], total[2]), ("n", fmt))
                count = rows[1][head.index("count")]
                self.assertEqual((count[0], count[2]), ("n", "#,##0"))
                as_of = rows[1][head.index("as_of")]
                # 2025-03-31 is Excel serial 45747.
                self.assertEqual((as_of[0], float(as_of[1]), as_of[2]),
                                 ("n", 45747.0, "yyyy-mm-dd"))
                self.assertEqual(rows[1][head.index("currency")][:2], ("s", cur))
        # Event times are date-times, document numbers text.
        rows, _, _ = read_xlsx(self.fetch("/v1/events?type=invoice.issued&limit=5", "xlsx"))
        head = [c[1] for c in rows[0]]
        t = rows[1][head.index("time")]
        self.assertIn(t[2], ("yyyy-mm-dd hh:mm:ss", "yyyy-mm-dd"))
        self.assertEqual(rows[1][head.index("invoice")][0], "s")
        self.assertEqual(rows[1][head.index("customer")][0], "s")

    def test_negative_amounts_stay_numbers(self):
        rows, _, _ = read_xlsx(self.fetch(
            "/v1/rollforward?from=2025-01-01&to=2025-06-30&interval=month", "xlsx"))
        negatives = [c for r in rows[1:] for c in r if c[0] == "n" and float(c[1]) < 0]
        self.assertGreater(len(negatives), 0, "the roll-forward has outflows")

    def test_accept_header(self):
        raw = self.fetch("/v1/cei?from=2025-01-01&to=2025-03-31&interval=month", None,
                         headers={"Accept": XLSX})
        self.assertEqual(self.srv.last_headers["Content-Type"], XLSX)
        self.assertEqual(self.srv.last_headers["Content-Disposition"],
                         'attachment; filename="cei.xlsx"')
        rows, _, _ = read_xlsx(raw)
        self.assertEqual([c[1] for c in rows[0]][:3], ["start", "end", "value"])
        # format= wins over Accept.
        self.fetch("/v1/cei?from=2025-01-01&to=2025-03-31", "csv", headers={"Accept": XLSX})
        self.assertTrue(self.srv.last_headers["Content-Type"].startswith("text/csv"))
        self.fetch("/v1/worklists/overdue?as_of=2025-03-31", None, headers={"Accept": XLSX})
        self.assertEqual(self.srv.last_headers["Content-Disposition"],
                         'attachment; filename="overdue.xlsx"')
        self.fetch("/v1/events?limit=3", None, headers={"Accept": XLSX})
        self.assertEqual(self.srv.last_headers["Content-Type"], XLSX)

    def test_cursor_header_kept(self):
        self.fetch("/v1/worklists/overdue?as_of=2025-03-31&limit=2", "xlsx")
        self.assertIn("X-Next-Cursor", self.srv.last_headers)
        cur = self.srv.last_headers["X-Next-Cursor"]
        raw = self.fetch("/v1/worklists/overdue?as_of=2025-03-31&limit=2&cursor=" +
                         urllib.parse.quote(cur), "xlsx")
        self.assertEqual(len(read_xlsx(raw)[0]), 3)

    def test_hostile_names_neutralised(self):
        paths = ["/v1/aging?as_of=2025-03-31&group_by=customer",
                 "/v1/aging?as_of=2025-03-31&group_by=customer&layout=long",
                 "/v1/events?limit=1000&from=2025-02-01&to=2025-03-31",
                 "/v1/worklists/overdue?as_of=2025-06-30&limit=1000",
                 "/v1/worklists/unapplied?as_of=2025-06-30&limit=1000"]
        for p in paths:
            with self.subTest(path=p):
                rows = self.same(p)
                texts = [unescape(c[1]) for r in rows for c in r if c[0] == "s"]
                for name in HOSTILE:
                    self.assertIn("'" + name, texts, p)
                    self.assertNotIn(name, texts, p)
                self.assertEqual([t for t in texts if t.startswith(FORMULA)], [], p)
        # Each hostile customer's own profile (a name with '/' has no URL).
        for name in HOSTILE:
            if "/" in name:
                continue
            with self.subTest(customer=name):
                rows = self.same("/v1/customers/%s?as_of=2025-03-31" %
                                 urllib.parse.quote(name, safe=""))
                texts = [unescape(c[1]) for r in rows for c in r if c[0] == "s"]
                self.assertEqual([t for t in texts if t.startswith(FORMULA)], [])

    def test_unknown_format(self):
        for p in ("/v1/aging?as_of=2025-03-31", "/v1/dso?from=2025-01-01&to=2025-03-31",
                  "/v1/worklists/overdue?as_of=2025-03-31", "/v1/events?limit=1",
                  "/v1/customers/CUST-00001"):
            with self.subTest(path=p):
                st, body, _ = self.srv.get(p + "&format=xls" if "?" in p else p + "?format=xls")
                self.assertEqual(st, 400)
                self.assertEqual(body["error"]["code"], "bad_parameter")
                msg = body["error"]["message"]
                for f in ("json", "csv", "xlsx"):
                    self.assertIn(f, msg)
                self.assertIn("xls", msg)

    # ---- the xlsx report kind ---------------------------------------------

    def sheets(self, raw):
        """{sheet name: rows as CSV-like text} of a workbook."""
        z = zipfile.ZipFile(io.BytesIO(raw))
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        names = [s.get("name") for s in wb.findall("m:sheets/m:sheet", NS)]
        out = {}
        for i, n in enumerate(names):
            rows, frozen, _ = read_xlsx(raw, i + 1)
            self.assertIsNotNone(frozen, n)
            out[n] = rows
        return names, out

    def test_report_kind(self):
        st, body, _ = self.srv.post("/v1/reports", {"kind": "xlsx", "period": "2025-03"})
        self.assertEqual(st, 201, body)
        self.assertEqual(body["kind"], "xlsx")
        self.assertTrue(body["id"].startswith("xlsx-all-2025-03-01-2025-03-31-"), body)
        self.assertEqual(body["pages"], 9)  # sheets
        raw = self.fetch(body["url"], None)
        self.assertEqual(self.srv.last_headers["Content-Type"], XLSX)
        self.assertEqual(self.srv.last_headers["Content-Disposition"],
                         'attachment; filename="%s.xlsx"' % body["id"])
        self.assertEqual(len(raw), body["size"])
        self.assertEqual(self.fetch(body["url"] + ".xlsx", None), raw)
        st, lst, _ = self.srv.get("/v1/reports")
        self.assertIn(body["id"], [r["id"] for r in lst["reports"]])

        names, sh = self.sheets(raw)
        self.assertEqual(names, ["Report", "Aging", "Customers", "DSO", "CEI", "DPO",
                                 "Roll-forward", "SLA", "FTQ"])
        text = {n: [[as_csv_text(c) for c in r] for r in rows] for n, rows in sh.items()}
        # Aging: each unit and the whole book, as /v1/aging says at the period's end.
        st, ag, _ = self.srv.get("/v1/aging?as_of=2025-03-31&group_by=business_unit")
        head = text["Aging"][0]
        self.assertEqual(head[0], "business_unit")
        self.assertEqual(head[1:len(ag["buckets"]) + 1], [b["label"] for b in ag["buckets"]])
        by = {r[0]: r for r in text["Aging"][1:] if r and r[0]}
        for g in ag["groups"]:
            self.assertEqual(by[g["key"]][head.index("total")], g["total"]["amount"], g["key"])
            self.assertEqual(by[g["key"]][1:len(g["buckets"]) + 1],
                             [b["amount"] for b in g["buckets"]], g["key"])
        self.assertEqual(by["all"][head.index("total")], ag["total"]["amount"])
        self.assertEqual(by["unapplied cash"][1], ag["unapplied_cash"])
        # DSO, CEI, DPO, the roll-forward: the report period's row is the API's.
        q = "from=2025-03-01&to=2025-03-31&interval=month"
        for sheet, path, col in (("DSO", "/v1/dso?method=standard&" + q, "standard"),
                                 ("DSO", "/v1/dso?method=countback&" + q, "countback"),
                                 ("CEI", "/v1/cei?" + q, "cei"),
                                 ("DPO", "/v1/dpo?" + q, "dpo"),
                                 ("Roll-forward", "/v1/rollforward?" + q, "closing")):
            with self.subTest(sheet=sheet, col=col):
                st, js, _ = self.srv.get(path)
                self.assertEqual(st, 200, js)
                pt = js["points"][0]
                head = text[sheet][0]
                row = text[sheet][1]
                self.assertEqual(row[:3], ["period", "2025-03-01", "2025-03-31"])
                self.assertEqual(row[head.index(col)], api_value(pt), (sheet, pt))
                # the inputs beside it, under the API's names (the DSO sheet
                # holds the four methods instead)
                inputs = {k: v for k, v in pt.items()
                          if k not in ("start", "end", "value", "reason") and v is not None}
                self.assertTrue(inputs, pt)
                for name, v in inputs.items() if sheet != "DSO" else ():
                    self.assertEqual(row[head.index(name)], str(v), (sheet, name))
                self.assertEqual({r[0] for r in text[sheet][2:] if r}, {"month"})
        # SLA: every SLA's period row; FTQ: invoices and bills.
        self.assertEqual({r[0] for r in text["SLA"][1:] if r},
                         {s["name"] for s in self.meta["slas"]})
        self.assertEqual({r[0] for r in text["FTQ"][1:] if r}, {"invoice", "bill"})
        st, ftq, _ = self.srv.get("/v1/ftq?kind=invoice&" + q)
        row = [r for r in text["FTQ"] if r[:2] == ["invoice", "period"]][0]
        self.assertEqual(row[text["FTQ"][0].index("ftq")], api_value(ftq["points"][0]))
        # Customers: the hostile names, neutralised; no cell starts a formula.
        cells = [unescape(c[1]) for r in sh["Customers"] for c in r if c[0] == "s"]
        for name in HOSTILE:
            self.assertIn("'" + name, cells)
        for n, rows in sh.items():
            self.assertEqual([c[1] for r in rows for c in r
                              if c[0] == "s" and unescape(c[1]).startswith(FORMULA)], [], n)
        # The figures are numbers with the currency's format, days are dates.
        total = sh["Aging"][1][text["Aging"][0].index("total")]
        self.assertEqual((total[0], total[2]), ("n", "#,##0.00"))
        self.assertEqual(sh["DSO"][1][1][2], "yyyy-mm-dd")

    def test_report_kind_direct_and_unit(self):
        # Accept names the workbook: the file itself, 201.
        st, _, raw = self.srv.post("/v1/reports", {"kind": "xlsx", "period": "2025-Q1",
                                                   "business_unit": "gulf",
                                                   "currency": "KWD"},
                                   headers={"Accept": XLSX})
        self.assertEqual(st, 201, raw[:200])
        self.assertEqual(self.srv.last_headers["Content-Type"], XLSX)
        names, sh = self.sheets(raw)
        aging = [[as_csv_text(c) for c in r] for r in sh["Aging"]]
        self.assertEqual(aging[1][0], "gulf")
        head = aging[0]
        st, ag, _ = self.srv.get("/v1/aging?as_of=2025-03-31&business_unit=gulf&currency=KWD")
        self.assertEqual(st, 200, ag)
        self.assertEqual(aging[1][head.index("total")], ag["total"]["amount"])
        self.assertEqual(sh["Aging"][1][head.index("total")][2], "#,##0.000")
        # A PDF Accept does not get a workbook: JSON, as for any other mismatch.
        st, body, _ = self.srv.post("/v1/reports", {"kind": "xlsx", "period": "2025-03"},
                                    headers={"Accept": "application/pdf"})
        self.assertEqual(st, 201)
        self.assertEqual(body["kind"], "xlsx")
        st, body, _ = self.srv.post("/v1/reports", {"kind": "xls", "period": "2025-03"})
        self.assertEqual(st, 400)
        self.assertIn("xlsx", body["error"]["message"])

    def test_report_cli(self):
        out = os.path.join(self.tmp, "cli.xlsx")
        r = run_kpid("report", "--data", self.data, "--kind", "xlsx", "--period", "2025-03",
                     "--out", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"(9 sheets,", r.stderr)
        with open(out, "rb") as f:
            names, _ = self.sheets(f.read())
        self.assertEqual(names[:3], ["Report", "Aging", "Customers"])


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
