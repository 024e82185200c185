/**
 * From entities to what is drawn: players as bodies (with name, facing, hit points),
 * bullets, and the short-lived flashes of events. The entities come from the SDK's
 * replica or its interpolated views; positions are read through the schema's `at` fields,
 * so any kind with a position is drawn whatever its fields are called.
 */

import type { GameLook } from "./games.js";

/** An entity as the SDK hands it out (a replica entity or an interpolated view). */
export interface EntityLike {
  id: number;
  kind: string;
  fields: Record<string, number | string | boolean>;
}

/** The part of a schema kind that says where its entities are. */
export interface KindLike {
  name: string;
  position?: [number, number];
  fields: { name: string }[];
}

export interface Body {
  id: number;
  x: number;
  y: number;
  /** Where it looks, radians, when the kind has a facing or an aim. */
  facing?: number;
  label?: string;
  own: boolean;
  dead: boolean;
  /** Hit points 0 to 1, when the kind has them. */
  health?: number;
  /** Marked (tag's "it"). */
  marked: boolean;
}

export interface Shot {
  x: number;
  y: number;
  owner: number;
}

export interface Flash {
  x: number;
  y: number;
  kind: string;
  /** When it started, ms on the page's clock. */
  at: number;
}

export interface Scene {
  look: GameLook;
  bodies: Body[];
  shots: Shot[];
  flashes: Flash[];
}

/** The x and y field names of each kind that has a position. */
export function positionFields(kinds: readonly KindLike[]): Map<string, [string, string]> {
  const out = new Map<string, [string, string]>();
  for (const k of kinds) {
    if (!k.position) continue;
    const [xi, yi] = k.position;
    const x = k.fields[xi]?.name;
    const y = k.fields[yi]?.name;
    if (x !== undefined && y !== undefined) out.set(k.name, [x, y]);
  }
  return out;
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

/** Where an entity is, or undefined for a kind without a position. */
export function positionOf(e: EntityLike, positions: Map<string, [string, string]>): [number, number] | undefined {
  const names = positions.get(e.kind);
  if (!names) return undefined;
  const x = num(e.fields[names[0]]);
  const y = num(e.fields[names[1]]);
  return x === undefined || y === undefined ? undefined : [x, y];
}

/** A player's entity as a body. */
export function bodyOf(
  e: EntityLike,
  at: [number, number],
  names: ReadonlyMap<number, string>,
  own: boolean,
): Body {
  const f = e.fields;
  const hp = num(f.hp);
  return {
    id: e.id,
    x: at[0],
    y: at[1],
    facing: num(f.facing) ?? num(f.aim),
    label: names.get(e.id) ?? `#${e.id}`,
    own,
    dead: f.alive === false,
    // The shooter's ships have 100 hit points; a bar is drawn only when it is known.
    health: hp === undefined ? undefined : Math.max(0, Math.min(1, hp / 100)),
    marked: f.it === true,
  };
}

/** Sorts the entities into bodies (the player kind) and shots (every other placed kind). */
export function buildScene(
  entities: Iterable<EntityLike>,
  positions: Map<string, [string, string]>,
  look: GameLook,
  names: ReadonlyMap<number, string>,
  ownId: number | null,
  flashes: Flash[],
): Scene {
  const bodies: Body[] = [];
  const shots: Shot[] = [];
  for (const e of entities) {
    const at = positionOf(e, positions);
    if (!at) continue;
    if (e.kind === look.playerKind) {
      bodies.push(bodyOf(e, at, names, e.id === ownId));
    } else {
      shots.push({ x: at[0], y: at[1], owner: num(e.fields.owner) ?? 0 });
    }
  }
  return { look, bodies, shots, flashes };
}
