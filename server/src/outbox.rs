//! One client's send queue, between the room (and the connection's reader) and the
//! connection's writer.
//!
//! Two lanes, so that a slow socket never blocks the tick and never grows without bound:
//! - the latest-state lane holds at most one snapshot; a newer one replaces an unsent
//!   older one (counted in [`Outbox::replaced`]), because only the newest state matters;
//! - the reliable lane carries what must arrive (welcome, joined, errors, pongs, player
//!   events) and is bounded; when it overflows the client cannot keep up, and the outbox
//!   closes with code 1008 ("policy") and a reason instead of queueing more.
//!
//! Producers never wait. Whoever writes (see `link.rs`) takes everything queued in one go,
//! so a tick's messages leave in one write.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use tokio_util::sync::CancellationToken;

/// Why and how the writer should end the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The WebSocket close code to send, or `None` to send no close frame of our own (the
    /// peer already closed; the library answers that one).
    pub code: Option<u16>,
    /// The reason sent with the code.
    pub reason: &'static str,
}

/// WebSocket close code "going away": the server is shutting down.
pub const CLOSE_GOING_AWAY: u16 = 1001;
/// WebSocket close code "protocol error".
pub const CLOSE_PROTOCOL: u16 = 1002;
/// WebSocket close code "unsupported data": a text frame.
pub const CLOSE_UNSUPPORTED: u16 = 1003;
/// WebSocket close code "policy violation": the client broke a rule, e.g. fell too far behind.
pub const CLOSE_POLICY: u16 = 1008;
/// WebSocket close code "message too big".
pub const CLOSE_TOO_BIG: u16 = 1009;

/// What the writer takes out of the outbox in one go.
#[derive(Debug, Default)]
pub struct Batch {
    /// Reliable messages, in the order they were queued; they go first.
    pub reliable: Vec<Bytes>,
    /// The newest snapshot, if one is pending.
    pub snapshot: Option<Bytes>,
    /// Set when the connection should end after this batch.
    pub close: Option<Close>,
}

#[derive(Debug, Default)]
struct Lanes {
    snapshot: Option<Bytes>,
    reliable: VecDeque<Bytes>,
    close: Option<Close>,
}

/// One client's two-lane send queue; shared by an `Arc` between producers and the writer.
#[derive(Debug)]
pub struct Outbox {
    lanes: Mutex<Lanes>,
    reliable_cap: usize,
    replaced: AtomicU64,
    /// Cancelled when a close is asked for, so a stalled writer can give up.
    closing: CancellationToken,
    /// The same, as a flag cheap enough to read after every frame.
    is_closing: AtomicBool,
}

impl Outbox {
    /// An empty outbox whose reliable lane holds at most `reliable_cap` messages.
    pub fn new(reliable_cap: usize) -> Self {
        Self {
            lanes: Mutex::new(Lanes::default()),
            reliable_cap: reliable_cap.max(1),
            replaced: AtomicU64::new(0),
            closing: CancellationToken::new(),
            is_closing: AtomicBool::new(false),
        }
    }

