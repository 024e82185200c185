/**
 * The session's pure parts on given numbers: the backoff's delays with an injected random
 * source, the interpolation on given times, inputs built from records, the float32
 * steering of the predictors (the cases of server/src/game/motion.rs), and which closes
 * are worth a retry.
 */

import { describe, it } from "node:test";
import assert from "node:assert/strict";

import {
  Backoff,
  CloseError,
  arena,
  backoffDelay,
  inputValues,
  isRetryableClose,
  keepInside,
  lerpAngle,
  reconcile,
  sample,
  shooter,
  steer,
  type Frame,
  type InputField,
  type Schema,
} from "../src/index.js";

describe("backoff", () => {
  const opts = { initialDelayMs: 100, maxDelayMs: 1000, maxAttempts: 6 };

  it("doubles up to the cap, each delay 50 to 100 % of its step", () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, opts, () => 0)), [50, 100, 200, 400, 500, 500]);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((n) => backoffDelay(n, opts, () => 0.999999)).map(Math.round), [100, 200, 400, 800, 1000, 1000]);
    assert.equal(backoffDelay(2, opts, () => 0.5), 300);
  });

  it("gives maxAttempts delays, then null, until reset", () => {
    const randoms = [0.25, 0.75, 0.5];
    let i = 0;
    const b = new Backoff({ ...opts, maxAttempts: 3 }, () => randoms[i++ % 3]);
    assert.deepEqual([b.next(), b.next(), b.next(), b.next()], [62.5, 175, 300, null]);
    assert.equal(b.attempts, 3);
    b.reset();
    assert.equal(b.next(), 62.5);
  });
});

describe("close codes", () => {
  it("retries what the grace covers and nothing the server meant", () => {
    assert.equal(isRetryableClose(1006, ""), true);
    assert.equal(isRetryableClose(1008, "idle timeout: nothing received, not even a pong"), true);
    assert.equal(isRetryableClose(1008, "too slow: reliable queue overflowed"), true);
    assert.equal(isRetryableClose(1008, "taken over by a newer connection of the same user"), false);
    assert.equal(isRetryableClose(1008, "replaced by a resumed connection"), false);
    assert.equal(isRetryableClose(1008, "flooding: too many inputs"), false);
    for (const code of [1000, 1001, 1002, 1003, 1009]) assert.equal(isRetryableClose(code, ""), false, `${code}`);
    assert.equal(new CloseError(1008, "taken over by a newer connection of the same user").takenOver, true);
  });
});

const schema: Schema = {
  game: "test",
  input: [],
  events: [],
  kinds: [
    {
      id: 0,
      name: "dot",
      position: [0, 1],
      fields: [
        { name: "x", type: "fixed", scale: 100, min: 0, max: 0, code: "steady", narrow: 4, wide: 10, predictedBy: null, variants: [] },
        { name: "y", type: "fixed", scale: 100, min: 0, max: 0, code: "steady", narrow: 4, wide: 10, predictedBy: null, variants: [] },
        { name: "a", type: "angle", scale: 1024, min: 0, max: 0, code: "steady", narrow: 6, wide: 10, predictedBy: null, variants: [] },
        { name: "hp", type: "int", scale: 0, min: 0, max: 100, code: "steady", narrow: 4, wide: 8, predictedBy: null, variants: [] },
      ],
    },
  ],
};

function frame(tick: number, dots: [number, number, number, number, number][]): Frame {
  return {
    tick,
    timeMs: (tick * 1000) / 60,
    entities: new Map(dots.map(([id, x, y, a, hp]) => [id, { id, kind: "dot", kindId: 0, fields: { x, y, a, hp } }])),
  };
}

describe("interpolation", () => {
  const frames = [frame(60, [[1, 0, 10, 3, 100], [2, 5, 5, 0, 50]]), frame(66, [[1, 60, 10, -3, 90], [3, 1, 1, 0, 10]])];
  const at = (ms: number) => new Map(sample(schema, frames, ms).map((e) => [e.id, e.fields]));

  it("lerps fixed fields, turns angles the short way and steps the rest", () => {
    const half = at((63 * 1000) / 60);
    assert.ok(Math.abs((half.get(1)!.x as number) - 30) < 1e-9);
    assert.equal(half.get(1)!.y, 10);
    // From 3 to -3 rad the short way crosses ±π, not 0.
    const a = half.get(1)!.a as number;
    assert.ok(Math.abs(Math.abs(a) - Math.PI) < 1e-9, `${a}`);
    assert.equal(half.get(1)!.hp, 100, "an int steps at the later snapshot");
  });

  it("shows leaving entities until the later snapshot, arriving ones from it", () => {
    const half = at((63 * 1000) / 60);
    assert.ok(half.has(2) && !half.has(3));
    const end = at((66 * 1000) / 60);
    assert.ok(!end.has(2) && end.has(3));
    assert.equal(end.get(1)!.hp, 90);
  });

  it("holds the first and the last frame outside them", () => {
    assert.equal(at(0).get(1)!.x, 0);
    assert.equal(at(1e9).get(1)!.x, 60);
    assert.deepEqual(sample(schema, [], 5), []);
  });

  it("lerpAngle takes the short way", () => {
    assert.ok(Math.abs(lerpAngle(0.1, -0.1, 0.5)) < 1e-12);
    assert.ok(Math.abs(lerpAngle(Math.PI - 0.1, -Math.PI + 0.1, 0.5) - Math.PI) < 1e-9);
  });
});

