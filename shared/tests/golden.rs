//! Golden vectors: the exact bytes of every Tickwire message of protocol 4, pinned.
//!
//! Each test here encodes one fixed message with the real codec, compares the frame with a
//! hex constant byte for byte, and decodes the constant back to the same message.
//! Reordering a struct's fields, changing a field's type, renumbering a message or switching
//! the encoding (maps instead of arrays, non-minimal integers) breaks a test here. If a
//! change to the wire is intended, bump `PROTOCOL_VERSION` and update `PROTOCOL.md`, these
//! constants and the vector files (`tests/vectors.rs`) together.
//!
//! `every_vector_is_plain_messagepack` reads every vector again with `rmpv`, a generic
//! MessagePack reader that knows nothing about Tickwire or serde, and checks the structure
//! the protocol documents (envelope, type number, field count, the MessagePack type and
//! value of each field). It then re-encodes what it read with `rmpv`'s writer, which always
//! picks the smallest encoding, and gets the same bytes back: the wire is canonical, plain
//! MessagePack that any language's library can read and write.
//!
//! The snapshot vectors are the arena's story (`common::arena_story`: a keyframe, a delta
//! from it, and a delta in which nothing changed). Each is also exactly what a server writes
//! from pieces with `wire_snapshot`, and each applies with `Replica` to the state it
//! describes. `snapshot_worked_examples` pins the numbers behind them (prediction, FNV-1a
//! hashes), and `change_record_sizes` the sizes of typical arena change records.
//!
//! `fuzz_seeds_are_the_vectors` checks that the hand-made seeds of the cargo-fuzz corpus
//! (`fuzz/corpus/*/seed-*`) are exactly these vectors (and the vector files), so they
//! follow every change too; `TICKWIRE_WRITE_VECTORS=1` rewrites them.

mod common;

use common::{
    ANA_WALKS, TIME_MS, ana_at_1200, ana_at_1201, arena_schema, bo_at_1200, cy_at_1201, ints,
    shooter_schema,
};
use proptest::prelude::*;
use rmpv::Value;
use tickwire_shared::schema::{EventKind, Field, FieldType, InputField, Kind, Schema};
use tickwire_shared::wire_snapshot::{
    Head, write_added_len, write_changes, write_entity, write_head, write_removed,
};
use tickwire_shared::{
    Chat, ChatAck, ChatMessage, ChatText, Claim, ClientMsg, Create, Entity, Error, ErrorCode,
    Events, GameEvent, Hello, Input, InputValue, Join, Joined, Leave, Notice, PROTOCOL_VERSION,
    Ping, PlayerInfo, PlayerJoined, PlayerLeft, Pong, Redirect, Replica, Resume, Resumed,
    ServerMsg, Snapshot, Watch, Welcome, encode_client, encode_server, entity_hash, state_hash,
};

/// The resume token of the story: the one `Welcome` hands out and `Resume` presents.
/// Real tokens are 32 random lowercase hex digits; this one is easy to read in a dump.
const TOKEN: &str = "00112233445566778899aabbccddeeff";
/// The token `Resumed` hands out in exchange for [`TOKEN`], which is then spent.
const NEXT_TOKEN: &str = "ffeeddccbbaa99887766554433221100";

// Client to server.

/// Hello { version: 4, name: "ana" }
const HELLO: &str = "92 00 92 04 a3 61 6e 61";
/// Join { room: "lobby", key: nil }
const JOIN_NAMED: &str = "92 01 92 a5 6c 6f 62 62 79 c0";
/// Join { room: nil, key: nil } (quick-join)
const JOIN_QUICK: &str = "92 01 92 c0 c0";
/// Join { room: "den", key: "k3y" } (a private room, by its key)
const JOIN_PRIVATE: &str = "92 01 92 a3 64 65 6e a3 6b 33 79";
/// Leave {}
const LEAVE: &str = "92 02 90";
/// Input { seq: 301, view_tick: 1200, values: [0.5, -0.5, 1.5, 1] }: the arena's dx, dy,
/// facing (float64s) and buttons (an integer).
const INPUT: &str = "92 03 93 cd 01 2d cd 04 b0 94 cb 3f e0 00 00 00 00 00 00 \
                     cb bf e0 00 00 00 00 00 00 cb 3f f8 00 00 00 00 00 00 01";
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
/// Watch { room: "den", key: nil }
const WATCH: &str = "92 08 92 a3 64 65 6e c0";
/// Claim { ticket: "t1" }
const CLAIM: &str = "92 09 91 a2 74 31";

// Server to client.

