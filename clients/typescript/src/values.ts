/**
 * Wire values and what a game developer reads (PROTOCOL.md section 8, "Quantization"): a
 * `fixed` field's steps as a real number, an angle in radians, an `enum` by its variant's
 * name. `realValue` is the Rust `Field::from_wire`; `wireValue` is `Field::to_wire`, for a
 * client that predicts the game and compares its result with the server's.
 */

import type { Field } from "./schema.js";

/** What a field's value is to a game: see {@link realValue}. */
export type FieldValue = number | string | boolean;

const TAU = 2 * Math.PI;

/** Brings any number of angle steps into `(-steps/2, steps/2]` (floor modulo, not `%`). */
export function wrapAngle(value: number, steps: number): number {
  const s = steps < 2 ? 2 : steps;
  // In int32 when it can be: a double `%` is a library call.
  let turn = value === (value | 0) && s === (s | 0) ? ((value | 0) % s) | 0 : value % s;
  if (turn < 0) turn += s;
  return turn > Math.floor(s / 2) ? turn - s : turn;
}

/**
 * A wire value as the game means it: `fixed` as `value / scale`, `angle` in radians in
 * (-π, π], `int` as itself, `bool` as `value != 0`, `enum` as its variant's name (an index
 * the schema does not name, which a conforming server never sends, as its decimal digits),
 * `string` as itself, `entity` as the id (0: none).
 */
export function realValue(field: Field, wire: number | string): FieldValue {
  if (typeof wire === "string") return wire;
  switch (field.type) {
    case "fixed":
      return wire / (field.scale < 1 ? 1 : field.scale);
    case "angle":
      return (wrapAngle(wire, field.scale) * TAU) / (field.scale < 2 ? 2 : field.scale);
    case "bool":
      return wire !== 0;
    case "enum":
      return field.variants[wire] ?? String(wire);
    default:
      return wire;
  }
}

/** Rounds halves away from zero, as the server's quantization does. */
function roundAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/**
 * A real value as the server would put it on the wire: `fixed` rounded to its steps and
 * clamped to i32, an angle (radians) as wrapped steps, `int` and `enum` rounded and
 * clamped to the field's range, `bool` as 0 or 1, `entity` clamped to u32. An `enum` may
 * be given by variant name; a `string` is returned as it is (cutting it to `max` bytes is
 * the server's job).
 */
export function wireValue(field: Field, value: FieldValue): number | string {
  if (typeof value === "string") {
    if (field.type === "string") return value;
    if (field.type === "enum") {
      const at = field.variants.indexOf(value);
      return at < 0 ? 0 : at;
    }
    return 0;
  }
  let x = typeof value === "boolean" ? (value ? 1 : 0) : value;
  if (Number.isNaN(x)) x = 0;
  const clamp = (v: number, lo: number, hi: number) => (v < lo ? lo : v > hi ? hi : v);
  switch (field.type) {
    case "fixed":
      return clamp(roundAway(x * field.scale), -0x8000_0000, 0x7fff_ffff);
    case "angle": {
      const turns = x / TAU;
      // The fraction of a turn first, so that a huge angle keeps its precision.
      return wrapAngle(roundAway((turns - Math.trunc(turns)) * field.scale), field.scale);
    }
    case "int":
    case "enum":
      return Math.min(Math.max(clamp(roundAway(x), -0x8000_0000, 0x7fff_ffff), field.min), field.max);
    case "bool":
      return x !== 0 ? 1 : 0;
    case "entity":
      return clamp(roundAway(x), 0, 0xffff_ffff);
    default:
      return roundAway(x);
  }
}
