#!/bin/bash
# Clock-skew campaign (issue #7), with Debian's faketime and FAKETIME_DONT_FAKE_MONOTONIC=1 (so
# libuv's timers still run): node A's clock says 2099, node B's is an hour behind, node C's is
# right. Every command and every `relief serve` of a node runs under that node's clock.
# Shows: an edit made on B after seeing (synced) A's 2099 value still wins (the HLC overwrite
# rule), and so does one made on C after seeing B's; A's clock does not drag the others' clocks
# to 2099; concurrent edits are a conflict that an edit which saw both resolves; alerts on the
# nodes name the skewed node; after syncing (relief serve + relief sync) all three converge.
#   tools/campaign/clockskew.sh [--build DIR] [--timeout SECONDS]   (default 120)
# Installs the faketime package when it is missing (apt-get, as root). Exit 1 on any violation.
. "$(dirname "$0")/lib.sh"
LIMIT=${CLOCKSKEW_TIMEOUT:-120}
while [ $# -gt 0 ]; do
    case $1 in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --timeout) LIMIT=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "clockskew.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
if ! command -v faketime >/dev/null 2>&1; then
    note "installing faketime"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq faketime >/dev/null 2>&1 ||
        { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq faketime >/dev/null 2>&1; } ||
        { echo "clockskew.sh: faketime is not installed and cannot be installed" >&2; exit 2; }
