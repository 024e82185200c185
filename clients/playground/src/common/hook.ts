/**
 * What each page shows on `window.tickwire`, for the browser test (and for a curious
 * developer in the console): the page's state in plain data, updated as the page draws.
 */

export interface Point {
  id: number;
  x: number;
  y: number;
  name?: string;
}

export interface SessionHook {
  page: "play" | "watch";
  ready: boolean;
  status: string;
  statusText: string;
  game: string | null;
  room: string | null;
  playerId: number | null;
  /** Own position as predicted now (play). */
  own: { x: number; y: number } | null;
  /** Own position in the newest applied snapshot: what the server confirmed (play). */
  confirmed: { x: number; y: number } | null;
  /** Every other player as drawn (interpolated). */
  others: Point[];
  shots: number;
  snapshotsApplied: number;
  hashMismatches: number;
  events: number;
  /** Things drawn in the last frame. */
  drawn: number;
  frames: number;
  error: string | null;
}

export interface OperatorHook {
  page: "operator";
  ready: boolean;
  rooms: { id: string; players: number; capacity: number; private: boolean }[];
  /** Scrapes taken. */
  samples: number;
  /** The charted series, newest last (null: no figure for that second). */
  series: Record<string, (number | null)[]>;
  error: string | null;
}

export interface IndexHook {
  page: "index";
  ready: boolean;
  game: string | null;
  rooms: number;
  error: string | null;
}

declare global {
  interface Window {
    tickwire?: SessionHook | OperatorHook | IndexHook;
  }
}

export function emptySessionHook(page: "play" | "watch"): SessionHook {
  return {
    page,
    ready: false,
    status: "connecting",
    statusText: "",
    game: null,
    room: null,
    playerId: null,
    own: null,
    confirmed: null,
    others: [],
    shots: 0,
    snapshotsApplied: 0,
    hashMismatches: 0,
    events: 0,
    drawn: 0,
    frames: 0,
    error: null,
  };
}
