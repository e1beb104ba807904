#!/usr/bin/env python3
"""The MSI under Wine's msiexec, the way an administrator deploys it:

  1. msiexec /i with LISTEN_ADDR, CONFIG_FILE, WEB_CONFIG_FILE and ENABLE_FIREWALL_RULE: the
     service runs with them and answers on that address from Linux, with the web configuration's
     header; its image path is quoted and holds --web.config.file; the firewall rule's netsh call
     is in the log (Wine's netsh is a stub: only the call can be checked);
  2. an upgrade to a newer build with no properties keeps them and the running service;
  3. the older MSI on top is refused (a downgrade), and the service still answers;
  4. msiexec /x leaves no service, no program files, no event source, no registry key;
  5. an install whose service cannot start (its port taken) rolls back, with the reason in the
     MSI log (/l*v), and leaves nothing either.

  msi_install_test.py --cmake CMAKE --make-msi MakeMsi.cmake --msi-args MsiArgs.cmake
                      --msi toolhelp_exporter.msi --work-dir DIR --wine WINE_RUN --wine-prefix P

Runs in the build's Wine prefix, whose keeper program keeps services alive (see
deploy/windows/wine-run.sh); one service name per prefix, so it runs alone.
"""
import argparse
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

FAILURES = []


def check(condition, what):
    print(("ok: " if condition else "FAIL: ") + what, flush=True)
    if not condition:
        FAILURES.append(what)
    return condition


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def scrape(port, needle, timeout):
    """The /metrics text once it holds `needle`; None if nothing did within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
                text = response.read().decode()
                if needle in text:
                    return text
        except (urllib.error.URLError, ConnectionError, socket.timeout):
            pass
        time.sleep(0.3)
    return None


def header(port, name):
    """The value of response header `name` on /metrics, or None."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return response.headers[name]
    except (urllib.error.URLError, ConnectionError, socket.timeout):
        return None


def read_log(path):
    """An msiexec log, UTF-16 or 8-bit."""
    try:
        data = open(path, "rb").read()
    except OSError:
        return ""
    if data.startswith(b"\xff\xfe") or data[1:2] == b"\x00":
        return data.decode("utf-16-le", errors="replace")
    return data.decode("utf-8", errors="replace")


