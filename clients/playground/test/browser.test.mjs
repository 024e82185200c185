// The playground in a real headless Chromium against a real server and real bots: the
// pages load, connect, draw the room, the keyboard moves the player as the server
// confirms, a spectator sees it, two tabs play together with no hash mismatch, the
// operator charts the metrics, and the play page's pixels are not blank. Then the same
// for the shooter: ships, score table, match clock and events, and a lost server shown
// as a reconnect.

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { launchBrowser, openPage, packageDir, startBots, startServer, stop, waitFor, waitForRooms } from "./harness.mjs";

const BOTS = 3;
const ROOM = "bots-0";
const output = join(packageDir, "test-output");

/** Distinct colours, and the share of pixels that are not the page's background. */
function pixels(file) {
  const png = PNG.sync.read(readFileSync(file));
  const colours = new Set();
  let painted = 0;
  for (let i = 0; i < png.data.length; i += 4) {
    const [r, g, b] = [png.data[i], png.data[i + 1], png.data[i + 2]];
    colours.add((r << 16) | (g << 8) | b);
    // The page's background is #0d1117.
    if (Math.abs(r - 0x0d) + Math.abs(g - 0x11) + Math.abs(b - 0x17) > 12) painted++;
  }
  return { colours: colours.size, painted: painted / (png.width * png.height) };
}

function noProblems(...pages) {
  for (const p of pages) assert.deepEqual(p.problems, [], `errors on ${p.url()}`);
}

