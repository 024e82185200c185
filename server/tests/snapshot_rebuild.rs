//! Rebuilding the room from keyframes and deltas, for thousands of ticks.
//!
//! A deterministic harness drives the real game and the real snapshot encoder, with fake
//! clients that decode every snapshot with `Replica` (what any client does). Players
//! join, leave, drop (their player stays, away) and resume on a new connection; sockets
//! block at random, so some snapshots are replaced in the outbox before they go out.
//! Invariant, checked after every snapshot a client receives: it applies without error
//! (hash included) and the client holds exactly the server's state, every player equal
//! field by field, or, with a view radius, exactly the players within the radius.

use bytes::Bytes;
use glam::Vec2;
use tickwire_server::game::{Arena, ArenaRules, Game, ValidInput};
use tickwire_server::snapshot::{ClientView, EncoderRules, SnapshotEncoder, SnapshotKind};
use tickwire_shared::{Input, PlayerId, PlayerState, Replica, ServerMsg};

const TICK_RATE: u16 = 60;

/// xorshift64*: a fixed seed gives the same run every time.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn angle(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32 * std::f32::consts::TAU
    }
}

/// One connection, as the server's outbox and the client's decoder see it.
struct FakeClient {
    id: PlayerId,
    view: ClientView,
    replica: Replica,
    /// The tick of the last snapshot that went out to the socket.
    sent: Option<u64>,
    /// A snapshot queued but not out yet (the socket was full).
    pending: Option<(u64, Bytes)>,
    angle: f32,
    seq: u32,
}

impl FakeClient {
    fn new(id: PlayerId, angle: f32) -> Self {
        Self {
            id,
            view: ClientView::default(),
            replica: Replica::new(),
            sent: None,
            pending: None,
            angle,
            seq: 0,
        }
    }
}

#[derive(Debug, Default)]
struct Tally {
    keyframes: u64,
    deltas: u64,
    replaced: u64,
    checked: u64,
    joins: u64,
    leaves: u64,
    drops: u64,
    resumes: u64,
}

/// What the client should hold: the whole frame, or the part within `radius` of itself.
fn expected(encoder: &SnapshotEncoder, own: PlayerId, radius: Option<f32>) -> Vec<PlayerState> {
    let frame = encoder.frame();
    let mut out: Vec<PlayerState> = match radius {
        None => frame.players.clone(),
        Some(r) => {
            let me = frame.index[&own] as usize;
            let center = frame.positions[me];
            frame
                .players
                .iter()
                .zip(&frame.positions)
                .filter(|(p, pos)| p.id == own || pos.distance(center) <= r)
                .map(|(p, _)| *p)
                .collect()
        }
    };
    out.sort_by_key(|p| p.id);
    out
}

fn run(seed: u64, ticks: u64, send_every: u64, radius: Option<f32>) -> Tally {
    let mut rng = Rng(seed);
    let mut arena = Arena::new(ArenaRules::default());
    let mut encoder = SnapshotEncoder::new(EncoderRules {
        tick_rate: TICK_RATE,
        keyframe_interval: 60,
        view_radius: radius,
    });
    let mut clients: Vec<FakeClient> = Vec::new();
    let mut away: Vec<PlayerId> = Vec::new();
    let mut next_id: PlayerId = 1;
    let mut tally = Tally::default();
    for _ in 0..40 {
        arena.handle_join(next_id);
        clients.push(FakeClient::new(next_id, rng.angle()));
        next_id += 1;
    }
    for tick in 1..=ticks {
        // Membership changes, as the room applies them between ticks.
        if rng.chance(0.03) && clients.len() < 60 {
            arena.handle_join(next_id);
            clients.push(FakeClient::new(next_id, rng.angle()));
            next_id += 1;
            tally.joins += 1;
        }
        if rng.chance(0.02) && clients.len() > 5 {
            let gone = clients.swap_remove(rng.below(clients.len()));
            arena.handle_leave(gone.id);
            tally.leaves += 1;
        }
        if rng.chance(0.02) && clients.len() > 5 {
            let lost = clients.swap_remove(rng.below(clients.len()));
            arena.handle_away(lost.id);
            away.push(lost.id);
            tally.drops += 1;
        }
        if !away.is_empty() && rng.chance(0.03) {
            // Back on a new connection: nothing held, nothing sent yet.
            let id = away.swap_remove(rng.below(away.len()));
            clients.push(FakeClient::new(id, rng.angle()));
            tally.resumes += 1;
        }
        for c in &mut clients {
            c.seq += 1;
            c.angle = (c.angle + (rng.angle() - std::f32::consts::PI) * 0.05)
                .rem_euclid(std::f32::consts::TAU);
            let input = Input {
                seq: c.seq,
                dir: [c.angle.cos(), c.angle.sin()],
                facing: c.angle,
                buttons: 0,
            };
            // Now and then a player stands still, so unchanged records are exercised too.
            let input = if c.seq % 200 < 20 {
                Input {
                    dir: [0.0, 0.0],
                    ..input
                }
            } else {
                input
            };
            let input = ValidInput::new(&input).expect("the harness sends valid inputs");
            arena.handle_input(c.id, &input);
        }
        arena.step(1.0 / f32::from(TICK_RATE));
        if tick % send_every != 0 {
            continue;
        }
        encoder.begin(&arena, tick, 1_700_000_000_000 + tick * 16);
        for c in &mut clients {
            let (bytes, kind) = encoder.for_client(c.sent, &mut c.view, c.id);
            match kind {
                SnapshotKind::Keyframe => tally.keyframes += 1,
                SnapshotKind::Delta => tally.deltas += 1,
            }
            if c.pending.replace((tick, bytes)).is_some() {
                tally.replaced += 1;
            }
            // One socket in ten is full this tick: the snapshot waits, and may be replaced.
            if rng.chance(0.1) {
                continue;
            }
            let Some((sent_tick, bytes)) = c.pending.take() else {
                continue;
            };
            c.sent = Some(sent_tick);
            let Ok(ServerMsg::Snapshot(snap)) = ServerMsg::decode(&bytes) else {
                panic!("tick {tick}: not a snapshot");
            };
            if let Err(err) = c.replica.apply(&snap, TICK_RATE) {
                panic!("tick {tick}, player {}: {err} ({kind:?})", c.id);
            }
            let mut held = c.replica.players().to_vec();
            held.sort_by_key(|p| p.id);
            assert_eq!(
                held,
                expected(&encoder, c.id, radius),
                "tick {tick}, player {}",
                c.id
            );
            tally.checked += 1;
        }
    }
    tally
}

