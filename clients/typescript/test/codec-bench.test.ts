/**
 * The bench on a synthetic arena room of 64 players (test/codec-synthetic.ts), until real
 * frames exist: the frames file format reads back, every snapshot applies, and the figures
 * come out.
 */

import { test } from "node:test";
import assert from "node:assert/strict";

import { measure, readFrames, report } from "../bench/decode.js";
import { syntheticArena } from "./codec-synthetic.js";
import { gameVectors, vectorFile } from "./codec-helpers.js";

test("the bench reads length-prefixed frames and times 64 players", () => {
  const { schema } = gameVectors("arena");
  const frames = [vectorFile("arena-joined.bin"), ...syntheticArena(schema, 64, 120)];
  const file: number[] = [];
  for (const f of frames) file.push(f.length & 0xff, (f.length >>> 8) & 0xff, (f.length >>> 16) & 0xff, f.length >>> 24, ...f);
  const back = readFrames(new Uint8Array(file));
  assert.equal(back.length, frames.length);
  const r = measure(back, { passes: 5 });
  assert.equal(r.players, 64);
  assert.equal(r.keyframes, 2);
  assert.equal(r.deltas, 118);
  assert.ok(r.deltaUs > 0 && r.keyframeUs > 0);
  assert.ok(r.deltaBytes < r.keyframeBytes);
  assert.match(report(r), /delta: /);
});
