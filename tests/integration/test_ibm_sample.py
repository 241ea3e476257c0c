"""A real receivables ledger end to end: IBM's AR sample (2,466 invoices,
tests/data/ar_ibm.csv, source and licence in tests/data/README.md) converted
with tools/ar_ibm_to_events.py and loaded with kpid ingest, as a user would.
Skipped, and said so, only when a redistribution dropped the data file."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import kpidtest
from kpidtest import Server, run_kpid

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SAMPLE = os.path.join(ROOT, "tests", "data", "ar_ibm.csv")
CONVERT = os.path.join(ROOT, "tools", "ar_ibm_to_events.py")


@unittest.skipUnless(os.path.exists(SAMPLE), "tests/data/ar_ibm.csv is not in this copy (tests/data/README.md)")
class IbmSample(unittest.TestCase):
    def test_load_the_ledger(self):
        tmp = tempfile.mkdtemp(prefix="kpid-ibm-")
        try:
            conv = subprocess.run([sys.executable, CONVERT, SAMPLE], capture_output=True)
            self.assertEqual(conv.returncode, 0, conv.stderr)
            n = conv.stdout.count(b"\n")
            self.assertEqual(n, 2466 * 3 + 561 * 2)  # invoices, payments, disputes
            data = os.path.join(tmp, "data")
            r = run_kpid("ingest", "--data", data, "-", input=conv.stdout)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertIn(b"%d accepted, 0 duplicates, 0 rejected" % n, r.stderr)
            srv = Server(data).start()
            try:
                status, body, raw = srv.get("/v1/events?customer=0379-NEVHP&type=invoice.issued"
                                            "&limit=1000")
                self.assertEqual(status, 200, raw)
                self.assertTrue(body["events"])
                first = [e for e in body["events"] if e["invoice"] == "0000611365"]
                self.assertEqual(len(first), 1)
                self.assertEqual(first[0]["amount"], "55.94")
                self.assertEqual(first[0]["due_date"], "2013-02-01")
                self.assertEqual(first[0]["business_unit"], "country-391")
            finally:
                self.assertEqual(srv.stop(), 0, srv.log())
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    kpidtest.parse_args()
    unittest.main(verbosity=2)
