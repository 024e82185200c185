//! Chaos: honest bots that drop their connection on purpose, and what getting back cost.
//!
//! Each bot drops independently at a constant rate per second: a Poisson process, so the
//! time to its next drop is exponentially distributed and the same whether it was just
//! dropped or has played a while. Drops are abrupt (see [`crate::session::abort`]); the bot
//! then reconnects through [`crate::reconnect`] and joins the same room again.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::report::Percentiles;
use crate::stats::{histogram, micros};

/// The time from now to the next drop at `rate` drops per second, with `random` in [0, 1);
/// `None` when the rate is 0 (never) or the wait does not fit a `Duration`.
pub(crate) fn next_drop_in(rate: f64, random: f64) -> Option<Duration> {
    if rate <= 0.0 || !rate.is_finite() {
        return None;
    }
    // Inverse transform sampling: 1 − random is in (0, 1], so the logarithm is finite.
    let wait = -(1.0 - random.clamp(0.0, 1.0)).ln() / rate;
    Duration::try_from_secs_f64(wait).ok()
}

/// What chaos did to one bot.
#[derive(Debug, Default)]
pub(crate) struct ChaosStats {
    /// Connections dropped on purpose.
    pub(crate) drops: u64,
    /// Drops followed by being back in the room.
    pub(crate) reconnects: u64,
    /// Drops after which every attempt failed: the bot gave up.
    pub(crate) failures: u64,
    /// Drops whose reconnection the deadline cut short.
    pub(crate) in_flight: u64,
    /// Drop to back in the room, µs, one per reconnect: a handful per bot, so a list costs
    /// less than a histogram each.
    pub(crate) reconnect_us: Vec<u64>,
}

impl ChaosStats {
    pub(crate) fn reconnected(&mut self, took: Duration) {
        self.reconnects += 1;
        self.reconnect_us.push(micros(took));
    }
}

/// Every bot's chaos added up.
#[derive(Debug)]
pub(crate) struct ChaosTotals {
    pub(crate) drops: u64,
    pub(crate) reconnects: u64,
    pub(crate) failures: u64,
    pub(crate) in_flight: u64,
    pub(crate) reconnect_us: Histogram<u64>,
}

impl ChaosTotals {
    pub(crate) fn new() -> Self {
        Self {
            drops: 0,
            reconnects: 0,
            failures: 0,
            in_flight: 0,
            reconnect_us: histogram(),
        }
    }

    pub(crate) fn add(&mut self, bot: &ChaosStats) {
        self.drops += bot.drops;
        self.reconnects += bot.reconnects;
        self.failures += bot.failures;
        self.in_flight += bot.in_flight;
        for &us in &bot.reconnect_us {
            self.reconnect_us.saturating_record(us);
        }
    }
}

/// What chaos did to the honest bots, in the report when `--chaos` is above 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChaosReport {
    /// The configured drops per second per bot.
    pub rate_per_s: f64,
    /// Connections dropped on purpose.
    pub drops: u64,
    /// Drops after which the bot got back into its room.
    pub reconnects: u64,
    /// Drops after which the bot gave up (each is also an error of kind `reconnect`).
    pub reconnect_failures: u64,
    /// Drops still reconnecting when the run ended: `drops` is the sum of this,
    /// `reconnects` and `reconnect_failures`.
    pub in_flight: u64,
    /// From the drop to being back in the room.
    pub reconnect_ms: Percentiles,
}

impl ChaosReport {
    pub(crate) fn new(rate_per_s: f64, totals: &ChaosTotals) -> Self {
        Self {
            rate_per_s,
            drops: totals.drops,
            reconnects: totals.reconnects,
            reconnect_failures: totals.failures,
            in_flight: totals.in_flight,
            reconnect_ms: Percentiles::of(&totals.reconnect_us),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::XorShift64;

    #[test]
    fn no_rate_means_no_drops() {
        assert_eq!(next_drop_in(0.0, 0.5), None);
        assert_eq!(next_drop_in(-1.0, 0.5), None);
        assert_eq!(next_drop_in(f64::NAN, 0.5), None);
    }

    #[test]
    fn waits_are_exponential_with_the_rate_as_mean_inverse() {
        assert_eq!(next_drop_in(2.0, 0.0), Some(Duration::ZERO));
        // The median of an exponential wait is ln 2 / rate.
        let median = next_drop_in(2.0, 0.5).expect("a finite wait");
        assert!(
            (median.as_secs_f64() - 2f64.ln() / 2.0).abs() < 1e-9,
            "{median:?}"
        );
        // The largest random number below 1 still gives a finite wait.
        assert!(next_drop_in(1.0, 1.0 - f64::EPSILON).is_some());

        let mut rng = XorShift64::seeded(5);
        let n = 100_000;
        let total: f64 = (0..n)
            .map(|_| next_drop_in(4.0, rng.next_unit()).map_or(0.0, |d| d.as_secs_f64()))
            .sum();
        let mean = total / f64::from(n);
        assert!(
            (mean - 0.25).abs() < 0.01,
            "mean wait {mean} s at 4 drops/s"
        );
    }

    #[test]
    fn totals_add_up_and_keep_percentiles() {
        let mut a = ChaosStats {
            drops: 3,
            in_flight: 1,
            ..ChaosStats::default()
        };
        a.reconnected(Duration::from_millis(100));
        a.reconnected(Duration::from_millis(300));
        let b = ChaosStats {
            drops: 1,
            failures: 1,
            ..ChaosStats::default()
        };
        let mut totals = ChaosTotals::new();
        totals.add(&a);
        totals.add(&b);
        let report = ChaosReport::new(0.5, &totals);
        assert_eq!(
            (
                report.drops,
                report.reconnects,
                report.reconnect_failures,
                report.in_flight
            ),
            (4, 2, 1, 1)
        );
        assert!((report.reconnect_ms.p50 - 100.0).abs() < 1.0, "{report:?}");
        assert!((report.reconnect_ms.max - 300.0).abs() < 3.0, "{report:?}");
    }
}
