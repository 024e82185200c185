/**
 * Losing the connection against a real server: a cut socket reconnects, resumes the same
 * player in the same room, and the inputs the server had not acknowledged are re-sent
 * (its ack covers them afterwards); a refused resume loses the room (`roomGone`) and the
 * client joins it again by itself (`rejoined`); a close the server means (a seat taken
 * over by the same user) is not retried; a refused upgrade (401) is a `ConnectError`.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { WebSocket } from "ws";

import { CloseError, ConnectError, ErrorCode, ServerError, type Client, type LeaveReason, type Room } from "../src/index.js";
import { rejection, startServer, until, waitFor, type TestServer } from "./server.js";

/** Cuts the TCP connection without a close frame, as a network would. */
function cut(client: Client): void {
  (client.socket as unknown as WebSocket).terminate();
}

describe("reconnect and resume", () => {
  let server: TestServer;
  const clients: Client[] = [];
  before(async () => {
    server = await startServer(["--resume-grace-ms", "5000"]);
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  it("a cut socket resumes the same player and re-sends the unacknowledged inputs", async () => {
    const c = server.client({ name: "phoenix", reconnect: { initialDelayMs: 20, maxDelayMs: 200 } });
    clients.push(c);
    const welcome = await c.connect();
    const room = await c.join("resume-room");
    await until(room, "snapshot", () => room.tick > 0);
    for (let i = 0; i < 5; i++) room.send({ dx: 0.5, dy: 0 });
    await until(room, "snapshot", () => room.ack === 5);

    const reconnecting = waitFor<[number, number]>(room, "reconnecting");
    const resumed = waitFor(room, "resumed");
    const clientResumed = waitFor(c, "resumed");
    cut(c);
    const [attempt, delay] = await reconnecting;
    assert.equal(attempt, 1);
    assert.equal(c.state, "reconnecting");
    assert.ok(delay >= 10 && delay <= 20, `50-100 % of the first step (${delay})`);
    // Sent while the connection is down: kept, and re-sent after Resumed.
    const seqs = [room.send({ dx: -0.5, dy: 0 }), room.send({ dx: -0.5, dy: 0.5 }), room.send({ dx: 0, dy: 0.5 })];
    assert.deepEqual(seqs, [6, 7, 8], "sequence numbers go on");
    assert.equal(room.pending, 3);
    await resumed;
    await clientResumed;
    assert.equal(c.state, "open");
    assert.equal(c.playerId, welcome.playerId, "the same player");
    assert.equal(c.room, room, "the same room object");
    await until(room, "snapshot", () => room.ack === 8, 5000);
    assert.equal(room.pending, 0);
    assert.ok(room.entities.has(welcome.playerId));
    assert.equal(room.stats.hashMismatches, 0);

    // Each Resumed gave a new token: a second cut resumes again.
    const again = waitFor(room, "resumed");
    cut(c);
    await again;
    room.send({ dx: 0, dy: 0 });
    await until(room, "snapshot", () => room.ack === 9, 5000);
  });
});

describe("a refused resume", () => {
  let server: TestServer;
  const clients: Client[] = [];
  before(async () => {
    // No grace at all: a lost connection ends the session at once.
    server = await startServer(["--resume-grace-ms", "0"]);
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  it("loses the room with RESUME_REFUSED, and the client is greeted anew", async () => {
    const c = server.client({ name: "lost", reconnect: { initialDelayMs: 50, maxDelayMs: 100 } });
    clients.push(c);
    const first = await c.connect();
    const room = await c.join("gone");
    const left = waitFor<[LeaveReason]>(room, "leave");
    const gone = waitFor<[string, ServerError]>(c, "roomGone");
    const reset = waitFor(c, "reset");
    const rejoined = waitFor<[Room]>(c, "rejoined");
    cut(c);
    const [why] = await left;
    assert.ok(why instanceof ServerError);
    assert.equal(why.code, ErrorCode.RESUME_REFUSED);
    const [goneName, goneWhy] = await gone;
    assert.equal(goneName, "gone");
    assert.equal(goneWhy, why);
    await reset;
    assert.notEqual(c.playerId, first.playerId, "a new player");
    // The client joins the room again by itself; an app that joins again too gets that room.
    const back = await c.join("gone");
    assert.equal(back.name, "gone");
    const [again] = await rejoined;
    assert.equal(again, back);
    assert.equal(c.room, back);
  });
});

describe("closes the server means", () => {
  let server: TestServer;
  const clients: Client[] = [];
  before(async () => {
    server = await startServer(["--auth-secret", "test-secret-0123456789"]);
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  it("a missing token is refused with 401 before the upgrade", async () => {
    const c = server.client({ name: "anon" });
    clients.push(c);
    const err = await rejection(c.connect());
    assert.ok(err instanceof ConnectError, `${err}`);
    assert.equal(err.status, 401);
  });

  it("a seat taken over by the same user is closed with 1008 and not retried", async () => {
    const token = server.token("ana", ["--name", "Ana"]);
    const old = server.client({ name: "x", token, reconnect: { initialDelayMs: 10 } });
    const fresh = server.client({ name: "y", token });
    clients.push(old, fresh);
    const w = await old.connect();
    assert.equal(w.userId, "ana");
    const room = await old.join("seat");
    let retried = false;
    old.on("reconnecting", () => (retried = true));
    const left = waitFor<[LeaveReason]>(room, "leave");
    const closed = waitFor<[Error | null]>(old, "close");
    await fresh.connect();
    const taken = await fresh.join("seat");
    const [why] = await left;
    assert.ok(why instanceof CloseError, `${why}`);
    assert.equal(why.code, 1008);
    assert.equal(why.takenOver, true);
    assert.equal(why.retryable, false);
    const [closeErr] = await closed;
    assert.equal(closeErr, why);
    assert.equal(retried, false);
    assert.equal(taken.players.get(fresh.playerId), "y", "own roster line uses the Hello name until chat says otherwise");
  });
});
