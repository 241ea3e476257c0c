#!/usr/bin/env python3
"""kpid benchmark suite (issue 5): one run, one table. Use bench/run.

For each book size (invoices) it:
  1. generates the book with `kpid gen` (seeded);
  2. loads it with `kpid ingest` under /usr/bin/time -v: events/s, peak
     RSS, store size on disk (allocated blocks) against the NDJSON size;
  3. starts `kpid serve` and times every benchmarked KPI query over many
     calls: server time from the Server-Timing header (time inside kpid)
     and the client's loopback round trip, p50 and p99; aging at random
     as-of days over the whole history;
  4. drives a mix of those queries with `wrk` over keep-alive connections
     (loopback, the load generator shares the 2 cores with the server):
     requests/s; then reads the server's RSS apart from the LMDB map;
  5. starts a second server on an empty store and posts the same book as
     NDJSON batches over one keep-alive connection: events/s (an answer
     means the batch is committed to disk);
  6. loads the same events into SQLite with the baseline's schema and
     indexes (bench/sqlbaseline.py), runs the same KPIs in SQL, checks that
     every answer equals kpid's, and prints kpid's speed-up per query;
  7. the same with DuckDB (bench/duckbaseline.py: read_json, the same SQL
     ported to DuckDB's dialect).

Every timed kpid query runs on a server started with "response_cache_mb": 0
(the engine, not the response cache); a timed call whose X-Kpid-Cache
header says "hit" stops the run. Cache hits are timed on a second server
with the cache on, in rows of their own. After the queries, `kpid rebuild`
is timed on the ingested store and the answers after it must equal the
ones before.

Timings never fail the run; a wrong answer does (exit 1).
"""
import argparse
import http.client
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sqlbaseline as sb  # noqa: E402
import duckbaseline as ddb  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---- helpers -----------------------------------------------------------------------

class CacheHit(SystemExit):
    pass


class Serve:
    """kpid serve on a fresh port. cache_mb=0 (the default here) turns the
    response cache off: every answer is computed by the engine, and get()
    stops the run if an answer says X-Kpid-Cache: hit anyway."""

    def __init__(self, kpid, data, work, cache_mb=0):
        self.cache_mb = cache_mb
        self.calls = self.hits = 0
        self.last_cache = None
        cfg = os.path.join(work, "serve-cache%d.json" % cache_mb)
        with open(cfg, "w") as f:
            json.dump({"response_cache_mb": cache_mb}, f)
        self.proc = subprocess.Popen([kpid, "serve", "--data", data, "--listen", "127.0.0.1:0",
                                      "--config", cfg],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit("kpid serve did not start on %s" % data)
            if b"listening on http://" in line:
                self.port = int(line.split(b"http://")[1].split()[0].rsplit(b":", 1)[1])
                break
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)

    def roundtrip(self, path):
        """GET on the keep-alive connection; one new connection when the
        server has closed an idle one (header_timeout_s closes those)."""
        for attempt in (0, 1):
            try:
                self.conn.request("GET", path)
                return self.conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                if attempt:
                    raise

    def get(self, path):
        t0 = time.perf_counter()
        r = self.roundtrip(path)
        body = r.read()
        client_ms = (time.perf_counter() - t0) * 1000
        if r.status != 200:
            raise SystemExit("GET %s: %d %s" % (path, r.status, body[:300]))
        self.last_cache = r.getheader("X-Kpid-Cache")
        self.calls += 1
        if self.last_cache == "hit":
            self.hits += 1
            if self.cache_mb == 0:
                raise CacheHit("BENCH INVALID: GET %s on the server with the response cache off "
                               "answered X-Kpid-Cache: hit; this would time the cache, not "
                               "the engine" % path)
        st = r.getheader("Server-Timing", "app;dur=nan")
        return body, float(st.split("dur=")[1]), client_ms

    def metric(self, name):
        """The value of an unlabelled sample in /metrics (None if absent)."""
        r = self.roundtrip("/metrics")
        body = r.read().decode("utf-8", "replace")
        if r.status != 200:
            raise SystemExit("GET /metrics: %d %s" % (r.status, body[:300]))
        m = re.search(r"^%s(?:\{\})? ([0-9.e+]+)$" % re.escape(name), body, re.M)
        return float(m.group(1)) if m else None

    def rss(self):
        """(RSS besides the LMDB map, RSS of the map, peak RSS), in MB."""
        other = mdb = 0
        name = ""
        with open("/proc/%d/smaps" % self.proc.pid) as f:
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    parts = line.split()
                    name = parts[5] if len(parts) > 5 else ""
                elif line.startswith("Rss:"):
                    kb = int(line.split()[1])
                    if name.endswith(".mdb"):
                        mdb += kb
                    else:
                        other += kb
        hwm = 0
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
        return other / 1024, mdb / 1024, hwm / 1024

    def stop(self):
        self.conn.close()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc.stdout.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, int(round(p / 100 * len(xs))) - 1))]


