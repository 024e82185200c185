//! Latency figures: how a bot records a latency ([`Latencies`], microseconds), how one
//! bot's figures merge into another's or into the swarm's, and how they read as
//! [`Percentiles`] in milliseconds.
//!
//! A leaf: it knows nothing of bots, chaos or chat, so that every module that measures a
//! latency can use it without importing the modules that add the measurements up.
//!
//! # One type for a bot and for the swarm
//!
//! A swarm has thousands of bots, each holding its own figures while it runs, so a bot's
//! must be small; the swarm's sums must count past what a 32-bit counter holds. One
//! [`Latencies`] serves both, so that the swarm's figures are a merge of the bots' and not
//! a copy of another type:
//!
//! - **Few values are a list.** Up to [`FEW`] values are kept as they came (256 bytes),
//!   which is what most bots need for the figures they record a handful of times
//!   (reconnects, resumes), and nothing at all for a figure never recorded.
//! - **More are an HDR histogram** with 64-bit counts and 2 significant digits, whose
//!   buckets reach the largest value recorded and no further: 128 counts (1 KiB) per
//!   doubling of that value. Snapshot intervals at 60 Hz (up to 33 ms) take 10 KiB, a
//!   round trip under 1 ms takes 4 KiB, and only a value near the top (a minute) takes
//!   the whole 20 KiB. While its latencies stay under about 100 ms (11 KiB each), a bot's
//!   three busy histograms (snapshot intervals, round trips, input acks) so cost about
//!   what the fixed-size 32-bit histograms (10 KiB each) cost before them; a bot that
//!   sees second-long stalls pays 14 KiB each, and one that sees a minute twice the old
//!   cost. The swarm's sums are the same type, with counts that cannot overflow. A larger
//!   value rebuilds the histogram at the size it then needs: `hdrhistogram`'s own
//!   auto-resize grows its counts the way a `Vec` grows, to as much as twice that.
//!
//! Both forms bucket values the same way, so a figure reads the same whichever form it is
//! in, and merging in any order gives the same percentiles.

use std::borrow::Cow;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

/// The largest latency told apart, in microseconds (a minute is far past anything a live
/// game tolerates); see [`REACH_US`] for what larger ones count as.
const HIGHEST_US: u64 = 60_000_000;

/// The top of the last bucket of a histogram of 1 to [`HIGHEST_US`] at [`SIGFIG`] digits:
/// 256 sub-buckets doubled 18 times. Such a fixed histogram is what the figures always came
/// from, and it kept values up to here as they were and counted larger ones as
/// [`HIGHEST_US`]; [`clamp`] does the same, so that the report reads as it always did.
const REACH_US: u64 = (256 << 18) - 1;

/// Significant digits kept: 1 % precision is plenty for milliseconds of latency.
const SIGFIG: u8 = 2;

/// Values kept as a list before they go into a histogram: a list of 32 is 256 bytes, an
/// eighth of the smallest histogram.
const FEW: usize = 32;

/// Latencies in microseconds, one bot's or merged over many (module doc).
#[derive(Debug, Clone, Default)]
pub(crate) struct Latencies(Store);

#[derive(Debug, Clone)]
enum Store {
    /// At most [`FEW`] values, µs, each at most [`REACH_US`].
    Few(Vec<u64>),
    /// Every value, once there were more than [`FEW`].
    Many(Histogram<u64>),
}

impl Default for Store {
    fn default() -> Self {
        Store::Few(Vec::new())
    }
}

impl Latencies {
    /// Records one latency; one beyond [`REACH_US`] counts as [`HIGHEST_US`].
    pub(crate) fn record(&mut self, latency: Duration) {
        let us = clamp(micros(latency));
        match &mut self.0 {
            Store::Few(few) if few.len() < FEW => few.push(us),
            Store::Few(few) => {
                let mut many = histogram_of(few);
                record(&mut many, us);
                self.0 = Store::Many(many);
            }
            Store::Many(many) => record(many, us),
        }
    }

