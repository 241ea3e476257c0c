#!/usr/bin/env python3
"""Time one query on a running kpid server, as bench/run times its rows.

    bench/timeq.py --port 8080 --calls 300 '/v1/aging?group_by=customer&sort=-overdue&limit=100'

N calls over one keep-alive connection after 20 warm-up calls; the time is
the server's own Server-Timing (request parsed to response queued). Run it
against a server whose config has {"response_cache_mb": 0}: a call answered
by the response cache (X-Kpid-Cache: hit) stops the run, since it would not
time the engine. Prints p50, p99 and max; never fails on a timing.
"""
import argparse
import http.client
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--port", type=int, default=8080)
    ap.add_argument("--calls", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("path")
    a = ap.parse_args()
    c = http.client.HTTPConnection("127.0.0.1", a.port, timeout=120)
    v = []
    for i in range(a.warmup + a.calls):
        c.request("GET", a.path)
        r = c.getresponse()
        r.read()
        if r.status != 200:
            sys.exit("timeq: %s answered %d" % (a.path, r.status))
        if r.getheader("X-Kpid-Cache") == "hit":
            sys.exit("timeq: answered by the response cache: start the server with "
                     "{\"response_cache_mb\": 0}")
        if i >= a.warmup:
            v.append(float(r.getheader("Server-Timing", "app;dur=nan").split("dur=")[1]))
    v.sort()
    print("%s: p50 %.3f ms, p99 %.3f ms, max %.3f ms (%d calls, server time)"
          % (a.path, v[len(v) // 2], v[min(len(v) - 1, int(len(v) * 0.99))], v[-1], len(v)))


if __name__ == "__main__":
    main()
