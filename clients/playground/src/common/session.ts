/**
 * Opening a game session from a page: read `/info` for the game and its port, start a
 * client with the game's predictor, and join, quick-join or watch a room. The status line
 * follows the session's life (connecting, in the room, reconnecting, left), so a player
 * sees a dropped connection rather than a frozen world.
 */

import { Client, arena, shooter, type Room } from "@tickwire/client";
import { fetchInfo, gameUrl, type ServerInfo } from "./admin.js";

/** How the page wants to be in a room. */
export type Seat = { play: string | null } | { watch: string };

/** The life of a session, as the status line and the test hook show it. */
export type Status = "connecting" | "in room" | "reconnecting" | "left" | "error";

export interface Session {
  info: ServerInfo;
  client: Client;
  room: Room;
}

export interface SessionCallbacks {
  /** Every change of status, with a line of text for the player. */
  status(status: Status, text: string): void;
}

/** The predictor the SDK has for a game, if any: a game without one is drawn as the server says. */
function predictorFor(game: string) {
  switch (game) {
    case "arena":
      return arena.predictor;
    case "shooter":
      return shooter.predictor;
    default:
      return undefined;
  }
}

export async function openSession(seat: Seat, name: string, on: SessionCallbacks): Promise<Session> {
  on.status("connecting", "reading /info");
  const info = await fetchInfo();
  const url = gameUrl(info);
  on.status("connecting", `connecting to ${url}`);
  const predictor = predictorFor(info.game);
  const client = new Client(url, {
    name,
    ...(predictor ? { predictor } : {}),
    // The others are drawn interpolated, so a shot is judged against what was drawn.
    viewTick: "drawn",
  });
  await client.connect();
  const room =
    "watch" in seat
      ? await client.watch(seat.watch)
      : seat.play === null
        ? await client.quickJoin()
        : await client.join(seat.play);
  const here = () => `${room.watching ? "watching" : "playing"} ${room.name}`;
  on.status("in room", here());
  room.on("reconnecting", (attempt: number, delayMs: number) => {
    on.status("reconnecting", `connection lost: reconnecting (attempt ${attempt}, in ${Math.round(delayMs)} ms)`);
  });
  room.on("resumed", () => on.status("in room", `${here()} (resumed)`));
  room.on("leave", (why) => on.status("left", `left the room: ${why instanceof Error ? why.message : why}; reload to join again`));
  room.on("error", (err: Error) => on.status("error", err.message));
  // A refused resume makes the client a new player, out of the room: say so rather than
  // showing a world that no longer moves.
  client.on("reset", (err) => on.status("left", `the session could not be resumed (${err.message}); reload to join again`));
  client.on("close", (err) => {
    if (err) on.status("left", `disconnected: ${err.message}; reload to reconnect`);
  });
  return { info, client, room };
}

/** A display name for a tab that was not given one: short, and different per tab. */
export function defaultName(): string {
  return `guest-${Math.floor(Math.random() * 9000 + 1000)}`;
}

/** Callbacks that show the status on the page's status line and in its test hook. */
export function statusLine(hook: { status: string; statusText: string }, line: HTMLElement): SessionCallbacks {
  const tone: Record<Status, string> = {
    connecting: "",
    "in room": "good",
    reconnecting: "warn",
    left: "bad",
    error: "bad",
  };
  return {
    status(s, text) {
      hook.status = s;
      hook.statusText = text;
      line.textContent = text;
      line.className = `status ${tone[s]}`;
    },
  };
}
