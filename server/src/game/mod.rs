//! The pure simulation: game rules with no clock, socket or runtime.
//!
//! A room drives its game through the [`Game`] trait, so a different game can be written
//! without touching networking code, and benches and tests can drive the rules directly.
//! Time enters only as the `dt` argument of [`Game::step`]. Given the same calls in the
//! same order a game must end in the same world, bit for bit: recordings replay on that.

mod arena;
mod grid;
mod input;

pub use arena::{Arena, ArenaRules};
pub use grid::Grid;
pub use input::{InvalidInput, SeqFilter, ValidInput};

use glam::Vec2;
use tickwire_shared::PlayerId;

/// One player's state as the simulation holds it, in full precision; the snapshot
/// encoder rounds it for the wire.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimPlayer {
    /// The player's id.
    pub id: PlayerId,
    /// Position in world units.
    pub pos: Vec2,
    /// Velocity in world units per second.
    pub vel: Vec2,
    /// Facing in radians.
    pub facing: f32,
    /// The newest input sequence number applied (0: none).
    pub last_input_seq: u32,
}

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

/// The rules of one room's game, driven by the room task once per tick.
///
/// Calls arrive in this order each tick: `handle_join`/`handle_leave` for membership
/// changes, `handle_input` for each player's new inputs (already validated, in sequence
/// order, stale ones removed), then `step`, then `snapshot`.
pub trait Game {
    /// The game's name, as a recording names it so that a replay plays the same game.
    const NAME: &'static str;

    /// A player enters the world.
    fn handle_join(&mut self, id: PlayerId);
    /// A player leaves the world (left, or lost their connection).
    fn handle_leave(&mut self, id: PlayerId);
    /// A player's connection was lost: it stays in the world without acting (its input
    /// is cleared) until it is back or leaves.
    fn handle_away(&mut self, id: PlayerId);
    /// A player's new input; the game remembers `input.seq` as the last applied.
    fn handle_input(&mut self, id: PlayerId, input: &ValidInput);
    /// Advances the world by `dt` seconds.
    fn step(&mut self, dt: f32);
    /// Appends every player's state to `out` (which the caller has cleared).
    fn snapshot(&self, out: &mut Vec<SimPlayer>);

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
