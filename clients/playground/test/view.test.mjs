// The world-to-canvas fit and the scene built from entities through the schema's
// position fields.

import { test } from "node:test";
import assert from "node:assert/strict";
import { fitWorld, toScreen, toWorld } from "../build/view.mjs";
import { buildScene, positionFields } from "../build/scene.mjs";
import { guessedLook } from "../build/games.mjs";

test("the world square is fitted, centred, into the canvas", () => {
  const fit = fitWorld(1016, 516, 2000, 2000, 8);
  assert.equal(fit.scale, 0.25);
  assert.deepEqual(toScreen(fit, 0, 0), [258, 8]);
  assert.deepEqual(toScreen(fit, 2000, 2000), [758, 508]);
  assert.deepEqual(toWorld(fit, ...toScreen(fit, 123, 456)), [123, 456]);
});

const SHOOTER_KINDS = [
  { name: "ship", position: [2, 3], fields: ["vx", "vy", "x", "y", "aim", "hp", "alive"].map((name) => ({ name })) },
  { name: "bullet", position: [2, 3], fields: ["vx", "vy", "x", "y", "owner"].map((name) => ({ name })) },
  { name: "score", fields: ["player", "kills", "deaths", "score"].map((name) => ({ name })) },
];

test("ships become bodies, bullets shots, and rows without a position are left out", () => {
  const positions = positionFields(SHOOTER_KINDS);
  assert.deepEqual([...positions.keys()], ["ship", "bullet"]);
  const entities = [
    { id: 7, kind: "ship", fields: { x: 400, y: 800, aim: 0, hp: 50, alive: true } },
    { id: 3, kind: "ship", fields: { x: 664, y: 800, aim: 1, hp: 0, alive: false } },
    { id: 2 ** 31 + 1, kind: "bullet", fields: { x: 500, y: 800, owner: 7 } },
    { id: 2 ** 31 + 2, kind: "score", fields: { player: 7, kills: 1, deaths: 0, score: 125 } },
  ];
  const scene = buildScene(entities, positions, { size: 1600, radius: 14, playerKind: "ship" }, new Map([[7, "ana"]]), 7, []);
  assert.equal(scene.bodies.length, 2);
  assert.deepEqual(scene.bodies[0], { id: 7, x: 400, y: 800, facing: 0, label: "ana", own: true, dead: false, health: 0.5, marked: false });
  assert.equal(scene.bodies[1].label, "#3");
  assert.equal(scene.bodies[1].dead, true);
  assert.deepEqual(scene.shots, [{ x: 500, y: 800, owner: 7 }]);
});

test("an unknown game's world is a square around what is in it", () => {
  const look = guessedLook([[10, 20], [300, 90]], "thing");
  assert.equal(look.size, 512);
  assert.equal(look.playerKind, "thing");
});
