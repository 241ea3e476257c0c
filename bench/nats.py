#!/usr/bin/env python3
"""Events per second through NATS JetStream to two kpid nodes, and the lag
under load (docs/operations.md, "Many nodes").

It generates a book (`kpid gen`), starts a nats-server with JetStream on a
free loopback port (its own store directory), two `kpid serve --nats` nodes
on empty data directories, then publishes the book with `kpid publish`
while it samples both nodes' /healthz (stream sequence, applied sequence,
lag) every --sample-ms. It prints:

  publish     events acknowledged by the stream per second (kpid publish's
              own figure: parse, validate, render, publish, wait for acks)
  apply       per node: events applied per second, from the first publish
              to the node holding the whole stream
  lag         per node: the highest and the mean lag sampled while
              publishing, and how long the node took to catch up after the
              last acknowledgement

It never fails on a timing; figures depend on the machine (bench/README.md
records them with the command line). bench/ is not run by CI.

  bench/nats.py --kpid build/release/cmd/kpid --invoices 20000
"""
import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/healthz" % port, timeout=5) as r:
        return json.load(r)


def start_node(kpid, tmp, name, url):
    conf = os.path.join(tmp, name + ".json")
    with open(conf, "w") as f:
        json.dump({"nats": {"url": url, "durable": "bench-" + name}}, f)
    log = open(os.path.join(tmp, name + ".log"), "ab")
    p = subprocess.Popen([kpid, "serve", "--data", os.path.join(tmp, name), "--listen",
                          "127.0.0.1:0", "--config", conf], stdout=subprocess.PIPE, stderr=log)
    for line in p.stdout:
        if b"listening on http://" in line:
            return p, int(line.split(b"://")[1].split()[0].rsplit(b":", 1)[1])
    raise RuntimeError("kpid serve %s did not start" % name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kpid", default="build/release/cmd/kpid")
    ap.add_argument("--invoices", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--batch", type=int, default=1000, help="kpid publish --batch")
    ap.add_argument("--sample-ms", type=int, default=50)
    a = ap.parse_args()
    nats_server = shutil.which("nats-server")
    if nats_server is None:
        sys.exit("bench/nats.py: nats-server not found (Debian package nats-server)")
    tmp = tempfile.mkdtemp(prefix="kpid-bench-nats-")
    procs = []
    try:
        events = os.path.join(tmp, "events.ndjson")
        with open(events, "wb") as f:
            subprocess.run([a.kpid, "gen", "--invoices", str(a.invoices), "--seed", str(a.seed)],
                           stdout=f, check=True)
        with open(events, "rb") as f:
            n_events = sum(1 for _ in f)
        port = free_port()
        nats = subprocess.Popen([nats_server, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd",
                                 os.path.join(tmp, "js")], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        procs.append(nats)
        url = "nats://127.0.0.1:%d" % port
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        nodes = []
        for name in ("a", "b"):
            p, hp = start_node(a.kpid, tmp, name, url)
            procs.append(p)
            nodes.append((name, hp))
        samples = {name: [] for name, _ in nodes}
        done_at = {}
        stop = threading.Event()

        def sampler():
            while not stop.is_set():
                for name, hp in nodes:
                    n = health(hp)["nats"]
                    samples[name].append((time.monotonic(), n["lag"], n["applied_sequence"]))
                    if n["applied_sequence"] >= n_events and name not in done_at:
                        done_at[name] = time.monotonic()
                if len(done_at) == len(nodes):
                    return
                time.sleep(a.sample_ms / 1000)

        t0 = time.monotonic()
        th = threading.Thread(target=sampler)
        th.start()
        pub = subprocess.run([a.kpid, "publish", "--quiet", "--batch", str(a.batch), "--nats", url,
                              events], capture_output=True, check=True)
        t_pub = time.monotonic()
        th.join(timeout=600)
        stop.set()
        print("events: %d (%d invoices, seed %d), one message each, batch %d" %
              (n_events, a.invoices, a.seed, a.batch))
        print("publish: %s" % pub.stdout.decode().strip())
        print("publish: %.0f events/s acknowledged by the stream (wall %.2f s)" %
              (n_events / (t_pub - t0), t_pub - t0))
        for name, _ in nodes:
            during = [lag for t, lag, _ in samples[name] if t <= t_pub]
            end = done_at.get(name)
            print("node %s: applied %d events in %.2f s: %.0f events/s; lag while publishing: "
                  "max %d, mean %.0f messages (%d samples); caught up %.2f s after the last ack" %
                  (name, n_events, (end or t_pub) - t0, n_events / ((end or t_pub) - t0),
                   max(during or [0]), sum(during) / len(during) if during else 0, len(during),
                   (end - t_pub) if end else float("nan")))
    finally:
        for p in reversed(procs):
            p.terminate()
            p.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
