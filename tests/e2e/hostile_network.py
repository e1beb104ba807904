#!/usr/bin/env python3
"""A hostile network against the real exporter, on loopback.

While 1,000 idle connections and 100 slowloris connections (one header byte a second) come from a
disallowed address (127.0.0.2; only 127.0.0.1/32 is allowed), an allowed client scrapes /metrics
every 100 ms for 20 s over one keep-alive connection, opened before the attack begins (a scrape
whose connection was closed opens a new one). Every --reopen-every seconds (1 s) the
attackers re-open all the connections the exporter closed, as slowloris tools do on each cycle. The test fails when a scrape fails (no 200 within the
scrape timeout, Prometheus' way of failing); the latencies are printed (p50, p99, max) for the
notes and the benchmark, not asserted here.

  hostile_network.py --bin-dir DIR [--wine WINE_RUN_SCRIPT --wine-prefix DIR]
  hostile_network.py --url http://127.0.0.1:PORT/metrics     (any server already running)
"""
import argparse
import errno
import http.client
import json
import os
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Attack(threading.Thread):
    """Keeps `idle` silent connections and `slow` slowloris connections open from `source`."""

    def __init__(self, host, port, source, idle, slow, reopen_every):
        super().__init__(daemon=True)
        self.target = (host, port)
        self.source = source
        self.want = {"idle": idle, "slow": slow}
        self.reopen_every = reopen_every
        self.open = {"idle": set(), "slow": set()}
        self.kind = {}
        self.sent = {}  # slowloris socket -> header bytes sent
        self.selector = selectors.DefaultSelector()
        self.stop_event = threading.Event()
        self.connects = 0
        self.closed_by_server = 0
        self.connect_errors = 0

    def connect(self, kind):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((self.source, 0))
            s.connect_ex(self.target)
        except OSError:
            self.connect_errors += 1
            s.close()
            return
        self.connects += 1
        self.open[kind].add(s)
        self.kind[s] = kind
        self.selector.register(s, selectors.EVENT_READ)
        if kind == "slow":
            self.sent[s] = 0

    def drop(self, s):
        self.selector.unregister(s)
        self.open[self.kind.pop(s)].discard(s)
        self.sent.pop(s, None)
        s.close()

    def top_up(self, budget):
        # Both kinds get a share of every round, so neither starves the other.
        total = sum(self.want.values()) or 1
        for kind, want in self.want.items():
            share = max(1, budget * want // total)
            while len(self.open[kind]) < want and share > 0:
                self.connect(kind)
                share -= 1

    def run(self):
        next_drip = next_reopen = time.monotonic()
        while not self.stop_event.is_set():
            if time.monotonic() >= next_reopen:
                # What slowloris tools do: on every cycle, re-open what the server closed.
                next_reopen += self.reopen_every
                self.top_up(sum(self.want.values()))
            for key, _ in self.selector.select(timeout=0.05):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    self.closed_by_server += 1
                    self.drop(s)
            if time.monotonic() >= next_drip:
                next_drip += 1.0
                header = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-a: " + b"b" * 10000
                for s in list(self.open["slow"]):
                    try:
                        at = self.sent[s] % len(header)
                        s.send(header[at:at + 1])
                        self.sent[s] += 1
                    except OSError as error:
                        if error.errno not in (errno.EAGAIN, errno.ENOTCONN):
                            self.closed_by_server += 1
                            self.drop(s)
        for s in list(self.kind):
            self.drop(s)

    def stop(self):
        self.stop_event.set()
        self.join()


def connect_and_scrape(host, port, path, source, timeout):
    """A keep-alive connection that has served one scrape (Prometheus holds one per target)."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout,
                                            source_address=(source, 0))
    connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
    response = connection.getresponse()
    response.read()
    if response.status != 200:
        sys.exit("the first scrape got %d" % response.status)
    return connection


def scrape_loop(connection, host, port, path, source, period, duration, timeout):
    """GET `path` every `period` over one keep-alive connection; returns (latencies, failures,
    new connections)."""
    latencies, failures, connections = [], [], 1
    end = time.monotonic() + duration
    next_at = time.monotonic()
    while time.monotonic() < end:
        now = time.monotonic()
        if now < next_at:
            time.sleep(next_at - now)
        next_at += period
        start = time.monotonic()
        for attempt in range(2):
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(host, port, timeout=timeout,
                                                            source_address=(source, 0))
                    connections += 1
                connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
                response = connection.getresponse()
                body = response.read()
                if response.status != 200 or not body:
                    failures.append("status %d" % response.status)
                else:
                    latencies.append(time.monotonic() - start)
                if response.will_close:
                    connection.close()
                    connection = None
                break
            except (http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError) as error:
                # A keep-alive connection the server closed between scrapes: retried once on a
                # new connection, as Go's and Python's clients do for idempotent requests.
                connection.close()
                connection = None
                if attempt == 1:
                    failures.append(repr(error))
            except OSError as error:
                if connection is not None:
                    connection.close()
                connection = None
                failures.append(repr(error))
                break
    if connection is not None:
        connection.close()
    return latencies, failures, connections


def percentile(values, p):
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100.0 * (len(ordered) - 1))))]


def start_exporter(args):
    port = free_port()
    directory = tempfile.mkdtemp(prefix="thx-hostile-")
    config = os.path.join(directory, "config.json")
    with open(config, "w") as f:
        json.dump({"web": {"allowed_networks": ["127.0.0.1/32"]},
                   "collection": {"interval": "1s"}}, f)
    exe = os.path.join(args.bin_dir, "toolhelp_exporter" + (".exe" if args.wine else ""))
    command = [exe, "--web.listen-address=127.0.0.1:%d" % port, "--config.file=" + config]
    if args.wine:
        command = [args.wine, "--prefix=" + args.wine_prefix] + command
    log = open(os.path.join(directory, "log.txt"), "w+")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        if process.poll() is not None:
            break
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            if c.getresponse().status == 200:
                return process, port, log, directory
        except OSError:
            pass
        time.sleep(0.2)
    log.seek(0)
    sys.exit("exporter did not become healthy:\n" + log.read())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir")
    parser.add_argument("--wine")
    parser.add_argument("--wine-prefix")
    parser.add_argument("--url", help="attack a server already running instead")
    parser.add_argument("--idle", type=int, default=1000)
    parser.add_argument("--slow", type=int, default=100)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--period", type=float, default=0.1)
    parser.add_argument("--timeout", type=float, default=2.0, help="a scrape slower fails")
    parser.add_argument("--reopen-every", type=float, default=1.0,
                        help="seconds between the attackers' rounds of re-opening closed sockets")
    parser.add_argument("--attacker", default="127.0.0.2")
    parser.add_argument("--client", default="127.0.0.1")
    args = parser.parse_args()

    process = log = directory = None
    if args.url:
        url = urllib.parse.urlsplit(args.url)
        host, port, path = url.hostname, url.port, url.path or "/"
    else:
        process, port, log, directory = start_exporter(args)
        host, path = "127.0.0.1", "/metrics"
    try:
        connection = connect_and_scrape(host, port, path, args.client, args.timeout)
        attack = Attack(host, port, args.attacker, args.idle, args.slow, args.reopen_every)
        attack.start()
        time.sleep(2)  # let the attack build up before measuring
        latencies, failures, connections = scrape_loop(connection, host, port, path, args.client,
                                                       args.period, args.duration, args.timeout)
        attack.stop()
        if process is not None and process.poll() is not None:
            failures.append("exporter exited with %d" % process.returncode)
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            log.close()
            shutil.rmtree(directory, ignore_errors=True)

    ms = [1000 * x for x in latencies]
    print("scrapes %d ok, %d failed over %d connection(s); latency ms p50 %.1f p99 %.1f max %.1f; "
          "attacker connects %d, closed by server %d, connect errors %d"
          % (len(latencies), len(failures), connections, percentile(ms, 50), percentile(ms, 99),
             max(ms) if ms else float("nan"), attack.connects, attack.closed_by_server,
             attack.connect_errors))
    if failures:
        print("failures (first 5): %s" % failures[:5])
        return 1
    if not latencies:
        print("no scrape was made")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
