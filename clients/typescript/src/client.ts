/**
 * The session with one Tickwire server: connect and greet (`Hello`, `Welcome`), enter a
 * room (join by name, quick-join, create, watch), keep the round-trip time, and when the
 * connection is lost without anybody meaning it, reconnect with backoff and `Resume` the
 * same player in the same room. Every server message is routed here to the request that
 * waits for it or to the current `Room`.
 */

import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.js";
import { Connection, withToken, type WebSocketClass, type WebSocketLike } from "./connection.js";
import { Emitter } from "./emitter.js";
import { CloseError, ConnectError, ErrorCode, ServerError, TimeoutError } from "./errors.js";
import { CLIENT_TYPE, PROTOCOL_VERSION, type ClientMessage, type PlayerInfo, type ServerMessage } from "./messages.js";
import type { Predictor } from "./prediction.js";
import { Room } from "./room.js";
import type { Schema } from "./schema.js";

export interface ClientOptions {
  /** The display name sent in `Hello` (with authentication the token's name is used instead). */
  name?: string;
  /** A token for a server that requires one, sent as `?token=` in the URL. */
  token?: string;
  /** The WebSocket class: the global one in browsers; in Node, `ws`'s `WebSocket`. */
  WebSocket?: WebSocketClass | (new (url: string) => WebSocket);
  /** Reconnect after a lost connection; `false` never does. */
  reconnect?: Partial<BackoffOptions> | false;
  /** How often to ping for the round-trip time; 0 never does. */
  pingIntervalMs?: number;
  /** How far behind the newest snapshot `Room.interpolated` draws. */
  interpolationDelayMs?: number;
  /** The own entity's predictor (`arena.predictor`, `shooter.predictor`, ...). */
  predictor?: Predictor;
  /**
   * Which tick an input's `view_tick` claims: the newest snapshot applied (the default),
   * or the tick `Room.interpolated` last drew, for a game that compensates lag and a
   * client that draws the others interpolated.
   */
  viewTick?: "newest" | "drawn";
  /** How long a request (connect, join, a chat's ack) may wait for its answer. */
  requestTimeoutMs?: number;
  /** The random source of the reconnect jitter (tests make it fixed). */
  random?: () => number;
}

/** What `connect` resolves with: the `Welcome`, which a resume does not repeat. */
export interface Welcome {
  playerId: number;
  userId: string;
  tickRate: number;
}

export interface CreateOptions {
  private?: boolean;
  key?: string | null;
  capacity?: number | null;
}

/**
 * The connection as a page shows it: `"connecting"` until greeted (and before `connect()`),
 * `"open"` while greeted on an open connection (`connected`), `"reconnecting"` while a
 * lost connection is being got back, `"closed"` once the session is over or a `connect()`
 * failed (which may be called again).
 */
export type ConnectionState = "connecting" | "open" | "reconnecting" | "closed";

export type ClientEvents = {
  /** `state` changed to this (read `Client.state` for where it is now, so a late subscriber misses nothing). */
  state(state: ConnectionState): void;
  /** The connection is lost; attempt `attempt` (from 1) follows in `delayMs`. */
  reconnecting(attempt: number, delayMs: number): void;
  /** Back on a new connection, the same player. */
  resumed(): void;
  /** The resume was refused: the client is greeted again as a new player (a new `playerId`). */
  reset(error: ServerError): void;
  /** The session is over (the connection ended and will not be resumed); null when you closed it. */
  close(error: Error | null): void;
  /** A pong came: the smoothed round-trip time and this sample, in ms. */
  rtt(smoothedMs: number, sampleMs: number): void;
  /** A server error that answers no request of yours, or a frame that could not be read. */
  error(error: Error): void;
};

type Phase = "idle" | "connecting" | "greeted" | "reconnecting" | "closed";

/** The public state of each phase: the phases tell apart what only the client needs to know. */
const STATE_OF: Record<Phase, ConnectionState> = {
  idle: "closed",
  connecting: "connecting",
  greeted: "open",
  reconnecting: "reconnecting",
  closed: "closed",
};

