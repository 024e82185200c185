//! The client's side of snapshots: `Replica::apply` against crafted and generated snapshots.
//!
//! Invariants, for any sequence of snapshots, any schema and any tick rate:
//!
//! - `apply` never panics, whatever the snapshot holds.
//! - A well-formed keyframe is accepted in any state, and replaces whatever was held.
//! - A delta is applied only to the state of its `base_tick`. When the replica holds
//!   another tick, or nothing, or the delta's `tick` is not after its base, the delta is
//!   refused with `MissingBase` and the replica is left exactly as it was (same tick, same
//!   entities in the same order).
//! - After a snapshot is applied, `tick()` is its tick; `entities()` is the base's entities
//!   less `removed`, in the base's order, each changed by its record, then `added` in
//!   order (for a keyframe, `added` alone); and the state hash of `entities()` is the
//!   snapshot's `state_hash`.
//! - After any other error (`UnknownRemoved`, `DuplicateAdded`, `BadEntity`, `BadChanges`,
//!   `HashMismatch`), the replica holds nothing: `tick()` is `None`, there are no
//!   entities, and every delta is refused with `MissingBase { held: None }` until a
//!   keyframe comes.
//! - A replica fed what a server sends (each state as a keyframe, or as a delta against the
//!   state the client holds, written by the reference encoder) holds exactly the server's
//!   state for that client after every snapshot, in the order the protocol gives.

mod common;

use common::{arena_schema, entity, ints, shooter_base, shooter_schema};
use proptest::prelude::*;
use proptest::sample::Index;
use tickwire_shared::changes::{predict, wrap_angle};
use tickwire_shared::schema::{FieldType, Schema};
use tickwire_shared::{Entity, Replica, ReplicaError, ServerMsg, Snapshot, Value, encode_server};

const RATE: u16 = 60;

/// A keyframe of `now` at `tick`, and the list the client holds once it is applied.
fn keyframe(now: &[Entity], tick: u64) -> (Snapshot, Vec<Entity>) {
    let time = 1_700_000_000_000u64.wrapping_add(tick);
    (
        Snapshot::keyframe(tick, time, 1, now.to_vec()),
        now.to_vec(),
    )
}

/// The delta from `base` (what the client holds, in its order, at `base_tick`) to `now`
/// (the server's state for this client at `tick`, in any order), and the list the client
/// holds once it is applied, worked out here on its own: the base's survivors (same id,
/// same kind) in the base's order, then the newcomers in `now`'s order.
fn delta(
    schema: &Schema,
    (base_tick, base): (u64, &[Entity]),
    (tick, now): (u64, &[Entity]),
    tick_rate: u16,
) -> (Snapshot, Vec<Entity>) {
    let time = 1_700_000_000_000u64.wrapping_add(tick);
    let snap = Snapshot::delta(schema, (base_tick, base), (tick, now), tick_rate, (time, 2));
    let same = |a: &Entity, b: &Entity| a.id == b.id && a.kind == b.kind;
    let survivors = base.iter().filter_map(|b| now.iter().find(|e| same(e, b)));
    let newcomers = now.iter().filter(|e| !base.iter().any(|b| same(e, b)));
    (snap, survivors.chain(newcomers).cloned().collect())
}

fn player(id: u32, x: i64, y: i64) -> Entity {
    entity(id, 0, ints(&[0, 0, x, y, 0]))
}

/// Two arena players at tick 100; 7 walks along +x at 300 units/s.
fn room_at_100() -> Vec<Entity> {
    vec![
        player(3, 25_000, 75_050),
        entity(7, 0, ints(&[300, 0, 100_000, 50_000, 5])),
    ]
}

/// The room `ticks` ticks after `room_at_100`: 7 has walked on.
fn room_after(ticks: u64) -> Vec<Entity> {
    let mut room = room_at_100();
    let x = predict(room[1].values[2].int(), 300, ticks, RATE, 100, 1);
    room[1].values[2] = Value::Int(x);
    room
}

/// A replica holding `room_at_100()` at tick 100.
fn primed() -> Replica {
    let mut replica = Replica::new();
    replica
        .apply(&keyframe(&room_at_100(), 100).0, &arena_schema(), RATE)
        .expect("a keyframe applies");
    replica
}

