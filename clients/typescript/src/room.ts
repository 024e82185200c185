/**
 * A room as one client sees it: its copy of the entities (decoded by the codec's
 * `Replica`, the state hash checked on every snapshot), the events and chat of the room,
 * its roster, and the player's side of it: inputs with their sequence numbers, kept until
 * a snapshot acknowledges them, the own entity predicted through them, and the other
 * entities interpolated for drawing. A `Room` comes from `Client.join` (or `quickJoin`,
 * `create`, `watch`) and lives until it emits `leave`; the `Client` feeds it what the
 * server sends.
 */

import { Emitter } from "./emitter.js";
import { ChatRefused, TimeoutError } from "./errors.js";
import { InterpolationBuffer, type EntityView } from "./interpolation.js";
import { decodeEvent, type GameEvent, type PlayerInfo, type Snapshot } from "./messages.js";
import { reconcile, step, wrapRadians, type InputRecord, type PendingInput, type Predictor } from "./prediction.js";
import { Replica, type Entity, type ReplicaError } from "./replica.js";
import type { InputField, Schema } from "./schema.js";
import type { FieldValue } from "./values.js";

/** A chat message of the room, yours included. */
export interface ChatMessage {
  serverId: number;
  from: number;
  name: string;
  text: string;
  timeMs: number;
}

/** The server's acceptance of one of your chat messages. */
export interface ChatAck {
  id: number;
  serverId: number;
  timeMs: number;
}

/** Why a room was left: `"left"` (you left it), `"closed"` (you closed the client), or what ended it. */
export type LeaveReason = "left" | "closed" | Error;

export interface SnapshotInfo {
  tick: number;
  keyframe: boolean;
  /** The frame's size in bytes. */
  bytes: number;
}

export interface RoomStats {
  /** Snapshots applied in the last second. */
  snapshotsPerSecond: number;
  /** Bytes of every frame received for the room in the last second. */
  bytesPerSecond: number;
  /** Snapshots received in all. */
  snapshots: number;
  /** Snapshots applied in all: `keyframes + deltas`, which is `snapshots` less `skipped`, `refused` and `hashMismatches`. */
  applied: number;
  keyframes: number;
  deltas: number;
  /** Snapshots whose state hash did not match the copy they built (the copy is dropped until a keyframe). */
  hashMismatches: number;
  /** Deltas ignored because their base was not held (waiting for a keyframe). */
  skipped: number;
  /** Snapshots refused for any other reason (the copy is dropped until a keyframe). */
  refused: number;
  /** Inputs dropped unsent or unacknowledged because more than the bound were pending. */
  inputsDropped: number;
}

export type RoomEvents = {
  add(entity: Entity): void;
  change(entity: Entity): void;
  remove(entity: Entity): void;
  snapshot(info: SnapshotInfo): void;
  event(event: GameEvent, tick: number): void;
  chat(message: ChatMessage): void;
  playerJoined(player: PlayerInfo): void;
  playerLeft(player: PlayerInfo): void;
  /** A snapshot that did not apply: a hash mismatch, or a malformed one. The room waits for a keyframe. */
  desync(error: ReplicaError): void;
  error(error: Error): void;
  leave(why: LeaveReason): void;
  reconnecting(attempt: number, delayMs: number): void;
  resumed(): void;
};

/** What a room needs of its client. */
export interface RoomHost {
  readonly tickRate: number;
  readonly rttMs: number | null;
  /** Sends an input now; false when there is no connection (it is re-sent after a resume). */
  sendInput(seq: number, viewTick: number, values: (number | boolean)[], schema: Schema): boolean;
  sendChat(id: number, text: string): boolean;
  sendLeave(): void;
  /** The room has ended: the client forgets it. */
  roomEnded(room: Room): void;
}

export interface RoomOptions {
  name: string;
  schema: Schema;
  players: PlayerInfo[];
  playerId: number;
  /** Your display name, for your own line of the roster. */
  selfName: string;
  watching: boolean;
  predictor: Predictor | undefined;
  interpolationDelayMs: number;
  /** Which tick inputs claim to have shown: the newest applied, or the one `interpolated` drew. */
  viewTick: "newest" | "drawn";
  chatTimeoutMs: number;
}

