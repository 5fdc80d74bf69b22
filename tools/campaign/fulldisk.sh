#!/bin/bash
# Full-disk campaign (issue #7): a node on a small filesystem fills it.
#   1. where the machine allows it, a tmpfs (mount -t tmpfs -o size=8m), else a loop-mounted
#      ext4 image, else (no mounts allowed) a file-size limit (ulimit -f, with SIGXFSZ ignored
#      so writes fail with EFBIG instead of killing the writer);
#   2. a filler file takes part of the space; `relief import movements` (2,000 rows a file)
#      and then single `relief stock receive` commands run until one fails;
#   3. the failing command must exit 1 with a plain message (no signal, no core, no assertion);
#      reads (status, stock, digest, log) still work; every acknowledged receipt is there
#      (balance == acknowledged quantity) and digest == digest --rebuild;
#   4. a sync into the full node (pull, and push through relief serve) fails plainly too and
#      the server keeps answering;
#   5. the filler is deleted (or the limit raised): writes and syncs work again, all checks hold.
# Also, on any method: a write under a file-size limit with SIGXFSZ at its default action
# (what a user's shell gives) is reported: killed by the signal, or a plain error.
#   tools/campaign/fulldisk.sh [--build DIR] [--size MB] [--method tmpfs|loop|ulimit]
#                              [--timeout SECONDS]   (default 8 MB, 300 s)
. "$(dirname "$0")/lib.sh"
SIZE_MB=${FULLDISK_MB:-8}
METHOD=${FULLDISK_METHOD:-}
LIMIT=${FULLDISK_TIMEOUT:-300}
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --size) SIZE_MB=$2; shift 2 ;;
    --method) METHOD=$2; shift 2 ;;
    --timeout) LIMIT=$2; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    *) echo "fulldisk.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
campaign_setup fulldisk
MNT=$T/fs
mkdir -p "$MNT"
MOUNTED=""
unmount() { [ -n "$MOUNTED" ] && { umount "$MNT" 2>/dev/null || umount -l "$MNT"; MOUNTED=""; }; }
trap 'unmount; campaign_cleanup' EXIT
( sleep "$LIMIT"; echo "fulldisk: timed out after ${LIMIT}s" >&2; kill -TERM $$ ) 2>/dev/null &
WATCHDOG=$!
PIDS="$PIDS $WATCHDOG"
export TMPDIR=$T   # digest --rebuild builds its copy here, off the small filesystem
CHECKS=0
ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
bad() { CHECKS=$((CHECKS + 1)); fail "$*"; }
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', wanted '$3'"; fi; }

try_tmpfs() { mount -t tmpfs -o "size=${SIZE_MB}m,mode=0755" tmpfs "$MNT" 2>/dev/null; }
try_loop() {
    command -v mkfs.ext4 >/dev/null 2>&1 || return 1
    truncate -s "${SIZE_MB}M" "$T/fs.img" && mkfs.ext4 -q -F "$T/fs.img" >/dev/null 2>&1 &&
        mount -o loop "$T/fs.img" "$MNT" 2>/dev/null
}
if [ -z "$METHOD" ]; then
    if try_tmpfs; then METHOD=tmpfs; MOUNTED=1
    elif try_loop; then METHOD=loop; MOUNTED=1
    else METHOD="ulimit"; fi
else
    case $METHOD in
    tmpfs) try_tmpfs || { echo "fulldisk: cannot mount a tmpfs here" >&2; exit 2; }; MOUNTED=1 ;;
    loop) try_loop || { echo "fulldisk: cannot loop-mount an image here" >&2; exit 2; }; MOUNTED=1 ;;
    ulimit) ;;
    *) echo "fulldisk: --method tmpfs|loop|ulimit" >&2; exit 2 ;;
    esac
fi
note "method: $METHOD, ${SIZE_MB} MB"

