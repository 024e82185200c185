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
//!
//! `fuzz_seeds_are_the_vectors` checks that the hand-made seeds of the cargo-fuzz corpus
//! (`fuzz/corpus/*/seed-*`) are exactly these vectors, so they follow every change too.

use rmpv::Value;
use tickwire_shared::{
    Chat, ChatAck, ChatMessage, ChatText, ClientMsg, Create, Error, ErrorCode, Hello, Input, Join,
    Joined, Leave, PROTOCOL_VERSION, Ping, PlayerInfo, PlayerJoined, PlayerLeft, PlayerState, Pong,
    Resume, Resumed, ServerMsg, Snapshot, Welcome, encode_client, encode_server,
};

/// The resume token of the story: the one `Welcome` hands out and `Resume` presents.
/// Real tokens are 32 random lowercase hex digits; this one is easy to read in a dump.
const TOKEN: &str = "00112233445566778899aabbccddeeff";
/// The token `Resumed` hands out in exchange for [`TOKEN`], which is then spent.
const NEXT_TOKEN: &str = "ffeeddccbbaa99887766554433221100";

// Client to server. Each constant is the example under the same name in PROTOCOL.md.

/// Hello { version: 2, name: "ana" }
const HELLO: &str = "92 00 92 02 a3 61 6e 61";
/// Join { room: "lobby", key: nil }
const JOIN_NAMED: &str = "92 01 92 a5 6c 6f 62 62 79 c0";
/// Join { room: nil, key: nil } (quick-join)
const JOIN_QUICK: &str = "92 01 92 c0 c0";
/// Join { room: "den", key: "k3y" } (a private room, by its key)
const JOIN_PRIVATE: &str = "92 01 92 a3 64 65 6e a3 6b 33 79";
/// Leave {}
const LEAVE: &str = "92 02 90";
/// Input { seq: 300, dir: [0.5, -0.5], facing: 1.5, buttons: 1 }
const INPUT: &str = "92 03 94 cd 01 2c 92 ca 3f 00 00 00 ca bf 00 00 00 ca 3f c0 00 00 01";
/// Ping { client_time: 1500.25 }
const PING: &str = "92 04 91 cb 40 97 71 00 00 00 00 00";
/// Create { room: "den", private: true, key: "k3y", capacity: 4 }
const CREATE_PRIVATE: &str = "92 05 94 a3 64 65 6e c3 a3 6b 33 79 04";
/// Create { room: "arena", private: false, key: nil, capacity: nil }
const CREATE_PUBLIC: &str = "92 05 94 a5 61 72 65 6e 61 c2 c0 c0";
/// Resume { token: TOKEN }: the 32-byte token is one byte too long for a fixstr, so str8
const RESUME: &str = "92 06 91 d9 20 30 30 31 31 32 32 33 33 34 34 35 35 36 36 37 37 \
                      38 38 39 39 61 61 62 62 63 63 64 64 65 65 66 66";
/// Chat { id: 1, text: "hi" } (UTF-8, so a str)
const CHAT: &str = "92 07 92 01 a2 68 69";
/// Chat { id: 2, text: b"hi\xff" } (not UTF-8, so a bin; the server refuses it by its id)
const CHAT_NOT_UTF8: &str = "92 07 92 02 c4 03 68 69 ff";

// Server to client.