def main():
    parser = argparse.ArgumentParser()
    for name in ("--cmake", "--make-msi", "--msi-args", "--msi", "--work-dir", "--wine",
                 "--wine-prefix"):
        parser.add_argument(name, required=True)
    parser.add_argument("--bin-dir")  # the build's programs (the MSI already holds them)
    args = parser.parse_args()
    wine = [args.wine, "--prefix=" + args.wine_prefix]
    drive_c = os.path.join(args.wine_prefix, "drive_c")
    work = os.path.abspath(args.work_dir)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    started = time.monotonic()

    def wine_run(*command, timeout=180):
        done = subprocess.run([*wine, *command], capture_output=True, text=True, timeout=timeout,
                              errors="replace")
        return done

    def msiexec(verb, msi, log_name, *properties):
        log = os.path.join(work, log_name)
        t = time.monotonic()
        done = wine_run("msiexec", verb, msi, "/qn", "/l*v", log, *properties)
        print(f"$ msiexec {verb} {os.path.basename(msi)} {' '.join(properties)} -> exit "
              f"{done.returncode} in {time.monotonic() - t:.1f} s", flush=True)
        return done.returncode, read_log(log)

    def registry(key, value=None):
        command = ["reg", "query", key] + (["/v", value] if value else [])
        done = wine_run(*command)
        return done.stdout if done.returncode == 0 else None

    service_key = r"HKLM\SYSTEM\CurrentControlSet\Services\toolhelp_exporter"
    event_key = r"HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application\toolhelp_exporter"
    settings_key = r"HKLM\SOFTWARE\toolhelp_exporter"
    program_dir = os.path.join(drive_c, "Program Files", "toolhelp_exporter")

    # A newer build of the same program: the same inputs, a higher MSI version (below 128.0.0:
    # Wine's msi compares versions as signed 32-bit numbers, so 255.x looks lower than 0.x).
    higher = os.path.join(work, "toolhelp_exporter-upgrade.msi")
    subprocess.run([args.cmake, f"-DARGS_FILE={args.msi_args}", "-DMSI_VERSION=100.0.0",
                    f"-DOUTPUT={higher}", "-P", args.make_msi], check=True,
                   stdout=subprocess.DEVNULL)

    # Whatever a run that died half-way left.
    for msi in (higher, args.msi):
        wine_run("msiexec", "/x", msi, "/qn")

    # The configuration in a folder made here (under Wine, files belong to the one Wine user,
    # an administrator there).
    config_dir = os.path.join(drive_c, "thx-msi-test")
    shutil.rmtree(config_dir, ignore_errors=True)
    os.makedirs(config_dir, mode=0o755)
    with open(os.path.join(config_dir, "config.json"), "w") as f:
        f.write('{"collection": {"interval": "1s", "kinds": ["processes"]},'
                ' "groups": {"rules": [], "unmatched_group": "msi-test-group"}}')
    config_file = r"C:\thx-msi-test\config.json"
    # The exporter-toolkit web configuration: a header the answers must carry (users would keep
    # the plain scrapes below out).
    with open(os.path.join(config_dir, "web-config.yml"), "w") as f:
        f.write("http_server_config:\n  headers:\n    X-Frame-Options: sameorigin\n")
    web_config_file = r"C:\thx-msi-test\web-config.yml"
    port = free_port()
    address = f"127.0.0.1:{port}"
    needle = 'group="msi-test-group"'

    try:
        # 1. Install with properties.
        rc, log = msiexec("/i", args.msi, "install.log", f"LISTEN_ADDR={address}",
                          f"CONFIG_FILE={config_file}", f"WEB_CONFIG_FILE={web_config_file}",
                          "ENABLE_FIREWALL_RULE=1")
        check(rc == 0, f"install exits 0 (got {rc})")
        check(scrape(port, needle, 30) is not None,
              f"the service answers on {address} with the configuration's group")
        image = registry(service_key, "ImagePath") or ""
        check('"' in image and image.split("REG_", 1)[-1].split(None, 1)[-1].startswith('"'),
              f"the image path is quoted: {image.strip()}")
        check(f"--web.listen-address=\"{address}\"" in image, "the image path has LISTEN_ADDR")
        check(f"--web.config.file=\"{web_config_file}\"" in image,
              "the image path has WEB_CONFIG_FILE")
        check(header(port, "X-Frame-Options") == "sameorigin",
              "the service sends the web configuration file's header")
        check("configured service toolhelp_exporter" in log,
              "`service configure` ran inside the install and its output is in the MSI log")
        check("advfirewall firewall add rule name=toolhelp_exporter" in log,
              "the firewall rule's netsh call is in the MSI log")
        check(registry(event_key, "EventMessageFile") is not None, "the event source is registered")
        check(address in (registry(settings_key, "ListenAddr") or ""), "LISTEN_ADDR is remembered")

        # 2. Upgrade with no properties: they are kept, and the service runs the new build.
        rc, log = msiexec("/i", higher, "upgrade.log")
        check(rc == 0, f"upgrade exits 0 (got {rc})")
        check(scrape(port, needle, 30) is not None,
              f"after the upgrade the service answers on {address} with the same configuration")
        check(address in (registry(settings_key, "ListenAddr") or ""),
              "LISTEN_ADDR is still remembered after the upgrade")
        check(config_file in (registry(settings_key, "ConfigFile") or ""),
              "CONFIG_FILE is still remembered after the upgrade")
        check(web_config_file in (registry(settings_key, "WebConfigFile") or ""),
              "WEB_CONFIG_FILE is still remembered after the upgrade")
        check(f"--web.config.file=\"{web_config_file}\"" in
              (registry(service_key, "ImagePath") or ""),
              "after the upgrade the image path still has WEB_CONFIG_FILE")
        check(header(port, "X-Frame-Options") == "sameorigin",
              "after the upgrade the service still sends the web configuration file's header")

        # 3. Downgrade: refused, nothing changed.
        rc, log = msiexec("/i", args.msi, "downgrade.log")
        check(rc != 0, f"the older MSI is refused (exit {rc})")
        # Wine's msiexec logs the refusal as the failed launch condition, not its text; its exit
        # codes are the Windows ones modulo 256 (1603 -> 67).
        check("WIX_DOWNGRADE_DETECTED = {" in log and "LaunchConditions. Return value 1" not in log,
              "the log shows the newer version detected and the launch condition failing")
        check(scrape(port, needle, 15) is not None, "the service still answers after the refusal")

        # 4. Uninstall leaves nothing.
        rc, log = msiexec("/x", higher, "uninstall.log")
        check(rc == 0, f"uninstall exits 0 (got {rc})")
        check(registry(service_key) is None, "no service key after uninstall")
        check(registry(event_key) is None, "no event source after uninstall")
        check(registry(settings_key) is None, "no settings key after uninstall")
        check(not os.path.exists(program_dir), f"no {program_dir} after uninstall")
        check("advfirewall firewall delete rule name=toolhelp_exporter" in log,
              "the firewall rule's removal is in the MSI log")
        check(scrape(port, "", 2) is None, f"nothing answers on {address} after uninstall")

        # 5. A start that fails (the port taken): rolled back, the reason in the log.
        with socket.socket() as holder:
            holder.bind(("127.0.0.1", 0))
            holder.listen(1)
            taken = f"127.0.0.1:{holder.getsockname()[1]}"
            rc, log = msiexec("/i", args.msi, "failed-start.log", f"LISTEN_ADDR={taken}")
        check(rc != 0, f"an install whose service cannot start fails (exit {rc})")
        reasons = [line for line in log.splitlines() if "reason:" in line]
        for line in reasons:
            print("  MSI log:", line.strip())
        check(any(taken in line for line in reasons),
              f"the MSI log gives the reason, naming {taken}")
        check(registry(service_key) is None, "no service after the rollback")
        check(not os.path.exists(program_dir), "no program files after the rollback")
    finally:
        for msi in (higher, args.msi):
            wine_run("msiexec", "/x", msi, "/qn")
        shutil.rmtree(config_dir, ignore_errors=True)

    print(f"{len(FAILURES)} failure(s) in {time.monotonic() - started:.0f} s; logs in {work}")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
