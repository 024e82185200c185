//! Chaos: honest bots that drop their connection on purpose, and what getting back cost.
//!
//! Each bot drops independently at a constant rate per second: a Poisson process, so the
//! time to its next drop is exponentially distributed and the same whether it was just
//! dropped or has played a while. Drops are abrupt (see [`crate::ws::abort`]); the bot
//! then reconnects through [`crate::reconnect`], presenting its resume token first
//! ([`crate::rejoin::Rejoiner`], to the next node when there are several): resumed, it
//! plays on as the same player and sends
//! again the inputs no snapshot had acknowledged; refused, it says hello and joins the
//! same room afresh as a new player.
//!
//! # What became of the inputs
//!
//! Every input a bot sends ends in exactly one of these, per player (see
//! [`crate::ack`]):
//!
//! - **acknowledged**: an applied snapshot's `ack` reached its number;
//! - **lost**: the player was still playing at the end of the run (resumed as often as it
//!   dropped), yet no snapshot acknowledged the input, although it was sent more than
//!   [`IN_FLIGHT`](crate::IN_FLIGHT) before the bot stopped. A resumed player's unacked
//!   inputs are sent again, so a server keeping its promise loses none: this must be 0;
//! - **abandoned**: unacknowledged when the player's session ended without a resume (a
//!   refused resume, a reconnection given up or cut short by the deadline, a connection the
//!   server closed). Nobody can acknowledge them any more, and nobody promised to;
//! - **in flight**: unacknowledged at the end but sent within the last
//!   [`IN_FLIGHT`](crate::IN_FLIGHT): the run ended before their ack could come;
//! - **forgotten**: beyond the 1024 a bot remembers unacknowledged (the report's
//!   top-level `inputs_forgotten`).

use std::time::Duration;

use serde::Serialize;

use crate::hist::{Latencies, Percentiles};

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

/// What chaos did to one bot and what became of its inputs, or the same merged over
/// many bots.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct ChaosStats {
    /// Connections dropped on purpose.
    pub(crate) drops: u64,
    /// Drops followed by being back in the room, resumed or joined afresh.
    pub(crate) reconnects: u64,
    /// Reconnects as the same player, by resume token.
    pub(crate) resumes: u64,
    /// Reconnects whose resume was refused: back as a new player, by hello and join.
    pub(crate) failed_resumes: u64,
    /// Drops after which every attempt failed: the bot gave up.
    pub(crate) failures: u64,
    /// Drops whose reconnection the deadline cut short.
    pub(crate) in_flight: u64,
    /// Drop to back in the room, µs, one per reconnect.
    pub(crate) reconnect_us: Latencies,
    /// Drop to `Resumed`, µs, one per resume.
    pub(crate) resume_us: Latencies,
    /// Inputs sent again after a resume.
    pub(crate) inputs_resent: u64,
    /// Inputs never acknowledged though the player played on to the end (module doc).
    pub(crate) inputs_lost: u64,
    /// Inputs unacknowledged when their player's session ended without a resume.
    pub(crate) inputs_abandoned: u64,
    /// Snapshots whose `ack` for the bot went below the one before.
    pub(crate) ack_regressions: u64,
}

impl ChaosStats {
    /// Back in the room as the same player, `took` after the drop.
    pub(crate) fn resumed(&mut self, took: Duration) {
        self.resumes += 1;
        self.resume_us.record(took);
        self.reconnected(took);
    }

    /// Back in the room as a new player, `took` after the drop.
    pub(crate) fn joined_afresh(&mut self, took: Duration) {
        self.failed_resumes += 1;
        self.reconnected(took);
    }

    fn reconnected(&mut self, took: Duration) {
        self.reconnects += 1;
        self.reconnect_us.record(took);
    }

    /// Adds another bot's (or bots') chaos to this.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.drops += other.drops;
        self.reconnects += other.reconnects;
        self.resumes += other.resumes;
        self.failed_resumes += other.failed_resumes;
        self.failures += other.failures;
        self.in_flight += other.in_flight;
        self.reconnect_us.merge(&other.reconnect_us);
        self.resume_us.merge(&other.resume_us);
        self.inputs_resent += other.inputs_resent;
        self.inputs_lost += other.inputs_lost;
        self.inputs_abandoned += other.inputs_abandoned;
        self.ack_regressions += other.ack_regressions;
    }
}

