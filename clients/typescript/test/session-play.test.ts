/**
 * Playing against a real server: two clients in one arena room, then in one shooter room,
 * see each other move for a few seconds with every snapshot's state hash matching, and
 * in the shooter the events of one shooting the other arrive before their snapshot.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import { arena, shooter, type Client, type GameEvent, type Predictor, type Room } from "../src/index.js";
import { startServer, until, waitFor, type TestServer } from "./server.js";

/** Sends one input per snapshot until `done`, with the values `input()` gives. */
function drive(room: Room, input: () => Record<string, number | boolean | string>): () => void {
  return room.on("snapshot", () => {
    room.send(input());
  });
}

/** Ana and Bo, connected with `predictor`: the client's state goes to "open" once, on the Welcome. */
async function twoPlayers(server: TestServer, clients: Client[], predictor: Predictor) {
  const ana = server.client({ name: "ana", predictor });
  const bo = server.client({ name: "bo", predictor });
  clients.push(ana, bo);
  const states: string[] = [];
  ana.on("state", (s) => states.push(s));
  const wa = await ana.connect();
  const wb = await bo.connect();
  assert.equal(ana.state, "open");
  assert.deepEqual(states, ["open"], "connecting was the state before connect() began");
  return { ana, bo, wa, wb };
}

describe("arena: two players", () => {
  let server: TestServer;
  const clients: Client[] = [];
  before(async () => {
    server = await startServer(["--game", "arena"]);
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  it("see each other move with no hash mismatch", async () => {
    const { ana, bo, wa, wb } = await twoPlayers(server, clients, arena.predictor);
    assert.equal(wa.tickRate, 60);
    assert.notEqual(wa.playerId, wb.playerId);
    const ra = await ana.join("play-arena");
    const joinedSeen = waitFor(ra, "playerJoined", (p: { id: number }) => p.id === wb.playerId);
    const rb = await bo.join("play-arena");
    await joinedSeen;
    assert.equal(ra.schema.game, "arena");
    assert.equal(rb.players.get(wa.playerId), "ana", "bo's roster has ana from Joined");
    assert.equal(ra.players.get(wb.playerId), "bo", "ana's roster has bo from PlayerJoined");

    const stopA = drive(ra, () => ({ dx: 1, dy: 0, facing: 0.5, buttons: 0 }));
    const stopB = drive(rb, () => ({ dx: 0, dy: -1, facing: -1, buttons: 3 }));
    await until(rb, "snapshot", () => rb.entities.has(wa.playerId) && rb.entities.has(wb.playerId));
    const start = { ...rb.entities.get(wa.playerId)!.fields };
    const startB = { ...ra.entities.get(wb.playerId)!.fields };
    // Three seconds of play, counted in snapshots.
    let count = 0;
    await until(ra, "snapshot", () => ++count >= 180, 10_000);
    stopA();
    stopB();
    assert.ok(ra.predicting && rb.predicting, "both predict their own player");
    assert.equal(ra.stats.applied, ra.stats.keyframes + ra.stats.deltas);
    assert.ok(ra.stats.applied >= 180 && ra.stats.hashMismatches === 0, JSON.stringify(ra.stats));
    const nowA = rb.entities.get(wa.playerId)!.fields;
    const nowB = ra.entities.get(wb.playerId)!.fields;
    assert.ok((nowA.x as number) !== (start.x as number), "bo sees ana move along x");
    assert.ok((nowB.y as number) !== (startB.y as number), "ana sees bo move along y");
    for (const r of [ra, rb]) {
      const s = r.stats;
      assert.equal(s.hashMismatches, 0);
      assert.equal(s.refused, 0);
      assert.ok(s.keyframes >= 2, `a keyframe a second (${s.keyframes})`);
      assert.ok(s.snapshotsPerSecond > 30, `about 60 snapshots a second (${s.snapshotsPerSecond})`);
      assert.ok(s.bytesPerSecond > 0);
      assert.ok(r.ack > 100, `inputs acknowledged (${r.ack})`);
    }
    const view = ra.interpolated();
    assert.equal(view.length, 2);
    assert.equal(ra.roomState("player").length, 2);
  });
});

describe("shooter: two ships", () => {
  let server: TestServer;
  const clients: Client[] = [];
  before(async () => {
    server = await startServer(["--game", "shooter"]);
  });
  after(async () => {
    for (const c of clients) c.close();
    await server.stop();
  });

  it("play with no hash mismatch; hits arrive as events before their snapshot", async () => {
    const { ana, bo, wa, wb } = await twoPlayers(server, clients, shooter.predictor);
    const ra = await ana.join("play-shooter");
    const rb = await bo.join("play-shooter");
    assert.equal(ra.schema.game, "shooter");
    await until(ra, "snapshot", () => ra.entities.has(wb.playerId) && ra.entities.has(wa.playerId));

    // The match clock and the score rows are room state: kinds without a position.
    assert.equal(ra.roomState("match").length, 1);
    assert.ok(ra.roomState("score").length >= 2);

    const events: { event: GameEvent; tick: number; lastSnapshot: number }[] = [];
    ra.on("event", (event, tick) => events.push({ event, tick, lastSnapshot: ra.tick }));
    // Ana aims at bo whatever he does; bo stands still.
    const aimAtBo = () => {
      const me = ra.own();
      const him = ra.entities.get(wb.playerId);
      if (me === undefined || him === undefined) return { dx: 0, dy: 0, aim: 0, fire: false };
      const aim = Math.atan2((him.fields.y as number) - (me.fields.y as number), (him.fields.x as number) - (me.fields.x as number));
      return { dx: 0, dy: 0, aim, fire: true };
    };
    const stopA = drive(ra, aimAtBo);
    const stopB = drive(rb, () => ({ dx: 0, dy: 0, aim: 0, fire: false }));
    let snapshots = 0;
    await until(ra, "snapshot", () => ++snapshots >= 120 && events.some((e) => e.event.kind === "hit"), 15_000);
    stopA();
    stopB();
    const hit = events.find((e) => e.event.kind === "hit")!;
    assert.equal(hit.event.fields.shooter, wa.playerId);
    assert.equal(hit.event.fields.target, wb.playerId);
    assert.equal(hit.event.fields.damage, 25);
    assert.ok(hit.lastSnapshot < hit.tick, "the event arrives before the snapshot of its tick");
    for (const r of [ra, rb]) {
      assert.equal(r.stats.hashMismatches, 0);
      assert.equal(r.stats.refused, 0);
    }
  });
});
