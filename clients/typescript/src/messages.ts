/**
 * The messages of protocol 4 (PROTOCOL.md section 5): every client message encoded, every
 * server message decoded, the cluster's included (`Claim`, client type 9; `Redirect` and
 * `Notice`, server types 11 and 12, as `shared/src/messages.rs` defines them). A frame is `[type, body]`, the body an array of the message's
 * fields in order. Decoding checks each field's type and range and throws a
 * {@link ProtocolError}, and nothing else, on any bytes that are not a server message.
 */

import {
  ProtocolError,
  U16,
  U32,
  U64,
  U8,
  Writer,
  asArray,
  asBin,
  asBool,
  asInt,
  asNumber,
  asOptStr,
  asStr,
  asUint,
  readFrame,
} from "./msgpack.js";
import { parseSchema, type Schema } from "./schema.js";
import { realValue, type FieldValue } from "./values.js";

export { ProtocolError } from "./msgpack.js";

export const PROTOCOL_VERSION = 4;

export type ClientMessage =
  | { type: "hello"; version: number; name: string }
  | { type: "join"; room: string | null; key: string | null }
  | { type: "leave" }
  | { type: "input"; seq: number; viewTick: number; values: (number | boolean)[] }
  | { type: "ping"; clientTime: number }
  | { type: "create"; room: string; private: boolean; key: string | null; capacity: number | null }
  | { type: "resume"; token: string }
  | { type: "chat"; id: number; text: string }
  | { type: "watch"; room: string; key: string | null }
  | { type: "claim"; ticket: string };

/** An entity whole, as the wire has it: `[id, kind, value...]`. */
export type WireEntity = (number | string)[];

export interface PlayerInfo {
  id: number;
  name: string;
}

export interface Snapshot {
  tick: number;
  /** null: a keyframe. */
  baseTick: number | null;
  serverTimeMs: number;
  stateHash: number;
  ack: number;
  removed: number[];
  added: WireEntity[];
  changes: Uint8Array;
}

export type ServerMessage =
  | { type: "welcome"; playerId: number; tickRate: number; protocolVersion: number; resumeToken: string; userId: string }
  | { type: "joined"; room: string; players: PlayerInfo[]; schema: Schema }
  | ({ type: "snapshot" } & Snapshot)
  | { type: "pong"; clientTime: number; serverTick: number }
  | { type: "error"; code: number; message: string; inReplyTo: number | null }
  | { type: "playerJoined"; id: number; name: string }
  | { type: "playerLeft"; id: number; name: string }
  | {
      type: "resumed";
      playerId: number;
      room: string | null;
      players: PlayerInfo[];
      resumeToken: string;
      schema: Schema | null;
    }
  | { type: "chatAck"; id: number; serverId: number; timeMs: number; refused: string | null }
  | { type: "chatMessage"; serverId: number; from: number; name: string; text: string; timeMs: number }
  | { type: "events"; tick: number; events: (number | string)[][] }
  | { type: "redirect"; url: string; room: string | null; ticket: string | null; inReplyTo: number | null }
  | { type: "notice"; text: string; toAll: boolean; timeMs: number };

/** Client message type numbers (PROTOCOL.md section 5). */
export const CLIENT_TYPE = {
  hello: 0,
  join: 1,
  leave: 2,
  input: 3,
  ping: 4,
  create: 5,
  resume: 6,
  chat: 7,
  watch: 8,
  claim: 9,
} as const;

/** Server message type numbers. */
export const SERVER_TYPE = {
  welcome: 0,
  joined: 1,
  snapshot: 2,
  pong: 3,
  error: 4,
  playerJoined: 5,
  playerLeft: 6,
  resumed: 7,
  chatAck: 8,
  chatMessage: 9,
  events: 10,
  redirect: 11,
  notice: 12,
} as const;

/**
 * Encodes a client message. Given the room's `schema`, an input's values are written as
 * its fields want them: `float` and `angle` as float64 (a whole number too, as the golden
 * vectors have it), `int` and `enum` as integers, `bool` as a bool. Without it, a boolean
 * is a bool, a whole number an integer and any other number a float64, all of which the
 * server accepts where its field allows.
 *
 * Throws RangeError or TypeError for a value the message cannot carry (a `seq` that is
 * not a u32, an `int` input that is not whole): a caller's mistake, not the network's.
 */
