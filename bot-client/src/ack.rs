//! Input-to-ack matching: which sent inputs a snapshot acknowledges, and how long each took;
//! which inputs to send again after a resume; and which were never acknowledged at all.
//!
//! Every snapshot carries in its head (`ack`) the newest input sequence number the server
//! has applied for its recipient. An input counts as acknowledged by the first applied
//! snapshot whose `ack` is at least its own: the server may apply several queued inputs in
//! one tick, or drop stale ones, and both still mean the server has dealt with that input.
//!
//! One tracker covers one player: the same player across resumes (its inputs keep their
//! sequence numbers, and the unacknowledged ones are sent again, see [`AckTracker::resend`]),
//! a new tracker for a new player.
//!
//! What the bot can and cannot see of the server's at-most-once promise: the `ack` is a
//! high-water mark, and the bots' inputs are mostly states (a direction, an aim), so an
//! input applied twice changes neither the acknowledgements nor, much, the game. What *is*
//! visible is a server whose sequence filter forgot what it had applied (say, a resume that
//! starts a fresh filter): re-sent inputs older than ones already applied would be applied
//! again, and the `ack` would go back. So the tracker counts
//! acknowledgements that go backwards ([`AckTracker::regressions`]), which must stay 0; it
//! cannot count inputs applied twice.

use std::collections::VecDeque;
use std::time::Duration;

use tickwire_shared::Input;
use tokio::time::Instant;

/// Remembers each unacknowledged input and when it was (last) sent, oldest first.
#[derive(Debug)]
pub(crate) struct AckTracker {
    /// `(input, sent_at)` in sending order, so sequence numbers increase front to back.
    /// The whole input is kept, not only its number, to send it again after a resume.
    pending: VecDeque<(Input, Instant)>,
    /// The most inputs remembered; beyond it the oldest is forgotten, so a server that never
    /// acknowledges cannot grow a bot's memory without bound.
    capacity: usize,
    /// How many inputs were forgotten unacknowledged to respect `capacity`.
    forgotten: u64,
    /// The `ack` of the previous applied snapshot (0 before any).
    last_ack: u32,
    /// Snapshots whose `ack` was below the previous one's.
    regressions: u64,
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
            last_ack: 0,
            regressions: 0,
        }
    }

    /// Notes that `input` was sent at `at`. Sequence numbers must increase call by call.
    pub(crate) fn sent(&mut self, input: Input, at: Instant) {
        debug_assert!(
            self.pending
                .back()
                .is_none_or(|(last, _)| last.seq < input.seq)
        );
        if self.pending.len() == self.capacity {
            self.pending.pop_front();
            self.forgotten += 1;
        }
        self.pending.push_back((input, at));
    }

    /// A snapshot received at `now` says inputs up to `last_seq` were applied: hands the
    /// latency of each newly acknowledged input to `record` and forgets those inputs.
    pub(crate) fn acked(&mut self, last_seq: u32, now: Instant, mut record: impl FnMut(Duration)) {
        if last_seq < self.last_ack {
            self.regressions += 1;
        }
        self.last_ack = last_seq;
        while let Some((input, sent_at)) = self.pending.front() {
            if input.seq > last_seq {
                break;
            }
            record(now.saturating_duration_since(*sent_at));
            self.pending.pop_front();
        }
    }

    /// After a resume: every input still unacknowledged, oldest first, to send again with
    /// its own sequence number. Each now counts as sent at `now`, so that its latency, if a
    /// snapshot acknowledges it, is from this sending and leaves out the time the bot was
    /// away.
    pub(crate) fn resend(&mut self, now: Instant) -> Vec<Input> {
        self.pending
            .iter_mut()
            .map(|(input, sent_at)| {
                *sent_at = now;
                input.clone()
            })
            .collect()
    }

    /// Inputs sent and not yet acknowledged (nor forgotten).
    pub(crate) fn unacked(&self) -> usize {
        self.pending.len()
    }

    /// Unacknowledged inputs sent at or before `before`: at the end of a run, those
    /// not still in flight.
    pub(crate) fn unacked_sent_by(&self, before: Instant) -> usize {
        // Sending times never decrease front to back (a resend gives them all the same).
        self.pending
            .iter()
            .take_while(|&&(_, sent_at)| sent_at <= before)
            .count()
    }

    /// Inputs forgotten unacknowledged because more than `capacity` were outstanding.
    pub(crate) fn forgotten(&self) -> u64 {
        self.forgotten
    }

    /// Snapshots whose acknowledgement went below the one before: 0 from a server that
    /// applies each input at most once and reports the newest applied.
    pub(crate) fn regressions(&self) -> u64 {
        self.regressions
    }
}

