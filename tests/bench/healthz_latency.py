#!/usr/bin/env python3
"""/healthz latency while cycles run with a large configuration (issue 13: a long modules.exclude
list once made every cycle match every module path against every pattern while holding the lock
the pages take).

Writes a configuration of about --config-mb megabytes (modules.exclude patterns that match
nothing), starts `toolhelp_exporter serve` on a loopback port with a short interval, waits for the
first snapshot, then asks /healthz back to back for --seconds and prints the latency percentiles
as JSON. A benchmark: it measures and prints, it asserts nothing.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import http.client


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_config(path, megabytes, port):
    patterns = []
    size = 0
    i = 0
    while size < megabytes * 1024 * 1024:
        pattern = f"^/opt/never/installed/vendor{i:07d}/lib/libnothing_at_all_{i:07d}\\.so$"
        patterns.append(pattern)
        size += len(pattern) + 4
        i += 1
    config = {
        "web": {"listen_address": f"127.0.0.1:{port}"},
        "collection": {"interval": "1s", "module_interval": "1s"},
        "modules": {"exclude": patterns},
    }
    with open(path, "w", encoding="utf-8") as out:
        json.dump(config, out)
    return len(patterns), os.path.getsize(path)


def get(port, path, timeout=60):
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        status = response.status
    except OSError:
        status = 0
    finally:
        connection.close()
    return status, time.perf_counter() - started


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--config-mb", type=float, default=6.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        config_path = os.path.join(folder, "config.json")
        patterns, size = write_config(config_path, args.config_mb, port)
        server = subprocess.Popen(
            [args.binary, "serve", f"--config.file={config_path}", "--log.level=warn"],
            start_new_session=True)
        try:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                status, _ = get(port, "/healthz", timeout=5)
                if status == 200:
                    break
                if server.poll() is not None:
                    sys.exit("exporter ended before its first snapshot")
                time.sleep(0.2)
            latencies = []
            statuses = {}
            end = time.monotonic() + args.seconds
            while time.monotonic() < end:
                status, seconds = get(port, "/healthz")
                latencies.append(seconds)
                statuses[status] = statuses.get(status, 0) + 1
            print(json.dumps({
                "config_bytes": size,
                "exclude_patterns": patterns,
                "requests": len(latencies),
                "statuses": statuses,
                "p50_ms": round(percentile(latencies, 0.50) * 1000, 2),
                "p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
                "max_ms": round(max(latencies) * 1000, 2),
            }))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
