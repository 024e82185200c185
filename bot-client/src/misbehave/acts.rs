//! The hostile behaviours a misbehaving bot picks from, and the frames each one sends.
//!
//! Every act is something a broken or malicious client could do, and each has an answer in
//! `PROTOCOL.md`: an `Error` for a bad frame (the connection stays open), silence for an
//! old input sequence number, a close (1003, 1008, 1009) for what the server will not take.
//! Which answer came is counted, not checked: the report says what the server did.

use std::time::Duration;

use bytes::Bytes;
use tickwire_shared::{
    Claim, ClientMsg, Hello, Input, InputValue, Join, Leave, Message as _, PROTOCOL_VERSION, Ping,
    Schema, encode_client,
};
use tokio_tungstenite::tungstenite::Message;

use crate::inputs::InputMaker;
use crate::rng::XorShift64;
use crate::walk::Walk;

/// One hostile behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Act {
    /// A binary frame of random bytes.
    RandomBytes,
    /// A valid message cut short.
    Truncated,
    /// Valid MessagePack that is not a message: wrong field count or types, trailing bytes.
    WrongShape,
    /// A well-formed envelope with a type number no client message has.
    UnknownType,
    /// An input with a value that is NaN or infinite.
    NonFinite,
    /// Inputs whose sequence numbers go backwards or repeat.
    SeqBackwards,
    /// A second hello on a greeted connection.
    SecondHello,
    /// Hundreds to thousands of inputs per second for a few seconds.
    InputFlood,
    /// Hundreds of pings per second.
    PingFlood,
    /// Joins while already in the room, hundreds per second.
    JoinFlood,
    /// Leave and join again, over and over: every time, the room tells everyone.
    Churn,
    /// A text frame, which the protocol refuses (close 1003).
    TextFrame,
    /// A frame over the server's 4096-byte limit (close 1009).
    Oversize,
    /// Not reading the socket for a few seconds.
    StopReading,
}

/// How often each act is picked, relative to the others. Acts that get the connection
/// closed are rare, so the bot spends most of its time connected and being a nuisance.
const WEIGHTS: [(Act, u32); 14] = [
    (Act::RandomBytes, 3),
    (Act::Truncated, 3),
    (Act::WrongShape, 3),
    (Act::UnknownType, 3),
    (Act::NonFinite, 3),
    (Act::SeqBackwards, 2),
    (Act::SecondHello, 1),
    (Act::InputFlood, 2),
    (Act::PingFlood, 1),
    (Act::JoinFlood, 1),
    (Act::Churn, 1),
    (Act::TextFrame, 1),
    (Act::Oversize, 1),
    (Act::StopReading, 1),
];

/// The time between two beats of a flood: fine enough to look continuous, coarse enough
/// to send its frames in batches of one flush.
const FLOOD_BEAT: Duration = Duration::from_millis(10);

/// How an act runs: `per_beat` frames at each of `beats` beats, `period` apart; the act
/// ends one period after its last beat.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Plan {
    pub(crate) beats: u32,
    pub(crate) period: Duration,
    pub(crate) per_beat: u32,
    /// Whether the bot reads its socket during the act.
    pub(crate) reading: bool,
}

impl Plan {
    /// One beat of `per_beat` frames, then a pause of 50 to 250 ms.
    fn once(per_beat: u32, rng: &mut XorShift64) -> Self {
        Self {
            beats: 1,
            period: Duration::from_millis(rng.in_range(50..=250)),
            per_beat,
            reading: true,
        }
    }

    /// `per_second` frames a second (at least 1) for `millis` milliseconds: in beats of
    /// [`FLOOD_BEAT`] with several frames each when that is fast enough, else one frame a
    /// beat.
    fn flood(per_second: u64, millis: u64) -> Self {
        let per_second = per_second.max(1);
        let beats_per_second = 1000 / FLOOD_BEAT.as_millis() as u64;
        let (period, per_beat) = if per_second >= beats_per_second {
            (
                FLOOD_BEAT,
                (per_second + beats_per_second / 2) / beats_per_second,
            )
        } else {
            (Duration::from_secs(1) / per_second as u32, 1)
        };
        let beats = Duration::from_millis(millis).as_nanos() / period.as_nanos().max(1);
        Self {
            beats: u32::try_from(beats).unwrap_or(u32::MAX),
            period,
            per_beat: u32::try_from(per_beat).unwrap_or(u32::MAX),
            reading: true,
        }
    }

