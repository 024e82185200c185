//! The client's side of snapshots: `Replica::apply` against crafted and generated snapshots.
//!
//! Invariants, for any sequence of snapshots and any tick rate:
//!
//! - `apply` never panics, whatever the snapshot holds.
//! - A well-formed keyframe is accepted in any state, and replaces whatever was held.
//! - A delta is applied only to the state of its `base_tick`. When the replica holds
//!   another tick, or nothing, or the delta's `tick` is not after its base, the delta is
//!   refused with `MissingBase` and the replica is left exactly as it was (same tick, same
//!   players in the same order).
//! - After a snapshot is applied, `tick()` is its tick; `players()` is the base's players
//!   less `removed`, in the base's order, each changed by its record, then `added` in
//!   order (for a keyframe, `added` alone); and the state hash of `players()` is the
//!   snapshot's `state_hash`.
//! - After any other error (`UnknownRemoved`, `DuplicateAdded`, `BadChanges`,
//!   `HashMismatch`), the replica holds nothing: `tick()` is `None`, there are no players,
//!   and every delta is refused with `MissingBase { held: None }` until a keyframe comes.
//! - A replica fed what a server sends (each state as a keyframe, or as a delta against the
//!   state the client holds, written by the reference encoder below) holds exactly the
//!   server's state for that client after every snapshot, in the order PROTOCOL.md gives.

use proptest::prelude::*;
use proptest::sample::Index;
use tickwire_shared::changes::predict;
use tickwire_shared::quant::wrap_facing;
use tickwire_shared::{PlayerState, Replica, ReplicaError, ServerMsg, Snapshot, encode_server};

const RATE: u16 = 60;

// The server's side: shared's reference encoder (`Snapshot::keyframe`, `Snapshot::delta`),
// and the list a client should then hold, worked out here on its own.

/// A keyframe of `now` at `tick`, and the list the client holds once it is applied.
fn keyframe(now: &[PlayerState], tick: u64) -> (Snapshot, Vec<PlayerState>) {
    let time = 1_700_000_000_000u64.wrapping_add(tick);
    (Snapshot::keyframe(tick, time, now.to_vec()), now.to_vec())
}

/// The delta from `base` (what the client holds, in its order, at `base_tick`) to `now`
/// (the server's state for this client at `tick`, in any order), and the list the client
/// holds once it is applied: the base's survivors in the base's order, then the newcomers
/// in `now`'s order.
fn delta(
    base: &[PlayerState],
    base_tick: u64,
    now: &[PlayerState],
    tick: u64,
    tick_rate: u16,
) -> (Snapshot, Vec<PlayerState>) {
    let time = 1_700_000_000_000u64.wrapping_add(tick);
    let snap = Snapshot::delta((base_tick, base), (tick, now), tick_rate, time);
    let survivors = base
        .iter()
        .filter_map(|b| now.iter().find(|p| p.id == b.id));
    let held = survivors.chain(&snap.added).copied().collect();
    (snap, held)
}

fn player(id: u32, x: i32, y: i32) -> PlayerState {
    PlayerState {
        id,
        x,
        y,
        vx: 0,
        vy: 0,
        facing: 0,
        last_input_seq: 0,
    }
}

/// Two players at tick 100; 7 walks along +x at 300 units/s.
fn room_at_100() -> Vec<PlayerState> {
    vec![
        player(3, 25_000, 75_050),
        PlayerState {
            vx: 300,
            facing: 5,
            last_input_seq: 40,
            ..player(7, 100_000, 50_000)
        },
    ]
}

/// The room `ticks` ticks after `room_at_100`: 7 has walked on, input by input.
fn room_after(ticks: u64) -> Vec<PlayerState> {
    let mut room = room_at_100();
    room[1].x = predict(room[1].x, room[1].vx, ticks, RATE) as i32;
    room[1].last_input_seq += ticks as u32;
    room
}

/// A replica holding `room_at_100()` at tick 100.
fn primed() -> Replica {
    let mut replica = Replica::new();
    replica
        .apply(&keyframe(&room_at_100(), 100).0, RATE)
        .expect("a keyframe applies");
    replica
}

/// The valid delta from the primed state to tick 101.
fn delta_to_101() -> Snapshot {
    delta(&room_at_100(), 100, &room_after(1), 101, RATE).0
}