interface WindowEntry {
  at: number;
  bytes: number;
  snapshot: boolean;
}

export class Room extends Emitter<RoomEvents> {
  readonly name: string;
  readonly playerId: number;
  readonly watching: boolean;
  private schemaNow: Schema;
  private replica: Replica;
  private readonly entityMap = new Map<number, Entity>();
  /** The entities of the last snapshot applied, in wire order: the replica's own list, not a copy. */
  private ordered: Iterable<Entity> = [];
  private readonly roster = new Map<number, string>();
  private readonly buffer: InterpolationBuffer;
  private pendingInputs: PendingInput[] = [];
  private lastSeq = 0;
  private lastAck = 0;
  private predicted: Record<string, FieldValue> | null = null;
  private drawn = 0;
  private nextChatId = 1;
  private lastChatServerId = 0;
  private readonly chats = new Map<number, { resolve(ack: ChatAck): void; reject(err: Error): void; timer: ReturnType<typeof setTimeout> }>();
  private window: WindowEntry[] = [];
  private counts = { snapshots: 0, keyframes: 0, deltas: 0, hashMismatches: 0, skipped: 0, refused: 0, inputsDropped: 0 };
  private ended = false;

  /** @internal Rooms are made by `Client`. */
  constructor(
    private readonly host: RoomHost,
    private readonly options: RoomOptions,
  ) {
    super();
    this.name = options.name;
    this.playerId = options.playerId;
    this.watching = options.watching;
    this.schemaNow = options.schema;
    this.replica = new Replica(options.schema, host.tickRate);
    this.buffer = new InterpolationBuffer(host.tickRate);
    this.setRoster(options.players);
  }

  /** The room's game, from the latest `Joined` or `Resumed`. */
  get schema(): Schema {
    return this.schemaNow;
  }

  /** The tick of the newest snapshot applied (0 before the first). */
  get tick(): number {
    return this.replica.tick ?? this.lastTick;
  }
  private lastTick = 0;

  /** The newest input `seq` the server has applied (0: none yet). */
  get ack(): number {
    return this.lastAck;
  }

  /** Every entity held, by id (the same objects as the callbacks get, updated in place). */
  get entities(): ReadonlyMap<number, Entity> {
    return this.entityMap;
  }

  /** Everyone in the room by player id, you included (watchers are in nobody's roster). */
  get players(): ReadonlyMap<number, string> {
    return this.roster;
  }

  /** Inputs sent and not yet acknowledged. */
  get pending(): number {
    return this.pendingInputs.length;
  }

  /** The smoothed round-trip time, from pongs; null before the first. */
  get rttMs(): number | null {
    return this.host.rttMs;
  }

  /** True until the room emits `leave`. */
  get active(): boolean {
    return !this.ended;
  }

  get stats(): RoomStats {
    const now = performance.now();
    this.prune(now);
    let snapshotsPerSecond = 0;
    let bytesPerSecond = 0;
    for (const e of this.window) {
      bytesPerSecond += e.bytes;
      if (e.snapshot) snapshotsPerSecond++;
    }
    const applied = this.counts.keyframes + this.counts.deltas;
    return { snapshotsPerSecond, bytesPerSecond, applied, ...this.counts };
  }

  /**
   * The entities of kind `kind` (by name), in wire order (the order the server lists
   * them, stable from snapshot to snapshot), with their fields typed as `F`:
   * `room.entitiesOf<shooter.Ship>("ship")`. `F` is not checked against the schema; the
   * field interfaces the SDK ships for its games are tested against the server's.
   */
  entitiesOf<F extends Record<string, FieldValue> = Record<string, FieldValue>>(kind: string): Entity<F>[] {
    const out: Entity<F>[] = [];
    for (const e of this.ordered) if (e.kind === kind) out.push(e as unknown as Entity<F>);
    return out;
  }

  /** The entities of kind `kind`: for kinds without a position, the room's state (scores, a match clock). As `entitiesOf`. */
  roomState<F extends Record<string, FieldValue> = Record<string, FieldValue>>(kind: string): Entity<F>[] {
    return this.entitiesOf<F>(kind);
  }

