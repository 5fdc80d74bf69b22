#!/bin/bash
# The JSON API (/api/v1) of a real `relief serve` on 127.0.0.1, from the outside with curl:
# the examples of relief/API.md, every read and write, paging and filters, bad input refused
# with nothing written, roles and tokens, the Host check, cross-site writes, concurrent writes
# (group-committed) all acknowledged and all there, reads answered while a write waits for the
# write lock and SIGTERM answering queued writes first, an acknowledged write surviving kill -9,
# and the dashboard's files with their security headers.
. "$(dirname "$0")/../lib.sh"
py() { /usr/bin/python3 -c "$@"; }
# jq-like: json PATH-EXPRESSION (python, on stdin's JSON as d)
json() { py "import json,sys; d=json.load(sys.stdin); print($1)"; }

A="$T/a"
relief --data "$A" init --name A >/dev/null
relief --data "$A" demo 2>/dev/null
# each (re)start of A on a port of the system's choosing: R and port follow it
serve_a() { start_serve "$A" "$@"; R=$SERVE_URL port=$SERVE_PORT; }
serve_a
export R
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
post() { # post PATH JSON [curl args...]
    p=$1 b=$2
    shift 2
    curl -s -X POST -H 'Content-Type: application/json' -d "$b" "$@" "$R/api/v1/$p"
}
patch() {
    p=$1 b=$2
    shift 2
    curl -s -X PATCH -H 'Content-Type: application/json' -d "$b" "$@" "$R/api/v1/$p"
}
get() { curl -s "$@"; }

