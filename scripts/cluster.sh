#!/usr/bin/env bash
# A local cluster to try: a redis-server and three release tickwire-server nodes on
# loopback, sharing it as their directory. Prints each node's game URL and admin URL;
# Ctrl-C (or the end of SECONDS, if given) stops everything it started, by PID.
#
# Run from the project's root:
#   scripts/cluster.sh [NODES] [SECONDS]
# Defaults: 3 nodes, until Ctrl-C. Game ports 4001.., admin ports 9101.. (BASE_PORT and
# ADMIN_BASE move them); Redis on a free port (REDIS_URL=redis://... uses yours instead).
# Then, for example:
#   ./target/release/tickwire-bot --url ws://127.0.0.1:4001,ws://127.0.0.1:4002,ws://127.0.0.1:4003 \
#       --bots 60 --rooms 6 --duration 30
#   kill -9 <a node's PID, printed below>      # its players are seated again elsewhere
#   curl -s -XPOST localhost:9101/notice -d '{"text":"hello, everyone"}' -H 'content-type: application/json'
set -u
NODES=${1:-3} SECS=${2:-0}
BASE_PORT=${BASE_PORT:-4001} ADMIN_BASE=${ADMIN_BASE:-9101}
command -v redis-server >/dev/null || { echo "redis-server is needed: apt-get install redis-server"; exit 1; }
cargo build --release -q -p tickwire-server -p tickwire-bot || { echo "release build failed"; exit 1; }
d=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
    rm -rf "$d"
}
trap cleanup EXIT
trap 'exit 0' INT TERM
if [ -z "${REDIS_URL:-}" ]; then
    rport=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
    redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no >"$d/redis.log" 2>&1 &
    pids+=($!)
    echo "redis      pid $!  redis://127.0.0.1:$rport/"
    REDIS_URL=redis://127.0.0.1:$rport/
    for _ in $(seq 50); do (echo >/dev/tcp/127.0.0.1/$rport) 2>/dev/null && break; sleep 0.1; done
fi
SECRET=${TICKWIRE_CLUSTER_SECRET:-local-cluster-secret-change-me-0123456789}
for i in $(seq "$NODES"); do
    port=$((BASE_PORT + i - 1)) admin=$((ADMIN_BASE + i - 1))
    ./target/release/tickwire-server --bind 127.0.0.1:$port --admin-bind 127.0.0.1:$admin \
        --redis-url "$REDIS_URL" --node-id "n$i" --cluster-secret "$SECRET" \
        >"$d/n$i.out" 2>"$d/n$i.log" &
    pids+=($!)
    echo "node n$i    pid $!  ws://127.0.0.1:$port   admin http://127.0.0.1:$admin   log $d/n$i.log"
done
if [ "$SECS" -gt 0 ]; then
    sleep "$SECS"
else
    echo "Ctrl-C stops the cluster."
    wait
fi
