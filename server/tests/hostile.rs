//! Untrusted input, on the in-memory harness: every bad frame and every request out of
//! place gets its error, invalid inputs never reach the game, old sequence numbers are
//! ignored, floods are closed and inputs just over the burst only dropped, a wrong protocol
//! version is told and closed, and a peer from which nothing arrives is closed for
//! idleness. Meanwhile the honest players in the room ([`Watched`]) get one snapshot per
//! tick, with no gap, and every input they send is acknowledged by the next snapshot.
//!
//! These are the server's own decisions (the lobby's, the inbound policy's, the room
//! core's), the same whatever carries the bytes, so they are tested on the harness
//! (`tickwire_server::testing`): on virtual time, so the checks are exact, the real default
//! timeouts cost no wall time, and every run is the same run. What only a real transport
//! can show (text and oversize frames refused by the WebSocket layer, a real client library
//! answering real pings) is in `hostile_transport.rs`.

mod arena;

use std::collections::BTreeSet;
use std::ops::{Deref, DerefMut};
use std::time::{Duration, Instant};

use arena::{Body, facing_steps, input, input_facing};
use bytes::Bytes;
use tickwire_server::Config;
use tickwire_server::testing::{ClientId, Harness};
use tickwire_server::transport::Frame;
use tickwire_shared::InputValue::{self, Bool, Float, Int};
use tickwire_shared::{
    ClientMsg, Error, ErrorCode, Hello, Input, Join, Leave, PROTOCOL_VERSION, Ping, PlayerLeft,
    ServerMsg, encode_client,
};

/// How long any one expected answer may take, in virtual time.
const WAIT: Duration = Duration::from_secs(2);

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// A client's own player as its latest snapshot shows it, with that snapshot's
/// acknowledgement (0: none): the two things an input can change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mine {
    body: Body,
    /// The newest of the client's inputs the room had applied.
    ack: u32,
}

impl Deref for Mine {
    type Target = Body;

    fn deref(&self) -> &Body {
        &self.body
    }
}

/// A hello in this server's protocol version.
fn hello(name: &str) -> ClientMsg {
    ClientMsg::Hello(Hello {
        version: PROTOCOL_VERSION,
        name: name.into(),
    })
}

/// A join of `room`, or a quick-join with `None`; no key.
fn join(room: Option<&str>) -> ClientMsg {
    ClientMsg::Join(Join {
        room: room.map(Into::into),
        key: None,
    })
}

/// A harness with honest players in it: each sends an input before every step taken
/// through here, and [`Watched::assert_steady`] checks at the end how they were served.
///
/// Everything but stepping is the harness's own, through `Deref`. The steps the harness
/// takes by itself (in `greet`, `join` and `resume`) carry no honest input, which the
/// checks allow for: they ask that each snapshot acknowledges every input sent before it.
struct Watched {
    h: Harness,
    honest: Vec<Honest>,
}

/// One honest player.
struct Honest {
    c: ClientId,
    room: String,
    /// When it joined, and watching began.
    joined: Instant,
    /// When each input was sent: seq `i + 1` at `sent[i]`.
    sent: Vec<Instant>,
}

/// The shortest time an honest player is watched for, so that the watch covers what
/// follows an offence as well: a second, 60 ticks.
const MIN_WINDOW: Duration = Duration::from_secs(1);

impl Deref for Watched {
    type Target = Harness;

    fn deref(&self) -> &Harness {
        &self.h
    }
}

impl DerefMut for Watched {
    fn deref_mut(&mut self) -> &mut Harness {
        &mut self.h
    }
}

impl Watched {
    /// A server with `config`, and an honest player ("honest") in room "r".
    fn new(config: Config) -> Self {
        let mut watched = Self {
            h: Harness::new(config),
            honest: Vec::new(),
        };
        watched.watch("honest", "r");
        watched
    }

    /// One more honest player, `name`, in `room`; watched from its join on.
    fn watch(&mut self, name: &str, room: &str) -> ClientId {
        let c = self.h.join(name, Some(room));
        self.honest.push(Honest {
            c,
            room: room.into(),
            joined: self.h.now(),
            sent: Vec::new(),
        });
        c
    }

    /// The honest player watched first.
    fn first_honest(&self) -> ClientId {
        self.honest[0].c
    }

