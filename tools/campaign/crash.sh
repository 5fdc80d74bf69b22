#!/bin/bash
# Crash campaign (issue #7): kill -9 at random moments (20-400 ms in) during
#   (a) a CLI write load: a loop of `relief stock receive|distribute|adjust`, each with a unique
#       --by tag, "ack TAG" logged after each exit 0;
#   (b) a sync of a large op set between two nodes (pull into a fresh node, or push from the
#       large node into a fresh server), killing the server or the client side in turn;
#   (c) an HTTP write load (POST /api/v1/stock/receive, 4 keep-alive clients), killing the
#       server; skipped when the endpoint does not exist yet.
# After each kill: the node opens, every acknowledged write is there (and nothing that was
# never attempted), balances equal the ops held, digest == digest --rebuild; after a sync kill
# the receiver holds at least what it held just before the kill, and a resumed sync converges.
#   tools/campaign/crash.sh [--rounds N] [--seconds S] [--build DIR] [--modes cli,sync,http]
#                           [--sync-ops N]
# One round kills once in every mode. Exit 1 on any violation.
. "$(dirname "$0")/lib.sh"

ROUNDS=${CRASH_ROUNDS:-100}
SECONDS_MAX=${CRASH_SECONDS:-0}
MODES=${CRASH_MODES:-cli,sync,http}
SYNC_OPS=${CRASH_SYNC_OPS:-300000}
while [ $# -gt 0 ]; do
    case $1 in
    --rounds) ROUNDS=$2; shift 2 ;;
    --seconds) SECONDS_MAX=$2; shift 2 ;;
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --modes) MODES=$2; shift 2 ;;
    --sync-ops) SYNC_OPS=$2; shift 2 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "crash.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
has_mode() { case ",$MODES," in *",$1,"*) return 0 ;; esac; return 1; }

campaign_setup crash
START=$(date +%s)
KILLS_CLI=0 KILLS_SYNC=0 KILLS_HTTP=0 ACKED_CLI=0 ACKED_HTTP=0 LATE=0
SYNC_SERVER_KILLS=0 SYNC_CLIENT_KILLS=0 SYNC_MID=0 HTTP_ERRS=0

# ---------- (a) CLI write load ----------
W=$T/w
if has_mode cli; then
    relief --data "$W" init --name crash-cli >/dev/null 2>&1
    relief --data "$W" site add --kind warehouse --name Warehouse --code WH >/dev/null 2>&1
    relief --data "$W" item add rice --name Rice --unit kg >/dev/null 2>&1
    cat >"$T/cliload.sh" <<'LOAD'
#!/bin/bash
# cliload.sh RELIEF DIR PREFIX LOG: receive 3, distribute 1, adjust -1, ... forever
R=$1 D=$2 P=$3 L=$4 i=0
while :; do
    tag="$P.$i"
    echo "try $tag" >>"$L"
    case $((i % 3)) in
    0) "$R" --data "$D" --by "$tag" stock receive --site WH --item rice --qty 3 --from "$tag" ;;
    1) "$R" --data "$D" --by "$tag" stock distribute --site WH --item rice --qty 1 ;;
    2) "$R" --data "$D" --by "$tag" stock adjust --site WH --item rice --qty -1 --reason damaged ;;
    esac >/dev/null 2>>"$L.err" && echo "ack $tag" >>"$L"
    i=$((i + 1))
done
LOAD
    chmod +x "$T/cliload.sh"
fi

