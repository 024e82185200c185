/**
 * A fake cluster node for the session tests that a single real server cannot play: a
 * `ws` WebSocketServer on a port the system picks that speaks just enough of the protocol
 * (Hello, Join, Create, Watch, Claim, Resume) to seat a client, and lets each test answer
 * any message its own way (a Redirect, a refused Resume, a Notice). Everything the node
 * receives is logged in order, as short lines (`hello`, `join den`, `claim t1`), so a test
 * can assert what the client did and in which order.
 */

import type { AddressInfo } from "node:net";
import { decode, encode } from "@msgpack/msgpack";
import { WebSocket, WebSocketServer } from "ws";

import { Client, type ClientOptions } from "../src/index.js";

/** One client connection to a fake node. */
export interface Peer {
  /** The request URL of the upgrade (path and query: `/?token=...`). */
  readonly path: string;
  send(type: number, body: unknown[]): void;
  welcome(): void;
  joined(room: string): void;
  error(code: number, message: string, inReplyTo: number | null): void;
  redirect(url: string, room: string | null, ticket: string | null, inReplyTo: number | null, closeCode?: number): void;
  notice(text: string, toAll: boolean, timeMs: number): void;
  /** Ends the TCP connection without a close frame, as a network would. */
  cut(): void;
}

/**
 * Answers one client message; returns true when it did, false to leave it to the
 * defaults (Hello: Welcome; Join, Create, Watch: Joined; Claim: Joined into the
 * ticket's room, `den` for any other ticket; Resume: Error 12).
 */
export type Answer = (type: number, body: unknown[], peer: Peer, node: FakeNode) => boolean | void;

export interface FakeNode {
  /** `ws://127.0.0.1:PORT/` */
  readonly url: string;
  /** What the node received, in order: `hello`, `join den`, `join -` (quick-join), `claim t1`, `resume TOKEN`, ... */
  readonly log: string[];
  /** The upgrade paths of the connections it accepted, in order. */
  readonly paths: string[];
  /** The peers connected now. */
  readonly peers: Set<Peer>;
  /** The answer to use from now on. */
  answer: Answer;
  /** The resume token its Welcome gives player `id`. */
  tokenOf(id: number): string;
  /** Stops listening and cuts every connection: afterwards its port refuses connections. */
  stop(): Promise<void>;
}

/** The smallest schema that parses: a game with no input, no kinds and no events. */
const EMPTY_SCHEMA = ["fake", [], [], []];

const NAMES: Record<number, string> = { 0: "hello", 1: "join", 2: "leave", 4: "ping", 5: "create", 6: "resume", 8: "watch", 9: "claim" };

let nextPlayer = 1;

export async function fakeNode(answer: Answer = () => false): Promise<FakeNode> {
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise<void>((ok) => wss.once("listening", () => ok()));
  const port = (wss.address() as AddressInfo).port;
  const url = `ws://127.0.0.1:${port}/`;
  const node: FakeNode = {
    url,
    log: [],
    paths: [],
    peers: new Set(),
    answer,
    tokenOf: (id) => `tok-${port}-${id}`,
    stop: () =>
      new Promise<void>((ok) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => ok());
      }),
  };
  wss.on("connection", (ws: WebSocket, req) => {
    const path = req.url ?? "/";
    node.paths.push(path);
    let playerId = 0;
    const send = (type: number, body: unknown[]) => ws.send(encode([type, body]));
    const peer: Peer = {
      path,
      send,
      welcome() {
        playerId = nextPlayer++;
        send(0, [playerId, 60, 4, node.tokenOf(playerId), `anon-${playerId}`]);
      },
      joined: (room) => send(1, [room, [], EMPTY_SCHEMA]),
      error: (code, message, inReplyTo) => send(4, [code, message, inReplyTo]),
      redirect(to, room, ticket, inReplyTo, closeCode = 1000) {
        send(11, [to, room, ticket, inReplyTo]);
        ws.close(closeCode);
      },
      notice: (text, toAll, timeMs) => send(12, [text, toAll, timeMs]),
      cut: () => ws.terminate(),
    };
    node.peers.add(peer);
    ws.on("close", () => node.peers.delete(peer));
    ws.on("message", (data: Buffer) => {
      const [type, body] = decode(data) as [number, unknown[]];
      const arg = body.length > 0 ? (body[0] === null ? "-" : String(body[0])) : "";
      node.log.push(`${NAMES[type] ?? type}${arg === "" || type === 0 || type === 4 ? "" : " " + arg}`);
      if (node.answer(type, body, peer, node)) return;
      switch (type) {
        case 0:
          peer.welcome();
          return;
        case 1:
          peer.joined((body[0] as string | null) ?? "quick-1");
          return;
        case 5:
        case 8:
          peer.joined(body[0] as string);
          return;
        case 9:
          peer.joined(String(body[0]).startsWith("room:") ? String(body[0]).slice(5) : "den");
          return;
        case 6:
          peer.error(12, "resume refused: the room is gone", 6);
          return;
      }
    });
  });
  return node;
}

/** A client of the fake nodes, on `ws`'s WebSocket, with fast reconnects and no pings. */
export function fakeClient(urls: string | string[], options: ClientOptions = {}): Client {
  return new Client(urls, {
    WebSocket: WebSocket as unknown as ClientOptions["WebSocket"],
    pingIntervalMs: 0,
    reconnect: { initialDelayMs: 10, maxDelayMs: 40, maxAttempts: 6 },
    requestTimeoutMs: 3000,
    ...options,
  });
}

/** A URL on which nothing listens: a node that died. */
export async function deadUrl(): Promise<string> {
  const node = await fakeNode();
  await node.stop();
  return node.url;
}
