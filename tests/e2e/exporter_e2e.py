#!/usr/bin/env python3
"""End-to-end tests of the real exporter binary, scraped over loopback.

Runs against the Linux binary, or against the Windows .exe under Wine (scraped from Linux):
  exporter_e2e.py --bin-dir DIR [--wine WINE_RUN_SCRIPT --wine-prefix DIR]
The Windows run leaves out what does not exist there (signals); the SCM lifecycle has its own
Windows test program. HTTPS runs on both (certificates made here by the openssl command). Every exporter a test starts must stop cleanly (status 0 on Linux) and
print no sanitizer report. Exits 77 (ctest: skipped) when a test skipped and none failed.
"""
import argparse
import atexit
import base64
import hashlib
import http.client
import json
import os
import platform
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
import thx_test_support as support  # noqa: E402

ARGS = None


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def windows():
    return ARGS.wine is not None


def command(program, *args):
    exe = os.path.join(ARGS.bin_dir, program + (".exe" if windows() else ""))
    if windows():
        return [ARGS.wine, "--prefix=" + ARGS.wine_prefix, exe, *args]
    return [exe, *args]


def run(*args, timeout=60, input=None, env=None):
    """The exporter run as a command (not a server): its result, failing on a sanitizer report
    whatever the exit status (a test that expects a refusal would not notice one otherwise)."""
    result = subprocess.run(command("toolhelp_exporter", *args), capture_output=True,
                            timeout=timeout, input=input, env=env,
                            stdin=None if input is not None else subprocess.DEVNULL)
    support.check_output((result.stdout + result.stderr).decode(errors="replace"),
                         "toolhelp_exporter " + " ".join(args))
    return result


