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
//! The three snapshot vectors (a keyframe, a delta from it, and a delta in which nothing
//! changed) are held to more: each is also exactly what a server writes from pieces with
//! `wire_snapshot`, and each applies with `Replica` to the state it describes. The change
//! record in the delta is worked out bit by bit next to its constant;
//! `snapshot_worked_examples` pins the numbers PROTOCOL.md works through (prediction,
//! FNV-1a hashes), and `change_record_sizes` the sizes of its example change records.
//!
//! `fuzz_seeds_are_the_vectors` checks that the hand-made seeds of the cargo-fuzz corpus
//! (`fuzz/corpus/*/seed-*`) are exactly these vectors, so they follow every change too.

use rmpv::Value;
use tickwire_shared::wire_snapshot::{
    Head, write_added_len, write_changes, write_head, write_player, write_removed,
};
use tickwire_shared::{
    Chat, ChatAck, ChatMessage, ChatText, ClientMsg, Create, Error, ErrorCode, Hello, Input, Join,
    Joined, Leave, PROTOCOL_VERSION, Ping, PlayerInfo, PlayerJoined, PlayerLeft, PlayerState, Pong,
    Replica, Resume, Resumed, ServerMsg, Snapshot, Welcome, encode_client, encode_server,
    player_hash, state_hash,
};

/// The resume token of the story: the one `Welcome` hands out and `Resume` presents.
/// Real tokens are 32 random lowercase hex digits; this one is easy to read in a dump.
const TOKEN: &str = "00112233445566778899aabbccddeeff";
/// The token `Resumed` hands out in exchange for [`TOKEN`], which is then spent.
const NEXT_TOKEN: &str = "ffeeddccbbaa99887766554433221100";

// Client to server. Each constant is the example under the same name in PROTOCOL.md.

/// Hello { version: 3, name: "ana" }
const HELLO: &str = "92 00 92 03 a3 61 6e 61";
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

/// Welcome { player_id: 7, tick_rate: 60, protocol_version: 3, resume_token: TOKEN,
/// user_id: "ana" }
const WELCOME: &str = "92 00 95 07 3c 03 d9 20 30 30 31 31 32 32 33 33 34 34 35 35 36 36 37 37 \
                       38 38 39 39 61 61 62 62 63 63 64 64 65 65 66 66 a3 61 6e 61";
/// Joined { room: "lobby", players: [{ id: 3, name: "bo" }] }
const JOINED: &str = "92 01 92 a5 6c 6f 62 62 79 91 92 03 a2 62 6f";
/// Snapshot { tick: 1200, base_tick: nil, server_time_ms: 1700000000000,
/// state_hash: 0x89174c52, removed: [], added: [ana_at_1200(), bo_at_1200()], changes: [] }:
/// a keyframe.
const SNAPSHOT_KEYFRAME: &str = "92 02 97 cd 04 b0 c0 cf 00 00 01 8b cf e5 68 00 ce 89 17 4c 52 \
                                 90 92 97 07 ce 00 01 86 a0 cd c8 32 00 00 cc f4 cd 01 2c \
                                 97 03 cd 61 a8 ce 00 01 25 2a 00 00 d1 ff 00 0c c4 00";
/// Snapshot { tick: 1201, base_tick: 1200, server_time_ms: 1700000000017,
/// state_hash: 0x742b37f4, removed: [3], added: [cy_at_1201()], changes: ANA_WALKS }: bo
/// left, cy joined, ana started to walk. Her record, 35 bits plus 5 bits of padding (each
/// field starts with a prefix code, read bit by bit; velocity before position):
///
/// ```text
/// 1                changed
/// 1 010100         vx: `1`, a 6-bit delta, +20    (0 -> 20)
/// 1 110001         vy: `1`, a 6-bit delta, -15    (0 -> -15; 64 - 15 = 49)
/// 10 0001          x: `10`, a 4-bit residual, +1  (predicted 100000 + round(20·100·1/60)
///                                                  = 100033; now 100034)
/// 10 1110          y: `10`, a 4-bit residual, -2  (predicted 51250 + round(-15·100·1/60)
///                                                  = 51225; now 51223; 16 - 2 = 14)
/// 1 111011         facing: `1`, a 6-bit turn, -5  (244 -> 239; 64 - 5 = 59)
/// 1                input seq: `1`, one more       (300 -> 301)
/// 00000            padding to a whole byte
///
/// 11010100 11100011 00001101 11011110 11100000 = d4 e3 0d de e0
/// ```
const SNAPSHOT_DELTA: &str = "92 02 97 cd 04 b1 cd 04 b0 cf 00 00 01 8b cf e5 68 11 ce 74 2b 37 f4 \
                              91 03 91 97 09 ce 00 02 4a 09 cd 9c 40 00 00 00 00 c4 05 d4 e3 0d de e0";
