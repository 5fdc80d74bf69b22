#!/bin/bash
# A node on a full filesystem (a 4 MiB tmpfs when this machine lets root mount one, else a
# file-size limit): the write that does not fit fails with exit 1 and says the disk is full,
# nothing acknowledged is lost or damaged, and once space is freed it works again.
. "$(dirname "$0")/../lib.sh"
py() { /usr/bin/python3 -c "$@"; }
FS="$T/fs"
mkdir -p "$FS"
LIMIT=""
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=4m tmpfs "$FS" 2>/dev/null; then
    trap 'umount "$FS" 2>/dev/null; cleanup' EXIT
    how="a 4 MiB tmpfs"
else
    LIMIT=4096 # KiB, for ulimit -f
    how="ulimit -f 4 MiB"
fi
run() { if [ -n "$LIMIT" ]; then (ulimit -f "$LIMIT"; trap '' XFSZ; "$RELIEF_BIN" "$@"); else "$RELIEF_BIN" "$@"; fi; }
N="$FS/node"
run --data "$N" init --name full >/dev/null 2>&1
run --data "$N" site add --kind warehouse --name WH --code WH >/dev/null 2>&1
run --data "$N" item add rice --name Rice --unit kg >/dev/null 2>&1
run --data "$N" stock receive --site WH --item rice --qty 5 >/dev/null 2>&1
[ -z "$LIMIT" ] && head -c $((1024 * 1024)) /dev/zero >"$FS/filler"
# each row with a lot of its own, so that the ops take room however well the log packs them
py "import random; random.seed(4); print('type,site,item,qty,lot'); [print('receive,WH,rice,1,%032x' % random.getrandbits(128)) for _ in range(100000)]" >"$T/big.csv"
out=$(run --data "$N" import movements "$T/big.csv" 2>&1)
rc=$?
check_eq "on $how: an import that does not fit fails with exit 1" "$rc" 1
check_match "and says the disk is full" "$out" "disk full|file-size limit"
# a large import commits in chunks: it says how many rows were written before the disk filled
done_rows=$(printf '%s\n' "$out" | sed -n 's/.*the first \([0-9]*\) of .*/\1/p')
done_rows=${done_rows:-0}
check_eq "the balance is exactly what was acknowledged (and what the message says was written)" \
    "$("$RELIEF_BIN" --data "$N" --json stock --site WH --item rice | py 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')" $((5 + done_rows))
check_eq "the data is intact (digest = rebuilt digest)" "$("$RELIEF_BIN" --data "$N" digest)" "$("$RELIEF_BIN" --data "$N" digest --rebuild)"
# a push to a full node's server: refused with the reason, at once, and the server goes on
C="$T/client"
NET=$("$RELIEF_BIN" --data "$N" --json status | py 'import json,sys; print(json.load(sys.stdin)["network"])')
relief --data "$C" init --name client --network "$NET" >/dev/null 2>&1
if [ -z "$LIMIT" ]; then
    relief --data "$C" site add --kind warehouse --name C --code CW >/dev/null 2>&1
    relief --data "$C" item add soap --name Soap --unit bar >/dev/null 2>&1
    py "import random; random.seed(5); print('type,site,item,qty,lot'); [print('receive,CW,soap,1,%032x' % random.getrandbits(128)) for _ in range(20000)]" >"$T/c.csv"
    relief --data "$C" import movements "$T/c.csv" >/dev/null 2>&1
    # (its output not beside the data, on the full filesystem)
    start_serve --out "$T/serve" "$N"
    out=$(timeout 60 "$RELIEF_BIN" --data "$C" sync "$SERVE_URL" 2>&1)
    check_eq "a push to the full node's server fails" "$?" 1
    check_match "and says the peer's disk is full" "$out" "HTTP 507.*disk full"
    check_match "the server still answers" "$(curl -s "$SERVE_URL/healthz")" ok
    stop "$SERVE_PID"
fi
rm -f "$FS/filler"
LIMIT=""
py "print('type,site,item,qty'); [print('receive,WH,rice,1') for _ in range(100)]" >"$T/small.csv"
check "once space is freed, writes work again" "$RELIEF_BIN" --data "$N" import movements "$T/small.csv"
check_eq "and count" \
    "$("$RELIEF_BIN" --data "$N" --json stock --site WH --item rice | py 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')" $((105 + done_rows))
