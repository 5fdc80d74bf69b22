#!/usr/bin/python3
"""Hold N idle TCP connections open to HOST:PORT (never sending a byte), re-opening any the
server closes, and write a status line to STATUS every half second:
"open N opened_total M closed_by_server K failed_connects F".
  holder.py HOST PORT N STATUS
"""
import os, socket, sys, time

host, port, n, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
socks = []
opened = closed = failed = 0

def connect():
    global opened, failed
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((host, port))
    except OSError:
        failed += 1
        s.close()
        return None
    s.setblocking(False)
    opened += 1
    return s

while len(socks) < n:
    s = connect()
    if s:
        socks.append(s)
    elif failed > n:
        break
while True:
    for i, s in enumerate(socks):
        if s is None:
            socks[i] = connect()
            continue
        try:
            d = s.recv(4096)
            gone = (d == b"")  # EOF: the server closed it (any data is a 408/503 answer)
            if d:
                gone = True
        except BlockingIOError:
            gone = False
        except OSError:
            gone = True
        if gone:
            closed += 1
            s.close()
            ns = connect()
            socks[i] = ns
    live = sum(1 for s in socks if s is not None)
    tmp = status + ".tmp"
    with open(tmp, "w") as f:
        f.write("open %d opened_total %d closed_by_server %d failed_connects %d\n"
                % (live, opened, closed, failed))
    os.replace(tmp, status)
    time.sleep(0.5)
