//! Writing a [`Snapshot`](crate::Snapshot) frame from pieces encoded earlier.
//!
//! A server encodes each player's whole state and change record once per tick, then puts
//! a client's frame together from those pieces (under interest management every client's
//! frame differs). These functions write exactly the bytes that `encode(&Snapshot {..})`
//! writes for the same snapshot; a test holds them to that.

use crate::{PlayerId, PlayerState};

/// The fields of a snapshot that come before its player lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// See [`crate::Snapshot::tick`].
    pub tick: u64,
    /// See [`crate::Snapshot::base_tick`].
    pub base_tick: Option<u64>,
    /// See [`crate::Snapshot::server_time_ms`].
    pub server_time_ms: u64,
    /// See [`crate::Snapshot::state_hash`].
    pub state_hash: u32,
}

// Writing MessagePack into a Vec cannot fail: the Vec grows.
const INFALLIBLE: &str = "invariant: writing into a Vec cannot fail";

/// Starts a frame: the envelope, then the head's four fields.
pub fn write_head(buf: &mut Vec<u8>, head: &Head) {
    buf.extend_from_slice(&[0x92, 0x02]); // [type 2, body]
    rmp::encode::write_array_len(buf, 7).expect(INFALLIBLE);
    rmp::encode::write_uint(buf, head.tick).expect(INFALLIBLE);
    match head.base_tick {
        Some(base) => rmp::encode::write_uint(buf, base)
            .map(drop)
            .expect(INFALLIBLE),
        None => rmp::encode::write_nil(buf).expect(INFALLIBLE),
    }
    rmp::encode::write_uint(buf, head.server_time_ms).expect(INFALLIBLE);
    rmp::encode::write_uint(buf, head.state_hash.into()).expect(INFALLIBLE);
}

/// Writes the `removed` list.
pub fn write_removed(buf: &mut Vec<u8>, ids: &[PlayerId]) {
    rmp::encode::write_array_len(buf, list_len(ids.len())).expect(INFALLIBLE);
    for &id in ids {
        rmp::encode::write_uint(buf, id.into()).expect(INFALLIBLE);
    }
}

/// Starts the `added` list of `count` players; [`write_player`] writes each (or the
/// caller copies bytes `write_player` wrote earlier).
pub fn write_added_len(buf: &mut Vec<u8>, count: usize) {
    rmp::encode::write_array_len(buf, list_len(count)).expect(INFALLIBLE);
}

/// Writes one player's whole state, as an element of `added`.
pub fn write_player(buf: &mut Vec<u8>, player: &PlayerState) {
    rmp_serde::encode::write(buf, player).expect(INFALLIBLE);
}

/// Ends the frame with the `changes` bytes.
pub fn write_changes(buf: &mut Vec<u8>, changes: &[u8]) {
    rmp::encode::write_bin(buf, changes).expect(INFALLIBLE);
}

/// A room never holds anywhere near 2³² players; a longer list would be a bug upstream.
fn list_len(len: usize) -> u32 {
    u32::try_from(len).expect("invariant: a snapshot lists fewer than 2^32 players")
}
