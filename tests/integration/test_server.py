"""kpid serve over HTTP: ingest in every format, errors, idempotency,
out-of-order arrival, atomic batches, the event log, persistence."""
import json
import os
import tempfile

import kpidtest
from kpidtest import ServerTest, Server, ndjson

# One event of every type of docs/events.md, forming one consistent story.
ALL_TYPES = [
    {"id": "e01", "type": "invoice.issued", "time": "2025-03-01T10:00:00Z", "invoice": "INV-1",
     "customer": "ACME", "amount": "1000.00", "terms_days": 30, "business_unit": "emea",
     "currency": "EUR", "billing_due": "2025-03-01", "po_number": "PO-77"},
    {"id": "e02", "type": "invoice.reviewed", "time": "2025-03-01T11:00:00Z", "invoice": "INV-1",
     "result": "fail", "reason": "wrong PO"},
    {"id": "e03", "type": "invoice.adjusted", "time": "2025-03-02T09:00:00Z", "invoice": "INV-1",
     "amount": "-50.00", "reason": "price correction"},
    {"id": "e04", "type": "credit_note.issued", "time": "2025-03-03", "credit_note": "CN-1",
     "customer": "ACME", "amount": "100.00", "invoice": "INV-1", "currency": "EUR"},
    {"id": "e05", "type": "payment.received", "time": "2025-03-20T00:30:00+01:00",
     "payment": "PAY-1", "customer": "ACME", "amount": "900.00", "method": "wire",
     "currency": "EUR"},
    {"id": "e06", "type": "payment.applied", "time": "2025-03-21T08:00:00Z", "payment": "PAY-1",
     "invoice": "INV-1", "amount": "800.00"},
    {"id": "e07", "type": "payment.refunded", "time": "2025-03-22T08:00:00Z", "payment": "PAY-1",
     "amount": "100.00"},
    {"id": "e08", "type": "invoice.written_off", "time": "2025-06-30", "invoice": "INV-1",
     "amount": "50.00", "reason": "small balance"},
    {"id": "e09", "type": "dispute.opened", "time": "2025-03-05T12:00:00Z", "dispute": "D-1",
     "invoice": "INV-1", "amount": "100.00", "reason": "damaged goods"},
    {"id": "e10", "type": "dispute.resolved", "time": "2025-03-15T12:00:00Z", "dispute": "D-1",
     "invoice": "INV-1", "resolution": "credit note"},
    {"id": "e11", "type": "credit.limit_set", "time": "2025-01-01", "customer": "ACME",
     "amount": "50000.00"},
    {"id": "e12", "type": "credit.hold_set", "time": "2025-04-01", "customer": "ACME",
     "reason": "overdue"},
    {"id": "e13", "type": "credit.hold_released", "time": "2025-04-10", "customer": "ACME",
     "reason": "paid"},
    {"id": "e14", "type": "inquiry.opened", "time": "2025-03-04T09:00:00Z", "inquiry": "Q-1",
     "customer": "ACME", "invoice": "INV-1"},
    {"id": "e15", "type": "inquiry.resolved", "time": "2025-03-06T09:00:00Z", "inquiry": "Q-1",
     "customer": "ACME"},
    {"id": "e16", "type": "bill.received", "time": "2025-03-07T09:00:00Z", "bill": "B-1",
     "vendor": "Müller GmbH", "amount": "300.00", "due_date": "2025-04-06"},
    {"id": "e17", "type": "bill.rejected", "time": "2025-03-07T10:00:00Z", "bill": "B-1",
     "reason": "no PO"},
    {"id": "e18", "type": "bill.escalated", "time": "2025-03-08T10:00:00Z", "bill": "B-1",
     "reason": "approval"},
    {"id": "e19", "type": "bill.processed", "time": "2025-03-10T10:00:00Z", "bill": "B-1"},
    {"id": "e20", "type": "bill.paid", "time": "2025-04-05T10:00:00Z", "bill": "B-1",
     "amount": "300.00"},
    {"id": "e21", "type": "fx.rate", "date": "2025-03-31", "currency": "EUR", "rate": "1.0825",
     "source": "ECB"},
    {"id": "e22", "type": "customer.updated", "time": "2025-02-01", "customer": "ACME",
     "name": "ACME Corporation", "email": "ap@acme.example", "country": "US",
     "segment": "enterprise"},
    {"id": "e23", "type": "vendor.updated", "time": "2025-02-01", "vendor": "Müller GmbH",
     "name": "Müller GmbH & Co. KG", "country": "DE"},
]


