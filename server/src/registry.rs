//! The games this server can run, by name: the one place a game is registered.
//!
//! A game is a type that implements [`Game`]; registering it is one line in [`GAMES`].
//! Nothing else in the server names a game: the listener starts each room with the game
//! `--game` chose, the `replay` subcommand finds a recording's game here, and rooms,
//! snapshots and the wire know games only through their schemas.

use futures::future::BoxFuture;
use tickwire_shared::schema::{Schema, SchemaError};

use crate::game::Game;
use crate::games::arena::Arena;
use crate::games::shooter::Shooter;
use crate::games::tag::Tag;
use crate::record::replay::{self, Replay, ReplayError, Replayed};
use crate::room::{self, RoomEnv, RoomRules};
use crate::rooms::NewRoom;

/// One game the server can run.
#[derive(Debug, Clone, Copy)]
pub struct GameEntry {
    /// Its name ([`Game::NAME`]).
    pub name: &'static str,
    /// Its schema ([`Game::schema`]).
    pub schema: fn() -> Schema,
    run_room: fn(RoomEnv, NewRoom, RoomRules) -> BoxFuture<'static, ()>,
    replay: Replay,
}

/// Every game this server has. The first is the default of `--game`.
pub const GAMES: &[GameEntry] = &[
    GameEntry::of::<Arena>(),
    GameEntry::of::<Shooter>(),
    GameEntry::of::<Tag>(),
];

impl GameEntry {
    /// The entry of the game `G`.
    pub const fn of<G: Game>() -> Self {
        Self {
            name: G::NAME,
            schema: G::schema,
            run_room: run_room::<G>,
            replay: replay::run::<G>,
        }
    }

    /// The task of a room of this game.
    pub fn run_room(
        &self,
        env: RoomEnv,
        room: NewRoom,
        rules: RoomRules,
    ) -> BoxFuture<'static, ()> {
        (self.run_room)(env, room, rules)
    }

    /// Checks the game's schema.
    ///
    /// # Errors
    /// The first rule the schema breaks.
    pub fn check(&self) -> Result<(), SchemaError> {
        (self.schema)().check()
    }
}

fn run_room<G: Game>(env: RoomEnv, room: NewRoom, rules: RoomRules) -> BoxFuture<'static, ()> {
    Box::pin(room::run(env, room, G::new(), rules))
}

/// The game called `name`.
pub fn find(name: &str) -> Option<&'static GameEntry> {
    GAMES.iter().find(|g| g.name == name)
}

/// The names of every game, in [`GAMES`]'s order.
pub fn names() -> impl Iterator<Item = &'static str> {
    GAMES.iter().map(|g| g.name)
}

/// Replays the recording in the file at `path`, with the game it names.
///
/// # Errors
/// As [`replay::replay`].
pub fn replay_file(path: &std::path::Path) -> Result<Replayed, ReplayError> {
    // A file is one segment, bounded by --record-segment-mib: it fits in memory.
    replay_bytes(&std::fs::read(path)?)
}

/// Replays the recording in `bytes`, with the game it names.
///
/// # Errors
/// As [`replay::replay`].
pub fn replay_bytes(bytes: &[u8]) -> Result<Replayed, ReplayError> {
    replay::replay(bytes, |name| find(name).map(|g| g.replay))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_game_has_a_valid_schema_and_a_name_of_its_own() {
        for g in GAMES {
            assert_eq!(g.check(), Ok(()), "{}", g.name);
            assert_eq!((g.schema)().game, g.name);
            assert_eq!(GAMES.iter().filter(|o| o.name == g.name).count(), 1);
        }
        assert_eq!(find("arena").map(|g| g.name), Some("arena"));
        assert!(find("chess").is_none());
    }
}