/// After an error other than `MissingBase`: nothing is held, a delta that was good for the
/// old state is refused, and the next keyframe is accepted.
fn assert_dropped(replica: &mut Replica) {
    assert_eq!(replica.tick(), None);
    assert_eq!(replica.players(), []);
    assert_eq!(
        replica.apply(&delta_to_101(), RATE),
        Err(ReplicaError::MissingBase {
            base: 100,
            held: None
        })
    );
    let (snap, held) = keyframe(&room_after(2), 102);
    assert_eq!(replica.apply(&snap, RATE), Ok(()));
    assert_eq!(replica.tick(), Some(102));
    assert_eq!(replica.players(), held);
}

/// Applies `snap` to a primed replica, expects `err`, then checks the replica was dropped.
fn assert_refused_and_dropped(snap: &Snapshot, err: ReplicaError) {
    let mut replica = primed();
    assert_eq!(replica.apply(snap, RATE), Err(err), "{snap:?}");
    assert_dropped(&mut replica);
}

#[test]
fn the_helpers_make_valid_snapshots() {
    let mut replica = primed();
    assert_eq!(replica.players(), room_at_100());
    assert_eq!(replica.apply(&delta_to_101(), RATE), Ok(()));
    assert_eq!(replica.players(), room_after(1));
    // Player 3 still (1 bit), player 7 steady, seq + 1 (10 bits): 11 bits, 2 bytes.
    // 0 | 1 00 00 0 0 00 1, then padding: changed, vx and vy the same (`00`), x and y
    // as predicted (`0`), no turn (`00`), one more input (`1`).
    assert_eq!(delta_to_101().changes, [0b0100_0000, 0b0010_0000]);
}

/// A player that keeps its velocity and moves exactly as predicted has changed: its record
/// says so (11 bits, not the 1 of "unchanged"), and the replica moves it. (A record of "0"
/// here once left the player where it was.)
#[test]
fn a_steady_walker_is_not_unchanged() {
    let now = room_after(1);
    let still_seq = [
        now[0],
        PlayerState {
            last_input_seq: 40,
            ..now[1]
        },
    ];
    let (snap, held) = delta(&room_at_100(), 100, &still_seq, 101, RATE);
    // 0 | 1 00 00 0 0 00 00, then padding.
    assert_eq!(snap.changes, [0b0100_0000, 0b0000_0000]);
    let mut replica = primed();
    assert_eq!(replica.apply(&snap, RATE), Ok(()));
    assert_eq!(replica.players(), held);
    assert_eq!(replica.players()[1].x, 100_500);
}

#[test]
fn missing_base_is_ignored_and_changes_nothing() {
    // Nothing held yet.
    let mut fresh = Replica::new();
    assert_eq!(
        fresh.apply(&delta_to_101(), RATE),
        Err(ReplicaError::MissingBase {
            base: 100,
            held: None
        })
    );
    assert_eq!((fresh.tick(), fresh.players()), (None, &[][..]));

    // Holding tick 100: a delta from an older tick, from a newer one, and one that does not
    // come after its own base.
    let mut replica = primed();
    let from_99 = Snapshot {
        base_tick: Some(99),
        ..delta_to_101()
    };
    let from_101 = Snapshot {
        tick: 102,
        base_tick: Some(101),
        ..delta_to_101()
    };
    let not_after_base = Snapshot {
        tick: 100,
        ..delta_to_101()
    };
    for (snap, base) in [(from_99, 99), (from_101, 101), (not_after_base, 100)] {
        assert_eq!(
            replica.apply(&snap, RATE),
            Err(ReplicaError::MissingBase {
                base,
                held: Some(100)
            })
        );
        assert_eq!(replica.tick(), Some(100));
        assert_eq!(replica.players(), room_at_100());
    }
    // The state was kept, so the right delta still applies.
    assert_eq!(replica.apply(&delta_to_101(), RATE), Ok(()));
    assert_eq!(replica.players(), room_after(1));
}

