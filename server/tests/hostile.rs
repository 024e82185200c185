//! Untrusted messages over real sockets: every bad frame gets an error or a close with a
//! reason, floods are closed, and meanwhile an honest player in the room keeps getting its
//! snapshots at 60 Hz (`common::honest`). Transport-level faults (handshakes, connection
//! limits, stalled and reset sockets) are in `faults.rs`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use bytes::Bytes;
use common::honest::{Ending, Honest, ending};
use common::{Client, Seen, TestServer, input};
use futures::stream::SplitSink;
use futures::{SinkExt, StreamExt};
use tickwire_server::Config;
use tickwire_shared::quant::facing_to_steps;
use tickwire_shared::*;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// Message limits so high that tests about what a frame means never meet the rate limit.
fn unlimited() -> Config {
    Config {
        message_rate: 1_000_000,
        message_burst: 1_000_000,
        ..Config::default()
    }
}

/// The offender's own state in a snapshot.
fn me(snap: &Seen, id: PlayerId) -> PlayerState {
    *snap
        .player(id)
        .unwrap_or_else(|| panic!("player {id} is not in the snapshot of tick {}", snap.tick))
}

/// Pings and waits for the pong, so everything sent before has been read by the server.
/// Returns the tick the ping was read at (0 outside a room) and what arrived before the
/// pong, snapshots left out.
async fn sync(c: &mut Client) -> (u64, Vec<ServerMsg>) {
    let stamp = 4242.5;
    c.send(ClientMsg::Ping(Ping { client_time: stamp })).await;
    let mut before = Vec::new();
    let deadline = tokio::time::Instant::now() + common::WAIT;
    loop {
        assert!(tokio::time::Instant::now() < deadline, "no pong");
        match c.recv().await {
            ServerMsg::Pong(p) if p.client_time == stamp => return (p.server_tick, before),
            ServerMsg::Snapshot(_) => {}
            other => before.push(other),
        }
    }
}

/// The next snapshot; panics on an error message (nothing here should earn one).
async fn snapshot_without_errors(c: &mut Client) -> Seen {
    loop {
        match c.recv().await {
            ServerMsg::Snapshot(s) => return c.seen(&s),
            ServerMsg::Error(e) => panic!("unexpected error: {e:?}"),
            _ => {}
        }
    }
}

/// The first snapshot of a tick after `tick`.
async fn snapshot_after(c: &mut Client, tick: u64) -> Seen {
    loop {
        let snap = snapshot_without_errors(c).await;
        if snap.tick > tick {
            return snap;
        }
    }
}

/// Waits until the server acknowledges input `seq` for `c`; returns that snapshot.
async fn acked(c: &mut Client, seq: u32) -> Seen {
    for _ in 0..120 {
        let snap = snapshot_without_errors(c).await;
        if me(&snap, c.id).last_input_seq >= seq {
            return snap;
        }
    }
    panic!("input {seq} was not applied within 120 snapshots");
}

fn assert_error(err: &Error, code: ErrorCode, in_reply_to: Option<u8>, what: &str) {
    assert_eq!(
        (err.code, err.in_reply_to),
        (code, in_reply_to),
        "{what}: {}",
        err.message
    );
}

/// A frame the server must answer with an error, and the answer.
struct Bad {
    frame: Vec<u8>,
    code: ErrorCode,
    in_reply_to: Option<u8>,
}

impl Bad {
    fn malformed(frame: &[u8], in_reply_to: Option<u8>) -> Self {
        Self {
            frame: frame.to_vec(),
            code: ErrorCode::MALFORMED,
            in_reply_to,
        }
    }
}

/// xorshift64: the same "random" bytes on every run.
fn random_bytes(state: &mut u64, len: usize) -> Vec<u8> {
    (0..len)
        .map(|_| {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            (*state >> 24) as u8
        })
        .collect()
}

