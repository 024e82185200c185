//! Latency histograms: how bots record latencies (HDR histograms in microseconds), how a
//! bot's histogram is added into the swarm's, and how a sum reads as [`Percentiles`] in
//! milliseconds.
//!
//! A leaf: it knows nothing of bots, chaos or chat, so that every module that measures a
//! latency can use it without importing the modules that add the measurements up.

use std::time::Duration;

use hdrhistogram::{Counter, Histogram};
use serde::Serialize;

/// The largest latency a histogram tells apart, in microseconds; larger ones are recorded
/// as this (a minute is far past anything a live game tolerates).
const HIGHEST_US: u64 = 60_000_000;

/// Significant digits kept: 1 % precision is plenty for milliseconds of latency.
const SIGFIG: u8 = 2;

pub(crate) fn histogram<T: Counter>() -> Histogram<T> {
    Histogram::new_with_bounds(1, HIGHEST_US, SIGFIG)
        .expect("invariant: constant histogram bounds are valid")
}

pub(crate) fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// Adds a bot's 32-bit histogram into a 64-bit one of the same bounds.
pub(crate) fn add_histogram(into: &mut Histogram<u64>, from: &Histogram<u32>) {
    for bucket in from.iter_recorded() {
        into.saturating_record_n(
            bucket.value_iterated_to(),
            u64::from(bucket.count_at_value()),
        );
    }
}

/// The value at quantile `q` (0 to 1) in milliseconds; 0 when nothing was recorded.
pub(crate) fn quantile_ms(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

/// The largest value in milliseconds; 0 when nothing was recorded.
pub(crate) fn max_ms(h: &Histogram<u64>) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.max() as f64 / 1000.0
    }
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
    pub(crate) fn of(h: &Histogram<u64>) -> Self {
        Self {
            p50: quantile_ms(h, 0.50),
            p99: quantile_ms(h, 0.99),
            max: max_ms(h),
        }
    }
}
