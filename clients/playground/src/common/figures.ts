/**
 * The operator's figures for one second: from two scrapes of `/metrics` (the previous and
 * this one) to the numbers the charts plot. Gauges are read as they are; counters become
 * rates; the tick histogram becomes the quantiles of the ticks run in that second, not
 * since the server started, so that a slow second shows up as one.
 */

import { histogram, histogramDelta, mean, quantile, rate, value, type Scrape } from "./metrics.js";

export interface Figures {
  players: number | null;
  rooms: number | null;
  tickP50Ms: number | null;
  tickP99Ms: number | null;
  tickMeanMs: number | null;
  bytesOutPerSecond: number | null;
  deltasPerSecond: number | null;
  keyframesPerSecond: number | null;
}

export const TICK_HISTOGRAM = "tickwire_tick_duration_seconds";

const ms = (seconds: number | null) => (seconds === null ? null : seconds * 1000);

/** The figures of `now`, taken `seconds` after `before` (null for the first scrape). */
export function figures(before: Scrape | null, now: Scrape, seconds: number): Figures {
  const counter = (name: string, labels?: Record<string, string>) =>
    before ? rate(value(before, name, labels), value(now, name, labels), seconds) : null;
  const ticks = histogram(now, TICK_HISTOGRAM);
  const interval = ticks && before ? histogramDelta(histogram(before, TICK_HISTOGRAM), ticks) : undefined;
  return {
    players: value(now, "tickwire_players") ?? null,
    rooms: value(now, "tickwire_rooms") ?? null,
    tickP50Ms: interval ? ms(quantile(interval, 0.5)) : null,
    tickP99Ms: interval ? ms(quantile(interval, 0.99)) : null,
    tickMeanMs: interval ? ms(mean(interval)) : null,
    bytesOutPerSecond: counter("tickwire_bytes_out_total"),
    deltasPerSecond: counter("tickwire_snapshots_sent_total", { kind: "delta" }),
    keyframesPerSecond: counter("tickwire_snapshots_sent_total", { kind: "keyframe" }),
  };
}

/** A fixed-length history per figure, oldest first, for the charts. */
export class History {
  readonly series: Record<keyof Figures, (number | null)[]>;

  constructor(private readonly length: number) {
    this.series = {
      players: [],
      rooms: [],
      tickP50Ms: [],
      tickP99Ms: [],
      tickMeanMs: [],
      bytesOutPerSecond: [],
      deltasPerSecond: [],
      keyframesPerSecond: [],
    };
  }

  push(f: Figures): void {
    for (const key of Object.keys(this.series) as (keyof Figures)[]) {
      const s = this.series[key];
      s.push(f[key]);
      if (s.length > this.length) s.shift();
    }
  }
}
