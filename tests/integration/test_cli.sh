#!/bin/bash
# The node's CLI end to end: init, status, log, digest, backup; refusals and exit statuses.
. "$(dirname "$0")/../lib.sh"

check "init creates a node" relief init --name "石巻-1"
out=$(relief status)
check_match "status shows the name" "$out" "石巻-1"
check_match "status counts the announcement op" "$out" "ops +1 from 1 origin"
json=$(relief --json status)
node=$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["node"])')
check_match "status --json gives a 16-hex node id" "$node" '^[0-9a-f]{16}$'
net=$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["network"])')
check_match "status --json gives the network" "$net" '^[0-9a-f]{32}$'

check_status "a second init refuses" 1 relief init
out=$(relief init 2>&1)
check_match "and says why" "$out" "already holds a relief node"
check_eq "and nothing changed" "$(relief --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["node"])')" "$node"

out=$(relief log)
check_match "log shows the op with its author and kind" "$out" "$node:1 +石巻-1 +node"
check_match "log --json" "$(relief --json log)" '"kind_name": "node"'

d=$(relief digest)
check_match "digest is 64 hex digits" "$d" '^[0-9a-f]{64}$'
check_eq "digest rebuilt from the op log is equal" "$(relief digest --rebuild)" "$d"

check "backup while the node exists" relief backup "$T/backup"
check_eq "the backup has the same digest" "$(relief --data "$T/backup" digest)" "$d"
relief --data "$T/bk2" init --name bk2 >/dev/null 2>&1 && relief --data "$T/bk2" backup "$T/bk2copy" >/dev/null 2>&1
relief --data "$T/bk2copy" item add bk --name bk --unit u >/dev/null 2>&1
bk2_id=$(relief --data "$T/bk2" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["node"])')
check_eq "a node started from a backup writes under a new id, named as the node" \
    "$(relief --data "$T/bk2copy" --json status | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["node"] != "'"$bk2_id"'", sorted(o["name"] for o in d["version_vector"]))')" \
    "True ['bk2', 'bk2']"
check_status "a backup into an existing node refuses" 1 relief backup "$T/backup"
check_status "a backup to an empty path refuses" 1 relief backup ''
check_eq "the backup is readable by its user alone" "$(stat -c %a "$T/backup/data.mdb")" 600
mkdir -m 755 "$T/usb"
printf 'rlt_peer\n' >"$T/ptok"; chmod 600 "$T/ptok"
relief peer add http://192.0.2.1:8080 --token-file "$T/ptok" >/dev/null 2>&1
# a copy cut short (the file may grow no larger than 64 KiB): refused, and nothing left that
# looks like a node, so the next backup goes ahead
(ulimit -f 64; trap '' XFSZ; "$RELIEF_BIN" backup "$T/usb" >/dev/null 2>"$T/cut.err")
check_eq "a backup that cannot be written whole fails" "$?" 1
check "and leaves no data.mdb" test ! -e "$T/usb/data.mdb"
check_eq "nor its work directory" "$(ls -A "$T/usb" | wc -l)" 0
check "a backup into an existing world-readable directory" relief backup "$T/usb"
check_eq "is readable by its user alone" "$(stat -c %a "$T/usb/data.mdb")" 600
check_eq "it holds the tokens this node presents to its peers" "$(cat "$T"/usb/peers/*.token)" rlt_peer
check_eq "readable by its user alone" "$(stat -c %a "$T"/usb/peers/*.token)" 600
# a backup killed mid-copy left its work directory: the next backup into the place clears it;
# one into a place another backup is writing into is refused
mkdir -p "$T/usb2/.relief-backup-AbC123" && printf 'half' >"$T/usb2/.relief-backup-AbC123/data.mdb"
check "a backup where one was killed mid-copy" relief backup "$T/usb2"
check_eq "clears the work directory it left" "$(ls -A "$T/usb2" | grep -c relief-backup)" 0
mkdir -p "$T/usb3"
(exec 9<"$T/usb3"; flock -x 9; sleep 5) &
locker=$!
sleep 0.3
check_status "a backup into a place another backup is writing into: exit 1" 1 relief backup "$T/usb3"
check_match "and says so" "$(relief backup "$T/usb3" 2>&1)" "another backup into"
kill "$locker" 2>/dev/null
wait "$locker" 2>/dev/null
check "and goes ahead once it is done" relief backup "$T/usb3"
# a data file cut short (copied by hand, and the copy stopped): a clear error, not SIGBUS
mkdir -m 700 "$T/cut"
head -c $(( $(stat -c %s "$T/backup/data.mdb") / 2 )) "$T/backup/data.mdb" >"$T/cut/data.mdb"
check_status "a data file cut short: exit 1" 1 relief --data "$T/cut" status
check_match "and says so" "$(relief --data "$T/cut" status 2>&1)" "cut short"

# joining a network
check "init --network joins a network" relief --data "$T/second" init --name second --network "$net"
check_eq "the joined node is in the same network" \
    "$(relief --data "$T/second" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["network"])')" "$net"
# the demo's made-up data never goes into a real network: not into a node that joined one, nor
# one holding other nodes' ops or with peers
sd=$(relief --data "$T/second" digest)
check_status "relief demo in a node that joined a network: exit 1" 1 relief --data "$T/second" demo
check_match "says why" "$(relief --data "$T/second" demo 2>&1)" "part of a network with other nodes"
check_eq "and writes nothing" "$(relief --data "$T/second" digest)" "$sd"
relief --data "$T/founder" init --name founder >/dev/null 2>&1
fnet=$(relief --data "$T/founder" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["network"])')
relief --data "$T/joiner" init --name joiner --network "$fnet" >/dev/null 2>&1
relief --data "$T/joiner" bundle create "$T/joiner.bundle" >/dev/null 2>&1
relief --data "$T/founder" bundle apply "$T/joiner.bundle" >/dev/null 2>&1
check_status "nor in one holding another node's ops" 1 relief --data "$T/founder" demo
relief --data "$T/founder2" init --name founder2 >/dev/null 2>&1
relief --data "$T/founder2" peer add http://127.0.0.1:9 >/dev/null 2>&1
check_status "nor in one with a peer" 1 relief --data "$T/founder2" demo
relief --data "$T/founder3" init --name founder3 >/dev/null 2>&1
check "a new node of a network of its own takes it" relief --data "$T/founder3" demo

# data directory resolution
RELIEF_DATA= XDG_DATA_HOME="$T/xdg" relief init --name xdg >/dev/null 2>&1
check "XDG_DATA_HOME/relief is the default data dir" test -f "$T/xdg/relief/data.mdb"
RELIEF_DATA= XDG_DATA_HOME= HOME="$T/home" relief init --name home >/dev/null 2>&1
check "~/.local/share/relief is the fallback" test -f "$T/home/.local/share/relief/data.mdb"
check "--data beats RELIEF_DATA" relief --data "$T/second" status

