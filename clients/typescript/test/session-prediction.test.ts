/**
 * Prediction against a real server: the arena's and the shooter's predictors, stepped
 * from one snapshot's state of the own entity with the input in effect, give the next
 * tick's state within the wire's quantization (into the wall too); and the room's own()
 * is the server's state once every input is acknowledged, and moves at once on a new one.
 */

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";

import { arena, shooter, type Client, type FieldValue, type Predictor } from "../src/index.js";
import { startServer, until, type TestServer } from "./server.js";

interface Errors {
  pairs: number;
  pos: number;
  vel: number;
  wall: boolean;
}

/** Drives the own entity toward the nearest x wall and compares each tick with the prediction from the last. */
async function compare(server: TestServer, predictor: Predictor, room: string, hi: number, ticks: number): Promise<Errors> {
  const c: Client = server.client({ name: "predict", predictor });
  try {
    await c.connect();
    const r = await c.join(room);
    await until(r, "snapshot", () => r.own() !== undefined);
    const start = r.own()!.fields.x as number;
    const input = { dx: start > hi / 2 ? 1 : -1, dy: 0 };
    const dt = 1 / c.tickRate;
    let prev: { tick: number; fields: Record<string, FieldValue> } | null = null;
    const errors: Errors = { pairs: 0, pos: 0, vel: 0, wall: false };
    let count = 0;
    const stop = r.on("snapshot", ({ tick }) => {
      r.send(input);
      const server = r.entities.get(c.playerId);
      if (server === undefined) return;
      // Only once the constant input is what the server applies, and one tick apart.
      if (prev !== null && r.ack >= 2 && tick === prev.tick + 1 && server.fields.alive !== false) {
        const p = predictor.predict(prev.fields, input, dt);
        errors.pairs++;
        for (const k of ["x", "y"]) errors.pos = Math.max(errors.pos, Math.abs((p[k] as number) - (server.fields[k] as number)));
        for (const k of ["vx", "vy"]) errors.vel = Math.max(errors.vel, Math.abs((p[k] as number) - (server.fields[k] as number)));
        if (server.fields.vx === 0 && r.ack > 30) errors.wall = true;
      }
      prev = { tick, fields: { ...server.fields } };
    });
    await until(r, "snapshot", () => ++count >= ticks, ticks * 50);
    stop();
    // Reconciled: with nothing pending, own() is the server's state.
    await until(r, "snapshot", () => r.pending === 0);
    assert.deepEqual(r.own()!.fields, r.entities.get(c.playerId)!.fields);
    return errors;
  } finally {
    c.close();
  }
}

describe("prediction", () => {
  let arenaServer: TestServer;
  let shooterServer: TestServer;
  before(async () => {
    [arenaServer, shooterServer] = await Promise.all([startServer(["--game", "arena"]), startServer(["--game", "shooter"])]);
  });
  after(async () => {
    await Promise.all([arenaServer.stop(), shooterServer.stop()]);
  });

  it("the arena predictor gives the server's next tick, walls included", async () => {
    // Up to 1000 units to a wall at 300 units/s: 3.4 s, 240 ticks.
    const e = await compare(arenaServer, arena.predictor, "predict-arena", 2000, 260);
    assert.ok(e.pairs > 150, `${e.pairs} pairs compared`);
    // The state stepped is the wire's (x in 1/100, vx in whole units): one step of each,
    // plus what a velocity off by half a unit moves in a tick.
    assert.ok(e.pos <= 0.01 + 0.5 / 60 + 1e-9, `position off by ${e.pos}`);
    assert.ok(e.vel <= 1, `velocity off by ${e.vel}`);
    assert.ok(e.wall, "reached the wall and stopped there");
  });

  it("the shooter predictor gives the server's next tick", async () => {
    const e = await compare(shooterServer, shooter.predictor, "predict-shooter", 1600, 260);
    assert.ok(e.pairs > 150, `${e.pairs} pairs compared`);
    assert.ok(e.pos <= 0.01 + 0.5 / 60 + 1e-9, `position off by ${e.pos}`);
    assert.ok(e.vel <= 1, `velocity off by ${e.vel}`);
  });

  it("own() moves at once on a new input and reconciles on the ack", async () => {
    const c = arenaServer.client({ name: "own", predictor: arena.predictor });
    try {
      await c.connect();
      const r = await c.join("own-room");
      await until(r, "snapshot", () => r.own() !== undefined && r.tick > 0);
      const before = { ...r.own()!.fields };
      r.send({ dx: 1, dy: 0 });
      const after = r.own()!.fields;
      assert.ok((after.vx as number) > (before.vx as number), "the velocity answers the stick before any snapshot");
      assert.equal(r.pending, 1);
      await until(r, "snapshot", () => r.pending === 0);
      assert.deepEqual(r.own()!.fields, r.entities.get(c.playerId)!.fields);
    } finally {
      c.close();
    }
  });
});
