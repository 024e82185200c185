/**
 * A game's events on screen: a flash where a hit landed or a ship went down, and a short
 * feed of what happened ("ana hit bo for 25"). Events carry player ids; the names come
 * from the room's roster when the line is written, as a player who left has no name later.
 */

import type { Flash } from "./scene.js";
import { FLASH_MS } from "./draw.js";

/** An event as the SDK decodes it. */
export interface EventLike {
  kind: string;
  fields: Record<string, number | string | boolean>;
}

/** Lines kept in the feed. */
const FEED_LINES = 6;

export class EventLog {
  readonly flashes: Flash[] = [];
  readonly feed: string[] = [];
  /** Every event seen, for the test hook. */
  count = 0;

  constructor(
    private readonly names: () => ReadonlyMap<number, string>,
    private readonly where: (player: number) => [number, number] | undefined,
  ) {}

  take(e: EventLike, now: number): void {
    this.count++;
    const f = e.fields;
    const name = (v: unknown) => (typeof v === "number" ? (this.names().get(v) ?? `#${v}`) : "?");
    let line: string;
    switch (e.kind) {
      case "hit":
        line = `${name(f.shooter)} hit ${name(f.target)} for ${String(f.damage)}`;
        if (typeof f.x === "number" && typeof f.y === "number") this.flash(f.x, f.y, "hit", now);
        break;
      case "kill": {
        line = `${name(f.killer)} destroyed ${name(f.victim)}`;
        const at = typeof f.victim === "number" ? this.where(f.victim) : undefined;
        if (at) this.flash(at[0], at[1], "kill", now);
        break;
      }
      case "respawn":
        line = `${name(f.player)} is back`;
        break;
      default:
        line = `${e.kind} ${Object.entries(f).map(([k, v]) => `${k}=${String(v)}`).join(" ")}`;
    }
    this.feed.unshift(line);
    this.feed.length = Math.min(this.feed.length, FEED_LINES);
  }

  /** Forgets flashes that are over, so the list does not grow through a long match. */
  prune(now: number): void {
    let keep = 0;
    for (const f of this.flashes) if (now - f.at <= FLASH_MS) this.flashes[keep++] = f;
    this.flashes.length = keep;
  }

  private flash(x: number, y: number, kind: string, now: number): void {
    this.flashes.push({ x, y, kind, at: now });
  }
}