/// Random bytes, truncated messages, valid MessagePack of the wrong shape, unknown types.
fn bad_frames() -> Vec<Bad> {
    let mut bad = Vec::new();

    // Random bytes (a seeded generator), answered as the shared codec reads them; the few
    // that happen to be valid messages are not sent.
    let mut state = 0x5eed_1234_abcd_ef01;
    for i in 0..40 {
        let mut frame = random_bytes(&mut state, 1 + i * 7 % 200);
        if i % 4 == 0 {
            frame.insert(0, 0x92); // an envelope, so the type and body get read too
        }
        if let Err(err) = ClientMsg::decode(&frame) {
            bad.push(Bad {
                frame,
                code: err.code(),
                in_reply_to: err.kind(),
            });
        }
    }

    // Every message cut short: no type yet → nil, otherwise the type it claims.
    let whole = [
        ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: "ana".into(),
        }),
        ClientMsg::Join(Join {
            room: Some("lobby".into()),
            key: None,
        }),
        ClientMsg::Join(Join {
            room: None,
            key: None,
        }),
        input(300, [0.5, -0.5]),
        ClientMsg::Ping(Ping {
            client_time: 1500.25,
        }),
    ];
    bad.push(Bad::malformed(b"", None));
    for msg in &whole {
        let frame = encode_client(msg);
        for cut in 1..frame.len() {
            let kind = (cut >= 2).then_some(msg.kind());
            bad.push(Bad::malformed(&frame[..cut], kind));
        }
    }

    // Valid MessagePack, wrong shape.
    let shapes: &[(&[u8], Option<u8>)] = &[
        (b"\xc0", None),                                // nil
        (b"\x80", None),                                // an empty map
        (b"\xa5hello", None),                           // a string
        (b"\x91\x00", None),                            // an array of 1
        (b"\x93\x01\x02\x03", None),                    // an array of 3
        (b"\x92\xa1\x01\x90", None),                    // the type is a string
        (b"\x92\xff\x90", None),                        // the type is negative
        (b"\x92\xc3\x90", None),                        // the type is a boolean
        (b"\x92\x00\x90", Some(0)),                     // hello without fields
        (b"\x92\x00\x92\xa1\x31\x01", Some(0)),         // hello with its fields swapped
        (b"\x92\x01\x91\x07", Some(1)),                 // join with a number for a room
        (b"\x92\x03\x93\x01\x92\x00\x00\x00", Some(3)), // input with 3 fields
        (b"\x92\x04\x91\xa3now", Some(4)),              // ping with a string
        (b"\x92\x02\x90\x00", Some(2)),                 // leave, then a trailing byte
        (b"\x92\x01\x91\xc0\xc0", Some(1)),             // join, then a trailing nil
        // input whose seq does not fit a u32
        (
            b"\x92\x03\x94\xcf\x01\x00\x00\x00\x00\x00\x00\x00\x92\x00\x00\x00\x00",
            Some(3),
        ),
        // input whose buttons do not fit a u8
        (b"\x92\x03\x94\x01\x92\x00\x00\x00\xcd\x01\x00", Some(3)),
    ];
    for &(frame, kind) in shapes {
        bad.push(Bad::malformed(frame, kind));
    }

    // Types no client message has: the number when it fits a u8, else nil.
    let unknown: &[(&[u8], Option<u8>)] = &[
        (b"\x92\x08\x90", Some(8)),
        (b"\x92\x09\x90", Some(9)),
        (b"\x92\x63\x90", Some(99)),
        (b"\x92\x7f\x90", Some(127)),
        (b"\x92\xcc\xff\x90", Some(255)),
        (b"\x92\xcd\x01\x00\x90", None),
        (b"\x92\xce\x00\x01\x11\x70\x90", None),
        (b"\x92\xcf\xff\xff\xff\xff\xff\xff\xff\xff\x90", None),
    ];
    for &(frame, kind) in unknown {
        bad.push(Bad {
            frame: frame.to_vec(),
            code: ErrorCode::UNKNOWN_TYPE,
            in_reply_to: kind,
        });
    }
    bad
}

/// Sends every bad frame, then reads the answers, which come in order.
async fn send_bad_frames_and_check_answers(c: &mut Client, bad: &[Bad], place: &str) {
    for b in bad {
        c.send_raw(b.frame.clone()).await;
    }
    for b in bad {
        let err = c.recv_error().await;
        assert_error(
            &err,
            b.code,
            b.in_reply_to,
            &format!("{place}: {:02x?}", b.frame),
        );
    }
}