def disk_bytes(path):
    """Allocated bytes of the files under path (du, not the apparent size)."""
    if os.path.isfile(path):
        return os.stat(path).st_blocks * 512
    n = 0
    for root, _, files in os.walk(path):
        for f in files:
            n += os.stat(os.path.join(root, f)).st_blocks * 512
    return n


def machine():
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024 // 1024
    load = os.getloadavg()
    return "%s, %d cores, %d GiB RAM, %s %s, Python %s, SQLite %s; load average %.1f at start" % (
        cpu, os.cpu_count(), mem, platform.system(), platform.release(),
        platform.python_version(), sb.sqlite3.sqlite_version, load[0])


# ---- steps -------------------------------------------------------------------------

def step_gen(a, kpid, n, gen):
    if a.reuse and os.path.exists(gen):
        return None
    t0 = time.perf_counter()
    subprocess.run([kpid, "gen", "--invoices", str(n), "--seed", str(a.seed), "--out", gen],
                   check=True)
    return time.perf_counter() - t0


def step_ingest(a, kpid, gen, data, events):
    if a.reuse and os.path.isdir(data):
        return {}
    shutil.rmtree(data, ignore_errors=True)
    tv = data + ".time"
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v", "-o", tv, kpid, "ingest", "--data", data,
                        "--quiet", gen])
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit("kpid ingest failed (exit %d)" % r.returncode)
    rss = 0
    with open(tv) as f:
        for line in f:
            if "Maximum resident set size" in line:
                rss = int(line.rsplit(":", 1)[1]) / 1024
    return {"ingest_s": wall, "ingest_eps": events / wall, "ingest_rss_mb": rss}


def step_queries(a, srv, qs, lo, hi, rng):
    """Per query: p50/p99 of server and client time; returns {name: dict} and bodies."""
    res, bodies = {}, {}
    for q in qs:
        body, _, _ = srv.get(q.path)
        bodies[q.name] = body
        for _ in range(min(20, a.runs)):
            srv.get(q.path)
        s, c = [], []
        for _ in range(a.runs):
            _, st, ct = srv.get(q.path)
            s.append(st)
            c.append(ct)
        res[q.name] = {"p50": pct(s, 50), "p99": pct(s, 99), "c50": pct(c, 50),
                       "c99": pct(c, 99)}
        log("  kpid %-12s server p50 %.3f ms p99 %.3f ms, client p50 %.3f ms"
            % (q.name, res[q.name]["p50"], res[q.name]["p99"], res[q.name]["c50"]))
    # Aging as of any day: a fresh random day each call.
    s, c = [], []
    for _ in range(a.runs):
        d = sb.iso(rng.randrange(lo, hi + 1))
        _, st, ct = srv.get("/v1/aging?as_of=%s&group_by=business_unit" % d)
        s.append(st)
        c.append(ct)
    res["aging-any-day"] = {"p50": pct(s, 50), "p99": pct(s, 99), "c50": pct(c, 50),
                            "c99": pct(c, 99)}
    log("  kpid aging-any-day server p50 %.3f ms p99 %.3f ms" % (pct(s, 50), pct(s, 99)))
    return res, bodies


def step_cache_hits(a, srv, qs):
    """On a server with the response cache on: each query once (a miss that
    fills the cache), then timed repeats that must all be hits. Pooled
    p50/p99 of the hits; the queries whose answer was not kept (too big for
    the cache) are named and not timed."""
    assert srv.cache_mb > 0
    s, not_kept = [], []
    n = max(1, min(a.runs, 200))
    for q in qs:
        srv.get(q.path)
        srv.get(q.path)
        if srv.last_cache != "hit":
            not_kept.append(q.name)
            continue
        for _ in range(n):
            _, st, _ = srv.get(q.path)
            if srv.last_cache != "hit":
                raise SystemExit("cache-hit rows: GET %s answered X-Kpid-Cache: %s while the "
                                 "store did not change" % (q.path, srv.last_cache))
            s.append(st)
    r = {"p50": pct(s, 50) if s else float("nan"), "p99": pct(s, 99) if s else float("nan"),
         "calls": len(s), "not_kept": not_kept}
    log("  kpid response cache hits (not the engine): p50 %.3f ms p99 %.3f ms over %d calls%s"
        % (r["p50"], r["p99"], len(s), "; not kept: " + ", ".join(not_kept) if not_kept else ""))
    return r


