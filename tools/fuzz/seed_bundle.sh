#!/bin/sh
# Writes seed bundles for fuzz_bundle into DIR (default tools/fuzz/corpus/bundle), made by the
# real CLI from nodes of the fuzz network (tools/fuzz/fuzznode.c): the demo's ops, ops for a
# node that has some of them already (so they start past a gap for the fuzz node), one op,
# an empty bundle, and one of another network (refused).
#   sh tools/fuzz/seed_bundle.sh BUILD_DIR [DIR]
set -eu
B=$(cd "${1:-build}" && pwd)/relief
D=${2:-tools/fuzz/corpus/bundle}
NET=72656c6965662066757a7a206e657400
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$D"
"$B" --data "$T/a" init --name a --network $NET >/dev/null
"$B" --data "$T/b" init --name b --network $NET >/dev/null
"$B" --data "$T/other" init --name other >/dev/null
"$B" --data "$T/a" bundle create "$T/empty" >/dev/null 2>&1
"$B" --data "$T/a" demo >/dev/null 2>&1
"$B" --data "$T/a" bundle create "$T/demo" >/dev/null 2>&1
"$B" --data "$T/b" bundle apply "$T/demo" >/dev/null 2>&1
"$B" --json --data "$T/b" status >"$T/b.json"
"$B" --data "$T/a" stock receive --site WH-ISH --item blanket --qty 7 --by fuzz >/dev/null
"$B" --data "$T/a" site set ISH-MINATO --occupancy 420 >/dev/null
"$B" --data "$T/a" bundle create "$T/since" --for "$T/b.json" >/dev/null 2>&1
"$B" --data "$T/other" demo >/dev/null 2>&1
"$B" --data "$T/other" bundle create "$T/foreign" >/dev/null 2>&1
for f in empty demo since foreign; do
    cp "$T/$f" "$D/$(sha1sum "$T/$f" | cut -c1-40)"
done
echo "seed bundles written to $D"