describe("the arena playground", { timeout: 120000 }, () => {
  let server;
  let bots;
  let browser;
  let base;
  let play;
  let watch;
  let second;
  let me;

  before(async () => {
    browser = await launchBrowser();
    server = await startServer();
    base = server.admin;
    bots = startBots(server.ws, BOTS, 60);
    await waitForRooms(base, (rooms) => rooms.some((r) => r.id === ROOM && r.players >= BOTS), `${BOTS} bots in ${ROOM}`);
  });

  after(async () => {
    await browser?.close();
    await stop(bots);
    await stop(server?.child);
  });

  it("serves /info with the game and its port", async () => {
    const info = await (await fetch(`${base}/info`)).json();
    assert.equal(info.game, "arena");
    assert.equal(`ws://127.0.0.1:${info.game_port}`, server.ws, "the game port /info gives is the one the server listens on");
  });

  it("the home page shows the game and the room", async () => {
    const page = await openPage(browser, `${base}/`);
    const t = await waitFor(page, "the home page to list the room", (t) => t.ready && t.rooms >= 1);
    assert.equal(t.game, "arena");
    assert.match(await page.textContent("#rooms"), /bots-0/);
    noProblems(page);
    await page.close();
  });

  it("the play page joins the bots' room and draws them", async () => {
    play = await openPage(browser, `${base}/play.html?room=${ROOM}&name=tester`);
    me = await waitFor(play, `the play page to draw ${BOTS} bots`, (t, n) => t.ready && t.others.length >= n && t.drawn >= n + 1 && t.own, BOTS);
    assert.equal(me.room, ROOM);
    assert.equal(me.game, "arena");
    assert.ok(me.playerId > 0);
    assert.equal(me.hashMismatches, 0);
    noProblems(play);
  });

  it("a held key moves the player, as the server confirms, and a spectator sees it", async () => {
    watch = await openPage(browser, `${base}/watch.html?room=${ROOM}`);
    const seen = await waitFor(watch, "the watch page to see the player", (t, id) => t.ready && t.others.some((o) => o.id === id), me.playerId);
    assert.ok(seen.others.length >= BOTS + 1, "the spectator draws every player");
    assert.equal(seen.playerId, null, "a spectator has no player of its own");
    const start = (await play.evaluate(() => window.tickwire.confirmed));
    const startSeen = seen.others.find((o) => o.id === me.playerId);
    // Run away from the nearer wall, so the move cannot be stopped by it.
    const right = start.x < 1000;
    const key = right ? "KeyD" : "KeyA";
    const sign = right ? 1 : -1;
    await play.keyboard.down(key);
    try {
      await waitFor(play, "the server to confirm a move of 150 units", (t, a) => t.confirmed && a.sign * (t.confirmed.x - a.x) >= 150, { x: start.x, sign });
    } finally {
      await play.keyboard.up(key);
    }
    await waitFor(watch, "the spectator to see the move", (t, a) => {
      const p = t.others.find((o) => o.id === a.id);
      return p && a.sign * (p.x - a.x) >= 120;
    }, { id: me.playerId, x: startSeen.x, sign });
    const predicted = await play.evaluate(() => window.tickwire.own);
    assert.ok(sign * (predicted.x - start.x) >= 150, "the predicted position moved too");
    noProblems(play, watch);
  });

  it("two play pages in one room see each other, with no hash mismatch", async () => {
    second = await openPage(browser, `${base}/play.html?room=${ROOM}&name=tester2`);
    const other = await waitFor(second, "the second page to see the first", (t, id) => t.ready && t.others.some((o) => o.id === id), me.playerId);
    await waitFor(play, "the first page to see the second", (t, id) => t.others.some((o) => o.id === id), other.playerId);
    // Two seconds of snapshots on both, so that a mismatch had its chance to show.
    const [a, b] = await Promise.all([play, second].map((p) => p.evaluate(() => window.tickwire.snapshotsApplied)));
    await waitFor(play, "120 more snapshots on the first page", (t, n) => t.snapshotsApplied >= n + 120, a);
    await waitFor(second, "120 more snapshots on the second page", (t, n) => t.snapshotsApplied >= n + 120, b);
    for (const p of [play, second, watch]) {
      assert.equal(await p.evaluate(() => window.tickwire.hashMismatches), 0, `hash mismatches on ${p.url()}`);
    }
    assert.match(await second.textContent("#hud"), /tester|bots-0/);
    noProblems(play, second, watch);
  });

  it("the operator page lists the room and charts the metrics", async () => {
    const page = await openPage(browser, `${base}/operator.html`);
    const t = await waitFor(page, "three scrapes with players, bytes and tick times", (t, room) =>
      t.ready && t.samples >= 3 && t.rooms.some((r) => r.id === room) &&
      t.series.players.some((v) => v > 0) &&
      t.series.bytesOutPerSecond.some((v) => v > 0) &&
      t.series.tickP50Ms.some((v) => v !== null && v > 0), ROOM);
    const row = t.rooms.find((r) => r.id === ROOM);
    assert.ok(row.players >= BOTS + 2, `bots and both pages are seated: ${JSON.stringify(row)}`);
    assert.ok(await page.locator(`tr[data-room="${ROOM}"]`).count() === 1);
    mkdirSync(output, { recursive: true });
    await page.screenshot({ path: join(output, "operator.png") });
    const shot = pixels(join(output, "operator.png"));
    assert.ok(shot.colours >= 8, `the operator page has ${shot.colours} colours`);
    noProblems(page);
    await page.close();
  });

  it("the watch page without a room offers the open rooms, and play without one quick-joins", async () => {
    const picker = await openPage(browser, `${base}/watch.html`);
    await picker.waitForSelector(`#rooms a[href="watch.html?room=${ROOM}"]`, { timeout: 5000 });
    const quick = await openPage(browser, `${base}/play.html?name=quick`);
    const t = await waitFor(quick, "a quick-join", (t) => t.ready && t.room !== null && t.own);
    assert.ok(t.playerId > 0);
    noProblems(picker, quick);
    await Promise.all([picker.close(), quick.close()]);
  });

  it("the README's minimal client joins, draws itself and the others, and walks with D", async () => {
    const page = await openPage(browser, `${base}/minimal.html`);
    // The example has no test hook: read its canvas. Its own square is #4c8, others #c84.
    const squares = () =>
      page.evaluate(() => {
        const c = document.querySelector("canvas");
        const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
        let own = 0, ownX = 0, others = 0;
        for (let i = 0; i < d.length; i += 4) {
          if (d[i] === 0x44 && d[i + 1] === 0xcc && d[i + 2] === 0x88) { own++; ownX += (i / 4) % c.width; }
          if (d[i] === 0xcc && d[i + 1] === 0x88 && d[i + 2] === 0x44) others++;
        }
        return { own, x: own ? ownX / own : null, others };
      });
    const deadline = Date.now() + 15000;
    let seen = await squares();
    while (!(seen.own > 0 && seen.others >= BOTS * 16) && Date.now() < deadline) {
      await page.waitForTimeout(50);
      seen = await squares();
    }
    assert.ok(seen.own > 0 && seen.others >= BOTS * 16, `drawn: ${JSON.stringify(seen)}`);
    // Walk away from the nearer wall: D goes right, A left.
    const key = seen.x < 300 ? "d" : "a";
    const start = seen.x;
    await page.keyboard.down(key);
    let moved = 0;
    while (moved < 20 && Date.now() < deadline + 10000) {
      await page.waitForTimeout(50);
      const now = await squares();
      if (now.x !== null) moved = Math.abs(now.x - start);
    }
    await page.keyboard.up(key);
    assert.ok(moved >= 20, `the own square moved ${moved} px`);
    noProblems(page);
    await page.close();
  });

  it("README.md shows the minimal client as it is", () => {
    const readme = readFileSync(join(packageDir, "../../README.md"), "utf8");
    const example = readFileSync(join(packageDir, "src/pages/minimal.ts"), "utf8");
    assert.ok(readme.includes("```ts\n" + example + "```"), "README.md's browser client differs from src/pages/minimal.ts");
  });

  it("the play page's screenshot is not blank", async () => {
    mkdirSync(output, { recursive: true });
    const file = join(output, "play.png");
    await play.screenshot({ path: file });
    const shot = pixels(file);
    assert.ok(shot.colours >= 16, `the play page has ${shot.colours} colours`);
    assert.ok(shot.painted >= 0.2, `only ${(shot.painted * 100).toFixed(1)}% of the play page is painted`);
  });
});