    /// Every honest player sends its next input (half speed, turning slowly, so it circles
    /// near its spawn point), then the harness steps.
    fn step(&mut self) {
        for honest in &mut self.honest {
            let seq = honest.sent.len() as u32 + 1;
            let angle = seq as f32 * 0.05;
            self.h
                .send(honest.c, input(seq, [0.5 * angle.cos(), 0.5 * angle.sin()]));
            honest.sent.push(self.h.now());
        }
        self.h.step();
    }

    /// Steps until `done`; fails the test when `limit` of virtual time passes first.
    fn run_until(&mut self, limit: Duration, mut done: impl FnMut(&Harness) -> bool) {
        let until = self.h.now() + limit;
        while !done(&self.h) {
            assert!(self.h.now() < until, "condition not met within {limit:?}");
            self.step();
        }
    }

    /// Steps until `c` has a message `want` accepts, and takes it.
    fn expect(&mut self, c: ClientId, want: impl Fn(&ServerMsg) -> bool) -> ServerMsg {
        self.run_until(WAIT, |h| h.client(c).inbox.iter().any(&want));
        self.h.client_mut(c).take(want).expect("just seen")
    }

    /// The next error `c` gets.
    fn expect_error(&mut self, c: ClientId) -> Error {
        match self.expect(c, |m| matches!(m, ServerMsg::Error(_))) {
            ServerMsg::Error(err) => err,
            _ => unreachable!(),
        }
    }

    /// Pings from `c` and steps until the pong. Returns the tick the pong names (0 from the
    /// lobby) and everything `c` was sent before it (snapshots aside), taken from its inbox:
    /// all that it sent before the ping has then been read and answered.
    fn sync(&mut self, c: ClientId) -> (u64, Vec<ServerMsg>) {
        const STAMP: f64 = 4242.5;
        let is_pong = |m: &ServerMsg| matches!(m, ServerMsg::Pong(p) if p.client_time == STAMP);
        self.h.send(c, ClientMsg::Ping(Ping { client_time: STAMP }));
        self.run_until(WAIT, |h| h.client(c).inbox.iter().any(is_pong));
        let client = self.h.client_mut(c);
        let mut before = client.take_all();
        let at = before.iter().position(is_pong).expect("just seen");
        let mut after = before.split_off(at);
        let ServerMsg::Pong(pong) = after.remove(0) else {
            unreachable!()
        };
        client.inbox.extend(after);
        (pong.server_tick, before)
    }

    /// Steps to `c`'s next snapshot and returns `c`'s own state in it; fails the test on an
    /// error waiting in `c`'s inbox (nothing sent since the last check earned one).
    fn next_state(&mut self, c: ClientId) -> Mine {
        let seen = self.h.client(c).snapshots.len();
        self.run_until(WAIT, |h| h.client(c).snapshots.len() > seen);
        let errors: Vec<_> = self
            .h
            .client(c)
            .inbox
            .iter()
            .filter(|m| matches!(m, ServerMsg::Error(_)))
            .collect();
        assert!(errors.is_empty(), "unexpected errors: {errors:?}");
        me(&self.h, c)
    }

    /// Steps until the server has applied `c`'s input `seq`; returns `c`'s state then.
    fn acked(&mut self, c: ClientId, seq: u32) -> Mine {
        loop {
            let state = self.next_state(c);
            if state.ack >= seq {
                return state;
            }
        }
    }

    /// Watches on until every honest player was watched for [`MIN_WINDOW`], then checks
    /// they were served throughout: connected, sent no error, one snapshot per tick with
    /// no gap up to the room's last tick, and every snapshot acknowledging every input
    /// sent before it.
    fn assert_steady(&mut self) {
        let until = self.honest.iter().map(|x| x.joined + MIN_WINDOW).max();
        while until.is_some_and(|until| self.h.now() < until) {
            self.step();
        }
        for honest in &self.honest {
            let client = self.h.client(honest.c);
            let who = format!("honest player {}", client.id);
            assert_eq!(client.ended, None, "{who}'s connection ended");
            let errors: Vec<_> = client
                .inbox
                .iter()
                .filter(|m| matches!(m, ServerMsg::Error(_)))
                .collect();
            assert!(errors.is_empty(), "{who} got errors: {errors:?}");
            let seen = &client.snapshots;
            for pair in seen.windows(2) {
                assert_eq!(pair[1].tick, pair[0].tick + 1, "{who}: a gap {pair:?}");
            }
            let room = self.h.room(&honest.room).expect("its room is open");
            assert_eq!(
                seen.last().map(|s| s.tick),
                Some(room.tick()),
                "{who}: served up to the room's last tick"
            );
            for snap in seen {
                let sent = honest.sent.partition_point(|&at| at < snap.at) as u32;
                assert_eq!(
                    snap.acked,
                    (sent > 0).then_some(sent),
                    "{who}: the snapshot of tick {} acknowledges every input sent before it",
                    snap.tick
                );
            }
            let acked = seen.last().and_then(|s| s.acked);
            assert!(acked.is_some(), "{who} played");
        }
    }
}

