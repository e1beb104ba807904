#!/usr/bin/env bash
# The style gates: every C++ file clang-format clean, and clang-tidy (the repository's
# .clang-tidy, warnings as errors) clean on the product sources. Uses the compile commands of
# the Linux build (build/linux, configured here when missing).
#   tests/style.sh
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/linux/install-build-deps.sh --style

mapfile -t sources < <(git ls-files '*.cpp' '*.h' '*.c')
echo "=== clang-format: ${#sources[@]} files ==="
clang-format --dry-run --Werror "${sources[@]}"
mkdir -p build

if [[ ! -f build/linux/compile_commands.json ]]; then
  cmake --preset linux >/dev/null
fi
# The Windows-only sources are not in the Linux compile commands; clang-tidy reads what is.
mapfile -t product < <(git ls-files 'collector/*.cpp' 'config/*.cpp' 'exporter/*.cpp' \
  'service/*.cpp' | sort -u | grep -v -E '(toolhelp_source|win32_util|module_version_windows|windows_service|service_control|windows_common|windows_security|textfile_windows)\.cpp$')
echo "=== clang-tidy: ${#product[@]} files ==="
# gcc's own warning flags are unknown to clang: not an error of ours.
run-clang-tidy -p build/linux -quiet -j "$(nproc)" -extra-arg=-Wno-unknown-warning-option \
  "${product[@]/#/$PWD/}" >build/clang-tidy.log 2>&1 || {
  grep -E "(warning|error):" build/clang-tidy.log | sort -u >&2
  echo "clang-tidy found problems (whole output in build/clang-tidy.log)" >&2
  exit 1
}
echo "style gates passed"
