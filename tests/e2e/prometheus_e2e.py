#!/usr/bin/env python3
"""The Prometheus and Grafana files of deploy/ against a real Prometheus server and real exporters.

  prometheus_e2e.py --bin-dir DIR [--wine WINE_RUN_SCRIPT --wine-prefix DIR] [--linux-bin-dir DIR]
                    [--fleet]
  prometheus_e2e.py --rules-only

Without --wine, --bin-dir holds the Linux build (toolhelp_exporter, thx_sleeper) and the fleet is
one Linux host. With --wine, --bin-dir holds the Windows build: its .exe runs under Wine as a
second host, beside the Linux exporter of --linux-bin-dir when that build exists (a mixed fleet).
Each host is an exporter on a free loopback port with a 1 s interval and a few thx_sleeper
processes. A real Prometheus (1 s scrape and evaluation intervals) scrapes them with a
configuration derived from deploy/prometheus/prometheus.yml (the first host through the static
job, the others through the file_sd job) and loads the project's recording and alert rules.
Then, through Prometheus' HTTP API, every recording rule and every dashboard query (template
variables substituted) must return data for every host, and every rule must evaluate without
error. promtool checks the configuration and the rules and runs the rule unit tests.

--fleet runs the same checks on the fleet path instead: a Prometheus in agent mode
(deploy/prometheus/agent.yml) scrapes the hosts and remote-writes to a central Prometheus
(central.yml, --web.enable-remote-write-receiver) that evaluates the rules and is queried, and
prints the series counts per host and after the recording rules.
--rules-only runs just the promtool checks and unit tests (no exporter, no server).
Every exporter must stop cleanly (status 0 on Linux, no sanitizer report).
Exits 77 (ctest's skip code for these tests) when prometheus, promtool or PyYAML is missing.
"""
import argparse
import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import thx_test_support as support  # noqa: E402

try:
    import yaml
except ImportError:  # reported in main(): the test is skipped
    yaml = None

ARGS = None
SOURCE_DIR = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROMETHEUS_DIR = os.path.join(SOURCE_DIR, "deploy", "prometheus")
RULE_FILES = [os.path.join(PROMETHEUS_DIR, "rules", "toolhelp_recording.yml"),
              os.path.join(PROMETHEUS_DIR, "rules", "toolhelp_alerts.yml")]
RULE_TESTS = sorted(glob.glob(os.path.join(PROMETHEUS_DIR, "tests", "*.yml")))
DASHBOARD = os.path.join(SOURCE_DIR, "deploy", "grafana", "toolhelp_exporter.json")

SLEEPER_THREADS = 3


def sleeper_name(host):
    """The exporters see every process of the machine (the Linux one also sees the Wine
    processes, the Windows one those of its prefix), including the thx_sleeper processes of
    tests running in parallel: each host's sleepers are copies of thx_sleeper under a name of
    their own (at most 15 characters, the length of a Linux process name)."""
    return "thxp%s%06x" % (host[0], os.getpid() & 0xFFFFFF)


def exporter_config(host):
    return {
        "groups": {"rules": [{"group": "sleepers", "name": "^" + sleeper_name(host)}],
                   "unmatched_group": "{name}"},
        # Short intervals so a few seconds give Prometheus several distinct snapshots.
        "collection": {"interval": "1s", "module_interval": "1s"},
    }

# Series only the Windows exporter has: toolhelp_module_info (version resources; Linux shared
# objects have none) and the recording rules built on it. A query that uses them without an
# `or on (...)` fallback to the version-less series is expected to be empty on Linux hosts.
WINDOWS_ONLY = ("toolhelp_module_info", "module_path_version:")


def windows_only(expr):
    return any(name in expr for name in WINDOWS_ONLY) and " or on " not in expr


# Series of the resources kind (CPU, memory, handles, I/O per group) and the rules built on them.
# An exporter whose platform does not read them yet reports the kind as unsupported
# (toolhelp_snapshot_kind_state); its host is not expected to have them.
RESOURCE_SERIES = ("toolhelp_group_cpu_seconds_total", "toolhelp_group_memory_bytes",
                   "toolhelp_group_handles", "toolhelp_group_io_bytes_total",
                   "toolhelp_group_cpu_seconds:", "toolhelp_group_memory_bytes:",
                   "toolhelp_group_handles:", "toolhelp_group_io_bytes:")


# Resource metrics a Windows host under Wine 8.0 cannot give (see PrometheusTest.reads).
WINE_EMPTY_RESOURCES = ("toolhelp_group_cpu_seconds", "toolhelp_group_handles",
                        "toolhelp_group_io_bytes", "toolhelp_process_cpu_seconds",
                        "toolhelp_process_handles", "toolhelp_process_io_bytes")

def uses_resources(expr):
    return any(name in expr for name in RESOURCE_SERIES)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10):
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def run(*command, timeout=120):
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                            stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout + result.stderr