describe("the shooter playground", { timeout: 120000 }, () => {
  let server;
  let bots;
  let browser;

  before(async () => {
    browser = await launchBrowser();
    server = await startServer(["--game", "shooter"]);
    bots = startBots(server.ws, BOTS, 60, ["--game", "shooter"]);
    await waitForRooms(server.admin, (rooms) => rooms.some((r) => r.id === ROOM && r.players >= BOTS), `${BOTS} shooter bots in ${ROOM}`);
  });

  after(async () => {
    await browser?.close();
    await stop(bots);
    await stop(server?.child);
  });

  it("the play page draws ships, the score table, the clock and the events", async () => {
    const page = await openPage(browser, `${server.admin}/play.html?room=${ROOM}&name=gunner`);
    const t = await waitFor(page, "ships and a game event", (t, n) => t.ready && t.game === "shooter" && t.others.length >= n && t.events > 0, BOTS, 20000);
    assert.equal(t.hashMismatches, 0);
    // One score row per player, and the match clock.
    await page.waitForFunction((n) => document.querySelectorAll('#state table[data-kind="score"] tr').length >= n + 2, BOTS, { timeout: 5000 });
    assert.match(await page.textContent('#state table[data-kind="match"]'), /warmup|playing|over/);
    // Fire along the mouse for a moment: the page's own bullets are drawn.
    await page.mouse.move(550, 100);
    await page.keyboard.down("Space");
    try {
      await waitFor(page, "a bullet on screen", (t) => t.shots > 0);
    } finally {
      await page.keyboard.up("Space");
    }
    mkdirSync(output, { recursive: true });
    await page.screenshot({ path: join(output, "shooter.png") });
    assert.ok(pixels(join(output, "shooter.png")).colours >= 16);
    noProblems(page);

    // The server dies without a word: the page says it is reconnecting.
    server.child.kill("SIGKILL");
    await waitFor(page, "the page to show it is reconnecting", (t) => t.status === "reconnecting");
    assert.match(await page.textContent("#status"), /reconnecting/);
  });
});
