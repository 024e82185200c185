#!/usr/bin/env bash
# Every test of the project, on a fresh machine: the Rust workspace, the wire decoded from
# its schema alone in Python, the TypeScript SDK (golden vectors, and against a real
# server), and the browser playground in a real headless Chromium. What the tests need
# from Debian (redis-server, python3-msgpack, chromium) is installed with apt-get when it is missing,
# so this needs root, or those packages installed already. README's test command; CI's too.
set -euo pipefail
cd "$(dirname "$0")/.."

# Installs the Debian packages named, if the check command fails.
need() {
    local check=$1
    shift
    if ! eval "$check" >/dev/null 2>&1; then
        echo "== apt-get install $*"
        apt-get install -y -q "$@" >/dev/null || {
            apt-get update -q >/dev/null && apt-get install -y -q "$@" >/dev/null
        }
    fi
}

# The cluster tests (server/tests/cluster.rs, the bot's cluster swarm) start their own
# redis-server on a free port: a real one, never a mock, and never skipped.
need "command -v redis-server" redis-server

echo "== cargo test --workspace"
cargo test --workspace

# A decoder written from PROTOCOL.md in another language, with only a MessagePack library:
# the golden vector files must decode from their schema alone.
echo "== python3 shared/vectors/decode.py   (the wire from the schema alone, not in Rust)"
need "/usr/bin/python3 -c 'import msgpack'" python3-msgpack
/usr/bin/python3 shared/vectors/decode.py shared/vectors

# The SDK's and the playground's tests start these binaries themselves.
echo "== cargo build -p tickwire-server -p tickwire-bot"
cargo build -q -p tickwire-server -p tickwire-bot

echo "== clients/typescript: npm ci && npm test   (@tickwire/client)"
(cd clients/typescript && npm ci --no-audit --no-fund --loglevel=error && npm test)

echo "== clients/playground: npm ci && npm test   (the pages, in headless Chromium)"
need "test -x /usr/bin/chromium" chromium
(cd clients/playground && npm ci --no-audit --no-fund --loglevel=error && npm test)
