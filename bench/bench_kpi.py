#!/usr/bin/env python3
"""KPI query and ingest benchmark. Prints figures; never fails on a timing.

For each book size it generates a book (`kpid gen`), loads it with
`kpid ingest` (events/s), starts `kpid serve` on a free loopback port and
times, from the server's own Server-Timing header (time spent in kpid) and
from the client (loopback round trip):

  aging-bu   aging of the whole book as of a random day, grouped by unit
  dso-24m    a 24-month monthly standard DSO series
  dso-cb     the same series by countback
  customer   a random customer's profile

Usage:
  ./dev build
  bench/bench_kpi.py --kpid build/release/cmd/kpid --invoices 100000,1000000

The 10x step shows whether query time is flat as the book grows.
"""
import argparse
import datetime
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time


def serve(kpid, data):
    proc = subprocess.Popen([kpid, "serve", "--data", data, "--listen", "127.0.0.1:0"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit("kpid serve did not start")
        if b"listening on http://" in line:
            port = int(line.split(b"http://")[1].split()[0].rsplit(b":", 1)[1])
            return proc, port


def timed_get(conn, path):
    t0 = time.perf_counter()
    conn.request("GET", path)
    r = conn.getresponse()
    body = r.read()
    client_ms = (time.perf_counter() - t0) * 1000
    if r.status != 200:
        raise SystemExit("GET %s: %d %s" % (path, r.status, body[:300]))
    st = r.getheader("Server-Timing", "app;dur=nan")
    return float(st.split("dur=")[1]), client_ms


def summary(xs):
    xs = sorted(xs)
    return statistics.median(xs), xs[int(len(xs) * 0.95) - 1], xs[-1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kpid", default="build/release/cmd/kpid")
    ap.add_argument("--invoices", default="100000,1000000")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--work", default=None, help="work directory (default: a temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep generated files and stores")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse gN.ndjson and dN in --work when they exist (skip gen and ingest)")
    a = ap.parse_args()
    kpid = os.path.abspath(a.kpid)
    work = a.work or tempfile.mkdtemp(prefix="kpid-bench-")
    os.makedirs(work, exist_ok=True)
    rng = random.Random(a.seed)
    print("kpid bench: %s, work dir %s, %d runs per query" % (kpid, work, a.runs))
    try:
        for n in [int(x) for x in a.invoices.split(",")]:
            gen = os.path.join(work, "g%d.ndjson" % n)
            data = os.path.join(work, "d%d" % n)
            reuse = a.reuse and os.path.exists(gen) and os.path.isdir(data)
            tg = ti = float("nan")
            if not reuse:
                shutil.rmtree(data, ignore_errors=True)
                t0 = time.perf_counter()
                subprocess.run([kpid, "gen", "--invoices", str(n), "--seed", str(a.seed),
                                "--out", gen], check=True)
                tg = time.perf_counter() - t0
            lines = 0
            customers = set()
            first = last = None
            with open(gen, "rb") as f:
                for line in f:
                    lines += 1
                    if lines % 50 == 1:
                        e = json.loads(line)
                        if "customer" in e:
                            customers.add(e["customer"])
                        d = e["time"][:10]
                        first = first or d
                        last = d
            if not reuse:
                t0 = time.perf_counter()
                subprocess.run([kpid, "ingest", "--data", data, "--quiet", gen], check=True)
                ti = time.perf_counter() - t0
            print("\n== %d invoices: %d events (%.1f MB), gen %.1f s, ingest %.1f s = %.0f events/s"
                  % (n, lines, os.path.getsize(gen) / 1e6, tg, ti, lines / ti))
            proc, port = serve(kpid, data)
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
                d0 = datetime.date.fromisoformat(first)
                d1 = datetime.date.fromisoformat(last)
                span = (d1 - d0).days
                end = d1.replace(day=1) - datetime.timedelta(days=1)
                start = (end.replace(day=1) - datetime.timedelta(days=700)).replace(day=1)
                cust = sorted(customers)
                queries = {
                    "aging-bu": lambda: "/v1/aging?group_by=business_unit&as_of=%s"
                    % (d0 + datetime.timedelta(days=rng.randrange(span + 1))).isoformat(),
                    "dso-24m": lambda: "/v1/dso?interval=month&from=%s&to=%s"
                    % (start.isoformat(), end.isoformat()),
                    "dso-cb": lambda: "/v1/dso?interval=month&method=countback&from=%s&to=%s"
                    % (start.isoformat(), end.isoformat()),
                    "customer": lambda: "/v1/customers/%s?as_of=%s"
                    % (rng.choice(cust).replace(" ", "%20"), last),
                }
                print("%-10s %12s %12s %12s %14s" % ("query", "server p50", "server p95",
                                                     "server max", "client p50 ms"))
                for name, q in queries.items():
                    for _ in range(10):
                        timed_get(conn, q())
                    srv, cli = [], []
                    for _ in range(a.runs):
                        s, c = timed_get(conn, q())
                        srv.append(s)
                        cli.append(c)
                    p50, p95, mx = summary(srv)
                    print("%-10s %9.3f ms %9.3f ms %9.3f ms %14.3f" % (name, p50, p95, mx,
                                                                      statistics.median(cli)))
                conn.close()
            finally:
                proc.terminate()
                proc.wait()
    finally:
        if not a.keep and a.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
