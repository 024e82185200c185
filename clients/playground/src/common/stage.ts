/**
 * The loop a play or watch page runs once in a room: each animation frame, the world as
 * the SDK has it now (own player predicted, everyone else interpolated) is drawn, and the
 * HUD, side panel and test hook are brought up to date.
 */

import type { Room } from "@tickwire/client";
import { drawScene } from "./draw.js";
import { byId, fitCanvas } from "./dom.js";
import { EventLog } from "./events.js";
import { guessedLook, type GameLook } from "./games.js";
import type { SessionHook } from "./hook.js";
import { Hud } from "./hud.js";
import { gameLook } from "./looks.js";
import { renderState, stateKinds, type TableKind } from "./roomstate.js";
import { buildScene, positionFields, positionOf, type EntityLike } from "./scene.js";
import type { Fit } from "./view.js";

/** A frame is drawn from a timer too when animation frames stop (a hidden tab). */
const FALLBACK_MS = 250;
const PANEL_MS = 250;

export class Stage {
  /** The last frame's world-to-screen fit, for aiming with the mouse. */
  fit: Fit | null = null;
  /** The own player's position as last drawn. */
  ownAt: [number, number] | null = null;
  readonly events: EventLog;
  private readonly positions: Map<string, [string, string]>;
  private readonly tables: TableKind[];
  private readonly hud: Hud;
  private readonly ctx: CanvasRenderingContext2D;
  private lastFrame = -Infinity;
  private lastPanel = -Infinity;

  constructor(
    private readonly room: Room,
    private readonly canvas: HTMLCanvasElement,
    private readonly hook: SessionHook,
    /** Draw the own player from `room.own()` (play) rather than as the others (watch). */
    private readonly predictOwn: boolean,
  ) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("this browser has no canvas 2D");
    this.ctx = ctx;
    this.positions = positionFields(room.schema.kinds);
    this.tables = stateKinds(room.schema.kinds);
    this.hud = new Hud(byId("hud"));
    this.events = new EventLog(
      () => room.players,
      (id) => {
        const e = room.entities.get(id);
        return e ? positionOf(e, this.positions) : undefined;
      },
    );
    room.on("event", (e) => this.events.take(e, performance.now()));
    hook.game = room.schema.game;
    hook.room = room.name;
    hook.playerId = room.watching ? null : room.playerId;
  }

  start(): void {
    const loop = (now: number) => {
      this.frame(now);
      requestAnimationFrame(loop);
    };
    requestAnimationFrame(loop);
    setInterval(() => {
      const now = performance.now();
      if (now - this.lastFrame > FALLBACK_MS) this.frame(now);
    }, FALLBACK_MS);
  }

  private look(entities: EntityLike[]): GameLook {
    const known = gameLook(this.room.schema.game);
    if (known) return known;
    const placed = this.room.schema.kinds.find((k) => k.position);
    const spots: [number, number][] = [];
    for (const e of entities) {
      const at = positionOf(e, this.positions);
      if (at) spots.push(at);
    }
    return guessedLook(spots, placed?.name ?? "");
  }

  private frame(now: number): void {
    this.lastFrame = now;
    const room = this.room;
    const ownId = this.predictOwn ? room.playerId : null;
    let entities: EntityLike[] = [...room.interpolated(now)];
    const own = this.predictOwn ? room.own() : undefined;
    if (ownId !== null) {
      entities = entities.filter((e) => e.id !== ownId);
      if (own) entities.push(own);
    }
    const look = this.look(entities);
    this.events.prune(now);
    const scene = buildScene(entities, this.positions, look, room.players, ownId, this.events.flashes);
    const { width, height } = fitCanvas(this.canvas);
    const { fit, drawn } = drawScene(this.ctx, width, height, scene, now);
    this.fit = fit;
    const ownBody = scene.bodies.find((b) => b.own);
    this.ownAt = ownBody ? [ownBody.x, ownBody.y] : null;

    const stats = room.stats;
    const hook = this.hook;
    hook.frames++;
    hook.drawn = drawn;
    hook.own = ownBody ? { x: ownBody.x, y: ownBody.y } : null;
    const confirmed = ownId !== null ? room.entities.get(ownId) : undefined;
    const at = confirmed ? positionOf(confirmed, this.positions) : undefined;
    hook.confirmed = at ? { x: at[0], y: at[1] } : null;
    hook.others = scene.bodies.filter((b) => !b.own).map((b) => ({ id: b.id, x: b.x, y: b.y, name: b.label }));
    hook.shots = scene.shots.length;
    // Received less those not applied: skipped for a missing base, refused, or mismatched.
    hook.snapshotsApplied = stats.snapshots - stats.skipped - stats.refused - stats.hashMismatches;
    hook.hashMismatches = stats.hashMismatches;
    hook.events = this.events.count;
    hook.ready = hook.status === "in room" && stats.snapshots > 0;

    this.hud.update(
      {
        room: room.name,
        game: room.schema.game,
        players: room.players.size,
        tick: room.tick,
        snapshotsPerSecond: stats.snapshotsPerSecond,
        rttMs: room.rttMs,
        bytesPerSecond: stats.bytesPerSecond,
        hashMismatches: stats.hashMismatches,
        ...(this.predictOwn ? { pending: room.pending } : {}),
      },
      now,
    );
    if (now - this.lastPanel >= PANEL_MS) {
      this.lastPanel = now;
      renderState(byId("state"), this.tables, (kind) => room.roomState(kind), room.players);
      byId("feed").replaceChildren(
        ...this.events.feed.map((line) => {
          const li = document.createElement("li");
          li.textContent = line;
          return li;
        }),
      );
    }
  }
}