def step_rebuild(a, kpid, data, events):
    """`kpid rebuild` on the ingested store, under /usr/bin/time -v."""
    tv = data + ".rebuild-time"
    t0 = time.perf_counter()
    r = subprocess.run(["/usr/bin/time", "-v", "-o", tv, kpid, "rebuild", "--data", data,
                        "--quiet"])
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit("kpid rebuild failed (exit %d)" % r.returncode)
    rss = 0
    with open(tv) as f:
        for line in f:
            if "Maximum resident set size" in line:
                rss = int(line.rsplit(":", 1)[1]) / 1024
    log("  kpid rebuild: %.1f s = %.0f events/s, peak RSS %.0f MB" % (wall, events / wall, rss))
    return {"rebuild_s": wall, "rebuild_eps": events / wall, "rebuild_rss_mb": rss}


def same_answers(qs, srv, bodies):
    """Names of the queries whose answer differs from bodies."""
    bad = []
    for q in qs:
        body, _, _ = srv.get(q.path)
        if body != bodies[q.name]:
            js = sb.first_difference(q.api(body), q.api(bodies[q.name]))
            bad.append("%s: %s" % (q.name, js or "bytes differ"))
    return bad


WRK_LUA = """
local paths = {%s}
local i = 0
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
"""


def step_wrk(a, srv, paths, work, tag):
    if shutil.which("wrk") is None:
        log("  wrk not found (apt-get install wrk): no load test")
        return {}
    lua = os.path.join(work, "%s.lua" % tag)
    with open(lua, "w") as f:
        f.write(WRK_LUA % ",".join(json.dumps(p) for p in paths))
    cmd = ["wrk", "-t", str(a.wrk_threads), "-c", str(a.wrk_connections), "-d",
           "%ds" % a.wrk_seconds, "--latency", "-s", lua, "http://127.0.0.1:%d" % srv.port]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errs = re.search(r"Socket errors:.*", out)
    lat = dict(re.findall(r"^\s+(50|99)%\s+([0-9.]+\w+)", out, re.M))
    r = {"rps": float(m.group(1)) if m else float("nan"),
         "non2xx": int(bad.group(1)) if bad else 0,
         "p50": lat.get("50", "?"), "p99": lat.get("99", "?")}
    if errs:
        r["errors"] = errs.group(0)
    log("  wrk %s: %.0f requests/s, latency p50 %s p99 %s, non-2xx %d %s"
        % (tag, r["rps"], r["p50"], r["p99"], r["non2xx"], r.get("errors", "")))
    if r["non2xx"]:
        raise SystemExit("wrk %s: %d answers were not 200" % (tag, r["non2xx"]))
    return {"wrk_" + tag: r}


def step_http_ingest(a, kpid, gen, data, limit, work, need_bytes):
    shutil.rmtree(data, ignore_errors=True)
    free = shutil.disk_usage(work).free
    if free < need_bytes * 1.1 + (2 << 30):
        log("  HTTP ingest SKIPPED: it needs about %.0f GB for a second store, %.0f GB free "
            "(use --http-events N to post only the first N events)" % (need_bytes / 1e9,
                                                                       free / 1e9))
        return {"http_skipped": "disk"}
    srv = Serve(kpid, data, work)
    sent = accepted = 0
    t0 = time.perf_counter()
    try:
        with open(gen, "rb") as f:
            while limit is None or sent < limit:
                want = a.batch if limit is None else min(a.batch, limit - sent)
                lines = []
                for line in f:
                    lines.append(line)
                    if len(lines) == want:
                        break
                if not lines:
                    break
                srv.conn.request("POST", "/v1/events", body=b"".join(lines),
                                 headers={"Content-Type": "application/x-ndjson"})
                r = srv.conn.getresponse()
                js = json.loads(r.read())
                if r.status != 200 or js.get("rejected_count", 0):
                    raise SystemExit("POST /v1/events: %d %s" % (r.status, str(js)[:300]))
                sent += len(lines)
                accepted += js["accepted"]
        wall = time.perf_counter() - t0
        rss = srv.rss()
    finally:
        srv.stop()
    if accepted != sent:
        raise SystemExit("HTTP ingest: %d sent, %d accepted" % (sent, accepted))
    log("  HTTP ingest: %d events in %.1f s = %.0f events/s (batches of %d)"
        % (sent, wall, sent / wall, a.batch))
    shutil.rmtree(data, ignore_errors=True)
    return {"http_eps": sent / wall, "http_events": sent, "http_rss": rss[0]}


