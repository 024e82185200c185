/**
 * A real tickwire-server for the session tests: started from the binary the workspace
 * builds (`TICKWIRE_SERVER_BIN`, or `../../target/debug/tickwire-server` from
 * clients/typescript; build it with `cargo build -p tickwire-server`), on ports the system
 * picks, and killed by its own PID when the test is done. Also the waits the tests share:
 * every wait is for an event, with a timeout, never a fixed sleep.
 */

import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { WebSocket } from "ws";

import { Client, type ClientOptions } from "../src/index.js";

/** The binary: from the environment, or the workspace's debug build. */
export function serverBin(): string {
  const fromEnv = process.env.TICKWIRE_SERVER_BIN;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  // Tests run from build/test/, compiled; the package folder is two levels up.
  return resolve(process.cwd(), "../../target/debug/tickwire-server");
}

export interface TestServer {
  /** `ws://127.0.0.1:PORT/` */
  url: string;
  /** Extra client options every `client()` gets. */
  client(options?: ClientOptions): Client;
  /** Stops the server (idempotent). Resolves once the process has exited. */
  stop(): Promise<void>;
  /** A token signed with the server's secret (only for servers started with `--auth-secret`). */
  token(sub: string, extra?: string[]): string;
  readonly process: ChildProcess;
}

/** Starts a server with `args` added to the ephemeral binds; resolves once it listens. */
export async function startServer(args: string[] = []): Promise<TestServer> {
  const bin = serverBin();
  if (!existsSync(bin)) {
    throw new Error(`no tickwire-server at ${bin}: run \`cargo build -p tickwire-server\` in the workspace, or set TICKWIRE_SERVER_BIN`);
  }
  const child = spawn(bin, ["--bind", "127.0.0.1:0", "--admin-bind", "127.0.0.1:0", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? "warn" },
  });
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  const address = await new Promise<string>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`the server did not say where it listens within 10 s\n${stderr}`)), 10_000);
    const lines = createInterface({ input: child.stdout! });
    const both = (line: string) => {
      const m = /listening on ws:\/\/(\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    };
    lines.on("line", both);
    // Some builds log to stderr; look there too.
    createInterface({ input: child.stderr! }).on("line", both);
    child.once("exit", (code) => {
      clearTimeout(timer);
      fail(new Error(`the server exited (${code}) before listening\n${stderr}`));
    });
  });
  // Keep draining stdout so the server never blocks on a full pipe.
  child.stdout?.resume();
  const url = `ws://${address}/`;
  const secretAt = args.indexOf("--auth-secret");
  const secret = secretAt >= 0 ? args[secretAt + 1] : undefined;
  let stopped = false;
  return {
    url,
    process: child,
    client(options: ClientOptions = {}) {
      return new Client(url, { WebSocket: WebSocket as unknown as ClientOptions["WebSocket"], ...options });
    },
    token(sub: string, extra: string[] = []) {
      if (secret === undefined) throw new Error("this server has no --auth-secret");
      return execFileSync(bin, ["token", "--sub", sub, "--auth-secret", secret, ...extra]).toString().trim();
    },
    async stop() {
      if (!stopped && child.exitCode === null && child.signalCode === null) {
        stopped = true;
        child.kill("SIGKILL");
      }
      await exited;
    },
  };
}

/** Resolves with the first emission of `event` for which `accept` holds; rejects after `timeoutMs`. */
export function waitFor<T extends unknown[]>(
  target: { on(event: any, fn: (...args: any[]) => void): () => void },
  event: string,
  accept: (...args: T) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise<T>((ok, fail) => {
    const timer = setTimeout(() => {
      off();
      fail(new Error(`no "${event}" within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = target.on(event, (...args: unknown[]) => {
      let yes = false;
      try {
        yes = accept(...(args as T));
      } catch (err) {
        clearTimeout(timer);
        off();
        fail(err);
        return;
      }
      if (yes) {
        clearTimeout(timer);
        off();
        ok(args as T);
      }
    });
  });
}

/** Polls `cond` on every emission of `event` until it holds (checked first at once). */
export async function until(
  target: { on(event: any, fn: (...args: any[]) => void): () => void },
  event: string,
  cond: () => boolean,
  timeoutMs = 5000,
): Promise<void> {
  if (cond()) return;
  await waitFor(target, event, () => cond(), timeoutMs);
}

/** Rejects with the error a promise rejects with, or fails if it resolves. */
export async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error("expected a rejection");
}
