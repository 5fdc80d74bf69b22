#!/bin/sh
# make bench: run every benchmark of a build and print one table -- figure, target, measured
# median, baseline measured in the same run, ratio -- after the machine it ran on (figures only
# mean something beside their baselines and the machine). Builds nothing.
#   tools/bench/run.sh BUILD_DIR [ARGS...]    ARGS go to every program (e.g. --quick)
# Each benchmark's own output (its spread, notes and extra figures) goes to
# BUILD_DIR/bench-logs/NAME.log (BENCH_VERBOSE=1 shows it as it runs); each appends its rows to
# the file $BENCH_ROWS names (benchlib.h's bench_emit, the scripts' emit). The table is also
# written to BUILD_DIR/bench-table.txt.
# bench_domain runs at BENCH_DOMAIN_SCALE (default 0.5: 2.5M movements, about 3 minutes on a
# 2-core machine; 1 is the full Tohoku-scale data set). Then bench_sync.sh, which drives real
# relief serve and relief sync processes (it needs relief, relief-net and tests/appender: make
# all tests); BENCH_SYNC=0 skips it. Then bench_api.sh: wrk against the JSON API and the
# dashboard of a real relief serve (BENCH_API=0 skips it).
set -u
BUILD=${1:-build}
[ $# -gt 0 ] && shift

LOGS=$BUILD/bench-logs
mkdir -p "$LOGS"
BENCH_ROWS=$(mktemp)
export BENCH_ROWS
trap 'rm -f "$BENCH_ROWS"' EXIT
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)

# run NAME COMMAND...: its output to the log (and the terminal with BENCH_VERBOSE=1)
run() {
    name=$1
    shift
    t0=$(date +%s)
    if [ "${BENCH_VERBOSE:-0}" = 1 ]; then
        echo "== $name =="
        { "$@" 2>&1; echo $? >"$LOGS/$name.rc"; } | tee "$LOGS/$name.log"
        rc=$(cat "$LOGS/$name.rc")
        rm -f "$LOGS/$name.rc"
    else
        printf '%-12s ... ' "$name"
        "$@" >"$LOGS/$name.log" 2>&1
        rc=$?
    fi
    if [ "$rc" -eq 0 ]; then
        echo "done in $(($(date +%s) - t0)) s (log: $LOGS/$name.log)"
    else
        echo "FAILED (exit $rc) after $(($(date +%s) - t0)) s: see $LOGS/$name.log"
        status=1
    fi
}

status=0
found=0
for b in "$BUILD"/bench/*; do
    if [ ! -f "$b" ] || [ ! -x "$b" ]; then
        continue
    fi
    found=1
    name=$(basename "$b")
    if [ "$name" = bench_domain ]; then
        run "$name" "$b" --scale "${BENCH_DOMAIN_SCALE:-0.5}" "$@"
    else
        run "$name" "$b" "$@"
    fi
done
# the benchmarks that drive real processes (scripts); BENCH_SYNC=0 / BENCH_API=0 skip one
for script in bench_sync bench_api; do
    case $script in
    bench_sync) [ "${BENCH_SYNC:-1}" = 0 ] && continue ;;
    bench_api) [ "${BENCH_API:-1}" = 0 ] && continue ;;
    esac
    run "$script" bash "$(dirname "$0")/$script.sh" --build "$BUILD" "$@"
done
if [ "$found" = 0 ]; then
    echo "no benchmark programs in $BUILD/bench (build them: make bench)" >&2
    exit 1
fi

{
    echo
    echo "machine: $( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") ), $(uname -srm); $(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN) cores; $(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)"
    echo "         $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); tmp on $(df -PT "${TMPDIR:-/tmp}" 2>/dev/null | awk 'NR == 2 { print $2 }'); load $LOAD0 at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "date:    $(date -u '+%Y-%m-%dT%H:%M:%SZ')"
    echo
    awk -F '\t' '
        { for (i = 1; i <= 6; i++) { c[NR, i] = $i; n = length($i); if (n > w[i]) w[i] = n } }
        END {
            split("benchmark|figure|target|measured (median)|baseline (median)|ratio", h, "|")
            for (i = 1; i <= 6; i++) if (length(h[i]) > w[i]) w[i] = length(h[i])
            line = ""
            for (i = 1; i <= 6; i++) line = line (i < 6 ? sprintf("%-*s | ", w[i], h[i]) : h[i])
            print line
            line = ""
            for (i = 1; i <= 6; i++) { d = sprintf("%*s", w[i], ""); gsub(/ /, "-", d); line = line d (i < 6 ? "-+-" : "") }
            print line
            for (r = 1; r <= NR; r++) {
                line = ""
                for (i = 1; i <= 6; i++) line = line (i < 6 ? sprintf("%-*s | ", w[i], c[r, i]) : c[r, i])
                print line
            }
        }' "$BENCH_ROWS"
    echo
    echo "ratio: the figure's cost in units of its baseline's, both measured in this run (time or"
    echo "bytes per unit of work; for a rate, the baseline's rate over the measured one): 2.00x is"
    echo "twice as slow or as big as the baseline, 0.50x twice as fast. Medians; each log has the"
    echo "spread, the notes and the figures without a baseline."
} | tee "$BUILD/bench-table.txt"
exit $status
