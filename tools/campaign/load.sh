#!/bin/bash
# Load and soak campaign (issue #7), the parts possible now, against one `relief serve` over
# `relief demo` data:
#   1. idle: 1,000 idle TCP connections held open (holder.py re-opens any the server closes)
#      while ordinary requests are still served: curl /healthz and /sync/v1/info, and
#      `relief sync` of a client node, each timed;
#   2. concurrency: 200 `relief sync` clients at once (fresh nodes of the network, each with
#      one op of its own), all must succeed and the server must end up with every client's op;
#   3. soak for --seconds N: wrk on the read endpoints (--wrk-conns connections) plus a
#      `relief sync` every second; RssAnon of the server sampled from /proc/PID/status; growth
#      from the sample after warm-up to the last one must stay under --rss-slack KiB.
# No errors allowed (non-2xx, socket errors, failed syncs). Exit 1 on any violation.
#   tools/campaign/load.sh [--seconds N] [--idle N] [--clients N] [--build DIR]
#                          [--wrk-conns N] [--rss-slack KIB]     (60, 1000, 200, 8, 1024)
. "$(dirname "$0")/lib.sh"
SOAK=${LOAD_SECONDS:-60}
IDLE=${LOAD_IDLE:-1000}
CLIENTS=${LOAD_CLIENTS:-200}
WRK_CONNS=${LOAD_WRK_CONNS:-8}
SLACK=${LOAD_RSS_SLACK_KB:-1024}
while [ $# -gt 0 ]; do
    case $1 in
    --seconds) SOAK=$2; shift 2 ;;
    --idle) IDLE=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --wrk-conns) WRK_CONNS=$2; shift 2 ;;
    --rss-slack) SLACK=$2; shift 2 ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "load.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
campaign_setup load
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"
CHECKS=0
ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
bad() { CHECKS=$((CHECKS + 1)); fail "$*"; }
rss() { awk '/^RssAnon/ {print $2}' "/proc/$1/status" 2>/dev/null; }
ms_since() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }

S=$T/s
relief --data "$S" init --name loadserver >/dev/null 2>&1
relief --data "$S" demo >/dev/null 2>&1
NET=$(net_of "$S")
PORT=$(free_port 0)
URL=http://127.0.0.1:$PORT
start_serve "$S" "$PORT" || exit 1
SP=$SERVE_PID
# relief serve is exec'd by setsid: the PID is the server's own
RSS0=$(rss "$SP")
note "server pid $SP, RssAnon at start ${RSS0} kB, fd limit $(ulimit -n)"
C=$T/c
relief --data "$C" init --name loadclient --network "$NET" >/dev/null 2>&1
relief --data "$C" sync "$URL" >/dev/null 2>&1 || bad "the first sync"

# ---------- 1. idle connections ----------
setsid "$PY" "$CAMPAIGN_DIR/holder.py" 127.0.0.1 "$PORT" "$IDLE" "$T/holder.status" &
HP=$!
PIDS="$PIDS $HP"
for _ in $(seq 300); do
    [ -f "$T/holder.status" ] && [ "$(awk '{print $2}' "$T/holder.status")" -ge "$IDLE" ] && break
    sleep 0.1
done
note "holder: $(cat "$T/holder.status" 2>/dev/null)"
held=$(awk '{print $2}' "$T/holder.status" 2>/dev/null)
[ "${held:-0}" -ge "$IDLE" ] && ok "$IDLE idle connections are open" || bad "only ${held:-0} of $IDLE idle connections opened"
worst=0 errs=0
for i in $(seq 20); do
    t0=$(date +%s%N)
    code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/healthz")
    [ "$code" = 200 ] || errs=$((errs + 1))
    code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/sync/v1/info")
    [ "$code" = 200 ] || errs=$((errs + 1))
    ms=$(ms_since "$t0"); [ "$ms" -gt "$worst" ] && worst=$ms
done
[ $errs -eq 0 ] && ok "with $IDLE idle connections: 40 requests answered (slowest pair ${worst} ms)" ||
    bad "with $IDLE idle connections: $errs of 40 requests failed"