/// Snapshot { tick: 1201, base_tick: 1200, server_time_ms: 1700000000017,
/// state_hash: 0x89174c52, removed: [], added: [], changes: [0x00] }: the delta from the
/// same keyframe had nobody moved, joined or left in tick 1201. Two records of one 0 bit
/// each, then six bits of padding.
const SNAPSHOT_UNCHANGED: &str = "92 02 97 cd 04 b1 cd 04 b0 cf 00 00 01 8b cf e5 68 11 \
                                  ce 89 17 4c 52 90 90 c4 01 00";
/// The `changes` of [`SNAPSHOT_DELTA`]: ana's walking record, worked out bit by bit there.
const ANA_WALKS: [u8; 5] = [
    0b1101_0100,
    0b1110_0011,
    0b0000_1101,
    0b1101_1110,
    0b1110_0000,
];
/// The 28 bytes `player_hash` hashes for ana at tick 1200, and for bo (PROTOCOL.md, "The
/// state hash").
const ANA_HASHED: &str =
    "07 00 00 00  a0 86 01 00  32 c8 00 00  00 00 00 00  00 00 00 00  f4 00 00 00  2c 01 00 00";
const BO_HASHED: &str =
    "03 00 00 00  a8 61 00 00  2a 25 01 00  00 00 00 00  00 00 00 00  00 ff ff ff  0c 00 00 00";
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
    assert_eq!(canonical(SNAPSHOT_KEYFRAME).len(), 58 * 3 - 1);
}