# usage errors exit 2, failures exit 1
check_status "no command is a usage error" 2 relief
check_status "unknown command" 2 relief frobnicate
check_status "unknown option" 2 relief status --bogus
check_status "bad network id: a bad value" 1 relief --data "$T/x" init --network nothex
# a bad value: one line naming the option and the value, no usage text, exit 1
bad_value() { # NAME WANT_REGEX CMD...: exit 1, one line on stderr matching WANT
    name=$1 want=$2
    shift 2
    "$@" >/dev/null 2>"$T/bv.err"
    got=$?
    check_eq "$name: exit 1" "$got" 1
    check_match "$name: says which value" "$(cat "$T/bv.err")" "$want"
    check_eq "$name: in one line" "$(wc -l <"$T/bv.err")" 1
}
bad_value "init --network" "^relief: --network: 'nothex'" relief --data "$T/x" init --network nothex
bad_value "report --format" "^relief: --format: 'xml' is not one of" relief --data "$T/x" report needs --format xml
bad_value "serve --listen" "^relief: --listen: 'nonsense'" relief --data "$T/x" serve --listen nonsense
bad_value "serve --listen with a port not a number" "^relief: --listen: '127.0.0.1:abc'" relief --data "$T/bv" serve --listen 127.0.0.1:abc
bad_value "serve --interval" "^relief: --interval: 'soon'" relief --data "$T/bv" serve --interval soon
bad_value "sync ftp://" "'ftp://x' is not an http" relief --data "$T/x" sync ftp://x
bad_value "token add --role" "^relief: --role: 'admin'" relief --data "$T/x" token add --role admin
relief --data "$T/bv" init --name bv >/dev/null 2>&1
bad_value "token revoke" "token id 'zz'" relief --data "$T/bv" token revoke zz
bad_value "peer add" "peer 'ftp://x'" relief --data "$T/bv" peer add ftp://x
# output that cannot be written whole (a full disk): exit 1 and say so, large or small
relief --data "$T/bv" demo >/dev/null 2>&1
for i in $(seq 30); do relief --data "$T/bv" need add --site ISH-MINATO --service "interpreter $i" --qty "$i" >/dev/null 2>&1; done
if [ -w /dev/full ]; then
    check_status "a 12 KB JSON report to a full disk: exit 1" 1 sh -c "'$RELIEF_BIN' --data '$T/bv' report needs --format json >/dev/full"
    check_status "--json need list to a full disk: exit 1" 1 sh -c "'$RELIEF_BIN' --data '$T/bv' --json need list >/dev/full"
    check_status "relief status to a full disk: exit 1" 1 sh -c "'$RELIEF_BIN' --data '$T/bv' status >/dev/full"
    check_match "and says the output is incomplete" "$("$RELIEF_BIN" --data "$T/bv" report needs --format json 2>&1 >/dev/full)" "incomplete"
fi
check_status "option without value" 2 relief init --name
check_status "status of a missing node" 1 relief --data "$T/none" status
out=$(relief --data "$T/none" status 2>&1)
check_match "says there is no node" "$out" "no relief node in"
mkdir -p "$T/junk" && head -c 20000 /dev/urandom >"$T/junk/data.mdb"
check_status "a damaged data file is an error" 1 relief --data "$T/junk" status
check_eq "and is left alone" "$(stat -c %s "$T/junk/data.mdb")" 20000
check_status "-h exits 0" 0 relief status -h
check_match "-h prints usage" "$(relief log -h)" "usage: relief log"
check_status "--help" 0 relief --help
long=$(head -c 300 /dev/zero | tr '\0' a)
check_status "a 300-byte node name is refused" 1 relief --data "$T/long" init --name "$long"
check "and leaves no node behind" test ! -e "$T/long/data.mdb"

# a data directory of an older data format (1) is upgraded when a command first opens it: every
# view rebuilt from the op log, and the log rewritten to keep payloads only, in one transaction
U="$T/upgrade"
relief --data "$U" init --name up >/dev/null 2>&1 && relief --data "$U" demo >/dev/null 2>&1
up_digest=$(relief --data "$U" digest)
needs=$(relief --data "$U" report needs --format csv)
trace=$(relief --data "$U" --json report donations)
check "make the directory look like data format 1" "$BUILD_DIR/tests/oldformat" "$U"
up_out=$(relief --data "$U" status 2>&1)
check_match "the first command upgrades and says so" "$up_out" "upgrading '.*' from data format 1 to 15: rebuilding the views"
check_match "counting the ops" "$up_out" "upgraded \([1-9][0-9]* ops\)"
check_eq "the upgraded state has the digest of before" "$(relief --data "$U" digest 2>&1)" "$up_digest"
check_eq "which the op log gives too" "$(relief --data "$U" digest --rebuild 2>&1)" "$up_digest"
check_eq "the needs report is the same" "$(relief --data "$U" report needs --format csv)" "$needs"
check_eq "the donation report is the same" "$(relief --data "$U" --json report donations)" "$trace"
check_eq "a second command does not upgrade again" "$(relief --data "$U" status 2>&1 >/dev/null)" ""
check "the upgraded node takes writes" relief --data "$U" stock receive --site WH-ISH --item water-2l --qty 5

# from format 2 (each op stored with its hash): the log keeps payloads only, the views stay,
# and a peer syncing from it gets the same chains (the hashes, computed again, match)
V="$T/upgrade2"
VP="$T/upgrade2-peer"
relief --data "$V" init --name up2 >/dev/null 2>&1
relief --data "$VP" init --name up2-peer --network "$(relief --data "$V" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["network"])')" >/dev/null 2>&1
relief --data "$V" demo >/dev/null 2>&1
# past two checkpoints of the chain (one every 64 ops)
for i in $(seq 140); do relief --data "$V" stock receive --site WH-ISH --item water-2l --qty 1 >/dev/null 2>&1; done
v_digest=$(relief --data "$V" digest)
check "make a directory look like data format 2" "$BUILD_DIR/tests/oldformat" "$V" 2
check_eq "format 2 kept a hash with each op" "$(mdb_stat -s chain "$V" >/dev/null 2>&1 && echo chain || echo none)" none
# another process with the data file mapped (an older relief serve still running) stops it
/usr/bin/python3 -c 'import mmap,sys,time; f=open(sys.argv[1],"rb"); m=mmap.mmap(f.fileno(),0,prot=mmap.PROT_READ); print("mapped",flush=True); time.sleep(60)' "$V/data.mdb" >"$T/holder.out" &
holder=$!
for _ in $(seq 50); do grep -q mapped "$T/holder.out" 2>/dev/null && break; sleep 0.1; done
check_status "while another program has it open, there is no upgrade" 1 relief --data "$V" status
check_match "and says who" "$(relief --data "$V" status 2>&1)" "another program \(pid $holder"
kill $holder 2>/dev/null; wait $holder 2>/dev/null
up2_out=$(relief --data "$V" status 2>&1)
check_match "the first command upgrades from 2 and says so" "$up2_out" "upgrading '.*' from data format 2 to 15\.\.\."
check_eq "and keeps a checkpoint every 64 ops" "$(mdb_stat -s chain "$V" | awk '/Entries/ {print $2}')" 2
check_eq "the same digest" "$(relief --data "$V" digest 2>&1)" "$v_digest"
check_eq "which the op log gives too" "$(relief --data "$V" digest --rebuild 2>&1)" "$v_digest"
relief --data "$V" bundle create "$T/v.bundle" >/dev/null 2>&1
relief --data "$VP" bundle apply "$T/v.bundle" >/dev/null 2>&1
check_eq "a node that takes its ops holds the same chains (no fork)" \
    "$(relief --data "$VP" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("forks", 0))')" 0
relief --data "$V" bundle create "$T/v2.bundle" >/dev/null 2>&1
check_match "and a second bundle from it, given again, adds nothing" "$(relief --data "$VP" bundle apply "$T/v2.bundle" 2>&1)" "applied 0 ops"
relief --data "$VP" bundle create "$T/vp.bundle" >/dev/null 2>&1
relief --data "$V" bundle apply "$T/vp.bundle" >/dev/null 2>&1
check_eq "both ways: the same digest" "$(relief --data "$VP" digest)" "$(relief --data "$V" digest)"

