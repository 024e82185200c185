//! Feeds arbitrary bytes to a client as a server frame: `ServerMsg::decode`, then, for a
//! snapshot, `Replica::apply` on a replica that holds the golden keyframe (tick 1200, ana
//! and bo, `corpus/apply_snapshot/seed-keyframe`), so that deltas from tick 1200 reach the
//! change records.
//!
//! Invariant (the same as `shared/tests/replica.rs`): applying never panics, and leaves the
//! replica in one of three states: the snapshot applied (its tick, its state hash), the
//! state unchanged (`MissingBase`), or nothing held (any other error). The snapshot is
//! then applied once more to what is left, which must hold as well.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tickwire_shared::{PlayerState, Replica, ReplicaError, ServerMsg, Snapshot, state_hash};

/// The `Welcome`'s tick rate in the golden story.
const TICK_RATE: u16 = 60;
/// `SNAPSHOT_KEYFRAME` of `shared/tests/golden.rs`; its test checks that this seed is it.
const KEYFRAME: &[u8] = include_bytes!("../corpus/apply_snapshot/seed-keyframe");

fn primed() -> Replica {
    let Ok(ServerMsg::Snapshot(keyframe)) = ServerMsg::decode(KEYFRAME) else {
        panic!("the keyframe seed is a snapshot");
    };
    let mut replica = Replica::new();
    if let Err(err) = replica.apply(&keyframe, TICK_RATE) {
        panic!("the keyframe seed applies: {err}");
    }
    replica
}

fn check(replica: &mut Replica, snap: &Snapshot) {
    let (tick, players): (Option<u64>, Vec<PlayerState>) =
        (replica.tick(), replica.players().to_vec());
    match replica.apply(snap, TICK_RATE) {
        Ok(()) => {
            assert_eq!(replica.tick(), Some(snap.tick));
            assert_eq!(state_hash(replica.players()), snap.state_hash);
        }
        Err(ReplicaError::MissingBase { .. }) => {
            assert_eq!(replica.tick(), tick);
            assert_eq!(replica.players(), players);
        }
        Err(err) => {
            let _ = err.to_string();
            assert_eq!(replica.tick(), None);
            assert!(replica.players().is_empty());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(ServerMsg::Snapshot(snap)) = ServerMsg::decode(data) else {
        return;
    };
    let mut replica = primed();
    check(&mut replica, &snap);
    check(&mut replica, &snap);
});
