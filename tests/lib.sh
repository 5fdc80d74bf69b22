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

# start_serve [--port N] [--out PREFIX] DIR [ARGS...]: relief serve --data DIR in the
# background on 127.0.0.1, on a port the system picks (never one in use, so no test talks to
# another run's server); --port N only for a restart that must keep a URL a peer has stored.
# Output in PREFIX.out and PREFIX.log (PREFIX: DIR). Waits for the ready line; sets SERVE_PID
# (no subshell, so the cleanup at exit knows it), SERVE_PORT and SERVE_URL (empty if it did
# not start).
start_serve() {
    local port=0 out="" dir
    while :; do
        case $1 in
        --port) port=$2; shift 2 ;;
        --out) out=$2; shift 2 ;;
        *) break ;;
        esac
    done
    dir=$1
    shift
    out=${out:-$dir}
    SERVE_PORT="" SERVE_URL=""
    "$RELIEF_BIN" --data "$dir" serve --listen "127.0.0.1:$port" "$@" >"$out.out" 2>"$out.log" &
    SERVE_PID=$!
    PIDS="$PIDS $SERVE_PID"
    for _ in $(seq 200); do
        # the line whole (its newline written): "listening on http://127.0.0.1:PORT"
        if [ "$(wc -l <"$out.out" 2>/dev/null)" -ge 1 ] 2>/dev/null; then
            SERVE_PORT=$(sed -n '1s|^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$out.out")
            [ -z "$SERVE_PORT" ] || { [ "$port" != 0 ] && [ "$port" != "$SERVE_PORT" ]; } && break
            SERVE_URL="http://127.0.0.1:$SERVE_PORT"
            return 0
        fi
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.05
    done
    SERVE_PORT=""
    echo "serve of $dir (port $port) did not start: $(cat "$out.out" "$out.log")" >&2
    return 1
}
# stop PID: SIGTERM, and wait until the process is gone (its port is free again)
stop() {
    kill "$1" 2>/dev/null
    for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
    kill -9 "$1" 2>/dev/null
}