def peak_rss_kib(*args, timeout=60):
    """The peak resident memory (KiB) of `toolhelp_exporter ARGS` run to its end (Linux), as GNU
    time reports it: a process started straight from Python would count Python's own pages (the
    peak survives fork and exec), the one GNU time starts only its own few."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as report:
        subprocess.run(["/usr/bin/time", "-o", report.name, "-f", "%M",
                        *command("toolhelp_exporter", *args)], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, timeout=timeout)
        return int(report.read().split()[-1])


def deeply_nested_config(directory, depth=100000):
    """A 200 KB configuration nested 100,000 levels deep (issue 13): its path."""
    path = os.path.join(directory, "deep.json")
    with open(path, "w") as f:
        f.write('{"web": ' + "[" * depth + "]" * depth + "}")
    return path


DEPTH_ERROR = "$.web[0][0][0]"  # ...: nesting deeper than 64 levels


def get(port, path, method="GET", timeout=10, headers=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def parse_metrics(text):
    """{(name, frozenset(labels)): value} from the text format (enough for our own output)."""
    samples = {}
    for line in support.exposition_lines(text):
        if not line or line.startswith("#"):
            continue
        head, value = line.rsplit(" ", 1)
        name, labels = head, frozenset()
        if "{" in head:
            name, rest = head.split("{", 1)
            pairs = []
            for part in rest.rstrip("}").split('",'):
                if part:
                    key, val = part.split("=", 1)
                    pairs.append((key, val.strip('"')))
            labels = frozenset(pairs)
        samples[(name, labels)] = float(value)
    return samples


class Exporter:
    """The real binary in the foreground, on a free loopback port."""

    def __init__(self, *extra, config=None, host="127.0.0.1", env=None):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="thx-e2e-")
        args = ["--web.listen-address=%s:%d" % (host, self.port), *extra]
        if config is not None:
            self.config_path = os.path.join(self.dir, "config.json")
            self.write_config(config)
            args.append("--config.file=" + self.config_path)
        self.log = open(os.path.join(self.dir, "log.txt"), "w+")
        self.process = subprocess.Popen(command("toolhelp_exporter", *args), stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        env=env)

    def write_config(self, config):
        with open(self.config_path, "w") as f:
            json.dump(config, f)

    def wait_ready(self, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("exporter exited early: " + self.log_text())
            try:
                status, _ = get(self.port, "/healthz", timeout=2)
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("exporter not healthy in time: " + self.log_text())

    def wait_ready_with(self, credentials, timeout=30):
        """wait_ready for a server that wants basic authentication."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise AssertionError("exporter exited early: " + self.log_text())
            try:
                if get(self.port, "/healthz", timeout=2, headers=basic(*credentials))[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("exporter not healthy in time: " + self.log_text())

    def metrics(self):
        status, text = get(self.port, "/metrics")
        assert status == 200, status
        return text

    def log_text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        """Stops the exporter and fails unless it ended cleanly (status 0 on Linux, no sanitizer
        report on either platform)."""
        try:
            support.stop(self.process, self.log_text, "toolhelp_exporter", windows=windows())
        finally:
            self.log.close()
            shutil.rmtree(self.dir, ignore_errors=True)


# Tests running in parallel (and anything else on the machine) spawn thx_sleeper too: this run's
# sleepers are copies under a name of their own (short: Linux keeps 15 characters of a name).
SLEEPER_NAME = "e2e%d" % (os.getpid() % 100000)


def sleeper_program():
    suffix = ".exe" if windows() else ""
    directory = os.path.join(tempfile.gettempdir(), "thx-e2e-sleeper-%d" % os.getpid())
    if not os.path.isdir(directory):
        os.makedirs(directory)
        atexit.register(shutil.rmtree, directory, True)
    program = os.path.join(directory, SLEEPER_NAME + suffix)
    if not os.path.exists(program):
        shutil.copy2(os.path.join(ARGS.bin_dir, "thx_sleeper" + suffix), program)
    return [ARGS.wine, "--prefix=" + ARGS.wine_prefix, program] if windows() else [program]


class Sleepers:
    """N real processes of T threads each."""

    def __init__(self, count, threads):
        self.processes = [subprocess.Popen(sleeper_program() + ["--threads", str(threads)],
                                           stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
                          for _ in range(count)]
        for process in self.processes:
            assert process.stdout.readline().strip() == b"ready"

    def stop(self, count=None):
        victims = self.processes[:count] if count is not None else self.processes
        for process in victims:
            process.kill()
        for process in victims:
            process.wait()
            process.stdout.close()
        self.processes = self.processes[len(victims):]


SLEEPER_GROUP = {"groups": {"rules": [{"group": "sleepers", "name": "^" + SLEEPER_NAME}],
                            "unmatched_group": "other"},
                 "collection": {"interval": "500ms"}}


class ExporterTest(unittest.TestCase):
    PLATFORMS = ("linux", "windows")
    def test_scrape_passes_promtool_and_counts_spawned_processes(self):
        sleepers = Sleepers(5, 4)
        exporter = Exporter(config=SLEEPER_GROUP)
        try:
            exporter.wait_ready()
            time.sleep(1.2)  # a cycle that surely saw the sleepers
            text = exporter.metrics()
            check = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                                   capture_output=True)
            self.assertEqual(check.returncode, 0, check.stdout + check.stderr)
            self.assertEqual(check.stdout + check.stderr, b"")
            samples = parse_metrics(text)
            names = {name for name, _ in samples}
            for fixed in ["toolhelp_processes", "toolhelp_threads", "toolhelp_group_processes",
                          "toolhelp_group_threads", "toolhelp_group_process_starts_total",
                          "toolhelp_group_process_exits_total", "toolhelp_module_processes",
                          "toolhelp_snapshot_duration_seconds", "toolhelp_snapshot_errors_total",
                          "toolhelp_last_snapshot_timestamp_seconds", "toolhelp_build_info"]:
                self.assertIn(fixed, names)
            group = frozenset({("group", "sleepers")})
            self.assertEqual(samples[("toolhelp_group_processes", group)], 5)
            self.assertEqual(samples[("toolhelp_group_threads", group)], 20)
            # Every process is grouped here, so the groups add up to the total.
            total = sum(v for (n, _), v in samples.items() if n == "toolhelp_group_processes")
            self.assertEqual(total, samples[("toolhelp_processes", frozenset())])

            sleepers.stop(2)
            time.sleep(1.5)
            samples = parse_metrics(exporter.metrics())
            self.assertEqual(samples[("toolhelp_group_processes", group)], 3)
            self.assertEqual(samples[("toolhelp_group_process_exits_total", group)], 2)
        finally:
            sleepers.stop()
            exporter.stop()

    def test_snapshot_endpoint_filters(self):
        sleepers = Sleepers(2, 3)
        exporter = Exporter(config=SLEEPER_GROUP)
        try:
            exporter.wait_ready()
            time.sleep(1.2)
            status, body = get(exporter.port, "/snapshot?group=sleepers")
            self.assertEqual(status, 200)
            snapshot = json.loads(body)
            self.assertEqual(len(snapshot["processes"]), 2)
            pid = snapshot["processes"][0]["pid"]
            status, body = get(exporter.port, f"/snapshot?pid={pid}&kind=threads")
            self.assertEqual(status, 200)
            self.assertEqual(len(json.loads(body)["threads"]), 3)
            status, body = get(exporter.port, "/snapshot?pid=abc")
            self.assertEqual(status, 400)
            self.assertIn("pid", body)
            status, body = get(exporter.port, "/")
            self.assertEqual(status, 200)
            self.assertIn("toolhelp_exporter", body)
        finally:
            sleepers.stop()
            exporter.stop()

    def test_snapshot_shows_command_lines_only_when_configured_and_can_be_off(self):
        config = {"groups": {"rules": [{"group": "sleepers", "name": "^" + SLEEPER_NAME,
                                        "command_line": "--threads"}],
                             "unmatched_group": "other"},
                  "collection": {"interval": "500ms"}}
        sleepers = Sleepers(1, 2)
        exporter = Exporter("--web.enable-lifecycle", config=config)
        try:
            exporter.wait_ready()
            time.sleep(1.2)

            def sleeper_command_lines():
                status, body = get(exporter.port, "/snapshot?group=sleepers")
                self.assertEqual(status, 200)
                return [p.get("command_line", "") for p in json.loads(body)["processes"]]

            # The rule read the command lines, but /snapshot leaves them out by default.
            self.assertEqual(sleeper_command_lines(), [""])
            config["web"] = {"snapshot_command_lines": True}
            exporter.write_config(config)
            self.assertEqual(get(exporter.port, "/-/reload", method="POST")[0], 200)
            self.assertIn("--threads", sleeper_command_lines()[0])
            config["web"] = {"enable_snapshot": False}
            exporter.write_config(config)
            self.assertEqual(get(exporter.port, "/-/reload", method="POST")[0], 200)
            self.assertEqual(get(exporter.port, "/snapshot")[0], 404)
            self.assertNotIn("/snapshot", get(exporter.port, "/")[1])
        finally:
            sleepers.stop()
            exporter.stop()

    def test_port_already_taken_is_a_clear_startup_error(self):
        with socket.socket() as blocker:
            blocker.bind(("127.0.0.1", 0))
            blocker.listen()
            port = blocker.getsockname()[1]
            result = run(f"--web.listen-address=127.0.0.1:{port}", timeout=60)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(f"127.0.0.1:{port}".encode(), result.stdout + result.stderr)

    def test_broken_config_names_the_path_and_exits_non_zero(self):
        directory = tempfile.mkdtemp()
        try:
            path = os.path.join(directory, "bad.json")
            with open(path, "w") as f:
                json.dump({"collection": {"interval": "soon"}, "web": {"nope": 1}}, f)
            result = run("check-config", path, timeout=60)
            self.assertEqual(result.returncode, 1)
            output = (result.stdout + result.stderr).decode()
            self.assertIn("$.collection.interval", output)
            self.assertIn("$.web.nope", output)
            result = run("--config.file=" + path, timeout=60)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("$.collection.interval", (result.stdout + result.stderr).decode())
            # A syntax error: the file is named once, then where and what.
            with open(path, "w") as f:
                f.write('{"log": }')
            result = run("check-config", path, timeout=60)
            self.assertEqual(result.returncode, 1)
            lines = result.stderr.decode().replace("\r\n", "\n").splitlines()
            self.assertEqual(lines[0], path + ": invalid JSON at line 1, column 9: syntax error "
                             "while parsing value - unexpected '}'; expected '[', '{', or a literal",
                             result.stderr)
            self.assertEqual(lines[1:], ["1 error(s)"])
        finally:
            shutil.rmtree(directory)

    def test_deep_nesting_is_a_clear_error_in_bounded_memory(self):
        """check-config on 100,000 levels in 200 KB: one error naming where the bound (64) was
        passed, and memory a small multiple of the file (it was quadratic in the depth)."""
        directory = tempfile.mkdtemp()
        try:
            path = deeply_nested_config(directory)
            result = run("check-config", path, timeout=60)
            self.assertEqual(result.returncode, 1, result.stderr)
            lines = result.stderr.decode().replace("\r\n", "\n").splitlines()
            self.assertEqual(len(lines), 2, result.stderr)
            self.assertTrue(lines[0].startswith(path + ": " + DEPTH_ERROR), lines[0])
            self.assertIn("...[0]: nesting deeper than 64 levels", lines[0])
            self.assertEqual(lines[1], "1 error(s)")
            if not windows():
                small = os.path.join(directory, "small.json")
                with open(small, "w") as f:
                    f.write("{}")
                baseline = peak_rss_kib("check-config", small)
                deep = peak_rss_kib("check-config", path)
                size_kib = os.path.getsize(path) / 1024
                print("check-config peak RSS: %d KiB for {}, %d KiB for %d KiB nested 100,000 "
                      "deep" % (baseline, deep, size_kib), file=sys.stderr)
                # Before: 16.6 MB over the baseline (release); now 0.3 MB (release), 1.5 MB
                # (ASan, whose allocator keeps freed blocks in quarantine).
                self.assertLess(deep - baseline, 20 * size_kib)
        finally:
            shutil.rmtree(directory)

    def test_deeply_nested_reload_is_refused_and_the_server_goes_on(self):
        exporter = Exporter("--web.enable-lifecycle", config=SLEEPER_GROUP)
        try:
            exporter.wait_ready()
            self.assertIn("toolhelp_config_last_reload_successful 1", exporter.metrics())
            deeply_nested_config(exporter.dir)
            os.replace(os.path.join(exporter.dir, "deep.json"), exporter.config_path)
            status, body = get(exporter.port, "/-/reload", method="POST", timeout=30)
            self.assertEqual(status, 500, body)
            self.assertIn(DEPTH_ERROR, body)
            self.assertIn("nesting deeper than 64", body)
            text = wait_for(exporter, "toolhelp_config_last_reload_successful 0")
            self.assertIn("toolhelp_config_last_reload_successful 0", text)
            self.assertIsNone(exporter.process.poll(), exporter.log_text())
            for _ in range(3):  # still serving, with the running configuration
                self.assertIn('group="other"', exporter.metrics())
            self.assertEqual(get(exporter.port, "/healthz")[0], 200)
        finally:
            exporter.stop()

    def test_version_and_once_textfile(self):
        result = run("--version", timeout=60)
        self.assertEqual(result.returncode, 0)
        self.assertIn(b"toolhelp_exporter ", result.stdout)
        directory = tempfile.mkdtemp()
        try:
            target = os.path.join(directory, "toolhelp.prom")
            result = run("once", "--textfile", target, timeout=120)
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(target) as f:
                text = f.read()
            self.assertTrue(text.endswith("\n"))
            self.assertIn("toolhelp_processes ", text)
            self.assertEqual(os.listdir(directory), ["toolhelp.prom"])  # no temporary left
        finally:
            shutil.rmtree(directory)

    def test_once_textfile_replaces_a_regular_file_and_leaves_no_temporary(self):
        directory = tempfile.mkdtemp()
        try:
            target = os.path.join(directory, "toolhelp.prom")
            with open(target, "w") as f:
                f.write("old\n")
            before = os.stat(target)
            result = run("once", "--textfile", target, timeout=120)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertEqual(os.listdir(directory), ["toolhelp.prom"])
            with open(target) as f:
                self.assertIn("toolhelp_processes ", f.read())
            after = os.stat(target)
            self.assertNotEqual(after.st_ino, before.st_ino)  # a new file renamed over it
            if not windows():
                umask = os.umask(0)
                os.umask(umask)
                # Readable as any file this user writes: node_exporter may run as another user.
                self.assertEqual(after.st_mode & 0o777, 0o666 & ~umask)
        finally:
            shutil.rmtree(directory)

    def assert_textfile_refused(self, target, *expected):
        """once --textfile TARGET fails, naming TARGET and the reason, and leaves its folder as
        it was (no temporary file)."""
        directory = os.path.dirname(target)
        listing = sorted(os.listdir(directory)) if os.path.isdir(directory) else None
        result = run("once", "--textfile", target, timeout=120)
        output = result.stderr.decode(errors="replace")
        self.assertNotEqual(result.returncode, 0, output)
        self.assertIn(target, output)
        for text in expected:
            self.assertIn(text, output)
        self.assertNotIn("Success", output)
        if listing is not None:
            self.assertEqual(sorted(os.listdir(directory)), listing)
        return output

    def test_once_textfile_refuses_a_directory_and_names_a_missing_one(self):
        directory = tempfile.mkdtemp()
        try:
            target = os.path.join(directory, "toolhelp.prom")
            os.mkdir(target)
            self.assert_textfile_refused(target, "refusing to write", "it is a directory")
            self.assertTrue(os.path.isdir(target))
            missing = os.path.join(directory, "missing", "toolhelp.prom")
            # ERROR_PATH_NOT_FOUND, in whatever words the system has for it.
            reason = ": 3 (" if windows() else ": No such file or directory"
            output = self.assert_textfile_refused(missing, "cannot create", reason)
            self.assertIn(os.path.join(directory, "missing"), output)
            if windows():  # the device Windows programs write to for nothing
                self.assert_textfile_refused("NUL", "refusing to write",
                                             "it is a character device")
        finally:
            shutil.rmtree(directory)

    def test_snapshot_command_json(self):
        sleepers = Sleepers(2, 3)
        try:
            result = run("snapshot", "--json", "--kinds", "processes,threads", timeout=120)
            self.assertEqual(result.returncode, 0, result.stderr)
            snapshot = json.loads(result.stdout)
            # --kinds took effect: threads read, modules not even asked for.
            self.assertEqual(snapshot["kinds"], ["processes", "threads"])
            self.assertEqual(snapshot["status"]["modules"]["state"], "not_requested")
            self.assertEqual(snapshot["status"]["threads"]["state"], "complete")
            ours = [p for p in snapshot["processes"] if p["name"].startswith(SLEEPER_NAME)]
            self.assertEqual(len(ours), 2)
            for process in ours:
                self.assertFalse(process.get("modules_read", False))
                self.assertEqual(process.get("modules", []), [])
                threads = [t for t in snapshot["threads"] if t["owner_pid"] == process["pid"]]
                self.assertEqual(len(threads), 3)

            result = run("snapshot", "--json", "--kinds", "processes,modules", timeout=120)
            self.assertEqual(result.returncode, 0, result.stderr)
            snapshot = json.loads(result.stdout)
            self.assertEqual(snapshot["kinds"], ["processes", "modules"])
            self.assertEqual(snapshot["threads"], [])
            self.assertEqual(snapshot["status"]["threads"]["state"], "not_requested")
            ours = [p for p in snapshot["processes"] if p["name"].startswith(SLEEPER_NAME)]
            self.assertTrue(all(p["modules_read"] and p["modules"] for p in ours), ours)
        finally:
            sleepers.stop()

    def test_snapshot_command_table(self):
        """The table (a stand-in for tlist): a header, one row per process with its thread
        count, its modules below it, and the totals and state of each kind at the end."""
        sleepers = Sleepers(2, 4)
        try:
            result = run("snapshot", "--kinds", "processes,threads,modules", timeout=120)
            self.assertEqual(result.returncode, 0, result.stderr)
            # Windows consoles end lines with \r\n.
            lines = result.stdout.decode(errors="replace").replace("\r\n", "\n").split("\n")
            self.assertEqual(lines[0].split(), ["PID", "PPID", "THREADS", "PRIO", "NAME", "PATH"])
            pids = {str(p.pid) for p in sleepers.processes}
            if windows():  # the Windows pid is not the launcher's: find the rows by name
                rows = [line.split() for line in lines if SLEEPER_NAME in line
                        and not line.startswith(" ")]
            else:
                rows = [line.split() for line in lines if line.split()[:1] and
                        line.split()[0] in pids]
            self.assertEqual(len(rows), 2, result.stdout)
            for row in rows:
                self.assertEqual(row[2], "4")  # THREADS
                self.assertTrue(row[4].startswith(SLEEPER_NAME), row)
                row_at = lines.index(next(l for l in lines if l.split() == row))
                self.assertTrue(lines[row_at + 1].startswith("        0x"),
                                "a module line under the process: " + lines[row_at + 1])
            summary = [line for line in lines if line.endswith(" threads") and "processes" in line]
            self.assertEqual(len(summary), 1, result.stdout)
            states = {line.split()[0]: line.split()[1] for line in lines
                      if line.split()[:1] in (["processes"], ["threads"], ["modules"])}
            self.assertEqual(set(states), {"processes", "threads", "modules"})
            self.assertTrue(set(states.values()) <= {"complete", "partial"}, states)
        finally:
            sleepers.stop()

    def test_custom_telemetry_path(self):
        exporter = Exporter("--web.telemetry-path=/custom/metrics",
                            config={"collection": {"interval": "500ms"}})
        try:
            exporter.wait_ready()
            status, text = get(exporter.port, "/custom/metrics")
            self.assertEqual(status, 200)
            self.assertIn("toolhelp_processes ", text)
            self.assertEqual(get(exporter.port, "/metrics")[0], 404)
            status, landing = get(exporter.port, "/")
            self.assertIn("/custom/metrics", landing)  # the landing page links the real path
        finally:
            exporter.stop()

    def test_lifecycle_reload_endpoint(self):
        """POST /-/reload re-reads the file (a visible change), a bad file is refused with the
        reason and the running configuration stays, and without the flag the endpoint is 403."""
        exporter = Exporter("--web.enable-lifecycle", config=SLEEPER_GROUP)
        try:
            exporter.wait_ready()
            self.assertNotIn('group="everything-else"', exporter.metrics())
            changed = json.loads(json.dumps(SLEEPER_GROUP))
            changed["groups"]["unmatched_group"] = "everything-else"
            exporter.write_config(changed)
            status, body = get(exporter.port, "/-/reload", method="POST")
            self.assertEqual(status, 200, body)
            text = wait_for(exporter, 'group="everything-else"')
            self.assertIn("toolhelp_config_last_reload_successful 1", text)

            changed["collection"]["interval"] = "soon"
            exporter.write_config(changed)
            status, body = get(exporter.port, "/-/reload", method="POST")
            self.assertNotEqual(status, 200, body)
            self.assertIn("$.collection.interval", body)
            text = wait_for(exporter, "toolhelp_config_last_reload_successful 0")
            self.assertIn('group="everything-else"', text)  # still the running configuration
            self.assertEqual(get(exporter.port, "/-/reload", method="GET")[0], 405)
        finally:
            exporter.stop()
        exporter = Exporter(config=SLEEPER_GROUP)  # no --web.enable-lifecycle
        try:
            exporter.wait_ready()
            status, body = get(exporter.port, "/-/reload", method="POST")
            self.assertEqual(status, 403, body)
        finally:
            exporter.stop()

    def test_basic_auth(self):
        # hash-password's output is PBKDF2-SHA256 as Python's hashlib computes it ...
        hashed = run("hash-password", input=b"s3cret\n")
        self.assertEqual(hashed.returncode, 0, hashed.stderr)
        scheme, iterations, salt, key = hashed.stdout.decode().strip().split("$")
        self.assertEqual(scheme, "pbkdf2-sha256")
        self.assertEqual(hashlib.pbkdf2_hmac("sha256", b"s3cret", bytes.fromhex(salt),
                                             int(iterations)).hex(), key)
        # ... and the server takes a hash of fewer iterations made by hashlib (each wrong
        # password below costs a full derivation, slow in the sanitizer build).
        salt = os.urandom(16)
        password_hash = "pbkdf2-sha256$1000$%s$%s" % (
            salt.hex(), hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, 1000).hex())
        exporter = Exporter(config={"collection": {"interval": "500ms"},
                                    "web": {"basic_auth_users": {"prom": password_hash}}})
        try:
            exporter.wait_ready_with(("prom", "s3cret"))
            # Five failures from one address within 30 s are answered 401; later ones 429
            # (without hashing), while the verified credential keeps working.
            failures = 0
            for path in ("/metrics", "/", "/snapshot", "/healthz"):
                for headers in ({}, basic("prom", "wrong"), basic("other", "s3cret")):
                    expected = 401 if failures < 5 else 429
                    self.assertEqual(get(exporter.port, path, headers=headers)[0], expected, path)
                    failures += 1
                self.assertEqual(get(exporter.port, path, headers=basic("prom", "s3cret"))[0],
                                 200, path)
        finally:
            exporter.stop()

    def test_allowed_networks_and_their_reload(self):
        """Loopback allowed, then (a reload) only 10.0.0.0/8: the next request is refused."""
        config = {"collection": {"interval": "500ms"},
                  "web": {"allowed_networks": ["10.0.0.0/8", "127.0.0.0/8"]}}
        exporter = Exporter("--web.enable-lifecycle", config=config)
        try:
            exporter.wait_ready()
            self.assertEqual(get(exporter.port, "/metrics")[0], 200)
            config["web"]["allowed_networks"] = ["10.0.0.0/8"]
            exporter.write_config(config)
            self.assertEqual(get(exporter.port, "/-/reload", method="POST")[0], 200)
            # Closed when accepted, before a byte is read: no answer at all.
            with self.assertRaises(OSError):
                get(exporter.port, "/metrics")
        finally:
            exporter.stop()

    def test_log_file_rotates(self):
        """log.file with the smallest size (1 KiB) and two old files: reloads log a line each,
        the file rotates, and no more than three files exist, none past the size."""
        directory = tempfile.mkdtemp(prefix="thx-e2e-log-")
        try:
            log = os.path.join(directory, "exporter.log")
            config = {"collection": {"interval": "500ms"},
                      "log": {"file": program_path(log), "file_max_bytes": 1024,
                              "file_max_files": 2, "level": "info"}}
            exporter = Exporter("--web.enable-lifecycle", config=config)
            try:
                exporter.wait_ready()
                for _ in range(60):
                    self.assertEqual(get(exporter.port, "/-/reload", method="POST")[0], 200)
            finally:
                exporter.stop()
            names = sorted(os.listdir(directory))
            self.assertEqual(names, ["exporter.1.log", "exporter.2.log", "exporter.log"])
            for name in names:
                size = os.path.getsize(os.path.join(directory, name))
                self.assertLessEqual(size, 1024, name)
                self.assertGreater(size, 0, name)
            with open(log, errors="replace") as f:
                self.assertIn("configuration reloaded", f.read())
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def test_unopenable_log_file_is_a_warning_not_a_stop(self):
        directory = tempfile.mkdtemp(prefix="thx-e2e-log-")
        try:
            # A directory where the file should be: no one can open it as a file.
            config = {"collection": {"interval": "500ms"},
                      "log": {"file": program_path(directory)}}
            exporter = Exporter(config=config)
            try:
                exporter.wait_ready()
                self.assertIn("toolhelp_processes ", exporter.metrics())
                self.assertIn("cannot open log file", exporter.log_text())
            finally:
                exporter.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)


