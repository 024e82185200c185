//! Feeds arbitrary bytes to a client as a server frame: `ServerMsg::decode`, then, for a
//! snapshot, `Replica::apply` on a replica of the shooter-like example game that holds its
//! golden keyframe (`shared/vectors/shooter-joined.bin` for the schema,
//! `shooter-keyframe.bin`, tick 1200, every entity kind and field type), so that deltas from
//! tick 1200 reach every kind of change record.
//!
//! Invariant (the same as `shared/tests/replica.rs`): applying never panics, and leaves the
//! replica in one of three states: the snapshot applied (its tick, its state hash), the
//! state unchanged (`MissingBase`), or nothing held (any other error). The snapshot is
//! then applied once more to what is left, which must hold as well.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_shared::{Entity, Replica, ReplicaError, Schema, ServerMsg, Snapshot, state_hash};

/// The tick rate the shooter's vectors are made for (`vectors.json`).
const TICK_RATE: u16 = 30;
const JOINED: &[u8] = include_bytes!("../../shared/vectors/shooter-joined.bin");
/// Also `corpus/apply_snapshot/seed-keyframe`; `shared/tests/golden.rs` checks they agree.
const KEYFRAME: &[u8] = include_bytes!("../../shared/vectors/shooter-keyframe.bin");

fn primed() -> (Schema, Replica) {
    let Ok(ServerMsg::Joined(joined)) = ServerMsg::decode(JOINED) else {
        panic!("the joined vector is a Joined");
    };
    let Ok(ServerMsg::Snapshot(keyframe)) = ServerMsg::decode(KEYFRAME) else {
        panic!("the keyframe vector is a snapshot");
    };
    let mut replica = Replica::new();
    if let Err(err) = replica.apply(&keyframe, &joined.schema, TICK_RATE) {
        panic!("the keyframe vector applies: {err}");
    }
    (joined.schema, replica)
}

fn check(replica: &mut Replica, schema: &Schema, snap: &Snapshot) {
    let (tick, entities): (Option<u64>, Vec<Entity>) =
        (replica.tick(), replica.entities().to_vec());
    match replica.apply(snap, schema, TICK_RATE) {
        Ok(()) => {
            assert_eq!(replica.tick(), Some(snap.tick));
            assert_eq!(state_hash(replica.entities()), snap.state_hash);
        }
        Err(ReplicaError::MissingBase { .. }) => {
            assert_eq!(replica.tick(), tick);
            assert_eq!(replica.entities(), entities);
        }
        Err(err) => {
            let _ = err.to_string();
            assert_eq!(replica.tick(), None);
            assert!(replica.entities().is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(ServerMsg::Snapshot(snap)) = ServerMsg::decode(data) else {
        return;
    };
    let (schema, mut replica) = primed();
    check(&mut replica, &schema, &snap);
    check(&mut replica, &schema, &snap);
});
