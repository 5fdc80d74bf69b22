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
    base=$((20000 + ($$ % 400) * 100))
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