# check_cli: every acked tag is in the op log once, every op in the log was attempted, the
# balance equals the ops held
check_cli() {
    relief --data "$W" --json log -n 1000000 >"$T/w.log.json" 2>"$T/w.log.err" ||
        { fail "cli: relief log fails: $(cat "$T/w.log.err")"; return; }
    bal=$(relief --data "$W" --json stock --site WH --item rice | json 'd[0]["balance"] if d else 0')
    out=$("$PY" - "$T/w.log.json" "$T/cli.log" "$bal" <<'PYEOF'
import json, re, sys
log = json.load(open(sys.argv[1]))
tried, acked = set(), set()
for l in open(sys.argv[2]):
    w = l.split()
    if len(w) == 2 and w[0] == "try": tried.add(w[1])
    if len(w) == 2 and w[0] == "ack": acked.add(w[1])
held = {}
bal = 0
for op in log:
    a = op.get("author", "")
    if not re.match(r"c[0-9]+\.[0-9]+$", a): continue
    held[a] = held.get(a, 0) + 1
    k = op["kind_name"]
    bal += {"stock.receive": 3, "stock.distribute": -1, "stock.adjust": -1}.get(k, 0)
errs = []
missing = sorted(acked - set(held))
if missing: errs.append("acknowledged but missing: %s" % missing[:10])
extra = sorted(set(held) - tried)
if extra: errs.append("held but never attempted: %s" % extra[:10])
dup = sorted(t for t, n in held.items() if n > 1)
if dup: errs.append("held twice: %s" % dup[:10])
if bal != int(sys.argv[3]): errs.append("balance %s, ops held say %d" % (sys.argv[3], bal))
print(len(acked), len(held), len(tried), "; ".join(errs))
PYEOF
)
    read -r n_acked _ _ errs <<<"$out"
    ACKED_CLI=$n_acked
    [ -n "$errs" ] && fail "cli round $r: $errs"
}

cli_round() {
    setsid "$T/cliload.sh" "$RELIEF" "$W" "c$r" "$T/cli.log" &
    local pid=$!
    PIDS="$PIDS $pid"
    sleep "$(rand_delay)"
    kill9 "$pid"
    KILLS_CLI=$((KILLS_CLI + 1))
    check_node "$W" "cli round $r" && check_cli
}

# ---------- (b) sync of a large op set ----------
BIG=$T/big
if has_mode sync; then
    relief --data "$BIG" init --name crash-big >/dev/null 2>&1
    relief --data "$BIG" site add --kind warehouse --name Warehouse --code WH >/dev/null 2>&1
    relief --data "$BIG" item add rice --name Rice --unit kg >/dev/null 2>&1
    "$PY" -c "
print('type,site,item,qty,from')
for i in range($SYNC_OPS): print('receive,WH,rice,1,big-%d' % i)" >"$T/big.csv"
    relief --data "$BIG" import movements "$T/big.csv" 2>/dev/null || { fail "import of $SYNC_OPS movements"; exit 1; }
    rm -f "$T/big.csv"
    NET=$(net_of "$BIG")
    BIG_OPS=$(ops_of "$BIG")
    SPORT=$(free_port 0)
    note "sync: a node of $BIG_OPS ops, network $NET"
fi

# wait_gone PID SECONDS: 0 when it exited in time (its status in WAIT_RC)
wait_gone() {
    for _ in $(seq $(($2 * 20))); do
        kill -0 "$1" 2>/dev/null || { wait "$1"; WAIT_RC=$?; return 0; }
        sleep 0.05
    done
    return 1
}