#[test]
fn client_hello() {
    let msg = Hello {
        version: 3,
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

// The snapshot story: ana (player 7) and bo (3) stand in the lobby at tick 1200, and the
// client gets a keyframe. In tick 1201 bo leaves, cy (9) joins, and ana starts to walk.

/// Ana at tick 1200: at rest at (1000.00, 512.50), facing 244/1024 of a turn (1.5 rad),
/// her input 300 applied.
fn ana_at_1200() -> PlayerState {
    PlayerState {
        id: 7,
        x: 100_000,
        y: 51_250,
        vx: 0,
        vy: 0,
        facing: 244,
        last_input_seq: 300,
    }
}

/// Bo at tick 1200: at rest at (250.00, 750.50), looking along -y.
fn bo_at_1200() -> PlayerState {
    PlayerState {
        id: 3,
        x: 25_000,
        y: 75_050,
        vx: 0,
        vy: 0,
        facing: -256,
        last_input_seq: 12,
    }
}

/// Ana at tick 1201: input 301 set her walking; 1500 units/s² for one tick took her to
/// (20, -15) units/s, and she turned 5 steps clockwise.
fn ana_at_1201() -> PlayerState {
    PlayerState {
        x: 100_034,
        y: 51_223,
        vx: 20,
        vy: -15,
        facing: 239,
        last_input_seq: 301,
        ..ana_at_1200()
    }
}

/// Cy, new at tick 1201: at rest where the server spawned them, facing 0, no input yet.
fn cy_at_1201() -> PlayerState {
    PlayerState {
        id: 9,
        x: 150_025,
        y: 40_000,
        vx: 0,
        vy: 0,
        facing: 0,
        last_input_seq: 0,
    }
}

fn keyframe() -> Snapshot {
    Snapshot {
        tick: 1200,
        base_tick: None,
        server_time_ms: 1_700_000_000_000,
        state_hash: 0x8917_4c52,
        removed: vec![],
        added: vec![ana_at_1200(), bo_at_1200()],
        changes: vec![],
    }
}

fn delta() -> Snapshot {
    Snapshot {
        tick: 1201,
        base_tick: Some(1200),
        server_time_ms: 1_700_000_000_017,
        state_hash: 0x742b_37f4,
        removed: vec![3],
        added: vec![cy_at_1201()],
        changes: ANA_WALKS.to_vec(),
    }
}

fn unchanged() -> Snapshot {
    Snapshot {
        tick: 1201,
        base_tick: Some(1200),
        server_time_ms: 1_700_000_000_017,
        state_hash: 0x8917_4c52,
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
        },
    );
    write_removed(&mut buf, &snap.removed);
    write_added_len(&mut buf, snap.added.len());
    for player in &snap.added {
        write_player(&mut buf, player);
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
        .apply(&keyframe(), TICK_RATE)
        .expect("the keyframe applies");
    replica
}

#[test]
fn server_snapshot_keyframe() {
    assert_snapshot_golden(&keyframe(), SNAPSHOT_KEYFRAME);
    let replica = replica_at_1200();
    assert_eq!(replica.tick(), Some(1200));
    assert_eq!(replica.players(), [ana_at_1200(), bo_at_1200()]);
}

#[test]
fn server_snapshot_delta() {
    assert_snapshot_golden(&delta(), SNAPSHOT_DELTA);
    let mut replica = replica_at_1200();
    replica
        .apply(&delta(), TICK_RATE)
        .expect("the delta applies");
    assert_eq!(replica.tick(), Some(1201));
    // The base's survivors in the base's order (ana), then the added (cy).
    assert_eq!(replica.players(), [ana_at_1201(), cy_at_1201()]);
}

#[test]
fn server_snapshot_unchanged() {
    assert_snapshot_golden(&unchanged(), SNAPSHOT_UNCHANGED);
    let mut replica = replica_at_1200();
    replica
        .apply(&unchanged(), TICK_RATE)
        .expect("the delta applies");
    assert_eq!(replica.tick(), Some(1201));
    assert_eq!(replica.players(), [ana_at_1200(), bo_at_1200()]);
}

/// The numbers PROTOCOL.md works through: ana's record as `write_change` writes it, her
/// predicted position, and the state hashes from each player's FNV-1a hash.
#[test]
fn snapshot_worked_examples() {
    use bitstream_io::{BigEndian, BitWrite, BitWriter};
    use tickwire_shared::changes::{predict, write_change};

    let mut bits = BitWriter::endian(Vec::new(), BigEndian);
    write_change(&mut bits, &ana_at_1200(), &ana_at_1201(), 1, TICK_RATE).expect("into a Vec");
    bits.byte_align().expect("into a Vec");
    assert_eq!(bits.into_writer(), ANA_WALKS);

    assert_eq!(predict(100_000, 20, 1, TICK_RATE), 100_033);
    assert_eq!(predict(51_250, -15, 1, TICK_RATE), 51_225);
    // Halves round up, toward +infinity: -0.5 steps is 0, +0.5 is 1.
    assert_eq!(predict(0, -3, 1, 600), 0);
    assert_eq!(predict(0, 3, 1, 600), 1);
    // Over several ticks the product is rounded once, not tick by tick: 3 ticks at
    // 1 unit/s and 60 Hz are 5 steps (3 × 1.67 rounded each time would be 6).
    assert_eq!(predict(0, 1, 3, 60), 5);

    // FNV-1a 64 as PROTOCOL.md spells it out, step by step.
    let fnv1a = |bytes: &[u8], steps: &mut Vec<u64>| {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
            steps.push(h);
        }
        h
    };
    let mut steps = Vec::new();
    assert_eq!(
        fnv1a(&from_hex(ANA_HASHED), &mut steps),
        0x3047_7056_2cc1_5b10
    );
    assert_eq!(steps[..2], [0xaf63_ba4c_8601_b2c6, 0x0828_5607_b4e2_c672]);
    assert_eq!(
        fnv1a(&from_hex(BO_HASHED), &mut steps),
        0x8c86_9f44_5c55_f142
    );

    assert_eq!(player_hash(&ana_at_1200()), 0x3047_7056_2cc1_5b10);
    assert_eq!(player_hash(&bo_at_1200()), 0x8c86_9f44_5c55_f142);
    assert_eq!(
        player_hash(&ana_at_1200()).wrapping_add(player_hash(&bo_at_1200())),
        0xbcce_0f9a_8917_4c52
    );
    assert_eq!(state_hash([&ana_at_1200(), &bo_at_1200()]), 0x8917_4c52);
    assert_eq!(player_hash(&ana_at_1201()), 0x1a3a_97cf_229c_8f83);
    assert_eq!(player_hash(&cy_at_1201()), 0x4c67_c9e4_518e_a871);
    assert_eq!(state_hash([&ana_at_1201(), &cy_at_1201()]), 0x742b_37f4);
}

/// The sizes of the records in PROTOCOL.md's table of examples (section 9, "Change
/// records"), as `write_change` writes them.
#[test]
fn change_record_sizes() {
    use bitstream_io::{BigEndian, BitRecorder};
    use tickwire_shared::changes::{predict, write_change};

    let bits = |base: &PlayerState, now: &PlayerState| {
        let mut rec: BitRecorder<u32, BigEndian> = BitRecorder::new();
        write_change(&mut rec, base, now, 1, TICK_RATE).expect("into memory");
        rec.written()
    };
    // Walking along +x at 300 units/s, one wall at her side.
    let walker = PlayerState {
        vx: 300,
        ..ana_at_1200()
    };
    let stepped = |dvx: i32, rx: i32, ry: i32, turn: i32, dseq: u32| PlayerState {
        vx: walker.vx + dvx,
        x: predict(walker.x, walker.vx + dvx, 1, TICK_RATE) as i32 + rx,
        y: walker.y + ry,
        facing: walker.facing + turn,
        last_input_seq: walker.last_input_seq + dseq,
        ..walker
    };
    // Ana's step, had she landed exactly where predicted.
    let ana_predicted = PlayerState {
        x: 100_033,
        y: 51_225,
        ..ana_at_1201()
    };
    let biggest = PlayerState {
        x: i32::MIN,
        y: i32::MAX,
        vx: i32::MAX,
        vy: i32::MIN,
        facing: -268,
        last_input_seq: 0,
        ..ana_at_1200()
    };
    let rows = [
        ("nothing changed", bits(&walker, &walker), 1),
        (
            "as predicted, one more input",
            bits(&walker, &stepped(0, 0, 0, 0, 1)),
            10,
        ),
        (
            "as predicted, nothing else",
            bits(&walker, &stepped(0, 0, 0, 0, 0)),
            11,
        ),
        (
            "walking, as predicted",
            bits(&ana_at_1200(), &ana_predicted),
            25,
        ),
        ("Ana's, walking", bits(&ana_at_1200(), &ana_at_1201()), 35),
        ("along a wall", bits(&walker, &stepped(-12, 3, 0, 4, 1)), 25),
        (
            "pushed by a neighbour",
            bits(&walker, &stepped(0, 0, 200, 0, 1)),
            22,
        ),
        ("the longest", bits(&ana_at_1200(), &biggest), 188),
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
    /// A negative integer (negative fixint, int8/16/32/64) with this value.
    Int(i64),
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

use Shape::{Array, Bin, Bool, F32, F64, Int, Nil, Str, Uint};

/// `[x, y]` as two float32s, like `dir`.
fn vec2(x: f32, y: f32) -> Shape {
    Array(vec![F32(x), F32(y)])
}

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

/// A PlayerState: `[id, x, y, vx, vy, facing, last_input_seq]`, signed fields as `Int`
/// when negative and `Uint` otherwise.
fn player_shape(p: &PlayerState) -> Shape {
    let int = |v: i32| if v < 0 { Int(v.into()) } else { Uint(v as u64) };
    Array(vec![
        Uint(p.id.into()),
        int(p.x),
        int(p.y),
        int(p.vx),
        int(p.vy),
        int(p.facing),
        Uint(p.last_input_seq.into()),
    ])
}

/// The envelope `[type, [fields...]]` that every message is.
fn envelope(kind: u64, fields: Vec<Shape>) -> Shape {
    Array(vec![Uint(kind), Array(fields)])
}

#[test]
fn every_vector_is_plain_messagepack() {
    let vectors: Vec<(&str, &str, Shape)> = vec![
        // Client to server.
        ("HELLO", HELLO, envelope(0, vec![Uint(3), Str("ana")])),
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
            envelope(0, vec![Uint(7), Uint(60), Uint(3), Str(TOKEN), Str("ana")]),
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
            "SNAPSHOT_KEYFRAME",
            SNAPSHOT_KEYFRAME,
            envelope(
                2,
                vec![
                    Uint(1200),
                    Nil,
                    Uint(1_700_000_000_000),
                    Uint(0x8917_4c52),
                    Array(vec![]),
                    Array(vec![
                        player_shape(&ana_at_1200()),
                        player_shape(&bo_at_1200()),
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
                    Uint(1_700_000_000_017),
                    Uint(0x742b_37f4),
                    Array(vec![Uint(3)]),
                    Array(vec![player_shape(&cy_at_1201())]),
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
                    Uint(1_700_000_000_017),
                    Uint(0x8917_4c52),
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
        ("decode_server/seed-snapshot-keyframe", SNAPSHOT_KEYFRAME),
        ("decode_server/seed-snapshot-delta", SNAPSHOT_DELTA),
        ("decode_server/seed-snapshot-unchanged", SNAPSHOT_UNCHANGED),
        // The `apply_snapshot` target primes its replica with its keyframe seed.
        ("apply_snapshot/seed-keyframe", SNAPSHOT_KEYFRAME),
        ("apply_snapshot/seed-delta", SNAPSHOT_DELTA),
        ("apply_snapshot/seed-unchanged", SNAPSHOT_UNCHANGED),
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
    for dir in ["decode_client", "decode_server", "apply_snapshot"] {
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
