#!/usr/bin/env python3
"""Churn torture: the real exporter snapshots every 100 ms while churn_generator starts and reaps
processes and threads as fast as it can; the test scrapes /metrics every 200 ms meanwhile.

  churn_test.py --bin-dir DIR [--seconds S] [--wine WINE_RUN_SCRIPT --wine-prefix DIR]

Asserts that the exporter never dies; that every scrape is 200 and parses; that the snapshot
error counters grow for no reason but "vanished" (a process or thread that exited between being
listed and being read is the failure churn must cause; on Windows also "partial_copy", a process
caught while it starts) faster than they did before the churn (some processes refuse every cycle:
in a container the runtime's init refuses even root its maps); and that the exporter's descriptor
count and resident memory at the end are those after the warm-up, within a small slack. Under
Wine the .exe and the generator run in one prefix (Tool Help there lists only that prefix's
programs); the launcher execs into the Windows process, so its Linux descriptors and memory are
measured too, but Windows handle counts live in wineserver and are not observable from Linux.
The exporter must stop cleanly at the end (status 0 on Linux) with no sanitizer report. Prints
the numbers it measured.
"""
import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import thx_test_support as support  # noqa: E402

FD_SLACK = 4                  # descriptors: a scrape's socket still closing, a log file rotated
RSS_SLACK = 8 * 1024 * 1024   # bytes: allocator arenas settling after the warm-up
SCRAPE_EVERY = 0.2
SAMPLE_LINE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})?'
    r' (\S+)( -?\d+)?$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


class Failure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise Failure(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def command(args, program, *rest):
    exe = os.path.join(args.bin_dir, program + (".exe" if args.wine else ""))
    if args.wine:
        return [args.wine, "--prefix=" + args.wine_prefix, exe, *rest]
    return [exe, *rest]


def get(port, path, timeout=10):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def parse_metrics(text):
    """{(name, frozenset(labels)): value}; raises Failure on any line the format does not allow."""
    samples = {}
    check(text.endswith("\n"), "scrape does not end with a newline")
    for number, line in enumerate(support.exposition_lines(text), 1):
        if not line or line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = SAMPLE_LINE.match(line)
        check(match is not None, f"line {number} does not parse: {line!r}")
        labels = frozenset(LABEL.findall(match.group(2) or ""))
        try:
            value = float(match.group(3))
        except ValueError:
            raise Failure(f"line {number}: value is not a number: {line!r}")
        key = (match.group(1), labels)
        check(key not in samples, f"line {number}: duplicate series {line!r}")
        samples[key] = value
    return samples


def errors_by_reason(samples):
    """{(kind, reason): count} of toolhelp_snapshot_errors_total."""
    out = {}
    for (name, labels), value in samples.items():
        if name == "toolhelp_snapshot_errors_total":
            label = dict(labels)
            out[(label["kind"], label["reason"])] = value
    return out


def churn_reasons(args):
    """The failures churn itself causes. On Windows a process caught while it starts has no
    loader list yet: its module snapshot fails with ERROR_PARTIAL_COPY."""
    return {"vanished", "partial_copy"} if args.wine else {"vanished"}


def snapshots(samples):
    return samples[("toolhelp_snapshots_total", frozenset())]


def total(samples, metric):
    return sum(v for (name, _), v in samples.items() if name == metric)


def linux_pid_of(process):
    """The Linux pid whose descriptors and memory are the exporter's. Under Wine the launcher
    execs into the Windows process itself, so it is the same pid there too; its descriptors are
    what Wine keeps open on the Linux side (Windows handles live in wineserver)."""
    try:
        with open(f"/proc/{process.pid}/cmdline", "rb") as f:
            if b"toolhelp_exporter" in f.read():
                return process.pid
    except OSError:
        pass
    return None


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise Failure("no VmRSS line")


class Exporter:
    def __init__(self, args):
        self.args = args
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="thx-churn-")
        config = os.path.join(self.dir, "config.json")
        with open(config, "w") as f:
            json.dump({"collection": {"interval": "100ms"}}, f)
        self.log = open(os.path.join(self.dir, "log.txt"), "w+")
        self.process = subprocess.Popen(
            command(args, "toolhelp_exporter", f"--web.listen-address=127.0.0.1:{self.port}",
                    "--config.file=" + config),
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def log_text(self):
        return self.full_log_text()[-4000:]

    def full_log_text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def alive(self):
        check(self.process.poll() is None,
              f"exporter exited with {self.process.returncode}:\n{self.log_text()}")

    def scrape(self):
        self.alive()
        status, text = get(self.port, "/metrics")
        check(status == 200, f"/metrics answered {status}: {text[:500]}")
        return parse_metrics(text), text

    def wait_ready(self, timeout=60):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.alive()
            try:
                status, text = get(self.port, "/metrics", timeout=2)
                if status == 200 and "toolhelp_processes " in text:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise Failure("exporter not ready in time:\n" + self.log_text())

    def stop(self):
        """Stops the exporter; a Failure unless it ended cleanly (status 0 on Linux, no sanitizer
        report, e.g. LeakSanitizer's at exit)."""
        try:
            support.stop(self.process, self.full_log_text, "toolhelp_exporter",
                         windows=bool(self.args.wine))
        except AssertionError as failure:
            raise Failure(str(failure))
        finally:
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)


def promtool_check(text):
    if shutil.which("promtool") is None:
        return
    result = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                            capture_output=True, timeout=60)
    check(result.returncode == 0, "promtool: " + (result.stdout + result.stderr).decode())


