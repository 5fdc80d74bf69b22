#!/usr/bin/python3
"""Cross-checks the worked examples of proto/PROTOCOL.md.

Reads the "name hex" lines that tools/protocol/examples.c prints (relief's C encoders) on stdin,
rebuilds every example independently with python3-msgpack and hashlib.blake2b, and fails when
a byte differs. With --annotate it prints each example as an annotated msgpack dump (the
layout used in PROTOCOL.md). With --digest relief/store.c it prints the state digests of the
batch_a1 and batch_a123 examples, each applied to a node without ops, computed from the bytes
alone and the database names in relief/store.c (run.sh compares them with
tools/protocol/digest_example.c, which applies the same bytes to a real store).

    ./build/protocol_examples | /usr/bin/python3 tools/protocol/xcheck.py [--annotate] \
        [--digest relief/store.c]
"""
import hashlib
import struct
import sys

import msgpack

HLC_A = (1790000000000 << 16) | 3
HLC_B = 1790000000500 << 16
ORIGIN_A = 0x1111222233334444
ORIGIN_B = 0x9A3F00C0FFEE0001
SITE = 0x5E1DA1C0FFEE0007
ZERO = bytes(16)
PREV_B = bytes(range(16))
NET = bytes.fromhex("6c1f0e5a93424b278d10c47e2b5501a9")


def pack(o):
    return msgpack.packb(o, use_bin_type=True)


def op_hash(origin, seq, prev, payload):
    h = hashlib.blake2b(digest_size=16)
    h.update(struct.pack(">QQ", origin, seq) + prev + payload)
    return h.digest()


def raw_array(items):
    """An array header followed by already-encoded elements."""
    return pack([None] * len(items))[: -len(items)] + b"".join(items) if items else b"\x90"


def batch(runs):
    """runs: [(origin, first_seq, prev, [payload bytes])] -> bytes, [last hash per run]."""
    out, lasts = [], []
    for origin, first, prev, payloads in runs:
        last = prev
        for i, p in enumerate(payloads):
            last = op_hash(origin, first + i, last, p)
        lasts.append(last)
        out.append(
            b"\x95" + pack(origin) + pack(first) + pack(prev) + pack(last) + raw_array(payloads)
        )
    return raw_array(out), lasts


def build():
    ex = {}
    a1 = pack([HLC_A, "aiko", 1, {1: "Sendai shelter 3"}])
    a2 = pack([HLC_A + 1, "aiko", 4242, {1: 7}])
    b5 = pack([HLC_B, "ken", 1, {1: "Ishinomaki depot"}])
    h1 = op_hash(ORIGIN_A, 1, ZERO, a1)
    h2 = op_hash(ORIGIN_A, 2, h1, a2)
    hb = op_hash(ORIGIN_B, 5, PREV_B, b5)
    rcv = pack(
        [HLC_A + 2, "aiko", 30,
         {1: SITE, 2: "rice-5kg", 3: 120, 4: "L-0311", 5: 20742, 7: [ORIGIN_B, 9]}]
    )
    ex.update(op_a1=a1, hash_a1=h1, op_a2=a2, hash_a2=h2, op_b5=b5, hash_b5=hb,
              op_receive=rcv, hash_receive=op_hash(ORIGIN_A, 3, h2, rcv))
    ex["batch"], _ = batch([(ORIGIN_A, 1, ZERO, [a1, a2]), (ORIGIN_B, 5, PREV_B, [b5])])
    ex["batch_a1"], _ = batch([(ORIGIN_A, 1, ZERO, [a1])])
    ex["batch_a123"], _ = batch([(ORIGIN_A, 1, ZERO, [a1, a2, rcv])])
    vv_server = [[ORIGIN_A, 2, h2]]
    ex["vv"] = pack([[ORIGIN_A, 2, h2], [ORIGIN_B, 5, hb]])
    # msg bodies: maps with integer keys; a batch is embedded as its bytes
    m = lambda pairs: b"".join([pack({}) [:0] + bytes([0x80 | len(pairs)])] +
                               [pack(k) + v for k, v in pairs])
    ex["pull_req"] = m([(1, pack(NET)), (2, pack([[ORIGIN_A, 1, h1]])), (3, pack(500)),
                        (4, pack(65536))])
    page, _ = batch([(ORIGIN_A, 2, h1, [a2])])
    ex["pull_resp"] = m([(1, pack(NET)), (2, page), (3, pack(False)), (4, pack(vv_server))])
    ex["push_req"] = m([(1, pack(NET)), (2, page)])
    ex["push_resp"] = m([(1, pack(NET)), (2, pack(vv_server)), (3, pack([1, 0, 0, 0, 0]))])
    ex["info"] = m([(1, pack(NET)), (2, pack(1)), (3, pack(ORIGIN_A)), (4, pack("sendai-3")),
                    (5, pack(vv_server)), (6, pack(16 * 1024 * 1024)), (7, pack(16384))])
    msg = ("peer belongs to relief network %s, this node to %s: refusing to merge two networks"
           % ((b"\xbb" + bytes(15)).hex(), NET.hex()))
    ex["error"] = pack({1: "PROTO_ENETWORK", 2: msg})
    return ex


