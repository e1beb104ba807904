#!/usr/bin/env python3
"""End-to-end tests of the real exporter binary, scraped over loopback.

Runs against the Linux binary, or against the Windows .exe under Wine (scraped from Linux):
  exporter_e2e.py --bin-dir DIR [--wine WINE_RUN_SCRIPT --wine-prefix DIR]
The Windows run skips what Wine cannot show (signals, /proc); the SCM lifecycle has its own
Windows test program.
"""
import argparse
import atexit
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.error
import urllib.request
import warnings

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


def get(port, path, method="GET", timeout=10):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def parse_metrics(text):
    """{(name, frozenset(labels)): value} from the text format (enough for our own output)."""
    samples = {}
    for line in text.splitlines():
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

    def __init__(self, *extra, config=None, host="127.0.0.1"):
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="thx-e2e-")
        args = ["--web.listen-address=%s:%d" % (host, self.port), *extra]
        if config is not None:
            self.config_path = os.path.join(self.dir, "config.json")
            self.write_config(config)
            args.append("--config.file=" + self.config_path)
        self.log = open(os.path.join(self.dir, "log.txt"), "w+")
        self.process = subprocess.Popen(command("toolhelp_exporter", *args), stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

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

    def metrics(self):
        status, text = get(self.port, "/metrics")
        assert status == 200, status
        return text

    def log_text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
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
        self.processes = self.processes[len(victims):]


SLEEPER_GROUP = {"groups": {"rules": [{"group": "sleepers", "name": "^" + SLEEPER_NAME}],
                            "unmatched_group": "other"},
                 "collection": {"interval": "500ms"}}


class ExporterTest(unittest.TestCase):
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
            result = subprocess.run(
                command("toolhelp_exporter", f"--web.listen-address=127.0.0.1:{port}"),
                capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(f"127.0.0.1:{port}".encode(), result.stdout + result.stderr)

    def test_broken_config_names_the_path_and_exits_non_zero(self):
        directory = tempfile.mkdtemp()
        try:
            path = os.path.join(directory, "bad.json")
            with open(path, "w") as f:
                json.dump({"collection": {"interval": "soon"}, "web": {"nope": 1}}, f)
            result = subprocess.run(command("toolhelp_exporter", "check-config", path),
                                    capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            self.assertEqual(result.returncode, 1)
            output = (result.stdout + result.stderr).decode()
            self.assertIn("$.collection.interval", output)
            self.assertIn("$.web.nope", output)
            result = subprocess.run(command("toolhelp_exporter", "--config.file=" + path),
                                    capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("$.collection.interval", (result.stdout + result.stderr).decode())
        finally:
            shutil.rmtree(directory)

    def test_version_and_once_textfile(self):
        result = subprocess.run(command("toolhelp_exporter", "--version"), capture_output=True,
                                timeout=60, stdin=subprocess.DEVNULL)
        self.assertEqual(result.returncode, 0)
        self.assertIn(b"toolhelp_exporter ", result.stdout)
        directory = tempfile.mkdtemp()
        try:
            target = os.path.join(directory, "toolhelp.prom")
            result = subprocess.run(command("toolhelp_exporter", "once", "--textfile", target),
                                    capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
            self.assertEqual(result.returncode, 0, result.stderr)
            with open(target) as f:
                text = f.read()
            self.assertTrue(text.endswith("\n"))
            self.assertIn("toolhelp_processes ", text)
            self.assertEqual(os.listdir(directory), ["toolhelp.prom"])  # no temporary left
        finally:
            shutil.rmtree(directory)

    def test_snapshot_command_json(self):
        result = subprocess.run(command("toolhelp_exporter", "snapshot", "--json",
                                        "--kinds", "processes,threads"),
                                capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(result.returncode, 0, result.stderr)
        snapshot = json.loads(result.stdout)
        self.assertGreater(len(snapshot["processes"]), 0)
        self.assertGreater(len(snapshot["threads"]), 0)


@unittest.skipIf(os.name != "posix" or "--wine" in sys.argv, "POSIX signals")
class SignalTest(unittest.TestCase):
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

    def test_lifecycle_reload_endpoint(self):
        exporter = Exporter("--web.enable-lifecycle", config=SLEEPER_GROUP)
        try:
            exporter.wait_ready()
            status, _ = get(exporter.port, "/-/reload", method="POST")
            self.assertEqual(status, 200)
            status, _ = get(exporter.port, "/-/reload", method="GET")
            self.assertEqual(status, 405)
        finally:
            exporter.stop()


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


def https_get(port, path, cafile, timeout=10, ciphers=None, **context_settings):
    """(status, body, TLS version) over HTTPS, verifying the server against `cafile`."""
    context = ssl.create_default_context(cafile=cafile)
    if ciphers is not None:
        context.set_ciphers(ciphers)
    with warnings.catch_warnings():  # TLS 1.0 and 1.1 are deprecated: tests offer them on purpose
        warnings.simplefilter("ignore", DeprecationWarning)
        for name, value in context_settings.items():
            setattr(context, name, value)
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=timeout)
    try:
        connection.connect()
        version = connection.sock.version()  # the server closes after one response
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode(), version
    finally:
        connection.close()


class HttpProtocolTest(unittest.TestCase):
    """HTTP as Prometheus and browsers use it, on a dual-stack listener ([::]:port)."""

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


@unittest.skipUnless("--wine" in sys.argv, "the Windows build refuses TLS")
class WindowsTlsTest(unittest.TestCase):
    def test_tls_configuration_is_refused_with_a_clear_reason(self):
        """The Windows build has no TLS: a configuration asking for it fails at start, naming
        the alternative, rather than serving plain HTTP."""
        directory = tempfile.mkdtemp()
        try:
            path = os.path.join(directory, "tls.json")
            with open(path, "w") as f:
                json.dump({"web": {"tls_cert_file": "cert.pem", "tls_key_file": "key.pem"}}, f)
            result = subprocess.run(
                command("toolhelp_exporter", "--config.file=" + path,
                        f"--web.listen-address=127.0.0.1:{free_port()}"),
                capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(b"reverse proxy", result.stdout + result.stderr)
        finally:
            shutil.rmtree(directory)


@unittest.skipIf("--wine" in sys.argv, "HTTPS is served by the Linux build")
class TlsTest(unittest.TestCase):
    def setUp(self):
        self.directory = tempfile.mkdtemp(prefix="thx-e2e-tls-")
        self.cert, self.key = make_certificate(self.directory)

    def tearDown(self):
        shutil.rmtree(self.directory, ignore_errors=True)

    def start(self, **web):
        config = {"web": {"tls_cert_file": self.cert, "tls_key_file": self.key, **web},
                  "collection": {"interval": "500ms"}}
        exporter = Exporter(config=config)
        deadline = time.time() + 30
        while True:
            if exporter.process.poll() is not None:
                raise AssertionError("exporter exited: " + exporter.log_text())
            try:
                if https_get(exporter.port, "/healthz", self.cert, timeout=2)[0] == 200:
                    return exporter
            except (OSError, http.client.HTTPException):
                pass
            if time.time() > deadline:
                exporter.stop()
                raise AssertionError("no HTTPS answer in time: " + exporter.log_text())
            time.sleep(0.1)

    def assert_metrics_over_https(self, exporter):
        status, body, version = https_get(exporter.port, "/metrics", self.cert)
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

    def test_unusable_key_is_a_clear_startup_error(self):
        _, other_key = make_certificate(self.directory, "other")
        missing = os.path.join(self.directory, "missing.crt")
        for web, expected in (({"tls_key_file": other_key}, "web.tls_key_file"),
                              ({"tls_cert_file": missing}, "web.tls_cert_file " + missing)):
            path = os.path.join(self.directory, "bad.json")
            with open(path, "w") as f:
                json.dump({"web": {"tls_cert_file": self.cert, "tls_key_file": self.key, **web}},
                          f)
            result = subprocess.run(
                command("toolhelp_exporter", "--config.file=" + path,
                        f"--web.listen-address=127.0.0.1:{free_port()}"),
                capture_output=True, timeout=60, stdin=subprocess.DEVNULL)
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
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)
