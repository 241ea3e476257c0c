#!/usr/bin/env python3
"""Convert IBM's Accounts Receivable sample (ar_ibm.csv) to kpid events.

Usage: tools/ar_ibm_to_events.py tests/data/ar_ibm.csv > ar_ibm.ndjson
       build/release/cmd/kpid ingest --data ./kpid-data ar_ibm.ndjson

Each CSV row is one invoice settled in full on SettledDate. It becomes:
  invoice.issued    on InvoiceDate (due_date DueDate, business unit
                    "country-<countryCode>", customer customerID)
  payment.received  on SettledDate (method eft for electronic billing,
                    check for paper), one payment per invoice
  payment.applied   on SettledDate, the full amount
  dispute.opened    on InvoiceDate and dispute.resolved on SettledDate,
                    when Disputed is Yes (the data has no dispute dates;
                    the dispute spans the invoice's life)
The sample carries no currency; amounts are taken as USD. Dates are
US M/D/YYYY. Standard library only.
"""
import csv
import json
import sys


def iso(us_date):
    m, d, y = us_date.strip().split("/")
    return "%04d-%02d-%02d" % (int(y), int(m), int(d))


def events(rows):
    for r in rows:
        inv = r["invoiceNumber"].strip()
        cust = r["customerID"].strip()
        bu = "country-" + r["countryCode"].strip()
        issued, due, settled = iso(r["InvoiceDate"]), iso(r["DueDate"]), iso(r["SettledDate"])
        amount = "%.2f" % float(r["InvoiceAmount"])  # the file has at most 2 decimals
        yield {"id": "ibm-inv-" + inv, "type": "invoice.issued", "time": issued,
               "invoice": inv, "customer": cust, "business_unit": bu, "currency": "USD",
               "amount": amount, "due_date": due,
               "paperless": r["PaperlessBill"].strip()}
        if r["Disputed"].strip() == "Yes":
            yield {"id": "ibm-dsp-" + inv, "type": "dispute.opened", "time": issued,
                   "dispute": "D-" + inv, "invoice": inv, "reason": "disputed (sample data)"}
            yield {"id": "ibm-dsr-" + inv, "type": "dispute.resolved", "time": settled,
                   "dispute": "D-" + inv, "invoice": inv, "resolution": "settled"}
        method = "eft" if r["PaperlessBill"].strip() == "Electronic" else "check"
        yield {"id": "ibm-pay-" + inv, "type": "payment.received", "time": settled,
               "payment": "P-" + inv, "customer": cust, "business_unit": bu,
               "currency": "USD", "amount": amount, "method": method}
        yield {"id": "ibm-app-" + inv, "type": "payment.applied", "time": settled,
               "payment": "P-" + inv, "invoice": inv, "amount": amount}


def main():
    if len(sys.argv) != 2:
        sys.stderr.write(__doc__)
        return 2
    with open(sys.argv[1], newline="", encoding="utf-8") as f:
        for ev in events(csv.DictReader(f)):
            sys.stdout.write(json.dumps(ev, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
