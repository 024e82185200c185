#!/usr/bin/env bash
# How many clients the server holds at 60 Hz: a release server with its default flags
# under a swarm of light bots (--check-every K: one bot in K decodes and checks every
# snapshot, the others only count theirs), on the same machine. Prints the snapshot rate,
# the p99 interval and the errors the bots saw; the CPU of each side from /proc (server
# and bots, in cores and per client-tick), so a run whose bots saturate their thread says
# so; memory per client; and the server's own counters over the same window (ticks,
# skipped and overrun ticks, snapshots sent, snapshots replaced unsent), which tell a
# server that fell behind from bots that did.
#
# Run from the project's root:
#   scripts/capacity.sh [BOTS] [ROOMS] [SECONDS] [K] [BOT_THREADS] [server flags...]
# Defaults: 2000 bots, 40 rooms (50 a room), 30 s, K = 50, 1 bot thread. Loopback only;
# the bots connect over a 5 s ramp, which the figures exclude; the server is stopped by
# its PID at the end. CAPACITY_JSON=FILE keeps the bot's JSON report; BOT_BIN=PATH runs
# another build of the bot (for A/B runs); BOT_NICE=N runs the bots at that nice value.
set -u
BOTS=${1:-2000} ROOMS=${2:-40} DUR=${3:-30} K=${4:-50} BT=${5:-1}; shift $(( $# < 5 ? $# : 5 ))
RAMP=5
cargo build --release -q -p tickwire-server -p tickwire-bot || { echo "release build failed"; exit 1; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
port=$(free_port) admin=$(free_port)
d=$(mktemp -d)
./target/release/tickwire-server --bind 127.0.0.1:$port --admin-bind 127.0.0.1:$admin "$@" >"$d/server.log" 2>&1 &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf "$d"' EXIT
for _ in $(seq 80); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
rss0=$(awk '/VmRSS/{print $2}' /proc/$spid/status)
${BOT_NICE:+nice -n $BOT_NICE} "${BOT_BIN:-./target/release/tickwire-bot}" --url ws://127.0.0.1:$port --bots "$BOTS" --rooms "$ROOMS" \
    --duration "$DUR" --ramp "$RAMP" --check-every "$K" --threads "$BT" --quiet --json "$d/r.json" \
    >"$d/bot.log" 2>&1 &
bpid=$!
# CPU is taken over the steady part: from the end of the ramp plus a second to 2 s before the end.
sleep $((RAMP + 1))
cpu() { awk '{print $14+$15}' /proc/$1/stat; }
# The server's own counters over the same window: did it tick late, or skip, or drop
# snapshots to clients that read too slowly (the bots falling behind)?
counters() {
    curl -s "http://127.0.0.1:$admin/metrics" | awk '
        /^tickwire_ticks_total /{t=$2} /^tickwire_ticks_skipped_total /{k=$2}
        /^tickwire_tick_overruns_total /{o=$2} /^tickwire_snapshots_dropped_total /{d=$2}
        /^tickwire_snapshots_sent_total/{s+=$2} END{print t+0, k+0, o+0, d+0, s+0}'
}
m0=$(counters)
s0=$(cpu $spid) b0=$(cpu $bpid) t0=$(date +%s.%N)
sleep $((DUR - RAMP - 3))
s1=$(cpu $spid) b1=$(cpu $bpid) t1=$(date +%s.%N)
m1=$(counters)
rss1=$(awk '/VmRSS/{print $2}' /proc/$spid/status)
wait $bpid
rc=$?
[ -s "$d/r.json" ] || { tail -5 "$d/bot.log"; echo "the bot wrote no JSON report (exit $rc)"; exit 1; }
[ -n "${CAPACITY_JSON:-}" ] && cp "$d/r.json" "$CAPACITY_JSON"
python3 - "$d/r.json" "$s0" "$s1" "$b0" "$b1" "$t0" "$t1" "$rss0" "$rss1" "$BOTS" "$rc" "$m0" "$m1" "$ROOMS" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
s0, s1, b0, b1, t0, t1 = map(float, sys.argv[2:8])
rss0, rss1, bots, rc = int(sys.argv[8]), int(sys.argv[9]), int(sys.argv[10]), int(sys.argv[11])
m0, m1 = [list(map(float, x.split())) for x in sys.argv[12:14]]
rooms = int(sys.argv[14])
tck = os.sysconf('SC_CLK_TCK'); wall = t1 - t0
srv, bot = (s1 - s0) / tck / wall, (b1 - b0) / tck / wall
ticks = bots * 60
print(f"bots {r['connected']}/{bots} ({r['bots_checked']} checked), snapshot rate mean "
      f"{r['snapshot_rate_hz']['mean']:.2f} Hz (min {r['snapshot_rate_hz']['min']:.2f}), interval p99 "
      f"{r['snapshot_interval_ms']['p99']} ms, errors {r['errors']}, bot exit {rc}")
print(f"server {srv:.2f} cores = {srv * 1e6 / ticks:.2f} us per client-tick; bots {bot:.2f} cores = "
      f"{bot * 1e6 / ticks:.2f} us per client-tick; memory {rss0 // 1024} -> {rss1 // 1024} MiB = "
      f"{(rss1 - rss0) / bots:.1f} KiB per client")
dt, dk, do, dd, ds = (b - a for a, b in zip(m0, m1))
print(f"server side: {dt / rooms / wall:.2f} ticks/s per room, {dk:.0f} skipped, {do:.0f} overran, "
      f"{ds / bots / wall:.2f} snapshots/s sent per client, {dd:.0f} replaced unsent (slow readers)")
PY