#[tokio::test]
async fn bad_frames_get_errors_and_the_connection_stays_usable() {
    let server = TestServer::start(unlimited()).await;
    let honest = Honest::join(&server, "r").await;
    let bad = bad_frames();
    assert!(bad.len() > 100, "{} bad frames", bad.len());

    // Before hello, in the lobby.
    let mut vandal = Client::connect(&server).await;
    send_bad_frames_and_check_answers(&mut vandal, &bad, "before hello").await;
    vandal
        .send(ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: "vandal".into(),
        }))
        .await;
    let ServerMsg::Welcome(welcome) = vandal.recv().await else {
        panic!("hello after garbage is still welcome");
    };
    vandal.id = welcome.player_id;

    // In the honest player's room.
    vandal
        .send(ClientMsg::Join(Join {
            room: Some("r".into()),
            key: None,
        }))
        .await;
    vandal
        .recv_where(|m| matches!(m, ServerMsg::Joined(_)))
        .await;
    send_bad_frames_and_check_answers(&mut vandal, &bad, "in a room").await;

    // Still connected, served, and in the room.
    let (tick, _) = sync(&mut vandal).await;
    assert!(tick > 0, "the pong comes from the room");
    let snap = snapshot_after(&mut vandal, tick).await;
    me(&snap, vandal.id);
    me(&snap, honest.id);

    let watch = honest.finish().await;
    watch.assert_steady();
    assert!(!watch.saw(|m| matches!(m, ServerMsg::PlayerLeft(_))));
    server.stop().await;
}

/// Inputs the server must refuse with INVALID_VALUE (PROTOCOL.md, "Input"): a NaN or
/// infinite number anywhere, a direction longer than 1.01, a facing beyond ±4π.
fn refused_inputs() -> Vec<([f32; 2], f32)> {
    let mut refused = Vec::new();
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        refused.extend([([bad, 0.0], 0.0), ([0.0, bad], 0.0), ([1.0, 0.0], bad)]);
    }
    for dir in [
        [1e30, 1e30],
        [f32::MAX, 0.0],
        [3.0, 4.0],
        [1.02, 0.0],
        [0.0, -1.5],
        [0.75, 0.75],
    ] {
        refused.push((dir, 0.0));
    }
    for facing in [13.0, -13.0, 1e30, f32::MIN] {
        refused.push(([0.0, 0.0], facing));
    }
    refused
}

/// Sends every refused input (numbered from `seq` up) and checks each got INVALID_VALUE;
/// returns the tick the last was read at, and the next free sequence number.
async fn send_refused_inputs(c: &mut Client, mut seq: u32) -> (u64, u32) {
    let refused = refused_inputs();
    for &(dir, facing) in &refused {
        c.send(ClientMsg::Input(Input {
            seq,
            dir,
            facing,
            buttons: 0,
        }))
        .await;
        seq += 1;
    }
    let (tick, answers) = sync(c).await;
    assert_eq!(answers.len(), refused.len(), "{answers:?}");
    for (answer, input) in answers.iter().zip(&refused) {
        let ServerMsg::Error(err) = answer else {
            panic!("expected an error, got {answer:?}");
        };
        assert_error(
            err,
            ErrorCode::INVALID_VALUE,
            Some(3),
            &format!("input {input:?}"),
        );
    }
    (tick, seq)
}

