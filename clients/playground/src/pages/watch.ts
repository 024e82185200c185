/**
 * watch.html?room=NAME: a spectator's view of a room, every player drawn with their name,
 * nobody predicted. Without a room, a picker of the open rooms, refreshed every second.
 */

import { fetchRooms } from "../common/admin.js";
import { byId, el, param, showFatal } from "../common/dom.js";
import { emptySessionHook } from "../common/hook.js";
import { defaultName, openSession, statusLine } from "../common/session.js";
import { Stage } from "../common/stage.js";

const hook = emptySessionHook("watch");
window.tickwire = hook;
const status = byId("status");
const roomName = param("room");

(roomName === null ? pick() : watch(roomName)).catch((err: unknown) => {
  hook.status = "error";
  hook.error = err instanceof Error ? err.message : String(err);
  showFatal(status, err);
});

async function watch(name: string): Promise<void> {
  byId("picker").hidden = true;
  const session = await openSession({ watch: name }, param("name") ?? `watcher-${defaultName()}`, statusLine(hook, status));
  document.title = `${session.room.name} · watch · Tickwire`;
  new Stage(session.room, byId<HTMLCanvasElement>("view"), hook, false).start();
}

async function pick(): Promise<void> {
  byId("game").hidden = true;
  status.textContent = "pick a room to watch";
  const list = byId("rooms");
  const refresh = async () => {
    const rooms = await fetchRooms();
    list.replaceChildren(
      ...(rooms.length === 0
        ? [el("li", "no rooms open")]
        : rooms.map((r) => {
            const li = el("li");
            li.append(el("a", r.id, { href: `watch.html?room=${encodeURIComponent(r.id)}` }));
            li.append(` ${r.players}/${r.capacity}${r.private ? " (private)" : ""}`);
            return li;
          })),
    );
  };
  await refresh();
  setInterval(() => refresh().catch((err: unknown) => showFatal(status, err)), 1000);
}
