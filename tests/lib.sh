# Shared helpers for integration tests (sourced). Each check prints "ok - NAME" or
# "not ok - NAME"; tests/run.sh counts them. Every test works in its own temporary directory,
# removed at exit together with any process started through start_bg.
set -u
: "${RELIEF_BIN:=$(pwd)/build/relief}"
T=$(mktemp -d "${TMPDIR:-/tmp}/relief-test.XXXXXX")
PIDS=""
cleanup() {
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT INT TERM
export RELIEF_DATA="$T/node"
unset RELIEF_USER RELIEF_TOKEN

relief() { "$RELIEF_BIN" "$@"; }

ok() { echo "ok - $1"; }
not_ok() {
    echo "not ok - $1"
    shift
    [ $# -gt 0 ] && echo "#   $*"
    return 0
}

# check NAME CMD...: the command succeeds
check() {
    name=$1
    shift
    if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "exit $?: $out"; fi
}

# check_status NAME STATUS CMD...: the command exits with STATUS
check_status() {
    name=$1
    want=$2
    shift 2
    out=$("$@" 2>&1)
    got=$?
    if [ "$got" -eq "$want" ]; then ok "$name"; else not_ok "$name" "exit $got, wanted $want: $out"; fi
}

# check_eq NAME GOT WANT
check_eq() {
    if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "got '$2', wanted '$3'"; fi
}

# check_match NAME TEXT REGEX (grep -E)
check_match() {
    if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else not_ok "$1" "'$2' does not match '$3'"; fi
}

# A free TCP port on 127.0.0.1 from a range keyed by the script's PID.
free_port() {
    base=$((20000 + ($$ % 120) * 100)) # below the ephemeral range (32768 on)
    i=0
    while [ $i -lt 100 ]; do
        p=$((base + i))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo $p
            return 0
        fi
        i=$((i + 1))
    done
    return 1
}

# start_serve DIR PORT [ARGS...]: relief serve in the background; waits for its ready line and
# leaves its PID in SERVE_PID (no subshell, so the cleanup at exit knows it)
start_serve() {
    local dir=$1 port=$2
    shift 2
    "$RELIEF_BIN" --data "$dir" serve --listen "127.0.0.1:$port" "$@" >"$dir.out" 2>"$dir.log" &
    SERVE_PID=$!
    PIDS="$PIDS $SERVE_PID"
    for _ in $(seq 200); do
        grep -q "^listening on http://127.0.0.1:$port" "$dir.out" 2>/dev/null && return 0
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "serve on $port did not start: $(cat "$dir.log")" >&2
    return 1
}
# stop PID: SIGTERM, and wait until the process is gone (its port is free again)
stop() {
    kill "$1" 2>/dev/null
    for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
    kill -9 "$1" 2>/dev/null
}