    /// How long the act lasts.
    #[cfg(test)]
    pub(crate) fn length(&self) -> Duration {
        self.period.saturating_mul(self.beats)
    }
}

impl Act {
    /// Picks an act at random, by [`WEIGHTS`].
    pub(crate) fn pick(rng: &mut XorShift64) -> Act {
        let total: u32 = WEIGHTS.iter().map(|&(_, w)| w).sum();
        let mut roll = rng.in_range(0..=u64::from(total - 1));
        for (act, weight) in WEIGHTS {
            let weight = u64::from(weight);
            if roll < weight {
                return act;
            }
            roll -= weight;
        }
        // The rolls above cover every number below the total.
        Act::RandomBytes
    }

    /// The act's name in the report.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Act::RandomBytes => "random_bytes",
            Act::Truncated => "truncated",
            Act::WrongShape => "wrong_shape",
            Act::UnknownType => "unknown_type",
            Act::NonFinite => "non_finite_input",
            Act::SeqBackwards => "seq_backwards",
            Act::SecondHello => "second_hello",
            Act::InputFlood => "input_flood",
            Act::PingFlood => "ping_flood",
            Act::JoinFlood => "join_flood",
            Act::Churn => "leave_join_churn",
            Act::TextFrame => "text_frame",
            Act::Oversize => "oversize_frame",
            Act::StopReading => "stop_reading",
        }
    }

    /// How this run of the act goes: its rates and lengths are drawn afresh each time.
    pub(crate) fn plan(self, rng: &mut XorShift64) -> Plan {
        match self {
            Act::RandomBytes | Act::Truncated | Act::WrongShape | Act::UnknownType => {
                Plan::once(rng.in_range(1..=3) as u32, rng)
            }
            Act::NonFinite | Act::SeqBackwards => Plan::once(rng.in_range(1..=5) as u32, rng),
            Act::SecondHello | Act::TextFrame | Act::Oversize => Plan::once(1, rng),
            Act::InputFlood => Plan::flood(rng.in_range(300..=3000), rng.in_range(1000..=3000)),
            Act::PingFlood => Plan::flood(rng.in_range(200..=1000), rng.in_range(500..=2000)),
            Act::JoinFlood => Plan::flood(rng.in_range(100..=500), rng.in_range(500..=1500)),
            // Each "frame" of a churn is a leave and a join, so the bot ends in its room.
            Act::Churn => Plan::flood(rng.in_range(20..=100), rng.in_range(1000..=2000)),
            Act::StopReading => Plan {
                beats: 1,
                period: Duration::from_millis(rng.in_range(1000..=4000)),
                per_beat: 0,
                reading: false,
            },
        }
    }
}

/// Valid MessagePack of the wrong shape, each a whole frame, with what is wrong with it.
const WRONG_SHAPES: [&[u8]; 10] = [
    // Input with 2 fields instead of 3.
    &[0x92, 0x03, 0x92, 0x01, 0x02],
    // Ping whose client_time is a string.
    &[0x92, 0x04, 0x91, 0xa3, b'n', b'o', b'w'],
    // An envelope of 3 elements.
    &[0x93, 0x03, 0x90, 0x90],
    // A bare string, no envelope.
    &[0xa5, b'h', b'e', b'l', b'l', b'o'],
    // The type as a string.
    &[0x92, 0xa1, b'3', 0x90],
    // Input with seq −1.
    &[
        0x92, 0x03, 0x93, 0xff, 0x00, 0x92, 0xca, 0, 0, 0, 0, 0xca, 0, 0, 0, 0,
    ],
    // Join whose room is `true`.
    &[0x92, 0x01, 0x92, 0xc3, 0xc0],
    // Leave followed by a trailing nil.
    &[0x92, 0x02, 0x90, 0xc0],
    // Input whose value is a string, which no input field holds.
    &[0x92, 0x03, 0x93, 0x01, 0x00, 0x91, 0xa1, b'x'],
    // An empty map.
    &[0x80],
];

