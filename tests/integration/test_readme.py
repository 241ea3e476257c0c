"""Every `curl ... localhost:8080` example of README.md, run as written
against `kpid serve --demo` (the data `./dev run` loads: 2,000 invoices
issued 2024-01-01 to 2025-12-31, the same events every time). Each answer
must be a 2xx with something in it: JSON lists not empty, series with at
least one real figure (not all null or 0), CSV with data rows. So the
README cannot again show examples whose dates fall outside the demo data
and print "value": 0.0 that reads as a real DSO of zero."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import kpidtest
from kpidtest import ROOT, Server

README = os.path.join(ROOT, "README.md")


def shell_commands(block):
    """Split a shell code block into commands: a command ends at a newline
    outside quotes; '#' after a blank outside quotes starts a comment.
    Knows '...', "..." and $'...' (with backslash escapes) - what the
    README uses."""
    cmds, cur, i, quote = [], "", 0, None
    while i < len(block):
        c = block[i]
        if quote is None:
            if c == "#" and (cur == "" or cur[-1] in " \t"):
                while i < len(block) and block[i] != "\n":
                    i += 1
                continue
            if c == "\n":
                if cur.strip():
                    cmds.append(cur.strip())
                cur = ""
            elif c == "'" and cur.endswith("$"):
                quote = "$'"
                cur += c
            elif c in "'\"":
                quote = c
                cur += c
            elif c == "\\" and i + 1 < len(block) and block[i + 1] == "\n":
                i += 1
                cur += " "
            else:
                cur += c
        else:
            cur += c
            if quote == "$'" and c == "\\" and i + 1 < len(block):
                i += 1
                cur += block[i]
            elif c == quote[-1]:
                quote = None
        i += 1
    if cur.strip():
        cmds.append(cur.strip())
    return cmds


def readme_examples():
    with open(README, encoding="utf-8") as f:
        text = f.read()
    out = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        out += [c for c in shell_commands(block)
                if c.startswith("curl ") and "localhost:8080" in c]
    return out


def zero(v):
    return v is None or v == 0 or isinstance(v, str) and v.strip("0.-") == ""


def empty_points(j):
    """The points of a series with nothing in them: every figure null or 0
    (a period before or after the data, which would read as a real 0)."""
    return [p["start"] for p in j.get("points", [])
            if all(zero(v) for k, v in p.items() if k not in ("start", "end", "reason", "days"))]


class ParserTest(unittest.TestCase):
    def test_split(self):
        block = ("curl -s a   # note\n"
                 "curl -d '{\n  \"x\": 1}'\n"
                 "curl --data-binary $'\n{\"y\":\"it\\'s\"}'\n"
                 "# comment\n"
                 "curl 'q?a=1#frag'\n")
        self.assertEqual(shell_commands(block), [
            "curl -s a", "curl -d '{\n  \"x\": 1}'",
            "curl --data-binary $'\n{\"y\":\"it\\'s\"}'", "curl 'q?a=1#frag'"])

    def test_readme_has_examples(self):
        ex = readme_examples()
        self.assertGreaterEqual(len(ex), 15, ex)
        self.assertTrue(any("method=countback" in c for c in ex))


@unittest.skipIf(shutil.which("curl") is None, "curl is not installed")
class ReadmeExamples(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="kpid-readme-")
        # The e-mail example needs an "smtp" block: one whose server is not
        # there, so the report is written and its delivery queued (the
        # answer the example shows); test_mail.py delivers for real.
        cfg = os.path.join(cls.tmp, "kpid.json")
        with open(cfg, "w") as f:
            json.dump({"smtp": {"url": "smtp://127.0.0.1:9", "from": "kpid@example.com"}}, f)
        cls.srv = Server(os.path.join(cls.tmp, "data"), ["--demo", "--config", cfg]).start(
            timeout=300)

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        log = cls.srv.log()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert rc == 0 and "Sanitizer" not in log, log

    def test_every_example(self):
        examples = readme_examples()
        for cmd in examples:  # in order: later ones rely on the first POST
            with self.subTest(cmd=cmd):
                run = cmd.replace("localhost:8080", "127.0.0.1:%d" % self.srv.port)
                r = subprocess.run(["bash", "-c", run + " -w '\\n%{http_code} %{content_type}'"],
                                   capture_output=True, timeout=120)
                self.assertEqual(r.returncode, 0, r.stderr)
                body, _, tail = r.stdout.rpartition(b"\n")
                status, _, ctype = tail.decode().partition(" ")
                self.assertTrue(status.startswith("2"), (status, body[:300]))
                self.assertTrue(body.strip(), "empty answer")
                if ctype.startswith("application/json"):
                    j = json.loads(body)
                    for key in ("events", "groups", "points", "reports", "items"):
                        if key in j:
                            self.assertTrue(j[key], "%s is empty: %s" % (key, body[:300]))
                    self.assertEqual(empty_points(j), [], "periods without data: %s" % body[:400])
                    if "total" in j and "as_of" in j:
                        self.assertNotEqual(j["total"]["amount"].strip("0."), "", "no AR")
                elif ctype.startswith("text/csv"):
                    lines = body.decode("utf-8-sig").splitlines()
                    self.assertGreater(len(lines), 1, "a CSV without data rows")


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main()
