/**
 * A client's copy of the room, rebuilt from keyframes and deltas (PROTOCOL.md section 9,
 * "Applying a snapshot"; the Rust `replica.rs`), every snapshot checked against the
 * server's state hash.
 *
 * A snapshot is applied whole or not at all: changes are read into a scratch buffer, the
 * added entities and the hash are checked, and only then are the held entities updated,
 * in place. So an {@link Entity} object keeps its identity for as long as the entity
 * lives, and a snapshot that fails leaves every object as the last good one showed it.
 * After an error that drops the copy (any but a missing base) the replica holds nothing,
 * but remembers the last good entities: the next keyframe reuses their objects and reports
 * what it added, changed and removed against them, so a view built on the results stays
 * right across the gap.
 */

import { BitReader, ChangesError, readRecord, realOf, recordPlan, type RecordPlan } from "./changes.js";
import { entityHash32 } from "./hash.js";
import type { Snapshot, WireEntity } from "./messages.js";
import type { Kind, Schema } from "./schema.js";
import { realValue, type FieldValue } from "./values.js";

/**
 * An entity of the room. `F` is the shape of its fields (`arena.Player`, `shooter.Ship`,
 * or a game's own): a claim of the caller's, since the schema only arrives at run time
 * (`Room.entitiesOf` is where it is made); the default is every field by name.
 */
export interface Entity<F extends Record<string, FieldValue> = Record<string, FieldValue>> {
  id: number;
  kind: string;
  kindId: number;
  /** Real values by field name, kept up to date in place. */
  fields: F;
  /** The wire values, one per field of the kind in its order (what the hash covers). */
  wire: (number | string)[];
}

export type ReplicaError =
  | { kind: "missingBase"; base: number; held: number | null }
  | { kind: "unknownRemoved"; id: number }
  | { kind: "duplicateAdded"; id: number }
  | { kind: "badEntity"; id: number; why: string }
  | { kind: "badChanges"; why: string }
  | { kind: "hashMismatch"; server: number; rebuilt: number };

/**
 * What a snapshot did. For a delta, `added` and `removed` are its own lists and `changed`
 * the held entities whose wire values it changed. For a keyframe they are measured against
 * what was held before (or, after a dropped copy, the last good state): an entity of the
 * same id and kind is the same object, `changed` if its values differ.
 */
export type ApplyResult =
  | { ok: true; keyframe: boolean; added: Entity[]; changed: Entity[]; removed: Entity[] }
  | { ok: false; error: ReplicaError };

const I32_MIN = -0x8000_0000;
const I32_MAX = 0x7fff_ffff;
const U32_MAX = 0xffff_ffff;

/** Thrown inside `apply` and turned into its result: never escapes. */
class Refused {
  constructor(readonly error: ReplicaError) {}
}

export class Replica {
  private heldTick: number | null = null;
  /** In wire order: the order the next delta's records come in. */
  private list: Entity[] = [];
  /** `entityHash32` of `list[i]`, so that a delta rehashes only what it changed. */
  private hashes: number[] = [];
  private byId = new Map<number, Entity>();
  /** The last good entities after a dropped copy, for the next keyframe to reuse. */
  private ghosts: Entity[] = [];
  private readonly plans: RecordPlan[];
  private readonly bits = new BitReader();
  // Reused across deltas: the new values of every entity whose record is not `0`, one
  // after the other, and for each of those its index in `list`, its offset and new hash.
  private scratch: (number | string)[] = [];
  private pendingIndex: number[] = [];
  private pendingOffset: number[] = [];
  private pendingHash: number[] = [];

  constructor(
    readonly schema: Schema,
    readonly tickRate: number,
  ) {
    this.plans = schema.kinds.map(recordPlan);
  }

  /** The tick of the last applied snapshot; null before a keyframe and after a dropped copy. */
  get tick(): number | null {
    return this.heldTick;
  }

  get size(): number {
    return this.list.length;
  }

  /** The entities, in wire order. */
  entities(): Iterable<Entity> {
    return this.list;
  }

  entity(id: number): Entity | undefined {
    return this.byId.get(id);
  }

  /** Forgets everything, the last good state too (on Joined, Resumed and Leave). */
  reset(): void {
    this.drop();
    this.ghosts = [];
  }

