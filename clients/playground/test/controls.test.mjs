// Keys to direction and intent to input values, by the schemas of the arena and the
// shooter (PROTOCOL.md section 11).

import { test } from "node:test";
import assert from "node:assert/strict";
import { heldDirection, inputValues } from "../build/controls.mjs";

const ARENA = [
  { name: "dx", type: "float", min: -1.01, max: 1.01 },
  { name: "dy", type: "float", min: -1.01, max: 1.01 },
  { name: "facing", type: "angle" },
  { name: "buttons", type: "int", min: 0, max: 255 },
];
const SHOOTER = [ARENA[0], ARENA[1], { name: "aim", type: "angle" }, { name: "fire", type: "bool" }];

test("held keys give a unit direction, screen up being world -y", () => {
  assert.deepEqual(heldDirection(new Set()), [0, 0]);
  assert.deepEqual(heldDirection(new Set(["KeyD"])), [1, 0]);
  assert.deepEqual(heldDirection(new Set(["ArrowUp"])), [0, -1]);
  assert.deepEqual(heldDirection(new Set(["KeyA", "KeyD"])), [0, 0]);
  const [x, y] = heldDirection(new Set(["KeyS", "ArrowRight"]));
  assert.ok(Math.abs(Math.hypot(x, y) - 1) < 1e-12, "a diagonal is no faster");
  assert.ok(x > 0 && y > 0);
});

test("the arena's input: direction, facing and no buttons", () => {
  const v = inputValues(ARENA, { dir: [1, 0], aim: 1.5, fire: true });
  assert.deepEqual(v, { dx: 1, dy: 0, facing: 1.5, buttons: 0 });
});

test("the shooter's input: direction, aim and the trigger", () => {
  const v = inputValues(SHOOTER, { dir: [0, -1], aim: -0.5, fire: true });
  assert.deepEqual(v, { dx: 0, dy: -1, aim: -0.5, fire: true });
});

test("a game's unknown fields get their resting value", () => {
  const v = inputValues(
    [{ name: "throttle", type: "float" }, { name: "mode", type: "enum", variants: ["walk", "run"] }, { name: "level", type: "int", min: 2 }],
    { dir: [1, 0], aim: 0, fire: false },
  );
  assert.deepEqual(v, { throttle: 0, mode: "walk", level: 2 });
});
