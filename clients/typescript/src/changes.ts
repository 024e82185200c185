/**
 * Reading a snapshot's `changes`: one bit-packed record per entity of the base (PROTOCOL.md
 * section 9, "Change records", "Predicted positions", "Angle turns"; the Rust
 * `changes.rs` `read_record`).
 *
 * This runs for every entity of every delta, so a kind's fields are turned once into a
 * {@link RecordPlan} of small integers, and a record is read straight into a caller's
 * array of values: nothing is allocated per field (a changed string aside).
 */

import type { Kind } from "./schema.js";

/** Why a record could not be read: the bits ran out, or a string is not UTF-8. */
export class ChangesError extends Error {
  override name = "ChangesError";
}

/** Field types as small integers, for the reader's switch. */
const enum Ty {
  Fixed = 0,
  Angle = 1,
  Int = 2,
  Bool = 3,
  Enum = 4,
  String = 5,
  Entity = 6,
}

const TY: Record<string, Ty> = {
  fixed: Ty.Fixed,
  angle: Ty.Angle,
  int: Ty.Int,
  bool: Ty.Bool,
  enum: Ty.Enum,
  string: Ty.String,
  entity: Ty.Entity,
};

/** A kind's fields as the reader wants them: parallel arrays, one entry per field. */
export interface RecordPlan {
  readonly count: number;
  readonly ty: Uint8Array;
  /** 1 for the busy code, 0 for steady. */
  readonly busy: Uint8Array;
  readonly narrow: Uint8Array;
  readonly wide: Uint8Array;
  /** The velocity field's index, or -1. */
  readonly predict: Int16Array;
  /** `fixed`: the field's scale; `angle`: its steps per turn. */
  readonly scale: Float64Array;
  /** `fixed` with `predict`: the velocity field's scale (at least 1). */
  readonly velScale: Float64Array;
  /** The fields' names, for writing real values by name. */
  readonly names: string[];
  /** An enum's variant names; empty for other types. */
  readonly variants: string[][];
}

export function recordPlan(kind: Kind): RecordPlan {
  const n = kind.fields.length;
  const plan = {
    count: n,
    ty: new Uint8Array(n),
    busy: new Uint8Array(n),
    narrow: new Uint8Array(n),
    wide: new Uint8Array(n),
    predict: new Int16Array(n),
    scale: new Float64Array(n),
    velScale: new Float64Array(n),
    names: kind.fields.map((f) => f.name),
    variants: kind.fields.map((f) => f.variants),
  };
  kind.fields.forEach((f, i) => {
    plan.ty[i] = TY[f.type];
    plan.busy[i] = f.code === "busy" ? 1 : 0;
    plan.narrow[i] = f.narrow;
    plan.wide[i] = f.wide;
    plan.predict[i] = f.predictedBy ?? -1;
    plan.scale[i] = f.scale;
    plan.velScale[i] = f.predictedBy === null ? 1 : Math.max(kind.fields[f.predictedBy].scale, 1);
  });
  return plan;
}

/** Bits most significant first, over one `changes` bin. */
export class BitReader {
  private bytes: Uint8Array = new Uint8Array(0);
  /** Bits read so far. */
  pos = 0;
  private end = 0;

  reset(bytes: Uint8Array): void {
    this.bytes = bytes;
    this.pos = 0;
    this.end = bytes.length * 8;
  }

  /** The bytes the bits read so far take, rounded up. */
  bytesUsed(): number {
    return (this.pos + 7) >>> 3;
  }

  bit(): number {
    const p = this.pos;
    if (p >= this.end) throw new ChangesError("change records cut short");
    this.pos = p + 1;
    return (this.bytes[p >>> 3] >>> (7 - (p & 7))) & 1;
  }

  /** The next `n` bits (0 to 32) as an unsigned number. */
  unsigned(n: number): number {
    let p = this.pos;
    if (p + n > this.end) throw new ChangesError("change records cut short");
    const bytes = this.bytes;
    let v = 0;
    let left = n;
    while (left > 0) {
      const off = p & 7;
      const avail = 8 - off;
      const take = avail < left ? avail : left;
      v = (v << take) | ((bytes[p >>> 3] >>> (avail - take)) & ((1 << take) - 1));
      p += take;
      left -= take;
    }
    this.pos = p;
    return n === 32 ? v >>> 0 : v;
  }

  /** The next `n` bits (1 to 32) as a two's complement number. */
  signed(n: number): number {
    const shift = 32 - n;
    return (this.unsigned(n) << shift) >> shift;
  }

  /** `n` bytes of 8 bits each, not byte-aligned: they follow on at once. */
  bytesInto(n: number, into: Uint8Array): Uint8Array {
    if (this.pos + 8 * n > this.end) throw new ChangesError("change records cut short");
    if ((this.pos & 7) === 0) {
      const at = this.pos >>> 3;
      this.pos += 8 * n;
      return this.bytes.subarray(at, at + n);
    }
    for (let i = 0; i < n; i++) into[i] = this.unsigned(8);
    return into.subarray(0, n);
  }
}

const TWO_POW_50 = 2 ** 50;
const I64_MAX = (1n << 63n) - 1n;

/**
 * Where a coordinate is predicted: `base + floor((2a + b) / 2b)` with `a = vel · posScale ·
 * ticks` and `b = velScale · tickRate`, rounding halves up. The result is only ever used
 * wrapped to 32 bits, so the rare hostile case that leaves exact double arithmetic (the
 * Rust wraps in 64 bits there) returns the same low 32 bits, as an int32.
 */
