#!/bin/sh
# Reproduces every performance number of docs/performance.md: configures a
# build with benchmarks in build/bench, builds the bench programs and the exporter, runs the
# harness at 100, 1,000 and 3,000 processes x 10 threads (installs wrk, process-exporter and
# node_exporter with apt-get when missing; their services are not started), then the Google
# Benchmark micro-benchmarks.
#
#   tests/bench/run.sh [bench.py options]      e.g. --quick, --sizes 100,3000, --out FILE
#
# Results: the table on standard output, all numbers as JSON in build/bench/bench.json (or
# --out), the micro-benchmarks in build/bench/micro_bench.json.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build="$root/build/bench"

missing=""
command -v python3 >/dev/null 2>&1 || missing="$missing python3"
[ -f /usr/include/benchmark/benchmark.h ] || missing="$missing libbenchmark-dev"
if [ -n "$missing" ]; then
  echo "installing:$missing" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing >/dev/null
fi

cmake --preset linux -B "$build" -DTHX_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" --target toolhelp_exporter thx_bench_load thx_bare_reads thx_bench_cycle \
  thx_micro_bench

out="$build/bench.json"
for arg in "$@"; do
  case "$arg" in --out|--out=*) out="" ;; esac
done
if [ -n "$out" ]; then
  set -- --out "$out" "$@"
fi
python3 "$here/bench.py" --bindir "$build/bin" "$@"

echo
echo "micro-benchmarks (Google Benchmark; also in $build/micro_bench.json):"
"$build/bin/thx_micro_bench" --benchmark_out="$build/micro_bench.json" \
  --benchmark_out_format=json