describe("inputs", () => {
  const fields: InputField[] = [
    { name: "dx", type: "float", min: -Math.fround(1.01), max: Math.fround(1.01), variants: [] },
    { name: "aim", type: "angle", min: -4 * Math.PI, max: 4 * Math.PI, variants: [] },
    { name: "fire", type: "bool", min: 0, max: 1, variants: [] },
    { name: "mode", type: "enum", min: 0, max: 2, variants: ["walk", "run", "fly"] },
    { name: "buttons", type: "int", min: 0, max: 255, variants: [] },
  ];

  it("builds values in schema order from a record, enums by name", () => {
    const { values, named } = inputValues(fields, { buttons: 3.4, mode: "fly", fire: true, aim: 3 * Math.PI, dx: 2 });
    assert.deepEqual(values.slice(2), [true, 2, 3]);
    assert.equal(values[0], Math.fround(1.01), "a float is kept within its range");
    assert.ok(Math.abs((values[1] as number) - Math.PI) < 1e-9, "an angle is wrapped");
    assert.equal(named.mode, "fly");
  });

  it("fills what is missing and refuses what the schema lacks", () => {
    assert.deepEqual(inputValues(fields, {}).values, [0, 0, false, 0, 0]);
    assert.deepEqual(inputValues(fields, [0.5, 0, false, 1, 7]).values, [0.5, 0, false, 1, 7]);
    assert.throws(() => inputValues(fields, { nope: 1 }), TypeError);
    assert.throws(() => inputValues(fields, { mode: "swim" }), TypeError);
    assert.throws(() => inputValues(fields, [1, 2]), TypeError);
  });
});

describe("predictors", () => {
  it("steer does what motion.rs does", () => {
    assert.deepEqual(steer({ x: 0, y: 0 }, { x: 1, y: 0 }, 300, 1500, Math.fround(0.1)), { x: 150, y: 0 });
    assert.deepEqual(steer({ x: 299, y: 0 }, { x: 1.5, y: 0 }, 300, 1500, Math.fround(0.1)), { x: 300, y: 0 });
    assert.deepEqual(steer({ x: 10, y: 0 }, { x: 0, y: 0 }, 300, 1500, Math.fround(0.1)), { x: 0, y: 0 });
    assert.deepEqual(keepInside({ x: -5, y: 50 }, { x: -3, y: 4 }, 0, 100), { pos: { x: 0, y: 50 }, vel: { x: 0, y: 4 } });
  });

  it("the arena's half stick settles at 150 units/s and the wall stops it", () => {
    let own: Record<string, number | string | boolean> = { vx: 0, vy: 0, x: 1000, y: 1000, facing: 0 };
    for (let i = 0; i < 60; i++) own = arena.predictor.predict(own, { dx: 0.5, dy: 0, facing: 1, buttons: 0 }, 1 / 60);
    assert.ok(Math.abs((own.vx as number) - 150) < 1e-3);
    assert.ok(Math.abs((own.facing as number) - 1) < 1e-6);
    own = { vx: 300, vy: 0, x: 1987, y: 500, facing: 0 };
    own = arena.predictor.predict(own, { dx: 1, dy: 0 }, 1 / 60);
    assert.equal(own.x, 1988);
    assert.equal(own.vx, 0);
  });

  it("a dead ship does not move", () => {
    const own = { vx: 0, vy: 0, x: 500, y: 500, aim: 0, hp: 0, alive: false };
    const next = shooter.predictor.predict(own, { dx: 1, dy: 0, aim: 1, fire: true }, 1 / 60);
    assert.equal(next.x, 500);
    assert.equal(next.vx, 0);
  });

  it("reconcile replays only what the ack does not cover", () => {
    const pending = [1, 2, 3].map((seq) => ({ seq, values: [], named: { dx: 1, dy: 0 }, viewTick: 0 }));
    const server = { vx: 0, vy: 0, x: 1000, y: 1000, facing: 0 };
    const two = reconcile(arena.predictor, server, pending, 1, 1 / 60);
    let by_hand: Record<string, number | string | boolean> = server;
    for (let i = 0; i < 2; i++) by_hand = arena.predictor.predict(by_hand, { dx: 1, dy: 0 }, 1 / 60);
    assert.deepEqual(two, by_hand);
    assert.deepEqual(reconcile(arena.predictor, server, pending, 3, 1 / 60), server);
  });
});
