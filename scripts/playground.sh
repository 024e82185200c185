#!/usr/bin/env bash
# The browser playground in one command: installs the TypeScript SDK's and the
# playground's npm dependencies when they are missing or older than their lock files,
# bundles the pages (the SDK is compiled into them from its source), builds and starts the
# release server with `--playground clients/playground/dist`, starts a few bots in room
# `bots-0`, prints the URL, and on Ctrl-C stops what it started, by PID.
#
#   scripts/playground.sh [SERVER FLAGS...]     e.g. scripts/playground.sh --game shooter
#   BOTS=8 scripts/playground.sh                how many bots (default 4; 0: none)
#   BOT_DURATION=600 scripts/playground.sh      how long the bots play, seconds (default 3600)
#
# The bots play the game the server flags name (`--game X`), as they must.
set -euo pipefail
cd "$(dirname "$0")/.."
BOTS=${BOTS:-4}
BOT_DURATION=${BOT_DURATION:-3600}

game=arena
prev=
for arg in "$@"; do
    case "$arg" in
        --game=*) game=${arg#--game=} ;;
        *) [ "$prev" = --game ] && game=$arg ;;
    esac
    prev=$arg
done

# npm ci when node_modules is absent or older than the lock file (npm writes its own copy
# of the lock into node_modules on every install).
npm_ready() {
    local dir=$1
    if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
        echo "playground: npm ci in $dir"
        (cd "$dir" && npm ci --no-audit --no-fund)
    fi
}
npm_ready clients/typescript
npm_ready clients/playground
echo "playground: bundling the pages"
(cd clients/playground && npm run --silent build)

echo "playground: building the release server and bot"
cargo build --release -q -p tickwire-server -p tickwire-bot

tmp=$(mktemp -d)
server_pid=
bot_pid=
cleanup() {
    trap - INT TERM EXIT
    echo "playground: stopping"
    [ -n "$bot_pid" ] && kill -TERM "$bot_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill -TERM "$server_pid" 2>/dev/null || true
    [ -n "$bot_pid" ] && wait "$bot_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && wait "$server_pid" 2>/dev/null || true
    rm -rf "$tmp"
}
trap cleanup INT TERM EXIT
# Children in their own process groups: Ctrl-C reaches this script alone, which stops
# each child once (a second signal would make the server skip its drain).
set -m

./target/release/tickwire-server --playground clients/playground/dist "$@" >"$tmp/server.out" &
server_pid=$!
for _ in $(seq 100); do
    grep -q "admin on" "$tmp/server.out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { echo "playground: the server exited"; exit 1; }
    sleep 0.1
done
ws=$(sed -n 's/.*listening on \(ws:\/\/[^ ]*\).*/\1/p' "$tmp/server.out")
admin=$(sed -n 's/.*admin on \(http:\/\/[^ ]*\).*/\1/p' "$tmp/server.out")
[ -n "$admin" ] || { echo "playground: the server printed no admin address"; exit 1; }

if [ "$BOTS" -gt 0 ]; then
    ./target/release/tickwire-bot --url "$ws" --game "$game" --bots "$BOTS" \
        --duration "$BOT_DURATION" --quiet >"$tmp/bots.out" 2>&1 &
    bot_pid=$!
fi

echo
echo "  Tickwire playground ($game): $admin/"
echo "    play     $admin/play.html?room=bots-0"
echo "    watch    $admin/watch.html?room=bots-0"
echo "    operator $admin/operator.html"
echo "  game server $ws; $BOTS bots in bots-0. Ctrl-C stops everything."
echo
wait "$server_pid"