/// The valid delta from the primed state to tick 101.
fn delta_to_101() -> Snapshot {
    delta(
        &arena_schema(),
        (100, &room_at_100()),
        (101, &room_after(1)),
        RATE,
    )
    .0
}

/// After an error other than `MissingBase`: nothing is held, a delta that was good for the
/// old state is refused, and the next keyframe is accepted.
fn assert_dropped(replica: &mut Replica) {
    assert_eq!(replica.tick(), None);
    assert_eq!(replica.entities(), []);
    assert_eq!(
        replica.apply(&delta_to_101(), &arena_schema(), RATE),
        Err(ReplicaError::MissingBase {
            base: 100,
            held: None
        })
    );
    let (snap, held) = keyframe(&room_after(2), 102);
    assert_eq!(replica.apply(&snap, &arena_schema(), RATE), Ok(()));
    assert_eq!(replica.tick(), Some(102));
    assert_eq!(replica.entities(), held);
}

/// Applies `snap` to a primed replica, expects `err`, then checks the replica was dropped.
fn assert_refused_and_dropped(snap: &Snapshot, err: ReplicaError) {
    let mut replica = primed();
    assert_eq!(
        replica.apply(snap, &arena_schema(), RATE),
        Err(err),
        "{snap:?}"
    );
    assert_dropped(&mut replica);
}

/// A player that keeps its velocity and moves exactly as predicted has changed: its record
/// says so (9 bits, not the 1 of "unchanged"), and the replica moves it.
#[test]
fn a_steady_walker_is_not_unchanged() {
    let mut replica = primed();
    assert_eq!(replica.entities(), room_at_100());
    // 0 | 1 00 00 0 0 00, then padding: player 3 unchanged; 7 changed, vx and vy the same
    // (`00`), x and y as predicted (`0`), no turn (`00`).
    assert_eq!(delta_to_101().changes, [0b0100_0000, 0b0000_0000]);
    assert_eq!(
        replica.apply(&delta_to_101(), &arena_schema(), RATE),
        Ok(())
    );
    assert_eq!(replica.entities(), room_after(1));
    assert_eq!(replica.entities()[1].values[2], Value::Int(100_500));
}

#[test]
fn missing_base_is_ignored_and_changes_nothing() {
    // Nothing held yet.
    let mut fresh = Replica::new();
    assert_eq!(
        fresh.apply(&delta_to_101(), &arena_schema(), RATE),
        Err(ReplicaError::MissingBase {
            base: 100,
            held: None
        })
    );
    assert_eq!((fresh.tick(), fresh.entities()), (None, &[][..]));

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
            replica.apply(&snap, &arena_schema(), RATE),
            Err(ReplicaError::MissingBase {
                base,
                held: Some(100)
            })
        );
        assert_eq!(replica.tick(), Some(100));
        assert_eq!(replica.entities(), room_at_100());
    }
    // The state was kept, so the right delta still applies.
    assert_eq!(
        replica.apply(&delta_to_101(), &arena_schema(), RATE),
        Ok(())
    );
    assert_eq!(replica.entities(), room_after(1));
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
    // The same entity twice in a keyframe.
    let twice = [player(4, 0, 0), player(5, 1, 1), player(4, 2, 2)];
    let snap = keyframe(&twice, 101).0;
    assert_refused_and_dropped(&snap, ReplicaError::DuplicateAdded(4));
}

