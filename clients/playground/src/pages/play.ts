/**
 * play.html?room=NAME&name=NAME: play the server's game with keyboard and mouse. No room
 * quick-joins. Inputs are sent at the tick rate from a timer, one per tick, because the
 * SDK predicts the own player by replaying the unacknowledged inputs a tick each.
 */

import type { Room } from "@tickwire/client";
import { Controls, heldDirection, inputValues, type Intent } from "../common/controls.js";
import { byId, param, showFatal } from "../common/dom.js";
import { emptySessionHook } from "../common/hook.js";
import { defaultName, openSession, statusLine } from "../common/session.js";
import { Stage } from "../common/stage.js";
import { toWorld } from "../common/view.js";

/** At most this many inputs are sent at once after a stall, so a frozen tab that wakes up
 * does not replay seconds of held keys. */
const MAX_CATCH_UP = 4;

const hook = emptySessionHook("play");
window.tickwire = hook;
const status = byId("status");

main().catch((err: unknown) => {
  hook.status = "error";
  hook.error = err instanceof Error ? err.message : String(err);
  showFatal(status, err);
});

async function main(): Promise<void> {
  const canvas = byId<HTMLCanvasElement>("view");
  const name = param("name") ?? defaultName();
  const session = await openSession({ play: param("room") }, name, statusLine(hook, status));
  const { room, info } = session;
  document.title = `${room.name} · play · Tickwire`;
  const stage = new Stage(room, canvas, hook, true);
  const controls = new Controls(canvas);
  canvas.focus();
  stage.start();
  sendInputs(room, info.tick_rate, () => intent(controls, stage));
}

/** Where the player wants to go and aim: the mouse aims when it has moved over the
 * canvas; until then, the player looks where it runs. */
let lastDir: [number, number] = [1, 0];
function intent(controls: Controls, stage: Stage): Intent {
  const dir = heldDirection(controls.held);
  if (dir[0] !== 0 || dir[1] !== 0) lastDir = dir;
  let aim = Math.atan2(lastDir[1], lastDir[0]);
  if (controls.mouse && stage.fit && stage.ownAt) {
    const [mx, my] = toWorld(stage.fit, controls.mouse.x, controls.mouse.y);
    aim = Math.atan2(my - stage.ownAt[1], mx - stage.ownAt[0]);
  }
  return { dir, aim, fire: controls.firing };
}

function sendInputs(room: Room, tickRate: number, now: () => Intent): void {
  const period = 1000 / tickRate;
  let due = performance.now();
  let paused = false;
  room.on("reconnecting", () => (paused = true));
  room.on("resumed", () => (paused = false));
  room.on("leave", () => (paused = true));
  // Half a period, so that a late timer still sends each tick's input in its tick.
  setInterval(() => {
    const t = performance.now();
    if (paused) {
      due = t;
      return;
    }
    const values = inputValues(room.schema.input, now());
    for (let n = 0; due <= t && n < MAX_CATCH_UP; n++) {
      room.send(values);
      due += period;
    }
    if (due < t) due = t;
  }, period / 2);
}
