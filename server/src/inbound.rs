//! The inbound policy: what one frame from a client amounts to, given its rate limits and
//! the time.
//!
//! Pure: the frame and the time come in, a verdict goes out. A binary frame is decoded and
//! held to the limit of its kind (inputs, or everything else: malformed frames, pings and
//! pongs included); a text frame, an oversize frame, a breach of RFC 6455 or a flood ends
//! the connection with a close code and a reason. The lobby and the room both judge their
//! clients' frames here, so a client meets the same rules wherever it is.

use std::time::Instant;

use tickwire_shared::{ClientMsg, DecodeError};

use crate::metrics::{CloseCause, Limited};
use crate::outbox::{
    CLOSE_INVALID_PAYLOAD, CLOSE_POLICY, CLOSE_PROTOCOL, CLOSE_TOO_BIG, CLOSE_UNSUPPORTED, Close,
};
use crate::rate_limit::{FloodGuard, Limit, Verdict};
use crate::transport::{Frame, Violation};

/// The close for a text frame.
pub const TEXT_FRAME: Close = Close {
    code: Some(CLOSE_UNSUPPORTED),
    reason: "text frames are not supported; send binary MessagePack",
    cause: CloseCause::BadInput,
};

/// The close for a frame over the size limit.
pub const TOO_BIG: Close = Close {
    code: Some(CLOSE_TOO_BIG),
    reason: "message too big",
    cause: CloseCause::Oversize,
};

/// A breach of RFC 6455 (section 7.4.1 gives the codes), counted as bad input.
const fn broken(code: u16, reason: &'static str) -> Close {
    Close {
        code: Some(code),
        reason,
        cause: CloseCause::BadInput,
    }
}

/// The close for a text frame (or a close frame's reason) that is not UTF-8.
pub const INVALID_UTF8: Close = broken(
    CLOSE_INVALID_PAYLOAD,
    "invalid UTF-8 in a text frame or close reason",
);
/// The close for a client frame without a mask.
pub const UNMASKED: Close = broken(CLOSE_PROTOCOL, "client frames must be masked");
/// The close for a frame with reserved bits set.
pub const RESERVED_BITS: Close = broken(
    CLOSE_PROTOCOL,
    "reserved bits set; no extension was negotiated",
);
/// The close for a reserved data opcode (0x3 to 0x7).
pub const RESERVED_DATA_OPCODE: Close = broken(CLOSE_PROTOCOL, "reserved data opcode");
/// The close for a reserved control opcode (0xB to 0xF).
pub const RESERVED_CONTROL_OPCODE: Close = broken(CLOSE_PROTOCOL, "reserved control opcode");
/// The close for a control frame over 125 bytes.
pub const CONTROL_TOO_BIG: Close = broken(CLOSE_PROTOCOL, "control frame payload over 125 bytes");
/// The close for a control frame without FIN.
pub const FRAGMENTED_CONTROL: Close = broken(CLOSE_PROTOCOL, "fragmented control frame");
/// The close for a continuation frame with nothing to continue.
pub const UNEXPECTED_CONTINUATION: Close = broken(
    CLOSE_PROTOCOL,
    "continuation frame with nothing to continue",
);
/// The close for a new data frame in the middle of a fragmented message.
pub const EXPECTED_CONTINUATION: Close = broken(
    CLOSE_PROTOCOL,
    "data frame inside a fragmented message; expected a continuation",
);
/// The close for a close frame with a one-byte payload.
pub const INVALID_CLOSE_PAYLOAD: Close = broken(CLOSE_PROTOCOL, "close frame payload of one byte");