/// Redirect { url: "ws://b", room: "den", ticket: "t1", in_reply_to: 1 } (a join's answer)
const REDIRECT: &str = "92 0b 94 a6 77 73 3a 2f 2f 62 a3 64 65 6e a2 74 31 01";
/// Redirect { url: "ws://b", room: nil, ticket: nil, in_reply_to: nil } (a node draining)
const REDIRECT_DRAIN: &str = "92 0b 94 a6 77 73 3a 2f 2f 62 c0 c0 c0";
/// Notice { text: "hi", to_all: true, time_ms: 1700000000000 }
const NOTICE: &str = "92 0c 93 a2 68 69 c3 cf 00 00 01 8b cf e5 68 00";

/// Welcome { player_id: 7, tick_rate: 60, protocol_version: 4, resume_token: TOKEN,
/// user_id: "ana" }
const WELCOME: &str = "92 00 95 07 3c 04 d9 20 30 30 31 31 32 32 33 33 34 34 35 35 36 36 37 37 \
                       38 38 39 39 61 61 62 62 63 63 64 64 65 65 66 66 a3 61 6e 61";
/// The schema of [`tag_schema`]: `[game, input, kinds, events]`; an input field is
/// `[name, type, min, max, variants]` (min and max float64s), a kind `[name, position,
/// fields]`, an event kind `[name, fields]`, a field `[name, type, scale, min, max, code,
/// narrow, wide, predict, variants]`. Types and codes are their names as strs.
const TAG_SCHEMA: &str = "94 a3 74 61 67 \
    91 95 a2 69 74 a4 62 6f 6f 6c cb 00 00 00 00 00 00 00 00 cb 3f f0 00 00 00 00 00 00 90 \
    91 93 a6 72 75 6e 6e 65 72 c0 91 9a a2 69 74 a4 62 6f 6f 6c 00 00 01 a6 73 74 65 61 64 79 00 00 c0 90 \
    91 92 a6 74 61 67 67 65 64 91 9a a6 72 75 6e 6e 65 72 a6 65 6e 74 69 74 79 00 00 00 a6 73 74 65 61 64 79 00 00 c0 90";
/// Joined { room: "lobby", players: [{ id: 3, name: "bo" }], schema: TAG_SCHEMA }
const JOINED_HEAD: &str = "92 01 93 a5 6c 6f 62 62 79 91 92 03 a2 62 6f";
/// Snapshot { tick: 1200, base_tick: nil, server_time_ms: 1700000000000,
/// state_hash: 0x7f811d05, ack: 300, removed: [], added: [ana_at_1200, bo_at_1200],
/// changes: [] }: a keyframe. Each entity is `[id, kind, vx, vy, x, y, facing]`.
const SNAPSHOT_KEYFRAME: &str = "92 02 98 cd 04 b0 c0 cf 00 00 01 8b cf e5 68 00 ce 7f 81 1d 05 \
                                 cd 01 2c 90 92 97 07 00 00 00 ce 00 01 86 a0 cd c8 32 cc f4 \
                                 97 03 00 00 00 cd 61 a8 ce 00 01 25 2a d1 ff 00 c4 00";
/// Snapshot { tick: 1201, base_tick: 1200, server_time_ms: 1700000000017,
/// state_hash: 0x4a0cfeda, ack: 301, removed: [3], added: [cy_at_1201], changes: ANA_WALKS
/// }: bo left, cy joined, ana started to walk (her record is worked out at
/// `common::ANA_WALKS`).
const SNAPSHOT_DELTA: &str = "92 02 98 cd 04 b1 cd 04 b0 cf 00 00 01 8b cf e5 68 11 ce 4a 0c fe da \
                              cd 01 2d 91 03 91 97 09 00 00 00 ce 00 02 4a 09 cd 9c 40 00 \
                              c4 05 d4 e3 0d de c0";
/// Snapshot { tick: 1201, base_tick: 1200, server_time_ms: 1700000000017,
/// state_hash: 0x7f811d05, ack: 300, removed: [], added: [], changes: [0x00] }: the delta
/// from the same keyframe had nobody moved, joined or left in tick 1201. Two records of one
/// 0 bit each, then six bits of padding.
const SNAPSHOT_UNCHANGED: &str = "92 02 98 cd 04 b1 cd 04 b0 cf 00 00 01 8b cf e5 68 11 \
                                  ce 7f 81 1d 05 cd 01 2c 90 90 c4 01 00";
/// The 25 bytes `entity_hash` hashes for ana at tick 1200: id, kind, then each value as
/// 4 bytes little-endian.
const ANA_HASHED: &str =
    "07 00 00 00  00  00 00 00 00  00 00 00 00  a0 86 01 00  32 c8 00 00  f4 00 00 00";