def step_sql(a, gen, work, n, qs, bodies, kpid_res):
    path = os.path.join(work, "sql%d.db" % n)
    reuse = a.reuse and os.path.exists(path)
    out = {}
    if not reuse:
        if os.path.exists(path):
            os.remove(path)
        db = sb.connect(path)
        t0 = time.perf_counter()
        sb.load(db, gen, progress=lambda k: log("  sqlite load: %d events" % k)
                if k % 1000000 == 0 else None)
        out["sql_load_s"] = time.perf_counter() - t0
    else:
        db = sb.connect(path)
    out["sql_bytes"] = disk_bytes(path)
    out.update(time_baseline(a, "sqlite", db, qs, bodies, kpid_res))
    db.close()
    return out


def step_duckdb(a, gen, work, n, qs, bodies, kpid_res):
    path = os.path.join(work, "duck%d.duckdb" % n)
    reuse = a.reuse and os.path.exists(path)
    out = {}
    if not reuse:
        for f in (path, path + ".wal"):
            if os.path.exists(f):
                os.remove(f)
    db = ddb.connect(path)
    try:
        out["duck_version"] = db.version()
        if a.duckdb_memory:
            db.raw("SET memory_limit = '%s'" % a.duckdb_memory.replace("'", ""))
        if not reuse:
            t0 = time.perf_counter()
            ddb.load(db, gen)
            out["duck_load_s"] = time.perf_counter() - t0
            log("  duckdb load (read_json, typed table, calendar, checkpoint): %.1f s"
                % out["duck_load_s"])
        out["duck_bytes"] = disk_bytes(path) + (disk_bytes(path + ".wal")
                                                if os.path.exists(path + ".wal") else 0)
        res = time_baseline(a, "duckdb", db, qs, bodies, kpid_res)
        out["duck_rss_mb"] = db.peak_rss_mb()
        log("  duckdb worker peak RSS %.0f MB" % out["duck_rss_mb"])
    finally:
        db.close()
    out["duck"], out["duck_checks"] = res["sql"], res["checks"]
    return out


def time_baseline(a, tag, db, qs, bodies, kpid_res):
    """Per query: the first run, checked field by field against kpid's
    answer, then the median of a.sql_runs runs (the first run's time when
    there are none). {"sql": {name: ms}, "checks": {name: (ok, diff)}}."""
    out = {}
    checks, sql = {}, {}
    for q in qs:
        t0 = time.perf_counter()
        ans = q.sql(db)
        first = time.perf_counter() - t0
        diff = sb.first_difference(q.api(bodies[q.name]), ans)
        ok = diff is None
        checks[q.name] = (ok, diff)
        ts = []
        for _ in range(a.sql_runs):
            t0 = time.perf_counter()
            q.sql(db)
            ts.append(time.perf_counter() - t0)
        med = statistics.median(ts) * 1000 if ts else first * 1000
        sql[q.name] = med
        log("  %s %-12s %10.1f ms  answers %s  speed-up x%.0f"
            % (tag, q.name, med, "identical" if ok else "DIFFER: " + diff,
               med / max(kpid_res[q.name]["p50"], 1e-6)))
    out["sql"] = sql
    out["checks"] = checks
    return out