/// The close that answers `violation`.
pub fn violation_close(violation: Violation) -> Close {
    match violation {
        Violation::InvalidUtf8 => INVALID_UTF8,
        Violation::Unmasked => UNMASKED,
        Violation::ReservedBits => RESERVED_BITS,
        // Control opcodes are the ones with the high bit of the nibble set.
        Violation::ReservedOpcode(op) if op & 0x8 != 0 => RESERVED_CONTROL_OPCODE,
        Violation::ReservedOpcode(_) => RESERVED_DATA_OPCODE,
        Violation::ControlTooBig => CONTROL_TOO_BIG,
        Violation::FragmentedControl => FRAGMENTED_CONTROL,
        Violation::UnexpectedContinuation => UNEXPECTED_CONTINUATION,
        Violation::ExpectedContinuation => EXPECTED_CONTINUATION,
        Violation::InvalidClosePayload => INVALID_CLOSE_PAYLOAD,
    }
}

/// The close for a client that keeps sending inputs above its rate.
pub const FLOODING_INPUTS: Close = Close {
    code: Some(CLOSE_POLICY),
    reason: "flooding: too many inputs",
    cause: CloseCause::Flood,
};

/// The close for a client that keeps sending other messages (or bad frames) above its rate.
pub const FLOODING_MESSAGES: Close = Close {
    code: Some(CLOSE_POLICY),
    reason: "flooding: too many messages",
    cause: CloseCause::Flood,
};

/// The peer closed first: no close frame of ours, the transport answers theirs.
pub const PEER_CLOSED: Close = Close {
    code: None,
    reason: "",
    cause: CloseCause::Clean,
};

/// What one frame amounts to.
#[derive(Debug)]
pub enum Inbound {
    /// A well-formed message within its rate.
    Request(ClientMsg),
    /// A binary frame within its rate that is not a valid message: answer with an error and
    /// go on.
    Malformed(DecodeError),
    /// Over its rate: dropped unanswered (a reply would give a flooder more to make us
    /// send), and counted under this limit.
    Dropped(Limited),
    /// The connection ends with this close: the client broke a rule, or closed itself
    /// (then the code is `None`).
    Close(Close),
    /// The connection ended or failed.
    Ended,
    /// A ping or a pong within the message rate: the client is alive, nothing to do.
    Control,
}

/// One client's rate limits, by kind of message.
#[derive(Debug)]
pub struct InboundLimits {
    inputs: FloodGuard,
    messages: FloodGuard,
}

impl InboundLimits {
    /// Full buckets at `now`: `inputs` for inputs, `messages` for everything else.
    pub fn new(inputs: Limit, messages: Limit, now: Instant) -> Self {
        Self {
            inputs: FloodGuard::new(inputs, now),
            messages: FloodGuard::new(messages, now),
        }
    }

    /// Judges one frame that arrived at `now`. Never panics on what the peer sent.
    pub fn judge(&mut self, frame: Frame, now: Instant) -> Inbound {
        match frame {
            Frame::Binary(bytes) => {
                let decoded = ClientMsg::decode(&bytes);
                let (guard, kind) = match decoded {
                    Ok(ClientMsg::Input(_)) => (&mut self.inputs, Limited::Input),
                    _ => (&mut self.messages, Limited::Message),
                };
                limited(guard.check(now), kind, || match decoded {
                    Ok(msg) => Inbound::Request(msg),
                    Err(err) => Inbound::Malformed(err),
                })
            }
            // A ping costs us a pong and a pong costs a read, so either can flood. The
            // library has already queued the pong for a ping dropped here (it answers before
            // we judge); that is one small frame each, and a flood soon ends in a close.
            Frame::Control => limited(self.messages.check(now), Limited::Message, || {
                Inbound::Control
            }),
            Frame::Text => Inbound::Close(TEXT_FRAME),
            Frame::Close => Inbound::Close(PEER_CLOSED),
            Frame::TooBig { .. } => Inbound::Close(TOO_BIG),
            Frame::Violation(violation) => Inbound::Close(violation_close(violation)),
            Frame::Ended => Inbound::Ended,
        }
    }
}

