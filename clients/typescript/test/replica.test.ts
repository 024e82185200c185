/**
 * The replica's rules (PROTOCOL.md section 9, "Applying a snapshot"), on snapshots made
 * from the golden vectors: a missing base keeps the copy; an unknown removed id, a
 * duplicate added one, an entity that does not fit, cut-short changes and a hash mismatch
 * drop it. A snapshot is applied whole or not at all, and entity objects keep their
 * identity. Then the 32-bit wrap of change records and predictions.
 */

import { test } from "node:test";
import assert from "node:assert/strict";

import { Replica, type ApplyResult, type ReplicaError } from "../src/replica.js";
import { parseSchema } from "../src/schema.js";
import { predict } from "../src/changes.js";
import { stateHash, entityHash32 } from "../src/hash.js";
import type { Snapshot } from "../src/messages.js";
import { copySnapshot, gameVectors } from "./codec-helpers.js";
import { BitWriter } from "./codec-synthetic.js";

const every = gameVectors("every-type");
const arena = gameVectors("arena");

function held(v = every): Replica {
  const r = new Replica(v.schema, v.tickRate);
  assert.ok(r.apply(v.keyframe).ok);
  return r;
}

function failure(result: ApplyResult): ReplicaError {
  assert.equal(result.ok, false, "the snapshot should not apply");
  return (result as { ok: false; error: ReplicaError }).error;
}

/** The hash `snap` should carry for the list `added` after a keyframe. */
function rehash(snap: Snapshot): Snapshot {
  snap.stateHash = stateHash(
    snap.added.map((e) => ({ id: e[0] as number, kindId: e[1] as number, wire: e.slice(2) })),
  );
  return snap;
}

function assertDropped(r: Replica): void {
  assert.equal(r.tick, null);
  assert.equal(r.size, 0);
}

test("a delta without its base is ignored, and the copy kept", () => {
  const fresh = new Replica(every.schema, every.tickRate);
  assert.deepEqual(failure(fresh.apply(every.delta)), { kind: "missingBase", base: 1200, held: null });
  const r = held();
  const other = copySnapshot(every.delta);
  other.baseTick = 1199;
  assert.deepEqual(failure(r.apply(other)), { kind: "missingBase", base: 1199, held: 1200 });
  const backwards = copySnapshot(every.delta);
  backwards.tick = 1200;
  assert.equal(failure(r.apply(backwards)).kind, "missingBase");
  assert.equal(r.tick, 1200);
  assert.equal(r.size, every.keyframe.added.length);
  assert.ok(r.apply(every.delta).ok, "the real delta still applies");
});

test("an unknown removed id drops the copy", () => {
  for (const removed of [[12345], [3, 3]]) {
    const r = held();
    const snap = copySnapshot(every.delta);
    snap.removed = removed;
    assert.deepEqual(failure(r.apply(snap)), { kind: "unknownRemoved", id: removed[removed.length - 1] });
    assertDropped(r);
    assert.equal(failure(r.apply(every.delta)).kind, "missingBase", "deltas are ignored until a keyframe");
  }
  const keyframe = copySnapshot(every.keyframe);
  keyframe.removed = [7];
  assert.deepEqual(failure(new Replica(every.schema, 30).apply(keyframe)), { kind: "unknownRemoved", id: 7 });
});

test("a duplicate added id drops the copy", () => {
  const twice = copySnapshot(every.keyframe);
  twice.added.push([...twice.added[0]]);
  const r = new Replica(every.schema, every.tickRate);
  assert.deepEqual(failure(r.apply(rehash(twice))), { kind: "duplicateAdded", id: 7 });
  assertDropped(r);

  const r2 = held();
  const again = copySnapshot(every.delta);
  const score = every.keyframe.added.find((e) => e[0] === 2147483649)!;
  again.added.push([...score]);
  assert.deepEqual(failure(r2.apply(again)), { kind: "duplicateAdded", id: 2147483649 });
  assertDropped(r2);
});