P=$MNT/node
relief --data "$P" init --name full >/dev/null 2>&1
relief --data "$P" site add --kind warehouse --name Warehouse --code WH >/dev/null 2>&1
relief --data "$P" item add rice --name Rice --unit kg >/dev/null 2>&1
NET=$(net_of "$P")
ACKED=0          # quantity of rice acknowledged at WH
FLIMIT=""
# wr CMD...: a write under the current limit; for ulimit, a file-size limit in a subshell with
# SIGXFSZ ignored (inherited through exec), so the write gets EFBIG
wr() {
    if [ "$METHOD" = ulimit ] && [ -n "$FLIMIT" ]; then
        ( trap '' XFSZ; ulimit -f "$FLIMIT"; exec "$@" )
    else
        "$@"
    fi
}
if [ "$METHOD" = ulimit ]; then
    # the data file may grow by SIZE_MB from here
    cur=$(stat -c %s "$P/data.mdb")
    FLIMIT=$(( (cur >> 10) + SIZE_MB * 1024 / 2 ))
    note "ulimit -f ${FLIMIT} KiB (the data file is $((cur >> 10)) KiB)"
else
    # a filler file of half the space, to be deleted later
    dd if=/dev/zero of="$MNT/filler" bs=1M count=$((SIZE_MB / 2)) status=none 2>/dev/null
fi

# --- fill: imports of 2,000 receipts, then single receipts, until a write fails ---
rows=2000 i=0 imports=0
while :; do
    {
        echo "type,site,item,qty,from"
        for j in $(seq $rows); do echo "receive,WH,rice,1,fill-$i-$j"; done
    } >"$T/batch.csv"
    if wr "$RELIEF" --data "$P" import movements "$T/batch.csv" >/dev/null 2>"$T/import.err"; then
        ACKED=$((ACKED + rows)) imports=$((imports + 1)) i=$((i + 1))
    else
        IMPORT_RC=$?
        break
    fi
    [ $i -gt 2000 ] && { bad "the filesystem never filled"; exit 1; }
done
note "$imports imports of $rows receipts acknowledged; then: exit $IMPORT_RC: $(head -c 300 "$T/import.err")"
IMSG=$(head -n 1 "$T/import.err")
if [ "$IMPORT_RC" -eq 1 ]; then ok "the import that does not fit exits 1"; else
    bad "the import that does not fit exits $IMPORT_RC: $(head -c 300 "$T/import.err")"; fi
# plain: names the cause (LMDB answers a short write with EIO: see README, Findings F2)
plain() {
    local m
    m=$(printf '%s' "$1" | sed "s#'[^']*'##g; s#/[^ :]*##g")   # paths out: they say "fulldisk"
    [ "$(printf '%s\n' "$1" | wc -l)" -le 2 ] && printf '%s' "$m" | grep -Eqi 'space|full|too large|size' &&
        ! printf '%s' "$m" | grep -Eqi 'assert|segmentation|sigbus|abort|dumped|panic|MDB_|errno'
}
if plain "$IMSG"; then ok "the import says so plainly: $IMSG"; else
    bad "the failing import does not say the disk is full: '$IMSG' (F2)"; fi
singles=0
while :; do
    if wr "$RELIEF" --data "$P" stock receive --site WH --item rice --qty 1 --from "single-$singles" >/dev/null 2>"$T/recv.err"; then
        ACKED=$((ACKED + 1)) singles=$((singles + 1))
    else
        RECV_RC=$?
        break
    fi
    [ $singles -gt 100000 ] && { bad "single receipts never fail"; exit 1; }
done
MSG=$(cat "$T/recv.err")
note "then $singles single receipts acknowledged; the next: exit $RECV_RC: $MSG"
expect_eq "the failing receipt exits 1 (not a signal, not a usage error)" "$RECV_RC" 1
if plain "$MSG"; then
    ok "it says so plainly: $MSG"
else
    bad "the message is not a plain 'disk full': '$MSG'"
