#!/bin/sh
# make run: create a demo node if there is none, show it, and serve it on 127.0.0.1:8080:
# the dashboard at http://127.0.0.1:8080/, the JSON API under /api/v1, sync under /sync/v1.
#   tools/run.sh BUILD_DIR        data: $RELIEF_DATA, else BUILD_DIR/demo-node
set -eu
BUILD=${1:-build}
RELIEF="$BUILD/relief"
DATA=${RELIEF_DATA:-$BUILD/demo-node}
if [ ! -f "$DATA/data.mdb" ]; then
    "$RELIEF" --data "$DATA" init --name demo
    "$RELIEF" --data "$DATA" demo
fi
"$RELIEF" --data "$DATA" status
"$RELIEF" --data "$DATA" alerts
if "$RELIEF" serve -h >/dev/null 2>&1; then
    echo "make run: open http://127.0.0.1:8080/ in a browser (Ctrl-C stops the node)" >&2
    exec "$RELIEF" --data "$DATA" serve --listen 127.0.0.1:8080
fi
echo "make run: the node is in $DATA; relief-net (relief serve) is missing" >&2
exit 1
