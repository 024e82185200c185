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
    Welcome = 0, Joined = 1, Snapshot = 2, Pong = 3, Error = 4, PlayerJoined = 5, PlayerLeft = 6,
    Resumed = 7, ChatAck = 8, ChatMessage = 9, Events = 10,
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
            _ => return Err(DecodeError::UnknownType { kind: kind.into() }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> Input {
        Input {
            seq: 42,
            dir: [0.5, -1.0],
            facing: 1.5,
            buttons: 3,
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
        ];
        for msg in msgs {
            let frame = encode_client(&msg);
            assert_eq!(ClientMsg::decode(&frame).unwrap(), msg);
            assert_eq!(frame[1], msg.kind());
        }
    }

    #[test]
    fn server_snapshots_round_trip() {
        let ana = PlayerState {
            id: 9,
            x: 100_000,
            y: -2,
            vx: -300,
            vy: 4,
            facing: 512,
            last_input_seq: 77,
        };
        let keyframe = Snapshot {
            tick: 1 << 40,
            base_tick: None,
            server_time_ms: 1_700_000_000_000,
            state_hash: crate::state_hash([&ana]),
            removed: vec![],
            added: vec![ana],
            changes: vec![],
        };
        let delta = Snapshot {
            tick: (1 << 40) + 3,
            base_tick: Some(1 << 40),
            removed: vec![4, u32::MAX],
            added: vec![PlayerState {
                id: 5,
                facing: -511,
                ..ana
            }],
            changes: vec![0xaa, 0x00, 0xff],
            ..keyframe.clone()
        };
        for snap in [keyframe, delta] {
            let msg = ServerMsg::Snapshot(snap);
            assert_eq!(ServerMsg::decode(&encode_server(&msg)).unwrap(), msg);
        }
    }

    /// `changes` is a MessagePack bin (`c4`), not an array of small integers.
    #[test]
    fn snapshot_changes_are_a_bin() {
        let snap = Snapshot {
            tick: 1,
            base_tick: Some(0),
            server_time_ms: 0,
            state_hash: 0,
            removed: vec![],
            added: vec![],
            changes: vec![0x80, 0x01],
        };
        let frame = encode(&snap);
        assert_eq!(
            frame[..],
            [
                0x92, 0x02, 0x97, 1, 0, 0, 0, 0x90, 0x90, 0xc4, 2, 0x80, 0x01
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
            ServerMsg::PlayerLeft(PlayerLeft {
                id: 9,
                name: "cy".into(),
            }),
            ServerMsg::Resumed(Resumed {
                player_id: 7,
                room: Some("lobby".into()),
                players,
                resume_token: "ffeeddccbbaa99887766554433221100".into(),
            }),
            ServerMsg::Resumed(Resumed {
                player_id: 7,
                room: None,
                players: vec![],
                resume_token: String::new(),
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
    }

    #[test]
    fn malformed_frames_are_errors_not_panics() {
        let frames: [&[u8]; 7] = [
            &[],
            &[0xc1],
            &[0x91, 0x00],
            &[0x92, 0xa1, b'x', 0x90],
            &[0x92, 0x03, 0x90],
            &[0x92, 0x03, 0x95, 0x01],
            &[0x92, 0x02, 0x90, 0x00],
        ];
        for frame in frames {
            let err = ClientMsg::decode(frame).unwrap_err();
            assert_eq!(err.code(), ErrorCode::MALFORMED, "{frame:02x?}: {err}");
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

        /// Invariant: every input survives a round trip bit for bit.
        #[test]
        fn inputs_round_trip(seq: u32, x: f32, y: f32, facing: f32, buttons: u8) {
            let msg = Input { seq, dir: [x, y], facing, buttons };
            let back = ClientMsg::decode(&encode(&msg)).unwrap();
            let ClientMsg::Input(back) = back else { panic!("not an input") };
            proptest::prop_assert_eq!(back.seq, seq);
            proptest::prop_assert_eq!(back.dir[0].to_bits(), x.to_bits());
            proptest::prop_assert_eq!(back.dir[1].to_bits(), y.to_bits());
            proptest::prop_assert_eq!(back.facing.to_bits(), facing.to_bits());
        }
    }
}
