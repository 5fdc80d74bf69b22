#!/usr/bin/python3
"""Writes seed inputs for fuzz_http and fuzz_api.

  seed_http.py BUILD_DIR [HTTP_DIR [API_DIR]]   (default tools/fuzz/corpus/http, .../api)

http: hand-written requests of many shapes (every read path, writes, HEAD, chunked bodies,
Expect: 100-continue, pipelining, bad framing, oversized headers), plus the real requests of a
`relief sync` (info, pull, push) recorded through a small proxy between two real nodes of the
fuzz network. api: one file per write endpoint, the endpoint's index byte and then a body as
relief/API.md documents it ($n $s $d $t $m stand for a need, shift, donation, transfer and
movement id; fuzz_api.c puts real ones in). libFuzzer mutates from these; `-merge=1` keeps
what adds coverage.
"""
import hashlib
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time

NETWORK = "72656c6965662066757a7a206e657400"  # fuzznode.c's


def save(d, data):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)


def req(method, path, body=b"", headers=(), ct="application/json"):
    h = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if body or method in ("POST", "PATCH"):
        h.append(f"Content-Type: {ct}")
        h.append(f"Content-Length: {len(body)}")
    h.extend(headers)
    return ("\r\n".join(h) + "\r\n\r\n").encode() + body


def chunked(method, path, body, ct="application/json"):
    out = [f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {ct}\r\n"
           "Transfer-Encoding: chunked\r\n\r\n".encode()]
    for i in range(0, len(body), 7):
        part = body[i:i + 7]
        out.append(b"%x\r\n" % len(part) + part + b"\r\n")
    out.append(b"0\r\n\r\n")
    return b"".join(out)


READS = ["/api/v1/status", "/api/v1/sites?kind=centre", "/api/v1/sites/ISH-MINATO",
         "/api/v1/stock?site=WH-ISH&item=blanket", "/api/v1/stock/totals",
         "/api/v1/movements?site=ISH-WATANOHA&limit=5&offset=1", "/api/v1/movements?kind=dispatch&open=1",
         "/api/v1/needs?open=1", "/api/v1/shifts?short=1", "/api/v1/donations",
         "/api/v1/alerts", "/api/v1/conflicts", "/api/v1/peers", "/api/v1/items",
         "/api/v1/reports/needs?format=hxl", "/api/v1/reports/stock?format=csv",
         "/api/v1/reports/shifts?format=json", "/api/v1/reports/donations",
         "/", "/js/app.js", "/i18n/ja.json", "/healthz", "/sync/v1/info", "/nothing",
         "/api/v1/sites?limit=abc", "/api/v1/needs?x=1", "/%2e%2e/etc/passwd", "/api/v1/sites/%E6%B9%8A"]

WRITES = [  # (method, path, body) -- index = the endpoint byte of fuzz_api
    ("POST", "/api/v1/sites", '{"kind":"centre","name":"門脇中学校","code":"ISH-KADO","capacity":300,"languages":["ja","tl"],"lat":38.42,"lon":141.3}'),
    ("PATCH", "/api/v1/sites/ISH-MINATO", '{"occupancy":580,"by":"fuzz"}'),
    ("POST", "/api/v1/items", '{"code":"towel","name":"Towel / タオル","unit":"piece","category":"hygiene"}'),
    ("PATCH", "/api/v1/items/blanket", '{"name":"Blanket","archived":false}'),
    ("POST", "/api/v1/stock/receive", '{"site":"WH-ISH","item":"blanket","qty":40,"from":"Kobe Red Cross","lot":"L1","expiry":"2027-01-31"}'),
    ("POST", "/api/v1/stock/dispatch", '{"from":"WH-ISH","to":"ISH-WATANOHA","item":"blanket","qty":30}'),
    ("POST", "/api/v1/stock/arrive", '{"transfer":"$t","qty":29}'),
    ("POST", "/api/v1/stock/distribute", '{"site":"ISH-MINATO","item":"rice-5kg","qty":10,"need":"$n"}'),
    ("POST", "/api/v1/stock/adjust", '{"site":"ISH-MINATO","item":"rice-5kg","qty":"-2","reason":"damaged"}'),
    ("POST", "/api/v1/stock/count", '{"site":"ISH-MINATO","item":"rice-5kg","qty":12}'),
    ("POST", "/api/v1/stock/void", '{"movement":"$m","reason":"typo"}'),
    ("POST", "/api/v1/needs", '{"site":"ISH-MINATO","item":"blanket","qty":500,"priority":"high","due":"2026-12-01","note":"night"}'),
    ("PATCH", "/api/v1/needs/$n", '{"qty":300}'),
    ("POST", "/api/v1/shifts", '{"site":"KIT-MINATO","start":"2026-12-01T17:00","end":"2026-12-01T20:00","slots":3,"role":"cooking","meals":100}'),
    ("PATCH", "/api/v1/shifts/$s", '{"slots":1}'),
    ("POST", "/api/v1/shifts/$s/signup", '{"volunteer":"Ana","contact":"ana@example.org"}'),
    ("POST", "/api/v1/shifts/$s/cancel", '{"volunteer":"Jose Reyes"}'),
    ("POST", "/api/v1/shifts/$s/served", '{"meals":120}'),
    ("POST", "/api/v1/donations", '{"donor":"Sendai Lions","to":"SCH-SOL","amount":50000,"currency":"JPY","contact":"x@example.org"}'),
    ("PATCH", "/api/v1/donations/$d", '{"note":"delivered by van"}'),
]


