/**
 * Rooms against a real server: quick-join, private rooms with a key, leave and rejoin,
 * chat with its acknowledgements, ping, and every refusal the client can provoke coming
 * back as the right typed error.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import { ChatRefused, ErrorCode, ServerError, type Client, type ChatMessage } from "../src/index.js";
import { rejection, startServer, waitFor, type TestServer } from "./server.js";

describe("rooms", () => {
  let server: TestServer;
  const clients: Client[] = [];
  const connected = async (name: string) => {
    const c = server.client({ name });
    clients.push(c);
    await c.connect();
    return c;
  };
  before(async () => {
    server = await startServer(["--max-room-players", "4"]);
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  it("quick-join puts two players in the same public room", async () => {
    const a = await connected("qa");
    const b = await connected("qb");
    const ra = await a.quickJoin();
    const rb = await b.quickJoin();
    assert.match(ra.name, /^quick-\d+$/);
    assert.equal(rb.name, ra.name);
    assert.equal(rb.players.get(a.playerId), "qa");
  });

  it("a private room admits its key and refuses anyone else", async () => {
    const owner = await connected("owner");
    const friend = await connected("friend");
    const stranger = await connected("stranger");
    const room = await owner.create("den", { private: true, key: "k3y", capacity: 2 });
    assert.equal(room.name, "den");
    assert.equal(room.players.size, 1, "only the owner");
    const denied = await rejection(stranger.join("den"));
    assert.ok(denied instanceof ServerError);
    assert.equal(denied.code, ErrorCode.ACCESS_DENIED);
    assert.equal(denied.name, "ACCESS_DENIED");
    assert.equal(denied.inReplyTo, 1);
    const wrong = await rejection(stranger.join("den", { key: "nope" }));
    assert.equal((wrong as ServerError).code, ErrorCode.ACCESS_DENIED);
    const joined = waitFor(room, "playerJoined");
    const fr = await friend.join("den", { key: "k3y" });
    assert.equal(fr.name, "den");
    const [p] = await joined;
    assert.deepEqual(p, { id: friend.playerId, name: "friend" });
    // Capacity 2: the room is full now, even with the key.
    const full = await rejection(stranger.join("den", { key: "k3y" }));
    assert.equal((full as ServerError).code, ErrorCode.ROOM_FULL);
    assert.equal((full as ServerError).name, "ROOM_FULL");
  });

  it("every request the server refuses rejects with its typed error", async () => {
    const c = await connected("errors");
    const other = await connected("other");
    await other.create("taken");
    const cases: [() => Promise<unknown>, number, number][] = [
      [() => c.create("taken"), ErrorCode.ROOM_EXISTS, 5],
      [() => c.join("no-such-private", { key: "k" }), ErrorCode.NOT_FOUND, 1],
      [() => c.join("bad name!"), ErrorCode.INVALID_VALUE, 1],
      [() => c.create("cap0", { capacity: 0 }), ErrorCode.INVALID_VALUE, 5],
      [() => c.create("cap99", { capacity: 99 }), ErrorCode.INVALID_VALUE, 5],
    ];
    for (const [p, code, inReplyTo] of cases) {
      const err = await rejection(p());
      assert.ok(err instanceof ServerError, `${err}`);
      assert.equal(err.code, code, err.message);
      assert.equal(err.inReplyTo, inReplyTo);
    }
    const room = await c.join("errors-room");
    const inside = await rejection(c.join("another"));
    assert.equal((inside as ServerError).code, ErrorCode.NOT_IN_ROOM, "join while in a room");
    // A direction longer than 1.01 is the game's refusal of an input: Error 3, in reply to Input.
    const refused = waitFor(room, "error");
    room.send({ dx: 1, dy: 1 });
    const [err] = await refused;
    assert.ok(err instanceof ServerError);
    assert.equal(err.code, ErrorCode.INVALID_VALUE);
    assert.equal(err.inReplyTo, 3);
    assert.throws(() => room.send({ nope: 1 }), TypeError);
  });

  it("leave, then join again; the room says why it was left", async () => {
    const c = await connected("leaver");
    const room = await c.join("leave-room");
    const left = waitFor(room, "leave");
    await room.leave();
    assert.deepEqual(await left, ["left"]);
    assert.equal(c.room, null);
    assert.equal(room.active, false);
    const again = await c.join("leave-room");
    assert.equal(again.name, "leave-room");
  });

  it("chat: an ack per message, the message to everyone, refusals with their reason", async () => {
    const a = await connected("chatter");
    const b = await connected("listener");
    const ra = await a.join("chat-room");
    const rb = await b.join("chat-room");
    const heard = waitFor<[ChatMessage]>(rb, "chat", (m) => m.text === "hi");
    const own = waitFor<[ChatMessage]>(ra, "chat", (m) => m.text === "hi");
    const ack = await ra.chat("hi");
    assert.ok(ack.serverId >= 1);
    assert.ok(ack.timeMs > 1.6e12);
    const [m] = await heard;
    assert.equal(m.serverId, ack.serverId);
    assert.equal(m.from, a.playerId);
    assert.equal(m.name, "chatter");
    await own;
    const empty = await rejection(ra.chat(""));
    assert.ok(empty instanceof ChatRefused);
    assert.equal(empty.reason, "empty");
    const long = await rejection(ra.chat("x".repeat(300)));
    assert.equal((long as ChatRefused).reason, "too_long");
  });

  it("ping: a smoothed round-trip time", async () => {
    const c = server.client({ name: "pinger", pingIntervalMs: 50 });
    clients.push(c);
    await c.connect();
    await c.join("ping-room");
    await waitFor(c, "rtt", () => true);
    await waitFor(c, "rtt", () => true);
    const rtt = c.room!.rttMs;
    assert.ok(rtt !== null && rtt >= 0 && rtt < 1000, `rtt ${rtt}`);
  });
});
