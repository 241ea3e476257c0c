"""The analyst's baseline: the same events in SQLite, the same KPIs in SQL.

Without kpid, an analyst loads the ERP export into a database and writes
SQL. This module is that analyst, done competently and honestly:

  * one `events` table with typed columns: amounts as INTEGER minor units
    of the event's currency (the document's when the event names none),
    instants as INTEGER UTC seconds, days as INTEGER day numbers in the
    reporting zone (UTC, kpid's default), the due day of invoices and bills
    resolved once at load (`due_date` wins over `terms_days`);
  * the indexes a DBA would add: by type and day, by invoice, customer,
    business unit, payment and bill; ANALYZE after loading;
  * every KPI computed in SQL straight from the events with docs/kpi.md's
    conventions (a movement takes effect at max(its day, the invoice's
    issue day) and counts under its invoice's unit and customer; business
    days from a calendar table), ratios rounded in SQL with integer
    arithmetic, half away from zero to 2 decimals, as kpid prints them.

Python only binds parameters, formats integers as decimal strings and
compares. `Query.check` compares a kpid JSON answer with the SQL one field
by field; `first_difference` says where they differ.

Used by bench/bench.py (timings) and tests/integration/test_bench_sql.py
(the answers, at 100k invoices, without any timing).
"""
import datetime
import json
import os
import sqlite3
from decimal import Decimal

EPOCH = datetime.date(1970, 1, 1)
DIGITS = {"JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3, "JOD": 3, "OMR": 3, "TND": 3, "IQD": 3,
          "LYD": 3, "CLP": 0, "ISK": 0, "VND": 0}
EDGES = (30, 60, 90, 120)
LABELS = ("current", "1-30", "31-60", "61-90", "91-120", "121+")
MOVES = "('invoice.adjusted','payment.applied','credit_note.issued','invoice.written_off')"

COLUMNS = ("id", "type", "ts", "day", "business_unit", "customer", "vendor", "currency",
           "amount", "invoice", "payment", "credit_note", "bill", "dispute", "inquiry",
           "due_day", "billing_due", "result", "method", "reason")

SCHEMA = """
CREATE TABLE events (
  id            TEXT PRIMARY KEY,
  type          TEXT NOT NULL,
  ts            INTEGER NOT NULL,   -- UTC seconds
  day           INTEGER NOT NULL,   -- day number (1970-01-01 = 0) in the reporting zone
  business_unit TEXT,
  customer      TEXT,
  vendor        TEXT,
  currency      TEXT,               -- resolved: the event's, else its document's, else base
  amount        INTEGER,            -- minor units of currency
  invoice       TEXT,
  payment       TEXT,
  credit_note   TEXT,
  bill          TEXT,
  dispute       TEXT,
  inquiry       TEXT,
  due_day       INTEGER,            -- invoice.issued / bill.received
  billing_due   INTEGER,
  result        TEXT,
  method        TEXT,
  reason        TEXT
);
"""

INDEXES = (
    "CREATE INDEX ev_type_day ON events(type, day)",
    "CREATE INDEX ev_invoice ON events(invoice, type)",
    "CREATE INDEX ev_customer ON events(customer, type)",
    "CREATE INDEX ev_unit ON events(business_unit, type, day)",
    "CREATE INDEX ev_payment ON events(payment, type)",
    "CREATE INDEX ev_bill ON events(bill, type)",
)

# A calendar table for business days: bno = business days (Mon-Fri, no
# holidays configured) on or before `day`.
CALENDAR = """
CREATE TABLE calendar (day INTEGER PRIMARY KEY, weekday INTEGER NOT NULL, bno INTEGER NOT NULL);
CREATE TABLE fx (currency TEXT NOT NULL, day INTEGER NOT NULL, rate INTEGER NOT NULL,
                 PRIMARY KEY (currency, day));
"""


# ---- loading -----------------------------------------------------------------

def _day_of_date(s, cache={}):
    d = cache.get(s)
    if d is None:
        d = (datetime.date.fromisoformat(s) - EPOCH).days
        cache[s] = d
    return d


def parse_time(t):
    """(UTC seconds, UTC day) of an RFC 3339 time or a plain date."""
    day = _day_of_date(t[:10])
    if len(t) == 10:
        return day * 86400, day
    secs = day * 86400 + int(t[11:13]) * 3600 + int(t[14:16]) * 60 + int(t[17:19])
    rest = t[19:]
    if rest.startswith("."):
        k = 1
        while k < len(rest) and rest[k].isdigit():
            k += 1
        rest = rest[k:]
    if rest not in ("Z", "z"):
        sign = -1 if rest[0] == "-" else 1
        secs -= sign * (int(rest[1:3]) * 3600 + int(rest[4:6]) * 60)
    return secs, secs // 86400


def to_minor(v, digits):
    s = str(v)
    neg = s.startswith("-")
    if neg or s.startswith("+"):
        s = s[1:]
    whole, _, frac = s.partition(".")
    frac = frac.ljust(digits, "0")
    if len(frac) > digits:
        raise ValueError("amount %r has more than %d decimals" % (v, digits))
    m = int(whole or "0") * 10 ** digits + int(frac or "0")
    return -m if neg else m


DOC_OF = {"invoice.issued": "invoice", "credit_note.issued": "credit_note",
          "payment.received": "payment", "bill.received": "bill"}


