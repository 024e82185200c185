/**
 * The admin endpoint the pages are served from: `GET /info` (which game, which port),
 * `GET /rooms` and `GET /metrics`, read from the page's own origin.
 */

/** `GET /info`: what the pages need before they can open a game connection. */
export interface ServerInfo {
  game: string;
  game_port: number;
  tick_rate: number;
  protocol_version: number;
}

/** One row of `GET /rooms`. */
export interface RoomRow {
  id: string;
  players: number;
  capacity: number;
  private: boolean;
}

async function getJson<T>(path: string): Promise<T> {
  const response = await fetch(path, { cache: "no-store" });
  if (!response.ok) throw new Error(`GET ${path}: HTTP ${response.status}`);
  return (await response.json()) as T;
}

export function fetchInfo(): Promise<ServerInfo> {
  return getJson<ServerInfo>("/info");
}

export function fetchRooms(): Promise<RoomRow[]> {
  return getJson<RoomRow[]>("/rooms");
}

export async function fetchMetrics(): Promise<string> {
  const response = await fetch("/metrics", { cache: "no-store" });
  if (!response.ok) throw new Error(`GET /metrics: HTTP ${response.status}`);
  return response.text();
}

/**
 * The game server's WebSocket URL: the page's host on the game port, since the admin
 * port that serves the page is another listener of the same server. `?server=ws://...`
 * overrides it, for a game port behind another host name.
 */
export function gameUrl(info: ServerInfo, params: URLSearchParams = new URLSearchParams(location.search)): string {
  const given = params.get("server");
  if (given) return given;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  // `location.hostname` keeps an IPv6 address's brackets, as a URL needs them.
  return `${scheme}://${location.hostname}:${info.game_port}`;
}