/// The tick rate of the story (the `Welcome`'s), which the deltas' predictions use.
const TICK_RATE: u16 = 60;
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
/// resume_token: NEXT_TOKEN, schema: TAG_SCHEMA }
const RESUMED_HEAD: &str = "92 07 95 07 a5 6c 6f 62 62 79 91 92 03 a2 62 6f \
                            d9 20 66 66 65 65 64 64 63 63 62 62 61 61 39 39 38 38 37 37 \
                            36 36 35 35 34 34 33 33 32 32 31 31 30 30";
/// Resumed { player_id: 7, room: nil, players: [], resume_token: NEXT_TOKEN, schema: nil }
/// (from the lobby)
const RESUMED_LOBBY: &str = "92 07 95 07 c0 90 \
                             d9 20 66 66 65 65 64 64 63 63 62 62 61 61 39 39 38 38 37 37 \
                             36 36 35 35 34 34 33 33 32 32 31 31 30 30 c0";
/// Events { tick: 1201, events: [tagged { runner: 9 }] }: each event `[kind, value...]`.
const EVENTS: &str = "92 0a 92 cd 04 b1 91 92 00 09";
/// ChatAck { id: 1, server_id: 41, time_ms: 1700000000250, refused: nil } (accepted)
const CHAT_ACK: &str = "92 08 94 01 29 cf 00 00 01 8b cf e5 68 fa c0";
/// ChatAck { id: 2, server_id: 0, time_ms: 0, refused: "not_utf8" }
const CHAT_ACK_REFUSED: &str = "92 08 94 02 00 00 a8 6e 6f 74 5f 75 74 66 38";
/// ChatMessage { server_id: 41, from: 7, name: "ana", text: "hi", time_ms: 1700000000250 }
const CHAT_MESSAGE: &str = "92 09 95 29 07 a3 61 6e 61 a2 68 69 cf 00 00 01 8b cf e5 68 fa";

/// `Joined` and `Resumed` with the tag schema, as whole frames.
fn joined_hex() -> String {
    format!("{JOINED_HEAD} {TAG_SCHEMA}")
}

fn resumed_hex() -> String {
    format!("{RESUMED_HEAD} {TAG_SCHEMA}")
}

/// The smallest schema with an input, a kind and an event: the vectors that carry a schema
/// stay short enough to read. (The arena's and the shooter's are in `shared/vectors/`.)
fn tag_schema() -> Schema {
    Schema::new("tag")
        .input(InputField::boolean("it"))
        .kind(Kind::new("runner").field(Field::boolean("it")))
        .event(EventKind::new("tagged").field(Field::entity("runner")))
}

fn bo_info() -> Vec<PlayerInfo> {
    vec![PlayerInfo {
        id: 3,
        name: "bo".into(),
    }]
}
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
    assert_eq!(canonical(SNAPSHOT_KEYFRAME).len(), 59 * 3 - 1);
}

