#!/bin/bash
# The golden vectors of tests/data, read by an independent implementation: python3-msgpack
# checks each vector's layout (tests/data/README.md) and hashlib recomputes every run's op hash
# chain. Needs /usr/bin/python3 with the msgpack module (Debian's python3-msgpack); the python
# on PATH may be another one.
. "$(dirname "$0")/../lib.sh"

SRC=${RELIEF_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
PY=/usr/bin/python3

if ! "$PY" -c 'import msgpack' 2>/dev/null; then
    not_ok "python3-msgpack available" "$PY cannot import msgpack"
    exit 0
fi
ok "python3-msgpack available"

n=0
for f in "$SRC"/tests/data/*.hex; do
    [ -f "$f" ] || continue
    n=$((n + 1))
    name=$(basename "$f" .hex)
    check "golden $name: layout and hash chain" "$PY" - "$f" <<'PYEOF'
import hashlib
import os
import struct
import sys

import msgpack

path = sys.argv[1]
name = os.path.basename(path)[: -len(".hex")]
raw = bytes.fromhex("".join(open(path).read().split()))


def fail(msg):
    sys.exit(f"{name}: {msg}")


def expect(cond, msg):
    if not cond:
        fail(msg)


def unpack(data):
    # strict_map_key=False: body keys are integers
    return msgpack.unpackb(data, raw=False, strict_map_key=False)


def is_uint(x, bits=64):
    return type(x) is int and 0 <= x < 2 ** bits


def check_minimal(obj, data, what):
    """Encodings are minimal: repacking what was read gives the same bytes."""
    again = msgpack.packb(obj, use_bin_type=True)
    expect(again == data, f"{what} is not minimally encoded: {data.hex()} vs {again.hex()}")


def check_payload(p, data, what):
    expect(type(p) is list and len(p) >= 4, f"{what}: not a list of at least 4")
    hlc, author, kind, body = p[:4]
    expect(is_uint(hlc), f"{what}: hlc {hlc!r} not an unsigned int")
    expect(type(author) is str and len(author.encode()) <= 256, f"{what}: author {author!r}")
    expect(type(kind) is int and 1 <= kind <= 65535, f"{what}: kind {kind!r} out of 1..65535")
    expect(type(body) is dict, f"{what}: body {body!r} not a map")
    expect(all(type(k) is int for k in body), f"{what}: body keys {list(body)} not ints")
    expect(len(data) <= 64 * 1024, f"{what}: longer than PROTO_MAX_OP_BYTES")
    check_minimal(p, data, what)


def op_hash(origin, seq, prev, payload):
    h = hashlib.blake2b(digest_size=16)
    h.update(struct.pack(">QQ", origin, seq))
    h.update(prev)
    h.update(payload)
    return h.digest()


def read_runs(data):
    """The runs of a batch with each payload's exact bytes, sliced with Unpacker.tell()."""
    u = msgpack.Unpacker(raw=False, strict_map_key=False)
    u.feed(data)
    nruns = u.read_array_header()
    runs = []
    for r in range(nruns):
        expect(u.read_array_header() == 5, f"run {r}: not 5 elements")
        origin, first_seq, prev, last = u.unpack(), u.unpack(), u.unpack(), u.unpack()
        nops = u.read_array_header()
        payloads = []
        for i in range(nops):
            start = u.tell()
            p = u.unpack()
            payloads.append((p, data[start : u.tell()]))
        runs.append((origin, first_seq, prev, last, payloads))
    expect(u.tell() == len(data), "trailing bytes")
    return runs


obj = unpack(raw)
check_minimal(obj, raw, "the vector")

if name.startswith("op_"):
    check_payload(obj, raw, "op")
    if name == "op_node":
        expect(obj == [(1790000000000 << 16) | 3, "aiko", 1, {1: "Sendai shelter 3"}],
               f"op_node reads {obj!r}")
    if name == "op_unknown_kind":
        expect(len(obj) == 6 and obj[4] is None and obj[5] == b"\x01\x02",
               f"elements after the body: {obj[4:]!r}")
        expect(obj[2] == 4242, "kind")

elif name.startswith("batch_"):
    expect(type(obj) is list, "batch is not a list of runs")
    runs = read_runs(raw)
    expect(len(runs) == len(obj) and len(runs) >= 1, "runs")
    for r, (run, parsed) in enumerate(zip(obj, runs)):
        expect(type(run) is list and len(run) == 5, f"run {r}: not a list of 5")
        origin, first_seq, prev, last, ops = run
        expect(is_uint(origin), f"run {r}: origin {origin!r}")
        expect(is_uint(first_seq) and first_seq >= 1, f"run {r}: first_seq {first_seq!r}")
        expect(type(prev) is bytes and len(prev) == 16, f"run {r}: prev not 16 bytes")
        expect(type(last) is bytes and len(last) == 16, f"run {r}: last not 16 bytes")
        expect(first_seq != 1 or prev == bytes(16), f"run {r}: prev of seq 1 not zero")
        expect(type(ops) is list and len(ops) >= 1, f"run {r}: ops not a non-empty list")
        h = prev
        for i, (p, data) in enumerate(parsed[4]):
            expect(p == ops[i], f"run {r} op {i}: sliced payload differs")
            check_payload(p, data, f"run {r} op {i}")
            # slicing and repacking agree, so either gives the hashed bytes
            expect(msgpack.packb(p, use_bin_type=True) == data, f"run {r} op {i}: bytes")
            h = op_hash(origin, first_seq + i, h, data)
        expect(h == last, f"run {r}: chain ends at {h.hex()}, last is {last.hex()}")
    if name == "batch_two_runs":
        expect([(x[0], x[1], len(x[4])) for x in obj] ==
               [(0x1111222233334444, 1, 2), (0x9A3F00C0FFEE0001, 5, 1)], "runs of the README")
        expect(obj[1][2] == bytes(range(16)), "run 1 prev")
        # the vector's runs match vv_two's entries
        vv = unpack(bytes.fromhex("".join(open(os.path.join(os.path.dirname(path),
                                                            "vv_two.hex")).read().split())))
        expect(vv == [[o, s + len(ops) - 1, last] for o, s, _, last, ops in obj],
               "vv_two does not hold the batch's last hashes")

elif name.startswith("vv_"):
    expect(type(obj) is list, "vector is not a list")
    prev_origin = -1
    for i, e in enumerate(obj):
        expect(type(e) is list and len(e) == 3, f"entry {i}: not a list of 3")
        origin, seq, h = e
        expect(is_uint(origin) and origin > prev_origin, f"entry {i}: origin not ascending")
        expect(is_uint(seq) and seq >= 1, f"entry {i}: seq {seq!r}")
        expect(type(h) is bytes and len(h) == 16, f"entry {i}: hash not 16 bytes")
        prev_origin = origin

else:
    fail("unknown kind of vector (name it op_*, batch_* or vv_*)")
PYEOF
done

if [ "$n" -ge 4 ]; then ok "golden vectors found ($n)"; else not_ok "golden vectors found" "only $n in $SRC/tests/data"; fi

# The checker must be able to fail: a changed payload byte breaks the chain.
bad="$T/batch_tampered.hex"
sed '3s/b053656e/b073656e/' "$SRC/tests/data/batch_two_runs.hex" >"$bad"
if cmp -s "$bad" "$SRC/tests/data/batch_two_runs.hex"; then
    not_ok "a tampered batch is noticed" "sed changed nothing"
else
    out=$("$PY" - "$bad" <<'PYEOF' 2>&1
import hashlib, struct, sys
import msgpack
raw = bytes.fromhex("".join(open(sys.argv[1]).read().split()))
u = msgpack.Unpacker(raw=False, strict_map_key=False)
u.feed(raw)
for r in range(u.read_array_header()):
    u.read_array_header()
    origin, seq, h, last = u.unpack(), u.unpack(), u.unpack(), u.unpack()
    for i in range(u.read_array_header()):
        s = u.tell()
        u.skip()
        h = hashlib.blake2b(struct.pack(">QQ", origin, seq + i) + h + raw[s:u.tell()],
                            digest_size=16).digest()
    if h != last:
        sys.exit(f"run {r}: chain broken")
PYEOF
)
    check_match "a tampered batch is noticed" "$out" "run 0: chain broken"
fi