# from format 3 (each op in an entry of its own): the log packed in blocks of ops, two origins
# interleaved in key order, an op too big to share a block; the chains and the state unchanged
X="$T/upgrade3"
XP="$T/upgrade3-peer"
relief --data "$X" init --name up3 >/dev/null 2>&1
relief --data "$XP" init --name up3-peer --network "$(relief --data "$X" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["network"])')" >/dev/null 2>&1
relief --data "$X" demo >/dev/null 2>&1
relief --data "$X" bundle create "$T/x0.bundle" >/dev/null 2>&1
relief --data "$XP" bundle apply "$T/x0.bundle" >/dev/null 2>&1
for i in $(seq 70); do relief --data "$XP" stock receive --site WH-ISH --item water-2l --qty 2 >/dev/null 2>&1; done
relief --data "$XP" site add --kind centre --name Big --special-needs "$(head -c 3000 /dev/zero | tr '\0' x)" --code BIG1 >/dev/null 2>&1
for i in $(seq 30); do relief --data "$XP" stock receive --site WH-ISH --item water-2l --qty 3 >/dev/null 2>&1; done
relief --data "$XP" bundle create "$T/x1.bundle" >/dev/null 2>&1
relief --data "$X" bundle apply "$T/x1.bundle" >/dev/null 2>&1
for i in $(seq 70); do relief --data "$X" stock receive --site WH-ISH --item water-2l --qty 1 >/dev/null 2>&1; done
x_digest=$(relief --data "$X" digest)
x_ops=$(relief --data "$X" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["ops"])')
x_blocks=$(mdb_stat -s ops "$X" | awk '/Entries/ {print $2}')
check "format 4 keeps ops in blocks: fewer entries than ops" test "$x_blocks" -lt $((x_ops / 3))
check "make a directory look like data format 3" "$BUILD_DIR/tests/oldformat" "$X" 3
check_eq "format 3 kept an entry per op" "$(mdb_stat -s ops "$X" | awk '/Entries/ {print $2}')" "$x_ops"
up3_out=$(relief --data "$X" status 2>&1)
check_match "the first command upgrades from 3 and says so" "$up3_out" "upgrading '.*' from data format 3 to 15\.\.\."
check_match "counting every op" "$up3_out" "upgraded \($x_ops ops\)"
check_eq "the blocks of before" "$(mdb_stat -s ops "$X" | awk '/Entries/ {print $2}')" "$x_blocks"
check_eq "the same digest after" "$(relief --data "$X" digest 2>&1)" "$x_digest"
check_eq "which the op log gives too" "$(relief --data "$X" digest --rebuild 2>&1)" "$x_digest"
check_match "the big site is there" "$(relief --data "$X" site show BIG1 2>&1)" "xxxxxxxxxx"
relief --data "$X" bundle create "$T/x2.bundle" >/dev/null 2>&1
check_match "its peer takes its ops (no fork)" "$(relief --data "$XP" bundle apply "$T/x2.bundle" 2>&1)" "applied [1-9]"
check_eq "and has no fork" \
    "$(relief --data "$XP" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("forks", 0))')" 0
check_eq "both the same digest" "$(relief --data "$XP" digest)" "$(relief --data "$X" digest)"
check "the upgraded node takes writes" relief --data "$X" stock receive --site BIG1 --item water-2l --qty 5
relief --data "$X" bundle create "$T/x3.bundle" >/dev/null 2>&1
relief --data "$XP" bundle apply "$T/x3.bundle" >/dev/null 2>&1
check_eq "which its peer takes too" "$(relief --data "$XP" digest)" "$(relief --data "$X" digest)"

# from format 4 (the shelf index by shelf): one key per site; a count against it afterwards
# recomputes the shelf's movements as a node that never had the old index does
x_digest=$(relief --data "$X" digest)
x_keys=$(mdb_stat -s shelfmv "$X" | awk '/Entries/ {print $2}')
check "make a directory look like data format 4" "$BUILD_DIR/tests/oldformat" "$X" 4
up4_out=$(relief --data "$X" status 2>&1)
check_match "the first command upgrades from 4 and says so" "$up4_out" "upgrading '.*' from data format 4 to 15\.\.\."
check_match "counting the ops" "$up4_out" "upgraded \([1-9][0-9]* ops\)"
check_eq "the shelf index holds every movement of before" "$(mdb_stat -s shelfmv "$X" | awk '/Entries/ {print $2}')" "$x_keys"
check_eq "the digest of before" "$(relief --data "$X" digest 2>&1)" "$x_digest"
check_eq "which the op log gives too" "$(relief --data "$X" digest --rebuild 2>&1)" "$x_digest"
check "a count at a shelf both nodes moved stock at" relief --data "$X" stock count --site WH-ISH --item water-2l --qty 1000
relief --data "$X" bundle create "$T/x4.bundle" >/dev/null 2>&1
relief --data "$XP" bundle apply "$T/x4.bundle" >/dev/null 2>&1
check_eq "its peer, taking the count, agrees" "$(relief --data "$XP" digest)" "$(relief --data "$X" digest)"
check_match "and the shelf is counted" "$(relief --data "$XP" stock --site WH-ISH --item water-2l)" "1000"

# from format 5 (the item's hash before the op id in the shelf index): the same values, in op
# id order; a count afterwards still finds the shelf's movements
x_digest=$(relief --data "$X" digest)
check "make a directory look like data format 5" "$BUILD_DIR/tests/oldformat" "$X" 5
up5_out=$(relief --data "$X" status 2>&1)
check_match "the first command upgrades from 5 and says so" "$up5_out" "upgrading '.*' from data format 5 to 15\.\.\."
check_eq "the shelf index holds every movement of before" "$(mdb_stat -s shelfmv "$X" | awk '/Entries/ {print $2}')" "$x_keys"
check_eq "the digest of before" "$(relief --data "$X" digest 2>&1)" "$x_digest"
check "a second count at the shelf" relief --data "$X" stock count --site WH-ISH --item water-2l --qty 900
relief --data "$X" bundle create "$T/x5.bundle" >/dev/null 2>&1
relief --data "$XP" bundle apply "$T/x5.bundle" >/dev/null 2>&1
check_eq "its peer, taking the count, agrees" "$(relief --data "$XP" digest)" "$(relief --data "$X" digest)"
check_match "and the shelf is counted again" "$(relief --data "$XP" stock --site WH-ISH --item water-2l)" "900"

# from format 6 (each lot's quantity in lotbal): the lots go into their shelves' balances, and
# drawing earliest expiry first goes on from them
x_digest=$(relief --data "$X" digest)
x_lots=$(relief --data "$X" --json report stock 2>&1)
check "make a directory look like data format 6" "$BUILD_DIR/tests/oldformat" "$X" 6
check_match "whose lots are apart" "$(mdb_stat -s lotbal "$X" | awk '/Entries/ {print $2}')" "^[1-9]"
up6_out=$(relief --data "$X" status 2>&1)
check_match "the first command upgrades from 6 and says so" "$up6_out" "upgrading '.*' from data format 6 to 15\.\.\."
check_eq "lotbal is empty" "$(mdb_stat -s lotbal "$X" | awk '/Entries/ {print $2}')" "0"
check_eq "the digest of before" "$(relief --data "$X" digest 2>&1)" "$x_digest"
check_eq "which the op log gives too" "$(relief --data "$X" digest --rebuild 2>&1)" "$x_digest"
check_eq "the same stock report, lots and all" "$(relief --data "$X" --json report stock 2>&1)" "$x_lots"

