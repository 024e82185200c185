/**
 * One WebSocket to the server: opens it (the token in the URL as `?token=`), turns its
 * binary frames into decoded server messages and client messages into frames, and reports
 * how it ended. It knows nothing of the session: `Client` makes a new one for every
 * (re)connect. Works with the browser's WebSocket and with the `ws` package's.
 */

import { ConnectError, CloseCode } from "./errors.js";
import type { Schema } from "./schema.js";
import { decodeServer, encodeClient, type ClientMessage, type ServerMessage } from "./messages.js";

/** What the client needs of a WebSocket class: the browser's, or the `ws` package's. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: any) => void) | null;
}

export type WebSocketClass = new (url: string) => WebSocketLike;

/** What a connection tells its owner. */
export interface ConnectionHandlers {
  message(msg: ServerMessage, bytes: number): void;
  /** A frame that is not a server message: dropped, the connection goes on. */
  bad(err: Error): void;
  /** The socket ended after it opened; `code` 1006 when no close frame came. */
  closed(code: number, reason: string): void;
}

const OPEN = 1;

/** The URL with the token as its `token` query parameter (a JWT needs no escaping, but a test token may). */
export function withToken(url: string, token: string | undefined): string {
  if (token === undefined || token === "") return url;
  const u = new URL(url);
  u.searchParams.set("token", token);
  return u.toString();
}

export class Connection {
  private closedByUs = false;

  private constructor(
    /** The underlying socket: for diagnostics, and for tests that cut it. */
    readonly socket: WebSocketLike,
    /** The URL it was opened with: the node, and the token in its query. */
    readonly url: string,
    private readonly handlers: ConnectionHandlers,
  ) {}

  /**
   * Opens a socket. Resolves once it is open; rejects with a `ConnectError` when the
   * server refuses the upgrade or cannot be reached, or when `timeoutMs` passes first.
   */
  static open(
    Ws: WebSocketClass,
    url: string,
    handlers: ConnectionHandlers,
    timeoutMs: number,
  ): { ready: Promise<Connection>; cancel: () => void } {
    let socket: WebSocketLike;
    try {
      socket = new Ws(url);
    } catch (err) {
      return { ready: Promise.reject(new ConnectError(`cannot open ${url}: ${(err as Error).message}`, null)), cancel: () => {} };
    }
    socket.binaryType = "arraybuffer";
    const conn = new Connection(socket, url, handlers);
    let cancel = () => {};
    const ready = new Promise<Connection>((resolve, reject) => {
      let settled = false;
      let lastError: string | null = null;
      const timer = setTimeout(() => fail(new ConnectError(`connecting to ${url} timed out`, null)), timeoutMs);
      const fail = (err: ConnectError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.detach();
        try {
          socket.close();
        } catch {
          // Closing a socket that never opened may throw in some implementations; it is gone either way.
        }
        reject(err);
      };
      cancel = () => fail(new ConnectError("connecting was cancelled", null));
      socket.onerror = (ev: any) => {
        // The `ws` package says why ("Unexpected server response: 401"); browsers say nothing.
        lastError = typeof ev?.message === "string" ? ev.message : ev?.error?.message ?? null;
      };
      socket.onclose = (ev) => {
        const status = lastError === null ? null : httpStatus(lastError);
        const why = lastError ?? `closed before opening (${ev.code}${ev.reason ? `: ${ev.reason}` : ""})`;
        fail(new ConnectError(`cannot connect to ${url}: ${why}`, status));
      };
      socket.onopen = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        conn.attach();
        resolve(conn);
      };
    });
    return { ready, cancel: () => cancel() };
  }

  get isOpen(): boolean {
    return this.socket.readyState === OPEN;
  }

  /** Sends a message; false when the socket is not open (the message is dropped). */
  send(msg: ClientMessage, schema?: Schema): boolean {
    if (!this.isOpen) return false;
    try {
      this.socket.send(encodeClient(msg, schema));
      return true;
    } catch {
      return false;
    }
  }

  /** Closes with a clean goodbye (1000): the server ends the session at once, with no resume grace. */
  close(): void {
    if (this.closedByUs) return;
    this.closedByUs = true;
    this.detach();
    try {
      this.socket.close(CloseCode.NORMAL);
    } catch {
      // Already closing or closed.
    }
  }

  private attach(): void {
    this.socket.onmessage = (ev) => this.receive(ev.data);
    this.socket.onerror = () => {
      // The close event that follows says everything there is to say.
    };
    this.socket.onclose = (ev) => {
      this.detach();
      if (!this.closedByUs) this.handlers.closed(ev.code, ev.reason ?? "");
    };
  }

  private detach(): void {
    this.socket.onopen = null;
    this.socket.onmessage = null;
    this.socket.onclose = null;
    this.socket.onerror = () => {};
  }

  private receive(data: unknown): void {
    let bytes: Uint8Array;
    if (data instanceof ArrayBuffer) {
      bytes = new Uint8Array(data);
    } else if (ArrayBuffer.isView(data)) {
      bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    } else {
      this.handlers.bad(new Error("a text frame from the server"));
      return;
    }
    let msg: ServerMessage;
    try {
      msg = decodeServer(bytes);
    } catch (err) {
      this.handlers.bad(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    try {
      this.handlers.message(msg, bytes.byteLength);
    } catch (err) {
      // A message that a bug of ours cannot handle must not end the process (a throw
      // from a WebSocket listener is uncaught in Node); it is reported and dropped.
      this.handlers.bad(err instanceof Error ? err : new Error(String(err)));
    }
  }
}

function httpStatus(message: string): number | null {
  const m = /\b([1-5]\d\d)\b/.exec(message);
  return m === null ? null : Number(m[1]);
}
