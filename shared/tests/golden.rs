//! Golden vectors: the exact bytes of every Tickwire message, pinned.
//!
//! Each test here encodes one fixed message with the real codec, compares the frame with a
//! hex constant byte for byte, and decodes the constant back to the same message. The
//! constants are copied verbatim from the examples in `PROTOCOL.md`, so the document and the
//! code cannot drift apart silently: reordering a struct's fields, changing a field's type,
//! renumbering a message or switching the encoding (maps instead of arrays, float64 instead
//! of float32, non-minimal integers) breaks a test here. If a change to the wire is
//! intended, bump `PROTOCOL_VERSION` and update `PROTOCOL.md` together with these vectors.
//!
//! `every_vector_is_plain_messagepack` reads every vector again with `rmpv`, a generic
//! MessagePack reader that knows nothing about Tickwire or serde, and checks the structure
//! `PROTOCOL.md` documents (envelope, type number, field count, the MessagePack type and
//! value of each field). It then re-encodes what it read with `rmpv`'s writer, which always
//! picks the smallest encoding, and gets the same bytes back: the wire is canonical, plain
//! MessagePack that any language's library can read and write.

use rmpv::Value;
use tickwire_shared::{
    ClientMsg, Error, ErrorCode, Hello, Input, Join, Joined, Leave, Ping, PlayerInfo, PlayerJoined,
    PlayerLeft, PlayerState, Pong, ServerMsg, Snapshot, Welcome, encode_client, encode_server,
};

// Client to server. Each constant is the example under the same name in PROTOCOL.md.

/// Hello { version: 1, name: "ana" }
const HELLO: &str = "92 00 92 01 a3 61 6e 61";
/// Join { room: "lobby" }
const JOIN_NAMED: &str = "92 01 91 a5 6c 6f 62 62 79";
/// Join { room: nil } (quick-join)
const JOIN_QUICK: &str = "92 01 91 c0";
/// Leave {}
const LEAVE: &str = "92 02 90";
/// Input { seq: 300, dir: [0.5, -0.5], facing: 1.5, buttons: 1 }
const INPUT: &str = "92 03 94 cd 01 2c 92 ca 3f 00 00 00 ca bf 00 00 00 ca 3f c0 00 00 01";
/// Ping { client_time: 1500.25 }
const PING: &str = "92 04 91 cb 40 97 71 00 00 00 00 00";

// Server to client.

/// Welcome { player_id: 7, tick_rate: 60, protocol_version: 1 }
const WELCOME: &str = "92 00 93 07 3c 01";
/// Joined { room: "lobby", players: [{ id: 3, name: "bo" }] }
const JOINED: &str = "92 01 92 a5 6c 6f 62 62 79 91 92 03 a2 62 6f";
/// Snapshot { tick: 1200, server_time_ms: 1700000000000, players: [one player] }
const SNAPSHOT: &str = "92 02 93 cd 04 b0 cf 00 00 01 8b cf e5 68 00 91 95 07 92 ca 44 7a 00 00 \
                        ca 44 00 20 00 92 ca 43 34 00 00 ca c3 70 00 00 ca 3f c0 00 00 cd 01 2c";
/// Pong { client_time: 1500.25, server_tick: 1200 }
const PONG: &str = "92 03 92 cb 40 97 71 00 00 00 00 00 cd 04 b0";
/// Error { code: 7 (ROOM_FULL), message: "room is full", in_reply_to: 1 }
const ERROR_ROOM_FULL: &str = "92 04 93 07 ac 72 6f 6f 6d 20 69 73 20 66 75 6c 6c 01";
/// Error { code: 1 (MALFORMED), message: "bad frame", in_reply_to: nil }
const ERROR_MALFORMED: &str = "92 04 93 01 a9 62 61 64 20 66 72 61 6d 65 c0";
/// PlayerJoined { id: 9, name: "cy" }
const PLAYER_JOINED: &str = "92 05 92 09 a2 63 79";
/// PlayerLeft { id: 9 }
const PLAYER_LEFT: &str = "92 06 91 09";

/// Lower-case hex, one space between bytes: the format of the constants above.
fn to_hex(bytes: &[u8]) -> String {
    let pairs: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    pairs.join(" ")
}

/// Reads hex written like the constants above; whitespace between bytes is ignored.
fn from_hex(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits in {hex:?}");
    digits
        .chunks(2)
        .map(|pair| {
            let pair = std::str::from_utf8(pair).expect("hex digits are ASCII");
            u8::from_str_radix(pair, 16).expect("valid hex digit pair")
        })
        .collect()
}

/// The constant, normalised to `to_hex`'s format (the long ones are wrapped in the source).
fn canonical(hex: &str) -> String {
    to_hex(&from_hex(hex))
}

fn assert_client_golden(msg: ClientMsg, hex: &str) {
    let frame = encode_client(&msg);
    assert_eq!(to_hex(&frame), canonical(hex), "encoding of {msg:?}");
    let decoded = ClientMsg::decode(&from_hex(hex)).expect("golden client frame decodes");
    assert_eq!(decoded, msg);
}

