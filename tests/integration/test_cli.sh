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
check_status "a backup into an existing node refuses" 1 relief backup "$T/backup"

# joining a network
check "init --network joins a network" relief --data "$T/second" init --name second --network "$net"
check_eq "the joined node is in the same network" \
    "$(relief --data "$T/second" --json status | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["network"])')" "$net"

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
check_status "bad network id" 2 relief --data "$T/x" init --network nothex
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

# a data directory of the previous data format (1) is upgraded when a command first opens it:
# every view rebuilt from the op log, in one transaction
U="$T/upgrade"
relief --data "$U" init --name up >/dev/null 2>&1 && relief --data "$U" demo >/dev/null 2>&1
up_digest=$(relief --data "$U" digest)
needs=$(relief --data "$U" report needs --format csv)
trace=$(relief --data "$U" --json report donations)
check "make the directory look like data format 1" "$BUILD_DIR/tests/oldformat" "$U"
up_out=$(relief --data "$U" status 2>&1)
check_match "the first command upgrades and says so" "$up_out" "upgrading '.*' from data format 1 to 2"
check_match "counting the ops applied again" "$up_out" "upgraded \([1-9][0-9]* ops applied again\)"
check_eq "the upgraded state has the digest of before" "$(relief --data "$U" digest 2>&1)" "$up_digest"
check_eq "which the op log gives too" "$(relief --data "$U" digest --rebuild 2>&1)" "$up_digest"
check_eq "the needs report is the same" "$(relief --data "$U" report needs --format csv)" "$needs"
check_eq "the donation report is the same" "$(relief --data "$U" --json report donations)" "$trace"
check_eq "a second command does not upgrade again" "$(relief --data "$U" status 2>&1 >/dev/null)" ""
check "the upgraded node takes writes" relief --data "$U" stock receive --site WH-ISH --item water-2l --qty 5
