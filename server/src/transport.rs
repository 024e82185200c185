//! What a connection tells its owner: the frames it read, and how a write went.
//!
//! The lobby and the room decide what a client's frames mean (the inbound policy) and what
//! to send it (its outbox) without knowing how the bytes move: a real socket (`Link`) and
//! the test harness's in-memory pipes both speak these two types.

use bytes::Bytes;

/// One frame read from a client, as the transport found it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A binary data frame: one message, not yet decoded.
    Binary(Bytes),
    /// A text data frame; the protocol has none.
    Text,
    /// The peer's close frame (the transport queues the reply by itself).
    Close,
    /// A ping or a pong (the transport answers pings by itself): proof of life, nothing more.
    Control,
    /// A frame over the size limit; the transport reads nothing more from this peer.
    TooBig {
        /// The frame's size, in bytes.
        size: usize,
        /// The limit it broke.
        max: usize,
    },
    /// The connection ended or failed.
    Ended,
}

/// Where the connection stands after a write attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Everything queued was written; the connection stays open.
    Open,
    /// The socket could not take everything; the rest waits for the next attempt.
    Blocked,
    /// The close (ours or the reply to the peer's) went out; the connection is over.
    Closed,
    /// The socket failed; the connection is over and nothing more can be sent.
    Failed,
}