fn assert_server_golden(msg: ServerMsg, hex: &str) {
    let frame = encode_server(&msg);
    assert_eq!(to_hex(&frame), canonical(hex), "encoding of {msg:?}");
    let decoded = ServerMsg::decode(&from_hex(hex)).expect("golden server frame decodes");
    assert_eq!(decoded, msg);
}

#[test]
fn hex_helpers_agree() {
    assert_eq!(from_hex("92 0a\n ff"), vec![0x92, 0x0a, 0xff]);
    assert_eq!(to_hex(&[0x92, 0x0a, 0xff]), "92 0a ff");
    assert_eq!(canonical(SNAPSHOT).len(), 48 * 3 - 1);
}

#[test]
fn client_hello() {
    let msg = Hello {
        version: 1,
        name: "ana".into(),
    };
    assert_eq!(msg.version, tickwire_shared::PROTOCOL_VERSION);
    assert_client_golden(ClientMsg::Hello(msg), HELLO);
}

#[test]
fn client_join_named() {
    let msg = Join {
        room: Some("lobby".into()),
    };
    assert_client_golden(ClientMsg::Join(msg), JOIN_NAMED);
}

#[test]
fn client_join_quick() {
    assert_client_golden(ClientMsg::Join(Join { room: None }), JOIN_QUICK);
}

#[test]
fn client_leave() {
    assert_client_golden(ClientMsg::Leave(Leave {}), LEAVE);
}

#[test]
fn client_input() {
    let msg = Input {
        seq: 300,
        dir: [0.5, -0.5],
        facing: 1.5,
        buttons: 1,
    };
    assert_client_golden(ClientMsg::Input(msg), INPUT);
}

#[test]
fn client_ping() {
    let msg = Ping {
        client_time: 1500.25,
    };
    assert_client_golden(ClientMsg::Ping(msg), PING);
}

#[test]
fn server_welcome() {
    let msg = Welcome {
        player_id: 7,
        tick_rate: 60,
        protocol_version: 1,
    };
    assert_server_golden(ServerMsg::Welcome(msg), WELCOME);
}

#[test]
fn server_joined() {
    let msg = Joined {
        room: "lobby".into(),
        players: vec![PlayerInfo {
            id: 3,
            name: "bo".into(),
        }],
    };
    assert_server_golden(ServerMsg::Joined(msg), JOINED);
}

#[test]
fn server_snapshot() {
    let msg = Snapshot {
        tick: 1200,
        server_time_ms: 1_700_000_000_000,
        players: vec![PlayerState {
            id: 7,
            pos: [1000.0, 512.5],
            vel: [180.0, -240.0],
            facing: 1.5,
            last_input_seq: 300,
        }],
    };
    assert_server_golden(ServerMsg::Snapshot(msg), SNAPSHOT);
}

#[test]
fn server_pong() {
    let msg = Pong {
        client_time: 1500.25,
        server_tick: 1200,
    };
    assert_server_golden(ServerMsg::Pong(msg), PONG);
}

#[test]
fn server_error_room_full() {
    let msg = Error {
        code: ErrorCode::ROOM_FULL,
        message: "room is full".into(),
        in_reply_to: Some(1),
    };
    assert_server_golden(ServerMsg::Error(msg), ERROR_ROOM_FULL);
}

#[test]
fn server_error_malformed() {
    let msg = Error {
        code: ErrorCode::MALFORMED,
        message: "bad frame".into(),
        in_reply_to: None,
    };
    assert_server_golden(ServerMsg::Error(msg), ERROR_MALFORMED);
}

#[test]
fn server_player_joined() {
    let msg = PlayerJoined {
        id: 9,
        name: "cy".into(),
    };
    assert_server_golden(ServerMsg::PlayerJoined(msg), PLAYER_JOINED);
}

#[test]
fn server_player_left() {
    assert_server_golden(ServerMsg::PlayerLeft(PlayerLeft { id: 9 }), PLAYER_LEFT);
}

/// The error codes are part of the wire; their numbers are pinned here and in PROTOCOL.md.
#[test]
fn error_code_numbers() {
    let codes = [
        (ErrorCode::MALFORMED, 1),
        (ErrorCode::UNKNOWN_TYPE, 2),
        (ErrorCode::INVALID_VALUE, 3),
        (ErrorCode::VERSION_MISMATCH, 4),
        (ErrorCode::BAD_STATE, 5),
        (ErrorCode::NOT_IN_ROOM, 6),
        (ErrorCode::ROOM_FULL, 7),
        (ErrorCode::UNAVAILABLE, 8),
    ];
    for (code, number) in codes {
        assert_eq!(code.0, number, "{code:?}");
    }
}