def basic(user, password):
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": "Basic " + token}


def program_path(path):
    """A Linux path as the program sees it: under Wine, drive Z: is the Unix root."""
    return "Z:" + path.replace("/", "\\") if windows() else path


def wait_for(exporter, text, timeout=10):
    """The exporter's metrics once they contain `text` (after a reload, the next cycle)."""
    deadline = time.time() + timeout
    while True:
        metrics = exporter.metrics()
        if text in metrics or time.time() > deadline:
            return metrics
        time.sleep(0.2)


class SignalTest(unittest.TestCase):
    PLATFORMS = ("linux",)  # POSIX signals
    def test_sighup_reloads_and_bad_reload_keeps_running_config(self):
        exporter = Exporter(config=SLEEPER_GROUP)
        try:
            exporter.wait_ready()
            changed = json.loads(json.dumps(SLEEPER_GROUP))
            changed["groups"]["unmatched_group"] = "everything-else"
            exporter.write_config(changed)
            exporter.process.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while time.time() < deadline and "everything-else" not in exporter.metrics():
                time.sleep(0.2)
            text = exporter.metrics()
            self.assertIn('group="everything-else"', text)
            self.assertIn("toolhelp_config_last_reload_successful 1", text)

            with open(exporter.config_path, "w") as f:
                f.write("{ broken")
            exporter.process.send_signal(signal.SIGHUP)
            deadline = time.time() + 10
            while time.time() < deadline and \
                    "toolhelp_config_last_reload_successful 0" not in exporter.metrics():
                time.sleep(0.2)
            text = exporter.metrics()
            self.assertIn("toolhelp_config_last_reload_successful 0", text)
            self.assertIn('group="everything-else"', text)  # still the running configuration
            self.assertIn("reload", exporter.log_text())
        finally:
            exporter.stop()

    def test_deeply_nested_sighup_reload_is_refused_and_the_server_goes_on(self):
        exporter = Exporter(config=SLEEPER_GROUP)
        try:
            exporter.wait_ready()
            deeply_nested_config(exporter.dir)
            os.replace(os.path.join(exporter.dir, "deep.json"), exporter.config_path)
            exporter.process.send_signal(signal.SIGHUP)
            text = wait_for(exporter, "toolhelp_config_last_reload_successful 0")
            self.assertIn("toolhelp_config_last_reload_successful 0", text)
            self.assertIsNone(exporter.process.poll(), exporter.log_text())
            self.assertIn("nesting deeper than 64", exporter.log_text())
            for _ in range(3):
                self.assertIn('group="other"', exporter.metrics())
        finally:
            exporter.stop()

    def test_sigterm_stops_within_two_seconds(self):
        for sig in (signal.SIGTERM, signal.SIGINT):
            exporter = Exporter(config={"collection": {"interval": "100ms"}})
            try:
                exporter.wait_ready()
                started = time.monotonic()
                exporter.process.send_signal(sig)
                exporter.process.wait(5)
                self.assertLess(time.monotonic() - started, 2.0)
                self.assertEqual(exporter.process.returncode, 0)
            finally:
                exporter.stop()

    def test_one_shot_commands_end_on_sigterm_and_sigint(self):
        # A command that is not `serve` keeps the signals' default action: hash-password waits
        # on its standard input here, and the signal must end it (it used to be blocked for
        # every command, so only SIGKILL could).
        for sig in (signal.SIGTERM, signal.SIGINT):
            process = subprocess.Popen(command("toolhelp_exporter", "hash-password"),
                                       stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE)
            try:
                time.sleep(0.5)  # let it reach the read
                self.assertIsNone(process.poll())
                process.send_signal(sig)
                process.wait(5)
                self.assertEqual(process.returncode, -sig)
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                process.stdin.close()
                process.stdout.close()
                process.stderr.close()

