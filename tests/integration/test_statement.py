"""Customer statements of account end to end (docs/reports.md, "Statement
of account"): `kpid report --kind statement` and POST /v1/reports
{"kind": "statement"} on a `kpid gen` book plus two customers made for it:
one with a CJK name, one with invoices in two currencies.

The text of each statement (`pdftotext -layout`) must hold, in the section
of each currency, the figures the JSON API gives for that customer, day and
currency: every open item of GET /v1/customers/{id} (invoice, open amount,
days past due), the aging buckets and total, the unapplied cash, and the
total due = aging total - unapplied cash - unallocated credit notes (the
last from GET /v1/aging?customer=); and every payment and credit note of the
period from GET /v1/events. Error paths: no customer, an unknown one, a bad
or future as_of, the CLI's exit codes, and a key limited to a business unit
asking for another unit's customer, which must read exactly like an unknown
customer.

With KPID_STATEMENT_PNG=PATH set, the first page of the CJK customer's
statement is also written there as a PNG (pdftoppm), for docs/images.
"""
import decimal
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

import kpidtest
from kpidtest import add_key, Server, run_kpid

AS_OF = "2025-06-30"
PERIOD = "2025-06"
CJK = "大连贸易有限公司"
TWO = "Müller & Söhne GmbH"


def extra_events():
    """The CJK customer (apac, USD): an overdue invoice partly paid and
    credited in June, a current one, and cash left unapplied. The other
    (emea): an invoice in EUR and one in USD, a EUR payment in June and a
    EUR credit note on account (unallocated)."""
    e = []

    def ev(i, typ, time, **kw):
        d = {"id": "st-%02d" % i, "type": typ, "time": time}
        d.update(kw)
        e.append(d)

    ev(1, "invoice.issued", "2025-03-01", invoice="ST-1", customer=CJK, business_unit="apac",
       amount="5000.50", currency="USD", terms_days=30)
    ev(2, "invoice.issued", "2025-06-10", invoice="ST-2", customer=CJK, business_unit="apac",
       amount="1200.00", currency="USD", terms_days=45)
    ev(3, "payment.received", "2025-06-15", payment="PST-1", customer=CJK, business_unit="apac",
       amount="3000.00", currency="USD", method="wire")
    ev(4, "payment.applied", "2025-06-16", payment="PST-1", invoice="ST-1", amount="2000.00")
    ev(5, "credit_note.issued", "2025-06-20", credit_note="CST-1", customer=CJK,
       business_unit="apac", invoice="ST-1", amount="100.25", currency="USD")
    ev(6, "invoice.issued", "2025-04-01", invoice="SM-1", customer=TWO, business_unit="emea",
       amount="7000.00", currency="EUR", terms_days=30)
    ev(7, "invoice.issued", "2025-05-15", invoice="SM-2", customer=TWO, business_unit="emea",
       amount="2500.00", currency="USD", terms_days=30)
    ev(8, "payment.received", "2025-06-05", payment="PSM-1", customer=TWO, business_unit="emea",
       amount="1500.00", currency="EUR", method="eft")
    ev(9, "payment.applied", "2025-06-05", payment="PSM-1", invoice="SM-1", amount="1500.00")
    ev(10, "credit_note.issued", "2025-06-07", credit_note="CSM-2", customer=TWO,
       business_unit="emea", amount="250.00", currency="EUR")
    return e


def pdftotext(path):
    r = subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, timeout=120)
    if r.returncode != 0 or r.stderr:
        raise AssertionError("pdftotext on %s: rc %d, %s" % (path, r.returncode,
                                                              r.stderr.decode()))
    return r.stdout.decode("utf-8")


def grouped(amount):
    """An API amount ("3444184.57") as the PDF prints it ("3,444,184.57")."""
    sign = "-" if amount.startswith("-") else ""
    whole, _, frac = amount.lstrip("-").partition(".")
    return sign + "{:,}".format(int(whole)) + ("." + frac if frac else "")


