#!/usr/bin/python3
"""Writes the golden vectors of tests/data/*.hex from the fixed inputs below.

An implementation independent of relief's C code (python3-msgpack and hashlib) makes the bytes;
tests/unit/test_proto.c checks that the C encoder gives the same bytes from the same inputs and
that the C decoder reads the same inputs back. Run it from anywhere with /usr/bin/python3; the
output must not change unless the wire format does (see README.md).
"""
import hashlib
import os
import struct

import msgpack

HERE = os.path.dirname(os.path.abspath(__file__))

# Fixed inputs; test_proto.c repeats them.
HLC_A = (1790000000000 << 16) | 3
HLC_B = (1790000000500 << 16)
ORIGIN_A = 0x1111222233334444
ORIGIN_B = 0x9A3F00C0FFEE0001
PREV_B = bytes(range(16))  # the hash of origin B's op 4, which the batch does not carry
ZERO = bytes(16)

OP_NODE = [HLC_A, "aiko", 1, {1: "Sendai shelter 3"}]
OP_A2 = [HLC_A + 1, "aiko", 4242, {1: 7}]
OP_B5 = [HLC_B, "ken", 1, {1: "Ishinomaki depot"}]
# an unknown kind, a body with nested values and two elements after the body (a nil signature
# slot and a bin) that a newer version might add
OP_UNKNOWN = [HLC_B + 9, "ken", 4242, {1: 7, 9: [1, -2, "x"]}, None, b"\x01\x02"]


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def op_hash(origin, seq, prev, payload):
    h = hashlib.blake2b(digest_size=16)
    h.update(struct.pack(">QQ", origin, seq))
    h.update(prev)
    h.update(payload)
    return h.digest()


def run(origin, first_seq, prev, ops):
    """A run's bytes and its last hash. Payloads are embedded as their exact bytes."""
    last = prev
    payloads = [pack(o) for o in ops]
    for i, p in enumerate(payloads):
        last = op_hash(origin, first_seq + i, last, p)
    head = pack(origin) + pack(first_seq) + pack(prev) + pack(last)
    ops_hdr = pack([None] * len(ops))[: -len(ops)]  # just the array header
    return b"\x95" + head + ops_hdr + b"".join(payloads), last


def write(name, data):
    hx = data.hex()
    lines = [hx[i : i + 64] for i in range(0, len(hx), 64)]
    with open(os.path.join(HERE, name), "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    write("op_node.hex", pack(OP_NODE))
    write("op_unknown_kind.hex", pack(OP_UNKNOWN))
    run_a, last_a = run(ORIGIN_A, 1, ZERO, [OP_NODE, OP_A2])
    run_b, last_b = run(ORIGIN_B, 5, PREV_B, [OP_B5])
    write("batch_two_runs.hex", b"\x92" + run_a + run_b)
    write("vv_two.hex", pack([[ORIGIN_A, 2, last_a], [ORIGIN_B, 5, last_b]]))


if __name__ == "__main__":
    main()