#[tokio::test]
async fn invalid_inputs_are_refused_and_never_reach_the_simulation() {
    let server = TestServer::start(Config::default()).await;
    let honest = Honest::join(&server, "r").await;
    let (mut c, _) = Client::joined(&server, "nan", Some("r")).await;
    let spawned = me(&c.recv_snapshot().await, c.id);
    assert_eq!((spawned.vel(), spawned.last_input_seq), ([0.0, 0.0], 0));

    // From rest: none is applied, so the player stays where it spawned, at rest, facing 0.
    let (tick, seq) = send_refused_inputs(&mut c, 1).await;
    for _ in 0..10 {
        let now = me(&snapshot_after(&mut c, tick).await, c.id);
        assert_eq!(now, spawned, "a refused input reached the game");
    }

    // A valid input after them is applied: the snapshots above were not blind.
    let toward = if spawned.pos()[0] < 1000.0 { 1.0 } else { -1.0 };
    c.send(ClientMsg::Input(Input {
        seq,
        dir: [toward, 0.0],
        facing: 0.5,
        buttons: 0,
    }))
    .await;
    let now = me(&acked(&mut c, seq).await, c.id);
    let half_radian = facing_to_steps(0.5);
    assert_eq!(now.facing, half_radian);
    let applied = seq;

    // While moving: the player keeps acting on its last valid input.
    let (tick, _) = send_refused_inputs(&mut c, seq + 1).await;
    let mut last = me(&snapshot_after(&mut c, tick).await, c.id);
    for _ in 0..10 {
        let now = me(&snapshot_without_errors(&mut c).await, c.id);
        assert_eq!((now.last_input_seq, now.facing), (applied, half_radian));
        // Inside the world: no NaN or infinity reached a position (it would round to 0
        // or saturate far outside).
        let [x, y] = now.pos();
        assert!(
            (12.0..=1988.0).contains(&x) && (12.0..=1988.0).contains(&y),
            "{now:?}"
        );
        assert!(
            now.vel()[0] * toward >= last.vel()[0] * toward - 1e-3 && now.vel()[0] * toward > 0.0,
            "a refused input changed the player's course: {last:?} -> {now:?}"
        );
        last = now;
    }
    honest.finish().await.assert_steady();
    server.stop().await;
}

#[tokio::test]
async fn a_direction_a_little_over_one_is_scaled_to_top_speed() {
    let server = TestServer::start(Config::default()).await;
    let honest = Honest::join(&server, "r").await;
    let (mut c, _) = Client::joined(&server, "speeder", Some("r")).await;
    let spawned = me(&c.recv_snapshot().await, c.id);
    // A unit vector with float rounding, toward the middle so no wall stops the player.
    let toward = if spawned.pos()[0] < 1000.0 { 1.0 } else { -1.0 };
    let mut speed = 0.0;
    for seq in 1..=60 {
        c.send(input(seq, [1.005 * toward, 0.0])).await;
        let v = me(&snapshot_without_errors(&mut c).await, c.id).vel();
        speed = (v[0] * v[0] + v[1] * v[1]).sqrt();
        assert!(speed <= 300.0 + 1e-3, "faster than top speed: {v:?}");
    }
    assert!(speed >= 299.0, "accepted and applied: {speed}");
    honest.finish().await.assert_steady();
    server.stop().await;
}

#[tokio::test]
async fn old_and_repeated_sequence_numbers_are_ignored() {
    let server = TestServer::start(Config::default()).await;
    let mut honest = Honest::join(&server, "r").await;
    let (mut c, _) = Client::joined(&server, "rewinder", Some("r")).await;
    let spawned = me(&c.recv_snapshot().await, c.id);
    // Move toward the middle, so no wall stops the player during the test.
    let toward = if spawned.pos()[0] < 1000.0 { 1.0 } else { -1.0 };
    let move_input = |seq, x: f32, facing| {
        ClientMsg::Input(Input {
            seq,
            dir: [x, 0.0],
            facing,
            buttons: 0,
        })
    };

    c.send(move_input(10, toward, 1.0)).await;
    acked(&mut c, 10).await;
    // A repeat and older numbers, each asking for the other way and another facing.
    for seq in [10, 9, 1, 0] {
        c.send(move_input(seq, -toward, -2.0)).await;
    }
    let (tick, answers) = sync(&mut c).await;
    assert!(answers.is_empty(), "ignored silently: {answers:?}");
    let mut last = me(&snapshot_after(&mut c, tick).await, c.id);
    for _ in 0..20 {
        let now = me(&snapshot_without_errors(&mut c).await, c.id);
        assert_eq!(now.last_input_seq, 10, "the acknowledged seq went back");
        assert_eq!(
            now.facing,
            facing_to_steps(1.0),
            "an ignored input turned the player"
        );
        assert!(
            now.vel()[0] * toward >= last.vel()[0] * toward - 1e-3 && now.vel()[0] * toward > 0.0,
            "an ignored input slowed the player: {last:?} -> {now:?}"
        );
        assert!(
            now.pos()[0] * toward > last.pos()[0] * toward,
            "still moving on"
        );
        last = now;
    }

    // A newer number is applied: facing and direction change.
    c.send(move_input(11, -toward, 2.5)).await;
    let now = me(&acked(&mut c, 11).await, c.id);
    assert_eq!(now.facing, facing_to_steps(2.5));
    let mut turned = false;
    for _ in 0..60 {
        let now = me(&snapshot_without_errors(&mut c).await, c.id);
        assert_eq!(now.last_input_seq, 11);
        if now.vel()[0] * toward < 0.0 {
            turned = true;
            break;
        }
    }
    assert!(turned, "input 11 reversed the player");

    // Each join starts a fresh sequence.
    c.send(ClientMsg::Leave(Leave {})).await;
    honest.sees_leave(c.id).await;
    c.send(ClientMsg::Join(Join {
        room: Some("r".into()),
        key: None,
    }))
    .await;
    c.recv_where(|m| matches!(m, ServerMsg::Joined(_))).await;
    c.send(move_input(1, 0.0, 0.25)).await;
    let now = me(&acked(&mut c, 1).await, c.id);
    assert_eq!((now.last_input_seq, now.facing), (1, facing_to_steps(0.25)));

    honest.finish().await.assert_steady();
    server.stop().await;
}

