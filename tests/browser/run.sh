#!/bin/sh
# Browser tests of the dashboard: headless Chromium (Debian's) driven by playwright-core.
#   tests/browser/run.sh BUILD_DIR        (BUILD_DIR holds relief and relief-net)
# Makes a fresh demo node in a temporary directory, serves it on a loopback port, runs
# test.mjs against it, and stops it. Prints "ok - ..." / "not ok - ..." per check and ends with
# "N passed, M failed"; exits non-zero on any failure. Screenshots go to BUILD_DIR/browser-screenshots/.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD_ARG=${1:-build}
if [ ! -x "$BUILD_ARG/relief" ]; then
    echo "run.sh: no relief binary in '$BUILD_ARG'" >&2
    echo "0 passed, 1 failed"
    exit 2
fi
BUILD=$(cd "$BUILD_ARG" && pwd)
RELIEF="$BUILD/relief"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

# playwright-core from the lock file: install when node_modules is missing or not the locked version
stale=$(cd "$HERE" && node -e '
const fs = require("fs");
try {
  const want = JSON.parse(fs.readFileSync("package-lock.json")).packages["node_modules/playwright-core"].version;
  const have = JSON.parse(fs.readFileSync("node_modules/playwright-core/package.json")).version;
  console.log(want === have ? "" : "stale");
} catch { console.log("missing"); }' 2>/dev/null || echo missing)
if [ -n "$stale" ]; then
    echo "# npm ci ($stale node_modules)"
    if ! (cd "$HERE" && npm ci --no-audit --no-fund >/dev/null 2>"$HERE/npm-ci.log"); then
        cat "$HERE/npm-ci.log" >&2
        echo "not ok - npm ci in tests/browser"
        echo "0 passed, 1 failed"
        exit 1
    fi
    rm -f "$HERE/npm-ci.log"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/relief-browser.XXXXXX")
DATA="$TMP/node"
SPID=""
cleanup() {
    if [ -n "$SPID" ]; then
        kill "$SPID" 2>/dev/null
        wait "$SPID" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if ! "$RELIEF" --data "$DATA" init --name browser-test >"$TMP/init.log" 2>&1 ||
    ! "$RELIEF" --data "$DATA" demo >>"$TMP/init.log" 2>&1; then
    cat "$TMP/init.log" >&2
    echo "not ok - make a demo node"
    echo "0 passed, 1 failed"
    exit 1
fi

# a conflict for the coordinator to resolve: a second node of the same network sets the
# occupancy of ISH-WATANOHA while this one does, then its ops come here in a bundle
OTHER="$TMP/other"
NET=$("$RELIEF" --data "$DATA" --json status | node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => console.log(JSON.parse(s).network));')
if ! { "$RELIEF" --data "$OTHER" init --name other --network "$NET" &&
    "$RELIEF" --data "$DATA" bundle create "$TMP/all.bundle" &&
    "$RELIEF" --data "$OTHER" bundle apply "$TMP/all.bundle" &&
    "$RELIEF" --data "$DATA" --by Aiko site set ISH-WATANOHA --occupancy 705 &&
    "$RELIEF" --data "$OTHER" --by Ben site set ISH-WATANOHA --occupancy 720 &&
    "$RELIEF" --data "$OTHER" bundle create "$TMP/back.bundle" &&
    "$RELIEF" --data "$DATA" bundle apply "$TMP/back.bundle"; } >>"$TMP/init.log" 2>&1; then
    cat "$TMP/init.log" >&2
    echo "not ok - make a conflict between two nodes"
    echo "0 passed, 1 failed"
    exit 1
fi

# on a port the system picks (never one in use), read from the ready line
"$RELIEF" --data "$DATA" serve --listen 127.0.0.1:0 >"$TMP/serve.out" 2>"$TMP/serve.log" &
SPID=$!
PORT=""
i=0
while [ $i -lt 100 ]; do
    if [ "$(wc -l <"$TMP/serve.out" 2>/dev/null)" -ge 1 ] 2>/dev/null; then
        PORT=$(sed -n '1s|^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)$|\1|p' "$TMP/serve.out")
        break
    fi
    kill -0 "$SPID" 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
if [ -z "$PORT" ]; then
    cat "$TMP/serve.out" "$TMP/serve.log" >&2
    echo "not ok - relief serve starts"
    echo "0 passed, 1 failed"
    exit 1
fi

mkdir -p "$BUILD/browser-screenshots"
node "$HERE/test.mjs" --base "http://127.0.0.1:$PORT" --relief "$RELIEF" --data "$DATA" \
    --shots "$BUILD/browser-screenshots" --chromium "$CHROMIUM" --serverlog "$TMP/serve.log"
exit $?
