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
    /// A ping or a pong (the transport answers pings by itself): proof of life, and held to
    /// the client's message rate like any other frame.
    Control,
    /// A frame over the size limit; the transport reads nothing more from this peer.
    TooBig {
        /// The frame's size, in bytes.
        size: usize,
        /// The limit it broke.
        max: usize,
    },
    /// A frame that breaks RFC 6455; the transport reads nothing more from this peer, but
    /// can still send it a close frame.
    Violation(Violation),
    /// The connection ended or failed.
    Ended,
}

/// How a peer broke RFC 6455 (the answer to each is the inbound policy's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    /// A text frame, or a close frame's reason, that is not valid UTF-8.
    InvalidUtf8,
    /// A frame from the client without a mask.
    Unmasked,
    /// A frame with RSV1, RSV2 or RSV3 set (no extension is ever negotiated).
    ReservedBits,
    /// A frame with a reserved opcode (0x3 to 0x7, 0xB to 0xF).
    ReservedOpcode(u8),
    /// A control frame with more than 125 bytes of payload.
    ControlTooBig,
    /// A control frame without FIN.
    FragmentedControl,
    /// A continuation frame with no fragmented message to continue.
    UnexpectedContinuation,
    /// A new data frame while a fragmented message still waits for its continuation.
    ExpectedContinuation,
    /// A close frame whose payload is a single byte (a code is two).
    InvalidClosePayload,
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