  /**
   * True when `own()` is predicted: a predictor was given, you play (not watch), and your
   * entity is held and of the predictor's kind. A game the predictor is not for is drawn
   * as the server says, and this says so.
   */
  get predicting(): boolean {
    const own = this.watching ? undefined : this.entityMap.get(this.playerId);
    return this.predicted !== null && own !== undefined && own.kind === this.options.predictor?.kind;
  }

  /**
   * The player's own entity (the one with the player's id) as predicted now: the server's
   * newest state with the inputs it has not applied yet stepped on top, when a predictor
   * of its kind was given (`predicting`); the server's state otherwise. `F` as for
   * `entitiesOf`.
   */
  own<F extends Record<string, FieldValue> = Record<string, FieldValue>>(): Entity<F> | undefined {
    if (this.watching) return undefined;
    const server = this.entityMap.get(this.playerId);
    if (server === undefined) return undefined;
    if (this.predicted === null || this.options.predictor?.kind !== server.kind) return server as unknown as Entity<F>;
    return { id: server.id, kind: server.kind, kindId: server.kindId, fields: this.predicted as F, wire: server.wire };
  }

  /**
   * Every entity as it was `interpolationDelayMs` behind the newest snapshot, at local
   * time `nowMs` (`performance.now()` by default): positions and other `fixed` fields
   * interpolated, angles the short way, everything else stepped. It also records the tick
   * drawn (the nearer snapshot of the two), which inputs claim as their `view_tick` under
   * `viewTick: "drawn"`: call it where you draw, once a frame.
   */
  interpolated(nowMs: number = performance.now()): EntityView[] {
    const delay = this.options.interpolationDelayMs;
    this.drawn = this.buffer.drawnTick(nowMs, delay);
    return this.buffer.sample(this.schemaNow, nowMs, delay);
  }

  /**
   * Sends an input: a record by input field name (an enum by variant name; a missing
   * field is 0, false or the first variant) or the values in schema order. Numbers are
   * kept within their field's range (an angle is wrapped), integers rounded. Returns its
   * `seq`. The input is kept until a snapshot acknowledges it, re-sent after a resume,
   * and stepped at once on the own entity's prediction.
   */
  send(input: InputRecord | (number | boolean | string)[]): number {
    if (this.ended) throw new Error(`room ${this.name} has been left`);
    if (this.watching) throw new Error(`watching room ${this.name}: a watcher sends no inputs`);
    const { values, named } = inputValues(this.schemaNow.input, input);
    const seq = ++this.lastSeq;
    const viewTick = this.options.viewTick === "drawn" && this.drawn > 0 ? this.drawn : this.tick;
    this.pendingInputs.push({ seq, values, named, viewTick });
    // About two seconds of inputs at one per tick: older ones would no longer help a
    // resume (the server has moved on) and would only make every reconciliation longer.
    const bound = Math.max(1, Math.round(2 * this.host.tickRate));
    while (this.pendingInputs.length > bound) {
      this.pendingInputs.shift();
      this.counts.inputsDropped++;
    }
    this.host.sendInput(seq, viewTick, values, this.schemaNow);
    const predictor = this.options.predictor;
    if (predictor !== undefined && this.predicted !== null) {
      this.predicted = step(predictor, this.predicted, named, this.dt);
    }
    return seq;
  }

  /** Sends a chat message; resolves with its acknowledgement, rejects with `ChatRefused` (or `TimeoutError`). */
  chat(text: string): Promise<ChatAck> {
    if (this.ended) return Promise.reject(new Error(`room ${this.name} has been left`));
    const id = this.nextChatId++;
    return new Promise<ChatAck>((resolve, reject) => {
      // A chat dropped by the connection's rate limit gets no answer at all.
      const timer = setTimeout(() => {
        this.chats.delete(id);
        reject(new TimeoutError(`chat ${id}`));
      }, this.options.chatTimeoutMs);
      this.chats.set(id, { resolve, reject, timer });
      if (!this.host.sendChat(id, text)) {
        this.settleChat(id, new Error("not connected"));
      }
    });
  }

  /** Leaves the room (no reply from the server); the room emits `leave("left")`. */
  async leave(): Promise<void> {
    if (this.ended) return;
    this.host.sendLeave();
    this.end("left");
  }

  private get dt(): number {
    return 1 / this.host.tickRate;
  }

