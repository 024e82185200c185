/**
 * Canvas 2D drawing of a scene: the world square, its grid, every body with its name and
 * facing, the shots and the flashes. It returns how many things it drew, which the pages
 * expose for tests (a page that decodes snapshots but draws nothing is a failure too).
 */

import { fitWorld, toScreen, type Fit } from "./view.js";
import type { Scene, Body } from "./scene.js";

const BACKGROUND = "#0d1117";
const WORLD = "#161b22";
const GRID = "#21262d";
/** How long an event's flash stays on screen. */
export const FLASH_MS = 400;

/** A stable colour per player, spread around the hue circle by the golden angle. */
export function playerColour(id: number): string {
  return `hsl(${(id * 137.508) % 360} 70% 60%)`;
}

export function drawScene(ctx: CanvasRenderingContext2D, width: number, height: number, scene: Scene, now: number): { fit: Fit; drawn: number } {
  const { size } = scene.look;
  // A margin wide enough for the name above a player at the top edge.
  const fit = fitWorld(width, height, size, size, 18);
  ctx.fillStyle = BACKGROUND;
  ctx.fillRect(0, 0, width, height);
  drawWorld(ctx, fit, size);
  let drawn = 0;
  for (const s of scene.shots) {
    const [sx, sy] = toScreen(fit, s.x, s.y);
    ctx.fillStyle = playerColour(s.owner);
    ctx.beginPath();
    ctx.arc(sx, sy, Math.max(1.5, 3 * fit.scale), 0, Math.PI * 2);
    ctx.fill();
    drawn++;
  }
  // Own body last, so that it is never hidden under another.
  const ordered = [...scene.bodies].sort((a, b) => Number(a.own) - Number(b.own));
  for (const b of ordered) {
    drawBody(ctx, fit, scene.look.radius, b);
    drawn++;
  }
  for (const f of scene.flashes) {
    const age = (now - f.at) / FLASH_MS;
    if (age < 0 || age > 1) continue;
    const [sx, sy] = toScreen(fit, f.x, f.y);
    ctx.strokeStyle = f.kind === "kill" ? `rgba(255,80,80,${1 - age})` : `rgba(255,220,120,${1 - age})`;
    ctx.lineWidth = 2;
    ctx.beginPath();
    ctx.arc(sx, sy, (f.kind === "kill" ? 30 : 12) * fit.scale + age * 12, 0, Math.PI * 2);
    ctx.stroke();
  }
  return { fit, drawn };
}

function drawWorld(ctx: CanvasRenderingContext2D, fit: Fit, size: number): void {
  const [x0, y0] = toScreen(fit, 0, 0);
  const side = size * fit.scale;
  ctx.fillStyle = WORLD;
  ctx.fillRect(x0, y0, side, side);
  ctx.strokeStyle = GRID;
  ctx.lineWidth = 1;
  ctx.beginPath();
  // Ten lines each way, whatever the world's size, so the grid reads as a scale.
  for (let i = 1; i < 10; i++) {
    const d = (side * i) / 10;
    ctx.moveTo(x0 + d, y0);
    ctx.lineTo(x0 + d, y0 + side);
    ctx.moveTo(x0, y0 + d);
    ctx.lineTo(x0 + side, y0 + d);
  }
  ctx.stroke();
  ctx.strokeStyle = "#30363d";
  ctx.strokeRect(x0, y0, side, side);
}

function drawBody(ctx: CanvasRenderingContext2D, fit: Fit, radius: number, b: Body): void {
  const [sx, sy] = toScreen(fit, b.x, b.y);
  // Drawn a little larger than life when the world is scaled far down, or a player
  // would be a dot.
  const r = Math.max(4, radius * fit.scale);
  ctx.globalAlpha = b.dead ? 0.3 : 1;
  ctx.fillStyle = playerColour(b.id);
  ctx.beginPath();
  ctx.arc(sx, sy, r, 0, Math.PI * 2);
  ctx.fill();
  if (b.own || b.marked) {
    ctx.strokeStyle = b.marked ? "#ff5555" : "#ffffff";
    ctx.lineWidth = 2;
    ctx.stroke();
  }
  if (b.facing !== undefined) {
    ctx.strokeStyle = "#ffffff";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(sx, sy);
    ctx.lineTo(sx + Math.cos(b.facing) * r * 1.6, sy + Math.sin(b.facing) * r * 1.6);
    ctx.stroke();
  }
  if (b.health !== undefined && !b.dead) {
    ctx.fillStyle = "#30363d";
    ctx.fillRect(sx - r, sy + r + 2, 2 * r, 3);
    ctx.fillStyle = b.health > 0.3 ? "#3fb950" : "#f85149";
    ctx.fillRect(sx - r, sy + r + 2, 2 * r * b.health, 3);
  }
  ctx.globalAlpha = 1;
  if (b.label) {
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.fillStyle = b.own ? "#ffffff" : "#c9d1d9";
    ctx.fillText(b.label, sx, sy - r - 4);
  }
}