class OpenSslOnDemandTest(unittest.TestCase):
    """Linux: OpenSSL is mapped only once TLS or passwords need it (its loading alone costs
    1.7 MB of resident memory), and then everything that needs it works."""
    PLATFORMS = ("linux",)  # /proc/<pid>/maps; the Windows .exe links OpenSSL statically

    @staticmethod
    def mapped(exporter):
        with open("/proc/%d/maps" % exporter.process.pid) as f:
            text = f.read()
        return "libssl" in text or "libcrypto" in text

    def setUp(self):
        if platform.machine() != "x86_64":
            self.skipTest("OpenSSL is linked as usual on %s (THX_DELAY_LOAD_OPENSSL)"
                          % platform.machine())

    @staticmethod
    def password_config():
        salt = os.urandom(16)
        password_hash = "pbkdf2-sha256$1000$%s$%s" % (
            salt.hex(), hashlib.pbkdf2_hmac("sha256", b"s3cret", salt, 1000).hex())
        return {"collection": {"interval": "500ms"},
                "web": {"basic_auth_users": {"prom": password_hash}}}

    def test_a_missing_openssl_refuses_passwords_at_check_start_and_reload(self):
        """A host where libssl cannot be loaded (here: an empty file found first): a configuration
        with passwords is refused naming the setting and the library, and a reload that brings
        them keeps the running configuration."""
        directory = tempfile.mkdtemp(prefix="thx-e2e-nossl-")
        try:
            open(os.path.join(directory, "libssl.so.3"), "w").close()
            env = dict(os.environ, LD_LIBRARY_PATH=directory)
            config_path = os.path.join(directory, "config.json")
            with open(config_path, "w") as f:
                json.dump(self.password_config(), f)
            result = run("check-config", config_path, env=env)
            output = (result.stdout + result.stderr).decode()
            self.assertEqual(result.returncode, 1, output)
            self.assertIn("$.web.basic_auth_users: needs OpenSSL", output)
            self.assertIn("libssl.so.3", output)
            result = run("--config.file=" + config_path, "--web.listen-address=127.0.0.1:%d"
                         % free_port(), env=env)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("$.web.basic_auth_users: needs OpenSSL",
                          (result.stdout + result.stderr).decode())

            exporter = Exporter("--web.enable-lifecycle",
                                config={"collection": {"interval": "500ms"}}, env=env)
            try:
                exporter.wait_ready()
                exporter.write_config(self.password_config())
                status, body = get(exporter.port, "/-/reload", method="POST")
                self.assertNotEqual(status, 200, body)
                self.assertIn("$.web.basic_auth_users: needs OpenSSL", body)
                exporter.process.send_signal(signal.SIGHUP)
                time.sleep(1)
                self.assertIsNone(exporter.process.poll(), exporter.log_text())
                # The running configuration stays: no users asked for.
                self.assertIn("toolhelp_config_last_reload_successful 0", exporter.metrics())
            finally:
                exporter.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def test_openssl_is_mapped_when_a_reload_brings_passwords(self):
        exporter = Exporter("--web.enable-lifecycle", config={"collection": {"interval": "500ms"}})
        try:
            exporter.wait_ready()
            self.assertIn("toolhelp_processes ", exporter.metrics())
            self.assertFalse(self.mapped(exporter), "OpenSSL mapped without TLS or passwords")
            exporter.write_config(self.password_config())
            status, body = get(exporter.port, "/-/reload", method="POST")
            self.assertEqual(status, 200, body)
            self.assertTrue(self.mapped(exporter))
            self.assertEqual(get(exporter.port, "/metrics")[0], 401)
            self.assertEqual(get(exporter.port, "/metrics", headers=basic("prom", "wrong"))[0], 401)
            status, text = get(exporter.port, "/metrics", headers=basic("prom", "s3cret"))
            self.assertEqual(status, 200)
            self.assertIn("toolhelp_processes ", text)
        finally:
            exporter.stop()