test("an id removed may come back in the same delta, and is a new entity", () => {
  const r = held();
  const before = r.entity(3)!;
  const snap = copySnapshot(every.delta);
  const bo = every.keyframe.added.find((e) => e[0] === 3)!;
  snap.added.push([...bo]);
  snap.stateHash = (every.delta.stateHash + entityHash32(3, bo[1] as number, bo, 2, bo.length - 2)) >>> 0;
  const result = r.apply(snap);
  assert.ok(result.ok, JSON.stringify(result));
  assert.notEqual(r.entity(3), before);
  assert.deepEqual(r.entity(3)!.wire, bo.slice(2));
});

test("an entity that does not fit the schema drops the copy", () => {
  const cases: [string, (e: (number | string)[]) => void][] = [
    ["no kind 9", (e) => (e[1] = 9)],
    ["values for the", (e) => e.pop()],
    ["holds", (e) => (e[2] = "fast")],
    ["holds", (e) => (e[11] = 5)],
    ["holds", (e) => (e[7] = 2 ** 31)],
    ["holds", (e) => (e[12] = -1)],
    ["holds", (e) => (e[11] = "é".repeat(128))],
  ];
  for (const [why, spoil] of cases) {
    const snap = copySnapshot(every.keyframe);
    spoil(snap.added[0]);
    const r = held();
    const error = failure(r.apply(rehash(snap)));
    assert.equal(error.kind, "badEntity");
    assert.equal((error as { id: number }).id, 7);
    assert.match((error as { why: string }).why, new RegExp(why));
    assertDropped(r);
  }
  // An entity id of 2^32 - 1 is one, and a value of -2^31 fits an int.
  const edge = copySnapshot(every.keyframe);
  edge.added[0][12] = 0xffff_ffff;
  edge.added[0][7] = -(2 ** 31);
  assert.ok(new Replica(every.schema, every.tickRate).apply(rehash(edge)).ok);
});

test("changes cut short, with bytes left over, or in a keyframe drop the copy", () => {
  const short = copySnapshot(every.delta);
  short.changes = short.changes.subarray(0, short.changes.length - 3);
  const r = held();
  assert.deepEqual(failure(r.apply(short)), { kind: "badChanges", why: "change records cut short" });
  assertDropped(r);

  const long = copySnapshot(every.delta);
  long.changes = new Uint8Array([...long.changes, 0]);
  assert.deepEqual(failure(held().apply(long)), { kind: "badChanges", why: "1 bytes left over" });

  const keyframe = copySnapshot(every.keyframe);
  keyframe.changes = new Uint8Array([0]);
  assert.equal(failure(new Replica(every.schema, 30).apply(keyframe)).kind, "badChanges");

  // A string in a change record that is not UTF-8: the ship's name is field 9.
  const kind = every.schema.kinds[0];
  const w = new BitWriter();
  w.bits(1, 1);
  for (const f of kind.fields) {
    if (f.type === "string") {
      w.bits(1, 1);
      w.bits(2, 8);
      w.bits(0xc3, 8);
      w.bits(0x28, 8);
    } else if (f.type === "fixed" || f.type === "int") w.bits(f.code === "busy" ? 0b00 : 0b0, f.code === "busy" ? 2 : 1);
    else if (f.type === "angle") w.bits(0b00, 2);
    else w.bits(0, 1);
  }
  const single = singleShip();
  const bad = { ...single.delta, changes: w.bytes() };
  assert.deepEqual(failure(single.replica.apply(bad)), { kind: "badChanges", why: "string is not UTF-8" });
});

/** A replica holding only ship 7 of every-type's keyframe, and an empty delta after it. */
function singleShip() {
  const keyframe = copySnapshot(every.keyframe);
  keyframe.added = [keyframe.added[0]];
  const replica = new Replica(every.schema, every.tickRate);
  assert.ok(replica.apply(rehash(keyframe)).ok);
  const delta: Snapshot = { ...copySnapshot(keyframe), tick: 1201, baseTick: 1200, added: [], changes: new Uint8Array([0]) };
  return { replica, keyframe, delta };
}