fi
campaign_setup clockskew
# the whole campaign is bounded: a watchdog ends it (and the trap kills the servers)
( sleep "$LIMIT"; echo "clockskew: timed out after ${LIMIT}s" >&2; kill -TERM $$ ) 2>/dev/null &
WATCHDOG=$!
PIDS="$PIDS $WATCHDOG"
export FAKETIME_DONT_FAKE_MONOTONIC=1
CHECKS=0
ok() { CHECKS=$((CHECKS + 1)); echo "ok - $*"; }
bad() { CHECKS=$((CHECKS + 1)); fail "$*"; }
expect_eq() { if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$2', wanted '$3'"; fi; }
expect_match() { if printf '%s\n' "$2" | grep -Eq -- "$3"; then ok "$1"; else bad "$1: '$2' does not match '$3'"; fi; }

A=$T/a B=$T/b C=$T/c
OFF_A="+$(( $(date -d 2099-06-01 +%s) - $(date +%s) ))"   # faketime offset in seconds
OFF_B="-3600"
# run a node's command under its clock
ra() { faketime -f "$OFF_A" "$RELIEF" --data "$A" --by alice "$@"; }
rb() { faketime -f "$OFF_B" "$RELIEF" --data "$B" --by bob "$@"; }
rc() { "$RELIEF" --data "$C" --by carol "$@"; }
note "A's clock: $(faketime -f "$OFF_A" date -u +%FT%TZ), B's: $(faketime -f "$OFF_B" date -u +%FT%TZ), C's: $(date -u +%FT%TZ)"

ra init --name node-a >/dev/null 2>&1
NET=$(net_of "$A")
rb init --name node-b --network "$NET" >/dev/null 2>&1
rc init --name node-c --network "$NET" >/dev/null 2>&1
IDA=$(relief --data "$A" --json status | json 'd["node"]')
IDB=$(relief --data "$B" --json status | json 'd["node"]')
IDC=$(relief --data "$C" --json status | json 'd["node"]')
PA=$(free_port 0) PB=$(free_port 10)
SERVE_PREFIX="faketime -f $OFF_A" start_serve "$A" "$PA" || exit 1
SA=$SERVE_PID
SERVE_PREFIX="faketime -f $OFF_B" start_serve "$B" "$PB" || exit 1
SB=$SERVE_PID
UA="http://127.0.0.1:$PA" UB="http://127.0.0.1:$PB"
occ() { "$RELIEF" --data "$1" --json site show SH | json 'd.get("occupancy")'; }
conflicts_of() { "$RELIEF" --data "$1" --json site show SH | json 'len(d.get("conflicts") or [])'; }
# the time of the newest op of origin $2 held by node $1 (log is newest first by hlc)
lasttime() { "$RELIEF" --data "$1" --json log -n 1 --origin "$2" | json 'd[0]["time"]'; }

# C (right clock) creates the shelter; everyone syncs
rc site add --kind centre --name "Ishinomaki shelter" --code SH --capacity 500 --occupancy 10 >/dev/null 2>&1
rc sync "$UA" >/dev/null 2>&1 && rb sync "$UA" >/dev/null 2>&1 || bad "first syncs"
expect_eq "B sees C's occupancy" "$(occ "$B")" 10

# A (2099) sets the occupancy; B pulls it and then edits it: B's edit must win everywhere
ra site set SH --occupancy 100 >/dev/null 2>&1
expect_match "A's op is stamped 2099" "$(lasttime "$A" "$IDA")" '^2099-'
rb sync "$UA" >/dev/null 2>&1 || bad "B syncs with A"
expect_eq "B sees A's value" "$(occ "$B")" 100
rb site set SH --occupancy 50 >/dev/null 2>&1
expect_eq "B's edit after seeing A's value shows on B" "$(occ "$B")" 50
rb sync "$UA" >/dev/null 2>&1 || bad "B pushes to A"
expect_eq "and wins on A (2099) too" "$(occ "$A")" 50
expect_eq "no conflict on A" "$(conflicts_of "$A")" 0
rc sync "$UB" >/dev/null 2>&1 || bad "C syncs with B"
expect_eq "and on C" "$(occ "$C")" 50
# C (right clock) edits after seeing B's edit: wins as well
rc site set SH --occupancy 60 >/dev/null 2>&1
rc sync "$UA" >/dev/null 2>&1 && rb sync "$UA" >/dev/null 2>&1 || bad "C and B sync with A"
expect_eq "C's later edit wins on A" "$(occ "$A")" 60
expect_eq "and on B" "$(occ "$B")" 60

# A's 2099 ops do not drag B's and C's clocks to 2099 (at most RL_HLC_MAX_DRIFT_MS, 5 min ahead)
rb item add rice --name Rice --unit kg >/dev/null 2>&1
rc item add water --name Water --unit l >/dev/null 2>&1
tb=$(lasttime "$B" "$IDB") tc=$(lasttime "$C" "$IDC")
expect_match "B's next new op is stamped by B's clock, not 2099 ($tb)" "$tb" "^$(faketime -f "$OFF_B" date -u +%Y)-"
expect_match "C's next new op is stamped by C's clock, not 2099 ($tc)" "$tc" "^$(date -u +%Y)-"
skew=$("$PY" -c "
import datetime,sys
t=datetime.datetime.strptime('$tb','%Y-%m-%dT%H:%M:%S.%fZ')
now=datetime.datetime.utcnow()-datetime.timedelta(seconds=3600)
print(int((t-now).total_seconds()))")
if [ "$skew" -le 310 ]; then ok "B's clock is at most 5 min ahead of B's wall time (${skew}s)"; else
    bad "B's clock ran ${skew}s ahead of its wall time"; fi

# concurrent edits (A and B each without seeing the other's) are a conflict shown with both
# values; an edit that saw both resolves it
ra site set SH --occupancy 70 >/dev/null 2>&1
rb site set SH --occupancy 80 >/dev/null 2>&1
rb sync "$UA" >/dev/null 2>&1 || bad "B syncs with A"
expect_eq "concurrent edits: a conflict on B" "$(conflicts_of "$B")" 1
expect_eq "the greatest head is shown meanwhile (A's 2099 edit)" "$(occ "$B")" 70
expect_match "relief conflicts lists both values" "$(rb conflicts 2>&1 | tr '\n' ' ')" " 70 .* 80 | 80 .* 70 "
rb site set SH --occupancy 75 >/dev/null 2>&1
expect_eq "an edit that saw both resolves it on B" "$(conflicts_of "$B")/$(occ "$B")" 0/75
rb sync "$UA" >/dev/null 2>&1 || bad "B syncs with A"
expect_eq "and on A" "$(conflicts_of "$A")/$(occ "$A")" 0/75

# everyone converges: C <-> B, B <-> A, C <-> A, until nothing moves
for u in "$UB" "$UA"; do rc sync "$u" >/dev/null 2>&1 || bad "C syncs with $u"; done
rb sync "$UA" >/dev/null 2>&1 || bad "B syncs with A"
rc sync "$UB" >/dev/null 2>&1 || bad "C syncs with B"
da=$(relief --data "$A" digest) db=$(relief --data "$B" digest) dc=$(relief --data "$C" digest)
expect_eq "all three converge (digests A=B)" "$da" "$db"
expect_eq "all three converge (digests B=C)" "$db" "$dc"
for n in A B C; do
    d=$T/$(echo $n | tr ABC abc)
    expect_eq "digest of $n equals its rebuild" "$(relief --data "$d" digest --rebuild)" "$(relief --data "$d" digest)"
done

# alerts: B and C name A, whose clock is far ahead. Nobody may call B (an hour behind) or C
# (right) "far ahead" from a node whose own clock is right.
alb=$(rb alerts 2>&1) alc=$(rc alerts 2>&1) ala=$(ra alerts 2>&1)
printf '%s\n' "--- alerts on A (2099):" "$ala" "--- alerts on B (-1h):" "$alb" "--- alerts on C (right):" "$alc"
expect_match "B's alerts name A (2099) by id and name" "$alb" "$IDA node-a is far ahead"
expect_match "C's alerts name A (2099) by id and name" "$alc" "$IDA node-a is far ahead"
if printf '%s\n' "$alc" | grep -q "$IDB.*far ahead"; then
    bad "C (right clock) says B (an hour behind) is far ahead: B's last op carries an overwrite stamp (A's 2099 hlc + 1), and the clock_ahead alert reads an origin's last op (Findings, F1)"
else ok "C does not call B far ahead"; fi
if printf '%s\n' "$alb" | grep -q "$IDB.*far ahead"; then
    bad "B says its own clock is far ahead (F1)"
else ok "B does not call itself far ahead"; fi
if printf '%s\n' "$ala" "$alb" "$alc" | grep -q "$IDB.*behind"; then BEHIND=yes; else
    BEHIND=no
    note "no alert says B's clock is behind (only clocks far ahead are alerted, relief/query.c; on B itself, C is named as far ahead)"
fi
expect_eq "serve A still runs" "$(kill -0 "$SA" 2>/dev/null && echo yes)" yes
expect_eq "serve B still runs" "$(kill -0 "$SB" 2>/dev/null && echo yes)" yes
stop "$SA"; stop "$SB"
kill "$WATCHDOG" 2>/dev/null
echo "clockskew: $CHECKS checks, failures $FAILS; an alert says B (an hour behind) is behind: $BEHIND"
[ "$FAILS" -eq 0 ]
