//! A client's copy of the room, rebuilt from keyframes and deltas.
//!
//! This is what PROTOCOL.md asks of every client, written once in Rust for the bots, the
//! tests and any Rust client: a delta is applied only to the snapshot it names as its
//! base; anything wrong (a missing base aside) drops the copy, and the client waits for
//! the next keyframe; every applied snapshot is checked against the server's state hash.

use std::collections::HashSet;
use std::io::Cursor;

use bitstream_io::{BigEndian, BitReader};

use crate::changes::read_record;
use crate::entity::{Entity, Value};
use crate::schema::{EntityId, FieldType, Schema};
use crate::{Snapshot, state_hash};

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
    /// `removed` named an entity the base does not have. The copy is dropped.
    #[error("removed entity {0} is not in the base")]
    UnknownRemoved(EntityId),
    /// `added` named an entity that is already there. The copy is dropped.
    #[error("added entity {0} is there already")]
    DuplicateAdded(EntityId),
    /// An added entity does not fit the schema: an unknown kind, the wrong number of
    /// values, or a value of the wrong type. The copy is dropped.
    #[error("added entity {id} does not fit the schema: {why}")]
    BadEntity {
        /// The entity's id.
        id: EntityId,
        /// What is wrong.
        why: String,
    },
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
    entities: Vec<Entity>,
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

    /// The entities, in wire order.
    pub fn entities(&self) -> &[Entity] {
        &self.entities
    }

    /// One entity, by id (a player's own entity has the player's id).
    pub fn entity(&self, id: EntityId) -> Option<&Entity> {
        self.entities.iter().find(|e| e.id == id)
    }

    /// Forgets everything: the next snapshot must be a keyframe.
    pub fn reset(&mut self) {
        self.tick = None;
        self.entities.clear();
    }

    /// Applies a snapshot of a room whose game is `schema` (the `Joined`'s). `tick_rate` is
    /// the `Welcome`'s, needed to predict positions.
    ///
    /// # Errors
    /// [`ReplicaError`]: the copy is unchanged after `MissingBase`, and dropped (so that
    /// only a keyframe is accepted next) after any other error.
    pub fn apply(
        &mut self,
        snap: &Snapshot,
        schema: &Schema,
        tick_rate: u16,
    ) -> Result<(), ReplicaError> {
        let result = self.try_apply(snap, schema, tick_rate);
        if let Err(err) = &result
            && !matches!(err, ReplicaError::MissingBase { .. })
        {
            self.reset();
        }
        result
    }

    fn try_apply(
        &mut self,
        snap: &Snapshot,
        schema: &Schema,
        tick_rate: u16,
    ) -> Result<(), ReplicaError> {
        let ticks = match snap.base_tick {
            None => {
                self.entities.clear();
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
        let mut ids: HashSet<EntityId> = if snap.removed.is_empty() && snap.added.is_empty() {
            HashSet::new()
        } else {
            self.entities.iter().map(|e| e.id).collect()
        };
        // Each checked before anything is removed, so that the error names the id that is
        // not there (or is named twice).
        for &id in &snap.removed {
            if !ids.remove(&id) {
                return Err(ReplicaError::UnknownRemoved(id));
            }
        }
        if !snap.removed.is_empty() {
            self.entities.retain(|e| ids.contains(&e.id));
        }
        let mut bits = BitReader::endian(Cursor::new(&snap.changes[..]), BigEndian);
        if snap.base_tick.is_some() {
            for e in &mut self.entities {
                // Every held entity was checked against the schema when it was added; a
                // caller that changed schemas since holds entities of another game.
                let Some(kind) = schema.kinds.get(usize::from(e.kind)) else {
                    return Err(ReplicaError::BadChanges(format!("no kind {}", e.kind)));
                };
                read_record(&mut bits, kind, &mut e.values, ticks, tick_rate)
                    .map_err(|err| ReplicaError::BadChanges(err.to_string()))?;
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
        for e in &snap.added {
            check_entity(schema, e)?;
            if !ids.insert(e.id) {
                return Err(ReplicaError::DuplicateAdded(e.id));
            }
            self.entities.push(e.clone());
        }
        let rebuilt = state_hash(&self.entities);
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

/// An added entity must be of a kind the schema has, with one value per field, each of its
/// field's type: the change records that follow rely on it.
fn check_entity(schema: &Schema, e: &Entity) -> Result<(), ReplicaError> {
    let bad = |why: String| Err(ReplicaError::BadEntity { id: e.id, why });
    let Some(kind) = schema.kinds.get(usize::from(e.kind)) else {
        return bad(format!("no kind {}", e.kind));
    };
    if kind.fields.len() != e.values.len() {
        return bad(format!(
            "{} values for the {} fields of {:?}",
            e.values.len(),
            kind.fields.len(),
            kind.name
        ));
    }
    for (f, v) in kind.fields.iter().zip(&e.values) {
        let ok = match (f.ty, v) {
            // Shapes, not ranges: a value outside its field's range is the server's to
            // avoid, and a delta could carry one as well; the hash is the check.
            (FieldType::String, Value::Str(s)) => s.len() <= 255,
            (FieldType::String, Value::Int(_)) | (_, Value::Str(_)) => false,
            (FieldType::Entity, Value::Int(n)) => u32::try_from(*n).is_ok(),
            (_, Value::Int(n)) => i32::try_from(*n).is_ok(),
        };
        if !ok {
            return bad(format!("field {:?} holds {v:?}", f.name));
        }
    }
    Ok(())
}