#[tokio::test]
async fn requests_out_of_order_are_refused() {
    let server = TestServer::start(Config::default()).await;
    let honest = Honest::join(&server, "r").await;

    // Before hello: everything but hello is BAD_STATE, and says what it answers.
    let mut c = Client::connect(&server).await;
    for (msg, kind) in [
        (
            ClientMsg::Join(Join {
                room: None,
                key: None,
            }),
            1,
        ),
        (ClientMsg::Leave(Leave {}), 2),
        (input(1, [1.0, 0.0]), 3),
        (ClientMsg::Ping(Ping { client_time: 1.0 }), 4),
    ] {
        c.send(msg).await;
        let err = c.recv_error().await;
        assert_error(&err, ErrorCode::BAD_STATE, Some(kind), "before hello");
    }
    // A bad name leaves the connection un-greeted, so a better hello is welcome.
    for name in ["", "a\nb", &"x".repeat(33)] {
        c.send(ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION,
            name: name.into(),
        }))
        .await;
        let err = c.recv_error().await;
        assert_error(&err, ErrorCode::INVALID_VALUE, Some(0), name);
    }
    c.send(ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: "x".into(),
    }))
    .await;
    assert!(matches!(c.recv().await, ServerMsg::Welcome(_)));

    // After hello, outside a room.
    c.send(ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: "again".into(),
    }))
    .await;
    assert_error(
        &c.recv_error().await,
        ErrorCode::BAD_STATE,
        Some(0),
        "second hello",
    );
    c.send(input(1, [1.0, 0.0])).await;
    assert_error(
        &c.recv_error().await,
        ErrorCode::NOT_IN_ROOM,
        Some(3),
        "input outside a room",
    );
    c.send(ClientMsg::Leave(Leave {})).await;
    assert_error(
        &c.recv_error().await,
        ErrorCode::NOT_IN_ROOM,
        Some(2),
        "leave outside a room",
    );
    c.send(ClientMsg::Join(Join {
        room: Some("no spaces allowed".into()),
        key: None,
    }))
    .await;
    assert_error(
        &c.recv_error().await,
        ErrorCode::INVALID_VALUE,
        Some(1),
        "bad room name",
    );
    let (tick, answers) = sync(&mut c).await;
    assert_eq!(
        (tick, answers),
        (0, vec![]),
        "still usable, still in the lobby"
    );

    let watch = honest.finish().await;
    watch.assert_steady();
    assert!(!watch.saw(|m| matches!(m, ServerMsg::PlayerJoined(_))));
    server.stop().await;
}

