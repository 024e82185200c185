//! The frame codec: `[type, body]` envelopes around serde bodies.
//!
//! The envelope is read by hand (with `rmp`) so that a decode error says precisely what
//! was wrong: not an envelope, an unknown type, or a body that does not fit its type.
//! Bodies go through `rmp-serde`, which writes structs as arrays of their fields.

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::messages::*;

/// A message body with its wire type number.
pub trait Message: Serialize + DeserializeOwned {
    /// The first element of the envelope.
    const KIND: u8;
}

macro_rules! kinds {
    ($($ty:ty = $kind:literal),* $(,)?) => {
        $(impl Message for $ty { const KIND: u8 = $kind; })*
    };
}

kinds! {
    Hello = 0, Join = 1, Leave = 2, Input = 3, Ping = 4, Create = 5, Resume = 6, Chat = 7,
    Watch = 8, Claim = 9,
    Welcome = 0, Joined = 1, Snapshot = 2, Pong = 3, Error = 4, PlayerJoined = 5, PlayerLeft = 6,
    Resumed = 7, ChatAck = 8, ChatMessage = 9, Events = 10, Redirect = 11, Notice = 12,
}

/// Why a frame could not be read. Each variant maps to an [`ErrorCode`] for the reply.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The frame does not start with a two-element array and an integer type.
    #[error("frame is not a [type, body] array: {0}")]
    Envelope(String),
    /// The type number is not one this side knows; `kind` says which it was.
    #[error("unknown message type {kind}")]
    UnknownType {
        /// The type number the frame carried.
        kind: u64,
    },
    /// The body does not match the fields of its type.
    #[error("bad body for message type {kind}: {source}")]
    Body {
        /// The type number the frame carried.
        kind: u8,
        /// What rmp-serde found wrong.
        source: rmp_serde::decode::Error,
    },
    /// Bytes were left over after the body.
    #[error("{count} trailing bytes after message type {kind}")]
    Trailing {
        /// The type number the frame carried.
        kind: u8,
        /// How many bytes were left.
        count: usize,
    },
}

impl DecodeError {
    /// The error code to answer this with.
    pub fn code(&self) -> ErrorCode {
        match self {
            DecodeError::UnknownType { .. } => ErrorCode::UNKNOWN_TYPE,
            _ => ErrorCode::MALFORMED,
        }
    }

    /// The message type the frame claimed to be, if it got that far.
    pub fn kind(&self) -> Option<u8> {
        match self {
            DecodeError::Envelope(_) => None,
            DecodeError::UnknownType { kind } => u8::try_from(*kind).ok(),
            DecodeError::Body { kind, .. } | DecodeError::Trailing { kind, .. } => Some(*kind),
        }
    }
}

/// Encodes one message body in its envelope, ready to send as one binary frame.
pub fn encode<M: Message>(body: &M) -> Bytes {
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(&[0x92, M::KIND]); // fixarray(2), then the type as a positive fixint
    debug_assert!(M::KIND < 0x80, "type numbers are positive fixints");
    rmp_serde::encode::write(&mut buf, body)
        .expect("invariant: writing into a Vec cannot fail and every body type is serializable");
    Bytes::from(buf)
}

/// Encodes any client message.
pub fn encode_client(msg: &ClientMsg) -> Bytes {
    match msg {
        ClientMsg::Hello(m) => encode(m),
        ClientMsg::Join(m) => encode(m),
        ClientMsg::Leave(m) => encode(m),
        ClientMsg::Input(m) => encode(m),
        ClientMsg::Ping(m) => encode(m),
        ClientMsg::Create(m) => encode(m),
        ClientMsg::Resume(m) => encode(m),
        ClientMsg::Chat(m) => encode(m),
        ClientMsg::Watch(m) => encode(m),
        ClientMsg::Claim(m) => encode(m),
    }
}

/// Encodes any server message.
pub fn encode_server(msg: &ServerMsg) -> Bytes {
    match msg {
        ServerMsg::Welcome(m) => encode(m),
        ServerMsg::Joined(m) => encode(m),
        ServerMsg::Snapshot(m) => encode(m),
        ServerMsg::Pong(m) => encode(m),
        ServerMsg::Error(m) => encode(m),
        ServerMsg::PlayerJoined(m) => encode(m),
        ServerMsg::PlayerLeft(m) => encode(m),
        ServerMsg::Resumed(m) => encode(m),
        ServerMsg::ChatAck(m) => encode(m),
        ServerMsg::ChatMessage(m) => encode(m),
        ServerMsg::Events(m) => encode(m),
        ServerMsg::Redirect(m) => encode(m),
        ServerMsg::Notice(m) => encode(m),
    }
}

