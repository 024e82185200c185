/**
 * A server's side of snapshots, for tests and for the bench before real frames exist: a
 * change-record writer (the inverse of src/changes.ts, written from PROTOCOL.md section 9)
 * and a synthetic arena room of any number of players walking about.
 */

import { Writer } from "../src/msgpack.js";
import type { Kind, Schema } from "../src/schema.js";
import { entityHash32 } from "../src/hash.js";
import { predict } from "../src/changes.js";
import { wrapAngle } from "../src/values.js";

export class BitWriter {
  private out: number[] = [];
  private acc = 0;
  private used = 0;

  bits(value: number, n: number): void {
    for (let i = n - 1; i >= 0; i--) {
      const bit = Math.floor(value / 2 ** i) % 2;
      this.acc = (this.acc << 1) | bit;
      if (++this.used === 8) {
        this.out.push(this.acc);
        this.acc = 0;
        this.used = 0;
      }
    }
  }

  signed(value: number, n: number): void {
    this.bits(value < 0 ? value + 2 ** n : value, n);
  }

  bytes(): Uint8Array {
    const tail = this.used > 0 ? [this.acc << (8 - this.used)] : [];
    return new Uint8Array([...this.out, ...tail]);
  }
}

const STEADY: [number, number][] = [
  [0b0, 1],
  [0b10, 2],
  [0b110, 3],
  [0b111, 3],
];
const BUSY: [number, number][] = [
  [0b00, 2],
  [0b1, 1],
  [0b010, 3],
  [0b011, 3],
];

const fits = (d: number, n: number) => d >= -(2 ** (n - 1)) && d < 2 ** (n - 1);

function writeNumber(w: BitWriter, table: [number, number][], narrow: number, wide: number, ref: number, now: number) {
  const d = now - ref;
  const prefix = (i: number) => w.bits(table[i][0], table[i][1]);
  if (d === 0) prefix(0);
  else if (fits(d, narrow)) {
    prefix(1);
    w.signed(d, narrow);
  } else if (fits(d, wide)) {
    prefix(2);
    w.signed(d, wide);
  } else {
    prefix(3);
    w.signed(now, 32);
  }
}

/** Writes the record of an entity of `kind` that was `base` and is `now`. */
export function writeRecord(w: BitWriter, kind: Kind, base: (number | string)[], now: (number | string)[], ticks: number, tickRate: number): void {
  if (base.every((v, i) => v === now[i])) return w.bits(0, 1);
  w.bits(1, 1);
  kind.fields.forEach((f, i) => {
    const was = base[i];
    const is = now[i];
    const table = f.code === "busy" ? BUSY : STEADY;
    switch (f.type) {
      case "fixed": {
        const v = f.predictedBy;
        const ref =
          v === null ? (was as number) : predict(was as number, now[v] as number, ticks, tickRate, f.scale, kind.fields[v].scale);
        return writeNumber(w, table, f.narrow, f.wide, ref, is as number);
      }
      case "int":
        return writeNumber(w, table, f.narrow, f.wide, was as number, is as number);
      case "angle": {
        const half = f.scale / 2;
        let turn = ((is as number) - (was as number) + half) % f.scale;
        if (turn < 0) turn += f.scale;
        turn -= half;
        if (turn === 0) return w.bits(0b00, 2);
        if (fits(turn, f.narrow)) {
          w.bits(1, 1);
          return w.signed(turn, f.narrow);
        }
        w.bits(0b01, 2);
        return w.signed(turn, f.wide);
      }
      case "bool":
        return w.bits(was === is ? 0 : 1, 1);
      case "enum":
      case "entity":
        w.bits(was === is ? 0 : 1, 1);
        if (was !== is) w.bits(is as number, f.type === "enum" ? f.wide : 32);
        return;
      case "string": {
        w.bits(was === is ? 0 : 1, 1);
        if (was !== is) {
          const bytes = new TextEncoder().encode(is as string);
          w.bits(bytes.length, 8);
          for (const b of bytes) w.bits(b, 8);
        }
        return;
      }
    }
  });
}

