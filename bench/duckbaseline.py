"""The strongest analyst's competitor: the same events in DuckDB, the same KPIs.

An analyst with DuckDB loads the NDJSON export with read_json (typed
columns, no Python ETL), keeps it in a DuckDB database file and runs the
same SQL as bench/sqlbaseline.py, ported to DuckDB's dialect. This module
is that analyst:

  * load: read_json with the columns typed (dates as DATE, terms as
    INTEGER, amounts as exact decimal text), then one CREATE TABLE AS that
    makes exactly sqlbaseline's typed `events` table in SQL: amounts as
    BIGINT minor units of the event's currency (the document's when the
    event names none), instants as UTC seconds, day numbers, the due day
    resolved (`due_date` wins over `terms_days`); the table is sorted by
    (type, day), DuckDB's counterpart of SQLite's (type, day) index (its
    zone maps then skip what a type or day filter excludes); no other
    index (DuckDB scans); the same business-day calendar table; CHECKPOINT;
  * queries: sqlbaseline's SQL text, ported by the rewrites in `port()`
    (each is a dialect difference, not a different algorithm); Python
    binds parameters and formats the rows exactly as for SQLite, with
    sqlbaseline's own functions, so `Query.check` compares kpid's answer
    with DuckDB's field by field.

DuckDB runs in a node process (bench/duckdb_worker.mjs) with the binary
that ships inside the npm package @duckdb/node-api (`npm install` in
bench/); it uses every core (its default), kpid's server one per request.
"""
import json
import os
import re
import shutil
import subprocess

import sqlbaseline as sb

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "duckdb_worker.mjs")

# The dialect differences between sqlbaseline's SQLite text and DuckDB.
REWRITES = (
    # Scalar max of two values (DuckDB's two-argument max is an aggregate).
    (re.compile(r"\bmax\(([\w.]+), ([\w.]+)\)"), r"greatest(\1, \2)"),
    # Integer division: SQLite's / on integers truncates, DuckDB's is real.
    (re.compile(r"\* 200 / abs\("), "* 200 // abs("),
    (re.compile(r"\+ 1\) / 2\)"), "+ 1) // 2)"),
    # A sum of booleans, and IN a table name (SQLite only).
    (re.compile(r"sum\(f\.result = 'pass' AND f\.invoice NOT IN corrected\)"),
     "count_if(f.result = 'pass' AND f.invoice NOT IN (SELECT invoice FROM corrected))"),
    # Bare columns in a GROUP BY (SQLite takes them from any row; the
    # invoice determines them).
    (re.compile(r"(SELECT invoice, (bu|customer), due_day, sum\(delta\) AS amt FROM mv "
                r"WHERE d <= :d\s+GROUP BY invoice)"), r"\1, \2, due_day"),
    # `first` is a DuckDB function name.
    (re.compile(r"\bfirst AS MATERIALIZED"), "firstrev AS MATERIALIZED"),
    (re.compile(r"JOIN first f\b"), "JOIN firstrev f"),
    # Named parameters.
    (re.compile(r"(?<![:\w]):([A-Za-z_]\w*)"), r"$\1"),
)


def port(sql):
    for rx, rep in REWRITES:
        sql = rx.sub(rep, sql)
    return sql


def node_modules_ok():
    return os.path.isdir(os.path.join(HERE, "node_modules", "@duckdb", "node-api"))


def install():
    """npm install in bench/ (package.json, package-lock.json), once."""
    if node_modules_ok():
        return
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise SystemExit("bench: the DuckDB competitor needs node and npm (./dev build installs "
                         "them; Debian: apt-get install nodejs npm), or run with --no-duckdb")
    cmd = [npm, "ci" if os.path.exists(os.path.join(HERE, "package-lock.json")) else "install",
           "--no-audit", "--no-fund", "--loglevel=error"]
    subprocess.run(cmd, cwd=HERE, check=True, stdout=subprocess.DEVNULL)


def _hook(o):
    if len(o) == 1:
        if "i" in o:
            return int(o["i"])
        if "s" in o:
            return o["s"]
    return o


class Rows(list):
    def fetchone(self):
        return self[0] if self else None

    def fetchall(self):
        return list(self)


class DuckDB:
    """A DuckDB database file in a worker process, with the part of the
    sqlite3 API that sqlbaseline's query functions use."""

    def __init__(self, path):
        install()
        node = shutil.which("node")
        if node is None:
            raise SystemExit("duckdb: node not found")
        self.proc = subprocess.Popen([node, WORKER, path], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, cwd=HERE)
        self.last_ms = None
        self.raw("SELECT 1")

    def raw(self, sql, params=None):
        """Run DuckDB SQL as is; the rows."""
        used = {k: v for k, v in (params or {}).items()
                if re.search(r"\$%s\b" % re.escape(k), sql)}
        self.proc.stdin.write((json.dumps({"sql": sql, "params": used}) + "\n").encode())
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit("duckdb worker exited (status %s)" % self.proc.wait())
        r = json.loads(line, object_hook=_hook)
        if "error" in r:
            raise RuntimeError("duckdb: %s\nin: %s" % (r["error"], sql[:2000]))
        self.last_ms = r["ms"]
        return Rows(tuple(x) for x in r["rows"])

    def execute(self, sql, params=None):
        """sqlbaseline's SQLite text, ported."""
        return self.raw(port(sql), params)

    def peak_rss_mb(self):
        """The worker's peak resident set (VmHWM), in MB."""
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def version(self):
        return self.raw("SELECT version()")[0][0]

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(b'{"op": "quit"}\n')
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def connect(path):
    return DuckDB(path)


