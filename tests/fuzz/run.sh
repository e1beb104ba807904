#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and UndefinedBehaviorSanitizer, every
# library coverage-instrumented) in build/fuzz, runs the corpus regression test with that build,
# then fuzzes each target for a bounded time. Exits non-zero on any crash, leak, sanitizer report
# or broken invariant; the input that did it is left in build/fuzz/artifacts/.
#   tests/fuzz/run.sh [SECONDS]      seconds per target, default 60
# A crash becomes a regression test: copy its input into tests/fuzz/corpus/<target>/ (and add a
# named case to tests/fuzz/regression_test.cpp). New inputs the fuzzers find stay in
# build/fuzz/corpus/, not in the source tree.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || ((seconds < 1)); then
  echo "usage: tests/fuzz/run.sh [SECONDS]" >&2
  exit 2
fi
targets=(fuzz_config fuzz_procfs fuzz_snapshot_json fuzz_web_config)
build=build/fuzz

deploy/linux/install-build-deps.sh
# clang and its libFuzzer runtime (Debian's clang 14 ships the runtime separately).
if ! command -v clang++ >/dev/null ||
    ! echo 'extern "C" int LLVMFuzzerTestOneInput(const char*, unsigned long) { return 0; }' |
      clang++ -x c++ -fsanitize=fuzzer - -o /dev/null 2>/dev/null; then
  echo "installing clang and libclang-rt-14-dev" >&2
  sudo_cmd=()
  if [[ "$(id -u)" != 0 ]]; then
    sudo_cmd=(sudo)
  fi
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    clang libclang-rt-14-dev >&2
fi

sanitizers="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
cmake -S . -B "$build" -G Ninja \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DTHX_BUILD_TESTS=ON -DTHX_BUILD_FUZZERS=ON \
  -DCMAKE_CXX_FLAGS="-fsanitize=fuzzer-no-link $sanitizers" \
  -DCMAKE_EXE_LINKER_FLAGS="$sanitizers" >/dev/null
cmake --build "$build" --target "${targets[@]}" fuzz_regression_test

echo "=== corpus regression test (clang, ASan+UBSan) ==="
"$build/bin/fuzz_regression_test" --gtest_brief=1

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for target in "${targets[@]}"; do
  work="$build/corpus/$target"
  artifacts="$build/artifacts/$target/"
  mkdir -p "$work" "$artifacts"
  extra=()
  if [[ -f "tests/fuzz/$target.dict" ]]; then
    extra+=(-dict="tests/fuzz/$target.dict")  # the format's member names, for deeper inputs
  fi
  echo "=== $target: ${seconds}s ==="
  # New inputs go to the first folder (the build's); the source corpus only seeds.
  if ! "$build/bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=8192 -print_final_stats=1 -artifact_prefix="$artifacts" "${extra[@]}" \
      "$work" "tests/fuzz/corpus/$target" 2>"$build/$target.log"; then
    tail -n 60 "$build/$target.log" >&2
    failed+=("$target")
  else
    grep -E "^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ *DONE)" \
      "$build/$target.log" || true
  fi
done
if ((${#failed[@]} > 0)); then
  echo "FUZZING FAILED: ${failed[*]} (inputs in $build/artifacts/)" >&2
  exit 1
fi
echo "fuzzing passed: ${targets[*]}, ${seconds}s each"
