//! The inbound policy: what one frame from a client amounts to, given its rate limits and
//! the time.
//!
//! Pure: the frame and the time come in, a verdict goes out. A binary frame is decoded and
//! held to the limit of its kind (inputs, or everything else, malformed frames included); a
//! text frame, an oversize frame or a flood ends the connection with a close code and a
//! reason. The lobby and the room both judge their clients' frames here, so a client meets
//! the same rules wherever it is.

use std::time::Instant;

use tickwire_shared::{ClientMsg, DecodeError};

use crate::metrics::{CloseCause, Limited};
use crate::outbox::{CLOSE_POLICY, CLOSE_TOO_BIG, CLOSE_UNSUPPORTED, Close};
use crate::rate_limit::{FloodGuard, Limit, Verdict};
use crate::transport::Frame;

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
    /// A ping or a pong: the client is alive, nothing to do.
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
                match guard.check(now) {
                    Verdict::Allow => match decoded {
                        Ok(msg) => Inbound::Request(msg),
                        Err(err) => Inbound::Malformed(err),
                    },
                    Verdict::Drop => Inbound::Dropped(kind),
                    Verdict::Flooding => Inbound::Close(match kind {
                        Limited::Input => FLOODING_INPUTS,
                        Limited::Message => FLOODING_MESSAGES,
                    }),
                }
            }
            Frame::Text => Inbound::Close(TEXT_FRAME),
            Frame::Close => Inbound::Close(PEER_CLOSED),
            Frame::Control => Inbound::Control,
            Frame::TooBig { .. } => Inbound::Close(TOO_BIG),
            Frame::Ended => Inbound::Ended,
        }
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
}