    /// Adds `other`'s values to these.
    pub(crate) fn merge(&mut self, other: &Self) {
        match (&mut self.0, &other.0) {
            (Store::Few(mine), Store::Few(theirs)) if mine.len() + theirs.len() <= FEW => {
                mine.extend_from_slice(theirs);
            }
            (Store::Few(mine), _) => {
                let mut many = histogram_of(mine);
                add(&mut many, other);
                self.0 = Store::Many(many);
            }
            (Store::Many(many), _) => add(many, other),
        }
    }

    /// How many latencies were recorded.
    pub(crate) fn len(&self) -> u64 {
        match &self.0 {
            Store::Few(few) => few.len() as u64,
            Store::Many(many) => many.len(),
        }
    }

    /// The values as a histogram: the one kept, or one made from the list.
    fn histogram(&self) -> Cow<'_, Histogram<u64>> {
        match &self.0 {
            Store::Few(few) => Cow::Owned(histogram_of(few)),
            Store::Many(many) => Cow::Borrowed(many),
        }
    }
}

/// The same values, in whatever form each is kept.
impl PartialEq for Latencies {
    fn eq(&self, other: &Self) -> bool {
        *self.histogram() == *other.histogram()
    }
}

/// A histogram of `values`, as large as they need.
fn histogram_of(values: &[u64]) -> Histogram<u64> {
    let mut h = reaching(values.iter().copied().max().unwrap_or(0));
    for &us in values {
        record(&mut h, us);
    }
    h
}

/// An empty histogram whose buckets reach `us` (at most [`REACH_US`]) and no further.
fn reaching(us: u64) -> Histogram<u64> {
    // The first bucket holds 0 to 255, and each next one reaches twice as far.
    let mut top = 255;
    while top < us {
        top = top * 2 + 1;
    }
    Histogram::new_with_bounds(1, top, SIGFIG)
        .expect("invariant: bounds from 1 to 255 or more, at 2 digits, are valid")
}

/// Makes `h` reach `us`, rebuilding it as large as that needs when it does not.
fn reach(h: &mut Histogram<u64>, us: u64) {
    if us > h.high() {
        let mut larger = reaching(us);
        larger
            .add(&*h)
            .expect("invariant: the larger histogram reaches every value of the smaller");
        *h = larger;
    }
}

fn record(h: &mut Histogram<u64>, us: u64) {
    reach(h, us);
    h.record(us)
        .expect("invariant: reach made the histogram reach the value");
}

fn add(h: &mut Histogram<u64>, other: &Latencies) {
    match &other.0 {
        Store::Few(few) => {
            for &us in few {
                record(h, us);
            }
        }
        Store::Many(many) => {
            reach(h, many.max());
            h.add(many)
                .expect("invariant: reach made the histogram reach the other's values");
        }
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// What a latency of `us` counts as ([`REACH_US`]).
fn clamp(us: u64) -> u64 {
    if us <= REACH_US { us } else { HIGHEST_US }
}

/// The value at quantile `q` (0 to 1) in milliseconds; 0 when nothing was recorded.
fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

/// The largest value in milliseconds; 0 when nothing was recorded.
fn max_ms(h: &Histogram<u64>) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.max() as f64 / 1000.0
    }
}

/// Checks what every type that merges over bots promises: merging `one` into `empty()`
/// gives `one`, and merging `empty()` into that changes nothing. For the tests of each
/// such type (they all hold [`Latencies`]).
#[cfg(test)]
pub(crate) fn assert_empty_merges_as_identity<T: PartialEq + std::fmt::Debug>(
    empty: fn() -> T,
    merge: fn(&mut T, &T),
    one: &T,
) {
    let mut merged = empty();
    merge(&mut merged, one);
    assert_eq!(&merged, one, "merged into empty");
    merge(&mut merged, &empty());
    assert_eq!(&merged, one, "empty merged in");
}

/// A latency distribution over all bots, in milliseconds (0 when nothing was measured).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Percentiles {
    /// The median.
    pub p50: f64,
    /// The 99th percentile.
    pub p99: f64,
    /// The largest value seen.
    pub max: f64,
}

