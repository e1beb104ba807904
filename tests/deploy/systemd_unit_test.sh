#!/usr/bin/env bash
# deploy/linux/toolhelp_exporter.service as systemd reads it: `systemd-analyze verify` finds no
# problem (unknown keys, bad values, a missing binary), and the bounds on what a runaway may take
# are set. The unit names /usr/bin/toolhelp_exporter; the check runs it against the built binary.
#   systemd_unit_test.sh SOURCE_DIR BINARY
# Exits 77 (ctest: skipped) without systemd-analyze.
set -euo pipefail
source_dir="$1" binary="$2"
if ! command -v systemd-analyze >/dev/null; then
  echo "SKIPPED: systemd-analyze not installed (Debian: systemd)"
  exit 77
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
unit="$work/toolhelp_exporter.service"
sed "s|/usr/bin/toolhelp_exporter|${binary}|" "$source_dir/deploy/linux/toolhelp_exporter.service" >"$unit"
if ! output=$(systemd-analyze verify "$unit" 2>&1) || [[ -n "$output" ]]; then
  echo "systemd-analyze verify: ${output:-failed}"
  exit 1
fi
# The settings that bound a runaway, each with a value systemd accepted above.
for key in MemoryHigh MemoryMax TasksMax CPUQuota Restart StartLimitBurst StartLimitIntervalSec; do
  if ! grep -q "^${key}=" "$unit"; then
    echo "missing ${key}= in the unit"
    exit 1
  fi
done
grep -q '^Restart=on-failure$' "$unit" || { echo "Restart= must be on-failure"; exit 1; }
echo "unit verified: $(grep -E '^(MemoryHigh|MemoryMax|TasksMax|CPUQuota)=' "$unit" | tr '\n' ' ')"
