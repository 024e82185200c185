//! A client's copy of the room, rebuilt from keyframes and deltas.
//!
//! This is what PROTOCOL.md asks of every client, written once in Rust for the bots, the
//! tests and any Rust client: a delta is applied only to the snapshot it names as its
//! base; anything wrong (a missing base aside) drops the copy, and the client waits for
//! the next keyframe; every applied snapshot is checked against the server's state hash.

use std::collections::HashSet;
use std::io::Cursor;

use bitstream_io::{BigEndian, BitReader};

use crate::changes::read_change;
use crate::{PlayerId, PlayerState, Snapshot, state_hash};

/// Why a snapshot was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplicaError {
    /// A delta whose base this client does not hold (it never got it, or got a newer
    /// one). Nothing changed; wait for a keyframe.
    #[error("delta from tick {base} but holding tick {held:?}")]
    MissingBase {
        /// The delta's base tick.
        base: u64,
        /// The tick this copy holds, if any.
        held: Option<u64>,
    },
    /// `removed` named a player the base does not have. The copy is dropped.
    #[error("removed player {0} is not in the base")]
    UnknownRemoved(PlayerId),
    /// `added` named a player that is already there. The copy is dropped.
    #[error("added player {0} is there already")]
    DuplicateAdded(PlayerId),
    /// The changes were cut short, badly coded or had bytes left over. The copy is dropped.
    #[error("bad changes: {0}")]
    BadChanges(String),
    /// The rebuilt state does not hash to the server's hash. The copy is dropped.
    #[error("state hash {rebuilt:#010x} does not match the server's {server:#010x}")]
    HashMismatch {
        /// The snapshot's hash.
        server: u32,
        /// The hash of what was rebuilt.
        rebuilt: u32,
    },
}

/// The room as this client knows it.
#[derive(Debug, Clone, Default)]
pub struct Replica {
    tick: Option<u64>,
    /// In the server's order for this client: the base's survivors, then the added.
    players: Vec<PlayerState>,
}

impl Replica {
    /// An empty copy, waiting for a keyframe.
    pub fn new() -> Self {
        Self::default()
    }

    /// The tick of the last applied snapshot; `None` until a keyframe arrives, and after
    /// an error that dropped the copy.
    pub fn tick(&self) -> Option<u64> {
        self.tick
    }

    /// The players, in wire order.
    pub fn players(&self) -> &[PlayerState] {
        &self.players
    }

    /// One player, by id.
    pub fn player(&self, id: PlayerId) -> Option<&PlayerState> {
        self.players.iter().find(|p| p.id == id)
    }

    /// Forgets everything: the next snapshot must be a keyframe.
    pub fn reset(&mut self) {
        self.tick = None;
        self.players.clear();
    }

    /// Applies a snapshot. `tick_rate` is the `Welcome`'s, needed to predict positions.
    ///
    /// # Errors
    /// [`ReplicaError`]: the copy is unchanged after `MissingBase`, and dropped (so that
    /// only a keyframe is accepted next) after any other error.
    pub fn apply(&mut self, snap: &Snapshot, tick_rate: u16) -> Result<(), ReplicaError> {
        let result = self.try_apply(snap, tick_rate);
        if let Err(err) = &result
            && !matches!(err, ReplicaError::MissingBase { .. })
        {
            self.reset();
        }
        result
    }

    fn try_apply(&mut self, snap: &Snapshot, tick_rate: u16) -> Result<(), ReplicaError> {
        let ticks = match snap.base_tick {
            None => {
                self.players.clear();
                0
            }
            Some(base) if self.tick == Some(base) && snap.tick > base => snap.tick - base,
            Some(base) => {
                return Err(ReplicaError::MissingBase {
                    base,
                    held: self.tick,
                });
            }
        };
        self.tick = None;
        // The ids held, kept up to date through removals and additions; only needed when
        // the snapshot has either.
        let mut ids: HashSet<PlayerId> = if snap.removed.is_empty() && snap.added.is_empty() {
            HashSet::new()
        } else {
            self.players.iter().map(|p| p.id).collect()
        };
        // Each checked before anything is removed, so that the error names the id that is
        // not there (or is named twice).
        for &id in &snap.removed {
            if !ids.remove(&id) {
                return Err(ReplicaError::UnknownRemoved(id));
            }
        }
        if !snap.removed.is_empty() {
            self.players.retain(|p| ids.contains(&p.id));
        }
        let mut bits = BitReader::endian(Cursor::new(&snap.changes[..]), BigEndian);
        if snap.base_tick.is_some() {
            for p in &mut self.players {
                *p = read_change(&mut bits, p, ticks, tick_rate)
                    .map_err(|e| ReplicaError::BadChanges(e.to_string()))?;
            }
        }
        let used = bits
            .position_in_bits()
            .map_err(|e| ReplicaError::BadChanges(e.to_string()))?
            .div_ceil(8);
        if used != snap.changes.len() as u64 {
            return Err(ReplicaError::BadChanges(format!(
                "{} bytes left over",
                snap.changes.len() as u64 - used
            )));
        }
        for p in &snap.added {
            if !ids.insert(p.id) {
                return Err(ReplicaError::DuplicateAdded(p.id));
            }
            self.players.push(*p);
        }
        let rebuilt = state_hash(&self.players);
        if rebuilt != snap.state_hash {
            return Err(ReplicaError::HashMismatch {
                server: snap.state_hash,
                rebuilt,
            });
        }
        self.tick = Some(snap.tick);
        Ok(())
    }
}