  /** Applies a snapshot; the state hash is checked every time. */
  apply(snap: Snapshot): ApplyResult {
    try {
      return snap.baseTick === null ? this.applyKeyframe(snap) : this.applyDelta(snap, snap.baseTick);
    } catch (err) {
      if (!(err instanceof Refused)) throw err;
      if (err.error.kind !== "missingBase") this.drop();
      return { ok: false, error: err.error };
    }
  }

  private drop(): void {
    if (this.list.length > 0) this.ghosts = this.list;
    this.list = [];
    this.hashes = [];
    this.byId = new Map();
    this.heldTick = null;
  }

  private applyDelta(snap: Snapshot, base: number): ApplyResult {
    if (this.heldTick !== base || !(snap.tick > base)) {
      throw new Refused({ kind: "missingBase", base, held: this.heldTick });
    }
    const ticks = snap.tick - base;
    const list = this.list;
    let gone: Set<number> | null = null;
    if (snap.removed.length > 0) {
      gone = new Set();
      for (const id of snap.removed) {
        if (!this.byId.has(id) || gone.has(id)) throw new Refused({ kind: "unknownRemoved", id });
        gone.add(id);
      }
    }

    // Read every record into the scratch buffer; `list` is not touched yet.
    const bits = this.bits;
    bits.reset(snap.changes);
    const scratch = this.scratch;
    const pendingIndex = this.pendingIndex;
    const pendingOffset = this.pendingOffset;
    const pendingHash = this.pendingHash;
    pendingIndex.length = 0;
    pendingOffset.length = 0;
    pendingHash.length = 0;
    let offset = 0;
    try {
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        if (gone !== null && gone.has(e.id)) continue;
        const plan = this.plans[e.kindId];
        const wire = e.wire;
        for (let f = 0; f < plan.count; f++) scratch[offset + f] = wire[f];
        if (readRecord(bits, plan, scratch, offset, ticks, this.tickRate)) {
          pendingIndex.push(i);
          pendingOffset.push(offset);
          pendingHash.push(entityHash32(e.id, e.kindId, scratch, offset, plan.count));
          offset += plan.count;
        }
      }
    } catch (err) {
      if (err instanceof ChangesError) throw new Refused({ kind: "badChanges", why: err.message });
      throw err;
    }
    const used = bits.bytesUsed();
    if (used !== snap.changes.length) {
      throw new Refused({ kind: "badChanges", why: `${snap.changes.length - used} bytes left over` });
    }

    const addedHashes = this.checkAdded(snap.added, gone, true);

    let sum = 0;
    let p = 0;
    for (let i = 0; i < list.length; i++) {
      if (p < pendingIndex.length && pendingIndex[p] === i) {
        sum = (sum + pendingHash[p]) >>> 0;
        p++;
      } else if (gone === null || !gone.has(list[i].id)) {
        sum = (sum + this.hashes[i]) >>> 0;
      }
    }
    for (const h of addedHashes) sum = (sum + h) >>> 0;
    if (sum !== snap.stateHash) throw new Refused({ kind: "hashMismatch", server: snap.stateHash, rebuilt: sum });

