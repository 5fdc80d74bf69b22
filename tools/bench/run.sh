#!/bin/sh
# make bench: run every benchmark program of a build and print what it prints, after the
# machine it ran on (figures only mean something beside their baselines and the machine).
# Builds nothing.
#   tools/bench/run.sh BUILD_DIR [ARGS...]    ARGS go to every program (e.g. --quick)
# bench_domain runs at BENCH_DOMAIN_SCALE (default 0.5: 2.5M movements, about 3 minutes on a
# 2-core machine; 1 is the full Tohoku-scale data set). Then bench_sync.sh, which drives real
# relief serve and relief sync processes (it needs relief, relief-net and tests/appender: make
# all tests); BENCH_SYNC=0 skips it. Then bench_api.sh: wrk against the JSON API and the
# dashboard of a real relief serve (BENCH_API=0 skips it).
set -u
BUILD=${1:-build}
[ $# -gt 0 ] && shift

echo "== machine =="
echo "date:    $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
echo "host:    $(uname -srm)"
echo "nproc:   $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN)"
echo "cpu:     $(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)"
echo "load:    $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "tmp fs:  $(df -PT "${TMPDIR:-/tmp}" 2>/dev/null | awk 'NR == 2 { print $2 " (" $1 " on " $7 ")" }')"
echo

status=0
found=0
for b in "$BUILD"/bench/*; do
    if [ ! -f "$b" ] || [ ! -x "$b" ]; then
        continue
    fi
    found=1
    name=$(basename "$b")
    echo "== $name =="
    if [ "$name" = bench_domain ]; then
        "$b" --scale "${BENCH_DOMAIN_SCALE:-0.5}" "$@"
    else
        "$b" "$@"
    fi
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "$name failed (exit $rc)"
        status=1
    fi
    echo
done
# the benchmarks that drive real processes (scripts); BENCH_SYNC=0 / BENCH_API=0 skip one
for script in bench_sync bench_api; do
    case $script in
    bench_sync) [ "${BENCH_SYNC:-1}" = 0 ] && continue ;;
    bench_api) [ "${BENCH_API:-1}" = 0 ] && continue ;;
    esac
    echo "== $script =="
    bash "$(dirname "$0")/$script.sh" --build "$BUILD" "$@"
    rc=$?
    if [ "$rc" -ne 0 ]; then
        echo "$script failed (exit $rc)"
        status=1
    fi
    echo
done
if [ "$found" = 0 ]; then
    echo "no benchmark programs in $BUILD/bench (build them: make bench)" >&2
    exit 1
fi
exit $status