# from format 7 (each op of a block as it is): the blocks are written again with deltas, the
# same ops in each; a peer syncing from it gets the same chains
x_digest=$(relief --data "$X" digest)
x_blocks=$(mdb_stat -s ops "$X" | awk '/Entries/ {print $2}')
check "make a directory look like data format 7" "$BUILD_DIR/tests/oldformat" "$X" 7
x_pages=$(mdb_stat -s ops "$X" | awk '/Leaf pages/ {print $3}')
up7_out=$(relief --data "$X" status 2>&1)
check_match "the first command upgrades from 7 and says so" "$up7_out" "upgrading '.*' from data format 7 to 15\.\.\."
check_eq "the same blocks" "$(mdb_stat -s ops "$X" | awk '/Entries/ {print $2}')" "$x_blocks"
check "in fewer bytes" test "$(mdb_stat -s ops "$X" | awk '/Leaf pages/ {print $3}')" -le "$x_pages"
check_eq "the digest of before" "$(relief --data "$X" digest 2>&1)" "$x_digest"
check_eq "which the op log gives too" "$(relief --data "$X" digest --rebuild 2>&1)" "$x_digest"
XQ="$T/upgrade7-peer"
relief --data "$XQ" init --name up7-peer --network "$(relief --data "$X" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["network"])')" >/dev/null 2>&1
relief --data "$X" bundle create "$T/x7.bundle" >/dev/null 2>&1
check_match "a new peer takes every op" "$(relief --data "$XQ" bundle apply "$T/x7.bundle" 2>&1)" "applied [1-9]"
check_eq "and holds the same stock" "$(relief --data "$XQ" --json stock)" "$(relief --data "$X" --json stock)"

# from format 8 (an index of each lot's movements): emptied; a donation's trace walks the
# shelves its lots went through instead
x_digest=$(relief --data "$X" digest)
check "make a directory look like data format 8" "$BUILD_DIR/tests/oldformat" "$X" 8
up8_out=$(relief --data "$X" status 2>&1)
check_match "the first command upgrades from 8 and says so" "$up8_out" "upgrading '.*' from data format 8 to 15\.\.\."
check_eq "lotmv is empty" "$(mdb_stat -s lotmv "$X" | awk '/Entries/ {print $2}')" "0"
check_eq "the digest of before" "$(relief --data "$X" digest 2>&1)" "$x_digest"

# from format 9 (the item's whole hash in the shelf index): folded to 16 bits; a count finds
# the shelf's movements as before
x_digest=$(relief --data "$X" digest)
check "make a directory look like data format 9" "$BUILD_DIR/tests/oldformat" "$X" 9
up9_out=$(relief --data "$X" status 2>&1)
check_match "the first command upgrades from 9 and says so" "$up9_out" "upgrading '.*' from data format 9 to 15\.\.\."
check_eq "the shelf index holds every movement of before" "$(mdb_stat -s shelfmv "$X" | awk '/Entries/ {print $2}')" "$x_keys"
check_eq "the digest of before" "$(relief --data "$X" digest 2>&1)" "$x_digest"
check "a third count at the shelf" relief --data "$X" stock count --site WH-ISH --item water-2l --qty 800
check_match "which the shelf shows" "$(relief --data "$X" stock --site WH-ISH --item water-2l)" "800"

# from format 10 (every lot of a shelf in its balance value): a shelf with more lots than fit
# keeps them in lotbal; the digest, stock and the lots drawn are those of before
X10="$T/upgrade10"
relief --data "$X10" init --name up10 >/dev/null 2>&1
relief --data "$X10" site add --kind warehouse --name W --code W1 >/dev/null 2>&1
relief --data "$X10" item add rice --name Rice --unit kg >/dev/null 2>&1
/usr/bin/python3 -c "
print('type,site,item,qty,lot')
for i in range(80): print('receive,W1,rice,1,LOT-%04d' % i)" >"$T/lots80.csv"
relief --data "$X10" import movements "$T/lots80.csv" >/dev/null 2>&1
relief --data "$X10" stock receive --site W1 --item rice --qty 2 --lot EARLY --expiry 2030-01-01 >/dev/null 2>&1
x10_digest=$(relief --data "$X10" digest)
check_match "80 lots at one shelf are more than its value keeps" "$(mdb_stat -s lotbal "$X10" | awk '/Entries/ {print $2}')" "^8[0-9]$"
check "make a directory look like data format 10" "$BUILD_DIR/tests/oldformat" "$X10" 10
check_eq "whose lots are all in the value" "$(mdb_stat -s lotbal "$X10" | awk '/Entries/ {print $2}')" "0"
check_match "the first command upgrades from 10 and says so" "$(relief --data "$X10" status 2>&1)" "upgrading '.*' from data format 10 to 15\.\.\."
check_eq "the digest of before" "$(relief --data "$X10" digest 2>&1)" "$x10_digest"
check_eq "which the op log gives too" "$(relief --data "$X10" digest --rebuild 2>&1)" "$x10_digest"

check "drawing from a shelf whose lots are in lotbal" relief --data "$X10" stock distribute --site W1 --item rice --qty 3
check_eq "the lot expiring first went first, then the next by name" "$(mdb_dump -s lotbal -p "$X10" | grep -c 'EARLY\|LOT-0000')" "0"
check "drawing most of the rest" relief --data "$X10" stock distribute --site W1 --item rice --qty 70
check_eq "few lots left: back in the value, none in lotbal" "$(mdb_stat -s lotbal "$X10" | awk '/Entries/ {print $2}')" "0"
check_eq "and the stock" "$(relief --data "$X10" --json stock --site W1 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')" "9"
check_eq "the state is the op log's" "$(relief --data "$X10" digest --rebuild 2>&1)" "$(relief --data "$X10" digest 2>&1)"

# from format 11 (every quantity of a balance in 8 bytes): 40 lots at one shelf took more than a
# value kept, and now fit in it; 80 at another still do not; stock below zero and past 32 bits
X11="$T/upgrade11"
relief --data "$X11" init --name up11 >/dev/null 2>&1
relief --data "$X11" site add --kind warehouse --name W --code W1 >/dev/null 2>&1
relief --data "$X11" site add --kind warehouse --name V --code V1 >/dev/null 2>&1
relief --data "$X11" item add rice --name Rice --unit kg >/dev/null 2>&1
relief --data "$X11" item add oil --name Oil --unit l >/dev/null 2>&1
/usr/bin/python3 -c "
print('type,site,item,qty,lot')
for i in range(40): print('receive,W1,rice,%d,LOT-%04d' % (1 + i * 997, i))
for i in range(80): print('receive,V1,rice,1,LOT-%04d' % i)
for i in range(5): print('receive,V1,oil,900000000,')" >"$T/lots11.csv"
relief --data "$X11" import movements "$T/lots11.csv" >/dev/null 2>&1
relief --data "$X11" stock adjust --site W1 --item oil --qty -7 --reason lost >/dev/null 2>&1
x11_digest=$(relief --data "$X11" digest)
x11_stock=$(relief --data "$X11" stock)
check_eq "40 lots fit in a value, 80 do not" "$(mdb_stat -s lotbal "$X11" | awk '/Entries/ {print $2}')" "80"
check "make a directory look like data format 11" "$BUILD_DIR/tests/oldformat" "$X11" 11
check_eq "which kept both shelves' lots in lotbal" "$(mdb_stat -s lotbal "$X11" | awk '/Entries/ {print $2}')" "120"
check_match "the first command upgrades from 11 and says so" "$(relief --data "$X11" status 2>&1)" "upgrading '.*' from data format 11 to 15\.\.\."
check_eq "the 40 lots back in their value" "$(mdb_stat -s lotbal "$X11" | awk '/Entries/ {print $2}')" "80"
check_eq "the digest of before" "$(relief --data "$X11" digest 2>&1)" "$x11_digest"
check_eq "which the op log gives too" "$(relief --data "$X11" digest --rebuild 2>&1)" "$x11_digest"
check_eq "the stock of before" "$(relief --data "$X11" stock 2>&1)" "$x11_stock"
check_match "a negative balance among it" "$x11_stock" "^W1 .* oil +-7 "
check_match "and one past 32 bits" "$x11_stock" "^V1 .* oil +4500000000 "
check "drawing from the 40 lots" relief --data "$X11" stock distribute --site W1 --item rice --qty 1000
check_eq "the state is the op log's" "$(relief --data "$X11" digest --rebuild 2>&1)" "$(relief --data "$X11" digest 2>&1)"