/// What a field must look like to a generic MessagePack reader.
#[derive(Debug)]
enum Shape {
    /// A non-negative integer (any of positive fixint, uint8/16/32/64) with this value.
    Uint(u64),
    /// A float32 (0xca) with this value.
    F32(f32),
    /// A float64 (0xcb) with this value.
    F64(f64),
    /// A str with this content.
    Str(&'static str),
    /// nil.
    Nil,
    /// An array of exactly these elements.
    Array(Vec<Shape>),
}

use Shape::{Array, F32, F64, Nil, Str, Uint};

/// `[x, y]` as two float32s, like `dir`, `pos` and `vel`.
fn vec2(x: f32, y: f32) -> Shape {
    Array(vec![F32(x), F32(y)])
}

fn check_shape(value: &Value, shape: &Shape, path: &str) {
    match (shape, value) {
        (Uint(want), Value::Integer(got)) => {
            assert_eq!(got.as_u64(), Some(*want), "{path}: integer value");
        }
        (F32(want), Value::F32(got)) => {
            assert_eq!(got.to_bits(), want.to_bits(), "{path}: float32 value");
        }
        (F64(want), Value::F64(got)) => {
            assert_eq!(got.to_bits(), want.to_bits(), "{path}: float64 value");
        }
        (Str(want), Value::String(got)) => {
            assert_eq!(got.as_str(), Some(*want), "{path}: str value");
        }
        (Nil, Value::Nil) => {}
        (Array(want), Value::Array(got)) => {
            assert_eq!(got.len(), want.len(), "{path}: array length");
            for (i, (v, s)) in got.iter().zip(want).enumerate() {
                check_shape(v, s, &format!("{path}[{i}]"));
            }
        }
        _ => panic!("{path}: expected {shape:?}, found {value:?}"),
    }
}

/// The envelope `[type, [fields...]]` that every message is.
fn envelope(kind: u64, fields: Vec<Shape>) -> Shape {
    Array(vec![Uint(kind), Array(fields)])
}

#[test]
fn every_vector_is_plain_messagepack() {
    let vectors: Vec<(&str, &str, Shape)> = vec![
        // Client to server.
        ("HELLO", HELLO, envelope(0, vec![Uint(1), Str("ana")])),
        ("JOIN_NAMED", JOIN_NAMED, envelope(1, vec![Str("lobby")])),
        ("JOIN_QUICK", JOIN_QUICK, envelope(1, vec![Nil])),
        ("LEAVE", LEAVE, envelope(2, vec![])),
        (
            "INPUT",
            INPUT,
            envelope(3, vec![Uint(300), vec2(0.5, -0.5), F32(1.5), Uint(1)]),
        ),
        ("PING", PING, envelope(4, vec![F64(1500.25)])),
        // Server to client.
        (
            "WELCOME",
            WELCOME,
            envelope(0, vec![Uint(7), Uint(60), Uint(1)]),
        ),
        (
            "JOINED",
            JOINED,
            envelope(
                1,
                vec![Str("lobby"), Array(vec![Array(vec![Uint(3), Str("bo")])])],
            ),
        ),
        (
            "SNAPSHOT",
            SNAPSHOT,
            envelope(
                2,
                vec![
                    Uint(1200),
                    Uint(1_700_000_000_000),
                    Array(vec![Array(vec![
                        Uint(7),
                        vec2(1000.0, 512.5),
                        vec2(180.0, -240.0),
                        F32(1.5),
                        Uint(300),
                    ])]),
                ],
            ),
        ),
        ("PONG", PONG, envelope(3, vec![F64(1500.25), Uint(1200)])),
        (
            "ERROR_ROOM_FULL",
            ERROR_ROOM_FULL,
            envelope(4, vec![Uint(7), Str("room is full"), Uint(1)]),
        ),
        (
            "ERROR_MALFORMED",
            ERROR_MALFORMED,
            envelope(4, vec![Uint(1), Str("bad frame"), Nil]),
        ),
        (
            "PLAYER_JOINED",
            PLAYER_JOINED,
            envelope(5, vec![Uint(9), Str("cy")]),
        ),
        ("PLAYER_LEFT", PLAYER_LEFT, envelope(6, vec![Uint(9)])),
    ];

    for (name, hex, shape) in &vectors {
        let bytes = from_hex(hex);
        let mut rd = &bytes[..];
        let value = rmpv::decode::read_value(&mut rd).expect("plain MessagePack");
        assert!(rd.is_empty(), "{name}: {} bytes after the value", rd.len());

        // The type number is a positive fixint, as PROTOCOL.md promises.
        assert!(
            bytes[0] == 0x92 && bytes[1] < 0x80,
            "{name}: envelope header"
        );
        check_shape(&value, shape, name);

        // A generic writer, always choosing the smallest encoding, gives back the same bytes.
        let mut again = Vec::new();
        rmpv::encode::write_value(&mut again, &value).expect("writing to a Vec");
        assert_eq!(to_hex(&again), canonical(hex), "{name}: not canonical");
    }
}
