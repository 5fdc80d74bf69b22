#!/bin/bash
# Sync benchmarks: real `relief serve` and `relief sync` processes on 127.0.0.1. A full sync of a
# million ops from A to an empty B (ops/s, and the peak anonymous memory of both processes), a
# round with nothing new, a round with 1,000 new ops, bytes on the wire per op (plain and gzip),
# and a ring of `relief serve` nodes carrying one write all the way round. Each figure stands
# beside a baseline measured in the same run, taking turns with it round by round, because the
# machines are shared and noisy: only the ratio travels between machines. A bash script, not a
# program under tools/bench/*.c, because what it times is processes and the network between them.
# Prints figures, never asserts.
#
#   tools/bench/bench_sync.sh [--build DIR] [--quick] [--rounds N] [--relief PATH]
#
# --quick (or BENCH_QUICK=1) syncs 100,000 ops and runs fewer rounds; --rounds N (or
# BENCH_ROUNDS) sets the rounds of the full sync and of the 1,000-op figure (the round with
# nothing new always runs 3 times as many); BENCH_SYNC_RINGS="10 50" the ring sizes;
# BENCH_SYNC_SOURCE=DIR copies a node already holding the ops instead of writing them (to profile
# without waiting); BENCH_SYNC_LIMIT=SECONDS (default 1800) stops the whole run. Other options
# (those run.sh passes to every benchmark) are ignored. Every process it starts is stopped by PID
# at exit and its temporary directories (under $TMPDIR, else /tmp, and /dev/shm) are removed.
set -u

BUILD=build
QUICK=${BENCH_QUICK:-0}
ROUNDS=${BENCH_ROUNDS:-}
RELIEF=${RELIEF:-}
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$2; shift ;;
    --quick) QUICK=1 ;;
    --rounds) ROUNDS=$2; shift ;;
    --relief) RELIEF=$2; shift ;;
    -h | --help)
        sed -n '/^#   tools/p' "$0" | sed 's/^#   //'
        exit 0 ;;
    --only | --scale) shift ;; # another benchmark's option, passed on by run.sh
    *) ;;
    esac
    shift
done
: "${RELIEF:=$BUILD/relief}"
APPENDER=$BUILD/tests/appender
PY=/usr/bin/python3 # has the msgpack module (a pyenv python3 on PATH may not)

if [ "$QUICK" = 1 ]; then
    NOPS=100000 ROUNDS=${ROUNDS:-3} RINGS=${BENCH_SYNC_RINGS:-10 50} RING_ROUNDS=1
else
    NOPS=1000000 ROUNDS=${ROUNDS:-5} RINGS=${BENCH_SYNC_RINGS:-10 50} RING_ROUNDS=3
fi
EMPTY_ROUNDS=$((ROUNDS * 6 + 1)) # ~30 with the default 5
NEW_OPS=1000
NEW_ROUNDS=$((ROUNDS * 2 + 1))   # ~10
RING_WAIT=120                    # seconds one ring write may take before it counts as lost
LIMIT=${BENCH_SYNC_LIMIT:-1800}

die() { echo "bench_sync: $*" >&2; exit 1; }
for f in "$RELIEF" "$(dirname "$RELIEF")/relief-net" "$APPENDER"; do
    if [ ! -x "$f" ]; then # make bench builds neither relief-net nor the test helpers
        echo "bench_sync: skipped: no '$f' (make -j2 all tests)"
        exit 0
    fi
done

# --- processes and temporary directories: all stopped and removed at exit ---

PIDS=""
T=$(mktemp -d "${TMPDIR:-/tmp}/bench_sync.XXXXXX") || die "cannot make a temporary directory"
SHM=""
cleanup() {
    local p
    for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
    for p in $PIDS; do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
    done
    rm -rf "$T" ${SHM:+"$SHM"}
}
trap cleanup EXIT
trap 'exit 143' INT TERM
forget() { # forget PID: it has exited (so cleanup never signals a reused PID)
    local p out=""
    for p in $PIDS; do [ "$p" = "$1" ] || out="$out $p"; done
    PIDS=$out
}

# A watchdog bounds the whole run: it signals this script, whose trap stops everything else.
(
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "$LIMIT" &
    sp=$!
    wait "$sp"
    echo "bench_sync: over ${LIMIT}s, stopping" >&2
    kill -TERM $$
) &
PIDS="$PIDS $!"

