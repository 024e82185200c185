#!/usr/bin/env bash
# The cluster's figures on this machine, in one sitting (release builds, loopback only):
#   1. a swarm spread over three nodes whose rooms live on other nodes: joins, redirects,
#      hash mismatches, join time direct and redirected;
#   2. the same with one node killed (SIGKILL) mid-run: its bots seated again, re-seat p50/p99;
#   3. the same with Redis stopped for 10 s mid-run: the snapshot rate the bots saw.
# Each part starts its own cluster (scripts/cluster.sh) and stops it by PID.
#
# Run from the project's root:   scripts/cluster-faults.sh [BOTS] [ROOMS] [SECONDS]
# Defaults: 300 bots, 10 rooms (3 and 10 share no factor, so most bots are redirected), 25 s.
set -u
BOTS=${1:-300} ROOMS=${2:-10} DUR=${3:-25}
cargo build --release -q -p tickwire-server -p tickwire-bot || { echo "release build failed"; exit 1; }
d=$(mktemp -d)
trap 'kill $cpid 2>/dev/null; wait 2>/dev/null; rm -rf "$d"' EXIT
URLS=ws://127.0.0.1:4001,ws://127.0.0.1:4002,ws://127.0.0.1:4003

# Starts a cluster for DUR + 10 s; sets cpid, redis_pid, node_pid_1..3.
start_cluster() {
    scripts/cluster.sh 3 $((DUR + 10)) >"$d/cluster.out" 2>&1 &
    cpid=$!
    for _ in $(seq 100); do [ "$(grep -c '^node' "$d/cluster.out")" = 3 ] && break; sleep 0.1; done
    redis_pid=$(awk '/^redis/{print $3}' "$d/cluster.out")
    for i in 1 2 3; do eval "node_pid_$i=$(awk -v n="n$i" '$2==n{print $4}' "$d/cluster.out")"; done
    sleep 1
}
stop_cluster() { kill $cpid 2>/dev/null; wait $cpid 2>/dev/null; sleep 0.5; }
swarm() { ./target/release/tickwire-bot --url $URLS --bots "$BOTS" --rooms "$ROOMS" --duration "$DUR" \
    --ramp 3 --check-every 1 --quiet --json "$1" >"$1.log" 2>&1; }
figures() {
    python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
p = lambda h: f"p50 {h['p50']:.1f} ms, p99 {h['p99']:.1f} ms"
print(f"{sys.argv[2]}: {r['connected']}/{r['bots']} connected, joins {r['joins_direct']} direct ({p(r['join_direct_ms'])}) "
      f"+ {r['joins_redirected']} redirected ({p(r['join_redirected_ms'])}); claims {r['claims']}; "
      f"rate mean {r['snapshot_rate_hz']['mean']:.2f} Hz, min {r['snapshot_rate_hz']['min']:.2f}; "
      f"interval p99 {r['snapshot_interval_ms']['p99']:.1f} ms; hash mismatches {r['replica']['hash_mismatches']}; "
      f"errors {r['errors']} {r['errors_by_kind']}; disconnects {r['disconnects']}; "
      f"reseated {r['reseated']} ({p(r['reseat_ms'])}, max {r['reseat_ms']['max']:.1f} ms)")
PY
}

start_cluster
swarm "$d/spread.json"
stop_cluster
figures "$d/spread.json" "spread over 3 nodes"

start_cluster
swarm "$d/kill.json" &
bot=$!
sleep $((DUR / 2))
seated=$(curl -s http://127.0.0.1:9101/rooms | python3 -c 'import json,sys;print(sum(r["players"] for r in json.load(sys.stdin)))')
kill -9 "$node_pid_1"
echo "kill -9 of node n1 (pid $node_pid_1) with $seated bots seated on it, at t=$((DUR / 2)) s"
wait $bot
stop_cluster
figures "$d/kill.json" "n1 killed mid-run"

start_cluster
swarm "$d/redis.json" &
bot=$!
sleep 5
kill -STOP "$redis_pid"
echo "redis-server (pid $redis_pid) stopped (SIGSTOP) for 10 s at t=5 s"
sleep 10
kill -CONT "$redis_pid"
wait $bot
stop_cluster
figures "$d/redis.json" "Redis stopped for 10 s"
