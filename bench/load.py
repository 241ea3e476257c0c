#!/usr/bin/env python3
"""Bounded loopback load test: NDJSON ingest and KPI queries at once.

It generates a book (`kpid gen`), loads it (`kpid ingest`), starts
`kpid serve` on a free loopback port and drives it for --seconds with
--ingest-clients processes posting NDJSON batches of new events and
--query-clients processes asking the KPI endpoints (aging, DSO, CEI,
roll-forward, SLA, FTQ, customer profile, event log), each on its own
keep-alive connection. A warm-up of --warmup seconds runs the same mix
first and is not counted. It prints:

  errors      every non-200 answer, rejected item or connection failure
              (must be 0; the exit status is 1 otherwise)
  RSS         VmRSS of kpid serve after the warm-up, at the end, and the
              highest sample (once a second) in between; split into RssAnon
              (heap: what a leak would grow) and RssFile (pages of the
              memory-mapped store, which grow with the data ingested)
  latency     p50 / p99 / max per request kind, client side (loopback
              round trip, including time queued behind other requests) and
              server side (the Server-Timing header: time spent in kpid)
  throughput  requests/s and ingested events/s

With --wrk-connections N the queries come from wrk instead (Debian
package wrk): N keep-alive connections cycling through --wrk-paths fixed
read paths (the same mix, drawn once), while the ingest clients post;
wrk's latency distribution (p50 / p75 / p90 / p99, max) and its count of
non-2xx answers are printed. Many connections from one address need
max_connections_per_ip above N: the run's config sets it.

It never fails on a timing. bench/ is not run by CI. Timings depend on the
machine and on what else runs on it: say so with any figure you quote.

Usage:
  ./dev build
  bench/load.py --kpid build/release/cmd/kpid --invoices 20000 --seconds 45
"""
import argparse
import http.client
import json
import multiprocessing as mp
import os
import queue
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time