export interface WorldEntity {
  id: number;
  kind: number;
  values: (number | string)[];
}

/** A whole Snapshot frame, as the server writes it. */
export function snapshotFrame(s: {
  tick: number;
  baseTick: number | null;
  serverTimeMs: number;
  stateHash: number;
  ack: number;
  removed: number[];
  added: WorldEntity[];
  changes: Uint8Array;
}): Uint8Array {
  const w = new Writer();
  w.arrayHeader(2);
  w.int(2);
  w.arrayHeader(8);
  w.int(s.tick);
  if (s.baseTick === null) w.nil();
  else w.int(s.baseTick);
  w.int(s.serverTimeMs);
  w.int(s.stateHash);
  w.int(s.ack);
  w.arrayHeader(s.removed.length);
  for (const id of s.removed) w.int(id);
  w.arrayHeader(s.added.length);
  for (const e of s.added) {
    w.arrayHeader(2 + e.values.length);
    w.int(e.id);
    w.int(e.kind);
    for (const v of e.values) {
      if (typeof v === "string") w.str(v);
      else w.int(v);
    }
  }
  w.bin(s.changes);
  return w.bytes();
}

export function worldHash(entities: WorldEntity[]): number {
  let sum = 0;
  for (const e of entities) sum = (sum + entityHash32(e.id, e.kind, e.values, 0, e.values.length)) >>> 0;
  return sum;
}

/** A deterministic pseudo-random source, so that every run builds the same room. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/**
 * `snapshots` frames of an arena room (`schema` is the arena's) with `players` walking
 * about: a keyframe, then deltas, a keyframe every `keyframeEvery`; each player turns its
 * stick a little each tick, so most records are the 24 to 34 bits of PROTOCOL.md.
 */
export function syntheticArena(schema: Schema, players: number, snapshots: number, keyframeEvery = 60, tickRate = 60): Uint8Array[] {
  const kind = schema.kinds[0];
  const rnd = random(players * 7919 + snapshots);
  let world: WorldEntity[] = [];
  for (let i = 0; i < players; i++) {
    world.push({ id: i + 1, kind: 0, values: [0, 0, Math.floor(rnd() * 200000), Math.floor(rnd() * 200000), 0] });
  }
  const frames: Uint8Array[] = [];
  let tick = 1000;
  for (let n = 0; n < snapshots; n++) {
    const next = world.map((e) => {
      const [vx, vy, x, y, facing] = e.values as number[];
      const nvx = Math.max(-300, Math.min(300, vx + Math.round((rnd() - 0.5) * 40)));
      const nvy = Math.max(-300, Math.min(300, vy + Math.round((rnd() - 0.5) * 40)));
      const px = predict(x, nvx, 1, tickRate, 100, 1) + Math.round((rnd() - 0.5) * 6);
      const py = predict(y, nvy, 1, tickRate, 100, 1) + Math.round((rnd() - 0.5) * 6);
      const nf = wrapAngle(facing + Math.round((rnd() - 0.5) * 20), 1024);
      return { id: e.id, kind: 0, values: [nvx, nvy, px, py, nf] };
    });
    tick += 1;
    const keyframe = n % keyframeEvery === 0;
    const changes = new BitWriter();
    if (!keyframe) for (let i = 0; i < world.length; i++) writeRecord(changes, kind, world[i].values, next[i].values, 1, tickRate);
    frames.push(
      snapshotFrame({
        tick,
        baseTick: keyframe ? null : tick - 1,
        serverTimeMs: 1_700_000_000_000 + tick * 16,
        stateHash: worldHash(next),
        ack: n,
        removed: [],
        added: keyframe ? next : [],
        changes: keyframe ? new Uint8Array(0) : changes.bytes(),
      }),
    );
    world = next;
  }
  return frames;
}