/// The frames of a misbehaving bot on one connection: its room, its game's inputs, and the
/// input sequence numbers it has used there.
#[derive(Debug)]
pub(crate) struct Forge {
    rng: XorShift64,
    walk: Walk,
    /// Well-formed inputs of the connection's game, which the acts then spoil or flood.
    inputs: InputMaker,
    room: String,
    name: String,
    /// The newest input sequence number sent on this connection.
    seq: u32,
}

impl Forge {
    pub(crate) fn new(rng: XorShift64, index: usize, name: String, room: String) -> Self {
        Self {
            rng,
            walk: Walk::new(index),
            inputs: InputMaker::lenient(&Schema::new("")),
            room,
            name,
            seq: 0,
        }
    }

    /// A new connection, in a room whose game is `schema` (if the server said): a new
    /// input sequence, of that game's inputs.
    pub(crate) fn new_connection(&mut self, schema: Option<&Schema>) {
        self.seq = 0;
        if let Some(schema) = schema {
            self.inputs = InputMaker::lenient(schema);
        }
    }

    /// Appends to `out` the `count` frames of one beat of `act`.
    pub(crate) fn frames(&mut self, act: Act, count: u32, out: &mut Vec<Message>) {
        for _ in 0..count {
            match act {
                Act::StopReading => return,
                Act::Churn => {
                    out.push(client(&ClientMsg::Leave(Leave {})));
                    out.push(self.join());
                }
                _ => out.push(self.frame(act)),
            }
        }
    }

    fn frame(&mut self, act: Act) -> Message {
        match act {
            Act::RandomBytes => {
                let len = self.rng.in_range(1..=64) as usize;
                let bytes: Vec<u8> = (0..len).map(|_| self.rng.next_u64() as u8).collect();
                Message::Binary(bytes.into())
            }
            Act::Truncated => {
                let whole = match self.rng.in_range(0..=2) {
                    0 => encode_client(&ClientMsg::Input(self.next_input())),
                    1 => encode_client(&self.hello(self.name.clone())),
                    _ => encode_client(&ClientMsg::Join(Join {
                        room: Some(self.room.clone()),
                        key: None,
                    })),
                };
                let cut = self.rng.in_range(1..=whole.len() as u64 - 1) as usize;
                Message::Binary(whole.slice(..cut))
            }
            Act::WrongShape => {
                let pick = self.rng.in_range(0..=WRONG_SHAPES.len() as u64 - 1) as usize;
                Message::Binary(Bytes::from_static(WRONG_SHAPES[pick]))
            }
            Act::UnknownType => {
                // Mostly types that fit a byte (above the newest client type, Claim's),
                // sometimes one that does not (type 1000).
                let frame: Vec<u8> = if self.rng.chance(0.2) {
                    vec![0x92, 0xcd, 0x03, 0xe8, 0x90]
                } else {
                    let first_unknown = u64::from(Claim::KIND) + 1;
                    vec![0x92, self.rng.in_range(first_unknown..=127) as u8, 0x90]
                };
                Message::Binary(frame.into())
            }
            Act::NonFinite => {
                let mut input = self.next_input();
                let bad = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY];
                let value = InputValue::Float(bad[self.rng.in_range(0..=2) as usize]);
                // Any field: a float field refuses it as not finite, any other as a float.
                // A game without input fields refuses the extra value.
                match input.values.len() {
                    0 => input.values.push(value),
                    n => input.values[self.rng.in_range(0..=n as u64 - 1) as usize] = value,
                }
                client(&ClientMsg::Input(input))
            }
            Act::SeqBackwards => {
                // Back by 0 (a repeat) to 10, never beyond the first input.
                let back = self.rng.in_range(0..=10) as u32;
                let seq = self.seq.saturating_sub(back).max(1);
                let input = self.input(seq);
                client(&ClientMsg::Input(input))
            }
            Act::SecondHello => client(&self.hello(self.name.clone())),
            Act::InputFlood => {
                let input = self.next_input();
                client(&ClientMsg::Input(input))
            }
            Act::PingFlood => client(&ClientMsg::Ping(Ping { client_time: 0.0 })),
            Act::JoinFlood | Act::Churn => self.join(),
            Act::TextFrame => Message::text("hello, I am a text frame"),
            Act::Oversize => {
                // A hello that would be valid but for its size: it is the size that is wrong.
                let long = "x".repeat(self.rng.in_range(4200..=6000) as usize);
                client(&self.hello(long))
            }
            // `frames` sends nothing for it; were it asked, an empty frame is malformed too.
            Act::StopReading => Message::Binary(Bytes::new()),
        }
    }

    fn next_input(&mut self) -> Input {
        self.seq = self.seq.wrapping_add(1);
        self.input(self.seq)
    }

    /// A well-formed input numbered `seq`, walking, showing no snapshot: a misbehaving bot
    /// keeps no copy of its room.
    fn input(&mut self, seq: u32) -> Input {
        self.inputs.next(seq, 0, self.walk.step(), &[], 0)
    }

    fn hello(&self, name: String) -> ClientMsg {
        ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name,
        })
    }

    fn join(&self) -> Message {
        client(&ClientMsg::Join(Join {
            room: Some(self.room.clone()),
            key: None,
        }))
    }
}