class ErrorBudget:
    """Error counters of the reasons churn must not cause may grow only at their rate before the
    churn: some processes refuse every cycle whatever happens (in a container, the runtime's
    init refuses even root its maps)."""

    def __init__(self, allowed, first, before):
        self.allowed = allowed
        self.before = self.unexpected(before)
        self.snapshots_before = snapshots(before)
        cycles = self.snapshots_before - snapshots(first)
        check(cycles > 0, "no snapshot in 2 s at a 100 ms interval")
        earlier = self.unexpected(first)
        self.rate = {key: (value - earlier.get(key, 0)) / cycles
                     for key, value in self.before.items()}

    def unexpected(self, samples):
        return {key: value for key, value in errors_by_reason(samples).items()
                if key[1] not in self.allowed}

    def check(self, samples):
        cycles = snapshots(samples) - self.snapshots_before
        for key, value in self.unexpected(samples).items():
            limit = self.before.get(key, 0) + self.rate.get(key, 0) * cycles
            check(value <= limit + 1e-6,
                  f"toolhelp_snapshot_errors_total{{kind={key[0]},reason={key[1]}}} grew to "
                  f"{value:.0f} in {cycles:.0f} snapshots of churn; at the rate before the "
                  f"churn it would be {limit:.1f}")


def run(args):
    exporter = Exporter(args)
    generator = None
    try:
        exporter.wait_ready()
        time.sleep(0.5)
        first, _ = exporter.scrape()
        time.sleep(2.0)
        before, text = exporter.scrape()
        promtool_check(text)
        budget = ErrorBudget(churn_reasons(args), first, before)
        starts_before = total(before, "toolhelp_group_process_starts_total")
        print(f"before churn: errors other than {'/'.join(sorted(budget.allowed))}: "
              f"{nonzero(budget.before)}, per snapshot {nonzero(budget.rate, 2)}")

        generator = subprocess.Popen(
            command(args, "churn_generator", "--seconds", str(args.seconds), "--workers", "2"),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
        started = time.monotonic()
        warm_up = min(10.0, args.seconds / 5)
        pid = linux_pid_of(exporter.process)
        warm = None
        fd_max = 0
        scrapes = 0
        while generator.poll() is None:
            check(time.monotonic() - started < args.seconds + 120, "generator did not finish")
            samples, _ = exporter.scrape()
            scrapes += 1
            budget.check(samples)
            if pid is not None:
                fd_max = max(fd_max, fd_count(pid))
                if warm is None and time.monotonic() - started >= warm_up:
                    warm = (fd_count(pid), rss_bytes(pid))
            time.sleep(SCRAPE_EVERY)
        out, err = generator.communicate()
        check(generator.returncode == 0, f"generator failed ({generator.returncode}): {err}")
        generator = None
        time.sleep(1.0)  # a few cycles that see the churn's end
        after, text = exporter.scrape()
        scrapes += 1
        promtool_check(text)
        budget.check(after)
        errors = {key: value - errors_by_reason(before).get(key, 0)
                  for key, value in errors_by_reason(after).items()}
        starts = total(after, "toolhelp_group_process_starts_total") - starts_before
        exits = total(after, "toolhelp_group_process_exits_total")
        print(out.strip())
        print(f"scrapes: {scrapes}, all 200 and parsed; snapshots during churn: "
              f"{snapshots(after) - snapshots(before):.0f}")
        print(f"starts counted during churn: {starts:.0f}, exits total: {exits:.0f}")
        print(f"errors during churn: {nonzero(errors)}")
        check(starts > 0, "the exporter counted no process starts during the churn")
        if pid is not None:
            check(warm is not None, "churn ended before the warm-up did")
            fd_end, rss_end = fd_count(pid), rss_bytes(pid)
            print(f"descriptors: warm-up {warm[0]}, end {fd_end}, max seen {fd_max}")
            print(f"VmRSS: warm-up {warm[1] / 2**20:.1f} MiB, end {rss_end / 2**20:.1f} MiB")
            check(fd_end <= warm[0] + FD_SLACK,
                  f"descriptors grew from {warm[0]} to {fd_end} (slack {FD_SLACK})")
            if args.sanitizer_build:
                print("VmRSS not bounded here: a sanitizer's quarantine and shadow memory grow "
                      "by design; LeakSanitizer checks for leaks at exit instead")
            else:
                check(rss_end <= warm[1] + RSS_SLACK,
                      f"VmRSS grew from {warm[1]} to {rss_end} bytes (slack {RSS_SLACK})")
        else:
            print("descriptors and memory: not measured (no Linux process of the exporter found)")
        exporter.alive()
    finally:
        if generator is not None:
            generator.kill()
            generator.wait()
        exporter.stop()


def nonzero(errors, digits=0):
    return {f"{kind}/{reason}": round(v, digits) if digits else int(v)
            for (kind, reason), v in sorted(errors.items()) if v} or "none"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--wine")
    parser.add_argument("--wine-prefix")
    parser.add_argument("--seconds", type=float,
                        help="how long the generator churns (default 60, 30 under Wine)")
    parser.add_argument("--sanitizer-build", action="store_true",
                        help="the exporter is built with ASan or TSan: do not bound its VmRSS")
    args = parser.parse_args()
    if args.seconds is None:
        args.seconds = 30.0 if args.wine else 60.0
    check(args.seconds > 0, "--seconds must be positive")
    try:
        run(args)
    except Failure as failure:
        print(f"FAIL: {failure}", file=sys.stderr)
        return 1
    print("churn test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
