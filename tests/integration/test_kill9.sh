#!/bin/bash
# kill -9 during a loop of durable appends loses nothing that was acknowledged, and the state
# equals the one rebuilt from the op log.
. "$(dirname "$0")/../lib.sh"
APPENDER="$BUILD_DIR/tests/appender"

relief init --name crashy >/dev/null || { not_ok "init"; exit 1; }
for round in 1 2 3 4 5; do
    "$APPENDER" "$RELIEF_DATA" >"$T/acks.$round" 2>"$T/err.$round" &
    pid=$!
    PIDS="$PIDS $pid"
    # a random moment between 0.1 and 0.6 s
    sleep "0.$((RANDOM % 5 + 1))"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    last=$(grep '^ack ' "$T/acks.$round" | tail -n 1)
    origin=$(echo "$last" | cut -d' ' -f2)
    seq=$(echo "$last" | cut -d' ' -f3)
    if [ -z "$seq" ]; then
        not_ok "round $round: appender acknowledged something" "$(cat "$T/err.$round")"
        continue
    fi
    held=$(relief --json status | /usr/bin/python3 -c "
import json,sys
s=json.load(sys.stdin)
print(next((o['seq'] for o in s['version_vector'] if o['origin']=='$origin'),0))")
    if [ "$held" -ge "$seq" ]; then ok "round $round: all $seq acknowledged ops survive kill -9"; else
        not_ok "round $round: acknowledged $seq, held $held"; fi
    check_eq "round $round: digest equals the one rebuilt from the op log" \
        "$(relief digest --rebuild)" "$(relief digest)"
done

# kill -9 during a long import: the transactions it committed stay, `relief status` says how far
# it got, and importing the same file again writes the rest -- each row once
N="$T/import"
relief --data "$N" init --name importer >/dev/null
relief --data "$N" demo >/dev/null 2>&1
/usr/bin/python3 -c 'import sys; sys.stdout.write("type,site,item,qty\n" + "receive,WH-ISH,rice-5kg,1\n" * 400000)' >"$T/long.csv"
num() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print(*[$1])"; }
bal() { relief --data "$N" --json stock --site WH-ISH --item rice-5kg | num 'd[0]["balance"]'; }
ops() { relief --data "$N" --json status | num 'd["ops"]'; }
b0=$(bal) ops0=$(ops)
"$RELIEF_BIN" --data "$N" import movements "$T/long.csv" 2>/dev/null &
pid=$!
PIDS="$PIDS $pid"
# once its first transaction of 20,000 rows is in (the file takes several)
for i in $(seq 600); do [ "$(ops)" -gt "$ops0" ] && break; sleep 0.05; done
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
written=$(relief --data "$N" --json status | num 'd["imports_cut_short"][0]["written"] if d["imports_cut_short"] else 0')
if [ "$written" -gt 0 ] && [ "$written" -lt 400000 ] && [ $((written % 20000)) -eq 0 ]; then
    ok "status shows the import cut short after whole transactions ($written rows)"
else
    not_ok "status shows the import cut short after whole transactions" "written: $written"
fi
check_eq "what it wrote is in the stock" "$(bal)" "$((b0 + written))"
check_match "status says how to write the rest" "$(relief --data "$N" status)" \
    "import +movements from '.*long.csv' cut short: $written of 400000 rows written; import the same file again"
check_eq "the digest equals the one rebuilt from the op log" \
    "$(relief --data "$N" digest --rebuild)" "$(relief --data "$N" digest)"
out=$(relief --data "$N" import movements "$T/long.csv" 2>&1)
check_eq "importing the file again writes the rest" "$out" \
    "imported $((400000 - written)) movements, from line $((written + 2)) on: the rest of an import of this file cut short after $written of 400000 rows"
check_eq "each row counted once" "$(bal)" "$((b0 + 400000))"
check_eq "no import is left cut short" "$(relief --data "$N" --json status | num 'len(d["imports_cut_short"])')" 0
out=$(relief --data "$N" --json import movements "$T/long.csv" 2>/dev/null | num 'd["resumed"], d["written"]')
check_eq "a third import of the file is a new one" "$out" "0 400000"
check_eq "and counts again" "$(bal)" "$((b0 + 800000))"
# one import of a file at a time: a second while the first runs is refused, writing nothing
"$RELIEF_BIN" --data "$N" import movements "$T/long.csv" 2>/dev/null &
pid=$!
PIDS="$PIDS $pid"
for i in $(seq 200); do [ "$(ops)" -gt "$((ops0 + 800000))" ] && break; sleep 0.05; done
out=$(relief --data "$N" import movements "$T/long.csv" 2>&1)
check_match "a second import of the same file at once is refused" "$out" "is being imported by another relief"
wait "$pid"
check_eq "the first wrote every row once" "$(bal)" "$((b0 + 1200000))"
