#!/bin/bash
# Clock skew (faketime; FAKETIME_DONT_FAKE_MONOTONIC=1): a node whose clock says 2099 is named
# in the alerts; a node with a right clock that edits a value after seeing A's 2099 value wins
# (the overwrite rule stamps its edit past 2099) and is not named. A node whose clock was set
# back says so.
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

# A clock set back (a laptop whose clock battery ran down in a power cut): with another node's
# word for a later time, the node says so, keeps stamping its changes after its last one, judges
# lots by its last stamp, and calls no node with a right clock ahead. A clock that ran ahead and
# was set right is not called behind.
C="$T/c" D="$T/d"
relief --data "$C" init --name node-c --network "$NET" >/dev/null 2>&1
relief --data "$D" init --name node-d --network "$NET" >/dev/null 2>&1
relief --data "$C" item add water --name Water --unit bottle >/dev/null 2>&1
relief --data "$C" site add --kind warehouse --name W --code W >/dev/null 2>&1
day=$(date -u -d '+3 days' +%Y-%m-%d)
relief --data "$C" stock receive --site W --item water --qty 5 --lot L1 --expiry "$day" >/dev/null 2>&1
# D, with a right clock, writes two days after C's last change (and C gets it)
faketime -f +2d "$RELIEF_BIN" --data "$D" site add --kind centre --name Dsite --code DS >/dev/null 2>&1
faketime -f +2d "$RELIEF_BIN" --data "$D" bundle create "$T/d.bundle" >/dev/null 2>&1
relief --data "$C" bundle apply "$T/d.bundle" >/dev/null 2>&1
check_eq "with a right clock: no clock_behind" "$(relief --data "$C" alerts | grep -c 'clock of this node')" 0
B400="faketime -f -400d"
al=$($B400 "$RELIEF_BIN" --data "$C" alerts)
check_match "set back 400 days, the node says its clock is behind" "$al" \
    "clock of this node [0-9a-f]+ node-c says [0-9-]+.*before its own last change"
check_match "lots are judged by its last change, not by the clock set back" "$al" "L1"
check_eq "a node with a right clock is not called ahead, though it wrote after C's last change" \
    "$(printf '%s\n' "$al" | grep -c 'far ahead')" 0
check_eq "in JSON, one clock alert: clock_behind" \
    "$($B400 "$RELIEF_BIN" --data "$C" --json alerts | py 'import json,sys; print([a["type"] for a in json.load(sys.stdin) if a["type"].startswith("clock")])')" "['clock_behind']"
$B400 "$RELIEF_BIN" --data "$C" site set W --occupancy 3 >/dev/null 2>&1
check_eq "a change made meanwhile is stamped after the last one, not 400 days back" \
    "$(relief --data "$C" --json log | py 'import json,sys; e=[x for x in json.load(sys.stdin) if x["node"] == "node-c"]; e.sort(key=lambda x: -x["hlc"]); print(e[0]["kind_name"], e[0]["hlc"] > e[1]["hlc"], e[0]["time"][:4] == e[1]["time"][:4])')" "site.set True True"
# a clock that ran a year ahead, then was set right: its own last stamp is ahead, the other
# node's (a right clock) is not
E="$T/e" F="$T/f"
relief --data "$E" init --name node-e >/dev/null 2>&1
NET2=$(relief --data "$E" --json status | py 'import json,sys; print(json.load(sys.stdin)["network"])')
relief --data "$F" init --name node-f --network "$NET2" >/dev/null 2>&1
relief --data "$F" site add --kind centre --name F --code F >/dev/null 2>&1
relief --data "$F" bundle create "$T/f.bundle" >/dev/null 2>&1
relief --data "$E" bundle apply "$T/f.bundle" >/dev/null 2>&1
relief --data "$E" item add water --name Water --unit bottle >/dev/null 2>&1
relief --data "$E" site add --kind warehouse --name W --code W >/dev/null 2>&1
far=$(date -u -d '+200 days' +%Y-%m-%d)
relief --data "$E" stock receive --site W --item water --qty 5 --lot L9 --expiry "$far" >/dev/null 2>&1
faketime -f +365d "$RELIEF_BIN" --data "$E" stock receive --site W --item water --qty 1 >/dev/null 2>&1
al=$(relief --data "$E" alerts)
check_eq "a clock that ran ahead and was set right is not called behind" \
    "$(printf '%s\n' "$al" | grep -c 'clock of this node')" 0
check_eq "and its lots are judged by its clock: none expired" "$(printf '%s\n' "$al" | grep -c 'L9')" 0
check_match "its own year-ahead change is what is called ahead" "$al" "clock of node [0-9a-f]+ node-e is far ahead"

# a count made after seeing one stamped by a clock running ahead wins over it (it is stamped
# past it, as an edit is past what it saw): B counts what is on the shelf now
AHEAD="faketime -f +2290000000"
$AHEAD "$RELIEF_BIN" --data "$A" item add rice --name Rice --unit bag >/dev/null 2>&1
$AHEAD "$RELIEF_BIN" --data "$A" stock receive --site S --item rice --qty 10 >/dev/null 2>&1
$AHEAD "$RELIEF_BIN" --data "$A" stock count --site S --item rice --qty 8 >/dev/null 2>&1
$AHEAD "$RELIEF_BIN" --data "$A" bundle create "$T/a2.bundle" >/dev/null 2>&1
relief --data "$B" bundle apply "$T/a2.bundle" >/dev/null 2>&1
check "B counts the shelf after seeing A's 2099 count" relief --data "$B" stock count --site S --item rice --qty 6
check_eq "B's count wins" "$(relief --data "$B" --json stock --site S --item rice | py 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')" 6
relief --data "$B" bundle create "$T/b2.bundle" >/dev/null 2>&1
$AHEAD "$RELIEF_BIN" --data "$A" bundle apply "$T/b2.bundle" >/dev/null 2>&1
check_eq "on A too" "$($AHEAD "$RELIEF_BIN" --data "$A" --json stock --site S --item rice | py 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')" 6
