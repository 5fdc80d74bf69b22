#!/bin/bash
# relief import sites|items|movements FILE end to end: a good import of each kind (Japanese
# names, a BOM, CRLF), balances after it, every malformed file refused with its line and column,
# exit 1 and the digest unchanged, usage errors exit 2, a file longer than one chunk.
. "$(dirname "$0")/../lib.sh"

relief init --name 石巻-import >/dev/null 2>&1
D=$T/csv
mkdir -p "$D"

# --- good imports ---
printf '\357\273\277name,kind,code,prefecture,municipality,capacity,occupancy,languages\r\n' >"$D/sites.csv"
printf '石巻中学校,centre,ISH-1,宮城県,石巻市,600,412,"pt,tl"\r\n' >>"$D/sites.csv"
printf '"渡波小学校, 体育館",centre,ISH-2,宮城県,石巻市,300,,\r\n' >>"$D/sites.csv"
printf '石巻倉庫,warehouse,WH-1,宮城県,石巻市,,,\r\n' >>"$D/sites.csv"
out=$(relief import sites "$D/sites.csv" 2>&1)
check_eq "import sites (BOM, CRLF, quoted comma)" "$out" "imported 3 sites"
out=$(relief site list)
check_match "the sites are listed with their Japanese names" "$out" "ISH-2 +centre +渡波小学校, 体育館"
check_match "site show has the languages" "$(relief site show ISH-1)" "languages +pt tl"

cat >"$D/items.csv" <<'EOF'
code,name,unit,category
rice-5kg,米 5kg,bag,food
water-2l,"水 ""2L""",bottle,water
EOF
check_eq "import items" "$(relief import items "$D/items.csv" 2>&1)" "imported 2 items"
check_match "item names with doubled quotes" "$(relief item list)" 'water-2l +水 "2L"'

cat >"$D/mv.csv" <<'EOF'
type,site,to,item,qty,lot,expiry,from,reason,note
receive,WH-1,,rice-5kg,100,L1,2026-12-01,宮城県庁,,
receive,WH-1,,water-2l,500,,,,,
dispatch,WH-1,ISH-1,rice-5kg,40,,,,,
receive,ISH-2,,water-2l,60,,,"NPO ""みやぎ""",,
distribute,ISH-2,,water-2l,25,,,,,
adjust,WH-1,,water-2l,-3,,,,damaged,"箱が濡れた
二行目"
count,ISH-1,,water-2l,0,,,,,
EOF
json=$(relief --json import movements "$D/mv.csv" 2>"$T/err")
check_eq "import movements says how many on stderr" "$(cat "$T/err")" "imported 7 movements"
check_eq "--json gives the summary" \
    "$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["kind"], d["rows"], d["written"], d["transactions"])')" \
    "movements 7 7 1"
stock=$(relief stock)
check_match "stock: WH-1 rice after a dispatch" "$stock" "WH-1 +石巻倉庫 +rice-5kg +60 +0 +bag"
check_match "stock: WH-1 water after an adjustment" "$stock" "WH-1 +石巻倉庫 +water-2l +497 +0 +bottle"
check_match "stock: ISH-2 water after a distribution" "$stock" "ISH-2 .* +water-2l +35 +0 +bottle"
check_match "stock: the dispatch is in transit to ISH-1" "$stock" "ISH-1 .* +rice-5kg +0 +40 +bag"

# --- refusals: exit 1, one line naming line and column, nothing written ---
d0=$(relief digest)
refuse() { # NAME FILE KIND REGEX
    out=$(relief import "$3" "$2" 2>&1)
    rc=$?
    check_eq "$1: exit 1" "$rc" "1"
    check_match "$1: the message" "$(printf '%s\n' "$out" | head -n 1)" "$4"
    check_eq "$1: digest unchanged" "$(relief digest)" "$d0"
}

printf 'name,kind,capacity\n避難所A,centre,100\n避難所B,centre,200\n避難所C,centre,二百\n' >"$D/bad4.csv"
refuse "a bad value on line 4" "$D/bad4.csv" sites \
    "^relief: .*bad4.csv: line 4, column 3 \(capacity\): '二百' is not a whole number"
printf 'name,kind\nA,centre\nB,"centre\nC,centre\n' >"$D/unterminated.csv"
refuse "unterminated quote" "$D/unterminated.csv" sites \
    "line 3, column 2 \(kind\): the quote that opens this field is never closed"
