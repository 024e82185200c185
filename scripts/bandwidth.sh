#!/usr/bin/env bash
# Bytes per bot per second, with and without a bandwidth feature, in one go: two swarm runs
# against a fresh release server each, same bots, same length, same movement.
#
#   scripts/bandwidth.sh deltas [SECONDS] [BOTS]          full snapshots (--keyframe-interval 1)
#                                                         against the default deltas; one room
#   scripts/bandwidth.sh view RADIUS [SECONDS] [BOTS] [SEND_EVERY]
#                                                         no view radius against --view-radius
#                                                         RADIUS; one room
#
# Defaults: deltas 30 s 64 bots; view 30 s 400 bots, send every tick; GAME=shooter (or any
# registered game) plays that game instead of the arena. Loopback only; each
# server is stopped by its PID. Prints each run's `replica` object and summary from the
# bot's JSON report, then the ratio of bytes received per bot per second.
set -u
GAME=${GAME:-arena}
MODE=${1:?deltas or view}
if [ "$MODE" = view ]; then
    RADIUS=${2:?radius} DUR=${3:-30} BOTS=${4:-400} EVERY=${5:-1}
    A=(--send-every "$EVERY") B=(--send-every "$EVERY" --view-radius "$RADIUS")
    NAMES=("no view radius" "view radius $RADIUS")
else
    DUR=${2:-30} BOTS=${3:-64}
    A=(--keyframe-interval 1) B=()
    NAMES=("full snapshots" "deltas")
fi
cargo build --release -q -p tickwire-server -p tickwire-bot || { echo "release build failed"; exit 1; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT

run() { # $1: report file; the rest: server flags
    local out=$1; shift
    local port admin spid
    port=$(free_port) admin=$(free_port)
    ./target/release/tickwire-server --bind 127.0.0.1:$port --admin-bind 127.0.0.1:$admin \
        --game "$GAME" --max-room-players "$BOTS" "$@" >/dev/null 2>"$d/server.log" &
    spid=$!
    for _ in $(seq 80); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
    ./target/release/tickwire-bot --url ws://127.0.0.1:$port --game "$GAME" --bots "$BOTS" --rooms 1 \
        --duration "$DUR" --ramp 2 --threads 2 --json "$out" --quiet >"$d/bot.log" 2>&1
    local rc=$?
    kill -TERM $spid; wait $spid
    [ -s "$out" ] || { tail -5 "$d/bot.log"; echo "no report (exit $rc)"; exit 1; }
}

run "$d/a.json" "${A[@]}"
run "$d/b.json" "${B[@]}"
python3 - "$d/a.json" "$d/b.json" "${NAMES[0]}" "${NAMES[1]}" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for name, r in ((sys.argv[3], a), (sys.argv[4], b)):
    keep = {k: r[k] for k in ("bots", "snapshot_rate_hz", "bytes_in_per_bot_s", "errors")
            if k in r}
    print(json.dumps({"run": name, **keep, "replica": r.get("replica")}))
print(json.dumps({"ratio_bytes_in_per_bot_s":
                  round(b["bytes_in_per_bot_s"] / a["bytes_in_per_bot_s"], 4)}))
PY
