#!/usr/bin/python3
"""Writes seed inputs for fuzz_csv into DIR (default tools/fuzz/corpus/csv).

The first byte of each is fuzz_csv's: kind (0 sites, 1 items, 2 movements) + 4 x chunk rows
(0: one transaction; 1 to 3: a dry run, then chunks). The rest is a file as relief/IMPORT.md
documents it, naming the demo's sites and items, plus broken ones (unterminated quotes, stray
quotes, ragged rows, bad UTF-8, a UTF-16 BOM, unknown and missing columns).
"""
import hashlib
import os
import sys

D = sys.argv[1] if len(sys.argv) > 1 else "tools/fuzz/corpus/csv"
SITES = ("\ufeffname,kind,code,prefecture,municipality,lat,lon,capacity,occupancy,counted-at,"
         "status,special-needs,contact,priority,languages\r\n"
         "石巻中学校,centre,ISH-1,宮城県,石巻市,38.4345,141.3029,600,412,2011-03-20T18:00,open,"
         "\"乳児 3, 高齢者 12\",090-0000,high,\"pt,tl\"\r\n"
         "\"渡波小学校, 体育館\",centre,ISH-2,宮城県,石巻市,,,300,,,,,,,\r\n"
         "石巻倉庫,warehouse,WH-1,宮城県,石巻市,,,,,,,,,,\r\n")
ITEMS = "code,name,unit,category\nrice-2kg,米 2kg,bag,food\nwater-500,水 500ml,bottle,water\n"
MOVES = ("type,site,to,item,qty,lot,expiry,from,reason,note\n"
         "receive,WH-ISH,,blanket,100,L1,2026-12-01,宮城県庁,,\n"
         "dispatch,WH-ISH,ISH-MINATO,blanket,40,,,,,\n"
         "distribute,ISH-MINATO,,rice-5kg,2,,,,,\n"
         "adjust,WH-ISH,,blanket,-3,,,,damaged,箱が濡れた\n"
         "count,ISH-MINATO,,blanket,0,,,,,\n")
seeds = [
    (0, SITES), (4, SITES), (1, ITEMS), (5, ITEMS), (2, MOVES), (6, MOVES), (10, MOVES),
    (0, "name,kind\r\nA,centre\r\nB,\"centre\nC,centre\n"),
    (0, "name,kind\nA \"the\" B,centre\n"),
    (0, "name,kind,code\nA,centre,A-1\nB,centre\n"),
    (0, "name,kind,capacity\n避難所A,centre,100\n避難所C,centre,二百\n"),
    (0, "name,kind,colour\n"),
    (0, "name,code\nA,A-1\n"),
    (0, "name,kind,code\nA,centre,ISH-MINATO\n"),
    (2, "type,site,item,qty\nreceive,WH-ISH,rice-5kg,5\nreceive,ISH-9,rice-5kg,5\n"),
    (2, "type,site,item,qty,reason\nadjust,WH-ISH,blanket,+5,found\n"),
]
os.makedirs(D, exist_ok=True)
for k, text in seeds:
    data = bytes([k]) + text.encode()
    with open(os.path.join(D, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
for k, raw in [(0, b"name,kind\nA,caf\xe9\n"), (0, b"\xff\xfen\x00a\x00"),
               (0, b"name,kind\nA,centre\n\xe6\x97\xa5\xe6,centre\n")]:
    data = bytes([k]) + raw
    with open(os.path.join(D, hashlib.sha1(data).hexdigest()), "wb") as f:
        f.write(data)
print(f"seeds written to {D}")
