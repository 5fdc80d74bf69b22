#!/bin/bash
# Clock skew (faketime; FAKETIME_DONT_FAKE_MONOTONIC=1): a node whose clock says 2099 is named
# in the alerts; a node with a right clock that edits a value after seeing A's 2099 value wins
# (the overwrite rule stamps its edit past 2099) and is not named.
. "$(dirname "$0")/../lib.sh"
if ! command -v faketime >/dev/null 2>&1; then
    not_ok "faketime is installed (tools/deps.sh test)"
    exit 0
fi
export FAKETIME_DONT_FAKE_MONOTONIC=1
F="faketime -f +2290000000" # about 72 years ahead
py() { /usr/bin/python3 -c "$@"; }
A="$T/a" B="$T/b"
$F "$RELIEF_BIN" --data "$A" init --name node-a >/dev/null 2>&1
NET=$(relief --data "$A" --json status | py 'import json,sys; print(json.load(sys.stdin)["network"])')
relief --data "$B" init --name node-b --network "$NET" >/dev/null 2>&1
$F "$RELIEF_BIN" --data "$A" site add --kind centre --name S --code S --occupancy 1 >/dev/null 2>&1
$F "$RELIEF_BIN" --data "$A" bundle create "$T/a.bundle" >/dev/null 2>&1
relief --data "$B" bundle apply "$T/a.bundle" >/dev/null 2>&1
check_eq "A's ops are stamped 2099" "$(relief --data "$B" --json log | py 'import json,sys; print(any(e["time"].startswith("2099-") for e in json.load(sys.stdin)))')" True
relief --data "$B" site set S --occupancy 2 >/dev/null 2>&1
check_eq "B's edit after seeing A's 2099 value wins" \
    "$(relief --data "$B" --json site show S | py 'import json,sys; print(json.load(sys.stdin)["occupancy"])')" 2
al=$(relief --data "$B" alerts)
check_match "the node whose clock says 2099 is named" "$al" "clock of node [0-9a-f]+ node-a is far ahead"
check_eq "the node that only overwrote a 2099 value is not" "$(printf '%s\n' "$al" | grep -c 'node-b is far ahead')" 0
relief --data "$B" bundle create "$T/b.bundle" >/dev/null 2>&1
$F "$RELIEF_BIN" --data "$A" bundle apply "$T/b.bundle" >/dev/null 2>&1
check_eq "A takes B's edit too" \
    "$(relief --data "$A" --json site show S | py 'import json,sys; print(json.load(sys.stdin)["occupancy"])')" 2
check_eq "both hold the same state" "$(relief --data "$A" digest)" "$(relief --data "$B" digest)"
