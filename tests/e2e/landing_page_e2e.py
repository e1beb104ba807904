#!/usr/bin/env python3
"""The landing page in a real browser: the top groups by CPU and by memory.

Starts the real Linux exporter (1 s interval) with a rule that puts a CPU-burning copy of sh
into the group "burner", waits until the page has CPU readings over a few cycles, loads it in
Debian's chromium (--headless --dump-dom: the DOM after the browser parsed it) and checks both
tables: "burner" is in the CPU table using most of a core, and the memory table has rows with
sizes. Skipped (exit code 77) when chromium is not installed.

  landing_page_e2e.py --bin-dir DIR
"""
import argparse
import html.parser
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import json


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Tables(html.parser.HTMLParser):
    """The rows (lists of cell texts) of every table with an id."""

    def __init__(self):
        super().__init__()
        self.tables = {}
        self._table = None
        self._row = None
        self._cell = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id"):
            self._table = self.tables.setdefault(dict(attrs)["id"], [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def browser():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


def dump_dom(chromium, url, profile):
    command = [chromium, "--headless", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               f"--user-data-dir={profile}", "--dump-dom", url]
    if os.geteuid() == 0:
        command.insert(1, "--no-sandbox")  # chromium refuses to run as root with its sandbox
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"chromium failed ({result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    args, _ = parser.parse_known_args()
    chromium = browser()
    if chromium is None:
        print("chromium is not installed: skipped", file=sys.stderr)
        return 77

    workdir = tempfile.mkdtemp(prefix="thx-landing-")
    processes = []
    try:
        burner_name = "thxburn%06x" % (os.getpid() & 0xFFFFFF)
        burner = os.path.join(workdir, burner_name)
        shutil.copy(shutil.which("sh"), burner)
        processes.append(subprocess.Popen([burner, "-c", "while :; do :; done"],
                                          start_new_session=True))
        port = free_port()
        config = os.path.join(workdir, "config.json")
        with open(config, "w") as f:
            json.dump({"web": {"listen_address": f"127.0.0.1:{port}"},
                       "collection": {"interval": "1s", "module_interval": "1s"},
                       "groups": {"rules": [{"group": "burner", "name": "^" + burner_name}]}}, f)
        processes.append(subprocess.Popen(
            [os.path.join(args.bin_dir, "toolhelp_exporter"), "serve", f"--config.file={config}",
             "--log.level=warn"], start_new_session=True))
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        page = ""
        while time.monotonic() < deadline:  # until the server shows a CPU table at all
            try:
                page = urllib.request.urlopen(url, timeout=10).read().decode()
                if 'id="top-cpu"' in page and "burner" in page:
                    break
            except OSError:
                pass
            time.sleep(0.5)
        time.sleep(3)  # a few more cycles: the rate spans several snapshots

        tables = Tables()
        tables.feed(dump_dom(chromium, url, os.path.join(workdir, "profile")))
        cpu = tables.tables.get("top-cpu")
        memory = tables.tables.get("top-memory")
        if not cpu or not memory:
            raise AssertionError(f"tables missing from the DOM: {sorted(tables.tables)}\n{page}")
        if cpu[0] != ["group", "CPU (cores)", "processes"]:
            raise AssertionError(f"CPU table header: {cpu[0]}")
        rows = {row[0]: row for row in cpu[1:]}
        if "burner" not in rows:
            raise AssertionError(f"no burner among the top CPU groups: {cpu}")
        cores = float(rows["burner"][1])
        if cores <= 0.05:  # a busy loop; a loaded 2-core machine may give it little
            raise AssertionError(f"burner uses {cores} cores: {cpu}")
        if memory[0] != ["group", "resident", "private", "processes"] or len(memory) < 2:
            raise AssertionError(f"memory table: {memory}")
        if not any(cell.endswith("iB") for cell in memory[1][1:3]):
            raise AssertionError(f"memory sizes: {memory[1]}")
        print(f"landing page: burner at {cores} cores; top memory group {memory[1]}")
        return 0
    finally:
        for process in processes:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