IDLE_CURL_MS=$worst
relief --data "$C" stock receive --site WH-ISH --item water-2l --qty 1 >/dev/null 2>&1
t0=$(date +%s%N)
if relief --data "$C" sync "$URL" >/dev/null 2>"$T/sync.err"; then
    IDLE_SYNC_MS=$(ms_since "$t0"); ok "with $IDLE idle connections: relief sync works (${IDLE_SYNC_MS} ms)"
else bad "with $IDLE idle connections: relief sync fails: $(cat "$T/sync.err")"; fi
RSS_IDLE=$(rss "$SP")
note "RssAnon with $IDLE idle connections: ${RSS_IDLE} kB; holder: $(cat "$T/holder.status")"
# the server's idle deadline (30 s) closes them; the holder re-opens: still served after that?
sleep "${LOAD_IDLE_WAIT:-32}"
t0=$(date +%s%N)
code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' "$URL/healthz")
[ "$code" = 200 ] && ok "after the idle deadline passed: /healthz answers ($(ms_since "$t0") ms)" || bad "after the idle deadline: /healthz says $code"
IDLE_STATUS=$(cat "$T/holder.status")
note "holder after 32 s more: $IDLE_STATUS"
kill9 "$HP"
sleep 1
kill -0 "$SP" 2>/dev/null && ok "serve survives the idle connections" || bad "serve died"

# ---------- 2. concurrent sync clients ----------
base_ops=$(ops_of "$S")
kp=""
# (never a bare `wait`: it would wait for the server too)
waitall() { local p; for p in $1; do wait "$p" 2>/dev/null; done; }
kp=""
for i in $(seq "$CLIENTS"); do
    relief --data "$T/k$i" init --name "k$i" --network "$NET" >/dev/null 2>&1 &
    kp="$kp $!"
    [ $((i % 20)) -eq 0 ] && { waitall "$kp"; kp=""; }
done
waitall "$kp"
own=0
for i in $(seq "$CLIENTS"); do own=$((own + $(ops_of "$T/k$i"))); done
t0=$(date +%s%N) kp=""
for i in $(seq "$CLIENTS"); do
    ( relief --data "$T/k$i" sync "$URL" >"$T/k$i.out" 2>"$T/k$i.err"; echo $? >"$T/k$i.rc" ) &
    kp="$kp $!"
done
waitall "$kp"
CONC_MS=$(ms_since "$t0")
failed=0 first=""
for i in $(seq "$CLIENTS"); do
    rc=$(cat "$T/k$i.rc" 2>/dev/null || echo x)
    [ "$rc" = 0 ] || { failed=$((failed + 1)); [ -z "$first" ] && first="k$i: exit $rc: $(tail -n 1 "$T/k$i.err")"; }
done
[ $failed -eq 0 ] && ok "$CLIENTS concurrent relief sync clients all succeed (${CONC_MS} ms for all)" ||
    bad "$failed of $CLIENTS concurrent syncs failed, first: $first"
got=$(ops_of "$S")
expect_ops=$((base_ops + own))
[ "$got" -eq "$expect_ops" ] && ok "the server holds every client's ops ($got = $base_ops + $own)" ||
    bad "the server holds $got ops, wanted $expect_ops"
# a second round: every client catches up with all the others, then equal digests
kp=""
for i in $(seq "$CLIENTS"); do
    ( relief --data "$T/k$i" sync "$URL" >/dev/null 2>&1; echo $? >"$T/k$i.rc" ) &
    kp="$kp $!"
done
waitall "$kp"
sd=$(relief --data "$S" digest) diff=0
for i in $(seq "$CLIENTS"); do [ "$(relief --data "$T/k$i" digest)" = "$sd" ] || diff=$((diff + 1)); done
[ $diff -eq 0 ] && ok "after a second round all $CLIENTS clients equal the server (digest)" || bad "$diff clients differ from the server"
RSS_CONC=$(rss "$SP")
for i in $(seq "$CLIENTS"); do rm -rf "$T/k$i" "$T/k$i".*; done