    // Everything checked: commit.
    const changed: Entity[] = [];
    for (let k = 0; k < pendingIndex.length; k++) {
      const i = pendingIndex[k];
      if (this.update(list[i], scratch, pendingOffset[k])) changed.push(list[i]);
      this.hashes[i] = pendingHash[k];
    }
    const removed: Entity[] = [];
    if (gone !== null) {
      let kept = 0;
      for (let i = 0; i < list.length; i++) {
        const e = list[i];
        if (gone.has(e.id)) {
          removed.push(e);
          this.byId.delete(e.id);
        } else {
          list[kept] = e;
          this.hashes[kept] = this.hashes[i];
          kept++;
        }
      }
      list.length = kept;
      this.hashes.length = kept;
    }
    const added: Entity[] = [];
    for (let k = 0; k < snap.added.length; k++) {
      const e = this.create(snap.added[k]);
      list.push(e);
      this.hashes.push(addedHashes[k]);
      this.byId.set(e.id, e);
      added.push(e);
    }
    this.heldTick = snap.tick;
    return { ok: true, keyframe: false, added, changed, removed };
  }

  private applyKeyframe(snap: Snapshot): ApplyResult {
    // As the Rust: a keyframe starts from nothing, so any removed id is unknown.
    if (snap.removed.length > 0) throw new Refused({ kind: "unknownRemoved", id: snap.removed[0] });
    if (snap.changes.length > 0) {
      throw new Refused({ kind: "badChanges", why: `${snap.changes.length} bytes left over` });
    }
    const hashes = this.checkAdded(snap.added, null, false);
    let sum = 0;
    for (const h of hashes) sum = (sum + h) >>> 0;
    if (sum !== snap.stateHash) throw new Refused({ kind: "hashMismatch", server: snap.stateHash, rebuilt: sum });

    const before = this.list.length > 0 ? this.list : this.ghosts;
    const previous = this.list.length > 0 ? this.byId : new Map(before.map((e) => [e.id, e]));
    const list: Entity[] = [];
    const byId = new Map<number, Entity>();
    const added: Entity[] = [];
    const changed: Entity[] = [];
    for (const wire of snap.added) {
      const old = previous.get(wire[0] as number);
      let e: Entity;
      if (old !== undefined && old.kindId === wire[1]) {
        e = old;
        if (this.update(e, wire, 2)) changed.push(e);
      } else {
        e = this.create(wire);
        added.push(e);
      }
      list.push(e);
      byId.set(e.id, e);
    }
    const removed = before.filter((e) => byId.get(e.id) !== e);
    this.list = list;
    this.hashes = hashes;
    this.byId = byId;
    this.ghosts = [];
    this.heldTick = snap.tick;
    return { ok: true, keyframe: true, added, changed, removed };
  }

  /**
   * Checks every added entity against the schema and, for a delta (`onHeld`), against the
   * ids held less `gone`; returns their hashes.
   */
  private checkAdded(added: WireEntity[], gone: Set<number> | null, onHeld: boolean): number[] {
    const hashes: number[] = [];
    const seen = added.length > 1 ? new Set<number>() : null;
    for (const wire of added) {
      const id = wire[0] as number;
      const kind = this.schema.kinds[wire[1] as number];
      if (kind === undefined) throw new Refused({ kind: "badEntity", id, why: `no kind ${wire[1]}` });
      const why = misfit(kind, wire);
      if (why !== null) throw new Refused({ kind: "badEntity", id, why });
      const held = onHeld && this.byId.has(id) && (gone === null || gone.has(id) === false);
      if (held || (seen !== null && seen.has(id))) throw new Refused({ kind: "duplicateAdded", id });
      seen?.add(id);
      hashes.push(entityHash32(id, kind.id, wire, 2, kind.fields.length));
    }
    return hashes;
  }

  private create(wire: WireEntity): Entity {
    const kind = this.schema.kinds[wire[1] as number];
    const values = wire.slice(2);
    const fields: Record<string, FieldValue> = {};
    for (let i = 0; i < kind.fields.length; i++) fields[kind.fields[i].name] = realValue(kind.fields[i], values[i]);
    return { id: wire[0] as number, kind: kind.name, kindId: kind.id, fields, wire: values };
  }

  /** Sets `e`'s values to `from[at ..]`, field by field; returns whether any changed. */
  private update(e: Entity, from: ArrayLike<number | string>, at: number): boolean {
    const plan = this.plans[e.kindId];
    const names = plan.names;
    const wire = e.wire;
    const fields = e.fields;
    let changed = false;
    for (let i = 0; i < plan.count; i++) {
      const v = from[at + i];
      if (wire[i] !== v) {
        wire[i] = v;
        fields[names[i]] = realOf(plan, i, v);
        changed = true;
      }
    }
    return changed;
  }
}

/** Why an added entity does not fit its kind (PROTOCOL.md section 9, step 4), or null. */
function misfit(kind: Kind, wire: WireEntity): string | null {
  const fields = kind.fields;
  if (wire.length - 2 !== fields.length) {
    return `${wire.length - 2} values for the ${fields.length} fields of ${JSON.stringify(kind.name)}`;
  }
  for (let i = 0; i < fields.length; i++) {
    const f = fields[i];
    const v = wire[i + 2];
    let ok: boolean;
    if (typeof v === "string") ok = f.type === "string" && utf8Length(v) <= 255;
    else if (f.type === "string") ok = false;
    else if (f.type === "entity") ok = v >= 0 && v <= U32_MAX;
    else ok = v >= I32_MIN && v <= I32_MAX;
    if (!ok) return `field ${JSON.stringify(f.name)} holds ${JSON.stringify(v)}`;
  }
  return null;
}

function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
