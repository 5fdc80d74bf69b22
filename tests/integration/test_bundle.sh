#!/bin/bash
# Two laptops with no network: bundles on a USB stick carry the ops each lacks; applying one
# twice, out of order, cut short or from another network is harmless. Tokens and peers.
. "$(dirname "$0")/../lib.sh"
py() { /usr/bin/python3 -c "$@"; }

A="$T/a" B="$T/b"
relief --data "$A" init --name A >/dev/null
net=$(relief --data "$A" --json status | py 'import json,sys; print(json.load(sys.stdin)["network"])')
relief --data "$B" init --name B --network "$net" >/dev/null
relief --data "$A" demo 2>/dev/null

relief --data "$B" --json status >"$T/b.json"
# a version vector whose origin is not hex is refused, not read as origin 0 (everything)
for o in zzzzzzzzzzzzzzzz 0123456789abcdeX " 123456789abcdef" 0x23456789abcdef; do
    py 'import json,sys; d=json.load(open(sys.argv[1])); d["version_vector"][0]["origin"]=sys.argv[2]; json.dump(d,open(sys.argv[3],"w"))' \
        "$T/b.json" "$o" "$T/bad-vv.json"
    check_status "an origin '$o' in --for is refused" 1 relief --data "$A" bundle create "$T/bad.bundle" --for "$T/bad-vv.json"
done
check_match "saying which" "$(relief --data "$A" bundle create "$T/bad.bundle" --for "$T/bad-vv.json" 2>&1)" \
    "version_vector entry 0: origin '0x23456789abcdef' is not 16 hex digits"
check "and writes no bundle" test ! -e "$T/bad.bundle"
check_eq "--for a file that is not there: says so" "$(relief --data "$A" bundle create "$T/bad.bundle" --for "$T/none.json" 2>&1)" "relief: --for: cannot read '$T/none.json': No such file or directory"
check "bundle for what B lacks" relief --data "$A" bundle create "$T/ab.bundle" --for "$T/b.json"
check "B applies it" relief --data "$B" bundle apply "$T/ab.bundle"
check "applying twice is harmless" relief --data "$B" bundle apply "$T/ab.bundle"
relief --data "$B" stock receive --site WH-ISH --item rice-5kg --qty 5 >/dev/null 2>&1
check "bundle of everything from B" relief --data "$B" bundle create "$T/ba.bundle"
check "A applies it" relief --data "$A" bundle apply "$T/ba.bundle"
check_eq "A and B agree" "$(relief --data "$A" digest)" "$(relief --data "$B" digest)"

# out of order: C gets B's second bundle before the first
C="$T/c"
relief --data "$C" init --name C --network "$net" >/dev/null
relief --data "$B" bundle create "$T/b1.bundle" >/dev/null 2>&1
relief --data "$B" stock receive --site WH-ISH --item water-2l --qty 7 >/dev/null 2>&1
relief --data "$B" --json status >"$T/b-now.json"
relief --data "$C" bundle apply "$T/b1.bundle" >/dev/null 2>&1
relief --data "$C" --json status >"$T/c1.json"
relief --data "$B" bundle create "$T/b2.bundle" --for "$T/c1.json" >/dev/null 2>&1
rm -rf "$T/d"; relief --data "$T/d" init --name D --network "$net" >/dev/null
check "the later bundle first" relief --data "$T/d" bundle apply "$T/b2.bundle"
check "then the earlier" relief --data "$T/d" bundle apply "$T/b1.bundle"
check "then the later again" relief --data "$T/d" bundle apply "$T/b2.bundle"
# D now holds every op B has: the same version vector entries for A and B
vvs() { relief --data "$1" --json status | py 'import json,sys; s=json.load(sys.stdin); print(sorted((o["origin"],o["seq"]) for o in s["version_vector"] if o["name"] in ("A","B")))'; }
check_eq "out of order ends where in order does" "$(vvs "$T/d")" "$(vvs "$B")"