def digest_dbs(store_c):
    """The databases of the state digest, in enum order, as relief/store.c's dbs[] lists them."""
    import re
    src = open(store_c).read()
    return [n for n, d in re.findall(r'\[RL_DB_\w+\] = \{"(\w+)", (\d)[,}]', src) if d == "1"]


def u64(*v):
    return struct.pack(">%dQ" % len(v), *v)


def s8(s):
    """A string inside a key: its length in one byte, then its bytes."""
    return bytes([len(s)]) + s.encode()


def state_a1():
    """The digest databases after batch_a1 (origin A's op 1, kind node): only nodes."""
    return {"nodes": {u64(ORIGIN_A): u64(1) + "Sendai shelter 3".encode()}}


def item_hash(code):
    """The shelf index's ih: 32-bit FNV-1a of the item code folded to 16 bits (high half xor
    low half), big-endian."""
    h = 2166136261
    for c in code.encode():
        h = ((h ^ c) * 16777619) & 0xFFFFFFFF
    return struct.pack(">H", (h >> 16) ^ (h & 0xFFFF))


def q(n):
    """A quantity in a balance value: zigzag, then LEB128."""
    z = ((n << 1) ^ (n >> 63)) & 0xFFFFFFFFFFFFFFFF
    out = bytearray()
    while z >= 0x80:
        out.append(z & 0x7F | 0x80)
        z >>= 7
    out.append(z)
    return bytes(out)


def state_a123():
    """After batch_a123: A1 (node), A2 (kind 4242, unknown), A3 (stock.receive of 120
    rice-5kg, lot L-0311, expiry day 20742, at SITE, against donation [B, 9])."""
    st = state_a1()
    # the ledger keeps only what a movement applied that differs from the default (none here);
    # shelfmv and donmv hold sorted duplicates: one value per key in this example
    shelf = u64(SITE) + s8("rice-5kg")
    st.update(
        alerts={b"u" + u64(ORIGIN_A) + struct.pack(">I", 4242): u64(1)},
        shelfmv={u64(SITE): u64(ORIGIN_A) + (3).to_bytes(6, "big") + item_hash("rice-5kg")},
        balance={shelf: q(120) + s8("L-0311") + q(120)},
        lots={s8("rice-5kg") + s8("L-0311"): struct.pack(">I", 20742)},
        needfill={b"D" + u64(ORIGIN_B, 9): u64(120)},
        donmv={u64(ORIGIN_B, 9): u64(ORIGIN_A, 3)},
    )
    return st


def digest(store_c, vv, state):
    """relief-digest-10: the VV, then every digest database in enum order, keys sorted."""
    h = hashlib.blake2b(digest_size=32)
    h.update(b"relief-digest-10\x00")
    for origin, seq, hsh in vv:
        h.update(u64(origin, seq) + hsh)
    h.update(b"\xff")
    for name in digest_dbs(store_c):
        h.update(name.encode() + b"\x00")
        for k, v in sorted(state.get(name, {}).items()):
            h.update(struct.pack(">I", len(k)) + k + struct.pack(">I", len(v)) + v)
        h.update(b"\xff\xff\xff\xff")
    return h.hexdigest()