# --- the examples of API.md, in order, with their statuses ---
n=0 bad=0
while IFS= read -r line; do
    want=${line##*# }
    cmd=${line%#*}
    got=$(eval "$cmd -o /dev/null -w '%{http_code}'")
    n=$((n + 1))
    if [ "$got" != "$want" ]; then
        bad=$((bad + 1))
        not_ok "API.md example answers $want" "$cmd -> $got"
    fi
done < <(sed -n '/^```sh$/,/^```$/p' "$(dirname "$0")/../../relief/API.md" | grep '^curl')
check_eq "the $n examples of API.md answer as documented" "$bad" 0
check_match "there are examples" "$n" '^[1-9][0-9]+$'

# --- reads ---
st=$(get "$R/api/v1/status")
check_eq "status: the local laptop is served as write" "$(echo "$st" | json 'd["role"]')" write
check_eq "status names the node" "$(echo "$st" | json 'd["name"]')" A
check_eq "sites?kind=centre lists only centres" \
    "$(get "$R/api/v1/sites?kind=centre" | json 'sorted(set(s["kind"] for s in d["items"]))')" "['centre']"
check_eq "paging: limit 2 gives 2 with the full total" \
    "$(get "$R/api/v1/sites?limit=2&offset=1" | json 'len(d["items"]), d["total"] > 2, d["offset"]')" "2 True 1"
# the node keeps a list for the pages that follow, until a write
n0=$(get "$R/api/v1/sites?limit=1" | json 'd["total"]')
post sites '{"kind":"point","name":"一覧 の 次"}' >/dev/null
check_eq "a page asked after a write counts what was written" \
    "$(get "$R/api/v1/sites?limit=1&offset=1" | json 'd["total"]')" $((n0 + 1))
check_eq "and has it" "$(get "$R/api/v1/sites?limit=1000" | json 'sum(s["name"] == "一覧 の 次" for s in d["items"])')" 1
check_eq "a list with other parameters is its own" \
    "$(get "$R/api/v1/sites?kind=point&limit=1000" | json 'sorted(set(s["kind"] for s in d["items"]))')" "['point']"
check_eq "pages of one list fit together" \
    "$(py 'import json,os,urllib.request as u
r=os.environ["R"]+"/api/v1/sites"
whole=json.load(u.urlopen(r+"?limit=1000"))["items"]
pages=[s for o in range(0, len(whole), 3) for s in json.load(u.urlopen(r+"?limit=3&offset=%d" % o))["items"]]
print(pages == whole, len(whole) > 3)')" "True True"
check_eq "a bad limit is a 400" "$(code "$R/api/v1/sites?limit=0")" 400
check_eq "an unknown parameter is a 400" "$(code "$R/api/v1/sites?colour=red")" 400
check_match "and names it" "$(get "$R/api/v1/sites?colour=red")" '"field":"colour"'
check_eq "an unknown site filter is a 400" "$(code "$R/api/v1/stock?site=NOWHERE")" 400
check_eq "an unknown site is a 404" "$(code "$R/api/v1/sites/NOWHERE")" 404
check_eq "a site with its needs and shifts" \
    "$(get "$R/api/v1/sites/KIT-MINATO" | json '"needs" in d and len(d["shifts"]) > 0')" True
check_eq "needs?open=1: every gap above 0" \
    "$(get "$R/api/v1/needs?open=1" | json 'all(x["gap"] > 0 for x in d["items"]) and d["total"] > 0')" True
check_eq "stock totals sum the sites" \
    "$(get "$R/api/v1/stock/totals?item=blanket" | json 'd["items"][0]["balance"]')" \
    "$(get "$R/api/v1/stock?item=blanket" | json 'sum(x["balance"] for x in d["items"])')"
check_match "movements newest first, with kind and author" \
    "$(get "$R/api/v1/movements?limit=1" | json 'd["items"][0]["kind"], d["items"][0]["author"]')" "receive|dispatch|distribute|adjust"
check_eq "reports as CSV" "$(curl -s -o /dev/null -w '%{content_type}' "$R/api/v1/reports/stock?format=csv")" "text/csv; charset=utf-8"
check_match "downloaded under the report's name" "$(curl -s -D - -o /dev/null "$R/api/v1/reports/stock?format=csv" | grep -i '^content-disposition')" 'filename="relief-stock.csv"'
check_match "its HXL too" "$(curl -s -D - -o /dev/null "$R/api/v1/reports/needs?format=hxl" | grep -i '^content-disposition')" 'filename="relief-needs-hxl.csv"'
check_match "HXL: the second row is hashtags" "$(get "$R/api/v1/reports/needs?format=hxl" | sed -n 2p)" '^#'
check_eq "an unknown report is a 404" "$(code "$R/api/v1/reports/weather")" 404
trace_id=$(get "$R/api/v1/donations" | json '[x for x in d["items"] if x.get("item")][0]["id"]')
check_eq "a donation's trace runs from pledge to distribution" \
    "$(get "$R/api/v1/donations/$trace_id/trace" | json '[e["stage"] for e in d["events"]][0], [e["stage"] for e in d["events"]][-1]')" "pledged distributed"

# --- writes: every record the CLI can make ---
bal() { get "$R/api/v1/stock?site=$1&item=$2" | json 'd["items"][0]["balance"] if d["items"] else 0'; }
b0=$(bal WH-ISH blanket)
r=$(post stock/receive '{"site":"WH-ISH","item":"blanket","qty":25,"lot":"L-API","expiry":"2027-06-30","by":"api test"}')
check_eq "receive answers the new balance" "$(echo "$r" | json 'd["balance"]')" $((b0 + 25))
check_eq "and the balance reads back" "$(bal WH-ISH blanket)" $((b0 + 25))
check_eq "the author is the body's 'by'" "$(get "$R/api/v1/movements?site=WH-ISH&limit=1" | json 'd["items"][0]["author"]')" "api test"
check_eq "movements of one shelf: site and item together" \
    "$(get "$R/api/v1/movements?site=WH-ISH&item=blanket&limit=1" | json 'd["items"][0]["item"], d["items"][0]["qty"], d["items"][0]["lot"]')" "blanket 25 L-API"
tr=$(post stock/dispatch '{"from":"WH-ISH","to":"ISH-MINATO","item":"blanket","qty":20}' | json 'd["transfer"]')
check_eq "dispatch: in transit at the destination" \
    "$(get "$R/api/v1/stock?site=ISH-MINATO&item=blanket" | json 'd["items"][0]["in_transit"]')" 20
check_eq "an open transfer is listed with its id" \
    "$(get "$R/api/v1/movements?kind=dispatch&open=1&site=ISH-MINATO" | json '[x["arrived"] for x in d["items"] if x["transfer"] == "'"$tr"'"]')" "[None]"
# two item codes whose shelf-index hashes are equal (FNV-1a 0x590c9ff8, folded 0xc6f4): one shelf's movements
# and a count on it leave the other's alone
relief --data "$A" item add k870221 --name "Kit A" --unit pcs >/dev/null 2>&1
relief --data "$A" item add k1476200 --name "Kit B" --unit pcs >/dev/null 2>&1
post stock/receive '{"site":"WH-ISH","item":"k870221","qty":100}' >/dev/null
post stock/receive '{"site":"WH-ISH","item":"k1476200","qty":70}' >/dev/null
post stock/receive '{"site":"WH-ISH","item":"k870221","qty":5}' >/dev/null
check_eq "movements of one item, not of one whose code hashes alike" \
    "$(get "$R/api/v1/movements?site=WH-ISH&item=k870221" | json 'sorted(x["qty"] for x in d["items"]), sorted(set(x["item"] for x in d["items"]))')" "[5, 100] ['k870221']"
relief --data "$A" stock count --site WH-ISH --item k1476200 --qty 60 >/dev/null 2>&1
check_eq "a count of one leaves the other alone" "$(bal WH-ISH k870221) $(bal WH-ISH k1476200)" "105 60"
check_eq "the state is what the op log gives" "$(relief --data "$A" digest)" "$(relief --data "$A" digest --rebuild)"
open_has() { get "$R/api/v1/movements?open=1$2" | json 'len([x for x in d["items"] if x["transfer"] == "'"$1"'"])'; }
check_eq "open transfers of every site list it, by item too, not under another item" \
    "$(open_has "$tr" "&kind=dispatch") $(open_has "$tr" "&item=blanket") $(open_has "$tr" "&item=rice-5kg")" "1 1 0"
check_eq "arrive short: what was sent and what arrived" "$(post stock/arrive "{\"transfer\":\"$tr\",\"qty\":18}" | json 'd["dispatched"] > 18, d["arrived"], "balance" in d')" "True 18 True"
check_eq "the arrival lands" "$(bal ISH-MINATO blanket)" 18
check_eq "the transfer shows what arrived, and is no longer open" \
    "$(get "$R/api/v1/movements?kind=dispatch&site=ISH-MINATO" | json '[x["arrived"] for x in d["items"] if x["transfer"] == "'"$tr"'"]') $(get "$R/api/v1/movements?kind=dispatch&open=1&site=ISH-MINATO" | json 'len([x for x in d["items"] if x["transfer"] == "'"$tr"'"])')" "[18] 0"
check_eq "nor among the open transfers of every site" "$(open_has "$tr" "")" 0
check_match "and the shortfall is an alert" "$(get "$R/api/v1/alerts")" "dispatched 20, arrived 18"
need=$(post needs '{"site":"ISH-MINATO","item":"blanket","qty":50,"priority":"high"}' | json 'd["id"]')
check_match "a need added" "$need" '^[0-9a-f]{8}-[0-9]+$'
check_eq "distribute against it" "$(code -X POST -H 'Content-Type: application/json' -d "{\"site\":\"ISH-MINATO\",\"item\":\"blanket\",\"qty\":12,\"need\":\"$need\"}" "$R/api/v1/stock/distribute")" 201
check_eq "the gap shrinks" "$(get "$R/api/v1/needs?site=ISH-MINATO&item=blanket" | json '[x["gap"] for x in d["items"] if x["id"] == "'"$need"'"][0]')" 38
check_eq "a need changed" "$(code -X PATCH -H 'Content-Type: application/json' -d '{"qty":40}' "$R/api/v1/needs/$need")" 200
n2=$(post needs '{"site":"ISH-MINATO","item":"blanket","qty":7}' | json 'd["id"]')
check_match "open=1 lists an open need" "$(get "$R/api/v1/needs?open=1" | json '[x["id"] for x in d["items"]]')" "$n2"
patch "needs/$n2" '{"status":"closed"}' >/dev/null
check_eq "but not once it is closed, gap or no gap" "$(get "$R/api/v1/needs?open=1" | json '"'"$n2"'" in [x["id"] for x in d["items"]]')" False
check_eq "count the shelf" "$(post stock/count '{"site":"ISH-MINATO","item":"blanket","qty":5}' | json 'd["balance"]')" 5
mv=$(get "$R/api/v1/movements?site=WH-ISH&limit=1" | json 'd["items"][0]["op"]')
check_eq "void a movement" "$(code -X POST -H 'Content-Type: application/json' -d "{\"movement\":\"$mv\",\"reason\":\"typed twice\"}" "$R/api/v1/stock/void")" 201
check_eq "it shows as voided" "$(get "$R/api/v1/movements?site=WH-ISH" | json '[x["voided"] for x in d["items"] if x["op"] == "'"$mv"'"][0]')" True
tr2=$(post stock/dispatch '{"from":"WH-ISH","to":"ISH-MINATO","item":"blanket","qty":1}' | json 'd["transfer"]')
check_eq "a transfer voided is no longer open" \
    "$(open_has "$tr2" "") $(code -X POST -H 'Content-Type: application/json' -d "{\"movement\":\"$tr2\",\"reason\":\"wrong truck\"}" "$R/api/v1/stock/void") $(open_has "$tr2" "")" "1 201 0"
check_eq "adjust without a reason names the field" "$(post stock/adjust '{"site":"WH-ISH","item":"blanket","qty":-1}' | json 'd["field"]')" reason
check_eq "tonight's occupancy" "$(code -X PATCH -H 'Content-Type: application/json' -d '{"occupancy":700}' "$R/api/v1/sites/ISH-MINATO")" 200
check_match "over capacity is an alert" "$(get "$R/api/v1/alerts")" "ISH-MINATO.*holds 700 people"
sid=$(post sites '{"kind":"point","name":"<img src=x onerror=alert(1)>","code":"PT-X","lat":38.4,"lon":141.3,"languages":["pt","tl"]}' | json 'd["id"]')
check_eq "a site added keeps its name as text" "$(get "$R/api/v1/sites/$sid" | json 'd["name"]')" "<img src=x onerror=alert(1)>"
check_eq "with its languages" "$(get "$R/api/v1/sites/PT-X" | json '",".join(sorted(d["languages"]))')" "pt,tl"
lop=$(patch sites/PT-X '{"languages":["pt","tl","ja"]}' | json 'd["op"]')
check_match "languages alone changed: the op that recorded them" "$lop" '^[0-9a-f]{8}-[1-9][0-9]*$'
check_match "written by this node" "$lop" "^$(relief --data "$A" --json status | json 'd["node"][:8]')-"
check_eq "the same languages again: no op" "$(patch sites/PT-X '{"languages":["pt","tl","ja"]}' | json 'd["op"]')" None
check_match "its latitude as it was given, not 38.399999999999999" "$(get "$R/api/v1/sites/PT-X")" '"lat": ?38\.4,'
check_eq "an item changed" "$(code -X PATCH -H 'Content-Type: application/json' -d '{"category":"bedding, winter"}' "$R/api/v1/items/blanket")" 200
sh=$(post shifts '{"site":"KIT-MINATO","start":"2026-12-02T06:00","end":"2026-12-02T09:00","slots":1,"role":"serving"}' | json 'd["id"]')
check_eq "a sign-up is confirmed" "$(post "shifts/$sh/signup" '{"volunteer":"Ana","contact":"ana@example.org"}' | json 'd["status"]')" confirmed
check_eq "one more than the slots is wait-listed" "$(post "shifts/$sh/signup" '{"volunteer":"Ben"}' | json 'd["status"]')" waitlisted
check_eq "one shift with its roster" "$(get "$R/api/v1/shifts/$sh" | json 'd["slots"], len(d["signups"])')" "1 2"
check_eq "an unknown shift is a 404" "$(code "$R/api/v1/shifts/00000000-5")" 404
check_eq "is wait-listed" "$(get "$R/api/v1/shifts?short=0" | json '[[s["status"] for s in x["signups"]] for x in d["items"] if x["id"] == "'"$sh"'"][0]')" "['confirmed', 'waitlisted']"
check_eq "a cancel moves the wait list up" "$(code -X POST -H 'Content-Type: application/json' -d '{"volunteer":"Ana"}' "$R/api/v1/shifts/$sh/cancel")" 201
check_eq "Ben is confirmed" "$(get "$R/api/v1/shifts" | json '[[s["volunteer"] for s in x["signups"] if s["status"] == "confirmed"] for x in d["items"] if x["id"] == "'"$sh"'"][0]')" "['Ben']"
check_eq "meals served" "$(code -X POST -H 'Content-Type: application/json' -d '{"meals":120}' "$R/api/v1/shifts/$sh/served")" 201
don=$(post donations '{"donor":"Osaka Parents","to":"SCH-SOL","item":"school-kit","qty":10,"contact":"p@example.org"}' | json 'd["id"]')
check_eq "a donation pledged and changed" "$(code -X PATCH -H 'Content-Type: application/json' -d '{"qty":12}' "$R/api/v1/donations/$don")" 200
check_eq "a donation needs goods or money" "$(post donations '{"donor":"X","to":"SCH-SOL"}' | json 'd["field"]')" item

# --- bad input: refused, named, nothing written ---
dg=$(relief --data "$A" digest)
check_eq "qty as an object" "$(post stock/receive '{"site":"WH-ISH","item":"blanket","qty":{"n":1}}' | json 'd["field"]')" qty
check_eq "an unknown site names the field" "$(post stock/receive '{"site":"NOWHERE","item":"blanket","qty":1}' | json 'd["field"]')" site
for q in 1e3 1.0e0 5.00000000000000000001 2.5; do
    check_eq "qty $q: not a whole number, refused (the CLI refuses it too)" "$(post stock/receive '{"site":"WH-ISH","item":"blanket","qty":'"$q"'}' | json 'd.get("field"), d.get("code")')" "qty invalid"
done
check_eq "a zero quantity names the field" "$(post stock/receive '{"site":"WH-ISH","item":"blanket","qty":0}' | json 'd["field"]')" qty
check_match "qty true: named as given" "$(post stock/receive '{"site":"WH-ISH","item":"blanket","qty":true}' | json 'd["field"], d["error"]')" "^qty .*'true'"
check_eq "a bad date" "$(code -X POST -H 'Content-Type: application/json' -d '{"site":"WH-ISH","item":"blanket","qty":1,"expiry":"2027-02-30"}' "$R/api/v1/stock/receive")" 400
check_eq "a duplicate key" "$(code -X POST -H 'Content-Type: application/json' -d '{"site":"WH-ISH","site":"WH-ISH","item":"blanket","qty":1}' "$R/api/v1/stock/receive")" 400
check_eq "a body that is not an object" "$(code -X POST -H 'Content-Type: application/json' -d '[1,2]' "$R/api/v1/stock/receive")" 400
check_eq "a truncated body" "$(code -X POST -H 'Content-Type: application/json' -d '{"site":"WH-' "$R/api/v1/stock/receive")" 400
head -c 1100000 /dev/zero | tr '\0' 'a' | sed 's/^/{"note":"/; s/$/"}/' >"$T/big.json"
check_eq "a body over 1 MiB is a 413" "$(code -X POST -H 'Content-Type: application/json' --data-binary @"$T/big.json" "$R/api/v1/stock/receive")" 413
head -c 200000 /dev/zero | tr '\0' 'n' | sed 's/^/{"kind":"point","name":"/; s/$/"}/' >"$T/name.json"
check_eq "a 200 KB name is refused" "$(code -X POST -H 'Content-Type: application/json' --data-binary @"$T/name.json" "$R/api/v1/sites")" 400
check_eq "a change to a need that does not exist is a 404" "$(code -X PATCH -H 'Content-Type: application/json' -d '{"qty":1}' "$R/api/v1/needs/00000000-1")" 404
check_eq "a PATCH with nothing to change" "$(code -X PATCH -H 'Content-Type: application/json' -d '{}' "$R/api/v1/sites/WH-ISH")" 400
check_eq "a wrong method says what is allowed" "$(curl -s -o /dev/null -D - -X PUT "$R/api/v1/needs" | grep -i '^allow:' | tr -d '\r')" "Allow: GET, HEAD, POST"
check_eq "another API version is a 404" "$(code "$R/api/v2/status")" 404
ecode() { curl -s "$@" | json 'd.get("code"), d.get("field")'; }
check_eq "errors carry a machine-readable code: an unknown site, a zero quantity" \
    "$(ecode -X POST -H 'Content-Type: application/json' -d '{"site":"NOWHERE","item":"blanket","qty":1}' "$R/api/v1/stock/receive") | $(ecode -X POST -H 'Content-Type: application/json' -d '{"site":"WH-ISH","item":"blanket","qty":0}' "$R/api/v1/stock/receive")" \
    "not_found site | invalid qty"
check_eq "a missing field, an unknown one, a body that is not JSON, nothing to change" \
    "$(ecode -X POST -H 'Content-Type: application/json' -d '{"item":"blanket","qty":1}' "$R/api/v1/stock/receive") | $(ecode -X POST -H 'Content-Type: application/json' -d '{"site":"WH-ISH","item":"blanket","qty":1,"colour":"red"}' "$R/api/v1/stock/receive") | $(ecode -X POST -H 'Content-Type: application/json' -d '{"site":' "$R/api/v1/stock/receive") | $(ecode -X PATCH -H 'Content-Type: application/json' -d '{}' "$R/api/v1/sites/WH-ISH")" \
    "required site | unknown_field colour | malformed_json None | nothing_to_change None"
check_eq "a record that does not exist, a path that does not, a wrong method" \
    "$(ecode "$R/api/v1/sites/NOWHERE") | $(ecode "$R/api/v2/status") | $(ecode -X PUT "$R/api/v1/needs")" \
    "not_found None | no_such_path None | method_not_allowed None"
# the domain's rules, the same as the CLI's: each refusal names its field
check_eq "a shift that ends before it starts" \
    "$(ecode -X POST -H 'Content-Type: application/json' -d '{"site":"KIT-MINATO","start":"2026-12-01T20:00","end":"2026-12-01T17:00","slots":3}' "$R/api/v1/shifts")" "invalid end"
check_eq "an end moved before the shift's start" \
    "$(ecode -X PATCH -H 'Content-Type: application/json' -d '{"end":"2000-01-01T00:00Z"}' "$R/api/v1/shifts/$sh")" "invalid end"
check_eq "a second sign-up of one volunteer" \
    "$(ecode -X POST -H 'Content-Type: application/json' -d '{"volunteer":"Ben"}' "$R/api/v1/shifts/$sh/signup")" "invalid volunteer"
check_eq "a latitude out of range, in degrees" \
    "$(ecode -X PATCH -H 'Content-Type: application/json' -d '{"lat":91}' "$R/api/v1/sites/WH-ISH")" "invalid lat"
check_match "the message says the range in degrees" \
    "$(patch sites/WH-ISH '{"lat":91}' | json 'd["error"]')" "'91' is out of range -90..90"
check_eq "a latitude in hex" "$(ecode -X PATCH -H 'Content-Type: application/json' -d '{"lat":"0x10"}' "$R/api/v1/sites/WH-ISH")" "invalid lat"
check_eq "a currency in lower case" \
    "$(ecode -X POST -H 'Content-Type: application/json' -d '{"donor":"X","to":"SCH-SOL","amount":5,"currency":"jpy"}' "$R/api/v1/donations")" "invalid currency"
check_eq "an amount past 10^15" \
    "$(ecode -X POST -H 'Content-Type: application/json' -d '{"donor":"X","to":"SCH-SOL","amount":1000000000000001,"currency":"JPY"}' "$R/api/v1/donations")" "invalid amount"
check_eq "money with a quantity" \
    "$(code -X POST -H 'Content-Type: application/json' -d '{"donor":"X","to":"SCH-SOL","amount":5,"currency":"JPY","qty":3}' "$R/api/v1/donations")" 400
check_eq "a need for an item and a service" \
    "$(code -X POST -H 'Content-Type: application/json' -d '{"site":"KIT-MINATO","item":"blanket","service":"interp","qty":1}' "$R/api/v1/needs")" 400
# the texts a record cannot be without, refused empty as on the command line
check_eq "an empty site name" "$(post sites '{"kind":"centre","name":""}' | json 'd["code"], d["field"]')" "invalid name"
check_eq "a site's name emptied" "$(patch sites/WH-ISH '{"name":""}' | json 'd["code"], d["field"]')" "invalid name"
check_eq "an empty item name" "$(post items '{"code":"e1","name":"","unit":"u"}' | json 'd["code"], d["field"]')" "invalid name"
check_eq "an empty unit" "$(post items '{"code":"e1","name":"n","unit":""}' | json 'd["code"], d["field"]')" "invalid unit"
check_eq "an item's unit emptied" "$(patch items/blanket '{"unit":""}' | json 'd["code"], d["field"]')" "invalid unit"
check_eq "a need for an empty service" "$(post needs '{"site":"KIT-MINATO","service":"","qty":1}' | json 'd["code"], d["field"]')" "invalid service"
check_eq "an empty donor" "$(post donations '{"donor":"","to":"SCH-SOL","item":"blanket","qty":1}' | json 'd["code"], d["field"]')" "invalid donor"
check_eq "an empty lot" "$(post stock/receive '{"site":"WH-ISH","item":"blanket","qty":1,"lot":""}' | json 'd["code"], d["field"]')" "invalid lot"
check_eq "an empty volunteer" "$(post "shifts/$sh/signup" '{"volunteer":""}' | json 'd["code"], d["field"]')" "invalid volunteer"
check_match "the message names the field" "$(post items '{"code":"e1","name":"n","unit":""}' | json 'd["error"]')" "^unit must not be empty"
check_eq "a 600-byte from names its field" "$(post stock/receive '{"site":"WH-ISH","item":"blanket","qty":1,"from":"'"$(head -c 600 /dev/zero | tr '\0' f)"'"}' | json 'd["code"], d["field"]')" "invalid from"
check_eq "a short code with a space" "$(post sites '{"kind":"centre","name":"N","code":"A B"}' | json 'd["code"], d["field"]')" "invalid code"
check_eq "a language tag with a semicolon" "$(patch sites/WH-ISH '{"languages":"pt;tl"}' | json 'd["code"], d["field"]')" "invalid languages"
check_match "named by its field, not by the op" "$(patch sites/WH-ISH '{"languages":["pt;tl"]}' | json 'd["error"]')" "^languages: 'pt;tl' is not a list of language tags"
check_eq "none of it was written" "$(relief --data "$A" digest)" "$dg"
check_match "the server still answers" "$(get "$R/healthz")" ok

# --- query parameters: every value checked; shift windows compared as times ---
post sites '{"kind":"kitchen","name":"Query kitchen","code":"KIT-Q"}' >/dev/null
s1=$(post shifts '{"site":"KIT-Q","start":"2031-03-10T08:00Z","end":"2031-03-10T11:00Z","slots":1}' | json 'd["id"]')
s2=$(post shifts '{"site":"KIT-Q","start":"2031-03-10T17:00Z","end":"2031-03-10T20:00Z","slots":1}' | json 'd["id"]')
s3=$(post shifts '{"site":"KIT-Q","start":"2031-03-11T02:00Z","end":"2031-03-11T05:00Z","slots":1}' | json 'd["id"]')
# win QUERY: the KIT-Q shifts the query keeps, as s1 s2 s3
win() {
    get "$R/api/v1/shifts?site=KIT-Q&$1" | json '" ".join({"'"$s1"'": "s1", "'"$s2"'": "s2", "'"$s3"'": "s3"}[x["id"]] for x in d["items"])'
}
check_eq "three shifts to filter" "$(win "")" "s1 s2 s3"
check_eq "to with an offset: 18:00+09:00 is 09:00Z, so not the shift at 17:00Z" \
    "$(win "from=2031-03-10T00:00Z&to=2031-03-10T18:00%2B09:00")" "s1"
check_eq "a shift starting at to is out; seconds change nothing" \
    "$(win "to=2031-03-10T17:00Z") | $(win "to=2031-03-10T17:00:00Z") | $(win "to=2031-03-11T02:00%2B09:00")" "s1 | s1 | s1"
check_eq "from with an offset: a shift ending at from is in, one ending before it out" \
    "$(win "from=2031-03-10T20:00%2B09:00") | $(win "from=2031-03-10T20:01%2B09:00") | $(win "from=2031-03-10T11:00:01Z")" \
    "s1 s2 s3 | s2 s3 | s2 s3"
check_eq "from and to with other offsets: 12:30-05:00 is 17:30Z, 05:00+09:00 is 20:00Z" \
    "$(win "from=2031-03-10T12:30-05:00&to=2031-03-11T05:00%2B09:00")" "s2"
check_eq "the dashboard's form (seconds, Z)" \
    "$(win "short=1&from=2031-03-10T09:00:00Z&to=2031-03-11T09:00:00Z")" "s1 s2 s3"
# a date alone is 00:00 of that day in the node's local time (its TZ, which it has from this script)
bare=$(py 'import calendar, time
lo, hi = (time.mktime((2031, 3, d, 0, 0, 0, 0, 0, -1)) for d in (11, 12))
t0 = calendar.timegm((2031, 3, 10, 0, 0, 0))
shifts = (("s1", 8, 11), ("s2", 17, 20), ("s3", 26, 29))
print(" ".join(k for k, s, e in shifts if t0 + e * 3600 >= lo and t0 + s * 3600 < hi))')
check_eq "a date alone is the start of that day in local time, as the CLI reads it" \
    "$(win "from=2031-03-11&to=2031-03-12") | $(win "from=2031-03-11T00:00&to=2031-03-12T00:00")" "$bare | $bare"
check_eq "a time that does not parse, a month 13, a + sent as a space, to before from: 400 naming it" \
    "$(ecode "$R/api/v1/shifts?from=garbage") | $(ecode "$R/api/v1/shifts?from=2011-13-01") | $(ecode "$R/api/v1/shifts?to=2031-03-10T18:00+09:00") | $(ecode "$R/api/v1/shifts?from=2031-03-11&to=2031-03-10")" \
    "invalid from | invalid from | invalid to | invalid to"
check_eq "and so is an empty one" "$(ecode "$R/api/v1/shifts?to=")" "invalid to"
nbad=0
while read -r q wanted; do
    res=$(ecode "$R/api/v1/$q" | tr ' ' :)
    [ "$res" = "$wanted" ] || {
        nbad=$((nbad + 1))
        not_ok "GET $q is refused" "got $res, wanted $wanted"
    }
done <<'BAD'
sites?kind=nope invalid:kind
sites?kind=Centre invalid:kind
sites?kind= invalid:kind
movements?kind=void invalid:kind
movements?kind=count invalid:kind
movements?kind=other invalid:kind
needs?open=yes invalid:open
needs?open=true invalid:open
needs?open= invalid:open
movements?open=2 invalid:open
movements?open=yes&kind=dispatch invalid:open
shifts?short=true invalid:short
shifts?short=01 invalid:short
sites?offset=99999999999999999999 invalid:offset
sites?offset=1000000001 invalid:offset
sites?offset=-1 invalid:offset
sites?offset=%2B1 invalid:offset
sites?offset=1.0 invalid:offset
sites?limit=1001 invalid:limit
sites?limit=0 invalid:limit
sites?limit=1e2 invalid:limit
sites?limit=%201 invalid:limit
sites?limit=18446744073709551617 invalid:limit
movements?limit=abc invalid:limit
movements?limit=0 invalid:limit
movements?offset=-1 invalid:offset
movements?offset=99999999999999999999&site=WH-ISH invalid:offset
needs?limit=2000 invalid:limit
alerts?offset=x invalid:offset
sites?kind=centre&kind=nope invalid:kind
needs?open=1&open=0 invalid:open
reports/needs?format=xml invalid:format
status?limit=1 unknown_parameter:limit
sites/WH-ISH?offset=1 unknown_parameter:offset
reports/stock?limit=5 unknown_parameter:limit
BAD
check_eq "every bad enum, flag and number is a 400 naming its parameter" "$nbad" 0
check_eq "values that are good stay good: every site kind, every movement kind" \
    "$(for k in centre warehouse school kitchen point; do code "$R/api/v1/sites?kind=$k"; echo; done | sort -u) $(for k in receive dispatch distribute adjust; do code "$R/api/v1/movements?kind=$k&limit=1"; echo; done | sort -u)" "200 200"
check_eq "open=0 and short=0 are no filter" \
    "$(get "$R/api/v1/needs?open=0" | json 'd["total"]') $(get "$R/api/v1/shifts?short=0" | json 'd["total"]')" \
    "$(get "$R/api/v1/needs" | json 'd["total"]') $(get "$R/api/v1/shifts" | json 'd["total"]')"
check_eq "the largest offset and limit are taken, and leading zeros" \
    "$(get "$R/api/v1/sites?offset=1000000000&limit=1000" | json 'len(d["items"]), d["offset"], d["limit"]') $(get "$R/api/v1/movements?offset=0001&limit=0002" | json 'len(d["items"]), d["offset"], d["limit"]')" \
    "0 1000000000 1000 2 1 2"

# --- imports: a CSV body, as relief import takes a file ---
csvpost() { # csvpost KIND BODY-FILE [CONTENT-TYPE] [QUERY]
    curl -s -X POST -H "Content-Type: ${3:-text/csv}" --data-binary @"$2" "$R/api/v1/import/$1${4:-}"
}
printf 'name,kind,code\n石巻市立湊中学校,centre,IMP-1\n門脇小学校,centre,IMP-2\n' >"$T/imp.csv"
check_eq "import sites: rows written" "$(csvpost sites "$T/imp.csv" text/csv '?by=Aiko' | json 'd["kind"], d["written"]')" "sites 2"
check_match "they are there" "$(get "$R/api/v1/sites?q=IMP" | json '[x["code"] for x in d["items"]]')" "IMP-1.*IMP-2|IMP-2.*IMP-1"
check_match "by their author" "$(relief --data "$A" log -n 1)" " Aiko +site\.add"
/usr/bin/python3 -c 'import sys; sys.stdout.buffer.write("name,kind,code\r\n渡波 ①,centre,IMP-3\r\n".encode("cp932"))' >"$T/imp-sjis.csv"
check_match "Excel's Japanese CSV without its charset: refused, with the hint" "$(csvpost sites "$T/imp-sjis.csv" | json 'd["error"]')" "not valid UTF-8.*charset=cp932"
check_eq "with charset=cp932: imported" "$(csvpost sites "$T/imp-sjis.csv" 'text/csv; charset=cp932' | json 'd["written"]')" 1
check_match "as written" "$(get "$R/api/v1/sites/IMP-3" | json 'd["name"]')" "渡波 ①"
printf 'type,site,item,qty\nreceive,IMP-1,blanket,5\nreceive,IMP-1,blanket,zero\n' >"$T/imp-bad.csv"
dg_imp=$(relief --data "$A" digest)
check_match "a bad line: 400 naming it" "$(csvpost movements "$T/imp-bad.csv" | json 'd["code"], d["error"]')" "invalid.*line 3, column 4 \(qty\).*nothing was imported"
check_eq "and nothing written" "$(relief --data "$A" digest)" "$dg_imp"
check_eq "JSON is not a CSV: 415" "$(code -X POST -H 'Content-Type: application/json' -d '{}' "$R/api/v1/import/sites")" 415
check_eq "an unknown charset: 415" "$(code -X POST -H 'Content-Type: text/csv; charset=klingon' --data-binary @"$T/imp.csv" "$R/api/v1/import/sites")" 415
check_eq "an unknown kind: 404" "$(code -X POST -H 'Content-Type: text/csv' --data-binary @"$T/imp.csv" "$R/api/v1/import/needs")" 404
check_eq "GET: 405" "$(code "$R/api/v1/import/sites")" 405
printf 'name,kind,code\nBy,centre,IMP-9\n' >"$T/imp-by.csv"
check_match "an author longer than 256 bytes: refused, nothing imported" "$(csvpost sites "$T/imp-by.csv" text/csv "?by=$(printf 'a%.0s' $(seq 300))" | json 'd["error"]')" "author name is longer than 256 bytes \(nothing was imported\)"
check_eq "another site's page may not import: 403" "$(code -X POST -H 'Origin: http://evil.example' -H 'Content-Type: text/csv' --data-binary @"$T/imp.csv" "$R/api/v1/import/sites")" 403
# an import sent to the API and cut short (kill -9 of serve): relief status says how to resume it
AI="$T/ai"
relief --data "$AI" init --name AI >/dev/null 2>&1 && relief --data "$AI" demo >/dev/null 2>&1
/usr/bin/python3 -c 'import sys; sys.stdout.write("type,site,item,qty\n" + "receive,WH-ISH,blanket,1\n" * 400000)' >"$T/ai.csv"
a_pid=$SERVE_PID a_url=$SERVE_URL
start_serve "$AI"; pai=$SERVE_PID
curl -s -o /dev/null -X POST -H 'Content-Type: text/csv' --data-binary @"$T/ai.csv" "$SERVE_URL/api/v1/import/movements" &
cut=0
for _ in $(seq 300); do # until the first of its transactions is in (20,000 rows)
    relief --data "$AI" --json status 2>/dev/null | grep -q '"next_line"' && { cut=1; break; }
    sleep 0.05
done
kill -9 "$pai" 2>/dev/null
wait "$pai" 2>/dev/null
if [ "$cut" = 1 ] && ! relief --data "$AI" status | grep -q 'import.*cut short'; then
    cut=0 # (the import ended between the look and the kill: nothing to resume)
fi
if [ "$cut" = 1 ]; then
    check_match "an API import cut short: status says to send the file again" "$(relief --data "$AI" status)" \
        "import +movements sent to the API cut short: [0-9]+ of 400000 rows written; send the same file again \(POST /api/v1/import/movements\)"
else
    not_ok "an API import cut short: status says to send the file again" "the import was not seen half-way"
fi
SERVE_PID=$a_pid SERVE_URL=$a_url # (A's, which the tests below stop and restart)

# --- conflicts: two nodes change one field concurrently; a PATCH that saw both resolves it ---
B="$T/b"
NET=$(echo "$st" | json 'd["network"]')
relief --data "$B" init --name B --network "$NET" >/dev/null
relief --data "$B" sync "$R" >/dev/null 2>&1
relief --data "$B" site set WH-ISH --contact "b@example.org" >/dev/null 2>&1
patch sites/WH-ISH '{"contact":"a@example.org"}' >/dev/null
relief --data "$B" sync "$R" >/dev/null 2>&1
check_eq "the conflict shows every value" \
    "$(get "$R/api/v1/conflicts" | json '[sorted(v["value"] for v in c["values"]) for c in d["items"] if c["field"] == "contact"][0]')" "['a@example.org', 'b@example.org']"
check_eq "resolve it with a PATCH" "$(code -X PATCH -H 'Content-Type: application/json' -d '{"contact":"b@example.org"}' "$R/api/v1/sites/WH-ISH")" 200
check_eq "no conflict left" "$(get "$R/api/v1/conflicts" | json 'd["total"]')" 0
relief --data "$B" sync "$R" >/dev/null 2>&1
check_eq "resolved on the other node too" "$(relief --data "$B" --json conflicts | json 'len(d)')" 0

# --- concurrent writes: group-committed, every one acknowledged and there ---
b0=$(bal WH-ISH diaper-s)
cpids=""
for i in $(seq 60); do
    curl -s -o "$T/c$i" -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
        -d '{"site":"WH-ISH","item":"diaper-s","qty":1}' "$R/api/v1/stock/receive" >>"$T/codes" &
    cpids="$cpids $!"
done
# shellcheck disable=SC2086
wait $cpids
check_eq "60 concurrent writes: all acknowledged" "$(grep -c '^201$' "$T/codes")" 60
check_eq "and all there" "$(bal WH-ISH diaper-s)" $((b0 + 60))
# a refused write among concurrent ones undoes only itself
b0=$(bal WH-ISH diaper-s)
cpids=""
: >"$T/codes2"
for i in $(seq 30); do
    body='{"site":"WH-ISH","item":"diaper-s","qty":1}'
    [ "$i" = 15 ] && body='{"site":"WH-ISH","item":"diaper-s","qty":1,"need":"00000000-9"}'
    curl -s -o /dev/null -w '%{http_code}\n' -X POST -H 'Content-Type: application/json' \
        -d "$body" "$R/api/v1/stock/receive" >>"$T/codes2" &
    cpids="$cpids $!"
done
# shellcheck disable=SC2086
wait $cpids
check_eq "one bad write among 30 concurrent ones: 29 acknowledged, 1 refused" \
    "$(grep -c '^201$' "$T/codes2") $(grep -c '^400$' "$T/codes2")" "29 1"
check_eq "the 29 are there" "$(bal WH-ISH diaper-s)" $((b0 + 29))

# --- the group commit waits for the disk in the thread pool, not on the loop: while another
# process holds the node's write lock (tests/writelock), a write waits and reads go on ---
hold_lock() { # until release_lock
    "$BUILD_DIR/tests/writelock" "$A" >"$T/lock.out" 2>&1 &
    lpid=$!
    PIDS="$PIDS $lpid"
    for _ in $(seq 200); do grep -q held "$T/lock.out" && return 0; sleep 0.05; done
    not_ok "writelock holds the lock" "$(cat "$T/lock.out")"
}
release_lock() { kill -TERM "$lpid"; wait "$lpid" 2>/dev/null; }
b0=$(bal WH-ISH diaper-s)
hold_lock
curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"site":"WH-ISH","item":"diaper-s","qty":2}' "$R/api/v1/stock/receive" >"$T/held.code" &
wpid=$!
sleep 0.3
check "a write waits while another process holds the write lock" kill -0 "$wpid"
check_eq "/healthz is answered meanwhile" "$(code --max-time 5 "$R/healthz")" 200
check_eq "and so are reads" "$(code --max-time 5 "$R/api/v1/stock?site=WH-ISH")" 200
check_eq "which do not see the write yet" "$(bal WH-ISH diaper-s)" "$b0"
release_lock
wait "$wpid"
check_eq "the lock released: the write is acknowledged" "$(cat "$T/held.code")" 201
check_eq "and there" "$(bal WH-ISH diaper-s)" $((b0 + 2))
# SIGTERM while a write waits: new writes are refused (503), the waiting one is committed and
# answered, then serve stops
hold_lock
curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
    -d '{"site":"WH-ISH","item":"diaper-s","qty":3}' "$R/api/v1/stock/receive" >"$T/held.code" &
wpid=$!
sleep 0.3
kill -TERM "$SERVE_PID"
sleep 0.3
check "serve waits for the queued write before stopping" kill -0 "$SERVE_PID"
check_eq "a write arriving meanwhile is refused: 503" "$(code --max-time 5 -X POST -H 'Content-Type: application/json' \
    -d '{"site":"WH-ISH","item":"diaper-s","qty":100}' "$R/api/v1/stock/receive")" 503
release_lock
wait "$wpid"
check_eq "the queued write is acknowledged" "$(cat "$T/held.code")" 201
for _ in $(seq 100); do kill -0 "$SERVE_PID" 2>/dev/null || break; sleep 0.05; done
check_eq "then serve stops" "$(kill -0 "$SERVE_PID" 2>/dev/null && echo running || echo stopped)" stopped
check_eq "with the queued write there, the refused one not" \
    "$(relief --data "$A" --json stock --site WH-ISH --item diaper-s | json 'd[0]["balance"]')" $((b0 + 5))
serve_a
b0=$((b0 - 29 + 5))

# --- an acknowledged write survives kill -9 ---
r=$(post stock/receive '{"site":"WH-ISH","item":"diaper-s","qty":7}')
kill -9 "$SERVE_PID"
wait "$SERVE_PID" 2>/dev/null
check_eq "acknowledged, then kill -9: it is there" \
    "$(relief --data "$A" --json stock --site WH-ISH --item diaper-s | json 'd[0]["balance"]')" $((b0 + 29 + 7))
check_eq "and the digest is the rebuilt one" "$(relief --data "$A" digest)" "$(relief --data "$A" digest --rebuild)"

# --- roles and tokens ---
wtok=$(relief --data "$A" token add --role write --name volunteer 2>/dev/null)
rtok=$(relief --data "$A" token add --role read --name coordinator 2>/dev/null)
dtok=$(relief --data "$A" token add --role donor --name rotary 2>/dev/null)
stok=$(relief --data "$A" token add --role sync --name peer 2>/dev/null)
serve_a
pa=$SERVE_PID
check_eq "once a token exists: no token, 401" "$(code "$R/api/v1/status")" 401
check_eq "a wrong token: 401" "$(code -H 'Authorization: Bearer rlt_wrong' "$R/api/v1/status")" 401
check_eq "with the code unauthorized" "$(curl -s -H 'Authorization: Bearer rlt_wrong' "$R/api/v1/status" | json 'd["code"]')" unauthorized
check_eq "a read token reads" "$(code -H "Authorization: Bearer $rtok" "$R/api/v1/needs")" 200
check_eq "but may not write" "$(code -X POST -H "Authorization: Bearer $rtok" -H 'Content-Type: application/json' -d '{"site":"WH-ISH","item":"blanket","qty":1}' "$R/api/v1/stock/receive")" 403
check_eq "a write token writes" "$(code -X POST -H "Authorization: Bearer $wtok" -H 'Content-Type: application/json' -d '{"site":"WH-ISH","item":"blanket","qty":1}' "$R/api/v1/stock/receive")" 201
ttok=$(relief --data "$A" token add --role read --name temp 2>/dev/null)
check_eq "a token made while the node serves works at once" "$(code -H "Authorization: Bearer $ttok" "$R/api/v1/status")" 200
tid=$(relief --data "$A" --json token list | py 'import json,sys; print([t["id"] for t in json.load(sys.stdin) if t["name"] == "temp"][0])')
relief --data "$A" token revoke "$tid" >/dev/null 2>&1
check_eq "and once revoked is refused at once" "$(code -H "Authorization: Bearer $ttok" "$R/api/v1/status")" 401
check_eq "a sync token may not use the API" "$(code -H "Authorization: Bearer $stok" "$R/api/v1/status")" 403
check_eq "a donor reads donations" "$(code -H "Authorization: Bearer $dtok" "$R/api/v1/donations")" 200
check_eq "without contacts" "$(get -H "Authorization: Bearer $dtok" "$R/api/v1/donations" | grep -c '@example.org')" 0
check_eq "a donor reads a trace, without contacts" "$(get -H "Authorization: Bearer $dtok" "$R/api/v1/donations/$trace_id/trace" | json '"contact" in d, d["events"][0]["stage"]')" "False pledged"
check_eq "nor notes, nor who recorded each step" "$(get -H "Authorization: Bearer $dtok" "$R/api/v1/donations/$trace_id/trace" | json '"note" in d, any("author" in e or "note" in e for e in d["events"])')" "False False"
check_eq "which a coordinator sees" "$(get -H "Authorization: Bearer $rtok" "$R/api/v1/donations/$trace_id/trace" | json 'all("author" in e for e in d["events"])')" True
# a list kept for its next pages is kept for one role: a donor's is stripped, a coordinator's not
check_match "a coordinator's list of donations, after a donor's, has the contacts" \
    "$(get -H "Authorization: Bearer $rtok" "$R/api/v1/donations" | grep -c '@example.org')" '^[1-9]'
check_eq "and the donor's, after the coordinator's, has none" \
    "$(get -H "Authorization: Bearer $dtok" "$R/api/v1/donations?limit=1000" | grep -c '@example.org')" 0
check_eq "and stock totals" "$(code -H "Authorization: Bearer $dtok" "$R/api/v1/stock/totals")" 200
check_eq "but not the sites (contacts)" "$(code -H "Authorization: Bearer $dtok" "$R/api/v1/sites")" 403
check_eq "nor shifts (volunteers)" "$(code -H "Authorization: Bearer $dtok" "$R/api/v1/shifts")" 403
check_eq "and may not write" "$(code -X POST -H "Authorization: Bearer $dtok" -H 'Content-Type: application/json' -d '{"volunteer":"x"}' "$R/api/v1/shifts/$sh/signup")" 403
relief --data "$T/p" init --name P >/dev/null
start_serve "$T/p"
check_eq "a local request behind a proxy header needs a token even without API tokens" \
    "$(code -H 'X-Forwarded-For: 203.0.113.9' "$SERVE_URL/api/v1/status")" 401
for h in 'X-Real-IP: 203.0.113.9' 'Via: 1.1 nginx' 'X-Forwarded-Host: relief.example.org'; do
    check_eq "nor with ${h%%:*}" "$(code -H "$h" "$SERVE_URL/api/v1/status")" 401
done
check_eq "without the header it does not" "$(code "$SERVE_URL/api/v1/status")" 200
stop "$SERVE_PID"
check_match "tokens never reach the log" "$(grep -c "$wtok\|$rtok\|$dtok" "$A.log")" '^0$'

# --- Host (DNS rebinding) and cross-site writes ---
check_eq "another host name: 421" "$(code -H 'Host: attacker.example' -H "Authorization: Bearer $rtok" "$R/api/v1/status")" 421
raw_status() { (exec 3<>"/dev/tcp/127.0.0.1/$port"; printf "$1" >&3; timeout 5 head -c 12 <&3); }
check_match "an HTTP/1.1 request without Host: 400" "$(raw_status 'GET /api/v1/status HTTP/1.1\r\nConnection: close\r\n\r\n')" "^HTTP/1.1 400"
check_match "two Host headers, the first one right: 400" "$(raw_status "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nHost: attacker.example\r\nAuthorization: Bearer $rtok\r\nConnection: close\r\n\r\n")" "^HTTP/1.1 400"
check_match "two Authorization headers: 400" "$(raw_status "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:$port\r\nAuthorization: Bearer $rtok\r\nAuthorization: Bearer $wtok\r\nConnection: close\r\n\r\n")" "^HTTP/1.1 400"
check_match "HTTP/1.0 without Host is still answered" "$(raw_status "GET /api/v1/status HTTP/1.0\r\nAuthorization: Bearer $rtok\r\n\r\n")" "^HTTP/1.1 200"
check_eq "also for the dashboard" "$(code -H 'Host: attacker.example' "$R/")" 421
check_eq "localhost is fine" "$(code -H "Host: localhost:$port" -H "Authorization: Bearer $rtok" "$R/api/v1/status")" 200
stop "$pa"
serve_a --host relief.shelter.lan
check_eq "--host adds a name" "$(code -H "Host: relief.shelter.lan:$port" -H "Authorization: Bearer $rtok" "$R/api/v1/status")" 200
check_eq "a cross-site write is refused" "$(code -X POST -H "Authorization: Bearer $wtok" -H 'Origin: http://attacker.example' -H 'Content-Type: application/json' -d '{"site":"WH-ISH","item":"blanket","qty":1}' "$R/api/v1/stock/receive")" 403
check_eq "so is Sec-Fetch-Site: cross-site" "$(code -X POST -H "Authorization: Bearer $wtok" -H 'Sec-Fetch-Site: cross-site' -H 'Content-Type: application/json' -d '{"site":"WH-ISH","item":"blanket","qty":1}' "$R/api/v1/stock/receive")" 403
check_eq "a same-origin write is fine" "$(code -X POST -H "Authorization: Bearer $wtok" -H "Origin: http://127.0.0.1:$port" -H 'Content-Type: application/json' -d '{"site":"WH-ISH","item":"blanket","qty":1}' "$R/api/v1/stock/receive")" 201

# --- the dashboard ---
hdr=$(curl -s -D - -o "$T/index.html" "$R/")
check_match "/ is the dashboard" "$hdr" "^HTTP/1.1 200"
check_match "with a Content-Security-Policy" "$hdr" "Content-Security-Policy: default-src 'self'; script-src 'self'"
check_match "no framing" "$hdr" "X-Frame-Options: DENY"
etag=$(printf '%s\n' "$hdr" | grep -i '^etag:' | cut -d' ' -f2 | tr -d '\r')
check_eq "an unchanged file is a 304" "$(code -H "If-None-Match: $etag" "$R/")" 304
check_eq "an unknown file is a 404" "$(code "$R/nothing.js")" 404
stop "$SERVE_PID"