# a bundle of many batches: a few batches to a transaction, the state the ops give
py 'import sys
sys.stdout.write("type,site,item,qty\n" + "receive,WH-ISH,rice-5kg,1\n" * 45000)' >"$T/many.csv"
relief --data "$A" import movements "$T/many.csv" 2>/dev/null
relief --data "$A" bundle create "$T/many.bundle" >/dev/null 2>&1
relief --data "$T/e" init --name E --network "$net" >/dev/null
out=$(relief --data "$T/e" --json bundle apply "$T/many.bundle")
shape() { py 'import json,sys; a=json.loads(sys.argv[1]); print(a["batches"] >= 5, a["transactions"] == (a["batches"] + 1) // 2, a["applied"] > 45000)' "$1"; }
check_eq "batches of 10,000 ops applied two to a transaction" "$(shape "$out")" "True True True"
check_eq "to the state a rebuild from its ops gives" "$(relief --data "$T/e" digest --rebuild)" "$(relief --data "$T/e" digest)"
check_eq "the ops' stock" "$(relief --data "$T/e" --json stock --site WH-ISH --item rice-5kg | py 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')" "$(relief --data "$A" --json stock --site WH-ISH --item rice-5kg | py 'import json,sys; print(json.load(sys.stdin)[0]["balance"])')"
again=$(relief --data "$T/e" --json bundle apply "$T/many.bundle" | py 'import json,sys; a=json.load(sys.stdin); print(a["applied"], a["duplicate"] > 45000)')
check_eq "again: every op already held" "$again" "0 True"

# damage and strangers change nothing
before=$(relief --data "$B" digest)
head -c 300 "$T/ab.bundle" >"$T/cut.bundle"
check_status "a cut bundle is refused" 1 relief --data "$B" bundle apply "$T/cut.bundle"
printf 'not a bundle at all' >"$T/junk.bundle"
check_status "junk is refused" 1 relief --data "$B" bundle apply "$T/junk.bundle"
relief --data "$T/other" init --name X >/dev/null
check_status "another network's bundle is refused" 1 relief --data "$T/other" bundle apply "$T/ab.bundle"
check_match "and says so" "$(relief --data "$T/other" bundle apply "$T/ab.bundle" 2>&1)" "belongs to relief network"
check_eq "nothing changed" "$(relief --data "$B" digest)" "$before"
check_status "missing file" 1 relief --data "$B" bundle apply "$T/nope.bundle"
check_status "bundle without a file" 2 relief --data "$B" bundle create

# tokens: shown once, stored hashed, revocable
tok=$(relief --data "$A" token add --role sync --name laptop-b 2>/dev/null)
check_match "a token is printed" "$tok" '^rlt_[A-Za-z0-9_-]{43}$'
check "the token is not stored in clear" bash -c "! grep -qa '$tok' '$A/data.mdb'"
id=$(relief --data "$A" --json token list | py 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
check_match "token list shows its role" "$(relief --data "$A" token list)" "$id +sync +laptop-b"
check_status "unknown role: a bad value" 1 relief --data "$A" token add --role admin
check "revoke" relief --data "$A" token revoke "$id"
check_eq "revoked" "$(relief --data "$A" --json token list | py 'import json,sys; print(len(json.load(sys.stdin)))')" 0

# peers: their tokens kept in the data directory for the user alone
printf '%s\n' "$tok" >"$T/tok"; chmod 600 "$T/tok"
check "peer add with a token file" relief --data "$B" peer add http://127.0.0.1:9 --token-file "$T/tok"
f=$(ls "$B/peers/"*.token)
check_eq "peer token file is mode 600" "$(stat -c %a "$f")" 600
check_match "peer list" "$(relief --data "$B" peer list)" "http://127.0.0.1:9"
chmod 644 "$T/tok"
check_status "a token file others can read is refused" 1 relief --data "$B" peer add http://127.0.0.1:10 --token-file "$T/tok"
check_status "a peer that is not a URL: a bad value" 1 relief --data "$B" peer add ftp://x
