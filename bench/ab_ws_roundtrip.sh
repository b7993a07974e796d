#!/usr/bin/env bash
# Compare the websocket benchmark before and after a change, on the same machine within minutes:
# runs bench/run_ws_roundtrip.sh alternately on a checkout of BASE and on this tree, ROUNDS times,
# and prints one JSON line per run (messages a second, CPU ms per answered message by role,
# sent/acked/answered, lost, duplicated). This machine's speed drifts within the hour, so
# alternating pairs compare better than runs made apart.
#
#   bash bench/ab_ws_roundtrip.sh BASE embedded|services ROUNDS [ws_roundtrip.py args...]
#
# VAR_DIR (with a promoted intent model) is passed to both trees, as run_ws_roundtrip.sh reads it.
set -euo pipefail
[ $# -ge 3 ] || { echo "usage: $0 BASE embedded|services ROUNDS [args...]" >&2; exit 2; }
base=$1; mode=$2; rounds=$3; shift 3
cd "$(dirname "$0")/.."
here=$(pwd)
base_tree=$(mktemp -d "${TMPDIR:-/tmp}/ws_ab_base.XXXXXX")
trap 'git -C "$here" worktree remove --force "$base_tree" >/dev/null 2>&1 || rm -rf "$base_tree"' EXIT
git worktree add -q --detach "$base_tree" "$base"
ln -s "$here/.venv" "$base_tree/.venv"

summary() {  # one JSON line from a benchmark's JSON on stdin
    "$here/.venv/bin/python" -c '
import json, sys
d = json.load(sys.stdin); cpu = d.get("cpu", {})
print(json.dumps({"tree": sys.argv[1], "round": int(sys.argv[2]),
    "messages_per_second": d["messages_per_second"],
    "cpu_ms_per_answered_message": cpu.get("cpu_ms_per_answered_message"),
    "by_role": {r: v["cpu_ms_per_answered_message"] for r, v in cpu.get("roles", {}).items()},
    "sent_acked_answered": [d["messages_sent"], d["messages_acked"], d["replies_received"]],
    "lost": d["lost_messages"], "duplicated": d["duplicated_messages"]}))' "$1" "$2"
}

for round in $(seq 1 "$rounds"); do
    for tree in base after; do
        dir=$here; [ "$tree" = base ] && dir=$base_tree
        (cd "$dir" && bash bench/run_ws_roundtrip.sh "$mode" "$@" 2>/dev/null) | summary "$tree" "$round"
    done
done