def sections(text):
    """{currency: the text of its "Account in XXX" section}."""
    out, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^\s*Account in ([A-Z]{3})\s*$", line)
        if m:
            cur = m.group(1)
            out[cur] = []
        elif line.strip().startswith("How to read this statement"):
            cur = None
        elif cur is not None:
            out[cur].append(line)
    return {k: "\n".join(v) for k, v in out.items()}


def lines_with(text, *parts):
    """The lines holding every one of parts (as text)."""
    return [ln for ln in text.splitlines() if all(p in ln for p in parts)]


def q(s):
    return urllib.parse.quote(s, safe="")



@unittest.skipIf(shutil.which("pdftotext") is None,
                 "pdftotext is missing: install poppler-utils (./dev test installs it)")
class Statement(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-stmt-")
        cls.data = os.path.join(cls.tmp, "data")
        ev = os.path.join(cls.tmp, "ev.ndjson")
        r = run_kpid("gen", "--invoices", "400", "--seed", "13", "--out", ev)
        assert r.returncode == 0, r.stderr
        with open(ev, "a", encoding="utf-8") as f:
            f.write(kpidtest.ndjson(extra_events()))
        r = run_kpid("ingest", "--data", cls.data, ev)
        assert r.returncode == 0, r.stderr
        assert b" 0 rejected" in r.stderr, r.stderr
        cls.config = os.path.join(cls.tmp, "kpid.json")
        with open(cls.config, "w") as f:
            json.dump({}, f)
        cls.keys = {"admin": add_key(cls.config, "ops", "admin"),
                    "emea": add_key(cls.config, "emea-admin", "admin", "emea")}
        cls.srv = Server(cls.data, ["--config", cls.config]).start()
        cls.srv.headers = {"Authorization": "Bearer " + cls.keys["admin"]}

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

    def cli(self, customer, *extra):
        out = os.path.join(self.tmp, "cli-%d.pdf" % len(os.listdir(self.tmp)))
        r = run_kpid("report", "--data", self.data, "--kind", "statement", "--customer",
                     customer, "--as-of", AS_OF, "--period", PERIOD, "--out", out, *extra)
        self.assertEqual(r.returncode, 0, r.stderr)
        return out

    def post(self, body, key="admin"):
        return self.srv.post("/v1/reports", body,
                             headers={"Authorization": "Bearer " + self.keys[key]})

    # ---- the figures: what the API says, in the section of each currency --

    def check_section(self, text, customer, cur):
        prof = self.api("/v1/customers/%s?as_of=%s&currency=%s" % (q(customer), AS_OF, cur))
        ag = self.api("/v1/aging?customer=%s&as_of=%s&currency=%s" % (q(customer), AS_OF, cur))
        self.assertEqual(ag["total"]["amount"], prof["aging"]["total"]["amount"])
        items = [i for i in prof["open_items"] if i["currency"] == cur]
        self.assertTrue(items or prof["aging"]["total"]["amount"] == "0.00", prof)
        for it in items:
            days = str(it["days_past_due"]) if it["days_past_due"] > 0 else "not due"
            rows = lines_with(text, it["invoice"], grouped(it["open"]), days)
            self.assertTrue(rows, "open item %s %s (%s) not in the %s section:\n%s"
                            % (it["invoice"], it["open"], days, cur, text))
        for b in prof["aging"]["buckets"]:
            rows = [ln for ln in lines_with(text, grouped(b["amount"]))
                    if ln.split() and ln.split()[0] == b["label"]]
            self.assertTrue(rows, "bucket %s %s missing in %s" % (b["label"], b["amount"], cur))
            self.assertIn(str(b["count"]), rows[0].split())
        total = prof["aging"]["total"]
        self.assertTrue(lines_with(text, "Total", grouped(total["amount"]), str(total["count"])))
        self.assertTrue(lines_with(text, "Open invoices", grouped(total["amount"])))
        self.assertTrue(lines_with(text, "Less unapplied cash", grouped(prof["unapplied_cash"])),
                        "unapplied %s in %s" % (prof["unapplied_cash"], cur))
        self.assertTrue(lines_with(text, "unallocated credit", grouped(ag["unallocated_credits"])))
        due = (decimal.Decimal(total["amount"]) - decimal.Decimal(prof["unapplied_cash"])
               - decimal.Decimal(ag["unallocated_credits"]))
        self.assertTrue(lines_with(text, "Total due as of %s" % AS_OF, grouped(str(due))),
                        "total due %s not in %s:\n%s" % (due, cur, text))
        return prof, ag, due

    def check_moves(self, sect, customer):
        """Every payment received and credit note of the period, in the
        section of its currency (its document's: the API names it)."""
        evs = self.api("/v1/events?customer=%s&from=2025-06-01&to=2025-06-30&limit=1000"
                       % q(customer))["events"]
        seen = 0
        for e in evs:
            if e["type"] not in ("payment.received", "credit_note.issued"):
                continue
            doc = e.get("payment") or e.get("credit_note")
            cur = e.get("currency") or "USD"
            self.assertIn(cur, sect, "no %s section for %s" % (cur, doc))
            self.assertTrue(lines_with(sect[cur], doc, grouped(e["amount"])),
                            "%s %s not in the %s section" % (doc, e["amount"], cur))
            seen += 1
        return seen

    def test_cjk_customer_cli(self):
        path = self.cli(CJK)
        text = pdftotext(path)
        self.assertIn(CJK, text)  # the header, in the CJK font, extracts as itself
        self.assertIn("Statement of account as of %s" % AS_OF, text)
        sect = sections(text)
        self.assertEqual(sorted(sect), ["USD"])
        prof, ag, due = self.check_section(sect["USD"], CJK, "USD")
        # the hand-made figures, so that the API's are not only echoed
        self.assertEqual(prof["unapplied_cash"], "1000.00")
        self.assertEqual(prof["aging"]["total"]["amount"], "4100.25")  # 2900.25 + 1200
        self.assertEqual(str(due), "3100.25")
        self.assertTrue(lines_with(sect["USD"], "ST-1 ", " 91 ", "2,900.25"))  # due 03-31
        self.assertEqual(self.check_moves(sect, CJK), 2)
        self.assertTrue(lines_with(sect["USD"], "CST-1", "ST-1", "100.25"))
        png = os.environ.get("KPID_STATEMENT_PNG")
        if png and shutil.which("pdftoppm"):
            stem = os.path.join(self.tmp, "page")
            subprocess.run(["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile",
                            path, stem], check=True, timeout=120)
            shutil.copyfile(stem + ".png", png)

    def test_two_currencies_post(self):
        st, body, _ = self.post({"kind": "statement", "customer": TWO, "as_of": AS_OF,
                                 "period": PERIOD})
        self.assertEqual(st, 201, body)
        self.assertEqual(body["kind"], "statement")
        self.assertEqual(body["customer"], TWO)
        self.assertEqual(body["as_of"], AS_OF)
        self.assertEqual((body["from"], body["to"]), ("2025-06-01", "2025-06-30"))
        self.assertRegex(body["id"], r"^statement_M__ller___S__hne_GmbH\.[0-9a-f]{8}-all-"
                                     r"2025-06-01-2025-06-30-\d{8}T\d{6}Z$")
        st, _, pdf = self.srv.get(body["url"])
        self.assertEqual(st, 200)
        path = os.path.join(self.tmp, "two.pdf")
        with open(path, "wb") as f:
            f.write(pdf)
        text = pdftotext(path)
        self.assertIn(TWO, text)
        sect = sections(text)
        self.assertEqual(sorted(sect), ["EUR", "USD"])
        _, ag, due = self.check_section(sect["EUR"], TWO, "EUR")
        self.assertEqual(ag["unallocated_credits"], "250.00")
        self.assertEqual(str(due), "5250.00")  # 7000 - 1500 paid - 250 on account
        self.check_section(sect["USD"], TWO, "USD")
        self.assertEqual(self.check_moves(sect, TWO), 2)
        self.assertTrue(lines_with(sect["EUR"], "CSM-2", "on account", "250.00"))
        # listed, with its kind; a currency= asks for one section only
        ids = [r["id"] for r in self.api("/v1/reports")["reports"] if r["kind"] == "statement"]
        self.assertIn(body["id"], ids)
        st, one, _ = self.post({"kind": "statement", "customer": TWO, "as_of": AS_OF,
                                "currency": "USD"})
        self.assertEqual(st, 201, one)
        self.assertEqual((one["from"], one["to"], one["period"]),
                         ("2025-06-01", AS_OF, "2025-06-01..2025-06-30"))
        _, _, pdf = self.srv.get(one["url"])
        with open(path, "wb") as f:
            f.write(pdf)
        self.assertEqual(sorted(sections(pdftotext(path))), ["USD"])

    def test_generated_customer_matches(self):
        """A customer of the generated book, whatever it has."""
        top = self.api("/v1/aging?as_of=%s&group_by=customer&sort=-overdue&limit=1" % AS_OF)
        name = top["groups"][0]["key"]
        text = pdftotext(self.cli(name))
        sect = sections(text)
        self.assertTrue(sect)
        for cur in sect:
            self.check_section(sect[cur], name, cur)
        self.check_moves(sect, name)

    # ---- errors -----------------------------------------------------------

    def test_errors(self):
        cases = [
            ({"kind": "statement"}, 400, "'customer' is required for kind statement"),
            ({"kind": "statement", "customer": "NOPE"}, 404, "unknown customer 'NOPE'"),
            ({"kind": "statement", "customer": CJK, "as_of": "2025-02-30"}, 400, "as_of"),
            ({"kind": "statement", "customer": CJK, "as_of": "2999-01-01"}, 400,
             "is after today"),
            ({"kind": "statement", "customer": CJK, "as_of": "2025-05-31", "period": PERIOD},
             400, "the period starts on 2025-06-01, after as_of 2025-05-31"),
            ({"kind": "aging", "period": PERIOD, "customer": CJK}, 400,
             "'customer' is only for kind statement"),
        ]
        for body, status, text in cases:
            st, ans, _ = self.post(body)
            self.assertEqual(st, status, (body, ans))
            self.assertIn(text, ans["error"]["message"], body)
        out = os.path.join(self.tmp, "x.pdf")
        r = run_kpid("report", "--data", self.data, "--kind", "statement", "--out", out)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--customer", r.stderr)
        r = run_kpid("report", "--data", self.data, "--kind", "statement", "--customer", "NOPE",
                     "--out", out)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"unknown customer 'NOPE'", r.stderr)
        r = run_kpid("report", "--data", self.data, "--kind", "statement", "--customer", CJK,
                     "--as-of", "31/06/2025", "--out", out)
        self.assertEqual(r.returncode, 2)
        self.assertIn(b"--as-of '31/06/2025' is not a date", r.stderr)
        self.assertFalse(os.path.exists(out))

    def test_scoped_key(self):
        """A key limited to emea: its own customer's statement (in emea
        only), and another unit's customer answered byte for byte as one
        nobody knows."""
        st, other, _ = self.post({"kind": "statement", "customer": CJK, "as_of": AS_OF}, "emea")
        st2, nobody, _ = self.post({"kind": "statement", "customer": "NOPE", "as_of": AS_OF},
                                   "emea")
        self.assertEqual((st, st2), (404, 404))
        self.assertEqual(other["error"]["message"].replace(CJK, "X"),
                         nobody["error"]["message"].replace("NOPE", "X"))
        self.assertEqual(other["error"]["message"],
                         "unknown customer '%s' in business unit 'emea'" % CJK)
        st, mine, _ = self.post({"kind": "statement", "customer": TWO, "as_of": AS_OF}, "emea")
        self.assertEqual(st, 201, mine)
        self.assertEqual(mine["business_unit"], "emea")
        st, listed, _ = self.srv.get("/v1/reports",
                                     headers={"Authorization": "Bearer " + self.keys["emea"]})
        self.assertIn(mine["id"], [r["id"] for r in listed["reports"]])


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