/// Reads the envelope: returns the type number and the body's bytes.
fn open_envelope(frame: &[u8]) -> Result<(u8, &[u8]), DecodeError> {
    let mut rd = frame;
    let len = rmp::decode::read_array_len(&mut rd)
        .map_err(|e| DecodeError::Envelope(format!("no array: {e}")))?;
    if len != 2 {
        return Err(DecodeError::Envelope(format!(
            "array of {len} elements, not 2"
        )));
    }
    let kind: u64 = rmp::decode::read_int(&mut rd)
        .map_err(|e| DecodeError::Envelope(format!("type is not an unsigned integer: {e}")))?;
    let kind = u8::try_from(kind).map_err(|_| DecodeError::UnknownType { kind })?;
    Ok((kind, rd))
}

fn body<M: Message>(bytes: &[u8]) -> Result<M, DecodeError> {
    let mut rd = bytes;
    let mut de = rmp_serde::Deserializer::new(&mut rd);
    let msg = M::deserialize(&mut de).map_err(|source| DecodeError::Body {
        kind: M::KIND,
        source,
    })?;
    drop(de);
    if !rd.is_empty() {
        return Err(DecodeError::Trailing {
            kind: M::KIND,
            count: rd.len(),
        });
    }
    Ok(msg)
}

impl ClientMsg {
    /// Reads one frame from a client. Never panics, whatever the bytes.
    ///
    /// # Errors
    /// [`DecodeError`] when the frame is not a client message of a known type.
    pub fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        let (kind, rest) = open_envelope(frame)?;
        Ok(match kind {
            Hello::KIND => ClientMsg::Hello(body(rest)?),
            Join::KIND => ClientMsg::Join(body(rest)?),
            Leave::KIND => ClientMsg::Leave(body(rest)?),
            Input::KIND => ClientMsg::Input(body(rest)?),
            Ping::KIND => ClientMsg::Ping(body(rest)?),
            Create::KIND => ClientMsg::Create(body(rest)?),
            Resume::KIND => ClientMsg::Resume(body(rest)?),
            Chat::KIND => ClientMsg::Chat(body(rest)?),
            Watch::KIND => ClientMsg::Watch(body(rest)?),
            Claim::KIND => ClientMsg::Claim(body(rest)?),
            _ => return Err(DecodeError::UnknownType { kind: kind.into() }),
        })
    }

    /// The message's wire type number.
    pub fn kind(&self) -> u8 {
        match self {
            ClientMsg::Hello(_) => Hello::KIND,
            ClientMsg::Join(_) => Join::KIND,
            ClientMsg::Leave(_) => Leave::KIND,
            ClientMsg::Input(_) => Input::KIND,
            ClientMsg::Ping(_) => Ping::KIND,
            ClientMsg::Create(_) => Create::KIND,
            ClientMsg::Resume(_) => Resume::KIND,
            ClientMsg::Chat(_) => Chat::KIND,
            ClientMsg::Watch(_) => Watch::KIND,
            ClientMsg::Claim(_) => Claim::KIND,
        }
    }
}

impl ServerMsg {
    /// Reads one frame from the server.
    ///
    /// # Errors
    /// [`DecodeError`] when the frame is not a server message of a known type.
    pub fn decode(frame: &[u8]) -> Result<Self, DecodeError> {
        let (kind, rest) = open_envelope(frame)?;
        Ok(match kind {
            Welcome::KIND => ServerMsg::Welcome(body(rest)?),
            Joined::KIND => ServerMsg::Joined(body(rest)?),
            Snapshot::KIND => ServerMsg::Snapshot(body(rest)?),
            Pong::KIND => ServerMsg::Pong(body(rest)?),
            Error::KIND => ServerMsg::Error(body(rest)?),
            PlayerJoined::KIND => ServerMsg::PlayerJoined(body(rest)?),
            PlayerLeft::KIND => ServerMsg::PlayerLeft(body(rest)?),
            Resumed::KIND => ServerMsg::Resumed(body(rest)?),
            ChatAck::KIND => ServerMsg::ChatAck(body(rest)?),
            ChatMessage::KIND => ServerMsg::ChatMessage(body(rest)?),
            Events::KIND => ServerMsg::Events(body(rest)?),
            Redirect::KIND => ServerMsg::Redirect(body(rest)?),
            Notice::KIND => ServerMsg::Notice(body(rest)?),
            _ => return Err(DecodeError::UnknownType { kind: kind.into() }),
        })
    }
}

