//! The fixed-timestep schedule: which ticks are due, and when the next one is.
//!
//! Tick `n` is due at `start + n / rate` seconds, computed from `n` each time rather than
//! by adding a rounded `dt` over and over, so the schedule never drifts. A room that wakes
//! late runs the overdue ticks back to back, at most `max_catch_up` of them; the rest are
//! skipped and counted, so one stall cannot turn into a burst that stalls again.

use std::time::Duration;

/// The schedule of one room. Pure: the caller passes in how much time has elapsed.
#[derive(Debug, Clone)]
pub struct TickClock {
    rate: u64,
    max_catch_up: u64,
    /// The schedule index of the next tick to run.
    next: u64,
    skipped: u64,
}

/// What to do after waking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Due {
    /// How many simulation steps to run now (0 if the wake-up was early).
    pub steps: u32,
    /// How many overdue ticks were given up in this wake-up.
    pub skipped: u64,
}

impl TickClock {
    /// A schedule of `rate` ticks per second (at least 1) starting at elapsed time zero.
    pub fn new(rate: u16, max_catch_up: u32) -> Self {
        Self {
            rate: u64::from(rate.max(1)),
            max_catch_up: u64::from(max_catch_up.max(1)),
            next: 0,
            skipped: 0,
        }
    }

    /// The length of one tick in seconds, as the simulation sees it.
    pub fn dt(&self) -> f32 {
        1.0 / self.rate as f32
    }

    /// When the next tick is due, as time since the start (rounded up to the nanosecond,
    /// so that waking exactly at the deadline always finds the tick due).
    pub fn next_deadline(&self) -> Duration {
        let nanos = (u128::from(self.next) * 1_000_000_000).div_ceil(u128::from(self.rate));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// Ticks skipped since the start.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Called on waking at `elapsed` since the start: says how many steps to run.
    pub fn advance(&mut self, elapsed: Duration) -> Due {
        // The last schedule index whose time has come.
        let reached = elapsed.as_nanos() * u128::from(self.rate) / 1_000_000_000;
        let reached = u64::try_from(reached).unwrap_or(u64::MAX);
        if reached < self.next {
            return Due {
                steps: 0,
                skipped: 0,
            };
        }
        let behind = reached - self.next + 1;
        let steps = behind.min(self.max_catch_up);
        let skipped = behind - steps;
        self.skipped += skipped;
        self.next = reached + 1;
        Due {
            steps: steps as u32,
            skipped,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn one_step_per_deadline_when_on_time() {
        let mut c = TickClock::new(60, 4);
        assert_eq!(c.next_deadline(), Duration::ZERO);
        assert_eq!(c.advance(Duration::ZERO).steps, 1);
        assert_eq!(c.next_deadline(), Duration::from_nanos(16_666_667));
        assert_eq!(c.advance(c.next_deadline()).steps, 1);
        assert_eq!(c.next_deadline(), Duration::from_nanos(33_333_334));
    }

    #[test]
    fn early_wakeups_run_nothing() {
        let mut c = TickClock::new(60, 4);
        c.advance(Duration::ZERO);
        assert_eq!(c.advance(ms(10)).steps, 0);
        assert_eq!(c.advance(ms(17)).steps, 1);
    }

    #[test]
    fn no_drift_over_an_hour() {
        let mut c = TickClock::new(60, 4);
        let mut steps = 0u64;
        for _ in 0..60 * 60 * 60 {
            steps += u64::from(c.advance(c.next_deadline()).steps);
        }
        assert_eq!(steps, 216_000);
        assert_eq!(c.next_deadline(), Duration::from_secs(3600));
        assert_eq!(c.skipped(), 0);
    }

    #[test]
    fn late_wakeups_catch_up_a_bounded_number_then_skip() {
        let mut c = TickClock::new(60, 4);
        c.advance(Duration::ZERO);
        // 100 ms late: ticks 1..=6 are due; run 4, skip 2.
        let due = c.advance(ms(100));
        assert_eq!(
            due,
            Due {
                steps: 4,
                skipped: 2
            }
        );
        assert_eq!(c.skipped(), 2);
        // The schedule keeps its phase: the next tick is 7, at 116.67 ms.
        assert_eq!(c.next_deadline(), Duration::from_nanos(116_666_667));
    }

    #[test]
    fn dt_matches_rate() {
        assert!((TickClock::new(60, 1).dt() - 1.0 / 60.0).abs() < 1e-9);
        assert_eq!(TickClock::new(0, 0).dt(), 1.0, "rate 0 is treated as 1");
    }
}