def serve(kpid, data, config):
    proc = subprocess.Popen([kpid, "serve", "--data", data, "--listen", "127.0.0.1:0",
                             "--config", config],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("kpid serve did not start")
        if b"listening on http://" in line:
            port = int(line.split(b"http://")[1].split()[0].rsplit(b":", 1)[1])
            return proc, port


def rss_kb(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return -1


def rss_all(pid):
    return tuple(rss_kb(pid, f) for f in ("VmRSS", "RssAnon", "RssFile"))


class Client:
    """One keep-alive connection; reconnects after a failure (counted)."""

    def __init__(self, port):
        self.port = port
        self.conn = None
        self.server_s = float("nan")

    def request(self, method, path, body=None, ctype=None):
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Content-Type": ctype} if ctype else {}
        if isinstance(body, str):  # names in any script: the wire is UTF-8
            body = body.encode("utf-8")
        try:
            self.conn.request(method, path, body=body, headers=headers)
            r = self.conn.getresponse()
            data = r.read()
            st = r.getheader("Server-Timing", "app;dur=nan")
            self.server_s = float(st.split("dur=")[1]) / 1000
            return r.status, data
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            self.conn = None
            return -1, str(e).encode()


def query_paths(rng, customers, first_year, last_year):
    y = rng.randint(first_year, last_year)
    m = rng.randint(1, 12)
    day = "%04d-%02d-%02d" % (y, m, rng.randint(1, 28))
    yfrom = "%04d-01-01" % max(first_year, y - 1)
    yto = "%04d-12-31" % y
    c = rng.choice(customers)
    return rng.choice([
        ("aging", "/v1/aging?as_of=%s&group_by=business_unit" % day),
        ("aging", "/v1/aging?as_of=%s&customer=%s" % (day, c)),
        ("dso", "/v1/dso?from=%s&to=%s&interval=month&method=%s"
         % (yfrom, yto, rng.choice(["standard", "countback", "best_possible", "add"]))),
        ("cei", "/v1/cei?from=%s&to=%s&interval=quarter" % (yfrom, yto)),
        ("rollforward", "/v1/rollforward?from=%s&to=%s&interval=month" % (yfrom, yto)),
        ("sla", "/v1/sla?sla=%s&from=%s&to=%s&interval=week"
         % (rng.choice(["ap-processing", "cash-application", "billing"]), yfrom, yto)),
        ("ftq", "/v1/ftq?kind=%s&from=%s&to=%s" % (rng.choice(["invoice", "bill"]), yfrom, yto)),
        ("customer", "/v1/customers/%s?as_of=%s" % (c, day)),
        ("events", "/v1/events?customer=%s&limit=100" % c),
    ])


def query_worker(port, seed, customers, years, start_at, stop_at, out):
    rng = random.Random(seed)
    cl = Client(port)
    lat, errors, samples = {}, 0, []
    while time.monotonic() < stop_at:
        kind, path = query_paths(rng, customers, *years)
        t0 = time.monotonic()
        status, data = cl.request("GET", path)
        dt = time.monotonic() - t0
        if status != 200:
            errors += 1
            if len(samples) < 5:
                samples.append("GET %s: %d %r" % (path, status, data[:200]))
        elif t0 >= start_at:
            lat.setdefault(kind, []).append((dt, cl.server_s))
    out.put({"lat": lat, "errors": errors, "samples": samples, "events": 0, "dups": 0})


def ingest_worker(port, batches, start_at, stop_at, out):
    cl = Client(port)
    lat, errors, samples, events, dups, i = [], 0, [], 0, 0, 0
    while time.monotonic() < stop_at:
        body = batches[i % len(batches)]
        i += 1
        t0 = time.monotonic()
        status, data = cl.request("POST", "/v1/events", body, "application/x-ndjson")
        dt = time.monotonic() - t0
        ok = status == 200
        if ok:
            r = json.loads(data)
            ok = r["rejected"] == [] and r["rejected_count"] == 0
            if t0 >= start_at:
                events += r["accepted"]
                dups += r["duplicates"]
        if not ok:
            errors += 1
            if len(samples) < 5:
                samples.append("POST: %d %r" % (status, data[:200]))
        elif t0 >= start_at:
            lat.append((dt, cl.server_s))
    out.put({"lat": {"ingest": lat}, "errors": errors, "samples": samples, "events": events,
             "dups": dups})


WRK_SCRIPT = """
paths = {%s}
n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n %% #paths) + 1])
end
"""


def run_wrk(port, paths, connections, seconds, work):
    """wrk over the fixed paths; its --latency report parsed into numbers."""
    script = os.path.join(work, "paths.lua")
    with open(script, "w") as f:
        f.write(WRK_SCRIPT % ", ".join('"%s"' % p for p in paths))
    r = subprocess.run(["wrk", "-t1", "-c%d" % connections, "-d%ds" % max(1, round(seconds)),
                        "--latency", "-s", script, "http://127.0.0.1:%d" % port],
                       capture_output=True, text=True, check=True)
    out = {"raw": r.stdout, "non2xx": 0, "errors": 0}
    unit = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    for line in r.stdout.splitlines():
        m = re.match(r"\s+(50|75|90|99)%\s+([\d.]+)(us|ms|s)$", line)
        if m:
            out["p%s" % m.group(1)] = float(m.group(2)) * unit[m.group(3)]
        m = re.match(r"\s+Latency\s+\S+\s+\S+\s+([\d.]+)(us|ms|s)", line)
        if m:
            out["max"] = float(m.group(1)) * unit[m.group(2)]
        m = re.match(r"\s+(\d+) requests in", line)
        if m:
            out["requests"] = int(m.group(1))
        m = re.match(r"\s+Non-2xx or 3xx responses: (\d+)", line)
        if m:
            out["non2xx"] = int(m.group(1))
        m = re.match(r"\s+Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                     line)
        if m:
            out["errors"] = sum(int(x) for x in m.groups())
    return out


def wrk_worker(port, paths, connections, start_at, stop_at, work, out):
    while time.monotonic() < start_at:
        time.sleep(0.01)
    w = run_wrk(port, paths, connections, stop_at - time.monotonic(), work)
    out.put({"wrk": w, "lat": {}, "errors": w["non2xx"] + w["errors"],
             "samples": [] if not (w["non2xx"] or w["errors"]) else [w["raw"]],
             "events": 0, "dups": 0})


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kpid", default="build/release/cmd/kpid")
    ap.add_argument("--invoices", type=int, default=20000, help="size of the book loaded first")
    ap.add_argument("--load-invoices", type=int, default=20000,
                    help="size of the second book posted during the run")
    ap.add_argument("--seconds", type=float, default=45)
    ap.add_argument("--warmup", type=float, default=5)
    ap.add_argument("--ingest-clients", type=int, default=2)
    ap.add_argument("--query-clients", type=int, default=4)
    ap.add_argument("--batch", type=int, default=200, help="events per POST")
    ap.add_argument("--threads", type=int, default=0,
                    help="kpid serve worker threads (config key threads; 0: the server default)")
    ap.add_argument("--wrk-connections", type=int, default=0,
                    help="queries from wrk with this many connections instead of the query "
                         "clients (0: the python query clients)")
    ap.add_argument("--wrk-paths", type=int, default=15, help="distinct read paths wrk cycles")
    ap.add_argument("--cache", action="store_true",
                    help="leave the response cache on (default off: the engine is measured)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a config key for kpid serve (JSON value), e.g. --set writer_nice=0")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--work", default=None, help="work directory (default: a temporary one)")
    a = ap.parse_args()
    kpid = os.path.abspath(a.kpid)
    work = a.work or tempfile.mkdtemp(prefix="kpid-load-")
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "data")
    proc = None
    try:
        book = os.path.join(work, "book.ndjson")
        more = os.path.join(work, "more.ndjson")
        subprocess.run([kpid, "gen", "--invoices", str(a.invoices), "--seed", str(a.seed),
                        "--out", book], check=True)
        # Another seed: other ids and document numbers, so every posted
        # event is new until the second book runs out (then duplicates).
        subprocess.run([kpid, "gen", "--invoices", str(a.load_invoices), "--seed",
                        str(a.seed + 1000), "--out", more], check=True)
        subprocess.run([kpid, "ingest", "--data", data, "--quiet", book], check=True)
        customers, years = set(), [9999, 0]
        with open(book) as f:
            for n, line in enumerate(f):
                if n % 20 == 0:
                    e = json.loads(line)
                    if "customer" in e:
                        customers.add(e["customer"])
                    y = int(e["time"][:4])
                    years = [min(years[0], y), max(years[1], y)]
        with open(more) as f:
            lines = f.readlines()
        chunks = [lines[i:i + a.batch] for i in range(0, len(lines), a.batch)]
        # Each ingest client takes every k-th batch, so clients never send
        # the same batch at the same time.
        per_client = [["".join(c) for c in chunks[k::a.ingest_clients]]
                      for k in range(a.ingest_clients)]

        cfg = os.path.join(work, "kpid.json")
        conf = {"max_connections_per_ip": max(64, a.wrk_connections + a.ingest_clients + 8)}
        if a.threads:
            conf["threads"] = a.threads
        if not a.cache:
            conf["response_cache_mb"] = 0
        for kv in a.set:
            k, v = kv.split("=", 1)
            conf[k] = json.loads(v)
        with open(cfg, "w") as f:
            json.dump(conf, f)
        proc, port = serve(kpid, data, cfg)
        rss_start = rss_all(proc.pid)
        now = time.monotonic()
        start_at = now + a.warmup
        stop_at = start_at + a.seconds
        out = mp.Queue()
        procs = [mp.Process(target=ingest_worker, args=(port, per_client[k], start_at, stop_at,
                                                        out)) for k in range(a.ingest_clients)]
        cust = sorted(customers)
        if a.wrk_connections:
            rng = random.Random(a.seed)
            paths = [query_paths(rng, cust, *years)[1] for _ in range(a.wrk_paths)]
            procs.append(mp.Process(target=wrk_worker, args=(port, paths, a.wrk_connections,
                                                             start_at, stop_at, work, out)))
        else:
            procs += [mp.Process(target=query_worker, args=(port, a.seed * 100 + k, cust,
                                                            tuple(years), start_at, stop_at, out))
                      for k in range(a.query_clients)]
        for p in procs:
            p.start()
        while time.monotonic() < start_at:
            time.sleep(0.05)
        rss_before = rss_all(proc.pid)
        rss_max = rss_before
        while time.monotonic() < stop_at:
            time.sleep(1)
            rss_max = tuple(max(x, y) for x, y in zip(rss_max, rss_all(proc.pid)))
        # A worker that died (an exception) sends nothing: stop with its exit
        # code rather than wait for its result forever.
        results = []
        while len(results) < len(procs):
            try:
                results.append(out.get(timeout=5))
            except queue.Empty:
                dead = [p for p in procs if p.exitcode not in (None, 0)]
                if dead:
                    sys.exit("load.py: a worker failed (exit code %d); see its traceback above"
                             % dead[0].exitcode)
        for p in procs:
            p.join()
        rss_after = rss_all(proc.pid)

        lat, errors, samples, events, dups, wrk = {}, 0, [], 0, 0, None
        for r in results:
            wrk = r.get("wrk", wrk)
            for k, v in r["lat"].items():
                lat.setdefault(k, []).extend(v)
            errors += r["errors"]
            samples += r["samples"]
            events += r["events"]
            dups += r["dups"]
        total = sum(len(v) for v in lat.values()) + (wrk["requests"] if wrk else 0)
        queries = ("wrk with %d connections over %d paths" % (a.wrk_connections, a.wrk_paths)
                   if a.wrk_connections else "%d query clients" % a.query_clients)
        print("kpid load: %s, book %d invoices, %d ingest clients + %s, batch %d, "
              "%.0f s (after %.0f s warm-up), config %s, %d CPUs, load average %s"
              % (kpid, a.invoices, a.ingest_clients, queries, a.batch, a.seconds,
                 a.warmup, json.dumps(conf, sort_keys=True), os.cpu_count(),
                 " ".join("%.1f" % x for x in os.getloadavg())))
        print("errors: %d" % errors)
        for s in samples[:10]:
            print("  " + s)
        for i, name in enumerate(("VmRSS", "RssAnon", "RssFile")):
            print("%-8s kpid serve: %7d kB at start, %7d kB after warm-up, %7d kB at the end "
                  "(max %d kB)" % (name, rss_start[i], rss_before[i], rss_after[i], rss_max[i]))
        print("requests: %d in %.0f s = %.0f/s; ingested %d new events (%.0f/s), %d duplicates"
              % (total, a.seconds, total / a.seconds, events, events / a.seconds, dups))
        print("%-12s %7s %10s %10s %10s %12s %12s" % ("kind", "count", "p50 ms", "p99 ms",
                                                      "max ms", "server p50", "server p99"))
        for k in sorted(lat):
            v = [x[0] for x in lat[k]]
            sv = [x[1] for x in lat[k]]
            if v:
                print("%-12s %7d %10.2f %10.2f %10.2f %12.2f %12.2f"
                      % (k, len(v), pct(v, 0.5), pct(v, 0.99), max(v) * 1000, pct(sv, 0.5),
                         pct(sv, 0.99)))
        if wrk:
            print("%-12s %7d %10.2f %10.2f %10.2f   (wrk: p75 %.2f, p90 %.2f ms; %d non-2xx, "
                  "%d socket errors)"
                  % ("wrk reads", wrk["requests"], wrk.get("p50", float("nan")),
                     wrk.get("p99", float("nan")), wrk.get("max", float("nan")),
                     wrk.get("p75", float("nan")), wrk.get("p90", float("nan")),
                     wrk["non2xx"], wrk["errors"]))
        return 1 if errors else 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