def _lit(s):
    return "'" + s.replace("'", "''") + "'"


RAW_COLUMNS = (("id", "VARCHAR"), ("type", "VARCHAR"), ("time", "VARCHAR"),
               ("business_unit", "VARCHAR"), ("customer", "VARCHAR"), ("vendor", "VARCHAR"),
               ("currency", "VARCHAR"), ("amount", "VARCHAR"), ("invoice", "VARCHAR"),
               ("payment", "VARCHAR"), ("credit_note", "VARCHAR"), ("bill", "VARCHAR"),
               ("dispute", "VARCHAR"), ("inquiry", "VARCHAR"), ("due_date", "DATE"),
               ("terms_days", "INTEGER"), ("billing_due", "DATE"), ("result", "VARCHAR"),
               ("method", "VARCHAR"), ("reason", "VARCHAR"), ("date", "VARCHAR"),
               ("rate", "VARCHAR"))


def load_sql(ndjson_path, base="USD"):
    cols = ", ".join("%s: '%s'" % (c, t) for c, t in RAW_COLUMNS)
    scale = "CASE currency %s ELSE 100 END" % " ".join(
        "WHEN %s THEN %d" % (_lit(c), 10 ** d) for c, d in sorted(sb.DIGITS.items()))
    return [
        "SET TimeZone = 'UTC'",
        # Amount as exact decimal text; an instant as UTC seconds (a plain
        # date is midnight UTC, fractions of a second dropped).
        "CREATE TEMP TABLE raw AS SELECT * FROM read_json(%s, format = 'newline_delimited', "
        "columns = {%s})" % (_lit(ndjson_path), cols),
        """
CREATE TABLE events AS
WITH doc_inv AS (SELECT invoice AS k, any_value(currency) AS cur FROM raw
                 WHERE type = 'invoice.issued' GROUP BY invoice),
     doc_pay AS (SELECT payment AS k, any_value(currency) AS cur FROM raw
                 WHERE type = 'payment.received' GROUP BY payment),
     doc_bill AS (SELECT bill AS k, any_value(currency) AS cur FROM raw
                  WHERE type = 'bill.received' GROUP BY bill),
     r AS (
  SELECT e.*, coalesce(e.currency, di.cur, dp.cur, db.cur, %s) AS cur,
         CAST(floor(epoch(CAST(e.time AS TIMESTAMPTZ))) AS BIGINT) AS ts
  FROM raw e LEFT JOIN doc_inv di ON di.k = e.invoice LEFT JOIN doc_pay dp ON dp.k = e.payment
       LEFT JOIN doc_bill db ON db.k = e.bill
  WHERE e.type <> 'fx.rate')
SELECT id, type, ts, ts // 86400 AS day, business_unit, customer, vendor, cur AS currency,
       CAST(CAST(amount AS DECIMAL(38, 3)) * (%s) AS BIGINT) AS amount,
       invoice, payment, credit_note, bill, dispute, inquiry,
       CASE WHEN type IN ('invoice.issued', 'bill.received')
            THEN coalesce(due_date - DATE '1970-01-01', ts // 86400 + terms_days) END AS due_day,
       billing_due - DATE '1970-01-01' AS billing_due, result, method, reason
FROM r
ORDER BY type, day
""" % (_lit(base), scale.replace("currency", "cur")),
        # Exchange rates (one per currency and day in generated books; the
        # later one would stand in kpid).
        "CREATE TABLE fx AS SELECT currency, "
        "CAST(coalesce(date, time) AS DATE) - DATE '1970-01-01' AS day, "
        "any_value(CAST(CAST(rate AS DECIMAL(38, 10)) * 10000000000 AS BIGINT)) AS rate "
        "FROM raw WHERE type = 'fx.rate' GROUP BY ALL",
        "DROP TABLE raw",
    ]


def load(db, ndjson_path, base="USD"):
    """Load the events and the calendar into db; the number of events."""
    for s in load_sql(os.path.abspath(ndjson_path), base):
        db.raw(s)
    lo, hi = db.raw("SELECT min(day), greatest(max(day), coalesce(max(due_day), 0)) "
                    "FROM events")[0]
    # bno = business days (Mon-Fri) on or before day, from lo - 400 on, as
    # sqlbaseline's calendar.
    db.raw("""
CREATE TABLE calendar AS
SELECT d AS day, (d + 3) %% 7 AS weekday,
       sum(CASE WHEN (d + 3) %% 7 < 5 THEN 1 ELSE 0 END) OVER (ORDER BY d) AS bno
FROM (SELECT range AS d FROM range(%d, %d)) ORDER BY d
""" % (lo - 400, hi + 800))
    db.raw("CHECKPOINT")
    return db.raw("SELECT count(*) FROM events")[0][0]
