#!/bin/bash
# Sync between real relief-net processes on 127.0.0.1: two nodes converge; another network is
# refused; tokens and roles; a chain A-B-C of `relief serve` nodes carries a write from A to C
# with nobody running `relief sync`; five nodes split in two groups heal; kill -9 in the middle
# of a large pull and push loses and doubles nothing; a link that breaks every few kilobytes
# still completes; hostile requests are refused and the server keeps answering; pulls gzip only
# when asked; a sync over pages applied while the next comes, one of them not all taken (a fork),
# still brings every op.
. "$(dirname "$0")/../lib.sh"
RELAY="$BUILD_DIR/tests/flakyrelay"
py() { /usr/bin/python3 -c "$@"; }

digest() { relief --data "$1" digest; }
net_of() { relief --data "$1" --json status | py 'import json,sys; print(json.load(sys.stdin)["network"])'; }

A="$T/a" B="$T/b" C="$T/c"
relief --data "$A" init --name A >/dev/null
NET=$(net_of "$A")
relief --data "$B" init --name B --network "$NET" >/dev/null
relief --data "$C" init --name C --network "$NET" >/dev/null
relief --data "$A" demo 2>/dev/null
relief --data "$B" item add soap --name Soap --unit bar >/dev/null 2>&1

# --- two nodes, one sync ---
start_serve "$A"; pa=$SERVE_PID a_url=$SERVE_URL a_port=$SERVE_PORT
relief --data "$B" peer add "$a_url" >/dev/null 2>&1
check "B syncs with A" relief --data "$B" sync "$a_url"
check_eq "A and B hold the same state" "$(digest "$A")" "$(digest "$B")"
check_match "the summary line" "$(relief --data "$B" sync "$a_url" 2>&1)" "synced with .*0 ops in, 0 ops out"
check_eq "a node without tokens refuses a sync request a proxy passed on: 401" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-For: 203.0.113.9' "$a_url/sync/v1/info")" 401
check_eq "(Forwarded too)" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H 'Forwarded: for=203.0.113.9' "$a_url/sync/v1/info")" 401
check_match "status shows the peer's last success" "$(relief --data "$B" status)" "127.0.0.1:$a_port +last success 20"

# a new laptop joins after a long import: pages of up to 16,384 ops (each applied in one durable
# transaction), not 2,000
py 'import sys; sys.stdout.write("type,site,item,qty\n" + "receive,WH-ISH,rice-5kg,1\n" * 40000)' >"$T/many.csv"
relief --data "$A" import movements "$T/many.csv" 2>/dev/null
relief --data "$T/new" init --name new --network "$(relief --data "$A" --json status | py 'import json,sys; print(json.load(sys.stdin)["network"])')" >/dev/null
out=$(relief --data "$T/new" --json sync "$a_url" | py 'import json,sys; d=json.load(sys.stdin); print(d["pulled"] > 40000, d["requests"])')
check_match "a sync of 40,000 ops pulls them in a few pages" "$out" '^True [1-7]$'
check_eq "and holds A's state" "$(relief --data "$T/new" --json stock --site WH-ISH --item rice-5kg | py 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')" \
    "$(relief --data "$A" --json stock --site WH-ISH --item rice-5kg | py 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')"
check_eq "its state is the one its ops rebuild" "$(relief --data "$T/new" digest --rebuild)" "$(relief --data "$T/new" digest)"
relief --data "$B" sync "$a_url" >/dev/null 2>&1

relief --data "$T/x" init --name X >/dev/null
check_status "a node of another network is refused" 1 relief --data "$T/x" sync "$a_url"
check_match "with a clear message" "$(relief --data "$T/x" sync "$a_url" 2>&1)" "another relief network|belongs to relief network"
check_eq "and nothing moved" "$(relief --data "$T/x" --json status | py 'import json,sys; print(json.load(sys.stdin)["ops"])')" 1
# a port nobody listens on: bound by a helper, not listening, so nobody else can take it
/usr/bin/python3 -c '
import signal, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print("port", s.getsockname()[1], flush=True)
signal.pause()' >"$T/closed.out" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q '^port ' "$T/closed.out" 2>/dev/null && break; sleep 0.05; done
cport=$(sed -n 's/^port //p' "$T/closed.out")
if [ -n "$cport" ]; then
    check_status "nobody listening" 1 relief --data "$B" sync "http://127.0.0.1:$cport"
else
    not_ok "nobody listening" "no port held: $(cat "$T/closed.out")"
fi
check_status "no token: refuses to listen beyond loopback" 1 timeout 10 "$RELIEF_BIN" --data "$T/x" serve --listen "0.0.0.0:0"
check_match "and says why" "$(timeout 10 "$RELIEF_BIN" --data "$T/x" serve --listen "0.0.0.0:0" 2>&1)" "refusing to listen"
check_status "a bad --listen is a bad value" 1 relief --data "$T/x" serve --listen nonsense
kill "$pa"
gone=0
for _ in $(seq 100); do kill -0 "$pa" 2>/dev/null || { gone=1; break; }; sleep 0.05; done
check_eq "SIGTERM stops serve" "$gone" 1
check_match "and it says so" "$(cat "$A.log")" "stopping"