/// The verdict on a frame of `kind` that its limit judged `verdict`: `allowed` when within.
fn limited(verdict: Verdict, kind: Limited, allowed: impl FnOnce() -> Inbound) -> Inbound {
    match verdict {
        Verdict::Allow => allowed(),
        Verdict::Drop => Inbound::Dropped(kind),
        Verdict::Flooding => Inbound::Close(match kind {
            Limited::Input => FLOODING_INPUTS,
            Limited::Message => FLOODING_MESSAGES,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;
    use tickwire_shared::{Input, InputValue, Ping, encode_client};

    use super::*;

    const INPUTS: Limit = Limit {
        per_second: 60,
        burst: 10,
    };
    const MESSAGES: Limit = Limit {
        per_second: 5,
        burst: 2,
    };

    fn input(seq: u32) -> Frame {
        // Any values will do: the limits judge frames before the schema sees them.
        let values = vec![InputValue::Float(1.0), InputValue::Float(0.0)];
        Frame::Binary(encode_client(&ClientMsg::Input(Input {
            seq,
            view_tick: 0,
            values,
        })))
    }

    fn ping() -> Frame {
        Frame::Binary(encode_client(&ClientMsg::Ping(Ping { client_time: 1.0 })))
    }

    #[test]
    fn messages_within_their_rate_are_requests() {
        let t0 = Instant::now();
        let mut limits = InboundLimits::new(INPUTS, MESSAGES, t0);
        for seq in 0..600 {
            let at = t0 + Duration::from_secs(1) * seq / 60;
            assert!(matches!(
                limits.judge(input(seq), at),
                Inbound::Request(ClientMsg::Input(Input { seq: s, .. })) if s == seq
            ));
        }
    }

    #[test]
    fn inputs_and_other_messages_have_separate_buckets() {
        let t0 = Instant::now();
        let mut limits = InboundLimits::new(INPUTS, MESSAGES, t0);
        // The message bucket runs dry...
        assert!(matches!(limits.judge(ping(), t0), Inbound::Request(_)));
        assert!(matches!(limits.judge(ping(), t0), Inbound::Request(_)));
        assert!(matches!(
            limits.judge(ping(), t0),
            Inbound::Dropped(Limited::Message)
        ));
        // ...while inputs still pass, and a malformed frame counts as a message.
        assert!(matches!(limits.judge(input(1), t0), Inbound::Request(_)));
        let junk = Frame::Binary(Bytes::from_static(&[0xc1]));
        assert!(matches!(
            limits.judge(junk, t0),
            Inbound::Dropped(Limited::Message)
        ));
        // Later the bucket has refilled, and junk is judged malformed, not dropped.
        let later = t0 + Duration::from_secs(1);
        let junk = Frame::Binary(Bytes::from_static(&[0xc1]));
        assert!(matches!(limits.judge(junk, later), Inbound::Malformed(_)));
    }

    #[test]
    fn a_sustained_input_flood_ends_in_a_close_for_flooding() {
        let t0 = Instant::now();
        let mut limits = InboundLimits::new(INPUTS, MESSAGES, t0);
        // Ten times the rate, for at most two seconds of the clock.
        let closed_at = (0..1200u32).find_map(|i| {
            let at = t0 + Duration::from_secs(1) * i / 600;
            matches!(limits.judge(input(i), at), Inbound::Close(c) if c == FLOODING_INPUTS)
                .then_some(at)
        });
        let at = closed_at.expect("a flood is closed");
        assert!(at - t0 < Duration::from_secs(2), "{:?}", at - t0);
    }

    #[test]
    fn text_oversize_and_close_frames_end_the_connection_with_their_reason() {
        let t0 = Instant::now();
        let mut limits = InboundLimits::new(INPUTS, MESSAGES, t0);
        let closes = |limits: &mut InboundLimits, frame| match limits.judge(frame, t0) {
            Inbound::Close(close) => Some(close),
            _ => None,
        };
        assert_eq!(closes(&mut limits, Frame::Text), Some(TEXT_FRAME));
        let big = Frame::TooBig {
            size: 9000,
            max: 4096,
        };
        assert_eq!(closes(&mut limits, big), Some(TOO_BIG));
        assert_eq!(closes(&mut limits, Frame::Close), Some(PEER_CLOSED));
        assert!(matches!(limits.judge(Frame::Ended, t0), Inbound::Ended));
        assert!(matches!(limits.judge(Frame::Control, t0), Inbound::Control));
        assert_eq!(TEXT_FRAME.code, Some(1003));
        assert_eq!(TOO_BIG.code, Some(1009));
    }

    #[test]
    fn protocol_violations_close_with_the_rfc_code_a_reason_and_bad_input() {
        let t0 = Instant::now();
        let violations = [
            Violation::InvalidUtf8,
            Violation::Unmasked,
            Violation::ReservedBits,
            Violation::ReservedOpcode(0x3),
            Violation::ReservedOpcode(0xb),
            Violation::ControlTooBig,
            Violation::FragmentedControl,
            Violation::UnexpectedContinuation,
            Violation::ExpectedContinuation,
            Violation::InvalidClosePayload,
        ];
        let mut reasons = Vec::new();
        for violation in violations {
            let mut limits = InboundLimits::new(INPUTS, MESSAGES, t0);
            let Inbound::Close(close) = limits.judge(Frame::Violation(violation), t0) else {
                panic!("{violation:?} does not close");
            };
            let want = if violation == Violation::InvalidUtf8 {
                1007
            } else {
                1002
            };
            assert_eq!(close.code, Some(want), "{violation:?}");
            assert_eq!(close.cause, CloseCause::BadInput, "{violation:?}");
            // Short enough for a close frame (123 bytes of reason at most), and telling.
            assert!(!close.reason.is_empty() && close.reason.len() <= 123);
            reasons.push(close.reason);
        }
        let count = reasons.len();
        reasons.sort_unstable();
        reasons.dedup();
        assert_eq!(reasons.len(), count, "each violation has its own reason");
        assert_eq!(
            violation_close(Violation::ReservedOpcode(0xf)),
            RESERVED_CONTROL_OPCODE
        );
        assert_eq!(
            violation_close(Violation::ReservedOpcode(0x7)),
            RESERVED_DATA_OPCODE
        );
    }

    #[test]
    fn pings_within_the_message_rate_are_proof_of_life() {
        let t0 = Instant::now();
        let mut limits = InboundLimits::new(INPUTS, MESSAGES, t0);
        // At the rate, for ten seconds of the clock.
        for i in 0..50 {
            let at = t0 + Duration::from_secs(1) * i / MESSAGES.per_second;
            assert!(
                matches!(limits.judge(Frame::Control, at), Inbound::Control),
                "{i}"
            );
        }
    }

    #[test]
    fn pings_share_the_message_bucket() {
        let t0 = Instant::now();
        let mut limits = InboundLimits::new(INPUTS, MESSAGES, t0);
        for _ in 0..MESSAGES.burst {
            assert!(matches!(limits.judge(Frame::Control, t0), Inbound::Control));
        }
        assert!(matches!(
            limits.judge(ping(), t0),
            Inbound::Dropped(Limited::Message)
        ));
        // Inputs have their own bucket.
        assert!(matches!(limits.judge(input(1), t0), Inbound::Request(_)));
    }

    #[test]
    fn a_ping_flood_is_dropped_then_closed_for_flooding() {
        let t0 = Instant::now();
        let mut limits = InboundLimits::new(INPUTS, MESSAGES, t0);
        let mut dropped = 0;
        // A hundred times the rate, for at most two seconds of the clock.
        let closed_at = (0..1000u32).find_map(|i| {
            let at = t0 + Duration::from_secs(1) * i / 500;
            match limits.judge(Frame::Control, at) {
                Inbound::Control => None,
                Inbound::Dropped(Limited::Message) => {
                    dropped += 1;
                    None
                }
                Inbound::Close(close) if close == FLOODING_MESSAGES => Some(at),
                other => panic!("{other:?}"),
            }
        });
        let at = closed_at.expect("a ping flood is closed");
        assert!(dropped > 0, "dropped before closed");
        assert!(at - t0 < Duration::from_secs(2), "{:?}", at - t0);
    }
}
