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
