#!/bin/sh
# make run: create a demo node if there is none, then show it (and, once `relief serve` exists,
# serve the dashboard on 127.0.0.1:8080).
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
    exec "$RELIEF" --data "$DATA" serve --listen 127.0.0.1:8080
fi
echo "make run: the node is in $DATA; 'relief serve' and the dashboard are not built yet" >&2
