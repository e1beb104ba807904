#!/usr/bin/env python3
"""`toolhelp_exporter.exe service install`, then a scrape, in a Wine prefix made for this test.

  clean_prefix_install.py --bin-dir DIR --wine WINE_RUN_SCRIPT --keeper KEEPER.exe

The one command an administrator types must leave a running service behind: no `service start`,
no configuration file. A keeper program stands for the machine being up (under Wine, services
live only while some Windows program runs); the install runs with no options at all when the
default port is free here, otherwise with only --web.listen-address.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

DEFAULT_PORT = 9835


def port_is_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port, timeout):
    """The /metrics text, retried until `timeout`; None when nothing answered."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                text = response.read().decode()
                if "toolhelp_processes " in text:
                    return text
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(0.5)
    return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--wine", required=True)
    parser.add_argument("--keeper", required=True)
    args = parser.parse_args()
    exe = os.path.join(args.bin_dir, "toolhelp_exporter.exe")
    prefix = tempfile.mkdtemp(prefix="thx-clean-prefix-")
    wine = [args.wine, "--prefix=" + prefix]

    def run(*command, timeout=120):
        done = subprocess.run([*wine, *command], capture_output=True, text=True, timeout=timeout)
        print(f"$ {' '.join(command[1:]) if command[0] == exe else ' '.join(command)}"
              f" -> exit {done.returncode}\n{done.stdout}{done.stderr}", flush=True)
        return done

    failures = []
    try:
        started = time.monotonic()
        subprocess.run([*wine, "--start-server", args.keeper], check=True, timeout=300)
        print(f"new prefix ready in {time.monotonic() - started:.1f} s", flush=True)

        port, options = DEFAULT_PORT, []
        if not port_is_free(DEFAULT_PORT):
            port = free_port()
            options = ["--web.listen-address", f"127.0.0.1:{port}"]
            print(f"port {DEFAULT_PORT} is busy on this machine: installing with --web.listen-address", flush=True)

        installed = run(exe, "service", "install", *options)
        if installed.returncode != 0 or "state: RUNNING" not in installed.stdout:
            failures.append("service install did not leave the service RUNNING")
        text = scrape(port, timeout=30)
        if text is None:
            failures.append(f"no /metrics on 127.0.0.1:{port} within 30 s of the install")
        else:
            for needed in ("toolhelp_build_info{", "toolhelp_processes ", "toolhelp_threads "):
                if needed not in text:
                    failures.append(f"/metrics lacks {needed!r}")
            print(f"scraped {len(text.splitlines())} lines from 127.0.0.1:{port}", flush=True)

        uninstalled = run(exe, "service", "uninstall")
        if uninstalled.returncode != 0:
            failures.append("service uninstall failed")
        if scrape(port, timeout=2) is not None:
            failures.append("/metrics still answers after uninstall")
        status = run(exe, "service", "status")
        if "not installed" not in status.stdout + status.stderr:
            failures.append("service status does not say the service is gone")
    finally:
        subprocess.run([*wine, "--stop-server"], timeout=60)
        shutil.rmtree(prefix, ignore_errors=True)

    for failure in failures:
        print("FAIL:", failure)
    print("ok" if not failures else f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