def all_events(srv, query=""):
    """Follow the cursor through the whole log."""
    out, cursor = [], None
    while True:
        q = "/v1/events?limit=7" + query + ("&cursor=" + cursor if cursor else "")
        status, body, raw = srv.get(q)
        assert status == 200, raw
        out.extend(body["events"])
        cursor = body["next_cursor"]
        if cursor is None:
            return out


class Basics(ServerTest):
    def test_health(self):
        status, body, _ = self.srv.get("/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["events"], 0)

    def test_unknown_path_is_json_404(self):
        status, body, _ = self.srv.get("/v1/nope")
        self.assertEqual(status, 404)
        self.assertEqual(body["error"]["code"], "not_found")
        self.assertIn("/v1/nope", body["error"]["message"])

    def test_wrong_method_is_405(self):
        status, body, _ = self.srv.request("DELETE", "/v1/events")
        self.assertEqual(status, 405)
        self.assertIn("error", body)

    def test_bad_parameters_are_named(self):
        for q, name in [("limit=0", "limit"), ("limit=x", "limit"), ("from=2025-13-01", "from"),
                        ("to=yesterday", "to"), ("type=invoice.paid", "type"),
                        ("custmer=ACME", "custmer"), ("format=xml", "format"),
                        ("cursor=zz", "cursor")]:
            status, body, raw = self.srv.get("/v1/events?" + q)
            self.assertEqual(status, 400, q)
            self.assertEqual(body["error"]["code"], "bad_parameter", q)
            self.assertIn(name, body["error"]["message"], q)

    def test_empty_body_and_bad_content_type(self):
        status, body, _ = self.srv.post("/v1/events", "", "application/json")
        self.assertEqual(status, 400)
        status, body, _ = self.srv.post("/v1/events", "<x/>", "application/xml")
        self.assertEqual(status, 400)
        self.assertIn("Content-Type", body["error"]["message"])


class Ingest(ServerTest):
    def test_every_type_round_trips(self):
        status, body, raw = self.srv.post("/v1/events", ALL_TYPES)
        self.assertEqual(status, 200, raw)
        self.assertEqual((body["accepted"], body["duplicates"], body["rejected"]), (23, 0, []))
        events = all_events(self.srv)
        self.assertEqual(sorted(e["id"] for e in events), sorted(e["id"] for e in ALL_TYPES))
        by_id = {e["id"]: e for e in events}
        e1 = by_id["e01"]
        self.assertEqual(e1["amount"], "1000.00")
        self.assertEqual(e1["currency"], "EUR")
        self.assertEqual(e1["business_unit"], "emea")
        self.assertEqual(e1["terms_days"], 30)
        self.assertEqual(e1["billing_due"], "2025-03-01")
        self.assertEqual(e1["po_number"], "PO-77")  # unknown fields are kept
        self.assertEqual(by_id["e05"]["time"], "2025-03-19T23:30:00Z")  # offset -> UTC
        self.assertEqual(by_id["e04"]["time"], "2025-03-03")  # date-only stays a date
        self.assertEqual(by_id["e03"]["amount"], "-50.00")
        self.assertEqual(by_id["e16"]["vendor"], "Müller GmbH")
        self.assertEqual(by_id["e10"]["resolution"], "credit note")
        # The log comes back in event-time order.
        times = [e["id"] for e in events]
        self.assertEqual(times[0], "e11")
        # What the log returns, sent again, is the same content: duplicates.
        status, body, raw = self.srv.post("/v1/events", events)
        self.assertEqual((body["accepted"], body["duplicates"], body["rejected"]), (0, 23, []),
                         raw)
        self.assertEqual(by_id["e21"], ALL_TYPES[-3])  # a rate keeps its own field names
        self.assertEqual(by_id["e22"], ALL_TYPES[-2])  # a profile comes back as sent
        self.assertEqual(by_id["e23"], ALL_TYPES[-1])

    def test_ndjson_and_csv(self):
        status, body, raw = self.srv.post("/v1/events", ndjson(ALL_TYPES[:3]) + "\n\n",
                                          "application/x-ndjson")
        self.assertEqual(body["accepted"], 3, raw)
        csv = ("id,type,time,invoice,customer,amount,terms_days,currency\r\n"
               "c1,invoice.issued,2025-05-01,INV-C1,\"Smith, Jones & Co\",10.50,30,USD\r\n"
               "c2,invoice.issued,2025-05-01,INV-C2,Beta,abc,30,USD\r\n"
               "c3,invoice.issued,2025-05-02,INV-C3,Gamma,7,45,JPY\r\n")
        status, body, raw = self.srv.post("/v1/events", csv, "text/csv")
        self.assertEqual(body["accepted"], 2, raw)
        self.assertEqual(len(body["rejected"]), 1)
        r = body["rejected"][0]
        self.assertEqual((r["index"], r["id"], r["field"], r["code"]), (1, "c2", "amount",
                                                                         "bad_amount"))
        status, body, raw = self.srv.get("/v1/events?customer=Smith,%20Jones%20%26%20Co")
        self.assertEqual(len(body["events"]), 1, raw)
        self.assertEqual(body["events"][0]["amount"], "10.50")

    def test_every_bad_input_class_has_its_error(self):
        ok = {"id": "p1", "type": "payment.received", "time": "2025-01-02", "payment": "P1",
              "customer": "ACME", "amount": "100.00", "method": "eft"}
        batch = [
            ok,
            {"id": "b1", "type": "invoice.issued", "time": "2025-01-02", "invoice": "I1",
             "amount": "5.00", "terms_days": 30},                                      # no customer
            {"id": "b2", "type": "invoice.issued", "time": "2025-01-02", "invoice": "I2",
             "customer": "C", "amount": True, "terms_days": 30},                       # wrong type
            {"id": "b3", "type": "invoice.paid", "time": "2025-01-02"},                # unknown type
            {"id": "b4", "type": "invoice.issued", "time": "2025-02-30", "invoice": "I4",
             "customer": "C", "amount": "5.00", "terms_days": 30},                     # bad date
            {"id": "b5", "type": "invoice.issued", "time": "2025-01-02", "invoice": "I5",
             "customer": "C", "amount": "5.001", "terms_days": 30},                    # decimals
            {"id": "b6", "type": "payment.applied", "time": "2025-01-03", "payment": "P1",
             "invoice": "I9", "amount": "150.00"},                                     # > received
            {"id": "b7", "type": "invoice.issued", "time": "2025-01-02", "invoice": "I7",
             "customer": "C", "amount": "-5.00", "terms_days": 30},                    # sign
            {"id": "b8", "type": "invoice.issued", "time": "2025-01-02", "invoice": "I8",
             "customer": "C", "amount": "5.00", "terms_days": 30, "currency": "XYZ"},  # currency
            {"id": "I9-issue", "type": "invoice.issued", "time": "2025-01-01", "invoice": "I9",
             "customer": "ACME", "amount": "500.00", "terms_days": 30},
        ]
        status, body, raw = self.srv.post("/v1/events", batch)
        self.assertEqual(status, 200, raw)
        self.assertEqual(body["accepted"], 2, raw)
        got = [(r["index"], r["id"], r["field"], r["code"]) for r in body["rejected"]]
        self.assertEqual(got, [
            (1, "b1", "customer", "missing_field"),
            (2, "b2", "amount", "bad_type"),
            (3, "b3", "type", "unknown_type"),
            (4, "b4", "time", "bad_date"),
            (5, "b5", "amount", "too_many_decimals"),
            (6, "b6", "amount", "over_applied"),
            (7, "b7", "amount", "bad_amount"),
            (8, "b8", "currency", "bad_currency"),
        ])
        for r in body["rejected"]:
            self.assertTrue(r["error"], r)
        # A reference to an unknown invoice: held by default, refused with strict=true.
        ref = {"id": "r1", "type": "invoice.reviewed", "time": "2025-01-05", "invoice": "NOPE",
               "result": "pass"}
        status, body, raw = self.srv.post("/v1/events?strict=true", [ref])
        self.assertEqual(body["rejected"][0]["code"], "unknown_document", raw)
        self.assertEqual(body["rejected"][0]["field"], "invoice", raw)
        status, body, raw = self.srv.post("/v1/events", [ref])
        self.assertEqual((body["accepted"], body["pending"]), (1, 1), raw)
        # Broken JSON on one NDJSON line keeps the others.
        lines = '{"id":"n1","type":"credit.hold_set","time":"2025-01-01","customer":"A",' \
                '"reason":"x"}\n{"id": "n2", "type": \n' \
                '{"id":"n3","type":"credit.hold_released","time":"2025-01-02","customer":"A",' \
                '"reason":"y"}\n'
        status, body, raw = self.srv.post("/v1/events", lines, "application/x-ndjson")
        self.assertEqual(body["accepted"], 2, raw)
        self.assertEqual(body["rejected"][0]["index"], 1)
        self.assertEqual(body["rejected"][0]["code"], "parse_error")

    def test_duplicates_and_conflicts(self):
        ev = dict(ALL_TYPES[0])
        self.assertEqual(self.srv.post("/v1/events", ev)[1]["accepted"], 1)
        status, body, _ = self.srv.post("/v1/events", ev)
        self.assertEqual((status, body["duplicates"]), (200, 1))
        other = dict(ev, amount="999.00")
        status, body, raw = self.srv.post("/v1/events", other)
        self.assertEqual(status, 409, raw)
        self.assertEqual(body["rejected"][0]["code"], "conflict")
        self.assertEqual(body["rejected"][0]["field"], "id")
        second = dict(ev, id="another-id")
        status, body, raw = self.srv.post("/v1/events", second)
        self.assertEqual(status, 409, raw)
        self.assertEqual(body["rejected"][0]["code"], "document_conflict")

    def test_atomic_batch_is_all_or_nothing(self):
        bad = dict(ALL_TYPES[1], id="bad", time="not a time")
        status, body, raw = self.srv.post("/v1/events?atomic=true", [ALL_TYPES[0], bad])
        self.assertEqual(status, 422, raw)
        self.assertEqual((body["accepted"], body["committed"]), (0, False))
        self.assertEqual(self.srv.get("/healthz")[1]["events"], 0)
        # A store-level rejection rolls back too.
        conflict = [ALL_TYPES[0], dict(ALL_TYPES[0], id="x2")]
        status, body, raw = self.srv.post("/v1/events?atomic=true", conflict)
        self.assertEqual((status, body["accepted"]), (422, 0), raw)
        self.assertEqual(self.srv.get("/healthz")[1]["events"], 0)
        status, body, raw = self.srv.post("/v1/events?atomic=true", ALL_TYPES)
        self.assertEqual((status, body["accepted"], body["committed"]), (200, 23, True), raw)

    def test_out_of_order_arrival(self):
        pay = [{"id": "o1", "type": "payment.applied", "time": "2025-02-03", "payment": "P-9",
                "invoice": "INV-9", "amount": "40.00"},
               {"id": "o2", "type": "payment.received", "time": "2025-02-02", "payment": "P-9",
                "customer": "Z", "amount": "40.00", "method": "card"}]
        status, body, raw = self.srv.post("/v1/events", pay)
        self.assertEqual((body["accepted"], body["pending"]), (2, 1), raw)
        inv = {"id": "o3", "type": "invoice.issued", "time": "2025-02-01", "invoice": "INV-9",
               "customer": "Z", "amount": "40.00", "due_date": "2025-03-01"}
        status, body, raw = self.srv.post("/v1/events", inv)
        self.assertEqual((body["accepted"], body["released"]), (1, 1), raw)
        self.assertEqual(self.srv.get("/healthz")[1]["pending"], 0)

    def test_filters_paging_and_persistence(self):
        self.srv.post("/v1/events", ALL_TYPES)
        acme = all_events(self.srv, "&customer=ACME")
        ids = {e["id"] for e in acme}
        self.assertTrue({"e01", "e04", "e05", "e11", "e12", "e13", "e14", "e15", "e22"} <= ids, ids)
        self.assertNotIn("e16", ids)
        bills = all_events(self.srv, "&type=bill.rejected")
        self.assertEqual([e["id"] for e in bills], ["e17"])
        march = all_events(self.srv, "&from=2025-03-05&to=2025-03-07")
        self.assertEqual([e["id"] for e in march], ["e09", "e15", "e16", "e17"])
        vendor = all_events(self.srv, "&vendor=M%C3%BCller%20GmbH")
        # A party's events include those filed under its documents, and its profile.
        self.assertEqual([e["id"] for e in vendor], ["e23", "e16", "e17", "e18", "e19", "e20"])
        status, _, raw = self.srv.get("/v1/events?format=csv&type=bill.received")
        lines = raw.decode().strip().split("\r\n")
        self.assertEqual(len(lines), 2)
        self.assertTrue(lines[0].startswith("id,type,time,"))
        self.assertIn("Müller GmbH", lines[1])
        before = all_events(self.srv)
        self.restart()
        self.assertEqual(all_events(self.srv), before)


class Limits(ServerTest):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kpid-it-")
        self.data = os.path.join(self.tmp, "data")
        cfg = os.path.join(self.tmp, "kpid.json")
        with open(cfg, "w") as f:
            json.dump({"max_body_bytes": 4096}, f)
        self.server_args = ["--config", cfg]
        self.srv = Server(self.data, self.server_args).start()

    def test_body_too_large(self):
        big = ndjson([dict(ALL_TYPES[11], id="h%d" % i) for i in range(100)])
        status, body, raw = self.srv.post("/v1/events", big, "application/x-ndjson")
        self.assertEqual(status, 413, raw)
        self.assertEqual(body["error"]["code"], "too_large")
        self.assertEqual(self.srv.get("/healthz")[1]["events"], 0)


if __name__ == "__main__":
    kpidtest.parse_args()
    import unittest
    unittest.main(verbosity=2)
