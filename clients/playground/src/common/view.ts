/**
 * Where the world goes on the canvas: the whole world square fitted into the canvas,
 * centred, with a margin, so that every player is on screen without a camera to follow.
 * Pure arithmetic, unit tested.
 */

/** A world-to-screen mapping: `screen = offset + world × scale`, in CSS pixels. */
export interface Fit {
  scale: number;
  offsetX: number;
  offsetY: number;
}

/** Fits a `worldW × worldH` world into a `width × height` canvas, `margin` pixels in. */
export function fitWorld(width: number, height: number, worldW: number, worldH: number, margin = 8): Fit {
  const scale = Math.max(0, Math.min((width - 2 * margin) / worldW, (height - 2 * margin) / worldH));
  return {
    scale,
    offsetX: (width - worldW * scale) / 2,
    offsetY: (height - worldH * scale) / 2,
  };
}

export function toScreen(fit: Fit, x: number, y: number): [number, number] {
  return [fit.offsetX + x * fit.scale, fit.offsetY + y * fit.scale];
}

export function toWorld(fit: Fit, sx: number, sy: number): [number, number] {
  return fit.scale > 0 ? [(sx - fit.offsetX) / fit.scale, (sy - fit.offsetY) / fit.scale] : [0, 0];
}