/// `c`'s own state in the room it holds, and what its latest snapshot acknowledged.
fn me(h: &Harness, c: ClientId) -> Mine {
    let client = h.client(c);
    let body = arena::body(&client.replica, client.id)
        .unwrap_or_else(|| panic!("player {} is not in its own snapshot", client.id));
    let ack = client.last_snapshot().and_then(|s| s.acked).unwrap_or(0);
    Mine { body, ack }
}

/// True when `c` was sent a message `want` accepts (and the test has not taken it).
fn saw(h: &Harness, c: ClientId, want: impl Fn(&ServerMsg) -> bool) -> bool {
    h.client(c).inbox.iter().any(want)
}

fn assert_error(err: &Error, code: ErrorCode, in_reply_to: Option<u8>, what: &str) {
    assert_eq!(
        (err.code, err.in_reply_to),
        (code, in_reply_to),
        "{what}: {}",
        err.message
    );
}

/// Message limits so high that tests about what a frame means never meet the rate limit.
fn unlimited() -> Config {
    Config {
        message_rate: 1_000_000,
        message_burst: 1_000_000,
        ..Config::default()
    }
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
        hello("ana"),
        join(Some("lobby")),
        join(None),
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
        (b"\xc0", None),                             // nil
        (b"\x80", None),                             // an empty map
        (b"\xa5hello", None),                        // a string
        (b"\x91\x00", None),                         // an array of 1
        (b"\x93\x01\x02\x03", None),                 // an array of 3
        (b"\x92\xa1\x01\x90", None),                 // the type is a string
        (b"\x92\xff\x90", None),                     // the type is negative
        (b"\x92\xc3\x90", None),                     // the type is a boolean
        (b"\x92\x00\x90", Some(0)),                  // hello without fields
        (b"\x92\x00\x92\xa1\x31\x01", Some(0)),      // hello with its fields swapped
        (b"\x92\x01\x91\x07", Some(1)),              // join with a number for a room
        (b"\x92\x03\x92\x01\x00", Some(3)),          // input with 2 fields
        (b"\x92\x03\x93\x01\x00\x00", Some(3)),      // input whose values are a number
        (b"\x92\x03\x93\x01\xff\x90", Some(3)),      // input whose view tick is negative
        (b"\x92\x03\x93\x01\x00\x91\xa1x", Some(3)), // input with a string value
        (b"\x92\x03\x93\x01\x00\x91\x90", Some(3)),  // input with an array value
        (b"\x92\x04\x91\xa3now", Some(4)),           // ping with a string
        (b"\x92\x02\x90\x00", Some(2)),              // leave, then a trailing byte
        (b"\x92\x01\x91\xc0\xc0", Some(1)),          // join, then a trailing nil
        // input whose seq does not fit a u32
        (
            b"\x92\x03\x93\xcf\x01\x00\x00\x00\x00\x00\x00\x00\x00\x94\x00\x00\x00\x00",
            Some(3),
        ),
        // input with an integer value beyond i64
        (
            b"\x92\x03\x93\x01\x00\x91\xcf\xff\xff\xff\xff\xff\xff\xff\xff",
            Some(3),
        ),
    ];
    for &(frame, kind) in shapes {
        bad.push(Bad::malformed(frame, kind));
    }

    // Types no client message has (9 is Claim now): the number when it fits a u8, else nil.
    let unknown: &[(&[u8], Option<u8>)] = &[
        (b"\x92\x0a\x90", Some(10)),
        (b"\x92\x0b\x90", Some(11)),
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

/// Sends every bad frame, then takes the answers, which come in order.
fn send_bad_frames_and_check_answers(s: &mut Watched, c: ClientId, bad: &[Bad], place: &str) {
    for b in bad {
        s.send_frame(c, Frame::Binary(Bytes::from(b.frame.clone())));
    }
    for b in bad {
        let err = s.expect_error(c);
        let what = format!("{place}: {:02x?}", b.frame);
        assert_error(&err, b.code, b.in_reply_to, &what);
    }
}

#[test]
fn bad_frames_get_errors_and_the_connection_stays_usable() {
    let mut s = Watched::new(unlimited());
    let honest = s.first_honest();
    let bad = bad_frames();
    assert!(bad.len() > 100, "{} bad frames", bad.len());

    // Before hello, in the lobby.
    let vandal = s.connect();
    send_bad_frames_and_check_answers(&mut s, vandal, &bad, "before hello");
    s.send(vandal, hello("vandal"));
    s.expect(vandal, |m| matches!(m, ServerMsg::Welcome(_)));

    // In the honest player's room.
    s.send(vandal, join(Some("r")));
    s.expect(vandal, |m| matches!(m, ServerMsg::Joined(_)));
    send_bad_frames_and_check_answers(&mut s, vandal, &bad, "in a room");

    // Still connected, served, and in the room.
    let (tick, _) = s.sync(vandal);
    assert!(tick > 0, "the pong comes from the room");
    s.next_state(vandal);
    let honest_id = s.client(honest).id;
    assert!(s.client(vandal).replica.entity(honest_id).is_some());

    s.assert_steady();
    assert!(!saw(&s, honest, |m| matches!(m, ServerMsg::PlayerLeft(_))));
}

/// Inputs the server must refuse with INVALID_VALUE (PROTOCOL.md, "Input"), as the arena's
/// schema (`dx`, `dy`: float within ±1.01; `facing`: angle within ±4π; `buttons`: int
/// 0..=255) and the arena itself (a direction longer than 1.01) refuse them: a NaN or
/// infinite number anywhere, a value out of its range, a value of the wrong type, the
/// wrong number of values.
fn refused_inputs() -> Vec<Vec<InputValue>> {
    let with =
        |dir: [f64; 2], facing: f64| vec![Float(dir[0]), Float(dir[1]), Float(facing), Int(0)];
    let mut refused = Vec::new();
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        refused.extend([
            with([bad, 0.0], 0.0),
            with([0.0, bad], 0.0),
            with([1.0, 0.0], bad),
        ]);
    }
    // Out of the schema's range, then (0.75, 0.75), whose parts are in range but whose
    // length (1.06) the arena refuses.
    for dir in [
        [1e30, 1e30],
        [f64::from(f32::MAX), 0.0],
        [3.0, 4.0],
        [1.02, 0.0],
        [0.0, -1.5],
        [0.75, 0.75],
    ] {
        refused.push(with(dir, 0.0));
    }
    for facing in [13.0, -13.0, 1e30, f64::from(f32::MIN)] {
        refused.push(with([0.0, 0.0], facing));
    }
    // An integer where a float goes is a float, so these are out of range, not mistyped.
    refused.push(vec![Int(2), Float(0.0), Float(0.0), Int(0)]);
    refused.push(vec![Int(i64::MIN), Float(0.0), Float(0.0), Int(0)]);
    // Buttons out of their range, or not an integer.
    for buttons in [Int(-1), Int(256), Float(1.0), Bool(true)] {
        refused.push(vec![Float(0.0), Float(0.0), Float(0.0), buttons]);
    }
    // A flag where a float goes.
    refused.push(vec![Bool(true), Float(0.0), Float(0.0), Int(0)]);
    // Too few values, or too many.
    let mut long = with([0.0, 0.0], 0.0);
    long.push(Int(0));
    refused.extend([vec![], vec![Float(1.0), Float(0.0), Float(0.0)], long]);
    refused
}

