#!/bin/sh
# Runs a Windows program under Wine with the build's own prefix. Used as the cross build's
# CMAKE_CROSSCOMPILING_EMULATOR, so ctest runs Windows test programs exactly like Linux ones.
#   wine-run.sh PROGRAM.exe [ARGS...]   run a program
#   wine-run.sh --start-server [KEEPER.exe]
#                                       create the prefix if needed and keep one wineserver, and
#                                       with it Wine's system processes, alive for the whole run
#   wine-run.sh --stop-server           end that wineserver
# A first argument --prefix=DIR sets WINEPREFIX (the preset passes the build's own prefix);
# otherwise WINEPREFIX, else wineprefix/ in the current directory.
set -eu
case "${1:-}" in
  --prefix=*) WINEPREFIX="${1#--prefix=}"; shift ;;
esac
: "${WINEPREFIX:=$(pwd)/wineprefix}"
export WINEPREFIX
export WINEDEBUG="${WINEDEBUG:--all}"
export WINEDLLOVERRIDES="${WINEDLLOVERRIDES:-mscoree,mshtml=}"
if command -v wine64 >/dev/null 2>&1; then wine=wine64; else wine=wine; fi

case "${1:-}" in
  --start-server)
    mkdir -p "$WINEPREFIX"
    # -p keeps the server alive between programs (it must not hold ctest's output open, and it
    # fails harmlessly when one already runs). Plain wineboot initialises a new prefix once;
    # "--init" on an existing prefix would start a second services.exe.
    wineserver -p </dev/null >/dev/null 2>&1 || true
    "$wine" wineboot </dev/null >/dev/null 2>&1 || true
    # Wine's system processes (services.exe, winedevice.exe, ...) live only while some Windows
    # program runs, and each restart inherits the output of the program that caused it: ctest
    # would then wait for them to close its pipe. A long-lived keeper started here, with no
    # output, keeps one set of them alive, detached from ctest, until --stop-server.
    if [ -n "${2:-}" ]; then
      setsid "$wine" "$2" --threads 1 --seconds 7200 </dev/null >/dev/null 2>&1 &
      sleep 2
    fi
    exit 0 ;;
  --stop-server)
    wineserver -k 2>/dev/null || true
    exit 0 ;;
esac
exec "$wine" "$@"
