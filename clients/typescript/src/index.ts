/**
 * @tickwire/client: a TypeScript client for Tickwire servers. `Client` connects and
 * enters rooms; a `Room` holds the decoded state, events, chat and roster, sends inputs,
 * predicts the player's own entity and interpolates the others. The codec underneath
 * (`decodeServer`, `encodeClient`, `parseSchema`, `Replica`) is exported for tools that
 * want the wire without the session.
 */

export { Client, type ClientOptions, type ClientEvents, type ConnectionState, type CreateOptions, type Notice, type Welcome } from "./client.js";
export {
  Room,
  inputValues,
  type ChatAck,
  type ChatMessage,
  type LeaveReason,
  type RoomEvents,
  type RoomStats,
  type SnapshotInfo,
} from "./room.js";
export {
  ChatRefused,
  CloseCode,
  CloseError,
  ConnectError,
  ErrorCode,
  RedirectError,
  RoomMoved,
  ServerError,
  TimeoutError,
  errorCodeName,
  isRetryableClose,
  type ErrorCodeName,
} from "./errors.js";
export { Backoff, backoffDelay, DEFAULT_BACKOFF, type BackoffOptions } from "./backoff.js";
export { type WebSocketClass, type WebSocketLike } from "./connection.js";
export {
  reconcile,
  steer,
  keepInside,
  clampLengthMax,
  wrapRadians,
  type InputRecord,
  type PendingInput,
  type Predictor,
} from "./prediction.js";
export { InterpolationBuffer, sample, lerpAngle, nearestTick, type EntityView, type Frame } from "./interpolation.js";
export { Emitter } from "./emitter.js";
export * as arena from "./games/arena.js";
export * as shooter from "./games/shooter.js";

// The codec (the CODEC part's files).
export {
  PROTOCOL_VERSION,
  ProtocolError,
  decodeServer,
  encodeClient,
  decodeEvent,
  type ClientMessage,
  type ServerMessage,
  type Snapshot,
  type PlayerInfo,
  type WireEntity,
  type GameEvent,
} from "./messages.js";
export { parseSchema, kindByName, type Schema, type Kind, type Field, type FieldType, type InputField, type InputType, type EventKind } from "./schema.js";
export { realValue, wireValue, type FieldValue } from "./values.js";
export { Replica, type Entity, type ReplicaError, type ApplyResult } from "./replica.js";
