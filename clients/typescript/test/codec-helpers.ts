/**
 * What the codec's tests share: hex, the golden vectors of shared/vectors/ and the schema
 * each set declares.
 */

import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";

import { decodeServer, type Snapshot } from "../src/messages.js";
import type { Schema } from "../src/schema.js";

/** The package's folder, whether run from test/ or from build/test/. */
const here = fileURLToPath(new URL(".", import.meta.url));
const packageDir = here.includes("/build/") ? join(here, "..", "..") : join(here, "..");
export const vectorsDir = join(packageDir, "..", "..", "shared", "vectors");

export function hex(text: string): Uint8Array {
  const digits = text.replace(/\s+/g, "");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(2 * i, 2 * i + 2), 16);
  return out;
}

export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function vectorFile(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(vectorsDir, name)));
}

/** Every set's description: `<game>.json`, parsed. */
export function vectorSets(): { file: string; json: any }[] {
  return readdirSync(vectorsDir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((file) => ({ file, json: JSON.parse(readFileSync(join(vectorsDir, file), "utf8")) }));
}

export interface GameVectors {
  game: any;
  schema: Schema;
  tickRate: number;
  keyframe: Snapshot;
  delta: Snapshot;
}

/** One game's schema and snapshots, decoded. */
export function gameVectors(setName: string): GameVectors {
  const set = vectorSets().find((s) => s.file === `${setName}.json`);
  if (!set) throw new Error(`no vector set ${setName}`);
  const game = set.json.games[0];
  const joined = decodeServer(vectorFile(game.joined.file));
  if (joined.type !== "joined") throw new Error("not a Joined");
  const snap = (file: string) => {
    const m = decodeServer(vectorFile(file));
    if (m.type !== "snapshot") throw new Error("not a Snapshot");
    return m;
  };
  return {
    game,
    schema: joined.schema,
    tickRate: game.tick_rate,
    keyframe: snap(game.keyframe.file),
    delta: snap(game.delta.file),
  };
}

/** A copy of a snapshot that a test may change. */
export function copySnapshot(s: Snapshot): Snapshot {
  return {
    tick: s.tick,
    baseTick: s.baseTick,
    serverTimeMs: s.serverTimeMs,
    stateHash: s.stateHash,
    ack: s.ack,
    removed: [...s.removed],
    added: s.added.map((e) => [...e]),
    changes: new Uint8Array(s.changes),
  };
}
