// The browser test's fixtures: a real tickwire-server serving the built playground, a
// few real bots, headless Chromium, and a wait that says what it was waiting for. Every
// process started here is stopped by its PID; nothing is skipped when a tool is missing,
// the test fails with what to install.

import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), "..");
export const dist = resolve(packageDir, "dist");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

function binary(envName, fallback) {
  const path = process.env[envName] ? resolve(process.env[envName]) : resolve(packageDir, fallback);
  if (!existsSync(path)) {
    throw new Error(`${path} does not exist: build it with \`cargo build -p tickwire-server -p tickwire-bot\`, or set ${envName}`);
  }
  return path;
}

/** A child process whose output is kept (the last lines) for the failure message. */
function start(path, args, name) {
  const child = spawn(path, args, { stdio: ["ignore", "pipe", "pipe"] });
  const tail = [];
  const keep = (chunk) => {
    for (const line of String(chunk).split("\n")) if (line) tail.push(`${name}: ${line}`);
    tail.splice(0, Math.max(0, tail.length - 40));
  };
  child.stderr.on("data", keep);
  child.tail = tail;
  child.exited = new Promise((r) => child.once("exit", (code, signal) => r({ code, signal })));
  running.add(child);
  child.exited.then(() => running.delete(child));
  return { child, keep };
}

const running = new Set();
// A test runner killed mid-run must not leave a server holding its ports.
process.once("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

/** Stops a child by its PID: SIGTERM, then SIGKILL if it has not gone in 5 s. */
export async function stop(child) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill("SIGTERM");
  const late = setTimeout(() => child.kill("SIGKILL"), 5000);
  await child.exited;
  clearTimeout(late);
}

/**
 * Starts the server on free ports with the playground, and resolves once it has printed
 * both its addresses: `{ child, ws: "ws://ADDR", admin: "http://ADDR" }`.
 */
export function startServer(extraArgs = []) {
  const path = binary("TICKWIRE_SERVER_BIN", "../../target/debug/tickwire-server");
  const args = ["--bind", "127.0.0.1:0", "--admin-bind", "127.0.0.1:0", "--playground", dist, ...extraArgs];
  const { child, keep } = start(path, args, "server");
  return new Promise((resolveStarted, reject) => {
    let ws = null;
    let admin = null;
    let buffered = "";
    const timer = setTimeout(() => fail(new Error("the server printed no addresses in 20 s")), 20000);
    const fail = (err) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(`${err.message}\n${child.tail.join("\n")}`));
    };
    child.stdout.on("data", (chunk) => {
      keep(chunk);
      buffered += chunk;
      ws ??= buffered.match(/listening on (ws:\/\/\S+)/)?.[1] ?? null;
      admin ??= buffered.match(/admin on (http:\/\/\S+)/)?.[1] ?? null;
      if (ws && admin) {
        clearTimeout(timer);
        resolveStarted({ child, ws, admin });
      }
    });
    child.once("error", fail);
    child.exited.then(({ code, signal }) => fail(new Error(`the server exited (${code ?? signal}) before it listened`)));
  });
}

/** Starts `count` bots in room bots-0 for `seconds`. */
export function startBots(ws, count, seconds, extraArgs = []) {
  const path = binary("TICKWIRE_BOT_BIN", "../../target/debug/tickwire-bot");
  const args = ["--url", ws, "--bots", String(count), "--duration", String(seconds), "--quiet", ...extraArgs];
  const { child, keep } = start(path, args, "bot");
  child.stdout.on("data", keep);
  return child;
}

/** Polls `GET /rooms` until `ok(rooms)` holds. */
export async function waitForRooms(admin, ok, what, timeoutMs = 20000) {
  const deadline = Date.now() + timeoutMs;
  let rooms = null;
  while (Date.now() < deadline) {
    try {
      rooms = await (await fetch(`${admin}/rooms`)).json();
      if (ok(rooms)) return rooms;
    } catch {
      // Not up yet: asked again below.
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last /rooms: ${JSON.stringify(rooms)}`);
}

/** Headless Chromium, or a loud failure saying how to install it. */
export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it with \`apt-get install -y chromium\` (or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}

/**
 * Opens a page and records its uncaught errors, console errors and failed requests,
 * which every check then asserts are none: a page that throws is broken even if it draws.
 */
export async function openPage(browser, url) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  page.problems = [];
  page.on("pageerror", (err) => page.problems.push(`pageerror: ${err.message}`));
  page.on("response", (r) => {
    if (r.status() >= 400) page.problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on("console", (msg) => {
    if (msg.type() === "error") page.problems.push(`console.error: ${msg.text()}`);
  });
  await page.goto(url);
  return page;
}

/**
 * Waits until `fn(window.tickwire, arg)` is true in the page; on a timeout, the error
 * says what was awaited and shows the page's state.
 */
export async function waitFor(page, what, fn, arg = null, timeoutMs = 15000) {
  try {
    // Sent as an expression: the predicate runs in the page, not in Node.
    const expression = `(() => { const t = window.tickwire; return t !== undefined && Boolean((${fn.toString()})(t, ${JSON.stringify(arg)})); })()`;
    await page.waitForFunction(expression, null, { timeout: timeoutMs, polling: 50 });
  } catch (err) {
    const state = await page.evaluate(() => JSON.stringify(window.tickwire)).catch(() => "unavailable");
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} on ${page.url()}\nwindow.tickwire = ${state}\n${page.problems.join("\n")}\n(${err.message.split("\n")[0]})`);
  }
  return page.evaluate(() => window.tickwire);
}
