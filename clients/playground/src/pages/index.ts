/**
 * index.html: what the playground is, which game this server runs (from `/info`) and the
 * rooms open now, with links to play or watch each; refreshed every second.
 */

import { fetchInfo, fetchRooms } from "../common/admin.js";
import { byId, el, showFatal } from "../common/dom.js";
import type { IndexHook } from "../common/hook.js";

const hook: IndexHook = { page: "index", ready: false, game: null, rooms: 0, error: null };
window.tickwire = hook;
const status = byId("status");

async function showInfo(): Promise<void> {
  const info = await fetchInfo();
  hook.game = info.game;
  byId("game").textContent = info.game;
  byId("tick-rate").textContent = `${info.tick_rate} Hz`;
  byId("protocol").textContent = String(info.protocol_version);
  byId("game-port").textContent = String(info.game_port);
}

async function showRooms(): Promise<void> {
  const rooms = await fetchRooms();
  hook.rooms = rooms.length;
  const list = byId("rooms");
  if (rooms.length === 0) {
    list.replaceChildren(el("li", "no rooms open: play to open one"));
    return;
  }
  list.replaceChildren(
    ...rooms.map((r) => {
      const li = el("li");
      const id = encodeURIComponent(r.id);
      li.append(el("strong", r.id), ` ${r.players}/${r.capacity}${r.private ? " private" : ""} · `);
      if (!r.private) li.append(el("a", "play", { href: `play.html?room=${id}` }), " · ");
      li.append(el("a", "watch", { href: `watch.html?room=${id}` }));
      return li;
    }),
  );
}

async function main(): Promise<void> {
  await Promise.all([showInfo(), showRooms()]);
  hook.ready = true;
  status.textContent = "";
  setInterval(() => {
    showRooms().catch((err: unknown) => showFatal(status, err));
  }, 1000);
}

main().catch((err: unknown) => {
  hook.error = err instanceof Error ? err.message : String(err);
  showFatal(status, err);
});