# from format 12 (a shelf index value per movement of 18 bytes, its seq in 8): the same
# movements, stock and traces after, in 16-byte values
X12="$T/upgrade12"
relief --data "$X12" init --name up12 >/dev/null 2>&1
relief --data "$X12" demo >/dev/null 2>&1
relief --data "$X12" stock receive --site WH-ISH --item rice-5kg --qty 4 --lot L12 >/dev/null 2>&1
x12_digest=$(relief --data "$X12" digest)
x12_stock=$(relief --data "$X12" stock --site WH-ISH)
x12_trace=$(relief --data "$X12" --json report donations --format json)
x12_n=$(mdb_stat -s shelfmv "$X12" | awk '/Entries/ {print $2}')
check "make a directory look like data format 12" "$BUILD_DIR/tests/oldformat" "$X12" 12
check_match "the first command upgrades from 12 and says so" "$(relief --data "$X12" status 2>&1)" "upgrading '.*' from data format 12 to 15\.\.\."
check_eq "every movement still in the shelf index" "$(mdb_stat -s shelfmv "$X12" | awk '/Entries/ {print $2}')" "$x12_n"
check_match "in 16-byte values" "$(mdb_dump -s shelfmv "$X12" | sed -n '/^HEADER=END/{n;n;p;q}' | tr -d ' ')" '^[0-9a-f]{32}$'
check_eq "the digest of before" "$(relief --data "$X12" digest 2>&1)" "$x12_digest"
check_eq "the stock of before" "$(relief --data "$X12" stock --site WH-ISH 2>&1)" "$x12_stock"
check_eq "the donations' traces of before" "$(relief --data "$X12" --json report donations --format json 2>&1)" "$x12_trace"
check "drawing from a shelf after" relief --data "$X12" stock distribute --site WH-ISH --item rice-5kg --qty 1
check_eq "the state is the op log's" "$(relief --data "$X12" digest --rebuild 2>&1)" "$(relief --data "$X12" digest 2>&1)"

# from format 13, made by relief of that format (tests/data/format13): 100 received at A, 70
# sent to B, arrived, B counted 70 on its shelf, then the arrival corrected to 72. Format 13
# added the 72 to the count (142): the upgrade rebuilds the views, which add the 2
X13="$T/upgrade13"
mkdir -p "$X13" && gzip -dc "$(dirname "$0")/../data/format13/data.mdb.gz" >"$X13/data.mdb"
cp "$(dirname "$0")/../data/format13/node.state" "$X13/"
check_match "the first command upgrades from 13 and says so" "$(relief --data "$X13" status 2>&1)" "upgrading '.*' from data format 13 to 15\.\.\."
check_eq "the counted shelf holds what was counted and the 2 more that arrived" "$(relief --data "$X13" --json stock --site B | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')" 72
check_eq "the state is the op log's" "$(relief --data "$X13" digest --rebuild 2>&1)" "$(relief --data "$X13" digest 2>&1)"

# the upgrade with two origins: the node with the smaller id voids and confirms the arrival of
# the other's movements, so in the op log's key order the void and the arrival come first
P="$T/up-a" Q="$T/up-b"
relief --data "$P" init --name a >/dev/null 2>&1
up_net=$(relief --data "$P" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["network"])')
relief --data "$Q" init --name b --network "$up_net" >/dev/null 2>&1
up_id() { relief --data "$1" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["node"])'; }
if [[ $(up_id "$P") < $(up_id "$Q") ]]; then LO=$P HI=$Q; else LO=$Q HI=$P; fi
relief --data "$HI" site add --kind warehouse --name W --code W1 >/dev/null 2>&1
relief --data "$HI" site add --kind centre --name C --code C1 >/dev/null 2>&1
relief --data "$HI" item add water --name Water --unit l >/dev/null 2>&1
rcpt=$(relief --data "$HI" stock receive --site W1 --item water --qty 100 2>/dev/null | head -1)
relief --data "$HI" stock receive --site W1 --item water --qty 100 >/dev/null 2>&1
disp=$(relief --data "$HI" stock dispatch --from W1 --to C1 --item water --qty 30 2>/dev/null | head -1)
relief --data "$HI" bundle create "$T/hi.bundle" >/dev/null 2>&1
relief --data "$LO" bundle apply "$T/hi.bundle" >/dev/null 2>&1
relief --data "$LO" stock void "$rcpt" --reason "entered twice" >/dev/null
relief --data "$LO" stock arrive "$disp" --qty 25 >/dev/null
two_digest=$(relief --data "$LO" digest)
two_stock=$(relief --data "$LO" stock)
check_match "before: the void and the short arrival count" "$two_stock" "W1 +W +water +70 .*"
"$BUILD_DIR/tests/oldformat" "$LO"
relief --data "$LO" status >/dev/null 2>&1
check_eq "after the upgrade: the same balances" "$(relief --data "$LO" stock)" "$two_stock"
check_eq "and the same digest" "$(relief --data "$LO" digest)" "$two_digest"

# a relief of format 1 refuses a directory of this format instead of writing to it: every
# database it knows is there (format 1's siteitem, lotuse and donrec kept empty)
check_eq "format 1's databases are there, empty" \
    "$(mdb_stat -a "$U" 2>/dev/null | grep -A5 -E '^Status of (siteitem|lotuse|donrec)$' | grep -c 'Entries: 0')" 3

# dates and times: ISO 8601, nothing looser
check "a date" relief --data "$U" stock receive --site WH-ISH --item water-2l --qty 1 --expiry 2027-02-28
for bad in 2027-2-28 " 2027-02-28" 2027-02-29 2027-02-28x +027-02-28 2027-02; do
    check_status "date '$bad' is refused" 1 relief --data "$U" stock receive --site WH-ISH --item water-2l --qty 1 --expiry "$bad"
done
for good in 2027-01-05T09:00 2027-01-05T09:00:30Z "2027-01-05 09:00+09:00" 2027-01-05T09:00-03:30; do
    check "time '$good'" relief --data "$U" shift add --site KIT-MINATO --start "$good" --end 2027-01-06T10:00Z --slots 2
done
for bad in 2027-01-05T9:00 2027-01-05T09:00:3 2027-01-05T24:00 2027-01-05T09:00+9:00 2027-01-05T09:60; do
    check_status "time '$bad' is refused" 1 relief --data "$U" shift add --site KIT-MINATO --start "$bad" --end 2027-01-06T10:00Z --slots 2
