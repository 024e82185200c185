/**
 * The session with a Tickwire server, or with the nodes of a cluster: connect and greet
 * (`Hello`, `Welcome`), enter a room (join by name, quick-join, create, watch), keep the
 * round-trip time, and when the connection is lost without anybody meaning it, reconnect
 * with backoff (going round the nodes) and `Resume` the same player in the same room. A
 * `Redirect` is followed here, as part of the request it answers, and a room whose resume
 * is refused is joined anew, so that the app sees a seat, not the cluster's plumbing.
 * Every server message is routed here to the request that waits for it or to the current
 * `Room`.
 */

import { Backoff, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.js";
import { Connection, type WebSocketClass, type WebSocketLike } from "./connection.js";
import { Emitter } from "./emitter.js";
import { CloseError, ConnectError, ErrorCode, RedirectError, RoomMoved, ServerError, TimeoutError } from "./errors.js";
import { CLIENT_TYPE, PROTOCOL_VERSION, type ClientMessage, type PlayerInfo, type ServerMessage } from "./messages.js";
import { Nodes, withoutToken } from "./nodes.js";
import type { Predictor } from "./prediction.js";
import { Room } from "./room.js";
import type { Schema } from "./schema.js";

export interface ClientOptions {
  /** The display name sent in `Hello` (with authentication the token's name is used instead). */
  name?: string;
  /** A token for a server that requires one, sent as `?token=` in the URL (in every node's, redirects' too). */
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
  /**
   * How many `Redirect`s in a row the client follows without being seated (5 by
   * default); the next one ends the session with a `RedirectError`.
   */
  maxRedirects?: number;
  /**
   * After a refused resume, seat the player again by itself: the same named room, the
   * same watch, or a quick-join (`true` by default). `false` only greets anew (`reset`).
   */
  rejoin?: boolean;
}

/** An operator's notice (a `Notice` message): to this user, or to everyone (`toAll`). */
export interface Notice {
  text: string;
  toAll: boolean;
  /** When the server sent it, in ms since the Unix epoch. */
  timeMs: number;
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
  /**
   * The room could not be resumed (`RESUME_REFUSED`: its node is gone, or the grace ran
   * out). The `Room` has ended; with `rejoin`, a new one follows in `rejoined`.
   */
  roomGone(room: string, error: ServerError): void;
  /**
   * The client seated the player again by itself, in this new `Room` (now `Client.room`):
   * after `roomGone`, or after a drain redirect moved the player to another node (the old
   * `Room` then leaves with a `RoomMoved`).
   */
  rejoined(room: Room): void;
  /**
   * The server sent the client to another node, and the client is following (no action
   * needed: a join waiting for it resolves there). `room` is where it goes, when the
   * server says.
   */
  redirected(url: string, room: string | null): void;
  /** An operator's notice. */
  notice(notice: Notice): void;
  /** The session is over (the connection ended and will not be resumed); null when you closed it. */
  close(error: Error | null): void;
  /** A pong came: the smoothed round-trip time and this sample, in ms. */
  rtt(smoothedMs: number, sampleMs: number): void;
  /** A server error that answers no request of yours, or a frame that could not be read. */
  error(error: Error): void;
};

/** `moving`: greeting another node, after a redirect or a refused resume. */
type Phase = "idle" | "connecting" | "greeted" | "moving" | "reconnecting" | "closed";

/** The public state of each phase: the phases tell apart what only the client needs to know. */
const STATE_OF: Record<Phase, ConnectionState> = {
  idle: "closed",
  connecting: "connecting",
  greeted: "open",
  // Being sent to another node is no lost connection: the page shows it as a connect.
  moving: "connecting",
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

type EnterMessage = Extract<ClientMessage, { type: "join" | "create" | "watch" }>;
type Redirect = Extract<ServerMessage, { type: "redirect" }>;

/** A join, create or watch under way: the app's, or one the client makes by itself. */
interface Entering {
  /** What was asked: kept as how the room was entered, for entering it again. */
  request: EnterMessage;
  /** What goes to the server for it now: the request, or the `Claim` of a redirect's ticket. */
  next: ClientMessage;
  /** The app's promise; null for a rejoin nobody awaits. */
  app: { resolve(room: Room): void; reject(err: Error): void } | null;
  /** Made by the client (a rejoin): announced as `rejoined` when it lands. */
  auto: boolean;
  /** The room this one replaces (a drain redirect's): ended when this one lands or fails. */
  previous: Room | null;
  /** The app left `previous` meanwhile: whatever lands is left at once. */
  abandoned: boolean;
  timer: ReturnType<typeof setTimeout> | null;
}

/** How a `Resume` was answered. */
type ResumeOutcome =
  | { kind: "resumed" }
  | { kind: "refused"; error: ServerError }
  | { kind: "lost" }
  | { kind: "redirect"; to: Redirect; target: string };

const QUICK_JOIN: EnterMessage = { type: "join", room: null, key: null };

const RTT_GAIN = 0.125;

export class Client extends Emitter<ClientEvents> {
  private readonly nodes: Nodes;
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
  /** The request that entered `current`: what a rejoin asks again. */
  private seatedBy: EnterMessage | null = null;
  private greeting: Waiter<Welcome> | null = null;
  private entering: Entering | null = null;
  private resuming: { resolve(outcome: ResumeOutcome): void } | null = null;
  /** Redirects followed since the player was last seated (or the app last asked). */
  private redirects = 0;
  private pingTimer: ReturnType<typeof setInterval> | null = null;
  private sleepTimer: { timer: ReturnType<typeof setTimeout>; wake(): void } | null = null;
  private rtt: number | null = null;

  /**
   * `url` is the server's WebSocket URL, or a list of a cluster's nodes: `connect` takes
   * the first that opens, and reconnects go round them.
   */
  constructor(url: string | readonly string[], options: ClientOptions = {}) {
    super();
    this.nodes = new Nodes(url, options.token);
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
      maxRedirects: options.maxRedirects ?? 5,
      rejoin: options.rejoin ?? true,
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

  /**
   * The node the session is on (or was last on): one of the URLs given, or where a
   * redirect sent it. Without the token, so that a page may show it.
   */
  get url(): string {
    return withoutToken(this.nodes.current);
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
    let conn: Connection | null = null;
    let last: Error = new Error("no node to connect to");
    // Each node once, in order: a node that is down or full is no reason not to play.
    for (const url of this.nodes.all) {
      try {
        conn = await this.open(url);
        break;
      } catch (err) {
        last = err as Error;
        // Read afresh: close() may have changed the phase while the socket opened. A
        // refused token is refused by every node.
        if (this.currentPhase() !== "connecting" || (err instanceof ConnectError && err.status === 401)) break;
      }
    }
    if (conn === null) {
      if (this.currentPhase() === "connecting") this.setPhase("idle");
      throw last;
    }
    if (this.currentPhase() !== "connecting") {
      conn.close();
      throw new Error("the client was closed while connecting");
    }
    this.conn = conn;
    const welcome = await this.hello();
    this.nodes.settle(conn.url);
    this.setPhase("greeted");
    this.startPings();
    return welcome;
  }

  /** Joins the room named `room` (opened, public, if nobody has that name), or a private one with its `key`. */
  join(room: string, options: { key?: string | null } = {}): Promise<Room> {
    return this.enter({ type: "join", room, key: options.key ?? null });
  }

  /** Joins the fullest public room with space, or a new one; the room's name is `Room.name`. */
  quickJoin(): Promise<Room> {
    return this.enter({ type: "join", room: null, key: null });
  }

  /** Opens a new room and joins it: private with a `key` for others to join with, and at most `capacity` players. */
  create(room: string, options: CreateOptions = {}): Promise<Room> {
    return this.enter({
      type: "create",
      room,
      private: options.private ?? false,
      key: options.key ?? null,
      capacity: options.capacity ?? null,
    });
  }

  /** Watches a room without a seat: snapshots of the whole room, no inputs, not in the roster. */
  watch(room: string, options: { key?: string | null } = {}): Promise<Room> {
    return this.enter({ type: "watch", room, key: options.key ?? null });
  }

  /** Ends the session with a clean goodbye (no resume grace); every timer stops. */
  close(): void {
    if (this.phase === "closed") return;
    this.finish(null, "closed");
  }

  // ---- requests ----

  private enter(msg: EnterMessage): Promise<Room> {
    if (!this.connected) return Promise.reject(new Error("not connected: call connect() first"));
    const busy = this.entering;
    if (busy !== null) {
      // A rejoin of the client's own, for what the app asks now: the app's call waits for
      // it (an app that joins again on `reset` gets the rejoined room).
      if (busy.auto && busy.app === null && sameRequest(busy.request, msg)) {
        return new Promise<Room>((resolve, reject) => {
          busy.app = { resolve, reject };
        });
      }
      return Promise.reject(new Error("another join is under way"));
    }
    this.redirects = 0;
    return new Promise<Room>((resolve, reject) => {
      this.entering = { request: msg, next: msg, app: { resolve, reject }, auto: false, previous: null, abandoned: false, timer: null };
      this.sendEntering();
    });
  }

  /** A rejoin nobody asked for: after a refused resume, or a drain redirect. */
  private rejoin(request: EnterMessage, next: ClientMessage, previous: Room | null): void {
    this.entering = { request, next, app: null, auto: true, previous, abandoned: false, timer: null };
  }

  /** Sends what the join under way needs now; each hop of a redirected one gets the whole timeout. */
  private sendEntering(): void {
    const e = this.entering;
    if (e === null) return;
    if (e.timer !== null) clearTimeout(e.timer);
    e.timer = setTimeout(() => {
      if (this.entering !== e) return;
      this.entering = null;
      this.enterFailed(e, new TimeoutError(e.request.type));
    }, this.opts.requestTimeoutMs);
    this.conn?.send(e.next);
  }

  /** A join under way failed: the app's promise rejects; a rejoin's failure is an `error`. */
  private enterFailed(e: Entering, err: Error): void {
    if (e.timer !== null) clearTimeout(e.timer);
    e.previous?.end(err);
    if (e.app !== null) e.app.reject(err);
    else if (!e.abandoned) this.emit("error", err);
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

  private open(url: string): Promise<Connection> {
    const { ready, cancel } = Connection.open(
      this.Ws,
      url,
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
      case "redirect":
        this.redirect(msg);
        return;
      case "notice":
        this.emit("notice", { text: msg.text, toAll: msg.toAll, timeMs: msg.timeMs });
        return;
    }
  }

  private joined(name: string, players: PlayerInfo[], schema: Schema): void {
    const waiting = this.entering;
    if (waiting === null) return;
    this.entering = null;
    if (waiting.timer !== null) clearTimeout(waiting.timer);
    this.redirects = 0;
    if (waiting.abandoned) {
      // The app left the room this one was to replace: it wants no seat.
      this.conn?.send({ type: "leave" });
      return;
    }
    waiting.previous?.end(new RoomMoved(this.nodes.current, name));
    const room = new Room(this.roomHost(), {
      name,
      schema,
      players,
      playerId: this.playerId,
      selfName: this.opts.name,
      watching: waiting.request.type === "watch",
      predictor: this.opts.predictor,
      interpolationDelayMs: this.opts.interpolationDelayMs,
      viewTick: this.opts.viewTick,
      chatTimeoutMs: this.opts.requestTimeoutMs,
    });
    this.current = room;
    this.seatedBy = waiting.request;
    waiting.app?.resolve(room);
    if (waiting.auto) this.emit("rejoined", room);
  }

  private serverError(err: ServerError): void {
    if (this.greeting !== null && err.inReplyTo === CLIENT_TYPE.hello) {
      fail(this.greeting, err);
      this.greeting = null;
      return;
    }
    const e = this.entering;
    if (e !== null && err.inReplyTo === CLIENT_TYPE[e.next.type]) {
      if (e.auto && e.next.type === "create" && err.code === ErrorCode.ROOM_EXISTS) {
        // Opened again first by another of its players (moved or refused as well): join it.
        e.next = { type: "join", room: e.next.room, key: e.next.key };
        this.sendEntering();
        return;
      }
      this.entering = null;
      this.enterFailed(e, err);
      return;
    }
    if (this.resuming !== null && err.code === ErrorCode.RESUME_REFUSED) {
      this.resuming.resolve({ kind: "refused", error: err });
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
        const e = client.entering;
        if (e !== null && e.previous === room) {
          e.previous = null;
          if (e.app === null) e.abandoned = true;
        }
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

  // ---- losing the connection, being sent on, and getting back ----

  private lost(cause: CloseError): void {
    this.conn = null;
    if (this.resuming !== null) {
      this.resuming.resolve({ kind: "lost" });
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
    if (this.phase === "moving" || this.phase === "reconnecting") {
      // A hello on the way somewhere: whoever awaits it (travel, refused) decides.
      if (this.greeting !== null) fail(this.greeting, cause);
      this.greeting = null;
      return;
    }
    if (this.phase !== "greeted") return;
    const e = this.entering;
    if (e !== null) {
      this.entering = null;
      if (e.timer !== null) clearTimeout(e.timer);
      // A rejoin's old room stays `current`: the resume below decides what becomes of it.
      e.app?.reject(cause);
    }
    if (!cause.retryable || this.opts.reconnect === null || this.token === null) {
      this.finish(cause, cause);
      return;
    }
    void this.travel("resume", null, cause);
  }

  /**
   * A `Redirect`: the server closes this connection right after it, so the client closes
   * it first (a close of its own is no lost connection) and goes where it is sent, with
   * what it was doing: the resume under way, the join under way (its ticket's `Claim`, or
   * the same request again), or, when the room's node is draining, the room's seat taken
   * again there.
   */
  private redirect(r: Redirect): void {
    const from = this.conn?.url ?? this.nodes.current;
    this.conn?.close();
    this.conn = null;
    const target = this.nodes.redirect(r.url, from);
    if (this.resuming !== null) {
      this.resuming.resolve({ kind: "redirect", to: r, target });
      this.resuming = null;
      return;
    }
    if (this.phase !== "greeted") {
      // Only a greeted client is sent on; a hello answered with one has nowhere to go.
      if (this.greeting !== null) fail(this.greeting, new ConnectError(`redirected to ${r.url} before the hello was answered`, null));
      this.greeting = null;
      return;
    }
    if (!this.countRedirect(r.url)) return;
    const e = this.entering;
    const room = this.current;
    if (e !== null) {
      if (r.ticket !== null) e.next = { type: "claim", ticket: r.ticket };
    } else if (room !== null) {
      const asked = this.seatedBy ?? QUICK_JOIN;
      this.rejoin(asked, r.ticket !== null ? { type: "claim", ticket: r.ticket } : asked, room);
    }
    this.emit("redirected", r.url, r.room);
    void this.travel("hello", target, null);
  }

  /** Counts one more redirect; past the bound, ends the session with a `RedirectError`. */
  private countRedirect(url: string): boolean {
    if (this.redirects >= this.opts.maxRedirects) {
      const err = new RedirectError(url, this.redirects + 1);
      this.finish(err, err);
      return false;
    }
    this.redirects++;
    return true;
  }

  /**
   * Gets a connection to some node and the player onto it: `resume` after a lost
   * connection (the same player, in the same room), `hello` after a redirect (a new player
   * there, then the join under way is sent). `target`, a redirect's node, is tried first
   * and at once; every other attempt waits out the backoff and goes round the nodes
   * (`Nodes.forAttempt`), so that a dead node is not all the client tries.
   */
  private async travel(plan: "resume" | "hello", target: string | null, cause: Error | null): Promise<void> {
    this.setPhase(plan === "resume" ? "reconnecting" : "moving");
    const backoff = new Backoff(this.opts.reconnect ?? DEFAULT_BACKOFF, this.opts.random);
    let last: Error = cause ?? new Error("redirected");
    let next = target;
    for (;;) {
      let url = next;
      next = null;
      if (url === null) {
        const delay = this.opts.reconnect === null ? null : backoff.next();
        if (delay === null) {
          this.finish(last, last);
          return;
        }
        this.setPhase("reconnecting");
        this.current?.handleReconnecting(backoff.attempts, delay, last);
        this.emit("reconnecting", backoff.attempts, delay);
        await this.sleep(delay);
        if (this.currentPhase() !== "reconnecting") return;
        url = this.nodes.forAttempt(backoff.attempts);
      }
      let conn: Connection;
      try {
        conn = await this.open(url);
      } catch (err) {
        if (!this.travelling()) return;
        last = err as Error;
        // A refused upgrade (a token no longer valid) will not get better by trying again.
        if (err instanceof ConnectError && err.status === 401) {
          this.finish(err, err);
          return;
        }
        continue;
      }
      if (!this.travelling()) {
        conn.close();
        return;
      }
      this.conn = conn;
      if (plan === "hello") {
        try {
          await this.hello();
        } catch (err) {
          if (!this.travelling()) return;
          last = err as Error;
          // Lost again: try again. Refused (a bad name, another version): that will not change.
          if (err instanceof CloseError) continue;
          this.finish(last, last);
          return;
        }
        if (!this.travelling()) return;
        this.nodes.settle(conn.url);
        this.setPhase("greeted");
        this.sendEntering();
        return;
      }
      const outcome = await new Promise<ResumeOutcome>((resolve) => {
        this.resuming = { resolve };
        conn.send({ type: "resume", token: this.token ?? "" });
      });
      // A resume into the room has made the client open already (`resumedInto`); only a
      // close meanwhile ends this here.
      if (this.currentPhase() === "closed") return;
      switch (outcome.kind) {
        case "lost":
          last = new Error("the connection was lost again while resuming");
          continue;
        case "redirect":
          // The token's node is alive, elsewhere: the same Resume, there, at once.
          if (!this.countRedirect(outcome.to.url)) return;
          this.emit("redirected", outcome.to.url, outcome.to.room);
          next = outcome.target;
          continue;
        case "refused":
          await this.refused(outcome.error);
          return;
        case "resumed":
          this.redirects = 0;
          this.setPhase("greeted");
          this.emit("resumed");
          return;
      }
    }
  }

  /** Called on `Resumed`: back in the room (or in the lobby) as the same player. */
  private resumedInto(roomName: string | null, players: PlayerInfo[], schema: Schema | null): void {
    if (this.resuming === null) return;
    // The session lives here now: settled before anybody hears of the resume.
    if (this.conn !== null) this.nodes.settle(this.conn.url);
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
    this.resuming.resolve({ kind: "resumed" });
    this.resuming = null;
  }

  /**
   * The resume was refused: the room is gone (`roomGone`). Greet again on the same
   * connection (`reset`), then, if the player was in a room, enter it again as it was
   * entered (a named room by its name, a watch by its watch, else a quick-join), unless a
   * listener of `reset` already asked for a room of its own.
   */
  private async refused(err: ServerError): Promise<void> {
    const room = this.current;
    const asked = this.seatedBy ?? QUICK_JOIN;
    room?.end(err);
    if (room !== null) this.emit("roomGone", room.name, err);
    try {
      this.setPhase("moving");
      await this.hello();
    } catch (e) {
      if (this.currentPhase() !== "closed") this.finish(e as Error, e as Error);
      return;
    }
    if (this.currentPhase() !== "moving") return;
    if (this.conn !== null) this.nodes.settle(this.conn.url);
    this.setPhase("greeted");
    this.emit("reset", err);
    if (room !== null && this.opts.rejoin && this.entering === null && this.current === null && this.connected) {
      this.rejoin(asked, asked, null);
      this.sendEntering();
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
    const e = this.entering;
    this.entering = null;
    if (e !== null) {
      if (e.timer !== null) clearTimeout(e.timer);
      e.app?.reject(ended);
    }
    if (this.resuming !== null) this.resuming.resolve({ kind: "lost" });
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

  /** On the way to a node (reconnecting, or moving after a redirect), and not closed meanwhile. */
  private travelling(): boolean {
    return this.phase === "moving" || this.phase === "reconnecting";
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

/** Two requests for the same room in the same way. */
function sameRequest(a: ClientMessage, b: ClientMessage): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