# --- tokens: once a token exists, every request needs one with the right role ---
tok=$(relief --data "$A" token add --role sync --name b 2>/dev/null)
rtok=$(relief --data "$A" token add --role read --name coordinator 2>/dev/null)
# A again on its port of before: B keeps its URL as a peer (there is no peer remove), and the
# chain below needs B to reach A there
start_serve --port "$a_port" "$A"; pa=$SERVE_PID a_url=$SERVE_URL
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
check_eq "no token: 401" "$(code -X POST -H 'Content-Type: application/vnd.msgpack' --data-binary @/dev/null "$a_url/sync/v1/pull")" 401
check_eq "a read token may not pull: 403" "$(code -X POST -H "Authorization: Bearer $rtok" -H 'Content-Type: application/vnd.msgpack' --data-binary @/dev/null "$a_url/sync/v1/pull")" 403
check_eq "a wrong token: 401" "$(code -H "Authorization: Bearer rlt_nope" "$a_url/sync/v1/info")" 401
check_status "sync without a token fails" 1 relief --data "$B" sync "$a_url"
printf '%s\n' "$tok" >"$T/tok"; chmod 600 "$T/tok"
relief --data "$B" stock receive --site WH-ISH --item soap --qty 10 >/dev/null 2>&1
check "sync with --token-file" relief --data "$B" sync "$a_url" --token-file "$T/tok"
check_eq "converged again" "$(digest "$A")" "$(digest "$B")"
check "RELIEF_TOKEN works too" env RELIEF_TOKEN="$tok" "$RELIEF_BIN" --data "$B" sync "$a_url"
check_eq "healthz" "$(curl -s "$a_url/healthz")" "ok"

# --- tokens made and revoked while a node serves count at once ---
W="$T/w"
relief --data "$W" init --name W --network "$NET" >/dev/null
start_serve "$W"; pw=$SERVE_PID w_url=$SERVE_URL
check_eq "a node with no token: this machine's sync needs none" "$(code "$w_url/sync/v1/info")" 200
check_eq "but not through a proxy" "$(code -H 'X-Forwarded-For: 203.0.113.7' "$w_url/sync/v1/info")" 401
wtok=$(relief --data "$W" token add --role sync --name later 2>/dev/null)
wrtok=$(relief --data "$W" token add --role read --name later-read 2>/dev/null)
check_eq "a token made while it serves: a request without one is refused at once" "$(code "$w_url/sync/v1/info")" 401
check_eq "a read token's too (403)" "$(code -H "Authorization: Bearer $wrtok" "$w_url/sync/v1/info")" 403
check_status "and a sync without a token fails" 1 relief --data "$B" sync "$w_url"
check_eq "the sync token is taken" "$(code -H "Authorization: Bearer $wtok" "$w_url/sync/v1/info")" 200
for id in $(relief --data "$W" --json token list | /usr/bin/python3 -c 'import json,sys; print(" ".join(t["id"] for t in json.load(sys.stdin)))'); do
    relief --data "$W" token revoke "$id" >/dev/null 2>&1
done
check_eq "every token revoked: this machine's sync needs none again" "$(code "$w_url/sync/v1/info")" 200
stop "$pw"

# --- a body is read only from a client with the right to send it ---
# raw HTTP: REQUEST-HEAD; prints the status line the node answers before any body is sent
early() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import socket, sys
host, port = sys.argv[1].split("//")[1].split(":")
s = socket.create_connection((host, int(port)), timeout=5)
s.sendall(sys.argv[2].replace("\\n", "\r\n").encode() + b"\r\n")
print(s.recv(200).split(b"\r\n")[0].decode())
PY
}
check_eq "a push of 16 MB without a token: 401 before the body (no 100 Continue)" \
    "$(early "$a_url" "POST /sync/v1/push HTTP/1.1\nHost: 127.0.0.1\nContent-Type: application/vnd.msgpack\nExpect: 100-continue\nContent-Length: 16000000\n")" \
    "HTTP/1.1 401 Unauthorized"
check_eq "a push with a read token: 403 before the body" \
    "$(early "$a_url" "POST /sync/v1/push HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer $rtok\nContent-Type: application/vnd.msgpack\nContent-Length: 16000000\n")" \
    "HTTP/1.1 403 Forbidden"
check_eq "an API write without a token: 401 before the body" \
    "$(early "$a_url" "POST /api/v1/sites HTTP/1.1\nHost: 127.0.0.1\nX-Forwarded-For: 203.0.113.7\nContent-Type: application/json\nContent-Length: 1000000\n")" \
    "HTTP/1.1 401 Unauthorized"
check_eq "a body to /healthz: 413 before it" \
    "$(early "$a_url" "POST /healthz HTTP/1.1\nHost: 127.0.0.1\nContent-Length: 16000000\n")" \
    "HTTP/1.1 413 Payload Too Large"
check_eq "/healthz answers GET only" "$(code -X DELETE "$a_url/healthz")" 405
check_eq "a push with the sync token is still read: 100 Continue" \
    "$(early "$a_url" "POST /sync/v1/push HTTP/1.1\nHost: 127.0.0.1\nAuthorization: Bearer $tok\nContent-Type: application/vnd.msgpack\nExpect: 100-continue\nContent-Length: 10\n")" \
    "HTTP/1.1 100 Continue"