class TextfileSpecialTargetsTest(unittest.TestCase):
    """once --textfile onto what is not a regular file: refused, and left as it was."""
    PLATFORMS = ("linux",)  # FIFOs and symbolic links made from Python

    def setUp(self):
        self.directory = tempfile.mkdtemp()
        self.target = os.path.join(self.directory, "toolhelp.prom")

    def tearDown(self):
        shutil.rmtree(self.directory)

    def refused(self, *expected):
        return ExporterTest.assert_textfile_refused(self, self.target, "refusing to write",
                                                    *expected)

    def test_fifo(self):
        os.mkfifo(self.target)
        self.refused("it is a FIFO, not a regular file")
        self.assertTrue(stat.S_ISFIFO(os.lstat(self.target).st_mode))

    def test_symbolic_link_to_a_fifo(self):
        fifo = os.path.join(self.directory, "fifo")
        os.mkfifo(fifo)
        os.symlink(fifo, self.target)
        self.refused("it is a symbolic link to a FIFO")
        self.assertEqual(os.readlink(self.target), fifo)
        self.assertTrue(stat.S_ISFIFO(os.stat(fifo).st_mode))

    def test_symbolic_link_to_dev_null(self):
        os.symlink(os.devnull, self.target)
        self.refused("it is a symbolic link to a character device")
        self.assertEqual(os.readlink(self.target), os.devnull)
        self.assertTrue(stat.S_ISCHR(os.stat(os.devnull).st_mode))