done

# bad values on the command line: exit 1, one line on stderr naming the option, nothing written
C="$T/cli"
relief --data "$C" init --name cli >/dev/null 2>&1
relief --data "$C" site add --kind centre --name C --code C >/dev/null 2>&1
relief --data "$C" item add milk --name milk --unit can >/dev/null 2>&1
c_digest=$(relief --data "$C" digest)
# refused NAME REGEX CMD...: exits 1, says one line matching REGEX, writes nothing
refused() {
    r_name=$1 r_re=$2
    shift 2
    check_status "$r_name: exit 1" 1 "$@"
    r_err=$("$@" 2>&1 >/dev/null)
    check_match "$r_name: says why" "$r_err" "$r_re"
    check_eq "$r_name: in one line" "$(printf '%s\n' "$r_err" | wc -l)" 1
    check_eq "$r_name: writes nothing" "$(relief --data "$C" digest)" "$c_digest"
}
rid=$(relief --data "$C" stock receive --site C --item milk --qty 5 2>/dev/null)
sid=$(relief --data "$C" shift add --site C --start 2027-01-01T10:00 --end 2027-01-01T12:00 --slots 2 2>/dev/null)
c_digest=$(relief --data "$C" digest)
for n in 600 70000; do
    big=$(head -c $n /dev/zero | tr '\0' a)
    refused "a $n-byte --from" "^relief: --from: 'a+\.\.\.' is longer than 512 bytes$" \
        relief --data "$C" stock receive --site C --item milk --qty 1 --from "$big"
    refused "a $n-byte --lot" "^relief: --lot: .* is longer than 64 bytes$" \
        relief --data "$C" stock receive --site C --item milk --qty 1 --lot "$big"
    refused "a $n-byte --lot of an adjustment" "^relief: --lot: .* is longer than 64 bytes$" \
        relief --data "$C" stock adjust --site C --item milk --qty -1 --reason lost --lot "$big"
    refused "a $n-byte shift --volunteer" "^relief: --volunteer: .* is longer than 256 bytes$" \
        relief --data "$C" shift signup "$sid" --volunteer "$big"
done
big=$(head -c 70000 /dev/zero | tr '\0' a)
refused "a 70000-byte distribute --note" "^relief: --note: .* is longer than 4096 bytes$" \
    relief --data "$C" stock distribute --site C --item milk --qty 1 --note "$big"
refused "a 70000-byte adjust --note" "^relief: --note: .* is longer than 4096 bytes$" \
    relief --data "$C" stock adjust --site C --item milk --qty 1 --reason found --note "$big"
refused "a 70000-byte void --reason" "^relief: --reason: .* is longer than 4096 bytes$" \
    relief --data "$C" stock void "$rid" --reason "$big"
check_eq "no refusal anywhere reads 'success'" "$(relief --data "$C" stock void "$rid" --reason "$big" 2>&1 | grep -c success)" 0

# stored text reaches the terminal with its control characters shown as '?': a name can neither
# move the cursor nor split a line (the --json outputs escape them)
E="$T/esc"
esc_name=$(printf 'x\033[2J\033]0;pwned\007\r\nsecond line')
relief --data "$E" init --name "$(printf 'esc\033[2J')" >/dev/null 2>&1
check_status "such a name is refused on the command line" 1 relief --data "$E" site add --kind centre --name "$esc_name"
# ... but may come from another node (an older version, a hostile peer): a site.add op of
# origin 0x4242 pushed into relief serve
start_serve "$E"
/usr/bin/python3 - "$esc_name" "$(relief --data "$E" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["network"])')" >"$T/esc.bin" <<'PY'
import hashlib, msgpack, sys, time
name, net = sys.argv[1], bytes.fromhex(sys.argv[2])
hlc = int(time.time() * 1000) << 16
payloads = [msgpack.packb([hlc, "mal\033[2Jlory", 10, {1: 0x4242, 2: {1: name, 2: "E", 3: 1}}]),
            msgpack.packb([hlc + 1, "mal\033[2Jlory", 60, {2: {1: "d\033[31m", 2: 0x4242, 3: "a", 4: 1}}])]
h = bytes(16)
for seq, p in enumerate(payloads, 1):
    h = hashlib.blake2b((0x4242).to_bytes(8, "big") + seq.to_bytes(8, "big") + h + p, digest_size=16).digest()
mark = msgpack.ExtType(0, b"")
body = msgpack.packb({1: net, 2: [[0x4242, 1, bytes(16), h, [mark, mark]]]})
sys.stdout.buffer.write(body.replace(msgpack.packb([mark, mark]), msgpack.packb([0, 0])[:1] + b"".join(payloads)))
PY
check_eq "and is taken from a peer" "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/vnd.msgpack' --data-binary @"$T/esc.bin" "$SERVE_URL/sync/v1/push")" 200
stop "$SERVE_PID"
relief --data "$E" item add a --name a --unit u >/dev/null 2>&1
relief --data "$E" stock distribute --site E --item a --qty 1 >/dev/null 2>&1
out=$(relief --data "$E" alerts)
check_eq "alerts: no control character from a name" "$(printf '%s' "$out" | tr -d '\n' | LC_ALL=C grep -c '[[:cntrl:]]')" 0
check_eq "alerts: one line an alert, whatever the name holds" "$(printf '%s\n' "$out" | grep -vc '^high ')" 0
check_match "alerts: the name with '?' for its control characters" "$out" 'x\?\[2J\?\]0;pwned\?\?\?second line'
out=$(relief --data "$E" site show E)
check_eq "site show: no control character" "$(printf '%s' "$out" | tr -d '\n' | LC_ALL=C grep -c '[[:cntrl:]]')" 0
check_match "site show: the name on one line" "$out" '^name +x\?\[2J.*second line$'
don=0000000000004242:2
out=$(relief --data "$E" trace "$don" | head -1)
check_match "trace: its first line shows the donor and the site safe" "$out" "^donation 00000000-2 from d\?\[31m to E x\?\[2J.*second line: 1 a"
check_status "such an author is refused on the command line" 1 relief --data "$E" --by "$(printf 'ev\033[2J\nx')" item set a --name b
check_status "and a blank one" 1 relief --data "$E" --by "$(printf ' \343\200\200 ')" item set a --name b
check_status "from RELIEF_USER too" 1 env RELIEF_USER="$(printf 'ev\033[2J')" "$RELIEF_BIN" --data "$E" item set a --name b
# ... but this node's own name is one (it was made so), and ops from elsewhere carry others
relief --data "$E" item set a --name b >/dev/null 2>&1
out=$(relief --data "$E" log -n 1)
check_match "log: the author safe" "$out" ' esc\?\[2J +item\.set '
check_eq "log: one line an op" "$(printf '%s\n' "$out" | wc -l)" 1
check_match "log: a peer's author safe" "$(relief --data "$E" log | grep site.add | head -1)" ' mal\?\[2Jlory +site\.add '
relief --data "$E" site set E --name "$(printf 'y\033[2J')" >/dev/null 2>&1
relief --data "$E" backup "$T/esc-b" >/dev/null 2>&1
relief --data "$T/esc-b" site set E --name "$(printf 'z\033[2J')" >/dev/null 2>&1
relief --data "$T/esc-b" site set E --name z2 >/dev/null 2>&1
relief --data "$T/esc-b" bundle create "$T/esc.bundle" >/dev/null 2>&1
relief --data "$E" site set E --name y2 >/dev/null 2>&1
relief --data "$E" bundle apply "$T/esc.bundle" >/dev/null 2>&1
out=$(relief --data "$E" conflicts)
check_match "conflicts: there is one, each value's author safe" "$out" 'z2.* by esc\?\[2J '
check_eq "conflicts: no control character" "$(printf '%s' "$out" | tr -d '\n' | LC_ALL=C grep -c '[[:cntrl:]]')" 0
out=$(relief --data "$E" site show E)
check_eq "site show of a conflict: no control character" "$(printf '%s' "$out" | tr -d '\n' | LC_ALL=C grep -c '[[:cntrl:]]')" 0
relief --data "$E" site add --kind centre --name "$(printf 'c1\302\2332J')" --code C1 >/dev/null 2>&1
check_match "a C1 control (U+009B, CSI) shown as '?' too" "$(relief --data "$E" site list | grep C1)" 'c1\?2J'
# a right-to-left override (U+202E) would show what follows backwards, a line separator
# (U+2028) start a line: each shown as '?'
relief --data "$E" site add --kind centre --name "$(printf 'gpj\342\200\256exe.txt')" --code BIDI >/dev/null 2>&1
relief --data "$E" site add --kind centre --name "$(printf 'one\342\200\250two')" --code LSEP >/dev/null 2>&1
check_match "a bidirectional override shown as '?'" "$(relief --data "$E" site list | grep BIDI)" 'gpj\?exe\.txt'
check_match "a line separator shown as '?'" "$(relief --data "$E" site list | grep LSEP)" 'one\?two'
check_match "and in site show" "$(relief --data "$E" site show BIDI | grep '^name')" 'gpj\?exe\.txt$'
out=$(relief --data "$E" status)
check_match "status: the node's name safe" "$out" 'esc\?\[2J'
check_eq "status: no control character" "$(printf '%s' "$out" | tr -d '\n' | LC_ALL=C grep -c '[[:cntrl:]]')" 0

