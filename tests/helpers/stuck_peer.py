# A sync peer that never moves forward (for test_sync): stuck_peer.py MODE NETWORK_HEX
#   dup_more: every pull answers the same three ops, saying there are more
#   push_stuck: every push is answered "taken", with the same version vector as before
# Prints "port N" once listening on 127.0.0.1 (a port the system picks); counts requests in
# the file named by $STUCK_COUNT if set.
import hashlib, http.server, os, socketserver, struct, sys
import msgpack

mode, net = sys.argv[1], bytes.fromhex(sys.argv[2])
ORIGIN, ZERO = 0x0E0E0E0E0E0E0E0E, b"\0" * 16
hlc = 1767225600000 << 16  # 2026-01-01: the same ops on every start (else a fork)
ops = [msgpack.packb([hlc + i, "stuck", 1, {1: "stuck %d" % i}]) for i in range(3)]
hashes = [ZERO]
for i, op in enumerate(ops):
    hashes.append(hashlib.blake2b(struct.pack(">QQ", ORIGIN, i + 1) + hashes[-1] + op,
                                  digest_size=16).digest())
vv = [[ORIGIN, 3, hashes[3]]]
run = (b"\x95" + msgpack.packb(ORIGIN) + b"\x01" + msgpack.packb(ZERO) +
       msgpack.packb(hashes[3]) + b"\x93" + b"".join(ops))
count = 0


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send(self, body):
        global count
        count += 1
        if os.environ.get("STUCK_COUNT"):
            with open(os.environ["STUCK_COUNT"], "w") as f:
                f.write(str(count))
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.msgpack")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.send(msgpack.packb({1: net, 2: 1, 3: ORIGIN, 4: "stuck", 5: vv, 6: 1 << 24, 7: 16384}))

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path.endswith("/pull"):
            more = mode == "dup_more"
            self.send(b"\x84\x01" + msgpack.packb(net) + b"\x02\x91" + run +
                      b"\x03" + (b"\xc3" if more else b"\xc2") + b"\x04" + msgpack.packb(vv))
        else:
            self.send(msgpack.packb({1: net, 2: vv, 3: [1, 0, 0, 0, 0]}))


class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = S(("127.0.0.1", 0), H)
print("port", srv.server_address[1], flush=True)
srv.serve_forever()