# --- hostile requests: refused, the server keeps answering, nothing changes ---
before=$(digest "$A")
auth=(-H "Authorization: Bearer $tok")
check_eq "wrong content type: 415" "$(code -X POST "${auth[@]}" -H 'Content-Type: text/plain' --data 'x' "$a_url/sync/v1/push")" 415
printf '\xdd\x0f\xff\xff\xff\x01' >"$T/bomb"
check_eq "the allocation bomb: 400" "$(code -X POST "${auth[@]}" -H 'Content-Type: application/vnd.msgpack' --data-binary @"$T/bomb" "$a_url/sync/v1/push")" 400
head -c 300 /dev/urandom >"$T/noise"
check_eq "noise: 400" "$(code -X POST "${auth[@]}" -H 'Content-Type: application/vnd.msgpack' --data-binary @"$T/noise" "$a_url/sync/v1/push")" 400
printf 'x' | gzip >"$T/gz"
check_eq "a compressed request body: 415" "$(code -X POST "${auth[@]}" -H 'Content-Type: application/vnd.msgpack' -H 'Content-Encoding: gzip' --data-binary @"$T/gz" "$a_url/sync/v1/push")" 415
resp=$(exec 3<>/dev/tcp/127.0.0.1/$a_port; printf 'POST /sync/v1/push HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n\r\n' >&3; timeout 5 head -c 12 <&3)
check_match "a huge Content-Length: 413" "$resp" "413"
hdrs=$(py 'print("".join("X-H%d: y\r\n" % i for i in range(10000)))')
resp=$(exec 3<>/dev/tcp/127.0.0.1/$a_port; printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n%s\r\n' "$hdrs" >&3 2>/dev/null; timeout 5 head -c 12 <&3)
check_match "10,000 headers: 431" "$resp" "431"
resp=$(exec 3<>/dev/tcp/127.0.0.1/$a_port; printf 'POST /sync/v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.msgpack\r\nContent-Length: 100\r\n\r\nabc' >&3; exec 3>&-; echo closed)
check_eq "a truncated body then close" "$resp" "closed"
# ops with a gap: accepted as a message, the ops past the gap are dropped (asked for again later)
mkpush() { # ORIGIN_HEX FIRST_SEQ PREV_HEX -> a push body with one op of an unknown kind
    py "
import msgpack, hashlib, sys, json, subprocess
net = bytes.fromhex(json.loads(subprocess.check_output(['$RELIEF_BIN', '--data', '$A', '--json', 'status']))['network'])
origin, seq, prev = int('$1', 16), int('$2'), bytes.fromhex('$3')
payload = msgpack.packb([1 << 60, 'mallory', 200, {1: 'x'}])
h = hashlib.blake2b(origin.to_bytes(8, 'big') + seq.to_bytes(8, 'big') + prev + payload, digest_size=16).digest()
body = msgpack.packb({1: net, 2: [[origin, seq, prev, h, [msgpack.ExtType(0, b'')]]]})
# splice the payload in as an object, not as bytes
body = body.replace(msgpack.packb(msgpack.ExtType(0, b'')), payload)
sys.stdout.buffer.write(body)"
}
mkpush 7777777777777777 5 "$(printf '%032d' 0)" >"$T/gap.bin"
check_eq "a push with a gap: 200" "$(code -X POST "${auth[@]}" -H 'Content-Type: application/vnd.msgpack' --data-binary @"$T/gap.bin" "$a_url/sync/v1/push")" 200
check_eq "and its op is not taken" "$(digest "$A")" "$before"
# a forked op: another op at a seq A already holds from its own origin
aorigin=$(relief --data "$A" --json status | py 'import json,sys; s=json.load(sys.stdin); print(s["node"])')
mkpush "$aorigin" 1 "$(printf '%032d' 0)" >"$T/fork.bin"
check_eq "a forked op: 200" "$(code -X POST "${auth[@]}" -H 'Content-Type: application/vnd.msgpack' --data-binary @"$T/fork.bin" "$a_url/sync/v1/push")" 200
check_match "is kept as evidence and shown" "$(relief --data "$A" status)" "FORKED at seq 1"
# another copy wrote under A's id: A's next write goes under a new id, which peers take
relief --data "$A" stock receive --site WH-ISH --item soap --qty 3 >/dev/null 2>&1
anew=$(relief --data "$A" --json status | py 'import json,sys; print(json.load(sys.stdin)["node"])')
check "A writes under a new node id once its own is forked" test -n "$anew" -a "$anew" != "$aorigin"
soap() { relief --data "$1" --json stock --site WH-ISH --item soap 2>/dev/null | py 'import json,sys; d=json.load(sys.stdin); print(d[0]["balance"] if d else 0)'; }
check "B pulls it" relief --data "$B" sync "$a_url" --token-file "$T/tok"
check_eq "and holds A's write" "$(soap "$B")" "$(soap "$A")"
check_eq "the server still answers" "$(curl -s "$a_url/healthz")" "ok"
# a pull page (read, encoded and gzipped in the thread pool): gzip only for a client that asks
py "
import msgpack, json, subprocess, sys
net = bytes.fromhex(json.loads(subprocess.check_output(['$RELIEF_BIN', '--data', '$A', '--json', 'status']))['network'])
sys.stdout.buffer.write(msgpack.packb({1: net, 2: []}))" >"$T/pull.bin"
pull_raw() { curl -s -D "$T/pull.h" -o "$T/pull.out" -X POST "${auth[@]}" -H 'Content-Type: application/vnd.msgpack' --data-binary @"$T/pull.bin" "$@" "$a_url/sync/v1/pull"; }
ops_in() { py "
import msgpack, gzip, sys
b = open('$T/pull.out', 'rb').read()
b = gzip.decompress(b) if '$1' == 'gz' else b
m = msgpack.unpackb(b, strict_map_key=False, raw=True)
print(sum(len(run[4]) for run in m[2]))"; }
pull_raw -H 'Accept-Encoding: gzip'
check_match "a pull asking for gzip gets it" "$(tr -d '\r' <"$T/pull.h")" "Content-Encoding: gzip"
nz=$(ops_in gz 2>&1 | tail -1)
check_match "and its body unzips to a page of A's ops" "$nz" '^[1-9][0-9]*$'
check_eq "the same ops as the plain page" "$nz" "$(pull_raw; ops_in plain 2>&1 | tail -1)"
check_eq "a pull not asking for gzip gets plain msgpack" "$(grep -ci '^content-encoding' "$T/pull.h")" 0
before=$(digest "$A")
stop "$pa"

# --- a chain A-B-C of serve nodes: a write on A reaches C through B ---
tokb=$(relief --data "$B" token add --role sync 2>/dev/null)
tokc=$(relief --data "$C" token add --role sync 2>/dev/null)
printf '%s\n' "$tokb" >"$T/tokb"; chmod 600 "$T/tokb"
printf '%s\n' "$tokc" >"$T/tokc"; chmod 600 "$T/tokc"
# each node's peer is added once the next one serves and its port is known
start_serve "$C" --interval 3600; pc=$SERVE_PID
relief --data "$B" peer add "$SERVE_URL" --token-file "$T/tokc" >/dev/null 2>&1
start_serve "$B" --interval 3600; pb=$SERVE_PID
relief --data "$A" peer add "$SERVE_URL" --token-file "$T/tokb" >/dev/null 2>&1
start_serve --port "$a_port" "$A" --interval 3600; pa=$SERVE_PID
water() { relief --data "$1" --json stock --site WH-ISH --item water-2l 2>/dev/null | py 'import json,sys; d=json.load(sys.stdin); print(d[0]["balance"] if d else 0)' 2>/dev/null; }
want=$(( $(water "$A") + 77 ))
relief --data "$A" stock receive --site WH-ISH --item water-2l --qty 77 >/dev/null 2>&1
ok=0
for _ in $(seq 100); do
    [ "$(water "$C")" = "$want" ] && { ok=1; break; }
    sleep 0.1
done
check_eq "the write on A reached C with nobody running sync" "$ok" 1
check_match "serve logs one line per sync" "$(cat "$B.log")" "push from 127.0.0.1.*ops? in"
stop "$pa"; stop "$pb"; stop "$pc"

# --- five nodes write while split in two groups, then heal ---
P=()
for i in 1 2 3 4 5; do
    d="$T/p$i"
    relief --data "$d" init --name "P$i" --network "$NET" >/dev/null
    P+=("$d")
done
# everyone starts from A's demo records
for d in "${P[@]}"; do
    relief --data "$A" bundle create "$T/all.bundle" >/dev/null 2>&1
    relief --data "$d" bundle apply "$T/all.bundle" >/dev/null 2>&1
done
ports=() pids=()
for i in 0 1 2 3 4; do start_serve "${P[$i]}" --interval 3600; pids+=("$SERVE_PID"); ports+=("$SERVE_PORT"); done
# group 1: P1 P2; group 2: P3 P4 P5 -- each writes, syncs inside its group only
relief --data "${P[0]}" stock receive --site WH-ISH --item rice-5kg --qty 11 >/dev/null 2>&1
relief --data "${P[1]}" site set ISH-MINATO --occupancy 650 --by P2 >/dev/null 2>&1
relief --data "${P[2]}" site set ISH-MINATO --occupancy 600 --by P3 >/dev/null 2>&1
relief --data "${P[3]}" stock distribute --site ISH-MINATO --item rice-5kg --qty 9 >/dev/null 2>&1
relief --data "${P[4]}" need add --site ISH-WATANOHA --item water-2l --qty 300 >/dev/null 2>&1
s() { relief --data "${P[$1]}" sync "http://127.0.0.1:${ports[$2]}" >/dev/null 2>&1; }
s 0 1; s 2 3; s 3 4; s 2 4
check_eq "the groups differ while split" "$([ "$(digest "${P[0]}")" != "$(digest "${P[2]}")" ] && echo yes)" yes
# heal: a ring of syncs, twice around
for r in 1 2; do s 0 1; s 1 2; s 2 3; s 3 4; s 4 0; done
d0=$(digest "${P[0]}")
same=1
for i in 1 2 3 4; do [ "$(digest "${P[$i]}")" = "$d0" ] || same=0; done
check_eq "after healing every digest is equal" "$same" 1
a0=$(relief --data "${P[0]}" --json alerts | py 'import json,sys; print(sorted(a["message"] for a in json.load(sys.stdin)))')
c0=$(relief --data "${P[0]}" --json conflicts | py 'import json,sys; print(json.load(sys.stdin))')
samea=1
for i in 1 2 3 4; do
    [ "$(relief --data "${P[$i]}" --json alerts | py 'import json,sys; print(sorted(a["message"] for a in json.load(sys.stdin)))')" = "$a0" ] || samea=0
    [ "$(relief --data "${P[$i]}" --json conflicts | py 'import json,sys; print(json.load(sys.stdin))')" = "$c0" ] || samea=0
done
check_eq "and so is every alert and conflict" "$samea" 1
check_match "the concurrent occupancy edits are a conflict" "$c0" "occupancy"
for p in "${pids[@]}"; do stop "$p"; done

# --- kill -9 in the middle of a large pull and of a large push ---
K="$T/k" L="$T/l"
relief --data "$K" init --name K --network "$NET" >/dev/null
relief --data "$L" init --name L --network "$NET" >/dev/null
relief --data "$K" bundle apply "$T/all.bundle" >/dev/null 2>&1
"$BUILD_DIR/tests/appender" "$K" 30000 >/dev/null
start_serve "$K"; pk=$SERVE_PID k_url=$SERVE_URL
relief --data "$L" sync "$k_url" >/dev/null 2>&1 &
sp=$!
sleep 0.3
kill -9 "$pk" 2>/dev/null
wait "$sp" 2>/dev/null
start_serve "$K"; pk=$SERVE_PID k_url=$SERVE_URL
check "after kill -9 of the server mid-pull, sync again" relief --data "$L" sync "$k_url"
check_eq "nothing lost, nothing doubled (pull)" "$(digest "$L")" "$(digest "$K")"
check_eq "L's state equals its own op log's" "$(relief --data "$L" digest --rebuild)" "$(digest "$L")"
stop "$pk"
"$BUILD_DIR/tests/appender" "$L" 30000 >/dev/null
start_serve "$K"; pk=$SERVE_PID k_url=$SERVE_URL
relief --data "$L" sync "$k_url" >/dev/null 2>&1 &
sp=$!
sleep 0.4
kill -9 "$pk" 2>/dev/null
wait "$sp" 2>/dev/null
check_eq "K's state after the kill equals its op log's" "$(relief --data "$K" digest --rebuild)" "$(digest "$K")"
start_serve "$K"; pk=$SERVE_PID k_url=$SERVE_URL
check "after kill -9 of the server mid-push, sync again" relief --data "$L" sync "$k_url"
check_eq "nothing lost, nothing doubled (push)" "$(digest "$L")" "$(digest "$K")"
stop "$pk"

# --- a link that breaks every few kilobytes ---
F="$T/f"
relief --data "$F" init --name F --network "$NET" >/dev/null
start_serve "$K"; pk=$SERVE_PID k_url=$SERVE_URL
"$RELAY" 0 "$SERVE_PORT" 6000 >"$T/relay.out" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 50); do grep -q '^relay ready on ' "$T/relay.out" && break; sleep 0.05; done
relay_url="http://127.0.0.1:$(sed -n 's/^relay ready on //p' "$T/relay.out")"
check "a large sync through a relay that cuts every ~6 KB completes" relief --data "$F" sync "$relay_url"
check_eq "and holds every op" "$(digest "$F")" "$(digest "$K")"
# a push through it: relief sync reads the page it pushes next while the peer takes one; a cut
# page was not taken, so the page read after it must not be sent (the peer would see a gap)
"$BUILD_DIR/tests/appender" "$F" 20000 >/dev/null
check "a large push through the relay completes" relief --data "$F" sync "$relay_url"
check_eq "and the server holds every op" "$(digest "$K")" "$(digest "$F")"
stop "$pk"

# --- a peer that answers every pull "200 OK" with a body that does not decode: as many
# failures in a row as a cut link, then relief sync stops (it used to ask forever) ---
/usr/bin/python3 -c "
import msgpack, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
info = msgpack.packb({1: bytes.fromhex('$NET'), 2: 1, 3: 7, 4: 'garbage', 5: []})
class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    def log_message(self, *a): pass
    def reply(self, b):
        self.send_response(200)
        self.send_header('Content-Type', 'application/vnd.msgpack')
        self.send_header('Content-Length', str(len(b)))
        self.end_headers()
        self.wfile.write(b)
    def do_GET(self): self.reply(info)
    def do_POST(self):
        self.rfile.read(int(self.headers.get('Content-Length', 0)))
        print('pull', flush=True)
        self.reply(b'\xc1')
srv = HTTPServer(('127.0.0.1', 0), H)  # a port of the system's choosing: never one in use
print('port', srv.server_address[1], flush=True)
srv.serve_forever()" >"$T/garbage.out" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q '^port ' "$T/garbage.out" 2>/dev/null && break; sleep 0.05; done
gport=$(sed -n 's/^port //p' "$T/garbage.out")
timeout 20 "$BUILD_DIR/relief" --data "$F" sync "http://127.0.0.1:$gport" >/dev/null 2>"$T/garbage.err"
check_eq "relief sync with a peer answering garbage fails (exit 1)" "$?" 1
check_match "and says why" "$(cat "$T/garbage.err")" "after 13 failed requests in a row"
check_eq "after 13 pulls" "$(grep -c pull "$T/garbage.out")" 13

# --- a page not all taken while the next one was already asked for (relief sync applies a page
# while it asks for the next, naming the VV it will hold): origin 1 forked between the two
# nodes, so the first page's op of it is refused; the next page must still bring the rest ---
G="$T/g" H="$T/h"
relief --data "$G" init --name G --network "$NET" >/dev/null
relief --data "$H" init --name H --network "$NET" >/dev/null
"$BUILD_DIR/tests/appender" "$G" 40000 >/dev/null
start_serve "$G"; pg=$SERVE_PID g_url=$SERVE_URL
start_serve "$H"; ph=$SERVE_PID h_url=$SERVE_URL
forkpush() { # forkpush TAG NOPS [FIRST]: ops FIRST (1)..NOPS of origin 1, payloads tagged TAG
    py "
import msgpack, hashlib, sys
net = bytes.fromhex('$NET')
first = int('${3:-1}')
prev, payloads, start = bytes(16), [], bytes(16)
for s in range(1, $2 + 1):
    p = msgpack.packb([1 << 60, 'fork', 200, {1: '$1'}])
    if s == first:
        start = prev
    prev = hashlib.blake2b((1).to_bytes(8, 'big') + s.to_bytes(8, 'big') + prev + p, digest_size=16).digest()
    if s >= first:
        payloads.append(p)
body = msgpack.packb({1: net, 2: [[1, first, start, prev, [msgpack.ExtType(0, b'')]]]})
body = body.replace(msgpack.packb([msgpack.ExtType(0, b'')]), msgpack.packb([0] * len(payloads))[:-len(payloads)] + b''.join(payloads))
sys.stdout.buffer.write(body)"
}
forkpush g 2 >"$T/fork-g.bin"
forkpush h 1 >"$T/fork-h.bin"
pushto() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/vnd.msgpack' --data-binary @"$2" "$1/sync/v1/push"; }
check_eq "G takes ops 1-2 of origin 1" "$(pushto "$g_url" "$T/fork-g.bin")" 200
check_eq "H takes another op 1 of it" "$(pushto "$h_url" "$T/fork-h.bin")" 200
stop "$ph"
relief --data "$H" --json sync "$g_url" >"$T/gh.json" 2>"$T/gh.err"
seq_of() { relief --data "$1" --json status | py "import json,sys; s=json.load(sys.stdin); print([o['seq'] for o in s['version_vector'] if o['origin'] == '$2'])"; }
g_own=$(relief --data "$G" --json status | py 'import json,sys; print(json.load(sys.stdin)["node"])')
check_match "the sync took G's ops" "$(cat "$T/gh.json")" '"pulled": 4000[0-9]'
check_eq "H pulled every op of G's own, over pages that came while others were written" \
    "$(seq_of "$H" "$g_own")" "$(seq_of "$G" "$g_own")"
check_match "and shows origin 1 forked" "$(relief --data "$H" status)" "FORKED"
check_eq "its digest rebuilt from the op log (and the fork evidence) is the same" \
    "$(relief --data "$H" digest --rebuild)" "$(digest "$H")"
stop "$pg"

# --- the same for a push: P holds op 1 of origin 1, Q two others and 40,000 ops of its own,
# pushed in pages, each read while the peer takes the one before; the first is not all taken
# (P refuses Q's op 2 of origin 1), so the page read after it is read again ---
P="$T/p" Q="$T/q"
relief --data "$P" init --name P --network "$NET" >/dev/null
relief --data "$Q" init --name Q --network "$NET" >/dev/null
"$BUILD_DIR/tests/appender" "$Q" 40000 >/dev/null
start_serve "$P"; pp=$SERVE_PID p_url=$SERVE_URL
start_serve "$Q"; pq=$SERVE_PID q_url=$SERVE_URL
forkpush p 1 >"$T/fork-p.bin"
forkpush q 2 >"$T/fork-q.bin"
check_eq "P takes op 1 of origin 1" "$(pushto "$p_url" "$T/fork-p.bin")" 200
check_eq "Q takes ops 1-2 of another" "$(pushto "$q_url" "$T/fork-q.bin")" 200
stop "$pq"
relief --data "$Q" --json sync "$p_url" >"$T/qp.json" 2>"$T/qp.err"
q_own=$(relief --data "$Q" --json status | py 'import json,sys; print(json.load(sys.stdin)["node"])')
check_match "the sync pushed Q's ops (its first and 40,000 more)" "$(cat "$T/qp.json")" '"pushed": 40001'
check_match "and says the peer found a fork (whose origin it leaves out)" "$(cat "$T/qp.err")" "0 origin\\(s\\) forked on this node and 1 on the peer"
check_eq "P holds every op of Q's own" "$(seq_of "$P" "$q_own")" "$(seq_of "$Q" "$q_own")"
stop "$pp"

# --- a forked origin holding more ops past the fork than a page: the peer that found the fork
# names it, and the other leaves it out (they sat first in every page, so nothing else moved:
# the sync failed for ever). L holds ops 1-20,000 of origin 1 and 3,000 of its own; K1 and K2
# another op 1 of origin 1. K1 pulls from L, L pushes to K2. ---
L="$T/l" K1="$T/k1" K2="$T/k2"
for d in "$L" "$K1" "$K2"; do relief --data "$d" init --name "${d##*/}" --network "$NET" >/dev/null; done
"$BUILD_DIR/tests/appender" "$L" 3000 >/dev/null
start_serve "$L"; pl=$SERVE_PID l_url=$SERVE_URL
start_serve "$K2"; pk2=$SERVE_PID k2_url=$SERVE_URL
start_serve "$K1"; pk1=$SERVE_PID k1_url=$SERVE_URL
forkpush l 10000 >"$T/fork-l1.bin"
forkpush l 20000 10001 >"$T/fork-l2.bin"
forkpush k 1 >"$T/fork-k.bin"
check_eq "L takes ops 1-10,000 of origin 1" "$(pushto "$l_url" "$T/fork-l1.bin")" 200
check_eq "and 10,001-20,000" "$(pushto "$l_url" "$T/fork-l2.bin")" 200
check_eq "K1 takes another op 1" "$(pushto "$k1_url" "$T/fork-k.bin")" 200
check_eq "K2 too" "$(pushto "$k2_url" "$T/fork-k.bin")" 200
stop "$pk1"
l_own=$(relief --data "$L" --json status | py 'import json,sys; print(json.load(sys.stdin)["node"])')
relief --data "$K1" sync "$l_url" 2>"$T/k1.err"
check_eq "K1 syncs with L" "$?" 0
check_eq "and holds every op of L's own" "$(seq_of "$K1" "$l_own")" "$(seq_of "$L" "$l_own")"
check_match "and says it left a forked origin out" "$(cat "$T/k1.err")" "1 origin\\(s\\) forked on this node and 0"
check_match "K1 shows origin 1 forked" "$(relief --data "$K1" status)" "FORKED"
relief --data "$L" sync "$k2_url" 2>"$T/lk2.err"
check_eq "L syncs with K2" "$?" 0
check_eq "K2 holds every op of L's own" "$(seq_of "$K2" "$l_own")" "$(seq_of "$L" "$l_own")"
check_match "and L says K2 found the fork" "$(cat "$T/lk2.err")" "0 origin\\(s\\) forked on this node and 1 on the peer"
check_eq "K2 holds one op of origin 1 (its own chain's)" "$(seq_of "$K2" 0000000000000001)" "[1]"
check "a sync again" relief --data "$L" sync "$k2_url"
stop "$pl"; stop "$pk2"

# --- https: a TLS proxy with its own (self-signed) certificate in front of relief serve, as
# across the internet. Untrusted, the sync fails at once and says how to trust it; with
# --cacert, or the certificate relief peer add kept, it syncs; relief serve's background sync
# to such a peer too ---
TLS="$(dirname "$0")/../data/tls"
S="$T/s" U="$T/u"
relief --data "$S" init --name S --network "$NET" >/dev/null
relief --data "$U" init --name U --network "$NET" >/dev/null
relief --data "$S" site add --kind warehouse --name "仙台倉庫" --code WH-TLS >/dev/null 2>&1
relief --data "$S" item add tarp --name tarp --unit pc >/dev/null 2>&1
relief --data "$S" stock receive --site WH-TLS --item tarp --qty 9 >/dev/null 2>&1
start_serve "$S"; ps_=$SERVE_PID s_url=$SERVE_URL
/usr/bin/python3 "$TLS/tls_proxy.py" 0 "$SERVE_PORT" "$TLS/cert.pem" "$TLS/key.pem" >"$T/proxy.out" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do grep -q '^listening on ' "$T/proxy.out" 2>/dev/null && break; sleep 0.05; done
SURL="https://127.0.0.1:$(sed -n 's/^listening on //p' "$T/proxy.out")"
relief --data "$U" sync "$SURL" >/dev/null 2>"$T/tls1.err"
check_eq "https to an untrusted certificate: exit 1" "$?" 1
check_match "says the certificate is not trusted and how to trust it" "$(cat "$T/tls1.err")" "certificate.*--cacert FILE"
check "at once, not after 13 tries" test "$(grep -c 'failed requests in a row' "$T/tls1.err")" = 0
check "with --cacert it syncs" relief --data "$U" sync "$SURL" --cacert "$TLS/cert.pem"
check_eq "and converges" "$(digest "$U")" "$(digest "$S")"
check_status "--cacert of a missing file: exit 1" 1 relief --data "$U" sync "$SURL" --cacert "$T/none.pem"
check_status "--cacert of a file without a certificate: exit 1" 1 relief --data "$U" sync "$SURL" --cacert "$TLS/README"
check_status "--cacert for an http:// peer: exit 1" 1 relief --data "$U" peer add "$s_url" --cacert "$TLS/cert.pem"
check "relief peer add keeps the certificate" relief --data "$U" peer add "$SURL" --cacert "$TLS/cert.pem"
check_eq "in DATA/peers, mode 600" "$(stat -c %a "$U"/peers/*.pem)" 600
relief --data "$S" stock receive --site WH-TLS --item tarp --qty 1 >/dev/null 2>&1
check "relief sync URL then trusts it without --cacert" relief --data "$U" sync "$SURL"
check_eq "and converges again" "$(digest "$U")" "$(digest "$S")"
start_serve "$U" --interval 3600; pu=$SERVE_PID
relief --data "$U" stock receive --site WH-TLS --item tarp --qty 5 >/dev/null 2>&1
ok=0
for _ in $(seq 100); do
    [ "$(digest "$U")" = "$(digest "$S")" ] && { ok=1; break; }
    sleep 0.1
done
check_eq "relief serve syncs a write to its https peer by itself" "$ok" 1
stop "$pu"; stop "$ps_"

# --- a peer's count stamped with the last hlc there is (2^64-1) does not freeze the shelf ---
CN="$T/cn"
relief --data "$CN" init --name CN --network "$NET" >/dev/null
relief --data "$CN" site add --kind warehouse --name W --code W-CN >/dev/null 2>&1
relief --data "$CN" item add tent --name tent --unit pc >/dev/null 2>&1
cn_site=$(relief --data "$CN" --json site list | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
start_serve "$CN"; pcn=$SERVE_PID
# a stock.count of 777 from origin 1 (the smallest) at hlc 2^64-1, pushed as a peer would
/usr/bin/python3 - "$SERVE_URL" "$cn_site" <<'PY'
import hashlib, struct, sys, urllib.request, msgpack
u, site = sys.argv[1] + "/sync/v1/", int(sys.argv[2], 16)
info = msgpack.unpackb(urllib.request.urlopen(u + "info").read(), strict_map_key=False)
vv = [[o, s] for o, s, _ in info[5]]
origin = 1
op = msgpack.packb([2**64 - 1, "far", 35, {1: site, 2: "tent", 3: 777, 13: vv}])
last = hashlib.blake2b(struct.pack(">QQ", origin, 1) + b"\0" * 16 + op, digest_size=16).digest()
run = b"\x95" + msgpack.packb(origin) + b"\x01" + msgpack.packb(b"\0" * 16) + msgpack.packb(last) + b"\x91" + op
body = b"\x82\x01" + msgpack.packb(info[1]) + b"\x02\x91" + run
urllib.request.urlopen(urllib.request.Request(u + "push", body, {"Content-Type": "application/vnd.msgpack"})).read()
PY
stop "$pcn"
check_eq "the far count is taken" "$(relief --data "$CN" --json stock --site W-CN | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')" 777
relief --data "$CN" stock count --site W-CN --item tent --qty 5 >/dev/null 2>&1
check_eq "a count made after seeing it wins (it was stamped now, and lost)" \
    "$(relief --data "$CN" --json stock --site W-CN | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')" 5

# --- a peer that never moves forward is left, not asked for ever ---
for mode in dup_more push_stuck; do
    STUCK_COUNT="$T/stuck-$mode.n" /usr/bin/python3 "$(dirname "$0")/../helpers/stuck_peer.py" "$mode" "$NET" >"$T/stuck-$mode.out" 2>&1 &
    PIDS="$PIDS $!"
    for _ in $(seq 100); do grep -q '^port ' "$T/stuck-$mode.out" 2>/dev/null && break; sleep 0.05; done
    sport=$(sed -n 's/^port //p' "$T/stuck-$mode.out")
    # (push_stuck: CN has its own ops to push)
    timeout 60 "$RELIEF_BIN" --data "$CN" sync "http://127.0.0.1:$sport" >/dev/null 2>"$T/stuck-$mode.err"
    check_eq "$mode: relief sync stops, failing" "$?" 1
    check_match "$mode: and says why" "$(cat "$T/stuck-$mode.err")" "stopped"
    check_match "$mode: after a few requests" "$(cat "$T/stuck-$mode.n")" '^[0-9]$'
done

# --- tries wait a little longer each time: a peer starting a moment later is waited for ---
late_port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
relief --data "$CN" sync "http://127.0.0.1:$late_port" >/dev/null 2>"$T/late.err" &
late_sync=$!
sleep 1.5
relief --data "$T/late" init --name late --network "$NET" >/dev/null
if start_serve --port "$late_port" "$T/late"; then
    wait "$late_sync"
    check_eq "a sync started before its peer was up succeeds once it is" "$?" 0
    check_eq "and converges" "$(digest "$CN")" "$(digest "$T/late")"
    stop "$SERVE_PID"
else
    kill "$late_sync" 2>/dev/null
    not_ok "a sync started before its peer was up succeeds once it is" "port $late_port was taken meanwhile"
fi

# --- a peer given with --peer and kept by peer add is synced once ---
relief --data "$CN" peer add "http://127.0.0.1:$late_port" >/dev/null 2>&1
start_serve "$CN" --peer "http://127.0.0.1:$late_port/" --interval 3600; pcn=$SERVE_PID
check_match "relief serve counts it once" "$(cat "$CN.log")" "; 1 peer$"
stop "$pcn"