interface Waiter<T> {
  /** The client message type the server's Error names in `in_reply_to` when it refuses. */
  replyTo: number;
  resolve(value: T): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

const RTT_GAIN = 0.125;

export class Client extends Emitter<ClientEvents> {
  private readonly url: string;
  private readonly Ws: WebSocketClass;
  private readonly opts: Required<Omit<ClientOptions, "token" | "WebSocket" | "predictor" | "reconnect">> & {
    predictor: Predictor | undefined;
    reconnect: BackoffOptions | null;
  };
  private phase: Phase = "idle";
  // Not derived from `phase` on read: before the first `connect()` it is "connecting".
  private stateNow: ConnectionState = "connecting";
  private conn: Connection | null = null;
  private cancelOpen: (() => void) | null = null;
  private welcome: Welcome | null = null;
  private token: string | null = null;
  private current: Room | null = null;
  private greeting: Waiter<Welcome> | null = null;
  private entering: (Waiter<Room> & { watching: boolean }) | null = null;
  private resuming: { resolve(outcome: "resumed" | "refused" | "lost"): void } | null = null;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private sleepTimer: { timer: ReturnType<typeof setTimeout>; wake(): void } | null = null;
  private rtt: number | null = null;

  constructor(url: string, options: ClientOptions = {}) {
    super();
    this.url = withToken(url, options.token);
    const Ws = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketClass }).WebSocket;
    if (Ws === undefined) {
      throw new TypeError("no WebSocket class: pass the `ws` package's WebSocket as the WebSocket option");
    }
    this.Ws = Ws as WebSocketClass;
    this.opts = {
      name: options.name ?? "player",
      pingIntervalMs: options.pingIntervalMs ?? 1000,
      interpolationDelayMs: options.interpolationDelayMs ?? 100,
      predictor: options.predictor,
      viewTick: options.viewTick ?? "newest",
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      random: options.random ?? Math.random,
      reconnect: options.reconnect === false ? null : { ...DEFAULT_BACKOFF, ...options.reconnect },
    };
  }

  /** Your player id (the own entity's id), from the `Welcome`; 0 before it. */
  get playerId(): number {
    return this.welcome?.playerId ?? 0;
  }

  get userId(): string | null {
    return this.welcome?.userId ?? null;
  }

  get tickRate(): number {
    return this.welcome?.tickRate ?? 60;
  }

  /** The room you are in, if any. */
  get room(): Room | null {
    return this.current;
  }

  /** The smoothed round-trip time from pongs, in ms; null before the first. */
  get rttMs(): number | null {
    return this.rtt;
  }

  /** Where the connection is; every change is emitted as `state`. */
  get state(): ConnectionState {
    return this.stateNow;
  }

  /** True while greeted on an open connection. */
  get connected(): boolean {
    return this.phase === "greeted" && this.conn !== null;
  }

  /** The current WebSocket, for diagnostics (and for tests that cut it); null when there is none. */
  get socket(): WebSocketLike | null {
    return this.conn?.socket ?? null;
  }

  /** Opens the connection and says `Hello`. Rejects with `ConnectError`, `ServerError` or `CloseError`. */
  async connect(): Promise<Welcome> {
    if (this.phase !== "idle") throw new Error(`connect() while ${this.phase}`);
    this.setPhase("connecting");
    let conn: Connection;
    try {
      conn = await this.open();
    } catch (err) {
      // Read afresh: close() may have changed the phase while the socket opened.
      if (this.currentPhase() === "connecting") this.setPhase("idle");
      throw err;
    }
    if (this.currentPhase() !== "connecting") {
      conn.close();
      throw new Error("the client was closed while connecting");
    }
    this.conn = conn;
    const welcome = await this.hello();
    this.setPhase("greeted");
    this.startPings();
    return welcome;
  }

  /** Joins the room named `room` (opened, public, if nobody has that name), or a private one with its `key`. */
  join(room: string, options: { key?: string | null } = {}): Promise<Room> {
    return this.enter({ type: "join", room, key: options.key ?? null }, false);
  }

  /** Joins the fullest public room with space, or a new one; the room's name is `Room.name`. */
  quickJoin(): Promise<Room> {
    return this.enter({ type: "join", room: null, key: null }, false);
  }

  /** Opens a new room and joins it: private with a `key` for others to join with, and at most `capacity` players. */
  create(room: string, options: CreateOptions = {}): Promise<Room> {
    return this.enter(
      {
        type: "create",
        room,
        private: options.private ?? false,
        key: options.key ?? null,
        capacity: options.capacity ?? null,
      },
      false,
    );
  }

  /** Watches a room without a seat: snapshots of the whole room, no inputs, not in the roster. */
  watch(room: string, options: { key?: string | null } = {}): Promise<Room> {
    return this.enter({ type: "watch", room, key: options.key ?? null }, true);
  }

  /** Ends the session with a clean goodbye (no resume grace); every timer stops. */
  close(): void {
    if (this.phase === "closed") return;
    this.finish(null, "closed");
  }

  // ---- requests ----

  private enter(msg: ClientMessage, watching: boolean): Promise<Room> {
    if (!this.connected) return Promise.reject(new Error("not connected: call connect() first"));
    if (this.entering !== null) return Promise.reject(new Error("another join is under way"));
    return new Promise<Room>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.entering = null;
        reject(new TimeoutError(msg.type));
      }, this.opts.requestTimeoutMs);
      this.entering = { replyTo: CLIENT_TYPE[msg.type], resolve, reject, timer, watching };
      this.conn?.send(msg);
    });
  }

  private hello(): Promise<Welcome> {
    return new Promise<Welcome>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.greeting = null;
        reject(new TimeoutError("hello"));
      }, this.opts.requestTimeoutMs);
      this.greeting = { replyTo: CLIENT_TYPE.hello, resolve, reject, timer };
      this.conn?.send({ type: "hello", version: PROTOCOL_VERSION, name: this.opts.name });
    });
  }

  private open(): Promise<Connection> {
    const { ready, cancel } = Connection.open(
      this.Ws,
      this.url,
      {
        message: (msg, bytes) => this.receive(msg, bytes),
        bad: (err) => this.emit("error", err),
        closed: (code, reason) => this.lost(new CloseError(code, reason)),
      },
      this.opts.requestTimeoutMs,
    );
    this.cancelOpen = cancel;
    return ready.finally(() => {
      this.cancelOpen = null;
    });
  }

  // ---- what the server sends ----

  private receive(msg: ServerMessage, bytes: number): void {
    const room = this.current;
    if (room !== null && msg.type !== "snapshot") room.handleFrame(bytes);
    switch (msg.type) {
      case "welcome": {
        const w = { playerId: msg.playerId, userId: msg.userId, tickRate: msg.tickRate };
        this.welcome = w;
        this.token = msg.resumeToken;
        settle(this.greeting, w);
        this.greeting = null;
        return;
      }
      case "joined":
        this.joined(msg.room, msg.players, msg.schema);
        return;
      case "resumed":
        this.token = msg.resumeToken;
        this.resumedInto(msg.room, msg.players, msg.schema);
        return;
      case "snapshot":
        room?.handleSnapshot(msg, bytes);
        return;
      case "events":
        room?.handleEvents(msg.tick, msg.events);
        return;
      case "playerJoined":
        room?.handlePlayerJoined({ id: msg.id, name: msg.name });
        return;
      case "playerLeft":
        room?.handlePlayerLeft({ id: msg.id, name: msg.name });
        return;
      case "chatAck":
        room?.handleChatAck(msg.id, msg.serverId, msg.timeMs, msg.refused);
        return;
      case "chatMessage":
        room?.handleChatMessage({ serverId: msg.serverId, from: msg.from, name: msg.name, text: msg.text, timeMs: msg.timeMs });
        return;
      case "pong": {
        const sample = performance.now() - msg.clientTime;
        if (sample >= 0 && Number.isFinite(sample)) {
          this.rtt = this.rtt === null ? sample : this.rtt + RTT_GAIN * (sample - this.rtt);
          this.emit("rtt", this.rtt, sample);
        }
        return;
      }
      case "error":
        this.serverError(new ServerError(msg.code, msg.message, msg.inReplyTo));
        return;
    }
  }

  private joined(name: string, players: PlayerInfo[], schema: Schema): void {
    const waiting = this.entering;
    if (waiting === null) return;
    this.entering = null;
    clearTimeout(waiting.timer);
    const room = new Room(this.roomHost(), {
      name,
      schema,
      players,
      playerId: this.playerId,
      selfName: this.opts.name,
      watching: waiting.watching,
      predictor: this.opts.predictor,
      interpolationDelayMs: this.opts.interpolationDelayMs,
      viewTick: this.opts.viewTick,
      chatTimeoutMs: this.opts.requestTimeoutMs,
    });
    this.current = room;
    waiting.resolve(room);
  }

  private serverError(err: ServerError): void {
    if (this.greeting !== null && err.inReplyTo === CLIENT_TYPE.hello) {
      fail(this.greeting, err);
      this.greeting = null;
      return;
    }
    if (this.entering !== null && err.inReplyTo === this.entering.replyTo) {
      fail(this.entering, err);
      this.entering = null;
      return;
    }
    if (this.resuming !== null && err.code === ErrorCode.RESUME_REFUSED) {
      this.resuming.resolve("refused");
      this.resuming = null;
      return;
    }
    if (this.current !== null && err.inReplyTo !== CLIENT_TYPE.hello) this.current.handleError(err);
    this.emit("error", err);
  }

  private roomHost() {
    const client = this;
    return {
      get tickRate() {
        return client.tickRate;
      },
      get rttMs() {
        return client.rtt;
      },
      sendInput(seq: number, viewTick: number, values: (number | boolean)[], schema: Schema): boolean {
        if (client.phase !== "greeted" || client.conn === null) return false;
        return client.conn.send({ type: "input", seq, viewTick, values }, schema);
      },
      sendChat(id: number, text: string): boolean {
        if (client.phase !== "greeted" || client.conn === null) return false;
        return client.conn.send({ type: "chat", id, text });
      },
      sendLeave(): void {
        if (client.phase === "greeted") client.conn?.send({ type: "leave" });
      },
      roomEnded(room: Room): void {
        if (client.current === room) client.current = null;
      },
    };
  }

  // ---- pings ----

  private startPings(): void {
    if (this.pingTimer !== null || this.opts.pingIntervalMs <= 0) return;
    const ping = () => {
      if (this.phase === "greeted") this.conn?.send({ type: "ping", clientTime: performance.now() });
    };
    ping();
    this.pingTimer = setInterval(ping, this.opts.pingIntervalMs);
  }

  // ---- losing the connection, and getting it back ----

  private lost(cause: CloseError): void {
    this.conn = null;
    if (this.resuming !== null) {
      this.resuming.resolve("lost");
      this.resuming = null;
      return;
    }
    if (this.phase === "connecting") {
      // Never greeted: there is nothing to resume.
      if (this.greeting !== null) fail(this.greeting, cause);
      this.greeting = null;
      this.setPhase("idle");
      return;
    }
    if (this.phase !== "greeted") return;
    if (this.entering !== null) {
      fail(this.entering, cause);
      this.entering = null;
    }
    if (!cause.retryable || this.opts.reconnect === null || this.token === null) {
      this.finish(cause, cause);
      return;
    }
    void this.reconnect(cause);
  }

  private async reconnect(cause: Error): Promise<void> {
    this.setPhase("reconnecting");
    const backoff = new Backoff(this.opts.reconnect ?? DEFAULT_BACKOFF, this.opts.random);
    let last: Error = cause;
    for (;;) {
      const delay = backoff.next();
      if (delay === null) {
        this.finish(last, last);
        return;
      }
      this.current?.handleReconnecting(backoff.attempts, delay, cause);
      this.emit("reconnecting", backoff.attempts, delay);
      await this.sleep(delay);
      if (this.phase !== "reconnecting") return;
      let conn: Connection;
      try {
        conn = await this.open();
      } catch (err) {
        last = err as Error;
        // A refused upgrade (a token no longer valid) will not get better by trying again.
        if (err instanceof ConnectError && err.status === 401) {
          this.finish(err, err);
          return;
        }
        continue;
      }
      if (this.phase !== "reconnecting") {
        conn.close();
        return;
      }
      this.conn = conn;
      const outcome = await new Promise<"resumed" | "refused" | "lost">((resolve) => {
        this.resuming = { resolve };
        conn.send({ type: "resume", token: this.token ?? "" });
      });
      // A resume into the room has made the client open already (`resumedInto`); only a
      // close meanwhile ends this here.
      if (this.currentPhase() === "closed") return;
      if (outcome === "lost") {
        last = new Error("the connection was lost again while resuming");
        continue;
      }
      if (outcome === "refused") {
        await this.refused();
        return;
      }
      this.setPhase("greeted");
      this.emit("resumed");
      return;
    }
  }

  /** Called on `Resumed`: back in the room (or in the lobby) as the same player. */
  private resumedInto(roomName: string | null, players: PlayerInfo[], schema: Schema | null): void {
    if (this.resuming === null) return;
    const room = this.current;
    if (room !== null) {
      if (roomName === room.name && schema !== null && !room.watching) {
        // Open again before the room re-sends its inputs (they go out only when greeted),
        // and before it says `resumed`, so a listener of that sees the state it announces.
        this.setPhase("greeted");
        room.handleResumed(players, schema);
      } else {
        room.end(new Error(roomName === null ? "resumed into the lobby: the room is lost" : `resumed into another room (${roomName})`));
      }
    }
    this.resuming.resolve("resumed");
    this.resuming = null;
  }

  /** The resume was refused: the room is lost; greet again so that the client can join anew. */
  private async refused(): Promise<void> {
    const err = new ServerError(ErrorCode.RESUME_REFUSED, "resume refused", CLIENT_TYPE.resume);
    this.current?.end(err);
    try {
      this.setPhase("connecting");
      await this.hello();
      this.setPhase("greeted");
      this.emit("reset", err);
    } catch (e) {
      this.finish(e as Error, e as Error);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.sleepTimer = null;
        resolve();
      };
      this.sleepTimer = { timer: setTimeout(wake, ms), wake };
    });
  }

  /** Ends everything: the room, the requests, the timers and the socket. */
  private finish(error: Error | null, why: Error | "closed"): void {
    this.phase = "closed";
    if (this.pingTimer !== null) clearInterval(this.pingTimer);
    this.pingTimer = null;
    if (this.sleepTimer !== null) {
      clearTimeout(this.sleepTimer.timer);
      this.sleepTimer.wake();
    }
    this.cancelOpen?.();
    const ended = error ?? new Error("the client was closed");
    if (this.greeting !== null) fail(this.greeting, ended);
    this.greeting = null;
    if (this.entering !== null) fail(this.entering, ended);
    this.entering = null;
    if (this.resuming !== null) this.resuming.resolve("lost");
    this.resuming = null;
    this.current?.end(why);
    this.current = null;
    this.conn?.close();
    this.conn = null;
    // Announced once everything has ended, so that a listener finds no room left.
    this.setPhase("closed");
    this.emit("close", error);
  }

  /** The phase now, read through a call so that TypeScript does not narrow it across awaits. */
  private currentPhase(): Phase {
    return this.phase;
  }

  private setPhase(phase: Phase): void {
    this.phase = phase;
    const state = STATE_OF[phase];
    if (state === this.stateNow) return;
    this.stateNow = state;
    this.emit("state", state);
  }
}

function settle<T>(waiter: Waiter<T> | null, value: T): void {
  if (waiter === null) return;
  clearTimeout(waiter.timer);
  waiter.resolve(value);
}

function fail<T>(waiter: Waiter<T> | null, err: Error): void {
  if (waiter === null) return;
  clearTimeout(waiter.timer);
  waiter.reject(err);
}
