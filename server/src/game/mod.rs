//! The game API: what a game implements to run in a Tickwire room, with no clock, socket
//! or runtime in it.
//!
//! A game declares its [`Schema`] (its input fields, entity kinds and event kinds), turns
//! checked input values into its own input type ([`Game::input`]), and is driven by the
//! room: joins, leaves, inputs, then a step per tick, then a [`World`] written for the
//! snapshot. The room does everything else (sequence numbers and their acknowledgement,
//! keyframes and deltas, interest by position, the state hash, events to the clients,
//! recording), so a game touches no networking code. Time enters only as `dt`. Given the
//! same calls in the same order a game must end in the same world, bit for bit:
//! recordings replay on that.

mod events;
mod grid;
mod input;
pub mod motion;
mod world;

pub use events::{Audience, Events};
pub use grid::Grid;
pub use input::{InputValues, InvalidInput, SeqFilter};
pub use tickwire_shared::schema::{
    Code, EntityId, EventKind, FIRST_GAME_ID, Field, FieldType, InputField, InputType, Kind,
    KindId, Schema,
};
pub use tickwire_shared::{InputValue, PlayerId, Value};
pub use world::{Fields, World};

/// Why a saved world could not be put back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RestoreError {
    /// This game cannot save its world.
    #[error("this game cannot restore a saved world")]
    Unsupported,
    /// The bytes are not a world this game saved.
    #[error("not a saved world of this game: {0}")]
    Corrupt(String),
}

/// The rules of one room's game, driven by the room once per tick.
///
/// Calls arrive in this order each tick: `handle_join`/`handle_leave`/`handle_away` for
/// membership changes, `handle_input` for each player's new inputs (checked against the
/// schema and by [`Game::input`], in sequence order, stale ones dropped), then `step`,
/// then `snapshot` when a snapshot goes out.
pub trait Game: Send + 'static {
    /// The game's name: `--game` selects it, recordings name it, its schema carries it.
    const NAME: &'static str;

    /// One player's intent for a tick, as the game uses it.
    type Input: Clone + std::fmt::Debug + Send;

    /// A world with nobody in it.
    fn new() -> Self;

    /// What the game's inputs, entities and events are made of; the room checks it once
    /// and sends it to every client that joins.
    fn schema() -> Schema;

    /// Turns input values (already checked against the schema's input fields: finite,
    /// in range, of the right type) into the game's input, or refuses them; a refusal is
    /// answered with `INVALID_VALUE` and never reaches the world.
    ///
    /// # Errors
    /// [`InvalidInput`] with the reason the client is told.
    fn input(values: &InputValues) -> Result<Self::Input, InvalidInput>;

    /// A player enters the world. Its own entity, if it has one, has the player's id.
    fn handle_join(&mut self, id: PlayerId);
    /// A player leaves the world (left, or lost their connection and did not come back).
    fn handle_leave(&mut self, id: PlayerId);
    /// A player's connection was lost: it stays in the world without acting until it is
    /// back or leaves.
    fn handle_away(&mut self, id: PlayerId);
    /// A player's new input. `view_tick` is the tick of the snapshot the client says it
    /// was showing (never later than the current tick; 0 for none): a game that
    /// compensates for lag judges the input against the world as it was then, within a
    /// bound of its own.
    fn handle_input(&mut self, id: PlayerId, input: &Self::Input, view_tick: u64);
    /// Advances the world by `dt` seconds to tick `tick`, writing what happened to
    /// `events`.
    fn step(&mut self, tick: u64, dt: f32, events: &mut Events);
    /// Writes every entity as the clients should see it now.
    fn snapshot(&self, world: &mut World);

    /// A hash of the whole world as it is now, as a recording checks it after every step:
    /// the default is the state hash of what [`Game::snapshot`] writes; a game whose
    /// state has more precision than its snapshot does better to hash that.
    /// `scratch` is a world of this game's schema, to write into.
    fn world_hash(&self, scratch: &mut World) -> u32 {
        scratch.clear();
        self.snapshot(scratch);
        scratch.state_hash()
    }

    /// The whole world as bytes, so that a recording can start from it and a replay go on
    /// exactly as the room did; `None` when the game cannot be saved (a room then records
    /// only from its start, in one file).
    fn save(&self) -> Option<Vec<u8>> {
        None
    }

    /// Puts back a world [`Game::save`] wrote.
    ///
    /// # Errors
    /// [`RestoreError`] when the game cannot restore, or the bytes are not its save.
    fn restore(&mut self, _saved: &[u8]) -> Result<(), RestoreError> {
        Err(RestoreError::Unsupported)
    }
}