def rows(lines, base="USD", fx=None):
    """Typed rows of NDJSON event lines (the analyst's ETL step)."""
    # One dict per kind of document, keyed by its id, the currency string
    # shared: at 10M invoices this is the load's one big structure (about
    # 25M documents), so no tuple per key.
    doc_cur = {k: {} for k in set(DOC_OF.values())}
    curs = {}
    for line in lines:
        if not line.strip():
            continue
        e = json.loads(line)
        t = e["type"]
        if t == "fx.rate":
            # Exchange rates go to their own table (fx: currency, day, rate in
            # units of 10^-10); the later one of a day stands, as in kpid.
            if fx is not None:
                _, rday = parse_time(e.get("date") or e["time"])
                fx.append((e["currency"], rday, int(Decimal(e["rate"]) * 10 ** 10)))
            continue
        ts, day = parse_time(e["time"])
        cur = e.get("currency")
        if cur is None:
            for k in ("invoice", "payment", "bill"):
                if k in e and e[k] in doc_cur[k]:
                    cur = doc_cur[k][e[k]]
                    break
            else:
                cur = base
        if t in DOC_OF:
            cur = curs.setdefault(cur, cur)
            doc_cur[DOC_OF[t]][e[DOC_OF[t]]] = cur
        amount = e.get("amount")
        if amount is not None:
            amount = to_minor(amount, DIGITS.get(cur, 2))
        due = None
        if t in ("invoice.issued", "bill.received"):
            if "due_date" in e:
                due = _day_of_date(e["due_date"])
            elif "terms_days" in e:
                due = day + int(e["terms_days"])
        bdue = e.get("billing_due")
        yield (e["id"], t, ts, day, e.get("business_unit"), e.get("customer"), e.get("vendor"),
               cur, amount, e.get("invoice"), e.get("payment"), e.get("credit_note"),
               e.get("bill"), e.get("dispute"), e.get("inquiry"), due,
               _day_of_date(bdue) if bdue else None, e.get("result"), e.get("method"),
               e.get("reason"))


def connect(path):
    db = sqlite3.connect(path)
    db.execute("PRAGMA cache_size=-262144")      # 256 MiB page cache
    db.execute("PRAGMA mmap_size=4294967296")
    db.execute("PRAGMA temp_store=MEMORY")
    return db


