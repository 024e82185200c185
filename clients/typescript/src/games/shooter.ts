/**
 * The shooter's rules for prediction (PROTOCOL.md section 11,
 * server/src/games/shooter/ship.rs and rules.rs): a live ship steers toward its input
 * direction and stays inside the world, in float32 as the server computes; a dead one
 * stays where it is, at rest. Firing changes nothing of the ship, so it is not predicted:
 * bullets come from the snapshots.
 */

import { clampLengthMax, keepInside, num, steer, wrapRadians, type InputRecord, type Predictor } from "../prediction.js";
import type { FieldValue } from "../values.js";

const f = Math.fround;

/** The shooter's numbers (`ShooterRules::default`). */
export const rules = {
  size: 1600,
  shipRadius: 14,
  maxSpeed: 250,
  accel: 1500,
  fireCooldownS: 0.25,
  bulletSpeed: 900,
  bulletLifetimeS: 0.8,
  damage: 25,
  hp: 100,
  /** How far back a shot is judged at most: 0.2 s. */
  maxRewindS: 0.2,
} as const;

/** The match clock's entity id (2^31). */
export const MATCH_ID = 0x8000_0000;

/** One step of the own ship: `[dx, dy, aim, fire]` on `[vx, vy, x, y, aim, hp, alive]`. */
export const predictor: Predictor = {
  kind: "ship",
  predict(own: Record<string, FieldValue>, input: InputRecord, dt: number): Record<string, FieldValue> {
    const aim = typeof input.aim === "number" ? f(wrapRadians(input.aim)) : own.aim;
    if (own.alive === false) {
      return { ...own, vx: 0, vy: 0, aim };
    }
    const step = f(dt);
    // The game limits the input to length 1 when it reads it, and steer limits it again.
    const intent = clampLengthMax({ x: f(Number(input.dx ?? 0)), y: f(Number(input.dy ?? 0)) }, 1);
    let vel = steer({ x: f(num(own, "vx")), y: f(num(own, "vy")) }, intent, rules.maxSpeed, rules.accel, step);
    const moved = { x: f(f(num(own, "x")) + f(vel.x * step)), y: f(f(num(own, "y")) + f(vel.y * step)) };
    const hi = Math.max(rules.size - rules.shipRadius, rules.shipRadius);
    const inside = keepInside(moved, vel, rules.shipRadius, hi);
    vel = inside.vel;
    return { ...own, vx: vel.x, vy: vel.y, x: inside.pos.x, y: inside.pos.y, aim };
  },
};