impl ServerMsg {
    /// The type number of the server message in `frame`, from its envelope alone: for a
    /// reader that decodes only some types in full (the bot's light bots). `None` when the
    /// frame does not start like a message.
    pub fn peek_kind(frame: &[u8]) -> Option<u8> {
        open_envelope(frame).ok().map(|(kind, _)| kind)
    }
}

impl Snapshot {
    /// The tick of the snapshot in `frame` (its body's first field), read without decoding
    /// the rest. `None` when `frame` is not a snapshot or its body does not start with an
    /// array and an unsigned integer.
    pub fn peek_tick(frame: &[u8]) -> Option<u64> {
        let (kind, mut rd) = open_envelope(frame).ok()?;
        if kind != Snapshot::KIND {
            return None;
        }
        rmp::decode::read_array_len(&mut rd).ok()?;
        rmp::decode::read_int(&mut rd).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entity::{Entity, GameEvent, Value};
    use crate::schema::{EventKind, Field, InputField, Kind, Schema};

    fn input() -> Input {
        Input {
            seq: 42,
            view_tick: 1200,
            values: vec![
                InputValue::Float(0.5),
                InputValue::Float(-1.0),
                InputValue::Int(3),
                InputValue::Bool(true),
            ],
        }
    }

    fn schema() -> Schema {
        Schema::new("tag")
            .input(InputField::float("dx", -1.0, 1.0))
            .kind(
                Kind::new("runner")
                    .field(Field::velocity("vx", 1))
                    .field(Field::position("x", 100).predicted_by("vx"))
                    .field(Field::position("y", 100))
                    .field(Field::string("name", 16))
                    .at("x", "y"),
            )
            .event(EventKind::new("tagged").field(Field::entity("runner")))
    }

    fn runner(id: u32, x: i64) -> Entity {
        Entity {
            id,
            kind: 0,
            values: vec![
                Value::Int(-300),
                Value::Int(x),
                Value::Int(-2),
                Value::Str("ana".into()),
            ],
        }
    }

    #[test]
    fn client_messages_round_trip() {
        let msgs = [
            ClientMsg::Hello(Hello {
                version: crate::PROTOCOL_VERSION,
                name: "ana".into(),
            }),
            ClientMsg::Join(Join {
                room: None,
                key: None,
            }),
            ClientMsg::Join(Join {
                room: Some("den".into()),
                key: Some("k3y".into()),
            }),
            ClientMsg::Leave(Leave {}),
            ClientMsg::Input(input()),
            ClientMsg::Input(Input {
                seq: 0,
                view_tick: 0,
                values: vec![],
            }),
            ClientMsg::Ping(Ping { client_time: 12.5 }),
            ClientMsg::Create(Create {
                room: "den".into(),
                private: true,
                key: Some("k3y".into()),
                capacity: Some(4),
            }),
            ClientMsg::Resume(Resume {
                token: "00112233445566778899aabbccddeeff".into(),
            }),
            ClientMsg::Chat(Chat {
                id: 1,
                text: "hi".into(),
            }),
            ClientMsg::Chat(Chat {
                id: 2,
                text: ChatText(vec![0x68, 0x69, 0xff]),
            }),
            ClientMsg::Watch(Watch {
                room: "den".into(),
                key: None,
            }),
            ClientMsg::Claim(Claim {
                ticket: "t1".into(),
            }),
        ];
        for msg in msgs {
            let frame = encode_client(&msg);
            assert_eq!(ClientMsg::decode(&frame).unwrap(), msg);
            assert_eq!(frame[1], msg.kind());
        }
    }

    /// Input values keep their MessagePack type: a float is a float64, an integer the
    /// shortest integer, a bool a bool; a float32 from a client reads as the same number.
    #[test]
    fn input_values_keep_their_type() {
        let frame = encode(&input());
        assert_eq!(
            frame[..],
            [
                0x92, 0x03, 0x93, 42, 0xcd, 0x04, 0xb0, 0x94, 0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0,
                0xcb, 0xbf, 0xf0, 0, 0, 0, 0, 0, 0, 0x03, 0xc3
            ]
        );
        let f32_frame = [0x92, 0x03, 0x93, 1, 0, 0x91, 0xca, 0x3f, 0x00, 0, 0];
        let Ok(ClientMsg::Input(back)) = ClientMsg::decode(&f32_frame) else {
            panic!("a float32 input decodes");
        };
        assert_eq!(back.values, [InputValue::Float(0.5)]);
        // A string or nil is no input value.
        assert!(ClientMsg::decode(&[0x92, 0x03, 0x93, 1, 0, 0x91, 0xa1, b'x']).is_err());
        assert!(ClientMsg::decode(&[0x92, 0x03, 0x93, 1, 0, 0x91, 0xc0]).is_err());
    }

    #[test]
    fn server_snapshots_round_trip() {
        let ana = runner(9, 100_000);
        let keyframe = Snapshot::keyframe(1 << 40, 1_700_000_000_000, 77, vec![ana.clone()]);
        let delta = Snapshot {
            tick: (1 << 40) + 3,
            base_tick: Some(1 << 40),
            removed: vec![4, u32::MAX],
            added: vec![runner(5, i64::from(i32::MIN))],
            changes: vec![0xaa, 0x00, 0xff],
            ack: u32::MAX,
            ..keyframe.clone()
        };
        for snap in [keyframe, delta] {
            let msg = ServerMsg::Snapshot(snap);
            assert_eq!(ServerMsg::decode(&encode_server(&msg)).unwrap(), msg);
        }
    }

    /// `changes` is a MessagePack bin (`c4`), not an array of small integers, and the ack
    /// comes between the state hash and the lists.
    #[test]
    fn snapshot_changes_are_a_bin() {
        let snap = Snapshot {
            tick: 1,
            base_tick: Some(0),
            server_time_ms: 0,
            state_hash: 0,
            ack: 5,
            removed: vec![],
            added: vec![],
            changes: vec![0x80, 0x01],
        };
        let frame = encode(&snap);
        assert_eq!(
            frame[..],
            [
                0x92, 0x02, 0x98, 1, 0, 0, 0, 5, 0x90, 0x90, 0xc4, 2, 0x80, 0x01
            ]
        );
    }

    #[test]
    fn other_server_messages_round_trip() {
        let players = vec![PlayerInfo {
            id: 3,
            name: "bo".into(),
        }];
        let msgs = [
            ServerMsg::Welcome(Welcome {
                player_id: 7,
                tick_rate: 60,
                protocol_version: crate::PROTOCOL_VERSION,
                resume_token: "00112233445566778899aabbccddeeff".into(),
                user_id: "ana".into(),
            }),
            ServerMsg::Joined(Joined {
                room: "lobby".into(),
                players: players.clone(),
                schema: schema(),
            }),
            ServerMsg::PlayerLeft(PlayerLeft {
                id: 9,
                name: "cy".into(),
            }),
            ServerMsg::Resumed(Resumed {
                player_id: 7,
                room: Some("lobby".into()),
                players,
                resume_token: "ffeeddccbbaa99887766554433221100".into(),
                schema: Some(schema()),
            }),
            ServerMsg::Resumed(Resumed {
                player_id: 7,
                room: None,
                players: vec![],
                resume_token: String::new(),
                schema: None,
            }),
            ServerMsg::Redirect(Redirect {
                url: "ws://b:4000".into(),
                room: None,
                ticket: None,
                in_reply_to: None,
            }),
            ServerMsg::Notice(Notice {
                text: "hi".into(),
                to_all: false,
                time_ms: 1,
            }),
            ServerMsg::Events(Events {
                tick: 1201,
                events: vec![
                    GameEvent {
                        kind: 0,
                        values: vec![Value::Int(9)],
                    },
                    GameEvent {
                        kind: 0,
                        values: vec![],
                    },
                ],
            }),
            ServerMsg::ChatAck(ChatAck {
                id: 1,
                server_id: 41,
                time_ms: 1_700_000_000_250,
                refused: None,
            }),
            ServerMsg::ChatAck(ChatAck {
                id: 2,
                server_id: 0,
                time_ms: 0,
                refused: Some("rate_limited".into()),
            }),
            ServerMsg::ChatMessage(ChatMessage {
                server_id: 41,
                from: 7,
                name: "ana".into(),
                text: "hi".into(),
                time_ms: 1_700_000_000_250,
            }),
        ];
        for msg in msgs {
            assert_eq!(ServerMsg::decode(&encode_server(&msg)).unwrap(), msg);
        }
    }

    /// A schema read back from the wire is the one sent, its predictions resolved to
    /// indices (the builder's names stay behind).
    #[test]
    fn a_joined_schema_reads_back_checked() {
        let frame = encode(&Joined {
            room: "lobby".into(),
            players: vec![],
            schema: schema(),
        });
        let Ok(ServerMsg::Joined(back)) = ServerMsg::decode(&frame) else {
            panic!("a joined frame decodes");
        };
        assert_eq!(back.schema, schema());
        assert_eq!(back.schema.check(), Ok(()));
        assert_eq!(back.schema.kinds[0].fields[1].predict, Some(0));
    }

    /// Chat text is written as a str when it is UTF-8 and as a bin otherwise, and either
    /// form reads back as the same bytes (a str that is not UTF-8 too, so that the server
    /// can refuse it by the chat's id instead of as a malformed frame).
    #[test]
    fn chat_text_is_str_when_utf8_and_bin_otherwise() {
        let chat = |text: ChatText| encode(&Chat { id: 1, text }).to_vec();
        assert_eq!(chat("hi".into())[4..], [0xa2, b'h', b'i']);
        assert_eq!(chat(ChatText(vec![0xff]))[4..], [0xc4, 0x01, 0xff]);

        for (frame, text) in [
            (&[0x92, 0x07, 0x92, 0x01, 0xa2, b'h', b'i'][..], &b"hi"[..]),
            (&[0x92, 0x07, 0x92, 0x01, 0xc4, 0x02, b'h', b'i'], b"hi"),
            (&[0x92, 0x07, 0x92, 0x01, 0xa1, 0xff], &[0xff]),
            (&[0x92, 0x07, 0x92, 0x01, 0xc4, 0x01, 0xff], &[0xff]),
        ] {
            let msg = ClientMsg::decode(frame).unwrap();
            assert_eq!(
                msg,
                ClientMsg::Chat(Chat {
                    id: 1,
                    text: ChatText(text.to_vec()),
                }),
                "{frame:02x?}"
            );
        }
        // Neither a number nor an array of bytes is text.
        assert!(ClientMsg::decode(&[0x92, 0x07, 0x92, 0x01, 0x05]).is_err());
        assert!(ClientMsg::decode(&[0x92, 0x07, 0x92, 0x01, 0x91, 0x68]).is_err());
    }

    #[test]
    fn unknown_type_is_reported_as_such() {
        let err = ClientMsg::decode(&[0x92, 0x63, 0x90]).unwrap_err();
        assert!(
            matches!(err, DecodeError::UnknownType { kind: 99 }),
            "{err}"
        );
        assert_eq!(err.code(), ErrorCode::UNKNOWN_TYPE);
        assert_eq!(err.kind(), Some(99));
        // Type 10 is the server's `Events`; a client has no type 10.
        let err = ClientMsg::decode(&[0x92, 0x0a, 0x92, 0x01, 0x90]).unwrap_err();
        assert!(
            matches!(err, DecodeError::UnknownType { kind: 10 }),
            "{err}"
        );
        assert!(ServerMsg::decode(&[0x92, 0x0b, 0x90]).is_err());
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let frames: [&[u8]; 8] = [
            &[],
            &[0xc1],
            &[0x91, 0x00],
            &[0x92, 0xa1, b'x', 0x90],
            &[0x92, 0x03, 0x90],
            &[0x92, 0x03, 0x93, 0x01],
            &[0x92, 0x02, 0x90, 0x00],
            // An input whose values are not an array.
            &[0x92, 0x03, 0x93, 0x01, 0x00, 0x05],
        ];
        for frame in frames {
            let err = ClientMsg::decode(frame).unwrap_err();
            assert_eq!(err.code(), ErrorCode::MALFORMED, "{frame:02x?}: {err}");
        }
        // An entity id beyond u32, and an entity kind beyond u8, in a keyframe's `added`.
        for entity in [
            &[0x92, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0][..],
            &[0x92, 0, 0xcd, 1, 0],
        ] {
            let mut frame = vec![0x92, 0x02, 0x98, 1, 0xc0, 0, 0, 0, 0x90, 0x91];
            frame.extend_from_slice(entity);
            frame.extend_from_slice(&[0xc4, 0]);
            let err = ServerMsg::decode(&frame).unwrap_err();
            assert!(matches!(err, DecodeError::Body { kind: 2, .. }), "{err}");
        }
    }

    #[test]
    fn trailing_bytes_are_refused() {
        let mut frame = encode_client(&ClientMsg::Input(input())).to_vec();
        frame.push(0xc0);
        assert!(matches!(
            ClientMsg::decode(&frame),
            Err(DecodeError::Trailing { kind: 3, count: 1 })
        ));
    }

    proptest::proptest! {
        /// Invariant: decoding never panics, whatever the bytes.
        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
            let _ = ClientMsg::decode(&bytes);
            let _ = ServerMsg::decode(&bytes);
        }

        /// Invariant: every input survives a round trip bit for bit (floats included).
        #[test]
        fn inputs_round_trip(seq: u32, view_tick: u64, x: f64, n: i64, b: bool) {
            let msg = Input {
                seq,
                view_tick,
                values: vec![InputValue::Float(x), InputValue::Int(n), InputValue::Bool(b)],
            };
            let back = ClientMsg::decode(&encode(&msg)).unwrap();
            let ClientMsg::Input(back) = back else { panic!("not an input") };
            proptest::prop_assert_eq!(back.seq, seq);
            proptest::prop_assert_eq!(back.view_tick, view_tick);
            let InputValue::Float(y) = back.values[0] else { panic!("not a float") };
            proptest::prop_assert_eq!(y.to_bits(), x.to_bits());
            proptest::prop_assert_eq!(&back.values[1..], &msg.values[1..]);
        }
    }