def handwritten(d):
    for p in READS:
        save(d, req("GET", p))
    save(d, req("HEAD", "/api/v1/status"))
    save(d, req("GET", "/", headers=["If-None-Match: \"x\"", "Accept-Encoding: gzip"]))
    for m, p, b in WRITES:
        save(d, req(m, p.replace("$", ""), b.encode(), headers=["Origin: http://127.0.0.1"]))
    save(d, chunked("POST", "/api/v1/stock/receive", WRITES[4][2].encode()))
    save(d, req("POST", "/api/v1/stock/receive", WRITES[4][2].encode(), headers=["Expect: 100-continue"]))
    save(d, req("GET", "/api/v1/status") + req("GET", "/api/v1/sites") + req("HEAD", "/"))
    save(d, req("POST", "/api/v1/stock/receive", b'{"site":', headers=["Connection: close"]))
    save(d, req("POST", "/api/v1/stock/receive", b"site=WH-ISH", ct="application/x-www-form-urlencoded"))
    save(d, req("DELETE", "/api/v1/sites"))
    save(d, req("GET", "/api/v1/status", headers=["Authorization: Bearer abc"]))
    save(d, req("GET", "/api/v1/status", headers=["X-Forwarded-For: 10.0.0.1"]))
    save(d, b"GET /api/v1/status HTTP/1.0\r\n\r\n")
    save(d, b"GET / HTTP/1.1\r\nHost: evil.example\r\n\r\n")
    save(d, b"POST /api/v1/items HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!")
    save(d, b"GET / HTTP/1.1\r\n" + b"X-A: " + b"a" * 17000 + b"\r\n\r\n")
    save(d, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffff\r\n")


def read_message(sock):
    """One HTTP message from sock: its headers, then Content-Length bytes (None at EOF)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    n = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            n = int(line.split(b":")[1])
    while len(body) < n:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        body += chunk
    return head + b"\r\n\r\n" + body


class Recorder:
    """A proxy that saves each request a client sends (split on the server's answers)."""

    def __init__(self, target_port, out):
        self.target_port, self.out = target_port, out
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            c, _ = self.sock.accept()
            threading.Thread(target=self.pipe, args=(c,), daemon=True).start()

    def pipe(self, c):
        s = socket.create_connection(("127.0.0.1", self.target_port))
        c.settimeout(5)
        s.settimeout(5)
        while True:
            try:
                request = read_message(c)
                if request is None:
                    return
                self.out.append(request)
                s.sendall(request)
                answer = read_message(s)
                if answer is None:
                    return
                c.sendall(answer)
            except (OSError, ValueError):
                return


def recorded(build, d):
    relief = os.path.join(build, "relief")
    with tempfile.TemporaryDirectory() as tmp:
        a, b = os.path.join(tmp, "a"), os.path.join(tmp, "b")
        for node in (a, b):
            subprocess.run([relief, "--data", node, "init", "--name", os.path.basename(node),
                            "--network", NETWORK], check=True, capture_output=True)
        subprocess.run([relief, "--data", a, "demo"], check=True, capture_output=True)
        srv = subprocess.Popen([relief, "--data", b, "serve", "--listen", "127.0.0.1:0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            port = int(srv.stdout.readline().strip().rsplit(":", 1)[1])
            reqs = []
            rec = Recorder(port, reqs)
            subprocess.run([relief, "--data", a, "sync", f"http://127.0.0.1:{rec.port}"],
                           check=True, capture_output=True, timeout=30)
            subprocess.run([relief, "--data", a, "stock", "receive", "--site", "WH-ISH",
                            "--item", "blanket", "--qty", "5"], check=True, capture_output=True)
            subprocess.run([relief, "--data", a, "sync", f"http://127.0.0.1:{rec.port}"],
                           check=True, capture_output=True, timeout=30)
            for r in reqs:
                # the proxy's Host is as good as any: the server checks only the name
                save(d, r)
            return len(reqs)
        finally:
            srv.terminate()
            srv.wait()


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else "build"
    http = sys.argv[2] if len(sys.argv) > 2 else "tools/fuzz/corpus/http"
    api = sys.argv[3] if len(sys.argv) > 3 else "tools/fuzz/corpus/api"
    handwritten(http)
    n = recorded(build, http)
    for i, (_, _, body) in enumerate(WRITES):
        save(api, bytes([i]) + body.encode())
    save(api, bytes([4]) + b'{"site":"WH-ISH","item":"blanket","qty":0}')
    save(api, bytes([4]) + b'{"site":"WH-ISH","item":"blanket","qty":1,"colour":"red"}')
    save(api, bytes([0]) + b'{"kind":"centre","name":"' + "避".encode() * 100 + b'"}')
    print(f"seeds written ({n} recorded sync requests)")


if __name__ == "__main__":
    main()
