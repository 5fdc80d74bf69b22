#!/bin/sh
# Runs relief's tests and ends with the line "N passed, N failed".
#   tests/run.sh --build build [--san-build build-san] [--unit-only]
# Unit tests are cmocka programs (BUILD/tests/test_*); their own summaries are counted.
# Fuzz corpora are replayed through BUILD/fuzz/replay_* (one test per target).
# Integration tests are tests/integration/*.sh; each prints "ok - NAME" / "not ok - NAME" lines.
# Output of every program goes to tests/out/; a failure prints the tail of its log.
set -u
cd "$(dirname "$0")/.."
BUILD=build
SAN=""
UNIT_ONLY=0
while [ $# -gt 0 ]; do
    case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --san-build) SAN=$2; shift 2 ;;
    --unit-only) UNIT_ONLY=1; shift ;;
    *) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
OUT=tests/out
mkdir -p "$OUT"
PASSED=0
FAILED=0
FAILS=""

fail_note() {
    FAILS="$FAILS $1"
    echo "--- $1 (log: $2)"
    tail -n 25 "$2" | sed 's/^/    /'
}

run_unit() { # dir label
    for t in "$1"/tests/test_*; do
        [ -x "$t" ] || continue
        name="$2$(basename "$t")"
        log="$OUT/$name.log"
        "$t" >"$log" 2>&1
        rc=$?
        p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
        f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
        p=${p:-0}
        f=${f:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        PASSED=$((PASSED + p))
        FAILED=$((FAILED + f))
        if [ "$f" -ne 0 ]; then fail_note "$name" "$log"; fi
        echo "unit  $name: $p passed, $f failed"
    done
}

run_replay() { # dir label
    for r in "$1"/fuzz/replay_*; do
        [ -x "$r" ] || continue
        target=${r##*/replay_}
        corpus=tools/fuzz/corpus/$target
        [ -d "$corpus" ] || continue
        name="$2replay_$target"
        log="$OUT/$name.log"
        if "$r" "$corpus" >"$log" 2>&1; then
            PASSED=$((PASSED + 1))
            echo "fuzz  $name: corpus replayed ($(ls "$corpus" | wc -l) inputs)"
        else
            FAILED=$((FAILED + 1))
            fail_note "$name" "$log"
        fi
    done
}

run_unit "$BUILD" ""
run_replay "$BUILD" ""
if [ -n "$SAN" ]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_unit "$SAN" "san-"
    run_replay "$SAN" "san-"
fi

# count_log NAME LOG EXIT: add a script's "ok"/"not ok" lines to the totals (a script that
# failed without saying why counts as one failure); sets p and f
count_log() {
    p=$(grep -c '^ok ' "$2")
    f=$(grep -c '^not ok ' "$2")
    if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    PASSED=$((PASSED + p))
    FAILED=$((FAILED + f))
    if [ "$f" -ne 0 ]; then
        grep '^not ok ' "$2" | sed 's/^/    /'
        fail_note "$1" "$2"
    fi
}

run_integration() { # build-dir label [scripts to skip, space-separated]
    RELIEF_BIN=$(cd "$1" && pwd)/relief
    export RELIEF_BIN
    BUILD_DIR=$(cd "$1" && pwd)
    export BUILD_DIR
    for s in tests/integration/*.sh; do
        [ -f "$s" ] || continue
        name=$(basename "$s" .sh)
        case " ${3:-} " in *" $name "*) continue ;; esac
        log="$OUT/$2$name.log"
        timeout 900 bash "$s" >"$log" 2>&1
        count_log "$2$name" "$log" $?
        echo "integ $2$name: $p passed, $f failed"
    done
}

if [ "$UNIT_ONLY" -eq 0 ]; then
    run_integration "$BUILD" ""
    if [ -n "$SAN" ] && [ -x "$SAN/relief" ]; then
        # the same scripts against the sanitized binaries (the simulator only in the plain
        # build: it is a load test; the clock test preloads libfaketime, which ASan's runtime
        # refuses); a short CLI process's leaks at exit are not reported
        ASAN_OPTIONS=detect_leaks=0:abort_on_error=0
        export ASAN_OPTIONS
        run_integration "$SAN" "san-" "test_sim test_clock"
    fi
fi

# the dashboard in a real browser (Chromium, playwright-core from npm) against a real serve
run_browser() { # build-dir label
    log="$OUT/$2browser.log"
    timeout 600 bash tests/browser/run.sh "$1" >"$log" 2>&1
    count_log "$2browser" "$log" $?
    echo "brows $2browser: $p passed, $f failed (screenshots in $1/browser-screenshots)"
}
if [ "$UNIT_ONLY" -eq 0 ] && [ -f tests/browser/run.sh ]; then
    run_browser "$BUILD" ""
fi

[ -n "$FAILS" ] && echo "failed:$FAILS"
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
