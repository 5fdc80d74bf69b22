# shellcheck shell=bash
# Shared helpers for the reliability campaigns (sourced by tools/campaign/*.sh).
# Every campaign works in its own temporary directory, runs copies of the binaries taken at its
# start (so a concurrent `make` cannot swap them mid-run), and kills what it started at exit.
set -u
CAMPAIGN_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$CAMPAIGN_DIR/../.." && pwd)
BUILD=${BUILD:-$ROOT/build}
PY=/usr/bin/python3
PIDS=""
FAILS=0
T=""

# campaign_setup NAME: the work directory and the binary snapshot
campaign_setup() {
    T=$(mktemp -d "${TMPDIR:-/tmp}/relief-$1.XXXXXX")
    mkdir -p "$T/bin"
    for b in relief relief-net; do
        [ -x "$BUILD/$b" ] || { echo "$1: $BUILD/$b missing (make -j2 all)" >&2; exit 2; }
        cp "$BUILD/$b" "$T/bin/$b"
    done
    RELIEF="$T/bin/relief"
    export RELIEF_NET="$T/bin/relief-net"
    unset RELIEF_DATA RELIEF_USER RELIEF_TOKEN
    trap campaign_cleanup EXIT
    trap 'exit 130' INT TERM
}
campaign_cleanup() {
    for p in $PIDS; do kill -9 -- "-$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
    wait 2>/dev/null
    if [ -n "${KEEP:-}" ] || [ "$FAILS" -gt 0 ]; then
        echo "work directory kept: $T" >&2
    else
        rm -rf "$T"
    fi
}
relief() { "$RELIEF" "$@"; }

fail() {
    FAILS=$((FAILS + 1))
    echo "FAIL: $*" >&2
}
note() { echo "# $*" >&2; }

# a free TCP port on 127.0.0.1 near a base keyed by our PID, below the kernel's ephemeral range
# (32768+, where the campaign's own clients bind), checked by binding it
free_port() {
    "$PY" - "$(( 10000 + ($$ % 200) * 100 + ${1:-0} ))" <<'PYEOF'
import socket, sys
b = int(sys.argv[1])
for p in range(b, b + 100):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    sys.exit(0)
sys.exit(1)
PYEOF
}

# start_serve DIR PORT [ARGS...]: relief serve in the background (own process group); waits
# for its ready line; SERVE_PID. $SERVE_PREFIX (e.g. "faketime ...") runs in front of it.
start_serve() {
    local dir=$1 port=$2
    shift 2
    : >"$dir.out"   # the ready line must be this run's
    # shellcheck disable=SC2086
    setsid ${SERVE_PREFIX:-} "$RELIEF" --data "$dir" serve --listen "127.0.0.1:$port" "$@" \
        >>"$dir.out" 2>>"$dir.log" &
    SERVE_PID=$!
    PIDS="$PIDS $SERVE_PID"
    for _ in $(seq 400); do
        grep -q "listening on http://127.0.0.1:$port" "$dir.out" 2>/dev/null && return 0
        kill -0 "$SERVE_PID" 2>/dev/null || break
        sleep 0.025
    done
    echo "serve on $port did not start: $(tail -n 3 "$dir.log")" >&2
    return 1
}
# stop PID: SIGTERM and wait until it is gone
stop() {
    kill "$1" 2>/dev/null
    for _ in $(seq 200); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null; return 0; }; sleep 0.05; done
    kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}
# kill9 PID: kill -9 its whole process group (started with setsid) and reap it
kill9() {
    kill -9 -- "-$1" 2>/dev/null || kill -9 "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

json() { "$PY" -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
net_of() { relief --data "$1" --json status | json 'd["network"]'; }
ops_of() { relief --data "$1" --json status 2>/dev/null | json 'd["ops"]' 2>/dev/null || echo -1; }
# a random delay of 20..400 ms, as a sleep argument
rand_delay() { printf '0.%03d' $((RANDOM % 381 + 20)); }

# check_node DIR WHAT: opens (status exit 0) and digest == digest --rebuild
check_node() {
    local dir=$1 what=$2 d r
    if ! relief --data "$dir" status >/dev/null 2>"$T/status.err"; then
        fail "$what: 'relief status' fails: $(cat "$T/status.err")"
        return 1
    fi
    d=$(relief --data "$dir" digest 2>&1)
    r=$(relief --data "$dir" digest --rebuild 2>&1)
    if [ "$d" != "$r" ] || [ -z "$d" ]; then
        fail "$what: digest '$d' != rebuilt '$r'"
        return 1
    fi
    return 0
}
