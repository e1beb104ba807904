#!/usr/bin/env bash
# Every test of both platforms: the Linux build under ctest, the Windows .exe and its tests under
# Wine, the whole Linux suite again under AddressSanitizer and UndefinedBehaviorSanitizer, the
# concurrency tests under ThreadSanitizer, and each fuzz target for a bounded time. Installs
# whatever is missing. Exits non-zero when any stage fails; the other stages still run. A test
# that did not run (skipped or disabled) fails its stage unless tests/skips-allowed.txt allows it
# for that preset; each one is printed with its reason.
#   tests/run-all.sh                every stage
#   tests/run-all.sh STAGE...       only these: linux style windows asan tsan fuzz
# THX_FUZZ_SECONDS sets the fuzzing time per target (default 20).
set -uo pipefail
cd "$(dirname "$0")/.."
stages=("$@")
if ((${#stages[@]} == 0)); then
  stages=(linux style windows asan tsan fuzz)
fi
failed=()
started=$SECONDS

wanted() {
  local stage
  for stage in "${stages[@]}"; do
    [[ "$stage" == "$1" ]] && return 0
  done
  return 1
}

# run_preset PRESET [ctest and build filters...]: configure, build (only TARGETS when given),
# test (only tests matching REGEX when given).
run_preset() {
  local preset="$1" targets="${2:-}" tests="${3:-}"
  local stage_start=$SECONDS
  echo "=== ${preset}: configure and build ==="
  local build_args=()
  if [[ -n "$targets" ]]; then
    read -ra build_args <<<"--target $targets"
  fi
  if ! cmake --preset "$preset" >/dev/null || ! cmake --build --preset "$preset" "${build_args[@]}"; then
    failed+=("${preset} (build)")
    return
  fi
  echo "=== ${preset}: tests ==="
  local test_args=()
  if [[ -n "$tests" ]]; then
    test_args=(-R "$tests")
  fi
  local output="build/${preset}/ctest-output.txt"
  ctest --preset "$preset" -j2 "${test_args[@]}" 2>&1 | tee "$output"
  if ((PIPESTATUS[0] != 0)); then
    failed+=("${preset} (tests)")
  fi
  if ! check_skips "$preset" "$output"; then
    failed+=("${preset} (skipped tests)")
  fi
  echo "=== ${preset}: $((SECONDS - stage_start)) s ==="
}

# check_skips PRESET CTEST_OUTPUT: prints every test that did not run (ctest's "Skipped" and
# "Disabled") with its reason, from the test's own output (a skipped test says why) or from
# tests/skips-allowed.txt; fails when one of them is not allowed there for this preset.
check_skips() {
  local preset="$1" output="$2" status=0 name state reason allowed
  local log="build/${preset}/Testing/Temporary/LastTest.log"
  while read -r name state; do
    allowed=$(awk -v p="$preset" -v t="$name" '$1 == p && $2 == t { $1 = ""; $2 = ""; sub(/^  /, ""); print }' \
      tests/skips-allowed.txt)
    reason=""
    if [[ -f "$log" ]]; then
      reason=$(awk -v t="$name" '$0 ~ "^[0-9]+/[0-9]+ Test: " t "$" { inside = 1; next }
        inside && /^<end of output>/ { exit }
        inside && /SKIP/ { print }' "$log" | head -5)
    fi
    if [[ -n "$allowed" ]]; then
      echo "not run (allowed) in ${preset}: ${name} ${state}: ${allowed}"
    else
      echo "NOT RUN in ${preset}: ${name} ${state}: ${reason:-no reason printed}"
      echo "  (a test that must run here; allow it in tests/skips-allowed.txt only with a reason)"
      status=1
    fi
  done < <(sed -n '/^The following tests did not run:/,/^$/p' "$output" |
    sed -n 's/^[[:space:]]*[0-9]* - \([^ ]*\) (\(.*\))$/\1 \2/p')
  return $status
}

if wanted windows; then
  deploy/linux/install-build-deps.sh --windows || exit 1  # the Linux packages too
elif wanted linux || wanted asan || wanted tsan; then
  deploy/linux/install-build-deps.sh || exit 1
fi
# The Windows dependency prefix takes about ten minutes to build on a clean machine, mostly
# compiling OpenSSL. Started first, at low priority, it uses the cores the stages before it leave
# idle (their tests mostly wait on real processes and timers) and yields them to everything else.
# It installs packages itself: the style stage's go first, so that two apt runs never meet.
windows_deps_pid=""
if wanted windows; then
  if wanted style; then
    deploy/linux/install-build-deps.sh --style || exit 1
  fi
  mkdir -p build
  set -m  # a process group of its own: an interrupted run ends the whole build, make and all
  nice -n 15 deploy/windows/build-deps.sh >build/windows-deps.prefix 2>build/windows-deps.log &
  windows_deps_pid=$!
  set +m
  trap 'kill -TERM -- "-$windows_deps_pid" 2>/dev/null' EXIT
fi
if wanted linux; then
  run_preset linux
fi
if wanted style; then
  echo "=== style: include layers, clang-format and clang-tidy ==="
  if ! tests/check-layers.py || ! tests/style.sh; then
    failed+=("style")
  fi
fi
if wanted windows; then
  echo "=== windows-cross: dependencies (built in the background since the start) ==="
  deps_waited=$SECONDS
  wait "$windows_deps_pid"
  deps_status=$?
  trap - EXIT
  cat build/windows-deps.log
  echo "=== windows-cross: waited $((SECONDS - deps_waited)) s for the dependencies ==="
  if ((deps_status == 0)); then
    THX_WINDOWS_DEPS="$(<build/windows-deps.prefix)"
    export THX_WINDOWS_DEPS
    run_preset windows-cross
  else
    failed+=("windows-cross (dependencies)")
  fi
fi
if wanted asan; then
  # Every Linux test, the e2e and reliability tests' real binaries included. Leaks fail too.
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:strict_string_checks=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" run_preset linux-asan
fi
if wanted tsan; then
  # The tests whose threads meet: scrapes during snapshots, reloads during scrapes, the HTTP
  # server's workers and stop, rendering once per publish.
  tsan_tests="run_loop_test http_server_test metrics_test"
  TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp" \
    run_preset linux-tsan "$tsan_tests" "^(${tsan_tests// /|})$"
fi
if wanted fuzz; then
  echo "=== fuzz ==="
  if ! tests/fuzz/run.sh "${THX_FUZZ_SECONDS:-20}"; then
    failed+=("fuzz")
  fi
fi

echo "=== $((SECONDS - started)) s in all ==="
if ((${#failed[@]} > 0)); then
  echo "FAILED: ${failed[*]}"
  exit 1
fi
echo "all stages passed: ${stages[*]}"