fn client(msg: &ClientMsg) -> Message {
    Message::Binary(encode_client(msg))
}

#[cfg(test)]
mod tests {
    use tickwire_shared::ErrorCode;

    use super::*;

    fn forge() -> Forge {
        let mut f = Forge::new(XorShift64::seeded(1), 3, "rogue-3".into(), "bots-1".into());
        f.new_connection(Some(&arena()));
        f
    }

    /// The real arena's schema.
    fn arena() -> Schema {
        let arena = tickwire_server::registry::find("arena").expect("the arena is registered");
        (arena.schema)()
    }

    /// Whether the server's input check takes `input`.
    fn accepted(input: &Input) -> bool {
        tickwire_server::game::InputValues::check(&arena().input, &input.values).is_ok()
    }

    fn binary(msg: &Message) -> &[u8] {
        match msg {
            Message::Binary(bytes) => bytes,
            other => panic!("expected a binary frame, got {other:?}"),
        }
    }

    /// The code the server's decoder (the same codec) gives the frame, or `None` when it
    /// decodes.
    fn code(frame: &[u8]) -> Option<ErrorCode> {
        ClientMsg::decode(frame).err().map(|e| e.code())
    }

    #[test]
    fn every_act_gets_picked_and_named_once() {
        let mut rng = XorShift64::seeded(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..10_000 {
            seen.insert(Act::pick(&mut rng));
        }
        assert_eq!(seen.len(), WEIGHTS.len());
        let names: std::collections::BTreeSet<_> = seen.iter().map(|a| a.name()).collect();
        assert_eq!(names.len(), WEIGHTS.len());
    }

    #[test]
    fn floods_send_hundreds_to_thousands_a_second_for_seconds() {
        let mut rng = XorShift64::seeded(2);
        let secs = Duration::from_secs;
        for (act, rates, lengths) in [
            (Act::InputFlood, 300.0..=3000.0, secs(1)..=secs(3)),
            (Act::PingFlood, 200.0..=1000.0, secs(1) / 2..=secs(2)),
            (Act::JoinFlood, 100.0..=500.0, secs(1) / 2..=secs(3) / 2),
            (Act::Churn, 20.0..=100.0, secs(1)..=secs(2)),
        ] {
            for _ in 0..100 {
                let plan = act.plan(&mut rng);
                let per_s = f64::from(plan.per_beat) / plan.period.as_secs_f64();
                // Rounding to whole frames per beat moves the rate by at most 5 a second.
                let near = (rates.start() - 5.0)..=(rates.end() + 5.0);
                assert!(near.contains(&per_s), "{act:?} at {per_s}/s: {plan:?}");
                let length = plan.length();
                let loose = lengths.start().saturating_sub(plan.period)..=*lengths.end();
                assert!(loose.contains(&length), "{act:?} for {length:?}: {plan:?}");
            }
        }
        assert!(!Act::StopReading.plan(&mut rng).reading);
        assert_eq!(Act::TextFrame.plan(&mut rng).beats, 1);
    }

    #[test]
    fn malformed_acts_are_malformed_to_the_server() {
        let mut f = forge();
        for _ in 0..200 {
            for act in [Act::Truncated, Act::WrongShape] {
                let frame = f.frame(act);
                assert_eq!(
                    code(binary(&frame)),
                    Some(ErrorCode::MALFORMED),
                    "{frame:?}"
                );
            }
        }
        for shape in WRONG_SHAPES {
            assert_eq!(code(shape), Some(ErrorCode::MALFORMED), "{shape:02x?}");
        }
    }

    #[test]
    fn unknown_types_are_unknown_to_the_server() {
        let mut f = forge();
        for _ in 0..200 {
            let frame = f.frame(Act::UnknownType);
            assert_eq!(
                code(binary(&frame)),
                Some(ErrorCode::UNKNOWN_TYPE),
                "{frame:?}"
            );
        }
    }

    #[test]
    fn non_finite_inputs_decode_but_carry_a_bad_number() {
        let mut f = forge();
        for _ in 0..100 {
            let frame = f.frame(Act::NonFinite);
            match ClientMsg::decode(binary(&frame)) {
                Ok(ClientMsg::Input(input)) => {
                    assert_eq!(input.values.len(), 4, "{input:?}");
                    assert!(!accepted(&input), "INVALID_VALUE: {input:?}");
                    let bad = |v: &InputValue| matches!(v, InputValue::Float(x) if !x.is_finite());
                    assert!(input.values.iter().any(bad), "{input:?}");
                }
                other => panic!("expected an input, got {other:?}"),
            }
        }
    }

    #[test]
    fn sequence_numbers_go_back_or_repeat_but_never_to_zero() {
        let mut f = forge();
        let mut out = Vec::new();
        f.frames(Act::InputFlood, 20, &mut out);
        assert_eq!(f.seq, 20);
        for frame in &out {
            let Ok(ClientMsg::Input(input)) = ClientMsg::decode(binary(frame)) else {
                panic!("expected an input");
            };
            assert!(accepted(&input), "a flood is of good inputs: {input:?}");
        }
        for _ in 0..100 {
            let frame = f.frame(Act::SeqBackwards);
            let Ok(ClientMsg::Input(input)) = ClientMsg::decode(binary(&frame)) else {
                panic!("expected an input");
            };
            assert!((10..=20).contains(&input.seq), "{}", input.seq);
        }
        assert_eq!(f.seq, 20, "going back does not move the sequence on");
        f.new_connection(None);
        let Ok(ClientMsg::Input(input)) = ClientMsg::decode(binary(&f.frame(Act::SeqBackwards)))
        else {
            panic!("expected an input");
        };
        assert_eq!(input.seq, 1);
    }

    #[test]
    fn oversize_is_over_the_limit_and_text_is_text() {
        let mut f = forge();
        let big = f.frame(Act::Oversize);
        assert!(binary(&big).len() > 4096, "{}", binary(&big).len());
        assert!(matches!(
            ClientMsg::decode(binary(&big)),
            Ok(ClientMsg::Hello(_))
        ));
        assert!(matches!(f.frame(Act::TextFrame), Message::Text(_)));
    }

    #[test]
    fn a_churn_ends_in_the_room() {
        let mut f = forge();
        let mut out = Vec::new();
        f.frames(Act::Churn, 3, &mut out);
        assert_eq!(out.len(), 6);
        let last = ClientMsg::decode(binary(&out[5])).expect("a join");
        assert_eq!(
            last,
            ClientMsg::Join(Join {
                room: Some("bots-1".into()),
                key: None
            })
        );
    }
}