/// Welcome { player_id: 7, tick_rate: 60, protocol_version: 2, resume_token: TOKEN,
/// user_id: "ana" }
const WELCOME: &str = "92 00 95 07 3c 02 d9 20 30 30 31 31 32 32 33 33 34 34 35 35 36 36 37 37 \
                       38 38 39 39 61 61 62 62 63 63 64 64 65 65 66 66 a3 61 6e 61";
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
/// Error { code: 9 (NOT_FOUND), message: "no such room", in_reply_to: 1 }
const ERROR_NOT_FOUND: &str = "92 04 93 09 ac 6e 6f 20 73 75 63 68 20 72 6f 6f 6d 01";
/// Error { code: 10 (ACCESS_DENIED), message: "wrong key", in_reply_to: 1 }
const ERROR_ACCESS_DENIED: &str = "92 04 93 0a a9 77 72 6f 6e 67 20 6b 65 79 01";
/// Error { code: 11 (ROOM_EXISTS), message: "room exists", in_reply_to: 5 }
const ERROR_ROOM_EXISTS: &str = "92 04 93 0b ab 72 6f 6f 6d 20 65 78 69 73 74 73 05";
/// Error { code: 12 (RESUME_REFUSED), message: "resume refused", in_reply_to: 6 }
const ERROR_RESUME_REFUSED: &str = "92 04 93 0c ae 72 65 73 75 6d 65 20 72 65 66 75 73 65 64 06";
/// PlayerLeft { id: 9, name: "cy" }
const PLAYER_LEFT: &str = "92 06 92 09 a2 63 79";
/// Resumed { player_id: 7, room: "lobby", players: [{ id: 3, name: "bo" }],
/// resume_token: NEXT_TOKEN }
const RESUMED: &str = "92 07 94 07 a5 6c 6f 62 62 79 91 92 03 a2 62 6f \
                       d9 20 66 66 65 65 64 64 63 63 62 62 61 61 39 39 38 38 37 37 \
                       36 36 35 35 34 34 33 33 32 32 31 31 30 30";
/// Resumed { player_id: 7, room: nil, players: [], resume_token: NEXT_TOKEN } (from the lobby)
const RESUMED_LOBBY: &str = "92 07 94 07 c0 90 \
                             d9 20 66 66 65 65 64 64 63 63 62 62 61 61 39 39 38 38 37 37 \
                             36 36 35 35 34 34 33 33 32 32 31 31 30 30";
/// ChatAck { id: 1, server_id: 41, time_ms: 1700000000250, refused: nil } (accepted)
const CHAT_ACK: &str = "92 08 94 01 29 cf 00 00 01 8b cf e5 68 fa c0";
/// ChatAck { id: 2, server_id: 0, time_ms: 0, refused: "not_utf8" }
const CHAT_ACK_REFUSED: &str = "92 08 94 02 00 00 a8 6e 6f 74 5f 75 74 66 38";
/// ChatMessage { server_id: 41, from: 7, name: "ana", text: "hi", time_ms: 1700000000250 }
const CHAT_MESSAGE: &str = "92 09 95 29 07 a3 61 6e 61 a2 68 69 cf 00 00 01 8b cf e5 68 fa";

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
        version: 2,
        name: "ana".into(),
    };
    assert_eq!(msg.version, PROTOCOL_VERSION);
    assert_client_golden(ClientMsg::Hello(msg), HELLO);
}

#[test]
fn client_join_named() {
    let msg = Join {
        room: Some("lobby".into()),
        key: None,
    };
    assert_client_golden(ClientMsg::Join(msg), JOIN_NAMED);
}

#[test]
fn client_join_quick() {
    let msg = Join {
        room: None,
        key: None,
    };
    assert_client_golden(ClientMsg::Join(msg), JOIN_QUICK);
}

