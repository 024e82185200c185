/**
 * The nodes a client may connect to: the URLs it was given (one server, or several nodes
 * of a cluster) and the one its session lives on now, which a redirect may have made a
 * node outside that list. Reconnects go back there first, where the seat is kept for the
 * resume grace, and then round the list, so that a node that died is not tried forever.
 * Pure: it opens nothing.
 */

import { withToken } from "./connection.js";

export class Nodes {
  private readonly list: readonly string[];
  private here: string;

  /** `urls` as the app gave them; `token`, if any, goes into each as `?token=`. */
  constructor(urls: string | readonly string[], token: string | undefined) {
    const given = typeof urls === "string" ? [urls] : [...urls];
    if (given.length === 0) throw new TypeError("no server URL: give one, or a list of the cluster's nodes");
    this.list = given.map((u) => withToken(u, token));
    this.here = this.list[0];
  }

  /** The URLs a first connect tries, in order, until one opens. */
  get all(): readonly string[] {
    return this.list;
  }

  /** Where the session lives: the node of the last greeting or resume. */
  get current(): string {
    return this.here;
  }

  /** The session now lives on `url`. */
  settle(url: string): void {
    this.here = url;
  }

  /**
   * The node for reconnect attempt `attempt` (from 1): the first goes back to where the
   * session lives (a blip of the network keeps the room there), each next one to the next
   * node of the list after it (from the list's first when the session lives elsewhere).
   */
  forAttempt(attempt: number): string {
    if (attempt <= 1) return this.here;
    const n = this.list.length;
    const at = this.list.indexOf(this.here);
    return this.list[(((at + attempt - 1) % n) + n) % n];
  }

  /**
   * A redirect's URL, with the query of the URL that was redirected added where it has
   * none of its own: the token goes with the client to every node, as the server expects
   * (PROTOCOL.md section 1, "Authentication"). A relative URL is taken from `from`.
   */
  redirect(url: string, from: string): string {
    let target: URL;
    let origin: URL;
    try {
      origin = new URL(from);
      target = new URL(url, origin);
    } catch {
      // Not a URL: opening it fails, as a ConnectError that names it.
      return url;
    }
    origin.searchParams.forEach((v, k) => {
      if (!target.searchParams.has(k)) target.searchParams.set(k, v);
    });
    return target.toString();
  }
}

/** `url` without its `token` query parameter (which {@link Nodes} puts in every URL). */
export function withoutToken(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (!u.searchParams.has("token")) return url;
  u.searchParams.delete("token");
  return u.toString();
}
