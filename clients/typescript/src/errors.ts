/**
 * The errors a session can end a promise or an event with, one class per kind of failure,
 * so that a caller can tell with `instanceof` what went wrong and what to do about it:
 * a refusal the server answered (`ServerError`), a connection the server or the network
 * ended (`CloseError`), a connection that never opened (`ConnectError`), a chat message
 * the room refused (`ChatRefused`), an answer that never came (`TimeoutError`), a cluster
 * that kept sending the client on (`RedirectError`), and a room left because its player
 * was moved to another node (`RoomMoved`).
 */

/** The server's error codes (PROTOCOL.md section 7), by name. */
export const ErrorCode = {
  MALFORMED: 1,
  UNKNOWN_TYPE: 2,
  INVALID_VALUE: 3,
  VERSION_MISMATCH: 4,
  BAD_STATE: 5,
  NOT_IN_ROOM: 6,
  ROOM_FULL: 7,
  UNAVAILABLE: 8,
  NOT_FOUND: 9,
  ACCESS_DENIED: 10,
  ROOM_EXISTS: 11,
  RESUME_REFUSED: 12,
} as const;

export type ErrorCodeName = keyof typeof ErrorCode;

const CODE_NAMES = new Map<number, ErrorCodeName>(
  Object.entries(ErrorCode).map(([name, code]) => [code, name as ErrorCodeName]),
);

/** The name of a server error code, or `UNKNOWN_<code>` for one this client does not know. */
export function errorCodeName(code: number): string {
  return CODE_NAMES.get(code) ?? `UNKNOWN_${code}`;
}

/**
 * An `Error` message of the server: a request it refused. `name` is the code's name
 * (`"ROOM_FULL"`), `inReplyTo` the client message type it answers (1 for a Join), or null
 * when the server could not read the type.
 */
export class ServerError extends Error {
  readonly code: number;
  readonly inReplyTo: number | null;
  /** True when trying the same request again later may succeed (`UNAVAILABLE`). */
  readonly retryable: boolean;

  constructor(code: number, message: string, inReplyTo: number | null) {
    super(message);
    this.name = errorCodeName(code);
    this.code = code;
    this.inReplyTo = inReplyTo;
    this.retryable = code === ErrorCode.UNAVAILABLE;
  }
}

/** WebSocket close codes the server sends (PROTOCOL.md section 1), by name. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  /** No close frame at all: the TCP connection ended or was reset. */
  ABNORMAL: 1006,
  /** Invalid UTF-8 in a text frame or a close reason. */
  INVALID_PAYLOAD: 1007,
  POLICY: 1008,
  TOO_BIG: 1009,
} as const;

/**
 * Whether a lost connection is worth a `Resume`. The server keeps the seat for its resume
 * grace only when the connection ended without a clean goodbye: no close frame, or a
 * 1008 for the idle timeout or a slow reader. Every other close ends the session at once
 * (a takeover, a resumed replacement, flooding, an oversize or text frame, a shutdown), so
 * retrying would at best be refused and, after a takeover, would fight the user's other
 * connection.
 */
export function isRetryableClose(code: number, reason: string): boolean {
  if (code === CloseCode.POLICY) {
    return reason.startsWith("idle timeout") || reason.startsWith("too slow");
  }
  // 1005 (a close frame without a code) and 1006 (none at all) come from the network, not
  // from a decision of the server's; 1011 to 1014 are "try again" codes of proxies.
  return code === 1005 || code === CloseCode.ABNORMAL || (code >= 1011 && code <= 1014);
}

/** The connection ended, by the server's close or by the network. */
export class CloseError extends Error {
  readonly code: number;
  readonly reason: string;
  /** True when the client may reconnect and resume (see `isRetryableClose`). */
  readonly retryable: boolean;

  constructor(code: number, reason: string) {
    super(reason === "" ? `connection closed (${code})` : `connection closed (${code}): ${reason}`);
    this.name = "CloseError";
    this.code = code;
    this.reason = reason;
    this.retryable = isRetryableClose(code, reason);
  }

  /** The seat was taken over by a newer connection of the same user: do not reconnect. */
  get takenOver(): boolean {
    return this.code === CloseCode.POLICY && this.reason.startsWith("taken over");
  }
}

/**
 * The WebSocket never opened: the server refused the upgrade (401 for a missing or bad
 * token, 429 or 503 when it has too many connections) or could not be reached. `status` is
 * the HTTP status when the WebSocket implementation tells it (the `ws` package does;
 * browsers hide it, and then it is null).
 */
export class ConnectError extends Error {
  readonly status: number | null;

  constructor(message: string, status: number | null) {
    super(message);
    this.name = "ConnectError";
    this.status = status;
  }
}

/** A chat message the room refused; `reason` is the server's (`"rate_limited"`, ...). */
export class ChatRefused extends Error {
  readonly reason: string;

  constructor(reason: string) {
    super(`chat refused: ${reason}`);
    this.name = "ChatRefused";
    this.reason = reason;
  }
}

/** An answer that did not come in time (a chat dropped by the rate limit gets none). */
export class TimeoutError extends Error {
  constructor(what: string) {
    super(`${what} timed out`);
    this.name = "TimeoutError";
  }
}

/**
 * The cluster redirected the client more times in a row than `maxRedirects` allows
 * without seating it anywhere: its nodes disagree about where the room lives. Following
 * on would never end, so the session ends with this. `url` is the redirect not followed.
 */
export class RedirectError extends Error {
  readonly url: string;
  readonly redirects: number;

  constructor(url: string, redirects: number) {
    super(`redirected ${redirects} times in a row without a seat; not following on to ${url}`);
    this.name = "RedirectError";
    this.url = url;
    this.redirects = redirects;
  }
}

/**
 * Why a `Room` left when the server moved its player to another node (a drain redirect):
 * not a failure, the player is seated again there, in the `Room` that the client's
 * `rejoined` event gives (a new one: the new node gives a new player id).
 */
export class RoomMoved extends Error {
  /** The node the player went to. */
  readonly url: string;
  /** The room the player is in there. */
  readonly room: string;

  constructor(url: string, room: string) {
    super(`moved to room ${room} on ${url}`);
    this.name = "RoomMoved";
    this.url = url;
    this.room = room;
  }
}
