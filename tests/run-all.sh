#!/usr/bin/env bash
# Every test of both platforms: the Linux build under ctest, then the Windows .exe and its tests
# under Wine. Installs whatever is missing. Exits non-zero when any test of either platform fails.
#   tests/run-all.sh            both platforms
#   tests/run-all.sh linux      only Linux;   tests/run-all.sh windows   only Windows
set -uo pipefail
cd "$(dirname "$0")/.."
which="${1:-all}"
failed=()

run_platform() {  # preset
  local preset="$1"
  echo "=== ${preset}: configure and build ==="
  if ! cmake --preset "$preset" >/dev/null || ! cmake --build --preset "$preset"; then
    failed+=("${preset} (build)")
    return
  fi
  echo "=== ${preset}: tests ==="
  if ! ctest --preset "$preset" -j2; then
    failed+=("${preset} (tests)")
  fi
}

if [[ "$which" == all || "$which" == linux ]]; then
  deploy/linux/install-build-deps.sh || exit 1
  run_platform linux
fi
if [[ "$which" == all || "$which" == windows ]]; then
  deploy/linux/install-build-deps.sh --windows || exit 1
  if THX_WINDOWS_DEPS="$(deploy/windows/build-deps.sh)"; then
    export THX_WINDOWS_DEPS
    run_platform windows-cross
  else
    failed+=("windows-cross (dependencies)")
  fi
fi

if ((${#failed[@]} > 0)); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all tests passed"