#[test]
fn everyone_holds_the_servers_state_through_churn() {
    let t = run(7, 3_000, 1, None);
    eprintln!("{t:?}");
    assert!(t.checked > 90_000, "checked {}", t.checked);
    // The run really exercised what it claims to. One socket in ten is full at each
    // snapshot, and the snapshot after a replaced one is a keyframe: about one in eight.
    assert!(
        t.deltas > 5 * t.keyframes,
        "{} deltas, {} keyframes",
        t.deltas,
        t.keyframes
    );
    for (what, n) in [
        ("replaced", t.replaced),
        ("joins", t.joins),
        ("leaves", t.leaves),
        ("drops", t.drops),
        ("resumes", t.resumes),
    ] {
        assert!(n > 15, "{what}: only {n}");
    }
}

#[test]
fn deltas_over_several_ticks_rebuild_exactly_too() {
    let t = run(11, 4_500, 3, None);
    eprintln!("{t:?}");
    assert!(t.checked > 50_000 && t.deltas > 5 * t.keyframes);
}

#[test]
fn each_client_holds_exactly_the_players_in_its_view() {
    // 40 to 60 players in a 2000-unit world: a radius of 400 sees a handful, with
    // players walking in and out of view all the time.
    let t = run(13, 3_000, 1, Some(400.0));
    eprintln!("{t:?}");
    assert!(t.checked > 100_000 && t.deltas > 5 * t.keyframes);
}

#[test]
fn a_client_that_missed_a_snapshot_gets_a_keyframe_and_never_a_wrong_delta() {
    // Every snapshot goes through a full socket once: the next must not be a delta.
    let mut arena = Arena::new(ArenaRules::default());
    arena.handle_join(1);
    arena.handle_join(2);
    let mut encoder = SnapshotEncoder::new(EncoderRules {
        tick_rate: TICK_RATE,
        keyframe_interval: 1000,
        view_radius: None,
    });
    let mut view = ClientView::default();
    encoder.begin(&arena, 1, 0);
    assert_eq!(
        encoder.for_client(None, &mut view, 1).1,
        SnapshotKind::Keyframe
    );
    arena.step(1.0 / 60.0);
    encoder.begin(&arena, 2, 0);
    assert_eq!(
        encoder.for_client(Some(1), &mut view, 1).1,
        SnapshotKind::Delta
    );
    // Tick 2's snapshot never went out (still Some(1)): tick 3's is a keyframe.
    arena.step(1.0 / 60.0);
    encoder.begin(&arena, 3, 0);
    assert_eq!(
        encoder.for_client(Some(1), &mut view, 1).1,
        SnapshotKind::Keyframe
    );
    arena.place(2, Vec2::new(5.0, 5.0));
    arena.step(1.0 / 60.0);
    encoder.begin(&arena, 4, 0);
    assert_eq!(
        encoder.for_client(Some(3), &mut view, 1).1,
        SnapshotKind::Delta
    );
}