/// Sends every refused input from `c` (numbered from `seq` up) and checks each got
/// INVALID_VALUE and was counted as invalid; returns the next free sequence number.
fn send_refused_inputs(s: &mut Watched, c: ClientId, mut seq: u32) -> u32 {
    let refused = refused_inputs();
    let invalid_before = s.metrics().inputs_invalid.get();
    for values in &refused {
        let input = Input {
            seq,
            view_tick: 0,
            values: values.clone(),
        };
        s.send(c, ClientMsg::Input(input));
        seq += 1;
    }
    let (_, answers) = s.sync(c);
    assert_eq!(answers.len(), refused.len(), "{answers:?}");
    for (answer, input) in answers.iter().zip(&refused) {
        let ServerMsg::Error(err) = answer else {
            panic!("expected an error, got {answer:?}");
        };
        let what = format!("input {input:?}");
        assert_error(err, ErrorCode::INVALID_VALUE, Some(3), &what);
    }
    assert_eq!(
        s.metrics().inputs_invalid.get() - invalid_before,
        refused.len() as u64,
        "every refusal counted"
    );
    seq
}

/// +1 or -1: the way along x from `state` toward the middle of the world, so that no wall
/// stops a player running that way during a test.
fn toward_the_middle(state: &Body) -> f32 {
    if state.pos()[0] < 1000.0 { 1.0 } else { -1.0 }
}

