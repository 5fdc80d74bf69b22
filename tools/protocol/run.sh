#!/bin/sh
# Rebuilds the worked examples of proto/PROTOCOL.md and cross-checks them:
# relief's C encoders (examples.c) against python3-msgpack + hashlib (xcheck.py), and the state
# digest of relief's store (digest_example.c) against the one xcheck.py computes from the bytes.
# Run from the top of the repository: sh tools/protocol/run.sh [--annotate]
set -eu
make -s -j2 build/libproto.a build/librelief.a
CF="-std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -I."
cc $CF tools/protocol/examples.c build/libproto.a -lmsgpackc -lsodium -o build/protocol_examples
cc $CF tools/protocol/digest_example.c build/librelief.a build/libproto.a \
    -llmdb -lmsgpackc -lsodium -ljansson -o build/protocol_digest
./build/protocol_examples > build/protocol_examples.txt
/usr/bin/python3 tools/protocol/xcheck.py --digest relief/store.c "$@" < build/protocol_examples.txt
sed -n 's/^batch_a1 //p' build/protocol_examples.txt | ./build/protocol_digest
