#!/bin/sh
# Install the Debian packages that relief's build and tests need, and nothing else.
# Does nothing when all are present; runs apt-get update only when a package is missing.
# Usage: tools/deps.sh [build|test|bench|fuzz]   (test = build + what the test suite needs;
# bench = test + the load generator; fuzz = test + clang with libFuzzer)
set -eu

BUILD="gcc make pkg-config libuv1-dev liblmdb-dev libmsgpack-dev libcurl4-openssl-dev
libhttp-parser-dev libsodium-dev zlib1g-dev libjansson-dev"
# the browser tests: Debian's chromium driven by playwright-core (from npm) on Node.js, and a
# font with Japanese glyphs for their screenshots
TEST="libcmocka-dev python3-msgpack lmdb-utils curl faketime chromium nodejs fonts-noto-cjk"
BENCH="wrk"
FUZZ="clang libclang-rt-14-dev"  # Debian 12: clang 14; its libFuzzer is only recommended

want=$BUILD
[ "${1:-test}" = test ] && want="$BUILD $TEST"
[ "${1:-test}" = bench ] && want="$BUILD $TEST $BENCH"
[ "${1:-test}" = fuzz ] && want="$BUILD $TEST $FUZZ"

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
# npm comes with some builds of nodejs and separately with Debian's
case " $want " in
*" nodejs "*) command -v npm >/dev/null 2>&1 || missing="$missing npm" ;;
esac
[ -z "$missing" ] && exit 0

echo "deps: installing:$missing" >&2
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# update when the package lists are absent or older than a day
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -n 1)" ]; then
    $SUDO apt-get update -qq >&2
fi
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
