//! One client's send queue: what is waiting to go out on its socket.
//!
//! Two lanes, so that a slow socket never blocks the tick and never grows without bound:
//! - the latest-state lane holds at most one snapshot; a newer one replaces an unsent
//!   older one (the owner counts those), because only the newest state matters;
//! - the reliable lane carries what must arrive (welcome, joined, errors, pongs, player
//!   events) and is bounded; when it overflows the client cannot keep up, and the outbox
//!   closes with code 1008 ("policy") and a reason instead of queueing more.
//!
//! The outbox belongs to its client and moves with it (lobby, room), so it needs no lock:
//! producers and the writer are the same owner. Queueing never waits.

use std::collections::VecDeque;

use bytes::Bytes;

use crate::metrics::CloseCause;

/// Why and how the connection should end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The WebSocket close code to send, or `None` to send no close frame of our own (the
    /// peer already closed; the library answers that one).
    pub code: Option<u16>,
    /// The reason sent with the code.
    pub reason: &'static str,
    /// What the connection's end is counted as.
    pub cause: CloseCause,
}

/// WebSocket close code "normal closure".
pub const CLOSE_NORMAL: u16 = 1000;
/// WebSocket close code "going away": the server is shutting down.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code "protocol error".
pub const CLOSE_PROTOCOL: u16 = 1002;
/// WebSocket close code "unsupported data": a text frame.
pub const CLOSE_UNSUPPORTED: u16 = 1003;
/// WebSocket close code "invalid frame payload data": text that is not UTF-8.
pub const CLOSE_INVALID_PAYLOAD: u16 = 1007;
/// WebSocket close code "policy violation": the client broke a rule, e.g. fell too far behind.
pub const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code "message too big".
pub const CLOSE_TOO_BIG: u16 = 1009;

/// The close every client gets when the server shuts down.
pub const SHUTTING_DOWN: Close = Close {
    code: Some(CLOSE_GOING_AWAY),
    reason: "server shutting down",
    cause: CloseCause::Shutdown,
};

/// One client's two-lane send queue.
#[derive(Debug)]
pub struct Outbox {
    /// The pending snapshot and its tick.
    snapshot: Option<(u64, Bytes)>,
    /// The tick of the last snapshot handed to the socket: what this client will hold, so
    /// the only base a delta for it may name. A snapshot replaced before it went out never
    /// reaches the client, and leaves this where it was.
    sent_snapshot: Option<u64>,
    reliable: VecDeque<Bytes>,
    close: Option<Close>,
    reliable_cap: usize,
}

impl Outbox {
    /// An empty outbox whose reliable lane holds at most `reliable_cap` messages.
    pub fn new(reliable_cap: usize) -> Self {
        Self {
            snapshot: None,
            sent_snapshot: None,
            reliable: VecDeque::new(),
            close: None,
            reliable_cap: reliable_cap.max(1),
        }
    }

    /// Queues the snapshot of `tick`, replacing an unsent older one; true when one was
    /// replaced.
    pub fn push_snapshot(&mut self, tick: u64, snapshot: Bytes) -> bool {
        if self.close.is_some() {
            return false;
        }
        self.snapshot.replace((tick, snapshot)).is_some()
    }

    /// The tick of the last snapshot taken out to be written, if any.
    pub fn sent_snapshot(&self) -> Option<u64> {
        self.sent_snapshot
    }

    /// Forgets the snapshots of the room the client was in, when it enters another: ticks
    /// are counted per room, so an old room's tick must never pass for a base in the new
    /// one. Its first snapshot there is then a keyframe.
    pub fn forget_snapshots(&mut self) {
        self.snapshot = None;
        self.sent_snapshot = None;
    }

    /// Queues a message that must arrive. Returns false, and closes the outbox, when the
    /// reliable lane is full.
    pub fn push_reliable(&mut self, msg: Bytes) -> bool {
        if self.close.is_some() {
            return false;
        }
        if self.reliable.len() >= self.reliable_cap {
            self.close = Some(Close {
                code: Some(CLOSE_POLICY),
                reason: "too slow: reliable queue overflowed",
                cause: CloseCause::Slow,
            });
            return false;
        }
        self.reliable.push_back(msg);
        true
    }