def htpasswd(user, password, cost=10):
    """The bcrypt hash `htpasswd -nbBC COST` (Debian apache2-utils) writes for the user."""
    result = subprocess.run(["htpasswd", "-nbBC", str(cost), user, password], check=True,
                            capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    name, hashed = result.stdout.decode().strip().split(":", 1)
    assert name == user and hashed.startswith("$2y$%02d$" % cost), result.stdout
    return hashed


class WebConfigFileTest(unittest.TestCase):
    """--web.config.file (the exporter-toolkit format) with users htpasswd made: the Linux binary,
    and the .exe under Wine (reloaded by POST /-/reload there, by SIGHUP on Linux)."""
    PLATFORMS = ("linux", "windows")

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="thx-e2e-webcfg-")
        self.web_config = os.path.join(self.directory, "web-config.yml")

    def tearDown(self):
        shutil.rmtree(self.directory, ignore_errors=True)

    def write_web_config(self, text):
        with open(self.web_config, "w", encoding="utf-8") as f:
            f.write(text)

    def reload(self, exporter, credentials):
        """Asks the exporter to re-read its files: SIGHUP on Linux, POST /-/reload (the exporter
        runs with --web.enable-lifecycle) on Windows, which has no signals."""
        if windows():
            get(exporter.port, "/-/reload", method="POST", headers=basic(*credentials))
        else:
            exporter.process.send_signal(signal.SIGHUP)

    def test_htpasswd_users_headers_and_reload(self):
        self.write_web_config(
            "basic_auth_users:\n"
            f"  prometheus: {htpasswd('prometheus', 'first secret')}\n"
            f"  grafana: '{htpasswd('grafana', 'other secret')}'\n"
            "http_server_config:\n"
            "  headers:\n"
            "    X-Frame-Options: deny\n"
            "    Content-Security-Policy: \"default-src 'none'\"\n")
        exporter = Exporter("--web.config.file=" + program_path(self.web_config),
                            "--web.enable-lifecycle", config={"collection": {"interval": "500ms"}})
        try:
            exporter.wait_ready_with(("prometheus", "first secret"))
            # No, a wrong and an unknown credential: 401 each (fewer than the 5 failures after
            # which an address gets 429).
            for headers in ({}, basic("prometheus", "wrong"), basic("nobody", "first secret")):
                request = urllib.request.Request(f"http://127.0.0.1:{exporter.port}/metrics",
                                                 headers=headers)
                with self.assertRaises(urllib.error.HTTPError) as refused:
                    urllib.request.urlopen(request, timeout=10)
                self.assertEqual(refused.exception.code, 401, headers)
                self.assertEqual(refused.exception.headers["X-Frame-Options"], "deny")
            for user, password in (("prometheus", "first secret"), ("grafana", "other secret")):
                request = urllib.request.Request(f"http://127.0.0.1:{exporter.port}/metrics",
                                                 headers=basic(user, password))
                with urllib.request.urlopen(request, timeout=10) as response:
                    self.assertEqual(response.status, 200)
                    self.assertIn("toolhelp_processes ", response.read().decode())
                    self.assertEqual(response.headers["X-Frame-Options"], "deny")
                    self.assertEqual(response.headers["Content-Security-Policy"],
                                     "default-src 'none'")

            # A reload re-reads the web configuration file: a new password and header.
            self.write_web_config(
                "basic_auth_users:\n"
                f"  prometheus: {htpasswd('prometheus', 'second secret')}\n"
                "http_server_config:\n"
                "  headers:\n"
                "    X-Frame-Options: sameorigin\n")
            self.reload(exporter, ("prometheus", "first secret"))
            deadline = time.time() + 20
            while get(exporter.port, "/healthz",
                      headers=basic("prometheus", "second secret"))[0] != 200:
                self.assertLess(time.time(), deadline, exporter.log_text())
                time.sleep(0.2)
            self.assertEqual(get(exporter.port, "/metrics",
                                 headers=basic("prometheus", "first secret"))[0], 401)
            self.assertEqual(get(exporter.port, "/metrics",
                                 headers=basic("grafana", "other secret"))[0], 401)
            request = urllib.request.Request(f"http://127.0.0.1:{exporter.port}/metrics",
                                             headers=basic("prometheus", "second secret"))
            with urllib.request.urlopen(request, timeout=10) as response:
                self.assertEqual(response.headers["X-Frame-Options"], "sameorigin")
                self.assertIsNone(response.headers["Content-Security-Policy"])

            # A broken web configuration on reload keeps the running one.
            self.write_web_config("basic_auth_users:\n  prometheus: not-a-hash\n")
            self.reload(exporter, ("prometheus", "second secret"))
            text = ""
            deadline = time.time() + 20
            while "toolhelp_config_last_reload_successful 0" not in text:
                self.assertLess(time.time(), deadline, exporter.log_text())
                time.sleep(0.2)
                text = get(exporter.port, "/metrics",
                           headers=basic("prometheus", "second secret"))[1]
            self.assertIn("web-config.yml:2: basic_auth_users.prometheus", exporter.log_text())
        finally:
            exporter.stop()

    def test_check_config_names_file_line_and_user_never_the_hash(self):
        good = htpasswd("alice", "secret")
        bad = "$2y$32$" + good[7:]
        self.write_web_config(f"basic_auth_users:\n  alice: {good}\n  bob: {bad}\n"
                              "http_server_config:\n  headers:\n    Server: me\n"
                              "tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n")
        result = run("check-config", "--web.config.file=" + program_path(self.web_config))
        output = (result.stdout + result.stderr).decode()
        self.assertEqual(result.returncode, 1, output)
        self.assertIn("web-config.yml:3: basic_auth_users.bob: user \"bob\": bcrypt cost 32 is "
                      "out of range (4 to 31)", output)
        self.assertIn("web-config.yml:6: http_server_config.headers.Server: this header cannot "
                      "be configured", output)
        self.assertIn("web-config.yml:8: tls_server_config.cipher_suites: is not supported",
                      output)
        self.assertNotIn(good[7:], output)
        self.assertNotIn(bad[7:], output)

        self.write_web_config(f"basic_auth_users:\n  alice: {good}\n")
        result = run("check-config", "--web.config.file=" + program_path(self.web_config))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn(b"web-config.yml: OK", result.stdout)

    def test_users_in_both_files_is_an_error_naming_both(self):
        self.write_web_config(f"basic_auth_users:\n  alice: {htpasswd('alice', 'secret', 5)}\n")
        salt = os.urandom(16)
        json_config = os.path.join(self.directory, "config.json")
        with open(json_config, "w") as f:
            json.dump({"web": {"basic_auth_users": {"bob": "pbkdf2-sha256$1000$%s$%s" % (
                salt.hex(), hashlib.pbkdf2_hmac("sha256", b"pw", salt, 1000).hex())}}}, f)
        expected = ("basic auth users are set in both %s $.web.basic_auth_users and %s "
                    "basic_auth_users" % (program_path(json_config),
                                          program_path(self.web_config)))
        for command in ("check-config", "serve"):
            result = run(command, "--config.file=" + program_path(json_config),
                         "--web.config.file=" + program_path(self.web_config),
                         f"--web.listen-address=127.0.0.1:{free_port()}")
            output = (result.stdout + result.stderr).decode()
            self.assertNotEqual(result.returncode, 0, output)
            self.assertIn(expected, output)

    def wait_https(self, exporter, cafile, client=None):
        """Waits until the exporter answers /healthz over HTTPS (with the client certificate
        `client` when given)."""
        deadline = time.time() + 30
        while True:
            self.assertIsNone(exporter.process.poll(), exporter.log_text())
            try:
                if https_get(exporter.port, "/healthz", cafile, timeout=2,
                             client=client)[0] == 200:
                    return
            except (OSError, http.client.HTTPException):
                pass
            self.assertLess(time.time(), deadline, exporter.log_text())
            time.sleep(0.1)

    def test_tls_from_the_web_config_file(self):
        """tls_server_config with file names relative to the web configuration's folder (a folder
        whose name is not ASCII: UTF-8 in the file, a wide path on Windows), and min_version
        TLS13: a TLS 1.2 client is refused, plain HTTP gets no answer, and the configured header
        comes with the HTTPS answers."""
        folder = os.path.join(self.directory, "сертификаты")
        os.makedirs(folder)
        cert, _ = make_certificate(folder)
        self.write_web_config("tls_server_config:\n  cert_file: сертификаты/server.crt\n"
                              "  key_file: сертификаты/server.key\n  min_version: TLS13\n"
                              "http_server_config:\n  headers:\n"
                              "    Strict-Transport-Security: max-age=31536000\n")
        exporter = Exporter("--web.config.file=" + program_path(self.web_config),
                            config={"collection": {"interval": "500ms"}})
        try:
            self.wait_https(exporter, cert)
            status, body, version = https_get(exporter.port, "/metrics", cert)
            self.assertEqual((status, version), (200, "TLSv1.3"))
            self.assertIn("toolhelp_processes ", body)
            with self.assertRaises(ssl.SSLError):
                https_get(exporter.port, "/metrics", cert, maximum_version=ssl.TLSVersion.TLSv1_2)
            with self.assertRaises((OSError, http.client.HTTPException)):
                get(exporter.port, "/metrics", timeout=5)
            context = ssl.create_default_context(cafile=cert)
            connection = http.client.HTTPSConnection("127.0.0.1", exporter.port, context=context,
                                                     timeout=10)
            try:
                connection.request("GET", "/healthz")
                response = connection.getresponse()
                response.read()
                self.assertEqual(response.getheader("Strict-Transport-Security"),
                                 "max-age=31536000")
            finally:
                connection.close()
            self.assertIsNone(exporter.process.poll(), exporter.log_text())
        finally:
            exporter.stop()

    def test_client_certificates_from_the_web_config_file(self):
        """client_auth_type RequireAndVerifyClientCert with client_ca_file (relative to the web
        configuration's folder): a certificate that CA signed gets the metrics; none, or one
        another CA signed, ends the handshake."""
        cert, _ = make_certificate(self.directory)
        ca = make_ca(self.directory, "clients-ca")
        good = make_client_certificate(self.directory, ca, "prometheus")
        stranger = make_client_certificate(self.directory, make_ca(self.directory, "other-ca"),
                                           "stranger")
        self.write_web_config("tls_server_config:\n  cert_file: server.crt\n"
                              "  key_file: server.key\n"
                              "  client_auth_type: RequireAndVerifyClientCert\n"
                              "  client_ca_file: clients-ca.crt\n")
        exporter = Exporter("--web.config.file=" + program_path(self.web_config),
                            config={"collection": {"interval": "500ms"}})
        try:
            self.wait_https(exporter, cert, client=good)
            for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                status, body, _ = https_get(exporter.port, "/metrics", cert, client=good,
                                            minimum_version=version, maximum_version=version)
                self.assertEqual(status, 200)
                self.assertIn("toolhelp_processes ", body)
                for client in (None, stranger):
                    with self.assertRaises(REFUSED, msg=(version, client)):
                        https_get(exporter.port, "/metrics", cert, client=client,
                                  minimum_version=version, maximum_version=version)
            self.assertIsNone(exporter.process.poll(), exporter.log_text())
        finally:
            exporter.stop()

    def test_max_version_from_the_web_config_file(self):
        """max_version TLS12: a client that speaks only TLS 1.3 is refused, others get TLS 1.2."""
        cert, _ = make_certificate(self.directory)
        self.write_web_config("tls_server_config:\n  cert_file: server.crt\n"
                              "  key_file: server.key\n  max_version: TLS12\n")
        exporter = Exporter("--web.config.file=" + program_path(self.web_config),
                            config={"collection": {"interval": "500ms"}})
        try:
            self.wait_https(exporter, cert)
            with self.assertRaises(ssl.SSLError):
                https_get(exporter.port, "/metrics", cert,
                          minimum_version=ssl.TLSVersion.TLSv1_3)
            status, body, version = https_get(exporter.port, "/metrics", cert)
            self.assertEqual((status, version), (200, "TLSv1.2"))
            self.assertIn("toolhelp_processes ", body)
        finally:
            exporter.stop()

    def test_unusable_client_ca_file_is_named_as_the_web_config_file_names_it(self):
        """A CA file that cannot be used, at startup and on a reload, is named by this file's
        name, line and key, not by the JSON configuration's keys."""
        cert, key = make_certificate(self.directory)
        ca = make_ca(self.directory, "clients-ca")
        good = make_client_certificate(self.directory, ca, "prometheus")
        client_tls = ("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n"
                      "  client_auth_type: RequireAndVerifyClientCert\n")
        # A PEM file without a certificate in it: OpenSSL reads it and finds no CA.
        self.write_web_config(client_tls + "  client_ca_file: server.key\n")
        result = run("--web.config.file=" + program_path(self.web_config),
                     f"--web.listen-address=127.0.0.1:{free_port()}")
        output = (result.stdout + result.stderr).decode()
        self.assertNotEqual(result.returncode, 0, output)
        self.assertIn("with TLS: %s:5: tls_server_config.client_ca_file %s: "
                      % (program_path(self.web_config), program_path(key)), output)
        self.assertNotIn("web.tls_", output)

        self.write_web_config(client_tls + "  client_ca_file: clients-ca.crt\n")
        exporter = Exporter("--web.config.file=" + program_path(self.web_config),
                            config={"web": {"enable_lifecycle": True},
                                    "collection": {"interval": "500ms"}})
        try:
            self.wait_https(exporter, cert, client=good)
            missing = os.path.join(self.directory, "missing-ca.crt")
            self.write_web_config(client_tls + "  client_ca_file: missing-ca.crt\n")
            status, body, _ = https_get(exporter.port, "/-/reload", cert, client=good,
                                        method="POST")
            self.assertNotEqual(status, 200, body)
            self.assertIn("%s:5: tls_server_config.client_ca_file %s"
                          % (program_path(self.web_config), program_path(missing)), body)
            self.assertNotIn("web.tls_", body)
            self.assertIn("tls_server_config.client_ca_file " + program_path(missing),
                          exporter.log_text())
            # The running context stays: the client CA still lets the certificate in.
            self.assertEqual(https_get(exporter.port, "/metrics", cert, client=good)[0], 200)
        finally:
            exporter.stop()

    def test_broken_yaml_is_refused_naming_file_line_and_key(self):
        """check-config and serve refuse a web configuration that is not YAML (the file and the
        line), and one whose value is wrong (the file, the line and the key path)."""
        self.write_web_config("tls_server_config:\n  cert_file: [server.crt\n")
        result = run("check-config", "--web.config.file=" + program_path(self.web_config))
        output = (result.stdout + result.stderr).decode()
        self.assertEqual(result.returncode, 1, output)
        self.assertIn(program_path(self.web_config) + ":3: YAML syntax error:", output)

        self.write_web_config("tls_server_config:\n  cert_file: server.crt\n"
                              "  key_file: server.key\n  min_version: TLS99\n")
        expected = (program_path(self.web_config) + ":4: tls_server_config.min_version: expected "
                    "TLS12 or TLS13, got \"TLS99\"")
        for command in ("check-config", "serve"):
            result = run(command, "--web.config.file=" + program_path(self.web_config),
                         f"--web.listen-address=127.0.0.1:{free_port()}")
            output = (result.stdout + result.stderr).decode()
            self.assertNotEqual(result.returncode, 0, output)
            self.assertIn(expected, output)


def load_tests(loader, tests, pattern):
    """The test classes of this platform: a class for the other one is not a skip here."""
    platform = "windows" if windows() else "linux"
    suite = unittest.TestSuite()
    for case in (ExporterTest, SignalTest, ExpositionTest, TlsTest, TextfileSpecialTargetsTest,
                 WebConfigFileTest):
        if platform in case.PLATFORMS:
            suite.addTests(loader.loadTestsFromTestCase(case))
    return suite


