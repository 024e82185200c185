//! When a light bot's inputs are due: at its input rate on average, even when the bot's
//! thread wakes late.
//!
//! A light bot sends its inputs when a snapshot arrives, as a client that renders each
//! state it gets and answers it does, rather than on a timer of its own: a wake-up per bot
//! per tick is then spent on both, not one on each ([`Pacer::due_on_arrival`]). A slower
//! timer still checks the schedule, so that inputs keep their rate when snapshots stop.
//!
//! A thread that drives thousands of sockets wakes a few milliseconds late whenever a
//! burst of snapshots arrives, and on a machine shared with the server it waits for a core
//! too. tokio's `Interval` skips a tick that is more than 5 ms late, which under such load
//! halves the input rate; a light bot instead owes the inputs it missed and sends them
//! together in one write, unless it fell so far behind ([`MAX_BEHIND`] periods) that it
//! is better to start again from now, as a client that froze would.

use std::time::Duration;

use tokio::time::Instant;

/// Periods a bot may fall behind and still catch up (100 ms at 60 Hz).
pub(crate) const MAX_BEHIND: u32 = 6;

/// The input schedule of one bot.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    period: Duration,
    next: Instant,
}

impl Pacer {
    /// A schedule of one input every `period`, the first due at `first`.
    pub(crate) fn new(period: Duration, first: Instant) -> Self {
        Self {
            period,
            next: first,
        }
    }

    /// When the next input is due.
    #[cfg(test)]
    fn next_due(&self) -> Instant {
        self.next
    }

    /// How many inputs to send with a snapshot that arrived at `now`: those due within half
    /// a period from now, so that snapshots a little early or late each carry one, and the
    /// schedule, not the snapshots' jitter, sets the rate.
    pub(crate) fn due_on_arrival(&mut self, now: Instant) -> u32 {
        self.due_within(now, self.period / 2)
    }

    /// How many inputs are due at `now` (0 before the next one is), counting them sent.
    pub(crate) fn due(&mut self, now: Instant) -> u32 {
        self.due_within(now, Duration::ZERO)
    }

    /// How many inputs are due by `now + slack`, counting them sent. Far behind, the
    /// schedule starts again with its phase at `now`.
    fn due_within(&mut self, now: Instant, slack: Duration) -> u32 {
        let by = now + slack;
        if by < self.next {
            return 0;
        }
        let behind = by - self.next;
        if behind > self.period * MAX_BEHIND {
            self.next = now + self.period;
            return 1;
        }
        // At most MAX_BEHIND + 1 periods, by the test above.
        let owed = (behind.as_nanos() / self.period.as_nanos().max(1)) as u32 + 1;
        self.next += self.period * owed;
        owed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn on_time_one_input_per_period() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(ms(10), t0);
        assert_eq!(pacer.due(t0), 1);
        assert_eq!(pacer.due(t0 + ms(5)), 0);
        assert_eq!(pacer.next_due(), t0 + ms(10));
        assert_eq!(pacer.due(t0 + ms(10)), 1);
        assert_eq!(pacer.due(t0 + ms(21)), 1, "a little late is still one");
        assert_eq!(
            pacer.next_due(),
            t0 + ms(30),
            "and the schedule keeps its phase"
        );
    }

    #[test]
    fn a_late_wake_up_owes_what_it_missed_and_the_rate_holds() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(ms(10), t0);
        assert_eq!(pacer.due(t0 + ms(35)), 4, "due at 0, 10, 20 and 30");
        assert_eq!(pacer.next_due(), t0 + ms(40));
        // Woken 7 ms late every time, for a second: still 100 inputs.
        let mut pacer = Pacer::new(ms(10), t0);
        let sent: u32 = (0..100).map(|i| pacer.due(t0 + ms(10 * i + 7))).sum();
        assert_eq!(sent, 100);
    }

    #[test]
    fn snapshots_a_little_early_or_late_each_carry_one_input() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(ms(10), t0);
        // Arrivals every 10 ms, each up to 4 ms early or late.
        let jitter = [0i64, 4, -4, 3, -2, 4, -4, 0, 1, -3];
        let carried: Vec<u32> = (0..100)
            .map(|i| {
                let at = 10 * i as i64 + jitter[i % jitter.len()] + 100;
                pacer.due_on_arrival(t0 + ms(at as u64))
            })
            .collect();
        // The first catches up from t0, as any late start does; then one each.
        assert!(carried[1..].iter().all(|&n| n == 1), "{carried:?}");
    }

    #[test]
    fn far_behind_it_starts_again_from_now() {
        let t0 = Instant::now();
        let mut pacer = Pacer::new(ms(10), t0);
        assert_eq!(pacer.due(t0 + ms(500)), 1);
        assert_eq!(pacer.next_due(), t0 + ms(510));
        // Just within the limit, everything missed is owed.
        let mut pacer = Pacer::new(ms(10), t0);
        assert_eq!(
            pacer.due(t0 + ms(10 * u64::from(MAX_BEHIND))),
            MAX_BEHIND + 1
        );
    }
}