    /// Asks for the connection to end once what is queued has gone out. The first close wins.
    pub fn close(&mut self, close: Close) {
        if self.close.is_none() {
            self.close = Some(close);
        }
    }

    /// True once a close has been asked for.
    pub fn is_closing(&self) -> bool {
        self.close.is_some()
    }

    /// True when a message or a snapshot is waiting to be written.
    pub fn has_pending(&self) -> bool {
        !self.reliable.is_empty() || self.snapshot.is_some()
    }

    /// The close asked for, if any.
    pub fn close_request(&self) -> Option<&Close> {
        self.close.as_ref()
    }

    /// Takes the reliable messages, in the order they were queued; they go out first.
    pub fn drain_reliable(&mut self) -> std::collections::vec_deque::Drain<'_, Bytes> {
        self.reliable.drain(..)
    }

    /// Takes the pending snapshot to write it, if any; it counts as sent from now on (the
    /// socket's own buffer holds what it cannot take at once).
    pub fn take_snapshot(&mut self) -> Option<Bytes> {
        let (tick, snapshot) = self.snapshot.take()?;
        self.sent_snapshot = Some(tick);
        Some(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_snapshot_replaces_unsent_one_and_is_counted() {
        let mut outbox = Outbox::new(4);
        assert!(!outbox.push_snapshot(1, Bytes::from_static(b"1")));
        assert!(
            outbox.push_snapshot(2, Bytes::from_static(b"2")),
            "replaced"
        );
        assert_eq!(outbox.sent_snapshot(), None, "nothing went out yet");
        assert_eq!(outbox.take_snapshot().as_deref(), Some(&b"2"[..]));
        assert!(outbox.take_snapshot().is_none(), "taken once");
        assert_eq!(
            outbox.sent_snapshot(),
            Some(2),
            "the replaced one never went out"
        );
        assert!(!outbox.push_snapshot(3, Bytes::from_static(b"3")));
        assert_eq!(outbox.sent_snapshot(), Some(2), "queued is not sent");
    }

    #[test]
    fn a_new_room_starts_from_no_snapshot() {
        let mut outbox = Outbox::new(4);
        outbox.push_snapshot(7, Bytes::from_static(b"7"));
        outbox.take_snapshot();
        outbox.push_snapshot(8, Bytes::from_static(b"8"));
        outbox.forget_snapshots();
        assert_eq!(outbox.sent_snapshot(), None);
        assert!(
            outbox.take_snapshot().is_none(),
            "the old room's snapshot is not sent"
        );
    }

    #[test]
    fn reliable_messages_keep_their_order() {
        let mut outbox = Outbox::new(4);
        for m in [&b"a"[..], b"b", b"c"] {
            assert!(outbox.push_reliable(Bytes::copy_from_slice(m)));
        }
        let sent: Vec<Bytes> = outbox.drain_reliable().collect();
        assert_eq!(sent, vec![&b"a"[..], b"b", b"c"]);
        assert!(outbox.close_request().is_none());
        assert!(!outbox.has_pending());
    }

    #[test]
    fn reliable_overflow_closes_with_a_reason() {
        let mut outbox = Outbox::new(2);
        assert!(outbox.push_reliable(Bytes::from_static(b"a")));
        assert!(outbox.push_reliable(Bytes::from_static(b"b")));
        assert!(!outbox.push_reliable(Bytes::from_static(b"c")));
        assert!(outbox.is_closing());
        assert_eq!(
            outbox.drain_reliable().count(),
            2,
            "what fitted is still delivered"
        );
        let close = outbox.close_request().unwrap();
        assert_eq!(
            (close.code, close.cause),
            (Some(CLOSE_POLICY), CloseCause::Slow)
        );
        // Nothing more is accepted once closing.
        outbox.push_snapshot(9, Bytes::from_static(b"s"));
        assert!(outbox.take_snapshot().is_none());
    }

    #[test]
    fn first_close_wins() {
        let mut outbox = Outbox::new(2);
        outbox.close(Close {
            code: Some(CLOSE_TOO_BIG),
            reason: "big",
            cause: CloseCause::Oversize,
        });
        outbox.close(Close {
            code: Some(CLOSE_GOING_AWAY),
            reason: "bye",
            cause: CloseCause::Shutdown,
        });
        assert_eq!(outbox.close_request().unwrap().code, Some(CLOSE_TOO_BIG));
    }
}