#[test]
fn client_join_private() {
    let msg = Join {
        room: Some("den".into()),
        key: Some("k3y".into()),
    };
    assert_client_golden(ClientMsg::Join(msg), JOIN_PRIVATE);
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
fn client_create_private() {
    let msg = Create {
        room: "den".into(),
        private: true,
        key: Some("k3y".into()),
        capacity: Some(4),
    };
    assert_client_golden(ClientMsg::Create(msg), CREATE_PRIVATE);
}

#[test]
fn client_create_public() {
    let msg = Create {
        room: "arena".into(),
        private: false,
        key: None,
        capacity: None,
    };
    assert_client_golden(ClientMsg::Create(msg), CREATE_PUBLIC);
}

#[test]
fn client_resume() {
    let msg = Resume {
        token: TOKEN.into(),
    };
    assert_client_golden(ClientMsg::Resume(msg), RESUME);
}

#[test]
fn client_chat() {
    let msg = Chat {
        id: 1,
        text: "hi".into(),
    };
    assert_client_golden(ClientMsg::Chat(msg), CHAT);
}

#[test]
fn client_chat_not_utf8() {
    let msg = Chat {
        id: 2,
        text: ChatText(b"hi\xff".to_vec()),
    };
    assert_client_golden(ClientMsg::Chat(msg), CHAT_NOT_UTF8);
}

/// Text that is UTF-8 may come as a bin too (a client that only has bytes at hand); it
/// reads as the same text, and is written back as a str.
#[test]
fn client_chat_utf8_in_a_bin_reads_as_text() {
    let frame = from_hex("92 07 92 01 c4 02 68 69");
    let msg = ClientMsg::Chat(Chat {
        id: 1,
        text: "hi".into(),
    });
    assert_eq!(ClientMsg::decode(&frame).expect("bin text decodes"), msg);
    assert_eq!(to_hex(&encode_client(&msg)), canonical(CHAT));
}

#[test]
fn server_welcome() {
    let msg = Welcome {
        player_id: 7,
        tick_rate: 60,
        protocol_version: PROTOCOL_VERSION,
        resume_token: TOKEN.into(),
        user_id: "ana".into(),
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
fn server_error_not_found() {
    let msg = Error {
        code: ErrorCode::NOT_FOUND,
        message: "no such room".into(),
        in_reply_to: Some(1),
    };
    assert_server_golden(ServerMsg::Error(msg), ERROR_NOT_FOUND);
}

#[test]
fn server_error_access_denied() {
    let msg = Error {
        code: ErrorCode::ACCESS_DENIED,
        message: "wrong key".into(),
        in_reply_to: Some(1),
    };
    assert_server_golden(ServerMsg::Error(msg), ERROR_ACCESS_DENIED);
}

#[test]
fn server_error_room_exists() {
    let msg = Error {
        code: ErrorCode::ROOM_EXISTS,
        message: "room exists".into(),
        in_reply_to: Some(5),
    };
    assert_server_golden(ServerMsg::Error(msg), ERROR_ROOM_EXISTS);
}

#[test]
fn server_error_resume_refused() {
    let msg = Error {
        code: ErrorCode::RESUME_REFUSED,
        message: "resume refused".into(),
        in_reply_to: Some(6),
    };
    assert_server_golden(ServerMsg::Error(msg), ERROR_RESUME_REFUSED);
}

#[test]
fn server_player_left() {
    let msg = PlayerLeft {
        id: 9,
        name: "cy".into(),
    };
    assert_server_golden(ServerMsg::PlayerLeft(msg), PLAYER_LEFT);
}

#[test]
fn server_resumed() {
    let msg = Resumed {
        player_id: 7,
        room: Some("lobby".into()),
        players: vec![PlayerInfo {
            id: 3,
            name: "bo".into(),
        }],
        resume_token: NEXT_TOKEN.into(),
    };
    assert_server_golden(ServerMsg::Resumed(msg), RESUMED);
}

#[test]
fn server_resumed_lobby() {
    let msg = Resumed {
        player_id: 7,
        room: None,
        players: vec![],
        resume_token: NEXT_TOKEN.into(),
    };
    assert_server_golden(ServerMsg::Resumed(msg), RESUMED_LOBBY);
}

#[test]
fn server_chat_ack() {
    let msg = ChatAck {
        id: 1,
        server_id: 41,
        time_ms: 1_700_000_000_250,
        refused: None,
    };
    assert_server_golden(ServerMsg::ChatAck(msg), CHAT_ACK);
}

#[test]
fn server_chat_ack_refused() {
    let msg = ChatAck {
        id: 2,
        server_id: 0,
        time_ms: 0,
        refused: Some("not_utf8".into()),
    };
    assert_server_golden(ServerMsg::ChatAck(msg), CHAT_ACK_REFUSED);
}

#[test]
fn server_chat_message() {
    let msg = ChatMessage {
        server_id: 41,
        from: 7,
        name: "ana".into(),
        text: "hi".into(),
        time_ms: 1_700_000_000_250,
    };
    assert_server_golden(ServerMsg::ChatMessage(msg), CHAT_MESSAGE);
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
        (ErrorCode::NOT_FOUND, 9),
        (ErrorCode::ACCESS_DENIED, 10),
        (ErrorCode::ROOM_EXISTS, 11),
        (ErrorCode::RESUME_REFUSED, 12),
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
    /// A bin with this content.
    Bin(&'static [u8]),
    /// true (`c3`) or false (`c2`).
    Bool(bool),
    /// nil.
    Nil,
    /// An array of exactly these elements.
    Array(Vec<Shape>),
}

use Shape::{Array, Bin, Bool, F32, F64, Nil, Str, Uint};

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
        (Bin(want), Value::Binary(got)) => {
            assert_eq!(got.as_slice(), *want, "{path}: bin value");
        }
        (Bool(want), Value::Boolean(got)) => {
            assert_eq!(got, want, "{path}: bool value");
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
        ("HELLO", HELLO, envelope(0, vec![Uint(2), Str("ana")])),
        (
            "JOIN_NAMED",
            JOIN_NAMED,
            envelope(1, vec![Str("lobby"), Nil]),
        ),
        ("JOIN_QUICK", JOIN_QUICK, envelope(1, vec![Nil, Nil])),
        (
            "JOIN_PRIVATE",
            JOIN_PRIVATE,
            envelope(1, vec![Str("den"), Str("k3y")]),
        ),
        ("LEAVE", LEAVE, envelope(2, vec![])),
        (
            "INPUT",
            INPUT,
            envelope(3, vec![Uint(300), vec2(0.5, -0.5), F32(1.5), Uint(1)]),
        ),
        ("PING", PING, envelope(4, vec![F64(1500.25)])),
        (
            "CREATE_PRIVATE",
            CREATE_PRIVATE,
            envelope(5, vec![Str("den"), Bool(true), Str("k3y"), Uint(4)]),
        ),
        (
            "CREATE_PUBLIC",
            CREATE_PUBLIC,
            envelope(5, vec![Str("arena"), Bool(false), Nil, Nil]),
        ),
        ("RESUME", RESUME, envelope(6, vec![Str(TOKEN)])),
        ("CHAT", CHAT, envelope(7, vec![Uint(1), Str("hi")])),
        (
            "CHAT_NOT_UTF8",
            CHAT_NOT_UTF8,
            envelope(7, vec![Uint(2), Bin(b"hi\xff")]),
        ),
        // Server to client.
        (
            "WELCOME",
            WELCOME,
            envelope(0, vec![Uint(7), Uint(60), Uint(2), Str(TOKEN), Str("ana")]),
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
        (
            "ERROR_NOT_FOUND",
            ERROR_NOT_FOUND,
            envelope(4, vec![Uint(9), Str("no such room"), Uint(1)]),
        ),
        (
            "ERROR_ACCESS_DENIED",
            ERROR_ACCESS_DENIED,
            envelope(4, vec![Uint(10), Str("wrong key"), Uint(1)]),
        ),
        (
            "ERROR_ROOM_EXISTS",
            ERROR_ROOM_EXISTS,
            envelope(4, vec![Uint(11), Str("room exists"), Uint(5)]),
        ),
        (
            "ERROR_RESUME_REFUSED",
            ERROR_RESUME_REFUSED,
            envelope(4, vec![Uint(12), Str("resume refused"), Uint(6)]),
        ),
        (
            "PLAYER_LEFT",
            PLAYER_LEFT,
            envelope(6, vec![Uint(9), Str("cy")]),
        ),
        (
            "RESUMED",
            RESUMED,
            envelope(
                7,
                vec![
                    Uint(7),
                    Str("lobby"),
                    Array(vec![Array(vec![Uint(3), Str("bo")])]),
                    Str(NEXT_TOKEN),
                ],
            ),
        ),
        (
            "RESUMED_LOBBY",
            RESUMED_LOBBY,
            envelope(7, vec![Uint(7), Nil, Array(vec![]), Str(NEXT_TOKEN)]),
        ),
        (
            "CHAT_ACK",
            CHAT_ACK,
            envelope(8, vec![Uint(1), Uint(41), Uint(1_700_000_000_250), Nil]),
        ),
        (
            "CHAT_ACK_REFUSED",
            CHAT_ACK_REFUSED,
            envelope(8, vec![Uint(2), Uint(0), Uint(0), Str("not_utf8")]),
        ),
        (
            "CHAT_MESSAGE",
            CHAT_MESSAGE,
            envelope(
                9,
                vec![
                    Uint(41),
                    Uint(7),
                    Str("ana"),
                    Str("hi"),
                    Uint(1_700_000_000_250),
                ],
            ),
        ),
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

/// The hand-made fuzz seeds (`fuzz/corpus/*/seed-*`) are these vectors, byte for byte, and
/// there are no others, so a change to the wire cannot leave the fuzzer starting from
/// frames that no longer decode.
#[test]
fn fuzz_seeds_are_the_vectors() {
    let seeds = [
        ("decode_client/seed-hello", HELLO),
        ("decode_client/seed-join-named", JOIN_NAMED),
        ("decode_client/seed-join-quick", JOIN_QUICK),
        ("decode_client/seed-join-private", JOIN_PRIVATE),
        ("decode_client/seed-leave", LEAVE),
        ("decode_client/seed-input", INPUT),
        ("decode_client/seed-ping", PING),
        ("decode_client/seed-create-private", CREATE_PRIVATE),
        ("decode_client/seed-create-public", CREATE_PUBLIC),
        ("decode_client/seed-resume", RESUME),
        ("decode_client/seed-chat", CHAT),
        ("decode_client/seed-chat-not-utf8", CHAT_NOT_UTF8),
        ("decode_server/seed-welcome", WELCOME),
        ("decode_server/seed-joined", JOINED),
        ("decode_server/seed-snapshot", SNAPSHOT),
        ("decode_server/seed-pong", PONG),
        ("decode_server/seed-error-room-full", ERROR_ROOM_FULL),
        ("decode_server/seed-error-malformed", ERROR_MALFORMED),
        ("decode_server/seed-error-not-found", ERROR_NOT_FOUND),
        (
            "decode_server/seed-error-access-denied",
            ERROR_ACCESS_DENIED,
        ),
        ("decode_server/seed-error-room-exists", ERROR_ROOM_EXISTS),
        (
            "decode_server/seed-error-resume-refused",
            ERROR_RESUME_REFUSED,
        ),
        ("decode_server/seed-player-joined", PLAYER_JOINED),
        ("decode_server/seed-player-left", PLAYER_LEFT),
        ("decode_server/seed-resumed", RESUMED),
        ("decode_server/seed-resumed-lobby", RESUMED_LOBBY),
        ("decode_server/seed-chat-ack", CHAT_ACK),
        ("decode_server/seed-chat-ack-refused", CHAT_ACK_REFUSED),
        ("decode_server/seed-chat-message", CHAT_MESSAGE),
    ];
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    for (seed, hex) in seeds {
        let bytes = std::fs::read(corpus.join(seed)).unwrap_or_else(|err| panic!("{seed}: {err}"));
        assert_eq!(to_hex(&bytes), canonical(hex), "{seed}");
    }
    for dir in ["decode_client", "decode_server"] {
        for entry in std::fs::read_dir(corpus.join(dir)).expect("the corpus is checked in") {
            let name = entry.expect("a readable corpus entry").file_name();
            let seed = format!("{dir}/{}", name.to_string_lossy());
            assert!(
                !seed.contains("/seed-") || seeds.iter().any(|(s, _)| *s == seed),
                "{seed} is no vector: delete it or add its vector here"
            );
        }
    }
}
