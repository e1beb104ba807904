#!/usr/bin/env bash
# Builds the exporter for this Linux machine and runs it in the foreground with the embedded
# default configuration: http://localhost:9835/metrics. Extra arguments go to the exporter.
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/linux/install-build-deps.sh
cmake --preset linux >/dev/null
cmake --build --preset linux --target toolhelp_exporter
exec build/linux/bin/toolhelp_exporter "$@"