# log: the author column lines up by display width (CJK text counts double)
relief --data "$E" --by 佐藤 item set a --name z >/dev/null 2>&1
relief --data "$E" --by ab item set a --name w >/dev/null 2>&1
relief --data "$E" --by "$(printf 'a%.0s' $(seq 30))" item set a --name v >/dev/null 2>&1
out=$(relief --data "$E" log -n 3)
check_eq "log: the kinds start at one display column, whatever the authors (CJK counts double, one of 30 letters)" \
    "$(printf '%s\n' "$out" | /usr/bin/python3 -c 'import sys, unicodedata
w = lambda s: sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in s)
print(len(set(w(l[:l.index("item.set")]) for l in sys.stdin.read().splitlines())))')" 1
check_match "a Japanese author padded by its width" "$out" ' 佐藤 +item\.set '
check_match "as a Latin one" "$out" ' ab +item\.set '

# log: a bad value of -n or --origin is a failure (1) naming it; a missing value a usage error (2)
for bad in abc 0 1000001 -5 ""; do
    check_status "log -n '$bad' exits 1" 1 relief --data "$E" log -n "$bad"
done
check_match "and names the option and the value" "$(relief --data "$E" log -n abc 2>&1)" "^relief: -n/--count: 'abc' is not a whole number from 1 to 1000000$"
for bad in zz 0123456789abcdeg -123456789abcdef; do
    check_status "log --origin '$bad' exits 1" 1 relief --data "$E" log --origin "$bad"
done
check_match "and names the option and the value" "$(relief --data "$E" log --origin zz 2>&1)" "^relief: --origin: 'zz' is not a node id of 16 hex digits$"
check_status "log -n without a value: usage" 2 relief --data "$E" log -n
check_status "log with an unknown option: usage" 2 relief --data "$E" log --bogus 1

# the texts a record cannot be without are refused empty, on add and on set (as the import does)
c_digest=$(relief --data "$C" digest)
refused "site add --name ''" "^relief: --name must not be empty: a site needs a name$" \
    relief --data "$C" site add --kind centre --name ""
refused "site set --name ''" "^relief: --name must not be empty" relief --data "$C" site set C --name ""
refused "item add --name ''" "^relief: --name must not be empty: an item needs a name$" \
    relief --data "$C" item add y --name "" --unit u
refused "item add --unit ''" "^relief: --unit must not be empty: an item needs a unit$" \
    relief --data "$C" item add y --name y --unit ""
refused "item set --unit ''" "^relief: --unit must not be empty" relief --data "$C" item set milk --unit ""
refused "need add --service ''" "^relief: --service must not be empty" \
    relief --data "$C" need add --site C --service "" --qty 1
refused "donation pledge --donor ''" "^relief: --donor must not be empty" \
    relief --data "$C" donation pledge --donor "" --to C --item milk --qty 1
refused "stock receive --lot ''" "^relief: --lot must not be empty" \
    relief --data "$C" stock receive --site C --item milk --qty 1 --lot ""
refused "stock adjust --lot ''" "^relief: --lot must not be empty" \
    relief --data "$C" stock adjust --site C --item milk --qty 1 --reason found --lot ""
refused "shift signup --volunteer ''" "^relief: --volunteer must not be empty" \
    relief --data "$C" shift signup "$sid" --volunteer ""
refused "site add --name of spaces" "^relief: --name must not be empty: a site needs a name$" \
    relief --data "$C" site add --kind centre --name "   "
refused "site set --name of an ideographic space" "^relief: --name must not be empty" \
    relief --data "$C" site set C --name "　"
refused "site set --name of a zero-width space and a BOM" "^relief: --name must not be empty" \
    relief --data "$C" site set C --name "$(printf '\342\200\213\357\273\277')"
refused "shift signup --volunteer of a combining accent alone" "^relief: --volunteer must not be empty" \
    relief --data "$C" shift signup "$sid" --volunteer "$(printf '\314\201')"
refused "a name of two lines" "^relief: --name: 'x\\?y' holds a line break" \
    relief --data "$C" site add --kind centre --name "$(printf 'x\ny')"
refused "shift signup --volunteer of spaces" "^relief: --volunteer must not be empty" \
    relief --data "$C" shift signup "$sid" --volunteer "  "
check "an item's category may be emptied" relief --data "$C" item set milk --category ""

# a bad --code or --languages is named by its option and value, not by the op it would become
c_digest=$(relief --data "$C" digest)
refused "site add --code 'A B'" "^relief: --code: 'A B' may hold only letters, digits, '\.', '_' and '-' \(1 to 32 of them\)$" \
    relief --data "$C" site add --kind centre --name N --code "A B"
refused "site set --code ''" "^relief: --code: '' may hold only" relief --data "$C" site set C --code ""
refused "site set --languages 'pt;tl'" "^relief: --languages: 'pt;tl' is not a list of language tags like pt,tl" \
    relief --data "$C" site set C --languages "pt;tl"
refused "site add --languages 'pt;tl'" "^relief: --languages: 'pt;tl' is not a list" \
    relief --data "$C" site add --kind centre --name N --code N1 --languages "pt;tl"
check "languages with spaces around the commas" relief --data "$C" site set C --languages " pt , tl,zh "
check_match "are the tags without the spaces" "$(relief --data "$C" site show C)" "^languages +pt tl zh$"

