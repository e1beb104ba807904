#!/usr/bin/env python3
"""Performance harness of toolhelp_exporter: one run, one machine, one table.

For each load size (N processes x T threads, sleeping; some with many shared libraries loaded,
made by thx_bench_load) it measures the CPU of one snapshot cycle or one scrape of:

  bare reads      thx_bare_reads: the procfs files a default snapshot needs, read with no model
                  (stat, exe, task/, maps per process; and without maps, the cached-modules cycle)
  cycle           thx_bench_cycle: the real source + aggregator + exposition in-process
                  (full: maps re-read every cycle; steady: the default 5 minute module interval)
  toolhelp        the long-running toolhelp_exporter (default configuration but the interval),
                  scraped once per cycle: CPU from /proc/<pid>/stat per cycle
  process-exporter, node_exporter (processes collector only; for /metrics latency its textfile
  collector serving the synthetic exposition): Debian's packages, run directly on
                  loopback ports and scraped the same number of times: CPU per scrape

plus peak RSS (VmHWM) of each server, /metrics latency percentiles with 1 and 16 clients (wrk)
for the real exporter and for a synthetic aggregate of 5,000 module series in a real HttpServer
(served like the exporter serves /metrics: text rendered once, shared by every scrape),
and memory under churn. Prints one table, writes every number as JSON (--out).

Every process it starts runs in a process group of its own and is ended, even on failure.
"""

import argparse
import atexit
import json
import math
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROCESS_EXPORTER = "prometheus-process-exporter"
NODE_EXPORTER = "prometheus-node-exporter"
DEBIAN_PACKAGES = {PROCESS_EXPORTER: PROCESS_EXPORTER, NODE_EXPORTER: NODE_EXPORTER, "wrk": "wrk"}

# process-exporter: every process in a group named after its comm (the project's own example).
PROCESS_EXPORTER_CONFIG = """process_names:
  - name: "{{.Comm}}"
    cmdline:
    - '.+'
"""

# ---------------------------------------------------------------------------------------------
# Processes we start: all in groups of their own, all ended at exit whatever happens.

_groups = {}  # pgid -> Popen


def _end_group(proc, grace):
    """SIGTERM to the group, then SIGKILL after `grace` seconds; waits until the group is gone."""
    pgid = proc.pid
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            if proc.poll() is None:
                time.sleep(0.05)
                continue
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)
    proc.poll()


def start(args, grace=30.0, **kwargs):
    proc = subprocess.Popen(args, start_new_session=True, **kwargs)
    proc.grace = grace
    _groups[proc.pid] = proc
    return proc


def stop(proc):
    if proc is None or proc.pid not in _groups:
        return
    _end_group(proc, proc.grace)
    del _groups[proc.pid]
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream:
            stream.close()


def stop_all():
    for proc in list(_groups.values()):
        stop(proc)


def _on_signal(signum, _frame):
    stop_all()
    sys.exit(128 + signum)


atexit.register(stop_all)
for _sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
    signal.signal(_sig, _on_signal)

# ---------------------------------------------------------------------------------------------
# Small helpers.


def log(*parts):
    print(*parts, file=sys.stderr, flush=True)


