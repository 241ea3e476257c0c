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
import random
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
                    help="kpid serve worker threads (config key threads; 0: one per CPU)")
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
        with open(cfg, "w") as f:
            json.dump({"threads": a.threads} if a.threads else {}, f)
        proc, port = serve(kpid, data, cfg)
        rss_start = rss_all(proc.pid)
        now = time.monotonic()
        start_at = now + a.warmup
        stop_at = start_at + a.seconds
        out = mp.Queue()
        procs = [mp.Process(target=ingest_worker, args=(port, per_client[k], start_at, stop_at,
                                                        out)) for k in range(a.ingest_clients)]
        cust = sorted(customers)
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
        results = [out.get() for _ in procs]
        for p in procs:
            p.join()
        rss_after = rss_all(proc.pid)

        lat, errors, samples, events, dups = {}, 0, [], 0, 0
        for r in results:
            for k, v in r["lat"].items():
                lat.setdefault(k, []).extend(v)
            errors += r["errors"]
            samples += r["samples"]
            events += r["events"]
            dups += r["dups"]
        total = sum(len(v) for v in lat.values())
        print("kpid load: %s, book %d invoices, %d ingest + %d query clients, batch %d, "
              "%.0f s (after %.0f s warm-up), %d CPUs, server threads %s, load average %s"
              % (kpid, a.invoices, a.ingest_clients, a.query_clients, a.batch, a.seconds,
                 a.warmup, os.cpu_count(), a.threads or "one per CPU",
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
        return 1 if errors else 0
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