fi
# top up: take whatever space is left, so that every write that grows the file fails
# (a failed commit leaves the pages it wrote at the end of the data file, and the next
# transactions reuse them, so small writes fit again for a while: repeat until they do not)
for k in 1 2 3 4 5 6; do
    if [ "$METHOD" != ulimit ]; then
        dd if=/dev/zero of="$MNT/filler2" bs=4k oflag=append conv=notrunc status=none 2>/dev/null
    else
        FLIMIT=$(( ($(stat -c %s "$P/data.mdb") + 1023) >> 10 ))
    fi
    n=0
    while wr "$RELIEF" --data "$P" stock receive --site WH --item rice --qty 1 --from "top-$k-$n" >/dev/null 2>"$T/top.err"; do
        ACKED=$((ACKED + 1)) n=$((n + 1)) singles=$((singles + 1))
    done
    [ $n -eq 0 ] && break
done
note "topped up: $(df -h "$MNT" 2>/dev/null | tail -n 1)"
ls "$MNT"/core* "$P"/core* ./core* >/dev/null 2>&1 && bad "a core file was left" || ok "no core file"

# --- reads still work; acknowledged data is intact ---
check_full_node() {
    local what=$1 bal
    relief --data "$P" status >/dev/null 2>&1 && ok "$what: relief status works" || bad "$what: relief status fails"
    bal=$(relief --data "$P" --json stock --site WH --item rice 2>/dev/null | json 'd[0]["balance"] if d else 0')
    expect_eq "$what: the balance is exactly the acknowledged quantity" "$bal" "$ACKED"
    if check_node "$P" "$what"; then ok "$what: digest == digest --rebuild"; else CHECKS=$((CHECKS + 1)); fi
    relief --data "$P" log -n 5 >/dev/null 2>&1 && ok "$what: relief log works" || bad "$what: relief log fails"
}
check_full_node "full"
# other writes fail the same way and change nothing
for cmd in "site add --kind centre --name Extra --code EX" "item add water --name Water --unit l" \
    "stock distribute --site WH --item rice --qty 1"; do
    # shellcheck disable=SC2086
    wr "$RELIEF" --data "$P" $cmd >/dev/null 2>"$T/other.err"
    rc=$?
    if [ $rc -eq 1 ]; then ok "full: '$cmd' exits 1 ($(head -n 1 "$T/other.err"))"
    elif [ $rc -eq 0 ]; then
        note "full: '$cmd' still fitted"
        case $cmd in *distribute*) ACKED=$((ACKED - 1)) ;; esac
    else bad "full: '$cmd' exits $rc: $(cat "$T/other.err")"; fi
done

# --- a sync into the full node: pull, and push through relief serve ---
Q=$T/q
relief --data "$Q" init --name other --network "$NET" >/dev/null 2>&1
relief --data "$Q" site add --kind centre --name "Shelter" --code SH >/dev/null 2>&1
relief --data "$Q" item add water --name Water --unit l >/dev/null 2>&1
"$PY" -c "
print('type,site,item,qty,from')
for i in range(6000): print('receive,SH,water,1,other-%d' % i)" >"$T/other.csv"
relief --data "$Q" import movements "$T/other.csv" >/dev/null 2>&1 || { bad "import of 6000 receipts into the other node"; exit 1; }
QPORT=$(free_port 0) PPORT=$(free_port 10)
start_serve "$Q" "$QPORT" || exit 1
QS=$SERVE_PID
wr "$RELIEF" --data "$P" sync "http://127.0.0.1:$QPORT" >/dev/null 2>"$T/pull.err"
rc=$?
if [ $rc -eq 1 ]; then ok "full: a pull into the full node exits 1 ($(tail -n 1 "$T/pull.err"))"
elif [ $rc -eq 0 ]; then note "full: the pull fitted: the node was not full enough"
else bad "full: a pull into the full node exits $rc: $(cat "$T/pull.err")"; fi
stop "$QS"
# the full node serves; the other node pushes to it
if [ "$METHOD" = ulimit ]; then
    ( trap '' XFSZ; ulimit -f "$FLIMIT"; exec setsid "$RELIEF" --data "$P" serve --listen "127.0.0.1:$PPORT" >>"$P.out" 2>>"$P.log" ) &
    PS=$!; PIDS="$PIDS $PS"
    for _ in $(seq 200); do grep -q "listening" "$P.out" 2>/dev/null && break; sleep 0.025; done
