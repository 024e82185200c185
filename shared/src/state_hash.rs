//! The snapshot's state hash: a cheap check that a client rebuilt the same state as the
//! server.
//!
//! Each player hashes on its own (64-bit FNV-1a over its fields as little-endian bytes),
//! and the state's hash is the low 32 bits of the wrapping sum of its players' hashes. A
//! sum does not depend on order, so a client may keep its players in any order, and the
//! server can hash each player once per tick and add up any subset of them (what one
//! client sees under interest management) without hashing again.

use std::hash::Hasher;

use fnv::FnvHasher;

use crate::PlayerState;

/// One player's 64-bit FNV-1a hash over its 28 bytes: `id`, `x`, `y`, `vx`, `vy`,
/// `facing`, `last_input_seq`, each 4 bytes little-endian.
pub fn player_hash(p: &PlayerState) -> u64 {
    let mut bytes = [0u8; 28];
    bytes[0..4].copy_from_slice(&p.id.to_le_bytes());
    bytes[4..8].copy_from_slice(&p.x.to_le_bytes());
    bytes[8..12].copy_from_slice(&p.y.to_le_bytes());
    bytes[12..16].copy_from_slice(&p.vx.to_le_bytes());
    bytes[16..20].copy_from_slice(&p.vy.to_le_bytes());
    bytes[20..24].copy_from_slice(&p.facing.to_le_bytes());
    bytes[24..28].copy_from_slice(&p.last_input_seq.to_le_bytes());
    let mut hasher = FnvHasher::default();
    hasher.write(&bytes);
    hasher.finish()
}

/// Adds up player hashes into a state hash.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateHasher(u64);

impl StateHasher {
    /// Adds one player's [`player_hash`].
    pub fn add(&mut self, player_hash: u64) {
        self.0 = self.0.wrapping_add(player_hash);
    }

    /// The state hash as the wire carries it.
    pub fn finish(self) -> u32 {
        self.0 as u32
    }
}

/// The state hash of a set of players, in any order.
pub fn state_hash<'a>(players: impl IntoIterator<Item = &'a PlayerState>) -> u32 {
    let mut hasher = StateHasher::default();
    for p in players {
        hasher.add(player_hash(p));
    }
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn player(id: u32) -> PlayerState {
        PlayerState {
            id,
            x: 100_000 + id as i32,
            y: -5,
            vx: 300,
            vy: -17,
            facing: 512,
            last_input_seq: 9,
        }
    }

    #[test]
    fn empty_state_hashes_to_zero_and_order_does_not_matter() {
        assert_eq!(state_hash([]), 0);
        let (a, b, c) = (player(1), player(2), player(3));
        assert_eq!(state_hash([&a, &b, &c]), state_hash([&c, &a, &b]));
        assert_ne!(state_hash([&a, &b]), state_hash([&a, &c]));
    }

    #[test]
    fn every_field_counts() {
        let base = player(1);
        let variants = [
            PlayerState { id: 2, ..base },
            PlayerState {
                x: base.x + 1,
                ..base
            },
            PlayerState {
                y: base.y + 1,
                ..base
            },
            PlayerState { vx: 301, ..base },
            PlayerState { vy: -16, ..base },
            PlayerState {
                facing: 511,
                ..base
            },
            PlayerState {
                last_input_seq: 10,
                ..base
            },
        ];
        for v in variants {
            assert_ne!(player_hash(&v), player_hash(&base), "{v:?}");
        }
    }

    #[test]
    fn fnv1a_of_known_bytes() {
        // FNV-1a 64 of 28 zero bytes, worked by hand from the offset basis and prime.
        let zero = PlayerState {
            id: 0,
            x: 0,
            y: 0,
            vx: 0,
            vy: 0,
            facing: 0,
            last_input_seq: 0,
        };
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for _ in 0..28 {
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        assert_eq!(player_hash(&zero), h);
        assert_eq!(state_hash([&zero]), h as u32);
    }
}