test("a hash mismatch drops the copy and leaves every entity object as it was", () => {
  const r = held();
  const ship = r.entity(7)!;
  const wire = [...ship.wire];
  const fields = { ...ship.fields };
  const snap = copySnapshot(every.delta);
  snap.stateHash = (snap.stateHash ^ 1) >>> 0;
  assert.deepEqual(failure(r.apply(snap)), { kind: "hashMismatch", server: snap.stateHash, rebuilt: every.delta.stateHash });
  assertDropped(r);
  assert.deepEqual(ship.wire, wire);
  assert.deepEqual(ship.fields, fields);

  // The next keyframe takes the same objects back, measured against the last good state.
  const result = r.apply(every.keyframe);
  assert.ok(result.ok);
  assert.equal(r.entity(7), ship);
  assert.deepEqual(result.added, []);
  assert.deepEqual(result.removed, []);
  assert.deepEqual(result.changed, []);
});

test("entities keep their identity and are updated in place, real values by name", () => {
  const r = held();
  const ship = r.entity(7)!;
  const bullet = r.entity(2147483648)!;
  assert.deepEqual(ship.fields, {
    vx: 200,
    vy: 0,
    x: 1000,
    y: 512.5,
    aim: (510 * 2 * Math.PI) / 1024,
    hp: 100,
    score: 0,
    alive: true,
    team: every.schema.kinds[0].fields[8].variants[0],
    name: "ana",
    target: 3,
  });
  const result = r.apply(every.delta);
  assert.ok(result.ok);
  assert.equal(r.entity(7), ship);
  assert.equal(ship.fields.x, 1021.03);
  assert.equal(ship.fields.alive, false);
  assert.equal(ship.fields.name, "ana-marie");
  assert.equal(ship.fields.team, every.schema.kinds[0].fields[8].variants[2]);
  assert.ok(result.changed.includes(ship) && result.changed.includes(bullet));
  assert.ok(!result.changed.some((e) => e.id === 2147483649), "an unchanged score is not changed");
  assert.deepEqual(
    result.removed.map((e) => e.id),
    [3, 2147483650],
  );

  // A keyframe of the same state changes nothing and keeps every object.
  const again = held(arena);
  const ana = again.entity(7)!;
  const k = again.apply({ ...copySnapshot(arena.keyframe), tick: 1300 });
  assert.ok(k.ok && k.keyframe);
  assert.equal(again.entity(7), ana);
  assert.deepEqual([k.added, k.changed, k.removed], [[], [], []]);
  // A keyframe with fewer entities removes the others.
  const fewer = { ...copySnapshot(arena.keyframe), tick: 1301 };
  fewer.added = [fewer.added[0]];
  const f = again.apply(rehash(fewer));
  assert.ok(f.ok);
  assert.deepEqual(
    f.removed.map((e) => e.id),
    [3],
  );
});

// A made-up kind for the wrap: an int, and a position predicted by a velocity.
const wrapSchema = parseSchema([
  "wrap",
  [],
  [
    [
      "thing",
      null,
      [
        ["n", "int", 0, -(2 ** 31), 2 ** 31 - 1, "steady", 4, 8, null, []],
        ["v", "fixed", 1, 0, 0, "busy", 6, 16, null, []],
        ["p", "fixed", 100, 0, 0, "steady", 4, 10, 1, []],
      ],
    ],
  ],
  [],
]);

const i32 = (n: number) => Number(BigInt.asIntN(32, BigInt(n)));

function wrapDelta(base: number[], bits: BitWriter, want: number[], ticks = 1): void {
  const r = new Replica(wrapSchema, 60);
  const wire = [1, 0, ...base];
  assert.ok(r.apply({ tick: 10, baseTick: null, serverTimeMs: 0, stateHash: entityHash32(1, 0, wire, 2, 3), ack: 0, removed: [], added: [wire], changes: new Uint8Array(0) }).ok);
  const result = r.apply({ tick: 10 + ticks, baseTick: 10, serverTimeMs: 0, stateHash: entityHash32(1, 0, want, 0, 3), ack: 0, removed: [], added: [], changes: bits.bytes() });
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(r.entity(1)!.wire, want);
}

