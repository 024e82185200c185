/**
 * The operator page's reading of `GET /metrics`: a parser for the OpenMetrics text the
 * server writes, and the figures a chart wants from two scrapes a second apart (a
 * counter's rate, a histogram's quantiles over the interval). Pure: no DOM, no fetch, so
 * it is unit tested under Node.
 */

/** One sample line: a metric name, its labels and its value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** One scrape, parsed. */
export interface Scrape {
  samples: Sample[];
}

/** A histogram read from a scrape: cumulative bucket counts by upper bound, ascending. */
export interface Histogram {
  buckets: { le: number; count: number }[];
  sum: number;
  count: number;
}

/** Thrown for a line that is not a sample, a comment or blank, with its line number. */
export class MetricsSyntaxError extends Error {
  constructor(line: number, why: string) {
    super(`metrics line ${line}: ${why}`);
    this.name = "MetricsSyntaxError";
  }
}

/** Parses a whole exposition. Comments (`# HELP`, `# TYPE`, `# EOF`) are skipped. */
export function parseMetrics(text: string): Scrape {
  const samples: Sample[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "" || line.startsWith("#")) continue;
    samples.push(parseSample(line, i + 1));
  }
  return { samples };
}

function parseSample(line: string, lineNo: number): Sample {
  const nameEnd = line.search(/[{\s]/);
  if (nameEnd <= 0) throw new MetricsSyntaxError(lineNo, "no value after the name");
  const name = line.slice(0, nameEnd);
  if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) {
    throw new MetricsSyntaxError(lineNo, `bad metric name \`${name}\``);
  }
  let at = nameEnd;
  const labels: Record<string, string> = {};
  if (line[at] === "{") at = parseLabels(line, at + 1, labels, lineNo);
  // After the labels: the value, then an optional timestamp we have no use for.
  const rest = line.slice(at).trim().split(/\s+/);
  if (rest.length === 0 || rest[0] === "") throw new MetricsSyntaxError(lineNo, "no value");
  const value = parseNumber(rest[0]);
  if (value === undefined) throw new MetricsSyntaxError(lineNo, `bad value \`${rest[0]}\``);
  return { name, labels, value };
}

/** Reads `k="v",...}` from `at`, filling `into`; returns the index after the `}`. */
function parseLabels(line: string, at: number, into: Record<string, string>, lineNo: number): number {
  for (;;) {
    while (line[at] === " " || line[at] === ",") at++;
    if (line[at] === "}") return at + 1;
    const eq = line.indexOf("=", at);
    if (eq < 0 || line[eq + 1] !== '"') throw new MetricsSyntaxError(lineNo, "bad label");
    const key = line.slice(at, eq).trim();
    let value = "";
    let i = eq + 2;
    for (; i < line.length && line[i] !== '"'; i++) {
      if (line[i] === "\\") {
        i++;
        const c = line[i];
        value += c === "n" ? "\n" : c;
      } else {
        value += line[i];
      }
    }
    if (i >= line.length) throw new MetricsSyntaxError(lineNo, "unterminated label value");
    into[key] = value;
    at = i + 1;
  }
}

function parseNumber(text: string): number | undefined {
  switch (text) {
    case "+Inf":
    case "Inf":
      return Infinity;
    case "-Inf":
      return -Infinity;
    case "NaN":
      return NaN;
  }
  const n = Number(text);
  return Number.isNaN(n) ? undefined : n;
}

function matches(sample: Sample, labels: Record<string, string> | undefined): boolean {
  if (!labels) return true;
  return Object.entries(labels).every(([k, v]) => sample.labels[k] === v);
}

/**
 * The value of one series, or the sum over every series of the name that has the given
 * labels (so `value(s, "tickwire_snapshots_sent_total")` is keyframes plus deltas).
 * Undefined when no line has that name.
 */
export function value(scrape: Scrape, name: string, labels?: Record<string, string>): number | undefined {
  let total: number | undefined;
  for (const s of scrape.samples) {
    if (s.name === name && matches(s, labels)) total = (total ?? 0) + s.value;
  }
  return total;
}

/** The histogram `base` (its `_bucket`, `_sum` and `_count` lines), if the scrape has it. */
export function histogram(scrape: Scrape, base: string): Histogram | undefined {
  const buckets: { le: number; count: number }[] = [];
  for (const s of scrape.samples) {
    if (s.name !== `${base}_bucket`) continue;
    const le = parseNumber(s.labels.le ?? "");
    if (le !== undefined) buckets.push({ le, count: s.value });
  }
  const sum = value(scrape, `${base}_sum`);
  const count = value(scrape, `${base}_count`);
  if (buckets.length === 0 || sum === undefined || count === undefined) return undefined;
  buckets.sort((a, b) => a.le - b.le);
  return { buckets, sum, count };
}

/**
 * A counter's increase per second between two readings. A counter that went down was
 * reset (the server restarted), and everything it holds now is new.
 */
export function rate(before: number | undefined, after: number | undefined, seconds: number): number | null {
  if (before === undefined || after === undefined || !(seconds > 0)) return null;
  const increase = after >= before ? after - before : after;
  return increase / seconds;
}

/** What one interval of a histogram holds: the observations between two scrapes. */
export function histogramDelta(before: Histogram | undefined, after: Histogram): Histogram {
  if (!before || after.count < before.count) return after;
  const old = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (old.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

/**
 * The `q` quantile (0 to 1) of a histogram's observations, interpolated linearly inside
 * the bucket it falls in, the way Prometheus' `histogram_quantile` estimates it; null
 * when the histogram holds nothing. A quantile in the `+Inf` bucket is reported as the
 * largest finite bound: all we know is that it is above it.
 */
export function quantile(h: Histogram, q: number): number | null {
  const total = h.buckets.length > 0 ? h.buckets[h.buckets.length - 1].count : 0;
  if (total <= 0) return null;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of h.buckets) {
    if (b.count >= rank && b.count > lowerCount) {
      if (b.le === Infinity) return lowerBound;
      return lowerBound + ((b.le - lowerBound) * (rank - lowerCount)) / (b.count - lowerCount);
    }
    if (b.le !== Infinity) lowerBound = b.le;
    lowerCount = b.count;
  }
  return lowerBound;
}

/** The mean observation, or null when there is none. */
export function mean(h: Histogram): number | null {
  return h.count > 0 ? h.sum / h.count : null;
}
