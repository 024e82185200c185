/**
 * Reconnect delays: exponential backoff with jitter. Attempt n (from 0) waits a random
 * 50 to 100 % of min(cap, base × 2^n), so that clients that lost their connections at the
 * same moment (a server restart, a router) do not all come back at the same moment, while
 * each still waits at least half of its step. Pure: the random source is a parameter.
 */

export interface BackoffOptions {
  /** The first delay's ceiling, in ms. */
  initialDelayMs: number;
  /** No delay is longer than this, in ms. */
  maxDelayMs: number;
  /** How many attempts before giving up. */
  maxAttempts: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = { initialDelayMs: 100, maxDelayMs: 5000, maxAttempts: 10 };

/** The delay before attempt `attempt` (0 for the first), with `random()` in [0, 1). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.initialDelayMs * 2 ** Math.max(0, attempt));
  const r = Math.min(Math.max(random(), 0), 1);
  return ceiling * (0.5 + 0.5 * r);
}

/** The delays of one run of reconnect attempts, in order, or null once they are used up. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** How many delays have been given since the last reset. */
  get attempts(): number {
    return this.attempt;
  }

  next(): number | null {
    if (this.attempt >= this.options.maxAttempts) return null;
    return backoffDelay(this.attempt++, this.options, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}