export function encodeClient(msg: ClientMessage, schema?: Schema): Uint8Array {
  const w = new Writer();
  w.arrayHeader(2);
  const type = CLIENT_TYPE[msg.type];
  if (type === undefined) throw new TypeError(`unknown client message ${JSON.stringify((msg as { type: unknown }).type)}`);
  w.int(type);
  switch (msg.type) {
    case "hello":
      w.arrayHeader(2);
      w.int(uint(msg.version, U16, "version"));
      w.str(msg.name);
      break;
    case "join":
      w.arrayHeader(2);
      w.optStr(msg.room);
      w.optStr(msg.key);
      break;
    case "leave":
      w.arrayHeader(0);
      break;
    case "input":
      w.arrayHeader(3);
      w.int(uint(msg.seq, U32, "seq"));
      w.int(uint(msg.viewTick, U64, "viewTick"));
      writeInputValues(w, msg.values, schema);
      break;
    case "ping":
      w.arrayHeader(1);
      // Always float64: a float32 would lose precision in the echo.
      w.float64(msg.clientTime);
      break;
    case "create":
      w.arrayHeader(4);
      w.str(msg.room);
      w.bool(msg.private);
      w.optStr(msg.key);
      if (msg.capacity === null) w.nil();
      else w.int(uint(msg.capacity, U32, "capacity"));
      break;
    case "resume":
      w.arrayHeader(1);
      w.str(msg.token);
      break;
    case "chat":
      w.arrayHeader(2);
      w.int(uint(msg.id, U32, "chat id"));
      w.str(msg.text);
      break;
    case "watch":
      w.arrayHeader(2);
      w.str(msg.room);
      w.optStr(msg.key);
      break;
    case "claim":
      w.arrayHeader(1);
      w.str(msg.ticket);
      break;
  }
  return w.bytes();
}

function uint(v: number, max: number, what: string): number {
  if (!Number.isInteger(v) || v < 0 || v > max) throw new RangeError(`${what} ${v} is not an integer in 0..=${max}`);
  return v;
}

function writeInputValues(w: Writer, values: (number | boolean)[], schema?: Schema): void {
  if (schema && values.length !== schema.input.length) {
    throw new RangeError(`${values.length} input values for the ${schema.input.length} input fields of ${schema.game}`);
  }
  w.arrayHeader(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    const field = schema?.input[i];
    if (!field) {
      if (typeof v === "boolean") w.bool(v);
      else if (Number.isSafeInteger(v)) w.int(v);
      else w.float64(v);
      continue;
    }
    switch (field.type) {
      case "float":
      case "angle":
        w.float64(typeof v === "boolean" ? Number(v) : v);
        break;
      case "int":
      case "enum": {
        const n = typeof v === "boolean" ? Number(v) : v;
        if (!Number.isSafeInteger(n)) throw new RangeError(`input ${field.name}: ${n} is not an integer`);
        w.int(n);
        break;
      }
      case "bool":
        w.bool(typeof v === "boolean" ? v : v !== 0);
        break;
    }
  }
}

/** Decodes one server frame. Throws {@link ProtocolError}, and only that, on anything else. */
export function decodeServer(bytes: Uint8Array): ServerMessage {
  try {
    return decodeFrame(readFrame(bytes));
  } catch (err) {
    if (err instanceof ProtocolError) throw err;
    // A check missed here is still the frame's fault, and must not reach the caller as a
    // TypeError.
    throw new ProtocolError(`malformed frame: ${(err as Error)?.message ?? err}`);
  }
}

function decodeFrame(frame: unknown): ServerMessage {
  const [typeWire, body] = asArray(frame, "frame", 2);
  const type = asUint(typeWire, "message type", U8);
  const field = (n: number) => asArray(body, `body of server message ${type}`, n);
  switch (type) {
    case SERVER_TYPE.welcome: {
      const [playerId, tickRate, version, token, userId] = field(5);
      return {
        type: "welcome",
        playerId: asUint(playerId, "player_id", U32),
        tickRate: asUint(tickRate, "tick_rate", U16),
        protocolVersion: asUint(version, "protocol_version", U16),
        resumeToken: asStr(token, "resume_token"),
        userId: asStr(userId, "user_id"),
      };
    }
    case SERVER_TYPE.joined: {
      const [room, players, schema] = field(3);
      return { type: "joined", room: asStr(room, "room"), players: playerList(players), schema: parseSchema(schema) };
    }
    case SERVER_TYPE.snapshot:
      return snapshot(field(8));
    case SERVER_TYPE.pong: {
      const [clientTime, serverTick] = field(2);
      return { type: "pong", clientTime: asNumber(clientTime, "client_time"), serverTick: asUint(serverTick, "server_tick", U64) };
    }
    case SERVER_TYPE.error: {
      const [code, message, inReplyTo] = field(3);
      return {
        type: "error",
        code: asUint(code, "code", U16),
        message: asStr(message, "message"),
        inReplyTo: inReplyTo === null ? null : asUint(inReplyTo, "in_reply_to", U8),
      };
    }
    case SERVER_TYPE.playerJoined:
    case SERVER_TYPE.playerLeft: {
      const [id, name] = field(2);
      return {
        type: type === SERVER_TYPE.playerJoined ? "playerJoined" : "playerLeft",
        id: asUint(id, "id", U32),
        name: asStr(name, "name"),
      };
    }
    case SERVER_TYPE.resumed: {
      const [playerId, room, players, token, schema] = field(5);
      return {
        type: "resumed",
        playerId: asUint(playerId, "player_id", U32),
        room: asOptStr(room, "room"),
        players: playerList(players),
        resumeToken: asStr(token, "resume_token"),
        schema: schema === null ? null : parseSchema(schema),
      };
    }
    case SERVER_TYPE.chatAck: {
      const [id, serverId, timeMs, refused] = field(4);
      return {
        type: "chatAck",
        id: asUint(id, "id", U32),
        serverId: asUint(serverId, "server_id", U64),
        timeMs: asUint(timeMs, "time_ms", U64),
        refused: asOptStr(refused, "refused"),
      };
    }
    case SERVER_TYPE.chatMessage: {
      const [serverId, from, name, text, timeMs] = field(5);
      return {
        type: "chatMessage",
        serverId: asUint(serverId, "server_id", U64),
        from: asUint(from, "from", U32),
        name: asStr(name, "name"),
        text: asStr(text, "text"),
        timeMs: asUint(timeMs, "time_ms", U64),
      };
    }
    case SERVER_TYPE.events: {
      const [tick, events] = field(2);
      return {
        type: "events",
        tick: asUint(tick, "tick", U64),
        events: asArray(events, "events").map((e) => {
          const ev = asArray(e, "event");
          if (ev.length < 1) throw new ProtocolError("an event without a kind");
          asUint(ev[0], "event kind", U8);
          for (let i = 1; i < ev.length; i++) value(ev[i], "event value");
          return ev as (number | string)[];
        }),
      };
    }
    case SERVER_TYPE.redirect: {
      const [url, room, ticket, inReplyTo] = field(4);
      return {
        type: "redirect",
        url: asStr(url, "url"),
        room: asOptStr(room, "room"),
        ticket: asOptStr(ticket, "ticket"),
        inReplyTo: inReplyTo === null ? null : asUint(inReplyTo, "in_reply_to", U8),
      };
    }
    case SERVER_TYPE.notice: {
      const [text, toAll, timeMs] = field(3);
      return {
        type: "notice",
        text: asStr(text, "text"),
        toAll: asBool(toAll, "to_all"),
        timeMs: asUint(timeMs, "time_ms", U64),
      };
    }
    default:
      throw new ProtocolError(`unknown server message type ${type}`);
  }
}

