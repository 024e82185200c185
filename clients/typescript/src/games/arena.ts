/**
 * The arena's rules for prediction (PROTOCOL.md section 11, server/src/games/arena.rs):
 * the player's circle steers toward its input direction and stays inside the world, in
 * float32 as the server computes. Pushes between players are not predicted (the client
 * does not know where the others are now); the next snapshot puts them right.
 */

import { clampLengthMax, keepInside, num, steer, wrapRadians, type InputRecord, type Predictor } from "../prediction.js";
import type { FieldValue } from "../values.js";

const f = Math.fround;

/** The arena's numbers (`ArenaRules::default`). */
export const rules = {
  size: 2000,
  radius: 12,
  maxSpeed: 300,
  accel: 1500,
  /** The longest input direction the server accepts: the float32 nearest 1.01. */
  maxDirection: f(1.01),
} as const;

/** One step of the arena's own player: `[dx, dy, facing, buttons]` on `[vx, vy, x, y, facing]`. */
export const predictor: Predictor = {
  kind: "player",
  predict(own: Record<string, FieldValue>, input: InputRecord, dt: number): Record<string, FieldValue> {
    const step = f(dt);
    // The game limits the input to length 1 when it reads it, and steer limits it again.
    const intent = clampLengthMax({ x: f(Number(input.dx ?? 0)), y: f(Number(input.dy ?? 0)) }, 1);
    let vel = steer({ x: f(num(own, "vx")), y: f(num(own, "vy")) }, intent, rules.maxSpeed, rules.accel, step);
    const moved = { x: f(f(num(own, "x")) + f(vel.x * step)), y: f(f(num(own, "y")) + f(vel.y * step)) };
    const inside = keepInside(moved, vel, rules.radius, rules.size - rules.radius);
    vel = inside.vel;
    const facing = typeof input.facing === "number" ? f(wrapRadians(input.facing)) : own.facing;
    return { ...own, vx: vel.x, vy: vel.y, x: inside.pos.x, y: inside.pos.y, facing };
  },
};
