#!/bin/bash
# HTTP benchmarks of the JSON API and the dashboard with wrk (Debian's package) against a real
# `relief serve` on 127.0.0.1 over the demo data, with a write token on every request:
#   GET /api/v1/stock?site=... and GET / (64 connections), beside GET /healthz in the same run;
#   POST /api/v1/stock/receive from 64 connections (group commit), beside the same from one
#   connection (one fsync per write: what a server without group commit does).
# Rounds alternate figure and baseline; medians are printed, and errors (non-2xx answers, socket
# errors). After the writes it checks that every acknowledged receipt is in the balance.
# Prints figures, never asserts.
#
#   tools/bench/bench_api.sh [--build DIR] [--quick] [--rounds N] [--seconds S]
set -u
BUILD=build
ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_API_SECONDS:-5}
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift ;;
    --quick) ROUNDS=1 SECS=3 ;;
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECS=$2; shift ;;
    -h | --help)
        sed -n '/^#   tools/p' "$0" | sed 's/^#   //'
        exit 0 ;;
    --only | --scale) shift ;;
    *) ;;
    esac
    shift
done
RELIEF=$BUILD/relief
if ! command -v wrk >/dev/null 2>&1; then
    echo "bench_api: skipped: no wrk (tools/deps.sh bench installs it)"
    exit 0
fi
if [ ! -x "$BUILD/relief-net" ]; then
    echo "bench_api: skipped: no $BUILD/relief-net (make all)"
    exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/relief-bench-api.XXXXXX")
PID=""
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT INT TERM

N="$T/node"
"$RELIEF" --data "$N" init --name bench >/dev/null
"$RELIEF" --data "$N" demo >/dev/null 2>&1
TOK=$("$RELIEF" --data "$N" token add --role write --name bench 2>/dev/null)
PORT=$((30000 + $$ % 20000))
"$RELIEF" --data "$N" serve --listen "127.0.0.1:$PORT" >"$T/out" 2>"$T/log" &
PID=$!
for _ in $(seq 100); do grep -q '^listening' "$T/out" 2>/dev/null && break; sleep 0.05; done
R="http://127.0.0.1:$PORT"
cat >"$T/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"site":"WH-ISH","item":"towel","qty":1,"by":"bench"}'
wrk.headers["Content-Type"] = "application/json"
EOF
"$RELIEF" --data "$N" item add towel --name Towel --unit piece >/dev/null 2>&1

# run_wrk CONNS URL [SCRIPT]: prints "requests/s errors requests"
run_wrk() {
    local c=$1 url=$2 script=${3:-}
    local out
    local th=2; [ "$c" -lt 2 ] && th=1
    out=$(wrk -t$th -c"$c" -d"${SECS}s" -H "Authorization: Bearer $TOK" ${script:+-s "$script"} "$url" 2>&1)
    local rps non2xx sock reqs
    rps=$(printf '%s\n' "$out" | awk '/^Requests\/sec:/ { print $2 }')
    reqs=$(printf '%s\n' "$out" | awk '/requests in/ { print $1 }')
    non2xx=$(printf '%s\n' "$out" | awk -F': *' '/Non-2xx/ { print $2 }')
    sock=$(printf '%s\n' "$out" | sed -n 's/.*Socket errors: connect \([0-9]*\), read \([0-9]*\), write \([0-9]*\), timeout \([0-9]*\).*/\1 \2 \3 \4/p' | awk '{ print $1 + $2 + $3 + $4 }')
    echo "${rps:-0} $(( ${non2xx:-0} + ${sock:-0} )) ${reqs:-0}"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

declare -A RPS ERR
add() { RPS[$1]="${RPS[$1]:-} $2"; ERR[$1]=$(( ${ERR[$1]:-0} + $3 )); }
acked=0
for r in $(seq "$ROUNDS"); do
    read -r a e _ <<<"$(run_wrk 64 "$R/healthz")";                  add healthz "$a" "$e"
    read -r a e _ <<<"$(run_wrk 64 "$R/api/v1/stock?site=ISH-MINATO")"; add stock "$a" "$e"
    read -r a e _ <<<"$(run_wrk 64 "$R/")";                         add index "$a" "$e"
    read -r a e n <<<"$(run_wrk 1 "$R/api/v1/stock/receive" "$T/post.lua")";  add post1 "$a" "$e"; acked=$((acked + n - e))
    read -r a e n <<<"$(run_wrk 64 "$R/api/v1/stock/receive" "$T/post.lua")"; add post64 "$a" "$e"; acked=$((acked + n - e))
done
med() { printf '%s\n' ${RPS[$1]} | median; }
# ratio: the figure's cost in units of its baseline's (for rates: baseline / measured)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2fx", b / a; else print "-" }'; }
h=$(med healthz)
printf '%-44s %12s %10s %14s %7s %7s\n' "figure (wrk -t2, ${SECS}s x $ROUNDS rounds)" "target" "median/s" "baseline/s" "ratio" "errors"
row() {
    printf '%-44s %12s %10.0f %14s %7s %7s\n' "$1" "$2" "$3" "$4" "$5" "$6"
    # a row of make bench's one table (tools/bench/run.sh), when it collects them
    [ -z "${BENCH_ROWS:-}" ] || printf 'bench_api\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" \
        "$(printf '%.0f req/s' "$3")${6:+, $6 errors}" "$4" "$5" >>"$BENCH_ROWS"
}
s=$(med stock); row "GET /api/v1/stock?site=X, 64 conns" ">= 25000" "$s" "$(printf '%.0f healthz' "$h")" "$(ratio "$s" "$h")" "${ERR[stock]}"
i=$(med index); row "GET / (dashboard), 64 conns" ">= 25000" "$i" "$(printf '%.0f healthz' "$h")" "$(ratio "$i" "$h")" "${ERR[index]}"
p1=$(med post1) p64=$(med post64)
row "POST stock/receive, 64 conns (durable)" ">= 20000" "$p64" "$(printf '%.0f 1 conn' "$p1")" "$(ratio "$p64" "$p1")" "${ERR[post64]}"
printf '%-44s %12s %10.0f %14s %7s %7s\n' "GET /healthz, 64 conns (baseline)" "" "$h" "" "" "${ERR[healthz]}"
echo "ratio: the figure's cost in units of its baseline's (baseline rate / measured rate); 2.00x = half as fast"
bal=$("$RELIEF" --data "$N" --json stock --site WH-ISH --item towel 2>/dev/null | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[0]["balance"] if d else 0)')
echo "acknowledged receipts: $acked; towel balance after the runs: $bal ($([ "$bal" -ge "$acked" ] && echo 'every acknowledged write is there' || echo 'MISSING WRITES'))"
echo "rss of the server after the runs: $(awk '/^RssAnon/ { print $2 " " $3 }' /proc/$PID/status 2>/dev/null) anonymous"
