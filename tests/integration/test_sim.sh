#!/bin/bash
# The deterministic simulator (tools/sim/sim.c): as many seeds as fit in $SIM_SECONDS (60) --
# real nodes in one process with lost, duplicated, reordered and cut messages, partitions,
# crashes, restores and skewed clocks -- and after healing every digest must be equal. A
# failing seed is printed with the command that replays it step by step. $SIM_FLAGS adds
# options (--dodge-known steers clear of the bugs already reported).
. "$(dirname "$0")/../lib.sh"
: "${BUILD_DIR:=$(pwd)/build}"
SIM="$BUILD_DIR/sim"
SECS=${SIM_SECONDS:-60}

if [ ! -x "$SIM" ]; then
    ok "simulator: skipped (no $SIM; build it as the comment atop tools/sim/sim.c says)"
    exit 0
fi

# Every commit is an fsync: on tmpfs a seed takes a fifth of the time it takes on a disk.
SIMTMP="$T"
if [ -d /dev/shm ] && [ -w /dev/shm ]; then
    SIMTMP=$(mktemp -d /dev/shm/relief-test-sim.XXXXXX) || SIMTMP="$T"
fi
trap 'cleanup; [ "$SIMTMP" != "$T" ] && rm -rf "$SIMTMP"' EXIT INT TERM

# shellcheck disable=SC2086 # SIM_FLAGS is a list of options
TMPDIR="$SIMTMP" "$SIM" --seconds "$SECS" --quiet ${SIM_FLAGS:-} >"$T/sim.out" 2>&1
rc=$?
summary=$(grep -E '^[0-9]+ seeds ' "$T/sim.out" | tail -n 1)
if [ "$rc" -eq 0 ] && [ -n "$summary" ]; then
    ok "simulator: $summary"
else
    not_ok "simulator: ${summary:-exit $rc}" "$(grep -E '^seed |replay:' "$T/sim.out" | head -n 6)"
fi