/// What chaos did to the honest bots, in the report when `--chaos` is above 0.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChaosReport {
    /// The configured drops per second per bot.
    pub rate_per_s: f64,
    /// Connections dropped on purpose.
    pub drops: u64,
    /// Drops after which the bot got back into its room: `resumes` plus `failed_resumes`.
    pub reconnects: u64,
    /// Drops after which the bot gave up (each is also an error of kind `reconnect`).
    pub reconnect_failures: u64,
    /// Drops still reconnecting when the run ended: `drops` is the sum of this,
    /// `reconnects` and `reconnect_failures`.
    pub in_flight: u64,
    /// From the drop to being back in the room, resumed or joined afresh.
    pub reconnect_ms: Percentiles,
    /// Reconnects where the server took the bot back as the same player.
    pub resumes: u64,
    /// Reconnects where the server refused the resume token and the bot joined afresh as
    /// a new player.
    pub failed_resumes: u64,
    /// From the drop to `Resumed`.
    pub resume_ms: Percentiles,
    /// Inputs sent again after a resume because no snapshot had acknowledged them.
    pub inputs_resent: u64,
    /// Inputs never acknowledged by any snapshot although their player played on to the
    /// end of the run (each of its drops resumed), leaving out those sent within
    /// [`IN_FLIGHT`](crate::IN_FLIGHT) of the bot's end: should be 0. Every input ends as
    /// acknowledged, lost, abandoned, in flight at the end, or forgotten.
    pub inputs_lost: u64,
    /// Inputs unacknowledged when their player's session ended without a resume (refused
    /// resume, reconnection given up or cut short, connection closed by the server).
    pub inputs_abandoned: u64,
    /// Times a bot's `ack` went below the one in the snapshot before: a server
    /// that applies each input at most once never does this. (Inputs applied twice are
    /// not otherwise visible to a bot: acknowledgements are a high-water mark and the
    /// walk's inputs are idempotent states.)
    pub ack_regressions: u64,
}

impl ChaosReport {
    pub(crate) fn new(rate_per_s: f64, totals: &ChaosStats) -> Self {
        Self {
            rate_per_s,
            drops: totals.drops,
            reconnects: totals.reconnects,
            reconnect_failures: totals.failures,
            in_flight: totals.in_flight,
            reconnect_ms: Percentiles::of(&totals.reconnect_us),
            resumes: totals.resumes,
            failed_resumes: totals.failed_resumes,
            resume_ms: Percentiles::of(&totals.resume_us),
            inputs_resent: totals.inputs_resent,
            inputs_lost: totals.inputs_lost,
            inputs_abandoned: totals.inputs_abandoned,
            ack_regressions: totals.ack_regressions,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hist::assert_empty_merges_as_identity;
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

    /// Two bots' chaos: `a` resumed in 100 ms and joined afresh in 300 ms, `b` resumed in
    /// 50 ms.
    fn two_bots() -> (ChaosStats, ChaosStats) {
        let mut a = ChaosStats {
            drops: 3,
            in_flight: 1,
            inputs_resent: 4,
            inputs_abandoned: 2,
            ..ChaosStats::default()
        };
        a.resumed(Duration::from_millis(100));
        a.joined_afresh(Duration::from_millis(300));
        let mut b = ChaosStats {
            drops: 2,
            failures: 1,
            inputs_lost: 1,
            ack_regressions: 1,
            ..ChaosStats::default()
        };
        b.resumed(Duration::from_millis(50));
        (a, b)
    }

    #[test]
    fn totals_add_up_and_keep_percentiles() {
        let (a, b) = two_bots();
        let mut totals = ChaosStats::default();
        totals.merge(&a);
        totals.merge(&b);
        let report = ChaosReport::new(0.5, &totals);
        assert_eq!(
            (
                report.drops,
                report.reconnects,
                report.reconnect_failures,
                report.in_flight
            ),
            (5, 3, 1, 1)
        );
        assert_eq!((report.resumes, report.failed_resumes), (2, 1));
        assert_eq!(
            (
                report.inputs_resent,
                report.inputs_lost,
                report.inputs_abandoned,
                report.ack_regressions
            ),
            (4, 1, 2, 1)
        );
        assert!((report.reconnect_ms.p50 - 100.0).abs() < 1.0, "{report:?}");
        assert!((report.reconnect_ms.max - 300.0).abs() < 3.0, "{report:?}");
        // Only resumes are in the resume time: 50 and 100 ms, not the 300 ms fresh join.
        assert!((report.resume_ms.max - 100.0).abs() < 1.0, "{report:?}");
        assert!((report.resume_ms.p50 - 50.0).abs() < 1.0, "{report:?}");
    }

    #[test]
    fn merging_two_bots_gives_the_sums() {
        let (a, b) = two_bots();
        let mut merged = a.clone();
        merged.merge(&b);
        let mut reconnect_us = Latencies::default();
        let mut resume_us = Latencies::default();
        for ms in [100, 50] {
            resume_us.record(Duration::from_millis(ms));
        }
        for ms in [100, 300, 50] {
            reconnect_us.record(Duration::from_millis(ms));
        }
        let sums = ChaosStats {
            drops: 5,
            reconnects: 3,
            resumes: 2,
            failed_resumes: 1,
            failures: 1,
            in_flight: 1,
            reconnect_us,
            resume_us,
            inputs_resent: 4,
            inputs_lost: 1,
            inputs_abandoned: 2,
            ack_regressions: 1,
        };
        assert_eq!(merged, sums);
    }

    #[test]
    fn merging_into_nothing_changes_nothing() {
        let (a, _) = two_bots();
        assert_empty_merges_as_identity(ChaosStats::default, ChaosStats::merge, &a);
    }
}
