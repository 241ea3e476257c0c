"""Every KPI answer a server gives about one book, for tests that compare two
stores holding the same events (an upgraded store and a fresh ingest; the
same book ingested in different orders; a rebuild).

The questions are derived from the book itself (its currencies, units,
customers, vendors and its day range), so a comparison covers every slice
the book has rather than a hand-picked few.
"""
import json

SLAS = ("ap-processing", "billing", "cash-application", "inquiry-resolution",
        "dispute-resolution")
DSO_METHODS = ("standard", "countback", "best_possible", "add")


def book_facts(lines):
    """Currencies, units, customers, vendors, first and last day of NDJSON lines."""
    cur, units, custs, vends, days, books = set(), set(), set(), set(), [], set()
    for line in lines:
        if not line.strip():
            continue
        e = json.loads(line)
        if e.get("currency"):
            cur.add(e["currency"])
        if e.get("business_unit"):
            units.add(e["business_unit"])
            if e.get("currency"):
                books.add((e["currency"], e["business_unit"]))
        if e.get("customer"):
            custs.add(e["customer"])
        if e.get("vendor"):
            vends.add(e["vendor"])
        days.append(e["time"][:10])
    return {"currencies": sorted(cur), "units": sorted(units), "customers": sorted(custs),
            "vendors": sorted(vends), "first": min(days), "last": max(days),
            "books": books}


def paths(f):
    """The requests: aging (whole book, by unit, by customer, both bases, at a
    few days), the payables aging (by unit, by vendor) and cash requirements,
    every DSO method, CEI, DPO (and per vendor), roll-forward,
    every SLA, FTQ of invoices and bills, in every currency and unit with
    documents in it (SLA and FTQ: every unit, all currencies); every
    customer's profile; the event count."""
    first, last = f["first"], f["last"]
    rng = "from=%s&to=%s" % (first, last)
    mid = "%s-%s" % (first[:4], "06-30")
    out = ["/v1/meta"]
    for c in f["currencies"]:
        # A unit only in the currencies it has documents in: any other pair
        # is a 404 naming the unit's books, not a figure.
        scopes = ["currency=" + c] + ["currency=%s&business_unit=%s" % (c, u) for u in f["units"]
                                      if (c, u) in f["books"]]
        for s in scopes:
            for day in (mid, last):
                for basis in ("due_date", "invoice_date"):
                    for g in ("none", "business_unit", "customer"):
                        out.append("/v1/aging?%s&as_of=%s&basis=%s&group_by=%s"
                                   % (s, day, basis, g))
            for m in DSO_METHODS:
                out.append("/v1/dso?%s&%s&interval=month&method=%s" % (s, rng, m))
            out.append("/v1/cei?%s&%s&interval=month" % (s, rng))
            out.append("/v1/dpo?%s&%s&interval=quarter" % (s, rng))
            out.append("/v1/rollforward?%s&%s&interval=month" % (s, rng))
            # Payables: the bills' open amounts (store format 4).
            for day in (mid, last):
                for basis in ("due_date", "bill_date"):
                    for g in ("none", "business_unit", "vendor"):
                        out.append("/v1/payables/aging?%s&as_of=%s&basis=%s&group_by=%s"
                                   % (s, day, basis, g))
                out.append("/v1/payables/cash-requirements?%s&as_of=%s&weeks=8" % (s, day))
        for v in f["vendors"][:5]:
            out.append("/v1/dpo?currency=%s&vendor=%s&%s&interval=quarter" % (c, v, rng))
        for cu in f["customers"][:5]:
            out.append("/v1/dso?currency=%s&customer=%s&%s&interval=quarter" % (c, cu, rng))
    for u in [None] + f["units"]:
        s = "business_unit=%s&" % u if u else ""
        for sla in SLAS:
            out.append("/v1/sla?%ssla=%s&%s&interval=month" % (s, sla, rng))
        for kind in ("invoice", "bill"):
            out.append("/v1/ftq?%skind=%s&%s&interval=month" % (s, kind, rng))
    for cu in f["customers"]:
        out.append("/v1/customers/" + cu)
    return out


# Lists of names whose order is the order in which the store first saw each
# name (interned ids): the same book ingested in another order lists the
# same names in another order. Nothing documents an order for them.
NAME_LISTS = ("business_units", "currencies")


def name_order_free(raw):
    """The answer with its name lists and aging groups sorted by name: what
    must not depend on arrival once that order is set aside."""
    try:
        j = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(j, dict):
        for k in NAME_LISTS:
            if isinstance(j.get(k), list):
                j[k] = sorted(j[k])
        if isinstance(j.get("groups"), list):
            j["groups"] = sorted(j["groups"], key=lambda g: json.dumps(g, sort_keys=True))
    return json.dumps(j, sort_keys=True).encode()


def answers(srv, ps, arrival_order_free=False):
    """path -> (status, body) from a running kpidtest.Server, plus the event
    and pending counts (the event listing's order within one second follows
    arrival, so only its size is compared). arrival_order_free: bodies
    through name_order_free()."""
    out = {}
    for p in ps:
        st, _, raw = srv.get(p)
        out[p] = (st, name_order_free(raw) if arrival_order_free else raw)
    st, h, _ = srv.get("/healthz")
    out["/healthz events"] = (st, (h or {}).get("events"), (h or {}).get("pending"))
    return out


def differences(a, b, limit=5):
    """The first `limit` requests whose answers differ, as text."""
    diff = []
    for p in a:
        if a[p] != b.get(p):
            diff.append("%s\n    %r\n    %r" % (p, str(a[p])[:400], str(b.get(p))[:400]))
            if len(diff) >= limit:
                break
    return diff
