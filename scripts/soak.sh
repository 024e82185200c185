#!/usr/bin/env bash
# The hostile-network soak: a release server under a bot swarm in which some bots drop
# their connections at random (--chaos) and some send garbage and floods (--misbehave).
# Samples the server's resident memory every 5 s, and at the end checks, from /metrics,
# that every connection the server accepted was closed for a counted reason.
#
# Run from the project's root:  scripts/soak.sh [SECONDS] [BOTS] [ROOMS] [CHAOS] [MISBEHAVE]
# Defaults: 600 s, 300 bots, 6 rooms, chaos 0.01, misbehave 0.05; GAME=shooter (or any
# registered game) plays that game instead of the arena. Loopback only; the server
# is stopped by its PID at the end. Prints the bot's JSON report and a JSON verdict.
set -u
DUR=${1:-600} BOTS=${2:-300} ROOMS=${3:-6} CHAOS=${4:-0.01} MIS=${5:-0.05} GAME=${GAME:-arena}
cargo build --release -q -p tickwire-server -p tickwire-bot || { echo "release build failed"; exit 1; }
free_port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
port=$(free_port) admin=$(free_port)
d=$(mktemp -d)
./target/release/tickwire-server --bind 127.0.0.1:$port --admin-bind 127.0.0.1:$admin --game "$GAME" \
    >"$d/server.out" 2>"$d/server.log" &
spid=$!
trap 'kill $spid 2>/dev/null; wait $spid 2>/dev/null; rm -rf "$d"' EXIT
for _ in $(seq 80); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

# Memory samples: seconds since start, then RSS in KiB. Stops with the server or the run.
( start=$(date +%s)
  while kill -0 $spid 2>/dev/null && [ $(( $(date +%s) - start )) -le $((DUR + 30)) ]; do
      echo "$(( $(date +%s) - start )) $(awk '/VmRSS/{print $2}' /proc/$spid/status)"
      sleep 5
  done ) >"$d/rss.txt" &
sampler=$!

./target/release/tickwire-bot --url ws://127.0.0.1:$port --game "$GAME" --bots "$BOTS" --rooms "$ROOMS" \
    --duration "$DUR" --chaos "$CHAOS" --misbehave "$MIS" --json "$d/r.json" --quiet >"$d/bot.log" 2>&1
rc=$?
kill $sampler 2>/dev/null; wait $sampler 2>/dev/null

# Let the last connections finish closing, then read the books.
for _ in $(seq 100); do
    curl -s "http://127.0.0.1:$admin/metrics" >"$d/metrics.txt"
    grep -q '^tickwire_connections_open 0$' "$d/metrics.txt" && break
    sleep 0.1
done
kill -TERM $spid; wait $spid; src=$?
[ -s "$d/r.json" ] || { tail -5 "$d/bot.log"; echo "the bot wrote no JSON report (exit $rc)"; exit 1; }
panics=$(grep -c -i panick "$d/server.log")
python3 - "$d/r.json" "$d/rss.txt" "$d/metrics.txt" "$rc" "$src" "$panics" <<'PY'
import json, re, sys
report = json.load(open(sys.argv[1]))
rss = [tuple(map(int, l.split())) for l in open(sys.argv[2]) if len(l.split()) == 2]
metrics = {}
for line in open(sys.argv[3]):
    m = re.match(r'^(tickwire_\w+)(\{[^}]*\})? (\S+)$', line.strip())
    if m:
        metrics[m.group(1) + (m.group(2) or '')] = float(m.group(3))
closed = {k[len('tickwire_connections_closed_total{reason="'):-2]: v
          for k, v in metrics.items() if k.startswith('tickwire_connections_closed_total{')}
refused = {k[len('tickwire_connections_refused_total{reason="'):-2]: v
           for k, v in metrics.items() if k.startswith('tickwire_connections_refused_total{')}
accepted = metrics.get('tickwire_connections_accepted_total', 0)
after_first_minute = [kib for t, kib in rss if t >= 60]
base = after_first_minute[0] if after_first_minute else None
peak = max(after_first_minute) if after_first_minute else None
end = after_first_minute[-1] if after_first_minute else None
print(json.dumps(report, indent=1))
verdict = {
    "bot_exit": int(sys.argv[4]), "server_exit": int(sys.argv[5]), "server_panics": int(sys.argv[6]),
    "rss_kib": {"at_60s": base, "peak_after_60s": peak, "at_end": end,
                "growth_pct": None if not base else round(100 * (peak - base) / base, 2)},
    "rss_samples": len(rss),
    "connections_accepted": accepted,
    "connections_open_at_end": metrics.get('tickwire_connections_open'),
    "closed_by_reason": closed, "closed_total": sum(closed.values()),
    "every_close_accounted": sum(closed.values()) == accepted,
    "refused_by_reason": refused,
    "rate_limited": {k: v for k, v in metrics.items() if 'rate_limited' in k},
    "ticks": metrics.get('tickwire_ticks_total'), "ticks_skipped": metrics.get('tickwire_ticks_skipped_total'),
    "tick_overruns": metrics.get('tickwire_tick_overruns_total'),
}
print(json.dumps(verdict, indent=1))
PY
