/**
 * The heads-up figures of a session (snapshot rate, round trip, bytes per second, hash
 * mismatches, players, room), written into a `<dl>` a few times a second: rewriting the
 * DOM every frame would cost more than drawing the world.
 */

import { formatRate } from "./dom.js";

export interface HudFigures {
  room: string;
  game: string;
  players: number;
  tick: number | null;
  snapshotsPerSecond: number;
  rttMs: number | null;
  bytesPerSecond: number;
  hashMismatches: number;
  /** Inputs not yet acknowledged (play only). */
  pending?: number;
}

const EVERY_MS = 250;

export class Hud {
  private last = -Infinity;

  constructor(private readonly list: HTMLElement) {}

  update(f: HudFigures, now: number): void {
    if (now - this.last < EVERY_MS) return;
    this.last = now;
    const rows: [string, string, boolean?][] = [
      ["room", f.room],
      ["game", f.game],
      ["players", String(f.players)],
      ["tick", f.tick === null ? "–" : String(f.tick)],
      ["snapshots", `${f.snapshotsPerSecond.toFixed(1)}/s`],
      ["rtt", f.rttMs === null ? "–" : `${f.rttMs.toFixed(1)} ms`],
      ["bytes in", formatRate(f.bytesPerSecond)],
      ["hash mismatches", String(f.hashMismatches), f.hashMismatches > 0],
    ];
    if (f.pending !== undefined) rows.push(["pending inputs", String(f.pending)]);
    this.list.replaceChildren(
      ...rows.flatMap(([k, v, bad]) => {
        const dt = document.createElement("dt");
        dt.textContent = k;
        const dd = document.createElement("dd");
        dd.textContent = v;
        if (bad) dd.className = "bad";
        return [dt, dd];
      }),
    );
  }
}