def digests(store_c):
    ex = build()
    h3 = op_hash(ORIGIN_A, 3, ex["hash_a2"], ex["op_receive"])
    return {"batch_a1": digest(store_c, [(ORIGIN_A, 1, ex["hash_a1"])], state_a1()),
            "batch_a123": digest(store_c, [(ORIGIN_A, 3, h3)], state_a123())}


# --- annotated dump -------------------------------------------------------------------------

def annotate(b, indent=0, out=None, pos=0):
    """Walk one msgpack object at b[pos:], appending (offset, hex, depth, text) rows."""
    c = b[pos]
    row = lambda n, text: out.append((pos, b[pos:pos + n].hex(), indent, text))

    def be(off, n):
        return int.from_bytes(b[off:off + n], "big")

    if c <= 0x7F:
        row(1, "uint %d" % c); return pos + 1
    if c >= 0xE0:
        row(1, "int %d" % (c - 256)); return pos + 1
    if 0xCC <= c <= 0xCF:
        n = 1 << (c - 0xCC); row(1 + n, "uint %d" % be(pos + 1, n)); return pos + 1 + n
    if 0xD0 <= c <= 0xD3:
        n = 1 << (c - 0xD0); v = int.from_bytes(b[pos + 1:pos + 1 + n], "big", signed=True)
        row(1 + n, "int %d" % v); return pos + 1 + n
    if c in (0xC0, 0xC2, 0xC3):
        row(1, {0xC0: "nil", 0xC2: "false", 0xC3: "true"}[c]); return pos + 1
    if 0xA0 <= c <= 0xBF or 0xD9 <= c <= 0xDB:
        h, n = (1, c & 0x1F) if c <= 0xBF else (1 + (1 << (c - 0xD9)), be(pos + 1, 1 << (c - 0xD9)))
        s = b[pos + h:pos + h + n].decode()
        row(h + n, "str %d %r" % (n, s if len(s) <= 40 else s[:37] + "..."))
        return pos + h + n
    if 0xC4 <= c <= 0xC6:
        lb = 1 << (c - 0xC4); n = be(pos + 1, lb)
        row(1 + lb + n, "bin %d" % n); return pos + 1 + lb + n
    if 0x90 <= c <= 0x9F or c in (0xDC, 0xDD):
        n, h = (c & 0xF, 1) if c <= 0x9F else (be(pos + 1, 2 if c == 0xDC else 4), 3 if c == 0xDC else 5)
        row(h, "array %d" % n); pos += h
        for _ in range(n):
            pos = annotate(b, indent + 1, out, pos)
        return pos
    if 0x80 <= c <= 0x8F or c in (0xDE, 0xDF):
        n, h = (c & 0xF, 1) if c <= 0x8F else (be(pos + 1, 2 if c == 0xDE else 4), 3 if c == 0xDE else 5)
        row(h, "map %d" % n); pos += h
        for _ in range(n):
            pos = annotate(b, indent + 1, out, pos)
            pos = annotate(b, indent + 1, out, pos)
        return pos
    raise ValueError("byte %02x at %d" % (c, pos))


def dump(b):
    rows = []
    end = annotate(b, 0, rows, 0)
    assert end == len(b)
    for off, hx, ind, text in rows:
        print("%04x  %-36s %s%s" % (off, hx if len(hx) <= 36 else hx[:33] + "...", "  " * ind, text))


def main():
    got = {}
    for line in sys.stdin:
        name, hx = line.split()
        got[name] = bytes.fromhex(hx)
    want = build()
    bad = 0
    for k, v in want.items():
        if got.get(k) != v:
            print("MISMATCH %s\n  C:      %s\n  python: %s" % (k, got.get(k, b"").hex(), v.hex()))
            bad += 1
        else:
            # python reads the C bytes back to the same value
            if not k.startswith("hash"):
                msgpack.unpackb(got[k], raw=False, strict_map_key=False)
    print("%d examples, %d mismatches" % (len(want), bad))
    if "--annotate" in sys.argv:
        for k, v in got.items():
            print("\n== %s (%d bytes)" % (k, len(v)))
            if k.startswith("hash"):
                print(v.hex())
            else:
                dump(v)
    if "--digest" in sys.argv:
        store_c = sys.argv[sys.argv.index("--digest") + 1]
        print("digest databases:", " ".join(digest_dbs(store_c)))
        for name, d in digests(store_c).items():
            print("digest", name, d)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