impl Percentiles {
    pub(crate) fn of(latencies: &Latencies) -> Self {
        let h = latencies.histogram();
        Self {
            p50: quantile_ms(&h, 0.50),
            p99: quantile_ms(&h, 0.99),
            max: max_ms(&h),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// The fixed-size histogram every latency went into before [`Latencies`]: its figures
    /// are what the report has always said.
    fn fixed(values: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, HIGHEST_US, SIGFIG).expect("valid bounds");
        for &us in values {
            h.saturating_record(us);
        }
        h
    }

    fn read(h: &Histogram<u64>) -> (u64, f64, f64, f64) {
        (
            h.len(),
            quantile_ms(h, 0.5),
            quantile_ms(h, 0.99),
            max_ms(h),
        )
    }

    /// `n` values from 0 to far beyond the top, unevenly, with the edges of [`REACH_US`].
    fn spread(n: u64) -> Vec<u64> {
        let edges = [REACH_US, REACH_US + 1, HIGHEST_US, u64::MAX];
        let mut values: Vec<u64> = (0..n).map(|i| i * i * i * 7919 % 90_000_000).collect();
        for (value, edge) in values.iter_mut().rev().zip(edges) {
            *value = edge;
        }
        values
    }

    #[test]
    fn both_forms_read_as_the_fixed_histogram_did() {
        for n in [0, 1, 5, FEW as u64, FEW as u64 + 1, 1000] {
            let values = spread(n);
            let mut l = Latencies::default();
            for &us in &values {
                l.record(Duration::from_micros(us));
            }
            assert_eq!(l.len(), n);
            assert_eq!(read(&l.histogram()), read(&fixed(&values)), "{n} values");
        }
    }

    #[test]
    fn a_histogram_is_as_large_as_its_largest_value_needs() {
        let mut l = Latencies::default();
        let mut merged = Latencies::default();
        for (us, counts) in [(100, 256), (1000, 512), (33_334, 1280), (u64::MAX, 2560)] {
            for _ in 0..=FEW {
                l.record(Duration::from_micros(us));
            }
            merged.merge(&l);
            for latencies in [&l, &merged] {
                let Store::Many(h) = &latencies.0 else {
                    panic!("more than a few values are a histogram");
                };
                assert_eq!(h.distinct_values(), counts, "up to {us} µs");
            }
        }
        assert_eq!(REACH_US, reaching(HIGHEST_US).high());
    }

    #[test]
    fn a_few_values_stay_a_list() {
        let mut l = Latencies::default();
        for v in 0..FEW as u64 {
            l.record(ms(v));
        }
        assert!(matches!(&l.0, Store::Few(few) if few.len() == FEW), "{l:?}");
        l.record(ms(1));
        assert!(matches!(l.0, Store::Many(_)), "{l:?}");
    }

    #[test]
    fn merging_in_any_form_and_order_gives_the_same_figures() {
        let values = spread(300);
        let split = |sizes: &[usize]| {
            let mut parts = Vec::new();
            let mut rest = &values[..];
            for &size in sizes {
                let (part, tail) = rest.split_at(size);
                let mut l = Latencies::default();
                for &us in part {
                    l.record(Duration::from_micros(us));
                }
                parts.push(l);
                rest = tail;
            }
            parts
        };
        let want = read(&fixed(&values));
        for sizes in [
            &[300][..],
            &[10, 10, 280],
            &[280, 10, 10],
            &[20, 20, 20, 240],
            &[150, 150],
            &[1, 299],
        ] {
            let parts = split(sizes);
            let mut forwards = Latencies::default();
            for part in &parts {
                forwards.merge(part);
            }
            let mut backwards = Latencies::default();
            for part in parts.iter().rev() {
                backwards.merge(part);
            }
            assert_eq!(read(&forwards.histogram()), want, "{sizes:?}");
            assert_eq!(forwards, backwards, "{sizes:?}");
        }
    }

    #[test]
    fn merging_into_empty_changes_nothing_and_empty_adds_nothing() {
        let mut few = Latencies::default();
        few.record(ms(3));
        let mut many = Latencies::default();
        for v in 0..100 {
            many.record(ms(v));
        }
        for l in [Latencies::default(), few, many] {
            assert_empty_merges_as_identity(Latencies::default, Latencies::merge, &l);
        }
    }

    #[test]
    fn nothing_recorded_reads_as_zero() {
        let none = Percentiles::of(&Latencies::default());
        assert_eq!((none.p50, none.p99, none.max), (0.0, 0.0, 0.0));
    }
}