#[test]
fn unknown_removed_drops_the_copy() {
    // 99 was never there; the error names it, not 3 (which is there).
    let snap = Snapshot {
        removed: vec![3, 99],
        ..delta_to_101()
    };
    assert_refused_and_dropped(&snap, ReplicaError::UnknownRemoved(99));
    // Removed twice: the second time it is not there any more.
    let snap = Snapshot {
        removed: vec![3, 3],
        ..delta_to_101()
    };
    assert_refused_and_dropped(&snap, ReplicaError::UnknownRemoved(3));
    // A keyframe has no base, so it cannot remove anyone.
    let snap = Snapshot {
        removed: vec![3],
        ..keyframe(&room_at_100(), 101).0
    };
    assert_refused_and_dropped(&snap, ReplicaError::UnknownRemoved(3));
}

#[test]
fn duplicate_added_drops_the_copy() {
    // 7 is in the base and not removed.
    let snap = Snapshot {
        added: vec![player(7, 0, 0)],
        ..delta_to_101()
    };
    assert_refused_and_dropped(&snap, ReplicaError::DuplicateAdded(7));
    // The same player twice in a keyframe.
    let twice = [player(4, 0, 0), player(5, 1, 1), player(4, 2, 2)];
    let snap = keyframe(&twice, 101).0;
    assert_refused_and_dropped(&snap, ReplicaError::DuplicateAdded(4));
}

#[test]
fn bad_changes_drop_the_copy() {
    let bad = |changes: Vec<u8>, keyframe: Option<Snapshot>| {
        let snap = Snapshot {
            changes,
            ..keyframe.unwrap_or_else(delta_to_101)
        };
        let mut replica = primed();
        let err = replica.apply(&snap, RATE).expect_err("bad changes");
        assert!(matches!(err, ReplicaError::BadChanges(_)), "{err}");
        assert_dropped(&mut replica);
        err.to_string()
    };
    // Two players' records, but no bits at all.
    bad(vec![], None);
    // Player 3 unchanged, player 7 changed: its bits run out where facing's prefix
    // should begin: 0 | 1 00 00 0 0, and nothing more.
    let err = bad(vec![0b0100_0000], None);
    assert!(!err.contains("left over"), "{err}");
    // Player 3 unchanged, player 7: vx `011`, a 32-bit value, of which only 11 bits come:
    // 0 | 1 011 000 00000000. (Any string of bits is a string of valid prefixes, so
    // changes that are no records are cut short, or too long.)
    let err = bad(vec![0b0101_1000, 0b0000_0000], None);
    assert!(!err.contains("left over"), "{err}");
    // Both players unchanged (`0`, `0`), then a whole byte of padding too many.
    let err = bad(vec![0, 0], None);
    assert!(err.contains("1 bytes left over"), "{err}");
    // Both records and a byte more.
    let mut long = delta_to_101().changes;
    long.push(0);
    let err = bad(long, None);
    assert!(err.contains("1 bytes left over"), "{err}");
    // A keyframe's changes are empty.
    let err = bad(vec![0], Some(keyframe(&room_at_100(), 101).0));
    assert!(err.contains("1 bytes left over"), "{err}");
}

#[test]
fn hash_mismatch_drops_the_copy() {
    let good = delta_to_101();
    let snap = Snapshot {
        state_hash: good.state_hash ^ 1,
        ..good.clone()
    };
    assert_refused_and_dropped(
        &snap,
        ReplicaError::HashMismatch {
            server: good.state_hash ^ 1,
            rebuilt: good.state_hash,
        },
    );
    let (good, _) = keyframe(&room_after(1), 101);
    let snap = Snapshot {
        state_hash: !good.state_hash,
        ..good.clone()
    };
    assert_refused_and_dropped(
        &snap,
        ReplicaError::HashMismatch {
            server: !good.state_hash,
            rebuilt: good.state_hash,
        },
    );
}

/// The server sent a delta for tick 101 that this client never got (its own bug, or a
/// lost frame): every delta after it is refused, the state stays that of tick 100, and the
/// next keyframe brings the client back.
#[test]
fn a_delta_on_a_skipped_base_is_refused_until_a_keyframe() {
    let mut replica = primed();
    let _lost = delta(&room_at_100(), 100, &room_after(1), 101, RATE);
    let mut held = room_after(1);
    for tick in [102, 103] {
        let (snap, next) = delta(&held, tick - 1, &room_after(tick - 100), tick, RATE);
        assert_eq!(
            replica.apply(&snap, RATE),
            Err(ReplicaError::MissingBase {
                base: tick - 1,
                held: Some(100)
            })
        );
        assert_eq!(replica.tick(), Some(100));
        assert_eq!(replica.players(), room_at_100());
        held = next;
    }
    let (snap, held) = keyframe(&room_after(4), 104);
    assert_eq!(replica.apply(&snap, RATE), Ok(()));
    assert_eq!(replica.players(), held);
    let (snap, held) = delta(&held, 104, &room_after(5), 105, RATE);
    assert_eq!(replica.apply(&snap, RATE), Ok(()));
    assert_eq!(replica.tick(), Some(105));
    assert_eq!(replica.players(), held);
}

