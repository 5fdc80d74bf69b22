#!/bin/sh
# Rebuilds the worked examples of proto/PROTOCOL.md and cross-checks them:
# relief's C encoders (examples.c) against python3-msgpack + hashlib (xcheck.py), and the state
# digests of relief's store (digest_example.c) against those xcheck.py computes from the bytes.
# Run from the top of the repository: sh tools/protocol/run.sh [--annotate]
# Exits non-zero on any mismatch.
set -eu
make -s -j2 build/libproto.a build/librelief.a
CF="-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -I."
cc $CF tools/protocol/examples.c build/libproto.a -lmsgpackc -lsodium -o build/protocol_examples
cc $CF tools/protocol/digest_example.c build/librelief.a build/libproto.a \
    -llmdb -lmsgpackc -lsodium -ljansson -o build/protocol_digest
./build/protocol_examples > build/protocol_examples.txt
/usr/bin/python3 tools/protocol/xcheck.py --digest relief/store.c "$@" \
    < build/protocol_examples.txt > build/protocol_xcheck.txt || { cat build/protocol_xcheck.txt; exit 1; }
cat build/protocol_xcheck.txt
bad=0
for ex in batch_a1 batch_a123; do
    want=$(sed -n "s/^digest $ex //p" build/protocol_xcheck.txt)
    got=$(sed -n "s/^$ex //p" build/protocol_examples.txt | ./build/protocol_digest)
    echo "$ex (relief): $(echo "$got" | tr '\n' ' ')"
    if [ "$(echo "$got" | sed -n 's/^digest //p')" != "$want" ]; then
        echo "MISMATCH digest $ex: relief and xcheck.py differ"
        bad=$((bad + 1))
    fi
done
echo "digests: $bad mismatches"
[ "$bad" -eq 0 ]