test("numbers of a change record wrap to 32 bits, as the Rust reads them", () => {
  // n: +1 on 2^31 - 1 (10 + 4-bit 1); v: the same (00); p: the same (0).
  let w = new BitWriter();
  w.bits(1, 1);
  w.bits(0b10, 2);
  w.signed(1, 4);
  w.bits(0b00, 2);
  w.bits(0, 1);
  wrapDelta([2 ** 31 - 1, 0, 0], w, [-(2 ** 31), 0, 0]);

  // p predicted past 2^31 - 1 at 30000 units/s, sent as "same": it wraps.
  w = new BitWriter();
  w.bits(1, 1);
  w.bits(0, 1);
  w.bits(0b00, 2);
  w.bits(0, 1);
  const p = 2 ** 31 - 100;
  wrapDelta([0, 30000, p], w, [0, 30000, i32(p + 50000)]);

  // A 32-bit value (111) is taken as it is.
  w = new BitWriter();
  w.bits(1, 1);
  w.bits(0b111, 3);
  w.signed(-5, 32);
  w.bits(0b00, 2);
  w.bits(0b110, 3);
  w.signed(-300, 10);
  wrapDelta([7, 0, -(2 ** 31) + 100], w, [-5, 0, i32(-(2 ** 31) + 100 - 300)]);
});

test("predictions round halves up, and wrap in 64 bits for hostile values", () => {
  // PROTOCOL.md's examples.
  assert.equal(predict(100000, 20, 1, 60, 100, 1), 100033);
  assert.equal(predict(51250, -15, 1, 60, 100, 1), 51225);
  assert.equal(predict(100000, 20, 2, 60, 100, 1), 100067);
  assert.equal(predict(0, 300, 1, 60, 100, 1), 500);
  assert.equal(predict(0, 3, 1, 600, 100, 1), 1);
  assert.equal(predict(0, -3, 1, 600, 100, 1), 0);
  assert.equal(predict(0, 30, 1, 60, 100, 10), 5);

  // The Rust's wrapping arithmetic, in BigInt, against the fast path's low 32 bits.
  const reference = (base: number, vel: number, ticks: bigint, rate: number, ps: number, vs: number) => {
    const w = (n: bigint) => BigInt.asIntN(64, n);
    const t = ticks > (1n << 63n) - 1n ? (1n << 63n) - 1n : ticks;
    const a = w(w(BigInt(vel) * BigInt(ps)) * t);
    const b = BigInt(Math.max(vs, 1) * Math.max(rate, 1));
    const num = w(w(a * 2n) + b);
    let q = num / (2n * b);
    if (num % (2n * b) < 0n) q -= 1n;
    return Number(BigInt.asIntN(32, w(BigInt(base) + q)));
  };
  const cases: [number, number, number, number, number, number][] = [
    [2 ** 31 - 1, 2 ** 31 - 1, 2 ** 40, 1, 2 ** 32 - 1, 1],
    [-(2 ** 31), -(2 ** 31), 2 ** 52, 60, 4000000000, 3],
    [12345, -777777, 1e15, 7, 65535, 0],
    [0, 1, 2 ** 53, 0, 1, 0],
  ];
  for (const [base, vel, ticks, rate, ps, vs] of cases) {
    assert.equal(i32(predict(base, vel, ticks, rate, ps, vs)), reference(base, vel, BigInt(ticks), rate, ps, vs), `${[base, vel, ticks]}`);
  }
  // Many random ones on the fast path and off it.
  let s = 1;
  const rnd = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0), s);
  for (let i = 0; i < 2000; i++) {
    const base = rnd() | 0;
    const vel = rnd() | 0;
    const ticks = i % 2 ? rnd() % 1000 : rnd() * 4096;
    const rate = rnd() % 65536;
    const ps = i % 3 ? rnd() % 1000 : rnd();
    const vs = rnd() % 100000;
    assert.equal(i32(predict(base, vel, ticks, rate, ps, vs)), reference(base, vel, BigInt(ticks), rate, ps, vs));
  }
});
