#!/usr/bin/python3
"""Writes seed inputs for fuzz_batch into the directory given (default tools/fuzz/corpus/batch).

Valid batches of several shapes (built with python3-msgpack and hashlib, independently of the
C code), version vectors, and edge cases: allocation bombs, nesting at and past the depth
limit, broken chains, non-minimal headers, extra run elements. libFuzzer mutates from these;
`-merge=1` then keeps only the inputs that add coverage.
"""
import hashlib
import os
import struct
import sys

import msgpack


def pack(o):
    return msgpack.packb(o, use_bin_type=True)


def op_hash(origin, seq, prev, payload):
    h = hashlib.blake2b(digest_size=16)
    h.update(struct.pack(">QQ", origin, seq) + prev + payload)
    return h.digest()


def run(origin, first_seq, prev, payloads, extra=b"", nelem=5):
    last = prev
    for i, p in enumerate(payloads):
        last = op_hash(origin, first_seq + i, last, p)
    ops_hdr = pack([None] * len(payloads))[: -len(payloads)] if payloads else b"\x90"
    return (pack([None] * nelem)[:-nelem] + pack(origin) + pack(first_seq) + pack(prev)
            + pack(last) + ops_hdr + b"".join(payloads) + extra), last


def batch(runs):
    return pack([None] * len(runs))[: -len(runs)] if runs else b"\x90", b"".join(runs)


def join(runs):
    hdr, body = batch(runs)
    return hdr + body


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__),
                                                             "corpus", "batch")
    os.makedirs(out, exist_ok=True)
    seeds = {}
    z = bytes(16)
    hlc = 1790000000000 << 16
    node = pack([hlc, "aiko", 1, {1: "Sendai shelter 3"}])
    unknown = pack([hlc + 1, "ken", 4242, {1: 7, 9: [1, -2, "x", 1.5, None, True]}, None,
                    b"\x01\x02"])
    minimal = bytes([0x94, 0x00, 0xa0, 0x01, 0x80])
    r1, l1 = run(0x1111222233334444, 1, z, [node, unknown, minimal])
    r2, l2 = run(0x9A3F00C0FFEE0001, 5, bytes(range(16)), [node])
    r3, _ = run(3, 1, z, [minimal] * 20)
    seeds["batch_empty"] = b"\x90"
    seeds["batch_one_run"] = join([r1])
    seeds["batch_three_runs"] = join([r1, r2, r3])
    seeds["batch_run_extra_elements"] = join([run(7, 1, z, [node], extra=b"\xc0\x91\x01",
                                                  nelem=7)[0]])
    # headers that are not minimal (str32, array32, uint64 of a small value)
    wide = bytes([0xdd, 0, 0, 0, 4, 0xcf] + [0] * 7 + [1] + [0xdb, 0, 0, 0, 1, 0x61, 0x01,
                                                             0xdf, 0, 0, 0, 0])
    seeds["batch_wide_headers"] = join([run(9, 1, z, [wide])[0]])
    deep_ok = bytes([0x94, 0, 0xa0, 0x01]) + b"\x81\x01" * 7 + b"\x80"
    deep_bad = bytes([0x94, 0, 0xa0, 0x01]) + b"\x81\x01" * 8 + b"\x80"
    seeds["batch_depth_12"] = join([run(1, 1, z, [deep_ok])[0]])
    seeds["batch_depth_13"] = join([run(1, 1, z, [deep_bad])[0]])
    bad = bytearray(join([r1, r2]))
    bad[-3] ^= 1
    seeds["batch_chain_broken"] = bytes(bad)
    seeds["batch_prev_nonzero_seq1"] = join([run(1, 1, b"\x01" * 16, [minimal])[0]])
    seeds["batch_seq_overflow"] = join([run(1, 2**64 - 1, z, [minimal])[0]])
    seeds["bomb_array32"] = bytes.fromhex("dd0fffffff01")
    seeds["bomb_map32"] = bytes.fromhex("df0fffffff01")
    seeds["bomb_str32"] = bytes.fromhex("dbffffffff01")
    seeds["bomb_bin32"] = bytes.fromhex("c6ffffffff01")
    seeds["bomb_ext32"] = bytes.fromhex("c9ffffffff0101")
    seeds["bomb_ops"] = bytes.fromhex("9195010" + "1c410" + "00" * 16 + "c410" + "00" * 16
                                      + "dd0fffffff01")
    seeds["vv_two"] = pack([[0x1111222233334444, 3, l1], [0x9A3F00C0FFEE0001, 5, l2]])
    seeds["vv_empty"] = b"\x90"
    seeds["vv_not_ascending"] = pack([[5, 1, z], [5, 2, z]])
    seeds["mp_every_type"] = pack([None, True, False, -1, -200, 2**63, 1.5, "s", b"b",
                                   msgpack.ExtType(5, b"xy"), {1: [2]}, "x" * 40, b"y" * 300])
    seeds["mp_fixext"] = bytes.fromhex("95d401aad501aabbd601aabbccddd70100010203040506"
                                       "07d8010001020304050607080900010203040506")
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