#[cfg(test)]
mod tests {
    use tickwire_shared::InputValue;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn input(seq: u32) -> Input {
        Input {
            seq,
            view_tick: u64::from(seq) * 2,
            values: vec![
                InputValue::Float(f64::from(seq) / 100.0),
                InputValue::Bool(true),
            ],
        }
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
        tracker.sent(input(1), t0);
        tracker.sent(input(2), t0 + ms(10));
        tracker.sent(input(3), t0 + ms(20));

        assert_eq!(acked(&mut tracker, 0, t0 + ms(5)), vec![]);
        assert_eq!(acked(&mut tracker, 2, t0 + ms(25)), vec![ms(25), ms(15)]);
        // The same ack again acknowledges nothing new.
        assert_eq!(acked(&mut tracker, 2, t0 + ms(30)), vec![]);
        assert_eq!(tracker.unacked(), 1);
        assert_eq!(acked(&mut tracker, 3, t0 + ms(40)), vec![ms(20)]);
        assert_eq!(tracker.unacked(), 0);
        assert_eq!(tracker.regressions(), 0);
    }

    #[test]
    fn an_ack_going_backwards_is_counted_once_per_step_back() {
        let t0 = Instant::now();
        let mut tracker = AckTracker::new(16);
        for seq in 1..=5 {
            tracker.sent(input(seq), t0);
        }
        assert_eq!(acked(&mut tracker, 4, t0).len(), 4);
        // An older ack acknowledges nothing, and is a regression...
        assert_eq!(acked(&mut tracker, 2, t0), vec![]);
        // ...but staying there, or climbing again, is not another one.
        acked(&mut tracker, 2, t0);
        acked(&mut tracker, 3, t0);
        assert_eq!(tracker.regressions(), 1);
        assert_eq!(acked(&mut tracker, 5, t0).len(), 1);
        assert_eq!(tracker.regressions(), 1);
    }

    #[test]
    fn an_ack_beyond_anything_sent_clears_everything_without_panicking() {
        let t0 = Instant::now();
        let mut tracker = AckTracker::new(4);
        tracker.sent(input(7), t0);
        assert_eq!(acked(&mut tracker, u32::MAX, t0 + ms(1)), vec![ms(1)]);
        assert_eq!(acked(&mut tracker, u32::MAX, t0 + ms(2)), vec![]);
    }

    #[test]
    fn a_snapshot_older_than_the_input_counts_as_zero_not_negative() {
        let t0 = Instant::now();
        let mut tracker = AckTracker::new(4);
        tracker.sent(input(1), t0 + ms(10));
        assert_eq!(acked(&mut tracker, 1, t0), vec![Duration::ZERO]);
    }

    #[test]
    fn memory_is_bounded_by_forgetting_the_oldest() {
        let t0 = Instant::now();
        let mut tracker = AckTracker::new(3);
        for seq in 1..=5 {
            tracker.sent(input(seq), t0);
        }
        assert_eq!(tracker.unacked(), 3);
        assert_eq!(tracker.forgotten(), 2);
        assert_eq!(acked(&mut tracker, 5, t0).len(), 3);
    }

    #[test]
    fn a_resume_resends_exactly_the_unacked_inputs_in_order_and_restarts_their_clock() {
        let t0 = Instant::now();
        let mut tracker = AckTracker::new(16);
        let sent: Vec<Input> = (1..=6).map(input).collect();
        for (i, input) in sent.iter().enumerate() {
            tracker.sent(input.clone(), t0 + ms(10 * i as u64));
        }
        acked(&mut tracker, 3, t0 + ms(60));
        let back = t0 + ms(500);
        let again = tracker.resend(back);
        // The same inputs, byte for byte, with the same sequence numbers.
        assert_eq!(again, sent[3..].to_vec());
        assert_eq!(tracker.unacked(), 3);
        // Their latency is from the resend, not from before the drop.
        assert_eq!(acked(&mut tracker, 6, back + ms(7)), vec![ms(7); 3]);
        assert!(tracker.resend(back).is_empty());
    }

    #[test]
    fn only_inputs_sent_before_the_tail_count_as_never_acked() {
        let t0 = Instant::now();
        let mut tracker = AckTracker::new(16);
        for seq in 1..=10 {
            tracker.sent(input(seq), t0 + ms(100 * u64::from(seq)));
        }
        acked(&mut tracker, 2, t0 + ms(250));
        // Inputs 3 to 10 are unacked; those sent by 500 ms are 3, 4 and 5.
        assert_eq!(tracker.unacked(), 8);
        assert_eq!(tracker.unacked_sent_by(t0 + ms(500)), 3);
        assert_eq!(tracker.unacked_sent_by(t0), 0);
        assert_eq!(tracker.unacked_sent_by(t0 + ms(5000)), 8);
    }
}