# times shown to a person are the node's local time, as they are typed (JSON keeps UTC, with Z)
TK="$T/tokyo"
export TZ=Asia/Tokyo
relief --data "$TK" init --name tk >/dev/null 2>&1
relief --data "$TK" site add --kind kitchen --name 炊き出し --code K1 >/dev/null 2>&1
relief --data "$TK" site add --kind warehouse --name 倉庫 --code W1 >/dev/null 2>&1
relief --data "$TK" item add rice --name 米 --unit kg >/dev/null 2>&1
relief --data "$TK" shift add --site K1 --start 2030-03-21T10:00 --end 2030-03-21T13:00 --slots 2 >/dev/null
check_match "shift list: start and end in local time" "$(relief --data "$TK" shift list)" "2030-03-21T10:00 +2030-03-21T13:00"
check_match "shift list --json: in UTC" "$(relief --data "$TK" --json shift list)" '"start": "2030-03-21T01:00:00Z"'
relief --data "$TK" site set K1 --counted-at 2030-03-21T18:00 >/dev/null
check_match "site show: counted-at in local time" "$(relief --data "$TK" site show K1)" "^counted-at +2030-03-21T18:00$"
relief --data "$TK" stock receive --site W1 --item rice --qty 5 >/dev/null 2>&1
relief --data "$TK" stock dispatch --from W1 --to K1 --item rice --qty 2 >/dev/null 2>&1
sent=$(relief --data "$TK" --json stock transit | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["time"])')
local_sent=$(/usr/bin/python3 -c 'import sys,datetime; t=datetime.datetime.fromisoformat(sys.argv[1].replace("Z","+00:00")); print((t+datetime.timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M"))' "$sent")
check_match "stock transit: sent in local time" "$(relief --data "$TK" stock transit)" " $local_sent "
unset TZ
# a money donation's trace says the amount (not 'pledged 0')
md=$(relief --data "$TK" donation pledge --donor "Rotary 大阪" --to K1 --amount 10000 --currency JPY)
check_match "a money donation's trace: the amount" "$(relief --data "$TK" trace "$md" | head -1)" ": 10000 JPY, open$"
check_match "and its pledge" "$(relief --data "$TK" trace "$md" | sed -n 3p)" "pledged +10000 JPY"
check_match "donation list: no 'delivered 0' for money" "$(relief --data "$TK" donation list | grep Rotary)" "K1 +10000 JPY +open$"

# a shift's roster from the CLI: who is confirmed, who waits and where, who moves up
S1=$(relief --data "$TK" shift add --site K1 --start 2030-03-22T10:00 --end 2030-03-22T13:00 --slots 1 --role cook)
check_eq "a sign-up within the slots says it is confirmed" \
    "$(relief --data "$TK" shift signup "$S1" --volunteer 佐藤 2>&1 >/dev/null)" "佐藤 is confirmed"
check_eq "one past the slots says it waits, and where" \
    "$(relief --data "$TK" shift signup "$S1" --volunteer Maria 2>&1 >/dev/null)" \
    "Maria is wait-listed, number 1 in line: every slot is taken"
check_match "--json says the status" "$(relief --data "$TK" --json shift signup "$S1" --volunteer 李)" '"status": "waitlisted"'
roster=$(relief --data "$TK" shift show "$S1")
check_match "shift show: the shift, in local time" "$(echo "$roster" | head -1)" "2030-03-22T10:00 to 2030-03-22T13:00, cook, 1 slot$"
check_match "and the roster in order" "$(echo "$roster" | sed -n '3,5p' | awk '{print $2, $3, $4}' | tr '\n' ';')" \
    "^佐藤 confirmed .*;Maria wait-listed 1;李 wait-listed 2;$"
check_eq "a cancellation says who moves up" \
    "$(relief --data "$TK" shift cancel "$S1" --volunteer 佐藤 2>&1 >/dev/null)" \
    "Maria moves up from the wait list: confirmed"
check_match "and the roster shows it" "$(relief --data "$TK" shift show "$S1" | sed -n 3p)" "^1 +Maria +confirmed"
check_status "shift show of no shift: exit 1" 1 relief --data "$TK" shift show ffffffff-1
check_status "shift served does not take --volunteer" 2 relief --data "$TK" shift served "$S1" --meals 3 --volunteer x
check_status "shift signup does not take --meals" 2 relief --data "$TK" shift signup "$S1" --volunteer y --meals 3

# an arrival says what arrived of what was sent, and more than was sent not quietly
T2=$(relief --data "$TK" stock dispatch --from W1 --to K1 --item rice --qty 2 2>/dev/null)
check_eq "an arrival of more than was dispatched says so" \
    "$(relief --data "$TK" stock arrive "$T2" --qty 20 2>&1 >/dev/null)" \
    "20 of 2 rice arrived: MORE than was dispatched (see relief alerts); balance there 20"
check_eq "a corrected one, what it is" "$(relief --data "$TK" stock arrive "$T2" 2>&1 >/dev/null)" \
    "2 of 2 rice arrived; balance there 2"
check_match "--json: dispatched and arrived" "$(relief --data "$TK" --json stock arrive "$T2" --qty 1)" '"dispatched": 2,'

# a message quoting a long value cut to its first bytes never ends inside a character
long_ja=$(printf '長%.0s' $(seq 200))
check "a long Japanese name's error is whole UTF-8" \
    /usr/bin/python3 -c 'import subprocess,sys; r=subprocess.run(sys.argv[1:], capture_output=True); r.stderr.decode("utf-8"); sys.exit(0 if r.returncode == 1 and r.stderr.count(b"\n") == 1 else 1)' \
    "$RELIEF_BIN" --data "$TK" site add --kind centre --name "$long_ja"

# peers: one URL, one peer; a URL that cannot work is refused; a peer can be removed
PR="$T/peers-node"
relief --data "$PR" init --name pr >/dev/null 2>&1
printf 'rlt_x\n' >"$T/pr.tok"; chmod 600 "$T/pr.tok"
relief --data "$PR" peer add http://10.0.0.2:8080/ --token-file "$T/pr.tok" >/dev/null 2>&1
relief --data "$PR" peer add http://10.0.0.2:8080 >/dev/null 2>&1
check_eq "a URL with and without its trailing slash is one peer" \
    "$(relief --data "$PR" --json peer list | /usr/bin/python3 -c 'import json,sys; print([p["url"] for p in json.load(sys.stdin)])')" \
    "['http://10.0.0.2:8080']"
for bad in 'http://a b' 'http://127.0.0.1:' 'http://127.0.0.1:70000' 'http://' 'http://h:80x'; do
    check_status "peer add '$bad': exit 1" 1 relief --data "$PR" peer add "$bad"
done
check_status "sync to a URL with no port after its colon: exit 1" 1 relief --data "$PR" sync http://127.0.0.1:
check "peer remove" relief --data "$PR" peer remove http://10.0.0.2:8080/
check_eq "forgets it" "$(relief --data "$PR" --json peer list)" "[]"
check_eq "and its token" "$(ls "$PR/peers" | grep -c token)" 0
check_status "peer remove of no peer: exit 1" 1 relief --data "$PR" peer remove http://10.0.0.3:8080

# tables a person reads are in order: stock by site code then item (a site's rows together),
# sites by code
check "relief stock: by site code, then item" sh -c "'$RELIEF_BIN' --data '$TK' stock | tail -n +2 | awk '{print \$1, \$3}' | LC_ALL=C sort -c"
check "relief site list: by code" sh -c "'$RELIEF_BIN' --data '$TK' site list | tail -n +2 | awk '{print \$2}' | LC_ALL=C sort -c"

# one op is one op
relief --data "$T/one-op" init --name one >/dev/null 2>&1
check_eq "a bundle of one op says so" "$(relief --data "$T/one-op" bundle create "$T/one.bundle" 2>&1)" "wrote 1 op to $T/one.bundle"