#[tokio::test]
async fn joining_twice_is_refused_and_the_player_stays_in_its_room() {
    let server = TestServer::start(Config::default()).await;
    let honest = Honest::join(&server, "r").await;
    let (mut c, _) = Client::joined(&server, "twice", Some("r")).await;
    for room in [Some("r"), Some("elsewhere"), None] {
        c.send(ClientMsg::Join(Join {
            room: room.map(Into::into),
            key: None,
        }))
        .await;
    }
    let (tick, answers) = sync(&mut c).await;
    assert!(tick > 0, "the pong comes from the room");
    assert_eq!(answers.len(), 3, "{answers:?}");
    for answer in &answers {
        let ServerMsg::Error(err) = answer else {
            panic!("expected an error, got {answer:?}");
        };
        assert_error(err, ErrorCode::NOT_IN_ROOM, Some(1), "second join");
    }
    // Still in the same room as the honest player, and still playing.
    c.send(input(1, [0.0, 0.0])).await;
    let snap = acked(&mut c, 1).await;
    me(&snap, honest.id);

    let watch = honest.finish().await;
    watch.assert_steady();
    let joins = watch
        .events
        .iter()
        .filter(|m| matches!(m, ServerMsg::PlayerJoined(j) if j.id == c.id))
        .count();
    assert_eq!(joins, 1, "{:?}", watch.events);
    assert!(!watch.saw(|m| matches!(m, ServerMsg::PlayerLeft(_))));
    server.stop().await;
}