  // ---- fed by the client ----

  /** @internal */
  handleFrame(bytes: number): void {
    const now = performance.now();
    this.window.push({ at: now, bytes, snapshot: false });
    this.prune(now);
  }

  /** @internal */
  handleSnapshot(snap: Snapshot, bytes: number): void {
    if (this.ended) return;
    const now = performance.now();
    this.window.push({ at: now, bytes, snapshot: true });
    this.counts.snapshots++;
    const result = this.replica.apply(snap);
    if (!result.ok) {
      const e = result.error;
      if (e.kind === "missingBase") {
        this.counts.skipped++;
        return;
      }
      if (e.kind === "hashMismatch") this.counts.hashMismatches++;
      else this.counts.refused++;
      this.emit("desync", e);
      return;
    }
    if (result.keyframe) this.counts.keyframes++;
    else this.counts.deltas++;
    this.lastTick = snap.tick;
    if (!this.watching && snap.ack > this.lastAck) this.lastAck = snap.ack;
    this.pendingInputs = this.pendingInputs.filter((p) => p.seq > this.lastAck);
    for (const e of result.removed) {
      if (this.entityMap.get(e.id) === e) this.entityMap.delete(e.id);
    }
    for (const e of result.added) this.entityMap.set(e.id, e);
    for (const e of result.changed) this.entityMap.set(e.id, e);
    this.ordered = this.replica.entities();
    this.reconcile();
    this.buffer.push(snap.tick, this.entityMap.values(), now);
    for (const e of result.removed) this.emit("remove", e);
    for (const e of result.added) this.emit("add", e);
    for (const e of result.changed) this.emit("change", e);
    this.emit("snapshot", { tick: snap.tick, keyframe: result.keyframe, bytes });
  }

  /** @internal */
  handleEvents(tick: number, raw: (number | string)[][]): void {
    if (this.ended) return;
    for (const r of raw) {
      let event: GameEvent;
      try {
        event = decodeEvent(this.schemaNow, r);
      } catch (err) {
        this.emit("error", err as Error);
        continue;
      }
      this.emit("event", event, tick);
    }
  }

  /** @internal */
  handlePlayerJoined(p: PlayerInfo): void {
    this.roster.set(p.id, p.name);
    this.emit("playerJoined", p);
  }

  /** @internal */
  handlePlayerLeft(p: PlayerInfo): void {
    this.roster.delete(p.id);
    this.emit("playerLeft", p);
  }

  /** @internal */
  handleChatAck(id: number, serverId: number, timeMs: number, refused: string | null): void {
    const waiting = this.chats.get(id);
    if (waiting === undefined) return;
    this.chats.delete(id);
    clearTimeout(waiting.timer);
    if (refused === null) waiting.resolve({ id, serverId, timeMs });
    else waiting.reject(new ChatRefused(refused));
  }

  /** @internal */
  handleChatMessage(m: ChatMessage): void {
    // A resume replays the room's recent history: skip what was shown already.
    if (m.serverId <= this.lastChatServerId) return;
    this.lastChatServerId = m.serverId;
    if (m.from === this.playerId && !this.watching) this.roster.set(m.from, m.name);
    this.emit("chat", m);
  }

  /** @internal An error the server answered about this room (a refused input, say). */
  handleError(err: Error): void {
    this.emit("error", err);
  }

  /** @internal The connection is lost; the client is trying to get it back. */
  handleReconnecting(attempt: number, delayMs: number, cause: Error): void {
    // A chat of the old connection may or may not have been accepted; its ack will not come.
    for (const id of [...this.chats.keys()]) this.settleChat(id, cause);
    this.emit("reconnecting", attempt, delayMs);
  }

  /**
   * @internal Back in the room on a new connection: a fresh copy from the next keyframe,
   * the roster the server gives, and every input it has not acknowledged re-sent, in
   * order, before any new one (PROTOCOL.md section 12, point 6).
   */
  handleResumed(players: PlayerInfo[], schema: Schema): void {
    this.schemaNow = schema;
    this.replica = new Replica(schema, this.host.tickRate);
    this.buffer.clear();
    this.setRoster(players);
    for (const p of this.pendingInputs) {
      this.host.sendInput(p.seq, p.viewTick, p.values, schema);
    }
    this.emit("resumed");
  }