#[test]
fn client_hello() {
    let msg = Hello {
        version: 4,
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
        seq: 301,
        view_tick: 1200,
        values: vec![
            InputValue::Float(0.5),
            InputValue::Float(-0.5),
            InputValue::Float(1.5),
            InputValue::Int(1),
        ],
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
fn client_watch() {
    let msg = Watch {
        room: "den".into(),
        key: None,
    };
    assert_client_golden(ClientMsg::Watch(msg), WATCH);
}

#[test]
fn client_claim() {
    let msg = Claim {
        ticket: "t1".into(),
    };
    assert_client_golden(ClientMsg::Claim(msg), CLAIM);
}

#[test]
fn server_redirect() {
    let msg = Redirect {
        url: "ws://b".into(),
        room: Some("den".into()),
        ticket: Some("t1".into()),
        in_reply_to: Some(1),
    };
    assert_server_golden(ServerMsg::Redirect(msg), REDIRECT);
    let drain = Redirect {
        url: "ws://b".into(),
        room: None,
        ticket: None,
        in_reply_to: None,
    };
    assert_server_golden(ServerMsg::Redirect(drain), REDIRECT_DRAIN);
}

#[test]
fn server_notice() {
    let msg = Notice {
        text: "hi".into(),
        to_all: true,
        time_ms: 1_700_000_000_000,
    };
    assert_server_golden(ServerMsg::Notice(msg), NOTICE);
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
    assert_eq!(PROTOCOL_VERSION, 4);
    assert_server_golden(ServerMsg::Welcome(msg), WELCOME);
}

#[test]
fn server_joined() {
    let msg = Joined {
        room: "lobby".into(),
        players: bo_info(),
        schema: tag_schema(),
    };
    assert_server_golden(ServerMsg::Joined(msg), &joined_hex());
}

fn keyframe() -> Snapshot {
    Snapshot {
        tick: 1200,
        base_tick: None,
        server_time_ms: TIME_MS,
        state_hash: 0x7f81_1d05,
        ack: 300,
        removed: vec![],
        added: vec![ana_at_1200(), bo_at_1200()],
        changes: vec![],
    }
}

fn delta() -> Snapshot {
    Snapshot {
        tick: 1201,
        base_tick: Some(1200),
        server_time_ms: TIME_MS + 17,
        state_hash: 0x4a0c_feda,
        ack: 301,
        removed: vec![3],
        added: vec![cy_at_1201()],
        changes: ANA_WALKS.to_vec(),
    }
}

fn unchanged() -> Snapshot {
    Snapshot {
        tick: 1201,
        base_tick: Some(1200),
        server_time_ms: TIME_MS + 17,
        state_hash: 0x7f81_1d05,
        ack: 300,
        removed: vec![],
        added: vec![],
        changes: vec![0x00],
    }
}

/// The frame a server puts together from pieces with `wire_snapshot`.
fn from_pieces(snap: &Snapshot) -> Vec<u8> {
    let mut buf = Vec::new();
    write_head(
        &mut buf,
        &Head {
            tick: snap.tick,
            base_tick: snap.base_tick,
            server_time_ms: snap.server_time_ms,
            state_hash: snap.state_hash,
            ack: snap.ack,
        },
    );
    write_removed(&mut buf, &snap.removed);
    write_added_len(&mut buf, snap.added.len());
    for e in &snap.added {
        write_entity(&mut buf, e.id, e.kind, &e.values);
    }
    write_changes(&mut buf, &snap.changes);
    buf
}

/// The vector is what the codec writes and what `wire_snapshot` writes, and reads back.
fn assert_snapshot_golden(snap: &Snapshot, hex: &str) {
    assert_eq!(
        to_hex(&from_pieces(snap)),
        canonical(hex),
        "pieces of {snap:?}"
    );
    assert_server_golden(ServerMsg::Snapshot(snap.clone()), hex);
}

/// A replica holding the keyframe, as a client has it after tick 1200.
fn replica_at_1200() -> Replica {
    let mut replica = Replica::new();
    replica
        .apply(&keyframe(), &arena_schema(), TICK_RATE)
        .expect("the keyframe applies");
    replica
}

#[test]
fn server_snapshot_keyframe() {
    assert_snapshot_golden(&keyframe(), SNAPSHOT_KEYFRAME);
    let replica = replica_at_1200();
    assert_eq!(replica.tick(), Some(1200));
    assert_eq!(replica.entities(), [ana_at_1200(), bo_at_1200()]);
    // The story's keyframe is the one in the vector files.
    assert_eq!(common::arena_story().keyframe, keyframe());
}

#[test]
fn server_snapshot_delta() {
    assert_snapshot_golden(&delta(), SNAPSHOT_DELTA);
    let mut replica = replica_at_1200();
    replica
        .apply(&delta(), &arena_schema(), TICK_RATE)
        .expect("the delta applies");
    assert_eq!(replica.tick(), Some(1201));
    // The base's survivors in the base's order (ana), then the added (cy).
    assert_eq!(replica.entities(), [ana_at_1201(), cy_at_1201()]);
    // The reference encoder writes this delta.
    assert_eq!(common::arena_story().delta, delta());
}

#[test]
fn server_snapshot_unchanged() {
    assert_snapshot_golden(&unchanged(), SNAPSHOT_UNCHANGED);
    let base = [ana_at_1200(), bo_at_1200()];
    let made = Snapshot::delta(
        &arena_schema(),
        (1200, &base),
        (1201, &base),
        TICK_RATE,
        (TIME_MS + 17, 300),
    );
    assert_eq!(made, unchanged());
    let mut replica = replica_at_1200();
    replica
        .apply(&unchanged(), &arena_schema(), TICK_RATE)
        .expect("the delta applies");
    assert_eq!(replica.tick(), Some(1201));
    assert_eq!(replica.entities(), base);
}

/// The numbers behind the snapshots: ana's record as `write_record` writes it, her
/// predicted position, and the state hashes from each entity's FNV-1a hash.
#[test]
fn snapshot_worked_examples() {
    use bitstream_io::{BigEndian, BitWrite, BitWriter};
    use tickwire_shared::changes::{predict, write_record};

    let player = &arena_schema().kinds[0];
    let mut bits = BitWriter::endian(Vec::new(), BigEndian);
    write_record(
        &mut bits,
        player,
        &ana_at_1200().values,
        &ana_at_1201().values,
        1,
        TICK_RATE,
    )
    .expect("into a Vec");
    bits.byte_align().expect("into a Vec");
    assert_eq!(bits.into_writer(), ANA_WALKS);

    assert_eq!(predict(100_000, 20, 1, TICK_RATE, 100, 1), 100_033);
    assert_eq!(predict(51_250, -15, 1, TICK_RATE, 100, 1), 51_225);
    // Halves round up, toward +infinity: -0.5 steps is 0, +0.5 is 1.
    assert_eq!(predict(0, -3, 1, 600, 100, 1), 0);
    assert_eq!(predict(0, 3, 1, 600, 100, 1), 1);
    // Over several ticks the product is rounded once, not tick by tick: 3 ticks at
    // 1 unit/s and 60 Hz are 5 steps (3 × 1.67 rounded each time would be 6).
    assert_eq!(predict(0, 1, 3, 60, 100, 1), 5);
    // A velocity in tenths of a unit per second: 3000 tenths for 3 ticks at 30 Hz.
    assert_eq!(predict(101_000, 3000, 3, 30, 100, 10), 104_000);

    // FNV-1a 64, step by step.
    let mut steps = Vec::new();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in from_hex(ANA_HASHED) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        steps.push(h);
    }
    assert_eq!(h, 0xfd2c_7d5b_784a_011b);
    assert_eq!(steps[..2], [0xaf63_ba4c_8601_b2c6, 0x0828_5607_b4e2_c672]);

    let hash = |e: &Entity| entity_hash(e.id, e.kind, &e.values);
    assert_eq!(hash(&ana_at_1200()), 0xfd2c_7d5b_784a_011b);
    assert_eq!(hash(&bo_at_1200()), 0x93e7_6bd2_0737_1bea);
    assert_eq!(
        hash(&ana_at_1200()).wrapping_add(hash(&bo_at_1200())),
        0x9113_e92d_7f81_1d05
    );
    assert_eq!(state_hash([&ana_at_1200(), &bo_at_1200()]), 0x7f81_1d05);
    assert_eq!(hash(&ana_at_1201()), 0xd811_5923_52b5_ddf1);
    assert_eq!(hash(&cy_at_1201()), 0xed82_7ac8_f757_20e9);
    assert_eq!(state_hash([&ana_at_1201(), &cy_at_1201()]), 0x4a0c_feda);
}

/// The sizes of typical arena records, as `write_record` writes them.
#[test]
fn change_record_sizes() {
    use bitstream_io::{BigEndian, BitRecorder};
    use tickwire_shared::changes::{predict, write_record};

    let player = arena_schema().kinds[0].clone();
    let bits = |base: &[i64], now: &[i64]| {
        let mut rec: BitRecorder<u32, BigEndian> = BitRecorder::new();
        write_record(&mut rec, &player, &ints(base), &ints(now), 1, TICK_RATE)
            .expect("into memory");
        rec.written()
    };
    // Walking along +x at 300 units/s: [vx, vy, x, y, facing].
    let walker = [300, 0, 100_000, 51_250, 244];
    let stepped = |dvx: i64, rx: i64, ry: i64, turn: i64| {
        let vx = walker[0] + dvx;
        [
            vx,
            0,
            predict(walker[2], vx, 1, TICK_RATE, 100, 1) + rx,
            walker[3] + ry,
            walker[4] + turn,
        ]
    };
    let ana = [0, 0, 100_000, 51_250, 244];
    let ana_predicted = [20, -15, 100_033, 51_225, 239];
    let ana_walks = [20, -15, 100_034, 51_223, 239];
    let biggest = [
        i64::from(i32::MAX),
        i64::from(i32::MIN),
        i64::from(i32::MIN),
        i64::from(i32::MAX),
        -268,
    ];
    let rows = [
        ("nothing changed", bits(&walker, &walker), 1),
        ("as predicted", bits(&walker, &stepped(0, 0, 0, 0)), 9),
        ("walking, as predicted", bits(&ana, &ana_predicted), 24),
        ("Ana's, walking", bits(&ana, &ana_walks), 34),
        ("along a wall", bits(&walker, &stepped(-12, 3, 0, 4)), 24),
        (
            "pushed by a neighbour",
            bits(&walker, &stepped(0, 0, 200, 0)),
            21,
        ),
        ("the longest", bits(&ana, &biggest), 153),
    ];
    for (what, got, want) in rows {
        assert_eq!(got, want, "{what}");
    }
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
        players: bo_info(),
        resume_token: NEXT_TOKEN.into(),
        schema: Some(tag_schema()),
    };
    assert_server_golden(ServerMsg::Resumed(msg), &resumed_hex());
}