/// A hostile tick gap makes the prediction's arithmetic wrap: 200 · T + 60 is past
/// `i64::MAX` for this T (200 · T ≡ 2⁶³ − 8 mod 2⁶⁴). Both sides wrap the same way, so the
/// delta still applies, and nothing panics.
#[test]
fn a_huge_tick_gap_wraps_without_panicking() {
    const T: u64 = 46_116_860_184_273_879;
    assert_eq!(200u64.wrapping_mul(T), (1 << 63) - 8);
    let mut now = room_at_100();
    now[0].vx = 1;
    now[0].x = predict(now[0].x, 1, T, RATE) as i32;
    let (snap, held) = delta(&room_at_100(), 100, &now, 100 + T, RATE);
    let mut replica = primed();
    assert_eq!(replica.apply(&snap, RATE), Ok(()));
    assert_eq!(replica.players(), held);
    // And at the very end of time.
    let (snap, _) = delta(&held, 100 + T, &held, u64::MAX, RATE);
    assert_eq!(replica.apply(&snap, RATE), Ok(()));
}

// Generated rooms: players join and leave, walk, jump, turn and send inputs.

#[derive(Debug, Clone)]
enum VelMove {
    Same,
    /// Added to the velocity: small enough for 6 bits, or needing 16, or more; on both
    /// axes or on one (each axis has its own code).
    By(i32, i32),
    /// Anything at all.
    To(i32, i32),
}

#[derive(Debug, Clone)]
enum PosMove {
    /// Exactly where the prediction puts it.
    Predicted,
    /// Off the prediction by this much: a few steps (4 bits), a push (10 bits), or more;
    /// on both axes or on one (a player pushed along a wall).
    Off(i32, i32),
    /// Anywhere: a teleport.
    To(i32, i32),
}

#[derive(Debug, Clone)]
enum FacingMove {
    Same,
    /// Any turn, wrapped: small ones (6 bits), large ones, and past ±512.
    Turn(i32),
    To(i32),
}

#[derive(Debug, Clone)]
enum SeqMove {
    Same,
    Next,
    Plus(u32),
    /// Any number, backwards too.
    To(u32),
}

#[derive(Debug, Clone)]
struct Move {
    vel: VelMove,
    pos: PosMove,
    facing: FacingMove,
    seq: SeqMove,
}

impl Move {
    fn apply(&self, p: &PlayerState, ticks: u64, tick_rate: u16) -> PlayerState {
        let (vx, vy) = match self.vel {
            VelMove::Same => (p.vx, p.vy),
            VelMove::By(dx, dy) => (p.vx.wrapping_add(dx), p.vy.wrapping_add(dy)),
            VelMove::To(x, y) => (x, y),
        };
        let px = predict(p.x, vx, ticks, tick_rate) as i32;
        let py = predict(p.y, vy, ticks, tick_rate) as i32;
        let (x, y) = match self.pos {
            PosMove::Predicted => (px, py),
            PosMove::Off(rx, ry) => (px.wrapping_add(rx), py.wrapping_add(ry)),
            PosMove::To(x, y) => (x, y),
        };
        let facing = match self.facing {
            FacingMove::Same => p.facing,
            FacingMove::Turn(turn) => wrap_facing(p.facing.wrapping_add(turn)),
            FacingMove::To(facing) => facing,
        };
        let last_input_seq = match self.seq {
            SeqMove::Same => p.last_input_seq,
            SeqMove::Next => p.last_input_seq.wrapping_add(1),
            SeqMove::Plus(d) => p.last_input_seq.wrapping_add(d),
            SeqMove::To(seq) => seq,
        };
        PlayerState {
            id: p.id,
            x,
            y,
            vx,
            vy,
            facing,
            last_input_seq,
        }
    }
}