  /** @internal The room is over: left, lost, or the client closed. */
  end(why: LeaveReason): void {
    if (this.ended) return;
    this.ended = true;
    for (const id of [...this.chats.keys()]) {
      this.settleChat(id, why instanceof Error ? why : new Error(why === "left" ? "left the room" : "client closed"));
    }
    this.host.roomEnded(this);
    this.emit("leave", why);
    this.removeAllListeners();
  }

  private settleChat(id: number, err: Error): void {
    const waiting = this.chats.get(id);
    if (waiting === undefined) return;
    this.chats.delete(id);
    clearTimeout(waiting.timer);
    waiting.reject(err);
  }

  private setRoster(players: PlayerInfo[]): void {
    this.roster.clear();
    if (!this.watching) this.roster.set(this.playerId, this.options.selfName);
    for (const p of players) this.roster.set(p.id, p.name);
  }

  private reconcile(): void {
    const predictor = this.options.predictor;
    const own = this.watching ? undefined : this.entityMap.get(this.playerId);
    if (predictor === undefined || own === undefined || own.kind !== predictor.kind) {
      this.predicted = null;
      return;
    }
    this.predicted = reconcile(predictor, own.fields, this.pendingInputs, this.lastAck, this.dt);
  }

  private prune(now: number): void {
    let drop = 0;
    while (drop < this.window.length && this.window[drop].at < now - 1000) drop++;
    if (drop > 0) this.window.splice(0, drop);
  }
}

/**
 * The values of an input in schema order, and the same by name, from a record by field
 * name or an array in schema order. Throws TypeError for a field the schema does not
 * have, an unknown enum variant, or a value of the wrong sort: the caller's mistake.
 */
export function inputValues(
  fields: readonly InputField[],
  input: InputRecord | (number | boolean | string)[],
): { values: (number | boolean)[]; named: InputRecord } {
  const byName = Array.isArray(input) ? null : input;
  if (byName !== null) {
    for (const key of Object.keys(byName)) {
      if (!fields.some((f) => f.name === key)) throw new TypeError(`the input has no field "${key}"`);
    }
  } else if (input.length !== fields.length) {
    throw new TypeError(`${(input as unknown[]).length} input values for ${fields.length} input fields`);
  }
  const values: (number | boolean)[] = [];
  const named: InputRecord = {};
  fields.forEach((f, i) => {
    const raw = byName !== null ? byName[f.name] : (input as (number | boolean | string)[])[i];
    const v = inputValue(f, raw);
    values.push(v);
    named[f.name] = f.type === "enum" ? (f.variants ?? [])[v as number] ?? (v as number) : v;
  });
  return { values, named };
}

function inputValue(f: InputField, raw: number | boolean | string | undefined): number | boolean {
  const lo = f.min ?? -Infinity;
  const hi = f.max ?? Infinity;
  const clamp = (x: number) => Math.min(Math.max(x, lo), hi);
  switch (f.type) {
    case "bool":
      if (raw === undefined) return false;
      if (typeof raw === "string") throw new TypeError(`input "${f.name}" is a bool, not ${JSON.stringify(raw)}`);
      return Boolean(raw);
    case "enum": {
      if (raw === undefined) return 0;
      const variants = f.variants ?? [];
      const at = typeof raw === "string" ? variants.indexOf(raw) : Number(raw);
      if (!Number.isInteger(at) || at < 0 || at >= Math.max(variants.length, 1)) {
        throw new TypeError(`input "${f.name}" has no variant ${JSON.stringify(raw)}`);
      }
      return at;
    }
    default: {
      if (raw === undefined) return clamp(0);
      if (typeof raw === "string") throw new TypeError(`input "${f.name}" is a number, not ${JSON.stringify(raw)}`);
      const x = Number(raw);
      if (!Number.isFinite(x)) throw new TypeError(`input "${f.name}" is ${x}`);
      if (f.type === "int") return clamp(Math.round(x));
      if (f.type === "angle") return wrapRadians(x);
      // A float bound is a float32 on the server's side (the arena's 1.01): a float64
      // exactly at it is in range, one just past it is not.
      return clamp(x);
    }
  }
}