def load_average():
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def machine_cpu_ticks():
    """(busy, total) ticks of all CPUs from /proc/stat: how busy the machine was over a run."""
    with open("/proc/stat") as f:
        values = [int(x) for x in f.readline().split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return sum(values) - idle, sum(values)


def busy_fraction(before, after):
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total else 0.0


def cpu_seconds(pid):
    """utime + stime of a process (all its threads) from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def peak_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return 0


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(url, timeout=120):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read().decode("utf-8", "replace")


def wait_http(url, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            return scrape(url, timeout=timeout)
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout}s")


def sample_count(text):
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def metric_value(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{}"):
            return float(line.rsplit(" ", 1)[1])
    return None


def run_json(args, timeout=1800):
    done = subprocess.run(args, check=True, capture_output=True, text=True, timeout=timeout,
                          start_new_session=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_debian_packages(names):
    missing = [DEBIAN_PACKAGES[n] for n in names if shutil.which(n) is None]
    if not missing:
        return
    log(f"installing {', '.join(missing)} with apt-get (their services are not started)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    # policy-rc.d exit 101 keeps the packages' init scripts from starting the services here.
    policy = "/usr/sbin/policy-rc.d"
    made_policy = not os.path.exists(policy)
    if made_policy:
        with open(policy, "w") as f:
            f.write("#!/bin/sh\nexit 101\n")
        os.chmod(policy, 0o755)
    try:
        subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing],
                       check=False, env=env, stdout=subprocess.DEVNULL)
        if any(shutil.which(n) is None for n in names):
            subprocess.run(["apt-get", "update"], check=False, env=env, stdout=subprocess.DEVNULL)
            subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", *missing],
                           check=True, env=env, stdout=subprocess.DEVNULL)
    finally:
        if made_policy:
            os.unlink(policy)
    # Debian's postinst may still have started a service where systemd runs: stop it, we run the
    # binaries ourselves on ports of our own.
    if shutil.which("systemctl") and os.path.isdir("/run/systemd/system"):
        for unit in ("prometheus-process-exporter", "prometheus-node-exporter"):
            subprocess.run(["systemctl", "stop", unit], check=False,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------------
# The load.


class Load:
    def __init__(self, bindir, processes, threads, heavy_percent, libs, churn=0.0):
        self.args = [os.path.join(bindir, "thx_bench_load"), "--processes", str(processes),
                     "--threads", str(threads), "--heavy-percent", str(heavy_percent),
                     "--libs", str(libs), "--churn", str(churn)]
        self.proc = None
        self.ready_line = ""

    def __enter__(self):
        log("load:", " ".join(self.args[1:]))
        started = time.monotonic()
        self.proc = start(self.args, grace=60.0, stdout=subprocess.PIPE, text=True)
        self.ready_line = self.proc.stdout.readline().strip()
        if not self.ready_line.startswith("ready"):
            raise RuntimeError(f"thx_bench_load did not start ({self.proc.wait()})")
        log(f"load: {self.ready_line} ({time.monotonic() - started:.1f}s)")
        time.sleep(2.0)  # let the forks settle
        return self

    def __exit__(self, *exc):
        stop(self.proc)


# ---------------------------------------------------------------------------------------------
# Measurements.


def measure_bare(bindir, cycles):
    out = {}
    # The default cycle reads the resources files (statm, io, fd/) too: so do its floors.
    for name, extra in (("all", ["--resources"]), ("no_maps", ["--no-maps", "--resources"]),
                        ("no_maps_no_resources", ["--no-maps"])):
        out[name] = run_json([os.path.join(bindir, "thx_bare_reads"), "--cycles", str(cycles),
                              *extra])
    return out


def measure_cycle(bindir, cycles):
    program = os.path.join(bindir, "thx_bench_cycle")
    full = run_json([program, "real", "--cycles", str(cycles), "--module-interval", "0"])
    steady = run_json([program, "real", "--cycles", str(cycles)])
    for result in (full, steady):
        result.pop("cycle_cpu_seconds_all", None)
    return {"full": full, "steady": steady}


def write_config(tmp, name, config):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        json.dump(config, f)
    return path


class ToolhelpServer:
    """The long-running exporter on a free loopback port: with no configuration file at all (the
    embedded defaults, interval 15 s) when interval_ms is None, else the defaults but the
    interval."""

    def __init__(self, binary, tmp, interval_ms=None, min_snapshots=2):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        self.interval = (interval_ms or 15_000) / 1000.0
        self.min_snapshots = min_snapshots
        self.args = [binary, "serve", f"--web.listen-address=127.0.0.1:{self.port}",
                     "--log.level=error"]
        if interval_ms is not None:
            config = {"collection": {"interval": f"{interval_ms}ms"}}
            self.args.append("--config.file=" + write_config(tmp, "toolhelp.json", config))
        self.proc = None

    def __enter__(self):
        self.proc = start(self.args, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:  # metrics appear after the first snapshot
            text = wait_http(self.url, self.proc)
            if (metric_value(text, "toolhelp_snapshots_total") or 0) >= self.min_snapshots:
                return self
            time.sleep(min(self.interval, 0.5))
        raise RuntimeError("toolhelp_exporter took too few snapshots in 300s")

    def __exit__(self, *exc):
        stop(self.proc)


def measure_toolhelp(server, cycles):
    """CPU per cycle of the running exporter, scraped once per cycle (what a Prometheus whose
    scrape interval equals the collection interval does)."""
    pid = server.proc.pid
    text = scrape(server.url)
    cpu0, n0 = cpu_seconds(pid), metric_value(text, "toolhelp_snapshots_total")
    walls = []
    for _ in range(cycles):
        time.sleep(server.interval)
        started = time.monotonic()
        text = scrape(server.url)
        walls.append(time.monotonic() - started)
    cpu1, n1 = cpu_seconds(pid), metric_value(text, "toolhelp_snapshots_total")
    done = max(n1 - n0, 1)
    return {"cpu_per_cycle_seconds": (cpu1 - cpu0) / done, "cycles": done,
            "scrape_wall_median_seconds": statistics.median(walls),
            "series": sample_count(text), "bytes": len(text),
            "processes_seen": metric_value(text, "toolhelp_processes"),
            "peak_rss_bytes": peak_rss_bytes(pid)}


def measure_scraped_server(args, url, scrapes, latency_seconds=None):
    """CPU per scrape of an exporter that collects on every scrape (the peers); with
    latency_seconds also its /metrics latency under wrk (the bar: Go's net/http)."""
    proc = start(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        text = wait_http(url, proc)  # the first scrape fills caches; not counted
        cpu0 = cpu_seconds(proc.pid)
        walls = []
        for _ in range(scrapes):
            started = time.monotonic()
            text = scrape(url)
            walls.append(time.monotonic() - started)
        cpu1 = cpu_seconds(proc.pid)
        out = {"cpu_per_scrape_seconds": (cpu1 - cpu0) / scrapes, "scrapes": scrapes,
               "scrape_wall_median_seconds": statistics.median(walls),
               "series": sample_count(text), "bytes": len(text),
               "peak_rss_bytes": peak_rss_bytes(proc.pid)}
        if latency_seconds:
            out["latency"] = measure_latency(url, latency_seconds)
        return out
    finally:
        stop(proc)


def measure_process_exporter(tmp, scrapes):
    config = os.path.join(tmp, "process-exporter.yml")
    with open(config, "w") as f:
        f.write(PROCESS_EXPORTER_CONFIG)
    port = free_port()
    args = [shutil.which(PROCESS_EXPORTER), "-config.path", config, "-procfs", "/proc",
            "-web.listen-address", f"127.0.0.1:{port}"]
    return measure_scraped_server(args, f"http://127.0.0.1:{port}/metrics", scrapes)


def measure_node_exporter_textfile(tmp, text, seconds):
    """Go's net/http and expfmt serving the same exposition as the synthetic aggregate: node_exporter
    with only its textfile collector, the text in its directory (it reads and parses the file on
    every scrape, as it runs for its users)."""
    directory = os.path.join(tmp, "textfile")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "synthetic.prom"), "w") as f:
        f.write(text)
    port = free_port()
    url = f"http://127.0.0.1:{port}/metrics"
    proc = start([shutil.which(NODE_EXPORTER), "--collector.disable-defaults",
                  "--collector.textfile", f"--collector.textfile.directory={directory}",
                  "--web.disable-exporter-metrics", f"--web.listen-address=127.0.0.1:{port}"],
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        served = wait_http(url, proc)
        return {"series": sample_count(served), "latency": measure_latency(url, seconds),
                "peak_rss_bytes": peak_rss_bytes(proc.pid)}
    finally:
        stop(proc)


def measure_node_exporter(scrapes, latency_seconds=None):
    port = free_port()
    args = [shutil.which(NODE_EXPORTER), "--collector.disable-defaults", "--collector.processes",
            "--web.disable-exporter-metrics", f"--web.listen-address=127.0.0.1:{port}"]
    return measure_scraped_server(args, f"http://127.0.0.1:{port}/metrics", scrapes,
                                  latency_seconds)


_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def _seconds(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    return float(match.group(1)) * _UNITS[match.group(2)] if match else None


def wrk(url, clients, seconds, gzip=False):
    """Latency percentiles from wrk --latency (its own HdrHistogram); with gzip the requests ask
    for it as Prometheus does."""
    threads = min(clients, 2)
    header = ["-H", "Accept-Encoding: gzip"] if gzip else []
    done = subprocess.run(["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--latency",
                           "--timeout", "10s", *header, url], capture_output=True, text=True,
                          timeout=seconds + 60, check=True)
    out = {"clients": clients, "seconds": seconds, "gzip": gzip,
           "bytes_per_scrape": bytes_per_scrape(url, gzip)}
    for line in done.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] in ("50%", "75%", "90%", "99%"):
            out["p" + parts[0][:-1]] = _seconds(parts[1])
        elif line.startswith("Requests/sec:"):
            out["requests_per_second"] = float(parts[1])
        elif re.match(r"\s*\d+ requests in", line):
            out["requests"] = int(parts[0])
        elif "Non-2xx" in line or "Socket errors" in line:
            out.setdefault("errors", []).append(line.strip())
    if not out.get("requests"):
        # No answer completed within the run: wrk's percentiles are zeros then, not latencies.
        for key in ("p50", "p75", "p90", "p99"):
            out[key] = None
    return out


def bytes_per_scrape(url, gzip):
    """Body bytes of one answer, as sent."""
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"} if gzip else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        return len(response.read())


def measure_latency(url, seconds):
    return [wrk(url, clients, seconds, gzip) for gzip in (False, True) for clients in (1, 16)]


def measure_synthetic_latency(bindir, processes, module_series, seconds):
    port = free_port()
    proc = start([os.path.join(bindir, "thx_bench_cycle"), "serve", "--processes", str(processes),
                  "--module-series", str(module_series), "--listen", f"127.0.0.1:{port}"],
                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ready = proc.stdout.readline().strip()
        if not ready.startswith("ready"):
            raise RuntimeError("thx_bench_cycle serve did not start")
        info = dict(item.split("=") for item in ready.split()[1:])
        url = f"http://127.0.0.1:{port}/metrics"
        text = scrape(url)
        return {"series": int(info["series"]), "bytes": int(info["bytes"]), "text": text,
                "module_series": int(info["module_series"]), "processes": processes,
                "latency": measure_latency(url, seconds),
                "peak_rss_bytes": peak_rss_bytes(proc.pid)}
    finally:
        stop(proc)


def interval_for(steady_wall_seconds):
    """The exporter's interval for a load: a few times a steady cycle, 200 ms at least."""
    ms = max(200, math.ceil(4 * steady_wall_seconds * 1000 / 50) * 50)
    return min(ms, 10_000)


def measure_size(args, tmp, processes):
    bindir = args.bindir
    cycles = args.cycles or {100: 30, 1000: 15}.get(processes, 8)
    result = {"processes": processes, "threads_per_process": args.threads}
    with Load(bindir, processes, args.threads, args.heavy_percent, args.libs) as load:
        result["load"] = load.ready_line
        result["load_average_start"] = load_average()
        ticks = machine_cpu_ticks()
        log(f"[{processes}] bare reads")
        result["bare"] = measure_bare(bindir, cycles)
        log(f"[{processes}] thx_bench_cycle")
        result["cycle"] = measure_cycle(bindir, cycles)
        interval = interval_for(result["cycle"]["steady"]["cycle_wall_seconds"]["median"])
        log(f"[{processes}] toolhelp_exporter (interval {interval} ms)")
        with ToolhelpServer(args.exporter, tmp, interval) as server:
            result["toolhelp"] = measure_toolhelp(server, cycles)
            result["toolhelp"]["interval_ms"] = interval
        log(f"[{processes}] toolhelp_exporter, default configuration: RSS and /metrics latency")
        with ToolhelpServer(args.exporter, tmp, None, min_snapshots=1) as server:
            text = scrape(server.url)
            result["toolhelp_default"] = {
                "peak_rss_bytes": peak_rss_bytes(server.proc.pid),
                "series": sample_count(text), "bytes": len(text),
                "latency": measure_latency(server.url, args.latency_seconds),
                "peak_rss_after_latency_bytes": peak_rss_bytes(server.proc.pid)}
        log(f"[{processes}] /metrics latency with {args.module_series} module series")
        result["synthetic_server"] = measure_synthetic_latency(
            bindir, processes, args.module_series, args.latency_seconds)
        if not args.no_peers:
            log(f"[{processes}] process-exporter")
            result["process_exporter"] = measure_process_exporter(tmp, cycles)
            log(f"[{processes}] node_exporter processes collector")
            result["node_exporter"] = measure_node_exporter(cycles)
            log(f"[{processes}] node_exporter textfile collector, the synthetic exposition")
            result["node_exporter_textfile"] = measure_node_exporter_textfile(
                tmp, result["synthetic_server"]["text"], args.latency_seconds)
        result["synthetic_server"].pop("text")
        result["load_average_end"] = load_average()
        result["machine_busy_fraction"] = busy_fraction(ticks, machine_cpu_ticks())
    return result


def measure_churn(args):
    bindir = args.bindir
    out = {}
    cycles = 1000 if args.quick else 10_000
    log(f"churn: {cycles} synthetic cycles")
    out["synthetic"] = run_json([os.path.join(bindir, "thx_bench_cycle"), "churn", "--cycles",
                                 str(cycles), "--processes", "500", "--replace", "10"])
    real_cycles = 100 if args.quick else 500
    with Load(bindir, 300, args.threads, args.heavy_percent, args.libs, churn=50) as load:
        log(f"churn: {real_cycles} real cycles while 50 processes a second exit and start")
        out["real"] = run_json([os.path.join(bindir, "thx_bench_cycle"), "real", "--cycles",
                                str(real_cycles)])
        out["real"].pop("cycle_cpu_seconds_all", None)
        out["real"]["load"] = load.ready_line
    return out


def measure_windows(args, tmp):
    """The Tool Help source's steady cycle under Wine with 500 sleepers, against the floor: only
    the Windows calls such a cycle needs, made by the same program on the same sleepers, cycles
    alternating (thx_wine_cycle_bench). wineserver's own CPU is not counted (it serves both)."""
    exe_dir = os.path.join(args.source, "build", "windows-cross", "bin")
    bench = os.path.join(exe_dir, "thx_wine_cycle_bench.exe")
    wine_run = os.path.join(args.source, "deploy", "windows", "wine-run.sh")
    if not (os.path.exists(bench) and shutil.which("wine")):
        log("windows: skipped (build the windows-cross preset for thx_wine_cycle_bench.exe)")
        return None
    prefix = ["sh", wine_run, "--prefix=" + os.path.join(tmp, "wineprefix")]
    subprocess.run([*prefix, "--start-server"], check=False, timeout=300)
    try:
        log(f"windows: thx_wine_cycle_bench --processes {args.windows_processes} under Wine")
        done = subprocess.run([*prefix, bench, "--processes", str(args.windows_processes),
                               "--cycles", "11"], capture_output=True, text=True, timeout=3600)
        if done.returncode != 0:
            log(f"windows: failed ({done.returncode}): {done.stderr[-500:]}")
            return None
        result = json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        subprocess.run([*prefix, "--stop-server"], check=False, timeout=120)
    result["processes"] = args.windows_processes
    return result


# ---------------------------------------------------------------------------------------------
# The table.


def ms(seconds):
    return "-" if seconds is None else f"{seconds * 1000:.2f}"


def mb(value):
    return "-" if not value else f"{value / 1e6:.1f}"


def ratio(a, b):
    return "-" if a is None or not b else f"{a / b:.2f}x"


def rows_of(size):
    bare_all = size["bare"]["all"]["cycle_cpu_seconds"]["median"]
    bare_nomaps = size["bare"]["no_maps"]["cycle_cpu_seconds"]["median"]
    c = size["cycle"]
    rows = [
        ("bare reads: stat+exe+task+statm+io+fd+maps", bare_all,
         size["bare"]["all"]["cycle_wall_seconds"]["median"], bare_all, None),
        ("bare reads: stat+exe+task+statm+io+fd", bare_nomaps,
         size["bare"]["no_maps"]["cycle_wall_seconds"]["median"], bare_nomaps, None),
        ("bare reads: stat+exe+task (no resources)",
         size["bare"]["no_maps_no_resources"]["cycle_cpu_seconds"]["median"],
         size["bare"]["no_maps_no_resources"]["cycle_wall_seconds"]["median"], bare_nomaps, None),
        ("thx_bench_cycle full (maps each cycle)", c["full"]["cycle_cpu_seconds"]["median"],
         c["full"]["cycle_wall_seconds"]["median"], bare_all, c["full"]["peak_rss_bytes"]),
        ("thx_bench_cycle steady (modules cached)", c["steady"]["cycle_cpu_seconds"]["median"],
         c["steady"]["cycle_wall_seconds"]["median"], bare_nomaps, c["steady"]["peak_rss_bytes"]),
        ("  of which take()", c["steady"]["take_cpu_seconds"]["median"], None, bare_nomaps, None),
        ("  of which update()", c["steady"]["update_cpu_seconds"]["median"], None, None, None),
        ("  of which exposition", c["steady"]["expose_cpu_seconds"]["median"], None, None, None),
    ]
    t = size.get("toolhelp")
    if t:
        rows.append(("toolhelp_exporter serve, per cycle+scrape", t["cpu_per_cycle_seconds"],
                     t["scrape_wall_median_seconds"], bare_nomaps, t["peak_rss_bytes"]))
    d = size.get("toolhelp_default")
    if d:
        rows.append(("toolhelp_exporter, default config (RSS)", None, None, None,
                     max(d["peak_rss_bytes"], d["peak_rss_after_latency_bytes"])))
    for key, name in (("process_exporter", "process-exporter, per scrape"),
                      ("node_exporter", "node_exporter processes, per scrape")):
        p = size.get(key)
        if p:
            rows.append((name, p["cpu_per_scrape_seconds"], p["scrape_wall_median_seconds"],
                         None, p["peak_rss_bytes"]))
    return rows, bare_all


def render(results):
    lines = []
    la = results["load_average_start"]
    lines.append(f"machine: {results['cpus']} CPUs; load average at start {la[0]:.2f} "
                 f"{la[1]:.2f} {la[2]:.2f}, at end "
                 + " ".join(f"{x:.2f}" for x in results["load_average_end"]))
    lines.append("")
    lines.append("Load avg: the 1-minute load average when the size started (creating 30,000 "
                 "threads inflates it for a minute; they then sleep). Busy: share of both CPUs "
                 "in use over the size's runs, the measured program's own core included.")
    lines.append("")
    lines.append("| load | measured | CPU ms | wall ms | vs bare (all files) | vs bare (same "
                 "files) | peak RSS MB | load avg / busy |")
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |")
    for size in results["sizes"]:
        rows, bare_all = rows_of(size)
        label = f"{size['processes']:,} x {size['threads_per_process']}"
        la = size["load_average_start"]
        busy = size.get("machine_busy_fraction")
        context = f"{la[0]:.1f}" + (f" / {busy * 100:.0f}%" if busy is not None else "")
        for name, cpu, wall, same, rss in rows:
            lines.append(f"| {label} | {name} | {ms(cpu)} | {ms(wall)} | {ratio(cpu, bare_all)} "
                         f"| {ratio(cpu, same) if same else '-'} | {mb(rss)} | {context} |")
    lines.append("")
    lines.append("| load | /metrics of | series | clients | gzip | bytes sent | p50 ms | p90 ms "
                 "| p99 ms | req/s |")
    lines.append("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for size in results["sizes"]:
        label = f"{size['processes']:,} x {size['threads_per_process']}"
        servers = []
        if size.get("toolhelp_default"):
            servers.append(("toolhelp_exporter (default)", size["toolhelp_default"]["series"],
                            size["toolhelp_default"]["latency"]))
        servers.append(("synthetic aggregate", size["synthetic_server"]["series"],
                        size["synthetic_server"]["latency"]))
        if size.get("node_exporter_textfile"):
            servers.append(("node_exporter (textfile: the same exposition)",
                            size["node_exporter_textfile"]["series"],
                            size["node_exporter_textfile"]["latency"]))
        for name, series, runs in servers:
            for run in runs:
                lines.append(f"| {label} | {name} | {series:,} | {run['clients']} | "
                             f"{'yes' if run.get('gzip') else 'no'} | "
                             f"{run.get('bytes_per_scrape', 0):,} | "
                             f"{ms(run.get('p50'))} | {ms(run.get('p90'))} | "
                             f"{ms(run.get('p99'))} | {run.get('requests_per_second', 0):.0f} |")
    churn = results.get("churn")
    if churn:
        lines.append("")
        for key, name in (("synthetic", "synthetic churn"), ("real", "real source, churning load")):
            c = churn[key]
            samples = c["rss_samples"]
            mid = samples[len(samples) // 2]["rss_bytes"]
            heap = [s["heap_in_use_bytes"] for s in samples]
            lines.append(f"- RSS over {c['cycles']:,} cycles ({name}, {c['processes']:,} "
                         f"processes): start {mb(samples[0]['rss_bytes'])} MB, middle {mb(mid)} "
                         f"MB, end {mb(samples[-1]['rss_bytes'])} MB, peak "
                         f"{mb(c['peak_rss_bytes'])} MB; malloc heap in use after cycle "
                         f"{samples[1]['cycle']:,} {mb(heap[1])} MB, at the end {mb(heap[-1])} MB")
    if results.get("windows"):
        w = results["windows"]
        for mode in ("source", "bare"):
            r = w[mode]
            lines.append(f"- Windows under Wine, {r['processes_listed']:,} processes listed, "
                         f"{mode}: steady cycle CPU {ms(r['steady_cycles']['cpu_median_seconds'])}"
                         f" ms (max {ms(r['steady_cycles']['cpu_max_seconds'])}), wall "
                         f"{ms(r['steady_cycles']['wall_median_seconds'])} ms; first cycle CPU "
                         f"{ms(r['first_cycle']['cpu_seconds'])} ms, wall "
                         f"{ms(r['first_cycle']['wall_seconds'])} ms")
    lines.append("")
    lines.extend(targets(results))
    return "\n".join(lines)


def targets(results):
    """The issue's targets, read off the results (reported, never asserted)."""
    out = ["targets:"]
    by_size = {s["processes"]: s for s in results["sizes"]}
    ref = by_size.get(1000) or (results["sizes"][-1] if results["sizes"] else None)
    if ref is None:
        return out + churn_target(results)
    n = f"{ref['processes']:,}"

    def verdict(ok):
        return "holds" if ok else "MISSED"

    full = ref["cycle"]["full"]["cycle_cpu_seconds"]["median"]
    steady = ref["cycle"]["steady"]["cycle_cpu_seconds"]["median"]
    bare_all = ref["bare"]["all"]["cycle_cpu_seconds"]["median"]
    bare_nomaps = ref["bare"]["no_maps"]["cycle_cpu_seconds"]["median"]
    out.append(f"- {n}: default cycle (modules cached, resources read) {steady / bare_nomaps:.2f}x "
               f"the bare reads of the same files (target <= 1.2x): "
               f"{verdict(steady <= 1.2 * bare_nomaps)}; a cycle that re-reads every maps file "
               f"{full / bare_all:.2f}x its bare reads: {verdict(full <= 1.2 * bare_all)}; the "
               f"default cycle is {steady / bare_all:.2f}x the bare reads of all files")
    t = ref.get("toolhelp")
    for key, name, factor in (("process_exporter", "process-exporter", 20),
                              ("node_exporter", "node_exporter", 3)):
        if t and ref.get(key):
            x = ref[key]["cpu_per_scrape_seconds"] / max(t["cpu_per_cycle_seconds"], 1e-9)
            out.append(f"- {n}: {x:.1f}x less CPU than {name} per scrape (target >= {factor}x): "
                       f"{verdict(x >= factor)}")
    p99s = []
    for size in results["sizes"]:
        runs = [r for r in size["synthetic_server"]["latency"] if r["clients"] == 16]
        if runs and runs[0].get("p99") is not None:
            p99s.append((size["processes"], runs[0]["p99"]))
    if p99s:
        text = ", ".join(f"{ms(p)} ms at {n_:,}" for n_, p in p99s)
        out.append(f"- /metrics p99 with 16 clients and {results['module_series']:,} module "
                   f"series: {text} (target < 5 ms): {verdict(all(p < 0.005 for _, p in p99s))}")
    d = ref.get("toolhelp_default")
    if d:
        peak = max(d["peak_rss_bytes"], d["peak_rss_after_latency_bytes"])
        out.append(f"- {n}: peak RSS of the exporter, default configuration: {mb(peak)} MB "
                   f"({mb(d['peak_rss_bytes'])} MB before the latency runs) (target < 12 MB): "
                   f"{verdict(peak < 12e6)}")
    w = results.get("windows")
    if w:
        x = (w["source"]["steady_cycles"]["cpu_median_seconds"] /
             max(w["bare"]["steady_cycles"]["cpu_median_seconds"], 1e-9))
        out.append(f"- Windows under Wine, {w['children']:,} sleepers ({w['processes']:,} asked "
                   f"for): steady cycle {x:.2f}x the "
                   f"bare Tool Help and process calls (target <= 1.3x): {verdict(x <= 1.3)}")
    return out + churn_target(results)


def churn_target(results):
    """Flat: from the end of the first tenth (allocator and caches warm) to the last cycle, RSS
    grows by less than 5% and the malloc heap in use by less than 1%."""
    churn = results.get("churn")
    if not churn:
        return []
    s = churn["synthetic"]["rss_samples"]
    first, last = (s[1] if len(s) > 1 else s[0]), s[-1]
    flat = (last["rss_bytes"] <= first["rss_bytes"] * 1.05 and
            last["heap_in_use_bytes"] <= first["heap_in_use_bytes"] * 1.01)
    return [f"- memory over {churn['synthetic']['cycles']:,} churning cycles: RSS "
            f"{mb(first['rss_bytes'])} MB after cycle {first['cycle']:,}, {mb(last['rss_bytes'])} "
            f"MB at the end; heap in use {mb(first['heap_in_use_bytes'])} MB, then "
            f"{mb(last['heap_in_use_bytes'])} MB (target: flat): "
            f"{'holds' if flat else 'MISSED'}"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bindir", default=None,
                        help="where the bench programs are (default: build/bench/bin)")
    parser.add_argument("--exporter", default=None, help="toolhelp_exporter binary")
    parser.add_argument("--sizes", default="100,1000,3000",
                        help="process counts, comma separated (default 100,1000,3000)")
    parser.add_argument("--quick", action="store_true", help="100 processes only, shorter runs")
    parser.add_argument("--threads", type=int, default=10, help="threads per process")
    parser.add_argument("--heavy-percent", type=int, default=10,
                        help="percent of the processes with many libraries loaded")
    parser.add_argument("--libs", type=int, default=150, help="libraries of a heavy process")
    parser.add_argument("--cycles", type=int, default=0,
                        help="cycles/scrapes per measurement (default by size)")
    parser.add_argument("--latency-seconds", type=int, default=5, help="wrk duration per run")
    parser.add_argument("--module-series", type=int, default=5000,
                        help="module series of the synthetic /metrics")
    parser.add_argument("--no-peers", action="store_true",
                        help="skip process-exporter and node_exporter")
    parser.add_argument("--no-churn", action="store_true", help="skip the memory churn runs")
    parser.add_argument("--windows-processes", type=int, default=500,
                        help="sleepers of the Windows cycle under Wine (default 500)")
    parser.add_argument("--out", default=None, help="JSON results (default: a temporary file)")
    args = parser.parse_args()
    args.source = os.path.abspath(os.path.join(HERE, "..", ".."))
    args.bindir = os.path.abspath(args.bindir or os.path.join(args.source, "build", "bench", "bin"))
    args.exporter = os.path.abspath(args.exporter or os.path.join(args.bindir,
                                                                  "toolhelp_exporter"))
    # --sizes "" runs only the memory churn (and the optional Windows line).
    sizes = [100] if args.quick else [int(s) for s in args.sizes.split(",") if s]
    if args.quick:
        args.latency_seconds = min(args.latency_seconds, 3)
    for program in ("thx_bench_load", "thx_bare_reads", "thx_bench_cycle"):
        if not os.access(os.path.join(args.bindir, program), os.X_OK):
            sys.exit(f"{program} not found in {args.bindir}: build with -DTHX_BUILD_BENCHMARKS=ON")
    ensure_debian_packages(["wrk"] + ([] if args.no_peers else [PROCESS_EXPORTER, NODE_EXPORTER]))

    results = {"cpus": os.cpu_count(), "load_average_start": load_average(), "sizes": [],
               "module_series": args.module_series, "threads_per_process": args.threads}
    out_path = args.out or tempfile.mkstemp(prefix="thx-bench-", suffix=".json")[1]
    with tempfile.TemporaryDirectory(prefix="thx-bench-") as tmp:
        for processes in sizes:
            results["sizes"].append(measure_size(args, tmp, processes))
            with open(out_path, "w") as f:  # partial results survive a later failure
                json.dump(results, f, indent=1)
        if not args.no_churn:
            results["churn"] = measure_churn(args)
        results["windows"] = measure_windows(args, tmp)
    results["load_average_end"] = load_average()
    results["table"] = render(results)
    with open(out_path, "w") as f:
        json.dump(results, f, indent=1)
    print(results["table"])
    print(f"\nJSON: {out_path}")


if __name__ == "__main__":
    main()
