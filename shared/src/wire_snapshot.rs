//! Writing a [`Snapshot`](crate::Snapshot) frame from pieces encoded earlier.
//!
//! A server encodes each entity's whole state and change record once per tick, then puts
//! a client's frame together from those pieces (under interest management every client's
//! frame differs, and every client's acknowledgement does). These functions write exactly
//! the bytes that `encode(&Snapshot {..})` writes for the same snapshot; a test holds them
//! to that.

use crate::entity::Value;
use crate::schema::{EntityId, KindId};

/// The fields of a snapshot that come before its entity lists.
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
    /// See [`crate::Snapshot::ack`].
    pub ack: u32,
}

// Writing MessagePack into a Vec cannot fail: the Vec grows.
const INFALLIBLE: &str = "invariant: writing into a Vec cannot fail";

/// Starts a frame: the envelope, then the head's five fields.
pub fn write_head(buf: &mut Vec<u8>, head: &Head) {
    buf.extend_from_slice(&[0x92, 0x02]); // [type 2, body]
    rmp::encode::write_array_len(buf, 8).expect(INFALLIBLE);
    rmp::encode::write_uint(buf, head.tick).expect(INFALLIBLE);
    match head.base_tick {
        Some(base) => rmp::encode::write_uint(buf, base)
            .map(drop)
            .expect(INFALLIBLE),
        None => rmp::encode::write_nil(buf).expect(INFALLIBLE),
    }
    rmp::encode::write_uint(buf, head.server_time_ms).expect(INFALLIBLE);
    rmp::encode::write_uint(buf, head.state_hash.into()).expect(INFALLIBLE);
    rmp::encode::write_uint(buf, head.ack.into()).expect(INFALLIBLE);
}

/// Writes the `removed` list.
pub fn write_removed(buf: &mut Vec<u8>, ids: &[EntityId]) {
    rmp::encode::write_array_len(buf, list_len(ids.len())).expect(INFALLIBLE);
    for &id in ids {
        rmp::encode::write_uint(buf, id.into()).expect(INFALLIBLE);
    }
}

/// Starts the `added` list of `count` entities; [`write_entity`] writes each (or the
/// caller copies bytes `write_entity` wrote earlier).
pub fn write_added_len(buf: &mut Vec<u8>, count: usize) {
    rmp::encode::write_array_len(buf, list_len(count)).expect(INFALLIBLE);
}

/// Writes one entity whole, as an element of `added`: `[id, kind, value...]`, each
/// integer in its shortest MessagePack form (as rmp-serde writes an `i64`).
pub fn write_entity(buf: &mut Vec<u8>, id: EntityId, kind: KindId, values: &[Value]) {
    rmp::encode::write_array_len(buf, list_len(values.len() + 2)).expect(INFALLIBLE);
    rmp::encode::write_uint(buf, id.into()).expect(INFALLIBLE);
    rmp::encode::write_uint(buf, kind.into()).expect(INFALLIBLE);
    for v in values {
        match v {
            Value::Int(n) => rmp::encode::write_sint(buf, *n)
                .map(drop)
                .expect(INFALLIBLE),
            Value::Str(s) => rmp::encode::write_str(buf, s).expect(INFALLIBLE),
        }
    }
}

/// Ends the frame with the `changes` bytes.
pub fn write_changes(buf: &mut Vec<u8>, changes: &[u8]) {
    rmp::encode::write_bin(buf, changes).expect(INFALLIBLE);
}

/// A room never holds anywhere near 2³² entities; a longer list would be a bug upstream.
fn list_len(len: usize) -> u32 {
    u32::try_from(len).expect("invariant: a snapshot lists fewer than 2^32 entities")
}