printf 'name,kind\nA "the" B,centre\n' >"$D/stray.csv"
refuse "stray quote" "$D/stray.csv" sites "line 2, column 1 \(name\): a quote inside an unquoted field"
printf 'name,kind\n"A"B,centre\n' >"$D/after.csv"
refuse "text after a closing quote" "$D/after.csv" sites "line 2, column 1 \(name\): text after the closing quote"
printf 'name,kind,code\nA,centre,A-1\nB,centre\n' >"$D/ragged.csv"
refuse "ragged row (short)" "$D/ragged.csv" sites "line 3, column 3 \(code\): the row ends after 2 fields, the header names 3"
printf 'name,kind\nA,centre,extra\n' >"$D/ragged2.csv"
refuse "ragged row (long)" "$D/ragged2.csv" sites "line 2, column 3: the row has 3 fields, the header names 2"
: >"$D/empty.csv"
refuse "empty file" "$D/empty.csv" sites "line 1: the file is empty"
printf 'name,kind\nA,centre\n\346\227\245\346,centre\n' >"$D/utf8.csv"
refuse "invalid UTF-8" "$D/utf8.csv" sites "line 3, column 1 \(name\): not valid UTF-8"
printf 'name,kind\nA,caf\351\n' >"$D/latin1.csv"
refuse "Latin-1 text" "$D/latin1.csv" sites "line 2, column 2 \(kind\): not valid UTF-8"
printf '\377\376n\000a\000' >"$D/utf16.csv"
refuse "a UTF-16 file" "$D/utf16.csv" sites "line 1, column 1: the file is UTF-16"
printf 'name,kind,colour\n' >"$D/unknown.csv"
refuse "an unknown column" "$D/unknown.csv" sites "line 1, column 3: unknown column 'colour'"
printf 'name,code\nA,A-1\n' >"$D/missing.csv"
refuse "a missing column" "$D/missing.csv" sites "line 1: the header lacks the column 'kind'"
printf 'name,kind,code\nA,centre,ISH-1\n' >"$D/dupcode.csv"
refuse "a code that names a site already" "$D/dupcode.csv" sites "line 2, column 3 \(code\): short code 'ISH-1' already names a site"
printf 'type,site,item,qty\nreceive,WH-1,rice-5kg,5\nreceive,ISH-9,rice-5kg,5\n' >"$D/nosite.csv"
refuse "a movement at an unknown site" "$D/nosite.csv" movements "line 3, column 2 \(site\): unknown site 'ISH-9'"
printf 'type,site,item,qty\nreceive,WH-1,rice-5kg,5\ndistribute,WH-1,bread,5\n' >"$D/noitem.csv"
refuse "a movement of an unknown item" "$D/noitem.csv" movements "line 3, column 3 \(item\): unknown item 'bread'"
printf 'code,name,unit\nrice-5kg,米,bag\n' >"$D/dupitem.csv"
refuse "an item that exists" "$D/dupitem.csv" items "line 2, column 1 \(code\): item 'rice-5kg' exists already"

# a 10 MB name: refused at the field limit, on one line naming the value's start
{
    printf 'name,kind\n'
    head -c 10485760 /dev/zero | tr '\0' 'a'
    printf ',centre\n'
} >"$D/huge.csv"
refuse "a 10 MB name" "$D/huge.csv" sites "line 2, column 1 \(name\): field is longer than 65536 bytes: 'aaaa"
out=$(relief import sites "$D/huge.csv" 2>&1)
check_eq "a 10 MB name: a short message (two lines: the error, nothing imported)" "$(printf '%s\n' "$out" | wc -l)" "2"
check_match "a 10 MB name: the message stays short" "$(printf '%s' "$out" | wc -c)" '^[0-9]{1,3}$'
# a contact of 65,536 bytes: within the CSV's field limit, past the contact's own (512)
{
    printf 'name,kind,contact\n'
    printf 'A,centre,'
    head -c 65536 /dev/zero | tr '\0' 'c'
    printf '\n'
} >"$D/longcontact.csv"
refuse "a 64 KiB contact: named with its column and limit" "$D/longcontact.csv" sites "line 2, column 3 \(contact\): 'cccc.*' is longer than 512 bytes"

