#!/usr/bin/env bash
# What the floor costs on both sides of the wire, and so about how many clients at 60 Hz
# this machine's cores can carry when a plain load generator shares them.
#
# `../shared/tools/floor-probe` prints only its server thread's CPU: one write and one read
# per client per round, in C with epoll. Its client thread (reads until the socket is
# empty, one small write per frame) is a plain load generator, the client side's share of
# the same kernel work. This runs the same program and takes the CPU of the whole process
# (both threads, user and system, from getrusage), so the sum says what one client-round costs
# the machine, and how many cores N clients at 60 rounds a second would need at that cost.
#
# Run from the project's root:
#   scripts/floor-pair.sh [N=2000] [FRAME_BYTES=200] [RUNS=3]
# Loopback only; each run is 600 rounds and ends by itself.
set -eu
N=${1:-2000} SZ=${2:-200} RUNS=${3:-3}
src=$(cd "$(dirname "$0")/../../shared/tools" && pwd)/floor-probe.c
[ -f "$src" ] || { echo "no $src"; exit 1; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
cc -O2 -o "$d/floor-probe" "$src" -lpthread
python3 - "$d/floor-probe" "$N" "$SZ" "$RUNS" <<'PY'
import os, re, resource, subprocess, sys
binary, n, size, runs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
rounds = 600  # fixed in floor-probe.c
for _ in range(runs):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([binary, str(n), size], capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    server = float(re.search(r"server_cpu_per_client_round_us=([0-9.]+)", out).group(1))
    both = cpu * 1e6 / (n * rounds)
    print(f"N={n} size={size}: server thread {server:.2f} us, both threads {both:.2f} us per "
          f"client-round; {n} clients at 60 Hz would need {both * n * 60 / 1e6:.2f} cores "
          f"(this machine has {os.cpu_count()})")
PY