#[tokio::test]
async fn a_full_room_refuses_with_room_full_and_the_connection_stays_usable() {
    let config = Config {
        max_room_players: 2,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let honest = Honest::join(&server, "r").await;
    let second = Honest::join_as(&server, "second", "r").await;
    let mut late = Client::greeted(&server, "late").await;
    for _ in 0..3 {
        late.send(ClientMsg::Join(Join {
            room: Some("r".into()),
            key: None,
        }))
        .await;
        let err = late.recv_error().await;
        assert_error(&err, ErrorCode::ROOM_FULL, Some(1), "join a full room");
    }
    let (tick, answers) = sync(&mut late).await;
    assert_eq!(
        (tick, answers),
        (0, vec![]),
        "still usable, still in the lobby"
    );
    late.send(ClientMsg::Join(Join {
        room: Some("s".into()),
        key: None,
    }))
    .await;
    match late.recv().await {
        ServerMsg::Joined(j) => assert_eq!(j.room, "s"),
        other => panic!("expected to join another room, got {other:?}"),
    }

    let members = std::collections::BTreeSet::from([honest.id, second.id]);
    for watch in [honest.finish().await, second.finish().await] {
        watch.assert_steady();
        assert!(!watch.saw(|m| matches!(m, ServerMsg::PlayerJoined(j) if j.id == late.id)));
        assert_eq!(
            watch.seen, members,
            "only the two members were ever in the room"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn wrong_protocol_version_is_told_and_closed() {
    let server = TestServer::start(Config::default()).await;
    let honest = Honest::join(&server, "r").await;
    let mut c = Client::connect(&server).await;
    c.send(ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION + 1,
        name: "future".into(),
    }))
    .await;
    let err = c.recv_error().await;
    assert_error(&err, ErrorCode::VERSION_MISMATCH, Some(0), "future hello");
    assert_eq!(c.recv_close().await.0, 1002);
    honest.finish().await.assert_steady();
    server.stop().await;
}

type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;

/// How long a flooder may take to be closed.
const FLOOD_CLOSE_WITHIN: Duration = Duration::from_secs(3);

/// Sends `frame(n)` for n = 1, 2, ... at about 4000 frames a second until the connection
/// refuses, counting them in `sent`.
fn flood(
    mut sink: Sink,
    sent: Arc<AtomicU32>,
    frame: impl Fn(u32) -> Bytes + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut n = 0;
        loop {
            for _ in 0..20 {
                n += 1;
                if sink.feed(Message::Binary(frame(n))).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
            sent.store(n, Ordering::Relaxed);
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
}

/// Floods from `flooder` and expects it closed with 1008 for flooding; returns how many
/// frames it had sent by then.
async fn flood_until_closed(
    flooder: Client,
    burst: u32,
    frame: impl Fn(u32) -> Bytes + Send + 'static,
) -> u32 {
    let (sink, mut stream) = flooder.ws.split();
    let sent = Arc::new(AtomicU32::new(0));
    let flooding = flood(sink, Arc::clone(&sent), frame);
    let end = ending(&mut stream, FLOOD_CLOSE_WITHIN).await;
    flooding.abort();
    let sent = sent.load(Ordering::Relaxed);
    match end {
        Some(Ending::Closed { code, reason }) => {
            assert_eq!(code, 1008, "{reason}");
            assert!(
                reason.contains("flood"),
                "the reason names the flood: {reason}"
            );
        }
        other => panic!(
            "a flooder that sent {sent} frames was not closed within {FLOOD_CLOSE_WITHIN:?}: \
             {other:?}"
        ),
    }
    assert!(sent > 3 * burst, "it was a flood: {sent} frames");
    sent
}

#[tokio::test]
async fn an_input_flood_is_closed_with_1008() {
    let config = Config {
        input_rate: 120,
        input_burst: 120,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let mut honest = Honest::join(&server, "r").await;
    let (flooder, _) = Client::joined(&server, "flooder", Some("r")).await;
    let id = flooder.id;
    flood_until_closed(flooder, 120, |seq| encode_client(&input(seq, [1.0, 0.0]))).await;
    honest.sees_leave(id).await;
    honest.finish().await.assert_steady();
    server.stop().await;
}

#[tokio::test]
async fn a_ping_flood_is_closed_with_1008() {
    let config = Config {
        message_rate: 20,
        message_burst: 40,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let mut honest = Honest::join(&server, "r").await;
    let (flooder, _) = Client::joined(&server, "pinger", Some("r")).await;
    let id = flooder.id;
    flood_until_closed(flooder, 40, |n| {
        encode_client(&ClientMsg::Ping(Ping {
            client_time: f64::from(n),
        }))
    })
    .await;
    honest.sees_leave(id).await;
    honest.finish().await.assert_steady();
    server.stop().await;
}

#[tokio::test]
async fn a_flood_of_bad_frames_in_the_lobby_is_closed_with_1008() {
    let config = Config {
        message_rate: 20,
        message_burst: 40,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let honest = Honest::join(&server, "r").await;
    let flooder = Client::greeted(&server, "vandal").await;
    flood_until_closed(flooder, 40, |_| Bytes::from_static(b"\xc1\xc1\xc1")).await;
    honest.finish().await.assert_steady();
    server.stop().await;
}

#[tokio::test]
async fn inputs_just_above_the_burst_are_dropped_not_closed() {
    const BURST: u32 = 8;
    const SENT: u32 = BURST + 4;
    let config = Config {
        input_rate: 120,
        input_burst: BURST,
        ..Config::default()
    };
    let server = TestServer::start(config).await;
    let honest = Honest::join(&server, "r").await;
    let (mut c, _) = Client::joined(&server, "eager", Some("r")).await;
    let id = c.id;

    // All in one write, so the room reads them in one tick (two at worst) and the bucket
    // has no time to refill: the first BURST are applied, the rest dropped.
    for seq in 1..=SENT {
        let frame = encode_client(&input(seq, [0.0, 0.0]));
        c.ws.feed(Message::Binary(frame)).await.unwrap();
    }
    c.ws.flush().await.unwrap();
    let (tick, answers) = sync(&mut c).await;
    assert!(answers.is_empty(), "dropped silently: {answers:?}");
    let applied = me(&snapshot_after(&mut c, tick).await, id).last_input_seq;
    assert!(
        (BURST..SENT).contains(&applied),
        "inputs 1..={SENT} sent at once with a burst of {BURST}: the last applied is {applied}"
    );

    // The rest were dropped and counted.
    let dropped = server
        .metric("tickwire_messages_rate_limited_total{kind=\"input\"}")
        .await;
    assert_eq!(dropped, f64::from(SENT - applied));

    // Not closed: a second later (the bucket has refilled) the player still plays.
    for _ in 0..60 {
        let snap = snapshot_without_errors(&mut c).await;
        assert_eq!(me(&snap, id).last_input_seq, applied);
    }
    c.send(input(SENT + 1, [0.0, 0.0])).await;
    acked(&mut c, SENT + 1).await;
    honest.finish().await.assert_steady();
    server.stop().await;
}