function playerList(w: unknown): PlayerInfo[] {
  return asArray(w, "players").map((p) => {
    const [id, name] = asArray(p, "player", 2);
    return { id: asUint(id, "player id", U32), name: asStr(name, "player name") };
  });
}

/** An entity or event value: an integer or a str, never a float, bool or nil. */
function value(v: unknown, what: string): number | string {
  return typeof v === "string" ? v : asInt(v, what);
}

function snapshot(body: unknown[]): ServerMessage {
  const [tick, baseTick, time, hash, ack, removed, added, changes] = body;
  const removedIds = asArray(removed, "removed");
  for (const id of removedIds) asUint(id, "removed id", U32);
  const addedList = asArray(added, "added");
  for (const e of addedList) {
    const entity = asArray(e, "entity");
    if (entity.length < 2) throw new ProtocolError("an entity without an id and a kind");
    asUint(entity[0], "entity id", U32);
    asUint(entity[1], "entity kind", U8);
    for (let i = 2; i < entity.length; i++) value(entity[i], "entity value");
  }
  return {
    type: "snapshot",
    tick: asUint(tick, "tick", U64),
    baseTick: baseTick === null ? null : asUint(baseTick, "base_tick", U64),
    serverTimeMs: asUint(time, "server_time_ms", U64),
    stateHash: asUint(hash, "state_hash", U32),
    ack: asUint(ack, "ack", U32),
    removed: removedIds as number[],
    added: addedList as WireEntity[],
    changes: asBin(changes, "changes"),
  };
}

/** One event of an `Events` message, read with the room's schema. */
export interface GameEvent {
  kind: string;
  kindId: number;
  /** Real values by field name, as {@link realValue} gives them. */
  fields: Record<string, FieldValue>;
  /** The event's values as the wire has them, in the event kind's order (without the kind). */
  wire: (number | string)[];
}

/** Reads an event `[kind, value...]` with the schema; throws {@link ProtocolError}. */
export function decodeEvent(schema: Schema, raw: (number | string)[]): GameEvent {
  if (!Array.isArray(raw) || raw.length < 1) throw new ProtocolError("an event without a kind");
  const kindId = raw[0];
  const kind = typeof kindId === "number" ? schema.events[kindId] : undefined;
  if (!kind) throw new ProtocolError(`no event kind ${String(kindId)} in ${schema.game}`);
  if (raw.length - 1 !== kind.fields.length) {
    throw new ProtocolError(`event ${kind.name}: ${raw.length - 1} values for ${kind.fields.length} fields`);
  }
  const fields: Record<string, FieldValue> = {};
  const wire = raw.slice(1);
  kind.fields.forEach((f, i) => {
    const v = wire[i];
    if ((f.type === "string") !== (typeof v === "string") || (typeof v === "number" && !Number.isSafeInteger(v))) {
      throw new ProtocolError(`event ${kind.name}: field ${f.name} holds ${JSON.stringify(v)}`);
    }
    fields[f.name] = realValue(f, v);
  });
  return { kind: kind.name, kindId: kind.id, fields, wire };
}