#[test]
fn server_resumed_lobby() {
    let msg = Resumed {
        player_id: 7,
        room: None,
        players: vec![],
        resume_token: NEXT_TOKEN.into(),
        schema: None,
    };
    assert_server_golden(ServerMsg::Resumed(msg), RESUMED_LOBBY);
}

#[test]
fn server_events() {
    let msg = Events {
        tick: 1201,
        events: vec![GameEvent {
            kind: 0,
            values: ints(&[9]),
        }],
    };
    assert_server_golden(ServerMsg::Events(msg), EVENTS);
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
    /// A negative integer (negative fixint, int8/16/32/64) with this value.
    Int(i64),
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

use Shape::{Array, Bin, Bool, F64, Int, Nil, Str, Uint};

fn check_shape(value: &Value, shape: &Shape, path: &str) {
    match (shape, value) {
        (Uint(want), Value::Integer(got)) => {
            assert_eq!(got.as_u64(), Some(*want), "{path}: integer value");
        }
        (Int(want), Value::Integer(got)) => {
            assert!(
                *want < 0,
                "{path}: Int is for negative values, Uint for the others"
            );
            assert_eq!(got.as_i64(), Some(*want), "{path}: integer value");
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

/// An entity: `[id, kind, value...]`, integers as `Int` when negative and `Uint` otherwise.
fn entity_shape(e: &Entity) -> Shape {
    let mut items = vec![Uint(e.id.into()), Uint(e.kind.into())];
    for v in &e.values {
        items.push(match v {
            tickwire_shared::Value::Int(n) if *n < 0 => Int(*n),
            tickwire_shared::Value::Int(n) => Uint(*n as u64),
            tickwire_shared::Value::Str(_) => panic!("the arena has no strings"),
        });
    }
    Array(items)
}

/// A schema field: `[name, type, scale, min, max, code, narrow, wide, predict, variants]`.
fn field_shape(name: &'static str, ty: &'static str, max: u64) -> Shape {
    Array(vec![
        Str(name),
        Str(ty),
        Uint(0),
        Uint(0),
        Uint(max),
        Str("steady"),
        Uint(0),
        Uint(0),
        Nil,
        Array(vec![]),
    ])
}

/// [`tag_schema`] as a generic reader sees it.
fn tag_shape() -> Shape {
    Array(vec![
        Str("tag"),
        Array(vec![Array(vec![
            Str("it"),
            Str("bool"),
            F64(0.0),
            F64(1.0),
            Array(vec![]),
        ])]),
        Array(vec![Array(vec![
            Str("runner"),
            Nil,
            Array(vec![field_shape("it", "bool", 1)]),
        ])]),
        Array(vec![Array(vec![
            Str("tagged"),
            Array(vec![field_shape("runner", "entity", 0)]),
        ])]),
    ])
}

/// The envelope `[type, [fields...]]` that every message is.
fn envelope(kind: u64, fields: Vec<Shape>) -> Shape {
    Array(vec![Uint(kind), Array(fields)])
}

fn players_shape() -> Shape {
    Array(vec![Array(vec![Uint(3), Str("bo")])])
}

#[test]
fn every_vector_is_plain_messagepack() {
    let joined = joined_hex();
    let resumed = resumed_hex();
    let vectors: Vec<(&str, &str, Shape)> = vec![
        // Client to server.
        ("HELLO", HELLO, envelope(0, vec![Uint(4), Str("ana")])),
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
            envelope(
                3,
                vec![
                    Uint(301),
                    Uint(1200),
                    Array(vec![F64(0.5), F64(-0.5), F64(1.5), Uint(1)]),
                ],
            ),
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
            envelope(0, vec![Uint(7), Uint(60), Uint(4), Str(TOKEN), Str("ana")]),
        ),
        (
            "JOINED",
            &joined,
            envelope(1, vec![Str("lobby"), players_shape(), tag_shape()]),
        ),
        (
            "SNAPSHOT_KEYFRAME",
            SNAPSHOT_KEYFRAME,
            envelope(
                2,
                vec![
                    Uint(1200),
                    Nil,
                    Uint(TIME_MS),
                    Uint(0x7f81_1d05),
                    Uint(300),
                    Array(vec![]),
                    Array(vec![
                        entity_shape(&ana_at_1200()),
                        entity_shape(&bo_at_1200()),
                    ]),
                    Bin(&[]),
                ],
            ),
        ),
        (
            "SNAPSHOT_DELTA",
            SNAPSHOT_DELTA,
            envelope(
                2,
                vec![
                    Uint(1201),
                    Uint(1200),
                    Uint(TIME_MS + 17),
                    Uint(0x4a0c_feda),
                    Uint(301),
                    Array(vec![Uint(3)]),
                    Array(vec![entity_shape(&cy_at_1201())]),
                    Bin(&ANA_WALKS),
                ],
            ),
        ),
        (
            "SNAPSHOT_UNCHANGED",
            SNAPSHOT_UNCHANGED,
            envelope(
                2,
                vec![
                    Uint(1201),
                    Uint(1200),
                    Uint(TIME_MS + 17),
                    Uint(0x7f81_1d05),
                    Uint(300),
                    Array(vec![]),
                    Array(vec![]),
                    Bin(&[0x00]),
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
            &resumed,
            envelope(
                7,
                vec![
                    Uint(7),
                    Str("lobby"),
                    players_shape(),
                    Str(NEXT_TOKEN),
                    tag_shape(),
                ],
            ),
        ),
        (
            "RESUMED_LOBBY",
            RESUMED_LOBBY,
            envelope(7, vec![Uint(7), Nil, Array(vec![]), Str(NEXT_TOKEN), Nil]),
        ),
        (
            "EVENTS",
            EVENTS,
            envelope(
                10,
                vec![Uint(1201), Array(vec![Array(vec![Uint(0), Uint(9)])])],
            ),
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

        // The type number is a positive fixint.
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

/// The hand-made fuzz seeds (`fuzz/corpus/*/seed-*`): the hex vectors here and the
/// shooter's vector files, byte for byte, and no others, so a change to the wire cannot
/// leave the fuzzer starting from frames that no longer decode. `TICKWIRE_WRITE_VECTORS=1`
/// writes them (and deletes seeds that are no vector).
#[test]
fn fuzz_seeds_are_the_vectors() {
    let vector = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("vectors")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    };
    let hex: Vec<(&str, String)> = vec![
        ("decode_client/seed-hello", HELLO.into()),
        ("decode_client/seed-join-named", JOIN_NAMED.into()),
        ("decode_client/seed-join-quick", JOIN_QUICK.into()),
        ("decode_client/seed-join-private", JOIN_PRIVATE.into()),
        ("decode_client/seed-leave", LEAVE.into()),
        ("decode_client/seed-input", INPUT.into()),
        ("decode_client/seed-ping", PING.into()),
        ("decode_client/seed-create-private", CREATE_PRIVATE.into()),
        ("decode_client/seed-create-public", CREATE_PUBLIC.into()),
        ("decode_client/seed-resume", RESUME.into()),
        ("decode_client/seed-chat", CHAT.into()),
        ("decode_client/seed-chat-not-utf8", CHAT_NOT_UTF8.into()),
        ("decode_server/seed-welcome", WELCOME.into()),
        ("decode_server/seed-joined", joined_hex()),
        (
            "decode_server/seed-snapshot-keyframe",
            SNAPSHOT_KEYFRAME.into(),
        ),
        ("decode_server/seed-snapshot-delta", SNAPSHOT_DELTA.into()),
        (
            "decode_server/seed-snapshot-unchanged",
            SNAPSHOT_UNCHANGED.into(),
        ),
        ("decode_server/seed-pong", PONG.into()),
        ("decode_server/seed-error-room-full", ERROR_ROOM_FULL.into()),
        ("decode_server/seed-error-malformed", ERROR_MALFORMED.into()),
        ("decode_server/seed-error-not-found", ERROR_NOT_FOUND.into()),
        (
            "decode_server/seed-error-access-denied",
            ERROR_ACCESS_DENIED.into(),
        ),
        (
            "decode_server/seed-error-room-exists",
            ERROR_ROOM_EXISTS.into(),
        ),
        (
            "decode_server/seed-error-resume-refused",
            ERROR_RESUME_REFUSED.into(),
        ),
        ("decode_server/seed-player-joined", PLAYER_JOINED.into()),
        ("decode_server/seed-player-left", PLAYER_LEFT.into()),
        ("decode_server/seed-resumed", resumed_hex()),
        ("decode_server/seed-resumed-lobby", RESUMED_LOBBY.into()),
        ("decode_server/seed-events", EVENTS.into()),
        ("decode_server/seed-chat-ack", CHAT_ACK.into()),
        (
            "decode_server/seed-chat-ack-refused",
            CHAT_ACK_REFUSED.into(),
        ),
        ("decode_server/seed-chat-message", CHAT_MESSAGE.into()),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = hex
        .into_iter()
        .map(|(s, h)| (s.to_owned(), from_hex(&h)))
        .collect();
    for file in [
        "shooter-joined",
        "shooter-keyframe",
        "shooter-delta",
        "shooter-events",
    ] {
        seeds.push((
            format!("decode_server/seed-{file}"),
            vector(&format!("{file}.bin")),
        ));
    }
    seeds.push((
        "decode_client/seed-shooter-input".into(),
        vector("shooter-input.bin"),
    ));
    // The `apply_snapshot` target primes its replica with the shooter's schema and keyframe
    // (from the vector files), so that the delta reaches every kind of change record.
    seeds.push((
        "apply_snapshot/seed-keyframe".into(),
        vector("shooter-keyframe.bin"),
    ));
    seeds.push((
        "apply_snapshot/seed-delta".into(),
        vector("shooter-delta.bin"),
    ));

    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus");
    let write = std::env::var_os("TICKWIRE_WRITE_VECTORS").is_some();
    for (seed, bytes) in &seeds {
        if write {
            std::fs::write(corpus.join(seed), bytes).unwrap_or_else(|err| panic!("{seed}: {err}"));
        }
        let on_disk =
            std::fs::read(corpus.join(seed)).unwrap_or_else(|err| panic!("{seed}: {err}"));
        assert_eq!(to_hex(&on_disk), to_hex(bytes), "{seed}");
    }
    for dir in ["decode_client", "decode_server", "apply_snapshot"] {
        for entry in std::fs::read_dir(corpus.join(dir)).expect("the corpus is checked in") {
            let entry = entry.expect("a readable corpus entry");
            let seed = format!("{dir}/{}", entry.file_name().to_string_lossy());
            let known = !seed.contains("/seed-") || seeds.iter().any(|(s, _)| *s == seed);
            if write && !known {
                std::fs::remove_file(entry.path()).unwrap_or_else(|err| panic!("{seed}: {err}"));
                continue;
            }
            assert!(
                known,
                "{seed} is no vector: delete it or add its vector here"
            );
        }
    }
}

/// The arena's vector files are the hex vectors here.
#[test]
fn the_arena_vector_files_are_these_vectors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("vectors");
    for (file, hex) in [
        ("arena-keyframe.bin", SNAPSHOT_KEYFRAME),
        ("arena-delta.bin", SNAPSHOT_DELTA),
    ] {
        let bytes = std::fs::read(dir.join(file)).unwrap_or_else(|err| panic!("{file}: {err}"));
        assert_eq!(to_hex(&bytes), canonical(hex), "{file}");
    }
}

/// Any entity of the shooter's kinds, its values of the field types (strings, entity ids
/// up to `u32::MAX` and integers of every MessagePack width, negative ones included).
fn any_shooter_entity() -> impl Strategy<Value = Entity> {
    let schema = shooter_schema();
    let int = prop_oneof![
        -40i64..40,
        prop::sample::select(vec![-129i64, -128, -33, -32, 127, 128, 255, 256, 65_536]),
        any::<i32>().prop_map(i64::from),
    ];
    (
        any::<u32>(),
        0..schema.kinds.len(),
        prop::collection::vec((int, any::<u32>(), ".{0,16}"), 11),
    )
        .prop_map(move |(id, kind, raw)| {
            let fields = &schema.kinds[kind].fields;
            let values = fields
                .iter()
                .zip(raw)
                .map(|(f, (n, id, s))| match f.ty {
                    FieldType::String => tickwire_shared::Value::Str(s),
                    FieldType::Entity => tickwire_shared::Value::Int(id.into()),
                    _ => tickwire_shared::Value::Int(n),
                })
                .collect();
            Entity {
                id,
                kind: kind as u8,
                values,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Invariant: a snapshot written from pieces with `wire_snapshot` is byte for byte the
    /// codec's, for entities with every field type, and any head.
    #[test]
    fn pieces_are_the_codecs_bytes(
        tick: u64,
        base_tick: Option<u64>,
        server_time_ms: u64,
        state_hash: u32,
        ack: u32,
        removed in prop::collection::vec(any::<u32>(), 0..18),
        added in prop::collection::vec(any_shooter_entity(), 0..18),
        changes in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let snap = Snapshot { tick, base_tick, server_time_ms, state_hash, ack, removed, added, changes };
        prop_assert_eq!(from_pieces(&snap), tickwire_shared::encode(&snap).to_vec());
    }
}
