// README.md's "Writing a browser client", whole (a test keeps the two the same).
import { Client, arena } from "@tickwire/client";

const { game_port } = await (await fetch("/info")).json();
const client = new Client(`ws://${location.hostname}:${game_port}`, { name: "ana", predictor: arena.predictor });
await client.connect();
const room = await client.quickJoin(); // or join("name"), create("name", { private: true }), watch("name")

const held = new Set<string>();
onkeydown = (e) => held.add(e.key);
onkeyup = (e) => held.delete(e.key);
const axis = (minus: string, plus: string) => Number(held.has(plus)) - Number(held.has(minus));
setInterval(() => room.send({ dx: axis("a", "d"), dy: axis("w", "s") }), 1000 / client.tickRate);

const ctx = document.querySelector("canvas")!.getContext("2d")!;
const scale = ctx.canvas.width / arena.rules.size;
(function draw() {
  ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
  const others = room.interpolated().filter((e) => e.id !== room.playerId); // 100 ms behind
  for (const e of [...others, room.own()]) { // own(): predicted now, reconciled with the server
    if (!e) continue;
    ctx.fillStyle = e.id === room.playerId ? "#4c8" : "#c84";
    ctx.fillRect(Number(e.fields.x) * scale - 4, Number(e.fields.y) * scale - 4, 8, 8);
  }
  requestAnimationFrame(draw);
})();