def run_size(a, kpid, work, n, rng):
    gen = os.path.join(work, "g%d.ndjson" % n)
    data = os.path.join(work, "d%d" % n)
    log("== %d invoices" % n)
    r = {"invoices": n}
    r["gen_s"] = step_gen(a, kpid, n, gen)
    r["ndjson_bytes"] = os.path.getsize(gen)
    with open(gen, "rb") as f:
        r["events"] = sum(1 for line in f if line.strip())
    log("  %d events, %.1f MB NDJSON" % (r["events"], r["ndjson_bytes"] / 1e6))
    r.update(step_ingest(a, kpid, gen, data, r["events"]))
    if "ingest_eps" in r:
        log("  kpid ingest: %.1f s = %.0f events/s, peak RSS %.0f MB"
            % (r["ingest_s"], r["ingest_eps"], r["ingest_rss_mb"]))
    r["store_bytes"] = disk_bytes(data)
    # The question set, as the SQL baseline will answer it: as of the last
    # day, the biggest customer, the 24 months before the last month.
    with open(gen, "rb") as f:
        first = json.loads(f.readline())["time"]
    last = None
    with open(gen, "rb") as f:
        f.seek(max(0, os.path.getsize(gen) - 65536))
        last = json.loads(f.read().splitlines()[-1])["time"]
    lo, hi = sb.parse_time(first)[1], sb.parse_time(last)[1]
    top, med = customers(gen)
    log("  customers: the biggest %s has %d invoices, the median %s %d"
        % (top[0], top[2], med[0], med[2]))
    r["top_invoices"], r["med_invoices"] = top[2], med[2]
    qs = sb.queries(sb.iso(hi), sb.last_24_months(hi), top[0], top[1], median=med[:2])
    r["n_queries"] = len(qs)
    # The mix stays the 25 paths of the earlier tables (top-overdue-100 and
    # the payables rows of issue 16 are timed alone).
    mix = [q.path for q in qs if q.name != "top-overdue-100" and not q.name.startswith("ap-")]
    mix += ["/v1/aging?as_of=%s&group_by=business_unit" % sb.iso(lo + (hi - lo) * k // 16)
            for k in range(16)]
    # The engine: response cache off; every timed call's X-Kpid-Cache checked.
    srv = Serve(kpid, data, work, cache_mb=0)
    try:
        r["kpid"], bodies = step_queries(a, srv, qs, lo, hi, rng)
        r.update(step_wrk(a, srv, mix, work, "mix"))
        r.update(step_wrk(a, srv, [q.path for q in qs if q.name == "dso-24m"], work, "dso"))
        r["serve_rss"], r["serve_map_rss"], r["serve_hwm"] = srv.rss()
        log("  kpid serve RSS %.0f MB besides the LMDB map (map resident %.0f MB)"
            % (r["serve_rss"], r["serve_map_rss"]))
        r["engine_calls"], r["engine_hits"] = srv.calls, srv.hits
        # wrk's requests are not read one by one: the server's own count
        # of cache hits covers them (and every call above).
        m = srv.metric("kpid_http_response_cache_hits_total")
        r["engine_metric_hits"] = m
        log("  cache check: %d calls to the cache-off server, %d answered X-Kpid-Cache: hit; "
            "/metrics kpid_http_response_cache_hits_total %s (wrk included)"
            % (srv.calls, srv.hits, "absent" if m is None else "%g" % m))
        if m:
            raise CacheHit("BENCH INVALID: the cache-off server counted %g response cache hits "
                           "(kpid_http_response_cache_hits_total): the timings would include "
                           "the cache" % m)
    finally:
        srv.stop()
    # The response cache, in rows of their own (not the engine).
    if not a.no_cache_rows:
        srv = Serve(kpid, data, work, cache_mb=a.cache_mb)
        try:
            r["cache_hit"] = step_cache_hits(a, srv, qs)
            r.update(step_wrk(a, srv, mix, work, "mixcache"))
        finally:
            srv.stop()
    if not a.no_rebuild:
        r.update(step_rebuild(a, kpid, data, r["events"]))
        srv = Serve(kpid, data, work, cache_mb=0)
        try:
            r["rebuild_diff"] = same_answers(qs, srv, bodies)
        finally:
            srv.stop()
        for d in r["rebuild_diff"]:
            log("  ANSWER CHANGED by kpid rebuild: %s" % d)
    if not a.no_http_ingest:
        share = 1.0 if a.http_events is None else min(1.0, a.http_events / r["events"])
        r.update(step_http_ingest(a, kpid, gen, data + "-http", a.http_events, work,
                                  r["store_bytes"] * share))
    if not a.no_sql:
        r.update(step_sql(a, gen, work, n, qs, bodies, r["kpid"]))
    if not a.no_duckdb:
        r.update(step_duckdb(a, gen, work, n, qs, bodies, r["kpid"]))
    r["harness_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log("  bench harness (python) peak RSS so far %.0f MB" % r["harness_rss_mb"])
    return r


def customers(gen):
    """(customer, currency, invoices) of the customer with the most invoices
    (the biggest profile) and of the median one."""
    counts, cur = {}, {}
    with open(gen, "rb") as f:
        for line in f:
            if b'"invoice.issued"' not in line:
                continue
            e = json.loads(line)
            c = e["customer"]
            counts[c] = counts.get(c, 0) + 1
            cur[c] = e.get("currency", "USD")
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    top, med = ranked[0], ranked[len(ranked) // 2]
    return (top, cur[top], counts[top]), (med, cur[med], counts[med])


# ---- the table -------------------------------------------------------------------

QUERY_TARGET_MS = {"aging-bu": 5, "aging-all": 5, "aging-any-day": 5, "top-overdue-100": 5,
                   "ap-aging-bu": 5, "ap-cashreq-13w": 5, "dso-24m": 2,
                   "cei-24m": 2,
                   "dpo-24m": 2, "rollfwd-24m": 2, "sla-ap-24m": 2, "ftq-24m": 2, "customer": 1,
                   "customer-med": 1}


def fmt_n(v, unit=""):
    if v is None or v != v:
        return "-"
    if abs(v) >= 1e6:
        return "%.2fM%s" % (v / 1e6, unit)
    if abs(v) >= 1e4:
        return "%.0fk%s" % (v / 1e3, unit)
    return "%.0f%s" % (v, unit)


def fmt_ms(v):
    return "%.1f ms" % v if v < 10 else "%.0f ms" % v


def verdict_min(v, target):
    if v is None or v != v:
        return "not measured"
    return "met" if v >= target else "MISSED: %.1fx short" % (target / v)


def verdict_max(v, target):
    if v is None or v != v:
        return "not measured"
    return "met" if v <= target else "MISSED: %.1fx over" % (v / target)


def verdict_latency(k, target):
    """Judged on p50; a p99 over the target is said beside it."""
    v = verdict_max(k["p50"], target)
    if k["p99"] > target:
        v += " (p99 %.1fx over)" % (k["p99"] / target)
    return v


def table(results):
    big = results[-1]
    cols = ["%s invoices" % fmt_n(r["invoices"]) for r in results]
    rows = []

    def row(name, vals, target="", verdict=""):
        rows.append([name] + vals + [target, verdict])

    row("events", [fmt_n(r["events"]) for r in results])
    row("NDJSON size", ["%.0f MB" % (r["ndjson_bytes"] / 1e6) for r in results])
    row("kpid ingest", [fmt_n(r.get("ingest_eps"), " ev/s") for r in results],
        ">= 500k ev/s", verdict_min(big.get("ingest_eps"), 500e3))
    row("kpid ingest peak RSS", ["%.0f MB" % r["ingest_rss_mb"] if "ingest_rss_mb" in r
                                 else "-" for r in results],
        "<= 1 GB besides the map", "(RSS counts the map's pages)")
    if "rebuild_eps" in big:
        row("kpid rebuild (the ingested store)", [fmt_n(r.get("rebuild_eps"), " ev/s")
                                                  for r in results],
            ">= 500k ev/s", verdict_min(big.get("rebuild_eps"), 500e3))
        row("kpid rebuild peak RSS", ["%.0f MB" % r["rebuild_rss_mb"] if "rebuild_rss_mb" in r
                                      else "-" for r in results])
        row("answers after rebuild == before", ["all %d identical" % r["n_queries"]
                                                if not r["rebuild_diff"] else
                                                "%d DIFFER" % len(r["rebuild_diff"])
                                                for r in results],
            "identical", "met" if not any(r["rebuild_diff"] for r in results) else "MISSED")
    ratio = [r["store_bytes"] / r["ndjson_bytes"] for r in results]
    row("store on disk", ["%.0f MB (%.1fx)" % (r["store_bytes"] / 1e6, x)
                          for r, x in zip(results, ratio)],
        "<= 1.2x NDJSON", verdict_max(ratio[-1], 1.2))
    row("HTTP ingest (NDJSON batches)", [fmt_n(r.get("http_eps"), " ev/s")
                                         if "http_skipped" not in r else "skipped (disk)"
                                         for r in results],
        ">= 200k ev/s", verdict_min(big.get("http_eps"), 200e3))
    row("customer: invoices of the biggest / median", ["%d / %d" % (r["top_invoices"],
                                                                 r["med_invoices"])
                                                        for r in results])
    for q in QUERY_TARGET_MS:
        t = QUERY_TARGET_MS[q]
        row("%s p50 / p99 (server)" % q,
            ["%.3f / %.3f ms" % (r["kpid"][q]["p50"], r["kpid"][q]["p99"]) for r in results],
            "<= %g ms" % t, verdict_latency(big["kpid"][q], t))
    for q in ["aging-bu", "customer"]:
        row("%s p50 (client round trip)" % q,
            ["%.3f ms" % r["kpid"][q]["c50"] for r in results])
    row("timed calls answered by the response cache",
        ["%d of %d; /metrics hits %s" % (r["engine_hits"], r["engine_calls"],
                                         "%g" % r["engine_metric_hits"]
                                         if r["engine_metric_hits"] is not None else "absent")
         for r in results],
        "0 (cache off)", "met" if all(r["engine_hits"] == 0 for r in results) else "MISSED")
    if len(results) > 1:
        small = results[0]
        growth = max(big["kpid"][q]["p50"] / max(small["kpid"][q]["p50"], 1e-6)
                     for q in QUERY_TARGET_MS)
        worst = max(QUERY_TARGET_MS, key=lambda q: big["kpid"][q]["p50"]
                    / max(small["kpid"][q]["p50"], 1e-6))
        row("query time growth, %gx the book" % (big["invoices"] / small["invoices"]),
            [""] * (len(results) - 1) + ["worst %.1fx (%s)" % (growth, worst)],
            "flat (<= 2x)", "met" if growth <= 2 else "MISSED: %.1fx" % growth)
    for tag, what in (("mix", "KPI mix (25 paths)"), ("dso", "dso-24m only")):
        w = [r.get("wrk_" + tag, {}) for r in results]
        row("wrk keep-alive, %s" % what, [fmt_n(x.get("rps"), " req/s") for x in w],
            ">= 20k req/s", verdict_min(w[-1].get("rps"), 20e3))
        row("wrk %s latency p50 / p99" % tag,
            ["%s / %s" % (x.get("p50", "-"), x.get("p99", "-")) for x in w])
    row("kpid serve RSS besides LMDB map", ["%.0f MB" % r["serve_rss"] for r in results],
        "<= 256 MB", verdict_max(big["serve_rss"], 256))
    if "cache_hit" in big:
        row("response cache hit p50 / p99, all queries (NOT the engine)",
            ["%.3f / %.3f ms%s" % (r["cache_hit"]["p50"], r["cache_hit"]["p99"],
                                   " (not kept: %s)" % ", ".join(r["cache_hit"]["not_kept"])
                                   if r["cache_hit"]["not_kept"] else "")
             for r in results])
        w = [r.get("wrk_mixcache", {}) for r in results]
        row("wrk KPI mix, response cache on (NOT the engine)",
            [fmt_n(x.get("rps"), " req/s") for x in w])
    row("bench harness (python) peak RSS, run so far",
        ["%.0f MB" % r["harness_rss_mb"] for r in results])
    bad = []
    names = [q.name for q in sb.queries("2000-01-01", [(0, 0)], "x", "USD",
                                        median=("y", "USD"))]
    if "sql" in big:
        row("SQLite load + indexes", ["%.0f s" % r["sql_load_s"] if "sql_load_s" in r else "-"
                                      for r in results])
        row("SQLite database size", ["%.0f MB" % (r["sql_bytes"] / 1e6) for r in results])
    if "duck" in big:
        row("DuckDB load (read_json, typed table)", ["%.0f s" % r["duck_load_s"]
                                                     if "duck_load_s" in r else "-"
                                                     for r in results])
        row("DuckDB database size", ["%.0f MB" % (r["duck_bytes"] / 1e6) for r in results])
        row("DuckDB process peak RSS", ["%.0f MB" % r["duck_rss_mb"] for r in results])
    for n in names:
        for key, what, target in (("sql", "SQLite", 300), ("duck", "DuckDB", None)):
            if key not in big:
                continue
            sp = [r[key][n] / max(r["kpid"][n]["p50"], 1e-6) for r in results]
            row("%s: %s / speed-up" % (n, what),
                ["%s / x%.0f" % (fmt_ms(r[key][n]), x) for r, x in zip(results, sp)],
                ">= %dx" % target if target else "",
                verdict_min(sp[-1], target) if target else "")
    for key, what in (("checks", "SQL"), ("duck_checks", "DuckDB")):
        if key not in big:
            continue
        b = [(r["invoices"], what, n, d) for r in results for n, (ok, d) in r[key].items()
             if not ok]
        bad += b
        row("answers kpid == %s" % what, ["all %d identical" % len(r[key])
                                          if all(ok for ok, _ in r[key].values())
                                          else "DIFFER" for r in results],
            "identical", "met" if not b else "MISSED")
    for r in results:
        bad += [(r["invoices"], "kpid before rebuild", d, "") for d in r.get("rebuild_diff", [])]
    head = ["metric"] + cols + ["target (at %s)" % cols[-1], "verdict"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append("| " + " | ".join(r) + " |")
    return "\n".join(lines), bad


def main():
    ap = argparse.ArgumentParser(description="kpid benchmark suite (see bench/README.md)")
    ap.add_argument("--kpid", default="build/release/cmd/kpid")
    ap.add_argument("--invoices", default="100000,1000000",
                    help="comma-separated book sizes (default 100000,1000000)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true",
                    help="fewer calls and shorter load: a smoke run, not for the record")
    ap.add_argument("--runs", type=int, default=None, help="calls per KPI query (default 1000)")
    ap.add_argument("--sql-runs", type=int, default=None, help="SQL runs per query (default 3)")
    ap.add_argument("--wrk-seconds", type=int, default=None, help="default 15")
    ap.add_argument("--wrk-connections", type=int, default=16)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=10000, help="events per HTTP ingest batch")
    ap.add_argument("--http-events", type=int, default=None,
                    help="post only the first N events over HTTP (default: the whole book)")
    ap.add_argument("--no-http-ingest", action="store_true")
    ap.add_argument("--no-sql", action="store_true")
    ap.add_argument("--no-duckdb", action="store_true", help="skip the DuckDB competitor")
    ap.add_argument("--duckdb-memory", default="12GB",
                    help="DuckDB memory_limit (default 12GB; it spills to disk past it)")
    ap.add_argument("--no-rebuild", action="store_true", help="do not time kpid rebuild")
    ap.add_argument("--no-cache-rows", action="store_true",
                    help="no response-cache rows (the engine rows never use the cache)")
    ap.add_argument("--cache-mb", type=int, default=256,
                    help="response_cache_mb of the server for the cache-hit rows (default 256)")
    ap.add_argument("--work", default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse books, stores and SQLite files found in --work")
    a = ap.parse_args()
    a.runs = a.runs or (100 if a.quick else 1000)
    a.sql_runs = a.sql_runs if a.sql_runs is not None else (0 if a.quick else 3)
    a.wrk_seconds = a.wrk_seconds or (3 if a.quick else 15)
    kpid = os.path.abspath(a.kpid)
    if not os.access(kpid, os.X_OK):
        raise SystemExit("%s: not found (./dev build)" % kpid)
    work = os.path.abspath(a.work) if a.work else tempfile.mkdtemp(prefix="kpid-bench-")
    os.makedirs(work, exist_ok=True)
    sizes = [int(x) for x in a.invoices.split(",")]
    if not a.no_duckdb:
        ddb.install()  # npm ci in bench/ now, not after an hour of loading
    rng = random.Random(a.seed)
    mach = machine()
    log("kpid bench: %s; work dir %s" % (kpid, work))
    t0 = time.time()
    results = []
    try:
        for n in sizes:
            results.append(run_size(a, kpid, work, n, rng))
    finally:
        if not a.keep and a.work is None:
            shutil.rmtree(work, ignore_errors=True)
    tab, bad = table(results)
    print("Machine: %s" % mach)
    print("Command: bench/run %s" % " ".join(sys.argv[1:]))
    duck = results[-1].get("duck_version")
    print("Run: %s UTC, %.0f s; %d calls per KPI query (one keep-alive connection) on a server "
          "with the response cache off (response_cache_mb 0; X-Kpid-Cache checked on every "
          "call), SQLite%s %s; wrk -t%d -c%d -d%ds; "
          "HTTP ingest in NDJSON batches of %d events%s"
          % (time.strftime("%Y-%m-%d %H:%M", time.gmtime(t0)), time.time() - t0, a.runs,
             " and DuckDB %s (@duckdb/node-api)" % duck if duck else "",
             "median of %d runs after a checked first run" % a.sql_runs if a.sql_runs
             else "timed once (the checked first run)", a.wrk_threads, a.wrk_connections, a.wrk_seconds, a.batch,
             " (quick)" if a.quick else ""))
    print()
    print(tab)
    for n, what, q, d in bad:
        print("ANSWER MISMATCH at %d invoices, kpid vs %s, %s %s" % (n, what, q, d))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