def make_certificate(directory, name="server", common_name="localhost"):
    """A throw-away self-signed certificate for 127.0.0.1 and localhost: (cert, key) paths."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                    "-subj", "/CN=" + common_name,
                    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return cert, key


def make_ca(directory, name):
    """A throw-away certificate authority: (cert, key) paths."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=" + name,
                    "-addext", "basicConstraints=critical,CA:TRUE",
                    "-addext", "keyUsage=critical,keyCertSign",
                    "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return cert, key


def make_client_certificate(directory, ca, name):
    """A client certificate signed by `ca` (cert, key): (cert, key) paths."""
    cert = os.path.join(directory, name + ".crt")
    key = os.path.join(directory, name + ".key")
    request = os.path.join(directory, name + ".csr")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-subj", "/CN=" + name,
                    "-keyout", key, "-out", request],
                   check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    subprocess.run(["openssl", "x509", "-req", "-in", request, "-CA", ca[0], "-CAkey", ca[1],
                    "-set_serial", str(int(time.time() * 1000)), "-days", "1", "-out", cert],
                   check=True, capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
    return cert, key


def https_get(port, path, cafile, timeout=10, ciphers=None, client=None, method="GET",
              **context_settings):
    """(status, body, TLS version) over HTTPS, verifying the server against `cafile` and, when
    given, presenting the client certificate `client` (cert, key)."""
    context = ssl.create_default_context(cafile=cafile)
    if ciphers is not None:
        context.set_ciphers(ciphers)
    if client is not None:
        context.load_cert_chain(*client)
    with warnings.catch_warnings():  # TLS 1.0 and 1.1 are deprecated: tests offer them on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        for name, value in context_settings.items():
            setattr(context, name, value)
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=timeout)
    try:
        connection.connect()
        version = connection.sock.version()  # the server closes after one response
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.read().decode(), version
    finally:
        connection.close()


class HttpProtocolTest(unittest.TestCase):
    """HTTP as Prometheus and browsers use it, on a dual-stack listener ([::]:port)."""
    PLATFORMS = ("linux", "windows")

    @classmethod
    def setUpClass(cls):
        cls.exporter = Exporter("--web.enable-lifecycle", host="[::]")
        cls.exporter.wait_ready()

    @classmethod
    def tearDownClass(cls):
        cls.exporter.stop()

    def request(self, method, path, headers=None, host="127.0.0.1"):
        connection = http.client.HTTPConnection(host, self.exporter.port, timeout=10)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return response, response.read()
        finally:
            connection.close()

    def test_head_has_the_headers_of_get_without_a_body(self):
        response, body = self.request("HEAD", "/metrics")
        self.assertEqual(response.status, 200)
        self.assertEqual(body, b"")
        self.assertGreater(int(response.getheader("Content-Length")), 100)

    def test_other_methods_get_405_with_allow(self):
        for method in ("PUT", "DELETE", "OPTIONS", "PATCH", "PROPFIND", "POST"):
            response, _ = self.request(method, "/metrics")
            self.assertEqual(response.status, 405, method)
            self.assertEqual(response.getheader("Allow"), "GET, HEAD", method)
        for method in ("GET", "PUT", "DELETE"):
            response, _ = self.request(method, "/-/reload")
            self.assertEqual(response.status, 405, method)
            self.assertEqual(response.getheader("Allow"), "POST", method)

    def test_ipv6_and_ipv4_clients_on_one_listener(self):
        for host in ("::1", "127.0.0.1"):
            response, body = self.request("GET", "/metrics", host=host)
            self.assertEqual(response.status, 200, host)
            self.assertIn(b"toolhelp_build_info", body)

    def test_keep_alive_serves_many_scrapes_on_one_connection(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.exporter.port, timeout=10)
        try:
            local = None
            for _ in range(5):
                connection.request("GET", "/metrics")
                response = connection.getresponse()
                self.assertEqual(response.status, 200)
                response.read()
                self.assertFalse(response.will_close)
                if local is None:
                    local = connection.sock.getsockname()
                self.assertEqual(connection.sock.getsockname(), local)
        finally:
            connection.close()

    def test_gzip_restores_byte_for_byte_and_q0_gets_identity(self):
        for _ in range(5):  # both answers from one cycle (a new cycle may come between them)
            zipped, compressed = self.request("GET", "/metrics", {"Accept-Encoding": "gzip"})
            plain, text = self.request("GET", "/metrics", {"Accept-Encoding": "gzip;q=0"})
            self.assertEqual(zipped.getheader("Content-Encoding"), "gzip")
            self.assertEqual(zipped.getheader("Vary"), "Accept-Encoding")
            self.assertIsNone(plain.getheader("Content-Encoding"))
            self.assertEqual(plain.getheader("Vary"), "Accept-Encoding")
            restored = subprocess.run(["gzip", "-d"], input=compressed, capture_output=True,
                                      check=True).stdout
            if restored == text:
                self.assertLess(len(compressed), len(text) / 3)
                return
        self.fail("gzip -d never restored the identity answer of the same cycle")


class ExpositionTest(unittest.TestCase):
    PLATFORMS = ("linux",)  # a Linux file name with control characters becomes the process name

    def test_names_with_line_separators_python_knows_parse_as_prometheus_does(self):
        """A process whose name holds \\x1c and U+2028 (line breaks to str.splitlines(), plain
        characters in the text format): its group is one sample on one line."""
        name = "sep%d\x1c\u2028x" % (os.getpid() % 1000)
        directory = tempfile.mkdtemp(prefix="thx-e2e-names-")
        program = os.path.join(directory, name)
        shutil.copy2(os.path.join(ARGS.bin_dir, "thx_sleeper"), program)
        sleeper = subprocess.Popen([program, "--threads", "2"], stdout=subprocess.PIPE,
                                   stdin=subprocess.DEVNULL)
        exporter = Exporter(config={"collection": {"interval": "500ms"}})
        try:
            self.assertEqual(sleeper.stdout.readline().strip(), b"ready")
            exporter.wait_ready()
            text = wait_for(exporter, name)
            self.assertNotEqual(len(text.splitlines()), len(support.exposition_lines(text)),
                                "str.splitlines() would have split the sample's line")
            samples = parse_metrics(text)
            group = frozenset({("group", name)})
            self.assertEqual(samples[("toolhelp_group_processes", group)], 1)
            self.assertEqual(samples[("toolhelp_group_threads", group)], 2)
        finally:
            sleeper.kill()
            sleeper.wait()
            sleeper.stdout.close()
            exporter.stop()
            shutil.rmtree(directory, ignore_errors=True)


# A refused client certificate ends the handshake with an alert (TLS 1.2) or, in TLS 1.3, where
# the client has finished its part before the server checks, the first read.
REFUSED = (ssl.SSLError, ConnectionError)