/// A facing as the server sends it, edges often.
fn any_facing() -> impl Strategy<Value = i32> {
    prop_oneof![
        3 => -511..=512i32,
        1 => prop::sample::select(vec![512, -511, 511, 0, 256, -256]),
    ]
}

fn any_move() -> impl Strategy<Value = Move> {
    let vel = prop_oneof![
        3 => Just(VelMove::Same),
        4 => (-32..32i32, -32..32i32).prop_map(|(x, y)| VelMove::By(x, y)),
        2 => (-40..40i32, any::<bool>())
            .prop_map(|(d, on_x)| if on_x { VelMove::By(d, 0) } else { VelMove::By(0, d) }),
        1 => (-600..600i32, -600..600i32).prop_map(|(x, y)| VelMove::By(x, y)),
        1 => (-40_000..40_000i32, -40_000..40_000i32).prop_map(|(x, y)| VelMove::By(x, y)),
        1 => (any::<i32>(), any::<i32>()).prop_map(|(x, y)| VelMove::To(x, y)),
    ];
    let pos = prop_oneof![
        3 => Just(PosMove::Predicted),
        4 => (-8..8i32, -8..8i32).prop_map(|(x, y)| PosMove::Off(x, y)),
        2 => (-600..600i32, any::<bool>())
            .prop_map(|(r, on_x)| if on_x { PosMove::Off(r, 0) } else { PosMove::Off(0, r) }),
        1 => (-600..600i32, -600..600i32).prop_map(|(x, y)| PosMove::Off(x, y)),
        1 => (-40_000..40_000i32, -40_000..40_000i32).prop_map(|(x, y)| PosMove::Off(x, y)),
        1 => (any::<i32>(), any::<i32>()).prop_map(|(x, y)| PosMove::To(x, y)),
    ];
    let facing = prop_oneof![
        3 => Just(FacingMove::Same),
        3 => (-40..40i32).prop_map(FacingMove::Turn),
        1 => (-1100..1100i32).prop_map(FacingMove::Turn),
        1 => any_facing().prop_map(FacingMove::To),
    ];
    let seq = prop_oneof![
        3 => Just(SeqMove::Same),
        3 => Just(SeqMove::Next),
        1 => (2..400u32).prop_map(SeqMove::Plus),
        1 => any::<u32>().prop_map(SeqMove::To),
    ];
    (vel, pos, facing, seq).prop_map(|(vel, pos, facing, seq)| Move {
        vel,
        pos,
        facing,
        seq,
    })
}

/// A player as it joins (its id is given when it does): mostly in the world, at rest or
/// moving, sometimes anything.
fn any_newcomer() -> impl Strategy<Value = PlayerState> {
    let world = (0..=200_000i32, 0..=200_000i32, -300..=300i32, -300..=300i32);
    let anything = (any::<i32>(), any::<i32>(), any::<i32>(), any::<i32>());
    (
        prop_oneof![4 => world, 1 => anything],
        any_facing(),
        prop_oneof![Just(0u32), any::<u32>()],
    )
        .prop_map(|((x, y, vx, vy), facing, last_input_seq)| PlayerState {
            id: 0,
            x,
            y,
            vx,
            vy,
            facing,
            last_input_seq,
        })
}

#[derive(Debug, Clone)]
struct Step {
    /// Ticks since the previous snapshot.
    gap: u64,
    /// Sent as a keyframe rather than a delta.
    keyframe: bool,
    leave: Vec<Index>,
    join: Vec<PlayerState>,
    /// The `i`th player of the room makes move `i % moves.len()`.
    moves: Vec<Move>,
}

fn any_step() -> impl Strategy<Value = Step> {
    (
        1..=5u64,
        prop::bool::weighted(0.1),
        prop::collection::vec(any::<Index>(), 0..3),
        prop::collection::vec(any_newcomer(), 0..3),
        prop::collection::vec(any_move(), 1..8),
    )
        .prop_map(|(gap, keyframe, leave, join, moves)| Step {
            gap,
            keyframe,
            leave,
            join,
            moves,
        })
}

fn any_tick_rate() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(vec![10u16, 20, 30, 60, 64, 128]),
        1 => 1..=1000u16,
    ]
}