/// An added entity that does not fit the schema is refused before anything reads it: the
/// change records after it would rely on its kind and its values.
#[test]
fn entities_that_do_not_fit_the_schema_drop_the_copy() {
    let bad = |e: Entity, why: &str| {
        let snap = keyframe(&[player(4, 0, 0), e.clone()], 101).0;
        let mut replica = primed();
        let err = replica
            .apply(&snap, &arena_schema(), RATE)
            .expect_err("a bad entity");
        match &err {
            ReplicaError::BadEntity { id, why: said } => {
                assert_eq!(*id, e.id);
                assert!(said.contains(why), "{said}");
            }
            other => panic!("{other}"),
        }
        assert_dropped(&mut replica);
    };
    bad(entity(5, 1, ints(&[0, 0, 0, 0, 0])), "no kind 1");
    bad(
        entity(5, 0, ints(&[0, 0, 0, 0])),
        "4 values for the 5 fields",
    );
    bad(entity(5, 0, ints(&[0, 0, 0, 0, 0, 0])), "6 values");
    let mut named = player(5, 0, 0);
    named.values[4] = Value::Str("north".into());
    bad(named, "\"facing\"");
    bad(player(5, i64::from(i32::MAX) + 1, 0), "\"x\"");
    bad(player(5, 0, i64::from(i32::MIN) - 1), "\"y\"");

    // The shooter's kinds: a string where a string is due is fine, but not an integer, nor
    // more than 255 bytes; an entity reference is a u32, not a negative number.
    let schema = shooter_schema();
    let base = shooter_base();
    let mut replica = Replica::new();
    assert_eq!(replica.apply(&keyframe(&base, 1).0, &schema, RATE), Ok(()));
    let ana = base[0].clone();
    for (field, value, why) in [
        (9, Value::Int(3), "\"name\""),
        (9, Value::Str("a".repeat(256)), "\"name\""),
        (10, Value::Int(-1), "\"target\""),
        (10, Value::Int(1 << 32), "\"target\""),
        (5, Value::Str("full".into()), "\"hp\""),
    ] {
        let mut e = ana.clone();
        e.values[field] = value;
        let err = replica
            .apply(&keyframe(&[e], 2).0, &schema, RATE)
            .expect_err("a bad entity");
        assert!(
            matches!(&err, ReplicaError::BadEntity { id: 7, why: w } if w.contains(why)),
            "{err}"
        );
        assert_eq!(replica.tick(), None);
    }
    // At the limits, each fits.
    let mut e = ana;
    e.values[9] = Value::Str("é".repeat(127));
    e.values[10] = Value::Int(u32::MAX.into());
    e.values[5] = Value::Int(i32::MIN.into());
    let (snap, held) = keyframe(&[e], 3);
    assert_eq!(replica.apply(&snap, &schema, RATE), Ok(()));
    assert_eq!(replica.entities(), held);
}