else
    # serve's own output goes off the small filesystem
    mkdir -p "$T/plog"; ln -sf "$T/plog/out" "$P.out"; ln -sf "$T/plog/log" "$P.log"
    start_serve "$P" "$PPORT" || exit 1
    PS=$SERVE_PID
fi
relief --data "$Q" sync "http://127.0.0.1:$PPORT" >/dev/null 2>"$T/push.err"
rc=$?
if [ $rc -eq 1 ]; then ok "full: a push to the full node's serve exits 1 ($(tail -n 1 "$T/push.err"))"
elif [ $rc -eq 0 ]; then note "full: the push fitted"
else bad "full: a push to the full node exits $rc: $(cat "$T/push.err")"; fi
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PPORT/healthz")
expect_eq "full: the full node's serve still answers /healthz" "$code" 200
kill -0 "$PS" 2>/dev/null && ok "full: serve is still running" || bad "full: serve died: $(tail -n 3 "$T/plog/log" "$P.log" 2>/dev/null)"
stop "$PS"
check_full_node "after the failed syncs"

# --- free the space: everything works again ---
if [ "$METHOD" = ulimit ]; then FLIMIT=""; else rm -f "$MNT/filler" "$MNT/filler2"; fi
note "space freed: $(df -h "$MNT" 2>/dev/null | tail -n 1)"
if wr "$RELIEF" --data "$P" stock receive --site WH --item rice --qty 5 --from after >/dev/null 2>"$T/after.err"; then
    ACKED=$((ACKED + 5)); ok "freed: a receipt works again"
else bad "freed: a receipt still fails: $(cat "$T/after.err")"; fi
start_serve "$Q" "$QPORT" || exit 1
QS=$SERVE_PID
if relief --data "$P" sync "http://127.0.0.1:$QPORT" >/dev/null 2>"$T/sync2.err"; then
    ok "freed: sync works again"
    expect_eq "freed: both nodes converge" "$(relief --data "$P" digest)" "$(relief --data "$Q" digest)"
else bad "freed: sync still fails: $(cat "$T/sync2.err")"; fi
stop "$QS"
if wr "$RELIEF" --data "$P" import movements "$T/batch.csv" >/dev/null 2>"$T/imp2.err"; then
    ACKED=$((ACKED + rows)); ok "freed: an import of $rows fits again"
else bad "freed: an import of $rows still fails: $(cat "$T/imp2.err")"; fi
check_full_node "freed"

# --- SIGXFSZ at its default action: what a user under a file-size limit sees ---
X=$T/x
relief --data "$X" init --name xfsz >/dev/null 2>&1
relief --data "$X" site add --kind warehouse --name W --code WH >/dev/null 2>&1
relief --data "$X" item add rice --name Rice --unit kg >/dev/null 2>&1
xl=$(( ($(stat -c %s "$X/data.mdb") >> 10) + 64 ))
( trap - XFSZ; ulimit -f "$xl"; for _ in $(seq 50); do "$RELIEF" --data "$X" import movements "$T/batch.csv" || exit $?; done ) >/dev/null 2>"$T/xfsz.err"
xrc=$?
if [ $xrc -gt 128 ]; then
    XFSZ="killed by signal $((xrc - 128)) ($(kill -l $((xrc - 128)) 2>/dev/null))"
    note "under 'ulimit -f' with SIGXFSZ at its default action a write is $XFSZ, with no message (see README, Findings)"
else
    XFSZ="exit $xrc: $(head -n 1 "$T/xfsz.err")"
fi
if check_node "$X" "after SIGXFSZ"; then ok "after SIGXFSZ: digest == digest --rebuild"; else CHECKS=$((CHECKS + 1)); fi

kill "$WATCHDOG" 2>/dev/null
echo "fulldisk: method $METHOD ${SIZE_MB} MB; filled after $imports imports of $rows + $singles single receipts ($ACKED kg acknowledged, all present); failing write: exit $RECV_RC '$MSG'; under ulimit -f with default SIGXFSZ: $XFSZ; $CHECKS checks, failures $FAILS"
[ "$FAILS" -eq 0 ]
