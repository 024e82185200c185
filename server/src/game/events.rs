//! What a game says happened during a step (a hit, a kill, a pickup): one-shot events the
//! room sends reliably, in order, just before the snapshot that shows their outcome.

use std::sync::Arc;

use tickwire_shared::schema::{KindId, Schema};
use tickwire_shared::{GameEvent, PlayerId};

use super::world::Fields;

/// Who an event is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Everyone in the room.
    All,
    /// One player only.
    Player(PlayerId),
}

/// The events of the steps since the last snapshot went out.
#[derive(Debug, Clone)]
pub struct Events {
    schema: Arc<Schema>,
    list: Vec<(Audience, GameEvent)>,
    /// Where the fields of an event of an unknown kind go: nowhere.
    discard: Vec<tickwire_shared::Value>,
}

impl Events {
    /// No events yet, for a game with this schema.
    pub fn new(schema: Arc<Schema>) -> Self {
        Self {
            schema,
            list: Vec::new(),
            discard: Vec::new(),
        }
    }

    /// Adds an event of kind `kind` for `to`; write its fields, in order, on what this
    /// returns. A kind the schema does not have is a bug of the game's: the event is left
    /// out (and debug builds stop on it).
    pub fn emit(&mut self, kind: KindId, to: Audience) -> Fields<'_> {
        let Some(event) = self.schema.events.get(usize::from(kind)) else {
            debug_assert!(false, "the schema has no event kind {kind}");
            self.discard.clear();
            return Fields::new(&[], &mut self.discard);
        };
        self.list.push((
            to,
            GameEvent {
                kind,
                values: Vec::with_capacity(event.fields.len()),
            },
        ));
        let values = &mut self
            .list
            .last_mut()
            .expect("invariant: just pushed")
            .1
            .values;
        Fields::new(&event.fields, values)
    }

    /// The events so far, oldest first.
    pub fn list(&self) -> &[(Audience, GameEvent)] {
        &self.list
    }

    /// True when nothing happened.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Takes the events so far, leaving none.
    pub fn take(&mut self) -> Vec<(Audience, GameEvent)> {
        std::mem::take(&mut self.list)
    }
}