sync_round() {
    local v=$((r % 4)) F=$T/f$r dir server client receiver victim pc ps before after
    relief --data "$F" init --name "fresh$r" --network "$NET" >/dev/null 2>&1
    case $v in
    0) server=$BIG client=$F receiver=$F victim=client what="pull, client killed" ;;
    1) server=$F client=$BIG receiver=$F victim=server what="push, server killed" ;;
    2) server=$BIG client=$F receiver=$F victim=server what="pull, server killed" ;;
    3) server=$F client=$BIG receiver=$F victim=client what="push, client killed" ;;
    esac
    start_serve "$server" "$SPORT" || { fail "sync round $r: serve does not start"; return; }
    ps=$SERVE_PID
    setsid "$RELIEF" --data "$client" sync "http://127.0.0.1:$SPORT" >"$T/sync.out" 2>"$T/sync.err" &
    pc=$!
    PIDS="$PIDS $pc"
    sleep "$(rand_delay)"
    before=$(ops_of "$receiver")
    if ! kill -0 "$pc" 2>/dev/null; then LATE=$((LATE + 1)); fi
    if [ $victim = server ]; then
        kill9 "$ps"
        SYNC_SERVER_KILLS=$((SYNC_SERVER_KILLS + 1))
        # the client must notice and exit plainly, not hang or crash
        if ! wait_gone "$pc" 60; then
            fail "sync round $r ($what): the client hangs after the server died"
            kill9 "$pc"
        elif [ "$WAIT_RC" -gt 1 ]; then
            fail "sync round $r ($what): the client exits $WAIT_RC: $(tail -n 2 "$T/sync.err")"
        fi
    else
        kill9 "$pc"
        SYNC_CLIENT_KILLS=$((SYNC_CLIENT_KILLS + 1))
        # the server may still be applying the last batch it received: stop it (SIGTERM lets
        # it finish) so that digest and digest --rebuild below read the same ops
        stop "$ps"
    fi
    KILLS_SYNC=$((KILLS_SYNC + 1))
    check_node "$server" "sync round $r ($what), server"
    check_node "$client" "sync round $r ($what), client"
    after=$(ops_of "$receiver")
    if [ "$after" -lt "$before" ]; then
        fail "sync round $r ($what): the receiver showed $before ops before the kill, holds $after"
    fi
    [ "$after" -lt "$BIG_OPS" ] && SYNC_MID=$((SYNC_MID + 1))
    echo "sync round $r ($what): receiver held $before ops before the kill, $after after, of $BIG_OPS" >>"$T/rounds.log"
    # resume: a running server, one more sync to the end, equal digests
    kill -0 "$ps" 2>/dev/null || {
        start_serve "$server" "$SPORT" || { fail "sync round $r: serve does not restart"; return; }
        ps=$SERVE_PID
    }
    if ! timeout 120 "$RELIEF" --data "$client" sync "http://127.0.0.1:$SPORT" >"$T/sync.out" 2>"$T/sync.err"; then
        fail "sync round $r ($what): the resumed sync fails: $(tail -n 2 "$T/sync.err")"
    fi
    stop "$ps"
    local da db
    da=$(relief --data "$server" digest) db=$(relief --data "$client" digest)
    [ "$da" = "$db" ] || fail "sync round $r ($what): after resuming, digests differ ($da, $db)"
    [ "$(ops_of "$F")" -ge "$BIG_OPS" ] || fail "sync round $r ($what): the fresh node holds $(ops_of "$F") ops of $BIG_OPS"
    [ "$FAILS" -eq 0 ] && rm -rf "$F" "$F.out" "$F.log"
}

# ---------- (c) HTTP write load ----------
H=$T/h
HTTP=0
if has_mode http; then
    relief --data "$H" init --name crash-http >/dev/null 2>&1
    relief --data "$H" site add --kind warehouse --name Warehouse --code WH >/dev/null 2>&1
    relief --data "$H" item add rice --name Rice --unit kg >/dev/null 2>&1
    HPORT=$(free_port 50)
    start_serve "$H" "$HPORT" || exit 1
    code=$(curl -s -o "$T/probe" -w '%{http_code}' -H 'Content-Type: application/json' \
        --data '{"site":"WH","item":"rice","qty":1,"from":"probe"}' "http://127.0.0.1:$HPORT/api/v1/stock/receive")
    HTTP_FROM=""
    if [ "$code" = 200 ] || [ "$code" = 201 ]; then
        HTTP=1 HTTP_FROM=--from
    else
        code2=$(curl -s -o "$T/probe2" -w '%{http_code}' -H 'Content-Type: application/json' \
            --data '{"site":"WH","item":"rice","qty":1}' "http://127.0.0.1:$HPORT/api/v1/stock/receive")
        if [ "$code2" = 200 ] || [ "$code2" = 201 ]; then HTTP=1; fi
    fi
    if [ $HTTP = 1 ]; then
        echo "try probe" >"$T/http.log"; echo "ack probe 201" >>"$T/http.log"
        note "http: POST /api/v1/stock/receive answers $code${code2:+/$code2}; tags in 'from': ${HTTP_FROM:-no}"
    else
        note "http: POST /api/v1/stock/receive answers $code ($(head -c 200 "$T/probe")): HTTP mode skipped"
    fi
    HSERVE=$SERVE_PID
fi