fn by_id(players: &[PlayerState]) -> Vec<PlayerState> {
    let mut sorted = players.to_vec();
    sorted.sort_by_key(|p| p.id);
    sorted
}

/// The snapshot as the client gets it: through the codec.
fn over_the_wire(snap: Snapshot) -> Snapshot {
    let frame = encode_server(&ServerMsg::Snapshot(snap));
    match ServerMsg::decode(&frame) {
        Ok(ServerMsg::Snapshot(snap)) => snap,
        other => panic!("a snapshot frame decodes to {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// The replica follows a server that sends every state as a delta against what the
    /// client holds, or now and then as a keyframe: after each snapshot it holds exactly
    /// the room (as a set) in exactly the order PROTOCOL.md gives.
    #[test]
    fn the_replica_follows_the_room(
        tick_rate in any_tick_rate(),
        first_id in prop_oneof![Just(1u32), any::<u32>().prop_map(|id| id / 2)],
        first_tick in prop_oneof![Just(0u64), 0..(1u64 << 40)],
        start in prop::collection::vec(any_newcomer(), 0..6),
        steps in prop::collection::vec(any_step(), 1..40),
    ) {
        let mut next_id = first_id;
        let mut join = |room: &mut Vec<PlayerState>, newcomer: &PlayerState| {
            room.push(PlayerState { id: next_id, ..*newcomer });
            next_id = next_id.wrapping_add(1);
        };
        let mut room = Vec::new();
        for newcomer in &start {
            join(&mut room, newcomer);
        }
        let mut tick = first_tick;
        let mut replica = Replica::new();
        let (snap, mut held) = keyframe(&room, tick);
        prop_assert_eq!(replica.apply(&over_the_wire(snap), tick_rate), Ok(()));
        prop_assert_eq!(replica.players(), &held[..]);

        for step in &steps {
            tick += step.gap;
            for at in &step.leave {
                if !room.is_empty() {
                    room.remove(at.index(room.len()));
                }
            }
            for (i, p) in room.iter_mut().enumerate() {
                *p = step.moves[i % step.moves.len()].apply(p, step.gap, tick_rate);
            }
            for newcomer in &step.join {
                join(&mut room, newcomer);
            }
            // The server's own order for the room is not the client's: shuffle it a
            // little, so that the encoder (and so the client) cannot lean on it.
            if step.gap % 2 == 0 {
                room.reverse();
            }
            let (snap, expected) = if step.keyframe {
                keyframe(&room, tick)
            } else {
                delta(&held, tick - step.gap, &room, tick, tick_rate)
            };
            let snap = over_the_wire(snap);
            prop_assert_eq!(replica.apply(&snap, tick_rate), Ok(()), "{:?}", snap);
            prop_assert_eq!(replica.tick(), Some(tick));
            prop_assert_eq!(replica.players(), &expected[..]);
            prop_assert_eq!(by_id(replica.players()), by_id(&room));
            held = expected;
        }
    }

    /// Whatever a snapshot holds, applying it does not panic, and leaves the replica in one
    /// of the three states the invariants allow.
    #[test]
    fn any_snapshot_applies_or_is_refused_cleanly(
        tick in prop_oneof![100..110u64, any::<u64>()],
        base_tick in prop_oneof![Just(None), Just(Some(100u64)), any::<Option<u64>>()],
        removed in prop::collection::vec(prop_oneof![Just(3u32), Just(7), any::<u32>()], 0..3),
        added in prop::collection::vec(any_newcomer(), 0..3),
        changes in prop::collection::vec(any::<u8>(), 0..24),
        state_hash in any::<u32>(),
    ) {
        let snap = Snapshot {
            tick,
            base_tick,
            server_time_ms: 0,
            state_hash,
            removed,
            added,
            changes,
        };
        let mut replica = primed();
        match replica.apply(&snap, RATE) {
            Ok(()) => {
                prop_assert_eq!(replica.tick(), Some(tick));
                prop_assert_eq!(tickwire_shared::state_hash(replica.players()), state_hash);
            }
            Err(ReplicaError::MissingBase { .. }) => {
                prop_assert_eq!(replica.tick(), Some(100));
                prop_assert_eq!(replica.players(), &room_at_100()[..]);
            }
            Err(_) => {
                prop_assert_eq!(replica.tick(), None);
                prop_assert!(replica.players().is_empty());
            }
        }
    }
}