#[test]
fn bad_changes_drop_the_copy() {
    let bad = |changes: Vec<u8>, keyframe: Option<Snapshot>| {
        let snap = Snapshot {
            changes,
            ..keyframe.unwrap_or_else(delta_to_101)
        };
        let mut replica = primed();
        let err = replica
            .apply(&snap, &arena_schema(), RATE)
            .expect_err("bad changes");
        assert!(matches!(err, ReplicaError::BadChanges(_)), "{err}");
        assert_dropped(&mut replica);
        err.to_string()
    };
    // Two entities' records, but no bits at all.
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
    // Both unchanged (`0`, `0`), then a whole byte of padding too many.
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

/// A string change whose bytes are not UTF-8 is refused as bad changes.
#[test]
fn a_string_that_is_not_utf8_drops_the_copy() {
    let schema = shooter_schema();
    // One match entity [phase, time_left, wind, banner]: 1 changed, phase `0`, time_left
    // `0`, wind `0`, banner `1` + length 1 + 0xff, then padding.
    let mtch = entity(
        9,
        3,
        common::values(&[
            common::V::I(0),
            common::V::I(9),
            common::V::I(0),
            common::V::S(""),
        ]),
    );
    let mut replica = Replica::new();
    assert_eq!(
        replica.apply(&keyframe(std::slice::from_ref(&mtch), 1).0, &schema, RATE),
        Ok(())
    );
    let bits: u32 = (0b10001 << 27) | (1 << 19) | (0xff << 11);
    let snap = Snapshot {
        changes: bits.to_be_bytes()[..3].to_vec(),
        ..delta(
            &schema,
            (1, std::slice::from_ref(&mtch)),
            (2, std::slice::from_ref(&mtch)),
            RATE,
        )
        .0
    };
    let err = replica.apply(&snap, &schema, RATE).expect_err("not UTF-8");
    assert!(
        matches!(&err, ReplicaError::BadChanges(why) if why.contains("UTF-8")),
        "{err}"
    );
    assert_eq!(replica.tick(), None);
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

/// A keyframe replaces whatever was held, in any state: the old entities are gone, not
/// merged, even those it names again.
#[test]
fn a_keyframe_resets_the_copy() {
    let mut replica = primed();
    let (snap, held) = keyframe(&[player(7, 1, 1), player(12, 2, 2)], 90);
    assert_eq!(replica.apply(&snap, &arena_schema(), RATE), Ok(()));
    assert_eq!(replica.tick(), Some(90), "an older keyframe is applied too");
    assert_eq!(replica.entities(), held);
    let (empty, _) = keyframe(&[], 91);
    assert_eq!(replica.apply(&empty, &arena_schema(), RATE), Ok(()));
    assert_eq!(replica.entities(), []);
    assert_eq!(empty.state_hash, 0);
}

/// The server sent a delta for tick 101 that this client never got (its own bug, or a
/// lost frame): every delta after it is refused, the state stays that of tick 100, and the
/// next keyframe brings the client back.
#[test]
fn a_delta_on_a_skipped_base_is_refused_until_a_keyframe() {
    let schema = arena_schema();
    let mut replica = primed();
    let mut held = room_after(1);
    for tick in [102, 103] {
        let (snap, next) = delta(
            &schema,
            (tick - 1, &held),
            (tick, &room_after(tick - 100)),
            RATE,
        );
        assert_eq!(
            replica.apply(&snap, &schema, RATE),
            Err(ReplicaError::MissingBase {
                base: tick - 1,
                held: Some(100)
            })
        );
        assert_eq!(replica.tick(), Some(100));
        assert_eq!(replica.entities(), room_at_100());
        held = next;
    }
    let (snap, held) = keyframe(&room_after(4), 104);
    assert_eq!(replica.apply(&snap, &schema, RATE), Ok(()));
    assert_eq!(replica.entities(), held);
    let (snap, held) = delta(&schema, (104, &held), (105, &room_after(5)), RATE);
    assert_eq!(replica.apply(&snap, &schema, RATE), Ok(()));
    assert_eq!(replica.tick(), Some(105));
    assert_eq!(replica.entities(), held);
}

/// A hostile tick gap makes the prediction's arithmetic wrap: 200 · T + 60 is past
/// `i64::MAX` for this T (200 · T ≡ 2⁶³ − 8 mod 2⁶⁴). Both sides wrap the same way, so the
/// delta still applies, and nothing panics.
#[test]
fn a_huge_tick_gap_wraps_without_panicking() {
    const T: u64 = 46_116_860_184_273_879;
    assert_eq!(200u64.wrapping_mul(T), (1 << 63) - 8);
    let schema = arena_schema();
    let mut now = room_at_100();
    now[0].values[0] = Value::Int(1);
    let x = predict(now[0].values[2].int(), 1, T, RATE, 100, 1);
    // The value case carries 32 bits: the wrapped prediction is sent as its residual.
    now[0].values[2] = Value::Int(i64::from(x as i32));
    let (snap, held) = delta(&schema, (100, &room_at_100()), (100 + T, &now), RATE);
    let mut replica = primed();
    assert_eq!(replica.apply(&snap, &schema, RATE), Ok(()));
    assert_eq!(replica.entities(), held);
    // And at the very end of time.
    let (snap, _) = delta(&schema, (100 + T, &held), (u64::MAX, &held), RATE);
    assert_eq!(replica.apply(&snap, &schema, RATE), Ok(()));
}

// Generated rooms of the shooter: entities of every kind come and go, and every field
// changes in every way its type allows.

/// How one field changes in one step: `how` picks the case, `small` and `any` and `text`
/// are what the case needs.
#[derive(Debug, Clone)]
struct FieldMove {
    how: u8,
    small: i64,
    any: i32,
    text: String,
}

fn any_field_move() -> impl Strategy<Value = FieldMove> {
    (
        prop_oneof![3 => Just(0u8), 3 => Just(1), 1 => Just(2)],
        prop_oneof![-8..8i64, -600..600i64, -40_000..40_000i64],
        any::<i32>(),
        "[a-zé]{0,16}",
    )
        .prop_map(|(how, small, any, text)| FieldMove {
            how,
            small,
            any,
            text,
        })
}

/// The entity `e` of `schema` after `ticks` ticks in which its fields moved by `moves`.
fn step_entity(
    schema: &Schema,
    e: &Entity,
    moves: &[FieldMove],
    ticks: u64,
    tick_rate: u16,
) -> Entity {
    let kind = &schema.kinds[usize::from(e.kind)];
    let mut values = e.values.clone();
    for (i, f) in kind.fields.iter().enumerate() {
        let m = &moves[i % moves.len()];
        let old = values[i].int();
        let clamp = |v: i64| v.clamp(i32::MIN.into(), i32::MAX.into());
        values[i] = match f.ty {
            FieldType::Fixed => {
                let reference = match f.predict {
                    Some(v) => {
                        let vel_scale = kind.fields[usize::from(v)].scale;
                        predict(
                            old,
                            values[usize::from(v)].int(),
                            ticks,
                            tick_rate,
                            f.scale,
                            vel_scale,
                        )
                    }
                    None => old,
                };
                Value::Int(match m.how {
                    0 => clamp(reference),
                    1 => clamp(reference.wrapping_add(m.small)),
                    _ => m.any.into(),
                })
            }
            FieldType::Int => Value::Int(match m.how {
                0 => old,
                1 => clamp(old + m.small),
                _ => m.any.into(),
            }),
            FieldType::Angle => Value::Int(match m.how {
                0 => old,
                1 => wrap_angle(old + m.small, f.scale),
                _ => wrap_angle(m.any.into(), f.scale),
            }),
            FieldType::Bool => Value::Int(if m.how == 0 { old } else { 1 - old }),
            FieldType::Enum => Value::Int(if m.how == 0 {
                old
            } else {
                m.any.rem_euclid(f.max as i32 + 1).into()
            }),
            FieldType::Entity => Value::Int(if m.how == 0 {
                old
            } else {
                (m.any as u32).into()
            }),
            FieldType::String => {
                if m.how == 0 {
                    values[i].clone()
                } else {
                    Value::Str(m.text.clone())
                }
            }
        };
    }
    Entity {
        values,
        ..e.clone()
    }
}

/// A newcomer of any of the shooter's kinds, its id given when it joins: the story's
/// entities, each moved anywhere.
fn any_newcomer() -> impl Strategy<Value = Entity> {
    (any::<Index>(), prop::collection::vec(any_field_move(), 11)).prop_map(|(at, moves)| {
        let base = shooter_base();
        let e = &base[at.index(base.len())];
        let moves: Vec<FieldMove> = moves
            .into_iter()
            .map(|m| FieldMove { how: 2, ..m })
            .collect();
        step_entity(&shooter_schema(), e, &moves, 0, RATE)
    })
}

#[derive(Debug, Clone)]
struct Step {
    /// Ticks since the previous snapshot.
    gap: u64,
    /// Sent as a keyframe rather than a delta.
    keyframe: bool,
    leave: Vec<Index>,
    join: Vec<Entity>,
    /// An entity that keeps its id but becomes another kind: removed and added.
    reborn: Option<(Index, Entity)>,
    /// The `i`th entity of the room moves its fields by `moves[i % moves.len()]`.
    moves: Vec<Vec<FieldMove>>,
}

fn any_step() -> impl Strategy<Value = Step> {
    (
        1..=5u64,
        prop::bool::weighted(0.1),
        prop::collection::vec(any::<Index>(), 0..3),
        prop::collection::vec(any_newcomer(), 0..3),
        prop::option::weighted(0.1, (any::<Index>(), any_newcomer())),
        prop::collection::vec(prop::collection::vec(any_field_move(), 1..12), 1..6),
    )
        .prop_map(|(gap, keyframe, leave, join, reborn, moves)| Step {
            gap,
            keyframe,
            leave,
            join,
            reborn,
            moves,
        })
}

fn any_tick_rate() -> impl Strategy<Value = u16> {
    prop_oneof![
        3 => prop::sample::select(vec![10u16, 20, 30, 60, 64, 128]),
        1 => 1..=1000u16,
    ]
}

fn by_id(entities: &[Entity]) -> Vec<Entity> {
    let mut sorted = entities.to_vec();
    sorted.sort_by_key(|e| e.id);
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
    /// the room (as a set) in exactly the order the protocol gives.
    #[test]
    fn the_replica_follows_the_room(
        tick_rate in any_tick_rate(),
        first_id in prop_oneof![Just(1u32), any::<u32>().prop_map(|id| id / 2)],
        first_tick in prop_oneof![Just(0u64), 0..(1u64 << 40)],
        start in prop::collection::vec(any_newcomer(), 0..6),
        steps in prop::collection::vec(any_step(), 1..30),
    ) {
        let schema = shooter_schema();
        let mut next_id = first_id;
        let mut join = |room: &mut Vec<Entity>, newcomer: &Entity| {
            room.push(Entity { id: next_id, ..newcomer.clone() });
            next_id = next_id.wrapping_add(1);
        };
        let mut room = Vec::new();
        for newcomer in &start {
            join(&mut room, newcomer);
        }
        let mut tick = first_tick;
        let mut replica = Replica::new();
        let (snap, mut held) = keyframe(&room, tick);
        prop_assert_eq!(replica.apply(&over_the_wire(snap), &schema, tick_rate), Ok(()));
        prop_assert_eq!(replica.entities(), &held[..]);

        for step in &steps {
            tick += step.gap;
            for at in &step.leave {
                if !room.is_empty() {
                    room.remove(at.index(room.len()));
                }
            }
            for (i, e) in room.iter_mut().enumerate() {
                *e = step_entity(&schema, e, &step.moves[i % step.moves.len()], step.gap, tick_rate);
            }
            if let Some((at, newcomer)) = &step.reborn
                && !room.is_empty()
            {
                let at = at.index(room.len());
                room[at] = Entity { id: room[at].id, ..newcomer.clone() };
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
                delta(&schema, (tick - step.gap, &held), (tick, &room), tick_rate)
            };
            let snap = over_the_wire(snap);
            prop_assert_eq!(replica.apply(&snap, &schema, tick_rate), Ok(()), "{:?}", snap);
            prop_assert_eq!(replica.tick(), Some(tick));
            prop_assert_eq!(replica.entities(), &expected[..]);
            prop_assert_eq!(by_id(replica.entities()), by_id(&room));
            held = expected;
        }
    }

    /// Whatever a snapshot holds, applying it does not panic, and leaves the replica in one
    /// of the three states the invariants allow.
    #[test]
    fn any_snapshot_applies_or_is_refused_cleanly(
        tick in prop_oneof![1200..1210u64, any::<u64>()],
        base_tick in prop_oneof![Just(None), Just(Some(1200u64)), any::<Option<u64>>()],
        removed in prop::collection::vec(prop_oneof![Just(3u32), Just(7), any::<u32>()], 0..3),
        added in prop::collection::vec(any_newcomer(), 0..3),
        changes in prop::collection::vec(any::<u8>(), 0..64),
        state_hash in any::<u32>(),
    ) {
        let schema = shooter_schema();
        let snap = Snapshot {
            tick,
            base_tick,
            server_time_ms: 0,
            state_hash,
            ack: 0,
            removed,
            added,
            changes,
        };
        let mut replica = Replica::new();
        let base = shooter_base();
        replica.apply(&keyframe(&base, 1200).0, &schema, RATE).expect("the story applies");
        match replica.apply(&snap, &schema, RATE) {
            Ok(()) => {
                prop_assert_eq!(replica.tick(), Some(tick));
                prop_assert_eq!(tickwire_shared::state_hash(replica.entities()), state_hash);
            }
            Err(ReplicaError::MissingBase { .. }) => {
                prop_assert_eq!(replica.tick(), Some(1200));
                prop_assert_eq!(replica.entities(), &base[..]);
            }
            Err(_) => {
                prop_assert_eq!(replica.tick(), None);
                prop_assert!(replica.entities().is_empty());
            }
        }
    }
}