mkfifo "$T/tick" && exec 9<>"$T/tick" # `read -t` on it sleeps without forking a sleep
nap() { read -r -t "$1" -u 9 _; }

now() { echo "${EPOCHREALTIME/,/.}"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.6f", b - a }'; }

# 120 consecutive ports on 127.0.0.1 that nobody answers on, from a range keyed by our PID and
# below the ephemeral ports (a serve's own outgoing connection to its peer may hold one of those)
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
read -r eph _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph=32768
BASE=""
for try in 0 1 2 3 4 5 6 7 8 9; do
    b=$((12000 + (($$ + try * 37) % ((eph - 12000) / 120 - 1)) * 120))
    ok=1
    for ((i = 0; i < 120; i++)); do port_free $((b + i)) || { ok=0; break; }; done
    [ $ok = 1 ] && { BASE=$b; break; }
done
[ -n "$BASE" ] || die "no 120 free ports on 127.0.0.1"

# serve DIR PORT [ARGS...]: relief serve in the background, waiting for its ready line; its PID
# is left in SERVE_PID
serve() {
    local dir=$1 port=$2
    shift 2
    "$RELIEF" --data "$dir" serve --listen "127.0.0.1:$port" "$@" >"$dir.out" 2>>"$dir.log" &
    SERVE_PID=$!
    PIDS="$PIDS $SERVE_PID"
    for _ in $(seq 400); do
        grep -q "^listening on http://127.0.0.1:$port" "$dir.out" 2>/dev/null && return 0
        kill -0 "$SERVE_PID" 2>/dev/null || break
        nap 0.025
    done
    die "serve on $port did not start: $(tail -n 3 "$dir.log")"
}
# stop PID: SIGTERM, and wait until it is gone (its port is free again)
stop() {
    kill -TERM "$1" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || break; nap 0.05; done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    forget "$1"
}

json_field() { # json_field DIR FIELD: a top-level string or number of `relief --json status`
    local s
    s=$("$RELIEF" --data "$1" --json status 2>/dev/null) || return 1
    [[ $s =~ \"$2\":\ \"?([0-9a-f]+)\"? ]] && echo "${BASH_REMATCH[1]}"
}
# seq_of DIR ORIGIN: the seq DIR holds of ORIGIN (0 if none)
seq_of() {
    local s
    s=$("$RELIEF" --data "$1" --json status 2>/dev/null) || { echo 0; return; }
    if [[ $s =~ \"origin\":\ \"$2\",[^}]*\"seq\":\ ([0-9]+) ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo 0
    fi
}
node_init() { # node_init DIR NAME [NETWORK]
    "$RELIEF" --data "$1" init --name "$2" ${3:+--network "$3"} >/dev/null 2>&1 ||
        die "relief init in $1 failed"
}

# --- rows of the table ---

ROW_NAMES=() ROW_TARGET=() ROW_UNIT=() ROW_DIR=() ROW_M=() ROW_B=() ROW_NOTE=() ROW_FMT=()
# row FIGURE TARGET UNIT DIRECTION FORMAT: DIRECTION "up" (higher is better: ratio is
# baseline / measured) or "down"; FORMAT a printf format for the values. Prints the row's index.
row() {
    ROW_NAMES+=("$1") ROW_TARGET+=("$2") ROW_UNIT+=("$3") ROW_DIR+=("$4") ROW_FMT+=("$5")
    ROW_M+=("") ROW_B+=("") ROW_NOTE+=("")
    R=$((${#ROW_NAMES[@]} - 1))
}
add() { ROW_M[$1]="${ROW_M[$1]} $2" ROW_B[$1]="${ROW_B[$1]} $3"; } # add ROW MEASURED BASELINE
note() { ROW_NOTE[$1]=$2; }
median() { printf '%s\n' $1 | sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
spread() { printf '%s\n' $1 | sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.4g..%.4g", lo, hi }'; }
count() { set -- $1; echo $#; }

cpu_name=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
echo "== bench_sync: $([ "$QUICK" = 1 ] && echo quick || echo full) run, $NOPS ops, $ROUNDS rounds, temp dir $T =="
echo "machine: nproc $(nproc), cpu '$cpu_name', load $(cut -d' ' -f1-3 /proc/loadavg), $(df -PT "$T" | awk 'NR == 2 { print $2 }') temp fs"

# --- A with NOPS ops, B empty, in one network ---

A=$T/a B=$T/b
PA=$BASE
t0=$(now)
if [ -n "${BENCH_SYNC_SOURCE:-}" ]; then
    cp -r "$BENCH_SYNC_SOURCE" "$A" || die "cannot copy $BENCH_SYNC_SOURCE"
    rm -f "$A.out" "$A.log"
    how="copied from $BENCH_SYNC_SOURCE"
else
    # One durable transaction per op: on tmpfs, where fsync costs nothing, then copied to the
    # temp file system, where both nodes live while timed.
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then
        SHM=$(mktemp -d /dev/shm/bench_sync.XXXXXX) || die "cannot use /dev/shm"
        gen=$SHM/a
    else
        gen=$A
    fi
    node_init "$gen" A
    echo "  writing $NOPS ops on A (tests/appender, one transaction each)..."
    "$APPENDER" "$gen" "$NOPS" >/dev/null || die "appender failed"
    if [ "$gen" != "$A" ]; then
        cp -r "$gen" "$A" || die "cannot copy A"
        rm -rf "$SHM"
        SHM=""
    fi
    how="written by tests/appender"
fi
NET=$(json_field "$A" network) || die "no network id for A"
A_ORIGIN=$(json_field "$A" node)
A_OPS=$(json_field "$A" ops)
A_BYTES=$(stat -c %s "$A/data.mdb")
echo "  A: $A_OPS ops ($how in $(elapsed "$t0" "$(now)") s), data.mdb $((A_BYTES / 1048576)) MiB"

serve "$A" "$PA"
SA=$SERVE_PID
URL=http://127.0.0.1:$PA
A_IDLE=$(awk '/^RssAnon:/ { print $2 }' "/proc/$SA/status")

# --- figure 1: full sync, with the peak RssAnon of both processes ---

if [ "$A_OPS" -ge 1000000 ]; then size="$((A_OPS / 1000000))M"; else size="$((A_OPS / 1000))k"; fi
row "full sync of $size ops, A -> empty B" ">=250000 ops/s" "ops/s" up "%.0f"; R_FULL=$R
row "  RssAnon peak, serve (A)" "<=64 MiB" "MiB" down "%.1f"; R_MS=$R
row "  RssAnon peak, sync (B)" "<=64 MiB" "MiB" down "%.1f"; R_MC=$R

# sample OUT PID PID2: the peak RssAnon (kB) of both, every 5 ms until PID is gone, into OUT
sample() {
    local out=$1 a=$2 b=$3 s p1=0 p2=0 v
    while kill -0 "$a" 2>/dev/null; do
        s="" && read -r -d '' s <"/proc/$a/status" 2>/dev/null
        [[ $s =~ RssAnon:[[:space:]]+([0-9]+) ]] && v=${BASH_REMATCH[1]} && ((v > p1)) && p1=$v
        s="" && read -r -d '' s <"/proc/$b/status" 2>/dev/null
        [[ $s =~ RssAnon:[[:space:]]+([0-9]+) ]] && v=${BASH_REMATCH[1]} && ((v > p2)) && p2=$v
        nap 0.005
    done
    echo "$p1 $p2" >"$out"
}

# cp_time: the baseline, copying A's data file and fsyncing it (B's sync is durable too)
cp_time() {
    local t
    t=$(now)
    cp "$A/data.mdb" "$T/copy.mdb" && sync "$T/copy.mdb" || return 1
    elapsed "$t" "$(now)"
    rm -f "$T/copy.mdb"
}

echo "  figure 1: full sync, $ROUNDS rounds..."
full_bytes="" full_ops=""
for ((r = 0; r < ROUNDS; r++)); do
    rm -rf "$B" "$T/copy.mdb"
    node_init "$B" B "$NET"
    want=$(json_field "$A" ops) # each round's B leaves its own first op on A
    [ $((r % 2)) = 1 ] && { bt=$(cp_time) || die "cp failed"; }
    t=$(now)
    "$RELIEF" --data "$B" sync "$URL" 2>"$T/sync.err" &
    sp=$!
    PIDS="$PIDS $sp"
    sample "$T/peak" "$sp" "$SA" &
    smp=$!
    PIDS="$PIDS $smp"
    wait "$sp"
    rc=$?
    dt=$(elapsed "$t" "$(now)")
    forget "$sp"
    wait "$smp"
    forget "$smp"
    [ "$rc" = 0 ] || die "sync failed: $(cat "$T/sync.err")"
    [ $((r % 2)) = 0 ] && { bt=$(cp_time) || die "cp failed"; }
    read -r pc ps <"$T/peak"
    line=$(grep '^synced with' "$T/sync.err")
    [[ $line =~ :\ ([0-9]+)\ ops\ in,\ ([0-9]+)\ ops\ out,\ ([0-9]+)\ bytes\ in ]] ||
        die "no summary line: $line"
    in=${BASH_REMATCH[1]} bin=${BASH_REMATCH[3]}
    [ "$in" = "$want" ] || die "B received $in ops, A held $want"
    add $R_FULL "$(awk -v n="$in" -v t="$dt" 'BEGIN { print n / t }')" \
        "$(awk -v n="$in" -v t="$bt" 'BEGIN { print n / t }')"
    add $R_MS "$(awk -v k="$ps" 'BEGIN { print k / 1024 }')" "$(awk -v k="$A_IDLE" 'BEGIN { print k / 1024 }')"
    add $R_MC "$(awk -v k="$pc" 'BEGIN { print k / 1024 }')" "$(awk -v k="$A_IDLE" 'BEGIN { print k / 1024 }')"
    full_bytes="$full_bytes $bin" full_ops="$full_ops $in"
    echo "    round $((r + 1)): $dt s ($in ops, $bin bytes in); cp+fsync $bt s; RssAnon serve $((ps / 1024)) MiB, sync $((pc / 1024)) MiB"
done
note $R_FULL "whole \`relief sync\` process, pages of up to 16384 ops, gzip; baseline: cp of A's data.mdb ($((A_BYTES / 1048576)) MiB) + fsync, as ops/s"
note $R_MS "sampled every 5 ms from /proc/PID/status (the mapped LMDB file is RssFile, not counted); baseline: the same serve idle before any request"
note $R_MC "the sync process, same sampling; baseline: the idle serve (a relief-net process with the store open)"

# --- figure 2: a round with nothing new, beside relief status ---

row "sync round, nothing new (process incl.)" "<=2 ms" "ms" down "%.2f"; R_EMPTY=$R
row "  the round inside relief-net" "report" "ms" down "%.2f"; R_EMPTY_IN=$R
row "  relief-net start alone (--help)" "report" "ms" down "%.2f"; R_START=$R
echo "  figure 2: $EMPTY_ROUNDS rounds with nothing new..."
time_cmd() { # time_cmd CMD...: seconds it took; its output in $T/out
    local t
    t=$(now)
    "$@" >"$T/out" 2>/dev/null || return 1
    elapsed "$t" "$(now)"
}
time_any() { # time_any CMD...: time_cmd for a command that exits non-zero (usage: --help)
    local t
    t=$(now)
    "$@" >/dev/null 2>&1
    elapsed "$t" "$(now)"
}
ms() { awk -v s="$1" 'BEGIN { print s * 1000 }'; }
inner_ms() { # the "seconds" of `relief --json sync` in $T/out, as ms
    local s
    s=$(<"$T/out")
    [[ $s =~ \"seconds\":\ ([0-9.e+-]+) ]] || die "no seconds in: $s"
    ms "${BASH_REMATCH[1]}"
}
NET_BIN=$(dirname "$RELIEF")/relief-net
for _ in 1 2 3; do "$RELIEF" --data "$B" sync "$URL" 2>/dev/null; "$RELIEF" --data "$B" status >/dev/null; done
for ((r = 0; r < EMPTY_ROUNDS; r++)); do
    if [ $((r % 2)) = 0 ]; then
        m=$(time_cmd "$RELIEF" --data "$B" --json sync "$URL") || die "sync failed"
        mi=$(inner_ms)
        b=$(time_cmd "$RELIEF" --data "$B" status) || die "status failed"
    else
        b=$(time_cmd "$RELIEF" --data "$B" status) || die "status failed"
        m=$(time_cmd "$RELIEF" --data "$B" --json sync "$URL") || die "sync failed"
        mi=$(inner_ms)
    fi
    add $R_EMPTY "$(ms "$m")" "$(ms "$b")"
    add $R_EMPTY_IN "$mi" ""
    m=$(time_any "$NET_BIN" --help)
    b=$(time_any "$RELIEF" --help)
    add $R_START "$(ms "$m")" "$(ms "$b")"
done
note $R_EMPTY "\`relief --json sync\` when A and B hold the same $A_OPS ops, process start included; baseline: \`relief status\` on B (a process that opens the store and exits)"
note $R_EMPTY_IN "the same runs' own \"seconds\" (info, pull, the peer's last success recorded): what is left once the process is up"
note $R_START "relief-net --help: exec and dynamic loading of its ~40 shared libraries (libcurl brings TLS, Kerberos, LDAP, ...), nothing else; baseline: relief --help (no network libraries)"

# --- figure 3: 1,000 new ops ---

row "sync round, $NEW_OPS new ops" "<=20 ms" "ms" down "%.2f"; R_NEW=$R
row "  the round inside relief-net" "report" "ms" down "%.2f"; R_NEW_IN=$R
echo "  figure 3: $NEW_ROUNDS rounds of $NEW_OPS new ops on A..."
for ((r = 0; r < NEW_ROUNDS; r++)); do
    "$APPENDER" "$A" "$NEW_OPS" >/dev/null || die "appender failed"
    m=$(time_cmd "$RELIEF" --data "$B" --json sync "$URL") || die "sync failed"
    mi=$(inner_ms)
    grep -q '"pulled": '"$NEW_OPS"',' "$T/out" || die "unexpected: $(cat "$T/out")"
    b=$(time_cmd "$RELIEF" --data "$B" --json sync "$URL") || die "sync failed"
    bi=$(inner_ms)
    add $R_NEW "$(ms "$m")" "$(ms "$b")"
    add $R_NEW_IN "$mi" "$bi"
done
note $R_NEW "$NEW_OPS ops appended on A, then one \`relief --json sync\` from B (process incl.); baseline: the next sync, with nothing new"
note $R_NEW_IN "the same runs' own \"seconds\"; baseline: the next sync's"

# --- figure 4: bytes on the wire per op ---

row "wire bytes/op, plain (full pull)" "report" "B/op" down "%.2f"; R_PLAIN=$R
row "wire bytes/op, gzip (relief sync)" "report" "B/op" down "%.2f"; R_GZ=$R
echo "  figure 4: bytes on the wire (a pull loop in Python, plain and gzip)..."
cat >"$T/pull.py" <<'EOF'
# Pull every op from a relief serve, pages of PAGE ops as relief sync asks, asking for gzip or
# not (argv[4]); prints ops, response bytes (body + header lines), pages.
import gzip, http.client, sys
import msgpack
port, net, page, gz = int(sys.argv[1]), bytes.fromhex(sys.argv[2]), int(sys.argv[3]), sys.argv[4] == "gzip"
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
vv, ops, size, pages = {}, 0, 0, 0
while True:
    req = msgpack.packb({1: net, 2: [[o, s, h] for o, (s, h) in sorted(vv.items())], 3: page}, use_bin_type=True)
    hdr = {"Content-Type": "application/vnd.msgpack"}
    if gz:
        hdr["Accept-Encoding"] = "gzip"
    c.request("POST", "/sync/v1/pull", req, hdr)
    r = c.getresponse()
    data = r.read()
    if r.status != 200:
        sys.exit("HTTP %d" % r.status)
    size += len(data) + len(str(r.msg)) + 17  # body, header lines, "HTTP/1.1 200 OK\r\n"
    if r.getheader("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    m = msgpack.unpackb(data, raw=False, strict_map_key=False)
    for run in m[2]:
        n = len(run[4])
        ops += n
        vv[run[0]] = (run[1] + n - 1, run[3])
    pages += 1
    if not m.get(3):
        break
print(ops, size, pages)
EOF
if "$PY" -c 'import msgpack' 2>/dev/null; then
    read -r pops psize ppages < <("$PY" "$T/pull.py" "$PA" "$NET" 2000 plain) || die "pull.py failed"
    read -r gops gsize gpages < <("$PY" "$T/pull.py" "$PA" "$NET" 2000 gzip) || die "pull.py failed"
    POPS=$(json_field "$A" ops)
    add $R_PLAIN "$(awk -v b="$psize" -v n="$pops" 'BEGIN { print b / n }')" \
        "$(awk -v b="$(stat -c %s "$A/data.mdb")" -v n="$POPS" 'BEGIN { print b / n }')"
    note $R_PLAIN "a pull loop with no Accept-Encoding ($pops ops, $psize bytes, $ppages pages); baseline: A's data.mdb bytes per op; python gzip loop: $(awk -v b="$gsize" -v n="$gops" 'BEGIN { printf "%.2f", b / n }') B/op"
    plain=$(awk -v b="$psize" -v n="$pops" 'BEGIN { print b / n }')
else
    note $R_PLAIN "skipped: $PY has no msgpack module"
    plain=""
fi
for i in $(seq "$(count "$full_ops")"); do
    o=$(echo $full_ops | cut -d' ' -f"$i") by=$(echo $full_bytes | cut -d' ' -f"$i")
    add $R_GZ "$(awk -v b="$by" -v n="$o" 'BEGIN { print b / n }')" "${plain:-0}"
done
note $R_GZ "bytes in / ops in of the full syncs' summary lines (headers included); baseline: plain. The appender's ops are all alike ({1: \"test\"}), so they compress far better than real ones (PROTOCOL.md section 14: 43.9 plain, 19.5 gzip for typical movements)"
stop "$SA"

# --- figure 5: a ring of relief serve nodes, one write ---

# ring N: N nodes, each serving and syncing (--peer) with its successor; one write on node 0;
# the time until the last node has it, beside a relay of `relief sync` runs doing the same hops
ring() {
    local n=$1 d=$T/ring$1 k pids=() url0 origin want t i ok hops=$(($1 - 1))
    local r0 r1 s0 s1
    row "ring of $n serve nodes: one write to all" "report" "s" down "%.2f"; local rr=$R
    echo "  figure 5: a ring of $n nodes, $RING_ROUNDS writes..."
    mkdir -p "$d"
    node_init "$d/0" r0
    local net
    net=$(json_field "$d/0" network)
    origin=$(json_field "$d/0" node)
    for ((k = 1; k < n; k++)); do node_init "$d/$k" "r$k" "$net"; done
    # converge the nodes' own first ops before timing anything (a star through node 0)
    serve "$d/0" "$((BASE + 10))"
    local s=$SERVE_PID
    for pass in 1 2; do
        for ((k = 1; k < n; k++)); do
            "$RELIEF" --data "$d/$k" sync "http://127.0.0.1:$((BASE + 10))" 2>/dev/null || die "ring: sync $k failed"
        done
    done
    stop "$s"
    local loads="" cpu=""
    for ((i = 0; i < RING_ROUNDS; i++)); do
        # baseline: peerless serves, node k runs `relief sync` to node k+1, k = 0..n-2
        pids=()
        for ((k = 0; k < n; k++)); do serve "$d/$k" "$((BASE + 10 + k))"; pids+=("$SERVE_PID"); done
        "$APPENDER" "$d/0" 1 >/dev/null || die "appender failed"
        want=$(seq_of "$d/0" "$origin")
        t=$(now)
        for ((k = 0; k < n - 1; k++)); do
            "$RELIEF" --data "$d/$k" sync "http://127.0.0.1:$((BASE + 11 + k))" 2>/dev/null || die "relay $k failed"
        done
        r0=$(elapsed "$t" "$(now)")
        [ "$(seq_of "$d/$((n - 1))" "$origin")" = "$want" ] || die "the relay did not reach node $((n - 1))"
        for p in "${pids[@]}"; do stop "$p"; done
        # measured: serves with --peer their successor, only change-triggered syncs
        pids=()
        for ((k = 0; k < n; k++)); do
            serve "$d/$k" "$((BASE + 10 + k))" --peer "http://127.0.0.1:$((BASE + 10 + (k + 1) % n))" --interval 3600
            pids+=("$SERVE_PID")
        done
        nap 2 # the syncs every serve makes at start (nothing to move) are over
        read -r _ u0 n0 s0 _ </proc/stat
        "$APPENDER" "$d/0" 1 >/dev/null || die "appender failed"
        want=$(seq_of "$d/0" "$origin")
        t=$(now)
        # wait for each node in ring order: the write can only travel forward
        ok=1 k=1
        while [ $k -lt $n ]; do
            if [ "$(seq_of "$d/$k" "$origin")" -ge "$want" ]; then
                k=$((k + 1))
                continue
            fi
            if [ "$(elapsed "$t" "$(now)" | cut -d. -f1)" -ge "$RING_WAIT" ]; then
                ok=0
                break
            fi
            nap 0.05
        done
        r1=$(elapsed "$t" "$(now)")
        read -r _ u1 n1 s1 _ </proc/stat
        loads="$loads $(cut -d' ' -f1 /proc/loadavg)"
        cpu="$cpu $(awk -v u=$((u1 + n1 + s1 - u0 - n0 - s0)) -v t="$r1" -v c="$(nproc)" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", 100 * u / hz / t / c }')"
        for p in "${pids[@]}"; do stop "$p"; done
        if [ $ok = 0 ]; then
            note $rr "node $k of $n did not have the write after ${RING_WAIT} s"
            echo "    write $((i + 1)): not everywhere after ${RING_WAIT} s (stuck at node $k)"
            return
        fi
        add $rr "$r1" "$r0"
        echo "    write $((i + 1)): $r1 s round the ring ($(awk -v t="$r1" -v h=$hops 'BEGIN { printf "%.0f", t / h * 1000 }') ms/hop); relay of $hops syncs $r0 s; machine busy ${cpu##* }%, load ${loads##* }"
    done
    note $rr "$hops hops, --interval 3600 (each hop: a change seen on the 250 ms tick, 300 ms debounce, then a sync); median $(awk -v t="$(median "${ROW_M[$rr]}")" -v h=$hops 'BEGIN { printf "%.0f", t / h * 1000 }') ms/hop; CPU busy during the wait:$cpu %, load:$loads; baseline: the same $hops hops as \`relief sync\` runs one after another"
}
for n in $RINGS; do ring "$n"; done

# --- the table ---

# a row of make bench's one table (tools/bench/run.sh), when it collects them
emit() { [ -z "${BENCH_ROWS:-}" ] || printf 'bench_sync\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$BENCH_ROWS"; }

printf '\n%-42s | %-14s | %-18s | %-18s | %s\n' "figure" "target" "measured (median)" "baseline (median)" "ratio"
printf '%.42s-+-%.14s-+-%.18s-+-%.18s-+-%s\n' "------------------------------------------" \
    "--------------" "------------------" "------------------" "------"
for ((i = 0; i < ${#ROW_NAMES[@]}; i++)); do
    m=$(median "${ROW_M[$i]}") b=$(median "${ROW_B[$i]}")
    if [ -z "$m" ]; then
        printf '%-42s | %-14s | %-18s | %-18s | %s\n' "${ROW_NAMES[$i]}" "${ROW_TARGET[$i]}" "not run" "-" "-"
        emit "${ROW_NAMES[$i]}" "${ROW_TARGET[$i]}" "not run" "-" "-"
        continue
    fi
    mf="$(printf "${ROW_FMT[$i]}" "$m") ${ROW_UNIT[$i]}" bf="-"
    [ -n "$b" ] && bf="$(printf "${ROW_FMT[$i]}" "$b") ${ROW_UNIT[$i]}"
    ratio=$(awk -v m="$m" -v b="${b:-0}" -v d="${ROW_DIR[$i]}" 'BEGIN { if (m == 0 || b == 0) print "-"; else printf "%.2fx", d == "up" ? b / m : m / b }')
    printf '%-42s | %-14s | %-18s | %-18s | %s\n' "${ROW_NAMES[$i]}" "${ROW_TARGET[$i]}" "$mf" "$bf" "$ratio"
    emit "${ROW_NAMES[$i]}" "${ROW_TARGET[$i]}" "$mf" "$bf" "$ratio"
done
echo
echo "machine: nproc $(nproc), cpu '$cpu_name'; all on 127.0.0.1, nodes in $(df -PT "$T" | awk 'NR == 2 { print $2 }') $T"
echo "ratio: the cost of the figure in units of its baseline's (time per op, time per run, bytes per"
echo "op, MiB); 1.50x means 1.5 times as slow or as big as the baseline."
echo
for ((i = 0; i < ${#ROW_NAMES[@]}; i++)); do
    name=${ROW_NAMES[$i]}
    name=${name#"${name%%[! ]*}"}
    [ -n "${ROW_NOTE[$i]}" ] && echo "  $name: ${ROW_NOTE[$i]}"
    [ -n "${ROW_M[$i]// /}" ] || continue
    sb=""
    [ -n "${ROW_B[$i]// /}" ] && sb=", baseline $(spread "${ROW_B[$i]}")"
    echo "    spread over $(count "${ROW_M[$i]}"): measured $(spread "${ROW_M[$i]}")$sb ${ROW_UNIT[$i]}"
done
exit 0
