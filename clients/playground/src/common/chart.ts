/**
 * A line chart on a canvas: a few series over the last minutes, y from 0 to a round
 * number above the largest value, the latest value of each in the legend. Gaps (null)
 * break the line rather than being drawn as zero.
 */

import { fitCanvas } from "./dom.js";

export interface Line {
  key: string;
  label: string;
  colour: string;
}

/** The smallest of 1, 2 or 5 times a power of ten at or above `x`: an axis's top. */
export function roundUp(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

export class LineChart {
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly title: string,
    private readonly lines: Line[],
    private readonly format: (v: number) => string,
    /** How many points the x axis spans. */
    private readonly span: number,
  ) {
    const ctx = canvas.getContext("2d");
    if (!ctx) throw new Error("this browser has no canvas 2D");
    this.ctx = ctx;
  }

  /** Draws the chart; returns how many points it plotted. */
  draw(series: Record<string, (number | null)[]>): number {
    const { width, height } = fitCanvas(this.canvas);
    const ctx = this.ctx;
    const left = 56;
    const top = 24;
    const right = 8;
    const bottom = 8;
    const w = width - left - right;
    const h = height - top - bottom;
    ctx.fillStyle = "#161b22";
    ctx.fillRect(0, 0, width, height);
    let max = 0;
    for (const l of this.lines) for (const v of series[l.key] ?? []) if (v !== null && v > max) max = v;
    const yTop = roundUp(max);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "right";
    ctx.strokeStyle = "#21262d";
    ctx.fillStyle = "#8b949e";
    for (let i = 0; i <= 4; i++) {
      const y = top + h - (h * i) / 4;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(left + w, y);
      ctx.stroke();
      ctx.fillText(this.format((yTop * i) / 4), left - 4, y + 4);
    }
    let plotted = 0;
    let legendX = 4;
    ctx.textAlign = "left";
    ctx.fillStyle = "#c9d1d9";
    ctx.fillText(this.title, 4, 14);
    legendX += ctx.measureText(this.title).width + 12;
    for (const l of this.lines) {
      const values = series[l.key] ?? [];
      ctx.strokeStyle = l.colour;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      let pen = false;
      values.forEach((v, i) => {
        if (v === null) {
          pen = false;
          return;
        }
        const x = left + (w * (this.span - values.length + i)) / Math.max(1, this.span - 1);
        const y = top + h - (h * v) / yTop;
        if (pen) ctx.lineTo(x, y);
        else ctx.moveTo(x, y);
        pen = true;
        plotted++;
      });
      ctx.stroke();
      const latest = [...values].reverse().find((v) => v !== null);
      const text = `${l.label} ${latest === undefined || latest === null ? "–" : this.format(latest)}`;
      ctx.fillStyle = l.colour;
      ctx.fillText(text, legendX, 14);
      legendX += ctx.measureText(text).width + 12;
    }
    return plotted;
  }
}