class TlsTest(unittest.TestCase):
    """HTTPS from the same code (Asio + OpenSSL 3) on both platforms: the Windows .exe under Wine
    serves, Python's ssl on Linux asks."""
    PLATFORMS = ("linux", "windows")

    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="thx-e2e-tls-")
        self.cert, self.key = make_certificate(self.directory)

    def tearDown(self):
        shutil.rmtree(self.directory, ignore_errors=True)

    def start(self, client=None, **web):
        config = {"web": {"tls_cert_file": self.cert, "tls_key_file": self.key, **web},
                  "collection": {"interval": "500ms"}}
        exporter = Exporter(config=config)
        deadline = time.time() + 30
        while True:
            if exporter.process.poll() is not None:
                raise AssertionError("exporter exited: " + exporter.log_text())
            try:
                if https_get(exporter.port, "/healthz", self.cert, timeout=2,
                             client=client)[0] == 200:
                    return exporter
            except (OSError, http.client.HTTPException):
                pass
            if time.time() > deadline:
                exporter.stop()
                raise AssertionError("no HTTPS answer in time: " + exporter.log_text())
            time.sleep(0.1)

    def assert_metrics_over_https(self, exporter, cafile=None, **settings):
        status, body, version = https_get(exporter.port, "/metrics", cafile or self.cert,
                                          **settings)
        self.assertEqual(status, 200)
        self.assertIn("toolhelp_processes ", body)
        return version

    def test_metrics_over_verified_https_and_plain_http_is_refused(self):
        exporter = self.start()
        try:
            version = self.assert_metrics_over_https(exporter)
            self.assertIn(version, ("TLSv1.2", "TLSv1.3"))
            # Plain HTTP to the HTTPS port: no answer, a closed connection, and no crash.
            for _ in range(3):
                with self.assertRaises((OSError, http.client.HTTPException)):
                    get(exporter.port, "/metrics", timeout=5)
            for garbage in (b"\r\n\r\n", b"\x16\x03\x01\x00\x05hello", b"\x00" * 4096):
                with socket.create_connection(("127.0.0.1", exporter.port), timeout=5) as s:
                    try:  # the server may hang up at any point of this
                        s.sendall(garbage)
                        s.shutdown(socket.SHUT_WR)
                        while s.recv(4096):
                            pass
                    except OSError:
                        pass
            # The server keeps answering, many times over.
            for _ in range(12):
                self.assert_metrics_over_https(exporter)
            self.assertIsNone(exporter.process.poll(), exporter.log_text())
        finally:
            exporter.stop()

    def test_server_presents_the_configured_certificate(self):
        other_cert, _ = make_certificate(self.directory, "other", common_name="other")
        exporter = self.start()
        try:
            with self.assertRaises(ssl.SSLCertVerificationError):
                https_get(exporter.port, "/metrics", other_cert)
            self.assert_metrics_over_https(exporter)
        finally:
            exporter.stop()

    def test_tls_min_version(self):
        exporter = self.start(tls_min_version="TLS1.3")
        try:
            with self.assertRaises(ssl.SSLError):
                https_get(exporter.port, "/metrics", self.cert,
                          maximum_version=ssl.TLSVersion.TLSv1_2)
            self.assertEqual(self.assert_metrics_over_https(exporter), "TLSv1.3")
        finally:
            exporter.stop()
        # The default floor is TLS 1.2: a client that offers only TLS 1.0 and 1.1 (allowed by
        # its own security level here) is refused.
        exporter = self.start()
        try:
            with self.assertRaises(ssl.SSLError):
                https_get(exporter.port, "/metrics", self.cert, ciphers="DEFAULT:@SECLEVEL=0",
                          minimum_version=ssl.TLSVersion.TLSv1,
                          maximum_version=ssl.TLSVersion.TLSv1_1)
            self.assertEqual(https_get(exporter.port, "/metrics", self.cert,
                                       maximum_version=ssl.TLSVersion.TLSv1_2)[2], "TLSv1.2")
        finally:
            exporter.stop()

    def test_tls_max_version(self):
        exporter = self.start(tls_max_version="TLS1.2")
        try:
            with self.assertRaises(ssl.SSLError):
                https_get(exporter.port, "/metrics", self.cert,
                          minimum_version=ssl.TLSVersion.TLSv1_3)
            self.assertEqual(self.assert_metrics_over_https(exporter), "TLSv1.2")
        finally:
            exporter.stop()

    def test_client_certificate_required_and_verified(self):
        """RequireAndVerifyClientCert: no certificate, or one from another CA, ends the handshake;
        a certificate from the client CA file gets the metrics."""
        ca = make_ca(self.directory, "clients-ca")
        good = make_client_certificate(self.directory, ca, "prometheus")
        stranger = make_client_certificate(self.directory, make_ca(self.directory, "other-ca"),
                                           "stranger")
        exporter = self.start(client=good, tls_client_auth_type="RequireAndVerifyClientCert",
                              tls_client_ca_file=ca[0])
        try:
            for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
                for client in (None, stranger):
                    with self.assertRaises(REFUSED, msg=(version, client)):
                        https_get(exporter.port, "/metrics", self.cert, client=client,
                                  minimum_version=version, maximum_version=version)
                self.assert_metrics_over_https(exporter, client=good, minimum_version=version,
                                               maximum_version=version)
            self.assertIsNone(exporter.process.poll(), exporter.log_text())
        finally:
            exporter.stop()

    def test_optional_and_unverified_client_certificate_policies(self):
        ca = make_ca(self.directory, "clients-ca")
        good = make_client_certificate(self.directory, ca, "prometheus")
        stranger = make_client_certificate(self.directory, make_ca(self.directory, "other-ca"),
                                           "stranger")
        # VerifyClientCertIfGiven: none is fine, a given one must chain to the CA file.
        exporter = self.start(tls_client_auth_type="VerifyClientCertIfGiven",
                              tls_client_ca_file=ca[0])
        try:
            self.assert_metrics_over_https(exporter)
            self.assert_metrics_over_https(exporter, client=good)
            with self.assertRaises(REFUSED):
                https_get(exporter.port, "/metrics", self.cert, client=stranger)
        finally:
            exporter.stop()
        # RequireAnyClientCert: some certificate, whoever signed it.
        exporter = self.start(client=stranger, tls_client_auth_type="RequireAnyClientCert")
        try:
            self.assert_metrics_over_https(exporter, client=stranger)
            with self.assertRaises(REFUSED):
                https_get(exporter.port, "/metrics", self.cert)
        finally:
            exporter.stop()

    def test_reload_reads_renewed_certificates_and_keeps_them_when_broken(self):
        """A certificate renewed in place is served after POST /-/reload; a broken one fails the
        reload with the setting named, and the running certificate stays."""
        original = os.path.join(self.directory, "original.crt")
        shutil.copy(self.cert, original)
        exporter = self.start(enable_lifecycle=True)
        try:
            renewed, renewed_key = make_certificate(self.directory, "renewed",
                                                    common_name="renewed")
            shutil.copy(renewed, self.cert)
            shutil.copy(renewed_key, self.key)
            status, body, _ = https_get(exporter.port, "/-/reload", original, method="POST")
            self.assertEqual(status, 200, body)
            self.assert_metrics_over_https(exporter, cafile=renewed)
            with self.assertRaises(ssl.SSLCertVerificationError):
                https_get(exporter.port, "/metrics", original)

            with open(self.cert, "w") as f:
                f.write("not a certificate\n")
            status, body, _ = https_get(exporter.port, "/-/reload", renewed, method="POST")
            self.assertNotEqual(status, 200, body)
            self.assertIn("$.web.tls_cert_file", body)
            text = https_get(exporter.port, "/metrics", renewed)[1]  # the renewed one, still
            deadline = time.time() + 10
            while "toolhelp_config_last_reload_successful 0" not in text:
                self.assertLess(time.time(), deadline, "the failed reload is not in the metrics")
                time.sleep(0.2)
                text = https_get(exporter.port, "/metrics", renewed)[1]
        finally:
            exporter.stop()

    def test_reload_that_tightens_client_certificates_ends_open_connections(self):
        """A connection accepted under the old TLS settings is not answered after a reload that
        requires client certificates: Prometheus keeps its connection open between scrapes, so
        otherwise a client the new policy refuses would be served until it hung up."""
        ca = make_ca(self.directory, "clients-ca")
        good = make_client_certificate(self.directory, ca, "prometheus")
        exporter = self.start(enable_lifecycle=True)
        context = ssl.create_default_context(cafile=self.cert)
        kept = http.client.HTTPSConnection("127.0.0.1", exporter.port, context=context,
                                           timeout=10)
        try:
            kept.request("GET", "/metrics")
            response = kept.getresponse()
            self.assertEqual(response.status, 200)
            response.read()
            exporter.write_config({"web": {"tls_cert_file": self.cert, "tls_key_file": self.key,
                                           "enable_lifecycle": True,
                                           "tls_client_auth_type": "RequireAndVerifyClientCert",
                                           "tls_client_ca_file": ca[0]},
                                   "collection": {"interval": "500ms"}})
            status, body, _ = https_get(exporter.port, "/-/reload", self.cert, method="POST")
            self.assertEqual(status, 200, body)
            self.assert_metrics_over_https(exporter, client=good)
            with self.assertRaises(REFUSED):
                https_get(exporter.port, "/metrics", self.cert)
            with self.assertRaises((http.client.HTTPException, *REFUSED)):
                kept.request("GET", "/metrics")
                kept.getresponse().read()
            self.assertIsNone(exporter.process.poll(), exporter.log_text())
        finally:
            kept.close()
            exporter.stop()

    def test_unusable_key_is_a_clear_startup_error(self):
        _, other_key = make_certificate(self.directory, "other")
        missing = os.path.join(self.directory, "missing.crt")
        for web, expected in (({"tls_key_file": other_key}, "web.tls_key_file"),
                              ({"tls_cert_file": missing}, "web.tls_cert_file " + missing)):
            path = os.path.join(self.directory, "bad.json")
            with open(path, "w") as f:
                json.dump({"web": {"tls_cert_file": self.cert, "tls_key_file": self.key, **web}},
                          f)
            result = run("--config.file=" + path, f"--web.listen-address=127.0.0.1:{free_port()}")
            output = (result.stdout + result.stderr).decode()
            self.assertNotEqual(result.returncode, 0, output)
            self.assertIn(expected, output)
            self.assertIn("with TLS", output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--wine")
    parser.add_argument("--wine-prefix")
    ARGS, rest = parser.parse_known_args()
    program = unittest.main(argv=[sys.argv[0], *rest], verbosity=2, exit=False)
    result = program.result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped:  # a test that should have run here did not: ctest shows "Skipped"
        for test, reason in result.skipped:
            print(f"SKIPPED {test.id()}: {reason}")
        sys.exit(support.SKIP_EXIT_CODE)