    fn lanes(&self) -> std::sync::MutexGuard<'_, Lanes> {
        // A panic while holding this lock leaves only plain queues behind, still valid.
        self.lanes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a snapshot, replacing an unsent older one.
    pub fn push_snapshot(&self, snapshot: Bytes) {
        let mut lanes = self.lanes();
        if lanes.close.is_some() {
            return;
        }
        if lanes.snapshot.replace(snapshot).is_some() {
            self.replaced.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Queues a message that must arrive. Returns false, and closes the outbox, when the
    /// reliable lane is full.
    pub fn push_reliable(&self, msg: Bytes) -> bool {
        let mut lanes = self.lanes();
        if lanes.close.is_some() {
            return false;
        }
        let fits = lanes.reliable.len() < self.reliable_cap;
        if fits {
            lanes.reliable.push_back(msg);
        } else {
            lanes.close = Some(Close {
                code: Some(CLOSE_POLICY),
                reason: "too slow: reliable queue overflowed",
            });
            self.mark_closing();
        }
        fits
    }

    /// Asks the writer to send what is queued, then close. The first close wins.
    pub fn close(&self, close: Close) {
        let mut lanes = self.lanes();
        if lanes.close.is_none() {
            lanes.close = Some(close);
            self.mark_closing();
        }
    }

    /// True once a close has been asked for.
    pub fn is_closing(&self) -> bool {
        self.is_closing.load(Ordering::Acquire)
    }

    fn mark_closing(&self) {
        self.is_closing.store(true, Ordering::Release);
        self.closing.cancel();
    }

    /// Resolves once a close has been asked for.
    pub async fn closing(&self) {
        self.closing.cancelled().await;
    }

    /// How many snapshots were replaced before they could be sent.
    pub fn replaced(&self) -> u64 {
        self.replaced.load(Ordering::Relaxed)
    }

    /// Moves everything queued into `batch`, after what it already holds: reliable
    /// messages keep their order, and a newer snapshot replaces an unsent one there too.
    pub fn take(&self, batch: &mut Batch) {
        let mut lanes = self.lanes();
        batch.reliable.extend(lanes.reliable.drain(..));
        if let Some(snapshot) = lanes.snapshot.take()
            && batch.snapshot.replace(snapshot).is_some()
        {
            self.replaced.fetch_add(1, Ordering::Relaxed);
        }
        if batch.close.is_none() {
            batch.close.clone_from(&lanes.close);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(outbox: &Outbox) -> Batch {
        let mut batch = Batch::default();
        outbox.take(&mut batch);
        batch
    }

    #[test]
    fn newer_snapshot_replaces_unsent_one_and_is_counted() {
        let outbox = Outbox::new(4);
        outbox.push_snapshot(Bytes::from_static(b"1"));
        outbox.push_snapshot(Bytes::from_static(b"2"));
        assert_eq!(outbox.replaced(), 1);
        let batch = take(&outbox);
        assert_eq!(batch.snapshot.as_deref(), Some(&b"2"[..]));
        assert!(take(&outbox).snapshot.is_none(), "taken once");
    }

    #[test]
    fn reliable_messages_keep_their_order() {
        let outbox = Outbox::new(4);
        for m in [&b"a"[..], b"b", b"c"] {
            assert!(outbox.push_reliable(Bytes::copy_from_slice(m)));
        }
        let batch = take(&outbox);
        assert_eq!(batch.reliable, vec![&b"a"[..], b"b", b"c"]);
        assert!(batch.close.is_none());
    }

    #[test]
    fn reliable_overflow_closes_with_a_reason() {
        let outbox = Outbox::new(2);
        assert!(outbox.push_reliable(Bytes::from_static(b"a")));
        assert!(outbox.push_reliable(Bytes::from_static(b"b")));
        assert!(!outbox.push_reliable(Bytes::from_static(b"c")));
        assert!(outbox.is_closing());
        let batch = take(&outbox);
        assert_eq!(batch.reliable.len(), 2, "what fitted is still delivered");
        assert_eq!(batch.close.unwrap().code, Some(CLOSE_POLICY));
        // Nothing more is accepted once closing.
        outbox.push_snapshot(Bytes::from_static(b"s"));
        assert!(take(&outbox).snapshot.is_none());
    }

    #[test]
    fn first_close_wins() {
        let outbox = Outbox::new(2);
        outbox.close(Close {
            code: Some(CLOSE_TOO_BIG),
            reason: "big",
        });
        outbox.close(Close {
            code: Some(CLOSE_GOING_AWAY),
            reason: "bye",
        });
        assert_eq!(take(&outbox).close.unwrap().code, Some(CLOSE_TOO_BIG));
    }

    #[test]
    fn take_appends_to_what_the_writer_still_holds() {
        let outbox = Outbox::new(4);
        let mut batch = Batch::default();
        outbox.push_reliable(Bytes::from_static(b"a"));
        outbox.push_snapshot(Bytes::from_static(b"1"));
        outbox.take(&mut batch);
        // The socket did not take the batch; more arrives meanwhile.
        outbox.push_reliable(Bytes::from_static(b"b"));
        outbox.push_snapshot(Bytes::from_static(b"2"));
        outbox.take(&mut batch);
        assert_eq!(batch.reliable, vec![&b"a"[..], b"b"]);
        assert_eq!(batch.snapshot.as_deref(), Some(&b"2"[..]));
        assert_eq!(outbox.replaced(), 1, "the unsent snapshot 1 was replaced");
    }
}
