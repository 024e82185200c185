/**
 * The decode time per snapshot at 64 players: decode each Snapshot frame and apply it to a
 * Replica (state hash checked), over a recorded sequence of real frames, many passes, each
 * from a fresh Replica. Reports the mean microseconds per snapshot, keyframes and deltas
 * apart, and their mean size in bytes.
 *
 *     npm run bench [-- FILE] [--passes N] [--tick-rate N]
 *
 * FILE (default ../../target/sdk-bench/arena-64.bin) is a sequence of [u32 little-endian
 * length][frame], the server messages one client received in order: Joined first, then
 * Snapshots and maybe Events. Without a Joined in the file, the schema comes from --joined FILE,
 * else from the golden vector of the game the file is named after (shared/vectors/arena-joined.bin
 * for arena-64.bin). The tick rate is the Welcome's when the file has one, else 60.
 */

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath, pathToFileURL } from "node:url";
import { basename, join, resolve } from "node:path";

import { decodeServer } from "../src/messages.js";
import type { Schema } from "../src/schema.js";
import { Replica } from "../src/replica.js";

export function readFrames(bytes: Uint8Array): Uint8Array[] {
  const frames: Uint8Array[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  while (at < bytes.length) {
    if (at + 4 > bytes.length) throw new Error(`a length cut short at byte ${at}`);
    const n = view.getUint32(at, true);
    if (at + 4 + n > bytes.length) throw new Error(`a frame of ${n} bytes cut short at byte ${at}`);
    frames.push(bytes.subarray(at + 4, at + 4 + n));
    at += 4 + n;
  }
  return frames;
}

export interface BenchResult {
  players: number;
  keyframes: number;
  deltas: number;
  keyframeUs: number;
  deltaUs: number;
  keyframeBytes: number;
  deltaBytes: number;
  passes: number;
}

/** Times decode + apply of every snapshot of `frames` over `passes` passes (after a warm-up). */
export function measure(
  frames: Uint8Array[],
  options: { passes?: number; tickRate?: number; joined?: Uint8Array } = {},
): BenchResult {
  let schema: Schema | null = null;
  if (options.joined) {
    const joined = decodeServer(options.joined);
    if (joined.type === "joined") schema = joined.schema;
  }
  let tickRate = options.tickRate ?? 60;
  const snapshots: { bytes: Uint8Array; keyframe: boolean }[] = [];
  for (const bytes of frames) {
    const msg = decodeServer(bytes);
    if (msg.type === "welcome" && options.tickRate === undefined) tickRate = msg.tickRate;
    // The file's own Joined wins over --joined.
    else if (msg.type === "joined") schema = msg.schema;
    // Deltas before the first keyframe have no base to apply to.
    else if (msg.type === "snapshot" && (snapshots.length > 0 || msg.baseTick === null)) {
      snapshots.push({ bytes, keyframe: msg.baseTick === null });
    }
  }
  if (schema === null) throw new Error("no Joined frame (nor --joined FILE): nothing to read the snapshots with");
  if (snapshots.length === 0) throw new Error("no Snapshot frames");

  // One checked pass: every snapshot must apply, or the figures would time the error path.
  let players = 0;
  {
    const replica = new Replica(schema, tickRate);
    for (const [i, s] of snapshots.entries()) {
      const msg = decodeServer(s.bytes);
      if (msg.type !== "snapshot") continue;
      const result = replica.apply(msg);
      if (!result.ok) throw new Error(`snapshot ${i} (tick ${msg.tick}) does not apply: ${JSON.stringify(result.error)}`);
      players = Math.max(players, replica.size);
    }
  }

  const passes = options.passes ?? 200;
  let keyNs = 0n;
  let deltaNs = 0n;
  const run = (timed: boolean) => {
    const replica = new Replica(schema as Schema, tickRate);
    for (const s of snapshots) {
      const t0 = process.hrtime.bigint();
      const msg = decodeServer(s.bytes);
      replica.apply(msg as Parameters<Replica["apply"]>[0]);
      const t1 = process.hrtime.bigint();
      if (!timed) continue;
      if (s.keyframe) keyNs += t1 - t0;
      else deltaNs += t1 - t0;
    }
  };
  for (let i = 0; i < Math.max(10, passes / 10); i++) run(false);
  for (let i = 0; i < passes; i++) run(true);

  const keyframes = snapshots.filter((s) => s.keyframe);
  const deltas = snapshots.filter((s) => !s.keyframe);
  const mean = (list: { bytes: Uint8Array }[]) => (list.length ? list.reduce((n, s) => n + s.bytes.length, 0) / list.length : 0);
  const us = (ns: bigint, count: number) => (count ? Number(ns) / 1000 / (count * passes) : 0);
  return {
    players,
    keyframes: keyframes.length,
    deltas: deltas.length,
    keyframeUs: us(keyNs, keyframes.length),
    deltaUs: us(deltaNs, deltas.length),
    keyframeBytes: mean(keyframes),
    deltaBytes: mean(deltas),
    passes,
  };
}

export function report(r: BenchResult): string {
  return [
    `${r.keyframes} keyframes and ${r.deltas} deltas of up to ${r.players} entities, ${r.passes} passes`,
    `keyframe: ${r.keyframeUs.toFixed(2)} µs per snapshot (decode + apply + hash), ${r.keyframeBytes.toFixed(0)} bytes`,
    `delta:    ${r.deltaUs.toFixed(2)} µs per snapshot (decode + apply + hash), ${r.deltaBytes.toFixed(0)} bytes`,
  ].join("\n");
}

function main(args: string[]): number {
  let file: string | undefined;
  let joinedPath: string | undefined;
  const options: { passes?: number; tickRate?: number; joined?: Uint8Array } = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "--passes") options.passes = Number(args[++i]);
    else if (args[i] === "--joined") joinedPath = args[++i];
    else if (args[i] === "--tick-rate") options.tickRate = Number(args[++i]);
    else file = args[i];
  }
  const packageDir = join(fileURLToPath(new URL(".", import.meta.url)), "..", "..");
  const path = resolve(file ?? join(packageDir, "..", "..", "target", "sdk-bench", "arena-64.bin"));
  if (!existsSync(path)) {
    console.error(`no frames at ${path}; make them from the workspace root with:`);
    console.error("    cargo run --release -p tickwire-server --example sdk_frames -- target/sdk-bench");
    return 1;
  }
  // A file without its Joined is read with the golden vector's schema of its game (by the
  // file's name: arena-64.bin is the arena's), unless --joined names a Joined frame.
  const game = basename(path).replace(/-\d+\.bin$/, "");
  const golden = join(packageDir, "..", "..", "shared", "vectors", `${game}-joined.bin`);
  joinedPath ??= existsSync(golden) ? golden : undefined;
  if (joinedPath) options.joined = new Uint8Array(readFileSync(joinedPath));
  console.log(`${path}${joinedPath ? ` (schema: ${joinedPath} unless the file has a Joined)` : ""}`);
  console.log(report(measure(readFrames(new Uint8Array(readFileSync(path))), options)));
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = main(process.argv.slice(2));
}
