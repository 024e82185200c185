//! Input-to-ack matching: which sent inputs a snapshot acknowledges, and how long each took.
//!
//! Every snapshot carries, per player, the newest input sequence number the server has
//! applied. An input counts as acknowledged by the first snapshot whose `last_input_seq` is
//! at least its own: the server may apply several queued inputs in one tick, or drop stale
//! ones, and both still mean the server has dealt with that input.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::time::Instant;

/// Remembers when each unacknowledged input was sent, oldest first.
#[derive(Debug)]
pub(crate) struct AckTracker {
    /// `(seq, sent_at)` in sending order, so sequence numbers increase front to back.
    pending: VecDeque<(u32, Instant)>,
    /// The most inputs remembered; beyond it the oldest is forgotten, so a server that never
    /// acknowledges cannot grow a bot's memory without bound.
    capacity: usize,
    /// How many inputs were forgotten unacknowledged to respect `capacity`.
    forgotten: u64,
}

impl AckTracker {
    /// A tracker remembering at most `capacity` (at least 1) unacknowledged inputs.
    pub(crate) fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        Self {
            // Start small: at a few hundred microseconds of ack latency one or two suffice.
            pending: VecDeque::with_capacity(capacity.min(8)),
            capacity,
            forgotten: 0,
        }
    }

    /// Notes that input `seq` was sent at `at`. Sequence numbers must increase call by call.
    pub(crate) fn sent(&mut self, seq: u32, at: Instant) {
        debug_assert!(self.pending.back().is_none_or(|&(last, _)| last < seq));
        if self.pending.len() == self.capacity {
            self.pending.pop_front();
            self.forgotten += 1;
        }
        self.pending.push_back((seq, at));
    }

    /// A snapshot received at `now` says inputs up to `last_seq` were applied: hands the
    /// latency of each newly acknowledged input to `record` and forgets those inputs.
    pub(crate) fn acked(&mut self, last_seq: u32, now: Instant, mut record: impl FnMut(Duration)) {
        while let Some(&(seq, sent_at)) = self.pending.front() {
            if seq > last_seq {
                break;
            }
            self.pending.pop_front();
            record(now.saturating_duration_since(sent_at));
        }
    }

    /// Inputs sent and not yet acknowledged (nor forgotten).
    #[cfg(test)]
    pub(crate) fn unacked(&self) -> usize {
        self.pending.len()
    }

    /// Inputs forgotten unacknowledged because more than `capacity` were outstanding.
    pub(crate) fn forgotten(&self) -> u64 {
        self.forgotten
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn acked(tracker: &mut AckTracker, last_seq: u32, now: Instant) -> Vec<Duration> {
        let mut got = Vec::new();
        tracker.acked(last_seq, now, |d| got.push(d));
        got
    }

    #[test]
    fn each_input_is_acked_once_by_the_first_snapshot_covering_it() {
        let t0 = Instant::now();
        let mut tracker = AckTracker::new(16);
        tracker.sent(1, t0);
        tracker.sent(2, t0 + ms(10));
        tracker.sent(3, t0 + ms(20));

        assert_eq!(acked(&mut tracker, 0, t0 + ms(5)), vec![]);
        assert_eq!(acked(&mut tracker, 2, t0 + ms(25)), vec![ms(25), ms(15)]);
        // The same ack again, or an older one, acknowledges nothing new.
        assert_eq!(acked(&mut tracker, 2, t0 + ms(30)), vec![]);
        assert_eq!(acked(&mut tracker, 1, t0 + ms(30)), vec![]);
        assert_eq!(tracker.unacked(), 1);
        assert_eq!(acked(&mut tracker, 3, t0 + ms(40)), vec![ms(20)]);
        assert_eq!(tracker.unacked(), 0);
    }

    #[test]
    fn an_ack_beyond_anything_sent_clears_everything_without_panicking() {
        let t0 = Instant::now();
        let mut tracker = AckTracker::new(4);
        tracker.sent(7, t0);
        assert_eq!(acked(&mut tracker, u32::MAX, t0 + ms(1)), vec![ms(1)]);
        assert_eq!(acked(&mut tracker, u32::MAX, t0 + ms(2)), vec![]);
    }

    #[test]
    fn a_snapshot_older_than_the_input_counts_as_zero_not_negative() {
        let t0 = Instant::now();
        let mut tracker = AckTracker::new(4);
        tracker.sent(1, t0 + ms(10));
        assert_eq!(acked(&mut tracker, 1, t0), vec![Duration::ZERO]);
    }

    #[test]
    fn memory_is_bounded_by_forgetting_the_oldest() {
        let t0 = Instant::now();
        let mut tracker = AckTracker::new(3);
        for seq in 1..=5 {
            tracker.sent(seq, t0);
        }
        assert_eq!(tracker.unacked(), 3);
        assert_eq!(tracker.forgotten(), 2);
        assert_eq!(acked(&mut tracker, 5, t0).len(), 3);
    }
}
