#!/usr/bin/python3
"""HTTP write load for the crash campaign: THREADS clients POST stock receipts to relief serve
forever, each on its own keep-alive connection, and append to LOG one line per request:
"try TAG" before sending, "ack TAG STATUS" once a 200/201 has been read in full, "err TAG WHAT"
otherwise. With --from, each receipt carries its TAG as "from" so it can be found in the log.
  httpload.py URL LOG [--threads N] [--prefix P] [--from] [--item I] [--site S]
"""
import http.client, json, os, sys, threading, time, argparse

ap = argparse.ArgumentParser()
ap.add_argument("url")
ap.add_argument("log")
ap.add_argument("--threads", type=int, default=4)
ap.add_argument("--prefix", default="h")
ap.add_argument("--from", dest="use_from", action="store_true")
ap.add_argument("--item", default="rice")
ap.add_argument("--site", default="WH")
ap.add_argument("--token", default=os.environ.get("RELIEF_TOKEN", ""))
a = ap.parse_args()

host, port = a.url.split("//", 1)[1].rstrip("/").split(":")
port = int(port)
fd = os.open(a.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
counter = iter(range(10**12))
lock = threading.Lock()

def line(s):
    os.write(fd, (s + "\n").encode())  # one write(2) per line: whole lines even under kill -9

def worker():
    conn = None
    while True:
        with lock:
            n = next(counter)
        tag = "%s%d" % (a.prefix, n)
        body = {"site": a.site, "item": a.item, "qty": 1}
        if a.use_from:
            body["from"] = tag
        data = json.dumps(body)
        hdrs = {"Content-Type": "application/json"}
        if a.token:
            hdrs["Authorization"] = "Bearer " + a.token
        line("try " + tag)
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=30)
            conn.request("POST", "/api/v1/stock/receive", data, hdrs)
            r = conn.getresponse()
            r.read()
            if r.status in (200, 201):
                line("ack %s %d" % (tag, r.status))
            else:
                line("err %s %d" % (tag, r.status))
            if r.getheader("Connection", "").lower() == "close":
                conn.close()
                conn = None
        except Exception as e:  # the server was killed: keep trying until we are killed too
            line("err %s %s" % (tag, type(e).__name__))
            try:
                conn.close()
            except Exception:
                pass
            conn = None
            time.sleep(0.02)

for _ in range(a.threads):
    threading.Thread(target=worker, daemon=True).start()
while True:
    time.sleep(3600)
