// The OpenMetrics parser and the operator's figures, on text shaped like the server's
// /metrics (server/src/metrics.rs): gauges, labelled counters, the tick histogram.

import { test } from "node:test";
import assert from "node:assert/strict";
import { histogram, histogramDelta, mean, MetricsSyntaxError, parseMetrics, quantile, rate, value } from "../build/metrics.mjs";
import { figures, History } from "../build/figures.mjs";

/** A scrape with the given figures, in the server's layout. */
function scrape({ players = 3, bytes = 0, deltas = 0, keyframes = 0, buckets = [0, 0, 0, 0], sum = 0 }) {
  const bounds = ["0.00005", "0.0001", "0.0002", "+Inf"];
  let cumulative = 0;
  const lines = buckets.map((n, i) => {
    cumulative += n;
    return `tickwire_tick_duration_seconds_bucket{le="${bounds[i]}"} ${cumulative}`;
  });
  return parseMetrics(`# HELP tickwire_players Players seated in rooms now.
# TYPE tickwire_players gauge
tickwire_players ${players}
# TYPE tickwire_tick_duration_seconds histogram
tickwire_tick_duration_seconds_sum ${sum}
tickwire_tick_duration_seconds_count ${cumulative}
${lines.join("\n")}
tickwire_bytes_out_total ${bytes}
tickwire_snapshots_sent_total{kind="delta"} ${deltas}
tickwire_snapshots_sent_total{kind="keyframe"} ${keyframes}
# EOF
`);
}

test("samples are read with their labels, and comments are skipped", () => {
  const s = parseMetrics('# TYPE a counter\na_total 5\nb{x="1",y="two"} 2.5 1700000000\n\nc{q="say \\"hi\\"\\n"} +Inf\n');
  assert.deepEqual(s.samples, [
    { name: "a_total", labels: {}, value: 5 },
    { name: "b", labels: { x: "1", y: "two" }, value: 2.5 },
    { name: "c", labels: { q: 'say "hi"\n' }, value: Infinity },
  ]);
});

test("a malformed line is refused with its line number", () => {
  assert.throws(() => parseMetrics("ok 1\nbad{x=1} 2\n"), (e) => e instanceof MetricsSyntaxError && /line 2/.test(e.message));
  assert.throws(() => parseMetrics("novalue\n"), MetricsSyntaxError);
  assert.throws(() => parseMetrics("x notanumber\n"), MetricsSyntaxError);
});

test("value sums the series that match the labels, and is undefined for an absent name", () => {
  const s = scrape({ deltas: 7, keyframes: 2 });
  assert.equal(value(s, "tickwire_snapshots_sent_total"), 9);
  assert.equal(value(s, "tickwire_snapshots_sent_total", { kind: "keyframe" }), 2);
  assert.equal(value(s, "tickwire_nothing"), undefined);
});

test("a histogram is read in bound order, +Inf last", () => {
  const h = histogram(scrape({ buckets: [1, 2, 3, 4], sum: 0.5 }), "tickwire_tick_duration_seconds");
  assert.deepEqual(h.buckets.map((b) => b.le), [0.00005, 0.0001, 0.0002, Infinity]);
  assert.deepEqual(h.buckets.map((b) => b.count), [1, 3, 6, 10]);
  assert.equal(h.count, 10);
  assert.equal(histogram(scrape({}), "nope"), undefined);
});

test("quantiles interpolate inside the bucket, and are null for an empty histogram", () => {
  // 10 observations, all in (0.0001, 0.0002]: the median is halfway through the bucket.
  const h = histogram(scrape({ buckets: [0, 0, 10, 0] }), "tickwire_tick_duration_seconds");
  assert.ok(Math.abs(quantile(h, 0.5) - 0.00015) < 1e-12);
  assert.ok(Math.abs(quantile(h, 1) - 0.0002) < 1e-12);
  assert.equal(quantile(histogram(scrape({}), "tickwire_tick_duration_seconds"), 0.5), null);
  // Above every finite bound, all that is known is the largest bound.
  const slow = histogram(scrape({ buckets: [0, 0, 0, 4] }), "tickwire_tick_duration_seconds");
  assert.equal(quantile(slow, 0.99), 0.0002);
});

test("the delta of two scrapes holds only the interval's observations", () => {
  const before = histogram(scrape({ buckets: [100, 0, 0, 0], sum: 0.004 }), "tickwire_tick_duration_seconds");
  const after = histogram(scrape({ buckets: [100, 0, 60, 0], sum: 0.013 }), "tickwire_tick_duration_seconds");
  const d = histogramDelta(before, after);
  assert.equal(d.count, 60);
  assert.deepEqual(d.buckets.map((b) => b.count), [0, 0, 60, 60]);
  assert.ok(Math.abs(mean(d) - 0.00015) < 1e-12);
  assert.ok(quantile(d, 0.5) > 0.0001, "the old fast ticks no longer pull the median down");
  // A restarted server's histogram is smaller than the last: all of it is new.
  assert.equal(histogramDelta(after, before), before);
});

test("a counter's rate is per second, and a reset counts from zero", () => {
  assert.equal(rate(100, 300, 2), 100);
  assert.equal(rate(500, 50, 1), 50);
  assert.equal(rate(undefined, 5, 1), null);
  assert.equal(rate(1, 5, 0), null);
});

test("figures from two scrapes a second apart", () => {
  const a = scrape({ players: 3, bytes: 1000, deltas: 100, keyframes: 2, buckets: [50, 0, 0, 0], sum: 0.001 });
  const b = scrape({ players: 4, bytes: 5000, deltas: 160, keyframes: 3, buckets: [50, 60, 0, 0], sum: 0.0055 });
  const first = figures(null, a, 0);
  assert.equal(first.players, 3);
  assert.equal(first.bytesOutPerSecond, null);
  assert.equal(first.tickP50Ms, null);
  const f = figures(a, b, 2);
  assert.equal(f.players, 4);
  assert.equal(f.bytesOutPerSecond, 2000);
  assert.equal(f.deltasPerSecond, 30);
  assert.equal(f.keyframesPerSecond, 0.5);
  assert.ok(f.tickP50Ms > 0.05 && f.tickP50Ms <= 0.1, `p50 ${f.tickP50Ms} ms`);
  assert.ok(Math.abs(f.tickMeanMs - 0.075) < 1e-9);
});

test("the history keeps the last points of every figure", () => {
  const h = new History(2);
  const s = scrape({});
  for (const players of [1, 2, 3]) h.push({ ...figures(null, s, 0), players });
  assert.deepEqual(h.series.players, [2, 3]);
  assert.deepEqual(h.series.bytesOutPerSecond, [null, null]);
});
