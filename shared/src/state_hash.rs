//! The snapshot's state hash: a cheap check that a client rebuilt the same state as the
//! server.
//!
//! Each entity hashes on its own (64-bit FNV-1a over its id, kind and values as bytes,
//! [`entity_hash`]), and the state's hash is the low 32 bits of the wrapping sum of its
//! entities' hashes. A sum does not depend on order, so a client may keep its entities in
//! any order, and the server can hash each entity once per tick and add up any subset of
//! them (what one client sees under interest management) without hashing again.

use crate::entity::{Entity, Value};
use crate::schema::{EntityId, KindId};

/// One entity's 64-bit FNV-1a hash over: its id (4 bytes little-endian), its kind (1
/// byte), then each value in order: an integer as the 4 bytes little-endian of its low 32
/// bits (two's complement), a string as its length (1 byte) and its UTF-8 bytes.
pub fn entity_hash(id: EntityId, kind: KindId, values: &[Value]) -> u64 {
    // FNV-1a by hand, a byte at a time: the same as `FnvHasher`, without a call per value
    // (this runs for every entity of every sent tick).
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for &b in bytes {
            h = (h ^ u64::from(b)).wrapping_mul(PRIME);
        }
    };
    eat(&id.to_le_bytes());
    eat(&[kind]);
    for v in values {
        match v {
            Value::Int(n) => eat(&(*n as u32).to_le_bytes()),
            Value::Str(s) => {
                let bytes = &s.as_bytes()[..s.len().min(255)];
                eat(&[bytes.len() as u8]);
                eat(bytes);
            }
        }
    }
    h
}

/// Adds up entity hashes into a state hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateHasher(u64);

impl StateHasher {
    /// Adds one entity's [`entity_hash`].
    pub fn add(&mut self, entity_hash: u64) {
        self.0 = self.0.wrapping_add(entity_hash);
    }

    /// The state hash as the wire carries it.
    pub fn finish(self) -> u32 {
        self.0 as u32
    }
}

/// The state hash of a set of entities, in any order.
pub fn state_hash<'a>(entities: impl IntoIterator<Item = &'a Entity>) -> u32 {
    let mut hasher = StateHasher::default();
    for e in entities {
        hasher.add(entity_hash(e.id, e.kind, &e.values));
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entity(id: u32) -> Entity {
        Entity {
            id,
            kind: 0,
            values: vec![
                Value::Int(100_000 + i64::from(id)),
                Value::Int(-5),
                Value::Int(512),
            ],
        }
    }

    #[test]
    fn empty_state_hashes_to_zero_and_order_does_not_matter() {
        assert_eq!(state_hash([]), 0);
        let (a, b, c) = (entity(1), entity(2), entity(3));
        assert_eq!(state_hash([&a, &b, &c]), state_hash([&c, &a, &b]));
        assert_ne!(state_hash([&a, &b]), state_hash([&a, &c]));
    }

    #[test]
    fn every_part_counts() {
        let base = entity(1);
        let h = |e: &Entity| entity_hash(e.id, e.kind, &e.values);
        let mut variants = vec![
            Entity {
                id: 2,
                ..base.clone()
            },
            Entity {
                kind: 1,
                ..base.clone()
            },
        ];
        for i in 0..base.values.len() {
            let mut v = base.clone();
            v.values[i] = Value::Int(v.values[i].int() + 1);
            variants.push(v);
        }
        let mut named = base.clone();
        named.values.push(Value::Str("a".into()));
        variants.push(named);
        for v in variants {
            assert_ne!(h(&v), h(&base), "{v:?}");
        }
    }

    #[test]
    fn fnv1a_of_known_bytes() {
        // id 0, kind 0, one value -1 and the string "A": bytes 00 00 00 00, 00, ff ff ff ff,
        // 01 41; FNV-1a 64 worked byte by byte from the offset basis and prime.
        let e = Entity {
            id: 0,
            kind: 0,
            values: vec![Value::Int(-1), Value::Str("A".into())],
        };
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in [0u8, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 1, 0x41] {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        assert_eq!(entity_hash(e.id, e.kind, &e.values), h);
        assert_eq!(state_hash([&e]), h as u32);
    }
}