export function predict(
  base: number,
  vel: number,
  ticks: number,
  tickRate: number,
  posScale: number,
  velScale: number,
): number {
  const b = (velScale < 1 ? 1 : velScale) * (tickRate < 1 ? 1 : tickRate);
  const a = vel * posScale * ticks;
  // Below 2^50 every product above was exact, and so are 2a + b (< 2^53) and the floor of
  // its quotient: the division cannot round across an integer.
  if (a < TWO_POW_50 && a > -TWO_POW_50) return base + Math.floor((2 * a + b) / (2 * b));
  return predictWrapping(base, vel, ticks, b, posScale);
}

function predictWrapping(base: number, vel: number, ticks: number, b: number, posScale: number): number {
  const wrap = (n: bigint) => BigInt.asIntN(64, n);
  let t = BigInt(Math.trunc(ticks));
  if (t > I64_MAX) t = I64_MAX;
  const a = wrap(wrap(BigInt(vel) * BigInt(posScale)) * t);
  const num = wrap(wrap(a * 2n) + BigInt(b));
  const den = 2n * BigInt(b);
  let q = num / den;
  if (num % den < 0n) q -= 1n;
  return Number(BigInt.asIntN(32, wrap(BigInt(base) + q)));
}

/** A `fixed` or `int` number of a record, against `ref`, wrapped to 32 bits. */
function readNumber(bits: BitReader, busy: number, narrow: number, wide: number, ref: number): number {
  if (busy === 0) {
    if (bits.bit() === 0) return ref | 0; // 0
    if (bits.bit() === 0) return (ref + bits.signed(narrow)) | 0; // 10
    if (bits.bit() === 0) return (ref + bits.signed(wide)) | 0; // 110
    return bits.signed(32); // 111
  }
  if (bits.bit() === 1) return (ref + bits.signed(narrow)) | 0; // 1
  if (bits.bit() === 0) return ref | 0; // 00
  if (bits.bit() === 0) return (ref + bits.signed(wide)) | 0; // 010
  return bits.signed(32); // 011
}

/** `wrapAngle` of values.ts, kept to int32 arithmetic when it can be: a double `%` is a library call. */
export function wrapSteps(v: number, steps: number): number {
  const s = steps < 2 ? 2 : steps | 0;
  let m = v === (v | 0) ? ((v | 0) % s) | 0 : v % s;
  if (m < 0) m += s;
  return m > s >>> 1 ? m - s : m;
}

const TAU = 2 * Math.PI;

/**
 * Field `i`'s wire value as the game means it: `realValue` of values.ts, switched on the
 * plan's small integers rather than on type names, for the replica's every changed field.
 */
export function realOf(plan: RecordPlan, i: number, v: number | string): number | string | boolean {
  if (typeof v === "string") return v;
  switch (plan.ty[i]) {
    case Ty.Fixed: {
      const s = plan.scale[i];
      return v / (s < 1 ? 1 : s);
    }
    case Ty.Angle: {
      const s = plan.scale[i];
      return (wrapSteps(v, s) * TAU) / (s < 2 ? 2 : s);
    }
    case Ty.Bool:
      return v !== 0;
    case Ty.Enum:
      return plan.variants[i][v] ?? String(v);
    default:
      return v;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const stringScratch = new Uint8Array(255);

/**
 * Reads one record: `values[at .. at + plan.count]` holds the entity's values at the base,
 * and holds them now when this returns. Returns whether the record's `changed` bit was set.
 * Throws {@link ChangesError}.
 */
export function readRecord(
  bits: BitReader,
  plan: RecordPlan,
  values: (number | string)[],
  at: number,
  ticks: number,
  tickRate: number,
): boolean {
  if (bits.bit() === 0) return false;
  const { count, ty, busy, narrow, wide, predict: predictBy, scale, velScale } = plan;
  for (let i = 0; i < count; i++) {
    const old = values[at + i] as number;
    switch (ty[i]) {
      case Ty.Fixed: {
        const v = predictBy[i];
        // The velocity comes earlier in the kind, so it already holds its new value.
        const ref = v < 0 ? old : predict(old, values[at + v] as number, ticks, tickRate, scale[i], velScale[i]);
        values[at + i] = readNumber(bits, busy[i], narrow[i], wide[i], ref);
        break;
      }
      case Ty.Int:
        values[at + i] = readNumber(bits, busy[i], narrow[i], wide[i], old);
        break;
      case Ty.Angle: {
        let turn = 0;
        if (bits.bit() === 1) turn = bits.signed(narrow[i]); // 1
        else if (bits.bit() === 1) turn = bits.signed(wide[i]); // 01; 00 is no turn
        values[at + i] = wrapSteps(old + turn, scale[i]);
        break;
      }
      case Ty.Bool:
        if (bits.bit() === 1) values[at + i] = 1 - (old < 0 ? 0 : old > 1 ? 1 : old);
        break;
      case Ty.Enum:
        if (bits.bit() === 1) values[at + i] = bits.unsigned(wide[i]);
        break;
      case Ty.Entity:
        if (bits.bit() === 1) values[at + i] = bits.unsigned(32);
        break;
      case Ty.String:
        if (bits.bit() === 1) {
          const n = bits.unsigned(8);
          const bytes = bits.bytesInto(n, stringScratch);
          try {
            values[at + i] = utf8.decode(bytes);
          } catch {
            throw new ChangesError("string is not UTF-8");
          }
        }
        break;
    }
  }
  return true;
}