#[test]
fn invalid_inputs_are_refused_and_never_reach_the_simulation() {
    let mut s = Watched::new(Config::default());
    let c = s.join("nan", Some("r"));
    let spawned = s.next_state(c);
    assert_eq!((spawned.vel(), spawned.ack), ([0.0, 0.0], 0));

    // From rest: none is applied, so the player stays where it spawned, at rest, facing 0.
    let seq = send_refused_inputs(&mut s, c, 1);
    for _ in 0..10 {
        assert_eq!(s.next_state(c), spawned, "a refused input reached the game");
    }

    // A valid input after them is applied: the snapshots above were not blind.
    let toward = toward_the_middle(&spawned);
    s.send(c, input_facing(seq, [toward, 0.0], 0.5));
    let now = s.acked(c, seq);
    let half_radian = facing_steps(0.5);
    assert_eq!(now.facing, half_radian);
    let applied = seq;

    // While moving: the player keeps acting on its last valid input.
    send_refused_inputs(&mut s, c, seq + 1);
    let mut last = s.next_state(c);
    for _ in 0..10 {
        let now = s.next_state(c);
        assert_eq!((now.ack, now.facing), (applied, half_radian));
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
    s.assert_steady();
}

#[test]
fn a_direction_a_little_over_one_is_scaled_to_top_speed() {
    let mut s = Watched::new(Config::default());
    let c = s.join("speeder", Some("r"));
    let spawned = s.next_state(c);
    // A unit vector with float rounding.
    let toward = toward_the_middle(&spawned);
    let mut speed = 0.0;
    for seq in 1..=60 {
        s.send(c, input(seq, [1.005 * toward, 0.0]));
        let v = s.next_state(c).vel();
        speed = (v[0] * v[0] + v[1] * v[1]).sqrt();
        assert!(speed <= 300.0 + 1e-3, "faster than top speed: {v:?}");
    }
    assert!(speed >= 299.0, "accepted and applied: {speed}");
    s.assert_steady();
}

#[test]
fn old_and_repeated_sequence_numbers_are_ignored() {
    let mut s = Watched::new(Config::default());
    let honest = s.first_honest();
    let c = s.join("rewinder", Some("r"));
    let id = s.client(c).id;
    let toward = toward_the_middle(&s.next_state(c));
    let move_input = |seq, x: f32, facing| input_facing(seq, [x, 0.0], facing);

    s.send(c, move_input(10, toward, 1.0));
    s.acked(c, 10);
    // A repeat and older numbers, each asking for the other way and another facing.
    for seq in [10, 9, 1, 0] {
        s.send(c, move_input(seq, -toward, -2.0));
    }
    let (_, answers) = s.sync(c);
    assert!(answers.is_empty(), "ignored silently: {answers:?}");
    let mut last = s.next_state(c);
    for _ in 0..20 {
        let now = s.next_state(c);
        assert_eq!(now.ack, 10, "the acknowledged seq went back");
        assert_eq!(
            now.facing,
            facing_steps(1.0),
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
    s.send(c, move_input(11, -toward, 2.5));
    let now = s.acked(c, 11);
    assert_eq!(now.facing, facing_steps(2.5));
    let mut turned = false;
    for _ in 0..60 {
        let now = s.next_state(c);
        assert_eq!(now.ack, 11);
        if now.vel()[0] * toward < 0.0 {
            turned = true;
            break;
        }
    }
    assert!(turned, "input 11 reversed the player");

    // Each join starts a fresh sequence.
    s.send(c, ClientMsg::Leave(Leave {}));
    s.expect(
        honest,
        |m| matches!(m, ServerMsg::PlayerLeft(left) if left.id == id),
    );
    s.send(c, join(Some("r")));
    s.expect(c, |m| matches!(m, ServerMsg::Joined(_)));
    s.send(c, move_input(1, 0.0, 0.25));
    let now = s.acked(c, 1);
    assert_eq!((now.ack, now.facing), (1, facing_steps(0.25)));
    s.assert_steady();
}

#[test]
fn requests_out_of_order_are_refused() {
    let mut s = Watched::new(Config::default());
    let honest = s.first_honest();

    // Before hello: everything but hello is BAD_STATE, and says what it answers.
    let c = s.connect();
    for (msg, kind) in [
        (join(None), 1),
        (ClientMsg::Leave(Leave {}), 2),
        (input(1, [1.0, 0.0]), 3),
        (ClientMsg::Ping(Ping { client_time: 1.0 }), 4),
    ] {
        s.send(c, msg);
        let err = s.expect_error(c);
        assert_error(&err, ErrorCode::BAD_STATE, Some(kind), "before hello");
    }
    // A bad name leaves the connection un-greeted, so a better hello is welcome.
    for name in ["", "a\nb", &"x".repeat(33)] {
        s.send(c, hello(name));
        let err = s.expect_error(c);
        assert_error(&err, ErrorCode::INVALID_VALUE, Some(0), name);
    }
    s.send(c, hello("x"));
    s.expect(c, |m| matches!(m, ServerMsg::Welcome(_)));

    // After hello, outside a room.
    s.send(c, hello("again"));
    let err = s.expect_error(c);
    assert_error(&err, ErrorCode::BAD_STATE, Some(0), "second hello");
    s.send(c, input(1, [1.0, 0.0]));
    let err = s.expect_error(c);
    assert_error(
        &err,
        ErrorCode::NOT_IN_ROOM,
        Some(3),
        "input outside a room",
    );
    s.send(c, ClientMsg::Leave(Leave {}));
    let err = s.expect_error(c);
    assert_error(
        &err,
        ErrorCode::NOT_IN_ROOM,
        Some(2),
        "leave outside a room",
    );
    s.send(c, join(Some("no spaces allowed")));
    let err = s.expect_error(c);
    assert_error(&err, ErrorCode::INVALID_VALUE, Some(1), "bad room name");
    assert_eq!(s.sync(c), (0, vec![]), "still usable, still in the lobby");

    s.assert_steady();
    assert!(!saw(&s, honest, |m| matches!(
        m,
        ServerMsg::PlayerJoined(_)
    )));
}

#[test]
fn joining_twice_is_refused_and_the_player_stays_in_its_room() {
    let mut s = Watched::new(Config::default());
    let honest = s.first_honest();
    let c = s.join("twice", Some("r"));
    let id = s.client(c).id;
    for room in [Some("r"), Some("elsewhere"), None] {
        s.send(c, join(room));
    }
    let (tick, answers) = s.sync(c);
    assert!(tick > 0, "the pong comes from the room");
    assert_eq!(answers.len(), 3, "{answers:?}");
    for answer in &answers {
        let ServerMsg::Error(err) = answer else {
            panic!("expected an error, got {answer:?}");
        };
        assert_error(err, ErrorCode::NOT_IN_ROOM, Some(1), "second join");
    }
    // Still in the same room as the honest player, and still playing.
    s.send(c, input(1, [0.0, 0.0]));
    s.acked(c, 1);
    let honest_id = s.client(honest).id;
    assert!(s.client(c).replica.entity(honest_id).is_some());

    s.assert_steady();
    let events = &s.client(honest).inbox;
    let joins = events
        .iter()
        .filter(|m| matches!(m, ServerMsg::PlayerJoined(j) if j.id == id))
        .count();
    assert_eq!(joins, 1, "{events:?}");
    assert!(!saw(&s, honest, |m| matches!(m, ServerMsg::PlayerLeft(_))));
}

#[test]
fn a_full_room_refuses_with_room_full_and_the_connection_stays_usable() {
    let mut s = Watched::new(Config {
        max_room_players: 2,
        ..Config::default()
    });
    let honest = s.first_honest();
    let second = s.watch("second", "r");
    let late = s.greet("late");
    let late_id = s.client(late).id;
    for _ in 0..3 {
        s.send(late, join(Some("r")));
        let err = s.expect_error(late);
        assert_error(&err, ErrorCode::ROOM_FULL, Some(1), "join a full room");
    }
    assert_eq!(
        s.sync(late),
        (0, vec![]),
        "still usable, still in the lobby"
    );
    s.send(late, join(Some("s")));
    match s.expect(late, |m| {
        matches!(m, ServerMsg::Joined(_) | ServerMsg::Error(_))
    }) {
        ServerMsg::Joined(j) => assert_eq!(j.room, "s"),
        other => panic!("expected to join another room, got {other:?}"),
    }

    s.assert_steady();
    let members = BTreeSet::from([s.client(honest).id, s.client(second).id]);
    for c in [honest, second] {
        let client = s.client(c);
        assert!(!saw(
            &s,
            c,
            |m| matches!(m, ServerMsg::PlayerJoined(j) if j.id == late_id)
        ));
        assert!(
            client.snapshots.iter().all(|snap| snap.entities <= 2),
            "only the two members were ever in the room"
        );
        let held: BTreeSet<_> = client.replica.entities().iter().map(|e| e.id).collect();
        assert_eq!(held, members);
    }
}

#[test]
fn wrong_protocol_version_is_told_and_closed_with_1002() {
    let mut s = Watched::new(Config::default());
    let c = s.connect();
    s.send(
        c,
        ClientMsg::Hello(Hello {
            version: PROTOCOL_VERSION + 1,
            name: "future".into(),
        }),
    );
    let err = s.expect_error(c);
    assert_error(&err, ErrorCode::VERSION_MISMATCH, Some(0), "future hello");
    s.run_until(WAIT, |h| h.client(c).ended.is_some());
    assert_eq!(s.client(c).close().map(|(code, _)| code), Some(1002));
    s.assert_steady();
}

/// How long a flooder may take to be closed, in virtual time.
const FLOOD_CLOSE_WITHIN: Duration = Duration::from_secs(3);

/// Frames a flooder sends per step: about 3,800 a second, as fast as the socket tests'
/// flooders did.
const FLOOD_PER_STEP: u32 = 64;

/// Floods `frame(n)` for n = 1, 2, ... from `flooder`, [`FLOOD_PER_STEP`] frames a step,
/// and expects it closed with 1008 for flooding within [`FLOOD_CLOSE_WITHIN`]; `burst` is
/// the limit it floods.
fn flood_until_closed(
    s: &mut Watched,
    flooder: ClientId,
    burst: u32,
    frame: impl Fn(u32) -> Bytes,
) {
    let until = s.now() + FLOOD_CLOSE_WITHIN;
    let mut sent = 0;
    while s.client(flooder).ended.is_none() {
        assert!(
            s.now() < until,
            "a flooder that sent {sent} frames was not closed within {FLOOD_CLOSE_WITHIN:?}"
        );
        for _ in 0..FLOOD_PER_STEP {
            sent += 1;
            s.send_frame(flooder, Frame::Binary(frame(sent)));
        }
        s.step();
    }
    let (code, reason) = s.client(flooder).close().expect("a close frame");
    assert_eq!(code, 1008, "{reason}");
    assert!(
        reason.contains("flood"),
        "the reason names the flood: {reason}"
    );
    assert!(sent > 3 * burst, "it was a flood: {sent} frames");
    let text = s.metrics().encode();
    assert!(
        text.contains("tickwire_connections_closed_total{reason=\"flood\"} 1"),
        "counted as a flood: {text}"
    );
}

/// Steps until the honest player is told that `c` left.
fn honest_sees_leave(s: &mut Watched, c: ClientId) {
    let id = s.client(c).id;
    let honest = s.first_honest();
    s.expect(
        honest,
        |m| matches!(m, ServerMsg::PlayerLeft(left) if left.id == id),
    );
}

#[test]
fn an_input_flood_is_closed_with_1008() {
    let mut s = Watched::new(Config {
        input_rate: 120,
        input_burst: 120,
        ..Config::default()
    });
    let flooder = s.join("flooder", Some("r"));
    flood_until_closed(&mut s, flooder, 120, |seq| {
        encode_client(&input(seq, [1.0, 0.0]))
    });
    honest_sees_leave(&mut s, flooder);
    s.assert_steady();
}

#[test]
fn a_ping_flood_is_closed_with_1008() {
    let mut s = Watched::new(Config {
        message_rate: 20,
        message_burst: 40,
        ..Config::default()
    });
    let flooder = s.join("pinger", Some("r"));
    flood_until_closed(&mut s, flooder, 40, |n| {
        encode_client(&ClientMsg::Ping(Ping {
            client_time: f64::from(n),
        }))
    });
    honest_sees_leave(&mut s, flooder);
    s.assert_steady();
}

#[test]
fn a_flood_of_bad_frames_in_the_lobby_is_closed_with_1008() {
    let mut s = Watched::new(Config {
        message_rate: 20,
        message_burst: 40,
        ..Config::default()
    });
    let flooder = s.greet("vandal");
    flood_until_closed(&mut s, flooder, 40, |_| Bytes::from_static(b"\xc1\xc1\xc1"));
    s.assert_steady();
}

#[test]
fn inputs_just_above_the_burst_are_dropped_not_closed() {
    const BURST: u32 = 8;
    const SENT: u32 = BURST + 4;
    let mut s = Watched::new(Config {
        input_rate: 120,
        input_burst: BURST,
        ..Config::default()
    });
    let c = s.join("eager", Some("r"));

    // All at once, so the room reads them in one tick and the bucket has no time to
    // refill: the first BURST are applied, the rest dropped.
    for seq in 1..=SENT {
        s.send(c, input(seq, [0.0, 0.0]));
    }
    let (_, answers) = s.sync(c);
    assert!(answers.is_empty(), "dropped silently: {answers:?}");
    let applied = s.next_state(c).ack;
    assert_eq!(
        applied, BURST,
        "inputs 1..={SENT} at once with a burst of {BURST}"
    );

    // The rest were dropped and counted.
    let text = s.metrics().encode();
    let dropped = format!(
        "tickwire_messages_rate_limited_total{{kind=\"input\"}} {}",
        SENT - applied
    );
    assert!(text.contains(&dropped), "{dropped}: {text}");

    // Not closed: a second later (the bucket has refilled) the player still plays.
    for _ in 0..60 {
        assert_eq!(s.next_state(c).ack, applied);
    }
    s.send(c, input(SENT + 1, [0.0, 0.0]));
    s.acked(c, SENT + 1);
    s.assert_steady();
}

#[test]
fn a_silent_player_is_closed_for_idleness_and_the_room_told_while_an_answering_one_stays() {
    // The real defaults: pings every 5 s, closed after 15 s of silence, seat kept 10 s.
    let config = Config::default();
    let idle = ms(config.idle_timeout_ms);
    let grace = ms(config.resume_grace_ms);
    let mut h = Harness::new(config);
    let sleeper = h.join("sleeper", Some("r"));
    // Reads, but its pongs never come: nothing at all arrives from it from here on.
    h.pipe_mut(sleeper).answers_pings = false;
    let last_heard = h.elapsed();
    // Sends nothing either, but its pongs do arrive.
    let quiet = h.join("quiet", Some("r"));
    let sleeper_id = h.client(sleeper).id;

    h.run_until(idle + ms(100), |h| h.client(sleeper).ended.is_some());
    let closed_at = h.elapsed();
    assert!(closed_at - last_heard >= idle, "closed after {closed_at:?}");
    let (code, reason) = h.client(sleeper).close().expect("a close frame");
    assert_eq!(code, 1008);
    assert!(reason.contains("idle"), "{reason}");

    // Kept away for its resume grace, then the room is told.
    let left = PlayerLeft {
        id: sleeper_id,
        name: "sleeper".into(),
    };
    h.run_until(grace + ms(100), |h| {
        h.client(quiet)
            .inbox
            .contains(&ServerMsg::PlayerLeft(left.clone()))
    });
    assert!(
        h.elapsed() - closed_at >= grace,
        "told at {:?}",
        h.elapsed()
    );

    // Well past the idle timeout (twice over), the answering player is still in the room,
    // alone.
    h.run_for(2 * idle);
    let client = h.client(quiet);
    assert_eq!(client.ended, None);
    assert_eq!(client.last_snapshot().map(|s| s.entities), Some(1));
    assert_eq!(client.replica.entities()[0].id, client.id);
    assert_eq!(h.room("r").map(|r| (r.members(), r.away())), Some((1, 0)));
}

#[test]
fn a_connection_that_never_says_hello_is_closed_at_the_hello_timeout_pongs_or_not() {
    let config = Config::default();
    let hello = ms(config.hello_timeout_ms);
    assert!(
        hello < ms(config.idle_timeout_ms),
        "the hello timeout comes first"
    );
    let mut h = Harness::new(config);
    // One answers the server's pings, the other does not: neither has greeted.
    let polite = h.connect();
    let mute = h.connect();
    h.pipe_mut(mute).answers_pings = false;
    h.run_until(hello + ms(100), |h| {
        h.client(polite).ended.is_some() && h.client(mute).ended.is_some()
    });
    assert!(h.elapsed() >= hello, "closed after {:?}", h.elapsed());
    for c in [polite, mute] {
        let (code, reason) = h.client(c).close().expect("a close frame");
        assert_eq!(code, 1008);
        assert!(reason.starts_with("no hello"), "{reason}");
    }
}
