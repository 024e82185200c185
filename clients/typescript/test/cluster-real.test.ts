/**
 * The SDK against a real cluster: two tickwire-server nodes sharing a real redis-server
 * (started here on a free port; `scripts/test.sh` installs it). A join that reaches the
 * wrong node lands in the room's node through the redirect and its ticket; when that node
 * is killed, the client reconnects to the other one, is told the room is gone, and is
 * seated in a new room of the same name there.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer, connect } from "node:net";
import { WebSocket } from "ws";

import { Client, type ClientOptions, type Room } from "../src/index.js";
import { startServer, until, waitFor, type TestServer } from "./server.js";

/** A port nobody listens on now. */
async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once("error", fail);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      s.close(() => (typeof address === "object" && address !== null ? ok(address.port) : fail(new Error("no port"))));
    });
  });
}

/** Resolves once Redis on `port` answers PING; rejects after `timeoutMs`. */
async function redisUp(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pong = await new Promise<boolean>((ok) => {
      const s = connect(port, "127.0.0.1");
      s.once("error", () => ok(false));
      s.once("connect", () => s.write("PING\r\n"));
      s.once("data", (d) => {
        s.destroy();
        ok(d.toString().startsWith("+PONG"));
      });
    });
    if (pong) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not answer on port ${port}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a real cluster of two nodes", () => {
  let redis: ChildProcess;
  const nodes: TestServer[] = [];
  const clients: Client[] = [];
  const client = (urls: string[], options: ClientOptions = {}) => {
    const c = new Client(urls, { WebSocket: WebSocket as unknown as ClientOptions["WebSocket"], ...options });
    clients.push(c);
    return c;
  };
  before(async () => {
    const port = await freePort();
    redis = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
      stdio: "ignore",
    });
    await redisUp(port);
    for (const id of ["a", "b"]) {
      nodes.push(
        await startServer([
          "--redis-url", `redis://127.0.0.1:${port}/`,
          "--node-id", id,
          "--cluster-secret", "a cluster secret for the SDK tests, 32+ bytes",
        ]),
      );
    }
  });
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(nodes.map((n) => n.stop()));
    redis.kill("SIGKILL");
  });

  it("joins through a redirect, and is seated again when the room's node is killed", async () => {
    const [a, b] = nodes;
    const host = client([a.url]);
    await host.connect();
    const hostRoom = await host.join("den");
    await until(hostRoom, "snapshot", () => hostRoom.tick > 0);

    // This client reaches b first; den lives on a.
    const c = client([b.url, a.url], { name: "guest", reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    await c.connect();
    const redirected = waitFor<[string, string | null]>(c, "redirected");
    const room = await c.join("den");
    const [to, roomName] = await redirected;
    assert.equal(to.replace(/\/$/, ""), a.url.replace(/\/$/, ""));
    assert.equal(roomName, "den");
    assert.equal(room.name, "den");
    await until(room, "snapshot", () => room.entities.size === 2);

    const gone = waitFor<[string]>(c, "roomGone", () => true, 10_000);
    const rejoined = waitFor<[Room]>(c, "rejoined", () => true, 10_000);
    await a.stop(); // SIGKILL
    const [goneName] = await gone;
    assert.equal(goneName, "den");
    const [again] = await rejoined;
    assert.equal(again.name, "den", "the same name, opened again on the live node");
    assert.equal(c.url.replace(/\/$/, ""), b.url.replace(/\/$/, ""));
    await until(again, "snapshot", () => again.tick > 0 && again.entities.has(c.playerId!), 5000);
    assert.equal(again.stats.hashMismatches, 0);
  });
});