check_http() {
    local bal
    bal=$(relief --data "$H" --json stock --site WH --item rice | json 'd[0]["balance"] if d else 0')
    relief --data "$H" --json log -n 1000000 >"$T/h.log.json" 2>/dev/null
    out=$("$PY" - "$T/h.log.json" "$T/http.log" "$bal" "$HTTP_FROM" <<'PYEOF'
import json, sys
log = json.load(open(sys.argv[1]))
tried, acked, errs_n = set(), set(), 0
for l in open(sys.argv[2]):
    w = l.split()
    if len(w) >= 2 and w[0] == "try": tried.add(w[1])
    if len(w) >= 2 and w[0] == "ack": acked.add(w[1])
    if len(w) >= 2 and w[0] == "err": errs_n += 1
bal = int(sys.argv[3])
errs = []
if not (len(acked) <= bal <= len(tried)):
    errs.append("balance %d, acknowledged %d, attempted %d" % (bal, len(acked), len(tried)))
if sys.argv[4]:
    held = {}
    for op in log:
        if op["kind_name"] == "stock.receive":
            t = op["body"].get("6")
            if t: held[t] = held.get(t, 0) + 1
    missing = sorted(acked - set(held))
    if missing: errs.append("acknowledged but missing: %s" % missing[:10])
    extra = sorted(set(held) - tried)
    if extra: errs.append("held but never attempted: %s" % extra[:10])
    dup = sorted(t for t, n in held.items() if n > 1)
    if dup: errs.append("held twice: %s" % dup[:10])
print(len(acked), errs_n, "; ".join(errs))
PYEOF
)
    read -r n_acked n_err errs <<<"$out"
    ACKED_HTTP=$n_acked HTTP_ERRS=$n_err
    [ -n "$errs" ] && fail "http round $r: $errs"
}

http_round() {
    kill -0 "$HSERVE" 2>/dev/null || { start_serve "$H" "$HPORT" || { fail "http round $r: serve does not restart"; return; }; HSERVE=$SERVE_PID; }
    setsid "$PY" "$CAMPAIGN_DIR/httpload.py" "http://127.0.0.1:$HPORT" "$T/http.log" --prefix "h$r." $HTTP_FROM &
    local lp=$!
    PIDS="$PIDS $lp"
    # the delay counts from the first answer, not from python's start
    for _ in $(seq 200); do grep -q "^ack h$r\." "$T/http.log" && break; sleep 0.01; done
    sleep "$(rand_delay)"
    kill9 "$HSERVE"
    sleep 0.05
    kill9 "$lp"
    KILLS_HTTP=$((KILLS_HTTP + 1))
    check_node "$H" "http round $r" && check_http
}

# ---------- the rounds ----------
for r in $(seq "$ROUNDS"); do
    if [ "$SECONDS_MAX" -gt 0 ] && [ $(($(date +%s) - START)) -ge "$SECONDS_MAX" ]; then
        note "time is up after $((r - 1)) rounds"
        r=$((r - 1))
        break
    fi
    has_mode cli && cli_round
    has_mode sync && sync_round
    [ $HTTP = 1 ] && http_round
    [ $((r % 10)) -eq 0 ] && note "round $r: kills cli $KILLS_CLI, sync $KILLS_SYNC, http $KILLS_HTTP; failures $FAILS"
done
[ -n "${HSERVE:-}" ] && stop "$HSERVE"
ELAPSED=$(($(date +%s) - START))
KILLS=$((KILLS_CLI + KILLS_SYNC + KILLS_HTTP))
echo "crash: rounds $r, kills $KILLS (cli $KILLS_CLI, sync $KILLS_SYNC: server $SYNC_SERVER_KILLS, client $SYNC_CLIENT_KILLS, http $KILLS_HTTP), acked writes checked $((ACKED_CLI + ACKED_HTTP)) (cli $ACKED_CLI, http $ACKED_HTTP; http errors while the server died $HTTP_ERRS), sync kills that left the receiver short of the full set $SYNC_MID (the sync process had already ended: $LATE), ${ELAPSED}s, failures $FAILS"
[ "$FAILS" -eq 0 ]