    fn snapshot_frame(tick: u64) -> Bytes {
        encode_server(&ServerMsg::Snapshot(Snapshot {
            tick,
            base_tick: Some(tick.saturating_sub(1)),
            server_time_ms: 99,
            state_hash: 7,
            ack: 3,
            removed: vec![],
            added: vec![],
            changes: vec![],
        }))
    }

    #[test]
    fn a_snapshot_is_known_by_its_type_and_its_tick_read_at_every_width() {
        for tick in [0, 1, 127, 128, 255, 256, 65_535, 65_536, 1 << 33, u64::MAX] {
            let frame = snapshot_frame(tick);
            assert_eq!(ServerMsg::peek_kind(&frame), Some(Snapshot::KIND));
            assert_eq!(Snapshot::peek_tick(&frame), Some(tick), "{tick}");
        }
        let pong = encode_server(&ServerMsg::Pong(Pong {
            client_time: 1.5,
            server_tick: 9,
        }));
        assert_eq!(ServerMsg::peek_kind(&pong), Some(Pong::KIND));
        assert_eq!(Snapshot::peek_tick(&pong), None, "not a snapshot");
    }

    #[test]
    fn bytes_that_are_no_message_are_not_peeked_at() {
        assert_eq!(ServerMsg::peek_kind(&[]), None);
        assert_eq!(ServerMsg::peek_kind(&[0x92]), None);
        assert_eq!(ServerMsg::peek_kind(&[0x93, 2]), None);
        assert_eq!(ServerMsg::peek_kind(&[0x92, 0xCC]), None);
        // Cut anywhere, a snapshot's tick is not made up.
        let frame = snapshot_frame(1 << 40);
        for cut in 0..4 + 8 {
            assert_eq!(Snapshot::peek_tick(&frame[..cut]), None, "{cut}");
        }
        assert_eq!(
            Snapshot::peek_tick(&[0x92, 2, 0x98, 0xC0]),
            None,
            "nil tick"
        );
        assert_eq!(
            Snapshot::peek_tick(&[0x92, 2, 0xA1, 0x01]),
            None,
            "no array"
        );
        assert_eq!(Snapshot::peek_tick(&[0x92, 2, 0xDC, 0, 8, 0x05]), Some(5));
        assert_eq!(
            Snapshot::peek_tick(&[0x92, 2, 0xDD, 0, 0, 0, 8, 0xCC, 200]),
            Some(200)
        );
    }
}
