/**
 * Client-side prediction of the player's own entity, and its reconciliation with the
 * server. The server applies inputs in `seq` order and says in every snapshot which it
 * has applied (`ack`); the state it sends is the outcome of those. So the own entity as
 * it will be is the server's state with the inputs the server has not applied yet
 * replayed on top, one step each (a client sends one input per tick). Between snapshots a
 * new input is stepped at once, so the player's own entity answers the stick without
 * waiting a round trip.
 *
 * A game's predictor is a pure function of the own entity's fields, one input and the
 * step's length: `arena.predictor`, `shooter.predictor`, or the application's own.
 */

import type { FieldValue } from "./values.js";

/** An input by field name: a number, a bool, or an enum's variant name. */
export type InputRecord = Record<string, number | boolean | string>;

export interface Predictor {
  /** The entity kind it predicts (`"player"` in the arena, `"ship"` in the shooter). */
  kind: string;
  /** The own entity's fields after one step of `dtSeconds` under `input`. */
  predict(own: Record<string, FieldValue>, input: InputRecord, dtSeconds: number): Record<string, FieldValue>;
}

/** An input sent and not yet acknowledged. */
export interface PendingInput {
  seq: number;
  /** The values as sent, in schema order. */
  values: (number | boolean)[];
  /** The same by field name, for the predictor. */
  named: InputRecord;
  /** The tick it claimed to have shown, re-sent as it was after a resume. */
  viewTick: number;
}

/**
 * The own entity's predicted fields: the server's state of the own entity with every
 * pending input replayed through `predictor`. Returns a fresh object; `server` is not
 * touched. A predictor that throws leaves the server's state as the prediction.
 */
export function reconcile(
  predictor: Predictor,
  server: Record<string, FieldValue>,
  pending: readonly PendingInput[],
  ack: number,
  dtSeconds: number,
): Record<string, FieldValue> {
  let state: Record<string, FieldValue> = { ...server };
  try {
    for (const input of pending) {
      if (input.seq > ack) state = predictor.predict(state, input.named, dtSeconds);
    }
  } catch (err) {
    console.error("@tickwire/client: the predictor threw", err);
    return { ...server };
  }
  return state;
}

/** One more step of `input` on the prediction, as `send` does between snapshots. */
export function step(
  predictor: Predictor,
  state: Record<string, FieldValue>,
  input: InputRecord,
  dtSeconds: number,
): Record<string, FieldValue> {
  try {
    return predictor.predict(state, input, dtSeconds);
  } catch (err) {
    console.error("@tickwire/client: the predictor threw", err);
    return state;
  }
}

// ---- float32 arithmetic, for predictors that must do what a Rust game does in f32 ----

const f = Math.fround;

/** A 2-vector in float32, as `glam::Vec2` computes. */
export interface Vec2 {
  x: number;
  y: number;
}

/** `v` shortened to length `max` if longer, rounding each operation to float32 as glam does. */
export function clampLengthMax(v: Vec2, max: number): Vec2 {
  const lengthSq = f(f(v.x * v.x) + f(v.y * v.y));
  if (lengthSq > f(f(max) * f(max))) {
    const len = f(Math.sqrt(lengthSq));
    return { x: f(f(max) * f(v.x / len)), y: f(f(max) * f(v.y / len)) };
  }
  return v;
}

/**
 * The velocity after one step of steering toward `intent` (server/src/game/motion.rs,
 * `steer`): turn toward `intent × maxSpeed` by at most `accel × dt`, never faster than
 * `maxSpeed`. Every value is float32, as the server's.
 */
export function steer(vel: Vec2, intent: Vec2, maxSpeed: number, accel: number, dt: number): Vec2 {
  const dir = clampLengthMax(intent, 1);
  const wanted = { x: f(dir.x * f(maxSpeed)), y: f(dir.y * f(maxSpeed)) };
  const change = clampLengthMax({ x: f(wanted.x - vel.x), y: f(wanted.y - vel.y) }, f(f(accel) * f(dt)));
  return clampLengthMax({ x: f(vel.x + change.x), y: f(vel.y + change.y) }, maxSpeed);
}

/** `keep_inside` of motion.rs: clamp each coordinate into [lo, hi], stopping the velocity into a wall. */
export function keepInside(pos: Vec2, vel: Vec2, lo: number, hi: number): { pos: Vec2; vel: Vec2 } {
  const cx = Math.min(Math.max(pos.x, lo), hi);
  const cy = Math.min(Math.max(pos.y, lo), hi);
  return {
    pos: { x: f(cx), y: f(cy) },
    vel: { x: cx !== pos.x ? 0 : vel.x, y: cy !== pos.y ? 0 : vel.y },
  };
}

/** An angle in (−π, π], as the server wraps an `angle` input (in float64, then read as float32). */
export function wrapRadians(a: number): number {
  const tau = 2 * Math.PI;
  const m = ((a % tau) + tau) % tau;
  return m > Math.PI ? m - tau : m;
}

/** A number field of an entity, or 0 when it is missing or not a number. */
export function num(fields: Record<string, FieldValue>, name: string): number {
  const v = fields[name];
  return typeof v === "number" && Number.isFinite(v) ? v : 0;
}