# ---------- 3. soak ----------
paths="/healthz /sync/v1/info"
for p in /api/v1/status /api/v1/stock /api/v1/sites /; do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL$p")" = 200 ] && paths="$paths $p"
done
note "soak ${SOAK}s: wrk ($WRK_CONNS connections) on: $paths; relief sync every second"
{
    echo 'paths = {'
    for p in $paths; do echo "  \"$p\","; done
    echo '}'
    echo 'i = 0'
    echo 'request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end'
} >"$T/paths.lua"
# warm-up: 5 s of the same mix, then the first sample
if command -v wrk >/dev/null 2>&1; then
    wrk -t1 -c"$WRK_CONNS" -d5s -s "$T/paths.lua" "$URL" >/dev/null 2>&1
    HAVE_WRK=1
else
    note "wrk is not installed (tools/deps.sh bench): curl loop instead"
    HAVE_WRK=""
fi
RSS_A=$(rss "$SP")
samples="$RSS_A"
if [ -n "$HAVE_WRK" ]; then
    wrk -t1 -c"$WRK_CONNS" -d"${SOAK}s" --latency -s "$T/paths.lua" "$URL" >"$T/wrk.out" 2>&1 &
    WP=$!
    PIDS="$PIDS $WP"
else
    ( end=$(($(date +%s) + SOAK)); n=0 e=0
      while [ "$(date +%s)" -lt $end ]; do
          for p in $paths; do
              c=$(curl -s -o /dev/null -w '%{http_code}' "$URL$p"); n=$((n + 1)); [ "$c" = 200 ] || e=$((e + 1))
          done
      done; echo "requests $n errors $e" >"$T/wrk.out" ) &
    WP=$!
fi
end=$(($(date +%s) + SOAK)) syncs=0 syncfail=0 k=0
while [ "$(date +%s)" -lt $end ]; do
    relief --data "$C" stock receive --site WH-ISH --item water-2l --qty 1 >/dev/null 2>&1
    relief --data "$C" sync "$URL" >/dev/null 2>"$T/soak.err" && syncs=$((syncs + 1)) || syncfail=$((syncfail + 1))
    k=$((k + 1))
    [ $((k % 10)) -eq 0 ] && samples="$samples $(rss "$SP")"
    sleep 1
done
wait "$WP" 2>/dev/null
RSS_B=$(rss "$SP")
samples="$samples $RSS_B"
cat "$T/wrk.out"
REQS=$(awk '/requests in/ {print $1}' "$T/wrk.out")
RPS=$(awk '/^Requests\/sec/ {print $2}' "$T/wrk.out")
NON2XX=$(awk '/Non-2xx/ {print $NF}' "$T/wrk.out")
SOCKERR=$(grep -i "socket errors" "$T/wrk.out" | tr -s ' ')
[ -z "$NON2XX" ] && [ -z "$SOCKERR" ] && ok "soak: ${REQS:-?} requests (${RPS:-?}/s), no errors" ||
    bad "soak: non-2xx ${NON2XX:-0}, ${SOCKERR:-no socket errors}"
[ $syncfail -eq 0 ] && ok "soak: $syncs syncs, none failed" || bad "soak: $syncfail of $((syncs + syncfail)) syncs failed: $(cat "$T/soak.err")"
GROWTH=$((RSS_B - RSS_A))
[ "$GROWTH" -le "$SLACK" ] && ok "soak: RssAnon ${RSS_A} -> ${RSS_B} kB (growth ${GROWTH} kB <= ${SLACK})" ||
    bad "soak: RssAnon grew ${GROWTH} kB (${RSS_A} -> ${RSS_B}), more than ${SLACK}"
kill -0 "$SP" 2>/dev/null && ok "serve still runs" || bad "serve died"
check_node "$S" "after the load" && ok "the server's digest equals its rebuild" || CHECKS=$((CHECKS + 1))
stop "$SP"
echo "load: idle $IDLE connections (held: ${held:-0}; slowest /healthz+/info pair ${IDLE_CURL_MS} ms; sync ${IDLE_SYNC_MS:-?} ms; after 32 s: $IDLE_STATUS); $CLIENTS concurrent syncs in ${CONC_MS} ms, failed $failed; soak ${SOAK}s: ${REQS:-?} requests (${RPS:-?}/s), $syncs syncs; RssAnon kB: start $RSS0, idle-held $RSS_IDLE, after $CLIENTS syncs $RSS_CONC, soak $RSS_A -> $RSS_B (growth $GROWTH; samples $samples); $CHECKS checks, failures $FAILS"
[ "$FAILS" -eq 0 ]