def stop_process(process, timeout=10):
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Host:
    """One exporter (Linux, or the .exe under Wine) and its thx_sleeper processes."""

    def __init__(self, name, bin_dir, wine=None, wine_prefix=None):
        self.name = name
        self.bin_dir = bin_dir
        self.wine = wine
        self.wine_prefix = wine_prefix
        self.dir = tempfile.mkdtemp(prefix=f"thx-prom-{name}-")
        self.port = free_port()
        self.instance = f"127.0.0.1:{self.port}"
        self.sleepers = []
        self.exporter = None
        self.log = None

    def command(self, program, *args):
        if self.wine:
            exe = os.path.join(self.bin_dir, program + ".exe")
            return [self.wine, "--prefix=" + self.wine_prefix, exe, *args]
        return [os.path.join(self.bin_dir, program), *args]

    def path_for_program(self, path):
        # Wine maps the Unix root to drive Z: in every prefix it creates.
        return "Z:" + path.replace("/", "\\") if self.wine else path

    def start_sleepers(self, count):
        suffix = ".exe" if self.wine else ""
        sleeper = os.path.join(self.dir, sleeper_name(self.name) + suffix)
        if not os.path.exists(sleeper):
            shutil.copy2(os.path.join(self.bin_dir, "thx_sleeper" + suffix), sleeper)
        for _ in range(count):
            command = [sleeper, "--threads", str(SLEEPER_THREADS), "--seconds", "900"]
            if self.wine:
                command = [self.wine, "--prefix=" + self.wine_prefix, *command]
            process = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
            self.sleepers.append(process)
            line = process.stdout.readline().strip()
            assert line == b"ready", f"{self.name}: thx_sleeper said {line!r}"

    def kill_sleepers(self, count):
        victims, self.sleepers = self.sleepers[:count], self.sleepers[count:]
        for process in victims:
            process.kill()
            process.wait()
            process.stdout.close()

    def start_exporter(self, *extra):
        config = os.path.join(self.dir, "config.json")
        with open(config, "w") as f:
            json.dump(exporter_config(self.name), f)
        self.log = open(os.path.join(self.dir, "exporter.log"), "w+")
        self.exporter = subprocess.Popen(
            self.command("toolhelp_exporter", "--web.listen-address=" + self.instance,
                         "--config.file=" + self.path_for_program(config), *extra),
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def wait_healthy(self, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.exporter.poll() is not None:
                raise AssertionError(f"{self.name} exporter exited early: {self.log_text()}")
            try:
                status, _ = http_get(f"http://{self.instance}/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"{self.name} exporter not healthy in {timeout}s: {self.log_text()}")

    def log_text(self):
        return self.full_log_text()[-4000:]

    def full_log_text(self):
        if self.log is None:
            return ""
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        """Stops the exporter (failing unless it ended cleanly: status 0 on Linux, no sanitizer
        report) and its sleepers."""
        try:
            try:
                if self.exporter is not None:
                    support.stop(self.exporter, self.full_log_text,
                                 f"{self.name} toolhelp_exporter", windows=bool(self.wine))
            finally:
                self.kill_sleepers(len(self.sleepers))
        finally:
            if self.log is not None:
                self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)


class Prometheus:
    """A real Prometheus server on a free loopback port, with its own TSDB in a temporary dir."""

    def __init__(self, config_path, workdir, name="prometheus", agent=False, receiver=False):
        """agent: agent mode (scrape and remote_write only); receiver: accepts remote writes."""
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(os.path.join(workdir, name + ".log"), "w+")
        storage = os.path.join(workdir, name + "-data")
        flags = (["--enable-feature=agent", "--storage.agent.path=" + storage] if agent
                 else ["--storage.tsdb.path=" + storage])
        if receiver:
            flags.append("--web.enable-remote-write-receiver")
        self.process = subprocess.Popen(
            ["prometheus", "--config.file=" + config_path, *flags,
             "--web.listen-address=127.0.0.1:%d" % self.port, "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir)

    def wait_ready(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("prometheus exited: " + self.log_text())
            try:
                status, _ = http_get(self.url + "/-/ready", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise AssertionError("prometheus not ready: " + self.log_text())

    def api(self, path, **params):
        query = urllib.parse.urlencode(params)
        status, body = http_get(f"{self.url}/api/v1/{path}?{query}", timeout=20)
        answer = json.loads(body)
        if status != 200 or answer.get("status") != "success":
            raise AssertionError(f"{path} {params}: HTTP {status}: {body[:2000]}")
        return answer["data"]

    def query(self, expr):
        return self.api("query", query=expr)["result"]

    def log_text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()[-4000:]

    def stop(self):
        stop_process(self.process, timeout=20)
        self.log.close()


# ---- PromQL helpers

SELECTOR = re.compile(r"(?<![\w:])(toolhelp_[A-Za-z0-9_]*)(?![\w:])(\{[^}]*\})?")


def restrict_to_instance(expr, instance):
    """expr with instance="..." added to every raw toolhelp_* selector (recorded series, whose
    names hold colons, are left alone)."""
    def add(match):
        name, selector = match.group(1), match.group(2)
        inner = selector[1:-1].strip() if selector else ""
        return name + "{" + ", ".join(filter(None, [f'instance="{instance}"', inner])) + "}"
    return SELECTOR.sub(add, expr)


def promql_regex_string(value):
    """A literal value as a PromQL regex inside a double-quoted string (Grafana's regex format)."""
    return re.sub(r"([\\.^$*+?()\[\]{}|])", r"\\\\\1", value)


def substitute(expr, instance, group):
    """Grafana's template variables, the way Grafana substitutes them for a single value."""
    values = {"instance": promql_regex_string(instance), "group": promql_regex_string(group),
              "__rate_interval": "1m", "__interval": "5s", "__range": "1m",
              "__range_s": "60"}
    def replace(match):
        name = match.group(1) or match.group(2)
        if name not in values:
            raise AssertionError(f"unknown template variable ${name} in {expr}")
        return values[name]
    return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", replace, expr)


def recording_rules():
    with open(RULE_FILES[0]) as f:
        groups = yaml.safe_load(f)["groups"]
    return [rule for group in groups for rule in group["rules"] if "record" in rule]


def dashboard_queries():
    """(panel title, expr) of every query of every panel, rows' nested panels included."""
    with open(DASHBOARD) as f:
        dashboard = json.load(f)
    out = []

    def walk(panels):
        for panel in panels:
            walk(panel.get("panels", []))
            for target in panel.get("targets", []):
                if target.get("expr"):
                    out.append((panel["title"], target["expr"]))
    walk(dashboard["panels"])
    return dashboard, out


class RulesTest(unittest.TestCase):
    """promtool over the shipped files: fast, no exporter and no server."""

    def test_check_rules(self):
        rc, output = run("promtool", "check", "rules", *RULE_FILES)
        self.assertEqual(rc, 0, output)

    def test_rule_unit_tests(self):
        self.assertTrue(RULE_TESTS, "no rule unit tests found")
        rc, output = run("promtool", "test", "rules", *RULE_TESTS, timeout=300)
        self.assertEqual(rc, 0, output)

    def test_every_alert_has_a_unit_test(self):
        with open(RULE_FILES[1]) as f:
            alerts = {rule["alert"] for group in yaml.safe_load(f)["groups"]
                      for rule in group["rules"]}
        fired, quiet = set(), set()
        for path in RULE_TESTS:
            with open(path) as f:
                for test in yaml.safe_load(f)["tests"]:
                    for case in test.get("alert_rule_test", []):
                        (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
        self.assertEqual(alerts - fired, set(), "alerts never tested firing")
        self.assertEqual(alerts - quiet, set(), "alerts never tested not firing")

    def test_shipped_config(self):
        rc, output = run("promtool", "check", "config", os.path.join(PROMETHEUS_DIR,
                                                                      "prometheus.yml"))
        self.assertEqual(rc, 0, output)
        rc, output = run("promtool", "check", "config", "--agent",
                         os.path.join(PROMETHEUS_DIR, "agent.yml"))
        self.assertEqual(rc, 0, output)
        rc, output = run("promtool", "check", "config", os.path.join(PROMETHEUS_DIR,
                                                                      "central.yml"))
        self.assertEqual(rc, 0, output)

    def test_dashboard_shape(self):
        dashboard, queries = dashboard_queries()
        self.assertTrue(queries)
        variables = {v["name"]: v for v in dashboard["templating"]["list"]}
        self.assertEqual(variables["datasource"]["type"], "datasource")
        self.assertEqual(variables["datasource"]["query"], "prometheus")
        for name in ("instance", "group"):
            self.assertIn("label_values(toolhelp_", json.dumps(variables[name]["query"]))
        ids = []

        def walk(panels):
            for panel in panels:
                ids.append(panel["id"])
                if panel["type"] != "row":
                    self.assertEqual(panel["datasource"]["uid"], "${datasource}",
                                     panel["title"])
                walk(panel.get("panels", []))
        walk(dashboard["panels"])
        self.assertEqual(len(ids), len(set(ids)), "panel ids must be unique")


class PrometheusTest(unittest.TestCase):
    """A real Prometheus scraping real exporters evaluates every rule and dashboard query."""

    @classmethod
    def setUpClass(cls):
        cls.hosts = []
        cls.prometheus = None
        cls.agent = None
        cls.workdir = tempfile.mkdtemp(prefix="thx-prom-")
        try:
            cls._start()
        except BaseException:
            cls._stop()
            raise

    @classmethod
    def tearDownClass(cls):
        cls._stop()

    @classmethod
    def _stop(cls):
        try:
            if cls.prometheus is not None:
                cls.prometheus.stop()
        finally:
            failures = []
            for host in cls.hosts:  # every host stopped, even when one of them ended badly
                try:
                    host.stop()
                except AssertionError as failure:
                    failures.append(str(failure))
            shutil.rmtree(cls.workdir, ignore_errors=True)
            if failures:
                raise AssertionError("\n".join(failures))

    @classmethod
    def _start(cls):
        linux_bin = ARGS.linux_bin_dir if ARGS.wine else ARGS.bin_dir
        if linux_bin and os.path.exists(os.path.join(linux_bin, "toolhelp_exporter")):
            cls.hosts.append(Host("linux", linux_bin))
        elif not ARGS.wine:
            raise AssertionError(f"no toolhelp_exporter in {linux_bin}")
        else:
            print(f"note: no Linux exporter in {linux_bin}; the fleet is the Windows host only",
                  file=sys.stderr)
        if ARGS.wine:
            cls.hosts.append(Host("windows", ARGS.bin_dir, ARGS.wine, ARGS.wine_prefix))
        cls.timeout = 180 if ARGS.wine else 60

        for host in cls.hosts:
            host.start_sleepers(3)
            host.start_exporter()
        for host in cls.hosts:
            host.wait_healthy(cls.timeout)

        cls._start_prometheus()

        # Churn after the exporters started: two starts and one exit per host.
        time.sleep(2)
        for host in cls.hosts:
            host.start_sleepers(2)
            host.kill_sleepers(1)
        cls._wait_for_data()

    @classmethod
    def _start_prometheus(cls):
        """One Prometheus that scrapes the hosts and evaluates the rules."""
        config_path = cls._write_prometheus_config()
        rc, output = run("promtool", "check", "config", config_path)
        if rc != 0:
            raise AssertionError("promtool check config (generated): " + output)
        cls.prometheus = Prometheus(config_path, cls.workdir)
        cls.prometheus.wait_ready()

    @classmethod
    def _write_prometheus_config(cls):
        """deploy/prometheus/prometheus.yml with loopback targets and 1 s intervals."""
        with open(os.path.join(PROMETHEUS_DIR, "prometheus.yml")) as f:
            config = yaml.safe_load(f)
        # Under Wine on a busy 2-core machine a scrape can take over a second; a failed scrape
        # marks every series stale at once, so the Windows fleet gets slack.
        interval = "3s" if ARGS.wine else "1s"
        config["global"].update(scrape_interval=interval, scrape_timeout=interval,
                                evaluation_interval="1s")
        config["rule_files"] = RULE_FILES
        jobs = {job["job_name"]: job for job in config["scrape_configs"]}
        static, fleet = jobs["toolhelp"], jobs["toolhelp_fleet"]
        first, rest = cls.hosts[0], cls.hosts[1:]
        static["static_configs"] = [{"targets": [first.instance], "labels": {"os": first.name}}]
        targets_dir = os.path.join(cls.workdir, "targets")
        os.makedirs(targets_dir)
        with open(os.path.join(targets_dir, "hosts.json"), "w") as f:
            json.dump([{"targets": [h.instance], "labels": {"os": h.name}} for h in rest], f)
        fleet["file_sd_configs"] = [{"files": [os.path.join(targets_dir, "*.json")],
                                     "refresh_interval": "5s"}]
        path = os.path.join(cls.workdir, "prometheus.yml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        return path

    @classmethod
    def _wait_for_data(cls):
        """Until every host has been scraped a few times and every rule group has evaluated."""
        deadline = time.monotonic() + cls.timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                counts = {r["metric"]["instance"]: float(r["value"][1]) for r in
                          cls.prometheus.query("count_over_time(toolhelp_processes[1m])")}
                scraped = all(counts.get(h.instance, 0) >= 5 for h in cls.hosts)
                sleepers = cls.prometheus.query(
                    'sum by (instance) (toolhelp_group_processes{group="sleepers"})')
                settled = {r["metric"]["instance"]: float(r["value"][1]) for r in sleepers} == \
                    {h.instance: float(len(h.sleepers)) for h in cls.hosts}
                groups = cls.prometheus.api("rules")["groups"]
                evaluated = groups and all(rule.get("lastEvaluation", "").startswith("2")
                                           for g in groups for rule in g["rules"])
                if scraped and settled and evaluated:
                    time.sleep(2)  # one more rule evaluation over the settled data
                    return
                targets = [(t["labels"]["instance"], t["health"], t["lastError"])
                           for t in cls.prometheus.api("targets")["activeTargets"]]
                last = (f"targets {targets}, scrapes {counts}, sleepers {sleepers}, "
                        f"rules evaluated {evaluated}")
            except (OSError, AssertionError, ValueError) as error:
                last = str(error)
            time.sleep(0.5)
        raise AssertionError(f"no settled data in {cls.timeout}s: {last}\n" +
                             cls.prometheus.log_text() + "".join(h.log_text() for h in cls.hosts))

    def windows_hosts(self):
        return [h for h in self.hosts if h.wine]

    def has_resources(self, host):
        """Whether the host's exporter reads per-process resources (not `unsupported`)."""
        return not self.prometheus.query(
            f'toolhelp_snapshot_kind_state{{instance="{host.instance}", kind="resources", '
            f'state="unsupported"}} == 1')

    def reads(self, host, expr):
        """Whether `host` gives the resource facts `expr` uses. Under Wine 8.0 the Windows source
        leaves CPU, handles and I/O empty: Wine answers GetProcessTimes for another process
        with the caller's own times and GetProcessIoCounters / GetProcessHandleCount with zeros
        (real Windows gives them; see the README's list of what only Windows proves)."""
        if not self.has_resources(host):
            return False
        return not (host.wine and any(name in expr for name in WINE_EMPTY_RESOURCES))

    def expected(self, expr, host=None):
        """Whether `expr` must have data: for one host, or (host None) for the fleet."""
        if uses_resources(expr):
            hosts = [host] if host else self.hosts
            return any(self.reads(h, expr) for h in hosts)
        return True

    def assert_data(self, expr, where, report=None):
        result = self.prometheus.query(expr)
        self.assertTrue(result, f"{where}: no data for {expr}")
        if report:
            print(f"  {report} [{where}]: {len(result)} series", file=sys.stderr)
        return result

    def test_targets_up(self):
        for host in self.hosts:
            result = self.assert_data(f'up{{instance="{host.instance}"}}', host.name)
            self.assertEqual(result[0]["value"][1], "1", host.name)
            self.assertTrue(result[0]["metric"]["job"].startswith("toolhelp"))

    def test_every_rule_evaluates_without_error(self):
        groups = self.prometheus.api("rules")["groups"]
        names = {rule["name"] for g in groups for rule in g["rules"]}
        self.assertIn("group:toolhelp_group_processes:sum", names)
        self.assertIn("ToolhelpExporterDown", names)
        for group in groups:
            for rule in group["rules"]:
                self.assertEqual(rule["health"], "ok", f"{rule['name']}: {rule.get('lastError')}")
        firing = [a for a in self.prometheus.api("alerts")["alerts"] if a["state"] == "firing"]
        self.assertEqual(firing, [], "no alert can fire within a minute of a healthy start")

    def test_every_recording_rule_has_data_for_every_host(self):
        for rule in recording_rules():
            name, expr = rule["record"], rule["expr"]
            with self.subTest(rule=name):
                # The series Prometheus recorded from the whole fleet ...
                if (not windows_only(expr) or self.windows_hosts()) and self.expected(expr):
                    self.assert_data(f'{{__name__="{name}"}}', "recorded", name)
                # ... and the rule's expression over each host alone.
                for host in self.hosts:
                    if windows_only(expr) and not host.wine:
                        continue  # toolhelp_module_info exists only on Windows
                    if not self.expected(expr, host):
                        continue
                    self.assert_data(restrict_to_instance(expr, host.instance), host.name, name)

    def test_recorded_group_sums_match_the_sleepers(self):
        processes = self.assert_data('group:toolhelp_group_processes:sum{group="sleepers"}',
                                     "fleet")
        threads = self.assert_data('group:toolhelp_group_threads:sum{group="sleepers"}', "fleet")
        alive = sum(len(h.sleepers) for h in self.hosts)
        self.assertEqual(float(processes[0]["value"][1]), alive)
        self.assertEqual(float(threads[0]["value"][1]), alive * SLEEPER_THREADS)
        for host in self.hosts:  # the sleepers started after the exporter count as starts
            starts = self.assert_data(
                f'toolhelp_group_process_starts_total{{instance="{host.instance}", '
                f'group="sleepers"}}', host.name)
            self.assertGreaterEqual(float(starts[0]["value"][1]), 2, host.name)

    def test_every_dashboard_query_has_data_for_every_host(self):
        dashboard, queries = dashboard_queries()
        for title, expr in queries:
            for host in self.hosts:
                with self.subTest(panel=title, host=host.name, expr=expr):
                    if windows_only(expr) and not host.wine:
                        continue  # toolhelp_module_info exists only on Windows
                    if not self.expected(expr, host if "$instance" in expr else None):
                        continue  # resources the platform does not read yet
                    concrete = substitute(expr, host.instance, "sleepers")
                    self.assertNotIn("$", concrete)
                    # Queries without $instance (the fleet panels, from recording rules) are
                    # the same for every host; they must have data all the same.
                    self.assert_data(concrete, host.name, f"panel {title!r}")
        for variable in dashboard["templating"]["list"]:
            if variable["type"] != "query":
                continue
            query = variable["query"]
            if isinstance(query, dict):  # the object form of newer Grafana versions
                query = query["query"]
            match = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query)
            self.assertIsNotNone(match, query)
            for host in self.hosts:
                with self.subTest(variable=variable["name"], host=host.name):
                    result = self.assert_data(substitute(match.group(1), host.instance,
                                                         "sleepers"), host.name)
                    values = {r["metric"].get(match.group(2)) for r in result}
                    if variable["name"] == "instance":
                        self.assertIn(host.instance, values)
                    else:
                        self.assertIn("sleepers", values)

    def test_group_resources_of_the_sleepers(self):
        checked = 0
        for host in self.hosts:
            if not self.has_resources(host):
                continue
            checked += 1
            where = f'instance="{host.instance}", group="sleepers"'
            resident = self.assert_data(
                f'toolhelp_group_memory_bytes{{{where}, kind="resident"}}', host.name)
            self.assertGreater(float(resident[0]["value"][1]), 0, host.name)
            if self.reads(host, "toolhelp_group_handles toolhelp_group_cpu_seconds"):
                handles = self.assert_data(f'toolhelp_group_handles{{{where}}}', host.name)
                self.assertGreater(float(handles[0]["value"][1]), 0, host.name)
                cpu = self.assert_data(f'toolhelp_group_cpu_seconds_total{{{where}}}', host.name)
                self.assertEqual({r["metric"]["mode"] for r in cpu}, {"user", "system"},
                                 host.name)
            self.assert_data(f'toolhelp_group_oldest_start_time_seconds{{{where}}}', host.name)
        if not checked:
            self.skipTest("no host reads resources")

    def test_module_versions_on_windows(self):
        self.assertTrue(self.windows_hosts(), "run with --wine")
        for host in self.windows_hosts():
            info = self.assert_data(f'toolhelp_module_info{{instance="{host.instance}"}}',
                                    host.name)
            self.assertIn("file_version", info[0]["metric"])
        self.assert_data("module_path_version:toolhelp_module_hosts:count", "fleet")


class FleetTest(PrometheusTest):
    """The fleet path: a Prometheus in agent mode (deploy/prometheus/agent.yml) scrapes the
    exporters and remote-writes to a central Prometheus (central.yml) that receives the writes
    and evaluates the recording rules and alerts. Every test of PrometheusTest runs against the
    central server: every rule, every dashboard query, for every host."""

    @classmethod
    def _start_prometheus(cls):
        interval = "3s" if ARGS.wine else "1s"
        with open(os.path.join(PROMETHEUS_DIR, "central.yml")) as f:
            central = yaml.safe_load(f)
        central["global"]["evaluation_interval"] = "1s"
        central["rule_files"] = RULE_FILES
        central_path = os.path.join(cls.workdir, "central.yml")
        with open(central_path, "w") as f:
            yaml.safe_dump(central, f, sort_keys=False)
        rc, output = run("promtool", "check", "config", central_path)
        if rc != 0:
            raise AssertionError("promtool check config (central): " + output)
        cls.prometheus = Prometheus(central_path, cls.workdir, "central", receiver=True)
        cls.prometheus.wait_ready()

        with open(os.path.join(PROMETHEUS_DIR, "agent.yml")) as f:
            agent = yaml.safe_load(f)
        agent["global"].update(scrape_interval=interval, scrape_timeout=interval)
        job = agent["scrape_configs"][0]
        targets_dir = os.path.join(cls.workdir, "targets")
        os.makedirs(targets_dir)
        with open(os.path.join(targets_dir, "hosts.json"), "w") as f:
            json.dump([{"targets": [h.instance], "labels": {"os": h.name}} for h in cls.hosts],
                      f)
        job["file_sd_configs"] = [{"files": [os.path.join(targets_dir, "*.json")],
                                   "refresh_interval": "5s"}]
        # The shipped URL names the central server; here it is the one just started. Samples
        # are sent within a second rather than batched for minutes.
        agent["remote_write"] = [{"url": cls.prometheus.url + "/api/v1/write",
                                  "queue_config": {"batch_send_deadline": "1s"}}]
        agent_path = os.path.join(cls.workdir, "agent.yml")
        with open(agent_path, "w") as f:
            yaml.safe_dump(agent, f, sort_keys=False)
        rc, output = run("promtool", "check", "config", "--agent", agent_path)
        if rc != 0:
            raise AssertionError("promtool check config --agent: " + output)
        cls.agent = Prometheus(agent_path, cls.workdir, "agent", agent=True)
        cls.agent.wait_ready()

    @classmethod
    def _stop(cls):
        try:
            if getattr(cls, "agent", None) is not None:
                cls.agent.stop()
        finally:
            super()._stop()

    def test_series_per_host_and_per_fleet(self):
        """The numbers of the README's fleet section: series each host sends, and what the
        recording rules keep for the fleet, from this run's central server."""
        per_host = {}
        for host in self.hosts:
            result = self.assert_data(f'count({{instance="{host.instance}"}})', host.name)
            per_host[host.name] = int(float(result[0]["value"][1]))
        recorded = self.prometheus.query('count by (__name__) ({__name__=~".+:.+"})')
        by_rule = {r["metric"]["__name__"]: int(float(r["value"][1])) for r in recorded}
        per_instance = sum(v for k, v in by_rule.items() if k.startswith("instance"))
        fleet_wide = sum(v for k, v in by_rule.items() if not k.startswith("instance"))
        self.assertTrue(by_rule, "no recorded series on the central server")
        self.assertTrue(all(count > 0 for count in per_host.values()), per_host)
        print(f"\n  series per host (raw, remote-written): {per_host}", file=sys.stderr)
        print(f"  recorded series: {per_instance} per-host rules over {len(self.hosts)} "
              f"host(s), {fleet_wide} fleet-wide: {by_rule}", file=sys.stderr)


class WebConfigScrapeTest(unittest.TestCase):
    """A real Prometheus scrapes an exporter started with --web.config.file (the
    exporter-toolkit format) whose user htpasswd wrote (`htpasswd -nBC 10`) and whose TLS
    certificate its scrape job trusts (tls_config ca_file): the target is up. A second job with
    a wrong password is down with 401: the password is really checked. With client_auth_type
    RequireAndVerifyClientCert, the job presenting a client certificate of the client CA is up,
    and jobs with none or another CA's are down. The Linux exporter, or in the Windows run the
    .exe under Wine."""

    def setUp(self):
        if shutil.which("htpasswd") is None or shutil.which("openssl") is None:
            raise AssertionError("htpasswd (apache2-utils) and openssl must be installed")
        self.workdir = tempfile.mkdtemp(prefix="thx-prom-webcfg-")
        self.host = None
        self.prometheus = None

    def tearDown(self):
        try:
            if self.prometheus is not None:
                self.prometheus.stop()
        finally:
            try:
                if self.host is not None:
                    self.host.stop()
            finally:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def openssl(self, *args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60,
                       stdin=subprocess.DEVNULL)

    def server_certificate(self):
        """A self-signed certificate for 127.0.0.1: (cert, key) paths."""
        cert = os.path.join(self.workdir, "exporter.crt")
        key = os.path.join(self.workdir, "exporter.key")
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-days", "1", "-subj", "/CN=localhost", "-addext",
                     "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", key, "-out", cert)
        return cert, key

    def ca(self, name):
        """A certificate authority: (cert, key) paths."""
        cert = os.path.join(self.workdir, name + ".crt")
        key = os.path.join(self.workdir, name + ".key")
        self.openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-days", "1", "-subj", "/CN=" + name,
                     "-addext", "basicConstraints=critical,CA:TRUE",
                     "-addext", "keyUsage=critical,keyCertSign", "-keyout", key, "-out", cert)
        return cert, key

    def client_certificate(self, ca, name):
        """A client certificate `ca` signed: (cert, key) paths."""
        cert = os.path.join(self.workdir, name + ".crt")
        key = os.path.join(self.workdir, name + ".key")
        request = os.path.join(self.workdir, name + ".csr")
        self.openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                     "-nodes", "-subj", "/CN=" + name, "-keyout", key, "-out", request)
        self.openssl("x509", "-req", "-in", request, "-CA", ca[0], "-CAkey", ca[1],
                     "-set_serial", str(int(time.time() * 1000)), "-days", "1", "-out", cert)
        return cert, key

    def htpasswd_user(self):
        """(user, bcrypt hash) as `htpasswd -nBC 10 USER` makes them, and a password_file."""
        # -i reads the password from standard input instead of asking the terminal twice.
        made = subprocess.run(["htpasswd", "-niBC", "10", "prometheus"], input=b"scrape secret\n",
                              capture_output=True, check=True, timeout=60)
        user, hashed = made.stdout.decode().strip().split(":", 1)
        self.assertTrue(hashed.startswith("$2y$10$"), made.stdout)
        password_file = os.path.join(self.workdir, "password")
        with open(password_file, "w") as f:
            f.write("scrape secret")
        return user, hashed, password_file

    def scrape(self, web_config_text, jobs, expected):
        """Starts the exporter with the web configuration and a Prometheus with the scrape
        `jobs` (name -> job settings); waits until each job's target health is as `expected`
        (name -> "up" or "down") and returns {name: (health, last error)}."""
        web_config = os.path.join(self.workdir, "web-config.yml")
        with open(web_config, "w") as f:
            f.write(web_config_text)
        if ARGS.wine:  # the .exe under Wine, scraped from Linux
            self.host = Host("windows", ARGS.bin_dir, ARGS.wine, ARGS.wine_prefix)
        else:
            self.host = Host("linux", ARGS.bin_dir)
        self.host.start_exporter("--web.config.file=" + self.host.path_for_program(web_config))
        config = {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                  "scrape_configs": [
                      {"job_name": name, "scheme": "https",
                       "static_configs": [{"targets": [self.host.instance]}], **job}
                      for name, job in jobs.items()]}
        config_path = os.path.join(self.workdir, "prometheus.yml")
        with open(config_path, "w") as f:
            yaml.safe_dump(config, f, sort_keys=False)
        rc, output = run("promtool", "check", "config", config_path)
        self.assertEqual(rc, 0, output)
        self.prometheus = Prometheus(config_path, self.workdir)
        self.prometheus.wait_ready()

        deadline = time.monotonic() + 60
        targets = {}
        while time.monotonic() < deadline:
            targets = {t["labels"]["job"]: (t["health"], t["lastError"])
                       for t in self.prometheus.api("targets")["activeTargets"]}
            if all(targets.get(name, ("",))[0] == health for name, health in expected.items()):
                break
            time.sleep(0.5)
        for name, health in expected.items():
            self.assertEqual(targets.get(name, ("",))[0], health,
                             f"{name}: {targets}\n{self.host.log_text()}")
        return targets

    def test_basic_auth_and_tls_scrape_is_up(self):
        user, hashed, password_file = self.htpasswd_user()
        cert, _ = self.server_certificate()
        tls = {"tls_config": {"ca_file": cert}}
        targets = self.scrape(
            "tls_server_config:\n  cert_file: exporter.crt\n  key_file: exporter.key\n"
            f"basic_auth_users:\n  {user}: {hashed}\n",
            {"toolhelp_web_config": {
                **tls, "basic_auth": {"username": user, "password_file": password_file}},
             "toolhelp_wrong_password": {
                **tls, "basic_auth": {"username": user, "password": "not the secret"}}},
            {"toolhelp_web_config": "up", "toolhelp_wrong_password": "down"})
        self.assertIn("401", targets["toolhelp_wrong_password"][1])
        result = self.prometheus.query('toolhelp_processes{job="toolhelp_web_config"}')
        self.assertTrue(result, "no samples scraped over HTTPS with basic auth")
        self.assertGreater(float(result[0]["value"][1]), 0)

    def test_client_certificate_scrape_is_up(self):
        user, hashed, password_file = self.htpasswd_user()
        cert, _ = self.server_certificate()
        clients_ca = self.ca("clients-ca")
        client = self.client_certificate(clients_ca, "prometheus")
        stranger = self.client_certificate(self.ca("other-ca"), "stranger")
        auth = {"basic_auth": {"username": user, "password_file": password_file}}
        self.scrape(
            "tls_server_config:\n  cert_file: exporter.crt\n  key_file: exporter.key\n"
            "  client_auth_type: RequireAndVerifyClientCert\n"
            "  client_ca_file: clients-ca.crt\n"
            f"basic_auth_users:\n  {user}: {hashed}\n",
            {"toolhelp_client_cert": {
                "tls_config": {"ca_file": cert, "cert_file": client[0], "key_file": client[1]},
                **auth},
             "toolhelp_no_client_cert": {"tls_config": {"ca_file": cert}, **auth},
             "toolhelp_other_ca_cert": {
                "tls_config": {"ca_file": cert, "cert_file": stranger[0],
                               "key_file": stranger[1]},
                **auth}},
            {"toolhelp_client_cert": "up", "toolhelp_no_client_cert": "down",
             "toolhelp_other_ca_cert": "down"})
        result = self.prometheus.query('toolhelp_processes{job="toolhelp_client_cert"}')
        self.assertTrue(result, "no samples scraped with a client certificate")
        self.assertGreater(float(result[0]["value"][1]), 0)


def load_tests(loader, tests, pattern):
    """--rules-only: the promtool checks alone; --fleet: the agent and central server. Without
    a Windows host the Windows-only test is left out (not skipped: it has nothing to test)."""
    def cases(case):
        return [test for test in loader.loadTestsFromTestCase(case)
                if ARGS.wine or not test.id().endswith("_on_windows")]
    if ARGS.fleet:
        return unittest.TestSuite(cases(FleetTest))
    suite = unittest.TestSuite(cases(RulesTest))
    if not ARGS.rules_only:
        suite.addTests(cases(PrometheusTest))
        suite.addTests(cases(WebConfigScrapeTest))
    return suite


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir")
    parser.add_argument("--wine")
    parser.add_argument("--wine-prefix")
    parser.add_argument("--linux-bin-dir")
    parser.add_argument("--rules-only", action="store_true")
    parser.add_argument("--fleet", action="store_true",
                        help="the fleet path: an agent remote-writing to a central server")
    ARGS, rest = parser.parse_known_args()
    if not ARGS.rules_only and not ARGS.bin_dir:
        parser.error("--bin-dir is required (or --rules-only)")
    missing = [tool for tool in (["promtool"] if ARGS.rules_only else ["promtool", "prometheus"])
               if shutil.which(tool) is None]
    if missing:
        support.skip(f"{', '.join(missing)} not installed (Debian: apt-get install prometheus)")
    if yaml is None:
        support.skip(f"{sys.executable} has no PyYAML (Debian: apt-get install python3-yaml)")
    # ctest's timeout and Ctrl+C alike: unwind, so tearDownClass stops what the test started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    program = unittest.main(argv=[sys.argv[0], *rest], verbosity=2, exit=False)
    if not program.result.wasSuccessful():
        sys.exit(1)
    if program.result.skipped:
        for test, reason in program.result.skipped:
            print(f"SKIPPED {test.id()}: {reason}")
        sys.exit(support.SKIP_EXIT_CODE)


if __name__ == "__main__":
    main()