def load(db, ndjson_path, base="USD", progress=None):
    """Create the schema, load every event, add the indexes and the calendar.
    Returns the number of events."""
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    db.executescript(SCHEMA + CALENDAR)
    n = 0
    ins = "INSERT INTO events VALUES (%s)" % ",".join("?" * len(COLUMNS))
    fx = []
    with open(ndjson_path, encoding="utf-8") as f:
        batch = []
        for r in rows(f, base, fx):
            batch.append(r)
            if len(batch) == 50000:
                db.executemany(ins, batch)
                n += len(batch)
                batch = []
                if progress:
                    progress(n)
        db.executemany(ins, batch)
        n += len(batch)
    db.executemany("INSERT OR REPLACE INTO fx VALUES (?,?,?)", fx)
    for ix in INDEXES:
        db.execute(ix)
    lo, hi = db.execute("SELECT min(day), max(max(day), coalesce(max(due_day), 0)) "
                        "FROM events").fetchone()
    cal, bno = [], 0
    for d in range(lo - 400, hi + 800):
        wd = (d + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        if wd < 5:
            bno += 1
        cal.append((d, wd, bno))
    db.executemany("INSERT INTO calendar VALUES (?,?,?)", cal)
    db.execute("ANALYZE")
    db.commit()
    db.execute("PRAGMA synchronous=FULL")
    return n


# ---- SQL ---------------------------------------------------------------------

def rounded(num, den):
    """SQL for num/den rounded half away from zero to integer hundredths
    (NULL when den = 0); integers only, as kpid's kpi_ratio_round."""
    return ("(CASE WHEN ({d}) = 0 THEN NULL ELSE "
            "(CASE WHEN (({n}) < 0) = (({d}) < 0) THEN 1 ELSE -1 END) * "
            "((abs({n}) * 200 / abs({d}) + 1) / 2) END)").format(n=num, d=den)


# Invoices of currency :cur and their open-amount movements, one row per
# change: the issue (+amount) and every movement at its effective day.
OPEN_CTE = """
inv AS MATERIALIZED (
  SELECT invoice, day AS issue, due_day, amount, coalesce(business_unit, 'default') AS bu,
         customer
  FROM events WHERE type = 'invoice.issued' AND currency = :cur),
mv AS MATERIALIZED (
  SELECT i.invoice, i.bu, i.customer, i.due_day, i.issue AS d, 'invoice.issued' AS type,
         i.amount AS delta
  FROM inv i
  UNION ALL
  SELECT i.invoice, i.bu, i.customer, i.due_day, max(e.day, i.issue) AS d, e.type,
         CASE e.type WHEN 'invoice.adjusted' THEN e.amount ELSE -e.amount END AS delta
  FROM events e JOIN inv i ON i.invoice = e.invoice
  WHERE e.type IN """ + MOVES + """)
"""

# Payment side (unapplied cash) and unallocated credit notes of :cur.
CASH_CTE = """
pay AS MATERIALIZED (
  SELECT e.day AS d, CASE e.type WHEN 'payment.received' THEN e.amount ELSE -e.amount END AS x
  FROM events e
  WHERE e.type IN ('payment.received', 'payment.applied', 'payment.refunded')
    AND e.payment IN (SELECT payment FROM events
                      WHERE type = 'payment.received' AND currency = :cur)),
unalloc AS MATERIALIZED (
  SELECT day AS d, amount AS x FROM events
  WHERE type = 'credit_note.issued' AND invoice IS NULL AND currency = :cur)
"""


def bucket_sql(late):
    c = "CASE WHEN {l} <= 0 THEN 0".format(l=late)
    for k, e in enumerate(EDGES):
        c += " WHEN {l} <= {e} THEN {k}".format(l=late, e=e, k=k + 1)
    return c + " ELSE %d END" % (len(EDGES) + 1)


AGING_BU_SQL = "WITH " + OPEN_CTE + """,
open AS (SELECT invoice, bu, due_day, sum(delta) AS amt FROM mv WHERE d <= :d
         GROUP BY invoice HAVING amt != 0)
SELECT bu, """ + bucket_sql(":d - due_day") + """ AS bucket, sum(amt), count(*)
FROM open GROUP BY bu, bucket
"""

# The same per customer (GET /v1/aging?group_by=customer).
AGING_CUSTOMER_SQL = "WITH " + OPEN_CTE + """,
open AS (SELECT invoice, customer, due_day, sum(delta) AS amt FROM mv WHERE d <= :d
         GROUP BY invoice HAVING amt != 0)
SELECT customer, """ + bucket_sql(":d - due_day") + """ AS bucket, sum(amt), count(*)
FROM open GROUP BY customer, bucket
"""

CASH_AT_SQL = "WITH " + CASH_CTE + """
SELECT (SELECT coalesce(sum(x), 0) FROM pay WHERE d <= :d),
       (SELECT coalesce(sum(x), 0) FROM unalloc WHERE d <= :d)
"""


# Payables: bills of currency :cur received by :d, each one's open amount
# at :d (received less every payment counted from max(its day, the bill's
# day), as DPO's AP); rejected bills are still owed (docs/kpi.md, "Payables").
AP_OPEN_CTE = """
bills AS MATERIALIZED (
  SELECT bill, day, due_day, amount, coalesce(business_unit, 'default') AS bu
  FROM events WHERE type = 'bill.received' AND currency = :cur AND day <= :d),
paid AS (
  SELECT e.bill, sum(e.amount) AS x FROM events e JOIN bills b ON b.bill = e.bill
  WHERE e.type = 'bill.paid' AND max(e.day, b.day) <= :d GROUP BY e.bill),
open AS (
  SELECT b.bu, b.due_day, b.amount - coalesce(p.x, 0) AS amt
  FROM bills b LEFT JOIN paid p ON p.bill = b.bill)
"""

AP_AGING_BU_SQL = "WITH " + AP_OPEN_CTE + """
SELECT bu, """ + bucket_sql(":d - due_day") + """ AS bucket, sum(amt), count(*)
FROM open WHERE amt != 0 GROUP BY bu, bucket
"""


def ap_cashreq_sql(lines):
    """Open bills by line: lines are (k, first due day, last due day)."""
    vals = ",".join("(%d,%d,%d)" % x for x in lines)
    return ("WITH " + AP_OPEN_CTE + ", lines(k, lo, hi) AS (VALUES " + vals + """)
SELECT l.k, sum(o.amt), count(*) FROM open o JOIN lines l ON o.due_day BETWEEN l.lo AND l.hi
WHERE o.amt != 0 GROUP BY l.k""")


def periods_cte(periods):
    vals = ",".join("(%d,%d)" % (s, e) for s, e in periods)
    return "p(start, stop) AS (VALUES %s)" % vals


def ar_daily_cte():
    # AR as the running sum of daily changes, with the day's flows by kind.
    return """
daily AS (
  SELECT d, sum(delta) AS chg,
         sum(CASE WHEN type = 'invoice.issued' THEN delta ELSE 0 END) AS sales,
         sum(CASE WHEN type = 'invoice.adjusted' THEN delta ELSE 0 END) AS adj,
         sum(CASE WHEN type = 'payment.applied' THEN -delta ELSE 0 END) AS applied,
         sum(CASE WHEN type = 'credit_note.issued' THEN -delta ELSE 0 END) AS credits,
         sum(CASE WHEN type = 'invoice.written_off' THEN -delta ELSE 0 END) AS woffs
  FROM mv GROUP BY d),
cum AS MATERIALIZED (
  SELECT d, sum(chg) OVER w AS ar, sum(sales) OVER w AS sales, sum(adj) OVER w AS adj,
         sum(applied) OVER w AS applied, sum(credits) OVER w AS credits,
         sum(woffs) OVER w AS woffs
  FROM daily WINDOW w AS (ORDER BY d)),
ends AS (
  SELECT p.start, p.stop,
    coalesce((SELECT ar FROM cum WHERE d <= p.stop ORDER BY d DESC LIMIT 1), 0) AS ar,
    coalesce((SELECT ar FROM cum WHERE d < p.start ORDER BY d DESC LIMIT 1), 0) AS ar0,
    coalesce((SELECT sales FROM cum WHERE d <= p.stop ORDER BY d DESC LIMIT 1), 0)
      - coalesce((SELECT sales FROM cum WHERE d < p.start ORDER BY d DESC LIMIT 1), 0)
      AS sales
  FROM p)
"""


def dso_sql(periods):
    return ("WITH " + OPEN_CTE + "," + periods_cte(periods) + "," + ar_daily_cte() +
            "SELECT start, stop, ar, sales, stop - start + 1, " +
            rounded("ar * (stop - start + 1)", "sales") + " FROM ends ORDER BY start")


def cei_sql(periods):
    cur_ar = ("(SELECT coalesce(sum(delta), 0) FROM mv "
              "WHERE mv.d <= ends.stop AND mv.due_day >= ends.stop)")
    return ("WITH " + OPEN_CTE + "," + periods_cte(periods) + "," + ar_daily_cte() +
            ", c AS (SELECT start, stop, ar0, sales, ar, " + cur_ar + " AS cur FROM ends) "
            "SELECT start, stop, ar0, sales, ar, cur, " +
            rounded("(ar0 + sales - ar) * 100", "ar0 + sales - cur") + " FROM c ORDER BY start")


def rollforward_sql(periods):
    def delta(col):
        return ("coalesce((SELECT {c} FROM cum WHERE d <= p.stop ORDER BY d DESC LIMIT 1), 0) - "
                "coalesce((SELECT {c} FROM cum WHERE d < p.start ORDER BY d DESC LIMIT 1), 0)"
                ).format(c=col)
    return ("WITH " + OPEN_CTE + "," + CASH_CTE + "," + periods_cte(periods) + "," +
            ar_daily_cte() + """
SELECT p.start, p.stop,
  coalesce((SELECT ar FROM cum WHERE d < p.start ORDER BY d DESC LIMIT 1), 0),
  """ + delta("sales") + "," + delta("adj") + "," + delta("applied") + "," +
            delta("credits") + "," + delta("woffs") + """,
  (SELECT coalesce(sum(amt), 0) FROM (SELECT sum(delta) AS amt FROM mv WHERE d <= p.stop
                                      GROUP BY invoice)),
  (SELECT count(*) FROM (SELECT sum(delta) AS amt FROM mv WHERE d <= p.stop
                         GROUP BY invoice HAVING amt != 0)),
  (SELECT coalesce(sum(x), 0) FROM pay WHERE d <= p.stop),
  (SELECT coalesce(sum(x), 0) FROM unalloc WHERE d <= p.stop)
FROM p ORDER BY p.start
""")


def dpo_sql(periods):
    # AP = bills received - bills paid (a payment counts from max(its day,
    # the bill's day)), purchases = bills received in the period.
    return ("WITH " + periods_cte(periods) + """,
bills AS MATERIALIZED (SELECT bill, day, amount FROM events
                       WHERE type = 'bill.received' AND currency = :cur),
ap AS MATERIALIZED (
  SELECT day AS d, amount AS x, amount AS bought FROM bills
  UNION ALL
  SELECT max(e.day, b.day), -e.amount, 0 FROM events e JOIN bills b ON b.bill = e.bill
  WHERE e.type = 'bill.paid'),
daily AS (SELECT d, sum(x) AS x, sum(bought) AS bought FROM ap GROUP BY d),
cum AS MATERIALIZED (SELECT d, sum(x) OVER w AS ap, sum(bought) OVER w AS bought
                     FROM daily WINDOW w AS (ORDER BY d)),
ends AS (
  SELECT p.start, p.stop,
    coalesce((SELECT ap FROM cum WHERE d <= p.stop ORDER BY d DESC LIMIT 1), 0) AS ap,
    coalesce((SELECT bought FROM cum WHERE d <= p.stop ORDER BY d DESC LIMIT 1), 0)
      - coalesce((SELECT bought FROM cum WHERE d < p.start ORDER BY d DESC LIMIT 1), 0)
      AS purchases
  FROM p)
SELECT start, stop, ap, purchases, stop - start + 1, """ +
            rounded("ap * (stop - start + 1)", "purchases") + " FROM ends ORDER BY start")


def sla_ap_sql(periods, target=3):
    # ap-processing: bill.received -> first bill.processed, business days
    # after the start day up to and including the stop day <= target.
    return ("WITH " + periods_cte(periods) + """,
st AS (SELECT bill, min(day) AS sd FROM events WHERE type = 'bill.received' GROUP BY bill),
sp AS (SELECT bill, min(day) AS ed FROM events WHERE type = 'bill.processed' GROUP BY bill),
items AS MATERIALIZED (
  SELECT st.bill, st.sd, sp.ed, cs.bno AS sbno,
         (SELECT ce.bno FROM calendar ce WHERE ce.day = sp.ed) - cs.bno AS took
  FROM st LEFT JOIN sp ON sp.bill = st.bill JOIN calendar cs ON cs.day = st.sd),
agg AS (
  SELECT p.start, p.stop,
    (SELECT count(*) FROM items WHERE ed BETWEEN p.start AND p.stop AND took <= :target) AS met,
    (SELECT count(*) FROM items WHERE ed BETWEEN p.start AND p.stop) AS completed,
    (SELECT count(*) FROM items, calendar c
      WHERE c.day = p.stop AND sd <= p.stop AND (ed IS NULL OR ed > p.stop)
        AND c.bno - sbno > :target) AS breached
  FROM p)
SELECT start, stop, met, completed, breached, """ + rounded("met * 100", "completed") +
            " FROM agg ORDER BY start"), {"target": target}


def ftq_invoice_sql(periods):
    return ("WITH " + periods_cte(periods) + """,
first AS MATERIALIZED (
  SELECT invoice, day, result FROM (
    SELECT invoice, day, result,
           row_number() OVER (PARTITION BY invoice ORDER BY ts, id) AS rn
    FROM events WHERE type = 'invoice.reviewed')
  WHERE rn = 1),
corrected AS MATERIALIZED (
  SELECT DISTINCT invoice FROM events
  WHERE type IN ('invoice.adjusted', 'credit_note.issued') AND invoice IS NOT NULL),
agg AS (
  SELECT p.start, p.stop, count(f.invoice) AS reviewed,
         coalesce(sum(f.result = 'pass' AND f.invoice NOT IN corrected), 0) AS passed
  FROM p LEFT JOIN first f ON f.day BETWEEN p.start AND p.stop
  GROUP BY p.start, p.stop)
SELECT start, stop, passed, reviewed, """ + rounded("passed * 100", "reviewed") +
            " FROM agg ORDER BY start")


CUSTOMER_SQL = {
    # Aging of the customer's invoices in :cur as of :d.
    "aging": """
WITH inv AS (SELECT invoice, day AS issue, due_day, amount FROM events
             WHERE type = 'invoice.issued' AND customer = :cust AND currency = :cur
               AND day <= :d),
open AS (
  SELECT i.due_day, i.amount + coalesce((
      SELECT sum(CASE e.type WHEN 'invoice.adjusted' THEN e.amount ELSE -e.amount END)
      FROM events e WHERE e.invoice = i.invoice AND e.type IN """ + MOVES + """
        AND max(e.day, i.issue) <= :d), 0) AS amt
  FROM inv i)
SELECT """ + bucket_sql(":d - due_day") + """ AS bucket, sum(amt), count(*)
FROM open WHERE amt != 0 GROUP BY bucket
""",
    # Open items in every currency.
    "items": """
WITH inv AS (SELECT invoice, coalesce(business_unit, 'default') AS bu, currency, day AS issue,
                    due_day, amount FROM events
             WHERE type = 'invoice.issued' AND customer = :cust AND day <= :d)
SELECT * FROM (
  SELECT i.invoice, i.bu, i.currency, i.issue, i.due_day, i.amount, i.amount + coalesce((
      SELECT sum(CASE e.type WHEN 'invoice.adjusted' THEN e.amount ELSE -e.amount END)
      FROM events e WHERE e.invoice = i.invoice AND e.type IN """ + MOVES + """
        AND max(e.day, i.issue) <= :d), 0) AS amt
  FROM inv i)
WHERE amt != 0 ORDER BY invoice
""",
    "unapplied": """
SELECT coalesce(sum(CASE e.type WHEN 'payment.received' THEN e.amount ELSE -e.amount END), 0)
FROM events e
WHERE e.type IN ('payment.received', 'payment.applied', 'payment.refunded') AND e.day <= :d
  AND e.payment IN (SELECT payment FROM events WHERE type = 'payment.received'
                    AND customer = :cust AND currency = :cur)
""",
    # Payment habits: every application to the customer's invoices in :cur.
    "habits": """
WITH a AS (
  SELECT e.amount AS amt, e.day - i.day AS dtp, e.day - i.due_day AS dbt
  FROM events i JOIN events e ON e.invoice = i.invoice AND e.type = 'payment.applied'
  WHERE i.type = 'invoice.issued' AND i.customer = :cust AND i.currency = :cur),
s AS (SELECT coalesce(sum(amt), 0) AS n, coalesce(sum(amt * dtp), 0) AS t,
             coalesce(sum(amt * dbt), 0) AS b FROM a)
SELECT n, """ + rounded("t", "n") + ", " + rounded("b", "n") + """ FROM s
""",
    "disputes": """
SELECT o.dispute, o.invoice, (SELECT min(r.day) FROM events r
                              WHERE r.type = 'dispute.resolved' AND r.dispute = o.dispute
                                AND r.day <= :d),
       o.day, o.amount, o.currency
FROM events o JOIN events i ON i.type = 'invoice.issued' AND i.invoice = o.invoice
WHERE o.type = 'dispute.opened' AND i.customer = :cust AND o.day <= :d
ORDER BY o.dispute
""",
}


# ---- formatting ------------------------------------------------------------------

def money(v, cur):
    d = DIGITS.get(cur, 2)
    s = "-" if v < 0 else ""
    v = abs(v)
    if d == 0:
        return s + str(v)
    return "%s%d.%0*d" % (s, v // 10 ** d, d, v % 10 ** d)


def iso(day):
    return (EPOCH + datetime.timedelta(days=day)).isoformat()


def day_num(s):
    return (datetime.date.fromisoformat(s) - EPOCH).days


def hundredths(v):
    """Integer hundredths as kpid's 2-decimal value ("29.47", "-0.13")."""
    if v is None:
        return None
    s = "-" if v < 0 else ""
    v = abs(v)
    return "%s%d.%02d" % (s, v // 100, v % 100)


def value_of(h, reason):
    return {"value": hundredths(h)} if h is not None else {"value": None, "reason": reason}


def canon(x):
    """A kpid JSON answer (parsed with parse_float=Decimal) with every
    number printed to 2 decimals, as the SQL side formats them."""
    if isinstance(x, dict):
        return {k: canon(v) for k, v in x.items()}
    if isinstance(x, list):
        return [canon(v) for v in x]
    if isinstance(x, Decimal):
        return hundredths(int(x.scaleb(2).to_integral_value()))
    return x


def parse_api(body):
    return json.loads(body, parse_float=Decimal)


def month_periods(first, last):
    """Calendar months meeting [first, last] (days), clipped to it."""
    out = []
    d = EPOCH + datetime.timedelta(days=first)
    end = EPOCH + datetime.timedelta(days=last)
    while d <= end:
        nxt = (d.replace(day=1) + datetime.timedelta(days=32)).replace(day=1)
        stop = min(nxt - datetime.timedelta(days=1), end)
        out.append(((d - EPOCH).days, (stop - EPOCH).days))
        d = nxt
    return out


# ---- the queries: one (API path, SQL answer, API answer projection) each ----------

def aging_bu(db, as_of, cur="USD"):
    d = day_num(as_of)
    groups = {}
    for bu, b, amt, cnt in db.execute(AGING_BU_SQL, {"cur": cur, "d": d}):
        g = groups.setdefault(bu, [[0, 0] for _ in LABELS])
        g[b][0] += amt
        g[b][1] += cnt
    unapplied, unalloc = db.execute(CASH_AT_SQL, {"cur": cur, "d": d}).fetchone()
    total = [[0, 0] for _ in LABELS]
    for g in groups.values():
        for k in range(len(LABELS)):
            total[k][0] += g[k][0]
            total[k][1] += g[k][1]

    def render(bk):
        return {"buckets": [{"label": LABELS[k], "amount": money(a, cur), "count": c}
                            for k, (a, c) in enumerate(bk)],
                "total": {"amount": money(sum(a for a, _ in bk), cur),
                          "count": sum(c for _, c in bk)}}
    out = {"as_of": as_of, "basis": "due_date", "currency": cur}
    out.update(render(total))
    out["unapplied_cash"] = money(unapplied, cur)
    out["unallocated_credits"] = money(unalloc, cur)
    out["group_by"] = "business_unit"
    out["groups"] = sorted(({"key": k, **render(v)} for k, v in groups.items()
                            if any(a or c for a, c in v)), key=lambda g: g["key"])
    return out


def ap_aging_bu(db, as_of, cur="USD"):
    """GET /v1/payables/aging?as_of&group_by=business_unit&currency=cur."""
    groups = {}
    for bu, b, amt, cnt in db.execute(AP_AGING_BU_SQL, {"cur": cur, "d": day_num(as_of)}):
        g = groups.setdefault(bu, [[0, 0] for _ in LABELS])
        g[b][0] += amt
        g[b][1] += cnt
    total = [[sum(g[k][0] for g in groups.values()), sum(g[k][1] for g in groups.values())]
             for k in range(len(LABELS))]

    def render(bk):
        return {"buckets": [{"label": LABELS[k], "amount": money(a, cur), "count": c}
                            for k, (a, c) in enumerate(bk)],
                "total": {"amount": money(sum(a for a, _ in bk), cur),
                          "count": sum(c for _, c in bk)}}
    out = {"as_of": as_of, "basis": "due_date", "currency": cur, **render(total),
           "group_by": "business_unit"}
    out["groups"] = sorted(({"key": k, **render(v)} for k, v in groups.items()
                            if any(a or c for a, c in v)), key=lambda g: g["key"])
    return out


def ap_cashreq(db, as_of, weeks, cur="USD"):
    """GET /v1/payables/cash-requirements?as_of&weeks&currency=cur: overdue
    (due before as_of), each week from as_of's Monday (the first from
    as_of), later."""
    d = day_num(as_of)
    monday = d - (d + 3) % 7  # 1970-01-01 was a Thursday
    lo, hi = -(2 ** 31), 2 ** 31 - 1
    lines = [(0, lo, d - 1)]
    lines += [(k + 1, d if k == 0 else monday + 7 * k, monday + 7 * k + 6) for k in range(weeks)]
    lines.append((weeks + 1, monday + 7 * weeks, hi))
    got = {k: (a, c) for k, a, c in db.execute(ap_cashreq_sql(lines), {"cur": cur, "d": d})}

    def line(k, first, last):
        a, c = got.get(k, (0, 0))
        return {"from": iso(first) if first != lo else None,
                "to": iso(last) if last != hi else None, "amount": money(a, cur), "count": c}
    out = [line(*x) for x in lines]
    return {"as_of": as_of, "currency": cur, "weeks": weeks, "overdue": out[0],
            "due": out[1:-1], "later": out[-1],
            "total": {"amount": money(sum(a for a, _ in got.values()), cur),
                      "count": sum(c for _, c in got.values())}}


def fx_convert(minor, cur, rate, base):
    """minor units of cur at rate (10^-10 units of base per unit) into base,
    rounded once, half away from zero: kpid's rule (kpi_fx.h)."""
    num = minor * rate * 10 ** DIGITS.get(base, 2)
    den = 10 ** 10 * 10 ** DIGITS.get(cur, 2)
    q, r = divmod(abs(num), den)
    if 2 * r >= den:
        q += 1
    return q if num >= 0 else -q


def rate_text(rate):
    s = "%d.%010d" % divmod(rate, 10 ** 10)
    return s.rstrip("0").rstrip(".")


def aging_all(db, as_of, base="USD", stale_days=7):
    """Every book's aging by unit converted into base at its rate for as_of
    (the latest on or before it): each book's bucket converted once, the
    consolidated figures the sums (docs/kpi.md, "Reporting currency")."""
    d = day_num(as_of)
    curs = [c for (c,) in db.execute("SELECT DISTINCT currency FROM events WHERE currency "
                                      "IS NOT NULL ORDER BY currency")]
    total = [[0, 0] for _ in LABELS]
    groups, books = {}, []
    unapplied = unalloc = 0
    for c in curs:
        a = aging_bu(db, as_of, c)
        if (a["total"]["amount"].strip("0.") == "" and a["total"]["count"] == 0
                and a["unapplied_cash"].strip("0.-") == ""
                and a["unallocated_credits"].strip("0.-") == ""):
            continue
        if c == base:
            rate, rday = 10 ** 10, None
        else:
            row = db.execute("SELECT rate, day FROM fx WHERE currency = :c AND day <= :d "
                             "ORDER BY day DESC LIMIT 1", {"c": c, "d": d}).fetchone()
            if row is None:
                raise ValueError("no rate for %s on %s" % (c, as_of))
            rate, rday = row
        dg = DIGITS.get(c, 2)

        def conv(s):
            return fx_convert(to_minor(s, dg), c, rate, base)
        for k, bk in enumerate(a["buckets"]):
            total[k][0] += conv(bk["amount"])
            total[k][1] += bk["count"]
        for g in a["groups"]:
            acc = groups.setdefault(g["key"], [[0, 0] for _ in LABELS])
            for k, bk in enumerate(g["buckets"]):
                acc[k][0] += conv(bk["amount"])
                acc[k][1] += bk["count"]
        unapplied += conv(a["unapplied_cash"])
        unalloc += conv(a["unallocated_credits"])
        books.append({"currency": c, "rate": rate_text(rate),
                      "rate_date": iso(rday) if rday is not None else None,
                      "stale": rday is not None and d - rday > stale_days,
                      "buckets": a["buckets"], "total": a["total"],
                      "unapplied_cash": a["unapplied_cash"],
                      "unallocated_credits": a["unallocated_credits"]})

    def render(bk):
        return {"buckets": [{"label": LABELS[k], "amount": money(x, base), "count": n}
                            for k, (x, n) in enumerate(bk)],
                "total": {"amount": money(sum(x for x, _ in bk), base),
                          "count": sum(n for _, n in bk)}}
    out = {"as_of": as_of, "basis": "due_date", "currency": base}
    out.update(render(total))
    out["unapplied_cash"] = money(unapplied, base)
    out["unallocated_credits"] = money(unalloc, base)
    out["books"] = books
    out["group_by"] = "business_unit"
    out["groups"] = sorted(({"key": k, **render(v)} for k, v in groups.items()),
                           key=lambda g: g["key"])
    return out


def top_overdue(db, as_of, n, cur="USD"):
    """The n customers with the most past due (total less current), largest
    first, ties by name: the groups of /v1/aging?group_by=customer&sort=-overdue&limit=n."""
    d = day_num(as_of)
    groups = {}
    for c, b, amt, cnt in db.execute(AGING_CUSTOMER_SQL, {"cur": cur, "d": d}):
        g = groups.setdefault(c, [[0, 0] for _ in LABELS])
        g[b][0] += amt
        g[b][1] += cnt
    keep = [(k, v) for k, v in groups.items() if any(a or c for a, c in v)]
    keep.sort(key=lambda kv: (-(sum(a for a, _ in kv[1]) - kv[1][0][0]), kv[0].encode()))
    return {"groups": [{"key": k,
                        "buckets": [{"label": LABELS[i], "amount": money(a, cur), "count": c}
                                    for i, (a, c) in enumerate(v)],
                        "total": {"amount": money(sum(a for a, _ in v), cur),
                                  "count": sum(c for _, c in v)}}
                       for k, v in keep[:n]]}


def top_overdue_api(js):
    # A customer's name (customer.updated) is master data, not a KPI: not recomputed.
    return {"groups": [{k: v for k, v in g.items() if k != "name"} for g in js["groups"]]}


def aging_bu_api(js):
    js = dict(js)
    js["groups"] = sorted(js["groups"], key=lambda g: g["key"])
    return js


def series_head(kind, periods, cur):
    head = {"interval": "month", "currency": cur, "from": iso(periods[0][0]),
            "to": iso(periods[-1][1])}
    if kind in ("sla", "ftq"):  # counts of every currency's documents: no currency
        del head["currency"]
    return head


def dso(db, periods, cur="USD"):
    out = {"method": "standard", **series_head("dso", periods, cur), "points": []}
    for s, e, ar, sales, days, h in db.execute(dso_sql(periods), {"cur": cur}):
        out["points"].append({"start": iso(s), "end": iso(e), **value_of(h, "no sales"),
                              "ar": money(ar, cur), "sales": money(sales, cur), "days": days})
    return out


def cei(db, periods, cur="USD"):
    out = {**series_head("cei", periods, cur), "points": []}
    for s, e, ar0, sales, ar, current, h in db.execute(cei_sql(periods), {"cur": cur}):
        out["points"].append({"start": iso(s), "end": iso(e),
                              **value_of(h, "nothing to collect"),
                              "ar_start": money(ar0, cur), "sales": money(sales, cur),
                              "ar": money(ar, cur), "current_ar": money(current, cur)})
    return out


def dpo(db, periods, cur="USD"):
    out = {**series_head("dpo", periods, cur), "points": []}
    for s, e, ap, purchases, days, h in db.execute(dpo_sql(periods), {"cur": cur}):
        out["points"].append({"start": iso(s), "end": iso(e), **value_of(h, "no purchases"),
                              "ap": money(ap, cur), "purchases": money(purchases, cur),
                              "days": days})
    return out


def rollforward(db, periods, cur="USD"):
    out = {**series_head("rollforward", periods, cur), "points": []}
    for (s, e, opening, sales, adj, applied, credits, woffs, open_amt, open_cnt, unapplied,
         unalloc) in db.execute(rollforward_sql(periods), {"cur": cur}):
        closing = opening + sales + adj - applied - credits - woffs
        m = {"opening": opening, "sales": sales, "adjustments": adj, "cash_applied": applied,
             "credit_notes": credits, "write_offs": woffs, "closing": closing,
             "open_items": open_amt}
        pt = {"start": iso(s), "end": iso(e), "value": money(closing, cur)}
        pt.update({k: money(v, cur) for k, v in m.items()})
        pt["open_invoices"] = open_cnt
        pt["difference"] = money(closing - open_amt, cur)
        pt["unapplied_cash"] = money(unapplied, cur)
        pt["unallocated_credits"] = money(unalloc, cur)
        out["points"].append(pt)
    return out


def sla_ap(db, periods, cur="USD"):
    sql, params = sla_ap_sql(periods)
    out = {"sla": "ap-processing", "target": {"amount": 3, "unit": "business_days"},
           **series_head("sla", periods, cur), "points": []}
    for s, e, met, completed, breached, h in db.execute(sql, params):
        out["points"].append({"start": iso(s), "end": iso(e), **value_of(h, "no items"),
                              "met": met, "completed": completed, "breached_open": breached})
    return out


def ftq_invoice(db, periods, cur="USD"):
    out = {"kind": "invoice", **series_head("ftq", periods, cur), "points": []}
    for s, e, passed, reviewed, h in db.execute(ftq_invoice_sql(periods)):
        out["points"].append({"start": iso(s), "end": iso(e), **value_of(h, "no items"),
                              "passed": passed, "reviewed": reviewed})
    return out


def customer(db, cust, as_of, cur="USD"):
    d = day_num(as_of)
    p = {"cust": cust, "cur": cur, "d": d}
    bk = [[0, 0] for _ in LABELS]
    for b, amt, cnt in db.execute(CUSTOMER_SQL["aging"], p):
        bk[b] = [amt, cnt]
    items = []
    for inv, bu, icur, issue, due, amount, amt in db.execute(CUSTOMER_SQL["items"], p):
        items.append({"invoice": inv, "business_unit": bu, "currency": icur,
                      "issue_date": iso(issue), "due_date": iso(due),
                      "amount": money(amount, icur), "open": money(amt, icur),
                      "days_past_due": max(0, d - due)})
    (unapplied,) = db.execute(CUSTOMER_SQL["unapplied"], p).fetchone()
    n, dtp, dbt = db.execute(CUSTOMER_SQL["habits"], p).fetchone()
    habits = {"applied": money(n, cur), "days_to_pay": hundredths(dtp),
              "days_beyond_terms": hundredths(dbt)}
    if dtp is None:
        habits["reason"] = "no items"
    disputes = []
    for num, inv, res, opened, amount, dcur in db.execute(CUSTOMER_SQL["disputes"], p):
        disputes.append({"dispute": num, "invoice": inv,
                         "status": "resolved" if res is not None else "open",
                         "opened": iso(opened), "resolved": iso(res) if res is not None else None,
                         "amount": money(amount or 0, dcur)})
    return {"customer": cust, "as_of": as_of, "currency": cur,
            "aging": {"basis": "due_date",
                      "buckets": [{"label": LABELS[k], "amount": money(a, cur), "count": c}
                                  for k, (a, c) in enumerate(bk)],
                      "total": {"amount": money(sum(a for a, _ in bk), cur),
                                "count": sum(c for _, c in bk)}},
            "unapplied_cash": money(unapplied, cur), "payment_habits": habits,
            "open_items": items, "disputes": disputes}


def customer_api(js):
    # Credit standing and the profile (name, e-mail, country, segment: master
    # data from customer.updated, not a KPI) are not recomputed.
    js = {k: v for k, v in js.items() if k not in ("credit", "name", "profile")}
    js["open_items"] = sorted(js["open_items"], key=lambda i: i["invoice"])
    js["disputes"] = sorted(js["disputes"], key=lambda i: i["dispute"])
    return js


def first_difference(api, sql, path="$"):
    """None when equal, else a one-line description of the first difference."""
    if isinstance(api, dict) and isinstance(sql, dict):
        for k in sorted(set(api) | set(sql)):
            if k not in api:
                return "%s.%s: only in SQL (%r)" % (path, k, sql[k])
            if k not in sql:
                return "%s.%s: only in kpid (%r)" % (path, k, api[k])
            d = first_difference(api[k], sql[k], "%s.%s" % (path, k))
            if d:
                return d
        return None
    if isinstance(api, list) and isinstance(sql, list):
        if len(api) != len(sql):
            return "%s: kpid has %d items, SQL %d" % (path, len(api), len(sql))
        for i, (a, b) in enumerate(zip(api, sql)):
            d = first_difference(a, b, "%s[%d]" % (path, i))
            if d:
                return d
        return None
    if api != sql:
        return "%s: kpid %r, SQL %r" % (path, api, sql)
    return None


class Query:
    """One KPI question: its kpid path, its SQL answer, and how the kpid
    answer is projected onto what the SQL computes."""

    def __init__(self, name, path, sql_fn, project=lambda js: js):
        self.name = name
        self.path = path
        self.sql_fn = sql_fn
        self.project = project

    def sql(self, db):
        return self.sql_fn(db)

    def api(self, body):
        return canon(self.project(parse_api(body)))

    def check(self, db, body):
        """(equal?, first difference or None)."""
        d = first_difference(self.api(body), self.sql(db))
        return d is None, d


def queries(as_of, periods, cust, cust_cur, cur="USD", median=None):
    """The benchmarked KPI questions, as of day string as_of, over periods
    (month (start, stop) day pairs), for customer cust in its currency
    (and, when median is a (customer, currency) pair, for that one too)."""
    f, t = iso(periods[0][0]), iso(periods[-1][1])
    series = "from=%s&to=%s&interval=month&currency=%s" % (f, t, cur)
    counts = "from=%s&to=%s&interval=month" % (f, t)  # SLA and FTQ span every currency
    cpath = cust.replace(" ", "%20")
    qs = [
        Query("aging-bu", "/v1/aging?as_of=%s&group_by=business_unit&currency=%s" % (as_of, cur),
              lambda db: aging_bu(db, as_of, cur), aging_bu_api),
        Query("aging-all", "/v1/aging?as_of=%s&group_by=business_unit&currency=*" % as_of,
              lambda db: aging_all(db, as_of), aging_bu_api),
        Query("top-overdue-100", "/v1/aging?as_of=%s&group_by=customer&sort=-overdue&limit=100"
              "&currency=%s" % (as_of, cur), lambda db: top_overdue(db, as_of, 100, cur),
              top_overdue_api),
        Query("ap-aging-bu", "/v1/payables/aging?as_of=%s&group_by=business_unit&currency=%s"
              % (as_of, cur), lambda db: ap_aging_bu(db, as_of, cur), aging_bu_api),
        Query("ap-cashreq-13w", "/v1/payables/cash-requirements?as_of=%s&weeks=13&currency=%s"
              % (as_of, cur), lambda db: ap_cashreq(db, as_of, 13, cur)),
        Query("dso-24m", "/v1/dso?" + series, lambda db: dso(db, periods, cur)),
        Query("cei-24m", "/v1/cei?" + series, lambda db: cei(db, periods, cur)),
        Query("dpo-24m", "/v1/dpo?" + series, lambda db: dpo(db, periods, cur)),
        Query("rollfwd-24m", "/v1/rollforward?" + series, lambda db: rollforward(db, periods, cur)),
        Query("sla-ap-24m", "/v1/sla?sla=ap-processing&" + counts,
              lambda db: sla_ap(db, periods, cur)),
        Query("ftq-24m", "/v1/ftq?kind=invoice&" + counts,
              lambda db: ftq_invoice(db, periods, cur)),
        Query("customer", "/v1/customers/%s?as_of=%s&currency=%s" % (cpath, as_of, cust_cur),
              lambda db: customer(db, cust, as_of, cust_cur), customer_api),
    ]
    if median is not None:
        mc, mcur = median
        qs.append(Query("customer-med", "/v1/customers/%s?as_of=%s&currency=%s"
                        % (mc.replace(" ", "%20"), as_of, mcur),
                        lambda db: customer(db, mc, as_of, mcur), customer_api))
    return qs


def book_facts(db):
    """(first day, last day, [(customer, currency, invoices)] biggest first)."""
    lo, hi = db.execute("SELECT min(day), max(day) FROM events").fetchone()
    custs = db.execute("SELECT customer, currency, count(*) AS n FROM events "
                       "WHERE type = 'invoice.issued' GROUP BY customer, currency "
                       "ORDER BY n DESC, customer").fetchall()
    return lo, hi, custs


def last_24_months(last_day):
    """The 24 whole calendar months before the month of last_day."""
    end = (EPOCH + datetime.timedelta(days=last_day)).replace(day=1) - datetime.timedelta(days=1)
    y, m = end.year, end.month - 23
    while m <= 0:
        y, m = y - 1, m + 12
    start = datetime.date(y, m, 1)
    return month_periods((start - EPOCH).days, (end - EPOCH).days)


def file_size(path):
    return os.path.getsize(path)
