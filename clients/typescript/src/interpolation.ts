/**
 * Interpolation of the other entities: a short buffer of recent snapshot states, each at
 * its server tick time, and a pure function that renders them at a moment between two of
 * them. Drawing the world a little behind the newest snapshot (`interpolationDelayMs`)
 * means there is nearly always a snapshot on either side of the moment drawn, so motion
 * is smooth whatever the jitter of their arrival. `fixed` fields are interpolated
 * linearly, `angle` fields the short way round, everything else steps at the later
 * snapshot; an entity exists from the first snapshot that holds it to the last.
 */

import type { Kind, Schema } from "./schema.js";
import type { FieldValue } from "./values.js";

/** An entity as drawn: what `Room.interpolated` returns (`F` as for `Entity`). */
export interface EntityView<F extends Record<string, FieldValue> = Record<string, FieldValue>> {
  id: number;
  kind: string;
  kindId: number;
  fields: F;
}

/** One snapshot's state: its tick, its time on the server's tick clock, and a copy of every entity. */
export interface Frame {
  tick: number;
  /** `tick × 1000 / tick_rate`: when the state is of, in server ms. */
  timeMs: number;
  entities: Map<number, EntityView>;
}

/** The short way from `a` to `b` (radians), at `t` of the way. */
export function lerpAngle(a: number, b: number, t: number): number {
  const tau = 2 * Math.PI;
  let d = (b - a) % tau;
  if (d > Math.PI) d -= tau;
  else if (d < -Math.PI) d += tau;
  let r = a + d * t;
  if (r > Math.PI) r -= tau;
  else if (r <= -Math.PI) r += tau;
  return r;
}

function blend(kind: Kind | undefined, a: EntityView, b: EntityView, t: number): EntityView {
  if (kind === undefined) return t < 1 ? a : b;
  const fields: Record<string, FieldValue> = {};
  for (const field of kind.fields) {
    const x = a.fields[field.name];
    const y = b.fields[field.name];
    if (typeof x === "number" && typeof y === "number" && field.type === "fixed") {
      fields[field.name] = x + (y - x) * t;
    } else if (typeof x === "number" && typeof y === "number" && field.type === "angle") {
      fields[field.name] = lerpAngle(x, y, t);
    } else {
      fields[field.name] = t < 1 ? x : y;
    }
  }
  return { id: a.id, kind: a.kind, kindId: a.kindId, fields };
}

/**
 * Every entity as it was at `timeMs` (server tick time): between the two frames around
 * it, or the nearest frame when `timeMs` is outside them. `frames` are in tick order.
 */
export function sample(schema: Schema, frames: readonly Frame[], timeMs: number): EntityView[] {
  if (frames.length === 0) return [];
  let from = frames[0];
  let to = frames[0];
  if (timeMs >= frames[frames.length - 1].timeMs) {
    from = to = frames[frames.length - 1];
  } else if (timeMs > frames[0].timeMs) {
    for (let i = 1; i < frames.length; i++) {
      if (frames[i].timeMs >= timeMs) {
        from = frames[i - 1];
        to = frames[i];
        break;
      }
    }
  }
  const span = to.timeMs - from.timeMs;
  const t = span > 0 ? Math.min(Math.max((timeMs - from.timeMs) / span, 0), 1) : 1;
  const out: EntityView[] = [];
  // An entity only in `from` is gone by `to` and shown until then; one only in `to`
  // appears once `to` is reached (t = 1); one in both is blended.
  for (const a of from.entities.values()) {
    const b = to.entities.get(a.id);
    if (b === undefined) {
      if (t < 1) out.push(a);
    } else if (b.kindId !== a.kindId) {
      out.push(t < 1 ? a : b);
    } else {
      out.push(blend(schema.kinds[a.kindId], a, b, t));
    }
  }
  if (t >= 1) {
    for (const b of to.entities.values()) if (!from.entities.has(b.id)) out.push(b);
  }
  return out;
}

/** The tick a moment is drawn from: the nearer of the two frames around it (for `view_tick`). */
export function nearestTick(frames: readonly Frame[], timeMs: number): number {
  let best = 0;
  let bestDistance = Infinity;
  for (const frame of frames) {
    const d = Math.abs(frame.timeMs - timeMs);
    if (d < bestDistance) {
      bestDistance = d;
      best = frame.tick;
    }
  }
  return best;
}

/**
 * The buffer: frames of the last `keepMs`, and the offset between the local clock and the
 * server's tick clock. The offset follows the earliest arrivals (a late snapshot is
 * jitter, an early one shows how far ahead the clock may be), and creeps back up slowly
 * so that a path that has become slower is followed.
 */
export class InterpolationBuffer {
  private frames: Frame[] = [];
  private offsetMs: number | null = null;

  constructor(
    private readonly tickRate: number,
    private readonly keepMs = 1000,
  ) {}

  get size(): number {
    return this.frames.length;
  }

  clear(): void {
    this.frames = [];
    this.offsetMs = null;
  }

  /** Adds the state of `tick`, which arrived at local time `arrivalMs`. */
  push(tick: number, entities: Iterable<EntityView>, arrivalMs: number): void {
    const timeMs = (tick * 1000) / this.tickRate;
    const copy = new Map<number, EntityView>();
    for (const e of entities) copy.set(e.id, { id: e.id, kind: e.kind, kindId: e.kindId, fields: { ...e.fields } });
    const last = this.frames[this.frames.length - 1];
    if (last !== undefined && tick <= last.tick) this.frames = [];
    this.frames.push({ tick, timeMs, entities: copy });
    while (this.frames.length > 2 && this.frames[0].timeMs < timeMs - this.keepMs) this.frames.shift();
    const offset = arrivalMs - timeMs;
    if (this.offsetMs === null || offset < this.offsetMs) this.offsetMs = offset;
    else this.offsetMs += (offset - this.offsetMs) * 0.02;
  }

  /** The server tick time drawn at local time `nowMs`, `delayMs` behind. */
  renderTime(nowMs: number, delayMs: number): number {
    return nowMs - (this.offsetMs ?? 0) - delayMs;
  }

  sample(schema: Schema, nowMs: number, delayMs: number): EntityView[] {
    return sample(schema, this.frames, this.renderTime(nowMs, delayMs));
  }

  drawnTick(nowMs: number, delayMs: number): number {
    return nearestTick(this.frames, this.renderTime(nowMs, delayMs));
  }
}
