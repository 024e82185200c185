/**
 * operator.html: the server at a glance. Every second it reads `/rooms` and `/metrics`,
 * lists the rooms and charts players, tick duration (median and 99th percentile of the
 * ticks of that second, and their mean) and bytes sent per second.
 */

import { fetchMetrics, fetchRooms, type RoomRow } from "../common/admin.js";
import { LineChart } from "../common/chart.js";
import { byId, el, formatRate, showFatal } from "../common/dom.js";
import { figures, History } from "../common/figures.js";
import type { OperatorHook } from "../common/hook.js";
import { parseMetrics, type Scrape } from "../common/metrics.js";

/** Two minutes of one-second points. */
const SPAN = 120;

const hook: OperatorHook = { page: "operator", ready: false, rooms: [], samples: 0, series: {}, error: null };
window.tickwire = hook;
const status = byId("status");
const history = new History(SPAN);
hook.series = history.series;

const charts = [
  new LineChart(byId<HTMLCanvasElement>("chart-players"), "players", [
    { key: "players", label: "players", colour: "#58a6ff" },
    { key: "rooms", label: "rooms", colour: "#d2a8ff" },
  ], (v) => v.toFixed(0), SPAN),
  new LineChart(byId<HTMLCanvasElement>("chart-tick"), "tick duration", [
    { key: "tickP50Ms", label: "p50", colour: "#3fb950" },
    { key: "tickP99Ms", label: "p99", colour: "#f85149" },
    { key: "tickMeanMs", label: "mean", colour: "#e3b341" },
  ], (v) => (v === 0 ? "0" : `${v.toFixed(v < 1 ? 3 : 1)} ms`), SPAN),
  new LineChart(byId<HTMLCanvasElement>("chart-bytes"), "bytes out", [
    { key: "bytesOutPerSecond", label: "", colour: "#58a6ff" },
  ], formatRate, SPAN),
  new LineChart(byId<HTMLCanvasElement>("chart-snapshots"), "snapshots sent", [
    { key: "deltasPerSecond", label: "deltas/s", colour: "#3fb950" },
    { key: "keyframesPerSecond", label: "keyframes/s", colour: "#d2a8ff" },
  ], (v) => v.toFixed(0), SPAN),
];

let previous: { scrape: Scrape; at: number } | null = null;

async function poll(): Promise<void> {
  const [rooms, text] = await Promise.all([fetchRooms(), fetchMetrics()]);
  const at = performance.now();
  const scrape = parseMetrics(text);
  history.push(figures(previous?.scrape ?? null, scrape, previous ? (at - previous.at) / 1000 : 0));
  previous = { scrape, at };
  showRooms(rooms);
  for (const c of charts) c.draw(history.series);
  hook.rooms = rooms;
  hook.samples++;
  hook.ready = true;
  hook.error = null;
  status.textContent = `${rooms.length} room${rooms.length === 1 ? "" : "s"} · updated ${new Date().toLocaleTimeString()}`;
  status.className = "status good";
}

function showRooms(rooms: RoomRow[]): void {
  const body = byId("room-rows");
  body.replaceChildren(
    ...rooms.map((r) => {
      const tr = el("tr", undefined, { "data-room": r.id });
      const name = el("td");
      name.append(el("a", r.id, { href: `watch.html?room=${encodeURIComponent(r.id)}` }));
      const join = el("td");
      if (!r.private) join.append(el("a", "play", { href: `play.html?room=${encodeURIComponent(r.id)}` }));
      tr.append(name, el("td", `${r.players}/${r.capacity}`), el("td", r.private ? "private" : "public"), join);
      return tr;
    }),
  );
  byId("no-rooms").hidden = rooms.length > 0;
}

// One scrape at a time: a slow server gets asked again only after it answered.
async function loop(): Promise<void> {
  for (;;) {
    const started = performance.now();
    try {
      await poll();
    } catch (err) {
      hook.error = err instanceof Error ? err.message : String(err);
      showFatal(status, err);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (performance.now() - started))));
  }
}

void loop();