# a header alone: nothing to import, not an error
printf 'code,name,unit\r\n' >"$D/header.csv"
check_eq "a header alone imports nothing" "$(relief import items "$D/header.csv" 2>&1)" "imported 0 items"
check_eq "a header alone: digest unchanged" "$(relief digest)" "$d0"

# usage errors exit 2; a missing file is a failure
check_status "import without arguments: usage" 2 relief import
check_status "import of an unknown kind: usage" 2 relief import needs "$D/items.csv"
check_status "import with an extra argument: usage" 2 relief import items "$D/items.csv" more
check_status "import of a missing file" 1 relief import items "$D/nope.csv"
check_status "import of a directory" 1 relief import items "$D"
# a named pipe with no writer: refused at once (it must be a regular file), not waited on
mkfifo "$D/fifo"
d_fifo=$(relief digest)
check_status "import of a FIFO with no writer: refused, not waited on" 1 timeout 10 "$RELIEF_BIN" import sites "$D/fifo"
check_match "saying it is not a regular file" "$(timeout 10 "$RELIEF_BIN" import sites "$D/fifo" 2>&1)" "^relief: '.*/fifo' is not a regular file"
check_eq "a FIFO: digest unchanged" "$(relief digest)" "$d_fifo"

# --- a file longer than one transaction: checked whole, then written in chunks ---
/usr/bin/python3 -c '
print("type,site,item,qty")
for i in range(25000): print("receive,ISH-2,rice-5kg,2")
' >"$D/big.csv"
json=$(relief --json import movements "$D/big.csv" 2>/dev/null)
check_eq "25,000 movements in two transactions" \
    "$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["written"], d["transactions"])')" \
    "25000 2"
check_match "and the balance adds up" "$(relief stock --site ISH-2 --item rice-5kg)" "rice-5kg +50000 "
d1=$(relief digest)
/usr/bin/python3 -c '
print("type,site,item,qty")
for i in range(24000): print("receive,ISH-2,rice-5kg,2")
print("receive,ISH-2,rice-5kg,-2")
' >"$D/bigbad.csv"
out=$(relief import movements "$D/bigbad.csv" 2>&1)
check_eq "a bad last row of a long file: exit 1" "$?" "1"
check_match "a bad last row of a long file: its line" "$out" "line 24002, column 4 \(qty\)"
check_eq "a bad last row of a long file: nothing written" "$(relief digest)" "$d1"
/usr/bin/python3 -c '
print("type,site,to,item,qty")
for i in range(20000): print("dispatch,ISH-2,ISH-1,rice-5kg,1")
print("dispatch,ISH-2,ISH-1,no-such-item,1")
for i in range(100): print("dispatch,ISH-2,ISH-1,rice-5kg,1")
' >"$D/bigbad2.csv"
out=$(relief import movements "$D/bigbad2.csv" 2>&1)
check_eq "the first row past one transaction's (only checked), bad: exit 1" "$?" "1"
check_match "its line" "$out" "line 20002, column 4 \(item\)"
check_eq "nothing written" "$(relief digest)" "$d1"

# Excel's Japanese CSV (CP932, "Shift_JIS"): refused as UTF-8 with a hint, imported with
# --encoding; a byte sequence that is not CP932 names its line, and nothing is imported
/usr/bin/python3 -c 'import sys; sys.stdout.buffer.write("name,kind,code\r\n石巻市立湊小学校 ①,centre,SJIS-1\r\n".encode("cp932"))' >"$D/sjis.csv"
check_match "a CP932 file: refused with the hint" "$(relief import sites "$D/sjis.csv" 2>&1)" "not valid UTF-8 .*--encoding cp932"
check "imported with --encoding cp932" relief import sites "$D/sjis.csv" --encoding cp932
check_match "its Japanese name as written (① is CP932's, not Shift_JIS's)" "$(relief site show SJIS-1)" "石巻市立湊小学校 ①"
printf 'name,kind,code\nA,centre,SJ-2\nB\202,centre,SJ-3\n' >"$D/sjis-bad.csv"
d_sj=$(relief digest)
check_match "a byte sequence that is not CP932: its line" "$(relief import sites "$D/sjis-bad.csv" --encoding shift_jis 2>&1)" "line 3: not valid shift_jis"
check_eq "and nothing imported" "$(relief digest)" "$d_sj"
check_status "an encoding the system does not know: exit 1" 1 relief import sites "$D/sjis.csv" --encoding klingon
