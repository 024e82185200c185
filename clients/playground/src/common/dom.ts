/** Small DOM helpers the pages share, so that each page's code says what it shows. */

/** The element with this id, which the page's HTML must have. */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** A new element with text and attributes. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  attrs: Record<string, string> = {},
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** A query parameter, or null when absent or empty. */
export function param(name: string): string | null {
  const v = new URLSearchParams(location.search).get(name);
  return v === null || v === "" ? null : v;
}

/**
 * Sizes a canvas's backing store to its CSS size times the device pixel ratio, so that
 * lines stay sharp; returns the CSS size the drawing code works in.
 */
export function fitCanvas(canvas: HTMLCanvasElement): { width: number; height: number } {
  const r = canvas.getBoundingClientRect();
  const ratio = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(r.width * ratio));
  const h = Math.max(1, Math.round(r.height * ratio));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  canvas.getContext("2d")?.setTransform(ratio, 0, 0, ratio, 0, 0);
  return { width: r.width, height: r.height };
}

/** Formats bytes per second for a HUD. */
export function formatRate(bytesPerSecond: number | null | undefined): string {
  if (bytesPerSecond === null || bytesPerSecond === undefined || !Number.isFinite(bytesPerSecond)) return "–";
  if (bytesPerSecond >= 1e6) return `${(bytesPerSecond / 1e6).toFixed(2)} MB/s`;
  if (bytesPerSecond >= 1e3) return `${(bytesPerSecond / 1e3).toFixed(1)} kB/s`;
  return `${bytesPerSecond.toFixed(0)} B/s`;
}

/** Writes an error where the page shows its status, and to the console. */
export function showFatal(status: HTMLElement, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  status.textContent = `error: ${message}`;
  status.className = "status bad";
  console.error(err);
}
