/**
 * WATCH (client type 8) against a real server. These tests need the lead's server change
 * that adds Watch (see /tmp/sdk-contract.md, "The new client message: Watch"); against a
 * server without it they fail (the server answers UNKNOWN_TYPE). A watcher sees the whole
 * room with `ack` 0, is in nobody's roster, sends no inputs and cannot chat; a room that
 * does not exist is NOT_FOUND, a private one without its key ACCESS_DENIED.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import { ChatRefused, ErrorCode, ServerError, type Client } from "../src/index.js";
import { rejection, startServer, until, type TestServer } from "./server.js";

describe("watch (needs the server's Watch, client type 8)", () => {
  let server: TestServer;
  const clients: Client[] = [];
  const connected = async (name: string) => {
    const c = server.client({ name });
    clients.push(c);
    await c.connect();
    return c;
  };
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  it("a watcher sees the room's entities, is in no roster and sends nothing", async () => {
    const player = await connected("player");
    const room = await player.join("watched");
    let joinedEvents = 0;
    room.on("playerJoined", () => joinedEvents++);
    const watcher = await connected("watcher");
    const view = await watcher.watch("watched");
    assert.equal(view.watching, true);
    assert.equal(view.name, "watched");
    assert.equal(view.players.get(player.playerId), "player");
    assert.equal(view.players.has(watcher.playerId), false);
    await until(view, "snapshot", () => view.entities.has(player.playerId));
    assert.equal(view.ack, 0);
    assert.equal(view.own(), undefined);
    assert.throws(() => view.send({ dx: 1 }));
    const chat = await rejection(view.chat("hello"));
    assert.ok(chat instanceof ChatRefused);
    assert.equal(chat.reason, "watching");
    // Let a few snapshots pass on the player's side: no PlayerJoined came about the watcher.
    let n = 0;
    await until(room, "snapshot", () => ++n >= 10);
    assert.equal(joinedEvents, 0);
    assert.equal(view.stats.hashMismatches, 0);
    const left = new Promise((done) => view.on("leave", done));
    await view.leave();
    assert.equal(await left, "left");
  });

  it("refuses a room that does not exist and a private one without its key", async () => {
    const owner = await connected("owner");
    await owner.create("secret", { private: true, key: "k" });
    const w = await connected("peeker");
    const missing = await rejection(w.watch("nowhere"));
    assert.ok(missing instanceof ServerError);
    assert.equal(missing.code, ErrorCode.NOT_FOUND);
    assert.equal(missing.inReplyTo, 8);
    const denied = await rejection(w.watch("secret"));
    assert.equal((denied as ServerError).code, ErrorCode.ACCESS_DENIED);
    const ok = await w.watch("secret", { key: "k" });
    assert.equal(ok.watching, true);
  });
});
